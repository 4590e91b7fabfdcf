/*  storage/keyspace.h — partition-prefixed keys.
 *
 *  Every key in every database starts with its partition number as a
 *  big-endian u16, so one partition is one contiguous key range that can be
 *  scanned, checksummed and dropped on its own.  partition(key) =
 *  hash64(key) mod P, with hash64 = SipHash-2-4 under a fixed all-zero key
 *  (libsodium crypto_shorthash): stable across nodes, builds and releases,
 *  because it decides where data lives.
 */
#ifndef FL_KEYSPACE_H
#define FL_KEYSPACE_H

#include <lmdb.h>
#include <sodium.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define FL_KEYSPACE_PREFIX 2            /* bytes of partition prefix */
#define FL_KEYSPACE_MAX_PARTITIONS 65536
#define FL_KEYSPACE_KEY_MAX 511          /* LMDB's default key limit */

uint64_t fl_keyspace_hash(const void *key, size_t len);

/*  hash64(key) mod partitions; partitions in 1..65536.  */
uint32_t fl_keyspace_partition(const void *key, size_t len, uint32_t partitions);

/*  Writes PARTITION's prefix followed by SUFFIX into BUF (capacity CAP)
 *  and returns the key's length.  Errors: FL_E_TOOBIG (longer than CAP or
 *  than FL_KEYSPACE_KEY_MAX).  */
int fl_keyspace_key(uint16_t partition, const void *suffix, size_t len, uint8_t *buf, size_t cap);

/*  The partition of a stored key.  Errors: FL_E_INVAL (key shorter than
 *  the prefix).  */
int fl_keyspace_key_partition(const MDB_val *key);

/*  Called for each record of a partition, in key order; a non-zero return
 *  stops the scan and is returned by fl_keyspace_scan().  */
typedef int (fl_keyspace_visit_fn)(const MDB_val *key, const MDB_val *value, void *arg);

/*  Visits every record of PARTITION in DBI.  Errors: VISIT's own code,
 *  FL_E_IO.  */
int fl_keyspace_scan(MDB_txn *txn, MDB_dbi dbi, uint16_t partition,
                     fl_keyspace_visit_fn *visit, void *arg);

/*  Deletes every record of PARTITION in DBI (TXN must be a write
 *  transaction); *dropped (may be NULL) gets the count.  Errors: FL_E_IO,
 *  MDB_MAP_FULL (passed through for fl_store_write's growth).  */
int fl_keyspace_drop(MDB_txn *txn, MDB_dbi dbi, uint16_t partition, size_t *dropped);

/*  BLAKE2b-256 (crypto_generichash) over the length-prefixed keys and
 *  values of PARTITION in key order; equal ranges give equal sums on any
 *  node.  *count (may be NULL) gets the number of records.
 *  Errors: FL_E_IO.  */
int fl_keyspace_checksum(MDB_txn *txn, MDB_dbi dbi, uint16_t partition,
                         uint8_t sum[32], size_t *count);

/*  The same sum over records held in memory: init, add each record in
 *  key order, final.  */
typedef struct {
    crypto_generichash_state state;
    size_t count;
} fl_keyspace_sum_t;

void fl_keyspace_sum_init(fl_keyspace_sum_t *sum);
void fl_keyspace_sum_add(fl_keyspace_sum_t *sum, const MDB_val *key, const MDB_val *value);
void fl_keyspace_sum_final(fl_keyspace_sum_t *sum, uint8_t out[32]);

/*  What fl_keyspace_range covered: the records after its AFTER up to and
 *  including LAST (LAST_LEN bytes), or to the partition's end when END.  */
typedef struct {
    uint8_t last[FL_KEYSPACE_KEY_MAX];
    size_t last_len;
    bool end;
    uint8_t sum[32];                    /* as fl_keyspace_checksum, over the range */
    size_t count;
    uint64_t bytes;                     /* keys and values */
} fl_keyspace_range_t;

/*  Visits the records of PARTITION in DBI after AFTER (NULL: from the
 *  partition's first) up to and including UNTIL (NULL: to its end), and
 *  stops early after the record that brings their size to MAX_BYTES (0:
 *  no limit).  VISIT may be NULL.  OUT gets the range covered: up to
 *  UNTIL when it was reached, else up to the last record visited, and
 *  END when the partition ended first with no UNTIL.  Two nodes that
 *  cover the same range of equal records get equal sums.
 *  Errors: VISIT's own code, FL_E_IO.  */
int fl_keyspace_range(MDB_txn *txn, MDB_dbi dbi, uint16_t partition, const MDB_val *after,
                      const MDB_val *until, uint64_t max_bytes, fl_keyspace_visit_fn *visit,
                      void *arg, fl_keyspace_range_t *out);

/*  Deletes the records of PARTITION in DBI after AFTER (NULL: from the
 *  first) up to and including UNTIL (NULL: to the end).  Errors: as
 *  fl_keyspace_drop.  */
int fl_keyspace_drop_range(MDB_txn *txn, MDB_dbi dbi, uint16_t partition, const MDB_val *after,
                           const MDB_val *until, size_t *dropped);

#endif
