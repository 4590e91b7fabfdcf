/*  Accounts on a real flowd: sign-up, login, sessions and their tokens,
 *  password change, deletion, profiles and their privacy, roles, rate
 *  limits and the refusal of bad input.
 *
 *  Requests go through libflow's generic flow_call() with the token set
 *  on each request, never a session kept by libflow, so what is pinned is
 *  the node's behaviour, not a client's session handling.  Every node
 *  hashes passwords with the cheapest Argon2id settings.  A refused
 *  request is checked for its status and for the start of its message,
 *  which names the field or the reason.
 */
#include "clients/libflow.h"
#include "tests/integration/harness.h"
#include "tests/testlib.h"

#include <ctype.h>
#include <math.h>
#include <signal.h>
#include <time.h>
#include <unistd.h>

#define FLAGS_MAX 24
#define PASSWORD "correct horse battery"
#define ID_MAX 64
#define TOKEN_MAX 600

typedef struct {
    char user_id[ID_MAX];
    char session_id[ID_MAX];
    char access[TOKEN_MAX];
    char refresh[TOKEN_MAX];
    Flow__Role role;
    uint64_t access_expires_s;
    uint64_t refresh_expires_s;
} s_session_t;



static char s_out[65536], s_err[4096];

/*  Starts a node with fast password hashing and EXTRA flags after it.  */
static void
s_start(fl_proc_t *node, const char *data, const char *const *extra)
{
    const char *flags[FLAGS_MAX + 1] = { "--pwhash-ops", "1", "--pwhash-mem-kb", "8" };
    size_t n = 4;
    for (size_t i = 0; extra && extra[i]; i++) {
        FL_CHECK(n < FLAGS_MAX);
        flags[n++] = extra[i];
    }
    flags[n] = NULL;
    fl_node_start(node, data, flags);
}

/*  ------------------------------------------------------------------
 *  Requests  */



static void
s_keep(s_session_t *out, const Flow__SessionReply *in)
{
    snprintf(out->user_id, sizeof out->user_id, "%s", in->user_id);
    snprintf(out->session_id, sizeof out->session_id, "%s", in->session_id);
    snprintf(out->access, sizeof out->access, "%s", in->access_token);
    snprintf(out->refresh, sizeof out->refresh, "%s", in->refresh_token);
    out->role = in->role;
    out->access_expires_s = in->access_expires_s;
    out->refresh_expires_s = in->refresh_expires_s;
}

/*  Runs a request answered with a session; keeps it in *OUT (may be
 *  NULL) on OK.  */
static flow_status_t
s_session_call(flow_t *flow, Flow__Request *req, s_session_t *out)
{
    Flow__Reply *reply = NULL;
    flow_status_t status = fl_call(flow, NULL, req, &reply);
    if (status == FLOW_OK) {
        FL_CHECK(reply && reply->body_case == FLOW__REPLY__BODY_SESSION);
        if (out)
            s_keep(out, reply->session);
    }
    if (reply)
        flow__reply__free_unpacked(reply, NULL);
    return status;
}

static flow_status_t
s_sign_up(flow_t *flow, const char *email, const char *password, const char *name,
          s_session_t *out)
{
    Flow__SignUpRequest body = FLOW__SIGN_UP_REQUEST__INIT;
    body.email = (char *) email;
    body.password = (char *) password;
    body.display_name = (char *) name;
    Flow__Request req = FLOW__REQUEST__INIT;
    req.body_case = FLOW__REQUEST__BODY_SIGN_UP;
    req.sign_up = &body;
    return s_session_call(flow, &req, out);
}

static flow_status_t
s_login(flow_t *flow, const char *email, const char *password, s_session_t *out)
{
    Flow__LoginRequest body = FLOW__LOGIN_REQUEST__INIT;
    body.email = (char *) email;
    body.password = (char *) password;
    Flow__Request req = FLOW__REQUEST__INIT;
    req.body_case = FLOW__REQUEST__BODY_LOGIN;
    req.login = &body;
    return s_session_call(flow, &req, out);
}

static flow_status_t
s_refresh(flow_t *flow, const char *refresh_token, s_session_t *out)
{
    Flow__RefreshRequest body = FLOW__REFRESH_REQUEST__INIT;
    body.refresh_token = (char *) refresh_token;
    Flow__Request req = FLOW__REQUEST__INIT;
    req.body_case = FLOW__REQUEST__BODY_REFRESH;
    req.refresh = &body;
    return s_session_call(flow, &req, out);
}

static flow_status_t
s_logout(flow_t *flow, const char *token)
{
    Flow__LogoutRequest body = FLOW__LOGOUT_REQUEST__INIT;
    Flow__Request req = FLOW__REQUEST__INIT;
    req.body_case = FLOW__REQUEST__BODY_LOGOUT;
    req.logout = &body;
    return fl_call(flow, token, &req, NULL);
}

static flow_status_t
s_change_password(flow_t *flow, const char *token, const char *old_password,
                  const char *new_password)
{
    Flow__ChangePasswordRequest body = FLOW__CHANGE_PASSWORD_REQUEST__INIT;
    body.old_password = (char *) old_password;
    body.new_password = (char *) new_password;
    Flow__Request req = FLOW__REQUEST__INIT;
    req.body_case = FLOW__REQUEST__BODY_CHANGE_PASSWORD;
    req.change_password = &body;
    return fl_call(flow, token, &req, NULL);
}

static flow_status_t
s_delete_account(flow_t *flow, const char *token, const char *password)
{
    Flow__DeleteAccountRequest body = FLOW__DELETE_ACCOUNT_REQUEST__INIT;
    body.password = (char *) password;
    Flow__Request req = FLOW__REQUEST__INIT;
    req.body_case = FLOW__REQUEST__BODY_DELETE_ACCOUNT;
    req.delete_account = &body;
    return fl_call(flow, token, &req, NULL);
}

/*  Runs a request answered with a profile; on OK moves the profile out
 *  of the reply into *OUT (may be NULL), freed by the caller with
 *  flow__profile__free_unpacked(p, NULL).  */
static flow_status_t
s_profile_call(flow_t *flow, const char *token, Flow__Request *req, Flow__Profile **out)
{
    if (out)
        *out = NULL;
    Flow__Reply *reply = NULL;
    flow_status_t status = fl_call(flow, token, req, &reply);
    if (status == FLOW_OK) {
        FL_CHECK(reply && reply->body_case == FLOW__REPLY__BODY_PROFILE);
        if (out) {
            *out = reply->profile;
            reply->profile = NULL;
            reply->body_case = FLOW__REPLY__BODY__NOT_SET;
        }
    }
    if (reply)
        flow__reply__free_unpacked(reply, NULL);
    return status;
}

/*  The profile of USER ("": the signed-in user's own) as TOKEN sees it.  */
static flow_status_t
s_get_profile(flow_t *flow, const char *token, const char *user, Flow__Profile **out)
{
    Flow__GetProfileRequest body = FLOW__GET_PROFILE_REQUEST__INIT;
    body.user = (char *) user;
    Flow__Request req = FLOW__REQUEST__INIT;
    req.body_case = FLOW__REQUEST__BODY_GET_PROFILE;
    req.get_profile = &body;
    return s_profile_call(flow, token, &req, out);
}

static flow_status_t
s_update_profile(flow_t *flow, const char *token, Flow__UpdateProfileRequest *changes,
                 Flow__Profile **out)
{
    Flow__Request req = FLOW__REQUEST__INIT;
    req.body_case = FLOW__REQUEST__BODY_UPDATE_PROFILE;
    req.update_profile = changes;
    return s_profile_call(flow, token, &req, out);
}

/*  Runs a request answered with an account; on OK moves it into *OUT
 *  (may be NULL), freed with flow__account_reply__free_unpacked.  */
static flow_status_t
s_account_call(flow_t *flow, const char *token, Flow__Request *req, Flow__AccountReply **out)
{
    if (out)
        *out = NULL;
    Flow__Reply *reply = NULL;
    flow_status_t status = fl_call(flow, token, req, &reply);
    if (status == FLOW_OK) {
        FL_CHECK(reply && reply->body_case == FLOW__REPLY__BODY_ACCOUNT);
        if (out) {
            *out = reply->account;
            reply->account = NULL;
            reply->body_case = FLOW__REPLY__BODY__NOT_SET;
        }
    }
    if (reply)
        flow__reply__free_unpacked(reply, NULL);
    return status;
}

static flow_status_t
s_get_account(flow_t *flow, const char *token, const char *email, Flow__AccountReply **out)
{
    Flow__GetAccountRequest body = FLOW__GET_ACCOUNT_REQUEST__INIT;
    body.email = (char *) email;
    Flow__Request req = FLOW__REQUEST__INIT;
    req.body_case = FLOW__REQUEST__BODY_GET_ACCOUNT;
    req.get_account = &body;
    return s_account_call(flow, token, &req, out);
}

static flow_status_t
s_set_role(flow_t *flow, const char *token, const char *email, Flow__Role role,
           Flow__AccountReply **out)
{
    Flow__SetRoleRequest body = FLOW__SET_ROLE_REQUEST__INIT;
    body.email = (char *) email;
    body.role = role;
    Flow__Request req = FLOW__REQUEST__INIT;
    req.body_case = FLOW__REQUEST__BODY_SET_ROLE;
    req.set_role = &body;
    return s_account_call(flow, token, &req, out);
}

/*  Runs flowctl against NODE's control socket with ARGS.  */
static int
s_flowctl(const fl_proc_t *node, const char *const *args)
{
    const char *argv[32];
    size_t n = 0;
    argv[n++] = fl_program("FLOWCTL_CLI");
    argv[n++] = "--control";
    argv[n++] = node->control;
    argv[n++] = "--key";
    argv[n++] = node->admin_key;
    argv[n++] = "--timeout";
    argv[n++] = "5000";
    for (size_t i = 0; args[i] && n < 31; i++)
        argv[n++] = args[i];
    argv[n] = NULL;
    return fl_run(argv, NULL, s_out, sizeof s_out, s_err, sizeof s_err);
}

/*  Makes EMAIL an admin through flowctl and returns a session of it
 *  carrying the role (a refresh of SESSION).  */
static void
s_make_admin(const fl_proc_t *node, flow_t *flow, const char *email, s_session_t *session)
{
    const char *args[] = { "user", "role", email, "admin", NULL };
    int rc = s_flowctl(node, args);
    if (rc != 0)
        fprintf(stderr, "flowctl exited %d: %s%s\n", rc, s_out, s_err);
    FL_CHECK_INT(rc, ==, 0);
    FL_EXPECT(s_refresh(flow, session->refresh, session), FLOW_OK, "");
    FL_CHECK_INT(session->role, ==, FLOW__ROLE__ROLE_ADMIN);
}

/*  ------------------------------------------------------------------
 *  Helpers for checks  */

static bool
s_is_user_id(const char *s)
{
    if (strlen(s) != 16)
        return false;
    for (size_t i = 0; i < 16; i++)
        if (!isdigit((unsigned char) s[i]) && !(s[i] >= 'a' && s[i] <= 'f'))
            return false;
    return true;
}

/*  True when A and B encode to the same bytes.  */
static bool
s_same_profile(const Flow__Profile *a, const Flow__Profile *b)
{
    size_t na = flow__profile__get_packed_size(a);
    size_t nb = flow__profile__get_packed_size(b);
    if (na != nb)
        return false;
    uint8_t *x = malloc(na + 1), *y = malloc(nb + 1);
    FL_CHECK(x && y);
    flow__profile__pack(a, x);
    flow__profile__pack(b, y);
    bool same = memcmp(x, y, na) == 0;
    free(x);
    free(y);
    return same;
}

/*  MESSAGE without its digits: the shape of a message that holds a
 *  number.  */
static void
s_shape(const char *message, char *out, size_t cap)
{
    size_t n = 0;
    for (const char *p = message; *p && n + 1 < cap; p++)
        if (!isdigit((unsigned char) *p))
            out[n++] = *p;
    out[n] = '\0';
}

static Flow__Profile *
s_own_profile(flow_t *flow, const s_session_t *session)
{
    Flow__Profile *p = NULL;
    FL_EXPECT(s_get_profile(flow, session->access, "", &p), FLOW_OK, "");
    return p;
}

/*  ------------------------------------------------------------------
 *  Sign-up and login  */

FL_TEST(sign_up_returns_a_session_and_the_profile_reads_back)
{
    fl_proc_t node;
    s_start(&node, NULL, NULL);
    flow_t *flow = flow_new(node.client);
    uint64_t before = (uint64_t) time(NULL);
    s_session_t s;
    FL_EXPECT(s_sign_up(flow, "ann@example.com", PASSWORD, "Ann", &s), FLOW_OK, "");
    FL_CHECK(s_is_user_id(s.user_id));
    FL_CHECK_INT(strlen(s.session_id), ==, 32);
    FL_CHECK(strncmp(s.access, "v1.", 3) == 0);
    FL_CHECK(strncmp(s.refresh, s.user_id, 16) == 0 && s.refresh[16] == '.');
    FL_CHECK_INT(s.role, ==, FLOW__ROLE__ROLE_USER);
    FL_CHECK_INT(s.access_expires_s, >, before);
    FL_CHECK_INT(s.refresh_expires_s, >, s.access_expires_s);

    Flow__Profile *p = s_own_profile(flow, &s);
    FL_CHECK_STR(p->user_id, s.user_id);
    FL_CHECK_STR(p->display_name, "Ann");
    FL_CHECK_STR(p->email, "ann@example.com");
    FL_CHECK_STR(p->bio, "");
    FL_CHECK(p->home == NULL);
    FL_CHECK_INT(p->role, ==, FLOW__ROLE__ROLE_USER);
    FL_CHECK_INT(p->created_s, >=, before);
    FL_CHECK(p->privacy != NULL);
    FL_CHECK_INT(p->privacy->bio, ==, FLOW__VISIBILITY__VISIBILITY_PUBLIC);
    FL_CHECK_INT(p->privacy->location, ==, FLOW__VISIBILITY__VISIBILITY_PRIVATE);
    FL_CHECK_INT(p->privacy->interests, ==, FLOW__VISIBILITY__VISIBILITY_PUBLIC);
    FL_CHECK_INT(p->privacy->traits, ==, FLOW__VISIBILITY__VISIBILITY_PUBLIC);
    flow__profile__free_unpacked(p, NULL);
    flow_destroy(&flow);
    FL_CHECK_INT(fl_node_stop(&node, SIGTERM), ==, 0);
}

FL_TEST(email_is_unique_regardless_of_case_and_spaces)
{
    fl_proc_t node;
    s_start(&node, NULL, NULL);
    flow_t *flow = flow_new(node.client);
    s_session_t first, again;
    FL_EXPECT(s_sign_up(flow, " Ann@Example.COM ", PASSWORD, "Ann", &first), FLOW_OK, "");
    FL_EXPECT(s_sign_up(flow, "ann@example.com", "another password", "Impostor", NULL),
             FLOW_ALREADY_EXISTS, "email: already registered");
    /*  The refused sign-up stored nothing: its password does not sign
     *  in and the account is still the first one.  */
    FL_EXPECT(s_login(flow, "ann@example.com", "another password", NULL),
             FLOW_UNAUTHENTICATED, "invalid email or password");
    FL_EXPECT(s_login(flow, "ANN@example.com", PASSWORD, &again), FLOW_OK, "");
    FL_CHECK_STR(again.user_id, first.user_id);
    Flow__Profile *p = s_own_profile(flow, &again);
    FL_CHECK_STR(p->display_name, "Ann");
    FL_CHECK_STR(p->email, "ann@example.com");
    flow__profile__free_unpacked(p, NULL);
    flow_destroy(&flow);
    FL_CHECK_INT(fl_node_stop(&node, SIGTERM), ==, 0);
}

FL_TEST(login_with_the_right_password_starts_a_new_session)
{
    fl_proc_t node;
    s_start(&node, NULL, NULL);
    flow_t *flow = flow_new(node.client);
    s_session_t up, in;
    FL_EXPECT(s_sign_up(flow, "ann@example.com", PASSWORD, "Ann", &up), FLOW_OK, "");
    FL_EXPECT(s_login(flow, "Ann@Example.com", PASSWORD, &in), FLOW_OK, "");
    FL_CHECK_STR(in.user_id, up.user_id);
    FL_CHECK(strcmp(in.session_id, up.session_id) != 0);
    FL_CHECK(strcmp(in.access, up.access) != 0);
    FL_CHECK_INT(in.role, ==, FLOW__ROLE__ROLE_USER);
    Flow__Profile *p = s_own_profile(flow, &in);
    FL_CHECK_STR(p->user_id, up.user_id);
    flow__profile__free_unpacked(p, NULL);
    p = s_own_profile(flow, &up);
    flow__profile__free_unpacked(p, NULL);
    flow_destroy(&flow);
    FL_CHECK_INT(fl_node_stop(&node, SIGTERM), ==, 0);
}

FL_TEST(wrong_password_and_unknown_email_get_the_same_answer)
{
    fl_proc_t node;
    s_start(&node, NULL, NULL);
    flow_t *flow = flow_new(node.client);
    FL_EXPECT(s_sign_up(flow, "ann@example.com", PASSWORD, "Ann", NULL), FLOW_OK, "");
    FL_EXPECT(s_login(flow, "ann@example.com", "wrong password", NULL), FLOW_UNAUTHENTICATED,
             "invalid email or password");
    char wrong[sizeof fl_last.message];
    snprintf(wrong, sizeof wrong, "%s", fl_last.message);
    FL_CHECK_INT(fl_last.retry_after_ms, ==, 0);
    FL_EXPECT(s_login(flow, "nobody@example.com", PASSWORD, NULL), FLOW_UNAUTHENTICATED,
             "invalid email or password");
    FL_CHECK_STR(fl_last.message, wrong);
    FL_CHECK_INT(fl_last.retry_after_ms, ==, 0);
    flow_destroy(&flow);
    FL_CHECK_INT(fl_node_stop(&node, SIGTERM), ==, 0);
}

/*  After two failures the next attempt waits, for an account and for an
 *  email without one alike; the right password does not cut the wait
 *  short, and other emails are not affected.  */
FL_TEST(failed_logins_back_off_for_known_and_unknown_emails)
{
    fl_proc_t node;
    const char *extra[] = { "--login-backoff-after", "2", NULL };
    s_start(&node, NULL, extra);
    flow_t *flow = flow_new(node.client);
    FL_EXPECT(s_sign_up(flow, "ann@example.com", PASSWORD, "Ann", NULL), FLOW_OK, "");
    FL_EXPECT(s_sign_up(flow, "bob@example.com", PASSWORD, "Bob", NULL), FLOW_OK, "");
    const char *emails[] = { "ann@example.com", "nobody@example.com" };
    char shapes[2][sizeof fl_last.message];
    for (int i = 0; i < 2; i++) {
        for (int k = 0; k < 2; k++)
            FL_EXPECT(s_login(flow, emails[i], "wrong password", NULL), FLOW_UNAUTHENTICATED,
                     "invalid email or password");
        FL_EXPECT(s_login(flow, emails[i], PASSWORD, NULL), FLOW_RESOURCE_EXHAUSTED,
                 "too many failed sign-ins for this email; retry after ");
        FL_CHECK_INT(fl_last.retry_after_ms, >, 0);
        s_shape(fl_last.message, shapes[i], sizeof shapes[i]);
    }
    FL_CHECK_STR(shapes[0], shapes[1]);
    FL_EXPECT(s_login(flow, "bob@example.com", PASSWORD, NULL), FLOW_OK, "");
    flow_destroy(&flow);
    FL_CHECK_INT(fl_node_stop(&node, SIGTERM), ==, 0);
}

/*  ------------------------------------------------------------------
 *  Rate limits  */

FL_TEST(sign_ins_are_rate_limited_per_address)
{
    fl_proc_t node;
    const char *extra[] = { "--rate-auth-per-min", "3", NULL };
    s_start(&node, NULL, extra);
    flow_t *flow = flow_new(node.client);
    char email[64];
    for (int i = 1; i <= 3; i++) {
        snprintf(email, sizeof email, "user%d@example.com", i);
        FL_EXPECT(s_login(flow, email, PASSWORD, NULL), FLOW_UNAUTHENTICATED,
                 "invalid email or password");
    }
    FL_EXPECT(s_login(flow, "user4@example.com", PASSWORD, NULL), FLOW_RESOURCE_EXHAUSTED,
             "too many sign-in requests; retry after ");
    FL_CHECK_INT(fl_last.retry_after_ms, >, 0);
    flow_destroy(&flow);
    FL_CHECK_INT(fl_node_stop(&node, SIGTERM), ==, 0);
}

FL_TEST(requests_are_rate_limited)
{
    fl_proc_t node;
    const char *extra[] = { "--rate-requests-per-s", "5", NULL };
    s_start(&node, NULL, extra);
    flow_t *flow = flow_new(node.client);
    flow_set_retries(flow, 0);
    s_session_t s;
    FL_EXPECT(s_sign_up(flow, "ann@example.com", PASSWORD, "Ann", &s), FLOW_OK, "");
    FL_EXPECT(s_get_profile(flow, s.access, "", NULL), FLOW_OK, "");
    flow_status_t status = FLOW_OK;
    for (int i = 0; i < 50 && status == FLOW_OK; i++)
        status = s_get_profile(flow, s.access, "", NULL);
    FL_EXPECT(status, FLOW_RESOURCE_EXHAUSTED, "too many requests; retry after ");
    FL_CHECK_INT(fl_last.retry_after_ms, >, 0);
    flow_destroy(&flow);
    FL_CHECK_INT(fl_node_stop(&node, SIGTERM), ==, 0);
}

/*  ------------------------------------------------------------------
 *  Sessions and tokens  */

/*  Each refresh hands out a new refresh token; the one it replaced,
 *  presented again, means two parties hold it: the session ends for
 *  both, its newest refresh token and its access token included.  */
FL_TEST(refresh_rotates_and_a_reused_token_ends_the_session)
{
    fl_proc_t node;
    s_start(&node, NULL, NULL);
    flow_t *flow = flow_new(node.client);
    s_session_t s1, s2, s3;
    FL_EXPECT(s_sign_up(flow, "ann@example.com", PASSWORD, "Ann", &s1), FLOW_OK, "");
    FL_EXPECT(s_refresh(flow, s1.refresh, &s2), FLOW_OK, "");
    FL_CHECK_STR(s2.user_id, s1.user_id);
    FL_CHECK_STR(s2.session_id, s1.session_id);
    FL_CHECK(strcmp(s2.refresh, s1.refresh) != 0);
    FL_CHECK_INT(s2.role, ==, FLOW__ROLE__ROLE_USER);
    FL_EXPECT(s_get_profile(flow, s2.access, "", NULL), FLOW_OK, "");
    FL_EXPECT(s_refresh(flow, s2.refresh, &s3), FLOW_OK, "");
    FL_CHECK(strcmp(s3.refresh, s2.refresh) != 0);
    FL_EXPECT(s_get_profile(flow, s3.access, "", NULL), FLOW_OK, "");

    FL_EXPECT(s_refresh(flow, s2.refresh, NULL), FLOW_UNAUTHENTICATED,
             "refresh_token: already used");
    FL_EXPECT(s_refresh(flow, s3.refresh, NULL), FLOW_UNAUTHENTICATED,
             "refresh_token: the session has ended");
    FL_EXPECT(s_get_profile(flow, s3.access, "", NULL), FLOW_UNAUTHENTICATED, "token: revoked");
    FL_EXPECT(s_get_profile(flow, s1.access, "", NULL), FLOW_UNAUTHENTICATED, "token: revoked");
    flow_destroy(&flow);
    FL_CHECK_INT(fl_node_stop(&node, SIGTERM), ==, 0);
}

/*  A thief may hold a refresh token several rotations old: presenting it
 *  ends the session as surely as presenting the last one replaced.  */
FL_TEST(refresh_token_several_rotations_old_ends_the_session)
{
    fl_proc_t node;
    s_start(&node, NULL, NULL);
    flow_t *flow = flow_new(node.client);
    s_session_t s1, s2, s3, s4;
    FL_EXPECT(s_sign_up(flow, "ann@example.com", PASSWORD, "Ann", &s1), FLOW_OK, "");
    FL_EXPECT(s_refresh(flow, s1.refresh, &s2), FLOW_OK, "");
    FL_EXPECT(s_refresh(flow, s2.refresh, &s3), FLOW_OK, "");
    FL_EXPECT(s_refresh(flow, s3.refresh, &s4), FLOW_OK, "");
    FL_EXPECT(s_refresh(flow, s1.refresh, NULL), FLOW_UNAUTHENTICATED,
             "refresh_token: already used");
    FL_EXPECT(s_refresh(flow, s4.refresh, NULL), FLOW_UNAUTHENTICATED,
             "refresh_token: the session has ended");
    FL_EXPECT(s_get_profile(flow, s4.access, "", NULL), FLOW_UNAUTHENTICATED, "token: revoked");
    flow_destroy(&flow);
    FL_CHECK_INT(fl_node_stop(&node, SIGTERM), ==, 0);
}

/*  Sign-in requests establish credentials: a revoked token attached to
 *  them is ignored, not held against them.  */
FL_TEST(login_with_a_revoked_token_attached_still_signs_in)
{
    fl_proc_t node;
    s_start(&node, NULL, NULL);
    flow_t *flow = flow_new(node.client);
    s_session_t s1, s2;
    FL_EXPECT(s_sign_up(flow, "ann@example.com", PASSWORD, "Ann", &s1), FLOW_OK, "");
    FL_EXPECT(s_refresh(flow, s1.refresh, &s2), FLOW_OK, "");
    FL_EXPECT(s_refresh(flow, s1.refresh, NULL), FLOW_UNAUTHENTICATED,
             "refresh_token: already used");
    FL_EXPECT(s_get_profile(flow, s1.access, "", NULL), FLOW_UNAUTHENTICATED, "token: revoked");
    Flow__LoginRequest body = FLOW__LOGIN_REQUEST__INIT;
    body.email = "ann@example.com";
    body.password = PASSWORD;
    Flow__Request req = FLOW__REQUEST__INIT;
    req.body_case = FLOW__REQUEST__BODY_LOGIN;
    req.login = &body;
    FL_EXPECT(fl_call(flow, s1.access, &req, NULL), FLOW_OK, "");
    flow_destroy(&flow);
    FL_CHECK_INT(fl_node_stop(&node, SIGTERM), ==, 0);
}

FL_TEST(logout_revokes_the_access_token_also_after_restart)
{
    fl_proc_t node;
    s_start(&node, NULL, NULL);
    flow_t *flow = flow_new(node.client);
    s_session_t out, kept;
    FL_EXPECT(s_sign_up(flow, "ann@example.com", PASSWORD, "Ann", &out), FLOW_OK, "");
    FL_EXPECT(s_login(flow, "ann@example.com", PASSWORD, &kept), FLOW_OK, "");
    FL_EXPECT(s_logout(flow, out.access), FLOW_OK, "");
    FL_EXPECT(s_get_profile(flow, out.access, "", NULL), FLOW_UNAUTHENTICATED, "token: revoked");
    FL_EXPECT(s_refresh(flow, out.refresh, NULL), FLOW_UNAUTHENTICATED,
             "refresh_token: the session has ended");
    FL_EXPECT(s_get_profile(flow, kept.access, "", NULL), FLOW_OK, "");
    flow_destroy(&flow);
    char data[512];
    snprintf(data, sizeof data, "%s", node.data);
    FL_CHECK_INT(fl_node_stop(&node, SIGTERM), ==, 0);

    s_start(&node, data, NULL);
    flow = flow_new(node.client);
    FL_EXPECT(s_get_profile(flow, out.access, "", NULL), FLOW_UNAUTHENTICATED, "token: revoked");
    FL_EXPECT(s_get_profile(flow, kept.access, "", NULL), FLOW_OK, "");
    flow_destroy(&flow);
    FL_CHECK_INT(fl_node_stop(&node, SIGTERM), ==, 0);
}

/*  With a one-second lifetime the access token expires within about two
 *  seconds; a refresh gives a working one.  A token issued just before
 *  a second boundary may live only milliseconds, so the new one is
 *  tried after at most three refreshes.  */
FL_TEST(expired_access_token_is_refused_and_refresh_renews_it)
{
    fl_proc_t node;
    const char *extra[] = { "--access-ttl-s", "1", NULL };
    s_start(&node, NULL, extra);
    flow_t *flow = flow_new(node.client);
    s_session_t s;
    FL_EXPECT(s_sign_up(flow, "ann@example.com", PASSWORD, "Ann", &s), FLOW_OK, "");
    flow_status_t status = FLOW_OK;
    for (int i = 0; i < 50 && status == FLOW_OK; i++) {
        status = s_get_profile(flow, s.access, "", NULL);
        if (status == FLOW_OK)
            usleep(100 * 1000);
    }
    FL_EXPECT(status, FLOW_UNAUTHENTICATED, "token: expired");

    uint64_t expired_at = s.access_expires_s;
    status = FLOW_UNAUTHENTICATED;
    for (int i = 0; i < 3 && status != FLOW_OK; i++) {
        FL_EXPECT(s_refresh(flow, s.refresh, &s), FLOW_OK, "");
        FL_CHECK_INT(s.access_expires_s, >, expired_at);
        status = s_get_profile(flow, s.access, "", NULL);
        if (status != FLOW_OK)
            FL_EXPECT(status, FLOW_UNAUTHENTICATED, "token: expired");
    }
    FL_EXPECT(status, FLOW_OK, "");
    flow_destroy(&flow);
    FL_CHECK_INT(fl_node_stop(&node, SIGTERM), ==, 0);
}

/*  One character changed anywhere in the signed text or the MAC makes
 *  the token invalid; a tampered refresh token is refused without
 *  ending the session.  */
FL_TEST(tampered_token_is_refused)
{
    fl_proc_t node;
    s_start(&node, NULL, NULL);
    flow_t *flow = flow_new(node.client);
    s_session_t s;
    FL_EXPECT(s_sign_up(flow, "ann@example.com", PASSWORD, "Ann", &s), FLOW_OK, "");
    const char *dot = strchr(s.access + 3, '.');
    FL_CHECK(dot != NULL);
    size_t mac_at = (size_t) (dot - s.access) + 1;
    size_t positions[] = { 0, 5, (mac_at - 3) / 2 + 3, mac_at + 10 };
    for (size_t i = 0; i < sizeof positions / sizeof positions[0]; i++) {
        char token[TOKEN_MAX];
        snprintf(token, sizeof token, "%s", s.access);
        token[positions[i]] = token[positions[i]] == 'A' ? 'B' : 'A';
        FL_EXPECT(s_get_profile(flow, token, "", NULL), FLOW_UNAUTHENTICATED, "token: invalid");
    }
    FL_EXPECT(s_get_profile(flow, s.access, "", NULL), FLOW_OK, "");

    char refresh[TOKEN_MAX];
    snprintf(refresh, sizeof refresh, "%s", s.refresh);
    size_t at = strlen(refresh) - 10;
    refresh[at] = refresh[at] == 'A' ? 'B' : 'A';
    FL_EXPECT(s_refresh(flow, refresh, NULL), FLOW_UNAUTHENTICATED, "refresh_token: invalid");
    FL_EXPECT(s_refresh(flow, s.refresh, NULL), FLOW_OK, "");
    flow_destroy(&flow);
    FL_CHECK_INT(fl_node_stop(&node, SIGTERM), ==, 0);
}

FL_TEST(token_signed_with_another_cluster_key_is_refused)
{
    fl_proc_t here, there;
    s_start(&here, NULL, NULL);
    s_start(&there, NULL, NULL);
    flow_t *to_here = flow_new(here.client);
    flow_t *to_there = flow_new(there.client);
    s_session_t s;
    FL_EXPECT(s_sign_up(to_there, "ann@example.com", PASSWORD, "Ann", &s), FLOW_OK, "");
    FL_EXPECT(s_get_profile(to_there, s.access, "", NULL), FLOW_OK, "");
    FL_EXPECT(s_get_profile(to_here, s.access, "", NULL), FLOW_UNAUTHENTICATED, "token: invalid");
    flow_destroy(&to_here);
    flow_destroy(&to_there);
    FL_CHECK_INT(fl_node_stop(&here, SIGTERM), ==, 0);
    FL_CHECK_INT(fl_node_stop(&there, SIGTERM), ==, 0);
}

/*  ------------------------------------------------------------------
 *  Password change and deletion  */

FL_TEST(change_password_needs_the_old_one_and_ends_other_sessions)
{
    fl_proc_t node;
    s_start(&node, NULL, NULL);
    flow_t *flow = flow_new(node.client);
    s_session_t mine, other;
    FL_EXPECT(s_sign_up(flow, "ann@example.com", PASSWORD, "Ann", &mine), FLOW_OK, "");
    FL_EXPECT(s_login(flow, "ann@example.com", PASSWORD, &other), FLOW_OK, "");
    FL_EXPECT(s_change_password(flow, mine.access, "not my password", "a new password"),
             FLOW_UNAUTHENTICATED, "old_password: wrong password");
    FL_EXPECT(s_get_profile(flow, other.access, "", NULL), FLOW_OK, "");

    FL_EXPECT(s_change_password(flow, mine.access, PASSWORD, "a new password"), FLOW_OK, "");
    FL_EXPECT(s_get_profile(flow, other.access, "", NULL), FLOW_UNAUTHENTICATED,
             "token: revoked");
    FL_EXPECT(s_refresh(flow, other.refresh, NULL), FLOW_UNAUTHENTICATED,
             "refresh_token: the session has ended");
    FL_EXPECT(s_get_profile(flow, mine.access, "", NULL), FLOW_OK, "");
    FL_EXPECT(s_refresh(flow, mine.refresh, &mine), FLOW_OK, "");
    FL_EXPECT(s_login(flow, "ann@example.com", PASSWORD, NULL), FLOW_UNAUTHENTICATED,
             "invalid email or password");
    FL_EXPECT(s_login(flow, "ann@example.com", "a new password", NULL), FLOW_OK, "");
    flow_destroy(&flow);
    FL_CHECK_INT(fl_node_stop(&node, SIGTERM), ==, 0);
}

FL_TEST(delete_account_needs_the_password_and_removes_everything)
{
    fl_proc_t node;
    s_start(&node, NULL, NULL);
    flow_t *flow = flow_new(node.client);
    s_session_t s1, s2, s3, again;
    FL_EXPECT(s_sign_up(flow, "ann@example.com", PASSWORD, "Ann", &s1), FLOW_OK, "");
    FL_EXPECT(s_login(flow, "ann@example.com", PASSWORD, &s2), FLOW_OK, "");
    FL_EXPECT(s_delete_account(flow, s1.access, "not my password"), FLOW_UNAUTHENTICATED,
             "password: wrong password");
    Flow__Profile *p = s_own_profile(flow, &s1);
    FL_CHECK_STR(p->display_name, "Ann");
    flow__profile__free_unpacked(p, NULL);
    FL_EXPECT(s_login(flow, "ann@example.com", PASSWORD, &s3), FLOW_OK, "");

    FL_EXPECT(s_delete_account(flow, s1.access, PASSWORD), FLOW_OK, "");
    const s_session_t *ended[] = { &s1, &s2, &s3 };
    for (int i = 0; i < 3; i++) {
        FL_EXPECT(s_get_profile(flow, ended[i]->access, "", NULL), FLOW_UNAUTHENTICATED,
                 "token: revoked");
        FL_EXPECT(s_refresh(flow, ended[i]->refresh, NULL), FLOW_UNAUTHENTICATED,
                 "refresh_token: the session has ended");
    }
    FL_EXPECT(s_login(flow, "ann@example.com", PASSWORD, NULL), FLOW_UNAUTHENTICATED,
             "invalid email or password");

    FL_EXPECT(s_sign_up(flow, "ann@example.com", "another password", "Ann Again", &again),
             FLOW_OK, "");
    FL_CHECK(strcmp(again.user_id, s1.user_id) != 0);
    FL_EXPECT(s_get_profile(flow, again.access, s1.user_id, NULL), FLOW_NOT_FOUND,
             "user: no such user");
    FL_EXPECT(s_get_profile(flow, again.access, "ann@example.com", &p), FLOW_OK, "");
    FL_CHECK_STR(p->user_id, again.user_id);
    FL_CHECK_STR(p->display_name, "Ann Again");
    flow__profile__free_unpacked(p, NULL);
    flow_destroy(&flow);
    FL_CHECK_INT(fl_node_stop(&node, SIGTERM), ==, 0);
}

/*  ------------------------------------------------------------------
 *  Profiles  */

FL_TEST(profile_update_sets_every_field_and_leaves_absent_ones)
{
    fl_proc_t node;
    s_start(&node, NULL, NULL);
    flow_t *flow = flow_new(node.client);
    s_session_t s;
    FL_EXPECT(s_sign_up(flow, "ann@example.com", PASSWORD, "Ann", &s), FLOW_OK, "");

    Flow__TextValue name = FLOW__TEXT_VALUE__INIT, avatar = FLOW__TEXT_VALUE__INIT,
                    bio = FLOW__TEXT_VALUE__INIT;
    name.value = "Ann B.";
    avatar.value = "https://img.example.com/ann.png";
    bio.value = "Likes long walks.\nAnd jazz.";
    Flow__GeoPoint home = FLOW__GEO_POINT__INIT;
    home.lat = 52.52;
    home.lon = 13.405;
    char *trait_values[] = { "curious", "calm" }, *interest_values[] = { "hiking", "jazz" };
    Flow__StringList traits = FLOW__STRING_LIST__INIT, interests = FLOW__STRING_LIST__INIT;
    traits.values = trait_values;
    traits.n_values = 2;
    interests.values = interest_values;
    interests.n_values = 2;
    Flow__ActivityValue activity = FLOW__ACTIVITY_VALUE__INIT;
    activity.value = FLOW__ACTIVITY_LEVEL__ACTIVITY_HIGH;
    Flow__NotificationType off[] = { FLOW__NOTIFICATION_TYPE__NOTIFICATION_CHAT,
                                     FLOW__NOTIFICATION_TYPE__NOTIFICATION_SOCIAL };
    char *categories[] = { "music" };
    Flow__Preferences prefs = FLOW__PREFERENCES__INIT;
    prefs.notifications_off = off;
    prefs.n_notifications_off = 2;
    prefs.discovery_radius_m = 5000;
    prefs.favourite_categories = categories;
    prefs.n_favourite_categories = 1;
    Flow__Privacy privacy = FLOW__PRIVACY__INIT;
    privacy.bio = FLOW__VISIBILITY__VISIBILITY_FRIENDS;
    privacy.location = FLOW__VISIBILITY__VISIBILITY_PUBLIC;
    privacy.interests = FLOW__VISIBILITY__VISIBILITY_PRIVATE;
    privacy.traits = FLOW__VISIBILITY__VISIBILITY_FRIENDS;
    Flow__UpdateProfileRequest u = FLOW__UPDATE_PROFILE_REQUEST__INIT;
    u.display_name = &name;
    u.avatar_url = &avatar;
    u.bio = &bio;
    u.home = &home;
    u.traits = &traits;
    u.interests = &interests;
    u.activity_level = &activity;
    u.preferences = &prefs;
    u.privacy = &privacy;
    Flow__Profile *p = NULL;
    FL_EXPECT(s_update_profile(flow, s.access, &u, &p), FLOW_OK, "");
    FL_CHECK_STR(p->display_name, "Ann B.");
    FL_CHECK_STR(p->avatar_url, "https://img.example.com/ann.png");
    FL_CHECK_STR(p->bio, "Likes long walks.\nAnd jazz.");
    FL_CHECK(p->home && p->home->lat == 52.52 && p->home->lon == 13.405);
    FL_CHECK_INT(p->n_traits, ==, 2);
    FL_CHECK_STR(p->traits[0], "curious");
    FL_CHECK_STR(p->traits[1], "calm");
    FL_CHECK_INT(p->n_interests, ==, 2);
    FL_CHECK_STR(p->interests[0], "hiking");
    FL_CHECK_STR(p->interests[1], "jazz");
    FL_CHECK_INT(p->activity_level, ==, FLOW__ACTIVITY_LEVEL__ACTIVITY_HIGH);
    FL_CHECK(p->preferences != NULL);
    FL_CHECK_INT(p->preferences->n_notifications_off, ==, 2);
    FL_CHECK_INT(p->preferences->notifications_off[0], ==, FLOW__NOTIFICATION_TYPE__NOTIFICATION_CHAT);
    FL_CHECK_INT(p->preferences->notifications_off[1], ==, FLOW__NOTIFICATION_TYPE__NOTIFICATION_SOCIAL);
    FL_CHECK_INT(p->preferences->discovery_radius_m, ==, 5000);
    FL_CHECK_INT(p->preferences->n_favourite_categories, ==, 1);
    FL_CHECK_STR(p->preferences->favourite_categories[0], "music");
    FL_CHECK(p->privacy != NULL);
    FL_CHECK_INT(p->privacy->bio, ==, FLOW__VISIBILITY__VISIBILITY_FRIENDS);
    FL_CHECK_INT(p->privacy->location, ==, FLOW__VISIBILITY__VISIBILITY_PUBLIC);
    FL_CHECK_INT(p->privacy->interests, ==, FLOW__VISIBILITY__VISIBILITY_PRIVATE);
    FL_CHECK_INT(p->privacy->traits, ==, FLOW__VISIBILITY__VISIBILITY_FRIENDS);
    Flow__Profile *read = s_own_profile(flow, &s);
    FL_CHECK(s_same_profile(p, read));
    flow__profile__free_unpacked(read, NULL);

    /*  Only the fields present change; an unspecified privacy member
     *  keeps its setting.  */
    Flow__TextValue bio2 = FLOW__TEXT_VALUE__INIT;
    bio2.value = "Now likes cycling.";
    Flow__Privacy privacy2 = FLOW__PRIVACY__INIT;
    privacy2.bio = FLOW__VISIBILITY__VISIBILITY_PUBLIC;
    Flow__UpdateProfileRequest u2 = FLOW__UPDATE_PROFILE_REQUEST__INIT;
    u2.bio = &bio2;
    u2.privacy = &privacy2;
    Flow__Profile *q = NULL;
    FL_EXPECT(s_update_profile(flow, s.access, &u2, &q), FLOW_OK, "");
    FL_CHECK_STR(q->bio, "Now likes cycling.");
    FL_CHECK_INT(q->privacy->bio, ==, FLOW__VISIBILITY__VISIBILITY_PUBLIC);
    char *changed_bio = q->bio;
    q->bio = p->bio;
    q->privacy->bio = p->privacy->bio;
    bool rest_kept = s_same_profile(p, q);
    q->bio = changed_bio;
    FL_CHECK(rest_kept);
    flow__profile__free_unpacked(p, NULL);
    flow__profile__free_unpacked(q, NULL);

    Flow__UpdateProfileRequest u3 = FLOW__UPDATE_PROFILE_REQUEST__INIT;
    u3.clear_home = true;
    FL_EXPECT(s_update_profile(flow, s.access, &u3, NULL), FLOW_OK, "");
    p = s_own_profile(flow, &s);
    FL_CHECK(p->home == NULL);
    FL_CHECK_STR(p->display_name, "Ann B.");
    flow__profile__free_unpacked(p, NULL);
    flow_destroy(&flow);
    FL_CHECK_INT(fl_node_stop(&node, SIGTERM), ==, 0);
}

FL_TEST(profile_labels_are_normalised)
{
    fl_proc_t node;
    s_start(&node, NULL, NULL);
    flow_t *flow = flow_new(node.client);
    s_session_t s;
    FL_EXPECT(s_sign_up(flow, "ann@example.com", PASSWORD, "Ann", &s), FLOW_OK, "");
    char *trait_values[] = { " Jazz ", "jazz", "JAZZ" };
    char *interest_values[] = { "Hiking   Trips", "hiking trips", "  ", "Chess" };
    char *category_values[] = { "MUSIC", "Music " };
    Flow__StringList traits = FLOW__STRING_LIST__INIT, interests = FLOW__STRING_LIST__INIT;
    traits.values = trait_values;
    traits.n_values = 3;
    interests.values = interest_values;
    interests.n_values = 4;
    Flow__NotificationType off[] = { FLOW__NOTIFICATION_TYPE__NOTIFICATION_CHAT,
                                     FLOW__NOTIFICATION_TYPE__NOTIFICATION_CHAT };
    Flow__Preferences prefs = FLOW__PREFERENCES__INIT;
    prefs.notifications_off = off;
    prefs.n_notifications_off = 2;
    prefs.favourite_categories = category_values;
    prefs.n_favourite_categories = 2;
    Flow__UpdateProfileRequest u = FLOW__UPDATE_PROFILE_REQUEST__INIT;
    u.traits = &traits;
    u.interests = &interests;
    u.preferences = &prefs;
    FL_EXPECT(s_update_profile(flow, s.access, &u, NULL), FLOW_OK, "");
    Flow__Profile *p = s_own_profile(flow, &s);
    FL_CHECK_INT(p->n_traits, ==, 1);
    FL_CHECK_STR(p->traits[0], "jazz");
    FL_CHECK_INT(p->n_interests, ==, 2);
    FL_CHECK_STR(p->interests[0], "hiking trips");
    FL_CHECK_STR(p->interests[1], "chess");
    FL_CHECK_INT(p->preferences->n_favourite_categories, ==, 1);
    FL_CHECK_STR(p->preferences->favourite_categories[0], "music");
    FL_CHECK_INT(p->preferences->n_notifications_off, ==, 1);
    flow__profile__free_unpacked(p, NULL);
    flow_destroy(&flow);
    FL_CHECK_INT(fl_node_stop(&node, SIGTERM), ==, 0);
}

/*  Fills every field a privacy setting governs.  */
static void
s_fill_profile(flow_t *flow, const s_session_t *s)
{
    Flow__TextValue bio = FLOW__TEXT_VALUE__INIT;
    bio.value = "Ann's bio";
    Flow__GeoPoint home = FLOW__GEO_POINT__INIT;
    home.lat = 48.85;
    home.lon = 2.35;
    char *trait_values[] = { "calm" }, *interest_values[] = { "jazz" }, *cats[] = { "music" };
    Flow__StringList traits = FLOW__STRING_LIST__INIT, interests = FLOW__STRING_LIST__INIT;
    traits.values = trait_values;
    traits.n_values = 1;
    interests.values = interest_values;
    interests.n_values = 1;
    Flow__Preferences prefs = FLOW__PREFERENCES__INIT;
    prefs.favourite_categories = cats;
    prefs.n_favourite_categories = 1;
    Flow__UpdateProfileRequest u = FLOW__UPDATE_PROFILE_REQUEST__INIT;
    u.bio = &bio;
    u.home = &home;
    u.traits = &traits;
    u.interests = &interests;
    u.preferences = &prefs;
    FL_EXPECT(s_update_profile(flow, s->access, &u, NULL), FLOW_OK, "");
}

/*  Fails unless P shows nothing only the owner may see.  */
static void
s_check_no_owner_fields(const Flow__Profile *p)
{
    FL_CHECK_STR(p->email, "");
    FL_CHECK(p->preferences == NULL);
    FL_CHECK(p->privacy == NULL);
}

FL_TEST(privacy_hides_fields_from_other_users)
{
    fl_proc_t node;
    s_start(&node, NULL, NULL);
    flow_t *flow = flow_new(node.client);
    s_session_t ann, bob;
    FL_EXPECT(s_sign_up(flow, "ann@example.com", PASSWORD, "Ann", &ann), FLOW_OK, "");
    FL_EXPECT(s_sign_up(flow, "bob@example.com", PASSWORD, "Bob", &bob), FLOW_OK, "");
    s_fill_profile(flow, &ann);

    /*  Defaults: bio, interests and traits public; home private.  */
    Flow__Profile *p = NULL;
    FL_EXPECT(s_get_profile(flow, bob.access, ann.user_id, &p), FLOW_OK, "");
    FL_CHECK_STR(p->user_id, ann.user_id);
    FL_CHECK_STR(p->display_name, "Ann");
    FL_CHECK_STR(p->bio, "Ann's bio");
    FL_CHECK_INT(p->n_interests, ==, 1);
    FL_CHECK_INT(p->n_traits, ==, 1);
    FL_CHECK(p->home == NULL);
    s_check_no_owner_fields(p);
    flow__profile__free_unpacked(p, NULL);

    Flow__Privacy privacy = FLOW__PRIVACY__INIT;
    privacy.bio = FLOW__VISIBILITY__VISIBILITY_PRIVATE;
    privacy.location = FLOW__VISIBILITY__VISIBILITY_PUBLIC;
    privacy.interests = FLOW__VISIBILITY__VISIBILITY_FRIENDS;
    privacy.traits = FLOW__VISIBILITY__VISIBILITY_PRIVATE;
    Flow__UpdateProfileRequest u = FLOW__UPDATE_PROFILE_REQUEST__INIT;
    u.privacy = &privacy;
    FL_EXPECT(s_update_profile(flow, ann.access, &u, NULL), FLOW_OK, "");
    FL_EXPECT(s_get_profile(flow, bob.access, ann.user_id, &p), FLOW_OK, "");
    FL_CHECK_STR(p->display_name, "Ann");
    FL_CHECK_STR(p->bio, "");
    FL_CHECK_INT(p->n_interests, ==, 0);
    FL_CHECK_INT(p->n_traits, ==, 0);
    FL_CHECK(p->home && p->home->lat == 48.85 && p->home->lon == 2.35);
    s_check_no_owner_fields(p);
    flow__profile__free_unpacked(p, NULL);

    p = s_own_profile(flow, &ann);
    FL_CHECK_STR(p->bio, "Ann's bio");
    FL_CHECK_INT(p->n_interests, ==, 1);
    FL_CHECK_INT(p->n_traits, ==, 1);
    FL_CHECK(p->home != NULL);
    FL_CHECK_STR(p->email, "ann@example.com");
    FL_CHECK(p->preferences && p->preferences->n_favourite_categories == 1);
    FL_CHECK(p->privacy && p->privacy->bio == FLOW__VISIBILITY__VISIBILITY_PRIVATE);
    flow__profile__free_unpacked(p, NULL);
    flow_destroy(&flow);
    FL_CHECK_INT(fl_node_stop(&node, SIGTERM), ==, 0);
}

FL_TEST(profile_by_email_and_by_user_id_are_the_same)
{
    fl_proc_t node;
    s_start(&node, NULL, NULL);
    flow_t *flow = flow_new(node.client);
    s_session_t ann, bob;
    FL_EXPECT(s_sign_up(flow, "ann@example.com", PASSWORD, "Ann", &ann), FLOW_OK, "");
    FL_EXPECT(s_sign_up(flow, "bob@example.com", PASSWORD, "Bob", &bob), FLOW_OK, "");
    s_fill_profile(flow, &ann);
    const s_session_t *readers[] = { &bob, &ann };
    for (int i = 0; i < 2; i++) {
        Flow__Profile *by_id = NULL, *by_email = NULL;
        FL_EXPECT(s_get_profile(flow, readers[i]->access, ann.user_id, &by_id), FLOW_OK, "");
        FL_EXPECT(s_get_profile(flow, readers[i]->access, " ANN@example.com", &by_email),
                 FLOW_OK, "");
        FL_CHECK_STR(by_id->user_id, ann.user_id);
        FL_CHECK(s_same_profile(by_id, by_email));
        flow__profile__free_unpacked(by_id, NULL);
        flow__profile__free_unpacked(by_email, NULL);
    }
    FL_EXPECT(s_get_profile(flow, bob.access, "nobody@example.com", NULL), FLOW_NOT_FOUND,
             "user: no such user");
    flow_destroy(&flow);
    FL_CHECK_INT(fl_node_stop(&node, SIGTERM), ==, 0);
}

/*  ------------------------------------------------------------------
 *  Roles  */

FL_TEST(admin_requests_are_denied_to_plain_users)
{
    fl_proc_t node;
    s_start(&node, NULL, NULL);
    flow_t *flow = flow_new(node.client);
    s_session_t s;
    FL_EXPECT(s_sign_up(flow, "ann@example.com", PASSWORD, "Ann", &s), FLOW_OK, "");
    FL_EXPECT(s_get_account(flow, s.access, "ann@example.com", NULL), FLOW_PERMISSION_DENIED,
             "get_account needs the role ADMIN");
    FL_EXPECT(s_set_role(flow, s.access, "ann@example.com", FLOW__ROLE__ROLE_ADMIN, NULL),
             FLOW_PERMISSION_DENIED, "set_role needs the role ADMIN");
    FL_EXPECT(s_refresh(flow, s.refresh, &s), FLOW_OK, "");
    FL_CHECK_INT(s.role, ==, FLOW__ROLE__ROLE_USER);
    flow_destroy(&flow);
    FL_CHECK_INT(fl_node_stop(&node, SIGTERM), ==, 0);
}

/*  The role travels in the access token, so it takes effect at the next
 *  refresh; from then on the admin requests work.  */
FL_TEST(flowctl_makes_an_admin_whose_next_token_carries_the_role)
{
    fl_proc_t node;
    s_start(&node, NULL, NULL);
    flow_t *flow = flow_new(node.client);
    s_session_t ann, bob;
    FL_EXPECT(s_sign_up(flow, "ann@example.com", PASSWORD, "Ann", &ann), FLOW_OK, "");
    FL_EXPECT(s_sign_up(flow, "bob@example.com", PASSWORD, "Bob", &bob), FLOW_OK, "");
    const char *args[] = { "user", "role", "ann@example.com", "admin", NULL };
    FL_CHECK_INT(s_flowctl(&node, args), ==, 0);
    FL_CHECK(strstr(s_out, "admin") != NULL);
    FL_EXPECT(s_get_account(flow, ann.access, "bob@example.com", NULL), FLOW_PERMISSION_DENIED,
             "get_account needs the role ADMIN");

    FL_EXPECT(s_refresh(flow, ann.refresh, &ann), FLOW_OK, "");
    FL_CHECK_INT(ann.role, ==, FLOW__ROLE__ROLE_ADMIN);
    Flow__AccountReply *account = NULL;
    FL_EXPECT(s_get_account(flow, ann.access, "Bob@Example.com", &account), FLOW_OK, "");
    FL_CHECK_STR(account->user_id, bob.user_id);
    FL_CHECK_STR(account->email, "bob@example.com");
    FL_CHECK_STR(account->display_name, "Bob");
    FL_CHECK_INT(account->role, ==, FLOW__ROLE__ROLE_USER);
    FL_CHECK_INT(account->sessions, ==, 1);
    flow__account_reply__free_unpacked(account, NULL);

    FL_EXPECT(s_set_role(flow, ann.access, "bob@example.com", FLOW__ROLE__ROLE_ORGANIZER,
                        &account), FLOW_OK, "");
    FL_CHECK_INT(account->role, ==, FLOW__ROLE__ROLE_ORGANIZER);
    flow__account_reply__free_unpacked(account, NULL);
    const char *show[] = { "user", "show", "bob@example.com", NULL };
    FL_CHECK_INT(s_flowctl(&node, show), ==, 0);
    FL_CHECK(strstr(s_out, "organizer") != NULL);

    /*  An admin sees what only the owner sees.  */
    Flow__Profile *p = NULL;
    FL_EXPECT(s_get_profile(flow, ann.access, bob.user_id, &p), FLOW_OK, "");
    FL_CHECK_STR(p->email, "bob@example.com");
    FL_CHECK_INT(p->role, ==, FLOW__ROLE__ROLE_ORGANIZER);
    flow__profile__free_unpacked(p, NULL);
    flow_destroy(&flow);
    FL_CHECK_INT(fl_node_stop(&node, SIGTERM), ==, 0);
}

/*  ------------------------------------------------------------------
 *  Bad input: refused before anything is stored, naming the field  */

FL_TEST(sign_up_refuses_malformed_emails)
{
    fl_proc_t node;
    s_start(&node, NULL, NULL);
    flow_t *flow = flow_new(node.client);
    char long_email[301];
    memset(long_email, 'a', 288);
    snprintf(long_email + 288, sizeof long_email - 288, "@example.com");
    FL_CHECK_INT(strlen(long_email), ==, 300);
    const char *bad[] = { "ann.example.com", "ann@bob@example.com", "ann@example",
                          "ann smith@example.com", "ann@exa mple.com", long_email, "", "@example.com" };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        FL_EXPECT(s_sign_up(flow, bad[i], PASSWORD, "Ann", NULL), FLOW_INVALID_ARGUMENT,
                 "email: ");
        FL_EXPECT(s_login(flow, bad[i], PASSWORD, NULL), FLOW_INVALID_ARGUMENT, "email: ");
    }
    flow_destroy(&flow);
    FL_CHECK_INT(fl_node_stop(&node, SIGTERM), ==, 0);
}

FL_TEST(sign_up_refuses_bad_names_and_short_passwords_and_stores_nothing)
{
    fl_proc_t node;
    s_start(&node, NULL, NULL);
    flow_t *flow = flow_new(node.client);
    char long_name[66];
    memset(long_name, 'x', 65);
    long_name[65] = '\0';
    const struct {
        const char *password, *name, *prefix;
    } cases[] = {
        { PASSWORD, "", "display_name: must not be empty" },
        { PASSWORD, "   ", "display_name: must not be empty" },
        { PASSWORD, long_name, "display_name: longer than 64 characters" },
        { PASSWORD, "Ann\xff\xfe", "display_name: not valid UTF-8" },
        { PASSWORD, "Ann\nSmith", "display_name: must be a single line" },
        { "short pw", "Ann", "password: at least 10 characters" },
        { "", "Ann", "password: at least 10 characters" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        FL_EXPECT(s_sign_up(flow, "ann@example.com", cases[i].password, cases[i].name, NULL),
                 FLOW_INVALID_ARGUMENT, cases[i].prefix);
    FL_EXPECT(s_login(flow, "ann@example.com", PASSWORD, NULL), FLOW_UNAUTHENTICATED,
             "invalid email or password");
    FL_EXPECT(s_sign_up(flow, "ann@example.com", PASSWORD, "Ann", NULL), FLOW_OK, "");
    flow_destroy(&flow);
    FL_CHECK_INT(fl_node_stop(&node, SIGTERM), ==, 0);
}

FL_TEST(change_password_refuses_a_short_new_password)
{
    fl_proc_t node;
    s_start(&node, NULL, NULL);
    flow_t *flow = flow_new(node.client);
    s_session_t s;
    FL_EXPECT(s_sign_up(flow, "ann@example.com", PASSWORD, "Ann", &s), FLOW_OK, "");
    FL_EXPECT(s_change_password(flow, s.access, PASSWORD, "short pw"), FLOW_INVALID_ARGUMENT,
             "new_password: at least 10 characters");
    FL_EXPECT(s_login(flow, "ann@example.com", PASSWORD, NULL), FLOW_OK, "");
    flow_destroy(&flow);
    FL_CHECK_INT(fl_node_stop(&node, SIGTERM), ==, 0);
}

/*  Each bad update also carries a good bio, which must not be stored
 *  either: a refused update changes nothing.  */
FL_TEST(update_profile_refuses_bad_fields_and_changes_nothing)
{
    fl_proc_t node;
    s_start(&node, NULL, NULL);
    flow_t *flow = flow_new(node.client);
    s_session_t s;
    FL_EXPECT(s_sign_up(flow, "ann@example.com", PASSWORD, "Ann", &s), FLOW_OK, "");
    Flow__Profile *before = s_own_profile(flow, &s);

    char long_name[66], long_trait[42];
    memset(long_name, 'x', 65);
    long_name[65] = '\0';
    memset(long_trait, 't', 41);
    long_trait[41] = '\0';
    char many[21][16];
    char *many_values[21];
    for (int i = 0; i < 21; i++) {
        snprintf(many[i], sizeof many[i], "trait%d", i);
        many_values[i] = many[i];
    }
    char *long_values[] = { long_trait };

    Flow__TextValue good_bio = FLOW__TEXT_VALUE__INIT, good_name = FLOW__TEXT_VALUE__INIT;
    good_bio.value = "must not be stored";
    good_name.value = "Not Stored";
    Flow__TextValue empty_name = FLOW__TEXT_VALUE__INIT, over_name = FLOW__TEXT_VALUE__INIT,
                    utf8_name = FLOW__TEXT_VALUE__INIT, utf8_bio = FLOW__TEXT_VALUE__INIT,
                    ftp = FLOW__TEXT_VALUE__INIT, script = FLOW__TEXT_VALUE__INIT;
    empty_name.value = "";
    over_name.value = long_name;
    utf8_name.value = "Ann\xc3\x28";
    utf8_bio.value = "bio \xed\xa0\x80 surrogate";
    ftp.value = "ftp://img.example.com/ann.png";
    script.value = "javascript:alert(1)";
    Flow__GeoPoint lat = FLOW__GEO_POINT__INIT, lon = FLOW__GEO_POINT__INIT,
                   nan_point = FLOW__GEO_POINT__INIT;
    lat.lat = 91;
    lon.lon = -181;
    nan_point.lat = NAN;
    Flow__ActivityValue activity = FLOW__ACTIVITY_VALUE__INIT;
    activity.value = (Flow__ActivityLevel) 9;
    Flow__Privacy privacy = FLOW__PRIVACY__INIT;
    privacy.bio = (Flow__Visibility) 7;
    Flow__Privacy privacy_traits = FLOW__PRIVACY__INIT;
    privacy_traits.traits = (Flow__Visibility) 7;
    Flow__NotificationType off[] = { (Flow__NotificationType) 99 };
    Flow__Preferences prefs = FLOW__PREFERENCES__INIT;
    prefs.notifications_off = off;
    prefs.n_notifications_off = 1;
    Flow__Preferences radius = FLOW__PREFERENCES__INIT;
    radius.discovery_radius_m = 50;
    Flow__StringList too_many = FLOW__STRING_LIST__INIT, too_long = FLOW__STRING_LIST__INIT;
    too_many.values = many_values;
    too_many.n_values = 21;
    too_long.values = long_values;
    too_long.n_values = 1;

    struct {
        Flow__UpdateProfileRequest u;
        const char *prefix;
    } cases[18];
    size_t n = 0;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        flow__update_profile_request__init(&cases[i].u);
        cases[i].u.bio = &good_bio;
    }
    cases[n].u.display_name = &empty_name;
    cases[n++].prefix = "display_name: must not be empty";
    cases[n].u.display_name = &over_name;
    cases[n++].prefix = "display_name: longer than 64 characters";
    cases[n].u.display_name = &utf8_name;
    cases[n++].prefix = "display_name: not valid UTF-8";
    cases[n].u.bio = &utf8_bio;
    cases[n].u.display_name = &good_name;
    cases[n++].prefix = "bio: not valid UTF-8";
    cases[n].u.home = &lat;
    cases[n++].prefix = "home: latitude 91 is outside -90..90";
    cases[n].u.home = &lon;
    cases[n++].prefix = "home: longitude -181 is outside -180..180";
    cases[n].u.home = &nan_point;
    cases[n++].prefix = "home: latitude";
    cases[n].u.activity_level = &activity;
    cases[n++].prefix = "activity_level: unknown value 9";
    cases[n].u.privacy = &privacy;
    cases[n++].prefix = "privacy.bio: unknown value 7";
    cases[n].u.privacy = &privacy_traits;
    cases[n++].prefix = "privacy.traits: unknown value 7";
    cases[n].u.preferences = &prefs;
    cases[n++].prefix = "preferences.notifications_off[0]: unknown value 99";
    cases[n].u.preferences = &radius;
    cases[n++].prefix = "preferences.discovery_radius_m: 50 is outside";
    cases[n].u.traits = &too_many;
    cases[n++].prefix = "traits: more than 20 items";
    cases[n].u.traits = &too_long;
    cases[n++].prefix = "traits[0]: longer than 40 characters";
    cases[n].u.interests = &too_long;
    cases[n++].prefix = "interests[0]: longer than 40 characters";
    cases[n].u.avatar_url = &ftp;
    cases[n++].prefix = "avatar_url: must start with https:// or http://";
    cases[n].u.avatar_url = &script;
    cases[n++].prefix = "avatar_url: must start with https:// or http://";
    cases[n].u.home = &lat;
    cases[n].u.clear_home = true;
    cases[n++].prefix = "home: give a point or clear_home, not both";
    FL_CHECK_INT(n, ==, sizeof cases / sizeof cases[0]);
    for (size_t i = 0; i < n; i++)
        FL_EXPECT(s_update_profile(flow, s.access, &cases[i].u, NULL), FLOW_INVALID_ARGUMENT,
                 cases[i].prefix);

    Flow__Profile *after = s_own_profile(flow, &s);
    FL_CHECK(s_same_profile(before, after));
    flow__profile__free_unpacked(before, NULL);
    flow__profile__free_unpacked(after, NULL);
    flow_destroy(&flow);
    FL_CHECK_INT(fl_node_stop(&node, SIGTERM), ==, 0);
}

FL_TEST(set_role_refuses_an_unknown_role)
{
    fl_proc_t node;
    s_start(&node, NULL, NULL);
    flow_t *flow = flow_new(node.client);
    s_session_t admin;
    FL_EXPECT(s_sign_up(flow, "admin@example.com", PASSWORD, "Admin", &admin), FLOW_OK, "");
    FL_EXPECT(s_sign_up(flow, "bob@example.com", PASSWORD, "Bob", NULL), FLOW_OK, "");
    s_make_admin(&node, flow, "admin@example.com", &admin);
    FL_EXPECT(s_set_role(flow, admin.access, "bob@example.com", (Flow__Role) 9, NULL),
             FLOW_INVALID_ARGUMENT, "role: unknown value 9");
    FL_EXPECT(s_set_role(flow, admin.access, "bob@example.com", FLOW__ROLE__ROLE_UNSPECIFIED,
                        NULL), FLOW_INVALID_ARGUMENT, "role: unknown value 0");
    FL_EXPECT(s_set_role(flow, admin.access, "bob@", FLOW__ROLE__ROLE_ADMIN, NULL),
             FLOW_INVALID_ARGUMENT, "email: ");
    FL_EXPECT(s_set_role(flow, admin.access, "nobody@example.com", FLOW__ROLE__ROLE_ADMIN, NULL),
             FLOW_NOT_FOUND, "email: no account has this email");
    Flow__AccountReply *account = NULL;
    FL_EXPECT(s_get_account(flow, admin.access, "bob@example.com", &account), FLOW_OK, "");
    FL_CHECK_INT(account->role, ==, FLOW__ROLE__ROLE_USER);
    flow__account_reply__free_unpacked(account, NULL);
    flow_destroy(&flow);
    FL_CHECK_INT(fl_node_stop(&node, SIGTERM), ==, 0);
}

FL_TEST(get_profile_refuses_a_user_that_is_neither_id_nor_email)
{
    fl_proc_t node;
    s_start(&node, NULL, NULL);
    flow_t *flow = flow_new(node.client);
    s_session_t s;
    FL_EXPECT(s_sign_up(flow, "ann@example.com", PASSWORD, "Ann", &s), FLOW_OK, "");
    char upper[17];
    for (int i = 0; i < 16; i++)
        upper[i] = (char) toupper((unsigned char) s.user_id[i]);
    upper[16] = '\0';
    const char *bad[] = { "ann", "0123456789abcde", "0123456789abcdefa", "0123456789abcdeg" };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        FL_EXPECT(s_get_profile(flow, s.access, bad[i], NULL), FLOW_INVALID_ARGUMENT,
                 "user: neither a user id (16 hex digits) nor an email");
    if (strcmp(upper, s.user_id) != 0)
        FL_EXPECT(s_get_profile(flow, s.access, upper, NULL), FLOW_INVALID_ARGUMENT,
                 "user: neither");
    FL_EXPECT(s_get_profile(flow, s.access, "ann@@example.com", NULL), FLOW_INVALID_ARGUMENT,
             "user: must contain one @");
    flow_destroy(&flow);
    FL_CHECK_INT(fl_node_stop(&node, SIGTERM), ==, 0);
}

/*  ------------------------------------------------------------------
 *  Sign-in required  */

FL_TEST(requests_needing_sign_in_without_a_token_are_unauthenticated)
{
    fl_proc_t node;
    s_start(&node, NULL, NULL);
    flow_t *flow = flow_new(node.client);
    FL_EXPECT(s_sign_up(flow, "ann@example.com", PASSWORD, "Ann", NULL), FLOW_OK, "");
    Flow__UpdateProfileRequest u = FLOW__UPDATE_PROFILE_REQUEST__INIT;
    FL_EXPECT(s_logout(flow, NULL), FLOW_UNAUTHENTICATED, "logout needs a signed-in user");
    FL_EXPECT(s_change_password(flow, NULL, PASSWORD, "a new password"), FLOW_UNAUTHENTICATED,
             "change_password needs a signed-in user");
    FL_EXPECT(s_delete_account(flow, NULL, PASSWORD), FLOW_UNAUTHENTICATED,
             "delete_account needs a signed-in user");
    FL_EXPECT(s_get_profile(flow, NULL, "ann@example.com", NULL), FLOW_UNAUTHENTICATED,
             "get_profile needs a signed-in user");
    FL_EXPECT(s_get_profile(flow, NULL, "", NULL), FLOW_UNAUTHENTICATED,
             "get_profile needs a signed-in user");
    FL_EXPECT(s_update_profile(flow, NULL, &u, NULL), FLOW_UNAUTHENTICATED,
             "update_profile needs a signed-in user");
    FL_EXPECT(s_set_role(flow, NULL, "ann@example.com", FLOW__ROLE__ROLE_ADMIN, NULL),
             FLOW_UNAUTHENTICATED, "set_role needs a signed-in user");
    FL_EXPECT(s_get_account(flow, NULL, "ann@example.com", NULL), FLOW_UNAUTHENTICATED,
             "get_account needs a signed-in user");
    FL_EXPECT(s_login(flow, "ann@example.com", PASSWORD, NULL), FLOW_OK, "");
    flow_destroy(&flow);
    FL_CHECK_INT(fl_node_stop(&node, SIGTERM), ==, 0);
}
