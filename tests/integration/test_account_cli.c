/*  Accounts from the client side: `flow account`, `flow profile` and
 *  `flowctl user` against a real node, and the session handling of
 *  libflow (refresh of an expired token, retry advice) against a scripted
 *  fake node, which can make a token expire on cue.
 *
 *  Every test keeps its credentials in its own directory
 *  (FLOW_CONFIG_DIR under the test's tmpdir) and starts its nodes with a
 *  cheap Argon2id, so password hashing costs milliseconds.
 */
#include "clients/libflow.h"
#include "tests/integration/harness.h"
#include "tests/testlib.h"

#include <czmq.h>
#include <pthread.h>
#include <signal.h>
#include <sys/stat.h>

static char s_out[65536], s_err[4096];
static char s_config[600];
static char s_credentials[700];

static const char *const s_fast_hash[] = { "--pwhash-ops", "1", "--pwhash-mem-kb", "8", NULL };

#define S_PASSWORD "correct horse battery"
#define S_PASSWORD_LINE S_PASSWORD "\n"

/*  Credentials of this test only; no node from the environment.  */
static void
s_isolate(void)
{
    snprintf(s_config, sizeof s_config, "%s/config/flow", fl_test_tmpdir());
    snprintf(s_credentials, sizeof s_credentials, "%s/credentials", s_config);
    setenv("FLOW_CONFIG_DIR", s_config, 1);
    unsetenv("FLOW_NODE");
}

static void
s_start(fl_proc_t *node)
{
    s_isolate();
    fl_node_start(node, NULL, s_fast_hash);
}

/*  Runs `flow ARGS...` with STDIN_TEXT (may be NULL).  */
static int
s_flow(const char *stdin_text, const char *const *args)
{
    const char *argv[40];
    size_t n = 0;
    argv[n++] = fl_program("FLOW_CLI");
    for (size_t i = 0; args[i] && n < 39; i++)
        argv[n++] = args[i];
    argv[n] = NULL;
    return fl_run(argv, stdin_text, s_out, sizeof s_out, s_err, sizeof s_err);
}

static int
s_flowctl(const fl_proc_t *node, const char *const *args)
{
    const char *argv[40];
    size_t n = 0;
    argv[n++] = fl_program("FLOWCTL_CLI");
    argv[n++] = "--control";
    argv[n++] = node->control;
    argv[n++] = "--key";
    argv[n++] = node->admin_key;
    for (size_t i = 0; args[i] && n < 39; i++)
        argv[n++] = args[i];
    argv[n] = NULL;
    return fl_run(argv, NULL, s_out, sizeof s_out, s_err, sizeof s_err);
}

static int
s_register(const fl_proc_t *node, const char *email, const char *name)
{
    const char *args[] = { "--node", node->client, "account", "register", "--email", email,
                           "--name", name, "--password-stdin", NULL };
    return s_flow(S_PASSWORD_LINE, args);
}

static int
s_login(const fl_proc_t *node, const char *email, const char *password_line)
{
    const char *args[] = { "--node", node->client, "account", "login", "--email", email,
                           "--password-stdin", NULL };
    return s_flow(password_line, args);
}

/*  A failure is one line on stderr: "flow: STATUS: ...".  */
static bool
s_one_line_error(const char *program, const char *status)
{
    char prefix[64];
    snprintf(prefix, sizeof prefix, "%s: %s: ", program, status);
    size_t len = strlen(s_err);
    return strncmp(s_err, prefix, strlen(prefix)) == 0 && len > 0
        && strchr(s_err, '\n') == s_err + len - 1;
}

static bool
s_exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

static int
s_mode(const char *path)
{
    struct stat st;
    FL_CHECK(stat(path, &st) == 0);
    return (int) (st.st_mode & 07777);
}

/*  The value of KEY in the credentials file, into VALUE.  */
static void
s_stored(const char *key, char *value, size_t cap)
{
    FILE *file = fopen(s_credentials, "r");
    FL_CHECK(file != NULL);
    char line[2048];
    size_t key_len = strlen(key);
    value[0] = 0;
    while (fgets(line, sizeof line, file)) {
        if (strncmp(line, key, key_len) != 0 || line[key_len] != '=')
            continue;
        snprintf(value, cap, "%s", line + key_len + 1);
        value[strcspn(value, "\n")] = 0;
    }
    fclose(file);
}

/*  Writes a credentials file as a user (or an older session) left it.  */
static void
s_write_credentials(const char *text)
{
    char parent[600];
    snprintf(parent, sizeof parent, "%s/config", fl_test_tmpdir());
    FL_CHECK(mkdir(parent, 0700) == 0 || s_exists(parent));
    FL_CHECK(mkdir(s_config, 0700) == 0 || s_exists(s_config));
    FILE *file = fopen(s_credentials, "w");
    FL_CHECK(file != NULL);
    fputs(text, file);
    fclose(file);
}

/*  ---------------------------------------------------------------------
 *  Register, login, profiles
 */

FL_TEST(register_signs_in_and_keeps_the_session_private)
{
    fl_proc_t node;
    s_start(&node);
    FL_CHECK_INT(s_register(&node, "ada@example.com", "Ada"), ==, 0);
    FL_CHECK(strncmp(s_out, "signed in as ada@example.com (", 30) == 0);
    FL_CHECK_INT(s_mode(s_config), ==, 0700);
    FL_CHECK_INT(s_mode(s_credentials), ==, 0600);
    char access[1024], refresh[1024], user_id[256], stored_node[512];
    s_stored("access_token", access, sizeof access);
    s_stored("refresh_token", refresh, sizeof refresh);
    s_stored("user_id", user_id, sizeof user_id);
    s_stored("node", stored_node, sizeof stored_node);
    FL_CHECK(access[0] && refresh[0] && user_id[0]);
    FL_CHECK_STR(stored_node, node.client);
    FL_CHECK(strstr(s_out, user_id) != NULL);
    FL_CHECK(strstr(s_out, access) == NULL && strstr(s_out, refresh) == NULL);
    FL_CHECK(strstr(s_err, access) == NULL && strstr(s_err, refresh) == NULL);
    FL_CHECK_INT(fl_node_stop(&node, SIGTERM), ==, 0);
}

FL_TEST(login_json_prints_the_session_with_its_tokens)
{
    fl_proc_t node;
    s_start(&node);
    FL_CHECK_INT(s_register(&node, "ada@example.com", "Ada"), ==, 0);
    const char *args[] = { "--json", "--node", node.client, "account", "login", "--email",
                           "ada@example.com", "--password-stdin", NULL };
    FL_CHECK_INT(s_flow(S_PASSWORD_LINE, args), ==, 0);
    char access[1024], refresh[1024];
    s_stored("access_token", access, sizeof access);
    s_stored("refresh_token", refresh, sizeof refresh);
    FL_CHECK(s_out[0] == '{');
    FL_CHECK(strstr(s_out, "\"access_token\"") != NULL);
    FL_CHECK(strstr(s_out, access) != NULL);
    FL_CHECK(strstr(s_out, refresh) != NULL);
    FL_CHECK_INT(fl_node_stop(&node, SIGTERM), ==, 0);
}

FL_TEST(human_login_never_prints_tokens)
{
    fl_proc_t node;
    s_start(&node);
    FL_CHECK_INT(s_register(&node, "ada@example.com", "Ada"), ==, 0);
    FL_CHECK_INT(s_login(&node, "ada@example.com", S_PASSWORD_LINE), ==, 0);
    char access[1024], refresh[1024];
    s_stored("access_token", access, sizeof access);
    s_stored("refresh_token", refresh, sizeof refresh);
    FL_CHECK(strncmp(s_out, "signed in as ada@example.com (", 30) == 0);
    FL_CHECK(strstr(s_out, access) == NULL && strstr(s_out, refresh) == NULL);
    const char *show[] = { "profile", "show", NULL };
    FL_CHECK_INT(s_flow(NULL, show), ==, 0);
    FL_CHECK(strstr(s_out, access) == NULL && strstr(s_out, refresh) == NULL);
    FL_CHECK_INT(fl_node_stop(&node, SIGTERM), ==, 0);
}

FL_TEST(wrong_password_is_refused_with_one_line)
{
    fl_proc_t node;
    s_start(&node);
    FL_CHECK_INT(s_register(&node, "ada@example.com", "Ada"), ==, 0);
    FL_CHECK_INT(s_login(&node, "ada@example.com", "not the password\n"), ==, 1);
    FL_CHECK(s_one_line_error("flow", "UNAUTHENTICATED"));
    FL_CHECK_INT(fl_node_stop(&node, SIGTERM), ==, 0);
}

FL_TEST(profile_show_prints_the_own_profile_from_the_stored_session)
{
    fl_proc_t node;
    s_start(&node);
    FL_CHECK_INT(s_register(&node, "ada@example.com", "Ada Lovelace"), ==, 0);
    const char *args[] = { "profile", "show", NULL };
    FL_CHECK_INT(s_flow(NULL, args), ==, 0);
    FL_CHECK(strstr(s_out, "Ada Lovelace") != NULL);
    FL_CHECK(strstr(s_out, "ada@example.com") != NULL);
    const char *json[] = { "--json", "profile", "show", NULL };
    FL_CHECK_INT(s_flow(NULL, json), ==, 0);
    FL_CHECK(s_out[0] == '{');
    FL_CHECK(strstr(s_out, "\"display_name\"") != NULL);
    FL_CHECK_INT(fl_node_stop(&node, SIGTERM), ==, 0);
}

FL_TEST(profile_show_finds_another_user_by_email)
{
    fl_proc_t node;
    s_start(&node);
    FL_CHECK_INT(s_register(&node, "ada@example.com", "Ada Lovelace"), ==, 0);
    FL_CHECK_INT(s_register(&node, "grace@example.com", "Grace Hopper"), ==, 0);
    const char *args[] = { "profile", "show", "ada@example.com", NULL };
    FL_CHECK_INT(s_flow(NULL, args), ==, 0);
    FL_CHECK(strstr(s_out, "Ada Lovelace") != NULL);
    FL_CHECK_INT(fl_node_stop(&node, SIGTERM), ==, 0);
}

FL_TEST(profile_set_changes_only_the_given_fields)
{
    fl_proc_t node;
    s_start(&node);
    FL_CHECK_INT(s_register(&node, "ada@example.com", "Ada"), ==, 0);
    const char *set[] = { "profile", "set", "--bio", "counts things", "--home", "51.5,-0.12",
                          "--traits", "curious, calm", "--interests", "maths",
                          "--activity", "high", "--privacy", "bio=friends",
                          "--privacy", "location=private", NULL };
    FL_CHECK_INT(s_flow(NULL, set), ==, 0);
    FL_CHECK(strstr(s_out, "counts things") != NULL);
    const char *name[] = { "profile", "set", "--name", "Ada L", NULL };
    FL_CHECK_INT(s_flow(NULL, name), ==, 0);
    const char *show[] = { "--json", "profile", "show", NULL };
    FL_CHECK_INT(s_flow(NULL, show), ==, 0);
    FL_CHECK(strstr(s_out, "Ada L") != NULL);
    FL_CHECK(strstr(s_out, "counts things") != NULL);
    FL_CHECK(strstr(s_out, "51.5") != NULL);
    FL_CHECK(strstr(s_out, "\"curious\"") && strstr(s_out, "\"calm\""));
    FL_CHECK(strstr(s_out, "\"maths\"") != NULL);
    FL_CHECK(strstr(s_out, "ACTIVITY_HIGH") != NULL);
    FL_CHECK(strstr(s_out, "VISIBILITY_FRIENDS") != NULL);
    FL_CHECK(strstr(s_out, "VISIBILITY_PRIVATE") != NULL);
    const char *clear[] = { "--json", "profile", "set", "--clear-home", NULL };
    FL_CHECK_INT(s_flow(NULL, clear), ==, 0);
    FL_CHECK(strstr(s_out, "\"home\"") == NULL);
    FL_CHECK_INT(fl_node_stop(&node, SIGTERM), ==, 0);
}

FL_TEST(profile_set_keeps_the_preferences_not_given)
{
    fl_proc_t node;
    s_start(&node);
    FL_CHECK_INT(s_register(&node, "ada@example.com", "Ada"), ==, 0);
    const char *first[] = { "profile", "set", "--radius-m", "5000", "--categories",
                            "music,art", NULL };
    FL_CHECK_INT(s_flow(NULL, first), ==, 0);
    const char *second[] = { "profile", "set", "--notifications-off", "chat,social", NULL };
    FL_CHECK_INT(s_flow(NULL, second), ==, 0);
    const char *show[] = { "--json", "profile", "show", NULL };
    FL_CHECK_INT(s_flow(NULL, show), ==, 0);
    FL_CHECK(strstr(s_out, "5000") != NULL);
    FL_CHECK(strstr(s_out, "\"music\"") && strstr(s_out, "\"art\""));
    FL_CHECK(strstr(s_out, "NOTIFICATION_CHAT") && strstr(s_out, "NOTIFICATION_SOCIAL"));
    FL_CHECK_INT(fl_node_stop(&node, SIGTERM), ==, 0);
}

FL_TEST(node_option_wins_over_the_stored_node)
{
    fl_proc_t node;
    s_start(&node);
    FL_CHECK_INT(s_register(&node, "ada@example.com", "Ada"), ==, 0);
    const char *elsewhere[] = { "profile", "show", "--node", "tcp://127.0.0.1:1",
                                "--timeout", "500", NULL };
    FL_CHECK_INT(s_flow(NULL, elsewhere), ==, 1);
    FL_CHECK(strstr(s_err, "127.0.0.1:1") != NULL);
    const char *stored[] = { "profile", "show", NULL };
    FL_CHECK_INT(s_flow(NULL, stored), ==, 0);
    FL_CHECK_INT(fl_node_stop(&node, SIGTERM), ==, 0);
}

/*  ---------------------------------------------------------------------
 *  Logout, password, deletion
 */

FL_TEST(logout_removes_the_session_and_profile_show_is_then_unauthenticated)
{
    fl_proc_t node;
    s_start(&node);
    FL_CHECK_INT(s_register(&node, "ada@example.com", "Ada"), ==, 0);
    const char *logout[] = { "account", "logout", NULL };
    FL_CHECK_INT(s_flow(NULL, logout), ==, 0);
    FL_CHECK(strstr(s_out, "signed out ada@example.com") != NULL);
    FL_CHECK(!s_exists(s_credentials));
    const char *show[] = { "--node", node.client, "profile", "show", NULL };
    FL_CHECK_INT(s_flow(NULL, show), ==, 1);
    FL_CHECK_STR(s_err, "flow: UNAUTHENTICATED: not signed in (flow account login)\n");
    FL_CHECK_INT(fl_node_stop(&node, SIGTERM), ==, 0);
}

FL_TEST(logged_out_token_is_refused_by_the_node)
{
    fl_proc_t node;
    s_start(&node);
    FL_CHECK_INT(s_register(&node, "ada@example.com", "Ada"), ==, 0);
    char saved[4096];
    FILE *file = fopen(s_credentials, "r");
    FL_CHECK(file != NULL);
    size_t n = fread(saved, 1, sizeof saved - 1, file);
    saved[n] = 0;
    fclose(file);
    const char *logout[] = { "account", "logout", NULL };
    FL_CHECK_INT(s_flow(NULL, logout), ==, 0);
    s_write_credentials(saved);
    const char *show[] = { "profile", "show", NULL };
    FL_CHECK_INT(s_flow(NULL, show), ==, 1);
    FL_CHECK(s_one_line_error("flow", "UNAUTHENTICATED"));
    FL_CHECK_INT(fl_node_stop(&node, SIGTERM), ==, 0);
}

FL_TEST(passwd_from_stdin_then_login_takes_only_the_new_password)
{
    fl_proc_t node;
    s_start(&node);
    FL_CHECK_INT(s_register(&node, "ada@example.com", "Ada"), ==, 0);
    const char *passwd[] = { "account", "passwd", "--password-stdin", NULL };
    FL_CHECK_INT(s_flow(S_PASSWORD_LINE "a brand new secret\n", passwd), ==, 0);
    FL_CHECK_INT(s_login(&node, "ada@example.com", S_PASSWORD_LINE), ==, 1);
    FL_CHECK(s_one_line_error("flow", "UNAUTHENTICATED"));
    FL_CHECK_INT(s_login(&node, "ada@example.com", "a brand new secret\n"), ==, 0);
    FL_CHECK_INT(fl_node_stop(&node, SIGTERM), ==, 0);
}

FL_TEST(passwd_with_a_wrong_current_password_fails)
{
    fl_proc_t node;
    s_start(&node);
    FL_CHECK_INT(s_register(&node, "ada@example.com", "Ada"), ==, 0);
    const char *passwd[] = { "account", "passwd", "--password-stdin", NULL };
    FL_CHECK(s_flow("not the password\na brand new secret\n", passwd) != 0);
    FL_CHECK(strncmp(s_err, "flow: ", 6) == 0 && strchr(s_err, '\n') == s_err + strlen(s_err) - 1);
    FL_CHECK_INT(s_login(&node, "ada@example.com", S_PASSWORD_LINE), ==, 0);
    FL_CHECK_INT(fl_node_stop(&node, SIGTERM), ==, 0);
}

FL_TEST(delete_without_yes_is_refused_and_changes_nothing)
{
    fl_proc_t node;
    s_start(&node);
    FL_CHECK_INT(s_register(&node, "ada@example.com", "Ada"), ==, 0);
    const char *args[] = { "account", "delete", "--password-stdin", NULL };
    FL_CHECK_INT(s_flow(S_PASSWORD_LINE, args), ==, 2);
    FL_CHECK(s_one_line_error("flow", "INVALID_ARGUMENT"));
    FL_CHECK(strstr(s_err, "--yes") != NULL);
    FL_CHECK(s_exists(s_credentials));
    FL_CHECK_INT(s_login(&node, "ada@example.com", S_PASSWORD_LINE), ==, 0);
    FL_CHECK_INT(fl_node_stop(&node, SIGTERM), ==, 0);
}

FL_TEST(delete_with_yes_removes_the_account)
{
    fl_proc_t node;
    s_start(&node);
    FL_CHECK_INT(s_register(&node, "ada@example.com", "Ada"), ==, 0);
    const char *args[] = { "account", "delete", "--yes", "--password-stdin", NULL };
    FL_CHECK_INT(s_flow(S_PASSWORD_LINE, args), ==, 0);
    FL_CHECK(!s_exists(s_credentials));
    FL_CHECK_INT(s_login(&node, "ada@example.com", S_PASSWORD_LINE), ==, 1);
    FL_CHECK(s_one_line_error("flow", "UNAUTHENTICATED") || s_one_line_error("flow", "NOT_FOUND"));
    FL_CHECK_INT(fl_node_stop(&node, SIGTERM), ==, 0);
}

/*  ---------------------------------------------------------------------
 *  flowctl user
 */

FL_TEST(flowctl_user_role_then_show_tells_the_role)
{
    fl_proc_t node;
    s_start(&node);
    FL_CHECK_INT(s_register(&node, "ada@example.com", "Ada"), ==, 0);
    const char *role[] = { "user", "role", "ada@example.com", "organizer", NULL };
    FL_CHECK_INT(s_flowctl(&node, role), ==, 0);
    FL_CHECK(strstr(s_out, "organizer") != NULL);
    const char *show[] = { "user", "show", "ada@example.com", NULL };
    FL_CHECK_INT(s_flowctl(&node, show), ==, 0);
    FL_CHECK(strstr(s_out, "ada@example.com") != NULL);
    FL_CHECK(strstr(s_out, "Ada") != NULL);
    FL_CHECK(strstr(s_out, "organizer") != NULL);
    FL_CHECK(strstr(s_out, "sessions") != NULL);
    const char *json[] = { "--json", "user", "show", "ada@example.com", NULL };
    FL_CHECK_INT(s_flowctl(&node, json), ==, 0);
    FL_CHECK(strstr(s_out, "ROLE_ORGANIZER") != NULL);
    FL_CHECK_INT(fl_node_stop(&node, SIGTERM), ==, 0);
}

FL_TEST(flowctl_user_show_of_an_unknown_email_fails)
{
    fl_proc_t node;
    s_start(&node);
    const char *show[] = { "user", "show", "nobody@example.com", NULL };
    FL_CHECK_INT(s_flowctl(&node, show), ==, 1);
    FL_CHECK(s_one_line_error("flowctl", "NOT_FOUND"));
    FL_CHECK_INT(fl_node_stop(&node, SIGTERM), ==, 0);
}

FL_TEST(flowctl_user_role_refuses_an_unknown_role)
{
    const char *argv[] = { fl_program("FLOWCTL_CLI"), "user", "role", "ada@example.com",
                           "emperor", NULL };
    FL_CHECK_INT(fl_run(argv, NULL, s_out, sizeof s_out, s_err, sizeof s_err), ==, 2);
    FL_CHECK(s_one_line_error("flowctl", "INVALID_ARGUMENT"));
}

/*  ---------------------------------------------------------------------
 *  Bad input
 */

FL_TEST(bad_email_is_refused_with_one_line)
{
    fl_proc_t node;
    s_start(&node);
    FL_CHECK_INT(s_register(&node, "not-an-email", "Ada"), ==, 1);
    FL_CHECK(s_one_line_error("flow", "INVALID_ARGUMENT"));
    FL_CHECK(!s_exists(s_credentials));
    FL_CHECK_INT(fl_node_stop(&node, SIGTERM), ==, 0);
}

FL_TEST(short_password_is_refused_with_one_line)
{
    fl_proc_t node;
    s_start(&node);
    const char *args[] = { "--node", node.client, "account", "register", "--email",
                           "ada@example.com", "--name", "Ada", "--password-stdin", NULL };
    FL_CHECK_INT(s_flow("short\n", args), ==, 1);
    FL_CHECK(s_one_line_error("flow", "INVALID_ARGUMENT"));
    FL_CHECK(!s_exists(s_credentials));
    FL_CHECK_INT(fl_node_stop(&node, SIGTERM), ==, 0);
}

FL_TEST(empty_password_on_stdin_is_refused)
{
    s_isolate();
    const char *args[] = { "--node", "tcp://127.0.0.1:1", "account", "login", "--email",
                           "ada@example.com", "--password-stdin", NULL };
    FL_CHECK_INT(s_flow("", args), ==, 1);
    FL_CHECK(s_one_line_error("flow", "INVALID_ARGUMENT"));
}

FL_TEST(unknown_activity_is_a_usage_error)
{
    s_isolate();
    const char *args[] = { "profile", "set", "--activity", "frantic", NULL };
    FL_CHECK_INT(s_flow(NULL, args), ==, 2);
    FL_CHECK(s_one_line_error("flow", "INVALID_ARGUMENT"));
    FL_CHECK(strstr(s_err, "frantic") != NULL);
}

FL_TEST(bad_home_is_a_usage_error)
{
    s_isolate();
    const char *bads[] = { "91,0", "0,181", "north", "1,2,3", "1;2", "nan,0" };
    for (size_t i = 0; i < sizeof bads / sizeof bads[0]; i++) {
        const char *args[] = { "profile", "set", "--home", bads[i], NULL };
        FL_CHECK_INT(s_flow(NULL, args), ==, 2);
        FL_CHECK(s_one_line_error("flow", "INVALID_ARGUMENT"));
    }
}

FL_TEST(bad_privacy_and_notifications_are_usage_errors)
{
    s_isolate();
    const char *bads[][2] = { { "--privacy", "bio" }, { "--privacy", "shoe=public" },
                              { "--privacy", "bio=everyone" },
                              { "--notifications-off", "chat,pigeons" },
                              { "--radius-m", "-5" } };
    for (size_t i = 0; i < sizeof bads / sizeof bads[0]; i++) {
        const char *args[] = { "profile", "set", bads[i][0], bads[i][1], NULL };
        FL_CHECK_INT(s_flow(NULL, args), ==, 2);
        FL_CHECK(s_one_line_error("flow", "INVALID_ARGUMENT"));
    }
}

FL_TEST(commands_needing_a_user_fail_when_not_signed_in)
{
    s_isolate();
    const char *commands[][3] = { { "profile", "show", NULL }, { "account", "logout", NULL },
                                  { "account", "passwd", "--password-stdin" } };
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++) {
        const char *args[] = { commands[i][0], commands[i][1], commands[i][2], NULL };
        FL_CHECK_INT(s_flow(NULL, args), ==, 1);
        FL_CHECK_STR(s_err, "flow: UNAUTHENTICATED: not signed in (flow account login)\n");
    }
}

FL_TEST(every_account_and_profile_command_has_help)
{
    s_isolate();
    const char *commands[][2] = { { "account", "register" }, { "account", "login" },
                                  { "account", "logout" }, { "account", "passwd" },
                                  { "account", "delete" }, { "profile", "show" },
                                  { "profile", "set" } };
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++) {
        const char *args[] = { commands[i][0], commands[i][1], "--help", NULL };
        FL_CHECK_INT(s_flow(NULL, args), ==, 0);
        FL_CHECK(strstr(s_out, commands[i][1]) != NULL);
    }
    const char *nouns[] = { "account", "profile" };
    for (size_t i = 0; i < 2; i++) {
        const char *args[] = { nouns[i], "--help", NULL };
        FL_CHECK_INT(s_flow(NULL, args), ==, 0);
        FL_CHECK(strstr(s_out, nouns[i]) != NULL);
    }
    const char *ctl[][3] = { { "user", "--help", NULL }, { "user", "role", "--help" },
                             { "user", "show", "--help" } };
    for (size_t i = 0; i < 3; i++) {
        const char *argv[] = { fl_program("FLOWCTL_CLI"), ctl[i][0], ctl[i][1], ctl[i][2],
                               NULL };
        FL_CHECK_INT(fl_run(argv, NULL, s_out, sizeof s_out, s_err, sizeof s_err), ==, 0);
        FL_CHECK(strstr(s_out, "user") != NULL);
    }
}

/*  ---------------------------------------------------------------------
 *  A fake node whose answers depend on the token, so a test can make a
 *  session expire when it likes:
 *
 *      login, sign_up            -> session tok-access-1 / tok-refresh-1
 *      refresh tok-refresh-1     -> session tok-access-2 / tok-refresh-2
 *      refresh anything else     -> UNAUTHENTICATED "refresh token: revoked"
 *      other requests with token
 *        tok-access-1            -> UNAUTHENTICATED "token: expired"
 *        tok-access-2            -> OK (a profile where one is due)
 *        tok-busy                -> RESOURCE_EXHAUSTED, retry after 250 ms
 *        tok-busy-said           -> the same, with the advice in the message
 *        anything else           -> UNAUTHENTICATED "token: missing"
 *
 *  It counts the requests of each kind and keeps the token of the last.
 */

#define S_KINDS 32
#define S_TOKEN_CAP 64

typedef struct {
    pthread_mutex_t lock;
    int count[S_KINDS];
    char token[S_KINDS][S_TOKEN_CAP];
    char refresh_token[64];
    char endpoint[64];
} s_fake_t;

static void
s_fake_session(Flow__Reply *reply, Flow__SessionReply *session, const char *access,
               const char *refresh)
{
    session->user_id = "u-1";
    session->role = FLOW__ROLE__ROLE_USER;
    session->access_token = (char *) access;
    session->refresh_token = (char *) refresh;
    reply->body_case = FLOW__REPLY__BODY_SESSION;
    reply->session = session;
}

static void
s_fake_refuse(Flow__Reply *reply, Flow__Status status, const char *message)
{
    reply->status = status;
    reply->message = (char *) message;
}

static void
s_fake_record(s_fake_t *fake, const Flow__Request *req)
{
    pthread_mutex_lock(&fake->lock);
    size_t kind = (size_t) req->body_case % S_KINDS;
    fake->count[kind]++;
    snprintf(fake->token[kind], sizeof fake->token[kind], "%s", req->token);
    if (req->body_case == FLOW__REQUEST__BODY_REFRESH)
        snprintf(fake->refresh_token, sizeof fake->refresh_token, "%s",
                 req->refresh->refresh_token);
    pthread_mutex_unlock(&fake->lock);
}

static void
s_fake_answer(const Flow__Request *req, Flow__Reply *reply, Flow__SessionReply *session,
              Flow__Profile *profile)
{
    Flow__Request__BodyCase body = req->body_case;
    if (body == FLOW__REQUEST__BODY_LOGIN || body == FLOW__REQUEST__BODY_SIGN_UP)
        s_fake_session(reply, session, "tok-access-1", "tok-refresh-1");
    else if (body == FLOW__REQUEST__BODY_REFRESH && strcmp(req->refresh->refresh_token,
                                                           "tok-refresh-1") == 0)
        s_fake_session(reply, session, "tok-access-2", "tok-refresh-2");
    else if (body == FLOW__REQUEST__BODY_REFRESH)
        s_fake_refuse(reply, FLOW__STATUS__UNAUTHENTICATED, "refresh token: revoked");
    else if (strcmp(req->token, "tok-access-1") == 0)
        s_fake_refuse(reply, FLOW__STATUS__UNAUTHENTICATED, "token: expired");
    else if (strcmp(req->token, "tok-busy") == 0) {
        s_fake_refuse(reply, FLOW__STATUS__RESOURCE_EXHAUSTED, "slow down");
        reply->retry_after_ms = 250;
    }
    else if (strcmp(req->token, "tok-busy-said") == 0) {
        s_fake_refuse(reply, FLOW__STATUS__RESOURCE_EXHAUSTED, "slow down; retry after 250 ms");
        reply->retry_after_ms = 250;
    }
    else if (strcmp(req->token, "tok-access-2") != 0)
        s_fake_refuse(reply, FLOW__STATUS__UNAUTHENTICATED, "token: missing");
    else if (body == FLOW__REQUEST__BODY_GET_PROFILE
             || body == FLOW__REQUEST__BODY_UPDATE_PROFILE) {
        profile->user_id = "u-1";
        profile->display_name = "Ada";
        profile->email = "ada@example.com";
        reply->body_case = FLOW__REPLY__BODY_PROFILE;
        reply->profile = profile;
    }
}

/*  The packed answer to the request in FRAME; NULL when it does not
 *  decode.  */
static zframe_t *
s_fake_reply(s_fake_t *fake, zframe_t *frame)
{
    Flow__Request *req = flow__request__unpack(NULL, zframe_size(frame), zframe_data(frame));
    if (!req)
        return NULL;
    s_fake_record(fake, req);
    Flow__Reply reply = FLOW__REPLY__INIT;
    Flow__SessionReply session = FLOW__SESSION_REPLY__INIT;
    Flow__Profile profile = FLOW__PROFILE__INIT;
    reply.id = req->id;
    s_fake_answer(req, &reply, &session, &profile);
    Flow__ServerMessage msg = FLOW__SERVER_MESSAGE__INIT;
    msg.version = FLOW_PROTOCOL_VERSION;
    msg.kind_case = FLOW__SERVER_MESSAGE__KIND_REPLY;
    msg.reply = &reply;
    zframe_t *out = zframe_new(NULL, flow__server_message__get_packed_size(&msg));
    flow__server_message__pack(&msg, zframe_data(out));
    flow__request__free_unpacked(req, NULL);
    return out;
}

static void
s_fake_actor(zsock_t *pipe, void *arg)
{
    s_fake_t *fake = arg;
    zsock_t *router = zsock_new(ZMQ_ROUTER);
    int port = zsock_bind(router, "tcp://127.0.0.1:*");
    snprintf(fake->endpoint, sizeof fake->endpoint, "tcp://127.0.0.1:%d", port);
    zsock_signal(pipe, 0);
    zpoller_t *poller = zpoller_new(pipe, router, NULL);
    while (zpoller_wait(poller, -1) == router) {
        zframe_t *id = zframe_recv(router);
        zframe_t *frame = id && zframe_more(id) ? zframe_recv(router) : NULL;
        zframe_t *reply = frame ? s_fake_reply(fake, frame) : NULL;
        if (reply) {
            zframe_send(&id, router, ZFRAME_MORE);
            zframe_send(&reply, router, 0);
        }
        zframe_destroy(&id);
        zframe_destroy(&frame);
    }
    zpoller_destroy(&poller);
    zsock_destroy(&router);
}

static int
s_fake_count(s_fake_t *fake, Flow__Request__BodyCase body)
{
    pthread_mutex_lock(&fake->lock);
    int count = fake->count[(size_t) body % S_KINDS];
    pthread_mutex_unlock(&fake->lock);
    return count;
}

static void
s_fake_token(s_fake_t *fake, Flow__Request__BodyCase body, char token[S_TOKEN_CAP])
{
    pthread_mutex_lock(&fake->lock);
    memcpy(token, fake->token[(size_t) body % S_KINDS], S_TOKEN_CAP);
    pthread_mutex_unlock(&fake->lock);
}

typedef struct {
    int calls;
    char access[64];
    char refresh[64];
} s_sessions_seen_t;

static void
s_on_session(flow_t *flow, const Flow__SessionReply *session, void *arg)
{
    (void) flow;
    s_sessions_seen_t *seen = arg;
    seen->calls++;
    snprintf(seen->access, sizeof seen->access, "%s", session->access_token);
    snprintf(seen->refresh, sizeof seen->refresh, "%s", session->refresh_token);
}

static void
s_fake_start(s_fake_t *fake, zactor_t **actor_p)
{
    memset(fake, 0, sizeof *fake);
    pthread_mutex_init(&fake->lock, NULL);
    *actor_p = zactor_new(s_fake_actor, fake);
    FL_CHECK(*actor_p != NULL);
}

static void
s_fake_stop(s_fake_t *fake, zactor_t **actor_p)
{
    zactor_destroy(actor_p);
    pthread_mutex_destroy(&fake->lock);
}

/*  A client of a new fake node that records the sessions it is handed.  */
static flow_t *
s_fake_client(s_fake_t *fake, zactor_t **actor_p, s_sessions_seen_t *seen)
{
    s_fake_start(fake, actor_p);
    flow_t *flow = flow_new(fake->endpoint);
    FL_CHECK(flow != NULL);
    flow_set_timeout(flow, 5000);
    memset(seen, 0, sizeof *seen);
    flow_on_session(flow, s_on_session, seen);
    return flow;
}

static void
s_fake_end(s_fake_t *fake, zactor_t **actor_p, flow_t **flow_p)
{
    flow_destroy(flow_p);
    s_fake_stop(fake, actor_p);
}

FL_TEST(libflow_login_keeps_the_session_and_hands_it_to_the_callback)
{
    s_fake_t fake;
    zactor_t *actor;
    s_sessions_seen_t seen;
    flow_t *flow = s_fake_client(&fake, &actor, &seen);
    flow_set_token(flow, "tok-stale");
    Flow__SessionReply *session = NULL;
    FL_CHECK_INT(flow_login(flow, "ada@example.com", S_PASSWORD, &session), ==, FLOW_OK);
    FL_CHECK_STR(session->access_token, "tok-access-1");
    flow__session_reply__free_unpacked(session, NULL);
    char token[S_TOKEN_CAP];
    s_fake_token(&fake, FLOW__REQUEST__BODY_LOGIN, token);
    FL_CHECK_STR(token, "");
    FL_CHECK_INT(seen.calls, ==, 1);
    FL_CHECK_STR(seen.refresh, "tok-refresh-1");
    FL_CHECK_INT(flow_change_password(flow, S_PASSWORD, "another password"), ==, FLOW_OK);
    s_fake_token(&fake, FLOW__REQUEST__BODY_CHANGE_PASSWORD, token);
    FL_CHECK_STR(token, "tok-access-2");
    s_fake_end(&fake, &actor, &flow);
}

FL_TEST(libflow_refreshes_an_expired_token_once_and_sends_the_request_again)
{
    s_fake_t fake;
    zactor_t *actor;
    s_sessions_seen_t seen;
    flow_t *flow = s_fake_client(&fake, &actor, &seen);
    FL_CHECK_INT(flow_set_session(flow, "tok-access-1", "tok-refresh-1"), ==, FLOW_OK);
    Flow__UpdateProfileRequest changes = FLOW__UPDATE_PROFILE_REQUEST__INIT;
    Flow__TextValue bio = FLOW__TEXT_VALUE__INIT;
    bio.value = "counts things";
    changes.bio = &bio;
    Flow__Profile *profile = NULL;
    FL_CHECK_INT(flow_update_profile(flow, &changes, &profile), ==, FLOW_OK);
    FL_CHECK_STR(profile->display_name, "Ada");
    flow__profile__free_unpacked(profile, NULL);
    FL_CHECK_INT(s_fake_count(&fake, FLOW__REQUEST__BODY_UPDATE_PROFILE), ==, 2);
    FL_CHECK_INT(s_fake_count(&fake, FLOW__REQUEST__BODY_REFRESH), ==, 1);
    char token[S_TOKEN_CAP];
    s_fake_token(&fake, FLOW__REQUEST__BODY_REFRESH, token);
    FL_CHECK_STR(token, "");
    FL_CHECK_STR(fake.refresh_token, "tok-refresh-1");
    s_fake_token(&fake, FLOW__REQUEST__BODY_UPDATE_PROFILE, token);
    FL_CHECK_STR(token, "tok-access-2");
    FL_CHECK_INT(seen.calls, ==, 1);
    FL_CHECK_STR(seen.access, "tok-access-2");
    FL_CHECK_STR(seen.refresh, "tok-refresh-2");
    s_fake_end(&fake, &actor, &flow);
}

FL_TEST(libflow_failed_refresh_returns_the_refresh_status)
{
    s_fake_t fake;
    zactor_t *actor;
    s_sessions_seen_t seen;
    flow_t *flow = s_fake_client(&fake, &actor, &seen);
    FL_CHECK_INT(flow_set_session(flow, "tok-access-1", "tok-refresh-revoked"), ==, FLOW_OK);
    Flow__Profile *profile = NULL;
    FL_CHECK_INT(flow_get_profile(flow, NULL, &profile), ==, FLOW_UNAUTHENTICATED);
    FL_CHECK(profile == NULL);
    FL_CHECK_STR(flow_error(flow), "refresh token: revoked");
    FL_CHECK_INT(s_fake_count(&fake, FLOW__REQUEST__BODY_GET_PROFILE), ==, 1);
    FL_CHECK_INT(s_fake_count(&fake, FLOW__REQUEST__BODY_REFRESH), ==, 1);
    FL_CHECK_INT(seen.calls, ==, 0);
    s_fake_end(&fake, &actor, &flow);
}

FL_TEST(libflow_does_not_refresh_without_a_refresh_token_or_for_a_foreign_token)
{
    s_fake_t fake;
    zactor_t *actor;
    s_sessions_seen_t seen;
    flow_t *flow = s_fake_client(&fake, &actor, &seen);
    flow_set_token(flow, "tok-access-1");
    FL_CHECK_INT(flow_logout(flow), ==, FLOW_UNAUTHENTICATED);
    FL_CHECK_STR(flow_error(flow), "token: expired");
    FL_CHECK_INT(flow_set_session(flow, "tok-access-2", "tok-refresh-1"), ==, FLOW_OK);
    Flow__GetProfileRequest get = FLOW__GET_PROFILE_REQUEST__INIT;
    Flow__Request req = FLOW__REQUEST__INIT;
    req.body_case = FLOW__REQUEST__BODY_GET_PROFILE;
    req.get_profile = &get;
    req.token = "tok-access-1";
    FL_CHECK_INT(flow_call(flow, &req, NULL, 0), ==, FLOW_UNAUTHENTICATED);
    FL_CHECK_STR(req.token, "tok-access-1");
    FL_CHECK_INT(s_fake_count(&fake, FLOW__REQUEST__BODY_REFRESH), ==, 0);
    FL_CHECK_INT(seen.calls, ==, 0);
    s_fake_end(&fake, &actor, &flow);
}

FL_TEST(libflow_resource_exhausted_is_not_retried_and_tells_when_to_retry)
{
    s_fake_t fake;
    zactor_t *actor;
    s_sessions_seen_t seen;
    flow_t *flow = s_fake_client(&fake, &actor, &seen);
    flow_set_token(flow, "tok-busy");
    Flow__Profile *profile = NULL;
    FL_CHECK_INT(flow_get_profile(flow, "ada@example.com", &profile), ==, FLOW_RESOURCE_EXHAUSTED);
    FL_CHECK_INT(flow_retry_after_ms(flow), ==, 250);
    FL_CHECK_STR(flow_error(flow), "slow down (retry after 250 ms)");
    FL_CHECK_INT(s_fake_count(&fake, FLOW__REQUEST__BODY_GET_PROFILE), ==, 1);
    flow_set_token(flow, "tok-busy-said");
    FL_CHECK_INT(flow_get_profile(flow, NULL, &profile), ==, FLOW_RESOURCE_EXHAUSTED);
    FL_CHECK_INT(flow_retry_after_ms(flow), ==, 250);
    FL_CHECK_STR(flow_error(flow), "slow down; retry after 250 ms");
    flow_set_token(flow, "tok-unknown");
    FL_CHECK_INT(flow_get_profile(flow, NULL, &profile), ==, FLOW_UNAUTHENTICATED);
    FL_CHECK_INT(flow_retry_after_ms(flow), ==, 0);
    s_fake_end(&fake, &actor, &flow);
}

FL_TEST(libflow_logout_and_delete_forget_the_session)
{
    s_fake_t fake;
    zactor_t *actor;
    s_sessions_seen_t seen;
    flow_t *flow = s_fake_client(&fake, &actor, &seen);
    FL_CHECK_INT(flow_set_session(flow, "tok-access-2", "tok-refresh-1"), ==, FLOW_OK);
    FL_CHECK_INT(flow_logout(flow), ==, FLOW_OK);
    FL_CHECK_INT(flow_delete_account(flow, S_PASSWORD), ==, FLOW_UNAUTHENTICATED);
    char token[S_TOKEN_CAP];
    s_fake_token(&fake, FLOW__REQUEST__BODY_DELETE_ACCOUNT, token);
    FL_CHECK_STR(token, "");
    FL_CHECK_INT(s_fake_count(&fake, FLOW__REQUEST__BODY_REFRESH), ==, 0);
    Flow__SessionReply *session = NULL;
    FL_CHECK_INT(flow_refresh(flow, NULL, &session), ==, FLOW_INVALID_ARGUMENT);
    FL_CHECK(session == NULL);
    s_fake_end(&fake, &actor, &flow);
}

FL_TEST(cli_stores_the_tokens_of_a_refreshed_session)
{
    s_isolate();
    s_fake_t fake;
    zactor_t *actor;
    s_fake_start(&fake, &actor);
    char text[512];
    snprintf(text, sizeof text, "node=%s\nuser_id=u-1\nemail=ada@example.com\n"
             "access_token=tok-access-1\nrefresh_token=tok-refresh-1\n", fake.endpoint);
    s_write_credentials(text);
    const char *show[] = { "profile", "show", NULL };
    FL_CHECK_INT(s_flow(NULL, show), ==, 0);
    FL_CHECK(strstr(s_out, "Ada") != NULL);
    FL_CHECK(strstr(s_out, "tok-") == NULL);
    char value[64];
    s_stored("access_token", value, sizeof value);
    FL_CHECK_STR(value, "tok-access-2");
    s_stored("refresh_token", value, sizeof value);
    FL_CHECK_STR(value, "tok-refresh-2");
    s_stored("node", value, sizeof value);
    FL_CHECK_STR(value, fake.endpoint);
    FL_CHECK_INT(s_mode(s_credentials), ==, 0600);
    const char *logout[] = { "account", "logout", NULL };
    FL_CHECK_INT(s_flow(NULL, logout), ==, 0);
    FL_CHECK(!s_exists(s_credentials));
    s_fake_stop(&fake, &actor);
}

FL_TEST(cli_login_and_register_store_the_session_and_json_shows_tokens)
{
    s_isolate();
    s_fake_t fake;
    zactor_t *actor;
    s_fake_start(&fake, &actor);
    const char *login[] = { "--node", fake.endpoint, "account", "login", "--email",
                            "ada@example.com", "--password-stdin", NULL };
    FL_CHECK_INT(s_flow(S_PASSWORD_LINE, login), ==, 0);
    FL_CHECK_STR(s_out, "signed in as ada@example.com (u-1)\n");
    FL_CHECK_INT(s_mode(s_config), ==, 0700);
    FL_CHECK_INT(s_mode(s_credentials), ==, 0600);
    char value[64];
    s_stored("access_token", value, sizeof value);
    FL_CHECK_STR(value, "tok-access-1");
    const char *json[] = { "--json", "--node", fake.endpoint, "account", "register", "--email",
                           "ada@example.com", "--name", "Ada", "--password-stdin", NULL };
    FL_CHECK_INT(s_flow(S_PASSWORD_LINE, json), ==, 0);
    FL_CHECK(strstr(s_out, "\"access_token\":\"tok-access-1\"") != NULL);
    FL_CHECK(strstr(s_out, "\"refresh_token\":\"tok-refresh-1\"") != NULL);
    s_fake_stop(&fake, &actor);
}

FL_TEST(cli_reports_retry_advice_on_one_line)
{
    s_isolate();
    s_fake_t fake;
    zactor_t *actor;
    s_fake_start(&fake, &actor);
    char text[512];
    snprintf(text, sizeof text, "node=%s\nemail=ada@example.com\naccess_token=tok-busy\n",
             fake.endpoint);
    s_write_credentials(text);
    const char *set[] = { "profile", "set", "--bio", "hello", NULL };
    FL_CHECK_INT(s_flow(NULL, set), ==, 1);
    FL_CHECK_STR(s_err, "flow: RESOURCE_EXHAUSTED: slow down (retry after 250 ms)\n");
    FL_CHECK_INT(s_fake_count(&fake, FLOW__REQUEST__BODY_UPDATE_PROFILE), ==, 1);
    s_fake_stop(&fake, &actor);
}
