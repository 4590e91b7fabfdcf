/*  tests/bench/world.h — the generated "world of cities" the geo and
 *  events benches share: a 64-word title vocabulary (a few accented),
 *  eight tags, eight cities with a Gaussian spread, and a seeded
 *  generator of events and nearby-query centres.
 *
 *  70% of points fall around the cities (each its share), 30% uniform
 *  over the inhabited latitudes.  Everything comes from one splitmix64
 *  stream in fl_world_t, so a seed gives the same events and queries to
 *  every side a bench compares.
 *
 *      fl_world_t world;
 *      fl_world_seed(&world, FL_WORLD_SEED);
 *      fl_world_event_t ev;
 *      fl_world_make_event(&world, now_s, &ev);
 */
#ifndef FL_WORLD_H
#define FL_WORLD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define FL_WORLD_SEED 0x6E0BE7C4ULL
#define FL_WORLD_WORDS 64
#define FL_WORLD_TAGS 8
#define FL_WORLD_CITIES 8
#define FL_WORLD_CATEGORIES 12
#define FL_WORLD_DAY_S 86400

typedef struct {
    const char *shown;              /* as in a title */
    const char *folded;             /* lower case, accents removed */
} fl_world_word_t;

typedef struct {
    double lat, lon, sigma_deg, share;
    const char *tz;
} fl_world_city_t;

extern const fl_world_word_t fl_world_vocab[FL_WORLD_WORDS];
extern const fl_world_city_t fl_world_cities[FL_WORLD_CITIES];

/*  The random stream; seed it with fl_world_seed.  */
typedef struct {
    uint64_t rng;
} fl_world_t;

/*  One generated event, with what either bench needs of it.  */
typedef struct {
    double lat, lon;
    int64_t start_s, end_s;
    uint64_t words;                 /* bit i: fl_world_vocab[i] is in the title */
    uint8_t category;               /* 1 .. FL_WORLD_CATEGORIES */
    uint8_t tag, n_tags;            /* the tags [tag .. tag + n_tags) */
    int8_t city;                    /* fl_world_cities index, -1: the background */
    int price_type;                 /* 1 free, 2 paid, 3 donation */
    uint64_t price_minor;
    int32_t free_spots;             /* -1: no capacity limit */
    uint32_t popularity;
    char title[72];                 /* three to six vocabulary words */
    char *id;                       /* the caller's (flowd's id once created) */
} fl_world_event_t;

/*  A nearby-query centre drawn like the events, with optional filters:
 *  three categories, a window of three days from a random start in the
 *  first three, and a folded text prefix of three or four letters.  */
typedef struct {
    double lat, lon;
    double radius_m;
    bool filtered;
    int categories[3];
    int64_t from_s, to_s;
    char text[8];                   /* "" or one folded prefix */
    uint64_t prefix_words;          /* the words the prefix begins */
} fl_world_query_t;

void fl_world_seed(fl_world_t *world, uint64_t seed);

/*  The next 64 random bits; a double in [0, 1); a standard normal.  */
uint64_t fl_world_next(fl_world_t *world);
double fl_world_unit(fl_world_t *world);
double fl_world_gauss(fl_world_t *world);

/*  A point where events are, in [-85, 85] x [-180, 180]: the city it
 *  belongs to, or -1 for the background.  */
int fl_world_place(fl_world_t *world, double *lat, double *lon);

/*  Makes *EV (its id NULL), starting within 30 days after FROM_S.  */
void fl_world_make_event(fl_world_t *world, int64_t from_s, fl_world_event_t *ev);

/*  Makes *Q of RADIUS_M, with filters when FILTERED, the window from
 *  NOW_S.  */
void fl_world_make_query(fl_world_t *world, double radius_m, bool filtered, int64_t now_s,
                         fl_world_query_t *q);

/*  EV's time zone: its city's, or "UTC".  */
const char *fl_world_event_tz(const fl_world_event_t *ev);

/*  EV's tags, ev->n_tags of them (in a static table).  */
char *const *fl_world_event_tags(const fl_world_event_t *ev);

#endif
