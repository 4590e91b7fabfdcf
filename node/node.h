/*  node/node.h — what every actor of a node may read about the node.
 *
 *  Built by main before any actor starts and never changed while they run
 *  (the ring pointer is swapped only by the cluster work, between
 *  snapshots), so actors read it without locks.
 */
#ifndef FL_NODE_H
#define FL_NODE_H

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
    const fl_ring_t *ring;
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

#endif
