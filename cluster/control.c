/*  cluster/control.c — admin requests over CURVE; see control.h.
 *
 *  One static handler per request, declared in a table like the client
 *  requests.  Status and metrics read the metrics registry and the ring
 *  snapshot; nothing here writes node state.
 */
#include "cluster/control.h"
#include "cluster/meta.h"
#include "cluster/handoff.h"
#include "cluster/peer.h"
#include "cluster/placement.h"
#include "cluster/replica.h"
#include "control.pb-c.h"
#include "node/actor.h"
#include "node/envelope.h"
#include "node/error.h"
#include "node/log.h"
#include "storage/keyspace.h"

#include <sodium.h>
#include "cluster.pb-c.h"
#include "node/requests.h"

#define CONTROL_MAX_BYTES 65536

#define FORWARD_TIMEOUT_MS 10000
#define REPLICATION_TIMEOUT_MS 1000

typedef struct {
    fl_node_t *node;
    const fl_keys_t *keys;
    zsock_t *pipe;
    zsock_t *sock;
    zactor_t *auth;
    zsock_t *actors[FL_ACTOR_COUNT];  /* DEALER per data actor, made on first use */
    zsock_t *meta;                    /* DEALER to the metadata thread, likewise */
    zsock_t *handoff;                 /* DEALER to the handoff thread, likewise */
    zsock_t *replica;                 /* DEALER to the replication thread, likewise */
    uint64_t next_seq;
    bool draining;
} self_t;

typedef struct {
    self_t *self;
    const Flow__Control__ControlRequest *req;
    Flow__Control__ControlReply *reply;
    zlistx_t *garbage;          /* freed after the reply is sent */
    Flow__ServerMessage *forwarded;         /* an actor's reply the reply points into; likewise */
    Flow__Cluster__MetaReply *meta;         /* the metadata thread's reply; likewise */
    Flow__Cluster__HandoffReply *handoff;   /* the handoff thread's reply; likewise */
    Flow__Cluster__ReplicaReply *replica;   /* the replication thread's; likewise */
} s_ctx_t;

static void *
s_alloc(s_ctx_t *ctx, size_t size)
{
    void *p = zmalloc(size);
    zlistx_add_end(ctx->garbage, p);
    return p;
}

static char *
s_strdup(s_ctx_t *ctx, const char *text)
{
    char *copy = strdup(text);
    zlistx_add_end(ctx->garbage, copy);
    return copy;
}

static void
s_handle_status(s_ctx_t *ctx)
{
    const fl_node_t *node = ctx->self->node;
    Flow__Control__StatusReply *st = s_alloc(ctx, sizeof *st);
    flow__control__status_reply__init(st);
    st->node_id = (char *) node->node_id;
    st->version = FLOW_VERSION;
    st->uptime_ms = (uint64_t) (zclock_usecs() - node->started_us) / 1000;
    st->state = ctx->self->draining ? "draining" : "serving";
    st->partitions = fl_ring_partitions(fl_node_ring(node));
    st->partitions_owned = fl_ring_owned(fl_node_ring(node));
    st->ring_epoch = fl_ring_epoch(fl_node_ring(node));
    st->client_endpoint = (char *) node->client_endpoint;
    st->control_endpoint = (char *) node->control_endpoint;
    st->connections = fl_metrics_connections(node->metrics);

    st->n_actors = FL_ACTOR_COUNT;
    st->actors = s_alloc(ctx, FL_ACTOR_COUNT * sizeof *st->actors);
    for (size_t a = 0; a < FL_ACTOR_COUNT; a++) {
        fl_metrics_actor_t m;
        fl_metrics_read_actor(node->metrics, a, &m);
        Flow__Control__ActorStatus *as = s_alloc(ctx, sizeof *as);
        flow__control__actor_status__init(as);
        as->actor = (Flow__Actor) (FLOW__ACTOR__ACTOR_SESSION + a);
        as->queue_depth = m.sent > m.handled ? m.sent - m.handled : 0;
        as->handled = m.handled;
        as->commits = m.commits;
        st->actors[a] = as;
    }
    size_t n = fl_requests_count();
    st->n_requests = n;
    st->requests = s_alloc(ctx, (n ? n : 1) * sizeof *st->requests);
    for (size_t t = 0; t < n; t++) {
        fl_metrics_request_t m;
        fl_metrics_read_request(node->metrics, t, &m);
        Flow__Control__RequestStats *rs = s_alloc(ctx, sizeof *rs);
        flow__control__request_stats__init(rs);
        rs->type = (char *) fl_requests_at(t)->name;
        rs->count = m.count;
        rs->errors = m.errors;
        st->requests[t] = rs;
    }
    ctx->reply->body_case = FLOW__CONTROL__CONTROL_REPLY__BODY_NODE_STATUS;
    ctx->reply->node_status = st;
}

static void
s_handle_metrics(s_ctx_t *ctx)
{
    const fl_node_t *node = ctx->self->node;
    fl_store_stats_t ss;
    fl_store_stats(node->store, &ss);
    const fl_metrics_gauge_t gauges[] = {
        { "flow_uptime_seconds", "Seconds since the node started.",
          (double) (zclock_usecs() - node->started_us) / 1e6 },
        { "flow_partitions_owned", "Partitions this node owns.",
          fl_ring_owned(fl_node_ring(node)) },
        { "flow_ring_epoch", "Epoch of the ring this node routes with.",
          (double) fl_ring_epoch(fl_node_ring(node)) },
        { "flow_connections", "Client connections with a subscription.",
          (double) fl_metrics_connections(node->metrics) },
        { "flow_store_map_bytes", "Current LMDB map size.", (double) ss.map_size },
        { "flow_store_commits", "Write transactions committed since start.",
          (double) ss.commits },
        { "flow_store_map_growths", "Times the LMDB map was grown since start.",
          (double) ss.growths },
        { "flow_worker_jobs_done", "Jobs the worker pool finished since start.",
          (double) fl_workers_done(node->workers) },
        { "flow_worker_jobs_queued", "Jobs waiting for a worker.",
          (double) fl_workers_queued(node->workers) },
    };
    char *text = fl_metrics_prometheus(node->metrics, gauges, sizeof gauges / sizeof gauges[0]);
    if (!text) {
        ctx->reply->status = FLOW__STATUS__INTERNAL;
        ctx->reply->message = "out of memory";
        return;
    }
    zlistx_add_end(ctx->garbage, text);
    Flow__Control__MetricsReply *mr = s_alloc(ctx, sizeof *mr);
    flow__control__metrics_reply__init(mr);
    mr->text = text;
    ctx->reply->body_case = FLOW__CONTROL__CONTROL_REPLY__BODY_METRICS;
    ctx->reply->metrics = mr;
}

static void
s_handle_stop(s_ctx_t *ctx)
{
    Flow__Control__StopReply *sr = s_alloc(ctx, sizeof *sr);
    flow__control__stop_reply__init(sr);
    ctx->reply->body_case = FLOW__CONTROL__CONTROL_REPLY__BODY_STOP;
    ctx->reply->stop = sr;
    fl_info("control", "stop requested by an admin", NULL);
    zstr_send(ctx->self->pipe, "STOP");
}

/*  Runs a client request as the operator (role admin, no user): the same
 *  check, route and handler as when an admin user sends it, so there is
 *  one implementation of each admin action.  Waits for the actor; the
 *  control socket is for people, and a few milliseconds are nothing.  */
static void
s_forward(s_ctx_t *ctx, Flow__Request *req)
{
    self_t *self = ctx->self;
    Flow__Control__ControlReply *reply = ctx->reply;
    const fl_request_def_t *def = fl_requests_find(req->body_case);
    fl_route_t route = { 0 };
    char *text = s_alloc(ctx, 512);
    reply->status = def->check(req, NULL, &route, text, 512);
    reply->message = text;
    if (reply->status != FLOW__STATUS__OK)
        return;
    uint32_t partition = fl_ring_partition(fl_node_ring(self->node), route.key, route.key_len);
    if (!fl_ring_is_local(fl_node_ring(self->node), partition)) {
        reply->status = FLOW__STATUS__UNAVAILABLE;
        snprintf(text, 512, "partition %u is owned by node %s: run this against that node's "
                 "control socket", partition, fl_ring_owner(fl_node_ring(self->node), partition));
        return;
    }
    size_t a = route.actor - 1;
    if (!self->actors[a])
        self->actors[a] = zsock_new_dealer(fl_actor_endpoint(route.actor));
    Flow__Cluster__Principal operator_ = FLOW__CLUSTER__PRINCIPAL__INIT;
    operator_.role = FLOW__ROLE__ROLE_ADMIN;
    Flow__Cluster__ActorRequest out = FLOW__CLUSTER__ACTOR_REQUEST__INIT;
    out.seq = ++self->next_seq;
    out.actor = route.actor;
    out.partition = partition;
    out.ring_epoch = fl_ring_epoch(fl_node_ring(self->node));
    out.deadline_us = zclock_usecs() + FORWARD_TIMEOUT_MS * 1000;
    out.request = req;
    out.principal = &operator_;
    out.route_key = (ProtobufCBinaryData) { route.key_len, (uint8_t *) route.key };
    zframe_t *frame = fl_envelope_pack(&out.base);
    if (!frame || zframe_send(&frame, self->actors[a], ZFRAME_DONTWAIT) != 0) {
        zframe_destroy(&frame);
        ctx->reply->status = FLOW__STATUS__UNAVAILABLE;
        ctx->reply->message = "the actor is not taking requests; is the node stopping?";
        return;
    }

    /*  Replies to earlier forwards that timed out carry older seqs.  */
    zsock_set_rcvtimeo(self->actors[a], FORWARD_TIMEOUT_MS);
    Flow__ServerMessage *in = NULL;
    while (!in && (frame = zframe_recv(self->actors[a]))) {
        Flow__Cluster__ActorReply *ar =
            flow__cluster__actor_reply__unpack(NULL, zframe_size(frame), zframe_data(frame));
        zframe_destroy(&frame);
        if (ar && ar->seq == out.seq)
            in = flow__server_message__unpack(NULL, ar->server_message.len,
                                              ar->server_message.data);
        if (ar)
            flow__cluster__actor_reply__free_unpacked(ar, NULL);
        if (in && in->kind_case != FLOW__SERVER_MESSAGE__KIND_REPLY) {
            flow__server_message__free_unpacked(in, NULL);
            in = NULL;
        }
    }
    if (!in) {
        reply->status = FLOW__STATUS__DEADLINE_EXCEEDED;
        snprintf(text, 512, "the %s actor did not answer in time", fl_actor_name(route.actor));
        return;
    }
    reply->status = in->reply->status;
    snprintf(text, 512, "%s", in->reply->message);
    if (in->reply->body_case == FLOW__REPLY__BODY_ACCOUNT) {
        Flow__AccountReply *account = s_alloc(ctx, sizeof *account);
        *account = *in->reply->account;
        account->user_id = s_strdup(ctx, account->user_id);
        account->email = s_strdup(ctx, account->email);
        account->display_name = s_strdup(ctx, account->display_name);
        reply->body_case = FLOW__CONTROL__CONTROL_REPLY__BODY_ACCOUNT;
        reply->account = account;
    }
    if (in->reply->body_case == FLOW__REPLY__BODY_EVENT) {
        reply->body_case = FLOW__CONTROL__CONTROL_REPLY__BODY_EVENT;
        reply->event = in->reply->event;
        ctx->forwarded = in;
        return;
    }
    flow__server_message__free_unpacked(in, NULL);
}

/*  Adds what the replication thread says of this node's copies to ST
 *  (left out when it does not answer in time).  */
static void
s_add_replication(s_ctx_t *ctx, Flow__Cluster__ClusterStatus *st)
{
    self_t *self = ctx->self;
    Flow__Cluster__ReplicaRequest req = FLOW__CLUSTER__REPLICA_REQUEST__INIT;
    req.seq = ++self->next_seq;
    req.body_case = FLOW__CLUSTER__REPLICA_REQUEST__BODY_STATUS;
    req.status = true;
    ctx->replica = (Flow__Cluster__ReplicaReply *) fl_envelope_ask(
        &self->replica, FL_REPLICA_PEER_ENDPOINT, &req.base,
        &flow__cluster__replica_reply__descriptor, REPLICATION_TIMEOUT_MS);
    if (ctx->replica)
        st->replication = ctx->replica->replication;
}

/*  Asks the metadata thread (cluster/meta.c) and waits for its answer.  */
static void
s_handle_cluster_status(s_ctx_t *ctx)
{
    self_t *self = ctx->self;
    Flow__Control__ControlReply *reply = ctx->reply;
    Flow__Cluster__MetaReply *in = fl_meta_ask_status(&self->meta, ++self->next_seq, FORWARD_TIMEOUT_MS);
    if (!in) {
        reply->status = FLOW__STATUS__DEADLINE_EXCEEDED;
        reply->message = "the metadata thread did not answer in time";
        return;
    }
    ctx->meta = in;
    reply->status = in->status;
    reply->message = in->message;
    if (in->status == FLOW__STATUS__OK && in->cluster) {
        reply->body_case = FLOW__CONTROL__CONTROL_REPLY__BODY_CLUSTER;
        reply->cluster = in->cluster;
        s_add_replication(ctx, in->cluster);
    }
}

/*  Removes a member, through the consensus leader.  One that owns
 *  partitions leaves first: they move to the others, and its node asks
 *  for its removal once it owns none, then stops.  No node id: this node
 *  leaves.  */
static void
s_handle_cluster_remove(s_ctx_t *ctx)
{
    self_t *self = ctx->self;
    Flow__Control__ControlReply *reply = ctx->reply;
    const char *node_id = ctx->req->cluster_remove->node_id;
    Flow__Cluster__MetaRequest req = FLOW__CLUSTER__META_REQUEST__INIT;
    req.seq = ++self->next_seq;
    if (node_id[0]) {
        req.body_case = FLOW__CLUSTER__META_REQUEST__BODY_REMOVE;
        req.remove = (char *) node_id;
    }
    else {
        req.body_case = FLOW__CLUSTER__META_REQUEST__BODY_LEAVE;
        req.leave = (char *) self->node->node_id;
    }
    Flow__Cluster__MetaReply *in = fl_peer_ask_leader(&self->meta, self->node, &req,
                                                      FORWARD_TIMEOUT_MS);
    if (!in) {
        reply->status = FLOW__STATUS__UNAVAILABLE;
        reply->message = "the consensus leader did not answer in time";
        return;
    }
    ctx->meta = in;
    reply->status = in->status;
    reply->message = in->message;
    if (in->status == FLOW__STATUS__OK && in->cluster) {
        reply->body_case = FLOW__CONTROL__CONTROL_REPLY__BODY_CLUSTER;
        reply->cluster = in->cluster;
        s_add_replication(ctx, in->cluster);
    }
}

/*  The partitions on the move, from the handoff thread.  */
static void
s_handle_cluster_transfers(s_ctx_t *ctx)
{
    self_t *self = ctx->self;
    Flow__Control__ControlReply *reply = ctx->reply;
    Flow__Cluster__HandoffRequest req = FLOW__CLUSTER__HANDOFF_REQUEST__INIT;
    req.seq = ++self->next_seq;
    req.body_case = FLOW__CLUSTER__HANDOFF_REQUEST__BODY_TRANSFERS;
    req.transfers = true;
    Flow__Cluster__HandoffReply *in = fl_handoff_ask(&self->handoff, &req, FORWARD_TIMEOUT_MS);
    if (!in) {
        reply->status = FLOW__STATUS__UNAVAILABLE;
        reply->message = "the handoff thread did not answer in time";
        return;
    }
    ctx->handoff = in;
    reply->status = in->status;
    reply->message = in->message;
    reply->body_case = FLOW__CONTROL__CONTROL_REPLY__BODY_TRANSFERS;
    reply->transfers = in;
}

/*  The ring now and by the placement over the members the metadata
 *  lists.  */
static void
s_handle_cluster_ring(s_ctx_t *ctx)
{
    self_t *self = ctx->self;
    Flow__Control__ControlReply *reply = ctx->reply;
    const Flow__Control__ClusterRingRequest *rr = ctx->req->cluster_ring;
    const fl_ring_t *ring = fl_node_ring(self->node);
    uint32_t partitions = fl_ring_partitions(ring);
    for (size_t i = 0; i < rr->n_partitions; i++)
        if (rr->partitions[i] >= partitions) {
            reply->status = FLOW__STATUS__INVALID_ARGUMENT;
            reply->message = s_strdup(ctx, "partitions: beyond the cluster's partition count");
            return;
        }
    Flow__Cluster__MetaReply *in = fl_meta_ask_status(&self->meta, ++self->next_seq, FORWARD_TIMEOUT_MS);
    ctx->meta = in;
    const Flow__Cluster__ClusterMeta *meta = in && in->cluster ? in->cluster->meta : NULL;
    if (!meta || meta->n_members == 0) {
        reply->status = FLOW__STATUS__UNAVAILABLE;
        reply->message = "the cluster metadata is not known yet";
        return;
    }
    const char **ids = s_alloc(ctx, meta->n_members * sizeof *ids);
    for (size_t i = 0; i < meta->n_members; i++)
        ids[i] = meta->members[i]->node_id;
    fl_placement_t *placement = fl_placement_new(partitions, meta->replicas, ids,
                                                 meta->n_members);
    if (!placement) {
        reply->status = FLOW__STATUS__INTERNAL;
        reply->message = "the placement of the members could not be computed";
        return;
    }
    Flow__Control__ClusterRing *out = s_alloc(ctx, sizeof *out);
    flow__control__cluster_ring__init(out);
    out->epoch = meta->epoch;
    out->partitions = partitions;
    out->replicas = fl_placement_replicas(placement);
    out->nodes = s_alloc(ctx, meta->n_members * sizeof *out->nodes);
    for (size_t i = 0; i < meta->n_members; i++) {
        Flow__Control__NodePartitions *np = s_alloc(ctx, sizeof *np);
        flow__control__node_partitions__init(np);
        np->node_id = (char *) ids[i];
        for (uint32_t p = 0; p < partitions; p++)
            np->owned += streq(fl_ring_owner(ring, p), ids[i]);
        np->placed_primary = fl_placement_count(placement, ids[i], true);
        np->placed_replica = fl_placement_count(placement, ids[i], false);
        out->nodes[out->n_nodes++] = np;
    }
    out->preferences = s_alloc(ctx, (rr->n_partitions + 1) * sizeof *out->preferences);
    for (size_t i = 0; i < rr->n_partitions; i++) {
        Flow__Control__Preference *pref = s_alloc(ctx, sizeof *pref);
        flow__control__preference__init(pref);
        pref->partition = rr->partitions[i];
        pref->owner = s_strdup(ctx, fl_ring_owner(ring, pref->partition));
        const char *owners[16];
        size_t n = fl_placement_owners(placement, pref->partition, owners, 16);
        pref->placed = s_alloc(ctx, (n ? n : 1) * sizeof *pref->placed);
        for (size_t k = 0; k < n; k++)
            pref->placed[pref->n_placed++] = s_strdup(ctx, owners[k]);
        out->preferences[out->n_preferences++] = pref;
    }
    fl_placement_destroy(&placement);
    reply->body_case = FLOW__CONTROL__CONTROL_REPLY__BODY_RING;
    reply->ring = out;
}

/*  A flow.Request around a body of the control request.  */
static Flow__Request
s_client_request(s_ctx_t *ctx, Flow__Request__BodyCase body)
{
    Flow__Request req = FLOW__REQUEST__INIT;
    req.version = FL_PROTOCOL_VERSION;
    req.id = ctx->req->id ? ctx->req->id : 1;
    req.body_case = body;
    return req;
}

static void
s_handle_set_role(s_ctx_t *ctx)
{
    Flow__Request req = s_client_request(ctx, FLOW__REQUEST__BODY_SET_ROLE);
    req.set_role = ctx->req->set_role;
    s_forward(ctx, &req);
}

static void
s_handle_get_account(s_ctx_t *ctx)
{
    Flow__Request req = s_client_request(ctx, FLOW__REQUEST__BODY_GET_ACCOUNT);
    req.get_account = ctx->req->get_account;
    s_forward(ctx, &req);
}

static void
s_handle_upsert_event(s_ctx_t *ctx)
{
    Flow__Request req = s_client_request(ctx, FLOW__REQUEST__BODY_UPSERT_EVENT);
    req.upsert_event = ctx->req->upsert_event;
    s_forward(ctx, &req);
}

/*  The digest of PARTITION over every partitioned database into D.  */
static int
s_partition_digest(s_ctx_t *ctx, MDB_txn *txn, const char *const *names, const MDB_dbi *dbis,
                   size_t ndbs, uint32_t partition, Flow__Control__PartitionDigest *d)
{
    crypto_generichash_state state;
    crypto_generichash_init(&state, NULL, 0, 32);
    for (size_t i = 0; i < ndbs; i++) {
        fl_keyspace_range_t range;
        int rc = fl_keyspace_range(txn, dbis[i], (uint16_t) partition, NULL, NULL, 0, NULL, NULL,
                                   &range);
        if (rc)
            return rc;
        uint64_t count = range.count;
        crypto_generichash_update(&state, (const uint8_t *) names[i], strlen(names[i]) + 1);
        crypto_generichash_update(&state, (const uint8_t *) &count, sizeof count);
        crypto_generichash_update(&state, range.sum, sizeof range.sum);
        d->records += count;
    }
    uint8_t sum[32];
    crypto_generichash_final(&state, sum, sizeof sum);
    d->digest = s_alloc(ctx, 65);
    sodium_bin2hex(d->digest, 65, sum, sizeof sum);
    return 0;
}

/*  The digests of the partitions this node keeps a copy of, and of those
 *  it still holds records of without keeping a copy.  */
static void
s_handle_cluster_digests(s_ctx_t *ctx)
{
    const fl_node_t *node = ctx->self->node;
    const Flow__Control__ClusterDigestsRequest *dr = ctx->req->cluster_digests;
    const fl_ring_t *ring = fl_node_ring(node);
    uint32_t partitions = fl_ring_partitions(ring);
    Flow__Control__ClusterDigests *out = s_alloc(ctx, sizeof *out);
    flow__control__cluster_digests__init(out);
    out->epoch = fl_ring_epoch(ring);
    out->node_id = (char *) node->node_id;
    out->partitions = s_alloc(ctx, (partitions + 1) * sizeof *out->partitions);
    const char *names[64];
    MDB_dbi dbis[64];
    size_t ndbs = fl_store_partitioned(node->store, names, dbis, 64);
    MDB_txn *txn = NULL;
    if (fl_store_read_begin(node->store, &txn) != 0) {
        ctx->reply->status = FLOW__STATUS__UNAVAILABLE;
        ctx->reply->message = "the store cannot be read";
        return;
    }
    for (uint32_t p = 0; p < partitions; p++) {
        bool wanted = dr->n_partitions == 0;
        for (size_t i = 0; i < dr->n_partitions && !wanted; i++)
            wanted = dr->partitions[i] == p;
        if (!wanted)
            continue;
        bool primary = streq(fl_ring_owner(ring, p), node->node_id);
        Flow__Control__PartitionDigest *d = s_alloc(ctx, sizeof *d);
        flow__control__partition_digest__init(d);
        d->partition = p;
        d->role = primary ? "primary" : fl_ring_is_replica(ring, p) ? "replica" : "extra";
        if (s_partition_digest(ctx, txn, names, dbis, ndbs, p, d) != 0) {
            fl_store_read_end(node->store, &txn);
            ctx->reply->status = FLOW__STATUS__UNAVAILABLE;
            ctx->reply->message = "the store cannot be read";
            return;
        }
        /*  Records of a partition this node keeps no copy of: on their way
         *  out (moved away, or copies made again elsewhere).  */
        if (streq(d->role, "extra") && d->records == 0)
            continue;
        out->partitions[out->n_partitions++] = d;
    }
    fl_store_read_end(node->store, &txn);
    ctx->reply->status = FLOW__STATUS__OK;
    ctx->reply->body_case = FLOW__CONTROL__CONTROL_REPLY__BODY_DIGESTS;
    ctx->reply->digests = out;
}

static const struct {
    Flow__Control__ControlRequest__BodyCase body;
    const char *name;
    void (*handler)(s_ctx_t *ctx);
} s_commands[] = {
    { FLOW__CONTROL__CONTROL_REQUEST__BODY_STATUS, "status", s_handle_status },
    { FLOW__CONTROL__CONTROL_REQUEST__BODY_METRICS, "metrics", s_handle_metrics },
    { FLOW__CONTROL__CONTROL_REQUEST__BODY_STOP, "stop", s_handle_stop },
    { FLOW__CONTROL__CONTROL_REQUEST__BODY_SET_ROLE, "set_role", s_handle_set_role },
    { FLOW__CONTROL__CONTROL_REQUEST__BODY_GET_ACCOUNT, "get_account", s_handle_get_account },
    { FLOW__CONTROL__CONTROL_REQUEST__BODY_UPSERT_EVENT, "upsert_event", s_handle_upsert_event },
    { FLOW__CONTROL__CONTROL_REQUEST__BODY_CLUSTER_STATUS, "cluster_status",
      s_handle_cluster_status },
    { FLOW__CONTROL__CONTROL_REQUEST__BODY_CLUSTER_REMOVE, "cluster_remove",
      s_handle_cluster_remove },
    { FLOW__CONTROL__CONTROL_REQUEST__BODY_CLUSTER_RING, "cluster_ring", s_handle_cluster_ring },
    { FLOW__CONTROL__CONTROL_REQUEST__BODY_CLUSTER_TRANSFERS, "cluster_transfers",
      s_handle_cluster_transfers },
    { FLOW__CONTROL__CONTROL_REQUEST__BODY_CLUSTER_DIGESTS, "cluster_digests",
      s_handle_cluster_digests },
};

static void
s_answer(self_t *self, zframe_t *identity, const void *data, size_t len)
{
    Flow__Control__ControlReply reply = FLOW__CONTROL__CONTROL_REPLY__INIT;
    reply.version = FL_PROTOCOL_VERSION;
    s_ctx_t ctx = { self, NULL, &reply, zlistx_new(), NULL, NULL, NULL, NULL };
    zlistx_set_destructor(ctx.garbage, (zlistx_destructor_fn *) zstr_free);

    Flow__Control__ControlRequest *req = NULL;
    if (len > CONTROL_MAX_BYTES) {
        reply.status = FLOW__STATUS__RESOURCE_EXHAUSTED;
        reply.message = "control request exceeds 65536 bytes";
    }
    else
    if (!(req = flow__control__control_request__unpack(NULL, len, data))) {
        reply.status = FLOW__STATUS__INVALID_ARGUMENT;
        reply.message = "frame is not a valid flow.control.ControlRequest";
    }
    else
    if (req->version != FL_PROTOCOL_VERSION) {
        reply.id = req->id;
        reply.status = FLOW__STATUS__INVALID_ARGUMENT;
        reply.message = "unsupported control protocol version";
    }
    else {
        reply.id = req->id;
        ctx.req = req;
        size_t i = 0;
        while (i < sizeof s_commands / sizeof s_commands[0] && s_commands[i].body != req->body_case)
            i++;
        if (i < sizeof s_commands / sizeof s_commands[0])
            s_commands[i].handler(&ctx);
        else {
            reply.status = FLOW__STATUS__INVALID_ARGUMENT;
            reply.message = "body: missing or of a kind this node does not know";
        }
    }
    if (reply.status != FLOW__STATUS__OK)
        fl_info("control", "control request refused", "status=%s reason=\"%s\"",
                fl_status_name(reply.status), reply.message);

    zframe_t *frame = fl_envelope_pack(&reply.base);
    zframe_t *id = zframe_dup(identity);
    if (zframe_send(&id, self->sock, ZFRAME_MORE | ZFRAME_DONTWAIT) == 0)
        zframe_send(&frame, self->sock, ZFRAME_DONTWAIT);
    zframe_destroy(&id);
    zframe_destroy(&frame);
    zlistx_destroy(&ctx.garbage);
    if (ctx.forwarded)
        flow__server_message__free_unpacked(ctx.forwarded, NULL);
    if (ctx.meta && ctx.meta->cluster)
        ctx.meta->cluster->replication = NULL;      /* the replica reply's own */
    if (ctx.meta)
        flow__cluster__meta_reply__free_unpacked(ctx.meta, NULL);
    if (ctx.replica)
        flow__cluster__replica_reply__free_unpacked(ctx.replica, NULL);
    if (ctx.handoff)
        flow__cluster__handoff_reply__free_unpacked(ctx.handoff, NULL);
    if (req)
        flow__control__control_request__free_unpacked(req, NULL);
}

static void
s_on_sock(self_t *self)
{
    zmsg_t *msg = zmsg_recv(self->sock);
    if (!msg)
        return;
    zframe_t *identity = zmsg_pop(msg);
    zframe_t *body = zmsg_pop(msg);
    if (identity && body && zmsg_size(msg) == 0)
        s_answer(self, identity, zframe_data(body), zframe_size(body));
    else
    if (identity)
        s_answer(self, identity, "", 0);
    zframe_destroy(&identity);
    zframe_destroy(&body);
    zmsg_destroy(&msg);
}

static int
s_open(self_t *self)
{
    self->auth = zactor_new(zauth, NULL);
    if (!self->auth)
        return FL_E_IO;
    zstr_sendx(self->auth, "CURVE", self->keys->admins_dir, NULL);
    zsock_wait(self->auth);

    self->sock = zsock_new(ZMQ_ROUTER);
    if (!self->sock)
        return FL_E_NOMEM;
    zcert_apply(self->keys->node, self->sock);
    zsock_set_curve_server(self->sock, 1);
    zsock_set_zap_domain(self->sock, "flow.control");
    zsock_set_maxmsgsize(self->sock, CONTROL_MAX_BYTES * 2);
    zsock_set_linger(self->sock, 0);
    if (zsock_bind(self->sock, "%s", self->node->control_endpoint) < 0) {
        fl_error("control", "cannot bind the control endpoint", "endpoint=%s error=\"%s\"",
                 self->node->control_endpoint, zmq_strerror(zmq_errno()));
        return FL_E_IO;
    }
    snprintf(self->node->control_endpoint, sizeof self->node->control_endpoint, "%s",
             zsock_endpoint(self->sock));
    return 0;
}

static void
s_control_task(zsock_t *pipe, void *arg)
{
    self_t *self = arg;
    self->pipe = pipe;
    zsock_signal(pipe, 0);
    int rc = s_open(self);
    zsock_signal(pipe, rc ? 1 : 0);
    if (rc == 0) {
        fl_info("control", "control socket ready", "endpoint=%s", self->node->control_endpoint);
        zpoller_t *poller = zpoller_new(pipe, self->sock, NULL);
        bool done = false;
        while (!done) {
            void *which = zpoller_wait(poller, -1);
            if (which == self->sock)
                s_on_sock(self);
            else
            if (which == pipe) {
                char *command = zstr_recv(pipe);
                done = !command || streq(command, "$TERM");
                if (command && streq(command, "DRAINING"))
                    self->draining = true;
                zstr_free(&command);
            }
            else
                done = zpoller_terminated(poller);
        }
        zpoller_destroy(&poller);
    }
    for (size_t a = 0; a < FL_ACTOR_COUNT; a++)
        zsock_destroy(&self->actors[a]);
    zsock_destroy(&self->meta);
    zsock_destroy(&self->replica);
    zsock_destroy(&self->handoff);
    zsock_destroy(&self->sock);
    zactor_destroy(&self->auth);
    free(self);
}

zactor_t *
fl_control_new(fl_node_t *node, const fl_keys_t *keys)
{
    self_t *self = zmalloc(sizeof *self);
    self->node = node;
    self->keys = keys;
    zactor_t *actor = fl_actor_start(s_control_task, self);
    if (!actor)
        fl_error("control", "control actor did not start", NULL);
    return actor;
}
