/*  storage/codec.h — protobuf records in LMDB.
 *
 *  Values are packed straight into LMDB's own page (MDB_RESERVE), and
 *  unpacked with a size check, so a record is never half-written or read
 *  past its end.
 */
#ifndef FL_CODEC_H
#define FL_CODEC_H

#include <lmdb.h>
#include <protobuf-c/protobuf-c.h>

/*  Stores MSG under KEY.  Errors: MDB_MAP_FULL (passed through),
 *  FL_E_TOOBIG (key too long), FL_E_IO.  */
int fl_codec_put(MDB_txn *txn, MDB_dbi dbi, const MDB_val *key, const ProtobufCMessage *msg);

/*  Deletes the record under KEY.  Returns LMDB's code: 0, MDB_NOTFOUND
 *  (no such record; callers often expect it), MDB_MAP_FULL or another.  */
int fl_codec_del(MDB_txn *txn, MDB_dbi dbi, const MDB_val *key);

/*  Deletes the record CURSOR is on.  Returns LMDB's code (0 on success).
 *  Like fl_codec_put and fl_codec_del, it is recorded for replicas when
 *  the thread captures changes (storage/changes.h).  */
int fl_codec_cursor_del(MDB_cursor *cursor);

/*  Reads the record under KEY as a DESC message into *msg_p (free it with
 *  protobuf_c_message_free_unpacked).  Errors: FL_E_NOTFOUND,
 *  FL_E_CORRUPT (does not decode as DESC), FL_E_IO.  */
int fl_codec_get(MDB_txn *txn, MDB_dbi dbi, const MDB_val *key,
                 const ProtobufCMessageDescriptor *desc, ProtobufCMessage **msg_p);

/*  As fl_codec_get, with the message's memory from ALLOCATOR (NULL: the
 *  default), for callers that free it all at once.  */
int fl_codec_get_with(MDB_txn *txn, MDB_dbi dbi, const MDB_val *key,
                      const ProtobufCMessageDescriptor *desc, ProtobufCAllocator *allocator,
                      ProtobufCMessage **msg_p);

#endif
