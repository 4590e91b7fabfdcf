/*  clients/flow_account.c — `flow account ...`: register, login, logout,
 *  passwd and delete.
 *
 *  register and login start a session and store it (flow_session.c);
 *  logout and delete end it and remove the credentials file, also when
 *  the node says the session is already over, so the user is signed out
 *  either way.  Human output never shows a token; --json of register and
 *  login prints the session, tokens included, because scripts need
 *  them.  Passwords are read from the terminal without echo (twice when
 *  one is chosen), or one line each from stdin with --password-stdin,
 *  and wiped after use.
 */
#include "clients/flow_cmd.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

enum { S_OPT_EMAIL = FL_OPT_COMMAND, S_OPT_NAME, S_OPT_PASSWORD_STDIN, S_OPT_YES };

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

/*  Options of an account command (OPTIONS NULL: none of its own), which
 *  takes no arguments.  */
static int
s_parse_account(fl_cmd_ctx_t *ctx, int argc, char **argv, const struct option *options,
                s_account_args_t *args)
{
    int rc = fl_cmd_parse(ctx, argc, argv, "", options, s_account_option, args);
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

/*  For register and login: a new session, stored when it arrives.  */
static int
s_connect_to_sign_in(fl_cmd_ctx_t *ctx, const char *email)
{
    ctx->credentials = fl_credentials_new();
    if (!ctx->credentials || fl_credentials_set(&ctx->credentials->email, email) != 0)
        return fl_cli_fail(FL_CLI_EXIT_FAIL, FLOW_INTERNAL, "out of memory");
    return fl_session_connect(ctx);
}

/*  The end of register and login: the session is stored by now (see
 *  fl_session_connect).  Human output never shows a token.  */
static int
s_print_signed_in(fl_cmd_ctx_t *ctx, const Flow__SessionReply *session)
{
    if (ctx->save_failed)
        return fl_output_save_failed(ctx);
    if (ctx->g.json)
        return fl_cli_print_json(&session->base);
    printf("signed in as %s (%s)\n", ctx->credentials->email, session->user_id);
    return 0;
}

/*  Runs sign-up (NAME set) or login with the password in PASSWORD.  */
static int
s_sign_in_with(fl_cmd_ctx_t *ctx, const s_account_args_t *args, const char *password)
{
    int rc = s_connect_to_sign_in(ctx, args->email);
    if (rc != 0)
        return rc;
    Flow__SessionReply *session = NULL;
    flow_status_t status = args->name
        ? flow_sign_up(ctx->flow, args->email, password, args->name, &session)
        : flow_login(ctx->flow, args->email, password, &session);
    if (status != FLOW_OK)
        return fl_output_failed(ctx, status);
    rc = s_print_signed_in(ctx, session);
    flow__session_reply__free_unpacked(session, NULL);
    return rc;
}

/*  Register (NAME set: the password is a new one) or login, with the
 *  password read now and wiped after.  */
static int
s_sign_in(fl_cmd_ctx_t *ctx, const s_account_args_t *args)
{
    char password[FL_CLI_PASSWORD_MAX + 1];
    int rc = args->name
        ? s_new_password(args->password_stdin, "password: ", "password again: ", password)
        : fl_cli_read_password("password: ", args->password_stdin, password);
    if (rc == 0)
        rc = s_sign_in_with(ctx, args, password);
    fl_cli_wipe(password, sizeof password);
    return rc;
}

int
fl_cmd_account_register(fl_cmd_ctx_t *ctx, int argc, char **argv)
{
    static const struct option options[] = {
        { "email", required_argument, NULL, S_OPT_EMAIL },
        { "name", required_argument, NULL, S_OPT_NAME },
        { "password-stdin", no_argument, NULL, S_OPT_PASSWORD_STDIN },
        FL_GLOBAL_OPTIONS, { NULL, 0, NULL, 0 }
    };
    s_account_args_t args = { NULL, NULL, false, false };
    int rc = s_parse_account(ctx, argc, argv, options, &args);
    if (rc != 0)
        return rc;
    if (!args.email || !args.name)
        return fl_cli_usage_error("account register wants --email and --name");
    return s_sign_in(ctx, &args);
}

int
fl_cmd_account_login(fl_cmd_ctx_t *ctx, int argc, char **argv)
{
    static const struct option options[] = {
        { "email", required_argument, NULL, S_OPT_EMAIL },
        { "password-stdin", no_argument, NULL, S_OPT_PASSWORD_STDIN },
        FL_GLOBAL_OPTIONS, { NULL, 0, NULL, 0 }
    };
    s_account_args_t args = { NULL, NULL, false, false };
    int rc = s_parse_account(ctx, argc, argv, options, &args);
    if (rc != 0)
        return rc;
    if (!args.email)
        return fl_cli_usage_error("account login wants --email");
    return s_sign_in(ctx, &args);
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
s_print_done(fl_cmd_ctx_t *ctx, const char *format, ...) __attribute__((format(printf, 2, 3)));

static int
s_print_done(fl_cmd_ctx_t *ctx, const char *format, ...)
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
int
fl_cmd_account_logout(fl_cmd_ctx_t *ctx, int argc, char **argv)
{
    s_account_args_t args = { NULL, NULL, false, false };
    int rc = s_parse_account(ctx, argc, argv, NULL, &args);
    if (rc == 0)
        rc = fl_session_connect_signed_in(ctx);
    if (rc != 0)
        return rc;
    flow_status_t status = flow_logout(ctx->flow);
    if (status != FLOW_OK && status != FLOW_UNAUTHENTICATED)
        return fl_output_failed(ctx, status);
    rc = s_forget_credentials();
    if (rc != 0)
        return rc;
    const char *who = ctx->credentials->email ? ctx->credentials->email : "";
    return s_print_done(ctx, "signed out %s\n", who);
}

int
fl_cmd_account_passwd(fl_cmd_ctx_t *ctx, int argc, char **argv)
{
    static const struct option options[] = {
        { "password-stdin", no_argument, NULL, S_OPT_PASSWORD_STDIN },
        FL_GLOBAL_OPTIONS, { NULL, 0, NULL, 0 }
    };
    s_account_args_t args = { NULL, NULL, false, false };
    int rc = s_parse_account(ctx, argc, argv, options, &args);
    if (rc == 0)
        rc = fl_session_connect_signed_in(ctx);
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
        rc = status == FLOW_OK ? 0 : fl_output_failed(ctx, status);
    }
    fl_cli_wipe(old_password, sizeof old_password);
    fl_cli_wipe(new_password, sizeof new_password);
    if (rc != 0)
        return rc;
    if (ctx->save_failed)
        return fl_output_save_failed(ctx);
    return s_print_done(ctx, "password changed\n");
}

int
fl_cmd_account_delete(fl_cmd_ctx_t *ctx, int argc, char **argv)
{
    static const struct option options[] = {
        { "password-stdin", no_argument, NULL, S_OPT_PASSWORD_STDIN },
        { "yes", no_argument, NULL, S_OPT_YES },
        FL_GLOBAL_OPTIONS, { NULL, 0, NULL, 0 }
    };
    s_account_args_t args = { NULL, NULL, false, false };
    int rc = s_parse_account(ctx, argc, argv, options, &args);
    if (rc != 0)
        return rc;
    if (!args.yes)
        return fl_cli_usage_error("account delete removes the account for good; "
                                  "pass --yes to confirm");
    rc = fl_session_connect_signed_in(ctx);
    if (rc != 0)
        return rc;
    char password[FL_CLI_PASSWORD_MAX + 1];
    rc = fl_cli_read_password("password: ", args.password_stdin, password);
    if (rc == 0) {
        flow_status_t status = flow_delete_account(ctx->flow, password);
        rc = status == FLOW_OK ? 0 : fl_output_failed(ctx, status);
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
