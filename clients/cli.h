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

#include <stdbool.h>
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

/*  The lower-case name of enum VALUE without PREFIX: "organizer" for
 *  FLOW__ROLE__ROLE_ORGANIZER with prefix "ROLE_"; the number when
 *  DESCRIPTOR does not know VALUE.  Written into BUF (CAP bytes, cut to
 *  fit) and returned.  */
const char *fl_cli_enum_name(const ProtobufCEnumDescriptor *descriptor, const char *prefix,
                             int value, char *buf, size_t cap);

/*  The value of the enum member TEXT names, with or without PREFIX, in
 *  any case ("organizer", "ROLE_ORGANIZER").  Returns false for a name
 *  DESCRIPTOR does not have and for its 0 member ("unspecified"), which
 *  is never a choice.  */
bool fl_cli_enum_parse(const ProtobufCEnumDescriptor *descriptor, const char *prefix,
                       const char *text, int *value_p);

/*  "session" for FLOW__ACTOR__ACTOR_SESSION, the number when the actor is
 *  unknown; written into BUF (CAP bytes, cut to fit) and returned.  */
const char *fl_cli_actor_name(Flow__Actor actor, char *buf, size_t cap);

/*  SECONDS since the epoch as "2024-05-01 12:00:00 UTC", written into
 *  BUF (CAP bytes, cut to fit; 32 always fit) and returned.  */
const char *fl_cli_time(uint64_t seconds, char *buf, size_t cap);

/*  UPTIME_MS as "1d 02h 03m 04s", written into BUF (CAP bytes, cut to
 *  fit; 32 always fit) and returned.  */
const char *fl_cli_uptime(uint64_t uptime_ms, char *buf, size_t cap);

/*  The int TEXT spells in decimal when it is 1 to INT_MAX and nothing
 *  else; otherwise -1.  */
int fl_cli_parse_positive(const char *text);

/*  Both command tables name a command by one word ("status") or by a
 *  noun and a verb ("user role").  How many of the ARGC words at ARGV
 *  name the command NAME: 1 or 2, or 0 when they name another.  */
int fl_cli_command_words(const char *name, int argc, char **argv);

/*  Whether the command NAME is a verb of the noun NOUN ("user role" of
 *  "user").  */
bool fl_cli_command_has_noun(const char *name, const char *noun);

/*  Passwords never longer than this (bytes, without the newline).  */
#define FL_CLI_PASSWORD_MAX 1024

/*  Reads a password into BUF (at least FL_CLI_PASSWORD_MAX + 1 bytes).
 *  With FROM_STDIN: the next line of stdin, without its line end.  Else
 *  from the terminal (/dev/tty, so stdin and stdout stay free for data):
 *  PROMPT is written there and the line is read with echo off.  The
 *  terminal's settings come back on every path; SIGINT, SIGTERM, SIGHUP
 *  and SIGQUIT while reading restore them and then take their usual
 *  course.  Returns 0, or an exit code after a report: no terminal, end
 *  of input, an empty password or one longer than FL_CLI_PASSWORD_MAX.
 *  The caller wipes BUF with fl_cli_wipe() when done.  */
int fl_cli_read_password(const char *prompt, bool from_stdin, char *buf);

/*  Overwrites LEN bytes at BUF with zeros in a way the compiler keeps.  */
void fl_cli_wipe(void *buf, size_t len);

#endif
