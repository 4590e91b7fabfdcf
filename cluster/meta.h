/*  cluster/meta.h — the cluster's metadata, agreed by consensus.
 *
 *  Members (id, addresses, CURVE public key, state), the partition count,
 *  the replica count and the epoch are the state of a small machine that
 *  libraft replicates: every change is a MetaCommand appended to the
 *  consensus log and applied, in log order, on every node, so every node
 *  holds the same metadata at the same log index and it survives a
 *  restart of every node (the log and snapshots live in DATA/raft).
 *
 *  The metadata thread runs libraft on a libuv loop of its own.  The rest
 *  of the node talks to it only by messages: a MetaRequest on a DEALER
 *  connected to FL_META_ENDPOINT, answered with a MetaReply (the one
 *  bridge between the uv loop and ZeroMQ; docs/architecture.md).
 *
 *  The first node of a cluster bootstraps a one-voter configuration and,
 *  once it leads with an empty state, appends the create command holding
 *  the partition count, the replica count and itself as the first member.
 */
#ifndef FL_META_H
#define FL_META_H

#include <czmq.h>
#include <stdbool.h>
#include <stdint.h>

#include "cluster.pb-c.h"
#include "node/node.h"

#define FL_META_ENDPOINT "inproc://flow.meta"

typedef struct {
    const fl_node_t *node;
    char raft_dir[FL_CONFIG_STR_MAX + 8];
    char raft_address[64];              /* host:port, the port resolved */
    const char *public_key;             /* the node's Z85 CURVE public key */
    const char *peer_endpoint;          /* the node's, resolved */
    const char *client_endpoint;        /* as configured; "" when its port is chosen at bind */
    uint32_t partitions;
    uint32_t replicas;
    bool bootstrap;                     /* start a new cluster when DATA/raft is empty */
} fl_meta_args_t;

/*  Starts the metadata thread; returns when its endpoint is bound and the
 *  consensus is started.  NULL when it cannot start (logged).  ARGS must
 *  outlive the thread.  */
zactor_t *fl_meta_new(const fl_meta_args_t *args);

/*  Sends REQ to the metadata thread over *DEALER (made on first use; the
 *  caller's thread owns it) and waits up to TIMEOUT_MS for the reply with
 *  REQ's seq.  NULL when none came.  The caller frees the reply.  Any
 *  thread but the metadata thread's own may call this.  */
Flow__Cluster__MetaReply *fl_meta_ask(zsock_t **dealer, const Flow__Cluster__MetaRequest *req,
                                      int timeout_ms);

/*  fl_meta_ask for the status, under SEQ.  */
Flow__Cluster__MetaReply *fl_meta_ask_status(zsock_t **dealer, uint64_t seq, int timeout_ms);

/*  Decodes one framed log entry (u64 LE length, packed MetaCommand,
 *  padding); NULL when it is not one.  The caller frees the command.  */
Flow__Cluster__MetaCommand *fl_meta_decode(const void *data, size_t len);

/*  Whether the leader LEADER may set CHANGE (from its health checks) on
 *  META: OK, or NOT_FOUND (no such member) or FAILED_PRECONDITION (the
 *  leader itself; a state other than up -> down or down -> up) with *WHY
 *  naming the field.  */
Flow__Status fl_meta_health_check(const Flow__Cluster__ClusterMeta *meta, const char *leader,
                                  const Flow__Cluster__MemberStateChange *change,
                                  const char **why);

/*  The consensus id of NODE_ID: hash64 of the id, never 0.  */
uint64_t fl_meta_raft_id(const char *node_id);

/*  Resolves ADDRESS ("host:port"; port 0 picks a free one) into OUT
 *  (OUTLEN bytes).  Errors: FL_E_INVAL (not host:port), FL_E_IO.  */
int fl_meta_resolve_address(const char *address, char *out, size_t outlen);

/*  Resolves a ZeroMQ ENDPOINT "tcp://host:*" to a free port in OUT; any
 *  other endpoint is copied.  Errors: as fl_meta_resolve_address.  */
int fl_meta_resolve_endpoint(const char *endpoint, char *out, size_t outlen);

#endif
