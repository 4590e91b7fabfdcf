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
#include "actors/geo/geo.h"
#include "actors/geo/index.h"
#include "node/error.h"

#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define DEFAULT_EVENTS 1000000
#define MAX_EVENTS 20000000UL
#define INDEX_QUERIES 2000
#define SCAN_QUERIES 20
#define LIMIT 50
#define DEFAULT_CELL_DEG FL_GEO_CELL_DEG
#define N_CATEGORIES 12
#define NOW_S 1767225600            /* 2026-01-01 */
#define DAY_S 86400
#define PI 3.14159265358979323846

typedef struct {
    const char *shown;
    const char *folded;
} s_word_t;

static const s_word_t s_vocab[64] = {
    { "Jazz", "jazz" }, { "Night", "night" }, { "Café", "cafe" }, { "Rock", "rock" },
    { "Open", "open" }, { "Air", "air" }, { "Market", "market" }, { "Food", "food" },
    { "Street", "street" }, { "Festival", "festival" }, { "Fête", "fete" },
    { "Music", "music" }, { "Live", "live" }, { "Comedy", "comedy" }, { "Show", "show" },
    { "Art", "art" }, { "Gallery", "gallery" }, { "Opening", "opening" },
    { "Yoga", "yoga" }, { "Park", "park" }, { "Run", "run" }, { "Club", "club" },
    { "Book", "book" }, { "Reading", "reading" }, { "Wine", "wine" },
    { "Tasting", "tasting" }, { "Beer", "beer" }, { "Garden", "garden" },
    { "Workshop", "workshop" }, { "Dance", "dance" }, { "Salsa", "salsa" },
    { "Tango", "tango" }, { "Cinema", "cinema" }, { "Film", "film" },
    { "Screening", "screening" }, { "Poetry", "poetry" }, { "Slam", "slam" },
    { "Brunch", "brunch" }, { "Vinyl", "vinyl" }, { "Fair", "fair" },
    { "Crêpe", "crepe" }, { "Kids", "kids" }, { "Family", "family" }, { "Tour", "tour" },
    { "Walking", "walking" }, { "History", "history" }, { "Science", "science" },
    { "Talk", "talk" }, { "Startup", "startup" }, { "Meetup", "meetup" },
    { "Code", "code" }, { "Chess", "chess" }, { "Board", "board" }, { "Games", "games" },
    { "Quiz", "quiz" }, { "Karaoke", "karaoke" }, { "Sunset", "sunset" },
    { "River", "river" }, { "Boat", "boat" }, { "Party", "party" }, { "Choir", "choir" },
    { "Opera", "opera" }, { "Ballet", "ballet" }, { "Naïve", "naive" },
};

static char *s_tags[8] = { "outdoor", "indoor", "free", "kids", "music", "food", "art",
                           "sport" };

static const struct {
    double lat, lon, sigma_deg, share;
    const char *tz;
} s_cities[8] = {
    { 48.8566, 2.3522, 0.08, 0.15, "Europe/Paris" },
    { 51.5074, -0.1278, 0.12, 0.15, "Europe/London" },
    { 40.7128, -74.0060, 0.10, 0.12, "America/New_York" },
    { 35.6762, 139.6503, 0.15, 0.10, "Asia/Tokyo" },
    { -23.5505, -46.6333, 0.12, 0.06, "America/Sao_Paulo" },
    { 52.5200, 13.4050, 0.07, 0.05, "Europe/Berlin" },
    { 19.0760, 72.8777, 0.10, 0.04, "Asia/Kolkata" },
    { -33.8688, 151.2093, 0.10, 0.03, "Australia/Sydney" },
};

/*  What the scan knows of an event.  */
typedef struct {
    double lat, lon;
    int64_t start_s, end_s;
    uint64_t words;                 /* bit i: s_vocab[i] is in the title */
    uint8_t category;
} s_event_t;

typedef struct {
    double lat, lon, radius_m;
    int categories[3];
    size_t n_categories;
    int64_t from_s, to_s;
    char text[32];                  /* "" or one folded prefix */
    uint64_t prefix_words;          /* the words the prefix begins */
} s_nearby_t;

typedef struct {
    double d;
    uint32_t event;
} s_match_t;

static volatile size_t s_sink;
static uint64_t s_rng = 0x6E0BE7C4ULL;

static uint64_t
s_next(void)
{
    uint64_t z = (s_rng += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

static double
s_unit(void)
{
    return (double) (s_next() >> 11) * 0x1p-53;
}

static double
s_gauss(void)
{
    return sqrt(-2 * log(1 - s_unit())) * cos(2 * PI * s_unit());
}

static void
s_event_id(uint32_t i, char *id)
{
    snprintf(id, FL_GEO_ID_MAX, "ev%07" PRIu32, i);
}

/*  The city an event or a query centre belongs to, or -1 for the
 *  background.  */
static int
s_pick_city(void)
{
    double u = s_unit();
    for (int c = 0; c < 8; c++) {
        if (u < s_cities[c].share)
            return c;
        u -= s_cities[c].share;
    }
    return -1;
}

static void
s_place(double *lat, double *lon, int *city)
{
    *city = s_pick_city();
    if (*city < 0) {
        *lat = -55 + 125 * s_unit();
        *lon = -180 + 360 * s_unit();
        return;
    }
    double sigma = s_cities[*city].sigma_deg;
    *lat = s_cities[*city].lat + sigma * s_gauss();
    *lon = s_cities[*city].lon + sigma * s_gauss() / cos(s_cities[*city].lat * PI / 180);
}

/*  A title of three to six vocabulary words into TEXT; their bits.  */
static uint64_t
s_title(char *text, size_t cap)
{
    uint64_t words = 0;
    size_t k = 0;
    int n = 3 + (int) (s_next() % 4);
    text[0] = '\0';
    for (int i = 0; i < n; i++) {
        int w = (int) (s_next() % 64);
        words |= 1ULL << w;
        k += (size_t) snprintf(text + k, cap - k, "%s%s", i ? " " : "", s_vocab[w].shown);
    }
    return words;
}

/*  Makes event I, both as the index gets it and as the scan keeps it.  */
static void
s_make(uint32_t i, fl_geo_entry_t *e, s_event_t *ev, char *text, size_t cap)
{
    int city;
    memset(e, 0, sizeof *e);
    s_event_id(i, e->id);
    s_place(&e->lat, &e->lon, &city);
    e->lat = fmax(-90, fmin(90, e->lat));
    e->lon = e->lon > 180 ? e->lon - 360 : e->lon < -180 ? e->lon + 360 : e->lon;
    e->start_s = NOW_S + (int64_t) (s_next() % (30 * DAY_S));
    e->end_s = e->start_s + 3600 * (1 + (int64_t) (s_next() % 4));
    snprintf(e->tz, sizeof e->tz, "%s", city < 0 ? "UTC" : s_cities[city].tz);
    e->category = 1 + (int) (s_next() % N_CATEGORIES);
    e->price_type = 1 + (int) (s_next() % 3);
    e->price_minor = e->price_type == 1 ? 0 : s_next() % 5000;
    e->free_spots = (int32_t) (s_next() % 200) - 1;
    e->popularity = (uint32_t) (s_next() % 2000);
    e->tags = &s_tags[s_next() % 6];
    e->n_tags = s_next() % 3;
    uint64_t words = s_title(text, cap);
    e->text = text;
    *ev = (s_event_t) { e->lat, e->lon, e->start_s, e->end_s, words, (uint8_t) e->category };
}

/*  Puts N generated events, timing every 16th put.  */
static int
s_build(fl_geo_index_t *index, s_event_t *events, uint32_t n)
{
    char text[256];
    fl_geo_entry_t e;
    fl_bench_t *bench = NULL;
    int rc = fl_bench_new("index put", &bench);
    uint64_t start = fl_bench_now_us();
    for (uint32_t i = 0; i < n && rc == 0; i++) {
        s_make(i, &e, &events[i], text, sizeof text);
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

/*  A query of kind FILTERED or not, of RADIUS_M, centred where events
 *  are.  */
static void
s_nearby(s_nearby_t *q, double radius_m, bool filtered)
{
    int city;
    memset(q, 0, sizeof *q);
    s_place(&q->lat, &q->lon, &city);
    q->lat = fmax(-90, fmin(90, q->lat));
    q->lon = q->lon > 180 ? q->lon - 360 : q->lon < -180 ? q->lon + 360 : q->lon;
    q->radius_m = radius_m;
    if (!filtered)
        return;
    q->n_categories = 3;
    for (int i = 0; i < 3; i++)
        q->categories[i] = 1 + (int) (s_next() % N_CATEGORIES);
    q->from_s = NOW_S + (int64_t) (s_next() % (3 * DAY_S));
    q->to_s = q->from_s + 3 * DAY_S;
    const char *word = s_vocab[s_next() % 64].folded;
    snprintf(q->text, sizeof q->text, "%.*s", 3 + (int) (s_next() % 2), word);
    for (int w = 0; w < 64; w++)
        if (strncmp(s_vocab[w].folded, q->text, strlen(q->text)) == 0)
            q->prefix_words |= 1ULL << w;
}

static fl_geo_query_t
s_index_query(const s_nearby_t *q)
{
    return (fl_geo_query_t) {
        .lat = q->lat, .lon = q->lon, .radius_m = q->radius_m,
        .categories = q->categories, .n_categories = q->n_categories,
        .from_s = q->from_s, .to_s = q->to_s, .max_price_minor = -1,
        .text = q->text[0] ? q->text : NULL, .now_s = NOW_S,
        .sort = FL_GEO_SORT_DISTANCE, .limit = LIMIT,
    };
}

static bool
s_scan_passes(const s_nearby_t *q, const s_event_t *ev)
{
    if (q->n_categories) {
        bool any = false;
        for (size_t i = 0; i < q->n_categories; i++)
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
s_scan(const s_event_t *events, uint32_t n, const s_nearby_t *q, s_match_t *matches,
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
s_ask(const fl_geo_index_t *index, const s_nearby_t *q, uint32_t *page, size_t *n)
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
    s_rng = 0xC0FFEEULL + (uint64_t) kind->radius_m + kind->filtered;
    *hits = 0;
    if (rc == 0)
        fl_bench_start(bench);
    for (size_t i = 0; i < count && rc == 0; i++) {
        s_nearby_t q;
        s_nearby(&q, kind->radius_m, kind->filtered);
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
    s_rng = 0xC0FFEEULL + (uint64_t) kind->radius_m + kind->filtered;
    int rc = 0;
    for (size_t i = 0; i < count && rc == 0; i++) {
        s_nearby_t q;
        s_nearby(&q, kind->radius_m, kind->filtered);
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
