/*  tests/bench/bench_placement.c — balance, movement and cost of the
 *  partition placement.
 *
 *  For 3 to 16 nodes, P = 1024, N = 3, one row per node count: primaries
 *  per node (min, mean, max, max/mean), list positions per node
 *  (max/mean), and the primaries that move when the n-th node joins the
 *  n - 1 before it, against the ideal P/n.  Beside each figure of the
 *  placement (rendezvous with bounded loads, cluster/placement.c) stands
 *  the same figure for the baseline: plain rendezvous, each partition's N
 *  best-scoring nodes with no cap, from the same scores
 *  (fl_placement_score).
 *
 *  Then the time to compute a placement from the member list, both ways,
 *  ROUNDS times per node count in the same run: ops/s, p50 and p99 in
 *  microseconds, and the ratio of throughputs placement/plain (what the
 *  sort and the capped passes cost on top of the hashing).  Last, one
 *  placement at the limits: 65536 partitions onto 64 members.
 *
 *  Node ids look like flowd's ("n" and 16 hex digits) and are derived from
 *  their index, so every run places the same cluster.
 *
 *      bench_placement [--rounds N]
 */
#include "tests/bench/benchlib.h"
#include "cluster/placement.h"
#include "node/error.h"
#include "storage/keyspace.h"

#include <inttypes.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#define PARTITIONS FL_PLACEMENT_DEFAULT_PARTITIONS
#define REPLICAS FL_PLACEMENT_DEFAULT_REPLICAS
#define FIRST_NODES 3
#define LAST_NODES 16
#define DEFAULT_ROUNDS 200
#define MAX_ROUNDS 1000000UL
#define LIMIT_PARTITIONS 65536
#define LIMIT_ROUNDS 3

typedef struct {
    char ids[FL_PLACEMENT_MAX_MEMBERS][FL_PLACEMENT_ID_MAX];
    const char *members[FL_PLACEMENT_MAX_MEMBERS];
} s_cluster_t;

/*  One placement's figures, from either algorithm.  */
typedef struct {
    uint32_t min;
    uint32_t max;
    double max_mean;
    double held_max_mean;
} s_balance_t;

/*  Plain rendezvous: per partition, the indexes into MEMBERS of its LEN
 *  best-scoring members, best first.  */
typedef struct {
    uint32_t partitions;
    uint32_t len;
    uint8_t *owners;
} s_plain_t;

static void
s_cluster_init(s_cluster_t *cluster)
{
    for (size_t i = 0; i < FL_PLACEMENT_MAX_MEMBERS; i++) {
        char seed[32];
        int len = snprintf(seed, sizeof seed, "bench node %zu", i);
        snprintf(cluster->ids[i], sizeof cluster->ids[i], "n%016" PRIx64,
                 fl_keyspace_hash(seed, (size_t) len));
        cluster->members[i] = cluster->ids[i];
    }
}

static void
s_plain_destroy(s_plain_t **self_p)
{
    if (!*self_p)
        return;
    free((*self_p)->owners);
    free(*self_p);
    *self_p = NULL;
}

/*  Keeps each partition's LEN best scores by insertion into a short
 *  sorted list, which is all plain rendezvous does.  */
static s_plain_t *
s_plain_new(uint32_t partitions, uint32_t replicas, const char *const *members, size_t n)
{
    s_plain_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->partitions = partitions;
    self->len = replicas < n ? replicas : (uint32_t) n;
    self->owners = malloc((size_t) partitions * self->len);
    if (!self->owners) {
        s_plain_destroy(&self);
        return NULL;
    }
    for (uint32_t p = 0; p < partitions; p++) {
        uint8_t *owners = self->owners + (size_t) p * self->len;
        uint64_t best[FL_PLACEMENT_MAX_MEMBERS];
        uint32_t kept = 0;
        for (size_t m = 0; m < n; m++) {
            uint64_t score = fl_placement_score(p, members[m]);
            uint32_t at = kept < self->len ? kept++ : self->len;
            while (at > 0 && best[at - 1] < score) {
                if (at < self->len) {
                    best[at] = best[at - 1];
                    owners[at] = owners[at - 1];
                }
                at--;
            }
            if (at < self->len) {
                best[at] = score;
                owners[at] = (uint8_t) m;
            }
        }
    }
    return self;
}

static s_balance_t
s_balance(const uint32_t *primaries, const uint32_t *held, size_t n, uint32_t len)
{
    s_balance_t balance = { .min = UINT32_MAX, .max = 0 };
    uint32_t held_max = 0;
    for (size_t i = 0; i < n; i++) {
        balance.min = primaries[i] < balance.min ? primaries[i] : balance.min;
        balance.max = primaries[i] > balance.max ? primaries[i] : balance.max;
        held_max = held[i] > held_max ? held[i] : held_max;
    }
    double mean = (double) PARTITIONS / (double) n;
    balance.max_mean = balance.max / mean;
    balance.held_max_mean = held_max / (mean * len);
    return balance;
}

static s_balance_t
s_placement_balance(const fl_placement_t *placement, const s_cluster_t *cluster, size_t n)
{
    uint32_t primaries[FL_PLACEMENT_MAX_MEMBERS], held[FL_PLACEMENT_MAX_MEMBERS];
    for (size_t i = 0; i < n; i++) {
        primaries[i] = fl_placement_count(placement, cluster->members[i], true);
        held[i] = fl_placement_count(placement, cluster->members[i], false);
    }
    return s_balance(primaries, held, n, fl_placement_replicas(placement));
}

static s_balance_t
s_plain_balance(const s_plain_t *plain, size_t n)
{
    uint32_t primaries[FL_PLACEMENT_MAX_MEMBERS] = { 0 }, held[FL_PLACEMENT_MAX_MEMBERS] = { 0 };
    for (uint32_t p = 0; p < plain->partitions; p++) {
        const uint8_t *owners = plain->owners + (size_t) p * plain->len;
        primaries[owners[0]]++;
        for (uint32_t k = 0; k < plain->len; k++)
            held[owners[k]]++;
    }
    return s_balance(primaries, held, n, plain->len);
}

/*  Primaries that changed from BEFORE to AFTER; both index the same
 *  member array, AFTER with one member more.  */
static size_t
s_plain_moved(const s_plain_t *before, const s_plain_t *after)
{
    size_t moved = 0;
    for (uint32_t p = 0; p < before->partitions; p++)
        moved += before->owners[(size_t) p * before->len] != after->owners[(size_t) p * after->len];
    return moved;
}

static int
s_table(const s_cluster_t *cluster)
{
    printf("P = %d, N = %d.  Per node count: primaries per node (min, mean, max, max/mean), list\n"
           "positions per node (max/mean), primaries moved when the n-th node joins, against\n"
           "the ideal P/n.  'plain': plain rendezvous, no cap, same scores.\n", PARTITIONS, REPLICAS);
    printf("%5s %5s %7s %5s %9s %7s %10s %7s %7s %7s %7s %7s\n", "nodes", "min", "mean", "max",
           "max/mean", "plain", "lists m/m", "plain", "moved", "plain", "ideal", "ratio");
    size_t first = FIRST_NODES - 1;
    fl_placement_t *before = fl_placement_new(PARTITIONS, REPLICAS, cluster->members, first);
    s_plain_t *plain_before = s_plain_new(PARTITIONS, REPLICAS, cluster->members, first);
    int rc = before && plain_before ? 0 : FL_E_NOMEM;
    for (size_t n = FIRST_NODES; n <= LAST_NODES && rc == 0; n++) {
        fl_placement_t *after = fl_placement_new(PARTITIONS, REPLICAS, cluster->members, n);
        s_plain_t *plain_after = s_plain_new(PARTITIONS, REPLICAS, cluster->members, n);
        if (!after || !plain_after) {
            fl_placement_destroy(&after);
            s_plain_destroy(&plain_after);
            rc = FL_E_NOMEM;
            break;
        }
        s_balance_t bounded = s_placement_balance(after, cluster, n);
        s_balance_t plain = s_plain_balance(plain_after, n);
        size_t moved = fl_placement_moved(before, after, true);
        double ideal = (double) PARTITIONS / (double) n;
        printf("%5zu %5u %7.1f %5u %9.3f %7.3f %10.3f %7.3f %7zu %7zu %7.1f %7.2f\n",
               n, bounded.min, ideal, bounded.max, bounded.max_mean, plain.max_mean,
               bounded.held_max_mean, plain.held_max_mean, moved,
               s_plain_moved(plain_before, plain_after), ideal, moved / ideal);
        fl_placement_destroy(&before);
        s_plain_destroy(&plain_before);
        before = after;
        plain_before = plain_after;
    }
    fl_placement_destroy(&before);
    s_plain_destroy(&plain_before);
    return rc;
}

/*  Computes and frees ROUNDS placements of the first N members of
 *  CLUSTER onto PARTITIONS, the bounded way or the plain way, one latency
 *  sample each.  */
static int
s_time(const s_cluster_t *cluster, uint32_t partitions, size_t n, bool bounded,
       uint32_t rounds, fl_bench_t *bench)
{
    fl_bench_start(bench);
    for (uint32_t i = 0; i < rounds; i++) {
        uint64_t t0 = fl_bench_now_us();
        bool made;
        if (bounded) {
            fl_placement_t *placement = fl_placement_new(partitions, REPLICAS, cluster->members, n);
            made = placement != NULL;
            fl_placement_destroy(&placement);
        } else {
            s_plain_t *plain = s_plain_new(partitions, REPLICAS, cluster->members, n);
            made = plain != NULL;
            s_plain_destroy(&plain);
        }
        if (!made)
            return FL_E_NOMEM;
        int rc = fl_bench_record(bench, fl_bench_now_us() - t0);
        if (rc != 0)
            return rc;
    }
    fl_bench_stop(bench);
    return 0;
}

/*  Times both ways for N members; prints one row of the timing table or,
 *  with REPORT, benchlib's lines and the ratio.  */
static int
s_compare(const s_cluster_t *cluster, uint32_t partitions, size_t n, uint32_t rounds, bool report)
{
    char name[96];
    fl_bench_t *bounded = NULL, *plain = NULL;
    snprintf(name, sizeof name, "placement, %u partitions, %zu nodes", partitions, n);
    int rc = fl_bench_new(name, &bounded);
    snprintf(name, sizeof name, "plain rendezvous, %u partitions, %zu nodes", partitions, n);
    if (rc == 0)
        rc = fl_bench_new(name, &plain);
    if (rc == 0)
        rc = s_time(cluster, partitions, n, false, rounds, plain);
    if (rc == 0)
        rc = s_time(cluster, partitions, n, true, rounds, bounded);
    if (rc == 0 && report) {
        fl_bench_report(bounded, stdout);
        fl_bench_report(plain, stdout);
        printf("ratio placement/plain throughput: %.2f\n",
               fl_bench_ops_per_s(bounded) / fl_bench_ops_per_s(plain));
    } else if (rc == 0) {
        printf("%5zu %10.0f %7" PRIu64 " %7" PRIu64 " %10.0f %7" PRIu64 " %7" PRIu64 " %7.2f\n",
               n, fl_bench_ops_per_s(bounded), fl_bench_percentile(bounded, 50),
               fl_bench_percentile(bounded, 99), fl_bench_ops_per_s(plain),
               fl_bench_percentile(plain, 50), fl_bench_percentile(plain, 99),
               fl_bench_ops_per_s(bounded) / fl_bench_ops_per_s(plain));
    }
    fl_bench_destroy(&bounded);
    fl_bench_destroy(&plain);
    return rc;
}

static int
s_parse_rounds(int argc, char **argv, uint32_t *rounds)
{
    *rounds = DEFAULT_ROUNDS;
    if (argc == 1)
        return 0;
    if (argc != 3 || strcmp(argv[1], "--rounds") != 0)
        return FL_E_INVAL;
    char *end = NULL;
    unsigned long n = strtoul(argv[2], &end, 10);
    if (*end != '\0' || n == 0 || n > MAX_ROUNDS)
        return FL_E_INVAL;
    *rounds = (uint32_t) n;
    return 0;
}

int
main(int argc, char **argv)
{
    uint32_t rounds;
    if (s_parse_rounds(argc, argv, &rounds) != 0) {
        fprintf(stderr, "usage: bench_placement [--rounds N]\n");
        return 2;
    }
    s_cluster_t cluster;
    s_cluster_init(&cluster);
    int rc = s_table(&cluster);
    if (rc == 0) {
        printf("\ntime to compute a placement, %u rounds per row, us; ratio: placement/plain "
               "throughput\n", rounds);
        printf("%5s %10s %7s %7s %10s %7s %7s %7s\n", "nodes", "placed/s", "p50", "p99",
               "plain/s", "p50", "p99", "ratio");
    }
    for (size_t n = FIRST_NODES; n <= LAST_NODES && rc == 0; n++)
        rc = s_compare(&cluster, PARTITIONS, n, rounds, false);
    if (rc == 0) {
        printf("\n");
        rc = s_compare(&cluster, PARTITIONS, LAST_NODES, rounds, true);
    }
    if (rc == 0)
        rc = s_compare(&cluster, LIMIT_PARTITIONS, FL_PLACEMENT_MAX_MEMBERS, LIMIT_ROUNDS, true);
    if (rc != 0) {
        fprintf(stderr, "bench_placement: %s\n", fl_strerror(rc));
        return 1;
    }
    return 0;
}
