/*  tests/bench/bench_replication.c — what three copies of every partition
 *  cost a write, how soon a dead owner's partitions serve again, and how
 *  fast a replica that missed writes catches up.
 *
 *  Starts 3-node clusters here (the first node creates the cluster with
 *  --partitions 64 and --replicas R, the other two join it with its join
 *  key, one after the other), each node logging at info level to
 *  DATA/flowd.log, and waits until they have settled: every member up,
 *  nothing moving, no replica copying or behind.  Then signs up users
 *  through the first node, learns each one's partition and owner (a ping
 *  through the user actor with the user id as key), and:
 *
 *   1. writes: update_profile of the users whose partition the first
 *      node owns, sent to it over one connection with 64 and with 1 in
 *      flight (WRITES / 5 and WRITES / 50 of them), in a cluster with
 *      --replicas 1 and then in one with --replicas 3 (a write answered
 *      once 2 of its partition's 3 copies hold it); prints both and
 *      `ratio N=3/N=1 (W in flight): throughput X, p99 Yx` (goal:
 *      throughput >= 0.5 with 64 in flight);
 *   2. failover, in the N = 3 cluster at the default --down-after-ms
 *      (3000): a partition the third node owns (`cluster ring
 *      --partition P` confirms it), the third node killed with SIGKILL,
 *      and from that moment one write to that partition (a user of it)
 *      sent to the first node every 20 ms, each with a 500 ms timeout and
 *      no retry, until one is acknowledged: the time from the kill to that
 *      answer (goal: under 5 s), with how the writes before it failed;
 *   3. catch-up, in a fresh N = 3 cluster: the third node killed with
 *      SIGKILL and marked down, WRITES (default 100,000) writes
 *      acknowledged with 64 in flight to the first node's partitions (the
 *      third node is a replica of every partition it does not own), the
 *      third node started again on its data, and `cluster digests` of all
 *      three polled until every partition's digest is equal on every node
 *      that lists it and each lists it: WRITES / that time as catch-up
 *      entries/s, and `ratio catch-up/acknowledged throughput`, against
 *      the throughput at which the same writes were acknowledged.
 *
 *  Every wait is bounded: a phase that does not end in time prints that
 *  it stalled, with what it saw, and the bench goes on with the next.
 *  Warnings and errors the nodes logged are printed when each cluster
 *  stops; the directories of a cluster where something failed are kept
 *  (their paths printed) for their logs.
 *
 *      bench_replication [--flowd PATH] [--flowctl PATH] [--writes N]
 *
 *  flowctl defaults to $FLOWCTL, else clients/flowctl beside flowd (the
 *  build directory's layout).
 */
#include "clients/libflow.h"
#include "tests/bench/benchlib.h"
#include "tests/bench/benchnode.h"

#include <czmq.h>
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#define NODES 3
#define PARTITIONS 64
#define DEFAULT_WRITES 100000
#define WINDOW_MAX 64
#define SIGNUPS 160                     /* users signed up per cluster */
#define USERS_MAX 64                    /* of them written to */
#define LEADER_WAIT_MS 30000
#define SETTLE_WAIT_MS 180000
#define DOWN_WAIT_MS 30000
#define POLL_MS 250
#define WRITE_STALL_MS 10000            /* a run with no answer this long has stalled */
#define RUN_WAIT_MS 300000              /* and one not over by then */
#define REFUSED_MAX 100                 /* a run ends after this many writes refused */
#define FAILOVER_EVERY_MS 20
#define FAILOVER_TIMEOUT_MS 500         /* each failover write's deadline */
#define FAILOVER_WAIT_MS 30000
#define CATCHUP_WAIT_MS 300000
#define STOP_WAIT_MS 15000
#define CTL_OUT_BYTES (1u << 20)
#define PROBLEMS_SHOWN 5
#define DIGEST_HEX 64

typedef struct {
    const char *flowd;
    char flowctl[512];
    int writes;
} s_opts_t;

typedef struct {
    const char *name;                   /* "N=1", "N=3" */
    int replicas;
    fl_benchnode_t nodes[NODES];
    char dirs[NODES][256];
    char logs[NODES][300];
    char ids[NODES][64];                /* node ids */
    size_t started;                     /* nodes started at least once */
    bool failed;                        /* keep the directories */
} s_cluster_t;

typedef struct {
    char user_id[40];
    char token[1024];
    uint32_t partition;
    int owner;                          /* index in the cluster, -1: another */
} s_user_t;

static const char *const s_names[NODES] = { "A", "B", "C" };
static char *s_ctl_out;                 /* what flowctl printed last */

/*  ------------------------------------------------------------------
 *  flowctl and its JSON  */

/*  flowctl --json ARGS against node I of C into s_ctl_out; 0 when it
 *  succeeded.  */
static int
s_ctl(const s_opts_t *opts, const s_cluster_t *c, size_t i, const char *const *args)
{
    s_ctl_out[0] = '\0';
    return fl_benchnode_flowctl(&c->nodes[i], opts->flowctl, args, s_ctl_out, CTL_OUT_BYTES);
}

static size_t
s_count(const char *text, const char *needle)
{
    size_t n = 0;
    for (const char *p = strstr(text, needle); p; p = strstr(p + 1, needle))
        n++;
    return n;
}

/*  The number after "NAME": in TEXT, quoted or not; 0 when absent.  */
static uint64_t
s_json_u64(const char *text, const char *name)
{
    char pattern[64];
    snprintf(pattern, sizeof pattern, "\"%s\":", name);
    const char *p = strstr(text, pattern);
    return p ? strtoull(p + strlen(pattern) + (p[strlen(pattern)] == '"'), NULL, 10) : 0;
}

/*  The string after "NAME":" in TEXT into OUT; "" when absent.  */
static void
s_json_str(const char *text, const char *name, char *out, size_t cap)
{
    char pattern[64];
    snprintf(pattern, sizeof pattern, "\"%s\":\"", name);
    const char *p = strstr(text, pattern);
    out[0] = '\0';
    if (p) {
        p += strlen(pattern);
        snprintf(out, cap, "%.*s", (int) strcspn(p, "\""), p);
    }
}

/*  The index of node id ID in C, -1 when it is none of them.  */
static int
s_index(const s_cluster_t *c, const char *id)
{
    for (size_t i = 0; i < NODES; i++)
        if (c->ids[i][0] && strcmp(c->ids[i], id) == 0)
            return (int) i;
    return -1;
}

/*  ------------------------------------------------------------------
 *  Nodes and clusters  */

/*  Reads node=ID from the node's DATA/flowd.endpoints.  */
static void
s_read_id(s_cluster_t *c, size_t i)
{
    char path[300], line[300];
    snprintf(path, sizeof path, "%s/flowd.endpoints", c->dirs[i]);
    FILE *f = fopen(path, "r");
    c->ids[i][0] = '\0';
    while (f && fgets(line, sizeof line, f))
        if (strncmp(line, "node=", 5) == 0)
            snprintf(c->ids[i], sizeof c->ids[i], "%.*s", (int) strcspn(line + 5, "\n"),
                     line + 5);
    if (f)
        fclose(f);
}

/*  Starts node I of C in its directory (made at the first start; node 0
 *  creates the cluster, the others join node 0).  A restart finds its
 *  data there: the endpoints file of the run before is removed first, so
 *  the ports read are the new ones.  */
static int
s_node_start(const s_opts_t *opts, s_cluster_t *c, size_t i)
{
    if (!c->dirs[i][0]) {
        char dir[sizeof c->dirs[i]];
        if (fl_bench_tmpdir(dir, sizeof dir) != 0)
            return -1;
        memcpy(c->dirs[i], dir, sizeof dir);
        snprintf(c->logs[i], sizeof c->logs[i], "%s/flowd.log", dir);
        if (c->started < i + 1)
            c->started = i + 1;
    }
    else {
        char path[300];
        snprintf(path, sizeof path, "%s/flowd.endpoints", c->dirs[i]);
        unlink(path);
    }
    char replicas[16], parts[16], key[300];
    snprintf(replicas, sizeof replicas, "%d", c->replicas);
    snprintf(parts, sizeof parts, "%d", PARTITIONS);
    snprintf(key, sizeof key, "%s/keys/join.key", c->dirs[0]);
    const char *flags[24] = { "--rate-requests-per-s", "10000000", "--rate-auth-per-min",
                              "1000000", "--log-level", "info", "--log-file", c->logs[i] };
    size_t n = 8;
    if (i == 0) {
        flags[n++] = "--partitions";
        flags[n++] = parts;
        flags[n++] = "--replicas";
        flags[n++] = replicas;
    }
    else {
        flags[n++] = "--join";
        flags[n++] = c->nodes[0].peer;
        flags[n++] = "--join-key";
        flags[n++] = key;
    }
    flags[n] = NULL;
    if (fl_benchnode_start_in(&c->nodes[i], c->dirs[i], opts->flowd, flags) != 0) {
        fprintf(stderr, "bench_replication: %s: node %s did not start (log: %s)\n", c->name,
                s_names[i], c->logs[i]);
        return -1;
    }
    s_read_id(c, i);
    return 0;
}

/*  SIGKILLs node I of C and reaps it.  */
static void
s_node_kill(s_cluster_t *c, size_t i)
{
    fl_benchnode_t *node = &c->nodes[i];
    if (node->pid > 0) {
        kill(node->pid, SIGKILL);
        while (waitpid(node->pid, NULL, 0) < 0 && errno == EINTR)
            ;
    }
    node->pid = 0;
}

/*  SIGTERMs node I of C and waits STOP_WAIT_MS for it to exit, then
 *  SIGKILLs it (said).  */
static void
s_node_stop(s_cluster_t *c, size_t i)
{
    fl_benchnode_t *node = &c->nodes[i];
    if (node->pid <= 0)
        return;
    kill(node->pid, SIGTERM);
    uint64_t deadline = fl_bench_now_us() + STOP_WAIT_MS * 1000ULL;
    while (fl_bench_now_us() < deadline) {
        pid_t got = waitpid(node->pid, NULL, WNOHANG);
        if (got == node->pid || (got < 0 && errno != EINTR)) {
            node->pid = 0;
            return;
        }
        usleep(20 * 1000);
    }
    fprintf(stderr, "bench_replication: %s: node %s did not stop in %d s after SIGTERM; "
            "killed\n", c->name, s_names[i], STOP_WAIT_MS / 1000);
    c->failed = true;
    s_node_kill(c, i);
}

/*  Waits until node 0 of C leads a created cluster.  */
static int
s_wait_leader(const s_opts_t *opts, const s_cluster_t *c)
{
    static const char *const status[] = { "cluster", "status", NULL };
    uint64_t deadline = fl_bench_now_us() + LEADER_WAIT_MS * 1000ULL;
    while (fl_bench_now_us() < deadline) {
        if (s_ctl(opts, c, 0, status) == 0 && strstr(s_ctl_out, "\"leader_id\":\"n")
            && strstr(s_ctl_out, "\"cluster_id\":\""))
            return 0;
        usleep(POLL_MS / 2 * 1000);
    }
    fprintf(stderr, "bench_replication: %s: no leader after %d s\n", c->name,
            LEADER_WAIT_MS / 1000);
    return -1;
}

/*  How many partitions node ID owns by the ring TEXT (`cluster ring`);
 *  0 when it is not listed.  */
static uint64_t
s_owned(const char *text, const char *id)
{
    char pattern[96];
    snprintf(pattern, sizeof pattern, "\"node_id\":\"%s\"", id);
    const char *p = strstr(text, pattern);
    const char *end = p ? strchr(p, '}') : NULL;
    const char *owned = p ? strstr(p, "\"owned\":") : NULL;
    return owned && owned < end ? strtoull(owned + strlen("\"owned\":"), NULL, 10) : 0;
}

/*  Whether every running node of C sees UP members up and DOWN down,
 *  nothing moving and no partition unavailable; with none down, also no
 *  partition being copied, under-replicated or behind (its replication),
 *  and with some down, that those own nothing any more (the first node's
 *  ring).  What it found otherwise in WHY.  */
static bool
s_settled_once(const s_opts_t *opts, const s_cluster_t *c, size_t up, size_t down, char *why,
               size_t whylen)
{
    static const char *const status[] = { "cluster", "status", NULL };
    static const char *const transfers[] = { "cluster", "transfers", NULL };
    for (size_t i = 0; i < NODES; i++) {
        if (c->nodes[i].pid <= 0)
            continue;
        if (s_ctl(opts, c, i, status) != 0) {
            snprintf(why, whylen, "%s did not answer cluster status", s_names[i]);
            return false;
        }
        size_t n_up = s_count(s_ctl_out, "MEMBER_UP"), n_down = s_count(s_ctl_out, "MEMBER_DOWN");
        uint64_t syncing = s_json_u64(s_ctl_out, "syncing");
        uint64_t under = s_json_u64(s_ctl_out, "under_replicated");
        uint64_t lagging = s_json_u64(s_ctl_out, "lagging");
        uint64_t unavailable = s_json_u64(s_ctl_out, "unavailable_partitions");
        bool moving = strstr(s_ctl_out, "\"moves\":[{") != NULL;
        if (n_up != up || n_down != down || moving || unavailable
            || (down == 0 && (syncing || under || lagging))) {
            snprintf(why, whylen, "%s sees %zu members up, %zu down, %s; %" PRIu64
                     " partitions unavailable; replicas: %" PRIu64 " being copied, %" PRIu64
                     " under-replicated, %" PRIu64 " lagging", s_names[i], n_up, n_down,
                     moving ? "partitions moving" : "nothing moving", unavailable, syncing,
                     under, lagging);
            return false;
        }
        if (s_ctl(opts, c, i, transfers) != 0 || !strstr(s_ctl_out, "\"transfers\":[]")) {
            snprintf(why, whylen, "%s lists transfers in progress", s_names[i]);
            return false;
        }
    }
    static const char *const ring[] = { "cluster", "ring", NULL };
    for (size_t i = 0; i < NODES && down; i++) {
        if (c->nodes[i].pid > 0)
            continue;
        if (s_ctl(opts, c, 0, ring) != 0) {
            snprintf(why, whylen, "A did not answer cluster ring");
            return false;
        }
        uint64_t owned = s_owned(s_ctl_out, c->ids[i]);
        if (owned) {
            snprintf(why, whylen, "%s, down, still owns %" PRIu64 " partitions", s_names[i],
                     owned);
            return false;
        }
    }
    return true;
}

/*  Waits WAIT_MS at most for s_settled_once; says what it last saw when
 *  it stalls.  */
static int
s_wait_settled(const s_opts_t *opts, s_cluster_t *c, size_t up, size_t down, int wait_ms,
               const char *what)
{
    char why[512] = "";
    uint64_t started = fl_bench_now_us(), deadline = started + (uint64_t) wait_ms * 1000ULL;
    while (fl_bench_now_us() < deadline) {
        if (s_settled_once(opts, c, up, down, why, sizeof why))
            return 0;
        usleep(POLL_MS * 1000);
    }
    fprintf(stderr, "bench_replication: %s: stalled: %s not settled after %d s: %s\n", c->name,
            what, wait_ms / 1000, why);
    c->failed = true;
    return -1;
}

/*  Starts C's three nodes, one joining after the other settled.  */
static int
s_cluster_start(const s_opts_t *opts, s_cluster_t *c, const char *name, int replicas)
{
    memset(c, 0, sizeof *c);
    c->name = name;
    c->replicas = replicas;
    uint64_t t0 = fl_bench_now_us();
    int rc = s_node_start(opts, c, 0);
    if (rc == 0)
        rc = s_wait_leader(opts, c);
    for (size_t i = 1; i < NODES && rc == 0; i++) {
        rc = s_node_start(opts, c, i);
        if (rc == 0)
            rc = s_wait_settled(opts, c, i + 1, 0, SETTLE_WAIT_MS,
                                "the cluster, after a node joined");
    }
    if (rc == 0)
        printf("%s: 3 nodes, %d partitions, --replicas %d: settled %.1f s after the first "
               "started\n", name, PARTITIONS, replicas, (double) (fl_bench_now_us() - t0) / 1e6);
    else
        c->failed = true;
    return rc;
}

/*  Prints how many warnings and errors node I of C logged, and the first
 *  few.  */
static void
s_log_problems(const s_cluster_t *c, size_t i)
{
    FILE *in = fopen(c->logs[i], "r");
    if (!in)
        return;
    size_t warnings = 0, errors = 0;
    char line[2048];
    while (fgets(line, sizeof line, in)) {
        bool warn = strstr(line, " level=warn ") != NULL;
        bool error = strstr(line, " level=error ") != NULL;
        if ((warn || error) && warnings + errors < PROBLEMS_SHOWN)
            printf("  %s %s logged: %s", c->name, s_names[i], line);
        warnings += warn;
        errors += error;
    }
    fclose(in);
    if (warnings || errors)
        printf("  %s %s logged %zu warnings and %zu errors\n", c->name, s_names[i], warnings,
               errors);
}

/*  Stops C's nodes, prints their logs' problems, removes their
 *  directories unless something failed.  */
static void
s_cluster_stop(s_cluster_t *c)
{
    for (size_t i = c->started; i-- > 0;)
        s_node_stop(c, i);
    for (size_t i = 0; i < c->started; i++)
        s_log_problems(c, i);
    for (size_t i = 0; i < c->started; i++) {
        if (c->failed)
            printf("  %s %s: data and log kept in %s\n", c->name, s_names[i], c->dirs[i]);
        else
            fl_bench_rmdir(c->dirs[i]);
    }
}

/*  ------------------------------------------------------------------
 *  Users and writes  */

/*  Signs up to N users through node 0 of C (emails under TAG) and asks,
 *  by a ping through the user actor keyed by each user id, for its
 *  partition and the node that owns it.  Returns how many were made. */
static size_t
s_users(const s_cluster_t *c, const char *tag, s_user_t *users, size_t n)
{
    flow_t *flow = flow_new(c->nodes[0].client);
    size_t made = 0;
    flow_set_timeout(flow, 20000);
    for (size_t i = 0; i < n; i++) {
        char email[96];
        snprintf(email, sizeof email, "bench-%s-%zu@example.com", tag, i);
        Flow__SessionReply *session = NULL;
        flow_status_t st = flow_sign_up(flow, email, "bench password 1", "Bench", &session);
        if (st != FLOW_OK) {
            fprintf(stderr, "bench_replication: %s: sign-up failed: %s: %s\n", c->name,
                    flow_status_name(st), flow_error(flow));
            break;
        }
        s_user_t *u = &users[made];
        snprintf(u->user_id, sizeof u->user_id, "%s", session->user_id);
        snprintf(u->token, sizeof u->token, "%s", session->access_token);
        flow__session_reply__free_unpacked(session, NULL);
        flow_pong_t pong;
        st = flow_ping(flow, FLOW__ACTOR__ACTOR_USER, u->user_id, strlen(u->user_id), &pong);
        if (st != FLOW_OK) {
            fprintf(stderr, "bench_replication: %s: ping of a user's partition failed: %s: %s\n",
                    c->name, flow_status_name(st), flow_error(flow));
            break;
        }
        u->partition = pong.partition;
        u->owner = s_index(c, pong.node_id);
        made++;
    }
    flow_destroy(&flow);
    return made;
}

/*  Up to USERS_MAX of USERS (N) owned by node OWNER, into PICKED.  */
static size_t
s_pick(const s_user_t *users, size_t n, int owner, const s_user_t **picked)
{
    size_t k = 0;
    for (size_t i = 0; i < n && k < USERS_MAX; i++)
        if (users[i].owner == owner)
            picked[k++] = &users[i];
    return k;
}

/*  How many partitions the users USERS (N) are in.  */
static size_t
s_partitions(const s_user_t *const *users, size_t n)
{
    bool seen[PARTITIONS] = { false };
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (users[i]->partition < PARTITIONS && !seen[users[i]->partition]) {
            seen[users[i]->partition] = true;
            k++;
        }
    return k;
}

/*  Packs an update_profile of USER (display name from SEQ) with id ID, a
 *  request key of its own (TAG, SEQ: libflow gives every write one) and
 *  TIMEOUT_MS (0: the node's default) into BUF; its length, 0 when it does
 *  not fit.  */
static size_t
s_pack_write(const s_user_t *user, const char *tag, int seq, uint64_t id, uint32_t timeout_ms,
             uint8_t *buf, size_t cap)
{
    char name[32], key[64];
    snprintf(name, sizeof name, "Bench %d", seq);
    snprintf(key, sizeof key, "bench-%s-%d", tag, seq);
    Flow__TextValue value = FLOW__TEXT_VALUE__INIT;
    value.value = name;
    Flow__UpdateProfileRequest update = FLOW__UPDATE_PROFILE_REQUEST__INIT;
    update.display_name = &value;
    Flow__Request req = FLOW__REQUEST__INIT;
    req.version = FLOW_PROTOCOL_VERSION;
    req.id = id;
    req.timeout_ms = timeout_ms;
    req.token = (char *) user->token;
    req.request_key = key;
    req.body_case = FLOW__REQUEST__BODY_UPDATE_PROFILE;
    req.update_profile = &update;
    if (flow__request__get_packed_size(&req) > cap)
        return 0;
    return flow__request__pack(&req, buf);
}

/*  WRITES update_profile writes to ENDPOINT, WINDOW in flight over one
 *  connection, as raw frames (libflow's calls go one at a time), the
 *  users USERS (N) in turn, each with its own token.  Records every
 *  acknowledged write's latency in BENCH.  Returns 0 when every write was
 *  acknowledged; -1 when one was refused (counted, the first said), and
 *  at once (said: stalled) when no answer came for WRITE_STALL_MS, the
 *  run took RUN_WAIT_MS or REFUSED_MAX writes were refused.  */
static int
s_writes(const char *endpoint, const s_user_t *const *users, size_t n, int window, int writes,
         const char *tag, fl_bench_t *bench)
{
    flow_t *flow = flow_new(endpoint);
    uint64_t *sent_at = calloc((size_t) writes, sizeof *sent_at);
    static uint8_t buf[4096];
    int sent = 0, got = 0, refused = 0, rc = flow && sent_at ? 0 : -1;
    fl_bench_start(bench);
    uint64_t started = fl_bench_now_us();
    while (got < writes && rc == 0) {
        if (fl_bench_now_us() - started > RUN_WAIT_MS * 1000ULL || refused == REFUSED_MAX) {
            fprintf(stderr, "bench_replication: stalled: %s: %d of %d writes acknowledged "
                    "(%d refused) when the run ended after %.0f s\n", endpoint, got - refused,
                    writes, refused, (double) (fl_bench_now_us() - started) / 1e6);
            rc = -1;
            break;
        }
        while (sent < writes && sent - got < window && rc == 0) {
            size_t len = s_pack_write(users[(size_t) sent % n], tag, sent, (uint64_t) sent + 1,
                                      0, buf, sizeof buf);
            sent_at[sent] = fl_bench_now_us();
            if (len == 0 || flow_send_raw(flow, buf, len) != FLOW_OK) {
                fprintf(stderr, "bench_replication: %s: a write could not be sent\n", endpoint);
                rc = -1;
            }
            sent++;
        }
        Flow__ServerMessage *msg = NULL;
        if (rc == 0 && flow_recv_raw(flow, &msg, WRITE_STALL_MS) != FLOW_OK) {
            fprintf(stderr, "bench_replication: stalled: %s: no answer in %d s; %d of %d writes "
                    "acknowledged, %d in flight (%s)\n", endpoint, WRITE_STALL_MS / 1000,
                    got - refused, writes, sent - got, flow_error(flow));
            rc = -1;
        }
        if (msg && msg->kind_case == FLOW__SERVER_MESSAGE__KIND_REPLY && msg->reply->id >= 1
            && msg->reply->id <= (uint64_t) sent) {
            if (msg->reply->status == FLOW__STATUS__OK)
                fl_bench_record(bench, fl_bench_now_us() - sent_at[msg->reply->id - 1]);
            else
            if (refused++ == 0)
                fprintf(stderr, "bench_replication: a write was refused: %s: %s\n",
                        flow_status_name((flow_status_t) msg->reply->status),
                        msg->reply->message);
            got++;
        }
        if (msg)
            flow__server_message__free_unpacked(msg, NULL);
    }
    fl_bench_stop(bench);
    if (refused) {
        fprintf(stderr, "bench_replication: %d of %d writes refused\n", refused, writes);
        rc = -1;
    }
    else
    if (rc == 0 && fl_bench_percentile(bench, 100) > 1000000)
        fprintf(stderr, "bench_replication: %s: the slowest write took %.1f s\n", endpoint,
                (double) fl_bench_percentile(bench, 100) / 1e6);
    free(sent_at);
    flow_destroy(&flow);
    return rc;
}

/*  After a write run to node I of C failed: what its replication says.  */
static void
s_say_replication(const s_opts_t *opts, const s_cluster_t *c, size_t i)
{
    static const char *const status[] = { "cluster", "status", NULL };
    const char *r = s_ctl(opts, c, i, status) == 0 ? strstr(s_ctl_out, "\"replication\":") : NULL;
    if (r)
        fprintf(stderr, "bench_replication: %s: %s then said %.*s\n", c->name, s_names[i],
                (int) strcspn(r, "}"), r);
}

/*  ------------------------------------------------------------------
 *  1. Writes, N = 3 against N = 1  */

#define WINDOWS 2
static const int s_windows[WINDOWS] = { WINDOW_MAX, 1 };

/*  The write runs of cluster C into BENCHES (one per window).  */
static int
s_write_runs(const s_opts_t *opts, s_cluster_t *c, const s_user_t *users, size_t n,
             fl_bench_t **benches)
{
    const s_user_t *picked[USERS_MAX];
    size_t k = s_pick(users, n, 0, picked);
    if (k == 0) {
        fprintf(stderr, "bench_replication: %s: no user in a partition of the first node\n",
                c->name);
        return -1;
    }
    int rc = 0;
    for (size_t w = 0; w < WINDOWS && rc == 0; w++) {
        char name[128], tag[32];
        int writes = opts->writes / (s_windows[w] == 1 ? 50 : 5);
        snprintf(name, sizeof name, "update_profile at the owner, %s, %d in flight", c->name,
                 s_windows[w]);
        snprintf(tag, sizeof tag, "%s-w%d", c->name, s_windows[w]);
        rc = fl_bench_new(name, &benches[w]);
        if (rc == 0)
            rc = s_writes(c->nodes[0].client, picked, k, s_windows[w], writes < 64 ? 64 : writes,
                          tag, benches[w]);
        if (rc != 0) {
            s_say_replication(opts, c, 0);
            c->failed = true;
        }
    }
    if (rc == 0)
        printf("%s: writes to %zu users in %zu partitions of the first node\n", c->name, k,
               s_partitions(picked, k));
    return rc;
}

/*  Prints each pair of runs and its ratio.  */
static void
s_report_writes(fl_bench_t **one, fl_bench_t **three)
{
    for (size_t w = 0; w < WINDOWS; w++) {
        fl_bench_report(one[w], stdout);
        fl_bench_report(three[w], stdout);
        uint64_t p99 = fl_bench_percentile(one[w], 99);
        printf("ratio N=3/N=1 (%d in flight): throughput %.2f, p99 %.2fx%s\n", s_windows[w],
               fl_bench_ops_per_s(three[w]) / fl_bench_ops_per_s(one[w]),
               (double) fl_bench_percentile(three[w], 99) / (double) (p99 ? p99 : 1),
               s_windows[w] == WINDOW_MAX ? " (goal: throughput >= 0.5)" : "");
    }
}

/*  ------------------------------------------------------------------
 *  2. Failover  */

/*  The owner of partition P by node I's ring, into OWNER.  */
static int
s_ring_owner(const s_opts_t *opts, const s_cluster_t *c, size_t i, uint32_t p, char *owner,
             size_t cap)
{
    char part[16];
    snprintf(part, sizeof part, "%" PRIu32, p);
    const char *const ring[] = { "cluster", "ring", "--partition", part, NULL };
    owner[0] = '\0';
    if (s_ctl(opts, c, i, ring) != 0)
        return -1;
    const char *pref = strstr(s_ctl_out, "\"preferences\":");
    if (pref)
        s_json_str(pref, "owner", owner, cap);
    return owner[0] ? 0 : -1;
}

#define STATUSES 16

/*  Kills the third node and writes to one of its partitions through the
 *  first every FAILOVER_EVERY_MS until one write is acknowledged.  */
static int
s_failover(const s_opts_t *opts, s_cluster_t *c, const s_user_t *users, size_t n)
{
    const s_user_t *user = NULL;
    char owner[64];
    for (size_t i = 0; i < n && !user; i++)
        if (users[i].owner == 2 && s_ring_owner(opts, c, 0, users[i].partition, owner,
                                                sizeof owner) == 0
            && strcmp(owner, c->ids[2]) == 0)
            user = &users[i];
    if (!user) {
        fprintf(stderr, "bench_replication: failover: no user in a partition the third node "
                "owns\n");
        return -1;
    }
    flow_t *flow = flow_new(c->nodes[0].client);
    flow_set_retries(flow, 0);
    flow_pong_t pong;                   /* the connection up before the kill */
    if (flow_ping(flow, FLOW__ACTOR__ACTOR_UNSPECIFIED, NULL, 0, &pong) != FLOW_OK) {
        fprintf(stderr, "bench_replication: failover: the first node does not answer: %s\n",
                flow_error(flow));
        flow_destroy(&flow);
        return -1;
    }
    size_t counts[STATUSES] = { 0 };
    char first_msg[STATUSES][200];
    memset(first_msg, 0, sizeof first_msg);
    static uint8_t buf[4096];
    int sent = 0;
    uint64_t acked_us = 0, acked_sent_us = 0;
    uint64_t *sent_at = calloc(FAILOVER_WAIT_MS / FAILOVER_EVERY_MS + 2, sizeof *sent_at);
    uint64_t killed = fl_bench_now_us(), next = killed;
    s_node_kill(c, 2);
    while (!acked_us && sent_at && fl_bench_now_us() < killed + FAILOVER_WAIT_MS * 1000ULL) {
        uint64_t now = fl_bench_now_us();
        if (now >= next && sent <= FAILOVER_WAIT_MS / FAILOVER_EVERY_MS) {
            size_t len = s_pack_write(user, "failover", sent, (uint64_t) sent + 1,
                                      FAILOVER_TIMEOUT_MS, buf, sizeof buf);
            sent_at[sent] = now;
            if (len && flow_send_raw(flow, buf, len) == FLOW_OK)
                sent++;
            next += FAILOVER_EVERY_MS * 1000ULL;
            continue;
        }
        Flow__ServerMessage *msg = NULL;
        int wait_ms = (int) ((next - now + 999) / 1000);
        if (flow_recv_raw(flow, &msg, wait_ms) != FLOW_OK)
            continue;
        if (msg->kind_case == FLOW__SERVER_MESSAGE__KIND_REPLY && msg->reply->id >= 1
            && msg->reply->id <= (uint64_t) sent) {
            size_t st = (size_t) msg->reply->status < STATUSES ? (size_t) msg->reply->status
                                                               : STATUSES - 1;
            if (st == FLOW__STATUS__OK) {
                acked_us = fl_bench_now_us();
                acked_sent_us = sent_at[msg->reply->id - 1];
            }
            else
            if (counts[st]++ == 0)
                snprintf(first_msg[st], sizeof first_msg[st], "%s", msg->reply->message);
        }
        flow__server_message__free_unpacked(msg, NULL);
    }
    free(sent_at);
    flow_destroy(&flow);
    if (!acked_us) {
        fprintf(stderr, "bench_replication: failover: stalled: no write to partition %" PRIu32
                " acknowledged in %d s after the kill of its owner (%d sent)\n", user->partition,
                FAILOVER_WAIT_MS / 1000, sent);
        c->failed = true;
    }
    else {
        printf("failover (kill -9 of the owner of partition %" PRIu32 ", --down-after-ms 3000): "
               "first write acknowledged %.0f ms after the kill (goal < 5000 ms); it was sent "
               "%.0f ms after the kill (write %d, one every %d ms)\n", user->partition,
               (double) (acked_us - killed) / 1000.0, (double) (acked_sent_us - killed) / 1000.0,
               sent, FAILOVER_EVERY_MS);
        if (s_ring_owner(opts, c, 0, user->partition, owner, sizeof owner) == 0) {
            int now = s_index(c, owner);
            printf("  partition %" PRIu32 " is now owned by %s\n", user->partition,
                   now >= 0 ? s_names[now] : owner);
        }
    }
    for (size_t st = 0; st < STATUSES; st++)
        if (counts[st])
            printf("  before it: %zu writes answered %s (first: \"%s\")\n", counts[st],
                   flow_status_name((flow_status_t) st), first_msg[st]);
    return acked_us ? 0 : -1;
}

/*  ------------------------------------------------------------------
 *  3. Catch-up  */

typedef struct {
    char digest[PARTITIONS][DIGEST_HEX + 1];    /* "" when not listed */
    bool answered;
} s_digests_t;

/*  Node I's digests into D, but for rows of role "extra" (records of a
 *  partition it keeps no copy of, about to be dropped).  */
static void
s_read_digests(const s_opts_t *opts, const s_cluster_t *c, size_t i, s_digests_t *d)
{
    static const char *const digests[] = { "cluster", "digests", NULL };
    memset(d, 0, sizeof *d);
    if (c->nodes[i].pid <= 0 || s_ctl(opts, c, i, digests) != 0)
        return;
    d->answered = true;
    for (const char *p = strstr(s_ctl_out, "{\"partition\":"); p;
         p = strstr(p + 1, "{\"partition\":")) {
        unsigned long part = strtoul(p + strlen("{\"partition\":"), NULL, 10);
        const char *end = strchr(p, '}');
        const char *hex = strstr(p, "\"digest\":\"");
        const char *extra = strstr(p, "\"role\":\"extra\"");
        if (part >= PARTITIONS || !end || !hex || hex > end || (extra && extra < end))
            continue;
        hex += strlen("\"digest\":\"");
        snprintf(d->digest[part], sizeof d->digest[part], "%.*s", (int) strcspn(hex, "\""),
                 hex);
    }
}

/*  How many partitions are not yet listed by every node with one
 *  digest; the first such one into *FIRST.  */
static size_t
s_out_of_step(const s_digests_t *d, uint32_t *first)
{
    size_t n = 0;
    for (uint32_t p = 0; p < PARTITIONS; p++) {
        bool same = true;
        for (size_t i = 0; i < NODES; i++)
            if (!d[i].answered || !d[i].digest[p][0] || strcmp(d[i].digest[p], d[0].digest[p]))
                same = false;
        if (!same && n++ == 0)
            *first = p;
    }
    return n;
}

static int
s_catch_up(const s_opts_t *opts, s_cluster_t *c, const s_user_t *users, size_t n)
{
    static const char *const status[] = { "cluster", "status", NULL };
    const s_user_t *picked[USERS_MAX];
    size_t k = s_pick(users, n, 0, picked);
    if (k == 0) {
        fprintf(stderr, "bench_replication: catch-up: no user in a partition of the first "
                "node\n");
        return -1;
    }
    s_node_kill(c, 2);
    uint64_t killed = fl_bench_now_us();
    int rc = s_wait_settled(opts, c, 2, 1, DOWN_WAIT_MS,
                            "the cluster, after the third node was killed");
    if (rc == 0)
        printf("catch-up: C killed; marked down and its partitions taken over %.1f s later\n",
               (double) (fl_bench_now_us() - killed) / 1e6);
    fl_bench_t *acked = NULL;
    char name[128];
    snprintf(name, sizeof name, "update_profile at the owner, N=3, a replica down, %d in flight",
             WINDOW_MAX);
    if (rc == 0)
        rc = fl_bench_new(name, &acked);
    if (rc == 0) {
        rc = s_writes(c->nodes[0].client, picked, k, WINDOW_MAX, opts->writes, "catch-up", acked);
        if (rc != 0) {
            s_say_replication(opts, c, 0);
            c->failed = true;
        }
    }
    if (rc == 0)
        fl_bench_report(acked, stdout);
    uint64_t restarted = fl_bench_now_us(), answered = 0, caught_up = 0;
    if (rc == 0)
        rc = s_node_start(opts, c, 2);
    static s_digests_t digests[NODES];
    size_t behind = PARTITIONS, behind_first = 0;
    uint32_t first = 0;
    while (rc == 0 && !caught_up && fl_bench_now_us() < restarted + CATCHUP_WAIT_MS * 1000ULL) {
        for (size_t i = 0; i < NODES; i++)
            s_read_digests(opts, c, i, &digests[i]);
        behind = s_out_of_step(digests, &first);
        if (digests[2].answered && !answered) {
            answered = fl_bench_now_us();
            behind_first = behind;
        }
        if (behind == 0)
            caught_up = fl_bench_now_us();
        else
            usleep(20 * 1000);
    }
    if (rc == 0 && !caught_up) {
        fprintf(stderr, "bench_replication: catch-up: stalled: %zu partitions still differ "
                "%d s after C started again (first: %" PRIu32 ": A %s, B %s, C %s)\n", behind,
                CATCHUP_WAIT_MS / 1000, first, digests[0].digest[first],
                digests[1].digest[first], digests[2].digest[first]);
        c->failed = true;
        rc = -1;
    }
    if (rc == 0) {
        double s = (double) (caught_up - restarted) / 1e6;
        double rate = (double) opts->writes / s;
        uint64_t applied = 0, entries_sent = 0;
        if (s_ctl(opts, c, 2, status) == 0)
            applied = s_json_u64(s_ctl_out, "entries_applied");
        if (s_ctl(opts, c, 0, status) == 0)
            entries_sent = s_json_u64(s_ctl_out, "entries_sent");
        printf("catch-up of C after %d writes it missed: copies equal %.2f s after it started "
               "again: %.0f entries/s (writes caught up per second)\n", opts->writes, s, rate);
        printf("  C answered %.2f s after its start, %zu of %d partitions then out of step; "
               "C applied %" PRIu64 " replicated entries since, A has sent %" PRIu64 "\n",
               (double) (answered - restarted) / 1e6, behind_first, PARTITIONS, applied,
               entries_sent);
        printf("ratio catch-up/acknowledged throughput: %.2f\n",
               rate / fl_bench_ops_per_s(acked));
    }
    fl_bench_destroy(&acked);
    return rc;
}

/*  ------------------------------------------------------------------
 *  Main  */

static int
s_args(int argc, char **argv, s_opts_t *opts)
{
    *opts = (s_opts_t) { .flowd = getenv("FLOWD"), .writes = DEFAULT_WRITES };
    const char *flowctl = getenv("FLOWCTL");
    int rc = argc % 2 == 1 ? 0 : -1;
    for (int i = 1; i + 1 < argc && rc == 0; i += 2) {
        if (streq(argv[i], "--flowd"))
            opts->flowd = argv[i + 1];
        else
        if (streq(argv[i], "--flowctl"))
            flowctl = argv[i + 1];
        else
        if (streq(argv[i], "--writes")) {
            char *end = NULL;
            long n = strtol(argv[i + 1], &end, 10);
            if (!argv[i + 1][0] || *end || n < 64 || n > 100000000)
                rc = -1;
            opts->writes = (int) n;
        }
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
        fprintf(stderr, "usage: bench_replication --flowd PATH [--flowctl PATH] "
                "[--writes N (>= 64)]\n");
    return rc;
}

int
main(int argc, char **argv)
{
    s_opts_t opts;
    if (s_args(argc, argv, &opts) != 0)
        return 2;
    zsys_handler_set(NULL);
    signal(SIGPIPE, SIG_IGN);
    setvbuf(stdout, NULL, _IOLBF, 0);
    s_ctl_out = malloc(CTL_OUT_BYTES);
    static s_user_t users[SIGNUPS];
    static s_cluster_t cluster;
    if (!s_ctl_out)
        return 1;
    int failures = 0;

    /*  1. N = 1, then N = 3, kept for 2.  */
    fl_bench_t *one[WINDOWS] = { NULL }, *three[WINDOWS] = { NULL };
    size_t n = 0;
    bool have_one = s_cluster_start(&opts, &cluster, "N=1", 1) == 0
                    && (n = s_users(&cluster, "n1", users, SIGNUPS)) > 0
                    && s_write_runs(&opts, &cluster, users, n, one) == 0;
    if (!have_one)
        cluster.failed = true;
    s_cluster_stop(&cluster);
    bool up = s_cluster_start(&opts, &cluster, "N=3", 3) == 0
              && (n = s_users(&cluster, "n3", users, SIGNUPS)) > 0;
    bool have_three = up && s_write_runs(&opts, &cluster, users, n, three) == 0;
    if (have_one && have_three)
        s_report_writes(one, three);
    else {
        for (size_t w = 0; w < WINDOWS; w++) {
            if (have_one)
                fl_bench_report(one[w], stdout);
            if (have_three)
                fl_bench_report(three[w], stdout);
        }
        cluster.failed = true;
        failures++;
    }

    /*  2. Failover in the same cluster.  */
    if (!up || s_failover(&opts, &cluster, users, n) != 0) {
        cluster.failed = true;
        failures++;
    }
    s_cluster_stop(&cluster);
    for (size_t w = 0; w < WINDOWS; w++) {
        fl_bench_destroy(&one[w]);
        fl_bench_destroy(&three[w]);
    }

    /*  3. Catch-up in a fresh N = 3 cluster.  */
    if (s_cluster_start(&opts, &cluster, "N=3, catch-up", 3) != 0
        || (n = s_users(&cluster, "cu", users, SIGNUPS)) == 0
        || s_catch_up(&opts, &cluster, users, n) != 0) {
        cluster.failed = true;
        failures++;
    }
    s_cluster_stop(&cluster);
    free(s_ctl_out);
    if (failures)
        fprintf(stderr, "bench_replication: %d phase%s did not complete\n", failures,
                failures == 1 ? "" : "s");
    return failures ? 1 : 0;
}
