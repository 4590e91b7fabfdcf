/*  tests/unit/test_applied.c — writes applied once: keys kept apart by
 *  partition, actor and user; a key answers only the request it was
 *  given with; the sweep forgets old records and keeps the others.
 */
#include "tests/testlib.h"
#include "node/applied.h"
#include "node/error.h"
#include "storage/keyspace.h"
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
    FL_CHECK_INT(fl_applied_init(store), ==, 0);
    return store;
}

static MDB_val
s_key(uint32_t partition, Flow__Actor actor, const char *user, const char *request_key,
      uint8_t buf[FL_KEYSPACE_KEY_MAX])
{
    int len = fl_applied_key(partition, actor, user, request_key, buf, FL_KEYSPACE_KEY_MAX);
    FL_CHECK(len > 0);
    return (MDB_val) { len > 0 ? (size_t) len : 0, buf };
}

static void
s_request(Flow__Request *req, Flow__GetEventRequest *body, const char *id)
{
    flow__request__init(req);
    flow__get_event_request__init(body);
    body->id = (char *) id;
    req->body_case = FLOW__REQUEST__BODY_GET_EVENT;
    req->get_event = body;
}

typedef struct {
    MDB_val key;
    const uint8_t *digest;
    const char *message;
    uint64_t at_ms;
} s_put_t;

static int
s_put_apply(MDB_txn *txn, void *arg)
{
    const s_put_t *p = arg;
    Flow__Reply reply = FLOW__REPLY__INIT;
    reply.id = 9;
    reply.message = (char *) p->message;
    return fl_applied_put(txn, &p->key, p->digest, &reply, p->at_ms);
}

/*  The reply under KEY for DIGEST into MESSAGE; the code of the read.  */
static int
s_get(fl_store_t *store, const MDB_val *key, const uint8_t *digest, char *message, size_t len)
{
    MDB_txn *txn = NULL;
    FL_CHECK_INT(fl_store_read_begin(store, &txn), ==, 0);
    Flow__Storage__AppliedRecord *record = NULL;
    int rc = fl_applied_get(txn, key, digest, NULL, &record);
    if (rc == 0) {
        snprintf(message, len, "%s", record->reply->message);
        protobuf_c_message_free_unpacked(&record->base, NULL);
    }
    fl_store_read_end(store, &txn);
    return rc;
}

FL_TEST(keys_differ_by_partition_actor_user_and_key)
{
    uint8_t a[FL_KEYSPACE_KEY_MAX], b[FL_KEYSPACE_KEY_MAX];
    MDB_val base = s_key(7, FLOW__ACTOR__ACTOR_EVENT, "u1", "k", a);
    FL_CHECK_INT(fl_keyspace_key_partition(&base), ==, 7);
    const struct {
        uint32_t partition;
        Flow__Actor actor;
        const char *user;
        const char *key;
    } others[] = {
        { 8, FLOW__ACTOR__ACTOR_EVENT, "u1", "k" },
        { 7, FLOW__ACTOR__ACTOR_USER, "u1", "k" },
        { 7, FLOW__ACTOR__ACTOR_EVENT, "u2", "k" },
        { 7, FLOW__ACTOR__ACTOR_EVENT, "u1", "k2" },
        { 7, FLOW__ACTOR__ACTOR_EVENT, "u1k", "" },     /* the user ends where it ends */
        { 7, FLOW__ACTOR__ACTOR_EVENT, NULL, "k" },
    };
    for (size_t i = 0; i < sizeof others / sizeof others[0]; i++) {
        MDB_val other = s_key(others[i].partition, others[i].actor, others[i].user,
                              others[i].key, b);
        FL_CHECK(other.mv_size != base.mv_size
                 || memcmp(other.mv_data, base.mv_data, base.mv_size) != 0);
    }
    char huge[FL_KEYSPACE_KEY_MAX + 1];
    memset(huge, 'u', sizeof huge - 1);
    huge[sizeof huge - 1] = '\0';
    FL_CHECK_INT(fl_applied_key(7, FLOW__ACTOR__ACTOR_EVENT, huge, "k", b, sizeof b), ==,
                 FL_E_TOOBIG);
}

FL_TEST(digests_tell_requests_apart_by_body)
{
    Flow__Request r1, r2;
    Flow__GetEventRequest b1, b2;
    s_request(&r1, &b1, "aaaa");
    s_request(&r2, &b2, "aaaa");
    r2.id = 5;                              /* the envelope is not the request */
    r2.token = "t";
    uint8_t d1[32], d2[32];
    fl_applied_digest(&r1, d1);
    fl_applied_digest(&r2, d2);
    FL_CHECK(memcmp(d1, d2, 32) == 0);
    b2.id = "aaab";
    fl_applied_digest(&r2, d2);
    FL_CHECK(memcmp(d1, d2, 32) != 0);
}

FL_TEST(a_key_answers_only_the_request_it_was_given_with)
{
    fl_store_t *store = s_store("applied_get");
    uint8_t buf[FL_KEYSPACE_KEY_MAX], digest[32] = { 1 }, other[32] = { 2 };
    s_put_t p = { s_key(3, FLOW__ACTOR__ACTOR_EVENT, "u1", "k", buf), digest, "first", 1000 };
    char message[64] = "";
    FL_CHECK_INT(s_get(store, &p.key, digest, message, sizeof message), ==, FL_E_NOTFOUND);
    FL_CHECK_INT(fl_store_write(store, s_put_apply, &p), ==, 0);
    FL_CHECK_INT(s_get(store, &p.key, digest, message, sizeof message), ==, 0);
    FL_CHECK_STR(message, "first");
    FL_CHECK_INT(s_get(store, &p.key, other, message, sizeof message), ==, FL_E_EXISTS);
    fl_store_destroy(&store);
}

FL_TEST(the_sweep_forgets_old_records_and_keeps_the_others)
{
    fl_store_t *store = s_store("applied_sweep");
    uint8_t buf[FL_KEYSPACE_KEY_MAX], digest[32] = { 0 };
    /*  20 records, the even ones old, spread over partitions.  */
    for (int i = 0; i < 20; i++) {
        char key[16];
        snprintf(key, sizeof key, "k%02d", i);
        s_put_t p = { s_key((uint32_t) (i % 5), FLOW__ACTOR__ACTOR_EVENT, "u", key, buf), digest,
                      "r", i % 2 ? 5000 : 10 };
        FL_CHECK_INT(fl_store_write(store, s_put_apply, &p), ==, 0);
    }
    /*  Looking at 7 records at a time, the sweep goes round: 3 calls see
     *  all 20, and the old ones are gone.  */
    size_t total = 0;
    for (int call = 0; call < 3; call++) {
        size_t deleted = 0;
        FL_CHECK_INT(fl_applied_expire(store, 1000, 7, &deleted), ==, 0);
        FL_CHECK(deleted <= 7);
        total += deleted;
    }
    FL_CHECK_INT(total, ==, 10);
    char message[8];
    for (int i = 0; i < 20; i++) {
        char key[16];
        snprintf(key, sizeof key, "k%02d", i);
        MDB_val k = s_key((uint32_t) (i % 5), FLOW__ACTOR__ACTOR_EVENT, "u", key, buf);
        FL_CHECK_INT(s_get(store, &k, digest, message, sizeof message), ==,
                     i % 2 ? 0 : FL_E_NOTFOUND);
    }
    /*  Round again: nothing more to forget.  */
    size_t deleted = 1;
    FL_CHECK_INT(fl_applied_expire(store, 1000, 100, &deleted), ==, 0);
    FL_CHECK_INT(deleted, ==, 0);
    fl_store_destroy(&store);
}
