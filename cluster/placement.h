/*  cluster/placement.h — which nodes own each partition.
 *
 *  A placement maps each of P partitions to its preference list: min(N,
 *  members) distinct node ids, the first the primary owner.  It is a pure
 *  function of (P, N, the member set): no sockets, no threads, no clock,
 *  no randomness, and the order in which members are given does not
 *  matter.  It never changes once made, so any thread may read it.  Every
 *  node computes it from the agreed member list and must get the same
 *  answer in every build and every release, because it decides where data
 *  lives; the unit tests pin known placements so that a change cannot
 *  pass unnoticed.
 *
 *  Rendezvous (highest-random-weight) hashing ranks the nodes for each
 *  partition by a score: SipHash-2-4 under the all-zero key (the keyspace
 *  hash, fl_keyspace_hash) of the partition as a big-endian u32 followed
 *  by the node id's bytes, keeping its top 42 bits; on equal scores the id
 *  that sorts later bytewise ranks first.  Plain rendezvous gives each
 *  partition to its best-scoring node.  Its virtue is that adding a node
 *  to n moves only the partitions the new node now scores best on, about
 *  1/(n+1) of them, and removing one moves only its own: never a
 *  reshuffle, and no ring of virtual nodes to tune.  Its flaw is balance:
 *  each node's share is binomial, so with P = 1024 and 16 nodes the
 *  busiest node holds about 1.22 times the mean (median of 1000 random
 *  sets of ids; 1.14 to 1.31 for the middle 80%), where Flow wants at most
 *  1.10, which plain rendezvous met for all of 3..16 nodes in 1 set of
 *  the 1000.
 *
 *  The two cannot be had together from the member set alone: keeping
 *  every partition the new node does not take, for every set and every
 *  new node, is the same as ranking the nodes by one fixed order per
 *  partition, which is rendezvous and leaves balance to chance.  So the
 *  placement bounds the load ("consistent hashing with bounded loads")
 *  and pays a few extra moves for it:
 *
 *   -  each node is primary for at most C = ceil(1.05 P / n) partitions
 *      (1.05 rather than the 1.10 allowed: the busiest node bounds the
 *      cluster's throughput every day, while extra moves cost once per
 *      change; a cap of 1.10 moved about a third fewer partitions between
 *      old nodes in simulation);
 *   -  all (partition, node) pairs are taken in descending order of score,
 *      and a pair is kept when the partition has no primary yet and the
 *      node is not full.  The result is the one stable assignment: every
 *      partition is with its best-scoring node that is not full of
 *      partitions that score higher there.  Where no node would exceed C,
 *      it is plain rendezvous, minimal movement included;
 *   -  list position k (k = 1 .. min(N, n) - 1) is filled the same way,
 *      from the nodes not yet in the partition's list, with its own cap C,
 *      so the nodes that take over when a primary fails share that load
 *      too.  Where every remaining node is full (seen only when n is N or
 *      N + 1), the partition takes its best remaining node over the cap:
 *      distinct owners come first.
 *
 *  Measured with the unit tests' ids, P = 1024, N = 3 (tests/unit/
 *  test_placement.c prints these figures): for 3 to 16 nodes the busiest
 *  node is primary for at most 1.062 times the mean and holds at most
 *  1.062 times the mean N P / n list positions.  Adding a node to n = 1 ..
 *  15 moves 0.81 to 1.19 times P/(n+1) primaries; besides those the new
 *  node takes, 0 to 15 move between old nodes (69 in all while growing
 *  from 1 to 16 nodes, when 2464 primaries moved against an ideal 2438).
 *  Removing one of n nodes moves its own primaries and 0 to 16 others
 *  (10.8 on average at 16 nodes).  Over 340 random sets of 16 ids the
 *  moves between old nodes stayed under a third of a share (the tests'
 *  tolerance; at worst 0.33 of P/n on removing, 0.31 of P/(n+1) on
 *  adding), and the busiest node at 1.062 times the mean.
 *
 *  Cost: P * n hashes and a sort of P * n 8-byte keys: 128 KiB and about
 *  3 ms at 1024 partitions and 16 nodes, three times plain rendezvous;
 *  32 MiB and about 1.2 s at the limits (65536 partitions, 64 members) on
 *  the 2-core development VM (tests/bench/bench_placement.c).  It is
 *  computed when the member set changes, never per request.
 */
#ifndef FL_PLACEMENT_H
#define FL_PLACEMENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define FL_PLACEMENT_DEFAULT_PARTITIONS 1024
#define FL_PLACEMENT_DEFAULT_REPLICAS 3
#define FL_PLACEMENT_MAX_MEMBERS 64
#define FL_PLACEMENT_ID_MAX 64          /* bytes of a node id, its NUL included */

typedef struct fl_placement_t fl_placement_t;

/*  The placement of PARTITIONS (1..65536) onto the N MEMBERS (1..64
 *  distinct, non-empty node ids shorter than FL_PLACEMENT_ID_MAX, in any
 *  order), with preference lists of min(REPLICAS, N) nodes (REPLICAS >=
 *  1).  The placement keeps its own copy of the ids.  NULL on a bad
 *  argument (any of the above, a NULL array or id, or an id given twice)
 *  or no memory.  */
fl_placement_t *fl_placement_new(uint32_t partitions, uint32_t replicas,
                                 const char *const *members, size_t n);

/*  NULL-safe, nulls *self_p.  */
void fl_placement_destroy(fl_placement_t **self_p);

uint32_t fl_placement_partitions(const fl_placement_t *self);

/*  The length of every preference list: min(REPLICAS, members).  */
uint32_t fl_placement_replicas(const fl_placement_t *self);

/*  C, the most partitions a node takes at one list position unless a
 *  partition has no other node left: ceil(1.05 P / members).  */
uint32_t fl_placement_capacity(const fl_placement_t *self);

/*  Writes the first MAX owners of PARTITION into OUT, primary first, and
 *  returns how many it wrote; 0 when PARTITION is out of range.  The ids
 *  live as long as the placement.  */
size_t fl_placement_owners(const fl_placement_t *self, uint32_t partition,
                           const char **out, size_t max);

/*  PARTITION's primary owner, NULL when PARTITION is out of range.  */
const char *fl_placement_primary(const fl_placement_t *self, uint32_t partition);

/*  How many partitions NODE is primary for (PRIMARY_ONLY) or whose
 *  preference list holds NODE; 0 for a node that is not a member.  */
uint32_t fl_placement_count(const fl_placement_t *self, const char *node, bool primary_only);

/*  How many partitions changed primary (PRIMARY_ONLY) or owner set (the
 *  list as a set; every list changes when its length does) from BEFORE to
 *  AFTER, which must have the same number of partitions.  */
size_t fl_placement_moved(const fl_placement_t *before, const fl_placement_t *after,
                          bool primary_only);

/*  The rendezvous score of NODE (shorter than FL_PLACEMENT_ID_MAX) for
 *  PARTITION: a 42-bit number, higher ranks first.  */
uint64_t fl_placement_score(uint32_t partition, const char *node);

#endif
