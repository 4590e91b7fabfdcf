/*  actors/session/session.c — client connections, dispatch, subscriptions;
 *  see session.h.
 *
 *  Invariants:
 *   - every frame a client sends is answered exactly once: by the refusal
 *     of s_dispatch, by a local handler, by the owning actor's reply, or by
 *     the deadline sweep / shutdown when no reply came in time;
 *   - a request in flight to an actor sits in `pending` under the seq it
 *     was sent with; the first of {actor reply, deadline, $TERM} answers it
 *     and removes it, and a later reply for a seq no longer pending is
 *     dropped;
 *   - the client socket is ROUTER_MANDATORY, so a push or reply to a peer
 *     that is gone fails at once and the peer's subscriptions are dropped;
 *     sends never block (DONTWAIT): a peer that does not read loses pushes
 *     rather than stalling every other connection.
 */
#include "actors/session/session.h"
#include "actors/geo/geo.h"
#include "actors/geo/index.h"
#include "actors/session/ratelimit.h"
#include "actors/session/revoked.h"
#include "cluster/meta.h"
#include "cluster/peer.h"
#include "cluster.pb-c.h"
#include "node/actor.h"
#include "node/envelope.h"
#include "node/error.h"
#include "node/log.h"
#include "node/token.h"

#include <inttypes.h>

#define SWEEP_INTERVAL_MS 50
#define TOPICS_PER_CONNECTION 64
#define TOPIC_MAX 200
#define PEER_HEX_MAX 512                /* routing ids are at most 255 bytes */
#define SUBSCRIBERS_MAX 100000
#define KEEPALIVE_IDLE_US (60 * 1000000LL)
#define SEND_HWM 10000
#define REFUSAL_LOGS_PER_S 20
#define TOKEN_CACHE_SLOTS 4096
#define CLOSE_LINGER_MS 2000
#define DRAIN_MAX 256
#define PRUNE_EVERY_SWEEPS 200          /* 10 s */
#define RATE_KEYS_MAX 1000000
#define META_WAIT_MS 1000
#define RETRY_TIMER_MS 5
#define RETRY_FIRST_US 5000
#define RETRY_MAX_US 200000
#define OWNERS_MAX 64
#define FORWARDS_MAX 64                 /* requests in one batch to a member */
#define FORWARDS_BYTES 32768            /* and their bytes, well under the peer's frame limit */

typedef struct s_gather_t s_gather_t;

typedef struct {
    zframe_t *identity;         /* the client's; NULL for relays and parts of a search */
    uint64_t request_id;
    size_t type;                /* request table index, for metrics */
    Flow__Actor actor;
    int64_t started_us;
    int64_t deadline_us;
    zframe_t *request;          /* the packed ActorRequest, to route it again */
    uint32_t partition;
    int64_t retry_at_us;        /* > 0: waiting to be routed again */
    int64_t retry_wait_us;
    zframe_t *relay;            /* an actor's request: its identity on the route socket */
    uint64_t relay_seq;         /* and the seq it sent it with */
    s_gather_t *gather;         /* one part of a scattered search */
    char node[FL_NODE_ID_MAX];  /* the part's node */
} s_pending_t;

/*  A nearby search scattered to every node that owns events.  */
struct s_gather_t {
    zframe_t *identity;
    uint64_t request_id;
    size_t type;
    int64_t started_us;
    Flow__NearbyRequest *nearby;        /* the client's, for the merge */
    int64_t now_s;                      /* the clock every part scores with */
    size_t expected, answered;
    Flow__ServerMessage *parts[OWNERS_MAX];
    size_t nparts;
    char *missing[OWNERS_MAX];
    size_t nmissing;
    Flow__Status error;                 /* a part refused the search */
    char error_text[256];
};

/*  Another member's peer socket, and the requests routed there in this
 *  turn of the loop: they leave together, in one MACed message, when
 *  the turn ends (s_flush_remotes).  */
typedef struct {
    char node_id[FL_NODE_ID_MAX];
    zsock_t *sock;
    Flow__Cluster__Forward forwards[FORWARDS_MAX];
    zframe_t *requests[FORWARDS_MAX];   /* the packed ActorRequests they point into */
    size_t n, bytes;
} s_remote_t;

typedef struct {
    zframe_t *identity;
    char peer[PEER_HEX_MAX];
    zlistx_t *topics;           /* char *, owned */
    uint64_t push_seq;
    int64_t seen_us;            /* last request from it, or last keepalive */
} s_conn_t;

typedef struct {
    fl_node_t *node;
    zsock_t *pipe;
    zsock_t *client;
    zsock_t *actors[FL_ACTOR_COUNT];  /* DEALER per data actor; [0] unused */
    zsock_t *publications;            /* PULL: pushes actors publish */
    zsock_t *meta;                    /* DEALER to the metadata thread, made on first use */
    zhashx_t *remotes;                /* node id -> s_remote_t */
    zsock_t *route;                   /* ROUTER: actors' requests for other nodes */
    zlistx_t *retries;                /* seqs waiting to be routed again */
    zloop_t *loop;
    zhashx_t *pending;                /* seq -> s_pending_t */
    zhashx_t *conns;                  /* peer hex -> s_conn_t (with a subscription) */
    uint64_t next_seq;
    bool draining;
    bool drained_sent;
    fl_envelope_limits_t limits;
    fl_revoked_t *revoked;
    fl_token_cache_t *tokens;
    fl_ratelimit_t *auth_by_addr, *auth_by_key, *req_by_addr, *req_by_user;
    fl_ratelimit_t *refusal_logs;     /* refusals are logged at a bounded rate */
    uint64_t refusals_unlogged;
    uint64_t replies_dropped;         /* to connected clients that do not read */
    unsigned sweeps;
} self_t;

/*  A request on its way through s_dispatch.  */
typedef struct {
    zframe_t *identity;
    const char *address;              /* client IP, or "local" */
    Flow__Request *req;
    const fl_request_def_t *def;
    fl_claims_t claims;
    bool signed_in;
    int64_t started_us;
    uint32_t retry_after_ms;
    fl_route_t route;
} s_request_t;

/*  What a session handler sees through call->state.  */
typedef struct {
    self_t *self;
    zframe_t *identity;
} s_origin_t;

static void
s_peer_hex(zframe_t *identity, char *out)
{
    size_t n = zframe_size(identity);
    assert(n <= (PEER_HEX_MAX - 1) / 2);
    if (n > (PEER_HEX_MAX - 1) / 2)
        n = (PEER_HEX_MAX - 1) / 2;
    static const char hex[] = "0123456789abcdef";
    const byte *data = zframe_data(identity);
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = hex[data[i] >> 4];
        out[2 * i + 1] = hex[data[i] & 15];
    }
    out[2 * n] = '\0';
}

/*  ------------------------------------------------------------------
 *  Connections and subscriptions  */

static void
s_conn_destroy(void **item)
{
    s_conn_t *conn = *item;
    if (!conn)
        return;
    zframe_destroy(&conn->identity);
    zlistx_destroy(&conn->topics);
    free(conn);
    *item = NULL;
}

static void
s_conn_drop(self_t *self, const char *peer)
{
    zhashx_delete(self->conns, peer);
    fl_metrics_connections_set(self->node->metrics, zhashx_size(self->conns));
}

static s_conn_t *
s_conn_get(self_t *self, zframe_t *identity)
{
    char peer[PEER_HEX_MAX];
    s_peer_hex(identity, peer);
    s_conn_t *conn = zhashx_lookup(self->conns, peer);
    if (conn)
        return conn;
    if (zhashx_size(self->conns) >= SUBSCRIBERS_MAX)
        return NULL;
    conn = calloc(1, sizeof *conn);
    assert(conn);
    conn->seen_us = zclock_usecs();
    conn->identity = zframe_dup(identity);
    memcpy(conn->peer, peer, sizeof peer);
    conn->topics = zlistx_new();
    zlistx_set_destructor(conn->topics, (zlistx_destructor_fn *) zstr_free);
    zlistx_set_duplicator(conn->topics, (zlistx_duplicator_fn *) strdup);
    zlistx_set_comparator(conn->topics, (zlistx_comparator_fn *) strcmp);
    zhashx_insert(self->conns, peer, conn);
    fl_metrics_connections_set(self->node->metrics, zhashx_size(self->conns));
    return conn;
}

/*  Sends FRAME (taken) to IDENTITY without blocking.  Returns false only
 *  when the peer is gone (EHOSTUNREACH).  A peer that is connected but
 *  has SEND_HWM messages unread loses this one: the alternative, blocking,
 *  would stall every other connection behind one slow reader.  */
static bool
s_send_to(self_t *self, zframe_t *identity, zframe_t **frame_p)
{
    zframe_t *id = zframe_dup(identity);
    int rc = zframe_send(&id, self->client, ZFRAME_MORE | ZFRAME_DONTWAIT);
    if (rc == 0)
        rc = zframe_send(frame_p, self->client, ZFRAME_DONTWAIT);
    int err = rc ? zmq_errno() : 0;
    zframe_destroy(&id);
    zframe_destroy(frame_p);
    if (err == EHOSTUNREACH)
        return false;
    if (err) {
        if (self->replies_dropped++ % 1000 == 0)
            fl_warn("session", "client does not read; messages dropped", "dropped=%" PRIu64,
                    self->replies_dropped);
    }
    return true;
}

static void
s_push(self_t *self, s_conn_t *conn, const char *topic, Flow__Push *push)
{
    push->topic = (char *) topic;
    push->seq = ++conn->push_seq;
    zframe_t *frame = fl_envelope_pack_push(push);
    if (!frame || !s_send_to(self, conn->identity, &frame)) {
        fl_info("session", "connection gone; subscriptions dropped", "peer=%s", conn->peer);
        s_conn_drop(self, conn->peer);
    }
}

static void
s_push_node_notice(self_t *self, s_conn_t *conn, Flow__NodeNotice__State state,
                   const char *text)
{
    Flow__NodeNotice notice = FLOW__NODE_NOTICE__INIT;
    notice.state = state;
    notice.message = (char *) text;
    Flow__Push push = FLOW__PUSH__INIT;
    push.body_case = FLOW__PUSH__BODY_NODE;
    push.node = &notice;
    s_push(self, conn, "node", &push);
}

/*  The connections following TOPIC, collected first: a push to a peer
 *  that is gone drops it from `conns` while the caller walks the list. */
static zlistx_t *
s_followers(self_t *self, const char *topic)
{
    zlistx_t *targets = zlistx_new();
    for (s_conn_t *conn = zhashx_first(self->conns); conn; conn = zhashx_next(self->conns))
        if (zlistx_find(conn->topics, (void *) topic))
            zlistx_add_end(targets, conn);
    return targets;
}

/*  Pushes a node notice to every connection following topic "node".  */
static void
s_broadcast_node_notice(self_t *self, Flow__NodeNotice__State state, const char *text)
{
    zlistx_t *targets = s_followers(self, "node");
    for (s_conn_t *conn = zlistx_first(targets); conn; conn = zlistx_next(targets))
        s_push_node_notice(self, conn, state, text);
    zlistx_destroy(&targets);
}

/*  A publication from an actor: pushed to every connection following
 *  its topic.  */
static int
s_on_publication(zloop_t *loop, zsock_t *reader, void *arg)
{
    (void) loop;
    self_t *self = arg;
    zframe_t *frame = zframe_recv(reader);
    if (!frame)
        return 0;
    Flow__Cluster__Publication *p =
        flow__cluster__publication__unpack(NULL, zframe_size(frame), zframe_data(frame));
    zframe_destroy(&frame);
    for (size_t i = 0; p && i < p->n_revoked; i++)
        fl_revoked_add(self->revoked, p->revoked[i]->session_id, p->revoked[i]->until_s);
    if (p && !p->push && p->n_revoked) {
        flow__cluster__publication__free_unpacked(p, NULL);
        return 0;
    }
    if (!p || !p->push) {
        fl_error("session", "undecodable publication", NULL);
        if (p)
            flow__cluster__publication__free_unpacked(p, NULL);
        return 0;
    }
    /*  s_push points the push at the topic it is given: the push's own
     *  topic string goes back in place before the message is freed.  */
    char *own_topic = p->push->topic;
    zlistx_t *targets = s_followers(self, p->topic);
    for (s_conn_t *conn = zlistx_first(targets); conn; conn = zlistx_next(targets))
        s_push(self, conn, p->topic, p->push);
    zlistx_destroy(&targets);
    p->push->topic = own_topic;
    flow__cluster__publication__free_unpacked(p, NULL);
    return 0;
}

/*  Topic families: "node" (this node's notices, anyone) and
 *  "event:<id>" (changes to one event, signed-in users; a push names the
 *  event and its new version only, so following an event reveals nothing
 *  the follower could not read by id).  */
static bool
s_is_event_topic(const char *topic)
{
    return strncmp(topic, "event:", 6) == 0 && strlen(topic + 6) == 16
           && strspn(topic + 6, "0123456789abcdef") == 16;
}

static Flow__Status
s_topic_check(const char *topic, const char *user_id, char *msg, size_t msglen, size_t index)
{
    size_t len = strlen(topic);
    if (len == 0 || len > TOPIC_MAX) {
        snprintf(msg, msglen, "topics[%zu]: must be 1 to %d bytes", index, TOPIC_MAX);
        return FLOW__STATUS__INVALID_ARGUMENT;
    }
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char) topic[i];
        if (!(isalnum(c) || c == ':' || c == '-' || c == '_' || c == '.')) {
            snprintf(msg, msglen, "topics[%zu]: byte 0x%02x is not allowed "
                     "(letters, digits, ':', '-', '_', '.')", index, c);
            return FLOW__STATUS__INVALID_ARGUMENT;
        }
    }
    const char *colon = strchr(topic, ':');
    size_t family = colon ? (size_t) (colon - topic) : len;
    if (family == 4 && strncmp(topic, "node", 4) == 0 && !colon)
        return FLOW__STATUS__OK;
    if (family == 5 && strncmp(topic, "event", 5) == 0) {
        if (!s_is_event_topic(topic)) {
            snprintf(msg, msglen, "topics[%zu]: an event topic is event:<event id>", index);
            return FLOW__STATUS__INVALID_ARGUMENT;
        }
        if (!user_id) {
            snprintf(msg, msglen, "topics[%zu]: event topics need a signed-in user", index);
            return FLOW__STATUS__UNAUTHENTICATED;
        }
        return FLOW__STATUS__OK;
    }
    snprintf(msg, msglen, "topics[%zu]: unknown topic \"%.*s\" (this node knows: node, "
             "event:<id>)", index, (int) (family > 40 ? 40 : family), topic);
    return FLOW__STATUS__INVALID_ARGUMENT;
}

Flow__Status
fl_session_check_topics(const Flow__Request *req, const char *user_id, fl_route_t *route,
                        char *msg, size_t msglen)
{
    size_t n = req->body_case == FLOW__REQUEST__BODY_SUBSCRIBE
             ? req->subscribe->n_topics : req->unsubscribe->n_topics;
    char **topics = req->body_case == FLOW__REQUEST__BODY_SUBSCRIBE
                  ? req->subscribe->topics : req->unsubscribe->topics;
    if (n == 0 || n > TOPICS_PER_CONNECTION) {
        snprintf(msg, msglen, "topics: give 1 to %d topics", TOPICS_PER_CONNECTION);
        return FLOW__STATUS__INVALID_ARGUMENT;
    }
    for (size_t i = 0; i < n; i++) {
        Flow__Status st = s_topic_check(topics[i], user_id, msg, msglen, i);
        if (st)
            return st;
    }
    route->actor = FLOW__ACTOR__ACTOR_SESSION;
    return FLOW__STATUS__OK;
}

static Flow__SubscribeReply *
s_topics_reply(fl_call_t *call, s_conn_t *conn)
{
    Flow__SubscribeReply *out = fl_call_alloc(call, sizeof *out);
    flow__subscribe_reply__init(out);
    size_t n = conn ? zlistx_size(conn->topics) : 0;
    out->topics = fl_call_alloc(call, (n ? n : 1) * sizeof *out->topics);
    if (conn)
        for (char *t = zlistx_first(conn->topics); t; t = zlistx_next(conn->topics))
            out->topics[out->n_topics++] = t;
    return out;
}

int
fl_session_subscribe(fl_call_t *call)
{
    s_origin_t *origin = call->state;
    const Flow__SubscribeRequest *req = call->request->subscribe;
    char peer[PEER_HEX_MAX];
    s_peer_hex(origin->identity, peer);
    s_conn_t *existing = zhashx_lookup(origin->self->conns, peer);
    size_t have = existing ? zlistx_size(existing->topics) : 0;
    size_t adding = 0;
    for (size_t i = 0; i < req->n_topics; i++)
        adding += !existing || !zlistx_find(existing->topics, req->topics[i]);
    if (have + adding > TOPICS_PER_CONNECTION) {
        fl_call_fail(call, FLOW__STATUS__RESOURCE_EXHAUSTED,
                     "topics: a connection may follow at most %d topics", TOPICS_PER_CONNECTION);
        return 0;
    }
    s_conn_t *conn = s_conn_get(origin->self, origin->identity);
    if (!conn) {
        fl_call_fail(call, FLOW__STATUS__RESOURCE_EXHAUSTED,
                     "this node follows %d connections already; try another node",
                     SUBSCRIBERS_MAX);
        call->reply.retry_after_ms = 10000;
        return 0;
    }
    for (size_t i = 0; i < req->n_topics; i++)
        if (!zlistx_find(conn->topics, req->topics[i]))
            zlistx_add_end(conn->topics, req->topics[i]);
    call->reply.body_case = FLOW__REPLY__BODY_SUBSCRIBE;
    call->reply.subscribe = s_topics_reply(call, conn);
    return 0;
}

int
fl_session_unsubscribe(fl_call_t *call)
{
    s_origin_t *origin = call->state;
    const Flow__UnsubscribeRequest *req = call->request->unsubscribe;
    char peer[PEER_HEX_MAX];
    s_peer_hex(origin->identity, peer);
    s_conn_t *conn = zhashx_lookup(origin->self->conns, peer);
    if (conn)
        for (size_t i = 0; i < req->n_topics; i++) {
            void *handle = zlistx_find(conn->topics, req->topics[i]);
            if (handle)
                zlistx_delete(conn->topics, handle);
        }
    call->reply.body_case = FLOW__REPLY__BODY_UNSUBSCRIBE;
    call->reply.unsubscribe = s_topics_reply(call, conn);
    if (conn && zlistx_size(conn->topics) == 0)
        s_conn_drop(origin->self, peer);
    return 0;
}

/*  After a subscribe reply: a new follower of "node" learns the state at
 *  once, so it never has to guess whether the node is serving.  */
static void
s_after_subscribe(self_t *self, zframe_t *identity, const Flow__Request *req)
{
    bool follows_node = false;
    for (size_t i = 0; i < req->subscribe->n_topics; i++)
        follows_node |= streq(req->subscribe->topics[i], "node");
    if (!follows_node)
        return;
    char peer[PEER_HEX_MAX];
    s_peer_hex(identity, peer);
    s_conn_t *conn = zhashx_lookup(self->conns, peer);
    if (conn)
        s_push_node_notice(self, conn, self->draining ? FLOW__NODE_NOTICE__STATE__DRAINING
                                                      : FLOW__NODE_NOTICE__STATE__SERVING,
                           self->draining ? "node is shutting down" : "node is serving");
}

/*  ------------------------------------------------------------------
 *  Replies  */

static void
s_reply(self_t *self, zframe_t *identity, const Flow__Reply *reply)
{
    zframe_t *frame = fl_envelope_pack_reply(reply);
    if (!frame || !s_send_to(self, identity, &frame)) {
        char peer[PEER_HEX_MAX];
        s_peer_hex(identity, peer);
        fl_debug("session", "reply undeliverable; client gone", "peer=%s", peer);
        s_conn_drop(self, peer);
    }
}

static void
s_refuse(self_t *self, zframe_t *identity, uint64_t id, Flow__Status status, const char *text)
{
    Flow__Reply reply = FLOW__REPLY__INIT;
    reply.id = id;
    reply.status = status;
    reply.message = (char *) text;
    s_reply(self, identity, &reply);
}

/*  Counts an answered request; called before its reply is sent, so a
 *  client holding the reply finds it counted.  The session's own actor
 *  counters read as requests received (sent) and answered (handled).  */
static void
s_account(self_t *self, size_t type, Flow__Status status, int64_t started_us)
{
    int64_t elapsed = zclock_usecs() - started_us;
    fl_metrics_actor_handled(self->node->metrics, FLOW__ACTOR__ACTOR_SESSION - 1, 1);
    fl_metrics_request(self->node->metrics, type, status != FLOW__STATUS__OK,
                       (uint64_t) (elapsed > 0 ? elapsed : 0));
}

static void
s_pending_destroy(void **item)
{
    s_pending_t *p = *item;
    if (!p)
        return;
    zframe_destroy(&p->identity);
    zframe_destroy(&p->request);
    zframe_destroy(&p->relay);
    free(p);
    *item = NULL;
}

static void
s_check_drained(self_t *self)
{
    if (self->draining && !self->drained_sent && zhashx_size(self->pending) == 0) {
        zstr_send(self->pipe, "DRAINED");
        self->drained_sent = true;
    }
}

static void s_part_done(self_t *self, s_pending_t *p, Flow__ServerMessage *answer);

/*  Answers a pending request that got no reply from its actor.  */
static void
s_expire(self_t *self, uint64_t seq, Flow__Status status, const char *text)
{
    s_pending_t *p = seq ? zhashx_lookup(self->pending, (void *) (uintptr_t) seq) : NULL;
    if (!p)
        return;
    if (p->gather)
        s_part_done(self, p, NULL);
    else
    if (p->identity) {
        if (p->retry_at_us && status == FLOW__STATUS__DEADLINE_EXCEEDED) {
            status = FLOW__STATUS__UNAVAILABLE;
            text = "the request's partition was moving between nodes until its deadline";
        }
        s_account(self, p->type, status, p->started_us);
        s_refuse(self, p->identity, p->request_id, status, text);
    }
    zhashx_delete(self->pending, (void *) (uintptr_t) seq);
}

/*  ------------------------------------------------------------------
 *  Dispatch: the one place every request passes  */

/*  Logs a refused request, at most REFUSAL_LOGS_PER_S a second: a client
 *  sending garbage must not be able to fill the disk.  The sweep logs how
 *  many went unlogged.  */
static void
s_log_refusal(self_t *self, zframe_t *identity, Flow__Status status, const char *text)
{
    if (fl_ratelimit_take(self->refusal_logs, "refusals", zclock_usecs()) != 0) {
        self->refusals_unlogged++;
        return;
    }
    char peer[PEER_HEX_MAX], quoted[600];
    s_peer_hex(identity, peer);
    fl_info("session", "request refused", "peer=%s status=%s reason=%s", peer,
            fl_status_name(status), fl_log_quote(quoted, sizeof quoted, text, strlen(text)));
}

static void
s_run_local(self_t *self, zframe_t *identity, const Flow__Request *req,
            const fl_request_def_t *def, int64_t started_us)
{
    s_origin_t origin = { self, identity };
    fl_call_t call;
    fl_call_init(&call, self->node, req, FLOW__ACTOR__ACTOR_SESSION, 0);
    call.state = &origin;
    int rc = def->handler(&call);
    if (rc)
        fl_call_fail(&call, FLOW__STATUS__INTERNAL, "%s", fl_strerror(rc));
    s_account(self, fl_requests_index(def), call.reply.status, started_us);
    s_reply(self, identity, &call.reply);
    Flow__Status status = call.reply.status;
    fl_call_release(&call);
    if (status == FLOW__STATUS__OK && req->body_case == FLOW__REQUEST__BODY_SUBSCRIBE)
        s_after_subscribe(self, identity, req);
}

static int s_on_remote(zloop_t *loop, zsock_t *sock, void *arg);

static void
s_remote_destroy(s_remote_t **self_p)
{
    s_remote_t *remote = *self_p;
    if (!remote)
        return;
    for (size_t i = 0; i < remote->n; i++)
        zframe_destroy(&remote->requests[i]);
    zsock_destroy(&remote->sock);
    free(remote);
    *self_p = NULL;
}

/*  NODE_ID's peer socket (a DEALER), made on first use from the cluster
 *  metadata (CURVE: this node's keypair, the member's public key); NULL
 *  when the metadata does not know the node.  Asking the metadata thread
 *  waits up to META_WAIT_MS, once per node.  */
static s_remote_t *
s_remote(self_t *self, const char *node_id)
{
    s_remote_t *remote = zhashx_lookup(self->remotes, node_id);
    if (remote)
        return remote;
    Flow__Cluster__MetaReply *reply = fl_meta_ask_status(&self->meta, ++self->next_seq, META_WAIT_MS);
    const Flow__Cluster__ClusterMeta *meta = reply && reply->cluster ? reply->cluster->meta : NULL;
    for (size_t i = 0; meta && i < meta->n_members && !remote; i++) {
        const Flow__Cluster__Member *m = meta->members[i];
        if (!streq(m->node_id, node_id) || !m->peer_endpoint[0] || strlen(m->public_key) != 40)
            continue;
        zsock_t *sock = zsock_new(ZMQ_DEALER);
        zcert_apply((zcert_t *) self->node->cert, sock);
        zsock_set_curve_serverkey(sock, m->public_key);
        fl_peer_keepalive(sock);
        zsock_set_sndhwm(sock, SEND_HWM);
        zsock_set_linger(sock, 0);
        if (zsock_connect(sock, "%s", m->peer_endpoint) != 0) {
            zsock_destroy(&sock);
            break;
        }
        zloop_reader(self->loop, sock, s_on_remote, self);
        remote = calloc(1, sizeof *remote);
        assert(remote);
        snprintf(remote->node_id, sizeof remote->node_id, "%s", node_id);
        remote->sock = sock;
        zhashx_insert(self->remotes, node_id, remote);
    }
    if (reply)
        flow__cluster__meta_reply__free_unpacked(reply, NULL);
    return remote;
}

/*  Sessions a request here ended: every other member's sessions hear of
 *  them through their peer sockets (MACed), so a signed-out token is
 *  refused on every node, not only here.  Best effort: a member that is
 *  unreachable now does not hear of it (tokens expire within the access
 *  TTL).  */
static void
s_broadcast_revocations(self_t *self, Flow__Cluster__Revocation **revoked, size_t n)
{
    Flow__Cluster__MetaReply *reply = fl_meta_ask_status(&self->meta, ++self->next_seq, META_WAIT_MS);
    const Flow__Cluster__ClusterMeta *meta = reply && reply->cluster ? reply->cluster->meta : NULL;
    Flow__Cluster__Revocations r = FLOW__CLUSTER__REVOCATIONS__INIT;
    r.revoked = revoked;
    r.n_revoked = n;
    zframe_t *packed = fl_envelope_pack(&r.base);
    uint8_t mac[32];
    fl_peer_mac(self->node->peer_key, zframe_data(packed), zframe_size(packed), mac);
    for (size_t i = 0; meta && i < meta->n_members; i++) {
        if (streq(meta->members[i]->node_id, self->node->node_id))
            continue;
        s_remote_t *remote = s_remote(self, meta->members[i]->node_id);
        if (!remote)
            continue;
        Flow__Cluster__PeerRequest out = FLOW__CLUSTER__PEER_REQUEST__INIT;
        out.version = FL_PROTOCOL_VERSION;
        out.seq = ++self->next_seq;         /* pending nowhere: its answer is dropped */
        out.mac = (ProtobufCBinaryData) { sizeof mac, mac };
        out.body_case = FLOW__CLUSTER__PEER_REQUEST__BODY_REVOKE;
        out.revoke = (ProtobufCBinaryData) { zframe_size(packed), zframe_data(packed) };
        zframe_t *wire = fl_envelope_pack(&out.base);
        if (wire && zframe_send(&wire, remote->sock, ZFRAME_DONTWAIT) != 0)
            zframe_destroy(&wire);
    }
    zframe_destroy(&packed);
    if (reply)
        flow__cluster__meta_reply__free_unpacked(reply, NULL);
}

static s_pending_t *
s_pend(self_t *self, uint64_t seq, Flow__Actor actor, int64_t started_us, int64_t deadline_us)
{
    s_pending_t *p = calloc(1, sizeof *p);
    assert(p);
    p->actor = actor;
    p->started_us = started_us;
    p->deadline_us = deadline_us;
    zhashx_insert(self->pending, (void *) (uintptr_t) seq, p);
    fl_metrics_actor_sent(self->node->metrics, actor - 1);
    return p;
}

/*  Sends the requests routed to REMOTE in this turn, in one MACed
 *  message.  Those ZeroMQ would not take (the member has not read
 *  SEND_HWM messages) are refused now.  */
static void
s_flush_remote(self_t *self, s_remote_t *remote)
{
    if (remote->n == 0)
        return;
    Flow__Cluster__Forward *forwards[FORWARDS_MAX];
    for (size_t i = 0; i < remote->n; i++)
        forwards[i] = &remote->forwards[i];
    Flow__Cluster__ForwardBatch batch = FLOW__CLUSTER__FORWARD_BATCH__INIT;
    batch.forwards = forwards;
    batch.n_forwards = remote->n;
    zframe_t *packed = fl_envelope_pack(&batch.base);
    zframe_t *wire = NULL;
    if (packed) {
        uint8_t mac[32];
        fl_peer_mac(self->node->peer_key, zframe_data(packed), zframe_size(packed), mac);
        Flow__Cluster__PeerRequest req = FLOW__CLUSTER__PEER_REQUEST__INIT;
        req.version = FL_PROTOCOL_VERSION;
        req.seq = ++self->next_seq;         /* pending nowhere: each forward has its own */
        req.mac = (ProtobufCBinaryData) { sizeof mac, mac };
        req.body_case = FLOW__CLUSTER__PEER_REQUEST__BODY_FORWARDS;
        req.forwards = (ProtobufCBinaryData) { zframe_size(packed), zframe_data(packed) };
        wire = fl_envelope_pack(&req.base);
        zframe_destroy(&packed);
    }
    bool sent = wire && zframe_send(&wire, remote->sock, ZFRAME_DONTWAIT) == 0;
    zframe_destroy(&wire);
    size_t n = remote->n;
    uint64_t seqs[FORWARDS_MAX];
    for (size_t i = 0; i < n; i++) {
        seqs[i] = remote->forwards[i].seq;
        zframe_destroy(&remote->requests[i]);
    }
    remote->n = 0;
    remote->bytes = 0;
    char text[200];
    snprintf(text, sizeof text, "node %s, the owner, is not taking requests from this node "
             "(too many unanswered); retry later", remote->node_id);
    for (size_t i = 0; !sent && i < n; i++)
        s_expire(self, seqs[i], FLOW__STATUS__UNAVAILABLE, text);
    if (!sent)
        s_check_drained(self);
}

/*  Sends what every member's batch holds: called when a turn of the loop
 *  that may have routed requests ends.  */
static void
s_flush_remotes(self_t *self)
{
    for (s_remote_t *remote = zhashx_first(self->remotes); remote;
         remote = zhashx_next(self->remotes))
        s_flush_remote(self, remote);
}

/*  Adds the packed ActorRequest FRAME (taken) to NODE_ID's batch, with
 *  what is left of DEADLINE_US; false when the node is not known.  */
static bool
s_send_remote(self_t *self, const char *node_id, zframe_t **frame, uint64_t seq,
              int64_t deadline_us)
{
    s_remote_t *remote = s_remote(self, node_id);
    if (!remote) {
        zframe_destroy(frame);
        return false;
    }
    if (remote->n == FORWARDS_MAX || remote->bytes + zframe_size(*frame) > FORWARDS_BYTES)
        s_flush_remote(self, remote);
    int64_t left = deadline_us - zclock_usecs();
    Flow__Cluster__Forward *f = &remote->forwards[remote->n];
    *f = (Flow__Cluster__Forward) FLOW__CLUSTER__FORWARD__INIT;
    f->seq = seq;
    f->timeout_us = left > 0 ? (uint64_t) left : 0;
    f->request = (ProtobufCBinaryData) { zframe_size(*frame), zframe_data(*frame) };
    remote->requests[remote->n++] = *frame;
    remote->bytes += zframe_size(*frame);
    *frame = NULL;
    return true;
}

/*  Sends the request pending under SEQ to its partition's owner by the
 *  ring of now: this node's actor, or the owner's peer socket.  A
 *  partition fenced here (moving away) or being taken over here waits
 *  and is routed again.  Fills
 *  TEXT and returns false when it cannot be sent, or its owner is marked
 *  down.  */
static bool
s_route(self_t *self, uint64_t seq, s_pending_t *p, char *text, size_t len)
{
    const fl_ring_t *ring = fl_node_ring(self->node);
    if (fl_ring_is_fenced(ring, p->partition) || fl_ring_is_promoting(ring, p->partition)) {
        p->retry_at_us = zclock_usecs() + RETRY_FIRST_US;
        zlistx_add_end(self->retries, (void *) (uintptr_t) seq);
        return true;
    }
    p->retry_at_us = 0;
    zframe_t *frame = zframe_dup(p->request);
    if (fl_ring_is_local(ring, p->partition)) {
        if (zframe_send(&frame, self->actors[p->actor - 1], ZFRAME_DONTWAIT) == 0)
            return true;
        zframe_destroy(&frame);
        snprintf(text, len, "actor queue is full; retry later");
        return false;
    }
    const char *owner = fl_ring_owner(ring, p->partition);
    if (fl_ring_owner_down(ring, p->partition)) {
        /*  Its only copy is there: waiting for the deadline would not
         *  help, the client hears it now and may retry.  */
        zframe_destroy(&frame);
        snprintf(text, len, "partition %" PRIu32 " is owned by node %s, which is down (it does "
                 "not answer health checks); retry later", p->partition, owner);
        return false;
    }
    if (s_send_remote(self, owner, &frame, seq, p->deadline_us))
        return true;
    snprintf(text, len, "partition %" PRIu32 " is owned by node %s, which this node cannot "
             "reach", p->partition, owner);
    return false;
}

/*  The owner answered that it does not serve the partition (now): the
 *  request is routed again shortly, with the ring of then.  */
static void
s_retry_later(self_t *self, uint64_t seq, s_pending_t *p)
{
    p->retry_wait_us = p->retry_wait_us ? p->retry_wait_us * 2 : RETRY_FIRST_US;
    if (p->retry_wait_us > RETRY_MAX_US)
        p->retry_wait_us = RETRY_MAX_US;
    p->retry_at_us = zclock_usecs() + p->retry_wait_us;
    zlistx_add_end(self->retries, (void *) (uintptr_t) seq);
}

static int
s_on_retry(zloop_t *loop, int timer_id, void *arg)
{
    (void) loop;
    (void) timer_id;
    self_t *self = arg;
    if (zlistx_size(self->retries) == 0)
        return 0;
    int64_t now = zclock_usecs();
    zlistx_t *waiting = zlistx_new(), *due = zlistx_new();
    for (void *key = zlistx_first(self->retries); key; key = zlistx_next(self->retries)) {
        s_pending_t *p = zhashx_lookup(self->pending, key);
        if (p)
            zlistx_add_end(p->retry_at_us <= now ? due : waiting, key);
    }
    zlistx_destroy(&self->retries);
    self->retries = waiting;
    for (void *key = zlistx_first(due); key; key = zlistx_next(due)) {
        uint64_t seq = (uint64_t) (uintptr_t) key;
        s_pending_t *p = zhashx_lookup(self->pending, key);
        char text[200];
        if (p && !s_route(self, seq, p, text, sizeof text))
            s_expire(self, seq, FLOW__STATUS__UNAVAILABLE, text);
    }
    zlistx_destroy(&due);
    s_flush_remotes(self);
    return 0;
}

/*  Packs OUT under a new seq, pends it for IDENTITY (a client's) or a
 *  relay, and routes it; NULL and TEXT when it could not be sent.  */
static s_pending_t *
s_send_request(self_t *self, Flow__Cluster__ActorRequest *out, int64_t started_us,
               char *text, size_t len)
{
    uint64_t seq = ++self->next_seq;
    out->seq = seq;
    s_pending_t *p = s_pend(self, seq, out->actor, started_us, out->deadline_us);
    p->partition = out->partition;
    p->request = fl_envelope_pack(&out->base);
    if (p->request && s_route(self, seq, p, text, len))
        return p;
    if (!p->request)
        snprintf(text, len, "out of memory");
    zhashx_delete(self->pending, (void *) (uintptr_t) seq);
    return NULL;
}

static bool s_scatter(self_t *self, zframe_t *identity, Flow__Request *req,
                      const fl_request_def_t *def, const Flow__Cluster__Principal *principal,
                      int64_t started_us, int64_t deadline_us);

static void
s_forward(self_t *self, zframe_t *identity, Flow__Request *req, const fl_request_def_t *def,
          const fl_route_t *route, const Flow__Cluster__Principal *principal,
          int64_t started_us, int64_t deadline_us)
{
    if (route->actor == FLOW__ACTOR__ACTOR_GEO
        && s_scatter(self, identity, req, def, principal, started_us, deadline_us))
        return;
    const fl_ring_t *ring = fl_node_ring(self->node);
    Flow__Cluster__ActorRequest out = FLOW__CLUSTER__ACTOR_REQUEST__INIT;
    out.actor = route->actor;
    out.partition = fl_ring_partition(ring, route->key, route->key_len);
    out.ring_epoch = fl_ring_epoch(ring);
    out.deadline_us = deadline_us;
    out.request = req;
    out.principal = (Flow__Cluster__Principal *) principal;
    out.route_key = (ProtobufCBinaryData) { route->key_len, (uint8_t *) route->key };
    char text[200];
    s_pending_t *p = s_send_request(self, &out, started_us, text, sizeof text);
    if (!p) {
        s_account(self, fl_requests_index(def), FLOW__STATUS__UNAVAILABLE, started_us);
        s_refuse(self, identity, req->id, FLOW__STATUS__UNAVAILABLE, text);
        return;
    }
    p->identity = zframe_dup(identity);
    p->request_id = req->id;
    p->type = fl_requests_index(def);
}

/*  ------------------------------------------------------------------
 *  Nearby searches over several nodes  */

static void
s_gather_finish(self_t *self, s_gather_t *g)
{
    Flow__NearbyReply *parts[OWNERS_MAX];
    size_t n = 0;
    for (size_t i = 0; i < g->nparts; i++)
        parts[n++] = g->parts[i]->reply->nearby;
    Flow__Reply reply = FLOW__REPLY__INIT;
    reply.id = g->request_id;
    Flow__NearbyReply merged;
    Flow__NearbyHit **hits = calloc(fl_geo_limit(g->nearby) + 1, sizeof *hits);
    char cursor[FL_GEO_CURSOR_MAX];
    assert(hits);
    if (g->error != FLOW__STATUS__OK) {
        reply.status = g->error;
        reply.message = g->error_text;
    }
    else {
        fl_geo_merge(g->nearby, parts, n, g->now_s, hits, cursor, &merged);
        merged.missing_shards = g->missing;
        merged.n_missing_shards = g->nmissing;
        reply.body_case = FLOW__REPLY__BODY_NEARBY;
        reply.nearby = &merged;
        if (g->nmissing)
            fl_warn("session", "nearby search answered without some nodes",
                    "missing=%zu first=%s", g->nmissing, g->missing[0]);
    }
    s_account(self, g->type, reply.status, g->started_us);
    s_reply(self, g->identity, &reply);
    free(hits);
    for (size_t i = 0; i < g->nparts; i++)
        flow__server_message__free_unpacked(g->parts[i], NULL);
    for (size_t i = 0; i < g->nmissing; i++)
        free(g->missing[i]);
    flow__nearby_request__free_unpacked(g->nearby, NULL);
    zframe_destroy(&g->identity);
    free(g);
}

/*  One part of a search answered (ANSWER, taken), or did not (NULL).  */
static void
s_part_done(self_t *self, s_pending_t *p, Flow__ServerMessage *answer)
{
    s_gather_t *g = p->gather;
    p->gather = NULL;
    const Flow__Reply *r = answer && answer->kind_case == FLOW__SERVER_MESSAGE__KIND_REPLY
                         ? answer->reply : NULL;
    if (r && r->status == FLOW__STATUS__OK && r->body_case == FLOW__REPLY__BODY_NEARBY)
        g->parts[g->nparts++] = answer;
    else {
        if (r && g->error == FLOW__STATUS__OK && r->status != FLOW__STATUS__UNAVAILABLE
            && r->status != FLOW__STATUS__DEADLINE_EXCEEDED) {
            g->error = r->status;
            snprintf(g->error_text, sizeof g->error_text, "%s", r->message);
        }
        else
            g->missing[g->nmissing++] = strdup(p->node);
        if (answer)
            flow__server_message__free_unpacked(answer, NULL);
    }
    if (++g->answered == g->expected)
        s_gather_finish(self, g);
}

/*  Sends a nearby search to the geo actor of every node that owns
 *  partitions (each indexes the events it owns) and merges their pages
 *  when all have answered, or when the gather deadline (four fifths of
 *  the client's time, so a partial answer still reaches it) has passed
 *  for some: those are named in missing_shards.  False when this node
 *  owns everything: the local geo actor answers alone.  */
static bool
s_scatter(self_t *self, zframe_t *identity, Flow__Request *req, const fl_request_def_t *def,
          const Flow__Cluster__Principal *principal, int64_t started_us, int64_t deadline_us)
{
    const fl_ring_t *ring = fl_node_ring(self->node);
    const char *owners[OWNERS_MAX];
    size_t n = 0;
    fl_ring_owners(ring, owners, OWNERS_MAX, &n);
    if (n == 0 || (n == 1 && streq(owners[0], self->node->node_id)))
        return false;
    s_gather_t *g = calloc(1, sizeof *g);
    assert(g);
    g->identity = zframe_dup(identity);
    g->request_id = req->id;
    g->type = fl_requests_index(def);
    g->started_us = started_us;
    zframe_t *copy = fl_envelope_pack(&req->nearby->base);
    g->nearby = flow__nearby_request__unpack(NULL, zframe_size(copy), zframe_data(copy));
    zframe_destroy(&copy);
    assert(g->nearby);
    g->expected = n;
    g->now_s = zclock_time() / 1000;
    int64_t part_deadline = started_us + (deadline_us - started_us) * 4 / 5;
    for (size_t i = 0; i < n; i++) {
        uint64_t seq = ++self->next_seq;
        Flow__Cluster__ActorRequest out = FLOW__CLUSTER__ACTOR_REQUEST__INIT;
        out.seq = seq;
        out.actor = FLOW__ACTOR__ACTOR_GEO;
        out.ring_epoch = fl_ring_epoch(ring);
        out.deadline_us = part_deadline;
        out.now_s = g->now_s;
        out.request = req;
        out.principal = (Flow__Cluster__Principal *) principal;
        zframe_t *frame = fl_envelope_pack(&out.base);
        s_pending_t *p = s_pend(self, seq, FLOW__ACTOR__ACTOR_GEO, started_us, part_deadline);
        p->gather = g;
        snprintf(p->node, sizeof p->node, "%s", owners[i]);
        /*  A node marked down is missing from the answer at once.  */
        bool sent = streq(owners[i], self->node->node_id)
            ? zframe_send(&frame, self->actors[FLOW__ACTOR__ACTOR_GEO - 1], ZFRAME_DONTWAIT) == 0
            : !fl_ring_is_down(ring, owners[i])
              && s_send_remote(self, owners[i], &frame, seq, part_deadline);
        zframe_destroy(&frame);
        if (!sent) {
            s_part_done(self, p, NULL);
            zhashx_delete(self->pending, (void *) (uintptr_t) seq);
        }
    }
    return true;
}

/*  ------------------------------------------------------------------
 *  Requests of this node's actors for other nodes  */

static void
s_take_route(self_t *self, zsock_t *route)
{
    zmsg_t *msg = zmsg_recv(route);
    if (!msg)
        return;
    zframe_t *identity = zmsg_pop(msg);
    zframe_t *body = zmsg_pop(msg);
    zmsg_destroy(&msg);
    Flow__Cluster__ActorRequest *in = body && identity
        ? flow__cluster__actor_request__unpack(NULL, zframe_size(body), zframe_data(body))
        : NULL;
    zframe_destroy(&body);
    if (!in || in->actor < FLOW__ACTOR__ACTOR_USER || in->actor > FLOW__ACTOR__ACTOR_NOTIFY) {
        fl_error("session", "undecodable request from an actor", NULL);
        zframe_destroy(&identity);
        if (in)
            flow__cluster__actor_request__free_unpacked(in, NULL);
        return;
    }
    uint64_t relay_seq = in->seq;
    char text[200];
    s_pending_t *p = s_send_request(self, in, zclock_usecs(), text, sizeof text);
    if (p) {
        p->relay = identity;
        p->relay_seq = relay_seq;
    }
    else {
        fl_debug("session", "cannot route an actor's request yet", "reason=\"%s\"", text);
        zframe_destroy(&identity);
    }
    flow__cluster__actor_request__free_unpacked(in, NULL);
}

static void s_drain(self_t *self, zsock_t *sock, void (*take)(self_t *, zsock_t *));

static int
s_on_route(zloop_t *loop, zsock_t *route, void *arg)
{
    (void) loop;
    s_drain(arg, route, s_take_route);
    return 0;
}

/*  Verifies the token, if any: signature, expiry, revocation.  */
static Flow__Status
s_authenticate(self_t *self, s_request_t *r, char *text, size_t len)
{
    if (r->req->token[0] == '\0' || r->def->role == FL_ROLE_NONE)
        return FLOW__STATUS__OK;
    uint64_t now_s = (uint64_t) zclock_time() / 1000;
    int rc = fl_token_cache_verify(self->tokens, self->node->cluster_key, r->req->token, now_s,
                                   &r->claims);
    if (rc == FL_E_EXPIRED)
        snprintf(text, len, "token: expired");
    else
    if (rc)
        snprintf(text, len, "token: invalid");
    else
    if (fl_revoked_has(self->revoked, r->claims.session_id, now_s))
        snprintf(text, len, "token: revoked (the session was signed out)");
    else {
        r->signed_in = true;
        return FLOW__STATUS__OK;
    }
    return FLOW__STATUS__UNAUTHENTICATED;
}

static Flow__Status
s_authorize(const s_request_t *r, char *text, size_t len)
{
    if (r->def->role == FL_ROLE_INTERNAL) {
        snprintf(text, len, "%s is sent between nodes' actors only, never by a client",
                 r->def->name);
        return FLOW__STATUS__PERMISSION_DENIED;
    }
    fl_role_t role = r->signed_in ? (fl_role_t) r->claims.role : FL_ROLE_ANONYMOUS;
    if (r->def->role <= FL_ROLE_ANONYMOUS || role >= r->def->role)
        return FLOW__STATUS__OK;
    if (!r->signed_in) {
        snprintf(text, len, "%s needs a signed-in user", r->def->name);
        return FLOW__STATUS__UNAUTHENTICATED;
    }
    const ProtobufCEnumValue *v =
        protobuf_c_enum_descriptor_get_value(&flow__role__descriptor, (int) r->def->role);
    snprintf(text, len, "%s needs the role %s", r->def->name, v ? v->name + 5 : "?");
    return FLOW__STATUS__PERMISSION_DENIED;
}

/*  Token buckets: per client address, and per account (the routing key
 *  of auth requests, which is the email or user id they act on) or per
 *  signed-in user.  Runs after the check, so the route key is known.  */
static Flow__Status
s_limit(self_t *self, s_request_t *r, char *text, size_t len)
{
    if (r->def->rate == FL_RATE_NONE)
        return FLOW__STATUS__OK;
    bool auth = r->def->rate == FL_RATE_AUTH;
    char key[FL_ROUTE_KEY_MAX + 1];
    uint32_t wait = fl_ratelimit_take(auth ? self->auth_by_addr : self->req_by_addr,
                                      r->address, r->started_us);
    const char *who = NULL;
    if (auth && r->route.key_len > 0 && r->route.key_len < sizeof key) {
        memcpy(key, r->route.key, r->route.key_len);
        key[r->route.key_len] = '\0';
        who = key;
    }
    else
    if (!auth && r->signed_in)
        who = r->claims.user_id;
    if (wait == 0 && who)
        wait = fl_ratelimit_take(auth ? self->auth_by_key : self->req_by_user, who,
                                 r->started_us);
    if (wait == 0)
        return FLOW__STATUS__OK;
    r->retry_after_ms = wait;
    snprintf(text, len, "too many %srequests; retry after %u ms", auth ? "sign-in " : "", wait);
    return FLOW__STATUS__RESOURCE_EXHAUSTED;
}

static void
s_refuse_request(self_t *self, s_request_t *r, Flow__Status status, const char *text)
{
    if (r->def)
        s_account(self, fl_requests_index(r->def), status, r->started_us);
    s_log_refusal(self, r->identity, status, text);
    Flow__Reply reply = FLOW__REPLY__INIT;
    reply.id = r->req ? r->req->id : 0;
    reply.status = status;
    reply.message = (char *) text;
    reply.retry_after_ms = r->retry_after_ms;
    s_reply(self, r->identity, &reply);
}

static void
s_dispatch(self_t *self, zframe_t *identity, zframe_t *frame)
{
    s_request_t r = { .identity = identity, .started_us = zclock_usecs() };
    if (zhashx_size(self->conns) > 0) {
        char peer[PEER_HEX_MAX];
        s_peer_hex(identity, peer);
        s_conn_t *conn = zhashx_lookup(self->conns, peer);
        if (conn)
            conn->seen_us = r.started_us;
    }
    const char *address = zframe_meta(frame, "Peer-Address");
    r.address = address ? address : "local";
    char text[512] = "";
    uint64_t id = 0;
    Flow__Status status = fl_envelope_decode(zframe_data(frame), zframe_size(frame),
                                             &self->limits, &r.req, &id, text, sizeof text);
    if (status != FLOW__STATUS__OK) {
        fl_metrics_malformed(self->node->metrics);
        s_log_refusal(self, identity, status, text);
        s_refuse(self, identity, id, status, text);
        return;
    }
    r.def = fl_requests_find(r.req->body_case);
    if (r.def)
        fl_metrics_actor_sent(self->node->metrics, FLOW__ACTOR__ACTOR_SESSION - 1);
    if (!r.def) {
        fl_metrics_malformed(self->node->metrics);
        snprintf(text, sizeof text, "body: request kind %d is not served by this node",
                 (int) r.req->body_case);
        status = FLOW__STATUS__INVALID_ARGUMENT;
    }
    else
    if (self->draining) {
        snprintf(text, sizeof text, "node is shutting down; connect to another node");
        status = FLOW__STATUS__UNAVAILABLE;
    }
    else
    if (r.req->request_key[0] && !fl_requests_takes_key(r.def)) {
        snprintf(text, sizeof text, "request_key: %s does not take one (only writes without "
                 "credentials in their body or reply do)", r.def->name);
        status = FLOW__STATUS__INVALID_ARGUMENT;
    }
    else
    if ((status = s_authenticate(self, &r, text, sizeof text)) == FLOW__STATUS__OK
        && (status = s_authorize(&r, text, sizeof text)) == FLOW__STATUS__OK
        && (status = r.def->check(r.req, r.signed_in ? r.claims.user_id : NULL, &r.route,
                                    text, sizeof text)) == FLOW__STATUS__OK)
        status = s_limit(self, &r, text, sizeof text);

    if (status != FLOW__STATUS__OK)
        s_refuse_request(self, &r, status, text);
    else
    if (r.route.actor == FLOW__ACTOR__ACTOR_SESSION)
        s_run_local(self, identity, r.req, r.def, r.started_us);
    else {
        Flow__Cluster__Principal principal = FLOW__CLUSTER__PRINCIPAL__INIT;
        principal.user_id = r.claims.user_id;
        principal.role = r.claims.role;
        principal.session_id = r.claims.session_id;
        uint64_t timeout_ms = r.req->timeout_ms ? r.req->timeout_ms
                                                : self->node->config->default_timeout_ms;
        s_forward(self, identity, r.req, r.def, &r.route, r.signed_in ? &principal : NULL,
                  r.started_us, r.started_us + (int64_t) timeout_ms * 1000);
    }
    flow__request__free_unpacked(r.req, NULL);
}

/*  ------------------------------------------------------------------
 *  Loop handlers  */

static void
s_take_client_frame(self_t *self, zsock_t *client)
{
    zmsg_t *msg = zmsg_recv(client);
    if (!msg)
        return;
    zframe_t *identity = zmsg_pop(msg);
    zframe_t *frame = zmsg_pop(msg);
    if (identity && frame && zmsg_size(msg) == 0)
        s_dispatch(self, identity, frame);
    else
    if (identity) {
        fl_metrics_malformed(self->node->metrics);
        s_log_refusal(self, identity, FLOW__STATUS__INVALID_ARGUMENT, "expected exactly one frame");
        s_refuse(self, identity, 0, FLOW__STATUS__INVALID_ARGUMENT,
                 "expected one frame holding one flow.Request");
    }
    zframe_destroy(&identity);
    zframe_destroy(&frame);
    zmsg_destroy(&msg);
}

/*  Up to DRAIN_MAX messages of SOCK, each through TAKE: one wake-up
 *  serves a burst (one poll per message would cost more than the
 *  message), and no socket starves the others.  What the burst routed to
 *  other members leaves in one message per member.  */
static void
s_drain(self_t *self, zsock_t *sock, void (*take)(self_t *, zsock_t *))
{
    for (int n = 0; n < DRAIN_MAX && (zsock_events(sock) & ZMQ_POLLIN); n++)
        take(self, sock);
    s_flush_remotes(self);
}

static int
s_on_client(zloop_t *loop, zsock_t *client, void *arg)
{
    (void) loop;
    s_drain(arg, client, s_take_client_frame);
    return 0;
}

/*  Hands a relayed request's reply IN back to the actor that sent it.  */
static void
s_relay_reply(self_t *self, s_pending_t *p, Flow__Cluster__ActorReply *in)
{
    in->seq = p->relay_seq;
    zframe_t *frame = fl_envelope_pack(&in->base);
    zmsg_t *msg = zmsg_new();
    zframe_t *identity = zframe_dup(p->relay);
    zmsg_append(msg, &identity);
    zmsg_append(msg, &frame);
    zmsg_send(&msg, self->route);
}

/*  Forwards an actor's reply: its bytes are already the client's
 *  ServerMessage, so only seq, status and revocations are read here.  A
 *  reply that says the partition is not served there is routed again.  */
static void
s_actor_reply(self_t *self, const uint8_t *data, size_t len)
{
    Flow__Cluster__ActorReply *in = flow__cluster__actor_reply__unpack(NULL, len, data);
    if (!in) {
        fl_error("session", "undecodable actor reply", NULL);
        return;
    }
    for (size_t i = 0; i < in->n_revoked; i++)
        fl_revoked_add(self->revoked, in->revoked[i]->session_id, in->revoked[i]->until_s);
    if (in->n_revoked)
        s_broadcast_revocations(self, in->revoked, in->n_revoked);
    s_pending_t *p = in->seq ? zhashx_lookup(self->pending, (void *) (uintptr_t) in->seq) : NULL;
    if (p && in->reroute && p->request && !p->retry_at_us)
        s_retry_later(self, in->seq, p);
    else
    if (p && p->gather) {
        s_part_done(self, p, flow__server_message__unpack(NULL, in->server_message.len,
                                                          in->server_message.data));
        zhashx_delete(self->pending, (void *) (uintptr_t) in->seq);
    }
    else
    if (p && p->relay) {
        s_relay_reply(self, p, in);
        zhashx_delete(self->pending, (void *) (uintptr_t) in->seq);
    }
    else
    if (p && p->identity) {
        s_account(self, p->type, in->status, p->started_us);
        zframe_t *out = zframe_new(in->server_message.data, in->server_message.len);
        if (!s_send_to(self, p->identity, &out)) {
            char peer[PEER_HEX_MAX];
            s_peer_hex(p->identity, peer);
            s_conn_drop(self, peer);
        }
        zhashx_delete(self->pending, (void *) (uintptr_t) in->seq);
    }
    s_check_drained(self);
    flow__cluster__actor_reply__free_unpacked(in, NULL);
}

static void
s_take_actor_reply(self_t *self, zsock_t *dealer)
{
    zframe_t *frame = zframe_recv(dealer);
    if (!frame)
        return;
    s_actor_reply(self, zframe_data(frame), zframe_size(frame));
    zframe_destroy(&frame);
}

/*  One answer from another member: its actor's reply, or a refusal of
 *  the forward (stale ring, not a member, the node is starting).  */
static void
s_remote_reply(self_t *self, const Flow__Cluster__PeerReply *in)
{
    s_pending_t *p = in->seq ? zhashx_lookup(self->pending, (void *) (uintptr_t) in->seq) : NULL;
    if (in->body_case == FLOW__CLUSTER__PEER_REPLY__BODY_ACTOR_REPLY)
        s_actor_reply(self, in->actor_reply.data, in->actor_reply.len);
    else
    if (p && p->request && !p->retry_at_us && in->status == FLOW__STATUS__UNAVAILABLE)
        s_retry_later(self, in->seq, p);        /* the owner is starting */
    else
    if (in->seq) {
        s_expire(self, in->seq, in->status == FLOW__STATUS__OK ? FLOW__STATUS__INTERNAL
                                                               : in->status, in->message);
        s_check_drained(self);
    }
}

/*  A message from another member's peer socket: one answer, or the
 *  answers to several forwards.  */
static void
s_take_remote_reply(self_t *self, zsock_t *sock)
{
    zframe_t *frame = zframe_recv(sock);
    if (!frame)
        return;
    Flow__Cluster__PeerReply *in =
        flow__cluster__peer_reply__unpack(NULL, zframe_size(frame), zframe_data(frame));
    zframe_destroy(&frame);
    if (!in) {
        fl_error("session", "undecodable reply from another member", NULL);
        return;
    }
    if (in->body_case == FLOW__CLUSTER__PEER_REPLY__BODY_REPLIES)
        for (size_t i = 0; i < in->replies->n_replies; i++)
            s_remote_reply(self, in->replies->replies[i]);
    else
        s_remote_reply(self, in);
    flow__cluster__peer_reply__free_unpacked(in, NULL);
}

static int
s_on_remote(zloop_t *loop, zsock_t *sock, void *arg)
{
    (void) loop;
    s_drain(arg, sock, s_take_remote_reply);
    return 0;
}

static int
s_on_actor(zloop_t *loop, zsock_t *dealer, void *arg)
{
    (void) loop;
    s_drain(arg, dealer, s_take_actor_reply);
    return 0;
}

/*  Probes connections that follow topics and have been quiet: a send to
 *  one that is gone fails and drops it, so subscriptions of vanished
 *  clients do not pile up.  */
static void
s_keepalive(self_t *self, int64_t now)
{
    zlistx_t *quiet = zlistx_new();
    for (s_conn_t *conn = zhashx_first(self->conns); conn; conn = zhashx_next(self->conns))
        if (now - conn->seen_us > KEEPALIVE_IDLE_US)
            zlistx_add_end(quiet, conn);
    for (s_conn_t *conn = zlistx_first(quiet); conn; conn = zlistx_next(quiet)) {
        conn->seen_us = now;
        Flow__Keepalive keepalive = FLOW__KEEPALIVE__INIT;
        Flow__Push push = FLOW__PUSH__INIT;
        push.body_case = FLOW__PUSH__BODY_KEEPALIVE;
        push.keepalive = &keepalive;
        s_push(self, conn, "", &push);
    }
    zlistx_destroy(&quiet);
}

static int
s_on_sweep(zloop_t *loop, int timer_id, void *arg)
{
    (void) loop;
    (void) timer_id;
    self_t *self = arg;
    int64_t now = zclock_usecs();
    zlistx_t *expired = zlistx_new();
    for (s_pending_t *p = zhashx_first(self->pending); p; p = zhashx_next(self->pending))
        if (now > p->deadline_us)
            zlistx_add_end(expired, (void *) zhashx_cursor(self->pending));
    for (void *key = zlistx_first(expired); key; key = zlistx_next(expired))
        s_expire(self, (uint64_t) (uintptr_t) key, FLOW__STATUS__DEADLINE_EXCEEDED,
                 "no answer before the request's deadline");
    zlistx_destroy(&expired);
    s_check_drained(self);
    if (++self->sweeps % PRUNE_EVERY_SWEEPS == 0) {
        s_keepalive(self, now);
        if (self->refusals_unlogged) {
            fl_info("session", "refused requests not logged one by one",
                    "count=%" PRIu64, self->refusals_unlogged);
            self->refusals_unlogged = 0;
        }
        fl_revoked_prune(self->revoked, (uint64_t) zclock_time() / 1000);
        fl_ratelimit_t *limits[] = { self->auth_by_addr, self->auth_by_key,
                                     self->req_by_addr, self->req_by_user };
        for (size_t i = 0; i < 4; i++)
            fl_ratelimit_prune(limits[i], now);
    }
    return 0;
}

static int
s_on_pipe(zloop_t *loop, zsock_t *pipe, void *arg)
{
    (void) loop;
    self_t *self = arg;
    char *command = zstr_recv(pipe);
    if (!command || streq(command, "$TERM")) {
        zstr_free(&command);
        return -1;
    }
    if (streq(command, "DRAIN") && !self->draining) {
        self->draining = true;
        fl_info("session", "draining", "in_flight=%zu", zhashx_size(self->pending));
        s_broadcast_node_notice(self, FLOW__NODE_NOTICE__STATE__DRAINING,
                                "node is shutting down");
        s_check_drained(self);
    }
    zstr_free(&command);
    return 0;
}

/*  ------------------------------------------------------------------
 *  Life cycle  */

static int
s_open(self_t *self)
{
    const fl_config_t *cfg = self->node->config;
    self->limits.max_bytes = cfg->request_max_bytes;
    self->limits.max_timeout_ms = cfg->max_timeout_ms;
    self->pending = fl_actor_seq_table(s_pending_destroy);
    self->conns = zhashx_new();
    zhashx_set_destructor(self->conns, s_conn_destroy);
    double auth_per_s = (double) cfg->rate_auth_per_min / 60.0;
    double req_per_s = (double) cfg->rate_requests_per_s;
    self->auth_by_addr = fl_ratelimit_new(auth_per_s, (double) cfg->rate_auth_per_min, RATE_KEYS_MAX);
    self->auth_by_key = fl_ratelimit_new(auth_per_s, (double) cfg->rate_auth_per_min, RATE_KEYS_MAX);
    self->req_by_addr = fl_ratelimit_new(req_per_s, req_per_s, RATE_KEYS_MAX);
    self->req_by_user = fl_ratelimit_new(req_per_s, req_per_s, RATE_KEYS_MAX);
    self->revoked = fl_revoked_new();
    self->tokens = fl_token_cache_new(TOKEN_CACHE_SLOTS);
    self->refusal_logs = fl_ratelimit_new(REFUSAL_LOGS_PER_S, REFUSAL_LOGS_PER_S, 1);
    if (!self->auth_by_addr || !self->auth_by_key || !self->req_by_addr || !self->req_by_user
        || !self->revoked || !self->refusal_logs || !self->tokens)
        return FL_E_NOMEM;
    int rc = fl_revoked_load(self->revoked, self->node->store, (uint64_t) zclock_time() / 1000);
    if (rc)
        return rc;

    self->client = zsock_new(ZMQ_ROUTER);
    if (!self->client)
        return FL_E_NOMEM;
    zsock_set_router_mandatory(self->client, 1);
    zsock_set_sndhwm(self->client, SEND_HWM);
    /*  ZMTP heartbeats drop peers whose TCP connection died silently, so a
     *  keepalive to them fails instead of queueing.  */
    zsock_set_heartbeat_ivl(self->client, 10000);
    zsock_set_heartbeat_timeout(self->client, 30000);
    /*  Frames up to 4x the request limit are read and refused with an
     *  answer; larger ones make libzmq drop the connection unread.  */
    zsock_set_maxmsgsize(self->client, (int) (cfg->request_max_bytes * 4));
    zsock_set_linger(self->client, 0);
    if (zsock_bind(self->client, "%s", self->node->client_endpoint) < 0) {
        fl_error("session", "cannot bind the client endpoint", "endpoint=%s error=%s",
                 self->node->client_endpoint, zmq_strerror(zmq_errno()));
        return FL_E_IO;
    }
    snprintf(self->node->client_endpoint, sizeof self->node->client_endpoint, "%s",
             zsock_endpoint(self->client));
    for (int a = FLOW__ACTOR__ACTOR_USER; a <= FLOW__ACTOR__ACTOR_NOTIFY; a++) {
        self->actors[a - 1] = zsock_new_dealer(fl_actor_endpoint((Flow__Actor) a));
        if (!self->actors[a - 1])
            return FL_E_IO;
    }
    self->publications = zsock_new_pull(FL_SESSION_PUBLISH_ENDPOINT);
    self->route = zsock_new(ZMQ_ROUTER);
    self->retries = zlistx_new();
    if (!self->route || !self->retries
        || zsock_bind(self->route, "%s", FL_SESSION_ROUTE_ENDPOINT) != 0)
        return FL_E_IO;
    zsock_set_sndhwm(self->route, 100000);
    self->remotes = zhashx_new();
    zhashx_set_destructor(self->remotes, (zhashx_destructor_fn *) s_remote_destroy);
    return self->publications ? 0 : FL_E_IO;
}

static int
s_seq_order(const void *a, const void *b)
{
    uintptr_t x = (uintptr_t) a, y = (uintptr_t) b;
    return x < y ? -1 : x > y;
}

static void
s_close(self_t *self)
{
    if (self->pending) {
        /*  In the order they came, so that a client cut off while these
         *  leave loses the latest, never one between answered ones.  */
        zlistx_t *left = zhashx_keys(self->pending);
        zlistx_set_comparator(left, s_seq_order);
        zlistx_sort(left);
        for (void *key = zlistx_first(left); key; key = zlistx_next(left))
            s_expire(self, (uint64_t) (uintptr_t) key, FLOW__STATUS__UNAVAILABLE,
                     "node stopped before the request finished");
        zlistx_destroy(&left);
    }
    for (size_t a = 0; a < FL_ACTOR_COUNT; a++)
        zsock_destroy(&self->actors[a]);
    zsock_destroy(&self->publications);
    zsock_destroy(&self->route);
    zlistx_destroy(&self->retries);
    zsock_destroy(&self->meta);
    zhashx_destroy(&self->remotes);
    /*  Replies already handed to ZeroMQ must still reach their clients:
     *  give them a bounded time to leave before the socket goes.  */
    if (self->client)
        zsock_set_linger(self->client, CLOSE_LINGER_MS);
    zsock_destroy(&self->client);
    zhashx_destroy(&self->pending);
    zhashx_destroy(&self->conns);
    fl_revoked_destroy(&self->revoked);
    fl_token_cache_destroy(&self->tokens);
    fl_ratelimit_destroy(&self->auth_by_addr);
    fl_ratelimit_destroy(&self->auth_by_key);
    fl_ratelimit_destroy(&self->req_by_addr);
    fl_ratelimit_destroy(&self->req_by_user);
    fl_ratelimit_destroy(&self->refusal_logs);
}

static void
s_session_task(zsock_t *pipe, void *arg)
{
    self_t self = { .node = arg, .pipe = pipe };
    zsock_signal(pipe, 0);
    int rc = s_open(&self);
    zsock_signal(pipe, rc ? 1 : 0);
    if (rc) {
        s_close(&self);
        return;
    }
    fl_info("session", "serving clients", "endpoint=%s", self.node->client_endpoint);
    self.loop = zloop_new();
    zloop_reader(self.loop, pipe, s_on_pipe, &self);
    zloop_reader(self.loop, self.client, s_on_client, &self);
    for (int a = FLOW__ACTOR__ACTOR_USER; a <= FLOW__ACTOR__ACTOR_NOTIFY; a++)
        zloop_reader(self.loop, self.actors[a - 1], s_on_actor, &self);
    zloop_reader(self.loop, self.publications, s_on_publication, &self);
    zloop_reader(self.loop, self.route, s_on_route, &self);
    zloop_timer(self.loop, RETRY_TIMER_MS, 0, s_on_retry, &self);
    zloop_timer(self.loop, SWEEP_INTERVAL_MS, 0, s_on_sweep, &self);
    zloop_set_nonstop(self.loop, true);
    zloop_start(self.loop);
    zloop_destroy(&self.loop);
    s_close(&self);
}

zactor_t *
fl_session_new(fl_node_t *node)
{
    return fl_actor_start(s_session_task, node);
}
