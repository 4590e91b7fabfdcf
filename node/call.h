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
#include <stddef.h>
#include <stdint.h>

#include "flow.pb-c.h"

struct fl_node_t;

typedef struct fl_call_block_t fl_call_block_t;

typedef struct fl_call_t {
    const void *node;               /* const fl_node_t * */
    const Flow__Request *request;
    Flow__Reply reply;
    Flow__Actor actor;              /* the actor running the handler */
    uint32_t partition;
    MDB_txn *txn;                   /* write handlers: the call's transaction */
    void *state;                    /* the actor's own state, if it shares it */
    char message[512];
    fl_call_block_t *blocks;
} fl_call_t;

/*  Handlers return 0, or a negative store code (MDB_MAP_FULL included)
 *  that aborts the whole batch; the client-visible outcome is the reply. */
typedef int (fl_handler_fn)(fl_call_t *call);

void fl_call_init(fl_call_t *call, const void *node, const Flow__Request *request,
                  Flow__Actor actor, uint32_t partition);

/*  Zeroed memory that lives until fl_call_release().  Aborts on no
 *  memory: a node that cannot allocate a reply cannot serve.  */
void *fl_call_alloc(fl_call_t *call, size_t size);

/*  Sets a non-OK status and its message.  */
void fl_call_fail(fl_call_t *call, Flow__Status status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/*  Clears the reply back to OK with no body (a batch is run again after
 *  map growth).  */
void fl_call_reset(fl_call_t *call);

void fl_call_release(fl_call_t *call);

#endif
