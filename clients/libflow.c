/*  clients/libflow.c — one client connection to one node; see libflow.h.
 *
 *  Invariants, and why:
 *
 *  - A reply belongs to the outstanding call only when its id is that
 *    call's (or 0, the node's answer to a frame it could not decode).  Ids
 *    increase per client and are never reused, so a late reply to a call
 *    that gave up can never be taken for the answer to a newer one.
 *  - Pushes are never lost by a call: whatever the socket delivers while
 *    a call waits is either its reply, a stale reply (dropped), a
 *    keepalive (dropped: the node's liveness probe, nobody's data) or a
 *    push (queued, bounded).
 *  - The link state comes from the socket monitor, not from guesses: a
 *    failed connect, a failed handshake or a disconnect marks the link
 *    lost, and a wait that sees it fails at once with UNAVAILABLE instead
 *    of running into its timeout.  Heartbeats turn a node that stopped
 *    answering (paused, or its host gone) into a disconnect.
 *  - A socket that lost its link or whose call timed out is replaced
 *    (linger 0) before anything else is sent.  A DEALER keeps unsent
 *    frames and reconnects on its own; replacing it means a request the
 *    caller was told had failed is not delivered later by surprise.
 *  - The node keeps subscriptions per connection; every replacement or
 *    reconnect of a subscribed connection schedules a resubscription.
 *  - A request is sent again after a refresh only when it was refused
 *    with "token: expired" and carried the session's own token: the node
 *    checks the token before it runs anything, so the request never ran.
 *    A request with a token of the caller's is never refreshed for, and
 *    sign_up, login and refresh never carry the session's token, so a
 *    refresh cannot recurse.
 */
#include "clients/libflow.h"

#include <assert.h>
#include <czmq.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdbool.h>
#include <string.h>

#define S_BACKOFF_FIRST_MS    100
#define S_BACKOFF_MAX_MS      1000
#define S_HEARTBEAT_IVL_MS    1000
#define S_HEARTBEAT_TIMEOUT_MS 5000
/*  Waits poll in slices this long so an interrupt that lands just before
 *  zmq_poll() is still noticed.  */
#define S_POLL_SLICE_MS       250

_Static_assert(FLOW_INTERNAL == (int) FLOW__STATUS__INTERNAL,
               "flow_status_t must mirror flow.Status");

struct _flow_t {
    char *endpoint;
    zsock_t *dealer;
    zsock_t *monitor;           /*  PAIR receiving the dealer's socket events  */
    unsigned sockets_made;      /*  names each monitor endpoint uniquely  */
    bool link_seen;             /*  the current socket completed a handshake  */
    bool link_lost;             /*  since then, a connect or the link failed  */
    uint64_t last_id;
    int timeout_ms;
    int retries;
    char *token;                /*  access token, or flow_set_token()'s  */
    char *refresh_token;
    flow_session_fn *on_session;
    void *on_session_arg;
    int retry_after_ms;         /*  of the last failure  */
    zlist_t *pushes;            /*  Flow__Push *, oldest first  */
    char **topics;
    size_t n_topics;
    bool resubscribe;
    char error[256];
};

/*  What libflow knows of each request, by body case: its name in
 *  messages, whether it may be sent again, and whether it goes without
 *  the session's token (it starts a session).  A request whose body is
 *  not here is sent once, with the token.  */
typedef struct {
    Flow__Request__BodyCase body;
    const char *name;
    bool idempotent;
    bool anonymous;
    bool keyed;                 /* sent with a request key: applied once, so retried */
} s_request_kind_t;

static const s_request_kind_t s_request_kinds[] = {
    { FLOW__REQUEST__BODY_PING, "ping", true, false, false },
    { FLOW__REQUEST__BODY_INFO, "info", true, false, false },
    { FLOW__REQUEST__BODY_SUBSCRIBE, "subscribe", true, false, false },
    { FLOW__REQUEST__BODY_UNSUBSCRIBE, "unsubscribe", true, false, false },
    { FLOW__REQUEST__BODY_SIGN_UP, "sign_up", false, true, false },
    { FLOW__REQUEST__BODY_LOGIN, "login", false, true, false },
    { FLOW__REQUEST__BODY_REFRESH, "refresh", false, true, false },
    { FLOW__REQUEST__BODY_LOGOUT, "logout", false, false, true },
    { FLOW__REQUEST__BODY_CHANGE_PASSWORD, "change_password", false, false, false },
    { FLOW__REQUEST__BODY_DELETE_ACCOUNT, "delete_account", false, false, false },
    { FLOW__REQUEST__BODY_GET_PROFILE, "get_profile", true, false, false },
    { FLOW__REQUEST__BODY_UPDATE_PROFILE, "update_profile", false, false, true },
    { FLOW__REQUEST__BODY_SET_ROLE, "set_role", false, false, true },
    { FLOW__REQUEST__BODY_GET_ACCOUNT, "get_account", true, false, false },
    /*  A second create would make a second event, a second update could
     *  undo a change made in between, so they carry a request key and the
     *  node applies them once; the others land in the same state however
     *  often they run (an RSVP names the state, not a step).  */
    { FLOW__REQUEST__BODY_CREATE_EVENT, "create_event", false, false, true },
    { FLOW__REQUEST__BODY_UPDATE_EVENT, "update_event", false, false, true },
    { FLOW__REQUEST__BODY_CANCEL_EVENT, "cancel_event", true, false, false },
    { FLOW__REQUEST__BODY_GET_EVENT, "get_event", true, false, false },
    { FLOW__REQUEST__BODY_NEARBY, "nearby", true, false, false },
    { FLOW__REQUEST__BODY_RSVP, "rsvp", true, false, false },
    { FLOW__REQUEST__BODY_INVITE, "invite", true, false, false },
    { FLOW__REQUEST__BODY_ATTENDEES, "attendees", true, false, false },
    { FLOW__REQUEST__BODY_UPSERT_EVENT, "upsert_event", true, false, false },
    { FLOW__REQUEST__BODY_CHECK_IN, "check_in", true, false, false },
    { FLOW__REQUEST__BODY_RATE_ATTENDEE, "rate_attendee", true, false, false },
    { FLOW__REQUEST__BODY_REVIEW, "review", true, false, false },
    { FLOW__REQUEST__BODY_REVIEWS, "reviews", true, false, false },
    { FLOW__REQUEST__BODY_HISTORY, "history", true, false, false },
};

static const s_request_kind_t s_request_other =
    { FLOW__REQUEST__BODY__NOT_SET, "request", false, false, false };

/*  The node's message for a session token past its lifetime; the only
 *  refusal libflow answers with a refresh.  */
#define S_TOKEN_EXPIRED "token: expired"

/*  How a message gives Reply.retry_after_ms; added unless the node's
 *  message already says it.  */
#define S_RETRY_AFTER "retry after"

/*  Random bytes of a request key libflow chooses (hex on the wire).  */
#define S_REQUEST_KEY_BYTES 16

static const s_request_kind_t *
s_request_kind(Flow__Request__BodyCase body)
{
    for (size_t i = 0; i < sizeof s_request_kinds / sizeof s_request_kinds[0]; i++) {
        if (s_request_kinds[i].body == body)
            return &s_request_kinds[i];
    }
    return &s_request_other;
}

static flow_status_t
s_fail(flow_t *self, flow_status_t status, const char *format, ...)
    __attribute__((format(printf, 3, 4)));

static flow_status_t
s_fail(flow_t *self, flow_status_t status, const char *format, ...)
{
    va_list args;
    va_start(args, format);
    vsnprintf(self->error, sizeof self->error, format, args);
    va_end(args);
    self->retry_after_ms = 0;
    return status;
}

const char *
flow_status_name(flow_status_t status)
{
    switch (status) {
#define FLOW_STATUS_NAME_(name, value) case FLOW_##name: return #name;
    FLOW_STATUS_MAP(FLOW_STATUS_NAME_)
#undef FLOW_STATUS_NAME_
    }
    return "UNKNOWN";
}

const char *
flow_error(flow_t *self)
{
    assert(self);
    return self->error;
}

int
flow_retry_after_ms(flow_t *self)
{
    assert(self);
    return self->retry_after_ms;
}

/*  ---------------------------------------------------------------------
 *  The socket and its monitor
 */

static void
s_close(flow_t *self)
{
    if (self->dealer)
        zmq_socket_monitor(zsock_resolve(self->dealer), NULL, 0);
    zsock_destroy(&self->dealer);
    zsock_destroy(&self->monitor);
    self->link_seen = false;
    self->link_lost = false;
}

static void
s_configure(zsock_t *dealer)
{
    zsock_set_linger(dealer, 0);
    zsock_set_maxmsgsize(dealer, FLOW_MAX_FRAME_BYTES);
    zsock_set_heartbeat_ivl(dealer, S_HEARTBEAT_IVL_MS);
    zsock_set_heartbeat_timeout(dealer, S_HEARTBEAT_TIMEOUT_MS);
}

static int
s_open(flow_t *self)
{
    char monitor_ep[96];
    snprintf(monitor_ep, sizeof monitor_ep, "inproc://flow-monitor-%p-%u",
             (void *) self, self->sockets_made++);
    self->dealer = zsock_new(ZMQ_DEALER);
    if (!self->dealer)
        return -1;
    s_configure(self->dealer);
    int events = ZMQ_EVENT_HANDSHAKE_SUCCEEDED | ZMQ_EVENT_DISCONNECTED
               | ZMQ_EVENT_CONNECT_RETRIED | ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL
               | ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL | ZMQ_EVENT_HANDSHAKE_FAILED_AUTH;
    if (zmq_socket_monitor(zsock_resolve(self->dealer), monitor_ep, events) != 0)
        return -1;
    self->monitor = zsock_new_pair(monitor_ep);
    if (!self->monitor)
        return -1;
    return zsock_connect(self->dealer, "%s", self->endpoint);
}

/*  A new socket replaces the current one; a subscribed connection will
 *  need its topics again.  */
static flow_status_t
s_reopen(flow_t *self)
{
    s_close(self);
    if (self->n_topics)
        self->resubscribe = true;
    if (s_open(self) != 0) {
        int err = errno;
        s_close(self);
        return s_fail(self, FLOW_UNAVAILABLE, "cannot open a socket to %s: %s",
                      self->endpoint, zmq_strerror(err));
    }
    return FLOW_OK;
}

static void
s_on_event(flow_t *self, uint16_t event)
{
    if (event == ZMQ_EVENT_HANDSHAKE_SUCCEEDED) {
        self->link_seen = true;
        self->link_lost = false;
        return;
    }
    if (event == ZMQ_EVENT_DISCONNECTED && self->n_topics)
        self->resubscribe = true;
    self->link_lost = true;
}

/*  Applies every socket event waiting in the monitor.  An event is two
 *  frames: 6 bytes (u16 event, u32 value), then the endpoint.  */
static void
s_drain_events(flow_t *self)
{
    zmq_msg_t frame;
    zmq_msg_init(&frame);
    void *monitor = zsock_resolve(self->monitor);
    bool first = true;
    while (zmq_msg_recv(&frame, monitor, ZMQ_DONTWAIT) >= 0) {
        if (first && zmq_msg_size(&frame) == 6) {
            uint16_t event;
            memcpy(&event, zmq_msg_data(&frame), sizeof event);
            s_on_event(self, event);
        }
        first = !zmq_msg_more(&frame);
    }
    zmq_msg_close(&frame);
}

static flow_status_t
s_link_failure(flow_t *self)
{
    const char *what = self->link_seen ? "lost the connection to" : "cannot connect to";
    s_reopen(self);
    return s_fail(self, FLOW_UNAVAILABLE, "%s the node at %s", what, self->endpoint);
}

/*  Makes sure the socket exists and, after a failure noticed while idle,
 *  is a fresh one.  */
static flow_status_t
s_ready(flow_t *self)
{
    if (!self->dealer)
        return s_reopen(self);
    s_drain_events(self);
    if (self->link_lost)
        return s_reopen(self);
    return FLOW_OK;
}

/*  ---------------------------------------------------------------------
 *  Frames
 */

static flow_status_t
s_send(flow_t *self, const void *bytes, size_t len)
{
    if (zmq_send(zsock_resolve(self->dealer), bytes, len, ZMQ_DONTWAIT) >= 0)
        return FLOW_OK;
    return s_fail(self, FLOW_UNAVAILABLE, "cannot send to %s: %s",
                  self->endpoint, zmq_strerror(errno));
}

static flow_status_t
s_read(flow_t *self, Flow__ServerMessage **msg_p)
{
    zmq_msg_t frame;
    zmq_msg_init(&frame);
    if (zmq_msg_recv(&frame, zsock_resolve(self->dealer), ZMQ_DONTWAIT) < 0) {
        zmq_msg_close(&frame);
        return s_fail(self, FLOW_UNAVAILABLE, "cannot receive from %s: %s",
                      self->endpoint, zmq_strerror(errno));
    }
    size_t size = zmq_msg_size(&frame);
    *msg_p = flow__server_message__unpack(NULL, size, zmq_msg_data(&frame));
    zmq_msg_close(&frame);
    if (!*msg_p)
        return s_fail(self, FLOW_INTERNAL,
                      "the node at %s sent a frame of %zu bytes that is not a "
                      "flow.ServerMessage", self->endpoint, size);
    return FLOW_OK;
}

static int
s_poll_ms(int64_t deadline)
{
    if (deadline < 0)
        return S_POLL_SLICE_MS;
    int64_t left = deadline - zclock_mono();
    if (left < 0)
        return 0;
    return left < S_POLL_SLICE_MS ? (int) left : S_POLL_SLICE_MS;
}

/*  The next frame from the node, until DEADLINE (a zclock_mono() time;
 *  below 0: none).  Frames that arrived before the link failed are still
 *  read first.  DEADLINE_EXCEEDED comes without a message: the caller
 *  knows what it waited for.  */
static flow_status_t
s_wait(flow_t *self, int64_t deadline, Flow__ServerMessage **msg_p)
{
    *msg_p = NULL;
    for (;;) {
        if (zsys_interrupted)
            return s_fail(self, FLOW_UNAVAILABLE, "interrupted");
        s_drain_events(self);
        if (zsock_events(self->dealer) & ZMQ_POLLIN)
            return s_read(self, msg_p);
        if (self->link_lost)
            return s_link_failure(self);
        if (deadline >= 0 && zclock_mono() >= deadline)
            return FLOW_DEADLINE_EXCEEDED;
        zmq_pollitem_t items[] = {
            { zsock_resolve(self->dealer), 0, ZMQ_POLLIN, 0 },
            { zsock_resolve(self->monitor), 0, ZMQ_POLLIN, 0 },
        };
        if (zmq_poll(items, 2, s_poll_ms(deadline)) < 0 && errno != EINTR)
            return s_fail(self, FLOW_UNAVAILABLE, "poll: %s", zmq_strerror(errno));
    }
}

/*  ---------------------------------------------------------------------
 *  Pushes
 */

static void
s_free_push(Flow__Push **push_p)
{
    if (*push_p)
        flow__push__free_unpacked(*push_p, NULL);
    *push_p = NULL;
}

/*  Takes MSG's push out of MSG (each sub-message is its own allocation)
 *  and frees the envelope.  */
static Flow__Push *
s_take_push(Flow__ServerMessage **msg_p)
{
    Flow__ServerMessage *msg = *msg_p;
    Flow__Push *push = msg->push;
    msg->kind_case = FLOW__SERVER_MESSAGE__KIND__NOT_SET;
    msg->push = NULL;
    flow__server_message__free_unpacked(msg, NULL);
    *msg_p = NULL;
    return push;
}

static Flow__Reply *
s_take_reply(Flow__ServerMessage **msg_p)
{
    Flow__ServerMessage *msg = *msg_p;
    Flow__Reply *reply = msg->reply;
    msg->kind_case = FLOW__SERVER_MESSAGE__KIND__NOT_SET;
    msg->reply = NULL;
    flow__server_message__free_unpacked(msg, NULL);
    *msg_p = NULL;
    return reply;
}

/*  A keepalive only tells the node the connection still reads; it is
 *  never the caller's.  */
static bool
s_is_keepalive(const Flow__ServerMessage *msg)
{
    return msg->kind_case == FLOW__SERVER_MESSAGE__KIND_PUSH
        && msg->push->body_case == FLOW__PUSH__BODY_KEEPALIVE;
}

static void
s_queue_push(flow_t *self, Flow__Push *push)
{
    if (zlist_size(self->pushes) >= FLOW_PUSH_QUEUE_MAX) {
        Flow__Push *oldest = zlist_pop(self->pushes);
        s_free_push(&oldest);
    }
    zlist_append(self->pushes, push);
}

/*  ---------------------------------------------------------------------
 *  Calls
 */

/*  Waits for the reply to call ID, queueing pushes and dropping stale
 *  replies and messages of kinds a newer node may send.  */
static flow_status_t
s_await_reply(flow_t *self, uint64_t id, int64_t deadline, Flow__Reply **reply_p)
{
    for (;;) {
        Flow__ServerMessage *msg = NULL;
        flow_status_t status = s_wait(self, deadline, &msg);
        if (status != FLOW_OK)
            return status;
        if (msg->kind_case == FLOW__SERVER_MESSAGE__KIND_PUSH && !s_is_keepalive(msg)) {
            s_queue_push(self, s_take_push(&msg));
            continue;
        }
        bool ours = msg->kind_case == FLOW__SERVER_MESSAGE__KIND_REPLY
                 && (msg->reply->id == id || msg->reply->id == 0);
        if (ours) {
            *reply_p = s_take_reply(&msg);
            return FLOW_OK;
        }
        flow__server_message__free_unpacked(msg, NULL);
    }
}

static flow_status_t
s_reply_status(flow_t *self, const Flow__Reply *reply)
{
    int status = (int) reply->status;
    if (status < FLOW_OK || status > FLOW_INTERNAL)
        return s_fail(self, FLOW_INTERNAL, "the node replied with unknown status %d: %s",
                      status, reply->message);
    if (status == FLOW_OK)
        return FLOW_OK;
    const char *message = reply->message[0] ? reply->message
                                            : flow_status_name((flow_status_t) status);
    bool advice = status == FLOW_RESOURCE_EXHAUSTED && reply->retry_after_ms > 0;
    if (!advice)
        return s_fail(self, (flow_status_t) status, "%s", message);
    if (strstr(message, S_RETRY_AFTER))
        s_fail(self, (flow_status_t) status, "%s", message);
    else
        s_fail(self, (flow_status_t) status, "%s (" S_RETRY_AFTER " %" PRIu32 " ms)", message,
               reply->retry_after_ms);
    self->retry_after_ms = reply->retry_after_ms > INT_MAX ? INT_MAX : (int) reply->retry_after_ms;
    return (flow_status_t) status;
}

static flow_status_t
s_send_request(flow_t *self, Flow__Request *req)
{
    size_t size = flow__request__get_packed_size(req);
    uint8_t *bytes = malloc(size ? size : 1);
    if (!bytes)
        return s_fail(self, FLOW_INTERNAL, "out of memory packing a request");
    flow__request__pack(req, bytes);
    flow_status_t status = s_send(self, bytes, size);
    free(bytes);
    return status;
}

/*  One attempt: send REQ under a new id, wait for its reply until
 *  DEADLINE.  A timeout replaces the socket.  */
static flow_status_t
s_attempt(flow_t *self, Flow__Request *req, int64_t deadline, Flow__Reply **reply_p)
{
    flow_status_t status = s_ready(self);
    if (status != FLOW_OK)
        return status;
    int64_t left = deadline - zclock_mono();
    req->version = FLOW_PROTOCOL_VERSION;
    req->id = ++self->last_id;
    req->timeout_ms = left > 0 ? (uint32_t) left : 1;
    status = s_send_request(self, req);
    if (status != FLOW_OK)
        return status;
    status = s_await_reply(self, req->id, deadline, reply_p);
    if (status == FLOW_DEADLINE_EXCEEDED)
        s_reopen(self);
    if (status != FLOW_OK)
        return status;
    return s_reply_status(self, *reply_p);
}

static bool
s_retryable(flow_status_t status)
{
    return (status == FLOW_UNAVAILABLE || status == FLOW_DEADLINE_EXCEEDED)
        && !zsys_interrupted;
}

/*  Sleeps the backoff, never past DEADLINE.  Returns false when no time
 *  is left for another attempt.  */
static bool
s_backoff(int64_t deadline, int *backoff_ms)
{
    int64_t left = deadline - zclock_mono();
    if (left <= *backoff_ms)
        return false;
    zclock_sleep(*backoff_ms);
    *backoff_ms = *backoff_ms * 2 < S_BACKOFF_MAX_MS ? *backoff_ms * 2 : S_BACKOFF_MAX_MS;
    return !zsys_interrupted;
}

static void
s_explain_timeout(flow_t *self, const s_request_kind_t *kind, int budget_ms, int attempts)
{
    if (attempts > 1)
        s_fail(self, FLOW_DEADLINE_EXCEEDED, "no reply to %s from %s within %d ms (%d attempts)",
               kind->name, self->endpoint, budget_ms, attempts);
    else
        s_fail(self, FLOW_DEADLINE_EXCEEDED, "no reply to %s from %s within %d ms",
               kind->name, self->endpoint, budget_ms);
}

/*  Sends REQ, whose token is chosen, until it is answered, retrying an
 *  idempotent request, all within BUDGET_MS from now.  */
static flow_status_t
s_exchange(flow_t *self, Flow__Request *req, int budget_ms, Flow__Reply **reply_p)
{
    const s_request_kind_t *kind = s_request_kind(req->body_case);
    int64_t deadline = zclock_mono() + budget_ms;
    /*  A write sent again with the same key is applied once: one key for
     *  all the attempts of this call, the caller's if it chose one.  */
    char key[2 * S_REQUEST_KEY_BYTES + 1];
    char *own_key = req->request_key;
    bool keyed = kind->keyed || (own_key && own_key[0]);
    if (kind->keyed && !(own_key && own_key[0])) {
        uint8_t random[S_REQUEST_KEY_BYTES];
        randombytes_buf(random, sizeof random);
        sodium_bin2hex(key, sizeof key, random, sizeof random);
        req->request_key = key;
    }
    int attempts = 1 + (kind->idempotent || keyed ? self->retries : 0);
    int backoff_ms = S_BACKOFF_FIRST_MS;
    for (int attempt = 1;; attempt++) {
        Flow__Reply *reply = NULL;
        int64_t now = zclock_mono();
        int64_t attempt_deadline = now + (deadline - now) / (attempts - attempt + 1);
        flow_status_t status = s_attempt(self, req, attempt_deadline, &reply);
        bool again = s_retryable(status) && attempt < attempts && s_backoff(deadline, &backoff_ms);
        if (!again) {
            if (status == FLOW_DEADLINE_EXCEEDED && !reply)
                s_explain_timeout(self, kind, budget_ms, attempt);
            req->request_key = own_key;
            *reply_p = reply;
            return status;
        }
        if (reply)
            flow__reply__free_unpacked(reply, NULL);
    }
}

static void
s_free_reply(Flow__Reply **reply_p)
{
    if (*reply_p)
        flow__reply__free_unpacked(*reply_p, NULL);
    *reply_p = NULL;
}

static void
s_forget_session(flow_t *self)
{
    free(self->token);
    free(self->refresh_token);
    self->token = NULL;
    self->refresh_token = NULL;
}

/*  Keeps SESSION's tokens and tells the application.  */
static flow_status_t
s_take_session(flow_t *self, const Flow__SessionReply *session)
{
    if (flow_set_session(self, session->access_token, session->refresh_token) != FLOW_OK)
        return FLOW_INTERNAL;
    if (self->on_session)
        self->on_session(self, session, self->on_session_arg);
    return FLOW_OK;
}

/*  Runs REQ, a sign_up, login or refresh, and keeps the session of an OK
 *  reply, which must have one.  */
static flow_status_t
s_session_exchange(flow_t *self, Flow__Request *req, int budget_ms, Flow__Reply **reply_p)
{
    flow_status_t status = s_exchange(self, req, budget_ms, reply_p);
    if (status != FLOW_OK)
        return status;
    if ((*reply_p)->body_case != FLOW__REPLY__BODY_SESSION) {
        s_free_reply(reply_p);
        return s_fail(self, FLOW_INTERNAL, "the node answered %s without its reply body",
                      s_request_kind(req->body_case)->name);
    }
    status = s_take_session(self, (*reply_p)->session);
    if (status != FLOW_OK)
        s_free_reply(reply_p);
    return status;
}

static flow_status_t
s_refresh(flow_t *self, const char *refresh_token, int budget_ms, Flow__Reply **reply_p)
{
    Flow__RefreshRequest refresh = FLOW__REFRESH_REQUEST__INIT;
    refresh.refresh_token = (char *) refresh_token;
    Flow__Request req = FLOW__REQUEST__INIT;
    req.body_case = FLOW__REQUEST__BODY_REFRESH;
    req.refresh = &refresh;
    return s_session_exchange(self, &req, budget_ms, reply_p);
}

static bool
s_token_expired(const flow_t *self, flow_status_t status, const Flow__Reply *reply)
{
    return status == FLOW_UNAUTHENTICATED && reply && self->refresh_token
        && strcmp(reply->message, S_TOKEN_EXPIRED) == 0;
}

static int
s_time_left(flow_t *self, int64_t deadline, const char *what)
{
    int64_t left = deadline - zclock_mono();
    if (left >= 1)
        return (int) left;
    s_fail(self, FLOW_DEADLINE_EXCEEDED, "no time left to %s", what);
    return 0;
}

/*  The refresh and the second sending share what is left until
 *  DEADLINE; neither is sent without time for an answer.  The refresh is
 *  made from a copy: taking the new session frees the token the refresh
 *  request would point at.  */
static flow_status_t
s_refresh_and_resend(flow_t *self, Flow__Request *req, int64_t deadline, Flow__Reply **reply_p)
{
    int left_ms = s_time_left(self, deadline, "refresh the expired session");
    if (!left_ms)
        return FLOW_DEADLINE_EXCEEDED;
    char *refresh_token = strdup(self->refresh_token);
    if (!refresh_token)
        return s_fail(self, FLOW_INTERNAL, "out of memory refreshing the session");
    flow_status_t status = s_refresh(self, refresh_token, left_ms, reply_p);
    free(refresh_token);
    if (status != FLOW_OK)
        return status;
    s_free_reply(reply_p);
    left_ms = s_time_left(self, deadline, "send the request again after the refresh");
    if (!left_ms)
        return FLOW_DEADLINE_EXCEEDED;
    req->token = self->token;
    return s_exchange(self, req, left_ms, reply_p);
}

flow_status_t
flow_call(flow_t *self, Flow__Request *req, Flow__Reply **reply_p, int timeout_ms)
{
    assert(self);
    assert(req);
    if (reply_p)
        *reply_p = NULL;
    int budget_ms = timeout_ms > 0 ? timeout_ms : self->timeout_ms;
    int64_t deadline = zclock_mono() + budget_ms;
    char *own_token = req->token;
    bool with_session = !s_request_kind(req->body_case)->anonymous
                     && (!own_token || !own_token[0]) && self->token;
    if (with_session)
        req->token = self->token;
    Flow__Reply *reply = NULL;
    flow_status_t status = s_exchange(self, req, budget_ms, &reply);
    if (with_session && s_token_expired(self, status, reply)) {
        s_free_reply(&reply);
        status = s_refresh_and_resend(self, req, deadline, &reply);
    }
    req->token = own_token;
    if (reply_p)
        *reply_p = reply;
    else
        s_free_reply(&reply);
    return status;
}

/*  ---------------------------------------------------------------------
 *  Typed calls
 */

/*  Runs REQ; on OK checks that the reply has body BODY.  */
static flow_status_t
s_typed_call(flow_t *self, Flow__Request *req, Flow__Reply__BodyCase body,
             Flow__Reply **reply_p)
{
    flow_status_t status = flow_call(self, req, reply_p, 0);
    if (status != FLOW_OK)
        return status;
    if ((*reply_p)->body_case == body)
        return FLOW_OK;
    flow__reply__free_unpacked(*reply_p, NULL);
    *reply_p = NULL;
    return s_fail(self, FLOW_INTERNAL, "the node answered %s without its reply body",
                  s_request_kind(req->body_case)->name);
}

flow_status_t
flow_ping(flow_t *self, Flow__Actor actor, const void *key, size_t key_len,
          flow_pong_t *out)
{
    assert(self);
    assert(out);
    assert(key || key_len == 0);
    Flow__PingRequest ping = FLOW__PING_REQUEST__INIT;
    ping.actor = actor;
    ping.key.data = (uint8_t *) key;
    ping.key.len = key_len;
    Flow__Request req = FLOW__REQUEST__INIT;
    req.body_case = FLOW__REQUEST__BODY_PING;
    req.ping = &ping;
    Flow__Reply *reply = NULL;
    flow_status_t status = s_typed_call(self, &req, FLOW__REPLY__BODY_PING, &reply);
    if (status != FLOW_OK) {
        if (reply)
            flow__reply__free_unpacked(reply, NULL);
        return status;
    }
    snprintf(out->node_id, sizeof out->node_id, "%s", reply->ping->node_id);
    out->actor = reply->ping->actor;
    out->partition = reply->ping->partition;
    out->ring_epoch = reply->ping->ring_epoch;
    flow__reply__free_unpacked(reply, NULL);
    return FLOW_OK;
}

flow_status_t
flow_info(flow_t *self, Flow__InfoReply **info_p)
{
    assert(self);
    assert(info_p);
    *info_p = NULL;
    Flow__InfoRequest info = FLOW__INFO_REQUEST__INIT;
    Flow__Request req = FLOW__REQUEST__INIT;
    req.body_case = FLOW__REQUEST__BODY_INFO;
    req.info = &info;
    Flow__Reply *reply = NULL;
    flow_status_t status = s_typed_call(self, &req, FLOW__REPLY__BODY_INFO, &reply);
    if (status != FLOW_OK) {
        if (reply)
            flow__reply__free_unpacked(reply, NULL);
        return status;
    }
    *info_p = reply->info;
    reply->body_case = FLOW__REPLY__BODY__NOT_SET;
    reply->info = NULL;
    flow__reply__free_unpacked(reply, NULL);
    return FLOW_OK;
}

/*  ---------------------------------------------------------------------
 *  Accounts
 */

/*  Runs REQ, which starts a session, and hands its SessionReply out.  */
static flow_status_t
s_session_call(flow_t *self, Flow__Request *req, Flow__SessionReply **out)
{
    *out = NULL;
    Flow__Reply *reply = NULL;
    flow_status_t status = s_session_exchange(self, req, self->timeout_ms, &reply);
    if (status == FLOW_OK) {
        *out = reply->session;
        reply->body_case = FLOW__REPLY__BODY__NOT_SET;
        reply->session = NULL;
    }
    s_free_reply(&reply);
    return status;
}

/*  Runs REQ and hands out the Profile of its reply.  */
static flow_status_t
s_profile_call(flow_t *self, Flow__Request *req, Flow__Profile **out)
{
    *out = NULL;
    Flow__Reply *reply = NULL;
    flow_status_t status = s_typed_call(self, req, FLOW__REPLY__BODY_PROFILE, &reply);
    if (status == FLOW_OK) {
        *out = reply->profile;
        reply->body_case = FLOW__REPLY__BODY__NOT_SET;
        reply->profile = NULL;
    }
    s_free_reply(&reply);
    return status;
}

flow_status_t
flow_sign_up(flow_t *self, const char *email, const char *password,
             const char *display_name, Flow__SessionReply **out)
{
    assert(self);
    assert(email && password && display_name);
    assert(out);
    Flow__SignUpRequest sign_up = FLOW__SIGN_UP_REQUEST__INIT;
    sign_up.email = (char *) email;
    sign_up.password = (char *) password;
    sign_up.display_name = (char *) display_name;
    Flow__Request req = FLOW__REQUEST__INIT;
    req.body_case = FLOW__REQUEST__BODY_SIGN_UP;
    req.sign_up = &sign_up;
    return s_session_call(self, &req, out);
}

flow_status_t
flow_login(flow_t *self, const char *email, const char *password, Flow__SessionReply **out)
{
    assert(self);
    assert(email && password);
    assert(out);
    Flow__LoginRequest login = FLOW__LOGIN_REQUEST__INIT;
    login.email = (char *) email;
    login.password = (char *) password;
    Flow__Request req = FLOW__REQUEST__INIT;
    req.body_case = FLOW__REQUEST__BODY_LOGIN;
    req.login = &login;
    return s_session_call(self, &req, out);
}

/*  A copy of the token is sent: taking the new session frees the one
 *  libflow holds.  */
flow_status_t
flow_refresh(flow_t *self, const char *refresh_token, Flow__SessionReply **out)
{
    assert(self);
    assert(out);
    *out = NULL;
    const char *token = refresh_token ? refresh_token : self->refresh_token;
    if (!token || !token[0])
        return s_fail(self, FLOW_INVALID_ARGUMENT, "no refresh token to trade for a session");
    char *copy = strdup(token);
    if (!copy)
        return s_fail(self, FLOW_INTERNAL, "out of memory refreshing the session");
    Flow__RefreshRequest refresh = FLOW__REFRESH_REQUEST__INIT;
    refresh.refresh_token = copy;
    Flow__Request req = FLOW__REQUEST__INIT;
    req.body_case = FLOW__REQUEST__BODY_REFRESH;
    req.refresh = &refresh;
    flow_status_t status = s_session_call(self, &req, out);
    free(copy);
    return status;
}

flow_status_t
flow_logout(flow_t *self)
{
    assert(self);
    Flow__LogoutRequest logout = FLOW__LOGOUT_REQUEST__INIT;
    Flow__Request req = FLOW__REQUEST__INIT;
    req.body_case = FLOW__REQUEST__BODY_LOGOUT;
    req.logout = &logout;
    flow_status_t status = flow_call(self, &req, NULL, 0);
    if (status == FLOW_OK)
        s_forget_session(self);
    return status;
}

flow_status_t
flow_change_password(flow_t *self, const char *old_password, const char *new_password)
{
    assert(self);
    assert(old_password && new_password);
    Flow__ChangePasswordRequest change = FLOW__CHANGE_PASSWORD_REQUEST__INIT;
    change.old_password = (char *) old_password;
    change.new_password = (char *) new_password;
    Flow__Request req = FLOW__REQUEST__INIT;
    req.body_case = FLOW__REQUEST__BODY_CHANGE_PASSWORD;
    req.change_password = &change;
    return flow_call(self, &req, NULL, 0);
}

flow_status_t
flow_delete_account(flow_t *self, const char *password)
{
    assert(self);
    assert(password);
    Flow__DeleteAccountRequest deletion = FLOW__DELETE_ACCOUNT_REQUEST__INIT;
    deletion.password = (char *) password;
    Flow__Request req = FLOW__REQUEST__INIT;
    req.body_case = FLOW__REQUEST__BODY_DELETE_ACCOUNT;
    req.delete_account = &deletion;
    flow_status_t status = flow_call(self, &req, NULL, 0);
    if (status == FLOW_OK)
        s_forget_session(self);
    return status;
}

flow_status_t
flow_get_profile(flow_t *self, const char *user, Flow__Profile **out)
{
    assert(self);
    assert(out);
    Flow__GetProfileRequest get = FLOW__GET_PROFILE_REQUEST__INIT;
    if (user)
        get.user = (char *) user;
    Flow__Request req = FLOW__REQUEST__INIT;
    req.body_case = FLOW__REQUEST__BODY_GET_PROFILE;
    req.get_profile = &get;
    return s_profile_call(self, &req, out);
}

flow_status_t
flow_update_profile(flow_t *self, const Flow__UpdateProfileRequest *changes,
                    Flow__Profile **out)
{
    assert(self);
    assert(changes);
    assert(out);
    Flow__Request req = FLOW__REQUEST__INIT;
    req.body_case = FLOW__REQUEST__BODY_UPDATE_PROFILE;
    req.update_profile = (Flow__UpdateProfileRequest *) changes;
    return s_profile_call(self, &req, out);
}

/*  ---------------------------------------------------------------------
 *  Events
 */

/*  Runs REQ and hands out the body of its reply, which must be BODY (a
 *  message field of the reply's oneof), as *OUT; NULL unless FLOW_OK.
 *  The body is found through the descriptor, so every typed call that
 *  returns a reply body shares this.  */
static flow_status_t
s_event_call(flow_t *self, Flow__Request *req, Flow__Reply__BodyCase body,
             ProtobufCMessage **out)
{
    *out = NULL;
    const ProtobufCFieldDescriptor *field =
        protobuf_c_message_descriptor_get_field(&flow__reply__descriptor, (unsigned) body);
    assert(field && field->type == PROTOBUF_C_TYPE_MESSAGE);
    Flow__Reply *reply = NULL;
    flow_status_t status = s_typed_call(self, req, body, &reply);
    if (status == FLOW_OK) {
        ProtobufCMessage **slot = (ProtobufCMessage **) ((char *) reply + field->offset);
        *out = *slot;
        *slot = NULL;
        reply->body_case = FLOW__REPLY__BODY__NOT_SET;
    }
    s_free_reply(&reply);
    return status;
}

flow_status_t
flow_event_create(flow_t *self, const Flow__EventDraft *draft, Flow__Event **out)
{
    assert(self);
    assert(draft);
    assert(out);
    Flow__CreateEventRequest create = FLOW__CREATE_EVENT_REQUEST__INIT;
    create.event = (Flow__EventDraft *) draft;
    Flow__Request req = FLOW__REQUEST__INIT;
    req.body_case = FLOW__REQUEST__BODY_CREATE_EVENT;
    req.create_event = &create;
    return s_event_call(self, &req, FLOW__REPLY__BODY_EVENT, (ProtobufCMessage **) out);
}

flow_status_t
flow_event_update(flow_t *self, const char *id, const Flow__EventDraft *changes,
                  const char *const *fields, size_t n_fields, uint64_t if_version,
                  Flow__Event **out)
{
    assert(self);
    assert(id && changes);
    assert(fields || n_fields == 0);
    assert(out);
    Flow__UpdateEventRequest update = FLOW__UPDATE_EVENT_REQUEST__INIT;
    update.id = (char *) id;
    update.event = (Flow__EventDraft *) changes;
    update.fields = (char **) fields;
    update.n_fields = n_fields;
    update.if_version = if_version;
    Flow__Request req = FLOW__REQUEST__INIT;
    req.body_case = FLOW__REQUEST__BODY_UPDATE_EVENT;
    req.update_event = &update;
    return s_event_call(self, &req, FLOW__REPLY__BODY_EVENT, (ProtobufCMessage **) out);
}

flow_status_t
flow_event_cancel(flow_t *self, const char *id, Flow__Event **out)
{
    assert(self);
    assert(id);
    assert(out);
    Flow__CancelEventRequest cancel = FLOW__CANCEL_EVENT_REQUEST__INIT;
    cancel.id = (char *) id;
    Flow__Request req = FLOW__REQUEST__INIT;
    req.body_case = FLOW__REQUEST__BODY_CANCEL_EVENT;
    req.cancel_event = &cancel;
    return s_event_call(self, &req, FLOW__REPLY__BODY_EVENT, (ProtobufCMessage **) out);
}

flow_status_t
flow_event_get(flow_t *self, const char *id, Flow__Event **out)
{
    assert(self);
    assert(id);
    assert(out);
    Flow__GetEventRequest get = FLOW__GET_EVENT_REQUEST__INIT;
    get.id = (char *) id;
    Flow__Request req = FLOW__REQUEST__INIT;
    req.body_case = FLOW__REQUEST__BODY_GET_EVENT;
    req.get_event = &get;
    return s_event_call(self, &req, FLOW__REPLY__BODY_EVENT, (ProtobufCMessage **) out);
}

flow_status_t
flow_nearby(flow_t *self, const Flow__NearbyRequest *query, Flow__NearbyReply **out)
{
    assert(self);
    assert(query);
    assert(out);
    Flow__Request req = FLOW__REQUEST__INIT;
    req.body_case = FLOW__REQUEST__BODY_NEARBY;
    req.nearby = (Flow__NearbyRequest *) query;
    return s_event_call(self, &req, FLOW__REPLY__BODY_NEARBY, (ProtobufCMessage **) out);
}

flow_status_t
flow_rsvp(flow_t *self, const char *event_id, Flow__RsvpState state, Flow__RsvpReply **out)
{
    assert(self);
    assert(event_id);
    assert(out);
    Flow__RsvpRequest rsvp = FLOW__RSVP_REQUEST__INIT;
    rsvp.event_id = (char *) event_id;
    rsvp.state = state;
    Flow__Request req = FLOW__REQUEST__INIT;
    req.body_case = FLOW__REQUEST__BODY_RSVP;
    req.rsvp = &rsvp;
    return s_event_call(self, &req, FLOW__REPLY__BODY_RSVP, (ProtobufCMessage **) out);
}

flow_status_t
flow_invite(flow_t *self, const char *event_id, const char *const *user_ids, size_t n,
            Flow__Event **out)
{
    assert(self);
    assert(event_id);
    assert(user_ids || n == 0);
    assert(out);
    Flow__InviteRequest invite = FLOW__INVITE_REQUEST__INIT;
    invite.event_id = (char *) event_id;
    invite.user_ids = (char **) user_ids;
    invite.n_user_ids = n;
    Flow__Request req = FLOW__REQUEST__INIT;
    req.body_case = FLOW__REQUEST__BODY_INVITE;
    req.invite = &invite;
    return s_event_call(self, &req, FLOW__REPLY__BODY_EVENT, (ProtobufCMessage **) out);
}

flow_status_t
flow_attendees(flow_t *self, const char *event_id, Flow__RsvpState state, uint32_t limit,
               const char *cursor, Flow__AttendeesReply **out)
{
    assert(self);
    assert(event_id);
    assert(out);
    Flow__AttendeesRequest attendees = FLOW__ATTENDEES_REQUEST__INIT;
    attendees.event_id = (char *) event_id;
    attendees.state = state;
    attendees.limit = limit;
    if (cursor)
        attendees.cursor = (char *) cursor;
    Flow__Request req = FLOW__REQUEST__INIT;
    req.body_case = FLOW__REQUEST__BODY_ATTENDEES;
    req.attendees = &attendees;
    return s_event_call(self, &req, FLOW__REPLY__BODY_ATTENDEES, (ProtobufCMessage **) out);
}

flow_status_t
flow_check_in(flow_t *self, const char *event_id, const char *user_id, Flow__Event **out)
{
    assert(self && event_id && user_id && out);
    Flow__CheckInRequest body = FLOW__CHECK_IN_REQUEST__INIT;
    body.event_id = (char *) event_id;
    body.user_id = (char *) user_id;
    Flow__Request req = FLOW__REQUEST__INIT;
    req.body_case = FLOW__REQUEST__BODY_CHECK_IN;
    req.check_in = &body;
    return s_event_call(self, &req, FLOW__REPLY__BODY_EVENT, (ProtobufCMessage **) out);
}

flow_status_t
flow_rate_attendee(flow_t *self, const char *event_id, const char *user_id, uint32_t stars,
                   Flow__Event **out)
{
    assert(self && event_id && user_id && out);
    Flow__RateAttendeeRequest body = FLOW__RATE_ATTENDEE_REQUEST__INIT;
    body.event_id = (char *) event_id;
    body.user_id = (char *) user_id;
    body.stars = stars;
    Flow__Request req = FLOW__REQUEST__INIT;
    req.body_case = FLOW__REQUEST__BODY_RATE_ATTENDEE;
    req.rate_attendee = &body;
    return s_event_call(self, &req, FLOW__REPLY__BODY_EVENT, (ProtobufCMessage **) out);
}

flow_status_t
flow_review(flow_t *self, const char *event_id, uint32_t stars, const char *text,
            Flow__Review **out)
{
    assert(self && event_id && out);
    Flow__ReviewRequest body = FLOW__REVIEW_REQUEST__INIT;
    body.event_id = (char *) event_id;
    body.stars = stars;
    if (text)
        body.text = (char *) text;
    Flow__Request req = FLOW__REQUEST__INIT;
    req.body_case = FLOW__REQUEST__BODY_REVIEW;
    req.review = &body;
    return s_event_call(self, &req, FLOW__REPLY__BODY_REVIEW, (ProtobufCMessage **) out);
}

flow_status_t
flow_reviews(flow_t *self, const char *event_id, uint32_t limit, const char *cursor,
             Flow__ReviewsReply **out)
{
    assert(self && event_id && out);
    Flow__ReviewsRequest body = FLOW__REVIEWS_REQUEST__INIT;
    body.event_id = (char *) event_id;
    body.limit = limit;
    if (cursor)
        body.cursor = (char *) cursor;
    Flow__Request req = FLOW__REQUEST__INIT;
    req.body_case = FLOW__REQUEST__BODY_REVIEWS;
    req.reviews = &body;
    return s_event_call(self, &req, FLOW__REPLY__BODY_REVIEWS, (ProtobufCMessage **) out);
}

flow_status_t
flow_history(flow_t *self, uint32_t limit, const char *cursor, Flow__HistoryReply **out)
{
    assert(self && out);
    Flow__HistoryRequest body = FLOW__HISTORY_REQUEST__INIT;
    body.limit = limit;
    if (cursor)
        body.cursor = (char *) cursor;
    Flow__Request req = FLOW__REQUEST__INIT;
    req.body_case = FLOW__REQUEST__BODY_HISTORY;
    req.history = &body;
    return s_event_call(self, &req, FLOW__REPLY__BODY_HISTORY, (ProtobufCMessage **) out);
}

static void
s_clear_topics(flow_t *self)
{
    for (size_t i = 0; i < self->n_topics; i++)
        free(self->topics[i]);
    free(self->topics);
    self->topics = NULL;
    self->n_topics = 0;
}

/*  Keeps the node's list of this connection's topics.  */
static flow_status_t
s_store_topics(flow_t *self, const Flow__SubscribeReply *confirmed)
{
    s_clear_topics(self);
    if (confirmed->n_topics == 0)
        return FLOW_OK;
    self->topics = calloc(confirmed->n_topics, sizeof *self->topics);
    if (!self->topics)
        return s_fail(self, FLOW_INTERNAL, "out of memory keeping topics");
    for (size_t i = 0; i < confirmed->n_topics; i++) {
        self->topics[i] = strdup(confirmed->topics[i]);
        if (!self->topics[i]) {
            s_clear_topics(self);
            return s_fail(self, FLOW_INTERNAL, "out of memory keeping topics");
        }
        self->n_topics++;
    }
    return FLOW_OK;
}

/*  Subscribes or unsubscribes TOPICS (which may be self->topics: the
 *  request is packed before the list is replaced).  */
static flow_status_t
s_topics_call(flow_t *self, bool subscribe, const char *const *topics, size_t n)
{
    Flow__SubscribeRequest sub = FLOW__SUBSCRIBE_REQUEST__INIT;
    Flow__UnsubscribeRequest unsub = FLOW__UNSUBSCRIBE_REQUEST__INIT;
    Flow__Request req = FLOW__REQUEST__INIT;
    Flow__Reply__BodyCase body;
    if (subscribe) {
        sub.n_topics = n;
        sub.topics = (char **) topics;
        req.body_case = FLOW__REQUEST__BODY_SUBSCRIBE;
        req.subscribe = &sub;
        body = FLOW__REPLY__BODY_SUBSCRIBE;
    }
    else {
        unsub.n_topics = n;
        unsub.topics = (char **) topics;
        req.body_case = FLOW__REQUEST__BODY_UNSUBSCRIBE;
        req.unsubscribe = &unsub;
        body = FLOW__REPLY__BODY_UNSUBSCRIBE;
    }
    Flow__Reply *reply = NULL;
    flow_status_t status = s_typed_call(self, &req, body, &reply);
    if (status == FLOW_OK) {
        status = s_store_topics(self, subscribe ? reply->subscribe : reply->unsubscribe);
        self->resubscribe = false;
    }
    if (reply)
        flow__reply__free_unpacked(reply, NULL);
    return status;
}

static flow_status_t
s_resubscribe(flow_t *self)
{
    if (!self->resubscribe)
        return FLOW_OK;
    if (self->n_topics == 0) {
        self->resubscribe = false;
        return FLOW_OK;
    }
    return s_topics_call(self, true, (const char *const *) self->topics, self->n_topics);
}

flow_status_t
flow_subscribe(flow_t *self, const char *const *topics, size_t n)
{
    assert(self);
    assert(topics || n == 0);
    flow_status_t status = s_resubscribe(self);
    if (status != FLOW_OK)
        return status;
    return s_topics_call(self, true, topics, n);
}

flow_status_t
flow_unsubscribe(flow_t *self, const char *const *topics, size_t n)
{
    assert(self);
    assert(topics || n == 0);
    flow_status_t status = s_resubscribe(self);
    if (status != FLOW_OK)
        return status;
    return s_topics_call(self, false, topics, n);
}

const char *const *
flow_topics(flow_t *self, size_t *n_p)
{
    assert(self);
    assert(n_p);
    *n_p = self->n_topics;
    return (const char *const *) self->topics;
}

/*  ---------------------------------------------------------------------
 *  The push stream and raw frames
 */

static int64_t
s_wait_deadline(int timeout_ms)
{
    return timeout_ms < 0 ? -1 : zclock_mono() + timeout_ms;
}

/*  A link lost while nobody waited is still news to the push reader.  */
static flow_status_t
s_check_idle_link(flow_t *self)
{
    if (!self->dealer)
        return s_reopen(self);
    s_drain_events(self);
    if (self->link_lost)
        return s_link_failure(self);
    return FLOW_OK;
}

flow_status_t
flow_next_push(flow_t *self, Flow__Push **push_p, int timeout_ms)
{
    assert(self);
    assert(push_p);
    *push_p = zlist_pop(self->pushes);
    if (*push_p)
        return FLOW_OK;
    flow_status_t status = s_check_idle_link(self);
    if (status == FLOW_OK)
        status = s_resubscribe(self);
    if (status != FLOW_OK)
        return status;
    *push_p = zlist_pop(self->pushes);
    if (*push_p)
        return FLOW_OK;
    int64_t deadline = s_wait_deadline(timeout_ms);
    for (;;) {
        Flow__ServerMessage *msg = NULL;
        status = s_wait(self, deadline, &msg);
        if (status == FLOW_DEADLINE_EXCEEDED)
            return s_fail(self, status, "no push from %s within %d ms", self->endpoint, timeout_ms);
        if (status != FLOW_OK)
            return status;
        if (msg->kind_case == FLOW__SERVER_MESSAGE__KIND_PUSH && !s_is_keepalive(msg)) {
            *push_p = s_take_push(&msg);
            return FLOW_OK;
        }
        flow__server_message__free_unpacked(msg, NULL);
    }
}

flow_status_t
flow_send_raw(flow_t *self, const void *bytes, size_t len)
{
    assert(self);
    assert(bytes || len == 0);
    flow_status_t status = s_ready(self);
    if (status != FLOW_OK)
        return status;
    return s_send(self, bytes, len);
}

flow_status_t
flow_recv_raw(flow_t *self, Flow__ServerMessage **msg_p, int timeout_ms)
{
    assert(self);
    assert(msg_p);
    *msg_p = NULL;
    flow_status_t status = s_check_idle_link(self);
    if (status != FLOW_OK)
        return status;
    status = s_wait(self, s_wait_deadline(timeout_ms), msg_p);
    if (status == FLOW_DEADLINE_EXCEEDED)
        return s_fail(self, status, "no frame from %s within %d ms", self->endpoint, timeout_ms);
    return status;
}

/*  ---------------------------------------------------------------------
 *  Construction
 */

flow_t *
flow_new(const char *endpoint)
{
    flow_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->endpoint = strdup(endpoint ? endpoint : FLOW_DEFAULT_ENDPOINT);
    self->pushes = zlist_new();
    self->timeout_ms = FLOW_DEFAULT_TIMEOUT_MS;
    self->retries = FLOW_DEFAULT_RETRIES;
    if (!self->endpoint || !self->pushes || s_open(self) != 0) {
        flow_destroy(&self);
        return NULL;
    }
    return self;
}

void
flow_destroy(flow_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    flow_t *self = *self_p;
    s_close(self);
    Flow__Push *push;
    while (self->pushes && (push = zlist_pop(self->pushes)))
        s_free_push(&push);
    zlist_destroy(&self->pushes);
    s_clear_topics(self);
    s_forget_session(self);
    free(self->endpoint);
    free(self);
    *self_p = NULL;
}

void
flow_set_timeout(flow_t *self, int timeout_ms)
{
    assert(self);
    self->timeout_ms = timeout_ms > 0 ? timeout_ms : FLOW_DEFAULT_TIMEOUT_MS;
}

void
flow_set_retries(flow_t *self, int retries)
{
    assert(self);
    self->retries = retries > 0 ? retries : 0;
}

void
flow_set_token(flow_t *self, const char *token)
{
    assert(self);
    free(self->token);
    self->token = token ? strdup(token) : NULL;
}

const char *
flow_endpoint(flow_t *self)
{
    assert(self);
    return self->endpoint;
}

/*  Copies first, so either argument may be a token libflow holds.  */
flow_status_t
flow_set_session(flow_t *self, const char *access_token, const char *refresh_token)
{
    assert(self);
    char *access = access_token ? strdup(access_token) : NULL;
    char *refresh = refresh_token ? strdup(refresh_token) : NULL;
    s_forget_session(self);
    if ((access_token && !access) || (refresh_token && !refresh)) {
        free(access);
        free(refresh);
        return s_fail(self, FLOW_INTERNAL, "out of memory keeping the session");
    }
    self->token = access;
    self->refresh_token = refresh;
    return FLOW_OK;
}

void
flow_on_session(flow_t *self, flow_session_fn *fn, void *arg)
{
    assert(self);
    self->on_session = fn;
    self->on_session_arg = arg;
}
