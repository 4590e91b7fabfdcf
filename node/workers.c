/*  node/workers.c — a fixed pool of threads over a bounded job queue; see
 *  workers.h.
 *
 *  The queue is a ring buffer under one mutex with two condition
 *  variables; jobs are few and slow, so contention on it is not a concern.
 *  Each thread keeps its PUSH sockets in a small table it alone uses, so
 *  no socket ever crosses threads.
 */
#include "node/workers.h"
#include "node/error.h"
#include "node/log.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#define ENDPOINTS_MAX 16

typedef struct {
    fl_job_fn *fn;
    void *arg;
} s_job_t;

struct fl_worker_t {
    fl_workers_t *pool;
    pthread_t thread;
    size_t nsockets;
    char *endpoint[ENDPOINTS_MAX];
    zsock_t *push[ENDPOINTS_MAX];
};

struct fl_workers_t {
    pthread_mutex_t lock;
    pthread_cond_t has_job;
    s_job_t *queue;
    size_t queue_max, head, count;
    bool stopping;
    size_t nthreads;
    fl_worker_t *workers;
    atomic_uint_fast64_t done;
};

static bool
s_take(fl_workers_t *self, s_job_t *job)
{
    pthread_mutex_lock(&self->lock);
    while (self->count == 0 && !self->stopping)
        pthread_cond_wait(&self->has_job, &self->lock);
    bool got = self->count > 0;
    if (got) {
        *job = self->queue[self->head];
        self->head = (self->head + 1) % self->queue_max;
        self->count--;
    }
    pthread_mutex_unlock(&self->lock);
    return got;
}

static void
s_worker_close(fl_worker_t *worker)
{
    for (size_t i = 0; i < worker->nsockets; i++) {
        zsock_destroy(&worker->push[i]);
        free(worker->endpoint[i]);
    }
    worker->nsockets = 0;
}

static void *
s_worker_run(void *arg)
{
    fl_worker_t *worker = arg;
    s_job_t job;
    while (s_take(worker->pool, &job)) {
        job.fn(worker, job.arg);
        atomic_fetch_add(&worker->pool->done, 1);
    }
    s_worker_close(worker);
    return NULL;
}

fl_workers_t *
fl_workers_new(size_t threads, size_t queue_max)
{
    fl_workers_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    pthread_mutex_init(&self->lock, NULL);
    pthread_cond_init(&self->has_job, NULL);
    self->queue_max = queue_max ? queue_max : 1;
    self->queue = calloc(self->queue_max, sizeof *self->queue);
    self->workers = calloc(threads, sizeof *self->workers);
    if (!self->queue || !self->workers) {
        fl_workers_destroy(&self);
        return NULL;
    }
    for (size_t i = 0; i < threads; i++) {
        self->workers[i].pool = self;
        int rc = pthread_create(&self->workers[i].thread, NULL, s_worker_run, &self->workers[i]);
        if (rc) {
            fl_error("workers", "cannot start a worker thread", "error=%d", rc);
            fl_workers_destroy(&self);
            return NULL;
        }
        self->nthreads++;
    }
    return self;
}

void
fl_workers_destroy(fl_workers_t **self_p)
{
    fl_workers_t *self = *self_p;
    if (!self)
        return;
    pthread_mutex_lock(&self->lock);
    self->stopping = true;
    pthread_cond_broadcast(&self->has_job);
    pthread_mutex_unlock(&self->lock);
    for (size_t i = 0; i < self->nthreads; i++)
        pthread_join(self->workers[i].thread, NULL);
    pthread_cond_destroy(&self->has_job);
    pthread_mutex_destroy(&self->lock);
    free(self->queue);
    free(self->workers);
    free(self);
    *self_p = NULL;
}

int
fl_workers_submit(fl_workers_t *self, fl_job_fn *fn, void *arg)
{
    int rc = 0;
    pthread_mutex_lock(&self->lock);
    if (self->stopping)
        rc = FL_E_CLOSED;
    else
    if (self->count == self->queue_max)
        rc = FL_E_BUSY;
    else {
        size_t tail = (self->head + self->count) % self->queue_max;
        self->queue[tail] = (s_job_t) { fn, arg };
        self->count++;
        pthread_cond_signal(&self->has_job);
    }
    pthread_mutex_unlock(&self->lock);
    return rc;
}

static zsock_t *
s_socket_for(fl_worker_t *worker, const char *endpoint)
{
    for (size_t i = 0; i < worker->nsockets; i++)
        if (strcmp(worker->endpoint[i], endpoint) == 0)
            return worker->push[i];
    if (worker->nsockets == ENDPOINTS_MAX)
        return NULL;
    zsock_t *push = zsock_new_push(endpoint);
    if (!push)
        return NULL;
    worker->endpoint[worker->nsockets] = strdup(endpoint);
    worker->push[worker->nsockets] = push;
    worker->nsockets++;
    return push;
}

int
fl_worker_send(fl_worker_t *worker, const char *endpoint, zmsg_t **msg_p)
{
    zsock_t *push = s_socket_for(worker, endpoint);
    if (!push) {
        zmsg_destroy(msg_p);
        fl_error("workers", "cannot connect to an actor", "endpoint=%s", endpoint);
        return FL_E_IO;
    }
    if (zmsg_send(msg_p, push) != 0) {
        zmsg_destroy(msg_p);
        return FL_E_IO;
    }
    return 0;
}

uint64_t
fl_workers_done(fl_workers_t *self)
{
    return atomic_load(&self->done);
}

size_t
fl_workers_queued(fl_workers_t *self)
{
    pthread_mutex_lock(&self->lock);
    size_t n = self->count;
    pthread_mutex_unlock(&self->lock);
    return n;
}
