/*  clients/flow_event.c — `flow event ...`: create, update, cancel,
 *  show, nearby, rsvp, withdraw, invite, attendees, checkin, rate, review,
 *  reviews and history.
 *
 *  Every value is checked here, before anything is sent, so a bad option
 *  is a usage error that names it; the node checks everything again.
 *  Money is written in major units ("12.50") and sent in the currency's
 *  minor unit, converted exactly, in integers, never through a double.
 *  Times are read and shown with the node's own code (node/timeutil.c:
 *  RFC 3339, IANA zones through libical), so the CLI and the node cannot
 *  disagree about an instant or a zone; an event is shown in its own
 *  zone and in UTC.
 */
#include "clients/flow_cmd.h"
#include "node/timeutil.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

enum {
    S_OPT_TITLE = FL_OPT_COMMAND, S_OPT_DESCRIPTION, S_OPT_CATEGORY, S_OPT_TAGS,
    S_OPT_ORGANIZER_TYPE, S_OPT_START, S_OPT_END, S_OPT_TZ, S_OPT_LAT, S_OPT_LON,
    S_OPT_ADDRESS, S_OPT_VENUE, S_OPT_PRICE, S_OPT_AMOUNT, S_OPT_CURRENCY, S_OPT_CAPACITY,
    S_OPT_VISIBILITY, S_OPT_INVITE_ONLY, S_OPT_MIN_POINTS, S_OPT_MIN_RATING, S_OPT_IMAGE,
    S_OPT_IF_VERSION, S_OPT_RADIUS, S_OPT_TAG, S_OPT_WHEN, S_OPT_FROM, S_OPT_TO,
    S_OPT_MAX_PRICE, S_OPT_FREE_SPOTS, S_OPT_TEXT, S_OPT_SORT, S_OPT_LIMIT, S_OPT_CURSOR,
    S_OPT_STATE, S_OPT_STARS
};

/*  ---------------------------------------------------------------------
 *  Option values: money, numbers, places, times and names
 */

/*  The most a price may be in minor units, as the node allows.  */
#define S_AMOUNT_MAX_MINOR UINT64_C(100000000000)
#define S_PAGE_MAX 200
#define S_RADIUS_MAX_M 200000

/*  Currencies whose minor unit is not a hundredth (ISO 4217).  */
static const struct {
    const char *code;
    int decimals;
} s_currency_decimals[] = {
    { "BHD", 3 }, { "BIF", 0 }, { "CLP", 0 }, { "DJF", 0 }, { "GNF", 0 }, { "IQD", 3 },
    { "ISK", 0 }, { "JOD", 3 }, { "JPY", 0 }, { "KMF", 0 }, { "KRW", 0 }, { "KWD", 3 },
    { "LYD", 3 }, { "OMR", 3 }, { "PYG", 0 }, { "RWF", 0 }, { "TND", 3 }, { "UGX", 0 },
    { "VND", 0 }, { "VUV", 0 }, { "XAF", 0 }, { "XOF", 0 }, { "XPF", 0 },
};

/*  Digits after the decimal point in CURRENCY's amounts.  */
static int
s_decimals(const char *currency)
{
    for (size_t i = 0; i < sizeof s_currency_decimals / sizeof s_currency_decimals[0]; i++) {
        if (strcmp(s_currency_decimals[i].code, currency) == 0)
            return s_currency_decimals[i].decimals;
    }
    return 2;
}

/*  TEXT ("12.50", "12.5", "12") in minor units of a currency with
 *  DECIMALS digits after the point.  False for anything but digits with
 *  at most DECIMALS of them after one point, and above
 *  S_AMOUNT_MAX_MINOR.  */
static bool
s_parse_amount(const char *text, int decimals, uint64_t *minor_p)
{
    uint64_t minor = 0;
    int whole = 0;
    int fraction = -1;          /*  digits after the point; -1: no point  */
    for (const char *c = text; *c; c++) {
        if (*c == '.' && fraction < 0 && whole > 0) {
            fraction = 0;
            continue;
        }
        if (*c < '0' || *c > '9' || (fraction >= 0 && ++fraction > decimals))
            return false;
        if (fraction < 0)
            whole++;
        minor = minor * 10 + (uint64_t) (*c - '0');
        if (minor > S_AMOUNT_MAX_MINOR)
            return false;
    }
    if (whole == 0 || fraction == 0)
        return false;
    for (int i = fraction < 0 ? 0 : fraction; i < decimals; i++)
        minor *= 10;
    if (minor > S_AMOUNT_MAX_MINOR)
        return false;
    *minor_p = minor;
    return true;
}

/*  The amount option OPTION (EXAMPLE shows its form) as TEXT spells it,
 *  into *AMOUNT_P; its form is checked now, its decimals when the
 *  currency is known (s_amount_minor).  */
static int
s_amount_option(const char *option, const char *example, const char *text,
                const char **amount_p)
{
    uint64_t minor;
    *amount_p = text;
    if (!s_parse_amount(text, 3, &minor))
        return fl_cli_usage_error("%s wants an amount such as %s, not '%s'", option, example,
                                  text);
    return 0;
}

/*  TEXT, the value of amount option OPTION, in minor units of CURRENCY
 *  ("": none given, two decimals); a usage error when it has more
 *  decimals than CURRENCY has.  */
static int
s_amount_minor(const char *option, const char *text, const char *currency, uint64_t *minor_p)
{
    int decimals = currency[0] ? s_decimals(currency) : 2;
    if (s_parse_amount(text, decimals, minor_p))
        return 0;
    if (decimals == 0)
        return fl_cli_usage_error("%s in %s wants a whole number, not '%s'", option, currency,
                                  text);
    return fl_cli_usage_error("%s wants at most %d digits after the point%s%s, not '%s'", option,
                              decimals, currency[0] ? " in " : "", currency, text);
}

/*  MINOR units of CURRENCY as "12.50 EUR", written into BUF and
 *  returned.  */
static const char *
s_format_amount(uint64_t minor, const char *currency, char *buf, size_t cap)
{
    int decimals = s_decimals(currency);
    uint64_t scale = 1;
    for (int i = 0; i < decimals; i++)
        scale *= 10;
    if (decimals == 0)
        snprintf(buf, cap, "%" PRIu64 " %s", minor, currency);
    else
        snprintf(buf, cap, "%" PRIu64 ".%0*" PRIu64 " %s", minor / scale, decimals,
                 minor % scale, currency);
    return buf;
}

/*  The number TEXT spells in decimal digits and nothing else, when it is
 *  at most MAX.  */
static bool
s_parse_uint(const char *text, uint64_t max, uint64_t *value_p)
{
    if (text[0] < '0' || text[0] > '9')
        return false;
    char *end;
    errno = 0;
    unsigned long long value = strtoull(text, &end, 10);
    if (*end || errno || value > max)
        return false;
    *value_p = value;
    return true;
}

static int
s_uint32_option(const char *option, const char *text, uint32_t *value_p)
{
    uint64_t value;
    if (!s_parse_uint(text, UINT32_MAX, &value))
        return fl_cli_usage_error("%s wants a whole number from 0, not '%s'", option, text);
    *value_p = (uint32_t) value;
    return 0;
}

static int
s_limit_option(const char *text, uint32_t *limit_p)
{
    uint64_t value;
    if (!s_parse_uint(text, S_PAGE_MAX, &value) || value == 0)
        return fl_cli_usage_error("--limit wants a number from 1 to %d, not '%s'", S_PAGE_MAX,
                                  text);
    *limit_p = (uint32_t) value;
    return 0;
}

/*  The number TEXT spells (as strtod reads it, and nothing after it)
 *  when it is finite and within MIN..MAX.  */
static bool
s_parse_real(const char *text, double min, double max, double *value_p)
{
    char *end;
    errno = 0;
    double value = strtod(text, &end);
    if (end == text || *end || errno || !isfinite(value) || value < min || value > max)
        return false;
    *value_p = value;
    return true;
}

static int
s_degrees_option(const char *option, const char *text, double limit, double *value_p)
{
    if (!s_parse_real(text, -limit, limit, value_p))
        return fl_cli_usage_error("%s wants degrees within -%g..%g, not '%s'", option, limit,
                                  limit, text);
    return 0;
}

static int
s_time_option(const char *option, const char *text, int64_t *unix_s)
{
    if (fl_time_parse(text, unix_s) != 0)
        return fl_cli_usage_error("%s wants an RFC 3339 time such as 2026-12-01T20:00:00Z, "
                                  "not '%s'", option, text);
    return 0;
}

/*  An ISO 4217 code, in any case, into CODE (upper case).  Whether it is
 *  one in use is the node's to say.  */
static int
s_currency_option(const char *text, char code[4])
{
    bool ok = strlen(text) == 3;
    for (size_t i = 0; ok && i < 3; i++) {
        ok = isalpha((unsigned char) text[i]);
        code[i] = (char) toupper((unsigned char) text[i]);
    }
    code[3] = 0;
    if (!ok)
        return fl_cli_usage_error("--currency wants an ISO 4217 code such as EUR, not '%s'",
                                  text);
    return 0;
}

/*  A member of DESCRIPTOR by its name without PREFIX (see
 *  fl_cli_enum_parse); CHOICES names them for the message.  */
static int
s_enum_option(const char *option, const ProtobufCEnumDescriptor *descriptor,
              const char *prefix, const char *choices, const char *text, int *value_p)
{
    if (!fl_cli_enum_parse(descriptor, prefix, text, value_p))
        return fl_cli_usage_error("%s wants %s, not '%s'", option, choices, text);
    return 0;
}

static int
s_price_option(const char *text, Flow__PriceType *price_p)
{
    int value = 0;
    int rc = s_enum_option("--price", &flow__price_type__descriptor, "PRICE_",
                           "free, paid or donation", text, &value);
    *price_p = (Flow__PriceType) value;
    return rc;
}

/*  The categories as the command line spells them: "music, nightlife,
 *  ...", into BUF.  */
static const char *
s_category_names(char *buf, size_t cap)
{
    size_t at = 0;
    buf[0] = 0;
    for (unsigned i = 0; i < flow__category__descriptor.n_values; i++) {
        int value = flow__category__descriptor.values[i].value;
        if (value == 0)
            continue;
        char name[32];
        int n = snprintf(buf + at, cap - at, "%s%s", at ? ", " : "",
                         fl_cli_enum_name(&flow__category__descriptor, "CATEGORY_", value, name,
                                          sizeof name));
        if (n < 0 || (size_t) n >= cap - at)
            break;
        at += (size_t) n;
    }
    return buf;
}

/*  A category by its name: "food_drink", "food-drink", "FOOD_DRINK".  */
static int
s_category_option(const char *option, const char *text, Flow__Category *category_p)
{
    char name[64];
    size_t len = strlen(text);
    int value = 0;
    bool ok = len < sizeof name;
    if (ok) {
        for (size_t i = 0; i <= len; i++)
            name[i] = text[i] == '-' ? '_' : text[i];
        ok = fl_cli_enum_parse(&flow__category__descriptor, "CATEGORY_", name, &value);
    }
    if (!ok) {
        char names[512];
        return fl_cli_usage_error("%s wants one of %s; not '%s'", option,
                                  s_category_names(names, sizeof names), text);
    }
    *category_p = (Flow__Category) value;
    return 0;
}

/*  Appends ITEM (not copied) to *LIST_P, which grows by one.  */
static int
s_append(char ***list_p, size_t *n_p, char *item)
{
    char **list = realloc(*list_p, (*n_p + 1) * sizeof *list);
    if (!list)
        return fl_cli_fail(FL_CLI_EXIT_FAIL, FLOW_INTERNAL, "out of memory");
    list[(*n_p)++] = item;
    *list_p = list;
    return 0;
}

/*  The event ID a command takes as its only argument; NULL after a
 *  usage error, reported.  */
static const char *
s_event_id_arg(int argc, char **argv, const char *command)
{
    if (optind >= argc) {
        fl_cli_usage_error("%s wants an event ID", command);
        return NULL;
    }
    if (argc - optind > 1) {
        fl_cli_usage_error("%s takes one event ID, not also '%s'", command, argv[optind + 1]);
        return NULL;
    }
    return argv[optind];
}

/*  ---------------------------------------------------------------------
 *  Printing events
 */

/*  UNIX_S as "2026-12-01 20:00" in UTC, into BUF.  */
static const char *
s_utc_time(int64_t unix_s, char *buf, size_t cap)
{
    time_t t = (time_t) unix_s;
    struct tm tm;
    if (!gmtime_r(&t, &tm) || strftime(buf, cap, "%Y-%m-%d %H:%M", &tm) == 0)
        snprintf(buf, cap, "%" PRId64, unix_s);
    return buf;
}

/*  UNIX_S as the wall-clock time in zone TZ, "2026-12-01 21:00"; in UTC
 *  with " UTC" after it when TZ is not a zone known here.  Into BUF.  */
static const char *
s_local_time(int64_t unix_s, const char *tz, char *buf, size_t cap)
{
    fl_local_t local;
    if (fl_time_local(unix_s, tz, &local) == 0)
        snprintf(buf, cap, "%04d-%02d-%02d %02d:%02d", local.year, local.month, local.day,
                 local.hour, local.minute);
    else {
        char utc[32];
        snprintf(buf, cap, "%s UTC", s_utc_time(unix_s, utc, sizeof utc));
    }
    return buf;
}

/*  "12.3 km" or "850 m", into BUF.  */
static const char *
s_distance(double metres, char *buf, size_t cap)
{
    if (metres < 999.5)
        snprintf(buf, cap, "%.0f m", metres);
    else
        snprintf(buf, cap, "%.1f km", metres / 1000.0);
    return buf;
}

/*  TEXT after LABEL, its later lines indented under the first.  */
static void
s_print_block(const char *label, const char *text)
{
    if (!text || !text[0])
        return;
    printf("%-14s ", label);
    for (const char *c = text; *c; c++) {
        putchar(*c);
        if (*c == '\n' && c[1])
            printf("%-14s ", "");
    }
    if (text[strlen(text) - 1] != '\n')
        putchar('\n');
}

static void
s_print_when(const Flow__Event *ev)
{
    char from[48], to[48];
    if (fl_time_zone_valid(ev->time_zone)) {
        printf("%-14s %s to ", "when", s_local_time(ev->start_s, ev->time_zone, from,
                                                     sizeof from));
        printf("%s %s\n%-14s ", s_local_time(ev->end_s, ev->time_zone, to, sizeof to),
               ev->time_zone, "");
    }
    else
        printf("%-14s ", "when");
    printf("%s to %s UTC\n", s_utc_time(ev->start_s, from, sizeof from),
           s_utc_time(ev->end_s, to, sizeof to));
}

static void
s_print_where(const Flow__Location *l)
{
    printf("%-14s ", "where");
    if (l->venue[0])
        printf("%s, ", l->venue);
    if (l->address[0])
        printf("%s, ", l->address);
    printf("%.6f,%.6f\n", l->lat, l->lon);
}

static void
s_print_price(const Flow__Pricing *p)
{
    char amount[64] = "";
    if (p->amount_minor)
        s_format_amount(p->amount_minor, p->currency, amount, sizeof amount);
    if (p->type == FLOW__PRICE_TYPE__PRICE_PAID)
        printf("%-14s %s\n", "price", amount);
    else if (p->type == FLOW__PRICE_TYPE__PRICE_DONATION)
        printf("%-14s donation%s%s\n", "price", amount[0] ? ", suggested " : "", amount);
    else
        printf("%-14s free\n", "price");
}

static void
s_print_requirements(const Flow__Requirements *r)
{
    if (!r->invite_only && !r->min_points && r->min_attendee_rating <= 0)
        return;
    printf("%-14s", "requirements");
    const char *sep = " ";
    if (r->invite_only) {
        printf("%sinvite only", sep);
        sep = ", ";
    }
    if (r->min_points) {
        printf("%s%" PRIu32 " points", sep, r->min_points);
        sep = ", ";
    }
    if (r->min_attendee_rating > 0)
        printf("%srating %.1f", sep, r->min_attendee_rating);
    printf("\n");
}

static void
s_print_attendance(const Flow__Event *ev)
{
    printf("%-14s ", "capacity");
    if (ev->capacity)
        printf("%" PRIu32, ev->capacity);
    else
        printf("no limit");
    printf(" (going %" PRIu32 ", interested %" PRIu32 ", waitlisted %" PRIu32 ")\n",
           ev->going, ev->interested, ev->waitlisted);
}

static void
s_print_my_rsvp(const Flow__Event *ev)
{
    char state[32];
    printf("%-14s %s", "your rsvp",
           fl_cli_enum_name(&flow__rsvp_state__descriptor, "RSVP_", (int) ev->my_rsvp, state,
                            sizeof state));
    if (ev->my_rsvp == FLOW__RSVP_STATE__RSVP_WAITLISTED)
        printf(", position %" PRIu32, ev->my_waitlist_position);
    printf("\n");
}

static void
s_print_event(const ProtobufCMessage *message)
{
    const Flow__Event *ev = (const Flow__Event *) message;
    char buf[64];
    printf("%-14s %s\n", "id", ev->id);
    printf("%-14s %s\n", "title", ev->title);
    s_print_when(ev);
    if (ev->location)
        s_print_where(ev->location);
    printf("%-14s %s\n", "category", fl_cli_enum_name(&flow__category__descriptor, "CATEGORY_",
                                                      (int) ev->category, buf, sizeof buf));
    fl_output_list("tags", ev->tags, ev->n_tags);
    if (ev->organizer) {
        printf("%-14s %s", "organizer", ev->organizer->display_name[0]
                                            ? ev->organizer->display_name
                                            : ev->organizer->user_id);
        if (ev->organizer->type != FLOW__ORGANIZER_TYPE__ORGANIZER_UNSPECIFIED)
            printf(" (%s)", fl_cli_enum_name(&flow__organizer_type__descriptor, "ORGANIZER_",
                                             (int) ev->organizer->type, buf, sizeof buf));
        printf("\n");
    }
    s_print_block("description", ev->description);
    if (ev->pricing)
        s_print_price(ev->pricing);
    else
        printf("%-14s free\n", "price");
    s_print_attendance(ev);
    printf("%-14s %s\n", "visibility",
           fl_cli_enum_name(&flow__event_visibility__descriptor, "EVENT_", (int) ev->visibility,
                            buf, sizeof buf));
    if (ev->requirements)
        s_print_requirements(ev->requirements);
    if (ev->media)
        fl_output_list("images", ev->media->image_urls, ev->media->n_image_urls);
    printf("%-14s %s\n", "status", fl_cli_enum_name(&flow__event_status__descriptor, "EVENT_",
                                                    (int) ev->status, buf, sizeof buf));
    s_print_my_rsvp(ev);
    printf("%-14s %" PRIu64 "\n", "version", ev->version);
}

/*  Prints EV (the JSON of the Event with --json) and frees it.  */
static int
s_event_print(fl_cmd_ctx_t *ctx, Flow__Event *ev)
{
    int rc = fl_output_reply(ctx, &ev->base, s_print_event);
    flow__event__free_unpacked(ev, NULL);
    return rc;
}

/*  ---------------------------------------------------------------------
 *  event create, event update
 */

/*  What `event create` or `event update` was told.  The draft's messages
 *  live here and are linked into it once the options are all read;
 *  strings stay in argv (lists are split there in place).  GIVEN says
 *  which options were present: an update sends only those.  */
typedef struct {
    Flow__EventDraft draft;
    Flow__Location location;
    Flow__Pricing pricing;
    Flow__Requirements requirements;
    Flow__Media media;
    Flow__PriceType price;
    const char *amount;         /*  converted when the currency is known  */
    char currency[4];
    char **images;
    size_t n_images;
    uint64_t if_version;
    struct {
        bool title, description, category, tags, organizer_type, start, end, tz;
        bool lat, lon, address, venue;
        bool price, amount, currency;
        bool capacity, visibility;
        bool invite_only, min_points, min_rating;
        bool images;
    } given;
} s_draft_args_t;

static void
s_draft_args_init(s_draft_args_t *a)
{
    memset(a, 0, sizeof *a);
    flow__event_draft__init(&a->draft);
    flow__location__init(&a->location);
    flow__pricing__init(&a->pricing);
    flow__requirements__init(&a->requirements);
    flow__media__init(&a->media);
}

static void
s_draft_args_free(s_draft_args_t *a)
{
    free(a->draft.tags);
    free(a->images);
}

static int
s_invite_only_option(const char *text, protobuf_c_boolean *value_p)
{
    if (!text || strcmp(text, "yes") == 0)
        *value_p = true;
    else if (strcmp(text, "no") == 0)
        *value_p = false;
    else
        return fl_cli_usage_error("--invite-only takes =yes or =no, not '%s'", text);
    return 0;
}

static int
s_rating_option(const char *text, double *rating_p)
{
    if (!s_parse_real(text, 0, 5, rating_p))
        return fl_cli_usage_error("--min-rating wants a rating from 0 to 5, not '%s'", text);
    return 0;
}

/*  The options about the event itself.  */
static int
s_draft_text_option(int opt, char *text, s_draft_args_t *a)
{
    Flow__EventDraft *d = &a->draft;
    int value = 0;
    int rc = 0;
    switch (opt) {
    case S_OPT_TITLE: d->title = text; a->given.title = true; return 0;
    case S_OPT_DESCRIPTION: d->description = text; a->given.description = true; return 0;
    case S_OPT_CATEGORY:
        a->given.category = true;
        return s_category_option("--category", text, &d->category);
    case S_OPT_TAGS:
        a->given.tags = true;
        return fl_cmd_split(text, &d->tags, &d->n_tags);
    case S_OPT_ORGANIZER_TYPE:
        a->given.organizer_type = true;
        rc = s_enum_option("--organizer-type", &flow__organizer_type__descriptor, "ORGANIZER_",
                           "individual, business or organization", text, &value);
        d->organizer_type = (Flow__OrganizerType) value;
        return rc;
    case S_OPT_VISIBILITY:
        a->given.visibility = true;
        rc = s_enum_option("--visibility", &flow__event_visibility__descriptor, "EVENT_",
                           "public or private", text, &value);
        d->visibility = (Flow__EventVisibility) value;
        return rc;
    case S_OPT_CAPACITY:
        a->given.capacity = true;
        return s_uint32_option("--capacity", text, &d->capacity);
    case S_OPT_IMAGE:
        a->given.images = true;
        return text[0] ? s_append(&a->images, &a->n_images, text) : 0;
    default:
        return 0;
    }
}

/*  The options about time, place, price and requirements.  */
static int
s_draft_detail_option(int opt, char *text, s_draft_args_t *a)
{
    Flow__EventDraft *d = &a->draft;
    switch (opt) {
    case S_OPT_START: a->given.start = true; return s_time_option("--start", text, &d->start_s);
    case S_OPT_END: a->given.end = true; return s_time_option("--end", text, &d->end_s);
    case S_OPT_TZ:
        a->given.tz = true;
        d->time_zone = text;
        if (!fl_time_zone_valid(text))
            return fl_cli_usage_error("--tz wants an IANA time zone such as Europe/Berlin, "
                                      "not '%s'", text);
        return 0;
    case S_OPT_LAT: a->given.lat = true; return s_degrees_option("--lat", text, 90, &a->location.lat);
    case S_OPT_LON: a->given.lon = true; return s_degrees_option("--lon", text, 180, &a->location.lon);
    case S_OPT_ADDRESS: a->location.address = text; a->given.address = true; return 0;
    case S_OPT_VENUE: a->location.venue = text; a->given.venue = true; return 0;
    case S_OPT_PRICE: a->given.price = true; return s_price_option(text, &a->price);
    case S_OPT_AMOUNT:
        a->given.amount = true;
        return s_amount_option("--amount", "12.50", text, &a->amount);
    case S_OPT_CURRENCY: a->given.currency = true; return s_currency_option(text, a->currency);
    case S_OPT_INVITE_ONLY:
        a->given.invite_only = true;
        return s_invite_only_option(text, &a->requirements.invite_only);
    case S_OPT_MIN_POINTS:
        a->given.min_points = true;
        return s_uint32_option("--min-points", text, &a->requirements.min_points);
    case S_OPT_MIN_RATING:
        a->given.min_rating = true;
        return s_rating_option(text, &a->requirements.min_attendee_rating);
    case S_OPT_IF_VERSION:
        if (!s_parse_uint(text, UINT64_MAX, &a->if_version) || a->if_version == 0)
            return fl_cli_usage_error("--if-version wants an event version above 0, not '%s'",
                                      text);
        return 0;
    default:
        return s_draft_text_option(opt, text, a);
    }
}

/*  optarg points into argv, which may be changed in place.  */
static int
s_draft_option(int opt, const char *arg, void *state)
{
    return s_draft_detail_option(opt, (char *) arg, state);
}

#define S_DRAFT_OPTIONS                                                     \
    { "title", required_argument, NULL, S_OPT_TITLE },                      \
    { "description", required_argument, NULL, S_OPT_DESCRIPTION },          \
    { "category", required_argument, NULL, S_OPT_CATEGORY },                \
    { "tags", required_argument, NULL, S_OPT_TAGS },                        \
    { "organizer-type", required_argument, NULL, S_OPT_ORGANIZER_TYPE },    \
    { "start", required_argument, NULL, S_OPT_START },                      \
    { "end", required_argument, NULL, S_OPT_END },                          \
    { "tz", required_argument, NULL, S_OPT_TZ },                            \
    { "lat", required_argument, NULL, S_OPT_LAT },                          \
    { "lon", required_argument, NULL, S_OPT_LON },                          \
    { "address", required_argument, NULL, S_OPT_ADDRESS },                  \
    { "venue", required_argument, NULL, S_OPT_VENUE },                      \
    { "price", required_argument, NULL, S_OPT_PRICE },                      \
    { "amount", required_argument, NULL, S_OPT_AMOUNT },                    \
    { "currency", required_argument, NULL, S_OPT_CURRENCY },                \
    { "capacity", required_argument, NULL, S_OPT_CAPACITY },                \
    { "visibility", required_argument, NULL, S_OPT_VISIBILITY },            \
    { "invite-only", optional_argument, NULL, S_OPT_INVITE_ONLY },          \
    { "min-points", required_argument, NULL, S_OPT_MIN_POINTS },            \
    { "min-rating", required_argument, NULL, S_OPT_MIN_RATING },            \
    { "image", required_argument, NULL, S_OPT_IMAGE }

/*  Checks that hold for create and update alike, before anything is
 *  sent.  */
static int
s_draft_check(const s_draft_args_t *a)
{
    if (a->given.price && a->price == FLOW__PRICE_TYPE__PRICE_FREE && a->given.amount)
        return fl_cli_usage_error("--price free takes no --amount");
    if (a->given.start && a->given.end && a->draft.end_s <= a->draft.start_s)
        return fl_cli_usage_error("--end must be after --start");
    return 0;
}

/*  The pricing to send: CURRENT (may be NULL) with the options put over
 *  it.  An amount without --price makes a free event paid; --price free
 *  drops amount and currency.  */
static int
s_draft_pricing(s_draft_args_t *a, const Flow__Pricing *current)
{
    Flow__Pricing *p = &a->pricing;
    if (current)
        *p = *current;
    if (a->given.price)
        p->type = a->price;
    if (a->given.price && a->price == FLOW__PRICE_TYPE__PRICE_FREE) {
        p->amount_minor = 0;
        p->currency = "";
    }
    if (a->given.currency)
        p->currency = a->currency;
    if (!a->given.amount)
        return 0;
    if (!p->currency[0])
        return fl_cli_usage_error("--amount wants --currency");
    int rc = s_amount_minor("--amount", a->amount, p->currency, &p->amount_minor);
    if (rc != 0)
        return rc;
    if (!a->given.price && p->amount_minor > 0
        && (p->type == FLOW__PRICE_TYPE__PRICE_UNSPECIFIED
            || p->type == FLOW__PRICE_TYPE__PRICE_FREE))
        p->type = FLOW__PRICE_TYPE__PRICE_PAID;
    return 0;
}

/*  The location, requirements and media to send: CURRENT's (an update;
 *  NULL for a new event) with the options put over them.  */
static void
s_draft_merge(s_draft_args_t *a, const Flow__Event *current)
{
    Flow__Location given = a->location;
    if (current && current->location)
        a->location = *current->location;
    if (a->given.lat)
        a->location.lat = given.lat;
    if (a->given.lon)
        a->location.lon = given.lon;
    if (a->given.address)
        a->location.address = given.address;
    if (a->given.venue)
        a->location.venue = given.venue;
    Flow__Requirements wanted = a->requirements;
    if (current && current->requirements)
        a->requirements = *current->requirements;
    if (a->given.invite_only)
        a->requirements.invite_only = wanted.invite_only;
    if (a->given.min_points)
        a->requirements.min_points = wanted.min_points;
    if (a->given.min_rating)
        a->requirements.min_attendee_rating = wanted.min_attendee_rating;
    if (current && current->media)
        a->media = *current->media;
    if (a->given.images) {
        a->media.image_urls = a->images;
        a->media.n_image_urls = a->n_images;
    }
}

static bool
s_given_location(const s_draft_args_t *a)
{
    return a->given.lat || a->given.lon || a->given.address || a->given.venue;
}

static bool
s_given_pricing(const s_draft_args_t *a)
{
    return a->given.price || a->given.amount || a->given.currency;
}

static bool
s_given_requirements(const s_draft_args_t *a)
{
    return a->given.invite_only || a->given.min_points || a->given.min_rating;
}

/*  Links the parts into the draft: CURRENT (NULL for a new event) is
 *  the event an update starts from.  */
static int
s_draft_build(s_draft_args_t *a, const Flow__Event *current)
{
    int rc = s_draft_pricing(a, current ? current->pricing : NULL);
    if (rc != 0)
        return rc;
    if (!current && a->pricing.type == FLOW__PRICE_TYPE__PRICE_UNSPECIFIED)
        a->pricing.type = FLOW__PRICE_TYPE__PRICE_FREE;
    s_draft_merge(a, current);
    a->draft.location = &a->location;
    a->draft.pricing = &a->pricing;
    a->draft.requirements = &a->requirements;
    a->draft.media = &a->media;
    return 0;
}

int
fl_cmd_event_create(fl_cmd_ctx_t *ctx, int argc, char **argv)
{
    static const struct option options[] = {
        S_DRAFT_OPTIONS, FL_GLOBAL_OPTIONS, { NULL, 0, NULL, 0 }
    };
    s_draft_args_t a;
    s_draft_args_init(&a);
    int rc = fl_cmd_parse(ctx, argc, argv, "", options, s_draft_option, &a);
    if (rc == 0 && optind < argc)
        rc = fl_cli_usage_error("event create takes no argument '%s'", argv[optind]);
    if (rc == 0 && !(a.given.title && a.given.category && a.given.lat && a.given.lon
                     && a.given.start && a.given.end && a.given.tz))
        rc = fl_cli_usage_error("event create wants --title, --category, --lat, --lon, "
                                "--start, --end and --tz");
    if (rc == 0)
        rc = s_draft_check(&a);
    if (rc == 0)
        rc = s_draft_build(&a, NULL);
    if (rc == 0)
        rc = fl_session_connect_signed_in(ctx);
    Flow__Event *ev = NULL;
    if (rc == 0) {
        flow_status_t status = flow_event_create(ctx->flow, &a.draft, &ev);
        rc = status == FLOW_OK ? s_event_print(ctx, ev) : fl_output_failed(ctx, status);
    }
    s_draft_args_free(&a);
    return rc;
}

#define S_DRAFT_FIELDS_MAX 16

/*  The EventDraft fields the options of A change, into FIELDS; returns
 *  how many.  */
static size_t
s_draft_fields(const s_draft_args_t *a, const char *fields[S_DRAFT_FIELDS_MAX])
{
    const struct {
        bool given;
        const char *field;
    } map[] = {
        { a->given.title, "title" },
        { a->given.description, "description" },
        { a->given.category, "category" },
        { a->given.tags, "tags" },
        { a->given.organizer_type, "organizer_type" },
        { a->given.start, "start_s" },
        { a->given.end, "end_s" },
        { a->given.tz, "time_zone" },
        { s_given_location(a), "location" },
        { s_given_pricing(a), "pricing" },
        { a->given.capacity, "capacity" },
        { a->given.visibility, "visibility" },
        { s_given_requirements(a), "requirements" },
        { a->given.images, "media" },
    };
    size_t n = 0;
    for (size_t i = 0; i < sizeof map / sizeof map[0]; i++) {
        if (map[i].given)
            fields[n++] = map[i].field;
    }
    return n;
}

/*  Sends the update.  Location, pricing, requirements and media are
 *  replaced whole by the node, so when one of their options is given the
 *  event is read first, the options are put over what it has, and the
 *  update is made only if the event has not changed since (unless
 *  --if-version says which version to change).  */
static int
s_event_update(fl_cmd_ctx_t *ctx, const char *id, s_draft_args_t *a)
{
    const char *fields[S_DRAFT_FIELDS_MAX];
    size_t n = s_draft_fields(a, fields);
    Flow__Event *current = NULL;
    if (s_given_location(a) || s_given_pricing(a) || s_given_requirements(a) || a->given.images) {
        flow_status_t status = flow_event_get(ctx->flow, id, &current);
        if (status != FLOW_OK)
            return fl_output_failed(ctx, status);
    }
    int rc = s_draft_build(a, current);
    uint64_t if_version = a->if_version ? a->if_version : current ? current->version : 0;
    Flow__Event *ev = NULL;
    if (rc == 0) {
        flow_status_t status = flow_event_update(ctx->flow, id, &a->draft, fields, n, if_version,
                                                 &ev);
        rc = status == FLOW_OK ? s_event_print(ctx, ev) : fl_output_failed(ctx, status);
    }
    if (current)
        flow__event__free_unpacked(current, NULL);
    return rc;
}

int
fl_cmd_event_update(fl_cmd_ctx_t *ctx, int argc, char **argv)
{
    static const struct option options[] = {
        S_DRAFT_OPTIONS,
        { "if-version", required_argument, NULL, S_OPT_IF_VERSION },
        FL_GLOBAL_OPTIONS, { NULL, 0, NULL, 0 }
    };
    s_draft_args_t a;
    s_draft_args_init(&a);
    const char *fields[S_DRAFT_FIELDS_MAX];
    const char *id = NULL;
    int rc = fl_cmd_parse(ctx, argc, argv, "", options, s_draft_option, &a);
    if (rc == 0 && !(id = s_event_id_arg(argc, argv, "event update")))
        rc = FL_CLI_EXIT_USAGE;
    if (rc == 0 && s_draft_fields(&a, fields) == 0)
        rc = fl_cli_usage_error("event update wants at least one change");
    if (rc == 0)
        rc = s_draft_check(&a);
    if (rc == 0)
        rc = fl_session_connect_signed_in(ctx);
    if (rc == 0)
        rc = s_event_update(ctx, id, &a);
    s_draft_args_free(&a);
    return rc;
}

/*  ---------------------------------------------------------------------
 *  event cancel, show, invite
 */

/*  Parses the options of a command that takes one event ID and no
 *  options of its own, and connects; *ID_P is the ID.  */
static int
s_event_id_command(fl_cmd_ctx_t *ctx, int argc, char **argv, const char *command,
                   const char **id_p)
{
    int rc = fl_cmd_parse(ctx, argc, argv, "", NULL, NULL, NULL);
    if (rc != 0)
        return rc;
    *id_p = s_event_id_arg(argc, argv, command);
    if (!*id_p)
        return FL_CLI_EXIT_USAGE;
    return fl_session_connect_signed_in(ctx);
}

int
fl_cmd_event_show(fl_cmd_ctx_t *ctx, int argc, char **argv)
{
    const char *id = NULL;
    int rc = s_event_id_command(ctx, argc, argv, "event show", &id);
    if (rc != 0)
        return rc;
    Flow__Event *ev = NULL;
    flow_status_t status = flow_event_get(ctx->flow, id, &ev);
    if (status != FLOW_OK)
        return fl_output_failed(ctx, status);
    return s_event_print(ctx, ev);
}

int
fl_cmd_event_cancel(fl_cmd_ctx_t *ctx, int argc, char **argv)
{
    const char *id = NULL;
    int rc = s_event_id_command(ctx, argc, argv, "event cancel", &id);
    if (rc != 0)
        return rc;
    Flow__Event *ev = NULL;
    flow_status_t status = flow_event_cancel(ctx->flow, id, &ev);
    if (status != FLOW_OK)
        return fl_output_failed(ctx, status);
    if (ctx->g.json || ctx->save_failed)
        return s_event_print(ctx, ev);
    printf("cancelled %s (%s)\n", ev->title, ev->id);
    flow__event__free_unpacked(ev, NULL);
    return 0;
}

int
fl_cmd_event_invite(fl_cmd_ctx_t *ctx, int argc, char **argv)
{
    int rc = fl_cmd_parse(ctx, argc, argv, "", NULL, NULL, NULL);
    if (rc != 0)
        return rc;
    if (argc - optind < 2)
        return fl_cli_usage_error("event invite wants an event ID and at least one USER_ID");
    const char *id = argv[optind];
    const char *const *users = (const char *const *) argv + optind + 1;
    size_t n = (size_t) (argc - optind - 1);
    rc = fl_session_connect_signed_in(ctx);
    if (rc != 0)
        return rc;
    Flow__Event *ev = NULL;
    flow_status_t status = flow_invite(ctx->flow, id, users, n, &ev);
    if (status != FLOW_OK)
        return fl_output_failed(ctx, status);
    if (ctx->g.json || ctx->save_failed)
        return s_event_print(ctx, ev);
    printf("invited %zu user%s to %s (%s)\n", n, n == 1 ? "" : "s", ev->title, ev->id);
    flow__event__free_unpacked(ev, NULL);
    return 0;
}

/*  ---------------------------------------------------------------------
 *  event rsvp, withdraw
 */

static void
s_print_rsvp(const ProtobufCMessage *message)
{
    const Flow__RsvpReply *reply = (const Flow__RsvpReply *) message;
    switch (reply->state) {
    case FLOW__RSVP_STATE__RSVP_GOING: printf("going"); break;
    case FLOW__RSVP_STATE__RSVP_INTERESTED: printf("interested"); break;
    case FLOW__RSVP_STATE__RSVP_WAITLISTED:
        printf("on the waitlist at position %" PRIu32, reply->waitlist_position);
        break;
    default: printf("withdrawn"); break;
    }
    if (reply->event)
        printf(": %s (%s)", reply->event->title, reply->event->id);
    printf("\n");
}

static int
s_rsvp(fl_cmd_ctx_t *ctx, const char *id, Flow__RsvpState state)
{
    Flow__RsvpReply *reply = NULL;
    flow_status_t status = flow_rsvp(ctx->flow, id, state, &reply);
    if (status != FLOW_OK)
        return fl_output_failed(ctx, status);
    int rc = fl_output_reply(ctx, &reply->base, s_print_rsvp);
    flow__rsvp_reply__free_unpacked(reply, NULL);
    return rc;
}

int
fl_cmd_event_rsvp(fl_cmd_ctx_t *ctx, int argc, char **argv)
{
    int rc = fl_cmd_parse(ctx, argc, argv, "", NULL, NULL, NULL);
    if (rc != 0)
        return rc;
    if (argc - optind != 2)
        return fl_cli_usage_error("event rsvp wants an event ID and going or interested");
    const char *answer = argv[optind + 1];
    Flow__RsvpState state;
    if (strcmp(answer, "going") == 0)
        state = FLOW__RSVP_STATE__RSVP_GOING;
    else if (strcmp(answer, "interested") == 0)
        state = FLOW__RSVP_STATE__RSVP_INTERESTED;
    else
        return fl_cli_usage_error("event rsvp wants going or interested, not '%s'; "
                                  "flow event withdraw takes an RSVP back", answer);
    rc = fl_session_connect_signed_in(ctx);
    if (rc != 0)
        return rc;
    return s_rsvp(ctx, argv[optind], state);
}

int
fl_cmd_event_withdraw(fl_cmd_ctx_t *ctx, int argc, char **argv)
{
    const char *id = NULL;
    int rc = s_event_id_command(ctx, argc, argv, "event withdraw", &id);
    if (rc != 0)
        return rc;
    return s_rsvp(ctx, id, FLOW__RSVP_STATE__RSVP_NONE);
}

/*  ---------------------------------------------------------------------
 *  event attendees
 */

typedef struct {
    Flow__RsvpState state;
    uint32_t limit;
    const char *cursor;
} s_attendees_args_t;

static int
s_attendees_option(int opt, const char *arg, void *state)
{
    s_attendees_args_t *a = state;
    int value = 0;
    int rc = 0;
    switch (opt) {
    case S_OPT_STATE:
        rc = s_enum_option("--state", &flow__rsvp_state__descriptor, "RSVP_",
                           "going, interested or waitlisted", arg, &value);
        a->state = (Flow__RsvpState) value;
        return rc;
    case S_OPT_LIMIT: return s_limit_option(arg, &a->limit);
    case S_OPT_CURSOR: a->cursor = arg; return 0;
    default: return 0;
    }
}

static void
s_print_attendees(const ProtobufCMessage *message)
{
    const Flow__AttendeesReply *reply = (const Flow__AttendeesReply *) message;
    char buf[48];
    if (reply->n_attendees == 0)
        printf("no one\n");
    for (size_t i = 0; i < reply->n_attendees; i++) {
        const Flow__Attendee *a = reply->attendees[i];
        printf("%-20s %-11s", a->user_id,
               fl_cli_enum_name(&flow__rsvp_state__descriptor, "RSVP_", (int) a->state, buf,
                                sizeof buf));
        if (a->state == FLOW__RSVP_STATE__RSVP_WAITLISTED)
            printf(" position %" PRIu32, a->waitlist_position);
        else if (a->since_s)
            printf(" since %s", fl_cli_time(a->since_s, buf, sizeof buf));
        printf("\n");
    }
    if (reply->next_cursor[0])
        printf("next page: --cursor %s\n", reply->next_cursor);
}

int
fl_cmd_event_attendees(fl_cmd_ctx_t *ctx, int argc, char **argv)
{
    static const struct option options[] = {
        { "state", required_argument, NULL, S_OPT_STATE },
        { "limit", required_argument, NULL, S_OPT_LIMIT },
        { "cursor", required_argument, NULL, S_OPT_CURSOR },
        FL_GLOBAL_OPTIONS, { NULL, 0, NULL, 0 }
    };
    s_attendees_args_t a = { FLOW__RSVP_STATE__RSVP_GOING, 0, NULL };
    int rc = fl_cmd_parse(ctx, argc, argv, "", options, s_attendees_option, &a);
    if (rc != 0)
        return rc;
    const char *id = s_event_id_arg(argc, argv, "event attendees");
    if (!id)
        return FL_CLI_EXIT_USAGE;
    rc = fl_session_connect_signed_in(ctx);
    if (rc != 0)
        return rc;
    Flow__AttendeesReply *reply = NULL;
    flow_status_t status = flow_attendees(ctx->flow, id, a.state, a.limit, a.cursor, &reply);
    if (status != FLOW_OK)
        return fl_output_failed(ctx, status);
    rc = fl_output_reply(ctx, &reply->base, s_print_attendees);
    flow__attendees_reply__free_unpacked(reply, NULL);
    return rc;
}

/*  ---------------------------------------------------------------------
 *  event nearby
 */

/*  What `event nearby` was told; the arrays are its own, the strings stay
 *  in argv.  */
typedef struct {
    Flow__NearbyRequest query;
    bool lat, lon;              /*  given  */
    const char *max_price;      /*  converted when the currency is known  */
    char currency[4];
} s_nearby_args_t;

static void
s_nearby_args_free(s_nearby_args_t *a)
{
    free(a->query.categories);
    free(a->query.tags);
}

/*  "5km", "1.5 km", "800m", "5000" (metres): 1 m to 200 km.  */
static int
s_radius_option(const char *text, uint32_t *radius_p)
{
    size_t digits = strspn(text, "0123456789.");
    char *end = (char *) text;
    double value = -1;
    if (digits > 0) {
        errno = 0;
        value = strtod(text, &end);
        if (errno || end != text + digits)
            value = -1;
    }
    while (*end == ' ')
        end++;
    if (strcmp(end, "km") == 0)
        value *= 1000;
    else if (*end && strcmp(end, "m") != 0)
        value = -1;
    if (!isfinite(value) || value < 0.5 || value >= S_RADIUS_MAX_M + 0.5)
        return fl_cli_usage_error("--radius wants a distance from 1 m to 200 km such as 5km, "
                                  "800m or 5000 (metres), not '%s'", text);
    *radius_p = (uint32_t) lround(value);
    return 0;
}

/*  Adds the comma-separated categories in TEXT to the query.  */
static int
s_nearby_categories(char *text, Flow__NearbyRequest *q)
{
    char **names = NULL;
    size_t n = 0;
    int rc = fl_cmd_split(text, &names, &n);
    Flow__Category *categories = NULL;
    if (rc == 0) {
        categories = realloc(q->categories, (q->n_categories + n + 1) * sizeof *categories);
        if (!categories)
            rc = fl_cli_fail(FL_CLI_EXIT_FAIL, FLOW_INTERNAL, "out of memory");
        else
            q->categories = categories;
    }
    for (size_t i = 0; rc == 0 && i < n; i++)
        rc = s_category_option("--category", names[i], &q->categories[q->n_categories++]);
    free(names);
    return rc;
}

static int
s_sort_option(const char *text, Flow__NearbySort *sort_p)
{
    int value = 0;
    if (strcmp(text, "distance") == 0)
        *sort_p = FLOW__NEARBY_SORT__SORT_DISTANCE;
    else if (fl_cli_enum_parse(&flow__nearby_sort__descriptor, "SORT_", text, &value))
        *sort_p = (Flow__NearbySort) value;
    else
        return fl_cli_usage_error("--sort wants distance, start or relevance, not '%s'", text);
    return 0;
}

static int
s_nearby_window_option(int opt, const char *text, s_nearby_args_t *a)
{
    Flow__NearbyRequest *q = &a->query;
    fl_when_t when;
    switch (opt) {
    case S_OPT_WHEN:
        if (fl_when_parse(text, &when) != 0)
            return fl_cli_usage_error("--when wants today, tomorrow, this-weekend or "
                                      "next-7-days, not '%s'", text);
        q->when = (char *) text;
        return 0;
    case S_OPT_FROM: return s_time_option("--from", text, &q->from_s);
    case S_OPT_TO: return s_time_option("--to", text, &q->to_s);
    default: return 0;
    }
}

/*  optarg points into argv, which may be changed in place.  */
static int
s_nearby_option(int opt, const char *arg, void *state)
{
    s_nearby_args_t *a = state;
    Flow__NearbyRequest *q = &a->query;
    char *text = (char *) arg;
    switch (opt) {
    case S_OPT_LAT: a->lat = true; return s_degrees_option("--lat", text, 90, &q->lat);
    case S_OPT_LON: a->lon = true; return s_degrees_option("--lon", text, 180, &q->lon);
    case S_OPT_RADIUS: return s_radius_option(text, &q->radius_m);
    case S_OPT_CATEGORY: return s_nearby_categories(text, q);
    case S_OPT_TAG: return text[0] ? s_append(&q->tags, &q->n_tags, text) : 0;
    case S_OPT_PRICE: return s_price_option(text, &q->price_type);
    case S_OPT_MAX_PRICE: return s_amount_option("--max-price", "20.00", text, &a->max_price);
    case S_OPT_CURRENCY: return s_currency_option(text, a->currency);
    case S_OPT_FREE_SPOTS: q->free_spots_only = true; return 0;
    case S_OPT_TEXT: q->text = text; return 0;
    case S_OPT_SORT: return s_sort_option(text, &q->sort);
    case S_OPT_LIMIT: return s_limit_option(text, &q->limit);
    case S_OPT_CURSOR: q->cursor = text; return 0;
    default: return s_nearby_window_option(opt, text, a);
    }
}

/*  Checks that need all the options; the maximum price is converted with
 *  the decimals of --currency (default two).  */
static int
s_nearby_finish(s_nearby_args_t *a)
{
    Flow__NearbyRequest *q = &a->query;
    if (!a->lat || !a->lon)
        return fl_cli_usage_error("event nearby wants --lat and --lon");
    if (q->from_s && q->to_s && q->to_s <= q->from_s)
        return fl_cli_usage_error("--to must be after --from");
    if (!a->max_price)
        return 0;
    uint64_t minor;
    int rc = s_amount_minor("--max-price", a->max_price, a->currency, &minor);
    if (rc != 0)
        return rc;
    q->max_price_minor = (int64_t) minor;
    return 0;
}

static void
s_print_hits(const ProtobufCMessage *message)
{
    const Flow__NearbyReply *reply = (const Flow__NearbyReply *) message;
    if (reply->n_hits == 0)
        printf("no events found\n");
    for (size_t i = 0; i < reply->n_hits; i++) {
        const Flow__NearbyHit *hit = reply->hits[i];
        const Flow__Event *ev = hit->event;
        if (!ev)
            continue;
        char distance[32], start[48];
        printf("%9s  %s  %s  %s\n", s_distance(hit->distance_m, distance, sizeof distance),
               s_local_time(ev->start_s, ev->time_zone, start, sizeof start), ev->title, ev->id);
    }
    if (reply->n_missing_shards)
        printf("incomplete: %zu shard%s did not answer in time\n", reply->n_missing_shards,
               reply->n_missing_shards == 1 ? "" : "s");
    if (reply->next_cursor[0])
        printf("next page: --cursor %s\n", reply->next_cursor);
}

int
fl_cmd_event_nearby(fl_cmd_ctx_t *ctx, int argc, char **argv)
{
    static const struct option options[] = {
        { "lat", required_argument, NULL, S_OPT_LAT },
        { "lon", required_argument, NULL, S_OPT_LON },
        { "radius", required_argument, NULL, S_OPT_RADIUS },
        { "category", required_argument, NULL, S_OPT_CATEGORY },
        { "tag", required_argument, NULL, S_OPT_TAG },
        { "when", required_argument, NULL, S_OPT_WHEN },
        { "from", required_argument, NULL, S_OPT_FROM },
        { "to", required_argument, NULL, S_OPT_TO },
        { "price", required_argument, NULL, S_OPT_PRICE },
        { "max-price", required_argument, NULL, S_OPT_MAX_PRICE },
        { "currency", required_argument, NULL, S_OPT_CURRENCY },
        { "free-spots", no_argument, NULL, S_OPT_FREE_SPOTS },
        { "text", required_argument, NULL, S_OPT_TEXT },
        { "sort", required_argument, NULL, S_OPT_SORT },
        { "limit", required_argument, NULL, S_OPT_LIMIT },
        { "cursor", required_argument, NULL, S_OPT_CURSOR },
        FL_GLOBAL_OPTIONS, { NULL, 0, NULL, 0 }
    };
    s_nearby_args_t a;
    memset(&a, 0, sizeof a);
    flow__nearby_request__init(&a.query);
    a.query.radius_m = 5000;
    int rc = fl_cmd_parse(ctx, argc, argv, "", options, s_nearby_option, &a);
    if (rc == 0 && optind < argc)
        rc = fl_cli_usage_error("event nearby takes no argument '%s'", argv[optind]);
    if (rc == 0)
        rc = s_nearby_finish(&a);
    if (rc == 0)
        rc = fl_session_connect_signed_in(ctx);
    Flow__NearbyReply *reply = NULL;
    if (rc == 0) {
        flow_status_t status = flow_nearby(ctx->flow, &a.query, &reply);
        rc = status == FLOW_OK ? fl_output_reply(ctx, &reply->base, s_print_hits)
                               : fl_output_failed(ctx, status);
    }
    if (reply)
        flow__nearby_reply__free_unpacked(reply, NULL);
    s_nearby_args_free(&a);
    return rc;
}

/*  ---------------------------------------------------------------------
 *  event checkin, rate, review, reviews, history
 */

/*  Stars from TEXT: 1 to 5.  */
static int
s_stars(const char *text, uint32_t *stars)
{
    uint64_t value;
    if (!s_parse_uint(text, 5, &value) || value == 0)
        return fl_cli_usage_error("stars are a number from 1 to 5, not '%s'", text);
    *stars = (uint32_t) value;
    return 0;
}

/*  Parses a command of exactly N positional arguments (after its
 *  options) and connects signed in.  */
static int
s_positional(fl_cmd_ctx_t *ctx, int argc, char **argv, int n, const char *usage)
{
    int rc = fl_cmd_parse(ctx, argc, argv, "", NULL, NULL, NULL);
    if (rc != 0)
        return rc;
    if (argc - optind != n)
        return fl_cli_usage_error("%s", usage);
    return fl_session_connect_signed_in(ctx);
}

int
fl_cmd_event_checkin(fl_cmd_ctx_t *ctx, int argc, char **argv)
{
    int rc = s_positional(ctx, argc, argv, 2, "event checkin wants an event ID and a user ID");
    if (rc != 0)
        return rc;
    Flow__Event *ev = NULL;
    flow_status_t status = flow_check_in(ctx->flow, argv[optind], argv[optind + 1], &ev);
    if (status != FLOW_OK)
        return fl_output_failed(ctx, status);
    if (ctx->g.json)
        return s_event_print(ctx, ev);
    printf("checked in %s at %s (%s)\n", argv[optind + 1], ev->title, ev->id);
    flow__event__free_unpacked(ev, NULL);
    return 0;
}

int
fl_cmd_event_rate(fl_cmd_ctx_t *ctx, int argc, char **argv)
{
    int rc = fl_cmd_parse(ctx, argc, argv, "", NULL, NULL, NULL);
    if (rc != 0)
        return rc;
    if (argc - optind != 3)
        return fl_cli_usage_error("event rate wants an event ID, a user ID and stars (1-5)");
    uint32_t stars = 0;
    if ((rc = s_stars(argv[optind + 2], &stars)) != 0
        || (rc = fl_session_connect_signed_in(ctx)) != 0)
        return rc;
    Flow__Event *ev = NULL;
    flow_status_t status = flow_rate_attendee(ctx->flow, argv[optind], argv[optind + 1], stars,
                                              &ev);
    if (status != FLOW_OK)
        return fl_output_failed(ctx, status);
    if (ctx->g.json)
        return s_event_print(ctx, ev);
    printf("rated %s %" PRIu32 " of 5 at %s (%s)\n", argv[optind + 1], stars, ev->title, ev->id);
    flow__event__free_unpacked(ev, NULL);
    return 0;
}

typedef struct {
    uint32_t stars;
    const char *text;
    uint32_t limit;
    const char *cursor;
} s_review_args_t;

static int
s_review_option(int opt, const char *arg, void *state)
{
    s_review_args_t *a = state;
    switch (opt) {
    case S_OPT_STARS: return s_stars(arg, &a->stars);
    case S_OPT_TEXT: a->text = arg; return 0;
    case S_OPT_LIMIT: return s_limit_option(arg, &a->limit);
    case S_OPT_CURSOR: a->cursor = arg; return 0;
    default: return 0;
    }
}

static void
s_print_review_line(const Flow__Review *r)
{
    char when[48];
    printf("%-20s %" PRIu32 "/5  %s", r->user_id, r->stars,
           fl_cli_time(r->updated_s, when, sizeof when));
    if (r->text[0])
        printf("  %s", r->text);
    printf("\n");
}

static void
s_print_review(const ProtobufCMessage *message)
{
    s_print_review_line((const Flow__Review *) message);
}

int
fl_cmd_event_review(fl_cmd_ctx_t *ctx, int argc, char **argv)
{
    static const struct option options[] = {
        { "stars", required_argument, NULL, S_OPT_STARS },
        { "text", required_argument, NULL, S_OPT_TEXT },
        FL_GLOBAL_OPTIONS, { NULL, 0, NULL, 0 }
    };
    s_review_args_t a = { 0, NULL, 0, NULL };
    int rc = fl_cmd_parse(ctx, argc, argv, "", options, s_review_option, &a);
    if (rc != 0)
        return rc;
    const char *id = s_event_id_arg(argc, argv, "event review");
    if (!id)
        return FL_CLI_EXIT_USAGE;
    if (a.stars == 0)
        return fl_cli_usage_error("event review wants --stars N (1 to 5)");
    if ((rc = fl_session_connect_signed_in(ctx)) != 0)
        return rc;
    Flow__Review *review = NULL;
    flow_status_t status = flow_review(ctx->flow, id, a.stars, a.text, &review);
    if (status != FLOW_OK)
        return fl_output_failed(ctx, status);
    rc = fl_output_reply(ctx, &review->base, s_print_review);
    flow__review__free_unpacked(review, NULL);
    return rc;
}

static void
s_print_reviews(const ProtobufCMessage *message)
{
    const Flow__ReviewsReply *reply = (const Flow__ReviewsReply *) message;
    if (reply->n_reviews == 0)
        printf("no reviews\n");
    for (size_t i = 0; i < reply->n_reviews; i++)
        s_print_review_line(reply->reviews[i]);
    if (reply->next_cursor[0])
        printf("next page: --cursor %s\n", reply->next_cursor);
}

static const struct option s_page_options[] = {
    { "limit", required_argument, NULL, S_OPT_LIMIT },
    { "cursor", required_argument, NULL, S_OPT_CURSOR },
    FL_GLOBAL_OPTIONS, { NULL, 0, NULL, 0 }
};

int
fl_cmd_event_reviews(fl_cmd_ctx_t *ctx, int argc, char **argv)
{
    s_review_args_t a = { 0, NULL, 0, NULL };
    int rc = fl_cmd_parse(ctx, argc, argv, "", s_page_options, s_review_option, &a);
    if (rc != 0)
        return rc;
    const char *id = s_event_id_arg(argc, argv, "event reviews");
    if (!id)
        return FL_CLI_EXIT_USAGE;
    if ((rc = fl_session_connect_signed_in(ctx)) != 0)
        return rc;
    Flow__ReviewsReply *reply = NULL;
    flow_status_t status = flow_reviews(ctx->flow, id, a.limit, a.cursor, &reply);
    if (status != FLOW_OK)
        return fl_output_failed(ctx, status);
    rc = fl_output_reply(ctx, &reply->base, s_print_reviews);
    flow__reviews_reply__free_unpacked(reply, NULL);
    return rc;
}

/*  One line per event: when it starts (in its zone), your relation, the
 *  check-in and your stars, its title and id; the event is read by id,
 *  so a cancelled one says so.  */
static void
s_print_history(fl_cmd_ctx_t *ctx, const Flow__HistoryReply *reply)
{
    char relation[48], start[48];
    if (reply->n_entries == 0)
        printf("no events\n");
    for (size_t i = 0; i < reply->n_entries; i++) {
        const Flow__HistoryEntry *e = reply->entries[i];
        Flow__Event *ev = NULL;
        bool known = flow_event_get(ctx->flow, e->event_id, &ev) == FLOW_OK;
        printf("%s  %-11s", known ? s_local_time(ev->start_s, ev->time_zone, start, sizeof start)
                                  : "(not visible)   ",
               fl_cli_enum_name(&flow__relation__descriptor, "RELATION_", (int) e->relation,
                                relation, sizeof relation));
        if (e->checked_in)
            printf(" checked in");
        if (e->attendee_stars)
            printf(" rated %" PRIu32 "/5", e->attendee_stars);
        if (known && ev->status == FLOW__EVENT_STATUS__EVENT_CANCELLED)
            printf(" CANCELLED");
        printf("  %s  %s\n", known ? ev->title : "", e->event_id);
        if (ev)
            flow__event__free_unpacked(ev, NULL);
    }
    if (reply->next_cursor[0])
        printf("next page: --cursor %s\n", reply->next_cursor);
}

int
fl_cmd_event_history(fl_cmd_ctx_t *ctx, int argc, char **argv)
{
    s_review_args_t a = { 0, NULL, 0, NULL };
    int rc = fl_cmd_parse(ctx, argc, argv, "", s_page_options, s_review_option, &a);
    if (rc != 0)
        return rc;
    if (optind < argc)
        return fl_cli_usage_error("event history takes no arguments, not '%s'", argv[optind]);
    if ((rc = fl_session_connect_signed_in(ctx)) != 0)
        return rc;
    Flow__HistoryReply *reply = NULL;
    flow_status_t status = flow_history(ctx->flow, a.limit, a.cursor, &reply);
    if (status != FLOW_OK)
        return fl_output_failed(ctx, status);
    if (ctx->g.json || ctx->save_failed)
        rc = fl_output_reply(ctx, &reply->base, NULL);
    else
        s_print_history(ctx, reply);
    flow__history_reply__free_unpacked(reply, NULL);
    return rc;
}
