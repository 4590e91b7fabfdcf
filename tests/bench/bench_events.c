/*  tests/bench/bench_events.c — events, nearby search and RSVPs through a
 *  real flowd, against Redis GEOSEARCH and a brute-force scan.
 *
 *  Generates N events (default 100,000) spread like bench_geo's world of
 *  cities: 70% around eight Gaussian centres, 30% uniform over the
 *  inhabited latitudes, with random categories, tags, start times over
 *  the next 30 days and titles from a 64-word vocabulary.  A flowd started
 *  here (kernel-chosen ports, data in a temporary directory) gets them as
 *  create_event requests pipelined 64 at a time on one connection: the
 *  create throughput.
 *
 *  Nearby queries, limit 50, by distance, centred where events are: 2 km,
 *  10 km, and 10 km with three categories, when=next-7-days and a text
 *  prefix; each with 1 and 16 requests in flight on one connection, sent
 *  as raw frames so libflow's one-call-at-a-time API does not hide the
 *  pipeline.  Every figure is end to end: encode, send, search, the full
 *  events of the page back, decode.
 *
 *  Baselines in the same run, on the same points and query centres:
 *    - a brute-force scan of the generated array in this process
 *      (haversine on every event, the filters, a sort of the matches),
 *      the floor any index must beat; its window for next-7-days is
 *      [now, now + 7 days) in UTC, close to but not exactly flowd's
 *      per-time-zone window, so only unfiltered hit counts are compared;
 *    - redis-server, started here on a free loopback port without
 *      persistence, loaded with GEOADD and asked `GEOSEARCH ... BYRADIUS
 *      ... ASC COUNT 50` through hiredis at the same concurrency.  Redis
 *      answers member names only and applies no filters, so the ratio of
 *      Flow's filtered search to it is the goal: at least 1.
 *  Without hiredis at build time or redis-server on PATH the Redis part
 *  is skipped with the reason; the rest still runs.
 *
 *  RSVPs: 200 users signed up first, each switching between going and
 *  interested on one hot event (capacity 1,000,000), pipelined; then one
 *  going RSVP on each of many events.
 *
 *  Every stage is bounded: a query or RSVP run stops sending after
 *  RUN_MAX_US (creation after CREATE_MAX_US, the rest of the run then
 *  uses the events made), a reply not back within REPLY_TIMEOUT_MS fails
 *  the bench.
 *
 *      bench_events [--flowd PATH] [--events N]
 */
#include "clients/libflow.h"
#include "tests/bench/benchlib.h"
#include "tests/bench/benchnode.h"
#include "tests/bench/world.h"

#include <arpa/inet.h>
#include <czmq.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#ifdef FL_BENCH_HIREDIS
#include <hiredis/hiredis.h>
#endif

#define DEFAULT_EVENTS 100000
#define MAX_EVENTS 2000000
#define WINDOW_MAX 64
#define CREATE_WINDOW 64
#define QUERY_WINDOW 16
#define QUERIES 3000
#define SCAN_QUERIES 100
#define LIMIT 50
#define N_USERS 200
#define HOT_RSVPS 10000
#define SPREAD_RSVPS 10000
#define RUN_MAX_US 10000000ULL
#define CREATE_MAX_US 90000000ULL
#define REPLY_TIMEOUT_MS 10000
#define DAY_S 86400
#define EARTH_M 6371008.8
#define PI 3.14159265358979323846
#define PACK_MAX 4096
#define REDIS_KEY "events"

typedef struct {
    double d;
    uint32_t event;
} s_match_t;

static fl_world_t s_world;
static int64_t s_now_s;

/*  ------------------------------------------------------------------
 *  Brute-force scan  */

static double
s_haversine_m(double lat1, double lon1, double lat2, double lon2)
{
    double p1 = lat1 * PI / 180, p2 = lat2 * PI / 180;
    double dp = p2 - p1, dl = (lon2 - lon1) * PI / 180;
    double h = sin(dp / 2) * sin(dp / 2) + cos(p1) * cos(p2) * sin(dl / 2) * sin(dl / 2);
    return 2 * EARTH_M * asin(sqrt(fmin(1, h)));
}

static bool
s_scan_passes(const fl_world_query_t *q, const fl_world_event_t *ev)
{
    if (!q->filtered)
        return true;
    if (q->categories[0] != ev->category && q->categories[1] != ev->category
        && q->categories[2] != ev->category)
        return false;
    if (ev->end_s <= s_now_s || ev->start_s >= s_now_s + 7 * DAY_S)
        return false;
    return (ev->words & q->prefix_words) != 0;
}

static int
s_cmp_match(const void *a, const void *b)
{
    const s_match_t *x = a, *y = b;
    if (x->d != y->d)
        return x->d < y->d ? -1 : 1;
    return x->event < y->event ? -1 : x->event > y->event;
}

/*  The size of Q's first page by a full scan; MATCHES has room for every
 *  event.  */
static size_t
s_scan(const fl_world_event_t *events, uint32_t n, const fl_world_query_t *q, s_match_t *matches)
{
    size_t found = 0;
    for (uint32_t i = 0; i < n; i++) {
        if (!s_scan_passes(q, &events[i]))
            continue;
        double d = s_haversine_m(q->lat, q->lon, events[i].lat, events[i].lon);
        if (d <= q->radius_m)
            matches[found++] = (s_match_t) { d, i };
    }
    qsort(matches, found, sizeof *matches, s_cmp_match);
    return found < LIMIT ? found : LIMIT;
}

/*  ------------------------------------------------------------------
 *  flowd  */

/*  Signs user NUMBER up and copies its access token into TOKEN.  */
static int
s_sign_up(flow_t *flow, int number, char *token, size_t cap)
{
    char email[64];
    snprintf(email, sizeof email, "bench%d@example.com", number);
    Flow__SignUpRequest su = FLOW__SIGN_UP_REQUEST__INIT;
    su.email = email;
    su.password = "bench password 1";
    su.display_name = "Bench";
    Flow__Request req = FLOW__REQUEST__INIT;
    req.body_case = FLOW__REQUEST__BODY_SIGN_UP;
    req.sign_up = &su;
    Flow__Reply *reply = NULL;
    int rc = -1;
    if (flow_call(flow, &req, &reply, 20000) == FLOW_OK
        && reply->body_case == FLOW__REPLY__BODY_SESSION) {
        snprintf(token, cap, "%s", reply->session->access_token);
        rc = 0;
    }
    else
        fprintf(stderr, "bench_events: sign-up failed: %s\n", flow_error(flow));
    if (reply)
        flow__reply__free_unpacked(reply, NULL);
    return rc;
}

/*  ------------------------------------------------------------------
 *  Pipelined requests  */

/*  Packs request I (id I + 1) into BUF (PACK_MAX bytes); its length.  */
typedef size_t (s_pack_fn)(void *ctx, size_t i, uint8_t *buf);

/*  Takes the OK reply to request I.  Returns 0, or -1 to fail the run.  */
typedef int (s_take_fn)(void *ctx, size_t i, const Flow__Reply *reply);

/*  Sends up to COUNT requests with WINDOW in flight on one connection,
 *  none after MAX_US; each latency into BENCH, the number answered into
 *  *DONE.  Returns 0 or -1.  */
static int
s_pipeline(flow_t *flow, size_t count, int window, uint64_t max_us, s_pack_fn *pack,
           s_take_fn *take, void *ctx, fl_bench_t *bench, size_t *done)
{
    uint64_t sent_at[WINDOW_MAX];
    uint8_t buf[PACK_MAX];
    size_t sent = 0, got = 0;
    int rc = 0;
    fl_bench_start(bench);
    uint64_t deadline = fl_bench_now_us() + max_us;
    while (rc == 0) {
        bool open = fl_bench_now_us() < deadline;
        while (open && sent < count && sent - got < (size_t) window && rc == 0) {
            size_t len = pack(ctx, sent, buf);
            sent_at[sent % WINDOW_MAX] = fl_bench_now_us();
            if (flow_send_raw(flow, buf, len) != FLOW_OK)
                rc = -1;
            sent++;
        }
        if (rc != 0 || got == sent)
            break;
        Flow__ServerMessage *msg = NULL;
        if (flow_recv_raw(flow, &msg, REPLY_TIMEOUT_MS) != FLOW_OK
            || msg->kind_case != FLOW__SERVER_MESSAGE__KIND_REPLY || msg->reply->id == 0
            || msg->reply->id > sent) {
            fprintf(stderr, "bench_events: no reply: %s\n", flow_error(flow));
            rc = -1;
        }
        else if (msg->reply->status != FLOW__STATUS__OK) {
            fprintf(stderr, "bench_events: request failed: %s %s\n",
                    flow_status_name((flow_status_t) msg->reply->status), msg->reply->message);
            rc = -1;
        }
        else {
            size_t i = (size_t) msg->reply->id - 1;
            fl_bench_record(bench, fl_bench_now_us() - sent_at[i % WINDOW_MAX]);
            rc = take(ctx, i, msg->reply);
        }
        if (msg)
            flow__server_message__free_unpacked(msg, NULL);
        got++;
    }
    fl_bench_stop(bench);
    *done = got;
    return rc;
}

static size_t
s_pack_request(Flow__Request *req, size_t i, const char *token, uint8_t *buf)
{
    req->version = FLOW_PROTOCOL_VERSION;
    req->id = (uint64_t) i + 1;
    req->token = (char *) token;
    assert(flow__request__get_packed_size(req) <= PACK_MAX);
    return flow__request__pack(req, buf);
}

typedef struct {
    fl_world_event_t *events;
    const char *token;
    uint32_t capacity;              /* of every event */
} s_create_t;

static size_t
s_pack_create(void *ctx, size_t i, uint8_t *buf)
{
    s_create_t *self = ctx;
    const fl_world_event_t *ev = &self->events[i];
    Flow__Location loc = FLOW__LOCATION__INIT;
    loc.lat = ev->lat;
    loc.lon = ev->lon;
    Flow__EventDraft draft = FLOW__EVENT_DRAFT__INIT;
    draft.title = (char *) ev->title;
    draft.category = (Flow__Category) ev->category;
    draft.tags = (char **) fl_world_event_tags(ev);
    draft.n_tags = ev->n_tags;
    draft.start_s = ev->start_s;
    draft.end_s = ev->end_s;
    draft.time_zone = (char *) fl_world_event_tz(ev);
    draft.location = &loc;
    draft.capacity = self->capacity;
    Flow__CreateEventRequest create = FLOW__CREATE_EVENT_REQUEST__INIT;
    create.event = &draft;
    Flow__Request req = FLOW__REQUEST__INIT;
    req.body_case = FLOW__REQUEST__BODY_CREATE_EVENT;
    req.create_event = &create;
    return s_pack_request(&req, i, self->token, buf);
}

static int
s_take_create(void *ctx, size_t i, const Flow__Reply *reply)
{
    s_create_t *self = ctx;
    if (reply->body_case != FLOW__REPLY__BODY_EVENT)
        return -1;
    self->events[i].id = strdup(reply->event->id);
    return self->events[i].id ? 0 : -1;
}

typedef struct {
    const fl_world_query_t *queries;
    const char *token;
    Flow__NearbyView view;
    size_t hits;
} s_nearby_t;

static size_t
s_pack_nearby(void *ctx, size_t i, uint8_t *buf)
{
    s_nearby_t *self = ctx;
    const fl_world_query_t *q = &self->queries[i];
    Flow__Category categories[3];
    Flow__NearbyRequest nearby = FLOW__NEARBY_REQUEST__INIT;
    nearby.lat = q->lat;
    nearby.lon = q->lon;
    nearby.radius_m = (uint32_t) q->radius_m;
    nearby.limit = LIMIT;
    nearby.sort = FLOW__NEARBY_SORT__SORT_DISTANCE;
    nearby.view = self->view;
    if (q->filtered) {
        for (int c = 0; c < 3; c++)
            categories[c] = (Flow__Category) q->categories[c];
        nearby.categories = categories;
        nearby.n_categories = 3;
        nearby.when = "next-7-days";
        nearby.text = (char *) q->text;
    }
    Flow__Request req = FLOW__REQUEST__INIT;
    req.body_case = FLOW__REQUEST__BODY_NEARBY;
    req.nearby = &nearby;
    return s_pack_request(&req, i, self->token, buf);
}

static int
s_take_nearby(void *ctx, size_t i, const Flow__Reply *reply)
{
    s_nearby_t *self = ctx;
    (void) i;
    if (reply->body_case != FLOW__REPLY__BODY_NEARBY)
        return -1;
    self->hits += reply->nearby->n_hits;
    return 0;
}

typedef struct {
    fl_world_event_t *events;              /* NULL: every RSVP goes to HOT */
    const char *hot;
    char (*tokens)[600];
    int n_users;
} s_rsvp_t;

/*  On the hot event user I % N_USERS alternates between going and
 *  interested, round by round; across events user I % N_USERS goes to
 *  event I.  */
static size_t
s_pack_rsvp(void *ctx, size_t i, uint8_t *buf)
{
    s_rsvp_t *self = ctx;
    size_t user = i % (size_t) self->n_users;
    Flow__RsvpRequest rsvp = FLOW__RSVP_REQUEST__INIT;
    rsvp.event_id = (char *) (self->events ? self->events[i].id : self->hot);
    rsvp.state = self->events || (i / (size_t) self->n_users) % 2 == 0
                 ? FLOW__RSVP_STATE__RSVP_GOING : FLOW__RSVP_STATE__RSVP_INTERESTED;
    Flow__Request req = FLOW__REQUEST__INIT;
    req.body_case = FLOW__REQUEST__BODY_RSVP;
    req.rsvp = &rsvp;
    return s_pack_request(&req, i, self->tokens[user], buf);
}

static int
s_take_rsvp(void *ctx, size_t i, const Flow__Reply *reply)
{
    (void) ctx;
    (void) i;
    return reply->body_case == FLOW__REPLY__BODY_RSVP ? 0 : -1;
}

/*  ------------------------------------------------------------------
 *  Redis  */

#ifdef FL_BENCH_HIREDIS
typedef struct {
    pid_t pid;
    redisContext *ctx;
} s_redis_t;

/*  A port free on 127.0.0.1 a moment ago, or 0.  */
static int
s_free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in addr = { .sin_family = AF_INET };
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof addr;
    int port = 0;
    if (fd >= 0 && bind(fd, (struct sockaddr *) &addr, sizeof addr) == 0
        && getsockname(fd, (struct sockaddr *) &addr, &len) == 0)
        port = ntohs(addr.sin_port);
    if (fd >= 0)
        close(fd);
    return port;
}

/*  Starts redis-server without persistence and connects; on failure
 *  prints why and returns -1 (the caller skips Redis).  */
static int
s_redis_start(s_redis_t *redis)
{
    int port = s_free_port();
    if (port == 0) {
        printf("redis: skipped, no free loopback port\n");
        return -1;
    }
    char port_s[16];
    snprintf(port_s, sizeof port_s, "%d", port);
    redis->pid = fork();
    if (redis->pid == 0) {
        int null = open("/dev/null", O_WRONLY);
        dup2(null, STDOUT_FILENO);
        dup2(null, STDERR_FILENO);
        execlp("redis-server", "redis-server", "--port", port_s, "--bind", "127.0.0.1",
               "--save", "", "--appendonly", "no", (char *) NULL);
        _exit(127);
    }
    for (int i = 0; i < 250 && !redis->ctx; i++) {
        int status;
        if (waitpid(redis->pid, &status, WNOHANG) == redis->pid) {
            redis->pid = 0;
            printf("redis: skipped, redis-server %s (exit %d)\n",
                   WIFEXITED(status) && WEXITSTATUS(status) == 127 ? "is not installed"
                                                                    : "did not start",
                   WIFEXITED(status) ? WEXITSTATUS(status) : -1);
            return -1;
        }
        redisContext *ctx = redisConnect("127.0.0.1", port);
        redisReply *pong = ctx && !ctx->err ? redisCommand(ctx, "PING") : NULL;
        if (pong && pong->type == REDIS_REPLY_STATUS)
            redis->ctx = ctx;
        else
            redisFree(ctx);
        freeReplyObject(pong);
        if (!redis->ctx)
            usleep(20000);
    }
    if (!redis->ctx)
        printf("redis: skipped, redis-server did not answer on port %d in 5 s\n", port);
    return redis->ctx ? 0 : -1;
}

static void
s_redis_stop(s_redis_t *redis)
{
    redisFree(redis->ctx);
    redis->ctx = NULL;
    if (redis->pid > 0) {
        kill(redis->pid, SIGTERM);
        waitpid(redis->pid, NULL, 0);
    }
    redis->pid = 0;
}

/*  The next pipelined reply; its element count into *HITS.  */
static int
s_redis_reply(redisContext *ctx, size_t *hits)
{
    redisReply *reply = NULL;
    if (redisGetReply(ctx, (void **) &reply) != REDIS_OK || !reply
        || reply->type == REDIS_REPLY_ERROR) {
        fprintf(stderr, "bench_events: redis: %s\n",
                reply ? reply->str : ctx->errstr);
        freeReplyObject(reply);
        return -1;
    }
    if (hits && reply->type == REDIS_REPLY_ARRAY)
        *hits += reply->elements;
    freeReplyObject(reply);
    return 0;
}

/*  GEOADDs every event, pipelined CREATE_WINDOW at a time.  */
static int
s_redis_load(redisContext *ctx, const fl_world_event_t *events, uint32_t n)
{
    fl_bench_t *bench = NULL;
    fl_bench_new("redis GEOADD, 64 in flight", &bench);
    uint64_t sent_at[WINDOW_MAX];
    uint32_t sent = 0, got = 0;
    int rc = 0;
    fl_bench_start(bench);
    while (got < n && rc == 0) {
        for (; sent < n && sent - got < CREATE_WINDOW; sent++) {
            sent_at[sent % WINDOW_MAX] = fl_bench_now_us();
            redisAppendCommand(ctx, "GEOADD " REDIS_KEY " %.9f %.9f %u", events[sent].lon,
                               events[sent].lat, sent);
        }
        rc = s_redis_reply(ctx, NULL);
        if (rc == 0)
            fl_bench_record(bench, fl_bench_now_us() - sent_at[got % WINDOW_MAX]);
        got++;
    }
    fl_bench_stop(bench);
    if (rc == 0)
        fl_bench_report(bench, stdout);
    fl_bench_destroy(&bench);
    return rc;
}

/*  GEOSEARCHes up to COUNT unfiltered QUERIES with WINDOW in flight,
 *  none after RUN_MAX_US; the answered into *DONE, their hits into
 *  *HITS.  */
static int
s_redis_search(redisContext *ctx, const fl_world_query_t *queries, size_t count, int window,
               fl_bench_t *bench, size_t *done, size_t *hits)
{
    uint64_t sent_at[WINDOW_MAX];
    size_t sent = 0, got = 0;
    int rc = 0;
    *hits = 0;
    fl_bench_start(bench);
    uint64_t deadline = fl_bench_now_us() + RUN_MAX_US;
    while (rc == 0) {
        bool open = fl_bench_now_us() < deadline;
        for (; open && sent < count && sent - got < (size_t) window; sent++) {
            const fl_world_query_t *q = &queries[sent];
            sent_at[sent % WINDOW_MAX] = fl_bench_now_us();
            redisAppendCommand(ctx, "GEOSEARCH " REDIS_KEY " FROMLONLAT %.9f %.9f "
                               "BYRADIUS %u m ASC COUNT %d", q->lon, q->lat,
                               (unsigned) q->radius_m, LIMIT);
        }
        if (got == sent)
            break;
        rc = s_redis_reply(ctx, hits);
        if (rc == 0)
            fl_bench_record(bench, fl_bench_now_us() - sent_at[got % WINDOW_MAX]);
        got++;
    }
    fl_bench_stop(bench);
    *done = got;
    return rc;
}
#endif

/*  ------------------------------------------------------------------
 *  The runs  */

typedef struct {
    const char *name;
    uint32_t radius_m;
    bool filtered;
    int redis_kind;                 /* the unfiltered kind Redis answered */
} s_kind_t;

static const s_kind_t s_kinds[] = {
    { "2 km", 2000, false, 0 },
    { "10 km", 10000, false, 1 },
    { "10 km + category, next-7-days, text", 10000, true, 1 },
};

#define KINDS (sizeof s_kinds / sizeof s_kinds[0])

static const int s_windows[2] = { 1, QUERY_WINDOW };

typedef struct {
    fl_benchnode_t node;
    flow_t *flow;
    char token[600];
    fl_world_event_t *events;
    uint32_t n;
    s_match_t *matches;
    fl_world_query_t *queries[KINDS];
    bool redis_up;
    double redis_per_s[KINDS][2];
#ifdef FL_BENCH_HIREDIS
    s_redis_t redis;
#endif
} s_self_t;

/*  Creates the events; those not sent within CREATE_MAX_US are dropped
 *  from the run (reported).  */
static int
s_create_events(s_self_t *self)
{
    fl_bench_t *bench = NULL;
    fl_bench_new("create_event, 64 in flight", &bench);
    s_create_t ctx = { self->events, self->token, 0 };
    size_t done = 0;
    int rc = s_pipeline(self->flow, self->n, CREATE_WINDOW, CREATE_MAX_US, s_pack_create,
                        s_take_create, &ctx, bench, &done);
    if (rc == 0) {
        fl_bench_report(bench, stdout);
        if (done < self->n)
            printf("  only %zu of %" PRIu32 " events created in %llu s; the run uses those\n",
                   done, self->n, CREATE_MAX_US / 1000000);
        self->n = (uint32_t) done;
    }
    fl_bench_destroy(&bench);
    return rc;
}

#ifdef FL_BENCH_HIREDIS
static void
s_redis_setup(s_self_t *self)
{
    if (s_redis_start(&self->redis) != 0)
        return;
    self->redis_up = s_redis_load(self->redis.ctx, self->events, self->n) == 0;
    if (!self->redis_up)
        s_redis_stop(&self->redis);
}

static int
s_redis_kind(s_self_t *self, size_t k)
{
    int rc = 0;
    for (int w = 0; w < 2 && rc == 0; w++) {
        char name[128];
        snprintf(name, sizeof name, "nearby %s, redis GEOSEARCH, %d in flight",
                 s_kinds[k].name, s_windows[w]);
        fl_bench_t *bench = NULL;
        fl_bench_new(name, &bench);
        size_t done = 0, hits = 0;
        rc = s_redis_search(self->redis.ctx, self->queries[k], QUERIES, s_windows[w], bench,
                            &done, &hits);
        if (rc == 0) {
            fl_bench_report(bench, stdout);
            printf("  %.1f hits per query\n", (double) hits / (double) (done ? done : 1));
            self->redis_per_s[k][w] = fl_bench_ops_per_s(bench);
        }
        fl_bench_destroy(&bench);
    }
    return rc;
}
#else
static void
s_redis_setup(s_self_t *self)
{
    (void) self;
    printf("redis: skipped, bench_events was built without hiredis (libhiredis-dev)\n");
}

static int
s_redis_kind(s_self_t *self, size_t k)
{
    (void) self;
    (void) k;
    return 0;
}
#endif

static double
s_scan_kind(s_self_t *self, size_t k)
{
    char name[128];
    snprintf(name, sizeof name, "nearby %s, scan", s_kinds[k].name);
    fl_bench_t *bench = NULL;
    fl_bench_new(name, &bench);
    size_t hits = 0;
    fl_bench_start(bench);
    for (size_t i = 0; i < SCAN_QUERIES; i++) {
        uint64_t t0 = fl_bench_now_us();
        hits += s_scan(self->events, self->n, &self->queries[k][i], self->matches);
        fl_bench_record(bench, fl_bench_now_us() - t0);
    }
    fl_bench_stop(bench);
    fl_bench_report(bench, stdout);
    printf("  %.1f hits per query (first %d queries)\n", (double) hits / SCAN_QUERIES,
           SCAN_QUERIES);
    double per_s = fl_bench_ops_per_s(bench);
    fl_bench_destroy(&bench);
    return per_s;
}

/*  One kind of query: the scan, Redis (unfiltered kinds) and Flow at 1
 *  and QUERY_WINDOW in flight, whole events and summaries, and Flow's
 *  ratios to both.  */
static int
s_run_kind(s_self_t *self, size_t k)
{
    const s_kind_t *kind = &s_kinds[k];
    double scan_per_s = s_scan_kind(self, k);
    int rc = self->redis_up && !kind->filtered ? s_redis_kind(self, k) : 0;
    for (int run = 0; run < 4 && rc == 0; run++) {
        int w = run % 2;
        bool summary = run >= 2;
        char name[160];
        snprintf(name, sizeof name, "nearby %s, flow%s, %d in flight", kind->name,
                 summary ? " summary view" : "", s_windows[w]);
        fl_bench_t *bench = NULL;
        fl_bench_new(name, &bench);
        s_nearby_t ctx = { self->queries[k], self->token,
                           summary ? FLOW__NEARBY_VIEW__VIEW_SUMMARY : FLOW__NEARBY_VIEW__VIEW_FULL,
                           0 };
        size_t done = 0;
        rc = s_pipeline(self->flow, QUERIES, s_windows[w], RUN_MAX_US, s_pack_nearby,
                        s_take_nearby, &ctx, bench, &done);
        if (rc == 0) {
            double per_s = fl_bench_ops_per_s(bench);
            fl_bench_report(bench, stdout);
            printf("  %.1f hits per query\n", (double) ctx.hits / (double) (done ? done : 1));
            const char *view = summary ? ", summary view" : "";
            printf("ratio flow/scan throughput (%s%s, %d in flight): %.1f\n", kind->name, view,
                   s_windows[w], per_s / scan_per_s);
            if (self->redis_up)
                printf("ratio flow/redis throughput (%s%s, %d in flight%s): %.2f\n", kind->name,
                       view, s_windows[w], kind->filtered ? ", redis unfiltered 10 km" : "",
                       per_s / self->redis_per_s[kind->redis_kind][w]);
        }
        fl_bench_destroy(&bench);
    }
    return rc;
}

/*  RSVP throughput: N_USERS users on one hot event, then one RSVP per
 *  event on many events.  */
static int
s_run_rsvps(s_self_t *self)
{
    static char tokens[N_USERS][600];
    int rc = 0;
    for (int u = 0; u < N_USERS && rc == 0; u++)
        rc = s_sign_up(self->flow, u + 1, tokens[u], sizeof tokens[u]);
    fl_world_event_t hot = { .lat = fl_world_cities[0].lat, .lon = fl_world_cities[0].lon,
                             .category = 1, .start_s = s_now_s + DAY_S,
                             .end_s = s_now_s + DAY_S + 3600,
                             .city = 0, .title = "Hot Opening Night" };
    s_create_t create = { &hot, self->token, 1000000 };
    fl_bench_t *bench = NULL;
    size_t done = 0;
    if (rc == 0) {
        fl_bench_new("create hot event", &bench);
        rc = s_pipeline(self->flow, 1, 1, RUN_MAX_US, s_pack_create, s_take_create, &create,
                        bench, &done);
        fl_bench_destroy(&bench);
    }
    if (rc == 0) {
        fl_bench_new("rsvp hot event (200 users, going/interested), 64 in flight", &bench);
        s_rsvp_t ctx = { NULL, hot.id, tokens, N_USERS };
        rc = s_pipeline(self->flow, HOT_RSVPS, WINDOW_MAX, RUN_MAX_US, s_pack_rsvp,
                        s_take_rsvp, &ctx, bench, &done);
        if (rc == 0)
            fl_bench_report(bench, stdout);
        fl_bench_destroy(&bench);
    }
    if (rc == 0) {
        fl_bench_new("rsvp going, one per event across many events, 64 in flight", &bench);
        s_rsvp_t ctx = { self->events, NULL, tokens, N_USERS };
        rc = s_pipeline(self->flow, self->n < SPREAD_RSVPS ? self->n : SPREAD_RSVPS,
                        WINDOW_MAX, RUN_MAX_US, s_pack_rsvp, s_take_rsvp, &ctx, bench, &done);
        if (rc == 0)
            fl_bench_report(bench, stdout);
        fl_bench_destroy(&bench);
    }
    free(hot.id);
    return rc;
}

static int
s_parse(int argc, char **argv, const char **flowd, uint32_t *n)
{
    *flowd = getenv("FLOWD");
    *n = DEFAULT_EVENTS;
    for (int i = 1; i < argc; i += 2) {
        char *end = NULL;
        if (i + 1 == argc)
            return -1;
        if (streq(argv[i], "--flowd"))
            *flowd = argv[i + 1];
        else
        if (streq(argv[i], "--events")) {
            unsigned long v = strtoul(argv[i + 1], &end, 10);
            if (*end != '\0' || v == 0 || v > MAX_EVENTS)
                return -1;
            *n = (uint32_t) v;
        }
        else
            return -1;
    }
    return *flowd ? 0 : -1;
}

/*  Generates the events and the queries of every kind, from fixed seeds
 *  so Flow, Redis and the scan see the same.  */
static int
s_generate(s_self_t *self)
{
    self->events = calloc(self->n, sizeof *self->events);
    self->matches = calloc(self->n, sizeof *self->matches);
    if (!self->events || !self->matches)
        return -1;
    fl_world_seed(&s_world, FL_WORLD_SEED);
    for (uint32_t i = 0; i < self->n; i++)
        fl_world_make_event(&s_world, s_now_s + 3600, &self->events[i]);
    for (size_t k = 0; k < KINDS; k++) {
        self->queries[k] = calloc(QUERIES, sizeof *self->queries[k]);
        if (!self->queries[k])
            return -1;
        fl_world_seed(&s_world, 0xC0FFEEULL + k);
        for (size_t i = 0; i < QUERIES; i++)
            fl_world_make_query(&s_world, s_kinds[k].radius_m, s_kinds[k].filtered, s_now_s,
                                &self->queries[k][i]);
    }
    return 0;
}

static void
s_cleanup(s_self_t *self, uint32_t generated)
{
    flow_destroy(&self->flow);
    fl_benchnode_stop(&self->node);
    fl_benchnode_remove(&self->node);
#ifdef FL_BENCH_HIREDIS
    s_redis_stop(&self->redis);
#endif
    for (uint32_t i = 0; self->events && i < generated; i++)
        free(self->events[i].id);
    free(self->events);
    free(self->matches);
    for (size_t k = 0; k < KINDS; k++)
        free(self->queries[k]);
}

int
main(int argc, char **argv)
{
    s_self_t self = { 0 };
    const char *flowd;
    if (s_parse(argc, argv, &flowd, &self.n) != 0) {
        fprintf(stderr, "usage: bench_events --flowd PATH [--events N]\n");
        return 2;
    }
    zsys_handler_set(NULL);
    s_now_s = (int64_t) time(NULL);
    uint32_t generated = self.n;
    int rc = s_generate(&self);
    if (rc != 0)
        fprintf(stderr, "bench_events: out of memory\n");
    printf("%" PRIu32 " events spread like cities, nearby limit %d by distance\n", self.n,
           LIMIT);
    static const char *const flags[] = {
        "--rate-requests-per-s", "10000000", "--rate-auth-per-min", "1000000",
        "--map-size-mb", "1024", NULL,
    };
    if (rc == 0 && fl_benchnode_start(&self.node, flowd, flags) != 0) {
        fprintf(stderr, "bench_events: flowd did not start\n");
        rc = -1;
    }
    if (rc == 0) {
        self.flow = flow_new(self.node.client);
        rc = self.flow ? s_sign_up(self.flow, 0, self.token, sizeof self.token) : -1;
    }
    if (rc == 0)
        rc = s_create_events(&self);
    if (rc == 0)
        s_redis_setup(&self);
    for (size_t k = 0; k < KINDS && rc == 0; k++)
        rc = s_run_kind(&self, k);
    if (rc == 0)
        rc = s_run_rsvps(&self);
    s_cleanup(&self, generated);
    return rc == 0 ? 0 : 1;
}
