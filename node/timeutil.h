/*  node/timeutil.h — instants, time zones and the discovery time windows.
 *
 *  Every instant Flow stores, compares or sends is an int64_t count of UTC
 *  seconds since the epoch; on the wire it is RFC 3339 text.  A time zone
 *  (an IANA name such as "Europe/Berlin", as known to libical) never
 *  changes an instant: it only decides what a local calendar day is, which
 *  is what "today", "tomorrow" and "this weekend" mean to a person in that
 *  zone.  Windows are half-open UTC ranges [from, to); an event [start,
 *  end) is in a window when the two overlap.
 *
 *  Invariants: fl_time_parse only returns instants in [FL_TIME_MIN,
 *  FL_TIME_MAX], so whatever it returns fl_time_format can write back, and
 *  the round trip is exact apart from dropped fractional seconds.  Local
 *  days are DST-correct: a local day may last 23 or 25 hours, and a day
 *  whose midnight does not exist starts at its first existing instant.
 *
 *  Every function may be called from any thread: the libical calls behind
 *  the zone functions are serialised inside this module.
 */
#ifndef FL_TIMEUTIL_H
#define FL_TIMEUTIL_H

#include <stdbool.h>
#include <stdint.h>

/*  "2026-12-01T20:00:00Z" and its NUL.  */
#define FL_TIME_TEXT_MAX 21

/*  The instants RFC 3339 text can name: 0000-01-01T00:00:00Z and
 *  9999-12-31T23:59:59Z.  */
#define FL_TIME_MIN INT64_C(-62167219200)
#define FL_TIME_MAX INT64_C(253402300799)

/*  The longest time zone name accepted, in bytes.  */
#define FL_TIME_ZONE_MAX 64

/*  A local calendar date and wall-clock time in some zone.  */
typedef struct {
    int year;         /* 0..9999 */
    int month;        /* 1..12 */
    int day;          /* 1..31 */
    int hour;         /* 0..23 */
    int minute;       /* 0..59 */
    int weekday;      /* 0 = Sunday .. 6 = Saturday */
} fl_local_t;

/*  The discovery keywords a search may carry.  */
typedef enum {
    FL_WHEN_ANY,
    FL_WHEN_TODAY,
    FL_WHEN_TOMORROW,
    FL_WHEN_THIS_WEEKEND,
    FL_WHEN_NEXT_7_DAYS
} fl_when_t;

/*  Parses an RFC 3339 instant, "YYYY-MM-DDTHH:MM:SS" with optional
 *  fractional seconds (dropped) and a zone of "Z" or "+HH:MM"/"-HH:MM"
 *  (RFC 3339 also allows a lower-case "t" and "z"), into UNIX_S.  Strict:
 *  no white space, no missing fields, no trailing text, every field in its
 *  range and the day existing in its month (no February 30); hour 24 and
 *  leap second 60 are refused.  Errors (UNIX_S is then untouched):
 *  FL_E_INVAL (NULL, malformed, or an instant outside [FL_TIME_MIN,
 *  FL_TIME_MAX] once the offset is applied).  */
int fl_time_parse(const char *text, int64_t *unix_s);

/*  Writes UNIX_S as "YYYY-MM-DDTHH:MM:SSZ" into OUT.  UNIX_S must be in
 *  [FL_TIME_MIN, FL_TIME_MAX] (asserted: an instant outside it has no
 *  RFC 3339 text and cannot have come from fl_time_parse).  */
void fl_time_format(int64_t unix_s, char out[FL_TIME_TEXT_MAX]);

/*  True when TZ is a time zone name libical knows ("Europe/Berlin",
 *  "UTC").  Refused before libical sees them, because libical reads an
 *  unknown name as a path under its zoneinfo directory: NULL, "", a name
 *  longer than FL_TIME_ZONE_MAX bytes, one with a byte other than an ASCII
 *  letter, digit, '/', '_', '-' or '+' (so none with ".."), and one with
 *  an empty part (a leading, trailing or doubled '/').  */
bool fl_time_zone_valid(const char *tz);

/*  The local date and time of UNIX_S in zone TZ, with TZ's offset and
 *  daylight saving time at that instant.  Errors (OUT is then untouched):
 *  FL_E_INVAL (TZ not valid as for fl_time_zone_valid, or UNIX_S outside
 *  [FL_TIME_MIN, FL_TIME_MAX]).  */
int fl_time_local(int64_t unix_s, const char *tz, fl_local_t *out);

/*  Parses a discovery keyword: "any"; "today"; "tomorrow"; "this-weekend",
 *  "this weekend" or "weekend"; "next-7-days", "next 7 days" or "week".
 *  Exact, lower-case.  Errors (OUT is then untouched): FL_E_INVAL (NULL or
 *  anything else).  */
int fl_when_parse(const char *text, fl_when_t *out);

/*  The half-open UTC window [FROM_S, TO_S) that WHEN means in zone TZ at
 *  instant NOW_S:
 *    FL_WHEN_ANY           [FL_TIME_MIN, FL_TIME_MAX], every event;
 *    FL_WHEN_TODAY         the start of today's local date to the start of
 *                          the next (23 or 25 hours across a DST change);
 *    FL_WHEN_TOMORROW      the next local date, likewise;
 *    FL_WHEN_THIS_WEEKEND  local Saturday 00:00 to Monday 00:00 of the
 *                          weekend NOW_S is in (FROM_S then lies in the
 *                          past), or else of the coming one;
 *    FL_WHEN_NEXT_7_DAYS   [NOW_S, NOW_S + 7 * 86400).
 *  TZ is checked for every WHEN.  Errors (FROM_S and TO_S are then
 *  untouched): FL_E_INVAL (TZ not valid as for fl_time_zone_valid, NOW_S
 *  outside [FL_TIME_MIN, FL_TIME_MAX], or WHEN not an fl_when_t).  */
int fl_time_window(fl_when_t when, const char *tz, int64_t now_s, int64_t *from_s,
                   int64_t *to_s);

/*  True when the event [START, END) overlaps the window [FROM, TO): START <
 *  TO and END > FROM.  Both ranges are half-open, so an event that ends
 *  when the window starts, or starts when it ends, is not in it.  Events
 *  are expected to have END > START.  */
bool fl_time_overlaps(int64_t start, int64_t end, int64_t from, int64_t to);

#endif
