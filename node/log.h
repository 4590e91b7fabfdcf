/*  node/log.h — one line per event, in logfmt, with a level.
 *
 *      ts=2026-11-24T15:18:02.123Z level=info comp=store msg="opened" path=var/flow
 *
 *  `msg` is quoted and escaped by the logger.  The FIELDS format is
 *  printf-style text of further key=value pairs written by the caller; a
 *  value that may hold spaces, quotes or bytes from outside the node goes
 *  through fl_log_quote() first.  Each line is written with a single
 *  write(2), so lines from different threads never interleave.  Lines go to
 *  stderr unless fl_log_open() names a file.
 */
#ifndef FL_LOG_H
#define FL_LOG_H

#include <stddef.h>

typedef enum {
    FL_LOG_DEBUG,
    FL_LOG_INFO,
    FL_LOG_WARN,
    FL_LOG_ERROR,
} fl_log_level_t;

/*  Parses "debug", "info", "warn" or "error".  Returns 0 or FL_E_INVAL.  */
int fl_log_level_parse(const char *text, fl_log_level_t *level_p);

const char *fl_log_level_name(fl_log_level_t level);

/*  Lines below LEVEL are dropped.  Default: info.  */
void fl_log_set_level(fl_log_level_t level);

/*  Appends to PATH instead of stderr.  Errors: a negated errno.  */
int fl_log_open(const char *path);

void fl_log(fl_log_level_t level, const char *comp, const char *msg,
            const char *fields, ...) __attribute__((format(printf, 4, 5)));

/*  Writes VALUE into BUF as a logfmt value: bare when it is a plain token,
 *  otherwise double-quoted with \" \\ \n escaped and other control or
 *  non-ASCII bytes as \xHH; truncated (ending in "...") to fit CAP.
 *  Returns BUF.  */
const char *fl_log_quote(char *buf, size_t cap, const char *value, size_t len);

#define fl_debug(comp, msg, ...) fl_log(FL_LOG_DEBUG, comp, msg, __VA_ARGS__)
#define fl_info(comp, msg, ...)  fl_log(FL_LOG_INFO, comp, msg, __VA_ARGS__)
#define fl_warn(comp, msg, ...)  fl_log(FL_LOG_WARN, comp, msg, __VA_ARGS__)
#define fl_error(comp, msg, ...) fl_log(FL_LOG_ERROR, comp, msg, __VA_ARGS__)

#endif
