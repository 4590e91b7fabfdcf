/*  actors/event/records.h — internal to actors/event: the helpers of
 *  event.c that review.c shares, so that every read of an event goes
 *  through one visibility rule and every write bumps one revision.
 *  Not for other actors.
 */
#ifndef FL_EVENT_RECORDS_H
#define FL_EVENT_RECORDS_H

#include "actors/event/event.h"
#include "storage/keyspace.h"

/*  The "rsvps" and "reviews" databases.  */
MDB_dbi fl_event_rsvps_db(void);
MDB_dbi fl_event_reviews_db(void);

/*  The key P | ID "/" USER (rsvps and reviews alike), in BUF.  */
MDB_val fl_event_user_key(uint8_t buf[FL_KEYSPACE_KEY_MAX], fl_call_t *call, const char *id,
                          const char *user);

/*  Reads event ID as the caller may see it.  FL_E_NOTFOUND (and the call
 *  failed NOT_FOUND) for a missing or invisible event; storage errors
 *  otherwise, for fl_event_storage().  */
int fl_event_read_visible(fl_call_t *call, const char *id, Flow__Storage__EventRecord **rec_p);

/*  Reads USER's RSVP to event ID.  FL_E_NOTFOUND when there is none,
 *  FL_E_CORRUPT, FL_E_IO.  */
int fl_event_read_rsvp(fl_call_t *call, const char *id, const char *user,
                       Flow__Storage__RsvpRecord **rec_p);

/*  Writes REC, bumping its revision, and tells the geo actor after the
 *  commit.  MDB_MAP_FULL, FL_E_TOOBIG, FL_E_IO.  */
int fl_event_write(fl_call_t *call, Flow__Storage__EventRecord *rec);

/*  A storage error RC: returns it when it aborts the batch (MAP_FULL,
 *  I/O), else fails the call INTERNAL and returns 0.  */
int fl_event_storage(fl_call_t *call, int rc);

bool fl_event_is_organizer(const Flow__Storage__EventRecord *rec,
                           const Flow__Cluster__Principal *p);

/*  True for the organizer, moderators and admins; else fails the call
 *  PERMISSION_DENIED.  */
bool fl_event_may_change(fl_call_t *call, const Flow__Storage__EventRecord *rec);

/*  Routes to the owner of event ID; INVALID_ARGUMENT when ID is not an
 *  event id.  */
Flow__Status fl_event_route(const char *id, fl_route_t *route, char *msg, size_t msglen);

/*  Writes USER's RSVP to event ID (fl_event_note included).
 *  Errors: those of fl_codec_put.  */
int fl_event_put_rsvp(fl_call_t *call, const char *id, const char *user,
                      const Flow__Storage__RsvpRecord *rec);

/*  USER's relation to the event changes in this call: fl_event_write
 *  tells their actor of it, at the new revision.  Empty USER: nobody. */
void fl_event_note(fl_call_t *call, const char *user);

/*  Called for each user record of an event in user id order; returns
 *  false to stop.  */
typedef bool (fl_event_user_visit_fn)(fl_call_t *call, const char *user, const MDB_val *value,
                                      void *arg);

/*  Visits the records of event ID in DBI (rsvps or reviews), keyed by
 *  user, that come after user AFTER ("" = from the first).  Errors: LMDB
 *  codes.  */
int fl_event_scan_users(fl_call_t *call, MDB_dbi dbi, const char *id, const char *after,
                        fl_event_user_visit_fn *visit, void *arg);

#endif
