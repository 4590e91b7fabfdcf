/*  node/requests.h — the request table: every client request, declared as
 *  data.
 *
 *  One row per request body: its name, the role it needs, whether a client
 *  may retry it blindly, whether its handler writes, its check (validates
 *  the body and names the actor and routing key) and its handler.  The
 *  session actor dispatches every request through this table in one place
 *  (actors/session/session.c: s_dispatch); an actor runs the handler of the
 *  row it is sent.  Adding a request is one row plus one handler.
 */
#ifndef FL_REQUESTS_H
#define FL_REQUESTS_H

#include <stdbool.h>
#include <stddef.h>

#include "flow.pb-c.h"
#include "node/call.h"

/*  Roles in rising order of power; the values are flow.Role's, and
 *  ANONYMOUS (no token) is below them all.  NONE marks the requests that
 *  establish credentials (sign-up, login, refresh): they ignore any token
 *  they carry, so a stale one cannot stand in the way of getting a new
 *  one.  Every other request that carries a token must carry a valid one. */
typedef enum {
    FL_ROLE_NONE = -1,
    FL_ROLE_ANONYMOUS = 0,
    FL_ROLE_USER = FLOW__ROLE__ROLE_USER,
    FL_ROLE_ORGANIZER = FLOW__ROLE__ROLE_ORGANIZER,
    FL_ROLE_MODERATOR = FLOW__ROLE__ROLE_MODERATOR,
    FL_ROLE_ADMIN = FLOW__ROLE__ROLE_ADMIN,
    FL_ROLE_INTERNAL = 100,     /* sent by actors only: refused from any client */
} fl_role_t;

/*  Where a request goes: the actor, and the key whose partition picks the
 *  owner node.  ACTOR_SESSION means the session of the receiving node
 *  answers it itself.  */
#define FL_ROUTE_KEY_MAX 256

typedef struct {
    Flow__Actor actor;
    const void *key;
    size_t key_len;
    char keybuf[FL_ROUTE_KEY_MAX];   /* for a key the check computes */
} fl_route_t;

/*  Validates the request body and fills ROUTE.  USER_ID is the verified
 *  user sending it, NULL for an anonymous request or the operator.
 *  Returns OK, or a status with a message naming the offending field
 *  written into MSG.  */
typedef Flow__Status (fl_check_fn)(const Flow__Request *req, const char *user_id,
                                   fl_route_t *route, char *msg, size_t msglen);

/*  What a handler does with storage: nothing, reads (call->txn is a read
 *  transaction, or the batch's write transaction so it sees the writes
 *  before it), or writes (call->txn is its own nested transaction inside
 *  the actor's group commit).  */
typedef enum {
    FL_ACCESS_NONE,
    FL_ACCESS_READ,
    FL_ACCESS_WRITE,
} fl_access_t;

/*  Which token buckets a request draws from (session.c: rate limits).  */
typedef enum {
    FL_RATE_NONE,           /* not limited: ping, info */
    FL_RATE_AUTH,           /* sign-up, login, refresh: per minute, strict */
    FL_RATE_REQUEST,        /* everything else: per second */
} fl_rate_t;

typedef struct {
    Flow__Request__BodyCase body;
    const char *name;
    fl_role_t role;
    bool idempotent;        /* safe to retry without a client request id */
    fl_access_t access;
    fl_rate_t rate;
    fl_check_fn *check;
    fl_handler_fn *handler;
    fl_handler_fn *resume;  /* after slow work the handler deferred; always writes */
} fl_request_def_t;

/*  The row for BODY, or NULL for a body this node does not know.  */
const fl_request_def_t *fl_requests_find(Flow__Request__BodyCase body);

/*  Whether DEF's request may carry a request key (node/applied.h): a
 *  write, other than those whose body or reply carries credentials.  */
bool fl_requests_takes_key(const fl_request_def_t *def);

/*  All rows, for metrics and status: index i is the row's metrics index. */
size_t fl_requests_count(void);
const fl_request_def_t *fl_requests_at(size_t index);
size_t fl_requests_index(const fl_request_def_t *def);

/*  The request names in table order (for the metrics registry).  */
const char *const *fl_requests_names(void);

/*  Actor names in Flow__Actor order starting at ACTOR_SESSION; index =
 *  actor - 1.  */
#define FL_ACTOR_COUNT 6
const char *fl_actor_name(Flow__Actor actor);
const char *const *fl_actor_names(void);

#endif
