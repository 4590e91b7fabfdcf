/*  cluster/handoff.c — the handoff thread; see handoff.h.
 *
 *  One zactor.  Its loop polls the pipe, the service ROUTER (fences asked
 *  by other members through the peer thread, transfer listings asked by
 *  the control thread) and the DEALERs to other members' peer sockets
 *  (one per member, shared by the slots that ask it); every TICK_MS it
 *  reads the metadata and acts on it.
 *
 *  A partition's transfer costs round trips and commits more than bytes,
 *  so TRANSFERS_MAX slots receive partitions at once, and nothing in the
 *  loop waits for another node: each slot has one request in flight, a
 *  flip goes to the leader's peer socket and its answer comes with the
 *  others, so a node that both gives and takes partitions answers fences
 *  while it waits.  What arrives in one pass of the loop is committed
 *  together: the chunks received in one write, the fences asked in
 *  another, one fsync each.
 *
 *  The slots also make replicas' copies (cluster/replica.c): a copy
 *  asked by the replication thread is the copy phase alone, from the
 *  partition's primary (or, when this node takes the partition over,
 *  from another copy), answered when it is done; the stream of changes
 *  the replica kept meanwhile brings it up to date.
 *
 *  Records of the store's "meta" database that this thread keeps:
 *    "ring"     the last metadata it published a ring from (ClusterMeta),
 *               so a restart routes at once with what it knew;
 *    "fences"   the partitions this node has fenced (a Flip: to unused);
 *    "promoting" the partitions this node took over from a primary that
 *               went down and does not serve until the replication thread
 *               says it holds what the other copies held (a Flip);
 *    "handoff/P" the position of partition P's transfer to this node (a
 *               TransferPull: partition, database, last key written, old
 *               owner in `to`).
 */
#include "cluster/handoff.h"
#include "actors/geo/geo.h"
#include "cluster/layout.h"
#include "cluster/meta.h"
#include "cluster/peer.h"
#include "node/actor.h"
#include "node/envelope.h"
#include "node/error.h"
#include "node/log.h"
#include "storage/codec.h"
#include "storage/keyspace.h"

#include <inttypes.h>
#include <sodium.h>

#define TICK_MS 100
#define CHUNK_MAX_BYTES (16u << 20)
#define REQUEST_TIMEOUT_MS 3000
#define RETRY_MS 500
#define META_TIMEOUT_MS 2000
#define LEADER_TIMEOUT_MS 10000
#define RETIRE_GRACE_MS 60000
#define DBS_MAX 32
#define WARN_EVERY_MS 10000
#define FIRST_VIEW_MS 5000
#define TRANSFERS_MAX 32                 /* partitions received at once */
#define SAVE_EVERY_MS 1000
#define SOURCE_IDLE_MS 10000            /* an unused connection to an old owner closes */
/*  A copy that took longer is caught up before the fence; after a shorter
 *  one the final phase, under the fence, brings what changed: at most this
 *  long's writes to one partition, against a whole digest saved.  */
#define CATCH_UP_AFTER_MS 5000

typedef enum {
    PHASE_IDLE,
    PHASE_COPY,
    PHASE_CATCH_UP,
    PHASE_FENCE,
    PHASE_FINAL,
    PHASE_FLIP
} s_phase_t;

static const char *const s_phase_names[] = {
    "waiting", "copying", "catching-up", "fencing", "final", "flipping",
};

/*  The transfer of one partition to this node.  */
typedef struct {
    s_phase_t phase;
    uint32_t partition;
    char from[FL_NODE_ID_MAX];
    zsock_t *source;                    /* the old owner's connection (a source's) */
    size_t db;                          /* index into the partitioned databases */
    bool from_start;                    /* else after `after` */
    uint8_t after[FL_KEYSPACE_KEY_MAX];
    size_t after_len;
    uint64_t seq;                       /* of the request in flight, 0: none */
    bool digest;                        /* it asks for a digest only */
    bool summary;                       /* it asks for the summary */
    bool summarized;                    /* this phase knows which databases differ */
    bool counts_only;                   /* the summary asked has counts only: none here */
    bool known[DBS_MAX];                /* the database's sum here is sums[db], not scanned */
    fl_keyspace_sum_t *sums;            /* DBS_MAX running sums of what the copy wrote */
    int64_t copy_ms;                    /* when copying started */
    bool need[DBS_MAX];                 /* the database's range differs from the owner's */
    int64_t sent_ms;
    int64_t not_before_ms;              /* throttle and retry pause */
    int64_t warned_ms;
    uint64_t bytes, records;
    bool replica;                       /* a replica's copy, asked by the replication thread */
    zframe_t *requester;                /* which answered when it is done */
    uint64_t request_seq;
} s_transfer_t;

/*  A DEALER to a member's peer socket (an old owner's, the leader's),
 *  shared by the slots that ask it: a CURVE handshake per partition
 *  would cost more than a small partition's records.  Replies find their
 *  slot by sequence.  */
typedef struct {
    zsock_t *sock;                      /* NULL: free */
    char endpoint[256];
    char public_key[64];
    int64_t used_ms;
} s_source_t;

typedef struct {
    const fl_ring_t *ring;
    int64_t retired_ms;
} s_retired_t;

typedef struct {
    fl_handoff_args_t *args;
    fl_node_t *node;
    zsock_t *pipe;
    zsock_t *service;
    zsock_t *meta;                      /* DEALER to the metadata thread */
    zsock_t *geo;                       /* PUSH to the geo actor's updates */
    MDB_dbi meta_db;
    Flow__Cluster__ClusterMeta *view;   /* the metadata of the published ring */
    uint64_t applied_needed;            /* decide once this index is applied (0: unknown) */
    bool current;
    uint32_t partitions;
    bool *fenced;
    bool *held;                         /* may hold records of the partition */
    bool *flipped;                      /* flipped here; the view does not show it yet */
    bool *promoting;                    /* taken over from a primary that went down, not
                                           served until the replication thread says so */
    zlistx_t *retired;
    s_transfer_t t[TRANSFERS_MAX];      /* partitions being received, PHASE_IDLE: free */
    s_source_t sources[TRANSFERS_MAX];  /* connections to old owners */
    Flow__Cluster__PeerReply *written[TRANSFERS_MAX];   /* chunks to write, by slot */
    uint64_t flip_seq;                  /* of the flip asked of the leader, 0: none */
    zsock_t *flip_sock;
    int64_t flip_sent_ms;
    char leader_endpoint[256];          /* the leader's peer socket, "": ask the metadata */
    char leader_key[64];
    const char *dbs[DBS_MAX];
    MDB_dbi dbis[DBS_MAX];
    size_t ndbs;
    uint64_t next_seq;
    uint64_t completed, bytes_moved;
    bool ring_dirty;                    /* the view is newer than the "ring" record */
    int64_t ring_saved_ms;
    uint32_t forget[TRANSFERS_MAX * 4]; /* partitions whose position record may go */
    size_t nforget;
    bool leave_asked;
    uint64_t rate;                      /* bytes per second, 0: no limit */
    int64_t throttle_ms;                /* no slot copies more before then */
    uint32_t chunk;                     /* bytes of records per chunk */
} self_t;

static s_transfer_t *s_slot_of(self_t *self, uint32_t partition);
static int s_summarize(MDB_txn *txn, const char *const *names, const MDB_dbi *dbis,
                       size_t ndbs, uint32_t partition, bool counts_only,
                       Flow__Cluster__TransferChunk *chunk);

/*  ------------------------------------------------------------------
 *  Records of this thread  */

static int
s_get(self_t *self, const char *name, const ProtobufCMessageDescriptor *type,
      ProtobufCMessage **msg_p)
{
    MDB_txn *txn = NULL;
    int rc = fl_store_read_begin(self->node->store, &txn);
    if (rc)
        return rc;
    MDB_val key = { strlen(name), (void *) name };
    rc = fl_codec_get(txn, self->meta_db, &key, type, msg_p);
    fl_store_read_end(self->node->store, &txn);
    return rc;
}

typedef struct {
    self_t *self;
    const char *name;
    const ProtobufCMessage *msg;        /* NULL: delete */
} s_put_t;

static int
s_put_apply(MDB_txn *txn, void *arg)
{
    s_put_t *p = arg;
    MDB_val key = { strlen(p->name), (void *) p->name };
    if (p->msg)
        return fl_codec_put(txn, p->self->meta_db, &key, p->msg);
    int rc = mdb_del(txn, p->self->meta_db, &key, NULL);
    return rc == MDB_NOTFOUND ? 0 : rc;
}

static int
s_put(self_t *self, const char *name, const ProtobufCMessage *msg)
{
    s_put_t p = { self, name, msg };
    int rc = fl_store_write(self->node->store, s_put_apply, &p);
    if (rc)
        fl_error("handoff", "cannot record handoff state", "record=%s error=%s", name,
                 fl_err_name(rc));
    return rc;
}

/*  The name of PARTITION's transfer position among this thread's records. */
static void
s_progress_key(uint32_t partition, char name[32])
{
    snprintf(name, 32, "handoff/%u", partition);
}

/*  Records the partitions FLAGS marks under NAME (a Flip).  */
static int
s_save_flags(self_t *self, const char *name, const bool *flags)
{
    uint32_t *list = calloc(self->partitions, sizeof *list);
    assert(list);
    Flow__Cluster__Flip set = FLOW__CLUSTER__FLIP__INIT;
    set.to = "";
    set.partitions = list;
    for (uint32_t p = 0; p < self->partitions; p++)
        if (flags[p])
            list[set.n_partitions++] = p;
    int rc = s_put(self, name, &set.base);
    free(list);
    return rc;
}

static int
s_save_fences(self_t *self)
{
    return s_save_flags(self, "fences", self->fenced);
}

/*  Reads the partitions recorded under NAME into FLAGS; how many.  */
static int
s_load_flags(self_t *self, const char *name, bool *flags, size_t *n_p)
{
    Flow__Cluster__Flip *set = NULL;
    *n_p = 0;
    int rc = s_get(self, name, &flow__cluster__flip__descriptor, (ProtobufCMessage **) &set);
    if (rc)
        return rc == FL_E_NOTFOUND ? 0 : rc;
    for (size_t i = 0; i < set->n_partitions; i++)
        if (set->partitions[i] < self->partitions)
            flags[set->partitions[i]] = true;
    *n_p = set->n_partitions;
    flow__cluster__flip__free_unpacked(set, NULL);
    return 0;
}

/*  ------------------------------------------------------------------
 *  The view and the ring  */

static const char *
s_me(const self_t *self)
{
    return self->node->node_id;
}

static const Flow__Cluster__Member *
s_member(const Flow__Cluster__ClusterMeta *meta, const char *node_id)
{
    for (size_t i = 0; meta && i < meta->n_members; i++)
        if (streq(meta->members[i]->node_id, node_id))
            return meta->members[i];
    return NULL;
}

/*  Publishes RING (taken) as this node's; the one it replaces is freed
 *  after a grace period no handler holds a ring for.  */
static void
s_publish(self_t *self, fl_ring_t *ring)
{
    pthread_rwlock_wrlock(self->node->ring_lock);
    const fl_ring_t *old = fl_node_ring(self->node);
    atomic_store_explicit(&self->node->ring, ring, memory_order_release);
    pthread_rwlock_unlock(self->node->ring_lock);
    if (old) {
        s_retired_t *r = malloc(sizeof *r);
        assert(r);
        r->ring = old;
        r->retired_ms = zclock_mono();
        zlistx_add_end(self->retired, r);
    }
}

static void
s_free_retired(self_t *self, bool all)
{
    int64_t now = zclock_mono();
    s_retired_t *r = zlistx_first(self->retired);
    while (r && (all || now - r->retired_ms > RETIRE_GRACE_MS)) {
        fl_ring_destroy((fl_ring_t **) &r->ring);
        free(r);
        zlistx_delete(self->retired, zlistx_cursor(self->retired));
        r = zlistx_first(self->retired);
    }
}

/*  Publishes the ring of the view and the fences.  */
static int
s_publish_view(self_t *self)
{
    fl_ring_t *ring = fl_layout_ring(self->view, s_me(self), self->fenced);
    if (ring && fl_ring_set_promoting(ring, self->promoting) != 0)
        fl_ring_destroy(&ring);
    if (!ring) {
        fl_error("handoff", "the cluster metadata holds no usable ring", "epoch=%" PRIu64,
                 self->view->epoch);
        return FL_E_INVAL;
    }
    s_publish(self, ring);
    return 0;
}

/*  Tells the geo actor that PARTITION arrived here or left.  */
static void
s_tell_geo(self_t *self, uint32_t partition, bool owned)
{
    Flow__Cluster__GeoUpdate u = FLOW__CLUSTER__GEO_UPDATE__INIT;
    u.event_id = "";
    u.partition_change = true;
    u.partition = partition;
    u.owned = owned;
    /*  Never waits: while the node stops, the geo actor is gone first (it
     *  indexes what it owns again at its next start).  */
    zframe_t *frame = fl_envelope_pack(&u.base);
    if (frame && zframe_send(&frame, self->geo, ZFRAME_DONTWAIT) != 0)
        zframe_destroy(&frame);
}

/*  ------------------------------------------------------------------
 *  Dropping what moved away  */

typedef struct {
    self_t *self;
    const uint32_t *partitions;
    size_t n;
    size_t dropped;
} s_drop_t;

static int
s_drop_apply(MDB_txn *txn, void *arg)
{
    s_drop_t *d = arg;
    d->dropped = 0;
    for (size_t i = 0; i < d->n; i++) {
        for (size_t j = 0; j < d->self->ndbs; j++) {
            size_t n = 0;
            int rc = fl_keyspace_drop(txn, d->self->dbis[j], (uint16_t) d->partitions[i], &n);
            if (rc)
                return rc;
            d->dropped += n;
        }
        /*  And where an interrupted transfer of it stood.  */
        char name[32];
        s_progress_key(d->partitions[i], name);
        MDB_val key = { strlen(name), name };
        int rc = mdb_del(txn, d->self->meta_db, &key, NULL);
        if (rc && rc != MDB_NOTFOUND)
            return rc;
    }
    return 0;
}

static bool
s_receiving(const self_t *self, uint32_t partition)
{
    const Flow__Cluster__PartitionMove *m = fl_layout_move(self->view, partition);
    return m && streq(m->to, s_me(self));
}

/*  Drops the records of the partitions this node holds but neither owns
 *  nor is receiving; releases fences of partitions that stay here.  */
static void
s_settle(self_t *self)
{
    fl_layout_t layout;
    if (fl_layout_read(self->view, &layout) != 0)
        return;
    uint32_t *drop = calloc(self->partitions, sizeof *drop);
    assert(drop);
    size_t ndrop = 0;
    bool unfenced = false;
    const fl_ring_t *ring = fl_node_ring(self->node);
    for (uint32_t p = 0; p < self->partitions; p++) {
        bool mine = streq(fl_layout_owner(&layout, p), s_me(self));
        if (!mine && self->promoting[p]) {
            self->promoting[p] = false;
            unfenced = true;
        }
        if (mine && self->fenced[p] && !fl_layout_move(self->view, p)) {
            self->fenced[p] = false;
            unfenced = true;
            fl_info("handoff", "partition no longer moving; fence released", "partition=%u", p);
        }
        if (self->held[p] && !mine && !s_receiving(self, p) && !fl_ring_is_replica(ring, p)
            && !s_slot_of(self, p))
            drop[ndrop++] = p;
    }
    fl_layout_release(&layout);
    if (ndrop) {
        s_drop_t d = { self, drop, ndrop, 0 };
        int rc = fl_store_write(self->node->store, s_drop_apply, &d);
        if (rc == 0) {
            for (size_t i = 0; i < ndrop; i++) {
                self->held[drop[i]] = false;
                if (self->fenced[drop[i]]) {
                    self->fenced[drop[i]] = false;
                    unfenced = true;
                }
                s_tell_geo(self, drop[i], false);
            }
            if (d.dropped)
                fl_info("handoff", "dropped partitions other nodes own", "partitions=%zu "
                        "records=%zu", ndrop, d.dropped);
        }
        else
            fl_error("handoff", "cannot drop partitions other nodes own", "error=%s",
                     fl_err_name(rc));
    }
    free(drop);
    if (unfenced && s_save_fences(self) == 0
        && s_save_flags(self, "promoting", self->promoting) == 0)
        s_publish_view(self);
}

/*  ------------------------------------------------------------------
 *  Asking the leader  */

static Flow__Cluster__MetaReply *
s_ask_leader(self_t *self, Flow__Cluster__MetaRequest *req)
{
    req->seq = ++self->next_seq;
    return fl_peer_ask_leader(&self->meta, self->node, req, LEADER_TIMEOUT_MS);
}

/*  A leaving node that owns nothing any more asks for its removal, then
 *  tells the supervisor to stop.  */
static void
s_leave_if_done(self_t *self)
{
    const Flow__Cluster__Member *m = s_member(self->view, s_me(self));
    if (!m || m->state != FLOW__CLUSTER__MEMBER_STATE__MEMBER_LEAVING || self->leave_asked)
        return;
    fl_layout_t layout;
    if (fl_layout_read(self->view, &layout) != 0)
        return;
    uint32_t owned = fl_layout_owned(&layout, s_me(self));
    fl_layout_release(&layout);
    if (owned)
        return;
    Flow__Cluster__MetaRequest req = FLOW__CLUSTER__META_REQUEST__INIT;
    req.body_case = FLOW__CLUSTER__META_REQUEST__BODY_REMOVE;
    req.remove = (char *) s_me(self);
    Flow__Cluster__MetaReply *reply = s_ask_leader(self, &req);
    if (reply && reply->status == FLOW__STATUS__OK) {
        fl_info("handoff", "left the cluster: every partition moved away", NULL);
        self->leave_asked = true;
        zstr_send(self->pipe, "STOP");
    }
    else
        fl_warn("handoff", "cannot ask for this node's removal yet",
                "reason=\"%s\"", reply ? reply->message : "the leader did not answer");
    if (reply)
        flow__cluster__meta_reply__free_unpacked(reply, NULL);
}

/*  ------------------------------------------------------------------
 *  Transfers to this node  */

/*  Frees slot T for the next partition; its sums stay allocated.  A
 *  replica's copy still unanswered is answered UNAVAILABLE.  */
static void
s_transfer_reset(self_t *self, s_transfer_t *t)
{
    if (t->requester) {
        Flow__Cluster__HandoffReply reply = FLOW__CLUSTER__HANDOFF_REPLY__INIT;
        reply.seq = t->request_seq;
        reply.status = FLOW__STATUS__UNAVAILABLE;
        reply.message = "copy: given up";
        fl_envelope_answer(self->service, &t->requester, &reply.base);
        zframe_destroy(&t->requester);
    }
    fl_keyspace_sum_t *sums = t->sums;
    memset(t, 0, sizeof *t);
    t->sums = sums;
}

static bool
s_source_used(const self_t *self, const zsock_t *sock)
{
    for (size_t k = 0; k < TRANSFERS_MAX; k++)
        if (self->t[k].phase != PHASE_IDLE && self->t[k].source == sock)
            return true;
    return self->flip_seq && self->flip_sock == sock;
}

/*  Closes the connections no slot uses and none has used for IDLE_MS.  */
static void
s_source_close_idle(self_t *self, int64_t idle_ms)
{
    int64_t now = zclock_mono();
    for (size_t i = 0; i < TRANSFERS_MAX; i++) {
        s_source_t *s = &self->sources[i];
        if (s->sock && now - s->used_ms >= idle_ms && !s_source_used(self, s->sock))
            zsock_destroy(&s->sock);
    }
}

/*  The connection to the peer socket at ENDPOINT with the public KEY,
 *  opened unless open; NULL when none can be.  There are as many
 *  connections as slots, so one is free or unused by any slot.  */
static zsock_t *
s_source_open(self_t *self, const char *endpoint, const char *key)
{
    s_source_t *free_slot = NULL;
    int64_t now = zclock_mono();
    for (size_t i = 0; i < TRANSFERS_MAX; i++) {
        s_source_t *s = &self->sources[i];
        if (!s->sock) {
            free_slot = free_slot ? free_slot : s;
            continue;
        }
        if (!streq(s->endpoint, endpoint))
            continue;
        if (streq(s->public_key, key)) {
            s->used_ms = now;
            return s->sock;
        }
        /*  The member came back with another key.  */
        zsock_destroy(&s->sock);
        free_slot = s;
    }
    if (!free_slot) {
        s_source_close_idle(self, 0);
        for (size_t i = 0; i < TRANSFERS_MAX && !free_slot; i++)
            if (!self->sources[i].sock)
                free_slot = &self->sources[i];
    }
    if (!free_slot)
        return NULL;
    zsock_t *sock = zsock_new(ZMQ_DEALER);
    if (!sock)
        return NULL;
    zcert_apply((zcert_t *) self->node->cert, sock);
    zsock_set_curve_serverkey(sock, key);
    fl_peer_keepalive(sock);
    zsock_set_linger(sock, 0);
    if (zsock_connect(sock, "%s", endpoint) != 0) {
        fl_error("handoff", "cannot connect to a member's peer socket", "endpoint=%s",
                 endpoint);
        zsock_destroy(&sock);
        return NULL;
    }
    free_slot->sock = sock;
    snprintf(free_slot->endpoint, sizeof free_slot->endpoint, "%s", endpoint);
    snprintf(free_slot->public_key, sizeof free_slot->public_key, "%s", key);
    free_slot->used_ms = now;
    return sock;
}

/*  Records where copying stands once CHUNK is written: the database and
 *  the last key written, or the next database, or (db "") copying done.  */
static int
s_save_progress(self_t *self, s_transfer_t *t, MDB_txn *txn, const Flow__Cluster__TransferChunk *chunk)
{
    Flow__Cluster__TransferPull at = FLOW__CLUSTER__TRANSFER_PULL__INIT;
    at.partition = t->partition;
    at.to = (char *) t->from;
    size_t db = chunk->end ? t->db + 1 : t->db;
    at.db = (char *) (t->phase == PHASE_COPY && db < self->ndbs ? self->dbs[db] : "");
    at.from_start = chunk->end;
    if (!chunk->end)
        at.after = chunk->last_key;
    char name[32];
    s_progress_key(t->partition, name);
    MDB_val key = { strlen(name), name };
    return fl_codec_put(txn, self->meta_db, &key, &at.base);
}

static s_transfer_t *
s_slot_of(self_t *self, uint32_t partition)
{
    for (size_t i = 0; i < TRANSFERS_MAX; i++)
        if (self->t[i].phase != PHASE_IDLE && self->t[i].partition == partition)
            return &self->t[i];
    return NULL;
}

/*  Starts receiving into slot T the first partition the view moves to
 *  this node that no other slot receives, where an earlier run stopped
 *  when it was this one.  */
static void
s_transfer_pick(self_t *self, s_transfer_t *t)
{
    const Flow__Cluster__PartitionMove *move = NULL;
    for (size_t i = 0; i < self->view->n_moves && !move; i++) {
        uint32_t p = self->view->moves[i]->partition;
        if (streq(self->view->moves[i]->to, s_me(self)) && !self->flipped[p]
            && !s_slot_of(self, p))
            move = self->view->moves[i];
    }
    if (!move)
        return;
    fl_layout_t layout;
    if (fl_layout_read(self->view, &layout) != 0)
        return;
    s_transfer_reset(self, t);
    t->partition = move->partition;
    snprintf(t->from, sizeof t->from, "%s", fl_layout_owner(&layout, move->partition));
    fl_layout_release(&layout);
    t->phase = PHASE_COPY;
    t->copy_ms = zclock_mono();
    t->from_start = true;
    Flow__Cluster__TransferPull *at = NULL;
    char name[32];
    s_progress_key(t->partition, name);
    if (s_get(self, name, &flow__cluster__transfer_pull__descriptor,
              (ProtobufCMessage **) &at) == 0) {
        if (at->partition == t->partition && streq(at->to, t->from)
            && at->after.len <= sizeof t->after) {
            if (!at->db[0])
                t->phase = PHASE_CATCH_UP;
            for (size_t i = 0; i < self->ndbs; i++)
                if (streq(self->dbs[i], at->db))
                    t->db = i;
            t->from_start = at->from_start || !at->after.len;
            if (at->after.len)
                memcpy(t->after, at->after.data, at->after.len);
            t->after_len = at->after.len;
            fl_info("handoff", "resuming a partition's transfer", "partition=%u from=%s db=%s",
                    t->partition, t->from, at->db);
        }
        protobuf_c_message_free_unpacked(&at->base, NULL);
    }
    self->held[t->partition] = true;
    const Flow__Cluster__Member *source = s_member(self->view, t->from);
    if (!source) {
        fl_warn("handoff", "the partition's owner is not a member", "partition=%u owner=%s",
                t->partition, t->from);
        t->phase = PHASE_IDLE;
        return;
    }
    t->source = s_source_open(self, source->peer_endpoint, source->public_key);
    if (!t->source) {
        s_transfer_reset(self, t);
        return;
    }
    fl_info("handoff", "receiving a partition", "partition=%u from=%s", t->partition, t->from);
}

/*  Sends BODY (packed, MACed) on SOCK as a peer request of kind CASE;
 *  its sequence, 0 when it could not be sent.  */
static uint64_t
s_send_peer(self_t *self, zsock_t *sock, Flow__Cluster__PeerRequest__BodyCase kind,
            const ProtobufCMessage *body)
{
    uint64_t seq = ++self->next_seq;
    return fl_peer_send(sock, self->node->peer_key, seq, kind, body) == 0 ? seq : 0;
}

/*  Sends PULL to T's old owner as a request of kind CASE.  */
static void
s_send_source(self_t *self, s_transfer_t *t, Flow__Cluster__PeerRequest__BodyCase kind,
              const Flow__Cluster__TransferPull *pull)
{
    t->seq = s_send_peer(self, t->source, kind, &pull->base);
    if (t->seq)
        t->sent_ms = zclock_mono();
    else
        t->not_before_ms = zclock_mono() + RETRY_MS;
}

static void
s_request_range(self_t *self, s_transfer_t *t, bool digest_only, const uint8_t *until, size_t until_len)
{
    Flow__Cluster__TransferPull pull = FLOW__CLUSTER__TRANSFER_PULL__INIT;
    pull.partition = t->partition;
    pull.db = (char *) self->dbs[t->db];
    pull.from_start = t->from_start;
    pull.after = (ProtobufCBinaryData) { t->from_start ? 0 : t->after_len, t->after };
    pull.max_bytes = self->chunk;
    pull.replica = t->replica;
    pull.digest_only = digest_only;
    pull.until = (ProtobufCBinaryData) { until_len, (uint8_t *) until };
    pull.to = (char *) s_me(self);
    s_send_source(self, t, FLOW__CLUSTER__PEER_REQUEST__BODY_PULL, &pull);
    t->digest = digest_only;
}

/*  Whether this node holds any record of PARTITION; true when it cannot
 *  tell.  */
static bool
s_holds(self_t *self, uint32_t partition)
{
    MDB_txn *txn = NULL;
    if (fl_store_read_begin(self->node->store, &txn) != 0)
        return true;
    bool any = false;
    for (size_t i = 0; i < self->ndbs && !any; i++) {
        fl_keyspace_range_t first;
        any = fl_keyspace_range(txn, self->dbis[i], (uint16_t) partition, NULL, NULL, 1, NULL,
                                NULL, &first) != 0 || first.count > 0;
    }
    fl_store_read_end(self->node->store, &txn);
    return any;
}

/*  Asks for the count and digest of the partition in every database: a
 *  phase works only on those that differ, one round trip for the rest.  */
static void
s_request_summary(self_t *self, s_transfer_t *t)
{
    Flow__Cluster__TransferPull pull = FLOW__CLUSTER__TRANSFER_PULL__INIT;
    pull.partition = t->partition;
    pull.db = "";
    pull.from_start = true;
    pull.digest_only = true;
    pull.to = (char *) s_me(self);
    pull.replica = t->replica;
    /*  A node that holds nothing of the partition needs no digests to
     *  know what differs: counting is cheaper than summing.  */
    t->counts_only = t->phase == PHASE_COPY && !s_holds(self, t->partition);
    pull.counts_only = t->counts_only;
    s_send_source(self, t, FLOW__CLUSTER__PEER_REQUEST__BODY_PULL, &pull);
    t->digest = true;
    t->summary = true;
}

/*  Sends the next request of the transfer, when none is in flight.  */
static void
s_transfer_next(self_t *self, s_transfer_t *t)
{
    int64_t now = zclock_mono();
    if (t->seq && now - t->sent_ms > REQUEST_TIMEOUT_MS) {
        if (now - t->warned_ms > WARN_EVERY_MS) {
            fl_warn("handoff", "the partition's owner does not answer; asking again",
                    "partition=%u from=%s phase=%s", t->partition, t->from,
                    s_phase_names[t->phase]);
            t->warned_ms = now;
        }
        t->seq = 0;
    }
    if (t->seq || now < t->not_before_ms)
        return;
    t->summary = false;
    if ((t->phase == PHASE_COPY || t->phase == PHASE_CATCH_UP || t->phase == PHASE_FINAL)
        && !t->summarized)
        s_request_summary(self, t);
    else
    if (t->phase == PHASE_COPY && now < self->throttle_ms)
        t->not_before_ms = self->throttle_ms;
    else
    if (t->phase == PHASE_COPY)
        s_request_range(self, t, false, NULL, 0);
    else
    if (t->phase == PHASE_CATCH_UP || t->phase == PHASE_FINAL)
        s_request_range(self, t, true, NULL, 0);
    else
    if (t->phase == PHASE_FENCE) {
        Flow__Cluster__TransferPull fence = FLOW__CLUSTER__TRANSFER_PULL__INIT;
        fence.partition = t->partition;
        fence.db = "";
        fence.to = (char *) s_me(self);
        s_send_source(self, t, FLOW__CLUSTER__PEER_REQUEST__BODY_FENCE, &fence);
    }
}

static void s_forget_progress(self_t *self, const s_transfer_t *t);

/*  A replica's copy is over: this node's copy of the partition equals
 *  what the source held while it was read.  */
static void
s_copy_done(self_t *self, s_transfer_t *t)
{
    fl_info("handoff", "partition copied for its replica", "partition=%u from=%s bytes=%" PRIu64
            " records=%" PRIu64, t->partition, t->from, t->bytes, t->records);
    Flow__Cluster__HandoffReply reply = FLOW__CLUSTER__HANDOFF_REPLY__INIT;
    reply.seq = t->request_seq;
    reply.status = FLOW__STATUS__OK;
    fl_envelope_answer(self->service, &t->requester, &reply.base);
    zframe_destroy(&t->requester);
    s_forget_progress(self, t);
    s_transfer_reset(self, t);
}

/*  On to the first database from FROM that differs, or to the next phase
 *  after the last one.  */
static void
s_next_db(self_t *self, s_transfer_t *t, size_t from)
{
    t->db = from;
    while (t->db < self->ndbs && !t->need[t->db])
        t->db++;
    if (t->db < self->ndbs)
        return;
    t->db = 0;
    t->from_start = true;
    t->after_len = 0;
    t->summarized = false;
    if (t->replica) {
        s_copy_done(self, t);
        return;
    }
    /*  Catching up before the fence keeps the fenced time short after a
     *  long copy; after a short one little can have changed, and the
     *  final phase brings it.  */
    bool long_copy = zclock_mono() - t->copy_ms >= CATCH_UP_AFTER_MS;
    t->phase = t->phase == PHASE_COPY ? (long_copy ? PHASE_CATCH_UP : PHASE_FENCE)
             : t->phase == PHASE_CATCH_UP ? PHASE_FENCE : PHASE_FLIP;
    fl_debug("handoff", "transfer phase", "partition=%u phase=%s", t->partition,
             s_phase_names[t->phase]);
}

/*  The owner's summary: which databases differ from this node's copy.  */
static void
s_on_summary(self_t *self, s_transfer_t *t, const Flow__Cluster__TransferChunk *c)
{
    MDB_txn *txn = NULL;
    if (fl_store_read_begin(self->node->store, &txn) != 0) {
        t->not_before_ms = zclock_mono() + RETRY_MS;
        return;
    }
    for (size_t i = 0; i < self->ndbs; i++) {
        const Flow__Cluster__RangeSummary *theirs = NULL;
        for (size_t k = 0; k < c->n_summaries && !theirs; k++)
            if (streq(c->summaries[k]->db, self->dbs[i]))
                theirs = c->summaries[k];
        if (t->counts_only) {
            /*  Nothing here: the copy writes each database from its
             *  start, so the sums of its chunks are this node's sums.  */
            t->need[i] = theirs && theirs->count > 0;
            t->known[i] = true;
            fl_keyspace_sum_init(&t->sums[i]);
            continue;
        }
        fl_keyspace_range_t mine;
        bool read = true;
        if (t->known[i]) {
            fl_keyspace_sum_t sum = t->sums[i];
            fl_keyspace_sum_final(&sum, mine.sum);
            mine.count = sum.count;
        }
        else
            read = fl_keyspace_range(txn, self->dbis[i], (uint16_t) t->partition, NULL, NULL, 0,
                                     NULL, NULL, &mine) == 0;
        bool same = read
                    && (theirs ? theirs->count == mine.count && theirs->digest.len == 32
                                 && sodium_memcmp(theirs->digest.data, mine.sum, 32) == 0
                               : mine.count == 0);
        t->need[i] = !same;
    }
    fl_store_read_end(self->node->store, &txn);
    t->summarized = true;
    /*  A copy resumed at a database goes on from where it stopped there.  */
    size_t at = t->db;
    bool resumed = t->phase == PHASE_COPY && !t->from_start && t->need[at];
    s_next_db(self, t, at);
    if (!resumed || t->db != at) {
        t->from_start = true;
        t->after_len = 0;
    }
}

/*  Past the range a chunk covered: on to the next database that differs,
 *  or the next phase after the last one.  */
static void
s_advance(self_t *self, s_transfer_t *t, const Flow__Cluster__TransferChunk *chunk)
{
    if (!chunk->end) {
        memcpy(t->after, chunk->last_key.data, chunk->last_key.len);
        t->after_len = chunk->last_key.len;
        t->from_start = false;
        return;
    }
    t->from_start = true;
    t->after_len = 0;
    s_next_db(self, t, t->db + 1);
}

/*  Replaces this node's copy of the range CHUNK covers in T's database
 *  with the chunk's records and records the position.  */
static int
s_write_chunk(self_t *self, MDB_txn *txn, s_transfer_t *t, const Flow__Cluster__TransferChunk *c)
{
    MDB_dbi dbi = self->dbis[t->db];
    MDB_val after = { t->after_len, t->after };
    MDB_val last = { c->last_key.len, c->last_key.data };
    const MDB_val *from = t->from_start ? NULL : &after, *until = c->end ? NULL : &last;
    int rc = fl_keyspace_drop_range(txn, dbi, (uint16_t) t->partition, from, until, NULL);
    for (size_t i = 0; rc == 0 && i < c->n_keys; i++) {
        MDB_val key = { c->keys[i].len, c->keys[i].data };
        MDB_val value = { c->values[i].len, c->values[i].data };
        rc = mdb_put(txn, dbi, &key, &value, 0);
    }
    return rc ? rc : s_save_progress(self, t, txn, c);
}

/*  Every chunk received since the last write, in one transaction: the
 *  slots share the commit's fsync.  */
static int
s_write_apply(MDB_txn *txn, void *arg)
{
    self_t *self = arg;
    for (size_t i = 0; i < TRANSFERS_MAX; i++) {
        if (!self->written[i])
            continue;
        int rc = s_write_chunk(self, txn, &self->t[i], self->written[i]->chunk);
        if (rc)
            return rc;
    }
    return 0;
}

/*  True when CHUNK's records sum to its digest.  */
static bool
s_chunk_sums(const Flow__Cluster__TransferChunk *c)
{
    fl_keyspace_sum_t sum;
    fl_keyspace_sum_init(&sum);
    for (size_t i = 0; i < c->n_keys; i++) {
        MDB_val key = { c->keys[i].len, c->keys[i].data };
        MDB_val value = { c->values[i].len, c->values[i].data };
        fl_keyspace_sum_add(&sum, &key, &value);
    }
    uint8_t digest[32];
    fl_keyspace_sum_final(&sum, digest);
    return c->digest.len == 32 && sodium_memcmp(digest, c->digest.data, 32) == 0;
}

bool
fl_handoff_chunk_valid(const Flow__Cluster__TransferChunk *c, uint32_t partition,
                       const uint8_t *after, size_t after_len, bool digest_only)
{
    if (c->n_keys != c->n_values || c->last_key.len > FL_KEYSPACE_KEY_MAX
        || c->digest.len != 32 || (!c->end && c->last_key.len == 0))
        return false;
    if (digest_only)
        return c->n_keys == 0;
    if (c->n_keys != c->count)
        return false;
    const uint8_t *prev = after;
    size_t prev_len = after_len;
    for (size_t i = 0; i < c->n_keys; i++) {
        const ProtobufCBinaryData *k = &c->keys[i];
        if (k->len < FL_KEYSPACE_PREFIX || k->len > FL_KEYSPACE_KEY_MAX
            || (uint32_t) (k->data[0] << 8 | k->data[1]) != partition)
            return false;
        if (prev) {
            size_t n = k->len < prev_len ? k->len : prev_len;
            int cmp = memcmp(k->data, prev, n);
            if (cmp < 0 || (cmp == 0 && k->len <= prev_len))
                return false;
        }
        prev = k->data;
        prev_len = k->len;
    }
    /*  And none past the range the chunk says it covers.  */
    if (!c->end && prev && prev != after) {
        size_t n = prev_len < c->last_key.len ? prev_len : c->last_key.len;
        int cmp = memcmp(prev, c->last_key.data, n);
        if (cmp > 0 || (cmp == 0 && prev_len > c->last_key.len))
            return false;
    }
    return s_chunk_sums(c);
}

/*  This node's digest of the range CHUNK covers.  */
static int
s_local_range(self_t *self, s_transfer_t *t, const Flow__Cluster__TransferChunk *c, fl_keyspace_range_t *range)
{
    MDB_txn *txn = NULL;
    int rc = fl_store_read_begin(self->node->store, &txn);
    if (rc)
        return rc;
    MDB_val after = { t->after_len, t->after };
    MDB_val last = { c->last_key.len, c->last_key.data };
    rc = fl_keyspace_range(txn, self->dbis[t->db], (uint16_t) t->partition,
                           t->from_start ? NULL : &after, c->end ? NULL : &last, 0, NULL, NULL,
                           range);
    fl_store_read_end(self->node->store, &txn);
    return rc;
}

/*  Keeps T's running sum of its database with the records of C, now
 *  this node's (WRITTEN, or held alike already): the copy's chunks
 *  follow each other from the start; a later phase's rewrite of a range
 *  leaves no running sum.  */
static void
s_sum_chunk(s_transfer_t *t, const Flow__Cluster__TransferChunk *c, bool written)
{
    if (!t->known[t->db])
        return;
    if (t->phase != PHASE_COPY) {
        if (written)
            t->known[t->db] = false;
        return;
    }
    for (size_t i = 0; i < c->n_keys; i++) {
        MDB_val key = { c->keys[i].len, c->keys[i].data };
        MDB_val value = { c->values[i].len, c->values[i].data };
        fl_keyspace_sum_add(&t->sums[t->db], &key, &value);
    }
}

/*  Acts on the chunk of REPLY (taken when it is to be written).  */
static void
s_on_chunk(self_t *self, s_transfer_t *t, Flow__Cluster__PeerReply **reply_p, bool digest_only)
{
    const Flow__Cluster__TransferChunk *c = (*reply_p)->chunk;
    if (!fl_handoff_chunk_valid(c, t->partition, t->from_start ? NULL : t->after, t->after_len,
                                digest_only)) {
        fl_error("handoff", "the partition's owner sent a chunk outside its range or not "
                 "matching its digest; asking again",
                 "partition=%u from=%s", t->partition, t->from);
        t->not_before_ms = zclock_mono() + RETRY_MS;
        return;
    }
    /*  A range this node holds alike already (after a restart, or one
     *  that did not change since it was copied) is not written again.  */
    fl_keyspace_range_t mine;
    if (s_local_range(self, t, c, &mine) != 0) {
        t->not_before_ms = zclock_mono() + RETRY_MS;
        return;
    }
    if (mine.count == c->count && sodium_memcmp(mine.sum, c->digest.data, 32) == 0) {
        s_sum_chunk(t, c, false);
        s_advance(self, t, c);
        return;
    }
    if (digest_only) {
        s_request_range(self, t, false, c->end ? NULL : c->last_key.data,
                        c->end ? 0 : c->last_key.len);
        return;
    }
    size_t slot = (size_t) (t - self->t);
    assert(!self->written[slot]);
    self->written[slot] = *reply_p;
    *reply_p = NULL;
}

/*  Writes the chunks received; each slot that wrote moves on.  */
static void
s_write(self_t *self)
{
    bool any = false;
    for (size_t i = 0; i < TRANSFERS_MAX; i++)
        any |= self->written[i] != NULL;
    if (!any)
        return;
    int rc = fl_store_write(self->node->store, s_write_apply, self);
    if (rc)
        fl_error("handoff", "cannot write the chunks received; asking again", "error=%s",
                 fl_err_name(rc));
    int64_t now = zclock_mono();
    for (size_t i = 0; i < TRANSFERS_MAX; i++) {
        if (!self->written[i])
            continue;
        s_transfer_t *t = &self->t[i];
        const Flow__Cluster__TransferChunk *c = self->written[i]->chunk;
        if (rc)
            t->not_before_ms = now + RETRY_MS;
        else {
            t->bytes += c->bytes;
            t->records += c->n_keys;
            self->bytes_moved += c->bytes;
            /*  The rate is the node's: every slot waits out every slot's bytes.  */
            if (self->rate && c->bytes)
                self->throttle_ms = (self->throttle_ms > now ? self->throttle_ms : now)
                                  + (int64_t) (c->bytes * 1000 / self->rate);
            s_sum_chunk(t, c, true);
            s_advance(self, t, c);
        }
        flow__cluster__peer_reply__free_unpacked(self->written[i], NULL);
        self->written[i] = NULL;
    }
}

/*  T's position record goes with the next save: a stale one only makes a
 *  later transfer of the same partition start with a comparison.  */
static void
s_forget_progress(self_t *self, const s_transfer_t *t)
{
    if (self->nforget < sizeof self->forget / sizeof self->forget[0])
        self->forget[self->nforget++] = t->partition;
}

/*  The leader's answer REPLY (NULL: none) to the flip of the slots whose
 *  request was SEQ.  */
static void
s_flipped(self_t *self, uint64_t seq, const Flow__Cluster__MetaReply *reply)
{
    bool ok = reply && reply->status == FLOW__STATUS__OK;
    if (reply && reply->status == FLOW__STATUS__UNAVAILABLE && reply->leader_peer[0]) {
        /*  Not, or no longer, the leader: ask the one it names at once.  */
        snprintf(self->leader_endpoint, sizeof self->leader_endpoint, "%s", reply->leader_peer);
        snprintf(self->leader_key, sizeof self->leader_key, "%s", reply->leader_key);
    }
    else
    if (!ok)
        self->leader_endpoint[0] = '\0';
    for (size_t i = 0; i < TRANSFERS_MAX; i++) {
        s_transfer_t *f = &self->t[i];
        if (f->phase != PHASE_FLIP || f->seq != seq)
            continue;
        f->seq = 0;
        if (ok) {
            /*  Committed: this node owns it from the epoch of the flip,
             *  which its metadata thread applies shortly; the slot takes
             *  the next partition now.  */
            fl_info("handoff", "partition received", "partition=%u from=%s bytes=%" PRIu64
                    " records=%" PRIu64, f->partition, f->from, f->bytes, f->records);
            self->flipped[f->partition] = true;
            self->completed++;
            s_forget_progress(self, f);
            s_transfer_reset(self, f);
        }
        else
        if (!reply || reply->status != FLOW__STATUS__UNAVAILABLE || !reply->leader_peer[0]) {
            fl_warn("handoff", "the leader did not flip the partition; asking again",
                    "partition=%u reason=\"%s\"", f->partition,
                    reply ? reply->message : "no answer");
            f->not_before_ms = zclock_mono() + RETRY_MS;
        }
    }
    if (self->flip_seq == seq)
        self->flip_seq = 0;
}

/*  The answer of the leader's peer socket to a flip.  */
static void
s_on_flip_reply(self_t *self, const Flow__Cluster__PeerReply *peer)
{
    Flow__Cluster__MetaReply *reply = NULL;
    if (peer->body_case == FLOW__CLUSTER__PEER_REPLY__BODY_META_REPLY)
        reply = flow__cluster__meta_reply__unpack(NULL, peer->meta_reply.len,
                                                  peer->meta_reply.data);
    if (reply)
        s_flipped(self, peer->seq, reply);
    else {
        Flow__Cluster__MetaReply refused = FLOW__CLUSTER__META_REPLY__INIT;
        refused.status = peer->status == FLOW__STATUS__OK ? FLOW__STATUS__INTERNAL : peer->status;
        refused.message = peer->message;
        s_flipped(self, peer->seq, &refused);
    }
    if (reply)
        flow__cluster__meta_reply__free_unpacked(reply, NULL);
}

/*  Caught up under the old owners' fences: the leader makes this node the
 *  owner of every slot's partition that is ready, in one consensus
 *  entry.  The metadata thread answers at once when this node leads;
 *  otherwise the flip goes to the leader's peer socket and its answer
 *  comes with the others, so that the slots go on meanwhile.  */
static void
s_flip(self_t *self)
{
    int64_t now = zclock_mono();
    if (self->flip_seq && now - self->flip_sent_ms <= REQUEST_TIMEOUT_MS)
        return;
    if (self->flip_seq) {
        self->leader_endpoint[0] = '\0';
        s_flipped(self, self->flip_seq, NULL);
    }
    uint32_t partitions[TRANSFERS_MAX];
    s_transfer_t *flipping[TRANSFERS_MAX];
    size_t n = 0;
    for (size_t i = 0; i < TRANSFERS_MAX; i++) {
        s_transfer_t *t = &self->t[i];
        if (t->phase == PHASE_FLIP && !t->seq && now >= t->not_before_ms) {
            flipping[n] = t;
            partitions[n++] = t->partition;
        }
    }
    if (!n)
        return;
    Flow__Cluster__Flip flip = FLOW__CLUSTER__FLIP__INIT;
    flip.to = (char *) s_me(self);
    flip.partitions = partitions;
    flip.n_partitions = n;
    Flow__Cluster__MetaRequest req = FLOW__CLUSTER__META_REQUEST__INIT;
    req.body_case = FLOW__CLUSTER__META_REQUEST__BODY_FLIP;
    req.flip = &flip;
    req.seq = ++self->next_seq;
    uint64_t seq = 0;
    if (self->leader_endpoint[0]) {
        self->flip_sock = s_source_open(self, self->leader_endpoint, self->leader_key);
        seq = self->flip_sock
            ? s_send_peer(self, self->flip_sock, FLOW__CLUSTER__PEER_REQUEST__BODY_META,
                          &req.base)
            : 0;
        if (!seq)
            self->leader_endpoint[0] = '\0';
    }
    if (seq) {
        self->flip_seq = seq;
        self->flip_sent_ms = now;
        for (size_t i = 0; i < n; i++)
            flipping[i]->seq = seq;
        return;
    }
    Flow__Cluster__MetaReply *reply = fl_meta_ask(&self->meta, &req, LEADER_TIMEOUT_MS);
    for (size_t i = 0; i < n; i++)
        flipping[i]->seq = req.seq;
    s_flipped(self, req.seq, reply);
    if (reply)
        flow__cluster__meta_reply__free_unpacked(reply, NULL);
}

/*  An answer on the connection SOURCE, to the slot that asked it.  */
static void
s_on_source(self_t *self, zsock_t *source)
{
    zframe_t *frame = zframe_recv(source);
    if (!frame)
        return;
    Flow__Cluster__PeerReply *reply =
        flow__cluster__peer_reply__unpack(NULL, zframe_size(frame), zframe_data(frame));
    zframe_destroy(&frame);
    if (reply && reply->seq && reply->seq == self->flip_seq && source == self->flip_sock) {
        s_on_flip_reply(self, reply);
        flow__cluster__peer_reply__free_unpacked(reply, NULL);
        return;
    }
    s_transfer_t *t = NULL;
    for (size_t i = 0; reply && reply->seq && i < TRANSFERS_MAX && !t; i++)
        if (self->t[i].phase != PHASE_IDLE && self->t[i].phase != PHASE_FLIP
            && self->t[i].source == source && self->t[i].seq == reply->seq)
            t = &self->t[i];
    if (!t) {
        if (reply)
            flow__cluster__peer_reply__free_unpacked(reply, NULL);
        return;
    }
    t->seq = 0;
    int64_t now = zclock_mono();
    if (reply->status != FLOW__STATUS__OK) {
        t->summary = false;
        if (now - t->warned_ms > WARN_EVERY_MS) {
            fl_warn("handoff", "the partition's owner refused; asking again",
                    "partition=%u from=%s phase=%s reason=\"%s\"", t->partition, t->from,
                    s_phase_names[t->phase], reply->message);
            t->warned_ms = now;
        }
        t->not_before_ms = now + RETRY_MS;
    }
    else
    if (t->phase == PHASE_FENCE) {
        t->phase = PHASE_FINAL;
        t->db = 0;
        t->from_start = true;
        t->summarized = false;
        fl_debug("handoff", "old owner fenced the partition", "partition=%u", t->partition);
        /*  With the summary under the fence: the final phase knows
         *  already which databases still differ.  */
        t->counts_only = false;
        if (reply->body_case == FLOW__CLUSTER__PEER_REPLY__BODY_CHUNK && reply->chunk->end
            && reply->chunk->n_summaries)
            s_on_summary(self, t, reply->chunk);
    }
    else
    if (reply->body_case == FLOW__CLUSTER__PEER_REPLY__BODY_CHUNK
        && (t->phase == PHASE_COPY || t->phase == PHASE_CATCH_UP || t->phase == PHASE_FINAL)) {
        if (t->summary)
            s_on_summary(self, t, reply->chunk);
        else
            s_on_chunk(self, t, &reply, t->digest);
    }
    if (reply)
        flow__cluster__peer_reply__free_unpacked(reply, NULL);
}

/*  A replica's copy goes on while this node keeps a copy of the
 *  partition and its source answers health checks.  */
static void
s_copy_step(self_t *self, s_transfer_t *t)
{
    const fl_ring_t *ring = fl_node_ring(self->node);
    bool copy = fl_ring_is_replica(ring, t->partition) || fl_ring_is_promoting(ring, t->partition);
    if (!copy || fl_ring_is_down(ring, t->from)) {
        fl_info("handoff", "a replica's copy given up", "partition=%u from=%s reason=\"%s\"",
                t->partition, t->from, copy ? "the source is down" : "no copy kept here");
        s_forget_progress(self, t);
        s_transfer_reset(self, t);
        return;
    }
    s_transfer_next(self, t);
}

/*  Starts, in a free slot, the copy of a partition that the replication
 *  thread asked for (REQ, from IDENTITY, taken); false with REPLY filled
 *  when it cannot start now.  */
static bool
s_copy_start(self_t *self, zframe_t **identity_p, const Flow__Cluster__HandoffRequest *req,
             Flow__Cluster__HandoffReply *reply)
{
    const Flow__Cluster__ReplicaCopy *c = req->copy;
    const Flow__Cluster__Member *source = s_member(self->view, c->from);
    s_transfer_t *t = NULL;
    for (size_t i = 0; i < TRANSFERS_MAX && !t; i++)
        if (self->t[i].phase == PHASE_IDLE)
            t = &self->t[i];
    if (c->partition >= self->partitions || !source || streq(c->from, s_me(self))) {
        reply->status = FLOW__STATUS__INVALID_ARGUMENT;
        reply->message = "copy: no such partition or source";
        return false;
    }
    if (!self->current || s_slot_of(self, c->partition) || !t) {
        reply->status = FLOW__STATUS__UNAVAILABLE;
        reply->message = "copy: busy; ask again shortly";
        return false;
    }
    s_transfer_reset(self, t);
    t->partition = c->partition;
    snprintf(t->from, sizeof t->from, "%s", c->from);
    t->phase = PHASE_COPY;
    t->copy_ms = zclock_mono();
    t->from_start = true;
    t->replica = true;
    t->source = s_source_open(self, source->peer_endpoint, source->public_key);
    if (!t->source) {
        s_transfer_reset(self, t);
        reply->status = FLOW__STATUS__UNAVAILABLE;
        reply->message = "copy: cannot connect to the source";
        return false;
    }
    t->requester = *identity_p;
    *identity_p = NULL;
    t->request_seq = req->seq;
    self->held[t->partition] = true;
    fl_debug("handoff", "copying a partition for its replica", "partition=%u from=%s",
             t->partition, t->from);
    return true;
}

/*  The partitions of READY hold what the other copies held: served from
 *  now on.  */
static void
s_ready(self_t *self, const Flow__Cluster__ReplicaReady *ready, Flow__Cluster__HandoffReply *reply)
{
    size_t n = 0;
    for (size_t i = 0; i < ready->n_partitions; i++) {
        uint32_t p = ready->partitions[i];
        if (p >= self->partitions || !self->promoting[p])
            continue;
        self->promoting[p] = false;
        s_tell_geo(self, p, true);
        n++;
    }
    reply->status = FLOW__STATUS__OK;
    if (!n)
        return;
    if (s_save_flags(self, "promoting", self->promoting) != 0 || s_publish_view(self) != 0) {
        reply->status = FLOW__STATUS__UNAVAILABLE;
        reply->message = "ready: cannot record it";
        return;
    }
    fl_info("handoff", "partitions taken over are served", "partitions=%zu", n);
}

/*  Moves the transfer on with the view: ends it when the partition is
 *  this node's, gives it up when it no longer moves here.  */
static void
s_transfer_step(self_t *self, s_transfer_t *t)
{
    if (t->phase == PHASE_IDLE) {
        s_transfer_pick(self, t);
        if (t->phase == PHASE_IDLE)
            return;
    }
    if (t->replica) {
        s_copy_step(self, t);
        return;
    }
    fl_layout_t layout;
    if (fl_layout_read(self->view, &layout) != 0)
        return;
    bool mine = streq(fl_layout_owner(&layout, t->partition), s_me(self));
    fl_layout_release(&layout);
    if (mine) {
        /*  Flipped before a restart of this node.  */
        s_forget_progress(self, t);
        s_transfer_reset(self, t);
        return;
    }
    if (!s_receiving(self, t->partition)) {
        fl_info("handoff", "partition no longer moves here; transfer given up",
                "partition=%u", t->partition);
        s_forget_progress(self, t);
        s_transfer_reset(self, t);
        return;
    }
    if (t->phase == PHASE_FLIP)
        s_flip(self);
    else
        s_transfer_next(self, t);
}

/*  Steps every transfer slot until each waits for an answer or a pause:
 *  the next partition starts in a slot as soon as its last one flipped. */
static void
s_transfer_tick(self_t *self)
{
    for (size_t i = 0; i < TRANSFERS_MAX; i++) {
        s_transfer_t *t = &self->t[i];
        for (int steps = 0; steps < 64; steps++) {
            s_phase_t before = t->phase;
            uint32_t partition = t->partition;
            uint64_t seq = t->seq;
            s_transfer_step(self, t);
            if (t->seq != seq)
                break;
            if (t->phase == before && t->partition == partition)
                break;
        }
    }
}

/*  ------------------------------------------------------------------
 *  The metadata  */

/*  The partitions the view makes this node's since OLD: the geo actor
 *  indexes their events, and flips this node made are settled.  */
static void
s_arrived(self_t *self, const Flow__Cluster__ClusterMeta *old)
{
    fl_layout_t now, before;
    if (fl_layout_read(self->view, &now) != 0)
        return;
    bool had = old && fl_layout_read(old, &before) == 0;
    for (uint32_t p = 0; p < self->partitions; p++) {
        bool mine = streq(fl_layout_owner(&now, p), s_me(self));
        if (mine && had && !streq(fl_layout_owner(&before, p), s_me(self))) {
            self->held[p] = true;
            if (!self->promoting[p])
                s_tell_geo(self, p, true);
        }
        if (!mine && had && streq(fl_layout_owner(&before, p), s_me(self))
            && fl_ring_is_replica(fl_node_ring(self->node), p))
            s_tell_geo(self, p, false);         /* kept as a replica: not searched here */
        if (self->flipped[p] && (mine || !fl_layout_move(self->view, p)))
            self->flipped[p] = false;
    }
    if (had)
        fl_layout_release(&before);
    fl_layout_release(&now);
}

/*  The partitions the view gives this node since OLD other than by a
 *  flip it asked for: their primary went down and this node takes them
 *  over.  They are not served until the replication thread has gathered
 *  what the other copies hold (marked before the ring that gives them
 *  here is published, and recorded, so a restart does not serve them
 *  early either).  */
static void
s_promotions(self_t *self, const Flow__Cluster__ClusterMeta *old)
{
    fl_layout_t now, before;
    if (!old || old->replicas < 2 || fl_layout_read(self->view, &now) != 0)
        return;
    if (fl_layout_read(old, &before) != 0) {
        fl_layout_release(&now);
        return;
    }
    size_t n = 0;
    for (uint32_t p = 0; p < self->partitions; p++) {
        if (!streq(fl_layout_owner(&now, p), s_me(self))
            || streq(fl_layout_owner(&before, p), s_me(self)))
            continue;
        const Flow__Cluster__PartitionMove *m = fl_layout_move(old, p);
        if (m && streq(m->to, s_me(self)))
            continue;
        self->promoting[p] = true;
        n++;
    }
    fl_layout_release(&before);
    fl_layout_release(&now);
    if (n) {
        fl_info("handoff", "taking over partitions whose primary went down", "partitions=%zu",
                n);
        s_save_flags(self, "promoting", self->promoting);
    }
}

/*  Reads the metadata; a newer view than the published one is
 *  published.  */
static void
s_refresh(self_t *self)
{
    Flow__Cluster__MetaReply *reply = fl_meta_ask_status(&self->meta, ++self->next_seq,
                                                         META_TIMEOUT_MS);
    const Flow__Cluster__ClusterStatus *st = reply ? reply->cluster : NULL;
    if (!st || !st->meta || st->meta->partitions != self->partitions) {
        if (reply)
            flow__cluster__meta_reply__free_unpacked(reply, NULL);
        return;
    }
    if (!self->applied_needed)
        self->applied_needed = st->last_index ? st->last_index : 1;
    if (!self->current && st->applied_index >= self->applied_needed) {
        self->current = true;
        fl_info("handoff", "cluster metadata caught up", "epoch=%" PRIu64, st->meta->epoch);
    }
    bool newer = !self->view || st->meta->epoch > self->view->epoch
                 || (st->meta->epoch == self->view->epoch
                     && st->meta->n_members != self->view->n_members);
    if (newer) {
        size_t len = flow__cluster__cluster_meta__get_packed_size(st->meta);
        uint8_t *buf = malloc(len ? len : 1);
        assert(buf);
        flow__cluster__cluster_meta__pack(st->meta, buf);
        Flow__Cluster__ClusterMeta *view = flow__cluster__cluster_meta__unpack(NULL, len, buf);
        free(buf);
        if (view) {
            Flow__Cluster__ClusterMeta *old = self->view;
            self->view = view;
            s_promotions(self, old);
            if (s_publish_view(self) == 0) {
                self->ring_dirty = true;
                s_arrived(self, old);
                if (old)
                    flow__cluster__cluster_meta__free_unpacked(old, NULL);
            }
            else {
                self->view = old;
                flow__cluster__cluster_meta__free_unpacked(view, NULL);
            }
        }
    }
    flow__cluster__meta_reply__free_unpacked(reply, NULL);
}

/*  Records the view for the next start, at most once a second while it
 *  keeps changing (a restart routes with it only until its metadata has
 *  caught up, and fences, which are recorded at once, keep it safe), and
 *  deletes the position records of partitions received.  */
static int
s_save_apply(MDB_txn *txn, void *arg)
{
    self_t *self = arg;
    MDB_val key = { 4, "ring" };
    int rc = self->ring_dirty ? fl_codec_put(txn, self->meta_db, &key, &self->view->base) : 0;
    for (size_t i = 0; rc == 0 && i < self->nforget; i++) {
        char name[32];
        s_progress_key(self->forget[i], name);
        MDB_val progress = { strlen(name), name };
        rc = mdb_del(txn, self->meta_db, &progress, NULL);
        if (rc == MDB_NOTFOUND)
            rc = 0;
    }
    return rc;
}

static void
s_save(self_t *self, bool now)
{
    if (!self->view || (!self->ring_dirty && !self->nforget))
        return;
    if (!now && zclock_mono() - self->ring_saved_ms < SAVE_EVERY_MS
        && self->nforget < TRANSFERS_MAX * 4)
        return;
    int rc = fl_store_write(self->node->store, s_save_apply, self);
    if (rc) {
        fl_error("handoff", "cannot record the ring", "error=%s", fl_err_name(rc));
        return;
    }
    self->ring_dirty = false;
    self->nforget = 0;
    self->ring_saved_ms = zclock_mono();
}

static void
s_tick(self_t *self)
{
    s_refresh(self);
    s_save(self, false);
    if (self->current && self->view && self->view->n_owner_ids > 0) {
        s_settle(self);
        s_transfer_tick(self);
        s_leave_if_done(self);
    }
    s_source_close_idle(self, SOURCE_IDLE_MS);
    s_free_retired(self, false);
}

/*  ------------------------------------------------------------------
 *  Service: fences and listings  */

/*  Whether the fence F may be granted; true with REPLY untouched when
 *  it may.  */
static bool
s_fence_check(self_t *self, const Flow__Cluster__TransferPull *f, Flow__Cluster__HandoffReply *reply)
{
    fl_layout_t layout;
    const Flow__Cluster__PartitionMove *move =
        self->view ? fl_layout_move(self->view, f->partition) : NULL;
    if (!self->current || !self->view || fl_layout_read(self->view, &layout) != 0) {
        reply->status = FLOW__STATUS__UNAVAILABLE;
        reply->message = "fence: this node's cluster metadata is not caught up yet";
        return false;
    }
    bool mine = f->partition < self->partitions
                && streq(fl_layout_owner(&layout, f->partition), s_me(self));
    fl_layout_release(&layout);
    if (!mine) {
        reply->status = FLOW__STATUS__FAILED_PRECONDITION;
        reply->message = "fence: this node does not own the partition";
        return false;
    }
    if (!move || !streq(move->to, f->to)) {
        reply->status = FLOW__STATUS__UNAVAILABLE;
        reply->message = "fence: the partition is not moving to that node in this node's view";
        return false;
    }
    return true;
}

static void
s_list(self_t *self, Flow__Cluster__HandoffReply *reply, Flow__Cluster__TransferState *store,
       Flow__Cluster__TransferState **list, fl_layout_t *layout)
{
    reply->transfers = list;
    reply->epoch = self->view ? self->view->epoch : 0;
    reply->completed = self->completed;
    reply->bytes_moved = self->bytes_moved;
    if (!self->view || fl_layout_read(self->view, layout) != 0)
        return;
    for (size_t i = 0; i < self->view->n_moves; i++) {
        const Flow__Cluster__PartitionMove *m = self->view->moves[i];
        Flow__Cluster__TransferState *s = &store[i];
        flow__cluster__transfer_state__init(s);
        s->partition = m->partition;
        s->from = (char *) fl_layout_owner(layout, m->partition);
        s->to = m->to;
        s->phase = (char *) s_phase_names[PHASE_IDLE];
        s->db = "";
        const s_transfer_t *t = s_slot_of(self, m->partition);
        if (t && streq(m->to, s_me(self))) {
            s->phase = (char *) s_phase_names[t->phase];
            s->bytes = t->bytes;
            s->records = t->records;
            s->db = (char *) self->dbs[t->db];
        }
        list[reply->n_transfers++] = s;
    }
}

/*  A fence asked and granted, answered once recorded.  */
typedef struct {
    zframe_t *identity;
    Flow__Cluster__HandoffRequest *req;
    bool fenced_now;                    /* this batch fenced it */
} s_fencing_t;

/*  Answers a listing, or takes a fence into FENCING.  */
static void
s_on_request(self_t *self, zframe_t **identity_p, Flow__Cluster__HandoffRequest **req_p,
             s_fencing_t *fencing, size_t *nfencing)
{
    Flow__Cluster__HandoffRequest *req = *req_p;
    Flow__Cluster__HandoffReply reply = FLOW__CLUSTER__HANDOFF_REPLY__INIT;
    size_t moves = self->view ? self->view->n_moves : 0;
    Flow__Cluster__TransferState *store = calloc(moves + 1, sizeof *store);
    Flow__Cluster__TransferState **list = calloc(moves + 1, sizeof *list);
    assert(store && list);
    fl_layout_t layout = { .owner = NULL };
    if (!req) {
        reply.status = FLOW__STATUS__INVALID_ARGUMENT;
        reply.message = "undecodable handoff request";
    }
    else {
        reply.seq = req->seq;
        if (req->body_case == FLOW__CLUSTER__HANDOFF_REQUEST__BODY_FENCE) {
            if (s_fence_check(self, req->fence, &reply)) {
                s_fencing_t *f = &fencing[(*nfencing)++];
                f->identity = *identity_p;
                f->req = req;
                f->fenced_now = !self->fenced[req->fence->partition];
                self->fenced[req->fence->partition] = true;
                *identity_p = NULL;
                *req_p = NULL;
            }
        }
        else
        if (req->body_case == FLOW__CLUSTER__HANDOFF_REQUEST__BODY_TRANSFERS)
            s_list(self, &reply, store, list, &layout);
        else
        if (req->body_case == FLOW__CLUSTER__HANDOFF_REQUEST__BODY_COPY)
            s_copy_start(self, identity_p, req, &reply);
        else
        if (req->body_case == FLOW__CLUSTER__HANDOFF_REQUEST__BODY_READY)
            s_ready(self, req->ready, &reply);
        else {
            reply.status = FLOW__STATUS__INVALID_ARGUMENT;
            reply.message = "unknown handoff request";
        }
    }
    if (*identity_p)
        fl_envelope_answer(self->service, identity_p, &reply.base);
    fl_layout_release(&layout);
    free(store);
    free(list);
}

/*  Records the fences of FENCING in one write and publishes them, then
 *  answers each with its partition's summary under the fence: data
 *  actors commit under the ring lock, so what it sums is all the
 *  partition will hold until the flip.  */
static void
s_grant_fences(self_t *self, s_fencing_t *fencing, size_t n)
{
    bool any = false;
    for (size_t i = 0; i < n; i++)
        any |= fencing[i].fenced_now;
    bool recorded = !any || (s_save_fences(self) == 0 && s_publish_view(self) == 0);
    MDB_txn *txn = NULL;
    bool readable = recorded && fl_store_read_begin(self->node->store, &txn) == 0;
    for (size_t i = 0; i < n; i++) {
        s_fencing_t *f = &fencing[i];
        uint32_t partition = f->req->fence->partition;
        Flow__Cluster__HandoffReply reply = FLOW__CLUSTER__HANDOFF_REPLY__INIT;
        Flow__Cluster__TransferChunk summary;
        flow__cluster__transfer_chunk__init(&summary);
        reply.seq = f->req->seq;
        reply.status = FLOW__STATUS__OK;
        if (!recorded) {
            if (f->fenced_now)
                self->fenced[partition] = false;
            reply.status = FLOW__STATUS__UNAVAILABLE;
            reply.message = "fence: cannot record the fence";
        }
        else {
            if (f->fenced_now)
                fl_info("handoff", "partition fenced for its new owner", "partition=%u to=%s",
                        partition, f->req->fence->to);
            if (readable && s_summarize(txn, self->dbs, self->dbis, self->ndbs, partition,
                                        false, &summary) == 0)
                reply.summary = &summary;
        }
        fl_envelope_answer(self->service, &f->identity, &reply.base);
        fl_handoff_chunk_release(&summary);
        flow__cluster__handoff_request__free_unpacked(f->req, NULL);
    }
    if (txn)
        fl_store_read_end(self->node->store, &txn);
}

/*  Answers what the service socket holds; the fences among it are
 *  recorded together.  */
static void
s_on_service(self_t *self)
{
    s_fencing_t fencing[64];
    size_t nfencing = 0;
    while (nfencing < sizeof fencing / sizeof fencing[0]
           && (zsock_events(self->service) & ZMQ_POLLIN)) {
        zframe_t *identity = NULL;
        Flow__Cluster__HandoffRequest *req = (Flow__Cluster__HandoffRequest *) fl_envelope_take(
            self->service, &flow__cluster__handoff_request__descriptor, &identity);
        if (identity)
            s_on_request(self, &identity, &req, fencing, &nfencing);
        zframe_destroy(&identity);
        if (req)
            flow__cluster__handoff_request__free_unpacked(req, NULL);
    }
    if (nfencing)
        s_grant_fences(self, fencing, nfencing);
}

Flow__Cluster__HandoffReply *
fl_handoff_ask(zsock_t **dealer, const Flow__Cluster__HandoffRequest *req, int timeout_ms)
{
    return (Flow__Cluster__HandoffReply *) fl_envelope_ask(
        dealer, FL_HANDOFF_ENDPOINT, &req->base, &flow__cluster__handoff_reply__descriptor,
        timeout_ms);
}

/*  ------------------------------------------------------------------
 *  Chunks for other nodes (on the peer thread)  */

typedef struct {
    Flow__Cluster__TransferChunk *chunk;
    size_t cap;
} s_collect_t;

static int
s_collect(const MDB_val *key, const MDB_val *value, void *arg)
{
    s_collect_t *c = arg;
    Flow__Cluster__TransferChunk *chunk = c->chunk;
    if (chunk->n_keys == c->cap) {
        c->cap = c->cap ? 2 * c->cap : 256;
        chunk->keys = realloc(chunk->keys, c->cap * sizeof *chunk->keys);
        chunk->values = realloc(chunk->values, c->cap * sizeof *chunk->values);
        assert(chunk->keys && chunk->values);
    }
    uint8_t *k = malloc(key->mv_size ? key->mv_size : 1);
    uint8_t *v = malloc(value->mv_size ? value->mv_size : 1);
    assert(k && v);
    memcpy(k, key->mv_data, key->mv_size);
    memcpy(v, value->mv_data, value->mv_size);
    chunk->keys[chunk->n_keys++] = (ProtobufCBinaryData) { key->mv_size, k };
    chunk->values[chunk->n_values++] = (ProtobufCBinaryData) { value->mv_size, v };
    return 0;
}

static int
s_count(const MDB_val *key, const MDB_val *value, void *arg)
{
    (void) key;
    (void) value;
    (*(uint32_t *) arg)++;
    return 0;
}

/*  The count and digest (none when COUNTS_ONLY) of PARTITION in each of
 *  the NDBS databases, into CHUNK's summaries and an empty range that
 *  ends the partition.  */
static int
s_summarize(MDB_txn *txn, const char *const *names, const MDB_dbi *dbis, size_t ndbs,
            uint32_t partition, bool counts_only, Flow__Cluster__TransferChunk *chunk)
{
    chunk->summaries = calloc(ndbs ? ndbs : 1, sizeof *chunk->summaries);
    assert(chunk->summaries);
    for (size_t i = 0; i < ndbs; i++) {
        Flow__Cluster__RangeSummary *sum = malloc(sizeof *sum);
        assert(sum);
        flow__cluster__range_summary__init(sum);
        sum->db = (char *) names[i];
        chunk->summaries[chunk->n_summaries++] = sum;
        int rc;
        if (counts_only)
            rc = fl_keyspace_scan(txn, dbis[i], (uint16_t) partition, s_count, &sum->count);
        else {
            fl_keyspace_range_t range;
            rc = fl_keyspace_range(txn, dbis[i], (uint16_t) partition, NULL, NULL, 0, NULL,
                                   NULL, &range);
            uint8_t *digest = malloc(32);
            assert(digest);
            sum->count = (uint32_t) range.count;
            memcpy(digest, range.sum, 32);
            sum->digest = (ProtobufCBinaryData) { 32, digest };
        }
        if (rc)
            return rc;
    }
    uint8_t *digest = calloc(1, 32);
    assert(digest);
    chunk->digest = (ProtobufCBinaryData) { 32, digest };
    chunk->end = true;
    return 0;
}

Flow__Status
fl_handoff_pull_check(const Flow__Cluster__TransferPull *pull, uint32_t partitions, char *why,
                      size_t whylen)
{
    const char *bad = NULL;
    if (pull->partition >= partitions)
        bad = "partition: beyond the cluster's partition count";
    else
    if (pull->after.len > FL_KEYSPACE_KEY_MAX || pull->until.len > FL_KEYSPACE_KEY_MAX)
        bad = "after, until: longer than a key";
    else
    if (!pull->from_start && pull->after.len == 0)
        bad = "after: missing, and not from the start";
    else
    if (strlen(pull->db) > 63)
        bad = "db: too long";
    if (!bad)
        return FLOW__STATUS__OK;
    snprintf(why, whylen, "pull: %s", bad);
    return FLOW__STATUS__INVALID_ARGUMENT;
}

Flow__Status
fl_handoff_chunk(const fl_node_t *node, const Flow__Cluster__TransferPull *pull,
                 Flow__Cluster__TransferChunk *chunk, char *why, size_t whylen)
{
    flow__cluster__transfer_chunk__init(chunk);
    const fl_ring_t *ring = fl_node_ring(node);
    const char *names[DBS_MAX];
    MDB_dbi dbis[DBS_MAX];
    size_t ndbs = fl_store_partitioned(node->store, names, dbis, DBS_MAX);
    size_t db = ndbs;
    for (size_t i = 0; i < ndbs; i++)
        if (streq(names[i], pull->db))
            db = i;
    Flow__Status status = fl_handoff_pull_check(pull, fl_ring_partitions(ring), why, whylen);
    if (status != FLOW__STATUS__OK)
        return status;
    if (db == ndbs && pull->db[0]) {
        snprintf(why, whylen, "pull: db: not a partitioned database of this node");
        return FLOW__STATUS__INVALID_ARGUMENT;
    }
    bool serves = streq(fl_ring_owner(ring, pull->partition), node->node_id)
                  || (pull->replica && fl_ring_is_replica(ring, pull->partition));
    if (!serves) {
        snprintf(why, whylen, "pull: partition %u is owned by node %s at epoch %" PRIu64,
                 pull->partition, fl_ring_owner(ring, pull->partition), fl_ring_epoch(ring));
        return FLOW__STATUS__UNAVAILABLE;
    }
    MDB_txn *txn = NULL;
    if (fl_store_read_begin(node->store, &txn) != 0) {
        snprintf(why, whylen, "pull: cannot read the store");
        return FLOW__STATUS__UNAVAILABLE;
    }
    if (!pull->db[0]) {
        int rc = s_summarize(txn, names, dbis, ndbs, pull->partition, pull->counts_only,
                             chunk);
        fl_store_read_end(node->store, &txn);
        if (rc == 0)
            return FLOW__STATUS__OK;
        fl_handoff_chunk_release(chunk);
        snprintf(why, whylen, "pull: cannot read the partition");
        return FLOW__STATUS__UNAVAILABLE;
    }
    MDB_val after = { pull->after.len, pull->after.data };
    MDB_val until = { pull->until.len, pull->until.data };
    fl_keyspace_range_t range;
    s_collect_t collect = { chunk, 0 };
    uint32_t max = pull->max_bytes && pull->max_bytes < CHUNK_MAX_BYTES ? pull->max_bytes
                                                                        : CHUNK_MAX_BYTES;
    int rc = fl_keyspace_range(txn, dbis[db], (uint16_t) pull->partition,
                               pull->from_start ? NULL : &after,
                               pull->until.len ? &until : NULL, pull->digest_only ? 0 : max,
                               pull->digest_only ? NULL : s_collect, &collect, &range);
    fl_store_read_end(node->store, &txn);
    if (rc) {
        fl_handoff_chunk_release(chunk);
        snprintf(why, whylen, "pull: cannot read the partition");
        return FLOW__STATUS__UNAVAILABLE;
    }
    uint8_t *last = malloc(range.last_len ? range.last_len : 1);
    uint8_t *digest = malloc(32);
    assert(last && digest);
    memcpy(last, range.last, range.last_len);
    memcpy(digest, range.sum, 32);
    chunk->last_key = (ProtobufCBinaryData) { range.last_len, last };
    chunk->digest = (ProtobufCBinaryData) { 32, digest };
    chunk->end = range.end;
    chunk->count = (uint32_t) range.count;
    chunk->bytes = range.bytes;
    return FLOW__STATUS__OK;
}

void
fl_handoff_chunk_release(Flow__Cluster__TransferChunk *chunk)
{
    for (size_t i = 0; i < chunk->n_keys; i++)
        free(chunk->keys[i].data);
    for (size_t i = 0; i < chunk->n_values; i++)
        free(chunk->values[i].data);
    free(chunk->keys);
    free(chunk->values);
    free(chunk->last_key.data);
    free(chunk->digest.data);
    for (size_t i = 0; i < chunk->n_summaries; i++) {
        free(chunk->summaries[i]->digest.data);
        free(chunk->summaries[i]);
    }
    free(chunk->summaries);
    flow__cluster__transfer_chunk__init(chunk);
}

/*  ------------------------------------------------------------------
 *  Life cycle  */

/*  A copy of META (any thread's message).  */
static Flow__Cluster__ClusterMeta *
s_copy(const Flow__Cluster__ClusterMeta *meta)
{
    zframe_t *packed = fl_envelope_pack(&meta->base);
    Flow__Cluster__ClusterMeta *copy = packed
        ? flow__cluster__cluster_meta__unpack(NULL, zframe_size(packed), zframe_data(packed))
        : NULL;
    zframe_destroy(&packed);
    return copy;
}

/*  The metadata thread's view, asked for up to FIRST_VIEW_MS; NULL when
 *  it has none for this partition count yet.  */
static Flow__Cluster__ClusterMeta *
s_wait_view(self_t *self)
{
    Flow__Cluster__ClusterMeta *view = NULL;
    for (int waited = 0; !view && waited <= FIRST_VIEW_MS; waited += 100) {
        Flow__Cluster__MetaReply *reply = fl_meta_ask_status(&self->meta, ++self->next_seq,
                                                             META_TIMEOUT_MS);
        const Flow__Cluster__ClusterMeta *meta = reply && reply->cluster
                                               ? reply->cluster->meta : NULL;
        if (meta && meta->partitions == self->partitions && meta->n_owner_ids > 0)
            view = s_copy(meta);
        if (reply)
            flow__cluster__meta_reply__free_unpacked(reply, NULL);
        if (!view)
            zclock_sleep(100);
    }
    return view;
}

/*  The first ring: the metadata this node recorded last; else what it was
 *  given (a join's); else, for a member, what its metadata thread knows
 *  (asked for a while); else this node alone (it creates a cluster), or
 *  the holder of an older data directory.  A member that knows nothing
 *  routes to no one until its metadata arrives: claiming partitions it
 *  may not own would be worse.  */
static int
s_first_ring(self_t *self)
{
    Flow__Cluster__ClusterMeta *saved = NULL;
    int rc = s_get(self, "ring", &flow__cluster__cluster_meta__descriptor,
                   (ProtobufCMessage **) &saved);
    if (rc == 0 && saved->partitions == self->partitions)
        self->view = saved;
    else
    if (rc == 0)
        flow__cluster__cluster_meta__free_unpacked(saved, NULL);
    else
    if (rc != FL_E_NOTFOUND)
        return rc;
    const fl_handoff_args_t *a = self->args;
    if (!self->view && a->initial && a->initial->partitions == self->partitions
        && a->initial->n_owner_ids > 0)
        self->view = s_copy(a->initial);
    if (!self->view && a->member && !(a->holder && a->holder[0]))
        self->view = s_wait_view(self);
    if (self->view) {
        if ((rc = s_put(self, "ring", &self->view->base)) != 0)
            return rc;
        return s_publish_view(self);
    }
    fl_ring_t *ring = NULL;
    if (a->holder && a->holder[0])
        ring = fl_ring_new_held_by(s_me(self), a->holder, self->partitions, 1);
    else
    if (a->member) {
        fl_warn("handoff", "no cluster metadata yet; routing nothing until it comes", NULL);
        ring = fl_ring_new_held_by(s_me(self), "(metadata pending)", self->partitions, 0);
    }
    else
        ring = fl_ring_new_single(s_me(self), self->partitions, 1);
    if (!ring)
        return FL_E_NOMEM;
    s_publish(self, ring);
    return 0;
}

static int
s_open(self_t *self)
{
    self->partitions = (uint32_t) self->node->config->partitions;
    self->rate = self->node->config->handoff_rate_kb << 10;
    self->chunk = (uint32_t) (self->node->config->handoff_chunk_kb << 10);
    self->fenced = calloc(self->partitions, sizeof *self->fenced);
    self->held = calloc(self->partitions, sizeof *self->held);
    self->flipped = calloc(self->partitions, sizeof *self->flipped);
    self->promoting = calloc(self->partitions, sizeof *self->promoting);
    for (size_t i = 0; i < TRANSFERS_MAX; i++) {
        self->t[i].sums = calloc(DBS_MAX, sizeof *self->t[i].sums);
        if (!self->t[i].sums)
            return FL_E_NOMEM;
    }
    self->retired = zlistx_new();
    self->service = zsock_new(ZMQ_ROUTER);
    self->geo = zsock_new(ZMQ_PUSH);
    if (!self->fenced || !self->held || !self->flipped || !self->promoting || !self->retired
        || !self->service
        || !self->geo)
        return FL_E_NOMEM;
    /*  Until the metadata says otherwise, this node may hold anything.  */
    for (uint32_t p = 0; p < self->partitions; p++)
        self->held[p] = true;
    zsock_set_sndhwm(self->geo, 100000);
    if (zsock_bind(self->service, "%s", FL_HANDOFF_ENDPOINT) != 0
        || zsock_connect(self->geo, "%s", FL_GEO_UPDATES_ENDPOINT) != 0)
        return FL_E_IO;
    int rc = fl_store_dbi(self->node->store, "meta", &self->meta_db);
    if (rc)
        return rc;
    self->ndbs = fl_store_partitioned(self->node->store, self->dbs, self->dbis, DBS_MAX);
    size_t n = 0;
    if ((rc = s_load_flags(self, "fences", self->fenced, &n)) != 0)
        return rc;
    if (n)
        fl_info("handoff", "partitions still fenced from before the restart", "partitions=%zu", n);
    if ((rc = s_load_flags(self, "promoting", self->promoting, &n)) != 0)
        return rc;
    if (n)
        fl_info("handoff", "partitions still being taken over from before the restart",
                "partitions=%zu", n);
    return s_first_ring(self);
}

static void
s_close(self_t *self)
{
    if (self->meta_db)
        s_save(self, true);
    zsock_destroy(&self->service);
    zsock_destroy(&self->geo);
    zsock_destroy(&self->meta);
    for (size_t i = 0; i < TRANSFERS_MAX; i++)
        zsock_destroy(&self->sources[i].sock);
    if (self->view)
        flow__cluster__cluster_meta__free_unpacked(self->view, NULL);
    if (self->retired) {
        s_free_retired(self, true);
        zlistx_destroy(&self->retired);
    }
    free(self->fenced);
    free(self->held);
    free(self->flipped);
    free(self->promoting);
    for (size_t i = 0; i < TRANSFERS_MAX; i++) {
        zframe_destroy(&self->t[i].requester);
        free(self->t[i].sums);
    }
}

static void
s_handoff_task(zsock_t *pipe, void *arg)
{
    fl_handoff_args_t *args = arg;
    self_t self = { .args = args, .node = args->node, .pipe = pipe };
    zsock_signal(pipe, 0);
    int rc = s_open(&self);
    zsock_signal(pipe, rc ? 1 : 0);
    if (rc) {
        fl_error("handoff", "handoff thread cannot start", "error=%s", fl_err_name(rc));
        s_close(&self);
        return;
    }
    int64_t next_tick = zclock_mono();
    bool done = false;
    while (!done) {
        zmq_pollitem_t items[2 + TRANSFERS_MAX] = {
            { zsock_resolve(pipe), 0, ZMQ_POLLIN, 0 },
            { zsock_resolve(self.service), 0, ZMQ_POLLIN, 0 },
        };
        zsock_t *polled[TRANSFERS_MAX];
        int nitems = 2;
        for (size_t i = 0; i < TRANSFERS_MAX; i++)
            if (self.sources[i].sock) {
                polled[nitems - 2] = self.sources[i].sock;
                items[nitems] = (zmq_pollitem_t) { zsock_resolve(self.sources[i].sock), 0,
                                                   ZMQ_POLLIN, 0 };
                nitems++;
            }
        int64_t wake = next_tick;
        for (size_t i = 0; i < TRANSFERS_MAX; i++) {
            s_transfer_t *t = &self.t[i];
            if (t->phase == PHASE_IDLE)
                continue;
            int64_t due = t->seq ? t->sent_ms + REQUEST_TIMEOUT_MS : t->not_before_ms;
            if (due < wake)
                wake = due;
        }
        int64_t wait = wake - zclock_mono();
        int n = zmq_poll(items, nitems, wait > 0 ? (long) wait : 0);
        if (n < 0 && zmq_errno() != EINTR)
            break;
        if (items[0].revents & ZMQ_POLLIN) {
            char *command = zstr_recv(pipe);
            done = !command || streq(command, "$TERM");
            zstr_free(&command);
        }
        if (!done)
            s_on_service(&self);
        for (int i = 2; !done && i < nitems; i++)
            while (zsock_events(polled[i - 2]) & ZMQ_POLLIN)
                s_on_source(&self, polled[i - 2]);
        s_write(&self);
        if (!done && self.current && self.view)
            s_transfer_tick(&self);
        if (!done && zclock_mono() >= next_tick) {
            s_tick(&self);
            next_tick = zclock_mono() + TICK_MS;
        }
    }
    s_close(&self);
}

zactor_t *
fl_handoff_new(fl_handoff_args_t *args)
{
    return fl_actor_start(s_handoff_task, args);
}
