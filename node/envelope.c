/*  node/envelope.c — request decoding and checks, reply packing; see
 *  envelope.h.  */
#include "node/envelope.h"
#include "node/node.h"

#include <inttypes.h>
#include <stdio.h>

Flow__Status
fl_envelope_decode(const void *data, size_t len, const fl_envelope_limits_t *limits,
                   Flow__Request **req_p, uint64_t *id_p, char *msg, size_t msglen)
{
    *req_p = NULL;
    *id_p = 0;
    if (len > limits->max_bytes) {
        snprintf(msg, msglen, "request of %zu bytes exceeds the limit of %zu bytes",
                 len, limits->max_bytes);
        return FLOW__STATUS__RESOURCE_EXHAUSTED;
    }
    if (len == 0) {
        snprintf(msg, msglen, "empty frame: expected a flow.Request");
        return FLOW__STATUS__INVALID_ARGUMENT;
    }
    Flow__Request *req = flow__request__unpack(NULL, len, data);
    if (!req) {
        snprintf(msg, msglen, "frame of %zu bytes is not a valid flow.Request", len);
        return FLOW__STATUS__INVALID_ARGUMENT;
    }
    *id_p = req->id;
    Flow__Status status = FLOW__STATUS__OK;
    if (req->version != FL_PROTOCOL_VERSION) {
        snprintf(msg, msglen, "protocol version %" PRIu32 " is not supported (this node speaks %d)",
                 req->version, FL_PROTOCOL_VERSION);
        status = FLOW__STATUS__INVALID_ARGUMENT;
    }
    else
    if (req->id == 0) {
        snprintf(msg, msglen, "id: must be non-zero");
        status = FLOW__STATUS__INVALID_ARGUMENT;
    }

    else
    if (strlen(req->token) > FL_ENVELOPE_TOKEN_MAX) {
        snprintf(msg, msglen, "token: longer than %d bytes", FL_ENVELOPE_TOKEN_MAX);
        status = FLOW__STATUS__INVALID_ARGUMENT;
    }
    else
    if (strlen(req->request_key) > FL_ENVELOPE_REQUEST_KEY_MAX) {
        snprintf(msg, msglen, "request_key: longer than %d bytes", FL_ENVELOPE_REQUEST_KEY_MAX);
        status = FLOW__STATUS__INVALID_ARGUMENT;
    }
    else
    if (req->body_case == FLOW__REQUEST__BODY__NOT_SET) {
        snprintf(msg, msglen, "body: missing or of a kind this node does not know");
        status = FLOW__STATUS__INVALID_ARGUMENT;
    }
    if (status != FLOW__STATUS__OK) {
        flow__request__free_unpacked(req, NULL);
        return status;
    }
    /*  A client may offer more time than the node grants: it gets the
     *  node's maximum, not a refusal, since it cannot know the limit.  */
    if (req->timeout_ms > limits->max_timeout_ms)
        req->timeout_ms = (uint32_t) limits->max_timeout_ms;
    *req_p = req;
    return FLOW__STATUS__OK;
}

zframe_t *
fl_envelope_pack(const ProtobufCMessage *msg)
{
    size_t size = protobuf_c_message_get_packed_size(msg);
    zframe_t *frame = zframe_new(NULL, size);
    if (!frame)
        return NULL;
    protobuf_c_message_pack(msg, zframe_data(frame));
    return frame;
}

zframe_t *
fl_envelope_pack_reply(const Flow__Reply *reply)
{
    Flow__ServerMessage out = FLOW__SERVER_MESSAGE__INIT;
    out.version = FL_PROTOCOL_VERSION;
    out.kind_case = FLOW__SERVER_MESSAGE__KIND_REPLY;
    out.reply = (Flow__Reply *) reply;
    return fl_envelope_pack(&out.base);
}

zframe_t *
fl_envelope_pack_push(const Flow__Push *push)
{
    Flow__ServerMessage out = FLOW__SERVER_MESSAGE__INIT;
    out.version = FL_PROTOCOL_VERSION;
    out.kind_case = FLOW__SERVER_MESSAGE__KIND_PUSH;
    out.push = (Flow__Push *) push;
    return fl_envelope_pack(&out.base);
}

static zframe_t *
s_pack_actor_reply(uint64_t seq, const Flow__Reply *reply, Flow__Cluster__Revocation **revoked,
                   size_t nrevoked, bool reroute)
{
    Flow__ServerMessage message = FLOW__SERVER_MESSAGE__INIT;
    message.version = FL_PROTOCOL_VERSION;
    message.kind_case = FLOW__SERVER_MESSAGE__KIND_REPLY;
    message.reply = (Flow__Reply *) reply;
    size_t size = flow__server_message__get_packed_size(&message);
    uint8_t *packed = malloc(size ? size : 1);
    if (!packed)
        return NULL;
    flow__server_message__pack(&message, packed);
    Flow__Cluster__ActorReply out = FLOW__CLUSTER__ACTOR_REPLY__INIT;
    out.seq = seq;
    out.status = reply->status;
    out.server_message = (ProtobufCBinaryData) { size, packed };
    out.n_revoked = nrevoked;
    out.revoked = revoked;
    out.reroute = reroute;
    zframe_t *frame = fl_envelope_pack(&out.base);
    free(packed);
    return frame;
}

zframe_t *
fl_envelope_pack_actor_reply(uint64_t seq, const Flow__Reply *reply,
                             Flow__Cluster__Revocation **revoked, size_t nrevoked)
{
    return s_pack_actor_reply(seq, reply, revoked, nrevoked, false);
}

zframe_t *
fl_envelope_pack_reroute(uint64_t seq, uint64_t request_id, const char *why)
{
    Flow__Reply reply = FLOW__REPLY__INIT;
    reply.id = request_id;
    reply.status = FLOW__STATUS__UNAVAILABLE;
    reply.message = (char *) why;
    return s_pack_actor_reply(seq, &reply, NULL, 0, true);
}

const char *
fl_status_name(Flow__Status status)
{
    const ProtobufCEnumValue *v =
        protobuf_c_enum_descriptor_get_value(&flow__status__descriptor, (int) status);
    return v ? v->name : "UNKNOWN";
}

/*  The uint64 field "seq" of MSG, or 0 when it has none.  */
static uint64_t
s_seq_of(const ProtobufCMessage *msg)
{
    const ProtobufCFieldDescriptor *f =
        protobuf_c_message_descriptor_get_field_by_name(msg->descriptor, "seq");
    if (!f || f->type != PROTOBUF_C_TYPE_UINT64 || f->label == PROTOBUF_C_LABEL_REPEATED)
        return 0;
    return *(const uint64_t *) ((const char *) msg + f->offset);
}

ProtobufCMessage *
fl_envelope_ask(zsock_t **dealer, const char *endpoint, const ProtobufCMessage *req,
                const ProtobufCMessageDescriptor *reply_type, int timeout_ms)
{
    if (!*dealer)
        *dealer = zsock_new_dealer(endpoint);
    if (!*dealer)
        return NULL;
    zframe_t *frame = fl_envelope_pack(req);
    if (!frame || zframe_send(&frame, *dealer, 0) != 0) {
        zframe_destroy(&frame);
        return NULL;
    }
    /*  Replies to earlier requests that timed out carry older seqs.  */
    uint64_t seq = s_seq_of(req);
    int64_t deadline = zclock_mono() + timeout_ms;
    ProtobufCMessage *in = NULL;
    while (!in) {
        int64_t left = deadline - zclock_mono();
        if (left <= 0)
            break;
        zsock_set_rcvtimeo(*dealer, (int) left);
        frame = zframe_recv(*dealer);
        if (!frame)
            break;
        in = protobuf_c_message_unpack(reply_type, NULL, zframe_size(frame), zframe_data(frame));
        zframe_destroy(&frame);
        if (in && s_seq_of(in) != seq) {
            protobuf_c_message_free_unpacked(in, NULL);
            in = NULL;
        }
    }
    return in;
}

ProtobufCMessage *
fl_envelope_take(zsock_t *router, const ProtobufCMessageDescriptor *type, zframe_t **identity_p)
{
    *identity_p = NULL;
    zmsg_t *msg = zmsg_recv(router);
    if (!msg)
        return NULL;
    *identity_p = zmsg_pop(msg);
    zframe_t *body = zmsg_pop(msg);
    zmsg_destroy(&msg);
    ProtobufCMessage *in = body
        ? protobuf_c_message_unpack(type, NULL, zframe_size(body), zframe_data(body)) : NULL;
    zframe_destroy(&body);
    return in;
}

void
fl_envelope_answer(zsock_t *router, zframe_t **identity_p, const ProtobufCMessage *reply)
{
    zframe_t *frame = fl_envelope_pack(reply);
    zmsg_t *msg = zmsg_new();
    zmsg_append(msg, identity_p);
    if (frame)
        zmsg_append(msg, &frame);
    zmsg_send(&msg, router);
}
