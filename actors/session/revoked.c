/*  actors/session/revoked.c — see revoked.h.  */
#include "actors/session/revoked.h"
#include "node/error.h"
#include "node/log.h"
#include "storage.pb-c.h"

#include <czmq.h>

struct fl_revoked_t {
    zhashx_t *until;     /* session id -> uint64_t until_s */
};

static void
s_free(void **item)
{
    free(*item);
    *item = NULL;
}

fl_revoked_t *
fl_revoked_new(void)
{
    fl_revoked_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->until = zhashx_new();
    zhashx_set_destructor(self->until, s_free);
    return self;
}

void
fl_revoked_destroy(fl_revoked_t **self_p)
{
    if (!*self_p)
        return;
    zhashx_destroy(&(*self_p)->until);
    free(*self_p);
    *self_p = NULL;
}

void
fl_revoked_add(fl_revoked_t *self, const char *session_id, uint64_t until_s)
{
    uint64_t *until = zhashx_lookup(self->until, session_id);
    if (until) {
        if (until_s > *until)
            *until = until_s;
        return;
    }
    until = malloc(sizeof *until);
    assert(until);
    *until = until_s;
    zhashx_insert(self->until, session_id, until);
}

bool
fl_revoked_has(fl_revoked_t *self, const char *session_id, uint64_t now_s)
{
    uint64_t *until = zhashx_lookup(self->until, session_id);
    return until && *until > now_s;
}

void
fl_revoked_prune(fl_revoked_t *self, uint64_t now_s)
{
    zlistx_t *done = zlistx_new();
    for (uint64_t *until = zhashx_first(self->until); until; until = zhashx_next(self->until))
        if (*until <= now_s)
            zlistx_add_end(done, (void *) zhashx_cursor(self->until));
    for (const char *key = zlistx_first(done); key; key = zlistx_next(done))
        zhashx_delete(self->until, key);
    zlistx_destroy(&done);
}

int
fl_revoked_load(fl_revoked_t *self, fl_store_t *store, uint64_t now_s)
{
    MDB_dbi dbi;
    int rc = fl_store_dbi(store, "revocations", &dbi);
    if (rc)
        return rc;
    MDB_txn *txn = NULL;
    if ((rc = fl_store_read_begin(store, &txn)))
        return rc;
    MDB_cursor *cursor = NULL;
    rc = mdb_cursor_open(txn, dbi, &cursor);
    MDB_val key, value;
    int op = MDB_FIRST;
    while (rc == 0 && (rc = mdb_cursor_get(cursor, &key, &value, op)) == 0) {
        op = MDB_NEXT;
        Flow__Storage__RevocationRecord *r =
            flow__storage__revocation_record__unpack(NULL, value.mv_size, value.mv_data);
        if (!r) {
            rc = FL_E_CORRUPT;
            break;
        }
        if (r->until_s > now_s)
            fl_revoked_add(self, r->session_id, r->until_s);
        flow__storage__revocation_record__free_unpacked(r, NULL);
    }
    mdb_cursor_close(cursor);
    fl_store_read_end(store, &txn);
    if (rc == MDB_NOTFOUND)
        return 0;
    fl_error("session", "cannot load revoked sessions", "error=\"%s\"",
             rc == FL_E_CORRUPT ? fl_strerror(rc) : mdb_strerror(rc));
    return rc == FL_E_CORRUPT ? rc : FL_E_IO;
}

size_t
fl_revoked_size(fl_revoked_t *self)
{
    return zhashx_size(self->until);
}
