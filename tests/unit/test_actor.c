/*  Actor runtime: group commit, per-request rollback, deadlines, bad
 *  messages.  A test table stands in for the node's: ping writes its key,
 *  info reads it back.  */
#include "cluster.pb-c.h"
#include "node/actor.h"
#include "node/envelope.h"
#include "storage/store.h"
#include "tests/testlib.h"

static MDB_dbi s_kv;

/*  Writes the ping key; a key starting with "bad" is refused after the
 *  write, which must then be rolled back.  */
static int
s_write_key(fl_call_t *call)
{
    const ProtobufCBinaryData *key = &call->request->ping->key;
    MDB_val k = { key->len, key->data }, v = { 2, "ok" };
    int rc = mdb_put(call->txn, s_kv, &k, &v, 0);
    if (rc)
        return rc;
    if (key->len >= 3 && memcmp(key->data, "bad", 3) == 0)
        fl_call_fail(call, FLOW__STATUS__INVALID_ARGUMENT, "key: bad");
    return 0;
}

/*  Reads the key named by the request's token (info has no body fields). */
static int
s_read_key(fl_call_t *call)
{
    MDB_val k = { strlen(call->request->token), call->request->token }, v;
    int rc = mdb_get(call->txn, s_kv, &k, &v);
    if (rc == MDB_NOTFOUND)
        fl_call_fail(call, FLOW__STATUS__NOT_FOUND, "absent");
    return rc == MDB_NOTFOUND ? 0 : rc;
}

/*  Slow work: doubles a number off the actor's thread.  */
typedef struct {
    int in, out;
} s_double_t;

static void
s_double(void *arg)
{
    s_double_t *d = arg;
    d->out = d->in * 2;
}

/*  Defers the doubling of the display name's length; the resume handler
 *  stores the result under the email and answers.  */
static int
s_defer_work(fl_call_t *call)
{
    s_double_t *d = calloc(1, sizeof *d);
    d->in = (int) strlen(call->request->sign_up->display_name);
    fl_call_defer(call, s_double, d);
    return 0;
}

static int
s_resume_work(fl_call_t *call)
{
    s_double_t *d = call->work_arg;
    FL_CHECK(call->resumed);
    char value[16];
    snprintf(value, sizeof value, "%d", d->out);
    const char *email = call->request->sign_up->email;
    MDB_val k = { strlen(email), (void *) email }, v = { strlen(value), value };
    return mdb_put(call->txn, s_kv, &k, &v, 0);
}

static const fl_request_def_t s_table[] = {
    { FLOW__REQUEST__BODY_PING, "write", FL_ROLE_ANONYMOUS, false, FL_ACCESS_WRITE,
      FL_RATE_NONE, NULL, s_write_key, NULL },
    { FLOW__REQUEST__BODY_INFO, "read", FL_ROLE_ANONYMOUS, true, FL_ACCESS_READ,
      FL_RATE_NONE, NULL, s_read_key, NULL },
    { FLOW__REQUEST__BODY_SIGN_UP, "slow", FL_ROLE_ANONYMOUS, false, FL_ACCESS_READ,
      FL_RATE_NONE, NULL, s_defer_work, s_resume_work },
};

static const char *const s_types[] = { "write", "read" };

typedef struct {
    fl_config_t config;
    fl_node_t node;
    fl_actor_args_t args;
    zactor_t *actor;
    zsock_t *dealer;
} s_fixture_t;

static void
s_start(s_fixture_t *f)
{
    memset(f, 0, sizeof *f);
    fl_config_defaults(&f->config);
    f->node.config = &f->config;
    snprintf(f->node.node_id, sizeof f->node.node_id, "ntest");
    FL_CHECK_INT(fl_store_open(fl_test_tmpdir(), NULL, &f->node.store), ==, 0);
    FL_CHECK_INT(fl_store_dbi(f->node.store, "kv", &s_kv), ==, 0);
    f->node.metrics = fl_metrics_new(s_types, 2, fl_actor_names(), FL_ACTOR_COUNT);
    f->node.ring = fl_ring_new_single("ntest", 16, 1);
    f->node.workers = fl_workers_new(1, 64);
    f->args = (fl_actor_args_t) { FLOW__ACTOR__ACTOR_USER, "inproc://test.actor", &f->node,
                                  64, s_table, 3 };
    f->actor = fl_actor_new(&f->args);
    FL_CHECK(f->actor != NULL);
    f->dealer = zsock_new_dealer(">inproc://test.actor");
    zsock_set_rcvtimeo(f->dealer, 10000);
}

static void
s_send(s_fixture_t *f, uint64_t seq, Flow__Request__BodyCase body, const char *key,
       int64_t deadline_us)
{
    Flow__PingRequest ping = FLOW__PING_REQUEST__INIT;
    Flow__InfoRequest info = FLOW__INFO_REQUEST__INIT;
    Flow__SignUpRequest slow = FLOW__SIGN_UP_REQUEST__INIT;
    Flow__Request req = FLOW__REQUEST__INIT;
    req.version = 1;
    req.id = seq;
    req.body_case = body;
    if (body == FLOW__REQUEST__BODY_PING) {
        ping.key.data = (uint8_t *) key;
        ping.key.len = strlen(key);
        req.ping = &ping;
    }
    else
    if (body == FLOW__REQUEST__BODY_INFO) {
        req.token = (char *) key;
        req.info = &info;
    }
    else
    if (body == FLOW__REQUEST__BODY_SIGN_UP) {
        slow.email = (char *) key;
        slow.display_name = "twelve chars";
        req.sign_up = &slow;
    }
    Flow__Cluster__ActorRequest out = FLOW__CLUSTER__ACTOR_REQUEST__INIT;
    out.seq = seq;
    out.actor = FLOW__ACTOR__ACTOR_USER;
    out.deadline_us = deadline_us ? deadline_us : zclock_usecs() + 10000000;
    out.request = &req;
    zframe_t *frame = fl_envelope_pack(&out.base);
    FL_CHECK_INT(zframe_send(&frame, f->dealer, 0), ==, 0);
}

static Flow__Status
s_recv(s_fixture_t *f, uint64_t *seq)
{
    zframe_t *frame = zframe_recv(f->dealer);
    FL_CHECK(frame != NULL);
    Flow__Cluster__ActorReply *r =
        flow__cluster__actor_reply__unpack(NULL, zframe_size(frame), zframe_data(frame));
    FL_CHECK(r != NULL);
    Flow__ServerMessage *m =
        flow__server_message__unpack(NULL, r->server_message.len, r->server_message.data);
    FL_CHECK(m != NULL && m->kind_case == FLOW__SERVER_MESSAGE__KIND_REPLY);
    FL_CHECK_INT(m->reply->status, ==, r->status);
    FL_CHECK_INT(m->reply->id, ==, r->seq);
    flow__server_message__free_unpacked(m, NULL);
    *seq = r->seq;
    Flow__Status status = r->status;
    flow__cluster__actor_reply__free_unpacked(r, NULL);
    zframe_destroy(&frame);
    return status;
}

static bool
s_stored(s_fixture_t *f, const char *key)
{
    MDB_txn *txn;
    FL_CHECK_INT(fl_store_read_begin(f->node.store, &txn), ==, 0);
    MDB_val k = { strlen(key), (void *) key }, v;
    int rc = mdb_get(txn, s_kv, &k, &v);
    fl_store_read_end(f->node.store, &txn);
    return rc == 0;
}

static void
s_stop(s_fixture_t *f)
{
    zsock_destroy(&f->dealer);
    zactor_destroy(&f->actor);
    fl_workers_destroy(&f->node.workers);
    fl_ring_destroy((fl_ring_t **) &f->node.ring);
    fl_metrics_destroy(&f->node.metrics);
    fl_store_destroy(&f->node.store);
}

FL_TEST(writes_are_group_committed_and_durable_before_reply)
{
    s_fixture_t f;
    s_start(&f);
    enum { N = 400 };
    char key[32];
    for (int i = 1; i <= N; i++) {
        snprintf(key, sizeof key, "k%d", i);
        s_send(&f, (uint64_t) i, FLOW__REQUEST__BODY_PING, key, 0);
    }
    bool seen[N + 1] = { false };
    for (int i = 0; i < N; i++) {
        uint64_t seq;
        FL_CHECK_INT(s_recv(&f, &seq), ==, FLOW__STATUS__OK);
        FL_CHECK(seq >= 1 && seq <= N && !seen[seq]);
        seen[seq] = true;
        snprintf(key, sizeof key, "k%d", (int) seq);
        FL_CHECK(s_stored(&f, key));
    }
    fl_metrics_actor_t m;
    fl_metrics_read_actor(f.node.metrics, FLOW__ACTOR__ACTOR_USER - 1, &m);
    FL_CHECK_INT(m.handled, ==, N);
    FL_CHECK(m.commits >= N / 64);
    FL_CHECK(m.commits < N);
    s_stop(&f);
}

FL_TEST(refused_write_changes_nothing_but_its_batch_commits)
{
    s_fixture_t f;
    s_start(&f);
    s_send(&f, 1, FLOW__REQUEST__BODY_PING, "good1", 0);
    s_send(&f, 2, FLOW__REQUEST__BODY_PING, "bad-one", 0);
    s_send(&f, 3, FLOW__REQUEST__BODY_PING, "good2", 0);
    Flow__Status status[4] = { 0 };
    for (int i = 0; i < 3; i++) {
        uint64_t seq;
        Flow__Status s = s_recv(&f, &seq);
        FL_CHECK(seq >= 1 && seq <= 3);
        status[seq] = s;
    }
    FL_CHECK_INT(status[1], ==, FLOW__STATUS__OK);
    FL_CHECK_INT(status[2], ==, FLOW__STATUS__INVALID_ARGUMENT);
    FL_CHECK_INT(status[3], ==, FLOW__STATUS__OK);
    FL_CHECK(s_stored(&f, "good1"));
    FL_CHECK(!s_stored(&f, "bad-one"));
    FL_CHECK(s_stored(&f, "good2"));
    s_stop(&f);
}

FL_TEST(read_after_write_sees_it)
{
    s_fixture_t f;
    s_start(&f);
    s_send(&f, 1, FLOW__REQUEST__BODY_PING, "seen", 0);
    s_send(&f, 2, FLOW__REQUEST__BODY_INFO, "seen", 0);
    s_send(&f, 3, FLOW__REQUEST__BODY_INFO, "never-written", 0);
    Flow__Status status[4] = { 0 };
    for (int i = 0; i < 3; i++) {
        uint64_t seq;
        Flow__Status s = s_recv(&f, &seq);
        status[seq] = s;
    }
    FL_CHECK_INT(status[1], ==, FLOW__STATUS__OK);
    FL_CHECK_INT(status[2], ==, FLOW__STATUS__OK);
    FL_CHECK_INT(status[3], ==, FLOW__STATUS__NOT_FOUND);
    s_stop(&f);
}

FL_TEST(request_past_its_deadline_is_not_run)
{
    s_fixture_t f;
    s_start(&f);
    s_send(&f, 1, FLOW__REQUEST__BODY_PING, "late", zclock_usecs() - 1);
    uint64_t seq;
    FL_CHECK_INT(s_recv(&f, &seq), ==, FLOW__STATUS__DEADLINE_EXCEEDED);
    FL_CHECK_INT(seq, ==, 1);
    FL_CHECK(!s_stored(&f, "late"));
    s_stop(&f);
}

FL_TEST(request_without_handler_is_invalid)
{
    s_fixture_t f;
    s_start(&f);
    s_send(&f, 7, FLOW__REQUEST__BODY_SUBSCRIBE, "", 0);
    uint64_t seq;
    FL_CHECK_INT(s_recv(&f, &seq), ==, FLOW__STATUS__INVALID_ARGUMENT);
    FL_CHECK_INT(seq, ==, 7);
    s_stop(&f);
}

FL_TEST(undecodable_message_is_answered_and_actor_keeps_serving)
{
    s_fixture_t f;
    s_start(&f);
    zstr_send(f.dealer, "\xff\xff\xff garbage");
    uint64_t seq;
    FL_CHECK_INT(s_recv(&f, &seq), ==, FLOW__STATUS__INTERNAL);
    s_send(&f, 2, FLOW__REQUEST__BODY_PING, "after", 0);
    FL_CHECK_INT(s_recv(&f, &seq), ==, FLOW__STATUS__OK);
    FL_CHECK(s_stored(&f, "after"));
    s_stop(&f);
}

FL_TEST(deferred_work_is_answered_by_resume_after_commit)
{
    s_fixture_t f;
    s_start(&f);
    for (uint64_t i = 1; i <= 20; i++) {
        char key[16];
        snprintf(key, sizeof key, "slow%d", (int) i);
        s_send(&f, i, FLOW__REQUEST__BODY_SIGN_UP, key, 0);
    }
    for (int i = 0; i < 20; i++) {
        uint64_t seq;
        FL_CHECK_INT(s_recv(&f, &seq), ==, FLOW__STATUS__OK);
        char key[16];
        snprintf(key, sizeof key, "slow%d", (int) seq);
        FL_CHECK(s_stored(&f, key));
    }
    fl_metrics_actor_t m;
    fl_metrics_read_actor(f.node.metrics, FLOW__ACTOR__ACTOR_USER - 1, &m);
    FL_CHECK_INT(m.handled, ==, 20);
    s_stop(&f);
}

FL_TEST(stopping_actor_finishes_deferred_work_first)
{
    s_fixture_t f;
    s_start(&f);
    s_send(&f, 1, FLOW__REQUEST__BODY_SIGN_UP, "pending", 0);
    /*  The ping behind it proves the actor took the slow request.  */
    s_send(&f, 2, FLOW__REQUEST__BODY_PING, "marker", 0);
    uint64_t seq = 0;
    while (seq != 2) {
        Flow__Status st = s_recv(&f, &seq);
        FL_CHECK_INT(st, ==, FLOW__STATUS__OK);
    }
    zactor_destroy(&f.actor);
    FL_CHECK(s_stored(&f, "pending"));
    s_stop(&f);
}
