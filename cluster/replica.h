/*  cluster/replica.h — replication: N copies of every partition.
 *
 *  Every partition is kept by the nodes of its list in the ring (its
 *  owner, the primary, and up to N - 1 replicas; cluster/layout.h says
 *  which).  The primary's data actors commit each batch as before; what
 *  the batch changed (storage/changes.h) goes to this node's replication
 *  thread, which numbers it in the partition's *stream* and sends it to
 *  the replicas; the actor answers the batch's clients only once a
 *  majority of the partition's copies, the primary's included, hold it
 *  durably.  A replica applies a stream's entries in order; one that
 *  missed entries, or sees a new stream, first copies the partition from
 *  the primary (the handoff thread's copy phase) while it keeps the
 *  entries that arrive, then applies those.
 *
 *  A stream is named by the ring epoch at which the primary began it and
 *  the primary's incarnation (how many times its node started), so the
 *  streams of a partition are ordered: a newer primary's is greater.
 *
 *  Fencing: a replica applies entries only from the node its ring makes
 *  the partition's owner (or from a sender whose ring is newer than its
 *  own), and never from a ring older than the epoch it promised a new
 *  primary.  A primary that went down and comes back cannot gather a
 *  majority any more, so it acknowledges nothing.
 *
 *  Taking over: when the metadata moves a partition from a primary that
 *  is down to one of its replicas, that node does not serve it until it
 *  asked the other copies where they stand (each promises to refuse the
 *  older primary) and, when one of them holds more of the latest stream,
 *  copied the partition from it.  A write acknowledged by a majority is
 *  held by at least one copy of every majority, so it survives.
 */
#ifndef FL_REPLICA_H
#define FL_REPLICA_H

#include <czmq.h>

#include "cluster.pb-c.h"
#include "cluster/ring.h"
#include "node/node.h"
#include "storage/changes.h"

/*  Data actors hand batches over here (raw frames, see fl_replica_submit). */
#define FL_REPLICA_ENDPOINT "inproc://flow.replica"
/*  The peer thread relays other members' entries and questions here
 *  (ReplicaRequest, answered with a ReplicaReply).  */
#define FL_REPLICA_PEER_ENDPOINT "inproc://flow.replica.peer"

typedef struct {
    const fl_node_t *node;
} fl_replica_args_t;

/*  Starts the replication thread; NULL when it cannot (logged).  */
zactor_t *fl_replica_new(fl_replica_args_t *args);

/*  ------------------------------------------------------------------
 *  For data actors  */

/*  Hands a committed batch to the replication thread over DEALER
 *  (connected to FL_REPLICA_ENDPOINT): CHANGES (taken, NULLed) holds what
 *  it wrote; PARTITIONS (N) every partition it answered a write for.  The
 *  thread answers BATCH once every one of them holds, on a majority of
 *  its copies, everything written to it up to this batch, or once it
 *  cannot be (DEADLINE_US, CLOCK_MONOTONIC µs, passed; the partition no
 *  longer the node's).  Returns 0, or FL_E_IO when it cannot be sent.  */
int fl_replica_submit(zsock_t *dealer, uint64_t batch, fl_changes_t **changes_p,
                      const uint32_t *partitions, size_t n, int64_t deadline_us);

/*  Reads one answer from DEALER: the batch, and whether it is durable on
 *  a majority.  False when DEALER held nothing readable.  */
bool fl_replica_answer(zsock_t *dealer, uint64_t *batch_p, bool *durable_p);

/*  ------------------------------------------------------------------
 *  The rules, for the thread and its tests  */

/*  How many of COPIES copies make a majority.  */
size_t fl_replica_majority(size_t copies);

/*  The stream of a primary that begins at ring EPOCH in its node's
 *  INCARNATION: ordered by epoch, then incarnation; never 0.  Epochs
 *  below 2^40 and the low 24 bits of the incarnation are kept: a node
 *  would have to start 16 million times within one epoch to wrap.  */
uint64_t fl_replica_stream(uint64_t epoch, uint64_t incarnation);

/*  Whether this node (RING) applies entries of PARTITION sent by FROM
 *  with its ring at EPOCH, having promised PROMISED: OK, or
 *  FAILED_PRECONDITION with the reason in WHY.  */
Flow__Status fl_replica_check_sender(const fl_ring_t *ring, uint32_t partition,
                                     const char *from, uint64_t epoch, uint64_t promised,
                                     char *why, size_t whylen);

/*  Whether ENTRY may be applied to a store of PARTITIONS partitions whose
 *  partitioned databases are NAMES (N): the partition in range, every
 *  change in a known database with a key in the partition.  OK, or
 *  INVALID_ARGUMENT with the reason in WHY.  */
Flow__Status fl_replica_check_entry(const Flow__Cluster__ReplicaEntry *entry,
                                    uint32_t partitions, const char *const *names, size_t n,
                                    char *why, size_t whylen);

#endif
