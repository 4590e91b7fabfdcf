/*  cluster/layout.c — see layout.h.  */
#include "cluster/layout.h"
#include "cluster/placement.h"
#include "node/error.h"
#include "storage/keyspace.h"

#include <stdlib.h>
#include <string.h>

int
fl_layout_read(const Flow__Cluster__ClusterMeta *meta, fl_layout_t *layout)
{
    memset(layout, 0, sizeof *layout);
    uint32_t p = meta->partitions;
    if (p == 0 || p > FL_KEYSPACE_MAX_PARTITIONS || meta->n_members == 0)
        return FL_E_INVAL;
    bool table = meta->n_owner_ids > 0;
    if (table && (meta->n_owner_ids > FL_LAYOUT_IDS_MAX || meta->owners.len != 2 * (size_t) p))
        return FL_E_INVAL;
    layout->owner = calloc(p, sizeof *layout->owner);
    if (!layout->owner)
        return FL_E_NOMEM;
    layout->partitions = p;
    if (!table) {
        layout->ids[0] = meta->members[0]->node_id;
        layout->nids = 1;
        return 0;
    }
    for (size_t i = 0; i < meta->n_owner_ids; i++)
        layout->ids[i] = meta->owner_ids[i];
    layout->nids = meta->n_owner_ids;
    for (uint32_t i = 0; i < p; i++) {
        const uint8_t *le = meta->owners.data + 2 * (size_t) i;
        layout->owner[i] = (uint16_t) (le[0] | le[1] << 8);
        if (layout->owner[i] >= layout->nids) {
            fl_layout_release(layout);
            return FL_E_INVAL;
        }
    }
    return 0;
}

void
fl_layout_release(fl_layout_t *layout)
{
    free(layout->owner);
    layout->owner = NULL;
}

const char *
fl_layout_owner(const fl_layout_t *layout, uint32_t partition)
{
    return partition < layout->partitions ? layout->ids[layout->owner[partition]] : NULL;
}

int
fl_layout_set_owner(fl_layout_t *layout, uint32_t partition, const char *id)
{
    size_t i = 0;
    while (i < layout->nids && strcmp(layout->ids[i], id) != 0)
        i++;
    if (i == FL_LAYOUT_IDS_MAX || partition >= layout->partitions)
        return FL_E_INVAL;
    if (i == layout->nids)
        layout->ids[layout->nids++] = id;
    layout->owner[partition] = (uint16_t) i;
    return 0;
}

uint32_t
fl_layout_owned(const fl_layout_t *layout, const char *node_id)
{
    uint32_t n = 0;
    for (uint32_t p = 0; p < layout->partitions; p++)
        n += strcmp(layout->ids[layout->owner[p]], node_id) == 0;
    return n;
}

const Flow__Cluster__PartitionMove *
fl_layout_move(const Flow__Cluster__ClusterMeta *meta, uint32_t partition)
{
    for (size_t i = 0; i < meta->n_moves; i++)
        if (meta->moves[i]->partition == partition)
            return meta->moves[i];
    return NULL;
}

/*  A member that does not answer health checks: down, or lost.  */
static bool
s_unreachable(const Flow__Cluster__Member *m)
{
    return m->state == FLOW__CLUSTER__MEMBER_STATE__MEMBER_DOWN
           || m->state == FLOW__CLUSTER__MEMBER_STATE__MEMBER_LOST;
}

uint32_t
fl_layout_unavailable(const Flow__Cluster__ClusterMeta *meta)
{
    /*  Asked with every status, a few times a second: the table is read
     *  only when some member is down.  */
    bool any = false;
    for (size_t k = 0; k < meta->n_members && !any; k++)
        any = s_unreachable(meta->members[k]);
    fl_layout_t layout;
    if (!any || fl_layout_read(meta, &layout) != 0)
        return 0;
    bool down[FL_LAYOUT_IDS_MAX] = { false };
    for (size_t i = 0; i < layout.nids; i++)
        for (size_t k = 0; k < meta->n_members; k++)
            down[i] |= s_unreachable(meta->members[k])
                       && strcmp(meta->members[k]->node_id, layout.ids[i]) == 0;
    uint32_t n = 0;
    for (uint32_t p = 0; p < layout.partitions; p++)
        n += down[layout.owner[p]];
    fl_layout_release(&layout);
    return n;
}

/*  Members that keep copies: a down member keeps its place in the lists,
 *  since it may come back with every write it acknowledged; a lost one
 *  (down past --replace-after-ms) gives it up, so that its copies are
 *  made again on the others, until it answers; a leaving one is on its
 *  way out and takes no new copy.  */
static bool
s_keeps_copies(const Flow__Cluster__Member *m)
{
    return m->state == FLOW__CLUSTER__MEMBER_STATE__MEMBER_JOINING
           || m->state == FLOW__CLUSTER__MEMBER_STATE__MEMBER_UP
           || m->state == FLOW__CLUSTER__MEMBER_STATE__MEMBER_DOWN;
}

fl_placement_t *
fl_layout_copies(const Flow__Cluster__ClusterMeta *meta)
{
    if (meta->replicas < 2)
        return NULL;
    const char *ids[FL_LAYOUT_IDS_MAX];
    size_t n = 0;
    for (size_t i = 0; i < meta->n_members && n < FL_LAYOUT_IDS_MAX; i++)
        if (s_keeps_copies(meta->members[i]))
            ids[n++] = meta->members[i]->node_id;
    if (n < 2)
        return NULL;
    uint32_t copies = meta->replicas < FL_RING_REPLICAS_MAX + 1 ? meta->replicas
                                                                : FL_RING_REPLICAS_MAX + 1;
    return fl_placement_new(meta->partitions, copies, ids, n);
}

size_t
fl_layout_replicas(const Flow__Cluster__ClusterMeta *meta, const fl_placement_t *copies,
                   const char *owner, uint32_t partition, const char **ids, size_t max)
{
    if (!copies)
        return 0;
    const char *list[FL_RING_REPLICAS_MAX + 1];
    size_t nlist = fl_placement_owners(copies, partition, list, FL_RING_REPLICAS_MAX + 1);
    const Flow__Cluster__PartitionMove *move = fl_layout_move(meta, partition);
    size_t want = meta->replicas - 1 < max ? meta->replicas - 1 : max;
    size_t n = 0;
    for (size_t i = 0; i < nlist && n < want; i++) {
        if (strcmp(list[i], owner) == 0 || (move && strcmp(list[i], move->to) == 0))
            continue;
        ids[n++] = list[i];
    }
    return n;
}

fl_ring_t *
fl_layout_ring(const Flow__Cluster__ClusterMeta *meta, const char *local_id, const bool *fenced)
{
    fl_layout_t layout;
    if (fl_layout_read(meta, &layout) != 0)
        return NULL;
    fl_ring_t *ring = fl_ring_new(local_id, layout.partitions, meta->epoch, layout.ids,
                                  layout.nids, layout.owner, fenced);
    fl_placement_t *copies = ring ? fl_layout_copies(meta) : NULL;
    for (uint32_t p = 0; copies && p < layout.partitions; p++) {
        const char *ids[FL_RING_REPLICAS_MAX];
        size_t n = fl_layout_replicas(meta, copies, fl_layout_owner(&layout, p), p, ids,
                                      FL_RING_REPLICAS_MAX);
        if (fl_ring_set_replicas(ring, p, ids, n) != 0) {
            fl_ring_destroy(&ring);
            break;
        }
    }
    fl_placement_destroy(&copies);
    fl_layout_release(&layout);
    for (size_t i = 0; ring && i < meta->n_members; i++)
        if (s_unreachable(meta->members[i])
            && fl_ring_mark_down(ring, meta->members[i]->node_id) != 0)
            fl_ring_destroy(&ring);
    return ring;
}
