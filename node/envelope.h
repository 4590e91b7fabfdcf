/*  node/envelope.h — client frames in and out.
 *
 *  Every frame a client sends passes fl_envelope_decode() before anything
 *  else looks at it: size limit first (so an oversized frame is never
 *  parsed), then protobuf decoding, then the envelope fields.  Whatever it
 *  refuses gets a status and a message naming the problem, and nothing
 *  behind it runs.  Bodies are checked by each request's own check
 *  function (requests.h).
 */
#ifndef FL_ENVELOPE_H
#define FL_ENVELOPE_H

#include <czmq.h>
#include <stddef.h>
#include <stdint.h>

#include "cluster.pb-c.h"
#include "flow.pb-c.h"

#define FL_ENVELOPE_TOKEN_MAX 4096
#define FL_ENVELOPE_REQUEST_KEY_MAX 64

typedef struct {
    size_t max_bytes;          /* largest frame accepted */
    uint64_t max_timeout_ms;   /* longest deadline a request may ask for */
} fl_envelope_limits_t;

/*  Decodes and checks one request frame; a timeout above the node's
 *  maximum is lowered to it.  On OK *req_p holds the request
 *  (free with flow__request__free_unpacked).  On any other status *req_p
 *  is NULL, MSG says why, and *id_p holds the request id when the frame
 *  decoded far enough to have one (else 0), so the reply can carry it.  */
Flow__Status fl_envelope_decode(const void *data, size_t len, const fl_envelope_limits_t *limits,
                                Flow__Request **req_p, uint64_t *id_p,
                                char *msg, size_t msglen);

/*  Packs any protobuf message into a new frame; NULL on no memory.  */
zframe_t *fl_envelope_pack(const ProtobufCMessage *msg);

/*  Packs REPLY as a ServerMessage frame.  */
zframe_t *fl_envelope_pack_reply(const Flow__Reply *reply);

/*  Packs PUSH as a ServerMessage frame.  */
zframe_t *fl_envelope_pack_push(const Flow__Push *push);

/*  Packs an actor's answer to the session: REPLY as the client's
 *  ServerMessage inside an ActorReply with SEQ, the status and the
 *  sessions the request ended.  NULL on no memory.  */
zframe_t *fl_envelope_pack_actor_reply(uint64_t seq, const Flow__Reply *reply,
                                       Flow__Cluster__Revocation **revoked, size_t nrevoked);

/*  The answer of a node that does not serve the request's partition (it
 *  is another node's, or moving): an ActorReply marked reroute, whose
 *  client reply (UNAVAILABLE, WHY) is what the client gets if the request
 *  cannot be routed again before its deadline.  NULL on no memory.  */
zframe_t *fl_envelope_pack_reroute(uint64_t seq, uint64_t request_id, const char *why);

/*  The stable upper-case name of a status ("INVALID_ARGUMENT").  */
const char *fl_status_name(Flow__Status status);

/*  Sends REQ (a message with a uint64 "seq") over *DEALER, connected to
 *  ENDPOINT on first use (the calling thread owns it), and waits up to
 *  TIMEOUT_MS for the reply of type REPLY_TYPE with the same seq; NULL
 *  when none came.  The caller frees the reply.  */
ProtobufCMessage *fl_envelope_ask(zsock_t **dealer, const char *endpoint,
                                  const ProtobufCMessage *req,
                                  const ProtobufCMessageDescriptor *reply_type, int timeout_ms);

/*  The other side of fl_envelope_ask, on a ROUTER: takes one request,
 *  its sender's identity into *IDENTITY_P (NULL when the socket gave
 *  none; the caller destroys it) and returns it decoded as TYPE, or NULL
 *  when it is not one.  */
ProtobufCMessage *fl_envelope_take(zsock_t *router, const ProtobufCMessageDescriptor *type,
                                   zframe_t **identity_p);

/*  Sends REPLY to *IDENTITY_P (taken) on ROUTER.  */
void fl_envelope_answer(zsock_t *router, zframe_t **identity_p, const ProtobufCMessage *reply);

#endif
