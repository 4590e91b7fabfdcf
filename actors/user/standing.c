/*  actors/user/standing.c — a user's events and standing; see user.h.
 *
 *  The event actors own RSVPs, check-ins, attendee ratings and reviews;
 *  they tell the user actor of every change to a user's relation to an
 *  event with a RelationUpdate through their outbox (node/outbox.h).  The
 *  user actor keeps, in the user's partition:
 *   - one HistoryRecord per (user, event): the relation as of the
 *     event's highest revision told so far.  An update with a revision
 *     not above the stored one changes nothing, so a repeated or late
 *     delivery is harmless;
 *   - one StandingRecord per user: the sums over those records (attendee
 *     stars given by organizers; review stars of the events the user
 *     organizes), changed in the same transaction as the record they sum,
 *     by the difference between the old and the new record.
 *  Standing = the means of those sums; it is public on the profile and
 *  read by event actors (StandingRequest) for RSVP requirements.
 */
#include "actors/user/records.h"
#include "actors/user/user.h"
#include "node/error.h"
#include "storage/codec.h"

#include <czmq.h>

#define EVENT_ID_LEN 16
#define PAGE_DEFAULT 50
#define PAGE_MAX 200

static bool
s_is_hex(const char *s, size_t len)
{
    return strlen(s) == len && strspn(s, "0123456789abcdef") == len;
}

/*  ------------------------------------------------------------------
 *  Checks  */

Flow__Status
fl_user_check_relation_update(const Flow__Request *req, const char *user_id, fl_route_t *route,
                              char *msg, size_t msglen)
{
    (void) user_id;
    const Flow__RelationUpdate *r = req->relation_update;
    if (!s_is_hex(r->user_id, 16) || !s_is_hex(r->event_id, EVENT_ID_LEN)) {
        snprintf(msg, msglen, "relation_update: malformed user or event id");
        return FLOW__STATUS__INVALID_ARGUMENT;
    }
    if (r->relation < FLOW__RELATION__RELATION_NONE
        || r->relation > FLOW__RELATION__RELATION_WAITLISTED || r->attendee_stars > 5) {
        snprintf(msg, msglen, "relation_update: relation or stars out of range");
        return FLOW__STATUS__INVALID_ARGUMENT;
    }
    fl_user_route(r->user_id, route);
    return FLOW__STATUS__OK;
}

Flow__Status
fl_user_check_standing(const Flow__Request *req, const char *user_id, fl_route_t *route,
                       char *msg, size_t msglen)
{
    (void) user_id;
    if (!s_is_hex(req->standing->user_id, 16)) {
        snprintf(msg, msglen, "standing.user_id: not a user id (16 hex digits)");
        return FLOW__STATUS__INVALID_ARGUMENT;
    }
    fl_user_route(req->standing->user_id, route);
    return FLOW__STATUS__OK;
}

Flow__Status
fl_user_check_history(const Flow__Request *req, const char *user_id, fl_route_t *route,
                      char *msg, size_t msglen)
{
    const Flow__HistoryRequest *r = req->history;
    if (!user_id) {
        snprintf(msg, msglen, "history: the signed-in user's only");
        return FLOW__STATUS__UNAUTHENTICATED;
    }
    if (r->limit > PAGE_MAX) {
        snprintf(msg, msglen, "limit: at most %d", PAGE_MAX);
        return FLOW__STATUS__INVALID_ARGUMENT;
    }
    if (r->cursor[0] && !s_is_hex(r->cursor, EVENT_ID_LEN)) {
        snprintf(msg, msglen, "cursor: malformed");
        return FLOW__STATUS__INVALID_ARGUMENT;
    }
    fl_user_route(user_id, route);
    return FLOW__STATUS__OK;
}

/*  ------------------------------------------------------------------
 *  Records  */

static MDB_val
s_standing_key(uint8_t buf[FL_KEYSPACE_KEY_MAX], fl_call_t *call, const char *user)
{
    return fl_user_key(buf, fl_user_partition(call, user), user, NULL);
}

/*  *OUT = the stored record, or a zero one (not stored) when absent.  */
static int
s_read(fl_call_t *call, MDB_dbi dbi, const MDB_val *key, const ProtobufCMessageDescriptor *desc,
       ProtobufCMessage **out)
{
    int rc = fl_codec_get_with(call->txn, dbi, key, desc, fl_call_allocator(call), out);
    if (rc != FL_E_NOTFOUND)
        return rc;
    *out = fl_call_alloc(call, desc->sizeof_message);
    protobuf_c_message_init(desc, *out);
    return 0;
}

static int
s_read_standing(fl_call_t *call, const char *user, Flow__Storage__StandingRecord **out)
{
    uint8_t buf[FL_KEYSPACE_KEY_MAX];
    MDB_val key = s_standing_key(buf, call, user);
    return s_read(call, fl_user_dbs.standing, &key, &flow__storage__standing_record__descriptor,
                  (ProtobufCMessage **) out);
}

static double
s_mean(uint64_t sum, uint32_t count)
{
    return count ? (double) sum / count : 0;
}

int
fl_user_standing_of(fl_call_t *call, const char *user_id, Flow__Standing **out)
{
    Flow__Storage__StandingRecord *rec = NULL;
    int rc = s_read_standing(call, user_id, &rec);
    if (rc)
        return rc;
    Flow__Standing *st = fl_call_alloc(call, sizeof *st);
    flow__standing__init(st);
    st->attendee_rating = s_mean(rec->attendee_stars, rec->attendee_ratings);
    st->attendee_ratings = rec->attendee_ratings;
    st->organizer_rating = s_mean(rec->review_stars, rec->reviews);
    st->organizer_reviews = rec->reviews;
    *out = st;
    return 0;
}

/*  Adds the sums of H (SIGN +1) or takes them away (-1).  */
static void
s_apply(Flow__Storage__StandingRecord *st, const Flow__Storage__HistoryRecord *h, int sign)
{
    if (h->attendee_stars) {
        st->attendee_stars += sign > 0 ? h->attendee_stars : -(uint64_t) h->attendee_stars;
        st->attendee_ratings += sign > 0 ? 1 : -1u;
    }
    st->review_stars += sign > 0 ? h->review_stars : -h->review_stars;
    st->reviews += sign > 0 ? h->reviews : -h->reviews;
}

/*  ------------------------------------------------------------------
 *  Handlers  */

static int
s_storage(fl_call_t *call, int rc)
{
    if (rc == MDB_MAP_FULL || rc == FL_E_IO)
        return rc;
    fl_call_fail(call, FLOW__STATUS__INTERNAL, "storage: %s", fl_strerror(rc));
    return 0;
}

int
fl_user_relation_update(fl_call_t *call)
{
    const Flow__RelationUpdate *r = call->request->relation_update;
    Flow__Storage__UserRecord *user = NULL;
    int rc = fl_user_read(call, r->user_id, &user);
    if (rc == FL_E_NOTFOUND)
        return 0;               /* the account is gone, and its history with it */
    if (rc)
        return s_storage(call, rc);
    uint8_t buf[FL_KEYSPACE_KEY_MAX];
    MDB_val key = fl_user_sub_key(buf, call, r->user_id, r->event_id);
    Flow__Storage__HistoryRecord *old = NULL;
    Flow__Storage__StandingRecord *st = NULL;
    if ((rc = s_read(call, fl_user_dbs.history, &key, &flow__storage__history_record__descriptor,
                     (ProtobufCMessage **) &old))
        || (rc = s_read_standing(call, r->user_id, &st)))
        return s_storage(call, rc);
    if (old->revision >= r->revision)
        return 0;
    Flow__Storage__HistoryRecord now = FLOW__STORAGE__HISTORY_RECORD__INIT;
    now.record_version = 1;
    now.revision = r->revision;
    now.relation = r->relation;
    now.checked_in = r->checked_in;
    now.attendee_stars = r->attendee_stars;
    now.review_stars = r->review_stars;
    now.reviews = r->reviews;
    now.since_s = old->relation == r->relation && old->revision ? old->since_s
                                                                : (uint64_t) zclock_time() / 1000;
    s_apply(st, old, -1);
    s_apply(st, &now, +1);
    st->record_version = 1;
    uint8_t sbuf[FL_KEYSPACE_KEY_MAX];
    MDB_val skey = s_standing_key(sbuf, call, r->user_id);
    if ((rc = fl_codec_put(call->txn, fl_user_dbs.history, &key, &now.base))
        || (rc = fl_codec_put(call->txn, fl_user_dbs.standing, &skey, &st->base)))
        return s_storage(call, rc);
    return 0;
}

int
fl_user_standing(fl_call_t *call)
{
    Flow__Standing *st = NULL;
    int rc = fl_user_standing_of(call, call->request->standing->user_id, &st);
    if (rc)
        return s_storage(call, rc);
    call->reply.body_case = FLOW__REPLY__BODY_STANDING;
    call->reply.standing = st;
    return 0;
}

/*  The keys of one user's history: PREFIX (partition | user | "/")
 *  followed by an event id.  */
typedef struct {
    uint8_t buf[FL_KEYSPACE_KEY_MAX];
    size_t len;
} s_prefix_t;

static void
s_prefix(fl_call_t *call, const char *user, s_prefix_t *p)
{
    MDB_val start = fl_user_sub_key(p->buf, call, user, "");
    p->len = start.mv_size;
}

static bool
s_in(const s_prefix_t *p, const MDB_val *key)
{
    return key->mv_size == p->len + EVENT_ID_LEN && memcmp(key->mv_data, p->buf, p->len) == 0;
}

/*  The cursor on the first history record after event AFTER ("": from
 *  the start); MDB_NOTFOUND past the user's last.  */
static int
s_seek(MDB_cursor *cursor, const s_prefix_t *p, const char *after, MDB_val *key, MDB_val *value)
{
    uint8_t buf[FL_KEYSPACE_KEY_MAX];
    size_t alen = strlen(after);
    memcpy(buf, p->buf, p->len);
    memcpy(buf + p->len, after, alen);
    *key = (MDB_val) { p->len + alen, buf };
    int rc = mdb_cursor_get(cursor, key, value, MDB_SET_RANGE);
    if (rc == 0 && alen && key->mv_size == p->len + alen
        && memcmp(key->mv_data, buf, p->len + alen) == 0)
        rc = mdb_cursor_get(cursor, key, value, MDB_NEXT);
    return rc == 0 && !s_in(p, key) ? MDB_NOTFOUND : rc;
}

static Flow__HistoryEntry *
s_entry(fl_call_t *call, const s_prefix_t *p, const MDB_val *key,
        const Flow__Storage__HistoryRecord *h)
{
    Flow__HistoryEntry *e = fl_call_alloc(call, sizeof *e);
    flow__history_entry__init(e);
    e->event_id = fl_call_alloc(call, EVENT_ID_LEN + 1);
    memcpy(e->event_id, (const char *) key->mv_data + p->len, EVENT_ID_LEN);
    e->relation = h->relation;
    e->checked_in = h->checked_in;
    e->attendee_stars = h->attendee_stars;
    e->since_s = h->since_s;
    return e;
}

int
fl_user_history(fl_call_t *call)
{
    const Flow__HistoryRequest *r = call->request->history;
    size_t limit = r->limit ? r->limit : PAGE_DEFAULT;
    Flow__HistoryReply *out = fl_call_alloc(call, sizeof *out);
    flow__history_reply__init(out);
    out->entries = fl_call_alloc(call, limit * sizeof *out->entries);
    out->next_cursor = "";
    s_prefix_t p;
    s_prefix(call, call->principal->user_id, &p);
    MDB_cursor *cursor = NULL;
    int rc = mdb_cursor_open(call->txn, fl_user_dbs.history, &cursor);
    MDB_val key, value;
    if (rc == 0)
        rc = s_seek(cursor, &p, r->cursor, &key, &value);
    while (rc == 0 && s_in(&p, &key)) {
        Flow__Storage__HistoryRecord *h =
            flow__storage__history_record__unpack(fl_call_allocator(call), value.mv_size,
                                                   value.mv_data);
        if (!h) {
            rc = FL_E_CORRUPT;
            break;
        }
        if (h->relation != FLOW__RELATION__RELATION_NONE) {
            if (out->n_entries == limit) {
                out->next_cursor = out->entries[limit - 1]->event_id;
                break;
            }
            out->entries[out->n_entries++] = s_entry(call, &p, &key, h);
        }
        rc = mdb_cursor_get(cursor, &key, &value, MDB_NEXT);
    }
    mdb_cursor_close(cursor);
    if (rc && rc != MDB_NOTFOUND)
        return s_storage(call, rc);
    call->reply.body_case = FLOW__REPLY__BODY_HISTORY;
    call->reply.history = out;
    return 0;
}

int
fl_user_forget_standing(fl_call_t *call, const char *user_id)
{
    uint8_t buf[FL_KEYSPACE_KEY_MAX];
    MDB_val skey = s_standing_key(buf, call, user_id);
    int rc = fl_codec_del(call->txn, fl_user_dbs.standing, &skey);
    if (rc && rc != MDB_NOTFOUND)
        return rc;
    s_prefix_t p;
    s_prefix(call, user_id, &p);
    MDB_cursor *cursor = NULL;
    if ((rc = mdb_cursor_open(call->txn, fl_user_dbs.history, &cursor)))
        return rc;
    MDB_val key, value;
    while ((rc = s_seek(cursor, &p, "", &key, &value)) == 0)
        if ((rc = fl_codec_cursor_del(cursor)))
            break;
    mdb_cursor_close(cursor);
    return rc == MDB_NOTFOUND ? 0 : rc;
}
