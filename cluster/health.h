/*  cluster/health.h — health checks between members.
 *
 *  Every node pings every other member's peer socket a few times a
 *  second and notes when each last answered.  The thread on the
 *  consensus leader turns that into the metadata: an up member that has
 *  not answered for the node's down_after_ms is marked down, and a down
 *  member that answers again is marked up, each one consensus entry, so
 *  every node and `flowctl cluster members` see the same states.  A new
 *  leader decides at once with what its own thread saw meanwhile.
 *
 *  Marking down moves nothing: with one copy of each partition, a down
 *  member's partitions are served by nobody until it comes back.
 */
#ifndef FL_HEALTH_H
#define FL_HEALTH_H

#include <czmq.h>

#include "node/node.h"

/*  Starts the health thread of NODE (which must outlive it); NULL when it
 *  cannot start (logged).  */
zactor_t *fl_health_new(fl_node_t *node);

#endif
