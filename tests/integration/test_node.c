/*  A real flowd through libflow: it answers, routes through every actor,
 *  keeps its identity across restarts, stops cleanly, tells subscribers
 *  when it drains, and refuses what it must.  */
#include "clients/libflow.h"
#include "storage/keyspace.h"
#include "tests/integration/harness.h"
#include "tests/testlib.h"

#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

FL_TEST(node_answers_ping_with_its_identity)
{
    fl_proc_t node;
    fl_node_start(&node, NULL, NULL);
    flow_t *flow = flow_new(node.client);
    flow_pong_t pong;
    FL_CHECK_INT(flow_ping(flow, FLOW__ACTOR__ACTOR_UNSPECIFIED, NULL, 0, &pong), ==, FLOW_OK);
    FL_CHECK_STR(pong.node_id, node.node_id);
    FL_CHECK_INT(pong.actor, ==, FLOW__ACTOR__ACTOR_SESSION);
    flow_destroy(&flow);
    FL_CHECK_INT(fl_node_stop(&node, SIGTERM), ==, 0);
}

FL_TEST(info_describes_the_node)
{
    fl_proc_t node;
    const char *extra[] = { "--partitions", "256", NULL };
    fl_node_start(&node, NULL, extra);
    flow_t *flow = flow_new(node.client);
    Flow__InfoReply *info = NULL;
    FL_CHECK_INT(flow_info(flow, &info), ==, FLOW_OK);
    FL_CHECK_STR(info->node_id, node.node_id);
    FL_CHECK_STR(info->version, FLOW_VERSION);
    FL_CHECK_INT(info->protocol_version, ==, 1);
    FL_CHECK_INT(info->partitions, ==, 256);
    FL_CHECK_INT(info->partitions_owned, ==, 256);
    FL_CHECK_INT(info->ring_epoch, ==, 1);
    FL_CHECK_INT(info->n_actors, ==, 6);
    FL_CHECK_INT(info->max_request_bytes, ==, 1 << 20);
    flow__info_reply__free_unpacked(info, NULL);
    flow_destroy(&flow);
    FL_CHECK_INT(fl_node_stop(&node, SIGTERM), ==, 0);
}

FL_TEST(ping_travels_through_every_actor_to_the_key_partition)
{
    fl_proc_t node;
    fl_node_start(&node, NULL, NULL);
    flow_t *flow = flow_new(node.client);
    for (int a = FLOW__ACTOR__ACTOR_USER; a <= FLOW__ACTOR__ACTOR_NOTIFY; a++) {
        char key[32];
        snprintf(key, sizeof key, "key-%d", a);
        flow_pong_t pong;
        FL_CHECK_INT(flow_ping(flow, (Flow__Actor) a, key, strlen(key), &pong), ==, FLOW_OK);
        FL_CHECK_INT(pong.actor, ==, a);
        FL_CHECK_INT(pong.partition, ==, fl_keyspace_partition(key, strlen(key), 1024));
        FL_CHECK_STR(pong.node_id, node.node_id);
    }
    flow_destroy(&flow);
    FL_CHECK_INT(fl_node_stop(&node, SIGTERM), ==, 0);
}

FL_TEST(restart_keeps_identity_and_partition_count)
{
    fl_proc_t node;
    const char *extra[] = { "--partitions", "64", NULL };
    fl_node_start(&node, NULL, extra);
    char id[512], data[512];
    snprintf(id, sizeof id, "%s", node.node_id);
    snprintf(data, sizeof data, "%s", node.data);
    FL_CHECK_INT(fl_node_stop(&node, SIGTERM), ==, 0);

    const char *other[] = { "--partitions", "128", NULL };
    fl_node_start(&node, data, other);
    FL_CHECK_STR(node.node_id, id);
    flow_t *flow = flow_new(node.client);
    Flow__InfoReply *info = NULL;
    FL_CHECK_INT(flow_info(flow, &info), ==, FLOW_OK);
    FL_CHECK_INT(info->partitions, ==, 64);
    flow__info_reply__free_unpacked(info, NULL);
    flow_destroy(&flow);
    FL_CHECK(fl_node_log_has(&node, "partition count is fixed by the data directory"));
    FL_CHECK_INT(fl_node_stop(&node, SIGINT), ==, 0);
}

FL_TEST(sigterm_stops_cleanly_and_removes_endpoints_file)
{
    fl_proc_t node;
    fl_node_start(&node, NULL, NULL);
    FL_CHECK_INT(fl_node_stop(&node, SIGTERM), ==, 0);
    char path[600];
    snprintf(path, sizeof path, "%s/flowd.endpoints", node.data);
    FL_CHECK(access(path, F_OK) != 0);
    FL_CHECK(fl_node_log_has(&node, "msg=stopped"));
}

FL_TEST(node_restarts_after_sigkill)
{
    fl_proc_t node;
    fl_node_start(&node, NULL, NULL);
    char id[512], data[512];
    snprintf(id, sizeof id, "%s", node.node_id);
    snprintf(data, sizeof data, "%s", node.data);
    FL_CHECK_INT(fl_node_stop(&node, SIGKILL), ==, 128 + SIGKILL);
    fl_node_start(&node, data, NULL);
    FL_CHECK_STR(node.node_id, id);
    flow_t *flow = flow_new(node.client);
    flow_pong_t pong;
    FL_CHECK_INT(flow_ping(flow, FLOW__ACTOR__ACTOR_EVENT, "k", 1, &pong), ==, FLOW_OK);
    flow_destroy(&flow);
    FL_CHECK_INT(fl_node_stop(&node, SIGTERM), ==, 0);
}

FL_TEST(second_node_on_same_data_directory_is_refused)
{
    fl_proc_t node, second;
    fl_node_start(&node, NULL, NULL);
    FL_CHECK_INT(fl_node_start_fails(&second, node.data, NULL), ==, 1);
    FL_CHECK(fl_node_log_has(&second, "data directory is in use by another flowd"));
    flow_t *flow = flow_new(node.client);
    flow_pong_t pong;
    FL_CHECK_INT(flow_ping(flow, FLOW__ACTOR__ACTOR_UNSPECIFIED, NULL, 0, &pong), ==, FLOW_OK);
    flow_destroy(&flow);
    FL_CHECK_INT(fl_node_stop(&node, SIGTERM), ==, 0);
}

FL_TEST(bad_flag_exits_with_one_line_error)
{
    fl_proc_t node;
    const char *extra[] = { "--partitions", "zero", NULL };
    FL_CHECK_INT(fl_node_start_fails(&node, NULL, extra), ==, 2);
    FL_CHECK(fl_node_log_has(&node, "flowd: flag --partitions: cluster/partitions must be a whole number"));
}

FL_TEST(unbindable_endpoint_fails_to_start)
{
    fl_proc_t first, node;
    fl_node_start(&first, NULL, NULL);
    const char *extra[] = { "--client", first.client, NULL };
    FL_CHECK_INT(fl_node_start_fails(&node, NULL, extra), ==, 1);
    FL_CHECK(fl_node_log_has(&node, "cannot bind the client endpoint"));
    FL_CHECK_INT(fl_node_stop(&first, SIGTERM), ==, 0);
}

FL_TEST(keys_are_private_to_the_node_owner)
{
    fl_proc_t node;
    fl_node_start(&node, NULL, NULL);
    struct stat st;
    char path[700];
    snprintf(path, sizeof path, "%s/keys", node.data);
    FL_CHECK(stat(path, &st) == 0 && (st.st_mode & 0777) == 0700);
    const char *secrets[] = { "node.cert_secret", "admin.cert_secret" };
    for (int i = 0; i < 2; i++) {
        snprintf(path, sizeof path, "%s/keys/%s", node.data, secrets[i]);
        FL_CHECK(stat(path, &st) == 0);
        FL_CHECK_INT(st.st_mode & 0777, ==, 0600);
    }
    snprintf(path, sizeof path, "%s/keys/admins/admin.cert", node.data);
    FL_CHECK(access(path, R_OK) == 0);
    FL_CHECK_INT(fl_node_stop(&node, SIGTERM), ==, 0);
}

FL_TEST(subscriber_hears_serving_then_draining)
{
    fl_proc_t node;
    fl_node_start(&node, NULL, NULL);
    flow_t *flow = flow_new(node.client);
    const char *topics[] = { "node" };
    FL_CHECK_INT(flow_subscribe(flow, topics, 1), ==, FLOW_OK);
    Flow__Push *push = NULL;
    FL_CHECK_INT(flow_next_push(flow, &push, 10000), ==, FLOW_OK);
    FL_CHECK_STR(push->topic, "node");
    FL_CHECK_INT(push->body_case, ==, FLOW__PUSH__BODY_NODE);
    FL_CHECK_INT(push->node->state, ==, FLOW__NODE_NOTICE__STATE__SERVING);
    FL_CHECK_INT(push->seq, ==, 1);
    flow__push__free_unpacked(push, NULL);

    kill(node.pid, SIGTERM);
    FL_CHECK_INT(flow_next_push(flow, &push, 10000), ==, FLOW_OK);
    FL_CHECK_INT(push->node->state, ==, FLOW__NODE_NOTICE__STATE__DRAINING);
    FL_CHECK_INT(push->seq, ==, 2);
    flow__push__free_unpacked(push, NULL);
    flow_destroy(&flow);
    FL_CHECK_INT(fl_node_wait(&node), ==, 0);
}

FL_TEST(unsubscribed_connection_hears_nothing)
{
    fl_proc_t node;
    fl_node_start(&node, NULL, NULL);
    flow_t *flow = flow_new(node.client);
    const char *topics[] = { "node" };
    FL_CHECK_INT(flow_subscribe(flow, topics, 1), ==, FLOW_OK);
    Flow__Push *push = NULL;
    FL_CHECK_INT(flow_next_push(flow, &push, 10000), ==, FLOW_OK);
    flow__push__free_unpacked(push, NULL);
    FL_CHECK_INT(flow_unsubscribe(flow, topics, 1), ==, FLOW_OK);
    size_t n = 99;
    flow_topics(flow, &n);
    FL_CHECK_INT(n, ==, 0);
    kill(node.pid, SIGTERM);
    FL_CHECK(flow_next_push(flow, &push, 2000) != FLOW_OK);
    flow_destroy(&flow);
    FL_CHECK_INT(fl_node_wait(&node), ==, 0);
}

FL_TEST(unknown_topic_is_refused_by_name)
{
    fl_proc_t node;
    fl_node_start(&node, NULL, NULL);
    flow_t *flow = flow_new(node.client);
    const char *topics[] = { "node", "weather:berlin" };
    FL_CHECK_INT(flow_subscribe(flow, topics, 2), ==, FLOW_INVALID_ARGUMENT);
    FL_CHECK(strstr(flow_error(flow), "topics[1]") != NULL);
    flow_destroy(&flow);
    FL_CHECK_INT(fl_node_stop(&node, SIGTERM), ==, 0);
}

FL_TEST(request_with_unknown_token_is_unauthenticated)
{
    fl_proc_t node;
    fl_node_start(&node, NULL, NULL);
    flow_t *flow = flow_new(node.client);
    flow_set_token(flow, "forged.token");
    flow_pong_t pong;
    FL_CHECK_INT(flow_ping(flow, FLOW__ACTOR__ACTOR_UNSPECIFIED, NULL, 0, &pong), ==,
                 FLOW_UNAUTHENTICATED);
    FL_CHECK(strstr(flow_error(flow), "token") != NULL);
    flow_destroy(&flow);
    FL_CHECK_INT(fl_node_stop(&node, SIGTERM), ==, 0);
}

FL_TEST(unreachable_node_is_unavailable_or_deadline)
{
    flow_t *flow = flow_new("tcp://127.0.0.1:1");
    flow_set_retries(flow, 1);
    flow_set_timeout(flow, 500);
    flow_pong_t pong;
    flow_status_t s = flow_ping(flow, FLOW__ACTOR__ACTOR_UNSPECIFIED, NULL, 0, &pong);
    FL_CHECK(s == FLOW_UNAVAILABLE || s == FLOW_DEADLINE_EXCEEDED);
    FL_CHECK(flow_error(flow)[0] != '\0');
    flow_destroy(&flow);
}

/*  The connection is ordered, so when the node stops mid-stream the
 *  requests it read form a prefix of those sent: each of them is answered
 *  exactly once, OK up to the moment it began draining and UNAVAILABLE
 *  after; frames it never read get no answer.  */
FL_TEST(sigterm_under_load_answers_every_request_it_read)
{
    fl_proc_t node;
    fl_node_start(&node, NULL, NULL);
    flow_t *flow = flow_new(node.client);
    flow_pong_t pong;
    FL_CHECK_INT(flow_ping(flow, FLOW__ACTOR__ACTOR_UNSPECIFIED, NULL, 0, &pong), ==, FLOW_OK);
    enum { N = 300 };
    Flow__PingRequest ping = FLOW__PING_REQUEST__INIT;
    ping.actor = FLOW__ACTOR__ACTOR_EVENT;
    Flow__Request req = FLOW__REQUEST__INIT;
    req.version = 1;
    req.body_case = FLOW__REQUEST__BODY_PING;
    req.ping = &ping;
    uint8_t buf[128];
    for (uint64_t id = 1; id <= N; id++) {
        req.id = id;
        FL_CHECK_INT(flow_send_raw(flow, buf, flow__request__pack(&req, buf)), ==, FLOW_OK);
    }
    Flow__Status status[N + 1];
    bool seen[N + 1] = { false };
    Flow__ServerMessage *msg = NULL;
    bool killed = false;
    while (flow_recv_raw(flow, &msg, 3000) == FLOW_OK) {
        if (!killed) {
            kill(node.pid, SIGTERM);
            killed = true;
        }
        if (msg->kind_case == FLOW__SERVER_MESSAGE__KIND_REPLY) {
            uint64_t id = msg->reply->id;
            FL_CHECK(id >= 1 && id <= N && !seen[id]);
            seen[id] = true;
            status[id] = msg->reply->status;
        }
        flow__server_message__free_unpacked(msg, NULL);
    }
    FL_CHECK(killed);
    uint64_t answered = 0, ok = 0;
    while (answered < N && seen[answered + 1])
        answered++;
    while (ok < answered && status[ok + 1] == FLOW__STATUS__OK)
        ok++;
    FL_CHECK(ok >= 1);
    for (uint64_t id = answered + 1; id <= N; id++)
        FL_CHECK(!seen[id]);
    for (uint64_t id = ok + 1; id <= answered; id++)
        FL_CHECK_INT(status[id], ==, FLOW__STATUS__UNAVAILABLE);
    flow_destroy(&flow);
    FL_CHECK_INT(fl_node_wait(&node), ==, 0);
    FL_CHECK(fl_node_log_has(&node, "msg=draining"));
}
