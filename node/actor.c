/*  node/actor.c — the data actors' loop, group commit and deferred work;
 *  see actor.h.
 *
 *  An item is one request in the actor's hands.  It is answered in the
 *  batch that received it, unless its handler deferred slow work: then
 *  the item waits in `deferred` (keeping its identity, request and call)
 *  until the worker reports on the jobs socket, and is answered from the
 *  batch that runs its resume handler.  Nothing else crosses threads: the
 *  job's argument belongs to the worker from submission until it sends
 *  the completion message, and to the actor again from receipt.
 *
 *  Actors talk to one another through `links`, one DEALER per actor type
 *  this one tells or asks.  A told request (fl_call_tell) is sent after
 *  its batch committed, under its outbox number with TELL_BIT set, and
 *  deleted from the outbox once answered; housekeeping sends again what
 *  went unanswered.  An asking item (fl_call_ask) waits in `asks` under
 *  the number its request was sent with, and joins a batch again, like a
 *  finished job, when the answer comes or its deadline passes.
 *
 *  Replication: a batch that writes to partitions with replicas records
 *  what it changes (storage/changes.h) and, once committed, is handed to
 *  the replication thread (cluster/replica.h) with those records; its
 *  items wait in `replicating` (nothing of them is sent, told or
 *  answered) until the thread says the batch is on a majority of each
 *  partition's copies, and the loop goes on with the next batch
 *  meanwhile.  A batch the thread cannot make durable is answered
 *  UNAVAILABLE for its writes: committed here, but not known to survive
 *  this node, so the client retries it (with its request key).
 */
#include "node/actor.h"
#include "cluster.pb-c.h"
#include "node/applied.h"
#include "node/envelope.h"
#include "node/error.h"
#include "node/log.h"
#include "node/outbox.h"
#include "cluster/replica.h"
#include "storage/changes.h"
#include "storage/keyspace.h"

#include <inttypes.h>

#define TERM_WAIT_MS 60000
#define ASK_TERM_WAIT_MS 1000
#define HOUSEKEEPING_MS 250
#define RESEND_US (2 * 1000000LL)
#define TELL_DEADLINE_US (10 * 1000000LL)
#define TELL_BIT (1ULL << 63)
#define DUE_MAX 1024
#define REPLICATION_TERM_WAIT_MS 3000

typedef struct {
    zframe_t *identity;
    Flow__Cluster__ActorRequest *in;   /* NULL: undecodable, answered INTERNAL */
    const fl_request_def_t *def;
    bool answered;                     /* refused before its handler ran */
    bool reroute;                      /* refused: its partition is not served here */
    uint64_t seq;
    uint64_t job;                      /* id of its deferred work, 0 if none */
    uint64_t ask;                      /* seq of its question, 0 if none */
    Flow__ServerMessage *answer;       /* owns call.answer */
    fl_call_t call;
} s_item_t;

#define PEERS_MAX 8
#define PEER_HWM 100000

typedef struct {
    const fl_actor_args_t *args;
    const char *name;
    zsock_t *pipe;
    const char *peer_endpoint[PEERS_MAX];   /* PUSH sockets for after-commit messages */
    zsock_t *peer[PEERS_MAX];
    zsock_t *inbox;
    zsock_t *jobs;                     /* PULL: completions from workers */
    char jobs_endpoint[128];
    s_item_t **batch;
    size_t nbatch;
    zhashx_t *deferred;                /* job id -> s_item_t */
    uint64_t next_job;
    zsock_t *link[FL_ACTOR_COUNT + 1]; /* DEALER per actor type told or asked; [0]: to the
                                          session, for partitions of other nodes */
    zpoller_t *poller;
    fl_outbox_t *outbox;
    zhashx_t *asks;                    /* ask seq -> s_item_t */
    uint64_t next_ask;
    int64_t housekeeping_ms;           /* next run, zclock_mono */
    fl_changes_t *changes;             /* what this batch writes, when it is replicated */
    bool capturing;
    zsock_t *replica;                  /* DEALER to the replication thread */
    zhashx_t *replicating;             /* batch id -> s_held_t, waiting for replicas */
    uint64_t next_batch;
    bool terminated;
} self_t;

/*  A committed batch whose items wait for its replicas.  */
typedef struct {
    s_item_t **items;
    size_t n;
} s_held_t;

/*  What a worker runs: the handler's work, then a completion message.  */
typedef struct {
    uint64_t job;
    const char *endpoint;
    fl_work_fn *work;
    void *arg;
} s_job_t;

const char *
fl_actor_endpoint(Flow__Actor type)
{
    static const char *const endpoints[] = {
        "inproc://flow.actor.none", "inproc://flow.actor.session",
        "inproc://flow.actor.user", "inproc://flow.actor.event",
        "inproc://flow.actor.geo", "inproc://flow.actor.recommend",
        "inproc://flow.actor.notify",
    };
    if (type < FLOW__ACTOR__ACTOR_SESSION || type > FLOW__ACTOR__ACTOR_NOTIFY)
        return endpoints[0];
    return endpoints[type];
}

static const fl_request_def_t *
s_find(self_t *self, Flow__Request__BodyCase body)
{
    if (!self->args->requests)
        return fl_requests_find(body);
    for (size_t i = 0; i < self->args->nrequests; i++)
        if (self->args->requests[i].body == body)
            return &self->args->requests[i];
    return NULL;
}

static void
s_item_destroy(s_item_t **item_p)
{
    s_item_t *item = *item_p;
    if (!item)
        return;
    fl_call_release(&item->call);
    free(item->call.work_arg);
    if (item->answer)
        flow__server_message__free_unpacked(item->answer, NULL);
    zframe_destroy(&item->identity);
    if (item->in)
        flow__cluster__actor_request__free_unpacked(item->in, NULL);
    free(item);
    *item_p = NULL;
}

static s_item_t *
s_receive(self_t *self)
{
    zmsg_t *msg = zmsg_recv(self->inbox);
    if (!msg)
        return NULL;
    s_item_t *item = calloc(1, sizeof *item);
    assert(item);
    item->identity = zmsg_pop(msg);
    zframe_t *body = zmsg_pop(msg);
    zmsg_destroy(&msg);
    if (!item->identity) {
        zframe_destroy(&body);
        free(item);
        return NULL;
    }
    if (body) {
        item->in = flow__cluster__actor_request__unpack(NULL, zframe_size(body),
                                                        zframe_data(body));
        zframe_destroy(&body);
    }
    const Flow__Request *req = item->in ? item->in->request : NULL;
    fl_call_init(&item->call, self->args->node, req, self->args->type,
                 item->in ? item->in->partition : 0);
    item->call.outbox = self->outbox;
    if (!req) {
        fl_call_fail(&item->call, FLOW__STATUS__INTERNAL, "actor %s got an undecodable message",
                     self->name);
        fl_error(self->name, "undecodable actor request", NULL);
        if (item->in)
            flow__cluster__actor_request__free_unpacked(item->in, NULL);
        item->in = NULL;
        item->answered = true;
        return item;
    }
    item->seq = item->in->seq;
    item->call.principal = item->in->principal;
    size_t klen = item->in->route_key.len < sizeof item->call.route_key
                ? item->in->route_key.len : sizeof item->call.route_key - 1;
    if (klen)
        memcpy(item->call.route_key, item->in->route_key.data, klen);
    item->call.route_key[klen] = '\0';
    item->def = s_find(self, req->body_case);
    if (!item->def) {
        fl_call_fail(&item->call, FLOW__STATUS__INVALID_ARGUMENT,
                     "actor %s has no handler for this request", self->name);
        item->answered = true;
    }
    else
    if (zclock_usecs() > item->in->deadline_us) {
        fl_call_fail(&item->call, FLOW__STATUS__DEADLINE_EXCEEDED,
                     "deadline passed before actor %s could handle the request", self->name);
        item->answered = true;
    }
    return item;
}

/*  A finished job: its item joins the batch to run its resume handler.  */
static s_item_t *
s_receive_job(self_t *self)
{
    zframe_t *frame = zframe_recv(self->jobs);
    if (!frame)
        return NULL;
    uint64_t job = 0;
    if (zframe_size(frame) == sizeof job)
        memcpy(&job, zframe_data(frame), sizeof job);
    zframe_destroy(&frame);
    s_item_t *item = zhashx_lookup(self->deferred, (void *) (uintptr_t) job);
    if (!item)
        return NULL;
    zhashx_delete(self->deferred, (void *) (uintptr_t) job);
    item->job = 0;
    item->call.resumed = true;
    item->call.work = NULL;
    return item;
}

static bool
s_runnable(const s_item_t *item)
{
    return !item->answered;
}

static fl_handler_fn *
s_handler(const s_item_t *item)
{
    return item->call.resumed ? item->def->resume : item->def->handler;
}

static bool
s_writes(const s_item_t *item)
{
    return item->call.resumed || item->def->access == FL_ACCESS_WRITE;
}

/*  The key in "applied" of ITEM's write, when its request has a request
 *  key: into KEY (its buffer FL_KEYSPACE_KEY_MAX bytes); false when none. */
static bool
s_applied_key(const s_item_t *item, MDB_val *key)
{
    const char *request_key = item->call.request->request_key;
    if (!request_key[0])
        return false;
    int len = fl_applied_key(item->call.partition, item->call.actor,
                             item->call.principal ? item->call.principal->user_id : NULL,
                             request_key, key->mv_data, FL_KEYSPACE_KEY_MAX);
    key->mv_size = len > 0 ? (size_t) len : 0;
    return len > 0;
}

/*  Answers ITEM with the reply recorded under APPLIED, if its write was
 *  applied before: true then, and nothing runs or changes.  */
static bool
s_applied_before(s_item_t *item, MDB_txn *txn, const MDB_val *applied,
                 const uint8_t digest[32])
{
    Flow__Storage__AppliedRecord *before = NULL;
    int rc = fl_applied_get(txn, applied, digest, fl_call_allocator(&item->call), &before);
    if (rc == FL_E_NOTFOUND)
        return false;
    if (rc == FL_E_EXISTS) {
        fl_call_fail(&item->call, FLOW__STATUS__INVALID_ARGUMENT,
                     "request_key: already used for another request; a retry must send the "
                     "same request");
        return true;
    }
    if (rc) {
        /*  Running it again could apply it twice.  */
        fl_call_fail(&item->call, FLOW__STATUS__INTERNAL,
                     "request_key: the record of an earlier attempt cannot be read: %s",
                     fl_strerror(rc));
        return true;
    }
    /*  The record lives in the call's memory, as long as the reply.  */
    uint64_t id = item->call.reply.id;
    item->call.reply = *before->reply;
    item->call.reply.id = id;
    return true;
}

/*  Runs one handler in a nested transaction of PARENT, kept only when it
 *  answered OK and did not defer.  A write with a request key is run
 *  once: its reply is recorded with its writes, and a later attempt gets
 *  that reply.  */
static int
s_run_nested(self_t *self, s_item_t *item, MDB_txn *parent)
{
    size_t mark = self->capturing ? fl_changes_count(self->changes) : 0;
    uint8_t keybuf[FL_KEYSPACE_KEY_MAX];
    MDB_val applied = { 0, keybuf };
    uint8_t digest[32];
    bool keyed = s_applied_key(item, &applied);
    if (keyed)
        fl_applied_digest(item->call.request, digest);
    if (keyed && s_applied_before(item, parent, &applied, digest))
        return 0;
    MDB_txn *child = NULL;
    int rc = mdb_txn_begin(mdb_txn_env(parent), parent, 0, &child);
    if (rc)
        return rc;
    item->call.txn = child;
    rc = s_handler(item)(&item->call);
    item->call.txn = NULL;
    bool keep = item->call.reply.status == FLOW__STATUS__OK || item->call.commit_on_error;
    if (rc || !keep || item->call.work || item->call.ask_request) {
        mdb_txn_abort(child);
        if (self->capturing)
            fl_changes_truncate(self->changes, mark);
        item->call.told = NULL;
        for (size_t i = 0; i < item->call.nafter; i++)
            zframe_destroy((zframe_t **) &item->call.after_frame[i]);
        item->call.nafter = 0;
        return rc;
    }
    if (keyed && (rc = fl_applied_put(child, &applied, digest, &item->call.reply,
                                      (uint64_t) zclock_time())) != 0) {
        mdb_txn_abort(child);
        if (self->capturing)
            fl_changes_truncate(self->changes, mark);
        return rc;
    }
    return mdb_txn_commit(child);
}

/*  The batch as one write transaction: fl_store_write may call this again
 *  after growing the map, so every call starts from a clean reply.  */
static int
s_apply_batch(MDB_txn *txn, void *arg)
{
    self_t *self = arg;
    if (self->capturing)
        fl_changes_clear(self->changes);
    for (size_t i = 0; i < self->nbatch; i++) {
        s_item_t *item = self->batch[i];
        if (!s_runnable(item))
            continue;
        fl_call_release(&item->call);
        fl_call_reset(&item->call);
        int rc;
        if (s_writes(item))
            rc = s_run_nested(self, item, txn);
        else {
            item->call.txn = txn;
            rc = s_handler(item)(&item->call);
            item->call.txn = NULL;
        }
        if (rc)
            return rc;
    }
    return 0;
}

static void
s_run_reads(self_t *self)
{
    MDB_txn *txn = NULL;
    for (size_t i = 0; i < self->nbatch; i++) {
        s_item_t *item = self->batch[i];
        if (!s_runnable(item))
            continue;
        if (item->def->access == FL_ACCESS_READ && !txn) {
            int rc = fl_store_read_begin(self->args->node->store, &txn);
            if (rc) {
                fl_call_fail(&item->call, FLOW__STATUS__UNAVAILABLE, "storage: %s",
                             fl_strerror(rc));
                continue;
            }
        }
        item->call.txn = item->def->access == FL_ACCESS_READ ? txn : NULL;
        int rc = item->def->handler(&item->call);
        item->call.txn = NULL;
        if (rc)
            fl_call_fail(&item->call, FLOW__STATUS__INTERNAL, "storage: %s", fl_strerror(rc));
    }
    fl_store_read_end(self->args->node->store, &txn);
}

static bool
s_batch_writes(self_t *self)
{
    for (size_t i = 0; i < self->nbatch; i++)
        if (s_runnable(self->batch[i]) && s_writes(self->batch[i]))
            return true;
    return false;
}

static void
s_fail_batch(self_t *self, int rc)
{
    fl_error(self->name, "group commit failed", "error=%s requests=%zu",
             fl_err_name(rc), self->nbatch);
    for (size_t i = 0; i < self->nbatch; i++) {
        s_item_t *item = self->batch[i];
        if (item->answered)
            continue;
        fl_call_release(&item->call);
        fl_call_reset(&item->call);
        fl_call_fail(&item->call, FLOW__STATUS__UNAVAILABLE,
                     "storage could not commit the request: %s", fl_strerror(rc));
    }
}

static void
s_reply(self_t *self, s_item_t *item)
{
    zframe_t *frame = item->reroute
        ? fl_envelope_pack_reroute(item->seq, item->call.reply.id, item->call.reply.message)
        : fl_envelope_pack_actor_reply(item->seq, &item->call.reply, item->call.revoked,
                                       item->call.nrevoked);
    zmsg_t *msg = zmsg_new();
    zmsg_append(msg, &item->identity);
    zmsg_append(msg, &frame);
    zmsg_send(&msg, self->inbox);
}

static void
s_job_run(fl_worker_t *worker, void *arg)
{
    s_job_t *job = arg;
    job->work(job->arg);
    zmsg_t *msg = zmsg_new();
    zmsg_addmem(msg, &job->job, sizeof job->job);
    fl_worker_send(worker, job->endpoint, &msg);
    free(job);
}

/*  Hands the item's work to the pool; false when the pool refused it.  */
static bool
s_defer(self_t *self, s_item_t *item)
{
    s_job_t *job = malloc(sizeof *job);
    assert(job);
    uint64_t id = ++self->next_job;
    job->job = id;
    job->endpoint = self->jobs_endpoint;
    job->work = item->call.work;
    job->arg = item->call.work_arg;
    /*  From here the job belongs to the worker, which frees it.  */
    if (fl_workers_submit(self->args->node->workers, s_job_run, job) != 0) {
        free(job);
        return false;
    }
    item->job = id;
    zhashx_insert(self->deferred, (void *) (uintptr_t) item->job, item);
    return true;
}

static zsock_t *
s_peer(self_t *self, const char *endpoint)
{
    size_t i = 0;
    while (i < PEERS_MAX && self->peer[i] && strcmp(self->peer_endpoint[i], endpoint) != 0)
        i++;
    if (i == PEERS_MAX)
        return NULL;
    if (!self->peer[i]) {
        self->peer[i] = zsock_new(ZMQ_PUSH);
        /*  Room for bursts; past it the send waits, which slows this
         *  actor down to its peer's pace rather than losing a change.  */
        zsock_set_sndhwm(self->peer[i], PEER_HWM);
        zsock_connect(self->peer[i], "%s", endpoint);
        self->peer_endpoint[i] = endpoint;
    }
    return self->peer[i];
}

/*  Sends what committed calls told other actors, before any reply: a
 *  client that got OK and then asks another actor finds it told.  */
static void
s_send_after_commit(self_t *self, s_item_t *item)
{
    for (size_t i = 0; i < item->call.nafter; i++) {
        zsock_t *peer = s_peer(self, item->call.after_endpoint[i]);
        zframe_t **frame = (zframe_t **) &item->call.after_frame[i];
        if (!peer || zframe_send(frame, peer, 0) != 0) {
            fl_error(self->name, "cannot tell another actor of a change",
                     "endpoint=%s", item->call.after_endpoint[i]);
            zframe_destroy(frame);
        }
    }
    item->call.nafter = 0;
}

/*  ------------------------------------------------------------------
 *  Links: requests to other actors  */

/*  A DEALER to ENDPOINT with high-water marks HWM both ways (0: none),
 *  polled by the loop; NULL when it cannot be made.  The marks are set
 *  before it connects: an inproc pipe takes them when it is made, and a
 *  mark set later left answers past the default dropped.  */
static zsock_t *
s_dealer(self_t *self, const char *endpoint, int hwm)
{
    zsock_t *sock = zsock_new(ZMQ_DEALER);
    if (!sock)
        return NULL;
    zsock_set_sndhwm(sock, hwm);
    zsock_set_rcvhwm(sock, hwm);
    if (zsock_connect(sock, "%s", endpoint) != 0) {
        zsock_destroy(&sock);
        return NULL;
    }
    zpoller_add(self->poller, sock);
    return sock;
}

/*  The DEALER to ACTOR of this node, or (REMOTE) to the session, which
 *  routes to the owner on another node.  */
static zsock_t *
s_link(self_t *self, Flow__Actor actor, bool remote)
{
    if (actor < FLOW__ACTOR__ACTOR_SESSION || actor > FLOW__ACTOR__ACTOR_NOTIFY)
        return NULL;
    if (remote)
        actor = 0;
    if (!self->link[actor])
        self->link[actor] = s_dealer(self, actor ? fl_actor_endpoint(actor)
                                                 : FL_SESSION_ROUTE_ENDPOINT, PEER_HWM);
    return self->link[actor];
}

/*  Sends REQUEST to ACTOR at the owner of ROUTE_KEY under SEQ; false when
 *  it could not be sent.  */
static bool
s_link_send(self_t *self, Flow__Actor actor, const char *route_key, const Flow__Request *request,
            uint64_t seq, int64_t deadline_us)
{
    const fl_ring_t *ring = fl_node_ring(self->args->node);
    uint32_t partition = fl_ring_partition(ring, route_key, strlen(route_key));
    zsock_t *link = s_link(self, actor, !fl_ring_is_local(ring, partition));
    if (!link)
        return false;
    Flow__Cluster__ActorRequest out = FLOW__CLUSTER__ACTOR_REQUEST__INIT;
    out.seq = seq;
    out.actor = actor;
    out.partition = partition;
    out.ring_epoch = fl_ring_epoch(ring);
    out.deadline_us = deadline_us;
    out.request = (Flow__Request *) request;
    out.route_key.data = (uint8_t *) route_key;
    out.route_key.len = strlen(route_key);
    zframe_t *frame = zframe_new(NULL, flow__cluster__actor_request__get_packed_size(&out));
    flow__cluster__actor_request__pack(&out, zframe_data(frame));
    return zframe_send(&frame, link, ZFRAME_DONTWAIT) == 0 || (zframe_destroy(&frame), false);
}

static void
s_send_told(self_t *self, s_item_t *item)
{
    int64_t now = zclock_usecs();
    for (fl_call_told_t *t = item->call.told; t; t = t->next) {
        fl_outbox_sent(self->outbox, t->seq, item->call.partition, now);
        if (!s_link_send(self, t->actor, t->route_key, t->request, t->seq | TELL_BIT,
                         now + TELL_DEADLINE_US))
            fl_warn(self->name, "cannot send a told request yet; it stays in the outbox",
                    "seq=%" PRIu64, t->seq);
    }
    item->call.told = NULL;
}

/*  Sends the item's question; false when it could not be sent.  */
static bool
s_ask(self_t *self, s_item_t *item)
{
    uint64_t seq = ++self->next_ask;
    if (!s_link_send(self, item->call.ask_actor, item->call.ask_key, item->call.ask_request,
                     seq, item->in->deadline_us))
        return false;
    item->ask = seq;
    zhashx_insert(self->asks, (void *) (uintptr_t) seq, item);
    return true;
}

/*  The asking item resumes with ANSWER (may be NULL: none came).  */
static s_item_t *
s_answered(self_t *self, uint64_t seq, Flow__ServerMessage *answer)
{
    s_item_t *item = zhashx_lookup(self->asks, (void *) (uintptr_t) seq);
    if (!item) {
        if (answer)
            flow__server_message__free_unpacked(answer, NULL);
        return NULL;
    }
    zhashx_delete(self->asks, (void *) (uintptr_t) seq);
    item->ask = 0;
    item->answer = answer;
    item->call.answer = answer && answer->kind_case == FLOW__SERVER_MESSAGE__KIND_REPLY
                      ? answer->reply : NULL;
    item->call.resumed = true;
    item->call.ask_request = NULL;
    return item;
}

/*  A told request is done when answered OK, and also when refused for
 *  good (a bug to log, not a reason to send it forever).  */
static void
s_tell_answered(self_t *self, uint64_t seq, Flow__Status status, const char *message)
{
    if (status == FLOW__STATUS__UNAVAILABLE || status == FLOW__STATUS__DEADLINE_EXCEEDED
        || status == FLOW__STATUS__RESOURCE_EXHAUSTED)
        return;
    if (status != FLOW__STATUS__OK)
        fl_error(self->name, "a told request was refused; it is dropped",
                 "seq=%" PRIu64 " status=%d message=\"%s\"", seq, (int) status,
                 message ? message : "");
    fl_outbox_done(self->outbox, seq);
}

/*  One answer on LINK: an asking item ready to resume, or NULL.  */
static s_item_t *
s_receive_link(self_t *self, zsock_t *link)
{
    zframe_t *frame = zframe_recv(link);
    if (!frame)
        return NULL;
    Flow__Cluster__ActorReply *reply =
        flow__cluster__actor_reply__unpack(NULL, zframe_size(frame), zframe_data(frame));
    zframe_destroy(&frame);
    if (!reply) {
        fl_error(self->name, "undecodable answer from another actor", NULL);
        return NULL;
    }
    s_item_t *item = NULL;
    if (reply->seq & TELL_BIT) {
        Flow__ServerMessage *sm = flow__server_message__unpack(NULL, reply->server_message.len,
                                                               reply->server_message.data);
        const char *message = sm && sm->kind_case == FLOW__SERVER_MESSAGE__KIND_REPLY
                            ? sm->reply->message : NULL;
        s_tell_answered(self, reply->seq & ~TELL_BIT, reply->status, message);
        if (sm)
            flow__server_message__free_unpacked(sm, NULL);
    }
    else
        item = s_answered(self, reply->seq,
                          flow__server_message__unpack(NULL, reply->server_message.len,
                                                       reply->server_message.data));
    flow__cluster__actor_reply__free_unpacked(reply, NULL);
    return item;
}

/*  Sends again what the outbox holds unanswered.  */
static void
s_resend_due(self_t *self)
{
    uint64_t due[DUE_MAX];
    int64_t now = zclock_usecs();
    size_t n = fl_outbox_due(self->outbox, now, RESEND_US, due, DUE_MAX);
    if (n == 0)
        return;
    MDB_txn *txn = NULL;
    if (fl_store_read_begin(self->args->node->store, &txn) != 0)
        return;
    for (size_t i = 0; i < n; i++) {
        Flow__Storage__OutboxRecord *rec = NULL;
        int rc = fl_outbox_read(self->outbox, txn, due[i], NULL, &rec);
        if (rc == FL_E_NOTFOUND)
            continue;
        if (rc) {
            fl_error(self->name, "unreadable outbox record; it is dropped",
                     "seq=%" PRIu64 " error=%s", due[i], fl_err_name(rc));
            fl_outbox_done(self->outbox, due[i]);
            continue;
        }
        char key[256];
        size_t klen = rec->route_key.len < sizeof key ? rec->route_key.len : sizeof key - 1;
        memcpy(key, rec->route_key.data, klen);
        key[klen] = '\0';
        fl_outbox_sent(self->outbox, due[i], 0, now);
        s_link_send(self, rec->actor, key, rec->request, due[i] | TELL_BIT,
                    now + TELL_DEADLINE_US);
        flow__storage__outbox_record__free_unpacked(rec, NULL);
    }
    fl_store_read_end(self->args->node->store, &txn);
}

/*  Counts the ITEMS (N) of a batch before replying, so a client that
 *  holds a reply also sees it counted; defers the work handlers asked
 *  for.  */
static void
s_finish_items(self_t *self, s_item_t **items, size_t n)
{
    size_t answered = 0;
    for (size_t i = 0; i < n; i++) {
        s_item_t *item = items[i];
        bool ok = item->call.reply.status == FLOW__STATUS__OK;
        if (item->call.work && ok && s_defer(self, item))
            continue;
        if (item->call.ask_request && ok && s_ask(self, item))
            continue;
        if (item->call.work) {
            fl_call_release(&item->call);
            fl_call_reset(&item->call);
            item->call.reply.status = FLOW__STATUS__RESOURCE_EXHAUSTED;
            item->call.reply.message = "the node is busy with slow work; retry shortly";
            item->call.reply.retry_after_ms = 1000;
        }
        else
        if (item->call.ask_request && ok) {
            fl_call_release(&item->call);
            fl_call_reset(&item->call);
            fl_call_fail(&item->call, FLOW__STATUS__UNAVAILABLE,
                         "actor %s cannot reach the %s actor; retry shortly", self->name,
                         fl_actor_name(item->call.ask_actor));
        }
        answered++;
    }
    fl_metrics_actor_handled(self->args->node->metrics, self->args->type - 1, answered);
    for (size_t i = 0; i < n; i++) {
        s_send_after_commit(self, items[i]);
        s_send_told(self, items[i]);
    }
    for (size_t i = 0; i < n; i++) {
        s_item_t *item = items[i];
        if (item->job || item->ask)
            continue;
        s_reply(self, item);
        s_item_destroy(&item);
    }
}

static void
s_finish_batch(self_t *self)
{
    s_finish_items(self, self->batch, self->nbatch);
    self->nbatch = 0;
}

/*  ------------------------------------------------------------------
 *  Replication  */

/*  True for an item of a batch that wrote to a partition with replicas
 *  in RING.  */
static bool
s_replicated(const s_item_t *item, const fl_ring_t *ring)
{
    return s_runnable(item) && s_writes(item) && fl_ring_has_replicas(ring, item->call.partition);
}

static bool
s_batch_replicated(self_t *self, const fl_ring_t *ring)
{
    for (size_t i = 0; i < self->nbatch; i++)
        if (s_replicated(self->batch[i], ring))
            return true;
    return false;
}

/*  The writes of ITEMS (N) are not known to be on a majority of their
 *  partitions' copies.  */
static void
s_fail_unreplicated(s_item_t **items, size_t n, const fl_ring_t *ring)
{
    for (size_t i = 0; i < n; i++) {
        s_item_t *item = items[i];
        if (!s_replicated(item, ring) || item->call.reply.status != FLOW__STATUS__OK
            || item->call.work || item->call.ask_request)
            continue;
        fl_call_fail(&item->call, FLOW__STATUS__UNAVAILABLE,
                     "partition %u: the write is not on a majority of the partition's copies "
                     "(a copy is down, or the partition changed hands); it may have been "
                     "applied: retry with the same request_key to apply it once",
                     item->call.partition);
    }
}

/*  Hands the committed batch to the replication thread: true when its
 *  items wait for it in `replicating`.  */
static bool
s_hand_over(self_t *self, const fl_ring_t *ring)
{
    uint32_t *partitions = calloc(self->nbatch, sizeof *partitions);
    assert(partitions);
    size_t n = 0;
    int64_t deadline = INT64_MAX;
    for (size_t i = 0; i < self->nbatch; i++) {
        s_item_t *item = self->batch[i];
        if (!s_replicated(item, ring))
            continue;
        size_t k = 0;
        while (k < n && partitions[k] != item->call.partition)
            k++;
        if (k == n)
            partitions[n++] = item->call.partition;
        if (item->in->deadline_us < deadline)
            deadline = item->in->deadline_us;
    }
    if (!self->replica)
        self->replica = s_dealer(self, FL_REPLICA_ENDPOINT, 0);
    uint64_t batch = ++self->next_batch;
    bool sent = n && self->replica
                && fl_replica_submit(self->replica, batch, &self->changes, partitions, n,
                                     deadline) == 0;
    free(partitions);
    if (!sent) {
        s_fail_unreplicated(self->batch, self->nbatch, ring);
        return false;
    }
    s_held_t *held = malloc(sizeof *held);
    assert(held);
    held->items = malloc(self->nbatch * sizeof *held->items);
    assert(held->items);
    memcpy(held->items, self->batch, self->nbatch * sizeof *held->items);
    held->n = self->nbatch;
    zhashx_insert(self->replicating, (void *) (uintptr_t) batch, held);
    self->nbatch = 0;
    return true;
}

/*  The replication thread's word on a batch: its items are answered.  */
static void
s_on_replicated(self_t *self)
{
    uint64_t batch = 0;
    bool durable = false;
    if (!fl_replica_answer(self->replica, &batch, &durable))
        return;
    s_held_t *held = zhashx_lookup(self->replicating, (void *) (uintptr_t) batch);
    if (!held)
        return;
    zhashx_delete(self->replicating, (void *) (uintptr_t) batch);
    if (!durable)
        s_fail_unreplicated(held->items, held->n, fl_node_ring(self->args->node));
    s_finish_items(self, held->items, held->n);
    free(held->items);
    free(held);
}

/*  True while this node may serve PARTITION, one with replicas, as its
 *  primary: a majority of its copies renewed the lease lately.  */
static bool
s_leased(const fl_node_t *node, uint32_t partition)
{
    return partition < node->lease_partitions
           && atomic_load_explicit(&node->lease_until[partition], memory_order_acquire)
              > zclock_mono();
}

/*  Items whose partition this node does not serve now (another node's,
 *  fenced while it moves, or one with replicas whose lease ran out: a
 *  node cut off may have been replaced) are answered "reroute": the
 *  sender routes them again with a fresher ring.  Called under the ring lock, which is
 *  held until the batch committed, so a fence published after this check
 *  waits for the batch.  */
static void
s_refuse_not_local(self_t *self)
{
    const fl_ring_t *ring = fl_node_ring(self->args->node);
    for (size_t i = 0; i < self->nbatch; i++) {
        s_item_t *item = self->batch[i];
        uint32_t p = item->call.partition;
        if (!s_runnable(item) || (fl_ring_is_local(ring, p)
                                  && (!fl_ring_has_replicas(ring, p)
                                      || !self->args->node->lease_until
                                      || s_leased(self->args->node, p))))
            continue;
        fl_call_release(&item->call);
        fl_call_reset(&item->call);
        fl_call_fail(&item->call, FLOW__STATUS__UNAVAILABLE,
                     "partition %u is moving between nodes or changing its primary; retry",
                     item->call.partition);
        item->answered = true;
        item->reroute = true;
    }
}

/*  Runs the batch; true when it wrote and committed.  */
static bool
s_run_writes_or_reads(self_t *self)
{
    if (!s_batch_writes(self)) {
        s_run_reads(self);
        return false;
    }
    int rc = fl_store_write(self->args->node->store, s_apply_batch, self);
    if (rc) {
        s_fail_batch(self, rc);
        return false;
    }
    fl_metrics_actor_commit(self->args->node->metrics, self->args->type - 1);
    return true;
}

static void
s_run_batch(self_t *self)
{
    if (self->nbatch == 0)
        return;
    pthread_rwlock_t *lock = self->args->node->ring_lock;
    if (lock)
        pthread_rwlock_rdlock(lock);
    s_refuse_not_local(self);
    const fl_ring_t *ring = fl_node_ring(self->args->node);
    self->capturing = s_batch_replicated(self, ring);
    if (self->capturing && !self->changes)
        self->changes = fl_changes_new();
    assert(!self->capturing || self->changes);
    fl_changes_capture(self->capturing ? self->changes : NULL);
    bool committed = s_run_writes_or_reads(self);
    fl_changes_capture(NULL);
    if (lock)
        pthread_rwlock_unlock(lock);
    bool replicating = self->capturing && committed && s_hand_over(self, ring);
    self->capturing = false;
    if (!replicating)
        s_finish_batch(self);
}

/*  Fills a batch from finished jobs and answered questions first (their
 *  clients waited longest), then from the inbox, and runs it.  */
static void
s_handle_ready(self_t *self)
{
    size_t max = self->args->batch_max;
    while (self->replica && (zsock_events(self->replica) & ZMQ_POLLIN))
        s_on_replicated(self);
    while (self->nbatch < max && (zsock_events(self->jobs) & ZMQ_POLLIN)) {
        s_item_t *item = s_receive_job(self);
        if (item)
            self->batch[self->nbatch++] = item;
    }
    for (size_t a = 0; a <= FL_ACTOR_COUNT; a++)
        while (self->link[a] && self->nbatch < max && (zsock_events(self->link[a]) & ZMQ_POLLIN)) {
            s_item_t *item = s_receive_link(self, self->link[a]);
            if (item)
                self->batch[self->nbatch++] = item;
        }
    while (self->nbatch < max && (zsock_events(self->inbox) & ZMQ_POLLIN)) {
        s_item_t *item = s_receive(self);
        if (item)
            self->batch[self->nbatch++] = item;
    }
    s_run_batch(self);
}

/*  Questions past their deadline resume with no answer.  */
static void
s_expire_asks(self_t *self, int64_t now_us)
{
    uint64_t expired[DUE_MAX];
    size_t n = 0;
    for (s_item_t *item = zhashx_first(self->asks); item && n < DUE_MAX;
         item = zhashx_next(self->asks))
        if (item->in->deadline_us <= now_us)
            expired[n++] = item->ask;
    for (size_t i = 0; i < n; i++) {
        if (self->nbatch == self->args->batch_max)
            s_run_batch(self);
        self->batch[self->nbatch++] = s_answered(self, expired[i], NULL);
    }
    s_run_batch(self);
}

/*  Deletes answered outbox records, sends again what went unanswered,
 *  and gives up on questions past their deadline.  */
static void
s_housekeeping(self_t *self)
{
    int64_t now = zclock_mono();
    if (now < self->housekeeping_ms)
        return;
    self->housekeeping_ms = now + HOUSEKEEPING_MS;
    int rc = fl_outbox_flush(self->outbox);
    if (rc)
        fl_error(self->name, "cannot delete answered outbox records", "error=%s",
                 fl_err_name(rc));
    s_resend_due(self);
    if (zhashx_size(self->asks) > 0)
        s_expire_asks(self, zclock_usecs());
}

static void
s_handle_pipe(self_t *self)
{
    char *command = zstr_recv(self->pipe);
    if (!command || streq(command, "$TERM"))
        self->terminated = true;
    zstr_free(&command);
}

/*  On $TERM: answer what the inbox holds, and wait (bounded) for work on
 *  the pool, whose arguments this actor owns and must not free early.  */
static void
s_drain(self_t *self)
{
    s_handle_ready(self);
    int64_t deadline = zclock_mono() + TERM_WAIT_MS;
    while (zhashx_size(self->deferred) > 0 && zclock_mono() < deadline) {
        zsock_set_rcvtimeo(self->jobs, 100);
        s_item_t *item = s_receive_job(self);
        if (item) {
            self->batch[self->nbatch++] = item;
            s_run_batch(self);
        }
    }
    if (zhashx_size(self->deferred) > 0)
        fl_error(self->name, "stopped with slow work unfinished",
                 "jobs=%zu", zhashx_size(self->deferred));
    deadline = zclock_mono() + ASK_TERM_WAIT_MS;
    while (zhashx_size(self->asks) > 0 && zclock_mono() < deadline)
        if (zpoller_wait(self->poller, 100))
            s_handle_ready(self);
    s_expire_asks(self, INT64_MAX);
    deadline = zclock_mono() + REPLICATION_TERM_WAIT_MS;
    while (zhashx_size(self->replicating) > 0 && zclock_mono() < deadline)
        if (zpoller_wait(self->poller, 100))
            s_handle_ready(self);
    int rc = fl_outbox_flush(self->outbox);
    if (rc)
        fl_error(self->name, "cannot delete answered outbox records", "error=%s",
                 fl_err_name(rc));
}

static void
s_deferred_destroy(void **item)
{
    s_item_destroy((s_item_t **) item);
}

static size_t
s_seq_hash(const void *key)
{
    return (size_t) (uintptr_t) key;
}

static int
s_seq_compare(const void *a, const void *b)
{
    uintptr_t x = (uintptr_t) a, y = (uintptr_t) b;
    return x < y ? -1 : x > y;
}

zhashx_t *
fl_actor_seq_table(zhashx_destructor_fn *values)
{
    zhashx_t *table = zhashx_new();
    zhashx_set_key_hasher(table, s_seq_hash);
    zhashx_set_key_comparator(table, s_seq_compare);
    zhashx_set_key_duplicator(table, NULL);
    zhashx_set_key_destructor(table, NULL);
    if (values)
        zhashx_set_destructor(table, values);
    return table;
}

static int
s_open(self_t *self)
{
    self->batch = calloc(self->args->batch_max, sizeof *self->batch);
    self->deferred = fl_actor_seq_table(NULL);
    self->asks = fl_actor_seq_table(NULL);
    self->replicating = fl_actor_seq_table(NULL);
    snprintf(self->jobs_endpoint, sizeof self->jobs_endpoint, "%s.jobs", self->args->endpoint);
    self->inbox = zsock_new(ZMQ_ROUTER);
    self->jobs = zsock_new(ZMQ_PULL);
    if (!self->batch || !self->inbox || !self->jobs
        || zsock_bind(self->inbox, "%s", self->args->endpoint) != 0
        || zsock_bind(self->jobs, "%s", self->jobs_endpoint) != 0) {
        fl_error(self->name, "actor cannot start", "endpoint=%s", self->args->endpoint);
        return FL_E_IO;
    }
    int rc = fl_outbox_open(self->args->node->store, self->args->type, &self->outbox);
    if (rc) {
        fl_error(self->name, "cannot open the outbox", "error=%s", fl_err_name(rc));
        return rc;
    }
    self->poller = zpoller_new(self->pipe, self->inbox, self->jobs, NULL);
    return self->poller ? 0 : FL_E_NOMEM;
}

static void
s_close(self_t *self)
{
    if (self->deferred)
        zhashx_set_destructor(self->deferred, s_deferred_destroy);
    zhashx_destroy(&self->deferred);
    if (self->asks)
        zhashx_set_destructor(self->asks, s_deferred_destroy);
    zhashx_destroy(&self->asks);
    for (s_held_t *held = self->replicating ? zhashx_first(self->replicating) : NULL; held;
         held = zhashx_next(self->replicating)) {
        /*  Committed here; their replicas did not answer in time.  */
        s_fail_unreplicated(held->items, held->n, fl_node_ring(self->args->node));
        s_finish_items(self, held->items, held->n);
        free(held->items);
        free(held);
    }
    zhashx_destroy(&self->replicating);
    zsock_destroy(&self->replica);
    fl_changes_destroy(&self->changes);
    zpoller_destroy(&self->poller);
    for (size_t i = 0; i <= FL_ACTOR_COUNT; i++)
        zsock_destroy(&self->link[i]);
    fl_outbox_destroy(&self->outbox);
    for (size_t i = 0; i < PEERS_MAX; i++)
        zsock_destroy(&self->peer[i]);
    zsock_destroy(&self->inbox);
    zsock_destroy(&self->jobs);
    free(self->batch);
}

static void
s_actor_task(zsock_t *pipe, void *arg)
{
    self_t self = { .args = arg, .pipe = pipe };
    self.name = fl_actor_name(self.args->type);
    zsock_signal(pipe, 0);
    int rc = s_open(&self);
    zsock_signal(pipe, rc ? 1 : 0);
    if (rc) {
        s_close(&self);
        return;
    }
    fl_debug(self.name, "actor started", "endpoint=%s", self.args->endpoint);
    while (!self.terminated) {
        void *which = zpoller_wait(self.poller, HOUSEKEEPING_MS);
        if (which == pipe)
            s_handle_pipe(&self);
        else
        if (which)
            s_handle_ready(&self);
        else
        if (zpoller_terminated(self.poller))
            break;
        s_housekeeping(&self);
    }
    s_drain(&self);
    s_close(&self);
    fl_debug(self.name, "actor stopped", NULL);
}

zactor_t *
fl_actor_start(zactor_fn *task, void *arg)
{
    zactor_t *actor = zactor_new(task, arg);
    if (actor && zsock_wait(actor) != 0)
        zactor_destroy(&actor);
    return actor;
}

zactor_t *
fl_actor_new(const fl_actor_args_t *args)
{
    return fl_actor_start(s_actor_task, (void *) args);
}
