/*  Clusters of real flowd processes on 127.0.0.1: membership agreed by
 *  consensus, joining with the join credential (and refusal without it),
 *  and metadata that survives a restart of every node.  Every wait is
 *  bounded; nothing is timed.
 */
#include "tests/integration/harness.h"
#include "tests/testlib.h"

#include <signal.h>
#include <unistd.h>

#define WAIT_MS 30000
#define NODES_MAX 5

static char s_out[65536], s_err[4096];

/*  flowctl --json cluster status against NODE into s_out; its exit code. */
static int
s_status(const fl_proc_t *node)
{
    const char *argv[] = { fl_program("FLOWCTL_CLI"), "--control", node->control, "--key",
                           node->admin_key, "--timeout", "5000", "--json", "cluster", "status",
                           NULL };
    return fl_run(argv, NULL, s_out, sizeof s_out, s_err, sizeof s_err);
}

/*  The value of "KEY":"..." in s_out into OUT ("" when absent).  */
static void
s_field(const char *key, char *out, size_t len)
{
    char pattern[64];
    snprintf(pattern, sizeof pattern, "\"%s\":\"", key);
    const char *p = strstr(s_out, pattern);
    out[0] = '\0';
    if (!p)
        return;
    p += strlen(pattern);
    size_t n = strcspn(p, "\"");
    snprintf(out, len, "%.*s", (int) (n < len ? n : len - 1), p);
}

static size_t
s_count(const char *needle)
{
    size_t n = 0;
    for (const char *p = strstr(s_out, needle); p; p = strstr(p + 1, needle))
        n++;
    return n;
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

static void
s_start_joining(fl_proc_t *node, const char *data, const fl_proc_t *through)
{
    char key[700];
    snprintf(key, sizeof key, "%s/keys/join.key", through->data);
    const char *flags[] = { "--join", through->peer, "--join-key", key, NULL };
    fl_node_start(node, data, flags);
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
    fl_node_start(&n[0], NULL, NULL);
    FL_CHECK(s_settled(&n[0], 1));
    s_start_joining(&n[1], NULL, &n[0]);
    s_start_joining(&n[2], NULL, &n[1]);          /* through a follower */
    char cluster[3][64], leader[3][128], epoch[3][32];
    for (int i = 0; i < 3; i++) {
        FL_CHECK(s_settled(&n[i], 3));
        s_field("cluster_id", cluster[i], sizeof cluster[i]);
        s_field("leader_id", leader[i], sizeof leader[i]);
        const char *e = strstr(s_out, "\"epoch\":");
        FL_CHECK(e != NULL);
        snprintf(epoch[i], sizeof epoch[i], "%.*s", (int) strcspn(e + 8, ","), e + 8);
        FL_CHECK(strstr(s_out, n[0].node_id) && strstr(s_out, n[1].node_id)
                 && strstr(s_out, n[2].node_id));
        FL_CHECK_INT(s_count("MEMBER_JOINING"), ==, 2);
    }
    FL_CHECK_STR(cluster[1], cluster[0]);
    FL_CHECK_STR(cluster[2], cluster[0]);
    FL_CHECK_STR(leader[1], leader[0]);
    FL_CHECK_STR(leader[2], leader[0]);
    FL_CHECK_STR(epoch[1], epoch[0]);
    FL_CHECK_STR(epoch[2], epoch[0]);
    FL_CHECK_STR(epoch[0], "3");
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

FL_TEST(a_joined_node_routes_to_the_holder_and_says_so)
{
    fl_proc_t a, b;
    fl_node_start(&a, NULL, NULL);
    FL_CHECK(s_settled(&a, 1));
    s_start_joining(&b, NULL, &a);
    flow_t *flow = flow_new(b.client);
    flow_pong_t pong;
    FL_CHECK_INT(flow_ping(flow, FLOW__ACTOR__ACTOR_UNSPECIFIED, NULL, 0, &pong), ==, FLOW_OK);
    FL_CHECK_STR(pong.node_id, b.node_id);
    Flow__PingRequest ping = FLOW__PING_REQUEST__INIT;
    ping.actor = FLOW__ACTOR__ACTOR_USER;
    ping.key.data = (uint8_t *) "someone";
    ping.key.len = 7;
    Flow__Request req = FLOW__REQUEST__INIT;
    req.body_case = FLOW__REQUEST__BODY_PING;
    req.ping = &ping;
    FL_EXPECT(fl_call(flow, NULL, &req, NULL), FLOW_UNAVAILABLE, "partition");
    FL_CHECK(strstr(fl_last.message, a.node_id) != NULL);
    flow_destroy(&flow);
    FL_CHECK_INT(fl_node_stop(&b, SIGTERM), ==, 0);
    FL_CHECK_INT(fl_node_stop(&a, SIGTERM), ==, 0);
}

FL_TEST(a_node_without_the_join_credential_is_refused_and_nothing_changes)
{
    fl_proc_t a;
    fl_node_start(&a, NULL, NULL);
    FL_CHECK(s_settled(&a, 1));
    char before[64];
    const char *e = strstr(s_out, "\"epoch\":");
    snprintf(before, sizeof before, "%.*s", (int) strcspn(e + 8, ","), e + 8);

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
    e = strstr(s_out, "\"epoch\":");
    FL_CHECK(e != NULL);
    char after[64];
    snprintf(after, sizeof after, "%.*s", (int) strcspn(e + 8, ","), e + 8);
    FL_CHECK_STR(after, before);
    FL_CHECK(fl_node_log_has(&a, "join refused: wrong join credential"));
    FL_CHECK_INT(fl_node_stop(&a, SIGTERM), ==, 0);
}

FL_TEST(the_cluster_comes_back_with_its_metadata_after_every_node_restarts)
{
    fl_proc_t n[3];
    fl_node_start(&n[0], NULL, NULL);
    FL_CHECK(s_settled(&n[0], 1));
    s_start_joining(&n[1], NULL, &n[0]);
    s_start_joining(&n[2], NULL, &n[0]);
    FL_CHECK(s_settled(&n[0], 3));
    char cluster[64];
    s_field("cluster_id", cluster, sizeof cluster);
    char data[3][512];
    for (int i = 0; i < 3; i++) {
        snprintf(data[i], sizeof data[i], "%s", n[i].data);
        FL_CHECK_INT(fl_node_stop(&n[i], i == 1 ? SIGKILL : SIGTERM), ==,
                     i == 1 ? 128 + SIGKILL : 0);
    }
    /*  Restarted without --join: members already.  */
    for (int i = 2; i >= 0; i--)
        fl_node_start(&n[i], data[i], NULL);
    for (int i = 0; i < 3; i++) {
        FL_CHECK(s_settled(&n[i], 3));
        char again[64];
        s_field("cluster_id", again, sizeof again);
        FL_CHECK_STR(again, cluster);
        FL_CHECK(strstr(s_out, "\"epoch\":3") != NULL);
    }
    for (int i = 0; i < 3; i++)
        FL_CHECK_INT(fl_node_stop(&n[i], SIGTERM), ==, 0);
}
