/*  tests/unit/test_outbox.c — the outbox: a request exists exactly when
 *  the transaction that put it committed, is due until answered, is
 *  deleted once answered, and survives a reopen with numbering going on
 *  past it.
 */
#include "tests/testlib.h"
#include "node/error.h"
#include "node/outbox.h"
#include "storage/store.h"

#include <sys/stat.h>

static fl_store_t *
s_store(const char *name)
{
    char dir[512];
    snprintf(dir, sizeof dir, "%s/%s", fl_test_tmpdir(), name);
    mkdir(dir, 0700);
    fl_store_t *store = NULL;
    FL_CHECK_INT(fl_store_open(dir, NULL, &store), ==, 0);
    return store;
}

typedef struct {
    fl_outbox_t *outbox;
    uint32_t partition;
    const char *user;
    uint64_t seq;
    int fail_with;
} s_put_t;

static int
s_put(MDB_txn *txn, void *arg)
{
    s_put_t *p = arg;
    Flow__StandingRequest body = FLOW__STANDING_REQUEST__INIT;
    body.user_id = (char *) p->user;
    Flow__Request req = FLOW__REQUEST__INIT;
    req.body_case = FLOW__REQUEST__BODY_STANDING;
    req.standing = &body;
    int rc = fl_outbox_put(p->outbox, txn, p->partition, FLOW__ACTOR__ACTOR_USER, p->user, &req,
                           &p->seq);
    return rc ? rc : p->fail_with;
}

static uint64_t
s_tell(fl_store_t *store, fl_outbox_t *outbox, uint32_t partition, const char *user)
{
    s_put_t p = { outbox, partition, user, 0, 0 };
    FL_CHECK_INT(fl_store_write(store, s_put, &p), ==, 0);
    fl_outbox_sent(outbox, p.seq, partition, 1);
    return p.seq;
}

static void
s_expect_record(fl_store_t *store, fl_outbox_t *outbox, uint64_t seq, const char *user)
{
    MDB_txn *txn = NULL;
    FL_CHECK_INT(fl_store_read_begin(store, &txn), ==, 0);
    Flow__Storage__OutboxRecord *rec = NULL;
    FL_CHECK_INT(fl_outbox_read(outbox, txn, seq, NULL, &rec), ==, 0);
    FL_CHECK_INT(rec->actor, ==, FLOW__ACTOR__ACTOR_USER);
    FL_CHECK_INT(rec->route_key.len, ==, strlen(user));
    FL_CHECK_STR(rec->request->standing->user_id, user);
    flow__storage__outbox_record__free_unpacked(rec, NULL);
    fl_store_read_end(store, &txn);
}

FL_TEST(a_request_is_due_again_until_answered_then_deleted)
{
    fl_store_t *store = s_store("due");
    fl_outbox_t *outbox = NULL;
    FL_CHECK_INT(fl_outbox_open(store, FLOW__ACTOR__ACTOR_EVENT, &outbox), ==, 0);
    uint64_t a = s_tell(store, outbox, 7, "aaaaaaaaaaaaaaaa");
    uint64_t b = s_tell(store, outbox, 900, "bbbbbbbbbbbbbbbb");
    FL_CHECK(b > a);
    FL_CHECK_INT(fl_outbox_pending(outbox), ==, 2);
    uint64_t due[4];
    FL_CHECK_INT(fl_outbox_due(outbox, 1000, 5000, due, 4), ==, 0);
    FL_CHECK_INT(fl_outbox_due(outbox, 6001, 5000, due, 4), ==, 2);
    s_expect_record(store, outbox, b, "bbbbbbbbbbbbbbbb");

    fl_outbox_done(outbox, a);
    fl_outbox_done(outbox, a);
    FL_CHECK_INT(fl_outbox_pending(outbox), ==, 1);
    FL_CHECK_INT(fl_outbox_answered(outbox), ==, 1);
    FL_CHECK_INT(fl_outbox_due(outbox, 6001, 5000, due, 4), ==, 1);
    FL_CHECK(due[0] == b);
    FL_CHECK_INT(fl_outbox_flush(outbox), ==, 0);
    FL_CHECK_INT(fl_outbox_answered(outbox), ==, 0);
    fl_outbox_destroy(&outbox);
    FL_CHECK(outbox == NULL);

    /*  Reopened: only B is left, due at once; numbers go on past it.  */
    FL_CHECK_INT(fl_outbox_open(store, FLOW__ACTOR__ACTOR_EVENT, &outbox), ==, 0);
    FL_CHECK_INT(fl_outbox_pending(outbox), ==, 1);
    FL_CHECK_INT(fl_outbox_due(outbox, 1, 5000, due, 4), ==, 1);
    FL_CHECK(due[0] == b);
    s_expect_record(store, outbox, b, "bbbbbbbbbbbbbbbb");
    uint64_t c = s_tell(store, outbox, 7, "cccccccccccccccc");
    FL_CHECK(c > b);
    fl_outbox_destroy(&outbox);
    fl_store_destroy(&store);
}

FL_TEST(a_request_put_in_a_failed_transaction_does_not_exist)
{
    fl_store_t *store = s_store("abort");
    fl_outbox_t *outbox = NULL;
    FL_CHECK_INT(fl_outbox_open(store, FLOW__ACTOR__ACTOR_EVENT, &outbox), ==, 0);
    s_put_t p = { outbox, 3, "dddddddddddddddd", 0, FL_E_INVAL };
    FL_CHECK_INT(fl_store_write(store, s_put, &p), ==, FL_E_INVAL);
    FL_CHECK_INT(fl_outbox_pending(outbox), ==, 0);
    fl_outbox_destroy(&outbox);
    FL_CHECK_INT(fl_outbox_open(store, FLOW__ACTOR__ACTOR_EVENT, &outbox), ==, 0);
    FL_CHECK_INT(fl_outbox_pending(outbox), ==, 0);
    fl_outbox_destroy(&outbox);
    fl_store_destroy(&store);
}

FL_TEST(each_actor_type_has_an_outbox_of_its_own)
{
    fl_store_t *store = s_store("own");
    fl_outbox_t *events = NULL, *users = NULL;
    FL_CHECK_INT(fl_outbox_open(store, FLOW__ACTOR__ACTOR_EVENT, &events), ==, 0);
    s_tell(store, events, 1, "eeeeeeeeeeeeeeee");
    FL_CHECK_INT(fl_outbox_open(store, FLOW__ACTOR__ACTOR_USER, &users), ==, 0);
    FL_CHECK_INT(fl_outbox_pending(users), ==, 0);
    fl_outbox_destroy(&events);
    fl_outbox_destroy(&users);
    fl_store_destroy(&store);
}

FL_TEST(an_over_long_route_key_is_refused)
{
    fl_store_t *store = s_store("long");
    fl_outbox_t *outbox = NULL;
    FL_CHECK_INT(fl_outbox_open(store, FLOW__ACTOR__ACTOR_EVENT, &outbox), ==, 0);
    char key[300];
    memset(key, 'k', sizeof key - 1);
    key[sizeof key - 1] = '\0';
    s_put_t p = { outbox, 3, key, 0, 0 };
    FL_CHECK_INT(fl_store_write(store, s_put, &p), ==, FL_E_TOOBIG);
    FL_CHECK_INT(fl_outbox_pending(outbox), ==, 0);
    fl_outbox_destroy(&outbox);
    fl_store_destroy(&store);
}
