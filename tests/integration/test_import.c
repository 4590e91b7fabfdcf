/*  flowctl import against a real flowd: a feed is created once, a
 *  re-import changes nothing, an edited entry updates exactly that event,
 *  a malformed entry is skipped while the rest imports, and imported
 *  events are found by discovery search.  Events are read back through
 *  libflow as a signed-up user; their ids are the import ids the test
 *  computes itself (BLAKE2b of platform "\0" external id), which pins
 *  that derivation too.
 */
#include "clients/libflow.h"
#include "tests/integration/harness.h"
#include "tests/testlib.h"

#include <czmq.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>
#include <sodium.h>

#define S_TIMEOUT_MS 10000
#define S_SEARCH_TRIES 100

static char s_out[16384], s_err[16384];

static const char *const s_flags[] = { "--pwhash-ops", "1", "--pwhash-mem-kb", "8",
                                       "--rate-requests-per-s", "100000", NULL };

/*  Three markets in Berlin; VARIANT changes the title of "m2".  */
static void
s_write_feed(const char *path, const char *m2_title, const char *extra_line)
{
    FILE *f = fopen(path, "w");
    FL_CHECK(f != NULL);
    const char *titles[] = { "Winter market", m2_title, "Night market" };
    for (int i = 0; i < 3; i++)
        fprintf(f,
                "{\"external_id\":\"m%d\",\"title\":\"%s\",\"category\":\"markets\","
                "\"start\":\"2030-12-0%dT10:00:00Z\",\"end\":\"2030-12-0%dT16:00:00Z\","
                "\"time_zone\":\"Europe/Berlin\",\"lat\":52.52,\"lon\":13.405,"
                "\"tags\":[\"Winter\"],\"address\":\"Alexanderplatz\"}\n",
                i + 1, titles[i], i + 1, i + 1);
    if (extra_line)
        fprintf(f, "%s\n", extra_line);
    fclose(f);
}

static int
s_import(const fl_proc_t *node, const char *path, const char *const *extra)
{
    const char *argv[24] = { fl_program("FLOWCTL_CLI"), "--control", node->control, "--key",
                             node->admin_key, "import", path };
    size_t n = 7;
    for (size_t i = 0; extra && extra[i] && n < 23; i++)
        argv[n++] = extra[i];
    argv[n] = NULL;
    return fl_run(argv, NULL, s_out, sizeof s_out, s_err, sizeof s_err);
}

static void
s_import_id(const char *platform, const char *external_id, char id[17])
{
    crypto_generichash_state state;
    unsigned char hash[32];
    crypto_generichash_init(&state, NULL, 0, sizeof hash);
    crypto_generichash_update(&state, (const unsigned char *) platform, strlen(platform) + 1);
    crypto_generichash_update(&state, (const unsigned char *) external_id, strlen(external_id));
    crypto_generichash_final(&state, hash, sizeof hash);
    sodium_bin2hex(id, 17, hash, 8);
}

static flow_t *
s_user(const fl_proc_t *node)
{
    flow_t *flow = flow_new(node->client);
    FL_CHECK(flow != NULL);
    Flow__SessionReply *session = NULL;
    FL_CHECK_INT(flow_sign_up(flow, "reader@example.com", "correct horse battery", "Reader",
                              &session), ==, FLOW_OK);
    flow__session_reply__free_unpacked(session, NULL);
    return flow;
}

/*  The event imported as EXTERNAL_ID from PLATFORM.  */
static Flow__Event *
s_get(flow_t *flow, const char *platform, const char *external_id)
{
    char id[17];
    s_import_id(platform, external_id, id);
    Flow__Event *event = NULL;
    FL_CHECK_INT(flow_event_get(flow, id, &event), ==, FLOW_OK);
    return event;
}

static uint64_t
s_version(flow_t *flow, const char *external_id)
{
    Flow__Event *event = s_get(flow, "markets", external_id);
    uint64_t version = event->version;
    flow__event__free_unpacked(event, NULL);
    return version;
}

FL_TEST(jsonl_import_is_idempotent_and_updates_only_what_changed)
{
    fl_proc_t node;
    fl_node_start(&node, NULL, s_flags);
    flow_t *flow = s_user(&node);
    char path[700];
    snprintf(path, sizeof path, "%s/feed.jsonl", fl_test_tmpdir());
    const char *platform[] = { "--platform", "markets", NULL };

    s_write_feed(path, "Craft market", NULL);
    FL_CHECK_INT(s_import(&node, path, platform), ==, 0);
    FL_CHECK(strstr(s_out, "imported 3: created 3, updated 0, unchanged 0; skipped 0\n"));
    Flow__Event *first = s_get(flow, "markets", "m2");
    FL_CHECK_STR(first->title, "Craft market");
    FL_CHECK_STR(first->source->platform, "markets");
    FL_CHECK_STR(first->source->external_id, "m2");
    FL_CHECK_STR(first->organizer->display_name, "markets");
    FL_CHECK_INT(first->organizer->type, ==, FLOW__ORGANIZER_TYPE__ORGANIZER_ORGANIZATION);
    uint64_t v1 = s_version(flow, "m1"), v2 = first->version, v3 = s_version(flow, "m3");
    flow__event__free_unpacked(first, NULL);

    FL_CHECK_INT(s_import(&node, path, platform), ==, 0);
    FL_CHECK(strstr(s_out, "imported 3: created 0, updated 0, unchanged 3; skipped 0\n"));
    FL_CHECK_INT(s_version(flow, "m1"), ==, v1);
    FL_CHECK_INT(s_version(flow, "m2"), ==, v2);
    FL_CHECK_INT(s_version(flow, "m3"), ==, v3);

    s_write_feed(path, "Craft and book market", NULL);
    FL_CHECK_INT(s_import(&node, path, platform), ==, 0);
    FL_CHECK(strstr(s_out, "imported 3: created 0, updated 1, unchanged 2; skipped 0\n"));
    Flow__Event *edited = s_get(flow, "markets", "m2");
    FL_CHECK_STR(edited->title, "Craft and book market");
    FL_CHECK_INT(edited->version, ==, v2 + 1);
    FL_CHECK(edited->source->last_sync_s > 0);
    flow__event__free_unpacked(edited, NULL);
    FL_CHECK_INT(s_version(flow, "m1"), ==, v1);
    FL_CHECK_INT(s_version(flow, "m3"), ==, v3);

    flow_destroy(&flow);
    fl_node_stop(&node, SIGTERM);
}

FL_TEST(malformed_entries_are_skipped_and_the_rest_imports)
{
    fl_proc_t node;
    fl_node_start(&node, NULL, s_flags);
    flow_t *flow = s_user(&node);
    char path[700];
    snprintf(path, sizeof path, "%s/markets.jsonl", fl_test_tmpdir());
    s_write_feed(path, "Craft market", "{\"external_id\":\"m4\",\"title\":\"Broken\"");
    FL_CHECK_INT(s_import(&node, path, NULL), ==, 1);
    FL_CHECK(strstr(s_out, "imported 3: created 3, updated 0, unchanged 0; skipped 1\n"));
    FL_CHECK(strstr(s_err, "flowctl: line 4: not JSON"));
    /*  The platform defaults to the file's name.  */
    Flow__Event *event = s_get(flow, "markets.jsonl", "m1");
    FL_CHECK_STR(event->title, "Winter market");
    flow__event__free_unpacked(event, NULL);

    /*  A value only the node refuses is reported with its line too.  */
    s_write_feed(path, "Craft market",
                 "{\"external_id\":\"m5\",\"title\":\"Late\",\"category\":\"music\","
                 "\"start\":\"2030-12-01T10:00:00Z\",\"end\":\"2030-12-01T09:00:00Z\","
                 "\"lat\":52.5,\"lon\":13.4}");
    FL_CHECK_INT(s_import(&node, path, NULL), ==, 1);
    FL_CHECK(strstr(s_out, "imported 3: created 0, updated 0, unchanged 3; skipped 1\n"));
    FL_CHECK(strstr(s_err, "flowctl: line 4: INVALID_ARGUMENT: end_s"));

    flow_destroy(&flow);
    fl_node_stop(&node, SIGTERM);
}

FL_TEST(imported_events_are_found_by_nearby)
{
    fl_proc_t node;
    fl_node_start(&node, NULL, s_flags);
    flow_t *flow = s_user(&node);
    char path[700];
    snprintf(path, sizeof path, "%s/markets.jsonl", fl_test_tmpdir());
    s_write_feed(path, "Craft market", NULL);
    FL_CHECK_INT(s_import(&node, path, NULL), ==, 0);
    Flow__NearbyRequest query = FLOW__NEARBY_REQUEST__INIT;
    query.lat = 52.52;
    query.lon = 13.40;
    query.radius_m = 5000;
    size_t found = 0;
    for (int i = 0; i < S_SEARCH_TRIES && found < 3; i++) {
        Flow__NearbyReply *reply = NULL;
        FL_CHECK_INT(flow_nearby(flow, &query, &reply), ==, FLOW_OK);
        found = reply->n_hits;
        flow__nearby_reply__free_unpacked(reply, NULL);
        if (found < 3)
            zclock_sleep(50);
    }
    FL_CHECK_INT(found, ==, 3);
    flow_destroy(&flow);
    fl_node_stop(&node, SIGTERM);
}

/*  A weekly iCalendar series without GEO, placed with --lat/--lon: its
 *  occurrences in the horizon import once and then stay unchanged.  */
FL_TEST(ics_series_imports_its_occurrences_once)
{
    fl_proc_t node;
    fl_node_start(&node, NULL, s_flags);
    char path[700];
    snprintf(path, sizeof path, "%s/choir.ics", fl_test_tmpdir());
    FILE *f = fopen(path, "w");
    FL_CHECK(f != NULL);
    fputs("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\n"
          "BEGIN:VEVENT\r\nUID:choir\r\nDTSTAMP:20250101T000000Z\r\n"
          "DTSTART;TZID=Europe/Berlin:20250106T190000\r\n"
          "DTEND;TZID=Europe/Berlin:20250106T210000\r\nRRULE:FREQ=WEEKLY\r\n"
          "SUMMARY:Choir practice\r\nCATEGORIES:community\r\nEND:VEVENT\r\n"
          "BEGIN:VEVENT\r\nUID:lost\r\nDTEND:20300101T000000Z\r\nSUMMARY:No start\r\n"
          "END:VEVENT\r\nEND:VCALENDAR\r\n", f);
    fclose(f);
    const char *extra[] = { "--horizon-days", "28", "--lat", "52.5", "--lon", "13.4", NULL };
    FL_CHECK_INT(s_import(&node, path, extra), ==, 1);
    int total = 0, created = 0;
    FL_CHECK_INT(sscanf(s_out, "imported %d: created %d,", &total, &created), ==, 2);
    FL_CHECK(created >= 4 && created <= 5);
    FL_CHECK(strstr(s_out, "; skipped 1\n"));
    FL_CHECK(strstr(s_err, "flowctl: VEVENT #2 (UID lost): DTSTART: required"));
    char want[128];
    snprintf(want, sizeof want, "imported %d: created 0, updated 0, unchanged %d; skipped 1\n",
             created, created);
    FL_CHECK_INT(s_import(&node, path, extra), ==, 1);
    FL_CHECK_STR(s_out, want);
    fl_node_stop(&node, SIGTERM);
}

/*  A re-import that raises an event's capacity admits the head of its
 *  waitlist in the same transaction, as an organizer's update does.  */
FL_TEST(reimport_raising_capacity_admits_the_waitlist)
{
    fl_proc_t node;
    fl_node_start(&node, NULL, s_flags);
    char path[700];
    snprintf(path, sizeof path, "%s/gig.jsonl", fl_test_tmpdir());
    const char *platform[] = { "--platform", "gigs", NULL };
    const char *line =
        "{\"external_id\":\"g1\",\"title\":\"Gig\",\"category\":\"music\","
        "\"start\":\"2030-12-01T20:00:00Z\",\"end\":\"2030-12-01T23:00:00Z\","
        "\"time_zone\":\"Europe/Berlin\",\"lat\":52.52,\"lon\":13.405,\"capacity\":%d}\n";
    FILE *f = fopen(path, "w");
    FL_CHECK(f != NULL);
    fprintf(f, line, 1);
    fclose(f);
    FL_CHECK_INT(s_import(&node, path, platform), ==, 0);
    char id[17];
    s_import_id("gigs", "g1", id);
    flow_t *users[3];
    for (int i = 0; i < 3; i++) {
        users[i] = flow_new(node.client);
        char email[64];
        snprintf(email, sizeof email, "fan%d@example.com", i);
        Flow__SessionReply *session = NULL;
        FL_CHECK_INT(flow_sign_up(users[i], email, "correct horse battery", "Fan", &session),
                     ==, FLOW_OK);
        flow__session_reply__free_unpacked(session, NULL);
        Flow__RsvpReply *rsvp = NULL;
        FL_CHECK_INT(flow_rsvp(users[i], id, FLOW__RSVP_STATE__RSVP_GOING, &rsvp), ==, FLOW_OK);
        FL_CHECK_INT(rsvp->state, ==, i == 0 ? FLOW__RSVP_STATE__RSVP_GOING
                                            : FLOW__RSVP_STATE__RSVP_WAITLISTED);
        flow__rsvp_reply__free_unpacked(rsvp, NULL);
    }
    f = fopen(path, "w");
    FL_CHECK(f != NULL);
    fprintf(f, line, 5);
    fclose(f);
    FL_CHECK_INT(s_import(&node, path, platform), ==, 0);
    FL_CHECK(strstr(s_out, "updated 1"));
    Flow__Event *event = NULL;
    FL_CHECK_INT(flow_event_get(users[2], id, &event), ==, FLOW_OK);
    FL_CHECK_INT(event->going, ==, 3);
    FL_CHECK_INT(event->waitlisted, ==, 0);
    FL_CHECK_INT(event->my_rsvp, ==, FLOW__RSVP_STATE__RSVP_GOING);
    flow__event__free_unpacked(event, NULL);
    for (int i = 0; i < 3; i++)
        flow_destroy(&users[i]);
    fl_node_stop(&node, SIGTERM);
}

/*  ------------------------------------------------------------------
 *  Feeds by URL, from a one-connection-at-a-time responder on loopback  */

typedef struct {
    pid_t pid;
    int port;
} s_server_t;

/*  Serves up to CONNECTIONS requests on 127.0.0.1 (a kernel-chosen port)
 *  with STATUS, CONTENT_TYPE and the file BODY_PATH (NULL: BODY_BYTES
 *  bytes of 'x'); the child ends after 30 s whatever happens.  */
static void
s_serve(s_server_t *server, int connections, const char *status, const char *content_type,
        const char *body_path, size_t body_bytes)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = 0 };
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof sa;
    FL_CHECK(fd >= 0 && bind(fd, (struct sockaddr *) &sa, sizeof sa) == 0 && listen(fd, 4) == 0
             && getsockname(fd, (struct sockaddr *) &sa, &len) == 0);
    server->port = ntohs(sa.sin_port);
    char *body = NULL;
    size_t n = body_bytes;
    if (body_path) {
        FILE *f = fopen(body_path, "rb");
        FL_CHECK(f != NULL);
        body = malloc(1 << 16);
        n = fread(body, 1, 1 << 16, f);
        fclose(f);
    }
    else {
        body = malloc(n ? n : 1);
        memset(body, 'x', n);
    }
    server->pid = fork();
    FL_CHECK(server->pid >= 0);
    if (server->pid > 0) {
        close(fd);
        free(body);
        return;
    }
    alarm(30);
    for (int c = 0; c < connections; c++) {
        int conn = accept(fd, NULL, NULL);
        if (conn < 0)
            _exit(1);
        char request[8192];
        size_t got = 0;
        while (got < sizeof request - 1) {
            ssize_t r = read(conn, request + got, sizeof request - 1 - got);
            if (r <= 0)
                break;
            got += (size_t) r;
            request[got] = '\0';
            if (strstr(request, "\r\n\r\n"))
                break;
        }
        char head[512];
        int h = snprintf(head, sizeof head, "HTTP/1.1 %s\r\nContent-Type: %s\r\n"
                         "Content-Length: %zu\r\nConnection: close\r\n\r\n", status,
                         content_type, n);
        if (write(conn, head, (size_t) h) < 0 || write(conn, body, n) < 0)
            _exit(1);
        close(conn);
    }
    _exit(0);
}

static void
s_stop_server(s_server_t *server)
{
    kill(server->pid, SIGKILL);
    waitpid(server->pid, NULL, 0);
}

FL_TEST(a_feed_is_imported_by_url_as_from_a_file)
{
    fl_proc_t node;
    fl_node_start(&node, NULL, s_flags);
    char path[600], url[128];
    snprintf(path, sizeof path, "%s/feed.bin", fl_test_tmpdir());
    s_write_feed(path, "Christmas market", NULL);

    /*  No extension: the format comes from the Content-Type, the platform
     *  from the host.  */
    s_server_t server;
    s_serve(&server, 2, "200 OK", "application/x-ndjson", path, 0);
    snprintf(url, sizeof url, "http://127.0.0.1:%d/feeds/markets?week=49", server.port);
    FL_CHECK_INT(s_import(&node, url, NULL), ==, 0);
    FL_CHECK(strstr(s_out, "created 3") != NULL);
    FL_CHECK_INT(s_import(&node, url, NULL), ==, 0);
    FL_CHECK(strstr(s_out, "unchanged 3") != NULL);
    s_stop_server(&server);

    flow_t *flow = s_user(&node);
    char id[17];
    s_import_id("127.0.0.1", "m2", id);
    Flow__Event *ev = NULL;
    FL_CHECK_INT(flow_event_get(flow, id, &ev), ==, FLOW_OK);
    FL_CHECK_STR(ev->title, "Christmas market");
    FL_CHECK_STR(ev->source->platform, "127.0.0.1");
    flow__event__free_unpacked(ev, NULL);
    flow_destroy(&flow);
    FL_CHECK_INT(fl_node_stop(&node, SIGTERM), ==, 0);
}

FL_TEST(a_url_that_fails_imports_nothing_and_says_why)
{
    fl_proc_t node;
    fl_node_start(&node, NULL, s_flags);
    char url[128];
    s_server_t server;
    s_serve(&server, 1, "404 Not Found", "text/plain", NULL, 9);
    snprintf(url, sizeof url, "http://127.0.0.1:%d/feed.jsonl", server.port);
    FL_CHECK_INT(s_import(&node, url, NULL), ==, 1);
    FL_CHECK(strstr(s_err, "HTTP status 404") != NULL);
    FL_CHECK_STR(s_out, "");
    s_stop_server(&server);

    /*  Over the limit: refused, not cut short.  */
    s_serve(&server, 1, "200 OK", "application/x-ndjson", NULL, (64u << 20) + 1);
    snprintf(url, sizeof url, "http://127.0.0.1:%d/big.jsonl", server.port);
    FL_CHECK_INT(s_import(&node, url, NULL), ==, 1);
    FL_CHECK(strstr(s_err, "larger than") != NULL);
    s_stop_server(&server);

    /*  Nobody listens on the port the server had.  */
    FL_CHECK_INT(s_import(&node, url, NULL), ==, 1);
    FL_CHECK(strstr(s_err, "cannot fetch") != NULL);

    /*  Other schemes are refused before anything is fetched.  */
    FL_CHECK_INT(s_import(&node, "ftp://127.0.0.1/feed.ics", NULL), ==, 2);
    FL_CHECK(strstr(s_err, "http:// or https://") != NULL);
    FL_CHECK_INT(s_import(&node, "file:///etc/passwd", NULL), ==, 2);
    FL_CHECK(strstr(s_err, "http:// or https://") != NULL);
    FL_CHECK_INT(fl_node_stop(&node, SIGTERM), ==, 0);
}
