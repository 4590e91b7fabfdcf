/*  libFuzzer target: bytes a node reads from other nodes.
 *
 *  The first byte picks the decoder: a PeerRequest (the peer socket
 *  accepts any CURVE client, so these bytes come from anyone who reaches
 *  it) run through the join check, with the revocations or the actor
 *  request it may carry decoded; a PeerReply as a joining node or a
 *  forwarding session reads it; or a framed consensus log entry as the
 *  metadata machine applies it.  Any crash, leak or undefined behaviour here is one another host
 *  could cause.
 */
#include "cluster/meta.h"
#include "cluster/peer.h"

#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    static fl_keys_t keys = { .member = true };
    const uint8_t *body = data + 1;
    size_t len = size - 1;
    if (data[0] % 3 == 0) {
        Flow__Cluster__PeerRequest *req = flow__cluster__peer_request__unpack(NULL, len, body);
        if (req && req->body_case == FLOW__CLUSTER__PEER_REQUEST__BODY_JOIN) {
            const char *why = NULL;
            fl_peer_check_join(req->join, &keys, &why);
        }
        if (req && req->body_case == FLOW__CLUSTER__PEER_REQUEST__BODY_REVOKE) {
            Flow__Cluster__Revocations *r = flow__cluster__revocations__unpack(
                NULL, req->revoke.len, req->revoke.data);
            if (r)
                flow__cluster__revocations__free_unpacked(r, NULL);
        }
        if (req && req->body_case == FLOW__CLUSTER__PEER_REQUEST__BODY_FORWARD) {
            Flow__Cluster__ActorRequest *ar = flow__cluster__actor_request__unpack(
                NULL, req->forward.len, req->forward.data);
            if (ar)
                flow__cluster__actor_request__free_unpacked(ar, NULL);
        }
        if (req)
            flow__cluster__peer_request__free_unpacked(req, NULL);
    }
    else
    if (data[0] % 3 == 1) {
        Flow__Cluster__PeerReply *reply = flow__cluster__peer_reply__unpack(NULL, len, body);
        if (reply) {
            fl_peer_join_reply_valid(reply);
            flow__cluster__peer_reply__free_unpacked(reply, NULL);
        }
    }
    else {
        Flow__Cluster__MetaCommand *cmd = fl_meta_decode(body, len);
        if (cmd)
            flow__cluster__meta_command__free_unpacked(cmd, NULL);
    }
    return 0;
}
