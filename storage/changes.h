/*  storage/changes.h — what a writer's transaction changed, for replicas.
 *
 *  A data actor that keeps copies of its partitions on other nodes asks
 *  this module to capture its writes: while a change set is installed on
 *  a thread (fl_changes_capture), every put and delete that goes through
 *  storage/codec.h on that thread is recorded in it, in the order made,
 *  as (database, key, value or deletion).  The actor sends the records
 *  of each committed batch to the partition's replicas, which apply them
 *  as they are: replication is of records, not of requests, so a replica
 *  never runs a handler and cannot decide otherwise than the primary.
 *
 *  Invariants: a change set belongs to the one thread that installed it;
 *  a nested transaction that aborts takes its records back with
 *  fl_changes_truncate to the mark taken before it began.  Writes made
 *  with no change set installed (the handoff's chunks, the replicas'
 *  own applies) are not recorded.
 */
#ifndef FL_CHANGES_H
#define FL_CHANGES_H

#include <lmdb.h>
#include <stdbool.h>
#include <stddef.h>

typedef struct fl_changes_t fl_changes_t;

typedef struct {
    MDB_dbi dbi;
    MDB_val key;
    MDB_val value;                      /* mv_data NULL: the key was deleted */
} fl_change_t;

/*  A new, empty change set; NULL on no memory.  */
fl_changes_t *fl_changes_new(void);
void fl_changes_destroy(fl_changes_t **self_p);

/*  From now on this thread's puts and deletes are recorded in SELF (NULL:
 *  no longer recorded).  */
void fl_changes_capture(fl_changes_t *self);

/*  Records a put of VALUE (or, when VALUE is NULL, a deletion) of KEY in
 *  DBI, when this thread captures; called by the storage layer.  */
void fl_changes_note(MDB_dbi dbi, const MDB_val *key, const MDB_val *value);

size_t fl_changes_count(const fl_changes_t *self);
/*  The I-th record; valid until SELF changes.  */
const fl_change_t *fl_changes_get(const fl_changes_t *self, size_t i);
/*  Forgets the records from MARK (a count taken earlier) on.  */
void fl_changes_truncate(fl_changes_t *self, size_t mark);
void fl_changes_clear(fl_changes_t *self);

#endif
