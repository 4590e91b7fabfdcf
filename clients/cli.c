/*  clients/cli.c — the reports, printers and parsers `flow` and `flowctl`
 *  share; the contract they keep is in cli.h.
 *
 *  Messages are formatted into a buffer before anything is written, so a
 *  report is one fprintf and reaches stderr as one line.
 */
#include "clients/cli.h"
#include "clients/pbjson.h"

#include <assert.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
fl_cli_actor_name(Flow__Actor actor, char *buf, size_t cap)
{
    const ProtobufCEnumValue *value =
        protobuf_c_enum_descriptor_get_value(&flow__actor__descriptor, actor);
    if (!value) {
        snprintf(buf, cap, "%d", (int) actor);
        return buf;
    }
    const char *name = value->name;
    if (strncmp(name, "ACTOR_", 6) == 0)
        name += 6;
    size_t i = 0;
    for (; name[i] && i + 1 < cap; i++)
        buf[i] = (char) (name[i] >= 'A' && name[i] <= 'Z' ? name[i] - 'A' + 'a' : name[i]);
    buf[i] = 0;
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
