/*  cluster/health.c — the health thread; see health.h.
 *
 *  One zactor.  Its loop polls the pipe and one DEALER per other member
 *  (CURVE, the member's key), and every TICK_MS reads the metadata from
 *  the metadata thread, pings each member that has no ping in flight (or
 *  whose ping is older than PING_TIMEOUT_MS), and, on the leader, asks
 *  for the state changes the answers call for.  Any answer of a member
 *  counts: a ping queued behind a frozen process is answered when it
 *  thaws, which is when it is alive again.
 */
#include "cluster/health.h"
#include "cluster/meta.h"
#include "cluster/peer.h"
#include "node/actor.h"
#include "node/envelope.h"
#include "node/log.h"

#define TICK_MS 250
#define PING_TIMEOUT_MS 1000
#define ASK_EVERY_MS 1000               /* state changes asked per member, at most */
#define META_TIMEOUT_MS 2000
#define MEMBERS_MAX 64

typedef struct {
    char node_id[FL_NODE_ID_MAX];
    char endpoint[256];
    char public_key[64];
    zsock_t *sock;
    int64_t answered_ms;                /* last answer, or when first seen */
    int64_t sent_ms;                    /* ping in flight since, 0: none */
    int64_t asked_ms;                   /* last state change asked */
    bool seen;                          /* in the last metadata read */
} s_member_t;

typedef struct {
    fl_node_t *node;
    zsock_t *meta;                      /* DEALER to the metadata thread */
    s_member_t members[MEMBERS_MAX];
    size_t n;
    uint64_t next_seq;
} self_t;

static void
s_member_close(s_member_t *m)
{
    zsock_destroy(&m->sock);
    memset(m, 0, sizeof *m);
}

/*  The entry of member M of the metadata, opened (or opened again, when
 *  its address or key changed) for pings; NULL when none is free.  */
static s_member_t *
s_track(self_t *self, const Flow__Cluster__Member *m, int64_t now)
{
    s_member_t *e = NULL;
    for (size_t i = 0; i < self->n && !e; i++)
        if (streq(self->members[i].node_id, m->node_id))
            e = &self->members[i];
    if (e && (!streq(e->endpoint, m->peer_endpoint) || !streq(e->public_key, m->public_key)))
        zsock_destroy(&e->sock);
    if (!e && self->n < MEMBERS_MAX) {
        e = &self->members[self->n++];
        snprintf(e->node_id, sizeof e->node_id, "%s", m->node_id);
        e->answered_ms = now;
    }
    if (!e || e->sock)
        return e;
    snprintf(e->endpoint, sizeof e->endpoint, "%s", m->peer_endpoint);
    snprintf(e->public_key, sizeof e->public_key, "%s", m->public_key);
    e->sent_ms = 0;
    e->sock = zsock_new(ZMQ_DEALER);
    if (!e->sock)
        return e;
    zcert_apply((zcert_t *) self->node->cert, e->sock);
    zsock_set_curve_serverkey(e->sock, m->public_key);
    fl_peer_keepalive(e->sock);
    zsock_set_linger(e->sock, 0);
    zsock_set_sndhwm(e->sock, 4);
    if (zsock_connect(e->sock, "%s", m->peer_endpoint) != 0) {
        fl_error("health", "cannot connect to a member's peer socket", "node=%s endpoint=%s",
                 m->node_id, m->peer_endpoint);
        zsock_destroy(&e->sock);
    }
    return e;
}

static void
s_ping(self_t *self, s_member_t *e, int64_t now)
{
    if (!e->sock || (e->sent_ms && now - e->sent_ms < PING_TIMEOUT_MS))
        return;
    Flow__Cluster__PeerRequest req = FLOW__CLUSTER__PEER_REQUEST__INIT;
    req.version = FL_PROTOCOL_VERSION;
    req.seq = ++self->next_seq;
    req.body_case = FLOW__CLUSTER__PEER_REQUEST__BODY_PING;
    req.ping = true;
    zframe_t *wire = fl_envelope_pack(&req.base);
    if (wire && zframe_send(&wire, e->sock, ZFRAME_DONTWAIT) == 0)
        e->sent_ms = now;
    zframe_destroy(&wire);
}

/*  On the leader: asks the metadata to mark E's member STATE.  */
static void
s_ask(self_t *self, s_member_t *e, Flow__Cluster__MemberState state, int64_t now)
{
    if (now - e->asked_ms < ASK_EVERY_MS)
        return;
    e->asked_ms = now;
    Flow__Cluster__MemberStateChange change = FLOW__CLUSTER__MEMBER_STATE_CHANGE__INIT;
    change.node_id = e->node_id;
    change.state = state;
    Flow__Cluster__MetaRequest req = FLOW__CLUSTER__META_REQUEST__INIT;
    req.seq = ++self->next_seq;
    req.body_case = FLOW__CLUSTER__META_REQUEST__BODY_HEALTH;
    req.health = &change;
    Flow__Cluster__MetaReply *reply = fl_meta_ask(&self->meta, &req, META_TIMEOUT_MS);
    if (!reply || (reply->status != FLOW__STATUS__OK
                   && reply->status != FLOW__STATUS__UNAVAILABLE))
        fl_warn("health", "the metadata did not take a member's state", "node=%s reason=\"%s\"",
                e->node_id, reply ? reply->message : "no answer");
    if (reply)
        flow__cluster__meta_reply__free_unpacked(reply, NULL);
}

/*  Reads the metadata: pings the members, forgets those gone, and on the
 *  leader marks them down or up.  */
static void
s_tick(self_t *self)
{
    Flow__Cluster__MetaReply *reply = fl_meta_ask_status(&self->meta, ++self->next_seq,
                                                         META_TIMEOUT_MS);
    const Flow__Cluster__ClusterStatus *status = reply ? reply->cluster : NULL;
    const Flow__Cluster__ClusterMeta *meta = status ? status->meta : NULL;
    if (!meta) {
        if (reply)
            flow__cluster__meta_reply__free_unpacked(reply, NULL);
        return;
    }
    bool leader = streq(status->consensus_state, "leader");
    int64_t now = zclock_mono();
    uint64_t down_after = self->node->config->down_after_ms;
    for (size_t i = 0; i < self->n; i++)
        self->members[i].seen = false;
    for (size_t i = 0; i < meta->n_members; i++) {
        const Flow__Cluster__Member *m = meta->members[i];
        if (streq(m->node_id, self->node->node_id) || !m->peer_endpoint[0])
            continue;
        s_member_t *e = s_track(self, m, now);
        if (!e)
            continue;
        e->seen = true;
        s_ping(self, e, now);
        int64_t silent = now - e->answered_ms;
        if (leader && m->state == FLOW__CLUSTER__MEMBER_STATE__MEMBER_UP
            && silent >= (int64_t) down_after)
            s_ask(self, e, FLOW__CLUSTER__MEMBER_STATE__MEMBER_DOWN, now);
        else
        if (leader && (m->state == FLOW__CLUSTER__MEMBER_STATE__MEMBER_DOWN
                       || m->state == FLOW__CLUSTER__MEMBER_STATE__MEMBER_LOST)
            && silent < PING_TIMEOUT_MS)
            s_ask(self, e, FLOW__CLUSTER__MEMBER_STATE__MEMBER_UP, now);
        else
        if (leader && m->state == FLOW__CLUSTER__MEMBER_STATE__MEMBER_DOWN
            && silent >= (int64_t) self->node->config->replace_after_ms)
            s_ask(self, e, FLOW__CLUSTER__MEMBER_STATE__MEMBER_LOST, now);
    }
    for (size_t i = 0; i < self->n;) {
        if (self->members[i].seen) {
            i++;
            continue;
        }
        s_member_close(&self->members[i]);
        self->members[i] = self->members[--self->n];
        memset(&self->members[self->n], 0, sizeof self->members[self->n]);
    }
    flow__cluster__meta_reply__free_unpacked(reply, NULL);
}

static void
s_on_answer(s_member_t *e)
{
    zframe_t *frame = zframe_recv(e->sock);
    if (!frame)
        return;
    zframe_destroy(&frame);
    e->answered_ms = zclock_mono();
    e->sent_ms = 0;
}

static void
s_health_task(zsock_t *pipe, void *arg)
{
    self_t self = { .node = arg };
    zsock_signal(pipe, 0);
    zsock_signal(pipe, 0);
    int64_t next_tick = zclock_mono();
    bool done = false;
    while (!done) {
        zmq_pollitem_t items[1 + MEMBERS_MAX] = { { zsock_resolve(pipe), 0, ZMQ_POLLIN, 0 } };
        s_member_t *polled[MEMBERS_MAX];
        int nitems = 1;
        for (size_t i = 0; i < self.n; i++)
            if (self.members[i].sock) {
                polled[nitems - 1] = &self.members[i];
                items[nitems] = (zmq_pollitem_t) { zsock_resolve(self.members[i].sock), 0,
                                                   ZMQ_POLLIN, 0 };
                nitems++;
            }
        int64_t wait = next_tick - zclock_mono();
        if (zmq_poll(items, nitems, wait > 0 ? (long) wait : 0) < 0 && zmq_errno() != EINTR)
            break;
        if (items[0].revents & ZMQ_POLLIN) {
            char *command = zstr_recv(pipe);
            done = !command || streq(command, "$TERM");
            zstr_free(&command);
        }
        for (int i = 1; !done && i < nitems; i++)
            while (zsock_events(polled[i - 1]->sock) & ZMQ_POLLIN)
                s_on_answer(polled[i - 1]);
        if (!done && zclock_mono() >= next_tick) {
            s_tick(&self);
            next_tick = zclock_mono() + TICK_MS;
        }
    }
    for (size_t i = 0; i < self.n; i++)
        s_member_close(&self.members[i]);
    zsock_destroy(&self.meta);
}

zactor_t *
fl_health_new(fl_node_t *node)
{
    return fl_actor_start(s_health_task, node);
}
