/*  cluster/placement.c — rendezvous placement with bounded loads; see
 *  placement.h.
 *
 *  Members are kept sorted bytewise, so a member's index does not depend
 *  on the order the caller gave them in, and an owner is one byte per
 *  list position: 3 KiB for 1024 partitions and 3 replicas.
 *
 *  Every (partition, member) pair is one 64-bit key: the 42-bit score in
 *  the high bits, then the partition (16 bits), then the member's index (6
 *  bits).  Sorting the keys as plain integers, descending, gives the order
 *  in which pairs are offered, and a tie of scores falls to the partition
 *  and then to the member's index, that is its id's bytewise order, which
 *  does not change when other members come or go.  Each list position is
 *  one pass over the sorted keys.
 */
#include "cluster/placement.h"
#include "storage/keyspace.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

#define LOAD_PERCENT 105            /* C = ceil(P * 105 / (100 n)) */
#define SCORE_BITS 42
#define MEMBER_BITS 6
#define PARTITION_BITS 16
#define NO_OWNER 0xff

_Static_assert(SCORE_BITS + PARTITION_BITS + MEMBER_BITS == 64, "a pair is one 64-bit key");
_Static_assert(1 << PARTITION_BITS == FL_KEYSPACE_MAX_PARTITIONS, "every partition fits a key");
_Static_assert(1 << MEMBER_BITS == FL_PLACEMENT_MAX_MEMBERS, "every member fits a key");

struct fl_placement_t {
    uint32_t partitions;
    uint32_t replicas;              /* list length: min(N, members) */
    uint32_t capacity;
    size_t nmembers;
    char (*members)[FL_PLACEMENT_ID_MAX];           /* sorted bytewise */
    uint8_t *owners;                /* per partition, per list position: member index */
    uint32_t primaries[FL_PLACEMENT_MAX_MEMBERS];   /* per member */
    uint32_t held[FL_PLACEMENT_MAX_MEMBERS];        /* list positions, per member */
};

uint64_t
fl_placement_score(uint32_t partition, const char *node)
{
    uint8_t buf[4 + FL_PLACEMENT_ID_MAX];
    size_t len = strlen(node);
    assert(len < FL_PLACEMENT_ID_MAX);
    buf[0] = (uint8_t) (partition >> 24);
    buf[1] = (uint8_t) (partition >> 16);
    buf[2] = (uint8_t) (partition >> 8);
    buf[3] = (uint8_t) partition;
    memcpy(buf + 4, node, len);
    return fl_keyspace_hash(buf, 4 + len) >> (64 - SCORE_BITS);
}

static uint64_t
s_key(const fl_placement_t *self, uint32_t partition, size_t member)
{
    return fl_placement_score(partition, self->members[member]) << (64 - SCORE_BITS)
           | (uint64_t) partition << MEMBER_BITS | member;
}

static uint32_t
s_key_partition(uint64_t key)
{
    return (uint32_t) (key >> MEMBER_BITS) & ((1u << PARTITION_BITS) - 1);
}

static size_t
s_key_member(uint64_t key)
{
    return (size_t) (key & ((1u << MEMBER_BITS) - 1));
}

static int
s_key_descending(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *) a, y = *(const uint64_t *) b;
    return (x < y) - (x > y);
}

static int
s_id_compare(const void *a, const void *b)
{
    return strcmp(a, b);
}

/*  Copies and sorts the ids; false on a bad id or one given twice.  */
static bool
s_take_members(fl_placement_t *self, const char *const *members, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (!members[i] || members[i][0] == '\0'
            || strlen(members[i]) >= FL_PLACEMENT_ID_MAX)
            return false;
        strcpy(self->members[i], members[i]);
    }
    qsort(self->members, n, sizeof *self->members, s_id_compare);
    for (size_t i = 1; i < n; i++)
        if (strcmp(self->members[i - 1], self->members[i]) == 0)
            return false;
    self->nmembers = n;
    return true;
}

static uint8_t *
s_slot(const fl_placement_t *self, uint32_t partition, uint32_t position)
{
    return &self->owners[(size_t) partition * self->replicas + position];
}

/*  The best-scoring member not yet in PARTITION's list (LISTED), full or
 *  not.  */
static size_t
s_best_unlisted(const fl_placement_t *self, uint32_t partition, uint64_t listed)
{
    size_t best = self->nmembers;
    uint64_t best_key = 0;
    for (size_t m = 0; m < self->nmembers; m++) {
        if (listed >> m & 1)
            continue;
        uint64_t key = s_key(self, partition, m);
        if (best == self->nmembers || key > best_key) {
            best = m;
            best_key = key;
        }
    }
    assert(best < self->nmembers);
    return best;
}

/*  Fills list position POSITION of every partition from KEYS (all pairs,
 *  descending): a pair is kept when its partition has no owner at this
 *  position yet, its member is not already in the partition's list and
 *  holds fewer than C partitions at this position.  A partition still
 *  without one (every member not in its list is full; never at position
 *  0, where n C >= P) takes its best unlisted member over the cap.
 *  LISTED is, per partition, the set of members in its list so far.  */
static void
s_fill_position(fl_placement_t *self, const uint64_t *keys, size_t nkeys,
                uint64_t *listed, uint32_t position)
{
    uint32_t load[FL_PLACEMENT_MAX_MEMBERS] = { 0 };
    uint32_t filled = 0;
    for (size_t i = 0; i < nkeys && filled < self->partitions; i++) {
        uint32_t p = s_key_partition(keys[i]);
        size_t m = s_key_member(keys[i]);
        uint8_t *slot = s_slot(self, p, position);
        if (*slot != NO_OWNER || listed[p] >> m & 1 || load[m] == self->capacity)
            continue;
        *slot = (uint8_t) m;
        listed[p] |= 1ull << m;
        load[m]++;
        filled++;
    }
    for (uint32_t p = 0; p < self->partitions && filled < self->partitions; p++) {
        uint8_t *slot = s_slot(self, p, position);
        if (*slot != NO_OWNER)
            continue;
        size_t m = s_best_unlisted(self, p, listed[p]);
        *slot = (uint8_t) m;
        listed[p] |= 1ull << m;
        filled++;
    }
}

static bool
s_assign(fl_placement_t *self)
{
    size_t nkeys = (size_t) self->partitions * self->nmembers;
    uint64_t *keys = malloc(nkeys * sizeof *keys);
    uint64_t *listed = calloc(self->partitions, sizeof *listed);
    if (!keys || !listed) {
        free(keys);
        free(listed);
        return false;
    }
    size_t k = 0;
    for (uint32_t p = 0; p < self->partitions; p++)
        for (size_t m = 0; m < self->nmembers; m++)
            keys[k++] = s_key(self, p, m);
    qsort(keys, nkeys, sizeof *keys, s_key_descending);
    memset(self->owners, NO_OWNER, (size_t) self->partitions * self->replicas);
    for (uint32_t position = 0; position < self->replicas; position++)
        s_fill_position(self, keys, nkeys, listed, position);
    free(keys);
    free(listed);

    for (uint32_t p = 0; p < self->partitions; p++) {
        self->primaries[*s_slot(self, p, 0)]++;
        for (uint32_t position = 0; position < self->replicas; position++)
            self->held[*s_slot(self, p, position)]++;
    }
    return true;
}

fl_placement_t *
fl_placement_new(uint32_t partitions, uint32_t replicas, const char *const *members, size_t n)
{
    if (partitions == 0 || partitions > FL_KEYSPACE_MAX_PARTITIONS || replicas == 0
        || !members || n == 0 || n > FL_PLACEMENT_MAX_MEMBERS)
        return NULL;
    fl_placement_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->partitions = partitions;
    self->replicas = replicas < n ? replicas : (uint32_t) n;
    uint64_t share = (uint64_t) partitions * LOAD_PERCENT, per = (uint64_t) n * 100;
    self->capacity = (uint32_t) ((share + per - 1) / per);
    self->members = calloc(n, sizeof *self->members);
    self->owners = malloc((size_t) partitions * self->replicas);
    if (!self->members || !self->owners || !s_take_members(self, members, n)
        || !s_assign(self)) {
        fl_placement_destroy(&self);
        return NULL;
    }
    return self;
}

void
fl_placement_destroy(fl_placement_t **self_p)
{
    if (!*self_p)
        return;
    free((*self_p)->members);
    free((*self_p)->owners);
    free(*self_p);
    *self_p = NULL;
}

uint32_t
fl_placement_partitions(const fl_placement_t *self)
{
    return self->partitions;
}

uint32_t
fl_placement_replicas(const fl_placement_t *self)
{
    return self->replicas;
}

uint32_t
fl_placement_capacity(const fl_placement_t *self)
{
    return self->capacity;
}

size_t
fl_placement_owners(const fl_placement_t *self, uint32_t partition, const char **out, size_t max)
{
    if (partition >= self->partitions)
        return 0;
    size_t count = max < self->replicas ? max : self->replicas;
    for (size_t i = 0; i < count; i++)
        out[i] = self->members[*s_slot(self, partition, (uint32_t) i)];
    return count;
}

const char *
fl_placement_primary(const fl_placement_t *self, uint32_t partition)
{
    if (partition >= self->partitions)
        return NULL;
    return self->members[*s_slot(self, partition, 0)];
}

/*  NODE's index among the members, or -1.  */
static int
s_find(const fl_placement_t *self, const char *node)
{
    if (!node || strlen(node) >= FL_PLACEMENT_ID_MAX)
        return -1;
    const char (*found)[FL_PLACEMENT_ID_MAX] =
        bsearch(node, self->members, self->nmembers, sizeof *self->members, s_id_compare);
    return found ? (int) (found - self->members) : -1;
}

uint32_t
fl_placement_count(const fl_placement_t *self, const char *node, bool primary_only)
{
    int m = s_find(self, node);
    if (m < 0)
        return 0;
    return primary_only ? self->primaries[m] : self->held[m];
}

/*  The members of PARTITION's list as a set of bits: indexes of AFTER's
 *  members, translated from SELF's by MAP (-1 where absent), or SELF's own
 *  indexes when MAP is NULL.  False when an owner is not in AFTER.  */
static bool
s_owner_set(const fl_placement_t *self, uint32_t partition, const int *map, uint64_t *set)
{
    *set = 0;
    for (uint32_t position = 0; position < self->replicas; position++) {
        int m = *s_slot(self, partition, position);
        if (map)
            m = map[m];
        if (m < 0)
            return false;
        *set |= 1ull << m;
    }
    return true;
}

size_t
fl_placement_moved(const fl_placement_t *before, const fl_placement_t *after, bool primary_only)
{
    assert(before->partitions == after->partitions);
    int map[FL_PLACEMENT_MAX_MEMBERS];
    for (size_t m = 0; m < before->nmembers; m++)
        map[m] = s_find(after, before->members[m]);

    size_t moved = 0;
    for (uint32_t p = 0; p < before->partitions; p++) {
        if (primary_only) {
            moved += map[*s_slot(before, p, 0)] != *s_slot(after, p, 0);
            continue;
        }
        uint64_t was = 0, now = 0;
        bool kept = before->replicas == after->replicas
                    && s_owner_set(before, p, map, &was)
                    && s_owner_set(after, p, NULL, &now)
                    && was == now;
        moved += !kept;
    }
    return moved;
}
