/*  node/requests.c — the request table (see requests.h) and the handlers
 *  that belong to no one actor: ping and info, which describe the node.
 */
#include "node/requests.h"
#include "actors/event/event.h"
#include "actors/geo/geo.h"
#include "actors/session/session.h"
#include "actors/user/user.h"
#include "node/node.h"

#include <stdio.h>

#define PING_KEY_MAX 1024

static const char *const s_actor_names[FL_ACTOR_COUNT] = {
    "session", "user", "event", "geo", "recommend", "notify",
};

const char *
fl_actor_name(Flow__Actor actor)
{
    if (actor < FLOW__ACTOR__ACTOR_SESSION || actor > FLOW__ACTOR__ACTOR_NOTIFY)
        return "unknown";
    return s_actor_names[actor - 1];
}

const char *const *
fl_actor_names(void)
{
    return s_actor_names;
}

static Flow__Status
s_check_ping(const Flow__Request *req, const char *user_id, fl_route_t *route, char *msg,
             size_t msglen)
{
    (void) user_id;
    const Flow__PingRequest *ping = req->ping;
    if (ping->actor == FLOW__ACTOR__ACTOR_UNSPECIFIED) {
        route->actor = FLOW__ACTOR__ACTOR_SESSION;
        return FLOW__STATUS__OK;
    }
    if (ping->actor < FLOW__ACTOR__ACTOR_SESSION || ping->actor > FLOW__ACTOR__ACTOR_NOTIFY) {
        snprintf(msg, msglen, "ping.actor: unknown actor %d", (int) ping->actor);
        return FLOW__STATUS__INVALID_ARGUMENT;
    }
    if (ping->key.len > PING_KEY_MAX) {
        snprintf(msg, msglen, "ping.key: longer than %d bytes", PING_KEY_MAX);
        return FLOW__STATUS__INVALID_ARGUMENT;
    }
    route->actor = ping->actor;
    route->key = ping->key.data;
    route->key_len = ping->key.len;
    return FLOW__STATUS__OK;
}

static int
s_handle_ping(fl_call_t *call)
{
    const fl_node_t *node = call->node;
    Flow__PingReply *pong = fl_call_alloc(call, sizeof *pong);
    flow__ping_reply__init(pong);
    pong->node_id = (char *) node->node_id;
    pong->actor = call->actor;
    pong->partition = call->partition;
    pong->ring_epoch = fl_ring_epoch(fl_node_ring(node));
    call->reply.body_case = FLOW__REPLY__BODY_PING;
    call->reply.ping = pong;
    return 0;
}

static Flow__Status
s_check_local(const Flow__Request *req, const char *user_id, fl_route_t *route, char *msg,
              size_t msglen)
{
    (void) req;
    (void) user_id;
    (void) msg;
    (void) msglen;
    route->actor = FLOW__ACTOR__ACTOR_SESSION;
    return FLOW__STATUS__OK;
}

static int
s_handle_info(fl_call_t *call)
{
    const fl_node_t *node = call->node;
    Flow__InfoReply *info = fl_call_alloc(call, sizeof *info);
    flow__info_reply__init(info);
    info->node_id = (char *) node->node_id;
    info->version = FLOW_VERSION;
    info->protocol_version = FL_PROTOCOL_VERSION;
    info->uptime_ms = (uint64_t) (zclock_usecs() - node->started_us) / 1000;
    info->partitions = fl_ring_partitions(fl_node_ring(node));
    info->partitions_owned = fl_ring_owned(fl_node_ring(node));
    info->ring_epoch = fl_ring_epoch(fl_node_ring(node));
    info->max_request_bytes = (uint32_t) node->config->request_max_bytes;
    info->n_actors = FL_ACTOR_COUNT;
    info->actors = fl_call_alloc(call, FL_ACTOR_COUNT * sizeof *info->actors);
    for (size_t i = 0; i < FL_ACTOR_COUNT; i++)
        info->actors[i] = (Flow__Actor) (FLOW__ACTOR__ACTOR_SESSION + i);
    call->reply.body_case = FLOW__REPLY__BODY_INFO;
    call->reply.info = info;
    return 0;
}

static const fl_request_def_t s_requests[] = {
    /* body, name, role, idempotent, access, rate, check, handler, resume */
    { FLOW__REQUEST__BODY_PING, "ping", FL_ROLE_ANONYMOUS, true, FL_ACCESS_NONE,
      FL_RATE_NONE, s_check_ping, s_handle_ping, NULL },
    { FLOW__REQUEST__BODY_INFO, "info", FL_ROLE_ANONYMOUS, true, FL_ACCESS_NONE,
      FL_RATE_NONE, s_check_local, s_handle_info, NULL },
    { FLOW__REQUEST__BODY_SUBSCRIBE, "subscribe", FL_ROLE_ANONYMOUS, true, FL_ACCESS_NONE,
      FL_RATE_REQUEST, fl_session_check_topics, fl_session_subscribe, NULL },
    { FLOW__REQUEST__BODY_UNSUBSCRIBE, "unsubscribe", FL_ROLE_ANONYMOUS, true, FL_ACCESS_NONE,
      FL_RATE_REQUEST, fl_session_check_topics, fl_session_unsubscribe, NULL },
    { FLOW__REQUEST__BODY_SIGN_UP, "sign_up", FL_ROLE_NONE, false, FL_ACCESS_READ,
      FL_RATE_AUTH, fl_user_check_sign_up, fl_user_sign_up, fl_user_sign_up_resume },
    { FLOW__REQUEST__BODY_LOGIN, "login", FL_ROLE_NONE, false, FL_ACCESS_READ,
      FL_RATE_AUTH, fl_user_check_login, fl_user_login, fl_user_login_resume },
    { FLOW__REQUEST__BODY_REFRESH, "refresh", FL_ROLE_NONE, false, FL_ACCESS_WRITE,
      FL_RATE_AUTH, fl_user_check_refresh, fl_user_refresh, NULL },
    { FLOW__REQUEST__BODY_LOGOUT, "logout", FL_ROLE_USER, false, FL_ACCESS_WRITE,
      FL_RATE_REQUEST, fl_user_check_self, fl_user_logout, NULL },
    { FLOW__REQUEST__BODY_CHANGE_PASSWORD, "change_password", FL_ROLE_USER, false,
      FL_ACCESS_READ, FL_RATE_AUTH, fl_user_check_change_password, fl_user_change_password,
      fl_user_change_password_resume },
    { FLOW__REQUEST__BODY_DELETE_ACCOUNT, "delete_account", FL_ROLE_USER, false, FL_ACCESS_READ,
      FL_RATE_AUTH, fl_user_check_self, fl_user_delete_account, fl_user_delete_account_resume },
    { FLOW__REQUEST__BODY_GET_PROFILE, "get_profile", FL_ROLE_USER, true, FL_ACCESS_READ,
      FL_RATE_REQUEST, fl_user_check_get_profile, fl_user_get_profile, NULL },
    { FLOW__REQUEST__BODY_UPDATE_PROFILE, "update_profile", FL_ROLE_USER, false, FL_ACCESS_WRITE,
      FL_RATE_REQUEST, fl_user_check_update_profile, fl_user_update_profile, NULL },
    { FLOW__REQUEST__BODY_SET_ROLE, "set_role", FL_ROLE_ADMIN, true, FL_ACCESS_WRITE,
      FL_RATE_REQUEST, fl_user_check_set_role, fl_user_set_role, NULL },
    { FLOW__REQUEST__BODY_GET_ACCOUNT, "get_account", FL_ROLE_ADMIN, true, FL_ACCESS_READ,
      FL_RATE_REQUEST, fl_user_check_get_account, fl_user_get_account, NULL },
    { FLOW__REQUEST__BODY_CREATE_EVENT, "create_event", FL_ROLE_USER, false, FL_ACCESS_WRITE,
      FL_RATE_REQUEST, fl_event_check_create, fl_event_create, NULL },
    { FLOW__REQUEST__BODY_UPDATE_EVENT, "update_event", FL_ROLE_USER, false, FL_ACCESS_WRITE,
      FL_RATE_REQUEST, fl_event_check_update, fl_event_update, NULL },
    { FLOW__REQUEST__BODY_CANCEL_EVENT, "cancel_event", FL_ROLE_USER, true, FL_ACCESS_WRITE,
      FL_RATE_REQUEST, fl_event_check_id, fl_event_cancel, NULL },
    { FLOW__REQUEST__BODY_GET_EVENT, "get_event", FL_ROLE_USER, true, FL_ACCESS_READ,
      FL_RATE_REQUEST, fl_event_check_id, fl_event_get, NULL },
    { FLOW__REQUEST__BODY_NEARBY, "nearby", FL_ROLE_USER, true, FL_ACCESS_NONE,
      FL_RATE_REQUEST, fl_geo_check_nearby, fl_geo_nearby, NULL },
    { FLOW__REQUEST__BODY_RSVP, "rsvp", FL_ROLE_USER, true, FL_ACCESS_WRITE,
      FL_RATE_REQUEST, fl_event_check_rsvp, fl_event_rsvp, fl_event_rsvp },
    { FLOW__REQUEST__BODY_INVITE, "invite", FL_ROLE_USER, true, FL_ACCESS_WRITE,
      FL_RATE_REQUEST, fl_event_check_invite, fl_event_invite, NULL },
    { FLOW__REQUEST__BODY_ATTENDEES, "attendees", FL_ROLE_USER, true, FL_ACCESS_READ,
      FL_RATE_REQUEST, fl_event_check_attendees, fl_event_attendees, NULL },
    { FLOW__REQUEST__BODY_UPSERT_EVENT, "upsert_event", FL_ROLE_ADMIN, true, FL_ACCESS_WRITE,
      FL_RATE_REQUEST, fl_event_check_upsert, fl_event_upsert, NULL },
    { FLOW__REQUEST__BODY_CHECK_IN, "check_in", FL_ROLE_USER, true, FL_ACCESS_WRITE,
      FL_RATE_REQUEST, fl_event_check_check_in, fl_event_check_in, NULL },
    { FLOW__REQUEST__BODY_RATE_ATTENDEE, "rate_attendee", FL_ROLE_USER, true, FL_ACCESS_WRITE,
      FL_RATE_REQUEST, fl_event_check_rate_attendee, fl_event_rate_attendee, NULL },
    { FLOW__REQUEST__BODY_REVIEW, "review", FL_ROLE_USER, true, FL_ACCESS_WRITE,
      FL_RATE_REQUEST, fl_event_check_review, fl_event_review, NULL },
    { FLOW__REQUEST__BODY_REVIEWS, "reviews", FL_ROLE_USER, true, FL_ACCESS_READ,
      FL_RATE_REQUEST, fl_event_check_reviews, fl_event_reviews, NULL },
    { FLOW__REQUEST__BODY_HISTORY, "history", FL_ROLE_USER, true, FL_ACCESS_READ,
      FL_RATE_REQUEST, fl_user_check_history, fl_user_history, NULL },
    { FLOW__REQUEST__BODY_RELATION_UPDATE, "relation_update", FL_ROLE_INTERNAL, true,
      FL_ACCESS_WRITE, FL_RATE_NONE, fl_user_check_relation_update, fl_user_relation_update,
      NULL },
    { FLOW__REQUEST__BODY_STANDING, "standing", FL_ROLE_INTERNAL, true, FL_ACCESS_READ,
      FL_RATE_NONE, fl_user_check_standing, fl_user_standing, NULL },
};

#define REQUESTS (sizeof s_requests / sizeof s_requests[0])

static const char *s_names[REQUESTS];

/*  Writes whose body or reply carries a password or tokens: their
 *  replies are not kept for a request key (node/applied.h), so they take
 *  none.  */
static const Flow__Request__BodyCase s_credentials[] = {
    FLOW__REQUEST__BODY_SIGN_UP, FLOW__REQUEST__BODY_LOGIN, FLOW__REQUEST__BODY_REFRESH,
    FLOW__REQUEST__BODY_CHANGE_PASSWORD, FLOW__REQUEST__BODY_DELETE_ACCOUNT,
};

bool
fl_requests_takes_key(const fl_request_def_t *def)
{
    for (size_t i = 0; i < sizeof s_credentials / sizeof s_credentials[0]; i++)
        if (def->body == s_credentials[i])
            return false;
    return def->role != FL_ROLE_INTERNAL && (def->access == FL_ACCESS_WRITE || def->resume);
}

const fl_request_def_t *
fl_requests_find(Flow__Request__BodyCase body)
{
    for (size_t i = 0; i < REQUESTS; i++)
        if (s_requests[i].body == body)
            return &s_requests[i];
    return NULL;
}

size_t
fl_requests_count(void)
{
    return REQUESTS;
}

const fl_request_def_t *
fl_requests_at(size_t index)
{
    return index < REQUESTS ? &s_requests[index] : NULL;
}

size_t
fl_requests_index(const fl_request_def_t *def)
{
    return (size_t) (def - s_requests);
}

const char *const *
fl_requests_names(void)
{
    for (size_t i = 0; i < REQUESTS; i++)
        s_names[i] = s_requests[i].name;
    return s_names;
}
