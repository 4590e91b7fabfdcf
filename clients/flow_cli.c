/*  clients/flow_cli.c — `flow`, the user command line of Flow.
 *
 *      flow [--node EP] [--json] [--timeout MS] COMMAND [OPTIONS] [ARGS]
 *
 *  Commands are declared as data (s_commands): a name ("ping", later
 *  "noun verb"), a handler, its usage and help; main() parses the global
 *  options, finds the command and hands it the rest.  Global options are
 *  also accepted after the command name.
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
#include "clients/libflow.h"

#include <czmq.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    const char *endpoint;
    bool json;
    int timeout_ms;             /*  0: not given  */
    bool help;
} s_globals_t;

typedef int (s_command_fn)(flow_t *flow, const s_globals_t *globals, int argc, char **argv);

typedef struct {
    const char *name;
    s_command_fn *run;
    const char *usage;
    const char *help;
} s_command_t;

static int
s_call_failed(flow_t *flow, flow_status_t status)
{
    return fl_cli_fail(FL_CLI_EXIT_FAIL, status, "%s", flow_error(flow));
}

/*  ---------------------------------------------------------------------
 *  Options
 */

enum { S_OPT_NODE = 1000, S_OPT_JSON, S_OPT_TIMEOUT, S_OPT_ACTOR, S_OPT_KEY, S_OPT_COUNT };

#define S_GLOBAL_OPTIONS                                                  \
    { "node", required_argument, NULL, S_OPT_NODE },                      \
    { "json", no_argument, NULL, S_OPT_JSON },                            \
    { "timeout", required_argument, NULL, S_OPT_TIMEOUT },                \
    { "help", no_argument, NULL, 'h' }

static const char *s_global_help =
    "  --node EP       node to talk to (default: $FLOW_NODE, else " FLOW_DEFAULT_ENDPOINT ")\n"
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

/*  Parses a command's options (its own and the global ones) and applies a
 *  --timeout given there.  SHORTOPTS "+" stops at the first argument,
 *  "" lets options follow arguments.  */
static int
s_parse_command(flow_t *flow, int argc, char **argv, const char *shortopts,
                const struct option *options, s_globals_t *globals,
                s_option_fn *on_option, void *state)
{
    int opt;
    optind = 0;
    while ((opt = getopt_long(argc, argv, shortopts, options, NULL)) != -1) {
        int rc = 0;
        if (opt == '?' || opt == ':')
            return fl_cli_bad_option(argc, argv);
        if (opt >= S_OPT_NODE && opt <= S_OPT_TIMEOUT)
            rc = s_global_option(opt, optarg, globals);
        else
            rc = on_option(opt, optarg, state);
        if (rc != 0)
            return rc;
    }
    if (globals->timeout_ms)
        flow_set_timeout(flow, globals->timeout_ms);
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
s_cmd_ping(flow_t *flow, const s_globals_t *globals, int argc, char **argv)
{
    static const struct option options[] = {
        { "actor", required_argument, NULL, S_OPT_ACTOR },
        { "key", required_argument, NULL, S_OPT_KEY },
        S_GLOBAL_OPTIONS, { NULL, 0, NULL, 0 }
    };
    s_globals_t g = *globals;
    s_ping_args_t args = { FLOW__ACTOR__ACTOR_UNSPECIFIED, "" };
    int rc = s_parse_command(flow, argc, argv, "+", options, &g, s_ping_option, &args);
    if (rc != 0)
        return rc;
    if (optind < argc)
        return fl_cli_usage_error("ping takes no argument '%s'", argv[optind]);
    flow_pong_t pong;
    int64_t start = zclock_usecs();
    flow_status_t status = flow_ping(flow, args.actor, args.key, strlen(args.key), &pong);
    if (status != FLOW_OK)
        return s_call_failed(flow, status);
    return s_ping_print(&pong, zclock_usecs() - start, g.json);
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
s_cmd_info(flow_t *flow, const s_globals_t *globals, int argc, char **argv)
{
    static const struct option options[] = { S_GLOBAL_OPTIONS, { NULL, 0, NULL, 0 } };
    s_globals_t g = *globals;
    int rc = s_parse_command(flow, argc, argv, "+", options, &g, s_no_options, NULL);
    if (rc != 0)
        return rc;
    if (optind < argc)
        return fl_cli_usage_error("info takes no argument '%s'", argv[optind]);
    Flow__InfoReply *info = NULL;
    flow_status_t status = flow_info(flow, &info);
    if (status != FLOW_OK)
        return s_call_failed(flow, status);
    if (g.json)
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
s_watch_end(flow_t *flow, const s_globals_t *g, flow_status_t status, int seen, int count)
{
    if (zsys_interrupted)
        return 0;
    if (status != FLOW_DEADLINE_EXCEEDED)
        return s_call_failed(flow, status);
    if (count == 0)
        return 0;
    return fl_cli_fail(FL_CLI_EXIT_FAIL, status, "%d of %d pushes arrived within %d ms",
                       seen, count, g->timeout_ms);
}

static int
s_watch(flow_t *flow, const s_globals_t *g, const char *const *topics, size_t n, int count)
{
    int64_t deadline = g->timeout_ms ? zclock_mono() + g->timeout_ms : -1;
    flow_status_t status = flow_subscribe(flow, topics, n);
    if (status != FLOW_OK)
        return s_call_failed(flow, status);
    for (int seen = 0; count == 0 || seen < count; seen++) {
        int wait_ms = -1;
        if (deadline >= 0) {
            int64_t left = deadline - zclock_mono();
            wait_ms = left > 0 ? (int) left : 0;
        }
        Flow__Push *push = NULL;
        status = flow_next_push(flow, &push, wait_ms);
        if (status != FLOW_OK)
            return s_watch_end(flow, g, status, seen, count);
        int rc = s_push_print(push, g->json);
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
s_cmd_watch(flow_t *flow, const s_globals_t *globals, int argc, char **argv)
{
    static const struct option options[] = {
        { "count", required_argument, NULL, S_OPT_COUNT },
        S_GLOBAL_OPTIONS, { NULL, 0, NULL, 0 }
    };
    s_globals_t g = *globals;
    int count = 0;
    int rc = s_parse_command(flow, argc, argv, "", options, &g, s_watch_option, &count);
    if (rc != 0)
        return rc;
    if (optind >= argc)
        return fl_cli_usage_error("watch wants at least one TOPIC");
    return s_watch(flow, &g, (const char *const *) argv + optind, (size_t) (argc - optind), count);
}

/*  ---------------------------------------------------------------------
 *  The command table and main
 */

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
};

#define S_N_COMMANDS (sizeof s_commands / sizeof s_commands[0])

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
    printf("\nglobal options:\n%s\n'flow COMMAND --help' describes a command.\n", s_global_help);
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
    flow_t *flow = flow_new(globals->endpoint);
    if (!flow)
        return fl_cli_fail(FL_CLI_EXIT_FAIL, FLOW_INVALID_ARGUMENT,
                           "cannot use node endpoint '%s'", globals->endpoint);
    int rc = command->run(flow, globals, argc, argv);
    flow_destroy(&flow);
    return rc;
}

int
main(int argc, char **argv)
{
    fl_cli_init("flow");
    s_globals_t globals = { getenv("FLOW_NODE"), false, 0, false };
    if (!globals.endpoint || !globals.endpoint[0])
        globals.endpoint = FLOW_DEFAULT_ENDPOINT;
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
        return fl_cli_usage_error("unknown command '%s'", argv[optind]);
    int first = optind + words - 1;
    if (globals.help || s_wants_help(argc - first, argv + first)) {
        s_print_help(command);
        return 0;
    }
    return s_run(command, &globals, argc - first, argv + first);
}
