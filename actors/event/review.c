/*  actors/event/review.c — check-in, attendee ratings and reviews; see
 *  event.h.
 *
 *  Everything here lives in the event's partition and is written by the
 *  event's actor, so each request is one transaction:
 *   - check-in and the organizer's rating of an attendee are fields of
 *     the attendee's RsvpRecord (checked_in, attendee_stars);
 *   - a review is one ReviewRecord per attendee in "reviews"; the event
 *     keeps rating_sum and rating_count of them, and event.rating and
 *     event.reviews are set from those in the same transaction as the
 *     review, so they are never out of step;
 *   - each of these changes bumps the event's revision (fl_event_write).
 *  A user's attendee rating across events and an organizer's average
 *  live with the user (actors/user/standing.c): fl_event_write tells the
 *  attendee's actor of a check-in or rating, and the organizer's of the
 *  event's new review sums.
 */
#include "actors/event/records.h"
#include "node/error.h"
#include "node/text.h"
#include "storage/codec.h"

#include <czmq.h>

#define CHECK_IN_OPENS_S (2 * 3600)
#define REVIEW_MAX_CHARS 2000
#define PAGE_DEFAULT 50
#define PAGE_MAX 200

/*  ------------------------------------------------------------------
 *  Checks  */

static bool
s_is_user_id(const char *s)
{
    return strlen(s) == 16 && strspn(s, "0123456789abcdef") == 16;
}

static Flow__Status
s_check_stars(uint32_t stars, char *msg, size_t msglen)
{
    if (stars >= 1 && stars <= 5)
        return FLOW__STATUS__OK;
    snprintf(msg, msglen, "stars: 1 to 5");
    return FLOW__STATUS__INVALID_ARGUMENT;
}

static Flow__Status
s_check_user(const char *user, char *msg, size_t msglen)
{
    if (s_is_user_id(user))
        return FLOW__STATUS__OK;
    snprintf(msg, msglen, "user_id: not a user id (16 hex digits)");
    return FLOW__STATUS__INVALID_ARGUMENT;
}

Flow__Status
fl_event_check_check_in(const Flow__Request *req, const char *user_id, fl_route_t *route,
                        char *msg, size_t msglen)
{
    (void) user_id;
    const Flow__CheckInRequest *r = req->check_in;
    Flow__Status st = s_check_user(r->user_id, msg, msglen);
    return st ? st : fl_event_route(r->event_id, route, msg, msglen);
}

Flow__Status
fl_event_check_rate_attendee(const Flow__Request *req, const char *user_id, fl_route_t *route,
                             char *msg, size_t msglen)
{
    (void) user_id;
    const Flow__RateAttendeeRequest *r = req->rate_attendee;
    Flow__Status st = s_check_user(r->user_id, msg, msglen);
    if (!st)
        st = s_check_stars(r->stars, msg, msglen);
    return st ? st : fl_event_route(r->event_id, route, msg, msglen);
}

Flow__Status
fl_event_check_review(const Flow__Request *req, const char *user_id, fl_route_t *route,
                      char *msg, size_t msglen)
{
    (void) user_id;
    const Flow__ReviewRequest *r = req->review;
    Flow__Status st = s_check_stars(r->stars, msg, msglen);
    if (st)
        return st;
    if (fl_text_check("text", r->text, REVIEW_MAX_CHARS, false, true, msg, msglen))
        return FLOW__STATUS__INVALID_ARGUMENT;
    return fl_event_route(r->event_id, route, msg, msglen);
}

Flow__Status
fl_event_check_reviews(const Flow__Request *req, const char *user_id, fl_route_t *route,
                       char *msg, size_t msglen)
{
    (void) user_id;
    const Flow__ReviewsRequest *r = req->reviews;
    if (r->limit > PAGE_MAX) {
        snprintf(msg, msglen, "limit: at most %d", PAGE_MAX);
        return FLOW__STATUS__INVALID_ARGUMENT;
    }
    if (r->cursor[0] && !s_is_user_id(r->cursor)) {
        snprintf(msg, msglen, "cursor: malformed");
        return FLOW__STATUS__INVALID_ARGUMENT;
    }
    return fl_event_route(r->event_id, route, msg, msglen);
}

/*  ------------------------------------------------------------------
 *  Check-in and attendee ratings  */

/*  USER's RSVP to event ID when it is checked in (WANT_CHECKED_IN) or
 *  going (otherwise); else NULL, with *RC a storage error or 0 and the
 *  call failed FAILED_PRECONDITION with RULE.  */
static Flow__Storage__RsvpRecord *
s_attendee_rsvp(fl_call_t *call, const char *id, const char *user, bool want_checked_in,
                const char *rule, int *rc)
{
    Flow__Storage__RsvpRecord *rsvp = NULL;
    *rc = fl_event_read_rsvp(call, id, user, &rsvp);
    if (*rc && *rc != FL_E_NOTFOUND)
        return NULL;
    *rc = 0;
    bool ok = rsvp && (want_checked_in ? rsvp->checked_in
                                       : rsvp->state == FLOW__RSVP_STATE__RSVP_GOING);
    if (!ok) {
        fl_call_fail(call, FLOW__STATUS__FAILED_PRECONDITION, "%s", rule);
        return NULL;
    }
    return rsvp;
}

static void
s_reply_event(fl_call_t *call, Flow__Event *ev)
{
    call->reply.body_case = FLOW__REPLY__BODY_EVENT;
    call->reply.event = ev;
}

int
fl_event_check_in(fl_call_t *call)
{
    const Flow__CheckInRequest *r = call->request->check_in;
    Flow__Storage__EventRecord *rec = NULL;
    int rc = fl_event_read_visible(call, r->event_id, &rec);
    if (rc)
        return rc == FL_E_NOTFOUND ? 0 : fl_event_storage(call, rc);
    if (!fl_event_may_change(call, rec))
        return 0;
    const Flow__Event *ev = rec->event;
    int64_t now = zclock_time() / 1000;
    const char *closed = ev->status == FLOW__EVENT_STATUS__EVENT_CANCELLED
                       ? "check-in: the event is cancelled"
                       : now < ev->start_s - CHECK_IN_OPENS_S
                       ? "check-in: opens 2 hours before the start"
                       : now > ev->end_s ? "check-in: closed at the end of the event" : NULL;
    if (closed) {
        fl_call_fail(call, FLOW__STATUS__FAILED_PRECONDITION, "%s", closed);
        return 0;
    }
    Flow__Storage__RsvpRecord *rsvp = s_attendee_rsvp(
        call, r->event_id, r->user_id, false, "check-in: the user is not going", &rc);
    if (!rsvp)
        return rc ? fl_event_storage(call, rc) : 0;
    if (!rsvp->checked_in) {
        rsvp->checked_in = true;
        if ((rc = fl_event_put_rsvp(call, r->event_id, r->user_id, rsvp))
            || (rc = fl_event_write(call, rec)))
            return fl_event_storage(call, rc);
    }
    s_reply_event(call, rec->event);
    return 0;
}

int
fl_event_rate_attendee(fl_call_t *call)
{
    const Flow__RateAttendeeRequest *r = call->request->rate_attendee;
    Flow__Storage__EventRecord *rec = NULL;
    int rc = fl_event_read_visible(call, r->event_id, &rec);
    if (rc)
        return rc == FL_E_NOTFOUND ? 0 : fl_event_storage(call, rc);
    if (!fl_event_is_organizer(rec, call->principal)) {
        fl_call_fail(call, FLOW__STATUS__PERMISSION_DENIED,
                     "only the organizer may rate attendees");
        return 0;
    }
    if (zclock_time() / 1000 < rec->event->start_s) {
        fl_call_fail(call, FLOW__STATUS__FAILED_PRECONDITION,
                     "rate_attendee: attendees are rated after the start");
        return 0;
    }
    Flow__Storage__RsvpRecord *rsvp = s_attendee_rsvp(
        call, r->event_id, r->user_id, true, "rate_attendee: the user was not checked in", &rc);
    if (!rsvp)
        return rc ? fl_event_storage(call, rc) : 0;
    if (rsvp->attendee_stars != r->stars) {
        rsvp->attendee_stars = r->stars;
        if ((rc = fl_event_put_rsvp(call, r->event_id, r->user_id, rsvp))
            || (rc = fl_event_write(call, rec)))
            return fl_event_storage(call, rc);
    }
    s_reply_event(call, rec->event);
    return 0;
}

/*  ------------------------------------------------------------------
 *  Reviews  */

static Flow__Review *
s_review(fl_call_t *call, const char *user, const Flow__Storage__ReviewRecord *rec)
{
    Flow__Review *out = fl_call_alloc(call, sizeof *out);
    flow__review__init(out);
    out->user_id = fl_call_strdup(call, user);
    out->stars = rec->stars;
    out->text = rec->text;
    out->created_s = rec->created_s;
    out->updated_s = rec->updated_s;
    return out;
}

int
fl_event_review(fl_call_t *call)
{
    const Flow__ReviewRequest *r = call->request->review;
    Flow__Storage__EventRecord *rec = NULL;
    int rc = fl_event_read_visible(call, r->event_id, &rec);
    if (rc)
        return rc == FL_E_NOTFOUND ? 0 : fl_event_storage(call, rc);
    if (!call->principal) {
        fl_call_fail(call, FLOW__STATUS__PERMISSION_DENIED, "review: sign in to review");
        return 0;
    }
    const char *user = call->principal->user_id;
    if (!s_attendee_rsvp(call, r->event_id, user, true,
                         "review: only checked-in attendees may review", &rc))
        return rc ? fl_event_storage(call, rc) : 0;
    uint8_t buf[FL_KEYSPACE_KEY_MAX];
    MDB_val key = fl_event_user_key(buf, call, r->event_id, user);
    Flow__Storage__ReviewRecord *old = NULL;
    rc = fl_codec_get_with(call->txn, fl_event_reviews_db(), &key,
                           &flow__storage__review_record__descriptor, fl_call_allocator(call),
                           (ProtobufCMessage **) &old);
    if (rc && rc != FL_E_NOTFOUND)
        return fl_event_storage(call, rc);
    uint64_t now = (uint64_t) zclock_time() / 1000;
    Flow__Storage__ReviewRecord review = FLOW__STORAGE__REVIEW_RECORD__INIT;
    review.record_version = 1;
    review.stars = r->stars;
    review.text = r->text;
    review.created_s = rc == 0 ? old->created_s : now;
    review.updated_s = now;
    if (rc == 0)
        rec->rating_sum -= old->stars;
    else
        rec->rating_count++;
    rec->rating_sum += r->stars;
    rec->event->reviews = rec->rating_count;
    rec->event->rating = (double) rec->rating_sum / rec->rating_count;
    fl_event_note(call, rec->event->organizer->user_id);
    if ((rc = fl_codec_put(call->txn, fl_event_reviews_db(), &key, &review.base))
        || (rc = fl_event_write(call, rec)))
        return fl_event_storage(call, rc);
    call->reply.body_case = FLOW__REPLY__BODY_REVIEW;
    call->reply.review = s_review(call, user, &review);
    return 0;
}

typedef struct {
    Flow__ReviewsReply *out;
    size_t limit;
} s_page_t;

static bool
s_review_visit(fl_call_t *call, const char *user, const MDB_val *value, void *arg)
{
    s_page_t *page = arg;
    Flow__Storage__ReviewRecord *rv = flow__storage__review_record__unpack(
        fl_call_allocator(call), value->mv_size, value->mv_data);
    if (!rv)
        return true;
    Flow__ReviewsReply *out = page->out;
    if (out->n_reviews == page->limit) {
        out->next_cursor = fl_call_strdup(call, out->reviews[page->limit - 1]->user_id);
        return false;
    }
    out->reviews[out->n_reviews++] = s_review(call, user, rv);
    return true;
}

/*  Reviews of event ID in user id order, after the cursor AFTER.  */
static int
s_list_reviews(fl_call_t *call, const char *id, const char *after, Flow__ReviewsReply *out,
               size_t limit)
{
    s_page_t page = { out, limit };
    return fl_event_scan_users(call, fl_event_reviews_db(), id, after, s_review_visit, &page);
}

int
fl_event_reviews(fl_call_t *call)
{
    const Flow__ReviewsRequest *r = call->request->reviews;
    Flow__Storage__EventRecord *rec = NULL;
    int rc = fl_event_read_visible(call, r->event_id, &rec);
    if (rc)
        return rc == FL_E_NOTFOUND ? 0 : fl_event_storage(call, rc);
    size_t limit = r->limit ? r->limit : PAGE_DEFAULT;
    Flow__ReviewsReply *out = fl_call_alloc(call, sizeof *out);
    flow__reviews_reply__init(out);
    out->reviews = fl_call_alloc(call, limit * sizeof *out->reviews);
    if ((rc = s_list_reviews(call, r->event_id, r->cursor, out, limit)))
        return fl_event_storage(call, rc == MDB_MAP_FULL ? rc : FL_E_IO);
    call->reply.body_case = FLOW__REPLY__BODY_REVIEWS;
    call->reply.reviews = out;
    return 0;
}
