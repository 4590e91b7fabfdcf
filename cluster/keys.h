/*  cluster/keys.h — the node's CURVE keys and the admin allow-list.
 *
 *  Layout under DATA/keys (directory mode 0700, secret files 0600):
 *      node.cert, node.cert_secret     the node's keypair (control socket,
 *                                      later node-to-node sockets)
 *      admin.cert, admin.cert_secret   the first admin keypair, made at
 *                                      first start for flowctl
 *      admins/                         allow-list: every public cert here
 *                                      may use the control socket
 *      cluster.key                     32 random bytes: signs access tokens;
 *                                      every node of a cluster holds the same
 *  Files are CZMQ zcert files.  Keys are made once and never replaced
 *  behind the operator's back: an existing key is always reused.
 */
#ifndef FL_KEYS_H
#define FL_KEYS_H

#include <czmq.h>

#define FL_KEYS_PATH_MAX 512
#define FL_KEYS_CLUSTER_BYTES 32

typedef struct {
    zcert_t *node;                       /* with its secret key */
    char admins_dir[FL_KEYS_PATH_MAX];
    uint8_t cluster[FL_KEYS_CLUSTER_BYTES];
} fl_keys_t;

/*  Loads the keys of DATA_DIR, creating any that are missing.
 *  Errors: FL_E_IO (a file or directory could not be read or written; the
 *  path is logged).  */
int fl_keys_load(const char *data_dir, fl_keys_t *keys);

/*  Frees the certificate and wipes the cluster key from memory.  */
void fl_keys_release(fl_keys_t *keys);

#endif
