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
 *  Events.  Times are read and shown with the node's own code
 *  (node/timeutil.c: RFC 3339, IANA zones through libical), so the CLI
 *  and the node cannot disagree about an instant or a zone; money is
 *  converted to minor units exactly, in integers.
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
#include "node/timeutil.h"

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
#include <time.h>

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
    S_OPT_ACTIVITY, S_OPT_RADIUS, S_OPT_CATEGORIES, S_OPT_NOTIFICATIONS_OFF, S_OPT_PRIVACY,
    S_OPT_TITLE, S_OPT_DESCRIPTION, S_OPT_CATEGORY, S_OPT_TAGS, S_OPT_ORGANIZER_TYPE,
    S_OPT_START, S_OPT_END, S_OPT_TZ, S_OPT_LAT, S_OPT_LON, S_OPT_ADDRESS, S_OPT_VENUE,
    S_OPT_PRICE, S_OPT_AMOUNT, S_OPT_CURRENCY, S_OPT_CAPACITY, S_OPT_VISIBILITY,
    S_OPT_INVITE_ONLY, S_OPT_MIN_POINTS, S_OPT_MIN_RATING, S_OPT_IMAGE, S_OPT_IF_VERSION,
    S_OPT_TAG, S_OPT_WHEN, S_OPT_FROM, S_OPT_TO, S_OPT_MAX_PRICE, S_OPT_FREE_SPOTS,
    S_OPT_TEXT, S_OPT_SORT, S_OPT_LIMIT, S_OPT_CURSOR, S_OPT_STATE
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
 *  event
 *
 *  Every value is checked here, before anything is sent, so a bad option
 *  is a usage error that names it; the node checks everything again.
 *  Money is written in major units ("12.50") and sent in the currency's
 *  minor unit, converted exactly, never through a double.  Times are RFC
 *  3339 and shown in the event's own zone and in UTC.
 */

/*  The most a price may be in minor units, as the node allows.  */
#define S_AMOUNT_MAX_MINOR UINT64_C(100000000000)
#define S_PAGE_MAX 200
#define S_RADIUS_MAX_M 200000

/*  Currencies whose minor unit is not a hundredth (ISO 4217).  */
static const struct {
    const char *code;
    int decimals;
} s_currency_decimals[] = {
    { "BHD", 3 }, { "BIF", 0 }, { "CLP", 0 }, { "DJF", 0 }, { "GNF", 0 }, { "IQD", 3 },
    { "ISK", 0 }, { "JOD", 3 }, { "JPY", 0 }, { "KMF", 0 }, { "KRW", 0 }, { "KWD", 3 },
    { "LYD", 3 }, { "OMR", 3 }, { "PYG", 0 }, { "RWF", 0 }, { "TND", 3 }, { "UGX", 0 },
    { "VND", 0 }, { "VUV", 0 }, { "XAF", 0 }, { "XOF", 0 }, { "XPF", 0 },
};

/*  Digits after the decimal point in CURRENCY's amounts.  */
static int
s_decimals(const char *currency)
{
    for (size_t i = 0; i < sizeof s_currency_decimals / sizeof s_currency_decimals[0]; i++) {
        if (strcmp(s_currency_decimals[i].code, currency) == 0)
            return s_currency_decimals[i].decimals;
    }
    return 2;
}

/*  TEXT ("12.50", "12.5", "12") in minor units of a currency with
 *  DECIMALS digits after the point.  False for anything but digits with
 *  at most DECIMALS of them after one point, and above
 *  S_AMOUNT_MAX_MINOR.  */
static bool
s_parse_amount(const char *text, int decimals, uint64_t *minor_p)
{
    uint64_t minor = 0;
    int whole = 0;
    int fraction = -1;          /*  digits after the point; -1: no point  */
    for (const char *c = text; *c; c++) {
        if (*c == '.' && fraction < 0 && whole > 0) {
            fraction = 0;
            continue;
        }
        if (*c < '0' || *c > '9' || (fraction >= 0 && ++fraction > decimals))
            return false;
        if (fraction < 0)
            whole++;
        minor = minor * 10 + (uint64_t) (*c - '0');
        if (minor > S_AMOUNT_MAX_MINOR)
            return false;
    }
    if (whole == 0 || fraction == 0)
        return false;
    for (int i = fraction < 0 ? 0 : fraction; i < decimals; i++)
        minor *= 10;
    if (minor > S_AMOUNT_MAX_MINOR)
        return false;
    *minor_p = minor;
    return true;
}

/*  The usage error for an amount with more decimals than CURRENCY ("":
 *  none given, two) has.  */
static int
s_amount_error(const char *option, const char *text, const char *currency)
{
    int decimals = currency[0] ? s_decimals(currency) : 2;
    if (decimals == 0)
        return fl_cli_usage_error("%s in %s wants a whole number, not '%s'", option, currency,
                                  text);
    return fl_cli_usage_error("%s wants at most %d digits after the point%s%s, not '%s'", option,
                              decimals, currency[0] ? " in " : "", currency, text);
}

/*  MINOR units of CURRENCY as "12.50 EUR", written into BUF and
 *  returned.  */
static const char *
s_format_amount(uint64_t minor, const char *currency, char *buf, size_t cap)
{
    int decimals = s_decimals(currency);
    uint64_t scale = 1;
    for (int i = 0; i < decimals; i++)
        scale *= 10;
    if (decimals == 0)
        snprintf(buf, cap, "%" PRIu64 " %s", minor, currency);
    else
        snprintf(buf, cap, "%" PRIu64 ".%0*" PRIu64 " %s", minor / scale, decimals,
                 minor % scale, currency);
    return buf;
}

/*  The number TEXT spells in decimal digits and nothing else, when it is
 *  at most MAX.  */
static bool
s_parse_uint(const char *text, uint64_t max, uint64_t *value_p)
{
    if (text[0] < '0' || text[0] > '9')
        return false;
    char *end;
    errno = 0;
    unsigned long long value = strtoull(text, &end, 10);
    if (*end || errno || value > max)
        return false;
    *value_p = value;
    return true;
}

static int
s_uint32_option(const char *option, const char *text, uint32_t *value_p)
{
    uint64_t value;
    if (!s_parse_uint(text, UINT32_MAX, &value))
        return fl_cli_usage_error("%s wants a whole number from 0, not '%s'", option, text);
    *value_p = (uint32_t) value;
    return 0;
}

static int
s_limit_option(const char *text, uint32_t *limit_p)
{
    uint64_t value;
    if (!s_parse_uint(text, S_PAGE_MAX, &value) || value == 0)
        return fl_cli_usage_error("--limit wants a number from 1 to %d, not '%s'", S_PAGE_MAX,
                                  text);
    *limit_p = (uint32_t) value;
    return 0;
}

static int
s_degrees_option(const char *option, const char *text, double limit, double *value_p)
{
    char *end;
    errno = 0;
    double value = strtod(text, &end);
    if (end == text || *end || errno || !isfinite(value) || value < -limit || value > limit)
        return fl_cli_usage_error("%s wants degrees within -%g..%g, not '%s'", option, limit,
                                  limit, text);
    *value_p = value;
    return 0;
}

static int
s_time_option(const char *option, const char *text, int64_t *unix_s)
{
    if (fl_time_parse(text, unix_s) != 0)
        return fl_cli_usage_error("%s wants an RFC 3339 time such as 2026-12-01T20:00:00Z, "
                                  "not '%s'", option, text);
    return 0;
}

/*  An ISO 4217 code, in any case, into CODE (upper case).  Whether it is
 *  one in use is the node's to say.  */
static int
s_currency_option(const char *text, char code[4])
{
    bool ok = strlen(text) == 3;
    for (size_t i = 0; ok && i < 3; i++) {
        ok = isalpha((unsigned char) text[i]);
        code[i] = (char) toupper((unsigned char) text[i]);
    }
    code[3] = 0;
    if (!ok)
        return fl_cli_usage_error("--currency wants an ISO 4217 code such as EUR, not '%s'",
                                  text);
    return 0;
}

/*  A member of DESCRIPTOR by its name without PREFIX (see
 *  fl_cli_enum_parse); CHOICES names them for the message.  */
static int
s_enum_option(const char *option, const ProtobufCEnumDescriptor *descriptor,
              const char *prefix, const char *choices, const char *text, int *value_p)
{
    if (!fl_cli_enum_parse(descriptor, prefix, text, value_p))
        return fl_cli_usage_error("%s wants %s, not '%s'", option, choices, text);
    return 0;
}

/*  The categories as the command line spells them: "music, nightlife,
 *  ...", into BUF.  */
static const char *
s_category_names(char *buf, size_t cap)
{
    size_t at = 0;
    buf[0] = 0;
    for (unsigned i = 0; i < flow__category__descriptor.n_values; i++) {
        int value = flow__category__descriptor.values[i].value;
        if (value == 0)
            continue;
        char name[32];
        int n = snprintf(buf + at, cap - at, "%s%s", at ? ", " : "",
                         fl_cli_enum_name(&flow__category__descriptor, "CATEGORY_", value, name,
                                          sizeof name));
        if (n < 0 || (size_t) n >= cap - at)
            break;
        at += (size_t) n;
    }
    return buf;
}

/*  A category by its name: "food_drink", "food-drink", "FOOD_DRINK".  */
static int
s_category_option(const char *option, const char *text, Flow__Category *category_p)
{
    char name[64];
    size_t len = strlen(text);
    int value = 0;
    bool ok = len < sizeof name;
    if (ok) {
        for (size_t i = 0; i <= len; i++)
            name[i] = text[i] == '-' ? '_' : text[i];
        ok = fl_cli_enum_parse(&flow__category__descriptor, "CATEGORY_", name, &value);
    }
    if (!ok) {
        char names[512];
        return fl_cli_usage_error("%s wants one of %s; not '%s'", option,
                                  s_category_names(names, sizeof names), text);
    }
    *category_p = (Flow__Category) value;
    return 0;
}

/*  Appends ITEM (not copied) to *LIST_P, which grows by one.  */
static int
s_append(char ***list_p, size_t *n_p, char *item)
{
    char **list = realloc(*list_p, (*n_p + 1) * sizeof *list);
    if (!list)
        return fl_cli_fail(FL_CLI_EXIT_FAIL, FLOW_INTERNAL, "out of memory");
    list[(*n_p)++] = item;
    *list_p = list;
    return 0;
}

/*  The event ID a command takes as its only argument; NULL after a
 *  usage error, reported.  */
static const char *
s_event_id_arg(int argc, char **argv, const char *command)
{
    if (optind >= argc) {
        fl_cli_usage_error("%s wants an event ID", command);
        return NULL;
    }
    if (argc - optind > 1) {
        fl_cli_usage_error("%s takes one event ID, not also '%s'", command, argv[optind + 1]);
        return NULL;
    }
    return argv[optind];
}

/*  ---------------------------------------------------------------------
 *  Printing events
 */

/*  UNIX_S as "2026-12-01 20:00" in UTC, into BUF.  */
static const char *
s_utc_time(int64_t unix_s, char *buf, size_t cap)
{
    time_t t = (time_t) unix_s;
    struct tm tm;
    if (!gmtime_r(&t, &tm) || strftime(buf, cap, "%Y-%m-%d %H:%M", &tm) == 0)
        snprintf(buf, cap, "%" PRId64, unix_s);
    return buf;
}

/*  UNIX_S as the wall-clock time in zone TZ, "2026-12-01 21:00"; in UTC
 *  with " UTC" after it when TZ is not a zone known here.  Into BUF.  */
static const char *
s_local_time(int64_t unix_s, const char *tz, char *buf, size_t cap)
{
    fl_local_t local;
    if (fl_time_local(unix_s, tz, &local) == 0)
        snprintf(buf, cap, "%04d-%02d-%02d %02d:%02d", local.year, local.month, local.day,
                 local.hour, local.minute);
    else {
        char utc[32];
        snprintf(buf, cap, "%s UTC", s_utc_time(unix_s, utc, sizeof utc));
    }
    return buf;
}

/*  "12.3 km" or "850 m", into BUF.  */
static const char *
s_distance(double metres, char *buf, size_t cap)
{
    if (metres < 999.5)
        snprintf(buf, cap, "%.0f m", metres);
    else
        snprintf(buf, cap, "%.1f km", metres / 1000.0);
    return buf;
}

/*  TEXT after LABEL, its later lines indented under the first.  */
static void
s_print_block(const char *label, const char *text)
{
    if (!text || !text[0])
        return;
    printf("%-14s ", label);
    for (const char *c = text; *c; c++) {
        putchar(*c);
        if (*c == '\n' && c[1])
            printf("%-14s ", "");
    }
    if (text[strlen(text) - 1] != '\n')
        putchar('\n');
}

static void
s_print_when(const Flow__Event *ev)
{
    char from[48], to[48];
    if (fl_time_zone_valid(ev->time_zone)) {
        printf("%-14s %s to ", "when", s_local_time(ev->start_s, ev->time_zone, from,
                                                     sizeof from));
        printf("%s %s\n%-14s ", s_local_time(ev->end_s, ev->time_zone, to, sizeof to),
               ev->time_zone, "");
    }
    else
        printf("%-14s ", "when");
    printf("%s to %s UTC\n", s_utc_time(ev->start_s, from, sizeof from),
           s_utc_time(ev->end_s, to, sizeof to));
}

static void
s_print_where(const Flow__Location *l)
{
    printf("%-14s ", "where");
    if (l->venue[0])
        printf("%s, ", l->venue);
    if (l->address[0])
        printf("%s, ", l->address);
    printf("%.6f,%.6f\n", l->lat, l->lon);
}

static void
s_print_price(const Flow__Pricing *p)
{
    char amount[64] = "";
    if (p->amount_minor)
        s_format_amount(p->amount_minor, p->currency, amount, sizeof amount);
    if (p->type == FLOW__PRICE_TYPE__PRICE_PAID)
        printf("%-14s %s\n", "price", amount);
    else if (p->type == FLOW__PRICE_TYPE__PRICE_DONATION)
        printf("%-14s donation%s%s\n", "price", amount[0] ? ", suggested " : "", amount);
    else
        printf("%-14s free\n", "price");
}

static void
s_print_requirements(const Flow__Requirements *r)
{
    if (!r->invite_only && !r->min_points && r->min_attendee_rating <= 0)
        return;
    printf("%-14s", "requirements");
    const char *sep = " ";
    if (r->invite_only) {
        printf("%sinvite only", sep);
        sep = ", ";
    }
    if (r->min_points) {
        printf("%s%" PRIu32 " points", sep, r->min_points);
        sep = ", ";
    }
    if (r->min_attendee_rating > 0)
        printf("%srating %.1f", sep, r->min_attendee_rating);
    printf("\n");
}

static void
s_print_attendance(const Flow__Event *ev)
{
    printf("%-14s ", "capacity");
    if (ev->capacity)
        printf("%" PRIu32, ev->capacity);
    else
        printf("no limit");
    printf(" (going %" PRIu32 ", interested %" PRIu32 ", waitlisted %" PRIu32 ")\n",
           ev->going, ev->interested, ev->waitlisted);
}

static void
s_print_my_rsvp(const Flow__Event *ev)
{
    char state[32];
    printf("%-14s %s", "your rsvp",
           fl_cli_enum_name(&flow__rsvp_state__descriptor, "RSVP_", (int) ev->my_rsvp, state,
                            sizeof state));
    if (ev->my_rsvp == FLOW__RSVP_STATE__RSVP_WAITLISTED)
        printf(", position %" PRIu32, ev->my_waitlist_position);
    printf("\n");
}

static void
s_print_event(const Flow__Event *ev)
{
    char buf[64];
    printf("%-14s %s\n", "id", ev->id);
    printf("%-14s %s\n", "title", ev->title);
    s_print_when(ev);
    if (ev->location)
        s_print_where(ev->location);
    printf("%-14s %s\n", "category", fl_cli_enum_name(&flow__category__descriptor, "CATEGORY_",
                                                      (int) ev->category, buf, sizeof buf));
    s_print_list("tags", ev->tags, ev->n_tags);
    if (ev->organizer) {
        printf("%-14s %s", "organizer", ev->organizer->display_name[0]
                                            ? ev->organizer->display_name
                                            : ev->organizer->user_id);
        if (ev->organizer->type != FLOW__ORGANIZER_TYPE__ORGANIZER_UNSPECIFIED)
            printf(" (%s)", fl_cli_enum_name(&flow__organizer_type__descriptor, "ORGANIZER_",
                                             (int) ev->organizer->type, buf, sizeof buf));
        printf("\n");
    }
    s_print_block("description", ev->description);
    if (ev->pricing)
        s_print_price(ev->pricing);
    else
        printf("%-14s free\n", "price");
    s_print_attendance(ev);
    printf("%-14s %s\n", "visibility",
           fl_cli_enum_name(&flow__event_visibility__descriptor, "EVENT_", (int) ev->visibility,
                            buf, sizeof buf));
    if (ev->requirements)
        s_print_requirements(ev->requirements);
    if (ev->media)
        s_print_list("images", ev->media->image_urls, ev->media->n_image_urls);
    printf("%-14s %s\n", "status", fl_cli_enum_name(&flow__event_status__descriptor, "EVENT_",
                                                    (int) ev->status, buf, sizeof buf));
    s_print_my_rsvp(ev);
    printf("%-14s %" PRIu64 "\n", "version", ev->version);
}

/*  Prints EV (the JSON of the Event with --json) and frees it.  */
static int
s_event_print(s_ctx_t *ctx, Flow__Event *ev)
{
    int rc = 0;
    if (ctx->save_failed)
        rc = s_save_failed(ctx);
    else if (ctx->g.json)
        rc = fl_cli_print_json(&ev->base);
    else
        s_print_event(ev);
    flow__event__free_unpacked(ev, NULL);
    return rc;
}

/*  ---------------------------------------------------------------------
 *  event create, event update
 */

/*  What `event create` or `event update` was told.  The draft's messages
 *  live here and are linked into it once the options are all read;
 *  strings stay in argv (lists are split there in place).  GIVEN says
 *  which options were present: an update sends only those.  */
typedef struct {
    Flow__EventDraft draft;
    Flow__Location location;
    Flow__Pricing pricing;
    Flow__Requirements requirements;
    Flow__Media media;
    Flow__PriceType price;
    const char *amount;         /*  converted when the currency is known  */
    char currency[4];
    char **images;
    size_t n_images;
    uint64_t if_version;
    struct {
        bool title, description, category, tags, organizer_type, start, end, tz;
        bool lat, lon, address, venue;
        bool price, amount, currency;
        bool capacity, visibility;
        bool invite_only, min_points, min_rating;
        bool images;
    } given;
} s_draft_args_t;

static void
s_draft_args_init(s_draft_args_t *a)
{
    memset(a, 0, sizeof *a);
    flow__event_draft__init(&a->draft);
    flow__location__init(&a->location);
    flow__pricing__init(&a->pricing);
    flow__requirements__init(&a->requirements);
    flow__media__init(&a->media);
}

static void
s_draft_args_free(s_draft_args_t *a)
{
    free(a->draft.tags);
    free(a->images);
}

static int
s_invite_only_option(const char *text, protobuf_c_boolean *value_p)
{
    if (!text || strcmp(text, "yes") == 0)
        *value_p = true;
    else if (strcmp(text, "no") == 0)
        *value_p = false;
    else
        return fl_cli_usage_error("--invite-only takes =yes or =no, not '%s'", text);
    return 0;
}

static int
s_rating_option(const char *text, double *rating_p)
{
    char *end;
    errno = 0;
    double value = strtod(text, &end);
    if (end == text || *end || errno || !isfinite(value) || value < 0 || value > 5)
        return fl_cli_usage_error("--min-rating wants a rating from 0 to 5, not '%s'", text);
    *rating_p = value;
    return 0;
}

/*  The options about the event itself.  */
static int
s_draft_text_option(int opt, char *text, s_draft_args_t *a)
{
    Flow__EventDraft *d = &a->draft;
    int value = 0;
    int rc = 0;
    switch (opt) {
    case S_OPT_TITLE: d->title = text; a->given.title = true; return 0;
    case S_OPT_DESCRIPTION: d->description = text; a->given.description = true; return 0;
    case S_OPT_CATEGORY:
        a->given.category = true;
        return s_category_option("--category", text, &d->category);
    case S_OPT_TAGS:
        a->given.tags = true;
        return s_split(text, &d->tags, &d->n_tags);
    case S_OPT_ORGANIZER_TYPE:
        a->given.organizer_type = true;
        rc = s_enum_option("--organizer-type", &flow__organizer_type__descriptor, "ORGANIZER_",
                           "individual, business or organization", text, &value);
        d->organizer_type = (Flow__OrganizerType) value;
        return rc;
    case S_OPT_VISIBILITY:
        a->given.visibility = true;
        rc = s_enum_option("--visibility", &flow__event_visibility__descriptor, "EVENT_",
                           "public or private", text, &value);
        d->visibility = (Flow__EventVisibility) value;
        return rc;
    case S_OPT_CAPACITY:
        a->given.capacity = true;
        return s_uint32_option("--capacity", text, &d->capacity);
    case S_OPT_IMAGE:
        a->given.images = true;
        return text[0] ? s_append(&a->images, &a->n_images, text) : 0;
    default:
        return 0;
    }
}

/*  The options about time, place, price and requirements.  */
static int
s_draft_detail_option(int opt, char *text, s_draft_args_t *a)
{
    Flow__EventDraft *d = &a->draft;
    uint64_t minor;
    int value = 0;
    int rc = 0;
    switch (opt) {
    case S_OPT_START: a->given.start = true; return s_time_option("--start", text, &d->start_s);
    case S_OPT_END: a->given.end = true; return s_time_option("--end", text, &d->end_s);
    case S_OPT_TZ:
        a->given.tz = true;
        d->time_zone = text;
        if (!fl_time_zone_valid(text))
            return fl_cli_usage_error("--tz wants an IANA time zone such as Europe/Berlin, "
                                      "not '%s'", text);
        return 0;
    case S_OPT_LAT: a->given.lat = true; return s_degrees_option("--lat", text, 90, &a->location.lat);
    case S_OPT_LON: a->given.lon = true; return s_degrees_option("--lon", text, 180, &a->location.lon);
    case S_OPT_ADDRESS: a->location.address = text; a->given.address = true; return 0;
    case S_OPT_VENUE: a->location.venue = text; a->given.venue = true; return 0;
    case S_OPT_PRICE:
        a->given.price = true;
        rc = s_enum_option("--price", &flow__price_type__descriptor, "PRICE_",
                           "free, paid or donation", text, &value);
        a->price = (Flow__PriceType) value;
        return rc;
    case S_OPT_AMOUNT:
        a->given.amount = true;
        a->amount = text;
        if (!s_parse_amount(text, 3, &minor))
            return fl_cli_usage_error("--amount wants an amount such as 12.50, not '%s'", text);
        return 0;
    case S_OPT_CURRENCY: a->given.currency = true; return s_currency_option(text, a->currency);
    case S_OPT_INVITE_ONLY:
        a->given.invite_only = true;
        return s_invite_only_option(text, &a->requirements.invite_only);
    case S_OPT_MIN_POINTS:
        a->given.min_points = true;
        return s_uint32_option("--min-points", text, &a->requirements.min_points);
    case S_OPT_MIN_RATING:
        a->given.min_rating = true;
        return s_rating_option(text, &a->requirements.min_attendee_rating);
    case S_OPT_IF_VERSION:
        if (!s_parse_uint(text, UINT64_MAX, &a->if_version) || a->if_version == 0)
            return fl_cli_usage_error("--if-version wants an event version above 0, not '%s'",
                                      text);
        return 0;
    default:
        return s_draft_text_option(opt, text, a);
    }
}

/*  optarg points into argv, which may be changed in place.  */
static int
s_draft_option(int opt, const char *arg, void *state)
{
    return s_draft_detail_option(opt, (char *) arg, state);
}

#define S_DRAFT_OPTIONS                                                     \
    { "title", required_argument, NULL, S_OPT_TITLE },                      \
    { "description", required_argument, NULL, S_OPT_DESCRIPTION },          \
    { "category", required_argument, NULL, S_OPT_CATEGORY },                \
    { "tags", required_argument, NULL, S_OPT_TAGS },                        \
    { "organizer-type", required_argument, NULL, S_OPT_ORGANIZER_TYPE },    \
    { "start", required_argument, NULL, S_OPT_START },                      \
    { "end", required_argument, NULL, S_OPT_END },                          \
    { "tz", required_argument, NULL, S_OPT_TZ },                            \
    { "lat", required_argument, NULL, S_OPT_LAT },                          \
    { "lon", required_argument, NULL, S_OPT_LON },                          \
    { "address", required_argument, NULL, S_OPT_ADDRESS },                  \
    { "venue", required_argument, NULL, S_OPT_VENUE },                      \
    { "price", required_argument, NULL, S_OPT_PRICE },                      \
    { "amount", required_argument, NULL, S_OPT_AMOUNT },                    \
    { "currency", required_argument, NULL, S_OPT_CURRENCY },                \
    { "capacity", required_argument, NULL, S_OPT_CAPACITY },                \
    { "visibility", required_argument, NULL, S_OPT_VISIBILITY },            \
    { "invite-only", optional_argument, NULL, S_OPT_INVITE_ONLY },          \
    { "min-points", required_argument, NULL, S_OPT_MIN_POINTS },            \
    { "min-rating", required_argument, NULL, S_OPT_MIN_RATING },            \
    { "image", required_argument, NULL, S_OPT_IMAGE }

/*  Checks that hold for create and update alike, before anything is
 *  sent.  */
static int
s_draft_check(const s_draft_args_t *a)
{
    if (a->given.price && a->price == FLOW__PRICE_TYPE__PRICE_FREE && a->given.amount)
        return fl_cli_usage_error("--price free takes no --amount");
    if (a->given.start && a->given.end && a->draft.end_s <= a->draft.start_s)
        return fl_cli_usage_error("--end must be after --start");
    return 0;
}

/*  The pricing to send: CURRENT (may be NULL) with the options put over
 *  it.  An amount without --price makes a free event paid; --price free
 *  drops amount and currency.  */
static int
s_draft_pricing(s_draft_args_t *a, const Flow__Pricing *current)
{
    Flow__Pricing *p = &a->pricing;
    if (current)
        *p = *current;
    if (a->given.price)
        p->type = a->price;
    if (a->given.price && a->price == FLOW__PRICE_TYPE__PRICE_FREE) {
        p->amount_minor = 0;
        p->currency = "";
    }
    if (a->given.currency)
        p->currency = a->currency;
    if (!a->given.amount)
        return 0;
    if (!p->currency[0])
        return fl_cli_usage_error("--amount wants --currency");
    if (!s_parse_amount(a->amount, s_decimals(p->currency), &p->amount_minor))
        return s_amount_error("--amount", a->amount, p->currency);
    if (!a->given.price && p->amount_minor > 0
        && (p->type == FLOW__PRICE_TYPE__PRICE_UNSPECIFIED
            || p->type == FLOW__PRICE_TYPE__PRICE_FREE))
        p->type = FLOW__PRICE_TYPE__PRICE_PAID;
    return 0;
}

/*  The location, requirements and media to send: CURRENT's (an update;
 *  NULL for a new event) with the options put over them.  */
static void
s_draft_merge(s_draft_args_t *a, const Flow__Event *current)
{
    Flow__Location given = a->location;
    if (current && current->location)
        a->location = *current->location;
    if (a->given.lat)
        a->location.lat = given.lat;
    if (a->given.lon)
        a->location.lon = given.lon;
    if (a->given.address)
        a->location.address = given.address;
    if (a->given.venue)
        a->location.venue = given.venue;
    Flow__Requirements wanted = a->requirements;
    if (current && current->requirements)
        a->requirements = *current->requirements;
    if (a->given.invite_only)
        a->requirements.invite_only = wanted.invite_only;
    if (a->given.min_points)
        a->requirements.min_points = wanted.min_points;
    if (a->given.min_rating)
        a->requirements.min_attendee_rating = wanted.min_attendee_rating;
    if (current && current->media)
        a->media = *current->media;
    if (a->given.images) {
        a->media.image_urls = a->images;
        a->media.n_image_urls = a->n_images;
    }
}

static bool
s_given_location(const s_draft_args_t *a)
{
    return a->given.lat || a->given.lon || a->given.address || a->given.venue;
}

static bool
s_given_pricing(const s_draft_args_t *a)
{
    return a->given.price || a->given.amount || a->given.currency;
}

static bool
s_given_requirements(const s_draft_args_t *a)
{
    return a->given.invite_only || a->given.min_points || a->given.min_rating;
}

/*  Links the parts into the draft: CURRENT (NULL for a new event) is
 *  the event an update starts from.  */
static int
s_draft_build(s_draft_args_t *a, const Flow__Event *current)
{
    int rc = s_draft_pricing(a, current ? current->pricing : NULL);
    if (rc != 0)
        return rc;
    if (!current && a->pricing.type == FLOW__PRICE_TYPE__PRICE_UNSPECIFIED)
        a->pricing.type = FLOW__PRICE_TYPE__PRICE_FREE;
    s_draft_merge(a, current);
    a->draft.location = &a->location;
    a->draft.pricing = &a->pricing;
    a->draft.requirements = &a->requirements;
    a->draft.media = &a->media;
    return 0;
}

static int
s_cmd_event_create(s_ctx_t *ctx, int argc, char **argv)
{
    static const struct option options[] = {
        S_DRAFT_OPTIONS, S_GLOBAL_OPTIONS, { NULL, 0, NULL, 0 }
    };
    s_draft_args_t a;
    s_draft_args_init(&a);
    int rc = s_parse_command(ctx, argc, argv, "", options, s_draft_option, &a);
    if (rc == 0 && optind < argc)
        rc = fl_cli_usage_error("event create takes no argument '%s'", argv[optind]);
    if (rc == 0 && !(a.given.title && a.given.category && a.given.lat && a.given.lon
                     && a.given.start && a.given.end && a.given.tz))
        rc = fl_cli_usage_error("event create wants --title, --category, --lat, --lon, "
                                "--start, --end and --tz");
    if (rc == 0)
        rc = s_draft_check(&a);
    if (rc == 0)
        rc = s_draft_build(&a, NULL);
    if (rc == 0)
        rc = s_connect_signed_in(ctx);
    Flow__Event *ev = NULL;
    if (rc == 0) {
        flow_status_t status = flow_event_create(ctx->flow, &a.draft, &ev);
        rc = status == FLOW_OK ? s_event_print(ctx, ev) : s_call_failed(ctx, status);
    }
    s_draft_args_free(&a);
    return rc;
}

#define S_DRAFT_FIELDS_MAX 16

/*  The EventDraft fields the options of A change, into FIELDS; returns
 *  how many.  */
static size_t
s_draft_fields(const s_draft_args_t *a, const char *fields[S_DRAFT_FIELDS_MAX])
{
    const struct {
        bool given;
        const char *field;
    } map[] = {
        { a->given.title, "title" },
        { a->given.description, "description" },
        { a->given.category, "category" },
        { a->given.tags, "tags" },
        { a->given.organizer_type, "organizer_type" },
        { a->given.start, "start_s" },
        { a->given.end, "end_s" },
        { a->given.tz, "time_zone" },
        { s_given_location(a), "location" },
        { s_given_pricing(a), "pricing" },
        { a->given.capacity, "capacity" },
        { a->given.visibility, "visibility" },
        { s_given_requirements(a), "requirements" },
        { a->given.images, "media" },
    };
    size_t n = 0;
    for (size_t i = 0; i < sizeof map / sizeof map[0]; i++) {
        if (map[i].given)
            fields[n++] = map[i].field;
    }
    return n;
}

/*  Sends the update.  Location, pricing, requirements and media are
 *  replaced whole by the node, so when one of their options is given the
 *  event is read first, the options are put over what it has, and the
 *  update is made only if the event has not changed since (unless
 *  --if-version says which version to change).  */
static int
s_event_update(s_ctx_t *ctx, const char *id, s_draft_args_t *a)
{
    const char *fields[S_DRAFT_FIELDS_MAX];
    size_t n = s_draft_fields(a, fields);
    Flow__Event *current = NULL;
    if (s_given_location(a) || s_given_pricing(a) || s_given_requirements(a) || a->given.images) {
        flow_status_t status = flow_event_get(ctx->flow, id, &current);
        if (status != FLOW_OK)
            return s_call_failed(ctx, status);
    }
    int rc = s_draft_build(a, current);
    uint64_t if_version = a->if_version ? a->if_version : current ? current->version : 0;
    Flow__Event *ev = NULL;
    if (rc == 0) {
        flow_status_t status = flow_event_update(ctx->flow, id, &a->draft, fields, n, if_version,
                                                 &ev);
        rc = status == FLOW_OK ? s_event_print(ctx, ev) : s_call_failed(ctx, status);
    }
    if (current)
        flow__event__free_unpacked(current, NULL);
    return rc;
}

static int
s_cmd_event_update(s_ctx_t *ctx, int argc, char **argv)
{
    static const struct option options[] = {
        S_DRAFT_OPTIONS,
        { "if-version", required_argument, NULL, S_OPT_IF_VERSION },
        S_GLOBAL_OPTIONS, { NULL, 0, NULL, 0 }
    };
    s_draft_args_t a;
    s_draft_args_init(&a);
    const char *fields[S_DRAFT_FIELDS_MAX];
    const char *id = NULL;
    int rc = s_parse_command(ctx, argc, argv, "", options, s_draft_option, &a);
    if (rc == 0 && !(id = s_event_id_arg(argc, argv, "event update")))
        rc = FL_CLI_EXIT_USAGE;
    if (rc == 0 && s_draft_fields(&a, fields) == 0)
        rc = fl_cli_usage_error("event update wants at least one change");
    if (rc == 0)
        rc = s_draft_check(&a);
    if (rc == 0)
        rc = s_connect_signed_in(ctx);
    if (rc == 0)
        rc = s_event_update(ctx, id, &a);
    s_draft_args_free(&a);
    return rc;
}

/*  ---------------------------------------------------------------------
 *  event cancel, show, invite
 */

/*  Parses the options of a command that takes one event ID and no
 *  options of its own, and connects; *ID_P is the ID.  */
static int
s_event_id_command(s_ctx_t *ctx, int argc, char **argv, const char *command,
                   const char **id_p)
{
    static const struct option options[] = { S_GLOBAL_OPTIONS, { NULL, 0, NULL, 0 } };
    int rc = s_parse_command(ctx, argc, argv, "", options, s_no_options, NULL);
    if (rc != 0)
        return rc;
    *id_p = s_event_id_arg(argc, argv, command);
    if (!*id_p)
        return FL_CLI_EXIT_USAGE;
    return s_connect_signed_in(ctx);
}

static int
s_cmd_event_show(s_ctx_t *ctx, int argc, char **argv)
{
    const char *id = NULL;
    int rc = s_event_id_command(ctx, argc, argv, "event show", &id);
    if (rc != 0)
        return rc;
    Flow__Event *ev = NULL;
    flow_status_t status = flow_event_get(ctx->flow, id, &ev);
    if (status != FLOW_OK)
        return s_call_failed(ctx, status);
    return s_event_print(ctx, ev);
}

static int
s_cmd_event_cancel(s_ctx_t *ctx, int argc, char **argv)
{
    const char *id = NULL;
    int rc = s_event_id_command(ctx, argc, argv, "event cancel", &id);
    if (rc != 0)
        return rc;
    Flow__Event *ev = NULL;
    flow_status_t status = flow_event_cancel(ctx->flow, id, &ev);
    if (status != FLOW_OK)
        return s_call_failed(ctx, status);
    if (ctx->g.json || ctx->save_failed)
        return s_event_print(ctx, ev);
    printf("cancelled %s (%s)\n", ev->title, ev->id);
    flow__event__free_unpacked(ev, NULL);
    return 0;
}

static int
s_cmd_event_invite(s_ctx_t *ctx, int argc, char **argv)
{
    static const struct option options[] = { S_GLOBAL_OPTIONS, { NULL, 0, NULL, 0 } };
    int rc = s_parse_command(ctx, argc, argv, "", options, s_no_options, NULL);
    if (rc != 0)
        return rc;
    if (argc - optind < 2)
        return fl_cli_usage_error("event invite wants an event ID and at least one USER_ID");
    const char *id = argv[optind];
    const char *const *users = (const char *const *) argv + optind + 1;
    size_t n = (size_t) (argc - optind - 1);
    rc = s_connect_signed_in(ctx);
    if (rc != 0)
        return rc;
    Flow__Event *ev = NULL;
    flow_status_t status = flow_invite(ctx->flow, id, users, n, &ev);
    if (status != FLOW_OK)
        return s_call_failed(ctx, status);
    if (ctx->g.json || ctx->save_failed)
        return s_event_print(ctx, ev);
    printf("invited %zu user%s to %s (%s)\n", n, n == 1 ? "" : "s", ev->title, ev->id);
    flow__event__free_unpacked(ev, NULL);
    return 0;
}

/*  ---------------------------------------------------------------------
 *  event rsvp, withdraw
 */

static void
s_print_rsvp(const Flow__RsvpReply *reply)
{
    switch (reply->state) {
    case FLOW__RSVP_STATE__RSVP_GOING: printf("going"); break;
    case FLOW__RSVP_STATE__RSVP_INTERESTED: printf("interested"); break;
    case FLOW__RSVP_STATE__RSVP_WAITLISTED:
        printf("on the waitlist at position %" PRIu32, reply->waitlist_position);
        break;
    default: printf("withdrawn"); break;
    }
    if (reply->event)
        printf(": %s (%s)", reply->event->title, reply->event->id);
    printf("\n");
}

static int
s_rsvp(s_ctx_t *ctx, const char *id, Flow__RsvpState state)
{
    Flow__RsvpReply *reply = NULL;
    flow_status_t status = flow_rsvp(ctx->flow, id, state, &reply);
    if (status != FLOW_OK)
        return s_call_failed(ctx, status);
    int rc = 0;
    if (ctx->save_failed)
        rc = s_save_failed(ctx);
    else if (ctx->g.json)
        rc = fl_cli_print_json(&reply->base);
    else
        s_print_rsvp(reply);
    flow__rsvp_reply__free_unpacked(reply, NULL);
    return rc;
}

static int
s_cmd_event_rsvp(s_ctx_t *ctx, int argc, char **argv)
{
    static const struct option options[] = { S_GLOBAL_OPTIONS, { NULL, 0, NULL, 0 } };
    int rc = s_parse_command(ctx, argc, argv, "", options, s_no_options, NULL);
    if (rc != 0)
        return rc;
    if (argc - optind != 2)
        return fl_cli_usage_error("event rsvp wants an event ID and going or interested");
    const char *answer = argv[optind + 1];
    Flow__RsvpState state;
    if (strcmp(answer, "going") == 0)
        state = FLOW__RSVP_STATE__RSVP_GOING;
    else if (strcmp(answer, "interested") == 0)
        state = FLOW__RSVP_STATE__RSVP_INTERESTED;
    else
        return fl_cli_usage_error("event rsvp wants going or interested, not '%s'; "
                                  "flow event withdraw takes an RSVP back", answer);
    rc = s_connect_signed_in(ctx);
    if (rc != 0)
        return rc;
    return s_rsvp(ctx, argv[optind], state);
}

static int
s_cmd_event_withdraw(s_ctx_t *ctx, int argc, char **argv)
{
    const char *id = NULL;
    int rc = s_event_id_command(ctx, argc, argv, "event withdraw", &id);
    if (rc != 0)
        return rc;
    return s_rsvp(ctx, id, FLOW__RSVP_STATE__RSVP_NONE);
}

/*  ---------------------------------------------------------------------
 *  event attendees
 */

typedef struct {
    Flow__RsvpState state;
    uint32_t limit;
    const char *cursor;
} s_attendees_args_t;

static int
s_attendees_option(int opt, const char *arg, void *state)
{
    s_attendees_args_t *a = state;
    int value = 0;
    int rc = 0;
    switch (opt) {
    case S_OPT_STATE:
        rc = s_enum_option("--state", &flow__rsvp_state__descriptor, "RSVP_",
                           "going, interested or waitlisted", arg, &value);
        a->state = (Flow__RsvpState) value;
        return rc;
    case S_OPT_LIMIT: return s_limit_option(arg, &a->limit);
    case S_OPT_CURSOR: a->cursor = arg; return 0;
    default: return 0;
    }
}

static void
s_print_attendees(const Flow__AttendeesReply *reply)
{
    char buf[48];
    if (reply->n_attendees == 0)
        printf("no one\n");
    for (size_t i = 0; i < reply->n_attendees; i++) {
        const Flow__Attendee *a = reply->attendees[i];
        printf("%-20s %-11s", a->user_id,
               fl_cli_enum_name(&flow__rsvp_state__descriptor, "RSVP_", (int) a->state, buf,
                                sizeof buf));
        if (a->state == FLOW__RSVP_STATE__RSVP_WAITLISTED)
            printf(" position %" PRIu32, a->waitlist_position);
        else if (a->since_s)
            printf(" since %s", fl_cli_time(a->since_s, buf, sizeof buf));
        printf("\n");
    }
    if (reply->next_cursor[0])
        printf("next page: --cursor %s\n", reply->next_cursor);
}

static int
s_cmd_event_attendees(s_ctx_t *ctx, int argc, char **argv)
{
    static const struct option options[] = {
        { "state", required_argument, NULL, S_OPT_STATE },
        { "limit", required_argument, NULL, S_OPT_LIMIT },
        { "cursor", required_argument, NULL, S_OPT_CURSOR },
        S_GLOBAL_OPTIONS, { NULL, 0, NULL, 0 }
    };
    s_attendees_args_t a = { FLOW__RSVP_STATE__RSVP_GOING, 0, NULL };
    int rc = s_parse_command(ctx, argc, argv, "", options, s_attendees_option, &a);
    if (rc != 0)
        return rc;
    const char *id = s_event_id_arg(argc, argv, "event attendees");
    if (!id)
        return FL_CLI_EXIT_USAGE;
    rc = s_connect_signed_in(ctx);
    if (rc != 0)
        return rc;
    Flow__AttendeesReply *reply = NULL;
    flow_status_t status = flow_attendees(ctx->flow, id, a.state, a.limit, a.cursor, &reply);
    if (status != FLOW_OK)
        return s_call_failed(ctx, status);
    if (ctx->save_failed)
        rc = s_save_failed(ctx);
    else if (ctx->g.json)
        rc = fl_cli_print_json(&reply->base);
    else
        s_print_attendees(reply);
    flow__attendees_reply__free_unpacked(reply, NULL);
    return rc;
}

/*  ---------------------------------------------------------------------
 *  event nearby
 */

/*  What `event nearby` was told; the arrays are its own, the strings stay
 *  in argv.  */
typedef struct {
    Flow__NearbyRequest query;
    bool lat, lon;              /*  given  */
    const char *max_price;      /*  converted when the currency is known  */
    char currency[4];
} s_nearby_args_t;

static void
s_nearby_args_free(s_nearby_args_t *a)
{
    free(a->query.categories);
    free(a->query.tags);
}

/*  "5km", "1.5 km", "800m", "5000" (metres): 1 m to 200 km.  */
static int
s_radius_option(const char *text, uint32_t *radius_p)
{
    size_t digits = strspn(text, "0123456789.");
    char *end = (char *) text;
    double value = -1;
    if (digits > 0) {
        errno = 0;
        value = strtod(text, &end);
        if (errno || end != text + digits)
            value = -1;
    }
    while (*end == ' ')
        end++;
    if (strcmp(end, "km") == 0)
        value *= 1000;
    else if (*end && strcmp(end, "m") != 0)
        value = -1;
    if (!isfinite(value) || value < 0.5 || value >= S_RADIUS_MAX_M + 0.5)
        return fl_cli_usage_error("--radius wants a distance from 1 m to 200 km such as 5km, "
                                  "800m or 5000 (metres), not '%s'", text);
    *radius_p = (uint32_t) lround(value);
    return 0;
}

/*  Adds the comma-separated categories in TEXT to the query.  */
static int
s_nearby_categories(char *text, Flow__NearbyRequest *q)
{
    char **names = NULL;
    size_t n = 0;
    int rc = s_split(text, &names, &n);
    Flow__Category *categories = NULL;
    if (rc == 0) {
        categories = realloc(q->categories, (q->n_categories + n + 1) * sizeof *categories);
        if (!categories)
            rc = fl_cli_fail(FL_CLI_EXIT_FAIL, FLOW_INTERNAL, "out of memory");
        else
            q->categories = categories;
    }
    for (size_t i = 0; rc == 0 && i < n; i++)
        rc = s_category_option("--category", names[i], &q->categories[q->n_categories++]);
    free(names);
    return rc;
}

static int
s_sort_option(const char *text, Flow__NearbySort *sort_p)
{
    int value = 0;
    if (strcmp(text, "distance") == 0)
        *sort_p = FLOW__NEARBY_SORT__SORT_DISTANCE;
    else if (fl_cli_enum_parse(&flow__nearby_sort__descriptor, "SORT_", text, &value))
        *sort_p = (Flow__NearbySort) value;
    else
        return fl_cli_usage_error("--sort wants distance, start or relevance, not '%s'", text);
    return 0;
}

static int
s_nearby_window_option(int opt, const char *text, s_nearby_args_t *a)
{
    Flow__NearbyRequest *q = &a->query;
    fl_when_t when;
    switch (opt) {
    case S_OPT_WHEN:
        if (fl_when_parse(text, &when) != 0)
            return fl_cli_usage_error("--when wants today, tomorrow, this-weekend or "
                                      "next-7-days, not '%s'", text);
        q->when = (char *) text;
        return 0;
    case S_OPT_FROM: return s_time_option("--from", text, &q->from_s);
    case S_OPT_TO: return s_time_option("--to", text, &q->to_s);
    default: return 0;
    }
}

/*  optarg points into argv, which may be changed in place.  */
static int
s_nearby_option(int opt, const char *arg, void *state)
{
    s_nearby_args_t *a = state;
    Flow__NearbyRequest *q = &a->query;
    char *text = (char *) arg;
    uint64_t minor;
    int value = 0;
    int rc = 0;
    switch (opt) {
    case S_OPT_LAT: a->lat = true; return s_degrees_option("--lat", text, 90, &q->lat);
    case S_OPT_LON: a->lon = true; return s_degrees_option("--lon", text, 180, &q->lon);
    case S_OPT_RADIUS: return s_radius_option(text, &q->radius_m);
    case S_OPT_CATEGORY: return s_nearby_categories(text, q);
    case S_OPT_TAG: return text[0] ? s_append(&q->tags, &q->n_tags, text) : 0;
    case S_OPT_PRICE:
        rc = s_enum_option("--price", &flow__price_type__descriptor, "PRICE_",
                           "free, paid or donation", text, &value);
        q->price_type = (Flow__PriceType) value;
        return rc;
    case S_OPT_MAX_PRICE:
        a->max_price = text;
        if (!s_parse_amount(text, 3, &minor))
            return fl_cli_usage_error("--max-price wants an amount such as 20.00, not '%s'",
                                      text);
        return 0;
    case S_OPT_CURRENCY: return s_currency_option(text, a->currency);
    case S_OPT_FREE_SPOTS: q->free_spots_only = true; return 0;
    case S_OPT_TEXT: q->text = text; return 0;
    case S_OPT_SORT: return s_sort_option(text, &q->sort);
    case S_OPT_LIMIT: return s_limit_option(text, &q->limit);
    case S_OPT_CURSOR: q->cursor = text; return 0;
    default: return s_nearby_window_option(opt, text, a);
    }
}

/*  Checks that need all the options; the maximum price is converted with
 *  the decimals of --currency (default two).  */
static int
s_nearby_finish(s_nearby_args_t *a)
{
    Flow__NearbyRequest *q = &a->query;
    if (!a->lat || !a->lon)
        return fl_cli_usage_error("event nearby wants --lat and --lon");
    if (q->from_s && q->to_s && q->to_s <= q->from_s)
        return fl_cli_usage_error("--to must be after --from");
    if (!a->max_price)
        return 0;
    uint64_t minor;
    if (!s_parse_amount(a->max_price, a->currency[0] ? s_decimals(a->currency) : 2, &minor))
        return s_amount_error("--max-price", a->max_price, a->currency);
    q->max_price_minor = (int64_t) minor;
    return 0;
}

static void
s_print_hits(const Flow__NearbyReply *reply)
{
    if (reply->n_hits == 0)
        printf("no events found\n");
    for (size_t i = 0; i < reply->n_hits; i++) {
        const Flow__NearbyHit *hit = reply->hits[i];
        const Flow__Event *ev = hit->event;
        if (!ev)
            continue;
        char distance[32], start[48];
        printf("%9s  %s  %s  %s\n", s_distance(hit->distance_m, distance, sizeof distance),
               s_local_time(ev->start_s, ev->time_zone, start, sizeof start), ev->title, ev->id);
    }
    if (reply->n_missing_shards)
        printf("incomplete: %zu shard%s did not answer in time\n", reply->n_missing_shards,
               reply->n_missing_shards == 1 ? "" : "s");
    if (reply->next_cursor[0])
        printf("next page: --cursor %s\n", reply->next_cursor);
}

static int
s_cmd_event_nearby(s_ctx_t *ctx, int argc, char **argv)
{
    static const struct option options[] = {
        { "lat", required_argument, NULL, S_OPT_LAT },
        { "lon", required_argument, NULL, S_OPT_LON },
        { "radius", required_argument, NULL, S_OPT_RADIUS },
        { "category", required_argument, NULL, S_OPT_CATEGORY },
        { "tag", required_argument, NULL, S_OPT_TAG },
        { "when", required_argument, NULL, S_OPT_WHEN },
        { "from", required_argument, NULL, S_OPT_FROM },
        { "to", required_argument, NULL, S_OPT_TO },
        { "price", required_argument, NULL, S_OPT_PRICE },
        { "max-price", required_argument, NULL, S_OPT_MAX_PRICE },
        { "currency", required_argument, NULL, S_OPT_CURRENCY },
        { "free-spots", no_argument, NULL, S_OPT_FREE_SPOTS },
        { "text", required_argument, NULL, S_OPT_TEXT },
        { "sort", required_argument, NULL, S_OPT_SORT },
        { "limit", required_argument, NULL, S_OPT_LIMIT },
        { "cursor", required_argument, NULL, S_OPT_CURSOR },
        S_GLOBAL_OPTIONS, { NULL, 0, NULL, 0 }
    };
    s_nearby_args_t a;
    memset(&a, 0, sizeof a);
    flow__nearby_request__init(&a.query);
    a.query.radius_m = 5000;
    int rc = s_parse_command(ctx, argc, argv, "", options, s_nearby_option, &a);
    if (rc == 0 && optind < argc)
        rc = fl_cli_usage_error("event nearby takes no argument '%s'", argv[optind]);
    if (rc == 0)
        rc = s_nearby_finish(&a);
    if (rc == 0)
        rc = s_connect_signed_in(ctx);
    Flow__NearbyReply *reply = NULL;
    if (rc == 0) {
        flow_status_t status = flow_nearby(ctx->flow, &a.query, &reply);
        if (status != FLOW_OK)
            rc = s_call_failed(ctx, status);
        else if (ctx->save_failed)
            rc = s_save_failed(ctx);
        else if (ctx->g.json)
            rc = fl_cli_print_json(&reply->base);
        else
            s_print_hits(reply);
    }
    if (reply)
        flow__nearby_reply__free_unpacked(reply, NULL);
    s_nearby_args_free(&a);
    return rc;
}

/*  ---------------------------------------------------------------------
 *  The command table and main
 */

#define S_EVENT_DRAFT_HELP                                                            \
    "  --title T                   title\n"                                        \
    "  --category C                music, nightlife, arts, theatre, film,\n"       \
    "                              food_drink, sports, outdoors, fitness,\n"        \
    "                              community, tech, business, education, family,\n" \
    "                              markets, festivals, comedy or other\n"           \
    "  --start T --end T           RFC 3339, e.g. 2026-12-01T20:00:00Z or\n"       \
    "                              2026-12-01T21:00:00+01:00\n"                    \
    "  --tz ZONE                   the event's IANA time zone, e.g. Europe/Berlin\n" \
    "  --lat X --lon Y             where, in degrees\n"                            \
    "  --address A --venue V       where, in words\n"                              \
    "  --description D             about the event\n"                              \
    "  --tags A,B,...              tags (\"\" clears)\n"                           \
    "  --capacity N                seats; 0: no limit (default)\n"                 \
    "  --visibility V              public (default) or private (the organiser\n"   \
    "                              and invited users only)\n"                      \
    "  --price P                   free (default), paid or donation\n"             \
    "  --amount A --currency CUR   the price, e.g. 12.50 EUR (JPY: whole numbers);\n" \
    "                              an amount alone makes the event paid\n"         \
    "  --organizer-type T          individual, business or organization\n"        \
    "  --invite-only[=yes|no]      only invited users may go\n"                    \
    "  --min-points N              points a user needs to go\n"                    \
    "  --min-rating R              attendee rating a user needs to go, 0 to 5\n"   \
    "  --image URL                 an image; repeatable\n"

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
    { "event create", s_cmd_event_create,
      "event create --title T --category C --lat X --lon Y --start T --end T --tz ZONE [OPTIONS]",
      "Creates an event that you organise and prints it (--json: the Event).\n"
      S_EVENT_DRAFT_HELP },
    { "event update", s_cmd_event_update, "event update ID [OPTIONS] [--if-version N]",
      "Changes the options given, the rest stays as it is, and prints the\n"
      "event as it is now.  Changing any of --lat, --lon, --address, --venue\n"
      "(the location), --price, --amount, --currency, --invite-only,\n"
      "--min-points, --min-rating or --image reads the event first and keeps\n"
      "the parts not given; the change is then made only if the event has not\n"
      "changed since (else FAILED_PRECONDITION: run it again).\n"
      S_EVENT_DRAFT_HELP
      "  --image \"\"                  removes all images\n"
      "  --if-version N              change only version N of the event\n" },
    { "event cancel", s_cmd_event_cancel, "event cancel ID",
      "Cancels an event you organise: it leaves search, RSVPs end.\n" },
    { "event show", s_cmd_event_show, "event show ID",
      "Shows an event: its times in its own zone and in UTC, place, price,\n"
      "attendance, and your RSVP.  A private event you are not invited to\n"
      "is NOT_FOUND.\n" },
    { "event nearby", s_cmd_event_nearby, "event nearby --lat X --lon Y [--radius R] [OPTIONS]",
      "Finds events near a point; one line per event: distance, start (in\n"
      "the event's zone), title, id.  Filters combine (all must hold).\n"
      "  --lat X --lon Y             the point, in degrees\n"
      "  --radius R                  5km, 800m or 5000 (metres); 1 m to 200 km\n"
      "                              (default 5km)\n"
      "  --category A,B,...          any of these categories; repeatable\n"
      "  --tag T                     with this tag; repeatable (all of them)\n"
      "  --when W                    today, tomorrow, this-weekend or next-7-days,\n"
      "                              in each event's own zone\n"
      "  --from T --to T             overlapping this window (RFC 3339)\n"
      "  --price P                   free, paid or donation\n"
      "  --max-price A               at most this price, e.g. 20.00\n"
      "  --currency CUR              the currency of --max-price, for its decimals\n"
      "  --free-spots                only events with seats left\n"
      "  --text \"WORDS\"              all words in title, description or tags\n"
      "  --sort S                    distance (default), start or relevance\n"
      "  --limit N                   events per page, 1 to 200 (default 20)\n"
      "  --cursor C                  the next page, as the last one said\n" },
    { "event rsvp", s_cmd_event_rsvp, "event rsvp ID going|interested",
      "Says you are going or interested.  Going to a full event puts you on\n"
      "its waitlist; you move up as seats free.\n" },
    { "event withdraw", s_cmd_event_withdraw, "event withdraw ID",
      "Takes your RSVP back (and your place on the waitlist).\n" },
    { "event invite", s_cmd_event_invite, "event invite ID USER_ID...",
      "Invites users to an event you organise: they may see it when it is\n"
      "private and go when it is invite-only.\n" },
    { "event attendees", s_cmd_event_attendees,
      "event attendees ID [--state S] [--limit N] [--cursor C]",
      "Lists who answered an event.\n"
      "  --state S       going (default), interested or waitlisted (in queue order)\n"
      "  --limit N       per page, 1 to 200 (default 50)\n"
      "  --cursor C      the next page, as the last one said\n" },
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
