/*  tests/unit/test_store.c — the LMDB environment: schema record and its
 *  refusal, named databases, group commit all-or-nothing, map growth
 *  (alone, at its limit, under concurrent readers, by another process) and
 *  stale reader slots.
 */
#include "tests/testlib.h"
#include "storage/store.h"
#include "storage/codec.h"
#include "node/error.h"
#include "node/log.h"

#include "storage.pb-c.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define DB "records"
#define VALUE_BYTES 200
#define MIB ((size_t) 1 << 20)

static const char *
s_dir(const char *name)
{
    static char dir[512];
    snprintf(dir, sizeof dir, "%s/%s", fl_test_tmpdir(), name);
    mkdir(dir, 0700);
    return dir;
}

/*  Batch BATCH: COUNT records "bBATCH-I" with values derived from both,
 *  plus the record "last" holding BATCH.  FAIL_WITH (when non-zero) is
 *  returned after the records are put.  */
typedef struct {
    MDB_dbi dbi;
    uint32_t batch;
    uint32_t count;
    int fail_with;
} s_batch_t;

static size_t
s_key(char *buf, size_t cap, uint32_t batch, uint32_t i)
{
    return (size_t) snprintf(buf, cap, "b%06u-%05u", batch, i);
}

static void
s_value(uint8_t value[VALUE_BYTES], uint32_t batch, uint32_t i)
{
    for (int j = 0; j < VALUE_BYTES; j++)
        value[j] = (uint8_t) (batch * 31 + i * 7 + (uint32_t) j);
}

static int
s_batch_apply(MDB_txn *txn, void *arg)
{
    const s_batch_t *b = arg;
    for (uint32_t i = 0; i < b->count; i++) {
        char kbuf[32];
        uint8_t value[VALUE_BYTES];
        s_value(value, b->batch, i);
        MDB_val key = { .mv_size = s_key(kbuf, sizeof kbuf, b->batch, i), .mv_data = kbuf };
        MDB_val data = { .mv_size = VALUE_BYTES, .mv_data = value };
        int rc = mdb_put(txn, b->dbi, &key, &data, 0);
        if (rc != 0)
            return rc;
    }
    MDB_val key = { .mv_size = 4, .mv_data = "last" };
    MDB_val data = { .mv_size = sizeof b->batch, .mv_data = (void *) &b->batch };
    int rc = mdb_put(txn, b->dbi, &key, &data, 0);
    if (rc != 0)
        return rc;
    return b->fail_with;
}

/*  Whether record I of BATCH is present with its value.  */
static bool
s_has(MDB_txn *txn, MDB_dbi dbi, uint32_t batch, uint32_t i)
{
    char kbuf[32];
    uint8_t expect[VALUE_BYTES];
    s_value(expect, batch, i);
    MDB_val key = { .mv_size = s_key(kbuf, sizeof kbuf, batch, i), .mv_data = kbuf };
    MDB_val data;
    if (mdb_get(txn, dbi, &key, &data) != 0)
        return false;
    return data.mv_size == VALUE_BYTES && memcmp(data.mv_data, expect, VALUE_BYTES) == 0;
}

/*  How many records of BATCH (out of COUNT) are present and intact.  */
static uint32_t
s_count_batch(fl_store_t *store, MDB_dbi dbi, uint32_t batch, uint32_t count)
{
    MDB_txn *txn = NULL;
    FL_CHECK_INT(fl_store_read_begin(store, &txn), ==, 0);
    uint32_t present = 0;
    for (uint32_t i = 0; i < count; i++)
        present += s_has(txn, dbi, batch, i);
    fl_store_read_end(store, &txn);
    return present;
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

static Flow__Storage__StoreMeta *
s_read_schema(fl_store_t *store)
{
    MDB_dbi meta;
    FL_CHECK_INT(fl_store_dbi(store, "meta", &meta), ==, 0);
    MDB_txn *txn = NULL;
    FL_CHECK_INT(fl_store_read_begin(store, &txn), ==, 0);
    MDB_val key = { .mv_size = 6, .mv_data = "schema" };
    ProtobufCMessage *msg = NULL;
    FL_CHECK_INT(fl_codec_get(txn, meta, &key, &flow__storage__store_meta__descriptor, &msg), ==, 0);
    fl_store_read_end(store, &txn);
    return (Flow__Storage__StoreMeta *) msg;
}

/*  Writes VALUE as the raw schema record, behind the store's back.  */
static void
s_write_raw_schema(const char *dir, const void *value, size_t len)
{
    char path[600];
    snprintf(path, sizeof path, "%s/store", dir);
    mkdir(path, 0700);
    MDB_env *env = NULL;
    MDB_txn *txn = NULL;
    MDB_dbi dbi;
    FL_CHECK_INT(mdb_env_create(&env), ==, 0);
    FL_CHECK_INT(mdb_env_set_maxdbs(env, 4), ==, 0);
    FL_CHECK_INT(mdb_env_open(env, path, 0, 0600), ==, 0);
    FL_CHECK_INT(mdb_txn_begin(env, NULL, 0, &txn), ==, 0);
    FL_CHECK_INT(mdb_dbi_open(txn, "meta", MDB_CREATE, &dbi), ==, 0);
    MDB_val key = { .mv_size = 6, .mv_data = "schema" };
    MDB_val data = { .mv_size = len, .mv_data = (void *) value };
    FL_CHECK_INT(mdb_put(txn, dbi, &key, &data, 0), ==, 0);
    FL_CHECK_INT(mdb_txn_commit(txn), ==, 0);
    mdb_env_close(env);
}

static bool
s_file_contains(const char *path, const char *needle)
{
    char text[8192] = { 0 };
    FILE *f = fopen(path, "r");
    FL_CHECK(f);
    size_t n = fread(text, 1, sizeof text - 1, f);
    fclose(f);
    text[n] = 0;
    return strstr(text, needle) != NULL;
}

FL_TEST(open_fresh_dir_creates_schema)
{
    const char *dir = s_dir("fresh");
    fl_store_t *store = NULL;
    FL_CHECK_INT(fl_store_open(dir, NULL, &store), ==, 0);
    Flow__Storage__StoreMeta *meta = s_read_schema(store);
    FL_CHECK_INT(meta->schema_version, ==, FL_STORE_SCHEMA_VERSION);
    FL_CHECK(meta->created_ms > 1700000000000ULL);
    protobuf_c_message_free_unpacked(&meta->base, NULL);
    struct stat st;
    char path[600];
    snprintf(path, sizeof path, "%s/store", dir);
    FL_CHECK_INT(stat(path, &st), ==, 0);
    FL_CHECK_INT(st.st_mode & 0777, ==, 0700);
    fl_store_destroy(&store);
    FL_CHECK(store == NULL);
}

FL_TEST(reopen_keeps_schema_and_data)
{
    const char *dir = s_dir("reopen");
    fl_store_t *store = NULL;
    MDB_dbi dbi;
    FL_CHECK_INT(fl_store_open(dir, NULL, &store), ==, 0);
    FL_CHECK_INT(fl_store_dbi(store, DB, &dbi), ==, 0);
    s_batch_t batch = { .dbi = dbi, .batch = 1, .count = 10 };
    FL_CHECK_INT(fl_store_write(store, s_batch_apply, &batch), ==, 0);
    Flow__Storage__StoreMeta *first = s_read_schema(store);
    uint64_t created = first->created_ms;
    protobuf_c_message_free_unpacked(&first->base, NULL);
    fl_store_destroy(&store);

    FL_CHECK_INT(fl_store_open(dir, NULL, &store), ==, 0);
    FL_CHECK_INT(fl_store_dbi(store, DB, &dbi), ==, 0);
    FL_CHECK_INT(s_count_batch(store, dbi, 1, 10), ==, 10);
    Flow__Storage__StoreMeta *again = s_read_schema(store);
    FL_CHECK(again->created_ms == created);
    protobuf_c_message_free_unpacked(&again->base, NULL);
    fl_store_destroy(&store);
}

FL_TEST(open_of_missing_dir_fails_with_io)
{
    char dir[600];
    snprintf(dir, sizeof dir, "%s/absent/deeper", fl_test_tmpdir());
    fl_store_t *store = NULL;
    FL_CHECK_INT(fl_store_open(dir, NULL, &store), ==, FL_E_IO);
    FL_CHECK(store == NULL);
}

FL_TEST(newer_schema_is_refused)
{
    const char *dir = s_dir("newer");
    Flow__Storage__StoreMeta meta = FLOW__STORAGE__STORE_META__INIT;
    meta.schema_version = 99;
    uint8_t buf[64];
    size_t len = flow__storage__store_meta__pack(&meta, buf);
    s_write_raw_schema(dir, buf, len);

    char log_path[600];
    snprintf(log_path, sizeof log_path, "%s/log", fl_test_tmpdir());
    FL_CHECK_INT(fl_log_open(log_path), ==, 0);
    fl_store_t *store = NULL;
    FL_CHECK_INT(fl_store_open(dir, NULL, &store), ==, FL_E_SCHEMA);
    FL_CHECK(store == NULL);
    FL_CHECK(s_file_contains(log_path, "upgrade flowd"));
    FL_CHECK(s_file_contains(log_path, "stored_schema=99"));
    FL_CHECK(s_file_contains(log_path, "supported_schema=1"));
}

FL_TEST(undecodable_schema_is_corrupt)
{
    const char *dir = s_dir("corrupt");
    s_write_raw_schema(dir, "\xff\xff\xff\xff", 4);
    fl_store_t *store = NULL;
    FL_CHECK_INT(fl_store_open(dir, NULL, &store), ==, FL_E_CORRUPT);
    FL_CHECK(store == NULL);
}

FL_TEST(map_grows_and_batches_are_retried)
{
    const char *dir = s_dir("grow");
    fl_store_opts_t opts = { .map_size = MIB };
    fl_store_t *store = NULL;
    MDB_dbi dbi;
    FL_CHECK_INT(fl_store_open(dir, &opts, &store), ==, 0);
    FL_CHECK_INT(fl_store_dbi(store, DB, &dbi), ==, 0);
    enum { BATCHES = 40, PER = 250 };
    for (uint32_t b = 0; b < BATCHES; b++) {
        s_batch_t batch = { .dbi = dbi, .batch = b, .count = PER };
        FL_CHECK_INT(fl_store_write(store, s_batch_apply, &batch), ==, 0);
    }
    fl_store_stats_t stats;
    fl_store_stats(store, &stats);
    FL_CHECK_INT(stats.growths, >, 0);
    FL_CHECK_INT(stats.retries, >=, stats.growths);
    FL_CHECK_INT(stats.map_size, >, 2 * MIB);
    for (uint32_t b = 0; b < BATCHES; b++)
        FL_CHECK_INT(s_count_batch(store, dbi, b, PER), ==, PER);
    FL_CHECK_INT(s_entries(store, dbi), ==, BATCHES * PER + 1);
    fl_store_destroy(&store);
}

FL_TEST(grown_map_stays_grown_after_reopen)
{
    const char *dir = s_dir("regrow");
    fl_store_opts_t opts = { .map_size = MIB };
    fl_store_t *store = NULL;
    MDB_dbi dbi;
    FL_CHECK_INT(fl_store_open(dir, &opts, &store), ==, 0);
    FL_CHECK_INT(fl_store_dbi(store, DB, &dbi), ==, 0);
    s_batch_t batch = { .dbi = dbi, .batch = 1, .count = 8000 };
    FL_CHECK_INT(fl_store_write(store, s_batch_apply, &batch), ==, 0);
    fl_store_stats_t grown, reopened;
    fl_store_stats(store, &grown);
    FL_CHECK_INT(grown.map_size, >, MIB);
    fl_store_destroy(&store);

    FL_CHECK_INT(fl_store_open(dir, &opts, &store), ==, 0);
    fl_store_stats(store, &reopened);
    FL_CHECK_INT(reopened.map_size, ==, grown.map_size);
    FL_CHECK_INT(reopened.growths, ==, 0);
    fl_store_destroy(&store);
}

FL_TEST(map_max_refuses_the_whole_batch)
{
    const char *dir = s_dir("full");
    fl_store_opts_t opts = { .map_size = MIB, .map_max = 2 * MIB };
    fl_store_t *store = NULL;
    MDB_dbi dbi;
    FL_CHECK_INT(fl_store_open(dir, &opts, &store), ==, 0);
    FL_CHECK_INT(fl_store_dbi(store, DB, &dbi), ==, 0);
    s_batch_t small = { .dbi = dbi, .batch = 1, .count = 10 };
    FL_CHECK_INT(fl_store_write(store, s_batch_apply, &small), ==, 0);
    s_batch_t huge = { .dbi = dbi, .batch = 2, .count = 20000 };
    FL_CHECK_INT(fl_store_write(store, s_batch_apply, &huge), ==, FL_E_MAPFULL);
    FL_CHECK_INT(s_count_batch(store, dbi, 2, 20000), ==, 0);
    FL_CHECK_INT(s_entries(store, dbi), ==, 11);
    fl_store_stats_t stats;
    fl_store_stats(store, &stats);
    FL_CHECK_INT(stats.map_size, ==, 2 * MIB);
    s_batch_t after = { .dbi = dbi, .batch = 3, .count = 10 };
    FL_CHECK_INT(fl_store_write(store, s_batch_apply, &after), ==, 0);
    FL_CHECK_INT(s_count_batch(store, dbi, 3, 10), ==, 10);
    fl_store_destroy(&store);
}

FL_TEST(apply_error_aborts_the_batch)
{
    const char *dir = s_dir("abort");
    fl_store_t *store = NULL;
    MDB_dbi dbi;
    FL_CHECK_INT(fl_store_open(dir, NULL, &store), ==, 0);
    FL_CHECK_INT(fl_store_dbi(store, DB, &dbi), ==, 0);
    fl_store_stats_t before, after;
    fl_store_stats(store, &before);
    s_batch_t batch = { .dbi = dbi, .batch = 5, .count = 50, .fail_with = FL_E_INVAL };
    FL_CHECK_INT(fl_store_write(store, s_batch_apply, &batch), ==, FL_E_INVAL);
    FL_CHECK_INT(s_count_batch(store, dbi, 5, 50), ==, 0);
    FL_CHECK_INT(s_entries(store, dbi), ==, 0);
    fl_store_stats(store, &after);
    FL_CHECK(after.commits == before.commits);
    fl_store_destroy(&store);
}

FL_TEST(commits_are_counted)
{
    const char *dir = s_dir("commits");
    fl_store_t *store = NULL;
    MDB_dbi dbi;
    FL_CHECK_INT(fl_store_open(dir, NULL, &store), ==, 0);
    FL_CHECK_INT(fl_store_dbi(store, DB, &dbi), ==, 0);
    fl_store_stats_t before, after;
    fl_store_stats(store, &before);
    for (uint32_t b = 0; b < 3; b++) {
        s_batch_t batch = { .dbi = dbi, .batch = b, .count = 1 };
        FL_CHECK_INT(fl_store_write(store, s_batch_apply, &batch), ==, 0);
    }
    fl_store_stats(store, &after);
    FL_CHECK_INT(after.commits - before.commits, ==, 3);
    FL_CHECK_INT(after.growths, ==, 0);
    fl_store_destroy(&store);
}

FL_TEST(named_dbs_persist_across_reopen)
{
    const char *dir = s_dir("names");
    fl_store_t *store = NULL;
    MDB_dbi users, events;
    FL_CHECK_INT(fl_store_open(dir, NULL, &store), ==, 0);
    FL_CHECK_INT(fl_store_dbi(store, "users", &users), ==, 0);
    FL_CHECK_INT(fl_store_dbi(store, "events", &events), ==, 0);
    FL_CHECK(users != events);
    s_batch_t in_users = { .dbi = users, .batch = 1, .count = 5 };
    s_batch_t in_events = { .dbi = events, .batch = 2, .count = 7 };
    FL_CHECK_INT(fl_store_write(store, s_batch_apply, &in_users), ==, 0);
    FL_CHECK_INT(fl_store_write(store, s_batch_apply, &in_events), ==, 0);
    fl_store_destroy(&store);

    FL_CHECK_INT(fl_store_open(dir, NULL, &store), ==, 0);
    FL_CHECK_INT(fl_store_dbi(store, "events", &events), ==, 0);
    FL_CHECK_INT(fl_store_dbi(store, "users", &users), ==, 0);
    FL_CHECK_INT(s_count_batch(store, users, 1, 5), ==, 5);
    FL_CHECK_INT(s_count_batch(store, events, 2, 7), ==, 7);
    FL_CHECK_INT(s_count_batch(store, users, 2, 7), ==, 0);
    FL_CHECK_INT(s_entries(store, users), ==, 6);
    fl_store_destroy(&store);
}

FL_TEST(dbi_returns_one_handle_per_name)
{
    fl_store_t *store = NULL;
    MDB_dbi a, b;
    FL_CHECK_INT(fl_store_open(s_dir("same"), NULL, &store), ==, 0);
    FL_CHECK_INT(fl_store_dbi(store, "events", &a), ==, 0);
    FL_CHECK_INT(fl_store_dbi(store, "events", &b), ==, 0);
    FL_CHECK(a == b);
    fl_store_destroy(&store);
}

FL_TEST(dbi_name_too_long_is_refused)
{
    fl_store_t *store = NULL;
    MDB_dbi dbi;
    char name[128];
    memset(name, 'n', sizeof name - 1);
    name[sizeof name - 1] = 0;
    FL_CHECK_INT(fl_store_open(s_dir("longname"), NULL, &store), ==, 0);
    FL_CHECK_INT(fl_store_dbi(store, name, &dbi), ==, FL_E_INVAL);
    name[63] = 0;
    FL_CHECK_INT(fl_store_dbi(store, name, &dbi), ==, 0);
    fl_store_destroy(&store);
}

FL_TEST(too_many_dbs_is_refused)
{
    fl_store_opts_t opts = { .max_dbs = 3 };
    fl_store_t *store = NULL;
    MDB_dbi dbi;
    FL_CHECK_INT(fl_store_open(s_dir("manydbs"), &opts, &store), ==, 0);
    FL_CHECK_INT(fl_store_dbi(store, "one", &dbi), ==, 0);
    FL_CHECK_INT(fl_store_dbi(store, "two", &dbi), ==, 0);
    FL_CHECK_INT(fl_store_dbi(store, "three", &dbi), ==, FL_E_INVAL);
    FL_CHECK_INT(fl_store_dbi(store, "one", &dbi), ==, 0);
    fl_store_destroy(&store);
}

typedef struct {
    fl_store_t *store;
    MDB_dbi dbi;
    uint32_t per;
    atomic_bool stop;
    atomic_uint reads;
} s_readers_t;

/*  Each snapshot must hold every batch up to the one "last" names, whole.  */
static void *
s_reader(void *arg)
{
    s_readers_t *r = arg;
    while (!atomic_load(&r->stop)) {
        MDB_txn *txn = NULL;
        FL_CHECK_INT(fl_store_read_begin(r->store, &txn), ==, 0);
        MDB_val key = { .mv_size = 4, .mv_data = "last" }, data;
        if (mdb_get(txn, r->dbi, &key, &data) == 0) {
            uint32_t last;
            memcpy(&last, data.mv_data, sizeof last);
            MDB_stat stat;
            FL_CHECK_INT(mdb_stat(txn, r->dbi, &stat), ==, 0);
            FL_CHECK_INT(stat.ms_entries, ==, (last + 1) * r->per + 1);
            FL_CHECK(s_has(txn, r->dbi, last, 0));
            FL_CHECK(s_has(txn, r->dbi, last, r->per - 1));
            FL_CHECK(s_has(txn, r->dbi, last / 2, r->per / 2));
        }
        fl_store_read_end(r->store, &txn);
        atomic_fetch_add(&r->reads, 1);
    }
    return NULL;
}

FL_TEST(readers_in_other_threads_survive_growth)
{
    enum { READERS = 3, BATCHES = 60, PER = 200 };
    fl_store_opts_t opts = { .map_size = MIB };
    s_readers_t r = { .per = PER };
    FL_CHECK_INT(fl_store_open(s_dir("readers"), &opts, &r.store), ==, 0);
    FL_CHECK_INT(fl_store_dbi(r.store, DB, &r.dbi), ==, 0);
    pthread_t threads[READERS];
    for (int i = 0; i < READERS; i++)
        FL_CHECK_INT(pthread_create(&threads[i], NULL, s_reader, &r), ==, 0);
    for (uint32_t b = 0; b < BATCHES; b++) {
        s_batch_t batch = { .dbi = r.dbi, .batch = b, .count = PER };
        FL_CHECK_INT(fl_store_write(r.store, s_batch_apply, &batch), ==, 0);
    }
    atomic_store(&r.stop, true);
    for (int i = 0; i < READERS; i++)
        pthread_join(threads[i], NULL);
    fl_store_stats_t stats;
    fl_store_stats(r.store, &stats);
    FL_CHECK_INT(stats.growths, >=, 2);
    FL_CHECK_INT(atomic_load(&r.reads), >, READERS);
    for (uint32_t b = 0; b < BATCHES; b++)
        FL_CHECK_INT(s_count_batch(r.store, r.dbi, b, PER), ==, PER);
    fl_store_destroy(&r.store);
}

/*  In a child process: open DIR, optionally write a large batch, begin a
 *  read and die without ending it.  */
static void
s_child_leaves_reader(const char *dir, uint32_t big_batch)
{
    pid_t pid = fork();
    FL_CHECK(pid >= 0);
    if (pid == 0) {
        fl_store_opts_t opts = { .map_size = MIB };
        fl_store_t *store = NULL;
        MDB_dbi dbi;
        MDB_txn *txn = NULL;
        if (fl_store_open(dir, &opts, &store) != 0 || fl_store_dbi(store, DB, &dbi) != 0)
            _exit(2);
        s_batch_t batch = { .dbi = dbi, .batch = 9, .count = big_batch };
        if (big_batch && fl_store_write(store, s_batch_apply, &batch) != 0)
            _exit(3);
        if (fl_store_read_begin(store, &txn) != 0)
            _exit(4);
        _exit(0);
    }
    int status = 0;
    FL_CHECK_INT(waitpid(pid, &status, 0), ==, pid);
    FL_CHECK(WIFEXITED(status));
    FL_CHECK_INT(WEXITSTATUS(status), ==, 0);
}

FL_TEST(housekeeping_clears_stale_readers)
{
    const char *dir = s_dir("stale");
    fl_store_t *store = NULL;
    FL_CHECK_INT(fl_store_open(dir, NULL, &store), ==, 0);
    FL_CHECK_INT(fl_store_housekeeping(store), ==, 0);
    s_child_leaves_reader(dir, 0);
    FL_CHECK_INT(fl_store_housekeeping(store), ==, 1);
    FL_CHECK_INT(fl_store_housekeeping(store), ==, 0);
    fl_store_destroy(&store);
}

/*  A child process that keeps DIR open until *release_fd is closed, so the
 *  environment is never reinitialised by a first opener (which would wipe
 *  the reader table on its own).  */
static pid_t
s_child_holds_open(const char *dir, int *release_fd)
{
    int ready[2], release[2];
    FL_CHECK_INT(pipe(ready), ==, 0);
    FL_CHECK_INT(pipe(release), ==, 0);
    pid_t pid = fork();
    FL_CHECK(pid >= 0);
    if (pid == 0) {
        close(ready[0]);
        close(release[1]);
        fl_store_t *store = NULL;
        if (fl_store_open(dir, NULL, &store) != 0)
            _exit(2);
        char byte = 1;
        if (write(ready[1], &byte, 1) != 1)
            _exit(3);
        while (read(release[0], &byte, 1) > 0)
            ;
        fl_store_destroy(&store);
        _exit(0);
    }
    close(ready[1]);
    close(release[0]);
    char byte = 0;
    FL_CHECK_INT(read(ready[0], &byte, 1), ==, 1);
    close(ready[0]);
    *release_fd = release[1];
    return pid;
}

FL_TEST(open_clears_stale_readers)
{
    const char *dir = s_dir("stale_open");
    int release = -1;
    pid_t holder = s_child_holds_open(dir, &release);
    s_child_leaves_reader(dir, 0);
    fl_store_t *store = NULL;
    FL_CHECK_INT(fl_store_open(dir, NULL, &store), ==, 0);
    FL_CHECK_INT(fl_store_housekeeping(store), ==, 0);
    fl_store_destroy(&store);
    close(release);
    int status = 0;
    FL_CHECK_INT(waitpid(holder, &status, 0), ==, holder);
    FL_CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

FL_TEST(map_grown_by_another_process_is_adopted)
{
    const char *dir = s_dir("resized");
    fl_store_opts_t opts = { .map_size = MIB };
    fl_store_t *store = NULL;
    MDB_dbi dbi;
    FL_CHECK_INT(fl_store_open(dir, &opts, &store), ==, 0);
    FL_CHECK_INT(fl_store_dbi(store, DB, &dbi), ==, 0);
    s_child_leaves_reader(dir, 12000);
    FL_CHECK_INT(s_count_batch(store, dbi, 9, 12000), ==, 12000);
    fl_store_stats_t stats;
    fl_store_stats(store, &stats);
    FL_CHECK_INT(stats.map_size, >, 2 * MIB);
    FL_CHECK_INT(stats.growths, ==, 0);
    s_batch_t batch = { .dbi = dbi, .batch = 10, .count = 10 };
    FL_CHECK_INT(fl_store_write(store, s_batch_apply, &batch), ==, 0);
    fl_store_destroy(&store);
}

FL_TEST(destroy_and_read_end_accept_null)
{
    fl_store_t *store = NULL;
    fl_store_destroy(&store);
    FL_CHECK_INT(fl_store_open(s_dir("nulls"), NULL, &store), ==, 0);
    MDB_txn *txn = NULL;
    fl_store_read_end(store, &txn);
    FL_CHECK_INT(fl_store_read_begin(store, &txn), ==, 0);
    fl_store_read_end(store, &txn);
    FL_CHECK(txn == NULL);
    fl_store_destroy(&store);
    FL_CHECK(store == NULL);
}
