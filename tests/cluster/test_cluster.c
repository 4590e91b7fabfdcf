/*  Clusters of real flowd processes on 127.0.0.1: membership agreed by
 *  consensus, joining with the join credential (and refusal without it),
 *  partitions handed to the nodes the placement gives them while clients
 *  write, requests and searches through any node, leaving and removal,
 *  and metadata and data that survive a restart of every node.  Clusters
 *  are made with 64 partitions so that handoff ends quickly.  Every wait
 *  is bounded; nothing is timed.
 */
#include "tests/cluster/clusterlib.h"
#include "tests/testlib.h"

#include "cluster.pb-c.h"
#include "actors/event/event.h"
#include "cluster/keys.h"
#include "cluster/peer.h"
#include "storage/keyspace.h"

#include <czmq.h>
#include <pthread.h>
#include <signal.h>
#include <time.h>
#include <unistd.h>

#define WAIT_MS 30000
#define MOVE_WAIT_MS 120000
#define NODES_MAX 5
#define PARTITIONS 64

static char s_out[65536], s_err[4096];

/*  flowctl --json cluster status against NODE into s_out; its exit code. */
static int
s_status(const fl_proc_t *node)
{
    return fl_cluster_status(node, s_out, sizeof s_out);
}

/*  The value of "KEY":"..." in s_out into OUT ("" when absent).  */
static void
s_field(const char *key, char *out, size_t len)
{
    fl_json_string(s_out, key, out, len);
}

static size_t
s_count(const char *needle)
{
    return fl_count(s_out, needle);
}

/*  The number after "NAME": in s_out; -1 when absent.  */
static long
s_number(const char *name)
{
    char pattern[64];
    snprintf(pattern, sizeof pattern, "\"%s\":", name);
    const char *p = strstr(s_out, pattern);
    return p ? atol(p + strlen(pattern)) : -1;
}

/*  Reads NODE's status until it knows MEMBERS members and a leader, or
 *  WAIT_MS passed; true when it did.  */
static bool
s_settled(const fl_proc_t *node, size_t members)
{
    for (int waited = 0; waited <= WAIT_MS; waited += 50) {
        char leader[128];
        if (s_status(node) == 0) {
            s_field("leader_id", leader, sizeof leader);
            if (leader[0] && s_count("\"node_id\":\"n") == members + 1)
                return true;
        }
        usleep(50 * 1000);
    }
    return false;
}

/*  Reads NODE's status until it knows MEMBERS members, all up, a leader
 *  and no partition moving, or MOVE_WAIT_MS passed; true when it did.  */
/*  True when NODE's status says MEMBERS members, all up, a leader and
 *  nothing moving. */
static bool
s_settled_with(const fl_proc_t *node, size_t members)
{
    return s_status(node) == 0 && fl_cluster_settled_in(s_out, members);
}

static bool
s_handed_off(const fl_proc_t *node, size_t members)
{
    return fl_cluster_settled(node, members, MOVE_WAIT_MS, s_out, sizeof s_out);
}

/*  The epoch in s_out into OUT.  */
static void
s_epoch(char *out, size_t len)
{
    const char *e = strstr(s_out, "\"epoch\":");
    out[0] = '\0';
    if (e)
        snprintf(out, len, "%.*s", (int) strcspn(e + 8, ",}"), e + 8);
}

static const char *const s_fast[] = { "--pwhash-ops", "1", "--pwhash-mem-kb", "8",
                                      "--partitions", "64", NULL };
/*  A cluster that keeps one copy of each partition.  */
static const char *const s_one_copy[] = { "--pwhash-ops", "1", "--pwhash-mem-kb", "8",
                                          "--partitions", "64", "--replicas", "1", NULL };

static void
s_start_joining(fl_proc_t *node, const char *data, const fl_proc_t *through)
{
    fl_cluster_join(node, data, through, NULL);
}

/*  A cluster of three: the first creates it with FLAGS, the others join
 *  through it.  */
static void
s_start_three_with(fl_proc_t n[3], const char *const *flags)
{
    fl_node_start(&n[0], NULL, flags);
    FL_CHECK(s_settled(&n[0], 1));
    s_start_joining(&n[1], NULL, &n[0]);
    s_start_joining(&n[2], NULL, &n[0]);
}

static void
s_start_three(fl_proc_t n[3])
{
    s_start_three_with(n, s_fast);
}

FL_TEST(a_first_node_creates_a_cluster_of_one_it_leads)
{
    fl_proc_t a;
    fl_node_start(&a, NULL, NULL);
    FL_CHECK(s_settled(&a, 1));
    char state[32], leader[128], cluster[64];
    s_field("consensus_state", state, sizeof state);
    s_field("leader_id", leader, sizeof leader);
    s_field("cluster_id", cluster, sizeof cluster);
    FL_CHECK_STR(state, "leader");
    FL_CHECK_STR(leader, a.node_id);
    FL_CHECK_INT(strlen(cluster), ==, 32);
    FL_CHECK(strstr(s_out, "\"state\":\"MEMBER_UP\"") != NULL);
    FL_CHECK(strstr(s_out, "\"partitions\":1024") != NULL);
    FL_CHECK(strstr(s_out, "\"replicas\":3") != NULL);
    FL_CHECK(strstr(s_out, a.peer) != NULL);

    const char *argv[] = { fl_program("FLOWCTL_CLI"), "--control", a.control, "--key",
                           a.admin_key, "cluster", "status", NULL };
    FL_CHECK_INT(fl_run(argv, NULL, s_out, sizeof s_out, s_err, sizeof s_err), ==, 0);
    FL_CHECK(strstr(s_out, "consensus    leader") != NULL);
    FL_CHECK(strstr(s_out, "voter") != NULL);
    FL_CHECK_INT(fl_node_stop(&a, SIGTERM), ==, 0);
}

FL_TEST(three_nodes_agree_on_members_leader_and_epoch)
{
    fl_proc_t n[3];
    fl_node_start(&n[0], NULL, s_fast);
    FL_CHECK(s_settled(&n[0], 1));
    s_start_joining(&n[1], NULL, &n[0]);
    s_start_joining(&n[2], NULL, &n[1]);          /* through a follower */
    char cluster[3][64], leader[3][128], epoch[3][32];
    FL_CHECK(s_handed_off(&n[0], 3));
    for (int i = 0; i < 3; i++) {
        FL_CHECK(s_handed_off(&n[i], 3));
        s_field("cluster_id", cluster[i], sizeof cluster[i]);
        s_field("leader_id", leader[i], sizeof leader[i]);
        s_epoch(epoch[i], sizeof epoch[i]);
        FL_CHECK(strstr(s_out, n[0].node_id) && strstr(s_out, n[1].node_id)
                 && strstr(s_out, n[2].node_id));
    }
    FL_CHECK_STR(cluster[1], cluster[0]);
    FL_CHECK_STR(cluster[2], cluster[0]);
    FL_CHECK_STR(leader[1], leader[0]);
    FL_CHECK_STR(leader[2], leader[0]);
    FL_CHECK_STR(epoch[1], epoch[0]);
    FL_CHECK_STR(epoch[2], epoch[0]);
    /*  Two members added, then one epoch per partition that moved.  */
    FL_CHECK_INT(atoi(epoch[0]), >, 3);
    /*  Three voters: the first five nodes vote.  */
    const char *v = strstr(s_out, "\"voters\":[");
    FL_CHECK(v != NULL);
    FL_CHECK_INT(strcspn(v, "]") > 3 * 18, ==, 1);

    /*  Every node holds the same token key: one signs, any verifies.  */
    char a[600], b[600];
    snprintf(a, sizeof a, "%s/keys/cluster.key", n[0].data);
    snprintf(b, sizeof b, "%s/keys/cluster.key", n[2].data);
    const char *cmp[] = { "/usr/bin/cmp", a, b, NULL };
    FL_CHECK_INT(fl_run(cmp, NULL, s_out, sizeof s_out, s_err, sizeof s_err), ==, 0);
    for (int i = 2; i >= 0; i--)
        FL_CHECK_INT(fl_node_stop(&n[i], SIGTERM), ==, 0);
}

/*  The owner of PARTITION by NODE's ring into OUT.  */
static void
s_owner(const fl_proc_t *node, uint32_t partition, char *out, size_t len)
{
    char p[16];
    snprintf(p, sizeof p, "%u", partition);
    const char *argv[] = { fl_program("FLOWCTL_CLI"), "--control", node->control, "--key",
                           node->admin_key, "--json", "cluster", "ring", "--partition", p,
                           NULL };
    FL_CHECK_INT(fl_run(argv, NULL, s_out, sizeof s_out, s_err, sizeof s_err), ==, 0);
    s_field("owner", out, len);
}

FL_TEST(any_node_forwards_to_the_owner_of_the_partition)
{
    fl_proc_t a, b;
    fl_node_start(&a, NULL, s_fast);
    FL_CHECK(s_settled(&a, 1));
    s_start_joining(&b, NULL, &a);
    FL_CHECK(s_handed_off(&a, 2));
    FL_CHECK(s_handed_off(&b, 2));
    const char *keys[] = { "someone", "0123456789abcdef", "ann@example.com", "x", "y", "z" };
    bool on[2] = { false, false };
    for (size_t k = 0; k < sizeof keys / sizeof keys[0]; k++) {
        uint32_t p = fl_keyspace_partition(keys[k], strlen(keys[k]), PARTITIONS);
        char owner[64];
        s_owner(&a, p, owner, sizeof owner);
        on[streq(owner, b.node_id)] = true;
        for (int via = 0; via < 2; via++) {
            flow_t *flow = flow_new(via ? b.client : a.client);
            flow_pong_t pong;
            FL_CHECK_INT(flow_ping(flow, FLOW__ACTOR__ACTOR_UNSPECIFIED, NULL, 0, &pong), ==,
                         FLOW_OK);
            FL_CHECK_STR(pong.node_id, via ? b.node_id : a.node_id);
            FL_CHECK_INT(flow_ping(flow, FLOW__ACTOR__ACTOR_USER, keys[k], strlen(keys[k]),
                                   &pong), ==, FLOW_OK);
            FL_CHECK_STR(pong.node_id, owner);
            flow_destroy(&flow);
        }
        /*  The control socket acts on its own node's data only, and says so. */
        if (streq(keys[k], "ann@example.com")) {
            const fl_proc_t *other = streq(owner, a.node_id) ? &b : &a;
            const char *argv[] = { fl_program("FLOWCTL_CLI"), "--control", other->control,
                                   "--key", other->admin_key, "user", "show", keys[k], NULL };
            FL_CHECK_INT(fl_run(argv, NULL, s_out, sizeof s_out, s_err, sizeof s_err), !=, 0);
            FL_CHECK(strstr(s_err, "is owned by node") && strstr(s_err, owner));
        }
    }
    /*  Six keys over two nodes of about 32 partitions each.  */
    FL_CHECK(on[0] || on[1]);
    FL_CHECK_INT(fl_node_stop(&b, SIGTERM), ==, 0);
    FL_CHECK_INT(fl_node_stop(&a, SIGTERM), ==, 0);
}

/*  Many requests in flight through a node that owns none of them: they
 *  travel to the owner in batches and every one is answered once, under
 *  its own id, by the owner's actor.  */
FL_TEST(requests_forwarded_together_are_each_answered_once_by_the_owner)
{
    enum { REQUESTS = 300 };
    fl_proc_t a, b;
    fl_node_start(&a, NULL, s_fast);
    FL_CHECK(s_settled(&a, 1));
    s_start_joining(&b, NULL, &a);
    FL_CHECK(s_handed_off(&a, 2));
    FL_CHECK(s_handed_off(&b, 2));
    /*  Keys of both nodes' partitions, mixed: the forwarded ones leave
     *  between local ones.  */
    static char keys[REQUESTS][16], owners[PARTITIONS][64];
    size_t forwarded = 0;
    for (size_t i = 0; i < REQUESTS; i++) {
        snprintf(keys[i], sizeof keys[i], "key-%zu", i);
        uint32_t p = fl_keyspace_partition(keys[i], strlen(keys[i]), PARTITIONS);
        if (!owners[p][0])
            s_owner(&a, p, owners[p], sizeof owners[p]);
        forwarded += streq(owners[p], a.node_id);
    }
    FL_CHECK_INT(forwarded, >, REQUESTS / 4);
    zsock_t *client = zsock_new_dealer(b.client);
    FL_CHECK(client);
    zsock_set_rcvtimeo(client, WAIT_MS);
    for (size_t i = 0; i < REQUESTS; i++) {
        Flow__PingRequest ping = FLOW__PING_REQUEST__INIT;
        ping.actor = FLOW__ACTOR__ACTOR_USER;
        ping.key = (ProtobufCBinaryData) { strlen(keys[i]), (uint8_t *) keys[i] };
        Flow__Request req = FLOW__REQUEST__INIT;
        req.version = 1;
        req.id = 1000 + i;
        req.timeout_ms = WAIT_MS;
        req.body_case = FLOW__REQUEST__BODY_PING;
        req.ping = &ping;
        uint8_t buf[256];
        zframe_t *frame = zframe_new(buf, flow__request__pack(&req, buf));
        FL_CHECK_INT(zframe_send(&frame, client, 0), ==, 0);
    }
    static bool answered[REQUESTS];
    for (size_t got = 0; got < REQUESTS; got++) {
        zframe_t *frame = zframe_recv(client);
        FL_CHECK(frame);
        Flow__ServerMessage *m =
            flow__server_message__unpack(NULL, zframe_size(frame), zframe_data(frame));
        zframe_destroy(&frame);
        FL_CHECK(m && m->kind_case == FLOW__SERVER_MESSAGE__KIND_REPLY);
        const Flow__Reply *r = m->reply;
        FL_CHECK(r->id >= 1000 && r->id < 1000 + REQUESTS && !answered[r->id - 1000]);
        answered[r->id - 1000] = true;
        FL_CHECK_INT(r->status, ==, FLOW__STATUS__OK);
        FL_CHECK(r->body_case == FLOW__REPLY__BODY_PING);
        const char *key = keys[r->id - 1000];
        uint32_t p = fl_keyspace_partition(key, strlen(key), PARTITIONS);
        FL_CHECK_INT(r->ping->partition, ==, p);
        FL_CHECK_STR(r->ping->node_id, owners[p]);
        flow__server_message__free_unpacked(m, NULL);
    }
    zsock_destroy(&client);
    FL_CHECK_INT(fl_node_stop(&b, SIGTERM), ==, 0);
    FL_CHECK_INT(fl_node_stop(&a, SIGTERM), ==, 0);
}

FL_TEST(a_node_without_the_join_credential_is_refused_and_nothing_changes)
{
    fl_proc_t a;
    fl_node_start(&a, NULL, s_fast);
    FL_CHECK(s_settled(&a, 1));
    char before[64];
    s_epoch(before, sizeof before);

    /*  The right member key, a wrong secret.  */
    char good[700], bad[700], text[256];
    snprintf(good, sizeof good, "%s/keys/join.key", a.data);
    snprintf(bad, sizeof bad, "%s/bad.key", fl_test_tmpdir());
    FILE *in = fopen(good, "r");
    FL_CHECK(in && fgets(text, sizeof text, in));
    fclose(in);
    char *secret = strrchr(text, ' ');
    FL_CHECK(secret != NULL);
    memset(secret + 1, '0', 64);
    FILE *out = fopen(bad, "w");
    FL_CHECK(out && fputs(text, out) >= 0);
    fclose(out);
    fl_proc_t b;
    const char *flags[] = { "--join", a.peer, "--join-key", bad, NULL };
    FL_CHECK_INT(fl_node_start_fails(&b, NULL, flags), !=, 0);
    FL_CHECK(fl_node_log_has(&b, "join: wrong join credential"));

    /*  No credential at all.  */
    fl_proc_t c;
    const char *none[] = { "--join", a.peer, NULL };
    FL_CHECK_INT(fl_node_start_fails(&c, NULL, none), !=, 0);
    FL_CHECK(fl_node_log_has(&c, "joining needs the join credential"));

    FL_CHECK(s_settled(&a, 1));
    char after[64];
    s_epoch(after, sizeof after);
    FL_CHECK_STR(after, before);
    FL_CHECK(fl_node_log_has(&a, "join refused: wrong join credential"));
    FL_CHECK_INT(fl_node_stop(&a, SIGTERM), ==, 0);
}

/*  ------------------------------------------------------------------
 *  Requests through any node  */

static void
s_sign_up(flow_t *flow, const char *email, char *user_id, char *token)
{
    Flow__SignUpRequest body = FLOW__SIGN_UP_REQUEST__INIT;
    body.email = (char *) email;
    body.password = "correct horse battery";
    body.display_name = "Someone";
    Flow__Request req = FLOW__REQUEST__INIT;
    req.body_case = FLOW__REQUEST__BODY_SIGN_UP;
    req.sign_up = &body;
    Flow__Reply *reply = NULL;
    FL_EXPECT(fl_call(flow, NULL, &req, &reply), FLOW_OK, "");
    snprintf(user_id, 64, "%s", reply->session->user_id);
    snprintf(token, 600, "%s", reply->session->access_token);
    flow__reply__free_unpacked(reply, NULL);
}

/*  Creates an event through FLOW with TOKEN at the given offset from
 *  Berlin, starting at DAY_S + I minutes, with REQUEST_KEY ("": none),
 *  within BUDGET_MS; its id into ID.  */
static flow_status_t
s_create_event_with(flow_t *flow, const char *token, int i, uint32_t capacity, int64_t day_s,
                    const char *request_key, int budget_ms, char *id)
{
    Flow__EventDraft d = FLOW__EVENT_DRAFT__INIT;
    Flow__Location loc = FLOW__LOCATION__INIT;
    Flow__Pricing price = FLOW__PRICING__INIT;
    char title[32];
    snprintf(title, sizeof title, "Set %d", i);
    d.title = title;
    d.category = FLOW__CATEGORY__CATEGORY_MUSIC;
    d.start_s = day_s + i * 60;
    d.end_s = d.start_s + 3600;
    d.time_zone = "Europe/Berlin";
    loc.lat = 52.52 + (i % 7) * 0.001;
    loc.lon = 13.405 + (i % 5) * 0.001;
    d.location = &loc;
    price.type = FLOW__PRICE_TYPE__PRICE_FREE;
    d.pricing = &price;
    d.capacity = capacity;
    Flow__CreateEventRequest body = FLOW__CREATE_EVENT_REQUEST__INIT;
    body.event = &d;
    Flow__Request req = FLOW__REQUEST__INIT;
    req.body_case = FLOW__REQUEST__BODY_CREATE_EVENT;
    req.create_event = &body;
    req.token = (char *) token;
    req.request_key = (char *) request_key;
    Flow__Reply *reply = NULL;
    flow_status_t status = flow_call(flow, &req, &reply, budget_ms);
    id[0] = '\0';
    if (status == FLOW_OK)
        snprintf(id, 64, "%s", reply->event->id);
    else
        fprintf(stderr, "create_event: %s \"%s\"\n", flow_status_name(status),
                reply ? reply->message : flow_error(flow));
    if (reply)
        flow__reply__free_unpacked(reply, NULL);
    return status;
}

/*  Creates an event of ANN's through FLOW at the given offset from Berlin;
 *  its id into ID.  */
static void
s_create_event(flow_t *flow, const char *token, int i, uint32_t capacity, char *id)
{
    FL_CHECK_INT(s_create_event_with(flow, token, i, capacity, time(NULL) + 86400, "", 10000, id),
                 ==, FLOW_OK);
}

/*  The event's going count through FLOW; -1 when it cannot be read.  */
static int
s_going(flow_t *flow, const char *token, const char *id)
{
    Flow__GetEventRequest get = FLOW__GET_EVENT_REQUEST__INIT;
    get.id = (char *) id;
    Flow__Request g = FLOW__REQUEST__INIT;
    g.body_case = FLOW__REQUEST__BODY_GET_EVENT;
    g.get_event = &get;
    Flow__Reply *reply = NULL;
    flow_status_t status = fl_call(flow, token, &g, &reply);
    if (status != FLOW_OK) {
        fprintf(stderr, "get_event %s: %s \"%s\"\n", id, flow_status_name(status),
                fl_last.message);
        if (reply)
            flow__reply__free_unpacked(reply, NULL);
        return -1;
    }
    int going = (int) reply->event->going;
    flow__reply__free_unpacked(reply, NULL);
    return going;
}

static flow_status_t
s_rsvp(flow_t *flow, const char *token, const char *id)
{
    Flow__RsvpRequest rsvp = FLOW__RSVP_REQUEST__INIT;
    rsvp.event_id = (char *) id;
    rsvp.state = FLOW__RSVP_STATE__RSVP_GOING;
    Flow__Request req = FLOW__REQUEST__INIT;
    req.body_case = FLOW__REQUEST__BODY_RSVP;
    req.rsvp = &rsvp;
    return fl_call(flow, token, &req, NULL);
}

/*  A cluster of three (the first started with FLAGS) with its partitions
 *  handed off, and COUNT events (of CAPACITY seats) that ann (signed up,
 *  TOKEN) created through FLOW, a connection to the first node; their ids
 *  into IDS.  */
static flow_t *
s_three_of(fl_proc_t n[3], const char *const *flags, char *token, char ids[][64], int count,
           uint32_t capacity)
{
    s_start_three_with(n, flags);
    for (int i = 0; i < 3; i++)
        FL_CHECK(s_handed_off(&n[i], 3));
    flow_t *flow = flow_new(n[0].client);
    char ann[64];
    s_sign_up(flow, "ann@example.com", ann, token);
    for (int e = 0; e < count; e++)
        s_create_event(flow, token, e, capacity, ids[e]);
    return flow;
}

static flow_t *
s_three_with_events(fl_proc_t n[3], char *token, char ids[][64], int count, uint32_t capacity)
{
    return s_three_of(n, s_fast, token, ids, count, capacity);
}

/*  Every hit of a 5 km search around Berlin through FLOW, paged by LIMIT,
 *  as "id," in order into IDS; the number of hits.  */
static size_t
s_nearby_all(flow_t *flow, const char *token, uint32_t limit, char *ids, size_t len)
{
    char cursor[200] = "";
    size_t n = 0, at = 0;
    ids[0] = '\0';
    for (int page = 0; page < 100; page++) {
        Flow__NearbyRequest q = FLOW__NEARBY_REQUEST__INIT;
        q.lat = 52.52;
        q.lon = 13.40;
        q.radius_m = 5000;
        q.limit = limit;
        q.cursor = cursor;
        Flow__Request req = FLOW__REQUEST__INIT;
        req.body_case = FLOW__REQUEST__BODY_NEARBY;
        req.nearby = &q;
        Flow__Reply *reply = NULL;
        FL_EXPECT(fl_call(flow, token, &req, &reply), FLOW_OK, "");
        FL_CHECK_INT(reply->nearby->n_missing_shards, ==, 0);
        for (size_t i = 0; i < reply->nearby->n_hits; i++)
            at += (size_t) snprintf(ids + at, len - at, "%s,", reply->nearby->hits[i]->event->id);
        n += reply->nearby->n_hits;
        snprintf(cursor, sizeof cursor, "%s", reply->nearby->next_cursor);
        flow__reply__free_unpacked(reply, NULL);
        if (!cursor[0])
            break;
    }
    return n;
}

FL_TEST(data_created_through_any_node_is_read_alike_through_every_node)
{
    fl_proc_t n[3];
    s_start_three(n);
    for (int i = 0; i < 3; i++)
        FL_CHECK(s_handed_off(&n[i], 3));
    flow_t *flow[3];
    for (int i = 0; i < 3; i++)
        flow[i] = flow_new(n[i].client);
    char ann[64], ann_token[600], bob[64], bob_token[600];
    s_sign_up(flow[1], "ann@example.com", ann, ann_token);
    s_sign_up(flow[2], "bob@example.com", bob, bob_token);

    /*  Ann creates events through every node: their partitions are spread
     *  over the three, and so are their entries in the geo index.  */
    enum { EVENTS = 18 };
    char ids[EVENTS][64];
    for (int e = 0; e < EVENTS; e++)
        s_create_event(flow[e % 3], ann_token, e, 1, ids[e]);
    bool owner_seen[3] = { false, false, false };
    for (int e = 0; e < EVENTS; e++) {
        char owner[64];
        s_owner(&n[0], fl_keyspace_partition(ids[e], strlen(ids[e]), PARTITIONS), owner,
                sizeof owner);
        for (int i = 0; i < 3; i++)
            owner_seen[i] |= streq(owner, n[i].node_id);
    }
    FL_CHECK(owner_seen[0] && owner_seen[1] && owner_seen[2]);

    /*  Bob takes the one seat of the first through node 0; every node
     *  says so.  */
    FL_EXPECT(s_rsvp(flow[0], bob_token, ids[0]), FLOW_OK, "");
    for (int i = 0; i < 3; i++)
        FL_CHECK_INT(s_going(flow[i], ann_token, ids[0]), ==, 1);

    /*  The same exact search through every node, whole and paged.  */
    static char first[EVENTS * 64], found[EVENTS * 64];
    FL_CHECK_INT(s_nearby_all(flow[0], bob_token, 50, first, sizeof first), ==, EVENTS);
    for (int i = 0; i < 3; i++)
        for (uint32_t limit = 4; limit <= 50; limit += 46) {
            FL_CHECK_INT(s_nearby_all(flow[i], bob_token, limit, found, sizeof found), ==,
                         EVENTS);
            FL_CHECK_STR(found, first);
        }
    for (int e = 0; e < EVENTS; e++)
        FL_CHECK(strstr(first, ids[e]) != NULL);
    for (int i = 0; i < 3; i++)
        flow_destroy(&flow[i]);
    for (int i = 2; i >= 0; i--)
        FL_CHECK_INT(fl_node_stop(&n[i], SIGTERM), ==, 0);
}

FL_TEST(the_cluster_comes_back_with_its_metadata_and_data_after_every_node_restarts)
{
    fl_proc_t n[3];
    s_start_three(n);
    FL_CHECK(s_handed_off(&n[0], 3));
    char cluster[64], epoch[32];
    s_field("cluster_id", cluster, sizeof cluster);
    s_epoch(epoch, sizeof epoch);
    flow_t *flow = flow_new(n[1].client);
    char ann[64], token[600], ids[8][64];
    s_sign_up(flow, "ann@example.com", ann, token);
    for (int i = 0; i < 8; i++) {
        s_create_event(flow, token, i, 10, ids[i]);
        FL_EXPECT(s_rsvp(flow, token, ids[i]), FLOW_OK, "");
    }
    flow_destroy(&flow);
    char data[3][sizeof n[0].data];
    for (int i = 0; i < 3; i++) {
        memcpy(data[i], n[i].data, sizeof data[i]);
        FL_CHECK_INT(fl_node_stop(&n[i], i == 1 ? SIGKILL : SIGTERM), ==,
                     i == 1 ? 128 + SIGKILL : 0);
    }
    /*  Restarted without --join: members already.  */
    for (int i = 2; i >= 0; i--)
        fl_node_start(&n[i], data[i], NULL);
    for (int i = 0; i < 3; i++) {
        FL_CHECK(s_handed_off(&n[i], 3));
        char again[64], epoch_again[32];
        s_field("cluster_id", again, sizeof again);
        s_epoch(epoch_again, sizeof epoch_again);
        FL_CHECK_STR(again, cluster);
        FL_CHECK_STR(epoch_again, epoch);
    }
    /*  Every acknowledged write, through every node.  */
    for (int i = 0; i < 3; i++) {
        flow = flow_new(n[i].client);
        for (int e = 0; e < 8; e++)
            FL_CHECK_INT(s_going(flow, token, ids[e]), ==, 1);
        flow_destroy(&flow);
    }
    for (int i = 0; i < 3; i++)
        FL_CHECK_INT(fl_node_stop(&n[i], SIGTERM), ==, 0);
}

/*  REQ, a search for 50 events within 5 km of Berlin's centre (Q).  */
static void
s_search_berlin(Flow__NearbyRequest *q, Flow__Request *req)
{
    flow__nearby_request__init(q);
    q->lat = 52.52;
    q->lon = 13.40;
    q->radius_m = 5000;
    q->limit = 50;
    flow__request__init(req);
    req->body_case = FLOW__REQUEST__BODY_NEARBY;
    req->nearby = q;
}

FL_TEST(a_search_names_the_node_that_did_not_answer_and_returns_the_others_hits)
{
    fl_proc_t n[3];
    char token[600], ids[18][64];
    flow_t *flow = s_three_with_events(n, token, ids, 18, 10);
    /*  How many of them node 2 owns: those go missing while it is frozen. */
    int frozen_owns = 0;
    for (int e = 0; e < 18; e++) {
        char owner[64];
        s_owner(&n[0], fl_keyspace_partition(ids[e], strlen(ids[e]), PARTITIONS), owner,
                sizeof owner);
        frozen_owns += streq(owner, n[2].node_id);
    }
    FL_CHECK_INT(kill(n[2].pid, SIGSTOP), ==, 0);
    Flow__NearbyRequest q;
    Flow__Request req;
    s_search_berlin(&q, &req);
    req.token = token;
    Flow__Reply *reply = NULL;
    /*  A budget of 1.5 s: the parts wait four fifths of it.  */
    FL_CHECK_INT(flow_call(flow, &req, &reply, 1500), ==, FLOW_OK);
    FL_CHECK(reply != NULL);
    FL_CHECK_INT(reply->nearby->n_missing_shards, ==, 1);
    FL_CHECK_STR(reply->nearby->missing_shards[0], n[2].node_id);
    FL_CHECK_INT(reply->nearby->n_hits, ==, 18 - frozen_owns);
    flow__reply__free_unpacked(reply, NULL);
    FL_CHECK_INT(kill(n[2].pid, SIGCONT), ==, 0);
    /*  Back: the whole answer again (bounded wait for the node to catch up). */
    size_t hits = 0;
    for (int tries = 0; tries < 100 && hits != 18; tries++) {
        req.id = 0;
        reply = NULL;
        if (flow_call(flow, &req, &reply, 5000) == FLOW_OK)
            hits = reply->nearby->n_missing_shards ? 0 : reply->nearby->n_hits;
        if (reply)
            flow__reply__free_unpacked(reply, NULL);
        usleep(50 * 1000);
    }
    FL_CHECK_INT(hits, ==, 18);
    flow_destroy(&flow);
    for (int i = 2; i >= 0; i--)
        FL_CHECK_INT(fl_node_stop(&n[i], SIGTERM), ==, 0);
}

static int s_flowctl(const fl_proc_t *node, const char *a, const char *b, const char *c);

/*  The state of member NODE_ID in s_out (a JSON status) into OUT.  */
static void
s_member_state(const char *node_id, char *out, size_t len)
{
    char needle[96];
    snprintf(needle, sizeof needle, "\"node_id\":\"%s\"", node_id);
    const char *m = strstr(s_out, needle);
    const char *state = m ? strstr(m, "\"state\":\"") : NULL;
    out[0] = '\0';
    if (state)
        snprintf(out, len, "%.*s", (int) strcspn(state + 9, "\""), state + 9);
}

/*  Reads ASKED's status until member NODE_ID is in STATE, or WAIT_MS
 *  passed; true when it was.  */
static bool
s_member_becomes(const fl_proc_t *asked, const char *node_id, const char *state)
{
    for (int waited = 0; waited <= WAIT_MS; waited += 100) {
        char now[32];
        if (s_status(asked) == 0) {
            s_member_state(node_id, now, sizeof now);
            if (streq(now, state))
                return true;
        }
        usleep(100 * 1000);
    }
    return false;
}

/*  True when one of the N nodes logged TEXT: the leader, whichever it
 *  was (a loaded machine may elect another).  */
static bool
s_any_log_has(const fl_proc_t *n, int count, const char *text)
{
    for (int i = 0; i < count; i++)
        if (fl_node_log_has(&n[i], text))
            return true;
    return false;
}

/*  A member that stops answering is marked down by the leader, and up
 *  when it answers again; the leader itself too, by the leader elected
 *  after it.  In a cluster that keeps one copy nothing moves meanwhile:
 *  a down member keeps its partitions.  */
FL_TEST(a_member_that_stops_answering_is_marked_down_and_up_when_it_answers_again)
{
    setenv("FLOW_DOWN_AFTER_MS", "1000", 1);
    fl_proc_t n[3];
    char token[600], ids[12][64];
    flow_t *flow = s_three_of(n, s_one_copy, token, ids, 12, 5);
    int frozen = -1;                    /* an event node 2 owns */
    for (int e = 0; e < 12 && frozen < 0; e++) {
        char owner[64];
        s_owner(&n[0], fl_keyspace_partition(ids[e], strlen(ids[e]), PARTITIONS), owner,
                sizeof owner);
        if (streq(owner, n[2].node_id))
            frozen = e;
    }
    FL_CHECK(frozen >= 0);
    char ring_before[sizeof s_out];
    FL_CHECK_INT(s_flowctl(&n[0], "--json", "cluster", "ring"), ==, 0);
    snprintf(ring_before, sizeof ring_before, "%s", s_out);

    FL_CHECK_INT(kill(n[2].pid, SIGSTOP), ==, 0);
    FL_CHECK(s_member_becomes(&n[0], n[2].node_id, "MEMBER_DOWN"));
    FL_CHECK(!strstr(s_out, "\"moves\":[{"));
    FL_CHECK(s_any_log_has(n, 3, "member is down"));
    FL_CHECK(s_member_becomes(&n[1], n[2].node_id, "MEMBER_DOWN"));    /* every member */
    FL_CHECK_INT(s_flowctl(&n[1], "cluster", "status", NULL), ==, 0);
    FL_CHECK(strstr(s_out, "down") != NULL);
    FL_CHECK(strstr(s_out, "(owned by members that are down, with no replica up)") != NULL);
    /*  Every partition it owns is counted unavailable.  */
    FL_CHECK_INT(s_status(&n[1]), ==, 0);
    long unavailable = s_number("unavailable_partitions");
    FL_CHECK_INT(s_flowctl(&n[1], "--json", "cluster", "ring"), ==, 0);
    char owned_by[sizeof n[2].node_id + 32];
    snprintf(owned_by, sizeof owned_by, "\"node_id\":\"%s\",\"owned\":", n[2].node_id);
    const char *owned = strstr(s_out, owned_by);
    FL_CHECK(owned != NULL);
    FL_CHECK(unavailable > 0);
    FL_CHECK_INT(unavailable, ==, owned ? atol(owned + strlen(owned_by)) : -1);

    /*  Its partitions are refused at once, by name (not left to time
     *  out); a search names it missing and returns the others' hits.  */
    FL_CHECK_INT(s_going(flow, token, ids[frozen]), ==, -1);
    FL_CHECK(strstr(fl_last.message, "which is down") != NULL);
    FL_CHECK(strstr(fl_last.message, n[2].node_id) != NULL);
    Flow__NearbyRequest q;
    Flow__Request search;
    s_search_berlin(&q, &search);
    Flow__Reply *found = NULL;
    FL_CHECK_INT(fl_call(flow, token, &search, &found), ==, FLOW_OK);
    FL_CHECK(found && found->nearby->n_missing_shards == 1);
    if (found && found->nearby->n_missing_shards == 1)
        FL_CHECK_STR(found->nearby->missing_shards[0], n[2].node_id);
    if (found)
        flow__reply__free_unpacked(found, NULL);
    FL_CHECK_INT(kill(n[2].pid, SIGCONT), ==, 0);
    FL_CHECK(s_member_becomes(&n[0], n[2].node_id, "MEMBER_UP"));
    FL_CHECK(s_any_log_has(n, 3, "member is up again"));
    FL_CHECK(s_member_becomes(&n[1], n[2].node_id, "MEMBER_UP"));
    FL_CHECK(s_member_becomes(&n[2], n[2].node_id, "MEMBER_UP"));
    FL_CHECK_INT(s_number("unavailable_partitions"), ==, 0);
    /*  Served again once each node's ring has it up (bounded).  */
    for (int i = 0; i < 12; i++) {
        int going = -1;
        for (int tries = 0; tries < 100 && going != 0; tries++) {
            going = s_going(flow, token, ids[i]);
            if (going != 0)
                usleep(50 * 1000);
        }
        FL_CHECK_INT(going, ==, 0);
    }

    /*  The leader freezes: the others elect one of them, which marks it
     *  down; thawed, it follows and is marked up.  */
    char leader[128];
    FL_CHECK_INT(s_status(&n[0]), ==, 0);
    s_field("leader_id", leader, sizeof leader);
    int l = streq(leader, n[1].node_id) ? 1 : streq(leader, n[2].node_id) ? 2 : 0;
    const fl_proc_t *other = &n[l == 0 ? 1 : 0];
    FL_CHECK_INT(kill(n[l].pid, SIGSTOP), ==, 0);
    FL_CHECK(s_member_becomes(other, n[l].node_id, "MEMBER_DOWN"));
    FL_CHECK_INT(kill(n[l].pid, SIGCONT), ==, 0);
    FL_CHECK(s_member_becomes(other, n[l].node_id, "MEMBER_UP"));

    /*  Every partition has the owner it had.  */
    FL_CHECK(s_handed_off(&n[0], 3));
    FL_CHECK_INT(s_flowctl(&n[0], "--json", "cluster", "ring"), ==, 0);
    const char *owners_now = strstr(s_out, "\"nodes\"");
    const char *owners_then = strstr(ring_before, "\"nodes\"");
    FL_CHECK(owners_now && owners_then);
    FL_CHECK(owners_now && owners_then && strcmp(owners_now, owners_then) == 0);
    flow_destroy(&flow);
    for (int i = 2; i >= 0; i--)
        FL_CHECK_INT(fl_node_stop(&n[i], SIGTERM), ==, 0);
}

/*  Sends REQ on SOCK and returns the reply (checked to exist).  */
static Flow__Cluster__PeerReply *
s_peer_ask(zsock_t *sock, const Flow__Cluster__PeerRequest *req)
{
    zframe_t *frame = zframe_new(NULL, flow__cluster__peer_request__get_packed_size(req));
    flow__cluster__peer_request__pack(req, zframe_data(frame));
    FL_CHECK_INT(zframe_send(&frame, sock, 0), ==, 0);
    frame = zframe_recv(sock);
    FL_CHECK(frame != NULL);
    Flow__Cluster__PeerReply *reply =
        flow__cluster__peer_reply__unpack(NULL, zframe_size(frame), zframe_data(frame));
    zframe_destroy(&frame);
    FL_CHECK(reply != NULL);
    return reply;
}

/*  A client that reaches a peer socket cannot pass requests to its
 *  actors, pull partitions or change the metadata: those need the
 *  members' MAC.  */
FL_TEST(a_forward_without_the_members_mac_is_refused)
{
    fl_proc_t a;
    fl_node_start(&a, NULL, NULL);
    FL_CHECK(s_settled(&a, 1));
    char path[700], tag[32], key[64], secret[80];
    snprintf(path, sizeof path, "%s/keys/join.key", a.data);
    FILE *in = fopen(path, "r");
    FL_CHECK(in && fscanf(in, "%31s %63s %79s", tag, key, secret) == 3);
    fclose(in);

    Flow__SetRoleRequest body = FLOW__SET_ROLE_REQUEST__INIT;
    body.email = "mallory@example.com";
    body.role = FLOW__ROLE__ROLE_ADMIN;
    Flow__Request inner = FLOW__REQUEST__INIT;
    inner.body_case = FLOW__REQUEST__BODY_SET_ROLE;
    inner.set_role = &body;
    Flow__Cluster__Principal admin = FLOW__CLUSTER__PRINCIPAL__INIT;
    admin.role = FLOW__ROLE__ROLE_ADMIN;
    Flow__Cluster__ActorRequest ar = FLOW__CLUSTER__ACTOR_REQUEST__INIT;
    ar.seq = 1;
    ar.actor = FLOW__ACTOR__ACTOR_USER;
    ar.request = &inner;
    ar.principal = &admin;
    uint8_t packed[512], packed_batch[600], mac[32] = { 0 };
    Flow__Cluster__Forward forward = FLOW__CLUSTER__FORWARD__INIT;
    forward.seq = 8;
    forward.timeout_us = 1000000;
    forward.request = (ProtobufCBinaryData) { flow__cluster__actor_request__pack(&ar, packed),
                                              packed };
    Flow__Cluster__Forward *forwards[] = { &forward };
    Flow__Cluster__ForwardBatch batch = FLOW__CLUSTER__FORWARD_BATCH__INIT;
    batch.forwards = forwards;
    batch.n_forwards = 1;
    size_t len = flow__cluster__forward_batch__pack(&batch, packed_batch);
    Flow__Cluster__PeerRequest req = FLOW__CLUSTER__PEER_REQUEST__INIT;
    req.version = 1;
    req.seq = 7;
    req.mac = (ProtobufCBinaryData) { sizeof mac, mac };
    req.body_case = FLOW__CLUSTER__PEER_REQUEST__BODY_FORWARDS;
    req.forwards = (ProtobufCBinaryData) { len, packed_batch };

    zcert_t *stranger = zcert_new();
    zsock_t *sock = zsock_new(ZMQ_DEALER);
    zcert_apply(stranger, sock);
    zsock_set_curve_serverkey(sock, key);
    FL_CHECK_INT(zsock_connect(sock, "%s", a.peer), ==, 0);
    zsock_set_rcvtimeo(sock, WAIT_MS);
    Flow__Cluster__PeerReply *reply = s_peer_ask(sock, &req);
    FL_CHECK_INT(reply->seq, ==, 7);
    FL_CHECK_INT(reply->status, ==, FLOW__STATUS__PERMISSION_DENIED);
    FL_CHECK_STR(reply->message, "forward: not from a member of this cluster");
    FL_CHECK(reply->body_case == FLOW__CLUSTER__PEER_REPLY__BODY__NOT_SET);
    flow__cluster__peer_reply__free_unpacked(reply, NULL);

    /*  Nor pull a partition, fence one, or change the metadata.  */
    Flow__Cluster__TransferPull pull = FLOW__CLUSTER__TRANSFER_PULL__INIT;
    pull.db = "events";
    pull.from_start = true;
    pull.to = "nstranger";
    uint8_t packed_pull[128];
    size_t pull_len = flow__cluster__transfer_pull__pack(&pull, packed_pull);
    Flow__Cluster__MetaRequest meta = FLOW__CLUSTER__META_REQUEST__INIT;
    meta.body_case = FLOW__CLUSTER__META_REQUEST__BODY_REMOVE;
    meta.remove = a.node_id;
    uint8_t packed_meta[128];
    size_t meta_len = flow__cluster__meta_request__pack(&meta, packed_meta);
    const struct {
        Flow__Cluster__PeerRequest__BodyCase kind;
        const char *message;
    } kinds[] = {
        { FLOW__CLUSTER__PEER_REQUEST__BODY_PULL, "transfer: not from a member of this cluster" },
        { FLOW__CLUSTER__PEER_REQUEST__BODY_FENCE, "transfer: not from a member of this cluster" },
        { FLOW__CLUSTER__PEER_REQUEST__BODY_META, "meta: not from a member of this cluster" },
    };
    for (size_t k = 0; k < sizeof kinds / sizeof kinds[0]; k++) {
        Flow__Cluster__PeerRequest other = FLOW__CLUSTER__PEER_REQUEST__INIT;
        other.version = 1;
        other.seq = 8 + k;
        other.mac = (ProtobufCBinaryData) { sizeof mac, mac };
        other.body_case = kinds[k].kind;
        ProtobufCBinaryData body_bytes = { pull_len, packed_pull };
        if (kinds[k].kind == FLOW__CLUSTER__PEER_REQUEST__BODY_META)
            other.meta = (ProtobufCBinaryData) { meta_len, packed_meta };
        else
        if (kinds[k].kind == FLOW__CLUSTER__PEER_REQUEST__BODY_FENCE)
            other.fence = body_bytes;
        else
            other.pull = body_bytes;
        reply = s_peer_ask(sock, &other);
        FL_CHECK_INT(reply->seq, ==, 8 + k);
        FL_CHECK_INT(reply->status, ==, FLOW__STATUS__PERMISSION_DENIED);
        FL_CHECK_STR(reply->message, kinds[k].message);
        FL_CHECK_INT(reply->body_case, ==, FLOW__CLUSTER__PEER_REPLY__BODY__NOT_SET);
        flow__cluster__peer_reply__free_unpacked(reply, NULL);
    }
    /*  Nothing changed: the node is still the cluster's only member, up,
     *  owning every partition.  */
    FL_CHECK(s_settled_with(&a, 1));
    zsock_destroy(&sock);
    zcert_destroy(&stranger);
    FL_CHECK_INT(fl_node_stop(&a, SIGTERM), ==, 0);
}

/*  A health request to the peer socket of NODE, MACed with KEYS' peer
 *  key as a member would, for member NODE_ID and STATE; its reply.  */
static Flow__Cluster__PeerReply *
s_health_ask(zsock_t *sock, const fl_keys_t *keys, const char *node_id,
             Flow__Cluster__MemberState state, uint64_t seq)
{
    Flow__Cluster__MemberStateChange change = FLOW__CLUSTER__MEMBER_STATE_CHANGE__INIT;
    change.node_id = (char *) node_id;
    change.state = state;
    Flow__Cluster__MetaRequest meta = FLOW__CLUSTER__META_REQUEST__INIT;
    meta.seq = seq;
    meta.body_case = FLOW__CLUSTER__META_REQUEST__BODY_HEALTH;
    meta.health = &change;
    uint8_t packed[256], mac[32];
    size_t len = flow__cluster__meta_request__pack(&meta, packed);
    fl_peer_mac(keys->peer, packed, len, mac);
    Flow__Cluster__PeerRequest req = FLOW__CLUSTER__PEER_REQUEST__INIT;
    req.version = 1;
    req.seq = seq;
    req.mac = (ProtobufCBinaryData) { sizeof mac, mac };
    req.body_case = FLOW__CLUSTER__PEER_REQUEST__BODY_META;
    req.meta = (ProtobufCBinaryData) { len, packed };
    return s_peer_ask(sock, &req);
}

typedef struct {
    pid_t pid;
    int after_ms;
} s_thaw_t;

static void *
s_thaw(void *arg)
{
    const s_thaw_t *t = arg;
    usleep((useconds_t) t->after_ms * 1000);
    kill(t->pid, SIGCONT);
    return NULL;
}

/*  In a cluster that keeps one copy, a write to a partition whose owner
 *  is down is refused at once, and libflow sends it again with the same
 *  request key until the owner is back: it is applied once.  */
FL_TEST(a_write_refused_while_its_owner_is_down_is_applied_once_by_libflow_retries)
{
    setenv("FLOW_DOWN_AFTER_MS", "1000", 1);
    fl_proc_t n[3];
    char token[600], ids[1][64];
    flow_t *flow = s_three_of(n, s_one_copy, token, ids, 1, 5);
    char user_id[64], bob[600];
    s_sign_up(flow, "bob@example.com", user_id, bob);
    /*  A key whose event lands on node 2: the id is the user's and the
     *  key's (actors/event/event.c).  */
    char key[16] = "", id[64], origin[128];
    snprintf(origin, sizeof origin, "request-key/%s", user_id);
    for (int k = 0; k < 1000 && !key[0]; k++) {
        char candidate[16], owner[64];
        snprintf(candidate, sizeof candidate, "k%d", k);
        fl_event_import_id(origin, candidate, id);
        s_owner(&n[0], fl_keyspace_partition(id, strlen(id), PARTITIONS), owner, sizeof owner);
        if (streq(owner, n[2].node_id))
            snprintf(key, sizeof key, "%s", candidate);
    }
    FL_CHECK(key[0] != '\0');

    FL_CHECK_INT(kill(n[2].pid, SIGSTOP), ==, 0);
    FL_CHECK(s_member_becomes(&n[0], n[2].node_id, "MEMBER_DOWN"));
    s_thaw_t thaw = { n[2].pid, 1500 };
    pthread_t thread;
    FL_CHECK_INT(pthread_create(&thread, NULL, s_thaw, &thaw), ==, 0);
    flow_set_retries(flow, 40);
    char created[64];
    int64_t tomorrow = time(NULL) + 86400;
    FL_CHECK_INT(s_create_event_with(flow, bob, 77, 5, tomorrow, key, 30000, created), ==,
                 FLOW_OK);
    pthread_join(thread, NULL);
    FL_CHECK_STR(created, id);
    FL_CHECK(s_any_log_has(n, 3, "member is up again"));
    /*  Once: the search finds the first event and this one.  */
    Flow__NearbyRequest q;
    Flow__Request search;
    s_search_berlin(&q, &search);
    Flow__Reply *found = NULL;
    FL_CHECK_INT(fl_call(flow, bob, &search, &found), ==, FLOW_OK);
    FL_CHECK(found && found->nearby->n_hits == 2 && found->nearby->n_missing_shards == 0);
    if (found)
        flow__reply__free_unpacked(found, NULL);
    /*  And sent again now, it is answered as the first time.  */
    FL_CHECK_INT(s_create_event_with(flow, bob, 77, 5, tomorrow, key, 10000, created), ==,
                 FLOW_OK);
    FL_CHECK_STR(created, id);
    flow_destroy(&flow);
    for (int i = 2; i >= 0; i--)
        FL_CHECK_INT(fl_node_stop(&n[i], SIGTERM), ==, 0);
}

/*  A ping is answered to anyone that reaches the peer socket; a member's
 *  state comes from the leader's own checks, so a health change sent to
 *  the peer socket is refused even with the members' MAC, and changes
 *  nothing.  */
FL_TEST(a_ping_is_answered_and_a_health_change_from_outside_is_refused)
{
    fl_proc_t n[2];
    fl_node_start(&n[0], NULL, s_fast);
    FL_CHECK(s_settled(&n[0], 1));
    s_start_joining(&n[1], NULL, &n[0]);
    FL_CHECK(s_handed_off(&n[0], 2));
    fl_keys_t keys;
    memset(&keys, 0, sizeof keys);
    FL_CHECK_INT(fl_keys_load(n[0].data, &keys), ==, 0);
    char path[700], tag[32], key[64], secret[80];
    snprintf(path, sizeof path, "%s/keys/join.key", n[0].data);
    FILE *in = fopen(path, "r");
    FL_CHECK(in && fscanf(in, "%31s %63s %79s", tag, key, secret) == 3);
    fclose(in);
    zcert_t *stranger = zcert_new();
    zsock_t *sock = zsock_new(ZMQ_DEALER);
    zcert_apply(stranger, sock);
    zsock_set_curve_serverkey(sock, key);
    FL_CHECK_INT(zsock_connect(sock, "%s", n[0].peer), ==, 0);
    zsock_set_rcvtimeo(sock, WAIT_MS);

    Flow__Cluster__PeerRequest ping = FLOW__CLUSTER__PEER_REQUEST__INIT;
    ping.version = 1;
    ping.seq = 3;
    ping.body_case = FLOW__CLUSTER__PEER_REQUEST__BODY_PING;
    ping.ping = true;
    Flow__Cluster__PeerReply *reply = s_peer_ask(sock, &ping);
    FL_CHECK_INT(reply->seq, ==, 3);
    FL_CHECK_INT(reply->status, ==, FLOW__STATUS__OK);
    flow__cluster__peer_reply__free_unpacked(reply, NULL);

    FL_CHECK_INT(s_status(&n[0]), ==, 0);
    char epoch[32];
    s_epoch(epoch, sizeof epoch);
    reply = s_health_ask(sock, &keys, n[1].node_id, FLOW__CLUSTER__MEMBER_STATE__MEMBER_DOWN, 20);
    FL_CHECK_INT(reply->status, ==, FLOW__STATUS__INVALID_ARGUMENT);
    FL_CHECK_STR(reply->message, "meta: a flip, leave or remove request");
    flow__cluster__peer_reply__free_unpacked(reply, NULL);
    char after[32];
    FL_CHECK_INT(s_status(&n[0]), ==, 0);
    s_epoch(after, sizeof after);
    FL_CHECK_STR(after, epoch);
    FL_CHECK_INT(s_count("MEMBER_UP"), ==, 2);

    zsock_destroy(&sock);
    zcert_destroy(&stranger);
    fl_keys_release(&keys);
    for (int i = 1; i >= 0; i--)
        FL_CHECK_INT(fl_node_stop(&n[i], SIGTERM), ==, 0);
}

/*  Reads U's own profile through FLOW with TOKEN until it is refused as
 *  revoked, or WAIT_MS passed; true when it was.  */
static bool
s_refused_as_revoked(flow_t *flow, const char *token)
{
    Flow__GetProfileRequest body = FLOW__GET_PROFILE_REQUEST__INIT;
    Flow__Request req = FLOW__REQUEST__INIT;
    req.body_case = FLOW__REQUEST__BODY_GET_PROFILE;
    req.get_profile = &body;
    for (int waited = 0; waited <= WAIT_MS; waited += 20) {
        req.id = 0;
        if (fl_call(flow, token, &req, NULL) == FLOW_UNAUTHENTICATED
            && strstr(fl_last.message, "token: revoked"))
            return true;
        usleep(20 * 1000);
    }
    return false;
}

FL_TEST(a_session_signed_out_through_one_node_is_refused_by_every_node)
{
    fl_proc_t n[3];
    s_start_three(n);
    flow_t *flow[3];
    for (int i = 0; i < 3; i++)
        flow[i] = flow_new(n[i].client);
    /*  Revocations go to the members a node knows of: all three first.  */
    for (int i = 0; i < 3; i++)
        FL_CHECK(s_settled(&n[i], 3));
    char user[64], token[600];
    s_sign_up(flow[2], "ann@example.com", user, token);
    /*  Every node accepts the token first.  */
    Flow__GetProfileRequest body = FLOW__GET_PROFILE_REQUEST__INIT;
    Flow__Request get = FLOW__REQUEST__INIT;
    get.body_case = FLOW__REQUEST__BODY_GET_PROFILE;
    get.get_profile = &body;
    for (int i = 0; i < 3; i++) {
        get.id = 0;
        FL_EXPECT(fl_call(flow[i], token, &get, NULL), FLOW_OK, "");
    }
    /*  Signed out through node 1 (the user's data lives on node 0).  */
    Flow__LogoutRequest logout = FLOW__LOGOUT_REQUEST__INIT;
    Flow__Request req = FLOW__REQUEST__INIT;
    req.body_case = FLOW__REQUEST__BODY_LOGOUT;
    req.logout = &logout;
    FL_EXPECT(fl_call(flow[1], token, &req, NULL), FLOW_OK, "");
    for (int i = 0; i < 3; i++)
        FL_CHECK(s_refused_as_revoked(flow[i], token));
    for (int i = 0; i < 3; i++)
        flow_destroy(&flow[i]);
    for (int i = 2; i >= 0; i--)
        FL_CHECK_INT(fl_node_stop(&n[i], SIGTERM), ==, 0);
}

static int
s_flowctl(const fl_proc_t *node, const char *a, const char *b, const char *c)
{
    const char *argv[] = { fl_program("FLOWCTL_CLI"), "--control", node->control, "--key",
                           node->admin_key, "--timeout", "20000", a, b, c, NULL };
    return fl_run(argv, NULL, s_out, sizeof s_out, s_err, sizeof s_err);
}

FL_TEST(members_are_removed_through_any_member_and_leave_on_their_own)
{
    fl_proc_t n[3];
    char token[600], ids[12][64];
    flow_t *flow = s_three_with_events(n, token, ids, 12, 5);

    /*  Removed through a follower, which passes it to the leader: the
     *  member owns partitions, so it leaves first, then stops.  */
    FL_CHECK_INT(s_flowctl(&n[1], "cluster", "remove", n[2].node_id), ==, 0);
    FL_CHECK(strstr(s_out, "leaving") != NULL);
    FL_CHECK_INT(fl_node_wait(&n[2]), ==, 0);
    FL_CHECK(fl_node_log_has(&n[2], "left the cluster: every partition moved away"));
    FL_CHECK(s_handed_off(&n[0], 2));
    FL_CHECK(strstr(s_out, n[2].node_id) == NULL);

    /*  Nobody unknown can go.  */
    FL_CHECK_INT(s_flowctl(&n[0], "cluster", "remove", "n0000000000000000"), !=, 0);
    FL_CHECK(strstr(s_err, "no member") != NULL);

    /*  A member leaves on its own, and stops.  */
    FL_CHECK_INT(s_flowctl(&n[1], "cluster", "leave", NULL), ==, 0);
    FL_CHECK_INT(fl_node_wait(&n[1]), ==, 0);
    FL_CHECK(s_handed_off(&n[0], 1));
    FL_CHECK(strstr(s_out, n[1].node_id) == NULL);
    FL_CHECK(strstr(s_out, "\"voters\":[\"") != NULL);

    /*  The last member holds everything, and may not go.  */
    FL_CHECK_INT(s_flowctl(&n[0], "cluster", "leave", NULL), !=, 0);
    FL_CHECK(strstr(s_err, "only member") != NULL);
    for (int i = 0; i < 12; i++)
        FL_CHECK_INT(s_going(flow, token, ids[i]), ==, 0);
    FL_CHECK_INT(s_flowctl(&n[0], "--json", "cluster", "ring"), ==, 0);
    FL_CHECK(strstr(s_out, "\"owned\":64") != NULL);
    flow_destroy(&flow);
    FL_CHECK_INT(fl_node_stop(&n[0], SIGTERM), ==, 0);
}

/*  The number of node ids in the JSON array NAME of s_out.  */
static size_t
s_array_len(const char *name)
{
    char needle[64];
    snprintf(needle, sizeof needle, "\"%s\":[", name);
    const char *p = strstr(s_out, needle);
    if (!p)
        return 0;
    p += strlen(needle);
    size_t n = 0;
    for (; *p && *p != ']'; p++)
        n += *p == '"';
    return n / 2;
}

FL_TEST(five_nodes_vote_the_sixth_stands_by_and_replaces_a_voter_that_leaves)
{
    fl_proc_t n[6];
    fl_node_start(&n[0], NULL, s_fast);
    FL_CHECK(s_settled(&n[0], 1));
    /*  One at a time, each once the one before has its partitions.  */
    for (int i = 1; i < 6; i++) {
        s_start_joining(&n[i], NULL, &n[i - 1]);
        FL_CHECK(s_handed_off(&n[0], (size_t) i + 1));
    }
    FL_CHECK_INT(s_array_len("voters"), ==, 5);
    FL_CHECK_INT(s_array_len("standbys"), ==, 1);
    FL_CHECK(strstr(strstr(s_out, "\"standbys\":["), n[5].node_id) != NULL);

    FL_CHECK_INT(s_flowctl(&n[2], "cluster", "leave", NULL), ==, 0);
    FL_CHECK_INT(fl_node_wait(&n[2]), ==, 0);
    FL_CHECK(s_handed_off(&n[0], 5));
    FL_CHECK_INT(s_array_len("voters"), ==, 5);
    FL_CHECK_INT(s_array_len("standbys"), ==, 0);
    FL_CHECK(strstr(strstr(s_out, "\"voters\":["), n[5].node_id) != NULL);
    for (int i = 5; i >= 0; i--)
        if (i != 2)
            FL_CHECK_INT(fl_node_stop(&n[i], SIGTERM), ==, 0);
}

FL_TEST(the_ring_shows_owners_now_and_by_placement)
{
    fl_proc_t n[3];
    s_start_three(n);
    for (int i = 0; i < 3; i++)
        FL_CHECK(s_handed_off(&n[i], 3));
    const char *argv[] = { fl_program("FLOWCTL_CLI"), "--control", n[1].control, "--key",
                           n[1].admin_key, "--json", "cluster", "ring", "--partition", "7",
                           "--partition", "63", NULL };
    FL_CHECK_INT(fl_run(argv, NULL, s_out, sizeof s_out, s_err, sizeof s_err), ==, 0);
    /*  Handed off: every node owns what the placement makes it primary for. */
    FL_CHECK_INT(s_count("\"placed_primary\":"), ==, 3);
    FL_CHECK_INT(s_count("\"placed_replica\":64"), ==, 3);
    uint32_t owned_total = 0;
    for (const char *p = strstr(s_out, "\"owned\":"); p; p = strstr(p + 1, "\"owned\":")) {
        uint32_t owned = (uint32_t) atoi(p + 8);
        const char *placed = strstr(p, "\"placed_primary\":");
        FL_CHECK(placed != NULL);
        FL_CHECK_INT(owned, ==, (uint32_t) atoi(placed + 17));
        FL_CHECK_INT(owned, >, 0);
        owned_total += owned;
    }
    FL_CHECK_INT(owned_total, ==, PARTITIONS);
    FL_CHECK_INT(s_count("\"partition\":"), ==, 2);
    FL_CHECK_INT(s_count("\"owner\":\""), ==, 2);
    const char *bad[] = { fl_program("FLOWCTL_CLI"), "--control", n[1].control, "--key",
                          n[1].admin_key, "cluster", "ring", "--partition", "64", NULL };
    FL_CHECK_INT(fl_run(bad, NULL, s_out, sizeof s_out, s_err, sizeof s_err), !=, 0);
    FL_CHECK(strstr(s_err, "beyond the cluster's partition count") != NULL);
    const char *transfers[] = { fl_program("FLOWCTL_CLI"), "--control", n[1].control, "--key",
                                n[1].admin_key, "cluster", "transfers", NULL };
    FL_CHECK_INT(fl_run(transfers, NULL, s_out, sizeof s_out, s_err, sizeof s_err), ==, 0);
    FL_CHECK(strstr(s_out, "0 partitions moving") != NULL);
    for (int i = 2; i >= 0; i--)
        FL_CHECK_INT(fl_node_stop(&n[i], SIGTERM), ==, 0);
}

/*  ------------------------------------------------------------------
 *  Growing while clients write  */

/*  A client's writes while the cluster changes: events created and seats
 *  taken, each remembered once acknowledged.  */
typedef struct {
    flow_t *flow[NODES_MAX];
    size_t nflows;
    char token[600];
    char ids[400][64];
    int going[400];
    size_t nids;
    size_t ops;
} s_writer_t;

/*  One write through a node in turn: a new event, or a seat at an event
 *  made earlier.  A write that fails is not acknowledged and so not
 *  remembered (it may or may not have happened).  */
static void
s_write_one(s_writer_t *w)
{
    flow_t *flow = w->flow[w->ops % w->nflows];
    size_t op = w->ops++;
    if (op % 3 == 0 && w->nids < 400) {
        Flow__EventDraft d = FLOW__EVENT_DRAFT__INIT;
        Flow__Location loc = FLOW__LOCATION__INIT;
        Flow__Pricing price = FLOW__PRICING__INIT;
        d.title = "Moving set";
        d.category = FLOW__CATEGORY__CATEGORY_MUSIC;
        d.start_s = time(NULL) + 86400;
        d.end_s = d.start_s + 3600;
        d.time_zone = "Europe/Berlin";
        loc.lat = 52.5;
        loc.lon = 13.4;
        d.location = &loc;
        price.type = FLOW__PRICE_TYPE__PRICE_FREE;
        d.pricing = &price;
        d.capacity = 100;
        Flow__CreateEventRequest body = FLOW__CREATE_EVENT_REQUEST__INIT;
        body.event = &d;
        Flow__Request req = FLOW__REQUEST__INIT;
        req.body_case = FLOW__REQUEST__BODY_CREATE_EVENT;
        req.create_event = &body;
        Flow__Reply *reply = NULL;
        if (fl_call(flow, w->token, &req, &reply) == FLOW_OK) {
            snprintf(w->ids[w->nids], sizeof w->ids[0], "%s", reply->event->id);
            w->going[w->nids++] = 0;
        }
        if (reply)
            flow__reply__free_unpacked(reply, NULL);
    }
    else
    if (w->nids > 0) {
        size_t e = op % w->nids;
        if (w->going[e] == 0 && s_rsvp(flow, w->token, w->ids[e]) == FLOW_OK)
            w->going[e] = 1;
    }
}

/*  Writes while NODE's cluster has not settled with MEMBERS members and
 *  nothing moving (bounded by MOVE_WAIT_MS); true when it settled.  */
static bool
s_write_until_handed_off(s_writer_t *w, const fl_proc_t *node, size_t members)
{
    for (int waited = 0; waited <= MOVE_WAIT_MS; waited += 50) {
        for (int k = 0; k < 5; k++)
            s_write_one(w);
        if (s_settled_with(node, members))
            return true;
        usleep(50 * 1000);
    }
    return false;
}

/*  The partitions the placement gives NODE as primary, and those it owns. */
static void
s_ring_counts(const fl_proc_t *via, const char *node, uint32_t *owned, uint32_t *placed)
{
    FL_CHECK_INT(s_flowctl(via, "--json", "cluster", "ring"), ==, 0);
    const char *p = strstr(s_out, node);
    FL_CHECK(p != NULL);
    *owned = (uint32_t) atoi(strstr(p, "\"owned\":") + 8);
    *placed = (uint32_t) atoi(strstr(p, "\"placed_primary\":") + 17);
}

FL_TEST(a_fourth_and_fifth_node_join_while_clients_write_and_nothing_is_lost)
{
    static s_writer_t w;
    fl_proc_t n[NODES_MAX];
    s_start_three(n);
    FL_CHECK(s_handed_off(&n[0], 3));
    w.nflows = 3;
    for (size_t i = 0; i < 3; i++)
        w.flow[i] = flow_new(n[i].client);
    char user[64];
    s_sign_up(w.flow[0], "ann@example.com", user, w.token);
    for (int k = 0; k < 30; k++)
        s_write_one(&w);

    for (int add = 3; add < NODES_MAX; add++) {
        char epoch[32];
        FL_CHECK_INT(s_status(&n[0]), ==, 0);
        s_epoch(epoch, sizeof epoch);
        s_start_joining(&n[add], NULL, &n[add - 1]);
        FL_CHECK(s_write_until_handed_off(&w, &n[0], (size_t) add + 1));
        /*  The new node took what the placement gives it, a share of about
         *  P/(n+1), and the ring moved on by one epoch per move.  */
        uint32_t owned, placed;
        s_ring_counts(&n[0], n[add].node_id, &owned, &placed);
        FL_CHECK_INT(owned, ==, placed);
        FL_CHECK_INT(owned, >=, PARTITIONS / (add + 1) / 2);
        FL_CHECK_INT(owned, <=, 2 * PARTITIONS / (add + 1));
        for (int i = 0; i < add; i++) {
            s_ring_counts(&n[0], n[i].node_id, &owned, &placed);
            FL_CHECK_INT(owned, ==, placed);
        }
        FL_CHECK_INT(s_flowctl(&n[add], "cluster", "transfers", NULL), ==, 0);
        FL_CHECK(strstr(s_out, " 0 partitions moving") != NULL);
        w.flow[w.nflows++] = flow_new(n[add].client);
    }
    /*  Every acknowledged write, read through every node.  */
    FL_CHECK_INT(w.nids, >, 10);
    for (size_t i = 0; i < w.nflows; i++)
        for (size_t e = 0; e < w.nids; e++)
            FL_CHECK_INT(s_going(w.flow[i], w.token, w.ids[e]), ==, w.going[e]);
    for (size_t i = 0; i < w.nflows; i++)
        flow_destroy(&w.flow[i]);
    for (int i = NODES_MAX - 1; i >= 0; i--)
        FL_CHECK_INT(fl_node_stop(&n[i], SIGTERM), ==, 0);
}

/*  ------------------------------------------------------------------
 *  Transfers that a restart interrupts  */

/*  Polls NODE's transfers until one it receives is copying with bytes
 *  received (bounded); true when one was.  */
static bool
s_copying(const fl_proc_t *node)
{
    for (int waited = 0; waited <= MOVE_WAIT_MS; waited += 20) {
        if (s_flowctl(node, "--json", "cluster", "transfers") == 0
            && strstr(s_out, "\"phase\":\"copying\"") && strstr(s_out, "\"bytes\":"))
            return true;
        usleep(20 * 1000);
    }
    return false;
}

/*  Waits (bounded) until NODE's log holds NEEDLE.  */
static bool
s_logged(const fl_proc_t *node, const char *needle)
{
    for (int waited = 0; waited <= WAIT_MS; waited += 50) {
        if (fl_node_log_has(node, needle))
            return true;
        usleep(50 * 1000);
    }
    return false;
}

FL_TEST(a_transfer_interrupted_by_a_restart_of_either_side_resumes)
{
    /*  Few, large partitions copied slowly in small chunks, so a restart
     *  lands in the middle of one.  */
    const char *first[] = { "--pwhash-ops", "1", "--pwhash-mem-kb", "8", "--partitions", "8",
                            "--rate-requests-per-s", "100000", NULL };
    fl_proc_t n[3];
    fl_node_start(&n[0], NULL, first);
    FL_CHECK(s_settled(&n[0], 1));
    flow_t *flow = flow_new(n[0].client);
    char user[64], token[600];
    static char ids[240][64];
    s_sign_up(flow, "ann@example.com", user, token);
    for (int i = 0; i < 240; i++)
        s_create_event(flow, token, i, 10, ids[i]);

    char key[sizeof n[0].data + 16];
    snprintf(key, sizeof key, "%s/keys/join.key", n[0].data);
    const char *slow[] = { "--join", n[0].peer, "--join-key", key, "--pwhash-ops", "1",
                           "--pwhash-mem-kb", "8", "--handoff-rate-kb", "24",
                           "--handoff-chunk-kb", "4", "--rate-requests-per-s", "100000", NULL };
    /*  The receiving side restarts.  */
    fl_node_start(&n[1], NULL, slow);
    FL_CHECK(s_copying(&n[1]));
    char data[sizeof n[1].data];
    memcpy(data, n[1].data, sizeof data);
    FL_CHECK_INT(fl_node_stop(&n[1], SIGKILL), ==, 128 + SIGKILL);
    fl_node_start(&n[1], data, slow + 4);
    FL_CHECK(s_logged(&n[1], "resuming a partition's transfer"));
    FL_CHECK(s_handed_off(&n[0], 2));

    /*  The giving side restarts.  The third node takes less, more slowly. */
    fl_proc_t *c = &n[2];
    slow[1] = n[1].peer;
    slow[9] = "8";
    snprintf(key, sizeof key, "%s/keys/join.key", n[1].data);
    fl_node_start(c, NULL, slow);
    FL_CHECK(s_copying(c));             /* s_out holds the transfers it saw */
    const char *from = strstr(s_out, "\"phase\":\"copying\"");
    FL_CHECK(from != NULL);
    /*  The transfer under way: its "from" is the last one before its phase. */
    const char *giver = NULL;
    for (const char *f = strstr(s_out, "\"from\":\""); f && f < from;
         f = strstr(f + 1, "\"from\":\""))
        giver = f + 8;
    FL_CHECK(giver != NULL);
    fl_proc_t *source = strncmp(giver, n[0].node_id, strlen(n[0].node_id)) == 0 ? &n[0] : &n[1];
    memcpy(data, source->data, sizeof data);
    FL_CHECK_INT(fl_node_stop(source, SIGKILL), ==, 128 + SIGKILL);
    fl_node_start(source, data, first + 6);
    FL_CHECK(s_handed_off(&n[0], 3));
    FL_CHECK(s_handed_off(c, 3));

    /*  Nothing written before was lost on the way.  */
    for (int i = 0; i < 3; i++) {
        flow_t *via = flow_new(n[i].client);
        for (int e = 0; e < 240; e++)
            FL_CHECK_INT(s_going(via, token, ids[e]), ==, 0);
        flow_destroy(&via);
    }
    flow_destroy(&flow);
    for (int i = 2; i >= 0; i--)
        FL_CHECK_INT(fl_node_stop(&n[i], SIGTERM), ==, 0);
}

/*  ------------------------------------------------------------------
 *  Replication and failover  */

/*  Reads the going count of ID through FLOW until it is WANT (bounded:
 *  a partition taken over is served once its new primary gathered the
 *  copies); the last count read, -1 when none could be.  */
static int
s_going_becomes(flow_t *flow, const char *token, const char *id, int want)
{
    int going = -1;
    for (int tries = 0; tries < 200 && going != want; tries++) {
        going = s_going(flow, token, id);
        if (going != want)
            usleep(50 * 1000);
    }
    return going;
}

/*  RSVPs going to ID through FLOW, sent again while the partition is
 *  being taken over (bounded).  */
static flow_status_t
s_rsvp_retried(flow_t *flow, const char *token, const char *id)
{
    flow_status_t status = FLOW_UNAVAILABLE;
    for (int tries = 0; tries < 100 && status != FLOW_OK; tries++) {
        status = s_rsvp(flow, token, id);
        if (status != FLOW_OK)
            usleep(100 * 1000);
    }
    return status;
}

/*  The events of IDS (COUNT) whose partition NODE_ID owns, by NODE's
 *  ring: their indices into ON; how many.  */
static int
s_owned_by(const fl_proc_t *node, const char *node_id, char ids[][64], int count, int *on)
{
    int n = 0;
    for (int e = 0; e < count; e++) {
        char owner[64];
        s_owner(node, fl_keyspace_partition(ids[e], strlen(ids[e]), PARTITIONS), owner,
                sizeof owner);
        if (streq(owner, node_id))
            on[n++] = e;
    }
    return n;
}

/*  Three nodes that mark a silent member down after 1 s, with 16 events;
 *  the indices of those node 2 owns into ON (*OWNED_P of them, one at
 *  least).  */
static flow_t *
s_three_for_failover(fl_proc_t n[3], char *token, char ids[16][64], int on[16], int *owned_p)
{
    setenv("FLOW_DOWN_AFTER_MS", "1000", 1);
    flow_t *flow = s_three_with_events(n, token, ids, 16, 5);
    *owned_p = s_owned_by(&n[0], n[2].node_id, ids, 16, on);
    FL_CHECK(*owned_p > 0);
    return flow;
}

/*  Three nodes keep three copies of every partition; once the writes
 *  are acknowledged every copy holds the same records, and the status
 *  tells how the node's copies stand.  */
FL_TEST(every_partition_is_kept_by_three_nodes_whose_copies_agree)
{
    fl_proc_t n[3];
    char token[600], ids[12][64];
    flow_t *flow = s_three_with_events(n, token, ids, 12, 5);
    for (int e = 0; e < 12; e++)
        FL_EXPECT(s_rsvp(flow, token, ids[e]), FLOW_OK, "");
    size_t compared = 0;
    char why[256];
    FL_CHECK(fl_cluster_copies_agree(n, 3, PARTITIONS, 3, WAIT_MS, &compared, why, sizeof why));
    FL_CHECK_INT(compared, ==, PARTITIONS);
    /*  Each node holds every partition: one in three as its primary.  */
    FL_CHECK_INT(s_flowctl(&n[1], "--json", "cluster", "digests"), ==, 0);
    FL_CHECK_INT(s_count("{\"partition\":"), ==, PARTITIONS);
    FL_CHECK(s_count("\"role\":\"primary\"") > 0 && s_count("\"role\":\"replica\"") > 0);
    FL_CHECK_INT(s_flowctl(&n[0], "cluster", "status", NULL), ==, 0);
    FL_CHECK(strstr(s_out, "3 copies each (a write is acknowledged once 2 hold it)") != NULL);
    FL_CHECK(strstr(s_out, "replication  primary of ") != NULL);
    FL_CHECK_INT(s_status(&n[0]), ==, 0);
    FL_CHECK(strstr(s_out, "\"replication\":{") != NULL);
    FL_CHECK(strstr(s_out, "\"entries_sent\":") != NULL);
    flow_destroy(&flow);
    for (int i = 2; i >= 0; i--)
        FL_CHECK_INT(fl_node_stop(&n[i], SIGTERM), ==, 0);
}

/*  A primary killed after acknowledging writes: the others mark it down,
 *  its partitions are taken over by their replicas, every acknowledged
 *  write is read through the others and new writes are taken; back, it
 *  catches up and every copy agrees again.  */
FL_TEST(writes_acknowledged_before_their_primary_is_killed_are_read_through_the_others)
{
    fl_proc_t n[3];
    char token[600], ids[16][64];
    int on[16], owned;
    flow_t *flow = s_three_for_failover(n, token, ids, on, &owned);
    for (int e = 0; e < 16; e++)
        FL_EXPECT(s_rsvp(flow, token, ids[e]), FLOW_OK, "");
    char data[sizeof n[2].data];
    memcpy(data, n[2].data, sizeof data);
    FL_CHECK_INT(fl_node_stop(&n[2], SIGKILL), ==, 128 + SIGKILL);
    FL_CHECK(s_member_becomes(&n[0], n[2].node_id, "MEMBER_DOWN"));
    FL_CHECK(s_any_log_has(n, 2, "partitions of a member that is down go to their replicas"));
    for (int e = 0; e < 16; e++)
        FL_CHECK_INT(s_going_becomes(flow, token, ids[e], 1), ==, 1);
    /*  Its partitions take writes, through either node.  */
    flow_t *other = flow_new(n[1].client);
    char bob[64], bob_token[600];
    s_sign_up(other, "bob@example.com", bob, bob_token);
    for (int i = 0; i < owned; i++)
        FL_EXPECT(s_rsvp_retried(other, bob_token, ids[on[i]]), FLOW_OK, "");
    for (int i = 0; i < owned; i++)
        FL_CHECK_INT(s_going_becomes(flow, token, ids[on[i]], 2), ==, 2);
    FL_CHECK_INT(s_status(&n[0]), ==, 0);
    FL_CHECK_INT(s_number("unavailable_partitions"), ==, 0);

    /*  Back: it takes its partitions again, with what it missed.  */
    fl_node_start(&n[2], data, NULL);
    for (int i = 0; i < 3; i++)
        FL_CHECK(s_handed_off(&n[i], 3));
    char why[256];
    FL_CHECK(fl_cluster_copies_agree(n, 3, PARTITIONS, 3, WAIT_MS, NULL, why, sizeof why));
    flow_t *back = flow_new(n[2].client);
    for (int i = 0; i < owned; i++)
        FL_CHECK_INT(s_going_becomes(back, token, ids[on[i]], 2), ==, 2);
    flow_destroy(&back);
    flow_destroy(&other);
    flow_destroy(&flow);
    for (int i = 2; i >= 0; i--)
        FL_CHECK_INT(fl_node_stop(&n[i], SIGTERM), ==, 0);
}

/*  A primary frozen past the down timeout is replaced; thawed, it still
 *  routes with its old ring for a moment, but what it takes then is
 *  acknowledged only if a new primary holds it: its old replicas refuse
 *  its entries.  It then follows the new primaries, and every copy
 *  agrees.  */
FL_TEST(a_frozen_primary_that_comes_back_acknowledges_nothing_the_others_lack)
{
    fl_proc_t n[3];
    char token[600], ids[16][64];
    int on[16], owned;
    flow_t *flow = s_three_for_failover(n, token, ids, on, &owned);
    flow_t *frozen = flow_new(n[2].client);
    char carl[64], carl_token[600];
    s_sign_up(frozen, "carl@example.com", carl, carl_token);
    FL_CHECK_INT(kill(n[2].pid, SIGSTOP), ==, 0);
    FL_CHECK(s_member_becomes(&n[0], n[2].node_id, "MEMBER_DOWN"));
    for (int i = 0; i < owned; i++)
        FL_EXPECT(s_rsvp_retried(flow, token, ids[on[i]]), FLOW_OK, "");
    FL_CHECK_INT(kill(n[2].pid, SIGCONT), ==, 0);
    /*  At once, through the node that was frozen: what it answers holds
     *  the seats taken meanwhile (it serves nothing of its old ring).  */
    for (int i = 0; i < owned; i++) {
        int going = s_going(frozen, carl_token, ids[on[i]]);
        FL_CHECK(going == -1 || going == 1);
    }
    bool acked[16] = { false };
    flow_set_retries(frozen, 0);
    for (int i = 0; i < owned; i++)
        acked[i] = s_rsvp(frozen, carl_token, ids[on[i]]) == FLOW_OK;
    for (int i = 0; i < 3; i++)
        FL_CHECK(s_handed_off(&n[i], 3));
    char why[256];
    FL_CHECK(fl_cluster_copies_agree(n, 3, PARTITIONS, 3, WAIT_MS, NULL, why, sizeof why));
    for (int i = 0; i < owned; i++) {
        int going = s_going_becomes(flow, token, ids[on[i]], 2);
        if (acked[i])
            FL_CHECK_INT(going, ==, 2);
        else
            FL_CHECK(going == 1 || going == 2);
    }
    flow_destroy(&frozen);
    flow_destroy(&flow);
    for (int i = 2; i >= 0; i--)
        FL_CHECK_INT(fl_node_stop(&n[i], SIGTERM), ==, 0);
}

/*  A replica killed while the others take writes catches up when it
 *  comes back: its copies agree with its primaries'.  */
FL_TEST(a_replica_that_missed_writes_catches_up_when_it_comes_back)
{
    fl_proc_t n[3];
    char token[600], ids[16][64];
    flow_t *flow = s_three_with_events(n, token, ids, 16, 5);
    int on[16];
    int owned = s_owned_by(&n[0], n[1].node_id, ids, 16, on);
    char data[sizeof n[1].data];
    memcpy(data, n[1].data, sizeof data);
    FL_CHECK_INT(fl_node_stop(&n[1], SIGKILL), ==, 128 + SIGKILL);
    /*  The events the others own take writes with two copies of three.  */
    int written = 0;
    for (int e = 0; e < 16; e++) {
        bool of_the_killed = false;
        for (int i = 0; i < owned; i++)
            of_the_killed |= on[i] == e;
        if (of_the_killed)
            continue;
        FL_EXPECT(s_rsvp(flow, token, ids[e]), FLOW_OK, "");
        written++;
    }
    FL_CHECK(written > 0);
    fl_node_start(&n[1], data, NULL);
    for (int i = 0; i < 3; i++)
        FL_CHECK(s_handed_off(&n[i], 3));
    char why[256];
    size_t compared = 0;
    FL_CHECK(fl_cluster_copies_agree(n, 3, PARTITIONS, 3, WAIT_MS, &compared, why, sizeof why));
    FL_CHECK_INT(compared, ==, PARTITIONS);
    flow_destroy(&flow);
    for (int i = 2; i >= 0; i--)
        FL_CHECK_INT(fl_node_stop(&n[i], SIGTERM), ==, 0);
}

/*  A member down longer than --replace-after-ms is lost: its copies are
 *  made again on the others, so every partition has three copies again;
 *  when it returns it takes its place back and the extra copies are
 *  dropped.  */
FL_TEST(copies_of_a_member_down_too_long_are_made_again_and_dropped_when_it_returns)
{
    setenv("FLOW_DOWN_AFTER_MS", "1000", 1);
    setenv("FLOW_REPLACE_AFTER_MS", "2000", 1);
    fl_proc_t n[4];
    s_start_three(n);
    s_start_joining(&n[3], NULL, &n[0]);
    for (int i = 0; i < 4; i++)
        FL_CHECK(s_handed_off(&n[i], 4));
    flow_t *flow = flow_new(n[0].client);
    char ann[64], token[600], ids[8][64];
    s_sign_up(flow, "ann@example.com", ann, token);
    for (int e = 0; e < 8; e++) {
        s_create_event(flow, token, e, 5, ids[e]);
        FL_EXPECT(s_rsvp(flow, token, ids[e]), FLOW_OK, "");
    }
    char why[256];
    FL_CHECK(fl_cluster_copies_agree(n, 4, PARTITIONS, 3, WAIT_MS, NULL, why, sizeof why));
    char data[sizeof n[3].data];
    memcpy(data, n[3].data, sizeof data);
    FL_CHECK_INT(fl_node_stop(&n[3], SIGKILL), ==, 128 + SIGKILL);
    FL_CHECK(s_member_becomes(&n[0], n[3].node_id, "MEMBER_LOST"));
    FL_CHECK(s_any_log_has(n, 3, "member is lost"));
    /*  Three copies of every partition on the three that are left.  */
    FL_CHECK(fl_cluster_copies_agree(n, 3, PARTITIONS, 3, MOVE_WAIT_MS, NULL, why,
                                     sizeof why));
    for (int e = 0; e < 8; e++)
        FL_CHECK_INT(s_going_becomes(flow, token, ids[e], 1), ==, 1);
    fl_node_start(&n[3], data, NULL);
    for (int i = 0; i < 4; i++)
        FL_CHECK(s_handed_off(&n[i], 4));
    FL_CHECK(fl_cluster_copies_agree(n, 4, PARTITIONS, 3, MOVE_WAIT_MS, NULL, why,
                                     sizeof why));
    flow_destroy(&flow);
    for (int i = 3; i >= 0; i--)
        FL_CHECK_INT(fl_node_stop(&n[i], SIGTERM), ==, 0);
}
