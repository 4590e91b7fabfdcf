/*  bench_cluster — requests through a node that does not own their data.
 *
 *  Starts a cluster of two flowd processes here (the second joins through
 *  the first, which holds every partition) and sends the same routed
 *  pings (through the user actor, each to another key) to the owner and
 *  to the other node, which forwards them over the peer sockets.  Prints
 *  throughput and p50/p99 for both, 1 and 64 in flight, and the ratio
 *  non-owner / owner (goal: throughput at least 0.7).
 *
 *      bench_cluster [--flowd PATH] [--requests N]
 */
#include "tests/bench/benchnode.h"
#include "tests/bench/pinger.h"

#include <czmq.h>
#include <unistd.h>

static int s_requests = 20000;

static int
s_start(const char *flowd, fl_benchnode_t *owner, fl_benchnode_t *other)
{
    static const char *const flags[] = { "--rate-requests-per-s", "10000000", NULL };
    if (fl_benchnode_start(owner, flowd, flags) != 0)
        return -1;
    /*  The cluster exists once the first node leads; a join before that
     *  is refused, so wait for the join credential's cluster to form.  */
    usleep(500 * 1000);
    char key[400];
    snprintf(key, sizeof key, "%s/keys/join.key", owner->dir);
    const char *join[] = { "--rate-requests-per-s", "10000000", "--join", owner->peer,
                           "--join-key", key, NULL };
    return fl_benchnode_start(other, flowd, join);
}

int
main(int argc, char **argv)
{
    const char *flowd = NULL;
    if (fl_pings_args(argc, argv, "bench_cluster", &flowd, &s_requests) != 0)
        return 2;
    zsys_handler_set(NULL);
    fl_benchnode_t owner, other;
    int rc = s_start(flowd, &owner, &other);
    if (rc != 0)
        fprintf(stderr, "bench_cluster: the cluster did not start\n");
    static const int windows[] = { 1, FL_PINGS_WINDOW_MAX };
    for (size_t w = 0; w < 2 && rc == 0; w++) {
        fl_bench_t *direct = NULL, *forwarded = NULL;
        char name[96];
        snprintf(name, sizeof name, "ping via user actor at the owner, %d in flight", windows[w]);
        fl_bench_new(name, &direct);
        snprintf(name, sizeof name, "ping via user actor at a non-owner, %d in flight",
                 windows[w]);
        fl_bench_new(name, &forwarded);
        rc = fl_pings(owner.client, FLOW__ACTOR__ACTOR_USER, "", windows[w], s_requests, direct);
        if (rc == 0)
            rc = fl_pings(other.client, FLOW__ACTOR__ACTOR_USER, "", windows[w], s_requests,
                          forwarded);
        if (rc == 0) {
            fl_bench_report(direct, stdout);
            fl_bench_report(forwarded, stdout);
            printf("ratio non-owner/owner (%d in flight): throughput %.2f, p99 %.2fx\n",
                   windows[w], fl_bench_ops_per_s(forwarded) / fl_bench_ops_per_s(direct),
                   (double) fl_bench_percentile(forwarded, 99)
                   / (double) (fl_bench_percentile(direct, 99) ? fl_bench_percentile(direct, 99)
                                                                : 1));
        }
        fl_bench_destroy(&direct);
        fl_bench_destroy(&forwarded);
    }
    fl_benchnode_stop(&other);
    fl_benchnode_stop(&owner);
    fl_benchnode_remove(&other);
    fl_benchnode_remove(&owner);
    return rc == 0 ? 0 : 1;
}
