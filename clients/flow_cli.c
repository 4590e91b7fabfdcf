/*  clients/flow_cli.c — `flow`, the user command line of Flow.
 *
 *      flow [--node EP] [--json] [--timeout MS] COMMAND [OPTIONS] [ARGS]
 *
 *  Commands are declared as data (s_commands): a name ("ping" or "noun
 *  verb", like "account login"), a handler, its usage and help; main()
 *  parses the global options, finds the command and hands it the rest.
 *  Global options are also accepted after the command name, so a handler
 *  parses all its options before it connects (s_connect and friends).
 *
 *  Sessions.  `account register` and `account login` store the session
 *  they get in the credentials file (clients/credentials.h); every
 *  command of a signed-in user loads it, hands the tokens to libflow and
 *  stores whatever new session libflow reports through flow_on_session()
 *  (a refresh of an expired token), so the next run has it.  Its node is
 *  the stored one unless --node or $FLOW_NODE names another.  Tokens are
 *  secrets: human output never shows them; --json of register and login
 *  prints the session, tokens included, because scripts need them.
 *  Passwords are read from the terminal without echo, or one line each
 *  from stdin with --password-stdin, and wiped after use.
 *
 *  Output contract, relied on by scripts and tests: results go to stdout
 *  (human text, or with --json the reply body as one line of JSON made by
 *  pbjson); a failure prints exactly one line on stderr,
 *  "flow: <STATUS_NAME>: <message>", and exits 1 (2 for a usage error).
 *  Every handler reports its own failure through fl_cli_fail() and returns
 *  its exit code; nothing else prints to stderr.  The contract and the
 *  helpers that keep it are shared with flowctl (clients/cli.h).
 */
#include "clients/cli.h"
#include "clients/credentials.h"
#include "clients/libflow.h"

#include <ctype.h>
#include <czmq.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    const char *endpoint;       /*  --node, else $FLOW_NODE; NULL: neither  */
    bool json;
    int timeout_ms;             /*  0: not given  */
    bool help;
} s_globals_t;

/*  What a command runs with.  flow is made by s_connect() once the
 *  command's options are parsed, so a --node after the command counts;
 *  credentials are loaded by commands that need a signed-in user, or made
 *  by the ones that sign in.  */
typedef struct {
    s_globals_t g;
    flow_t *flow;
    fl_credentials_t *credentials;
    bool save_failed;           /*  a new session could not be stored  */
    char save_error[512];
} s_ctx_t;

typedef int (s_command_fn)(s_ctx_t *ctx, int argc, char **argv);

typedef struct {
    const char *name;
    s_command_fn *run;
    const char *usage;
    const char *help;
} s_command_t;

static int
s_call_failed(s_ctx_t *ctx, flow_status_t status)
{
    return fl_cli_fail(FL_CLI_EXIT_FAIL, status, "%s", flow_error(ctx->flow));
}

/*  ---------------------------------------------------------------------
 *  Options
 */

enum {
    S_OPT_NODE = 1000, S_OPT_JSON, S_OPT_TIMEOUT,
    S_OPT_ACTOR, S_OPT_KEY, S_OPT_COUNT,
    S_OPT_EMAIL, S_OPT_NAME, S_OPT_PASSWORD_STDIN, S_OPT_YES,
    S_OPT_AVATAR, S_OPT_BIO, S_OPT_HOME, S_OPT_CLEAR_HOME, S_OPT_TRAITS, S_OPT_INTERESTS,
    S_OPT_ACTIVITY, S_OPT_RADIUS, S_OPT_CATEGORIES, S_OPT_NOTIFICATIONS_OFF, S_OPT_PRIVACY
};

#define S_GLOBAL_OPTIONS                                                  \
    { "node", required_argument, NULL, S_OPT_NODE },                      \
    { "json", no_argument, NULL, S_OPT_JSON },                            \
    { "timeout", required_argument, NULL, S_OPT_TIMEOUT },                \
    { "help", no_argument, NULL, 'h' }

static const char *s_global_help =
    "  --node EP       node to talk to (default: $FLOW_NODE, else the node of the\n"
    "                  stored session, else " FLOW_DEFAULT_ENDPOINT ")\n"
    "  --json          print the reply body as JSON\n"
    "  --timeout MS    total time for the command (default: 5000 per call)\n"
    "  --help          this help\n";

/*  Applies a global option; returns 0, or an exit code after a report.  */
static int
s_global_option(int opt, const char *arg, s_globals_t *globals)
{
    if (opt == 'h')
        globals->help = true;
    else if (opt == S_OPT_NODE)
        globals->endpoint = arg;
    else if (opt == S_OPT_JSON)
        globals->json = true;
    else if (opt == S_OPT_TIMEOUT) {
        globals->timeout_ms = fl_cli_parse_positive(arg);
        if (globals->timeout_ms < 0)
            return fl_cli_usage_error("--timeout wants milliseconds above 0, not '%s'", arg);
    }
    return 0;
}

/*  A command's own options, applied to its STATE.  Returns 0, or an exit
 *  code after a report.  */
typedef int (s_option_fn)(int opt, const char *arg, void *state);

/*  Parses a command's options (its own and the global ones).  SHORTOPTS
 *  "+" stops at the first argument, "" lets options follow arguments.  */
static int
s_parse_command(s_ctx_t *ctx, int argc, char **argv, const char *shortopts,
                const struct option *options, s_option_fn *on_option, void *state)
{
    int opt;
    optind = 0;
    while ((opt = getopt_long(argc, argv, shortopts, options, NULL)) != -1) {
        int rc = 0;
        if (opt == '?' || opt == ':')
            return fl_cli_bad_option(argc, argv);
        if (opt >= S_OPT_NODE && opt <= S_OPT_TIMEOUT)
            rc = s_global_option(opt, optarg, &ctx->g);
        else
            rc = on_option(opt, optarg, state);
        if (rc != 0)
            return rc;
    }
    return 0;
}

static int
s_no_options(int opt, const char *arg, void *state)
{
    (void) opt;
    (void) arg;
    (void) state;
    return 0;
}

/*  ---------------------------------------------------------------------
 *  The connection and the stored session
 */

/*  libflow took a new session (sign-up, login, or a refresh of an expired
 *  token): store it, so the next run has it.  A failure is kept for the
 *  command to report; the callback cannot.  */
static void
s_on_session(flow_t *flow, const Flow__SessionReply *session, void *arg)
{
    s_ctx_t *ctx = arg;
    fl_credentials_t *c = ctx->credentials;
    bool stored = fl_credentials_set(&c->node, flow_endpoint(flow)) == 0
               && fl_credentials_set(&c->user_id, session->user_id) == 0
               && fl_credentials_set(&c->access_token, session->access_token) == 0
               && fl_credentials_set(&c->refresh_token, session->refresh_token) == 0;
    if (!stored)
        snprintf(ctx->save_error, sizeof ctx->save_error, "out of memory keeping the session");
    else if (fl_credentials_save(c, ctx->save_error, sizeof ctx->save_error) == 0)
        return;
    ctx->save_failed = true;
}

static int
s_save_failed(s_ctx_t *ctx)
{
    return fl_cli_fail(FL_CLI_EXIT_FAIL, FLOW_INTERNAL, "cannot store the session: %s",
                       ctx->save_error);
}

/*  Makes the client: the node is --node or $FLOW_NODE, else the stored
 *  session's, else the default.  Commands that need no user call this
 *  directly.  */
static int
s_connect(s_ctx_t *ctx)
{
    const char *endpoint = ctx->g.endpoint;
    if (!endpoint && ctx->credentials && ctx->credentials->node && ctx->credentials->node[0])
        endpoint = ctx->credentials->node;
    if (!endpoint)
        endpoint = FLOW_DEFAULT_ENDPOINT;
    ctx->flow = flow_new(endpoint);
    if (!ctx->flow)
        return fl_cli_fail(FL_CLI_EXIT_FAIL, FLOW_INVALID_ARGUMENT,
                           "cannot use node endpoint '%s'", endpoint);
    if (ctx->g.timeout_ms)
        flow_set_timeout(ctx->flow, ctx->g.timeout_ms);
    if (ctx->credentials)
        flow_on_session(ctx->flow, s_on_session, ctx);
    return 0;
}

/*  For register and login: a new session, stored when it arrives.  */
static int
s_connect_to_sign_in(s_ctx_t *ctx, const char *email)
{
    ctx->credentials = fl_credentials_new();
    if (!ctx->credentials || fl_credentials_set(&ctx->credentials->email, email) != 0)
        return fl_cli_fail(FL_CLI_EXIT_FAIL, FLOW_INTERNAL, "out of memory");
    return s_connect(ctx);
}

/*  For commands of a signed-in user: the stored session, on its node
 *  unless --node says otherwise.  */
static int
s_connect_signed_in(s_ctx_t *ctx)
{
    char error[512];
    int rc = fl_credentials_load(&ctx->credentials, error, sizeof error);
    if (rc > 0)
        return fl_cli_fail(FL_CLI_EXIT_FAIL, FLOW_UNAUTHENTICATED,
                           "not signed in (flow account login)");
    if (rc < 0)
        return fl_cli_fail(FL_CLI_EXIT_FAIL, FLOW_UNAUTHENTICATED,
                           "%s; sign in again (flow account login)", error);
    rc = s_connect(ctx);
    if (rc != 0)
        return rc;
    if (flow_set_session(ctx->flow, ctx->credentials->access_token,
                         ctx->credentials->refresh_token) != FLOW_OK)
        return s_call_failed(ctx, FLOW_INTERNAL);
    return 0;
}

/*  ---------------------------------------------------------------------
 *  Printing
 */

static bool
s_parse_actor(const char *text, Flow__Actor *actor_p)
{
    char name[64] = "ACTOR_";
    size_t at = strncasecmp(text, "ACTOR_", 6) == 0 ? 0 : 6;
    for (size_t i = 0; text[i]; i++, at++) {
        if (at + 1 >= sizeof name)
            return false;
        char c = text[i];
        name[at] = (char) (c >= 'a' && c <= 'z' ? c - 'a' + 'A' : c);
    }
    name[at] = 0;
    const ProtobufCEnumValue *value =
        protobuf_c_enum_descriptor_get_value_by_name(&flow__actor__descriptor, name);
    if (!value)
        return false;
    *actor_p = (Flow__Actor) value->value;
    return true;
}

/*  ---------------------------------------------------------------------
 *  ping
 */

static int
s_ping_print(const flow_pong_t *pong, int64_t elapsed_us, bool json)
{
    if (json) {
        Flow__PingReply reply = FLOW__PING_REPLY__INIT;
        reply.node_id = (char *) pong->node_id;
        reply.actor = pong->actor;
        reply.partition = pong->partition;
        reply.ring_epoch = pong->ring_epoch;
        return fl_cli_print_json(&reply.base);
    }
    char actor[32];
    printf("pong from %s: actor=%s partition=%" PRIu32 " ring_epoch=%" PRIu64 " time=%.2f ms\n",
           pong->node_id, fl_cli_actor_name(pong->actor, actor, sizeof actor),
           pong->partition, pong->ring_epoch, (double) elapsed_us / 1000.0);
    return 0;
}

typedef struct {
    Flow__Actor actor;
    const char *key;
} s_ping_args_t;

static int
s_ping_option(int opt, const char *arg, void *state)
{
    s_ping_args_t *args = state;
    if (opt == S_OPT_KEY)
        args->key = arg;
    else if (opt == S_OPT_ACTOR && !s_parse_actor(arg, &args->actor))
        return fl_cli_usage_error("unknown actor '%s'", arg);
    return 0;
}

static int
s_cmd_ping(s_ctx_t *ctx, int argc, char **argv)
{
    static const struct option options[] = {
        { "actor", required_argument, NULL, S_OPT_ACTOR },
        { "key", required_argument, NULL, S_OPT_KEY },
        S_GLOBAL_OPTIONS, { NULL, 0, NULL, 0 }
    };
    s_ping_args_t args = { FLOW__ACTOR__ACTOR_UNSPECIFIED, "" };
    int rc = s_parse_command(ctx, argc, argv, "+", options, s_ping_option, &args);
    if (rc != 0)
        return rc;
    if (optind < argc)
        return fl_cli_usage_error("ping takes no argument '%s'", argv[optind]);
    rc = s_connect(ctx);
    if (rc != 0)
        return rc;
    flow_pong_t pong;
    int64_t start = zclock_usecs();
    flow_status_t status = flow_ping(ctx->flow, args.actor, args.key, strlen(args.key), &pong);
    if (status != FLOW_OK)
        return s_call_failed(ctx, status);
    return s_ping_print(&pong, zclock_usecs() - start, ctx->g.json);
}

/*  ---------------------------------------------------------------------
 *  info
 */

static void
s_info_print(const Flow__InfoReply *info)
{
    printf("%-18s %s\n", "node", info->node_id);
    printf("%-18s %s\n", "version", info->version);
    printf("%-18s %" PRIu32 "\n", "protocol", info->protocol_version);
    char uptime[32];
    printf("%-18s %s\n", "uptime", fl_cli_uptime(info->uptime_ms, uptime, sizeof uptime));
    printf("%-18s %" PRIu32 " of %" PRIu32 " owned\n", "partitions",
           info->partitions_owned, info->partitions);
    printf("%-18s %" PRIu64 "\n", "ring epoch", info->ring_epoch);
    printf("%-18s %" PRIu32 " bytes\n", "max request", info->max_request_bytes);
    printf("%-18s", "actors");
    for (size_t i = 0; i < info->n_actors; i++) {
        char actor[32];
        printf(" %s", fl_cli_actor_name(info->actors[i], actor, sizeof actor));
    }
    printf("\n");
}

static int
s_cmd_info(s_ctx_t *ctx, int argc, char **argv)
{
    static const struct option options[] = { S_GLOBAL_OPTIONS, { NULL, 0, NULL, 0 } };
    int rc = s_parse_command(ctx, argc, argv, "+", options, s_no_options, NULL);
    if (rc != 0)
        return rc;
    if (optind < argc)
        return fl_cli_usage_error("info takes no argument '%s'", argv[optind]);
    rc = s_connect(ctx);
    if (rc != 0)
        return rc;
    Flow__InfoReply *info = NULL;
    flow_status_t status = flow_info(ctx->flow, &info);
    if (status != FLOW_OK)
        return s_call_failed(ctx, status);
    if (ctx->g.json)
        rc = fl_cli_print_json(&info->base);
    else
        s_info_print(info);
    flow__info_reply__free_unpacked(info, NULL);
    return rc;
}

/*  ---------------------------------------------------------------------
 *  watch
 */

static int
s_push_print(const Flow__Push *push, bool json)
{
    if (json || push->body_case != FLOW__PUSH__BODY_NODE)
        return fl_cli_print_json(&push->base);
    const ProtobufCEnumValue *state = protobuf_c_enum_descriptor_get_value(
        &flow__node_notice__state__descriptor, push->node->state);
    printf("#%" PRIu64 " %s: %s%s%s\n", push->seq, push->topic,
           state ? state->name : "STATE_UNKNOWN",
           push->node->message[0] ? " " : "", push->node->message);
    fflush(stdout);
    return 0;
}

/*  How a watch that stopped waiting ends: SIGINT and the end of an open
 *  ended --timeout are normal ends; everything else is a failure.  */
static int
s_watch_end(s_ctx_t *ctx, flow_status_t status, int seen, int count)
{
    if (zsys_interrupted)
        return 0;
    if (status != FLOW_DEADLINE_EXCEEDED)
        return s_call_failed(ctx, status);
    if (count == 0)
        return 0;
    return fl_cli_fail(FL_CLI_EXIT_FAIL, status, "%d of %d pushes arrived within %d ms",
                       seen, count, ctx->g.timeout_ms);
}

static int
s_watch(s_ctx_t *ctx, const char *const *topics, size_t n, int count)
{
    int64_t deadline = ctx->g.timeout_ms ? zclock_mono() + ctx->g.timeout_ms : -1;
    flow_status_t status = flow_subscribe(ctx->flow, topics, n);
    if (status != FLOW_OK)
        return s_call_failed(ctx, status);
    for (int seen = 0; count == 0 || seen < count; seen++) {
        int wait_ms = -1;
        if (deadline >= 0) {
            int64_t left = deadline - zclock_mono();
            wait_ms = left > 0 ? (int) left : 0;
        }
        Flow__Push *push = NULL;
        status = flow_next_push(ctx->flow, &push, wait_ms);
        if (status != FLOW_OK)
            return s_watch_end(ctx, status, seen, count);
        int rc = s_push_print(push, ctx->g.json);
        flow__push__free_unpacked(push, NULL);
        if (rc != 0)
            return rc;
    }
    return 0;
}

static int
s_watch_option(int opt, const char *arg, void *state)
{
    int *count_p = state;
    if (opt != S_OPT_COUNT)
        return 0;
    *count_p = fl_cli_parse_positive(arg);
    if (*count_p < 0)
        return fl_cli_usage_error("--count wants a number above 0, not '%s'", arg);
    return 0;
}

static int
s_cmd_watch(s_ctx_t *ctx, int argc, char **argv)
{
    static const struct option options[] = {
        { "count", required_argument, NULL, S_OPT_COUNT },
        S_GLOBAL_OPTIONS, { NULL, 0, NULL, 0 }
    };
    int count = 0;
    int rc = s_parse_command(ctx, argc, argv, "", options, s_watch_option, &count);
    if (rc != 0)
        return rc;
    if (optind >= argc)
        return fl_cli_usage_error("watch wants at least one TOPIC");
    rc = s_connect(ctx);
    if (rc != 0)
        return rc;
    return s_watch(ctx, (const char *const *) argv + optind, (size_t) (argc - optind), count);
}

/*  ---------------------------------------------------------------------
 *  account
 */

typedef struct {
    const char *email;
    const char *name;
    bool password_stdin;
    bool yes;
} s_account_args_t;

static int
s_account_option(int opt, const char *arg, void *state)
{
    s_account_args_t *args = state;
    if (opt == S_OPT_EMAIL)
        args->email = arg;
    else if (opt == S_OPT_NAME)
        args->name = arg;
    else if (opt == S_OPT_PASSWORD_STDIN)
        args->password_stdin = true;
    else if (opt == S_OPT_YES)
        args->yes = true;
    return 0;
}

/*  Options of an account command, which takes no arguments.  */
static int
s_parse_account(s_ctx_t *ctx, int argc, char **argv, const struct option *options,
                s_account_args_t *args)
{
    int rc = s_parse_command(ctx, argc, argv, "", options, s_account_option, args);
    if (rc == 0 && optind < argc)
        return fl_cli_usage_error("account %s takes no argument '%s'", argv[0], argv[optind]);
    return rc;
}

/*  A password chosen now: on a terminal it is asked twice and the two
 *  must match.  */
static int
s_new_password(bool from_stdin, const char *prompt, const char *again, char *buf)
{
    int rc = fl_cli_read_password(prompt, from_stdin, buf);
    if (rc != 0 || from_stdin)
        return rc;
    char repeat[FL_CLI_PASSWORD_MAX + 1];
    rc = fl_cli_read_password(again, false, repeat);
    if (rc == 0 && strcmp(buf, repeat) != 0)
        rc = fl_cli_fail(FL_CLI_EXIT_FAIL, FLOW_INVALID_ARGUMENT, "the passwords do not match");
    fl_cli_wipe(repeat, sizeof repeat);
    return rc;
}

/*  The end of register and login: the session is stored by now (see
 *  s_on_session).  Human output never shows a token.  */
static int
s_print_signed_in(s_ctx_t *ctx, const Flow__SessionReply *session)
{
    if (ctx->save_failed)
        return s_save_failed(ctx);
    if (ctx->g.json)
        return fl_cli_print_json(&session->base);
    printf("signed in as %s (%s)\n", ctx->credentials->email, session->user_id);
    return 0;
}

/*  Runs sign-up (NAME set) or login with the password in PASSWORD.  */
static int
s_sign_in(s_ctx_t *ctx, const s_account_args_t *args, const char *password)
{
    int rc = s_connect_to_sign_in(ctx, args->email);
    if (rc != 0)
        return rc;
    Flow__SessionReply *session = NULL;
    flow_status_t status = args->name
        ? flow_sign_up(ctx->flow, args->email, password, args->name, &session)
        : flow_login(ctx->flow, args->email, password, &session);
    if (status != FLOW_OK)
        return s_call_failed(ctx, status);
    rc = s_print_signed_in(ctx, session);
    flow__session_reply__free_unpacked(session, NULL);
    return rc;
}

static int
s_cmd_account_register(s_ctx_t *ctx, int argc, char **argv)
{
    static const struct option options[] = {
        { "email", required_argument, NULL, S_OPT_EMAIL },
        { "name", required_argument, NULL, S_OPT_NAME },
        { "password-stdin", no_argument, NULL, S_OPT_PASSWORD_STDIN },
        S_GLOBAL_OPTIONS, { NULL, 0, NULL, 0 }
    };
    s_account_args_t args = { NULL, NULL, false, false };
    int rc = s_parse_account(ctx, argc, argv, options, &args);
    if (rc != 0)
        return rc;
    if (!args.email || !args.name)
        return fl_cli_usage_error("account register wants --email and --name");
    char password[FL_CLI_PASSWORD_MAX + 1];
    rc = s_new_password(args.password_stdin, "password: ", "password again: ", password);
    if (rc == 0)
        rc = s_sign_in(ctx, &args, password);
    fl_cli_wipe(password, sizeof password);
    return rc;
}

static int
s_cmd_account_login(s_ctx_t *ctx, int argc, char **argv)
{
    static const struct option options[] = {
        { "email", required_argument, NULL, S_OPT_EMAIL },
        { "password-stdin", no_argument, NULL, S_OPT_PASSWORD_STDIN },
        S_GLOBAL_OPTIONS, { NULL, 0, NULL, 0 }
    };
    s_account_args_t args = { NULL, NULL, false, false };
    int rc = s_parse_account(ctx, argc, argv, options, &args);
    if (rc != 0)
        return rc;
    if (!args.email)
        return fl_cli_usage_error("account login wants --email");
    char password[FL_CLI_PASSWORD_MAX + 1];
    rc = fl_cli_read_password("password: ", args.password_stdin, password);
    if (rc == 0)
        rc = s_sign_in(ctx, &args, password);
    fl_cli_wipe(password, sizeof password);
    return rc;
}

/*  Forgets the stored session: the node has ended it or never will
 *  accept it again.  */
static int
s_forget_credentials(void)
{
    char error[512];
    if (fl_credentials_remove(error, sizeof error) != 0)
        return fl_cli_fail(FL_CLI_EXIT_FAIL, FLOW_INTERNAL, "%s", error);
    return 0;
}

/*  Commands whose reply has no body print an empty object with --json,
 *  else the line FORMAT makes.  */
static int
s_print_done(s_ctx_t *ctx, const char *format, ...) __attribute__((format(printf, 2, 3)));

static int
s_print_done(s_ctx_t *ctx, const char *format, ...)
{
    if (ctx->g.json) {
        printf("{}\n");
        return 0;
    }
    va_list args;
    va_start(args, format);
    vprintf(format, args);
    va_end(args);
    return 0;
}

/*  UNAUTHENTICATED here means the session is already over (revoked, or
 *  its refresh token expired): the user is signed out all the same.  */
static int
s_cmd_account_logout(s_ctx_t *ctx, int argc, char **argv)
{
    static const struct option options[] = { S_GLOBAL_OPTIONS, { NULL, 0, NULL, 0 } };
    s_account_args_t args = { NULL, NULL, false, false };
    int rc = s_parse_account(ctx, argc, argv, options, &args);
    if (rc == 0)
        rc = s_connect_signed_in(ctx);
    if (rc != 0)
        return rc;
    flow_status_t status = flow_logout(ctx->flow);
    if (status != FLOW_OK && status != FLOW_UNAUTHENTICATED)
        return s_call_failed(ctx, status);
    rc = s_forget_credentials();
    if (rc != 0)
        return rc;
    const char *who = ctx->credentials->email ? ctx->credentials->email : "";
    return s_print_done(ctx, "signed out %s\n", who);
}

static int
s_cmd_account_passwd(s_ctx_t *ctx, int argc, char **argv)
{
    static const struct option options[] = {
        { "password-stdin", no_argument, NULL, S_OPT_PASSWORD_STDIN },
        S_GLOBAL_OPTIONS, { NULL, 0, NULL, 0 }
    };
    s_account_args_t args = { NULL, NULL, false, false };
    int rc = s_parse_account(ctx, argc, argv, options, &args);
    if (rc == 0)
        rc = s_connect_signed_in(ctx);
    if (rc != 0)
        return rc;
    char old_password[FL_CLI_PASSWORD_MAX + 1];
    char new_password[FL_CLI_PASSWORD_MAX + 1];
    new_password[0] = 0;
    rc = fl_cli_read_password("current password: ", args.password_stdin, old_password);
    if (rc == 0)
        rc = s_new_password(args.password_stdin, "new password: ", "new password again: ",
                            new_password);
    if (rc == 0) {
        flow_status_t status = flow_change_password(ctx->flow, old_password, new_password);
        rc = status == FLOW_OK ? 0 : s_call_failed(ctx, status);
    }
    fl_cli_wipe(old_password, sizeof old_password);
    fl_cli_wipe(new_password, sizeof new_password);
    if (rc != 0)
        return rc;
    if (ctx->save_failed)
        return s_save_failed(ctx);
    return s_print_done(ctx, "password changed\n");
}

static int
s_cmd_account_delete(s_ctx_t *ctx, int argc, char **argv)
{
    static const struct option options[] = {
        { "password-stdin", no_argument, NULL, S_OPT_PASSWORD_STDIN },
        { "yes", no_argument, NULL, S_OPT_YES },
        S_GLOBAL_OPTIONS, { NULL, 0, NULL, 0 }
    };
    s_account_args_t args = { NULL, NULL, false, false };
    int rc = s_parse_account(ctx, argc, argv, options, &args);
    if (rc != 0)
        return rc;
    if (!args.yes)
        return fl_cli_usage_error("account delete removes the account for good; "
                                  "pass --yes to confirm");
    rc = s_connect_signed_in(ctx);
    if (rc != 0)
        return rc;
    char password[FL_CLI_PASSWORD_MAX + 1];
    rc = fl_cli_read_password("password: ", args.password_stdin, password);
    if (rc == 0) {
        flow_status_t status = flow_delete_account(ctx->flow, password);
        rc = status == FLOW_OK ? 0 : s_call_failed(ctx, status);
    }
    fl_cli_wipe(password, sizeof password);
    if (rc == 0)
        rc = s_forget_credentials();
    if (rc != 0)
        return rc;
    const fl_credentials_t *c = ctx->credentials;
    return s_print_done(ctx, "deleted the account %s (%s)\n", c->email ? c->email : "",
                        c->user_id ? c->user_id : "");
}

/*  ---------------------------------------------------------------------
 *  profile
 */

static void
s_print_list(const char *label, char **values, size_t n)
{
    if (n == 0)
        return;
    printf("%-14s", label);
    for (size_t i = 0; i < n; i++)
        printf("%s%s", i ? ", " : " ", values[i]);
    printf("\n");
}

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
    s_print_list("categories", prefs->favourite_categories, prefs->n_favourite_categories);
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
s_print_profile(const Flow__Profile *p)
{
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
    s_print_list("traits", p->traits, p->n_traits);
    s_print_list("interests", p->interests, p->n_interests);
    if (p->activity_level != FLOW__ACTIVITY_LEVEL__ACTIVITY_UNSPECIFIED)
        printf("%-14s %s\n", "activity",
               fl_cli_enum_name(&flow__activity_level__descriptor, "ACTIVITY_",
                                (int) p->activity_level, buf, sizeof buf));
    if (p->preferences)
        s_print_preferences(p->preferences);
    if (p->privacy)
        s_print_privacy(p->privacy);
}

static int
s_profile_print(s_ctx_t *ctx, const Flow__Profile *profile)
{
    if (ctx->save_failed)
        return s_save_failed(ctx);
    if (ctx->g.json)
        return fl_cli_print_json(&profile->base);
    s_print_profile(profile);
    return 0;
}

static int
s_cmd_profile_show(s_ctx_t *ctx, int argc, char **argv)
{
    static const struct option options[] = { S_GLOBAL_OPTIONS, { NULL, 0, NULL, 0 } };
    int rc = s_parse_command(ctx, argc, argv, "", options, s_no_options, NULL);
    if (rc != 0)
        return rc;
    if (argc - optind > 1)
        return fl_cli_usage_error("profile show takes at most one EMAIL or USER_ID");
    const char *user = optind < argc ? argv[optind] : NULL;
    rc = s_connect_signed_in(ctx);
    if (rc != 0)
        return rc;
    Flow__Profile *profile = NULL;
    flow_status_t status = flow_get_profile(ctx->flow, user, &profile);
    if (status != FLOW_OK)
        return s_call_failed(ctx, status);
    rc = s_profile_print(ctx, profile);
    flow__profile__free_unpacked(profile, NULL);
    return rc;
}

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

static char *
s_trim(char *text)
{
    while (isspace((unsigned char) *text))
        text++;
    size_t len = strlen(text);
    while (len > 0 && isspace((unsigned char) text[len - 1]))
        text[--len] = 0;
    return text;
}

/*  Splits TEXT at commas, in place, into *VALUES_P (replacing what was
 *  there); items are trimmed and empty ones dropped, so "" is the empty
 *  list.  */
static int
s_split(char *text, char ***values_p, size_t *n_p)
{
    size_t cap = 1;
    for (const char *c = text; *c; c++)
        cap += *c == ',';
    char **values = calloc(cap, sizeof *values);
    if (!values)
        return fl_cli_fail(FL_CLI_EXIT_FAIL, FLOW_INTERNAL, "out of memory");
    size_t n = 0;
    char *saveptr = NULL;
    for (char *item = strtok_r(text, ",", &saveptr); item; item = strtok_r(NULL, ",", &saveptr)) {
        item = s_trim(item);
        if (item[0])
            values[n++] = item;
    }
    free(*values_p);
    *values_p = values;
    *n_p = n;
    return 0;
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
    int rc = s_split(text, &names, &n);
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
        return s_split(text, &set->traits.values, &set->traits.n_values);
    case S_OPT_INTERESTS:
        c->interests = &set->interests;
        return s_split(text, &set->interests.values, &set->interests.n_values);
    case S_OPT_ACTIVITY:
        c->activity_level = &set->activity;
        return s_parse_activity(text, &set->activity);
    case S_OPT_RADIUS:
        set->set_radius = true;
        return s_parse_radius(text, &set->radius_m);
    case S_OPT_CATEGORIES:
        set->set_categories = true;
        return s_split(text, &set->categories, &set->n_categories);
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
s_profile_update(s_ctx_t *ctx, s_profile_set_t *set)
{
    Flow__Profile *current = NULL;
    Flow__Preferences prefs;
    bool merge = set->set_radius || set->set_categories || set->set_notifications;
    if (merge) {
        flow_status_t status = flow_get_profile(ctx->flow, NULL, &current);
        if (status != FLOW_OK)
            return s_call_failed(ctx, status);
        s_merge_preferences(set, current, &prefs);
        set->changes.preferences = &prefs;
    }
    Flow__Profile *updated = NULL;
    flow_status_t status = flow_update_profile(ctx->flow, &set->changes, &updated);
    set->changes.preferences = NULL;
    if (current)
        flow__profile__free_unpacked(current, NULL);
    if (status != FLOW_OK)
        return s_call_failed(ctx, status);
    int rc = s_profile_print(ctx, updated);
    flow__profile__free_unpacked(updated, NULL);
    return rc;
}

static int
s_cmd_profile_set(s_ctx_t *ctx, int argc, char **argv)
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
        S_GLOBAL_OPTIONS, { NULL, 0, NULL, 0 }
    };
    s_profile_set_t set;
    s_profile_set_init(&set);
    int rc = s_parse_command(ctx, argc, argv, "", options, s_profile_option, &set);
    if (rc == 0 && optind < argc)
        rc = fl_cli_usage_error("profile set takes no argument '%s'", argv[optind]);
    if (rc == 0 && set.changes.home && set.changes.clear_home)
        rc = fl_cli_usage_error("--home and --clear-home exclude each other");
    if (rc == 0 && s_profile_set_empty(&set))
        rc = fl_cli_usage_error("profile set wants at least one change");
    if (rc == 0)
        rc = s_connect_signed_in(ctx);
    if (rc == 0)
        rc = s_profile_update(ctx, &set);
    s_profile_set_free(&set);
    return rc;
}

/*  ---------------------------------------------------------------------
 *  The command table and main
 */

#define S_PASSWORD_HELP                                                           \
    "  --password-stdin  read the password as one line of stdin instead of\n"      \
    "                  asking on the terminal\n"

static const s_command_t s_commands[] = {
    { "ping", s_cmd_ping, "ping [--actor NAME] [--key KEY]",
      "Checks that the node answers.  With --actor, the ping takes the path a\n"
      "request of that actor takes: KEY is hashed to its partition and the\n"
      "owner's actor answers.\n"
      "  --actor NAME    session, user, event, geo, recommend or notify\n"
      "  --key KEY       routing key (default: empty)\n" },
    { "info", s_cmd_info, "info",
      "Shows the node's id, version, uptime, partitions and actors.\n" },
    { "watch", s_cmd_watch, "watch TOPIC... [--count N]",
      "Subscribes to the topics and prints pushes as they arrive, until N\n"
      "pushes (then exit 0), Ctrl-C, the node closing the connection or the\n"
      "end of --timeout.  With --count, ending by --timeout is a failure.\n"
      "Topics: node (notices about this node).\n"
      "  --count N       stop after N pushes\n" },
    { "account register", s_cmd_account_register,
      "account register --email EMAIL --name NAME [--password-stdin]",
      "Creates an account and signs in.  The password (at least 10 characters)\n"
      "is asked twice on the terminal.  The session is stored in the\n"
      "credentials file (see 'flow --help').  --json prints the session,\n"
      "tokens included.\n"
      "  --email EMAIL   the account's email\n"
      "  --name NAME     the name others see\n"
      S_PASSWORD_HELP },
    { "account login", s_cmd_account_login, "account login --email EMAIL [--password-stdin]",
      "Signs in and stores the session.  --json prints the session, tokens\n"
      "included.\n"
      "  --email EMAIL   the account's email\n"
      S_PASSWORD_HELP },
    { "account logout", s_cmd_account_logout, "account logout",
      "Ends the stored session on the node and removes the credentials file.\n" },
    { "account passwd", s_cmd_account_passwd, "account passwd [--password-stdin]",
      "Changes the password: asks for the current one, then the new one\n"
      "twice.  With --password-stdin, stdin holds the current password on\n"
      "one line and the new one on the next.\n"
      S_PASSWORD_HELP },
    { "account delete", s_cmd_account_delete, "account delete --yes [--password-stdin]",
      "Deletes the signed-in account for good, its password confirming it,\n"
      "and removes the credentials file.\n"
      "  --yes           confirms; without it nothing happens\n"
      S_PASSWORD_HELP },
    { "profile show", s_cmd_profile_show, "profile show [EMAIL|USER_ID]",
      "Shows a profile as you may see it (default: your own).  Fields hidden\n"
      "from you are left out.\n" },
    { "profile set", s_cmd_profile_set, "profile set [OPTIONS]",
      "Changes your profile: only the options given, the rest stays as it\n"
      "is.  Prints the profile as it is now.\n"
      "  --name NAME                 display name\n"
      "  --avatar URL                avatar image\n"
      "  --bio TEXT                  about you\n"
      "  --home LAT,LON              home location in degrees\n"
      "  --clear-home                forget the home location\n"
      "  --traits A,B,...            personality traits (\"\" clears)\n"
      "  --interests A,B,...         interests (\"\" clears)\n"
      "  --activity LEVEL            low, medium or high\n"
      "  --radius-m N                discovery radius in metres (0: default)\n"
      "  --categories A,B,...        favourite event categories\n"
      "  --notifications-off T,...   event_updates, rsvp, chat, recommendations,\n"
      "                              social (\"\": all on)\n"
      "  --privacy FIELD=VISIBILITY  FIELD bio, location, interests or traits;\n"
      "                              VISIBILITY public, friends or private;\n"
      "                              repeatable\n" },
};

#define S_N_COMMANDS (sizeof s_commands / sizeof s_commands[0])

static const char *s_files_help =
    "files:\n"
    "  The session of 'flow account login' is kept in credentials under\n"
    "  $FLOW_CONFIG_DIR, else $XDG_CONFIG_HOME/flow, else ~/.config/flow\n"
    "  (directory 0700, file 0600).  Commands that need a signed-in user use\n"
    "  it, on the node it was made on unless --node or $FLOW_NODE says\n"
    "  otherwise, and store the new tokens when an expired session is\n"
    "  refreshed.\n";

/*  Whether command NAME begins with the word NOUN of LEN bytes.  */
static bool
s_has_noun(const char *name, const char *noun, size_t len)
{
    return strncmp(name, noun, len) == 0 && name[len] == ' ';
}

static void
s_print_help(const s_command_t *command)
{
    if (command) {
        printf("usage: flow [GLOBAL OPTIONS] %s\n\n%s\nglobal options:\n%s",
               command->usage, command->help, s_global_help);
        return;
    }
    printf("usage: flow [GLOBAL OPTIONS] COMMAND [OPTIONS]\n\ncommands:\n");
    for (size_t i = 0; i < S_N_COMMANDS; i++)
        printf("  %s\n", s_commands[i].usage);
    printf("\nglobal options:\n%s\n%s\n'flow COMMAND --help' describes a command.\n",
           s_global_help, s_files_help);
}

/*  The commands of NOUN ("account"); false when there are none.  */
static bool
s_print_noun_help(const char *noun)
{
    size_t len = strlen(noun);
    bool any = false;
    for (size_t i = 0; i < S_N_COMMANDS; i++) {
        if (!s_has_noun(s_commands[i].name, noun, len))
            continue;
        if (!any)
            printf("usage: flow [GLOBAL OPTIONS] %s COMMAND [OPTIONS]\n\ncommands:\n", noun);
        printf("  %s\n", s_commands[i].usage);
        any = true;
    }
    if (any)
        printf("\nglobal options:\n%s\n'flow %s COMMAND --help' describes a command.\n",
               s_global_help, noun);
    return any;
}

/*  The command named by the words at ARGV (one word, or "noun verb");
 *  *WORDS_P is how many words the name took.  */
static const s_command_t *
s_find_command(int argc, char **argv, int *words_p)
{
    for (size_t i = 0; i < S_N_COMMANDS; i++) {
        const char *name = s_commands[i].name;
        const char *space = strchr(name, ' ');
        if (!space && strcmp(name, argv[0]) == 0) {
            *words_p = 1;
            return &s_commands[i];
        }
        size_t noun = space ? (size_t) (space - name) : 0;
        if (space && argc > 1 && strlen(argv[0]) == noun
            && strncmp(name, argv[0], noun) == 0 && strcmp(space + 1, argv[1]) == 0) {
            *words_p = 2;
            return &s_commands[i];
        }
    }
    return NULL;
}

static bool
s_wants_help(int argc, char **argv)
{
    for (int i = 0; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0)
            return true;
    }
    return false;
}

/*  No command matched ARGV: a noun with its help, a noun without a verb
 *  it knows, or nothing known.  */
static int
s_no_command(int argc, char **argv, bool help)
{
    size_t len = strlen(argv[0]);
    bool noun = false;
    for (size_t i = 0; i < S_N_COMMANDS && !noun; i++)
        noun = s_has_noun(s_commands[i].name, argv[0], len);
    if (!noun)
        return fl_cli_usage_error("unknown command '%s'", argv[0]);
    if (help || s_wants_help(argc, argv)) {
        s_print_noun_help(argv[0]);
        return 0;
    }
    if (argc < 2)
        return fl_cli_usage_error("%s wants a command", argv[0]);
    return fl_cli_usage_error("unknown command '%s %s'", argv[0], argv[1]);
}

static int
s_parse_globals(int argc, char **argv, s_globals_t *globals)
{
    static const struct option options[] = { S_GLOBAL_OPTIONS, { NULL, 0, NULL, 0 } };
    int opt;
    while ((opt = getopt_long(argc, argv, "+h", options, NULL)) != -1) {
        if (opt == '?' || opt == ':')
            return fl_cli_bad_option(argc, argv);
        if (s_global_option(opt, optarg, globals) != 0)
            return FL_CLI_EXIT_USAGE;
    }
    return 0;
}

static int
s_run(const s_command_t *command, const s_globals_t *globals, int argc, char **argv)
{
    s_ctx_t ctx;
    memset(&ctx, 0, sizeof ctx);
    ctx.g = *globals;
    int rc = command->run(&ctx, argc, argv);
    if (rc == 0 && ctx.save_failed)
        rc = s_save_failed(&ctx);
    flow_destroy(&ctx.flow);
    fl_credentials_destroy(&ctx.credentials);
    return rc;
}

int
main(int argc, char **argv)
{
    fl_cli_init("flow");
    s_globals_t globals = { getenv("FLOW_NODE"), false, 0, false };
    if (globals.endpoint && !globals.endpoint[0])
        globals.endpoint = NULL;
    opterr = 0;
    int rc = s_parse_globals(argc, argv, &globals);
    if (rc != 0)
        return rc;
    if (optind >= argc) {
        if (globals.help) {
            s_print_help(NULL);
            return 0;
        }
        return fl_cli_usage_error("no command given");
    }
    int words = 0;
    const s_command_t *command = s_find_command(argc - optind, argv + optind, &words);
    if (!command)
        return s_no_command(argc - optind, argv + optind, globals.help);
    int first = optind + words - 1;
    if (globals.help || s_wants_help(argc - first, argv + first)) {
        s_print_help(command);
        return 0;
    }
    return s_run(command, &globals, argc - first, argv + first);
}
