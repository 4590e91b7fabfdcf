/*  actors/session/session.h — the session actor: the node's front door.
 *
 *  It owns the client ROUTER socket, decodes and checks every frame,
 *  dispatches every request through the request table in one place
 *  (session.c: s_dispatch), routes it through the ring to the owning
 *  actor, and sends the reply back on the connection it came from.  It
 *  also keeps each connection's subscriptions and pushes server-initiated
 *  messages on the same connection.
 *
 *  Pipe commands (beyond $TERM):
 *    "DRAIN"     stop taking requests (UNAVAILABLE), tell subscribers of
 *                topic "node" that the node is draining; the session
 *                answers "DRAINED" once no request is in flight.
 *  On $TERM every request still in flight is answered UNAVAILABLE.
 */
#ifndef FL_SESSION_H
#define FL_SESSION_H

#include <czmq.h>

#include "node/call.h"
#include "node/node.h"
#include "node/requests.h"

/*  Where actors send a flow.cluster.Publication (a PUSH socket): the
 *  session pushes it to every connection following its topic.  */
#define FL_SESSION_PUBLISH_ENDPOINT "inproc://flow.session.publish"


/*  Starts the session on NODE's client endpoint (node->client_endpoint is
 *  rewritten with the bound endpoint, a * port resolved) before this
 *  returns.  NULL when the endpoint cannot be bound (logged).  */
zactor_t *fl_session_new(fl_node_t *node);

/*  Request-table entries of the session (see requests.c).  */
Flow__Status fl_session_check_topics(const Flow__Request *req, const char *user_id,
                                     fl_route_t *route, char *msg, size_t msglen);
int fl_session_subscribe(fl_call_t *call);
int fl_session_unsubscribe(fl_call_t *call);

#endif
