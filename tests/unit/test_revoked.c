/*  tests/unit/test_revoked.c — the in-memory set of ended sessions, and
 *  its loading from the "revocations" database of a real store, written
 *  the way the user actor writes it (partition prefix + session id ->
 *  RevocationRecord).
 */
#include "tests/testlib.h"
#include "actors/session/revoked.h"
#include "node/error.h"
#include "storage/codec.h"
#include "storage/keyspace.h"
#include "storage/store.h"

#include "storage.pb-c.h"

#define NOW 1790000000ULL

FL_TEST(has_is_true_until_the_expiry_second)
{
    fl_revoked_t *r = fl_revoked_new();
    FL_CHECK(r);
    fl_revoked_add(r, "s1", NOW + 10);
    FL_CHECK(fl_revoked_has(r, "s1", NOW));
    FL_CHECK(fl_revoked_has(r, "s1", NOW + 9));
    FL_CHECK(!fl_revoked_has(r, "s1", NOW + 10));
    FL_CHECK(!fl_revoked_has(r, "s1", NOW + 11));
    fl_revoked_destroy(&r);
    FL_CHECK(r == NULL);
}

FL_TEST(has_is_false_for_other_sessions)
{
    fl_revoked_t *r = fl_revoked_new();
    fl_revoked_add(r, "s1", NOW + 10);
    FL_CHECK(!fl_revoked_has(r, "s2", NOW));
    FL_CHECK(!fl_revoked_has(r, "s", NOW));
    FL_CHECK(!fl_revoked_has(r, "s10", NOW));
    FL_CHECK_INT(fl_revoked_size(r), ==, 1);
    fl_revoked_destroy(&r);
}

FL_TEST(add_keeps_the_later_expiry)
{
    fl_revoked_t *r = fl_revoked_new();
    fl_revoked_add(r, "later-first", NOW + 100);
    fl_revoked_add(r, "later-first", NOW + 50);
    fl_revoked_add(r, "earlier-first", NOW + 50);
    fl_revoked_add(r, "earlier-first", NOW + 100);
    FL_CHECK(fl_revoked_has(r, "later-first", NOW + 75));
    FL_CHECK(fl_revoked_has(r, "earlier-first", NOW + 75));
    FL_CHECK(!fl_revoked_has(r, "earlier-first", NOW + 100));
    FL_CHECK_INT(fl_revoked_size(r), ==, 2);
    fl_revoked_destroy(&r);
}

FL_TEST(prune_forgets_only_expired_sessions)
{
    fl_revoked_t *r = fl_revoked_new();
    fl_revoked_add(r, "gone", NOW - 1);
    fl_revoked_add(r, "ends-now", NOW);
    fl_revoked_add(r, "live", NOW + 1);
    fl_revoked_prune(r, NOW);
    FL_CHECK_INT(fl_revoked_size(r), ==, 1);
    FL_CHECK(fl_revoked_has(r, "live", NOW));
    fl_revoked_prune(r, NOW + 1);
    FL_CHECK_INT(fl_revoked_size(r), ==, 0);
    fl_revoked_destroy(&r);
}

FL_TEST(destroy_tolerates_null)
{
    fl_revoked_t *r = NULL;
    fl_revoked_destroy(&r);
    FL_CHECK(r == NULL);
}

/*  ------------------------------------------------------------------
 *  Loading from the store  */

typedef struct {
    const char *session_id;
    uint64_t until_s;           /* 0: store RAW instead of a record */
    const char *raw;
} s_row_t;

typedef struct {
    MDB_dbi dbi;
    const s_row_t *rows;
    size_t count;
} s_rows_t;

static int
s_put_rows(MDB_txn *txn, void *arg)
{
    const s_rows_t *rows = arg;
    for (size_t i = 0; i < rows->count; i++) {
        const s_row_t *row = &rows->rows[i];
        uint8_t buf[64];
        int len = fl_keyspace_key((uint16_t) (i * 7), row->session_id,
                                  strlen(row->session_id), buf, sizeof buf);
        if (len < 0)
            return len;
        MDB_val key = { (size_t) len, buf };
        int rc;
        if (row->raw) {
            MDB_val value = { strlen(row->raw), (void *) row->raw };
            rc = mdb_put(txn, rows->dbi, &key, &value, 0);
        } else {
            Flow__Storage__RevocationRecord rec = FLOW__STORAGE__REVOCATION_RECORD__INIT;
            rec.record_version = 1;
            rec.session_id = (char *) row->session_id;
            rec.until_s = row->until_s;
            rc = fl_codec_put(txn, rows->dbi, &key, &rec.base);
        }
        if (rc)
            return rc;
    }
    return 0;
}

static fl_store_t *
s_store_with(const s_row_t *rows, size_t count)
{
    fl_store_t *store = NULL;
    FL_CHECK_INT(fl_store_open(fl_test_tmpdir(), NULL, &store), ==, 0);
    s_rows_t arg = { .rows = rows, .count = count };
    FL_CHECK_INT(fl_store_dbi(store, "revocations", &arg.dbi), ==, 0);
    FL_CHECK_INT(fl_store_write(store, s_put_rows, &arg), ==, 0);
    return store;
}

FL_TEST(load_from_an_empty_store_adds_nothing)
{
    fl_store_t *store = s_store_with(NULL, 0);
    fl_revoked_t *r = fl_revoked_new();
    FL_CHECK_INT(fl_revoked_load(r, store, NOW), ==, 0);
    FL_CHECK_INT(fl_revoked_size(r), ==, 0);
    fl_revoked_destroy(&r);
    fl_store_destroy(&store);
}

FL_TEST(load_adds_live_revocations_and_skips_expired_ones)
{
    const s_row_t rows[] = {
        { "expired", NOW - 100, NULL },
        { "live-a", NOW + 1, NULL },
        { "ends-now", NOW, NULL },
        { "live-b", NOW + 900, NULL },
    };
    fl_store_t *store = s_store_with(rows, sizeof rows / sizeof rows[0]);
    fl_revoked_t *r = fl_revoked_new();
    FL_CHECK_INT(fl_revoked_load(r, store, NOW), ==, 0);
    FL_CHECK_INT(fl_revoked_size(r), ==, 2);
    FL_CHECK(fl_revoked_has(r, "live-a", NOW));
    FL_CHECK(!fl_revoked_has(r, "live-a", NOW + 1));
    FL_CHECK(fl_revoked_has(r, "live-b", NOW + 899));
    FL_CHECK(!fl_revoked_has(r, "expired", NOW - 200));
    FL_CHECK(!fl_revoked_has(r, "ends-now", NOW - 1));
    fl_revoked_destroy(&r);
    fl_store_destroy(&store);
}

FL_TEST(load_merges_with_what_is_already_known)
{
    const s_row_t rows[] = { { "s1", NOW + 10, NULL } };
    fl_store_t *store = s_store_with(rows, 1);
    fl_revoked_t *r = fl_revoked_new();
    fl_revoked_add(r, "s1", NOW + 50);
    fl_revoked_add(r, "s2", NOW + 5);
    FL_CHECK_INT(fl_revoked_load(r, store, NOW), ==, 0);
    FL_CHECK_INT(fl_revoked_size(r), ==, 2);
    FL_CHECK(fl_revoked_has(r, "s1", NOW + 49));
    FL_CHECK(fl_revoked_has(r, "s2", NOW + 4));
    fl_revoked_destroy(&r);
    fl_store_destroy(&store);
}

FL_TEST(load_refuses_an_undecodable_record)
{
    const s_row_t rows[] = {
        { "live", NOW + 10, NULL },
        { "bad", 0, "\x12\x7f" "ab" },      /* field 2 promises 127 bytes, has 2 */
    };
    fl_store_t *store = s_store_with(rows, 2);
    fl_revoked_t *r = fl_revoked_new();
    FL_CHECK_INT(fl_revoked_load(r, store, NOW), ==, FL_E_CORRUPT);
    fl_revoked_destroy(&r);
    fl_store_destroy(&store);
}
