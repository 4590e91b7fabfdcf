/*  cluster/control.h — the admin control socket.
 *
 *  A ROUTER on the control endpoint, CURVE server with the node's key;
 *  only clients whose public key is in DATA/keys/admins pass the ZAP
 *  handshake (CZMQ zauth).  Frames are ControlRequest / ControlReply
 *  (proto/control.proto).  Answers status, metrics and stop.
 *
 *  Pipe: the control actor sends "STOP" to its owner when an admin asked
 *  the node to stop; its owner sends it "DRAINING" when shutdown begins,
 *  so status tells the truth while the node drains.
 */
#ifndef FL_CONTROL_H
#define FL_CONTROL_H

#include <czmq.h>

#include "cluster/keys.h"
#include "node/node.h"

/*  Starts the control actor; NODE->control_endpoint is rewritten with the
 *  bound endpoint before this returns.  NULL when it cannot bind (logged). */
zactor_t *fl_control_new(fl_node_t *node, const fl_keys_t *keys);

#endif
