/*  actors/event/event.c — events, RSVPs, capacity and waitlists; see
 *  event.h.
 *
 *  Invariants, each kept inside one transaction of the event's actor:
 *   - event.going = number of RSVPs in state GOING, and never exceeds a
 *     non-zero capacity (a capacity lowered below it admits nobody until
 *     withdrawals bring it under);
 *   - event.waitlisted = number of waitlist entries = RSVPs WAITLISTED;
 *     entries are keyed by a sequence number that only grows, so the
 *     queue is first in, first out;
 *   - whenever a seat frees (a withdrawal, a capacity raise) the head of
 *     the waitlist is promoted in the same transaction;
 *   - every change bumps the record's revision; after the commit the geo
 *     actor hears of it, and so do the connections following topic
 *     "event:<id>";
 *   - every user whose relation to the event changed (an RSVP, a
 *     promotion, a check-in, a rating; the organizer when reviews change)
 *     is told through the outbox, in the same transaction, with the
 *     revision: their history and standing follow (actors/user/standing.c).
 */
#include "actors/event/event.h"
#include "actors/event/records.h"
#include "actors/geo/geo.h"
#include "actors/session/session.h"
#include "node/actor.h"
#include "node/error.h"
#include "node/log.h"
#include "node/node.h"
#include "node/text.h"
#include "node/token.h"
#include "storage/codec.h"
#include "storage/keyspace.h"

#include <czmq.h>
#include <inttypes.h>
#include <sodium.h>

#define TAGS_MAX 20
#define TAG_MAX_CHARS 40
#define INVITES_MAX 1000
#define PAGE_DEFAULT 50
#define PAGE_MAX 200

static struct {
    MDB_dbi events, rsvps, waitlist, reviews;
} s_db;

int
fl_event_init(fl_store_t *store)
{
    int rc;
    if ((rc = fl_store_dbi_partitioned(store, "events", &s_db.events))
        || (rc = fl_store_dbi_partitioned(store, "rsvps", &s_db.rsvps))
        || (rc = fl_store_dbi_partitioned(store, "waitlist", &s_db.waitlist))
        || (rc = fl_store_dbi_partitioned(store, "reviews", &s_db.reviews)))
        return rc;
    return 0;
}

MDB_dbi
fl_event_db(void)
{
    return s_db.events;
}

bool
fl_event_is_organizer(const Flow__Storage__EventRecord *rec, const Flow__Cluster__Principal *p)
{
    return p && rec->event->organizer && strcmp(rec->event->organizer->user_id, p->user_id) == 0;
}

static bool
s_is_staff(const Flow__Cluster__Principal *p)
{
    return !p || p->role >= FLOW__ROLE__ROLE_MODERATOR;
}

static bool
s_is_invited(const Flow__Storage__EventRecord *rec, const char *user_id)
{
    for (size_t i = 0; i < rec->n_invited; i++)
        if (strcmp(rec->invited[i], user_id) == 0)
            return true;
    return false;
}

bool
fl_event_visible(const Flow__Storage__EventRecord *rec, const Flow__Cluster__Principal *viewer)
{
    if (rec->event->visibility != FLOW__EVENT_VISIBILITY__EVENT_PRIVATE)
        return true;
    return s_is_staff(viewer) || fl_event_is_organizer(rec, viewer)
           || s_is_invited(rec, viewer->user_id);
}

/*  ------------------------------------------------------------------
 *  Keys and records  */

static uint32_t
s_partition(fl_call_t *call, const char *event_id)
{
    const fl_node_t *node = call->node;
    return fl_ring_partition(node->ring, event_id, strlen(event_id));
}

static MDB_val
s_key(uint8_t buf[FL_KEYSPACE_KEY_MAX], uint32_t partition, const void *suffix, size_t len)
{
    int n = fl_keyspace_key((uint16_t) partition, suffix, len, buf, FL_KEYSPACE_KEY_MAX);
    return (MDB_val) { n > 0 ? (size_t) n : 0, buf };
}

static MDB_val
s_event_key(uint8_t buf[FL_KEYSPACE_KEY_MAX], fl_call_t *call, const char *id)
{
    return s_key(buf, s_partition(call, id), id, strlen(id));
}

MDB_val
fl_event_user_key(uint8_t buf[FL_KEYSPACE_KEY_MAX], fl_call_t *call, const char *id,
                  const char *user)
{
    char suffix[128];
    int n = snprintf(suffix, sizeof suffix, "%s/%s", id, user);
    return s_key(buf, s_partition(call, id), suffix, (size_t) n);
}

static MDB_val
s_wait_key(uint8_t buf[FL_KEYSPACE_KEY_MAX], fl_call_t *call, const char *id, uint64_t seq)
{
    char suffix[64];
    int n = snprintf(suffix, sizeof suffix, "%s/", id);
    for (int i = 7; i >= 0; i--)
        suffix[n++] = (char) (seq >> (i * 8));
    return s_key(buf, s_partition(call, id), suffix, (size_t) n);
}

static int
s_read(fl_call_t *call, const char *id, Flow__Storage__EventRecord **rec_p)
{
    uint8_t buf[FL_KEYSPACE_KEY_MAX];
    MDB_val key = s_event_key(buf, call, id);
    return fl_codec_get_with(call->txn, s_db.events, &key,
                             &flow__storage__event_record__descriptor, fl_call_allocator(call),
                             (ProtobufCMessage **) rec_p);
}

/*  The geo actor hears of every committed change; it indexes what it
 *  should (public, scheduled) and drops the rest.  */
static void
s_tell_geo(fl_call_t *call, const Flow__Storage__EventRecord *rec)
{
    Flow__Cluster__GeoUpdate update = FLOW__CLUSTER__GEO_UPDATE__INIT;
    update.event_id = rec->event->id;
    update.revision = rec->revision;
    bool indexed = rec->event->visibility != FLOW__EVENT_VISIBILITY__EVENT_PRIVATE
                   && rec->event->status == FLOW__EVENT_STATUS__EVENT_SCHEDULED;
    update.remove = !indexed;
    update.event = indexed ? rec->event : NULL;
    update.end_s = rec->event->end_s;
    fl_call_after_commit(call, FL_GEO_UPDATES_ENDPOINT, &update.base);
}

/*  Followers of "event:<id>" hear that it changed, not what changed.  */
static void
s_publish(fl_call_t *call, const Flow__Storage__EventRecord *rec)
{
    Flow__EventChange change = FLOW__EVENT_CHANGE__INIT;
    change.event_id = rec->event->id;
    change.status = rec->event->status;
    change.version = rec->event->version;
    change.revision = rec->revision;
    Flow__Push push = FLOW__PUSH__INIT;
    push.body_case = FLOW__PUSH__BODY_EVENT_CHANGE;
    push.event_change = &change;
    char topic[FL_EVENT_ID_BYTES * 2 + 8];
    snprintf(topic, sizeof topic, "event:%s", rec->event->id);
    Flow__Cluster__Publication publication = FLOW__CLUSTER__PUBLICATION__INIT;
    publication.topic = topic;
    publication.push = &push;
    fl_call_after_commit(call, FL_SESSION_PUBLISH_ENDPOINT, &publication.base);
}

/*  Users whose relation to the event changed in this call (call->scratch). */
typedef struct s_noted_t {
    const char *user;
    struct s_noted_t *next;
} s_noted_t;

void
fl_event_note(fl_call_t *call, const char *user)
{
    if (!user || !user[0])
        return;
    for (s_noted_t *n = call->scratch; n; n = n->next)
        if (streq(n->user, user))
            return;
    s_noted_t *n = fl_call_alloc(call, sizeof *n);
    n->user = fl_call_strdup(call, user);
    n->next = call->scratch;
    call->scratch = n;
}

static Flow__Relation
s_relation(Flow__RsvpState state)
{
    switch (state) {
    case FLOW__RSVP_STATE__RSVP_GOING:      return FLOW__RELATION__RELATION_GOING;
    case FLOW__RSVP_STATE__RSVP_INTERESTED: return FLOW__RELATION__RELATION_INTERESTED;
    case FLOW__RSVP_STATE__RSVP_WAITLISTED: return FLOW__RELATION__RELATION_WAITLISTED;
    default:                                return FLOW__RELATION__RELATION_NONE;
    }
}

/*  The whole relation of USER to REC's event, at REC's revision.  */
static int
s_relation_update(fl_call_t *call, const Flow__Storage__EventRecord *rec, const char *user,
                  Flow__RelationUpdate *u)
{
    u->user_id = (char *) user;
    u->event_id = rec->event->id;
    u->revision = rec->revision;
    if (streq(rec->event->organizer->user_id, user)) {
        u->relation = FLOW__RELATION__RELATION_ORGANIZER;
        u->review_stars = rec->rating_sum;
        u->reviews = rec->rating_count;
        return 0;
    }
    Flow__Storage__RsvpRecord *rsvp = NULL;
    int rc = fl_event_read_rsvp(call, rec->event->id, user, &rsvp);
    if (rc == FL_E_NOTFOUND)
        return 0;
    if (rc == 0) {
        u->relation = s_relation(rsvp->state);
        u->checked_in = rsvp->checked_in;
        u->attendee_stars = rsvp->attendee_stars;
    }
    return rc;
}

static int
s_tell_users(fl_call_t *call, const Flow__Storage__EventRecord *rec)
{
    for (s_noted_t *n = call->scratch; n; n = n->next) {
        Flow__RelationUpdate *u = fl_call_alloc(call, sizeof *u);
        flow__relation_update__init(u);
        int rc = s_relation_update(call, rec, n->user, u);
        if (rc)
            return rc;
        Flow__Request *req = fl_call_alloc(call, sizeof *req);
        flow__request__init(req);
        req->version = FL_PROTOCOL_VERSION;
        req->body_case = FLOW__REQUEST__BODY_RELATION_UPDATE;
        req->relation_update = u;
        if ((rc = fl_call_tell(call, FLOW__ACTOR__ACTOR_USER, n->user, req)))
            return rc;
    }
    call->scratch = NULL;
    return 0;
}

int
fl_event_write(fl_call_t *call, Flow__Storage__EventRecord *rec)
{
    uint8_t buf[FL_KEYSPACE_KEY_MAX];
    MDB_val key = s_event_key(buf, call, rec->event->id);
    rec->revision++;
    rec->event->updated_s = (uint64_t) zclock_time() / 1000;
    int rc = fl_codec_put(call->txn, s_db.events, &key, &rec->base);
    if (rc == 0)
        rc = s_tell_users(call, rec);
    if (rc == 0) {
        s_tell_geo(call, rec);
        s_publish(call, rec);
    }
    return rc;
}

/*  Storage errors: MAP_FULL and I/O abort the batch, others are answered. */
int
fl_event_storage(fl_call_t *call, int rc)
{
    if (rc == MDB_MAP_FULL || rc == FL_E_IO)
        return rc;
    fl_call_fail(call, FLOW__STATUS__INTERNAL, "storage: %s", fl_strerror(rc));
    return 0;
}

/*  Reads the event ID as the caller may see it: NOT_FOUND for an event
 *  that does not exist and for one the caller may not see alike.  */
int
fl_event_read_visible(fl_call_t *call, const char *id, Flow__Storage__EventRecord **rec_p)
{
    int rc = s_read(call, id, rec_p);
    if (rc == 0 && !fl_event_visible(*rec_p, call->principal))
        rc = FL_E_NOTFOUND;
    if (rc == FL_E_NOTFOUND)
        fl_call_fail(call, FLOW__STATUS__NOT_FOUND, "event: no such event");
    return rc;
}

/*  ------------------------------------------------------------------
 *  Checks  */

static bool
s_is_event_id(const char *s)
{
    size_t len = strlen(s);
    if (len != FL_EVENT_ID_BYTES * 2)
        return false;
    for (size_t i = 0; i < len; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
            return false;
    return true;
}

Flow__Status
fl_event_route(const char *id, fl_route_t *route, char *msg, size_t msglen)
{
    if (!s_is_event_id(id)) {
        snprintf(msg, msglen, "id: not an event id (16 hex digits)");
        return FLOW__STATUS__INVALID_ARGUMENT;
    }
    snprintf(route->keybuf, sizeof route->keybuf, "%s", id);
    route->actor = FLOW__ACTOR__ACTOR_EVENT;
    route->key = route->keybuf;
    route->key_len = strlen(route->keybuf);
    return FLOW__STATUS__OK;
}

/*  A new event is routed by its id, which the check draws here so the
 *  request lands on the id's owner.  With a request key the id is a hash
 *  of the user and the key instead, so that a retry lands on the same
 *  owner, which applied it once (node/applied.h).  */
Flow__Status
fl_event_check_create(const Flow__Request *req, const char *user_id, fl_route_t *route,
                      char *msg, size_t msglen)
{
    Flow__Status st = fl_event_check_draft(req->create_event->event, NULL, 0, true, msg, msglen);
    if (st)
        return st;
    char id[FL_EVENT_ID_BYTES * 2 + 1];
    if (req->request_key[0] && user_id) {
        char origin[FL_ROUTE_KEY_MAX];
        snprintf(origin, sizeof origin, "request-key/%s", user_id);
        fl_event_import_id(origin, req->request_key, id);
    }
    else
        fl_token_random_id(id, FL_EVENT_ID_BYTES);
    return fl_event_route(id, route, msg, msglen);
}

/*  An imported event's id is a hash of where it came from, so every
 *  import of one entry lands on the same id and the same partition.  */
Flow__Status
fl_event_check_upsert(const Flow__Request *req, const char *user_id, fl_route_t *route,
                      char *msg, size_t msglen)
{
    (void) user_id;
    const Flow__EventDraft *d = req->upsert_event->event;
    Flow__Status st = fl_event_check_draft(d, NULL, 0, true, msg, msglen);
    if (st)
        return st;
    if (!d->source || !d->source->platform[0] || !d->source->external_id[0]) {
        snprintf(msg, msglen, "source: platform and external_id are required");
        return FLOW__STATUS__INVALID_ARGUMENT;
    }
    char id[FL_EVENT_ID_BYTES * 2 + 1];
    fl_event_import_id(d->source->platform, d->source->external_id, id);
    return fl_event_route(id, route, msg, msglen);
}

void
fl_event_import_id(const char *platform, const char *external_id,
                   char id[FL_EVENT_ID_BYTES * 2 + 1])
{
    crypto_generichash_state state;
    uint8_t hash[32];
    crypto_generichash_init(&state, NULL, 0, sizeof hash);
    crypto_generichash_update(&state, (const uint8_t *) platform, strlen(platform) + 1);
    crypto_generichash_update(&state, (const uint8_t *) external_id, strlen(external_id));
    crypto_generichash_final(&state, hash, sizeof hash);
    sodium_bin2hex(id, FL_EVENT_ID_BYTES * 2 + 1, hash, FL_EVENT_ID_BYTES);
}

static const char *const s_draft_fields[] = {
    "title", "description", "category", "tags", "organizer_type", "start_s", "end_s",
    "time_zone", "location", "pricing", "capacity", "visibility", "requirements", "media",
    "source",
};

Flow__Status
fl_event_check_update(const Flow__Request *req, const char *user_id, fl_route_t *route,
                      char *msg, size_t msglen)
{
    (void) user_id;
    const Flow__UpdateEventRequest *r = req->update_event;
    if (r->n_fields == 0) {
        snprintf(msg, msglen, "fields: name at least one field to change");
        return FLOW__STATUS__INVALID_ARGUMENT;
    }
    for (size_t i = 0; i < r->n_fields; i++) {
        size_t k = 0;
        while (k < sizeof s_draft_fields / sizeof s_draft_fields[0]
               && strcmp(s_draft_fields[k], r->fields[i]) != 0)
            k++;
        if (k == sizeof s_draft_fields / sizeof s_draft_fields[0]) {
            snprintf(msg, msglen, "fields[%zu]: \"%.40s\" is not an event field", i, r->fields[i]);
            return FLOW__STATUS__INVALID_ARGUMENT;
        }
    }
    Flow__Status st = fl_event_check_draft(r->event, r->fields, r->n_fields, false, msg, msglen);
    return st ? st : fl_event_route(r->id, route, msg, msglen);
}

Flow__Status
fl_event_check_id(const Flow__Request *req, const char *user_id, fl_route_t *route,
                  char *msg, size_t msglen)
{
    (void) user_id;
    const char *id = req->body_case == FLOW__REQUEST__BODY_CANCEL_EVENT ? req->cancel_event->id
                                                                      : req->get_event->id;
    return fl_event_route(id, route, msg, msglen);
}

Flow__Status
fl_event_check_rsvp(const Flow__Request *req, const char *user_id, fl_route_t *route,
                    char *msg, size_t msglen)
{
    (void) user_id;
    Flow__RsvpState st = req->rsvp->state;
    if (st != FLOW__RSVP_STATE__RSVP_NONE && st != FLOW__RSVP_STATE__RSVP_INTERESTED
        && st != FLOW__RSVP_STATE__RSVP_GOING) {
        snprintf(msg, msglen, "state: going, interested, or none to withdraw");
        return FLOW__STATUS__INVALID_ARGUMENT;
    }
    return fl_event_route(req->rsvp->event_id, route, msg, msglen);
}

Flow__Status
fl_event_check_invite(const Flow__Request *req, const char *user_id, fl_route_t *route,
                      char *msg, size_t msglen)
{
    (void) user_id;
    const Flow__InviteRequest *r = req->invite;
    if (r->n_user_ids == 0 || r->n_user_ids > 100) {
        snprintf(msg, msglen, "user_ids: 1 to 100 per request");
        return FLOW__STATUS__INVALID_ARGUMENT;
    }
    for (size_t i = 0; i < r->n_user_ids; i++)
        if (strlen(r->user_ids[i]) != 16 || strspn(r->user_ids[i], "0123456789abcdef") != 16) {
            snprintf(msg, msglen, "user_ids[%zu]: not a user id (16 hex digits)", i);
            return FLOW__STATUS__INVALID_ARGUMENT;
        }
    return fl_event_route(r->event_id, route, msg, msglen);
}

Flow__Status
fl_event_check_attendees(const Flow__Request *req, const char *user_id, fl_route_t *route,
                         char *msg, size_t msglen)
{
    (void) user_id;
    const Flow__AttendeesRequest *r = req->attendees;
    if (r->state < FLOW__RSVP_STATE__RSVP_NONE || r->state > FLOW__RSVP_STATE__RSVP_WAITLISTED) {
        snprintf(msg, msglen, "state: unknown value %d", (int) r->state);
        return FLOW__STATUS__INVALID_ARGUMENT;
    }
    if (r->limit > PAGE_MAX) {
        snprintf(msg, msglen, "limit: at most %d", PAGE_MAX);
        return FLOW__STATUS__INVALID_ARGUMENT;
    }
    if (r->cursor[0] && (strlen(r->cursor) != 16 || strspn(r->cursor, "0123456789abcdef") != 16)) {
        snprintf(msg, msglen, "cursor: malformed");
        return FLOW__STATUS__INVALID_ARGUMENT;
    }
    return fl_event_route(r->event_id, route, msg, msglen);
}

/*  ------------------------------------------------------------------
 *  Create, update, cancel, get  */

static int s_promote(fl_call_t *call, Flow__Storage__EventRecord *rec);

/*  True when FIELD is to be taken: all are when N == 0 (create).  */
static bool
s_take(char *const *fields, size_t n, const char *field)
{
    if (n == 0)
        return true;
    for (size_t i = 0; i < n; i++)
        if (strcmp(fields[i], field) == 0)
            return true;
    return false;
}

/*  Copies the fields FIELDS names (all when N == 0) from DRAFT into EV,
 *  normalising tags.  */
static void
s_merge(fl_call_t *call, Flow__Event *ev, const Flow__EventDraft *d, char *const *fields, size_t n)
{
    if (s_take(fields, n, "title"))
        ev->title = d->title;
    if (s_take(fields, n, "description"))
        ev->description = d->description;
    if (s_take(fields, n, "category"))
        ev->category = d->category;
    if (s_take(fields, n, "tags")) {
        fl_text_list_t tags;
        char why[200];
        ev->n_tags = 0;
        if (fl_text_list("tags", d->tags, d->n_tags, TAGS_MAX, TAG_MAX_CHARS, &tags, why,
                         sizeof why) == 0) {
            ev->tags = fl_call_alloc(call, (tags.n + 1) * sizeof *ev->tags);
            for (size_t i = 0; i < tags.n; i++)
                ev->tags[i] = fl_call_strdup(call, tags.items[i]);
            ev->n_tags = tags.n;
            fl_text_list_release(&tags);
        }
    }
    if (s_take(fields, n, "organizer_type"))
        ev->organizer->type = d->organizer_type ? d->organizer_type
                                                : FLOW__ORGANIZER_TYPE__ORGANIZER_INDIVIDUAL;
    if (s_take(fields, n, "start_s"))
        ev->start_s = d->start_s;
    if (s_take(fields, n, "end_s"))
        ev->end_s = d->end_s;
    if (s_take(fields, n, "time_zone"))
        ev->time_zone = d->time_zone;
    if (s_take(fields, n, "location"))
        ev->location = d->location;
    if (s_take(fields, n, "pricing"))
        ev->pricing = d->pricing;
    if (s_take(fields, n, "capacity"))
        ev->capacity = d->capacity;
    if (s_take(fields, n, "visibility"))
        ev->visibility = d->visibility ? d->visibility : FLOW__EVENT_VISIBILITY__EVENT_PUBLIC;
    if (s_take(fields, n, "requirements"))
        ev->requirements = d->requirements;
    if (s_take(fields, n, "media"))
        ev->media = d->media;
    if (s_take(fields, n, "source"))
        ev->source = d->source;
}

/*  An event as a draft, to check a merged update like a new event.  */
static void
s_as_draft(const Flow__Event *ev, Flow__EventDraft *d)
{
    flow__event_draft__init(d);
    d->title = ev->title;
    d->description = ev->description;
    d->category = ev->category;
    d->tags = ev->tags;
    d->n_tags = ev->n_tags;
    d->organizer_type = ev->organizer->type;
    d->start_s = ev->start_s;
    d->end_s = ev->end_s;
    d->time_zone = ev->time_zone;
    d->location = ev->location;
    d->pricing = ev->pricing;
    d->capacity = ev->capacity;
    d->visibility = ev->visibility;
    d->requirements = ev->requirements;
    d->media = ev->media;
    d->source = ev->source;
}

static void
s_reply_event(fl_call_t *call, Flow__Event *ev)
{
    call->reply.body_case = FLOW__REPLY__BODY_EVENT;
    call->reply.event = ev;
}

int
fl_event_create(fl_call_t *call)
{
    const Flow__EventDraft *d = call->request->create_event->event;
    uint64_t now = (uint64_t) zclock_time() / 1000;
    Flow__Storage__EventRecord *rec = fl_call_alloc(call, sizeof *rec);
    flow__storage__event_record__init(rec);
    rec->record_version = 1;
    Flow__Event *ev = fl_call_alloc(call, sizeof *ev);
    flow__event__init(ev);
    Flow__Organizer *org = fl_call_alloc(call, sizeof *org);
    flow__organizer__init(org);
    org->user_id = call->principal ? call->principal->user_id : "";
    ev->organizer = org;
    ev->id = call->route_key;
    ev->status = FLOW__EVENT_STATUS__EVENT_SCHEDULED;
    ev->created_s = now;
    ev->version = 1;
    rec->event = ev;
    s_merge(call, ev, d, NULL, 0);
    Flow__Storage__EventRecord *taken = NULL;
    int rc = s_read(call, ev->id, &taken);
    if (rc == 0) {
        fl_call_fail(call, FLOW__STATUS__ALREADY_EXISTS, "id: drawn twice; send the request again");
        return 0;
    }
    fl_event_note(call, org->user_id);
    if (rc != FL_E_NOTFOUND || (rc = fl_event_write(call, rec)))
        return fl_event_storage(call, rc);
    s_reply_event(call, ev);
    return 0;
}

bool
fl_event_may_change(fl_call_t *call, const Flow__Storage__EventRecord *rec)
{
    if (fl_event_is_organizer(rec, call->principal) || s_is_staff(call->principal))
        return true;
    fl_call_fail(call, FLOW__STATUS__PERMISSION_DENIED,
                 "only the organizer, moderators and admins may change this event");
    return false;
}

int
fl_event_update(fl_call_t *call)
{
    const Flow__UpdateEventRequest *r = call->request->update_event;
    Flow__Storage__EventRecord *rec = NULL;
    int rc = fl_event_read_visible(call, r->id, &rec);
    if (rc)
        return rc == FL_E_NOTFOUND ? 0 : fl_event_storage(call, rc);
    if (!fl_event_may_change(call, rec))
        return 0;
    if (rec->event->status == FLOW__EVENT_STATUS__EVENT_CANCELLED) {
        fl_call_fail(call, FLOW__STATUS__FAILED_PRECONDITION, "event: cancelled events do not change");
        return 0;
    }
    if (r->if_version && r->if_version != rec->event->version) {
        fl_call_fail(call, FLOW__STATUS__FAILED_PRECONDITION,
                     "if_version: the event is at version %" PRIu64, rec->event->version);
        return 0;
    }
    s_merge(call, rec->event, r->event, r->fields, r->n_fields);
    Flow__EventDraft merged;
    s_as_draft(rec->event, &merged);
    Flow__Status st = fl_event_check_draft(&merged, NULL, 0, true, call->message,
                                           sizeof call->message);
    if (st) {
        fl_call_fail(call, st, "%s", call->message);
        return 0;
    }
    rec->event->version++;
    if ((rc = s_promote(call, rec)) || (rc = fl_event_write(call, rec)))
        return fl_event_storage(call, rc == MDB_NOTFOUND ? FL_E_IO : rc);
    s_reply_event(call, rec->event);
    return 0;
}

int
fl_event_cancel(fl_call_t *call)
{
    Flow__Storage__EventRecord *rec = NULL;
    int rc = fl_event_read_visible(call, call->request->cancel_event->id, &rec);
    if (rc)
        return rc == FL_E_NOTFOUND ? 0 : fl_event_storage(call, rc);
    if (!fl_event_may_change(call, rec))
        return 0;
    if (rec->event->status != FLOW__EVENT_STATUS__EVENT_CANCELLED) {
        rec->event->status = FLOW__EVENT_STATUS__EVENT_CANCELLED;
        rec->event->version++;
        if ((rc = fl_event_write(call, rec)))
            return fl_event_storage(call, rc);
        fl_info("event", "event cancelled", "event=%s", rec->event->id);
    }
    s_reply_event(call, rec->event);
    return 0;
}

/*  ------------------------------------------------------------------
 *  Upsert (imports)  */

/*  True when the import fields of A and B are equal: each as a draft,
 *  with the sync time (which only records when) left out, packed.  */
static bool
s_same_import(fl_call_t *call, const Flow__Event *a, const Flow__Event *b)
{
    Flow__EventDraft da, db;
    s_as_draft(a, &da);
    s_as_draft(b, &db);
    Flow__Source sa = FLOW__SOURCE__INIT, sb = FLOW__SOURCE__INIT;
    if (da.source) {
        sa = *da.source;
        sa.last_sync_s = 0;
        da.source = &sa;
    }
    if (db.source) {
        sb = *db.source;
        sb.last_sync_s = 0;
        db.source = &sb;
    }
    size_t na = flow__event_draft__get_packed_size(&da);
    size_t nb = flow__event_draft__get_packed_size(&db);
    if (na != nb)
        return false;
    uint8_t *pa = fl_call_alloc(call, na + 1), *pb = fl_call_alloc(call, nb + 1);
    flow__event_draft__pack(&da, pa);
    flow__event_draft__pack(&db, pb);
    return memcmp(pa, pb, na) == 0;
}

/*  The draft as an event of the importing platform: no user organizes
 *  it, the platform's name stands for its organizer.  */
static Flow__Event *
s_imported(fl_call_t *call, const Flow__EventDraft *d, uint64_t now)
{
    Flow__Event *ev = fl_call_alloc(call, sizeof *ev);
    flow__event__init(ev);
    Flow__Organizer *org = fl_call_alloc(call, sizeof *org);
    flow__organizer__init(org);
    org->display_name = d->source->platform;
    ev->organizer = org;
    ev->id = call->route_key;
    ev->status = FLOW__EVENT_STATUS__EVENT_SCHEDULED;
    ev->created_s = now;
    ev->version = 1;
    s_merge(call, ev, d, NULL, 0);
    org->type = FLOW__ORGANIZER_TYPE__ORGANIZER_ORGANIZATION;
    Flow__Source *source = fl_call_alloc(call, sizeof *source);
    *source = *d->source;
    source->last_sync_s = now;
    ev->source = source;
    return ev;
}

int
fl_event_upsert(fl_call_t *call)
{
    const Flow__EventDraft *d = call->request->upsert_event->event;
    uint64_t now = (uint64_t) zclock_time() / 1000;
    Flow__Event *fresh = s_imported(call, d, now);
    Flow__Storage__EventRecord *rec = NULL;
    int rc = s_read(call, fresh->id, &rec);
    if (rc && rc != FL_E_NOTFOUND)
        return fl_event_storage(call, rc);
    if (rc == FL_E_NOTFOUND) {
        rec = fl_call_alloc(call, sizeof *rec);
        flow__storage__event_record__init(rec);
        rec->record_version = 1;
        rec->event = fresh;
        if ((rc = fl_event_write(call, rec)))
            return fl_event_storage(call, rc);
        call->reply.message = "created";
        s_reply_event(call, fresh);
        return 0;
    }
    Flow__Event *ev = rec->event;
    if (s_same_import(call, ev, fresh)) {
        call->reply.message = "unchanged";
        s_reply_event(call, ev);
        return 0;
    }
    if (ev->status == FLOW__EVENT_STATUS__EVENT_CANCELLED) {
        fl_call_fail(call, FLOW__STATUS__FAILED_PRECONDITION, "event: cancelled events do not change");
        return 0;
    }
    s_merge(call, ev, d, NULL, 0);
    ev->organizer->type = FLOW__ORGANIZER_TYPE__ORGANIZER_ORGANIZATION;
    ev->source = fresh->source;
    ev->version++;
    if ((rc = s_promote(call, rec)) || (rc = fl_event_write(call, rec)))
        return fl_event_storage(call, rc);
    call->reply.message = "updated";
    s_reply_event(call, ev);
    return 0;
}

/*  ------------------------------------------------------------------
 *  RSVPs  */

int
fl_event_read_rsvp(fl_call_t *call, const char *id, const char *user, Flow__Storage__RsvpRecord **out)
{
    uint8_t buf[FL_KEYSPACE_KEY_MAX];
    MDB_val key = fl_event_user_key(buf, call, id, user);
    int rc = fl_codec_get_with(call->txn, s_db.rsvps, &key,
                               &flow__storage__rsvp_record__descriptor, fl_call_allocator(call),
                               (ProtobufCMessage **) out);
    return rc;
}

static int
s_put_rsvp(fl_call_t *call, const char *id, const char *user, Flow__RsvpState state,
           uint64_t seq)
{
    if (state == FLOW__RSVP_STATE__RSVP_NONE) {
        uint8_t buf[FL_KEYSPACE_KEY_MAX];
        MDB_val key = fl_event_user_key(buf, call, id, user);
        fl_event_note(call, user);
        int rc = fl_codec_del(call->txn, s_db.rsvps, &key);
        return rc == MDB_NOTFOUND ? 0 : rc;
    }
    Flow__Storage__RsvpRecord rec = FLOW__STORAGE__RSVP_RECORD__INIT;
    rec.record_version = 1;
    rec.state = state;
    rec.since_s = (uint64_t) zclock_time() / 1000;
    rec.waitlist_seq = seq;
    return fl_event_put_rsvp(call, id, user, &rec);
}

int
fl_event_put_rsvp(fl_call_t *call, const char *id, const char *user,
                  const Flow__Storage__RsvpRecord *rec)
{
    uint8_t buf[FL_KEYSPACE_KEY_MAX];
    MDB_val key = fl_event_user_key(buf, call, id, user);
    fl_event_note(call, user);
    return fl_codec_put(call->txn, s_db.rsvps, &key, &rec->base);
}

/*  The cursor positioned on the first waitlist entry of event ID at or
 *  after SEQ; MDB_NOTFOUND when there is none.  */
static int
s_wait_seek(fl_call_t *call, MDB_cursor *cursor, const char *id, uint64_t seq,
            MDB_val *key, MDB_val *value)
{
    uint8_t buf[FL_KEYSPACE_KEY_MAX];
    MDB_val start = s_wait_key(buf, call, id, seq);
    size_t prefix = start.mv_size - 8;
    *key = start;
    int rc = mdb_cursor_get(cursor, key, value, MDB_SET_RANGE);
    if (rc == 0 && (key->mv_size != start.mv_size || memcmp(key->mv_data, buf, prefix) != 0))
        rc = MDB_NOTFOUND;
    return rc;
}

static uint64_t
s_seq_of(const MDB_val *key)
{
    const uint8_t *p = (const uint8_t *) key->mv_data + key->mv_size - 8;
    uint64_t seq = 0;
    for (int i = 0; i < 8; i++)
        seq = (seq << 8) | p[i];
    return seq;
}

/*  Seats free: admit the head of the waitlist, first in first out.  */
static int
s_promote(fl_call_t *call, Flow__Storage__EventRecord *rec)
{
    Flow__Event *ev = rec->event;
    MDB_cursor *cursor = NULL;
    int rc = mdb_cursor_open(call->txn, s_db.waitlist, &cursor);
    while (rc == 0 && ev->waitlisted > 0 && (ev->capacity == 0 || ev->going < ev->capacity)) {
        MDB_val key, value;
        rc = s_wait_seek(call, cursor, ev->id, 0, &key, &value);
        if (rc)
            break;
        Flow__Storage__WaitlistRecord *w =
            flow__storage__waitlist_record__unpack(fl_call_allocator(call), value.mv_size,
                                                    value.mv_data);
        if (!w) {
            rc = FL_E_CORRUPT;
            break;
        }
        if ((rc = fl_codec_cursor_del(cursor)) == 0
            && (rc = s_put_rsvp(call, ev->id, w->user_id, FLOW__RSVP_STATE__RSVP_GOING, 0)) == 0) {
            ev->waitlisted--;
            ev->going++;
        }
    }
    mdb_cursor_close(cursor);
    return rc == MDB_NOTFOUND ? 0 : rc;
}

/*  1-based place of SEQ in the waitlist of event ID.  */
static uint32_t
s_position(fl_call_t *call, const char *id, uint64_t seq)
{
    MDB_cursor *cursor = NULL;
    if (mdb_cursor_open(call->txn, s_db.waitlist, &cursor) != 0)
        return 0;
    uint32_t position = 0;
    MDB_val key, value;
    int rc = s_wait_seek(call, cursor, id, 0, &key, &value);
    while (rc == 0 && s_seq_of(&key) <= seq) {
        position++;
        rc = mdb_cursor_get(cursor, &key, &value, MDB_NEXT);
        uint8_t buf[FL_KEYSPACE_KEY_MAX];
        MDB_val any = s_wait_key(buf, call, id, 0);
        if (rc == 0 && (key.mv_size != any.mv_size
                        || memcmp(key.mv_data, buf, any.mv_size - 8) != 0))
            break;
    }
    mdb_cursor_close(cursor);
    return position;
}

/*  Leaves state CUR (frees a seat or a waitlist place).  */
static int
s_leave(fl_call_t *call, Flow__Storage__EventRecord *rec, const Flow__Storage__RsvpRecord *cur)
{
    Flow__Event *ev = rec->event;
    if (!cur)
        return 0;
    if (cur->state == FLOW__RSVP_STATE__RSVP_INTERESTED && ev->interested > 0)
        ev->interested--;
    if (cur->state == FLOW__RSVP_STATE__RSVP_WAITLISTED) {
        uint8_t buf[FL_KEYSPACE_KEY_MAX];
        MDB_val key = s_wait_key(buf, call, ev->id, cur->waitlist_seq);
        int rc = fl_codec_del(call->txn, s_db.waitlist, &key);
        if (rc && rc != MDB_NOTFOUND)
            return rc;
        if (ev->waitlisted > 0)
            ev->waitlisted--;
    }
    if (cur->state == FLOW__RSVP_STATE__RSVP_GOING) {
        if (ev->going > 0)
            ev->going--;
        return s_promote(call, rec);
    }
    return 0;
}

/*  True when asking to go needs the user's standing (points, attendee
 *  rating), which the user's actor keeps.  */
static bool
s_needs_standing(const fl_call_t *call, const Flow__Storage__EventRecord *rec)
{
    const Flow__Requirements *req = rec->event->requirements;
    return req && (req->min_points > 0 || req->min_attendee_rating > 0)
           && !fl_event_is_organizer(rec, call->principal);
}

/*  The standing the user's actor answered with; NULL when it did not.  */
static const Flow__Standing *
s_standing(const fl_call_t *call)
{
    const Flow__Reply *answer = call->answer;
    if (!answer || answer->status != FLOW__STATUS__OK
        || answer->body_case != FLOW__REPLY__BODY_STANDING)
        return NULL;
    return answer->standing;
}

/*  Requirements for asking to go; FAILED_PRECONDITION naming the one
 *  that is not met.  Points and the attendee rating are read from the
 *  standing (s_standing), the one place RSVPs learn them.  */
static bool
s_meets_requirements(fl_call_t *call, const Flow__Storage__EventRecord *rec)
{
    const Flow__Requirements *req = rec->event->requirements;
    const char *user = call->principal->user_id;
    if (!req || fl_event_is_organizer(rec, call->principal))
        return true;
    if (req->invite_only && !s_is_invited(rec, user)) {
        fl_call_fail(call, FLOW__STATUS__FAILED_PRECONDITION,
                     "requirements.invite_only: this event admits invited users only");
        return false;
    }
    if (!s_needs_standing(call, rec))
        return true;
    const Flow__Standing *st = s_standing(call);
    if (!st) {
        fl_call_fail(call, FLOW__STATUS__UNAVAILABLE,
                     "requirements: your points and rating could not be read; retry shortly");
        return false;
    }
    if (req->min_points > st->points) {
        fl_call_fail(call, FLOW__STATUS__FAILED_PRECONDITION,
                     "requirements.min_points: %u points needed, you have %u", req->min_points,
                     st->points);
        return false;
    }
    if (req->min_attendee_rating > 0 && st->attendee_rating < req->min_attendee_rating) {
        fl_call_fail(call, FLOW__STATUS__FAILED_PRECONDITION,
                     "requirements.min_attendee_rating: a rating of %.1f is needed, yours is "
                     "%.1f from %u ratings", req->min_attendee_rating, st->attendee_rating,
                     st->attendee_ratings);
        return false;
    }
    return true;
}

/*  Asks the user's actor for the caller's standing; the RSVP runs again
 *  with the answer (fl_call_ask).  */
static void
s_ask_standing(fl_call_t *call)
{
    Flow__StandingRequest *sr = fl_call_alloc(call, sizeof *sr);
    flow__standing_request__init(sr);
    sr->user_id = fl_call_strdup(call, call->principal->user_id);
    Flow__Request *req = fl_call_alloc(call, sizeof *req);
    flow__request__init(req);
    req->version = FL_PROTOCOL_VERSION;
    req->body_case = FLOW__REQUEST__BODY_STANDING;
    req->standing = sr;
    fl_call_ask(call, FLOW__ACTOR__ACTOR_USER, sr->user_id, req);
}

/*  Moves the caller from CUR to WANT; sets *STATE and *SEQ to where it
 *  landed (going may become waitlisted).  */
static int
s_move(fl_call_t *call, Flow__Storage__EventRecord *rec, const Flow__Storage__RsvpRecord *cur,
       Flow__RsvpState want, Flow__RsvpState *state, uint64_t *seq)
{
    Flow__Event *ev = rec->event;
    Flow__RsvpState from = cur ? cur->state : FLOW__RSVP_STATE__RSVP_NONE;
    *state = from;
    *seq = cur ? cur->waitlist_seq : 0;
    bool asking_to_go = want == FLOW__RSVP_STATE__RSVP_GOING;
    if (from == want || (asking_to_go && from == FLOW__RSVP_STATE__RSVP_WAITLISTED))
        return 0;
    if (asking_to_go && !s_meets_requirements(call, rec))
        return 0;
    int rc = s_leave(call, rec, cur);
    if (rc)
        return rc;
    *seq = 0;
    *state = want;
    if (want == FLOW__RSVP_STATE__RSVP_INTERESTED)
        ev->interested++;
    else
    if (asking_to_go && (ev->capacity == 0 || ev->going < ev->capacity))
        ev->going++;
    else
    if (asking_to_go) {
        *state = FLOW__RSVP_STATE__RSVP_WAITLISTED;
        *seq = ++rec->next_waitlist_seq;
        uint8_t buf[FL_KEYSPACE_KEY_MAX];
        MDB_val key = s_wait_key(buf, call, ev->id, *seq);
        Flow__Storage__WaitlistRecord w = FLOW__STORAGE__WAITLIST_RECORD__INIT;
        w.record_version = 1;
        w.user_id = (char *) call->principal->user_id;
        if ((rc = fl_codec_put(call->txn, s_db.waitlist, &key, &w.base)))
            return rc;
        ev->waitlisted++;
    }
    return s_put_rsvp(call, ev->id, call->principal->user_id, *state, *seq);
}

int
fl_event_rsvp(fl_call_t *call)
{
    const Flow__RsvpRequest *r = call->request->rsvp;
    Flow__Storage__EventRecord *rec = NULL;
    int rc = fl_event_read_visible(call, r->event_id, &rec);
    if (rc)
        return rc == FL_E_NOTFOUND ? 0 : fl_event_storage(call, rc);
    if (rec->event->status == FLOW__EVENT_STATUS__EVENT_CANCELLED
        || rec->event->end_s <= zclock_time() / 1000) {
        fl_call_fail(call, FLOW__STATUS__FAILED_PRECONDITION, "event: %s",
                     rec->event->status == FLOW__EVENT_STATUS__EVENT_CANCELLED ? "cancelled"
                                                                             : "already over");
        return 0;
    }
    Flow__Storage__RsvpRecord *cur = NULL;
    rc = fl_event_read_rsvp(call, r->event_id, call->principal->user_id, &cur);
    if (rc && rc != FL_E_NOTFOUND)
        return fl_event_storage(call, rc);
    if (rc == 0 && cur->checked_in && r->state != cur->state) {
        /*  Attendance is a fact: the check-in, the organizer's rating and
         *  the right to review hang on this RSVP.  */
        fl_call_fail(call, FLOW__STATUS__FAILED_PRECONDITION,
                     "rsvp: you were checked in at this event; your RSVP stays as it is");
        return 0;
    }
    bool joining = r->state == FLOW__RSVP_STATE__RSVP_GOING
                   && (rc || (cur->state != FLOW__RSVP_STATE__RSVP_GOING
                              && cur->state != FLOW__RSVP_STATE__RSVP_WAITLISTED));
    if (joining && !call->resumed && s_needs_standing(call, rec)) {
        s_ask_standing(call);
        return 0;
    }
    Flow__RsvpState state;
    uint64_t seq;
    if ((rc = s_move(call, rec, rc == 0 ? cur : NULL, r->state, &state, &seq)))
        return fl_event_storage(call, rc);
    if (call->reply.status != FLOW__STATUS__OK)
        return 0;
    if ((rc = fl_event_write(call, rec)))
        return fl_event_storage(call, rc);
    Flow__RsvpReply *out = fl_call_alloc(call, sizeof *out);
    flow__rsvp_reply__init(out);
    out->state = state;
    out->waitlist_position = state == FLOW__RSVP_STATE__RSVP_WAITLISTED
                           ? s_position(call, rec->event->id, seq) : 0;
    rec->event->my_rsvp = state;
    rec->event->my_waitlist_position = out->waitlist_position;
    out->event = rec->event;
    call->reply.body_case = FLOW__REPLY__BODY_RSVP;
    call->reply.rsvp = out;
    return 0;
}

int
fl_event_get(fl_call_t *call)
{
    const char *id = call->request->get_event->id;
    Flow__Storage__EventRecord *rec = NULL;
    int rc = fl_event_read_visible(call, id, &rec);
    if (rc)
        return rc == FL_E_NOTFOUND ? 0 : fl_event_storage(call, rc);
    Flow__Storage__RsvpRecord *mine = NULL;
    if (call->principal && fl_event_read_rsvp(call, id, call->principal->user_id, &mine) == 0) {
        rec->event->my_rsvp = mine->state;
        if (mine->state == FLOW__RSVP_STATE__RSVP_WAITLISTED)
            rec->event->my_waitlist_position = s_position(call, id, mine->waitlist_seq);
    }
    s_reply_event(call, rec->event);
    return 0;
}

int
fl_event_invite(fl_call_t *call)
{
    const Flow__InviteRequest *r = call->request->invite;
    Flow__Storage__EventRecord *rec = NULL;
    int rc = fl_event_read_visible(call, r->event_id, &rec);
    if (rc)
        return rc == FL_E_NOTFOUND ? 0 : fl_event_storage(call, rc);
    if (!fl_event_may_change(call, rec))
        return 0;
    if (rec->event->status == FLOW__EVENT_STATUS__EVENT_CANCELLED) {
        fl_call_fail(call, FLOW__STATUS__FAILED_PRECONDITION, "event: cancelled events do not change");
        return 0;
    }
    /*  rec->invited grows in place so that s_is_invited() also sees the
     *  ids added earlier in this request.  */
    char **invited = fl_call_alloc(call, (rec->n_invited + r->n_user_ids) * sizeof *invited);
    for (size_t i = 0; i < rec->n_invited; i++)
        invited[i] = rec->invited[i];
    rec->invited = invited;
    for (size_t i = 0; i < r->n_user_ids; i++)
        if (!s_is_invited(rec, r->user_ids[i]))
            invited[rec->n_invited++] = r->user_ids[i];
    if (rec->n_invited > INVITES_MAX) {
        fl_call_fail(call, FLOW__STATUS__RESOURCE_EXHAUSTED, "user_ids: an event holds at most %d invitations",
                     INVITES_MAX);
        return 0;
    }
    if ((rc = fl_event_write(call, rec)))
        return fl_event_storage(call, rc);
    s_reply_event(call, rec->event);
    return 0;
}

/*  ------------------------------------------------------------------
 *  Attendee lists  */

static Flow__Attendee *
s_attendee(fl_call_t *call, const char *user, Flow__RsvpState state, uint64_t since,
           uint32_t position)
{
    Flow__Attendee *a = fl_call_alloc(call, sizeof *a);
    flow__attendee__init(a);
    a->user_id = fl_call_strdup(call, user);
    a->state = state;
    a->since_s = since;
    a->waitlist_position = position;
    return a;
}

int
fl_event_scan_users(fl_call_t *call, MDB_dbi dbi, const char *id, const char *after,
                    fl_event_user_visit_fn *visit, void *arg)
{
    uint8_t buf[FL_KEYSPACE_KEY_MAX];
    MDB_val prefix = fl_event_user_key(buf, call, id, "");
    uint8_t start_buf[FL_KEYSPACE_KEY_MAX];
    MDB_val key = after[0] ? fl_event_user_key(start_buf, call, id, after) : prefix, value;
    MDB_cursor *cursor = NULL;
    int rc = mdb_cursor_open(call->txn, dbi, &cursor);
    int op = MDB_SET_RANGE;
    bool more = true;
    while (more && rc == 0 && (rc = mdb_cursor_get(cursor, &key, &value, op)) == 0
           && key.mv_size > prefix.mv_size
           && memcmp(key.mv_data, prefix.mv_data, prefix.mv_size) == 0) {
        op = MDB_NEXT;
        char user[64];
        size_t len = key.mv_size - prefix.mv_size;
        if (len >= sizeof user)
            continue;
        memcpy(user, (char *) key.mv_data + prefix.mv_size, len);
        user[len] = '\0';
        if (!after[0] || strcmp(user, after) > 0)
            more = visit(call, user, &value, arg);
    }
    mdb_cursor_close(cursor);
    return rc == MDB_NOTFOUND ? 0 : rc;
}

typedef struct {
    Flow__RsvpState want;
    Flow__AttendeesReply *out;
    size_t limit;
} s_rsvp_page_t;

static bool
s_rsvp_visit(fl_call_t *call, const char *user, const MDB_val *value, void *arg)
{
    s_rsvp_page_t *page = arg;
    Flow__Storage__RsvpRecord *r = flow__storage__rsvp_record__unpack(
        fl_call_allocator(call), value->mv_size, value->mv_data);
    if (!r || r->state != page->want)
        return true;
    Flow__AttendeesReply *out = page->out;
    if (out->n_attendees == page->limit) {
        out->next_cursor = fl_call_strdup(call, out->attendees[page->limit - 1]->user_id);
        return false;
    }
    out->attendees[out->n_attendees++] = s_attendee(call, user, page->want, r->since_s, 0);
    return true;
}

/*  GOING or INTERESTED: RSVPs in user id order, after the cursor.  */
static int
s_list_rsvps(fl_call_t *call, const char *id, Flow__RsvpState want, const char *after,
             Flow__AttendeesReply *out, size_t limit)
{
    s_rsvp_page_t page = { want, out, limit };
    return fl_event_scan_users(call, s_db.rsvps, id, after, s_rsvp_visit, &page);
}

/*  WAITLISTED: in queue order, after the cursor (a sequence number).  */
static int
s_list_waitlist(fl_call_t *call, const char *id, const char *after, Flow__AttendeesReply *out,
                size_t limit)
{
    uint64_t last = after[0] ? strtoull(after, NULL, 16) : 0;
    if (last == UINT64_MAX)
        return 0;                        /* nothing can follow the last sequence number */
    uint64_t from = after[0] ? last + 1 : 0;
    uint32_t position = after[0] ? s_position(call, id, from - 1) : 0;
    MDB_cursor *cursor = NULL;
    int rc = mdb_cursor_open(call->txn, s_db.waitlist, &cursor);
    MDB_val key, value;
    if (rc == 0)
        rc = s_wait_seek(call, cursor, id, from, &key, &value);
    uint8_t buf[FL_KEYSPACE_KEY_MAX];
    MDB_val any = s_wait_key(buf, call, id, 0);
    while (rc == 0 && key.mv_size == any.mv_size
           && memcmp(key.mv_data, buf, any.mv_size - 8) == 0) {
        Flow__Storage__WaitlistRecord *w = flow__storage__waitlist_record__unpack(
            fl_call_allocator(call), value.mv_size, value.mv_data);
        if (w && out->n_attendees == limit) {
            char cursor_text[17];
            snprintf(cursor_text, sizeof cursor_text, "%016" PRIx64, s_seq_of(&key) - 1);
            out->next_cursor = fl_call_strdup(call, cursor_text);
            break;
        }
        if (w)
            out->attendees[out->n_attendees++] =
                s_attendee(call, w->user_id, FLOW__RSVP_STATE__RSVP_WAITLISTED, 0, ++position);
        rc = mdb_cursor_get(cursor, &key, &value, MDB_NEXT);
    }
    mdb_cursor_close(cursor);
    return rc == MDB_NOTFOUND ? 0 : rc;
}

int
fl_event_attendees(fl_call_t *call)
{
    const Flow__AttendeesRequest *r = call->request->attendees;
    Flow__Storage__EventRecord *rec = NULL;
    int rc = fl_event_read_visible(call, r->event_id, &rec);
    if (rc)
        return rc == FL_E_NOTFOUND ? 0 : fl_event_storage(call, rc);
    size_t limit = r->limit ? r->limit : PAGE_DEFAULT;
    Flow__AttendeesReply *out = fl_call_alloc(call, sizeof *out);
    flow__attendees_reply__init(out);
    out->attendees = fl_call_alloc(call, limit * sizeof *out->attendees);
    Flow__RsvpState want = r->state ? r->state : FLOW__RSVP_STATE__RSVP_GOING;
    rc = want == FLOW__RSVP_STATE__RSVP_WAITLISTED
       ? s_list_waitlist(call, r->event_id, r->cursor, out, limit)
       : s_list_rsvps(call, r->event_id, want, r->cursor, out, limit);
    if (rc)
        return fl_event_storage(call, rc == MDB_MAP_FULL ? rc : FL_E_IO);
    call->reply.body_case = FLOW__REPLY__BODY_ATTENDEES;
    call->reply.attendees = out;
    return 0;
}

/*  ------------------------------------------------------------------
 *  Shared with review.c (records.h)  */

MDB_dbi
fl_event_rsvps_db(void)
{
    return s_db.rsvps;
}

MDB_dbi
fl_event_reviews_db(void)
{
    return s_db.reviews;
}
