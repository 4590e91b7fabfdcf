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

/*  ---------------------------------------------------------------------
 *  Ranges: pieces of a partition, as a handoff sends and checks them.
 */

/*  The key of PARTITION with SUFFIX, in BUF.  */
static MDB_val
s_key(uint16_t partition, const char *suffix, uint8_t buf[FL_KEYSPACE_KEY_MAX])
{
    int len = fl_keyspace_key(partition, suffix, strlen(suffix), buf, FL_KEYSPACE_KEY_MAX);
    FL_CHECK_INT(len, >, 0);
    return (MDB_val) { .mv_size = (size_t) len, .mv_data = buf };
}

/*  Key and value bytes of record I of PARTITION as s_fill writes it.  */
static uint64_t
s_fill_bytes(uint16_t partition, unsigned i)
{
    char suffix[32], value[128];
    int slen = snprintf(suffix, sizeof suffix, "k%06u", i);
    int vlen = snprintf(value, sizeof value, "%u/%u %0100u", partition, i, i);
    return (uint64_t) (FL_KEYSPACE_PREFIX + slen + vlen);
}

/*  The suffixes of the records a range visits, in order.  */
typedef struct {
    uint16_t partition;
    size_t n;
    char suffix[PER_PARTITION + 1][16];
    uint64_t bytes;
    size_t stop_after;
} s_seen_t;

static int
s_seen_visit(const MDB_val *key, const MDB_val *value, void *arg)
{
    s_seen_t *seen = arg;
    FL_CHECK_INT(fl_keyspace_key_partition(key), ==, seen->partition);
    FL_CHECK_INT(key->mv_size, <, FL_KEYSPACE_PREFIX + sizeof seen->suffix[0]);
    FL_CHECK_INT(seen->n, <, PER_PARTITION + 1);
    char *suffix = seen->suffix[seen->n];
    memcpy(suffix, (const uint8_t *) key->mv_data + FL_KEYSPACE_PREFIX,
           key->mv_size - FL_KEYSPACE_PREFIX);
    suffix[key->mv_size - FL_KEYSPACE_PREFIX] = '\0';
    if (seen->n > 0)
        FL_CHECK(strcmp(seen->suffix[seen->n - 1], suffix) < 0);
    seen->n++;
    seen->bytes += key->mv_size + value->mv_size;
    if (seen->stop_after && seen->n == seen->stop_after)
        return 42;
    return 0;
}

/*  True when SEEN holds records FIRST .. FIRST + COUNT - 1 of s_fill.  */
static bool
s_seen_run(const s_seen_t *seen, unsigned first, size_t count)
{
    if (seen->n != count)
        return false;
    for (size_t i = 0; i < count; i++) {
        char want[16];
        snprintf(want, sizeof want, "k%06u", first + (unsigned) i);
        if (strcmp(seen->suffix[i], want) != 0)
            return false;
    }
    return true;
}

static int
s_range(fl_store_t *store, MDB_dbi dbi, uint16_t partition, const MDB_val *after,
        const MDB_val *until, uint64_t max_bytes, s_seen_t *seen, fl_keyspace_range_t *out)
{
    MDB_txn *txn = NULL;
    FL_CHECK_INT(fl_store_read_begin(store, &txn), ==, 0);
    int rc = fl_keyspace_range(txn, dbi, partition, after, until, max_bytes,
                               seen ? s_seen_visit : NULL, seen, out);
    fl_store_read_end(store, &txn);
    return rc;
}

/*  True when OUT's last is the key of PARTITION with SUFFIX.  */
static bool
s_last_is(const fl_keyspace_range_t *out, uint16_t partition, const char *suffix)
{
    uint8_t buf[FL_KEYSPACE_KEY_MAX];
    MDB_val key = s_key(partition, suffix, buf);
    return out->last_len == key.mv_size && memcmp(out->last, buf, key.mv_size) == 0;
}

FL_TEST(range_without_bounds_covers_the_whole_partition_alone)
{
    MDB_dbi dbi;
    fl_store_t *store = s_open_layout("range_whole", &dbi);
    static const uint16_t partitions[] = { 0, 1, 0x00ff, 0x0100, 65535 };
    for (size_t i = 0; i < sizeof partitions / sizeof partitions[0]; i++) {
        uint16_t p = partitions[i];
        uint64_t bytes = 0;
        for (unsigned r = 0; r < PER_PARTITION; r++)
            bytes += s_fill_bytes(p, r);
        s_seen_t seen = { .partition = p };
        fl_keyspace_range_t out;
        FL_CHECK_INT(s_range(store, dbi, p, NULL, NULL, 0, &seen, &out), ==, 0);
        FL_CHECK(s_seen_run(&seen, 0, PER_PARTITION));
        FL_CHECK(out.end);
        FL_CHECK_INT(out.count, ==, PER_PARTITION);
        FL_CHECK_INT(out.bytes, ==, bytes);
        FL_CHECK_INT(seen.bytes, ==, bytes);
        FL_CHECK(s_last_is(&out, p, "k000299"));
        uint8_t sum[32];
        size_t count = 0;
        s_checksum(store, dbi, p, sum, &count);
        FL_CHECK_INT(count, ==, PER_PARTITION);
        FL_CHECK(memcmp(out.sum, sum, 32) == 0);
    }
    fl_store_destroy(&store);
}

FL_TEST(range_starts_strictly_after_its_after_key)
{
    MDB_dbi dbi;
    fl_store_t *store = s_open_layout("range_after", &dbi);
    uint8_t buf[FL_KEYSPACE_KEY_MAX];

    MDB_val after = s_key(1, "k000009", buf);
    s_seen_t seen = { .partition = 1 };
    fl_keyspace_range_t out;
    FL_CHECK_INT(s_range(store, dbi, 1, &after, NULL, 0, &seen, &out), ==, 0);
    FL_CHECK(s_seen_run(&seen, 10, PER_PARTITION - 10));
    FL_CHECK_INT(out.count, ==, PER_PARTITION - 10);
    FL_CHECK(out.end);

    /*  No record "k000009x": the range starts at the next greater key.  */
    after = s_key(1, "k000009x", buf);
    seen = (s_seen_t) { .partition = 1 };
    FL_CHECK_INT(s_range(store, dbi, 1, &after, NULL, 0, &seen, &out), ==, 0);
    FL_CHECK(s_seen_run(&seen, 10, PER_PARTITION - 10));
    FL_CHECK_INT(out.count, ==, PER_PARTITION - 10);

    /*  After the partition's last record: nothing, and the end.  */
    after = s_key(1, "k000299", buf);
    seen = (s_seen_t) { .partition = 1 };
    FL_CHECK_INT(s_range(store, dbi, 1, &after, NULL, 0, &seen, &out), ==, 0);
    FL_CHECK_INT(seen.n, ==, 0);
    FL_CHECK_INT(out.count, ==, 0);
    FL_CHECK_INT(out.bytes, ==, 0);
    FL_CHECK(out.end);
    fl_store_destroy(&store);
}

FL_TEST(range_ends_at_its_until_key_inclusive)
{
    MDB_dbi dbi;
    fl_store_t *store = s_open_layout("range_until", &dbi);
    uint8_t after_buf[FL_KEYSPACE_KEY_MAX], until_buf[FL_KEYSPACE_KEY_MAX];

    MDB_val until = s_key(0x00ff, "k000019", until_buf);
    s_seen_t seen = { .partition = 0x00ff };
    fl_keyspace_range_t out;
    FL_CHECK_INT(s_range(store, dbi, 0x00ff, NULL, &until, 0, &seen, &out), ==, 0);
    FL_CHECK(s_seen_run(&seen, 0, 20));
    FL_CHECK_INT(out.count, ==, 20);
    FL_CHECK(!out.end);
    FL_CHECK(s_last_is(&out, 0x00ff, "k000019"));

    /*  An until that is no record: the range is up to it, and its last is
     *  the until key itself.  */
    until = s_key(0x00ff, "k000019x", until_buf);
    MDB_val after = s_key(0x00ff, "k000009", after_buf);
    seen = (s_seen_t) { .partition = 0x00ff };
    FL_CHECK_INT(s_range(store, dbi, 0x00ff, &after, &until, 0, &seen, &out), ==, 0);
    FL_CHECK(s_seen_run(&seen, 10, 10));
    FL_CHECK_INT(out.count, ==, 10);
    FL_CHECK(!out.end);
    FL_CHECK(s_last_is(&out, 0x00ff, "k000019x"));

    /*  An until past the partition's last record: every record, and still
     *  not the end, for the range was bounded.  */
    until = s_key(0x00ff, "z", until_buf);
    seen = (s_seen_t) { .partition = 0x00ff };
    FL_CHECK_INT(s_range(store, dbi, 0x00ff, NULL, &until, 0, &seen, &out), ==, 0);
    FL_CHECK(s_seen_run(&seen, 0, PER_PARTITION));
    FL_CHECK_INT(out.count, ==, PER_PARTITION);
    FL_CHECK(!out.end);
    FL_CHECK(s_last_is(&out, 0x00ff, "z"));
    fl_store_destroy(&store);
}

FL_TEST(range_stops_after_the_record_that_reaches_max_bytes)
{
    MDB_dbi dbi;
    fl_store_t *store = s_open_layout("range_max", &dbi);
    uint64_t three = s_fill_bytes(2, 0) + s_fill_bytes(2, 1) + s_fill_bytes(2, 2);

    /*  Exactly three records' worth.  */
    s_seen_t seen = { .partition = 2 };
    fl_keyspace_range_t out;
    FL_CHECK_INT(s_range(store, dbi, 2, NULL, NULL, three, &seen, &out), ==, 0);
    FL_CHECK(s_seen_run(&seen, 0, 3));
    FL_CHECK_INT(out.count, ==, 3);
    FL_CHECK_INT(out.bytes, ==, three);
    FL_CHECK(!out.end);
    FL_CHECK(s_last_is(&out, 2, "k000002"));

    /*  One byte past two records: the third reaches it.  */
    uint64_t two = s_fill_bytes(2, 0) + s_fill_bytes(2, 1);
    seen = (s_seen_t) { .partition = 2 };
    FL_CHECK_INT(s_range(store, dbi, 2, NULL, NULL, two + 1, &seen, &out), ==, 0);
    FL_CHECK(s_seen_run(&seen, 0, 3));
    FL_CHECK_INT(out.count, ==, 3);
    FL_CHECK(s_last_is(&out, 2, "k000002"));

    /*  One byte: one record, the first always goes.  */
    seen = (s_seen_t) { .partition = 2 };
    FL_CHECK_INT(s_range(store, dbi, 2, NULL, NULL, 1, &seen, &out), ==, 0);
    FL_CHECK(s_seen_run(&seen, 0, 1));
    FL_CHECK_INT(out.count, ==, 1);
    FL_CHECK_INT(out.bytes, ==, s_fill_bytes(2, 0));
    FL_CHECK(!out.end);
    FL_CHECK(s_last_is(&out, 2, "k000000"));
    fl_store_destroy(&store);
}

FL_TEST(range_pages_continued_from_their_last_cover_the_partition_once)
{
    MDB_dbi dbi;
    fl_store_t *store = s_open_layout("range_pages", &dbi);
    uint64_t whole = 0;
    for (unsigned r = 0; r < PER_PARTITION; r++)
        whole += s_fill_bytes(65535, r);
    /*  One visitor over every page: it checks the keys rise across them.  */
    s_seen_t seen = { .partition = 65535 };
    fl_keyspace_range_t out = { .end = false };
    uint8_t last[FL_KEYSPACE_KEY_MAX];
    MDB_val after = { .mv_size = 0, .mv_data = last };
    size_t count = 0, pages = 0;
    uint64_t bytes = 0;
    while (!out.end && pages < 2 * PER_PARTITION) {
        FL_CHECK_INT(s_range(store, dbi, 65535, pages ? &after : NULL, NULL, 1000, &seen, &out),
                     ==, 0);
        FL_CHECK(out.end || out.bytes >= 1000);
        count += out.count;
        bytes += out.bytes;
        memcpy(last, out.last, out.last_len);
        after.mv_size = out.last_len;
        pages++;
    }
    FL_CHECK(out.end);
    FL_CHECK_INT(pages, >, 20);
    FL_CHECK(s_seen_run(&seen, 0, PER_PARTITION));
    FL_CHECK_INT(count, ==, PER_PARTITION);
    FL_CHECK_INT(bytes, ==, whole);
    fl_store_destroy(&store);
}

/*  Sums of the same ranges of two stores.  */
static bool
s_same_range_sum(fl_store_t *a, MDB_dbi dbi_a, fl_store_t *b, MDB_dbi dbi_b, uint16_t partition,
                 const MDB_val *after, const MDB_val *until, uint64_t max_bytes)
{
    fl_keyspace_range_t ra, rb;
    FL_CHECK_INT(s_range(a, dbi_a, partition, after, until, max_bytes, NULL, &ra), ==, 0);
    FL_CHECK_INT(s_range(b, dbi_b, partition, after, until, max_bytes, NULL, &rb), ==, 0);
    FL_CHECK_INT(ra.count, ==, rb.count);
    FL_CHECK_INT(ra.bytes, ==, rb.bytes);
    return memcmp(ra.sum, rb.sum, 32) == 0;
}

/*  Record 150 of partition 1 with its value's last byte changed.  */
static int
s_change_apply(MDB_txn *txn, void *arg)
{
    MDB_dbi *dbi = arg;
    char value[128];
    int vlen = snprintf(value, sizeof value, "%u/%u %0100u", 1, 150, 150);
    value[vlen - 1] = '1';
    return s_put(txn, *dbi, 1, "k000150", 7, value, (size_t) vlen);
}

FL_TEST(range_sums_agree_between_environments_with_equal_records)
{
    MDB_dbi dbi_a, dbi_b;
    fl_store_t *a = s_open_layout("range_sum_a", &dbi_a);
    fl_store_t *b = s_open_layout("range_sum_b", &dbi_b);
    uint8_t after_buf[FL_KEYSPACE_KEY_MAX], until_buf[FL_KEYSPACE_KEY_MAX];
    MDB_val after = s_key(1, "k000149", after_buf);
    MDB_val until = s_key(1, "k000150", until_buf);
    FL_CHECK(s_same_range_sum(a, dbi_a, b, dbi_b, 1, NULL, NULL, 0));
    FL_CHECK(s_same_range_sum(a, dbi_a, b, dbi_b, 1, &after, &until, 0));
    FL_CHECK(s_same_range_sum(a, dbi_a, b, dbi_b, 1, &after, NULL, 5000));

    /*  One value differs: every range holding it differs, the others
     *  still agree.  */
    FL_CHECK_INT(fl_store_write(b, s_change_apply, &dbi_b), ==, 0);
    FL_CHECK(!s_same_range_sum(a, dbi_a, b, dbi_b, 1, NULL, NULL, 0));
    FL_CHECK(!s_same_range_sum(a, dbi_a, b, dbi_b, 1, &after, &until, 0));
    FL_CHECK(s_same_range_sum(a, dbi_a, b, dbi_b, 1, NULL, &after, 0));
    FL_CHECK(s_same_range_sum(a, dbi_a, b, dbi_b, 1, &until, NULL, 0));
    FL_CHECK(s_same_range_sum(a, dbi_a, b, dbi_b, 2, NULL, NULL, 0));
    fl_store_destroy(&a);
    fl_store_destroy(&b);
}

static int
s_sum_visit(const MDB_val *key, const MDB_val *value, void *arg)
{
    fl_keyspace_sum_add(arg, key, value);
    return 0;
}

FL_TEST(a_sum_of_records_in_memory_equals_the_sum_of_their_range)
{
    MDB_dbi dbi;
    fl_store_t *store = s_open_layout("range_sum_memory", &dbi);
    uint8_t after_buf[FL_KEYSPACE_KEY_MAX];
    MDB_val after = s_key(1, "k000149", after_buf);
    const MDB_val *afters[] = { NULL, &after };
    for (size_t i = 0; i < 2; i++) {
        fl_keyspace_sum_t sum;
        fl_keyspace_sum_init(&sum);
        fl_keyspace_range_t out;
        MDB_txn *txn = NULL;
        FL_CHECK_INT(fl_store_read_begin(store, &txn), ==, 0);
        FL_CHECK_INT(fl_keyspace_range(txn, dbi, 1, afters[i], NULL, 5000, s_sum_visit, &sum,
                                       &out), ==, 0);
        fl_store_read_end(store, &txn);
        uint8_t digest[32];
        fl_keyspace_sum_final(&sum, digest);
        FL_CHECK(out.count > 0);
        FL_CHECK_INT(sum.count, ==, out.count);
        FL_CHECK(memcmp(digest, out.sum, 32) == 0);
    }
    /*  One record more or less is another sum.  */
    fl_keyspace_sum_t none;
    fl_keyspace_sum_init(&none);
    uint8_t empty[32], one[32];
    fl_keyspace_sum_final(&none, empty);
    fl_keyspace_sum_init(&none);
    fl_keyspace_sum_add(&none, &after, &after);
    fl_keyspace_sum_final(&none, one);
    FL_CHECK(memcmp(empty, one, 32) != 0);
    fl_store_destroy(&store);
}

FL_TEST(range_stops_with_the_visitor_code)
{
    MDB_dbi dbi;
    fl_store_t *store = s_open_layout("range_stop", &dbi);
    s_seen_t seen = { .partition = 0x0100, .stop_after = 10 };
    fl_keyspace_range_t out;
    FL_CHECK_INT(s_range(store, dbi, 0x0100, NULL, NULL, 0, &seen, &out), ==, 42);
    FL_CHECK(s_seen_run(&seen, 0, 10));
    fl_store_destroy(&store);
}

FL_TEST(range_of_an_empty_partition_is_empty_and_ended)
{
    MDB_dbi dbi;
    fl_store_t *store = s_open_layout("range_empty", &dbi);
    static const uint16_t empty[] = { 3, 0x00fe, 65533 };
    for (size_t i = 0; i < sizeof empty / sizeof empty[0]; i++) {
        s_seen_t seen = { .partition = empty[i] };
        fl_keyspace_range_t out;
        FL_CHECK_INT(s_range(store, dbi, empty[i], NULL, NULL, 0, &seen, &out), ==, 0);
        FL_CHECK_INT(seen.n, ==, 0);
        FL_CHECK_INT(out.count, ==, 0);
        FL_CHECK_INT(out.bytes, ==, 0);
        FL_CHECK(out.end);
        uint8_t sum[32];
        size_t count = 99;
        s_checksum(store, dbi, empty[i], sum, &count);
        FL_CHECK_INT(count, ==, 0);
        FL_CHECK(memcmp(out.sum, sum, 32) == 0);
    }
    fl_store_destroy(&store);
}

typedef struct {
    MDB_dbi dbi;
    uint16_t partition;
    const MDB_val *after, *until;
    size_t dropped;
} s_drop_range_t;

static int
s_drop_range_apply(MDB_txn *txn, void *arg)
{
    s_drop_range_t *drop = arg;
    return fl_keyspace_drop_range(txn, drop->dbi, drop->partition, drop->after, drop->until,
                                  &drop->dropped);
}

/*  The suffixes of PARTITION's records, in order.  */
static void
s_seen_all(fl_store_t *store, MDB_dbi dbi, uint16_t partition, s_seen_t *seen)
{
    *seen = (s_seen_t) { .partition = partition };
    fl_keyspace_range_t out;
    FL_CHECK_INT(s_range(store, dbi, partition, NULL, NULL, 0, seen, &out), ==, 0);
}

static size_t
s_entries(fl_store_t *store, MDB_dbi dbi)
{
    MDB_txn *txn = NULL;
    MDB_stat stat;
    FL_CHECK_INT(fl_store_read_begin(store, &txn), ==, 0);
    FL_CHECK_INT(mdb_stat(txn, dbi, &stat), ==, 0);
    fl_store_read_end(store, &txn);
    return stat.ms_entries;
}

/*  Drops (AFTER, UNTIL] of VICTIM (suffixes, NULL for none) and checks
 *  that exactly records FIRST .. FIRST + COUNT - 1 went.  */
static void
s_check_drop_range(uint16_t victim, const char *after_suffix, const char *until_suffix,
                   unsigned first, unsigned count)
{
    MDB_dbi dbi;
    char name[64];
    snprintf(name, sizeof name, "dropr%u_%s_%s", victim, after_suffix ? after_suffix : "",
             until_suffix ? until_suffix : "");
    fl_store_t *store = s_open_layout(name, &dbi);
    uint8_t after_buf[FL_KEYSPACE_KEY_MAX], until_buf[FL_KEYSPACE_KEY_MAX];
    MDB_val after = { 0 }, until = { 0 };
    if (after_suffix)
        after = s_key(victim, after_suffix, after_buf);
    if (until_suffix)
        until = s_key(victim, until_suffix, until_buf);
    s_drop_range_t drop = { .dbi = dbi, .partition = victim, .dropped = 999,
                            .after = after_suffix ? &after : NULL,
                            .until = until_suffix ? &until : NULL };
    FL_CHECK_INT(fl_store_write(store, s_drop_range_apply, &drop), ==, 0);
    FL_CHECK_INT(drop.dropped, ==, count);

    s_seen_t seen;
    s_seen_all(store, dbi, victim, &seen);
    FL_CHECK_INT(seen.n, ==, PER_PARTITION - count);
    for (size_t i = 0; i < seen.n; i++) {
        char want[32];
        snprintf(want, sizeof want, "k%06zu", i < first ? i : i + count);
        FL_CHECK_STR(seen.suffix[i], want);
    }
    for (size_t i = 0; i < LAYOUT_COUNT; i++)
        if (s_layout[i] != victim)
            FL_CHECK_INT(s_count(store, dbi, s_layout[i]), ==, PER_PARTITION);
    FL_CHECK_INT(s_entries(store, dbi), ==, LAYOUT_COUNT * PER_PARTITION + 3 - count);
    fl_store_destroy(&store);
}

FL_TEST(drop_range_removes_exactly_after_to_until)
{
    s_check_drop_range(0x00ff, "k000099", "k000199", 100, 100);
    s_check_drop_range(0x0100, "k000099x", "k000199x", 100, 100);
    s_check_drop_range(1, "k000000", "k000000", 1, 0);
}

FL_TEST(drop_range_with_one_bound_stops_at_the_partition_edge)
{
    s_check_drop_range(0, NULL, "k000009", 0, 10);
    s_check_drop_range(0, "k000289", NULL, 290, 10);
    s_check_drop_range(65535, NULL, "k000009", 0, 10);
    s_check_drop_range(65535, "k000289", NULL, 290, 10);
    s_check_drop_range(0x00ff, "k000289", NULL, 290, 10);
    s_check_drop_range(0x0100, NULL, "k000009", 0, 10);
}

FL_TEST(drop_range_without_bounds_drops_the_partition)
{
    static const uint16_t victims[] = { 0, 0x00ff, 65535 };
    for (size_t v = 0; v < sizeof victims / sizeof victims[0]; v++) {
        MDB_dbi dbi_a, dbi_b;
        char name_a[32], name_b[32];
        snprintf(name_a, sizeof name_a, "dropall_a%u", victims[v]);
        snprintf(name_b, sizeof name_b, "dropall_b%u", victims[v]);
        fl_store_t *a = s_open_layout(name_a, &dbi_a);
        fl_store_t *b = s_open_layout(name_b, &dbi_b);
        s_drop_range_t ranged = { .dbi = dbi_a, .partition = victims[v] };
        s_drop_t whole = { .dbi = dbi_b, .partition = victims[v] };
        FL_CHECK_INT(fl_store_write(a, s_drop_range_apply, &ranged), ==, 0);
        FL_CHECK_INT(fl_store_write(b, s_drop_apply, &whole), ==, 0);
        FL_CHECK_INT(ranged.dropped, ==, PER_PARTITION);
        FL_CHECK_INT(whole.dropped, ==, PER_PARTITION);
        FL_CHECK_INT(s_entries(a, dbi_a), ==, s_entries(b, dbi_b));
        for (size_t i = 0; i < LAYOUT_COUNT; i++) {
            uint8_t sum_a[32], sum_b[32];
            size_t count_a = 0, count_b = 0;
            s_checksum(a, dbi_a, s_layout[i], sum_a, &count_a);
            s_checksum(b, dbi_b, s_layout[i], sum_b, &count_b);
            FL_CHECK_INT(count_a, ==, s_layout[i] == victims[v] ? 0 : PER_PARTITION);
            FL_CHECK_INT(count_a, ==, count_b);
            FL_CHECK(memcmp(sum_a, sum_b, 32) == 0);
        }
        fl_store_destroy(&a);
        fl_store_destroy(&b);
    }
}
