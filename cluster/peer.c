/*  cluster/peer.c — the node-to-node socket; see peer.h.
 *
 *  One thread: a zactor whose loop polls the peer ROUTER (in the peer
 *  context), its DEALERs to this node's actors, and (between polls, with
 *  a short timeout) its pipe.  A join is handled to its end before the
 *  next request: it waits on the metadata thread (and, on a follower, on
 *  the leader's peer socket), which is bounded and rare.
 *
 *  Forwards: another member's session sends an ActorRequest for an actor
 *  of this node, MACed with the members' peer key (so a client that
 *  reaches this socket cannot pass a principal of its choosing).  It goes
 *  to the actor under a seq of this node's (`forwards`: local seq -> the
 *  requester's identity and seq) with its deadline made local again, and
 *  the actor's reply goes back with the requester's seq.  A partition
 *  this node does not own is answered UNAVAILABLE naming its owner: the
 *  requester's ring was stale.
 */
#include "cluster/peer.h"
#include "actors/session/session.h"
#include "cluster/handoff.h"
#include "cluster/meta.h"
#include "cluster/replica.h"
#include "node/actor.h"
#include "node/envelope.h"
#include "node/error.h"
#include "node/log.h"

#include <sodium.h>

#define POLL_MS 100
#define IDENTITY_MAX 256
#define PEER_FRAME_MAX (16 << 20)       /* a batch of replicated entries may be large */
#define META_TIMEOUT_MS 30000
#define FORWARD_TIMEOUT_MS 30000
#define BATCHES_MAX 16                  /* requesters answered together in one turn */
#define REPLIES_MAX 64                  /* answers in one message */
#define REPLIES_BYTES 32768             /* and their bytes */

/*  The answers to one requester's forwards collected in one turn of the
 *  loop: they leave in one message when the turn ends.  */
typedef struct {
    uint8_t identity[IDENTITY_MAX];
    size_t identity_len;
    Flow__Cluster__PeerReply replies[REPLIES_MAX];
    uint8_t *packed[REPLIES_MAX];       /* the ActorReplies they point into */
    size_t n, bytes;
} s_batch_t;

typedef struct {
    fl_peer_args_t *args;
    zsock_t *pipe;
    void *ctx;                          /* the peer context */
    void *sock;                         /* ROUTER, CURVE server */
    zsock_t *meta;                      /* DEALER to the metadata thread */
    zsock_t *meta_relay;                /* DEALER to the metadata thread: other members' changes */
    zsock_t *handoff;                   /* DEALER to the handoff thread: fences */
    zsock_t *replica;                   /* DEALER to the replication thread: entries */
    zhashx_t *relays;                   /* local seq -> s_forward_t, on those two */
    zsock_t *actors[FL_ACTOR_COUNT + 1];/* DEALER per actor type, made on first use */
    zsock_t *sessions;                  /* PUSH to this node's sessions, likewise */
    zhashx_t *forwards;                 /* local seq -> s_forward_t */
    s_batch_t *batches;                 /* BATCHES_MAX, answers of this turn */
    size_t nbatches;
    uint64_t next_seq;
    char why[256];                      /* a relayed refusal, until it is sent */
    bool serving;                       /* "SERVE" came: the ring and actors exist */
    bool terminated;
} self_t;

/*  ------------------------------------------------------------------
 *  Client side: one request to a peer socket, in a context of its own  */

static int
s_set_client_curve(void *sock, zcert_t *cert, const char *server_key)
{
    uint8_t server[32];
    if (!zmq_z85_decode(server, server_key))
        return FL_E_INVAL;
    int linger = 0;
    if (zmq_setsockopt(sock, ZMQ_CURVE_SERVERKEY, server, 32) != 0
        || zmq_setsockopt(sock, ZMQ_CURVE_PUBLICKEY, zcert_public_key(cert), 32) != 0
        || zmq_setsockopt(sock, ZMQ_CURVE_SECRETKEY, zcert_secret_key(cert), 32) != 0
        || zmq_setsockopt(sock, ZMQ_LINGER, &linger, sizeof linger) != 0)
        return FL_E_IO;
    return 0;
}

/*  Sends REQ to the peer socket at ENDPOINT (public key SERVER_KEY) and
 *  waits up to TIMEOUT_MS for the reply with its seq.  */
static int
s_call(const char *endpoint, const char *server_key, zcert_t *cert,
       const Flow__Cluster__PeerRequest *req, int timeout_ms, Flow__Cluster__PeerReply **reply_p)
{
    void *ctx = zmq_ctx_new();
    void *sock = ctx ? zmq_socket(ctx, ZMQ_DEALER) : NULL;
    int rc = sock ? s_set_client_curve(sock, cert, server_key) : FL_E_IO;
    if (rc == 0 && zmq_connect(sock, endpoint) != 0)
        rc = FL_E_INVAL;
    if (rc == 0) {
        size_t len = flow__cluster__peer_request__get_packed_size(req);
        uint8_t *buf = malloc(len ? len : 1);
        assert(buf);
        flow__cluster__peer_request__pack(req, buf);
        if (zmq_send(sock, buf, len, 0) < 0)
            rc = FL_E_IO;
        free(buf);
    }
    *reply_p = NULL;
    int64_t deadline = zclock_mono() + timeout_ms;
    while (rc == 0 && !*reply_p) {
        zmq_pollitem_t item = { sock, 0, ZMQ_POLLIN, 0 };
        int64_t left = deadline - zclock_mono();
        if (left <= 0 || zmq_poll(&item, 1, (long) left) <= 0) {
            rc = FL_E_TIMEDOUT;
            break;
        }
        zmq_msg_t msg;
        zmq_msg_init(&msg);
        if (zmq_msg_recv(&msg, sock, 0) >= 0) {
            Flow__Cluster__PeerReply *reply = flow__cluster__peer_reply__unpack(
                NULL, zmq_msg_size(&msg), zmq_msg_data(&msg));
            if (reply && reply->seq == req->seq)
                *reply_p = reply;
            else
            if (reply)
                flow__cluster__peer_reply__free_unpacked(reply, NULL);
        }
        zmq_msg_close(&msg);
    }
    if (sock)
        zmq_close(sock);
    if (ctx)
        zmq_ctx_term(ctx);
    return rc;
}

int
fl_peer_join(const char *endpoint, const fl_join_credential_t *credential, zcert_t *cert,
             const Flow__Cluster__Member *member, int timeout_ms,
             Flow__Cluster__PeerReply **reply_p, char *why, size_t whylen)
{
    Flow__Cluster__JoinRequest join = FLOW__CLUSTER__JOIN_REQUEST__INIT;
    join.secret.data = (uint8_t *) credential->secret;
    join.secret.len = sizeof credential->secret;
    join.member = (Flow__Cluster__Member *) member;
    Flow__Cluster__PeerRequest req = FLOW__CLUSTER__PEER_REQUEST__INIT;
    req.version = FL_PROTOCOL_VERSION;
    req.seq = (uint64_t) zclock_usecs();
    req.body_case = FLOW__CLUSTER__PEER_REQUEST__BODY_JOIN;
    req.join = &join;
    Flow__Cluster__PeerReply *reply = NULL;
    int rc = s_call(endpoint, credential->server_key, cert, &req, timeout_ms, &reply);
    if (rc) {
        snprintf(why, whylen, rc == FL_E_TIMEDOUT
                 ? "no answer from %s within %d ms (is it a member's peer endpoint, and does "
                   "the credential name that member's key?)"
                 : "cannot reach %s", endpoint, timeout_ms);
        return rc == FL_E_TIMEDOUT ? rc : FL_E_REFUSED;
    }
    if (!fl_peer_join_reply_valid(reply)) {
        snprintf(why, whylen, "%s", reply->message[0] ? reply->message : "refused");
        rc = reply->status == FLOW__STATUS__PERMISSION_DENIED ? FL_E_DENIED : FL_E_REFUSED;
        flow__cluster__peer_reply__free_unpacked(reply, NULL);
        return rc;
    }
    *reply_p = reply;
    return 0;
}

int
fl_peer_meta(const char *endpoint, const char *server_key, zcert_t *cert,
             const uint8_t peer_key[32], const Flow__Cluster__MetaRequest *meta, int timeout_ms,
             Flow__Cluster__MetaReply **reply_p)
{
    *reply_p = NULL;
    zframe_t *packed = fl_envelope_pack(&meta->base);
    if (!packed)
        return FL_E_NOMEM;
    uint8_t mac[32];
    fl_peer_mac(peer_key, zframe_data(packed), zframe_size(packed), mac);
    Flow__Cluster__PeerRequest req = FLOW__CLUSTER__PEER_REQUEST__INIT;
    req.version = FL_PROTOCOL_VERSION;
    req.seq = (uint64_t) zclock_usecs();
    req.mac = (ProtobufCBinaryData) { sizeof mac, mac };
    req.body_case = FLOW__CLUSTER__PEER_REQUEST__BODY_META;
    req.meta = (ProtobufCBinaryData) { zframe_size(packed), zframe_data(packed) };
    Flow__Cluster__PeerReply *reply = NULL;
    int rc = s_call(endpoint, server_key, cert, &req, timeout_ms, &reply);
    zframe_destroy(&packed);
    if (rc)
        return rc;
    if (reply->body_case == FLOW__CLUSTER__PEER_REPLY__BODY_META_REPLY)
        *reply_p = flow__cluster__meta_reply__unpack(NULL, reply->meta_reply.len,
                                                     reply->meta_reply.data);
    else {
        Flow__Cluster__MetaReply refused = FLOW__CLUSTER__META_REPLY__INIT;
        refused.seq = meta->seq;
        refused.status = reply->status == FLOW__STATUS__OK ? FLOW__STATUS__INTERNAL
                                                           : reply->status;
        refused.message = reply->message;
        zframe_t *copy = fl_envelope_pack(&refused.base);
        *reply_p = copy ? flow__cluster__meta_reply__unpack(NULL, zframe_size(copy),
                                                            zframe_data(copy)) : NULL;
        zframe_destroy(&copy);
    }
    flow__cluster__peer_reply__free_unpacked(reply, NULL);
    return *reply_p ? 0 : FL_E_NOMEM;
}

Flow__Cluster__MetaReply *
fl_peer_ask_leader(zsock_t **dealer, const fl_node_t *node, Flow__Cluster__MetaRequest *req,
                   int timeout_ms)
{
    Flow__Cluster__MetaReply *reply = fl_meta_ask(dealer, req, timeout_ms);
    if (!reply || reply->status != FLOW__STATUS__UNAVAILABLE || !reply->leader_peer[0])
        return reply;
    char endpoint[256], key[64];
    snprintf(endpoint, sizeof endpoint, "%s", reply->leader_peer);
    snprintf(key, sizeof key, "%s", reply->leader_key);
    flow__cluster__meta_reply__free_unpacked(reply, NULL);
    reply = NULL;
    if (fl_peer_meta(endpoint, key, (zcert_t *) node->cert, node->peer_key, req, timeout_ms,
                     &reply) != 0)
        return NULL;
    return reply;
}

/*  ------------------------------------------------------------------
 *  Server side  */

typedef struct {
    uint8_t identity[IDENTITY_MAX];
    size_t identity_len;
    uint64_t seq;                       /* the requester's */
    uint64_t inner_seq;                 /* a relayed MetaRequest's own seq */
} s_forward_t;

static void
s_forward_free(void **item)
{
    free(*item);
    *item = NULL;
}

static bool
s_readable(void *sock)
{
    int events = 0;
    size_t len = sizeof events;
    return zmq_getsockopt(sock, ZMQ_EVENTS, &events, &len) == 0 && (events & ZMQ_POLLIN);
}

int
fl_peer_send(zsock_t *sock, const uint8_t peer_key[32], uint64_t seq,
             Flow__Cluster__PeerRequest__BodyCase kind, const ProtobufCMessage *body)
{
    zframe_t *packed = fl_envelope_pack(body);
    if (!packed)
        return FL_E_BUSY;
    uint8_t mac[32];
    fl_peer_mac(peer_key, zframe_data(packed), zframe_size(packed), mac);
    Flow__Cluster__PeerRequest req = FLOW__CLUSTER__PEER_REQUEST__INIT;
    req.version = FL_PROTOCOL_VERSION;
    req.seq = seq;
    req.mac = (ProtobufCBinaryData) { sizeof mac, mac };
    req.body_case = kind;
    ProtobufCBinaryData bytes = { zframe_size(packed), zframe_data(packed) };
    switch (kind) {
    case FLOW__CLUSTER__PEER_REQUEST__BODY_FENCE:         req.fence = bytes; break;
    case FLOW__CLUSTER__PEER_REQUEST__BODY_META:          req.meta = bytes; break;
    case FLOW__CLUSTER__PEER_REQUEST__BODY_REPLICATE:     req.replicate = bytes; break;
    case FLOW__CLUSTER__PEER_REQUEST__BODY_REPLICA_QUERY: req.replica_query = bytes; break;
    default:
        assert(kind == FLOW__CLUSTER__PEER_REQUEST__BODY_PULL);
        req.pull = bytes;
    }
    zframe_t *wire = fl_envelope_pack(&req.base);
    zframe_destroy(&packed);
    if (wire && zframe_send(&wire, sock, ZFRAME_DONTWAIT) == 0)
        return 0;
    zframe_destroy(&wire);
    return FL_E_BUSY;
}

void
fl_peer_keepalive(zsock_t *sock)
{
    zsock_set_heartbeat_ivl(sock, 1000);
    zsock_set_heartbeat_timeout(sock, 3000);
    zsock_set_heartbeat_ttl(sock, 4000);
}

void
fl_peer_mac(const uint8_t key[32], const void *data, size_t len, uint8_t mac[32])
{
    crypto_generichash(mac, 32, data, len, key, 32);
}

static void
s_send_to(self_t *self, const void *identity, size_t identity_len,
          const Flow__Cluster__PeerReply *reply)
{
    size_t len = flow__cluster__peer_reply__get_packed_size(reply);
    uint8_t *buf = malloc(len ? len : 1);
    assert(buf);
    flow__cluster__peer_reply__pack(reply, buf);
    if (zmq_send(self->sock, identity, identity_len, ZMQ_SNDMORE | ZMQ_DONTWAIT) >= 0)
        zmq_send(self->sock, buf, len, ZMQ_DONTWAIT);
    free(buf);
}

static void
s_send_reply(self_t *self, zmq_msg_t *identity, const Flow__Cluster__PeerReply *reply)
{
    s_send_to(self, zmq_msg_data(identity), zmq_msg_size(identity), reply);
}

/*  True when MAC is the members' MAC of DATA.  */
static bool
s_from_member(const self_t *self, const ProtobufCBinaryData *mac, const ProtobufCBinaryData *data)
{
    uint8_t expected[32];
    fl_peer_mac(self->args->node->peer_key, data->data, data->len, expected);
    return mac->len == sizeof expected && sodium_memcmp(mac->data, expected, sizeof expected) == 0;
}

/*  One forward of a batch: handed to its actor, whose reply goes back
 *  later (s_take_actor_reply); answered now only when refused.  */
static void
s_forward(self_t *self, const Flow__Cluster__Forward *fwd, zmq_msg_t *identity)
{
    Flow__Cluster__PeerReply reply = FLOW__CLUSTER__PEER_REPLY__INIT;
    reply.seq = fwd->seq;
    Flow__Cluster__ActorRequest *ar = flow__cluster__actor_request__unpack(
        NULL, fwd->request.len, fwd->request.data);
    const fl_ring_t *ring = fl_node_ring(self->args->node);
    zframe_t *refusal = NULL;
    if (!ar || ar->actor < FLOW__ACTOR__ACTOR_USER || ar->actor > FLOW__ACTOR__ACTOR_NOTIFY) {
        reply.status = FLOW__STATUS__INVALID_ARGUMENT;
        reply.message = "forward: not an ActorRequest for a data actor";
    }
    else
    if (ar->actor != FLOW__ACTOR__ACTOR_GEO && !fl_ring_is_local(ring, ar->partition)) {
        /*  The sender's ring is older or newer than this node's, or the
         *  partition is moving: it routes the request again.  */
        snprintf(self->why, sizeof self->why, "partition %u is %s node %s at epoch %" PRIu64,
                 ar->partition, fl_ring_is_fenced(ring, ar->partition) ? "moving away from"
                                                                       : "owned by",
                 fl_ring_owner(ring, ar->partition), fl_ring_epoch(ring));
        refusal = fl_envelope_pack_reroute(fwd->seq, ar->request ? ar->request->id : 0, self->why);
        assert(refusal);
        reply.body_case = FLOW__CLUSTER__PEER_REPLY__BODY_ACTOR_REPLY;
        reply.actor_reply = (ProtobufCBinaryData) { zframe_size(refusal), zframe_data(refusal) };
    }
    else {
        s_forward_t *f = calloc(1, sizeof *f);
        assert(f);
        memcpy(f->identity, zmq_msg_data(identity), zmq_msg_size(identity));
        f->identity_len = zmq_msg_size(identity);
        f->seq = fwd->seq;
        ar->seq = ++self->next_seq;
        ar->deadline_us = zclock_usecs() + (int64_t) fwd->timeout_us;
        zhashx_insert(self->forwards, (void *) (uintptr_t) ar->seq, f);
        if (!self->actors[ar->actor])
            self->actors[ar->actor] = zsock_new_dealer(fl_actor_endpoint(ar->actor));
        zframe_t *frame = fl_envelope_pack(&ar->base);
        if (!frame || zframe_send(&frame, self->actors[ar->actor], ZFRAME_DONTWAIT) != 0) {
            zframe_destroy(&frame);
            zhashx_delete(self->forwards, (void *) (uintptr_t) ar->seq);
            reply.status = FLOW__STATUS__UNAVAILABLE;
            reply.message = "forward: the actor is not taking requests (node stopping?)";
        }
    }
    if (reply.status != FLOW__STATUS__OK || refusal)
        s_send_reply(self, identity, &reply);
    zframe_destroy(&refusal);
    if (ar)
        flow__cluster__actor_request__free_unpacked(ar, NULL);
}

/*  Forwards: the batch is checked as a whole (the members' MAC), then
 *  each goes to its actor.  False when the batch itself is refused (the
 *  refusal is in REPLY, under the batch's seq).  */
static bool
s_handle_forwards(self_t *self, const Flow__Cluster__PeerRequest *req, zmq_msg_t *identity,
                  Flow__Cluster__PeerReply *reply)
{
    if (!s_from_member(self, &req->mac, &req->forwards)) {
        reply->status = FLOW__STATUS__PERMISSION_DENIED;
        reply->message = "forward: not from a member of this cluster";
        return false;
    }
    Flow__Cluster__ForwardBatch *batch = flow__cluster__forward_batch__unpack(
        NULL, req->forwards.len, req->forwards.data);
    if (!batch || zmq_msg_size(identity) > IDENTITY_MAX) {
        reply->status = FLOW__STATUS__INVALID_ARGUMENT;
        reply->message = "forward: not a flow.cluster.ForwardBatch";
        if (batch)
            flow__cluster__forward_batch__free_unpacked(batch, NULL);
        return false;
    }
    for (size_t i = 0; i < batch->n_forwards; i++) {
        if (self->serving) {
            s_forward(self, batch->forwards[i], identity);
            continue;
        }
        Flow__Cluster__PeerReply starting = FLOW__CLUSTER__PEER_REPLY__INIT;
        starting.seq = batch->forwards[i]->seq;
        starting.status = FLOW__STATUS__UNAVAILABLE;
        starting.message = "forward: this node is starting; retry shortly";
        s_send_reply(self, identity, &starting);
    }
    flow__cluster__forward_batch__free_unpacked(batch, NULL);
    return true;
}

/*  Sessions ended on another node: this node's sessions refuse their
 *  tokens too.  */
static void
s_handle_revoke(self_t *self, const Flow__Cluster__PeerRequest *req,
                Flow__Cluster__PeerReply *reply)
{
    Flow__Cluster__Revocations *r = NULL;
    if (!s_from_member(self, &req->mac, &req->revoke)) {
        reply->status = FLOW__STATUS__PERMISSION_DENIED;
        reply->message = "revoke: not from a member of this cluster";
        return;
    }
    if (!(r = flow__cluster__revocations__unpack(NULL, req->revoke.len, req->revoke.data))) {
        reply->status = FLOW__STATUS__INVALID_ARGUMENT;
        reply->message = "revoke: not a Revocations message";
        return;
    }
    if (!self->sessions) {
        self->sessions = zsock_new_push(FL_SESSION_PUBLISH_ENDPOINT);
        zsock_set_sndhwm(self->sessions, 100000);
    }
    Flow__Cluster__Publication p = FLOW__CLUSTER__PUBLICATION__INIT;
    p.revoked = r->revoked;
    p.n_revoked = r->n_revoked;
    zframe_t *frame = fl_envelope_pack(&p.base);
    if (zframe_send(&frame, self->sessions, ZFRAME_DONTWAIT) != 0)
        zframe_destroy(&frame);
    fl_info("peer", "sessions ended on another member", "sessions=%zu", r->n_revoked);
    flow__cluster__revocations__free_unpacked(r, NULL);
}

/*  Sends MSG to another thread over *DEALER (connected to ENDPOINT on
 *  first use) under the requester's IDENTITY and SEQ, to be answered when
 *  that thread answers; false when it could not be sent.  Slow work
 *  elsewhere (a consensus commit, a fence's fsync) never holds up this
 *  thread's other requests.  */
static bool
s_relay(self_t *self, zsock_t **dealer, const char *endpoint, const ProtobufCMessage *msg,
        uint64_t local_seq, zmq_msg_t *identity, uint64_t seq, uint64_t inner_seq)
{
    if (!*dealer)
        *dealer = zsock_new_dealer(endpoint);
    zframe_t *frame = *dealer ? fl_envelope_pack(msg) : NULL;
    if (!frame || zmq_msg_size(identity) > IDENTITY_MAX
        || zframe_send(&frame, *dealer, ZFRAME_DONTWAIT) != 0) {
        zframe_destroy(&frame);
        return false;
    }
    s_forward_t *f = calloc(1, sizeof *f);
    assert(f);
    memcpy(f->identity, zmq_msg_data(identity), zmq_msg_size(identity));
    f->identity_len = zmq_msg_size(identity);
    f->seq = seq;
    f->inner_seq = inner_seq;
    zhashx_insert(self->relays, (void *) (uintptr_t) local_seq, f);
    return true;
}

/*  The metadata thread's answer to a relayed change: to the member that
 *  asked, under its seqs.  */
static void
s_take_meta_reply(self_t *self)
{
    zframe_t *frame = zframe_recv(self->meta_relay);
    Flow__Cluster__MetaReply *meta = frame
        ? flow__cluster__meta_reply__unpack(NULL, zframe_size(frame), zframe_data(frame)) : NULL;
    zframe_destroy(&frame);
    s_forward_t *f = meta ? zhashx_lookup(self->relays, (void *) (uintptr_t) meta->seq) : NULL;
    if (f) {
        uint64_t local = meta->seq;
        meta->seq = f->inner_seq;
        zframe_t *answer = fl_envelope_pack(&meta->base);
        Flow__Cluster__PeerReply reply = FLOW__CLUSTER__PEER_REPLY__INIT;
        reply.seq = f->seq;
        reply.status = answer ? FLOW__STATUS__OK : FLOW__STATUS__INTERNAL;
        if (answer) {
            reply.body_case = FLOW__CLUSTER__PEER_REPLY__BODY_META_REPLY;
            reply.meta_reply = (ProtobufCBinaryData) { zframe_size(answer), zframe_data(answer) };
        }
        s_send_to(self, f->identity, f->identity_len, &reply);
        zframe_destroy(&answer);
        zhashx_delete(self->relays, (void *) (uintptr_t) local);
    }
    if (meta)
        flow__cluster__meta_reply__free_unpacked(meta, NULL);
}

/*  The handoff thread's answer to a relayed fence.  */
static void
s_take_handoff_reply(self_t *self)
{
    zframe_t *frame = zframe_recv(self->handoff);
    Flow__Cluster__HandoffReply *in = frame
        ? flow__cluster__handoff_reply__unpack(NULL, zframe_size(frame), zframe_data(frame))
        : NULL;
    zframe_destroy(&frame);
    s_forward_t *f = in ? zhashx_lookup(self->relays, (void *) (uintptr_t) in->seq) : NULL;
    if (f) {
        Flow__Cluster__PeerReply reply = FLOW__CLUSTER__PEER_REPLY__INIT;
        reply.seq = f->seq;
        reply.status = in->status;
        reply.message = in->message;
        if (in->summary) {
            reply.body_case = FLOW__CLUSTER__PEER_REPLY__BODY_CHUNK;
            reply.chunk = in->summary;
        }
        s_send_to(self, f->identity, f->identity_len, &reply);
        zhashx_delete(self->relays, (void *) (uintptr_t) in->seq);
    }
    if (in)
        flow__cluster__handoff_reply__free_unpacked(in, NULL);
}

/*  The replication thread's answer to relayed entries or a question.  */
static void
s_take_replica_reply(self_t *self)
{
    zframe_t *frame = zframe_recv(self->replica);
    Flow__Cluster__ReplicaReply *in = frame
        ? flow__cluster__replica_reply__unpack(NULL, zframe_size(frame), zframe_data(frame))
        : NULL;
    zframe_destroy(&frame);
    s_forward_t *f = in ? zhashx_lookup(self->relays, (void *) (uintptr_t) in->seq) : NULL;
    if (f) {
        Flow__Cluster__PeerReply reply = FLOW__CLUSTER__PEER_REPLY__INIT;
        reply.seq = f->seq;
        reply.status = in->status;
        reply.message = in->message;
        if (in->positions) {
            reply.body_case = FLOW__CLUSTER__PEER_REPLY__BODY_POSITIONS;
            reply.positions = in->positions;
        }
        s_send_to(self, f->identity, f->identity_len, &reply);
        zhashx_delete(self->relays, (void *) (uintptr_t) in->seq);
    }
    if (in)
        flow__cluster__replica_reply__free_unpacked(in, NULL);
}

/*  A partition's primary sends entries to this node, a replica, or a
 *  member taking partitions over asks where this node's copies stand:
 *  answered when the replication thread has made them durable.  */
static bool
s_handle_replica(self_t *self, const Flow__Cluster__PeerRequest *req, zmq_msg_t *identity,
                 Flow__Cluster__PeerReply *reply)
{
    bool entries = req->body_case == FLOW__CLUSTER__PEER_REQUEST__BODY_REPLICATE;
    const ProtobufCBinaryData *body = entries ? &req->replicate : &req->replica_query;
    if (!s_from_member(self, &req->mac, body)) {
        reply->status = FLOW__STATUS__PERMISSION_DENIED;
        reply->message = "replicate: not from a member of this cluster";
        return false;
    }
    if (!self->serving) {
        reply->status = FLOW__STATUS__UNAVAILABLE;
        reply->message = "replicate: this node is starting; retry shortly";
        return false;
    }
    Flow__Cluster__ReplicaRequest ask = FLOW__CLUSTER__REPLICA_REQUEST__INIT;
    ask.seq = ++self->next_seq;
    ask.body_case = entries ? FLOW__CLUSTER__REPLICA_REQUEST__BODY_BATCH
                            : FLOW__CLUSTER__REPLICA_REQUEST__BODY_QUERY;
    if (entries)
        ask.batch = *body;
    else
        ask.query = *body;
    bool sent = s_relay(self, &self->replica, FL_REPLICA_PEER_ENDPOINT, &ask.base, ask.seq,
                        identity, req->seq, 0);
    if (!sent) {
        reply->status = FLOW__STATUS__UNAVAILABLE;
        reply->message = "replicate: the replication thread is not taking requests";
    }
    return sent;
}

/*  A member asks this node, the leader, for a change of the metadata
 *  (flip, leave, remove); answered when the metadata thread answers, or
 *  now when refused (false).  */
static bool
s_handle_meta(self_t *self, const Flow__Cluster__PeerRequest *req, zmq_msg_t *identity,
              Flow__Cluster__PeerReply *reply)
{
    if (!s_from_member(self, &req->mac, &req->meta)) {
        reply->status = FLOW__STATUS__PERMISSION_DENIED;
        reply->message = "meta: not from a member of this cluster";
        return false;
    }
    Flow__Cluster__MetaRequest *ask =
        flow__cluster__meta_request__unpack(NULL, req->meta.len, req->meta.data);
    if (!ask || (ask->body_case != FLOW__CLUSTER__META_REQUEST__BODY_FLIP
                 && ask->body_case != FLOW__CLUSTER__META_REQUEST__BODY_LEAVE
                 && ask->body_case != FLOW__CLUSTER__META_REQUEST__BODY_REMOVE)) {
        reply->status = FLOW__STATUS__INVALID_ARGUMENT;
        reply->message = "meta: a flip, leave or remove request";
        if (ask)
            flow__cluster__meta_request__free_unpacked(ask, NULL);
        return false;
    }
    uint64_t inner = ask->seq;
    ask->seq = ++self->next_seq;
    bool sent = s_relay(self, &self->meta_relay, FL_META_ENDPOINT, &ask->base, ask->seq,
                        identity, req->seq, inner);
    flow__cluster__meta_request__free_unpacked(ask, NULL);
    if (!sent) {
        reply->status = FLOW__STATUS__UNAVAILABLE;
        reply->message = "meta: the metadata thread is not taking requests";
    }
    return sent;
}

/*  The node a partition moves to pulls a chunk of it (answered now), or
 *  asks for its fence (answered when the handoff thread has fenced it;
 *  true then).  */
static bool
s_handle_transfer(self_t *self, const Flow__Cluster__PeerRequest *req, zmq_msg_t *identity,
                  Flow__Cluster__PeerReply *reply, Flow__Cluster__TransferChunk *chunk)
{
    bool fence = req->body_case == FLOW__CLUSTER__PEER_REQUEST__BODY_FENCE;
    const ProtobufCBinaryData *body = fence ? &req->fence : &req->pull;
    if (!s_from_member(self, &req->mac, body)) {
        reply->status = FLOW__STATUS__PERMISSION_DENIED;
        reply->message = "transfer: not from a member of this cluster";
        return false;
    }
    if (!self->serving) {
        reply->status = FLOW__STATUS__UNAVAILABLE;
        reply->message = "transfer: this node is starting; retry shortly";
        return false;
    }
    Flow__Cluster__TransferPull *pull =
        flow__cluster__transfer_pull__unpack(NULL, body->len, body->data);
    if (!pull) {
        reply->status = FLOW__STATUS__INVALID_ARGUMENT;
        reply->message = "transfer: not a TransferPull";
        return false;
    }
    bool sent = false;
    if (!fence) {
        reply->status = fl_handoff_chunk(self->args->node, pull, chunk, self->why,
                                         sizeof self->why);
        reply->message = self->why;
        if (reply->status == FLOW__STATUS__OK) {
            reply->body_case = FLOW__CLUSTER__PEER_REPLY__BODY_CHUNK;
            reply->chunk = chunk;
        }
    }
    else {
        Flow__Cluster__HandoffRequest ask = FLOW__CLUSTER__HANDOFF_REQUEST__INIT;
        ask.seq = ++self->next_seq;
        ask.body_case = FLOW__CLUSTER__HANDOFF_REQUEST__BODY_FENCE;
        ask.fence = pull;
        sent = s_relay(self, &self->handoff, FL_HANDOFF_ENDPOINT, &ask.base, ask.seq, identity,
                       req->seq, 0);
        if (!sent) {
            reply->status = FLOW__STATUS__UNAVAILABLE;
            reply->message = "fence: the handoff thread is not taking requests";
        }
    }
    flow__cluster__transfer_pull__free_unpacked(pull, NULL);
    return sent;
}

static void
s_flush_batch(self_t *self, s_batch_t *batch)
{
    if (batch->n == 0)
        return;
    Flow__Cluster__PeerReply *items[REPLIES_MAX];
    for (size_t i = 0; i < batch->n; i++)
        items[i] = &batch->replies[i];
    Flow__Cluster__PeerReplies replies = FLOW__CLUSTER__PEER_REPLIES__INIT;
    replies.replies = items;
    replies.n_replies = batch->n;
    Flow__Cluster__PeerReply reply = FLOW__CLUSTER__PEER_REPLY__INIT;
    reply.body_case = FLOW__CLUSTER__PEER_REPLY__BODY_REPLIES;
    reply.replies = &replies;
    s_send_to(self, batch->identity, batch->identity_len, &reply);
    for (size_t i = 0; i < batch->n; i++)
        free(batch->packed[i]);
    batch->n = 0;
    batch->bytes = 0;
}

/*  Sends the answers collected in this turn, one message per requester. */
static void
s_flush_batches(self_t *self)
{
    for (size_t i = 0; i < self->nbatches; i++)
        s_flush_batch(self, &self->batches[i]);
    self->nbatches = 0;
}

/*  The batch for the requester IDENTITY, with room for LEN more bytes. */
static s_batch_t *
s_batch(self_t *self, const uint8_t *identity, size_t identity_len, size_t len)
{
    s_batch_t *batch = NULL;
    for (size_t i = 0; i < self->nbatches && !batch; i++)
        if (self->batches[i].identity_len == identity_len
            && memcmp(self->batches[i].identity, identity, identity_len) == 0)
            batch = &self->batches[i];
    if (!batch && self->nbatches == BATCHES_MAX)
        s_flush_batches(self);
    if (!batch) {
        batch = &self->batches[self->nbatches++];
        memcpy(batch->identity, identity, identity_len);
        batch->identity_len = identity_len;
    }
    if (batch->n == REPLIES_MAX || batch->bytes + len > REPLIES_BYTES)
        s_flush_batch(self, batch);
    return batch;
}

/*  An actor's reply to a forward: into the requester's batch, under the
 *  requester's seq.  */
static void
s_take_actor_reply(self_t *self, zsock_t *dealer)
{
    zframe_t *frame = zframe_recv(dealer);
    if (!frame)
        return;
    Flow__Cluster__ActorReply *ar =
        flow__cluster__actor_reply__unpack(NULL, zframe_size(frame), zframe_data(frame));
    zframe_destroy(&frame);
    s_forward_t *f = ar ? zhashx_lookup(self->forwards, (void *) (uintptr_t) ar->seq) : NULL;
    if (f) {
        uint64_t local = ar->seq;
        ar->seq = f->seq;
        size_t len = flow__cluster__actor_reply__get_packed_size(ar);
        uint8_t *buf = malloc(len ? len : 1);
        assert(buf);
        flow__cluster__actor_reply__pack(ar, buf);
        s_batch_t *batch = s_batch(self, f->identity, f->identity_len, len);
        Flow__Cluster__PeerReply *reply = &batch->replies[batch->n];
        *reply = (Flow__Cluster__PeerReply) FLOW__CLUSTER__PEER_REPLY__INIT;
        reply->seq = f->seq;
        reply->body_case = FLOW__CLUSTER__PEER_REPLY__BODY_ACTOR_REPLY;
        reply->actor_reply = (ProtobufCBinaryData) { len, buf };
        batch->packed[batch->n++] = buf;
        batch->bytes += len;
        zhashx_delete(self->forwards, (void *) (uintptr_t) local);    /* frees f */
    }
    if (ar)
        flow__cluster__actor_reply__free_unpacked(ar, NULL);
}

/*  Asks the metadata thread to add MEMBER; NULL when it did not answer. */
static Flow__Cluster__MetaReply *
s_meta_join(self_t *self, const Flow__Cluster__Member *member)
{
    Flow__Cluster__MetaRequest req = FLOW__CLUSTER__META_REQUEST__INIT;
    req.seq = ++self->next_seq;
    req.body_case = FLOW__CLUSTER__META_REQUEST__BODY_JOIN;
    req.join = (Flow__Cluster__Member *) member;
    return fl_meta_ask(&self->meta, &req, META_TIMEOUT_MS);
}

/*  A follower passes the join on to the leader, as a member itself, and
 *  relays the leader's answer.  */
static void
s_forward_join(self_t *self, const Flow__Cluster__JoinRequest *join,
               const Flow__Cluster__MetaReply *meta, Flow__Cluster__PeerReply *reply,
               Flow__Cluster__PeerReply **relayed)
{
    fl_join_credential_t leader;
    snprintf(leader.server_key, sizeof leader.server_key, "%s", meta->leader_key);
    memcpy(leader.secret, self->args->keys->join, sizeof leader.secret);
    int rc = fl_peer_join(meta->leader_peer, &leader, self->args->keys->node, join->member,
                          FORWARD_TIMEOUT_MS, relayed, self->why, sizeof self->why);
    sodium_memzero(&leader, sizeof leader);
    if (rc == 0)
        return;
    reply->status = rc == FL_E_DENIED ? FLOW__STATUS__PERMISSION_DENIED : FLOW__STATUS__UNAVAILABLE;
    reply->message = self->why;
}

Flow__Status
fl_peer_check_join(const Flow__Cluster__JoinRequest *join, const fl_keys_t *keys,
                   const char **why)
{
    if (join->secret.len != FL_KEYS_JOIN_BYTES || !keys->member
        || sodium_memcmp(join->secret.data, keys->join, FL_KEYS_JOIN_BYTES) != 0) {
        *why = "join: wrong join credential";
        return FLOW__STATUS__PERMISSION_DENIED;
    }
    const Flow__Cluster__Member *m = join->member;
    if (!m || !m->node_id[0] || strlen(m->node_id) >= FL_NODE_ID_MAX || !m->raft_id
        || !m->raft_address[0] || strlen(m->raft_address) >= 64 || !m->peer_endpoint[0]
        || strlen(m->peer_endpoint) >= 256 || strlen(m->client_endpoint) >= 256
        || strlen(m->public_key) != 40) {
        *why = "join: the member record is incomplete or too long";
        return FLOW__STATUS__INVALID_ARGUMENT;
    }
    return FLOW__STATUS__OK;
}

bool
fl_peer_join_reply_valid(const Flow__Cluster__PeerReply *reply)
{
    return reply->status == FLOW__STATUS__OK
           && reply->body_case == FLOW__CLUSTER__PEER_REPLY__BODY_JOIN
           && reply->join->cluster_key.len == FL_KEYS_CLUSTER_BYTES
           && reply->join->secret.len == FL_KEYS_JOIN_BYTES;
}

static void
s_handle_join(self_t *self, const Flow__Cluster__JoinRequest *join,
              Flow__Cluster__PeerReply *reply, Flow__Cluster__MetaReply **meta_p,
              Flow__Cluster__PeerReply **relayed, Flow__Cluster__JoinReply *accepted)
{
    const fl_keys_t *keys = self->args->keys;
    const char *why = NULL;
    reply->status = fl_peer_check_join(join, keys, &why);
    if (reply->status != FLOW__STATUS__OK) {
        reply->message = (char *) why;
        fl_warn("peer", reply->status == FLOW__STATUS__PERMISSION_DENIED
                        ? "join refused: wrong join credential" : "join refused",
                "node=%s", join->member ? join->member->node_id : "?");
        return;
    }
    Flow__Cluster__MetaReply *meta = s_meta_join(self, join->member);
    *meta_p = meta;
    if (!meta) {
        reply->status = FLOW__STATUS__UNAVAILABLE;
        reply->message = "join: the metadata thread did not answer in time";
        return;
    }
    if (meta->status == FLOW__STATUS__UNAVAILABLE && meta->leader_peer[0]) {
        s_forward_join(self, join, meta, reply, relayed);
        return;
    }
    reply->status = meta->status;
    reply->message = meta->message;
    if (meta->status != FLOW__STATUS__OK)
        return;
    accepted->cluster_key.data = (uint8_t *) keys->cluster;
    accepted->cluster_key.len = FL_KEYS_CLUSTER_BYTES;
    accepted->secret.data = (uint8_t *) keys->join;
    accepted->secret.len = FL_KEYS_JOIN_BYTES;
    accepted->meta = meta->cluster ? meta->cluster->meta : NULL;
    reply->body_case = FLOW__CLUSTER__PEER_REPLY__BODY_JOIN;
    reply->join = accepted;
}

static void
s_handle(self_t *self)
{
    zmq_msg_t identity, body;
    zmq_msg_init(&identity);
    zmq_msg_init(&body);
    if (zmq_msg_recv(&identity, self->sock, ZMQ_DONTWAIT) < 0) {
        zmq_msg_close(&identity);
        zmq_msg_close(&body);
        return;
    }
    bool more = zmq_msg_more(&identity);
    if (more)
        zmq_msg_recv(&body, self->sock, 0);
    while (zmq_msg_more(&body)) {           /* extra frames: drained, not read */
        zmq_msg_t extra;
        zmq_msg_init(&extra);
        zmq_msg_recv(&extra, self->sock, 0);
        bool again = zmq_msg_more(&extra);
        zmq_msg_close(&extra);
        if (!again)
            break;
    }
    Flow__Cluster__PeerRequest *req = zmq_msg_size(&body) <= PEER_FRAME_MAX
        ? flow__cluster__peer_request__unpack(NULL, zmq_msg_size(&body), zmq_msg_data(&body))
        : NULL;
    Flow__Cluster__PeerReply reply = FLOW__CLUSTER__PEER_REPLY__INIT;
    Flow__Cluster__JoinReply accepted = FLOW__CLUSTER__JOIN_REPLY__INIT;
    Flow__Cluster__MetaReply *meta = NULL;
    Flow__Cluster__PeerReply *relayed = NULL;
    Flow__Cluster__TransferChunk chunk = FLOW__CLUSTER__TRANSFER_CHUNK__INIT;
    bool later = false;                 /* answered when another thread answers */
    if (!req || req->version != FL_PROTOCOL_VERSION) {
        reply.status = FLOW__STATUS__INVALID_ARGUMENT;
        reply.message = "not a flow.cluster.PeerRequest of protocol version 1";
    }
    else {
        reply.seq = req->seq;
        if (req->body_case == FLOW__CLUSTER__PEER_REQUEST__BODY_JOIN)
            s_handle_join(self, req->join, &reply, &meta, &relayed, &accepted);
        else
        if (req->body_case == FLOW__CLUSTER__PEER_REQUEST__BODY_REVOKE)
            s_handle_revoke(self, req, &reply);
        else
        if (req->body_case == FLOW__CLUSTER__PEER_REQUEST__BODY_PING)
            reply.status = FLOW__STATUS__OK;
        else
        if (req->body_case == FLOW__CLUSTER__PEER_REQUEST__BODY_META)
            later = s_handle_meta(self, req, &identity, &reply);
        else
        if (req->body_case == FLOW__CLUSTER__PEER_REQUEST__BODY_PULL
            || req->body_case == FLOW__CLUSTER__PEER_REQUEST__BODY_FENCE)
            later = s_handle_transfer(self, req, &identity, &reply, &chunk);
        else
        if (req->body_case == FLOW__CLUSTER__PEER_REQUEST__BODY_REPLICATE
            || req->body_case == FLOW__CLUSTER__PEER_REQUEST__BODY_REPLICA_QUERY)
            later = s_handle_replica(self, req, &identity, &reply);
        else
        if (req->body_case == FLOW__CLUSTER__PEER_REQUEST__BODY_FORWARDS) {
            if (s_handle_forwards(self, req, &identity, &reply)) {
                flow__cluster__peer_request__free_unpacked(req, NULL);
                zmq_msg_close(&identity);
                zmq_msg_close(&body);
                return;
            }
        }
        else {
            reply.status = FLOW__STATUS__INVALID_ARGUMENT;
            reply.message = "body: missing or of a kind this node does not know";
        }
    }
    if (relayed)
        relayed->seq = reply.seq;
    if (!later)
        s_send_reply(self, &identity, relayed ? relayed : &reply);
    if (relayed)
        flow__cluster__peer_reply__free_unpacked(relayed, NULL);
    fl_handoff_chunk_release(&chunk);
    if (meta)
        flow__cluster__meta_reply__free_unpacked(meta, NULL);
    if (req)
        flow__cluster__peer_request__free_unpacked(req, NULL);
    zmq_msg_close(&identity);
    zmq_msg_close(&body);
}

static int
s_open(self_t *self)
{
    self->forwards = fl_actor_seq_table(s_forward_free);
    self->relays = fl_actor_seq_table(s_forward_free);
    self->batches = calloc(BATCHES_MAX, sizeof *self->batches);
    assert(self->batches);
    self->ctx = zmq_ctx_new();
    self->sock = self->ctx ? zmq_socket(self->ctx, ZMQ_ROUTER) : NULL;
    if (!self->sock)
        return FL_E_NOMEM;
    int on = 1, linger = 0, maxmsg = PEER_FRAME_MAX + 65536;
    zcert_t *cert = self->args->keys->node;
    zmq_setsockopt(self->sock, ZMQ_CURVE_SERVER, &on, sizeof on);
    zmq_setsockopt(self->sock, ZMQ_CURVE_SECRETKEY, zcert_secret_key(cert), 32);
    zmq_setsockopt(self->sock, ZMQ_LINGER, &linger, sizeof linger);
    int64_t max = maxmsg;
    zmq_setsockopt(self->sock, ZMQ_MAXMSGSIZE, &max, sizeof max);
    if (zmq_bind(self->sock, self->args->endpoint) != 0) {
        fl_error("peer", "cannot bind the peer endpoint", "endpoint=%s error=\"%s\"",
                 self->args->endpoint, zmq_strerror(zmq_errno()));
        return FL_E_IO;
    }
    size_t len = sizeof self->args->endpoint;
    zmq_getsockopt(self->sock, ZMQ_LAST_ENDPOINT, self->args->endpoint, &len);
    return 0;
}

static void
s_close(self_t *self)
{
    zsock_destroy(&self->meta);
    zsock_destroy(&self->handoff);
    zsock_destroy(&self->replica);
    zsock_destroy(&self->meta_relay);
    zsock_destroy(&self->sessions);
    for (size_t a = 0; a <= FL_ACTOR_COUNT; a++)
        zsock_destroy(&self->actors[a]);
    zhashx_destroy(&self->forwards);
    zhashx_destroy(&self->relays);
    s_flush_batches(self);
    free(self->batches);
    if (self->sock)
        zmq_close(self->sock);
    if (self->ctx)
        zmq_ctx_term(self->ctx);
}

static void
s_peer_task(zsock_t *pipe, void *arg)
{
    self_t self = { .args = arg, .pipe = pipe };
    zsock_signal(pipe, 0);
    int rc = s_open(&self);
    zsock_signal(pipe, rc ? 1 : 0);
    if (rc) {
        s_close(&self);
        return;
    }
    fl_info("peer", "peer socket ready", "endpoint=%s", self.args->endpoint);
    while (!self.terminated) {
        zmq_pollitem_t items[FL_ACTOR_COUNT + 5] = { { self.sock, 0, ZMQ_POLLIN, 0 } };
        int n = 1;
        if (self.meta_relay)
            items[n++] = (zmq_pollitem_t) { zsock_resolve(self.meta_relay), 0, ZMQ_POLLIN, 0 };
        if (self.handoff)
            items[n++] = (zmq_pollitem_t) { zsock_resolve(self.handoff), 0, ZMQ_POLLIN, 0 };
        if (self.replica)
            items[n++] = (zmq_pollitem_t) { zsock_resolve(self.replica), 0, ZMQ_POLLIN, 0 };
        for (size_t a = 0; a <= FL_ACTOR_COUNT; a++)
            if (self.actors[a])
                items[n++] = (zmq_pollitem_t) { zsock_resolve(self.actors[a]), 0, ZMQ_POLLIN, 0 };
        if (zmq_poll(items, n, POLL_MS) > 0) {
            for (int i = 0; i < 256 && (items[0].revents & ZMQ_POLLIN); i++) {
                s_handle(&self);
                if (!s_readable(self.sock))
                    break;
            }
            for (size_t a = 0; a <= FL_ACTOR_COUNT; a++)
                while (self.actors[a] && (zsock_events(self.actors[a]) & ZMQ_POLLIN))
                    s_take_actor_reply(&self, self.actors[a]);
            s_flush_batches(&self);
            while (self.meta_relay && (zsock_events(self.meta_relay) & ZMQ_POLLIN))
                s_take_meta_reply(&self);
            while (self.handoff && (zsock_events(self.handoff) & ZMQ_POLLIN))
                s_take_handoff_reply(&self);
            while (self.replica && (zsock_events(self.replica) & ZMQ_POLLIN))
                s_take_replica_reply(&self);
        }
        while (zsock_events(pipe) & ZMQ_POLLIN) {
            char *command = zstr_recv(pipe);
            if (!command || streq(command, "$TERM"))
                self.terminated = true;
            else
            if (streq(command, "SERVE"))
                self.serving = true;
            zstr_free(&command);
        }
    }
    s_close(&self);
}

zactor_t *
fl_peer_new(fl_peer_args_t *args)
{
    return fl_actor_start(s_peer_task, args);
}
