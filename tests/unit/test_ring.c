/*  Ring snapshots: a node alone, and a node that joined a cluster whose
 *  partitions another member holds.  */
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
