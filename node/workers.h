/*  node/workers.h — the worker pool for slow work.
 *
 *  Actors must never block their loop on slow work (password hashing,
 *  model training, bulk import).  They hand a job to the pool and go on;
 *  the job runs on a pool thread and reports back by sending a message to
 *  the actor's own inproc endpoint (fl_worker_send), so results re-enter
 *  the actor through its inbox like everything else.  The queue is bounded:
 *  a full queue refuses the job (FL_E_BUSY) so the actor can answer
 *  RESOURCE_EXHAUSTED instead of queueing without limit.
 */
#ifndef FL_WORKERS_H
#define FL_WORKERS_H

#include <czmq.h>
#include <stddef.h>
#include <stdint.h>

typedef struct fl_workers_t fl_workers_t;
typedef struct fl_worker_t fl_worker_t;

/*  A job: runs on a pool thread with that thread's WORKER handle.  */
typedef void (fl_job_fn)(fl_worker_t *worker, void *arg);

/*  Starts THREADS threads with room for QUEUE_MAX waiting jobs.  NULL on
 *  failure (logged).  */
fl_workers_t *fl_workers_new(size_t threads, size_t queue_max);

/*  Runs every queued job, then stops the threads and frees the pool;
 *  NULL-safe, nulls *self_p.  */
void fl_workers_destroy(fl_workers_t **self_p);

/*  Queues a job.  Errors: FL_E_BUSY (queue full), FL_E_CLOSED (pool
 *  stopping), FL_E_NOMEM.  */
int fl_workers_submit(fl_workers_t *self, fl_job_fn *fn, void *arg);

/*  Sends *MSG_P (taking it) to ENDPOINT over this worker thread's own PUSH
 *  socket, connected on first use and kept for the thread's life.
 *  ENDPOINT is the receiving actor's PULL socket.  Errors: FL_E_NOMEM,
 *  FL_E_IO.  */
int fl_worker_send(fl_worker_t *worker, const char *endpoint, zmsg_t **msg_p);

/*  Jobs finished so far, and jobs waiting now.  */
uint64_t fl_workers_done(fl_workers_t *self);
size_t fl_workers_queued(fl_workers_t *self);

#endif
