/*  tests/bench/world.c — the generated world of cities for the benches;
 *  see world.h.
 */
#include "tests/bench/world.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#define PI 3.14159265358979323846

const fl_world_word_t fl_world_vocab[FL_WORLD_WORDS] = {
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

/*  Not const: protobuf and the geo index take char *const *.  */
static char *s_tags[FL_WORLD_TAGS] = { "outdoor", "indoor", "free", "kids", "music", "food",
                                       "art", "sport" };

const fl_world_city_t fl_world_cities[FL_WORLD_CITIES] = {
    { 48.8566, 2.3522, 0.08, 0.15, "Europe/Paris" },
    { 51.5074, -0.1278, 0.12, 0.15, "Europe/London" },
    { 40.7128, -74.0060, 0.10, 0.12, "America/New_York" },
    { 35.6762, 139.6503, 0.15, 0.10, "Asia/Tokyo" },
    { -23.5505, -46.6333, 0.12, 0.06, "America/Sao_Paulo" },
    { 52.5200, 13.4050, 0.07, 0.05, "Europe/Berlin" },
    { 19.0760, 72.8777, 0.10, 0.04, "Asia/Kolkata" },
    { -33.8688, 151.2093, 0.10, 0.03, "Australia/Sydney" },
};

void
fl_world_seed(fl_world_t *world, uint64_t seed)
{
    world->rng = seed;
}

uint64_t
fl_world_next(fl_world_t *world)
{
    uint64_t z = (world->rng += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

double
fl_world_unit(fl_world_t *world)
{
    return (double) (fl_world_next(world) >> 11) * 0x1p-53;
}

double
fl_world_gauss(fl_world_t *world)
{
    return sqrt(-2 * log(1 - fl_world_unit(world))) * cos(2 * PI * fl_world_unit(world));
}

int
fl_world_place(fl_world_t *world, double *lat, double *lon)
{
    double u = fl_world_unit(world);
    int city = -1;
    for (int c = 0; c < FL_WORLD_CITIES && city < 0; c++) {
        if (u < fl_world_cities[c].share)
            city = c;
        u -= fl_world_cities[c].share;
    }
    if (city < 0) {
        *lat = -55 + 125 * fl_world_unit(world);
        *lon = -180 + 360 * fl_world_unit(world);
        return -1;
    }
    const fl_world_city_t *c = &fl_world_cities[city];
    *lat = fmax(-85, fmin(85, c->lat + c->sigma_deg * fl_world_gauss(world)));
    *lon = c->lon + c->sigma_deg * fl_world_gauss(world) / cos(c->lat * PI / 180);
    *lon = *lon > 180 ? *lon - 360 : *lon < -180 ? *lon + 360 : *lon;
    return city;
}

void
fl_world_make_event(fl_world_t *world, int64_t from_s, fl_world_event_t *ev)
{
    memset(ev, 0, sizeof *ev);
    ev->city = (int8_t) fl_world_place(world, &ev->lat, &ev->lon);
    ev->start_s = from_s + (int64_t) (fl_world_next(world) % (30 * FL_WORLD_DAY_S));
    ev->end_s = ev->start_s + 3600 * (1 + (int64_t) (fl_world_next(world) % 4));
    ev->category = (uint8_t) (1 + fl_world_next(world) % FL_WORLD_CATEGORIES);
    ev->price_type = 1 + (int) (fl_world_next(world) % 3);
    ev->price_minor = ev->price_type == 1 ? 0 : fl_world_next(world) % 5000;
    ev->free_spots = (int32_t) (fl_world_next(world) % 200) - 1;
    ev->popularity = (uint32_t) (fl_world_next(world) % 2000);
    ev->tag = (uint8_t) (fl_world_next(world) % 6);
    ev->n_tags = (uint8_t) (fl_world_next(world) % 3);
    int words = 3 + (int) (fl_world_next(world) % 4);
    size_t k = 0;
    for (int i = 0; i < words; i++) {
        int w = (int) (fl_world_next(world) % FL_WORLD_WORDS);
        ev->words |= 1ULL << w;
        k += (size_t) snprintf(ev->title + k, sizeof ev->title - k, "%s%s", i ? " " : "",
                               fl_world_vocab[w].shown);
    }
}

void
fl_world_make_query(fl_world_t *world, double radius_m, bool filtered, int64_t now_s,
                    fl_world_query_t *q)
{
    memset(q, 0, sizeof *q);
    fl_world_place(world, &q->lat, &q->lon);
    q->radius_m = radius_m;
    q->filtered = filtered;
    if (!filtered)
        return;
    for (int i = 0; i < 3; i++)
        q->categories[i] = 1 + (int) (fl_world_next(world) % FL_WORLD_CATEGORIES);
    q->from_s = now_s + (int64_t) (fl_world_next(world) % (3 * FL_WORLD_DAY_S));
    q->to_s = q->from_s + 3 * FL_WORLD_DAY_S;
    const char *word = fl_world_vocab[fl_world_next(world) % FL_WORLD_WORDS].folded;
    snprintf(q->text, sizeof q->text, "%.*s", 3 + (int) (fl_world_next(world) % 2), word);
    for (int w = 0; w < FL_WORLD_WORDS; w++)
        if (strncmp(fl_world_vocab[w].folded, q->text, strlen(q->text)) == 0)
            q->prefix_words |= 1ULL << w;
}

const char *
fl_world_event_tz(const fl_world_event_t *ev)
{
    return ev->city < 0 ? "UTC" : fl_world_cities[ev->city].tz;
}

char *const *
fl_world_event_tags(const fl_world_event_t *ev)
{
    return &s_tags[ev->tag];
}
