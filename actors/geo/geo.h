/*  actors/geo/geo.h — the geo actor: discovery search over this node's
 *  events.
 *
 *  The geo actor keeps the index (actors/geo/index.h) of the public,
 *  scheduled, not yet ended events of the event partitions this node
 *  owns: its geo shard is its share of the events, all cells at once
 *  (docs/cluster.md says why).  It learns of changes from the event
 *  actor (GeoUpdate messages on its updates socket, after each commit)
 *  and keeps, per event, only the highest revision it has seen, so a
 *  repeated or late update changes nothing.  At start it builds the index
 *  from the stored records of the partitions it owns, so a restart or a
 *  lost update heals itself; when a partition arrives or leaves (handoff)
 *  it indexes or forgets that partition's events; ended events leave the
 *  index on a timer.  Hits are answered with the event records read from
 *  LMDB, which holds them because the index covers owned partitions only.
 *
 *  In a cluster the session scatters a nearby search to the geo actor of
 *  every node that owns partitions and merges their pages (fl_geo_merge).
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

/*  The page of REQ merged from N pages of it (PARTS), each from the index
 *  of some of the events: the first `limit` hits in REQ's order, an event
 *  that two parts hold (while its partition moves) once, and in CURSOR
 *  (FL_GEO_CURSOR_MAX bytes) the cursor after the last when more follow.
 *  NOW_S is the clock every part scored a first page with (REQ's cursor
 *  carries it on later pages).  OUT's hits (HITS, room for REQ's limit)
 *  point into PARTS; its next_cursor is CURSOR.  */
void fl_geo_merge(const Flow__NearbyRequest *req, Flow__NearbyReply *const *parts, size_t n,
                  int64_t now_s, Flow__NearbyHit **hits, char *cursor, Flow__NearbyReply *out);

/*  The page size of REQ.  */
size_t fl_geo_limit(const Flow__NearbyRequest *req);

#endif
