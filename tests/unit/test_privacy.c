/*  tests/unit/test_privacy.c — who sees which profile field: how a viewer
 *  stands to a profile, every setting against every viewer, the defaults,
 *  and the profile each viewer is given.
 */
#include "tests/testlib.h"
#include "actors/user/privacy.h"

#include <stdbool.h>

#define PUBLIC FLOW__VISIBILITY__VISIBILITY_PUBLIC
#define FRIENDS FLOW__VISIBILITY__VISIBILITY_FRIENDS
#define PRIVATE FLOW__VISIBILITY__VISIBILITY_PRIVATE
#define UNSET FLOW__VISIBILITY__VISIBILITY_UNSPECIFIED

static Flow__Cluster__Principal
s_principal(const char *user_id, Flow__Role role)
{
    Flow__Cluster__Principal p = FLOW__CLUSTER__PRINCIPAL__INIT;
    p.user_id = (char *) user_id;
    p.role = role;
    p.session_id = "s";
    return p;
}

/*  ------------------------------------------------------------------
 *  Viewers  */

FL_TEST(the_operator_views_as_admin)
{
    FL_CHECK_INT(fl_privacy_viewer(NULL, "owner"), ==, FL_VIEWER_ADMIN);
}

FL_TEST(an_admin_views_as_admin)
{
    Flow__Cluster__Principal p = s_principal("someone", FLOW__ROLE__ROLE_ADMIN);
    FL_CHECK_INT(fl_privacy_viewer(&p, "owner"), ==, FL_VIEWER_ADMIN);
    p.user_id = "owner";
    FL_CHECK_INT(fl_privacy_viewer(&p, "owner"), ==, FL_VIEWER_ADMIN);
}

FL_TEST(the_owner_views_as_self)
{
    Flow__Cluster__Principal p = s_principal("owner", FLOW__ROLE__ROLE_USER);
    FL_CHECK_INT(fl_privacy_viewer(&p, "owner"), ==, FL_VIEWER_SELF);
}

FL_TEST(anyone_else_views_as_other)
{
    Flow__Role roles[] = { FLOW__ROLE__ROLE_UNSPECIFIED, FLOW__ROLE__ROLE_USER,
                           FLOW__ROLE__ROLE_ORGANIZER, FLOW__ROLE__ROLE_MODERATOR };
    for (size_t i = 0; i < sizeof roles / sizeof roles[0]; i++) {
        Flow__Cluster__Principal p = s_principal("someone", roles[i]);
        FL_CHECK_INT(fl_privacy_viewer(&p, "owner"), ==, FL_VIEWER_OTHER);
    }
    Flow__Cluster__Principal prefix = s_principal("own", FLOW__ROLE__ROLE_USER);
    FL_CHECK_INT(fl_privacy_viewer(&prefix, "owner"), ==, FL_VIEWER_OTHER);
}

FL_TEST(nobody_is_a_friend_yet)
{
    FL_CHECK(!fl_privacy_are_friends("a", "b"));
    FL_CHECK(!fl_privacy_are_friends("a", "a"));
}

/*  ------------------------------------------------------------------
 *  Settings  */

FL_TEST(visibility_of_every_setting_to_every_viewer)
{
    static const struct {
        Flow__Visibility v;
        bool other, friend, self, admin;
    } rows[] = {
        { PUBLIC, true, true, true, true },
        { FRIENDS, false, true, true, true },
        { PRIVATE, false, false, true, true },
        { UNSET, false, false, true, true },     /* unresolved: shown to nobody else */
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        FL_CHECK_INT(fl_privacy_visible(rows[i].v, FL_VIEWER_OTHER), ==, rows[i].other);
        FL_CHECK_INT(fl_privacy_visible(rows[i].v, FL_VIEWER_FRIEND), ==, rows[i].friend);
        FL_CHECK_INT(fl_privacy_visible(rows[i].v, FL_VIEWER_SELF), ==, rows[i].self);
        FL_CHECK_INT(fl_privacy_visible(rows[i].v, FL_VIEWER_ADMIN), ==, rows[i].admin);
    }
}

FL_TEST(defaults_without_settings)
{
    FL_CHECK_INT(fl_privacy_bio(NULL), ==, PUBLIC);
    FL_CHECK_INT(fl_privacy_location(NULL), ==, PRIVATE);
    FL_CHECK_INT(fl_privacy_interests(NULL), ==, PUBLIC);
    FL_CHECK_INT(fl_privacy_traits(NULL), ==, PUBLIC);
}

FL_TEST(defaults_for_unset_settings)
{
    Flow__Privacy p = FLOW__PRIVACY__INIT;
    FL_CHECK_INT(fl_privacy_bio(&p), ==, PUBLIC);
    FL_CHECK_INT(fl_privacy_location(&p), ==, PRIVATE);
    FL_CHECK_INT(fl_privacy_interests(&p), ==, PUBLIC);
    FL_CHECK_INT(fl_privacy_traits(&p), ==, PUBLIC);
}

FL_TEST(each_setting_reads_its_own_field)
{
    Flow__Privacy p = FLOW__PRIVACY__INIT;
    p.bio = FRIENDS;
    FL_CHECK_INT(fl_privacy_bio(&p), ==, FRIENDS);
    FL_CHECK_INT(fl_privacy_location(&p), ==, PRIVATE);
    p.location = PUBLIC;
    FL_CHECK_INT(fl_privacy_location(&p), ==, PUBLIC);
    FL_CHECK_INT(fl_privacy_interests(&p), ==, PUBLIC);
    p.interests = PRIVATE;
    FL_CHECK_INT(fl_privacy_interests(&p), ==, PRIVATE);
    FL_CHECK_INT(fl_privacy_traits(&p), ==, PUBLIC);
    p.traits = FRIENDS;
    FL_CHECK_INT(fl_privacy_traits(&p), ==, FRIENDS);
    FL_CHECK_INT(fl_privacy_bio(&p), ==, FRIENDS);
}

/*  ------------------------------------------------------------------
 *  Views  */

typedef struct {
    Flow__Storage__UserRecord rec;
    Flow__Profile profile;
    Flow__Privacy privacy;
    Flow__GeoPoint home;
    Flow__Preferences preferences;
    char *interests[2];
    char *traits[1];
} s_user_t;

/*  A user with every field filled and the given settings.  */
static void
s_user(s_user_t *u, Flow__Visibility bio, Flow__Visibility location, Flow__Visibility interests,
       Flow__Visibility traits)
{
    flow__storage__user_record__init(&u->rec);
    flow__profile__init(&u->profile);
    flow__privacy__init(&u->privacy);
    flow__geo_point__init(&u->home);
    flow__preferences__init(&u->preferences);
    u->rec.user_id = "owner";
    u->rec.email = "owner@example.org";
    u->rec.role = FLOW__ROLE__ROLE_ORGANIZER;
    u->rec.created_s = 1700000000;
    u->rec.profile = &u->profile;
    u->profile.display_name = "Owner";
    u->profile.avatar_url = "https://example.org/a.png";
    u->profile.activity_level = FLOW__ACTIVITY_LEVEL__ACTIVITY_HIGH;
    u->profile.bio = "a bio";
    u->profile.home = &u->home;
    u->interests[0] = "climbing";
    u->interests[1] = "chess";
    u->profile.n_interests = 2;
    u->profile.interests = u->interests;
    u->traits[0] = "curious";
    u->profile.n_traits = 1;
    u->profile.traits = u->traits;
    u->profile.preferences = &u->preferences;
    u->privacy.bio = bio;
    u->privacy.location = location;
    u->privacy.interests = interests;
    u->privacy.traits = traits;
    u->profile.privacy = &u->privacy;
}

static bool
s_empty(const char *s)
{
    return s == NULL || s[0] == '\0';
}

static void
s_check_always_shown(const s_user_t *u, const Flow__Profile *out)
{
    FL_CHECK_STR(out->user_id, "owner");
    FL_CHECK_STR(out->display_name, "Owner");
    FL_CHECK_STR(out->avatar_url, "https://example.org/a.png");
    FL_CHECK_INT(out->role, ==, FLOW__ROLE__ROLE_ORGANIZER);
    FL_CHECK_INT(out->activity_level, ==, FLOW__ACTIVITY_LEVEL__ACTIVITY_HIGH);
    FL_CHECK_INT(out->created_s, ==, u->rec.created_s);
}

static void
s_check_owner_only_hidden(const Flow__Profile *out)
{
    FL_CHECK(s_empty(out->email));
    FL_CHECK(out->preferences == NULL);
    FL_CHECK(out->privacy == NULL);
}

static void
s_check_everything_shown(const s_user_t *u, const Flow__Profile *out)
{
    s_check_always_shown(u, out);
    FL_CHECK_STR(out->bio, "a bio");
    FL_CHECK(out->home == &u->home);
    FL_CHECK_INT(out->n_interests, ==, 2);
    FL_CHECK(out->interests == u->interests);
    FL_CHECK_INT(out->n_traits, ==, 1);
    FL_CHECK(out->traits == u->traits);
    FL_CHECK_STR(out->email, "owner@example.org");
    FL_CHECK(out->preferences == &u->preferences);
    FL_CHECK(out->privacy == &u->privacy);
}

FL_TEST(other_sees_public_fields_but_never_owner_only_ones)
{
    s_user_t u;
    s_user(&u, PUBLIC, PUBLIC, PUBLIC, PUBLIC);
    Flow__Profile out;
    fl_privacy_view(&u.rec, FL_VIEWER_OTHER, &out);
    s_check_always_shown(&u, &out);
    FL_CHECK_STR(out.bio, "a bio");
    FL_CHECK(out.home == &u.home);
    FL_CHECK_INT(out.n_interests, ==, 2);
    FL_CHECK(out.interests == u.interests);
    FL_CHECK_INT(out.n_traits, ==, 1);
    FL_CHECK(out.traits == u.traits);
    s_check_owner_only_hidden(&out);
}

FL_TEST(other_sees_no_private_field)
{
    s_user_t u;
    s_user(&u, PRIVATE, PRIVATE, PRIVATE, PRIVATE);
    Flow__Profile out;
    fl_privacy_view(&u.rec, FL_VIEWER_OTHER, &out);
    s_check_always_shown(&u, &out);
    FL_CHECK(s_empty(out.bio));
    FL_CHECK(out.home == NULL);
    FL_CHECK_INT(out.n_interests, ==, 0);
    FL_CHECK_INT(out.n_traits, ==, 0);
    s_check_owner_only_hidden(&out);
}

FL_TEST(other_sees_no_friends_only_field)
{
    s_user_t u;
    s_user(&u, FRIENDS, FRIENDS, FRIENDS, FRIENDS);
    Flow__Profile out;
    fl_privacy_view(&u.rec, FL_VIEWER_OTHER, &out);
    FL_CHECK(s_empty(out.bio));
    FL_CHECK(out.home == NULL);
    FL_CHECK_INT(out.n_interests, ==, 0);
    FL_CHECK_INT(out.n_traits, ==, 0);
}

FL_TEST(each_field_is_hidden_by_its_own_setting)
{
    for (int hidden = 0; hidden < 4; hidden++) {
        s_user_t u;
        s_user(&u, hidden == 0 ? PRIVATE : PUBLIC, hidden == 1 ? PRIVATE : PUBLIC,
               hidden == 2 ? PRIVATE : PUBLIC, hidden == 3 ? PRIVATE : PUBLIC);
        Flow__Profile out;
        fl_privacy_view(&u.rec, FL_VIEWER_OTHER, &out);
        FL_CHECK_INT(s_empty(out.bio), ==, hidden == 0);
        FL_CHECK_INT(out.home == NULL, ==, hidden == 1);
        FL_CHECK_INT(out.n_interests == 0, ==, hidden == 2);
        FL_CHECK_INT(out.n_traits == 0, ==, hidden == 3);
    }
}

FL_TEST(other_sees_the_defaults_when_nothing_is_set)
{
    s_user_t u;
    s_user(&u, UNSET, UNSET, UNSET, UNSET);
    u.profile.privacy = NULL;
    Flow__Profile out;
    fl_privacy_view(&u.rec, FL_VIEWER_OTHER, &out);
    FL_CHECK_STR(out.bio, "a bio");
    FL_CHECK(out.home == NULL);
    FL_CHECK_INT(out.n_interests, ==, 2);
    FL_CHECK_INT(out.n_traits, ==, 1);
    s_check_owner_only_hidden(&out);
}

FL_TEST(self_sees_everything)
{
    s_user_t u;
    s_user(&u, PRIVATE, PRIVATE, PRIVATE, PRIVATE);
    Flow__Profile out;
    fl_privacy_view(&u.rec, FL_VIEWER_SELF, &out);
    s_check_everything_shown(&u, &out);
}

FL_TEST(admin_sees_everything)
{
    s_user_t u;
    s_user(&u, PRIVATE, PRIVATE, PRIVATE, PRIVATE);
    Flow__Profile out;
    fl_privacy_view(&u.rec, FL_VIEWER_ADMIN, &out);
    s_check_everything_shown(&u, &out);
}

FL_TEST(a_friend_sees_friends_fields_but_not_owner_only_ones)
{
    s_user_t u;
    s_user(&u, FRIENDS, FRIENDS, FRIENDS, PRIVATE);
    Flow__Profile out;
    fl_privacy_view(&u.rec, FL_VIEWER_FRIEND, &out);
    FL_CHECK_STR(out.bio, "a bio");
    FL_CHECK(out.home == &u.home);
    FL_CHECK_INT(out.n_interests, ==, 2);
    FL_CHECK_INT(out.n_traits, ==, 0);
    s_check_owner_only_hidden(&out);
}

FL_TEST(a_record_without_profile_shows_its_identity_only)
{
    s_user_t u;
    s_user(&u, PUBLIC, PUBLIC, PUBLIC, PUBLIC);
    u.rec.profile = NULL;
    Flow__Profile out;
    fl_privacy_view(&u.rec, FL_VIEWER_OTHER, &out);
    FL_CHECK_STR(out.user_id, "owner");
    FL_CHECK_INT(out.role, ==, FLOW__ROLE__ROLE_ORGANIZER);
    FL_CHECK_INT(out.created_s, ==, u.rec.created_s);
    FL_CHECK(s_empty(out.display_name));
    FL_CHECK(s_empty(out.bio));
    FL_CHECK(out.home == NULL);
}
