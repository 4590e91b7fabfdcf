/*  bench_cluster — requests through a node that does not own their data.
 *
 *  Starts a cluster of two flowd processes here (the second joins through
 *  the first; 64 partitions, so that handoff ends at once), waits until
 *  half the partitions have moved to the second, finds keys whose
 *  partition the first owns, and sends the same routed pings (through the
 *  user actor, over those keys) to the owner and to the other node, which
 *  forwards them over the peer sockets.  Prints throughput and p50/p99
 *  for both, 1 and 64 in flight, and the ratio non-owner / owner (goal:
 *  throughput at least 0.7).
 *
 *      bench_cluster [--flowd PATH] [--requests N]
 */
#include "tests/bench/benchnode.h"
#include "tests/bench/pinger.h"

#include <czmq.h>
#include <libgen.h>
#include <unistd.h>

#define KEYS 256
#define PROBES 4096
#define HANDOFF_WAIT_S 120

static int s_requests = 20000;

/*  True once the owner's metadata shows both members up and nothing
 *  moving, asked with flowctl (next to FLOWD in the build); waits up to
 *  HANDOFF_WAIT_S.  */
static bool
s_handed_off(const char *flowd, const fl_benchnode_t *owner)
{
    char dir[512], command[2048];
    snprintf(dir, sizeof dir, "%s", flowd);
    snprintf(command, sizeof command, "%s/clients/flowctl --control %s "
             "--key %s/keys/admin.cert_secret --json cluster status", dirname(dir),
             owner->control, owner->dir);
    for (int waited = 0; waited < HANDOFF_WAIT_S * 10; waited++) {
        static char out[1 << 16];
        FILE *p = popen(command, "r");
        size_t n = p ? fread(out, 1, sizeof out - 1, p) : 0;
        if (p)
            pclose(p);
        out[n] = '\0';
        size_t up = 0;
        for (const char *q = strstr(out, "MEMBER_UP"); q; q = strstr(q + 1, "MEMBER_UP"))
            up++;
        if (up == 2 && !strstr(out, "\"moves\":[{"))
            return true;
        usleep(100 * 1000);
    }
    return false;
}

/*  Keys whose partition OWNER's node owns, found by asking it: its ping
 *  through the user actor names the node that answered.  */
static size_t
s_owned_keys(const fl_benchnode_t *owner, char keys[KEYS][16])
{
    flow_t *flow = flow_new(owner->client);
    flow_pong_t me, pong;
    size_t n = 0;
    if (flow_ping(flow, FLOW__ACTOR__ACTOR_UNSPECIFIED, NULL, 0, &me) != FLOW_OK)
        n = KEYS + 1;
    for (int i = 0; i < PROBES && n < KEYS; i++) {
        char key[16];
        snprintf(key, sizeof key, "k%d", i);
        if (flow_ping(flow, FLOW__ACTOR__ACTOR_USER, key, strlen(key), &pong) == FLOW_OK
            && strcmp(pong.node_id, me.node_id) == 0)
            memcpy(keys[n++], key, sizeof key);
    }
    flow_destroy(&flow);
    return n > KEYS ? 0 : n;
}

static int
s_start(const char *flowd, fl_benchnode_t *owner, fl_benchnode_t *other)
{
    static const char *const flags[] = { "--rate-requests-per-s", "10000000", "--partitions",
                                         "64", NULL };
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
    if (rc == 0 && !s_handed_off(flowd, &owner)) {
        fprintf(stderr, "bench_cluster: partitions did not move to the second node in %d s\n",
                HANDOFF_WAIT_S);
        rc = -1;
    }
    static char keys[KEYS][16];
    const char *key_list[KEYS];
    size_t nkeys = rc == 0 ? s_owned_keys(&owner, keys) : 0;
    if (rc == 0 && nkeys == 0) {
        fprintf(stderr, "bench_cluster: no key of the first node's partitions found\n");
        rc = -1;
    }
    for (size_t i = 0; i < nkeys; i++)
        key_list[i] = keys[i];
    static const int windows[] = { 1, FL_PINGS_WINDOW_MAX };
    for (size_t w = 0; w < 2 && rc == 0; w++) {
        fl_bench_t *direct = NULL, *forwarded = NULL;
        char name[96];
        snprintf(name, sizeof name, "ping via user actor at the owner, %d in flight", windows[w]);
        fl_bench_new(name, &direct);
        snprintf(name, sizeof name, "ping via user actor at a non-owner, %d in flight",
                 windows[w]);
        fl_bench_new(name, &forwarded);
        rc = fl_pings(owner.client, FLOW__ACTOR__ACTOR_USER, "", windows[w], s_requests,
                      key_list, nkeys, direct);
        if (rc == 0)
            rc = fl_pings(other.client, FLOW__ACTOR__ACTOR_USER, "", windows[w], s_requests,
                          key_list, nkeys, forwarded);
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
