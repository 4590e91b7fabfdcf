/*  storage/changes.c — change capture; see changes.h.
 *
 *  Records live in one growing byte buffer (keys and values, copied when
 *  noted) indexed by an array of offsets, so a batch's records cost two
 *  allocations that are kept from batch to batch.
 */
#include "storage/changes.h"

#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    MDB_dbi dbi;
    size_t key_at, key_len;
    size_t value_at, value_len;
    bool deleted;
} s_record_t;

struct fl_changes_t {
    s_record_t *records;
    size_t n, cap;
    uint8_t *bytes;
    size_t used, room;
    fl_change_t view;                   /* what fl_changes_get hands out */
};

static _Thread_local fl_changes_t *s_capturing;

fl_changes_t *
fl_changes_new(void)
{
    return calloc(1, sizeof(fl_changes_t));
}

void
fl_changes_destroy(fl_changes_t **self_p)
{
    fl_changes_t *self = *self_p;
    if (!self)
        return;
    if (s_capturing == self)
        s_capturing = NULL;
    free(self->records);
    free(self->bytes);
    free(self);
    *self_p = NULL;
}

void
fl_changes_capture(fl_changes_t *self)
{
    s_capturing = self;
}

static size_t
s_copy(fl_changes_t *self, const void *data, size_t len)
{
    if (self->used + len > self->room) {
        size_t room = self->room ? self->room : 4096;
        while (room < self->used + len)
            room *= 2;
        self->bytes = realloc(self->bytes, room);
        assert(self->bytes);
        self->room = room;
    }
    size_t at = self->used;
    if (len)
        memcpy(self->bytes + at, data, len);
    self->used += len;
    return at;
}

void
fl_changes_note(MDB_dbi dbi, const MDB_val *key, const MDB_val *value)
{
    fl_changes_t *self = s_capturing;
    if (!self)
        return;
    if (self->n == self->cap) {
        self->cap = self->cap ? 2 * self->cap : 64;
        self->records = realloc(self->records, self->cap * sizeof *self->records);
        assert(self->records);
    }
    s_record_t *r = &self->records[self->n++];
    r->dbi = dbi;
    r->key_len = key->mv_size;
    r->key_at = s_copy(self, key->mv_data, key->mv_size);
    r->deleted = value == NULL;
    r->value_len = value ? value->mv_size : 0;
    r->value_at = value ? s_copy(self, value->mv_data, value->mv_size) : 0;
}

size_t
fl_changes_count(const fl_changes_t *self)
{
    return self->n;
}

const fl_change_t *
fl_changes_get(const fl_changes_t *self, size_t i)
{
    assert(i < self->n);
    const s_record_t *r = &self->records[i];
    fl_changes_t *mut = (fl_changes_t *) self;
    mut->view.dbi = r->dbi;
    mut->view.key = (MDB_val) { r->key_len, self->bytes + r->key_at };
    mut->view.value = r->deleted ? (MDB_val) { 0, NULL }
                                 : (MDB_val) { r->value_len, self->bytes + r->value_at };
    return &mut->view;
}

void
fl_changes_truncate(fl_changes_t *self, size_t mark)
{
    if (mark >= self->n)
        return;
    self->used = self->records[mark].key_at;
    self->n = mark;
}

void
fl_changes_clear(fl_changes_t *self)
{
    self->n = 0;
    self->used = 0;
}
