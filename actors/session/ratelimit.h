/*  actors/session/ratelimit.h — token buckets by key.
 *
 *  One table per limit (for example "auth requests per client address").
 *  A bucket holds up to `burst` tokens and refills at `per_second`; each
 *  request takes one.  A bucket that has refilled completely carries no
 *  information and is pruned, so memory follows the number of keys that
 *  were busy recently, bounded by max_keys: when the table is full of busy
 *  keys a new key is refused (fail closed) until pruning makes room.
 *  Owned by the session actor's thread.
 */
#ifndef FL_RATELIMIT_H
#define FL_RATELIMIT_H

#include <stddef.h>
#include <stdint.h>

typedef struct fl_ratelimit_t fl_ratelimit_t;

fl_ratelimit_t *fl_ratelimit_new(double per_second, double burst, size_t max_keys);
void fl_ratelimit_destroy(fl_ratelimit_t **self_p);

/*  Takes a token for KEY at NOW_US.  Returns 0 when the request may go
 *  ahead, else the milliseconds until it could (at least 1).  */
uint32_t fl_ratelimit_take(fl_ratelimit_t *self, const char *key, int64_t now_us);

/*  Drops buckets that have refilled completely by NOW_US.  */
void fl_ratelimit_prune(fl_ratelimit_t *self, int64_t now_us);

size_t fl_ratelimit_size(fl_ratelimit_t *self);

#endif
