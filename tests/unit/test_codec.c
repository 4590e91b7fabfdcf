/*  tests/unit/test_codec.c — protobuf records packed into and unpacked
 *  from LMDB, including bytes that do not decode and a full map.
 */
#include "tests/testlib.h"
#include "storage/codec.h"
#include "storage/store.h"
#include "node/error.h"

#include "storage.pb-c.h"

#include <sys/stat.h>

#define MIB ((size_t) 1 << 20)

typedef struct {
    MDB_dbi dbi;
    MDB_val key;
    const ProtobufCMessage *msg;
    const void *raw;
    size_t raw_len;
} s_put_t;

static int
s_put_apply(MDB_txn *txn, void *arg)
{
    s_put_t *put = arg;
    if (put->msg)
        return fl_codec_put(txn, put->dbi, &put->key, put->msg);
    MDB_val data = { .mv_size = put->raw_len, .mv_data = (void *) put->raw };
    return mdb_put(txn, put->dbi, &put->key, &data, 0);
}

static fl_store_t *
s_open(const char *name, MDB_dbi *dbi_p)
{
    char dir[512];
    snprintf(dir, sizeof dir, "%s/%s", fl_test_tmpdir(), name);
    mkdir(dir, 0700);
    fl_store_t *store = NULL;
    FL_CHECK_INT(fl_store_open(dir, NULL, &store), ==, 0);
    FL_CHECK_INT(fl_store_dbi(store, "nodes", dbi_p), ==, 0);
    return store;
}

static int
s_get(fl_store_t *store, MDB_dbi dbi, const char *key, Flow__Storage__NodeMeta **meta_p)
{
    MDB_txn *txn = NULL;
    FL_CHECK_INT(fl_store_read_begin(store, &txn), ==, 0);
    MDB_val k = { .mv_size = strlen(key), .mv_data = (void *) key };
    ProtobufCMessage *msg = NULL;
    int rc = fl_codec_get(txn, dbi, &k, &flow__storage__node_meta__descriptor, &msg);
    fl_store_read_end(store, &txn);
    *meta_p = (Flow__Storage__NodeMeta *) msg;
    return rc;
}

static int
s_put_meta(fl_store_t *store, MDB_dbi dbi, const char *key, const Flow__Storage__NodeMeta *meta)
{
    s_put_t put = { .dbi = dbi, .key = { strlen(key), (void *) key }, .msg = &meta->base };
    return fl_store_write(store, s_put_apply, &put);
}

static int
s_put_raw(fl_store_t *store, MDB_dbi dbi, const char *key, const void *raw, size_t len)
{
    s_put_t put = { .dbi = dbi, .key = { strlen(key), (void *) key }, .raw = raw, .raw_len = len };
    return fl_store_write(store, s_put_apply, &put);
}

FL_TEST(record_round_trips)
{
    MDB_dbi dbi;
    fl_store_t *store = s_open("round", &dbi);
    Flow__Storage__NodeMeta meta = FLOW__STORAGE__NODE_META__INIT;
    meta.record_version = 1;
    meta.node_id = "node-a";
    meta.partitions = 1024;
    meta.created_ms = 1790000000123ULL;
    FL_CHECK_INT(s_put_meta(store, dbi, "\x03\xe8node", &meta), ==, 0);

    Flow__Storage__NodeMeta *got = NULL;
    FL_CHECK_INT(s_get(store, dbi, "\x03\xe8node", &got), ==, 0);
    FL_CHECK_INT(got->record_version, ==, 1);
    FL_CHECK_STR(got->node_id, "node-a");
    FL_CHECK_INT(got->partitions, ==, 1024);
    FL_CHECK(got->created_ms == 1790000000123ULL);
    protobuf_c_message_free_unpacked(&got->base, NULL);
    fl_store_destroy(&store);
}

FL_TEST(empty_record_round_trips)
{
    MDB_dbi dbi;
    fl_store_t *store = s_open("empty", &dbi);
    Flow__Storage__NodeMeta meta = FLOW__STORAGE__NODE_META__INIT;
    FL_CHECK_INT(protobuf_c_message_get_packed_size(&meta.base), ==, 0);
    FL_CHECK_INT(s_put_meta(store, dbi, "ab", &meta), ==, 0);
    Flow__Storage__NodeMeta *got = NULL;
    FL_CHECK_INT(s_get(store, dbi, "ab", &got), ==, 0);
    FL_CHECK_INT(got->partitions, ==, 0);
    FL_CHECK_STR(got->node_id, "");
    protobuf_c_message_free_unpacked(&got->base, NULL);
    fl_store_destroy(&store);
}

FL_TEST(put_replaces_the_record)
{
    MDB_dbi dbi;
    fl_store_t *store = s_open("replace", &dbi);
    Flow__Storage__NodeMeta meta = FLOW__STORAGE__NODE_META__INIT;
    meta.node_id = "a much longer first identifier";
    FL_CHECK_INT(s_put_meta(store, dbi, "ab", &meta), ==, 0);
    meta.node_id = "b";
    FL_CHECK_INT(s_put_meta(store, dbi, "ab", &meta), ==, 0);
    Flow__Storage__NodeMeta *got = NULL;
    FL_CHECK_INT(s_get(store, dbi, "ab", &got), ==, 0);
    FL_CHECK_STR(got->node_id, "b");
    protobuf_c_message_free_unpacked(&got->base, NULL);
    fl_store_destroy(&store);
}

FL_TEST(missing_record_is_not_found)
{
    MDB_dbi dbi;
    fl_store_t *store = s_open("missing", &dbi);
    Flow__Storage__NodeMeta *got = NULL;
    FL_CHECK_INT(s_get(store, dbi, "nobody", &got), ==, FL_E_NOTFOUND);
    FL_CHECK(got == NULL);
    fl_store_destroy(&store);
}

FL_TEST(undecodable_bytes_are_corrupt)
{
    MDB_dbi dbi;
    fl_store_t *store = s_open("garbage", &dbi);
    FL_CHECK_INT(s_put_raw(store, dbi, "ab", "\xff\xff\xff\xff\xff", 5), ==, 0);
    Flow__Storage__NodeMeta *got = NULL;
    FL_CHECK_INT(s_get(store, dbi, "ab", &got), ==, FL_E_CORRUPT);
    FL_CHECK(got == NULL);
    fl_store_destroy(&store);
}

FL_TEST(truncated_record_is_corrupt)
{
    MDB_dbi dbi;
    fl_store_t *store = s_open("truncated", &dbi);
    Flow__Storage__NodeMeta meta = FLOW__STORAGE__NODE_META__INIT;
    meta.node_id = "node-a";
    uint8_t buf[64];
    size_t len = flow__storage__node_meta__pack(&meta, buf);
    FL_CHECK_INT(s_put_raw(store, dbi, "ab", buf, len - 1), ==, 0);
    Flow__Storage__NodeMeta *got = NULL;
    FL_CHECK_INT(s_get(store, dbi, "ab", &got), ==, FL_E_CORRUPT);
    fl_store_destroy(&store);
}

FL_TEST(key_too_long_is_refused)
{
    MDB_dbi dbi;
    fl_store_t *store = s_open("longkey", &dbi);
    char key[600];
    memset(key, 'k', sizeof key - 1);
    key[sizeof key - 1] = 0;
    Flow__Storage__NodeMeta meta = FLOW__STORAGE__NODE_META__INIT;
    meta.node_id = "x";
    FL_CHECK_INT(s_put_meta(store, dbi, key, &meta), ==, FL_E_TOOBIG);
    key[511] = 0;
    FL_CHECK_INT(s_put_meta(store, dbi, key, &meta), ==, 0);
    fl_store_destroy(&store);
}

FL_TEST(map_full_is_passed_through)
{
    char path[512];
    snprintf(path, sizeof path, "%s/raw", fl_test_tmpdir());
    mkdir(path, 0700);
    MDB_env *env = NULL;
    MDB_txn *txn = NULL;
    MDB_dbi dbi;
    FL_CHECK_INT(mdb_env_create(&env), ==, 0);
    FL_CHECK_INT(mdb_env_set_mapsize(env, MIB), ==, 0);
    FL_CHECK_INT(mdb_env_open(env, path, MDB_NOSYNC, 0600), ==, 0);
    FL_CHECK_INT(mdb_txn_begin(env, NULL, 0, &txn), ==, 0);
    FL_CHECK_INT(mdb_dbi_open(txn, NULL, 0, &dbi), ==, 0);

    char *big = malloc(2 * MIB);
    FL_CHECK(big);
    memset(big, 'n', 2 * MIB - 1);
    big[2 * MIB - 1] = 0;
    Flow__Storage__NodeMeta meta = FLOW__STORAGE__NODE_META__INIT;
    meta.node_id = big;
    MDB_val key = { .mv_size = 2, .mv_data = "ab" };
    FL_CHECK_INT(fl_codec_put(txn, dbi, &key, &meta.base), ==, MDB_MAP_FULL);
    mdb_txn_abort(txn);
    mdb_env_close(env);
    free(big);
}

FL_TEST(map_full_lets_the_store_grow)
{
    MDB_dbi dbi;
    char dir[512];
    snprintf(dir, sizeof dir, "%s/grow", fl_test_tmpdir());
    mkdir(dir, 0700);
    fl_store_opts_t opts = { .map_size = MIB };
    fl_store_t *store = NULL;
    FL_CHECK_INT(fl_store_open(dir, &opts, &store), ==, 0);
    FL_CHECK_INT(fl_store_dbi(store, "nodes", &dbi), ==, 0);
    char *big = malloc(2 * MIB);
    FL_CHECK(big);
    memset(big, 'n', 2 * MIB - 1);
    big[2 * MIB - 1] = 0;
    Flow__Storage__NodeMeta meta = FLOW__STORAGE__NODE_META__INIT;
    meta.node_id = big;
    FL_CHECK_INT(s_put_meta(store, dbi, "ab", &meta), ==, 0);
    Flow__Storage__NodeMeta *got = NULL;
    FL_CHECK_INT(s_get(store, dbi, "ab", &got), ==, 0);
    FL_CHECK_INT(strlen(got->node_id), ==, 2 * MIB - 1);
    protobuf_c_message_free_unpacked(&got->base, NULL);
    fl_store_stats_t stats;
    fl_store_stats(store, &stats);
    FL_CHECK_INT(stats.growths, >=, 1);
    free(big);
    fl_store_destroy(&store);
}
