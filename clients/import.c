/*  clients/import.c — feeds to event drafts; see import.h and
 *  docs/import.md.
 *
 *  The parser decides structure only: where an entry is, which of its
 *  fields go where, and what makes it unreadable (no DTSTART, bad JSON, an
 *  unknown category).  The rules for the values themselves (title length,
 *  time order, coordinates, currencies) are the node's, applied to every
 *  draft as to one a user creates, so there is one definition of a valid
 *  event and the node reports against it.
 *
 *  iCalendar times: a TZID is looked up in the calendar's own VTIMEZONE
 *  first and in libical's zones second; an unknown TZID is a problem, not
 *  a silent UTC.  Floating times and dates are read as UTC.
 */
#include "clients/import.h"
#include "node/timeutil.h"

#include <ctype.h>
#include <jansson.h>
#include <libical/ical.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S_PROBLEM_MAX 300
#define S_WHERE_MAX 200
#define S_EXTERNAL_MAX 300
#define S_DAY_S 86400
/*  Steps of one RRULE before the horizon; a rule that needs more (every
 *  minute since 1970) is reported rather than run.  */
#define S_RECUR_STEPS_MAX 100000

/*  One draft and the storage its pointers use.  */
typedef struct {
    Flow__EventDraft draft;
    Flow__Location location;
    Flow__Pricing pricing;
    Flow__Source source;
    char external_id[S_EXTERNAL_MAX];
    char **tags;
    size_t cap_tags;
} s_entry_t;

static void
s_entry_init(s_entry_t *e, const fl_import_options_t *options)
{
    memset(e, 0, sizeof *e);
    flow__event_draft__init(&e->draft);
    flow__location__init(&e->location);
    flow__pricing__init(&e->pricing);
    flow__source__init(&e->source);
    e->draft.location = &e->location;
    e->draft.source = &e->source;
    e->draft.organizer_type = FLOW__ORGANIZER_TYPE__ORGANIZER_ORGANIZATION;
    e->draft.time_zone = "UTC";
    e->source.platform = (char *) options->platform;
    e->source.external_id = e->external_id;
}

static void
s_entry_release(s_entry_t *e)
{
    for (size_t i = 0; i < e->draft.n_tags; i++)
        free(e->tags[i]);
    free(e->tags);
    e->tags = NULL;
    e->draft.tags = NULL;
    e->draft.n_tags = 0;
}

static void
s_entry_tag(s_entry_t *e, const char *tag, size_t len)
{
    if (e->draft.n_tags == e->cap_tags) {
        size_t cap = e->cap_tags ? e->cap_tags * 2 : 8;
        char **grown = realloc(e->tags, cap * sizeof *grown);
        if (!grown)
            return;
        e->tags = grown;
        e->cap_tags = cap;
    }
    char *copy = strndup(tag, len);
    if (copy) {
        e->tags[e->draft.n_tags++] = copy;
        e->draft.tags = e->tags;
    }
}

/*  The Category named NAME as in docs/events.md ("food_drink"; case, and
 *  '-' or ' ' for '_', do not matter); 0 when there is none.  */
static int
s_category(const char *name, size_t len)
{
    char upper[64] = "CATEGORY_";
    size_t at = strlen(upper);
    if (len == 0 || len >= sizeof upper - at)
        return 0;
    for (size_t i = 0; i < len; i++) {
        char c = name[i] == '-' || name[i] == ' ' ? '_' : name[i];
        upper[at++] = (char) toupper((unsigned char) c);
    }
    upper[at] = '\0';
    const ProtobufCEnumValue *v =
        protobuf_c_enum_descriptor_get_value_by_name(&flow__category__descriptor, upper);
    return v ? v->value : 0;
}

/*  ---------------------------------------------------------------------
 *  iCalendar
 */

typedef struct {
    const fl_import_options_t *options;
    fl_import_fn *fn;
    void *arg;
    int index;                  /* of the VEVENT being read, from 1 */
    char **overrides;           /* "UID#start" of every RECURRENCE-ID */
    size_t n_overrides;
} s_ics_t;

typedef void (s_visit_fn)(s_ics_t *ics, icalcomponent *vevent, int *rc);

static void
s_walk(s_ics_t *ics, icalcomponent *comp, s_visit_fn *visit, int *rc)
{
    if (icalcomponent_isa(comp) == ICAL_VEVENT_COMPONENT) {
        visit(ics, comp, rc);
        return;
    }
    for (icalcomponent *c = icalcomponent_get_first_component(comp, ICAL_ANY_COMPONENT);
         c && *rc == 0; c = icalcomponent_get_next_component(comp, ICAL_ANY_COMPONENT))
        s_walk(ics, c, visit, rc);
}

/*  The zone of PROP's TZID (NULL without one) into *ZONE_P; false for a
 *  TZID neither the calendar nor libical knows.  */
static bool
s_zone(icalcomponent *vevent, icalproperty *prop, icaltimezone **zone_p, const char **tzid_p)
{
    *zone_p = NULL;
    *tzid_p = NULL;
    icalparameter *param = icalproperty_get_first_parameter(prop, ICAL_TZID_PARAMETER);
    if (!param)
        return true;
    const char *tzid = icalparameter_get_tzid(param);
    *tzid_p = tzid;
    icalcomponent *calendar = icalcomponent_get_parent(vevent);
    if (calendar && tzid)
        *zone_p = icalcomponent_get_timezone(calendar, tzid);
    if (!*zone_p && fl_time_zone_valid(tzid))
        *zone_p = icaltimezone_get_builtin_timezone(tzid);
    return *zone_p != NULL;
}

/*  T in ZONE as UTC seconds; UTC times, dates and floating times (ZONE
 *  NULL) are read as UTC.  */
static int64_t
s_instant(struct icaltimetype t, icaltimezone *zone)
{
    if (!zone || t.is_date || icaltime_is_utc(t))
        zone = icaltimezone_get_utc_timezone();
    return (int64_t) icaltime_as_timet_with_zone(t, zone);
}

/*  The instant of the date-time property PROP (DTSTART, DTEND,
 *  RECURRENCE-ID, EXDATE) of VEVENT into *AT.  */
static bool
s_prop_instant(icalcomponent *vevent, icalproperty *prop, int64_t *at, const char **tzid_p,
               char *problem)
{
    icaltimezone *zone;
    const char *name = icalproperty_get_property_name(prop);
    if (!s_zone(vevent, prop, &zone, tzid_p)) {
        snprintf(problem, S_PROBLEM_MAX, "%s: unknown time zone \"%.64s\"", name, *tzid_p);
        return false;
    }
    icalvalue *value = icalproperty_get_value(prop);
    struct icaltimetype t = value ? icalvalue_get_datetime(value) : icaltime_null_time();
    if (icaltime_is_null_time(t) || !icaltime_is_valid_time(t)) {
        snprintf(problem, S_PROBLEM_MAX, "%s: not a date or time", name);
        return false;
    }
    *at = s_instant(t, zone);
    return true;
}

static bool
s_format(int64_t at, char out[FL_TIME_TEXT_MAX])
{
    if (at < FL_TIME_MIN || at > FL_TIME_MAX)
        return false;
    fl_time_format(at, out);
    return true;
}

static bool
s_is_override(const s_ics_t *ics, const char *key)
{
    for (size_t i = 0; i < ics->n_overrides; i++)
        if (strcmp(ics->overrides[i], key) == 0)
            return true;
    return false;
}

/*  Prepass: the occurrences that VEVENTs with a RECURRENCE-ID replace.  */
static void
s_collect_override(s_ics_t *ics, icalcomponent *vevent, int *rc)
{
    (void) rc;
    icalproperty *rid = icalcomponent_get_first_property(vevent, ICAL_RECURRENCEID_PROPERTY);
    const char *uid = icalcomponent_get_uid(vevent);
    int64_t at;
    const char *tzid;
    char problem[S_PROBLEM_MAX], when[FL_TIME_TEXT_MAX], key[S_EXTERNAL_MAX];
    if (!rid || !uid || !s_prop_instant(vevent, rid, &at, &tzid, problem) || !s_format(at, when))
        return;
    snprintf(key, sizeof key, "%s#%s", uid, when);
    char **grown = realloc(ics->overrides, (ics->n_overrides + 1) * sizeof *grown);
    if (!grown)
        return;
    ics->overrides = grown;
    if ((ics->overrides[ics->n_overrides] = strdup(key)))
        ics->n_overrides++;
}

/*  The fields of VEVENT other than its times and id.  */
static bool
s_vevent_fields(const s_ics_t *ics, icalcomponent *vevent, s_entry_t *e, char *problem)
{
    icalproperty *error = icalcomponent_get_first_property(vevent, ICAL_XLICERROR_PROPERTY);
    if (error) {
        snprintf(problem, S_PROBLEM_MAX, "unreadable: %.200s", icalproperty_get_xlicerror(error));
        return false;
    }
    const char *summary = icalcomponent_get_summary(vevent);
    const char *description = icalcomponent_get_description(vevent);
    const char *location = icalcomponent_get_location(vevent);
    e->draft.title = (char *) (summary ? summary : "");
    e->draft.description = (char *) (description ? description : "");
    e->location.address = (char *) (location ? location : "");
    icalproperty *geo = icalcomponent_get_first_property(vevent, ICAL_GEO_PROPERTY);
    if (geo) {
        struct icalgeotype g = icalproperty_get_geo(geo);
        e->location.lat = g.lat;
        e->location.lon = g.lon;
    }
    else
    if (ics->options->has_geo) {
        e->location.lat = ics->options->lat;
        e->location.lon = ics->options->lon;
    }
    else {
        snprintf(problem, S_PROBLEM_MAX, "GEO: none, and no --lat/--lon to use instead");
        return false;
    }
    e->draft.category = FLOW__CATEGORY__CATEGORY_OTHER;
    bool matched = false;
    for (icalproperty *p = icalcomponent_get_first_property(vevent, ICAL_CATEGORIES_PROPERTY); p;
         p = icalcomponent_get_next_property(vevent, ICAL_CATEGORIES_PROPERTY)) {
        const char *list = icalproperty_get_categories(p);
        while (list && *list) {
            size_t len = strcspn(list, ",");
            size_t skip = strspn(list, " ");
            const char *word = list + (skip < len ? skip : len);
            size_t wlen = len - (size_t) (word - list);
            while (wlen > 0 && word[wlen - 1] == ' ')
                wlen--;
            int category = s_category(word, wlen);
            if (category && !matched) {
                e->draft.category = (Flow__Category) category;
                matched = true;
            }
            if (wlen > 0)
                s_entry_tag(e, word, wlen);
            list += len + (list[len] == ',');
        }
    }
    return true;
}

typedef struct {
    int64_t start_s;
    int64_t length_s;
    const char *tzid;
} s_times_t;

static bool
s_vevent_times(icalcomponent *vevent, s_times_t *times, char *problem)
{
    icalproperty *start = icalcomponent_get_first_property(vevent, ICAL_DTSTART_PROPERTY);
    if (!start) {
        snprintf(problem, S_PROBLEM_MAX, "DTSTART: required");
        return false;
    }
    if (!s_prop_instant(vevent, start, &times->start_s, &times->tzid, problem))
        return false;
    icalproperty *end = icalcomponent_get_first_property(vevent, ICAL_DTEND_PROPERTY);
    icalproperty *duration = icalcomponent_get_first_property(vevent, ICAL_DURATION_PROPERTY);
    const char *end_tzid;
    int64_t end_s;
    if (end) {
        if (!s_prop_instant(vevent, end, &end_s, &end_tzid, problem))
            return false;
        times->length_s = end_s - times->start_s;
    }
    else
    if (duration)
        times->length_s = icaldurationtype_as_int(icalproperty_get_duration(duration));
    else
    if (icalproperty_get_dtstart(start).is_date)
        times->length_s = S_DAY_S;
    else {
        snprintf(problem, S_PROBLEM_MAX, "DTEND: required (or DURATION)");
        return false;
    }
    return true;
}

static int
s_emit(s_ics_t *ics, const char *where, s_entry_t *e, const char *problem)
{
    return ics->fn(where, problem ? NULL : &e->draft, problem, ics->arg);
}

/*  One occurrence (or the one event) starting at START_S.  */
static int
s_occurrence(s_ics_t *ics, const char *where, s_entry_t *e, const s_times_t *times,
             int64_t start_s, const char *uid, bool series)
{
    char when[FL_TIME_TEXT_MAX], at[S_WHERE_MAX];
    if (!s_format(start_s, when))
        return s_emit(ics, where, e, "DTSTART: outside the years 0000 to 9999");
    e->draft.start_s = start_s;
    e->draft.end_s = start_s + times->length_s;
    e->source.series_id = (char *) (series ? uid : "");
    if (!series) {
        snprintf(e->external_id, sizeof e->external_id, "%s", uid);
        return s_emit(ics, where, e, NULL);
    }
    snprintf(e->external_id, sizeof e->external_id, "%s#%s", uid, when);
    snprintf(at, sizeof at, "%s at %s", where, when);
    return s_emit(ics, at, e, NULL);
}

/*  The occurrences of VEVENT's RRULE that overlap the horizon, less its
 *  EXDATEs and the occurrences other VEVENTs replace.  */
static int
s_expand(s_ics_t *ics, icalcomponent *vevent, const char *where, s_entry_t *e,
         const s_times_t *times, const char *uid)
{
    char problem[S_PROBLEM_MAX];
    icalproperty *start = icalcomponent_get_first_property(vevent, ICAL_DTSTART_PROPERTY);
    icaltimezone *zone;
    const char *tzid;
    s_zone(vevent, start, &zone, &tzid);
    struct icalrecurrencetype rule =
        icalproperty_get_rrule(icalcomponent_get_first_property(vevent, ICAL_RRULE_PROPERTY));
    icalrecur_iterator *it = rule.freq == ICAL_NO_RECURRENCE
                           ? NULL : icalrecur_iterator_new(rule, icalproperty_get_dtstart(start));
    if (!it)
        return s_emit(ics, where, e, "RRULE: not a recurrence rule libical understands");
    int64_t from = ics->options->now_s;
    int64_t to = from + (int64_t) ics->options->horizon_days * S_DAY_S;
    int rc = 0, steps = 0;
    struct icaltimetype t;
    while (rc == 0 && !icaltime_is_null_time(t = icalrecur_iterator_next(it))) {
        int64_t at = s_instant(t, zone);
        if (at >= to)
            break;
        if (++steps > S_RECUR_STEPS_MAX) {
            snprintf(problem, sizeof problem, "RRULE: more than %d occurrences before the horizon",
                     S_RECUR_STEPS_MAX);
            rc = s_emit(ics, where, e, problem);
            break;
        }
        if (at + times->length_s <= from)
            continue;
        bool excluded = false;
        for (icalproperty *x = icalcomponent_get_first_property(vevent, ICAL_EXDATE_PROPERTY);
             x && !excluded; x = icalcomponent_get_next_property(vevent, ICAL_EXDATE_PROPERTY)) {
            int64_t ex;
            const char *ex_tzid;
            excluded = s_prop_instant(vevent, x, &ex, &ex_tzid, problem) && ex == at;
        }
        char when[FL_TIME_TEXT_MAX], key[S_EXTERNAL_MAX];
        snprintf(key, sizeof key, "%s#%s", uid, s_format(at, when) ? when : "");
        if (!excluded && !s_is_override(ics, key))
            rc = s_occurrence(ics, where, e, times, at, uid, true);
    }
    icalrecur_iterator_free(it);
    return rc;
}

static void
s_visit_vevent(s_ics_t *ics, icalcomponent *vevent, int *rc)
{
    char where[S_WHERE_MAX], problem[S_PROBLEM_MAX] = "";
    const char *uid = icalcomponent_get_uid(vevent);
    ics->index++;
    if (uid && uid[0])
        snprintf(where, sizeof where, "VEVENT #%d (UID %.100s)", ics->index, uid);
    else
        snprintf(where, sizeof where, "VEVENT #%d", ics->index);
    s_entry_t e;
    s_entry_init(&e, ics->options);
    s_times_t times = { 0 };
    if (!uid || !uid[0])
        snprintf(problem, sizeof problem, "UID: required");
    else
    if (s_vevent_fields(ics, vevent, &e, problem) && s_vevent_times(vevent, &times, problem)) {
        if (times.tzid && fl_time_zone_valid(times.tzid))
            e.draft.time_zone = (char *) times.tzid;
        icalproperty *rid = icalcomponent_get_first_property(vevent, ICAL_RECURRENCEID_PROPERTY);
        int64_t from = ics->options->now_s;
        int64_t to = from + (int64_t) ics->options->horizon_days * S_DAY_S;
        int64_t rid_s;
        const char *rid_tzid;
        if (icalcomponent_get_first_property(vevent, ICAL_RRULE_PROPERTY))
            *rc = s_expand(ics, vevent, where, &e, &times, uid);
        else
        if (!rid)
            *rc = s_occurrence(ics, where, &e, &times, times.start_s, uid, false);
        else
        if (s_prop_instant(vevent, rid, &rid_s, &rid_tzid, problem)) {
            /*  A replaced occurrence keeps the id of the one it replaces.  */
            char when[FL_TIME_TEXT_MAX];
            bool in_horizon = times.start_s < to && times.start_s + times.length_s > from;
            if (in_horizon && s_format(rid_s, when)) {
                e.draft.start_s = times.start_s;
                e.draft.end_s = times.start_s + times.length_s;
                e.source.series_id = (char *) uid;
                snprintf(e.external_id, sizeof e.external_id, "%s#%s", uid, when);
                *rc = s_emit(ics, where, &e, NULL);
            }
        }
    }
    if (problem[0])
        *rc = s_emit(ics, where, &e, problem);
    s_entry_release(&e);
}

int
fl_import_parse_ics(const char *text, const fl_import_options_t *options, fl_import_fn *fn,
                    void *arg)
{
    icalcomponent *root = icalparser_parse_string(text);
    icalcomponent_kind kind = root ? icalcomponent_isa(root) : ICAL_NO_COMPONENT;
    if (kind != ICAL_VCALENDAR_COMPONENT && kind != ICAL_XROOT_COMPONENT) {
        if (root)
            icalcomponent_free(root);
        int rc = fn("file", NULL, "not iCalendar: no BEGIN:VCALENDAR", arg);
        return rc ? rc : -1;
    }
    s_ics_t ics = { options, fn, arg, 0, NULL, 0 };
    int rc = 0;
    s_walk(&ics, root, s_collect_override, &rc);
    s_walk(&ics, root, s_visit_vevent, &rc);
    for (size_t i = 0; i < ics.n_overrides; i++)
        free(ics.overrides[i]);
    free(ics.overrides);
    icalcomponent_free(root);
    return rc;
}

/*  ---------------------------------------------------------------------
 *  JSON lines
 */

static const char *const s_json_fields[] = {
    "external_id", "title", "description", "category", "tags", "start", "end", "time_zone",
    "lat", "lon", "address", "venue", "price", "capacity", "series_id",
};

/*  The string at KEY of OBJ into *OUT ("" when absent and optional).  */
static bool
s_json_text(json_t *obj, const char *key, bool required, char **out, char *problem)
{
    json_t *v = json_object_get(obj, key);
    if (!v && !required) {
        *out = "";
        return true;
    }
    if (!json_is_string(v)) {
        snprintf(problem, S_PROBLEM_MAX, "%s: %s", key, v ? "must be a string" : "required");
        return false;
    }
    *out = (char *) json_string_value(v);
    return true;
}

static bool
s_json_time(json_t *obj, const char *key, int64_t *out, char *problem)
{
    char *text;
    if (!s_json_text(obj, key, true, &text, problem))
        return false;
    if (fl_time_parse(text, out) != 0) {
        snprintf(problem, S_PROBLEM_MAX, "%s: \"%.40s\" is not an RFC 3339 time", key, text);
        return false;
    }
    return true;
}

static bool
s_json_known(json_t *obj, char *problem)
{
    const char *key;
    json_t *value;
    json_object_foreach(obj, key, value) {
        size_t i = 0;
        while (i < sizeof s_json_fields / sizeof s_json_fields[0] && strcmp(key, s_json_fields[i]))
            i++;
        if (i == sizeof s_json_fields / sizeof s_json_fields[0]) {
            snprintf(problem, S_PROBLEM_MAX, "\"%.40s\" is not a field (docs/import.md)", key);
            return false;
        }
    }
    return true;
}

static bool
s_json_location(json_t *obj, const fl_import_options_t *options, s_entry_t *e, char *problem)
{
    json_t *lat = json_object_get(obj, "lat"), *lon = json_object_get(obj, "lon");
    if ((lat && !json_is_number(lat)) || (lon && !json_is_number(lon)) || (!lat != !lon)) {
        snprintf(problem, S_PROBLEM_MAX, "lat, lon: two numbers");
        return false;
    }
    if (!lat && !options->has_geo) {
        snprintf(problem, S_PROBLEM_MAX, "lat, lon: required (or --lat/--lon)");
        return false;
    }
    e->location.lat = lat ? json_number_value(lat) : options->lat;
    e->location.lon = lon ? json_number_value(lon) : options->lon;
    return s_json_text(obj, "address", false, &e->location.address, problem)
           && s_json_text(obj, "venue", false, &e->location.venue, problem);
}

static bool
s_json_price(json_t *obj, s_entry_t *e, char *problem)
{
    json_t *price = json_object_get(obj, "price");
    if (!price)
        return true;
    char *type, *currency;
    json_t *amount = json_object_get(price, "amount_minor");
    if (!json_is_object(price) || !s_json_text(price, "type", true, &type, problem)
        || !s_json_text(price, "currency", false, &currency, problem)) {
        if (!json_is_object(price))
            snprintf(problem, S_PROBLEM_MAX, "price: an object {type, amount_minor, currency}");
        return false;
    }
    if (amount && (!json_is_integer(amount) || json_integer_value(amount) < 0)) {
        snprintf(problem, S_PROBLEM_MAX, "price.amount_minor: a whole number, 0 or more");
        return false;
    }
    int value = 0;
    if (strcmp(type, "free") == 0)
        value = FLOW__PRICE_TYPE__PRICE_FREE;
    if (strcmp(type, "paid") == 0)
        value = FLOW__PRICE_TYPE__PRICE_PAID;
    if (strcmp(type, "donation") == 0)
        value = FLOW__PRICE_TYPE__PRICE_DONATION;
    if (!value) {
        snprintf(problem, S_PROBLEM_MAX, "price.type: free, paid or donation, not \"%.20s\"",
                 type);
        return false;
    }
    e->pricing.type = (Flow__PriceType) value;
    e->pricing.amount_minor = amount ? (uint64_t) json_integer_value(amount) : 0;
    e->pricing.currency = currency;
    e->draft.pricing = &e->pricing;
    return true;
}

static bool
s_json_lists(json_t *obj, s_entry_t *e, char *problem)
{
    json_t *tags = json_object_get(obj, "tags");
    if (tags && !json_is_array(tags)) {
        snprintf(problem, S_PROBLEM_MAX, "tags: an array of strings");
        return false;
    }
    size_t i;
    json_t *tag;
    json_array_foreach(tags, i, tag) {
        if (!json_is_string(tag)) {
            snprintf(problem, S_PROBLEM_MAX, "tags[%zu]: must be a string", i);
            return false;
        }
        s_entry_tag(e, json_string_value(tag), json_string_length(tag));
    }
    json_t *capacity = json_object_get(obj, "capacity");
    if (capacity && (!json_is_integer(capacity) || json_integer_value(capacity) < 0
                     || json_integer_value(capacity) > UINT32_MAX)) {
        snprintf(problem, S_PROBLEM_MAX, "capacity: a whole number, 0 for no limit");
        return false;
    }
    e->draft.capacity = capacity ? (uint32_t) json_integer_value(capacity) : 0;
    return true;
}

static bool
s_json_entry(json_t *obj, const fl_import_options_t *options, s_entry_t *e, char *problem)
{
    char *external_id, *category, *time_zone;
    if (!json_is_object(obj)) {
        snprintf(problem, S_PROBLEM_MAX, "not a JSON object");
        return false;
    }
    if (!s_json_known(obj, problem)
        || !s_json_text(obj, "external_id", true, &external_id, problem)
        || !s_json_text(obj, "title", false, &e->draft.title, problem)
        || !s_json_text(obj, "description", false, &e->draft.description, problem)
        || !s_json_text(obj, "category", true, &category, problem)
        || !s_json_text(obj, "time_zone", false, &time_zone, problem)
        || !s_json_text(obj, "series_id", false, &e->source.series_id, problem)
        || !s_json_time(obj, "start", &e->draft.start_s, problem)
        || !s_json_time(obj, "end", &e->draft.end_s, problem)
        || !s_json_location(obj, options, e, problem) || !s_json_price(obj, e, problem)
        || !s_json_lists(obj, e, problem))
        return false;
    if (!external_id[0] || strlen(external_id) >= sizeof e->external_id) {
        snprintf(problem, S_PROBLEM_MAX, "external_id: 1 to %d bytes", S_EXTERNAL_MAX - 1);
        return false;
    }
    snprintf(e->external_id, sizeof e->external_id, "%s", external_id);
    if (time_zone[0])
        e->draft.time_zone = time_zone;
    e->draft.category = (Flow__Category) s_category(category, strlen(category));
    if (!e->draft.category) {
        snprintf(problem, S_PROBLEM_MAX, "category: \"%.40s\" is not one of docs/events.md",
                 category);
        return false;
    }
    return true;
}

static int
s_json_line(const char *line, size_t len, int number, const fl_import_options_t *options,
            fl_import_fn *fn, void *arg)
{
    char where[32], problem[S_PROBLEM_MAX] = "";
    snprintf(where, sizeof where, "line %d", number);
    json_error_t error;
    json_t *obj = json_loadb(line, len, JSON_REJECT_DUPLICATES, &error);
    s_entry_t e;
    s_entry_init(&e, options);
    if (!obj)
        snprintf(problem, sizeof problem, "not JSON: %s", error.text);
    else
        s_json_entry(obj, options, &e, problem);
    int rc = fn(where, problem[0] ? NULL : &e.draft, problem[0] ? problem : NULL, arg);
    s_entry_release(&e);
    json_decref(obj);
    return rc;
}

int
fl_import_parse_jsonl(const char *text, const fl_import_options_t *options, fl_import_fn *fn,
                      void *arg)
{
    int number = 0, rc = 0;
    while (rc == 0 && *text) {
        size_t len = strcspn(text, "\n");
        number++;
        size_t used = len;
        while (used > 0 && (text[used - 1] == '\r' || isspace((unsigned char) text[used - 1])))
            used--;
        size_t blank = strspn(text, " \t\r");
        if (blank < used)
            rc = s_json_line(text, used, number, options, fn, arg);
        text += len + (text[len] == '\n');
    }
    return rc;
}
