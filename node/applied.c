/*  node/applied.c — writes applied once; see applied.h.
 *
 *  Key: partition (u16 BE), actor (one byte), the user id, a NUL, the
 *  request key.  The user is part of it so that one user's key never
 *  answers another's write.
 */
#include "node/applied.h"
#include "node/error.h"
#include "storage.pb-c.h"
#include "storage/codec.h"
#include "storage/keyspace.h"

#include <assert.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

static MDB_dbi s_dbi;

int
fl_applied_init(fl_store_t *store)
{
    return fl_store_dbi_partitioned(store, "applied", &s_dbi);
}

int
fl_applied_key(uint32_t partition, Flow__Actor actor, const char *user_id,
               const char *request_key, uint8_t *buf, size_t cap)
{
    char suffix[FL_KEYSPACE_KEY_MAX];
    const char *user = user_id ? user_id : "";
    size_t ulen = strlen(user), klen = strlen(request_key);
    if (1 + ulen + 1 + klen > sizeof suffix)
        return FL_E_TOOBIG;
    suffix[0] = (char) actor;
    memcpy(suffix + 1, user, ulen);
    suffix[1 + ulen] = '\0';
    memcpy(suffix + 2 + ulen, request_key, klen);
    return fl_keyspace_key((uint16_t) partition, suffix, 2 + ulen + klen, buf, cap);
}

void
fl_applied_digest(const Flow__Request *request, uint8_t digest[32])
{
    const ProtobufCFieldDescriptor *field = protobuf_c_message_descriptor_get_field(
        &flow__request__descriptor, (unsigned) request->body_case);
    const ProtobufCMessage *body = field && field->type == PROTOBUF_C_TYPE_MESSAGE
        ? *(const ProtobufCMessage *const *) ((const char *) request + field->offset) : NULL;
    crypto_generichash_state state;
    crypto_generichash_init(&state, NULL, 0, 32);
    uint32_t kind = (uint32_t) request->body_case;
    crypto_generichash_update(&state, (const uint8_t *) &kind, sizeof kind);
    size_t len = body ? protobuf_c_message_get_packed_size(body) : 0;
    uint8_t *packed = malloc(len ? len : 1);
    assert(packed);
    if (body)
        protobuf_c_message_pack(body, packed);
    crypto_generichash_update(&state, packed, len);
    free(packed);
    crypto_generichash_final(&state, digest, 32);
}

int
fl_applied_get(MDB_txn *txn, const MDB_val *key, const uint8_t digest[32],
               ProtobufCAllocator *allocator, Flow__Storage__AppliedRecord **record_p)
{
    Flow__Storage__AppliedRecord *record = NULL;
    int rc = fl_codec_get_with(txn, s_dbi, key, &flow__storage__applied_record__descriptor,
                               allocator, (ProtobufCMessage **) &record);
    if (rc)
        return rc;
    rc = !record->reply || record->body_digest.len != 32 ? FL_E_CORRUPT
       : memcmp(record->body_digest.data, digest, 32) != 0 ? FL_E_EXISTS : 0;
    if (rc)
        protobuf_c_message_free_unpacked(&record->base, allocator);
    else
        *record_p = record;
    return rc;
}

int
fl_applied_put(MDB_txn *txn, const MDB_val *key, const uint8_t digest[32],
               const Flow__Reply *reply, uint64_t applied_ms)
{
    Flow__Storage__AppliedRecord record = FLOW__STORAGE__APPLIED_RECORD__INIT;
    record.record_version = 1;
    record.applied_ms = applied_ms;
    record.reply = (Flow__Reply *) reply;
    record.body_digest = (ProtobufCBinaryData) { 32, (uint8_t *) digest };
    return fl_codec_put(txn, s_dbi, key, &record.base);
}

/*  Where the sweep stands: it goes on after this key (empty: from the
 *  first), so each call examines a bounded number of records.  Only the
 *  node's main thread sweeps.  */
static uint8_t s_at[FL_KEYSPACE_KEY_MAX];
static size_t s_at_len;

typedef struct {
    MDB_val *keys;
    size_t n;
    size_t deleted;
} s_expire_t;

static int
s_expire_apply(MDB_txn *txn, void *arg)
{
    s_expire_t *e = arg;
    e->deleted = 0;
    for (size_t i = 0; i < e->n; i++) {
        int rc = mdb_del(txn, s_dbi, &e->keys[i], NULL);
        if (rc == 0)
            e->deleted++;
        else
        if (rc != MDB_NOTFOUND)
            return rc == MDB_MAP_FULL ? rc : FL_E_IO;
    }
    return 0;
}

/*  Collects into E the keys of records applied before BEFORE_MS among
 *  the next EXAMINE records of the sweep, and moves the sweep on.  */
static int
s_collect_old(fl_store_t *store, uint64_t before_ms, size_t examine, s_expire_t *e)
{
    MDB_txn *txn = NULL;
    int rc = fl_store_read_begin(store, &txn);
    if (rc)
        return rc;
    MDB_cursor *cursor = NULL;
    rc = mdb_cursor_open(txn, s_dbi, &cursor);
    MDB_val key = { s_at_len, s_at }, value;
    if (rc == 0)
        rc = mdb_cursor_get(cursor, &key, &value, s_at_len ? MDB_SET_RANGE : MDB_FIRST);
    size_t seen = 0;
    while (rc == 0 && seen < examine) {
        seen++;
        Flow__Storage__AppliedRecord *record =
            flow__storage__applied_record__unpack(NULL, value.mv_size, value.mv_data);
        /*  A record that does not decode is of no use to anyone.  */
        if (!record || record->applied_ms < before_ms) {
            uint8_t *copy = malloc(key.mv_size);
            assert(copy);
            memcpy(copy, key.mv_data, key.mv_size);
            e->keys[e->n++] = (MDB_val) { key.mv_size, copy };
        }
        if (record)
            flow__storage__applied_record__free_unpacked(record, NULL);
        rc = mdb_cursor_get(cursor, &key, &value, MDB_NEXT);
    }
    /*  The next call starts at the record after the last one seen, or
     *  from the first once the end was reached.  */
    s_at_len = rc == 0 ? key.mv_size : 0;
    if (rc == 0)
        memcpy(s_at, key.mv_data, key.mv_size);
    if (cursor)
        mdb_cursor_close(cursor);
    fl_store_read_end(store, &txn);
    return rc == 0 || rc == MDB_NOTFOUND ? 0 : FL_E_IO;
}

int
fl_applied_expire(fl_store_t *store, uint64_t before_ms, size_t examine, size_t *deleted)
{
    s_expire_t e = { calloc(examine ? examine : 1, sizeof *e.keys), 0, 0 };
    assert(e.keys);
    int rc = s_collect_old(store, before_ms, examine, &e);
    if (rc == 0 && e.n)
        rc = fl_store_write(store, s_expire_apply, &e);
    if (deleted)
        *deleted = rc ? 0 : e.deleted;
    for (size_t i = 0; i < e.n; i++)
        free(e.keys[i].mv_data);
    free(e.keys);
    return rc;
}
