/*  clients/flow_cli.c — `flow`, the user command line of Flow: main(),
 *  the global options and the command table.
 *
 *      flow [--node EP] [--json] [--timeout MS] COMMAND [OPTIONS] [ARGS]
 *
 *  Commands are declared as data (s_commands): a name ("ping" or "noun
 *  verb", like "account login"), a handler, its usage and help; main()
 *  parses the global options, finds the command and hands it the rest.
 *  The handlers live in one file a noun (flow_cmd.h says which).  Global
 *  options are also accepted after the command name: each handler parses
 *  its options through fl_cmd_parse(), which applies the global ones
 *  here, so it has them all before it connects.
 *
 *  Every handler reports its own failure and returns its exit code; what
 *  reaches stdout and stderr is the contract of flow_output.c and
 *  clients/cli.h.  A new session that could not be stored fails the run
 *  even when the command itself succeeded (s_run).
 */
#include "clients/flow_cmd.h"

#include <ctype.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    const char *name;
    fl_cmd_fn *run;
    const char *usage;
    const char *help;
} s_command_t;

/*  ---------------------------------------------------------------------
 *  Options
 */

static const char *s_global_help =
    "  --node EP       node to talk to (default: $FLOW_NODE, else the node of the\n"
    "                  stored session, else " FLOW_DEFAULT_ENDPOINT ")\n"
    "  --json          print the reply body as JSON\n"
    "  --timeout MS    total time for the command (default: 5000 per call)\n"
    "  --help          this help\n";

static const struct option s_global_options[] = { FL_GLOBAL_OPTIONS, { NULL, 0, NULL, 0 } };

/*  Applies a global option; returns 0, or an exit code after a report.  */
static int
s_global_option(int opt, const char *arg, fl_cmd_globals_t *globals)
{
    if (opt == 'h')
        globals->help = true;
    else if (opt == FL_OPT_NODE)
        globals->endpoint = arg;
    else if (opt == FL_OPT_JSON)
        globals->json = true;
    else if (opt == FL_OPT_TIMEOUT) {
        globals->timeout_ms = fl_cli_parse_positive(arg);
        if (globals->timeout_ms < 0)
            return fl_cli_usage_error("--timeout wants milliseconds above 0, not '%s'", arg);
    }
    return 0;
}

int
fl_cmd_parse(fl_cmd_ctx_t *ctx, int argc, char **argv, const char *shortopts,
             const struct option *options, fl_cmd_option_fn *on_option, void *state)
{
    int opt;
    optind = 0;
    if (!options)
        options = s_global_options;
    while ((opt = getopt_long(argc, argv, shortopts, options, NULL)) != -1) {
        int rc = 0;
        if (opt == '?' || opt == ':')
            return fl_cli_bad_option(argc, argv);
        if (opt >= FL_OPT_NODE && opt <= FL_OPT_TIMEOUT)
            rc = s_global_option(opt, optarg, &ctx->g);
        else if (on_option)
            rc = on_option(opt, optarg, state);
        if (rc != 0)
            return rc;
    }
    return 0;
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

int
fl_cmd_split(char *text, char ***values_p, size_t *n_p)
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
    { "ping", fl_cmd_node_ping, "ping [--actor NAME] [--key KEY]",
      "Checks that the node answers.  With --actor, the ping takes the path a\n"
      "request of that actor takes: KEY is hashed to its partition and the\n"
      "owner's actor answers.\n"
      "  --actor NAME    session, user, event, geo, recommend or notify\n"
      "  --key KEY       routing key (default: empty)\n" },
    { "info", fl_cmd_node_info, "info",
      "Shows the node's id, version, uptime, partitions and actors.\n" },
    { "watch", fl_cmd_node_watch, "watch TOPIC... [--count N]",
      "Subscribes to the topics and prints pushes as they arrive, until N\n"
      "pushes (then exit 0), Ctrl-C, the node closing the connection or the\n"
      "end of --timeout.  With --count, ending by --timeout is a failure.\n"
      "Topics: node (notices about this node).\n"
      "  --count N       stop after N pushes\n" },
    { "account register", fl_cmd_account_register,
      "account register --email EMAIL --name NAME [--password-stdin]",
      "Creates an account and signs in.  The password (at least 10 characters)\n"
      "is asked twice on the terminal.  The session is stored in the\n"
      "credentials file (see 'flow --help').  --json prints the session,\n"
      "tokens included.\n"
      "  --email EMAIL   the account's email\n"
      "  --name NAME     the name others see\n"
      S_PASSWORD_HELP },
    { "account login", fl_cmd_account_login, "account login --email EMAIL [--password-stdin]",
      "Signs in and stores the session.  --json prints the session, tokens\n"
      "included.\n"
      "  --email EMAIL   the account's email\n"
      S_PASSWORD_HELP },
    { "account logout", fl_cmd_account_logout, "account logout",
      "Ends the stored session on the node and removes the credentials file.\n" },
    { "account passwd", fl_cmd_account_passwd, "account passwd [--password-stdin]",
      "Changes the password: asks for the current one, then the new one\n"
      "twice.  With --password-stdin, stdin holds the current password on\n"
      "one line and the new one on the next.\n"
      S_PASSWORD_HELP },
    { "account delete", fl_cmd_account_delete, "account delete --yes [--password-stdin]",
      "Deletes the signed-in account for good, its password confirming it,\n"
      "and removes the credentials file.\n"
      "  --yes           confirms; without it nothing happens\n"
      S_PASSWORD_HELP },
    { "profile show", fl_cmd_profile_show, "profile show [EMAIL|USER_ID]",
      "Shows a profile as you may see it (default: your own).  Fields hidden\n"
      "from you are left out.\n" },
    { "profile set", fl_cmd_profile_set, "profile set [OPTIONS]",
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
    { "event create", fl_cmd_event_create,
      "event create --title T --category C --lat X --lon Y --start T --end T --tz ZONE [OPTIONS]",
      "Creates an event that you organise and prints it (--json: the Event).\n"
      S_EVENT_DRAFT_HELP },
    { "event update", fl_cmd_event_update, "event update ID [OPTIONS] [--if-version N]",
      "Changes the options given, the rest stays as it is, and prints the\n"
      "event as it is now.  Changing any of --lat, --lon, --address, --venue\n"
      "(the location), --price, --amount, --currency, --invite-only,\n"
      "--min-points, --min-rating or --image reads the event first and keeps\n"
      "the parts not given; the change is then made only if the event has not\n"
      "changed since (else FAILED_PRECONDITION: run it again).\n"
      S_EVENT_DRAFT_HELP
      "  --image \"\"                  removes all images\n"
      "  --if-version N              change only version N of the event\n" },
    { "event cancel", fl_cmd_event_cancel, "event cancel ID",
      "Cancels an event you organise: it leaves search, RSVPs end.\n" },
    { "event show", fl_cmd_event_show, "event show ID",
      "Shows an event: its times in its own zone and in UTC, place, price,\n"
      "attendance, and your RSVP.  A private event you are not invited to\n"
      "is NOT_FOUND.\n" },
    { "event nearby", fl_cmd_event_nearby, "event nearby --lat X --lon Y [--radius R] [OPTIONS]",
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
    { "event rsvp", fl_cmd_event_rsvp, "event rsvp ID going|interested",
      "Says you are going or interested.  Going to a full event puts you on\n"
      "its waitlist; you move up as seats free.\n" },
    { "event withdraw", fl_cmd_event_withdraw, "event withdraw ID",
      "Takes your RSVP back (and your place on the waitlist).\n" },
    { "event invite", fl_cmd_event_invite, "event invite ID USER_ID...",
      "Invites users to an event you organise: they may see it when it is\n"
      "private and go when it is invite-only.\n" },
    { "event attendees", fl_cmd_event_attendees,
      "event attendees ID [--state S] [--limit N] [--cursor C]",
      "Lists who answered an event.\n"
      "  --state S       going (default), interested or waitlisted (in queue order)\n"
      "  --limit N       per page, 1 to 200 (default 50)\n"
      "  --cursor C      the next page, as the last one said\n" },
    { "event checkin", fl_cmd_event_checkin, "event checkin ID USER_ID",
      "Marks a user who is going as present at an event you organise, from 2\n"
      "hours before the start until the end.\n" },
    { "event rate", fl_cmd_event_rate, "event rate ID USER_ID STARS",
      "Rates an attendee you checked in, 1 to 5 stars, after the start; rating\n"
      "again replaces.  The stars make the user's attendee rating.\n" },
    { "event review", fl_cmd_event_review, "event review ID --stars N [--text T]",
      "Reviews an event you were checked in at: 1 to 5 stars and up to 2000\n"
      "characters; reviewing again edits your review.\n" },
    { "event reviews", fl_cmd_event_reviews, "event reviews ID [--limit N] [--cursor C]",
      "Lists the reviews of an event.\n"
      "  --limit N       per page, 1 to 200 (default 50)\n"
      "  --cursor C      the next page, as the last one said\n" },
    { "event history", fl_cmd_event_history, "event history [--limit N] [--cursor C]",
      "Lists your events, past ones included: organising, going, interested or\n"
      "waitlisted, checked in, and your rating as an attendee.\n"
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
    bool any = false;
    for (size_t i = 0; i < S_N_COMMANDS; i++) {
        if (!fl_cli_command_has_noun(s_commands[i].name, noun))
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
        *words_p = fl_cli_command_words(s_commands[i].name, argc, argv);
        if (*words_p > 0)
            return &s_commands[i];
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
    bool noun = false;
    for (size_t i = 0; i < S_N_COMMANDS && !noun; i++)
        noun = fl_cli_command_has_noun(s_commands[i].name, argv[0]);
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
s_parse_globals(int argc, char **argv, fl_cmd_globals_t *globals)
{
    int opt;
    while ((opt = getopt_long(argc, argv, "+h", s_global_options, NULL)) != -1) {
        if (opt == '?' || opt == ':')
            return fl_cli_bad_option(argc, argv);
        if (s_global_option(opt, optarg, globals) != 0)
            return FL_CLI_EXIT_USAGE;
    }
    return 0;
}

static int
s_run(const s_command_t *command, const fl_cmd_globals_t *globals, int argc, char **argv)
{
    fl_cmd_ctx_t ctx;
    memset(&ctx, 0, sizeof ctx);
    ctx.g = *globals;
    int rc = command->run(&ctx, argc, argv);
    if (rc == 0 && ctx.save_failed)
        rc = fl_output_save_failed(&ctx);
    flow_destroy(&ctx.flow);
    fl_credentials_destroy(&ctx.credentials);
    return rc;
}

int
main(int argc, char **argv)
{
    fl_cli_init("flow");
    fl_cmd_globals_t globals = { getenv("FLOW_NODE"), false, 0, false };
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
