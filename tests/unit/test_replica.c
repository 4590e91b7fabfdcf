/*  tests/unit/test_replica.c — the pure rules of replication: majorities,
 *  the order of streams, whom a replica takes entries from (fencing) and
 *  which entries it may apply.
 */
#include "tests/testlib.h"
#include "cluster/replica.h"
#include "cluster/ring.h"
#include "storage/keyspace.h"

#define WHY_MAX 256

/*  WHY is a non-empty reason that names PARTITION.  */
static void
s_check_why_names(const char *why, uint32_t partition)
{
    char name[32];
    snprintf(name, sizeof name, "partition %u", partition);
    FL_CHECK(why[0] != '\0');
    FL_CHECK(strstr(why, name) != NULL);
}

/*  ------------------------------------------------------------------
 *  Majorities and streams  */

FL_TEST(majority_of_copies_is_more_than_half)
{
    FL_CHECK_INT(fl_replica_majority(1), ==, 1);
    FL_CHECK_INT(fl_replica_majority(2), ==, 2);
    FL_CHECK_INT(fl_replica_majority(3), ==, 2);
    FL_CHECK_INT(fl_replica_majority(4), ==, 3);
    FL_CHECK_INT(fl_replica_majority(5), ==, 3);
    FL_CHECK_INT(fl_replica_majority(9), ==, 5);
}

static const uint64_t s_epochs[] = { 1, 2, 3, 100, 65535, 1u << 20, (uint64_t) 1 << 32 };
static const uint64_t s_incarnations[] = { 1, 2, 3, 255, 1000, 65536, 0xFFFFFE, 0xFFFFFF };
#define N_EPOCHS (sizeof s_epochs / sizeof s_epochs[0])
#define N_INCARNATIONS (sizeof s_incarnations / sizeof s_incarnations[0])

FL_TEST(stream_of_a_greater_epoch_is_greater_whatever_the_incarnation)
{
    for (size_t e = 0; e + 1 < N_EPOCHS; e++)
        for (size_t i = 0; i < N_INCARNATIONS; i++)
            for (size_t j = 0; j < N_INCARNATIONS; j++)
                FL_CHECK(fl_replica_stream(s_epochs[e + 1], s_incarnations[i])
                         > fl_replica_stream(s_epochs[e], s_incarnations[j]));
    /*  Even against an incarnation past what a stream can tell apart.  */
    FL_CHECK(fl_replica_stream(2, 1) > fl_replica_stream(1, UINT64_MAX));
    FL_CHECK(fl_replica_stream(1, 1) > fl_replica_stream(0, UINT64_MAX));
}

FL_TEST(stream_of_the_same_epoch_is_greater_for_a_greater_incarnation)
{
    for (size_t e = 0; e < N_EPOCHS; e++)
        for (size_t i = 0; i + 1 < N_INCARNATIONS; i++)
            FL_CHECK(fl_replica_stream(s_epochs[e], s_incarnations[i + 1])
                     > fl_replica_stream(s_epochs[e], s_incarnations[i]));
    FL_CHECK_INT(fl_replica_stream(7, 3), ==, fl_replica_stream(7, 3));
}

FL_TEST(stream_is_never_0)
{
    FL_CHECK(fl_replica_stream(0, 0) != 0);
    FL_CHECK(fl_replica_stream(0, 1) != 0);
    FL_CHECK(fl_replica_stream(1, 0) != 0);
    for (size_t e = 0; e < N_EPOCHS; e++)
        for (size_t i = 0; i < N_INCARNATIONS; i++)
            FL_CHECK(fl_replica_stream(s_epochs[e], s_incarnations[i]) != 0);
}

/*  ------------------------------------------------------------------
 *  Whom entries are taken from  */

#define P 4
#define EPOCH 10

static const char *const s_ids[] = { "n1", "n2", "n3" };

/*  The ring of n2 at EPOCH: partition p is s_ids[p % 3]'s (0: n1, 1: n2,
 *  2: n3, 3: n1); n2 keeps copies of 0 (n1's) and 2 (n3's), not of 3,
 *  which n3 keeps.  */
static fl_ring_t *
s_ring(void)
{
    uint16_t owner[P];
    for (uint16_t p = 0; p < P; p++)
        owner[p] = p % 3;
    fl_ring_t *ring = fl_ring_new("n2", P, EPOCH, s_ids, 3, owner, NULL);
    FL_CHECK(ring != NULL);
    const char *of0[] = { "n2", "n3" }, *of2[] = { "n1", "n2" }, *of3[] = { "n3" };
    FL_CHECK_INT(fl_ring_set_replicas(ring, 0, of0, 2), ==, 0);
    FL_CHECK_INT(fl_ring_set_replicas(ring, 2, of2, 2), ==, 0);
    FL_CHECK_INT(fl_ring_set_replicas(ring, 3, of3, 1), ==, 0);
    return ring;
}

FL_TEST(entries_from_the_owner_are_taken_where_this_node_is_a_replica)
{
    fl_ring_t *ring = s_ring();
    char why[WHY_MAX];
    FL_CHECK_INT(fl_replica_check_sender(ring, 0, "n1", EPOCH, 0, why, sizeof why), ==,
                 FLOW__STATUS__OK);
    FL_CHECK_INT(fl_replica_check_sender(ring, 2, "n3", EPOCH, 0, why, sizeof why), ==,
                 FLOW__STATUS__OK);
    /*  At the epoch promised, and from an owner whose ring is older.  */
    FL_CHECK_INT(fl_replica_check_sender(ring, 0, "n1", EPOCH, EPOCH, why, sizeof why), ==,
                 FLOW__STATUS__OK);
    FL_CHECK_INT(fl_replica_check_sender(ring, 2, "n3", EPOCH - 1, 0, why, sizeof why), ==,
                 FLOW__STATUS__OK);
    fl_ring_destroy(&ring);
}

FL_TEST(entries_from_a_node_that_is_not_the_owner_are_refused)
{
    fl_ring_t *ring = s_ring();
    char why[WHY_MAX] = "";
    FL_CHECK_INT(fl_replica_check_sender(ring, 0, "n3", EPOCH, 0, why, sizeof why), ==,
                 FLOW__STATUS__FAILED_PRECONDITION);
    s_check_why_names(why, 0);

    /*  The sender's ring older than this node's.  */
    why[0] = '\0';
    FL_CHECK_INT(fl_replica_check_sender(ring, 2, "n1", EPOCH - 1, 0, why, sizeof why), ==,
                 FLOW__STATUS__FAILED_PRECONDITION);
    s_check_why_names(why, 2);

    /*  A node the ring does not know.  */
    why[0] = '\0';
    FL_CHECK_INT(fl_replica_check_sender(ring, 0, "n9", EPOCH, 0, why, sizeof why), ==,
                 FLOW__STATUS__FAILED_PRECONDITION);
    s_check_why_names(why, 0);
    fl_ring_destroy(&ring);
}

FL_TEST(entries_from_a_sender_with_a_newer_ring_are_taken)
{
    fl_ring_t *ring = s_ring();
    char why[WHY_MAX];
    /*  Not the owner here, and here no copy of 1 or 3: the sender knows
     *  better.  */
    FL_CHECK_INT(fl_replica_check_sender(ring, 0, "n3", EPOCH + 1, 0, why, sizeof why), ==,
                 FLOW__STATUS__OK);
    FL_CHECK_INT(fl_replica_check_sender(ring, 3, "n3", EPOCH + 1, 0, why, sizeof why), ==,
                 FLOW__STATUS__OK);
    FL_CHECK_INT(fl_replica_check_sender(ring, 1, "n1", EPOCH + 5, EPOCH + 5, why, sizeof why),
                 ==, FLOW__STATUS__OK);
    fl_ring_destroy(&ring);
}

FL_TEST(entries_older_than_the_epoch_promised_are_refused)
{
    fl_ring_t *ring = s_ring();
    char why[WHY_MAX] = "";
    FL_CHECK_INT(fl_replica_check_sender(ring, 0, "n1", EPOCH, EPOCH + 1, why, sizeof why), ==,
                 FLOW__STATUS__FAILED_PRECONDITION);
    s_check_why_names(why, 0);

    /*  Even from a sender whose ring is newer than this node's.  */
    why[0] = '\0';
    FL_CHECK_INT(fl_replica_check_sender(ring, 2, "n3", EPOCH + 2, EPOCH + 3, why, sizeof why),
                 ==, FLOW__STATUS__FAILED_PRECONDITION);
    s_check_why_names(why, 2);
    fl_ring_destroy(&ring);
}

FL_TEST(entries_are_refused_where_this_node_keeps_no_copy)
{
    fl_ring_t *ring = s_ring();
    char why[WHY_MAX] = "";
    FL_CHECK_INT(fl_replica_check_sender(ring, 3, "n1", EPOCH, 0, why, sizeof why), ==,
                 FLOW__STATUS__FAILED_PRECONDITION);
    s_check_why_names(why, 3);

    /*  Partition 1 has no replicas at all.  */
    why[0] = '\0';
    FL_CHECK_INT(fl_replica_check_sender(ring, 1, "n2", EPOCH, 0, why, sizeof why), ==,
                 FLOW__STATUS__FAILED_PRECONDITION);
    s_check_why_names(why, 1);
    fl_ring_destroy(&ring);

    /*  A ring without replicas.  */
    uint16_t owner[P] = { 0, 0, 0, 0 };
    ring = fl_ring_new("n2", P, EPOCH, s_ids, 3, owner, NULL);
    FL_CHECK(ring != NULL);
    why[0] = '\0';
    FL_CHECK_INT(fl_replica_check_sender(ring, 2, "n1", EPOCH, 0, why, sizeof why), ==,
                 FLOW__STATUS__FAILED_PRECONDITION);
    s_check_why_names(why, 2);
    fl_ring_destroy(&ring);
}

FL_TEST(sender_of_a_partition_beyond_the_count_is_invalid)
{
    fl_ring_t *ring = s_ring();
    char why[WHY_MAX] = "";
    FL_CHECK_INT(fl_replica_check_sender(ring, P, "n1", EPOCH, 0, why, sizeof why), ==,
                 FLOW__STATUS__INVALID_ARGUMENT);
    s_check_why_names(why, P);
    why[0] = '\0';
    FL_CHECK_INT(fl_replica_check_sender(ring, 70000, "n1", EPOCH + 1, 0, why, sizeof why), ==,
                 FLOW__STATUS__INVALID_ARGUMENT);
    s_check_why_names(why, 70000);
    fl_ring_destroy(&ring);
}

/*  ------------------------------------------------------------------
 *  Which entries may be applied  */

#define PARTS 8
#define PART 5

static const char *const s_names[] = { "records", "events" };

/*  An entry of PART with a put in "records" and a deletion in "events",
 *  built by hand.  */
typedef struct {
    Flow__Cluster__ReplicaEntry entry;
    Flow__Cluster__ReplicaChange change[3];
    Flow__Cluster__ReplicaChange *changes[3];
    uint8_t key[3][FL_KEYSPACE_KEY_MAX + 2];
} s_entry_t;

static void
s_entry_init(s_entry_t *e)
{
    memset(e, 0, sizeof *e);
    e->entry = (Flow__Cluster__ReplicaEntry) FLOW__CLUSTER__REPLICA_ENTRY__INIT;
    e->entry.partition = PART;
    e->entry.stream = fl_replica_stream(3, 1);
    e->entry.seq = 1;
    for (size_t i = 0; i < 3; i++) {
        e->change[i] = (Flow__Cluster__ReplicaChange) FLOW__CLUSTER__REPLICA_CHANGE__INIT;
        e->changes[i] = &e->change[i];
        e->key[i][0] = 0;
        e->key[i][1] = PART;
        e->key[i][2] = (uint8_t) ('a' + i);
        e->change[i].key.data = e->key[i];
        e->change[i].key.len = 3;
    }
    e->change[0].db = (char *) "records";
    e->change[0].value.data = (uint8_t *) "\x08\x01";
    e->change[0].value.len = 2;
    e->change[1].db = (char *) "events";
    e->change[1].deleted = 1;
    e->change[2].db = (char *) "records";
    e->change[2].value.data = (uint8_t *) "";
    e->change[2].value.len = 0;             /* an empty value, not a deletion */
    e->entry.changes = e->changes;
    e->entry.n_changes = 3;
}

static Flow__Status
s_check(const s_entry_t *e, char *why)
{
    why[0] = '\0';
    return fl_replica_check_entry(&e->entry, PARTS, s_names, 2, why, WHY_MAX);
}

/*  E is refused as invalid, with a reason.  */
static void
s_check_invalid(const s_entry_t *e)
{
    char why[WHY_MAX];
    FL_CHECK_INT(s_check(e, why), ==, FLOW__STATUS__INVALID_ARGUMENT);
    FL_CHECK(why[0] != '\0');
}

FL_TEST(good_entries_may_be_applied)
{
    s_entry_t e;
    s_entry_init(&e);
    char why[WHY_MAX];
    FL_CHECK_INT(s_check(&e, why), ==, FLOW__STATUS__OK);

    /*  An empty entry (a stream's first), and the edges of the range.  */
    e.entry.n_changes = 0;
    FL_CHECK_INT(s_check(&e, why), ==, FLOW__STATUS__OK);
    s_entry_init(&e);
    e.entry.partition = 0;
    for (size_t i = 0; i < 3; i++)
        e.key[i][1] = 0;
    FL_CHECK_INT(s_check(&e, why), ==, FLOW__STATUS__OK);
    e.entry.partition = PARTS - 1;
    for (size_t i = 0; i < 3; i++)
        e.key[i][1] = PARTS - 1;
    FL_CHECK_INT(s_check(&e, why), ==, FLOW__STATUS__OK);

    /*  A key of the prefix alone, and one of the longest length.  */
    s_entry_init(&e);
    e.change[0].key.len = 2;
    e.change[1].key.len = FL_KEYSPACE_KEY_MAX;
    FL_CHECK_INT(s_check(&e, why), ==, FLOW__STATUS__OK);
}

FL_TEST(entry_of_a_partition_out_of_range_is_invalid)
{
    s_entry_t e;
    s_entry_init(&e);
    e.entry.partition = PARTS;
    for (size_t i = 0; i < 3; i++)
        e.key[i][1] = PARTS;
    char why[WHY_MAX];
    FL_CHECK_INT(s_check(&e, why), ==, FLOW__STATUS__INVALID_ARGUMENT);
    s_check_why_names(why, PARTS);

    e.entry.n_changes = 0;
    FL_CHECK_INT(s_check(&e, why), ==, FLOW__STATUS__INVALID_ARGUMENT);
    s_check_why_names(why, PARTS);
}

FL_TEST(entry_with_stream_or_seq_0_is_invalid)
{
    s_entry_t e;
    s_entry_init(&e);
    e.entry.stream = 0;
    s_check_invalid(&e);
    s_entry_init(&e);
    e.entry.seq = 0;
    s_check_invalid(&e);
    s_entry_init(&e);
    e.entry.n_changes = 0;
    e.entry.stream = 0;
    e.entry.seq = 0;
    s_check_invalid(&e);
}

FL_TEST(change_in_an_unknown_database_is_invalid)
{
    s_entry_t e;
    s_entry_init(&e);
    e.change[1].db = (char *) "meta";
    s_check_invalid(&e);
    /*  A prefix of a known name, and a known name with more after it.  */
    e.change[1].db = (char *) "record";
    s_check_invalid(&e);
    e.change[1].db = (char *) "events2";
    s_check_invalid(&e);
    e.change[1].db = (char *) "";
    s_check_invalid(&e);
    e.change[1].db = (char *) "events";
    char why[WHY_MAX];
    FL_CHECK_INT(s_check(&e, why), ==, FLOW__STATUS__OK);
}

FL_TEST(change_with_a_key_of_another_partition_is_invalid)
{
    s_entry_t e;
    s_entry_init(&e);
    e.key[2][1] = PART + 1;
    char why[WHY_MAX];
    FL_CHECK_INT(s_check(&e, why), ==, FLOW__STATUS__INVALID_ARGUMENT);
    s_check_why_names(why, PART);

    /*  The high byte of the prefix counts: 0x0105 is partition 261.  */
    s_entry_init(&e);
    e.key[0][0] = 1;
    s_check_invalid(&e);
}

FL_TEST(change_with_a_key_shorter_than_the_prefix_is_invalid)
{
    s_entry_t e;
    s_entry_init(&e);
    e.change[1].key.len = 1;
    s_check_invalid(&e);
    e.change[1].key.len = 0;
    s_check_invalid(&e);
    e.change[1].key.data = NULL;
    s_check_invalid(&e);
}

FL_TEST(change_with_a_key_longer_than_the_key_limit_is_invalid)
{
    s_entry_t e;
    s_entry_init(&e);
    e.change[2].key.len = FL_KEYSPACE_KEY_MAX + 1;
    s_check_invalid(&e);
}

FL_TEST(deletion_with_a_value_is_invalid)
{
    s_entry_t e;
    s_entry_init(&e);
    e.change[1].value.data = (uint8_t *) "x";
    e.change[1].value.len = 1;
    s_check_invalid(&e);
}
