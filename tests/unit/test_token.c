/*  tests/unit/test_token.c — access and refresh tokens.
 *
 *  Access tokens: the round trip of every claim, refusal of any change to
 *  any character, of another key, of malformed text, and of authentic
 *  tokens whose claims a node must not accept (sealed here with the key,
 *  since only a key holder can produce them).  The verified-token cache
 *  answers as verification does.  Refresh tokens: round trip of the ids
 *  and the secret's hash, and refusal of malformed text.
 */
#include "tests/testlib.h"
#include "node/token.h"
#include "node/error.h"

#include "cluster.pb-c.h"

#include <sodium.h>
#include <stdbool.h>

#define B64 sodium_base64_VARIANT_URLSAFE_NO_PADDING
#define NOW 1790000000ULL

static const uint8_t s_key[FL_TOKEN_KEY_BYTES] = "0123456789abcdef0123456789abcdef";

static fl_claims_t
s_claims(void)
{
    fl_claims_t c = { .role = FLOW__ROLE__ROLE_MODERATOR, .expires_s = NOW + 900 };
    snprintf(c.user_id, sizeof c.user_id, "0123456789abcdef");
    snprintf(c.session_id, sizeof c.session_id, "fedcba9876543210fedcba9876543210");
    return c;
}

static void
s_sign(const fl_claims_t *c, char out[FL_TOKEN_MAX])
{
    FL_CHECK(sodium_init() >= 0);
    FL_CHECK_INT(fl_token_sign(s_key, c, out), ==, 0);
}

/*  TEXT "." BASE64(MAC over TEXT): what a key holder could write.  */
static void
s_seal_text(const char *text, char out[FL_TOKEN_MAX])
{
    FL_CHECK(sodium_init() >= 0);
    size_t n = strlen(text);
    FL_CHECK(n + 1 + 44 <= FL_TOKEN_MAX);
    uint8_t mac[32];
    crypto_generichash(mac, sizeof mac, (const uint8_t *) text, n, s_key, sizeof s_key);
    memcpy(out, text, n);
    out[n] = '.';
    sodium_bin2base64(out + n + 1, FL_TOKEN_MAX - n - 1, mac, sizeof mac, B64);
}

/*  "v1." BASE64(PACKED), sealed, for claims fl_token_sign would not
 *  write.  */
static void
s_seal(const uint8_t *packed, size_t len, char out[FL_TOKEN_MAX])
{
    char text[FL_TOKEN_MAX];
    memcpy(text, "v1.", 3);
    sodium_bin2base64(text + 3, sizeof text - 3, packed, len, B64);
    s_seal_text(text, out);
}

static void
s_seal_claims(const Flow__Cluster__AccessClaims *msg, char out[FL_TOKEN_MAX])
{
    uint8_t packed[256];
    FL_CHECK(flow__cluster__access_claims__get_packed_size(msg) <= sizeof packed);
    s_seal(packed, flow__cluster__access_claims__pack(msg, packed), out);
}

static int
s_verify(const char *token)
{
    fl_claims_t got;
    return fl_token_verify(s_key, token, NOW, &got);
}

/*  ------------------------------------------------------------------
 *  Access tokens  */

FL_TEST(sign_then_verify_returns_every_claim)
{
    fl_claims_t c = s_claims(), got;
    char token[FL_TOKEN_MAX];
    s_sign(&c, token);
    FL_CHECK(strncmp(token, "v1.", 3) == 0);
    memset(&got, 0, sizeof got);
    FL_CHECK_INT(fl_token_verify(s_key, token, NOW, &got), ==, 0);
    FL_CHECK_STR(got.user_id, c.user_id);
    FL_CHECK_STR(got.session_id, c.session_id);
    FL_CHECK_INT(got.role, ==, FLOW__ROLE__ROLE_MODERATOR);
    FL_CHECK_INT(got.expires_s, ==, NOW + 900);
}

FL_TEST(ids_of_the_longest_length_round_trip)
{
    fl_claims_t c = s_claims(), got;
    memset(c.user_id, 'a', FL_TOKEN_ID_MAX - 1);
    c.user_id[FL_TOKEN_ID_MAX - 1] = '\0';
    memset(c.session_id, 'b', FL_TOKEN_ID_MAX - 1);
    c.session_id[FL_TOKEN_ID_MAX - 1] = '\0';
    char token[FL_TOKEN_MAX];
    s_sign(&c, token);
    FL_CHECK_INT(fl_token_verify(s_key, token, NOW, &got), ==, 0);
    FL_CHECK_STR(got.user_id, c.user_id);
    FL_CHECK_STR(got.session_id, c.session_id);
}

FL_TEST(sign_refuses_a_user_id_without_room_for_its_nul)
{
    fl_claims_t c = s_claims();
    memset(c.user_id, 'a', FL_TOKEN_ID_MAX);
    char token[FL_TOKEN_MAX];
    FL_CHECK_INT(fl_token_sign(s_key, &c, token), ==, FL_E_INVAL);
}

FL_TEST(sign_refuses_a_session_id_without_room_for_its_nul)
{
    fl_claims_t c = s_claims();
    memset(c.session_id, 'b', FL_TOKEN_ID_MAX);
    char token[FL_TOKEN_MAX];
    FL_CHECK_INT(fl_token_sign(s_key, &c, token), ==, FL_E_INVAL);
}

FL_TEST(changing_any_character_is_denied)
{
    fl_claims_t c = s_claims();
    char token[FL_TOKEN_MAX], bad[FL_TOKEN_MAX];
    s_sign(&c, token);
    size_t len = strlen(token);
    for (size_t i = 0; i < len; i++)
        for (int ch = 0x21; ch < 0x7f; ch++) {
            if (ch == token[i])
                continue;
            memcpy(bad, token, len + 1);
            bad[i] = (char) ch;
            if (s_verify(bad) != FL_E_DENIED) {
                char what[64];
                snprintf(what, sizeof what, "position %zu set to '%c' accepted", i, ch);
                fl_test_fail(__FILE__, __LINE__, what);
            }
        }
}

FL_TEST(every_truncation_is_denied)
{
    fl_claims_t c = s_claims();
    char token[FL_TOKEN_MAX];
    s_sign(&c, token);
    for (size_t n = strlen(token); n-- > 0;) {
        token[n] = '\0';
        FL_CHECK_INT(s_verify(token), ==, FL_E_DENIED);
    }
}

FL_TEST(another_key_is_denied)
{
    fl_claims_t c = s_claims(), got;
    char token[FL_TOKEN_MAX];
    s_sign(&c, token);
    uint8_t other[FL_TOKEN_KEY_BYTES];
    memcpy(other, s_key, sizeof other);
    other[FL_TOKEN_KEY_BYTES - 1] ^= 1;
    FL_CHECK_INT(fl_token_verify(other, token, NOW, &got), ==, FL_E_DENIED);
}

FL_TEST(expired_at_its_expiry_second_with_claims_filled)
{
    fl_claims_t c = s_claims(), got;
    char token[FL_TOKEN_MAX];
    s_sign(&c, token);
    FL_CHECK_INT(fl_token_verify(s_key, token, c.expires_s - 1, &got), ==, 0);
    memset(&got, 0, sizeof got);
    FL_CHECK_INT(fl_token_verify(s_key, token, c.expires_s, &got), ==, FL_E_EXPIRED);
    FL_CHECK_STR(got.user_id, c.user_id);
    FL_CHECK_STR(got.session_id, c.session_id);
    FL_CHECK_INT(got.role, ==, c.role);
    FL_CHECK_INT(got.expires_s, ==, c.expires_s);
    FL_CHECK_INT(fl_token_verify(s_key, token, c.expires_s + 1, &got), ==, FL_E_EXPIRED);
}

FL_TEST(malformed_text_is_denied)
{
    fl_claims_t c = s_claims();
    char token[FL_TOKEN_MAX];
    s_sign(&c, token);
    const char *payload = token + 3;
    const char *mac = strchr(payload, '.') + 1;
    int payload_len = (int) (mac - 1 - payload);
    char bad[700];

    FL_CHECK_INT(s_verify(""), ==, FL_E_DENIED);
    FL_CHECK_INT(s_verify("v1"), ==, FL_E_DENIED);
    FL_CHECK_INT(s_verify("v1."), ==, FL_E_DENIED);
    FL_CHECK_INT(s_verify("v1.."), ==, FL_E_DENIED);
    snprintf(bad, sizeof bad, "%s", payload);                       /* no prefix */
    FL_CHECK_INT(s_verify(bad), ==, FL_E_DENIED);
    snprintf(bad, sizeof bad, "v2.%s", payload);
    FL_CHECK_INT(s_verify(bad), ==, FL_E_DENIED);
    snprintf(bad, sizeof bad, "v1.%.*s%s", payload_len, payload, mac); /* no second dot */
    FL_CHECK_INT(s_verify(bad), ==, FL_E_DENIED);
    snprintf(bad, sizeof bad, "v1.%.*s.%s", payload_len, payload, "!!!!");
    FL_CHECK_INT(s_verify(bad), ==, FL_E_DENIED);
    snprintf(bad, sizeof bad, "%s=", token);                        /* trailing garbage */
    FL_CHECK_INT(s_verify(bad), ==, FL_E_DENIED);
    snprintf(bad, sizeof bad, "%s.", token);
    FL_CHECK_INT(s_verify(bad), ==, FL_E_DENIED);
    snprintf(bad, sizeof bad, "%sA", token);
    FL_CHECK_INT(s_verify(bad), ==, FL_E_DENIED);
    snprintf(bad, sizeof bad, "%s\n", token);
    FL_CHECK_INT(s_verify(bad), ==, FL_E_DENIED);
}

FL_TEST(over_long_token_is_denied)
{
    char bad[601];
    memset(bad, 'A', 600);
    bad[600] = '\0';
    memcpy(bad, "v1.", 3);
    bad[300] = '.';
    FL_CHECK_INT(s_verify(bad), ==, FL_E_DENIED);
}

/*  A prefix of the right MAC, each right after the whole token was
 *  verified (so a verifier that ignored the length could find the rest of
 *  the MAC where the last call left it).  */
FL_TEST(mac_of_the_wrong_length_is_denied)
{
    fl_claims_t c = s_claims();
    char token[FL_TOKEN_MAX], bad[FL_TOKEN_MAX + 64];
    s_sign(&c, token);
    size_t signed_len = (size_t) (strchr(token + 3, '.') - token);
    uint8_t mac[33];
    crypto_generichash(mac, 32, (const uint8_t *) token, signed_len, s_key, sizeof s_key);
    mac[32] = 0;
    size_t sizes[] = { 0, 1, 16, 30, 31, 33 };
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        memcpy(bad, token, signed_len + 1);
        sodium_bin2base64(bad + signed_len + 1, sizeof bad - signed_len - 1, mac, sizes[i], B64);
        FL_CHECK_INT(s_verify(token), ==, 0);
        FL_CHECK_INT(s_verify(bad), ==, FL_E_DENIED);
    }
}

FL_TEST(sealed_payload_that_is_not_base64_is_denied)
{
    char bad[FL_TOKEN_MAX];
    s_seal_text("v1.AAA*AAA", bad);
    FL_CHECK_INT(s_verify(bad), ==, FL_E_DENIED);
}

FL_TEST(sealed_claims_followed_by_junk_are_denied)
{
    fl_claims_t c = s_claims();
    char token[FL_TOKEN_MAX], text[FL_TOKEN_MAX], bad[FL_TOKEN_MAX];
    s_sign(&c, token);
    size_t signed_len = (size_t) (strchr(token + 3, '.') - token);
    for (const char *junk = "*!~ "; *junk; junk++) {
        snprintf(text, sizeof text, "%.*s%c", (int) signed_len, token, *junk);
        s_seal_text(text, bad);
        FL_CHECK_INT(s_verify(bad), ==, FL_E_DENIED);
    }
}

FL_TEST(sealed_payload_that_is_not_claims_is_denied)
{
    char bad[FL_TOKEN_MAX];
    const uint8_t junk[] = { 0x12, 0x7f, 'a' };    /* field 2: 127 bytes promised, 1 given */
    s_seal(junk, sizeof junk, bad);
    FL_CHECK_INT(s_verify(bad), ==, FL_E_DENIED);
}

FL_TEST(sealed_claims_of_another_version_are_denied)
{
    fl_claims_t c = s_claims();
    Flow__Cluster__AccessClaims msg = FLOW__CLUSTER__ACCESS_CLAIMS__INIT;
    msg.user_id = c.user_id;
    msg.session_id = c.session_id;
    msg.expires_s = c.expires_s;
    char token[FL_TOKEN_MAX];
    msg.version = 1;
    s_seal_claims(&msg, token);
    FL_CHECK_INT(s_verify(token), ==, 0);
    msg.version = 2;
    s_seal_claims(&msg, token);
    FL_CHECK_INT(s_verify(token), ==, FL_E_DENIED);
}

FL_TEST(sealed_claims_with_an_over_long_id_are_denied)
{
    char longest[FL_TOKEN_ID_MAX + 1];
    memset(longest, 'a', FL_TOKEN_ID_MAX);
    longest[FL_TOKEN_ID_MAX] = '\0';
    Flow__Cluster__AccessClaims msg = FLOW__CLUSTER__ACCESS_CLAIMS__INIT;
    msg.version = 1;
    msg.expires_s = NOW + 900;
    char token[FL_TOKEN_MAX];
    msg.user_id = longest;
    msg.session_id = "s";
    s_seal_claims(&msg, token);
    FL_CHECK_INT(s_verify(token), ==, FL_E_DENIED);
    msg.user_id = "u";
    msg.session_id = longest;
    s_seal_claims(&msg, token);
    FL_CHECK_INT(s_verify(token), ==, FL_E_DENIED);
}

/*  ------------------------------------------------------------------
 *  Verified-token cache  */

FL_TEST(cache_hit_returns_the_claims)
{
    fl_claims_t c = s_claims(), got;
    char token[FL_TOKEN_MAX];
    s_sign(&c, token);
    fl_token_cache_t *cache = fl_token_cache_new(16);
    FL_CHECK(cache);
    for (int i = 0; i < 2; i++) {
        memset(&got, 0, sizeof got);
        FL_CHECK_INT(fl_token_cache_verify(cache, s_key, token, NOW, &got), ==, 0);
        FL_CHECK_STR(got.user_id, c.user_id);
        FL_CHECK_STR(got.session_id, c.session_id);
        FL_CHECK_INT(got.role, ==, c.role);
        FL_CHECK_INT(got.expires_s, ==, c.expires_s);
    }
    fl_token_cache_destroy(&cache);
    FL_CHECK(cache == NULL);
}

FL_TEST(cache_hit_checks_the_expiry)
{
    fl_claims_t c = s_claims(), got;
    char token[FL_TOKEN_MAX];
    s_sign(&c, token);
    fl_token_cache_t *cache = fl_token_cache_new(16);
    FL_CHECK_INT(fl_token_cache_verify(cache, s_key, token, NOW, &got), ==, 0);
    memset(&got, 0, sizeof got);
    FL_CHECK_INT(fl_token_cache_verify(cache, s_key, token, c.expires_s, &got), ==,
                 FL_E_EXPIRED);
    FL_CHECK_STR(got.user_id, c.user_id);
    FL_CHECK_INT(fl_token_cache_verify(cache, s_key, token, c.expires_s - 1, &got), ==, 0);
    fl_token_cache_destroy(&cache);
}

FL_TEST(cache_denies_a_changed_token_after_caching_the_real_one)
{
    fl_claims_t c = s_claims(), got;
    char token[FL_TOKEN_MAX], bad[FL_TOKEN_MAX];
    s_sign(&c, token);
    fl_token_cache_t *cache = fl_token_cache_new(1);
    FL_CHECK_INT(fl_token_cache_verify(cache, s_key, token, NOW, &got), ==, 0);
    size_t len = strlen(token);
    for (size_t i = 0; i < len; i++) {
        memcpy(bad, token, len + 1);
        bad[i] = bad[i] == 'A' ? 'B' : 'A';
        for (int twice = 0; twice < 2; twice++)
            FL_CHECK_INT(fl_token_cache_verify(cache, s_key, bad, NOW, &got), ==, FL_E_DENIED);
        bad[i] = '\0';
        FL_CHECK_INT(fl_token_cache_verify(cache, s_key, bad, NOW, &got), ==, FL_E_DENIED);
    }
    fl_token_cache_destroy(&cache);
}

FL_TEST(cache_denies_the_empty_token_even_when_empty)
{
    fl_claims_t got;
    fl_token_cache_t *cache = fl_token_cache_new(1);       /* its slot: unused, length 0 */
    FL_CHECK_INT(fl_token_cache_verify(cache, s_key, "", NOW, &got), ==, FL_E_DENIED);
    fl_token_cache_destroy(&cache);
}

FL_TEST(cache_slot_shared_by_two_tokens_answers_each_rightly)
{
    fl_claims_t a = s_claims(), b = s_claims(), got;
    snprintf(b.user_id, sizeof b.user_id, "fedcba9876543210");      /* same length */
    b.expires_s = NOW + 60;
    char ta[FL_TOKEN_MAX], tb[FL_TOKEN_MAX];
    s_sign(&a, ta);
    s_sign(&b, tb);
    FL_CHECK_INT(strlen(ta), ==, strlen(tb));
    fl_token_cache_t *cache = fl_token_cache_new(1);       /* every token, one slot */
    for (int i = 0; i < 3; i++) {
        FL_CHECK_INT(fl_token_cache_verify(cache, s_key, ta, NOW, &got), ==, 0);
        FL_CHECK_STR(got.user_id, a.user_id);
        FL_CHECK_INT(fl_token_cache_verify(cache, s_key, tb, NOW, &got), ==, 0);
        FL_CHECK_STR(got.user_id, b.user_id);
        FL_CHECK_INT(got.expires_s, ==, NOW + 60);
    }
    fl_token_cache_destroy(&cache);
}

FL_TEST(cache_destroy_tolerates_null)
{
    fl_token_cache_t *cache = NULL;
    fl_token_cache_destroy(&cache);
    FL_CHECK(cache == NULL);
}

/*  ------------------------------------------------------------------
 *  Refresh tokens  */

FL_TEST(refresh_token_round_trips_ids_and_hash)
{
    FL_CHECK(sodium_init() >= 0);
    char token[FL_TOKEN_MAX], user[FL_TOKEN_ID_MAX], session[FL_TOKEN_ID_MAX];
    uint8_t made[32], parsed[32];
    FL_CHECK_INT(fl_token_refresh_new("0123abcd", "89ef", token, made), ==, 0);
    FL_CHECK(strncmp(token, "0123abcd.89ef.", 14) == 0);
    FL_CHECK_INT(fl_token_refresh_parse(token, user, session, parsed), ==, 0);
    FL_CHECK_STR(user, "0123abcd");
    FL_CHECK_STR(session, "89ef");
    FL_CHECK(memcmp(made, parsed, sizeof made) == 0);
}

FL_TEST(refresh_hash_is_blake2b_of_the_secret)
{
    FL_CHECK(sodium_init() >= 0);
    char token[FL_TOKEN_MAX];
    uint8_t made[32], secret[FL_TOKEN_SECRET_BYTES + 1], expected[32];
    FL_CHECK_INT(fl_token_refresh_new("aa", "bb", token, made), ==, 0);
    size_t n = 0;
    FL_CHECK(sodium_base642bin(secret, sizeof secret, token + 6, strlen(token + 6), NULL, &n,
                               NULL, B64) == 0);
    FL_CHECK_INT(n, ==, FL_TOKEN_SECRET_BYTES);
    crypto_generichash(expected, sizeof expected, secret, n, NULL, 0);
    FL_CHECK(memcmp(made, expected, sizeof made) == 0);
}

FL_TEST(refresh_new_refuses_over_long_ids)
{
    FL_CHECK(sodium_init() >= 0);
    char longest[FL_TOKEN_ID_MAX + 1], token[FL_TOKEN_MAX];
    uint8_t hash[32];
    memset(longest, 'a', FL_TOKEN_ID_MAX);
    longest[FL_TOKEN_ID_MAX] = '\0';
    FL_CHECK_INT(fl_token_refresh_new(longest, "bb", token, hash), ==, FL_E_INVAL);
    FL_CHECK_INT(fl_token_refresh_new("aa", longest, token, hash), ==, FL_E_INVAL);
    longest[FL_TOKEN_ID_MAX - 1] = '\0';
    FL_CHECK_INT(fl_token_refresh_new(longest, longest, token, hash), ==, 0);
}

FL_TEST(two_refresh_tokens_differ)
{
    FL_CHECK(sodium_init() >= 0);
    char a[FL_TOKEN_MAX], b[FL_TOKEN_MAX];
    uint8_t ha[32], hb[32];
    FL_CHECK_INT(fl_token_refresh_new("aa", "bb", a, ha), ==, 0);
    FL_CHECK_INT(fl_token_refresh_new("aa", "bb", b, hb), ==, 0);
    FL_CHECK(strcmp(a, b) != 0);
    FL_CHECK(memcmp(ha, hb, sizeof ha) != 0);
}

/*  Whether TOKEN (the ids and secret of a good token with one part
 *  replaced) is refused.  */
static bool
s_refresh_denied(const char *token)
{
    char user[FL_TOKEN_ID_MAX], session[FL_TOKEN_ID_MAX];
    uint8_t hash[32];
    return fl_token_refresh_parse(token, user, session, hash) == FL_E_DENIED;
}

FL_TEST(refresh_parse_refuses_ids_that_are_not_lower_case_hex)
{
    FL_CHECK(sodium_init() >= 0);
    char good[FL_TOKEN_MAX], bad[FL_TOKEN_MAX];
    uint8_t hash[32];
    FL_CHECK_INT(fl_token_refresh_new("aa", "bb", good, hash), ==, 0);
    const char *secret = good + 6;
    const char *ids[] = { "ag.bb", "aA.bb", "a-.bb", "a/.bb", "aa.bg", "aa.Bb", "aa.b:" };
    for (size_t i = 0; i < sizeof ids / sizeof ids[0]; i++) {
        snprintf(bad, sizeof bad, "%s.%s", ids[i], secret);
        FL_CHECK(s_refresh_denied(bad));
    }
    snprintf(bad, sizeof bad, "aa.bb.%s", secret);
    FL_CHECK(!s_refresh_denied(bad));
}

FL_TEST(refresh_parse_refuses_empty_and_over_long_ids)
{
    FL_CHECK(sodium_init() >= 0);
    char good[FL_TOKEN_MAX], bad[2 * FL_TOKEN_MAX], longest[FL_TOKEN_ID_MAX + 1];
    uint8_t hash[32];
    FL_CHECK_INT(fl_token_refresh_new("aa", "bb", good, hash), ==, 0);
    const char *secret = good + 6;
    memset(longest, 'a', FL_TOKEN_ID_MAX);
    longest[FL_TOKEN_ID_MAX] = '\0';
    snprintf(bad, sizeof bad, ".bb.%s", secret);
    FL_CHECK(s_refresh_denied(bad));
    snprintf(bad, sizeof bad, "aa..%s", secret);
    FL_CHECK(s_refresh_denied(bad));
    snprintf(bad, sizeof bad, "%s.bb.%s", longest, secret);
    FL_CHECK(s_refresh_denied(bad));
    snprintf(bad, sizeof bad, "aa.%s.%s", longest, secret);
    FL_CHECK(s_refresh_denied(bad));
    FL_CHECK(s_refresh_denied(""));
    FL_CHECK(s_refresh_denied(secret));
}

FL_TEST(refresh_parse_refuses_a_secret_of_the_wrong_length)
{
    FL_CHECK(sodium_init() >= 0);
    uint8_t raw[FL_TOKEN_SECRET_BYTES + 1] = { 0 };
    size_t sizes[] = { 0, 1, FL_TOKEN_SECRET_BYTES - 1, FL_TOKEN_SECRET_BYTES + 1 };
    char bad[FL_TOKEN_MAX];
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        memcpy(bad, "aa.bb.", 7);
        sodium_bin2base64(bad + 6, sizeof bad - 6, raw, sizes[i], B64);
        FL_CHECK(s_refresh_denied(bad));
    }
    sodium_bin2base64(bad + 6, sizeof bad - 6, raw, FL_TOKEN_SECRET_BYTES, B64);
    FL_CHECK(!s_refresh_denied(bad));
}

FL_TEST(refresh_parse_refuses_trailing_data)
{
    FL_CHECK(sodium_init() >= 0);
    char good[FL_TOKEN_MAX], bad[FL_TOKEN_MAX + 8];
    uint8_t hash[32];
    FL_CHECK_INT(fl_token_refresh_new("aa", "bb", good, hash), ==, 0);
    const char *tails[] = { ".", ".cc", "=", " ", "\n" };
    for (size_t i = 0; i < sizeof tails / sizeof tails[0]; i++) {
        snprintf(bad, sizeof bad, "%s%s", good, tails[i]);
        FL_CHECK(s_refresh_denied(bad));
    }
}

FL_TEST(refresh_parse_refuses_a_changed_secret_by_its_hash)
{
    FL_CHECK(sodium_init() >= 0);
    char token[FL_TOKEN_MAX], user[FL_TOKEN_ID_MAX], session[FL_TOKEN_ID_MAX];
    uint8_t made[32], parsed[32];
    FL_CHECK_INT(fl_token_refresh_new("aa", "bb", token, made), ==, 0);
    token[6] = token[6] == 'A' ? 'B' : 'A';
    FL_CHECK_INT(fl_token_refresh_parse(token, user, session, parsed), ==, 0);
    FL_CHECK(memcmp(made, parsed, sizeof made) != 0);
}

/*  ------------------------------------------------------------------
 *  Random ids  */

FL_TEST(random_id_is_lower_case_hex_of_twice_its_bytes)
{
    FL_CHECK(sodium_init() >= 0);
    char a[64], b[64];
    memset(a, 'x', sizeof a);
    fl_token_random_id(a, 16);
    FL_CHECK_INT(strlen(a), ==, 32);
    for (size_t i = 0; i < 32; i++)
        FL_CHECK((a[i] >= '0' && a[i] <= '9') || (a[i] >= 'a' && a[i] <= 'f'));
    fl_token_random_id(b, 16);
    FL_CHECK(strcmp(a, b) != 0);
    fl_token_random_id(b, 8);
    FL_CHECK_INT(strlen(b), ==, 16);
}
