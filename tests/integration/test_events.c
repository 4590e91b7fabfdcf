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

/*  U's update of event ID's title to TITLE, with REQUEST_KEY ("": none).  */
static flow_status_t
s_update_title(flow_t *flow, const s_user_t *u, const char *id, const char *title,
               const char *request_key)
{
    Flow__EventDraft changes = FLOW__EVENT_DRAFT__INIT;
    changes.title = (char *) title;
    char *fields[] = { "title" };
    Flow__UpdateEventRequest body = FLOW__UPDATE_EVENT_REQUEST__INIT;
    body.id = (char *) id;
    body.event = &changes;
    body.fields = fields;
    body.n_fields = 1;
    Flow__Request req = FLOW__REQUEST__INIT;
    req.body_case = FLOW__REQUEST__BODY_UPDATE_EVENT;
    req.update_event = &body;
    req.request_key = (char *) request_key;
    return fl_call(flow, u->token, &req, NULL);
}

/*  create_event with REQUEST_KEY by U; the new event's id into ID.  */
static flow_status_t
s_create_keyed(flow_t *flow, const s_user_t *u, const Flow__EventDraft *draft,
               const char *request_key, char *id)
{
    Flow__CreateEventRequest body = FLOW__CREATE_EVENT_REQUEST__INIT;
    body.event = (Flow__EventDraft *) draft;
    Flow__Request req = FLOW__REQUEST__INIT;
    req.body_case = FLOW__REQUEST__BODY_CREATE_EVENT;
    req.create_event = &body;
    req.request_key = (char *) request_key;
    Flow__Reply *reply = NULL;
    flow_status_t st = fl_call(flow, u->token, &req, &reply);
    id[0] = '\0';
    if (st == FLOW_OK)
        snprintf(id, ID_MAX, "%s", reply->event->id);
    if (reply)
        flow__reply__free_unpacked(reply, NULL);
    return st;
}

/*  A write sent again with its request key is applied once and answered
 *  as the first time, also after a restart; the key belongs to its user
 *  and its request; requests that carry credentials, and over-long keys,
 *  are refused by name.  */
FL_TEST(a_write_sent_again_with_its_request_key_is_applied_once)
{
    fl_proc_t node;
    s_start(&node, NULL);
    flow_t *flow = flow_new(node.client);
    s_user_t ann, bob;
    s_sign_up(flow, "ann@example.com", &ann);
    s_sign_up(flow, "bob@example.com", &bob);
    s_draft_t d;
    s_draft(&d, "Jazz night", 52.52, 13.405, 2, 100);
    char first[ID_MAX], again[ID_MAX], bobs[ID_MAX];
    FL_EXPECT(s_create_keyed(flow, &ann, &d.draft, "create-1", first), FLOW_OK, "");
    FL_EXPECT(s_create_keyed(flow, &ann, &d.draft, "create-1", again), FLOW_OK, "");
    FL_CHECK_STR(again, first);
    FL_EXPECT(s_create_keyed(flow, &bob, &d.draft, "create-1", bobs), FLOW_OK, "");
    FL_CHECK(strcmp(bobs, first) != 0);
    Flow__NearbyRequest q;
    s_near(&q, 52.52, 13.405, 1000);
    bool found = false;
    FL_CHECK_INT(s_nearby(flow, &ann, &q, first, &found), ==, 2);   /* ann's and bob's */
    FL_CHECK(found);

    /*  The same key for another request: refused, nothing made.  */
    s_draft_t other;
    s_draft(&other, "Blues night", 52.52, 13.405, 2, 100);
    FL_EXPECT(s_create_keyed(flow, &ann, &other.draft, "create-1", again),
              FLOW_INVALID_ARGUMENT, "request_key: already used for another request");
    FL_CHECK_INT(s_nearby(flow, &ann, &q, first, &found), ==, 2);

    /*  An update applied once: the version moves by one.  */
    for (int attempt = 0; attempt < 2; attempt++)
        FL_EXPECT(s_update_title(flow, &ann, first, "Jazz & blues night", "update-1"),
                  FLOW_OK, "");
    Flow__Event *ev = NULL;
    FL_EXPECT(s_get(flow, &ann, first, &ev), FLOW_OK, "");
    FL_CHECK_INT(ev->version, ==, 2);
    flow__event__free_unpacked(ev, NULL);

    /*  Kept across a restart.  */
    flow_destroy(&flow);
    FL_CHECK_INT(fl_node_stop(&node, SIGTERM), ==, 0);
    char data[sizeof node.data];
    snprintf(data, sizeof data, "%s", node.data);
    s_start(&node, data);
    flow = flow_new(node.client);
    FL_EXPECT(s_create_keyed(flow, &ann, &d.draft, "create-1", again), FLOW_OK, "");
    FL_CHECK_STR(again, first);
    FL_EXPECT(s_update_title(flow, &ann, first, "Jazz & blues night", "update-1"), FLOW_OK,
              "");
    FL_EXPECT(s_get(flow, &ann, first, &ev), FLOW_OK, "");
    FL_CHECK_INT(ev->version, ==, 2);
    flow__event__free_unpacked(ev, NULL);

    /*  Credentials are not kept for a key; a key has at most 64 bytes.  */
    Flow__LoginRequest login = FLOW__LOGIN_REQUEST__INIT;
    login.email = "ann@example.com";
    login.password = "correct horse battery";
    Flow__Request l = FLOW__REQUEST__INIT;
    l.body_case = FLOW__REQUEST__BODY_LOGIN;
    l.login = &login;
    l.request_key = "login-1";
    FL_EXPECT(fl_call(flow, NULL, &l, NULL), FLOW_INVALID_ARGUMENT,
              "request_key: login does not take one");
    char long_key[66];
    memset(long_key, 'k', 65);
    long_key[65] = '\0';
    FL_EXPECT(s_create_keyed(flow, &ann, &d.draft, long_key, again), FLOW_INVALID_ARGUMENT,
              "request_key: longer than 64 bytes");
    FL_CHECK_INT(s_nearby(flow, &ann, &q, first, &found), ==, 2);
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
    /*  A checked-in attendee's RSVP stays: the check-in hangs on it.  */
    FL_EXPECT(s_rsvp(flow, &bob, id, FLOW__RSVP_STATE__RSVP_NONE, NULL, NULL),
              FLOW_FAILED_PRECONDITION, "rsvp: you were checked in");
    FL_EXPECT(s_rsvp(flow, &bob, id, FLOW__RSVP_STATE__RSVP_INTERESTED, NULL, NULL),
              FLOW_FAILED_PRECONDITION, "rsvp: you were checked in");
    Flow__RsvpState still = FLOW__RSVP_STATE__RSVP_NONE;
    FL_EXPECT(s_rsvp(flow, &bob, id, FLOW__RSVP_STATE__RSVP_GOING, &still, NULL), FLOW_OK, "");
    FL_CHECK_INT(still, ==, FLOW__RSVP_STATE__RSVP_GOING);

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

/*  ------------------------------------------------------------------
 *  Standing, history and event topics: what the event actor tells the
 *  user actor arrives after the reply, so these read until it shows
 *  (bounded).  */

#define TOLD_WAIT_MS 10000

static Flow__Standing *
s_standing(flow_t *flow, const s_user_t *viewer, const char *user)
{
    Flow__GetProfileRequest body = FLOW__GET_PROFILE_REQUEST__INIT;
    body.user = (char *) user;
    Flow__Request req = FLOW__REQUEST__INIT;
    req.body_case = FLOW__REQUEST__BODY_GET_PROFILE;
    req.get_profile = &body;
    Flow__Reply *reply = NULL;
    FL_EXPECT(fl_call(flow, viewer->token, &req, &reply), FLOW_OK, "");
    Flow__Standing *st = reply->profile->standing;
    reply->profile->standing = NULL;
    flow__reply__free_unpacked(reply, NULL);
    FL_CHECK(st != NULL);
    return st;
}

/*  Reads USER's standing until it has WANT attendee ratings averaging
 *  WANT_RATING and WANT_REVIEWS organizer reviews, or TOLD_WAIT_MS
 *  passed; returns the last read.  */
static Flow__Standing *
s_standing_when(flow_t *flow, const s_user_t *viewer, const char *user, uint32_t want,
                uint32_t want_reviews, double want_rating)
{
    Flow__Standing *st = NULL;
    for (int waited = 0; waited <= TOLD_WAIT_MS; waited += 20) {
        if (st)
            flow__standing__free_unpacked(st, NULL);
        st = s_standing(flow, viewer, user);
        if (st->attendee_ratings == want && st->organizer_reviews == want_reviews
            && fabs(st->attendee_rating - want_rating) < 1e-9)
            break;
        usleep(20 * 1000);
    }
    return st;
}

static Flow__HistoryReply *
s_history(flow_t *flow, const s_user_t *u, uint32_t limit, const char *cursor)
{
    Flow__HistoryRequest body = FLOW__HISTORY_REQUEST__INIT;
    body.limit = limit;
    body.cursor = (char *) (cursor ? cursor : "");
    Flow__Request req = FLOW__REQUEST__INIT;
    req.body_case = FLOW__REQUEST__BODY_HISTORY;
    req.history = &body;
    Flow__Reply *reply = NULL;
    FL_EXPECT(fl_call(flow, u->token, &req, &reply), FLOW_OK, "");
    Flow__HistoryReply *out = reply->history;
    reply->history = NULL;
    reply->body_case = FLOW__REPLY__BODY__NOT_SET;
    flow__reply__free_unpacked(reply, NULL);
    return out;
}

/*  Reads U's history until it has N entries or TOLD_WAIT_MS passed.  */
static Flow__HistoryReply *
s_history_when(flow_t *flow, const s_user_t *u, size_t n)
{
    Flow__HistoryReply *h = NULL;
    for (int waited = 0; waited <= TOLD_WAIT_MS; waited += 20) {
        if (h)
            flow__history_reply__free_unpacked(h, NULL);
        h = s_history(flow, u, 0, NULL);
        if (h->n_entries == n)
            break;
        usleep(20 * 1000);
    }
    return h;
}

static const Flow__HistoryEntry *
s_entry_of(const Flow__HistoryReply *h, const char *event_id)
{
    for (size_t i = 0; i < h->n_entries; i++)
        if (strcmp(h->entries[i]->event_id, event_id) == 0)
            return h->entries[i];
    return NULL;
}

FL_TEST(attendee_ratings_become_the_users_standing_and_admit_to_rated_events)
{
    fl_proc_t node;
    s_start(&node, NULL);
    flow_t *flow = flow_new(node.client);
    s_user_t ann, bob, cat;
    s_sign_up(flow, "ann@example.com", &ann);
    s_sign_up(flow, "bob@example.com", &bob);
    s_sign_up(flow, "cat@example.com", &cat);
    char first[ID_MAX], second[ID_MAX];
    s_running_event(flow, &ann, &bob, 60, first);
    s_running_event(flow, &ann, &bob, 60, second);
    FL_EXPECT(s_check_in(flow, &ann, first, bob.user_id), FLOW_OK, "");
    FL_EXPECT(s_check_in(flow, &ann, second, bob.user_id), FLOW_OK, "");
    FL_EXPECT(s_rate(flow, &ann, first, bob.user_id, 5), FLOW_OK, "");
    FL_EXPECT(s_rate(flow, &ann, second, bob.user_id, 2), FLOW_OK, "");
    FL_EXPECT(s_rate(flow, &ann, second, bob.user_id, 4), FLOW_OK, "");

    Flow__Standing *st = s_standing_when(flow, &cat, bob.user_id, 2, 0, 4.5);
    FL_CHECK_INT(st->attendee_ratings, ==, 2);
    FL_CHECK(fabs(st->attendee_rating - 4.5) < 1e-9);
    flow__standing__free_unpacked(st, NULL);
    st = s_standing(flow, &bob, cat.user_id);
    FL_CHECK_INT(st->attendee_ratings, ==, 0);
    FL_CHECK(st->attendee_rating == 0);
    flow__standing__free_unpacked(st, NULL);

    s_draft_t d;
    s_draft(&d, "For good guests", 52.52, 13.405, 2, 0);
    Flow__Requirements reqs = FLOW__REQUIREMENTS__INIT;
    reqs.min_attendee_rating = 4.5;
    d.draft.requirements = &reqs;
    char rated[ID_MAX];
    FL_EXPECT(s_create(flow, &ann, &d.draft, rated), FLOW_OK, "");
    FL_EXPECT(s_rsvp(flow, &cat, rated, FLOW__RSVP_STATE__RSVP_GOING, NULL, NULL),
              FLOW_FAILED_PRECONDITION, "requirements.min_attendee_rating: a rating of 4.5");
    FL_EXPECT(s_rsvp(flow, &cat, rated, FLOW__RSVP_STATE__RSVP_INTERESTED, NULL, NULL),
              FLOW_OK, "");
    Flow__RsvpState got = FLOW__RSVP_STATE__RSVP_NONE;
    FL_EXPECT(s_rsvp(flow, &bob, rated, FLOW__RSVP_STATE__RSVP_GOING, &got, NULL), FLOW_OK, "");
    FL_CHECK_INT(got, ==, FLOW__RSVP_STATE__RSVP_GOING);
    Flow__Event *ev = NULL;
    FL_EXPECT(s_get(flow, &ann, rated, &ev), FLOW_OK, "");
    FL_CHECK_INT(ev->going, ==, 1);
    FL_CHECK_INT(ev->interested, ==, 1);
    flow__event__free_unpacked(ev, NULL);
    flow_destroy(&flow);
    FL_CHECK_INT(fl_node_stop(&node, SIGTERM), ==, 0);
}

FL_TEST(reviews_of_an_organizers_events_make_the_organizers_rating)
{
    fl_proc_t node;
    s_start(&node, NULL);
    flow_t *flow = flow_new(node.client);
    s_user_t ann, bob, cat;
    s_sign_up(flow, "ann@example.com", &ann);
    s_sign_up(flow, "bob@example.com", &bob);
    s_sign_up(flow, "cat@example.com", &cat);
    char first[ID_MAX], second[ID_MAX];
    s_running_event(flow, &ann, &bob, 60, first);
    s_running_event(flow, &ann, &cat, 60, second);
    FL_EXPECT(s_check_in(flow, &ann, first, bob.user_id), FLOW_OK, "");
    FL_EXPECT(s_check_in(flow, &ann, second, cat.user_id), FLOW_OK, "");
    FL_EXPECT(s_review(flow, &bob, first, 4, "Good"), FLOW_OK, "");
    FL_EXPECT(s_review(flow, &cat, second, 2, "Meh"), FLOW_OK, "");
    Flow__Standing *st = s_standing_when(flow, &bob, ann.user_id, 0, 2, 0);
    FL_CHECK_INT(st->organizer_reviews, ==, 2);
    FL_CHECK(fabs(st->organizer_rating - 3.0) < 1e-9);
    flow__standing__free_unpacked(st, NULL);

    FL_EXPECT(s_review(flow, &bob, first, 5, "Better on reflection"), FLOW_OK, "");
    for (int waited = 0; waited <= TOLD_WAIT_MS; waited += 20) {
        st = s_standing(flow, &bob, ann.user_id);
        if (fabs(st->organizer_rating - 3.5) < 1e-9)
            break;
        flow__standing__free_unpacked(st, NULL);
        st = NULL;
        usleep(20 * 1000);
    }
    FL_CHECK(st != NULL);
    FL_CHECK_INT(st->organizer_reviews, ==, 2);
    flow__standing__free_unpacked(st, NULL);
    flow_destroy(&flow);
    FL_CHECK_INT(fl_node_stop(&node, SIGTERM), ==, 0);
}

FL_TEST(history_lists_a_users_events_and_follows_their_rsvps)
{
    fl_proc_t node;
    s_start(&node, NULL);
    flow_t *flow = flow_new(node.client);
    s_user_t ann, bob;
    s_sign_up(flow, "ann@example.com", &ann);
    s_sign_up(flow, "bob@example.com", &bob);
    char past[ID_MAX], soon[ID_MAX], later[ID_MAX];
    s_running_event(flow, &ann, &bob, 60, past);
    FL_EXPECT(s_check_in(flow, &ann, past, bob.user_id), FLOW_OK, "");
    s_draft_t d;
    s_draft(&d, "Soon", 52.52, 13.405, 1, 1);
    FL_EXPECT(s_create(flow, &ann, &d.draft, soon), FLOW_OK, "");
    s_draft(&d, "Later", 52.52, 13.405, 9, 0);
    FL_EXPECT(s_create(flow, &ann, &d.draft, later), FLOW_OK, "");
    FL_EXPECT(s_rsvp(flow, &bob, soon, FLOW__RSVP_STATE__RSVP_INTERESTED, NULL, NULL), FLOW_OK, "");
    FL_EXPECT(s_rsvp(flow, &bob, later, FLOW__RSVP_STATE__RSVP_GOING, NULL, NULL), FLOW_OK, "");
    FL_EXPECT(s_rsvp(flow, &bob, later, FLOW__RSVP_STATE__RSVP_NONE, NULL, NULL), FLOW_OK, "");

    Flow__HistoryReply *h = s_history_when(flow, &bob, 2);
    FL_CHECK_INT(h->n_entries, ==, 2);
    const Flow__HistoryEntry *e = s_entry_of(h, past);
    FL_CHECK(e != NULL);
    FL_CHECK_INT(e->relation, ==, FLOW__RELATION__RELATION_GOING);
    FL_CHECK(e->checked_in);
    e = s_entry_of(h, soon);
    FL_CHECK(e != NULL);
    FL_CHECK_INT(e->relation, ==, FLOW__RELATION__RELATION_INTERESTED);
    FL_CHECK(s_entry_of(h, later) == NULL);
    flow__history_reply__free_unpacked(h, NULL);

    h = s_history_when(flow, &ann, 3);
    FL_CHECK_INT(h->n_entries, ==, 3);
    for (size_t i = 0; i < h->n_entries; i++)
        FL_CHECK_INT(h->entries[i]->relation, ==, FLOW__RELATION__RELATION_ORGANIZER);
    flow__history_reply__free_unpacked(h, NULL);

    /*  Pages of one, in event id order, end with an empty cursor.  */
    Flow__HistoryReply *p1 = s_history(flow, &ann, 1, NULL);
    FL_CHECK_INT(p1->n_entries, ==, 1);
    FL_CHECK(p1->next_cursor[0] != '\0');
    Flow__HistoryReply *p2 = s_history(flow, &ann, 2, p1->next_cursor);
    FL_CHECK_INT(p2->n_entries, ==, 2);
    FL_CHECK(strcmp(p2->entries[0]->event_id, p1->entries[0]->event_id) > 0);
    FL_CHECK_STR(p2->next_cursor, "");
    flow__history_reply__free_unpacked(p1, NULL);
    flow__history_reply__free_unpacked(p2, NULL);

    Flow__HistoryRequest bad = FLOW__HISTORY_REQUEST__INIT;
    bad.cursor = "not-a-cursor";
    Flow__Request req = FLOW__REQUEST__INIT;
    req.body_case = FLOW__REQUEST__BODY_HISTORY;
    req.history = &bad;
    FL_EXPECT(fl_call(flow, ann.token, &req, NULL), FLOW_INVALID_ARGUMENT, "cursor");
    bad.cursor = "";
    bad.limit = 201;
    req.id = 0;
    FL_EXPECT(fl_call(flow, ann.token, &req, NULL), FLOW_INVALID_ARGUMENT, "limit");
    flow_destroy(&flow);
    FL_CHECK_INT(fl_node_stop(&node, SIGTERM), ==, 0);
}

FL_TEST(told_changes_reach_the_user_after_the_node_is_killed)
{
    fl_proc_t node;
    s_start(&node, NULL);
    flow_t *flow = flow_new(node.client);
    s_user_t ann, bob;
    s_sign_up(flow, "ann@example.com", &ann);
    s_sign_up(flow, "bob@example.com", &bob);
    char ids[20][ID_MAX];
    for (int i = 0; i < 20; i++) {
        s_draft_t d;
        s_draft(&d, "Many", 52.52, 13.405, 1 + i, 0);
        FL_EXPECT(s_create(flow, &ann, &d.draft, ids[i]), FLOW_OK, "");
    }
    for (int i = 0; i < 20; i++)
        FL_EXPECT(s_rsvp(flow, &bob, ids[i], FLOW__RSVP_STATE__RSVP_GOING, NULL, NULL),
                  FLOW_OK, "");
    flow_destroy(&flow);
    FL_CHECK_INT(fl_node_stop(&node, SIGKILL), ==, 128 + SIGKILL);

    fl_proc_t again;
    s_start(&again, node.data);
    flow = flow_new(again.client);
    Flow__HistoryReply *h = s_history_when(flow, &bob, 20);
    FL_CHECK_INT(h->n_entries, ==, 20);
    flow__history_reply__free_unpacked(h, NULL);
    flow_destroy(&flow);
    FL_CHECK_INT(fl_node_stop(&again, SIGTERM), ==, 0);
}

FL_TEST(followers_of_an_event_hear_of_its_changes_and_cancellation)
{
    fl_proc_t node;
    s_start(&node, NULL);
    flow_t *flow = flow_new(node.client);
    s_user_t ann, bob;
    s_sign_up(flow, "ann@example.com", &ann);
    s_sign_up(flow, "bob@example.com", &bob);
    s_draft_t d;
    s_draft(&d, "Followed", 52.52, 13.405, 1, 0);
    char id[ID_MAX];
    FL_EXPECT(s_create(flow, &ann, &d.draft, id), FLOW_OK, "");

    char topic[ID_MAX + 8];
    snprintf(topic, sizeof topic, "event:%s", id);
    const char *topics[] = { topic };
    flow_t *anonymous = flow_new(node.client);
    FL_CHECK_INT(flow_subscribe(anonymous, topics, 1), ==, FLOW_UNAUTHENTICATED);
    flow_destroy(&anonymous);
    const char *malformed[] = { "event:nope" };
    flow_t *follower = flow_new(node.client);
    flow_set_token(follower, bob.token);
    FL_CHECK_INT(flow_subscribe(follower, malformed, 1), ==, FLOW_INVALID_ARGUMENT);
    FL_CHECK_INT(flow_subscribe(follower, topics, 1), ==, FLOW_OK);

    FL_EXPECT(s_rsvp(flow, &bob, id, FLOW__RSVP_STATE__RSVP_GOING, NULL, NULL), FLOW_OK, "");
    Flow__CancelEventRequest cancel = FLOW__CANCEL_EVENT_REQUEST__INIT;
    cancel.id = id;
    Flow__Request req = FLOW__REQUEST__INIT;
    req.body_case = FLOW__REQUEST__BODY_CANCEL_EVENT;
    req.cancel_event = &cancel;
    FL_EXPECT(fl_call(flow, ann.token, &req, NULL), FLOW_OK, "");

    Flow__EventStatus seen[2] = { 0, 0 };
    uint64_t revisions[2] = { 0, 0 };
    for (int i = 0; i < 2; i++) {
        Flow__Push *push = NULL;
        FL_CHECK_INT(flow_next_push(follower, &push, TOLD_WAIT_MS), ==, FLOW_OK);
        FL_CHECK_STR(push->topic, topic);
        FL_CHECK_INT(push->body_case, ==, FLOW__PUSH__BODY_EVENT_CHANGE);
        FL_CHECK_STR(push->event_change->event_id, id);
        seen[i] = push->event_change->status;
        revisions[i] = push->event_change->revision;
        flow__push__free_unpacked(push, NULL);
    }
    FL_CHECK_INT(seen[0], ==, FLOW__EVENT_STATUS__EVENT_SCHEDULED);
    FL_CHECK_INT(seen[1], ==, FLOW__EVENT_STATUS__EVENT_CANCELLED);
    FL_CHECK(revisions[1] > revisions[0]);
    flow_destroy(&follower);
    flow_destroy(&flow);
    FL_CHECK_INT(fl_node_stop(&node, SIGTERM), ==, 0);
}

FL_TEST(clients_cannot_send_node_internal_requests)
{
    fl_proc_t node;
    s_start(&node, NULL);
    flow_t *flow = flow_new(node.client);
    s_user_t bob;
    s_sign_up(flow, "bob@example.com", &bob);
    Flow__RelationUpdate body = FLOW__RELATION_UPDATE__INIT;
    body.user_id = bob.user_id;
    body.event_id = "0123456789abcdef";
    body.revision = 1;
    body.relation = FLOW__RELATION__RELATION_GOING;
    body.attendee_stars = 5;
    Flow__Request req = FLOW__REQUEST__INIT;
    req.body_case = FLOW__REQUEST__BODY_RELATION_UPDATE;
    req.relation_update = &body;
    FL_EXPECT(fl_call(flow, bob.token, &req, NULL), FLOW_PERMISSION_DENIED,
              "relation_update is sent between nodes' actors only");
    Flow__StandingRequest standing = FLOW__STANDING_REQUEST__INIT;
    standing.user_id = bob.user_id;
    req.id = 0;
    req.body_case = FLOW__REQUEST__BODY_STANDING;
    req.standing = &standing;
    FL_EXPECT(fl_call(flow, NULL, &req, NULL), FLOW_PERMISSION_DENIED, "standing is sent");
    Flow__Standing *st = s_standing(flow, &bob, bob.user_id);
    FL_CHECK_INT(st->attendee_ratings, ==, 0);
    flow__standing__free_unpacked(st, NULL);
    flow_destroy(&flow);
    FL_CHECK_INT(fl_node_stop(&node, SIGTERM), ==, 0);
}

FL_TEST(nearby_summary_view_answers_from_the_index)
{
    fl_proc_t node;
    s_start(&node, NULL);
    flow_t *flow = flow_new(node.client);
    s_user_t ann;
    s_sign_up(flow, "ann@example.com", &ann);
    s_draft_t d;
    s_draft(&d, "Jazz im Keller", 52.52, 13.405, 1, 40);
    d.pricing.type = FLOW__PRICE_TYPE__PRICE_PAID;
    d.pricing.amount_minor = 1500;
    d.pricing.currency = "EUR";
    char id[ID_MAX];
    FL_EXPECT(s_create(flow, &ann, &d.draft, id), FLOW_OK, "");

    Flow__NearbyRequest q;
    s_near(&q, 52.52, 13.40, 2000);
    q.view = FLOW__NEARBY_VIEW__VIEW_SUMMARY;
    Flow__Request req = FLOW__REQUEST__INIT;
    req.body_case = FLOW__REQUEST__BODY_NEARBY;
    req.nearby = &q;
    Flow__Reply *reply = NULL;
    FL_EXPECT(fl_call(flow, ann.token, &req, &reply), FLOW_OK, "");
    FL_CHECK_INT(reply->nearby->n_hits, ==, 1);
    const Flow__NearbyHit *hit = reply->nearby->hits[0];
    const Flow__Event *ev = hit->event;
    FL_CHECK_STR(ev->id, id);
    FL_CHECK_STR(ev->title, "Jazz im Keller");
    FL_CHECK_INT(ev->category, ==, FLOW__CATEGORY__CATEGORY_MUSIC);
    FL_CHECK_INT(ev->start_s, ==, d.draft.start_s);
    FL_CHECK_STR(ev->time_zone, "Europe/Berlin");
    FL_CHECK(ev->location && fabs(ev->location->lat - 52.52) < 1e-9);
    FL_CHECK(ev->pricing && ev->pricing->amount_minor == 1500);
    FL_CHECK_STR(ev->pricing->currency, "EUR");
    FL_CHECK_STR(ev->description, "");
    FL_CHECK(hit->distance_m > 0);
    flow__reply__free_unpacked(reply, NULL);

    q.view = (Flow__NearbyView) 7;
    req.id = 0;
    FL_EXPECT(fl_call(flow, ann.token, &req, NULL), FLOW_INVALID_ARGUMENT, "view");
    flow_destroy(&flow);
    FL_CHECK_INT(fl_node_stop(&node, SIGTERM), ==, 0);
}
