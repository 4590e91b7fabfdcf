/*  Malformed frames: each gets an error reply naming the problem, and the
 *  node keeps serving.  */
#include "clients/libflow.h"
#include "tests/integration/harness.h"
#include "tests/testlib.h"

#include <signal.h>

static fl_proc_t s_node;
static flow_t *s_flow;

static void
s_start(void)
{
    const char *extra[] = { "--request-max-bytes", "4096", NULL };
    fl_node_start(&s_node, NULL, extra);
    s_flow = flow_new(s_node.client);
    flow_pong_t pong;
    FL_CHECK_INT(flow_ping(s_flow, FLOW__ACTOR__ACTOR_UNSPECIFIED, NULL, 0, &pong), ==, FLOW_OK);
}

/*  Sends BYTES raw and returns the reply, which must come.  */
static Flow__Reply *
s_exchange(const void *bytes, size_t len)
{
    FL_CHECK_INT(flow_send_raw(s_flow, bytes, len), ==, FLOW_OK);
    Flow__ServerMessage *msg = NULL;
    FL_CHECK_INT(flow_recv_raw(s_flow, &msg, 10000), ==, FLOW_OK);
    FL_CHECK_INT(msg->version, ==, 1);
    FL_CHECK_INT(msg->kind_case, ==, FLOW__SERVER_MESSAGE__KIND_REPLY);
    Flow__Reply *reply = msg->reply;
    msg->reply = NULL;
    msg->kind_case = FLOW__SERVER_MESSAGE__KIND__NOT_SET;
    flow__server_message__free_unpacked(msg, NULL);
    return reply;
}

static void
s_finish(void)
{
    flow_pong_t pong;
    FL_CHECK_INT(flow_ping(s_flow, FLOW__ACTOR__ACTOR_USER, "still", 5, &pong), ==, FLOW_OK);
    flow_destroy(&s_flow);
    FL_CHECK_INT(fl_node_stop(&s_node, SIGTERM), ==, 0);
}

static size_t
s_pack_ping(uint8_t *buf, uint32_t version, uint64_t id)
{
    Flow__PingRequest ping = FLOW__PING_REQUEST__INIT;
    Flow__Request req = FLOW__REQUEST__INIT;
    req.version = version;
    req.id = id;
    req.body_case = FLOW__REQUEST__BODY_PING;
    req.ping = &ping;
    ping.key.data = (uint8_t *) "routing-key";
    ping.key.len = 11;
    ping.actor = FLOW__ACTOR__ACTOR_GEO;
    return flow__request__pack(&req, buf);
}

FL_TEST(garbage_frame_gets_invalid_argument)
{
    s_start();
    const char garbage[] = "\xff\xfe this is not protobuf \x01\x02";
    Flow__Reply *r = s_exchange(garbage, sizeof garbage - 1);
    FL_CHECK_INT(r->status, ==, FLOW__STATUS__INVALID_ARGUMENT);
    FL_CHECK_INT(r->id, ==, 0);
    FL_CHECK(strstr(r->message, "not a valid flow.Request") != NULL);
    flow__reply__free_unpacked(r, NULL);
    s_finish();
}

FL_TEST(truncated_protobuf_gets_invalid_argument)
{
    s_start();
    uint8_t buf[128];
    size_t len = s_pack_ping(buf, 1, 77);
    Flow__Reply *r = s_exchange(buf, len - 4);
    FL_CHECK_INT(r->status, ==, FLOW__STATUS__INVALID_ARGUMENT);
    flow__reply__free_unpacked(r, NULL);
    s_finish();
}

FL_TEST(wrong_version_gets_invalid_argument_with_id)
{
    s_start();
    uint8_t buf[128];
    size_t len = s_pack_ping(buf, 2, 4242);
    Flow__Reply *r = s_exchange(buf, len);
    FL_CHECK_INT(r->status, ==, FLOW__STATUS__INVALID_ARGUMENT);
    FL_CHECK_INT(r->id, ==, 4242);
    FL_CHECK(strstr(r->message, "protocol version 2") != NULL);
    flow__reply__free_unpacked(r, NULL);
    s_finish();
}

FL_TEST(oversized_frame_gets_resource_exhausted)
{
    s_start();
    size_t len = 10000;
    uint8_t *big = calloc(1, len);
    Flow__Reply *r = s_exchange(big, len);
    FL_CHECK_INT(r->status, ==, FLOW__STATUS__RESOURCE_EXHAUSTED);
    FL_CHECK(strstr(r->message, "exceeds the limit of 4096 bytes") != NULL);
    flow__reply__free_unpacked(r, NULL);
    free(big);
    s_finish();
}

FL_TEST(empty_frame_gets_invalid_argument)
{
    s_start();
    Flow__Reply *r = s_exchange("", 0);
    FL_CHECK_INT(r->status, ==, FLOW__STATUS__INVALID_ARGUMENT);
    FL_CHECK(strstr(r->message, "empty frame") != NULL);
    flow__reply__free_unpacked(r, NULL);
    s_finish();
}

FL_TEST(unknown_body_gets_invalid_argument)
{
    s_start();
    Flow__Request req = FLOW__REQUEST__INIT;
    req.version = 1;
    req.id = 8;
    uint8_t buf[64];
    size_t len = flow__request__pack(&req, buf);
    buf[len++] = 0xfa;      /* field 1007, length-delimited, 1 byte */
    buf[len++] = 0x3e;
    buf[len++] = 0x01;
    buf[len++] = 0x00;
    Flow__Reply *r = s_exchange(buf, len);
    FL_CHECK_INT(r->status, ==, FLOW__STATUS__INVALID_ARGUMENT);
    FL_CHECK_INT(r->id, ==, 8);
    FL_CHECK(strstr(r->message, "body") != NULL);
    flow__reply__free_unpacked(r, NULL);
    s_finish();
}

FL_TEST(invalid_field_gets_invalid_argument_naming_it)
{
    s_start();
    Flow__PingRequest ping = FLOW__PING_REQUEST__INIT;
    ping.actor = (Flow__Actor) 99;
    Flow__Request req = FLOW__REQUEST__INIT;
    req.version = 1;
    req.id = 9;
    req.body_case = FLOW__REQUEST__BODY_PING;
    req.ping = &ping;
    uint8_t buf[64];
    size_t len = flow__request__pack(&req, buf);
    Flow__Reply *r = s_exchange(buf, len);
    FL_CHECK_INT(r->status, ==, FLOW__STATUS__INVALID_ARGUMENT);
    FL_CHECK(strstr(r->message, "ping.actor") != NULL);
    flow__reply__free_unpacked(r, NULL);
    s_finish();
}

FL_TEST(many_bad_frames_in_a_row_leave_the_node_serving)
{
    s_start();
    uint8_t buf[256];
    for (int i = 0; i < 200; i++) {
        size_t len = (size_t) (i % 64) + 1;
        for (size_t b = 0; b < len; b++)
            buf[b] = (uint8_t) (i * 31 + b * 7);
        Flow__Reply *r = s_exchange(buf, len);
        FL_CHECK(r->status != FLOW__STATUS__OK || r->id != 0);
        flow__reply__free_unpacked(r, NULL);
    }
    s_finish();
}
