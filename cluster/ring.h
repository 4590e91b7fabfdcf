/*  cluster/ring.h — who owns which partition: an immutable snapshot.
 *
 *  A ring maps each of P partitions to its owner node at one epoch.  It is
 *  built once and never changed; a new placement is a new ring with a
 *  higher epoch.  Routing reads a snapshot, so handlers never see
 *  ownership change under them.  This issue builds the one-node ring, in
 *  which the node owns every partition; the cluster work computes the
 *  placement and swaps snapshots, and the routers and handlers stay as
 *  they are.
 */
#ifndef FL_RING_H
#define FL_RING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct fl_ring_t fl_ring_t;

/*  The ring of a node alone: LOCAL_ID owns all PARTITIONS (1..65536) at
 *  EPOCH.  NULL on no memory or a bad argument.  */
fl_ring_t *fl_ring_new_single(const char *local_id, uint32_t partitions, uint64_t epoch);

/*  The ring in which OWNER_ID holds all PARTITIONS and LOCAL_ID (which may
 *  be the same node) none unless it is the owner: a node that joined a
 *  cluster before partitions are handed to it.  */
fl_ring_t *fl_ring_new_held_by(const char *local_id, const char *owner_id, uint32_t partitions,
                               uint64_t epoch);

void fl_ring_destroy(fl_ring_t **self_p);

uint32_t fl_ring_partitions(const fl_ring_t *self);
uint64_t fl_ring_epoch(const fl_ring_t *self);
const char *fl_ring_local_id(const fl_ring_t *self);

/*  The partition of a routing key.  */
uint32_t fl_ring_partition(const fl_ring_t *self, const void *key, size_t len);

/*  The node id of PARTITION's owner.  */
const char *fl_ring_owner(const fl_ring_t *self, uint32_t partition);

/*  True when this node owns PARTITION.  */
bool fl_ring_is_local(const fl_ring_t *self, uint32_t partition);

/*  How many partitions this node owns.  */
uint32_t fl_ring_owned(const fl_ring_t *self);

#endif
