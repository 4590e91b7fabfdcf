/*  storage/keyspace.c — partition-prefixed keys; see keyspace.h.
 *
 *  The hash decides which node stores a key, so it must give the same
 *  answer on every node and in every release: SipHash-2-4 under the
 *  all-zero key, its 8 output bytes read little-endian (the reference
 *  implementation's convention).  Changing any of this moves data; the
 *  unit tests pin known values so such a change cannot pass unnoticed.
 *
 *  A partition's records are the keys whose first two bytes are the
 *  partition in big-endian order.  LMDB's default comparator orders keys
 *  bytewise, so that range is contiguous: a scan starts at the bare
 *  two-byte prefix (MDB_SET_RANGE) and stops at the first key of another
 *  partition.  A key shorter than the prefix sorts before every range it
 *  could be confused with, so it never appears inside one.
 */
#include "storage/keyspace.h"
#include "node/error.h"
#include "node/log.h"

#include <assert.h>
#include <errno.h>
#include <pthread.h>
#include <sodium.h>
#include <stdbool.h>
#include <string.h>

static pthread_once_t s_sodium_once = PTHREAD_ONCE_INIT;

static void
s_sodium_init(void)
{
    int rc = sodium_init();
    assert(rc >= 0 && "libsodium initialises");
    (void) rc;
}

static int
s_io(const char *what, int rc)
{
    fl_error("keyspace", "lmdb call failed", "call=%s err=%d reason=\"%s\"",
             what, rc, mdb_strerror(rc));
    return FL_E_IO;
}

uint64_t
fl_keyspace_hash(const void *key, size_t len)
{
    static const unsigned char zero_key[crypto_shorthash_KEYBYTES] = { 0 };
    unsigned char out[crypto_shorthash_BYTES];
    pthread_once(&s_sodium_once, s_sodium_init);
    crypto_shorthash(out, key, len, zero_key);
    uint64_t hash = 0;
    for (int i = crypto_shorthash_BYTES - 1; i >= 0; i--)
        hash = hash << 8 | out[i];
    return hash;
}

uint32_t
fl_keyspace_partition(const void *key, size_t len, uint32_t partitions)
{
    assert(partitions >= 1 && partitions <= FL_KEYSPACE_MAX_PARTITIONS);
    return (uint32_t) (fl_keyspace_hash(key, len) % partitions);
}

int
fl_keyspace_key(uint16_t partition, const void *suffix, size_t len, uint8_t *buf, size_t cap)
{
    size_t total = FL_KEYSPACE_PREFIX + len;
    if (len > FL_KEYSPACE_KEY_MAX - FL_KEYSPACE_PREFIX || total > cap)
        return FL_E_TOOBIG;
    buf[0] = (uint8_t) (partition >> 8);
    buf[1] = (uint8_t) partition;
    if (len > 0)
        memcpy(buf + FL_KEYSPACE_PREFIX, suffix, len);
    return (int) total;
}

int
fl_keyspace_key_partition(const MDB_val *key)
{
    if (key->mv_size < FL_KEYSPACE_PREFIX)
        return FL_E_INVAL;
    const uint8_t *bytes = key->mv_data;
    return bytes[0] << 8 | bytes[1];
}

/*  Positions CURSOR on the first record of PARTITION after AFTER (NULL:
 *  its first record).  Returns 0 with *inside false when there is none.  */
static int
s_seek(MDB_cursor *cursor, uint16_t partition, const MDB_val *after, MDB_val *key,
       MDB_val *value, bool *inside)
{
    uint8_t prefix[FL_KEYSPACE_PREFIX] = { (uint8_t) (partition >> 8), (uint8_t) partition };
    if (after && after->mv_size > 0)
        *key = *after;
    else {
        key->mv_size = sizeof prefix;
        key->mv_data = prefix;
    }
    int rc = mdb_cursor_get(cursor, key, value, MDB_SET_RANGE);
    if (rc == 0 && after && after->mv_size > 0 && key->mv_size == after->mv_size
        && memcmp(key->mv_data, after->mv_data, after->mv_size) == 0)
        rc = mdb_cursor_get(cursor, key, value, MDB_NEXT);
    *inside = rc == 0 && fl_keyspace_key_partition(key) == partition;
    if (rc == 0 || rc == MDB_NOTFOUND)
        return 0;
    return s_io("mdb_cursor_get", rc);
}

/*  True when KEY sorts after UNTIL (LMDB's default, bytewise order).  */
static bool
s_past(const MDB_val *key, const MDB_val *until)
{
    if (!until)
        return false;
    size_t n = key->mv_size < until->mv_size ? key->mv_size : until->mv_size;
    int c = memcmp(key->mv_data, until->mv_data, n);
    return c > 0 || (c == 0 && key->mv_size > until->mv_size);
}

int
fl_keyspace_drop_range(MDB_txn *txn, MDB_dbi dbi, uint16_t partition, const MDB_val *after,
                       const MDB_val *until, size_t *dropped)
{
    MDB_cursor *cursor = NULL;
    int rc = mdb_cursor_open(txn, dbi, &cursor);
    if (rc != 0)
        return s_io("mdb_cursor_open", rc);
    size_t count = 0;
    MDB_val key, value;
    bool inside = false;
    rc = s_seek(cursor, partition, after, &key, &value, &inside);
    while (rc == 0 && inside && !s_past(&key, until)) {
        rc = mdb_cursor_del(cursor, 0);
        if (rc != 0)
            break;
        count++;
        /*  After a delete the cursor already rests on the next record.  */
        rc = mdb_cursor_get(cursor, &key, &value, MDB_GET_CURRENT);
        inside = rc == 0 && fl_keyspace_key_partition(&key) == partition;
        if (rc == MDB_NOTFOUND || rc == EINVAL)     /* deleted the last record */
            rc = 0;
    }
    mdb_cursor_close(cursor);
    if (dropped)
        *dropped = count;
    if (rc == 0 || rc == MDB_MAP_FULL || rc == FL_E_IO)
        return rc;
    return s_io("drop", rc);
}

int
fl_keyspace_drop(MDB_txn *txn, MDB_dbi dbi, uint16_t partition, size_t *dropped)
{
    return fl_keyspace_drop_range(txn, dbi, partition, NULL, NULL, dropped);
}

static void
s_sum_field(crypto_generichash_state *state, const MDB_val *field)
{
    assert(field->mv_size <= UINT32_MAX);
    uint32_t len = (uint32_t) field->mv_size;
    uint8_t be[4] = { (uint8_t) (len >> 24), (uint8_t) (len >> 16),
                      (uint8_t) (len >> 8), (uint8_t) len };
    crypto_generichash_update(state, be, sizeof be);
    crypto_generichash_update(state, field->mv_data, field->mv_size);
}

void
fl_keyspace_sum_init(fl_keyspace_sum_t *sum)
{
    pthread_once(&s_sodium_once, s_sodium_init);
    crypto_generichash_init(&sum->state, NULL, 0, 32);
    sum->count = 0;
}

void
fl_keyspace_sum_add(fl_keyspace_sum_t *sum, const MDB_val *key, const MDB_val *value)
{
    s_sum_field(&sum->state, key);
    s_sum_field(&sum->state, value);
    sum->count++;
}

void
fl_keyspace_sum_final(fl_keyspace_sum_t *sum, uint8_t out[32])
{
    crypto_generichash_final(&sum->state, out, 32);
}

/*  fl_keyspace_range; SUM false skips the digest (a plain scan).  */
static int
s_range(MDB_txn *txn, MDB_dbi dbi, uint16_t partition, const MDB_val *after,
        const MDB_val *until, uint64_t max_bytes, fl_keyspace_visit_fn *visit, void *arg,
        fl_keyspace_range_t *out, bool sum)
{
    memset(out, 0, sizeof *out);
    fl_keyspace_sum_t acc;
    fl_keyspace_sum_init(&acc);
    MDB_cursor *cursor = NULL;
    int rc = mdb_cursor_open(txn, dbi, &cursor);
    if (rc != 0)
        return s_io("mdb_cursor_open", rc);
    MDB_val key, value;
    bool inside = false, full = false;
    rc = s_seek(cursor, partition, after, &key, &value, &inside);
    while (rc == 0 && inside && !full && !s_past(&key, until)) {
        if (visit && (rc = visit(&key, &value, arg)) != 0)
            break;
        if (sum)
            fl_keyspace_sum_add(&acc, &key, &value);
        out->count++;
        out->bytes += key.mv_size + value.mv_size;
        assert(key.mv_size <= sizeof out->last);
        memcpy(out->last, key.mv_data, key.mv_size);
        out->last_len = key.mv_size;
        full = max_bytes && out->bytes >= max_bytes;
        rc = mdb_cursor_get(cursor, &key, &value, MDB_NEXT);
        inside = rc == 0 && fl_keyspace_key_partition(&key) == partition;
        if (rc == MDB_NOTFOUND)
            rc = 0;
        else if (rc != 0)
            rc = s_io("mdb_cursor_get", rc);
    }
    mdb_cursor_close(cursor);
    if (rc != 0)
        return rc;
    if (!full && until) {
        assert(until->mv_size <= sizeof out->last);
        memcpy(out->last, until->mv_data, until->mv_size);
        out->last_len = until->mv_size;
    }
    out->end = !full && !until;
    fl_keyspace_sum_final(&acc, out->sum);
    return 0;
}

int
fl_keyspace_range(MDB_txn *txn, MDB_dbi dbi, uint16_t partition, const MDB_val *after,
                  const MDB_val *until, uint64_t max_bytes, fl_keyspace_visit_fn *visit,
                  void *arg, fl_keyspace_range_t *out)
{
    return s_range(txn, dbi, partition, after, until, max_bytes, visit, arg, out, true);
}

int
fl_keyspace_scan(MDB_txn *txn, MDB_dbi dbi, uint16_t partition,
                 fl_keyspace_visit_fn *visit, void *arg)
{
    fl_keyspace_range_t range;
    return s_range(txn, dbi, partition, NULL, NULL, 0, visit, arg, &range, false);
}

int
fl_keyspace_checksum(MDB_txn *txn, MDB_dbi dbi, uint16_t partition,
                     uint8_t sum[32], size_t *count)
{
    fl_keyspace_range_t range;
    int rc = fl_keyspace_range(txn, dbi, partition, NULL, NULL, 0, NULL, NULL, &range);
    if (rc != 0)
        return rc;
    memcpy(sum, range.sum, 32);
    if (count)
        *count = range.count;
    return 0;
}
