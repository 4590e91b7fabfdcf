/*  tests/bench/bench_geo.c — nearby queries on one geo shard index.
 *
 *  Builds an index of N events (default 1,000,000) spread like a world of
 *  cities: 70% around eight Gaussian centres of different spread, 30%
 *  uniform over the inhabited latitudes, with random categories, tags,
 *  times, prices and three-to-six-word titles from a 64-word vocabulary
 *  (a few accented).  Then it measures, on one thread, nearby queries
 *  (limit 50, by distance) of three kinds: 2 km, 10 km, and 10 km with a
 *  category, time window and text filter; centres are drawn like the
 *  events, so most land in a city.
 *
 *  The baseline, in the same run, is the same queries answered by a scan
 *  of a plain array of every event (the cheap filters first, then
 *  fl_geo_distance_m, then sorting the matches): fewer of them, since one
 *  costs a full pass.  Its first page is compared with the index's, so
 *  the figures are of two ways to the same answer.  Also reported: the
 *  build rate and the memory per indexed event (fl_geo_index_memory / N).
 *
 *      bench_geo [--events N] [--cell-deg D]   (defaults 1000000 and the
 *                                              cell size flowd uses)
 */
#include "tests/bench/benchlib.h"
#include "tests/bench/world.h"
#include "actors/geo/geo.h"
#include "actors/geo/index.h"
#include "node/error.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#define DEFAULT_EVENTS 1000000
#define MAX_EVENTS 20000000UL
#define INDEX_QUERIES 2000
#define SCAN_QUERIES 20
#define LIMIT 50
#define DEFAULT_CELL_DEG FL_GEO_CELL_DEG
#define NOW_S 1767225600            /* 2026-01-01 */

/*  What the scan knows of an event.  */
typedef struct {
    double lat, lon;
    int64_t start_s, end_s;
    uint64_t words;                 /* bit i: fl_world_vocab[i] is in the title */
    uint8_t category;
} s_event_t;

typedef struct {
    double d;
    uint32_t event;
} s_match_t;

static volatile size_t s_sink;
static fl_world_t s_world;

static void
s_event_id(uint32_t i, char *id)
{
    snprintf(id, FL_GEO_ID_MAX, "ev%07" PRIu32, i);
}

/*  Makes event I, both as the index gets it (E, with its text in
 *  GEN's title) and as the scan keeps it.  */
static void
s_make(uint32_t i, fl_geo_entry_t *e, fl_world_event_t *gen, s_event_t *ev)
{
    fl_world_make_event(&s_world, NOW_S, gen);
    memset(e, 0, sizeof *e);
    s_event_id(i, e->id);
    e->lat = gen->lat;
    e->lon = gen->lon;
    e->start_s = gen->start_s;
    e->end_s = gen->end_s;
    snprintf(e->tz, sizeof e->tz, "%s", fl_world_event_tz(gen));
    e->category = gen->category;
    e->price_type = gen->price_type;
    e->price_minor = gen->price_minor;
    e->free_spots = gen->free_spots;
    e->popularity = gen->popularity;
    e->tags = fl_world_event_tags(gen);
    e->n_tags = gen->n_tags;
    e->text = gen->title;
    *ev = (s_event_t) { gen->lat, gen->lon, gen->start_s, gen->end_s, gen->words,
                        gen->category };
}

/*  Puts N generated events, timing every 16th put.  */
static int
s_build(fl_geo_index_t *index, s_event_t *events, uint32_t n)
{
    fl_world_event_t gen;
    fl_geo_entry_t e;
    fl_bench_t *bench = NULL;
    int rc = fl_bench_new("index put", &bench);
    uint64_t start = fl_bench_now_us();
    for (uint32_t i = 0; i < n && rc == 0; i++) {
        s_make(i, &e, &gen, &events[i]);
        uint64_t t0 = fl_bench_now_us();
        rc = fl_geo_index_put(index, &e);
        if (rc == 0 && i % 16 == 0)
            rc = fl_bench_record(bench, fl_bench_now_us() - t0);
    }
    double s = (double) (fl_bench_now_us() - start) / 1e6;
    if (rc == 0)
        printf("index put: %" PRIu32 " events in %.1f s with their generation, %.0f puts/s, "
               "p50 %" PRIu64 " us, p99 %" PRIu64 " us (1 in 16 timed)\n", n, s, n / s,
               fl_bench_percentile(bench, 50), fl_bench_percentile(bench, 99));
    fl_bench_destroy(&bench);
    return rc;
}

static fl_geo_query_t
s_index_query(const fl_world_query_t *q)
{
    return (fl_geo_query_t) {
        .lat = q->lat, .lon = q->lon, .radius_m = q->radius_m,
        .categories = q->categories, .n_categories = q->filtered ? 3 : 0,
        .from_s = q->from_s, .to_s = q->to_s, .max_price_minor = -1,
        .text = q->text[0] ? q->text : NULL, .now_s = NOW_S,
        .sort = FL_GEO_SORT_DISTANCE, .limit = LIMIT,
    };
}

static bool
s_scan_passes(const fl_world_query_t *q, const s_event_t *ev)
{
    if (q->filtered) {
        bool any = false;
        for (size_t i = 0; i < 3; i++)
            any = any || q->categories[i] == ev->category;
        if (!any)
            return false;
    }
    if ((q->from_s && ev->end_s <= q->from_s) || (q->to_s && ev->start_s >= q->to_s))
        return false;
    return q->text[0] == '\0' || (ev->words & q->prefix_words) != 0;
}

static int
s_cmp_match(const void *a, const void *b)
{
    const s_match_t *x = a, *y = b;
    if (x->d != y->d)
        return x->d < y->d ? -1 : 1;
    return x->event < y->event ? -1 : x->event > y->event;
}

/*  The first page of Q by a full scan: event numbers into PAGE, their
 *  count returned.  MATCHES has room for every event.  */
static size_t
s_scan(const s_event_t *events, uint32_t n, const fl_world_query_t *q, s_match_t *matches,
       uint32_t *page)
{
    size_t found = 0;
    for (uint32_t i = 0; i < n; i++) {
        if (!s_scan_passes(q, &events[i]))
            continue;
        double d = fl_geo_distance_m(q->lat, q->lon, events[i].lat, events[i].lon);
        if (d <= q->radius_m)
            matches[found++] = (s_match_t) { d, i };
    }
    qsort(matches, found, sizeof *matches, s_cmp_match);
    size_t k = found < LIMIT ? found : LIMIT;
    for (size_t i = 0; i < k; i++)
        page[i] = matches[i].event;
    return k;
}

/*  The first page of Q from the index, as event numbers.  */
static int
s_ask(const fl_geo_index_t *index, const fl_world_query_t *q, uint32_t *page, size_t *n)
{
    fl_geo_query_t query = s_index_query(q);
    fl_geo_hit_t hits[LIMIT];
    char cursor[FL_GEO_CURSOR_MAX], why[128];
    int rc = fl_geo_index_query(index, &query, hits, n, cursor, why, sizeof why);
    if (rc) {
        fprintf(stderr, "bench_geo: query: %s\n", why);
        return rc;
    }
    for (size_t i = 0; i < *n; i++)
        page[i] = (uint32_t) strtoul(hits[i].id + 2, NULL, 10);
    return 0;
}

typedef struct {
    const char *name;
    double radius_m;
    bool filtered;
} s_kind_t;

/*  Runs COUNT queries of KIND from a fixed seed through the index (or the
 *  scan when MATCHES is set), reported as NAME; the throughput into
 *  *PER_S and the hits into *HITS.  */
static int
s_measure(const char *name, const s_kind_t *kind, size_t count, const fl_geo_index_t *index,
          const s_event_t *events, uint32_t n, s_match_t *matches, double *per_s, size_t *hits)
{
    fl_bench_t *bench = NULL;
    int rc = fl_bench_new(name, &bench);
    uint32_t page[LIMIT];
    fl_world_seed(&s_world, 0xC0FFEEULL + (uint64_t) kind->radius_m + kind->filtered);
    *hits = 0;
    if (rc == 0)
        fl_bench_start(bench);
    for (size_t i = 0; i < count && rc == 0; i++) {
        fl_world_query_t q;
        fl_world_make_query(&s_world, kind->radius_m, kind->filtered, NOW_S, &q);
        size_t got = 0;
        uint64_t t0 = fl_bench_now_us();
        if (matches)
            got = s_scan(events, n, &q, matches, page);
        else
            rc = s_ask(index, &q, page, &got);
        if (rc == 0)
            rc = fl_bench_record(bench, fl_bench_now_us() - t0);
        *hits += got;
    }
    if (rc == 0) {
        fl_bench_stop(bench);
        fl_bench_report(bench, stdout);
        *per_s = fl_bench_ops_per_s(bench);
    }
    fl_bench_destroy(&bench);
    s_sink = *hits;
    return rc;
}

/*  Checks that the index and the scan give the same first pages for the
 *  first COUNT queries of KIND.  Errors: FL_E_CORRUPT when they differ.  */
static int
s_agree(const s_kind_t *kind, size_t count, const fl_geo_index_t *index,
        const s_event_t *events, uint32_t n, s_match_t *matches)
{
    fl_world_seed(&s_world, 0xC0FFEEULL + (uint64_t) kind->radius_m + kind->filtered);
    int rc = 0;
    for (size_t i = 0; i < count && rc == 0; i++) {
        fl_world_query_t q;
        fl_world_make_query(&s_world, kind->radius_m, kind->filtered, NOW_S, &q);
        uint32_t a[LIMIT], b[LIMIT];
        size_t na = 0, nb = s_scan(events, n, &q, matches, b);
        rc = s_ask(index, &q, a, &na);
        if (rc == 0 && (na != nb || memcmp(a, b, na * sizeof *a) != 0))
            rc = FL_E_CORRUPT;
    }
    return rc;
}

static int
s_kind(const s_kind_t *kind, const fl_geo_index_t *index, const s_event_t *events, uint32_t n,
       s_match_t *matches)
{
    char name[96];
    double fast = 0, slow = 0;
    size_t hits = 0, scan_hits = 0;
    int rc = s_agree(kind, SCAN_QUERIES, index, events, n, matches);
    if (rc == FL_E_CORRUPT)
        fprintf(stderr, "bench_geo: %s: index and scan disagree\n", kind->name);
    snprintf(name, sizeof name, "%s, index", kind->name);
    if (rc == 0)
        rc = s_measure(name, kind, INDEX_QUERIES, index, events, n, NULL, &fast, &hits);
    snprintf(name, sizeof name, "%s, scan", kind->name);
    if (rc == 0)
        rc = s_measure(name, kind, SCAN_QUERIES, index, events, n, matches, &slow, &scan_hits);
    if (rc == 0)
        printf("%s: %.1f hits per query; ratio index/scan throughput: %.0f\n", kind->name,
               (double) hits / INDEX_QUERIES, fast / slow);
    return rc;
}

/*  Reads "--events N" and "--cell-deg D", each optional.  */
static int
s_parse(int argc, char **argv, uint32_t *n, double *cell_deg)
{
    *n = DEFAULT_EVENTS;
    *cell_deg = DEFAULT_CELL_DEG;
    for (int i = 1; i < argc; i += 2) {
        char *end = NULL;
        if (i + 1 == argc)
            return FL_E_INVAL;
        if (strcmp(argv[i], "--events") == 0) {
            unsigned long v = strtoul(argv[i + 1], &end, 10);
            if (*end != '\0' || v == 0 || v > MAX_EVENTS)
                return FL_E_INVAL;
            *n = (uint32_t) v;
        } else if (strcmp(argv[i], "--cell-deg") == 0) {
            *cell_deg = strtod(argv[i + 1], &end);
            if (*end != '\0')
                return FL_E_INVAL;
        } else {
            return FL_E_INVAL;
        }
    }
    return 0;
}

int
main(int argc, char **argv)
{
    static const s_kind_t kinds[] = {
        { "nearby 2 km by distance", 2000, false },
        { "nearby 10 km by distance", 10000, false },
        { "nearby 10 km, category + window + text", 10000, true },
    };
    uint32_t n;
    double cell_deg;
    fl_geo_index_t *index = NULL;
    if (s_parse(argc, argv, &n, &cell_deg) != 0 || !(index = fl_geo_index_new(cell_deg))) {
        fprintf(stderr, "usage: bench_geo [--events N] [--cell-deg D]\n");
        return 2;
    }
    printf("%" PRIu32 " events, cells of %g degrees, one thread\n", n, cell_deg);
    fl_world_seed(&s_world, FL_WORLD_SEED);
    s_event_t *events = calloc(n, sizeof *events);
    s_match_t *matches = calloc(n, sizeof *matches);
    int rc = events && matches ? 0 : FL_E_NOMEM;
    if (rc == 0)
        rc = s_build(index, events, n);
    if (rc == 0)
        printf("memory: %.1f bytes per indexed event (%zu bytes for %zu events)\n",
               (double) fl_geo_index_memory(index) / n, fl_geo_index_memory(index),
               fl_geo_index_size(index));
    for (size_t k = 0; k < sizeof kinds / sizeof kinds[0] && rc == 0; k++)
        rc = s_kind(&kinds[k], index, events, n, matches);
    fl_geo_index_destroy(&index);
    free(events);
    free(matches);
    if (rc != 0) {
        fprintf(stderr, "bench_geo: %s\n", fl_strerror(rc));
        return 1;
    }
    return 0;
}
