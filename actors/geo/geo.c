/*  actors/geo/geo.c — see geo.h.  */
#include "actors/geo/geo.h"
#include "actors/event/event.h"
#include "actors/geo/index.h"
#include "cluster.pb-c.h"
#include "node/actor.h"
#include "node/envelope.h"
#include "node/error.h"
#include "node/log.h"
#include "node/text.h"
#include "node/timeutil.h"
#include "storage.pb-c.h"
#include "storage/codec.h"
#include "storage/keyspace.h"

#include <math.h>

#define HOUSEKEEPING_MS 60000
#define LIMIT_DEFAULT 20
#define TEXT_MAX 200
#define DRAIN_MAX 256

typedef struct {
    const fl_node_t *node;
    zsock_t *pipe;
    zsock_t *inbox;
    zsock_t *updates;
    fl_geo_index_t *index;
    zhashx_t *revisions;        /* event id -> s_seen_t, until the event ends */
} self_t;

/*  ------------------------------------------------------------------
 *  Check (in the session)  */

Flow__Status
fl_geo_check_nearby(const Flow__Request *req, const char *user_id, fl_route_t *route,
                    char *msg, size_t msglen)
{
    (void) user_id;
    const Flow__NearbyRequest *r = req->nearby;
    fl_when_t when;
    if (!isfinite(r->lat) || r->lat < -90 || r->lat > 90)
        snprintf(msg, msglen, "lat: must be within -90..90");
    else
    if (!isfinite(r->lon) || r->lon < -180 || r->lon > 180)
        snprintf(msg, msglen, "lon: must be within -180..180");
    else
    if (r->radius_m < FL_GEO_RADIUS_MIN_M || r->radius_m > FL_GEO_RADIUS_MAX_M)
        snprintf(msg, msglen, "radius_m: must be 1 to 200000");
    else
    if (r->limit > FL_GEO_LIMIT_MAX)
        snprintf(msg, msglen, "limit: at most %d", FL_GEO_LIMIT_MAX);
    else
    if (r->n_categories > FL_GEO_QUERY_CATEGORIES_MAX)
        snprintf(msg, msglen, "categories: at most %d", FL_GEO_QUERY_CATEGORIES_MAX);
    else
    if (r->n_tags > FL_GEO_QUERY_TAGS_MAX)
        snprintf(msg, msglen, "tags: at most %d", FL_GEO_QUERY_TAGS_MAX);
    else
    if (r->price_type < 0 || r->price_type > FLOW__PRICE_TYPE__PRICE_DONATION)
        snprintf(msg, msglen, "price_type: unknown value %d", (int) r->price_type);
    else
    if (r->max_price_minor < 0)
        snprintf(msg, msglen, "max_price_minor: must not be negative");
    else
    if (r->from_s && r->to_s && r->to_s <= r->from_s)
        snprintf(msg, msglen, "to_s: must be after from_s");
    else
    if (r->when[0] && fl_when_parse(r->when, &when) != 0)
        snprintf(msg, msglen, "when: today, tomorrow, this-weekend or next-7-days");
    else
    if (strlen(r->text) > TEXT_MAX || !fl_text_valid(r->text, strlen(r->text)))
        snprintf(msg, msglen, "text: valid text of at most %d bytes", TEXT_MAX);
    else
    if (strlen(r->cursor) >= FL_GEO_CURSOR_MAX)
        snprintf(msg, msglen, "cursor: malformed");
    else
    if (r->sort < FLOW__NEARBY_SORT__SORT_DISTANCE || r->sort > FLOW__NEARBY_SORT__SORT_RELEVANCE)
        snprintf(msg, msglen, "sort: distance, start or relevance");
    else
    if (r->view < FLOW__NEARBY_VIEW__VIEW_FULL || r->view > FLOW__NEARBY_VIEW__VIEW_SUMMARY)
        snprintf(msg, msglen, "view: full or summary");
    else {
        for (size_t i = 0; i < r->n_categories; i++)
            if (r->categories[i] <= 0 || r->categories[i] > FLOW__CATEGORY__CATEGORY_OTHER) {
                snprintf(msg, msglen, "categories[%zu]: unknown category", i);
                return FLOW__STATUS__INVALID_ARGUMENT;
            }
        route->actor = FLOW__ACTOR__ACTOR_GEO;
        snprintf(route->keybuf, sizeof route->keybuf, "geo:%d:%d",
                 (int) floor(r->lat / FL_GEO_CELL_DEG), (int) floor(r->lon / FL_GEO_CELL_DEG));
        route->key = route->keybuf;
        route->key_len = strlen(route->keybuf);
        return FLOW__STATUS__OK;
    }
    return FLOW__STATUS__INVALID_ARGUMENT;
}

/*  ------------------------------------------------------------------
 *  Index maintenance  */

/*  The entry for EV: text is title, description and tags, in *BUF_P
 *  (allocated; the caller frees it).  */
static void
s_entry(const Flow__Event *ev, fl_geo_entry_t *e, char **buf_p)
{
    memset(e, 0, sizeof *e);
    snprintf(e->id, sizeof e->id, "%s", ev->id);
    e->lat = ev->location ? ev->location->lat : 0;
    e->lon = ev->location ? ev->location->lon : 0;
    e->start_s = ev->start_s;
    e->end_s = ev->end_s;
    snprintf(e->tz, sizeof e->tz, "%s", ev->time_zone);
    e->category = ev->category;
    e->price_type = ev->pricing && ev->pricing->type ? ev->pricing->type
                                                     : FLOW__PRICE_TYPE__PRICE_FREE;
    e->price_minor = ev->pricing ? ev->pricing->amount_minor : 0;
    e->free_spots = ev->capacity == 0 ? -1
                  : ev->going >= ev->capacity ? 0 : (int32_t) (ev->capacity - ev->going);
    e->popularity = ev->going + ev->interested;
    size_t cap = strlen(ev->title) + strlen(ev->description) + 2;
    for (size_t i = 0; i < ev->n_tags; i++)
        cap += strlen(ev->tags[i]) + 1;
    char *buf = malloc(cap);
    assert(buf);
    size_t n = (size_t) snprintf(buf, cap, "%s %s", ev->title, ev->description);
    for (size_t i = 0; i < ev->n_tags; i++)
        n += (size_t) snprintf(buf + n, cap - n, " %s", ev->tags[i]);
    e->text = buf;
    *buf_p = buf;
    e->tags = ev->tags;
    e->n_tags = ev->n_tags;
    e->title = ev->title;
    if (ev->pricing && ev->pricing->currency)
        snprintf(e->currency, sizeof e->currency, "%s", ev->pricing->currency);
}

static void
s_put(self_t *self, const Flow__Event *ev)
{
    char *text = NULL;
    fl_geo_entry_t e;
    s_entry(ev, &e, &text);
    int rc = fl_geo_index_put(self->index, &e);
    free(text);
    if (rc)
        fl_warn("geo", "event not indexed", "event=%s error=%s", ev->id, fl_err_name(rc));
}

/*  The highest revision applied for an event, kept while the event has
 *  not ended: an older update that arrives late changes nothing.  Once it
 *  has ended, any update of it only removes it, so its entry may go.  */
typedef struct {
    uint64_t revision;
    int64_t end_s;
} s_seen_t;

static void
s_apply(self_t *self, const Flow__Cluster__GeoUpdate *u)
{
    s_seen_t *seen = zhashx_lookup(self->revisions, u->event_id);
    if (seen && seen->revision >= u->revision)
        return;
    if (!seen) {
        seen = malloc(sizeof *seen);
        assert(seen);
        zhashx_insert(self->revisions, u->event_id, seen);
    }
    seen->revision = u->revision;
    seen->end_s = u->event ? u->event->end_s : u->end_s;
    bool ended = seen->end_s <= zclock_time() / 1000;
    if (u->remove || !u->event || ended)
        fl_geo_index_remove(self->index, u->event_id);
    else
        s_put(self, u->event);
}

static void
s_forget_ended(self_t *self, int64_t now_s)
{
    zlistx_t *ended = zlistx_new();
    for (s_seen_t *seen = zhashx_first(self->revisions); seen;
         seen = zhashx_next(self->revisions))
        if (seen->end_s <= now_s)
            zlistx_add_end(ended, (void *) zhashx_cursor(self->revisions));
    for (const char *id = zlistx_first(ended); id; id = zlistx_next(ended))
        zhashx_delete(self->revisions, id);
    zlistx_destroy(&ended);
}

/*  Indexes a stored event record (the VALUE of an events key).  */
static int
s_index_record(const MDB_val *key, const MDB_val *value, void *arg)
{
    (void) key;
    self_t *self = arg;
    Flow__Storage__EventRecord *rec =
        flow__storage__event_record__unpack(NULL, value->mv_size, value->mv_data);
    if (rec && rec->event) {
        Flow__Cluster__GeoUpdate u = FLOW__CLUSTER__GEO_UPDATE__INIT;
        u.event_id = rec->event->id;
        u.revision = rec->revision;
        u.remove = rec->event->visibility == FLOW__EVENT_VISIBILITY__EVENT_PRIVATE
                   || rec->event->status != FLOW__EVENT_STATUS__EVENT_SCHEDULED;
        u.event = rec->event;
        u.end_s = rec->event->end_s;
        s_apply(self, &u);
    }
    if (rec)
        flow__storage__event_record__free_unpacked(rec, NULL);
    return 0;
}

/*  Indexes the stored events of PARTITION.  */
static int
s_index_partition(self_t *self, uint32_t partition)
{
    MDB_txn *txn = NULL;
    int rc = fl_store_read_begin(self->node->store, &txn);
    if (rc)
        return rc;
    rc = fl_keyspace_scan(txn, fl_event_db(), (uint16_t) partition, s_index_record, self);
    fl_store_read_end(self->node->store, &txn);
    return rc;
}

/*  Forgets the events of PARTITION: it is another node's now.  */
static void
s_forget_partition(self_t *self, uint32_t partition)
{
    const fl_ring_t *ring = fl_node_ring(self->node);
    zlistx_t *gone = zlistx_new();
    for (s_seen_t *seen = zhashx_first(self->revisions); seen;
         seen = zhashx_next(self->revisions)) {
        const char *id = zhashx_cursor(self->revisions);
        if (fl_ring_partition(ring, id, strlen(id)) == partition)
            zlistx_add_end(gone, (void *) id);
    }
    for (const char *id = zlistx_first(gone); id; id = zlistx_next(gone)) {
        fl_geo_index_remove(self->index, id);
        zhashx_delete(self->revisions, id);
    }
    zlistx_destroy(&gone);
}

/*  Builds the index from the stored events of the partitions this node
 *  owns, as after a restart.  */
static int
s_rebuild(self_t *self)
{
    const fl_ring_t *ring = fl_node_ring(self->node);
    const char *me = fl_ring_local_id(ring);
    int rc = 0;
    uint32_t owned = 0;
    for (uint32_t p = 0; rc == 0 && p < fl_ring_partitions(ring); p++)
        if (streq(fl_ring_owner(ring, p), me)) {
            rc = s_index_partition(self, p);
            owned++;
        }
    fl_info("geo", "index built", "partitions=%u indexed=%zu", owned,
            fl_geo_index_size(self->index));
    return rc;
}

static void
s_on_updates(self_t *self)
{
    for (int n = 0; n < DRAIN_MAX && (zsock_events(self->updates) & ZMQ_POLLIN); n++) {
        zframe_t *frame = zframe_recv(self->updates);
        if (!frame)
            return;
        Flow__Cluster__GeoUpdate *u =
            flow__cluster__geo_update__unpack(NULL, zframe_size(frame), zframe_data(frame));
        zframe_destroy(&frame);
        if (!u) {
            fl_error("geo", "undecodable index update", NULL);
            continue;
        }
        if (!u->partition_change)
            s_apply(self, u);
        else
        if (!u->owned)
            s_forget_partition(self, u->partition);
        else
        if (s_index_partition(self, u->partition) != 0)
            fl_error("geo", "cannot index a partition that arrived", "partition=%u", u->partition);
        flow__cluster__geo_update__free_unpacked(u, NULL);
    }
}

/*  ------------------------------------------------------------------
 *  Nearby  */

typedef struct {
    fl_when_t when;
    int64_t now_s;
} s_window_t;

static bool
s_window(void *arg, const char *tz, int64_t *from_s, int64_t *to_s)
{
    s_window_t *w = arg;
    return fl_time_window(w->when, tz, w->now_s, from_s, to_s) == 0;
}

/*  The hit's event record, as the reader may see it; NULL when it is
 *  gone or hidden (the index lags a commit by a message).  */
static Flow__Event *
s_hit_event(self_t *self, fl_call_t *call, MDB_txn *txn, const char *id)
{
    uint8_t buf[FL_KEYSPACE_KEY_MAX];
    uint32_t p = fl_ring_partition(fl_node_ring(self->node), id, strlen(id));
    int len = fl_keyspace_key((uint16_t) p, id, strlen(id), buf, sizeof buf);
    MDB_val key = { len > 0 ? (size_t) len : 0, buf };
    Flow__Storage__EventRecord *rec = NULL;
    if (fl_codec_get_with(txn, fl_event_db(), &key, &flow__storage__event_record__descriptor,
                          fl_call_allocator(call), (ProtobufCMessage **) &rec) != 0
        || !rec->event || !fl_event_visible(rec, call->principal)
        || rec->event->status != FLOW__EVENT_STATUS__EVENT_SCHEDULED)
        return NULL;
    return rec->event;
}

/*  A hit's event in summary view, from the index alone; it points into
 *  the index, which does not change before the reply is packed (this
 *  actor's loop packs it right after the handler).  Visibility needs no
 *  check: only public events are indexed.  */
static Flow__Event *
s_hit_summary(self_t *self, fl_call_t *call, const char *id)
{
    fl_geo_summary_t s;
    if (fl_geo_index_summary(self->index, id, &s) != 0)
        return NULL;
    Flow__Event *ev = fl_call_alloc(call, sizeof *ev);
    Flow__Location *loc = fl_call_alloc(call, sizeof *loc);
    Flow__Pricing *price = fl_call_alloc(call, sizeof *price);
    flow__event__init(ev);
    flow__location__init(loc);
    flow__pricing__init(price);
    ev->id = fl_call_strdup(call, id);
    ev->title = (char *) s.title;
    ev->category = (Flow__Category) s.category;
    ev->start_s = s.start_s;
    ev->end_s = s.end_s;
    ev->time_zone = (char *) s.tz;
    loc->lat = s.lat;
    loc->lon = s.lon;
    ev->location = loc;
    price->type = (Flow__PriceType) s.price_type;
    price->amount_minor = s.price_minor;
    price->currency = (char *) s.currency;
    ev->pricing = price;
    ev->status = FLOW__EVENT_STATUS__EVENT_SCHEDULED;
    return ev;
}

int
fl_geo_nearby(fl_call_t *call)
{
    self_t *self = call->state;
    const Flow__NearbyRequest *r = call->request->nearby;
    s_window_t window = { FL_WHEN_ANY, call->now_s ? call->now_s : zclock_time() / 1000 };
    if (r->when[0])
        fl_when_parse(r->when, &window.when);
    int categories[FL_GEO_QUERY_CATEGORIES_MAX];
    for (size_t i = 0; i < r->n_categories; i++)
        categories[i] = r->categories[i];
    fl_geo_query_t q = {
        .lat = r->lat, .lon = r->lon, .radius_m = r->radius_m,
        .categories = categories, .n_categories = r->n_categories,
        .tags = r->tags, .n_tags = r->n_tags,
        .from_s = r->from_s, .to_s = r->to_s,
        .window = window.when == FL_WHEN_ANY ? NULL : s_window, .window_arg = &window,
        .price_type = r->price_type,
        .max_price_minor = r->max_price_minor ? r->max_price_minor : -1,
        .free_spots_only = r->free_spots_only,
        .text = r->text[0] ? r->text : NULL,
        .now_s = window.now_s,
        .sort = (fl_geo_sort_t) r->sort,
        .limit = fl_geo_limit(r),
        .cursor = r->cursor[0] ? r->cursor : NULL,
    };
    fl_geo_hit_t *hits = fl_call_alloc(call, q.limit * sizeof *hits);
    size_t n = 0;
    char *next = fl_call_alloc(call, FL_GEO_CURSOR_MAX);
    char why[256] = "";
    int rc = fl_geo_index_query(self->index, &q, hits, &n, next, why, sizeof why);
    if (rc) {
        fl_call_fail(call, rc == FL_E_INVAL ? FLOW__STATUS__INVALID_ARGUMENT
                                            : FLOW__STATUS__RESOURCE_EXHAUSTED, "%s",
                     why[0] ? why : fl_strerror(rc));
        return 0;
    }
    Flow__NearbyReply *out = fl_call_alloc(call, sizeof *out);
    flow__nearby_reply__init(out);
    out->hits = fl_call_alloc(call, (n ? n : 1) * sizeof *out->hits);
    out->next_cursor = next;
    bool summary = r->view == FLOW__NEARBY_VIEW__VIEW_SUMMARY;
    MDB_txn *txn = NULL;
    if (n && !summary && fl_store_read_begin(self->node->store, &txn) != 0) {
        fl_call_fail(call, FLOW__STATUS__UNAVAILABLE, "storage: cannot read events");
        return 0;
    }
    for (size_t i = 0; i < n; i++) {
        Flow__Event *ev = summary ? s_hit_summary(self, call, hits[i].id)
                                  : s_hit_event(self, call, txn, hits[i].id);
        if (!ev)
            continue;
        Flow__NearbyHit *hit = fl_call_alloc(call, sizeof *hit);
        flow__nearby_hit__init(hit);
        hit->event = ev;
        hit->distance_m = hits[i].distance_m;
        hit->score = hits[i].score;
        out->hits[out->n_hits++] = hit;
    }
    fl_store_read_end(self->node->store, &txn);
    call->reply.body_case = FLOW__REPLY__BODY_NEARBY;
    call->reply.nearby = out;
    return 0;
}

size_t
fl_geo_limit(const Flow__NearbyRequest *req)
{
    return req->limit ? req->limit : LIMIT_DEFAULT;
}

typedef struct {
    fl_geo_hit_t key;
    Flow__NearbyHit *hit;
} s_merged_t;

static int
s_merged_cmp(const void *a, const void *b, void *sort)
{
    return fl_geo_hit_cmp(*(const fl_geo_sort_t *) sort, &((const s_merged_t *) a)->key,
                          &((const s_merged_t *) b)->key);
}

void
fl_geo_merge(const Flow__NearbyRequest *req, Flow__NearbyReply *const *parts, size_t n,
             int64_t now_s, Flow__NearbyHit **hits, char *cursor, Flow__NearbyReply *out)
{
    size_t total = 0, limit = fl_geo_limit(req);
    bool more = false;
    for (size_t i = 0; i < n; i++) {
        total += parts[i]->n_hits;
        more |= parts[i]->next_cursor[0] != '\0';
    }
    s_merged_t *all = calloc(total ? total : 1, sizeof *all);
    assert(all);
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < parts[i]->n_hits; j++) {
            Flow__NearbyHit *h = parts[i]->hits[j];
            if (!h->event || !h->event->id)
                continue;
            snprintf(all[k].key.id, sizeof all[k].key.id, "%s", h->event->id);
            all[k].key.distance_m = h->distance_m;
            all[k].key.score = h->score;
            all[k].key.start_s = h->event->start_s;
            all[k++].hit = h;
        }
    fl_geo_sort_t sort = (fl_geo_sort_t) req->sort;
    qsort_r(all, k, sizeof *all, s_merged_cmp, &sort);
    zhashx_t *seen = zhashx_new();
    flow__nearby_reply__init(out);
    out->hits = hits;
    size_t last = 0;
    for (size_t i = 0; i < k; i++) {
        if (zhashx_insert(seen, all[i].key.id, (void *) 1) != 0)
            continue;
        if (out->n_hits == limit) {
            more = true;
            break;
        }
        hits[out->n_hits++] = all[i].hit;
        last = i;
    }
    zhashx_destroy(&seen);
    cursor[0] = '\0';
    if (more && out->n_hits > 0) {
        int64_t clock = fl_geo_cursor_clock(req->cursor);
        fl_geo_cursor_after(sort, clock >= 0 ? clock : now_s, &all[last].key, cursor);
    }
    out->next_cursor = cursor;
    free(all);
}

static void
s_reply(self_t *self, zframe_t **identity, uint64_t seq, const Flow__Reply *reply)
{
    zframe_t *frame = fl_envelope_pack_actor_reply(seq, reply, NULL, 0);
    zmsg_t *msg = zmsg_new();
    zmsg_append(msg, identity);
    zmsg_append(msg, &frame);
    zmsg_send(&msg, self->inbox);
}

/*  Updates queued before the request are applied first: the event actor
 *  sends an update before it replies, so a client that saw its change
 *  committed finds it in its next search.  */
static void
s_on_request(self_t *self)
{
    s_on_updates(self);
    zmsg_t *msg = zmsg_recv(self->inbox);
    if (!msg)
        return;
    zframe_t *identity = zmsg_pop(msg);
    zframe_t *body = zmsg_pop(msg);
    zmsg_destroy(&msg);
    Flow__Cluster__ActorRequest *in = body
        ? flow__cluster__actor_request__unpack(NULL, zframe_size(body), zframe_data(body)) : NULL;
    zframe_destroy(&body);
    if (!identity) {
        if (in)
            flow__cluster__actor_request__free_unpacked(in, NULL);
        return;
    }
    fl_call_t call;
    fl_call_init(&call, self->node, in ? in->request : NULL, FLOW__ACTOR__ACTOR_GEO,
                 in ? in->partition : 0);
    call.principal = in ? in->principal : NULL;
    call.now_s = in ? in->now_s : 0;
    call.state = self;
    const fl_request_def_t *def = in && in->request ? fl_requests_find(in->request->body_case)
                                                    : NULL;
    if (!def || def->access != FL_ACCESS_NONE)
        fl_call_fail(&call, FLOW__STATUS__INVALID_ARGUMENT,
                     "the geo actor answers requests that need no storage only");
    else
    if (zclock_usecs() > in->deadline_us)
        fl_call_fail(&call, FLOW__STATUS__DEADLINE_EXCEEDED, "deadline passed before the search");
    else
        def->handler(&call);
    fl_metrics_actor_handled(self->node->metrics, FLOW__ACTOR__ACTOR_GEO - 1, 1);
    s_reply(self, &identity, in ? in->seq : 0, &call.reply);
    fl_call_release(&call);
    if (in)
        flow__cluster__actor_request__free_unpacked(in, NULL);
}

/*  ------------------------------------------------------------------
 *  Life cycle  */

static void
s_free(void **item)
{
    free(*item);
    *item = NULL;
}

static int
s_open(self_t *self)
{
    self->index = fl_geo_index_new(FL_GEO_CELL_DEG);
    self->revisions = zhashx_new();
    zhashx_set_destructor(self->revisions, s_free);
    self->inbox = zsock_new(ZMQ_ROUTER);
    self->updates = zsock_new(ZMQ_PULL);
    if (!self->index || !self->inbox || !self->updates
        || zsock_bind(self->inbox, "%s", fl_actor_endpoint(FLOW__ACTOR__ACTOR_GEO)) != 0
        || zsock_bind(self->updates, "%s", FL_GEO_UPDATES_ENDPOINT) != 0) {
        fl_error("geo", "geo actor cannot start", NULL);
        return FL_E_IO;
    }
    return s_rebuild(self);
}

static void
s_close(self_t *self)
{
    zsock_destroy(&self->inbox);
    zsock_destroy(&self->updates);
    zhashx_destroy(&self->revisions);
    fl_geo_index_destroy(&self->index);
}

static void
s_geo_task(zsock_t *pipe, void *arg)
{
    self_t self = { .node = arg, .pipe = pipe };
    zsock_signal(pipe, 0);
    int rc = s_open(&self);
    zsock_signal(pipe, rc ? 1 : 0);
    if (rc) {
        s_close(&self);
        return;
    }
    zpoller_t *poller = zpoller_new(pipe, self.updates, self.inbox, NULL);
    int64_t next_sweep = zclock_mono() + HOUSEKEEPING_MS;
    bool done = false;
    while (!done) {
        int64_t wait = next_sweep - zclock_mono();
        void *which = zpoller_wait(poller, wait > 0 ? (int) wait : 0);
        if (which == pipe) {
            char *command = zstr_recv(pipe);
            done = !command || streq(command, "$TERM");
            zstr_free(&command);
        }
        else
        if (which == self.inbox)
            s_on_request(&self);
        else
        if (which == self.updates)
            s_on_updates(&self);
        else
        if (zpoller_terminated(poller))
            done = true;
        if (zclock_mono() >= next_sweep) {
            int64_t now = zclock_time() / 1000;
            size_t n = fl_geo_index_remove_ended(self.index, now);
            if (n)
                fl_debug("geo", "ended events left the index", "events=%zu", n);
            s_forget_ended(&self, now);
            next_sweep = zclock_mono() + HOUSEKEEPING_MS;
        }
    }
    zpoller_destroy(&poller);
    s_close(&self);
}

zactor_t *
fl_geo_new(const fl_node_t *node)
{
    return fl_actor_start(s_geo_task, (void *) node);
}
