/*  clients/flow_output.c — how a `flow` command's result or failure
 *  reaches the user.
 *
 *  The contract, relied on by scripts and tests: results go to stdout
 *  (human text, or with --json the reply body as one line of JSON made
 *  by pbjson); a failure prints exactly one line on stderr,
 *  "flow: <STATUS_NAME>: <message>", and exits 1 (2 for a usage error).
 *  The reports themselves are shared with flowctl (clients/cli.h); what
 *  is here is what only flow's commands need.
 *
 *  Tokens are secrets: human output never shows them.  A command whose
 *  new session could not be stored (a refresh during the command, see
 *  flow_session.c) reports that instead of printing its result.
 */
#include "clients/flow_cmd.h"

#include <stdio.h>

int
fl_output_failed(fl_cmd_ctx_t *ctx, flow_status_t status)
{
    return fl_cli_fail(FL_CLI_EXIT_FAIL, status, "%s", flow_error(ctx->flow));
}

int
fl_output_save_failed(fl_cmd_ctx_t *ctx)
{
    return fl_cli_fail(FL_CLI_EXIT_FAIL, FLOW_INTERNAL, "cannot store the session: %s",
                       ctx->save_error);
}

int
fl_output_reply(fl_cmd_ctx_t *ctx, const ProtobufCMessage *reply, fl_output_fn *print)
{
    if (ctx->save_failed)
        return fl_output_save_failed(ctx);
    if (ctx->g.json)
        return fl_cli_print_json(reply);
    print(reply);
    return 0;
}

void
fl_output_list(const char *label, char **values, size_t n)
{
    if (n == 0)
        return;
    printf("%-14s", label);
    for (size_t i = 0; i < n; i++)
        printf("%s%s", i ? ", " : " ", values[i]);
    printf("\n");
}
