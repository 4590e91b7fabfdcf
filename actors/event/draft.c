/*  actors/event/draft.c — what a client may write into an event.
 *
 *  One function checks a draft for create and for update (then only the
 *  fields the update names), so both paths accept exactly the same
 *  values.  Messages name the field (and the index in a list).
 */
#include "actors/event/event.h"
#include "node/text.h"
#include "node/timeutil.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#define TITLE_MAX_CHARS 200
#define DESCRIPTION_MAX_CHARS 5000
#define TAGS_MAX 20
#define TAG_MAX_CHARS 40
#define ADDRESS_MAX_CHARS 300
#define VENUE_MAX_CHARS 200
#define CAPACITY_MAX 1000000
#define DURATION_MAX_S (31 * 86400)
#define URLS_MAX 10
#define URL_MAX_BYTES 2048
#define PRICE_MAX_MINOR 100000000000ULL
#define EXTERNAL_MAX 256

/*  ISO 4217 codes in use.  */
static const char *const s_currencies[] = {
    "AED", "AFN", "ALL", "AMD", "ANG", "AOA", "ARS", "AUD", "AWG", "AZN", "BAM", "BBD", "BDT",
    "BGN", "BHD", "BIF", "BMD", "BND", "BOB", "BRL", "BSD", "BTN", "BWP", "BYN", "BZD", "CAD",
    "CDF", "CHF", "CLP", "CNY", "COP", "CRC", "CUP", "CVE", "CZK", "DJF", "DKK", "DOP", "DZD",
    "EGP", "ERN", "ETB", "EUR", "FJD", "FKP", "GBP", "GEL", "GHS", "GIP", "GMD", "GNF", "GTQ",
    "GYD", "HKD", "HNL", "HTG", "HUF", "IDR", "ILS", "INR", "IQD", "IRR", "ISK", "JMD", "JOD",
    "JPY", "KES", "KGS", "KHR", "KMF", "KPW", "KRW", "KWD", "KYD", "KZT", "LAK", "LBP", "LKR",
    "LRD", "LSL", "LYD", "MAD", "MDL", "MGA", "MKD", "MMK", "MNT", "MOP", "MRU", "MUR", "MVR",
    "MWK", "MXN", "MYR", "MZN", "NAD", "NGN", "NIO", "NOK", "NPR", "NZD", "OMR", "PAB", "PEN",
    "PGK", "PHP", "PKR", "PLN", "PYG", "QAR", "RON", "RSD", "RUB", "RWF", "SAR", "SBD", "SCR",
    "SDG", "SEK", "SGD", "SHP", "SLE", "SOS", "SRD", "SSP", "STN", "SYP", "SZL", "THB", "TJS",
    "TMT", "TND", "TOP", "TRY", "TTD", "TWD", "TZS", "UAH", "UGX", "USD", "UYU", "UZS", "VES",
    "VND", "VUV", "WST", "XAF", "XCD", "XOF", "XPF", "YER", "ZAR", "ZMW", "ZWL",
};

bool
fl_event_currency_known(const char *code)
{
    for (size_t i = 0; i < sizeof s_currencies / sizeof s_currencies[0]; i++)
        if (strcmp(code, s_currencies[i]) == 0)
            return true;
    return false;
}

static Flow__Status
s_bad(char *msg, size_t msglen, const char *text)
{
    snprintf(msg, msglen, "%s", text);
    return FLOW__STATUS__INVALID_ARGUMENT;
}

static bool
s_named(const char *field, char *const *fields, size_t n)
{
    if (n == 0)
        return true;
    for (size_t i = 0; i < n; i++)
        if (strcmp(fields[i], field) == 0)
            return true;
    return false;
}

static Flow__Status
s_check_urls(const char *field, char *const *urls, size_t n, char *msg, size_t msglen)
{
    if (n > URLS_MAX) {
        snprintf(msg, msglen, "%s: at most %d", field, URLS_MAX);
        return FLOW__STATUS__INVALID_ARGUMENT;
    }
    for (size_t i = 0; i < n; i++) {
        size_t len = strlen(urls[i]);
        bool scheme = strncmp(urls[i], "https://", 8) == 0 || strncmp(urls[i], "http://", 7) == 0;
        bool clean = len <= URL_MAX_BYTES;
        for (size_t b = 0; b < len && clean; b++)
            clean = (unsigned char) urls[i][b] > ' ' && (unsigned char) urls[i][b] < 0x7f;
        if (!scheme || !clean) {
            snprintf(msg, msglen, "%s[%zu]: an http(s) URL of at most %d bytes", field, i,
                     URL_MAX_BYTES);
            return FLOW__STATUS__INVALID_ARGUMENT;
        }
    }
    return FLOW__STATUS__OK;
}

static Flow__Status
s_check_location(const Flow__Location *l, char *msg, size_t msglen)
{
    if (!l)
        return s_bad(msg, msglen, "location: required");
    if (!isfinite(l->lat) || l->lat < -90 || l->lat > 90)
        return s_bad(msg, msglen, "location.lat: must be within -90..90");
    if (!isfinite(l->lon) || l->lon < -180 || l->lon > 180)
        return s_bad(msg, msglen, "location.lon: must be within -180..180");
    if (fl_text_check("location.address", l->address, ADDRESS_MAX_CHARS, false, false, msg,
                      msglen)
        || fl_text_check("location.venue", l->venue, VENUE_MAX_CHARS, false, false, msg, msglen))
        return FLOW__STATUS__INVALID_ARGUMENT;
    return FLOW__STATUS__OK;
}

static Flow__Status
s_check_pricing(const Flow__Pricing *p, char *msg, size_t msglen)
{
    if (!p)
        return FLOW__STATUS__OK;
    if (p->type < FLOW__PRICE_TYPE__PRICE_UNSPECIFIED || p->type > FLOW__PRICE_TYPE__PRICE_DONATION) {
        snprintf(msg, msglen, "pricing.type: unknown value %d", (int) p->type);
        return FLOW__STATUS__INVALID_ARGUMENT;
    }
    if (p->amount_minor > PRICE_MAX_MINOR)
        return s_bad(msg, msglen, "pricing.amount_minor: too large (a negative number?)");
    bool free = p->type == FLOW__PRICE_TYPE__PRICE_FREE
                || p->type == FLOW__PRICE_TYPE__PRICE_UNSPECIFIED;
    if (free && p->amount_minor != 0)
        return s_bad(msg, msglen, "pricing.amount_minor: a free event has no price");
    if (p->type == FLOW__PRICE_TYPE__PRICE_PAID && p->amount_minor == 0)
        return s_bad(msg, msglen, "pricing.amount_minor: a paid event needs a price");
    if (p->amount_minor > 0 && !fl_event_currency_known(p->currency)) {
        snprintf(msg, msglen, "pricing.currency: \"%.8s\" is not an ISO 4217 code",
                 p->currency);
        return FLOW__STATUS__INVALID_ARGUMENT;
    }
    return FLOW__STATUS__OK;
}

static Flow__Status
s_check_times(const Flow__EventDraft *d, char *msg, size_t msglen)
{
    if (d->start_s <= 0 || d->end_s <= 0)
        return s_bad(msg, msglen, "start_s: start and end are required");
    if (d->end_s <= d->start_s)
        return s_bad(msg, msglen, "end_s: must be after start_s");
    if (d->end_s - d->start_s > DURATION_MAX_S)
        return s_bad(msg, msglen, "end_s: an event lasts at most 31 days");
    if (!fl_time_zone_valid(d->time_zone)) {
        snprintf(msg, msglen, "time_zone: \"%.64s\" is not a known IANA time zone",
                 d->time_zone);
        return FLOW__STATUS__INVALID_ARGUMENT;
    }
    return FLOW__STATUS__OK;
}

static Flow__Status
s_check_text(const Flow__EventDraft *d, char *const *fields, size_t n, bool create,
             char *msg, size_t msglen)
{
    if (s_named("title", fields, n)
        && fl_text_check("title", d->title, TITLE_MAX_CHARS, true, false, msg, msglen))
        return FLOW__STATUS__INVALID_ARGUMENT;
    if (s_named("description", fields, n)
        && fl_text_check("description", d->description, DESCRIPTION_MAX_CHARS, false, true,
                         msg, msglen))
        return FLOW__STATUS__INVALID_ARGUMENT;
    if (s_named("tags", fields, n)) {
        fl_text_list_t tags;
        if (fl_text_list("tags", d->tags, d->n_tags, TAGS_MAX, TAG_MAX_CHARS, &tags, msg, msglen))
            return FLOW__STATUS__INVALID_ARGUMENT;
        fl_text_list_release(&tags);
    }
    (void) create;
    return FLOW__STATUS__OK;
}

static Flow__Status
s_check_enums(const Flow__EventDraft *d, char *const *fields, size_t n, bool create,
              char *msg, size_t msglen)
{
    if (s_named("category", fields, n)
        && (d->category <= FLOW__CATEGORY__CATEGORY_UNSPECIFIED
            || d->category > FLOW__CATEGORY__CATEGORY_OTHER)) {
        snprintf(msg, msglen, "category: %s", d->category == 0 ? "required (see docs/events.md)"
                                                                : "unknown value");
        return FLOW__STATUS__INVALID_ARGUMENT;
    }
    if (s_named("organizer_type", fields, n)
        && (d->organizer_type < 0 || d->organizer_type > FLOW__ORGANIZER_TYPE__ORGANIZER_ORGANIZATION))
        return s_bad(msg, msglen, "organizer_type: unknown value");
    if (s_named("visibility", fields, n)
        && (d->visibility < 0 || d->visibility > FLOW__EVENT_VISIBILITY__EVENT_PRIVATE))
        return s_bad(msg, msglen, "visibility: unknown value");
    (void) create;
    return FLOW__STATUS__OK;
}

Flow__Status
fl_event_check_draft(const Flow__EventDraft *d, char *const *fields, size_t n, bool create,
                     char *msg, size_t msglen)
{
    if (!d)
        return s_bad(msg, msglen, "event: required");
    Flow__Status st;
    if ((st = s_check_text(d, fields, n, create, msg, msglen))
        || (st = s_check_enums(d, fields, n, create, msg, msglen)))
        return st;
    /*  Times depend on each other: an update is checked again after it is
     *  merged into the event (event.c), when all three are known.  */
    if (create && (st = s_check_times(d, msg, msglen)))
        return st;
    if ((create || s_named("location", fields, n))
        && (st = s_check_location(d->location, msg, msglen)))
        return st;
    if (s_named("pricing", fields, n) && (st = s_check_pricing(d->pricing, msg, msglen)))
        return st;
    if (s_named("capacity", fields, n) && d->capacity > CAPACITY_MAX) {
        snprintf(msg, msglen, "capacity: at most %d (a negative number?)", CAPACITY_MAX);
        return FLOW__STATUS__INVALID_ARGUMENT;
    }
    if (s_named("requirements", fields, n) && d->requirements) {
        double r = d->requirements->min_attendee_rating;
        if (!isfinite(r) || r < 0 || r > 5)
            return s_bad(msg, msglen, "requirements.min_attendee_rating: must be within 0..5");
    }
    if (s_named("media", fields, n) && d->media
        && ((st = s_check_urls("media.image_urls", d->media->image_urls, d->media->n_image_urls,
                               msg, msglen))
            || (st = s_check_urls("media.video_urls", d->media->video_urls,
                                  d->media->n_video_urls, msg, msglen))))
        return st;
    if (s_named("source", fields, n) && d->source
        && (fl_text_check("source.platform", d->source->platform, 64, false, false, msg, msglen)
            || fl_text_check("source.external_id", d->source->external_id, EXTERNAL_MAX, false,
                             false, msg, msglen)))
        return FLOW__STATUS__INVALID_ARGUMENT;
    return FLOW__STATUS__OK;
}
