/*  The request table: well-formed rows, and each check's refusals.  */
#include "node/requests.h"
#include "tests/testlib.h"

FL_TEST(every_row_is_complete_and_unique)
{
    FL_CHECK(fl_requests_count() > 0);
    for (size_t i = 0; i < fl_requests_count(); i++) {
        const fl_request_def_t *def = fl_requests_at(i);
        FL_CHECK(def->name && *def->name);
        FL_CHECK(def->check != NULL);
        FL_CHECK(def->handler != NULL);
        FL_CHECK(fl_requests_find(def->body) == def);
        FL_CHECK_INT(fl_requests_index(def), ==, i);
        FL_CHECK_STR(fl_requests_names()[i], def->name);
        for (size_t j = i + 1; j < fl_requests_count(); j++)
            FL_CHECK(strcmp(def->name, fl_requests_at(j)->name) != 0);
    }
    FL_CHECK(fl_requests_at(fl_requests_count()) == NULL);
    FL_CHECK(fl_requests_find(FLOW__REQUEST__BODY__NOT_SET) == NULL);
}

FL_TEST(every_protocol_body_has_a_row)
{
    const ProtobufCMessageDescriptor *d = &flow__request__descriptor;
    for (unsigned f = 0; f < d->n_fields; f++)
        if (d->fields[f].flags & PROTOBUF_C_FIELD_FLAG_ONEOF)
            FL_CHECK(fl_requests_find((Flow__Request__BodyCase) d->fields[f].id) != NULL);
}

static Flow__Status
s_check_ping(Flow__Actor actor, size_t key_len, fl_route_t *route, char *msg)
{
    static uint8_t key[2048];
    Flow__PingRequest ping = FLOW__PING_REQUEST__INIT;
    ping.actor = actor;
    ping.key.data = key;
    ping.key.len = key_len;
    Flow__Request req = FLOW__REQUEST__INIT;
    req.body_case = FLOW__REQUEST__BODY_PING;
    req.ping = &ping;
    return fl_requests_find(FLOW__REQUEST__BODY_PING)->check(&req, NULL, route, msg, 256);
}

FL_TEST(ping_routes_to_the_named_actor)
{
    fl_route_t route = { 0 };
    char msg[256];
    FL_CHECK_INT(s_check_ping(FLOW__ACTOR__ACTOR_UNSPECIFIED, 0, &route, msg), ==, FLOW__STATUS__OK);
    FL_CHECK_INT(route.actor, ==, FLOW__ACTOR__ACTOR_SESSION);
    FL_CHECK_INT(s_check_ping(FLOW__ACTOR__ACTOR_EVENT, 10, &route, msg), ==, FLOW__STATUS__OK);
    FL_CHECK_INT(route.actor, ==, FLOW__ACTOR__ACTOR_EVENT);
    FL_CHECK_INT(route.key_len, ==, 10);
}

FL_TEST(ping_refuses_unknown_actor_and_long_key)
{
    fl_route_t route = { 0 };
    char msg[256];
    FL_CHECK_INT(s_check_ping((Flow__Actor) 42, 0, &route, msg), ==, FLOW__STATUS__INVALID_ARGUMENT);
    FL_CHECK(strstr(msg, "ping.actor") != NULL);
    FL_CHECK_INT(s_check_ping(FLOW__ACTOR__ACTOR_USER, 1025, &route, msg), ==,
                 FLOW__STATUS__INVALID_ARGUMENT);
    FL_CHECK(strstr(msg, "ping.key") != NULL);
}

static Flow__Status
s_check_topics(char **topics, size_t n, char *msg)
{
    Flow__SubscribeRequest sub = FLOW__SUBSCRIBE_REQUEST__INIT;
    sub.topics = topics;
    sub.n_topics = n;
    Flow__Request req = FLOW__REQUEST__INIT;
    req.body_case = FLOW__REQUEST__BODY_SUBSCRIBE;
    req.subscribe = &sub;
    fl_route_t route = { 0 };
    return fl_requests_find(FLOW__REQUEST__BODY_SUBSCRIBE)->check(&req, NULL, &route, msg, 256);
}

FL_TEST(subscribe_accepts_known_topics)
{
    char *topics[] = { "node" };
    char msg[256];
    FL_CHECK_INT(s_check_topics(topics, 1, msg), ==, FLOW__STATUS__OK);
}

FL_TEST(subscribe_refuses_bad_topics_by_index)
{
    char msg[256];
    char *unknown[] = { "node", "chat:1" };
    FL_CHECK_INT(s_check_topics(unknown, 2, msg), ==, FLOW__STATUS__INVALID_ARGUMENT);
    FL_CHECK(strstr(msg, "topics[1]: unknown topic \"chat\"") != NULL);
    char *bytes[] = { "no de" };
    FL_CHECK_INT(s_check_topics(bytes, 1, msg), ==, FLOW__STATUS__INVALID_ARGUMENT);
    FL_CHECK(strstr(msg, "0x20") != NULL);
    char *empty[] = { "" };
    FL_CHECK_INT(s_check_topics(empty, 1, msg), ==, FLOW__STATUS__INVALID_ARGUMENT);
    FL_CHECK_INT(s_check_topics(NULL, 0, msg), ==, FLOW__STATUS__INVALID_ARGUMENT);
    char *many[65];
    for (int i = 0; i < 65; i++)
        many[i] = "node";
    FL_CHECK_INT(s_check_topics(many, 65, msg), ==, FLOW__STATUS__INVALID_ARGUMENT);
}

FL_TEST(actor_names_cover_every_actor)
{
    FL_CHECK_STR(fl_actor_name(FLOW__ACTOR__ACTOR_SESSION), "session");
    FL_CHECK_STR(fl_actor_name(FLOW__ACTOR__ACTOR_NOTIFY), "notify");
    FL_CHECK_STR(fl_actor_name(FLOW__ACTOR__ACTOR_UNSPECIFIED), "unknown");
    FL_CHECK_STR(fl_actor_names()[FL_ACTOR_COUNT - 1], "notify");
}
