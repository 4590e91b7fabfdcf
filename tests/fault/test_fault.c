/*  tests/fault/test_fault.c — the fault checker.
 *
 *  A cluster of three flowd processes on 127.0.0.1 serves clients that
 *  write and read through every node while a nemesis breaks nodes, one
 *  fault at a time, on a schedule drawn from a seed:
 *
 *    kill     SIGKILL a random node; restart it after a pause;
 *    freeze   SIGSTOP a random node past the down timeout; SIGCONT;
 *    leader   SIGKILL the consensus leader; restart it;
 *    all      SIGKILL every node; restart them all;
 *    cut      take a node's network down past the down timeout; bring
 *             it up (only when the nodes run in network namespaces of
 *             their own: as root with iproute2, FAULT_NETNS not 0).
 *
 *  After each fault the nemesis waits (bounded) until the cluster has
 *  settled again: every member up, a leader, nothing moving.  A cluster
 *  that does not is a violation.
 *
 *  Clients: WORKERS threads, each with USERS users of its own whose
 *  requests it sends one after another through a random node.  A user's
 *  display name is a register: the worker writes increasing values
 *  ("u<user>-<n>") and reads it back.  Users RSVP going to, and withdraw
 *  from, EVENTS events of CAPACITY seats.  A request that failed with
 *  UNAVAILABLE, DEADLINE_EXCEEDED or INTERNAL may or may not have been
 *  applied: its outcome is unknown.  Any other answer is definite.
 *
 *  Checked, during the run and once every node is back:
 *    - a read of a display name returns the last acknowledged value or a
 *      value written after it whose outcome is unknown: an acknowledged
 *      write is never lost nor overwritten by an older one;
 *    - no event has more going attendees than seats, nobody is listed
 *      twice, a waitlist is non-empty only while every seat is taken, and
 *      the event's counts match its lists;
 *    - a user whose last acknowledged RSVP landed going or waitlisted
 *      (with no later RSVP of unknown outcome) is going or waitlisted;
 *      one whose last acknowledged RSVP withdrew is neither.
 *
 *    - every copy of each partition (three of them) holds the same
 *      records: their digests (flowctl cluster digests) agree.
 *
 *  FAULT_SECONDS (default 20) is the length of the faulty phase,
 *  FAULT_SEED (default 1) the nemesis' seed.  The last line printed is
 *  "operations N, faults N, violations N".
 */
#include "tests/cluster/clusterlib.h"
#include "tests/testlib.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define NODES 3
#define WORKERS 4
#define USERS 3                         /* per worker */
#define EVENTS 4
#define CAPACITY 2
#define UNKNOWN_MAX 256                 /* writes of unknown outcome kept per user */
#define CALL_MS 3000
#define SETTLE_MS 90000
#define FINAL_MS 60000
#define DOWN_AFTER_MS 1000
#define STATUS_MAX 65536
#define PARTITIONS 64
#define PARTITIONS_FLAG "64"

typedef struct {
    char id[64], token[600];
    uint64_t next;                      /* the next value's number */
    uint64_t acked;                     /* the last acknowledged value's (0: sign-up's) */
    uint64_t unknown[UNKNOWN_MAX];      /* written after it, outcome unknown */
    size_t nunknown;
    Flow__RsvpState rsvp[EVENTS];       /* where the last acknowledged RSVP landed */
    bool rsvp_unknown[EVENTS];          /* an RSVP after it has an unknown outcome */
} s_user_t;

typedef struct {
    int index;
    unsigned seed;
    s_user_t users[USERS];
    flow_t *flow[NODES];
} s_worker_t;

static struct {
    fl_proc_t nodes[NODES];
    char ports[NODES][16];
    bool frozen[NODES];                 /* or cut off: not asked */
    bool netns;                         /* each node in a namespace of its own */
    char ns[NODES][32];
    char host[NODES][32];
    char bridge[16];
    char events[EVENTS][64];
    char organizer_token[600];
    atomic_bool stop;
    atomic_ulong operations;
    atomic_ulong faults;
    atomic_ulong violations;
    pthread_mutex_t print;
} s;

static void
s_violation(const char *format, ...)
{
    va_list args;
    va_start(args, format);
    pthread_mutex_lock(&s.print);
    fputs("VIOLATION: ", stdout);
    vprintf(format, args);
    fputc('\n', stdout);
    fflush(stdout);
    pthread_mutex_unlock(&s.print);
    va_end(args);
    atomic_fetch_add(&s.violations, 1);
}

static void
s_say(const char *format, ...)
{
    va_list args;
    va_start(args, format);
    pthread_mutex_lock(&s.print);
    vprintf(format, args);
    fputc('\n', stdout);
    fflush(stdout);
    pthread_mutex_unlock(&s.print);
    va_end(args);
}

static bool
s_unknown_outcome(flow_status_t status)
{
    return status == FLOW_UNAVAILABLE || status == FLOW_DEADLINE_EXCEEDED
           || status == FLOW_INTERNAL;
}

/*  A free TCP port on 127.0.0.1, as text: each node's client port is
 *  fixed, so clients reach a restarted node where they reached it before. */
static void
s_free_port(char *out, size_t len)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    FL_CHECK(fd >= 0);
    struct sockaddr_in addr = { .sin_family = AF_INET };
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t size = sizeof addr;
    FL_CHECK(bind(fd, (struct sockaddr *) &addr, sizeof addr) == 0);
    FL_CHECK(getsockname(fd, (struct sockaddr *) &addr, &size) == 0);
    snprintf(out, len, "%u", ntohs(addr.sin_port));
    close(fd);
}

static void
s_client_endpoint(int node, char *out, size_t len)
{
    snprintf(out, len, "tcp://%s:%s", s.netns ? s.host[node] : "127.0.0.1", s.ports[node]);
}

/*  ------------------------------------------------------------------
 *  Network namespaces (docs: ../shared/notes/netns.md)  */

static int
s_sh(const char *format, ...)
{
    char command[512];
    va_list args;
    va_start(args, format);
    vsnprintf(command, sizeof command, format, args);
    va_end(args);
    return system(command);
}

static void
s_net_teardown(void)
{
    if (!s.bridge[0])
        return;
    for (int i = 0; i < NODES; i++)
        if (s.ns[i][0])
            s_sh("ip netns del %s 2>/dev/null", s.ns[i]);
    s_sh("ip link del %s 2>/dev/null", s.bridge);
    s.bridge[0] = '\0';
}

/*  A bridge with this process's address on it and one namespace per node
 *  behind it; false (nothing left behind) when the machine does not
 *  allow it.  */
static bool
s_net_setup(void)
{
    const char *want = getenv("FAULT_NETNS");
    if (geteuid() != 0 || (want && strcmp(want, "0") == 0) || access("/usr/sbin/ip", X_OK) != 0)
        return false;
    int id = (int) (getpid() % 10000), net = (int) (getpid() % 250);
    snprintf(s.bridge, sizeof s.bridge, "flbr%d", id);
    atexit(s_net_teardown);
    bool ok = s_sh("ip link add %s type bridge", s.bridge) == 0
              && s_sh("ip addr add 10.201.%d.254/24 dev %s", net, s.bridge) == 0
              && s_sh("ip link set %s up", s.bridge) == 0;
    for (int i = 0; ok && i < NODES; i++) {
        snprintf(s.ns[i], sizeof s.ns[i], "flow%d-%d", id, i);
        snprintf(s.host[i], sizeof s.host[i], "10.201.%d.%d", net, i + 1);
        ok = s_sh("ip netns add %s", s.ns[i]) == 0
             && s_sh("ip link add flv%d-%d type veth peer name eth0 netns %s", id, i, s.ns[i]) == 0
             && s_sh("ip link set flv%d-%d master %s up", id, i, s.bridge) == 0
             && s_sh("ip -n %s addr add %s/24 dev eth0", s.ns[i], s.host[i]) == 0
             && s_sh("ip -n %s link set eth0 up", s.ns[i]) == 0
             && s_sh("ip -n %s link set lo up", s.ns[i]) == 0;
    }
    if (!ok)
        s_net_teardown();
    return ok;
}

/*  The flags every start of NODE takes (with --join on its first).  */
static void
s_flags(int node, const char **flags, char *client, size_t len)
{
    static const char *const fixed[] = {
        "--pwhash-ops", "1", "--pwhash-mem-kb", "8", "--access-ttl-s", "86400",
        "--rate-auth-per-min", "1000000", "--rate-requests-per-s", "10000000",
        "--down-after-ms", "1000",
    };
    size_t n = 0;
    for (; n < sizeof fixed / sizeof fixed[0]; n++)
        flags[n] = fixed[n];
    s_client_endpoint(node, client, len);
    flags[n++] = "--client";
    flags[n++] = client;
    if (s.netns) {
        /*  Kept in static storage: the flags outlive this call.  */
        static char control[NODES][64], raft[NODES][64], peer[NODES][64];
        snprintf(control[node], sizeof control[node], "tcp://%s:*", s.host[node]);
        snprintf(raft[node], sizeof raft[node], "%s:0", s.host[node]);
        snprintf(peer[node], sizeof peer[node], "tcp://%s:*", s.host[node]);
        flags[n++] = "--control";
        flags[n++] = control[node];
        flags[n++] = "--raft";
        flags[n++] = raft[node];
        flags[n++] = "--peer";
        flags[n++] = peer[node];
    }
    flags[n] = NULL;
}

static const char *
s_netns_of(int node)
{
    return s.netns ? s.ns[node] : NULL;
}

static void
s_start(int node, const char *data)
{
    const char *flags[24];
    char client[64];
    s_flags(node, flags, client, sizeof client);
    fl_node_start_in(&s.nodes[node], s_netns_of(node), data, flags);
}

static void
s_restart(int node)
{
    char data[sizeof s.nodes[node].data];
    memcpy(data, s.nodes[node].data, sizeof data);
    s_start(node, data);
}

/*  ------------------------------------------------------------------
 *  Clients  */

static int
s_random(unsigned *seed, int n)
{
    return (int) (rand_r(seed) % (unsigned) n);
}

/*  NAME is "u<user>-<n>": its n, or -1.  */
static long long
s_value_of(const char *name)
{
    const char *dash = strrchr(name, '-');
    return dash && dash[1] ? atoll(dash + 1) : -1;
}

/*  True when N may be the user's display name now.  */
static bool
s_may_read(const s_user_t *user, long long n)
{
    if (n == (long long) user->acked)
        return true;
    for (size_t i = 0; i < user->nunknown; i++)
        if (n == (long long) user->unknown[i])
            return true;
    return false;
}

static void
s_write_name(s_worker_t *w, s_user_t *user, flow_t *flow)
{
    if (user->nunknown == UNKNOWN_MAX)
        return;
    uint64_t n = ++user->next;
    char name[64];
    snprintf(name, sizeof name, "u%d-%llu", w->index, (unsigned long long) n);
    Flow__TextValue value = FLOW__TEXT_VALUE__INIT;
    value.value = name;
    Flow__UpdateProfileRequest changes = FLOW__UPDATE_PROFILE_REQUEST__INIT;
    changes.display_name = &value;
    Flow__Profile *profile = NULL;
    flow_status_t status = flow_update_profile(flow, &changes, &profile);
    if (status == FLOW_OK) {
        user->acked = n;
        user->nunknown = 0;
        flow__profile__free_unpacked(profile, NULL);
    }
    else
    if (s_unknown_outcome(status))
        user->unknown[user->nunknown++] = n;
}

/*  Reads the user's display name through FLOW and checks it; the read's
 *  status.  */
static flow_status_t
s_read_name(s_user_t *user, flow_t *flow, const char *when)
{
    Flow__Profile *profile = NULL;
    flow_status_t status = flow_get_profile(flow, user->id, &profile);
    if (status != FLOW_OK)
        return status;
    long long n = s_value_of(profile->display_name);
    if (!s_may_read(user, n))
        s_violation("%s: user %s reads display name \"%s\"; last acknowledged %llu, %zu "
                    "later of unknown outcome", when, user->id, profile->display_name,
                    (unsigned long long) user->acked, user->nunknown);
    flow__profile__free_unpacked(profile, NULL);
    return FLOW_OK;
}

static void
s_rsvp(s_worker_t *w, s_user_t *user, flow_t *flow)
{
    int e = s_random(&w->seed, EVENTS);
    Flow__RsvpState want = s_random(&w->seed, 5) < 3 ? FLOW__RSVP_STATE__RSVP_GOING
                                                      : FLOW__RSVP_STATE__RSVP_NONE;
    Flow__RsvpReply *reply = NULL;
    flow_status_t status = flow_rsvp(flow, s.events[e], want, &reply);
    if (status == FLOW_OK) {
        user->rsvp[e] = reply->state;
        user->rsvp_unknown[e] = false;
        flow__rsvp_reply__free_unpacked(reply, NULL);
    }
    else
    if (s_unknown_outcome(status))
        user->rsvp_unknown[e] = true;
}

static void *
s_worker(void *arg)
{
    s_worker_t *w = arg;
    while (!atomic_load(&s.stop)) {
        s_user_t *user = &w->users[s_random(&w->seed, USERS)];
        flow_t *flow = w->flow[s_random(&w->seed, NODES)];
        flow_set_token(flow, user->token);
        int op = s_random(&w->seed, 20);
        if (op < 9)
            s_write_name(w, user, flow);
        else
        if (op < 16)
            s_rsvp(w, user, flow);
        else
            s_read_name(user, flow, "during the run");
        atomic_fetch_add(&s.operations, 1);
    }
    return NULL;
}

/*  ------------------------------------------------------------------
 *  Nemesis  */

static int
s_leader(void)
{
    static char status[STATUS_MAX];
    /*  An election may be under way (a node that was frozen asks for
     *  votes when it thaws): asked again for a while.  */
    for (int tries = 0; tries < 50; tries++) {
        for (int i = 0; i < NODES; i++) {
            if (s.frozen[i] || fl_cluster_status(&s.nodes[i], status, sizeof status) != 0)
                continue;
            char leader[128];
            fl_json_string(status, "leader_id", leader, sizeof leader);
            for (int j = 0; j < NODES && leader[0]; j++)
                if (strcmp(leader, s.nodes[j].node_id) == 0)
                    return j;
        }
        usleep(200 * 1000);
    }
    return -1;
}

static void
s_settle(const char *after)
{
    static char status[STATUS_MAX];
    if (!fl_cluster_settled(&s.nodes[0], NODES, SETTLE_MS, status, sizeof status))
        s_violation("the cluster did not settle within %d s after %s: %s", SETTLE_MS / 1000,
                    after, status);
}

static void
s_pause_ms(unsigned *seed, int lo, int hi)
{
    usleep((useconds_t) (lo + s_random(seed, hi - lo + 1)) * 1000);
}

static void
s_fault(unsigned *seed)
{
    int kind = s_random(seed, 10), victim = s_random(seed, NODES);
    const char *name;
    if (kind < 4) {
        name = "kill";
        fl_node_stop(&s.nodes[victim], SIGKILL);
        s_pause_ms(seed, 200, 2000);
        s_restart(victim);
    }
    else
    if (kind == 6 && s.netns) {
        name = "cut";
        s.frozen[victim] = true;
        s_sh("ip -n %s link set eth0 down", s.ns[victim]);
        s_pause_ms(seed, DOWN_AFTER_MS + 500, DOWN_AFTER_MS * 3);
        s_sh("ip -n %s link set eth0 up", s.ns[victim]);
        s.frozen[victim] = false;
    }
    else
    if (kind < 7) {
        name = "freeze";
        s.frozen[victim] = true;
        kill(s.nodes[victim].pid, SIGSTOP);
        s_pause_ms(seed, DOWN_AFTER_MS + 500, DOWN_AFTER_MS * 3);
        kill(s.nodes[victim].pid, SIGCONT);
        s.frozen[victim] = false;
    }
    else
    if (kind < 9) {
        name = "leader";
        victim = s_leader();
        if (victim < 0) {
            s_violation("no node names a consensus leader");
            return;
        }
        fl_node_stop(&s.nodes[victim], SIGKILL);
        s_pause_ms(seed, 200, 2000);
        s_restart(victim);
    }
    else {
        name = "all";
        victim = -1;
        for (int i = 0; i < NODES; i++)
            fl_node_stop(&s.nodes[i], SIGKILL);
        s_pause_ms(seed, 200, 1000);
        for (int i = 0; i < NODES; i++)
            s_restart(i);
    }
    atomic_fetch_add(&s.faults, 1);
    char what[64];
    snprintf(what, sizeof what, "%s %s", name, victim < 0 ? "every node" : s.nodes[victim].node_id);
    s_say("fault %lu: %s", atomic_load(&s.faults), what);
    s_settle(what);
}

/*  ------------------------------------------------------------------
 *  Set-up and the final checks  */

static void
s_sign_up(flow_t *flow, const char *email, const char *name, char *id, char *token)
{
    Flow__SessionReply *session = NULL;
    FL_CHECK_INT(flow_sign_up(flow, email, "correct horse battery", name, &session), ==,
                 FLOW_OK);
    snprintf(id, 64, "%s", session->user_id);
    snprintf(token, 600, "%s", session->access_token);
    flow__session_reply__free_unpacked(session, NULL);
}

static void
s_create_events(flow_t *flow)
{
    char id[64];
    s_sign_up(flow, "organizer@example.com", "Organizer", id, s.organizer_token);
    flow_set_token(flow, s.organizer_token);
    for (int e = 0; e < EVENTS; e++) {
        Flow__EventDraft d = FLOW__EVENT_DRAFT__INIT;
        Flow__Location loc = FLOW__LOCATION__INIT;
        Flow__Pricing price = FLOW__PRICING__INIT;
        char title[32];
        snprintf(title, sizeof title, "Small room %d", e);
        d.title = title;
        d.category = FLOW__CATEGORY__CATEGORY_MUSIC;
        d.start_s = time(NULL) + 7 * 86400 + e * 3600;
        d.end_s = d.start_s + 3600;
        d.time_zone = "Europe/Berlin";
        loc.lat = 52.52;
        loc.lon = 13.405 + e * 0.01;
        d.location = &loc;
        price.type = FLOW__PRICE_TYPE__PRICE_FREE;
        d.pricing = &price;
        d.capacity = CAPACITY;
        Flow__Event *event = NULL;
        FL_CHECK_INT(flow_event_create(flow, &d, &event), ==, FLOW_OK);
        snprintf(s.events[e], sizeof s.events[e], "%s", event->id);
        flow__event__free_unpacked(event, NULL);
    }
}

/*  Makes CALL until it answers OK or FINAL_MS passed.  */
#define S_UNTIL_OK(call)                                                      \
    do {                                                                      \
        flow_status_t status_ = FLOW_UNAVAILABLE;                             \
        for (int waited_ = 0; waited_ < FINAL_MS && status_ != FLOW_OK;       \
             waited_ += 200) {                                                \
            status_ = (call);                                                 \
            if (status_ != FLOW_OK)                                           \
                usleep(200 * 1000);                                           \
        }                                                                     \
        FL_CHECK_INT(status_, ==, FLOW_OK);                                   \
    } while (0)

/*  Every user of STATE listed for event E into IDS (NUL-separated, up to
 *  MAX); how many.  */
static size_t
s_list(flow_t *flow, int e, Flow__RsvpState state, char ids[][64], size_t max)
{
    Flow__AttendeesReply *reply = NULL;
    S_UNTIL_OK(flow_attendees(flow, s.events[e], state, 200, NULL, &reply));
    size_t n = 0;
    for (size_t i = 0; i < reply->n_attendees && n < max; i++)
        snprintf(ids[n++], 64, "%s", reply->attendees[i]->user_id);
    FL_CHECK(!reply->next_cursor[0]);
    flow__attendees_reply__free_unpacked(reply, NULL);
    return n;
}

static bool
s_listed(char ids[][64], size_t n, const char *id)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(ids[i], id) == 0)
            return true;
    return false;
}

static void
s_check_event(flow_t *flow, int e, s_worker_t *workers)
{
    enum { MAX = WORKERS * USERS + 1 };
    char going[MAX][64], waiting[MAX][64];
    flow_set_token(flow, s.organizer_token);
    size_t ngoing = s_list(flow, e, FLOW__RSVP_STATE__RSVP_GOING, going, MAX);
    size_t nwaiting = s_list(flow, e, FLOW__RSVP_STATE__RSVP_WAITLISTED, waiting, MAX);
    Flow__Event *event = NULL;
    S_UNTIL_OK(flow_event_get(flow, s.events[e], &event));
    if (ngoing > CAPACITY)
        s_violation("event %s: %zu going, %d seats", s.events[e], ngoing, CAPACITY);
    if (nwaiting > 0 && ngoing < CAPACITY)
        s_violation("event %s: %zu waiting while %zu of %d seats are taken", s.events[e],
                    nwaiting, ngoing, CAPACITY);
    if (event->going != ngoing || event->waitlisted != nwaiting)
        s_violation("event %s counts %u going and %u waiting, lists %zu and %zu", s.events[e],
                    event->going, event->waitlisted, ngoing, nwaiting);
    flow__event__free_unpacked(event, NULL);
    for (size_t i = 0; i < ngoing + nwaiting; i++) {
        const char *id = i < ngoing ? going[i] : waiting[i - ngoing];
        size_t seen = 0;
        for (size_t j = 0; j < ngoing; j++)
            seen += strcmp(going[j], id) == 0;
        for (size_t j = 0; j < nwaiting; j++)
            seen += strcmp(waiting[j], id) == 0;
        if (seen != 1)
            s_violation("event %s lists user %s %zu times", s.events[e], id, seen);
    }
    for (int w = 0; w < WORKERS; w++)
        for (int u = 0; u < USERS; u++) {
            const s_user_t *user = &workers[w].users[u];
            if (user->rsvp_unknown[e])
                continue;
            bool listed = s_listed(going, ngoing, user->id) || s_listed(waiting, nwaiting, user->id);
            bool should = user->rsvp[e] == FLOW__RSVP_STATE__RSVP_GOING
                          || user->rsvp[e] == FLOW__RSVP_STATE__RSVP_WAITLISTED;
            if (listed != should)
                s_violation("event %s: user %s is %slisted; the last acknowledged RSVP landed "
                            "%s", s.events[e], user->id, listed ? "" : "not ",
                            user->rsvp[e] == FLOW__RSVP_STATE__RSVP_GOING ? "going"
                            : user->rsvp[e] == FLOW__RSVP_STATE__RSVP_WAITLISTED ? "waitlisted"
                                                                                 : "nowhere");
        }
}

static long
s_env(const char *name, long fallback)
{
    const char *value = getenv(name);
    return value && *value ? atol(value) : fallback;
}

FL_TEST(acknowledged_writes_survive_kills_freezes_and_restarts)
{
    long seconds = s_env("FAULT_SECONDS", 20);
    unsigned seed = (unsigned) s_env("FAULT_SEED", 1);
    pthread_mutex_init(&s.print, NULL);
    s.netns = s_net_setup();
    s_say("fault checker: %d nodes%s, %ld s of faults, seed %u", NODES,
          s.netns ? " in network namespaces" : " on 127.0.0.1 (no network namespaces: not "
                    "root, no iproute2, or FAULT_NETNS=0; no network cuts)", seconds, seed);
    for (int i = 0; i < NODES; i++) {
        if (s.netns)
            snprintf(s.ports[i], sizeof s.ports[i], "7700");
        else
            s_free_port(s.ports[i], sizeof s.ports[i]);
    }
    {
        const char *flags[24];
        char client[64];
        s_flags(0, flags, client, sizeof client);
        size_t n = 0;
        while (flags[n])
            n++;
        flags[n++] = "--partitions";
        flags[n++] = PARTITIONS_FLAG;
        flags[n] = NULL;
        fl_node_start_in(&s.nodes[0], s_netns_of(0), NULL, flags);
    }
    static char status[STATUS_MAX];
    FL_CHECK(fl_cluster_settled(&s.nodes[0], 1, SETTLE_MS, status, sizeof status));
    for (int i = 1; i < NODES; i++) {
        const char *flags[24];
        char client[64];
        s_flags(i, flags, client, sizeof client);
        fl_cluster_join_in(&s.nodes[i], s_netns_of(i), NULL, &s.nodes[0], flags);
    }
    FL_CHECK(fl_cluster_settled(&s.nodes[0], NODES, SETTLE_MS, status, sizeof status));

    static s_worker_t workers[WORKERS];
    char endpoint[64];
    s_client_endpoint(0, endpoint, sizeof endpoint);
    flow_t *setup = flow_new(endpoint);
    s_create_events(setup);
    for (int w = 0; w < WORKERS; w++) {
        workers[w].index = w;
        workers[w].seed = seed * 7919u + (unsigned) w;
        for (int u = 0; u < USERS; u++) {
            char email[64], name[32];
            snprintf(email, sizeof email, "user%d.%d@example.com", w, u);
            snprintf(name, sizeof name, "u%d-0", w);
            s_sign_up(setup, email, name, workers[w].users[u].id, workers[w].users[u].token);
        }
        for (int i = 0; i < NODES; i++) {
            s_client_endpoint(i, endpoint, sizeof endpoint);
            workers[w].flow[i] = flow_new(endpoint);
            flow_set_timeout(workers[w].flow[i], CALL_MS);
        }
    }
    pthread_t threads[WORKERS];
    for (int w = 0; w < WORKERS; w++)
        FL_CHECK(pthread_create(&threads[w], NULL, s_worker, &workers[w]) == 0);

    time_t end = time(NULL) + seconds;
    while (time(NULL) < end) {
        s_pause_ms(&seed, 500, 3000);
        s_fault(&seed);
    }
    atomic_store(&s.stop, true);
    for (int w = 0; w < WORKERS; w++)
        pthread_join(threads[w], NULL);
    s_settle("the last fault");

    /*  Every node back: the final state, through every node.  */
    for (int w = 0; w < WORKERS; w++)
        for (int u = 0; u < USERS; u++) {
            s_user_t *user = &workers[w].users[u];
            flow_t *flow = workers[w].flow[(w + u) % NODES];
            flow_set_token(flow, user->token);
            S_UNTIL_OK(s_read_name(user, flow, "after the run"));
        }
    for (int e = 0; e < EVENTS; e++)
        s_check_event(workers[0].flow[e % NODES], e, workers);
    /*  Every copy of each partition holds the same records.  */
    size_t compared = 0;
    char why[256];
    if (!fl_cluster_copies_agree(s.nodes, NODES, PARTITIONS, NODES, FINAL_MS, &compared, why,
                                 sizeof why))
        s_violation("the copies of a partition differ: %s", why);
    s_say("replicas compared: %zu partitions, every copy alike", compared);

    for (int w = 0; w < WORKERS; w++)
        for (int i = 0; i < NODES; i++)
            flow_destroy(&workers[w].flow[i]);
    flow_destroy(&setup);
    for (int i = NODES - 1; i >= 0; i--)
        FL_CHECK_INT(fl_node_stop(&s.nodes[i], SIGTERM), ==, 0);
    s_say("operations %lu, faults %lu, violations %lu", atomic_load(&s.operations),
          atomic_load(&s.faults), atomic_load(&s.violations));
    FL_CHECK_INT(atomic_load(&s.violations), ==, 0);
}
