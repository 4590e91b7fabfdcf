/*  actors/session/ratelimit.c — see ratelimit.h.  */
#include "actors/session/ratelimit.h"

#include <czmq.h>
#include <math.h>

typedef struct {
    double tokens;
    int64_t at_us;       /* when `tokens` was last brought up to date */
} s_bucket_t;

struct fl_ratelimit_t {
    double per_us;
    double burst;
    size_t max_keys;
    zhashx_t *buckets;   /* key -> s_bucket_t */
};

static void
s_bucket_free(void **item)
{
    free(*item);
    *item = NULL;
}

fl_ratelimit_t *
fl_ratelimit_new(double per_second, double burst, size_t max_keys)
{
    fl_ratelimit_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->per_us = per_second / 1e6;
    self->burst = burst < 1 ? 1 : burst;
    self->max_keys = max_keys;
    self->buckets = zhashx_new();
    zhashx_set_destructor(self->buckets, s_bucket_free);
    return self;
}

void
fl_ratelimit_destroy(fl_ratelimit_t **self_p)
{
    if (!*self_p)
        return;
    zhashx_destroy(&(*self_p)->buckets);
    free(*self_p);
    *self_p = NULL;
}

static void
s_refill(const fl_ratelimit_t *self, s_bucket_t *b, int64_t now_us)
{
    if (now_us > b->at_us) {
        b->tokens = fmin(self->burst, b->tokens + (double) (now_us - b->at_us) * self->per_us);
        b->at_us = now_us;
    }
}

uint32_t
fl_ratelimit_take(fl_ratelimit_t *self, const char *key, int64_t now_us)
{
    s_bucket_t *b = zhashx_lookup(self->buckets, key);
    if (!b) {
        if (zhashx_size(self->buckets) >= self->max_keys)
            fl_ratelimit_prune(self, now_us);
        if (zhashx_size(self->buckets) >= self->max_keys)
            return 1000;
        b = malloc(sizeof *b);
        assert(b);
        *b = (s_bucket_t) { self->burst, now_us };
        zhashx_insert(self->buckets, key, b);
    }
    s_refill(self, b, now_us);
    if (b->tokens >= 1) {
        b->tokens -= 1;
        return 0;
    }
    double wait_us = (1 - b->tokens) / self->per_us;
    double ms = ceil(wait_us / 1000);
    return ms < 1 ? 1 : ms > UINT32_MAX ? UINT32_MAX : (uint32_t) ms;
}

void
fl_ratelimit_prune(fl_ratelimit_t *self, int64_t now_us)
{
    zlistx_t *full = zlistx_new();
    for (s_bucket_t *b = zhashx_first(self->buckets); b; b = zhashx_next(self->buckets)) {
        s_refill(self, b, now_us);
        if (b->tokens >= self->burst)
            zlistx_add_end(full, (void *) zhashx_cursor(self->buckets));
    }
    for (const char *key = zlistx_first(full); key; key = zlistx_next(full))
        zhashx_delete(self->buckets, key);
    zlistx_destroy(&full);
}

size_t
fl_ratelimit_size(fl_ratelimit_t *self)
{
    return zhashx_size(self->buckets);
}
