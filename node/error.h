/*  node/error.h — the one table of internal error codes.
 *
 *  Storage and network boundaries return 0 on success or one of these
 *  negative codes; fl_strerror() and fl_err_name() are generated from the
 *  same table, so a code, its name and its text never drift apart.  Client
 *  facing errors are a different thing: a flow.Status plus a message
 *  (proto/flow.proto).
 */
#ifndef FL_ERROR_H
#define FL_ERROR_H

#define FL_ERRNO_MAP(X)                                                   \
    X(INVAL,    "invalid argument")                                       \
    X(NOMEM,    "out of memory")                                          \
    X(IO,       "input/output error")                                     \
    X(NOTFOUND, "not found")                                              \
    X(EXISTS,   "already exists")                                         \
    X(SCHEMA,   "data directory was written by a newer schema version")   \
    X(CORRUPT,  "stored record cannot be decoded")                        \
    X(MAPFULL,  "storage map is full and may not grow further")           \
    X(LOCKED,   "data directory is in use by another process")            \
    X(TOOBIG,   "message exceeds the size limit")                         \
    X(TIMEDOUT, "timed out")                                              \
    X(BUSY,     "queue is full")                                          \
    X(CLOSED,   "closed")                                                 \
    X(EXPIRED,  "expired")                                                \
    X(DENIED,   "not authentic")                                          \
    X(REFUSED,  "refused by the peer")

typedef enum {
    FL_E_BASE_ = -1000,
#define FL_ERR_ENUM_(name, text) FL_E_##name,
    FL_ERRNO_MAP(FL_ERR_ENUM_)
#undef FL_ERR_ENUM_
    FL_E_END_
} fl_errno_t;

/*  The text for an error code: one of the table's, or strerror() for a
 *  negated errno value.  Never NULL.  */
const char *fl_strerror(int code);

/*  The table name of an error code ("FL_E_IO"), or "FL_E_UNKNOWN".  */
const char *fl_err_name(int code);

#endif
