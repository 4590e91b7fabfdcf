/*  tests/unit/test_pbjson.c — protobuf-c messages to JSON text and back.
 *
 *  Messages of flow.proto and control.proto pin the shapes the CLIs and
 *  the gateway print and read.  Those files use few of protobuf's scalar kinds, so
 *  one message with every kind and both presence styles is declared here
 *  by hand: pbjson reads nothing but a descriptor's fields, and a
 *  hand-made descriptor tests exactly that.
 */
#include "tests/testlib.h"

#include "clients/pbjson.h"
#include "control.pb-c.h"
#include "flow.pb-c.h"

#include <math.h>
#include <stddef.h>

/*  Renders MESSAGE compactly; the caller frees.  */
static char *
s_json(const ProtobufCMessage *message)
{
    json_t *json = fl_pbjson_from_message(message);
    FL_CHECK(json != NULL);
    char *text = json_dumps(json, JSON_COMPACT);
    json_decref(json);
    FL_CHECK(text != NULL);
    return text;
}

static void
s_check_json(const ProtobufCMessage *message, const char *expected)
{
    char *text = s_json(message);
    FL_CHECK_STR(text, expected);
    free(text);
}

/*  ---------------------------------------------------------------------
 *  A message with every field kind
 */

typedef struct {
    ProtobufCMessage base;
    int32_t i32;
    int32_t s32;
    int32_t sf32;
    int64_t i64;
    int64_t s64;
    int64_t sf64;
    uint32_t u32;
    uint32_t f32;
    uint64_t u64;
    uint64_t f64;
    float fl;
    double db;
    protobuf_c_boolean flag;
    protobuf_c_boolean has_opt;
    int32_t opt;
    char *opt_text;
    size_t n_reals;
    double *reals;
    size_t n_flags;
    protobuf_c_boolean *flags;
    size_t n_blobs;
    ProtobufCBinaryData *blobs;
} s_kinds_t;

#define S_FIELD(fname, num, flabel, ftype, quant, member)                 \
    { fname, num, flabel, ftype, quant, offsetof(s_kinds_t, member),     \
      NULL, NULL, 0, 0, NULL, NULL }

static const ProtobufCFieldDescriptor s_kinds_fields[] = {
    S_FIELD("i32", 1, PROTOBUF_C_LABEL_NONE, PROTOBUF_C_TYPE_INT32, 0, i32),
    S_FIELD("s32", 2, PROTOBUF_C_LABEL_NONE, PROTOBUF_C_TYPE_SINT32, 0, s32),
    S_FIELD("sf32", 3, PROTOBUF_C_LABEL_NONE, PROTOBUF_C_TYPE_SFIXED32, 0, sf32),
    S_FIELD("i64", 4, PROTOBUF_C_LABEL_NONE, PROTOBUF_C_TYPE_INT64, 0, i64),
    S_FIELD("s64", 5, PROTOBUF_C_LABEL_NONE, PROTOBUF_C_TYPE_SINT64, 0, s64),
    S_FIELD("sf64", 6, PROTOBUF_C_LABEL_NONE, PROTOBUF_C_TYPE_SFIXED64, 0, sf64),
    S_FIELD("u32", 7, PROTOBUF_C_LABEL_NONE, PROTOBUF_C_TYPE_UINT32, 0, u32),
    S_FIELD("f32", 8, PROTOBUF_C_LABEL_NONE, PROTOBUF_C_TYPE_FIXED32, 0, f32),
    S_FIELD("u64", 9, PROTOBUF_C_LABEL_NONE, PROTOBUF_C_TYPE_UINT64, 0, u64),
    S_FIELD("f64", 10, PROTOBUF_C_LABEL_NONE, PROTOBUF_C_TYPE_FIXED64, 0, f64),
    S_FIELD("fl", 11, PROTOBUF_C_LABEL_NONE, PROTOBUF_C_TYPE_FLOAT, 0, fl),
    S_FIELD("db", 12, PROTOBUF_C_LABEL_NONE, PROTOBUF_C_TYPE_DOUBLE, 0, db),
    S_FIELD("flag", 13, PROTOBUF_C_LABEL_REQUIRED, PROTOBUF_C_TYPE_BOOL, 0, flag),
    S_FIELD("opt", 14, PROTOBUF_C_LABEL_OPTIONAL, PROTOBUF_C_TYPE_INT32,
            offsetof(s_kinds_t, has_opt), opt),
    S_FIELD("opt_text", 15, PROTOBUF_C_LABEL_OPTIONAL, PROTOBUF_C_TYPE_STRING, 0, opt_text),
    S_FIELD("reals", 16, PROTOBUF_C_LABEL_REPEATED, PROTOBUF_C_TYPE_DOUBLE,
            offsetof(s_kinds_t, n_reals), reals),
    S_FIELD("flags", 17, PROTOBUF_C_LABEL_REPEATED, PROTOBUF_C_TYPE_BOOL,
            offsetof(s_kinds_t, n_flags), flags),
    S_FIELD("blobs", 18, PROTOBUF_C_LABEL_REPEATED, PROTOBUF_C_TYPE_BYTES,
            offsetof(s_kinds_t, n_blobs), blobs),
};

static void s_kinds_init(ProtobufCMessage *message);

static const ProtobufCMessageDescriptor s_kinds_descriptor = {
    PROTOBUF_C__MESSAGE_DESCRIPTOR_MAGIC, "test.Kinds", "Kinds", "Kinds", "test",
    sizeof(s_kinds_t), sizeof s_kinds_fields / sizeof s_kinds_fields[0], s_kinds_fields,
    NULL, 0, NULL, s_kinds_init, NULL, NULL, NULL
};

static void
s_kinds_init(ProtobufCMessage *message)
{
    memset(message, 0, sizeof(s_kinds_t));
    message->descriptor = &s_kinds_descriptor;
}

static s_kinds_t
s_kinds(void)
{
    s_kinds_t kinds;
    s_kinds_init(&kinds.base);
    return kinds;
}

FL_TEST(pbjson_writes_every_scalar_kind)
{
    s_kinds_t k = s_kinds();
    k.i32 = -5;
    k.s32 = -6;
    k.sf32 = INT32_MIN;
    k.i64 = INT64_MIN;
    k.s64 = -2;
    k.sf64 = INT64_MAX;
    k.u32 = UINT32_MAX;
    k.f32 = 8;
    k.u64 = 9007199254740993ULL;
    k.f64 = 1;
    k.fl = 1.5f;
    k.db = -0.25;
    k.flag = 1;
    s_check_json(&k.base,
        "{\"i32\":-5,\"s32\":-6,\"sf32\":-2147483648,\"i64\":-9223372036854775808,"
        "\"s64\":-2,\"sf64\":9223372036854775807,\"u32\":4294967295,\"f32\":8,"
        "\"u64\":9007199254740993,\"f64\":1,\"fl\":1.5,\"db\":-0.25,\"flag\":true,"
        "\"reals\":[],\"flags\":[],\"blobs\":[]}");
}

FL_TEST(pbjson_writes_uint64_above_int64_max_as_decimal_string)
{
    s_kinds_t k = s_kinds();
    k.u64 = UINT64_MAX;
    k.f64 = (uint64_t) INT64_MAX + 1;
    char *text = s_json(&k.base);
    FL_CHECK(strstr(text, "\"u64\":\"18446744073709551615\"") != NULL);
    FL_CHECK(strstr(text, "\"f64\":\"9223372036854775808\"") != NULL);
    free(text);
}

FL_TEST(pbjson_writes_nan_and_infinities_as_strings)
{
    s_kinds_t k = s_kinds();
    double reals[] = { NAN, INFINITY, -INFINITY, 0.5 };
    k.n_reals = 4;
    k.reals = reals;
    char *text = s_json(&k.base);
    FL_CHECK(strstr(text, "\"reals\":[\"NaN\",\"Infinity\",\"-Infinity\",0.5]") != NULL);
    free(text);
}

FL_TEST(pbjson_writes_repeated_bools_and_bytes)
{
    s_kinds_t k = s_kinds();
    protobuf_c_boolean flags[] = { 1, 0 };
    ProtobufCBinaryData blobs[] = { { 0, NULL }, { 3, (uint8_t *) "\x00\xff\x10" } };
    k.n_flags = 2;
    k.flags = flags;
    k.n_blobs = 2;
    k.blobs = blobs;
    char *text = s_json(&k.base);
    FL_CHECK(strstr(text, "\"flags\":[true,false],\"blobs\":[\"\",\"AP8Q\"]") != NULL);
    free(text);
}

FL_TEST(pbjson_leaves_out_optional_fields_without_presence)
{
    s_kinds_t k = s_kinds();
    k.opt = 7;
    char *text = s_json(&k.base);
    FL_CHECK(strstr(text, "\"opt\"") == NULL);
    FL_CHECK(strstr(text, "\"opt_text\"") == NULL);
    free(text);
}

FL_TEST(pbjson_writes_optional_fields_with_presence)
{
    s_kinds_t k = s_kinds();
    k.has_opt = 1;
    k.opt = 0;
    k.opt_text = "here";
    char *text = s_json(&k.base);
    FL_CHECK(strstr(text, "\"opt\":0,\"opt_text\":\"here\"") != NULL);
    free(text);
}

/*  ---------------------------------------------------------------------
 *  Messages of flow.proto and control.proto
 */

FL_TEST(pbjson_writes_defaults_of_proto3_scalars)
{
    Flow__PingReply pong = FLOW__PING_REPLY__INIT;
    s_check_json(&pong.base,
        "{\"node_id\":\"\",\"actor\":\"ACTOR_UNSPECIFIED\",\"partition\":0,\"ring_epoch\":0}");
}

FL_TEST(pbjson_writes_enums_by_name)
{
    Flow__PingReply pong = FLOW__PING_REPLY__INIT;
    pong.node_id = "n1";
    pong.actor = FLOW__ACTOR__ACTOR_GEO;
    pong.partition = 1023;
    pong.ring_epoch = UINT64_C(1) << 40;
    s_check_json(&pong.base,
        "{\"node_id\":\"n1\",\"actor\":\"ACTOR_GEO\",\"partition\":1023,"
        "\"ring_epoch\":1099511627776}");
}

FL_TEST(pbjson_writes_an_unknown_enum_value_as_its_number)
{
    Flow__Reply reply = FLOW__REPLY__INIT;
    reply.id = 3;
    reply.status = (Flow__Status) 42;
    s_check_json(&reply.base, "{\"id\":3,\"status\":42,\"message\":\"\",\"retry_after_ms\":0}");
}

FL_TEST(pbjson_writes_only_the_set_oneof_member)
{
    Flow__PingReply pong = FLOW__PING_REPLY__INIT;
    pong.node_id = "n1";
    Flow__Reply reply = FLOW__REPLY__INIT;
    reply.id = 9;
    reply.status = FLOW__STATUS__NOT_FOUND;
    reply.message = "no such event";
    reply.body_case = FLOW__REPLY__BODY_PING;
    reply.ping = &pong;
    s_check_json(&reply.base,
        "{\"id\":9,\"status\":\"NOT_FOUND\",\"message\":\"no such event\",\"retry_after_ms\":0,"
        "\"ping\":{\"node_id\":\"n1\",\"actor\":\"ACTOR_UNSPECIFIED\",\"partition\":0,"
        "\"ring_epoch\":0}}");
}

FL_TEST(pbjson_leaves_out_an_unset_oneof)
{
    Flow__Request req = FLOW__REQUEST__INIT;
    req.version = 1;
    req.id = 2;
    s_check_json(&req.base, "{\"version\":1,\"id\":2,\"timeout_ms\":0,\"token\":\"\","
                            "\"request_key\":\"\"}");
}

FL_TEST(pbjson_writes_an_empty_message_as_an_empty_object)
{
    Flow__InfoRequest info = FLOW__INFO_REQUEST__INIT;
    s_check_json(&info.base, "{}");
}

FL_TEST(pbjson_writes_bytes_as_padded_base64)
{
    Flow__PingRequest ping = FLOW__PING_REQUEST__INIT;
    ping.key.data = (uint8_t *) "ab\xff";
    ping.key.len = 3;
    s_check_json(&ping.base, "{\"actor\":\"ACTOR_UNSPECIFIED\",\"key\":\"YWL/\"}");
    ping.key.len = 1;
    s_check_json(&ping.base, "{\"actor\":\"ACTOR_UNSPECIFIED\",\"key\":\"YQ==\"}");
}

FL_TEST(pbjson_writes_repeated_strings_and_enums)
{
    char *topics[] = { "node", "event:42" };
    Flow__SubscribeReply sub = FLOW__SUBSCRIBE_REPLY__INIT;
    sub.n_topics = 2;
    sub.topics = topics;
    s_check_json(&sub.base, "{\"topics\":[\"node\",\"event:42\"]}");

    Flow__Actor actors[] = { FLOW__ACTOR__ACTOR_SESSION, FLOW__ACTOR__ACTOR_NOTIFY };
    Flow__InfoReply info = FLOW__INFO_REPLY__INIT;
    info.n_actors = 2;
    info.actors = actors;
    char *text = s_json(&info.base);
    FL_CHECK(strstr(text, "\"actors\":[\"ACTOR_SESSION\",\"ACTOR_NOTIFY\"]") != NULL);
    free(text);
}

FL_TEST(pbjson_writes_an_empty_repeated_field_as_an_empty_array)
{
    Flow__SubscribeReply sub = FLOW__SUBSCRIBE_REPLY__INIT;
    s_check_json(&sub.base, "{\"topics\":[]}");
}

FL_TEST(pbjson_writes_repeated_nested_messages)
{
    Flow__Control__ActorStatus session = FLOW__CONTROL__ACTOR_STATUS__INIT;
    session.actor = FLOW__ACTOR__ACTOR_SESSION;
    session.handled = 12;
    Flow__Control__ActorStatus event = FLOW__CONTROL__ACTOR_STATUS__INIT;
    event.actor = FLOW__ACTOR__ACTOR_EVENT;
    event.queue_depth = 2;
    event.commits = 4;
    Flow__Control__ActorStatus *actors[] = { &session, &event };
    Flow__Control__StatusReply status = FLOW__CONTROL__STATUS_REPLY__INIT;
    status.n_actors = 2;
    status.actors = actors;
    char *text = s_json(&status.base);
    FL_CHECK(strstr(text,
        "\"actors\":[{\"actor\":\"ACTOR_SESSION\",\"queue_depth\":0,\"handled\":12,\"commits\":0},"
        "{\"actor\":\"ACTOR_EVENT\",\"queue_depth\":2,\"handled\":0,\"commits\":4}],"
        "\"requests\":[],\"connections\":0}") != NULL);
    free(text);
}

FL_TEST(pbjson_writes_the_oneof_member_named_node_status)
{
    Flow__Control__MetricsReply metrics = FLOW__CONTROL__METRICS_REPLY__INIT;
    metrics.text = "up 1\n";
    Flow__Control__ControlReply reply = FLOW__CONTROL__CONTROL_REPLY__INIT;
    reply.version = 1;
    reply.id = 5;
    reply.body_case = FLOW__CONTROL__CONTROL_REPLY__BODY_METRICS;
    reply.metrics = &metrics;
    s_check_json(&reply.base,
        "{\"version\":1,\"id\":5,\"status\":\"OK\",\"message\":\"\","
        "\"metrics\":{\"text\":\"up 1\\n\"}}");
}

FL_TEST(pbjson_writes_a_message_decoded_from_the_wire)
{
    Flow__NodeNotice notice = FLOW__NODE_NOTICE__INIT;
    notice.state = FLOW__NODE_NOTICE__STATE__DRAINING;
    notice.message = "bye \"all\"";
    Flow__Push push = FLOW__PUSH__INIT;
    push.topic = "node";
    push.seq = 3;
    push.body_case = FLOW__PUSH__BODY_NODE;
    push.node = &notice;
    Flow__ServerMessage msg = FLOW__SERVER_MESSAGE__INIT;
    msg.version = 1;
    msg.kind_case = FLOW__SERVER_MESSAGE__KIND_PUSH;
    msg.push = &push;
    uint8_t wire[128];
    size_t size = flow__server_message__pack(&msg, wire);
    Flow__ServerMessage *decoded = flow__server_message__unpack(NULL, size, wire);
    FL_CHECK(decoded != NULL);
    s_check_json(&decoded->base,
        "{\"version\":1,\"push\":{\"topic\":\"node\",\"seq\":3,"
        "\"node\":{\"state\":\"DRAINING\",\"message\":\"bye \\\"all\\\"\"}}}");
    flow__server_message__free_unpacked(decoded, NULL);
}

FL_TEST(pbjson_refuses_a_string_that_is_not_utf8)
{
    Flow__PingReply pong = FLOW__PING_REPLY__INIT;
    pong.node_id = "bad \xff";
    FL_CHECK(fl_pbjson_from_message(&pong.base) == NULL);
}

FL_TEST(pbjson_refuses_a_bad_string_in_a_nested_message)
{
    char *topics[] = { "ok", "\xc3" };
    Flow__SubscribeReply sub = FLOW__SUBSCRIBE_REPLY__INIT;
    sub.n_topics = 2;
    sub.topics = topics;
    Flow__Reply reply = FLOW__REPLY__INIT;
    reply.body_case = FLOW__REPLY__BODY_SUBSCRIBE;
    reply.subscribe = &sub;
    FL_CHECK(fl_pbjson_from_message(&reply.base) == NULL);
}

FL_TEST(pbjson_returns_null_for_no_message)
{
    FL_CHECK(fl_pbjson_from_message(NULL) == NULL);
}

/*  ---------------------------------------------------------------------
 *  JSON to message
 */

/*  Parses TEXT as a DESC message; FL_CHECKs that it succeeds.  */
static ProtobufCMessage *
s_parse(const ProtobufCMessageDescriptor *desc, const char *text)
{
    json_t *json = json_loads(text, 0, NULL);
    FL_CHECK(json != NULL);
    ProtobufCMessage *message = NULL;
    char error[256] = "";
    int rc = fl_pbjson_to_message(desc, json, &message, error, sizeof error);
    json_decref(json);
    FL_CHECK_STR(error, "");
    FL_CHECK_INT(rc, ==, 0);
    FL_CHECK(message != NULL);
    return message;
}

/*  Parses TEXT as a DESC message; FL_CHECKs that it is refused with
 *  REASON.  */
static void
s_check_refused(const ProtobufCMessageDescriptor *desc, const char *text, const char *reason)
{
    json_t *json = json_loads(text, 0, NULL);
    FL_CHECK(json != NULL);
    ProtobufCMessage *message = (ProtobufCMessage *) &message;
    char error[256] = "";
    int rc = fl_pbjson_to_message(desc, json, &message, error, sizeof error);
    json_decref(json);
    FL_CHECK_INT(rc, ==, -1);
    FL_CHECK(message == NULL);
    FL_CHECK_STR(error, reason);
}

/*  JSON -> message -> JSON gives TEXT back.  */
static void
s_check_round_trip(const ProtobufCMessageDescriptor *desc, const char *text)
{
    ProtobufCMessage *message = s_parse(desc, text);
    s_check_json(message, text);
    protobuf_c_message_free_unpacked(message, NULL);
}

FL_TEST(pbjson_round_trips_every_field_kind)
{
    s_check_round_trip(&s_kinds_descriptor,
        "{\"i32\":-5,\"s32\":-6,\"sf32\":-2147483648,\"i64\":-9223372036854775808,"
        "\"s64\":-2,\"sf64\":9223372036854775807,\"u32\":4294967295,\"f32\":8,"
        "\"u64\":\"18446744073709551615\",\"f64\":1,\"fl\":1.5,\"db\":-0.25,\"flag\":true,"
        "\"opt\":0,\"opt_text\":\"here\",\"reals\":[\"NaN\",\"-Infinity\",2.5],"
        "\"flags\":[false,true],\"blobs\":[\"AP8Q\",\"\"]}");
}

FL_TEST(pbjson_round_trips_a_request_with_a_oneof_and_bytes)
{
    s_check_round_trip(&flow__request__descriptor,
        "{\"version\":1,\"id\":7,\"timeout_ms\":250,\"token\":\"t\",\"request_key\":\"\","
        "\"ping\":{\"actor\":\"ACTOR_EVENT\",\"key\":\"YWL/\"}}");
}

FL_TEST(pbjson_round_trips_repeated_nested_messages)
{
    s_check_round_trip(&flow__control__status_reply__descriptor,
        "{\"node_id\":\"n1\",\"version\":\"0.1.0\",\"uptime_ms\":5,\"state\":\"serving\","
        "\"partitions\":1024,\"partitions_owned\":512,\"ring_epoch\":2,"
        "\"client_endpoint\":\"tcp://a:1\",\"control_endpoint\":\"tcp://a:2\","
        "\"actors\":[{\"actor\":\"ACTOR_USER\",\"queue_depth\":1,\"handled\":2,\"commits\":3}],"
        "\"requests\":[{\"type\":\"ping\",\"count\":4,\"errors\":0}],\"connections\":1}");
}

FL_TEST(pbjson_reads_other_proto3_json_spellings)
{
    ProtobufCMessage *message = s_parse(&flow__request__descriptor,
        "{\"id\":\"18446744073709551615\",\"timeout_ms\":\"30\",\"token\":null,"
        "\"ping\":{\"actor\":3,\"key\":\"YWL_\"}}");
    Flow__Request *req = (Flow__Request *) message;
    FL_CHECK(req->id == UINT64_MAX);
    FL_CHECK_INT(req->timeout_ms, ==, 30);
    FL_CHECK_STR(req->token, "");
    FL_CHECK_INT(req->body_case, ==, FLOW__REQUEST__BODY_PING);
    FL_CHECK_INT(req->ping->actor, ==, FLOW__ACTOR__ACTOR_EVENT);
    FL_CHECK_INT(req->ping->key.len, ==, 3);
    FL_CHECK(memcmp(req->ping->key.data, "ab\xff", 3) == 0);
    protobuf_c_message_free_unpacked(message, NULL);
}

FL_TEST(pbjson_reads_an_empty_object_as_all_defaults)
{
    ProtobufCMessage *message = s_parse(&flow__reply__descriptor, "{}");
    Flow__Reply *reply = (Flow__Reply *) message;
    FL_CHECK(reply->id == 0);
    FL_CHECK_INT(reply->status, ==, FLOW__STATUS__OK);
    FL_CHECK_STR(reply->message, "");
    FL_CHECK_INT(reply->body_case, ==, FLOW__REPLY__BODY__NOT_SET);
    protobuf_c_message_free_unpacked(message, NULL);
}

FL_TEST(pbjson_refuses_an_unknown_field)
{
    s_check_refused(&flow__request__descriptor, "{\"ping\":{\"nope\":1}}",
                    "ping.nope: no such field");
}

FL_TEST(pbjson_refuses_a_value_of_the_wrong_type)
{
    s_check_refused(&flow__request__descriptor, "{\"id\":\"x\"}",
                    "id: wants an unsigned 64-bit integer");
    s_check_refused(&flow__request__descriptor, "{\"id\":1.5}",
                    "id: wants an unsigned 64-bit integer");
    s_check_refused(&flow__request__descriptor, "{\"token\":5}",
                    "token: wants a string without NUL characters");
    s_check_refused(&flow__request__descriptor, "{\"ping\":[]}", "ping: wants an object");
    s_check_refused(&s_kinds_descriptor, "{\"flag\":1}", "flag: wants true or false");
}

FL_TEST(pbjson_refuses_an_integer_out_of_range)
{
    s_check_refused(&flow__ping_reply__descriptor, "{\"partition\":4294967296}",
                    "partition: wants an unsigned 32-bit integer");
    s_check_refused(&flow__ping_reply__descriptor, "{\"ring_epoch\":-1}",
                    "ring_epoch: wants an unsigned 64-bit integer");
    s_check_refused(&flow__ping_reply__descriptor, "{\"ring_epoch\":\"18446744073709551616\"}",
                    "ring_epoch: wants an unsigned 64-bit integer");
    s_check_refused(&s_kinds_descriptor, "{\"i32\":2147483648}",
                    "i32: wants a 32-bit integer");
    s_check_refused(&s_kinds_descriptor, "{\"fl\":1e300}",
                    "fl: wants a number within float range");
}

FL_TEST(pbjson_refuses_two_members_of_one_oneof)
{
    s_check_refused(&flow__request__descriptor, "{\"ping\":{},\"info\":{}}",
                    "info: a second member of the same oneof");
}

FL_TEST(pbjson_refuses_bad_base64)
{
    s_check_refused(&flow__request__descriptor, "{\"ping\":{\"key\":\"Y!==\"}}",
                    "ping.key: wants a base64 string");
}

FL_TEST(pbjson_refuses_an_unknown_enum_name)
{
    s_check_refused(&flow__ping_request__descriptor, "{\"actor\":\"ACTOR_NOPE\"}",
                    "actor: wants a known enum name or a number");
}

FL_TEST(pbjson_refuses_a_json_value_that_is_not_an_object)
{
    s_check_refused(&flow__request__descriptor, "[1]", "message: wants an object");
}

FL_TEST(pbjson_names_the_bad_element_of_a_repeated_field)
{
    s_check_refused(&flow__control__status_reply__descriptor,
                    "{\"actors\":[{\"handled\":1},{\"handled\":\"many\"}]}",
                    "actors[1].handled: wants an unsigned 64-bit integer");
}

FL_TEST(pbjson_refuses_a_string_with_a_nul_character)
{
    json_t *json = json_pack("{s:s%}", "token", "a\0b", (size_t) 3);
    FL_CHECK(json != NULL);
    ProtobufCMessage *message = NULL;
    char error[256] = "";
    FL_CHECK_INT(fl_pbjson_to_message(&flow__request__descriptor, json, &message,
                                      error, sizeof error), ==, -1);
    json_decref(json);
    FL_CHECK(message == NULL);
    FL_CHECK_STR(error, "token: wants a string without NUL characters");
}
