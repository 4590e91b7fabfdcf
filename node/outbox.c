/*  node/outbox.c — requests one actor owes another; see outbox.h.
 *
 *  In memory the outbox knows every request it holds that is not yet
 *  answered (`waiting`: number -> partition and time of the last send, 0
 *  when due) and the answered ones not yet deleted (`answered`).  The
 *  database is the truth: a restart rebuilds `waiting` from it.
 */
#include "node/outbox.h"
#include "node/actor.h"
#include "node/error.h"
#include "node/log.h"
#include "storage/codec.h"
#include "storage/keyspace.h"

#include <czmq.h>

#define KEY_LEN (FL_KEYSPACE_PREFIX + 8)
#define ROUTE_KEY_MAX 255

typedef struct {
    uint32_t partition;
    int64_t sent_us;            /* 0: due */
} s_entry_t;

struct fl_outbox_t {
    fl_store_t *store;
    MDB_dbi dbi;
    uint64_t next_seq;
    zhashx_t *waiting;          /* seq -> s_entry_t */
    zhashx_t *answered;         /* seq -> s_entry_t */
};

static void
s_key(uint8_t key[KEY_LEN], uint32_t partition, uint64_t seq)
{
    key[0] = (uint8_t) (partition >> 8);
    key[1] = (uint8_t) partition;
    for (int i = 0; i < 8; i++)
        key[FL_KEYSPACE_PREFIX + i] = (uint8_t) (seq >> (56 - 8 * i));
}

static uint64_t
s_key_seq(const MDB_val *key)
{
    const uint8_t *p = (const uint8_t *) key->mv_data + FL_KEYSPACE_PREFIX;
    uint64_t seq = 0;
    for (int i = 0; i < 8; i++)
        seq = (seq << 8) | p[i];
    return seq;
}

static void
s_entry_free(void **item)
{
    free(*item);
    *item = NULL;
}

static void
s_track(zhashx_t *table, uint64_t seq, uint32_t partition, int64_t sent_us)
{
    s_entry_t *e = zhashx_lookup(table, (void *) (uintptr_t) seq);
    if (!e) {
        e = calloc(1, sizeof *e);
        assert(e);
        e->partition = partition;
        zhashx_insert(table, (void *) (uintptr_t) seq, e);
    }
    e->sent_us = sent_us;
}

/*  Every stored request becomes due; the counter starts past them all. */
static int
s_load(fl_outbox_t *self)
{
    MDB_txn *txn = NULL;
    int rc = fl_store_read_begin(self->store, &txn);
    if (rc)
        return rc;
    MDB_cursor *cursor = NULL;
    rc = mdb_cursor_open(txn, self->dbi, &cursor);
    MDB_val key, value;
    int step = MDB_FIRST;
    while (rc == 0 && (rc = mdb_cursor_get(cursor, &key, &value, step)) == 0) {
        step = MDB_NEXT;
        if (key.mv_size != KEY_LEN)
            continue;
        uint64_t seq = s_key_seq(&key);
        s_track(self->waiting, seq, (uint32_t) fl_keyspace_key_partition(&key), 0);
        if (seq >= self->next_seq)
            self->next_seq = seq + 1;
    }
    mdb_cursor_close(cursor);
    fl_store_read_end(self->store, &txn);
    return rc == MDB_NOTFOUND ? 0 : FL_E_IO;
}

int
fl_outbox_open(fl_store_t *store, Flow__Actor owner, fl_outbox_t **self_p)
{
    fl_outbox_t *self = calloc(1, sizeof *self);
    if (!self)
        return FL_E_NOMEM;
    self->store = store;
    self->next_seq = 1;
    self->waiting = fl_actor_seq_table(s_entry_free);
    self->answered = fl_actor_seq_table(s_entry_free);
    char name[64];
    snprintf(name, sizeof name, "outbox.%s", fl_actor_name(owner));
    int rc = fl_store_dbi(store, name, &self->dbi);
    if (rc == 0)
        rc = s_load(self);
    if (rc) {
        fl_outbox_destroy(&self);
        return rc;
    }
    if (zhashx_size(self->waiting) > 0)
        fl_info(fl_actor_name(owner), "outbox holds requests from before the start",
                "requests=%zu", zhashx_size(self->waiting));
    *self_p = self;
    return 0;
}

void
fl_outbox_destroy(fl_outbox_t **self_p)
{
    fl_outbox_t *self = *self_p;
    if (!self)
        return;
    zhashx_destroy(&self->waiting);
    zhashx_destroy(&self->answered);
    free(self);
    *self_p = NULL;
}

int
fl_outbox_put(fl_outbox_t *self, MDB_txn *txn, uint32_t partition, Flow__Actor actor,
              const char *route_key, const Flow__Request *request, uint64_t *seq_p)
{
    size_t klen = strlen(route_key);
    if (klen > ROUTE_KEY_MAX)
        return FL_E_TOOBIG;
    Flow__Storage__OutboxRecord rec = FLOW__STORAGE__OUTBOX_RECORD__INIT;
    rec.record_version = 1;
    rec.actor = actor;
    rec.route_key.data = (uint8_t *) route_key;
    rec.route_key.len = klen;
    rec.request = (Flow__Request *) request;
    uint64_t seq = self->next_seq++;
    uint8_t buf[KEY_LEN];
    s_key(buf, partition, seq);
    MDB_val key = { KEY_LEN, buf };
    int rc = fl_codec_put(txn, self->dbi, &key, &rec.base);
    if (rc == 0)
        *seq_p = seq;
    return rc;
}

void
fl_outbox_sent(fl_outbox_t *self, uint64_t seq, uint32_t partition, int64_t now_us)
{
    s_track(self->waiting, seq, partition, now_us);
}

void
fl_outbox_done(fl_outbox_t *self, uint64_t seq)
{
    s_entry_t *e = zhashx_lookup(self->waiting, (void *) (uintptr_t) seq);
    if (!e)
        return;
    s_track(self->answered, seq, e->partition, 0);
    zhashx_delete(self->waiting, (void *) (uintptr_t) seq);
}

size_t
fl_outbox_due(fl_outbox_t *self, int64_t now_us, int64_t resend_us, uint64_t *seqs, size_t max)
{
    size_t n = 0;
    for (s_entry_t *e = zhashx_first(self->waiting); e && n < max; e = zhashx_next(self->waiting))
        if (e->sent_us == 0 || now_us - e->sent_us >= resend_us)
            seqs[n++] = (uint64_t) (uintptr_t) zhashx_cursor(self->waiting);
    return n;
}

int
fl_outbox_read(fl_outbox_t *self, MDB_txn *txn, uint64_t seq, ProtobufCAllocator *allocator,
               Flow__Storage__OutboxRecord **record_p)
{
    s_entry_t *e = zhashx_lookup(self->waiting, (void *) (uintptr_t) seq);
    if (!e)
        return FL_E_NOTFOUND;
    uint8_t buf[KEY_LEN];
    s_key(buf, e->partition, seq);
    MDB_val key = { KEY_LEN, buf };
    return fl_codec_get_with(txn, self->dbi, &key, &flow__storage__outbox_record__descriptor,
                             allocator, (ProtobufCMessage **) record_p);
}

static int
s_delete_answered(MDB_txn *txn, void *arg)
{
    fl_outbox_t *self = arg;
    for (s_entry_t *e = zhashx_first(self->answered); e; e = zhashx_next(self->answered)) {
        uint8_t buf[KEY_LEN];
        s_key(buf, e->partition, (uint64_t) (uintptr_t) zhashx_cursor(self->answered));
        MDB_val key = { KEY_LEN, buf };
        int rc = mdb_del(txn, self->dbi, &key, NULL);
        if (rc && rc != MDB_NOTFOUND)
            return rc;
    }
    return 0;
}

int
fl_outbox_flush(fl_outbox_t *self)
{
    if (zhashx_size(self->answered) == 0)
        return 0;
    int rc = fl_store_write(self->store, s_delete_answered, self);
    if (rc == 0)
        zhashx_purge(self->answered);
    return rc;
}

size_t
fl_outbox_pending(const fl_outbox_t *self)
{
    return zhashx_size(self->waiting);
}

size_t
fl_outbox_answered(const fl_outbox_t *self)
{
    return zhashx_size(self->answered);
}
