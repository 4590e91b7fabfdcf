/*  Instants, zones and discovery windows: RFC 3339 parsing and
 *  formatting, zone names, local dates across DST, the windows and their
 *  overlap test.  */
#include "node/error.h"
#include "node/timeutil.h"
#include "tests/testlib.h"

#define UNTOUCHED INT64_C(-4242)

/*  The instant TEXT names; fails the test when it does not parse.  */
static int64_t
at(const char *text)
{
    int64_t t = UNTOUCHED;
    FL_CHECK_INT(fl_time_parse(text, &t), ==, 0);
    return t;
}

/*  The RFC 3339 text of T.  */
static const char *
text(int64_t t)
{
    static char out[FL_TIME_TEXT_MAX];
    fl_time_format(t, out);
    return out;
}

/*  True when TEXT is refused with FL_E_INVAL and the output is untouched.  */
static bool
refused(const char *text)
{
    int64_t t = UNTOUCHED;
    return fl_time_parse(text, &t) == FL_E_INVAL && t == UNTOUCHED;
}

/*  The local time of instant WHEN in TZ, "YYYY-MM-DD HH:MM wN".  */
static const char *
local(const char *when, const char *tz)
{
    static char out[64];
    fl_local_t l;
    FL_CHECK_INT(fl_time_local(at(when), tz, &l), ==, 0);
    snprintf(out, sizeof out, "%04d-%02d-%02d %02d:%02d w%d", l.year, l.month, l.day, l.hour,
             l.minute, l.weekday);
    return out;
}

/*  The window WHEN means in TZ at instant NOW, "FROM TO" in RFC 3339.  */
static const char *
window(fl_when_t when, const char *tz, const char *now)
{
    static char out[2 * FL_TIME_TEXT_MAX + 1];
    int64_t from, to;
    FL_CHECK_INT(fl_time_window(when, tz, at(now), &from, &to), ==, 0);
    char from_text[FL_TIME_TEXT_MAX];
    fl_time_format(from, from_text);
    snprintf(out, sizeof out, "%s %s", from_text, text(to));
    return out;
}

/*  The length in hours of the window WHEN means in TZ at NOW.  */
static int64_t
window_hours(fl_when_t when, const char *tz, const char *now)
{
    int64_t from, to;
    FL_CHECK_INT(fl_time_window(when, tz, at(now), &from, &to), ==, 0);
    return (to - from) / 3600;
}

/*  True when fl_time_window refuses with FL_E_INVAL and leaves its outputs.  */
static bool
window_refused(fl_when_t when, const char *tz, int64_t now)
{
    int64_t from = UNTOUCHED, to = UNTOUCHED;
    return fl_time_window(when, tz, now, &from, &to) == FL_E_INVAL && from == UNTOUCHED
           && to == UNTOUCHED;
}

/*  The keyword TEXT parsed, or -1 when refused (the output then untouched).  */
static int
when(const char *text)
{
    fl_when_t w = (fl_when_t) 77;
    if (fl_when_parse(text, &w) == 0)
        return (int) w;
    FL_CHECK_INT(fl_when_parse(text, &w), ==, FL_E_INVAL);
    FL_CHECK_INT(w, ==, 77);
    return -1;
}

FL_TEST(parse_reads_utc_instants)
{
    FL_CHECK_INT(at("1970-01-01T00:00:00Z"), ==, 0);
    FL_CHECK_INT(at("2000-03-01T00:00:00Z"), ==, 951868800);
    FL_CHECK_INT(at("2026-12-01T20:00:00Z"), ==, 1796155200);
    FL_CHECK_INT(at("1969-12-31T23:59:59Z"), ==, -1);
}

FL_TEST(parse_accepts_lower_case_t_and_z)
{
    FL_CHECK_INT(at("2026-12-01t20:00:00z"), ==, 1796155200);
}

FL_TEST(parse_drops_fractional_seconds)
{
    FL_CHECK_INT(at("2026-12-01T20:00:00.999Z"), ==, 1796155200);
    FL_CHECK_INT(at("2026-12-01T20:00:00.5+01:00"), ==, 1796155200 - 3600);
    FL_CHECK_INT(at("1969-12-31T23:59:59.999999999Z"), ==, -1);
}

FL_TEST(parse_applies_numeric_offsets)
{
    FL_CHECK_INT(at("2026-12-01T21:00:00+01:00"), ==, 1796155200);
    FL_CHECK_INT(at("2026-12-01T14:30:00-05:30"), ==, 1796155200);
    FL_CHECK_INT(at("2026-12-02T10:00:00+14:00"), ==, 1796155200);
    FL_CHECK_INT(at("2026-12-01T20:00:00+00:00"), ==, 1796155200);
    FL_CHECK_INT(at("2026-12-01T20:00:00-00:00"), ==, 1796155200);
}

FL_TEST(parse_accepts_leap_days)
{
    FL_CHECK_INT(at("2024-02-29T12:00:00Z"), ==, 1709208000);
    FL_CHECK_INT(at("2000-02-29T00:00:00Z"), ==, 951782400);
}

FL_TEST(parse_refuses_empty_and_null)
{
    FL_CHECK(refused(""));
    FL_CHECK(refused(NULL));
}

FL_TEST(parse_refuses_missing_t)
{
    FL_CHECK(refused("2026-12-01 20:00:00Z"));
    FL_CHECK(refused("2026-12-0120:00:00Z"));
    FL_CHECK(refused("2026-12-01"));
    FL_CHECK(refused("20261201T200000Z"));
}

FL_TEST(parse_refuses_missing_or_short_fields)
{
    FL_CHECK(refused("2026-12-01T20:00:00"));
    FL_CHECK(refused("2026-12-01T20:00Z"));
    FL_CHECK(refused("2026-1-01T20:00:00Z"));
    FL_CHECK(refused("26-12-01T20:00:00Z"));
    FL_CHECK(refused("+2026-12-01T20:00:00Z"));
    FL_CHECK(refused("2026-12-01T20:00:00.Z"));
    FL_CHECK(refused("2026-12-01T2 :00:00Z"));
    FL_CHECK(refused("2026-12-01T-1:00:00Z"));
}

FL_TEST(parse_refuses_out_of_range_fields)
{
    FL_CHECK(refused("2026-00-01T20:00:00Z"));
    FL_CHECK(refused("2026-13-01T20:00:00Z"));
    FL_CHECK(refused("2026-12-00T20:00:00Z"));
    FL_CHECK(refused("2026-12-32T20:00:00Z"));
    FL_CHECK(refused("2026-12-01T20:60:00Z"));
    FL_CHECK(refused("2026-12-01T20:00:60Z"));
    FL_CHECK(refused("2026-12-31T23:59:60Z"));
}

FL_TEST(parse_refuses_days_missing_from_their_month)
{
    FL_CHECK(refused("2026-02-30T12:00:00Z"));
    FL_CHECK(refused("2026-02-29T12:00:00Z"));
    FL_CHECK(refused("1900-02-29T12:00:00Z"));
    FL_CHECK(refused("2026-04-31T12:00:00Z"));
}

FL_TEST(parse_refuses_hour_24)
{
    FL_CHECK(refused("2026-12-01T24:00:00Z"));
    FL_CHECK(refused("2026-12-01T25:00:00Z"));
}

FL_TEST(parse_refuses_trailing_junk)
{
    FL_CHECK(refused("2026-12-01T20:00:00Zx"));
    FL_CHECK(refused("2026-12-01T20:00:00Z "));
    FL_CHECK(refused(" 2026-12-01T20:00:00Z"));
    FL_CHECK(refused("2026-12-01T20:00:00+01:00Z"));
    FL_CHECK(refused("2026-12-01T20:00:00+01:000"));
}

FL_TEST(parse_refuses_bad_offsets)
{
    FL_CHECK(refused("2026-12-01T20:00:00+24:00"));
    FL_CHECK(refused("2026-12-01T20:00:00+01:60"));
    FL_CHECK(refused("2026-12-01T20:00:00+0100"));
    FL_CHECK(refused("2026-12-01T20:00:00+01"));
    FL_CHECK(refused("2026-12-01T20:00:00+1:00"));
    FL_CHECK(refused("2026-12-01T20:00:00 +01:00"));
    FL_CHECK(refused("2026-12-01T20:00:00UTC"));
}

FL_TEST(parse_refuses_instants_outside_the_text_range)
{
    FL_CHECK(refused("9999-12-31T23:59:59-00:01"));
    FL_CHECK(refused("0000-01-01T00:00:00+00:01"));
    FL_CHECK_INT(at("9999-12-31T23:59:59Z"), ==, FL_TIME_MAX);
    FL_CHECK_INT(at("0000-01-01T00:00:00Z"), ==, FL_TIME_MIN);
}

FL_TEST(format_writes_utc_text)
{
    FL_CHECK_STR(text(1796155200), "2026-12-01T20:00:00Z");
    FL_CHECK_STR(text(0), "1970-01-01T00:00:00Z");
    FL_CHECK_STR(text(-1), "1969-12-31T23:59:59Z");
    FL_CHECK_STR(text(FL_TIME_MIN), "0000-01-01T00:00:00Z");
    FL_CHECK_STR(text(FL_TIME_MAX), "9999-12-31T23:59:59Z");
}

FL_TEST(format_and_parse_round_trip)
{
    const int64_t instants[] = { FL_TIME_MIN, -86401, -1, 0, 951782400, 1796155200,
                                 2147483648, FL_TIME_MAX };
    for (size_t i = 0; i < sizeof instants / sizeof instants[0]; i++)
        FL_CHECK_INT(at(text(instants[i])), ==, instants[i]);
    const char *texts[] = { "2024-02-29T23:59:59Z", "2038-01-19T03:14:08Z",
                            "0001-01-01T00:00:00Z" };
    for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++)
        FL_CHECK_STR(text(at(texts[i])), texts[i]);
}

FL_TEST(zone_valid_accepts_iana_names)
{
    FL_CHECK(fl_time_zone_valid("Europe/Berlin"));
    FL_CHECK(fl_time_zone_valid("America/New_York"));
    FL_CHECK(fl_time_zone_valid("Asia/Kolkata"));
    FL_CHECK(fl_time_zone_valid("UTC"));
    FL_CHECK(fl_time_zone_valid("America/Port-au-Prince"));
    FL_CHECK(fl_time_zone_valid("Etc/GMT+5"));
}

FL_TEST(zone_valid_refuses_unknown_names)
{
    FL_CHECK(!fl_time_zone_valid("Mars/Base"));
    FL_CHECK(!fl_time_zone_valid("Europe"));
    FL_CHECK(!fl_time_zone_valid("europe/berlin"));
}

FL_TEST(zone_valid_refuses_names_that_are_not_names)
{
    FL_CHECK(!fl_time_zone_valid(NULL));
    FL_CHECK(!fl_time_zone_valid(""));
    FL_CHECK(!fl_time_zone_valid("../etc/passwd"));
    /*  libical itself would read these three as the Europe/Berlin file.  */
    FL_CHECK(!fl_time_zone_valid("Europe/../Europe/Berlin"));
    FL_CHECK(!fl_time_zone_valid("/Europe/Berlin"));
    FL_CHECK(!fl_time_zone_valid("Europe//Berlin"));
    FL_CHECK(!fl_time_zone_valid("Europe/Berlin/"));
    FL_CHECK(!fl_time_zone_valid("zone.tab"));
    FL_CHECK(!fl_time_zone_valid("Europe/Berlin "));
    FL_CHECK(!fl_time_zone_valid("Europe/Berlin\n"));
}

FL_TEST(zone_valid_refuses_names_over_64_bytes)
{
    char name[FL_TIME_ZONE_MAX + 2];
    memset(name, 'A', sizeof name - 1);
    name[sizeof name - 1] = '\0';
    FL_CHECK(!fl_time_zone_valid(name));
    memcpy(name + FL_TIME_ZONE_MAX - strlen("/Berlin"), "/Berlin", strlen("/Berlin") + 1);
    FL_CHECK_INT(strlen(name), ==, FL_TIME_ZONE_MAX);
    FL_CHECK(!fl_time_zone_valid(name));
}

FL_TEST(local_follows_berlin_spring_forward)
{
    FL_CHECK_STR(local("2026-03-29T00:59:59Z", "Europe/Berlin"), "2026-03-29 01:59 w0");
    FL_CHECK_STR(local("2026-03-29T01:00:00Z", "Europe/Berlin"), "2026-03-29 03:00 w0");
    FL_CHECK_STR(local("2026-03-28T23:00:00Z", "Europe/Berlin"), "2026-03-29 00:00 w0");
}

FL_TEST(local_follows_berlin_fall_back)
{
    FL_CHECK_STR(local("2026-10-25T00:59:59Z", "Europe/Berlin"), "2026-10-25 02:59 w0");
    FL_CHECK_STR(local("2026-10-25T01:00:00Z", "Europe/Berlin"), "2026-10-25 02:00 w0");
    FL_CHECK_STR(local("2026-10-24T21:59:59Z", "Europe/Berlin"), "2026-10-24 23:59 w6");
}

FL_TEST(local_follows_new_york_dst)
{
    FL_CHECK_STR(local("2026-03-08T06:59:59Z", "America/New_York"), "2026-03-08 01:59 w0");
    FL_CHECK_STR(local("2026-03-08T07:00:00Z", "America/New_York"), "2026-03-08 03:00 w0");
    FL_CHECK_STR(local("2026-11-01T05:59:59Z", "America/New_York"), "2026-11-01 01:59 w0");
    FL_CHECK_STR(local("2026-11-01T06:00:00Z", "America/New_York"), "2026-11-01 01:00 w0");
    FL_CHECK_STR(local("2026-12-01T20:00:00Z", "America/New_York"), "2026-12-01 15:00 w2");
}

FL_TEST(local_uses_half_hour_and_date_line_offsets)
{
    FL_CHECK_STR(local("2026-12-01T20:00:00Z", "Asia/Kolkata"), "2026-12-02 01:30 w3");
    FL_CHECK_STR(local("2026-12-01T20:00:00Z", "Pacific/Kiritimati"), "2026-12-02 10:00 w3");
    FL_CHECK_STR(local("2026-12-01T10:00:00Z", "Pacific/Pago_Pago"), "2026-11-30 23:00 w1");
    FL_CHECK_STR(local("2026-12-01T20:00:00Z", "UTC"), "2026-12-01 20:00 w2");
}

FL_TEST(local_refuses_bad_zones_and_instants)
{
    fl_local_t l = { .year = 42 };
    FL_CHECK_INT(fl_time_local(0, "Mars/Base", &l), ==, FL_E_INVAL);
    FL_CHECK_INT(fl_time_local(0, NULL, &l), ==, FL_E_INVAL);
    FL_CHECK_INT(fl_time_local(0, "../etc/passwd", &l), ==, FL_E_INVAL);
    FL_CHECK_INT(fl_time_local(FL_TIME_MAX + 1, "UTC", &l), ==, FL_E_INVAL);
    FL_CHECK_INT(fl_time_local(FL_TIME_MIN - 1, "UTC", &l), ==, FL_E_INVAL);
    FL_CHECK_INT(l.year, ==, 42);
}

FL_TEST(when_parse_accepts_every_keyword)
{
    FL_CHECK_INT(when("any"), ==, FL_WHEN_ANY);
    FL_CHECK_INT(when("today"), ==, FL_WHEN_TODAY);
    FL_CHECK_INT(when("tomorrow"), ==, FL_WHEN_TOMORROW);
    FL_CHECK_INT(when("this-weekend"), ==, FL_WHEN_THIS_WEEKEND);
    FL_CHECK_INT(when("this weekend"), ==, FL_WHEN_THIS_WEEKEND);
    FL_CHECK_INT(when("weekend"), ==, FL_WHEN_THIS_WEEKEND);
    FL_CHECK_INT(when("next-7-days"), ==, FL_WHEN_NEXT_7_DAYS);
    FL_CHECK_INT(when("next 7 days"), ==, FL_WHEN_NEXT_7_DAYS);
    FL_CHECK_INT(when("week"), ==, FL_WHEN_NEXT_7_DAYS);
}

FL_TEST(when_parse_refuses_anything_else)
{
    FL_CHECK_INT(when(NULL), ==, -1);
    FL_CHECK_INT(when(""), ==, -1);
    FL_CHECK_INT(when("Today"), ==, -1);
    FL_CHECK_INT(when("today "), ==, -1);
    FL_CHECK_INT(when("this_weekend"), ==, -1);
    FL_CHECK_INT(when("next-8-days"), ==, -1);
}

FL_TEST(today_on_a_23_hour_day)
{
    FL_CHECK_STR(window(FL_WHEN_TODAY, "Europe/Berlin", "2026-03-29T12:00:00Z"),
                 "2026-03-28T23:00:00Z 2026-03-29T22:00:00Z");
    FL_CHECK_INT(window_hours(FL_WHEN_TODAY, "Europe/Berlin", "2026-03-29T12:00:00Z"), ==, 23);
}

FL_TEST(today_on_a_25_hour_day)
{
    FL_CHECK_STR(window(FL_WHEN_TODAY, "Europe/Berlin", "2026-10-25T12:00:00Z"),
                 "2026-10-24T22:00:00Z 2026-10-25T23:00:00Z");
    FL_CHECK_STR(window(FL_WHEN_TODAY, "America/New_York", "2026-11-01T12:00:00Z"),
                 "2026-11-01T04:00:00Z 2026-11-02T05:00:00Z");
    FL_CHECK_INT(window_hours(FL_WHEN_TODAY, "America/New_York", "2026-11-01T12:00:00Z"), ==, 25);
}

FL_TEST(today_follows_the_local_date_not_the_utc_date)
{
    FL_CHECK_STR(window(FL_WHEN_TODAY, "Europe/Berlin", "2026-03-28T23:00:00Z"),
                 "2026-03-28T23:00:00Z 2026-03-29T22:00:00Z");
    FL_CHECK_STR(window(FL_WHEN_TODAY, "Europe/Berlin", "2026-03-28T22:59:59Z"),
                 "2026-03-27T23:00:00Z 2026-03-28T23:00:00Z");
}

FL_TEST(today_starts_after_a_skipped_midnight)
{
    FL_CHECK_STR(window(FL_WHEN_TODAY, "America/Santiago", "2026-09-06T12:00:00Z"),
                 "2026-09-06T04:00:00Z 2026-09-07T03:00:00Z");
}

FL_TEST(today_ends_at_a_repeated_midnight)
{
    FL_CHECK_STR(window(FL_WHEN_TODAY, "Asia/Beirut", "2026-10-24T12:00:00Z"),
                 "2026-10-23T21:00:00Z 2026-10-24T22:00:00Z");
}

FL_TEST(tomorrow_is_the_next_local_day)
{
    FL_CHECK_STR(window(FL_WHEN_TOMORROW, "Europe/Berlin", "2026-03-28T12:00:00Z"),
                 "2026-03-28T23:00:00Z 2026-03-29T22:00:00Z");
    FL_CHECK_STR(window(FL_WHEN_TOMORROW, "Europe/Berlin", "2026-10-24T12:00:00Z"),
                 "2026-10-24T22:00:00Z 2026-10-25T23:00:00Z");
    FL_CHECK_STR(window(FL_WHEN_TOMORROW, "UTC", "2026-12-31T23:59:59Z"),
                 "2027-01-01T00:00:00Z 2027-01-02T00:00:00Z");
}

FL_TEST(weekend_from_a_wednesday_is_the_coming_one)
{
    FL_CHECK_STR(window(FL_WHEN_THIS_WEEKEND, "Europe/Berlin", "2026-12-02T12:00:00Z"),
                 "2026-12-04T23:00:00Z 2026-12-06T23:00:00Z");
}

FL_TEST(weekend_from_a_saturday_started_that_morning)
{
    FL_CHECK_STR(window(FL_WHEN_THIS_WEEKEND, "Europe/Berlin", "2026-12-05T15:00:00Z"),
                 "2026-12-04T23:00:00Z 2026-12-06T23:00:00Z");
}

FL_TEST(weekend_from_a_sunday_started_the_day_before)
{
    FL_CHECK_STR(window(FL_WHEN_THIS_WEEKEND, "Europe/Berlin", "2026-12-06T22:59:59Z"),
                 "2026-12-04T23:00:00Z 2026-12-06T23:00:00Z");
}

FL_TEST(weekend_from_monday_midnight_is_the_next_one)
{
    FL_CHECK_STR(window(FL_WHEN_THIS_WEEKEND, "Europe/Berlin", "2026-12-06T23:00:00Z"),
                 "2026-12-11T23:00:00Z 2026-12-13T23:00:00Z");
}

FL_TEST(weekend_across_a_dst_change_lasts_49_hours)
{
    FL_CHECK_STR(window(FL_WHEN_THIS_WEEKEND, "Europe/Berlin", "2026-10-21T12:00:00Z"),
                 "2026-10-23T22:00:00Z 2026-10-25T23:00:00Z");
    FL_CHECK_INT(window_hours(FL_WHEN_THIS_WEEKEND, "Europe/Berlin", "2026-10-21T12:00:00Z"), ==,
                 49);
}

/*  At 11:00 UTC on Friday it is already 01:00 on Saturday at UTC+14.  */
FL_TEST(weekend_west_of_the_date_line_begins_on_utc_friday)
{
    FL_CHECK_STR(window(FL_WHEN_THIS_WEEKEND, "Pacific/Kiritimati", "2026-12-04T11:00:00Z"),
                 "2026-12-04T10:00:00Z 2026-12-06T10:00:00Z");
    FL_CHECK_STR(window(FL_WHEN_TODAY, "Pacific/Kiritimati", "2026-12-04T11:00:00Z"),
                 "2026-12-04T10:00:00Z 2026-12-05T10:00:00Z");
}

/*  At 09:00 UTC on Monday it is still 22:00 on Sunday at UTC-11.  */
FL_TEST(weekend_east_of_the_date_line_lasts_into_utc_monday)
{
    FL_CHECK_STR(window(FL_WHEN_THIS_WEEKEND, "Pacific/Pago_Pago", "2026-12-07T09:00:00Z"),
                 "2026-12-05T11:00:00Z 2026-12-07T11:00:00Z");
    FL_CHECK_STR(window(FL_WHEN_TOMORROW, "Pacific/Pago_Pago", "2026-12-07T09:00:00Z"),
                 "2026-12-07T11:00:00Z 2026-12-08T11:00:00Z");
}

FL_TEST(next_7_days_starts_now)
{
    FL_CHECK_STR(window(FL_WHEN_NEXT_7_DAYS, "Europe/Berlin", "2026-03-25T12:34:56Z"),
                 "2026-03-25T12:34:56Z 2026-04-01T12:34:56Z");
}

FL_TEST(any_covers_every_instant)
{
    FL_CHECK_STR(window(FL_WHEN_ANY, "UTC", "2026-12-01T20:00:00Z"),
                 "0000-01-01T00:00:00Z 9999-12-31T23:59:59Z");
}

FL_TEST(window_refuses_bad_zones_for_every_keyword)
{
    const fl_when_t whens[] = { FL_WHEN_ANY, FL_WHEN_TODAY, FL_WHEN_TOMORROW,
                                FL_WHEN_THIS_WEEKEND, FL_WHEN_NEXT_7_DAYS };
    for (size_t i = 0; i < sizeof whens / sizeof whens[0]; i++) {
        FL_CHECK(window_refused(whens[i], "Mars/Base", 0));
        FL_CHECK(window_refused(whens[i], NULL, 0));
        FL_CHECK(window_refused(whens[i], "../etc/passwd", 0));
    }
}

FL_TEST(window_refuses_bad_instants_and_keywords)
{
    FL_CHECK(window_refused(FL_WHEN_TODAY, "UTC", FL_TIME_MAX + 1));
    FL_CHECK(window_refused(FL_WHEN_NEXT_7_DAYS, "UTC", FL_TIME_MIN - 1));
    FL_CHECK(window_refused((fl_when_t) 99, "UTC", 0));
}

/*  True when the local-day windows at NOW in TZ hold NOW, whatever year
 *  the local date falls in.  */
static bool
day_windows_hold(const char *tz, int64_t now)
{
    int64_t from, to;
    if (fl_time_window(FL_WHEN_TODAY, tz, now, &from, &to) != 0 || from > now || now >= to)
        return false;
    return fl_time_window(FL_WHEN_THIS_WEEKEND, tz, now, &from, &to) == 0
           && to - from >= 47 * 3600;
}

FL_TEST(window_works_at_the_ends_of_the_range)
{
    FL_CHECK(day_windows_hold("Pacific/Kiritimati", FL_TIME_MAX));
    FL_CHECK(day_windows_hold("Pacific/Pago_Pago", FL_TIME_MAX));
    FL_CHECK(day_windows_hold("Pacific/Kiritimati", FL_TIME_MIN));
    FL_CHECK(day_windows_hold("Pacific/Pago_Pago", FL_TIME_MIN));
}

FL_TEST(overlaps_is_half_open)
{
    FL_CHECK(!fl_time_overlaps(0, 100, 100, 200));
    FL_CHECK(!fl_time_overlaps(200, 300, 100, 200));
    FL_CHECK(fl_time_overlaps(0, 101, 100, 200));
    FL_CHECK(fl_time_overlaps(199, 300, 100, 200));
}

FL_TEST(overlaps_covers_containment_both_ways)
{
    FL_CHECK(fl_time_overlaps(0, 300, 100, 200));
    FL_CHECK(fl_time_overlaps(120, 130, 100, 200));
    FL_CHECK(fl_time_overlaps(100, 200, 100, 200));
}

FL_TEST(overlaps_refuses_disjoint_events)
{
    FL_CHECK(!fl_time_overlaps(0, 50, 100, 200));
    FL_CHECK(!fl_time_overlaps(250, 300, 100, 200));
}
