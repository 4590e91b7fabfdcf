/*  clients/import.h — feeds to event drafts, for `flowctl import`.
 *
 *  Parsing happens on the operator's machine: the node only ever sees
 *  drafts (UpsertEventRequest), checked like any other.  Each entry of a
 *  feed becomes one draft with source.platform and source.external_id
 *  set, or one problem naming where it is ("line 3", "VEVENT #2 (UID
 *  x)") and why; a problem never stops the rest of the feed.  The formats
 *  are described in docs/import.md.
 */
#ifndef FL_IMPORT_H
#define FL_IMPORT_H

#include <stdbool.h>
#include <stdint.h>

#include "flow.pb-c.h"

#define FL_IMPORT_HORIZON_DAYS 90

typedef struct {
    const char *platform;       /* source.platform of every draft */
    int64_t now_s;              /* recurrences are expanded from here ... */
    int horizon_days;           /* ... this many days ahead */
    bool has_geo;               /* a location for entries without one */
    double lat, lon;
} fl_import_options_t;

/*  Called once per entry, in feed order: DRAFT (PROBLEM NULL) or PROBLEM
 *  (DRAFT NULL).  WHERE names the entry.  Both live until the call
 *  returns.  A non-zero return stops the parse and is returned.  */
typedef int (fl_import_fn)(const char *where, const Flow__EventDraft *draft,
                           const char *problem, void *arg);

/*  Parses TEXT as iCalendar (RFC 5545): every VEVENT; one with an RRULE
 *  becomes its occurrences that overlap [now, now + horizon), each with
 *  external_id UID "#" start (RFC 3339, UTC) and series_id UID.  Returns
 *  0, FN's non-zero return, or -1 when TEXT holds no calendar at all
 *  (reported through FN first).  */
int fl_import_parse_ics(const char *text, const fl_import_options_t *options,
                        fl_import_fn *fn, void *arg);

/*  Parses TEXT as JSON lines: one event object per line; blank lines are
 *  skipped.  Returns 0 or FN's non-zero return.  */
int fl_import_parse_jsonl(const char *text, const fl_import_options_t *options,
                          fl_import_fn *fn, void *arg);

#endif
