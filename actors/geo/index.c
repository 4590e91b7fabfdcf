/*  actors/geo/index.c — the geo shard index; see index.h.
 *
 *  Layout.  Entries live in one array of fixed-size slots; a removed slot
 *  goes on a free list (threaded through cell_pos, its id emptied), so a
 *  slot number stays valid for the entry's life.  An open-addressing table
 *  maps ids to slots.  The grid is a second table from a cell's number to
 *  a dense array of occupied cells.  Each cell keeps its events' points in
 *  one array: position, times, category and slot, what every query reads,
 *  so a query walks memory cell by cell and reads the entry (price,
 *  spots, tags, words, zone, popularity) only of points that passed those
 *  and can still make the page.  An entry knows its cell and its place in
 *  it, so removal swaps in the cell's last point; a cell that empties is
 *  swapped out of the dense array the same way.  Time zones are interned
 *  (an entry keeps a 16-bit index, and a zone once seen is kept); tags and
 *  the folded text's tokens share one allocation per entry ("words"): the
 *  tags in input order, then the distinct tokens sorted bytewise, each
 *  NUL-terminated.
 *
 *  Invariants:
 *  - every live slot is in the id table once and in exactly one cell,
 *    cells[k].pts[e.cell_pos].slot == slot, and that cell is the one its
 *    position falls in;
 *  - no cell is empty, and the cell table maps each cell's number to its
 *    index in the dense array;
 *  - a put either completes or leaves the index as it was: everything that
 *    can fail (folding, growing arrays and tables, creating the target
 *    cell) happens before the first change.
 *
 *  Queries.  The cover of a circle is a band of rows [lat - d, lat + d]
 *  (d the radius as an angle) and, unless the circle may hold a pole, the
 *  columns within asin(sin(d) / cos(lat)) of the centre, split in two where
 *  they cross the antimeridian; both are widened by S_MARGIN_DEG, far more
 *  than rounding in the distance could move a point across the radius.
 *  The cover only chooses candidates: each is decided by
 *  fl_geo_distance_m <= radius, the filters and the cursor.  Survivors go
 *  through a bounded max-heap of limit + 1 (the worst kept at the root):
 *  the extra one tells whether another page follows.  For the distance
 *  and relevance orders the cells are visited nearest first by a proven
 *  lower bound of their distance (s_cell_bound), and the visit stops once
 *  the heap is full and no farther point could displace its worst; for
 *  the start order every cell of the cover is read.  When the cover names
 *  more cells than are occupied (huge radii, small cells, circles over a
 *  pole) the occupied cells are listed instead of looked up.
 */
#include "actors/geo/index.h"
#include "node/error.h"

#include <assert.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unicase.h>
#include <unictype.h>
#include <uninorm.h>
#include <unistr.h>

#define S_RAD_PER_DEG (3.14159265358979323846 / 180.0)
#define S_MARGIN_DEG 1e-5
#define S_CELL_DEG_MIN 0.005          /* so that a cell number fits 32 bits */
#define S_CELL_DEG_MAX 90.0
#define S_WORDS_MAX UINT16_MAX
#define S_ZONES_MAX UINT16_MAX
#define S_NONE UINT32_MAX
#define S_SLOTS_MAX (UINT32_MAX - 1)
#define S_DAY_S 86400.0
#define S_POPULAR 1000.0

/*  One bucket of an open-addressing table (linear probing, deletion by
 *  backward shift).  The full hash is kept so that growing and shifting
 *  never recompute it, and most mismatches are rejected without looking
 *  at the key.  */
typedef struct {
    uint32_t hash;
    uint32_t ref;                   /* value + 1; 0 = empty */
} s_bucket_t;

typedef struct {
    s_bucket_t *buckets;
    size_t cap;                     /* a power of two, or 0 */
    size_t n;
} s_table_t;

/*  The fields of an event that only some queries read; the rest live in
 *  its point.  */
typedef struct {
    char id[FL_GEO_ID_MAX];         /* "" while the slot is free */
    uint64_t price_minor;
    char *words;                    /* tags, then sorted distinct tokens */
    char *title;                    /* NULL = none */
    char currency[4];
    uint32_t tokens_at;             /* where in words the tokens start */
    uint32_t row, col;              /* the cell */
    uint32_t cell_pos;              /* in the cell; next free slot while free */
    int32_t free_spots;
    uint32_t popularity;
    uint16_t tz;
    uint16_t n_tags;
    uint16_t n_tokens;
    uint8_t price_type;
} s_entry_t;

/*  What every query reads of an event, kept in its cell.  */
typedef struct {
    double lat, lon;
    int64_t start_s, end_s;
    uint32_t slot;
    int32_t category;
} s_point_t;

typedef struct {
    uint32_t row, col;
    uint32_t n, cap;
    s_point_t *pts;
} s_cell_t;

struct fl_geo_index_t {
    double cell_deg;
    uint32_t rows, cols;
    s_entry_t *entries;
    size_t n_slots;                 /* slots ever used: live or free */
    size_t cap_slots;
    uint32_t free_slot;             /* head of the free list, or S_NONE */
    size_t n_entries;
    s_table_t ids;                  /* id -> slot */
    s_cell_t *cells;
    size_t n_cells, cap_cells;
    s_table_t cell_table;           /* cell number -> index in cells */
    char (*zones)[FL_GEO_TZ_MAX];
    size_t n_zones, cap_zones;
    size_t words_bytes;             /* all entries' words */
    size_t points_cap;              /* all cells' point capacity */
};

typedef bool (s_match_fn)(const fl_geo_index_t *self, uint32_t value, const void *key);

/*  ---------------------------------------------------------------------
 *  Distance and grid
 */

/*  Kept out of line so that the index and every caller run the very same
 *  instructions: the boundary is exact only if the same arithmetic decides
 *  it everywhere.  */
__attribute__((noinline)) double
fl_geo_distance_m(double lat1, double lon1, double lat2, double lon2)
{
    double dlat = (lat2 - lat1) * S_RAD_PER_DEG;
    double dlon = (lon2 - lon1) * S_RAD_PER_DEG;
    double s_lat = sin(dlat / 2), s_lon = sin(dlon / 2);
    double a = s_lat * s_lat
               + cos(lat1 * S_RAD_PER_DEG) * cos(lat2 * S_RAD_PER_DEG) * s_lon * s_lon;
    double c = sqrt(a);
    if (c > 1)
        c = 1;
    return 2 * FL_GEO_EARTH_RADIUS_M * asin(c);
}

/*  The grid index of X in [0, N): floor(X / CELL_DEG), clamped, so the
 *  last row and column also hold lat 90 and lon 180.  Monotonic in X,
 *  which is what makes a range of coordinates a range of cells.  */
static uint32_t
s_grid(double x, double cell_deg, uint32_t n)
{
    double k = floor(x / cell_deg);
    if (k < 0)
        return 0;
    if (k >= n)
        return n - 1;
    return (uint32_t) k;
}

static uint32_t
s_row(const fl_geo_index_t *self, double lat)
{
    return s_grid(lat + 90.0, self->cell_deg, self->rows);
}

static uint32_t
s_col(const fl_geo_index_t *self, double lon)
{
    return s_grid(lon + 180.0, self->cell_deg, self->cols);
}

/*  ---------------------------------------------------------------------
 *  Hashing and the open-addressing table
 */

static uint32_t
s_hash_id(const char *id)
{
    uint64_t h = 14695981039346656037ULL;
    for (const unsigned char *p = (const unsigned char *) id; *p; p++)
        h = (h ^ *p) * 1099511628211ULL;
    return (uint32_t) (h ^ (h >> 32));
}

/*  A bijection of the cell number (murmur3's finaliser), so equal hashes
 *  mean equal cells and a lookup never reads the cell array.  */
static uint32_t
s_hash_cell(const fl_geo_index_t *self, uint32_t row, uint32_t col)
{
    uint32_t h = row * self->cols + col;
    h ^= h >> 16;
    h *= 0x85EBCA6BU;
    h ^= h >> 13;
    h *= 0xC2B2AE35U;
    return h ^ (h >> 16);
}

/*  The bucket that holds the value matching KEY, or SIZE_MAX.  MATCH is
 *  NULL when the hash alone identifies the value.  */
static size_t
s_table_find(const s_table_t *t, uint32_t hash, s_match_fn *match, const fl_geo_index_t *self,
             const void *key)
{
    if (t->cap == 0)
        return SIZE_MAX;
    size_t mask = t->cap - 1;
    for (size_t i = hash & mask;; i = (i + 1) & mask) {
        const s_bucket_t *b = &t->buckets[i];
        if (b->ref == 0)
            return SIZE_MAX;
        if (b->hash == hash && (!match || match(self, b->ref - 1, key)))
            return i;
    }
}

/*  Puts a bucket known to be absent; the table has room.  */
static void
s_table_place(s_table_t *t, s_bucket_t bucket)
{
    size_t mask = t->cap - 1;
    size_t i = bucket.hash & mask;
    while (t->buckets[i].ref)
        i = (i + 1) & mask;
    t->buckets[i] = bucket;
}

/*  Makes room for N values at a load of at most 0.7.  */
static int
s_table_reserve(s_table_t *t, size_t n)
{
    if (n * 10 <= t->cap * 7)
        return 0;
    size_t cap = t->cap ? t->cap : 16;
    while (n * 10 > cap * 7)
        cap *= 2;
    s_bucket_t *buckets = calloc(cap, sizeof *buckets);
    if (!buckets)
        return FL_E_NOMEM;
    s_table_t grown = { buckets, cap, t->n };
    for (size_t i = 0; i < t->cap; i++)
        if (t->buckets[i].ref)
            s_table_place(&grown, t->buckets[i]);
    free(t->buckets);
    *t = grown;
    return 0;
}

static void
s_table_insert(s_table_t *t, uint32_t hash, uint32_t value)
{
    s_table_place(t, (s_bucket_t) { hash, value + 1 });
    t->n++;
}

/*  True when the home bucket HOME lies cyclically in (HOLE, AT]: the
 *  bucket at AT must then stay put when HOLE is emptied.  */
static bool
s_stays(size_t home, size_t hole, size_t at)
{
    return hole <= at ? home > hole && home <= at : home > hole || home <= at;
}

static void
s_table_delete(s_table_t *t, size_t hole)
{
    size_t mask = t->cap - 1;
    for (size_t at = (hole + 1) & mask; t->buckets[at].ref; at = (at + 1) & mask) {
        if (s_stays(t->buckets[at].hash & mask, hole, at))
            continue;
        t->buckets[hole] = t->buckets[at];
        hole = at;
    }
    t->buckets[hole].ref = 0;
    t->n--;
}

static bool
s_id_matches(const fl_geo_index_t *self, uint32_t slot, const void *key)
{
    return strcmp(self->entries[slot].id, key) == 0;
}

static uint32_t
s_slot_of(const fl_geo_index_t *self, const char *id)
{
    size_t at = s_table_find(&self->ids, s_hash_id(id), s_id_matches, self, id);
    return at == SIZE_MAX ? S_NONE : self->ids.buckets[at].ref - 1;
}

static size_t
s_cell_bucket(const fl_geo_index_t *self, uint32_t row, uint32_t col)
{
    return s_table_find(&self->cell_table, s_hash_cell(self, row, col), NULL, self, NULL);
}

static uint32_t
s_cell_of(const fl_geo_index_t *self, uint32_t row, uint32_t col)
{
    size_t at = s_cell_bucket(self, row, col);
    return at == SIZE_MAX ? S_NONE : self->cell_table.buckets[at].ref - 1;
}

/*  ---------------------------------------------------------------------
 *  Folding text into tokens
 */

static bool
s_is_mark(ucs4_t uc)
{
    return uc_is_general_category(uc, UC_CATEGORY_M) || uc_is_property_diacritic(uc);
}

/*  Keeps the letters and digits of the folded text F (LEN bytes, room for
 *  LEN + 1) in place, marks dropped, each run of anything else turned into
 *  one NUL that ends a token.  Returns the bytes kept, every token
 *  NUL-terminated.  Writing never overtakes reading: a kept code point is
 *  copied as it was read, a separator of at least one byte becomes one.  */
static size_t
s_split(uint8_t *f, size_t len)
{
    size_t w = 0;
    for (size_t r = 0; r < len;) {
        ucs4_t uc;
        int k = u8_mbtouc(&uc, f + r, len - r);
        if (s_is_mark(uc)) {
            r += (size_t) k;
            continue;
        }
        if (uc_is_alnum(uc)) {
            memmove(f + w, f + r, (size_t) k);
            w += (size_t) k;
        } else if (w > 0 && f[w - 1] != '\0') {
            f[w++] = '\0';
        }
        r += (size_t) k;
    }
    if (w > 0 && f[w - 1] != '\0')
        f[w++] = '\0';
    return w;
}

/*  Folds TEXT into *OUT: its tokens in text order, duplicates kept, each
 *  NUL-terminated, *LEN bytes in all (0 and NULL for none).  Errors:
 *  FL_E_INVAL (not valid UTF-8), FL_E_NOMEM.  */
static int
s_fold(const char *text, char **out, size_t *len)
{
    *out = NULL;
    *len = 0;
    size_t n = text ? strlen(text) : 0;
    if (n == 0)
        return 0;
    if (u8_check((const uint8_t *) text, n))
        return FL_E_INVAL;
    size_t flen = 0;
    uint8_t *f = u8_casefold((const uint8_t *) text, n, NULL, UNINORM_NFKD, NULL, &flen);
    if (!f)
        return FL_E_NOMEM;
    uint8_t *room = realloc(f, flen + 1);
    if (!room) {
        free(f);
        return FL_E_NOMEM;
    }
    *len = s_split(room, flen);
    if (*len == 0) {
        free(room);
        return 0;
    }
    *out = (char *) room;
    return 0;
}

static int
s_cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *) a, *(char *const *) b);
}

/*  Points LIST (room for one per token) at the tokens of FOLDED (LEN
 *  bytes), sorts them and drops repeats; returns how many remain.  */
static size_t
s_distinct(char *folded, size_t len, char **list)
{
    size_t n = 0;
    for (size_t at = 0; at < len; at += strlen(folded + at) + 1)
        list[n++] = folded + at;
    qsort(list, n, sizeof *list, s_cmp_str);
    size_t kept = 0;
    for (size_t i = 0; i < n; i++)
        if (kept == 0 || strcmp(list[kept - 1], list[i]) != 0)
            list[kept++] = list[i];
    return kept;
}

static size_t
s_count_tokens(const char *folded, size_t len)
{
    size_t n = 0;
    for (size_t at = 0; at < len; at += strlen(folded + at) + 1)
        n++;
    return n;
}

/*  Writes the N strings of LIST back to back, each NUL-terminated, at
 *  OUT; returns the end.  */
static char *
s_put_strings(char *out, char *const *list, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        size_t k = strlen(list[i]) + 1;
        memcpy(out, list[i], k);
        out += k;
    }
    return out;
}

static size_t
s_strings_bytes(char *const *list, size_t n)
{
    size_t bytes = 0;
    for (size_t i = 0; i < n; i++)
        bytes += strlen(list[i]) + 1;
    return bytes;
}

/*  An entry's words on their way into it.  */
typedef struct {
    char *words;                    /* NULL when there are none */
    size_t bytes;
    uint32_t tokens_at;             /* where the tokens start, after the tags */
    uint16_t n_tokens;
} s_words_t;

/*  Packs the tags of ENTRY and the N sorted distinct tokens of LIST into
 *  OUT.  Errors: FL_E_INVAL (too many tokens, 4 GiB of words), FL_E_NOMEM.  */
static int
s_pack(const fl_geo_entry_t *entry, char *const *list, size_t n, s_words_t *out)
{
    size_t tags = s_strings_bytes(entry->tags, entry->n_tags);
    size_t total = tags + s_strings_bytes(list, n);
    if (n > S_WORDS_MAX || total > UINT32_MAX)
        return FL_E_INVAL;
    if (total == 0)
        return 0;
    out->words = malloc(total);
    if (!out->words)
        return FL_E_NOMEM;
    s_put_strings(s_put_strings(out->words, entry->tags, entry->n_tags), list, n);
    *out = (s_words_t) { out->words, total, (uint32_t) tags, (uint16_t) n };
    return 0;
}

/*  The words of ENTRY into OUT.  Errors: FL_E_INVAL (text not valid
 *  UTF-8, too many tokens), FL_E_NOMEM.  */
static int
s_words(const fl_geo_entry_t *entry, s_words_t *out)
{
    *out = (s_words_t) { NULL, 0, 0, 0 };
    char *folded = NULL;
    size_t len = 0;
    int rc = s_fold(entry->text, &folded, &len);
    if (rc)
        return rc;
    size_t n = s_count_tokens(folded, len);
    char **list = n ? malloc(n * sizeof *list) : NULL;
    if (n && !list)
        rc = FL_E_NOMEM;
    if (rc == 0 && n)
        n = s_distinct(folded, len, list);
    if (rc == 0)
        rc = s_pack(entry, list, n, out);
    free(list);
    free(folded);
    return rc;
}

static size_t
s_words_bytes(const s_entry_t *e)
{
    const char *p = e->words;
    for (uint32_t i = 0; i < (uint32_t) e->n_tags + e->n_tokens; i++)
        p += strlen(p) + 1;
    return (size_t) (p - e->words);
}

/*  ---------------------------------------------------------------------
 *  Life cycle
 */

fl_geo_index_t *
fl_geo_index_new(double cell_deg)
{
    if (!(cell_deg >= S_CELL_DEG_MIN && cell_deg <= S_CELL_DEG_MAX))
        return NULL;
    fl_geo_index_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->cell_deg = cell_deg;
    self->rows = (uint32_t) ceil(180.0 / cell_deg);
    self->cols = (uint32_t) ceil(360.0 / cell_deg);
    assert((uint64_t) self->rows * self->cols <= (uint64_t) UINT32_MAX + 1);
    self->free_slot = S_NONE;
    return self;
}

void
fl_geo_index_destroy(fl_geo_index_t **self_p)
{
    fl_geo_index_t *self = *self_p;
    if (!self)
        return;
    for (size_t i = 0; i < self->n_slots; i++) {
        free(self->entries[i].words);
        free(self->entries[i].title);
    }
    for (size_t i = 0; i < self->n_cells; i++)
        free(self->cells[i].pts);
    free(self->entries);
    free(self->cells);
    free(self->ids.buckets);
    free(self->cell_table.buckets);
    free(self->zones);
    free(self);
    *self_p = NULL;
}

size_t
fl_geo_index_size(const fl_geo_index_t *self)
{
    return self->n_entries;
}

size_t
fl_geo_index_memory(const fl_geo_index_t *self)
{
    return sizeof *self + self->cap_slots * sizeof(s_entry_t)
           + (self->ids.cap + self->cell_table.cap) * sizeof(s_bucket_t)
           + self->cap_cells * sizeof(s_cell_t) + self->points_cap * sizeof(s_point_t)
           + self->cap_zones * FL_GEO_TZ_MAX + self->words_bytes;
}

/*  ---------------------------------------------------------------------
 *  Putting and removing
 */

static bool
s_terminated(const char *s, size_t size)
{
    return s[0] != '\0' && memchr(s, '\0', size) != NULL;
}

static bool
s_tags_valid(char *const *tags, size_t n)
{
    if (n > S_WORDS_MAX || (n && !tags))
        return false;
    for (size_t i = 0; i < n; i++)
        if (!tags[i])
            return false;
    return true;
}

static bool
s_entry_valid(const fl_geo_entry_t *e)
{
    return s_terminated(e->id, sizeof e->id) && s_terminated(e->tz, sizeof e->tz)
           && e->lat >= -90 && e->lat <= 90 && e->lon >= -180 && e->lon <= 180
           && e->end_s >= e->start_s && e->category > 0 && e->price_type >= 1
           && e->price_type <= 3 && e->free_spots >= -1 && s_tags_valid(e->tags, e->n_tags);
}

/*  The interned index of zone TZ into *AT, added when new.  Errors:
 *  FL_E_INVAL (no room for another zone), FL_E_NOMEM.  */
static int
s_zone(fl_geo_index_t *self, const char *tz, uint16_t *at)
{
    for (size_t i = 0; i < self->n_zones; i++)
        if (strcmp(self->zones[i], tz) == 0) {
            *at = (uint16_t) i;
            return 0;
        }
    if (self->n_zones == S_ZONES_MAX)
        return FL_E_INVAL;
    if (self->n_zones == self->cap_zones) {
        size_t cap = self->cap_zones ? self->cap_zones * 2 : 8;
        void *zones = realloc(self->zones, cap * sizeof *self->zones);
        if (!zones)
            return FL_E_NOMEM;
        self->zones = zones;
        self->cap_zones = cap;
    }
    snprintf(self->zones[self->n_zones], FL_GEO_TZ_MAX, "%s", tz);
    *at = (uint16_t) self->n_zones++;
    return 0;
}

/*  Room for one more slot.  Errors: FL_E_NOMEM.  */
static int
s_reserve_slot(fl_geo_index_t *self)
{
    if (self->free_slot != S_NONE || self->n_slots < self->cap_slots)
        return 0;
    if (self->cap_slots == S_SLOTS_MAX)
        return FL_E_NOMEM;
    size_t cap = self->cap_slots ? self->cap_slots * 2 : 64;
    if (cap > S_SLOTS_MAX)
        cap = S_SLOTS_MAX;
    s_entry_t *entries = realloc(self->entries, cap * sizeof *entries);
    if (!entries)
        return FL_E_NOMEM;
    self->entries = entries;
    self->cap_slots = cap;
    return 0;
}

static int
s_reserve_points(fl_geo_index_t *self, s_cell_t *cell)
{
    if (cell->n < cell->cap)
        return 0;
    uint32_t cap = cell->cap ? cell->cap * 2 : 4;
    s_point_t *pts = realloc(cell->pts, cap * sizeof *pts);
    if (!pts)
        return FL_E_NOMEM;
    self->points_cap += cap - cell->cap;
    cell->pts = pts;
    cell->cap = cap;
    return 0;
}

/*  Makes sure cell (ROW, COL) exists with room for one more point,
 *  creating it (empty) when needed: the last step of a put that can fail.
 *  Errors: FL_E_NOMEM.  */
static int
s_reserve_cell(fl_geo_index_t *self, uint32_t row, uint32_t col)
{
    uint32_t at = s_cell_of(self, row, col);
    if (at != S_NONE)
        return s_reserve_points(self, &self->cells[at]);
    int rc = s_table_reserve(&self->cell_table, self->n_cells + 1);
    if (rc)
        return rc;
    if (self->n_cells == self->cap_cells) {
        size_t cap = self->cap_cells ? self->cap_cells * 2 : 16;
        s_cell_t *cells = realloc(self->cells, cap * sizeof *cells);
        if (!cells)
            return FL_E_NOMEM;
        self->cells = cells;
        self->cap_cells = cap;
    }
    s_cell_t fresh = { row, col, 0, 0, NULL };
    rc = s_reserve_points(self, &fresh);
    if (rc)
        return rc;
    self->cells[self->n_cells] = fresh;
    s_table_insert(&self->cell_table, s_hash_cell(self, row, col), (uint32_t) self->n_cells);
    self->n_cells++;
    return 0;
}

/*  Removes the empty cell AT, moving the last cell into its place.  */
static void
s_drop_cell(fl_geo_index_t *self, uint32_t at)
{
    s_cell_t *cell = &self->cells[at];
    self->points_cap -= cell->cap;
    free(cell->pts);
    s_table_delete(&self->cell_table, s_cell_bucket(self, cell->row, cell->col));
    uint32_t last = (uint32_t) --self->n_cells;
    if (at == last)
        return;
    self->cells[at] = self->cells[last];
    size_t bucket = s_cell_bucket(self, self->cells[at].row, self->cells[at].col);
    self->cell_table.buckets[bucket].ref = at + 1;
}

/*  Takes SLOT's point out of its cell.  */
static void
s_unplace(fl_geo_index_t *self, uint32_t slot)
{
    s_entry_t *e = &self->entries[slot];
    uint32_t at = s_cell_of(self, e->row, e->col);
    s_cell_t *cell = &self->cells[at];
    s_point_t last = cell->pts[--cell->n];
    if (e->cell_pos != cell->n) {
        cell->pts[e->cell_pos] = last;
        self->entries[last.slot].cell_pos = e->cell_pos;
    }
    if (cell->n == 0)
        s_drop_cell(self, at);
}

static s_point_t
s_point(const fl_geo_entry_t *in, uint32_t slot)
{
    return (s_point_t) { in->lat, in->lon, in->start_s, in->end_s, slot, in->category };
}

/*  Adds SLOT's point for IN to its cell, which has room (s_reserve_cell).  */
static void
s_place(fl_geo_index_t *self, uint32_t slot, const fl_geo_entry_t *in)
{
    s_entry_t *e = &self->entries[slot];
    s_cell_t *cell = &self->cells[s_cell_of(self, e->row, e->col)];
    e->cell_pos = cell->n;
    cell->pts[cell->n++] = s_point(in, slot);
}

/*  A slot for the new entry ID, entered in the id table; both have room.  */
static uint32_t
s_take_slot(fl_geo_index_t *self, const char *id)
{
    uint32_t slot = self->free_slot;
    if (slot != S_NONE)
        self->free_slot = self->entries[slot].cell_pos;
    else
        slot = (uint32_t) self->n_slots++;
    snprintf(self->entries[slot].id, FL_GEO_ID_MAX, "%s", id);
    s_table_insert(&self->ids, s_hash_id(id), slot);
    self->n_entries++;
    return slot;
}

static void
s_release_words(fl_geo_index_t *self, s_entry_t *e)
{
    if (e->words)
        self->words_bytes -= s_words_bytes(e);
    if (e->title)
        self->words_bytes -= strlen(e->title) + 1;
    free(e->words);
    free(e->title);
    e->words = NULL;
    e->title = NULL;
}

static void
s_fill(s_entry_t *e, const fl_geo_entry_t *in, uint32_t row, uint32_t col)
{
    e->price_minor = in->price_minor;
    e->row = row;
    e->col = col;
    e->free_spots = in->free_spots;
    e->popularity = in->popularity;
    e->n_tags = (uint16_t) in->n_tags;
    e->price_type = (uint8_t) in->price_type;
}

/*  Everything a put can fail on, done before it changes anything.  */
static int
s_prepare_put(fl_geo_index_t *self, uint32_t row, uint32_t col)
{
    int rc = s_reserve_slot(self);
    if (rc == 0)
        rc = s_table_reserve(&self->ids, self->n_entries + 1);
    if (rc == 0)
        rc = s_reserve_cell(self, row, col);
    return rc;
}

/*  Gives the existing SLOT the point of IN, in cell (ROW, COL).  */
static void
s_move(fl_geo_index_t *self, uint32_t slot, uint32_t row, uint32_t col,
       const fl_geo_entry_t *in)
{
    s_entry_t *e = &self->entries[slot];
    if (e->row == row && e->col == col) {
        self->cells[s_cell_of(self, row, col)].pts[e->cell_pos] = s_point(in, slot);
        return;
    }
    s_unplace(self, slot);
    e->row = row;
    e->col = col;
    s_place(self, slot, in);
}

int
fl_geo_index_put(fl_geo_index_t *self, const fl_geo_entry_t *entry)
{
    if (!s_entry_valid(entry))
        return FL_E_INVAL;
    uint32_t row = s_row(self, entry->lat), col = s_col(self, entry->lon);
    s_words_t words;
    uint16_t tz = 0;
    char *title = entry->title && entry->title[0] ? strdup(entry->title) : NULL;
    if (entry->title && entry->title[0] && !title)
        return FL_E_NOMEM;
    int rc = s_words(entry, &words);
    if (rc == 0)
        rc = s_zone(self, entry->tz, &tz);
    if (rc == 0)
        rc = s_prepare_put(self, row, col);
    if (rc) {
        free(words.words);
        free(title);
        return rc;
    }
    uint32_t slot = s_slot_of(self, entry->id);
    bool fresh = slot == S_NONE;
    if (fresh)
        slot = s_take_slot(self, entry->id);
    else
        s_release_words(self, &self->entries[slot]);
    s_entry_t *e = &self->entries[slot];
    if (fresh) {
        s_fill(e, entry, row, col);
        s_place(self, slot, entry);
    } else {
        s_move(self, slot, row, col, entry);    /* from the cell e still names */
        s_fill(e, entry, row, col);
    }
    e->words = words.words;
    e->tokens_at = words.tokens_at;
    e->n_tokens = words.n_tokens;
    e->tz = tz;
    e->title = title;
    memcpy(e->currency, entry->currency, sizeof e->currency);
    e->currency[sizeof e->currency - 1] = '\0';
    self->words_bytes += words.bytes + (title ? strlen(title) + 1 : 0);
    return 0;
}

int
fl_geo_index_summary(const fl_geo_index_t *self, const char *id, fl_geo_summary_t *out)
{
    uint32_t slot = s_slot_of(self, id);
    if (slot == S_NONE)
        return FL_E_NOTFOUND;
    const s_entry_t *e = &self->entries[slot];
    const s_point_t *pt = &self->cells[s_cell_of(self, e->row, e->col)].pts[e->cell_pos];
    *out = (fl_geo_summary_t) {
        .title = e->title ? e->title : "",
        .tz = self->zones[e->tz],
        .currency = e->currency,
        .lat = pt->lat, .lon = pt->lon,
        .start_s = pt->start_s, .end_s = pt->end_s,
        .category = pt->category,
        .price_type = e->price_type,
        .price_minor = e->price_minor,
        .free_spots = e->free_spots,
    };
    return 0;
}

static void
s_remove_slot(fl_geo_index_t *self, uint32_t slot)
{
    s_entry_t *e = &self->entries[slot];
    s_unplace(self, slot);
    s_release_words(self, e);
    s_table_delete(&self->ids, s_table_find(&self->ids, s_hash_id(e->id), s_id_matches, self,
                                            e->id));
    e->id[0] = '\0';
    e->cell_pos = self->free_slot;
    self->free_slot = slot;
    self->n_entries--;
}

bool
fl_geo_index_remove(fl_geo_index_t *self, const char *id)
{
    uint32_t slot = s_slot_of(self, id);
    if (slot == S_NONE)
        return false;
    s_remove_slot(self, slot);
    return true;
}

/*  Walks the cells and their points backwards, so that what a removal
 *  swaps into the place of the removed point, or of an emptied cell, has
 *  been looked at already.  */
size_t
fl_geo_index_remove_ended(fl_geo_index_t *self, int64_t now_s)
{
    size_t removed = 0;
    for (size_t k = self->n_cells; k-- > 0;)
        for (uint32_t i = self->cells[k].n; i-- > 0;) {
            const s_point_t *p = &self->cells[k].pts[i];
            if (p->end_s <= now_s) {
                s_remove_slot(self, p->slot);
                removed++;
            }
        }
    return removed;
}

/*  ---------------------------------------------------------------------
 *  Queries: checking, cursors, candidates, filters, order
 */

/*  A match on its way into a page.  */
typedef struct {
    double distance_m;
    double score;                   /* relevance order only; else 0 */
    double text;                    /* the text part of the score */
    int64_t start_s;
    const char *id;
    uint32_t slot;
} s_cand_t;

/*  The window of one zone, asked of the query's callback once.  */
typedef struct {
    enum { S_ZONE_UNASKED, S_ZONE_KNOWN, S_ZONE_UNKNOWN } state;
    int64_t from_s, to_s;
} s_zone_window_t;

typedef struct {
    const fl_geo_index_t *self;
    const fl_geo_query_t *q;
    int64_t now_s;                  /* the query's, or a relevance cursor's */
    double cos_lat;                 /* of the centre */
    char *folded;                   /* the query text's terms */
    const char *terms[FL_GEO_QUERY_TERMS_MAX];
    size_t n_terms;
    s_zone_window_t *zones;         /* per interned zone; NULL without a callback */
    bool after;                     /* a cursor was given */
    s_cand_t cursor;
    char cursor_id[FL_GEO_ID_MAX];
    s_cand_t heap[FL_GEO_LIMIT_MAX + 1];
    size_t n_heap, k;
} s_plan_t;

/*  The columns and rows that can hold points of the circle.  */
typedef struct {
    double lat_lo, lat_hi;
    uint32_t row_lo, row_hi;
    uint32_t col_lo[2], col_hi[2];
    int n_ranges;
} s_cover_t;

/*  A cell to scan and a lower bound of its points' distances.  */
typedef struct {
    double bound_m;
    uint32_t cell;
} s_visit_t;

__attribute__((format(printf, 3, 4))) static int
s_invalid(char *why, size_t whylen, const char *fmt, ...)
{
    if (why && whylen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(why, whylen, fmt, ap);
        va_end(ap);
    }
    return FL_E_INVAL;
}

static int
s_check_place(const fl_geo_query_t *q, char *why, size_t whylen)
{
    if (!(q->lat >= -90 && q->lat <= 90))
        return s_invalid(why, whylen, "lat: must be -90 to 90");
    if (!(q->lon >= -180 && q->lon <= 180))
        return s_invalid(why, whylen, "lon: must be -180 to 180");
    if (!(q->radius_m >= FL_GEO_RADIUS_MIN_M && q->radius_m <= FL_GEO_RADIUS_MAX_M))
        return s_invalid(why, whylen, "radius_m: must be %.0f to %.0f", FL_GEO_RADIUS_MIN_M,
                         FL_GEO_RADIUS_MAX_M);
    return 0;
}

static int
s_check_filters(const fl_geo_query_t *q, char *why, size_t whylen)
{
    if (q->n_categories > FL_GEO_QUERY_CATEGORIES_MAX)
        return s_invalid(why, whylen, "categories: more than %d", FL_GEO_QUERY_CATEGORIES_MAX);
    if (q->n_categories && !q->categories)
        return s_invalid(why, whylen, "categories: missing");
    if (q->n_tags > FL_GEO_QUERY_TAGS_MAX)
        return s_invalid(why, whylen, "tags: more than %d", FL_GEO_QUERY_TAGS_MAX);
    if (!s_tags_valid(q->tags, q->n_tags))
        return s_invalid(why, whylen, "tags: missing");
    if (q->from_s && q->to_s && q->to_s <= q->from_s)
        return s_invalid(why, whylen, "to_s: must be after from_s");
    if (q->price_type < 0 || q->price_type > 3)
        return s_invalid(why, whylen, "price_type: must be 0 to 3");
    if (q->max_price_minor < -1)
        return s_invalid(why, whylen, "max_price_minor: must be -1 or more");
    return 0;
}

static int
s_check_query(const fl_geo_query_t *q, char *why, size_t whylen)
{
    int rc = s_check_place(q, why, whylen);
    if (rc == 0)
        rc = s_check_filters(q, why, whylen);
    if (rc)
        return rc;
    if (q->sort != FL_GEO_SORT_DISTANCE && q->sort != FL_GEO_SORT_START
        && q->sort != FL_GEO_SORT_RELEVANCE)
        return s_invalid(why, whylen, "sort: unknown order");
    if (q->limit < 1 || q->limit > FL_GEO_LIMIT_MAX)
        return s_invalid(why, whylen, "limit: must be 1 to %d", FL_GEO_LIMIT_MAX);
    return 0;
}

/*  Cursor text: "<order>.<16 hex>.<16 hex>.<hex id>", the order 'd', 's'
 *  or 'r' and the two numbers its sort key: distance bits and 0; start
 *  and distance bits; score bits and the first page's now_s.  */

static const char s_order_letter[] = { 'd', 's', 'r' };

static uint64_t
s_bits(double x)
{
    uint64_t u;
    memcpy(&u, &x, sizeof u);
    return u;
}

static double
s_double(uint64_t u)
{
    double x;
    memcpy(&x, &u, sizeof x);
    return x;
}

static void
s_cursor_write(fl_geo_sort_t sort, int64_t now_s, const s_cand_t *last, char *out)
{
    uint64_t a = 0, b = 0;
    switch (sort) {
    case FL_GEO_SORT_DISTANCE:
        a = s_bits(last->distance_m);
        break;
    case FL_GEO_SORT_START:
        a = (uint64_t) last->start_s;
        b = s_bits(last->distance_m);
        break;
    case FL_GEO_SORT_RELEVANCE:
        a = s_bits(last->score);
        b = (uint64_t) now_s;
        break;
    }
    int k = snprintf(out, FL_GEO_CURSOR_MAX, "%c.%016" PRIx64 ".%016" PRIx64 ".",
                     s_order_letter[sort], a, b);
    for (const unsigned char *p = (const unsigned char *) last->id; *p; p++)
        k += snprintf(out + k, FL_GEO_CURSOR_MAX - (size_t) k, "%02x", *p);
}

static int
s_hex_digit(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

/*  Reads N lowercase hex digits at S into *OUT; false on anything else.  */
static bool
s_hex(const char *s, size_t n, uint64_t *out)
{
    *out = 0;
    for (size_t i = 0; i < n; i++) {
        int d = s_hex_digit(s[i]);
        if (d < 0)
            return false;
        *out = *out << 4 | (uint64_t) d;
    }
    return true;
}

/*  Decodes the hex id HEX into ID; false unless it is 1 to 31 non-NUL
 *  bytes.  */
static bool
s_hex_id(const char *hex, char *id)
{
    size_t n = strlen(hex);
    if (n == 0 || n % 2 || n / 2 >= FL_GEO_ID_MAX)
        return false;
    for (size_t i = 0; i < n / 2; i++) {
        uint64_t byte;
        if (!s_hex(hex + 2 * i, 2, &byte) || byte == 0)
            return false;
        id[i] = (char) byte;
    }
    id[n / 2] = '\0';
    return true;
}

/*  Fills the plan's cursor key from the numbers A and B of an order-SORT
 *  cursor; false when they cannot be one.  */
static bool
s_cursor_key(s_plan_t *plan, fl_geo_sort_t sort, uint64_t a, uint64_t b)
{
    s_cand_t *c = &plan->cursor;
    switch (sort) {
    case FL_GEO_SORT_DISTANCE:
        c->distance_m = s_double(a);
        return b == 0 && c->distance_m >= 0 && isfinite(c->distance_m);
    case FL_GEO_SORT_START:
        c->start_s = (int64_t) a;
        c->distance_m = s_double(b);
        return c->distance_m >= 0 && isfinite(c->distance_m);
    case FL_GEO_SORT_RELEVANCE:
        c->score = s_double(a);
        plan->now_s = (int64_t) b;
        return isfinite(c->score);
    }
    return false;
}

static int
s_cursor_read(s_plan_t *plan, const char *text, char *why, size_t whylen)
{
    uint64_t a, b;
    const char *letter = memchr(s_order_letter, text[0], sizeof s_order_letter);
    if (!letter || strlen(text) < 38 || text[1] != '.' || text[18] != '.'
        || text[35] != '.' || !s_hex(text + 2, 16, &a) || !s_hex(text + 19, 16, &b)
        || !s_hex_id(text + 36, plan->cursor_id))
        return s_invalid(why, whylen, "cursor: malformed");
    fl_geo_sort_t sort = (fl_geo_sort_t) (letter - s_order_letter);
    if (sort != plan->q->sort)
        return s_invalid(why, whylen, "cursor: made for another sort order");
    if (!s_cursor_key(plan, sort, a, b))
        return s_invalid(why, whylen, "cursor: malformed");
    plan->cursor.id = plan->cursor_id;
    plan->after = true;
    return 0;
}

static int
s_plan_text(s_plan_t *plan, char *why, size_t whylen)
{
    size_t len = 0;
    int rc = s_fold(plan->q->text, &plan->folded, &len);
    if (rc == FL_E_INVAL)
        return s_invalid(why, whylen, "text: not valid UTF-8");
    for (size_t at = 0; rc == 0 && at < len; at += strlen(plan->folded + at) + 1) {
        if (plan->n_terms == FL_GEO_QUERY_TERMS_MAX)
            return s_invalid(why, whylen, "text: more than %d terms", FL_GEO_QUERY_TERMS_MAX);
        plan->terms[plan->n_terms++] = plan->folded + at;
    }
    return rc;
}

static int
s_plan(s_plan_t *plan, const fl_geo_index_t *self, const fl_geo_query_t *q, char *why,
       size_t whylen)
{
    plan->self = self;
    plan->q = q;
    plan->now_s = q->now_s;
    plan->cos_lat = cos(q->lat * S_RAD_PER_DEG);
    plan->k = q->limit + 1;
    int rc = s_check_query(q, why, whylen);
    if (rc == 0 && q->cursor)
        rc = s_cursor_read(plan, q->cursor, why, whylen);
    if (rc == 0)
        rc = s_plan_text(plan, why, whylen);
    if (rc == 0 && q->window && self->n_zones) {
        plan->zones = calloc(self->n_zones, sizeof *plan->zones);
        if (!plan->zones)
            rc = FL_E_NOMEM;
    }
    return rc;
}

/*  Compares the sort keys of A and B, ids aside.  */
static int
s_cmp_key(fl_geo_sort_t sort, const s_cand_t *a, const s_cand_t *b)
{
    switch (sort) {
    case FL_GEO_SORT_START:
        if (a->start_s != b->start_s)
            return a->start_s < b->start_s ? -1 : 1;
        /* fall through */
    case FL_GEO_SORT_DISTANCE:
        if (a->distance_m != b->distance_m)
            return a->distance_m < b->distance_m ? -1 : 1;
        break;
    case FL_GEO_SORT_RELEVANCE:
        if (a->score != b->score)
            return a->score > b->score ? -1 : 1;
        break;
    }
    return 0;
}

static int
s_cmp_cand(fl_geo_sort_t sort, const s_cand_t *a, const s_cand_t *b)
{
    int c = s_cmp_key(sort, a, b);
    return c ? c : strcmp(a->id, b->id);
}

/*  The relevance score from its parts, each in [0, 1].  Monotonic in
 *  each part, so the parts' upper bounds give the score's.  */
static double
s_combine(double text, double near, double soon, double popular)
{
    return 0.4 * text + 0.3 * near + 0.2 * soon + 0.1 * popular;
}

static double
s_score(const s_plan_t *plan, const s_cand_t *c, uint32_t popularity)
{
    double wait_s = c->start_s > plan->now_s ? (double) c->start_s - (double) plan->now_s : 0;
    double soon = 1.0 / (1.0 + wait_s / S_DAY_S);
    double popular = fmin(1.0, log1p((double) popularity) / log1p(S_POPULAR));
    return s_combine(c->text, exp(-c->distance_m / plan->q->radius_m), soon, popular);
}

/*  1 when TERM is one of the sorted TOKENS, 0.5 when it is only a prefix
 *  of one and PREFIX allows that, else 0.  */
static double
s_term_match(const char *tokens, uint16_t n, const char *term, bool prefix)
{
    size_t len = strlen(term);
    for (uint16_t i = 0; i < n; i++, tokens += strlen(tokens) + 1) {
        int c = strcmp(tokens, term);
        if (c == 0)
            return 1;
        if (c > 0)
            return prefix && strncmp(tokens, term, len) == 0 ? 0.5 : 0;
    }
    return 0;
}

/*  The text part of the score, or -1 when the entry does not match.  */
static double
s_text_score(const s_plan_t *plan, const s_entry_t *e)
{
    if (plan->n_terms == 0)
        return 1;
    if (e->n_tokens == 0)
        return -1;
    const char *tokens = e->words + e->tokens_at;
    double sum = 0;
    for (size_t i = 0; i < plan->n_terms; i++) {
        double m = s_term_match(tokens, e->n_tokens, plan->terms[i], i + 1 == plan->n_terms);
        if (m == 0)
            return -1;
        sum += m;
    }
    return sum / (double) plan->n_terms;
}

static bool
s_has_tags(const s_entry_t *e, char *const *tags, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        const char *tag = e->words;
        uint16_t k = 0;
        while (k < e->n_tags && strcmp(tag, tags[i]) != 0) {
            tag += strlen(tag) + 1;
            k++;
        }
        if (k == e->n_tags)
            return false;
    }
    return true;
}

static bool
s_in_category(const s_point_t *p, const int *categories, size_t n)
{
    if (n == 0)
        return true;
    for (size_t i = 0; i < n; i++)
        if (categories[i] == p->category)
            return true;
    return false;
}

static bool
s_overlaps(const s_point_t *p, int64_t from_s, int64_t to_s)
{
    return (from_s == 0 || p->end_s > from_s) && (to_s == 0 || p->start_s < to_s);
}

static bool
s_in_zone_window(s_plan_t *plan, const s_point_t *p, const s_entry_t *e)
{
    s_zone_window_t *z = &plan->zones[e->tz];
    if (z->state == S_ZONE_UNASKED) {
        z->from_s = z->to_s = 0;
        bool known = plan->q->window(plan->q->window_arg, plan->self->zones[e->tz], &z->from_s,
                                     &z->to_s);
        z->state = known ? S_ZONE_KNOWN : S_ZONE_UNKNOWN;
    }
    return z->state == S_ZONE_KNOWN && s_overlaps(p, z->from_s, z->to_s);
}

static bool
s_price_ok(const fl_geo_query_t *q, const s_entry_t *e)
{
    if (q->price_type && e->price_type != q->price_type)
        return false;
    return q->max_price_minor < 0 || e->price_type == 1
           || e->price_minor <= (uint64_t) q->max_price_minor;
}

/*  The filters on the point alone, read without touching the entry.  */
static bool
s_point_passes(const fl_geo_query_t *q, const s_point_t *p)
{
    return s_in_category(p, q->categories, q->n_categories) && s_overlaps(p, q->from_s, q->to_s);
}

/*  The filters on the entry other than text; each reads the entry only
 *  when the query asks for it.  */
static bool
s_entry_passes(s_plan_t *plan, const s_point_t *p, const s_entry_t *e)
{
    const fl_geo_query_t *q = plan->q;
    return s_price_ok(q, e) && (!q->free_spots_only || e->free_spots != 0)
           && s_has_tags(e, q->tags, q->n_tags) && (!plan->zones || s_in_zone_window(plan, p, e));
}

static void
s_swap(s_cand_t *a, s_cand_t *b)
{
    s_cand_t t = *a;
    *a = *b;
    *b = t;
}

/*  Restores the max-heap below AT among the first N.  */
static void
s_sift_down(s_cand_t *heap, size_t n, size_t at, fl_geo_sort_t sort)
{
    for (;;) {
        size_t top = at, l = 2 * at + 1, r = l + 1;
        if (l < n && s_cmp_cand(sort, &heap[l], &heap[top]) > 0)
            top = l;
        if (r < n && s_cmp_cand(sort, &heap[r], &heap[top]) > 0)
            top = r;
        if (top == at)
            return;
        s_swap(&heap[at], &heap[top]);
        at = top;
    }
}

static void
s_sift_up(s_cand_t *heap, size_t at, fl_geo_sort_t sort)
{
    while (at > 0) {
        size_t up = (at - 1) / 2;
        if (s_cmp_cand(sort, &heap[at], &heap[up]) <= 0)
            return;
        s_swap(&heap[at], &heap[up]);
        at = up;
    }
}

/*  Keeps C if it is among the first k after the cursor.  */
static void
s_offer(s_plan_t *plan, const s_cand_t *c)
{
    fl_geo_sort_t sort = plan->q->sort;
    if (plan->after && s_cmp_cand(sort, c, &plan->cursor) <= 0)
        return;
    if (plan->n_heap < plan->k) {
        plan->heap[plan->n_heap] = *c;
        s_sift_up(plan->heap, plan->n_heap++, sort);
    } else if (s_cmp_cand(sort, c, &plan->heap[0]) < 0) {
        plan->heap[0] = *c;
        s_sift_down(plan->heap, plan->n_heap, 0, sort);
    }
}

/*  True when a point at distance D starting at START_S cannot be on the
 *  page whatever its id and its entry: it sorts after the full page's
 *  worst hit, or before the cursor.  This spares reading the entries of
 *  most points of a busy area.  Never for relevance, whose key needs the
 *  entry.  */
static bool
s_hopeless(const s_plan_t *plan, double d, int64_t start_s)
{
    fl_geo_sort_t sort = plan->q->sort;
    if (sort == FL_GEO_SORT_RELEVANCE)
        return false;
    s_cand_t probe = { .distance_m = d, .start_s = start_s };
    return (plan->n_heap == plan->k && s_cmp_key(sort, &probe, &plan->heap[0]) > 0)
           || (plan->after && s_cmp_key(sort, &probe, &plan->cursor) < 0);
}

/*  Decides the point P at distance D: the rest of the filters, then the
 *  page.  */
static void
s_consider(s_plan_t *plan, const s_point_t *p, double d)
{
    if (s_hopeless(plan, d, p->start_s))
        return;
    const s_entry_t *e = &plan->self->entries[p->slot];
    if (!s_entry_passes(plan, p, e))
        return;
    double text = s_text_score(plan, e);
    if (text < 0)
        return;
    s_cand_t c = { d, 0, text, p->start_s, e->id, p->slot };
    if (plan->q->sort == FL_GEO_SORT_RELEVANCE)
        c.score = s_score(plan, &c, e->popularity);
    s_offer(plan, &c);
}

static void
s_scan_cell(s_plan_t *plan, const s_cover_t *cover, const s_cell_t *cell)
{
    const fl_geo_query_t *q = plan->q;
    for (uint32_t i = 0; i < cell->n; i++) {
        const s_point_t *p = &cell->pts[i];
        if (p->lat < cover->lat_lo || p->lat > cover->lat_hi || !s_point_passes(q, p))
            continue;
        double d = fl_geo_distance_m(q->lat, q->lon, p->lat, p->lon);
        if (d <= q->radius_m)
            s_consider(plan, p, d);
    }
}

/*  Half the width in longitude, in degrees, of a circle of angle ANG
 *  radians (D_DEG degrees with the margin) around latitude LAT; 180 when
 *  it may reach a pole and so every longitude.  */
static double
s_half_width_deg(double lat, double ang, double d_deg)
{
    if (fabs(lat) + d_deg >= 90)
        return 180;
    double s = sin(ang) / cos(lat * S_RAD_PER_DEG);
    if (s >= 1)
        return 180;
    return asin(s) / S_RAD_PER_DEG + S_MARGIN_DEG;
}

/*  Sets the column ranges for longitudes [WEST, EAST] (WEST > -540,
 *  EAST < 540), split at the antimeridian.  The two parts never share a
 *  column: the half width is at most 90 degrees (plus the margin), so they
 *  lie at least 180 degrees apart, and a cell is at most 90 wide.  */
static void
s_cover_cols(const fl_geo_index_t *self, double west, double east, s_cover_t *c)
{
    if (west >= -180 && east <= 180) {
        c->n_ranges = 1;
        c->col_lo[0] = s_col(self, west);
        c->col_hi[0] = s_col(self, east);
        return;
    }
    c->n_ranges = 2;
    c->col_lo[0] = 0;
    c->col_hi[0] = s_col(self, west < -180 ? east : east - 360);
    c->col_lo[1] = s_col(self, west < -180 ? west + 360 : west);
    c->col_hi[1] = self->cols - 1;
}

static void
s_cover(const fl_geo_index_t *self, const fl_geo_query_t *q, s_cover_t *c)
{
    double ang = q->radius_m / FL_GEO_EARTH_RADIUS_M;
    double d_deg = ang / S_RAD_PER_DEG + S_MARGIN_DEG;
    c->lat_lo = fmax(-90, q->lat - d_deg);
    c->lat_hi = fmin(90, q->lat + d_deg);
    c->row_lo = s_row(self, c->lat_lo);
    c->row_hi = s_row(self, c->lat_hi);
    double w = s_half_width_deg(q->lat, ang, d_deg);
    if (w >= 180) {
        c->n_ranges = 1;
        c->col_lo[0] = 0;
        c->col_hi[0] = self->cols - 1;
        return;
    }
    s_cover_cols(self, q->lon - w, q->lon + w, c);
}

static bool
s_covers(const s_cover_t *c, uint32_t row, uint32_t col)
{
    if (row < c->row_lo || row > c->row_hi)
        return false;
    for (int i = 0; i < c->n_ranges; i++)
        if (col >= c->col_lo[i] && col <= c->col_hi[i])
            return true;
    return false;
}

static uint64_t
s_cover_cells(const s_cover_t *c)
{
    uint64_t cols = 0;
    for (int i = 0; i < c->n_ranges; i++)
        cols += (uint64_t) c->col_hi[i] - c->col_lo[i] + 1;
    return ((uint64_t) c->row_hi - c->row_lo + 1) * cols;
}

/*  The distance in degrees from longitude LON to the range [LO, HI], the
 *  shorter way round.  */
static double
s_lon_gap(double lon, double lo, double hi)
{
    if (lon >= lo && lon <= hi)
        return 0;
    return fmin(fmod(lo - lon + 720, 360), fmod(lon - hi + 720, 360));
}

/*  A lower bound in metres of the distance from the centre P (latitude
 *  phi) to any point Q of cell (ROW, COL), the larger of two:
 *  - the latitude gap between P and the cell's rows, since a distance is
 *    never less than its difference in latitude;
 *  - asin(cos(phi) sin(g)), g the longitude gap from P to the cell's
 *    columns capped at 90 degrees.  Q lies on the great circle of its own
 *    meridian, which is asin(cos(phi) |sin(dlon)|) from P; when Q is
 *    within 90 degrees of longitude that is at least the bound, and when
 *    it is farther the spherical law of cosines gives cos(d) <=
 *    |sin(phi)|, so d is at least the distance to the nearer pole,
 *    asin(cos(phi)), which is more still.
 *  Shrunk by far more than rounding can move either.  */
static double
s_cell_bound(const s_plan_t *plan, uint32_t row, uint32_t col)
{
    const fl_geo_index_t *self = plan->self;
    const fl_geo_query_t *q = plan->q;
    double deg = self->cell_deg;
    double lat_lo = -90 + row * deg;
    double lat_hi = row + 1 == self->rows ? 90 : -90 + (row + 1) * deg;
    double gap = q->lat < lat_lo ? lat_lo - q->lat : q->lat > lat_hi ? q->lat - lat_hi : 0;
    double lon_lo = -180 + col * deg;
    double lon_hi = col + 1 == self->cols ? 180 : -180 + (col + 1) * deg;
    double across = fmin(90, s_lon_gap(q->lon, lon_lo, lon_hi)) * S_RAD_PER_DEG;
    double ang = fmax(gap * S_RAD_PER_DEG,
                      asin(fmin(1, plan->cos_lat * sin(across))));
    return ang * FL_GEO_EARTH_RADIUS_M * (1 - 1e-9) - 1e-3;
}

static void
s_add_visit(const s_plan_t *plan, uint32_t cell, uint32_t row, uint32_t col, s_visit_t *visits,
            size_t *n)
{
    double bound_m = plan->q->sort == FL_GEO_SORT_START ? 0 : s_cell_bound(plan, row, col);
    visits[(*n)++] = (s_visit_t) { bound_m, cell };
}

/*  The occupied cells of the cover into *VISITS (malloc'd) and their
 *  number into *N: looked up one by one, or found by a pass over the
 *  occupied cells when the cover names more.  Errors: FL_E_NOMEM.  */
static int
s_gather(const s_plan_t *plan, const s_cover_t *c, s_visit_t **visits, size_t *n)
{
    const fl_geo_index_t *self = plan->self;
    uint64_t named = s_cover_cells(c);
    bool pass = named > self->n_cells;
    size_t room = pass ? self->n_cells : (size_t) named;
    *n = 0;
    *visits = malloc((room ? room : 1) * sizeof **visits);
    if (!*visits)
        return FL_E_NOMEM;
    for (size_t i = 0; pass && i < self->n_cells; i++) {
        const s_cell_t *cell = &self->cells[i];
        if (s_covers(c, cell->row, cell->col))
            s_add_visit(plan, (uint32_t) i, cell->row, cell->col, *visits, n);
    }
    for (uint32_t row = c->row_lo; !pass && row <= c->row_hi; row++)
        for (int i = 0; i < c->n_ranges; i++)
            for (uint32_t col = c->col_lo[i]; col <= c->col_hi[i]; col++) {
                uint32_t at = s_cell_of(self, row, col);
                if (at != S_NONE)
                    s_add_visit(plan, at, row, col, *visits, n);
            }
    return 0;
}

static int
s_cmp_visit(const void *a, const void *b)
{
    const s_visit_t *x = a, *y = b;
    return x->bound_m < y->bound_m ? -1 : x->bound_m > y->bound_m;
}

/*  True when the page is full and no point at BOUND_M or farther could
 *  displace its worst hit.  */
static bool
s_settled(const s_plan_t *plan, double bound_m)
{
    if (plan->n_heap < plan->k)
        return false;
    const s_cand_t *worst = &plan->heap[0];
    switch (plan->q->sort) {
    case FL_GEO_SORT_DISTANCE:
        return bound_m > worst->distance_m;
    case FL_GEO_SORT_RELEVANCE:
        return s_combine(1, exp(-fmax(0, bound_m) / plan->q->radius_m), 1, 1) < worst->score;
    case FL_GEO_SORT_START:
        return false;
    }
    return false;
}

/*  Scans the cells of the cover, nearest bound first for the orders that
 *  distance drives, until the page is settled.  Errors: FL_E_NOMEM.  */
static int
s_scan(s_plan_t *plan, const s_cover_t *c)
{
    s_visit_t *visits = NULL;
    size_t n = 0;
    int rc = s_gather(plan, c, &visits, &n);
    if (rc == 0 && plan->q->sort != FL_GEO_SORT_START)
        qsort(visits, n, sizeof *visits, s_cmp_visit);
    for (size_t i = 0; rc == 0 && i < n && !s_settled(plan, visits[i].bound_m); i++)
        s_scan_cell(plan, c, &plan->self->cells[visits[i].cell]);
    free(visits);
    return rc;
}

/*  Sorts the heap into page order and writes the page and its cursor.  */
static void
s_finish(s_plan_t *plan, fl_geo_hit_t *hits, size_t *n_hits, char *next_cursor)
{
    fl_geo_sort_t sort = plan->q->sort;
    for (size_t end = plan->n_heap; end > 1; end--) {
        s_swap(&plan->heap[0], &plan->heap[end - 1]);
        s_sift_down(plan->heap, end - 1, 0, sort);
    }
    size_t n = plan->n_heap < plan->q->limit ? plan->n_heap : plan->q->limit;
    for (size_t i = 0; i < n; i++) {
        const s_cand_t *c = &plan->heap[i];
        fl_geo_hit_t *h = &hits[i];
        snprintf(h->id, sizeof h->id, "%s", c->id);
        h->distance_m = c->distance_m;
        h->start_s = c->start_s;
        h->score = sort == FL_GEO_SORT_RELEVANCE
                       ? c->score
                       : s_score(plan, c, plan->self->entries[c->slot].popularity);
    }
    *n_hits = n;
    if (plan->n_heap > plan->q->limit)
        s_cursor_write(sort, plan->now_s, &plan->heap[n - 1], next_cursor);
}

int
fl_geo_index_query(const fl_geo_index_t *self, const fl_geo_query_t *query,
                   fl_geo_hit_t *hits, size_t *n_hits, char *next_cursor, char *why,
                   size_t whylen)
{
    assert(self && query && hits && n_hits && next_cursor);
    *n_hits = 0;
    next_cursor[0] = '\0';
    if (why && whylen)
        why[0] = '\0';
    s_plan_t *plan = calloc(1, sizeof *plan);
    if (!plan)
        return FL_E_NOMEM;
    int rc = s_plan(plan, self, query, why, whylen);
    if (rc == 0) {
        s_cover_t cover;
        s_cover(self, query, &cover);
        rc = s_scan(plan, &cover);
    }
    if (rc == 0)
        s_finish(plan, hits, n_hits, next_cursor);
    free(plan->zones);
    free(plan->folded);
    free(plan);
    return rc;
}

/*  ------------------------------------------------------------------
 *  Pages merged from several indexes  */

static s_cand_t
s_hit_cand(const fl_geo_hit_t *hit)
{
    s_cand_t c = { .distance_m = hit->distance_m, .score = hit->score,
                   .start_s = hit->start_s, .id = hit->id };
    return c;
}

int
fl_geo_hit_cmp(fl_geo_sort_t sort, const fl_geo_hit_t *a, const fl_geo_hit_t *b)
{
    s_cand_t ca = s_hit_cand(a), cb = s_hit_cand(b);
    return s_cmp_cand(sort, &ca, &cb);
}

void
fl_geo_cursor_after(fl_geo_sort_t sort, int64_t now_s, const fl_geo_hit_t *last, char *out)
{
    s_cand_t c = s_hit_cand(last);
    s_cursor_write(sort, now_s, &c, out);
}

int64_t
fl_geo_cursor_clock(const char *cursor)
{
    uint64_t a, b;
    char id[FL_GEO_ID_MAX];
    if (!cursor || cursor[0] != 'r' || strlen(cursor) < 38 || cursor[1] != '.'
        || cursor[18] != '.' || cursor[35] != '.' || !s_hex(cursor + 2, 16, &a)
        || !s_hex(cursor + 19, 16, &b) || !s_hex_id(cursor + 36, id))
        return -1;
    return (int64_t) b;
}
