/*  node/log.c — logfmt lines; see log.h.
 *
 *  The level and the output descriptor are process-wide and set before any
 *  thread starts; they are read with relaxed atomics afterwards.
 */
#include "node/log.h"
#include "node/error.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#define LINE_MAX_BYTES 2048

static atomic_int s_level = FL_LOG_INFO;
static atomic_int s_fd = STDERR_FILENO;

static const char *s_names[] = { "debug", "info", "warn", "error" };

int
fl_log_level_parse(const char *text, fl_log_level_t *level_p)
{
    for (int i = 0; i < (int) (sizeof s_names / sizeof s_names[0]); i++) {
        if (strcasecmp(text, s_names[i]) == 0) {
            *level_p = (fl_log_level_t) i;
            return 0;
        }
    }
    return FL_E_INVAL;
}

const char *
fl_log_level_name(fl_log_level_t level)
{
    if (level < FL_LOG_DEBUG || level > FL_LOG_ERROR)
        return "unknown";
    return s_names[level];
}

void
fl_log_set_level(fl_log_level_t level)
{
    atomic_store_explicit(&s_level, (int) level, memory_order_relaxed);
}

int
fl_log_open(const char *path)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
    if (fd < 0)
        return -errno;
    int old = atomic_exchange(&s_fd, fd);
    if (old != STDERR_FILENO)
        close(old);
    return 0;
}

static bool
s_is_bare(const char *value, size_t len)
{
    if (len == 0)
        return false;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char) value[i];
        if (c <= ' ' || c >= 0x7f || c == '"' || c == '=' || c == '\\')
            return false;
    }
    return true;
}

const char *
fl_log_quote(char *buf, size_t cap, const char *value, size_t len)
{
    if (cap < 8) {
        if (cap)
            buf[0] = '\0';
        return buf;
    }
    if (s_is_bare(value, len) && len < cap) {
        memcpy(buf, value, len);
        buf[len] = '\0';
        return buf;
    }
    size_t out = 0;
    size_t room = cap - 5;      /* closing quote, "...", NUL */
    buf[out++] = '"';
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char) value[i];
        char piece[5];
        size_t n;
        if (c == '"' || c == '\\') {
            piece[0] = '\\';
            piece[1] = (char) c;
            n = 2;
        }
        else
        if (c == '\n') {
            memcpy(piece, "\\n", 2);
            n = 2;
        }
        else
        if (c < ' ' || c >= 0x7f) {
            snprintf(piece, sizeof piece, "\\x%02x", c);
            n = 4;
        }
        else {
            piece[0] = (char) c;
            n = 1;
        }
        if (out + n > room) {
            memcpy(buf + out, "...", 3);
            out += 3;
            break;
        }
        memcpy(buf + out, piece, n);
        out += n;
    }
    buf[out++] = '"';
    buf[out] = '\0';
    return buf;
}

void
fl_log(fl_log_level_t level, const char *comp, const char *msg, const char *fields, ...)
{
    if ((int) level < atomic_load_explicit(&s_level, memory_order_relaxed))
        return;

    char line[LINE_MAX_BYTES];
    struct timespec now;
    struct tm tm;
    clock_gettime(CLOCK_REALTIME, &now);
    gmtime_r(&now.tv_sec, &tm);

    char quoted[512];
    int n = snprintf(line, sizeof line,
                     "ts=%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ level=%s comp=%s msg=%s",
                     tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                     tm.tm_hour, tm.tm_min, tm.tm_sec, now.tv_nsec / 1000000,
                     fl_log_level_name(level), comp,
                     fl_log_quote(quoted, sizeof quoted, msg, strlen(msg)));
    if (n < 0)
        return;
    size_t used = (size_t) n < sizeof line ? (size_t) n : sizeof line - 1;

    if (fields && *fields && used < sizeof line - 2) {
        line[used++] = ' ';
        va_list args;
        va_start(args, fields);
        int m = vsnprintf(line + used, sizeof line - used, fields, args);
        va_end(args);
        if (m > 0)
            used += (size_t) m < sizeof line - used ? (size_t) m : sizeof line - used - 1;
    }
    if (used >= sizeof line - 1)
        used = sizeof line - 2;
    line[used++] = '\n';

    int fd = atomic_load_explicit(&s_fd, memory_order_relaxed);
    ssize_t rc;
    do
        rc = write(fd, line, used);
    while (rc < 0 && errno == EINTR);
}
