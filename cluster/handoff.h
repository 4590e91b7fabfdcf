/*  cluster/handoff.h — partitions moving between nodes, and the ring.
 *
 *  The handoff thread owns this node's ring snapshot: it reads the
 *  cluster's metadata from the metadata thread every tick, publishes a new
 *  ring when ownership or a fence changes (fl_node_ring), and moves the
 *  partitions the metadata sends to this node:
 *
 *    copy      pull each partitioned database's range of the partition
 *              from the old owner in chunks (1 MiB, each with a BLAKE2b
 *              digest checked before it is written), throttled to the
 *              node's handoff rate, the position kept in the same
 *              transaction, so a restart of either side resumes;
 *    catch up  compare the ranges by digest and fetch again those that
 *              changed while copying (the old owner kept serving);
 *    fence     ask the old owner to fence the partition: it stops
 *              serving it (requests are routed again until the flip) and
 *              waits for writes under way to commit, then answers with
 *              the partition's digests under the fence;
 *    final     fetch what those digests show still differs;
 *    flip      ask the consensus leader to make this node the owner at a
 *              new epoch.
 *
 *  After the flip the old owner drops its copy by key range.  Fences are
 *  kept in the store, so a node that restarts while fenced does not serve
 *  what it is handing over.  The thread takes no decision on data (drop,
 *  unfence, pull) until the metadata has applied every consensus entry
 *  this node had logged when it started: an old view could otherwise make
 *  it drop a partition it owns.  docs/cluster.md tells the whole story.
 */
#ifndef FL_HANDOFF_H
#define FL_HANDOFF_H

#include <czmq.h>

#include "cluster.pb-c.h"
#include "cluster/keys.h"
#include "node/node.h"

#define FL_HANDOFF_ENDPOINT "inproc://flow.handoff"

typedef struct {
    /*  Its ring is published here, under its ring_lock (set by the caller);
     *  the ring published last is the caller's to free once every thread
     *  that reads it has stopped.  */
    fl_node_t *node;
    const fl_keys_t *keys;
    /*  The metadata to start from when the store holds none: the join
     *  reply's, or NULL (a node that creates a cluster owns everything). */
    const Flow__Cluster__ClusterMeta *initial;
    const char *holder;                 /* or, from older data directories: who holds all */
    bool member;                        /* a member of a cluster it did not create */
} fl_handoff_args_t;

/*  Starts the handoff thread; returns once the first ring is published.
 *  NULL when it cannot start (logged).  ARGS must outlive the thread.
 *  The thread sends "STOP" on its pipe when this node has left the
 *  cluster.  */
zactor_t *fl_handoff_new(fl_handoff_args_t *args);

/*  Reads the chunk PULL asks for from NODE's store into CHUNK (free it
 *  with fl_handoff_chunk_release).  Returns OK, or the status to refuse
 *  with and the reason in WHY (WHYLEN bytes).  Runs on the peer thread.  */
Flow__Status fl_handoff_chunk(const fl_node_t *node, const Flow__Cluster__TransferPull *pull,
                              Flow__Cluster__TransferChunk *chunk, char *why, size_t whylen);

void fl_handoff_chunk_release(Flow__Cluster__TransferChunk *chunk);

/*  Whether PULL (from another node) asks for a range that can exist in a
 *  cluster of PARTITIONS: OK, or INVALID_ARGUMENT with the reason in WHY
 *  (WHYLEN bytes).  The database is checked by fl_handoff_chunk.  */
Flow__Status fl_handoff_pull_check(const Flow__Cluster__TransferPull *pull, uint32_t partitions,
                                   char *why, size_t whylen);

/*  Whether CHUNK (from the old owner) fits what was asked: keys in
 *  PARTITION, strictly after AFTER (AFTER_LEN bytes; NULL: from the
 *  start), in order, not past the last key it covers, as many as it
 *  counts, summing to its digest; no records when DIGEST_ONLY.  */
bool fl_handoff_chunk_valid(const Flow__Cluster__TransferChunk *chunk, uint32_t partition,
                            const uint8_t *after, size_t after_len, bool digest_only);

/*  Sends REQ to the handoff thread over *DEALER (made on first use) and
 *  waits up to TIMEOUT_MS for the reply; NULL when none came.  */
Flow__Cluster__HandoffReply *fl_handoff_ask(zsock_t **dealer,
                                            const Flow__Cluster__HandoffRequest *req,
                                            int timeout_ms);

#endif
