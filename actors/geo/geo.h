/*  actors/geo/geo.h — the geo actor: discovery search over geo shards.
 *
 *  The geo actor keeps the index (actors/geo/index.h) of the public,
 *  scheduled, not yet ended events of the cells this node holds.  It
 *  learns of changes from the event actor (GeoUpdate messages on its
 *  updates socket, after each commit) and keeps, per event, only the
 *  highest revision it has seen, so a repeated or late update changes
 *  nothing.  At start it rebuilds the index from the event records, so a
 *  restart or a lost update heals itself; ended events leave the index on
 *  a timer.  Nearby requests come routed like any request; hits are
 *  answered with the event records read from LMDB.
 *
 *  Today one geo actor holds every cell of the node, and a single node
 *  holds them all; the cluster work scatters a search to the owners of
 *  the cells the circle meets.
 */
#ifndef FL_GEO_H
#define FL_GEO_H

#include <czmq.h>

#include "node/node.h"
#include "node/requests.h"

#define FL_GEO_UPDATES_ENDPOINT "inproc://flow.actor.geo.updates"
/*  Grid cell size: bench_geo --cell-deg measured 2 km queries at 4.5k/s
 *  with 0.1 degree cells and 16.9k/s with 0.02 on a million events.  */
#define FL_GEO_CELL_DEG 0.02

/*  Starts the geo actor: binds its inbox and updates socket and builds
 *  the index from the stored events.  NULL when it cannot (logged).  */
zactor_t *fl_geo_new(const fl_node_t *node);

fl_check_fn fl_geo_check_nearby;

/*  The nearby handler; runs on the geo actor (call->state is its own).  */
fl_handler_fn fl_geo_nearby;

#endif
