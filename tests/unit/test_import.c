/*  Feed parsing for flowctl import (clients/import.c): iCalendar with
 *  zones and recurrences, JSON lines, and the problems that skip one
 *  entry and leave the rest of the feed alone.
 */
#include "clients/import.h"
#include "tests/testlib.h"

#define S_MAX 64

/*  What a parse produced, entry by entry.  */
typedef struct {
    int drafts, problems;
    char where[S_MAX][200];
    char problem[S_MAX][300];
    char title[S_MAX][100];
    char external_id[S_MAX][300];
    char series_id[S_MAX][100];
    char time_zone[S_MAX][64];
    int64_t start_s[S_MAX], end_s[S_MAX];
    double lat[S_MAX];
    int category[S_MAX];
    size_t n_tags[S_MAX];
} s_seen_t;

static int
s_collect(const char *where, const Flow__EventDraft *d, const char *problem, void *arg)
{
    s_seen_t *seen = arg;
    FL_CHECK((d == NULL) != (problem == NULL));
    if (problem) {
        FL_CHECK(seen->problems < S_MAX);
        snprintf(seen->problem[seen->problems++], 300, "%s: %s", where, problem);
        return 0;
    }
    int i = seen->drafts++;
    FL_CHECK(i < S_MAX);
    snprintf(seen->where[i], 200, "%s", where);
    snprintf(seen->title[i], 100, "%s", d->title);
    snprintf(seen->external_id[i], 300, "%s", d->source->external_id);
    snprintf(seen->series_id[i], 100, "%s", d->source->series_id);
    snprintf(seen->time_zone[i], 64, "%s", d->time_zone);
    FL_CHECK_STR(d->source->platform, "feed");
    seen->start_s[i] = d->start_s;
    seen->end_s[i] = d->end_s;
    seen->lat[i] = d->location->lat;
    seen->category[i] = d->category;
    seen->n_tags[i] = d->n_tags;
    return 0;
}

/*  2030-01-01T00:00:00Z: every time below is after it.  */
#define S_NOW 1893456000
static const fl_import_options_t s_options = { "feed", S_NOW, 90, false, 0, 0 };

#define S_ICS_HEAD "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\n"
#define S_ICS_TAIL "END:VCALENDAR\r\n"

FL_TEST(ics_plain_event)
{
    const char *text = S_ICS_HEAD
        "BEGIN:VEVENT\r\nUID:plain-1\r\nDTSTAMP:20291201T000000Z\r\n"
        "DTSTART:20300110T190000Z\r\nDTEND:20300110T220000Z\r\n"
        "SUMMARY:Jazz night\r\nDESCRIPTION:Live\\, loud\r\nLOCATION:Club 1\r\n"
        "GEO:52.52;13.405\r\nCATEGORIES:Music,Late\r\nEND:VEVENT\r\n" S_ICS_TAIL;
    s_seen_t seen = { 0 };
    FL_CHECK_INT(fl_import_parse_ics(text, &s_options, s_collect, &seen), ==, 0);
    FL_CHECK_INT(seen.problems, ==, 0);
    FL_CHECK_INT(seen.drafts, ==, 1);
    FL_CHECK_STR(seen.title[0], "Jazz night");
    FL_CHECK_STR(seen.external_id[0], "plain-1");
    FL_CHECK_STR(seen.series_id[0], "");
    FL_CHECK_STR(seen.time_zone[0], "UTC");
    FL_CHECK_INT(seen.start_s[0], ==, 1894302000);     /* 2030-01-10T19:00:00Z */
    FL_CHECK_INT(seen.end_s[0] - seen.start_s[0], ==, 3 * 3600);
    FL_CHECK(seen.lat[0] > 52.51 && seen.lat[0] < 52.53);
    FL_CHECK_INT(seen.category[0], ==, FLOW__CATEGORY__CATEGORY_MUSIC);
    FL_CHECK_INT(seen.n_tags[0], ==, 2);
}

FL_TEST(ics_tzid_is_converted_to_utc)
{
    const char *text = S_ICS_HEAD
        "BEGIN:VEVENT\r\nUID:tz-1\r\nDTSTAMP:20291201T000000Z\r\n"
        "DTSTART;TZID=Europe/Berlin:20300701T100000\r\n"
        "DTEND;TZID=Europe/Berlin:20300701T120000\r\n"
        "SUMMARY:Summer morning\r\nGEO:52.52;13.405\r\nEND:VEVENT\r\n" S_ICS_TAIL;
    s_seen_t seen = { 0 };
    FL_CHECK_INT(fl_import_parse_ics(text, &s_options, s_collect, &seen), ==, 0);
    FL_CHECK_INT(seen.drafts, ==, 1);
    FL_CHECK_INT(seen.start_s[0], ==, 1909123200);     /* 2030-07-01T08:00:00Z (CEST) */
    FL_CHECK_INT(seen.end_s[0] - seen.start_s[0], ==, 2 * 3600);
    FL_CHECK_STR(seen.time_zone[0], "Europe/Berlin");
    FL_CHECK_INT(seen.category[0], ==, FLOW__CATEGORY__CATEGORY_OTHER);
}

FL_TEST(ics_unknown_tzid_is_reported)
{
    const char *text = S_ICS_HEAD
        "BEGIN:VEVENT\r\nUID:tz-2\r\nDTSTART;TZID=Nowhere/Atlantis:20300701T100000\r\n"
        "DTEND;TZID=Nowhere/Atlantis:20300701T120000\r\nSUMMARY:Lost\r\nGEO:1;1\r\n"
        "END:VEVENT\r\n" S_ICS_TAIL;
    s_seen_t seen = { 0 };
    FL_CHECK_INT(fl_import_parse_ics(text, &s_options, s_collect, &seen), ==, 0);
    FL_CHECK_INT(seen.drafts, ==, 0);
    FL_CHECK_INT(seen.problems, ==, 1);
    FL_CHECK(strstr(seen.problem[0], "VEVENT #1 (UID tz-2): DTSTART: unknown time zone"));
}

/*  Mondays from 2029-12-03, before now: the 90 days from now hold the
 *  twelve Mondays 2030-01-07 .. 2030-03-25, and the EXDATE takes one.  */
FL_TEST(ics_weekly_rrule_is_expanded_over_the_horizon)
{
    const char *text = S_ICS_HEAD
        "BEGIN:VEVENT\r\nUID:weekly\r\nDTSTAMP:20291201T000000Z\r\n"
        "DTSTART;TZID=Europe/Berlin:20291203T190000\r\n"
        "DTEND;TZID=Europe/Berlin:20291203T210000\r\n"
        "RRULE:FREQ=WEEKLY\r\nEXDATE;TZID=Europe/Berlin:20300114T190000\r\n"
        "SUMMARY:Choir\r\nGEO:48.1;11.5\r\nEND:VEVENT\r\n" S_ICS_TAIL;
    s_seen_t seen = { 0 };
    FL_CHECK_INT(fl_import_parse_ics(text, &s_options, s_collect, &seen), ==, 0);
    FL_CHECK_INT(seen.problems, ==, 0);
    FL_CHECK_INT(seen.drafts, ==, 11);
    FL_CHECK_STR(seen.external_id[0], "weekly#2030-01-07T18:00:00Z");
    FL_CHECK_STR(seen.external_id[1], "weekly#2030-01-21T18:00:00Z");
    FL_CHECK_STR(seen.series_id[0], "weekly");
    for (int i = 0; i < seen.drafts; i++) {
        FL_CHECK(seen.start_s[i] >= S_NOW && seen.start_s[i] < S_NOW + 90 * 86400);
        FL_CHECK_INT(seen.end_s[i] - seen.start_s[i], ==, 2 * 3600);
    }
    /*  A shorter horizon sees fewer.  */
    fl_import_options_t week = s_options;
    week.horizon_days = 7;
    s_seen_t few = { 0 };
    FL_CHECK_INT(fl_import_parse_ics(text, &week, s_collect, &few), ==, 0);
    FL_CHECK_INT(few.drafts, ==, 1);
}

FL_TEST(ics_malformed_vevent_is_reported_and_skipped)
{
    const char *text = S_ICS_HEAD
        "BEGIN:VEVENT\r\nUID:good-1\r\nDTSTART:20300110T190000Z\r\nDTEND:20300110T220000Z\r\n"
        "SUMMARY:First\r\nGEO:52.5;13.4\r\nEND:VEVENT\r\n"
        "BEGIN:VEVENT\r\nUID:broken\r\nDTEND:20300110T220000Z\r\n"
        "SUMMARY:No start\r\nGEO:52.5;13.4\r\nEND:VEVENT\r\n"
        "BEGIN:VEVENT\r\nUID:good-2\r\nDTSTART:20300111T190000Z\r\nDURATION:PT1H\r\n"
        "SUMMARY:Third\r\nEND:VEVENT\r\n" S_ICS_TAIL;
    fl_import_options_t with_geo = s_options;
    with_geo.has_geo = true;
    with_geo.lat = 40;
    s_seen_t seen = { 0 };
    FL_CHECK_INT(fl_import_parse_ics(text, &with_geo, s_collect, &seen), ==, 0);
    FL_CHECK_INT(seen.problems, ==, 1);
    FL_CHECK_STR(seen.problem[0], "VEVENT #2 (UID broken): DTSTART: required");
    FL_CHECK_INT(seen.drafts, ==, 2);
    FL_CHECK_STR(seen.external_id[0], "good-1");
    FL_CHECK_STR(seen.external_id[1], "good-2");
    FL_CHECK_INT(seen.end_s[1] - seen.start_s[1], ==, 3600);
    FL_CHECK(seen.lat[1] == 40);
}

FL_TEST(ics_without_geo_or_default_is_reported)
{
    const char *text = S_ICS_HEAD
        "BEGIN:VEVENT\r\nUID:nowhere\r\nDTSTART:20300110T190000Z\r\nDTEND:20300110T220000Z\r\n"
        "SUMMARY:Where\r\nEND:VEVENT\r\n" S_ICS_TAIL;
    s_seen_t seen = { 0 };
    FL_CHECK_INT(fl_import_parse_ics(text, &s_options, s_collect, &seen), ==, 0);
    FL_CHECK_INT(seen.drafts, ==, 0);
    FL_CHECK(strstr(seen.problem[0], "VEVENT #1 (UID nowhere): GEO:"));
}

FL_TEST(ics_not_a_calendar_is_reported)
{
    s_seen_t seen = { 0 };
    FL_CHECK_INT(fl_import_parse_ics("hello\n", &s_options, s_collect, &seen), ==, -1);
    FL_CHECK_INT(seen.problems, ==, 1);
    FL_CHECK_INT(seen.drafts, ==, 0);
}

FL_TEST(jsonl_good_bad_and_unknown_category_lines)
{
    const char *text =
        "{\"external_id\":\"a\",\"title\":\"Market\",\"category\":\"markets\","
        "\"start\":\"2030-01-10T09:00:00Z\",\"end\":\"2030-01-10T13:00:00Z\","
        "\"time_zone\":\"Europe/Berlin\",\"lat\":52.5,\"lon\":13.4,\"tags\":[\"fresh\",\"local\"],"
        "\"price\":{\"type\":\"paid\",\"amount_minor\":500,\"currency\":\"EUR\"},\"capacity\":40}\n"
        "\n"
        "{\"external_id\":\"b\",\"title\":\"Broken\"\n"
        "{\"external_id\":\"c\",\"title\":\"Odd\",\"category\":\"knitting\","
        "\"start\":\"2030-01-10T09:00:00Z\",\"end\":\"2030-01-10T13:00:00Z\",\"lat\":1,\"lon\":1}\n"
        "{\"external_id\":\"d\",\"title\":\"Food\",\"category\":\"food_drink\","
        "\"start\":\"2030-01-11T09:00:00+01:00\",\"end\":\"2030-01-11T13:00:00Z\",\"lat\":1,\"lon\":1}\r\n";
    s_seen_t seen = { 0 };
    FL_CHECK_INT(fl_import_parse_jsonl(text, &s_options, s_collect, &seen), ==, 0);
    FL_CHECK_INT(seen.drafts, ==, 2);
    FL_CHECK_STR(seen.where[0], "line 1");
    FL_CHECK_STR(seen.external_id[0], "a");
    FL_CHECK_STR(seen.time_zone[0], "Europe/Berlin");
    FL_CHECK_INT(seen.category[0], ==, FLOW__CATEGORY__CATEGORY_MARKETS);
    FL_CHECK_INT(seen.n_tags[0], ==, 2);
    FL_CHECK_STR(seen.where[1], "line 5");
    FL_CHECK_INT(seen.category[1], ==, FLOW__CATEGORY__CATEGORY_FOOD_DRINK);
    FL_CHECK_STR(seen.time_zone[1], "UTC");
    FL_CHECK_INT(seen.start_s[1], ==, 1894348800);     /* 2030-01-11T08:00:00Z */
    FL_CHECK_INT(seen.problems, ==, 2);
    FL_CHECK(strncmp(seen.problem[0], "line 3: not JSON: ", 18) == 0);
    FL_CHECK_STR(seen.problem[1], "line 4: category: \"knitting\" is not one of docs/events.md");
}

FL_TEST(jsonl_missing_and_unknown_fields_are_reported)
{
    const char *text =
        "{\"title\":\"No id\",\"category\":\"music\"}\n"
        "{\"external_id\":\"x\",\"category\":\"music\",\"colour\":\"red\"}\n"
        "{\"external_id\":\"y\",\"category\":\"music\",\"start\":\"soon\",\"end\":\"later\"}\n"
        "[1,2]\n";
    s_seen_t seen = { 0 };
    FL_CHECK_INT(fl_import_parse_jsonl(text, &s_options, s_collect, &seen), ==, 0);
    FL_CHECK_INT(seen.drafts, ==, 0);
    FL_CHECK_INT(seen.problems, ==, 4);
    FL_CHECK_STR(seen.problem[0], "line 1: external_id: required");
    FL_CHECK_STR(seen.problem[1], "line 2: \"colour\" is not a field (docs/import.md)");
    FL_CHECK_STR(seen.problem[2], "line 3: start: \"soon\" is not an RFC 3339 time");
    FL_CHECK_STR(seen.problem[3], "line 4: not a JSON object");
}
