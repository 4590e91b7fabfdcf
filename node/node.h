/*  node/node.h — what every actor of a node may read about the node.
 *
 *  Built by main before any actor starts and never changed while they run,
 *  but for the ring: the handoff thread publishes each new snapshot with
 *  an atomic store, and every reader takes the current one with
 *  fl_node_ring().  A retired snapshot stays allocated for a grace period
 *  longer than any handler holds one (cluster/handoff.c).
 *
 *  ring_lock: a data actor holds it shared from the moment it checks that
 *  it owns a batch's partitions until the batch committed; the handoff
 *  thread holds it exclusively while it fences a partition, so once the
 *  fence is published no write to that partition is still under way.
 *
 *  lease_until: per partition, until when (zclock_mono ms) this node may
 *  serve it as its primary: written by the replication thread alone (a
 *  majority of the partition's copies answered its lease pings; see
 *  cluster/replica.h), read by the data actors before each batch.  The
 *  one shared word per partition besides the ring.
 */
#ifndef FL_NODE_H
#define FL_NODE_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include "cluster/ring.h"
#include "node/config.h"
#include "node/metrics.h"
#include "node/workers.h"
#include "storage/store.h"

#define FL_PROTOCOL_VERSION 1
#define FL_NODE_ID_MAX 64

typedef struct fl_node_t {
    const fl_config_t *config;
    char node_id[FL_NODE_ID_MAX];
    _Atomic(const fl_ring_t *) ring;
    pthread_rwlock_t *ring_lock;
    _Atomic int64_t *lease_until;        /* lease_partitions entries */
    uint32_t lease_partitions;
    fl_store_t *store;
    fl_metrics_t *metrics;
    fl_workers_t *workers;
    const uint8_t *cluster_key;          /* FL_TOKEN_KEY_BYTES: signs access tokens */
    const uint8_t *peer_key;             /* 32 bytes: MACs requests between members */
    void *cert;                          /* zcert_t *: the node's CURVE keypair */
    int64_t started_us;                  /* zclock_usecs() at start */
    char client_endpoint[256];           /* as bound (a * port resolved) */
    char control_endpoint[256];
} fl_node_t;

/*  The ring snapshot to route with now.  */
static inline const fl_ring_t *
fl_node_ring(const fl_node_t *node)
{
    return atomic_load_explicit((_Atomic(const fl_ring_t *) *) &node->ring, memory_order_acquire);
}

#endif
