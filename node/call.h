/*  node/call.h — one request being handled by an actor.
 *
 *  A handler reads the request, fills the reply (status, message, body) and
 *  allocates whatever the reply points to from the call, which frees it all
 *  after the reply is sent.  A write handler gets a transaction of its own
 *  (nested inside the actor's batch): when it answers anything but OK its
 *  writes are rolled back, so bad input changes nothing even in a batch.
 */
#ifndef FL_CALL_H
#define FL_CALL_H

#include <lmdb.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cluster.pb-c.h"
#include "flow.pb-c.h"

struct fl_node_t;
struct fl_outbox_t;

typedef struct fl_call_block_t fl_call_block_t;

/*  A request told to another actor in this call (fl_call_tell), sent
 *  once the call's writes are committed.  */
typedef struct fl_call_told_t {
    uint64_t seq;                   /* its number in the outbox */
    Flow__Actor actor;
    const char *route_key;
    const Flow__Request *request;
    struct fl_call_told_t *next;
} fl_call_told_t;

/*  Slow work a handler hands to the worker pool; runs on a pool thread
 *  with the ARG the handler gave, and must touch nothing else.  */
typedef void (fl_work_fn)(void *arg);

#define FL_CALL_REVOKED_MAX 64
#define FL_CALL_AFTER_MAX 8

typedef struct fl_call_t {
    const void *node;               /* const fl_node_t * */
    const Flow__Request *request;
    const Flow__Cluster__Principal *principal;   /* NULL: anonymous */
    Flow__Reply reply;
    Flow__Actor actor;              /* the actor running the handler */
    uint32_t partition;
    int64_t now_s;                  /* the clock its sender fixed (a scattered search), or 0 */
    char route_key[256];            /* the key the request was routed by, as text */
    MDB_txn *txn;                   /* write handlers: the call's transaction */
    void *state;                    /* the actor's own state, if it shares it */
    fl_work_fn *work;               /* set by fl_call_defer */
    void *work_arg;                 /* owned by the call while deferred */
    bool resumed;                   /* running the row's resume handler */
    bool commit_on_error;           /* keep this call's writes although it fails */
    struct fl_outbox_t *outbox;     /* the actor's: where fl_call_tell writes */
    fl_call_told_t *told;           /* newest first */
    Flow__Actor ask_actor;          /* set by fl_call_ask */
    const char *ask_key;
    const Flow__Request *ask_request;
    const Flow__Reply *answer;      /* resumed after fl_call_ask: the reply, NULL if none came */
    void *scratch;                  /* the handler's own, in call memory; NULL at each run */
    size_t nrevoked;
    Flow__Cluster__Revocation *revoked[FL_CALL_REVOKED_MAX];
    size_t nafter;
    const char *after_endpoint[FL_CALL_AFTER_MAX];
    void *after_frame[FL_CALL_AFTER_MAX];   /* zframe_t *, sent after the commit */
    char message[512];
    fl_call_block_t *blocks;
    ProtobufCAllocator allocator;
} fl_call_t;

/*  Handlers return 0, or a negative store code (MDB_MAP_FULL included)
 *  that aborts the whole batch; the client-visible outcome is the reply. */
typedef int (fl_handler_fn)(fl_call_t *call);

void fl_call_init(fl_call_t *call, const void *node, const Flow__Request *request,
                  Flow__Actor actor, uint32_t partition);

/*  Zeroed memory that lives until fl_call_release().  Aborts on no
 *  memory: a node that cannot allocate a reply cannot serve.  */
void *fl_call_alloc(fl_call_t *call, size_t size);

/*  Answers this call later: the actor runs WORK(ARG) on the worker pool
 *  and then the row's resume handler, in a later batch, with
 *  call->work_arg = ARG and call->resumed set.  ARG is malloc'd by the
 *  handler and owned by the call from here on (freed with free() after
 *  the resume handler ran); it must hold no pointer into the call's
 *  memory, which does not survive until the resume.  The handler must not
 *  write before deferring: its writes are dropped.  */
void fl_call_defer(fl_call_t *call, fl_work_fn *work, void *arg);

/*  Tells ACTOR, at the owner of ROUTE_KEY, of REQUEST (a node-internal
 *  request such as a RelationUpdate): written to the actor's outbox in
 *  this call's transaction and delivered after the commit, again until
 *  the receiver answered (node/outbox.h), so at least once; not at all
 *  when the call's writes are rolled back.  REQUEST and ROUTE_KEY must
 *  live in the call's memory or longer.  Write handlers only.
 *  Errors: those of fl_outbox_put.  */
int fl_call_tell(fl_call_t *call, Flow__Actor actor, const char *route_key,
                 const Flow__Request *request);

/*  Answers this call later: REQUEST goes to ACTOR at the owner of
 *  ROUTE_KEY, and the row's resume handler runs with call->answer set to
 *  its reply, or NULL when none came before the call's deadline.  As
 *  with fl_call_defer the handler must not write before asking, and
 *  REQUEST and ROUTE_KEY must live in the call's memory.  */
void fl_call_ask(fl_call_t *call, Flow__Actor actor, const char *route_key,
                 const Flow__Request *request);

/*  Records that this call ended session SESSION_ID, whose access tokens
 *  run until UNTIL_S: the reply carries it to every session actor.  */
void fl_call_revoke(fl_call_t *call, const char *session_id, uint64_t until_s);

/*  A protobuf-c allocator drawing from the call's memory, so messages a
 *  handler decodes live exactly as long as the reply that may point into
 *  them.  */
ProtobufCAllocator *fl_call_allocator(fl_call_t *call);

/*  A copy of S in the call's memory.  */
char *fl_call_strdup(fl_call_t *call, const char *s);

/*  Sends MSG to the actor at ENDPOINT (a PULL socket) once this call's
 *  writes are committed, and not at all when they are not: how an actor
 *  tells another of a change it made (an event's entry in the geo index).
 *  At most FL_CALL_AFTER_MAX per call.  */
void fl_call_after_commit(fl_call_t *call, const char *endpoint, const ProtobufCMessage *msg);

/*  Sets a non-OK status and its message.  */
void fl_call_fail(fl_call_t *call, Flow__Status status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/*  Clears the reply back to OK with no body (a batch is run again after
 *  map growth).  */
void fl_call_reset(fl_call_t *call);

void fl_call_release(fl_call_t *call);

#endif
