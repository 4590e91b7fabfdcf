/*  clients/cli.h — what the command lines `flow` and `flowctl` share.
 *
 *  Both programs keep one output contract, relied on by scripts and
 *  tests: results go to stdout (human text, or with --json the reply body
 *  as one line of JSON made by pbjson); a failure prints exactly one line
 *  on stderr, "<program>: <STATUS_NAME>: <message>", and exits
 *  FL_CLI_EXIT_FAIL, or FL_CLI_EXIT_USAGE for a usage error.  The reports,
 *  the JSON printer and the small parsers and formatters both programs
 *  need live here, so the two cannot drift apart.
 *
 *  The program name in those lines is process-wide state: main() calls
 *  fl_cli_init() once, before anything can report.
 */
#ifndef FL_CLI_H
#define FL_CLI_H

#include <stddef.h>
#include <stdint.h>

#include "clients/libflow.h"

#define FL_CLI_EXIT_FAIL  1
#define FL_CLI_EXIT_USAGE 2

/*  Names the program in every report ("flow", "flowctl").  PROGRAM is not
 *  copied and must outlive the process's reports; a string literal does.  */
void fl_cli_init(const char *program);

/*  Prints "<program>: <STATUS_NAME>: <message>" on stderr, the message
 *  made from FORMAT (cut to 511 bytes), and returns CODE.  */
int fl_cli_fail(int code, flow_status_t status, const char *format, ...)
    __attribute__((format(printf, 3, 4)));

/*  Reports a usage error as INVALID_ARGUMENT with a pointer to
 *  "<program> --help" and returns FL_CLI_EXIT_USAGE.  */
int fl_cli_usage_error(const char *format, ...) __attribute__((format(printf, 1, 2)));

/*  The usage error for the option getopt_long() just refused (opterr 0):
 *  an unknown option or one without its value.  */
int fl_cli_bad_option(int argc, char **argv);

/*  Prints MESSAGE as one line of JSON on stdout and flushes it.  Returns
 *  0, or FL_CLI_EXIT_FAIL after reporting INTERNAL when the message
 *  cannot be rendered (out of memory, a string that is not UTF-8).  */
int fl_cli_print_json(const ProtobufCMessage *message);

/*  "session" for FLOW__ACTOR__ACTOR_SESSION, the number when the actor is
 *  unknown; written into BUF (CAP bytes, cut to fit) and returned.  */
const char *fl_cli_actor_name(Flow__Actor actor, char *buf, size_t cap);

/*  UPTIME_MS as "1d 02h 03m 04s", written into BUF (CAP bytes, cut to
 *  fit; 32 always fit) and returned.  */
const char *fl_cli_uptime(uint64_t uptime_ms, char *buf, size_t cap);

/*  The int TEXT spells in decimal when it is 1 to INT_MAX and nothing
 *  else; otherwise -1.  */
int fl_cli_parse_positive(const char *text);

#endif
