/*  clients/flow_session.c — the connection a `flow` command runs on and
 *  the session it keeps between runs.
 *
 *  `account register` and `account login` store the session they get in
 *  the credentials file (clients/credentials.h); every command of a
 *  signed-in user loads it, hands the tokens to libflow and stores
 *  whatever new session libflow reports through flow_on_session() (a
 *  refresh of an expired token), so the next run has it.  Its node is
 *  the stored one unless --node or $FLOW_NODE names another.
 *
 *  The session callback cannot report: a failure to store is kept in
 *  the context, and the command reports it (fl_output_save_failed) in
 *  place of its result.
 */
#include "clients/flow_cmd.h"

#include <stdio.h>

/*  libflow took a new session (sign-up, login, or a refresh of an expired
 *  token): store it, so the next run has it.  */
static void
s_on_session(flow_t *flow, const Flow__SessionReply *session, void *arg)
{
    fl_cmd_ctx_t *ctx = arg;
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

int
fl_session_connect(fl_cmd_ctx_t *ctx)
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

int
fl_session_connect_signed_in(fl_cmd_ctx_t *ctx)
{
    char error[512];
    int rc = fl_credentials_load(&ctx->credentials, error, sizeof error);
    if (rc > 0)
        return fl_cli_fail(FL_CLI_EXIT_FAIL, FLOW_UNAUTHENTICATED,
                           "not signed in (flow account login)");
    if (rc < 0)
        return fl_cli_fail(FL_CLI_EXIT_FAIL, FLOW_UNAUTHENTICATED,
                           "%s; sign in again (flow account login)", error);
    rc = fl_session_connect(ctx);
    if (rc != 0)
        return rc;
    if (flow_set_session(ctx->flow, ctx->credentials->access_token,
                         ctx->credentials->refresh_token) != FLOW_OK)
        return fl_output_failed(ctx, FLOW_INTERNAL);
    return 0;
}
