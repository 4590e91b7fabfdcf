/*  node/actor.h — the runtime every data actor (user, event, geo,
 *  recommend, notify) runs on.
 *
 *  An actor is a CZMQ zactor thread with one inbox: a ROUTER bound to an
 *  inproc endpoint, to which sessions (and later the cluster's forwarders)
 *  connect DEALERs.  Each inbox message is [identity][ActorRequest]; each
 *  answer is [identity][ActorReply].
 *
 *  Group commit: when the inbox is readable the actor drains up to
 *  batch_max requests, runs their handlers in arrival order, and when any
 *  of them writes, runs the whole batch inside one write transaction that
 *  is committed with fsync before a single reply of the batch is sent.  So
 *  an OK reply always means durable, and a read in the same batch never
 *  reveals a write that was not yet durable.  A write handler runs in a
 *  nested transaction rolled back when it answers anything but OK.  A
 *  request past its deadline is answered DEADLINE_EXCEEDED unhandled.
 *
 *  On $TERM the actor answers what is already in its inbox and stops.
 */
#ifndef FL_ACTOR_H
#define FL_ACTOR_H

#include <czmq.h>
#include <stddef.h>

#include "flow.pb-c.h"
#include "node/node.h"
#include "node/requests.h"

typedef struct {
    Flow__Actor type;
    const char *endpoint;             /* inproc endpoint of the inbox */
    const fl_node_t *node;
    size_t batch_max;
    /*  The table to run; NULL for the node's request table.  */
    const fl_request_def_t *requests;
    size_t nrequests;
} fl_actor_args_t;

/*  Starts an actor; returns when its inbox is bound.  NULL when it could
 *  not start (logged).  ARGS and everything it points to must outlive the
 *  actor.  */
zactor_t *fl_actor_new(const fl_actor_args_t *args);

/*  Starts TASK as a zactor and waits until it is ready.  The task signals
 *  twice: zsock_signal(pipe, 0) at once (CZMQ's handshake, which
 *  zactor_new consumes), then 0 when it is ready or 1 when it could not
 *  start, in which case it returns.  NULL when it could not start.  Every
 *  actor of the node starts this way, so a failed bind is an error at
 *  start, not a silent dead thread.  */
zactor_t *fl_actor_start(zactor_fn *task, void *arg);

/*  A hash table keyed by non-zero 64-bit numbers (request seqs, job ids)
 *  stored in the key pointer itself: no key is allocated or copied.
 *  VALUES frees a value (may be NULL).  */
zhashx_t *fl_actor_seq_table(zhashx_destructor_fn *values);

/*  The inproc endpoint of actor TYPE of this process.  */
const char *fl_actor_endpoint(Flow__Actor type);

/*  The session binds a ROUTER here; actors send it requests for
 *  partitions of other nodes (a DEALER each), and it routes them like a
 *  client's and returns the ActorReply under the seq they were sent
 *  with.  */
#define FL_SESSION_ROUTE_ENDPOINT "inproc://flow.session.route"

#endif
