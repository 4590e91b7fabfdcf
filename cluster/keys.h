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
 *      join.key                        the join credential, made by the node
 *                                      that creates the cluster and copied by
 *                                      the operator to a node that joins
 *                                      through this one: "flow-join-1 <this
 *                                      node's Z85 public key> <secret, hex>";
 *                                      every member holds the same secret
 *  Files are CZMQ zcert files.  Keys are made once and never replaced
 *  behind the operator's back: an existing key is always reused.
 */
#ifndef FL_KEYS_H
#define FL_KEYS_H

#include <czmq.h>

#define FL_KEYS_PATH_MAX 512
#define FL_KEYS_CLUSTER_BYTES 32
#define FL_KEYS_JOIN_BYTES 32

typedef struct {
    zcert_t *node;                       /* with its secret key */
    char dir[FL_KEYS_PATH_MAX];
    char admins_dir[FL_KEYS_PATH_MAX];
    uint8_t cluster[FL_KEYS_CLUSTER_BYTES];
    bool member;                         /* join.key exists: this node is in a cluster */
    uint8_t join[FL_KEYS_JOIN_BYTES];    /* the join secret, when member */
    uint8_t peer[32];                    /* MAC key of member-to-member requests, from cluster */
} fl_keys_t;

/*  What a join credential file names: the public key of the node it
 *  came from (the CURVE server key to reach it with) and the secret.  */
typedef struct {
    char server_key[41];
    uint8_t secret[FL_KEYS_JOIN_BYTES];
} fl_join_credential_t;

/*  Loads the keys of DATA_DIR, creating any that are missing.
 *  Errors: FL_E_IO (a file or directory could not be read or written; the
 *  path is logged).  */
int fl_keys_load(const char *data_dir, fl_keys_t *keys);

/*  Makes this node the first member of a new cluster: a fresh join secret
 *  in DATA/keys/join.key.  Errors: FL_E_IO.  */
int fl_keys_create_cluster(fl_keys_t *keys);

/*  Makes this node a member of the cluster whose CLUSTER_KEY and join
 *  SECRET it was given: both files are written (fsync, then rename) and
 *  KEYS updated.  Errors: FL_E_IO.  */
int fl_keys_adopt(fl_keys_t *keys, const uint8_t cluster_key[FL_KEYS_CLUSTER_BYTES],
                  const uint8_t secret[FL_KEYS_JOIN_BYTES]);

/*  Reads a join credential file.  Errors: FL_E_IO (unreadable; logged),
 *  FL_E_INVAL (not a credential; logged).  */
int fl_keys_read_credential(const char *path, fl_join_credential_t *out);

/*  Frees the certificate and wipes the cluster key from memory.  */
void fl_keys_release(fl_keys_t *keys);

#endif
