/*  tests/bench/bench_commit.c — what group commit buys.
 *
 *  N durable (fsync) writes of ~200-byte protobuf records, twice, into a
 *  fresh store in a temporary directory:
 *   (a) grouped, 64 writes per transaction; a write's latency runs from
 *       its batch's start to the commit's return, which is what the client
 *       of an actor that batches its inbox waits;
 *   (b) one write per transaction.
 *  The figure to watch is the ratio of the two throughputs, measured in the
 *  same run on the same disk; absolute numbers only describe this machine.
 *
 *      bench_commit [--writes N]
 */
#include "tests/bench/benchlib.h"
#include "storage/codec.h"
#include "storage/keyspace.h"
#include "storage/store.h"
#include "node/error.h"

#include "storage.pb-c.h"

#include <stdlib.h>
#include <string.h>

#define DEFAULT_WRITES 1024
#define GROUP 64
#define NODE_ID_BYTES 180

typedef struct {
    MDB_dbi dbi;
    const ProtobufCMessage *record;
    uint32_t first;
    uint32_t count;
} s_batch_t;

static int
s_batch_apply(MDB_txn *txn, void *arg)
{
    const s_batch_t *batch = arg;
    for (uint32_t i = batch->first; i < batch->first + batch->count; i++) {
        char suffix[16];
        uint8_t buf[32];
        int slen = snprintf(suffix, sizeof suffix, "w%010u", i);
        int klen = fl_keyspace_key((uint16_t) (i % 1024), suffix, (size_t) slen, buf, sizeof buf);
        if (klen < 0)
            return klen;
        MDB_val key = { .mv_size = (size_t) klen, .mv_data = buf };
        int rc = fl_codec_put(txn, batch->dbi, &key, batch->record);
        if (rc != 0)
            return rc;
    }
    return 0;
}

/*  Runs WRITES writes in transactions of GROUP_SIZE, starting at key
 *  FIRST, recording one latency per write.  */
static int
s_run(fl_store_t *store, s_batch_t batch, uint32_t writes, uint32_t group_size,
      fl_bench_t *bench)
{
    uint32_t end = batch.first + writes;
    fl_bench_start(bench);
    for (uint32_t at = batch.first; at < end; at += group_size) {
        batch.first = at;
        batch.count = end - at < group_size ? end - at : group_size;
        uint64_t t0 = fl_bench_now_us();
        int rc = fl_store_write(store, s_batch_apply, &batch);
        if (rc != 0)
            return rc;
        uint64_t latency = fl_bench_now_us() - t0;
        for (uint32_t i = 0; i < batch.count && rc == 0; i++)
            rc = fl_bench_record(bench, latency);
        if (rc != 0)
            return rc;
    }
    fl_bench_stop(bench);
    return 0;
}

static int
s_parse_writes(int argc, char **argv, uint32_t *writes)
{
    *writes = DEFAULT_WRITES;
    if (argc == 1)
        return 0;
    if (argc != 3 || strcmp(argv[1], "--writes") != 0)
        return FL_E_INVAL;
    char *end = NULL;
    unsigned long n = strtoul(argv[2], &end, 10);
    if (*end != 0 || n == 0 || n > 100000000)
        return FL_E_INVAL;
    *writes = (uint32_t) n;
    return 0;
}

static int
s_bench(const char *dir, uint32_t writes)
{
    fl_store_t *store = NULL;
    fl_bench_t *group = NULL, *single = NULL;
    MDB_dbi dbi = 0;
    char node_id[NODE_ID_BYTES + 1];
    memset(node_id, 'n', NODE_ID_BYTES);
    node_id[NODE_ID_BYTES] = 0;
    Flow__Storage__NodeMeta record = FLOW__STORAGE__NODE_META__INIT;
    record.record_version = 1;
    record.node_id = node_id;
    record.partitions = 1024;
    record.created_ms = 1790000000000ULL;

    int rc = fl_store_open(dir, NULL, &store);
    if (rc == 0)
        rc = fl_store_dbi(store, "bench", &dbi);
    if (rc == 0)
        rc = fl_bench_new("group commit (64 per txn)", &group);
    if (rc == 0)
        rc = fl_bench_new("single commit (1 per txn)", &single);
    s_batch_t batch = { .dbi = dbi, .record = &record.base };
    if (rc == 0)
        rc = s_run(store, batch, writes, GROUP, group);
    batch.first = writes;
    if (rc == 0)
        rc = s_run(store, batch, writes, 1, single);
    if (rc == 0) {
        printf("record: %zu bytes, fsync on\n", protobuf_c_message_get_packed_size(&record.base));
        fl_bench_report(group, stdout);
        fl_bench_report(single, stdout);
        printf("ratio group/single throughput: %.1f\n",
               fl_bench_ops_per_s(group) / fl_bench_ops_per_s(single));
    }
    fl_bench_destroy(&group);
    fl_bench_destroy(&single);
    fl_store_destroy(&store);
    return rc;
}

int
main(int argc, char **argv)
{
    uint32_t writes;
    if (s_parse_writes(argc, argv, &writes) != 0) {
        fprintf(stderr, "usage: bench_commit [--writes N]\n");
        return 2;
    }
    char dir[512];
    if (fl_bench_tmpdir(dir, sizeof dir) != 0)
        return 1;
    int rc = s_bench(dir, writes);
    fl_bench_rmdir(dir);
    if (rc != 0) {
        fprintf(stderr, "bench_commit: %s\n", fl_strerror(rc));
        return 1;
    }
    return 0;
}
