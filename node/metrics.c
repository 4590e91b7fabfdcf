/*  node/metrics.c — counters and histograms; see metrics.h.  */
#include "node/metrics.h"

#include <inttypes.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    atomic_uint_fast64_t count;
    atomic_uint_fast64_t errors;
    atomic_uint_fast64_t sum_us;
    atomic_uint_fast64_t buckets[FL_METRICS_BUCKETS];   /* not cumulative */
} s_request_t;

typedef struct {
    atomic_uint_fast64_t sent;
    atomic_uint_fast64_t handled;
    atomic_uint_fast64_t commits;
} s_actor_t;

struct fl_metrics_t {
    const char *const *types;
    size_t ntypes;
    const char *const *actors;
    size_t nactors;
    s_request_t *requests;
    s_actor_t *actor;
    atomic_uint_fast64_t malformed;
    atomic_uint_fast64_t connections;
};

static const uint64_t s_bounds[FL_METRICS_BUCKETS] = {
    50, 100, 250, 500, 1000, 2500, 5000, 10000, 25000, 50000,
    100000, 250000, 500000, 1000000, 2500000, 5000000, 10000000, UINT64_MAX,
};

fl_metrics_t *
fl_metrics_new(const char *const *types, size_t ntypes, const char *const *actors, size_t nactors)
{
    fl_metrics_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->types = types;
    self->ntypes = ntypes;
    self->actors = actors;
    self->nactors = nactors;
    self->requests = calloc(ntypes ? ntypes : 1, sizeof *self->requests);
    self->actor = calloc(nactors ? nactors : 1, sizeof *self->actor);
    if (!self->requests || !self->actor) {
        fl_metrics_destroy(&self);
        return NULL;
    }
    return self;
}

void
fl_metrics_destroy(fl_metrics_t **self_p)
{
    if (!*self_p)
        return;
    free((*self_p)->requests);
    free((*self_p)->actor);
    free(*self_p);
    *self_p = NULL;
}

uint64_t
fl_metrics_bucket_bound(size_t bucket)
{
    return bucket < FL_METRICS_BUCKETS ? s_bounds[bucket] : UINT64_MAX;
}

static void
s_add(atomic_uint_fast64_t *counter, uint64_t n)
{
    atomic_fetch_add_explicit(counter, n, memory_order_relaxed);
}

static uint64_t
s_get(atomic_uint_fast64_t *counter)
{
    return atomic_load_explicit(counter, memory_order_relaxed);
}

void
fl_metrics_request(fl_metrics_t *self, size_t type, int error, uint64_t latency_us)
{
    if (type >= self->ntypes)
        return;
    s_request_t *r = &self->requests[type];
    s_add(&r->count, 1);
    if (error)
        s_add(&r->errors, 1);
    s_add(&r->sum_us, latency_us);
    size_t b = 0;
    while (latency_us > s_bounds[b])
        b++;
    s_add(&r->buckets[b], 1);
}

void
fl_metrics_malformed(fl_metrics_t *self)
{
    s_add(&self->malformed, 1);
}

void
fl_metrics_actor_sent(fl_metrics_t *self, size_t actor)
{
    if (actor < self->nactors)
        s_add(&self->actor[actor].sent, 1);
}

void
fl_metrics_actor_handled(fl_metrics_t *self, size_t actor, uint64_t n)
{
    if (actor < self->nactors)
        s_add(&self->actor[actor].handled, n);
}

void
fl_metrics_actor_commit(fl_metrics_t *self, size_t actor)
{
    if (actor < self->nactors)
        s_add(&self->actor[actor].commits, 1);
}

void
fl_metrics_connections_set(fl_metrics_t *self, uint64_t n)
{
    atomic_store_explicit(&self->connections, n, memory_order_relaxed);
}

uint64_t
fl_metrics_connections(fl_metrics_t *self)
{
    return s_get(&self->connections);
}

void
fl_metrics_read_request(fl_metrics_t *self, size_t type, fl_metrics_request_t *out)
{
    memset(out, 0, sizeof *out);
    if (type >= self->ntypes)
        return;
    s_request_t *r = &self->requests[type];
    out->count = s_get(&r->count);
    out->errors = s_get(&r->errors);
    out->sum_us = s_get(&r->sum_us);
    uint64_t running = 0;
    for (size_t b = 0; b < FL_METRICS_BUCKETS; b++) {
        running += s_get(&r->buckets[b]);
        out->buckets[b] = running;
    }
}

void
fl_metrics_read_actor(fl_metrics_t *self, size_t actor, fl_metrics_actor_t *out)
{
    memset(out, 0, sizeof *out);
    if (actor >= self->nactors)
        return;
    out->sent = s_get(&self->actor[actor].sent);
    out->handled = s_get(&self->actor[actor].handled);
    out->commits = s_get(&self->actor[actor].commits);
}

uint64_t
fl_metrics_read_malformed(fl_metrics_t *self)
{
    return s_get(&self->malformed);
}

static void
s_requests_text(fl_metrics_t *self, FILE *out)
{
    fprintf(out, "# HELP flow_requests_total Requests answered, by type.\n"
                 "# TYPE flow_requests_total counter\n");
    for (size_t t = 0; t < self->ntypes; t++)
        fprintf(out, "flow_requests_total{type=\"%s\"} %" PRIu64 "\n",
                self->types[t], (uint64_t) s_get(&self->requests[t].count));
    fprintf(out, "# HELP flow_request_errors_total Requests answered with a status other than OK.\n"
                 "# TYPE flow_request_errors_total counter\n");
    for (size_t t = 0; t < self->ntypes; t++)
        fprintf(out, "flow_request_errors_total{type=\"%s\"} %" PRIu64 "\n",
                self->types[t], (uint64_t) s_get(&self->requests[t].errors));
    fprintf(out, "# HELP flow_request_duration_seconds Time from arrival to reply.\n"
                 "# TYPE flow_request_duration_seconds histogram\n");
    for (size_t t = 0; t < self->ntypes; t++) {
        fl_metrics_request_t r;
        fl_metrics_read_request(self, t, &r);
        for (size_t b = 0; b < FL_METRICS_BUCKETS; b++) {
            if (s_bounds[b] == UINT64_MAX)
                fprintf(out, "flow_request_duration_seconds_bucket{type=\"%s\",le=\"+Inf\"} %"
                        PRIu64 "\n", self->types[t], r.buckets[b]);
            else
                fprintf(out, "flow_request_duration_seconds_bucket{type=\"%s\",le=\"%g\"} %"
                        PRIu64 "\n", self->types[t], (double) s_bounds[b] / 1e6, r.buckets[b]);
        }
        fprintf(out, "flow_request_duration_seconds_sum{type=\"%s\"} %.6f\n",
                self->types[t], (double) r.sum_us / 1e6);
        fprintf(out, "flow_request_duration_seconds_count{type=\"%s\"} %" PRIu64 "\n",
                self->types[t], r.count);
    }
    fprintf(out, "# HELP flow_malformed_requests_total Frames refused before decoding.\n"
                 "# TYPE flow_malformed_requests_total counter\n"
                 "flow_malformed_requests_total %" PRIu64 "\n",
            (uint64_t) s_get(&self->malformed));
}

static void
s_actors_text(fl_metrics_t *self, FILE *out)
{
    static const struct {
        const char *name, *help;
        size_t offset;
    } series[] = {
        { "flow_actor_sent_total", "Requests sent to the actor.", offsetof(s_actor_t, sent) },
        { "flow_actor_handled_total", "Requests the actor handled.", offsetof(s_actor_t, handled) },
        { "flow_actor_commits_total", "Write transactions the actor committed.",
          offsetof(s_actor_t, commits) },
    };
    for (size_t s = 0; s < sizeof series / sizeof series[0]; s++) {
        fprintf(out, "# HELP %s %s\n# TYPE %s counter\n",
                series[s].name, series[s].help, series[s].name);
        for (size_t a = 0; a < self->nactors; a++) {
            atomic_uint_fast64_t *c =
                (atomic_uint_fast64_t *) ((char *) &self->actor[a] + series[s].offset);
            fprintf(out, "%s{actor=\"%s\"} %" PRIu64 "\n",
                    series[s].name, self->actors[a], (uint64_t) s_get(c));
        }
    }
}

char *
fl_metrics_prometheus(fl_metrics_t *self, const fl_metrics_gauge_t *gauges, size_t ngauges)
{
    char *text = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&text, &len);
    if (!out)
        return NULL;
    s_requests_text(self, out);
    s_actors_text(self, out);
    for (size_t g = 0; g < ngauges; g++)
        fprintf(out, "# HELP %s %s\n# TYPE %s gauge\n%s %.17g\n",
                gauges[g].name, gauges[g].help, gauges[g].name, gauges[g].name, gauges[g].value);
    if (fclose(out) != 0) {
        free(text);
        return NULL;
    }
    return text;
}
