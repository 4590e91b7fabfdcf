/*  cluster/peer.h — the node-to-node socket.
 *
 *  A ROUTER on the node's peer endpoint (--peer), CURVE-encrypted with the
 *  node's own keypair.  Each frame is a PeerRequest, answered with one
 *  PeerReply.  Today it answers joins: a node that presents the cluster's
 *  join secret is added through the metadata thread (cluster/meta.c) and
 *  receives the cluster key and the join secret over the encrypted
 *  channel; a wrong secret is refused and nothing changes.
 *
 *  The socket lives in a ZeroMQ context of its own: the process's main
 *  context has a ZAP handler that admits only admin keys (the control
 *  socket), and a joining node's key is not known beforehand.  Requests
 *  are authenticated by what they carry (the join secret).
 */
#ifndef FL_PEER_H
#define FL_PEER_H

#include <czmq.h>

#include "cluster.pb-c.h"
#include "cluster/keys.h"
#include "node/node.h"

typedef struct {
    const fl_node_t *node;
    const fl_keys_t *keys;
    char endpoint[256];                 /* where to bind; a * port resolved by then */
} fl_peer_args_t;

/*  Starts the peer socket; NULL when it cannot bind (logged).  */
zactor_t *fl_peer_new(fl_peer_args_t *args);

/*  Makes SOCK, a connection to a member's peer socket (before it
 *  connects), send ZMTP heartbeats and drop the connection when none is
 *  answered for a few seconds: a member cut off by the network (packets
 *  dropped, no reset) is then connected to again once it is back,
 *  instead of the messages queueing on a connection that will never
 *  deliver them.  */
void fl_peer_keepalive(zsock_t *sock);

/*  Sends BODY, packed and MACed under PEER_KEY, on SOCK (a connection to
 *  a member's peer socket) as a peer request of kind KIND (fence, meta,
 *  pull, replicate or replica_query) numbered SEQ, without waiting.
 *  Returns 0, or FL_E_BUSY when it cannot be sent now.  */
int fl_peer_send(zsock_t *sock, const uint8_t peer_key[32], uint64_t seq,
                 Flow__Cluster__PeerRequest__BodyCase kind, const ProtobufCMessage *body);

/*  MAC (32 bytes) of LEN bytes of DATA under the members' peer KEY: what
 *  a forwarded request carries to prove it comes from a member.  */
void fl_peer_mac(const uint8_t key[32], const void *data, size_t len, uint8_t mac[32]);


/*  Whether JOIN may be admitted by a node holding KEYS: OK, or
 *  PERMISSION_DENIED (wrong secret) or INVALID_ARGUMENT (a member record
 *  that is incomplete or too long) with the reason in *WHY.  */
Flow__Status fl_peer_check_join(const Flow__Cluster__JoinRequest *join, const fl_keys_t *keys,
                                const char **why);

/*  True for a reply that admits the joining node with keys of the right
 *  sizes.  */
bool fl_peer_join_reply_valid(const Flow__Cluster__PeerReply *reply);

/*  Joins the cluster through the member at ENDPOINT (a peer endpoint),
 *  whose public key and join secret CREDENTIAL names, as MEMBER, speaking
 *  CURVE with CERT.  Follows a redirect to the consensus leader (whose
 *  key is in the metadata it is redirected with); waits up to TIMEOUT_MS
 *  in all.  On success *REPLY_P gets the PeerReply holding the JoinReply
 *  (the caller frees it).
 *  Errors: FL_E_DENIED (wrong secret), FL_E_TIMEDOUT (no answer),
 *  FL_E_REFUSED (refused for another reason); WHY says which.  */
int fl_peer_join(const char *endpoint, const fl_join_credential_t *credential,
                 zcert_t *cert, const Flow__Cluster__Member *member, int timeout_ms,
                 Flow__Cluster__PeerReply **reply_p, char *why, size_t whylen);

/*  Sends META (a flip, leave or remove) to the leader's peer socket at
 *  ENDPOINT (public key SERVER_KEY), MACed with PEER_KEY, and waits up to
 *  TIMEOUT_MS for the leader's answer in *REPLY_P (the caller frees it;
 *  a refusal of the peer socket itself comes back as a MetaReply too).
 *  Errors: FL_E_TIMEDOUT, FL_E_INVAL (bad endpoint or key), FL_E_IO.  */
int fl_peer_meta(const char *endpoint, const char *server_key, zcert_t *cert,
                 const uint8_t peer_key[32], const Flow__Cluster__MetaRequest *meta,
                 int timeout_ms, Flow__Cluster__MetaReply **reply_p);

/*  Asks this node's metadata thread (over *DEALER, the caller's) and,
 *  when it does not lead, the leader's peer socket that it names; REQ's
 *  seq is the caller's.  NULL when no answer came within TIMEOUT_MS.  */
Flow__Cluster__MetaReply *fl_peer_ask_leader(zsock_t **dealer, const fl_node_t *node,
                                             Flow__Cluster__MetaRequest *req, int timeout_ms);

#endif
