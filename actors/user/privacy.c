/*  actors/user/privacy.c — see privacy.h.  */
#include "actors/user/privacy.h"

#include <string.h>

fl_viewer_t
fl_privacy_viewer(const Flow__Cluster__Principal *viewer, const char *owner_id)
{
    if (!viewer || viewer->role == FLOW__ROLE__ROLE_ADMIN)
        return FL_VIEWER_ADMIN;
    if (strcmp(viewer->user_id, owner_id) == 0)
        return FL_VIEWER_SELF;
    if (fl_privacy_are_friends(viewer->user_id, owner_id))
        return FL_VIEWER_FRIEND;
    return FL_VIEWER_OTHER;
}

bool
fl_privacy_are_friends(const char *a, const char *b)
{
    (void) a;
    (void) b;
    return false;
}

bool
fl_privacy_visible(Flow__Visibility v, fl_viewer_t viewer)
{
    if (viewer == FL_VIEWER_SELF || viewer == FL_VIEWER_ADMIN)
        return true;
    if (v == FLOW__VISIBILITY__VISIBILITY_PUBLIC)
        return true;
    return v == FLOW__VISIBILITY__VISIBILITY_FRIENDS && viewer == FL_VIEWER_FRIEND;
}

static Flow__Visibility
s_setting(Flow__Visibility v, Flow__Visibility otherwise)
{
    return v == FLOW__VISIBILITY__VISIBILITY_UNSPECIFIED ? otherwise : v;
}

Flow__Visibility
fl_privacy_bio(const Flow__Privacy *p)
{
    return s_setting(p ? p->bio : 0, FLOW__VISIBILITY__VISIBILITY_PUBLIC);
}

Flow__Visibility
fl_privacy_location(const Flow__Privacy *p)
{
    return s_setting(p ? p->location : 0, FLOW__VISIBILITY__VISIBILITY_PRIVATE);
}

Flow__Visibility
fl_privacy_interests(const Flow__Privacy *p)
{
    return s_setting(p ? p->interests : 0, FLOW__VISIBILITY__VISIBILITY_PUBLIC);
}

Flow__Visibility
fl_privacy_traits(const Flow__Privacy *p)
{
    return s_setting(p ? p->traits : 0, FLOW__VISIBILITY__VISIBILITY_PUBLIC);
}

void
fl_privacy_view(const Flow__Storage__UserRecord *rec, fl_viewer_t viewer, Flow__Profile *out)
{
    const Flow__Profile *p = rec->profile;
    const Flow__Privacy *privacy = p ? p->privacy : NULL;
    flow__profile__init(out);
    out->user_id = rec->user_id;
    out->role = rec->role;
    out->created_s = rec->created_s;
    if (viewer == FL_VIEWER_SELF || viewer == FL_VIEWER_ADMIN)
        out->email = rec->email;
    if (!p)
        return;
    out->display_name = p->display_name;
    out->avatar_url = p->avatar_url;
    out->activity_level = p->activity_level;
    if (fl_privacy_visible(fl_privacy_bio(privacy), viewer))
        out->bio = p->bio;
    if (fl_privacy_visible(fl_privacy_location(privacy), viewer))
        out->home = p->home;
    if (fl_privacy_visible(fl_privacy_interests(privacy), viewer)) {
        out->n_interests = p->n_interests;
        out->interests = p->interests;
    }
    if (fl_privacy_visible(fl_privacy_traits(privacy), viewer)) {
        out->n_traits = p->n_traits;
        out->traits = p->traits;
    }
    if (viewer == FL_VIEWER_SELF || viewer == FL_VIEWER_ADMIN) {
        out->preferences = p->preferences;
        out->privacy = p->privacy;
    }
}
