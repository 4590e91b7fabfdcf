/*  tests/unit/test_changes.c — change capture for replicas: what the
 *  codec's puts and deletes record in the change set installed on the
 *  thread, taking records back to a mark, clearing, capture per thread,
 *  and a destroyed set that stops capture.
 */
#include "tests/testlib.h"
#include "storage/changes.h"
#include "storage/codec.h"
#include "storage/keyspace.h"
#include "storage/store.h"
#include "node/error.h"

#include "cluster.pb-c.h"

#include <pthread.h>
#include <stdbool.h>
#include <sys/stat.h>

#define OPS_MAX 16

static fl_store_t *
s_open(const char *name, MDB_dbi *records_p, MDB_dbi *other_p)
{
    char dir[512];
    snprintf(dir, sizeof dir, "%s/%s", fl_test_tmpdir(), name);
    mkdir(dir, 0700);
    fl_store_t *store = NULL;
    FL_CHECK_INT(fl_store_open(dir, NULL, &store), ==, 0);
    FL_CHECK_INT(fl_store_dbi_partitioned(store, "records", records_p), ==, 0);
    if (other_p) {
        FL_CHECK_INT(fl_store_dbi_partitioned(store, "other", other_p), ==, 0);
        FL_CHECK(*other_p != *records_p);
    }
    return store;
}

/*  ------------------------------------------------------------------
 *  Batches of puts and deletes through the codec  */

typedef enum { OP_PUT, OP_DEL, OP_CURSOR_DEL } s_kind_t;

typedef struct {
    s_kind_t kind;
    MDB_dbi dbi;
    uint16_t partition;
    const char *suffix;
    uint64_t count;                     /* OP_PUT: the value's field */
} s_op_t;

typedef struct {
    const s_op_t *ops;
    size_t n;
    int rc[OPS_MAX];                    /* each op's own code */
} s_batch_t;

static size_t
s_key(uint16_t partition, const char *suffix, uint8_t *buf, size_t cap)
{
    int len = fl_keyspace_key(partition, suffix, strlen(suffix), buf, cap);
    FL_CHECK(len >= FL_KEYSPACE_PREFIX);
    return (size_t) len;
}

static int
s_cursor_del(MDB_txn *txn, MDB_dbi dbi, MDB_val *key)
{
    MDB_cursor *cursor = NULL;
    int rc = mdb_cursor_open(txn, dbi, &cursor);
    if (rc)
        return rc;
    MDB_val value;
    rc = mdb_cursor_get(cursor, key, &value, MDB_SET);
    if (rc == 0)
        rc = fl_codec_cursor_del(cursor);
    mdb_cursor_close(cursor);
    return rc;
}

static int
s_batch_apply(MDB_txn *txn, void *arg)
{
    s_batch_t *b = arg;
    for (size_t i = 0; i < b->n; i++) {
        const s_op_t *op = &b->ops[i];
        uint8_t buf[FL_KEYSPACE_KEY_MAX];
        MDB_val key = { s_key(op->partition, op->suffix, buf, sizeof buf), buf };
        int rc;
        if (op->kind == OP_PUT) {
            Flow__Cluster__ReplicaIncarnation msg = FLOW__CLUSTER__REPLICA_INCARNATION__INIT;
            msg.count = op->count;
            rc = fl_codec_put(txn, op->dbi, &key, &msg.base);
        }
        else
        if (op->kind == OP_DEL)
            rc = fl_codec_del(txn, op->dbi, &key);
        else
            rc = s_cursor_del(txn, op->dbi, &key);
        b->rc[i] = rc;
        if (rc != 0 && rc != MDB_NOTFOUND)
            return rc;
    }
    return 0;
}

/*  Runs OPS (N) in one write; RC (may be NULL) gets each op's code.  */
static void
s_write(fl_store_t *store, const s_op_t *ops, size_t n, int *rc)
{
    FL_CHECK(n <= OPS_MAX);
    s_batch_t b = { .ops = ops, .n = n };
    FL_CHECK_INT(fl_store_write(store, s_batch_apply, &b), ==, 0);
    if (rc)
        memcpy(rc, b.rc, n * sizeof *rc);
}

static void
s_put(fl_store_t *store, MDB_dbi dbi, uint16_t partition, const char *suffix, uint64_t count)
{
    s_op_t op = { OP_PUT, dbi, partition, suffix, count };
    s_write(store, &op, 1, NULL);
}

/*  Whether KEY is stored in DBI.  */
static bool
s_exists(fl_store_t *store, MDB_dbi dbi, uint16_t partition, const char *suffix)
{
    uint8_t buf[FL_KEYSPACE_KEY_MAX];
    MDB_val key = { s_key(partition, suffix, buf, sizeof buf), buf }, value;
    MDB_txn *txn = NULL;
    FL_CHECK_INT(fl_store_read_begin(store, &txn), ==, 0);
    int rc = mdb_get(txn, dbi, &key, &value);
    fl_store_read_end(store, &txn);
    FL_CHECK(rc == 0 || rc == MDB_NOTFOUND);
    return rc == 0;
}

/*  ------------------------------------------------------------------
 *  What a record must hold  */

static void
s_check_key(const fl_change_t *c, MDB_dbi dbi, uint16_t partition, const char *suffix)
{
    uint8_t buf[FL_KEYSPACE_KEY_MAX];
    size_t len = s_key(partition, suffix, buf, sizeof buf);
    FL_CHECK(c != NULL);
    FL_CHECK_INT(c->dbi, ==, dbi);
    FL_CHECK_INT(c->key.mv_size, ==, len);
    FL_CHECK(c->key.mv_data != NULL);
    FL_CHECK(memcmp(c->key.mv_data, buf, len) == 0);
}

/*  Record I of CHANGES is the put of COUNT under (PARTITION, SUFFIX) in
 *  DBI, its value the message's protobuf packing.  */
static void
s_check_put(const fl_changes_t *changes, size_t i, MDB_dbi dbi, uint16_t partition,
            const char *suffix, uint64_t count)
{
    FL_CHECK(i < fl_changes_count(changes));
    const fl_change_t *c = fl_changes_get(changes, i);
    s_check_key(c, dbi, partition, suffix);
    Flow__Cluster__ReplicaIncarnation msg = FLOW__CLUSTER__REPLICA_INCARNATION__INIT;
    msg.count = count;
    uint8_t packed[64];
    size_t len = protobuf_c_message_get_packed_size(&msg.base);
    FL_CHECK(len <= sizeof packed);
    FL_CHECK_INT(protobuf_c_message_pack(&msg.base, packed), ==, len);
    FL_CHECK(c->value.mv_data != NULL);
    FL_CHECK_INT(c->value.mv_size, ==, len);
    FL_CHECK(memcmp(c->value.mv_data, packed, len) == 0);
}

/*  Record I of CHANGES is the deletion of (PARTITION, SUFFIX) in DBI.  */
static void
s_check_del(const fl_changes_t *changes, size_t i, MDB_dbi dbi, uint16_t partition,
            const char *suffix)
{
    FL_CHECK(i < fl_changes_count(changes));
    const fl_change_t *c = fl_changes_get(changes, i);
    s_check_key(c, dbi, partition, suffix);
    FL_CHECK(c->value.mv_data == NULL);
    FL_CHECK_INT(c->value.mv_size, ==, 0);
}

/*  ------------------------------------------------------------------
 *  The tests  */

FL_TEST(nothing_is_recorded_when_no_change_set_is_installed)
{
    MDB_dbi dbi;
    fl_store_t *store = s_open("none", &dbi, NULL);
    fl_changes_t *changes = fl_changes_new();
    FL_CHECK(changes != NULL);
    FL_CHECK_INT(fl_changes_count(changes), ==, 0);

    /*  A set that exists but is not installed.  */
    s_put(store, dbi, 3, "a", 7);
    s_op_t del = { OP_DEL, dbi, 3, "a", 0 };
    s_write(store, &del, 1, NULL);
    FL_CHECK_INT(fl_changes_count(changes), ==, 0);

    /*  Installed, then taken off.  */
    fl_changes_capture(changes);
    fl_changes_capture(NULL);
    s_put(store, dbi, 3, "b", 8);
    fl_changes_note(dbi, &(MDB_val) { 3, "\0\3x" }, NULL);
    FL_CHECK_INT(fl_changes_count(changes), ==, 0);
    FL_CHECK(s_exists(store, dbi, 3, "b"));

    fl_changes_destroy(&changes);
    FL_CHECK(changes == NULL);
    fl_store_destroy(&store);
}

FL_TEST(codec_put_records_dbi_key_and_packed_value_in_order)
{
    MDB_dbi records, other;
    fl_store_t *store = s_open("put", &records, &other);
    fl_changes_t *changes = fl_changes_new();
    fl_changes_capture(changes);
    const s_op_t ops[] = {
        { OP_PUT, records, 5, "user:1", 1 },
        { OP_PUT, other, 0x1234, "event:longer-suffix", 300 },
        { OP_PUT, records, 5, "user:1", UINT64_MAX },       /* the same key again */
        { OP_PUT, records, 0, "", 42 },                     /* the prefix alone */
    };
    s_write(store, ops, 4, NULL);
    fl_changes_capture(NULL);

    FL_CHECK_INT(fl_changes_count(changes), ==, 4);
    for (size_t i = 0; i < 4; i++)
        s_check_put(changes, i, ops[i].dbi, ops[i].partition, ops[i].suffix, ops[i].count);

    /*  The partition prefix is big-endian.  */
    const uint8_t *key = fl_changes_get(changes, 1)->key.mv_data;
    FL_CHECK_INT(key[0], ==, 0x12);
    FL_CHECK_INT(key[1], ==, 0x34);
    fl_changes_destroy(&changes);
    fl_store_destroy(&store);
}

FL_TEST(put_of_a_message_that_packs_to_nothing_is_not_a_deletion)
{
    MDB_dbi dbi;
    fl_store_t *store = s_open("empty", &dbi, NULL);
    fl_changes_t *changes = fl_changes_new();
    fl_changes_capture(changes);
    s_put(store, dbi, 2, "zero", 0);            /* proto3: count 0 packs to 0 bytes */
    fl_changes_capture(NULL);
    FL_CHECK_INT(fl_changes_count(changes), ==, 1);
    s_check_put(changes, 0, dbi, 2, "zero", 0);
    FL_CHECK_INT(fl_changes_get(changes, 0)->value.mv_size, ==, 0);
    fl_changes_destroy(&changes);
    fl_store_destroy(&store);
}

FL_TEST(codec_del_of_an_existing_key_records_a_deletion)
{
    MDB_dbi dbi;
    fl_store_t *store = s_open("del", &dbi, NULL);
    s_put(store, dbi, 9, "gone", 4);
    fl_changes_t *changes = fl_changes_new();
    fl_changes_capture(changes);
    s_op_t del = { OP_DEL, dbi, 9, "gone", 0 };
    int rc = -1;
    s_write(store, &del, 1, &rc);
    fl_changes_capture(NULL);
    FL_CHECK_INT(rc, ==, 0);
    FL_CHECK(!s_exists(store, dbi, 9, "gone"));
    FL_CHECK_INT(fl_changes_count(changes), ==, 1);
    s_check_del(changes, 0, dbi, 9, "gone");
    fl_changes_destroy(&changes);
    fl_store_destroy(&store);
}

FL_TEST(codec_del_of_a_missing_key_records_nothing)
{
    MDB_dbi dbi;
    fl_store_t *store = s_open("missing", &dbi, NULL);
    s_put(store, dbi, 9, "here", 4);
    fl_changes_t *changes = fl_changes_new();
    fl_changes_capture(changes);
    const s_op_t ops[] = {
        { OP_DEL, dbi, 9, "absent", 0 },
        { OP_PUT, dbi, 9, "new", 5 },
        { OP_DEL, dbi, 10, "here", 0 },         /* the suffix, in another partition */
    };
    int rc[3] = { -1, -1, -1 };
    s_write(store, ops, 3, rc);
    fl_changes_capture(NULL);
    FL_CHECK_INT(rc[0], ==, MDB_NOTFOUND);
    FL_CHECK_INT(rc[2], ==, MDB_NOTFOUND);
    FL_CHECK(s_exists(store, dbi, 9, "here"));
    FL_CHECK_INT(fl_changes_count(changes), ==, 1);
    s_check_put(changes, 0, dbi, 9, "new", 5);
    fl_changes_destroy(&changes);
    fl_store_destroy(&store);
}

FL_TEST(codec_cursor_del_records_the_key_the_cursor_was_on)
{
    MDB_dbi dbi;
    fl_store_t *store = s_open("cursor", &dbi, NULL);
    s_put(store, dbi, 4, "k1", 1);
    s_put(store, dbi, 4, "k2-middle", 2);
    s_put(store, dbi, 4, "k3", 3);
    fl_changes_t *changes = fl_changes_new();
    fl_changes_capture(changes);
    const s_op_t ops[] = {
        { OP_CURSOR_DEL, dbi, 4, "k2-middle", 0 },
        { OP_CURSOR_DEL, dbi, 4, "k3", 0 },     /* the last record */
    };
    int rc[2] = { -1, -1 };
    s_write(store, ops, 2, rc);
    fl_changes_capture(NULL);
    FL_CHECK_INT(rc[0], ==, 0);
    FL_CHECK_INT(rc[1], ==, 0);
    FL_CHECK(s_exists(store, dbi, 4, "k1"));
    FL_CHECK(!s_exists(store, dbi, 4, "k2-middle"));
    FL_CHECK(!s_exists(store, dbi, 4, "k3"));
    FL_CHECK_INT(fl_changes_count(changes), ==, 2);
    s_check_del(changes, 0, dbi, 4, "k2-middle");
    s_check_del(changes, 1, dbi, 4, "k3");
    fl_changes_destroy(&changes);
    fl_store_destroy(&store);
}

FL_TEST(truncate_forgets_the_records_from_the_mark_on)
{
    MDB_dbi dbi;
    fl_store_t *store = s_open("truncate", &dbi, NULL);
    fl_changes_t *changes = fl_changes_new();
    fl_changes_capture(changes);
    s_put(store, dbi, 1, "first", 10);
    s_put(store, dbi, 1, "second", 20);
    size_t mark = fl_changes_count(changes);
    FL_CHECK_INT(mark, ==, 2);
    s_put(store, dbi, 1, "third", 30);
    s_put(store, dbi, 1, "fourth", 40);
    FL_CHECK_INT(fl_changes_count(changes), ==, 4);

    /*  A mark at or past the end changes nothing.  */
    fl_changes_truncate(changes, 4);
    fl_changes_truncate(changes, 99);
    FL_CHECK_INT(fl_changes_count(changes), ==, 4);

    fl_changes_truncate(changes, mark);
    fl_changes_capture(NULL);
    FL_CHECK_INT(fl_changes_count(changes), ==, 2);
    s_check_put(changes, 0, dbi, 1, "first", 10);
    s_check_put(changes, 1, dbi, 1, "second", 20);

    fl_changes_truncate(changes, 0);
    FL_CHECK_INT(fl_changes_count(changes), ==, 0);
    fl_changes_destroy(&changes);
    fl_store_destroy(&store);
}

FL_TEST(notes_after_a_truncate_append_with_their_own_keys_and_values)
{
    MDB_dbi records, other;
    fl_store_t *store = s_open("append", &records, &other);
    s_put(store, records, 6, "old", 1);
    fl_changes_t *changes = fl_changes_new();
    fl_changes_capture(changes);
    s_put(store, records, 6, "kept", 111);
    size_t mark = fl_changes_count(changes);
    /*  Records taken back: long keys and values, and a deletion.  */
    s_put(store, records, 6, "taken-back-with-a-much-longer-key", UINT64_MAX);
    s_op_t del = { OP_DEL, records, 6, "old", 0 };
    s_write(store, &del, 1, NULL);
    fl_changes_truncate(changes, mark);
    FL_CHECK_INT(fl_changes_count(changes), ==, 1);

    /*  What comes after lands where the forgotten records were.  */
    s_put(store, other, 7, "x", 2);
    s_op_t del2 = { OP_DEL, records, 6, "kept", 0 };
    s_write(store, &del2, 1, NULL);
    s_put(store, records, 8, "after", 333333);
    fl_changes_capture(NULL);

    FL_CHECK_INT(fl_changes_count(changes), ==, 4);
    s_check_put(changes, 0, records, 6, "kept", 111);
    s_check_put(changes, 1, other, 7, "x", 2);
    s_check_del(changes, 2, records, 6, "kept");
    s_check_put(changes, 3, records, 8, "after", 333333);
    fl_changes_destroy(&changes);
    fl_store_destroy(&store);
}

FL_TEST(clear_forgets_every_record_and_capture_goes_on)
{
    MDB_dbi dbi;
    fl_store_t *store = s_open("clear", &dbi, NULL);
    fl_changes_t *changes = fl_changes_new();
    fl_changes_capture(changes);
    s_put(store, dbi, 1, "a", 1);
    s_put(store, dbi, 1, "b", 2);
    fl_changes_clear(changes);
    FL_CHECK_INT(fl_changes_count(changes), ==, 0);

    /*  Still installed: the next writes are recorded from the start.  */
    s_put(store, dbi, 2, "c-longer", 3);
    fl_changes_capture(NULL);
    FL_CHECK_INT(fl_changes_count(changes), ==, 1);
    s_check_put(changes, 0, dbi, 2, "c-longer", 3);

    fl_changes_clear(changes);
    FL_CHECK_INT(fl_changes_count(changes), ==, 0);
    fl_changes_destroy(&changes);
    fl_store_destroy(&store);
}

FL_TEST(records_survive_the_growth_of_the_change_set)
{
    /*  Past the first 64 records and the first 4096 bytes.  */
    fl_changes_t *changes = fl_changes_new();
    fl_changes_capture(changes);
    enum { RECORDS = 300, VALUE = 100 };
    for (uint32_t i = 0; i < RECORDS; i++) {
        uint8_t key[6] = { (uint8_t) (i >> 8), (uint8_t) i, 'k', (uint8_t) i, (uint8_t) (i >> 8), 'z' };
        uint8_t value[VALUE];
        memset(value, (int) (i & 0xFF), sizeof value);
        MDB_val k = { sizeof key, key }, v = { (size_t) (i % VALUE), value };
        fl_changes_note((MDB_dbi) (i % 3 + 1), &k, i % 7 == 0 ? NULL : &v);
    }
    fl_changes_capture(NULL);
    FL_CHECK_INT(fl_changes_count(changes), ==, RECORDS);
    for (uint32_t i = 0; i < RECORDS; i++) {
        const fl_change_t *c = fl_changes_get(changes, i);
        uint8_t key[6] = { (uint8_t) (i >> 8), (uint8_t) i, 'k', (uint8_t) i, (uint8_t) (i >> 8), 'z' };
        FL_CHECK_INT(c->dbi, ==, i % 3 + 1);
        FL_CHECK_INT(c->key.mv_size, ==, sizeof key);
        FL_CHECK(memcmp(c->key.mv_data, key, sizeof key) == 0);
        if (i % 7 == 0) {
            FL_CHECK(c->value.mv_data == NULL);
            continue;
        }
        FL_CHECK(c->value.mv_data != NULL);
        FL_CHECK_INT(c->value.mv_size, ==, i % VALUE);
        for (size_t j = 0; j < c->value.mv_size; j++)
            FL_CHECK_INT(((const uint8_t *) c->value.mv_data)[j], ==, i & 0xFF);
    }
    fl_changes_destroy(&changes);
}

typedef struct {
    fl_store_t *store;
    MDB_dbi dbi;
    fl_changes_t *changes;              /* installed on the other thread, or NULL */
    size_t count;                       /* what it recorded */
} s_thread_t;

static void *
s_other_thread(void *arg)
{
    s_thread_t *t = arg;
    fl_changes_capture(t->changes);
    s_put(t->store, t->dbi, 11, "from-the-other-thread", 77);
    t->count = t->changes ? fl_changes_count(t->changes) : 0;
    fl_changes_capture(NULL);
    return NULL;
}

FL_TEST(capture_is_per_thread)
{
    MDB_dbi dbi;
    fl_store_t *store = s_open("threads", &dbi, NULL);
    fl_changes_t *changes = fl_changes_new();
    fl_changes_capture(changes);

    /*  Another thread with no set of its own: not recorded here.  */
    s_thread_t t = { store, dbi, NULL, 0 };
    pthread_t thread;
    FL_CHECK_INT(pthread_create(&thread, NULL, s_other_thread, &t), ==, 0);
    FL_CHECK_INT(pthread_join(thread, NULL), ==, 0);
    FL_CHECK(s_exists(store, dbi, 11, "from-the-other-thread"));
    FL_CHECK_INT(fl_changes_count(changes), ==, 0);

    /*  Another thread with its own set: its write in its set only.  */
    fl_changes_t *theirs = fl_changes_new();
    t.changes = theirs;
    FL_CHECK_INT(pthread_create(&thread, NULL, s_other_thread, &t), ==, 0);
    FL_CHECK_INT(pthread_join(thread, NULL), ==, 0);
    FL_CHECK_INT(t.count, ==, 1);
    FL_CHECK_INT(fl_changes_count(changes), ==, 0);
    s_check_put(theirs, 0, dbi, 11, "from-the-other-thread", 77);

    /*  This thread still captures.  */
    s_put(store, dbi, 12, "mine", 5);
    fl_changes_capture(NULL);
    FL_CHECK_INT(fl_changes_count(changes), ==, 1);
    s_check_put(changes, 0, dbi, 12, "mine", 5);
    FL_CHECK_INT(fl_changes_count(theirs), ==, 1);
    fl_changes_destroy(&theirs);
    fl_changes_destroy(&changes);
    fl_store_destroy(&store);
}

FL_TEST(destroying_the_installed_set_stops_capture)
{
    MDB_dbi dbi;
    fl_store_t *store = s_open("destroy", &dbi, NULL);
    fl_changes_t *changes = fl_changes_new();
    fl_changes_capture(changes);
    s_put(store, dbi, 1, "before", 1);
    fl_changes_destroy(&changes);
    FL_CHECK(changes == NULL);

    /*  Writes after it go unrecorded, and touch no freed memory.  */
    s_put(store, dbi, 1, "after", 2);
    s_op_t del = { OP_DEL, dbi, 1, "before", 0 };
    s_write(store, &del, 1, NULL);
    FL_CHECK(s_exists(store, dbi, 1, "after"));

    /*  A set installed later records only what follows.  */
    fl_changes_t *next = fl_changes_new();
    fl_changes_capture(next);
    s_put(store, dbi, 1, "next", 3);
    fl_changes_capture(NULL);
    FL_CHECK_INT(fl_changes_count(next), ==, 1);
    s_check_put(next, 0, dbi, 1, "next", 3);
    fl_changes_destroy(&next);
    fl_changes_destroy(&next);          /* NULL-safe */
    fl_store_destroy(&store);
}

FL_TEST(destroying_a_set_that_is_not_installed_leaves_capture_alone)
{
    MDB_dbi dbi;
    fl_store_t *store = s_open("destroy_other", &dbi, NULL);
    fl_changes_t *installed = fl_changes_new();
    fl_changes_t *idle = fl_changes_new();
    fl_changes_capture(installed);
    fl_changes_destroy(&idle);
    s_put(store, dbi, 1, "still", 1);
    fl_changes_capture(NULL);
    FL_CHECK_INT(fl_changes_count(installed), ==, 1);
    s_check_put(installed, 0, dbi, 1, "still", 1);
    fl_changes_destroy(&installed);
    fl_store_destroy(&store);
}
