/*  actors/user/privacy.h — who may see which profile field.
 *
 *  Every read of a profile goes through fl_privacy_view(), the one place
 *  the rules live:
 *    - always visible: user id, display name, avatar, role, activity
 *      level, created time;
 *    - bio, home location, interests, traits: each by its own setting —
 *      public (anyone signed in), friends (the owner's friends), private
 *      (nobody else);
 *    - the owner and admins see everything, including email, privacy
 *      settings and preferences, which nobody else sees.
 *  Defaults for a new account: bio, interests and traits public; home
 *  location private.  Friendship comes from fl_privacy_are_friends(),
 *  which knows no friends until the social graph exists; callers do not
 *  change when it does.
 */
#ifndef FL_PRIVACY_H
#define FL_PRIVACY_H

#include <stdbool.h>

#include "cluster.pb-c.h"
#include "storage.pb-c.h"

typedef enum {
    FL_VIEWER_OTHER,
    FL_VIEWER_FRIEND,
    FL_VIEWER_SELF,
    FL_VIEWER_ADMIN,
} fl_viewer_t;

/*  How VIEWER (NULL: the operator) stands to the profile of OWNER_ID.  */
fl_viewer_t fl_privacy_viewer(const Flow__Cluster__Principal *viewer, const char *owner_id);

/*  True when A and B are friends.  */
bool fl_privacy_are_friends(const char *a, const char *b);

/*  True when a field with setting V may be shown to VIEWER.  */
bool fl_privacy_visible(Flow__Visibility v, fl_viewer_t viewer);

/*  Fills OUT with what VIEWER may see of REC.  OUT points into REC (and
 *  into GEO/PRIVACY, storage the caller provides), so REC must outlive
 *  OUT; nothing is allocated.  */
void fl_privacy_view(const Flow__Storage__UserRecord *rec, fl_viewer_t viewer, Flow__Profile *out);

/*  The setting in effect for a field: the default when unset.  */
Flow__Visibility fl_privacy_bio(const Flow__Privacy *p);
Flow__Visibility fl_privacy_location(const Flow__Privacy *p);
Flow__Visibility fl_privacy_interests(const Flow__Privacy *p);
Flow__Visibility fl_privacy_traits(const Flow__Privacy *p);

#endif
