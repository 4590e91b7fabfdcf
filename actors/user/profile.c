/*  actors/user/profile.c — reading and changing profiles.
 *
 *  Every field a client sends is checked before routing (the check
 *  functions) and normalised again where it is applied, with the same
 *  functions, so what is stored is exactly what a check accepted.  Reads
 *  go through fl_privacy_view() (privacy.h) and nowhere else.
 */
#include "actors/user/privacy.h"
#include "actors/user/records.h"
#include "actors/user/user.h"
#include "node/error.h"
#include "node/text.h"
#include "node/token.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#define NAME_MAX_CHARS 64
#define BIO_MAX_CHARS 1000
#define URL_MAX_BYTES 2048
#define LABELS_MAX 20
#define LABEL_MAX_CHARS 40
#define RADIUS_MIN_M 100
#define RADIUS_MAX_M 200000

/*  ------------------------------------------------------------------
 *  Checks  */

static Flow__Status
s_invalid(char *msg, size_t msglen, const char *fmt, const char *field, double value)
{
    snprintf(msg, msglen, fmt, field, value);
    return FLOW__STATUS__INVALID_ARGUMENT;
}

static Flow__Status
s_check_url(const char *url, char *msg, size_t msglen)
{
    size_t len = strlen(url);
    if (len == 0)
        return FLOW__STATUS__OK;
    if (len > URL_MAX_BYTES)
        return s_invalid(msg, msglen, "%s: longer than %.0f bytes", "avatar_url", URL_MAX_BYTES);
    if (strncmp(url, "https://", 8) != 0 && strncmp(url, "http://", 7) != 0) {
        snprintf(msg, msglen, "avatar_url: must start with https:// or http://");
        return FLOW__STATUS__INVALID_ARGUMENT;
    }
    for (size_t i = 0; i < len; i++)
        if ((unsigned char) url[i] <= ' ' || (unsigned char) url[i] >= 0x7f) {
            snprintf(msg, msglen, "avatar_url: byte %zu is not allowed in a URL", i);
            return FLOW__STATUS__INVALID_ARGUMENT;
        }
    return FLOW__STATUS__OK;
}

static Flow__Status
s_check_point(const Flow__GeoPoint *p, char *msg, size_t msglen)
{
    if (!isfinite(p->lat) || p->lat < -90 || p->lat > 90)
        return s_invalid(msg, msglen, "%s: latitude %g is outside -90..90", "home", p->lat);
    if (!isfinite(p->lon) || p->lon < -180 || p->lon > 180)
        return s_invalid(msg, msglen, "%s: longitude %g is outside -180..180", "home", p->lon);
    return FLOW__STATUS__OK;
}

static Flow__Status
s_check_labels(const char *field, const Flow__StringList *list, char *msg, size_t msglen)
{
    fl_text_list_t out;
    if (fl_text_list(field, list->values, list->n_values, LABELS_MAX, LABEL_MAX_CHARS, &out,
                     msg, msglen) != 0)
        return FLOW__STATUS__INVALID_ARGUMENT;
    fl_text_list_release(&out);
    return FLOW__STATUS__OK;
}

static Flow__Status
s_check_visibility(const char *field, Flow__Visibility v, char *msg, size_t msglen)
{
    if (v < FLOW__VISIBILITY__VISIBILITY_UNSPECIFIED || v > FLOW__VISIBILITY__VISIBILITY_PRIVATE)
        return s_invalid(msg, msglen, "privacy.%s: unknown value %.0f", field, (double) v);
    return FLOW__STATUS__OK;
}

static Flow__Status
s_check_preferences(const Flow__Preferences *p, char *msg, size_t msglen)
{
    for (size_t i = 0; i < p->n_notifications_off; i++)
        if (p->notifications_off[i] < FLOW__NOTIFICATION_TYPE__NOTIFICATION_EVENT_UPDATES
            || p->notifications_off[i] > FLOW__NOTIFICATION_TYPE__NOTIFICATION_SOCIAL) {
            snprintf(msg, msglen, "preferences.notifications_off[%zu]: unknown value %d", i,
                     (int) p->notifications_off[i]);
            return FLOW__STATUS__INVALID_ARGUMENT;
        }
    if (p->discovery_radius_m != 0
        && (p->discovery_radius_m < RADIUS_MIN_M || p->discovery_radius_m > RADIUS_MAX_M)) {
        snprintf(msg, msglen, "preferences.discovery_radius_m: %u is outside %d..%d",
                 p->discovery_radius_m, RADIUS_MIN_M, RADIUS_MAX_M);
        return FLOW__STATUS__INVALID_ARGUMENT;
    }
    Flow__StringList cats = FLOW__STRING_LIST__INIT;
    cats.values = p->favourite_categories;
    cats.n_values = p->n_favourite_categories;
    return s_check_labels("preferences.favourite_categories", &cats, msg, msglen);
}

static Flow__Status
s_check_update(const Flow__UpdateProfileRequest *r, char *msg, size_t msglen)
{
    Flow__Status st = FLOW__STATUS__OK;
    if (r->display_name && fl_text_check("display_name", r->display_name->value, NAME_MAX_CHARS,
                                         true, false, msg, msglen) != 0)
        return FLOW__STATUS__INVALID_ARGUMENT;
    if (r->bio && fl_text_check("bio", r->bio->value, BIO_MAX_CHARS, false, true, msg, msglen))
        return FLOW__STATUS__INVALID_ARGUMENT;
    if (r->avatar_url && (st = s_check_url(r->avatar_url->value, msg, msglen)))
        return st;
    if (r->home && r->clear_home) {
        snprintf(msg, msglen, "home: give a point or clear_home, not both");
        return FLOW__STATUS__INVALID_ARGUMENT;
    }
    if (r->home && (st = s_check_point(r->home, msg, msglen)))
        return st;
    if (r->traits && (st = s_check_labels("traits", r->traits, msg, msglen)))
        return st;
    if (r->interests && (st = s_check_labels("interests", r->interests, msg, msglen)))
        return st;
    if (r->activity_level && (r->activity_level->value < FLOW__ACTIVITY_LEVEL__ACTIVITY_UNSPECIFIED
                              || r->activity_level->value > FLOW__ACTIVITY_LEVEL__ACTIVITY_HIGH))
        return s_invalid(msg, msglen, "%s: unknown value %.0f", "activity_level",
                         (double) r->activity_level->value);
    if (r->preferences && (st = s_check_preferences(r->preferences, msg, msglen)))
        return st;
    if (r->privacy
        && ((st = s_check_visibility("bio", r->privacy->bio, msg, msglen))
            || (st = s_check_visibility("location", r->privacy->location, msg, msglen))
            || (st = s_check_visibility("interests", r->privacy->interests, msg, msglen))
            || (st = s_check_visibility("traits", r->privacy->traits, msg, msglen))))
        return st;
    return FLOW__STATUS__OK;
}

Flow__Status
fl_user_check_update_profile(const Flow__Request *req, const char *user_id, fl_route_t *route,
                             char *msg, size_t msglen)
{
    Flow__Status st = s_check_update(req->update_profile, msg, msglen);
    return st ? st : fl_user_check_self(req, user_id, route, msg, msglen);
}

static bool
s_is_user_id(const char *s)
{
    size_t len = strlen(s);
    if (len != FL_USER_ID_BYTES * 2)
        return false;
    for (size_t i = 0; i < len; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
            return false;
    return true;
}

/*  Routes by the account asked for: the reader's own, a user id, or an
 *  email (both land on the same partition).  */
Flow__Status
fl_user_check_get_profile(const Flow__Request *req, const char *user_id, fl_route_t *route,
                          char *msg, size_t msglen)
{
    const char *user = req->get_profile->user;
    route->actor = FLOW__ACTOR__ACTOR_USER;
    if (user[0] == '\0')
        return fl_user_check_self(req, user_id, route, msg, msglen);
    if (strchr(user, '@')) {
        if (fl_text_email("user", user, route->keybuf, msg, msglen) != 0)
            return FLOW__STATUS__INVALID_ARGUMENT;
    }
    else
    if (s_is_user_id(user))
        snprintf(route->keybuf, sizeof route->keybuf, "%s", user);
    else {
        snprintf(msg, msglen, "user: neither a user id (16 hex digits) nor an email");
        return FLOW__STATUS__INVALID_ARGUMENT;
    }
    route->key = route->keybuf;
    route->key_len = strlen(route->keybuf);
    return FLOW__STATUS__OK;
}

/*  ------------------------------------------------------------------
 *  Handlers  */

static int
s_reply_profile(fl_call_t *call, const Flow__Storage__UserRecord *rec)
{
    Flow__Profile *out = fl_call_alloc(call, sizeof *out);
    fl_privacy_view(rec, fl_privacy_viewer(call->principal, rec->user_id), out);
    int rc = fl_user_standing_of(call, rec->user_id, &out->standing);
    if (rc)
        return rc == FL_E_CORRUPT ? (fl_call_fail(call, FLOW__STATUS__INTERNAL,
                                                  "a stored standing record is damaged"), 0)
                                  : rc;
    call->reply.body_case = FLOW__REPLY__BODY_PROFILE;
    call->reply.profile = out;
    return 0;
}

int
fl_user_get_profile(fl_call_t *call)
{
    const char *user = call->request->get_profile->user;
    char user_id[FL_TOKEN_ID_MAX];
    int rc = 0;
    if (user[0] == '\0')
        snprintf(user_id, sizeof user_id, "%s", call->principal->user_id);
    else
    if (strchr(user, '@')) {
        char email[FL_TEXT_EMAIL_MAX + 1], why[200];
        fl_text_email("user", user, email, why, sizeof why);
        rc = fl_user_by_email(call, email, user_id);
    }
    else
        snprintf(user_id, sizeof user_id, "%s", user);
    Flow__Storage__UserRecord *rec = NULL;
    if (rc == 0)
        rc = fl_user_read(call, user_id, &rec);
    if (rc == FL_E_NOTFOUND) {
        fl_call_fail(call, FLOW__STATUS__NOT_FOUND, "user: no such user");
        return 0;
    }
    if (rc)
        return rc == FL_E_CORRUPT ? (fl_call_fail(call, FLOW__STATUS__INTERNAL,
                                                  "a stored account record is damaged"), 0)
                                  : rc;
    return s_reply_profile(call, rec);
}

/*  Normalised labels, copied into the call's memory.  */
static void
s_set_labels(fl_call_t *call, const char *field, const Flow__StringList *in, size_t *n_out,
             char ***out)
{
    fl_text_list_t list;
    char why[200];
    if (fl_text_list(field, in->values, in->n_values, LABELS_MAX, LABEL_MAX_CHARS, &list,
                     why, sizeof why) != 0) {
        *n_out = 0;
        return;
    }
    *out = fl_call_alloc(call, (list.n ? list.n : 1) * sizeof **out);
    for (size_t i = 0; i < list.n; i++)
        (*out)[i] = fl_call_strdup(call, list.items[i]);
    *n_out = list.n;
    fl_text_list_release(&list);
}

static Flow__Visibility
s_keep(Flow__Visibility given, Flow__Visibility current)
{
    return given == FLOW__VISIBILITY__VISIBILITY_UNSPECIFIED ? current : given;
}

static void
s_apply_privacy(fl_call_t *call, Flow__Profile *p, const Flow__Privacy *given)
{
    Flow__Privacy *next = fl_call_alloc(call, sizeof *next);
    flow__privacy__init(next);
    next->bio = s_keep(given->bio, fl_privacy_bio(p->privacy));
    next->location = s_keep(given->location, fl_privacy_location(p->privacy));
    next->interests = s_keep(given->interests, fl_privacy_interests(p->privacy));
    next->traits = s_keep(given->traits, fl_privacy_traits(p->privacy));
    p->privacy = next;
}

static void
s_apply_preferences(fl_call_t *call, Flow__Profile *p, const Flow__Preferences *given)
{
    Flow__Preferences *next = fl_call_alloc(call, sizeof *next);
    flow__preferences__init(next);
    next->discovery_radius_m = given->discovery_radius_m;
    next->notifications_off = fl_call_alloc(call, (given->n_notifications_off + 1)
                                                  * sizeof *next->notifications_off);
    for (size_t i = 0; i < given->n_notifications_off; i++) {
        bool seen = false;
        for (size_t j = 0; j < next->n_notifications_off; j++)
            seen |= next->notifications_off[j] == given->notifications_off[i];
        if (!seen)
            next->notifications_off[next->n_notifications_off++] = given->notifications_off[i];
    }
    Flow__StringList cats = FLOW__STRING_LIST__INIT;
    cats.values = given->favourite_categories;
    cats.n_values = given->n_favourite_categories;
    s_set_labels(call, "preferences.favourite_categories", &cats,
                 &next->n_favourite_categories, &next->favourite_categories);
    p->preferences = next;
}

static void
s_apply(fl_call_t *call, Flow__Profile *p, const Flow__UpdateProfileRequest *r)
{
    if (r->display_name)
        p->display_name = r->display_name->value;
    if (r->avatar_url)
        p->avatar_url = r->avatar_url->value;
    if (r->bio)
        p->bio = r->bio->value;
    if (r->home)
        p->home = r->home;
    if (r->clear_home)
        p->home = NULL;
    if (r->traits)
        s_set_labels(call, "traits", r->traits, &p->n_traits, &p->traits);
    if (r->interests)
        s_set_labels(call, "interests", r->interests, &p->n_interests, &p->interests);
    if (r->activity_level)
        p->activity_level = r->activity_level->value;
    if (r->preferences)
        s_apply_preferences(call, p, r->preferences);
    if (r->privacy)
        s_apply_privacy(call, p, r->privacy);
}

int
fl_user_update_profile(fl_call_t *call)
{
    Flow__Storage__UserRecord *rec = NULL;
    int rc = fl_user_read(call, call->principal->user_id, &rec);
    if (rc == FL_E_NOTFOUND) {
        fl_call_fail(call, FLOW__STATUS__NOT_FOUND, "the account no longer exists");
        return 0;
    }
    if (rc)
        return rc == FL_E_CORRUPT ? (fl_call_fail(call, FLOW__STATUS__INTERNAL,
                                                  "a stored account record is damaged"), 0)
                                  : rc;
    if (!rec->profile) {
        rec->profile = fl_call_alloc(call, sizeof *rec->profile);
        flow__profile__init(rec->profile);
    }
    s_apply(call, rec->profile, call->request->update_profile);
    if ((rc = fl_user_write(call, rec)))
        return rc;
    return s_reply_profile(call, rec);
}
