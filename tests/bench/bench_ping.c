/*  bench_ping — request round trips through a real flowd.
 *
 *  Baseline: a bare ZeroMQ DEALER/ROUTER echo over TCP loopback in this
 *  process, the floor any request to flowd stands on.  Then, against a
 *  flowd started here on kernel-chosen ports: pings answered by the
 *  session, pings routed through a data actor, and both kinds with 64
 *  requests in flight, and signed-in pings carrying an access token (the
 *  token is verified on every one).  Each figure is reported with p50/p99
 *  and as a ratio of the baseline measured in the same run; signed-in
 *  pings also as a ratio of anonymous ones.
 *
 *      bench_ping [--flowd PATH] [--requests N]
 */
#include "clients/libflow.h"
#include "tests/bench/benchlib.h"
#include "tests/bench/benchnode.h"
#include "tests/bench/pinger.h"

#include <czmq.h>

#define WINDOW 64

static int s_requests = 20000;

/*  ------------------------------------------------------------------
 *  Baseline: bare echo  */

static void
s_echo_task(zsock_t *pipe, void *arg)
{
    zsock_t *router = arg;
    zsock_signal(pipe, 0);
    zpoller_t *poller = zpoller_new(pipe, router, NULL);
    while (zpoller_wait(poller, -1) == router) {
        zmsg_t *msg = zmsg_recv(router);
        zmsg_send(&msg, router);
    }
    zpoller_destroy(&poller);
}

static void
s_measure_echo(const char *endpoint, int window, fl_bench_t *bench)
{
    zsock_t *dealer = zsock_new_dealer(endpoint);
    uint8_t payload[16] = { 0 };
    uint64_t sent_at[WINDOW];
    int sent = 0, got = 0;
    fl_bench_start(bench);
    while (got < s_requests) {
        while (sent < s_requests && sent - got < window) {
            sent_at[sent % WINDOW] = fl_bench_now_us();
            memcpy(payload, &sent, sizeof sent);
            zframe_t *frame = zframe_new(payload, sizeof payload);
            zframe_send(&frame, dealer, 0);
            sent++;
        }
        zframe_t *frame = zframe_recv(dealer);
        int which;
        memcpy(&which, zframe_data(frame), sizeof which);
        zframe_destroy(&frame);
        fl_bench_record(bench, fl_bench_now_us() - sent_at[which % WINDOW]);
        got++;
    }
    fl_bench_stop(bench);
    zsock_destroy(&dealer);
}

/*  ------------------------------------------------------------------
 *  flowd  */

static void
s_report_ratio(fl_bench_t *bench, fl_bench_t *base)
{
    fl_bench_report(bench, stdout);
    uint64_t base_p50 = fl_bench_percentile(base, 50);
    printf("  ratio to bare echo: throughput %.2f, p50 latency %.2fx\n",
           fl_bench_ops_per_s(bench) / fl_bench_ops_per_s(base),
           (double) fl_bench_percentile(bench, 50) / (double) (base_p50 ? base_p50 : 1));
}

int
main(int argc, char **argv)
{
    const char *flowd = NULL;
    if (fl_pings_args(argc, argv, "bench_ping", &flowd, &s_requests) != 0)
        return 2;
    zsys_handler_set(NULL);

    /*  The echo socket moves to the echo thread; read its endpoint first. */
    zsock_t *router = zsock_new_router("tcp://127.0.0.1:*");
    char echo_ep[128];
    snprintf(echo_ep, sizeof echo_ep, "%s", zsock_endpoint(router));
    zactor_t *echo = zactor_new(s_echo_task, router);

    static const char *const flags[] = { "--rate-requests-per-s", "10000000", NULL };
    fl_benchnode_t node;
    if (fl_benchnode_start(&node, flowd, flags) != 0) {
        fprintf(stderr, "bench_ping: flowd did not start\n");
        fl_benchnode_stop(&node);
        fl_benchnode_remove(&node);
        return 1;
    }

    char token[600];
    if (fl_pings_sign_up(node.client, token, sizeof token) != 0) {
        fl_benchnode_stop(&node);
        fl_benchnode_remove(&node);
        return 1;
    }
    const struct {
        const char *name;
        int window;
        Flow__Actor actor;    /* UNSPECIFIED for the echo baseline */
        bool baseline;
        bool signed_in;
    } runs[] = {
        { "echo (bare zmq), 1 in flight", 1, 0, true, false },
        { "ping session, 1 in flight", 1, FLOW__ACTOR__ACTOR_UNSPECIFIED, false, false },
        { "ping session signed in, 1 in flight", 1, FLOW__ACTOR__ACTOR_UNSPECIFIED, false, true },
        { "ping via user actor, 1 in flight", 1, FLOW__ACTOR__ACTOR_USER, false, false },
        { "echo (bare zmq), 64 in flight", WINDOW, 0, true, false },
        { "ping session, 64 in flight", WINDOW, FLOW__ACTOR__ACTOR_UNSPECIFIED, false, false },
        { "ping session signed in, 64 in flight", WINDOW, FLOW__ACTOR__ACTOR_UNSPECIFIED, false,
          true },
        { "ping via user actor, 64 in flight", WINDOW, FLOW__ACTOR__ACTOR_USER, false, false },
    };
    fl_bench_t *base = NULL, *anonymous = NULL;
    int rc = 0;
    for (size_t r = 0; r < sizeof runs / sizeof runs[0] && rc == 0; r++) {
        fl_bench_t *bench = NULL;
        fl_bench_new(runs[r].name, &bench);
        if (runs[r].baseline) {
            s_measure_echo(echo_ep, runs[r].window, bench);
            fl_bench_report(bench, stdout);
            fl_bench_destroy(&base);
            base = bench;
            continue;
        }
        rc = fl_pings(node.client, runs[r].actor, runs[r].signed_in ? token : "",
                      runs[r].window, s_requests, NULL, 0, bench);
        s_report_ratio(bench, base);
        if (runs[r].signed_in && anonymous)
            printf("  ratio signed-in/anonymous throughput: %.2f\n",
                   fl_bench_ops_per_s(bench) / fl_bench_ops_per_s(anonymous));
        if (!runs[r].signed_in && runs[r].actor == FLOW__ACTOR__ACTOR_UNSPECIFIED) {
            fl_bench_destroy(&anonymous);
            anonymous = bench;
        }
        else
            fl_bench_destroy(&bench);
    }
    fl_bench_destroy(&anonymous);
    fl_bench_destroy(&base);
    fl_benchnode_stop(&node);
    fl_benchnode_remove(&node);
    zactor_destroy(&echo);
    zsock_destroy(&router);
    return rc == 0 ? 0 : 1;
}
