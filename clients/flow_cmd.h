/*  clients/flow_cmd.h — what the files of `flow` share; internal to it.
 *
 *  flow_cli.c holds main(), the global options, the command table and
 *  dispatch.  The commands of each noun live in a file of their own
 *  (flow_node.c: ping, info, watch; flow_account.c; flow_profile.c;
 *  flow_event.c), which exports nothing but its handlers, declared at
 *  the end.  Declared before them is what more than one of those files
 *  needs: the context a command runs with, the option parser that also
 *  takes the global options (flow_cli.c), the connection and the stored
 *  session (flow_session.c), and the output contract (flow_output.c).
 *
 *  A handler parses all its options, the global ones included (they are
 *  accepted after the command name too), before it connects, so a --node
 *  after the command counts.  It reports its own failure through
 *  fl_cli_fail() or the helpers here and returns its exit code.
 */
#ifndef FL_FLOW_CMD_H
#define FL_FLOW_CMD_H

#include "clients/cli.h"
#include "clients/credentials.h"
#include "clients/libflow.h"

#include <getopt.h>
#include <stdbool.h>
#include <stddef.h>

typedef struct {
    const char *endpoint;       /*  --node, else $FLOW_NODE; NULL: neither  */
    bool json;
    int timeout_ms;             /*  0: not given  */
    bool help;
} fl_cmd_globals_t;

/*  What a command runs with.  FLOW is made by fl_session_connect() once
 *  the command's options are parsed; CREDENTIALS are loaded by commands
 *  that need a signed-in user, or made by the ones that sign in.  */
typedef struct {
    fl_cmd_globals_t g;
    flow_t *flow;
    fl_credentials_t *credentials;
    bool save_failed;           /*  a new session could not be stored  */
    char save_error[512];
} fl_cmd_ctx_t;

typedef int (fl_cmd_fn)(fl_cmd_ctx_t *ctx, int argc, char **argv);

/*  ---------------------------------------------------------------------
 *  Options (flow_cli.c)
 */

/*  The getopt_long values of the global options; a file numbers its
 *  commands' own options from FL_OPT_COMMAND.  */
enum { FL_OPT_NODE = 1000, FL_OPT_JSON, FL_OPT_TIMEOUT, FL_OPT_COMMAND };

/*  Ends every command's option array, so the global options are
 *  accepted after the command name too.  */
#define FL_GLOBAL_OPTIONS                                                 \
    { "node", required_argument, NULL, FL_OPT_NODE },                     \
    { "json", no_argument, NULL, FL_OPT_JSON },                           \
    { "timeout", required_argument, NULL, FL_OPT_TIMEOUT },               \
    { "help", no_argument, NULL, 'h' }

/*  A command's own option OPT (ARG its value, which points into argv and
 *  may be changed in place), applied to its STATE.  Returns 0, or an
 *  exit code after a report.  */
typedef int (fl_cmd_option_fn)(int opt, const char *arg, void *state);

/*  Parses a command's options: OPTIONS (ending with FL_GLOBAL_OPTIONS),
 *  its own given to ON_OPTION, the global ones applied to CTX.  OPTIONS
 *  and ON_OPTION are NULL for a command with no options of its own.
 *  SHORTOPTS "+" stops at the first argument, "" lets options follow
 *  arguments; optind is then the first argument.  Returns 0, or an exit
 *  code after a report.  */
int fl_cmd_parse(fl_cmd_ctx_t *ctx, int argc, char **argv, const char *shortopts,
                 const struct option *options, fl_cmd_option_fn *on_option, void *state);

/*  Splits the list option TEXT at commas, in place, into *VALUES_P
 *  (freeing what was there); items are trimmed and empty ones dropped,
 *  so "" is the empty list.  Only the array is allocated.  Returns 0, or
 *  an exit code after a report (out of memory).  */
int fl_cmd_split(char *text, char ***values_p, size_t *n_p);

/*  ---------------------------------------------------------------------
 *  The connection and the stored session (flow_session.c)
 */

/*  Makes CTX's client: the node is --node or $FLOW_NODE, else the node
 *  of CTX's credentials, else the default.  With credentials, every new
 *  session libflow takes (sign-up, login, a refresh) is stored in the
 *  credentials file, and a failure to store it kept in CTX (see
 *  fl_output_save_failed).  Commands that need no user call this
 *  directly.  Returns 0, or an exit code after a report.  */
int fl_session_connect(fl_cmd_ctx_t *ctx);

/*  For commands of a signed-in user: loads the stored session and
 *  connects with it.  Returns 0, or an exit code after a report
 *  (UNAUTHENTICATED when there is no usable session).  */
int fl_session_connect_signed_in(fl_cmd_ctx_t *ctx);

/*  ---------------------------------------------------------------------
 *  Output (flow_output.c)
 */

/*  Reports a libflow call that returned STATUS, with libflow's message;
 *  returns FL_CLI_EXIT_FAIL.  */
int fl_output_failed(fl_cmd_ctx_t *ctx, flow_status_t status);

/*  Reports that a new session could not be stored; returns
 *  FL_CLI_EXIT_FAIL.  */
int fl_output_save_failed(fl_cmd_ctx_t *ctx);

/*  Prints REPLY in human text; REPLY is the message the printer is made
 *  for (its base).  */
typedef void (fl_output_fn)(const ProtobufCMessage *reply);

/*  Prints REPLY: its JSON with --json, else through PRINT; but when a
 *  new session could not be stored, only that failure.  Returns 0 or an
 *  exit code after a report.  */
int fl_output_reply(fl_cmd_ctx_t *ctx, const ProtobufCMessage *reply, fl_output_fn *print);

/*  "LABEL          a, b, c" on one line; nothing when N is 0.  */
void fl_output_list(const char *label, char **values, size_t n);

/*  ---------------------------------------------------------------------
 *  The commands, one file a noun
 */

/*  flow_node.c  */
int fl_cmd_node_ping(fl_cmd_ctx_t *ctx, int argc, char **argv);
int fl_cmd_node_info(fl_cmd_ctx_t *ctx, int argc, char **argv);
int fl_cmd_node_watch(fl_cmd_ctx_t *ctx, int argc, char **argv);

/*  flow_account.c  */
int fl_cmd_account_register(fl_cmd_ctx_t *ctx, int argc, char **argv);
int fl_cmd_account_login(fl_cmd_ctx_t *ctx, int argc, char **argv);
int fl_cmd_account_logout(fl_cmd_ctx_t *ctx, int argc, char **argv);
int fl_cmd_account_passwd(fl_cmd_ctx_t *ctx, int argc, char **argv);
int fl_cmd_account_delete(fl_cmd_ctx_t *ctx, int argc, char **argv);

/*  flow_profile.c  */
int fl_cmd_profile_show(fl_cmd_ctx_t *ctx, int argc, char **argv);
int fl_cmd_profile_set(fl_cmd_ctx_t *ctx, int argc, char **argv);

/*  flow_event.c  */
int fl_cmd_event_create(fl_cmd_ctx_t *ctx, int argc, char **argv);
int fl_cmd_event_update(fl_cmd_ctx_t *ctx, int argc, char **argv);
int fl_cmd_event_cancel(fl_cmd_ctx_t *ctx, int argc, char **argv);
int fl_cmd_event_show(fl_cmd_ctx_t *ctx, int argc, char **argv);
int fl_cmd_event_nearby(fl_cmd_ctx_t *ctx, int argc, char **argv);
int fl_cmd_event_rsvp(fl_cmd_ctx_t *ctx, int argc, char **argv);
int fl_cmd_event_withdraw(fl_cmd_ctx_t *ctx, int argc, char **argv);
int fl_cmd_event_invite(fl_cmd_ctx_t *ctx, int argc, char **argv);
int fl_cmd_event_attendees(fl_cmd_ctx_t *ctx, int argc, char **argv);
int fl_cmd_event_checkin(fl_cmd_ctx_t *ctx, int argc, char **argv);
int fl_cmd_event_rate(fl_cmd_ctx_t *ctx, int argc, char **argv);
int fl_cmd_event_review(fl_cmd_ctx_t *ctx, int argc, char **argv);
int fl_cmd_event_reviews(fl_cmd_ctx_t *ctx, int argc, char **argv);
int fl_cmd_event_history(fl_cmd_ctx_t *ctx, int argc, char **argv);

#endif
