/*  cluster/keys.c — CURVE keys on disk; see keys.h.
 *
 *  Secrets are written under umask 077 and chmod'ed 0600 afterwards, so a
 *  secret file is never readable by others, not even for a moment.
 */
#include "cluster/keys.h"
#include "node/error.h"
#include "node/log.h"

#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <unistd.h>
#include <sys/stat.h>

static int
s_mkdir(const char *path)
{
    if (mkdir(path, 0700) == 0 || errno == EEXIST)
        return 0;
    fl_error("keys", "cannot create directory", "path=%s error=\"%s\"", path, strerror(errno));
    return FL_E_IO;
}

/*  Loads BASE (public) + BASE_secret, or makes and saves a new pair.  */
static zcert_t *
s_load_or_make(const char *base, const char *what)
{
    char secret[FL_KEYS_PATH_MAX + 8];
    snprintf(secret, sizeof secret, "%s_secret", base);
    if (zsys_file_exists(secret)) {
        zcert_t *cert = zcert_load(base);
        if (!cert)
            fl_error("keys", "cannot load key", "path=%s", secret);
        return cert;
    }
    zcert_t *cert = zcert_new();
    if (!cert)
        return NULL;
    zcert_set_meta(cert, "role", "%s", what);
    mode_t old = umask(077);
    int rc = zcert_save(cert, base);
    umask(old);
    if (rc != 0 || chmod(secret, 0600) != 0) {
        fl_error("keys", "cannot save key", "path=%s", base);
        zcert_destroy(&cert);
        return NULL;
    }
    fl_info("keys", "created key", "role=%s path=%s", what, base);
    return cert;
}

/*  Reads the cluster key from PATH, or makes it: 32 random bytes written
 *  to a new file with mode 0600 (O_EXCL, so two starters cannot both
 *  write one).  */
static int
s_cluster_key(const char *path, uint8_t key[FL_KEYS_CLUSTER_BYTES])
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd >= 0) {
        ssize_t n = read(fd, key, FL_KEYS_CLUSTER_BYTES);
        close(fd);
        if (n == FL_KEYS_CLUSTER_BYTES)
            return 0;
        fl_error("keys", "cluster key file is not 32 bytes", "path=%s", path);
        return FL_E_IO;
    }
    if (errno != ENOENT) {
        fl_error("keys", "cannot read the cluster key", "path=%s error=\"%s\"", path,
                 strerror(errno));
        return FL_E_IO;
    }
    randombytes_buf(key, FL_KEYS_CLUSTER_BYTES);
    fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    bool ok = fd >= 0 && write(fd, key, FL_KEYS_CLUSTER_BYTES) == FL_KEYS_CLUSTER_BYTES
              && fsync(fd) == 0;
    if (fd >= 0)
        close(fd);
    if (!ok) {
        fl_error("keys", "cannot write the cluster key", "path=%s", path);
        return FL_E_IO;
    }
    fl_info("keys", "created key", "role=cluster path=%s", path);
    return 0;
}

/*  Writes LEN bytes of DATA to PATH whole: a temporary file, fsync,
 *  rename, mode 0600.  */
static int
s_write_secret(const char *path, const void *data, size_t len)
{
    char tmp[FL_KEYS_PATH_MAX + 48];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    bool ok = fd >= 0 && write(fd, data, len) == (ssize_t) len && fsync(fd) == 0;
    if (fd >= 0)
        close(fd);
    if (!ok || rename(tmp, path) != 0) {
        fl_error("keys", "cannot write a key file", "path=%s", path);
        unlink(tmp);
        return FL_E_IO;
    }
    return 0;
}

#define CREDENTIAL_TAG "flow-join-1"

static int
s_parse_credential(const char *text, fl_join_credential_t *out)
{
    char tag[16], key[64], hex[FL_KEYS_JOIN_BYTES * 2 + 8];
    if (sscanf(text, "%15s %63s %71s", tag, key, hex) != 3 || strcmp(tag, CREDENTIAL_TAG) != 0
        || strlen(key) != 40 || strlen(hex) != FL_KEYS_JOIN_BYTES * 2)
        return FL_E_INVAL;
    size_t n = 0;
    if (sodium_hex2bin(out->secret, sizeof out->secret, hex, strlen(hex), NULL, &n, NULL) != 0
        || n != FL_KEYS_JOIN_BYTES)
        return FL_E_INVAL;
    uint8_t raw[32];
    if (!zmq_z85_decode(raw, key))
        return FL_E_INVAL;
    snprintf(out->server_key, sizeof out->server_key, "%s", key);
    return 0;
}

int
fl_keys_read_credential(const char *path, fl_join_credential_t *out)
{
    char text[256] = "";
    FILE *in = fopen(path, "r");
    if (!in) {
        fl_error("keys", "cannot read the join credential", "path=%s error=\"%s\"", path,
                 strerror(errno));
        return FL_E_IO;
    }
    size_t n = fread(text, 1, sizeof text - 1, in);
    fclose(in);
    text[n] = '\0';
    int rc = s_parse_credential(text, out);
    if (rc)
        fl_error("keys", "not a join credential (flow-join-1 KEY SECRET)", "path=%s", path);
    sodium_memzero(text, sizeof text);
    return rc;
}

/*  Writes join.key: this node's public key and the secret.  */
static int
s_write_join(fl_keys_t *keys)
{
    char hex[FL_KEYS_JOIN_BYTES * 2 + 1], text[160], path[FL_KEYS_PATH_MAX + 16];
    sodium_bin2hex(hex, sizeof hex, keys->join, sizeof keys->join);
    int n = snprintf(text, sizeof text, "%s %s %s\n", CREDENTIAL_TAG,
                     zcert_public_txt(keys->node), hex);
    snprintf(path, sizeof path, "%s/join.key", keys->dir);
    int rc = s_write_secret(path, text, (size_t) n);
    sodium_memzero(hex, sizeof hex);
    sodium_memzero(text, sizeof text);
    if (rc == 0)
        keys->member = true;
    return rc;
}

/*  The key members MAC their requests to each other with: derived from
 *  the cluster key, so every member has it and nobody else.  */
static void
s_derive_peer(fl_keys_t *keys)
{
    static const char context[] = "flow peer request mac v1";
    crypto_generichash(keys->peer, sizeof keys->peer, (const uint8_t *) context,
                       sizeof context - 1, keys->cluster, sizeof keys->cluster);
}

int
fl_keys_create_cluster(fl_keys_t *keys)
{
    randombytes_buf(keys->join, sizeof keys->join);
    int rc = s_write_join(keys);
    if (rc == 0)
        fl_info("keys", "created key", "role=join path=%s/join.key", keys->dir);
    return rc;
}

int
fl_keys_adopt(fl_keys_t *keys, const uint8_t cluster_key[FL_KEYS_CLUSTER_BYTES],
              const uint8_t secret[FL_KEYS_JOIN_BYTES])
{
    char path[FL_KEYS_PATH_MAX + 16];
    snprintf(path, sizeof path, "%s/cluster.key", keys->dir);
    int rc = s_write_secret(path, cluster_key, FL_KEYS_CLUSTER_BYTES);
    if (rc)
        return rc;
    memcpy(keys->cluster, cluster_key, FL_KEYS_CLUSTER_BYTES);
    memcpy(keys->join, secret, FL_KEYS_JOIN_BYTES);
    s_derive_peer(keys);
    return s_write_join(keys);
}

/*  Reads join.key when there is one.  */
static int
s_load_join(fl_keys_t *keys)
{
    char path[FL_KEYS_PATH_MAX + 16];
    snprintf(path, sizeof path, "%s/join.key", keys->dir);
    if (!zsys_file_exists(path))
        return 0;
    fl_join_credential_t c;
    int rc = fl_keys_read_credential(path, &c);
    if (rc)
        return rc;
    memcpy(keys->join, c.secret, sizeof keys->join);
    sodium_memzero(&c, sizeof c);
    keys->member = true;
    return 0;
}

int
fl_keys_load(const char *data_dir, fl_keys_t *keys)
{
    memset(keys, 0, sizeof *keys);
    char *dir = keys->dir, path[FL_KEYS_PATH_MAX + 32];
    if (snprintf(dir, sizeof keys->dir, "%s/keys", data_dir) >= (int) sizeof keys->dir - 16
        || snprintf(keys->admins_dir, sizeof keys->admins_dir, "%s/admins", dir)
           >= (int) sizeof keys->admins_dir) {
        fl_error("keys", "data directory path is too long", "data=%s", data_dir);
        return FL_E_INVAL;
    }
    if (s_mkdir(dir) || s_mkdir(keys->admins_dir))
        return FL_E_IO;

    snprintf(path, sizeof path, "%s/node.cert", dir);
    keys->node = s_load_or_make(path, "node");
    if (!keys->node)
        return FL_E_IO;

    snprintf(path, sizeof path, "%s/admin.cert", dir);
    char allowed[FL_KEYS_PATH_MAX + 32], secret[FL_KEYS_PATH_MAX + 48];
    snprintf(allowed, sizeof allowed, "%s/admin.cert", keys->admins_dir);
    snprintf(secret, sizeof secret, "%s_secret", path);
    /*  Only a key made now is allow-listed: an operator who removed the
     *  admin key from admins/ has revoked it, whatever else is on disk.  */
    bool first = !zsys_file_exists(secret);
    zcert_t *admin = s_load_or_make(path, "admin");
    if (!admin) {
        fl_keys_release(keys);
        return FL_E_IO;
    }
    if (first && zcert_save_public(admin, allowed) != 0) {
        fl_error("keys", "cannot allow-list the admin key", "path=%s", allowed);
        zcert_destroy(&admin);
        fl_keys_release(keys);
        return FL_E_IO;
    }
    zcert_destroy(&admin);
    snprintf(path, sizeof path, "%s/cluster.key", dir);
    if (s_cluster_key(path, keys->cluster) != 0 || s_load_join(keys) != 0) {
        fl_keys_release(keys);
        return FL_E_IO;
    }
    s_derive_peer(keys);
    return 0;
}

void
fl_keys_release(fl_keys_t *keys)
{
    zcert_destroy(&keys->node);
    sodium_memzero(keys->cluster, sizeof keys->cluster);
    sodium_memzero(keys->join, sizeof keys->join);
    sodium_memzero(keys->peer, sizeof keys->peer);
}
