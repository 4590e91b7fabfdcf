/*  libFuzzer target: bytes a node reads from other nodes.
 *
 *  The first byte picks the decoder: a PeerRequest (the peer socket
 *  accepts any CURVE client, so these bytes come from anyone who reaches
 *  it) run through the join check, with the revocations, batch of
 *  forwards (each ActorRequest), metadata request, transfer pull, batch
 *  of replicated entries (each entry checked as a replica checks it,
 *  against a ring in which this node is a replica) or replica question
 *  it may carry decoded and checked; a
 *  PeerReply as a joining node, a forwarding session or a node receiving
 *  a partition reads it (the join's metadata made into a ring, a chunk
 *  checked against a position taken from the input); or a framed
 *  consensus log entry as the metadata machine applies it, its metadata
 *  made into a ring.  Any crash, leak or undefined behaviour here is one
 *  another host could cause.
 */
#include "cluster/handoff.h"
#include "cluster/layout.h"
#include "cluster/meta.h"
#include "cluster/peer.h"
#include "cluster/replica.h"

#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/*  A batch of entries as a replica takes it: each decoded and checked,
 *  its sender against a ring of 1024 partitions owned by "na" with
 *  replicas "nfuzz" (this node) and "nb".  */
static void
s_replicate(const ProtobufCBinaryData *body)
{
    static const char *const names[] = { "users", "events", "rsvps", "applied" };
    static fl_ring_t *ring;
    if (!ring) {
        static uint16_t owner[1024];
        const char *ids[] = { "na" };
        ring = fl_ring_new("nfuzz", 1024, 7, ids, 1, owner, NULL);
        const char *replicas[] = { "nfuzz", "nb" };
        for (uint32_t p = 0; ring && p < 1024; p++)
            fl_ring_set_replicas(ring, p, replicas, 2);
    }
    Flow__Cluster__ReplicaBatch *batch =
        flow__cluster__replica_batch__unpack(NULL, body->len, body->data);
    for (size_t i = 0; batch && i < batch->n_entries; i++) {
        Flow__Cluster__ReplicaEntry *e = flow__cluster__replica_entry__unpack(
            NULL, batch->entries[i].len, batch->entries[i].data);
        char why[256];
        if (e && fl_replica_check_entry(e, 1024, names, 4, why, sizeof why) == FLOW__STATUS__OK
            && ring)
            fl_replica_check_sender(ring, e->partition, batch->from, batch->epoch, 5, why,
                                    sizeof why);
        if (e)
            flow__cluster__replica_entry__free_unpacked(e, NULL);
    }
    if (batch)
        flow__cluster__replica_batch__free_unpacked(batch, NULL);
}

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
        if (req && (req->body_case == FLOW__CLUSTER__PEER_REQUEST__BODY_PULL
                    || req->body_case == FLOW__CLUSTER__PEER_REQUEST__BODY_FENCE)) {
            const ProtobufCBinaryData *b = req->body_case == FLOW__CLUSTER__PEER_REQUEST__BODY_PULL
                                         ? &req->pull : &req->fence;
            Flow__Cluster__TransferPull *pull =
                flow__cluster__transfer_pull__unpack(NULL, b->len, b->data);
            char why[256];
            if (pull) {
                fl_handoff_pull_check(pull, 1024, why, sizeof why);
                flow__cluster__transfer_pull__free_unpacked(pull, NULL);
            }
        }
        if (req && req->body_case == FLOW__CLUSTER__PEER_REQUEST__BODY_META) {
            Flow__Cluster__MetaRequest *m =
                flow__cluster__meta_request__unpack(NULL, req->meta.len, req->meta.data);
            if (m)
                flow__cluster__meta_request__free_unpacked(m, NULL);
        }
        if (req && req->body_case == FLOW__CLUSTER__PEER_REQUEST__BODY_REPLICATE)
            s_replicate(&req->replicate);
        if (req && req->body_case == FLOW__CLUSTER__PEER_REQUEST__BODY_REPLICA_QUERY) {
            Flow__Cluster__ReplicaQuery *q = flow__cluster__replica_query__unpack(
                NULL, req->replica_query.len, req->replica_query.data);
            if (q)
                flow__cluster__replica_query__free_unpacked(q, NULL);
        }
        if (req && req->body_case == FLOW__CLUSTER__PEER_REQUEST__BODY_FORWARDS) {
            Flow__Cluster__ForwardBatch *batch = flow__cluster__forward_batch__unpack(
                NULL, req->forwards.len, req->forwards.data);
            for (size_t i = 0; batch && i < batch->n_forwards; i++) {
                const ProtobufCBinaryData *r = &batch->forwards[i]->request;
                Flow__Cluster__ActorRequest *ar =
                    flow__cluster__actor_request__unpack(NULL, r->len, r->data);
                if (ar)
                    flow__cluster__actor_request__free_unpacked(ar, NULL);
            }
            if (batch)
                flow__cluster__forward_batch__free_unpacked(batch, NULL);
        }
        if (req)
            flow__cluster__peer_request__free_unpacked(req, NULL);
    }
    else
    if (data[0] % 3 == 1) {
        Flow__Cluster__PeerReply *reply = flow__cluster__peer_reply__unpack(NULL, len, body);
        if (reply) {
            if (fl_peer_join_reply_valid(reply) && reply->join->meta) {
                fl_ring_t *ring = fl_layout_ring(reply->join->meta, "nfuzz", NULL);
                fl_ring_destroy(&ring);
            }
            if (reply->body_case == FLOW__CLUSTER__PEER_REPLY__BODY_CHUNK) {
                const Flow__Cluster__TransferChunk *c = reply->chunk;
                size_t cut = c->last_key.len / 2;
                fl_handoff_chunk_valid(c, (uint32_t) (reply->seq % 1024),
                                       cut ? c->last_key.data : NULL, cut, reply->seq & 1);
            }
            if (reply->body_case == FLOW__CLUSTER__PEER_REPLY__BODY_POSITIONS) {
                size_t in_sync = 0;
                for (size_t i = 0; i < reply->positions->n_positions; i++)
                    in_sync += reply->positions->positions[i]->in_sync;
                (void) in_sync;
            }
            if (reply->body_case == FLOW__CLUSTER__PEER_REPLY__BODY_META_REPLY) {
                Flow__Cluster__MetaReply *m = flow__cluster__meta_reply__unpack(
                    NULL, reply->meta_reply.len, reply->meta_reply.data);
                if (m)
                    flow__cluster__meta_reply__free_unpacked(m, NULL);
            }
            flow__cluster__peer_reply__free_unpacked(reply, NULL);
        }
    }
    else {
        Flow__Cluster__MetaCommand *cmd = fl_meta_decode(body, len);
        if (cmd && cmd->body_case == FLOW__CLUSTER__META_COMMAND__BODY_CREATE) {
            fl_ring_t *ring = fl_layout_ring(cmd->create, "nfuzz", NULL);
            fl_ring_destroy(&ring);
        }
        if (cmd)
            flow__cluster__meta_command__free_unpacked(cmd, NULL);
    }
    return 0;
}
