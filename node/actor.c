/*  node/actor.c — the data actors' loop and group commit; see actor.h.  */
#include "node/actor.h"
#include "cluster.pb-c.h"
#include "node/envelope.h"
#include "node/error.h"
#include "node/log.h"

#include <inttypes.h>

typedef struct {
    zframe_t *identity;
    Flow__Cluster__ActorRequest *in;   /* NULL: undecodable, answered INTERNAL */
    const fl_request_def_t *def;
    bool answered;                     /* refused before its handler ran */
    uint64_t seq;
    fl_call_t call;
} s_item_t;

typedef struct {
    const fl_actor_args_t *args;
    const char *name;
    zsock_t *pipe;
    zsock_t *inbox;
    s_item_t *batch;
    size_t nbatch;
    bool terminated;
} self_t;

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
s_receive(self_t *self, s_item_t *item)
{
    memset(item, 0, sizeof *item);
    zmsg_t *msg = zmsg_recv(self->inbox);
    if (!msg)
        return;
    item->identity = zmsg_pop(msg);
    zframe_t *body = zmsg_pop(msg);
    zmsg_destroy(&msg);
    if (body) {
        item->in = flow__cluster__actor_request__unpack(NULL, zframe_size(body),
                                                        zframe_data(body));
        zframe_destroy(&body);
    }
    const Flow__Request *req = item->in ? item->in->request : NULL;
    fl_call_init(&item->call, self->args->node, req, self->args->type,
                 item->in ? item->in->partition : 0);
    if (!req) {
        fl_call_fail(&item->call, FLOW__STATUS__INTERNAL, "actor %s got an undecodable message",
                     self->name);
        fl_error(self->name, "undecodable actor request", NULL);
        if (item->in)
            flow__cluster__actor_request__free_unpacked(item->in, NULL);
        item->in = NULL;
        item->answered = true;
        return;
    }
    item->seq = item->in->seq;
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
}

static bool
s_runnable(const s_item_t *item)
{
    return !item->answered && item->call.reply.status == FLOW__STATUS__OK;
}

/*  Runs one write handler in a nested transaction of PARENT.  */
static int
s_run_write(s_item_t *item, MDB_txn *parent)
{
    MDB_txn *child = NULL;
    int rc = mdb_txn_begin(mdb_txn_env(parent), parent, 0, &child);
    if (rc)
        return rc;
    item->call.txn = child;
    rc = item->def->handler(&item->call);
    item->call.txn = NULL;
    if (rc || item->call.reply.status != FLOW__STATUS__OK) {
        mdb_txn_abort(child);
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
    for (size_t i = 0; i < self->nbatch; i++) {
        s_item_t *item = &self->batch[i];
        if (item->answered)
            continue;
        fl_call_release(&item->call);
        fl_call_reset(&item->call);
        int rc;
        if (item->def->access == FL_ACCESS_WRITE)
            rc = s_run_write(item, txn);
        else {
            item->call.txn = txn;
            rc = item->def->handler(&item->call);
            item->call.txn = NULL;
        }
        if (rc)
            return rc;
    }
    return 0;
}

static int
s_run_reads(self_t *self)
{
    MDB_txn *txn = NULL;
    for (size_t i = 0; i < self->nbatch; i++) {
        s_item_t *item = &self->batch[i];
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
    return 0;
}

static bool
s_batch_writes(self_t *self)
{
    for (size_t i = 0; i < self->nbatch; i++)
        if (s_runnable(&self->batch[i]) && self->batch[i].def->access == FL_ACCESS_WRITE)
            return true;
    return false;
}

static void
s_fail_batch(self_t *self, int rc)
{
    fl_error(self->name, "group commit failed", "error=%s requests=%zu",
             fl_err_name(rc), self->nbatch);
    for (size_t i = 0; i < self->nbatch; i++) {
        s_item_t *item = &self->batch[i];
        if (item->answered)
            continue;
        fl_call_release(&item->call);
        fl_call_fail(&item->call, FLOW__STATUS__UNAVAILABLE,
                     "storage could not commit the request: %s", fl_strerror(rc));
    }
}

static void
s_reply(self_t *self, s_item_t *item)
{
    Flow__Cluster__ActorReply out = FLOW__CLUSTER__ACTOR_REPLY__INIT;
    out.seq = item->seq;
    out.reply = &item->call.reply;
    zframe_t *frame = fl_envelope_pack(&out.base);
    zmsg_t *msg = zmsg_new();
    zmsg_append(msg, &item->identity);
    zmsg_append(msg, &frame);
    zmsg_send(&msg, self->inbox);
}

/*  Counts the batch before replying, so a client that holds a reply also
 *  sees it counted.  */
static void
s_finish_batch(self_t *self)
{
    fl_metrics_actor_handled(self->args->node->metrics, self->args->type - 1, self->nbatch);
    for (size_t i = 0; i < self->nbatch; i++) {
        s_item_t *item = &self->batch[i];
        s_reply(self, item);
        fl_call_release(&item->call);
        zframe_destroy(&item->identity);
        if (item->in)
            flow__cluster__actor_request__free_unpacked(item->in, NULL);
    }
    self->nbatch = 0;
}

static void
s_handle_inbox(self_t *self)
{
    while (self->nbatch < self->args->batch_max && (zsock_events(self->inbox) & ZMQ_POLLIN))
        s_receive(self, &self->batch[self->nbatch++]);
    if (self->nbatch == 0)
        return;
    if (s_batch_writes(self)) {
        int rc = fl_store_write(self->args->node->store, s_apply_batch, self);
        if (rc)
            s_fail_batch(self, rc);
        else
            fl_metrics_actor_commit(self->args->node->metrics, self->args->type - 1);
    }
    else
        s_run_reads(self);
    s_finish_batch(self);
}

static void
s_handle_pipe(self_t *self)
{
    char *command = zstr_recv(self->pipe);
    if (!command || streq(command, "$TERM"))
        self->terminated = true;
    zstr_free(&command);
}

static void
s_actor_task(zsock_t *pipe, void *arg)
{
    self_t self = { .args = arg, .pipe = pipe };
    self.name = fl_actor_name(self.args->type);
    self.batch = calloc(self.args->batch_max, sizeof *self.batch);
    self.inbox = zsock_new(ZMQ_ROUTER);
    if (!self.batch || !self.inbox || zsock_bind(self.inbox, "%s", self.args->endpoint) != 0) {
        fl_error(self.name, "actor cannot start", "endpoint=%s", self.args->endpoint);
        zsock_destroy(&self.inbox);
        free(self.batch);
        zsock_signal(pipe, 0);
        zsock_signal(pipe, 1);
        return;
    }
    zsock_signal(pipe, 0);
    zsock_signal(pipe, 0);
    fl_debug(self.name, "actor started", "endpoint=%s", self.args->endpoint);

    zpoller_t *poller = zpoller_new(pipe, self.inbox, NULL);
    while (!self.terminated) {
        void *which = zpoller_wait(poller, -1);
        if (which == pipe)
            s_handle_pipe(&self);
        else
        if (which == self.inbox)
            s_handle_inbox(&self);
        else
        if (zpoller_terminated(poller))
            break;
    }
    s_handle_inbox(&self);
    zpoller_destroy(&poller);
    zsock_destroy(&self.inbox);
    free(self.batch);
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
