/*  cluster/ring.h — who owns which partition: an immutable snapshot.
 *
 *  A ring maps each of P partitions to its owner node at one epoch.  It is
 *  built once and never changed; a change of ownership is a new ring with
 *  a higher epoch, which the handoff thread publishes (fl_node_ring).
 *  Routing reads a snapshot, so handlers never see ownership change under
 *  them.
 *
 *  Each partition may also have *replicas*: the other nodes that keep a
 *  copy of it (cluster/replica.c), listed after the owner, which is the
 *  partition's primary.  A node can be a replica of a partition without
 *  owning it; it serves no request for it.
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

/*  Sets the replicas of PARTITION to the N ids (N <= FL_RING_REPLICAS_MAX;
 *  ids the ring does not know yet are added): only while the ring is
 *  built, before it is published.  Returns -1 on no memory or a bad
 *  argument.  */
#define FL_RING_REPLICAS_MAX 8
int fl_ring_set_replicas(fl_ring_t *self, uint32_t partition, const char *const *ids, size_t n);
/*  The replicas of PARTITION (not its owner): up to MAX ids into IDS,
 *  valid while the ring lives; returns how many.  */
size_t fl_ring_replicas(const fl_ring_t *self, uint32_t partition, const char **ids, size_t max);
/*  True when this node is a replica of PARTITION.  */
bool fl_ring_is_replica(const fl_ring_t *self, uint32_t partition);
/*  True when PARTITION has at least one replica.  */
bool fl_ring_has_replicas(const fl_ring_t *self, uint32_t partition);
/*  Marks the partitions of this node that PROMOTING (PARTITIONS flags)
 *  flags as taken over from a primary that went down and not served yet:
 *  this node first gathers what the other copies hold (cluster/replica.c).
 *  Only while the ring is built.  Returns -1 on no memory.  */
int fl_ring_set_promoting(fl_ring_t *self, const bool *promoting);
/*  True when this node owns PARTITION and is still taking it over.  */
bool fl_ring_is_promoting(const fl_ring_t *self, uint32_t partition);
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

/*  True when this node owns PARTITION and serves it (not fenced, not
 *  being taken over).  */
bool fl_ring_is_local(const fl_ring_t *self, uint32_t partition);

/*  True when this node owns PARTITION and has fenced it.  */
bool fl_ring_is_fenced(const fl_ring_t *self, uint32_t partition);

/*  How many partitions this node owns (fenced ones included).  */
uint32_t fl_ring_owned(const fl_ring_t *self);

/*  The distinct owners of the ring's partitions, in the ring's order:
 *  *N_P (at most MAX) ids, valid while the ring lives.  */
void fl_ring_owners(const fl_ring_t *self, const char **ids, size_t max, size_t *n_p);

#endif
