/*  tests/unit/test_handoff.c — what a node checks in the handoff requests
 *  and chunks other nodes send it: a pull's partition, bounds and
 *  database name, and a chunk's keys against the position it answers.
 */
#include "tests/testlib.h"
#include "cluster/handoff.h"
#include "storage/keyspace.h"

#include <string.h>

static Flow__Cluster__TransferPull
s_pull(uint32_t partition)
{
    Flow__Cluster__TransferPull pull = FLOW__CLUSTER__TRANSFER_PULL__INIT;
    pull.partition = partition;
    pull.db = "events";
    pull.from_start = true;
    return pull;
}

FL_TEST(a_pull_inside_the_cluster_is_accepted)
{
    char why[128] = "";
    Flow__Cluster__TransferPull pull = s_pull(1023);
    FL_CHECK_INT(fl_handoff_pull_check(&pull, 1024, why, sizeof why), ==, FLOW__STATUS__OK);
    uint8_t after[] = { 0x03, 0xff, 'k' };
    pull.from_start = false;
    pull.after = (ProtobufCBinaryData) { sizeof after, after };
    FL_CHECK_INT(fl_handoff_pull_check(&pull, 1024, why, sizeof why), ==, FLOW__STATUS__OK);
    pull.db = "";                       /* the summary of every database */
    FL_CHECK_INT(fl_handoff_pull_check(&pull, 1024, why, sizeof why), ==, FLOW__STATUS__OK);
}

FL_TEST(a_pull_beyond_the_cluster_is_refused_by_name)
{
    char why[128];
    Flow__Cluster__TransferPull pull = s_pull(1024);
    FL_CHECK_INT(fl_handoff_pull_check(&pull, 1024, why, sizeof why), ==,
                 FLOW__STATUS__INVALID_ARGUMENT);
    FL_CHECK_STR(why, "pull: partition: beyond the cluster's partition count");

    static uint8_t long_key[600];
    pull = s_pull(1);
    pull.after = (ProtobufCBinaryData) { sizeof long_key, long_key };
    pull.from_start = false;
    FL_CHECK_INT(fl_handoff_pull_check(&pull, 1024, why, sizeof why), ==,
                 FLOW__STATUS__INVALID_ARGUMENT);
    FL_CHECK_STR(why, "pull: after, until: longer than a key");
    pull = s_pull(1);
    pull.until = (ProtobufCBinaryData) { sizeof long_key, long_key };
    FL_CHECK_INT(fl_handoff_pull_check(&pull, 1024, why, sizeof why), ==,
                 FLOW__STATUS__INVALID_ARGUMENT);

    pull = s_pull(1);
    pull.from_start = false;            /* and no key to start after */
    FL_CHECK_INT(fl_handoff_pull_check(&pull, 1024, why, sizeof why), ==,
                 FLOW__STATUS__INVALID_ARGUMENT);
    FL_CHECK_STR(why, "pull: after: missing, and not from the start");

    char name[80];
    memset(name, 'd', sizeof name - 1);
    name[sizeof name - 1] = '\0';
    pull = s_pull(1);
    pull.db = name;
    FL_CHECK_INT(fl_handoff_pull_check(&pull, 1024, why, sizeof why), ==,
                 FLOW__STATUS__INVALID_ARGUMENT);
    FL_CHECK_STR(why, "pull: db: too long");
}

/*  A chunk of partition 5 holding KEYS (suffixes), covering up to LAST
 *  (a suffix; NULL: to the end).  */
typedef struct {
    Flow__Cluster__TransferChunk chunk;
    ProtobufCBinaryData keys[4], values[4];
    uint8_t key[4][8], last[8];
    uint8_t digest[32];
} s_chunk_t;

static void
s_chunk(s_chunk_t *c, uint16_t partition, const char *const *suffixes, size_t n,
        const char *last)
{
    memset(c, 0, sizeof *c);
    flow__cluster__transfer_chunk__init(&c->chunk);
    for (size_t i = 0; i < n; i++) {
        c->key[i][0] = (uint8_t) (partition >> 8);
        c->key[i][1] = (uint8_t) partition;
        memcpy(c->key[i] + 2, suffixes[i], strlen(suffixes[i]));
        c->keys[i] = (ProtobufCBinaryData) { 2 + strlen(suffixes[i]), c->key[i] };
        c->values[i] = (ProtobufCBinaryData) { 1, (uint8_t *) "v" };
    }
    c->chunk.keys = c->keys;
    c->chunk.n_keys = n;
    c->chunk.values = c->values;
    c->chunk.n_values = n;
    c->chunk.count = (uint32_t) n;
    fl_keyspace_sum_t sum;
    fl_keyspace_sum_init(&sum);
    for (size_t i = 0; i < n; i++) {
        MDB_val key = { c->keys[i].len, c->keys[i].data };
        MDB_val value = { c->values[i].len, c->values[i].data };
        fl_keyspace_sum_add(&sum, &key, &value);
    }
    fl_keyspace_sum_final(&sum, c->digest);
    c->chunk.digest = (ProtobufCBinaryData) { 32, c->digest };
    c->chunk.end = last == NULL;
    if (last) {
        c->last[0] = (uint8_t) (partition >> 8);
        c->last[1] = (uint8_t) partition;
        memcpy(c->last + 2, last, strlen(last));
        c->chunk.last_key = (ProtobufCBinaryData) { 2 + strlen(last), c->last };
    }
}

FL_TEST(a_chunk_in_order_inside_its_range_is_accepted)
{
    static s_chunk_t c;
    const char *keys[] = { "b", "c", "d" };
    s_chunk(&c, 5, keys, 3, "d");
    FL_CHECK(fl_handoff_chunk_valid(&c.chunk, 5, NULL, 0, false));
    uint8_t after[] = { 0, 5, 'a' };
    FL_CHECK(fl_handoff_chunk_valid(&c.chunk, 5, after, sizeof after, false));
    s_chunk(&c, 5, keys, 3, NULL);      /* to the partition's end */
    FL_CHECK(fl_handoff_chunk_valid(&c.chunk, 5, NULL, 0, false));
    s_chunk(&c, 5, keys, 0, "z");       /* a digest answer: no records */
    FL_CHECK(fl_handoff_chunk_valid(&c.chunk, 5, NULL, 0, true));
}

FL_TEST(a_chunk_that_does_not_fit_its_request_is_refused)
{
    static s_chunk_t c;
    const char *in_order[] = { "b", "c" }, *backwards[] = { "c", "b" }, *twice[] = { "b", "b" };
    uint8_t after[] = { 0, 5, 'b' };
    s_chunk(&c, 6, in_order, 2, "c");   /* another partition's keys */
    FL_CHECK(!fl_handoff_chunk_valid(&c.chunk, 5, NULL, 0, false));
    s_chunk(&c, 5, backwards, 2, "c");
    FL_CHECK(!fl_handoff_chunk_valid(&c.chunk, 5, NULL, 0, false));
    s_chunk(&c, 5, twice, 2, "b");
    FL_CHECK(!fl_handoff_chunk_valid(&c.chunk, 5, NULL, 0, false));
    s_chunk(&c, 5, in_order, 2, "c");   /* not after the position */
    FL_CHECK(!fl_handoff_chunk_valid(&c.chunk, 5, after, sizeof after, false));
    s_chunk(&c, 5, in_order, 2, "bb");  /* a key past the range it covers */
    FL_CHECK(!fl_handoff_chunk_valid(&c.chunk, 5, NULL, 0, false));
    s_chunk(&c, 5, in_order, 2, "c");
    c.chunk.count = 3;                  /* counts records it does not hold */
    FL_CHECK(!fl_handoff_chunk_valid(&c.chunk, 5, NULL, 0, false));
    s_chunk(&c, 5, in_order, 2, "c");
    c.chunk.n_values = 1;               /* keys without values */
    FL_CHECK(!fl_handoff_chunk_valid(&c.chunk, 5, NULL, 0, false));
    s_chunk(&c, 5, in_order, 2, "c");
    c.chunk.digest.len = 31;
    FL_CHECK(!fl_handoff_chunk_valid(&c.chunk, 5, NULL, 0, false));
    s_chunk(&c, 5, in_order, 2, "c");
    c.values[1] = (ProtobufCBinaryData) { 1, (uint8_t *) "w" };  /* not what it sums */
    FL_CHECK(!fl_handoff_chunk_valid(&c.chunk, 5, NULL, 0, false));
    s_chunk(&c, 5, in_order, 2, "c");
    c.digest[0] ^= 1;
    FL_CHECK(!fl_handoff_chunk_valid(&c.chunk, 5, NULL, 0, false));
    s_chunk(&c, 5, in_order, 2, "c");   /* records where only a digest was asked */
    FL_CHECK(!fl_handoff_chunk_valid(&c.chunk, 5, NULL, 0, true));
    s_chunk(&c, 5, in_order, 0, "c");
    c.chunk.end = false;
    c.chunk.last_key.len = 0;           /* neither an end nor a last key */
    FL_CHECK(!fl_handoff_chunk_valid(&c.chunk, 5, NULL, 0, true));
}
