/*  actors/geo/index.h — the spatial and text index of one geo shard.
 *
 *  The geo actor keeps one index per shard: the upcoming events of a set
 *  of grid cells, upserted and removed by event id, and answers "nearby"
 *  queries: every event within a circle that passes the filters, in one
 *  of three orders, a page at a time.  Owned by the geo actor's thread; no
 *  locking.
 *
 *  Exactness.  An event is in a result if and only if
 *  fl_geo_distance_m(centre, event) <= radius_m: the boundary is
 *  inclusive, and this one function decides, so a brute-force scan with it
 *  gives the same set.  The grid only narrows the candidates; it can never
 *  hide an event (near the poles, across the antimeridian, for radii far
 *  larger than a cell, or for a radius of 1 m).
 *
 *  Text.  An event's text (title, description, tags) is case-folded with
 *  compatibility decomposition (NFKD), stripped of combining marks and
 *  diacritics, and split into tokens at every code point that is not a
 *  letter or a digit: "Café Jazz-Night" gives "cafe", "jazz", "night".  A
 *  query's text is folded and split the same way into terms; an event
 *  matches when every term equals one of its tokens, except the last term,
 *  which may also be a prefix of one ("nig" finds "night").  Text with no
 *  letters or digits is no text filter.
 *
 *  Orders.  Every order breaks ties by event id (bytewise ascending), so it
 *  is total and pages are stable:
 *      FL_GEO_SORT_DISTANCE   distance ascending;
 *      FL_GEO_SORT_START      start time ascending, then distance;
 *      FL_GEO_SORT_RELEVANCE  score descending, where
 *          score = 0.4 text + 0.3 distance + 0.2 time + 0.1 popularity
 *          text       = 1 without a text query, else the sum over the terms
 *                       of 1 for a term equal to a token and 0.5 for a last
 *                       term that is only a prefix of one, over the number
 *                       of terms;
 *          distance   = exp(-distance_m / radius_m);
 *          time       = 1 / (1 + max(0, start_s - now_s) / 86400);
 *          popularity = min(1, log1p(popularity) / log1p(1000)).
 *  Every hit carries its score, whatever the order.
 *
 *  Pages.  A query returns up to `limit` hits and, when more follow, a
 *  cursor: printable text that names the last hit's sort key and id.  The
 *  next page, asked with the same query and that cursor, continues strictly
 *  after that hit, so while the index does not change the pages hold every
 *  match exactly once.  A relevance cursor also carries the first page's
 *  now_s, which later pages score with, so the clock moving between pages
 *  cannot reorder them.
 */
#ifndef FL_GEO_INDEX_H
#define FL_GEO_INDEX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define FL_GEO_EARTH_RADIUS_M 6371008.8
#define FL_GEO_RADIUS_MIN_M 1.0
#define FL_GEO_RADIUS_MAX_M 200000.0
#define FL_GEO_LIMIT_MAX 200
#define FL_GEO_ID_MAX 32            /* bytes with the NUL */
#define FL_GEO_TZ_MAX 64            /* bytes with the NUL */
#define FL_GEO_QUERY_CATEGORIES_MAX 64
#define FL_GEO_QUERY_TAGS_MAX 16
#define FL_GEO_QUERY_TERMS_MAX 16
#define FL_GEO_CURSOR_MAX 128       /* bytes with the NUL */

typedef struct fl_geo_index_t fl_geo_index_t;

/*  One event as the index needs it.  */
typedef struct {
    char id[FL_GEO_ID_MAX];         /* event id, not empty */
    double lat, lon;                /* degrees, [-90, 90] and [-180, 180] */
    int64_t start_s, end_s;         /* UTC, end_s >= start_s */
    char tz[FL_GEO_TZ_MAX];         /* IANA zone of the event */
    int category;                   /* enum value, > 0 */
    int price_type;                 /* 1 free, 2 paid, 3 donation */
    uint64_t price_minor;           /* amount in minor units */
    int32_t free_spots;             /* -1: no capacity limit */
    uint32_t popularity;            /* going + interested */
    const char *text;               /* title, description and tags; NULL = none */
    char *const *tags;              /* already normalised (lower case) */
    size_t n_tags;
    const char *title;              /* for summaries; NULL = none */
    char currency[4];               /* ISO 4217 of price_minor; "" = none */
} fl_geo_entry_t;

/*  What a summary of an event shows (a map pin, a list card), straight
 *  from the index: the strings point into the index and stay valid until
 *  it next changes.  */
typedef struct {
    const char *title;              /* "" when none */
    const char *tz;
    const char *currency;
    double lat, lon;
    int64_t start_s, end_s;
    int category;
    int price_type;
    uint64_t price_minor;
    int32_t free_spots;             /* -1: no capacity limit */
} fl_geo_summary_t;

/*  Great-circle distance in metres between two points given in degrees:
 *  haversine on a sphere of FL_GEO_EARTH_RADIUS_M, the asin argument
 *  clamped to [0, 1].  The one distance the index uses.  */
double fl_geo_distance_m(double lat1, double lon1, double lat2, double lon2);

/*  An empty index over a grid of CELL_DEG degree cells (0.005 to 90; 0.1
 *  suits a city).  NULL when CELL_DEG is out of range or memory runs
 *  out.  */
fl_geo_index_t *fl_geo_index_new(double cell_deg);

/*  NULL-safe, nulls *self_p.  */
void fl_geo_index_destroy(fl_geo_index_t **self_p);

/*  Adds ENTRY, or replaces the entry with its id (moving it when its
 *  position changed).  Copies everything it keeps, so ENTRY's memory stays
 *  the caller's.  On error the index is unchanged.
 *  Errors: FL_E_INVAL (empty or unterminated id or tz, position out of
 *  range, end before start, category <= 0, price type not 1-3, free spots
 *  below -1, a NULL tag, text not valid UTF-8, more than 65535 tags,
 *  distinct tokens or time zones, 4 GiB of tags and tokens),
 *  FL_E_NOMEM.  */
int fl_geo_index_put(fl_geo_index_t *self, const fl_geo_entry_t *entry);

/*  Removes the entry ID; false when there was none.  */
bool fl_geo_index_remove(fl_geo_index_t *self, const char *id);

size_t fl_geo_index_size(const fl_geo_index_t *self);

/*  Removes every entry that has ended by NOW_S (end_s <= now_s) and
 *  returns how many.  */
size_t fl_geo_index_remove_ended(fl_geo_index_t *self, int64_t now_s);

/*  Bytes the index has asked the allocator for (its tables, cells and
 *  entries, with their capacity slack), not counting the allocator's own
 *  overhead.  */
size_t fl_geo_index_memory(const fl_geo_index_t *self);

/*  The summary of indexed event ID into OUT.  Errors: FL_E_NOTFOUND.  */
int fl_geo_index_summary(const fl_geo_index_t *self, const char *id, fl_geo_summary_t *out);

typedef enum {
    FL_GEO_SORT_DISTANCE,
    FL_GEO_SORT_START,
    FL_GEO_SORT_RELEVANCE
} fl_geo_sort_t;

/*  Fills *FROM_S and *TO_S (0 = open) with the window that a keyword such
 *  as "today" means in zone TZ; returns false when TZ cannot be resolved,
 *  and then no event of that zone matches.  Asked at most once per zone
 *  per query.  */
typedef bool (fl_geo_window_fn)(void *arg, const char *tz, int64_t *from_s, int64_t *to_s);

/*  A nearby search.  Windows: an event overlaps the window [from, to)
 *  when end_s > from (or from is open) and start_s < to (or to is open);
 *  with both an absolute and a per-zone window it must overlap both.
 *  Price: a free event (price type 1) passes any max_price_minor; others
 *  pass when price_minor <= max_price_minor.  */
typedef struct {
    double lat, lon;                /* degrees, [-90, 90] and [-180, 180] */
    double radius_m;                /* FL_GEO_RADIUS_MIN_M .. FL_GEO_RADIUS_MAX_M */
    const int *categories;          /* any of, at most _CATEGORIES_MAX; none = all */
    size_t n_categories;
    char *const *tags;              /* all of (normalised), at most _TAGS_MAX */
    size_t n_tags;
    int64_t from_s, to_s;           /* absolute window, 0 = open side */
    fl_geo_window_fn *window;       /* optional per-zone window; NULL = none */
    void *window_arg;
    int price_type;                 /* 0 = any, else 1-3 */
    int64_t max_price_minor;        /* -1 = any */
    bool free_spots_only;           /* only events with free_spots != 0 */
    const char *text;               /* at most _TERMS_MAX terms; NULL = none */
    int64_t now_s;                  /* for relevance's time proximity */
    fl_geo_sort_t sort;
    size_t limit;                   /* 1 .. FL_GEO_LIMIT_MAX */
    const char *cursor;             /* from the previous page, or NULL */
} fl_geo_query_t;

typedef struct {
    char id[FL_GEO_ID_MAX];
    double distance_m;
    double score;                   /* relevance score, as defined above */
    int64_t start_s;
} fl_geo_hit_t;

/*  Runs QUERY: fills HITS (room for query->limit) with the next page of
 *  matches in order, *N_HITS with their number, and NEXT_CURSOR
 *  (FL_GEO_CURSOR_MAX bytes) with the cursor of the page after it, or ""
 *  when no match follows.  WHY (WHYLEN bytes) may be NULL.
 *  Errors: FL_E_INVAL with the reason in WHY ("radius_m: must be 1 to
 *  200000", "cursor: malformed", "cursor: made for another sort order"),
 *  *N_HITS 0 and NEXT_CURSOR ""; FL_E_NOMEM.  */
int fl_geo_index_query(const fl_geo_index_t *self, const fl_geo_query_t *query,
                       fl_geo_hit_t *hits, size_t *n_hits, char *next_cursor, char *why,
                       size_t whylen);

/*  Orders A before B (< 0), after it (> 0) or as the same hit (0), as a
 *  query of SORT pages them.  */
int fl_geo_hit_cmp(fl_geo_sort_t sort, const fl_geo_hit_t *a, const fl_geo_hit_t *b);

/*  Writes into OUT (FL_GEO_CURSOR_MAX bytes) the cursor of the page that
 *  follows hit LAST of a SORT query; NOW_S is the relevance clock.  Pages
 *  merged from several indexes continue with it on each of them.  */
void fl_geo_cursor_after(fl_geo_sort_t sort, int64_t now_s, const fl_geo_hit_t *last, char *out);

/*  The relevance clock a relevance cursor carries, or -1 when CURSOR is
 *  not one.  */
int64_t fl_geo_cursor_clock(const char *cursor);

#endif
