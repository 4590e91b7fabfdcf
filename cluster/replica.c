/*  cluster/replica.c — the replication thread; see replica.h.
 *
 *  One zactor.  Its loop polls the pipe, the ROUTER data actors hand
 *  batches to, the ROUTER the peer thread relays other members' entries
 *  and questions to, its DEALER to the handoff thread (copies, and
 *  partitions ready after a take-over) and one DEALER per member it
 *  sends to.  Every TICK_MS, and whenever the ring changed, it compares
 *  the ring with what it serves.
 *
 *  As a primary, per partition: the stream, the last number given, the
 *  log of entries some replica has not acknowledged yet (in memory; a
 *  replica that misses more than the log holds copies the partition) and
 *  per replica the last entry it acknowledged in step.  What is queued
 *  for a member in one turn leaves in one message at the end of it.
 *  A stream begins with an empty entry, and so does every change of the
 *  replica list, so that a replica that has nothing of it yet learns of
 *  it and copies the partition even while nobody writes.
 *
 *  As a replica, per partition: the stream it applies and how far (kept
 *  in the store, record "replica/P" of the "meta" database, written with
 *  the entries it applies), the epoch it promised, and the entries it
 *  holds while it copies the partition or waits for one that is missing.
 *  Entries that arrive in one turn are applied in one write, one fsync.
 *
 *  Invariant: a replica answers an entry only once it is durable, and
 *  says it is in step only when it applied every entry of the stream
 *  after the state it copied; the primary counts only those answers.
 *
 *  Leases: a primary serves a partition (reads included) only while a
 *  majority of its copies answered a lease ping it sent less than
 *  VALID ago; a node takes part in a take-over (answers the new primary
 *  in step, or takes over itself) only HOLD after it last answered a
 *  lease ping of a member that is now down (of any other member while
 *  its ring is older than the question's).  VALID < HOLD < the down
 *  timeout, so a primary that was frozen or cut off has stopped serving
 *  before the node that replaces it starts: no read sees older data than
 *  a write already acknowledged elsewhere (on machines whose clocks run
 *  at about the same rate).
 */
#include "cluster/replica.h"
#include "cluster/handoff.h"
#include "cluster/meta.h"
#include "cluster/peer.h"
#include "node/actor.h"
#include "node/envelope.h"
#include "node/error.h"
#include "node/log.h"
#include "storage/codec.h"
#include "storage/keyspace.h"

#include <inttypes.h>

#define TICK_MS 50
#define RESEND_MS 400                   /* an unacknowledged entry is sent again */
#define GAP_COPY_MS 1500                /* a missing entry is copied for after this long */
#define QUERY_RETRY_MS 250
#define MEMBERS_EVERY_MS 1000
#define MEMBERS_RETRY_MS 200
#define COPY_RETRY_MS 300
#define META_TIMEOUT_MS 500
#define WARN_EVERY_MS 10000
#define MESSAGE_BYTES (1u << 20)        /* entries in one message, past the first */
#define RESEND_BYTES (4u << 20)         /* sent again to one member in one tick */
#define LOG_MAX_BYTES ((size_t) 256 << 20)
#define HELD_MAX 200000                 /* entries one partition holds while it copies */
#define HELD_MAX_BYTES ((size_t) 64 << 20)
#define LINK_HWM 2000
#define DBS_MAX 32
#define LINKS_MAX 64
#define REQUESTS_PER_TURN 64
#define LEASE_PING_MS 100

/*  ------------------------------------------------------------------
 *  Entries kept in order: a deque of packed ReplicaEntry  */

typedef struct {
    uint64_t seq;
    uint8_t *bytes;
    size_t len;
} s_ent_t;

typedef struct {
    s_ent_t *v;
    size_t start, n, cap;
    size_t bytes;
} s_log_t;

static void
s_log_push(s_log_t *log, uint64_t seq, uint8_t *bytes, size_t len)
{
    if (log->start + log->n == log->cap) {
        if (log->start > log->cap / 2) {
            memmove(log->v, log->v + log->start, log->n * sizeof *log->v);
            log->start = 0;
        }
        else {
            log->cap = log->cap ? 2 * log->cap : 16;
            log->v = realloc(log->v, log->cap * sizeof *log->v);
            assert(log->v);
        }
    }
    log->v[log->start + log->n++] = (s_ent_t) { seq, bytes, len };
    log->bytes += len;
}

static s_ent_t *
s_log_at(const s_log_t *log, size_t i)
{
    return &log->v[log->start + i];
}

static s_ent_t *
s_log_last(const s_log_t *log)
{
    return log->n ? s_log_at(log, log->n - 1) : NULL;
}

static void
s_log_pop(s_log_t *log)
{
    s_ent_t *e = s_log_at(log, 0);
    log->bytes -= e->len;
    free(e->bytes);
    log->start++;
    log->n--;
    if (log->n == 0)
        log->start = 0;
}

static void
s_log_clear(s_log_t *log)
{
    while (log->n)
        s_log_pop(log);
}

static void
s_log_free(s_log_t *log)
{
    s_log_clear(log);
    free(log->v);
    *log = (s_log_t) { 0 };
}

/*  ------------------------------------------------------------------
 *  State  */

/*  A replica as its primary sees it.  */
typedef struct {
    char id[FL_NODE_ID_MAX];
    uint64_t acked;                     /* last entry it holds in step */
    bool in_sync;
    int64_t sent_ms;                    /* last time entries went to it */
    bool lease_refused;                 /* it follows a newer primary of the partition */
} s_copy_t;

typedef struct {
    /*  As its primary.  */
    uint64_t stream, seq;
    s_log_t log;
    s_copy_t copies[FL_RING_REPLICAS_MAX];
    size_t ncopies;
    bool stale;                         /* a replica promised a newer primary */
    /*  As a replica.  */
    uint64_t r_stream, r_seq, promised;
    char r_from[FL_NODE_ID_MAX];        /* the primary whose stream it applies */
    bool r_in_sync;
    bool copying;                       /* copied from copy_from, for r_stream */
    char copy_from[FL_NODE_ID_MAX];
    uint64_t copy_seq;                  /* its request to the handoff thread, 0: to ask */
    int64_t copy_not_before_ms;
    s_log_t held;                       /* entries kept while it copies or past a gap */
    bool overflowed;                    /* more came than it could keep: copy again */
    int64_t gap_ms;
    bool dirty;                         /* its record is to be written */
    /*  Taking over.  */
    bool promoting, promo_copying, promo_ready;
    uint64_t promo_epoch;
    int64_t promo_asked_ms, promo_warned_ms;
    char answered[FL_RING_REPLICAS_MAX][FL_NODE_ID_MAX];
    size_t nanswered;
    char best[FL_NODE_ID_MAX];          /* "" : this node */
    uint64_t best_stream, best_seq;
} s_part_t;

/*  A member this node sends to.  */
typedef struct {
    char id[FL_NODE_ID_MAX];
    char endpoint[256];
    char key[64];
    zsock_t *sock;
    ProtobufCBinaryData *out;           /* entries queued this turn (the logs own them) */
    size_t nout, capout, outbytes;
    int64_t warned_ms;
    int64_t lease_ok_ms;                /* our newest lease ping it answered, sent then */
    int64_t granted_ms;                 /* when this node last answered its lease ping */
} s_link_t;

typedef struct {
    uint32_t partition;
    uint64_t stream, seq;
} s_need_t;

/*  A batch of a data actor, answered when every need is met.  */
typedef struct {
    zframe_t *identity;
    uint64_t batch;
    int64_t deadline_us;
    size_t n;
    s_need_t need[];
} s_wait_t;

typedef struct {
    fl_replica_args_t *args;
    const fl_node_t *node;
    zsock_t *pipe;
    zsock_t *actors;                    /* ROUTER: batches of data actors */
    zsock_t *service;                   /* ROUTER: ReplicaRequests from the peer thread */
    zsock_t *handoff;                   /* DEALER: copies, ready partitions */
    zsock_t *meta;                      /* DEALER: the members' addresses */
    zpoller_t *poller;
    const fl_ring_t *ring;              /* the one last compared */
    uint32_t partitions;
    s_part_t **parts;
    s_link_t links[LINKS_MAX];
    size_t nlinks;
    Flow__Cluster__ClusterMeta *members;   /* the metadata last read, for addresses */
    int64_t members_ms;
    zlistx_t *waits;
    uint64_t incarnation;
    MDB_dbi meta_db;
    const char *dbs[DBS_MAX];
    MDB_dbi dbis[DBS_MAX];
    size_t ndbs;
    size_t log_bytes;
    uint64_t next_seq;
    uint64_t entries_sent, entries_applied;
    int64_t tick_ms;
    int64_t refused_warned_ms;
    int64_t lease_valid_ms, lease_hold_ms;  /* VALID and HOLD above */
    int64_t lease_pinged_ms;
    struct {
        char id[FL_NODE_ID_MAX];
        int64_t ms;                     /* this node last answered its lease ping then */
    } grants[LINKS_MAX];
    size_t ngrants;
    bool terminated;
} self_t;

/*  ------------------------------------------------------------------
 *  The rules  */

size_t
fl_replica_majority(size_t copies)
{
    return copies / 2 + 1;
}

uint64_t
fl_replica_stream(uint64_t epoch, uint64_t incarnation)
{
    return (epoch << 24) | (incarnation & 0xFFFFFF) | (epoch == 0 && incarnation == 0);
}

Flow__Status
fl_replica_check_sender(const fl_ring_t *ring, uint32_t partition, const char *from,
                        uint64_t epoch, uint64_t promised, char *why, size_t whylen)
{
    if (partition >= fl_ring_partitions(ring)) {
        snprintf(why, whylen, "replicate: partition %u is beyond the partition count",
                 partition);
        return FLOW__STATUS__INVALID_ARGUMENT;
    }
    if (epoch < promised) {
        snprintf(why, whylen, "replicate: partition %u has a newer primary (epoch %" PRIu64
                 "); entries of epoch %" PRIu64 " are refused", partition, promised, epoch);
        return FLOW__STATUS__FAILED_PRECONDITION;
    }
    /*  A sender whose ring is newer than this node's knows better.  */
    if (epoch > fl_ring_epoch(ring))
        return FLOW__STATUS__OK;
    if (strcmp(fl_ring_owner(ring, partition), from) != 0) {
        snprintf(why, whylen, "replicate: partition %u is owned by node %s at epoch %" PRIu64,
                 partition, fl_ring_owner(ring, partition), fl_ring_epoch(ring));
        return FLOW__STATUS__FAILED_PRECONDITION;
    }
    if (!fl_ring_is_replica(ring, partition)) {
        snprintf(why, whylen, "replicate: this node keeps no copy of partition %u at epoch %"
                 PRIu64, partition, fl_ring_epoch(ring));
        return FLOW__STATUS__FAILED_PRECONDITION;
    }
    return FLOW__STATUS__OK;
}

Flow__Status
fl_replica_check_entry(const Flow__Cluster__ReplicaEntry *entry, uint32_t partitions,
                       const char *const *names, size_t n, char *why, size_t whylen)
{
    if (entry->partition >= partitions) {
        snprintf(why, whylen, "replicate: partition %u is beyond the partition count",
                 entry->partition);
        return FLOW__STATUS__INVALID_ARGUMENT;
    }
    if (!entry->stream || !entry->seq) {
        snprintf(why, whylen, "replicate: stream and seq must not be 0");
        return FLOW__STATUS__INVALID_ARGUMENT;
    }
    for (size_t i = 0; i < entry->n_changes; i++) {
        const Flow__Cluster__ReplicaChange *c = entry->changes[i];
        bool known = false;
        for (size_t k = 0; k < n && !known; k++)
            known = strcmp(names[k], c->db) == 0;
        MDB_val key = { c->key.len, c->key.data };
        if (!known) {
            snprintf(why, whylen, "replicate: db \"%.64s\" is not a partitioned database",
                     c->db);
            return FLOW__STATUS__INVALID_ARGUMENT;
        }
        if (c->key.len < 2 || c->key.len > FL_KEYSPACE_KEY_MAX
            || fl_keyspace_key_partition(&key) != (int) entry->partition) {
            snprintf(why, whylen, "replicate: a key outside partition %u", entry->partition);
            return FLOW__STATUS__INVALID_ARGUMENT;
        }
        if (c->deleted && c->value.len) {
            snprintf(why, whylen, "replicate: a deletion with a value");
            return FLOW__STATUS__INVALID_ARGUMENT;
        }
    }
    return FLOW__STATUS__OK;
}

/*  ------------------------------------------------------------------
 *  For data actors  */

int
fl_replica_submit(zsock_t *dealer, uint64_t batch, fl_changes_t **changes_p,
                  const uint32_t *partitions, size_t n, int64_t deadline_us)
{
    zmsg_t *msg = zmsg_new();
    fl_changes_t *changes = *changes_p;
    zmsg_addmem(msg, &batch, sizeof batch);
    zmsg_addmem(msg, &changes, sizeof changes);
    zmsg_addmem(msg, partitions, n * sizeof *partitions);
    zmsg_addmem(msg, &deadline_us, sizeof deadline_us);
    if (zmsg_send(&msg, dealer) != 0) {
        zmsg_destroy(&msg);
        return FL_E_IO;
    }
    *changes_p = NULL;                  /* the thread frees it */
    return 0;
}

bool
fl_replica_answer(zsock_t *dealer, uint64_t *batch_p, bool *durable_p)
{
    zmsg_t *msg = zmsg_recv(dealer);
    if (!msg)
        return false;
    zframe_t *batch = zmsg_first(msg);
    zframe_t *durable = zmsg_next(msg);
    bool ok = batch && durable && zframe_size(batch) == sizeof *batch_p
              && zframe_size(durable) == 1;
    if (ok) {
        memcpy(batch_p, zframe_data(batch), sizeof *batch_p);
        *durable_p = zframe_data(durable)[0] != 0;
    }
    zmsg_destroy(&msg);
    return ok;
}

/*  ------------------------------------------------------------------
 *  Partitions and records  */

static const char *
s_me(const self_t *self)
{
    return self->node->node_id;
}

static s_part_t *
s_part(self_t *self, uint32_t partition)
{
    if (!self->parts[partition]) {
        self->parts[partition] = calloc(1, sizeof(s_part_t));
        assert(self->parts[partition]);
    }
    return self->parts[partition];
}

static void
s_position_key(uint32_t partition, char name[32])
{
    snprintf(name, 32, "replica/%u", partition);
}

static int
s_put_position(self_t *self, MDB_txn *txn, uint32_t partition, const s_part_t *part)
{
    Flow__Cluster__ReplicaPosition pos = FLOW__CLUSTER__REPLICA_POSITION__INIT;
    pos.partition = partition;
    pos.stream = part->r_stream;
    pos.seq = part->r_seq;
    pos.in_sync = part->r_in_sync && !part->copying;
    pos.promised = part->promised;
    char name[32];
    s_position_key(partition, name);
    MDB_val key = { strlen(name), name };
    return fl_codec_put(txn, self->meta_db, &key, &pos.base);
}

/*  Reads the positions recorded before this start.  */
static int
s_load_positions(self_t *self)
{
    MDB_txn *txn = NULL;
    int rc = fl_store_read_begin(self->node->store, &txn);
    if (rc)
        return rc;
    MDB_cursor *cursor = NULL;
    rc = mdb_cursor_open(txn, self->meta_db, &cursor);
    MDB_val key = { 8, "replica/" }, value;
    size_t n = 0;
    for (int op = MDB_SET_RANGE; rc == 0; op = MDB_NEXT) {
        rc = mdb_cursor_get(cursor, &key, &value, op);
        if (rc || key.mv_size < 8 || memcmp(key.mv_data, "replica/", 8) != 0)
            break;
        Flow__Cluster__ReplicaPosition *pos =
            flow__cluster__replica_position__unpack(NULL, value.mv_size, value.mv_data);
        if (pos && pos->partition < self->partitions) {
            s_part_t *part = s_part(self, pos->partition);
            part->r_stream = pos->stream;
            part->r_seq = pos->seq;
            part->r_in_sync = pos->in_sync;
            part->promised = pos->promised;
            n++;
        }
        if (pos)
            flow__cluster__replica_position__free_unpacked(pos, NULL);
    }
    if (cursor)
        mdb_cursor_close(cursor);
    fl_store_read_end(self->node->store, &txn);
    if (n)
        fl_debug("replica", "copies' positions read", "partitions=%zu", n);
    return rc == MDB_NOTFOUND || rc == 0 ? 0 : FL_E_IO;
}

typedef struct {
    self_t *self;
    uint64_t count;
} s_incarnation_t;

static int
s_incarnation_apply(MDB_txn *txn, void *arg)
{
    s_incarnation_t *inc = arg;
    MDB_val key = { 19, "replica/incarnation" };
    Flow__Cluster__ReplicaIncarnation *rec = NULL;
    int rc = fl_codec_get(txn, inc->self->meta_db, &key,
                          &flow__cluster__replica_incarnation__descriptor,
                          (ProtobufCMessage **) &rec);
    if (rc && rc != FL_E_NOTFOUND)
        return rc;
    inc->count = (rec ? rec->count : 0) + 1;
    if (rec)
        flow__cluster__replica_incarnation__free_unpacked(rec, NULL);
    Flow__Cluster__ReplicaIncarnation next = FLOW__CLUSTER__REPLICA_INCARNATION__INIT;
    next.count = inc->count;
    return fl_codec_put(txn, inc->self->meta_db, &key, &next.base);
}

/*  ------------------------------------------------------------------
 *  Members: one connection each  */

static const Flow__Cluster__Member *
s_member(const self_t *self, const char *node_id)
{
    for (size_t i = 0; self->members && i < self->members->n_members; i++)
        if (streq(self->members->members[i]->node_id, node_id))
            return self->members->members[i];
    return NULL;
}

static void
s_read_members(self_t *self)
{
    Flow__Cluster__MetaReply *reply = fl_meta_ask_status(&self->meta, ++self->next_seq,
                                                         META_TIMEOUT_MS);
    self->members_ms = zclock_mono();
    if (reply && reply->cluster && reply->cluster->meta) {
        zframe_t *packed = fl_envelope_pack(&reply->cluster->meta->base);
        Flow__Cluster__ClusterMeta *meta = packed
            ? flow__cluster__cluster_meta__unpack(NULL, zframe_size(packed), zframe_data(packed))
            : NULL;
        zframe_destroy(&packed);
        if (meta) {
            if (self->members)
                flow__cluster__cluster_meta__free_unpacked(self->members, NULL);
            self->members = meta;
        }
    }
    if (reply)
        flow__cluster__meta_reply__free_unpacked(reply, NULL);
}

/*  The link to NODE_ID, connected; NULL when its address is not known or
 *  it cannot be reached.  */
static s_link_t *
s_link(self_t *self, const char *node_id)
{
    s_link_t *link = NULL;
    for (size_t i = 0; i < self->nlinks && !link; i++)
        if (streq(self->links[i].id, node_id))
            link = &self->links[i];
    const Flow__Cluster__Member *m = s_member(self, node_id);
    /*  A member this node has no address of yet: the metadata is read
     *  again, but not for every entry queued (it is a round trip to the
     *  metadata thread).  */
    if (!m && (!link || !link->sock) && zclock_mono() - self->members_ms > MEMBERS_RETRY_MS) {
        s_read_members(self);
        m = s_member(self, node_id);
    }
    if (!link) {
        if (!m || self->nlinks == LINKS_MAX)
            return NULL;
        link = &self->links[self->nlinks++];
        snprintf(link->id, sizeof link->id, "%s", node_id);
    }
    if (m && link->sock && (!streq(link->endpoint, m->peer_endpoint)
                            || !streq(link->key, m->public_key))) {
        zpoller_remove(self->poller, link->sock);
        zsock_destroy(&link->sock);
    }
    if (!link->sock && m) {
        zsock_t *sock = zsock_new(ZMQ_DEALER);
        if (!sock)
            return NULL;
        zcert_apply((zcert_t *) self->node->cert, sock);
        zsock_set_curve_serverkey(sock, m->public_key);
        fl_peer_keepalive(sock);
        zsock_set_linger(sock, 0);
        zsock_set_sndhwm(sock, LINK_HWM);
        if (zsock_connect(sock, "%s", m->peer_endpoint) != 0) {
            zsock_destroy(&sock);
            return NULL;
        }
        link->sock = sock;
        snprintf(link->endpoint, sizeof link->endpoint, "%s", m->peer_endpoint);
        snprintf(link->key, sizeof link->key, "%s", m->public_key);
        zpoller_add(self->poller, sock);
    }
    return link->sock ? link : NULL;
}

/*  Sends BODY (packed, MACed) to LINK as a peer request of kind KIND.  */
static bool
s_send_peer(self_t *self, s_link_t *link, Flow__Cluster__PeerRequest__BodyCase kind,
            const ProtobufCMessage *body)
{
    if (fl_peer_send(link->sock, self->node->peer_key, ++self->next_seq, kind, body) == 0)
        return true;
    int64_t now = zclock_mono();
    if (now - link->warned_ms > WARN_EVERY_MS) {
        fl_warn("replica", "a member's queue is full; entries wait for it", "node=%s",
                link->id);
        link->warned_ms = now;
    }
    return false;
}

static void
s_flush_link(self_t *self, s_link_t *link)
{
    if (!link->nout)
        return;
    Flow__Cluster__ReplicaBatch batch = FLOW__CLUSTER__REPLICA_BATCH__INIT;
    batch.from = (char *) s_me(self);
    batch.epoch = fl_ring_epoch(self->ring);
    batch.entries = link->out;
    batch.n_entries = link->nout;
    if (s_send_peer(self, link, FLOW__CLUSTER__PEER_REQUEST__BODY_REPLICATE, &batch.base))
        self->entries_sent += link->nout;
    link->nout = 0;
    link->outbytes = 0;
}

/*  Queues ENTRY (owned by a log) for NODE_ID this turn.  */
static void
s_queue(self_t *self, const char *node_id, const s_ent_t *entry)
{
    s_link_t *link = s_link(self, node_id);
    if (!link)
        return;
    if (link->nout && link->outbytes + entry->len > MESSAGE_BYTES)
        s_flush_link(self, link);
    if (link->nout == link->capout) {
        link->capout = link->capout ? 2 * link->capout : 64;
        link->out = realloc(link->out, link->capout * sizeof *link->out);
        assert(link->out);
    }
    link->out[link->nout++] = (ProtobufCBinaryData) { entry->len, entry->bytes };
    link->outbytes += entry->len;
}

static void
s_flush(self_t *self)
{
    for (size_t i = 0; i < self->nlinks; i++)
        if (self->links[i].sock)
            s_flush_link(self, &self->links[i]);
}

/*  ------------------------------------------------------------------
 *  As a primary  */

/*  Numbers ENTRY (its partition, changes set) in PART's stream, keeps it
 *  in the log and queues it for every replica; its seq.  */
static uint64_t
s_append(self_t *self, s_part_t *part, Flow__Cluster__ReplicaEntry *entry)
{
    entry->stream = part->stream;
    entry->seq = ++part->seq;
    size_t len = flow__cluster__replica_entry__get_packed_size(entry);
    uint8_t *bytes = malloc(len ? len : 1);
    assert(bytes);
    flow__cluster__replica_entry__pack(entry, bytes);
    s_log_push(&part->log, entry->seq, bytes, len);
    self->log_bytes += len;
    int64_t now = zclock_mono();
    const s_ent_t *kept = s_log_last(&part->log);
    for (size_t i = 0; i < part->ncopies; i++) {
        if (fl_ring_is_down(self->ring, part->copies[i].id))
            continue;
        s_queue(self, part->copies[i].id, kept);
        part->copies[i].sent_ms = now;
    }
    return entry->seq;
}

/*  An empty entry: a replica that has nothing of the stream copies the
 *  partition when it sees it.  */
static void
s_mark(self_t *self, uint32_t partition, s_part_t *part)
{
    Flow__Cluster__ReplicaEntry entry = FLOW__CLUSTER__REPLICA_ENTRY__INIT;
    entry.partition = partition;
    s_append(self, part, &entry);
}

/*  PART's replicas as the ring has them now; true when one is new.  */
static bool
s_copies_refresh(self_t *self, uint32_t partition, s_part_t *part)
{
    const char *ids[FL_RING_REPLICAS_MAX];
    size_t n = fl_ring_replicas(self->ring, partition, ids, FL_RING_REPLICAS_MAX);
    s_copy_t next[FL_RING_REPLICAS_MAX];
    bool added = false;
    for (size_t i = 0; i < n; i++) {
        size_t k = 0;
        while (k < part->ncopies && !streq(part->copies[k].id, ids[i]))
            k++;
        if (k < part->ncopies)
            next[i] = part->copies[k];
        else {
            next[i] = (s_copy_t) { .acked = 0 };
            snprintf(next[i].id, sizeof next[i].id, "%s", ids[i]);
            added = true;
        }
    }
    memcpy(part->copies, next, n * sizeof *next);
    part->ncopies = n;
    return added;
}

/*  This node no longer orders PART's writes: its store holds its stream
 *  up to the last entry, which is what it says of its copy from now on
 *  (a node taking the partition over asks).  */
static void
s_stream_stop(self_t *self, uint32_t p, s_part_t *part)
{
    if (part->stream) {
        snprintf(part->r_from, sizeof part->r_from, "%s", s_me(self));
        part->r_stream = part->stream;
        part->r_seq = part->seq;
        part->r_in_sync = true;
        part->copying = false;
        s_log_clear(&part->held);
        part->dirty = true;
    }
    self->log_bytes -= part->log.bytes;
    s_log_clear(&part->log);
    if (p < self->node->lease_partitions)
        atomic_store_explicit(&self->node->lease_until[p], 0, memory_order_release);
    part->stream = 0;
    part->seq = 0;
    part->ncopies = 0;
    part->stale = false;
}

static void
s_stream_start(self_t *self, uint32_t partition, s_part_t *part)
{
    s_stream_stop(self, partition, part);
    part->stream = fl_replica_stream(fl_ring_epoch(self->ring), self->incarnation);
    s_copies_refresh(self, partition, part);
    for (size_t i = 0; i < part->ncopies; i++) {
        part->copies[i].in_sync = false;
        part->copies[i].lease_refused = false;
    }
    s_mark(self, partition, part);
}

/*  Drops the entries every replica holds; past the node's limit, the
 *  oldest (their replicas will copy the partition).  */
static void
s_trim(self_t *self, s_part_t *part)
{
    uint64_t floor = part->seq;
    for (size_t i = 0; i < part->ncopies; i++)
        if (part->copies[i].acked < floor)
            floor = part->copies[i].acked;
    while (part->log.n && (s_log_at(&part->log, 0)->seq <= floor
                           || self->log_bytes > LOG_MAX_BYTES)) {
        self->log_bytes -= s_log_at(&part->log, 0)->len;
        s_log_pop(&part->log);
    }
}

/*  How many copies of PART hold SEQ of its stream, this node's included. */
static size_t
s_holding(const s_part_t *part, uint64_t seq)
{
    size_t n = 1;
    for (size_t i = 0; i < part->ncopies; i++)
        n += part->copies[i].in_sync && part->copies[i].acked >= seq;
    return n;
}

static void
s_answer_wait(self_t *self, s_wait_t *w, bool durable)
{
    zmsg_t *msg = zmsg_new();
    zmsg_append(msg, &w->identity);
    zmsg_addmem(msg, &w->batch, sizeof w->batch);
    uint8_t ok = durable;
    zmsg_addmem(msg, &ok, 1);
    zmsg_send(&msg, self->actors);
}

/*  1: every need of W is met; -1: one cannot be any more; 0: not yet.  */
static int
s_wait_state(self_t *self, const s_wait_t *w, int64_t now_us)
{
    int state = 1;
    for (size_t i = 0; i < w->n && state >= 0; i++) {
        const s_need_t *need = &w->need[i];
        s_part_t *part = self->parts[need->partition];
        if (!part || !need->stream || part->stream != need->stream || part->stale)
            state = -1;
        else
        if (s_holding(part, need->seq) < fl_replica_majority(1 + part->ncopies))
            state = 0;
    }
    if (state == 0 && now_us > w->deadline_us)
        state = -1;
    return state;
}

static void
s_check_waits(self_t *self)
{
    int64_t now = zclock_usecs();
    s_wait_t *w = zlistx_first(self->waits);
    while (w) {
        int state = s_wait_state(self, w, now);
        if (state != 0) {
            s_answer_wait(self, w, state > 0);
            free(w);
            zlistx_delete(self->waits, zlistx_cursor(self->waits));
            w = zlistx_first(self->waits);
            continue;
        }
        w = zlistx_next(self->waits);
    }
}

/*  The records of a batch grouped by partition into entries, in the
 *  order they were made; the entries point into the change set.  */
typedef struct {
    Flow__Cluster__ReplicaEntry *entries;
    size_t n;
    Flow__Cluster__ReplicaChange *store;
    Flow__Cluster__ReplicaChange **ptrs;
} s_groups_t;

static void
s_groups_release(s_groups_t *g)
{
    free(g->entries);
    free(g->store);
    free(g->ptrs);
}

static void
s_group(self_t *self, const fl_changes_t *changes, s_groups_t *out)
{
    size_t count = fl_changes_count(changes);
    Flow__Cluster__ReplicaChange *store = calloc(count + 1, sizeof *store);
    Flow__Cluster__ReplicaEntry *groups = calloc(count + 1, sizeof *groups);
    Flow__Cluster__ReplicaChange **ptrs = calloc(count + 1, sizeof *ptrs);
    assert(store && groups && ptrs);
    size_t ngroups = 0;
    /*  Entries of one partition sit together in PTRS: counted first.  */
    uint32_t *of = calloc(count + 1, sizeof *of);
    size_t *size = calloc(count + 1, sizeof *size);
    assert(of && size);
    for (size_t i = 0; i < count; i++) {
        const fl_change_t *c = fl_changes_get(changes, i);
        int p = fl_keyspace_key_partition(&c->key);
        size_t g = 0;
        while (g < ngroups && groups[g].partition != (uint32_t) p)
            g++;
        if (g == ngroups) {
            flow__cluster__replica_entry__init(&groups[g]);
            groups[g].partition = (uint32_t) p;
            ngroups++;
        }
        of[i] = (uint32_t) g;
        size[g]++;
    }
    size_t at = 0;
    for (size_t g = 0; g < ngroups; g++) {
        groups[g].changes = &ptrs[at];
        at += size[g];
    }
    for (size_t i = 0; i < count; i++) {
        const fl_change_t *c = fl_changes_get(changes, i);
        const char *db = NULL;
        for (size_t k = 0; k < self->ndbs && !db; k++)
            if (self->dbis[k] == c->dbi)
                db = self->dbs[k];
        if (!db)
            continue;                   /* not a partitioned database: this node's own */
        Flow__Cluster__ReplicaChange *rc = &store[i];
        flow__cluster__replica_change__init(rc);
        rc->db = (char *) db;
        rc->key = (ProtobufCBinaryData) { c->key.mv_size, c->key.mv_data };
        rc->deleted = c->value.mv_data == NULL;
        if (!rc->deleted)
            rc->value = (ProtobufCBinaryData) { c->value.mv_size, c->value.mv_data };
        Flow__Cluster__ReplicaEntry *g = &groups[of[i]];
        g->changes[g->n_changes++] = rc;
    }
    free(of);
    free(size);
    *out = (s_groups_t) { groups, ngroups, store, ptrs };
}

static bool
s_replicated(self_t *self, uint32_t partition)
{
    s_part_t *part = self->parts[partition];
    return part && part->stream && fl_ring_is_local(self->ring, partition)
           && fl_ring_has_replicas(self->ring, partition);
}

static void
s_add_need(s_wait_t **w_p, size_t *cap, uint32_t partition, uint64_t stream, uint64_t seq)
{
    s_wait_t *w = *w_p;
    for (size_t i = 0; i < w->n; i++)
        if (w->need[i].partition == partition) {
            if (seq > w->need[i].seq)
                w->need[i].seq = seq;
            return;
        }
    if (w->n == *cap) {
        *cap *= 2;
        w = realloc(w, sizeof *w + *cap * sizeof *w->need);
        assert(w);
        *w_p = w;
    }
    w->need[w->n++] = (s_need_t) { partition, stream, seq };
}

/*  A data actor's committed batch: its entries go to the replicas, and
 *  its answer waits for them.  */
static void
s_on_actor(self_t *self)
{
    zmsg_t *msg = zmsg_recv(self->actors);
    if (!msg)
        return;
    zframe_t *identity = zmsg_pop(msg);
    zframe_t *batch = zmsg_pop(msg), *changes_f = zmsg_pop(msg), *parts_f = zmsg_pop(msg),
             *deadline_f = zmsg_pop(msg);
    zmsg_destroy(&msg);
    fl_changes_t *changes = NULL;
    if (!identity || !batch || !changes_f || !parts_f || !deadline_f
        || zframe_size(batch) != sizeof(uint64_t) || zframe_size(changes_f) != sizeof changes
        || zframe_size(deadline_f) != sizeof(int64_t) || zframe_size(parts_f) % 4) {
        fl_error("replica", "malformed batch from a data actor", NULL);
        zframe_destroy(&identity);
        zframe_destroy(&batch);
        zframe_destroy(&changes_f);
        zframe_destroy(&parts_f);
        zframe_destroy(&deadline_f);
        return;
    }
    memcpy(&changes, zframe_data(changes_f), sizeof changes);
    size_t cap = 8;
    s_wait_t *w = calloc(1, sizeof *w + cap * sizeof *w->need);
    assert(w);
    w->identity = identity;
    memcpy(&w->batch, zframe_data(batch), sizeof w->batch);
    memcpy(&w->deadline_us, zframe_data(deadline_f), sizeof w->deadline_us);
    s_groups_t groups;
    s_group(self, changes, &groups);
    for (size_t g = 0; g < groups.n; g++) {
        uint32_t p = groups.entries[g].partition;
        if (groups.entries[g].n_changes == 0 || !fl_ring_has_replicas(self->ring, p))
            continue;
        if (!s_replicated(self, p)) {
            /*  No longer this node's to order: not known to be durable.  */
            s_add_need(&w, &cap, p, 0, 0);
            continue;
        }
        s_part_t *part = self->parts[p];
        uint64_t seq = s_append(self, part, &groups.entries[g]);
        s_add_need(&w, &cap, p, part->stream, seq);
    }
    s_groups_release(&groups);
    size_t nparts = zframe_size(parts_f) / 4;
    for (size_t i = 0; i < nparts; i++) {
        uint32_t p;
        memcpy(&p, zframe_data(parts_f) + 4 * i, 4);
        if (p >= self->partitions || !fl_ring_has_replicas(self->ring, p))
            continue;
        if (!s_replicated(self, p))
            s_add_need(&w, &cap, p, 0, 0);
        else
        if (self->parts[p]->seq)
            s_add_need(&w, &cap, p, self->parts[p]->stream, self->parts[p]->seq);
    }
    fl_changes_destroy(&changes);
    zframe_destroy(&batch);
    zframe_destroy(&changes_f);
    zframe_destroy(&parts_f);
    zframe_destroy(&deadline_f);
    zlistx_add_end(self->waits, w);
}

/*  Where a replica says it stands, in its answer to entries or to a
 *  question of this node's.  */
static void
s_on_position(self_t *self, const char *node_id, const Flow__Cluster__ReplicaPosition *pos)
{
    if (pos->partition >= self->partitions || !self->parts[pos->partition])
        return;
    s_part_t *part = self->parts[pos->partition];
    if (part->promoting && pos->promised >= part->promo_epoch) {
        /*  Only a copy that knows what it holds counts toward the
         *  majority: one being copied may hold less than was acknowledged. */
        if (!pos->in_sync || pos->syncing)
            return;
        bool seen = false;
        for (size_t i = 0; i < part->nanswered && !seen; i++)
            seen = streq(part->answered[i], node_id);
        if (!seen && part->nanswered < FL_RING_REPLICAS_MAX) {
            snprintf(part->answered[part->nanswered++], FL_NODE_ID_MAX, "%s", node_id);
            bool better = (pos->stream > part->best_stream
                              || (pos->stream == part->best_stream
                                  && pos->seq > part->best_seq));
            if (better) {
                snprintf(part->best, sizeof part->best, "%s", node_id);
                part->best_stream = pos->stream;
                part->best_seq = pos->seq;
            }
        }
        return;
    }
    if (!part->stream)
        return;
    if (pos->refused && pos->promised > fl_ring_epoch(self->ring)) {
        part->stale = true;
        int64_t now = zclock_mono();
        if (now - self->refused_warned_ms > WARN_EVERY_MS) {
            fl_warn("replica", "a replica follows a newer primary; writes here are refused",
                    "partition=%u node=%s", pos->partition, node_id);
            self->refused_warned_ms = now;
        }
        return;
    }
    if (pos->stream != part->stream)
        return;
    for (size_t i = 0; i < part->ncopies; i++) {
        s_copy_t *c = &part->copies[i];
        if (!streq(c->id, node_id))
            continue;
        c->in_sync = pos->in_sync;
        if (pos->in_sync && pos->seq > c->acked)
            c->acked = pos->seq;
    }
    s_trim(self, part);
}

static void s_on_lease(self_t *self, s_link_t *link,
                       const Flow__Cluster__ReplicaPositions *answer);

/*  An answer from a member.  */
static void
s_on_link(self_t *self, s_link_t *link)
{
    zframe_t *frame = zframe_recv(link->sock);
    if (!frame)
        return;
    Flow__Cluster__PeerReply *reply =
        flow__cluster__peer_reply__unpack(NULL, zframe_size(frame), zframe_data(frame));
    zframe_destroy(&frame);
    if (!reply)
        return;
    if (reply->body_case == FLOW__CLUSTER__PEER_REPLY__BODY_POSITIONS
        && reply->positions->lease_sent_ms)
        s_on_lease(self, link, reply->positions);
    else
    if (reply->body_case == FLOW__CLUSTER__PEER_REPLY__BODY_POSITIONS)
        for (size_t i = 0; i < reply->positions->n_positions; i++)
            s_on_position(self, link->id, reply->positions->positions[i]);
    else
    if (reply->status != FLOW__STATUS__OK) {
        int64_t now = zclock_mono();
        if (now - link->warned_ms > WARN_EVERY_MS) {
            fl_warn("replica", "a member refused entries", "node=%s reason=\"%s\"", link->id,
                    reply->message);
            link->warned_ms = now;
        }
    }
    flow__cluster__peer_reply__free_unpacked(reply, NULL);
}

/*  Sends again what replicas have not acknowledged for a while.  */
static void
s_resend(self_t *self, int64_t now)
{
    size_t budget[LINKS_MAX];
    for (size_t i = 0; i < LINKS_MAX; i++)
        budget[i] = RESEND_BYTES;
    for (uint32_t p = 0; p < self->partitions; p++) {
        s_part_t *part = self->parts[p];
        if (!part || !part->stream)
            continue;
        for (size_t i = 0; i < part->ncopies; i++) {
            s_copy_t *c = &part->copies[i];
            if ((c->in_sync && c->acked >= part->seq) || now - c->sent_ms < RESEND_MS
                || fl_ring_is_down(self->ring, c->id))
                continue;
            s_link_t *link = s_link(self, c->id);
            if (!link)
                continue;
            size_t li = (size_t) (link - self->links);
            c->sent_ms = now;
            /*  One not in step is copying: the newest entry tells it the
             *  stream; one in step gets what it misses.  */
            size_t from = part->log.n ? part->log.n - 1 : 0;
            if (c->in_sync)
                for (from = 0; from < part->log.n && s_log_at(&part->log, from)->seq <= c->acked;)
                    from++;
            for (size_t k = from; k < part->log.n && budget[li] > 0; k++) {
                const s_ent_t *e = s_log_at(&part->log, k);
                s_queue(self, c->id, e);
                budget[li] = budget[li] > e->len ? budget[li] - e->len : 0;
            }
        }
    }
}

/*  ------------------------------------------------------------------
 *  Leases  */

/*  Until when this node may serve PART as its primary: VALID after the
 *  lease ping whose answer made a majority of its copies.  */
static int64_t
s_lease_of(const self_t *self, const s_part_t *part)
{
    if (part->stale)
        return 0;
    size_t need = fl_replica_majority(1 + part->ncopies) - 1;
    if (need == 0)
        return INT64_MAX;
    int64_t ok[FL_RING_REPLICAS_MAX];
    size_t n = 0;
    for (size_t i = 0; i < part->ncopies; i++) {
        if (part->copies[i].lease_refused)
            continue;
        for (size_t k = 0; k < self->nlinks; k++)
            if (streq(self->links[k].id, part->copies[i].id) && self->links[k].lease_ok_ms)
                ok[n++] = self->links[k].lease_ok_ms;
    }
    if (n < need)
        return 0;
    /*  The NEED-th newest answer.  */
    for (size_t i = 0; i < need; i++)
        for (size_t k = i + 1; k < n; k++)
            if (ok[k] > ok[i]) {
                int64_t t = ok[i];
                ok[i] = ok[k];
                ok[k] = t;
            }
    return ok[need - 1] + self->lease_valid_ms;
}

static void
s_leases_update(self_t *self)
{
    uint32_t n = self->partitions < self->node->lease_partitions ? self->partitions
                                                                  : self->node->lease_partitions;
    for (uint32_t p = 0; p < n; p++) {
        const s_part_t *part = self->parts[p];
        int64_t until = part && part->stream ? s_lease_of(self, part) : 0;
        atomic_store_explicit(&self->node->lease_until[p], until, memory_order_release);
    }
}

/*  Every LEASE_PING_MS, a lease ping to each member that keeps copies of
 *  partitions this node is the primary of.  */
static void
s_lease_ping(self_t *self, int64_t now)
{
    if (now - self->lease_pinged_ms < LEASE_PING_MS)
        return;
    self->lease_pinged_ms = now;
    const char *ids[LINKS_MAX];
    size_t n = 0;
    for (uint32_t p = 0; p < self->partitions; p++) {
        const s_part_t *part = self->parts[p];
        for (size_t i = 0; part && part->stream && i < part->ncopies; i++) {
            size_t k = 0;
            while (k < n && !streq(ids[k], part->copies[i].id))
                k++;
            if (k == n && n < LINKS_MAX)
                ids[n++] = part->copies[i].id;
        }
    }
    Flow__Cluster__ReplicaQuery q = FLOW__CLUSTER__REPLICA_QUERY__INIT;
    q.from = (char *) s_me(self);
    q.epoch = fl_ring_epoch(self->ring);
    q.lease = true;
    q.sent_ms = now;
    for (size_t k = 0; k < n; k++) {
        s_link_t *link = s_link(self, ids[k]);
        if (link)
            s_send_peer(self, link, FLOW__CLUSTER__PEER_REQUEST__BODY_REPLICA_QUERY, &q.base);
    }
}

/*  A member's answer to a lease ping sent at SENT_MS: the partitions it
 *  follows a newer primary for are listed as refused.  */
static void
s_on_lease(self_t *self, s_link_t *link, const Flow__Cluster__ReplicaPositions *answer)
{
    if (answer->lease_sent_ms > link->lease_ok_ms)
        link->lease_ok_ms = answer->lease_sent_ms;
    for (size_t i = 0; i < answer->n_positions; i++) {
        uint32_t p = answer->positions[i]->partition;
        s_part_t *part = p < self->partitions ? self->parts[p] : NULL;
        for (size_t k = 0; part && k < part->ncopies; k++)
            if (streq(part->copies[k].id, link->id))
                part->copies[k].lease_refused = true;
    }
    s_leases_update(self);
}

/*  Records that this node answers a lease ping of FROM now.  */
static void
s_grant(self_t *self, const char *from, int64_t now)
{
    size_t i = 0;
    while (i < self->ngrants && !streq(self->grants[i].id, from))
        i++;
    if (i == self->ngrants) {
        if (self->ngrants == LINKS_MAX)
            return;
        snprintf(self->grants[self->ngrants++].id, FL_NODE_ID_MAX, "%s", from);
    }
    self->grants[i].ms = now;
}

/*  True once this node may take part in taking a partition over, asked
 *  by ASKER at EPOCH: HOLD has passed since it last answered a lease
 *  ping of a member its ring marks down, or of any member but ASKER
 *  while its ring is older than EPOCH.  */
static bool
s_may_take_over(const self_t *self, const char *asker, uint64_t epoch, int64_t now)
{
    bool stale = epoch > fl_ring_epoch(self->ring);
    for (size_t i = 0; i < self->ngrants; i++) {
        const char *id = self->grants[i].id;
        bool counts = stale ? !streq(id, asker) : fl_ring_is_down(self->ring, id);
        if (counts && now - self->grants[i].ms < self->lease_hold_ms)
            return false;
    }
    return true;
}

/*  ------------------------------------------------------------------
 *  As a replica  */

/*  Asks the handoff thread to copy PART from its source.  */
static void
s_copy_ask(self_t *self, uint32_t partition, s_part_t *part)
{
    Flow__Cluster__ReplicaCopy copy = FLOW__CLUSTER__REPLICA_COPY__INIT;
    copy.partition = partition;
    copy.from = part->copy_from;
    Flow__Cluster__HandoffRequest req = FLOW__CLUSTER__HANDOFF_REQUEST__INIT;
    req.seq = ++self->next_seq;
    req.body_case = FLOW__CLUSTER__HANDOFF_REQUEST__BODY_COPY;
    req.copy = &copy;
    zframe_t *frame = fl_envelope_pack(&req.base);
    if (frame && zframe_send(&frame, self->handoff, ZFRAME_DONTWAIT) == 0)
        part->copy_seq = req.seq;
    else {
        zframe_destroy(&frame);
        part->copy_not_before_ms = zclock_mono() + COPY_RETRY_MS;
    }
}

/*  Starts copying PARTITION from FROM, keeping the entries that come
 *  meanwhile.  */
static void
s_copy_start(self_t *self, uint32_t partition, s_part_t *part, const char *from)
{
    char source[FL_NODE_ID_MAX];
    snprintf(source, sizeof source, "%s", from);   /* FROM may be copy_from itself */
    part->copying = true;
    part->overflowed = false;
    part->r_in_sync = false;
    part->gap_ms = 0;
    part->dirty = true;
    memcpy(part->copy_from, source, sizeof source);
    part->copy_seq = 0;
    part->copy_not_before_ms = 0;
    fl_debug("replica", "copying a partition", "partition=%u from=%s", partition, from);
    s_copy_ask(self, partition, part);
}

static void
s_hold(s_part_t *part, const uint8_t *bytes, size_t len, uint64_t seq)
{
    const s_ent_t *last = s_log_last(&part->held);
    if (last && seq <= last->seq)
        return;                         /* sent again */
    if (part->held.n == HELD_MAX || part->held.bytes + len > HELD_MAX_BYTES) {
        /*  The copy under way misses what is dropped now: the next one
         *  starts after the entry kept from here.  */
        s_log_clear(&part->held);
        part->overflowed = true;
    }
    uint8_t *copy = malloc(len ? len : 1);
    assert(copy);
    memcpy(copy, bytes, len);
    s_log_push(&part->held, seq, copy, len);
}

/*  What one turn applies: entries in order, decoded.  */
typedef struct {
    uint32_t partition;
    Flow__Cluster__ReplicaEntry *entry;     /* owned */
} s_apply_t;

typedef struct {
    self_t *self;
    s_apply_t *v;
    size_t n, cap;
    uint32_t *dirty;                    /* partitions whose record is written */
    size_t ndirty;
} s_turn_t;

static void
s_turn_add(s_turn_t *turn, uint32_t partition, Flow__Cluster__ReplicaEntry *entry)
{
    if (turn->n == turn->cap) {
        turn->cap = turn->cap ? 2 * turn->cap : 64;
        turn->v = realloc(turn->v, turn->cap * sizeof *turn->v);
        assert(turn->v);
    }
    turn->v[turn->n++] = (s_apply_t) { partition, entry };
}

static void
s_turn_release(s_turn_t *turn)
{
    for (size_t i = 0; i < turn->n; i++)
        flow__cluster__replica_entry__free_unpacked(turn->v[i].entry, NULL);
    free(turn->v);
    free(turn->dirty);
    *turn = (s_turn_t) { .self = turn->self };
}

static MDB_dbi
s_dbi(const self_t *self, const char *name)
{
    for (size_t k = 0; k < self->ndbs; k++)
        if (streq(self->dbs[k], name))
            return self->dbis[k];
    return 0;
}

static int
s_turn_apply(MDB_txn *txn, void *arg)
{
    s_turn_t *turn = arg;
    self_t *self = turn->self;
    for (size_t i = 0; i < turn->n; i++) {
        const Flow__Cluster__ReplicaEntry *e = turn->v[i].entry;
        for (size_t k = 0; k < e->n_changes; k++) {
            const Flow__Cluster__ReplicaChange *c = e->changes[k];
            MDB_val key = { c->key.len, c->key.data };
            MDB_val value = { c->value.len, c->value.data };
            MDB_dbi dbi = s_dbi(self, c->db);
            int rc = c->deleted ? mdb_del(txn, dbi, &key, NULL) : mdb_put(txn, dbi, &key, &value, 0);
            if (rc && rc != MDB_NOTFOUND)
                return rc;
        }
    }
    for (size_t i = 0; i < turn->ndirty; i++) {
        uint32_t p = turn->dirty[i];
        int rc = s_put_position(self, txn, p, self->parts[p]);
        if (rc)
            return rc;
    }
    return 0;
}

/*  Writes what TURN holds, and the records of the partitions marked
 *  dirty, in one transaction; false when it failed (those partitions
 *  are out of step then).  */
static bool
s_turn_commit(self_t *self, s_turn_t *turn)
{
    turn->dirty = calloc(self->partitions, sizeof *turn->dirty);
    assert(turn->dirty);
    for (uint32_t p = 0; p < self->partitions; p++)
        if (self->parts[p] && self->parts[p]->dirty)
            turn->dirty[turn->ndirty++] = p;
    if (!turn->n && !turn->ndirty)
        return true;
    int rc = fl_store_write(self->node->store, s_turn_apply, turn);
    if (rc) {
        fl_error("replica", "cannot write replicated entries", "error=%s entries=%zu",
                 fl_err_name(rc), turn->n);
        for (size_t i = 0; i < turn->n; i++) {
            s_part_t *part = self->parts[turn->v[i].partition];
            part->r_in_sync = false;
            part->r_stream = 0;
        }
        return false;
    }
    self->entries_applied += turn->n;
    for (size_t i = 0; i < turn->ndirty; i++)
        self->parts[turn->dirty[i]]->dirty = false;
    return true;
}

/*  Decodes held entry E of PART into TURN; false when it is not one.  */
static bool
s_turn_take_held(s_turn_t *turn, uint32_t partition, const s_ent_t *e)
{
    Flow__Cluster__ReplicaEntry *entry =
        flow__cluster__replica_entry__unpack(NULL, e->len, e->bytes);
    if (!entry)
        return false;
    s_turn_add(turn, partition, entry);
    return true;
}

/*  Applies the held entries that follow PART's position, in order.  */
static void
s_apply_held(s_turn_t *turn, uint32_t partition, s_part_t *part)
{
    while (part->held.n) {
        const s_ent_t *e = s_log_at(&part->held, 0);
        if (e->seq <= part->r_seq) {
            s_log_pop(&part->held);
            continue;
        }
        if (e->seq != part->r_seq + 1)
            break;
        if (s_turn_take_held(turn, partition, e))
            part->r_seq = e->seq;
        s_log_pop(&part->held);
        part->dirty = true;
    }
    part->gap_ms = part->held.n ? (part->gap_ms ? part->gap_ms : zclock_mono()) : 0;
}

/*  Where this node's copy of PARTITION stands: as its primary, its own
 *  stream (its store holds every entry of it); else as a replica.  */
static void
s_fill_position(const s_part_t *part, uint32_t partition, Flow__Cluster__ReplicaPosition *pos)
{
    flow__cluster__replica_position__init(pos);
    pos->partition = partition;
    if (part && part->stream) {
        pos->stream = part->stream;
        pos->seq = part->seq;
        pos->in_sync = true;
        pos->promised = part->promised;
        return;
    }
    pos->stream = part ? part->r_stream : 0;
    pos->seq = part ? part->r_seq : 0;
    pos->in_sync = part && part->r_in_sync && !part->copying;
    pos->syncing = part && part->copying;
    pos->promised = part ? part->promised : 0;
}

/*  One entry of BATCH for this node: applied in TURN, held, or refused
 *  (POS says which).  */
static void
s_take_entry(self_t *self, s_turn_t *turn, const Flow__Cluster__ReplicaBatch *batch,
             Flow__Cluster__ReplicaEntry *entry, const uint8_t *bytes, size_t len,
             Flow__Cluster__ReplicaPosition *pos)
{
    uint32_t p = entry->partition;
    s_part_t *part = s_part(self, p);
    char why[256];
    Flow__Status st = fl_replica_check_sender(self->ring, p, batch->from, batch->epoch,
                                              part->promised, why, sizeof why);
    if (st != FLOW__STATUS__OK || entry->stream < part->r_stream) {
        s_fill_position(part, p, pos);
        pos->refused = true;
        flow__cluster__replica_entry__free_unpacked(entry, NULL);
        return;
    }
    snprintf(part->r_from, sizeof part->r_from, "%s", batch->from);
    if (entry->stream > part->r_stream || (!part->r_in_sync && !part->copying)) {
        part->r_stream = entry->stream;
        part->r_seq = 0;
        s_log_clear(&part->held);
        s_hold(part, bytes, len, entry->seq);
        s_copy_start(self, p, part, batch->from);
        flow__cluster__replica_entry__free_unpacked(entry, NULL);
    }
    else
    if (part->copying) {
        s_hold(part, bytes, len, entry->seq);
        flow__cluster__replica_entry__free_unpacked(entry, NULL);
    }
    else
    if (entry->seq == part->r_seq + 1) {
        part->r_seq = entry->seq;
        part->dirty = true;
        s_turn_add(turn, p, entry);
        s_apply_held(turn, p, part);
    }
    else {
        if (entry->seq > part->r_seq) {
            s_hold(part, bytes, len, entry->seq);
            if (!part->gap_ms)
                part->gap_ms = zclock_mono();
        }
        flow__cluster__replica_entry__free_unpacked(entry, NULL);
    }
    s_fill_position(part, p, pos);
}

/*  An answer to a relayed request: positions of the partitions it named
 *  (after TURN is durable).  */
typedef struct {
    zframe_t *identity;
    uint64_t seq;
    Flow__Status status;
    char message[256];
    uint32_t *partitions;               /* each at most once: as many as there are */
    size_t n, cap;
    int64_t lease_sent_ms;              /* a lease ping's answer */
    bool not_yet;                       /* a take-over question asked too early */
} s_answer_t;

static void
s_answer_send(self_t *self, s_answer_t *a)
{
    Flow__Cluster__ReplicaPosition *store = calloc(a->n + 1, sizeof *store);
    Flow__Cluster__ReplicaPosition **list = calloc(a->n + 1, sizeof *list);
    assert(store && list);
    Flow__Cluster__ReplicaPositions positions = FLOW__CLUSTER__REPLICA_POSITIONS__INIT;
    positions.positions = list;
    positions.lease_sent_ms = a->lease_sent_ms;
    for (size_t i = 0; i < a->n; i++) {
        uint32_t p = a->partitions[i] & 0x7FFFFFFF;
        s_fill_position(self->parts[p], p, &store[i]);
        store[i].refused = (a->partitions[i] & 0x80000000u) != 0;
        if (a->not_yet)
            store[i].in_sync = false;
        list[positions.n_positions++] = &store[i];
    }
    Flow__Cluster__ReplicaReply reply = FLOW__CLUSTER__REPLICA_REPLY__INIT;
    reply.seq = a->seq;
    reply.status = a->status;
    reply.message = a->message;
    if (a->status == FLOW__STATUS__OK)
        reply.positions = &positions;
    fl_envelope_answer(self->service, &a->identity, &reply.base);
    free(store);
    free(list);
    free(a->partitions);
}

static void
s_answer_add(s_answer_t *a, uint32_t partition, bool refused)
{
    for (size_t i = 0; i < a->n; i++)
        if ((a->partitions[i] & 0x7FFFFFFF) == partition) {
            if (refused)
                a->partitions[i] |= 0x80000000u;
            return;
        }
    if (a->n < a->cap)
        a->partitions[a->n++] = partition | (refused ? 0x80000000u : 0);
}

static void
s_on_batch(self_t *self, s_turn_t *turn, const ProtobufCBinaryData *body, s_answer_t *a)
{
    Flow__Cluster__ReplicaBatch *batch =
        flow__cluster__replica_batch__unpack(NULL, body->len, body->data);
    if (!batch || strlen(batch->from) >= FL_NODE_ID_MAX) {
        a->status = FLOW__STATUS__INVALID_ARGUMENT;
        snprintf(a->message, sizeof a->message, "replicate: not a ReplicaBatch");
        if (batch)
            flow__cluster__replica_batch__free_unpacked(batch, NULL);
        return;
    }
    for (size_t i = 0; i < batch->n_entries; i++) {
        const ProtobufCBinaryData *bytes = &batch->entries[i];
        Flow__Cluster__ReplicaEntry *entry =
            flow__cluster__replica_entry__unpack(NULL, bytes->len, bytes->data);
        char why[256];
        if (!entry || fl_replica_check_entry(entry, self->partitions, self->dbs, self->ndbs,
                                             why, sizeof why) != FLOW__STATUS__OK) {
            fl_warn("replica", "an entry refused", "from=%s reason=\"%s\"", batch->from,
                    entry ? why : "not a ReplicaEntry");
            if (entry)
                flow__cluster__replica_entry__free_unpacked(entry, NULL);
            continue;
        }
        uint32_t p = entry->partition;
        Flow__Cluster__ReplicaPosition pos;
        s_take_entry(self, turn, batch, entry, bytes->data, bytes->len, &pos);
        s_answer_add(a, p, pos.refused);
    }
    flow__cluster__replica_batch__free_unpacked(batch, NULL);
}

/*  A new primary asks where this node's copies stand; this node promises
 *  to refuse older primaries of them (recorded before it answers).  */
static void
s_on_query(self_t *self, const ProtobufCBinaryData *body, s_answer_t *a)
{
    Flow__Cluster__ReplicaQuery *q =
        flow__cluster__replica_query__unpack(NULL, body->len, body->data);
    if (!q || strlen(q->from) >= FL_NODE_ID_MAX) {
        a->status = FLOW__STATUS__INVALID_ARGUMENT;
        snprintf(a->message, sizeof a->message, "replica_query: not a ReplicaQuery");
        if (q)
            flow__cluster__replica_query__free_unpacked(q, NULL);
        return;
    }
    int64_t now = zclock_mono();
    if (q->lease) {
        /*  Refused: the partitions this node promised a newer primary,
         *  and, when FROM's ring is older than this node's, those this
         *  node's ring gives another owner (FROM may not have read it).  */
        a->lease_sent_ms = q->sent_ms ? q->sent_ms : 1;
        s_grant(self, q->from, now);
        bool stale = q->epoch < fl_ring_epoch(self->ring);
        for (uint32_t p = 0; p < self->partitions; p++) {
            const s_part_t *part = self->parts[p];
            if ((part && part->promised > q->epoch)
                || (stale && !streq(fl_ring_owner(self->ring, p), q->from)))
                a->partitions[a->n++] = p | 0x80000000u;    /* each once, in order */
        }
        flow__cluster__replica_query__free_unpacked(q, NULL);
        return;
    }
    a->not_yet = !s_may_take_over(self, q->from, q->epoch, now);
    for (size_t i = 0; i < q->n_partitions; i++) {
        uint32_t p = q->partitions[i];
        if (p >= self->partitions)
            continue;
        s_part_t *part = s_part(self, p);
        if (q->epoch > part->promised) {
            part->promised = q->epoch;
            part->dirty = true;
        }
        /*  Still ordering it with an older ring: not any more.  */
        if (part->stream && q->epoch > fl_ring_epoch(self->ring))
            part->stale = true;
        s_answer_add(a, p, false);
    }
    flow__cluster__replica_query__free_unpacked(q, NULL);
}

static void s_status(self_t *self, Flow__Cluster__ReplicaStatus *st,
                     Flow__Cluster__ReplicaLag *lags, Flow__Cluster__ReplicaLag **list);

/*  What the peer thread relayed this turn: entries applied together in
 *  one write, then every request answered.  */
static void
s_on_service(self_t *self)
{
    s_answer_t answers[REQUESTS_PER_TURN];
    size_t nanswers = 0;
    s_turn_t turn = { .self = self };
    while (nanswers < REQUESTS_PER_TURN && (zsock_events(self->service) & ZMQ_POLLIN)) {
        zframe_t *identity = NULL;
        Flow__Cluster__ReplicaRequest *req = (Flow__Cluster__ReplicaRequest *) fl_envelope_take(
            self->service, &flow__cluster__replica_request__descriptor, &identity);
        if (!identity) {
            if (req)
                flow__cluster__replica_request__free_unpacked(req, NULL);
            continue;
        }
        if (req && req->body_case == FLOW__CLUSTER__REPLICA_REQUEST__BODY_STATUS) {
            Flow__Cluster__ReplicaStatus st = FLOW__CLUSTER__REPLICA_STATUS__INIT;
            Flow__Cluster__ReplicaLag lags[LINKS_MAX], *list[LINKS_MAX];
            s_status(self, &st, lags, list);
            Flow__Cluster__ReplicaReply reply = FLOW__CLUSTER__REPLICA_REPLY__INIT;
            reply.seq = req->seq;
            reply.status = FLOW__STATUS__OK;
            reply.replication = &st;
            fl_envelope_answer(self->service, &identity, &reply.base);
            flow__cluster__replica_request__free_unpacked(req, NULL);
            continue;
        }
        s_answer_t *a = &answers[nanswers++];
        *a = (s_answer_t) { .identity = identity, .status = FLOW__STATUS__OK };
        a->cap = self->partitions;
        a->partitions = calloc(a->cap, sizeof *a->partitions);
        assert(a->partitions);
        if (!req) {
            a->status = FLOW__STATUS__INVALID_ARGUMENT;
            snprintf(a->message, sizeof a->message, "not a ReplicaRequest");
            continue;
        }
        a->seq = req->seq;
        if (req->body_case == FLOW__CLUSTER__REPLICA_REQUEST__BODY_BATCH)
            s_on_batch(self, &turn, &req->batch, a);
        else
        if (req->body_case == FLOW__CLUSTER__REPLICA_REQUEST__BODY_QUERY)
            s_on_query(self, &req->query, a);
        else {
            a->status = FLOW__STATUS__INVALID_ARGUMENT;
            snprintf(a->message, sizeof a->message, "body: of a kind this node does not know");
        }
        flow__cluster__replica_request__free_unpacked(req, NULL);
    }
    bool written = s_turn_commit(self, &turn);
    s_turn_release(&turn);
    for (size_t i = 0; i < nanswers; i++) {
        if (!written && answers[i].status == FLOW__STATUS__OK) {
            answers[i].status = FLOW__STATUS__UNAVAILABLE;
            snprintf(answers[i].message, sizeof answers[i].message,
                     "replicate: this node cannot write now");
        }
        s_answer_send(self, &answers[i]);
    }
}

/*  The handoff thread's answer to a copy, or to partitions ready.  */
static void
s_on_handoff(self_t *self)
{
    Flow__Cluster__HandoffReply *reply = NULL;
    zframe_t *frame = zframe_recv(self->handoff);
    if (frame)
        reply = flow__cluster__handoff_reply__unpack(NULL, zframe_size(frame),
                                                     zframe_data(frame));
    zframe_destroy(&frame);
    if (!reply)
        return;
    uint32_t p = self->partitions;
    for (uint32_t k = 0; k < self->partitions && p == self->partitions; k++)
        if (self->parts[k] && self->parts[k]->copy_seq == reply->seq)
            p = k;
    if (p == self->partitions) {
        flow__cluster__handoff_reply__free_unpacked(reply, NULL);
        return;
    }
    s_part_t *part = self->parts[p];
    part->copy_seq = 0;
    if (reply->status == FLOW__STATUS__UNAVAILABLE && strstr(reply->message, "busy")) {
        part->copy_not_before_ms = zclock_mono() + COPY_RETRY_MS;
        flow__cluster__handoff_reply__free_unpacked(reply, NULL);
        return;
    }
    bool ok = reply->status == FLOW__STATUS__OK;
    flow__cluster__handoff_reply__free_unpacked(reply, NULL);
    if (part->promo_copying) {
        part->promo_copying = false;
        part->copying = false;
        if (ok) {
            part->r_stream = part->best_stream;
            part->r_seq = part->best_seq;
            part->r_in_sync = true;
            part->promo_ready = true;
        }
        else
            part->promo_asked_ms = 0;   /* ask again */
        part->dirty = true;
        return;
    }
    part->copying = false;
    part->dirty = true;
    if (!ok) {
        part->r_in_sync = false;
        s_log_clear(&part->held);
        return;
    }
    if (part->overflowed) {
        part->overflowed = false;
        s_copy_start(self, p, part, part->copy_from);
        return;
    }
    /*  The copy holds everything before the first entry held: those
     *  follow from there.  */
    s_turn_t turn = { .self = self };
    const s_ent_t *first = part->held.n ? s_log_at(&part->held, 0) : NULL;
    part->r_seq = first ? first->seq - 1 : 0;
    part->r_in_sync = true;
    s_apply_held(&turn, p, part);
    if (part->held.n) {
        /*  A gap among them: copied again from the rest.  */
        part->r_in_sync = false;
        while (part->held.n && s_log_at(&part->held, 0)->seq <= part->r_seq)
            s_log_pop(&part->held);
        s_copy_start(self, p, part, part->copy_from);
    }
    s_turn_commit(self, &turn);
    s_turn_release(&turn);
    fl_debug("replica", "a partition's copy is in step", "partition=%u seq=%" PRIu64, p,
             part->r_seq);
}

/*  In step but missing an entry for too long: copied again.  */
static void
s_fill_gaps(self_t *self, int64_t now)
{
    for (uint32_t p = 0; p < self->partitions; p++) {
        s_part_t *part = self->parts[p];
        if (!part)
            continue;
        if (part->copying && !part->copy_seq && now >= part->copy_not_before_ms)
            s_copy_ask(self, p, part);
        if (part->r_in_sync && !part->copying && part->gap_ms && now - part->gap_ms > GAP_COPY_MS
            && fl_ring_is_replica(self->ring, p)) {
            fl_info("replica", "entries missing; copying the partition again", "partition=%u "
                    "seq=%" PRIu64, p, part->r_seq);
            s_copy_start(self, p, part, fl_ring_owner(self->ring, p));
        }
    }
}

/*  ------------------------------------------------------------------
 *  Taking over from a primary that went down  */

static void
s_promote_start(self_t *self, uint32_t partition, s_part_t *part)
{
    part->promoting = true;
    part->promo_copying = false;
    part->promo_ready = false;
    part->promo_epoch = fl_ring_epoch(self->ring);
    part->promo_asked_ms = 0;
    part->nanswered = 0;
    part->best[0] = '\0';
    bool mine = part->r_in_sync && !part->copying;
    part->best_stream = mine ? part->r_stream : 0;
    part->best_seq = mine ? part->r_seq : 0;
    /*  What it copied for the primary before is given up: it gathers from
     *  the copies now.  */
    part->copying = false;
    s_log_clear(&part->held);
    if (part->promised < part->promo_epoch) {
        part->promised = part->promo_epoch;
        part->dirty = true;
    }
    fl_debug("replica", "taking over a partition", "partition=%u epoch=%" PRIu64, partition,
            part->promo_epoch);
}

/*  Asks the copies of the partitions being taken over where they stand;
 *  moves on those that have answered enough.  */
static void
s_promote_tick(self_t *self, int64_t now)
{
    uint32_t *ready = calloc(self->partitions, sizeof *ready);
    assert(ready);
    size_t nready = 0;
    typedef struct { const char *id; uint32_t *partitions; size_t n; } s_ask_t;
    s_ask_t asks[LINKS_MAX];
    size_t nasks = 0;
    for (uint32_t p = 0; p < self->partitions; p++) {
        s_part_t *part = self->parts[p];
        if (!part || !part->promoting || part->promo_copying)
            continue;
        if (part->promo_ready) {
            ready[nready++] = p;
            continue;
        }
        const char *ids[FL_RING_REPLICAS_MAX];
        size_t n = fl_ring_replicas(self->ring, p, ids, FL_RING_REPLICAS_MAX);
        if (1 + part->nanswered >= fl_replica_majority(1 + n)
            && s_may_take_over(self, s_me(self), part->promo_epoch, now)) {
            if (part->best[0]) {
                fl_info("replica", "another copy holds more: copying it before serving",
                        "partition=%u from=%s", p, part->best);
                part->promo_copying = true;
                part->copying = true;
                snprintf(part->copy_from, sizeof part->copy_from, "%s", part->best);
                part->copy_seq = 0;
                part->copy_not_before_ms = 0;
                s_copy_ask(self, p, part);
            }
            else {
                if (!part->best_stream)
                    fl_warn("replica", "no copy of the partition was in step; serving what "
                            "this node holds", "partition=%u", p);
                ready[nready++] = p;
            }
            continue;
        }
        if (now - part->promo_warned_ms > WARN_EVERY_MS && part->promo_asked_ms) {
            fl_warn("replica", "too few copies answer to take the partition over; waiting",
                    "partition=%u answered=%zu copies=%zu", p, part->nanswered + 1, n + 1);
            part->promo_warned_ms = now;
        }
        if (now - part->promo_asked_ms < QUERY_RETRY_MS)
            continue;
        part->promo_asked_ms = now;
        for (size_t i = 0; i < n; i++) {
            size_t k = 0;
            while (k < nasks && !streq(asks[k].id, ids[i]))
                k++;
            if (k == nasks && nasks < LINKS_MAX) {
                asks[nasks++] = (s_ask_t) { ids[i], calloc(self->partitions, 4), 0 };
                assert(asks[k].partitions);
            }
            if (k < nasks)
                asks[k].partitions[asks[k].n++] = p;
        }
    }
    for (size_t k = 0; k < nasks; k++) {
        s_link_t *link = s_link(self, asks[k].id);
        Flow__Cluster__ReplicaQuery q = FLOW__CLUSTER__REPLICA_QUERY__INIT;
        q.from = (char *) s_me(self);
        q.epoch = fl_ring_epoch(self->ring);
        q.partitions = asks[k].partitions;
        q.n_partitions = asks[k].n;
        if (link)
            s_send_peer(self, link, FLOW__CLUSTER__PEER_REQUEST__BODY_REPLICA_QUERY, &q.base);
        free(asks[k].partitions);
    }
    if (nready) {
        Flow__Cluster__ReplicaReady r = FLOW__CLUSTER__REPLICA_READY__INIT;
        r.partitions = ready;
        r.n_partitions = nready;
        Flow__Cluster__HandoffRequest req = FLOW__CLUSTER__HANDOFF_REQUEST__INIT;
        req.seq = ++self->next_seq;
        req.body_case = FLOW__CLUSTER__HANDOFF_REQUEST__BODY_READY;
        req.ready = &r;
        zframe_t *frame = fl_envelope_pack(&req.base);
        if (frame && zframe_send(&frame, self->handoff, ZFRAME_DONTWAIT) != 0)
            zframe_destroy(&frame);
    }
    free(ready);
}

/*  ------------------------------------------------------------------
 *  The ring  */

/*  Compares the ring of now with what this thread does per partition.  */
static void
s_ring_changed(self_t *self)
{
    for (uint32_t p = 0; p < self->partitions; p++) {
        bool primary = fl_ring_is_local(self->ring, p) && fl_ring_has_replicas(self->ring, p);
        bool promoting = fl_ring_is_promoting(self->ring, p);
        s_part_t *part = self->parts[p];
        if (!part && !primary && !promoting)
            continue;
        part = s_part(self, p);
        if (promoting && !part->promoting)
            s_promote_start(self, p, part);
        if (!promoting && part->promoting) {
            part->promoting = false;
            part->promo_copying = false;
        }
        if (primary && !part->stream)
            s_stream_start(self, p, part);
        else
        if (primary && s_copies_refresh(self, p, part))
            s_mark(self, p, part);
        else
        if (!primary && part->stream)
            s_stream_stop(self, p, part);
    }
}

/*  ------------------------------------------------------------------
 *  Status  */

static void
s_status(self_t *self, Flow__Cluster__ReplicaStatus *st, Flow__Cluster__ReplicaLag *lags,
         Flow__Cluster__ReplicaLag **list)
{
    size_t nlags = 0;
    for (uint32_t p = 0; p < self->partitions; p++) {
        const s_part_t *part = self->parts[p];
        if (!part)
            continue;
        if (fl_ring_is_replica(self->ring, p)) {
            st->replica++;
            st->syncing += part->copying;
        }
        if (!part->stream)
            continue;
        st->primary++;
        bool lagging = false;
        size_t in_step = 1;
        for (size_t i = 0; i < part->ncopies; i++) {
            const s_copy_t *c = &part->copies[i];
            bool behind = !c->in_sync || c->acked < part->seq;
            in_step += c->in_sync;
            lagging |= behind;
            if (!behind)
                continue;
            size_t k = 0;
            while (k < nlags && !streq(lags[k].node_id, c->id))
                k++;
            if (k == nlags && nlags < LINKS_MAX) {
                flow__cluster__replica_lag__init(&lags[nlags]);
                lags[nlags].node_id = (char *) c->id;
                list[nlags] = &lags[nlags];
                nlags++;
            }
            if (k < nlags) {
                lags[k].partitions++;
                lags[k].entries += part->seq - (c->acked < part->seq ? c->acked : part->seq);
            }
        }
        st->lagging += lagging;
        st->under_replicated += in_step < fl_replica_majority(1 + part->ncopies)
                                || in_step < 1 + part->ncopies;
    }
    st->entries_sent = self->entries_sent;
    st->entries_applied = self->entries_applied;
    st->lags = list;
    st->n_lags = nlags;
}

/*  ------------------------------------------------------------------
 *  Life cycle  */

static void
s_tick(self_t *self, int64_t now)
{
    s_resend(self, now);
    s_lease_ping(self, now);
    s_leases_update(self);
    s_fill_gaps(self, now);
    s_promote_tick(self, now);
    if (now - self->members_ms > MEMBERS_EVERY_MS)
        s_read_members(self);
    /*  Records of positions changed outside a write (promises, copies). */
    s_turn_t turn = { .self = self };
    s_turn_commit(self, &turn);
    s_turn_release(&turn);
}

static int
s_open(self_t *self)
{
    self->node = self->args->node;
    self->partitions = (uint32_t) self->node->config->partitions;
    self->parts = calloc(self->partitions, sizeof *self->parts);
    self->lease_hold_ms = (int64_t) self->node->config->down_after_ms / 2;
    self->lease_valid_ms = self->lease_hold_ms * 3 / 4;
    self->waits = zlistx_new();
    self->actors = zsock_new(ZMQ_ROUTER);
    self->service = zsock_new(ZMQ_ROUTER);
    self->handoff = zsock_new(ZMQ_DEALER);
    if (!self->parts || !self->waits || !self->actors || !self->service || !self->handoff)
        return FL_E_NOMEM;
    zsock_set_sndhwm(self->actors, 0);
    zsock_set_rcvhwm(self->actors, 0);
    if (zsock_bind(self->actors, "%s", FL_REPLICA_ENDPOINT) != 0
        || zsock_bind(self->service, "%s", FL_REPLICA_PEER_ENDPOINT) != 0
        || zsock_connect(self->handoff, "%s", FL_HANDOFF_ENDPOINT) != 0)
        return FL_E_IO;
    int rc = fl_store_dbi(self->node->store, "meta", &self->meta_db);
    if (rc)
        return rc;
    self->ndbs = fl_store_partitioned(self->node->store, self->dbs, self->dbis, DBS_MAX);
    s_incarnation_t inc = { self, 0 };
    if ((rc = fl_store_write(self->node->store, s_incarnation_apply, &inc)) != 0)
        return rc;
    self->incarnation = inc.count;
    if ((rc = s_load_positions(self)) != 0)
        return rc;
    self->poller = zpoller_new(self->pipe, self->actors, self->service, self->handoff, NULL);
    return self->poller ? 0 : FL_E_NOMEM;
}

static void
s_close(self_t *self)
{
    for (s_wait_t *w = self->waits ? zlistx_first(self->waits) : NULL; w;
         w = zlistx_next(self->waits)) {
        s_answer_wait(self, w, false);
        free(w);
    }
    zlistx_destroy(&self->waits);
    zpoller_destroy(&self->poller);
    for (size_t i = 0; i < self->nlinks; i++) {
        zsock_destroy(&self->links[i].sock);
        free(self->links[i].out);
    }
    for (uint32_t p = 0; self->parts && p < self->partitions; p++)
        if (self->parts[p]) {
            s_log_free(&self->parts[p]->log);
            s_log_free(&self->parts[p]->held);
            free(self->parts[p]);
        }
    free(self->parts);
    if (self->members)
        flow__cluster__cluster_meta__free_unpacked(self->members, NULL);
    zsock_destroy(&self->actors);
    zsock_destroy(&self->service);
    zsock_destroy(&self->handoff);
    zsock_destroy(&self->meta);
}

static void
s_replica_task(zsock_t *pipe, void *arg)
{
    self_t self = { .args = arg, .pipe = pipe };
    zsock_signal(pipe, 0);
    int rc = s_open(&self);
    zsock_signal(pipe, rc ? 1 : 0);
    if (rc) {
        fl_error("replica", "replication cannot start", "error=%s", fl_err_name(rc));
        s_close(&self);
        return;
    }
    fl_debug("replica", "replication started", "incarnation=%" PRIu64, self.incarnation);
    self.ring = fl_node_ring(self.node);
    s_ring_changed(&self);
    while (!self.terminated) {
        void *which = zpoller_wait(self.poller, TICK_MS);
        const fl_ring_t *ring = fl_node_ring(self.node);
        if (ring != self.ring) {
            self.ring = ring;
            s_ring_changed(&self);
        }
        if (which == pipe) {
            char *command = zstr_recv(pipe);
            if (!command || streq(command, "$TERM"))
                self.terminated = true;
            zstr_free(&command);
        }
        else
        if (!which && zpoller_terminated(self.poller))
            break;
        while (zsock_events(self.actors) & ZMQ_POLLIN)
            s_on_actor(&self);
        for (size_t i = 0; i < self.nlinks; i++)
            while (self.links[i].sock && (zsock_events(self.links[i].sock) & ZMQ_POLLIN))
                s_on_link(&self, &self.links[i]);
        if (zsock_events(self.service) & ZMQ_POLLIN)
            s_on_service(&self);
        while (zsock_events(self.handoff) & ZMQ_POLLIN)
            s_on_handoff(&self);
        int64_t now = zclock_mono();
        if (now - self.tick_ms >= TICK_MS) {
            self.tick_ms = now;
            s_tick(&self, now);
        }
        s_check_waits(&self);
        s_flush(&self);
    }
    s_close(&self);
}

zactor_t *
fl_replica_new(fl_replica_args_t *args)
{
    return fl_actor_start(s_replica_task, args);
}
