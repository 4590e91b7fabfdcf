/*  actors/user/records.h — the user actor's records in LMDB (internal to
 *  actors/user).
 *
 *  Keys: every key starts with the account's partition (big-endian u16):
 *      users        P | user id
 *      emails       P | normalised email
 *      sessions     P | user id | "/" | session id
 *      revocations  P | session id
 *      history      P | user id | "/" | event id
 *      standing     P | user id
 *  where P = partition(user id) = partition(email).  Records are decoded
 *  into the call's memory, so a reply may point into them.
 */
#ifndef FL_USER_RECORDS_H
#define FL_USER_RECORDS_H

#include <lmdb.h>
#include <stdint.h>

#include "node/call.h"
#include "node/requests.h"
#include "storage/keyspace.h"
#include "storage.pb-c.h"

#define FL_USER_ID_BYTES 8              /* 16 hex characters */
#define FL_USER_SESSION_BYTES 16        /* 32 hex characters */

typedef struct {
    MDB_dbi users, emails, sessions, revocations, history, standing;
} fl_user_dbs_t;

extern fl_user_dbs_t fl_user_dbs;

/*  The partition of an account key (user id or normalised email).  */
uint32_t fl_user_partition(fl_call_t *call, const char *key);

/*  The key PARTITION | A, or PARTITION | A "/" B when B is not NULL; an
 *  empty value when it does not fit.  */
MDB_val fl_user_key(uint8_t buf[FL_KEYSPACE_KEY_MAX], uint32_t partition, const char *a,
                    const char *b);

/*  The key of USER_ID's record SUB (a session, an event in the history):
 *  partition(user) | user id "/" SUB.  */
MDB_val fl_user_sub_key(uint8_t buf[FL_KEYSPACE_KEY_MAX], fl_call_t *call, const char *user_id,
                        const char *sub);

/*  Routes to the user actor that owns USER_ID.  */
void fl_user_route(const char *user_id, fl_route_t *route);

/*  The public standing of USER_ID, in the call's memory (zero when
 *  nothing was recorded).  Errors: FL_E_CORRUPT, FL_E_IO.  */
int fl_user_standing_of(fl_call_t *call, const char *user_id, Flow__Standing **out);

/*  Deletes USER_ID's history and standing (account deletion).
 *  Errors: MDB_MAP_FULL, FL_E_IO.  */
int fl_user_forget_standing(fl_call_t *call, const char *user_id);

/*  Reads the account USER_ID.  Errors: FL_E_NOTFOUND, FL_E_CORRUPT, FL_E_IO. */
int fl_user_read(fl_call_t *call, const char *user_id, Flow__Storage__UserRecord **rec_p);

/*  Writes REC (its updated_s set to now).  Errors: those of fl_codec_put. */
int fl_user_write(fl_call_t *call, Flow__Storage__UserRecord *rec);

/*  The user id behind a normalised EMAIL into USER_ID (at least 17
 *  bytes).  Errors: FL_E_NOTFOUND, FL_E_CORRUPT, FL_E_IO.  */
int fl_user_by_email(fl_call_t *call, const char *email, char *user_id);

/*  Seconds since the epoch.  */
uint64_t fl_user_now_s(void);

#endif
