/*  Events on a real flowd: create, update, cancel, visibility, discovery
 *  search, RSVPs with capacity and a first-in-first-out waitlist, and the
 *  refusal of bad input.  Requests go through libflow's generic
 *  flow_call() with each user's access token set on the request.
 */
#include "clients/libflow.h"
#include "tests/integration/harness.h"
#include "tests/testlib.h"

#include <math.h>
#include <signal.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define TOKEN_MAX 600
#define ID_MAX 64

typedef struct {
    char user_id[ID_MAX];
    char token[TOKEN_MAX];
} s_user_t;


static void
s_start(fl_proc_t *node, const char *data)
{
    const char *flags[] = { "--pwhash-ops", "1", "--pwhash-mem-kb", "8",
                            "--rate-requests-per-s", "100000", NULL };
    fl_node_start(node, data, flags);
}



static void
s_sign_up(flow_t *flow, const char *email, s_user_t *out)
{
    Flow__SignUpRequest body = FLOW__SIGN_UP_REQUEST__INIT;
    body.email = (char *) email;
    body.password = "correct horse battery";
    body.display_name = "Someone";
    Flow__Request req = FLOW__REQUEST__INIT;
    req.body_case = FLOW__REQUEST__BODY_SIGN_UP;
    req.sign_up = &body;
    Flow__Reply *reply = NULL;
    FL_EXPECT(fl_call(flow, NULL, &req, &reply), FLOW_OK, "");
    snprintf(out->user_id, sizeof out->user_id, "%s", reply->session->user_id);
    snprintf(out->token, sizeof out->token, "%s", reply->session->access_token);
    flow__reply__free_unpacked(reply, NULL);
}

/*  A valid draft: Berlin, starting in DAYS days, lasting 3 hours.  */
typedef struct {
    Flow__EventDraft draft;
    Flow__Location location;
    Flow__Pricing pricing;
    char *tags[2];
} s_draft_t;

static void
s_draft(s_draft_t *d, const char *title, double lat, double lon, int days, uint32_t capacity)
{
    flow__event_draft__init(&d->draft);
    flow__location__init(&d->location);
    flow__pricing__init(&d->pricing);
    d->draft.title = (char *) title;
    d->draft.description = "Live music in the cellar";
    d->draft.category = FLOW__CATEGORY__CATEGORY_MUSIC;
    d->tags[0] = "Jazz";
    d->tags[1] = "live";
    d->draft.tags = d->tags;
    d->draft.n_tags = 2;
    int64_t now = time(NULL);
    d->draft.start_s = now + days * 86400;
    d->draft.end_s = d->draft.start_s + 3 * 3600;
    d->draft.time_zone = "Europe/Berlin";
    d->location.lat = lat;
    d->location.lon = lon;
    d->location.venue = "Keller";
    d->draft.location = &d->location;
    d->pricing.type = FLOW__PRICE_TYPE__PRICE_FREE;
    d->draft.pricing = &d->pricing;
    d->draft.capacity = capacity;
}

static flow_status_t
s_create(flow_t *flow, const s_user_t *u, const Flow__EventDraft *draft, char *id)
{
    Flow__CreateEventRequest body = FLOW__CREATE_EVENT_REQUEST__INIT;
    body.event = (Flow__EventDraft *) draft;
    Flow__Request req = FLOW__REQUEST__INIT;
    req.body_case = FLOW__REQUEST__BODY_CREATE_EVENT;
    req.create_event = &body;
    Flow__Reply *reply = NULL;
    flow_status_t st = fl_call(flow, u->token, &req, &reply);
    if (st == FLOW_OK && id)
        snprintf(id, ID_MAX, "%s", reply->event->id);
    if (reply)
        flow__reply__free_unpacked(reply, NULL);
    return st;
}

static flow_status_t
s_get(flow_t *flow, const s_user_t *u, const char *id, Flow__Event **out)
{
    Flow__GetEventRequest body = FLOW__GET_EVENT_REQUEST__INIT;
    body.id = (char *) id;
    Flow__Request req = FLOW__REQUEST__INIT;
    req.body_case = FLOW__REQUEST__BODY_GET_EVENT;
    req.get_event = &body;
    Flow__Reply *reply = NULL;
    flow_status_t st = fl_call(flow, u->token, &req, &reply);
    if (out)
        *out = NULL;
    if (st == FLOW_OK && out) {
        *out = reply->event;
        reply->event = NULL;
        reply->body_case = FLOW__REPLY__BODY__NOT_SET;
    }
    if (reply)
        flow__reply__free_unpacked(reply, NULL);
    return st;
}

static flow_status_t
s_rsvp(flow_t *flow, const s_user_t *u, const char *id, Flow__RsvpState state,
       Flow__RsvpState *got, uint32_t *position)
{
    Flow__RsvpRequest body = FLOW__RSVP_REQUEST__INIT;
    body.event_id = (char *) id;
    body.state = state;
    Flow__Request req = FLOW__REQUEST__INIT;
    req.body_case = FLOW__REQUEST__BODY_RSVP;
    req.rsvp = &body;
    Flow__Reply *reply = NULL;
    flow_status_t st = fl_call(flow, u->token, &req, &reply);
    if (st == FLOW_OK) {
        if (got)
            *got = reply->rsvp->state;
        if (position)
            *position = reply->rsvp->waitlist_position;
    }
    if (reply)
        flow__reply__free_unpacked(reply, NULL);
    return st;
}

/*  Runs a nearby search; returns the number of hits and whether ID is
 *  among them.  */
static size_t
s_nearby(flow_t *flow, const s_user_t *u, Flow__NearbyRequest *q, const char *id, bool *found)
{
    Flow__Request req = FLOW__REQUEST__INIT;
    req.body_case = FLOW__REQUEST__BODY_NEARBY;
    req.nearby = q;
    Flow__Reply *reply = NULL;
    FL_EXPECT(fl_call(flow, u->token, &req, &reply), FLOW_OK, "");
    size_t n = reply->nearby->n_hits;
    *found = false;
    for (size_t i = 0; i < n; i++)
        *found |= id && strcmp(reply->nearby->hits[i]->event->id, id) == 0;
    flow__reply__free_unpacked(reply, NULL);
    return n;
}

static void
s_near(Flow__NearbyRequest *q, double lat, double lon, uint32_t radius_m)
{
    flow__nearby_request__init(q);
    q->lat = lat;
    q->lon = lon;
    q->radius_m = radius_m;
}

FL_TEST(created_event_reads_back_with_its_organizer)
{
    fl_proc_t node;
    s_start(&node, NULL);
    flow_t *flow = flow_new(node.client);
    s_user_t ann;
    s_sign_up(flow, "ann@example.com", &ann);
    s_draft_t d;
    s_draft(&d, "Jazz night", 52.52, 13.405, 2, 100);
    char id[ID_MAX];
    FL_EXPECT(s_create(flow, &ann, &d.draft, id), FLOW_OK, "");
    FL_CHECK_INT(strlen(id), ==, 16);
    Flow__Event *ev = NULL;
    FL_EXPECT(s_get(flow, &ann, id, &ev), FLOW_OK, "");
    FL_CHECK_STR(ev->title, "Jazz night");
    FL_CHECK_STR(ev->organizer->user_id, ann.user_id);
    FL_CHECK_INT(ev->version, ==, 1);
    FL_CHECK_INT(ev->status, ==, FLOW__EVENT_STATUS__EVENT_SCHEDULED);
    FL_CHECK_INT(ev->capacity, ==, 100);
    FL_CHECK_INT(ev->n_tags, ==, 2);
    FL_CHECK_STR(ev->tags[0], "jazz");
    FL_CHECK_STR(ev->time_zone, "Europe/Berlin");
    flow__event__free_unpacked(ev, NULL);
    flow_destroy(&flow);
    FL_CHECK_INT(fl_node_stop(&node, SIGTERM), ==, 0);
}

FL_TEST(only_the_organizer_may_update_and_updates_bump_the_version)
{
    fl_proc_t node;
    s_start(&node, NULL);
    flow_t *flow = flow_new(node.client);
    s_user_t ann, bob;
    s_sign_up(flow, "ann@example.com", &ann);
    s_sign_up(flow, "bob@example.com", &bob);
    s_draft_t d;
    s_draft(&d, "Jazz night", 52.52, 13.405, 2, 100);
    char id[ID_MAX];
    FL_EXPECT(s_create(flow, &ann, &d.draft, id), FLOW_OK, "");
    Flow__EventDraft changes = FLOW__EVENT_DRAFT__INIT;
    changes.title = "Jazz & blues night";
    char *fields[] = { "title" };
    Flow__UpdateEventRequest body = FLOW__UPDATE_EVENT_REQUEST__INIT;
    body.id = id;
    body.event = &changes;
    body.fields = fields;
    body.n_fields = 1;
    Flow__Request req = FLOW__REQUEST__INIT;
    req.body_case = FLOW__REQUEST__BODY_UPDATE_EVENT;
    req.update_event = &body;
    FL_EXPECT(fl_call(flow, bob.token, &req, NULL), FLOW_PERMISSION_DENIED, "only the organizer");
    req.id = 0;
    FL_EXPECT(fl_call(flow, ann.token, &req, NULL), FLOW_OK, "");
    body.if_version = 1;
    req.id = 0;
    FL_EXPECT(fl_call(flow, ann.token, &req, NULL), FLOW_FAILED_PRECONDITION, "if_version");
    Flow__Event *ev = NULL;
    FL_EXPECT(s_get(flow, bob.token[0] ? &bob : &ann, id, &ev), FLOW_OK, "");
    FL_CHECK_STR(ev->title, "Jazz & blues night");
    FL_CHECK_INT(ev->version, ==, 2);
    FL_CHECK_STR(ev->description, "Live music in the cellar");
    flow__event__free_unpacked(ev, NULL);
    flow_destroy(&flow);
    FL_CHECK_INT(fl_node_stop(&node, SIGTERM), ==, 0);
}

FL_TEST(nearby_finds_events_in_the_radius_with_their_distance)
{
    fl_proc_t node;
    s_start(&node, NULL);
    flow_t *flow = flow_new(node.client);
    s_user_t ann;
    s_sign_up(flow, "ann@example.com", &ann);
    s_draft_t d;
    char mitte[ID_MAX], potsdam[ID_MAX];
    s_draft(&d, "Jazz in Mitte", 52.5200, 13.4050, 1, 0);
    FL_EXPECT(s_create(flow, &ann, &d.draft, mitte), FLOW_OK, "");
    s_draft(&d, "Jazz in Potsdam", 52.3906, 13.0645, 1, 0);
    FL_EXPECT(s_create(flow, &ann, &d.draft, potsdam), FLOW_OK, "");
    Flow__NearbyRequest q;
    s_near(&q, 52.5219, 13.4132, 5000);
    bool found;
    FL_CHECK_INT(s_nearby(flow, &ann, &q, mitte, &found), ==, 1);
    FL_CHECK(found);
    s_near(&q, 52.5219, 13.4132, 50000);
    FL_CHECK_INT(s_nearby(flow, &ann, &q, potsdam, &found), ==, 2);
    FL_CHECK(found);
    q.text = "potsd";
    FL_CHECK_INT(s_nearby(flow, &ann, &q, potsdam, &found), ==, 1);
    FL_CHECK(found);
    q.text = "";
    Flow__Category other = FLOW__CATEGORY__CATEGORY_SPORTS;
    q.categories = &other;
    q.n_categories = 1;
    FL_CHECK_INT(s_nearby(flow, &ann, &q, NULL, &found), ==, 0);
    flow_destroy(&flow);
    FL_CHECK_INT(fl_node_stop(&node, SIGTERM), ==, 0);
}

FL_TEST(cancelled_event_leaves_search_at_once)
{
    fl_proc_t node;
    s_start(&node, NULL);
    flow_t *flow = flow_new(node.client);
    s_user_t ann;
    s_sign_up(flow, "ann@example.com", &ann);
    s_draft_t d;
    s_draft(&d, "Jazz night", 52.52, 13.405, 1, 0);
    char id[ID_MAX];
    FL_EXPECT(s_create(flow, &ann, &d.draft, id), FLOW_OK, "");
    Flow__CancelEventRequest body = FLOW__CANCEL_EVENT_REQUEST__INIT;
    body.id = id;
    Flow__Request req = FLOW__REQUEST__INIT;
    req.body_case = FLOW__REQUEST__BODY_CANCEL_EVENT;
    req.cancel_event = &body;
    FL_EXPECT(fl_call(flow, ann.token, &req, NULL), FLOW_OK, "");
    Flow__NearbyRequest q;
    s_near(&q, 52.52, 13.405, 1000);
    bool found;
    FL_CHECK_INT(s_nearby(flow, &ann, &q, id, &found), ==, 0);
    Flow__Event *ev = NULL;
    FL_EXPECT(s_get(flow, &ann, id, &ev), FLOW_OK, "");
    FL_CHECK_INT(ev->status, ==, FLOW__EVENT_STATUS__EVENT_CANCELLED);
    flow__event__free_unpacked(ev, NULL);
    FL_EXPECT(s_rsvp(flow, &ann, id, FLOW__RSVP_STATE__RSVP_GOING, NULL, NULL),
             FLOW_FAILED_PRECONDITION, "event: cancelled");
    flow_destroy(&flow);
    FL_CHECK_INT(fl_node_stop(&node, SIGTERM), ==, 0);
}

FL_TEST(private_event_is_seen_only_by_organizer_and_invited)
{
    fl_proc_t node;
    s_start(&node, NULL);
    flow_t *flow = flow_new(node.client);
    s_user_t ann, bob, eve;
    s_sign_up(flow, "ann@example.com", &ann);
    s_sign_up(flow, "bob@example.com", &bob);
    s_sign_up(flow, "eve@example.com", &eve);
    s_draft_t d;
    s_draft(&d, "Secret gig", 52.52, 13.405, 1, 10);
    d.draft.visibility = FLOW__EVENT_VISIBILITY__EVENT_PRIVATE;
    char id[ID_MAX];
    FL_EXPECT(s_create(flow, &ann, &d.draft, id), FLOW_OK, "");
    FL_EXPECT(s_get(flow, &eve, id, NULL), FLOW_NOT_FOUND, "event: no such event");
    FL_EXPECT(s_rsvp(flow, &eve, id, FLOW__RSVP_STATE__RSVP_GOING, NULL, NULL), FLOW_NOT_FOUND,
             "event: no such event");
    Flow__NearbyRequest q;
    s_near(&q, 52.52, 13.405, 1000);
    bool found;
    FL_CHECK_INT(s_nearby(flow, &eve, &q, id, &found), ==, 0);
    char *users[] = { bob.user_id };
    Flow__InviteRequest inv = FLOW__INVITE_REQUEST__INIT;
    inv.event_id = id;
    inv.user_ids = users;
    inv.n_user_ids = 1;
    Flow__Request req = FLOW__REQUEST__INIT;
    req.body_case = FLOW__REQUEST__BODY_INVITE;
    req.invite = &inv;
    FL_EXPECT(fl_call(flow, ann.token, &req, NULL), FLOW_OK, "");
    FL_EXPECT(s_get(flow, &bob, id, NULL), FLOW_OK, "");
    FL_EXPECT(s_rsvp(flow, &bob, id, FLOW__RSVP_STATE__RSVP_GOING, NULL, NULL), FLOW_OK, "");
    FL_EXPECT(s_get(flow, &eve, id, NULL), FLOW_NOT_FOUND, "event: no such event");
    flow_destroy(&flow);
    FL_CHECK_INT(fl_node_stop(&node, SIGTERM), ==, 0);
}

FL_TEST(full_event_waitlists_in_order_and_promotes_on_withdrawal)
{
    fl_proc_t node;
    s_start(&node, NULL);
    flow_t *flow = flow_new(node.client);
    s_user_t org, a, b, c;
    s_sign_up(flow, "org@example.com", &org);
    s_sign_up(flow, "a@example.com", &a);
    s_sign_up(flow, "b@example.com", &b);
    s_sign_up(flow, "c@example.com", &c);
    s_draft_t d;
    s_draft(&d, "Tiny gig", 52.52, 13.405, 1, 1);
    char id[ID_MAX];
    FL_EXPECT(s_create(flow, &org, &d.draft, id), FLOW_OK, "");
    Flow__RsvpState st = FLOW__RSVP_STATE__RSVP_NONE;
    uint32_t pos = 0;
    FL_EXPECT(s_rsvp(flow, &a, id, FLOW__RSVP_STATE__RSVP_GOING, &st, &pos), FLOW_OK, "");
    FL_CHECK_INT(st, ==, FLOW__RSVP_STATE__RSVP_GOING);
    FL_EXPECT(s_rsvp(flow, &b, id, FLOW__RSVP_STATE__RSVP_GOING, &st, &pos), FLOW_OK, "");
    FL_CHECK_INT(st, ==, FLOW__RSVP_STATE__RSVP_WAITLISTED);
    FL_CHECK_INT(pos, ==, 1);
    FL_EXPECT(s_rsvp(flow, &c, id, FLOW__RSVP_STATE__RSVP_GOING, &st, &pos), FLOW_OK, "");
    FL_CHECK_INT(st, ==, FLOW__RSVP_STATE__RSVP_WAITLISTED);
    FL_CHECK_INT(pos, ==, 2);
    FL_EXPECT(s_rsvp(flow, &a, id, FLOW__RSVP_STATE__RSVP_NONE, &st, NULL), FLOW_OK, "");
    Flow__Event *ev = NULL;
    FL_EXPECT(s_get(flow, &b, id, &ev), FLOW_OK, "");
    FL_CHECK_INT(ev->my_rsvp, ==, FLOW__RSVP_STATE__RSVP_GOING);
    FL_CHECK_INT(ev->going, ==, 1);
    FL_CHECK_INT(ev->waitlisted, ==, 1);
    flow__event__free_unpacked(ev, NULL);
    FL_EXPECT(s_get(flow, &c, id, &ev), FLOW_OK, "");
    FL_CHECK_INT(ev->my_rsvp, ==, FLOW__RSVP_STATE__RSVP_WAITLISTED);
    FL_CHECK_INT(ev->my_waitlist_position, ==, 1);
    flow__event__free_unpacked(ev, NULL);
    flow_destroy(&flow);
    FL_CHECK_INT(fl_node_stop(&node, SIGTERM), ==, 0);
}

FL_TEST(raising_the_capacity_admits_the_head_of_the_waitlist)
{
    fl_proc_t node;
    s_start(&node, NULL);
    flow_t *flow = flow_new(node.client);
    s_user_t org, a, b, c;
    s_sign_up(flow, "org@example.com", &org);
    s_sign_up(flow, "a@example.com", &a);
    s_sign_up(flow, "b@example.com", &b);
    s_sign_up(flow, "c@example.com", &c);
    s_draft_t d;
    s_draft(&d, "Tiny gig", 52.52, 13.405, 1, 1);
    char id[ID_MAX];
    FL_EXPECT(s_create(flow, &org, &d.draft, id), FLOW_OK, "");
    FL_EXPECT(s_rsvp(flow, &a, id, FLOW__RSVP_STATE__RSVP_GOING, NULL, NULL), FLOW_OK, "");
    FL_EXPECT(s_rsvp(flow, &b, id, FLOW__RSVP_STATE__RSVP_GOING, NULL, NULL), FLOW_OK, "");
    FL_EXPECT(s_rsvp(flow, &c, id, FLOW__RSVP_STATE__RSVP_GOING, NULL, NULL), FLOW_OK, "");
    Flow__EventDraft changes = FLOW__EVENT_DRAFT__INIT;
    changes.capacity = 2;
    char *fields[] = { "capacity" };
    Flow__UpdateEventRequest body = FLOW__UPDATE_EVENT_REQUEST__INIT;
    body.id = id;
    body.event = &changes;
    body.fields = fields;
    body.n_fields = 1;
    Flow__Request req = FLOW__REQUEST__INIT;
    req.body_case = FLOW__REQUEST__BODY_UPDATE_EVENT;
    req.update_event = &body;
    FL_EXPECT(fl_call(flow, org.token, &req, NULL), FLOW_OK, "");
    Flow__Event *ev = NULL;
    FL_EXPECT(s_get(flow, &b, id, &ev), FLOW_OK, "");
    FL_CHECK_INT(ev->my_rsvp, ==, FLOW__RSVP_STATE__RSVP_GOING);
    FL_CHECK_INT(ev->going, ==, 2);
    FL_CHECK_INT(ev->waitlisted, ==, 1);
    flow__event__free_unpacked(ev, NULL);
    FL_EXPECT(s_get(flow, &c, id, &ev), FLOW_OK, "");
    FL_CHECK_INT(ev->my_rsvp, ==, FLOW__RSVP_STATE__RSVP_WAITLISTED);
    FL_CHECK_INT(ev->my_waitlist_position, ==, 1);
    flow__event__free_unpacked(ev, NULL);
    flow_destroy(&flow);
    FL_CHECK_INT(fl_node_stop(&node, SIGTERM), ==, 0);
}

FL_TEST(waitlist_cursor_past_the_last_sequence_is_an_empty_page)
{
    fl_proc_t node;
    s_start(&node, NULL);
    flow_t *flow = flow_new(node.client);
    s_user_t org, a, b;
    s_sign_up(flow, "org@example.com", &org);
    s_sign_up(flow, "a@example.com", &a);
    s_sign_up(flow, "b@example.com", &b);
    s_draft_t d;
    s_draft(&d, "Tiny gig", 52.52, 13.405, 1, 1);
    char id[ID_MAX];
    FL_EXPECT(s_create(flow, &org, &d.draft, id), FLOW_OK, "");
    FL_EXPECT(s_rsvp(flow, &a, id, FLOW__RSVP_STATE__RSVP_GOING, NULL, NULL), FLOW_OK, "");
    FL_EXPECT(s_rsvp(flow, &b, id, FLOW__RSVP_STATE__RSVP_GOING, NULL, NULL), FLOW_OK, "");
    Flow__AttendeesRequest body = FLOW__ATTENDEES_REQUEST__INIT;
    body.event_id = id;
    body.state = FLOW__RSVP_STATE__RSVP_WAITLISTED;
    Flow__Request req = FLOW__REQUEST__INIT;
    req.body_case = FLOW__REQUEST__BODY_ATTENDEES;
    req.attendees = &body;
    Flow__Reply *reply = NULL;
    FL_EXPECT(fl_call(flow, org.token, &req, &reply), FLOW_OK, "");
    FL_CHECK_INT(reply->attendees->n_attendees, ==, 1);
    FL_CHECK_INT(reply->attendees->attendees[0]->waitlist_position, ==, 1);
    flow__reply__free_unpacked(reply, NULL);
    body.cursor = "ffffffffffffffff";
    req.id = 0;
    FL_EXPECT(fl_call(flow, org.token, &req, &reply), FLOW_OK, "");
    FL_CHECK_INT(reply->attendees->n_attendees, ==, 0);
    flow__reply__free_unpacked(reply, NULL);
    flow_destroy(&flow);
    FL_CHECK_INT(fl_node_stop(&node, SIGTERM), ==, 0);
}

FL_TEST(cancelled_event_takes_no_invitations)
{
    fl_proc_t node;
    s_start(&node, NULL);
    flow_t *flow = flow_new(node.client);
    s_user_t org, a;
    s_sign_up(flow, "org@example.com", &org);
    s_sign_up(flow, "a@example.com", &a);
    s_draft_t d;
    s_draft(&d, "Gig", 52.52, 13.405, 1, 0);
    char id[ID_MAX];
    FL_EXPECT(s_create(flow, &org, &d.draft, id), FLOW_OK, "");
    Flow__CancelEventRequest cancel = FLOW__CANCEL_EVENT_REQUEST__INIT;
    cancel.id = id;
    Flow__Request req = FLOW__REQUEST__INIT;
    req.body_case = FLOW__REQUEST__BODY_CANCEL_EVENT;
    req.cancel_event = &cancel;
    FL_EXPECT(fl_call(flow, org.token, &req, NULL), FLOW_OK, "");
    char *users[] = { a.user_id };
    Flow__InviteRequest inv = FLOW__INVITE_REQUEST__INIT;
    inv.event_id = id;
    inv.user_ids = users;
    inv.n_user_ids = 1;
    Flow__Request ireq = FLOW__REQUEST__INIT;
    ireq.body_case = FLOW__REQUEST__BODY_INVITE;
    ireq.invite = &inv;
    FL_EXPECT(fl_call(flow, org.token, &ireq, NULL), FLOW_FAILED_PRECONDITION, "event: cancelled");
    flow_destroy(&flow);
    FL_CHECK_INT(fl_node_stop(&node, SIGTERM), ==, 0);
}

/*  Many clients on their own connections race for the last seats: the
 *  event actor, the single writer of the event, admits exactly capacity. */
FL_TEST(racing_clients_never_exceed_capacity)
{
    fl_proc_t node;
    s_start(&node, NULL);
    flow_t *flow = flow_new(node.client);
    enum { CLIENTS = 12, CAPACITY = 5 };
    s_user_t org, users[CLIENTS];
    s_sign_up(flow, "org@example.com", &org);
    for (int i = 0; i < CLIENTS; i++) {
        char email[64];
        snprintf(email, sizeof email, "racer%d@example.com", i);
        s_sign_up(flow, email, &users[i]);
    }
    s_draft_t d;
    s_draft(&d, "Last seats", 52.52, 13.405, 1, CAPACITY);
    char id[ID_MAX];
    FL_EXPECT(s_create(flow, &org, &d.draft, id), FLOW_OK, "");
    pid_t pids[CLIENTS];
    for (int i = 0; i < CLIENTS; i++) {
        pids[i] = fork();
        FL_CHECK(pids[i] >= 0);
        if (pids[i] == 0) {
            flow_t *mine = flow_new(node.client);
            Flow__RsvpState st = FLOW__RSVP_STATE__RSVP_NONE;
            flow_status_t rc = s_rsvp(mine, &users[i], id, FLOW__RSVP_STATE__RSVP_GOING, &st, NULL);
            flow_destroy(&mine);
            _exit(rc != FLOW_OK ? 100 : (int) st);
        }
    }
    int going = 0, waitlisted = 0;
    for (int i = 0; i < CLIENTS; i++) {
        int status = 0;
        FL_CHECK(waitpid(pids[i], &status, 0) == pids[i]);
        FL_CHECK(WIFEXITED(status));
        going += WEXITSTATUS(status) == FLOW__RSVP_STATE__RSVP_GOING;
        waitlisted += WEXITSTATUS(status) == FLOW__RSVP_STATE__RSVP_WAITLISTED;
    }
    FL_CHECK_INT(going, ==, CAPACITY);
    FL_CHECK_INT(waitlisted, ==, CLIENTS - CAPACITY);
    Flow__Event *ev = NULL;
    FL_EXPECT(s_get(flow, &org, id, &ev), FLOW_OK, "");
    FL_CHECK_INT(ev->going, ==, CAPACITY);
    FL_CHECK_INT(ev->waitlisted, ==, CLIENTS - CAPACITY);
    flow__event__free_unpacked(ev, NULL);
    flow_destroy(&flow);
    FL_CHECK_INT(fl_node_stop(&node, SIGTERM), ==, 0);
}

FL_TEST(events_and_search_survive_a_restart)
{
    fl_proc_t node;
    s_start(&node, NULL);
    flow_t *flow = flow_new(node.client);
    s_user_t ann;
    s_sign_up(flow, "ann@example.com", &ann);
    s_draft_t d;
    s_draft(&d, "Jazz night", 52.52, 13.405, 1, 0);
    char id[ID_MAX], data[512];
    FL_EXPECT(s_create(flow, &ann, &d.draft, id), FLOW_OK, "");
    flow_destroy(&flow);
    snprintf(data, sizeof data, "%s", node.data);
    FL_CHECK_INT(fl_node_stop(&node, SIGKILL), ==, 128 + SIGKILL);
    s_start(&node, data);
    flow = flow_new(node.client);
    Flow__NearbyRequest q;
    s_near(&q, 52.52, 13.405, 1000);
    bool found;
    FL_CHECK_INT(s_nearby(flow, &ann, &q, id, &found), ==, 1);
    FL_CHECK(found);
    flow_destroy(&flow);
    FL_CHECK_INT(fl_node_stop(&node, SIGTERM), ==, 0);
}

FL_TEST(bad_events_are_refused_naming_the_field_and_nothing_is_stored)
{
    fl_proc_t node;
    s_start(&node, NULL);
    flow_t *flow = flow_new(node.client);
    s_user_t ann;
    s_sign_up(flow, "ann@example.com", &ann);
    s_draft_t d;
    s_draft(&d, "Bad", 52.52, 13.405, 1, 0);
    d.draft.end_s = d.draft.start_s - 60;
    FL_EXPECT(s_create(flow, &ann, &d.draft, NULL), FLOW_INVALID_ARGUMENT, "end_s");
    s_draft(&d, "Bad", 52.52, 13.405, 1, 0);
    d.draft.time_zone = "Mars/Olympus";
    FL_EXPECT(s_create(flow, &ann, &d.draft, NULL), FLOW_INVALID_ARGUMENT, "time_zone");
    s_draft(&d, "Bad", 95, 13.405, 1, 0);
    FL_EXPECT(s_create(flow, &ann, &d.draft, NULL), FLOW_INVALID_ARGUMENT, "location.lat");
    s_draft(&d, "Bad", 52.52, 13.405, 1, (uint32_t) -1);
    FL_EXPECT(s_create(flow, &ann, &d.draft, NULL), FLOW_INVALID_ARGUMENT, "capacity");
    s_draft(&d, "Bad", 52.52, 13.405, 1, 0);
    d.draft.category = 77;
    FL_EXPECT(s_create(flow, &ann, &d.draft, NULL), FLOW_INVALID_ARGUMENT, "category");
    s_draft(&d, "Bad", 52.52, 13.405, 1, 0);
    d.pricing.type = FLOW__PRICE_TYPE__PRICE_PAID;
    d.pricing.amount_minor = 1500;
    d.pricing.currency = "XXY";
    FL_EXPECT(s_create(flow, &ann, &d.draft, NULL), FLOW_INVALID_ARGUMENT, "pricing.currency");
    s_draft(&d, "Bad", 52.52, 13.405, 1, 0);
    d.pricing.amount_minor = (uint64_t) -500;
    FL_EXPECT(s_create(flow, &ann, &d.draft, NULL), FLOW_INVALID_ARGUMENT, "pricing.amount_minor");
    char long_title[400];
    memset(long_title, 'x', sizeof long_title - 1);
    long_title[sizeof long_title - 1] = '\0';
    s_draft(&d, long_title, 52.52, 13.405, 1, 0);
    FL_EXPECT(s_create(flow, &ann, &d.draft, NULL), FLOW_INVALID_ARGUMENT, "title");
    s_draft(&d, "Bad \xc3\x28 title", 52.52, 13.405, 1, 0);
    FL_EXPECT(s_create(flow, &ann, &d.draft, NULL), FLOW_INVALID_ARGUMENT, "title");

    Flow__NearbyRequest q;
    s_near(&q, 52.52, 13.405, 200001);
    Flow__Request req = FLOW__REQUEST__INIT;
    req.body_case = FLOW__REQUEST__BODY_NEARBY;
    req.nearby = &q;
    FL_EXPECT(fl_call(flow, ann.token, &req, NULL), FLOW_INVALID_ARGUMENT, "radius_m");
    s_near(&q, 52.52, 13.405, 1000);
    q.cursor = "not-a-cursor";
    req.id = 0;
    FL_EXPECT(fl_call(flow, ann.token, &req, NULL), FLOW_INVALID_ARGUMENT, "cursor");
    s_near(&q, 52.52, 13.405, 1000);
    q.when = "yesterday";
    req.id = 0;
    FL_EXPECT(fl_call(flow, ann.token, &req, NULL), FLOW_INVALID_ARGUMENT, "when");

    s_near(&q, 52.52, 13.405, 200000);
    bool found;
    FL_CHECK_INT(s_nearby(flow, &ann, &q, NULL, &found), ==, 0);
    flow_destroy(&flow);
    FL_CHECK_INT(fl_node_stop(&node, SIGTERM), ==, 0);
}

/*  ------------------------------------------------------------------
 *  Check-in, attendee ratings and reviews  */

/*  An event of ANN's that started START_AGO_S seconds ago (negative: in
 *  the future) and ends in an hour, with BOB going.  */
static void
s_running_event(flow_t *flow, const s_user_t *ann, const s_user_t *bob, int64_t start_ago_s,
                char *id)
{
    s_draft_t d;
    s_draft(&d, "Session", 52.52, 13.405, 0, 0);
    int64_t now = time(NULL);
    d.draft.start_s = now - start_ago_s;
    d.draft.end_s = now + 3600;
    FL_EXPECT(s_create(flow, ann, &d.draft, id), FLOW_OK, "");
    FL_EXPECT(s_rsvp(flow, bob, id, FLOW__RSVP_STATE__RSVP_GOING, NULL, NULL), FLOW_OK, "");
}

static flow_status_t
s_check_in(flow_t *flow, const s_user_t *u, const char *id, const char *user)
{
    Flow__CheckInRequest body = FLOW__CHECK_IN_REQUEST__INIT;
    body.event_id = (char *) id;
    body.user_id = (char *) user;
    Flow__Request req = FLOW__REQUEST__INIT;
    req.body_case = FLOW__REQUEST__BODY_CHECK_IN;
    req.check_in = &body;
    return fl_call(flow, u->token, &req, NULL);
}

static flow_status_t
s_rate(flow_t *flow, const s_user_t *u, const char *id, const char *user, uint32_t stars)
{
    Flow__RateAttendeeRequest body = FLOW__RATE_ATTENDEE_REQUEST__INIT;
    body.event_id = (char *) id;
    body.user_id = (char *) user;
    body.stars = stars;
    Flow__Request req = FLOW__REQUEST__INIT;
    req.body_case = FLOW__REQUEST__BODY_RATE_ATTENDEE;
    req.rate_attendee = &body;
    return fl_call(flow, u->token, &req, NULL);
}

static flow_status_t
s_review(flow_t *flow, const s_user_t *u, const char *id, uint32_t stars, const char *text)
{
    Flow__ReviewRequest body = FLOW__REVIEW_REQUEST__INIT;
    body.event_id = (char *) id;
    body.stars = stars;
    body.text = (char *) text;
    Flow__Request req = FLOW__REQUEST__INIT;
    req.body_case = FLOW__REQUEST__BODY_REVIEW;
    req.review = &body;
    return fl_call(flow, u->token, &req, NULL);
}

FL_TEST(check_in_is_for_the_organizer_and_going_users_only)
{
    fl_proc_t node;
    s_start(&node, NULL);
    flow_t *flow = flow_new(node.client);
    s_user_t ann, bob, cat;
    s_sign_up(flow, "ann@example.com", &ann);
    s_sign_up(flow, "bob@example.com", &bob);
    s_sign_up(flow, "cat@example.com", &cat);
    char id[ID_MAX];
    s_running_event(flow, &ann, &bob, -60, id);
    FL_EXPECT(s_check_in(flow, &bob, id, bob.user_id), FLOW_PERMISSION_DENIED, "only");
    FL_EXPECT(s_check_in(flow, &ann, id, cat.user_id), FLOW_FAILED_PRECONDITION,
              "check-in: the user is not going");
    FL_EXPECT(s_check_in(flow, &ann, id, bob.user_id), FLOW_OK, "");
    FL_EXPECT(s_check_in(flow, &ann, id, bob.user_id), FLOW_OK, "");
    FL_EXPECT(s_check_in(flow, &ann, id, "nobody"), FLOW_INVALID_ARGUMENT, "user_id");

    s_draft_t d;
    s_draft(&d, "Later", 52.52, 13.405, 1, 0);
    char later[ID_MAX];
    FL_EXPECT(s_create(flow, &ann, &d.draft, later), FLOW_OK, "");
    FL_EXPECT(s_rsvp(flow, &bob, later, FLOW__RSVP_STATE__RSVP_GOING, NULL, NULL), FLOW_OK, "");
    FL_EXPECT(s_check_in(flow, &ann, later, bob.user_id), FLOW_FAILED_PRECONDITION,
              "check-in: opens 2 hours before the start");
    flow_destroy(&flow);
    FL_CHECK_INT(fl_node_stop(&node, SIGTERM), ==, 0);
}

FL_TEST(reviews_need_a_check_in_and_keep_the_event_rating_current)
{
    fl_proc_t node;
    s_start(&node, NULL);
    flow_t *flow = flow_new(node.client);
    s_user_t ann, bob, cat;
    s_sign_up(flow, "ann@example.com", &ann);
    s_sign_up(flow, "bob@example.com", &bob);
    s_sign_up(flow, "cat@example.com", &cat);
    char id[ID_MAX];
    s_running_event(flow, &ann, &bob, 60, id);
    FL_EXPECT(s_rsvp(flow, &cat, id, FLOW__RSVP_STATE__RSVP_GOING, NULL, NULL), FLOW_OK, "");
    FL_EXPECT(s_review(flow, &bob, id, 4, "Lovely"), FLOW_FAILED_PRECONDITION,
              "review: only checked-in attendees may review");
    FL_EXPECT(s_check_in(flow, &ann, id, bob.user_id), FLOW_OK, "");
    FL_EXPECT(s_check_in(flow, &ann, id, cat.user_id), FLOW_OK, "");
    FL_EXPECT(s_review(flow, &bob, id, 0, ""), FLOW_INVALID_ARGUMENT, "stars");
    FL_EXPECT(s_review(flow, &bob, id, 6, ""), FLOW_INVALID_ARGUMENT, "stars");
    FL_EXPECT(s_review(flow, &bob, id, 4, "Lovely"), FLOW_OK, "");
    FL_EXPECT(s_review(flow, &cat, id, 5, "Great\nband"), FLOW_OK, "");
    FL_EXPECT(s_review(flow, &bob, id, 2, "Too loud, on reflection"), FLOW_OK, "");

    Flow__Event *ev = NULL;
    FL_EXPECT(s_get(flow, &ann, id, &ev), FLOW_OK, "");
    FL_CHECK_INT(ev->reviews, ==, 2);
    FL_CHECK(fabs(ev->rating - 3.5) < 1e-9);
    flow__event__free_unpacked(ev, NULL);

    Flow__ReviewsRequest body = FLOW__REVIEWS_REQUEST__INIT;
    body.event_id = id;
    body.limit = 1;
    Flow__Request req = FLOW__REQUEST__INIT;
    req.body_case = FLOW__REQUEST__BODY_REVIEWS;
    req.reviews = &body;
    Flow__Reply *reply = NULL;
    FL_EXPECT(fl_call(flow, ann.token, &req, &reply), FLOW_OK, "");
    FL_CHECK_INT(reply->reviews->n_reviews, ==, 1);
    char first[ID_MAX];
    snprintf(first, sizeof first, "%s", reply->reviews->reviews[0]->user_id);
    FL_CHECK(reply->reviews->next_cursor[0] != '\0');
    body.cursor = reply->reviews->next_cursor;
    Flow__Reply *next = NULL;
    req.id = 0;
    FL_EXPECT(fl_call(flow, ann.token, &req, &next), FLOW_OK, "");
    FL_CHECK_INT(next->reviews->n_reviews, ==, 1);
    FL_CHECK(strcmp(next->reviews->reviews[0]->user_id, first) > 0);
    FL_CHECK_STR(next->reviews->next_cursor, "");
    const Flow__Review *bobs = strcmp(first, bob.user_id) == 0 ? reply->reviews->reviews[0]
                                                               : next->reviews->reviews[0];
    FL_CHECK_INT(bobs->stars, ==, 2);
    FL_CHECK_STR(bobs->text, "Too loud, on reflection");
    flow__reply__free_unpacked(next, NULL);
    flow__reply__free_unpacked(reply, NULL);
    flow_destroy(&flow);
    FL_CHECK_INT(fl_node_stop(&node, SIGTERM), ==, 0);
}

FL_TEST(organizer_rates_checked_in_attendees_after_the_start)
{
    fl_proc_t node;
    s_start(&node, NULL);
    flow_t *flow = flow_new(node.client);
    s_user_t ann, bob, cat;
    s_sign_up(flow, "ann@example.com", &ann);
    s_sign_up(flow, "bob@example.com", &bob);
    s_sign_up(flow, "cat@example.com", &cat);
    char soon[ID_MAX], started[ID_MAX];
    s_running_event(flow, &ann, &bob, -60, soon);
    FL_EXPECT(s_check_in(flow, &ann, soon, bob.user_id), FLOW_OK, "");
    FL_EXPECT(s_rate(flow, &ann, soon, bob.user_id, 5), FLOW_FAILED_PRECONDITION,
              "rate_attendee: attendees are rated after the start");

    s_running_event(flow, &ann, &bob, 60, started);
    FL_EXPECT(s_rsvp(flow, &cat, started, FLOW__RSVP_STATE__RSVP_GOING, NULL, NULL), FLOW_OK, "");
    FL_EXPECT(s_rate(flow, &ann, started, bob.user_id, 5), FLOW_FAILED_PRECONDITION,
              "rate_attendee: the user was not checked in");
    FL_EXPECT(s_check_in(flow, &ann, started, bob.user_id), FLOW_OK, "");
    FL_EXPECT(s_rate(flow, &cat, started, bob.user_id, 5), FLOW_PERMISSION_DENIED, "only");
    FL_EXPECT(s_rate(flow, &ann, started, bob.user_id, 0), FLOW_INVALID_ARGUMENT, "stars");
    FL_EXPECT(s_rate(flow, &ann, started, bob.user_id, 6), FLOW_INVALID_ARGUMENT, "stars");
    FL_EXPECT(s_rate(flow, &ann, started, bob.user_id, 5), FLOW_OK, "");
    FL_EXPECT(s_rate(flow, &ann, started, bob.user_id, 3), FLOW_OK, "");
    flow_destroy(&flow);
    FL_CHECK_INT(fl_node_stop(&node, SIGTERM), ==, 0);
}
