/*  cluster/layout.h — the ring as the cluster's metadata holds it.
 *
 *  ClusterMeta keeps the owner of every partition as an index into a
 *  short list of node ids (owner_ids, owners: P little-endian u16) and
 *  the partitions on their way to a new owner (moves).  A layout is that
 *  table unpacked, for the metadata thread that changes it and for the
 *  threads that build ring snapshots from it.  A cluster created before
 *  handoff existed has no table: its first member owns every partition.
 *
 *  The ids of a layout point into the metadata it was read from, or to
 *  strings its user keeps alive as long as the layout.
 */
#ifndef FL_LAYOUT_H
#define FL_LAYOUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cluster.pb-c.h"
#include "cluster/ring.h"

#define FL_LAYOUT_IDS_MAX 128

typedef struct {
    uint32_t partitions;
    size_t nids;
    const char *ids[FL_LAYOUT_IDS_MAX];
    uint16_t *owner;                    /* per partition: index into ids */
} fl_layout_t;

/*  Reads META's ring into LAYOUT.  Errors: FL_E_INVAL (no partitions or
 *  more than 65536, no members, or a table that does not fit them),
 *  FL_E_NOMEM.  */
int fl_layout_read(const Flow__Cluster__ClusterMeta *meta, fl_layout_t *layout);

void fl_layout_release(fl_layout_t *layout);

/*  The node id of PARTITION's owner.  */
const char *fl_layout_owner(const fl_layout_t *layout, uint32_t partition);

/*  Makes ID (kept alive by the caller) PARTITION's owner.  Errors:
 *  FL_E_INVAL (more than FL_LAYOUT_IDS_MAX distinct ids).  */
int fl_layout_set_owner(fl_layout_t *layout, uint32_t partition, const char *id);

/*  How many partitions NODE_ID owns.  */
uint32_t fl_layout_owned(const fl_layout_t *layout, const char *node_id);

/*  The move of PARTITION in META, or NULL when it is not moving.  */
const Flow__Cluster__PartitionMove *fl_layout_move(const Flow__Cluster__ClusterMeta *meta,
                                                   uint32_t partition);

/*  How many partitions of META are owned by members in state down.  */
uint32_t fl_layout_unavailable(const Flow__Cluster__ClusterMeta *meta);

/*  The placement whose preference lists give the partitions' copies: N =
 *  META's replicas over the members that keep copies (joining, up and
 *  down; not leaving).  NULL when the cluster keeps one copy (N = 1, or
 *  fewer than two such members), or on no memory.  */
struct fl_placement_t;
struct fl_placement_t *fl_layout_copies(const Flow__Cluster__ClusterMeta *meta);
/*  The replicas of PARTITION whose owner is OWNER: its list in COPIES
 *  without the owner and without the node it is moving to (which
 *  receives it by handoff), at most N - 1 and MAX ids into IDS.  */
size_t fl_layout_replicas(const Flow__Cluster__ClusterMeta *meta,
                          const struct fl_placement_t *copies, const char *owner,
                          uint32_t partition, const char **ids, size_t max);
/*  The ring snapshot of META for LOCAL_ID, with FENCED (P flags or NULL)
 *  marking this node's fenced partitions; NULL on bad metadata or no
 *  memory.  */
fl_ring_t *fl_layout_ring(const Flow__Cluster__ClusterMeta *meta, const char *local_id,
                          const bool *fenced);

#endif
