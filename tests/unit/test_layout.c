/*  tests/unit/test_layout.c — the ring as ClusterMeta holds it: the owner
 *  table and its checks, a cluster without a table, changing an owner,
 *  moves, and the ring snapshot made from the metadata.
 */
#include "tests/testlib.h"
#include "cluster/layout.h"
#include "cluster/placement.h"
#include "node/error.h"

#define P 16
#define MEMBERS_MAX 12
#define MOVES_MAX 4

/*  A ClusterMeta and the storage its pointers point into.  */
typedef struct {
    Flow__Cluster__ClusterMeta meta;
    Flow__Cluster__Member member[MEMBERS_MAX];
    Flow__Cluster__Member *members[MEMBERS_MAX];
    char *owner_ids[FL_LAYOUT_IDS_MAX + 1];
    uint8_t owners[2 * P + 2];
    Flow__Cluster__PartitionMove move[MOVES_MAX];
    Flow__Cluster__PartitionMove *moves[MOVES_MAX];
} s_meta_t;

static const char *const s_members[] = { "n1", "n2", "n3" };

/*  Metadata of P partitions at EPOCH with the members n1, n2, n3 and no
 *  owner table.  */
static void
s_meta_init(s_meta_t *m, uint64_t epoch)
{
    memset(m, 0, sizeof *m);
    flow__cluster__cluster_meta__init(&m->meta);
    m->meta.partitions = P;
    m->meta.epoch = epoch;
    for (size_t i = 0; i < 3; i++) {
        flow__cluster__member__init(&m->member[i]);
        m->member[i].node_id = (char *) s_members[i];
        m->members[i] = &m->member[i];
    }
    m->meta.members = m->members;
    m->meta.n_members = 3;
}

/*  Gives partition p to IDS[OWNER[p]] (NIDS ids), the owners written as
 *  P little-endian u16.  */
static void
s_meta_table(s_meta_t *m, const char *const *ids, size_t nids, const uint16_t *owner)
{
    FL_CHECK(nids <= FL_LAYOUT_IDS_MAX + 1);
    for (size_t i = 0; i < nids; i++)
        m->owner_ids[i] = (char *) ids[i];
    m->meta.owner_ids = m->owner_ids;
    m->meta.n_owner_ids = nids;
    for (size_t p = 0; p < P; p++) {
        m->owners[2 * p] = (uint8_t) owner[p];
        m->owners[2 * p + 1] = (uint8_t) (owner[p] >> 8);
    }
    m->meta.owners.data = m->owners;
    m->meta.owners.len = 2 * P;
}

static void
s_meta_move(s_meta_t *m, uint32_t partition, const char *to)
{
    FL_CHECK_INT(m->meta.n_moves, <, MOVES_MAX);
    Flow__Cluster__PartitionMove *move = &m->move[m->meta.n_moves];
    flow__cluster__partition_move__init(move);
    move->partition = partition;
    move->to = (char *) to;
    m->moves[m->meta.n_moves++] = move;
    m->meta.moves = m->moves;
}

static const char *const s_ids[] = { "a", "b", "c" };

/*  Mostly runs of a, b and c; partition 0 is b's, so the owners in order
 *  of first appearance are b, a, c.  */
static const uint16_t s_owner[P] = { 1, 0, 0, 0, 1, 1, 1, 1, 1, 1, 2, 2, 2, 0, 2, 2 };

/*  The read of M, which must fail with FL_E_INVAL and leave no table.  */
static void
s_check_refused(const s_meta_t *m)
{
    fl_layout_t layout;
    FL_CHECK_INT(fl_layout_read(&m->meta, &layout), ==, FL_E_INVAL);
    FL_CHECK(layout.owner == NULL);
    fl_layout_release(&layout);
    FL_CHECK(fl_layout_ring(&m->meta, "n1", NULL) == NULL);
}

FL_TEST(no_table_means_the_first_member_owns_every_partition)
{
    s_meta_t m;
    s_meta_init(&m, 3);
    fl_layout_t layout;
    FL_CHECK_INT(fl_layout_read(&m.meta, &layout), ==, 0);
    FL_CHECK_INT(layout.partitions, ==, P);
    FL_CHECK_INT(layout.nids, ==, 1);
    FL_CHECK_STR(layout.ids[0], "n1");
    for (uint32_t p = 0; p < P; p++)
        FL_CHECK_STR(fl_layout_owner(&layout, p), "n1");
    FL_CHECK(fl_layout_owner(&layout, P) == NULL);
    FL_CHECK_INT(fl_layout_owned(&layout, "n1"), ==, P);
    FL_CHECK_INT(fl_layout_owned(&layout, "n2"), ==, 0);
    fl_layout_release(&layout);
    FL_CHECK(layout.owner == NULL);
}

FL_TEST(table_gives_each_partition_its_owner)
{
    s_meta_t m;
    s_meta_init(&m, 3);
    s_meta_table(&m, s_ids, 3, s_owner);
    fl_layout_t layout;
    FL_CHECK_INT(fl_layout_read(&m.meta, &layout), ==, 0);
    FL_CHECK_INT(layout.partitions, ==, P);
    FL_CHECK_INT(layout.nids, ==, 3);
    for (uint32_t p = 0; p < P; p++) {
        FL_CHECK_INT(layout.owner[p], ==, s_owner[p]);
        FL_CHECK_STR(fl_layout_owner(&layout, p), s_ids[s_owner[p]]);
    }
    FL_CHECK(fl_layout_owner(&layout, P) == NULL);
    FL_CHECK_INT(fl_layout_owned(&layout, "a"), ==, 4);
    FL_CHECK_INT(fl_layout_owned(&layout, "b"), ==, 7);
    FL_CHECK_INT(fl_layout_owned(&layout, "c"), ==, 5);
    FL_CHECK_INT(fl_layout_owned(&layout, "n1"), ==, 0);
    fl_layout_release(&layout);
}

FL_TEST(owners_of_the_wrong_length_are_refused)
{
    s_meta_t m;
    s_meta_init(&m, 3);
    s_meta_table(&m, s_ids, 3, s_owner);
    static const size_t lengths[] = { 0, 1, 2 * P - 2, 2 * P - 1, 2 * P + 1, 2 * P + 2 };
    for (size_t i = 0; i < sizeof lengths / sizeof lengths[0]; i++) {
        m.meta.owners.len = lengths[i];
        s_check_refused(&m);
    }
}

FL_TEST(owner_index_past_the_ids_is_refused)
{
    s_meta_t m;
    s_meta_init(&m, 3);
    uint16_t owner[P];
    memcpy(owner, s_owner, sizeof owner);
    owner[P - 1] = 3;
    s_meta_table(&m, s_ids, 3, owner);
    s_check_refused(&m);

    /*  Index 1 written big-endian reads as 256.  */
    s_meta_table(&m, s_ids, 3, s_owner);
    m.owners[2 * 5] = 0;
    m.owners[2 * 5 + 1] = 1;
    s_check_refused(&m);
}

FL_TEST(no_partitions_or_no_members_is_refused)
{
    s_meta_t m;
    s_meta_init(&m, 3);
    m.meta.partitions = 0;
    s_check_refused(&m);

    s_meta_init(&m, 3);
    m.meta.n_members = 0;
    s_check_refused(&m);

    s_meta_init(&m, 3);
    s_meta_table(&m, s_ids, 3, s_owner);
    m.meta.n_members = 0;
    s_check_refused(&m);
}

FL_TEST(more_than_128_owner_ids_are_refused)
{
    static char names[FL_LAYOUT_IDS_MAX + 1][8];
    static const char *ids[FL_LAYOUT_IDS_MAX + 1];
    for (size_t i = 0; i <= FL_LAYOUT_IDS_MAX; i++) {
        snprintf(names[i], sizeof names[i], "n%zu", i);
        ids[i] = names[i];
    }
    uint16_t owner[P];
    for (uint16_t p = 0; p < P; p++)
        owner[p] = p;
    s_meta_t m;
    s_meta_init(&m, 3);
    s_meta_table(&m, ids, FL_LAYOUT_IDS_MAX + 1, owner);
    s_check_refused(&m);

    s_meta_table(&m, ids, FL_LAYOUT_IDS_MAX, owner);
    fl_layout_t layout;
    FL_CHECK_INT(fl_layout_read(&m.meta, &layout), ==, 0);
    FL_CHECK_INT(layout.nids, ==, FL_LAYOUT_IDS_MAX);
    fl_layout_release(&layout);
}

FL_TEST(set_owner_adds_a_new_id_and_reuses_known_ones)
{
    s_meta_t m;
    s_meta_init(&m, 3);
    s_meta_table(&m, s_ids, 3, s_owner);
    fl_layout_t layout;
    FL_CHECK_INT(fl_layout_read(&m.meta, &layout), ==, 0);

    const char *d = "d";
    FL_CHECK_INT(fl_layout_set_owner(&layout, 3, d), ==, 0);
    FL_CHECK_INT(layout.nids, ==, 4);
    FL_CHECK(layout.ids[3] == d);
    FL_CHECK_INT(layout.owner[3], ==, 3);
    FL_CHECK_STR(fl_layout_owner(&layout, 3), "d");

    /*  The same id in another string: no new entry.  */
    char d_again[2] = "d";
    FL_CHECK_INT(fl_layout_set_owner(&layout, 15, d_again), ==, 0);
    FL_CHECK_INT(layout.nids, ==, 4);
    FL_CHECK_INT(layout.owner[15], ==, 3);

    FL_CHECK_INT(fl_layout_set_owner(&layout, 0, "a"), ==, 0);
    FL_CHECK_INT(layout.nids, ==, 4);
    FL_CHECK_INT(layout.owner[0], ==, 0);

    FL_CHECK_INT(fl_layout_owned(&layout, "a"), ==, 4);
    FL_CHECK_INT(fl_layout_owned(&layout, "b"), ==, 6);
    FL_CHECK_INT(fl_layout_owned(&layout, "c"), ==, 4);
    FL_CHECK_INT(fl_layout_owned(&layout, "d"), ==, 2);

    FL_CHECK_INT(fl_layout_set_owner(&layout, P, "e"), ==, FL_E_INVAL);
    FL_CHECK_INT(layout.nids, ==, 4);
    fl_layout_release(&layout);
}

FL_TEST(set_owner_refuses_an_id_past_128)
{
    static char names[FL_LAYOUT_IDS_MAX][8];
    static const char *ids[FL_LAYOUT_IDS_MAX];
    for (size_t i = 0; i < FL_LAYOUT_IDS_MAX; i++) {
        snprintf(names[i], sizeof names[i], "n%zu", i);
        ids[i] = names[i];
    }
    uint16_t owner[P];
    for (uint16_t p = 0; p < P; p++)
        owner[p] = p;
    s_meta_t m;
    s_meta_init(&m, 3);
    s_meta_table(&m, ids, FL_LAYOUT_IDS_MAX, owner);
    fl_layout_t layout;
    FL_CHECK_INT(fl_layout_read(&m.meta, &layout), ==, 0);
    FL_CHECK_INT(fl_layout_set_owner(&layout, 2, "new"), ==, FL_E_INVAL);
    FL_CHECK_INT(layout.nids, ==, FL_LAYOUT_IDS_MAX);
    FL_CHECK_STR(fl_layout_owner(&layout, 2), "n2");
    FL_CHECK_INT(fl_layout_set_owner(&layout, 2, "n127"), ==, 0);
    FL_CHECK_STR(fl_layout_owner(&layout, 2), "n127");
    fl_layout_release(&layout);
}

FL_TEST(move_is_found_by_partition)
{
    s_meta_t m;
    s_meta_init(&m, 3);
    s_meta_table(&m, s_ids, 3, s_owner);
    FL_CHECK(fl_layout_move(&m.meta, 3) == NULL);
    s_meta_move(&m, 3, "b");
    s_meta_move(&m, 12, "a");
    s_meta_move(&m, 0, "c");
    const Flow__Cluster__PartitionMove *move = fl_layout_move(&m.meta, 3);
    FL_CHECK(move == m.moves[0]);
    FL_CHECK_STR(move->to, "b");
    FL_CHECK_STR(fl_layout_move(&m.meta, 12)->to, "a");
    FL_CHECK_STR(fl_layout_move(&m.meta, 0)->to, "c");
    FL_CHECK(fl_layout_move(&m.meta, 4) == NULL);
    FL_CHECK(fl_layout_move(&m.meta, P) == NULL);
}

FL_TEST(ring_has_the_table_owners_the_epoch_and_the_fences)
{
    s_meta_t m;
    s_meta_init(&m, 9);
    s_meta_table(&m, s_ids, 3, s_owner);
    bool fenced[P] = { false };
    fenced[4] = true;                   /* b's */
    fenced[0] = true;                   /* b's */
    fenced[1] = true;                   /* a's: no effect on b's ring */
    fl_ring_t *ring = fl_layout_ring(&m.meta, "b", fenced);
    FL_CHECK(ring != NULL);
    FL_CHECK_INT(fl_ring_partitions(ring), ==, P);
    FL_CHECK_INT(fl_ring_epoch(ring), ==, 9);
    FL_CHECK_STR(fl_ring_local_id(ring), "b");
    for (uint32_t p = 0; p < P; p++) {
        bool mine = s_owner[p] == 1, fence = p == 0 || p == 4;
        FL_CHECK_STR(fl_ring_owner(ring, p), s_ids[s_owner[p]]);
        FL_CHECK(fl_ring_is_fenced(ring, p) == fence);
        FL_CHECK(fl_ring_is_local(ring, p) == (mine && !fence));
    }
    FL_CHECK_INT(fl_ring_owned(ring), ==, 7);
    const char *owners[4];
    size_t n = 0;
    fl_ring_owners(ring, owners, 4, &n);
    FL_CHECK_INT(n, ==, 3);
    FL_CHECK_STR(owners[0], "b");
    FL_CHECK_STR(owners[1], "a");
    FL_CHECK_STR(owners[2], "c");
    fl_ring_destroy(&ring);

    /*  A member that owns nothing yet.  */
    ring = fl_layout_ring(&m.meta, "n3", NULL);
    FL_CHECK(ring != NULL);
    FL_CHECK_INT(fl_ring_owned(ring), ==, 0);
    FL_CHECK_STR(fl_ring_owner(ring, 10), "c");
    fl_ring_destroy(&ring);
}

FL_TEST(ring_marks_the_owners_of_members_that_are_down)
{
    s_meta_t m;
    s_meta_init(&m, 9);
    s_meta_table(&m, s_ids, 3, s_owner);
    m.member[2].node_id = "c";
    m.member[2].state = FLOW__CLUSTER__MEMBER_STATE__MEMBER_DOWN;
    m.member[1].node_id = "b";
    m.member[1].state = FLOW__CLUSTER__MEMBER_STATE__MEMBER_UP;
    fl_ring_t *ring = fl_layout_ring(&m.meta, "b", NULL);
    FL_CHECK(ring != NULL);
    FL_CHECK(fl_ring_is_down(ring, "c"));
    FL_CHECK(!fl_ring_is_down(ring, "a"));
    FL_CHECK(!fl_ring_is_down(ring, "b"));
    uint32_t owned_by_c = 0;
    for (uint32_t p = 0; p < P; p++) {
        FL_CHECK(fl_ring_owner_down(ring, p) == (strcmp(s_ids[s_owner[p]], "c") == 0));
        owned_by_c += strcmp(s_ids[s_owner[p]], "c") == 0;
    }
    fl_ring_destroy(&ring);
    FL_CHECK(owned_by_c > 0);
    FL_CHECK_INT(fl_layout_unavailable(&m.meta), ==, owned_by_c);
    m.member[2].state = FLOW__CLUSTER__MEMBER_STATE__MEMBER_UP;
    FL_CHECK_INT(fl_layout_unavailable(&m.meta), ==, 0);
}

FL_TEST(ring_without_a_table_is_held_by_the_first_member)
{
    s_meta_t m;
    s_meta_init(&m, 5);
    fl_ring_t *ring = fl_layout_ring(&m.meta, "n2", NULL);
    FL_CHECK(ring != NULL);
    FL_CHECK_INT(fl_ring_epoch(ring), ==, 5);
    FL_CHECK_STR(fl_ring_local_id(ring), "n2");
    FL_CHECK_INT(fl_ring_owned(ring), ==, 0);
    for (uint32_t p = 0; p < P; p++) {
        FL_CHECK_STR(fl_ring_owner(ring, p), "n1");
        FL_CHECK(!fl_ring_is_local(ring, p));
    }
    fl_ring_destroy(&ring);

    ring = fl_layout_ring(&m.meta, "n1", NULL);
    FL_CHECK(ring != NULL);
    FL_CHECK_INT(fl_ring_owned(ring), ==, P);
    fl_ring_destroy(&ring);
}

/*  ---------------------------------------------------------------------
 *  Copies: which members keep a partition besides its owner.
 */

static const char *const s_nodes[] = {
    "n1", "n2", "n3", "n4", "n5", "n6", "n7", "n8", "n9", "n10", "n11", "n12",
};

/*  Metadata of P partitions at EPOCH keeping REPLICAS copies, with the
 *  NMEMBERS members n1, n2, ... up, partition p owned by member p %
 *  NMEMBERS.  */
static void
s_meta_cluster(s_meta_t *m, uint64_t epoch, size_t nmembers, uint32_t replicas)
{
    FL_CHECK(nmembers <= MEMBERS_MAX);
    s_meta_init(m, epoch);
    for (size_t i = 0; i < nmembers; i++) {
        flow__cluster__member__init(&m->member[i]);
        m->member[i].node_id = (char *) s_nodes[i];
        m->member[i].state = FLOW__CLUSTER__MEMBER_STATE__MEMBER_UP;
        m->members[i] = &m->member[i];
    }
    m->meta.n_members = nmembers;
    m->meta.replicas = replicas;
    uint16_t owner[P];
    for (uint16_t p = 0; p < P; p++)
        owner[p] = (uint16_t) (p % nmembers);
    s_meta_table(m, s_nodes, nmembers, owner);
}

/*  COPIES has, for every partition, the lists of the placement of REPLICAS
 *  copies over the N ids IDS.  */
static void
s_check_copies_over(const fl_placement_t *copies, uint32_t replicas, const char *const *ids,
                    size_t n)
{
    FL_CHECK(copies != NULL);
    fl_placement_t *want = fl_placement_new(P, replicas, ids, n);
    FL_CHECK(want != NULL);
    FL_CHECK_INT(fl_placement_partitions(copies), ==, P);
    FL_CHECK_INT(fl_placement_replicas(copies), ==, fl_placement_replicas(want));
    for (uint32_t p = 0; p < P; p++) {
        const char *a[16], *b[16];
        size_t na = fl_placement_owners(copies, p, a, 16);
        size_t nb = fl_placement_owners(want, p, b, 16);
        FL_CHECK_INT(na, ==, nb);
        for (size_t i = 0; i < na; i++)
            FL_CHECK_STR(a[i], b[i]);
    }
    fl_placement_destroy(&want);
}

/*  Whether ID is among the N ids of LIST.  */
static bool
s_among(const char *id, const char *const *list, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(list[i], id) == 0)
            return true;
    return false;
}

FL_TEST(copies_are_none_when_the_cluster_keeps_one_copy)
{
    s_meta_t m;
    s_meta_cluster(&m, 4, 3, 0);
    FL_CHECK(fl_layout_copies(&m.meta) == NULL);
    m.meta.replicas = 1;
    FL_CHECK(fl_layout_copies(&m.meta) == NULL);
    const char *ids[4];
    FL_CHECK_INT(fl_layout_replicas(&m.meta, NULL, "n1", 0, ids, 4), ==, 0);

    m.meta.replicas = 2;
    fl_placement_t *copies = fl_layout_copies(&m.meta);
    FL_CHECK(copies != NULL);
    fl_placement_destroy(&copies);
}

FL_TEST(copies_are_none_with_fewer_than_two_members_keeping_them)
{
    s_meta_t m;
    s_meta_cluster(&m, 4, 1, 3);
    FL_CHECK(fl_layout_copies(&m.meta) == NULL);

    /*  Three members, two of them leaving.  */
    s_meta_cluster(&m, 4, 3, 3);
    m.member[0].state = FLOW__CLUSTER__MEMBER_STATE__MEMBER_LEAVING;
    m.member[2].state = FLOW__CLUSTER__MEMBER_STATE__MEMBER_LEAVING;
    FL_CHECK(fl_layout_copies(&m.meta) == NULL);
    fl_ring_t *ring = fl_layout_ring(&m.meta, "n2", NULL);
    FL_CHECK(ring != NULL);
    for (uint32_t p = 0; p < P; p++)
        FL_CHECK(!fl_ring_has_replicas(ring, p));
    fl_ring_destroy(&ring);

    /*  One of them back: two keep copies.  */
    m.member[2].state = FLOW__CLUSTER__MEMBER_STATE__MEMBER_JOINING;
    fl_placement_t *copies = fl_layout_copies(&m.meta);
    static const char *const two[] = { "n2", "n3" };
    s_check_copies_over(copies, 3, two, 2);
    fl_placement_destroy(&copies);
}

FL_TEST(leaving_members_keep_no_copies_and_down_members_do)
{
    s_meta_t m;
    s_meta_cluster(&m, 4, 4, 3);
    m.member[1].state = FLOW__CLUSTER__MEMBER_STATE__MEMBER_LEAVING;     /* n2 */
    m.member[2].state = FLOW__CLUSTER__MEMBER_STATE__MEMBER_DOWN;        /* n3 */
    m.member[3].state = FLOW__CLUSTER__MEMBER_STATE__MEMBER_JOINING;     /* n4 */
    fl_placement_t *copies = fl_layout_copies(&m.meta);
    static const char *const keep[] = { "n1", "n3", "n4" };
    s_check_copies_over(copies, 3, keep, 3);
    FL_CHECK_INT(fl_placement_count(copies, "n2", false), ==, 0);
    FL_CHECK_INT(fl_placement_count(copies, "n3", false), ==, P);

    /*  The leaving member is no partition's replica; the down one is a
     *  replica of every partition of the members that keep copies, but
     *  its own.  */
    for (uint32_t p = 0; p < P; p++) {
        const char *ids[FL_RING_REPLICAS_MAX];
        const char *owner = s_nodes[p % 4];
        size_t n = fl_layout_replicas(&m.meta, copies, owner, p, ids, FL_RING_REPLICAS_MAX);
        FL_CHECK_INT(n, ==, 2);
        FL_CHECK(!s_among("n2", ids, n));
        /*  (The leaving n2's own partitions take the first two of three.)  */
        if (strcmp(owner, "n2") != 0)
            FL_CHECK(s_among("n3", ids, n) == (strcmp(owner, "n3") != 0));
    }
    fl_placement_destroy(&copies);
}

FL_TEST(replicas_are_the_copies_list_without_the_owner)
{
    s_meta_t m;
    s_meta_cluster(&m, 4, 3, 3);
    fl_placement_t *copies = fl_layout_copies(&m.meta);
    FL_CHECK(copies != NULL);
    for (uint32_t p = 0; p < P; p++) {
        const char *list[4], *ids[FL_RING_REPLICAS_MAX];
        size_t nlist = fl_placement_owners(copies, p, list, 4);
        FL_CHECK_INT(nlist, ==, 3);
        const char *owner = s_nodes[p % 3];
        size_t n = fl_layout_replicas(&m.meta, copies, owner, p, ids, FL_RING_REPLICAS_MAX);
        FL_CHECK_INT(n, ==, 2);
        FL_CHECK(!s_among(owner, ids, n));
        /*  The list's order, the owner left out.  */
        size_t k = 0;
        for (size_t i = 0; i < nlist; i++)
            if (strcmp(list[i], owner) != 0) {
                FL_CHECK(k < n);
                FL_CHECK_STR(ids[k], list[i]);
                k++;
            }
        FL_CHECK_INT(k, ==, n);
    }
    fl_placement_destroy(&copies);
}

FL_TEST(replicas_leave_out_the_node_the_partition_moves_to)
{
    s_meta_t m;
    s_meta_cluster(&m, 4, 3, 3);
    s_meta_move(&m, 3, "n2");           /* n1's, to n2 */
    s_meta_move(&m, 8, "n9");           /* n3's, to a node that keeps no copy */
    fl_placement_t *copies = fl_layout_copies(&m.meta);
    FL_CHECK(copies != NULL);
    const char *ids[FL_RING_REPLICAS_MAX];
    size_t n = fl_layout_replicas(&m.meta, copies, "n1", 3, ids, FL_RING_REPLICAS_MAX);
    FL_CHECK_INT(n, ==, 1);
    FL_CHECK_STR(ids[0], "n3");

    n = fl_layout_replicas(&m.meta, copies, "n3", 8, ids, FL_RING_REPLICAS_MAX);
    FL_CHECK_INT(n, ==, 2);
    FL_CHECK(s_among("n1", ids, n));
    FL_CHECK(s_among("n2", ids, n));

    /*  A partition that does not move keeps both.  */
    n = fl_layout_replicas(&m.meta, copies, "n1", 6, ids, FL_RING_REPLICAS_MAX);
    FL_CHECK_INT(n, ==, 2);
    FL_CHECK(s_among("n2", ids, n));
    FL_CHECK(s_among("n3", ids, n));
    fl_placement_destroy(&copies);
}

FL_TEST(replicas_are_at_most_n_minus_1_and_max)
{
    s_meta_t m;
    s_meta_cluster(&m, 4, 6, 3);
    fl_placement_t *copies = fl_layout_copies(&m.meta);
    FL_CHECK(copies != NULL);
    size_t outside = 0;
    for (uint32_t p = 0; p < P; p++) {
        const char *list[4], *ids[FL_RING_REPLICAS_MAX];
        size_t nlist = fl_placement_owners(copies, p, list, 4);
        FL_CHECK_INT(nlist, ==, 3);
        /*  An owner that is not in the list: still N - 1 replicas, the
         *  first of the list.  */
        const char *owner = NULL;
        for (size_t i = 0; i < 6 && !owner; i++)
            if (!s_among(s_nodes[i], list, nlist))
                owner = s_nodes[i];
        FL_CHECK(owner != NULL);
        size_t n = fl_layout_replicas(&m.meta, copies, owner, p, ids, FL_RING_REPLICAS_MAX);
        FL_CHECK_INT(n, ==, 2);
        FL_CHECK_STR(ids[0], list[0]);
        FL_CHECK_STR(ids[1], list[1]);
        outside++;

        /*  MAX bounds it too.  */
        const char *one[2] = { NULL, NULL };
        FL_CHECK_INT(fl_layout_replicas(&m.meta, copies, owner, p, one, 1), ==, 1);
        FL_CHECK_STR(one[0], list[0]);
        FL_CHECK(one[1] == NULL);
        FL_CHECK_INT(fl_layout_replicas(&m.meta, copies, owner, p, one, 0), ==, 0);
    }
    FL_CHECK_INT(outside, ==, P);
    fl_placement_destroy(&copies);
}

FL_TEST(replicas_never_exceed_what_a_ring_holds)
{
    s_meta_t m;
    s_meta_cluster(&m, 4, 12, 20);
    fl_placement_t *copies = fl_layout_copies(&m.meta);
    FL_CHECK(copies != NULL);
    FL_CHECK_INT(fl_placement_replicas(copies), ==, FL_RING_REPLICAS_MAX + 1);
    for (uint32_t p = 0; p < P; p++) {
        const char *ids[FL_RING_REPLICAS_MAX + 4];
        size_t n = fl_layout_replicas(&m.meta, copies, s_nodes[p % 12], p, ids,
                                      FL_RING_REPLICAS_MAX + 4);
        FL_CHECK(n <= FL_RING_REPLICAS_MAX + 1);
        FL_CHECK(n >= FL_RING_REPLICAS_MAX);
        FL_CHECK(!s_among(s_nodes[p % 12], ids, n));
    }
    fl_placement_destroy(&copies);

    fl_ring_t *ring = fl_layout_ring(&m.meta, "n1", NULL);
    FL_CHECK(ring != NULL);
    for (uint32_t p = 0; p < P; p++) {
        const char *ids[FL_RING_REPLICAS_MAX + 1];
        FL_CHECK_INT(fl_ring_replicas(ring, p, ids, FL_RING_REPLICAS_MAX + 1), ==,
                     FL_RING_REPLICAS_MAX);
    }
    fl_ring_destroy(&ring);
}

/*  RING gives every partition of M its replicas.  */
static void
s_check_ring_replicas(const s_meta_t *m, const fl_ring_t *ring, const char *local_id)
{
    fl_placement_t *copies = fl_layout_copies(&m->meta);
    FL_CHECK(copies != NULL);
    fl_layout_t layout;
    FL_CHECK_INT(fl_layout_read(&m->meta, &layout), ==, 0);
    for (uint32_t p = 0; p < P; p++) {
        const char *want[FL_RING_REPLICAS_MAX], *got[FL_RING_REPLICAS_MAX + 1];
        size_t nwant = fl_layout_replicas(&m->meta, copies, fl_layout_owner(&layout, p), p,
                                          want, FL_RING_REPLICAS_MAX);
        size_t ngot = fl_ring_replicas(ring, p, got, FL_RING_REPLICAS_MAX + 1);
        FL_CHECK(nwant > 0);
        FL_CHECK_INT(ngot, ==, nwant);
        for (size_t i = 0; i < ngot; i++)
            FL_CHECK_STR(got[i], want[i]);
        FL_CHECK(fl_ring_has_replicas(ring, p));
        FL_CHECK(fl_ring_is_replica(ring, p) == s_among(local_id, want, nwant));
        FL_CHECK_STR(fl_ring_owner(ring, p), fl_layout_owner(&layout, p));
    }
    fl_layout_release(&layout);
    fl_placement_destroy(&copies);
}

FL_TEST(ring_gives_every_partition_its_replicas)
{
    s_meta_t m;
    s_meta_cluster(&m, 6, 4, 3);
    s_meta_move(&m, 5, "n4");           /* n2's */
    fl_ring_t *ring = fl_layout_ring(&m.meta, "n2", NULL);
    FL_CHECK(ring != NULL);
    s_check_ring_replicas(&m, ring, "n2");
    const char *ids[FL_RING_REPLICAS_MAX];
    size_t n = fl_ring_replicas(ring, 5, ids, FL_RING_REPLICAS_MAX);
    FL_CHECK(!s_among("n4", ids, n));
    FL_CHECK(!s_among("n2", ids, n));
    FL_CHECK(!fl_ring_is_replica(ring, 5));
    size_t replica_of = 0;
    for (uint32_t p = 0; p < P; p++) {
        replica_of += fl_ring_is_replica(ring, p);
        FL_CHECK(!(fl_ring_is_replica(ring, p) && fl_ring_is_local(ring, p)));
    }
    FL_CHECK(replica_of > 0);
    fl_ring_destroy(&ring);

    /*  A ring of a node outside the table sees the same lists.  */
    ring = fl_layout_ring(&m.meta, "n9", NULL);
    FL_CHECK(ring != NULL);
    s_check_ring_replicas(&m, ring, "n9");
    fl_ring_destroy(&ring);
}

FL_TEST(ring_of_a_cluster_keeping_one_copy_has_no_replicas)
{
    s_meta_t m;
    s_meta_cluster(&m, 6, 3, 1);
    fl_ring_t *ring = fl_layout_ring(&m.meta, "n2", NULL);
    FL_CHECK(ring != NULL);
    for (uint32_t p = 0; p < P; p++) {
        FL_CHECK(!fl_ring_has_replicas(ring, p));
        FL_CHECK(!fl_ring_is_replica(ring, p));
    }
    fl_ring_destroy(&ring);
}

FL_TEST(ring_with_replicas_still_marks_members_that_are_down)
{
    s_meta_t m;
    s_meta_cluster(&m, 6, 3, 3);
    m.member[2].state = FLOW__CLUSTER__MEMBER_STATE__MEMBER_DOWN;        /* n3 */
    fl_ring_t *ring = fl_layout_ring(&m.meta, "n1", NULL);
    FL_CHECK(ring != NULL);
    s_check_ring_replicas(&m, ring, "n1");
    FL_CHECK(fl_ring_is_down(ring, "n3"));
    FL_CHECK(!fl_ring_is_down(ring, "n2"));
    for (uint32_t p = 0; p < P; p++) {
        FL_CHECK(fl_ring_owner_down(ring, p) == (p % 3 == 2));
        if (p % 3 != 2) {
            const char *ids[FL_RING_REPLICAS_MAX];
            size_t n = fl_ring_replicas(ring, p, ids, FL_RING_REPLICAS_MAX);
            FL_CHECK(s_among("n3", ids, n));     /* a down member keeps its copies */
        }
    }
    fl_ring_destroy(&ring);
}
