/*  node/metrics.h — the node's metrics registry.
 *
 *  A fixed set of series, sized at creation from the request table and the
 *  actor list: per request type a count, an error count and a latency
 *  histogram; per actor the requests sent to it, handled by it and the write
 *  transactions it committed; and the requests refused before they could be
 *  decoded.  Counters are relaxed atomics: actors update them from their own
 *  threads and the control socket reads them, with no lock and no message
 *  on the hot path.  This registry and the ring snapshot are the only state
 *  threads share besides LMDB.
 */
#ifndef FL_METRICS_H
#define FL_METRICS_H

#include <stddef.h>
#include <stdint.h>

#define FL_METRICS_BUCKETS 18

typedef struct fl_metrics_t fl_metrics_t;

typedef struct {
    uint64_t count;
    uint64_t errors;
    uint64_t sum_us;
    uint64_t buckets[FL_METRICS_BUCKETS];   /* cumulative, as Prometheus wants */
} fl_metrics_request_t;

typedef struct {
    uint64_t sent;
    uint64_t handled;
    uint64_t commits;
} fl_metrics_actor_t;

/*  TYPES and ACTORS must outlive the registry.  Returns NULL on no memory. */
fl_metrics_t *fl_metrics_new(const char *const *types, size_t ntypes,
                             const char *const *actors, size_t nactors);
void fl_metrics_destroy(fl_metrics_t **self_p);

/*  A request of TYPE finished; ERROR when its status was not OK.  */
void fl_metrics_request(fl_metrics_t *self, size_t type, int error, uint64_t latency_us);

/*  A frame that could not be decoded into a request was refused.  */
void fl_metrics_malformed(fl_metrics_t *self);

void fl_metrics_actor_sent(fl_metrics_t *self, size_t actor);
void fl_metrics_actor_handled(fl_metrics_t *self, size_t actor, uint64_t n);
void fl_metrics_actor_commit(fl_metrics_t *self, size_t actor);

/*  Client connections the session currently tracks.  */
void fl_metrics_connections_set(fl_metrics_t *self, uint64_t n);
uint64_t fl_metrics_connections(fl_metrics_t *self);

void fl_metrics_read_request(fl_metrics_t *self, size_t type, fl_metrics_request_t *out);
void fl_metrics_read_actor(fl_metrics_t *self, size_t actor, fl_metrics_actor_t *out);
uint64_t fl_metrics_read_malformed(fl_metrics_t *self);

/*  Upper bounds of the histogram buckets in microseconds; the last is
 *  UINT64_MAX (+Inf).  */
uint64_t fl_metrics_bucket_bound(size_t bucket);

/*  The registry in Prometheus text exposition format 0.0.4, with GAUGES
 *  (name value pairs, may be NULL) appended.  Caller frees.  NULL on no
 *  memory.  */
typedef struct {
    const char *name;
    const char *help;
    double value;
} fl_metrics_gauge_t;

char *fl_metrics_prometheus(fl_metrics_t *self, const fl_metrics_gauge_t *gauges, size_t ngauges);

#endif
