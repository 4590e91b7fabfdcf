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

int
fl_keys_load(const char *data_dir, fl_keys_t *keys)
{
    memset(keys, 0, sizeof *keys);
    char dir[FL_KEYS_PATH_MAX], path[FL_KEYS_PATH_MAX + 32];
    if (snprintf(dir, sizeof dir, "%s/keys", data_dir) >= (int) sizeof dir - 16
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
    if (s_cluster_key(path, keys->cluster) != 0) {
        fl_keys_release(keys);
        return FL_E_IO;
    }
    return 0;
}

void
fl_keys_release(fl_keys_t *keys)
{
    zcert_destroy(&keys->node);
    sodium_memzero(keys->cluster, sizeof keys->cluster);
}
