/*  tests/bench/bench_handoff.c — partitions streamed to a joining node,
 *  against copying the same data locally.
 *
 *  Fills the store of a data directory before any flowd runs there: MIB
 *  MiB of records (keys: 16 random bytes in hex under their partition's
 *  prefix; values: 300 to 1500 random bytes) in the partitioned databases
 *  "events" and "users", spread evenly over the P partitions, committed
 *  in batches.  Then, in the same run:
 *
 *   (a) the baseline: copies that store into a fresh one in another
 *       directory, partition by partition and database by database, in
 *       chunks of the handoff's size read with fl_keyspace_range, each
 *       written in one fsynced transaction (fl_store_write): what handoff
 *       does without the network, the digest checks and the consensus;
 *   (b) flowd A runs on the filled directory and B joins it, unthrottled;
 *       the partitions the placement gives B stream to it.  Timed from
 *       B's log: its first "receiving a partition" to its last "partition
 *       received", and each partition from the one to the other; bytes
 *       from B's `cluster transfers`;
 *   (c) unless --rate-kb 0, a third node C joins throttled to that many
 *       KiB/s (default 65536): its rate against the limit.
 *
 *  Prints MiB/s, per-partition p50/p99 (`ops` are partitions) and the
 *  ratio of handoff to local copy throughput (goal: at least 0.5).  Every
 *  wait is bounded; a handoff that does not end in time is said to have
 *  stalled, with what had moved.  Warnings and errors the nodes logged
 *  are printed, since they explain a slow handoff.  The log's timestamps
 *  have millisecond resolution.
 *
 *      bench_handoff [--flowd PATH] [--flowctl PATH] [--mib N]
 *                    [--partitions P] [--rate-kb K]
 *
 *  flowctl defaults to $FLOWCTL, else clients/flowctl beside flowd (the
 *  build directory's layout).
 */
#include "tests/bench/benchlib.h"
#include "tests/bench/benchnode.h"
#include "storage/keyspace.h"
#include "storage/store.h"
#include "node/error.h"
#include "node/log.h"

#include <assert.h>
#include <czmq.h>
#include <inttypes.h>
#include <sodium.h>
#include <time.h>
#include <unistd.h>

#define DEFAULT_MIB 256
#define DEFAULT_PARTITIONS 1024
#define DEFAULT_RATE_KB 65536
#define CHUNK_KB 1024                   /* the handoff's chunk, given to the joining nodes */
#define ID_BYTES 16
#define KEY_BYTES (FL_KEYSPACE_PREFIX + 2 * ID_BYTES)
#define VALUE_MIN 300
#define VALUE_MAX 1500
#define FILL_RECORDS 8192               /* records per fill transaction */
#define DBS 2
#define MIB (1024.0 * 1024.0)
#define LEADER_WAIT_MS 30000
#define POLL_MS 250
#define MOVE_WAIT_MS 300000             /* a handoff not over by then has stalled */
#define CTL_OUT_BYTES (4u << 20)
#define PROBLEMS_SHOWN 5

static const char *const s_dbs[DBS] = { "events", "users" };

typedef struct {
    const char *flowd;
    char flowctl[512];
    uint32_t mib;
    uint32_t partitions;
    uint32_t rate_kb;
} s_opts_t;

static char *s_ctl_out;                 /* what flowctl printed last */

/*  ------------------------------------------------------------------
 *  Filling A's store  */

typedef struct {
    MDB_dbi dbis[DBS];
    uint32_t partitions;
    uint64_t made;                      /* records made before this batch */
    size_t count;
    uint8_t (*keys)[KEY_BYTES];
    uint8_t *values;                    /* VALUE_MAX bytes a record */
    size_t *value_len;
} s_fill_t;

/*  Record N goes to partition N mod P, and to the databases in turn by
 *  rounds of P, so every partition of every database gets its share.  */
static void
s_fill_make(s_fill_t *fill, uint64_t bytes_left)
{
    fill->count = 0;
    uint64_t bytes = 0;
    while (fill->count < FILL_RECORDS && bytes < bytes_left) {
        size_t i = fill->count++;
        uint64_t n = fill->made + i;
        uint8_t id[ID_BYTES];
        char hex[2 * ID_BYTES + 1];
        randombytes_buf(id, sizeof id);
        sodium_bin2hex(hex, sizeof hex, id, sizeof id);
        int len = fl_keyspace_key((uint16_t) (n % fill->partitions), hex, 2 * ID_BYTES,
                                  fill->keys[i], KEY_BYTES);
        assert(len == KEY_BYTES);
        fill->value_len[i] = VALUE_MIN + randombytes_uniform(VALUE_MAX - VALUE_MIN + 1);
        randombytes_buf(fill->values + i * VALUE_MAX, fill->value_len[i]);
        bytes += KEY_BYTES + fill->value_len[i];
    }
}

static int
s_fill_apply(MDB_txn *txn, void *arg)
{
    const s_fill_t *fill = arg;
    for (size_t i = 0; i < fill->count; i++) {
        uint64_t n = fill->made + i;
        MDB_val key = { KEY_BYTES, fill->keys[i] };
        MDB_val value = { fill->value_len[i], fill->values + i * VALUE_MAX };
        int rc = mdb_put(txn, fill->dbis[(n / fill->partitions) % DBS], &key, &value, 0);
        if (rc)
            return rc;
    }
    return 0;
}

/*  Writes MIB MiB of keys and values into DIR's store; the records made
 *  into *RECORDS.  */
static int
s_fill(const char *dir, const s_opts_t *opts, uint64_t *records)
{
    s_fill_t fill = { .partitions = opts->partitions };
    fill.keys = malloc(FILL_RECORDS * sizeof *fill.keys);
    fill.values = malloc((size_t) FILL_RECORDS * VALUE_MAX);
    fill.value_len = malloc(FILL_RECORDS * sizeof *fill.value_len);
    fl_store_t *store = NULL;
    int rc = fill.keys && fill.values && fill.value_len ? 0 : FL_E_NOMEM;
    if (rc == 0)
        rc = fl_store_open(dir, NULL, &store);
    for (size_t d = 0; d < DBS && rc == 0; d++)
        rc = fl_store_dbi_partitioned(store, s_dbs[d], &fill.dbis[d]);
    uint64_t target = (uint64_t) opts->mib << 20, bytes = 0;
    while (rc == 0 && bytes < target) {
        s_fill_make(&fill, target - bytes);
        rc = fl_store_write(store, s_fill_apply, &fill);
        for (size_t i = 0; i < fill.count; i++)
            bytes += KEY_BYTES + fill.value_len[i];
        fill.made += fill.count;
    }
    *records = fill.made;
    fl_store_destroy(&store);
    free(fill.keys);
    free(fill.values);
    free(fill.value_len);
    return rc;
}

/*  ------------------------------------------------------------------
 *  The baseline: a local copy  */

typedef struct {
    size_t key, key_len, value, value_len;      /* offsets into data */
} s_span_t;

/*  One chunk's records, copied out of the read transaction.  */
typedef struct {
    MDB_dbi dbi;                        /* where they are written */
    uint8_t *data;
    size_t used, cap;
    s_span_t *spans;
    size_t count, spans_cap;
} s_chunk_t;

static int
s_chunk_add(s_chunk_t *chunk, const MDB_val *key, const MDB_val *value)
{
    size_t need = chunk->used + key->mv_size + value->mv_size;
    if (need > chunk->cap) {
        size_t cap = chunk->cap ? chunk->cap : 1u << 20;
        while (cap < need)
            cap *= 2;
        uint8_t *data = realloc(chunk->data, cap);
        if (!data)
            return FL_E_NOMEM;
        chunk->data = data;
        chunk->cap = cap;
    }
    if (chunk->count == chunk->spans_cap) {
        size_t cap = chunk->spans_cap ? 2 * chunk->spans_cap : 1024;
        s_span_t *spans = realloc(chunk->spans, cap * sizeof *spans);
        if (!spans)
            return FL_E_NOMEM;
        chunk->spans = spans;
        chunk->spans_cap = cap;
    }
    s_span_t *s = &chunk->spans[chunk->count++];
    *s = (s_span_t) { chunk->used, key->mv_size, chunk->used + key->mv_size, value->mv_size };
    memcpy(chunk->data + s->key, key->mv_data, key->mv_size);
    memcpy(chunk->data + s->value, value->mv_data, value->mv_size);
    chunk->used = need;
    return 0;
}

static int
s_chunk_collect(const MDB_val *key, const MDB_val *value, void *arg)
{
    return s_chunk_add(arg, key, value);
}

static int
s_chunk_apply(MDB_txn *txn, void *arg)
{
    const s_chunk_t *chunk = arg;
    for (size_t i = 0; i < chunk->count; i++) {
        const s_span_t *s = &chunk->spans[i];
        MDB_val key = { s->key_len, chunk->data + s->key };
        MDB_val value = { s->value_len, chunk->data + s->value };
        int rc = mdb_put(txn, chunk->dbi, &key, &value, 0);
        if (rc)
            return rc;
    }
    return 0;
}

/*  Copies PARTITION of every database from FROM to TO, chunk by chunk;
 *  adds the bytes of its keys and values to *BYTES.  */
static int
s_copy_partition(fl_store_t *from, fl_store_t *to, const MDB_dbi *src, const MDB_dbi *dst,
                 uint16_t partition, s_chunk_t *chunk, uint64_t *bytes)
{
    fl_keyspace_range_t range;
    for (size_t d = 0; d < DBS; d++) {
        uint8_t after[FL_KEYSPACE_KEY_MAX];
        MDB_val at = { 0, after };
        bool first = true, end = false;
        while (!end) {
            chunk->dbi = dst[d];
            chunk->used = chunk->count = 0;
            MDB_txn *txn = NULL;
            int rc = fl_store_read_begin(from, &txn);
            if (rc)
                return rc;
            rc = fl_keyspace_range(txn, src[d], partition, first ? NULL : &at, NULL,
                                   CHUNK_KB << 10, s_chunk_collect, chunk, &range);
            fl_store_read_end(from, &txn);
            if (rc == 0 && chunk->count)
                rc = fl_store_write(to, s_chunk_apply, chunk);
            if (rc)
                return rc;
            *bytes += range.bytes;
            memcpy(after, range.last, range.last_len);
            at.mv_size = range.last_len;
            first = false;
            end = range.end || range.count == 0;
        }
    }
    return 0;
}

/*  Copies FROM's store into a fresh one in a temporary directory; one
 *  sample per partition into BENCH, the bytes into *BYTES and the time
 *  the copy took into *US.  */
static int
s_copy_local(const char *from_dir, const s_opts_t *opts, fl_bench_t *bench, uint64_t *bytes,
             uint64_t *us)
{
    char to_dir[512];
    if (fl_bench_tmpdir(to_dir, sizeof to_dir) != 0)
        return FL_E_IO;
    fl_store_t *from = NULL, *to = NULL;
    MDB_dbi src[DBS], dst[DBS];
    s_chunk_t chunk = { .cap = 0 };
    int rc = fl_store_open(from_dir, NULL, &from);
    if (rc == 0)
        rc = fl_store_open(to_dir, NULL, &to);
    for (size_t d = 0; d < DBS && rc == 0; d++) {
        rc = fl_store_dbi_partitioned(from, s_dbs[d], &src[d]);
        if (rc == 0)
            rc = fl_store_dbi_partitioned(to, s_dbs[d], &dst[d]);
    }
    *bytes = 0;
    uint64_t started = fl_bench_now_us();
    fl_bench_start(bench);
    for (uint32_t p = 0; p < opts->partitions && rc == 0; p++) {
        uint64_t t0 = fl_bench_now_us();
        rc = s_copy_partition(from, to, src, dst, (uint16_t) p, &chunk, bytes);
        if (rc == 0)
            rc = fl_bench_record(bench, fl_bench_now_us() - t0);
    }
    fl_bench_stop(bench);
    *us = fl_bench_now_us() - started;
    free(chunk.data);
    free(chunk.spans);
    fl_store_destroy(&to);
    fl_store_destroy(&from);
    fl_bench_rmdir(to_dir);
    return rc;
}

/*  ------------------------------------------------------------------
 *  The nodes  */

/*  flowctl --json ARGS against NODE into s_ctl_out; 0 when it succeeded. */
static int
s_ctl(const s_opts_t *opts, const fl_benchnode_t *node, const char *const *args)
{
    return fl_benchnode_flowctl(node, opts->flowctl, args, s_ctl_out, CTL_OUT_BYTES);
}

static size_t
s_count(const char *text, const char *needle)
{
    size_t n = 0;
    for (const char *p = strstr(text, needle); p; p = strstr(p + 1, needle))
        n++;
    return n;
}

/*  The number after "NAME": in TEXT, quoted or not; 0 when absent (JSON
 *  leaves out zeros).  */
static uint64_t
s_json_u64(const char *text, const char *name)
{
    char pattern[64];
    snprintf(pattern, sizeof pattern, "\"%s\":", name);
    const char *p = strstr(text, pattern);
    return p ? strtoull(p + strlen(pattern) + (p[strlen(pattern)] == '"'), NULL, 10) : 0;
}

static int
s_wait_leader(const s_opts_t *opts, const fl_benchnode_t *node)
{
    static const char *const status[] = { "cluster", "status", NULL };
    uint64_t deadline = fl_bench_now_us() + LEADER_WAIT_MS * 1000ULL;
    while (fl_bench_now_us() < deadline) {
        if (s_ctl(opts, node, status) == 0 && strstr(s_ctl_out, "\"leader_id\":\"n"))
            return 0;
        usleep(POLL_MS / 2 * 1000);
    }
    fprintf(stderr, "bench_handoff: no leader after %d s\n", LEADER_WAIT_MS / 1000);
    return -1;
}

/*  Polls JOINER's transfers until FIRST's metadata shows MEMBERS members
 *  up and nothing moving, and JOINER has received something; -1 when
 *  MOVE_WAIT_MS passed first (said, with how far it got).  */
static int
s_wait_moved(const s_opts_t *opts, const fl_benchnode_t *first, const fl_benchnode_t *joiner,
             size_t members)
{
    static const char *const status[] = { "cluster", "status", NULL };
    static const char *const transfers[] = { "cluster", "transfers", NULL };
    uint64_t completed = 0, bytes = 0;
    size_t pending = 0, moves = 0;
    uint64_t deadline = fl_bench_now_us() + MOVE_WAIT_MS * 1000ULL;
    while (fl_bench_now_us() < deadline) {
        if (s_ctl(opts, joiner, transfers) == 0) {
            completed = s_json_u64(s_ctl_out, "completed");
            bytes = s_json_u64(s_ctl_out, "bytes_moved");
            pending = s_count(s_ctl_out, "\"partition\":");
        }
        if (s_ctl(opts, first, status) == 0) {
            moves = s_count(s_ctl_out, "\"partition\":");
            if (completed > 0 && s_count(s_ctl_out, "MEMBER_UP") == members
                && !strstr(s_ctl_out, "\"moves\":[{"))
                return 0;
        }
        usleep(POLL_MS * 1000);
    }
    fprintf(stderr, "bench_handoff: the handoff stalled: not over after %d s; the joining node "
            "had received %" PRIu64 " partitions (%.1f MiB) and listed %zu transfers, the "
            "metadata %zu moves\n", MOVE_WAIT_MS / 1000, completed, (double) bytes / MIB,
            pending, moves);
    return -1;
}

/*  ------------------------------------------------------------------
 *  The joining node's log  */

typedef struct {
    fl_bench_t *bench;                  /* one sample per partition */
    uint64_t *receiving_ms;             /* by partition, 0: not started */
    uint64_t first_ms, last_ms;
    uint64_t bytes, records;
    size_t partitions;
} s_moved_t;

/*  Milliseconds since the epoch of the line's ts=, 0 when it has none. */
static uint64_t
s_log_ms(const char *line)
{
    const char *ts = strstr(line, "ts=");
    struct tm tm = { .tm_sec = 0 };
    int ms = 0;
    if (!ts || sscanf(ts + 3, "%d-%d-%dT%d:%d:%d.%dZ", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
                      &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &ms) != 7)
        return 0;
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    return (uint64_t) timegm(&tm) * 1000 + (uint64_t) ms;
}

/*  The number after " NAME=" in LINE; UINT64_MAX when absent.  */
static uint64_t
s_log_field(const char *line, const char *name)
{
    char pattern[32];
    snprintf(pattern, sizeof pattern, " %s=", name);
    const char *p = strstr(line, pattern);
    return p ? strtoull(p + strlen(pattern), NULL, 10) : UINT64_MAX;
}

static void
s_log_line(s_moved_t *moved, const char *line, uint32_t partitions)
{
    bool receiving = strstr(line, "msg=\"receiving a partition\"") != NULL;
    bool received = strstr(line, "msg=\"partition received\"") != NULL;
    uint64_t p = s_log_field(line, "partition"), ms = s_log_ms(line);
    if ((!receiving && !received) || p >= partitions || !ms)
        return;
    if (receiving) {
        /*  A transfer started again (its source unreachable) counts from
         *  its last start.  */
        moved->receiving_ms[p] = ms;
        if (!moved->first_ms || ms < moved->first_ms)
            moved->first_ms = ms;
        return;
    }
    if (moved->receiving_ms[p])
        fl_bench_record(moved->bench, (ms - moved->receiving_ms[p]) * 1000);
    moved->receiving_ms[p] = 0;
    if (ms > moved->last_ms)
        moved->last_ms = ms;
    uint64_t bytes = s_log_field(line, "bytes"), records = s_log_field(line, "records");
    moved->bytes += bytes == UINT64_MAX ? 0 : bytes;
    moved->records += records == UINT64_MAX ? 0 : records;
    moved->partitions++;
}

/*  Reads the partitions received from the log at PATH into MOVED.  */
static int
s_read_moves(const char *path, uint32_t partitions, s_moved_t *moved)
{
    FILE *in = fopen(path, "r");
    moved->receiving_ms = calloc(partitions, sizeof *moved->receiving_ms);
    if (!in || !moved->receiving_ms) {
        fprintf(stderr, "bench_handoff: cannot read %s\n", path);
        if (in)
            fclose(in);
        return -1;
    }
    char line[2048];
    while (fgets(line, sizeof line, in))
        s_log_line(moved, line, partitions);
    fclose(in);
    fl_bench_span(moved->bench, moved->first_ms * 1000, moved->last_ms * 1000);
    return moved->partitions ? 0 : -1;
}

/*  Prints how many warnings and errors the node NAME logged at PATH, and
 *  the first few.  */
static void
s_log_problems(const char *name, const char *path)
{
    FILE *in = fopen(path, "r");
    if (!in)
        return;
    size_t warnings = 0, errors = 0;
    char line[2048];
    while (fgets(line, sizeof line, in)) {
        bool warn = strstr(line, " level=warn ") != NULL;
        bool error = strstr(line, " level=error ") != NULL;
        if ((warn || error) && warnings + errors < PROBLEMS_SHOWN)
            printf("  %s logged: %s", name, line);
        warnings += warn;
        errors += error;
    }
    fclose(in);
    if (warnings || errors)
        printf("  %s logged %zu warnings and %zu errors\n", name, warnings, errors);
}

/*  ------------------------------------------------------------------
 *  The runs  */

/*  Starts NODE joining FIRST with the handoff throttled to RATE_KB KiB/s
 *  (0: no limit), logging to a file in its directory (into LOG), waits
 *  for the partitions to move to it, and reads them from its log.  */
static int
s_join(const s_opts_t *opts, const fl_benchnode_t *first, fl_benchnode_t *node, size_t members,
       uint32_t rate_kb, s_moved_t *moved, char *log, size_t loglen, uint64_t *bytes_moved)
{
    char dir[sizeof node->dir], key[sizeof first->dir + 32], rate[16], chunk[16], parts[16];
    if (fl_bench_tmpdir(dir, sizeof dir) != 0)
        return -1;
    snprintf(log, loglen, "%s/flowd.log", dir);
    snprintf(key, sizeof key, "%s/keys/join.key", first->dir);
    snprintf(rate, sizeof rate, "%u", rate_kb);
    snprintf(chunk, sizeof chunk, "%u", CHUNK_KB);
    snprintf(parts, sizeof parts, "%u", opts->partitions);
    const char *flags[] = { "--join", first->peer, "--join-key", key, "--partitions", parts,
                            "--handoff-rate-kb", rate, "--handoff-chunk-kb", chunk,
                            "--log-level", "info", "--log-file", log, NULL };
    if (fl_benchnode_start_in(node, dir, opts->flowd, flags) != 0) {
        fprintf(stderr, "bench_handoff: the joining node did not start\n");
        return -1;
    }
    if (s_wait_moved(opts, first, node, members) != 0)
        return -1;
    static const char *const transfers[] = { "cluster", "transfers", NULL };
    if (s_ctl(opts, node, transfers) != 0)
        return -1;
    *bytes_moved = s_json_u64(s_ctl_out, "bytes_moved");
    if (s_read_moves(log, opts->partitions, moved) != 0) {
        fprintf(stderr, "bench_handoff: no partition received in %s\n", log);
        return -1;
    }
    return 0;
}

static double
s_moved_mib_s(const s_moved_t *moved, uint64_t bytes)
{
    uint64_t ms = moved->last_ms - moved->first_ms;
    return ms ? (double) bytes / MIB / ((double) ms / 1000.0) : 0.0;
}

static void
s_report_moved(const s_moved_t *moved, uint64_t bytes_moved)
{
    fl_bench_report(moved->bench, stdout);
    printf("  %.1f MiB (%" PRIu64 " records) in %.2f s: %.1f MiB/s; %zu partitions moved"
           "%s\n", (double) bytes_moved / MIB, moved->records,
           (double) (moved->last_ms - moved->first_ms) / 1000.0,
           s_moved_mib_s(moved, bytes_moved), moved->partitions,
           moved->bytes == bytes_moved ? "" : " (the log's bytes differ from bytes_moved)");
}

/*  (b) and (c): A on the filled directory DIR, B joining it, then C
 *  throttled; against LOCAL_MIB_S, the baseline's throughput.  */
static int
s_handoffs(const s_opts_t *opts, const char *dir, double local_mib_s)
{
    fl_benchnode_t nodes[3];
    memset(nodes, 0, sizeof nodes);
    char logs[3][600], parts[16];
    snprintf(logs[0], sizeof logs[0], "%s/flowd.log", dir);
    snprintf(parts, sizeof parts, "%u", opts->partitions);
    const char *flags[] = { "--partitions", parts, "--log-level", "info", "--log-file",
                            logs[0], NULL };
    s_moved_t moved[3] = { { NULL } };
    uint64_t bytes[3] = { 0 };
    const char *names[3] = { "A", "B", "C" };
    size_t started = 1;
    int rc = fl_benchnode_start_in(&nodes[0], dir, opts->flowd, flags);
    if (rc != 0)
        fprintf(stderr, "bench_handoff: flowd did not start on the filled directory\n");
    if (rc == 0)
        rc = s_wait_leader(opts, &nodes[0]);
    if (rc == 0) {
        started = 2;
        rc = fl_bench_new("handoff to a joining node, no throttle (per partition)",
                          &moved[1].bench);
    }
    if (rc == 0)
        rc = s_join(opts, &nodes[0], &nodes[1], 2, 0, &moved[1], logs[1], sizeof logs[1],
                    &bytes[1]);
    if (rc == 0) {
        s_report_moved(&moved[1], bytes[1]);
        printf("ratio handoff/local copy throughput: %.2f (goal >= 0.5)\n",
               s_moved_mib_s(&moved[1], bytes[1]) / local_mib_s);
    }
    if (rc == 0 && opts->rate_kb) {
        started = 3;
        char name[96];
        snprintf(name, sizeof name, "handoff to a third node, throttled to %u KiB/s "
                 "(per partition)", opts->rate_kb);
        rc = fl_bench_new(name, &moved[2].bench);
        if (rc == 0)
            rc = s_join(opts, &nodes[0], &nodes[2], 3, opts->rate_kb, &moved[2], logs[2],
                        sizeof logs[2], &bytes[2]);
        if (rc == 0) {
            s_report_moved(&moved[2], bytes[2]);
            double limit = opts->rate_kb / 1024.0;
            printf("throttled handoff: %.1f MiB/s against the limit of %.1f MiB/s (%.2f of "
                   "it)\n", s_moved_mib_s(&moved[2], bytes[2]), limit,
                   s_moved_mib_s(&moved[2], bytes[2]) / limit);
        }
    }
    for (size_t i = started; i-- > 0;) {
        fl_benchnode_stop(&nodes[i]);
        if (nodes[i].dir[0])
            s_log_problems(names[i], logs[i]);
        fl_benchnode_remove(&nodes[i]);
        fl_bench_destroy(&moved[i].bench);
        free(moved[i].receiving_ms);
    }
    return rc;
}

/*  ------------------------------------------------------------------
 *  Main  */

static int
s_number(const char *text, uint32_t min, uint32_t max, uint32_t *out)
{
    char *end = NULL;
    unsigned long n = strtoul(text, &end, 10);
    if (!text[0] || *end || n < min || n > max)
        return -1;
    *out = (uint32_t) n;
    return 0;
}

static int
s_args(int argc, char **argv, s_opts_t *opts)
{
    *opts = (s_opts_t) { .flowd = getenv("FLOWD"), .mib = DEFAULT_MIB,
                         .partitions = DEFAULT_PARTITIONS, .rate_kb = DEFAULT_RATE_KB };
    const char *flowctl = getenv("FLOWCTL");
    int rc = argc % 2 == 1 ? 0 : -1;
    for (int i = 1; i + 1 < argc && rc == 0; i += 2) {
        if (streq(argv[i], "--flowd"))
            opts->flowd = argv[i + 1];
        else
        if (streq(argv[i], "--flowctl"))
            flowctl = argv[i + 1];
        else
        if (streq(argv[i], "--mib"))
            rc = s_number(argv[i + 1], 1, 65536, &opts->mib);
        else
        if (streq(argv[i], "--partitions"))
            rc = s_number(argv[i + 1], 1, FL_KEYSPACE_MAX_PARTITIONS, &opts->partitions);
        else
        if (streq(argv[i], "--rate-kb"))
            rc = s_number(argv[i + 1], 0, 1u << 30, &opts->rate_kb);
        else
            rc = -1;
    }
    if (rc == 0 && !opts->flowd)
        rc = -1;
    if (rc == 0 && flowctl)
        snprintf(opts->flowctl, sizeof opts->flowctl, "%s", flowctl);
    else
    if (rc == 0) {
        const char *slash = strrchr(opts->flowd, '/');
        snprintf(opts->flowctl, sizeof opts->flowctl, "%.*sclients/flowctl",
                 slash ? (int) (slash - opts->flowd + 1) : 0, opts->flowd);
    }
    if (rc != 0)
        fprintf(stderr, "usage: bench_handoff --flowd PATH [--flowctl PATH] [--mib N] "
                "[--partitions P] [--rate-kb K (0: no throttled run)]\n");
    return rc;
}

int
main(int argc, char **argv)
{
    s_opts_t opts;
    if (s_args(argc, argv, &opts) != 0)
        return 2;
    if (sodium_init() < 0)
        return 1;
    zsys_handler_set(NULL);
    fl_log_set_level(FL_LOG_WARN);      /* the stores' "opened" lines */
    s_ctl_out = malloc(CTL_OUT_BYTES);
    char dir[sizeof ((fl_benchnode_t *) NULL)->dir];
    if (!s_ctl_out || fl_bench_tmpdir(dir, sizeof dir) != 0)
        return 1;
    uint64_t records = 0, bytes = 0, copy_us = 0;
    uint64_t t0 = fl_bench_now_us();
    int rc = s_fill(dir, &opts, &records);
    if (rc == 0)
        printf("data: %u MiB, %" PRIu64 " records of %d-%d bytes in \"%s\" and \"%s\", "
               "%u partitions (filled in %.1f s)\n", opts.mib, records, VALUE_MIN, VALUE_MAX,
               s_dbs[0], s_dbs[1], opts.partitions, (double) (fl_bench_now_us() - t0) / 1e6);
    fl_bench_t *local = NULL;
    if (rc == 0)
        rc = fl_bench_new("local copy, 1 MiB chunks, fsync each (per partition)", &local);
    if (rc == 0)
        rc = s_copy_local(dir, &opts, local, &bytes, &copy_us);
    double local_mib_s = 0.0;
    if (rc == 0) {
        local_mib_s = (double) bytes / MIB / ((double) copy_us / 1e6);
        fl_bench_report(local, stdout);
        printf("  %.1f MiB in %.2f s: %.1f MiB/s\n", (double) bytes / MIB,
               (double) copy_us / 1e6, local_mib_s);
    }
    fl_bench_destroy(&local);
    if (rc != 0) {
        fprintf(stderr, "bench_handoff: %s\n", fl_strerror(rc));
        fl_bench_rmdir(dir);
        free(s_ctl_out);
        return 1;
    }
    fflush(stdout);
    rc = s_handoffs(&opts, dir, local_mib_s);
    free(s_ctl_out);
    return rc == 0 ? 0 : 1;
}
