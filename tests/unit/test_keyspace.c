/*  tests/unit/test_keyspace.c — partition-prefixed keys: the hash that
 *  places data, key layout, and the range operations (scan, drop,
 *  checksum) that hand a partition from node to node.
 */
#include "tests/testlib.h"
#include "storage/keyspace.h"
#include "storage/store.h"
#include "node/error.h"

#include <sys/stat.h>

#define DB "records"

typedef struct {
    uint16_t partition;
    const char *suffix;
    const char *value;
} s_record_t;

typedef struct {
    MDB_dbi dbi;
    const s_record_t *records;
    size_t count;
} s_batch_t;

static fl_store_t *
s_open(const char *name, MDB_dbi *dbi_p)
{
    char dir[512];
    snprintf(dir, sizeof dir, "%s/%s", fl_test_tmpdir(), name);
    mkdir(dir, 0700);
    fl_store_t *store = NULL;
    FL_CHECK_INT(fl_store_open(dir, NULL, &store), ==, 0);
    FL_CHECK_INT(fl_store_dbi(store, DB, dbi_p), ==, 0);
    return store;
}

static int
s_put(MDB_txn *txn, MDB_dbi dbi, uint16_t partition, const void *suffix, size_t suffix_len,
      const void *value, size_t value_len)
{
    uint8_t buf[FL_KEYSPACE_KEY_MAX];
    int len = fl_keyspace_key(partition, suffix, suffix_len, buf, sizeof buf);
    if (len < 0)
        return len;
    MDB_val key = { .mv_size = (size_t) len, .mv_data = buf };
    MDB_val data = { .mv_size = value_len, .mv_data = (void *) value };
    return mdb_put(txn, dbi, &key, &data, 0);
}

static int
s_batch_apply(MDB_txn *txn, void *arg)
{
    const s_batch_t *batch = arg;
    for (size_t i = 0; i < batch->count; i++) {
        const s_record_t *r = &batch->records[i];
        int rc = s_put(txn, batch->dbi, r->partition, r->suffix, strlen(r->suffix),
                       r->value, strlen(r->value));
        if (rc != 0)
            return rc;
    }
    return 0;
}

static void
s_write(fl_store_t *store, MDB_dbi dbi, const s_record_t *records, size_t count)
{
    s_batch_t batch = { .dbi = dbi, .records = records, .count = count };
    FL_CHECK_INT(fl_store_write(store, s_batch_apply, &batch), ==, 0);
}

/*  PER_PARTITION records in each of PARTITIONS, values ~100 bytes so a
 *  partition spans several pages.  */
typedef struct {
    MDB_dbi dbi;
    const uint16_t *partitions;
    size_t partition_count;
    unsigned per_partition;
} s_fill_t;

static int
s_fill_apply(MDB_txn *txn, void *arg)
{
    const s_fill_t *fill = arg;
    for (size_t p = 0; p < fill->partition_count; p++) {
        for (unsigned i = 0; i < fill->per_partition; i++) {
            char suffix[32], value[128];
            int slen = snprintf(suffix, sizeof suffix, "k%06u", i);
            int vlen = snprintf(value, sizeof value, "%u/%u %0100u",
                                fill->partitions[p], i, i);
            int rc = s_put(txn, fill->dbi, fill->partitions[p], suffix, (size_t) slen,
                           value, (size_t) vlen);
            if (rc != 0)
                return rc;
        }
    }
    return 0;
}

static void
s_fill(fl_store_t *store, MDB_dbi dbi, const uint16_t *partitions, size_t count,
       unsigned per_partition)
{
    s_fill_t fill = { .dbi = dbi, .partitions = partitions, .partition_count = count,
                      .per_partition = per_partition };
    FL_CHECK_INT(fl_store_write(store, s_fill_apply, &fill), ==, 0);
}

typedef struct {
    uint16_t partition;
    size_t visits;
    uint8_t last[FL_KEYSPACE_KEY_MAX];
    size_t last_len;
    int stop_after;
} s_visit_t;

static int
s_check_visit(const MDB_val *key, const MDB_val *value, void *arg)
{
    s_visit_t *v = arg;
    (void) value;
    FL_CHECK_INT(fl_keyspace_key_partition(key), ==, v->partition);
    if (v->visits > 0) {
        size_t n = key->mv_size < v->last_len ? key->mv_size : v->last_len;
        int cmp = memcmp(v->last, key->mv_data, n);
        FL_CHECK(cmp < 0 || (cmp == 0 && v->last_len < key->mv_size));
    }
    memcpy(v->last, key->mv_data, key->mv_size);
    v->last_len = key->mv_size;
    v->visits++;
    if (v->stop_after && (int) v->visits == v->stop_after)
        return 42;
    return 0;
}

static size_t
s_count(fl_store_t *store, MDB_dbi dbi, uint16_t partition)
{
    MDB_txn *txn = NULL;
    FL_CHECK_INT(fl_store_read_begin(store, &txn), ==, 0);
    s_visit_t v = { .partition = partition };
    FL_CHECK_INT(fl_keyspace_scan(txn, dbi, partition, s_check_visit, &v), ==, 0);
    fl_store_read_end(store, &txn);
    return v.visits;
}

static void
s_checksum(fl_store_t *store, MDB_dbi dbi, uint16_t partition, uint8_t sum[32], size_t *count)
{
    MDB_txn *txn = NULL;
    FL_CHECK_INT(fl_store_read_begin(store, &txn), ==, 0);
    FL_CHECK_INT(fl_keyspace_checksum(txn, dbi, partition, sum, count), ==, 0);
    fl_store_read_end(store, &txn);
}

FL_TEST(hash_is_siphash24_with_zero_key)
{
    FL_CHECK(fl_keyspace_hash("", 0) == 0x1e924b9d737700d7ULL);
    FL_CHECK(fl_keyspace_hash("a", 1) == 0x96c20860cd93a249ULL);
    FL_CHECK(fl_keyspace_hash("user:42", 7) == 0xb4200665c7723249ULL);
    FL_CHECK(fl_keyspace_hash("event:0123456789abcdef", 22) == 0x311a0a8633639556ULL);
}

FL_TEST(partition_is_stable)
{
    FL_CHECK_INT(fl_keyspace_partition("a", 1, 1024), ==, 585);
    FL_CHECK_INT(fl_keyspace_partition("user:42", 7, 1024), ==, 585);
    FL_CHECK_INT(fl_keyspace_partition("event:0123456789abcdef", 22, 1024), ==, 342);
    FL_CHECK_INT(fl_keyspace_partition("event:0123456789abcdef", 22, 65536), ==, 38230);
    FL_CHECK_INT(fl_keyspace_partition("user:42", 7, 1), ==, 0);
}

FL_TEST(partition_spreads_keys_evenly)
{
    enum { PARTITIONS = 1024, KEYS = 102400 };
    static unsigned counts[PARTITIONS];
    for (int i = 0; i < KEYS; i++) {
        char key[32];
        int len = snprintf(key, sizeof key, "user:%d", i);
        uint32_t p = fl_keyspace_partition(key, (size_t) len, PARTITIONS);
        FL_CHECK_INT(p, <, PARTITIONS);
        counts[p]++;
    }
    /*  100 expected per partition, standard deviation ~10.  */
    for (int p = 0; p < PARTITIONS; p++) {
        FL_CHECK_INT(counts[p], >, 50);
        FL_CHECK_INT(counts[p], <, 150);
    }
}

FL_TEST(key_starts_with_big_endian_partition)
{
    uint8_t buf[16];
    FL_CHECK_INT(fl_keyspace_key(0x1234, "ab", 2, buf, sizeof buf), ==, 4);
    FL_CHECK(memcmp(buf, "\x12\x34" "ab", 4) == 0);
    FL_CHECK_INT(fl_keyspace_key(7, NULL, 0, buf, sizeof buf), ==, 2);
    MDB_val key = { .mv_size = 2, .mv_data = buf };
    FL_CHECK_INT(fl_keyspace_key_partition(&key), ==, 7);
}

FL_TEST(keys_order_by_partition)
{
    uint8_t low[8], high[8];
    FL_CHECK_INT(fl_keyspace_key(0x00ff, "\xff\xff\xff", 3, low, sizeof low), ==, 5);
    FL_CHECK_INT(fl_keyspace_key(0x0100, "", 0, high, sizeof high), ==, 2);
    FL_CHECK(memcmp(low, high, 2) < 0);

    MDB_dbi dbi;
    fl_store_t *store = s_open("order", &dbi);
    const s_record_t records[] = {
        { 300, "a", "1" }, { 2, "zzz", "2" }, { 65535, "", "3" }, { 0, "m", "4" },
        { 256, "b", "5" }, { 255, "\xff", "6" }, { 2, "a", "7" },
    };
    s_write(store, dbi, records, sizeof records / sizeof records[0]);
    MDB_txn *txn = NULL;
    FL_CHECK_INT(fl_store_read_begin(store, &txn), ==, 0);
    MDB_cursor *cursor = NULL;
    FL_CHECK_INT(mdb_cursor_open(txn, dbi, &cursor), ==, 0);
    MDB_val key, value;
    int last = -1, seen = 0;
    while (mdb_cursor_get(cursor, &key, &value, MDB_NEXT) == 0) {
        int p = fl_keyspace_key_partition(&key);
        FL_CHECK_INT(p, >=, last);
        last = p;
        seen++;
    }
    FL_CHECK_INT(seen, ==, 7);
    FL_CHECK_INT(last, ==, 65535);
    mdb_cursor_close(cursor);
    fl_store_read_end(store, &txn);
    fl_store_destroy(&store);
}

FL_TEST(key_too_long_is_refused)
{
    uint8_t buf[FL_KEYSPACE_KEY_MAX + 16];
    uint8_t suffix[FL_KEYSPACE_KEY_MAX] = { 0 };
    size_t longest = FL_KEYSPACE_KEY_MAX - FL_KEYSPACE_PREFIX;
    FL_CHECK_INT(fl_keyspace_key(1, suffix, longest, buf, sizeof buf), ==, FL_KEYSPACE_KEY_MAX);
    FL_CHECK_INT(fl_keyspace_key(1, suffix, longest + 1, buf, sizeof buf), ==, FL_E_TOOBIG);
}

FL_TEST(key_larger_than_buffer_is_refused)
{
    uint8_t buf[4];
    FL_CHECK_INT(fl_keyspace_key(1, "ab", 2, buf, sizeof buf), ==, 4);
    FL_CHECK_INT(fl_keyspace_key(1, "abc", 3, buf, sizeof buf), ==, FL_E_TOOBIG);
}

FL_TEST(short_key_has_no_partition)
{
    uint8_t bytes[2] = { 0xff, 0xfe };
    MDB_val empty = { .mv_size = 0, .mv_data = bytes };
    MDB_val one = { .mv_size = 1, .mv_data = bytes };
    MDB_val two = { .mv_size = 2, .mv_data = bytes };
    FL_CHECK_INT(fl_keyspace_key_partition(&empty), ==, FL_E_INVAL);
    FL_CHECK_INT(fl_keyspace_key_partition(&one), ==, FL_E_INVAL);
    FL_CHECK_INT(fl_keyspace_key_partition(&two), ==, 0xfffe);
}

static const uint16_t s_layout[] = { 0, 1, 2, 0x00ff, 0x0100, 65534, 65535 };
#define LAYOUT_COUNT (sizeof s_layout / sizeof s_layout[0])
#define PER_PARTITION 300

/*  Stray one-byte keys sit next to the first and last ranges.  */
static int
s_stray_apply(MDB_txn *txn, void *arg)
{
    MDB_dbi *dbi = arg;
    static const uint8_t strays[] = { 0x00, 0x01, 0xff };
    for (size_t i = 0; i < sizeof strays; i++) {
        MDB_val key = { .mv_size = 1, .mv_data = (void *) &strays[i] };
        MDB_val value = { .mv_size = 5, .mv_data = "stray" };
        int rc = mdb_put(txn, *dbi, &key, &value, 0);
        if (rc != 0)
            return rc;
    }
    return 0;
}

static fl_store_t *
s_open_layout(const char *name, MDB_dbi *dbi)
{
    fl_store_t *store = s_open(name, dbi);
    s_fill(store, *dbi, s_layout, LAYOUT_COUNT, PER_PARTITION);
    FL_CHECK_INT(fl_store_write(store, s_stray_apply, dbi), ==, 0);
    return store;
}

FL_TEST(scan_visits_exactly_one_partition_in_order)
{
    MDB_dbi dbi;
    fl_store_t *store = s_open_layout("scan", &dbi);
    for (size_t i = 0; i < LAYOUT_COUNT; i++)
        FL_CHECK_INT(s_count(store, dbi, s_layout[i]), ==, PER_PARTITION);
    FL_CHECK_INT(s_count(store, dbi, 3), ==, 0);
    FL_CHECK_INT(s_count(store, dbi, 0x00fe), ==, 0);
    FL_CHECK_INT(s_count(store, dbi, 65533), ==, 0);
    fl_store_destroy(&store);
}

FL_TEST(scan_stops_with_the_visitor_code)
{
    MDB_dbi dbi;
    fl_store_t *store = s_open_layout("scanstop", &dbi);
    MDB_txn *txn = NULL;
    FL_CHECK_INT(fl_store_read_begin(store, &txn), ==, 0);
    s_visit_t v = { .partition = 1, .stop_after = 10 };
    FL_CHECK_INT(fl_keyspace_scan(txn, dbi, 1, s_check_visit, &v), ==, 42);
    FL_CHECK_INT(v.visits, ==, 10);
    fl_store_read_end(store, &txn);
    fl_store_destroy(&store);
}

typedef struct {
    MDB_dbi dbi;
    uint16_t partition;
    size_t dropped;
} s_drop_t;

static int
s_drop_apply(MDB_txn *txn, void *arg)
{
    s_drop_t *drop = arg;
    return fl_keyspace_drop(txn, drop->dbi, drop->partition, &drop->dropped);
}

static void
s_check_drop(uint16_t victim)
{
    MDB_dbi dbi;
    char name[32];
    snprintf(name, sizeof name, "drop%u", victim);
    fl_store_t *store = s_open_layout(name, &dbi);
    s_drop_t drop = { .dbi = dbi, .partition = victim };
    FL_CHECK_INT(fl_store_write(store, s_drop_apply, &drop), ==, 0);
    FL_CHECK_INT(drop.dropped, ==, PER_PARTITION);
    for (size_t i = 0; i < LAYOUT_COUNT; i++)
        FL_CHECK_INT(s_count(store, dbi, s_layout[i]), ==, s_layout[i] == victim ? 0 : PER_PARTITION);
    MDB_txn *txn = NULL;
    MDB_stat stat;
    FL_CHECK_INT(fl_store_read_begin(store, &txn), ==, 0);
    FL_CHECK_INT(mdb_stat(txn, dbi, &stat), ==, 0);
    fl_store_read_end(store, &txn);
    FL_CHECK_INT(stat.ms_entries, ==, (LAYOUT_COUNT - 1) * PER_PARTITION + 3);
    fl_store_destroy(&store);
}

FL_TEST(drop_removes_only_that_partition)
{
    s_check_drop(0x00ff);
    s_check_drop(1);
}

FL_TEST(drop_removes_the_first_and_last_partitions)
{
    s_check_drop(0);
    s_check_drop(65535);
}

FL_TEST(drop_of_empty_partition_removes_nothing)
{
    MDB_dbi dbi;
    fl_store_t *store = s_open_layout("dropempty", &dbi);
    s_drop_t drop = { .dbi = dbi, .partition = 3, .dropped = 99 };
    FL_CHECK_INT(fl_store_write(store, s_drop_apply, &drop), ==, 0);
    FL_CHECK_INT(drop.dropped, ==, 0);
    for (size_t i = 0; i < LAYOUT_COUNT; i++)
        FL_CHECK_INT(s_count(store, dbi, s_layout[i]), ==, PER_PARTITION);
    fl_store_destroy(&store);
}

static const s_record_t s_content[] = {
    { 9, "alice", "organizer" }, { 9, "bob", "member" }, { 9, "carol", "" },
    { 8, "dave", "other partition" }, { 10, "erin", "other partition" },
};

FL_TEST(checksum_is_equal_for_equal_content_in_different_envs)
{
    MDB_dbi dbi_a, dbi_b;
    fl_store_t *a = s_open("sum_a", &dbi_a);
    fl_store_t *b = s_open("sum_b", &dbi_b);
    s_write(a, dbi_a, s_content, 5);
    for (int i = 4; i >= 0; i--)
        s_write(b, dbi_b, &s_content[i], 1);
    uint8_t sum_a[32], sum_b[32];
    size_t count_a = 0, count_b = 0;
    s_checksum(a, dbi_a, 9, sum_a, &count_a);
    s_checksum(b, dbi_b, 9, sum_b, &count_b);
    FL_CHECK_INT(count_a, ==, 3);
    FL_CHECK_INT(count_b, ==, 3);
    FL_CHECK(memcmp(sum_a, sum_b, 32) == 0);
    fl_store_destroy(&a);
    fl_store_destroy(&b);
}

FL_TEST(checksum_differs_when_one_byte_differs)
{
    MDB_dbi dbi_a, dbi_b;
    fl_store_t *a = s_open("diff_a", &dbi_a);
    fl_store_t *b = s_open("diff_b", &dbi_b);
    s_write(a, dbi_a, s_content, 5);
    s_record_t changed[5];
    memcpy(changed, s_content, sizeof changed);
    changed[1].value = "membes";
    s_write(b, dbi_b, changed, 5);
    uint8_t sum_a[32], sum_b[32];
    s_checksum(a, dbi_a, 9, sum_a, NULL);
    s_checksum(b, dbi_b, 9, sum_b, NULL);
    FL_CHECK(memcmp(sum_a, sum_b, 32) != 0);
    fl_store_destroy(&a);
    fl_store_destroy(&b);
}

FL_TEST(checksum_separates_keys_from_values)
{
    MDB_dbi dbi_a, dbi_b;
    fl_store_t *a = s_open("split_a", &dbi_a);
    fl_store_t *b = s_open("split_b", &dbi_b);
    const s_record_t left = { 4, "ab", "c" };
    const s_record_t right = { 4, "a", "bc" };
    s_write(a, dbi_a, &left, 1);
    s_write(b, dbi_b, &right, 1);
    uint8_t sum_a[32], sum_b[32];
    s_checksum(a, dbi_a, 4, sum_a, NULL);
    s_checksum(b, dbi_b, 4, sum_b, NULL);
    FL_CHECK(memcmp(sum_a, sum_b, 32) != 0);
    fl_store_destroy(&a);
    fl_store_destroy(&b);
}

FL_TEST(checksum_ignores_other_partitions)
{
    MDB_dbi dbi;
    fl_store_t *store = s_open("sum_other", &dbi);
    s_write(store, dbi, s_content, 3);
    uint8_t before[32], after[32];
    s_checksum(store, dbi, 9, before, NULL);
    s_write(store, dbi, &s_content[3], 2);
    s_checksum(store, dbi, 9, after, NULL);
    FL_CHECK(memcmp(before, after, 32) == 0);
    fl_store_destroy(&store);
}
