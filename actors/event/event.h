/*  actors/event/event.h — events, RSVPs, capacity and waitlists.
 *
 *  The event actor is the single writer of each of its events: every
 *  change to an event, its RSVPs and its waitlist happens in that actor's
 *  group commit, one request after the other, so capacity is never
 *  exceeded however many clients race for the last seat.
 *
 *  Records, each keyed by the event's partition:
 *      events    P | event id                  EventRecord
 *      rsvps     P | event id "/" user id      RsvpRecord
 *      waitlist  P | event id "/" u64 seq (BE) WaitlistRecord (FIFO)
 *      reviews   P | event id "/" user id      ReviewRecord
 *  After each committed change the actor tells the geo actor
 *  (GeoUpdate), which keeps public upcoming events searchable.
 */
#ifndef FL_EVENT_H
#define FL_EVENT_H

#include "cluster.pb-c.h"
#include "node/call.h"
#include "node/requests.h"
#include "storage.pb-c.h"
#include "storage/store.h"

#define FL_EVENT_ID_BYTES 8              /* 16 hex characters */

/*  Opens the event actor's databases; once, before the actors start.  */
int fl_event_init(fl_store_t *store);

/*  The databases, for the geo actor's rebuild at start.  */
MDB_dbi fl_event_db(void);

/*  Who may see an event at all: a public one, anyone signed in; a
 *  private one, its organizer, invited users, moderators and admins (and
 *  the operator, VIEWER NULL).  Everything that reveals an event —
 *  get-by-id, search, attendee lists, counts — asks this one function.  */
bool fl_event_visible(const Flow__Storage__EventRecord *rec,
                      const Flow__Cluster__Principal *viewer);


fl_check_fn fl_event_check_create;
fl_check_fn fl_event_check_update;
fl_check_fn fl_event_check_id;
fl_check_fn fl_event_check_rsvp;
fl_check_fn fl_event_check_invite;
fl_check_fn fl_event_check_attendees;
fl_check_fn fl_event_check_upsert;
fl_check_fn fl_event_check_check_in;
fl_check_fn fl_event_check_rate_attendee;
fl_check_fn fl_event_check_review;
fl_check_fn fl_event_check_reviews;

fl_handler_fn fl_event_create;
fl_handler_fn fl_event_update;
fl_handler_fn fl_event_cancel;
fl_handler_fn fl_event_get;
fl_handler_fn fl_event_rsvp;
fl_handler_fn fl_event_invite;
fl_handler_fn fl_event_attendees;

/*  Attendance and reviews (review.c, docs/events.md).  Check-in: the
 *  organizer, moderators and admins mark a going user present, from 2
 *  hours before the start until the end; idempotent.  Rate attendee: the
 *  organizer, after the start, rates a checked-in user 1..5 (replacing).
 *  Review: a checked-in caller reviews 1..5 with text, once, editable;
 *  event.rating and event.reviews follow in the same transaction.  An
 *  unmet rule is FAILED_PRECONDITION naming it; the wrong caller is
 *  PERMISSION_DENIED; an invisible event is NOT_FOUND.  */
fl_handler_fn fl_event_check_in;
fl_handler_fn fl_event_rate_attendee;
fl_handler_fn fl_event_review;
fl_handler_fn fl_event_reviews;

/*  Imports (docs/import.md): creates the event of (source.platform,
 *  source.external_id) or updates it when its fields differ, answering OK
 *  with the event and "created", "updated" or "unchanged" as the message.
 *  An update bumps the version and sets source.last_sync_s; an unchanged
 *  event is not written.  FAILED_PRECONDITION when a changed entry names
 *  a cancelled event.  */
fl_handler_fn fl_event_upsert;

/*  The id of the event imported from PLATFORM with EXTERNAL_ID: the
 *  first FL_EVENT_ID_BYTES of BLAKE2b-256(platform "\0" external_id), in
 *  hex.  */
void fl_event_import_id(const char *platform, const char *external_id,
                        char id[FL_EVENT_ID_BYTES * 2 + 1]);

/*  Checks the fields of DRAFT that FIELDS names (all when N == 0), as for
 *  create (CREATE true: required fields must be present).  Returns OK or
 *  INVALID_ARGUMENT with a message naming the field.  */
Flow__Status fl_event_check_draft(const Flow__EventDraft *draft, char *const *fields, size_t n,
                                  bool create, char *msg, size_t msglen);

/*  True when CODE is an ISO 4217 currency code this node knows.  */
bool fl_event_currency_known(const char *code);

#endif
