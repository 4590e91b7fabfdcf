/*  clients/cli.c — the reports, printers and parsers `flow` and `flowctl`
 *  share; the contract they keep is in cli.h.
 *
 *  Messages are formatted into a buffer before anything is written, so a
 *  report is one fprintf and reaches stderr as one line.
 *
 *  Passwords from the terminal: echo is turned off on /dev/tty for one
 *  line and must come back whatever happens.  Normal paths restore it
 *  before returning; the signals that end a program at a prompt (SIGINT,
 *  SIGTERM, SIGHUP, SIGQUIT) get a handler for the duration of the read
 *  that restores the terminal, after which the signal is raised again
 *  under the handler that was there before, so it ends the program (or
 *  sets CZMQ's interrupt flag) as it would have.  The handler is
 *  installed without SA_RESTART so read() returns at once.
 */
#include "clients/cli.h"
#include "clients/pbjson.h"

#include <assert.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

static const char *s_program;

void
fl_cli_init(const char *program)
{
    assert(program);
    s_program = program;
}

int
fl_cli_fail(int code, flow_status_t status, const char *format, ...)
{
    assert(s_program);
    char message[512];
    va_list args;
    va_start(args, format);
    vsnprintf(message, sizeof message, format, args);
    va_end(args);
    fprintf(stderr, "%s: %s: %s\n", s_program, flow_status_name(status), message);
    return code;
}

int
fl_cli_usage_error(const char *format, ...)
{
    assert(s_program);
    char message[256];
    va_list args;
    va_start(args, format);
    vsnprintf(message, sizeof message, format, args);
    va_end(args);
    return fl_cli_fail(FL_CLI_EXIT_USAGE, FLOW_INVALID_ARGUMENT, "%s (see %s --help)",
                       message, s_program);
}

int
fl_cli_bad_option(int argc, char **argv)
{
    const char *what = optind - 1 < argc ? argv[optind - 1] : "?";
    return fl_cli_usage_error("unknown option or missing value: %s", what);
}

/*  Flushed because `flow watch` prints pushes as they come and a reader
 *  at the other end of a pipe must see each one when it arrives.  */
int
fl_cli_print_json(const ProtobufCMessage *message)
{
    json_t *json = fl_pbjson_from_message(message);
    char *text = json ? json_dumps(json, JSON_COMPACT) : NULL;
    json_decref(json);
    if (!text)
        return fl_cli_fail(FL_CLI_EXIT_FAIL, FLOW_INTERNAL, "cannot render the reply as JSON");
    printf("%s\n", text);
    free(text);
    fflush(stdout);
    return 0;
}

const char *
fl_cli_enum_name(const ProtobufCEnumDescriptor *descriptor, const char *prefix, int value,
                 char *buf, size_t cap)
{
    const ProtobufCEnumValue *member = protobuf_c_enum_descriptor_get_value(descriptor, value);
    if (!member) {
        snprintf(buf, cap, "%d", value);
        return buf;
    }
    const char *name = member->name;
    size_t prefix_len = strlen(prefix);
    if (strncmp(name, prefix, prefix_len) == 0)
        name += prefix_len;
    size_t i = 0;
    for (; name[i] && i + 1 < cap; i++)
        buf[i] = (char) tolower((unsigned char) name[i]);
    buf[i] = 0;
    return buf;
}

bool
fl_cli_enum_parse(const ProtobufCEnumDescriptor *descriptor, const char *prefix,
                  const char *text, int *value_p)
{
    char name[128];
    size_t prefix_len = strlen(prefix);
    bool prefixed = strncasecmp(text, prefix, prefix_len) == 0;
    int len = snprintf(name, sizeof name, "%s%s", prefixed ? "" : prefix, text);
    if (len < 0 || (size_t) len >= sizeof name)
        return false;
    for (char *c = name; *c; c++)
        *c = (char) toupper((unsigned char) *c);
    const ProtobufCEnumValue *member =
        protobuf_c_enum_descriptor_get_value_by_name(descriptor, name);
    if (!member || member->value == 0)
        return false;
    *value_p = member->value;
    return true;
}

const char *
fl_cli_actor_name(Flow__Actor actor, char *buf, size_t cap)
{
    return fl_cli_enum_name(&flow__actor__descriptor, "ACTOR_", (int) actor, buf, cap);
}

const char *
fl_cli_time(uint64_t seconds, char *buf, size_t cap)
{
    time_t t = seconds > (uint64_t) INT64_MAX ? (time_t) INT64_MAX : (time_t) seconds;
    struct tm tm;
    if (!gmtime_r(&t, &tm) || strftime(buf, cap, "%Y-%m-%d %H:%M:%S UTC", &tm) == 0)
        snprintf(buf, cap, "%" PRIu64, seconds);
    return buf;
}

const char *
fl_cli_uptime(uint64_t uptime_ms, char *buf, size_t cap)
{
    uint64_t s = uptime_ms / 1000;
    snprintf(buf, cap, "%" PRIu64 "d %02" PRIu64 "h %02" PRIu64 "m %02" PRIu64 "s",
             s / 86400, s / 3600 % 24, s / 60 % 60, s % 60);
    return buf;
}

int
fl_cli_parse_positive(const char *text)
{
    char *end;
    long value = strtol(text, &end, 10);
    if (*end || end == text || value < 1 || value > INT_MAX)
        return -1;
    return (int) value;
}

int
fl_cli_command_words(const char *name, int argc, char **argv)
{
    const char *space = strchr(name, ' ');
    if (!space)
        return strcmp(name, argv[0]) == 0 ? 1 : 0;
    if (argc > 1 && fl_cli_command_has_noun(name, argv[0]) && strcmp(space + 1, argv[1]) == 0)
        return 2;
    return 0;
}

bool
fl_cli_command_has_noun(const char *name, const char *noun)
{
    size_t len = strlen(noun);
    return strncmp(name, noun, len) == 0 && name[len] == ' ';
}

void
fl_cli_wipe(void *buf, size_t len)
{
    sodium_memzero(buf, len);
}

/*  Drops a line end ("\n" or "\r\n") from the LEN bytes at LINE.  */
static size_t
s_chomp(char *line, size_t len)
{
    if (len > 0 && line[len - 1] == '\n')
        line[--len] = 0;
    if (len > 0 && line[len - 1] == '\r')
        line[--len] = 0;
    return len;
}

static int
s_check_password(const char *buf, size_t len, bool too_long)
{
    if (too_long)
        return fl_cli_fail(FL_CLI_EXIT_FAIL, FLOW_INVALID_ARGUMENT,
                           "password longer than %d bytes", FL_CLI_PASSWORD_MAX);
    if (len == 0 || !buf[0])
        return fl_cli_fail(FL_CLI_EXIT_FAIL, FLOW_INVALID_ARGUMENT, "empty password");
    return 0;
}

/*  One line of stdin; characters past FL_CLI_PASSWORD_MAX are read and
 *  dropped, so the next line is the next password.  */
static int
s_password_from_stdin(char *buf)
{
    size_t len = 0;
    bool too_long = false;
    int c = EOF;
    while ((c = getchar()) != EOF && c != '\n') {
        if (len < FL_CLI_PASSWORD_MAX)
            buf[len++] = (char) c;
        else
            too_long = true;
    }
    buf[len] = 0;
    if (c == EOF && len == 0)
        return fl_cli_fail(FL_CLI_EXIT_FAIL, FLOW_INVALID_ARGUMENT,
                           "no password on stdin (one line each)");
    len = s_chomp(buf, len);
    return s_check_password(buf, len, too_long);
}

static const int s_tty_signals[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT };
#define S_N_TTY_SIGNALS (sizeof s_tty_signals / sizeof s_tty_signals[0])

static int s_tty_fd = -1;
static struct termios s_tty_saved;
static volatile sig_atomic_t s_tty_signal;

static void
s_tty_on_signal(int sig)
{
    tcsetattr(s_tty_fd, TCSANOW, &s_tty_saved);
    s_tty_signal = sig;
}

/*  Reads up to the newline with echo off; returns the length, or -1 when
 *  a signal or an error ended the read (errno says which).  */
static ssize_t
s_tty_read_line(char *buf, bool *too_long_p)
{
    size_t len = 0;
    for (;;) {
        char c;
        ssize_t n = read(s_tty_fd, &c, 1);
        if (n < 0 && errno == EINTR && !s_tty_signal)
            continue;
        if (n < 0 || s_tty_signal)
            return -1;
        if (n == 0 || c == '\n')
            break;
        if (len < FL_CLI_PASSWORD_MAX)
            buf[len++] = c;
        else
            *too_long_p = true;
    }
    buf[len] = 0;
    return (ssize_t) s_chomp(buf, len);
}

static int
s_password_from_tty(const char *prompt, char *buf)
{
    s_tty_fd = open("/dev/tty", O_RDWR | O_CLOEXEC);
    if (s_tty_fd < 0 || tcgetattr(s_tty_fd, &s_tty_saved) != 0) {
        if (s_tty_fd >= 0)
            close(s_tty_fd);
        s_tty_fd = -1;
        return fl_cli_usage_error("no terminal to read the password from; pass --password-stdin");
    }
    struct sigaction on_signal, before[S_N_TTY_SIGNALS];
    memset(&on_signal, 0, sizeof on_signal);
    on_signal.sa_handler = s_tty_on_signal;
    sigemptyset(&on_signal.sa_mask);
    s_tty_signal = 0;
    for (size_t i = 0; i < S_N_TTY_SIGNALS; i++)
        sigaction(s_tty_signals[i], &on_signal, &before[i]);
    struct termios quiet = s_tty_saved;
    quiet.c_lflag &= (tcflag_t) ~(ECHO | ECHONL);
    ssize_t w = write(s_tty_fd, prompt, strlen(prompt));
    (void) w;
    bool too_long = false;
    ssize_t len = -1;
    int err = 0;
    if (tcsetattr(s_tty_fd, TCSAFLUSH, &quiet) == 0) {
        len = s_tty_read_line(buf, &too_long);
        err = errno;
    }
    else
        err = errno;
    tcsetattr(s_tty_fd, TCSAFLUSH, &s_tty_saved);
    w = write(s_tty_fd, "\n", 1);
    close(s_tty_fd);
    s_tty_fd = -1;
    for (size_t i = 0; i < S_N_TTY_SIGNALS; i++)
        sigaction(s_tty_signals[i], &before[i], NULL);
    if (s_tty_signal) {
        buf[0] = 0;
        raise(s_tty_signal);
        return fl_cli_fail(FL_CLI_EXIT_FAIL, FLOW_UNAVAILABLE, "interrupted");
    }
    if (len < 0)
        return fl_cli_fail(FL_CLI_EXIT_FAIL, FLOW_INVALID_ARGUMENT,
                           "cannot read the password from the terminal: %s", strerror(err));
    return s_check_password(buf, (size_t) len, too_long);
}

int
fl_cli_read_password(const char *prompt, bool from_stdin, char *buf)
{
    assert(prompt && buf);
    buf[0] = 0;
    if (from_stdin)
        return s_password_from_stdin(buf);
    return s_password_from_tty(prompt, buf);
}
