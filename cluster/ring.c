/*  cluster/ring.c — ring snapshots; see ring.h.
 *
 *  Owners are kept as one small index per partition into the member list,
 *  so a lookup is two array reads and a snapshot of 65536 partitions costs
 *  128 KiB.
 */
#include "cluster/ring.h"
#include "storage/keyspace.h"

#include <stdlib.h>
#include <string.h>

#define MEMBER_ID_MAX 64

struct fl_ring_t {
    uint64_t epoch;
    uint32_t partitions;
    uint16_t local;                 /* index of this node in members */
    uint16_t nmembers;
    char (*members)[MEMBER_ID_MAX];
    uint16_t *owner;                /* per partition: index into members */
    bool *fenced;                   /* per partition, or NULL: none */
    uint16_t *owners;               /* distinct owners, in order of first appearance */
    uint16_t nowners;
    bool *down;                     /* per member: marked down, or NULL: none */
    bool *promoting;                /* per partition, or NULL: none */
    uint16_t nreplicas;             /* slots per partition in replica */
    uint16_t *replica;              /* per partition nreplicas indices, UINT16_MAX: none */
};

/*  Lists the distinct owners once, when the ring is built: a search
 *  scattered to them asks for it every time.  */
static int
s_list_owners(fl_ring_t *self)
{
    bool *seen = calloc(self->nmembers, sizeof *seen);
    self->owners = calloc(self->nmembers, sizeof *self->owners);
    if (!seen || !self->owners) {
        free(seen);
        return -1;
    }
    for (uint32_t p = 0; p < self->partitions && self->nowners < self->nmembers; p++)
        if (!seen[self->owner[p]]) {
            seen[self->owner[p]] = true;
            self->owners[self->nowners++] = self->owner[p];
        }
    free(seen);
    return 0;
}

static fl_ring_t *
s_alloc(uint32_t partitions, uint64_t epoch, size_t nmembers)
{
    if (partitions == 0 || partitions > FL_KEYSPACE_MAX_PARTITIONS || nmembers == 0
        || nmembers > UINT16_MAX)
        return NULL;
    fl_ring_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->epoch = epoch;
    self->partitions = partitions;
    self->nmembers = (uint16_t) nmembers;
    self->members = calloc(nmembers, sizeof *self->members);
    self->owner = calloc(partitions, sizeof *self->owner);
    if (!self->members || !self->owner)
        fl_ring_destroy(&self);
    return self;
}

fl_ring_t *
fl_ring_new(const char *local_id, uint32_t partitions, uint64_t epoch,
            const char *const *ids, size_t nids, const uint16_t *owner, const bool *fenced)
{
    if (!local_id || strlen(local_id) >= MEMBER_ID_MAX || !ids || !owner || nids >= UINT16_MAX)
        return NULL;
    size_t local = nids;
    for (size_t i = 0; i < nids; i++) {
        if (!ids[i] || strlen(ids[i]) >= MEMBER_ID_MAX)
            return NULL;
        if (strcmp(ids[i], local_id) == 0)
            local = i;
    }
    for (uint32_t p = 0; p < partitions; p++)
        if (owner[p] >= nids)
            return NULL;
    fl_ring_t *self = s_alloc(partitions, epoch, nids + (local == nids));
    if (!self)
        return NULL;
    for (size_t i = 0; i < nids; i++)
        strcpy(self->members[i], ids[i]);
    strcpy(self->members[local], local_id);
    self->local = (uint16_t) local;
    memcpy(self->owner, owner, partitions * sizeof *owner);
    if (fenced) {
        self->fenced = calloc(partitions, sizeof *self->fenced);
        if (!self->fenced) {
            fl_ring_destroy(&self);
            return NULL;
        }
        memcpy(self->fenced, fenced, partitions * sizeof *fenced);
    }
    if (s_list_owners(self) != 0)
        fl_ring_destroy(&self);
    return self;
}

fl_ring_t *
fl_ring_new_held_by(const char *local_id, const char *owner_id, uint32_t partitions,
                    uint64_t epoch)
{
    if (!local_id || !owner_id || strlen(local_id) >= MEMBER_ID_MAX
        || strlen(owner_id) >= MEMBER_ID_MAX)
        return NULL;
    fl_ring_t *self = s_alloc(partitions, epoch, strcmp(local_id, owner_id) == 0 ? 1 : 2);
    if (!self)
        return NULL;
    strcpy(self->members[0], owner_id);
    strcpy(self->members[self->nmembers - 1], local_id);
    self->local = (uint16_t) (self->nmembers - 1);
    if (s_list_owners(self) != 0)
        fl_ring_destroy(&self);
    return self;
}

fl_ring_t *
fl_ring_new_single(const char *local_id, uint32_t partitions, uint64_t epoch)
{
    return fl_ring_new_held_by(local_id, local_id, partitions, epoch);
}

int
fl_ring_mark_down(fl_ring_t *self, const char *node_id)
{
    for (uint16_t i = 0; i < self->nmembers; i++) {
        if (strcmp(self->members[i], node_id) != 0)
            continue;
        if (!self->down && !(self->down = calloc(self->nmembers, sizeof *self->down)))
            return -1;
        self->down[i] = true;
        return 0;
    }
    return 0;
}

/*  The index of NODE_ID among the members, added when it is not one yet;
 *  -1 on no memory.  */
static int
s_member_index(fl_ring_t *self, const char *node_id)
{
    for (uint16_t i = 0; i < self->nmembers; i++)
        if (strcmp(self->members[i], node_id) == 0)
            return i;
    if (self->nmembers == UINT16_MAX - 1)
        return -1;
    size_t n = (size_t) self->nmembers + 1;
    char (*members)[MEMBER_ID_MAX] = realloc(self->members, n * sizeof *members);
    if (!members)
        return -1;
    self->members = members;
    strcpy(self->members[n - 1], node_id);
    if (self->down) {
        bool *down = realloc(self->down, n * sizeof *down);
        if (!down)
            return -1;
        down[n - 1] = false;
        self->down = down;
    }
    self->nmembers = (uint16_t) n;
    return (int) n - 1;
}

int
fl_ring_set_replicas(fl_ring_t *self, uint32_t partition, const char *const *ids, size_t n)
{
    if (partition >= self->partitions || n > FL_RING_REPLICAS_MAX)
        return -1;
    for (size_t i = 0; i < n; i++)
        if (!ids[i] || strlen(ids[i]) >= MEMBER_ID_MAX)
            return -1;
    if (n > self->nreplicas) {
        uint16_t *replica = malloc((size_t) self->partitions * n * sizeof *replica);
        if (!replica)
            return -1;
        for (uint32_t p = 0; p < self->partitions; p++)
            for (size_t i = 0; i < n; i++)
                replica[p * n + i] = i < self->nreplicas && self->replica
                                   ? self->replica[p * self->nreplicas + i] : UINT16_MAX;
        free(self->replica);
        self->replica = replica;
        self->nreplicas = (uint16_t) n;
    }
    uint16_t *slots = &self->replica[(size_t) partition * self->nreplicas];
    for (size_t i = 0; i < self->nreplicas; i++) {
        int at = i < n ? s_member_index(self, ids[i]) : UINT16_MAX;
        if (at < 0)
            return -1;
        slots[i] = (uint16_t) at;
    }
    return 0;
}

size_t
fl_ring_replicas(const fl_ring_t *self, uint32_t partition, const char **ids, size_t max)
{
    size_t n = 0;
    if (partition >= self->partitions || !self->replica)
        return 0;
    const uint16_t *slots = &self->replica[(size_t) partition * self->nreplicas];
    for (size_t i = 0; i < self->nreplicas && n < max; i++)
        if (slots[i] != UINT16_MAX)
            ids[n++] = self->members[slots[i]];
    return n;
}

bool
fl_ring_is_replica(const fl_ring_t *self, uint32_t partition)
{
    if (partition >= self->partitions || !self->replica)
        return false;
    const uint16_t *slots = &self->replica[(size_t) partition * self->nreplicas];
    for (size_t i = 0; i < self->nreplicas; i++)
        if (slots[i] == self->local)
            return true;
    return false;
}

bool
fl_ring_has_replicas(const fl_ring_t *self, uint32_t partition)
{
    return partition < self->partitions && self->replica
           && self->replica[(size_t) partition * self->nreplicas] != UINT16_MAX;
}

bool
fl_ring_is_down(const fl_ring_t *self, const char *node_id)
{
    for (uint16_t i = 0; self->down && i < self->nmembers; i++)
        if (self->down[i] && strcmp(self->members[i], node_id) == 0)
            return true;
    return false;
}

bool
fl_ring_owner_down(const fl_ring_t *self, uint32_t partition)
{
    return self->down && partition < self->partitions && self->down[self->owner[partition]];
}

void
fl_ring_destroy(fl_ring_t **self_p)
{
    if (!*self_p)
        return;
    free((*self_p)->members);
    free((*self_p)->owner);
    free((*self_p)->fenced);
    free((*self_p)->owners);
    free((*self_p)->down);
    free((*self_p)->replica);
    free((*self_p)->promoting);
    free(*self_p);
    *self_p = NULL;
}

uint32_t
fl_ring_partitions(const fl_ring_t *self)
{
    return self->partitions;
}

uint64_t
fl_ring_epoch(const fl_ring_t *self)
{
    return self->epoch;
}

const char *
fl_ring_local_id(const fl_ring_t *self)
{
    return self->members[self->local];
}

uint32_t
fl_ring_partition(const fl_ring_t *self, const void *key, size_t len)
{
    return fl_keyspace_partition(key, len, self->partitions);
}

const char *
fl_ring_owner(const fl_ring_t *self, uint32_t partition)
{
    if (partition >= self->partitions)
        return NULL;
    return self->members[self->owner[partition]];
}

bool
fl_ring_is_local(const fl_ring_t *self, uint32_t partition)
{
    return partition < self->partitions && self->owner[partition] == self->local
           && !(self->fenced && self->fenced[partition])
           && !(self->promoting && self->promoting[partition]);
}

int
fl_ring_set_promoting(fl_ring_t *self, const bool *promoting)
{
    bool any = false;
    for (uint32_t p = 0; promoting && p < self->partitions && !any; p++)
        any = promoting[p] && self->owner[p] == self->local;
    if (!any)
        return 0;
    free(self->promoting);
    self->promoting = calloc(self->partitions, sizeof *self->promoting);
    if (!self->promoting)
        return -1;
    for (uint32_t p = 0; p < self->partitions; p++)
        self->promoting[p] = promoting[p] && self->owner[p] == self->local;
    return 0;
}

bool
fl_ring_is_promoting(const fl_ring_t *self, uint32_t partition)
{
    return partition < self->partitions && self->promoting && self->promoting[partition];
}

bool
fl_ring_is_fenced(const fl_ring_t *self, uint32_t partition)
{
    return partition < self->partitions && self->owner[partition] == self->local
           && self->fenced && self->fenced[partition];
}

void
fl_ring_owners(const fl_ring_t *self, const char **ids, size_t max, size_t *n_p)
{
    size_t n = 0;
    for (; n < self->nowners && n < max; n++)
        ids[n] = self->members[self->owners[n]];
    *n_p = n;
}

uint32_t
fl_ring_owned(const fl_ring_t *self)
{
    uint32_t n = 0;
    for (uint32_t p = 0; p < self->partitions; p++)
        n += self->owner[p] == self->local;
    return n;
}
