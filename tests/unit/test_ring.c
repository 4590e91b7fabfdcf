/*  Ring snapshots: a node alone, a node that joined a cluster whose
 *  partitions another member holds, and a cluster's ring with fenced
 *  partitions.  */
#include "cluster/ring.h"
#include "storage/keyspace.h"
#include "tests/testlib.h"

FL_TEST(single_node_owns_every_partition)
{
    fl_ring_t *ring = fl_ring_new_single("n1", 1024, 3);
    FL_CHECK(ring != NULL);
    FL_CHECK_INT(fl_ring_partitions(ring), ==, 1024);
    FL_CHECK_INT(fl_ring_epoch(ring), ==, 3);
    FL_CHECK_INT(fl_ring_owned(ring), ==, 1024);
    for (uint32_t p = 0; p < 1024; p++) {
        FL_CHECK(fl_ring_is_local(ring, p));
        FL_CHECK_STR(fl_ring_owner(ring, p), "n1");
    }
    FL_CHECK(!fl_ring_is_local(ring, 1024));
    FL_CHECK(fl_ring_owner(ring, 5000) == NULL);
    fl_ring_destroy(&ring);
    FL_CHECK(ring == NULL);
}

FL_TEST(partition_of_a_key_is_the_keyspace_partition)
{
    fl_ring_t *ring = fl_ring_new_single("n1", 97, 1);
    FL_CHECK_INT(fl_ring_partition(ring, "user:42", 7), ==, fl_keyspace_partition("user:42", 7, 97));
    FL_CHECK(fl_ring_partition(ring, "", 0) < 97);
    fl_ring_destroy(&ring);
}

FL_TEST(bad_arguments_are_refused)
{
    FL_CHECK(fl_ring_new_single("n1", 0, 1) == NULL);
    FL_CHECK(fl_ring_new_single("n1", 65537, 1) == NULL);
    FL_CHECK(fl_ring_new_single(NULL, 16, 1) == NULL);
    char long_id[100];
    memset(long_id, 'x', sizeof long_id - 1);
    long_id[sizeof long_id - 1] = '\0';
    FL_CHECK(fl_ring_new_single(long_id, 16, 1) == NULL);
}

FL_TEST(a_joined_node_owns_nothing_while_the_holder_owns_every_partition)
{
    fl_ring_t *ring = fl_ring_new_held_by("n2", "n1", 256, 4);
    FL_CHECK(ring != NULL);
    FL_CHECK_STR(fl_ring_local_id(ring), "n2");
    FL_CHECK_INT(fl_ring_owned(ring), ==, 0);
    FL_CHECK_INT(fl_ring_epoch(ring), ==, 4);
    for (uint32_t p = 0; p < 256; p++) {
        FL_CHECK(!fl_ring_is_local(ring, p));
        FL_CHECK_STR(fl_ring_owner(ring, p), "n1");
    }
    fl_ring_destroy(&ring);

    /*  Held by itself: the single-node ring.  */
    ring = fl_ring_new_held_by("n1", "n1", 16, 1);
    FL_CHECK_INT(fl_ring_owned(ring), ==, 16);
    FL_CHECK_STR(fl_ring_local_id(ring), "n1");
    fl_ring_destroy(&ring);
    FL_CHECK(fl_ring_new_held_by("n2", NULL, 16, 1) == NULL);
    FL_CHECK(fl_ring_new_held_by("n2", "n1", 0, 1) == NULL);
}

/*  ---------------------------------------------------------------------
 *  The ring of a cluster: owners from a table, fenced partitions.
 */

static const char *const s_ids[] = { "n1", "n2", "n3" };

/*  Partition p of 12 belongs to s_ids[p % 3].  */
static void
s_round_robin(uint16_t owner[12])
{
    for (uint16_t p = 0; p < 12; p++)
        owner[p] = p % 3;
}

FL_TEST(cluster_ring_refuses_bad_arguments)
{
    uint16_t owner[12];
    s_round_robin(owner);
    fl_ring_t *good = fl_ring_new("n1", 12, 1, s_ids, 3, owner, NULL);
    FL_CHECK(good != NULL);
    fl_ring_destroy(&good);

    FL_CHECK(fl_ring_new(NULL, 12, 1, s_ids, 3, owner, NULL) == NULL);
    FL_CHECK(fl_ring_new("n1", 12, 1, NULL, 3, owner, NULL) == NULL);
    FL_CHECK(fl_ring_new("n1", 12, 1, s_ids, 3, NULL, NULL) == NULL);
    FL_CHECK(fl_ring_new("n1", 12, 1, s_ids, 0, owner, NULL) == NULL);
    FL_CHECK(fl_ring_new("n1", 0, 1, s_ids, 3, owner, NULL) == NULL);

    /*  An owner index past the ids.  */
    owner[11] = 3;
    FL_CHECK(fl_ring_new("n1", 12, 1, s_ids, 3, owner, NULL) == NULL);
    owner[11] = 2;

    /*  A NULL id.  */
    const char *holed[] = { "n1", NULL, "n3" };
    FL_CHECK(fl_ring_new("n1", 12, 1, holed, 3, owner, NULL) == NULL);
}

FL_TEST(cluster_ring_ids_must_be_shorter_than_64_bytes)
{
    char id63[64], id64[65];
    memset(id63, 'a', 63);
    id63[63] = '\0';
    memset(id64, 'b', 64);
    id64[64] = '\0';
    uint16_t owner[4] = { 0, 1, 0, 1 };
    const char *fits[] = { "n1", id63 };
    const char *too_long[] = { "n1", id64 };

    fl_ring_t *ring = fl_ring_new(id63, 4, 1, fits, 2, owner, NULL);
    FL_CHECK(ring != NULL);
    FL_CHECK_STR(fl_ring_owner(ring, 1), id63);
    FL_CHECK_STR(fl_ring_local_id(ring), id63);
    FL_CHECK_INT(fl_ring_owned(ring), ==, 2);
    fl_ring_destroy(&ring);

    FL_CHECK(fl_ring_new("n1", 4, 1, too_long, 2, owner, NULL) == NULL);
    FL_CHECK(fl_ring_new(id64, 4, 1, fits, 2, owner, NULL) == NULL);
}

FL_TEST(cluster_ring_partitions_range_from_1_to_65536)
{
    static uint16_t owner[65537];
    static bool fenced[65537];
    fl_ring_t *ring = fl_ring_new("n2", 65536, 1, s_ids, 3, owner, fenced);
    FL_CHECK(ring != NULL);
    FL_CHECK_INT(fl_ring_partitions(ring), ==, 65536);
    FL_CHECK_STR(fl_ring_owner(ring, 65535), "n1");
    FL_CHECK(fl_ring_owner(ring, 65536) == NULL);
    fl_ring_destroy(&ring);
    FL_CHECK(fl_ring_new("n2", 65537, 1, s_ids, 3, owner, fenced) == NULL);

    ring = fl_ring_new("n2", 1, 1, s_ids, 3, owner, NULL);
    FL_CHECK(ring != NULL);
    FL_CHECK_INT(fl_ring_partitions(ring), ==, 1);
    fl_ring_destroy(&ring);
}

FL_TEST(cluster_ring_gives_each_partition_its_owner)
{
    uint16_t owner[12];
    s_round_robin(owner);
    fl_ring_t *ring = fl_ring_new("n2", 12, 7, s_ids, 3, owner, NULL);
    FL_CHECK(ring != NULL);
    FL_CHECK_INT(fl_ring_partitions(ring), ==, 12);
    FL_CHECK_INT(fl_ring_epoch(ring), ==, 7);
    FL_CHECK_STR(fl_ring_local_id(ring), "n2");
    for (uint32_t p = 0; p < 12; p++) {
        FL_CHECK_STR(fl_ring_owner(ring, p), s_ids[p % 3]);
        FL_CHECK(fl_ring_is_local(ring, p) == (p % 3 == 1));
        FL_CHECK(!fl_ring_is_fenced(ring, p));
    }
    FL_CHECK_INT(fl_ring_owned(ring), ==, 4);
    FL_CHECK(fl_ring_owner(ring, 12) == NULL);
    FL_CHECK(!fl_ring_is_local(ring, 12));
    FL_CHECK(!fl_ring_is_fenced(ring, 12));
    fl_ring_destroy(&ring);
}

FL_TEST(a_ring_tells_which_owners_are_down)
{
    uint16_t owner[12];
    s_round_robin(owner);
    fl_ring_t *ring = fl_ring_new("n2", 12, 7, s_ids, 3, owner, NULL);
    FL_CHECK(ring != NULL);
    for (uint32_t p = 0; p < 12; p++)
        FL_CHECK(!fl_ring_owner_down(ring, p));
    FL_CHECK_INT(fl_ring_mark_down(ring, s_ids[2]), ==, 0);
    FL_CHECK_INT(fl_ring_mark_down(ring, "nobody"), ==, 0);      /* ignored */
    FL_CHECK(fl_ring_is_down(ring, s_ids[2]));
    FL_CHECK(!fl_ring_is_down(ring, s_ids[0]));
    FL_CHECK(!fl_ring_is_down(ring, "nobody"));
    for (uint32_t p = 0; p < 12; p++)
        FL_CHECK(fl_ring_owner_down(ring, p) == (p % 3 == 2));
    FL_CHECK(!fl_ring_owner_down(ring, 12));
    fl_ring_destroy(&ring);
}

FL_TEST(cluster_ring_keeps_its_own_copy_of_the_table)
{
    uint16_t owner[12];
    bool fenced[12] = { false };
    char id[8] = "n2";
    const char *ids[] = { "n1", id, "n3" };
    s_round_robin(owner);
    fenced[1] = true;
    fl_ring_t *ring = fl_ring_new("n2", 12, 1, ids, 3, owner, fenced);
    FL_CHECK(ring != NULL);
    memset(owner, 0, sizeof owner);
    memset(fenced, 0, sizeof fenced);
    snprintf(id, sizeof id, "xx");
    FL_CHECK_STR(fl_ring_owner(ring, 4), "n2");
    FL_CHECK_STR(fl_ring_owner(ring, 5), "n3");
    FL_CHECK(fl_ring_is_fenced(ring, 1));
    FL_CHECK(fl_ring_is_local(ring, 4));
    fl_ring_destroy(&ring);
}

FL_TEST(node_outside_the_ids_owns_nothing)
{
    uint16_t owner[12];
    bool fenced[12];
    s_round_robin(owner);
    memset(fenced, 1, sizeof fenced);
    fl_ring_t *ring = fl_ring_new("n9", 12, 2, s_ids, 3, owner, fenced);
    FL_CHECK(ring != NULL);
    FL_CHECK_STR(fl_ring_local_id(ring), "n9");
    FL_CHECK_INT(fl_ring_owned(ring), ==, 0);
    for (uint32_t p = 0; p < 12; p++) {
        FL_CHECK_STR(fl_ring_owner(ring, p), s_ids[p % 3]);
        FL_CHECK(!fl_ring_is_local(ring, p));
        FL_CHECK(!fl_ring_is_fenced(ring, p));
    }
    const char *owners[8];
    size_t n = 99;
    fl_ring_owners(ring, owners, 8, &n);
    FL_CHECK_INT(n, ==, 3);
    for (size_t i = 0; i < n; i++)
        FL_CHECK_STR(owners[i], s_ids[i]);
    fl_ring_destroy(&ring);
}

FL_TEST(fenced_partition_is_owned_here_but_not_local)
{
    uint16_t owner[12];
    bool fenced[12] = { false };
    s_round_robin(owner);
    fenced[1] = true;                   /* n2's */
    fenced[7] = true;                   /* n2's */
    fl_ring_t *ring = fl_ring_new("n2", 12, 1, s_ids, 3, owner, fenced);
    FL_CHECK(ring != NULL);
    for (uint32_t p = 0; p < 12; p++) {
        bool mine = p % 3 == 1, fence = p == 1 || p == 7;
        FL_CHECK_STR(fl_ring_owner(ring, p), s_ids[p % 3]);
        FL_CHECK(fl_ring_is_fenced(ring, p) == fence);
        FL_CHECK(fl_ring_is_local(ring, p) == (mine && !fence));
    }
    FL_CHECK_STR(fl_ring_owner(ring, 1), "n2");
    FL_CHECK_INT(fl_ring_owned(ring), ==, 4);
    fl_ring_destroy(&ring);
}

FL_TEST(fenced_flags_of_other_owners_partitions_do_not_matter)
{
    uint16_t owner[12];
    bool fenced[12];
    s_round_robin(owner);
    memset(fenced, 0, sizeof fenced);
    for (uint32_t p = 0; p < 12; p++)
        fenced[p] = p % 3 != 1;         /* every partition n2 does not own */
    fl_ring_t *ring = fl_ring_new("n2", 12, 1, s_ids, 3, owner, fenced);
    FL_CHECK(ring != NULL);
    for (uint32_t p = 0; p < 12; p++) {
        FL_CHECK(!fl_ring_is_fenced(ring, p));
        FL_CHECK(fl_ring_is_local(ring, p) == (p % 3 == 1));
        FL_CHECK_STR(fl_ring_owner(ring, p), s_ids[p % 3]);
    }
    FL_CHECK_INT(fl_ring_owned(ring), ==, 4);
    fl_ring_destroy(&ring);
}

FL_TEST(owners_are_listed_once_in_order_of_first_partition)
{
    static const char *const ids[] = { "a", "b", "c", "d" };
    static const uint16_t owner[8] = { 2, 2, 0, 2, 3, 0, 3, 2 };
    fl_ring_t *ring = fl_ring_new("z", 8, 1, ids, 4, owner, NULL);
    FL_CHECK(ring != NULL);
    const char *owners[8] = { NULL };
    size_t n = 99;
    fl_ring_owners(ring, owners, 8, &n);
    FL_CHECK_INT(n, ==, 3);
    FL_CHECK_STR(owners[0], "c");
    FL_CHECK_STR(owners[1], "a");
    FL_CHECK_STR(owners[2], "d");
    FL_CHECK(owners[3] == NULL);

    const char *two[3] = { NULL, NULL, NULL };
    fl_ring_owners(ring, two, 2, &n);
    FL_CHECK_INT(n, ==, 2);
    FL_CHECK_STR(two[0], "c");
    FL_CHECK_STR(two[1], "a");
    FL_CHECK(two[2] == NULL);

    fl_ring_owners(ring, two, 0, &n);
    FL_CHECK_INT(n, ==, 0);
    fl_ring_destroy(&ring);

    ring = fl_ring_new_single("n1", 64, 1);
    fl_ring_owners(ring, owners, 8, &n);
    FL_CHECK_INT(n, ==, 1);
    FL_CHECK_STR(owners[0], "n1");
    fl_ring_destroy(&ring);
}

/*  ---------------------------------------------------------------------
 *  Replicas: the other nodes that keep a copy of a partition.
 */

/*  The ring of LOCAL_ID at epoch 5 over s_ids, partition p of 12
 *  s_ids[p % 3]'s.  */
static fl_ring_t *
s_cluster_ring(const char *local_id)
{
    uint16_t owner[12];
    s_round_robin(owner);
    fl_ring_t *ring = fl_ring_new(local_id, 12, 5, s_ids, 3, owner, NULL);
    FL_CHECK(ring != NULL);
    return ring;
}

/*  The replicas of PARTITION are the N ids of WANT, in order.  */
static void
s_check_replicas(const fl_ring_t *ring, uint32_t partition, const char *const *want, size_t n)
{
    const char *got[FL_RING_REPLICAS_MAX + 2] = { NULL };
    FL_CHECK_INT(fl_ring_replicas(ring, partition, got, FL_RING_REPLICAS_MAX + 2), ==, n);
    for (size_t i = 0; i < n; i++)
        FL_CHECK_STR(got[i], want[i]);
    FL_CHECK(got[n] == NULL);
    FL_CHECK(fl_ring_has_replicas(ring, partition) == (n > 0));
}

FL_TEST(ring_without_replicas_has_none)
{
    fl_ring_t *ring = s_cluster_ring("n2");
    const char *ids[4];
    for (uint32_t p = 0; p < 12; p++) {
        FL_CHECK_INT(fl_ring_replicas(ring, p, ids, 4), ==, 0);
        FL_CHECK(!fl_ring_has_replicas(ring, p));
        FL_CHECK(!fl_ring_is_replica(ring, p));
    }
    fl_ring_destroy(&ring);

    ring = fl_ring_new_single("n1", 16, 1);
    FL_CHECK(!fl_ring_has_replicas(ring, 0));
    FL_CHECK(!fl_ring_is_replica(ring, 0));
    fl_ring_destroy(&ring);
}

FL_TEST(set_replicas_adds_ids_that_are_not_members_yet)
{
    fl_ring_t *ring = s_cluster_ring("n2");
    char id[8] = "n4";
    const char *list[] = { id, "n2" };
    FL_CHECK_INT(fl_ring_set_replicas(ring, 0, list, 2), ==, 0);
    snprintf(id, sizeof id, "xx");          /* the ring keeps its own copy */
    static const char *const want[] = { "n4", "n2" };
    s_check_replicas(ring, 0, want, 2);
    FL_CHECK(fl_ring_is_replica(ring, 0));
    for (uint32_t p = 1; p < 12; p++) {
        FL_CHECK(!fl_ring_has_replicas(ring, p));
        FL_CHECK(!fl_ring_is_replica(ring, p));
    }

    /*  Owners, this node and what it owns are as before.  */
    FL_CHECK_STR(fl_ring_local_id(ring), "n2");
    FL_CHECK_INT(fl_ring_owned(ring), ==, 4);
    for (uint32_t p = 0; p < 12; p++)
        FL_CHECK_STR(fl_ring_owner(ring, p), s_ids[p % 3]);
    const char *owners[8];
    size_t n = 0;
    fl_ring_owners(ring, owners, 8, &n);
    FL_CHECK_INT(n, ==, 3);
    fl_ring_destroy(&ring);
}

FL_TEST(replica_of_a_partition_it_does_not_own_is_not_local)
{
    fl_ring_t *ring = s_cluster_ring("n2");
    const char *list[] = { "n2", "n3" };
    FL_CHECK_INT(fl_ring_set_replicas(ring, 0, list, 2), ==, 0);     /* n1's */
    FL_CHECK(fl_ring_is_replica(ring, 0));
    FL_CHECK(!fl_ring_is_local(ring, 0));
    FL_CHECK_STR(fl_ring_owner(ring, 0), "n1");
    fl_ring_destroy(&ring);

    /*  A node outside the ids becomes a replica.  */
    ring = s_cluster_ring("n9");
    const char *mine[] = { "n9" };
    FL_CHECK_INT(fl_ring_set_replicas(ring, 7, mine, 1), ==, 0);
    FL_CHECK(fl_ring_is_replica(ring, 7));
    FL_CHECK(!fl_ring_is_replica(ring, 6));
    FL_CHECK(!fl_ring_is_local(ring, 7));
    FL_CHECK_STR(fl_ring_local_id(ring), "n9");
    fl_ring_destroy(&ring);
}

FL_TEST(set_replicas_replaces_a_partitions_list)
{
    fl_ring_t *ring = s_cluster_ring("n2");
    const char *first[] = { "n2", "n3" }, *second[] = { "n3", "n5" };
    FL_CHECK_INT(fl_ring_set_replicas(ring, 4, first, 2), ==, 0);
    FL_CHECK(fl_ring_is_replica(ring, 4));
    FL_CHECK_INT(fl_ring_set_replicas(ring, 4, second, 2), ==, 0);
    static const char *const want[] = { "n3", "n5" };
    s_check_replicas(ring, 4, want, 2);
    FL_CHECK(!fl_ring_is_replica(ring, 4));

    /*  Another partition's list is its own.  */
    FL_CHECK_INT(fl_ring_set_replicas(ring, 5, first, 2), ==, 0);
    static const char *const want5[] = { "n2", "n3" };
    s_check_replicas(ring, 5, want5, 2);
    s_check_replicas(ring, 4, want, 2);
    fl_ring_destroy(&ring);
}

FL_TEST(shorter_replica_list_keeps_nothing_of_the_longer_one)
{
    fl_ring_t *ring = s_cluster_ring("n2");
    const char *one[] = { "d" }, *three[] = { "a", "n2", "c" }, *other[] = { "e" };
    FL_CHECK_INT(fl_ring_set_replicas(ring, 1, one, 1), ==, 0);
    /*  A longer list than any before: the others keep theirs.  */
    FL_CHECK_INT(fl_ring_set_replicas(ring, 0, three, 3), ==, 0);
    static const char *const want_one[] = { "d" };
    s_check_replicas(ring, 1, want_one, 1);
    s_check_replicas(ring, 0, (const char *const *) three, 3);
    FL_CHECK(fl_ring_is_replica(ring, 0));

    FL_CHECK_INT(fl_ring_set_replicas(ring, 0, other, 1), ==, 0);
    static const char *const want_other[] = { "e" };
    s_check_replicas(ring, 0, want_other, 1);
    FL_CHECK(!fl_ring_is_replica(ring, 0));
    s_check_replicas(ring, 1, want_one, 1);

    /*  No replicas at all.  */
    FL_CHECK_INT(fl_ring_set_replicas(ring, 0, other, 0), ==, 0);
    s_check_replicas(ring, 0, NULL, 0);
    s_check_replicas(ring, 1, want_one, 1);

    /*  MAX bounds what is written.  */
    FL_CHECK_INT(fl_ring_set_replicas(ring, 2, three, 3), ==, 0);
    const char *got[2] = { NULL, NULL };
    FL_CHECK_INT(fl_ring_replicas(ring, 2, got, 1), ==, 1);
    FL_CHECK_STR(got[0], "a");
    FL_CHECK(got[1] == NULL);
    FL_CHECK_INT(fl_ring_replicas(ring, 2, got, 0), ==, 0);
    fl_ring_destroy(&ring);
}

FL_TEST(empty_replica_list_on_a_ring_without_replicas_is_accepted)
{
    fl_ring_t *ring = s_cluster_ring("n2");
    const char *none[1] = { NULL };
    FL_CHECK_INT(fl_ring_set_replicas(ring, 3, none, 0), ==, 0);
    for (uint32_t p = 0; p < 12; p++) {
        FL_CHECK(!fl_ring_has_replicas(ring, p));
        FL_CHECK(!fl_ring_is_replica(ring, p));
    }
    fl_ring_destroy(&ring);
}

FL_TEST(more_than_the_most_replicas_are_refused)
{
    fl_ring_t *ring = s_cluster_ring("n2");
    static const char *const many[FL_RING_REPLICAS_MAX + 1] = {
        "r0", "r1", "r2", "r3", "r4", "r5", "r6", "r7", "n2",
    };
    FL_CHECK_INT(fl_ring_set_replicas(ring, 0, many, FL_RING_REPLICAS_MAX + 1), ==, -1);
    FL_CHECK(!fl_ring_has_replicas(ring, 0));

    FL_CHECK_INT(fl_ring_set_replicas(ring, 0, many, FL_RING_REPLICAS_MAX), ==, 0);
    s_check_replicas(ring, 0, many, FL_RING_REPLICAS_MAX);
    /*  A refused list leaves the one before.  */
    FL_CHECK_INT(fl_ring_set_replicas(ring, 0, many, FL_RING_REPLICAS_MAX + 1), ==, -1);
    s_check_replicas(ring, 0, many, FL_RING_REPLICAS_MAX);
    FL_CHECK(!fl_ring_is_replica(ring, 0));
    fl_ring_destroy(&ring);
}

FL_TEST(replicas_of_a_partition_out_of_range_are_refused)
{
    fl_ring_t *ring = s_cluster_ring("n2");
    const char *list[] = { "n2" };
    FL_CHECK_INT(fl_ring_set_replicas(ring, 12, list, 1), ==, -1);
    FL_CHECK_INT(fl_ring_set_replicas(ring, 70000, list, 1), ==, -1);
    const char *got[2];
    FL_CHECK_INT(fl_ring_replicas(ring, 12, got, 2), ==, 0);
    FL_CHECK(!fl_ring_is_replica(ring, 12));
    FL_CHECK(!fl_ring_has_replicas(ring, 12));
    for (uint32_t p = 0; p < 12; p++)
        FL_CHECK(!fl_ring_has_replicas(ring, p));

    /*  Once replicas exist, out of range still answers nothing.  */
    FL_CHECK_INT(fl_ring_set_replicas(ring, 11, list, 1), ==, 0);
    FL_CHECK_INT(fl_ring_replicas(ring, 12, got, 2), ==, 0);
    FL_CHECK(!fl_ring_is_replica(ring, 12));
    FL_CHECK(!fl_ring_has_replicas(ring, 12));
    fl_ring_destroy(&ring);
}

FL_TEST(replica_ids_must_be_given_and_shorter_than_64_bytes)
{
    fl_ring_t *ring = s_cluster_ring("n2");
    char id64[65];
    memset(id64, 'b', 64);
    id64[64] = '\0';
    const char *too_long[] = { "n3", id64 };
    const char *holed[] = { "n3", NULL };
    FL_CHECK_INT(fl_ring_set_replicas(ring, 0, too_long, 2), ==, -1);
    FL_CHECK_INT(fl_ring_set_replicas(ring, 0, holed, 2), ==, -1);
    FL_CHECK(!fl_ring_has_replicas(ring, 0));
    id64[63] = '\0';
    FL_CHECK_INT(fl_ring_set_replicas(ring, 0, too_long, 2), ==, 0);
    s_check_replicas(ring, 0, too_long, 2);
    fl_ring_destroy(&ring);
}

FL_TEST(mark_down_knows_members_added_by_set_replicas_after_it)
{
    fl_ring_t *ring = s_cluster_ring("n2");
    const char *list[] = { "n4", "n3" };
    FL_CHECK_INT(fl_ring_set_replicas(ring, 0, list, 2), ==, 0);
    FL_CHECK_INT(fl_ring_mark_down(ring, "n4"), ==, 0);
    FL_CHECK(fl_ring_is_down(ring, "n4"));
    FL_CHECK(!fl_ring_is_down(ring, "n3"));
    FL_CHECK(!fl_ring_is_down(ring, "n1"));
    for (uint32_t p = 0; p < 12; p++)
        FL_CHECK(!fl_ring_owner_down(ring, p));
    FL_CHECK_INT(fl_ring_mark_down(ring, "n3"), ==, 0);
    for (uint32_t p = 0; p < 12; p++)
        FL_CHECK(fl_ring_owner_down(ring, p) == (p % 3 == 2));
    fl_ring_destroy(&ring);
}

FL_TEST(mark_down_before_set_replicas_still_holds_after_it)
{
    fl_ring_t *ring = s_cluster_ring("n2");
    FL_CHECK_INT(fl_ring_mark_down(ring, "n3"), ==, 0);
    const char *list[] = { "n5", "n3", "n6" };
    FL_CHECK_INT(fl_ring_set_replicas(ring, 1, list, 3), ==, 0);
    FL_CHECK(fl_ring_is_down(ring, "n3"));
    FL_CHECK(!fl_ring_is_down(ring, "n5"));
    FL_CHECK(!fl_ring_is_down(ring, "n6"));
    for (uint32_t p = 0; p < 12; p++)
        FL_CHECK(fl_ring_owner_down(ring, p) == (p % 3 == 2));

    /*  And a member added after the mark can be marked in its turn.  */
    FL_CHECK_INT(fl_ring_mark_down(ring, "n6"), ==, 0);
    FL_CHECK(fl_ring_is_down(ring, "n6"));
    FL_CHECK(!fl_ring_is_down(ring, "n5"));
    FL_CHECK(fl_ring_is_down(ring, "n3"));
    static const char *const want[] = { "n5", "n3", "n6" };
    s_check_replicas(ring, 1, want, 3);
    fl_ring_destroy(&ring);
}

/*  ---------------------------------------------------------------------
 *  Partitions taken over from a primary that went down.
 */

FL_TEST(promoting_partition_is_owned_here_but_not_local)
{
    fl_ring_t *ring = s_cluster_ring("n2");
    bool promoting[12] = { false };
    promoting[1] = true;                /* n2's */
    promoting[10] = true;               /* n2's */
    FL_CHECK_INT(fl_ring_set_promoting(ring, promoting), ==, 0);
    promoting[4] = true;                /* the ring keeps its own copy */
    for (uint32_t p = 0; p < 12; p++) {
        bool mine = p % 3 == 1, promo = p == 1 || p == 10;
        FL_CHECK(fl_ring_is_promoting(ring, p) == promo);
        FL_CHECK(fl_ring_is_local(ring, p) == (mine && !promo));
        FL_CHECK_STR(fl_ring_owner(ring, p), s_ids[p % 3]);
        FL_CHECK(!fl_ring_is_fenced(ring, p));
    }
    FL_CHECK_INT(fl_ring_owned(ring), ==, 4);
    FL_CHECK(!fl_ring_is_promoting(ring, 12));
    fl_ring_destroy(&ring);
}

FL_TEST(only_partitions_this_node_owns_are_marked_promoting)
{
    fl_ring_t *ring = s_cluster_ring("n2");
    bool promoting[12];
    for (uint32_t p = 0; p < 12; p++)
        promoting[p] = p % 3 != 1;      /* every partition n2 does not own */
    FL_CHECK_INT(fl_ring_set_promoting(ring, promoting), ==, 0);
    for (uint32_t p = 0; p < 12; p++) {
        FL_CHECK(!fl_ring_is_promoting(ring, p));
        FL_CHECK(fl_ring_is_local(ring, p) == (p % 3 == 1));
    }
    fl_ring_destroy(&ring);

    /*  Mixed: only this node's flags count.  */
    ring = s_cluster_ring("n2");
    promoting[7] = true;                /* n2's */
    FL_CHECK_INT(fl_ring_set_promoting(ring, promoting), ==, 0);
    for (uint32_t p = 0; p < 12; p++)
        FL_CHECK(fl_ring_is_promoting(ring, p) == (p == 7));
    fl_ring_destroy(&ring);

    /*  A node that owns nothing takes over nothing.  */
    ring = s_cluster_ring("n9");
    memset(promoting, 1, sizeof promoting);
    FL_CHECK_INT(fl_ring_set_promoting(ring, promoting), ==, 0);
    for (uint32_t p = 0; p < 12; p++)
        FL_CHECK(!fl_ring_is_promoting(ring, p));
    fl_ring_destroy(&ring);
}

FL_TEST(no_promoting_flags_mark_no_partition)
{
    fl_ring_t *ring = s_cluster_ring("n2");
    FL_CHECK_INT(fl_ring_set_promoting(ring, NULL), ==, 0);
    for (uint32_t p = 0; p < 12; p++) {
        FL_CHECK(!fl_ring_is_promoting(ring, p));
        FL_CHECK(fl_ring_is_local(ring, p) == (p % 3 == 1));
    }
    bool none[12] = { false };
    FL_CHECK_INT(fl_ring_set_promoting(ring, none), ==, 0);
    for (uint32_t p = 0; p < 12; p++)
        FL_CHECK(!fl_ring_is_promoting(ring, p));
    fl_ring_destroy(&ring);

    ring = fl_ring_new_single("n1", 16, 1);
    for (uint32_t p = 0; p < 16; p++)
        FL_CHECK(!fl_ring_is_promoting(ring, p));
    fl_ring_destroy(&ring);
}
