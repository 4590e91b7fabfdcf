/*  The geo shard index: exactness against a brute-force scan, the hard
 *  places of a grid (poles, antimeridian, huge and tiny radii, the
 *  boundary), every filter and order, pages, bad input, and updates; and
 *  pages merged from several indexes (fl_geo_merge), as a session merges
 *  the shards of a cluster.
 *
 *  The randomised tests use a fixed seed and print it, with the failing
 *  query, when a result differs from the scan.  */
#include "actors/geo/geo.h"
#include "actors/geo/index.h"
#include "node/error.h"
#include "tests/testlib.h"

#include <math.h>

#define WHY 256
#define SEED 0x5EED0F10A5ULL
#define MAX_HITS 12000
#define DEG_M (FL_GEO_EARTH_RADIUS_M * 3.14159265358979323846 / 180.0)

/*  ---------------------------------------------------------------------
 *  Helpers
 */

static uint64_t s_rng;

static uint64_t
s_next(void)
{
    uint64_t z = (s_rng += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

/*  Uniform in [0, 1).  */
static double
s_unit(void)
{
    return (double) (s_next() >> 11) * 0x1p-53;
}

static double
s_gauss(void)
{
    double u = s_unit(), v = s_unit();
    return sqrt(-2 * log(1 - u)) * cos(2 * 3.14159265358979323846 * v);
}

static double
s_wrap_lon(double lon)
{
    while (lon > 180)
        lon -= 360;
    while (lon < -180)
        lon += 360;
    return lon;
}

static double
s_clamp_lat(double lat)
{
    return lat > 90 ? 90 : lat < -90 ? -90 : lat;
}

/*  A plain event ID at LAT, LON: category 1, free, no capacity limit,
 *  from 1000 to 2000 in Europe/Paris, no text, no tags.  */
static fl_geo_entry_t
s_entry(const char *id, double lat, double lon)
{
    fl_geo_entry_t e = {
        .lat = lat, .lon = lon, .start_s = 1000, .end_s = 2000, .category = 1,
        .price_type = 1, .price_minor = 0, .free_spots = -1, .popularity = 0,
    };
    snprintf(e.id, sizeof e.id, "%s", id);
    snprintf(e.tz, sizeof e.tz, "%s", "Europe/Paris");
    return e;
}

static void
s_put(fl_geo_index_t *ix, const fl_geo_entry_t *e)
{
    FL_CHECK_INT(fl_geo_index_put(ix, e), ==, 0);
}

static void
s_put_at(fl_geo_index_t *ix, const char *id, double lat, double lon)
{
    fl_geo_entry_t e = s_entry(id, lat, lon);
    s_put(ix, &e);
}

/*  A query of everything within RADIUS_M of LAT, LON by distance.  */
static fl_geo_query_t
s_query(double lat, double lon, double radius_m)
{
    return (fl_geo_query_t) {
        .lat = lat, .lon = lon, .radius_m = radius_m, .max_price_minor = -1,
        .sort = FL_GEO_SORT_DISTANCE, .limit = FL_GEO_LIMIT_MAX,
    };
}

/*  Runs Q page by page (Q.limit each) to the end; the hits into OUT (room
 *  for MAX_HITS), their number returned.  Every page but the last must be
 *  full, and only it may come without a cursor.  */
static size_t
s_walk(const fl_geo_index_t *ix, fl_geo_query_t q, fl_geo_hit_t *out)
{
    char cursors[2][FL_GEO_CURSOR_MAX], why[WHY];
    size_t total = 0;
    q.cursor = NULL;
    for (int page = 0;; page++) {
        char *next = cursors[page % 2];
        size_t n = 0;
        FL_CHECK(total + q.limit <= MAX_HITS);
        int rc = fl_geo_index_query(ix, &q, out + total, &n, next, why, sizeof why);
        if (rc != 0)
            fprintf(stderr, "query: %s\n", why);
        FL_CHECK_INT(rc, ==, 0);
        FL_CHECK(n <= q.limit);
        total += n;
        if (next[0] == '\0')
            return total;
        FL_CHECK_INT(n, ==, q.limit);
        q.cursor = next;
    }
}

/*  The ids Q finds, in order, separated by spaces.  */
static const char *
s_ids(const fl_geo_index_t *ix, fl_geo_query_t q)
{
    static fl_geo_hit_t hits[MAX_HITS];
    static char out[MAX_HITS * 8];
    size_t n = s_walk(ix, q, hits), k = 0;
    out[0] = '\0';
    for (size_t i = 0; i < n && k + FL_GEO_ID_MAX + 1 < sizeof out; i++)
        k += (size_t) snprintf(out + k, sizeof out - k, "%s%s", i ? " " : "", hits[i].id);
    return out;
}

static int
s_cmp_id(const void *a, const void *b)
{
    return strcmp(((const fl_geo_hit_t *) a)->id, ((const fl_geo_hit_t *) b)->id);
}

/*  The ids Q finds, in id order, separated by spaces: for results whose
 *  distances tie only up to rounding.  */
static const char *
s_id_set(const fl_geo_index_t *ix, fl_geo_query_t q)
{
    static fl_geo_hit_t hits[MAX_HITS];
    static char out[MAX_HITS * 8];
    size_t n = s_walk(ix, q, hits), k = 0;
    qsort(hits, n, sizeof *hits, s_cmp_id);
    out[0] = '\0';
    for (size_t i = 0; i < n && k + FL_GEO_ID_MAX + 1 < sizeof out; i++)
        k += (size_t) snprintf(out + k, sizeof out - k, "%s%s", i ? " " : "", hits[i].id);
    return out;
}

/*  The message of a refused query, or "ok".  */
static const char *
s_refusal(const fl_geo_index_t *ix, const fl_geo_query_t *q)
{
    static char why[WHY];
    static fl_geo_hit_t hits[FL_GEO_LIMIT_MAX];
    char cursor[FL_GEO_CURSOR_MAX];
    size_t n = 99;
    int rc = fl_geo_index_query(ix, q, hits, &n, cursor, why, sizeof why);
    if (rc == 0)
        return "ok";
    FL_CHECK_INT(rc, ==, FL_E_INVAL);
    FL_CHECK_INT(n, ==, 0);
    FL_CHECK_STR(cursor, "");
    return why;
}

/*  ---------------------------------------------------------------------
 *  Brute force
 */

/*  True when A comes strictly before B in ORDER.  */
static bool
s_before(fl_geo_sort_t sort, const fl_geo_hit_t *a, const fl_geo_hit_t *b)
{
    if (sort == FL_GEO_SORT_START && a->start_s != b->start_s)
        return a->start_s < b->start_s;
    if (sort != FL_GEO_SORT_RELEVANCE && a->distance_m != b->distance_m)
        return a->distance_m < b->distance_m;
    if (sort == FL_GEO_SORT_RELEVANCE && a->score != b->score)
        return a->score > b->score;
    return strcmp(a->id, b->id) < 0;
}

typedef struct {
    char id[FL_GEO_ID_MAX];
    double lat, lon;
    int64_t start_s;
    uint32_t popularity;
    bool live;
} s_point_t;

typedef struct {
    double d;
    const char *id;
} s_found_t;

static int
s_cmp_found(const void *a, const void *b)
{
    const s_found_t *x = a, *y = b;
    if (x->d != y->d)
        return x->d < y->d ? -1 : 1;
    return strcmp(x->id, y->id);
}

static int
s_cmp_found_id(const void *a, const void *b)
{
    return strcmp(((const s_found_t *) a)->id, ((const s_found_t *) b)->id);
}

static int
s_cmp_hit_id(const void *a, const void *b)
{
    return strcmp(((const fl_geo_hit_t *) a)->id, ((const fl_geo_hit_t *) b)->id);
}

/*  True when the N hits, each strictly after the one before in ORDER, have
 *  the ids of the N_WANT scan results WANT (sorted by id).  Sorts HITS.  */
static bool
s_same_ids(fl_geo_sort_t sort, fl_geo_hit_t *hits, size_t n, const s_found_t *want,
           size_t n_want)
{
    for (size_t i = 1; i < n; i++)
        if (!s_before(sort, &hits[i - 1], &hits[i]))
            return false;
    qsort(hits, n, sizeof *hits, s_cmp_hit_id);
    bool same = n == n_want;
    for (size_t i = 0; same && i < n; i++)
        same = strcmp(hits[i].id, want[i].id) == 0;
    return same;
}

/*  True when the hits are exactly WANT, which is in distance order.  */
static bool
s_same_hits(const fl_geo_hit_t *hits, size_t n, const s_found_t *want, size_t n_want)
{
    bool same = n == n_want;
    for (size_t i = 0; same && i < n; i++)
        same = strcmp(hits[i].id, want[i].id) == 0 && hits[i].distance_m == want[i].d;
    return same;
}

/*  Checks that the index finds exactly the live points of PTS within
 *  RADIUS_M of LAT, LON that a scan with fl_geo_distance_m finds: in the
 *  scan's order by distance, with pages of a size that varies with
 *  QUERY_NO; and the same set in order by start and by relevance.  */
static void
s_check_exact(const fl_geo_index_t *ix, const s_point_t *pts, size_t n, double lat, double lon,
              double radius_m, size_t query_no)
{
    static fl_geo_hit_t hits[MAX_HITS];
    static s_found_t want[MAX_HITS];
    size_t n_want = 0;
    for (size_t i = 0; i < n; i++) {
        double d = fl_geo_distance_m(lat, lon, pts[i].lat, pts[i].lon);
        if (pts[i].live && d <= radius_m)
            want[n_want++] = (s_found_t) { d, pts[i].id };
    }
    qsort(want, n_want, sizeof *want, s_cmp_found);
    fl_geo_query_t q = s_query(lat, lon, radius_m);
    q.limit = 1 + (query_no * 37) % FL_GEO_LIMIT_MAX;
    bool same = s_same_hits(hits, s_walk(ix, q, hits), want, n_want);
    qsort(want, n_want, sizeof *want, s_cmp_found_id);
    q.limit = 50;
    q.now_s = 1000;
    for (q.sort = FL_GEO_SORT_START; same && q.sort <= FL_GEO_SORT_RELEVANCE; q.sort++)
        same = s_same_ids(q.sort, hits, s_walk(ix, q, hits), want, n_want);
    if (!same) {
        fprintf(stderr, "seed 0x%llX, query %zu: centre %.9f %.9f radius %.6f m, "
                "order %d: the index and the scan differ\n", (unsigned long long) SEED,
                query_no, lat, lon, radius_m, (int) q.sort);
        FL_CHECK(same);
    }
}

/*  Indexes P with its start time and popularity.  */
static void
s_put_point(fl_geo_index_t *ix, const s_point_t *p)
{
    fl_geo_entry_t e = s_entry(p->id, p->lat, p->lon);
    e.start_s = p->start_s;
    e.end_s = p->start_s + 3600;
    e.popularity = p->popularity;
    s_put(ix, &e);
}

/*  Random start time (some past, most within a few days) and
 *  popularity, so that the three orders differ.  */
static void
s_point_life(s_point_t *p)
{
    p->start_s = (int64_t) (s_next() % (5 * 86400));
    p->popularity = (uint32_t) (s_next() % 3000);
}

/*  A random point: uniform in latitude and longitude (so denser near the
 *  poles), with a few exactly on a pole or the antimeridian.  */
static void
s_world_point(s_point_t *p, size_t i)
{
    snprintf(p->id, sizeof p->id, "w%05zu", i);
    p->live = true;
    p->lat = -90 + 180 * s_unit();
    p->lon = -180 + 360 * s_unit();
    if (i % 500 == 1)
        p->lat = i % 1000 == 1 ? 90 : -90;
    if (i % 500 == 2)
        p->lon = i % 1000 == 2 ? 180 : -180;
    s_point_life(p);
}

/*  A point of one of three cities: Paris, dense; Suva, spread across the
 *  antimeridian; Longyearbyen, far north.  */
static void
s_city_point(s_point_t *p, size_t i)
{
    static const double city[3][3] = {
        { 48.8566, 2.3522, 0.05 }, { -18.1416, 178.4419, 1.0 }, { 78.2232, 15.6267, 0.5 },
    };
    const double *c = city[i % 3];
    snprintf(p->id, sizeof p->id, "c%05zu", i);
    p->live = true;
    p->lat = s_clamp_lat(c[0] + c[2] * s_gauss());
    p->lon = s_wrap_lon(c[1] + c[2] * s_gauss());
    s_point_life(p);
}

/*  A query centre for query I: anywhere, near a pole, near the
 *  antimeridian, or near one of the points.  */
static void
s_centre(const s_point_t *pts, size_t n, size_t i, double radius_m, double *lat, double *lon)
{
    double hemisphere = s_unit() < 0.5 ? -1 : 1;
    switch (i % 4) {
    case 0:
        *lat = -90 + 180 * s_unit();
        *lon = -180 + 360 * s_unit();
        break;
    case 1:
        *lat = hemisphere * (88 + 2 * s_unit());
        *lon = -180 + 360 * s_unit();
        break;
    case 2:
        *lat = -70 + 140 * s_unit();
        *lon = s_wrap_lon(180 + hemisphere * s_unit() * 0.5);
        break;
    default: {
        const s_point_t *p = &pts[s_next() % n];
        *lat = s_clamp_lat(p->lat + s_gauss() * radius_m / DEG_M);
        *lon = s_wrap_lon(p->lon + s_gauss() * radius_m / DEG_M);
    }
    }
}

/*  Log-uniform from 1 m to 200 km.  */
static double
s_radius(void)
{
    return exp(log(FL_GEO_RADIUS_MAX_M) * s_unit());
}

static s_point_t *
s_world(size_t n_world, size_t n_city)
{
    s_point_t *pts = calloc(n_world + n_city, sizeof *pts);
    FL_CHECK(pts);
    for (size_t i = 0; i < n_world; i++)
        s_world_point(&pts[i], i);
    for (size_t i = 0; i < n_city; i++)
        s_city_point(&pts[n_world + i], i);
    return pts;
}

static void
s_exact_run(double cell_deg, size_t n_world, size_t n_city, size_t n_queries)
{
    s_rng = SEED;
    size_t n = n_world + n_city;
    s_point_t *pts = s_world(n_world, n_city);
    fl_geo_index_t *ix = fl_geo_index_new(cell_deg);
    for (size_t i = 0; i < n; i++)
        s_put_point(ix, &pts[i]);
    FL_CHECK_INT(fl_geo_index_size(ix), ==, n);
    for (size_t q = 0; q < n_queries; q++) {
        double lat, lon, radius_m = s_radius();
        s_centre(pts, n, q, radius_m, &lat, &lon);
        s_check_exact(ix, pts, n, lat, lon, radius_m, q);
    }
    fl_geo_index_destroy(&ix);
    free(pts);
}

/*  ---------------------------------------------------------------------
 *  Distance and exactness
 */

FL_TEST(distance_is_haversine_on_the_mean_radius)
{
    FL_CHECK(fl_geo_distance_m(48.85, 2.35, 48.85, 2.35) == 0);
    FL_CHECK(fabs(fl_geo_distance_m(0, 0, 0, 1) - DEG_M) < 1e-6);
    FL_CHECK(fabs(fl_geo_distance_m(0, 0, 1, 0) - DEG_M) < 1e-6);
    FL_CHECK(fabs(fl_geo_distance_m(0, 0, 0, 180) - 180 * DEG_M) < 1e-3);
    FL_CHECK(fabs(fl_geo_distance_m(90, 0, -90, 0) - 180 * DEG_M) < 1e-3);
    FL_CHECK(fabs(fl_geo_distance_m(0, 179.5, 0, -179.5) - DEG_M) < 1e-6);
    double paris_london = fl_geo_distance_m(48.8566, 2.3522, 51.5074, -0.1278);
    FL_CHECK(paris_london > 343000 && paris_london < 344500);
}

FL_TEST(index_matches_brute_force_scan)
{
    s_exact_run(0.1, 5000, 5000, 2000);
}

FL_TEST(index_matches_brute_force_for_other_cell_sizes)
{
    static const double cells[] = { 0.01, 1.0, 7.5, 90.0 };
    for (size_t i = 0; i < sizeof cells / sizeof cells[0]; i++)
        s_exact_run(cells[i], 2000, 2000, 300);
}

FL_TEST(random_updates_keep_index_exact)
{
    s_rng = SEED + 1;
    enum { N = 600 };
    s_point_t *pts = s_world(N / 2, N / 2);
    for (size_t i = 0; i < N; i++)
        pts[i].live = false;
    fl_geo_index_t *ix = fl_geo_index_new(0.5);
    size_t live = 0;
    for (int op = 0; op < 20000; op++) {
        unsigned at = (unsigned) (s_next() % N);
        s_point_t *p = &pts[at];
        double roll = s_unit();
        if (roll < 0.5) {
            live += !p->live;
            s_city_point(p, s_next() % 3);
            snprintf(p->id, sizeof p->id, "u%03u", at);
            s_put_point(ix, p);
        } else if (roll < 0.8) {
            FL_CHECK(fl_geo_index_remove(ix, p->id) == p->live);
            live -= p->live;
            p->live = false;
        } else {
            double lat, lon, radius_m = s_radius();
            s_centre(pts, N, (size_t) op, radius_m, &lat, &lon);
            s_check_exact(ix, pts, N, lat, lon, radius_m, (size_t) op);
        }
        FL_CHECK_INT(fl_geo_index_size(ix), ==, live);
    }
    fl_geo_index_destroy(&ix);
    free(pts);
}

FL_TEST(antimeridian_crossing)
{
    fl_geo_index_t *ix = fl_geo_index_new(0.1);
    s_put_at(ix, "east", 0, 179.999);
    s_put_at(ix, "west", 0, -179.998);
    s_put_at(ix, "edge", 0.0001, 180);
    s_put_at(ix, "far", 0, 179.5);
    FL_CHECK_STR(s_ids(ix, s_query(0, 180, 1000)), "edge east west");
    FL_CHECK_STR(s_ids(ix, s_query(0, -180, 1000)), "edge east west");
    FL_CHECK_STR(s_ids(ix, s_query(0, -179.9992, 500)), "edge west east");
    FL_CHECK_STR(s_ids(ix, s_query(0, 179.6, 60000)), "far east edge west");
    fl_geo_index_destroy(&ix);
}

FL_TEST(circle_containing_the_north_pole)
{
    fl_geo_index_t *ix = fl_geo_index_new(0.1);
    s_put_at(ix, "a", 89.95, 0);
    s_put_at(ix, "b", 89.95, 90);
    s_put_at(ix, "c", 89.95, 180);
    s_put_at(ix, "d", 89.95, -90);
    s_put_at(ix, "e", 89.95, -179.99);
    s_put_at(ix, "pole", 90, 0);
    s_put_at(ix, "far", 89.0, 0);
    FL_CHECK_STR(s_id_set(ix, s_query(90, 0, 6000)), "a b c d e pole");
    FL_CHECK_STR(s_id_set(ix, s_query(90, 123, 6000)), "a b c d e pole");
    FL_CHECK_STR(s_id_set(ix, s_query(89.99, 45, 12000)), "a b c d e pole");
    FL_CHECK_STR(s_id_set(ix, s_query(89.99, 45, 5000)), "a b pole");
    FL_CHECK_STR(s_id_set(ix, s_query(89.5, -170, 60000)), "b c d e pole");
    fl_geo_index_destroy(&ix);
}

FL_TEST(radius_far_larger_than_a_cell)
{
    fl_geo_index_t *ix = fl_geo_index_new(0.005);
    static s_point_t pts[41 * 41];
    size_t n = 0;
    for (int i = 0; i <= 40; i++)
        for (int j = 0; j <= 40; j++, n++) {
            pts[n] = (s_point_t) { .lat = 40 + i * 0.1, .lon = 10 + j * 0.1, .live = true };
            snprintf(pts[n].id, sizeof pts[n].id, "g%02d%02d", i, j);
            s_put_point(ix, &pts[n]);
        }
    s_check_exact(ix, pts, n, 42, 12, FL_GEO_RADIUS_MAX_M, 0);
    s_check_exact(ix, pts, n, 41.03, 11.07, 55555, 1);
    fl_geo_index_destroy(&ix);
}

FL_TEST(point_exactly_on_the_boundary_is_included)
{
    fl_geo_index_t *ix = fl_geo_index_new(0.1);
    s_put_at(ix, "rim", 48.9, 2.4);
    double r = fl_geo_distance_m(48.85, 2.35, 48.9, 2.4);
    FL_CHECK_STR(s_ids(ix, s_query(48.85, 2.35, r)), "rim");
    FL_CHECK_STR(s_ids(ix, s_query(48.85, 2.35, nextafter(r, 0))), "");
    s_put_at(ix, "cross", 0.05, 179.98);
    r = fl_geo_distance_m(0, -179.99, 0.05, 179.98);
    FL_CHECK_STR(s_ids(ix, s_query(0, -179.99, r)), "cross");
    FL_CHECK_STR(s_ids(ix, s_query(0, -179.99, nextafter(r, 0))), "");
    fl_geo_index_destroy(&ix);
}

FL_TEST(tiny_radius)
{
    fl_geo_index_t *ix = fl_geo_index_new(0.1);
    static const double lats[] = { 0, 48.85, -60, 89.99998 };
    for (size_t i = 0; i < sizeof lats / sizeof lats[0]; i++) {
        double lat = lats[i];
        char near[8], far[8];
        snprintf(near, sizeof near, "n%zu", i);
        snprintf(far, sizeof far, "f%zu", i);
        s_put_at(ix, near, lat - 0.5 / DEG_M, 30);
        s_put_at(ix, far, lat - 1.5 / DEG_M, 30);
        FL_CHECK_STR(s_ids(ix, s_query(lat, 30, 1)), near);
    }
    s_put_at(ix, "same", 10, 10);
    FL_CHECK_STR(s_ids(ix, s_query(10, 10, 1)), "same");
    fl_geo_index_destroy(&ix);
}

/*  ---------------------------------------------------------------------
 *  Filters
 */

FL_TEST(category_filter_matches_any_of)
{
    fl_geo_index_t *ix = fl_geo_index_new(0.1);
    for (int c = 1; c <= 4; c++) {
        char id[8];
        snprintf(id, sizeof id, "k%d", c);
        fl_geo_entry_t e = s_entry(id, 48.85, 2.35);
        e.category = c;
        s_put(ix, &e);
    }
    fl_geo_query_t q = s_query(48.85, 2.35, 1000);
    const int some[] = { 2, 4, 9 };
    q.categories = some;
    q.n_categories = 3;
    FL_CHECK_STR(s_ids(ix, q), "k2 k4");
    q.n_categories = 0;
    FL_CHECK_STR(s_ids(ix, q), "k1 k2 k3 k4");
    fl_geo_index_destroy(&ix);
}

FL_TEST(tags_filter_needs_all_of_them)
{
    fl_geo_index_t *ix = fl_geo_index_new(0.1);
    char *jazz_outdoor[] = { "jazz", "outdoor" }, *jazz[] = { "jazz" }, *rock[] = { "rock" };
    fl_geo_entry_t a = s_entry("a", 48.85, 2.35), b = a, c = a, d = a;
    snprintf(b.id, sizeof b.id, "b");
    snprintf(c.id, sizeof c.id, "c");
    snprintf(d.id, sizeof d.id, "d");
    a.tags = jazz_outdoor, a.n_tags = 2;
    b.tags = jazz, b.n_tags = 1;
    c.tags = rock, c.n_tags = 1;
    s_put(ix, &a), s_put(ix, &b), s_put(ix, &c), s_put(ix, &d);
    fl_geo_query_t q = s_query(48.85, 2.35, 1000);
    q.tags = jazz, q.n_tags = 1;
    FL_CHECK_STR(s_ids(ix, q), "a b");
    char *both[] = { "outdoor", "jazz" };
    q.tags = both, q.n_tags = 2;
    FL_CHECK_STR(s_ids(ix, q), "a");
    char *jazz_rock[] = { "jazz", "rock" };
    q.tags = jazz_rock;
    FL_CHECK_STR(s_ids(ix, q), "");
    fl_geo_index_destroy(&ix);
}

static void
s_put_timed(fl_geo_index_t *ix, const char *id, int64_t start_s, int64_t end_s, const char *tz)
{
    fl_geo_entry_t e = s_entry(id, 48.85, 2.35);
    e.start_s = start_s;
    e.end_s = end_s;
    snprintf(e.tz, sizeof e.tz, "%s", tz);
    s_put(ix, &e);
}

FL_TEST(window_filter_keeps_overlapping_events)
{
    fl_geo_index_t *ix = fl_geo_index_new(0.1);
    s_put_timed(ix, "t1", 100, 200, "Europe/Paris");
    s_put_timed(ix, "t2", 200, 300, "Europe/Paris");
    s_put_timed(ix, "t3", 300, 400, "Europe/Paris");
    s_put_timed(ix, "t4", 50, 500, "Europe/Paris");
    fl_geo_query_t q = s_query(48.85, 2.35, 1000);
    q.from_s = 200, q.to_s = 300;
    FL_CHECK_STR(s_ids(ix, q), "t2 t4");
    q.from_s = 250, q.to_s = 0;
    FL_CHECK_STR(s_ids(ix, q), "t2 t3 t4");
    q.from_s = 0, q.to_s = 200;
    FL_CHECK_STR(s_ids(ix, q), "t1 t4");
    q.from_s = 450, q.to_s = 460;
    FL_CHECK_STR(s_ids(ix, q), "t4");
    fl_geo_index_destroy(&ix);
}

typedef struct {
    int calls;
} s_zone_arg_t;

/*  "Today" in two zones; any other zone is unknown.  */
static bool
s_today(void *arg, const char *tz, int64_t *from_s, int64_t *to_s)
{
    ((s_zone_arg_t *) arg)->calls++;
    if (strcmp(tz, "Europe/Paris") == 0) {
        *from_s = 1000, *to_s = 2000;
        return true;
    }
    if (strcmp(tz, "America/New_York") == 0) {
        *from_s = 5000, *to_s = 6000;
        return true;
    }
    return false;
}

FL_TEST(zone_window_callback_applies_per_zone)
{
    fl_geo_index_t *ix = fl_geo_index_new(0.1);
    s_put_timed(ix, "p1", 1500, 1600, "Europe/Paris");
    s_put_timed(ix, "p2", 2500, 2600, "Europe/Paris");
    s_put_timed(ix, "n1", 5500, 5600, "America/New_York");
    s_put_timed(ix, "n2", 1500, 1600, "America/New_York");
    s_put_timed(ix, "n3", 5900, 7000, "America/New_York");
    s_put_timed(ix, "m1", 1500, 1600, "Mars/Olympus_Mons");
    s_zone_arg_t arg = { 0 };
    fl_geo_query_t q = s_query(48.85, 2.35, 1000);
    q.window = s_today, q.window_arg = &arg;
    FL_CHECK_STR(s_ids(ix, q), "n1 n3 p1");
    FL_CHECK_INT(arg.calls, ==, 3);
    q.from_s = 5800;
    FL_CHECK_STR(s_ids(ix, q), "n3");
    fl_geo_index_destroy(&ix);
}

static void
s_put_priced(fl_geo_index_t *ix, const char *id, int price_type, uint64_t price_minor,
             int32_t free_spots)
{
    fl_geo_entry_t e = s_entry(id, 48.85, 2.35);
    e.price_type = price_type;
    e.price_minor = price_minor;
    e.free_spots = free_spots;
    s_put(ix, &e);
}

FL_TEST(price_type_filter)
{
    fl_geo_index_t *ix = fl_geo_index_new(0.1);
    s_put_priced(ix, "free", 1, 0, -1);
    s_put_priced(ix, "paid", 2, 1500, -1);
    s_put_priced(ix, "tip", 3, 500, -1);
    fl_geo_query_t q = s_query(48.85, 2.35, 1000);
    const char *want[] = { "free paid tip", "free", "paid", "tip" };
    for (int t = 0; t <= 3; t++) {
        q.price_type = t;
        FL_CHECK_STR(s_ids(ix, q), want[t]);
    }
    fl_geo_index_destroy(&ix);
}

FL_TEST(max_price_filter_lets_free_events_through)
{
    fl_geo_index_t *ix = fl_geo_index_new(0.1);
    s_put_priced(ix, "free", 1, 9999, -1);
    s_put_priced(ix, "cheap", 2, 1000, -1);
    s_put_priced(ix, "dear", 2, 1001, -1);
    s_put_priced(ix, "tip", 3, 200, -1);
    fl_geo_query_t q = s_query(48.85, 2.35, 1000);
    q.max_price_minor = 1000;
    FL_CHECK_STR(s_ids(ix, q), "cheap free tip");
    q.max_price_minor = 0;
    FL_CHECK_STR(s_ids(ix, q), "free");
    q.max_price_minor = -1;
    FL_CHECK_STR(s_ids(ix, q), "cheap dear free tip");
    fl_geo_index_destroy(&ix);
}

FL_TEST(free_spots_filter)
{
    fl_geo_index_t *ix = fl_geo_index_new(0.1);
    s_put_priced(ix, "full", 1, 0, 0);
    s_put_priced(ix, "open", 1, 0, -1);
    s_put_priced(ix, "some", 1, 0, 3);
    fl_geo_query_t q = s_query(48.85, 2.35, 1000);
    FL_CHECK_STR(s_ids(ix, q), "full open some");
    q.free_spots_only = true;
    FL_CHECK_STR(s_ids(ix, q), "open some");
    fl_geo_index_destroy(&ix);
}

static void
s_put_text(fl_geo_index_t *ix, const char *id, const char *text)
{
    fl_geo_entry_t e = s_entry(id, 48.85, 2.35);
    e.text = text;
    s_put(ix, &e);
}

/*  The ids whose text matches TEXT.  */
static const char *
s_text_ids(const fl_geo_index_t *ix, const char *text)
{
    fl_geo_query_t q = s_query(48.85, 2.35, 1000);
    q.text = text;
    return s_ids(ix, q);
}

FL_TEST(text_filter_needs_every_term_and_the_last_by_prefix)
{
    fl_geo_index_t *ix = fl_geo_index_new(0.1);
    s_put_text(ix, "a", "Café Jazz-Night");
    s_put_text(ix, "b", "Jazz brunch, nightly");
    s_put_text(ix, "c", "Rock night");
    s_put_text(ix, "d", NULL);
    FL_CHECK_STR(s_text_ids(ix, "jazz"), "a b");
    FL_CHECK_STR(s_text_ids(ix, "jazz nig"), "a b");
    FL_CHECK_STR(s_text_ids(ix, "jazz night"), "a b");
    FL_CHECK_STR(s_text_ids(ix, "nig jazz"), "");
    FL_CHECK_STR(s_text_ids(ix, "night"), "a b c");
    FL_CHECK_STR(s_text_ids(ix, "jazz rock"), "");
    FL_CHECK_STR(s_text_ids(ix, "ja"), "a b");
    FL_CHECK_STR(s_text_ids(ix, "  "), "a b c d");
    FL_CHECK_STR(s_text_ids(ix, NULL), "a b c d");
    fl_geo_index_destroy(&ix);
}

FL_TEST(text_filter_folds_case_accents_and_width)
{
    fl_geo_index_t *ix = fl_geo_index_new(0.1);
    s_put_text(ix, "a", "Café Jazz-Night");
    s_put_text(ix, "b", "STRASSE Fest \xef\xbc\xa6\xef\xbc\xa9\xef\xbc\xb2\xef\xbc\xa5");
    s_put_text(ix, "c", "Cafe\xcc\x81 Zo\xc3\xab");
    FL_CHECK_STR(s_text_ids(ix, "cafe"), "a c");
    FL_CHECK_STR(s_text_ids(ix, "CAFÉ"), "a c");
    FL_CHECK_STR(s_text_ids(ix, "caf\xc3\xa9 jazz nig"), "a");
    FL_CHECK_STR(s_text_ids(ix, "straße"), "b");
    FL_CHECK_STR(s_text_ids(ix, "fire"), "b");
    FL_CHECK_STR(s_text_ids(ix, "ｆｅｓｔ"), "b");
    FL_CHECK_STR(s_text_ids(ix, "zoe"), "c");
    fl_geo_index_destroy(&ix);
}

/*  ---------------------------------------------------------------------
 *  Orders and pages
 */

FL_TEST(sort_by_distance_breaks_ties_by_id)
{
    fl_geo_index_t *ix = fl_geo_index_new(0.1);
    s_put_at(ix, "z", 48.85, 2.35);
    s_put_at(ix, "y", 48.86, 2.35);
    s_put_at(ix, "b", 48.85, 2.36);
    s_put_at(ix, "a", 48.85, 2.36);
    FL_CHECK_STR(s_ids(ix, s_query(48.85, 2.35, 5000)), "z a b y");
    fl_geo_index_destroy(&ix);
}

FL_TEST(sort_by_start_then_distance_then_id)
{
    fl_geo_index_t *ix = fl_geo_index_new(0.1);
    fl_geo_entry_t e = s_entry("late", 48.85, 2.35);
    e.start_s = 1500;
    s_put(ix, &e);
    e = s_entry("far", 48.87, 2.35);
    s_put(ix, &e);
    e = s_entry("near", 48.86, 2.35);
    s_put(ix, &e);
    e = s_entry("mear", 48.86, 2.35);
    s_put(ix, &e);
    e = s_entry("early", 48.88, 2.35);
    e.start_s = 500;
    s_put(ix, &e);
    fl_geo_query_t q = s_query(48.85, 2.35, 5000);
    q.sort = FL_GEO_SORT_START;
    FL_CHECK_STR(s_ids(ix, q), "early mear near far late");
    fl_geo_index_destroy(&ix);
}

/*  The relevance score as index.h defines it, computed independently.  */
static double
s_expected_score(double text, double d, double radius_m, int64_t start_s, int64_t now_s,
                 uint32_t popularity)
{
    double wait = start_s > now_s ? (double) (start_s - now_s) : 0;
    double pop = log1p(popularity) / log1p(1000);
    return 0.4 * text + 0.3 * exp(-d / radius_m) + 0.2 / (1 + wait / 86400)
           + 0.1 * (pop > 1 ? 1 : pop);
}

FL_TEST(sort_by_relevance_follows_the_documented_score)
{
    fl_geo_index_t *ix = fl_geo_index_new(0.1);
    struct {
        const char *id, *text;
        double lat;
        int64_t start_s;
        uint32_t popularity;
        double text_part;
    } ev[] = {
        { "exact", "jazz night", 48.86, 90000, 10, 1.0 },
        { "prefix", "jazz nightly", 48.85, 1000, 5000, 0.75 },
        { "far", "jazz night", 48.9, 1000, 0, 1.0 },
        { "soon", "jazz nights", 48.85, 10000, 1000, 0.75 },
    };
    int64_t now_s = 5000;
    for (size_t i = 0; i < 4; i++) {
        fl_geo_entry_t e = s_entry(ev[i].id, ev[i].lat, 2.35);
        e.text = ev[i].text;
        e.start_s = ev[i].start_s;
        e.end_s = ev[i].start_s + 3600;
        e.popularity = ev[i].popularity;
        s_put(ix, &e);
    }
    fl_geo_query_t q = s_query(48.85, 2.35, 10000);
    q.text = "Jazz night";
    q.now_s = now_s;
    q.sort = FL_GEO_SORT_RELEVANCE;
    fl_geo_hit_t hits[FL_GEO_LIMIT_MAX];
    char cursor[FL_GEO_CURSOR_MAX], why[WHY];
    size_t n = 0;
    FL_CHECK_INT(fl_geo_index_query(ix, &q, hits, &n, cursor, why, sizeof why), ==, 0);
    FL_CHECK_INT(n, ==, 4);
    for (size_t h = 0; h < n; h++) {
        size_t i = 0;
        while (strcmp(ev[i].id, hits[h].id) != 0)
            i++;
        double d = fl_geo_distance_m(48.85, 2.35, ev[i].lat, 2.35);
        double want = s_expected_score(ev[i].text_part, d, 10000, ev[i].start_s, now_s,
                                       ev[i].popularity);
        FL_CHECK(fabs(hits[h].score - want) < 1e-12);
        FL_CHECK(h == 0 || hits[h - 1].score >= hits[h].score);
    }
    FL_CHECK_STR(s_ids(ix, q), "prefix soon exact far");
    fl_geo_index_destroy(&ix);
}

/*  An index of 300 events around Paris with many ties: shared places,
 *  shared start times, shared popularity.  */
static fl_geo_index_t *
s_crowd(void)
{
    fl_geo_index_t *ix = fl_geo_index_new(0.01);
    for (int i = 0; i < 300; i++) {
        char id[16];
        snprintf(id, sizeof id, "e%03d", (i * 37) % 300);
        fl_geo_entry_t e = s_entry(id, 48.85 + (i % 13) * 0.003, 2.35 + (i % 7) * 0.003);
        e.start_s = 1000 + (i % 5) * 3600;
        e.end_s = e.start_s + 7200;
        e.popularity = (uint32_t) (i % 4) * 10;
        e.text = i % 2 ? "open air jazz" : "jazz night";
        s_put(ix, &e);
    }
    return ix;
}

FL_TEST(cursor_pages_walk_everything_once_for_every_sort)
{
    fl_geo_index_t *ix = s_crowd();
    static fl_geo_hit_t hits[MAX_HITS];
    static const size_t limits[] = { 1, 7, 50, 200 };
    for (int sort = 0; sort < 3; sort++)
        for (size_t l = 0; l < 4; l++) {
            fl_geo_query_t q = s_query(48.87, 2.36, 3000);
            q.sort = (fl_geo_sort_t) sort;
            q.limit = limits[l];
            q.text = "jazz";
            q.now_s = 500;
            size_t n = s_walk(ix, q, hits);
            FL_CHECK_INT(n, ==, 300);
            for (size_t i = 1; i < n; i++)
                FL_CHECK(s_before(q.sort, &hits[i - 1], &hits[i]));
        }
    fl_geo_index_destroy(&ix);
}

FL_TEST(relevance_cursor_keeps_the_first_page_clock)
{
    fl_geo_index_t *ix = s_crowd();
    fl_geo_query_t q = s_query(48.87, 2.36, 3000);
    q.sort = FL_GEO_SORT_RELEVANCE;
    q.limit = 100;
    q.now_s = 500;
    fl_geo_hit_t hits[3 * 100];
    char cursors[3][FL_GEO_CURSOR_MAX], why[WHY];
    size_t total = 0;
    for (int page = 0; page < 3; page++) {
        size_t n = 0;
        FL_CHECK_INT(fl_geo_index_query(ix, &q, hits + total, &n, cursors[page], why, sizeof why),
                     ==, 0);
        total += n;
        q.cursor = cursors[page];
        q.now_s += 7200;
    }
    FL_CHECK_INT(total, ==, 300);
    FL_CHECK_STR(cursors[2], "");
    for (size_t i = 1; i < total; i++)
        FL_CHECK(s_before(FL_GEO_SORT_RELEVANCE, &hits[i - 1], &hits[i]));
    fl_geo_index_destroy(&ix);
}

FL_TEST(malformed_cursor_rejected)
{
    fl_geo_index_t *ix = s_crowd();
    fl_geo_query_t q = s_query(48.87, 2.36, 3000);
    q.limit = 5;
    fl_geo_hit_t hits[5];
    char good[FL_GEO_CURSOR_MAX], why[WHY];
    size_t n = 0;
    FL_CHECK_INT(fl_geo_index_query(ix, &q, hits, &n, good, why, sizeof why), ==, 0);
    FL_CHECK(good[0] == 'd');
    q.cursor = good;
    FL_CHECK_STR(s_refusal(ix, &q), "ok");
    char bad[8][FL_GEO_CURSOR_MAX];
    for (int i = 0; i < 8; i++)
        snprintf(bad[i], sizeof bad[i], "%s", good);
    bad[0][0] = 'x';
    bad[1][5] = 'G';
    bad[2][18] = ':';
    bad[3][strlen(bad[3]) - 1] = '\0';                      /* odd id hex */
    snprintf(bad[4] + 36, sizeof bad[4] - 36, "0041");      /* NUL byte in the id */
    snprintf(bad[5] + 2, sizeof bad[5] - 2, "7ff8000000000000%s", good + 18);   /* NaN */
    bad[6][20] = '1';                                       /* distance cursor, b != 0 */
    bad[7][30] = '\0';
    const char *more[] = { "", "d", "garbage", "d.0000000000000000.0000000000000000." };
    for (int i = 0; i < 8; i++) {
        q.cursor = bad[i];
        FL_CHECK_STR(s_refusal(ix, &q), "cursor: malformed");
    }
    for (int i = 0; i < 4; i++) {
        q.cursor = more[i];
        FL_CHECK_STR(s_refusal(ix, &q), "cursor: malformed");
    }
    q.cursor = good;
    q.sort = FL_GEO_SORT_START;
    FL_CHECK_STR(s_refusal(ix, &q), "cursor: made for another sort order");
    fl_geo_index_destroy(&ix);
}

FL_TEST(bad_query_values_rejected)
{
    fl_geo_index_t *ix = fl_geo_index_new(0.1);
    fl_geo_query_t ok = s_query(48.85, 2.35, 1000), q = ok;
    FL_CHECK_STR(s_refusal(ix, &q), "ok");
    q.radius_m = 0;
    FL_CHECK_STR(s_refusal(ix, &q), "radius_m: must be 1 to 200000");
    q.radius_m = 200001;
    FL_CHECK_STR(s_refusal(ix, &q), "radius_m: must be 1 to 200000");
    q.radius_m = NAN;
    FL_CHECK_STR(s_refusal(ix, &q), "radius_m: must be 1 to 200000");
    q = ok, q.lat = 91;
    FL_CHECK_STR(s_refusal(ix, &q), "lat: must be -90 to 90");
    q = ok, q.lat = NAN;
    FL_CHECK_STR(s_refusal(ix, &q), "lat: must be -90 to 90");
    q = ok, q.lon = -180.5;
    FL_CHECK_STR(s_refusal(ix, &q), "lon: must be -180 to 180");
    q = ok, q.limit = 0;
    FL_CHECK_STR(s_refusal(ix, &q), "limit: must be 1 to 200");
    q.limit = 201;
    FL_CHECK_STR(s_refusal(ix, &q), "limit: must be 1 to 200");
    q = ok, q.price_type = 4;
    FL_CHECK_STR(s_refusal(ix, &q), "price_type: must be 0 to 3");
    q = ok, q.max_price_minor = -2;
    FL_CHECK_STR(s_refusal(ix, &q), "max_price_minor: must be -1 or more");
    q = ok, q.from_s = 100, q.to_s = 100;
    FL_CHECK_STR(s_refusal(ix, &q), "to_s: must be after from_s");
    q = ok, q.sort = (fl_geo_sort_t) 7;
    FL_CHECK_STR(s_refusal(ix, &q), "sort: unknown order");
    q = ok, q.n_categories = 1;
    FL_CHECK_STR(s_refusal(ix, &q), "categories: missing");
    q = ok, q.n_tags = 17;
    FL_CHECK_STR(s_refusal(ix, &q), "tags: more than 16");
    q = ok, q.text = "a b c d e f g h i j k l m n o p q";
    FL_CHECK_STR(s_refusal(ix, &q), "text: more than 16 terms");
    q = ok, q.text = "caf\xc3";
    FL_CHECK_STR(s_refusal(ix, &q), "text: not valid UTF-8");
    fl_geo_index_destroy(&ix);
}

/*  ---------------------------------------------------------------------
 *  Updates
 */

FL_TEST(upsert_moves_a_point)
{
    fl_geo_index_t *ix = fl_geo_index_new(0.1);
    s_put_at(ix, "a", 48.85, 2.35);
    s_put_at(ix, "b", 48.85, 2.35);
    FL_CHECK_STR(s_ids(ix, s_query(48.85, 2.35, 100)), "a b");
    s_put_at(ix, "a", 35.68, 139.69);
    FL_CHECK_INT(fl_geo_index_size(ix), ==, 2);
    FL_CHECK_STR(s_ids(ix, s_query(48.85, 2.35, 100)), "b");
    FL_CHECK_STR(s_ids(ix, s_query(35.68, 139.69, 100)), "a");
    s_put_at(ix, "a", 35.6801, 139.6901);
    FL_CHECK_STR(s_ids(ix, s_query(35.6801, 139.6901, 1)), "a");
    FL_CHECK_STR(s_ids(ix, s_query(35.68, 139.69, 1)), "");
    fl_geo_index_destroy(&ix);
}

FL_TEST(upsert_replaces_every_field)
{
    fl_geo_index_t *ix = fl_geo_index_new(0.1);
    char *old_tags[] = { "rock" }, *new_tags[] = { "jazz" };
    fl_geo_entry_t e = s_entry("a", 48.85, 2.35);
    e.text = "Rock night";
    e.tags = old_tags, e.n_tags = 1;
    s_put(ix, &e);
    e.text = "Jazz brunch";
    e.tags = new_tags;
    e.category = 7;
    s_put(ix, &e);
    fl_geo_query_t q = s_query(48.85, 2.35, 100);
    q.text = "rock";
    FL_CHECK_STR(s_ids(ix, q), "");
    q.text = "brunch";
    q.tags = new_tags, q.n_tags = 1;
    const int seven[] = { 7 };
    q.categories = seven, q.n_categories = 1;
    FL_CHECK_STR(s_ids(ix, q), "a");
    FL_CHECK_INT(fl_geo_index_size(ix), ==, 1);
    fl_geo_index_destroy(&ix);
}

FL_TEST(remove_drops_the_entry)
{
    fl_geo_index_t *ix = fl_geo_index_new(0.1);
    s_put_at(ix, "a", 48.85, 2.35);
    s_put_at(ix, "b", 48.85, 2.35);
    FL_CHECK(fl_geo_index_remove(ix, "a"));
    FL_CHECK(!fl_geo_index_remove(ix, "a"));
    FL_CHECK(!fl_geo_index_remove(ix, "nobody"));
    FL_CHECK_INT(fl_geo_index_size(ix), ==, 1);
    FL_CHECK_STR(s_ids(ix, s_query(48.85, 2.35, 100)), "b");
    FL_CHECK(fl_geo_index_remove(ix, "b"));
    FL_CHECK_STR(s_ids(ix, s_query(48.85, 2.35, 100)), "");
    s_put_at(ix, "a", 48.85, 2.35);
    FL_CHECK_STR(s_ids(ix, s_query(48.85, 2.35, 100)), "a");
    fl_geo_index_destroy(&ix);
}

FL_TEST(remove_ended_drops_finished_events)
{
    fl_geo_index_t *ix = fl_geo_index_new(0.1);
    s_put_timed(ix, "done", 100, 200, "Europe/Paris");
    s_put_timed(ix, "edge", 100, 300, "Europe/Paris");
    s_put_timed(ix, "live", 250, 400, "Europe/Paris");
    FL_CHECK_INT(fl_geo_index_remove_ended(ix, 300), ==, 2);
    FL_CHECK_INT(fl_geo_index_size(ix), ==, 1);
    FL_CHECK_STR(s_ids(ix, s_query(48.85, 2.35, 100)), "live");
    FL_CHECK_INT(fl_geo_index_remove_ended(ix, 300), ==, 0);
    fl_geo_index_destroy(&ix);
}

FL_TEST(put_rejects_bad_entries)
{
    fl_geo_index_t *ix = fl_geo_index_new(0.1);
    fl_geo_entry_t ok = s_entry("a", 48.85, 2.35), e = ok;
    e.id[0] = '\0';
    FL_CHECK_INT(fl_geo_index_put(ix, &e), ==, FL_E_INVAL);
    e = ok, memset(e.id, 'x', sizeof e.id);
    FL_CHECK_INT(fl_geo_index_put(ix, &e), ==, FL_E_INVAL);
    e = ok, e.tz[0] = '\0';
    FL_CHECK_INT(fl_geo_index_put(ix, &e), ==, FL_E_INVAL);
    e = ok, e.lat = 90.5;
    FL_CHECK_INT(fl_geo_index_put(ix, &e), ==, FL_E_INVAL);
    e = ok, e.lon = NAN;
    FL_CHECK_INT(fl_geo_index_put(ix, &e), ==, FL_E_INVAL);
    e = ok, e.end_s = e.start_s - 1;
    FL_CHECK_INT(fl_geo_index_put(ix, &e), ==, FL_E_INVAL);
    e = ok, e.category = 0;
    FL_CHECK_INT(fl_geo_index_put(ix, &e), ==, FL_E_INVAL);
    e = ok, e.price_type = 4;
    FL_CHECK_INT(fl_geo_index_put(ix, &e), ==, FL_E_INVAL);
    e = ok, e.free_spots = -2;
    FL_CHECK_INT(fl_geo_index_put(ix, &e), ==, FL_E_INVAL);
    e = ok, e.n_tags = 1;
    FL_CHECK_INT(fl_geo_index_put(ix, &e), ==, FL_E_INVAL);
    e = ok, e.text = "bad \xff text";
    FL_CHECK_INT(fl_geo_index_put(ix, &e), ==, FL_E_INVAL);
    FL_CHECK_INT(fl_geo_index_size(ix), ==, 0);
    s_put(ix, &ok);
    e = ok, e.lat = 0, e.text = "\xc3";
    FL_CHECK_INT(fl_geo_index_put(ix, &e), ==, FL_E_INVAL);
    FL_CHECK_STR(s_ids(ix, s_query(48.85, 2.35, 100)), "a");
    fl_geo_index_destroy(&ix);
}

FL_TEST(new_rejects_bad_cell_size)
{
    FL_CHECK(fl_geo_index_new(0) == NULL);
    FL_CHECK(fl_geo_index_new(0.004) == NULL);
    FL_CHECK(fl_geo_index_new(-1) == NULL);
    FL_CHECK(fl_geo_index_new(91) == NULL);
    FL_CHECK(fl_geo_index_new(NAN) == NULL);
    fl_geo_index_t *ix = fl_geo_index_new(90);
    FL_CHECK(ix != NULL);
    fl_geo_index_destroy(&ix);
    FL_CHECK(ix == NULL);
    fl_geo_index_destroy(&ix);
}

FL_TEST(memory_follows_the_entries)
{
    fl_geo_index_t *ix = fl_geo_index_new(0.1);
    size_t empty = fl_geo_index_memory(ix);
    for (int i = 0; i < 1000; i++) {
        char id[16];
        snprintf(id, sizeof id, "m%04d", i);
        fl_geo_entry_t e = s_entry(id, 48 + i * 0.001, 2 + i * 0.001);
        e.text = "A rather long title with many words about a jazz night downtown";
        s_put(ix, &e);
    }
    size_t full = fl_geo_index_memory(ix);
    FL_CHECK(full > empty + 1000 * 100);
    FL_CHECK_INT(fl_geo_index_remove_ended(ix, 5000), ==, 1000);
    FL_CHECK(fl_geo_index_memory(ix) < full);
    fl_geo_index_destroy(&ix);
}

FL_TEST(summary_shows_the_indexed_fields_and_follows_updates)
{
    fl_geo_index_t *ix = fl_geo_index_new(0.02);
    fl_geo_entry_t e = s_entry("cellar", 52.52, 13.405);
    e.title = "Jazz im Keller";
    e.price_type = 2;
    e.price_minor = 1500;
    snprintf(e.currency, sizeof e.currency, "EUR");
    s_put(ix, &e);
    size_t with_title = fl_geo_index_memory(ix);
    fl_geo_summary_t s;
    FL_CHECK_INT(fl_geo_index_summary(ix, "cellar", &s), ==, 0);
    FL_CHECK_STR(s.title, "Jazz im Keller");
    FL_CHECK_STR(s.tz, "Europe/Paris");
    FL_CHECK_STR(s.currency, "EUR");
    FL_CHECK(s.lat == 52.52 && s.lon == 13.405);
    FL_CHECK_INT(s.start_s, ==, 1000);
    FL_CHECK_INT(s.end_s, ==, 2000);
    FL_CHECK_INT(s.category, ==, 1);
    FL_CHECK_INT(s.price_type, ==, 2);
    FL_CHECK_INT(s.price_minor, ==, 1500);
    FL_CHECK_INT(s.free_spots, ==, -1);

    /*  Moved to another cell and renamed: the summary follows.  */
    e.lat = 48.85;
    e.lon = 2.35;
    e.title = NULL;
    e.currency[0] = '\0';
    s_put(ix, &e);
    FL_CHECK(fl_geo_index_memory(ix) < with_title);
    FL_CHECK_INT(fl_geo_index_summary(ix, "cellar", &s), ==, 0);
    FL_CHECK_STR(s.title, "");
    FL_CHECK_STR(s.currency, "");
    FL_CHECK(s.lat == 48.85 && s.lon == 2.35);

    FL_CHECK(fl_geo_index_remove(ix, "cellar"));
    FL_CHECK_INT(fl_geo_index_summary(ix, "cellar", &s), ==, FL_E_NOTFOUND);
    FL_CHECK_INT(fl_geo_index_summary(ix, "never", &s), ==, FL_E_NOTFOUND);
    fl_geo_index_destroy(&ix);
}

/*  ---------------------------------------------------------------------
 *  Pages merged from several indexes
 */

FL_TEST(hit_order_follows_each_sort)
{
    fl_geo_hit_t near = { .id = "b", .distance_m = 10, .score = 0.2, .start_s = 900 };
    fl_geo_hit_t far = { .id = "a", .distance_m = 20, .score = 0.7, .start_s = 800 };
    fl_geo_hit_t near_twin = { .id = "c", .distance_m = 10, .score = 0.2, .start_s = 900 };
    FL_CHECK_INT(fl_geo_hit_cmp(FL_GEO_SORT_DISTANCE, &near, &far), <, 0);
    FL_CHECK_INT(fl_geo_hit_cmp(FL_GEO_SORT_DISTANCE, &far, &near), >, 0);
    FL_CHECK_INT(fl_geo_hit_cmp(FL_GEO_SORT_START, &far, &near), <, 0);
    FL_CHECK_INT(fl_geo_hit_cmp(FL_GEO_SORT_RELEVANCE, &far, &near), <, 0);
    FL_CHECK_INT(fl_geo_hit_cmp(FL_GEO_SORT_RELEVANCE, &near, &far), >, 0);
    for (int sort = 0; sort < 3; sort++) {
        FL_CHECK_INT(fl_geo_hit_cmp((fl_geo_sort_t) sort, &near, &near), ==, 0);
        FL_CHECK_INT(fl_geo_hit_cmp((fl_geo_sort_t) sort, &near, &near_twin), <, 0);
        FL_CHECK_INT(fl_geo_hit_cmp((fl_geo_sort_t) sort, &near_twin, &near), >, 0);
    }
    /*  Same start: by distance, then id.  */
    far.start_s = near.start_s;
    FL_CHECK_INT(fl_geo_hit_cmp(FL_GEO_SORT_START, &near, &far), <, 0);
    /*  Distance ignores start and score; relevance ignores distance.  */
    fl_geo_hit_t early = near_twin;
    early.start_s = 1;
    early.score = 0.9;
    FL_CHECK_INT(fl_geo_hit_cmp(FL_GEO_SORT_DISTANCE, &near, &early), <, 0);
    FL_CHECK_INT(fl_geo_hit_cmp(FL_GEO_SORT_RELEVANCE, &early, &far), <, 0);
}

FL_TEST(cursor_after_a_page_is_the_index_cursor)
{
    fl_geo_index_t *ix = s_crowd();
    for (int sort = 0; sort < 3; sort++) {
        fl_geo_query_t q = s_query(48.87, 2.36, 3000);
        q.sort = (fl_geo_sort_t) sort;
        q.limit = 7;
        q.now_s = 500;
        fl_geo_hit_t hits[7];
        size_t n = 0;
        char next[FL_GEO_CURSOR_MAX], after[FL_GEO_CURSOR_MAX], why[WHY];
        FL_CHECK_INT(fl_geo_index_query(ix, &q, hits, &n, next, why, sizeof why), ==, 0);
        FL_CHECK_INT(n, ==, 7);
        fl_geo_cursor_after(q.sort, 500, &hits[6], after);
        FL_CHECK_STR(after, next);
    }
    fl_geo_index_destroy(&ix);
}

FL_TEST(cursor_clock_is_that_of_a_relevance_cursor)
{
    fl_geo_index_t *ix = s_crowd();
    fl_geo_query_t q = s_query(48.87, 2.36, 3000);
    q.limit = 7;
    q.now_s = 123456789;
    fl_geo_hit_t hits[7];
    size_t n = 0;
    char next[FL_GEO_CURSOR_MAX], why[WHY];
    for (int sort = 0; sort < 3; sort++) {
        q.sort = (fl_geo_sort_t) sort;
        FL_CHECK_INT(fl_geo_index_query(ix, &q, hits, &n, next, why, sizeof why), ==, 0);
        FL_CHECK(next[0] != '\0');
        FL_CHECK_INT(fl_geo_cursor_clock(next), ==, sort == FL_GEO_SORT_RELEVANCE ? 123456789 : -1);
    }
    fl_geo_hit_t last = { .id = "e1", .score = 0.5 };
    fl_geo_cursor_after(FL_GEO_SORT_RELEVANCE, 42, &last, next);
    FL_CHECK_INT(fl_geo_cursor_clock(next), ==, 42);

    FL_CHECK_INT(fl_geo_cursor_clock(NULL), ==, -1);
    FL_CHECK_INT(fl_geo_cursor_clock(""), ==, -1);
    FL_CHECK_INT(fl_geo_cursor_clock("r"), ==, -1);
    FL_CHECK_INT(fl_geo_cursor_clock("r.3fe0000000000000.000000000000002a"), ==, -1);
    FL_CHECK_INT(fl_geo_cursor_clock("r.3fe0000000000000.00000000000000zz.6531"), ==, -1);
    FL_CHECK_INT(fl_geo_cursor_clock("r.3fe0000000000000.000000000000002A.6531"), ==, -1);
    FL_CHECK_INT(fl_geo_cursor_clock("garbage that is long enough to be a cursor"), ==, -1);
    /*  The shape of a cursor, not only its clock's digits.  */
    FL_CHECK_INT(fl_geo_cursor_clock("rX3fe0000000000000X000000000000002aXzz"), ==, -1);
    FL_CHECK_INT(fl_geo_cursor_clock("r.3fe0000000000000.000000000000002a.zz"), ==, -1);
    FL_CHECK_INT(fl_geo_cursor_clock("r.3fe0000000000000.000000000000002a.6531"), ==, 42);
    fl_geo_index_destroy(&ix);
}

FL_TEST(page_size_defaults_to_20)
{
    Flow__NearbyRequest req = FLOW__NEARBY_REQUEST__INIT;
    FL_CHECK_INT(fl_geo_limit(&req), ==, 20);
    req.limit = 7;
    FL_CHECK_INT(fl_geo_limit(&req), ==, 7);
}

#define PARTS 3
#define SPLIT_EVENTS 300

/*  One index's page as its geo actor answers it: hits with the event's
 *  id and start, distance and score, and the index's cursor.  */
typedef struct {
    Flow__NearbyReply reply;
    Flow__NearbyHit hit[FL_GEO_LIMIT_MAX];
    Flow__NearbyHit *hits[FL_GEO_LIMIT_MAX];
    Flow__Event event[FL_GEO_LIMIT_MAX];
    char id[FL_GEO_LIMIT_MAX][FL_GEO_ID_MAX];
    char cursor[FL_GEO_CURSOR_MAX];
} s_part_t;

static void
s_part_query(s_part_t *part, const fl_geo_index_t *ix, const fl_geo_query_t *q)
{
    fl_geo_hit_t hits[FL_GEO_LIMIT_MAX];
    size_t n = 0;
    char why[WHY];
    int rc = fl_geo_index_query(ix, q, hits, &n, part->cursor, why, sizeof why);
    if (rc != 0)
        fprintf(stderr, "query: %s\n", why);
    FL_CHECK_INT(rc, ==, 0);
    flow__nearby_reply__init(&part->reply);
    for (size_t i = 0; i < n; i++) {
        memcpy(part->id[i], hits[i].id, sizeof part->id[i]);
        flow__event__init(&part->event[i]);
        part->event[i].id = part->id[i];
        part->event[i].start_s = hits[i].start_s;
        flow__nearby_hit__init(&part->hit[i]);
        part->hit[i].event = &part->event[i];
        part->hit[i].distance_m = hits[i].distance_m;
        part->hit[i].score = hits[i].score;
        part->hits[i] = &part->hit[i];
    }
    part->reply.hits = part->hits;
    part->reply.n_hits = n;
    part->reply.next_cursor = part->cursor;
}

/*  Runs Q page by page over the indexes IXS, each page merged from one
 *  page of each as a session merges its shards', continuing with the
 *  merged cursor; the hits into OUT (room for MAX), their number
 *  returned.  Every page but the last must be full, and only it may come
 *  without a cursor.  */
static size_t
s_walk_merged(fl_geo_index_t *const *ixs, fl_geo_query_t q, fl_geo_hit_t *out, size_t max)
{
    static s_part_t parts[PARTS];
    Flow__NearbyReply *replies[PARTS];
    Flow__NearbyHit *hits[FL_GEO_LIMIT_MAX + 1];
    char cursor[FL_GEO_CURSOR_MAX] = "", next[FL_GEO_CURSOR_MAX];
    Flow__NearbyRequest req = FLOW__NEARBY_REQUEST__INIT;
    req.sort = (Flow__NearbySort) q.sort;
    req.limit = (uint32_t) q.limit;
    req.cursor = cursor;
    size_t total = 0;
    for (size_t page = 0; page <= max; page++) {
        q.cursor = cursor[0] ? cursor : NULL;
        for (size_t i = 0; i < PARTS; i++) {
            s_part_query(&parts[i], ixs[i], &q);
            replies[i] = &parts[i].reply;
        }
        Flow__NearbyReply merged;
        fl_geo_merge(&req, replies, PARTS, q.now_s, hits, next, &merged);
        FL_CHECK(merged.next_cursor == next);
        FL_CHECK(merged.n_hits <= q.limit);
        FL_CHECK(total + merged.n_hits <= max);
        for (size_t i = 0; i < merged.n_hits; i++) {
            fl_geo_hit_t *h = &out[total++];
            snprintf(h->id, sizeof h->id, "%s", merged.hits[i]->event->id);
            h->start_s = merged.hits[i]->event->start_s;
            h->distance_m = merged.hits[i]->distance_m;
            h->score = merged.hits[i]->score;
        }
        if (next[0] == '\0')
            return total;
        FL_CHECK_INT(merged.n_hits, ==, q.limit);
        snprintf(cursor, sizeof cursor, "%s", next);
    }
    FL_CHECK(!"the merged pages end");
    return total;
}

/*  True when the merged walk found exactly the hits of the whole walk, in
 *  its order, with the same keys.  */
static bool
s_same_walk(const fl_geo_hit_t *whole, size_t n_whole, const fl_geo_hit_t *merged,
            size_t n_merged)
{
    bool same = n_whole == n_merged;
    for (size_t i = 0; same && i < n_whole; i++)
        same = strcmp(whole[i].id, merged[i].id) == 0 && whole[i].start_s == merged[i].start_s
               && whole[i].distance_m == merged[i].distance_m
               && whole[i].score == merged[i].score;
    return same;
}

/*  Random events around Paris, with ties (shared places, start times and
 *  popularity) so that every order breaks some by id.  */
static fl_geo_entry_t
s_split_event(int i, const fl_geo_entry_t *previous)
{
    char id[16];
    snprintf(id, sizeof id, "m%03d", (i * 7) % SPLIT_EVENTS);
    fl_geo_entry_t e = s_entry(id, 48.85 + 0.02 * s_gauss(), 2.35 + 0.03 * s_gauss());
    e.start_s = 1000 + (int64_t) (s_next() % 40) * 3600;
    e.end_s = e.start_s + 7200;
    e.popularity = (uint32_t) (s_next() % 50);
    if (previous && i % 10 == 0) {
        e.lat = previous->lat;
        e.lon = previous->lon;
        e.start_s = previous->start_s;
        e.end_s = previous->end_s;
        e.popularity = previous->popularity;
    }
    return e;
}

FL_TEST(merged_pages_of_a_split_index_equal_the_pages_of_the_whole)
{
    static fl_geo_hit_t whole_hits[SPLIT_EVENTS + 1], merged_hits[SPLIT_EVENTS + 1];
    static const size_t limits[] = { 1, 7, 50 };
    s_rng = SEED;
    fl_geo_index_t *whole = fl_geo_index_new(0.01);
    fl_geo_index_t *parts[PARTS];
    for (size_t i = 0; i < PARTS; i++)
        parts[i] = fl_geo_index_new(0.01);
    fl_geo_entry_t previous;
    for (int i = 0; i < SPLIT_EVENTS; i++) {
        fl_geo_entry_t e = s_split_event(i, i ? &previous : NULL);
        s_put(whole, &e);
        s_put(parts[s_next() % PARTS], &e);
        previous = e;
    }
    FL_CHECK_INT(fl_geo_index_size(parts[0]) + fl_geo_index_size(parts[1])
                 + fl_geo_index_size(parts[2]), ==, SPLIT_EVENTS);
    for (int sort = 0; sort < 3; sort++)
        for (size_t l = 0; l < sizeof limits / sizeof limits[0]; l++) {
            fl_geo_query_t q = s_query(48.85, 2.35, 50000);
            q.sort = (fl_geo_sort_t) sort;
            q.limit = limits[l];
            q.now_s = 500;
            size_t n_whole = s_walk(whole, q, whole_hits);
            FL_CHECK_INT(n_whole, ==, SPLIT_EVENTS);
            size_t n_merged = s_walk_merged(parts, q, merged_hits, SPLIT_EVENTS + 1);
            if (!s_same_walk(whole_hits, n_whole, merged_hits, n_merged)) {
                fprintf(stderr, "seed 0x%llX, order %d, limit %zu: the merged pages "
                        "differ from the whole index's (%zu vs %zu hits)\n",
                        (unsigned long long) SEED, sort, q.limit, n_merged, n_whole);
                FL_CHECK(!"the merged pages equal the whole index's");
            }
            qsort(merged_hits, n_merged, sizeof *merged_hits, s_cmp_hit_id);
            for (size_t i = 1; i < n_merged; i++)
                FL_CHECK(strcmp(merged_hits[i - 1].id, merged_hits[i].id) < 0);
        }
    for (size_t i = 0; i < PARTS; i++)
        fl_geo_index_destroy(&parts[i]);
    fl_geo_index_destroy(&whole);
}

FL_TEST(event_held_by_two_parts_is_merged_once)
{
    static fl_geo_hit_t whole_hits[64], merged_hits[64];
    static const size_t limits[] = { 1, 2, 7, 50 };
    s_rng = SEED;
    fl_geo_index_t *whole = fl_geo_index_new(0.01);
    fl_geo_index_t *parts[PARTS];
    for (size_t i = 0; i < PARTS; i++)
        parts[i] = fl_geo_index_new(0.01);
    for (int i = 0; i < 40; i++) {
        fl_geo_entry_t e = s_split_event(i, NULL);
        s_put(whole, &e);
        size_t home = (size_t) i % PARTS;
        s_put(parts[home], &e);
        /*  Every fourth event is moving: the next part holds it too.  */
        if (i % 4 == 0)
            s_put(parts[(home + 1) % PARTS], &e);
    }
    for (int sort = 0; sort < 3; sort++)
        for (size_t l = 0; l < sizeof limits / sizeof limits[0]; l++) {
            fl_geo_query_t q = s_query(48.85, 2.35, 50000);
            q.sort = (fl_geo_sort_t) sort;
            q.limit = limits[l];
            q.now_s = 500;
            size_t n_whole = s_walk(whole, q, whole_hits);
            FL_CHECK_INT(n_whole, ==, 40);
            size_t n_merged = s_walk_merged(parts, q, merged_hits, 64);
            FL_CHECK(s_same_walk(whole_hits, n_whole, merged_hits, n_merged));
        }
    for (size_t i = 0; i < PARTS; i++)
        fl_geo_index_destroy(&parts[i]);
    fl_geo_index_destroy(&whole);
}

/*  Each part holds fewer matches than a page, all of them together more:
 *  no part's reply has a cursor, yet the merged page has one.  Its clock
 *  must still be the one the parts scored with, or the next page scores
 *  with another and loses or repeats hits.  */
FL_TEST(merged_relevance_cursor_keeps_the_query_clock_when_no_part_has_more)
{
    static fl_geo_hit_t whole_hits[16], merged_hits[16];
    fl_geo_index_t *whole = fl_geo_index_new(0.01);
    fl_geo_index_t *parts[PARTS];
    for (size_t i = 0; i < PARTS; i++)
        parts[i] = fl_geo_index_new(0.01);
    for (int i = 0; i < 6; i++) {
        char id[8];
        snprintf(id, sizeof id, "f%d", i);
        fl_geo_entry_t e = s_entry(id, 48.85 + i * 0.0001, 2.35);
        e.start_s = 100000;
        e.end_s = 107200;
        s_put(whole, &e);
        s_put(parts[i % PARTS], &e);
    }
    fl_geo_query_t q = s_query(48.85, 2.35, 5000);
    q.sort = FL_GEO_SORT_RELEVANCE;
    q.limit = 5;
    q.now_s = 500;
    size_t n_whole = s_walk(whole, q, whole_hits);
    FL_CHECK_INT(n_whole, ==, 6);
    size_t n_merged = s_walk_merged(parts, q, merged_hits, 16);
    FL_CHECK_INT(n_merged, ==, 6);
    FL_CHECK(s_same_walk(whole_hits, n_whole, merged_hits, n_merged));
    for (size_t i = 0; i < PARTS; i++)
        fl_geo_index_destroy(&parts[i]);
    fl_geo_index_destroy(&whole);
}
