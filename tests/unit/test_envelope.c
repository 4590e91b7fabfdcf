/*  Envelope checks: every refusal has its status and names the problem.  */
#include "node/envelope.h"
#include "tests/testlib.h"

static const fl_envelope_limits_t s_limits = { 1024, 60000 };

static Flow__Status
s_decode_req(Flow__Request *req, uint64_t *id, char *msg)
{
    uint8_t buf[2048];
    size_t len = flow__request__pack(req, buf);
    Flow__Request *out = NULL;
    Flow__Status status = fl_envelope_decode(buf, len, &s_limits, &out, id, msg, 256);
    if (out)
        flow__request__free_unpacked(out, NULL);
    return status;
}

static void
s_ping_req(Flow__Request *req, Flow__PingRequest *ping)
{
    flow__request__init(req);
    flow__ping_request__init(ping);
    req->version = 1;
    req->id = 42;
    req->body_case = FLOW__REQUEST__BODY_PING;
    req->ping = ping;
}

FL_TEST(valid_request_decodes)
{
    Flow__Request req;
    Flow__PingRequest ping;
    s_ping_req(&req, &ping);
    uint64_t id;
    char msg[256];
    FL_CHECK_INT(s_decode_req(&req, &id, msg), ==, FLOW__STATUS__OK);
    FL_CHECK_INT(id, ==, 42);
}

FL_TEST(oversized_frame_is_resource_exhausted_unparsed)
{
    uint8_t big[2000] = { 0 };
    Flow__Request *out = NULL;
    uint64_t id = 99;
    char msg[256];
    FL_CHECK_INT(fl_envelope_decode(big, sizeof big, &s_limits, &out, &id, msg, sizeof msg),
                 ==, FLOW__STATUS__RESOURCE_EXHAUSTED);
    FL_CHECK(out == NULL);
    FL_CHECK_INT(id, ==, 0);
    FL_CHECK(strstr(msg, "exceeds the limit of 1024 bytes") != NULL);
}

FL_TEST(empty_and_garbage_frames_are_invalid)
{
    Flow__Request *out = NULL;
    uint64_t id;
    char msg[256];
    FL_CHECK_INT(fl_envelope_decode("", 0, &s_limits, &out, &id, msg, sizeof msg),
                 ==, FLOW__STATUS__INVALID_ARGUMENT);
    FL_CHECK(strstr(msg, "empty frame") != NULL);
    const uint8_t garbage[] = { 0xff, 0xff, 0xff, 0xff, 0x0f, 0x01 };
    FL_CHECK_INT(fl_envelope_decode(garbage, sizeof garbage, &s_limits, &out, &id, msg, sizeof msg),
                 ==, FLOW__STATUS__INVALID_ARGUMENT);
    FL_CHECK(strstr(msg, "not a valid flow.Request") != NULL);
}

FL_TEST(truncated_frame_is_invalid)
{
    Flow__Request req;
    Flow__PingRequest ping;
    s_ping_req(&req, &ping);
    ping.key.data = (uint8_t *) "some routing key";
    ping.key.len = 16;
    uint8_t buf[256];
    size_t len = flow__request__pack(&req, buf);
    Flow__Request *out = NULL;
    uint64_t id;
    char msg[256];
    FL_CHECK_INT(fl_envelope_decode(buf, len - 3, &s_limits, &out, &id, msg, sizeof msg),
                 ==, FLOW__STATUS__INVALID_ARGUMENT);
    FL_CHECK(out == NULL);
}

FL_TEST(wrong_version_is_refused_with_its_id)
{
    Flow__Request req;
    Flow__PingRequest ping;
    s_ping_req(&req, &ping);
    req.version = 7;
    uint64_t id;
    char msg[256];
    FL_CHECK_INT(s_decode_req(&req, &id, msg), ==, FLOW__STATUS__INVALID_ARGUMENT);
    FL_CHECK_INT(id, ==, 42);
    FL_CHECK(strstr(msg, "protocol version 7 is not supported") != NULL);
}

FL_TEST(zero_id_is_refused)
{
    Flow__Request req;
    Flow__PingRequest ping;
    s_ping_req(&req, &ping);
    req.id = 0;
    uint64_t id;
    char msg[256];
    FL_CHECK_INT(s_decode_req(&req, &id, msg), ==, FLOW__STATUS__INVALID_ARGUMENT);
    FL_CHECK(strstr(msg, "id:") != NULL);
}

FL_TEST(timeout_over_maximum_is_lowered_to_it)
{
    Flow__Request req;
    Flow__PingRequest ping;
    s_ping_req(&req, &ping);
    req.timeout_ms = 300000;
    uint8_t buf[256];
    size_t len = flow__request__pack(&req, buf);
    Flow__Request *out = NULL;
    uint64_t id;
    char msg[256];
    FL_CHECK_INT(fl_envelope_decode(buf, len, &s_limits, &out, &id, msg, sizeof msg),
                 ==, FLOW__STATUS__OK);
    FL_CHECK_INT(out->timeout_ms, ==, 60000);
    flow__request__free_unpacked(out, NULL);
}

FL_TEST(missing_or_unknown_body_is_refused)
{
    Flow__Request req = FLOW__REQUEST__INIT;
    req.version = 1;
    req.id = 5;
    uint64_t id;
    char msg[256];
    FL_CHECK_INT(s_decode_req(&req, &id, msg), ==, FLOW__STATUS__INVALID_ARGUMENT);
    FL_CHECK(strstr(msg, "body") != NULL);
    /*  Field 99 is no body this node knows: protobuf keeps it as unknown. */
    uint8_t buf[64];
    size_t len = flow__request__pack(&req, buf);
    buf[len++] = 0x98;      /* varint tag: field 99, wire type 0 */
    buf[len++] = 0x06;
    buf[len++] = 0x01;
    Flow__Request *out = NULL;
    FL_CHECK_INT(fl_envelope_decode(buf, len, &s_limits, &out, &id, msg, sizeof msg),
                 ==, FLOW__STATUS__INVALID_ARGUMENT);
    FL_CHECK(out == NULL);
}

FL_TEST(over_long_token_is_refused)
{
    Flow__Request req;
    Flow__PingRequest ping;
    s_ping_req(&req, &ping);
    static char token[FL_ENVELOPE_TOKEN_MAX + 2];
    memset(token, 't', sizeof token - 1);
    req.token = token;
    fl_envelope_limits_t limits = { 1 << 20, 60000 };
    size_t size = flow__request__get_packed_size(&req);
    uint8_t *buf = malloc(size);
    flow__request__pack(&req, buf);
    Flow__Request *out = NULL;
    uint64_t id;
    char msg[256];
    FL_CHECK_INT(fl_envelope_decode(buf, size, &limits, &out, &id, msg, sizeof msg),
                 ==, FLOW__STATUS__INVALID_ARGUMENT);
    FL_CHECK(strstr(msg, "token") != NULL);
    free(buf);
}

FL_TEST(reply_and_push_pack_as_server_messages)
{
    Flow__Reply reply = FLOW__REPLY__INIT;
    reply.id = 9;
    reply.status = FLOW__STATUS__NOT_FOUND;
    reply.message = "gone";
    zframe_t *frame = fl_envelope_pack_reply(&reply);
    Flow__ServerMessage *sm = flow__server_message__unpack(NULL, zframe_size(frame), zframe_data(frame));
    FL_CHECK(sm != NULL);
    FL_CHECK_INT(sm->version, ==, 1);
    FL_CHECK_INT(sm->kind_case, ==, FLOW__SERVER_MESSAGE__KIND_REPLY);
    FL_CHECK_INT(sm->reply->id, ==, 9);
    FL_CHECK_STR(sm->reply->message, "gone");
    flow__server_message__free_unpacked(sm, NULL);
    zframe_destroy(&frame);

    Flow__Push push = FLOW__PUSH__INIT;
    push.topic = "node";
    push.seq = 3;
    frame = fl_envelope_pack_push(&push);
    sm = flow__server_message__unpack(NULL, zframe_size(frame), zframe_data(frame));
    FL_CHECK_INT(sm->kind_case, ==, FLOW__SERVER_MESSAGE__KIND_PUSH);
    FL_CHECK_STR(sm->push->topic, "node");
    flow__server_message__free_unpacked(sm, NULL);
    zframe_destroy(&frame);
}

FL_TEST(status_names_are_the_protocol_names)
{
    FL_CHECK_STR(fl_status_name(FLOW__STATUS__OK), "OK");
    FL_CHECK_STR(fl_status_name(FLOW__STATUS__RESOURCE_EXHAUSTED), "RESOURCE_EXHAUSTED");
    FL_CHECK_STR(fl_status_name((Flow__Status) 77), "UNKNOWN");
}
