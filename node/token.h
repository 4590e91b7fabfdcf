/*  node/token.h — access tokens and refresh tokens.
 *
 *  Access token (sent as Request.token on every request):
 *
 *      "v1." BASE64URL(AccessClaims) "." BASE64URL(MAC)
 *
 *  MAC = BLAKE2b-256 keyed with the cluster key (crypto_generichash) over
 *  every byte before the second dot, so the MAC covers exactly the text
 *  that travels.  Any node of the cluster verifies a token with no storage
 *  read: decode, recompute the MAC, compare in constant time, decode the
 *  claims, check the expiry.  Revocation is checked by the caller against
 *  its in-memory set of ended sessions.
 *
 *  Refresh token (kept by the client, traded for a new pair):
 *
 *      USER_ID "." SESSION_ID "." BASE64URL(32 random bytes)
 *
 *  The node stores only BLAKE2b-256 of the secret.  The user id routes the
 *  refresh to the partition that holds the session.
 */
#ifndef FL_TOKEN_H
#define FL_TOKEN_H

#include <stddef.h>
#include <stdint.h>

#include "flow.pb-c.h"

#define FL_TOKEN_KEY_BYTES 32
#define FL_TOKEN_ID_MAX 40           /* user and session ids, with NUL */
#define FL_TOKEN_MAX 512             /* longest token this node issues */
#define FL_TOKEN_SECRET_BYTES 32

typedef struct {
    char user_id[FL_TOKEN_ID_MAX];
    Flow__Role role;
    char session_id[FL_TOKEN_ID_MAX];
    uint64_t expires_s;
} fl_claims_t;

/*  Writes the access token for CLAIMS into OUT (FL_TOKEN_MAX bytes).
 *  Errors: FL_E_INVAL (an id longer than FL_TOKEN_ID_MAX - 1).  */
int fl_token_sign(const uint8_t key[FL_TOKEN_KEY_BYTES], const fl_claims_t *claims,
                  char out[FL_TOKEN_MAX]);

/*  Verifies TOKEN at time NOW_S and fills CLAIMS.
 *  Errors: FL_E_DENIED (malformed, or the MAC does not match: forged or
 *  tampered), FL_E_EXPIRED (authentic but past expires_s).  */
int fl_token_verify(const uint8_t key[FL_TOKEN_KEY_BYTES], const char *token, uint64_t now_s,
                    fl_claims_t *claims);

/*  A cache of verified access tokens, for the thread that verifies them
 *  (the session actor).  A client sends the same token with every request
 *  for its whole life, so after the first verification the cache answers
 *  with one hash probe and one comparison of the token text.  Only
 *  authentic tokens are cached; the expiry is checked on every hit.
 *  Entries are keyed by the token's full text, so a hit can only be the
 *  same token: a colliding slot is a miss, never a wrong answer.  */
typedef struct fl_token_cache_t fl_token_cache_t;

/*  A cache of SLOTS entries (rounded up to a power of two).  */
fl_token_cache_t *fl_token_cache_new(size_t slots);
void fl_token_cache_destroy(fl_token_cache_t **self_p);

/*  As fl_token_verify, answered from the cache when it can.  */
int fl_token_cache_verify(fl_token_cache_t *self, const uint8_t key[FL_TOKEN_KEY_BYTES],
                          const char *token, uint64_t now_s, fl_claims_t *claims);

/*  A new refresh token for USER_ID and SESSION_ID into OUT (FL_TOKEN_MAX
 *  bytes), and BLAKE2b-256 of its secret into HASH.  Errors: FL_E_INVAL.  */
int fl_token_refresh_new(const char *user_id, const char *session_id, char out[FL_TOKEN_MAX],
                         uint8_t hash[32]);

/*  Splits a refresh token into its ids and the hash of its secret.
 *  Errors: FL_E_DENIED (malformed).  */
int fl_token_refresh_parse(const char *token, char user_id[FL_TOKEN_ID_MAX],
                           char session_id[FL_TOKEN_ID_MAX], uint8_t hash[32]);

/*  A new random id of BYTES random bytes, as lower-case hex, into OUT.  */
void fl_token_random_id(char *out, size_t bytes);

#endif
