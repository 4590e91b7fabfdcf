/*  node/timeutil.c — instants, time zones and discovery windows; see
 *  timeutil.h.
 *
 *  RFC 3339 text is checked for its shape first (digits where digits
 *  belong), so that sscanf, with a width on every field, only ever reads
 *  unsigned digit runs; the C library then does the calendar: timegm gives
 *  the instant and gmtime_r, reading it back, proves that the day exists.
 *
 *  Zones come from libical (icaltimezone_get_builtin_timezone), which
 *  loads a zone from the system zoneinfo the first time it is named and
 *  keeps it, and expands DST rules lazily into shared tables.  None of that
 *  is documented as thread-safe, so every libical call in this module is
 *  made with s_ical_lock held, and a zone pointer is never used after the
 *  lock is released: each public function looks its zone up again.  The
 *  lock is held for one conversion or one window, a few microseconds.
 *  libical reads a name it does not know as a path under the zoneinfo
 *  directory, so names are checked against the characters IANA names use
 *  (no '.', hence no "..") before libical sees them.
 *
 *  A local day is the run of instants whose local date in the zone is that
 *  date, so it starts at the first such instant.  That is local midnight
 *  except where a DST change skips midnight (America/Santiago, September):
 *  there icaltime_as_timet_with_zone maps the missing 00:00 to 23:00 of the
 *  day before, so the start is found instead by bisection over UTC on the
 *  local date, which moves forward with UTC.  The one exception, a
 *  fall-back across midnight, shows a date twice; the bisection then
 *  settles on one of its two midnights.  Dates are handled as day keys,
 *  the instant of the date's 00:00 in UTC (from timegm), so the next date
 *  is one DAY_S on and dates compare as integers.
 */
#include "node/timeutil.h"
#include "node/error.h"

#include <assert.h>
#include <libical/ical.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

_Static_assert(sizeof(time_t) == sizeof(int64_t), "instants need a 64-bit time_t");

#define DAY_S 86400
#define WEEK_S (7 * DAY_S)

/*  More than any UTC offset a zone has ever had (local mean times reached
 *  about 15 hours), so that a local date lies within this of its UTC
 *  midnight.  */
#define ZONE_SPAN_S (26 * 3600)

/*  The part of an instant before its optional fraction and its zone;
 *  'd' is a digit, 'T' is 'T' or 't'.  */
#define INSTANT_SHAPE "dddd-dd-ddTdd:dd:dd"
#define OFFSET_SHAPE "dd:dd"

/*  The bytes of an IANA zone name ("America/Port-au-Prince",
 *  "Etc/GMT+5").  */
#define ZONE_CHARS                                                        \
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789/_-+"

static pthread_mutex_t s_ical_lock = PTHREAD_MUTEX_INITIALIZER;

static const struct {
    const char *text;
    fl_when_t when;
} s_keywords[] = {
    { "any", FL_WHEN_ANY },
    { "today", FL_WHEN_TODAY },
    { "tomorrow", FL_WHEN_TOMORROW },
    { "this-weekend", FL_WHEN_THIS_WEEKEND },
    { "this weekend", FL_WHEN_THIS_WEEKEND },
    { "weekend", FL_WHEN_THIS_WEEKEND },
    { "next-7-days", FL_WHEN_NEXT_7_DAYS },
    { "next 7 days", FL_WHEN_NEXT_7_DAYS },
    { "week", FL_WHEN_NEXT_7_DAYS },
};

static bool
s_is_digit(char c)
{
    return c >= '0' && c <= '9';
}

/*  True when TEXT starts with SHAPE ('d' a digit, 'T' either 'T' or 't',
 *  any other byte itself).  Stops at TEXT's NUL, which matches nothing.  */
static bool
s_has_shape(const char *text, const char *shape)
{
    for (; *shape; shape++, text++) {
        if (*shape == 'd' && !s_is_digit(*text))
            return false;
        if (*shape == 'T' && *text != 'T' && *text != 't')
            return false;
        if (*shape != 'd' && *shape != 'T' && *text != *shape)
            return false;
    }
    return true;
}

/*  P past an optional ".digits", or NULL for a '.' without digits.  */
static const char *
s_skip_fraction(const char *p)
{
    if (*p != '.')
        return p;
    p++;
    if (!s_is_digit(*p))
        return NULL;
    while (s_is_digit(*p))
        p++;
    return p;
}

/*  Reads the zone that must end the text at P, "Z" or "+HH:MM"/"-HH:MM",
 *  as seconds east of UTC.  */
static bool
s_parse_offset(const char *p, int *offset_s)
{
    if ((*p == 'Z' || *p == 'z') && p[1] == '\0') {
        *offset_s = 0;
        return true;
    }
    if ((*p != '+' && *p != '-') || !s_has_shape(p + 1, OFFSET_SHAPE)
        || p[1 + strlen(OFFSET_SHAPE)] != '\0')
        return false;
    int hours, minutes;
    if (sscanf(p + 1, "%2d:%2d", &hours, &minutes) != 2 || hours > 23 || minutes > 59)
        return false;
    *offset_s = (*p == '-' ? -1 : 1) * (hours * 3600 + minutes * 60);
    return true;
}

/*  The instant of a UTC calendar date and time, or false when a field is
 *  out of range or the date does not exist (February 30).  */
static bool
s_utc_instant(const struct tm *fields, int64_t *unix_s)
{
    if (fields->tm_mon < 0 || fields->tm_mon > 11 || fields->tm_mday < 1 || fields->tm_mday > 31
        || fields->tm_hour > 23 || fields->tm_min > 59 || fields->tm_sec > 59)
        return false;
    struct tm tm = *fields;
    time_t t = timegm(&tm);
    struct tm back;
    if (!gmtime_r(&t, &back) || back.tm_year != fields->tm_year || back.tm_mon != fields->tm_mon
        || back.tm_mday != fields->tm_mday)
        return false;
    *unix_s = t;
    return true;
}

int
fl_time_parse(const char *text, int64_t *unix_s)
{
    assert(unix_s);
    if (!text || !s_has_shape(text, INSTANT_SHAPE))
        return FL_E_INVAL;
    struct tm fields = { 0 };
    if (sscanf(text, "%4d-%2d-%2d%*c%2d:%2d:%2d", &fields.tm_year, &fields.tm_mon,
               &fields.tm_mday, &fields.tm_hour, &fields.tm_min, &fields.tm_sec)
        != 6)
        return FL_E_INVAL;
    fields.tm_year -= 1900;
    fields.tm_mon -= 1;
    const char *zone = s_skip_fraction(text + strlen(INSTANT_SHAPE));
    int offset_s;
    int64_t wall;
    if (!zone || !s_parse_offset(zone, &offset_s) || !s_utc_instant(&fields, &wall))
        return FL_E_INVAL;
    int64_t t = wall - offset_s;
    if (t < FL_TIME_MIN || t > FL_TIME_MAX)
        return FL_E_INVAL;
    *unix_s = t;
    return 0;
}

void
fl_time_format(int64_t unix_s, char out[FL_TIME_TEXT_MAX])
{
    assert(out && unix_s >= FL_TIME_MIN && unix_s <= FL_TIME_MAX);
    time_t t = (time_t) unix_s;
    struct tm tm = { 0 };
    gmtime_r(&t, &tm);
    /*  The remainders change no field of an instant in range; they show
     *  the compiler that each fits its width (-Wformat-truncation).  */
    snprintf(out, FL_TIME_TEXT_MAX, "%04u-%02u-%02uT%02u:%02u:%02uZ",
             (unsigned) (tm.tm_year + 1900) % 10000u, (unsigned) (tm.tm_mon + 1) % 100u,
             (unsigned) tm.tm_mday % 100u, (unsigned) tm.tm_hour % 100u,
             (unsigned) tm.tm_min % 100u, (unsigned) tm.tm_sec % 100u);
}

/*  True when TZ may be shown to libical: 1 to FL_TIME_ZONE_MAX bytes of
 *  ZONE_CHARS making non-empty '/'-separated parts, which libical would
 *  otherwise accept as another spelling of a path ("Europe//Berlin").  */
static bool
s_zone_name_ok(const char *tz)
{
    if (!tz)
        return false;
    size_t len = strnlen(tz, FL_TIME_ZONE_MAX + 1);
    if (len == 0 || len > FL_TIME_ZONE_MAX || strspn(tz, ZONE_CHARS) != len)
        return false;
    return tz[0] != '/' && tz[len - 1] != '/' && !strstr(tz, "//");
}

bool
fl_time_zone_valid(const char *tz)
{
    if (!s_zone_name_ok(tz))
        return false;
    pthread_mutex_lock(&s_ical_lock);
    bool known = icaltimezone_get_builtin_timezone(tz) != NULL;
    pthread_mutex_unlock(&s_ical_lock);
    return known;
}

/*  The wall clock of UNIX_S in ZONE.  Call with s_ical_lock held.  */
static struct icaltimetype
s_wall_locked(icaltimezone *zone, int64_t unix_s)
{
    return icaltime_from_timet_with_zone((time_t) unix_s, 0, zone);
}

/*  The day key of WALL's date: that date's 00:00 UTC.  */
static int64_t
s_day_key(struct icaltimetype wall)
{
    struct tm tm = { .tm_year = wall.year - 1900, .tm_mon = wall.month - 1, .tm_mday = wall.day };
    return timegm(&tm);
}

/*  The first instant whose local date in ZONE is the date of day key KEY
 *  or later.  Call with s_ical_lock held.  */
static int64_t
s_day_start_locked(icaltimezone *zone, int64_t key)
{
    int64_t before = key - ZONE_SPAN_S;  /* local date is before KEY */
    int64_t from = key + ZONE_SPAN_S;    /* local date is KEY or later */
    while (from - before > 1) {
        int64_t mid = before + (from - before) / 2;
        if (s_day_key(s_wall_locked(zone, mid)) < key)
            before = mid;
        else
            from = mid;
    }
    return from;
}

int
fl_time_local(int64_t unix_s, const char *tz, fl_local_t *out)
{
    assert(out);
    if (unix_s < FL_TIME_MIN || unix_s > FL_TIME_MAX || !s_zone_name_ok(tz))
        return FL_E_INVAL;
    pthread_mutex_lock(&s_ical_lock);
    icaltimezone *zone = icaltimezone_get_builtin_timezone(tz);
    if (zone) {
        struct icaltimetype wall = s_wall_locked(zone, unix_s);
        *out = (fl_local_t){ .year = wall.year, .month = wall.month, .day = wall.day,
                             .hour = wall.hour, .minute = wall.minute,
                             .weekday = icaltime_day_of_week(wall) - 1 };
    }
    pthread_mutex_unlock(&s_ical_lock);
    return zone ? 0 : FL_E_INVAL;
}

int
fl_when_parse(const char *text, fl_when_t *out)
{
    assert(out);
    if (!text)
        return FL_E_INVAL;
    for (size_t i = 0; i < sizeof s_keywords / sizeof s_keywords[0]; i++) {
        if (strcmp(text, s_keywords[i].text) == 0) {
            *out = s_keywords[i].when;
            return 0;
        }
    }
    return FL_E_INVAL;
}

/*  Days from today's local date to the first date of WHEN's window, today
 *  being WEEKDAY (0 = Sunday).  A Sunday belongs to the weekend that began
 *  the day before.  */
static int
s_first_day(fl_when_t when, int weekday)
{
    if (when == FL_WHEN_TODAY)
        return 0;
    if (when == FL_WHEN_TOMORROW)
        return 1;
    return weekday == 0 ? -1 : 6 - weekday;
}

/*  The window of local dates that WHEN (today, tomorrow or this weekend)
 *  means in TZ at NOW_S.  */
static int
s_day_window(fl_when_t when, const char *tz, int64_t now_s, int64_t *from_s, int64_t *to_s)
{
    if (!s_zone_name_ok(tz))
        return FL_E_INVAL;
    int ndays = when == FL_WHEN_THIS_WEEKEND ? 2 : 1;
    pthread_mutex_lock(&s_ical_lock);
    icaltimezone *zone = icaltimezone_get_builtin_timezone(tz);
    if (zone) {
        struct icaltimetype wall = s_wall_locked(zone, now_s);
        int64_t first = s_day_key(wall) + s_first_day(when, icaltime_day_of_week(wall) - 1) * DAY_S;
        *from_s = s_day_start_locked(zone, first);
        *to_s = s_day_start_locked(zone, first + ndays * DAY_S);
    }
    pthread_mutex_unlock(&s_ical_lock);
    return zone ? 0 : FL_E_INVAL;
}

/*  The window [FROM, TO), whatever the zone, once TZ is known valid.  */
static int
s_fixed_window(const char *tz, int64_t from, int64_t to, int64_t *from_s, int64_t *to_s)
{
    if (!fl_time_zone_valid(tz))
        return FL_E_INVAL;
    *from_s = from;
    *to_s = to;
    return 0;
}

int
fl_time_window(fl_when_t when, const char *tz, int64_t now_s, int64_t *from_s, int64_t *to_s)
{
    assert(from_s && to_s);
    if (now_s < FL_TIME_MIN || now_s > FL_TIME_MAX)
        return FL_E_INVAL;
    switch (when) {
    case FL_WHEN_ANY:
        return s_fixed_window(tz, FL_TIME_MIN, FL_TIME_MAX, from_s, to_s);
    case FL_WHEN_NEXT_7_DAYS:
        return s_fixed_window(tz, now_s, now_s + WEEK_S, from_s, to_s);
    case FL_WHEN_TODAY:
    case FL_WHEN_TOMORROW:
    case FL_WHEN_THIS_WEEKEND:
        return s_day_window(when, tz, now_s, from_s, to_s);
    }
    return FL_E_INVAL;
}

bool
fl_time_overlaps(int64_t start, int64_t end, int64_t from, int64_t to)
{
    return start < to && end > from;
}
