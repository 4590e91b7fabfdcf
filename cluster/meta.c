/*  cluster/meta.c — the metadata thread: libraft on its own libuv loop;
 *  see meta.h.
 *
 *  Threads: everything here runs on the metadata thread, except
 *  fl_meta_new (the caller's), fl_meta_raft_id and
 *  fl_meta_resolve_address.  The thread owns two ZeroMQ sockets: the
 *  zactor pipe (from the supervisor: $TERM) and a ROUTER on
 *  FL_META_ENDPOINT (requests of the node's actors).  libuv watches their
 *  descriptors, which are edge-triggered: every callback, and the loop's
 *  start, reads while zsock_events() says POLLIN (shared/notes).
 *
 *  Stopping: raft_close must not run inside a raft callback, so $TERM
 *  arms a zero-delay timer that closes raft; its close callback releases
 *  the I/O and the transport and closes the remaining handles, and the
 *  loop then returns.
 *
 *  Log entries and snapshots are framed: a u64 (little endian) length,
 *  the packed message, zero padding to a multiple of 8 bytes.  libraft's
 *  segment files need entry sizes that are multiples of 8 (an entry of
 *  any other size is written, but a restart then cannot read its
 *  segment: canonical/raft issues 180, 189, 304).
 *
 *  The state machine: `meta` is the metadata as of the last applied
 *  command.  Commands are validated where they are proposed; apply only
 *  refuses what it cannot decode (logged, skipped), so every node applies
 *  the same log to the same state.
 */
#include "cluster/meta.h"
#include "cluster.pb-c.h"
#include "cluster/layout.h"
#include "cluster/placement.h"
#include "node/actor.h"
#include "node/envelope.h"
#include "node/error.h"
#include "node/log.h"
#include "storage/keyspace.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <raft.h>
#include <raft/uv.h>
#include <sodium.h>
#include <sys/socket.h>
#include <unistd.h>
#include <uv.h>

#define MEMBERS_MAX 64
#define TICK_MS 50

typedef struct {
    const fl_meta_args_t *args;
    uv_loop_t loop;
    uv_poll_t pipe_poll, router_poll;
    uv_timer_t tick, closer;
    zsock_t *pipe;
    zsock_t *router;
    struct raft_uv_transport transport;
    struct raft_io io;
    struct raft_fsm fsm;
    struct raft raft;
    bool transport_ready, io_ready, raft_started;
    bool stopping;
    bool creating;                      /* a create command or barrier in flight */
    Flow__Cluster__ClusterMeta *meta;   /* NULL until the create command is applied */
} self_t;

uint64_t
fl_meta_raft_id(const char *node_id)
{
    uint64_t id = fl_keyspace_hash(node_id, strlen(node_id));
    return id ? id : 1;
}

int
fl_meta_resolve_address(const char *address, char *out, size_t outlen)
{
    const char *colon = strrchr(address, ':');
    char host[64];
    if (!colon || (size_t) (colon - address) >= sizeof host || colon == address)
        return FL_E_INVAL;
    memcpy(host, address, (size_t) (colon - address));
    host[colon - address] = '\0';
    char *end = NULL;
    unsigned long port = strtoul(colon + 1, &end, 10);
    struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t) port) };
    if (!end || *end || port > 65535 || inet_pton(AF_INET, host, &sa.sin_addr) != 1)
        return FL_E_INVAL;
    if (port == 0) {
        /*  The kernel picks a free port; it is free again once closed, and
         *  the consensus binds it right after.  */
        int fd = socket(AF_INET, SOCK_STREAM, 0);
        socklen_t len = sizeof sa;
        if (fd < 0 || bind(fd, (struct sockaddr *) &sa, sizeof sa) != 0
            || getsockname(fd, (struct sockaddr *) &sa, &len) != 0) {
            if (fd >= 0)
                close(fd);
            return FL_E_IO;
        }
        close(fd);
        port = ntohs(sa.sin_port);
    }
    int n = snprintf(out, outlen, "%s:%lu", host, port);
    return n > 0 && (size_t) n < outlen ? 0 : FL_E_INVAL;
}

int
fl_meta_resolve_endpoint(const char *endpoint, char *out, size_t outlen)
{
    size_t len = strlen(endpoint);
    if (strncmp(endpoint, "tcp://", 6) != 0 || len < 8 || strcmp(endpoint + len - 2, ":*") != 0) {
        int n = snprintf(out, outlen, "%s", endpoint);
        return n >= 0 && (size_t) n < outlen ? 0 : FL_E_INVAL;
    }
    char address[80], resolved[80];
    int n = snprintf(address, sizeof address, "%.*s:0", (int) (len - 8), endpoint + 6);
    if (n < 0 || (size_t) n >= sizeof address)
        return FL_E_INVAL;
    int rc = fl_meta_resolve_address(address, resolved, sizeof resolved);
    if (rc)
        return rc;
    n = snprintf(out, outlen, "tcp://%s", resolved);
    return n >= 0 && (size_t) n < outlen ? 0 : FL_E_INVAL;
}

Flow__Cluster__MetaReply *
fl_meta_ask(zsock_t **dealer, const Flow__Cluster__MetaRequest *req, int timeout_ms)
{
    return (Flow__Cluster__MetaReply *) fl_envelope_ask(dealer, FL_META_ENDPOINT, &req->base,
                                                        &flow__cluster__meta_reply__descriptor,
                                                        timeout_ms);
}

Flow__Cluster__MetaReply *
fl_meta_ask_status(zsock_t **dealer, uint64_t seq, int timeout_ms)
{
    Flow__Cluster__MetaRequest req = FLOW__CLUSTER__META_REQUEST__INIT;
    req.seq = seq;
    req.body_case = FLOW__CLUSTER__META_REQUEST__BODY_STATUS;
    req.status = true;
    return fl_meta_ask(dealer, &req, timeout_ms);
}

/*  ------------------------------------------------------------------
 *  Framing  */

#define FRAME_HEADER 8

/*  MSG framed into a buffer from raft_malloc.  Errors: RAFT_NOMEM.  */
static int
s_frame(const ProtobufCMessage *msg, struct raft_buffer *buf)
{
    size_t len = protobuf_c_message_get_packed_size(msg);
    buf->len = (FRAME_HEADER + len + 7) / 8 * 8;
    buf->base = raft_calloc(1, buf->len);
    if (!buf->base)
        return RAFT_NOMEM;
    uint8_t *p = buf->base;
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t) ((uint64_t) len >> (8 * i));
    protobuf_c_message_pack(msg, p + FRAME_HEADER);
    return 0;
}

/*  The packed message inside framed BUF; NULL when the frame is bad.  */
static const uint8_t *
s_unframe(const struct raft_buffer *buf, size_t *len)
{
    if (buf->len < FRAME_HEADER)
        return NULL;
    const uint8_t *p = buf->base;
    uint64_t n = 0;
    for (int i = 7; i >= 0; i--)
        n = (n << 8) | p[i];
    if (n > buf->len - FRAME_HEADER)
        return NULL;
    *len = (size_t) n;
    return p + FRAME_HEADER;
}

/*  ------------------------------------------------------------------
 *  The state machine  */

static Flow__Cluster__ClusterMeta *
s_copy_meta(const Flow__Cluster__ClusterMeta *meta)
{
    size_t len = flow__cluster__cluster_meta__get_packed_size(meta);
    uint8_t *buf = malloc(len ? len : 1);
    assert(buf);
    flow__cluster__cluster_meta__pack(meta, buf);
    Flow__Cluster__ClusterMeta *copy = flow__cluster__cluster_meta__unpack(NULL, len, buf);
    free(buf);
    return copy;
}

/*  The metadata with MEMBER added (or replacing the member of its id) or
 *  removed (MEMBER NULL, REMOVE the id), as a fresh copy.  */
static Flow__Cluster__ClusterMeta *
s_with_member(const Flow__Cluster__ClusterMeta *meta, const Flow__Cluster__Member *member,
              const char *remove)
{
    const char *id = member ? member->node_id : remove;
    Flow__Cluster__Member *list[MEMBERS_MAX + 1];
    size_t n = 0;
    bool replaced = false;
    for (size_t i = 0; i < meta->n_members && n < MEMBERS_MAX; i++) {
        if (!streq(meta->members[i]->node_id, id))
            list[n++] = meta->members[i];
        else
        if (member) {
            list[n++] = (Flow__Cluster__Member *) member;
            replaced = true;
        }
    }
    if (member && !replaced && n < MEMBERS_MAX)
        list[n++] = (Flow__Cluster__Member *) member;
    Flow__Cluster__ClusterMeta next = *meta;
    next.members = list;
    next.n_members = n;
    next.epoch = meta->epoch + 1;
    return s_copy_meta(&next);
}

static void
s_set_meta(self_t *self, Flow__Cluster__ClusterMeta *meta)
{
    if (self->meta)
        flow__cluster__cluster_meta__free_unpacked(self->meta, NULL);
    self->meta = meta;
}

static Flow__Cluster__ClusterMeta *
s_with_state(const Flow__Cluster__ClusterMeta *meta, const Flow__Cluster__MemberStateChange *c)
{
    for (size_t i = 0; i < meta->n_members; i++)
        if (streq(meta->members[i]->node_id, c->node_id)) {
            Flow__Cluster__Member changed = *meta->members[i];
            changed.state = c->state;
            return s_with_member(meta, &changed, NULL);
        }
    return NULL;
}

Flow__Cluster__MetaCommand *
fl_meta_decode(const void *data, size_t len)
{
    struct raft_buffer buf = { (void *) data, len };
    size_t n = 0;
    const uint8_t *packed = s_unframe(&buf, &n);
    return packed ? flow__cluster__meta_command__unpack(NULL, n, packed) : NULL;
}

/*  META with LAYOUT and the NMOVES MOVES written in, as a fresh copy (the
 *  epoch bumped when BUMP); the owner ids are cut down to those that own
 *  a partition.  */
static Flow__Cluster__ClusterMeta *
s_with_layout(const Flow__Cluster__ClusterMeta *meta, const fl_layout_t *layout,
              Flow__Cluster__PartitionMove **moves, size_t nmoves, bool bump)
{
    uint16_t map[FL_LAYOUT_IDS_MAX];
    char *ids[FL_LAYOUT_IDS_MAX];
    size_t nids = 0;
    for (size_t i = 0; i < layout->nids; i++)
        map[i] = UINT16_MAX;
    uint8_t *owners = malloc(2 * (size_t) layout->partitions);
    assert(owners);
    for (uint32_t p = 0; p < layout->partitions; p++) {
        uint16_t i = layout->owner[p];
        if (map[i] == UINT16_MAX) {
            map[i] = (uint16_t) nids;
            ids[nids++] = (char *) layout->ids[i];
        }
        owners[2 * (size_t) p] = (uint8_t) map[i];
        owners[2 * (size_t) p + 1] = (uint8_t) (map[i] >> 8);
    }
    Flow__Cluster__ClusterMeta next = *meta;
    next.owner_ids = ids;
    next.n_owner_ids = nids;
    next.owners = (ProtobufCBinaryData) { 2 * (size_t) layout->partitions, owners };
    next.moves = moves;
    next.n_moves = nmoves;
    next.epoch = meta->epoch + (bump ? 1 : 0);
    Flow__Cluster__ClusterMeta *copy = s_copy_meta(&next);
    free(owners);
    return copy;
}

/*  A member that holds partitions in the placement.  A down member
 *  keeps its own: with one copy of each partition there is nowhere else
 *  to serve them from, and it serves them again when it comes back.  */
static bool
s_active(const Flow__Cluster__Member *m)
{
    return m->state == FLOW__CLUSTER__MEMBER_STATE__MEMBER_JOINING
           || m->state == FLOW__CLUSTER__MEMBER_STATE__MEMBER_UP
           || m->state == FLOW__CLUSTER__MEMBER_STATE__MEMBER_DOWN;
}

static const Flow__Cluster__Member *
s_member_of(const Flow__Cluster__ClusterMeta *meta, const char *node_id)
{
    for (size_t i = 0; i < meta->n_members; i++)
        if (streq(meta->members[i]->node_id, node_id))
            return meta->members[i];
    return NULL;
}

static bool
s_is_down(const Flow__Cluster__ClusterMeta *meta, const char *node_id)
{
    const Flow__Cluster__Member *m = s_member_of(meta, node_id);
    return m && (m->state == FLOW__CLUSTER__MEMBER_STATE__MEMBER_DOWN
                 || m->state == FLOW__CLUSTER__MEMBER_STATE__MEMBER_LOST);
}

/*  Takes META, in which NODE_ID was just marked down; returns it with
 *  that member's partitions given to the first of their replicas that is
 *  up (failover; cluster/replica.h).  Partitions with no replica up stay
 *  where they are, unavailable until their owner answers again.  */
static Flow__Cluster__ClusterMeta *
s_fail_over(Flow__Cluster__ClusterMeta *meta, const char *node_id)
{
    fl_placement_t *copies = fl_layout_copies(meta);
    fl_layout_t layout;
    if (!copies || fl_layout_read(meta, &layout) != 0) {
        fl_placement_destroy(&copies);
        return meta;
    }
    size_t moved = 0, stuck = 0;
    for (uint32_t p = 0; p < layout.partitions; p++) {
        if (!streq(fl_layout_owner(&layout, p), node_id))
            continue;
        const char *ids[FL_RING_REPLICAS_MAX];
        size_t n = fl_layout_replicas(meta, copies, node_id, p, ids, FL_RING_REPLICAS_MAX);
        const char *next = NULL;
        for (size_t i = 0; i < n && !next; i++) {
            const Flow__Cluster__Member *m = s_member_of(meta, ids[i]);
            if (m && m->state == FLOW__CLUSTER__MEMBER_STATE__MEMBER_UP)
                next = m->node_id;
        }
        if (next && fl_layout_set_owner(&layout, p, next) == 0)
            moved++;
        else
            stuck++;
    }
    Flow__Cluster__ClusterMeta *next = meta;
    if (moved) {
        next = s_with_layout(meta, &layout, meta->moves, meta->n_moves, false);
        flow__cluster__cluster_meta__free_unpacked(meta, NULL);
        fl_info("meta", "partitions of a member that is down go to their replicas",
                "node=%s partitions=%zu without_replica=%zu", node_id, moved, stuck);
    }
    fl_layout_release(&layout);
    fl_placement_destroy(&copies);
    return next;
}

/*  Takes META; returns it with its moves computed again: every partition
 *  whose owner is not the primary the placement gives it over the active
 *  (joining or up) members moves there, unless that member is down: it
 *  cannot receive until it answers again.  */
static Flow__Cluster__ClusterMeta *
s_replan(Flow__Cluster__ClusterMeta *meta)
{
    fl_layout_t layout;
    if (fl_layout_read(meta, &layout) != 0)
        return meta;
    const char *active[MEMBERS_MAX];
    size_t n = 0;
    for (size_t i = 0; i < meta->n_members && n < MEMBERS_MAX; i++)
        if (s_active(meta->members[i]))
            active[n++] = meta->members[i]->node_id;
    fl_placement_t *placement = n ? fl_placement_new(meta->partitions, 1, active, n) : NULL;
    Flow__Cluster__PartitionMove *store = calloc(meta->partitions, sizeof *store);
    Flow__Cluster__PartitionMove **moves = calloc(meta->partitions, sizeof *moves);
    assert(store && moves);
    size_t nmoves = 0;
    for (uint32_t p = 0; placement && p < meta->partitions; p++) {
        const char *want = fl_placement_primary(placement, p);
        if (!want || streq(want, fl_layout_owner(&layout, p)) || s_is_down(meta, want))
            continue;
        flow__cluster__partition_move__init(&store[nmoves]);
        store[nmoves].partition = p;
        store[nmoves].to = (char *) want;
        moves[nmoves] = &store[nmoves];
        nmoves++;
    }
    Flow__Cluster__ClusterMeta *next = s_with_layout(meta, &layout, moves, nmoves, false);
    free(moves);
    free(store);
    fl_placement_destroy(&placement);
    fl_layout_release(&layout);
    flow__cluster__cluster_meta__free_unpacked(meta, NULL);
    return next;
}

/*  META after FLIP, as a fresh copy; NULL when it flips nothing.  */
static Flow__Cluster__ClusterMeta *
s_with_flip(const Flow__Cluster__ClusterMeta *meta, const Flow__Cluster__Flip *flip)
{
    fl_layout_t layout;
    if (fl_layout_read(meta, &layout) != 0)
        return NULL;
    Flow__Cluster__PartitionMove **kept = calloc(meta->n_moves + 1, sizeof *kept);
    assert(kept);
    size_t nkept = 0, flipped = 0;
    for (size_t i = 0; i < meta->n_moves; i++) {
        Flow__Cluster__PartitionMove *m = meta->moves[i];
        bool flips = false;
        for (size_t j = 0; j < flip->n_partitions && !flips; j++)
            flips = flip->partitions[j] == m->partition && streq(m->to, flip->to);
        if (flips && fl_layout_set_owner(&layout, m->partition, m->to) == 0)
            flipped++;
        else
            kept[nkept++] = m;
    }
    Flow__Cluster__ClusterMeta *next = flipped
        ? s_with_layout(meta, &layout, kept, nkept, true) : NULL;
    free(kept);
    fl_layout_release(&layout);
    return next;
}

/*  Takes META; a joining member that has no partition left to receive is
 *  up.  */
static Flow__Cluster__ClusterMeta *
s_promote(Flow__Cluster__ClusterMeta *meta)
{
    for (size_t i = 0; i < meta->n_members; i++) {
        Flow__Cluster__Member *m = meta->members[i];
        if (m->state != FLOW__CLUSTER__MEMBER_STATE__MEMBER_JOINING)
            continue;
        bool receiving = false;
        for (size_t j = 0; j < meta->n_moves && !receiving; j++)
            receiving = streq(meta->moves[j]->to, m->node_id);
        if (receiving)
            continue;
        Flow__Cluster__MemberStateChange up = FLOW__CLUSTER__MEMBER_STATE_CHANGE__INIT;
        up.node_id = m->node_id;
        up.state = FLOW__CLUSTER__MEMBER_STATE__MEMBER_UP;
        Flow__Cluster__ClusterMeta *next = s_with_state(meta, &up);
        fl_info("meta", "member is up", "node=%s", m->node_id);
        flow__cluster__cluster_meta__free_unpacked(meta, NULL);
        meta = next;
        i = (size_t) -1;                /* the member list was copied: start again */
    }
    return meta;
}

static int
s_fsm_apply(struct raft_fsm *fsm, const struct raft_buffer *buf, void **result)
{
    self_t *self = fsm->data;
    *result = NULL;
    Flow__Cluster__MetaCommand *cmd = fl_meta_decode(buf->base, buf->len);
    if (!cmd) {
        fl_error("meta", "undecodable metadata command; skipped", "bytes=%zu", buf->len);
        return 0;
    }
    Flow__Cluster__ClusterMeta *next = NULL;
    bool replan = true;
    if (cmd->body_case == FLOW__CLUSTER__META_COMMAND__BODY_CREATE && !self->meta)
        next = s_copy_meta(cmd->create);
    else
    if (self->meta && cmd->body_case == FLOW__CLUSTER__META_COMMAND__BODY_ADD_MEMBER)
        next = s_with_member(self->meta, cmd->add_member, NULL);
    else
    if (self->meta && cmd->body_case == FLOW__CLUSTER__META_COMMAND__BODY_REMOVE_MEMBER)
        next = s_with_member(self->meta, NULL, cmd->remove_member);
    else
    if (self->meta && cmd->body_case == FLOW__CLUSTER__META_COMMAND__BODY_SET_STATE) {
        next = s_with_state(self->meta, cmd->set_state);
        if (next && (cmd->set_state->state == FLOW__CLUSTER__MEMBER_STATE__MEMBER_DOWN
                     || cmd->set_state->state == FLOW__CLUSTER__MEMBER_STATE__MEMBER_LOST))
            next = s_fail_over(next, cmd->set_state->node_id);
    }
    else
    if (self->meta && cmd->body_case == FLOW__CLUSTER__META_COMMAND__BODY_FLIP) {
        next = s_with_flip(self->meta, cmd->flip);
        replan = false;
    }
    if (next && replan)
        next = s_replan(next);
    if (next)
        next = s_promote(next);
    if (next) {
        s_set_meta(self, next);
        fl_debug("meta", "cluster metadata changed", "epoch=%" PRIu64 " members=%zu moves=%zu",
                 next->epoch, next->n_members, next->n_moves);
    }
    flow__cluster__meta_command__free_unpacked(cmd, NULL);
    return 0;
}

static int
s_fsm_snapshot(struct raft_fsm *fsm, struct raft_buffer *bufs[], unsigned *n_bufs)
{
    self_t *self = fsm->data;
    Flow__Cluster__ClusterMeta empty = FLOW__CLUSTER__CLUSTER_META__INIT;
    const Flow__Cluster__ClusterMeta *meta = self->meta ? self->meta : &empty;
    struct raft_buffer *buf = raft_malloc(sizeof *buf);
    if (!buf)
        return RAFT_NOMEM;
    if (s_frame(&meta->base, buf) != 0) {
        raft_free(buf);
        return RAFT_NOMEM;
    }
    *bufs = buf;
    *n_bufs = 1;
    return 0;
}

static int
s_fsm_restore(struct raft_fsm *fsm, struct raft_buffer *buf)
{
    self_t *self = fsm->data;
    size_t len = 0;
    const uint8_t *data = s_unframe(buf, &len);
    Flow__Cluster__ClusterMeta *meta = data
        ? flow__cluster__cluster_meta__unpack(NULL, len, data) : NULL;
    raft_free(buf->base);
    if (!meta)
        return RAFT_MALFORMED;
    if (meta->partitions == 0) {
        flow__cluster__cluster_meta__free_unpacked(meta, NULL);
        meta = NULL;
    }
    s_set_meta(self, meta);
    return 0;
}

/*  ------------------------------------------------------------------
 *  Proposals  */

/*  Called with the outcome of a proposal: 0 once applied, else raft's
 *  error.  */
typedef void (s_done_fn)(self_t *self, int status, void *arg);

typedef struct {
    struct raft_apply req;
    self_t *self;
    s_done_fn *done;
    void *arg;
} s_apply_t;

static void
s_applied(struct raft_apply *req, int status, void *result)
{
    (void) result;
    s_apply_t *a = req->data;
    if (status != 0)
        fl_warn("meta", "metadata command not committed", "error=\"%s\"", raft_strerror(status));
    a->done(a->self, status, a->arg);
    free(a);
}

/*  Appends CMD to the log (leader only); DONE(ARG) hears how it ended,
 *  unless this returns an error (raft's codes).  */
static int
s_propose(self_t *self, const Flow__Cluster__MetaCommand *cmd, s_done_fn *done, void *arg)
{
    struct raft_buffer buf;
    if (s_frame(&cmd->base, &buf) != 0)
        return RAFT_NOMEM;
    s_apply_t *a = calloc(1, sizeof *a);
    assert(a);
    a->self = self;
    a->done = done;
    a->arg = arg;
    a->req.data = a;
    int rc = raft_apply(&self->raft, &a->req, &buf, 1, s_applied);
    if (rc) {
        raft_free(buf.base);
        free(a);
    }
    return rc;
}

static void
s_created(self_t *self, int status, void *arg)
{
    (void) status;
    (void) arg;
    self->creating = false;
}

/*  The first command of a new cluster: its shape and this node.  */
static void
s_create(self_t *self)
{
    const fl_meta_args_t *args = self->args;
    uint8_t raw[16];
    randombytes_buf(raw, sizeof raw);
    char cluster_id[sizeof raw * 2 + 1];
    sodium_bin2hex(cluster_id, sizeof cluster_id, raw, sizeof raw);
    Flow__Cluster__Member me = FLOW__CLUSTER__MEMBER__INIT;
    me.node_id = (char *) args->node->node_id;
    me.raft_id = fl_meta_raft_id(args->node->node_id);
    me.raft_address = (char *) args->raft_address;
    me.peer_endpoint = (char *) args->peer_endpoint;
    me.client_endpoint = (char *) args->client_endpoint;
    me.public_key = (char *) args->public_key;
    me.state = FLOW__CLUSTER__MEMBER_STATE__MEMBER_UP;
    me.joined_ms = (uint64_t) zclock_time();
    Flow__Cluster__Member *members[] = { &me };
    Flow__Cluster__ClusterMeta meta = FLOW__CLUSTER__CLUSTER_META__INIT;
    meta.record_version = 1;
    meta.cluster_id = cluster_id;
    meta.partitions = args->partitions;
    meta.replicas = args->replicas;
    meta.epoch = 1;
    meta.members = members;
    meta.n_members = 1;
    Flow__Cluster__MetaCommand cmd = FLOW__CLUSTER__META_COMMAND__INIT;
    cmd.body_case = FLOW__CLUSTER__META_COMMAND__BODY_CREATE;
    cmd.create = &meta;
    int rc = s_propose(self, &cmd, s_created, NULL);
    if (rc == 0) {
        self->creating = true;
        fl_info("meta", "creating the cluster", "cluster=%s partitions=%u replicas=%u",
                cluster_id, meta.partitions, meta.replicas);
    }
}

typedef struct {
    struct raft_barrier req;
    self_t *self;
} s_barrier_t;

/*  Every command committed before this node led is applied now: if the
 *  state is still empty, no cluster was ever created in this log.  */
static void
s_barrier_done(struct raft_barrier *req, int status)
{
    s_barrier_t *b = req->data;
    self_t *self = b->self;
    free(b);
    self->creating = false;
    if (status == 0 && !self->meta && !self->stopping && raft_state(&self->raft) == RAFT_LEADER)
        s_create(self);
}

/*  A leader with no metadata creates the cluster, after a barrier.  */
static void
s_on_tick(uv_timer_t *timer)
{
    self_t *self = timer->data;
    if (self->meta || self->creating || self->stopping || !self->args->bootstrap
        || raft_state(&self->raft) != RAFT_LEADER)
        return;
    s_barrier_t *b = calloc(1, sizeof *b);
    assert(b);
    b->self = self;
    b->req.data = b;
    if (raft_barrier(&self->raft, &b->req, s_barrier_done) == 0)
        self->creating = true;
    else
        free(b);
}

/*  ------------------------------------------------------------------
 *  Status  */

static const char *
s_state_name(int state)
{
    switch (state) {
    case RAFT_LEADER:    return "leader";
    case RAFT_FOLLOWER:  return "follower";
    case RAFT_CANDIDATE: return "candidate";
    default:             return "unavailable";
    }
}

/*  The node id of consensus server ID, or "" when the metadata does not
 *  know it (yet).  */
static const char *
s_node_of(const self_t *self, raft_id id)
{
    for (size_t i = 0; self->meta && i < self->meta->n_members; i++)
        if (self->meta->members[i]->raft_id == id)
            return self->meta->members[i]->node_id;
    return "";
}

/*  Fills STATUS; strings point into SELF or into NAMES (room for the
 *  configuration), valid until the loop runs again.  */
static void
s_status(self_t *self, Flow__Cluster__ClusterStatus *status, char **voters, char **standbys)
{
    status->meta = self->meta;
    status->node_id = (char *) self->args->node->node_id;
    status->consensus_state = (char *) s_state_name(raft_state(&self->raft));
    raft_id leader = 0;
    const char *address = NULL;
    raft_leader(&self->raft, &leader, &address);
    status->leader_id = (char *) (leader ? s_node_of(self, leader) : "");
    const struct raft_configuration *c = &self->raft.configuration;
    for (unsigned i = 0; i < c->n && i < MEMBERS_MAX; i++) {
        char *id = (char *) s_node_of(self, c->servers[i].id);
        if (c->servers[i].role == RAFT_VOTER)
            voters[status->n_voters++] = id;
        else
        if (c->servers[i].role == RAFT_STANDBY)
            standbys[status->n_standbys++] = id;
    }
    status->voters = voters;
    status->standbys = standbys;
    status->last_index = raft_last_index(&self->raft);
    status->applied_index = raft_last_applied(&self->raft);
    status->unavailable_partitions = self->meta ? fl_layout_unavailable(self->meta) : 0;
}

/*  ------------------------------------------------------------------
 *  Requests from the node's actors  */

static void
s_answer(self_t *self, zframe_t **identity, const Flow__Cluster__MetaReply *reply)
{
    fl_envelope_answer(self->router, identity, &reply->base);
}

/*  A join in progress: raft_add, raft_assign, then the add_member
 *  command; the requester hears once the member is recorded.  */
typedef struct {
    self_t *self;
    zframe_t *identity;
    uint64_t seq;
    Flow__Cluster__MetaRequest *req;    /* owns the member */
    struct raft_change change;
} s_join_t;

static void
s_join_end(s_join_t *j, Flow__Status status, const char *message)
{
    self_t *self = j->self;
    if (!self->stopping) {
        Flow__Cluster__MetaReply reply = FLOW__CLUSTER__META_REPLY__INIT;
        Flow__Cluster__ClusterStatus status_reply = FLOW__CLUSTER__CLUSTER_STATUS__INIT;
        char *voters[MEMBERS_MAX], *standbys[MEMBERS_MAX];
        reply.seq = j->seq;
        reply.status = status;
        reply.message = (char *) message;
        if (status == FLOW__STATUS__OK) {
            s_status(self, &status_reply, voters, standbys);
            reply.cluster = &status_reply;
        }
        s_answer(self, &j->identity, &reply);
    }
    if (status == FLOW__STATUS__OK)
        fl_info("meta", "member joined", "node=%s", j->req->join->node_id);
    else
        fl_warn("meta", "join failed", "node=%s reason=\"%s\"", j->req->join->node_id, message);
    zframe_destroy(&j->identity);
    flow__cluster__meta_request__free_unpacked(j->req, NULL);
    free(j);
}

static void
s_join_recorded(self_t *self, int status, void *arg)
{
    (void) self;
    s_join_end(arg, status ? FLOW__STATUS__UNAVAILABLE : FLOW__STATUS__OK,
               status ? "the consensus did not commit the new member; retry" : "");
}

static void
s_join_record(s_join_t *j)
{
    Flow__Cluster__Member member = *j->req->join;
    member.state = FLOW__CLUSTER__MEMBER_STATE__MEMBER_JOINING;
    member.joined_ms = (uint64_t) zclock_time();
    Flow__Cluster__MetaCommand cmd = FLOW__CLUSTER__META_COMMAND__INIT;
    cmd.body_case = FLOW__CLUSTER__META_COMMAND__BODY_ADD_MEMBER;
    cmd.add_member = &member;
    if (s_propose(j->self, &cmd, s_join_recorded, j) != 0)
        s_join_end(j, FLOW__STATUS__UNAVAILABLE, "this node no longer leads; retry");
}

static void
s_join_assigned(struct raft_change *change, int status)
{
    s_join_t *j = change->data;
    if (status != 0 && status != RAFT_BADROLE) {
        s_join_end(j, FLOW__STATUS__UNAVAILABLE,
                   "the new node did not catch up with the consensus log; is its consensus "
                   "address reachable?");
        return;
    }
    s_join_record(j);
}

/*  Voters are the first five; later nodes follow the log as standbys.  */
static int
s_role_for_new(const self_t *self)
{
    const struct raft_configuration *c = &self->raft.configuration;
    unsigned voters = 0;
    for (unsigned i = 0; i < c->n; i++)
        voters += c->servers[i].role == RAFT_VOTER;
    return voters < 5 ? RAFT_VOTER : RAFT_STANDBY;
}

static void
s_join_added(struct raft_change *change, int status)
{
    s_join_t *j = change->data;
    if (status != 0) {
        s_join_end(j, FLOW__STATUS__UNAVAILABLE, raft_strerror(status));
        return;
    }
    int rc = raft_assign(&j->self->raft, &j->change, j->req->join->raft_id,
                         s_role_for_new(j->self), s_join_assigned);
    if (rc)
        s_join_end(j, FLOW__STATUS__UNAVAILABLE, raft_strerror(rc));
}

/*  The leader's member record, or NULL when none is known.  */
static const Flow__Cluster__Member *
s_leader(self_t *self)
{
    raft_id leader = 0;
    const char *address = NULL;
    raft_leader(&self->raft, &leader, &address);
    for (size_t i = 0; leader && self->meta && i < self->meta->n_members; i++)
        if (self->meta->members[i]->raft_id == leader)
            return self->meta->members[i];
    return NULL;
}

/*  Answers that this node does not lead, naming the leader when known. */
static void
s_not_leader(self_t *self, zframe_t **identity, uint64_t seq)
{
    Flow__Cluster__MetaReply reply = FLOW__CLUSTER__META_REPLY__INIT;
    reply.seq = seq;
    reply.status = FLOW__STATUS__UNAVAILABLE;
    reply.message = self->meta ? "not the consensus leader" : "the cluster is not created yet";
    const Flow__Cluster__Member *leader = s_leader(self);
    reply.leader_peer = leader ? leader->peer_endpoint : "";
    reply.leader_key = leader ? leader->public_key : "";
    s_answer(self, identity, &reply);
}

/*  A removal in progress: raft_remove, then the remove_member command.  */
typedef struct {
    self_t *self;
    zframe_t *identity;
    uint64_t seq;
    char node_id[FL_NODE_ID_MAX];
    bool was_voter;
    struct raft_change change;
} s_remove_t;

static void
s_remove_end(s_remove_t *r, Flow__Status status, const char *message)
{
    self_t *self = r->self;
    if (!self->stopping) {
        Flow__Cluster__MetaReply reply = FLOW__CLUSTER__META_REPLY__INIT;
        Flow__Cluster__ClusterStatus status_reply = FLOW__CLUSTER__CLUSTER_STATUS__INIT;
        char *voters[MEMBERS_MAX], *standbys[MEMBERS_MAX];
        reply.seq = r->seq;
        reply.status = status;
        reply.message = (char *) message;
        if (status == FLOW__STATUS__OK) {
            s_status(self, &status_reply, voters, standbys);
            reply.cluster = &status_reply;
        }
        s_answer(self, &r->identity, &reply);
    }
    if (status == FLOW__STATUS__OK)
        fl_info("meta", "member removed", "node=%s", r->node_id);
    zframe_destroy(&r->identity);
    free(r);
}

static void
s_remove_recorded(self_t *self, int status, void *arg)
{
    (void) self;
    s_remove_end(arg, status ? FLOW__STATUS__UNAVAILABLE : FLOW__STATUS__OK,
                 status ? "the consensus did not commit the removal; retry" : "");
}

static void
s_remove_record(s_remove_t *r)
{
    Flow__Cluster__MetaCommand cmd = FLOW__CLUSTER__META_COMMAND__INIT;
    cmd.body_case = FLOW__CLUSTER__META_COMMAND__BODY_REMOVE_MEMBER;
    cmd.remove_member = r->node_id;
    if (s_propose(r->self, &cmd, s_remove_recorded, r) != 0)
        s_remove_end(r, FLOW__STATUS__UNAVAILABLE, "this node no longer leads; retry");
}

static void
s_promoted(struct raft_change *change, int status)
{
    s_remove_t *r = change->data;
    if (status != 0)
        fl_warn("meta", "no standby could replace the voter that left",
                "error=\"%s\"", raft_strerror(status));
    s_remove_record(r);
}

/*  A voter that left is replaced by a standby, when there is one, so the
 *  consensus keeps up to five voters.  */
static void
s_removed(struct raft_change *change, int status)
{
    s_remove_t *r = change->data;
    if (status != 0) {
        s_remove_end(r, FLOW__STATUS__UNAVAILABLE, raft_strerror(status));
        return;
    }
    const struct raft_configuration *c = &r->self->raft.configuration;
    raft_id standby = 0;
    for (unsigned i = 0; i < c->n && r->was_voter && !standby; i++)
        if (c->servers[i].role == RAFT_STANDBY)
            standby = c->servers[i].id;
    if (standby && raft_assign(&r->self->raft, &r->change, standby, RAFT_VOTER, s_promoted) == 0)
        return;
    s_remove_record(r);
}

/*  A command whose requester hears once it is committed.  */
typedef struct {
    zframe_t *identity;
    uint64_t seq;
    char message[160];
} s_pending_t;

static void
s_committed(self_t *self, int status, void *arg)
{
    s_pending_t *p = arg;
    if (!self->stopping) {
        Flow__Cluster__MetaReply reply = FLOW__CLUSTER__META_REPLY__INIT;
        Flow__Cluster__ClusterStatus status_reply = FLOW__CLUSTER__CLUSTER_STATUS__INIT;
        char *voters[MEMBERS_MAX], *standbys[MEMBERS_MAX];
        reply.seq = p->seq;
        reply.status = status ? FLOW__STATUS__UNAVAILABLE : FLOW__STATUS__OK;
        reply.message = status ? "the consensus did not commit the change; retry" : p->message;
        if (status == 0) {
            s_status(self, &status_reply, voters, standbys);
            reply.cluster = &status_reply;
        }
        s_answer(self, &p->identity, &reply);
    }
    zframe_destroy(&p->identity);
    free(p);
}

/*  Proposes CMD and answers the requester (IDENTITY, taken) once it is
 *  committed, with MESSAGE.  */
static void
s_propose_answer(self_t *self, zframe_t **identity, uint64_t seq,
                 const Flow__Cluster__MetaCommand *cmd, const char *message)
{
    s_pending_t *p = calloc(1, sizeof *p);
    assert(p);
    p->identity = *identity;
    *identity = NULL;
    p->seq = seq;
    snprintf(p->message, sizeof p->message, "%s", message);
    if (s_propose(self, cmd, s_committed, p) == 0)
        return;
    Flow__Cluster__MetaReply reply = FLOW__CLUSTER__META_REPLY__INIT;
    reply.seq = seq;
    reply.status = FLOW__STATUS__UNAVAILABLE;
    reply.message = "this node no longer leads; retry";
    s_answer(self, &p->identity, &reply);
    zframe_destroy(&p->identity);
    free(p);
}

static const Flow__Cluster__Member *
s_member(const self_t *self, const char *node_id)
{
    for (size_t i = 0; self->meta && i < self->meta->n_members; i++)
        if (streq(self->meta->members[i]->node_id, node_id))
            return self->meta->members[i];
    return NULL;
}

static void
s_refuse(self_t *self, zframe_t **identity, uint64_t seq, Flow__Status status,
         const char *message)
{
    Flow__Cluster__MetaReply reply = FLOW__CLUSTER__META_REPLY__INIT;
    reply.seq = seq;
    reply.status = status;
    reply.message = (char *) message;
    s_answer(self, identity, &reply);
}

/*  The partitions of member M move to the others; once it owns none its
 *  own node asks for its removal (cluster/handoff.c).  */
static void
s_leave(self_t *self, zframe_t **identity, uint64_t seq, const Flow__Cluster__Member *m,
        uint32_t owned)
{
    char message[160];
    snprintf(message, sizeof message, "leaving: its %u partitions move to the other members "
             "first; it is removed once they have", owned);
    if (m->state == FLOW__CLUSTER__MEMBER_STATE__MEMBER_LEAVING) {
        s_refuse(self, identity, seq, FLOW__STATUS__OK, message);
        return;
    }
    size_t others = 0;
    for (size_t i = 0; i < self->meta->n_members; i++)
        others += s_active(self->meta->members[i]) && self->meta->members[i] != m;
    if (owned && !others) {
        s_refuse(self, identity, seq, FLOW__STATUS__FAILED_PRECONDITION,
                 "node: it is the only member that can hold partitions; its data would be lost");
        return;
    }
    Flow__Cluster__MemberStateChange change = FLOW__CLUSTER__MEMBER_STATE_CHANGE__INIT;
    change.node_id = m->node_id;
    change.state = FLOW__CLUSTER__MEMBER_STATE__MEMBER_LEAVING;
    Flow__Cluster__MetaCommand cmd = FLOW__CLUSTER__META_COMMAND__INIT;
    cmd.body_case = FLOW__CLUSTER__META_COMMAND__BODY_SET_STATE;
    cmd.set_state = &change;
    s_propose_answer(self, identity, seq, &cmd, message);
}

/*  Removes member NODE_ID (leader only).  A member that owns partitions
 *  leaves first: they move to the other members, and its node asks for
 *  the removal once it owns none.  */
static void
s_remove(self_t *self, zframe_t **identity, const Flow__Cluster__MetaRequest *req)
{
    if (raft_state(&self->raft) != RAFT_LEADER || !self->meta) {
        s_not_leader(self, identity, req->seq);
        return;
    }
    const char *id = req->body_case == FLOW__CLUSTER__META_REQUEST__BODY_REMOVE ? req->remove
                                                                               : req->leave;
    const Flow__Cluster__Member *m = s_member(self, id);
    if (!m) {
        s_refuse(self, identity, req->seq, FLOW__STATUS__NOT_FOUND,
                 "node: no member of this cluster has that id");
        return;
    }
    fl_layout_t layout;
    uint32_t owned = fl_layout_read(self->meta, &layout) == 0
                   ? fl_layout_owned(&layout, m->node_id) : 0;
    fl_layout_release(&layout);
    if (owned || req->body_case == FLOW__CLUSTER__META_REQUEST__BODY_LEAVE) {
        s_leave(self, identity, req->seq, m, owned);
        return;
    }
    s_remove_t *r = calloc(1, sizeof *r);
    assert(r);
    r->self = self;
    r->identity = *identity;
    *identity = NULL;
    r->seq = req->seq;
    snprintf(r->node_id, sizeof r->node_id, "%s", m->node_id);
    r->change.data = r;
    bool configured = false;
    for (unsigned i = 0; i < self->raft.configuration.n; i++)
        if (self->raft.configuration.servers[i].id == m->raft_id) {
            configured = true;
            r->was_voter = self->raft.configuration.servers[i].role == RAFT_VOTER;
        }
    if (!configured) {
        s_remove_record(r);
        return;
    }
    int rc = raft_remove(&self->raft, &r->change, m->raft_id, s_removed);
    if (rc)
        s_remove_end(r, FLOW__STATUS__UNAVAILABLE, raft_strerror(rc));
}

/*  The new owner of some partitions caught up under their fences.  */
static void
s_flip(self_t *self, zframe_t **identity, const Flow__Cluster__MetaRequest *req)
{
    if (raft_state(&self->raft) != RAFT_LEADER || !self->meta) {
        s_not_leader(self, identity, req->seq);
        return;
    }
    const Flow__Cluster__Flip *flip = req->flip;
    bool valid = flip->to[0] && s_member(self, flip->to) && flip->n_partitions > 0
                 && flip->n_partitions <= self->meta->partitions;
    for (size_t i = 0; valid && i < flip->n_partitions; i++)
        valid = flip->partitions[i] < self->meta->partitions;
    if (!valid) {
        s_refuse(self, identity, req->seq, FLOW__STATUS__INVALID_ARGUMENT,
                 "flip: a member and partitions of this cluster");
        return;
    }
    Flow__Cluster__MetaCommand cmd = FLOW__CLUSTER__META_COMMAND__INIT;
    cmd.body_case = FLOW__CLUSTER__META_COMMAND__BODY_FLIP;
    cmd.flip = (Flow__Cluster__Flip *) flip;
    s_propose_answer(self, identity, req->seq, &cmd, "");
}

/*  The changes health checks make: up -> down, down -> up or lost,
 *  lost -> up.  */
static bool
s_health_step(Flow__Cluster__MemberState from, Flow__Cluster__MemberState to)
{
    switch (to) {
    case FLOW__CLUSTER__MEMBER_STATE__MEMBER_DOWN:
        return from == FLOW__CLUSTER__MEMBER_STATE__MEMBER_UP;
    case FLOW__CLUSTER__MEMBER_STATE__MEMBER_LOST:
        return from == FLOW__CLUSTER__MEMBER_STATE__MEMBER_DOWN;
    case FLOW__CLUSTER__MEMBER_STATE__MEMBER_UP:
        return from == FLOW__CLUSTER__MEMBER_STATE__MEMBER_DOWN
               || from == FLOW__CLUSTER__MEMBER_STATE__MEMBER_LOST;
    default:
        return false;
    }
}

Flow__Status
fl_meta_health_check(const Flow__Cluster__ClusterMeta *meta, const char *leader,
                     const Flow__Cluster__MemberStateChange *change, const char **why)
{
    const Flow__Cluster__Member *m = NULL;
    for (size_t i = 0; meta && i < meta->n_members && !m; i++)
        if (streq(meta->members[i]->node_id, change->node_id))
            m = meta->members[i];
    *why = "";
    if (!m)
        *why = "health: node: no member of this cluster has that id";
    else
    if (streq(m->node_id, leader))
        *why = "health: node: the leader is not judged by its own health checks";
    else
    if (!s_health_step(m->state, change->state))
        *why = "health: state: only an up member goes down, a down one up or lost, and a "
               "lost one up";
    return !m ? FLOW__STATUS__NOT_FOUND
         : (*why)[0] ? FLOW__STATUS__FAILED_PRECONDITION : FLOW__STATUS__OK;
}

/*  The leader's health checks found member C->node_id down, down long
 *  enough to be lost, or up again.  */
static void
s_health(self_t *self, zframe_t **identity, const Flow__Cluster__MetaRequest *req)
{
    if (raft_state(&self->raft) != RAFT_LEADER || !self->meta) {
        s_not_leader(self, identity, req->seq);
        return;
    }
    const Flow__Cluster__MemberStateChange *c = req->health;
    const char *why = "";
    Flow__Status status = fl_meta_health_check(self->meta, self->args->node->node_id, c, &why);
    if (status != FLOW__STATUS__OK) {
        s_refuse(self, identity, req->seq, status, why);
        return;
    }
    fl_warn("meta", c->state == FLOW__CLUSTER__MEMBER_STATE__MEMBER_DOWN
                    ? "member is down: it did not answer health checks"
                    : c->state == FLOW__CLUSTER__MEMBER_STATE__MEMBER_LOST
                    ? "member is lost: down too long; its copies are made again on the others"
                    : "member is up again: it answers health checks", "node=%s", c->node_id);
    Flow__Cluster__MetaCommand cmd = FLOW__CLUSTER__META_COMMAND__INIT;
    cmd.body_case = FLOW__CLUSTER__META_COMMAND__BODY_SET_STATE;
    cmd.set_state = (Flow__Cluster__MemberStateChange *) c;
    s_propose_answer(self, identity, req->seq, &cmd, "");
}

/*  Takes REQ and IDENTITY; answers now or when the join ends.  */
static void
s_join(self_t *self, zframe_t **identity, Flow__Cluster__MetaRequest *req)
{
    s_join_t *j = calloc(1, sizeof *j);
    assert(j);
    j->self = self;
    j->identity = *identity;
    *identity = NULL;
    j->seq = req->seq;
    j->req = req;
    j->change.data = j;
    const Flow__Cluster__Member *m = req->join;
    if (raft_state(&self->raft) != RAFT_LEADER || !self->meta) {
        s_not_leader(self, &j->identity, req->seq);
        flow__cluster__meta_request__free_unpacked(req, NULL);
        free(j);
        return;
    }
    for (size_t i = 0; i < self->meta->n_members; i++)
        if (streq(self->meta->members[i]->node_id, m->node_id)) {
            s_join_end(j, FLOW__STATUS__OK, "already a member");
            return;
        }
    for (unsigned i = 0; i < self->raft.configuration.n; i++)
        if (self->raft.configuration.servers[i].id == m->raft_id) {
            /*  Added by an earlier attempt that did not finish.  */
            s_join_added(&j->change, 0);
            return;
        }
    int rc = raft_add(&self->raft, &j->change, m->raft_id, m->raft_address, s_join_added);
    if (rc)
        s_join_end(j, FLOW__STATUS__UNAVAILABLE, raft_strerror(rc));
}

static void
s_handle_request(self_t *self)
{
    zframe_t *identity = NULL;
    Flow__Cluster__MetaRequest *req = (Flow__Cluster__MetaRequest *) fl_envelope_take(
        self->router, &flow__cluster__meta_request__descriptor, &identity);
    if (!identity) {
        if (req)
            flow__cluster__meta_request__free_unpacked(req, NULL);
        return;
    }
    Flow__Cluster__MetaReply reply = FLOW__CLUSTER__META_REPLY__INIT;
    Flow__Cluster__ClusterStatus status = FLOW__CLUSTER__CLUSTER_STATUS__INIT;
    char *voters[MEMBERS_MAX], *standbys[MEMBERS_MAX];
    if (!req) {
        reply.status = FLOW__STATUS__INVALID_ARGUMENT;
        reply.message = "undecodable metadata request";
    }
    else {
        reply.seq = req->seq;
        if (req->body_case == FLOW__CLUSTER__META_REQUEST__BODY_STATUS) {
            s_status(self, &status, voters, standbys);
            reply.cluster = &status;
        }
        else
        if (req->body_case == FLOW__CLUSTER__META_REQUEST__BODY_JOIN && req->join->raft_id
            && req->join->node_id[0] && req->join->raft_address[0]) {
            s_join(self, &identity, req);
            return;
        }
        else
        if (req->body_case == FLOW__CLUSTER__META_REQUEST__BODY_REMOVE
            || req->body_case == FLOW__CLUSTER__META_REQUEST__BODY_LEAVE) {
            s_remove(self, &identity, req);
            zframe_destroy(&identity);
            flow__cluster__meta_request__free_unpacked(req, NULL);
            return;
        }
        else
        if (req->body_case == FLOW__CLUSTER__META_REQUEST__BODY_FLIP) {
            s_flip(self, &identity, req);
            zframe_destroy(&identity);
            flow__cluster__meta_request__free_unpacked(req, NULL);
            return;
        }
        else
        if (req->body_case == FLOW__CLUSTER__META_REQUEST__BODY_HEALTH) {
            s_health(self, &identity, req);
            zframe_destroy(&identity);
            flow__cluster__meta_request__free_unpacked(req, NULL);
            return;
        }
        else {
            reply.status = FLOW__STATUS__INVALID_ARGUMENT;
            reply.message = "unknown metadata request";
        }
    }
    s_answer(self, &identity, &reply);
    zframe_destroy(&identity);
    if (req)
        flow__cluster__meta_request__free_unpacked(req, NULL);
}

/*  ------------------------------------------------------------------
 *  The loop  */

static void
s_closed_handle(uv_handle_t *handle)
{
    (void) handle;
}

static void
s_raft_closed(struct raft *raft)
{
    self_t *self = raft->data;
    if (self->io_ready)
        raft_uv_close(&self->io);
    if (self->transport_ready)
        raft_uv_tcp_close(&self->transport);
    uv_close((uv_handle_t *) &self->pipe_poll, s_closed_handle);
    uv_close((uv_handle_t *) &self->router_poll, s_closed_handle);
    uv_close((uv_handle_t *) &self->tick, s_closed_handle);
    uv_close((uv_handle_t *) &self->closer, s_closed_handle);
}

static void
s_on_closer(uv_timer_t *timer)
{
    self_t *self = timer->data;
    if (self->raft_started)
        raft_close(&self->raft, s_raft_closed);
    else
        s_raft_closed(&self->raft);
}

static void
s_stop(self_t *self)
{
    if (self->stopping)
        return;
    self->stopping = true;
    uv_poll_stop(&self->pipe_poll);
    uv_poll_stop(&self->router_poll);
    uv_timer_stop(&self->tick);
    uv_timer_start(&self->closer, s_on_closer, 0, 0);
}

static void
s_drain_pipe(self_t *self)
{
    while (!self->stopping && (zsock_events(self->pipe) & ZMQ_POLLIN)) {
        char *command = zstr_recv(self->pipe);
        if (!command || streq(command, "$TERM"))
            s_stop(self);
        zstr_free(&command);
    }
}

static void
s_drain_router(self_t *self)
{
    while (!self->stopping && (zsock_events(self->router) & ZMQ_POLLIN))
        s_handle_request(self);
}

static void
s_on_pipe(uv_poll_t *poll, int status, int events)
{
    (void) status;
    (void) events;
    s_drain_pipe(poll->data);
}

static void
s_on_router(uv_poll_t *poll, int status, int events)
{
    (void) status;
    (void) events;
    s_drain_router(poll->data);
}

static int
s_start_raft(self_t *self)
{
    const fl_meta_args_t *args = self->args;
    raft_id id = fl_meta_raft_id(args->node->node_id);
    self->fsm = (struct raft_fsm) { .version = 1, .data = self, .apply = s_fsm_apply,
                                    .snapshot = s_fsm_snapshot, .restore = s_fsm_restore };
    self->raft.data = self;
    int rc = raft_uv_tcp_init(&self->transport, &self->loop);
    self->transport_ready = rc == 0;
    if (rc == 0)
        rc = raft_uv_init(&self->io, &self->loop, args->raft_dir, &self->transport);
    self->io_ready = self->transport_ready && rc == 0;
    if (rc == 0)
        rc = raft_init(&self->raft, &self->io, &self->fsm, id, args->raft_address);
    if (rc) {
        fl_error("meta", "cannot set up the consensus", "error=\"%s\"", raft_strerror(rc));
        return FL_E_IO;
    }
    self->raft.data = self;
    self->raft_started = true;          /* initialised: closed with raft_close */
    if (args->bootstrap) {
        struct raft_configuration conf;
        raft_configuration_init(&conf);
        rc = raft_configuration_add(&conf, id, args->raft_address, RAFT_VOTER);
        if (rc == 0)
            rc = raft_bootstrap(&self->raft, &conf);
        raft_configuration_close(&conf);
        if (rc == 0)
            fl_info("meta", "bootstrapped a new consensus", "address=%s", args->raft_address);
        else
        if (rc != RAFT_CANTBOOTSTRAP) {
            fl_error("meta", "cannot bootstrap the consensus", "error=\"%s\"", raft_strerror(rc));
            return FL_E_IO;
        }
    }
    rc = raft_start(&self->raft);
    if (rc) {
        fl_error("meta", "cannot start the consensus", "error=\"%s\" detail=\"%s\"",
                 raft_strerror(rc), raft_errmsg(&self->raft));
        return FL_E_IO;
    }
    return 0;
}

/*  The loop and its handles exist once this returns, even on error, so
 *  s_stop can close them.  */
static int
s_open(self_t *self)
{
    int rc = uv_loop_init(&self->loop);
    assert(rc == 0);
    self->router = zsock_new(ZMQ_ROUTER);
    if (!self->router)
        return FL_E_NOMEM;
    uv_poll_init(&self->loop, &self->pipe_poll, zsock_fd(self->pipe));
    uv_poll_init(&self->loop, &self->router_poll, zsock_fd(self->router));
    uv_timer_init(&self->loop, &self->tick);
    uv_timer_init(&self->loop, &self->closer);
    self->pipe_poll.data = self->router_poll.data = self;
    self->tick.data = self->closer.data = self;
    if (zsock_bind(self->router, "%s", FL_META_ENDPOINT) != 0) {
        fl_error("meta", "cannot bind the metadata endpoint", NULL);
        return FL_E_IO;
    }
    rc = s_start_raft(self);
    if (rc)
        return rc;
    uv_poll_start(&self->pipe_poll, UV_READABLE, s_on_pipe);
    uv_poll_start(&self->router_poll, UV_READABLE, s_on_router);
    uv_timer_start(&self->tick, s_on_tick, TICK_MS, TICK_MS);
    return 0;
}

static void
s_meta_task(zsock_t *pipe, void *arg)
{
    self_t self = { .args = arg, .pipe = pipe };
    zsock_signal(pipe, 0);
    int rc = s_open(&self);
    if (rc) {
        zsock_signal(pipe, 1);
        s_stop(&self);
    }
    else
        zsock_signal(pipe, 0);
    /*  Edges that came before the watchers started are read now.  */
    s_drain_pipe(&self);
    s_drain_router(&self);
    uv_run(&self.loop, UV_RUN_DEFAULT);
    uv_loop_close(&self.loop);
    s_set_meta(&self, NULL);
    zsock_destroy(&self.router);
}

zactor_t *
fl_meta_new(const fl_meta_args_t *args)
{
    return fl_actor_start(s_meta_task, (void *) args);
}
