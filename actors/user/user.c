/*  actors/user/user.c — accounts and sessions; see user.h.
 *
 *  Sign-up, login, password change and deletion each run in two stages:
 *  the handler reads what it needs and defers the Argon2id work to the
 *  worker pool; the resume handler, in a later group commit, re-checks
 *  what may have changed meanwhile (an email taken by a racing sign-up)
 *  and writes.  A login for an unknown email is verified against a decoy
 *  hash, and a wrong password and an unknown email get the same answer, so
 *  neither the reply nor its timing tells whether an account exists.
 *
 *  Failed logins are counted per email in the actor's memory (lost on
 *  restart, by design: they slow guessing down, they are not a ban).
 *  After login_backoff_after failures, each further attempt for that
 *  email must wait 2^(failures - limit) seconds, up to 15 minutes; the
 *  wait applies to unknown emails exactly as to known ones.
 */
#include "actors/user/user.h"
#include "actors/user/privacy.h"
#include "actors/user/records.h"
#include "node/error.h"
#include "node/log.h"
#include "node/node.h"
#include "node/text.h"
#include "node/token.h"
#include "storage/codec.h"
#include "storage/keyspace.h"

#include <czmq.h>
#include <sodium.h>

#define PASSWORD_MIN_CHARS 10
#define PASSWORD_MAX_BYTES 1024
#define NAME_MAX_CHARS 64
#define BACKOFF_MAX_S 900
#define PREVIOUS_SECRETS_MAX 16

fl_user_dbs_t fl_user_dbs;

static struct {
    char decoy_hash[crypto_pwhash_STRBYTES];
    uint64_t ops;
    size_t mem;
    zhashx_t *failures;       /* email -> s_failure_t; the user actor's thread only */
} s_user;

typedef struct {
    unsigned count;
    int64_t until_ms;         /* no attempt before this (zclock_mono) */
} s_failure_t;

/*  Work for the pool: hash and/or verify passwords.  Holds no pointer
 *  into the call: it outlives the batch that deferred it.  */
typedef struct {
    char password[PASSWORD_MAX_BYTES + 1];
    char new_password[PASSWORD_MAX_BYTES + 1];
    char hash[crypto_pwhash_STRBYTES];       /* to verify password against */
    char new_hash[crypto_pwhash_STRBYTES];   /* out: hash of new_password */
    uint64_t ops;
    size_t mem;
    bool verify;
    bool make;
    bool known;               /* login: the email has an account */
    bool verified;            /* out */
    int rc;                   /* out: 0, or -1 when hashing failed */
    char user_id[FL_TOKEN_ID_MAX];
} s_pw_job_t;

/*  ------------------------------------------------------------------
 *  Records  */

uint64_t
fl_user_now_s(void)
{
    return (uint64_t) zclock_time() / 1000;
}

static const fl_node_t *
s_node(fl_call_t *call)
{
    return call->node;
}

uint32_t
fl_user_partition(fl_call_t *call, const char *key)
{
    return fl_ring_partition(fl_node_ring(s_node(call)), key, strlen(key));
}

MDB_val
fl_user_key(uint8_t buf[FL_KEYSPACE_KEY_MAX], uint32_t partition, const char *a, const char *b)
{
    char suffix[FL_KEYSPACE_KEY_MAX];
    int n = snprintf(suffix, sizeof suffix, "%s%s%s", a, b ? "/" : "", b ? b : "");
    int len = fl_keyspace_key((uint16_t) partition, suffix, (size_t) n, buf, FL_KEYSPACE_KEY_MAX);
    return (MDB_val) { len > 0 ? (size_t) len : 0, buf };
}

MDB_val
fl_user_sub_key(uint8_t buf[FL_KEYSPACE_KEY_MAX], fl_call_t *call, const char *user_id,
                const char *sub)
{
    return fl_user_key(buf, fl_user_partition(call, user_id), user_id, sub);
}

int
fl_user_read(fl_call_t *call, const char *user_id, Flow__Storage__UserRecord **rec_p)
{
    uint8_t buf[FL_KEYSPACE_KEY_MAX];
    MDB_val key = fl_user_key(buf, fl_user_partition(call, user_id), user_id, NULL);
    return fl_codec_get_with(call->txn, fl_user_dbs.users, &key,
                             &flow__storage__user_record__descriptor, fl_call_allocator(call),
                             (ProtobufCMessage **) rec_p);
}

int
fl_user_write(fl_call_t *call, Flow__Storage__UserRecord *rec)
{
    uint8_t buf[FL_KEYSPACE_KEY_MAX];
    MDB_val key = fl_user_key(buf, fl_user_partition(call, rec->user_id), rec->user_id, NULL);
    rec->updated_s = fl_user_now_s();
    return fl_codec_put(call->txn, fl_user_dbs.users, &key, &rec->base);
}

int
fl_user_by_email(fl_call_t *call, const char *email, char *user_id)
{
    uint8_t buf[FL_KEYSPACE_KEY_MAX];
    MDB_val key = fl_user_key(buf, fl_user_partition(call, email), email, NULL);
    Flow__Storage__EmailRecord *rec = NULL;
    int rc = fl_codec_get_with(call->txn, fl_user_dbs.emails, &key,
                               &flow__storage__email_record__descriptor, fl_call_allocator(call),
                               (ProtobufCMessage **) &rec);
    if (rc == 0)
        snprintf(user_id, FL_TOKEN_ID_MAX, "%s", rec->user_id);
    return rc;
}

/*  Maps a storage error to the reply; returns the code the batch must
 *  abort on (MDB_MAP_FULL, FL_E_IO), 0 for errors answered here.  */
static int
s_storage_error(fl_call_t *call, int rc)
{
    if (rc == MDB_MAP_FULL || rc == FL_E_IO)
        return rc;
    if (rc == FL_E_CORRUPT)
        fl_call_fail(call, FLOW__STATUS__INTERNAL, "a stored account record is damaged");
    else
    if (rc == FL_E_TOOBIG)
        fl_call_fail(call, FLOW__STATUS__INVALID_ARGUMENT, "key too long");
    else
        fl_call_fail(call, FLOW__STATUS__INTERNAL, "storage: %s", fl_strerror(rc));
    return 0;
}

/*  ------------------------------------------------------------------
 *  Start  */

int
fl_user_init(fl_store_t *store, uint64_t pwhash_ops, uint64_t pwhash_mem_kb)
{
    int rc;
    if ((rc = fl_store_dbi_partitioned(store, "users", &fl_user_dbs.users))
        || (rc = fl_store_dbi_partitioned(store, "emails", &fl_user_dbs.emails))
        || (rc = fl_store_dbi_partitioned(store, "sessions", &fl_user_dbs.sessions))
        || (rc = fl_store_dbi_partitioned(store, "revocations", &fl_user_dbs.revocations))
        || (rc = fl_store_dbi_partitioned(store, "history", &fl_user_dbs.history))
        || (rc = fl_store_dbi_partitioned(store, "standing", &fl_user_dbs.standing)))
        return rc;
    s_user.ops = pwhash_ops;
    s_user.mem = (size_t) pwhash_mem_kb * 1024;
    char random[33];
    fl_token_random_id(random, 16);
    if (crypto_pwhash_str(s_user.decoy_hash, random, strlen(random), s_user.ops, s_user.mem) != 0)
        return FL_E_NOMEM;
    zhashx_destroy(&s_user.failures);
    s_user.failures = zhashx_new();
    zhashx_set_destructor(s_user.failures, (zhashx_destructor_fn *) zstr_free);
    return 0;
}

/*  ------------------------------------------------------------------
 *  Checks: everything that needs no storage, before routing  */

static Flow__Status
s_check_password(const char *field, const char *password, char *msg, size_t msglen)
{
    size_t len = strlen(password);
    if (len > PASSWORD_MAX_BYTES) {
        snprintf(msg, msglen, "%s: longer than %d bytes", field, PASSWORD_MAX_BYTES);
        return FLOW__STATUS__INVALID_ARGUMENT;
    }
    if (!fl_text_valid(password, len)) {
        snprintf(msg, msglen, "%s: not valid UTF-8 text", field);
        return FLOW__STATUS__INVALID_ARGUMENT;
    }
    size_t chars = 0;
    for (size_t i = 0; i < len; i++)
        chars += ((unsigned char) password[i] & 0xc0) != 0x80;
    if (chars < PASSWORD_MIN_CHARS) {
        snprintf(msg, msglen, "%s: at least %d characters", field, PASSWORD_MIN_CHARS);
        return FLOW__STATUS__INVALID_ARGUMENT;
    }
    return FLOW__STATUS__OK;
}

/*  Routes by the normalised email, written into the route's key buffer.  */
static Flow__Status
s_route_email(const char *email, fl_route_t *route, char *msg, size_t msglen)
{
    if (fl_text_email("email", email, route->keybuf, msg, msglen) != 0)
        return FLOW__STATUS__INVALID_ARGUMENT;
    route->actor = FLOW__ACTOR__ACTOR_USER;
    route->key = route->keybuf;
    route->key_len = strlen(route->keybuf);
    return FLOW__STATUS__OK;
}

void
fl_user_route(const char *user_id, fl_route_t *route)
{
    snprintf(route->keybuf, sizeof route->keybuf, "%s", user_id);
    route->actor = FLOW__ACTOR__ACTOR_USER;
    route->key = route->keybuf;
    route->key_len = strlen(route->keybuf);
}

Flow__Status
fl_user_check_sign_up(const Flow__Request *req, const char *user_id, fl_route_t *route,
                      char *msg, size_t msglen)
{
    (void) user_id;
    const Flow__SignUpRequest *r = req->sign_up;
    Flow__Status status = s_route_email(r->email, route, msg, msglen);
    if (status == FLOW__STATUS__OK)
        status = s_check_password("password", r->password, msg, msglen);
    if (status == FLOW__STATUS__OK
        && fl_text_check("display_name", r->display_name, NAME_MAX_CHARS, true, false,
                         msg, msglen) != 0)
        status = FLOW__STATUS__INVALID_ARGUMENT;
    return status;
}

Flow__Status
fl_user_check_login(const Flow__Request *req, const char *user_id, fl_route_t *route,
                    char *msg, size_t msglen)
{
    (void) user_id;
    const Flow__LoginRequest *r = req->login;
    Flow__Status status = s_route_email(r->email, route, msg, msglen);
    if (status == FLOW__STATUS__OK && (r->password[0] == '\0'
                                       || strlen(r->password) > PASSWORD_MAX_BYTES)) {
        snprintf(msg, msglen, "password: 1 to %d bytes", PASSWORD_MAX_BYTES);
        status = FLOW__STATUS__INVALID_ARGUMENT;
    }
    return status;
}

Flow__Status
fl_user_check_refresh(const Flow__Request *req, const char *user_id, fl_route_t *route,
                      char *msg, size_t msglen)
{
    (void) user_id;
    char uid[FL_TOKEN_ID_MAX], sid[FL_TOKEN_ID_MAX];
    uint8_t hash[32];
    if (fl_token_refresh_parse(req->refresh->refresh_token, uid, sid, hash) != 0) {
        snprintf(msg, msglen, "refresh_token: invalid");
        return FLOW__STATUS__UNAUTHENTICATED;
    }
    fl_user_route(uid, route);
    return FLOW__STATUS__OK;
}

Flow__Status
fl_user_check_self(const Flow__Request *req, const char *user_id, fl_route_t *route,
                   char *msg, size_t msglen)
{
    if (!user_id || !*user_id) {
        snprintf(msg, msglen, "this request acts on a signed-in user's own account");
        return FLOW__STATUS__INVALID_ARGUMENT;
    }
    if (req->body_case == FLOW__REQUEST__BODY_DELETE_ACCOUNT
        && req->delete_account->password[0] == '\0') {
        snprintf(msg, msglen, "password: required to delete an account");
        return FLOW__STATUS__INVALID_ARGUMENT;
    }
    fl_user_route(user_id, route);
    return FLOW__STATUS__OK;
}

Flow__Status
fl_user_check_change_password(const Flow__Request *req, const char *user_id, fl_route_t *route,
                              char *msg, size_t msglen)
{
    const Flow__ChangePasswordRequest *r = req->change_password;
    if (r->old_password[0] == '\0' || strlen(r->old_password) > PASSWORD_MAX_BYTES) {
        snprintf(msg, msglen, "old_password: 1 to %d bytes", PASSWORD_MAX_BYTES);
        return FLOW__STATUS__INVALID_ARGUMENT;
    }
    Flow__Status status = s_check_password("new_password", r->new_password, msg, msglen);
    if (status != FLOW__STATUS__OK)
        return status;
    return fl_user_check_self(req, user_id, route, msg, msglen);
}

static Flow__Status
s_check_role(Flow__Role role, char *msg, size_t msglen)
{
    if (role < FLOW__ROLE__ROLE_USER || role > FLOW__ROLE__ROLE_ADMIN) {
        snprintf(msg, msglen, "role: unknown value %d (user, organizer, moderator, admin)",
                 (int) role);
        return FLOW__STATUS__INVALID_ARGUMENT;
    }
    return FLOW__STATUS__OK;
}

Flow__Status
fl_user_check_set_role(const Flow__Request *req, const char *user_id, fl_route_t *route,
                       char *msg, size_t msglen)
{
    (void) user_id;
    Flow__Status status = s_check_role(req->set_role->role, msg, msglen);
    return status == FLOW__STATUS__OK ? s_route_email(req->set_role->email, route, msg, msglen)
                                      : status;
}

Flow__Status
fl_user_check_get_account(const Flow__Request *req, const char *user_id, fl_route_t *route,
                          char *msg, size_t msglen)
{
    (void) user_id;
    return s_route_email(req->get_account->email, route, msg, msglen);
}

/*  ------------------------------------------------------------------
 *  Password work, on the worker pool  */

static void
s_pw_work(void *arg)
{
    s_pw_job_t *job = arg;
    job->rc = 0;
    if (job->verify)
        job->verified = crypto_pwhash_str_verify(job->hash, job->password,
                                                 strlen(job->password)) == 0 && job->known;
    if (job->make && (!job->verify || job->verified)) {
        const char *pw = job->new_password[0] ? job->new_password : job->password;
        if (crypto_pwhash_str(job->new_hash, pw, strlen(pw), job->ops, job->mem) != 0)
            job->rc = -1;
    }
    sodium_memzero(job->password, sizeof job->password);
    sodium_memzero(job->new_password, sizeof job->new_password);
}

static s_pw_job_t *
s_pw_job(const char *password)
{
    s_pw_job_t *job = calloc(1, sizeof *job);
    if (!job)
        abort();
    snprintf(job->password, sizeof job->password, "%s", password);
    job->ops = s_user.ops;
    job->mem = s_user.mem;
    return job;
}

/*  ------------------------------------------------------------------
 *  Sessions  */

/*  Starts a session for REC and answers with its tokens.  */
static int
s_start_session(fl_call_t *call, const Flow__Storage__UserRecord *rec)
{
    const fl_node_t *node = s_node(call);
    uint64_t now = fl_user_now_s();
    Flow__SessionReply *out = fl_call_alloc(call, sizeof *out);
    flow__session_reply__init(out);
    char session_id[FL_USER_SESSION_BYTES * 2 + 1];
    fl_token_random_id(session_id, FL_USER_SESSION_BYTES);

    uint8_t hash[32];
    out->refresh_token = fl_call_alloc(call, FL_TOKEN_MAX);
    fl_token_refresh_new(rec->user_id, session_id, out->refresh_token, hash);
    Flow__Storage__SessionRecord srec = FLOW__STORAGE__SESSION_RECORD__INIT;
    srec.record_version = 1;
    srec.session_id = session_id;
    srec.user_id = rec->user_id;
    srec.refresh_hash = (ProtobufCBinaryData) { sizeof hash, hash };
    srec.created_s = now;
    srec.refresh_expires_s = now + node->config->refresh_ttl_s;
    uint8_t buf[FL_KEYSPACE_KEY_MAX];
    MDB_val key = fl_user_sub_key(buf, call, rec->user_id, session_id);
    int rc = fl_codec_put(call->txn, fl_user_dbs.sessions, &key, &srec.base);
    if (rc)
        return s_storage_error(call, rc);

    fl_claims_t claims = { .role = rec->role, .expires_s = now + node->config->access_ttl_s };
    snprintf(claims.user_id, sizeof claims.user_id, "%s", rec->user_id);
    snprintf(claims.session_id, sizeof claims.session_id, "%s", session_id);
    out->access_token = fl_call_alloc(call, FL_TOKEN_MAX);
    fl_token_sign(node->cluster_key, &claims, out->access_token);
    out->user_id = fl_call_strdup(call, rec->user_id);
    out->role = rec->role;
    out->session_id = fl_call_strdup(call, session_id);
    out->access_expires_s = claims.expires_s;
    out->refresh_expires_s = srec.refresh_expires_s;
    call->reply.body_case = FLOW__REPLY__BODY_SESSION;
    call->reply.session = out;
    return 0;
}

/*  Keeps the revocation of SESSION_ID until its last access token
 *  expires, and drops revocations of the same partition that no longer
 *  matter.  */
static int
s_revoke(fl_call_t *call, const char *user_id, const char *session_id)
{
    uint64_t now = fl_user_now_s();
    uint64_t until = now + s_node(call)->config->access_ttl_s;
    uint32_t partition = fl_user_partition(call, user_id);
    MDB_cursor *cursor = NULL;
    int rc = mdb_cursor_open(call->txn, fl_user_dbs.revocations, &cursor);
    uint8_t prefix[FL_KEYSPACE_PREFIX] = { (uint8_t) (partition >> 8), (uint8_t) partition };
    MDB_val k = { sizeof prefix, prefix }, v;
    int op = MDB_SET_RANGE;
    while (rc == 0 && (rc = mdb_cursor_get(cursor, &k, &v, op)) == 0
           && fl_keyspace_key_partition(&k) == (int) partition) {
        op = MDB_NEXT;
        Flow__Storage__RevocationRecord *r =
            flow__storage__revocation_record__unpack(NULL, v.mv_size, v.mv_data);
        bool stale = !r || r->until_s <= now;
        if (r)
            flow__storage__revocation_record__free_unpacked(r, NULL);
        if (stale)
            rc = fl_codec_cursor_del(cursor);
    }
    mdb_cursor_close(cursor);
    if (rc != 0 && rc != MDB_NOTFOUND)
        return rc == MDB_MAP_FULL ? rc : FL_E_IO;

    Flow__Storage__RevocationRecord rec = FLOW__STORAGE__REVOCATION_RECORD__INIT;
    rec.record_version = 1;
    rec.session_id = (char *) session_id;
    rec.until_s = until;
    uint8_t buf[FL_KEYSPACE_KEY_MAX];
    MDB_val key = fl_user_key(buf, partition, session_id, NULL);
    rc = fl_codec_put(call->txn, fl_user_dbs.revocations, &key, &rec.base);
    if (rc == 0)
        fl_call_revoke(call, session_id, until);
    return rc;
}

/*  Ends the sessions of USER_ID, all of them or all but KEEP.  Counts
 *  them into *N (may be NULL) instead when DRY.  */
static int
s_end_sessions(fl_call_t *call, const char *user_id, const char *keep, bool dry, uint32_t *n)
{
    uint8_t buf[FL_KEYSPACE_KEY_MAX];
    MDB_val prefix = fl_user_key(buf, fl_user_partition(call, user_id), user_id, "");
    MDB_cursor *cursor = NULL;
    int rc = mdb_cursor_open(call->txn, fl_user_dbs.sessions, &cursor);
    MDB_val k = prefix, v;
    int op = MDB_SET_RANGE;
    uint32_t count = 0;
    while (rc == 0 && (rc = mdb_cursor_get(cursor, &k, &v, op)) == 0
           && k.mv_size > prefix.mv_size && memcmp(k.mv_data, prefix.mv_data, prefix.mv_size) == 0) {
        op = MDB_NEXT;
        char sid[FL_TOKEN_ID_MAX];
        size_t len = k.mv_size - prefix.mv_size;
        if (len >= sizeof sid)
            continue;
        memcpy(sid, (char *) k.mv_data + prefix.mv_size, len);
        sid[len] = '\0';
        if (keep && strcmp(sid, keep) == 0)
            continue;
        count++;
        if (dry)
            continue;
        rc = fl_codec_cursor_del(cursor);
        if (rc == 0)
            rc = s_revoke(call, user_id, sid);
    }
    mdb_cursor_close(cursor);
    if (n)
        *n = count;
    if (rc == MDB_NOTFOUND || rc == 0)
        return 0;
    return rc == MDB_MAP_FULL ? rc : FL_E_IO;
}

/*  ------------------------------------------------------------------
 *  Sign-up  */

int
fl_user_sign_up(fl_call_t *call)
{
    const Flow__SignUpRequest *r = call->request->sign_up;
    char email[FL_TEXT_EMAIL_MAX + 1], why[200], user_id[FL_TOKEN_ID_MAX];
    if (fl_text_email("email", r->email, email, why, sizeof why) != 0) {
        fl_call_fail(call, FLOW__STATUS__INVALID_ARGUMENT, "%s", why);
        return 0;
    }
    int rc = fl_user_by_email(call, email, user_id);
    if (rc == 0) {
        fl_call_fail(call, FLOW__STATUS__ALREADY_EXISTS, "email: already registered");
        return 0;
    }
    if (rc != FL_E_NOTFOUND)
        return s_storage_error(call, rc);
    s_pw_job_t *job = s_pw_job(r->password);
    job->make = true;
    fl_call_defer(call, s_pw_work, job);
    return 0;
}

/*  A random user id that falls in the partition of EMAIL, so that all of
 *  the account's records share one partition; about P draws of SipHash.  */
static int
s_new_user_id(fl_call_t *call, const char *email, char *user_id)
{
    uint32_t want = fl_user_partition(call, email);
    for (;;) {
        fl_token_random_id(user_id, FL_USER_ID_BYTES);
        if (fl_user_partition(call, user_id) != want)
            continue;
        Flow__Storage__UserRecord *taken = NULL;
        int rc = fl_user_read(call, user_id, &taken);
        if (rc == FL_E_NOTFOUND)
            return 0;
        if (rc)
            return rc;
    }
}

int
fl_user_sign_up_resume(fl_call_t *call)
{
    const Flow__SignUpRequest *r = call->request->sign_up;
    s_pw_job_t *job = call->work_arg;
    if (job->rc != 0) {
        fl_call_fail(call, FLOW__STATUS__RESOURCE_EXHAUSTED, "password hashing failed: out of memory");
        call->reply.retry_after_ms = 1000;
        return 0;
    }
    char email[FL_TEXT_EMAIL_MAX + 1], why[200], user_id[FL_TOKEN_ID_MAX];
    fl_text_email("email", r->email, email, why, sizeof why);
    int rc = fl_user_by_email(call, email, user_id);
    if (rc == 0) {
        fl_call_fail(call, FLOW__STATUS__ALREADY_EXISTS, "email: already registered");
        return 0;
    }
    if (rc != FL_E_NOTFOUND || (rc = s_new_user_id(call, email, user_id)) != 0)
        return s_storage_error(call, rc);

    Flow__Profile profile = FLOW__PROFILE__INIT;
    Flow__Privacy privacy = FLOW__PRIVACY__INIT;
    privacy.bio = fl_privacy_bio(NULL);
    privacy.location = fl_privacy_location(NULL);
    privacy.interests = fl_privacy_interests(NULL);
    privacy.traits = fl_privacy_traits(NULL);
    profile.display_name = (char *) r->display_name;
    profile.privacy = &privacy;
    Flow__Storage__UserRecord rec = FLOW__STORAGE__USER_RECORD__INIT;
    rec.record_version = 1;
    rec.user_id = user_id;
    rec.email = email;
    rec.password_hash = job->new_hash;
    rec.role = FLOW__ROLE__ROLE_USER;
    rec.profile = &profile;
    rec.created_s = fl_user_now_s();
    uint8_t buf[FL_KEYSPACE_KEY_MAX];
    MDB_val key = fl_user_key(buf, fl_user_partition(call, email), email, NULL);
    Flow__Storage__EmailRecord erec = FLOW__STORAGE__EMAIL_RECORD__INIT;
    erec.record_version = 1;
    erec.user_id = user_id;
    if ((rc = fl_user_write(call, &rec)) || (rc = fl_codec_put(call->txn, fl_user_dbs.emails,
                                                               &key, &erec.base)))
        return s_storage_error(call, rc);
    fl_info("user", "account created", "user=%s", user_id);
    return s_start_session(call, &rec);
}

/*  ------------------------------------------------------------------
 *  Login  */

static s_failure_t *
s_failure(const char *email)
{
    return zhashx_lookup(s_user.failures, email);
}

/*  Refuses an attempt that comes before the account's wait is over.  */
static bool
s_backing_off(fl_call_t *call, const char *email)
{
    s_failure_t *f = s_failure(email);
    int64_t now = zclock_mono();
    if (!f || now >= f->until_ms)
        return false;
    fl_call_fail(call, FLOW__STATUS__RESOURCE_EXHAUSTED,
                 "too many failed sign-ins for this email; retry after %" PRId64 " ms",
                 f->until_ms - now);
    call->reply.retry_after_ms = (uint32_t) (f->until_ms - now);
    return true;
}

static void
s_count_failure(fl_call_t *call, const char *email)
{
    s_failure_t *f = s_failure(email);
    if (!f) {
        f = calloc(1, sizeof *f);
        if (!f)
            abort();
        zhashx_insert(s_user.failures, email, f);
    }
    f->count++;
    uint64_t limit = s_node(call)->config->login_backoff_after;
    if (f->count >= limit) {
        unsigned shift = f->count - (unsigned) limit;
        int64_t wait_s = shift >= 10 ? BACKOFF_MAX_S : (int64_t) 1 << shift;
        f->until_ms = zclock_mono() + (wait_s > BACKOFF_MAX_S ? BACKOFF_MAX_S : wait_s) * 1000;
    }
}

int
fl_user_login(fl_call_t *call)
{
    const Flow__LoginRequest *r = call->request->login;
    char email[FL_TEXT_EMAIL_MAX + 1], why[200], user_id[FL_TOKEN_ID_MAX];
    fl_text_email("email", r->email, email, why, sizeof why);
    if (s_backing_off(call, email))
        return 0;
    s_pw_job_t *job = s_pw_job(r->password);
    job->verify = true;
    int rc = fl_user_by_email(call, email, user_id);
    Flow__Storage__UserRecord *rec = NULL;
    if (rc == 0)
        rc = fl_user_read(call, user_id, &rec);
    job->known = rc == 0;
    snprintf(job->hash, sizeof job->hash, "%s", job->known ? rec->password_hash : s_user.decoy_hash);
    snprintf(job->user_id, sizeof job->user_id, "%s", job->known ? user_id : "");
    if (rc != 0 && rc != FL_E_NOTFOUND) {
        free(job);
        return s_storage_error(call, rc);
    }
    fl_call_defer(call, s_pw_work, job);
    return 0;
}

int
fl_user_login_resume(fl_call_t *call)
{
    s_pw_job_t *job = call->work_arg;
    char email[FL_TEXT_EMAIL_MAX + 1], why[200];
    fl_text_email("email", call->request->login->email, email, why, sizeof why);
    Flow__Storage__UserRecord *rec = NULL;
    int rc = job->verified ? fl_user_read(call, job->user_id, &rec) : FL_E_NOTFOUND;
    if (rc == FL_E_NOTFOUND) {
        s_count_failure(call, email);
        fl_call_fail(call, FLOW__STATUS__UNAUTHENTICATED, "invalid email or password");
        return 0;
    }
    if (rc)
        return s_storage_error(call, rc);
    zhashx_delete(s_user.failures, email);
    return s_start_session(call, rec);
}

/*  ------------------------------------------------------------------
 *  Refresh and logout  */

static int
s_read_session(fl_call_t *call, const char *user_id, const char *session_id,
               Flow__Storage__SessionRecord **rec_p)
{
    uint8_t buf[FL_KEYSPACE_KEY_MAX];
    MDB_val key = fl_user_sub_key(buf, call, user_id, session_id);
    return fl_codec_get_with(call->txn, fl_user_dbs.sessions, &key,
                             &flow__storage__session_record__descriptor,
                             fl_call_allocator(call), (ProtobufCMessage **) rec_p);
}

static int
s_delete_session(fl_call_t *call, const char *user_id, const char *session_id)
{
    uint8_t buf[FL_KEYSPACE_KEY_MAX];
    MDB_val key = fl_user_sub_key(buf, call, user_id, session_id);
    int rc = fl_codec_del(call->txn, fl_user_dbs.sessions, &key);
    if (rc != 0 && rc != MDB_NOTFOUND)
        return rc == MDB_MAP_FULL ? rc : FL_E_IO;
    return s_revoke(call, user_id, session_id);
}

static bool
s_hash_is(const ProtobufCBinaryData *stored, const uint8_t hash[32])
{
    return stored->len == 32 && sodium_memcmp(stored->data, hash, 32) == 0;
}

/*  Rotates the session's refresh secret.  Presenting a secret it replaced
 *  (one of the last PREVIOUS_SECRETS_MAX) means two parties hold the
 *  token, one of them a thief: the session is ended for both.  */
int
fl_user_refresh(fl_call_t *call)
{
    char uid[FL_TOKEN_ID_MAX], sid[FL_TOKEN_ID_MAX];
    uint8_t hash[32];
    fl_token_refresh_parse(call->request->refresh->refresh_token, uid, sid, hash);
    Flow__Storage__SessionRecord *srec = NULL;
    Flow__Storage__UserRecord *urec = NULL;
    int rc = s_read_session(call, uid, sid, &srec);
    if (rc == 0)
        rc = fl_user_read(call, uid, &urec);
    if (rc == FL_E_NOTFOUND || (rc == 0 && srec->refresh_expires_s <= fl_user_now_s())) {
        fl_call_fail(call, FLOW__STATUS__UNAUTHENTICATED,
                     "refresh_token: the session has ended; sign in again");
        return 0;
    }
    if (rc)
        return s_storage_error(call, rc);
    bool reused = false;
    for (size_t i = 0; i < srec->n_previous_hashes; i++)
        reused |= s_hash_is(&srec->previous_hashes[i], hash);
    if (reused) {
        fl_warn("user", "refresh token reused; session ended", "user=%s session=%s", uid, sid);
        if ((rc = s_delete_session(call, uid, sid)))
            return s_storage_error(call, rc);
        call->commit_on_error = true;
        fl_call_fail(call, FLOW__STATUS__UNAUTHENTICATED,
                     "refresh_token: already used; the session was ended, sign in again");
        return 0;
    }
    if (!s_hash_is(&srec->refresh_hash, hash)) {
        fl_call_fail(call, FLOW__STATUS__UNAUTHENTICATED, "refresh_token: invalid");
        return 0;
    }
    const fl_node_t *node = s_node(call);
    Flow__SessionReply *out = fl_call_alloc(call, sizeof *out);
    flow__session_reply__init(out);
    uint8_t next[32];
    out->refresh_token = fl_call_alloc(call, FL_TOKEN_MAX);
    fl_token_refresh_new(uid, sid, out->refresh_token, next);
    size_t kept = srec->n_previous_hashes < PREVIOUS_SECRETS_MAX ? srec->n_previous_hashes
                                                                 : PREVIOUS_SECRETS_MAX - 1;
    ProtobufCBinaryData *previous = fl_call_alloc(call, (kept + 1) * sizeof *previous);
    previous[0] = srec->refresh_hash;
    for (size_t i = 0; i < kept; i++)
        previous[i + 1] = srec->previous_hashes[i];
    srec->previous_hashes = previous;
    srec->n_previous_hashes = kept + 1;
    srec->refresh_hash = (ProtobufCBinaryData) { sizeof next, next };
    uint8_t buf[FL_KEYSPACE_KEY_MAX];
    MDB_val key = fl_user_sub_key(buf, call, uid, sid);
    if ((rc = fl_codec_put(call->txn, fl_user_dbs.sessions, &key, &srec->base)))
        return s_storage_error(call, rc);
    uint64_t now = fl_user_now_s();
    fl_claims_t claims = { .role = urec->role, .expires_s = now + node->config->access_ttl_s };
    snprintf(claims.user_id, sizeof claims.user_id, "%s", uid);
    snprintf(claims.session_id, sizeof claims.session_id, "%s", sid);
    out->access_token = fl_call_alloc(call, FL_TOKEN_MAX);
    fl_token_sign(node->cluster_key, &claims, out->access_token);
    out->user_id = urec->user_id;
    out->role = urec->role;
    out->session_id = srec->session_id;
    out->access_expires_s = claims.expires_s;
    out->refresh_expires_s = srec->refresh_expires_s;
    call->reply.body_case = FLOW__REPLY__BODY_SESSION;
    call->reply.session = out;
    return 0;
}

int
fl_user_logout(fl_call_t *call)
{
    int rc = s_delete_session(call, call->principal->user_id, call->principal->session_id);
    return rc ? s_storage_error(call, rc) : 0;
}

/*  ------------------------------------------------------------------
 *  Password change and deletion: both prove the password first  */

static int
s_defer_verify(fl_call_t *call, const char *password, const char *new_password)
{
    Flow__Storage__UserRecord *rec = NULL;
    int rc = fl_user_read(call, call->principal->user_id, &rec);
    if (rc == FL_E_NOTFOUND) {
        fl_call_fail(call, FLOW__STATUS__NOT_FOUND, "the account no longer exists");
        return 0;
    }
    if (rc)
        return s_storage_error(call, rc);
    s_pw_job_t *job = s_pw_job(password);
    job->verify = true;
    job->known = true;
    snprintf(job->hash, sizeof job->hash, "%s", rec->password_hash);
    if (new_password) {
        snprintf(job->new_password, sizeof job->new_password, "%s", new_password);
        job->make = true;
    }
    fl_call_defer(call, s_pw_work, job);
    return 0;
}

int
fl_user_change_password(fl_call_t *call)
{
    const Flow__ChangePasswordRequest *r = call->request->change_password;
    return s_defer_verify(call, r->old_password, r->new_password);
}

/*  The new password ends every other session: whoever knew the old one
 *  is signed out, the device that changed it stays signed in.  */
int
fl_user_change_password_resume(fl_call_t *call)
{
    s_pw_job_t *job = call->work_arg;
    if (!job->verified) {
        fl_call_fail(call, FLOW__STATUS__UNAUTHENTICATED, "old_password: wrong password");
        return 0;
    }
    if (job->rc != 0) {
        fl_call_fail(call, FLOW__STATUS__RESOURCE_EXHAUSTED, "password hashing failed: out of memory");
        call->reply.retry_after_ms = 1000;
        return 0;
    }
    Flow__Storage__UserRecord *rec = NULL;
    int rc = fl_user_read(call, call->principal->user_id, &rec);
    if (rc == 0) {
        rec->password_hash = job->new_hash;
        rc = fl_user_write(call, rec);
    }
    if (rc == 0)
        rc = s_end_sessions(call, rec->user_id, call->principal->session_id, false, NULL);
    if (rc)
        return s_storage_error(call, rc);
    fl_info("user", "password changed", "user=%s", rec->user_id);
    return 0;
}

int
fl_user_delete_account(fl_call_t *call)
{
    return s_defer_verify(call, call->request->delete_account->password, NULL);
}

/*  Removes the account's personal data (its record, holding the profile,
 *  its email, its event history and standing) and ends all of its
 *  sessions.  */
int
fl_user_delete_account_resume(fl_call_t *call)
{
    s_pw_job_t *job = call->work_arg;
    if (!job->verified) {
        fl_call_fail(call, FLOW__STATUS__UNAUTHENTICATED, "password: wrong password");
        return 0;
    }
    Flow__Storage__UserRecord *rec = NULL;
    int rc = fl_user_read(call, call->principal->user_id, &rec);
    if (rc == FL_E_NOTFOUND) {
        fl_call_fail(call, FLOW__STATUS__NOT_FOUND, "the account no longer exists");
        return 0;
    }
    uint8_t ubuf[FL_KEYSPACE_KEY_MAX], ebuf[FL_KEYSPACE_KEY_MAX];
    MDB_val ukey = fl_user_key(ubuf, fl_user_partition(call, rec->user_id), rec->user_id, NULL);
    MDB_val ekey = fl_user_key(ebuf, fl_user_partition(call, rec->email), rec->email, NULL);
    if (rc == 0 && (rc = fl_codec_del(call->txn, fl_user_dbs.users, &ukey)) == 0
        && (rc = fl_codec_del(call->txn, fl_user_dbs.emails, &ekey)) == 0
        && (rc = fl_user_forget_standing(call, rec->user_id)) == 0)
        rc = s_end_sessions(call, rec->user_id, NULL, false, NULL);
    if (rc)
        return s_storage_error(call, rc == MDB_NOTFOUND ? FL_E_CORRUPT : rc);
    fl_info("user", "account deleted", "user=%s", rec->user_id);
    return 0;
}

/*  ------------------------------------------------------------------
 *  Administration  */

static int
s_account_reply(fl_call_t *call, Flow__Storage__UserRecord *rec)
{
    Flow__AccountReply *out = fl_call_alloc(call, sizeof *out);
    flow__account_reply__init(out);
    out->user_id = rec->user_id;
    out->email = rec->email;
    out->display_name = rec->profile ? rec->profile->display_name : "";
    out->role = rec->role;
    out->created_s = rec->created_s;
    int rc = s_end_sessions(call, rec->user_id, NULL, true, &out->sessions);
    if (rc)
        return s_storage_error(call, rc);
    call->reply.body_case = FLOW__REPLY__BODY_ACCOUNT;
    call->reply.account = out;
    return 0;
}

static int
s_account_by_email(fl_call_t *call, const char *given, Flow__Storage__UserRecord **rec_p)
{
    char email[FL_TEXT_EMAIL_MAX + 1], why[200], user_id[FL_TOKEN_ID_MAX];
    fl_text_email("email", given, email, why, sizeof why);
    int rc = fl_user_by_email(call, email, user_id);
    if (rc == 0)
        rc = fl_user_read(call, user_id, rec_p);
    if (rc == FL_E_NOTFOUND)
        fl_call_fail(call, FLOW__STATUS__NOT_FOUND, "email: no account has this email");
    return rc;
}

/*  The new role is in the account's next access token: at its next
 *  refresh or login (access tokens live access_ttl_s at most).  */
int
fl_user_set_role(fl_call_t *call)
{
    Flow__Storage__UserRecord *rec = NULL;
    int rc = s_account_by_email(call, call->request->set_role->email, &rec);
    if (rc)
        return rc == FL_E_NOTFOUND ? 0 : s_storage_error(call, rc);
    rec->role = call->request->set_role->role;
    if ((rc = fl_user_write(call, rec)))
        return s_storage_error(call, rc);
    fl_info("user", "role set", "user=%s role=%d", rec->user_id, (int) rec->role);
    return s_account_reply(call, rec);
}

int
fl_user_get_account(fl_call_t *call)
{
    Flow__Storage__UserRecord *rec = NULL;
    int rc = s_account_by_email(call, call->request->get_account->email, &rec);
    if (rc)
        return rc == FL_E_NOTFOUND ? 0 : s_storage_error(call, rc);
    return s_account_reply(call, rec);
}
