/*  clients/flow_node.c — the commands about the node itself: ping, info
 *  and watch.
 *
 *  None needs a signed-in user: they connect without a session
 *  (fl_session_connect), so they work before any account exists and
 *  show whether the node answers at all.  watch is the one command that
 *  waits for the node instead of asking it: it ends after --count
 *  pushes, on Ctrl-C, or at the end of --timeout, which for an open
 *  ended watch is a normal end.
 */
#include "clients/flow_cmd.h"

#include <czmq.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

enum { S_OPT_ACTOR = FL_OPT_COMMAND, S_OPT_KEY, S_OPT_COUNT };

/*  ---------------------------------------------------------------------
 *  ping
 */

/*  An actor by its name, in any case, with or without "ACTOR_".  */
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

int
fl_cmd_node_ping(fl_cmd_ctx_t *ctx, int argc, char **argv)
{
    static const struct option options[] = {
        { "actor", required_argument, NULL, S_OPT_ACTOR },
        { "key", required_argument, NULL, S_OPT_KEY },
        FL_GLOBAL_OPTIONS, { NULL, 0, NULL, 0 }
    };
    s_ping_args_t args = { FLOW__ACTOR__ACTOR_UNSPECIFIED, "" };
    int rc = fl_cmd_parse(ctx, argc, argv, "+", options, s_ping_option, &args);
    if (rc != 0)
        return rc;
    if (optind < argc)
        return fl_cli_usage_error("ping takes no argument '%s'", argv[optind]);
    rc = fl_session_connect(ctx);
    if (rc != 0)
        return rc;
    flow_pong_t pong;
    int64_t start = zclock_usecs();
    flow_status_t status = flow_ping(ctx->flow, args.actor, args.key, strlen(args.key), &pong);
    if (status != FLOW_OK)
        return fl_output_failed(ctx, status);
    return s_ping_print(&pong, zclock_usecs() - start, ctx->g.json);
}

/*  ---------------------------------------------------------------------
 *  info
 */

static void
s_info_print(const ProtobufCMessage *message)
{
    const Flow__InfoReply *info = (const Flow__InfoReply *) message;
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

int
fl_cmd_node_info(fl_cmd_ctx_t *ctx, int argc, char **argv)
{
    int rc = fl_cmd_parse(ctx, argc, argv, "+", NULL, NULL, NULL);
    if (rc != 0)
        return rc;
    if (optind < argc)
        return fl_cli_usage_error("info takes no argument '%s'", argv[optind]);
    rc = fl_session_connect(ctx);
    if (rc != 0)
        return rc;
    Flow__InfoReply *info = NULL;
    flow_status_t status = flow_info(ctx->flow, &info);
    if (status != FLOW_OK)
        return fl_output_failed(ctx, status);
    rc = fl_output_reply(ctx, &info->base, s_info_print);
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
s_watch_end(fl_cmd_ctx_t *ctx, flow_status_t status, int seen, int count)
{
    if (zsys_interrupted)
        return 0;
    if (status != FLOW_DEADLINE_EXCEEDED)
        return fl_output_failed(ctx, status);
    if (count == 0)
        return 0;
    return fl_cli_fail(FL_CLI_EXIT_FAIL, status, "%d of %d pushes arrived within %d ms",
                       seen, count, ctx->g.timeout_ms);
}

static int
s_watch(fl_cmd_ctx_t *ctx, const char *const *topics, size_t n, int count)
{
    int64_t deadline = ctx->g.timeout_ms ? zclock_mono() + ctx->g.timeout_ms : -1;
    flow_status_t status = flow_subscribe(ctx->flow, topics, n);
    if (status != FLOW_OK)
        return fl_output_failed(ctx, status);
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

int
fl_cmd_node_watch(fl_cmd_ctx_t *ctx, int argc, char **argv)
{
    static const struct option options[] = {
        { "count", required_argument, NULL, S_OPT_COUNT },
        FL_GLOBAL_OPTIONS, { NULL, 0, NULL, 0 }
    };
    int count = 0;
    int rc = fl_cmd_parse(ctx, argc, argv, "", options, s_watch_option, &count);
    if (rc != 0)
        return rc;
    if (optind >= argc)
        return fl_cli_usage_error("watch wants at least one TOPIC");
    rc = fl_session_connect(ctx);
    if (rc != 0)
        return rc;
    return s_watch(ctx, (const char *const *) argv + optind, (size_t) (argc - optind), count);
}
