/*  clients/flow_profile.c — `flow profile ...`: show and set.
 *
 *  A profile is shown as the node lets the reader see it: fields hidden
 *  from the reader come back empty and are left out.  `profile set`
 *  sends only what its options name; every value is checked here first,
 *  so a bad one is a usage error that names its option.  The node
 *  replaces the preferences whole, so when an option touches them the
 *  current ones are read first and the options put over them.
 */
#include "clients/flow_cmd.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum {
    S_OPT_NAME = FL_OPT_COMMAND, S_OPT_AVATAR, S_OPT_BIO, S_OPT_HOME, S_OPT_CLEAR_HOME,
    S_OPT_TRAITS, S_OPT_INTERESTS, S_OPT_ACTIVITY, S_OPT_RADIUS, S_OPT_CATEGORIES,
    S_OPT_NOTIFICATIONS_OFF, S_OPT_PRIVACY
};

/*  ---------------------------------------------------------------------
 *  profile show
 */

static void
s_print_text(const char *label, const char *value)
{
    if (value && value[0])
        printf("%-14s %s\n", label, value);
}

static void
s_print_preferences(const Flow__Preferences *prefs)
{
    if (prefs->discovery_radius_m)
        printf("%-14s %" PRIu32 " m\n", "radius", prefs->discovery_radius_m);
    else
        printf("%-14s default\n", "radius");
    fl_output_list("categories", prefs->favourite_categories, prefs->n_favourite_categories);
    if (prefs->n_notifications_off == 0)
        return;
    printf("%-14s", "notifications");
    for (size_t i = 0; i < prefs->n_notifications_off; i++) {
        char name[32];
        printf("%s%s", i ? ", " : " ",
               fl_cli_enum_name(&flow__notification_type__descriptor, "NOTIFICATION_",
                                (int) prefs->notifications_off[i], name, sizeof name));
    }
    printf(" off\n");
}

static void
s_print_privacy(const Flow__Privacy *privacy)
{
    static const char *fields[] = { "bio", "location", "interests", "traits" };
    const Flow__Visibility values[] = { privacy->bio, privacy->location, privacy->interests,
                                        privacy->traits };
    printf("%-14s", "privacy");
    for (size_t i = 0; i < 4; i++) {
        char name[32];
        printf(" %s=%s", fields[i],
               fl_cli_enum_name(&flow__visibility__descriptor, "VISIBILITY_", (int) values[i],
                                name, sizeof name));
    }
    printf("\n");
}

/*  The fields the reader may see; hidden ones are empty and left out.  */
static void
s_print_profile(const ProtobufCMessage *message)
{
    const Flow__Profile *p = (const Flow__Profile *) message;
    char buf[64];
    printf("%-14s %s\n", "user id", p->user_id);
    printf("%-14s %s\n", "name", p->display_name);
    s_print_text("email", p->email);
    printf("%-14s %s\n", "role",
           fl_cli_enum_name(&flow__role__descriptor, "ROLE_", (int) p->role, buf, sizeof buf));
    if (p->created_s)
        printf("%-14s %s\n", "created", fl_cli_time(p->created_s, buf, sizeof buf));
    s_print_text("avatar", p->avatar_url);
    s_print_text("bio", p->bio);
    if (p->home)
        printf("%-14s %.6f,%.6f\n", "home", p->home->lat, p->home->lon);
    fl_output_list("traits", p->traits, p->n_traits);
    fl_output_list("interests", p->interests, p->n_interests);
    if (p->activity_level != FLOW__ACTIVITY_LEVEL__ACTIVITY_UNSPECIFIED)
        printf("%-14s %s\n", "activity",
               fl_cli_enum_name(&flow__activity_level__descriptor, "ACTIVITY_",
                                (int) p->activity_level, buf, sizeof buf));
    if (p->preferences)
        s_print_preferences(p->preferences);
    if (p->privacy)
        s_print_privacy(p->privacy);
}

int
fl_cmd_profile_show(fl_cmd_ctx_t *ctx, int argc, char **argv)
{
    int rc = fl_cmd_parse(ctx, argc, argv, "", NULL, NULL, NULL);
    if (rc != 0)
        return rc;
    if (argc - optind > 1)
        return fl_cli_usage_error("profile show takes at most one EMAIL or USER_ID");
    const char *user = optind < argc ? argv[optind] : NULL;
    rc = fl_session_connect_signed_in(ctx);
    if (rc != 0)
        return rc;
    Flow__Profile *profile = NULL;
    flow_status_t status = flow_get_profile(ctx->flow, user, &profile);
    if (status != FLOW_OK)
        return fl_output_failed(ctx, status);
    rc = fl_output_reply(ctx, &profile->base, s_print_profile);
    flow__profile__free_unpacked(profile, NULL);
    return rc;
}

/*  ---------------------------------------------------------------------
 *  profile set
 */

/*  What `profile set` was told.  The wrapper messages live here and are
 *  linked into CHANGES only for the options given, which is what gives
 *  the node "leave it as it is" for the others.  Lists are split in place
 *  in their argv strings; only the arrays are allocated.  */
typedef struct {
    Flow__UpdateProfileRequest changes;
    Flow__TextValue name, avatar, bio;
    Flow__GeoPoint home;
    Flow__StringList traits, interests;
    Flow__ActivityValue activity;
    Flow__Privacy privacy;
    /*  Preferences are replaced whole: these are merged with the
     *  current ones before sending.  */
    bool set_radius, set_categories, set_notifications;
    uint32_t radius_m;
    char **categories;
    size_t n_categories;
    Flow__NotificationType *notifications;
    size_t n_notifications;
} s_profile_set_t;

static void
s_profile_set_init(s_profile_set_t *set)
{
    memset(set, 0, sizeof *set);
    flow__update_profile_request__init(&set->changes);
    flow__text_value__init(&set->name);
    flow__text_value__init(&set->avatar);
    flow__text_value__init(&set->bio);
    flow__geo_point__init(&set->home);
    flow__string_list__init(&set->traits);
    flow__string_list__init(&set->interests);
    flow__activity_value__init(&set->activity);
    flow__privacy__init(&set->privacy);
}

static void
s_profile_set_free(s_profile_set_t *set)
{
    free(set->traits.values);
    free(set->interests.values);
    free(set->categories);
    free(set->notifications);
}


static int
s_parse_home(const char *text, Flow__GeoPoint *home)
{
    char *end;
    errno = 0;
    home->lat = strtod(text, &end);
    bool ok = end != text && *end == ',';
    if (ok) {
        const char *lon = end + 1;
        home->lon = strtod(lon, &end);
        ok = end != lon && *end == 0 && errno == 0;
    }
    ok = ok && isfinite(home->lat) && isfinite(home->lon)
       && home->lat >= -90 && home->lat <= 90 && home->lon >= -180 && home->lon <= 180;
    if (!ok)
        return fl_cli_usage_error("--home wants LAT,LON in degrees (-90..90,-180..180), not '%s'",
                                  text);
    return 0;
}

static int
s_parse_activity(const char *text, Flow__ActivityValue *activity)
{
    int value;
    if (!fl_cli_enum_parse(&flow__activity_level__descriptor, "ACTIVITY_", text, &value))
        return fl_cli_usage_error("--activity wants low, medium or high, not '%s'", text);
    activity->value = (Flow__ActivityLevel) value;
    return 0;
}

static int
s_parse_radius(const char *text, uint32_t *radius_p)
{
    char *end;
    errno = 0;
    unsigned long long value = strtoull(text, &end, 10);
    if (end == text || *end || errno || text[0] == '-' || value > UINT32_MAX)
        return fl_cli_usage_error("--radius-m wants metres, not '%s'", text);
    *radius_p = (uint32_t) value;
    return 0;
}

static int
s_parse_notifications(char *text, s_profile_set_t *set)
{
    char **names = NULL;
    size_t n = 0;
    int rc = fl_cmd_split(text, &names, &n);
    if (rc != 0)
        return rc;
    Flow__NotificationType *types = calloc(n ? n : 1, sizeof *types);
    if (!types)
        rc = fl_cli_fail(FL_CLI_EXIT_FAIL, FLOW_INTERNAL, "out of memory");
    for (size_t i = 0; rc == 0 && i < n; i++) {
        int value;
        if (!fl_cli_enum_parse(&flow__notification_type__descriptor, "NOTIFICATION_", names[i],
                               &value))
            rc = fl_cli_usage_error("--notifications-off knows event_updates, rsvp, chat, "
                                    "recommendations and social, not '%s'", names[i]);
        else
            types[i] = (Flow__NotificationType) value;
    }
    free(names);
    if (rc != 0) {
        free(types);
        return rc;
    }
    free(set->notifications);
    set->notifications = types;
    set->n_notifications = n;
    set->set_notifications = true;
    return 0;
}

/*  FIELD=public|friends|private; FIELD is a member of Privacy, found by
 *  its descriptor so a field added there is known here too.  */
static int
s_parse_privacy(char *text, Flow__Privacy *privacy)
{
    char *equals = strchr(text, '=');
    const ProtobufCFieldDescriptor *field = NULL;
    if (equals) {
        *equals = 0;
        field = protobuf_c_message_descriptor_get_field_by_name(&flow__privacy__descriptor, text);
        *equals = '=';
    }
    if (!field || field->type != PROTOBUF_C_TYPE_ENUM)
        return fl_cli_usage_error("--privacy wants FIELD=VISIBILITY with FIELD bio, location, "
                                  "interests or traits, not '%s'", text);
    int value;
    if (!fl_cli_enum_parse(&flow__visibility__descriptor, "VISIBILITY_", equals + 1, &value))
        return fl_cli_usage_error("--privacy wants public, friends or private, not '%s'",
                                  equals + 1);
    Flow__Visibility visibility = (Flow__Visibility) value;
    memcpy((char *) privacy + field->offset, &visibility, sizeof visibility);
    return 0;
}

/*  optarg points into argv, which may be changed in place.  */
static int
s_profile_option(int opt, const char *arg, void *state)
{
    s_profile_set_t *set = state;
    Flow__UpdateProfileRequest *c = &set->changes;
    char *text = (char *) arg;
    switch (opt) {
    case S_OPT_NAME: set->name.value = text; c->display_name = &set->name; return 0;
    case S_OPT_AVATAR: set->avatar.value = text; c->avatar_url = &set->avatar; return 0;
    case S_OPT_BIO: set->bio.value = text; c->bio = &set->bio; return 0;
    case S_OPT_CLEAR_HOME: c->clear_home = true; return 0;
    case S_OPT_HOME:
        c->home = &set->home;
        return s_parse_home(text, &set->home);
    case S_OPT_TRAITS:
        c->traits = &set->traits;
        return fl_cmd_split(text, &set->traits.values, &set->traits.n_values);
    case S_OPT_INTERESTS:
        c->interests = &set->interests;
        return fl_cmd_split(text, &set->interests.values, &set->interests.n_values);
    case S_OPT_ACTIVITY:
        c->activity_level = &set->activity;
        return s_parse_activity(text, &set->activity);
    case S_OPT_RADIUS:
        set->set_radius = true;
        return s_parse_radius(text, &set->radius_m);
    case S_OPT_CATEGORIES:
        set->set_categories = true;
        return fl_cmd_split(text, &set->categories, &set->n_categories);
    case S_OPT_NOTIFICATIONS_OFF:
        return s_parse_notifications(text, set);
    case S_OPT_PRIVACY:
        c->privacy = &set->privacy;
        return s_parse_privacy(text, &set->privacy);
    default:
        return 0;
    }
}

static bool
s_profile_set_empty(const s_profile_set_t *set)
{
    const Flow__UpdateProfileRequest *c = &set->changes;
    return !c->display_name && !c->avatar_url && !c->bio && !c->home && !c->clear_home
        && !c->traits && !c->interests && !c->activity_level && !c->privacy
        && !set->set_radius && !set->set_categories && !set->set_notifications;
}

/*  The preferences to send: the current ones (from CURRENT, the user's
 *  own profile) with the options given put over them.  PREFS points into
 *  SET and CURRENT, which must outlive it.  */
static void
s_merge_preferences(const s_profile_set_t *set, const Flow__Profile *current,
                    Flow__Preferences *prefs)
{
    flow__preferences__init(prefs);
    if (current->preferences)
        *prefs = *current->preferences;
    if (set->set_radius)
        prefs->discovery_radius_m = set->radius_m;
    if (set->set_categories) {
        prefs->favourite_categories = set->categories;
        prefs->n_favourite_categories = set->n_categories;
    }
    if (set->set_notifications) {
        prefs->notifications_off = set->notifications;
        prefs->n_notifications_off = set->n_notifications;
    }
}

static int
s_profile_update(fl_cmd_ctx_t *ctx, s_profile_set_t *set)
{
    Flow__Profile *current = NULL;
    Flow__Preferences prefs;
    bool merge = set->set_radius || set->set_categories || set->set_notifications;
    if (merge) {
        flow_status_t status = flow_get_profile(ctx->flow, NULL, &current);
        if (status != FLOW_OK)
            return fl_output_failed(ctx, status);
        s_merge_preferences(set, current, &prefs);
        set->changes.preferences = &prefs;
    }
    Flow__Profile *updated = NULL;
    flow_status_t status = flow_update_profile(ctx->flow, &set->changes, &updated);
    set->changes.preferences = NULL;
    if (current)
        flow__profile__free_unpacked(current, NULL);
    if (status != FLOW_OK)
        return fl_output_failed(ctx, status);
    int rc = fl_output_reply(ctx, &updated->base, s_print_profile);
    flow__profile__free_unpacked(updated, NULL);
    return rc;
}

int
fl_cmd_profile_set(fl_cmd_ctx_t *ctx, int argc, char **argv)
{
    static const struct option options[] = {
        { "name", required_argument, NULL, S_OPT_NAME },
        { "avatar", required_argument, NULL, S_OPT_AVATAR },
        { "bio", required_argument, NULL, S_OPT_BIO },
        { "home", required_argument, NULL, S_OPT_HOME },
        { "clear-home", no_argument, NULL, S_OPT_CLEAR_HOME },
        { "traits", required_argument, NULL, S_OPT_TRAITS },
        { "interests", required_argument, NULL, S_OPT_INTERESTS },
        { "activity", required_argument, NULL, S_OPT_ACTIVITY },
        { "radius-m", required_argument, NULL, S_OPT_RADIUS },
        { "categories", required_argument, NULL, S_OPT_CATEGORIES },
        { "notifications-off", required_argument, NULL, S_OPT_NOTIFICATIONS_OFF },
        { "privacy", required_argument, NULL, S_OPT_PRIVACY },
        FL_GLOBAL_OPTIONS, { NULL, 0, NULL, 0 }
    };
    s_profile_set_t set;
    s_profile_set_init(&set);
    int rc = fl_cmd_parse(ctx, argc, argv, "", options, s_profile_option, &set);
    if (rc == 0 && optind < argc)
        rc = fl_cli_usage_error("profile set takes no argument '%s'", argv[optind]);
    if (rc == 0 && set.changes.home && set.changes.clear_home)
        rc = fl_cli_usage_error("--home and --clear-home exclude each other");
    if (rc == 0 && s_profile_set_empty(&set))
        rc = fl_cli_usage_error("profile set wants at least one change");
    if (rc == 0)
        rc = fl_session_connect_signed_in(ctx);
    if (rc == 0)
        rc = s_profile_update(ctx, &set);
    s_profile_set_free(&set);
    return rc;
}
