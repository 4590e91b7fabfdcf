/*  storage/store.c — the node's one LMDB environment; see store.h.
 *
 *  Invariants and the reasons for them:
 *
 *  - The environment is opened with MDB_NOTLS: a reader slot belongs to a
 *    read transaction, not to a thread.  Actors, the worker pool and the
 *    gateway all read; without it every thread that ever read would keep a
 *    slot of the fixed reader table until it exits.  A transaction still
 *    begins and ends on one thread, because it holds the growth lock below,
 *    which is a pthread lock owned by the thread that took it.
 *
 *  - Growth lock: mdb_env_set_mapsize() remaps the file, so no transaction
 *    of this process may be open while it runs.  Every transaction holds
 *    `grow` shared for its whole life; growth takes it exclusively.  The
 *    lock prefers writers, so a growth is not starved by a stream of short
 *    reads; the price is that a thread must never hold two transactions at
 *    once (its second shared request would queue behind a waiting growth
 *    that waits for its first).  s_held counts the transactions the
 *    calling thread holds, of any store (flowd has one), and asserts that
 *    rule.
 *
 *  - A writer that meets MDB_MAP_FULL aborts, drops its shared hold, grows
 *    under the exclusive hold, and runs the whole batch again: LMDB's
 *    writer mutex is released before the growth lock is requested, so a
 *    growth never waits for a writer that waits for it.
 *
 *  - Named databases: mdb_dbi_open() must run in a transaction that ends
 *    before any other transaction of the process opens a database, so new
 *    names are opened one at a time (`open_lock`) in their own write
 *    transaction.  Lookups of known names take only `names_lock`, which is
 *    never held while waiting for anything else.
 *
 *  - fl_store_write() returns 0 only after mdb_txn_commit() succeeded on an
 *    environment opened without MDB_NOSYNC, so 0 means durable.
 */
#include "storage/store.h"
#include "storage/codec.h"
#include "node/error.h"
#include "node/log.h"

#include "storage.pb-c.h"

#include <assert.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define DEFAULT_MAP_SIZE ((size_t) 64 << 20)
#define DEFAULT_MAP_MAX ((size_t) 1 << 40)
#define DEFAULT_MAX_DBS 64
#define NAME_MAX_BYTES 63
#define RESIZE_ATTEMPTS 8
#define META_DB "meta"
#define SCHEMA_KEY "schema"

typedef struct {
    char name[NAME_MAX_BYTES + 1];
    MDB_dbi dbi;
    bool partitioned;               /* holds partitions' records: moves with them */
} s_name_t;

struct fl_store_t {
    MDB_env *env;
    char path[4096];
    char qpath[4096 + 64];          /* path as a logfmt value */
    size_t map_max;
    size_t page_size;
    pthread_rwlock_t grow;          /* shared per transaction, exclusive to grow */
    pthread_mutex_t open_lock;      /* one database opened at a time */
    pthread_mutex_t names_lock;     /* guards names and name_count */
    s_name_t *names;
    unsigned name_count;
    unsigned max_dbs;
    atomic_size_t map_size;
    atomic_uint_fast64_t commits;
    atomic_uint_fast64_t growths;
    atomic_uint_fast64_t retries;
};

static _Thread_local unsigned s_held;

static int
s_io(fl_store_t *store, const char *what, int rc)
{
    fl_error("store", "lmdb call failed", "path=%s call=%s err=%d reason=\"%s\"",
             store->qpath, what, rc, mdb_strerror(rc));
    return FL_E_IO;
}

static size_t
s_round_up(size_t size, size_t page)
{
    return (size + page - 1) / page * page;
}

static void
s_refresh_map_size(fl_store_t *store)
{
    MDB_envinfo info;
    mdb_env_info(store->env, &info);
    atomic_store(&store->map_size, info.me_mapsize);
}

static void
s_hold(fl_store_t *store)
{
    assert(s_held == 0 && "one transaction of the store per thread at a time");
    pthread_rwlock_rdlock(&store->grow);
    s_held++;
}

static void
s_release(fl_store_t *store)
{
    s_held--;
    pthread_rwlock_unlock(&store->grow);
}

/*  Another process grew the map past ours: adopt its size.  */
static int
s_adopt_map_size(fl_store_t *store)
{
    pthread_rwlock_wrlock(&store->grow);
    int rc = mdb_env_set_mapsize(store->env, 0);
    if (rc == 0)
        s_refresh_map_size(store);
    pthread_rwlock_unlock(&store->grow);
    if (rc != 0)
        return s_io(store, "mdb_env_set_mapsize", rc);
    fl_info("store", "adopted map size", "path=%s map_size=%zu",
            store->qpath, atomic_load(&store->map_size));
    return 0;
}

/*  Begins a transaction holding the growth lock shared; on success the
 *  caller owns one hold and *map_size_p is the map size it runs under.  */
static int
s_begin(fl_store_t *store, unsigned flags, MDB_txn **txn_p, size_t *map_size_p)
{
    for (int attempt = 0; attempt < RESIZE_ATTEMPTS; attempt++) {
        s_hold(store);
        *map_size_p = atomic_load(&store->map_size);
        int rc = mdb_txn_begin(store->env, NULL, flags, txn_p);
        if (rc == 0)
            return 0;
        s_release(store);
        if (rc != MDB_MAP_RESIZED)
            return rc == ENOMEM ? FL_E_NOMEM : s_io(store, "mdb_txn_begin", rc);
        rc = s_adopt_map_size(store);
        if (rc != 0)
            return rc;
    }
    return s_io(store, "mdb_txn_begin", MDB_MAP_RESIZED);
}

/*  Doubles the map (capped at map_max) unless another writer already grew
 *  it past SEEN, the size the failed batch ran under.  */
static int
s_grow(fl_store_t *store, size_t seen)
{
    pthread_rwlock_wrlock(&store->grow);
    size_t now = atomic_load(&store->map_size);
    if (now > seen) {
        pthread_rwlock_unlock(&store->grow);
        return 0;
    }
    if (now >= store->map_max) {
        pthread_rwlock_unlock(&store->grow);
        fl_warn("store", "map full", "path=%s map_size=%zu map_max=%zu",
                store->qpath, now, store->map_max);
        return FL_E_MAPFULL;
    }
    size_t next = now > store->map_max / 2 ? store->map_max : now * 2;
    int rc = mdb_env_set_mapsize(store->env, next);
    if (rc == 0) {
        s_refresh_map_size(store);
        atomic_fetch_add(&store->growths, 1);
    }
    pthread_rwlock_unlock(&store->grow);
    if (rc != 0)
        return s_io(store, "mdb_env_set_mapsize", rc);
    fl_info("store", "map grown", "path=%s from=%zu to=%zu",
            store->qpath, now, atomic_load(&store->map_size));
    return 0;
}

/*  One attempt at a batch.  Returns 0, MDB_MAP_FULL, APPLY's code, or a
 *  store error.  */
static int
s_write_once(fl_store_t *store, fl_store_apply_fn *apply, void *arg, size_t *seen_p)
{
    MDB_txn *txn = NULL;
    int rc = s_begin(store, 0, &txn, seen_p);
    if (rc != 0)
        return rc;
    rc = apply(txn, arg);
    if (rc != 0) {
        mdb_txn_abort(txn);
        s_release(store);
        return rc;
    }
    rc = mdb_txn_commit(txn);
    s_release(store);
    if (rc == 0 || rc == MDB_MAP_FULL)
        return rc;
    return rc == ENOMEM ? FL_E_NOMEM : s_io(store, "mdb_txn_commit", rc);
}

int
fl_store_write(fl_store_t *store, fl_store_apply_fn *apply, void *arg)
{
    for (;;) {
        size_t seen = 0;
        int rc = s_write_once(store, apply, arg, &seen);
        if (rc == 0) {
            atomic_fetch_add(&store->commits, 1);
            return 0;
        }
        if (rc != MDB_MAP_FULL)
            return rc;
        rc = s_grow(store, seen);
        if (rc != 0)
            return rc;
        atomic_fetch_add(&store->retries, 1);
    }
}

int
fl_store_read_begin(fl_store_t *store, MDB_txn **txn_p)
{
    size_t seen = 0;
    return s_begin(store, MDB_RDONLY, txn_p, &seen);
}

void
fl_store_read_end(fl_store_t *store, MDB_txn **txn_p)
{
    if (!*txn_p)
        return;
    mdb_txn_abort(*txn_p);
    *txn_p = NULL;
    s_release(store);
}

static bool
s_lookup(fl_store_t *store, const char *name, MDB_dbi *dbi_p)
{
    bool found = false;
    pthread_mutex_lock(&store->names_lock);
    for (unsigned i = 0; i < store->name_count && !found; i++) {
        if (strcmp(store->names[i].name, name) == 0) {
            *dbi_p = store->names[i].dbi;
            found = true;
        }
    }
    pthread_mutex_unlock(&store->names_lock);
    return found;
}

typedef struct {
    fl_store_t *store;
    const char *name;
    MDB_dbi dbi;
} s_open_db_t;

static int
s_open_db_apply(MDB_txn *txn, void *arg)
{
    s_open_db_t *open_db = arg;
    int rc = mdb_dbi_open(txn, open_db->name, MDB_CREATE, &open_db->dbi);
    if (rc == 0 || rc == MDB_MAP_FULL)
        return rc;
    if (rc == MDB_DBS_FULL)
        return FL_E_INVAL;
    return s_io(open_db->store, "mdb_dbi_open", rc);
}

/*  Opens NAME in its own write transaction; called with open_lock held.  */
static int
s_open_db(fl_store_t *store, const char *name, MDB_dbi *dbi_p)
{
    assert(s_held == 0 && "a new database is opened outside any transaction");
    if (store->name_count == store->max_dbs)
        return FL_E_INVAL;
    s_open_db_t open_db = { .store = store, .name = name };
    int rc = fl_store_write(store, s_open_db_apply, &open_db);
    if (rc != 0)
        return rc;
    pthread_mutex_lock(&store->names_lock);
    s_name_t *entry = &store->names[store->name_count];
    snprintf(entry->name, sizeof entry->name, "%s", name);
    entry->dbi = open_db.dbi;
    store->name_count++;
    pthread_mutex_unlock(&store->names_lock);
    *dbi_p = open_db.dbi;
    return 0;
}

int
fl_store_dbi_partitioned(fl_store_t *store, const char *name, MDB_dbi *dbi_p)
{
    int rc = fl_store_dbi(store, name, dbi_p);
    if (rc)
        return rc;
    pthread_mutex_lock(&store->names_lock);
    for (unsigned i = 0; i < store->name_count; i++)
        if (store->names[i].dbi == *dbi_p)
            store->names[i].partitioned = true;
    pthread_mutex_unlock(&store->names_lock);
    return 0;
}

size_t
fl_store_partitioned(fl_store_t *store, const char **names, MDB_dbi *dbis, size_t max)
{
    size_t n = 0;
    pthread_mutex_lock(&store->names_lock);
    for (unsigned i = 0; i < store->name_count && n < max; i++)
        if (store->names[i].partitioned) {
            names[n] = store->names[i].name;
            dbis[n++] = store->names[i].dbi;
        }
    pthread_mutex_unlock(&store->names_lock);
    return n;
}

int
fl_store_dbi(fl_store_t *store, const char *name, MDB_dbi *dbi_p)
{
    if (strlen(name) > NAME_MAX_BYTES)
        return FL_E_INVAL;
    if (s_lookup(store, name, dbi_p))
        return 0;
    pthread_mutex_lock(&store->open_lock);
    int rc = 0;
    if (!s_lookup(store, name, dbi_p))
        rc = s_open_db(store, name, dbi_p);
    pthread_mutex_unlock(&store->open_lock);
    return rc;
}

typedef struct {
    MDB_dbi meta;
    uint32_t found_version;
} s_schema_t;

static uint64_t
s_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t) ts.tv_sec * 1000 + (uint64_t) ts.tv_nsec / 1000000;
}

/*  Reads the schema record, writing it when absent, in one write
 *  transaction so the check and the creation cannot be split.  */
static int
s_schema_apply(MDB_txn *txn, void *arg)
{
    s_schema_t *schema = arg;
    MDB_val key = { .mv_size = strlen(SCHEMA_KEY), .mv_data = SCHEMA_KEY };
    ProtobufCMessage *msg = NULL;
    int rc = fl_codec_get(txn, schema->meta, &key,
                          &flow__storage__store_meta__descriptor, &msg);
    if (rc == FL_E_NOTFOUND) {
        Flow__Storage__StoreMeta meta = FLOW__STORAGE__STORE_META__INIT;
        meta.schema_version = FL_STORE_SCHEMA_VERSION;
        meta.created_ms = s_now_ms();
        schema->found_version = FL_STORE_SCHEMA_VERSION;
        return fl_codec_put(txn, schema->meta, &key, &meta.base);
    }
    if (rc != 0)
        return rc;
    schema->found_version = ((Flow__Storage__StoreMeta *) msg)->schema_version;
    protobuf_c_message_free_unpacked(msg, NULL);
    return schema->found_version > FL_STORE_SCHEMA_VERSION ? FL_E_SCHEMA : 0;
}

static int
s_check_schema(fl_store_t *store)
{
    s_schema_t schema = { .found_version = 0 };
    int rc = fl_store_dbi(store, META_DB, &schema.meta);
    if (rc != 0)
        return rc;
    rc = fl_store_write(store, s_schema_apply, &schema);
    if (rc == FL_E_SCHEMA)
        fl_error("store", "data directory was written by a newer flowd; upgrade flowd",
                 "path=%s stored_schema=%u supported_schema=%d",
                 store->qpath, schema.found_version, FL_STORE_SCHEMA_VERSION);
    else if (rc == FL_E_CORRUPT)
        fl_error("store", "schema record cannot be decoded", "path=%s", store->qpath);
    return rc;
}

static int
s_clear_stale_readers(fl_store_t *store)
{
    int dead = 0;
    int rc = mdb_reader_check(store->env, &dead);
    if (rc != 0)
        return s_io(store, "mdb_reader_check", rc);
    if (dead > 0)
        fl_info("store", "cleared stale readers", "path=%s count=%d", store->qpath, dead);
    return dead;
}

static fl_store_t *
s_new(const char *dir, const fl_store_opts_t *opts)
{
    fl_store_t *store = calloc(1, sizeof *store);
    if (!store)
        return NULL;
    store->max_dbs = opts->max_dbs ? opts->max_dbs : DEFAULT_MAX_DBS;
    store->names = calloc(store->max_dbs, sizeof *store->names);
    if (!store->names) {
        free(store);
        return NULL;
    }
    snprintf(store->path, sizeof store->path, "%s/store", dir);
    fl_log_quote(store->qpath, sizeof store->qpath, store->path, strlen(store->path));
    long page = sysconf(_SC_PAGESIZE);
    store->page_size = page > 0 ? (size_t) page : 4096;
    store->map_max = s_round_up(opts->map_max ? opts->map_max : DEFAULT_MAP_MAX,
                                store->page_size);
    pthread_rwlockattr_t attr;
    pthread_rwlockattr_init(&attr);
    pthread_rwlockattr_setkind_np(&attr, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
    pthread_rwlock_init(&store->grow, &attr);
    pthread_rwlockattr_destroy(&attr);
    pthread_mutex_init(&store->open_lock, NULL);
    pthread_mutex_init(&store->names_lock, NULL);
    return store;
}

/*  A map grown before a restart stays grown: size 0 adopts the largest
 *  size ever committed, and the configured size wins only when larger.  */
static int
s_keep_grown_map(fl_store_t *store, size_t configured)
{
    int rc = mdb_env_set_mapsize(store->env, 0);
    s_refresh_map_size(store);
    if (rc == 0 && atomic_load(&store->map_size) < configured) {
        rc = mdb_env_set_mapsize(store->env, configured);
        s_refresh_map_size(store);
    }
    return rc == 0 ? 0 : s_io(store, "mdb_env_set_mapsize", rc);
}

static int
s_open_env(fl_store_t *store, const fl_store_opts_t *opts)
{
    if (mkdir(store->path, 0700) != 0 && errno != EEXIST) {
        int err = errno;
        fl_error("store", "cannot create store directory", "path=%s reason=\"%s\"",
                 store->qpath, strerror(err));
        return err == ENOMEM ? FL_E_NOMEM : FL_E_IO;
    }
    int rc = mdb_env_create(&store->env);
    if (rc != 0)
        return s_io(store, "mdb_env_create", rc);
    size_t map_size = s_round_up(opts->map_size ? opts->map_size : DEFAULT_MAP_SIZE,
                                 store->page_size);
    if (map_size > store->map_max)
        map_size = store->map_max;
    rc = mdb_env_set_mapsize(store->env, map_size);
    if (rc == 0)
        rc = mdb_env_set_maxdbs(store->env, store->max_dbs);
    if (rc != 0)
        return s_io(store, "mdb_env_set", rc);
    unsigned flags = MDB_NOTLS | (opts->no_sync ? MDB_NOSYNC : 0);
    rc = mdb_env_open(store->env, store->path, flags, 0600);
    if (rc != 0)
        return s_io(store, "mdb_env_open", rc);
    return s_keep_grown_map(store, map_size);
}

int
fl_store_open(const char *dir, const fl_store_opts_t *opts, fl_store_t **store_p)
{
    static const fl_store_opts_t defaults = { 0 };
    if (!opts)
        opts = &defaults;
    if (strlen(dir) + sizeof "/store" > sizeof ((fl_store_t *) NULL)->path) {
        fl_error("store", "data directory path too long", "length=%zu", strlen(dir));
        return FL_E_IO;
    }
    fl_store_t *store = s_new(dir, opts);
    if (!store)
        return FL_E_NOMEM;
    int rc = s_open_env(store, opts);
    if (rc == 0) {
        int dead = s_clear_stale_readers(store);
        rc = dead < 0 ? dead : 0;
    }
    if (rc == 0)
        rc = s_check_schema(store);
    if (rc != 0) {
        fl_store_destroy(&store);
        return rc;
    }
    fl_info("store", "opened", "path=%s map_size=%zu map_max=%zu sync=%s",
            store->qpath, atomic_load(&store->map_size), store->map_max,
            opts->no_sync ? "off" : "on");
    *store_p = store;
    return 0;
}

void
fl_store_destroy(fl_store_t **store_p)
{
    fl_store_t *store = *store_p;
    if (!store)
        return;
    if (store->env)
        mdb_env_close(store->env);
    pthread_rwlock_destroy(&store->grow);
    pthread_mutex_destroy(&store->open_lock);
    pthread_mutex_destroy(&store->names_lock);
    free(store->names);
    free(store);
    *store_p = NULL;
}

int
fl_store_housekeeping(fl_store_t *store)
{
    return s_clear_stale_readers(store);
}

void
fl_store_stats(fl_store_t *store, fl_store_stats_t *stats)
{
    stats->map_size = atomic_load(&store->map_size);
    stats->commits = atomic_load(&store->commits);
    stats->growths = atomic_load(&store->growths);
    stats->retries = atomic_load(&store->retries);
}
