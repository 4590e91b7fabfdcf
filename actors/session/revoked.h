/*  actors/session/revoked.h — sessions that ended before their access
 *  tokens expire.
 *
 *  Token verification reads no storage, so a signed-out session's access
 *  token stays valid by signature until it expires (at most access_ttl_s).
 *  This set closes that gap: each session actor keeps the ended sessions
 *  in memory until their last token expires, filled at start from the
 *  "revocations" database and afterwards from the revocations that actor
 *  replies carry.  Owned by the session actor's thread.
 */
#ifndef FL_REVOKED_H
#define FL_REVOKED_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "storage/store.h"

typedef struct fl_revoked_t fl_revoked_t;

fl_revoked_t *fl_revoked_new(void);
void fl_revoked_destroy(fl_revoked_t **self_p);

void fl_revoked_add(fl_revoked_t *self, const char *session_id, uint64_t until_s);

/*  True when SESSION_ID ended and its tokens may still be unexpired.  */
bool fl_revoked_has(fl_revoked_t *self, const char *session_id, uint64_t now_s);

/*  Forgets sessions whose tokens have all expired by NOW_S.  */
void fl_revoked_prune(fl_revoked_t *self, uint64_t now_s);

/*  Adds every revocation stored in STORE that runs past NOW_S.
 *  Errors: those of fl_store_dbi / fl_store_read_begin, FL_E_CORRUPT.  */
int fl_revoked_load(fl_revoked_t *self, fl_store_t *store, uint64_t now_s);

size_t fl_revoked_size(fl_revoked_t *self);

#endif
