/*  cluster/ring.h — who owns which partition: an immutable snapshot.
 *
 *  A ring maps each of P partitions to its owner node at one epoch.  It is
 *  built once and never changed; a change of ownership is a new ring with
 *  a higher epoch, which the handoff thread publishes (fl_node_ring).
 *  Routing reads a snapshot, so handlers never see ownership change under
 *  them.
 *
 *  A partition this node owns may be *fenced*: it is moving to another
 *  node, which is taking its last changes.  A fenced partition is not
 *  local (nothing here serves it), and its owner is still this node.
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

/*  The ring of a cluster: partition p is owned by IDS[OWNER[p]] (NIDS ids,
 *  each shorter than 64 bytes; OWNER has PARTITIONS entries, each < NIDS).
 *  FENCED (PARTITIONS flags, or NULL) marks partitions of LOCAL_ID that
 *  are fenced.  LOCAL_ID need not be among the ids.  NULL on no memory or
 *  a bad argument.  */
fl_ring_t *fl_ring_new(const char *local_id, uint32_t partitions, uint64_t epoch,
                       const char *const *ids, size_t nids, const uint16_t *owner,
                       const bool *fenced);

/*  Marks member NODE_ID down (no answer to the leader's health checks):
 *  only while the ring is built, before it is published.  A node the ring
 *  does not know is ignored.  Returns -1 on no memory.  */
int fl_ring_mark_down(fl_ring_t *self, const char *node_id);

/*  True when NODE_ID is a member the ring marks down.  */
bool fl_ring_is_down(const fl_ring_t *self, const char *node_id);

/*  True when the owner of PARTITION is marked down.  */
bool fl_ring_owner_down(const fl_ring_t *self, uint32_t partition);

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

/*  True when this node owns PARTITION and has fenced it.  */
bool fl_ring_is_fenced(const fl_ring_t *self, uint32_t partition);

/*  How many partitions this node owns (fenced ones included).  */
uint32_t fl_ring_owned(const fl_ring_t *self);

/*  The distinct owners of the ring's partitions, in the ring's order:
 *  *N_P (at most MAX) ids, valid while the ring lives.  */
void fl_ring_owners(const fl_ring_t *self, const char **ids, size_t max, size_t *n_p);

#endif
