/*  node/outbox.h — requests one actor owes another, kept durably until the
 *  receiver has answered.
 *
 *  When a change in one actor's partition must reach another actor (an
 *  RSVP changes the user's history, a review the organizer's rating), the
 *  handler calls fl_call_tell(): the request is written to the sender's
 *  outbox in the same transaction as the change, so it exists exactly when
 *  the change does.  The actor runtime sends it after the commit, deletes
 *  it when the receiver answered, sends it again when the answer does not
 *  come, and after a restart sends everything the outbox still holds.  A
 *  receiver may so see a request more than once and must apply it
 *  idempotently (every such request carries a revision for that).
 *
 *  Storage: one database per sending actor type ("outbox.<actor>"), key =
 *  the sender's partition (u16 BE, so a partition's outbox moves and drops
 *  with it) + a sequence number (u64 BE) drawn from a counter that starts
 *  past the highest number stored.  Value: an OutboxRecord.
 *
 *  Threads: an outbox belongs to its actor's thread.
 */
#ifndef FL_OUTBOX_H
#define FL_OUTBOX_H

#include <lmdb.h>
#include <stddef.h>
#include <stdint.h>

#include "flow.pb-c.h"
#include "storage.pb-c.h"
#include "storage/store.h"

typedef struct fl_outbox_t fl_outbox_t;

/*  Opens OWNER's outbox in STORE; every request it holds is due at once.
 *  Errors: FL_E_IO, FL_E_NOMEM.  */
int fl_outbox_open(fl_store_t *store, Flow__Actor owner, fl_outbox_t **self_p);

void fl_outbox_destroy(fl_outbox_t **self_p);

/*  Writes REQUEST for ACTOR's owner of ROUTE_KEY into TXN, under the
 *  sender's PARTITION; *SEQ_P gets its number.  Nothing is in flight
 *  until fl_outbox_sent() after the commit.
 *  Errors: FL_E_TOOBIG (route key over 255 bytes), MDB_MAP_FULL, FL_E_IO. */
int fl_outbox_put(fl_outbox_t *self, MDB_txn *txn, uint32_t partition, Flow__Actor actor,
                  const char *route_key, const Flow__Request *request, uint64_t *seq_p);

/*  SEQ was sent at NOW_US; PARTITION is the one it was put under (read
 *  only the first time).  */
void fl_outbox_sent(fl_outbox_t *self, uint64_t seq, uint32_t partition, int64_t now_us);

/*  The receiver answered SEQ: it is deleted at the next flush.  */
void fl_outbox_done(fl_outbox_t *self, uint64_t seq);

/*  Up to MAX numbers of requests due to be sent (again): never sent since
 *  the start, or sent more than RESEND_US before NOW_US without answer.  */
size_t fl_outbox_due(fl_outbox_t *self, int64_t now_us, int64_t resend_us, uint64_t *seqs,
                     size_t max);

/*  Reads request SEQ: *RECORD_P is allocated with ALLOCATOR.
 *  Errors: FL_E_NOTFOUND (already deleted), FL_E_CORRUPT, FL_E_IO.  */
int fl_outbox_read(fl_outbox_t *self, MDB_txn *txn, uint64_t seq, ProtobufCAllocator *allocator,
                   Flow__Storage__OutboxRecord **record_p);

/*  Deletes the answered requests in one durable transaction.
 *  Errors: those of fl_store_write.  */
int fl_outbox_flush(fl_outbox_t *self);

/*  Requests not yet answered (in flight or due), and answered ones not
 *  yet deleted.  */
size_t fl_outbox_pending(const fl_outbox_t *self);
size_t fl_outbox_answered(const fl_outbox_t *self);

#endif
