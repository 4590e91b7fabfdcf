/*  clients/libflow.h — the C client library of Flow.
 *
 *      flow_t *flow = flow_new(NULL);            // tcp://127.0.0.1:7700
 *      flow_pong_t pong;
 *      if (flow_ping(flow, FLOW__ACTOR__ACTOR_UNSPECIFIED, NULL, 0, &pong) != FLOW_OK)
 *          fprintf(stderr, "%s\n", flow_error(flow));
 *      flow_destroy(&flow);
 *
 *  A flow_t is one connection to one node: a ZeroMQ DEALER that sends one
 *  packed flow.Request per frame and receives one flow.ServerMessage per
 *  frame (proto/flow.proto).  Every call returns a flow_status_t, the
 *  values of flow.Status; flow_error() holds the message of the last call
 *  that failed.  The node's own failures come back with the status it
 *  replied; a failure to reach it is FLOW_UNAVAILABLE (cannot connect,
 *  connection lost, interrupted) or FLOW_DEADLINE_EXCEEDED (no reply in
 *  time).
 *
 *  Calls.  flow_call() sends one request and waits for the reply with the
 *  same id.  Replies to earlier calls that timed out are dropped; pushes
 *  that arrive meanwhile are queued for flow_next_push().  Idempotent
 *  requests (ping, info, subscribe, unsubscribe, get_profile, get_account,
 *  get_event, nearby, attendees, rsvp, invite, cancel_event) are retried
 *  on UNAVAILABLE and DEADLINE_EXCEEDED, with a doubling backoff, all
 *  within the caller's one total timeout: each attempt gets an equal share
 *  of what is left.  Writes that are not idempotent (logout,
 *  update_profile, set_role, create_event, update_event) go with a request
 *  key (Request.request_key: libflow picks 16 random bytes per call unless
 *  the caller set one) and are retried alike: the node applies a write
 *  with a key it has seen once, and answers the retry as it answered the
 *  first attempt, for 24 hours.  sign_up, login, refresh, change_password
 *  and delete_account are sent once: they carry credentials, which the
 *  node does not keep for a key.  When a call times out
 *  or the connection drops, the socket is closed and a new one made, so a
 *  frame queued for a dead node is never delivered late.  One of those
 *  that failed with UNAVAILABLE after the connection was up may or may not
 *  have been carried out.  RESOURCE_EXHAUSTED is never
 *  retried here: flow_retry_after_ms() tells the caller when to try again.
 *
 *  Sessions.  flow_sign_up() and flow_login() keep the session they get:
 *  its access token goes with every request that carries no token of its
 *  own, its refresh token stays with libflow.  sign_up, login and refresh
 *  themselves are always sent without the session's token.  When a
 *  request that carried the session's token is refused with
 *  UNAUTHENTICATED "token: expired", libflow trades the refresh token for
 *  a new session once and sends the request again with the new access
 *  token.  That is safe for any request, because the node refuses an
 *  expired token before it runs anything; the refresh and the second
 *  sending share what is left of the call's timeout.  Every new session
 *  (sign-up, login, refresh, by the caller or by libflow) is handed to the
 *  flow_on_session() callback, so an application can store it.
 *  flow_logout() and flow_delete_account() drop the session when they
 *  succeed.
 *
 *  Subscriptions.  flow_subscribe() adds topics to this connection;
 *  flow_next_push() returns the deliveries in order (the keepalives the
 *  node sends a quiet connection are dropped, never returned).  At most
 *  FLOW_PUSH_QUEUE_MAX pushes wait in the queue; beyond that the oldest
 *  is dropped, seen by the reader as a gap in `seq`.  The node keeps
 *  subscriptions per connection, so when the connection is lost
 *  flow_next_push() reports FLOW_UNAVAILABLE once and the next call of
 *  flow_next_push(), flow_subscribe() or flow_unsubscribe() subscribes the
 *  new connection to the same topics again (seq starts again from 1).
 *
 *  Threads: a flow_t is not thread-safe; use one per thread.  libflow uses
 *  CZMQ's process-wide context, so CZMQ's SIGINT/SIGTERM handler is in
 *  place (zsys_handler_set() changes it); when it has set zsys_interrupted
 *  every wait ends with FLOW_UNAVAILABLE "interrupted".
 *
 *  Returned protobuf messages belong to the caller, freed with their
 *  generated free function and a NULL allocator, e.g.
 *  flow__reply__free_unpacked(reply, NULL).
 */
#ifndef LIBFLOW_H
#define LIBFLOW_H

#include <stddef.h>
#include <stdint.h>

#include "flow.pb-c.h"

#define FLOW_DEFAULT_ENDPOINT   "tcp://127.0.0.1:7700"
#define FLOW_PROTOCOL_VERSION   1
#define FLOW_DEFAULT_TIMEOUT_MS 5000
#define FLOW_DEFAULT_RETRIES    3
#define FLOW_PUSH_QUEUE_MAX     1024
/*  Frames larger than this from the node close the connection.  */
#define FLOW_MAX_FRAME_BYTES    (16 * 1024 * 1024)

typedef struct _flow_t flow_t;

#define FLOW_STATUS_MAP(X)      \
    X(OK, 0)                    \
    X(INVALID_ARGUMENT, 1)      \
    X(UNAUTHENTICATED, 2)       \
    X(PERMISSION_DENIED, 3)     \
    X(NOT_FOUND, 4)             \
    X(ALREADY_EXISTS, 5)        \
    X(FAILED_PRECONDITION, 6)   \
    X(RESOURCE_EXHAUSTED, 7)    \
    X(UNAVAILABLE, 8)           \
    X(DEADLINE_EXCEEDED, 9)     \
    X(INTERNAL, 10)

/*  The values of flow.Status, one for one.  */
typedef enum {
#define FLOW_STATUS_ENUM_(name, value) FLOW_##name = value,
    FLOW_STATUS_MAP(FLOW_STATUS_ENUM_)
#undef FLOW_STATUS_ENUM_
} flow_status_t;

/*  What a ping proves: which node, actor and partition answered, and at
 *  which ring epoch.  node_id is truncated to fit.  */
typedef struct {
    char node_id[128];
    Flow__Actor actor;
    uint32_t partition;
    uint64_t ring_epoch;
} flow_pong_t;

/*  A client for the node at ENDPOINT (NULL: FLOW_DEFAULT_ENDPOINT).  The
 *  connection is made in the background; a node that is not up yet is
 *  not an error here.  Returns NULL when ENDPOINT is malformed or no
 *  socket can be made.  */
flow_t *flow_new(const char *endpoint);

/*  Closes the connection, drops queued pushes, frees the client and sets
 *  *SELF_P to NULL.  Tolerates NULL and *SELF_P == NULL.  */
void flow_destroy(flow_t **self_p);

/*  Total timeout of a call that passes 0 (default FLOW_DEFAULT_TIMEOUT_MS).
 *  Values below 1 restore the default.  */
void flow_set_timeout(flow_t *self, int timeout_ms);

/*  How often an idempotent request is sent again (default
 *  FLOW_DEFAULT_RETRIES; 0 = never).  Negative values count as 0.  */
void flow_set_retries(flow_t *self, int retries);

/*  Bearer token put in every request that carries none of its own; NULL
 *  clears it.  The string is copied.  */
void flow_set_token(flow_t *self, const char *token);

const char *flow_endpoint(flow_t *self);

/*  Uses the session ACCESS_TOKEN / REFRESH_TOKEN (copied; either may be
 *  NULL) from now on: the access token replaces the token of
 *  flow_set_token(), the refresh token is what libflow trades for a new
 *  session when the access token has expired.  NULL, NULL forgets the
 *  session.  Errors: FLOW_INTERNAL when memory runs out (the session is
 *  then forgotten).  */
flow_status_t flow_set_session(flow_t *self, const char *access_token,
                               const char *refresh_token);

/*  Called with every session libflow takes: after flow_sign_up(),
 *  flow_login(), flow_refresh(), and after the refresh libflow makes on its
 *  own when an access token has expired, before the call that got it
 *  returns.  SESSION is libflow's and valid only during the callback; copy
 *  what you keep.  FN must not call libflow on SELF.  FN NULL: no
 *  callback.  */
typedef void (flow_session_fn)(flow_t *self, const Flow__SessionReply *session, void *arg);
void flow_on_session(flow_t *self, flow_session_fn *fn, void *arg);

/*  "OK", "INVALID_ARGUMENT", ... "INTERNAL"; "UNKNOWN" for other values.  */
const char *flow_status_name(flow_status_t status);

/*  The message of the last call on SELF that did not return FLOW_OK: the
 *  node's message, or one of libflow's for transport failures.  Never
 *  NULL; "" before any failure.  */
const char *flow_error(flow_t *self);

/*  When the last call that did not return FLOW_OK failed with
 *  FLOW_RESOURCE_EXHAUSTED: the node's advice in milliseconds on when a
 *  new attempt may succeed (also in flow_error(): libflow adds
 *  "(retry after N ms)" unless the node's message says so already).  0
 *  when the node gave none or the last failure was another one.  */
int flow_retry_after_ms(flow_t *self);

/*  Sends REQ, whose body the caller has set, and waits for its reply.
 *  Fills REQ's version, id and timeout_ms (the time left for the
 *  attempt).  A REQ without a token is sent with the session's (or
 *  flow_set_token()'s) token, except sign_up, login and refresh; REQ's
 *  token field is left as the caller set it.  An expired session token is
 *  refreshed as described above; a refresh that fails ends the call with
 *  the refresh's status and reply.  TIMEOUT_MS is the total budget
 *  including retries and a refresh; 0 or less takes the client's default.
 *
 *  *REPLY_P (when REPLY_P is not NULL) is set to the reply whenever one
 *  arrived, also for a status other than OK, else to NULL.  A reply with
 *  id 0 (the node could not decode the request) is taken as the answer.
 *  Returns the reply's status, or:
 *    FLOW_UNAVAILABLE        cannot connect, connection lost, send failed
 *                            or interrupted;
 *    FLOW_DEADLINE_EXCEEDED  no reply within the budget;
 *    FLOW_INTERNAL           the node sent a frame that is not a
 *                            flow.ServerMessage, or a status libflow does
 *                            not know.  */
flow_status_t flow_call(flow_t *self, Flow__Request *req, Flow__Reply **reply_p,
                        int timeout_ms);

/*  Pings ACTOR (FLOW__ACTOR__ACTOR_UNSPECIFIED: the session actor of the
 *  connected node) through the partition that KEY (KEY_LEN bytes, may be
 *  empty) hashes to.  Fills *OUT on FLOW_OK.  Errors: those of
 *  flow_call(); FLOW_INTERNAL when an OK reply has no ping body.  */
flow_status_t flow_ping(flow_t *self, Flow__Actor actor, const void *key,
                        size_t key_len, flow_pong_t *out);

/*  The node's description.  On FLOW_OK *INFO_P is set to a message the
 *  caller frees with flow__info_reply__free_unpacked(info, NULL).
 *  Errors: those of flow_call(); FLOW_INTERNAL when an OK reply has no
 *  info body.  */
flow_status_t flow_info(flow_t *self, Flow__InfoReply **info_p);

/*  Adds (or removes) N topics to this connection's subscriptions.
 *  Errors: those of flow_call(), and of the node (INVALID_ARGUMENT for a
 *  topic of an unknown family); FLOW_INTERNAL when an OK reply has no
 *  subscribe body.  */
flow_status_t flow_subscribe(flow_t *self, const char *const *topics, size_t n);
flow_status_t flow_unsubscribe(flow_t *self, const char *const *topics, size_t n);

/*  The topics this connection follows, as the node last confirmed them;
 *  valid until the next call on SELF.  */
const char *const *flow_topics(flow_t *self, size_t *n_p);

/*  The next push, oldest first: a queued one at once, else the next to
 *  arrive within TIMEOUT_MS (below 0: no limit; 0: do not wait).  On
 *  FLOW_OK *PUSH_P is set to a message the caller frees with
 *  flow__push__free_unpacked(push, NULL); else to NULL.  Replies that
 *  arrive meanwhile are late answers to calls that gave up; they are
 *  dropped.  Errors:
 *    FLOW_DEADLINE_EXCEEDED  nothing arrived in time;
 *    FLOW_UNAVAILABLE        the connection was lost (reported once; see
 *                            above) or interrupted;
 *    FLOW_INTERNAL           the node sent a frame that is not a
 *                            flow.ServerMessage;
 *    the errors of flow_subscribe() when it subscribes a new connection.  */
flow_status_t flow_next_push(flow_t *self, Flow__Push **push_p, int timeout_ms);

/*  ---------------------------------------------------------------------
 *  Accounts.  Each call returns the reply's status, or one of those of
 *  flow_call(), or FLOW_INTERNAL when an OK reply lacks its body.  Of
 *  the node's statuses the usual ones are: INVALID_ARGUMENT (a malformed
 *  email, a password under 10 characters, a field out of range),
 *  UNAUTHENTICATED (wrong email or password, no or a revoked session),
 *  ALREADY_EXISTS (sign-up with an email in use), NOT_FOUND (no such
 *  user), RESOURCE_EXHAUSTED (too many attempts; see
 *  flow_retry_after_ms()).  None of them but flow_get_profile() is ever
 *  sent twice.  Replies go to *OUT only on FLOW_OK (else *OUT is NULL);
 *  the caller frees them with flow__session_reply__free_unpacked(out,
 *  NULL) or flow__profile__free_unpacked(out, NULL).  */

/*  Creates an account and signs in: the session is kept (see Sessions).  */
flow_status_t flow_sign_up(flow_t *self, const char *email, const char *password,
                           const char *display_name, Flow__SessionReply **out);

/*  Signs in; the session is kept.  */
flow_status_t flow_login(flow_t *self, const char *email, const char *password,
                         Flow__SessionReply **out);

/*  Trades REFRESH_TOKEN (NULL: the one libflow holds) for a new session,
 *  which is kept.  Errors also: FLOW_INVALID_ARGUMENT when there is no
 *  refresh token to trade.  */
flow_status_t flow_refresh(flow_t *self, const char *refresh_token, Flow__SessionReply **out);

/*  Ends the session on the node; on FLOW_OK libflow forgets it.  */
flow_status_t flow_logout(flow_t *self);

flow_status_t flow_change_password(flow_t *self, const char *old_password,
                                   const char *new_password);

/*  Deletes the signed-in account, PASSWORD confirming it; on FLOW_OK
 *  libflow forgets the session.  */
flow_status_t flow_delete_account(flow_t *self, const char *password);

/*  The profile of USER (a user id or an email; NULL or "": the signed-in
 *  user) as the signed-in user may see it.  */
flow_status_t flow_get_profile(flow_t *self, const char *user, Flow__Profile **out);

/*  Applies CHANGES (only its present fields; see UpdateProfileRequest in
 *  flow.proto) to the signed-in user's profile; *OUT is the result.  */
flow_status_t flow_update_profile(flow_t *self, const Flow__UpdateProfileRequest *changes,
                                  Flow__Profile **out);

/*  ---------------------------------------------------------------------
 *  Events and discovery (docs/events.md).  Each call returns the reply's
 *  status, or one of those of flow_call(), or FLOW_INTERNAL when an OK
 *  reply lacks its body.  Of the node's statuses the usual ones are:
 *  INVALID_ARGUMENT (a malformed id, a field out of range; the message
 *  names the field), UNAUTHENTICATED (not signed in), PERMISSION_DENIED
 *  (changing an event that is not yours), NOT_FOUND (no such event, and
 *  alike a private event you may not see), FAILED_PRECONDITION (a
 *  cancelled or past event, an if_version the event has moved on from, a
 *  requirement you do not meet).  get, nearby, attendees, rsvp, invite
 *  and cancel are sent again on UNAVAILABLE and DEADLINE_EXCEEDED, create
 *  and update never.  Replies go to *OUT only on FLOW_OK (else *OUT is
 *  NULL); the caller frees them with flow__event__free_unpacked(out,
 *  NULL), flow__nearby_reply__free_unpacked(),
 *  flow__rsvp_reply__free_unpacked() or
 *  flow__attendees_reply__free_unpacked().  Arguments are not kept.  */

/*  Creates an event from DRAFT, organised by the signed-in user; *OUT is
 *  the event with its id.  */
flow_status_t flow_event_create(flow_t *self, const Flow__EventDraft *draft, Flow__Event **out);

/*  Sets the N_FIELDS fields FIELDS names (EventDraft field names:
 *  "title", "location", "capacity", ...) to their values in CHANGES;
 *  the others stay as they are.  Composite fields (location, pricing,
 *  requirements, media, source) are replaced whole.  IF_VERSION 0
 *  changes any version, else FAILED_PRECONDITION when the event is no
 *  longer at IF_VERSION.  *OUT is the event after the change.  */
flow_status_t flow_event_update(flow_t *self, const char *id, const Flow__EventDraft *changes,
                                const char *const *fields, size_t n_fields,
                                uint64_t if_version, Flow__Event **out);

/*  Cancels event ID (cancelling a cancelled event is no error); *OUT is
 *  the event, status EVENT_CANCELLED.  */
flow_status_t flow_event_cancel(flow_t *self, const char *id, Flow__Event **out);

/*  Event ID as the signed-in user sees it, with that user's RSVP.  */
flow_status_t flow_event_get(flow_t *self, const char *id, Flow__Event **out);

/*  One page of the events QUERY finds; the next page is the same query
 *  with cursor set to the reply's next_cursor.  */
flow_status_t flow_nearby(flow_t *self, const Flow__NearbyRequest *query,
                          Flow__NearbyReply **out);

/*  Sets the signed-in user's RSVP to event EVENT_ID: RSVP_GOING (which
 *  lands on the waitlist when the event is full), RSVP_INTERESTED, or
 *  RSVP_NONE to withdraw.  *OUT says where the user landed.  */
flow_status_t flow_rsvp(flow_t *self, const char *event_id, Flow__RsvpState state,
                        Flow__RsvpReply **out);

/*  Invites the N users USER_IDS to event EVENT_ID (yours); an invited
 *  user may see a private event and go to an invite-only one.  */
flow_status_t flow_invite(flow_t *self, const char *event_id, const char *const *user_ids,
                          size_t n, Flow__Event **out);

/*  One page of the users with RSVP STATE (RSVP_NONE: going) to event
 *  EVENT_ID: LIMIT of them (0: the node's default), after CURSOR (NULL
 *  or "": from the start; else the next_cursor of the page before).  */
flow_status_t flow_attendees(flow_t *self, const char *event_id, Flow__RsvpState state,
                             uint32_t limit, const char *cursor, Flow__AttendeesReply **out);

/*  The organizer (or a moderator or admin) marks USER_ID, who is going,
 *  as present at event EVENT_ID: from 2 hours before the start until the
 *  end.  *OUT is the event.  */
flow_status_t flow_check_in(flow_t *self, const char *event_id, const char *user_id,
                            Flow__Event **out);

/*  The organizer rates USER_ID, checked in at event EVENT_ID, with STARS
 *  (1-5) after the start; rating again replaces.  *OUT is the event.  */
flow_status_t flow_rate_attendee(flow_t *self, const char *event_id, const char *user_id,
                                 uint32_t stars, Flow__Event **out);

/*  The signed-in user, checked in at event EVENT_ID, reviews it: STARS
 *  (1-5) and TEXT (NULL or up to 2000 characters); sending again edits
 *  the review.  *OUT is the review (flow__review__free_unpacked).  */
flow_status_t flow_review(flow_t *self, const char *event_id, uint32_t stars, const char *text,
                          Flow__Review **out);

/*  One page of the reviews of event EVENT_ID, as flow_attendees pages
 *  (flow__reviews_reply__free_unpacked).  */
flow_status_t flow_reviews(flow_t *self, const char *event_id, uint32_t limit,
                           const char *cursor, Flow__ReviewsReply **out);

/*  One page of the signed-in user's events, past ones included, as
 *  flow_attendees pages (flow__history_reply__free_unpacked).  */
flow_status_t flow_history(flow_t *self, uint32_t limit, const char *cursor,
                           Flow__HistoryReply **out);

/*  For tests of the node's input checks: sends LEN bytes as one frame,
 *  as they are.  Errors: FLOW_UNAVAILABLE when the frame cannot be
 *  queued.  */
flow_status_t flow_send_raw(flow_t *self, const void *bytes, size_t len);

/*  For tests: the next frame from the node, decoded, bypassing the push
 *  queue; TIMEOUT_MS as for flow_next_push().  On FLOW_OK *MSG_P is set
 *  to a message freed with flow__server_message__free_unpacked(msg,
 *  NULL).  Errors: as for flow_next_push().  */
flow_status_t flow_recv_raw(flow_t *self, Flow__ServerMessage **msg_p, int timeout_ms);

#endif
