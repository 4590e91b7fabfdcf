/*  tests/bench/bench_token.c — access token verification on one thread.
 *
 *  Every authenticated request verifies its access token on the session
 *  actor's thread, so verification bounds what one core can admit; the
 *  goal is at least 1,000,000 verifications per second per core.  The
 *  baseline, measured in the same run, is one bare keyed BLAKE2b-256
 *  (crypto_generichash) over the same signed text the verifier MACs: the
 *  floor of any MAC check, so the ratio verify/baseline is what the
 *  decoding, the constant-time compare and the claims cost on top.  Also
 *  reported: verification answered by the session's verified-token cache
 *  (fl_token_cache_verify, every call a hit after the first, as for a
 *  client that sends the same token with each request), and signing.
 *
 *  Latency: operations run in batches of 64 between two clock reads, and
 *  each batch gives one sample of batch time / 64, so p50 and p99 are of
 *  the per-operation time averaged over a batch.  They are printed in
 *  nanoseconds, since one operation takes about a microsecond, too near
 *  the whole microseconds benchlib's own report prints.
 *
 *      bench_token [--ops N]        (N rounded up to a multiple of 64)
 */
#include "tests/bench/benchlib.h"
#include "node/error.h"
#include "node/token.h"

#include <inttypes.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define DEFAULT_OPS 1000000
#define MAX_OPS 1000000000UL
#define BATCH 64
#define GOAL_PER_S 1000000.0

typedef struct {
    uint8_t key[FL_TOKEN_KEY_BYTES];
    fl_claims_t claims;
    char token[FL_TOKEN_MAX];
    size_t signed_len;          /* the text the MAC covers */
    uint64_t now_s;
    fl_token_cache_t *cache;
} s_input_t;

/*  Where each run leaves what it derived from its results, so the compiler
 *  cannot drop the work.  */
static volatile uint64_t s_sink;

/*  One operation; returns 0 or an error code, and adds something derived
 *  from its result to *SINK.  */
typedef int (s_op_fn)(const s_input_t *in, uint64_t *sink);

static int
s_verify(const s_input_t *in, uint64_t *sink)
{
    fl_claims_t claims = { .expires_s = 0 };
    int rc = fl_token_verify(in->key, in->token, in->now_s, &claims);
    *sink += claims.expires_s;
    return rc;
}

static int
s_verify_cached(const s_input_t *in, uint64_t *sink)
{
    fl_claims_t claims = { .expires_s = 0 };
    int rc = fl_token_cache_verify(in->cache, in->key, in->token, in->now_s, &claims);
    *sink += claims.expires_s;
    return rc;
}

static int
s_sign(const s_input_t *in, uint64_t *sink)
{
    char out[FL_TOKEN_MAX];
    int rc = fl_token_sign(in->key, &in->claims, out);
    *sink += (uint8_t) out[in->signed_len + 1];
    return rc;
}

static int
s_bare_mac(const s_input_t *in, uint64_t *sink)
{
    uint8_t mac[32];
    crypto_generichash(mac, sizeof mac, (const uint8_t *) in->token, in->signed_len, in->key,
                       sizeof in->key);
    *sink += mac[0];
    return 0;
}

static uint64_t
s_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t) ts.tv_sec * 1000000000 + (uint64_t) ts.tv_nsec;
}

/*  Runs OPS operations (a multiple of BATCH) of OP, one sample per batch.  */
static int
s_run(s_op_fn *op, const s_input_t *in, uint64_t ops, fl_bench_t *bench)
{
    uint64_t sink = 0;
    int rc = 0;
    fl_bench_start(bench);
    for (uint64_t done = 0; done < ops && rc == 0; done += BATCH) {
        uint64_t t0 = s_now_ns();
        for (int i = 0; i < BATCH; i++) {
            int op_rc = op(in, &sink);
            if (op_rc != 0)
                rc = op_rc;
        }
        uint64_t per_op_ns = (s_now_ns() - t0) / BATCH;
        if (rc == 0)
            rc = fl_bench_record(bench, per_op_ns);
    }
    fl_bench_stop(bench);
    s_sink = sink;
    return rc;
}

/*  Prints the benchlib line of NAME for OPS operations, per operation (each
 *  sample stands for BATCH of them), and returns the operations per
 *  second.  */
static double
s_report(fl_bench_t *bench, const char *name, uint64_t ops)
{
    double per_s = fl_bench_ops_per_s(bench) * BATCH;
    printf("%s: %" PRIu64 " ops, %.0f ops/s, p50 %" PRIu64 " ns, p99 %" PRIu64 " ns\n",
           name, ops, per_s, fl_bench_percentile(bench, 50),
           fl_bench_percentile(bench, 99));
    return per_s;
}

static int
s_input(s_input_t *in)
{
    randombytes_buf(in->key, sizeof in->key);
    memset(&in->claims, 0, sizeof in->claims);
    fl_token_random_id(in->claims.user_id, 8);
    fl_token_random_id(in->claims.session_id, 16);
    in->claims.role = FLOW__ROLE__ROLE_USER;
    in->now_s = (uint64_t) time(NULL);
    in->claims.expires_s = in->now_s + 900;
    int rc = fl_token_sign(in->key, &in->claims, in->token);
    if (rc != 0)
        return rc;
    in->signed_len = (size_t) (strchr(in->token + 3, '.') - in->token);
    fl_claims_t check;
    rc = fl_token_verify(in->key, in->token, in->now_s, &check);
    if (rc != 0)
        return rc;
    in->cache = fl_token_cache_new(4096);
    return in->cache ? 0 : FL_E_NOMEM;
}

static int
s_parse_ops(int argc, char **argv, uint64_t *ops)
{
    *ops = DEFAULT_OPS;
    if (argc == 3 && strcmp(argv[1], "--ops") == 0) {
        char *end = NULL;
        unsigned long n = strtoul(argv[2], &end, 10);
        if (*end != '\0' || n == 0 || n > MAX_OPS)
            return FL_E_INVAL;
        *ops = n;
    } else if (argc != 1) {
        return FL_E_INVAL;
    }
    *ops = (*ops + BATCH - 1) / BATCH * BATCH;
    return 0;
}

static void
s_goal(const char *what, double per_s)
{
    printf("goal %.0f verifications/s on one core, %s: %s (%.2fx)\n", GOAL_PER_S, what,
           per_s >= GOAL_PER_S ? "met" : "NOT met", per_s / GOAL_PER_S);
}

/*  Measures NAME: OPS operations of OP into a fresh bench, reported.
 *  Returns 0 or an error code; the operations per second into *PER_S.  */
static int
s_measure(const char *name, s_op_fn *op, const s_input_t *in, uint64_t ops, double *per_s)
{
    fl_bench_t *bench = NULL;
    int rc = fl_bench_new(name, &bench);
    if (rc == 0)
        rc = s_run(op, in, ops, bench);
    if (rc == 0)
        *per_s = s_report(bench, name, ops);
    fl_bench_destroy(&bench);
    return rc;
}

int
main(int argc, char **argv)
{
    uint64_t ops;
    if (s_parse_ops(argc, argv, &ops) != 0) {
        fprintf(stderr, "usage: bench_token [--ops N]\n");
        return 2;
    }
    s_input_t in = { .cache = NULL };
    double mac = 0, verify = 0, cached = 0, sign = 0;
    int rc = sodium_init() < 0 ? FL_E_INVAL : s_input(&in);
    if (rc == 0)
        printf("token: %zu bytes, MAC over %zu; one thread\n", strlen(in.token), in.signed_len);
    if (rc == 0)
        rc = s_measure("bare keyed BLAKE2b-256", s_bare_mac, &in, ops, &mac);
    if (rc == 0)
        rc = s_measure("token verify", s_verify, &in, ops, &verify);
    if (rc == 0)
        rc = s_measure("token verify, cache hit", s_verify_cached, &in, ops, &cached);
    if (rc == 0)
        rc = s_measure("token sign", s_sign, &in, ops, &sign);
    fl_token_cache_destroy(&in.cache);
    if (rc != 0) {
        fprintf(stderr, "bench_token: %s\n", fl_strerror(rc));
        return 1;
    }
    printf("ratio verify/bare MAC throughput: %.2f\n", verify / mac);
    printf("ratio cache hit/bare MAC throughput: %.2f\n", cached / mac);
    printf("ratio sign/bare MAC throughput: %.2f\n", sign / mac);
    s_goal("verify", verify);
    s_goal("cache hit", cached);
    return 0;
}
