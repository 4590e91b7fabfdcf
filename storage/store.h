/*  storage/store.h — the node's one LMDB environment.
 *
 *  A store is one LMDB environment in DATA/store, opened once per process.
 *  It owns:
 *   - named databases, one per record kind, opened by name once and valid
 *     for the store's life;
 *   - the schema record ("schema" in the "meta" database, a StoreMeta): a
 *     directory written by a newer schema version is refused (FL_E_SCHEMA);
 *   - group commit: fl_store_write() runs a caller's batch in one write
 *     transaction and commits it with fsync before returning, so a caller
 *     that replies after it returns 0 only ever acknowledges durable writes;
 *   - map growth: on MDB_MAP_FULL the batch is aborted, the map doubled (up
 *     to opts.map_max) and the batch run again from its start;
 *   - stale readers: cleared at open and by fl_store_housekeeping().
 *
 *  Threads: any thread may call any function.  Map growth needs every
 *  transaction of the process closed, so each transaction holds a shared
 *  lock for its life and growth takes it exclusively.  A read transaction
 *  must therefore be short: begin, read, end.
 */
#ifndef FL_STORE_H
#define FL_STORE_H

#include <lmdb.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define FL_STORE_SCHEMA_VERSION 1

typedef struct fl_store_t fl_store_t;

typedef struct {
    size_t map_size;    /* initial map size in bytes; 0 = 64 MiB */
    size_t map_max;     /* growth stops here (FL_E_MAPFULL); 0 = 1 TiB */
    unsigned max_dbs;   /* named databases; 0 = 64 */
    bool no_sync;       /* benchmarks only: commit without fsync */
} fl_store_opts_t;

typedef struct {
    size_t map_size;    /* current map size in bytes */
    uint64_t commits;   /* write transactions committed */
    uint64_t growths;   /* times the map was grown */
    uint64_t retries;   /* batches run again after a growth */
} fl_store_stats_t;

/*  Opens (creating when absent) the environment in DIR/store.  DIR must
 *  exist.  opts may be NULL for the defaults.
 *  Errors: FL_E_SCHEMA (written by a newer schema), FL_E_CORRUPT (schema
 *  record undecodable), FL_E_NOMEM, FL_E_IO (any other LMDB or file
 *  error; the cause is logged).  */
int fl_store_open(const char *dir, const fl_store_opts_t *opts, fl_store_t **store_p);

/*  Closes the environment and frees the store; NULL-safe, nulls *store_p.
 *  Every transaction must be ended first.  */
void fl_store_destroy(fl_store_t **store_p);

/*  The handle of named database NAME, created on first use.
 *  Errors: FL_E_INVAL (name too long or too many databases), FL_E_IO.  */
int fl_store_dbi(fl_store_t *store, const char *name, MDB_dbi *dbi_p);

/*  fl_store_dbi for a database of partitions' records (keys prefixed by
 *  their partition, storage/keyspace.h): handoff moves its ranges from
 *  node to node.  */
int fl_store_dbi_partitioned(fl_store_t *store, const char *name, MDB_dbi *dbi_p);

/*  The partitioned databases, in the order they were opened: up to MAX
 *  names (valid for the store's life) and handles.  */
size_t fl_store_partitioned(fl_store_t *store, const char **names, MDB_dbi *dbis, size_t max);

/*  A batch: applies writes inside TXN.  Returns 0, or a negative code that
 *  aborts the whole batch.  It may be called more than once for one
 *  fl_store_write() (after map growth), so it must leave no effect outside
 *  TXN until fl_store_write() returns.  An MDB_MAP_FULL from an LMDB call
 *  is returned as is (the store grows the map and calls again).  */
typedef int (fl_store_apply_fn)(MDB_txn *txn, void *arg);

/*  Runs APPLY in one write transaction and commits it durably.
 *  Errors: APPLY's own negative code (nothing written), FL_E_MAPFULL (the
 *  map reached map_max; nothing written), FL_E_IO.  */
int fl_store_write(fl_store_t *store, fl_store_apply_fn *apply, void *arg);

/*  Begins a read-only transaction.  Errors: FL_E_IO.  */
int fl_store_read_begin(fl_store_t *store, MDB_txn **txn_p);

/*  Ends a read-only transaction; NULL-safe, nulls *txn_p.  */
void fl_store_read_end(fl_store_t *store, MDB_txn **txn_p);

/*  Clears stale reader slots left by dead processes; returns how many
 *  were cleared, or FL_E_IO.  */
int fl_store_housekeeping(fl_store_t *store);

void fl_store_stats(fl_store_t *store, fl_store_stats_t *stats);

#endif
