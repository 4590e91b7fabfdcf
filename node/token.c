/*  node/token.c — signing and verifying tokens; see token.h.
 *
 *  Verification sits in front of every authenticated request, so it does
 *  no allocation on the heap: the claims are decoded from a stack buffer
 *  with a bump allocator, and the MAC is one BLAKE2b pass over a short
 *  text.
 */
#include "node/token.h"
#include "cluster.pb-c.h"
#include "node/error.h"

#include <pthread.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#define PREFIX "v1."
#define PREFIX_LEN 3
#define MAC_BYTES 32
#define CLAIMS_MAX 160
#define B64 sodium_base64_VARIANT_URLSAFE_NO_PADDING

/*  ------------------------------------------------------------------
 *  base64url without padding, decoding.  libsodium's decoder is
 *  constant-time, which costs more than the MAC itself and buys nothing
 *  here: both parts of a token are public.  This one is a table lookup
 *  per character and strict: a character outside the alphabet, a length
 *  no encoding has, or non-zero bits past the last byte are refused, so
 *  exactly one text decodes to given bytes and no tampered token can
 *  decode to a valid one.  */

static signed char s_b64[256];

static void
s_b64_init(void)
{
    static const char alphabet[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    memset(s_b64, -1, sizeof s_b64);
    for (int i = 0; i < 64; i++)
        s_b64[(unsigned char) alphabet[i]] = (signed char) i;
}

static int
s_b64_decode(const char *in, size_t len, uint8_t *out, size_t cap, size_t *out_len)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, s_b64_init);
    if (len % 4 == 1 || (len / 4) * 3 + (len % 4 ? len % 4 - 1 : 0) > cap)
        return -1;
    uint32_t acc = 0;
    unsigned bits = 0;
    size_t n = 0;
    for (size_t i = 0; i < len; i++) {
        int v = s_b64[(unsigned char) in[i]];
        if (v < 0)
            return -1;
        acc = (acc << 6) | (uint32_t) v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out[n++] = (uint8_t) (acc >> bits);
        }
    }
    if (acc & ((1u << bits) - 1))
        return -1;
    *out_len = n;
    return 0;
}

/*  ------------------------------------------------------------------
 *  A bump allocator over a stack buffer, for protobuf-c.  */

typedef struct {
    uint8_t buf[1024];
    size_t used;
} s_arena_t;

static void *
s_arena_alloc(void *data, size_t size)
{
    s_arena_t *arena = data;
    size = (size + 15) & ~(size_t) 15;
    if (arena->used + size > sizeof arena->buf)
        return NULL;
    void *p = arena->buf + arena->used;
    arena->used += size;
    return p;
}

static void
s_arena_free(void *data, void *p)
{
    (void) data;
    (void) p;
}

/*  ------------------------------------------------------------------  */

static void
s_mac(const uint8_t key[FL_TOKEN_KEY_BYTES], const char *text, size_t len, uint8_t mac[MAC_BYTES])
{
    crypto_generichash(mac, MAC_BYTES, (const unsigned char *) text, len, key,
                       FL_TOKEN_KEY_BYTES);
}

int
fl_token_sign(const uint8_t key[FL_TOKEN_KEY_BYTES], const fl_claims_t *claims,
              char out[FL_TOKEN_MAX])
{
    if (strnlen(claims->user_id, FL_TOKEN_ID_MAX) == FL_TOKEN_ID_MAX
        || strnlen(claims->session_id, FL_TOKEN_ID_MAX) == FL_TOKEN_ID_MAX)
        return FL_E_INVAL;
    Flow__Cluster__AccessClaims msg = FLOW__CLUSTER__ACCESS_CLAIMS__INIT;
    msg.version = 1;
    msg.user_id = (char *) claims->user_id;
    msg.role = claims->role;
    msg.session_id = (char *) claims->session_id;
    msg.expires_s = claims->expires_s;
    uint8_t packed[CLAIMS_MAX];
    if (flow__cluster__access_claims__get_packed_size(&msg) > sizeof packed)
        return FL_E_INVAL;
    size_t len = flow__cluster__access_claims__pack(&msg, packed);

    memcpy(out, PREFIX, PREFIX_LEN);
    sodium_bin2base64(out + PREFIX_LEN, FL_TOKEN_MAX - PREFIX_LEN, packed, len, B64);
    size_t signed_len = strlen(out);
    uint8_t mac[MAC_BYTES];
    s_mac(key, out, signed_len, mac);
    out[signed_len] = '.';
    sodium_bin2base64(out + signed_len + 1, FL_TOKEN_MAX - signed_len - 1, mac, MAC_BYTES, B64);
    return 0;
}

int
fl_token_verify(const uint8_t key[FL_TOKEN_KEY_BYTES], const char *token, uint64_t now_s,
                fl_claims_t *claims)
{
    size_t len = strnlen(token, FL_TOKEN_MAX);
    if (len == FL_TOKEN_MAX || len < PREFIX_LEN || memcmp(token, PREFIX, PREFIX_LEN) != 0)
        return FL_E_DENIED;
    const char *dot = memchr(token + PREFIX_LEN, '.', len - PREFIX_LEN);
    if (!dot)
        return FL_E_DENIED;
    size_t signed_len = (size_t) (dot - token);

    uint8_t given[MAC_BYTES], expected[MAC_BYTES];
    size_t mac_len = 0;
    if (s_b64_decode(dot + 1, len - signed_len - 1, given, sizeof given, &mac_len) != 0
        || mac_len != MAC_BYTES)
        return FL_E_DENIED;
    s_mac(key, token, signed_len, expected);
    if (crypto_verify_32(given, expected) != 0)
        return FL_E_DENIED;

    uint8_t packed[CLAIMS_MAX];
    size_t packed_len = 0;
    if (s_b64_decode(token + PREFIX_LEN, signed_len - PREFIX_LEN, packed, sizeof packed,
                     &packed_len) != 0)
        return FL_E_DENIED;
    s_arena_t arena;
    arena.used = 0;
    ProtobufCAllocator allocator = { s_arena_alloc, s_arena_free, &arena };
    Flow__Cluster__AccessClaims *msg =
        flow__cluster__access_claims__unpack(&allocator, packed_len, packed);
    if (!msg || msg->version != 1
        || strlen(msg->user_id) >= FL_TOKEN_ID_MAX || strlen(msg->session_id) >= FL_TOKEN_ID_MAX)
        return FL_E_DENIED;
    strcpy(claims->user_id, msg->user_id);
    strcpy(claims->session_id, msg->session_id);
    claims->role = msg->role;
    claims->expires_s = msg->expires_s;
    return now_s >= msg->expires_s ? FL_E_EXPIRED : 0;
}

int
fl_token_refresh_new(const char *user_id, const char *session_id, char out[FL_TOKEN_MAX],
                     uint8_t hash[32])
{
    if (strlen(user_id) >= FL_TOKEN_ID_MAX || strlen(session_id) >= FL_TOKEN_ID_MAX)
        return FL_E_INVAL;
    uint8_t secret[FL_TOKEN_SECRET_BYTES];
    randombytes_buf(secret, sizeof secret);
    int n = snprintf(out, FL_TOKEN_MAX, "%s.%s.", user_id, session_id);
    sodium_bin2base64(out + n, FL_TOKEN_MAX - (size_t) n, secret, sizeof secret, B64);
    crypto_generichash(hash, 32, secret, sizeof secret, NULL, 0);
    sodium_memzero(secret, sizeof secret);
    return 0;
}

/*  Copies the id that ends at the next '.' of *TEXT into ID.  */
static int
s_take_id(const char **text, char id[FL_TOKEN_ID_MAX])
{
    const char *dot = strchr(*text, '.');
    size_t n = dot ? (size_t) (dot - *text) : 0;
    if (n == 0 || n >= FL_TOKEN_ID_MAX)
        return FL_E_DENIED;
    for (size_t i = 0; i < n; i++)
        if (!((*text)[i] >= '0' && (*text)[i] <= '9') && !((*text)[i] >= 'a' && (*text)[i] <= 'f'))
            return FL_E_DENIED;
    memcpy(id, *text, n);
    id[n] = '\0';
    *text = dot + 1;
    return 0;
}

int
fl_token_refresh_parse(const char *token, char user_id[FL_TOKEN_ID_MAX],
                       char session_id[FL_TOKEN_ID_MAX], uint8_t hash[32])
{
    const char *at = token;
    if (strnlen(token, FL_TOKEN_MAX) == FL_TOKEN_MAX
        || s_take_id(&at, user_id) != 0 || s_take_id(&at, session_id) != 0)
        return FL_E_DENIED;
    uint8_t secret[FL_TOKEN_SECRET_BYTES];
    size_t secret_len = 0;
    if (s_b64_decode(at, strlen(at), secret, sizeof secret, &secret_len) != 0
        || secret_len != sizeof secret)
        return FL_E_DENIED;
    crypto_generichash(hash, 32, secret, sizeof secret, NULL, 0);
    sodium_memzero(secret, sizeof secret);
    return 0;
}

void
fl_token_random_id(char *out, size_t bytes)
{
    uint8_t raw[32];
    if (bytes > sizeof raw)
        bytes = sizeof raw;
    randombytes_buf(raw, bytes);
    sodium_bin2hex(out, bytes * 2 + 1, raw, bytes);
}

/*  ------------------------------------------------------------------
 *  Verified-token cache  */

typedef struct {
    size_t len;                 /* 0: empty */
    char token[FL_TOKEN_MAX];
    fl_claims_t claims;
} s_slot_t;

struct fl_token_cache_t {
    size_t mask;
    s_slot_t *slots;
};

fl_token_cache_t *
fl_token_cache_new(size_t slots)
{
    size_t n = 1;
    while (n < slots)
        n <<= 1;
    fl_token_cache_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->mask = n - 1;
    self->slots = calloc(n, sizeof *self->slots);
    if (!self->slots) {
        free(self);
        return NULL;
    }
    return self;
}

void
fl_token_cache_destroy(fl_token_cache_t **self_p)
{
    if (!*self_p)
        return;
    sodium_memzero((*self_p)->slots, ((*self_p)->mask + 1) * sizeof *(*self_p)->slots);
    free((*self_p)->slots);
    free(*self_p);
    *self_p = NULL;
}

/*  The slot of a token: from the last characters, which encode its MAC. */
static size_t
s_slot(const fl_token_cache_t *self, const char *token, size_t len)
{
    uint64_t h = 0;
    size_t take = len < 8 ? len : 8;
    memcpy(&h, token + len - take, take);
    h ^= h >> 29;
    h *= 0xbf58476d1ce4e5b9ULL;
    h ^= h >> 32;
    return (size_t) h & self->mask;
}

int
fl_token_cache_verify(fl_token_cache_t *self, const uint8_t key[FL_TOKEN_KEY_BYTES],
                      const char *token, uint64_t now_s, fl_claims_t *claims)
{
    size_t len = strnlen(token, FL_TOKEN_MAX);
    if (len == FL_TOKEN_MAX || len == 0)
        return FL_E_DENIED;
    s_slot_t *slot = &self->slots[s_slot(self, token, len)];
    if (slot->len == len && memcmp(slot->token, token, len) == 0) {
        *claims = slot->claims;
        return now_s >= claims->expires_s ? FL_E_EXPIRED : 0;
    }
    int rc = fl_token_verify(key, token, now_s, claims);
    if (rc == 0 || rc == FL_E_EXPIRED) {
        slot->len = len;
        memcpy(slot->token, token, len);
        slot->claims = *claims;
    }
    return rc;
}
