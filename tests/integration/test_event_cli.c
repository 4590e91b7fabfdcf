/*  Events from the command line: `flow event ...` against a real node,
 *  as two users (each with the credentials of its own FLOW_CONFIG_DIR).
 *
 *  The geo actor learns of an event after the event's commit, so a
 *  search may miss an event for a moment: searches that must find one
 *  are repeated (bounded) until they do, and a search that must not find
 *  one is only trusted after a search that found it, or one that found an
 *  event made after it in the same place.  Usage errors need no node:
 *  they are found before anything is sent.
 */
#include "tests/integration/harness.h"
#include "tests/testlib.h"

#include <czmq.h>
#include <signal.h>
#include <time.h>

static char s_out[65536], s_err[4096];

static const char *const s_node_flags[] = { "--pwhash-ops", "1", "--pwhash-mem-kb", "8",
                                            "--rate-requests-per-s", "100000", NULL };

#define S_PASSWORD_LINE "correct horse battery\n"
/*  Far enough ahead that RSVPs are open: 21:00 to 24:00 in Berlin.  */
#define S_START "2030-12-01T20:00:00Z"
#define S_END "2030-12-01T23:00:00Z"
#define S_START_S "1922385600"
#define S_SEARCH_TRIES 100
#define S_SEARCH_PAUSE_MS 50

/*  The next commands run as USER, with the credentials of its own.  */
static void
s_as(const char *user)
{
    char dir[700];
    snprintf(dir, sizeof dir, "%s/config/%s", fl_test_tmpdir(), user);
    setenv("FLOW_CONFIG_DIR", dir, 1);
}

static void
s_start(fl_proc_t *node)
{
    unsetenv("FLOW_NODE");
    fl_node_start(node, NULL, s_node_flags);
}

/*  Runs `flow ARGS...` with STDIN_TEXT (may be NULL).  */
static int
s_flow(const char *stdin_text, const char *const *args)
{
    const char *argv[48];
    size_t n = 0;
    argv[n++] = fl_program("FLOW_CLI");
    for (size_t i = 0; args[i] && n < 47; i++)
        argv[n++] = args[i];
    argv[n] = NULL;
    return fl_run(argv, stdin_text, s_out, sizeof s_out, s_err, sizeof s_err);
}

/*  A failure is one line on stderr: "flow: STATUS: ...".  */
static bool
s_one_line_error(const char *status)
{
    char prefix[64];
    snprintf(prefix, sizeof prefix, "flow: %s: ", status);
    size_t len = strlen(s_err);
    return strncmp(s_err, prefix, strlen(prefix)) == 0 && strchr(s_err, '\n') == s_err + len - 1;
}

/*  Registers USER (email USER@example.com) on NODE and signs in as USER;
 *  its user id goes to ID.  */
static void
s_register(const fl_proc_t *node, const char *user, char id[64])
{
    s_as(user);
    char email[128];
    snprintf(email, sizeof email, "%s@example.com", user);
    const char *args[] = { "--node", node->client, "account", "register", "--email", email,
                           "--name", user, "--password-stdin", NULL };
    FL_CHECK_INT(s_flow(S_PASSWORD_LINE, args), ==, 0);
    const char *open = strchr(s_out, '(');
    const char *close = open ? strchr(open, ')') : NULL;
    FL_CHECK(open && close && close - open - 1 < 64);
    memcpy(id, open + 1, (size_t) (close - open - 1));
    id[close - open - 1] = 0;
}

/*  The string value of the first "KEY" in the JSON on stdout, into
 *  VALUE.  */
static void
s_json_string(const char *key, char *value, size_t cap)
{
    char needle[64];
    snprintf(needle, sizeof needle, "\"%s\":\"", key);
    const char *at = strstr(s_out, needle);
    FL_CHECK(at != NULL);
    at += strlen(needle);
    size_t len = strcspn(at, "\"");
    FL_CHECK(len < cap);
    memcpy(value, at, len);
    value[len] = 0;
}

/*  Creates an event in Berlin as the current user, titled TITLE, with
 *  the options EXTRA (NULL-terminated); its id goes to ID.  stdout holds
 *  the Event as JSON.  */
static void
s_create(const char *title, const char *const *extra, char id[64])
{
    const char *args[48] = { "--json", "event", "create", "--title", title, "--category", "music",
                             "--lat", "52.52", "--lon", "13.405", "--start", S_START,
                             "--end", S_END, "--tz", "Europe/Berlin" };
    size_t n = 17;
    for (size_t i = 0; extra && extra[i] && n < 47; i++)
        args[n++] = extra[i];
    args[n] = NULL;
    FL_CHECK_INT(s_flow(NULL, args), ==, 0);
    s_json_string("id", id, 64);
}

/*  Searches around the events (JSON on stdout) until the result holds
 *  ID, or S_SEARCH_TRIES times; true when it did.  */
static bool
s_nearby_finds(const char *id)
{
    const char *args[] = { "--json", "event", "nearby", "--lat", "52.52", "--lon", "13.40",
                           "--radius", "5km", NULL };
    for (int i = 0; i < S_SEARCH_TRIES; i++) {
        FL_CHECK_INT(s_flow(NULL, args), ==, 0);
        if (strstr(s_out, id))
            return true;
        zclock_sleep(S_SEARCH_PAUSE_MS);
    }
    return false;
}

/*  Searches until the result no longer holds ID; true when it went.  */
static bool
s_nearby_drops(const char *id)
{
    const char *args[] = { "--json", "event", "nearby", "--lat", "52.52", "--lon", "13.40",
                           "--radius", "5km", NULL };
    for (int i = 0; i < S_SEARCH_TRIES; i++) {
        FL_CHECK_INT(s_flow(NULL, args), ==, 0);
        if (!strstr(s_out, id))
            return true;
        zclock_sleep(S_SEARCH_PAUSE_MS);
    }
    return false;
}

/*  ---------------------------------------------------------------------
 *  Create, show, update, search
 */

FL_TEST(create_converts_money_and_times_and_show_prints_both_zones)
{
    fl_proc_t node;
    char ada[64], id[64];
    s_start(&node);
    s_register(&node, "ada", ada);
    const char *extra[] = { "--tags", "jazz, live", "--amount", "12.50", "--currency", "eur",
                            "--capacity", "50", "--venue", "A-Trane", "--address",
                            "Bleibtreustr. 1", NULL };
    s_create("Jazz night", extra, id);
    FL_CHECK(strstr(s_out, "\"amount_minor\":1250") != NULL);
    FL_CHECK(strstr(s_out, "\"currency\":\"EUR\"") != NULL);
    FL_CHECK(strstr(s_out, "\"type\":\"PRICE_PAID\"") != NULL);
    FL_CHECK(strstr(s_out, "\"start_s\":" S_START_S) != NULL);
    FL_CHECK(strstr(s_out, "\"tags\":[\"jazz\",\"live\"]") != NULL);
    const char *show[] = { "event", "show", id, NULL };
    FL_CHECK_INT(s_flow(NULL, show), ==, 0);
    FL_CHECK(strstr(s_out, "Jazz night") != NULL);
    FL_CHECK(strstr(s_out, "2030-12-01 21:00 to 2030-12-02 00:00 Europe/Berlin") != NULL);
    FL_CHECK(strstr(s_out, "2030-12-01 20:00 to 2030-12-01 23:00 UTC") != NULL);
    FL_CHECK(strstr(s_out, "A-Trane, Bleibtreustr. 1") != NULL);
    FL_CHECK(strstr(s_out, "12.50 EUR") != NULL);
    FL_CHECK(strstr(s_out, "50 (going 0, interested 0, waitlisted 0)") != NULL);
    FL_CHECK(strstr(s_out, "scheduled") != NULL);
    FL_CHECK_INT(fl_node_stop(&node, SIGTERM), ==, 0);
}

FL_TEST(create_takes_whole_yen_and_category_names_with_a_dash)
{
    fl_proc_t node;
    char ada[64], id[64];
    s_start(&node);
    s_register(&node, "ada", ada);
    const char *extra[] = { "--category", "food-drink", "--amount", "1500", "--currency", "JPY",
                            NULL };
    s_create("Ramen", extra, id);
    FL_CHECK(strstr(s_out, "\"amount_minor\":1500") != NULL);
    FL_CHECK(strstr(s_out, "CATEGORY_FOOD_DRINK") != NULL);
    const char *show[] = { "event", "show", id, NULL };
    FL_CHECK_INT(s_flow(NULL, show), ==, 0);
    FL_CHECK(strstr(s_out, "1500 JPY") != NULL);
    FL_CHECK(strstr(s_out, "food_drink") != NULL);
    FL_CHECK_INT(fl_node_stop(&node, SIGTERM), ==, 0);
}

FL_TEST(update_changes_only_the_given_fields_and_keeps_the_rest_of_the_location)
{
    fl_proc_t node;
    char ada[64], id[64];
    s_start(&node);
    s_register(&node, "ada", ada);
    const char *extra[] = { "--address", "Bleibtreustr. 1", "--description", "bring a friend",
                            "--min-points", "5", NULL };
    s_create("Jazz night", extra, id);
    const char *update[] = { "--json", "event", "update", id, "--title", "Late jazz", "--lat",
                             "52.53", "--invite-only", NULL };
    FL_CHECK_INT(s_flow(NULL, update), ==, 0);
    FL_CHECK(strstr(s_out, "\"title\":\"Late jazz\"") != NULL);
    FL_CHECK(strstr(s_out, "\"lat\":52.53") != NULL);
    FL_CHECK(strstr(s_out, "\"lon\":13.40") != NULL);
    FL_CHECK(strstr(s_out, "\"address\":\"Bleibtreustr. 1\"") != NULL);
    FL_CHECK(strstr(s_out, "\"description\":\"bring a friend\"") != NULL);
    FL_CHECK(strstr(s_out, "\"min_points\":5") != NULL);
    FL_CHECK(strstr(s_out, "\"invite_only\":true") != NULL);
    FL_CHECK(strstr(s_out, "\"version\":2") != NULL);
    FL_CHECK_INT(fl_node_stop(&node, SIGTERM), ==, 0);
}

FL_TEST(update_with_a_stale_if_version_is_refused)
{
    fl_proc_t node;
    char ada[64], id[64];
    s_start(&node);
    s_register(&node, "ada", ada);
    s_create("Jazz night", NULL, id);
    const char *first[] = { "event", "update", id, "--capacity", "10", "--if-version", "1",
                            NULL };
    FL_CHECK_INT(s_flow(NULL, first), ==, 0);
    const char *stale[] = { "event", "update", id, "--capacity", "20", "--if-version", "1",
                            NULL };
    FL_CHECK_INT(s_flow(NULL, stale), ==, 1);
    FL_CHECK(s_one_line_error("FAILED_PRECONDITION"));
    const char *show[] = { "--json", "event", "show", id, NULL };
    FL_CHECK_INT(s_flow(NULL, show), ==, 0);
    FL_CHECK(strstr(s_out, "\"capacity\":10") != NULL);
    FL_CHECK_INT(fl_node_stop(&node, SIGTERM), ==, 0);
}

FL_TEST(nearby_finds_the_event_with_distance_time_title_and_id)
{
    fl_proc_t node;
    char ada[64], id[64];
    s_start(&node);
    s_register(&node, "ada", ada);
    s_create("Jazz night", NULL, id);
    FL_CHECK(s_nearby_finds(id));
    FL_CHECK(strstr(s_out, "\"hits\":[") != NULL);
    FL_CHECK(strstr(s_out, "\"distance_m\":") != NULL);
    const char *human[] = { "event", "nearby", "--lat", "52.52", "--lon", "13.40", "--radius",
                            "800m", "--category", "music,tech", "--when", "next-7-days",
                            "--from", "2030-12-01T00:00:00Z", "--to", "2030-12-02T00:00:00Z",
                            NULL };
    FL_CHECK_INT(s_flow(NULL, human), ==, 0);
    FL_CHECK(strstr(s_out, id) == NULL);
    const char *wide[] = { "event", "nearby", "--lat", "52.52", "--lon", "13.40", "--radius",
                           "5km", "--category", "music,tech", "--from", "2030-12-01T00:00:00Z",
                           "--to", "2030-12-02T00:00:00Z", "--sort", "start", NULL };
    FL_CHECK_INT(s_flow(NULL, wide), ==, 0);
    char line[256];
    snprintf(line, sizeof line, "2030-12-01 21:00  Jazz night  %s\n", id);
    FL_CHECK(strstr(s_out, line) != NULL);
    FL_CHECK(strstr(s_out, " m  2030") != NULL);
    const char *other[] = { "event", "nearby", "--lat", "52.52", "--lon", "13.40",
                            "--category", "sports", NULL };
    FL_CHECK_INT(s_flow(NULL, other), ==, 0);
    FL_CHECK(strstr(s_out, id) == NULL);
    FL_CHECK_INT(fl_node_stop(&node, SIGTERM), ==, 0);
}

FL_TEST(nearby_pages_with_the_cursor_it_prints)
{
    fl_proc_t node;
    char ada[64], first[64], second[64];
    s_start(&node);
    s_register(&node, "ada", ada);
    s_create("First", NULL, first);
    s_create("Second", NULL, second);
    FL_CHECK(s_nearby_finds(first));
    FL_CHECK(s_nearby_finds(second));
    const char *page[] = { "event", "nearby", "--lat", "52.52", "--lon", "13.40", "--limit", "1",
                           NULL };
    FL_CHECK_INT(s_flow(NULL, page), ==, 0);
    const char *next = strstr(s_out, "next page: --cursor ");
    FL_CHECK(next != NULL);
    char cursor[512];
    snprintf(cursor, sizeof cursor, "%s", next + strlen("next page: --cursor "));
    cursor[strcspn(cursor, "\n")] = 0;
    bool first_on_page_one = strstr(s_out, first) != NULL;
    const char *page_two[] = { "event", "nearby", "--lat", "52.52", "--lon", "13.40", "--limit",
                               "1", "--cursor", cursor, NULL };
    FL_CHECK_INT(s_flow(NULL, page_two), ==, 0);
    FL_CHECK(strstr(s_out, first_on_page_one ? second : first) != NULL);
    FL_CHECK_INT(fl_node_stop(&node, SIGTERM), ==, 0);
}

/*  ---------------------------------------------------------------------
 *  RSVPs and the waitlist
 */

FL_TEST(a_full_event_waitlists_and_a_withdrawal_promotes_the_next_in_line)
{
    fl_proc_t node;
    char ada[64], bob[64], id[64];
    s_start(&node);
    s_register(&node, "bob", bob);
    s_register(&node, "ada", ada);
    const char *extra[] = { "--capacity", "1", NULL };
    s_create("Small room", extra, id);
    const char *going[] = { "event", "rsvp", id, "going", NULL };
    FL_CHECK_INT(s_flow(NULL, going), ==, 0);
    FL_CHECK(strncmp(s_out, "going: Small room", 17) == 0);
    s_as("bob");
    const char *bob_going[] = { "--json", "event", "rsvp", id, "going", NULL };
    FL_CHECK_INT(s_flow(NULL, bob_going), ==, 0);
    FL_CHECK(strstr(s_out, "\"state\":\"RSVP_WAITLISTED\"") != NULL);
    FL_CHECK(strstr(s_out, "\"waitlist_position\":1") != NULL);
    FL_CHECK_INT(s_flow(NULL, going), ==, 0);
    FL_CHECK(strncmp(s_out, "on the waitlist at position 1: Small room", 40) == 0);
    s_as("ada");
    const char *waitlist[] = { "event", "attendees", id, "--state", "waitlisted", NULL };
    FL_CHECK_INT(s_flow(NULL, waitlist), ==, 0);
    FL_CHECK(strstr(s_out, bob) != NULL);
    FL_CHECK(strstr(s_out, "position 1") != NULL);
    const char *withdraw[] = { "event", "withdraw", id, NULL };
    FL_CHECK_INT(s_flow(NULL, withdraw), ==, 0);
    FL_CHECK(strncmp(s_out, "withdrawn: Small room", 21) == 0);
    s_as("bob");
    const char *show[] = { "event", "show", id, NULL };
    FL_CHECK_INT(s_flow(NULL, show), ==, 0);
    FL_CHECK(strstr(s_out, "your rsvp      going\n") != NULL);
    FL_CHECK(strstr(s_out, "1 (going 1, interested 0, waitlisted 0)") != NULL);
    const char *attendees[] = { "event", "attendees", id, NULL };
    FL_CHECK_INT(s_flow(NULL, attendees), ==, 0);
    FL_CHECK(strstr(s_out, bob) != NULL);
    FL_CHECK(strstr(s_out, ada) == NULL);
    const char *json[] = { "--json", "event", "attendees", id, NULL };
    FL_CHECK_INT(s_flow(NULL, json), ==, 0);
    FL_CHECK(strstr(s_out, "\"attendees\":[{\"user_id\":") != NULL);
    FL_CHECK(strstr(s_out, "\"state\":\"RSVP_GOING\"") != NULL);
    FL_CHECK_INT(fl_node_stop(&node, SIGTERM), ==, 0);
}

FL_TEST(interested_is_counted_apart_from_going)
{
    fl_proc_t node;
    char ada[64], id[64];
    s_start(&node);
    s_register(&node, "ada", ada);
    s_create("Open air", NULL, id);
    const char *interested[] = { "event", "rsvp", id, "interested", NULL };
    FL_CHECK_INT(s_flow(NULL, interested), ==, 0);
    FL_CHECK(strncmp(s_out, "interested: Open air", 20) == 0);
    const char *show[] = { "event", "show", id, NULL };
    FL_CHECK_INT(s_flow(NULL, show), ==, 0);
    FL_CHECK(strstr(s_out, "no limit (going 0, interested 1, waitlisted 0)") != NULL);
    FL_CHECK(strstr(s_out, "your rsvp      interested\n") != NULL);
    FL_CHECK_INT(fl_node_stop(&node, SIGTERM), ==, 0);
}

/*  ---------------------------------------------------------------------
 *  Private and cancelled events
 */

FL_TEST(a_private_event_is_hidden_from_others_until_they_are_invited)
{
    fl_proc_t node;
    char ada[64], bob[64], id[64];
    s_start(&node);
    s_register(&node, "bob", bob);
    s_register(&node, "ada", ada);
    const char *extra[] = { "--visibility", "private", NULL };
    s_create("Birthday", extra, id);
    char public_id[64];
    s_create("Street party", NULL, public_id);
    s_as("bob");
    FL_CHECK(s_nearby_finds(public_id));
    FL_CHECK(strstr(s_out, id) == NULL);
    const char *show[] = { "event", "show", id, NULL };
    FL_CHECK_INT(s_flow(NULL, show), ==, 1);
    FL_CHECK(s_one_line_error("NOT_FOUND"));
    FL_CHECK_STR(s_out, "");
    s_as("ada");
    const char *invite[] = { "event", "invite", id, bob, NULL };
    if (s_flow(NULL, invite) != 0)
        fl_test_fail(__FILE__, __LINE__, s_err);
    FL_CHECK(strncmp(s_out, "invited 1 user to Birthday", 26) == 0);
    s_as("bob");
    FL_CHECK_INT(s_flow(NULL, show), ==, 0);
    FL_CHECK(strstr(s_out, "Birthday") != NULL);
    FL_CHECK(strstr(s_out, "private") != NULL);
    FL_CHECK_INT(fl_node_stop(&node, SIGTERM), ==, 0);
}

FL_TEST(only_the_organizer_may_change_an_event)
{
    fl_proc_t node;
    char ada[64], bob[64], id[64];
    s_start(&node);
    s_register(&node, "bob", bob);
    s_register(&node, "ada", ada);
    s_create("Jazz night", NULL, id);
    s_as("bob");
    const char *update[] = { "event", "update", id, "--title", "Mine now", NULL };
    FL_CHECK_INT(s_flow(NULL, update), ==, 1);
    FL_CHECK(s_one_line_error("PERMISSION_DENIED"));
    const char *cancel[] = { "event", "cancel", id, NULL };
    FL_CHECK_INT(s_flow(NULL, cancel), ==, 1);
    FL_CHECK(s_one_line_error("PERMISSION_DENIED"));
    FL_CHECK_INT(fl_node_stop(&node, SIGTERM), ==, 0);
}

FL_TEST(a_cancelled_event_leaves_nearby_and_takes_no_rsvp)
{
    fl_proc_t node;
    char ada[64], id[64];
    s_start(&node);
    s_register(&node, "ada", ada);
    s_create("Jazz night", NULL, id);
    FL_CHECK(s_nearby_finds(id));
    const char *cancel[] = { "event", "cancel", id, NULL };
    FL_CHECK_INT(s_flow(NULL, cancel), ==, 0);
    char line[128];
    snprintf(line, sizeof line, "cancelled Jazz night (%s)\n", id);
    FL_CHECK_STR(s_out, line);
    FL_CHECK(s_nearby_drops(id));
    const char *show[] = { "event", "show", id, NULL };
    FL_CHECK_INT(s_flow(NULL, show), ==, 0);
    FL_CHECK(strstr(s_out, "status         cancelled\n") != NULL);
    const char *going[] = { "event", "rsvp", id, "going", NULL };
    FL_CHECK_INT(s_flow(NULL, going), ==, 1);
    FL_CHECK(s_one_line_error("FAILED_PRECONDITION"));
    FL_CHECK_INT(fl_node_stop(&node, SIGTERM), ==, 0);
}

/*  ---------------------------------------------------------------------
 *  Bad input, help, no session
 */

/*  Each row: the arguments after `flow`, and a word the message must
 *  hold (the option it names).  */
static const struct {
    const char *args[24];
    const char *names;
} s_bad[] = {
    { { "event", "create", "--title", "T", "--category", "pizza", "--lat", "1", "--lon", "1",
        "--start", S_START, "--end", S_END, "--tz", "UTC" }, "--category" },
    { { "event", "create", "--title", "T", "--category", "music", "--lat", "1", "--lon", "1",
        "--start", "tomorrow", "--end", S_END, "--tz", "UTC" }, "--start" },
    { { "event", "create", "--title", "T", "--category", "music", "--lat", "1", "--lon", "1",
        "--start", S_START, "--end", S_END, "--tz", "Mars/Olympus_Mons" }, "--tz" },
    { { "event", "create", "--title", "T", "--category", "music", "--lat", "1", "--lon", "1",
        "--start", S_END, "--end", S_START, "--tz", "UTC" }, "--end" },
    { { "event", "create", "--title", "T", "--category", "music", "--lat", "1", "--lon", "1",
        "--start", S_START, "--end", S_END, "--tz", "UTC", "--amount", "12.50" }, "--currency" },
    { { "event", "create", "--title", "T", "--category", "music", "--lat", "1", "--lon", "1",
        "--start", S_START, "--end", S_END, "--tz", "UTC", "--amount", "12.505",
        "--currency", "EUR" }, "--amount" },
    { { "event", "create", "--title", "T", "--category", "music", "--lat", "1", "--lon", "1",
        "--start", S_START, "--end", S_END, "--tz", "UTC", "--amount", "15.5",
        "--currency", "JPY" }, "whole number" },
    { { "event", "create", "--title", "T", "--category", "music", "--lat", "1", "--lon", "1",
        "--start", S_START, "--end", S_END, "--tz", "UTC", "--visibility", "secret" },
      "--visibility" },
    { { "event", "create", "--title", "T", "--lat", "1", "--lon", "1" }, "--category" },
    { { "event", "update", "0123456789abcdef" }, "at least one change" },
    { { "event", "update", "0123456789abcdef", "--min-rating", "6" }, "--min-rating" },
    { { "event", "update", "0123456789abcdef", "--price", "free", "--amount", "3" }, "--amount" },
    { { "event", "show" }, "event ID" },
    { { "event", "nearby", "--lat", "52.5", "--lon", "13.4", "--radius", "5 parsecs" },
      "--radius" },
    { { "event", "nearby", "--lat", "52.5", "--lon", "13.4", "--radius", "300km" }, "--radius" },
    { { "event", "nearby", "--lat", "91", "--lon", "13.4" }, "--lat" },
    { { "event", "nearby", "--lat", "52.5" }, "--lon" },
    { { "event", "nearby", "--lat", "52.5", "--lon", "13.4", "--when", "someday" }, "--when" },
    { { "event", "nearby", "--lat", "52.5", "--lon", "13.4", "--sort", "price" }, "--sort" },
    { { "event", "nearby", "--lat", "52.5", "--lon", "13.4", "--limit", "0" }, "--limit" },
    { { "event", "nearby", "--lat", "52.5", "--lon", "13.4", "--category", "music,pizza" },
      "pizza" },
    { { "event", "rsvp", "0123456789abcdef", "maybe" }, "going or interested" },
    { { "event", "attendees", "0123456789abcdef", "--state", "none" }, "--state" },
    { { "event", "invite", "0123456789abcdef" }, "USER_ID" },
    { { "event", "show", "0123456789abcdef", "--colour" }, "--colour" },
    { { "event", "checkin", "0123456789abcdef" }, "user ID" },
    { { "event", "rate", "0123456789abcdef", "0123456789abcdef" }, "stars" },
    { { "event", "rate", "0123456789abcdef", "0123456789abcdef", "6" }, "1 to 5" },
    { { "event", "review", "0123456789abcdef" }, "--stars" },
    { { "event", "review", "0123456789abcdef", "--stars", "lots" }, "1 to 5" },
    { { "event", "reviews", "0123456789abcdef", "--limit", "0" }, "--limit" },
    { { "event", "history", "extra" }, "no arguments" },
};

FL_TEST(bad_options_are_one_line_usage_errors_that_name_the_option)
{
    setenv("FLOW_CONFIG_DIR", fl_test_tmpdir(), 1);
    for (size_t i = 0; i < sizeof s_bad / sizeof s_bad[0]; i++) {
        FL_CHECK_INT(s_flow(NULL, s_bad[i].args), ==, 2);
        FL_CHECK(s_one_line_error("INVALID_ARGUMENT"));
        if (!strstr(s_err, s_bad[i].names))
            fl_test_fail(__FILE__, __LINE__, s_err);
        FL_CHECK_STR(s_out, "");
    }
}

FL_TEST(event_commands_need_a_session)
{
    s_as("nobody");
    const char *args[] = { "event", "show", "0123456789abcdef", NULL };
    FL_CHECK_INT(s_flow(NULL, args), ==, 1);
    FL_CHECK_STR(s_err, "flow: UNAUTHENTICATED: not signed in (flow account login)\n");
}

FL_TEST(every_event_command_has_help)
{
    static const char *const verbs[] = { "create", "update", "cancel", "show", "nearby", "rsvp",
                                         "withdraw", "invite", "attendees", "checkin", "rate",
                                         "review", "reviews", "history" };
    for (size_t i = 0; i < sizeof verbs / sizeof verbs[0]; i++) {
        const char *args[] = { "event", verbs[i], "--help", NULL };
        FL_CHECK_INT(s_flow(NULL, args), ==, 0);
        char usage[64];
        snprintf(usage, sizeof usage, "usage: flow [GLOBAL OPTIONS] event %s", verbs[i]);
        FL_CHECK(strncmp(s_out, usage, strlen(usage)) == 0);
    }
    const char *noun[] = { "event", "--help", NULL };
    FL_CHECK_INT(s_flow(NULL, noun), ==, 0);
    FL_CHECK(strstr(s_out, "event nearby") != NULL);
}

/*  ---------------------------------------------------------------------
 *  Check-in, ratings, reviews, history
 */

/*  RFC 3339 UTC of now + OFFSET_S into OUT.  */
static void
s_time(long offset_s, char out[32])
{
    time_t t = time(NULL) + offset_s;
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

FL_TEST(checkin_rate_review_and_history_from_the_command_line)
{
    fl_proc_t node;
    s_start(&node);
    setenv("FLOW_NODE", node.client, 1);
    char ann[64], bob[64], cat[64], id[64], start[32], end[32];
    s_register(&node, "cat", cat);
    s_register(&node, "bob", bob);
    s_register(&node, "ann", ann);
    s_time(-120, start);
    s_time(3600, end);
    const char *create[] = { "--json", "event", "create", "--title", "Session", "--category",
                             "music", "--lat", "52.52", "--lon", "13.405", "--start", start,
                             "--end", end, "--tz", "Europe/Berlin", NULL };
    FL_CHECK_INT(s_flow(NULL, create), ==, 0);
    s_json_string("id", id, sizeof id);

    s_as("bob");
    const char *going[] = { "event", "rsvp", id, "going", NULL };
    FL_CHECK_INT(s_flow(NULL, going), ==, 0);
    const char *early[] = { "event", "review", id, "--stars", "5", NULL };
    FL_CHECK_INT(s_flow(NULL, early), ==, 1);
    FL_CHECK(s_one_line_error("FAILED_PRECONDITION"));

    s_as("cat");
    const char *not_yours[] = { "event", "checkin", id, bob, NULL };
    FL_CHECK_INT(s_flow(NULL, not_yours), ==, 1);
    FL_CHECK(s_one_line_error("PERMISSION_DENIED"));

    s_as("ann");
    const char *checkin[] = { "event", "checkin", id, bob, NULL };
    FL_CHECK_INT(s_flow(NULL, checkin), ==, 0);
    FL_CHECK(strstr(s_out, "checked in") != NULL);
    const char *not_going[] = { "event", "checkin", id, cat, NULL };
    FL_CHECK_INT(s_flow(NULL, not_going), ==, 1);
    FL_CHECK(s_one_line_error("FAILED_PRECONDITION"));
    const char *rate[] = { "event", "rate", id, bob, "4", NULL };
    FL_CHECK_INT(s_flow(NULL, rate), ==, 0);
    FL_CHECK(strstr(s_out, "4 of 5") != NULL);

    s_as("bob");
    const char *review[] = { "event", "review", id, "--stars", "5", "--text", "Great band", NULL };
    FL_CHECK_INT(s_flow(NULL, review), ==, 0);
    FL_CHECK(strstr(s_out, "5/5") && strstr(s_out, "Great band"));
    const char *edit[] = { "event", "review", id, "--stars", "3", NULL };
    FL_CHECK_INT(s_flow(NULL, edit), ==, 0);
    const char *reviews[] = { "--json", "event", "reviews", id, NULL };
    FL_CHECK_INT(s_flow(NULL, reviews), ==, 0);
    FL_CHECK(strstr(s_out, "\"stars\":3") != NULL);
    FL_CHECK(strstr(s_out, bob) != NULL);

    /*  The history follows the check-in and the rating, told after the
     *  reply: read until it shows (bounded).  */
    const char *history[] = { "event", "history", NULL };
    bool shown = false;
    for (int i = 0; i < S_SEARCH_TRIES && !shown; i++) {
        FL_CHECK_INT(s_flow(NULL, history), ==, 0);
        shown = strstr(s_out, id) && strstr(s_out, "checked in") && strstr(s_out, "rated 4/5");
        if (!shown)
            zclock_sleep(S_SEARCH_PAUSE_MS);
    }
    FL_CHECK(shown);
    FL_CHECK(strstr(s_out, "going") != NULL);
    FL_CHECK(strstr(s_out, "Session") != NULL);
    FL_CHECK_INT(fl_node_stop(&node, SIGTERM), ==, 0);
}
