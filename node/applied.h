/*  node/applied.h — writes applied once.
 *
 *  A client that did not hear the answer to a write cannot tell whether
 *  it was applied; sending it again must not apply it twice.  A write may
 *  carry a request key of the client's choosing (Request.request_key);
 *  the actor that applies it records the reply in "applied" under
 *  (partition, actor, user, key) in the write's own transaction, and a
 *  write that arrives with a key recorded there is answered with that
 *  reply and changes nothing (node/actor.c does both for every write
 *  handler).  The records are partitioned, so they move with the
 *  partition's data, and expire after FL_APPLIED_KEEP_MS.
 */
#ifndef FL_APPLIED_H
#define FL_APPLIED_H

#include <lmdb.h>
#include <protobuf-c/protobuf-c.h>
#include <stddef.h>
#include <stdint.h>

#include "flow.pb-c.h"
#include "storage.pb-c.h"
#include "storage/store.h"

#define FL_APPLIED_KEEP_MS (24ULL * 3600 * 1000)

/*  Opens the "applied" database.  Errors: those of fl_store_dbi.  */
int fl_applied_init(fl_store_t *store);

/*  The key of USER_ID's (NULL: anonymous) write with REQUEST_KEY to ACTOR
 *  in PARTITION, into BUF (CAP bytes); its length.  Errors: FL_E_TOOBIG. */
int fl_applied_key(uint32_t partition, Flow__Actor actor, const char *user_id,
                   const char *request_key, uint8_t *buf, size_t cap);

/*  BLAKE2b-256 of REQUEST's packed body (whatever its kind): what a
 *  request key was first given with.  */
void fl_applied_digest(const Flow__Request *request, uint8_t digest[32]);

/*  The record under KEY for a request whose body had DIGEST, in
 *  ALLOCATOR's memory (NULL: the default; free it with
 *  protobuf_c_message_free_unpacked); its reply is set.  Errors:
 *  FL_E_NOTFOUND, FL_E_EXISTS (the key was given with another body),
 *  FL_E_CORRUPT, FL_E_IO.  */
int fl_applied_get(MDB_txn *txn, const MDB_val *key, const uint8_t digest[32],
                   ProtobufCAllocator *allocator, Flow__Storage__AppliedRecord **record_p);

/*  Records REPLY to the request whose body had DIGEST under KEY at
 *  APPLIED_MS.  Errors: those of fl_codec_put.  */
int fl_applied_put(MDB_txn *txn, const MDB_val *key, const uint8_t digest[32],
                   const Flow__Reply *reply, uint64_t applied_ms);

/*  Looks at the next EXAMINE records of a sweep that goes round the
 *  database, and deletes those applied before BEFORE_MS in one
 *  transaction (none when there are none); *DELETED gets how many.  Only
 *  one thread may sweep.  Errors: FL_E_IO, those of fl_store_write.  */
int fl_applied_expire(fl_store_t *store, uint64_t before_ms, size_t examine, size_t *deleted);

#endif
