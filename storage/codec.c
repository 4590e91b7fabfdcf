/*  storage/codec.c — protobuf records in LMDB; see codec.h.
 *
 *  A record is packed once, straight into the space LMDB reserves for it
 *  in the write transaction's dirty page, so no intermediate buffer exists
 *  and a failed put leaves nothing behind (the transaction aborts whole).
 *  Reading unpacks from the mapped page with the stored length; the
 *  unpacked message owns its memory and outlives the transaction.
 *  MDB_MAP_FULL is passed through untouched: it is the signal on which
 *  fl_store_write() grows the map and runs the batch again.
 */
#include "storage/codec.h"
#include "storage/changes.h"
#include "node/error.h"
#include "node/log.h"

#include <assert.h>
#include <string.h>

static int
s_io(const char *what, int rc)
{
    fl_error("codec", "lmdb call failed", "call=%s err=%d reason=\"%s\"",
             what, rc, mdb_strerror(rc));
    return FL_E_IO;
}

int
fl_codec_put(MDB_txn *txn, MDB_dbi dbi, const MDB_val *key, const ProtobufCMessage *msg)
{
    assert(key->mv_size > 0 && "keys carry at least their partition prefix");
    MDB_env *env = mdb_txn_env(txn);
    if (key->mv_size > (size_t) mdb_env_get_maxkeysize(env))
        return FL_E_TOOBIG;
    size_t size = protobuf_c_message_get_packed_size(msg);
    MDB_val k = *key;
    MDB_val data = { .mv_size = size, .mv_data = NULL };
    int rc = mdb_put(txn, dbi, &k, &data, MDB_RESERVE);
    if (rc == MDB_MAP_FULL)
        return rc;
    if (rc != 0)
        return s_io("mdb_put", rc);
    size_t packed = protobuf_c_message_pack(msg, data.mv_data);
    assert(packed == size);
    (void) packed;
    fl_changes_note(dbi, &k, &data);
    return 0;
}

int
fl_codec_del(MDB_txn *txn, MDB_dbi dbi, const MDB_val *key)
{
    MDB_val k = *key;
    int rc = mdb_del(txn, dbi, &k, NULL);
    if (rc == 0)
        fl_changes_note(dbi, key, NULL);
    return rc;
}

int
fl_codec_cursor_del(MDB_cursor *cursor)
{
    MDB_val k, v;
    int rc = mdb_cursor_get(cursor, &k, &v, MDB_GET_CURRENT);
    if (rc != 0)
        return rc;
    /*  The key points into the page the deletion may change: kept first. */
    uint8_t kept[512];
    if (k.mv_size > sizeof kept)
        return MDB_BAD_VALSIZE;
    memcpy(kept, k.mv_data, k.mv_size);
    rc = mdb_cursor_del(cursor, 0);
    if (rc == 0)
        fl_changes_note(mdb_cursor_dbi(cursor), &(MDB_val) { k.mv_size, kept }, NULL);
    return rc;
}

int
fl_codec_get(MDB_txn *txn, MDB_dbi dbi, const MDB_val *key,
             const ProtobufCMessageDescriptor *desc, ProtobufCMessage **msg_p)
{
    return fl_codec_get_with(txn, dbi, key, desc, NULL, msg_p);
}

int
fl_codec_get_with(MDB_txn *txn, MDB_dbi dbi, const MDB_val *key,
                  const ProtobufCMessageDescriptor *desc, ProtobufCAllocator *allocator,
                  ProtobufCMessage **msg_p)
{
    MDB_val k = *key;
    MDB_val data;
    int rc = mdb_get(txn, dbi, &k, &data);
    if (rc == MDB_NOTFOUND)
        return FL_E_NOTFOUND;
    if (rc != 0)
        return s_io("mdb_get", rc);
    ProtobufCMessage *msg = protobuf_c_message_unpack(desc, allocator, data.mv_size, data.mv_data);
    if (!msg)
        return FL_E_CORRUPT;
    *msg_p = msg;
    return 0;
}
