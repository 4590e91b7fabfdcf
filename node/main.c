/*  node/main.c — flowd: one Flow node.
 *
 *  main() is the supervisor.  It reads the settings, takes the data
 *  directory's lock, opens the store, learns (or makes) the node's
 *  identity, builds the ring snapshot, starts the worker pool, one actor
 *  per data actor type, the session actor and the control actor, then
 *  waits for SIGTERM/SIGINT or an admin's stop.
 *
 *  Shutdown order is the durability argument: the session first stops
 *  taking requests and waits (up to drain_timeout_ms) for those in flight;
 *  then each data actor answers what is in its inbox, commits and stops;
 *  only then is the store closed.  Signals are blocked in every thread and
 *  read here through a signalfd, so no handler ever runs inside an actor.
 */
#include "actors/session/session.h"
#include "actors/event/event.h"
#include "actors/geo/geo.h"
#include "actors/user/user.h"
#include "cluster/control.h"
#include "cluster/handoff.h"
#include "cluster/health.h"
#include "node/applied.h"
#include "cluster/keys.h"
#include "cluster/meta.h"
#include "cluster/peer.h"
#include "cluster/replica.h"
#include "node/actor.h"
#include "node/envelope.h"
#include "node/error.h"
#include "node/log.h"
#include "node/node.h"
#include "storage.pb-c.h"
#include "storage/codec.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <sodium.h>
#include <sys/file.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <unistd.h>

#define HOUSEKEEPING_MS 10000
#define APPLIED_SWEEP 4096            /* records of "applied" looked at per housekeeping */
#define JOIN_TIMEOUT_MS 60000
#define WORKER_QUEUE_MAX 1024

typedef struct {
    fl_config_t config;
    fl_node_t node;
    fl_keys_t keys;
    int lock_fd;
    int signal_fd;
    char endpoints_path[FL_CONFIG_STR_MAX + 32];
    fl_actor_args_t actor_args[FL_ACTOR_COUNT];
    zactor_t *actors[FL_ACTOR_COUNT];       /* [0]: the session */
    zactor_t *control;
    zactor_t *meta;
    zactor_t *peer;
    zactor_t *handoff;
    zactor_t *health;
    zactor_t *replica;
    fl_replica_args_t replica_args;
    fl_meta_args_t meta_args;
    fl_peer_args_t peer_args;
    fl_handoff_args_t handoff_args;
    Flow__Cluster__ClusterMeta *joined_meta;    /* the join reply's, until the handoff starts */
    pthread_rwlock_t ring_lock;
    bool joined;
    char holder[FL_NODE_ID_MAX];            /* data directories of before handoff: who holds all */
    uint64_t created_ms;
} s_flowd_t;

static int
s_mkdirs(const char *path)
{
    char buf[FL_CONFIG_STR_MAX];
    snprintf(buf, sizeof buf, "%s", path);
    for (char *p = buf + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(buf, 0700) != 0 && errno != EEXIST)
            return -errno;
        *p = '/';
    }
    if (mkdir(buf, 0700) != 0 && errno != EEXIST)
        return -errno;
    return 0;
}

/*  One flowd per data directory: two nodes sharing an identity and an
 *  LMDB environment would corrupt each other's view of the cluster.  */
static int
s_lock(s_flowd_t *f)
{
    char path[FL_CONFIG_STR_MAX + 16];
    snprintf(path, sizeof path, "%s/LOCK", f->config.data_dir);
    f->lock_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (f->lock_fd < 0) {
        fl_error("node", "cannot open the lock file", "path=%s error=\"%s\"", path, strerror(errno));
        return FL_E_IO;
    }
    if (flock(f->lock_fd, LOCK_EX | LOCK_NB) != 0) {
        fl_error("node", "data directory is in use by another flowd", "data=%s",
                 f->config.data_dir);
        return FL_E_LOCKED;
    }
    return 0;
}

typedef struct {
    MDB_dbi meta;
    const Flow__Storage__NodeMeta *record;
} s_meta_write_t;

static int
s_put_meta(MDB_txn *txn, void *arg)
{
    s_meta_write_t *w = arg;
    MDB_val key = { 4, "node" };
    return fl_codec_put(txn, w->meta, &key, &w->record->base);
}

static int
s_write_identity(s_flowd_t *f, MDB_dbi meta)
{
    Flow__Storage__NodeMeta record = FLOW__STORAGE__NODE_META__INIT;
    record.record_version = 1;
    record.node_id = f->node.node_id;
    record.partitions = (uint32_t) f->config.partitions;
    record.created_ms = f->created_ms;
    record.raft_address = f->meta_args.raft_address;
    record.peer_endpoint = f->peer_args.endpoint;
    record.joined = f->joined;
    record.holder = f->holder;
    s_meta_write_t w = { meta, &record };
    return fl_store_write(f->node.store, s_put_meta, &w);
}

/*  Reads the node's identity, or makes it on the first start: its id,
 *  and the consensus address and peer endpoint, which other members
 *  record and so are chosen once (a * or 0 port resolved) and kept.  */
static int
s_identity(s_flowd_t *f)
{
    MDB_dbi meta;
    int rc = fl_store_dbi(f->node.store, "meta", &meta);
    if (rc)
        return rc;
    MDB_txn *txn = NULL;
    rc = fl_store_read_begin(f->node.store, &txn);
    if (rc)
        return rc;
    MDB_val key = { 4, "node" };
    ProtobufCMessage *msg = NULL;
    rc = fl_codec_get(txn, meta, &key, &flow__storage__node_meta__descriptor, &msg);
    fl_store_read_end(f->node.store, &txn);
    char *raft_address = f->meta_args.raft_address, *peer = f->peer_args.endpoint;
    if (rc == 0) {
        Flow__Storage__NodeMeta *nm = (Flow__Storage__NodeMeta *) msg;
        snprintf(f->node.node_id, sizeof f->node.node_id, "%s", nm->node_id);
        snprintf(raft_address, sizeof f->meta_args.raft_address, "%s", nm->raft_address);
        snprintf(peer, sizeof f->peer_args.endpoint, "%s", nm->peer_endpoint);
        f->joined = nm->joined;
        snprintf(f->holder, sizeof f->holder, "%s", nm->holder);
        f->created_ms = nm->created_ms;
        if (nm->partitions != f->config.partitions)
            fl_warn("node", "partition count is fixed by the data directory; setting ignored",
                    "partitions=%u setting=%" PRIu64, nm->partitions, f->config.partitions);
        f->config.partitions = nm->partitions;
        protobuf_c_message_free_unpacked(msg, NULL);
        return 0;
    }
    if (rc != FL_E_NOTFOUND)
        return rc;
    unsigned char raw[8];
    randombytes_buf(raw, sizeof raw);
    char hex[sizeof raw * 2 + 1];
    sodium_bin2hex(hex, sizeof hex, raw, sizeof raw);
    snprintf(f->node.node_id, sizeof f->node.node_id, "n%s", hex);
    f->created_ms = (uint64_t) zclock_time();
    rc = s_write_identity(f, meta);
    if (rc == 0)
        fl_info("node", "node identity", "node=%s partitions=%" PRIu64, f->node.node_id,
                f->config.partitions);
    return rc;
}

/*  The peer socket, bound now (a * port picked by the bind itself), and
 *  the consensus address: both are recorded by other members, so they are
 *  chosen at the first start, kept in the node's identity, and used as
 *  they are ever after.  The consensus address picks its free port just
 *  before the consensus binds it.  */
static int
s_fix_addresses(s_flowd_t *f)
{
    char *raft = f->meta_args.raft_address, *peer = f->peer_args.endpoint;
    bool fresh = !raft[0] || !peer[0];
    if (!peer[0])
        snprintf(peer, sizeof f->peer_args.endpoint, "%s", f->config.peer_endpoint);
    f->peer_args.node = &f->node;
    f->peer_args.keys = &f->keys;
    f->peer = fl_peer_new(&f->peer_args);
    if (!f->peer)
        return FL_E_IO;
    if (!raft[0] && fl_meta_resolve_address(f->config.raft_address, raft,
                                            sizeof f->meta_args.raft_address) != 0) {
        fl_error("node", "bad consensus address (host:port)", "raft=%s", f->config.raft_address);
        return FL_E_INVAL;
    }
    if (!fresh)
        return 0;
    MDB_dbi meta;
    int rc = fl_store_dbi(f->node.store, "meta", &meta);
    if (rc == 0)
        rc = s_write_identity(f, meta);
    if (rc == 0)
        fl_info("node", "cluster addresses fixed", "raft=%s peer=%s", raft, peer);
    return rc;
}

/*  Joins the cluster through --join with the credential of --join-key,
 *  before this node serves anything: on success the cluster's token key
 *  and join secret replace this node's own, and the node is marked as
 *  joined, so it never bootstraps a cluster of its own.  */
static int
s_join(s_flowd_t *f)
{
    if (!f->config.join_key[0]) {
        fl_error("node", "joining needs the join credential (--join-key FILE)", NULL);
        return FL_E_INVAL;
    }
    fl_join_credential_t credential;
    int rc = fl_keys_read_credential(f->config.join_key, &credential);
    if (rc)
        return rc;
    Flow__Cluster__Member me = FLOW__CLUSTER__MEMBER__INIT;
    me.node_id = f->node.node_id;
    me.raft_id = fl_meta_raft_id(f->node.node_id);
    me.raft_address = f->meta_args.raft_address;
    me.peer_endpoint = f->peer_args.endpoint;
    me.client_endpoint = (char *) f->meta_args.client_endpoint;
    me.public_key = (char *) zcert_public_txt(f->keys.node);
    Flow__Cluster__PeerReply *reply = NULL;
    char why[300] = "";
    fl_info("node", "joining the cluster", "through=%s", f->config.join);
    rc = fl_peer_join(f->config.join, &credential, f->keys.node, &me, JOIN_TIMEOUT_MS, &reply,
                      why, sizeof why);
    sodium_memzero(&credential, sizeof credential);
    if (rc) {
        fl_error("node", "join refused", "through=%s reason=\"%s\"", f->config.join, why);
        return rc;
    }
    const Flow__Cluster__JoinReply *join = reply->join;
    rc = fl_keys_adopt(&f->keys, join->cluster_key.data, join->secret.data);
    /*  The ring this node starts routing with, until its own metadata
     *  thread has caught up.  */
    if (join->meta && join->meta->partitions != f->config.partitions) {
        fl_info("node", "the cluster's partition count replaces this node's setting",
                "partitions=%u setting=%" PRIu64, join->meta->partitions, f->config.partitions);
        f->config.partitions = join->meta->partitions;
    }
    if (join->meta) {
        zframe_t *copy = fl_envelope_pack(&join->meta->base);
        f->joined_meta = copy ? flow__cluster__cluster_meta__unpack(NULL, zframe_size(copy),
                                                                     zframe_data(copy)) : NULL;
        zframe_destroy(&copy);
    }
    flow__cluster__peer_reply__free_unpacked(reply, NULL);
    MDB_dbi meta;
    if (rc == 0 && (rc = fl_store_dbi(f->node.store, "meta", &meta)) == 0) {
        f->joined = true;
        rc = s_write_identity(f, meta);
    }
    if (rc == 0)
        fl_info("node", "joined the cluster", "through=%s", f->config.join);
    return rc;
}

/*  DATA/flowd.endpoints tells tools and tests where this node listens
 *  (ports given as * are resolved); written whole, then renamed.  */
static int
s_write_endpoints(s_flowd_t *f)
{
    char tmp[sizeof f->endpoints_path + 8];
    snprintf(tmp, sizeof tmp, "%s.tmp", f->endpoints_path);
    FILE *out = fopen(tmp, "w");
    if (!out)
        return FL_E_IO;
    fprintf(out, "node=%s\nclient=%s\ncontrol=%s\npeer=%s\nraft=%s\npid=%d\n",
            f->node.node_id, f->node.client_endpoint, f->node.control_endpoint,
            f->peer_args.endpoint, f->meta_args.raft_address, (int) getpid());
    if (fclose(out) != 0 || rename(tmp, f->endpoints_path) != 0)
        return FL_E_IO;
    return 0;
}

static int
s_start_actors(s_flowd_t *f)
{
    for (int a = FLOW__ACTOR__ACTOR_USER; a <= FLOW__ACTOR__ACTOR_NOTIFY; a++) {
        fl_actor_args_t *args = &f->actor_args[a - 1];
        args->type = (Flow__Actor) a;
        args->endpoint = fl_actor_endpoint(args->type);
        args->node = &f->node;
        args->batch_max = f->config.batch_max;
        /*  The geo actor keeps its index in memory and runs its own loop. */
        f->actors[a - 1] = a == FLOW__ACTOR__ACTOR_GEO ? fl_geo_new(&f->node) : fl_actor_new(args);
        if (!f->actors[a - 1])
            return FL_E_IO;
    }
    f->actors[0] = fl_session_new(&f->node);
    if (!f->actors[0])
        return FL_E_IO;
    f->control = fl_control_new(&f->node, &f->keys);
    if (!f->control)
        return FL_E_IO;
    /*  The ring and the actors exist: other members' requests may come. */
    zstr_send(f->peer, "SERVE");
    return 0;
}

/*  The metadata thread, and this node's place in a cluster: the first
 *  start without --join creates a cluster of one (and its join
 *  credential); the first start with --join joins through that member.
 *  Later starts are members already and do neither.  */
static int
s_start_cluster(s_flowd_t *f)
{
    bool joining = f->config.join[0] && !f->joined;
    if (f->config.join[0] && f->joined)
        fl_info("node", "already a member; --join is ignored", "join=%s", f->config.join);
    int rc = s_fix_addresses(f);
    if (rc)
        return rc;
    fl_meta_args_t *m = &f->meta_args;
    m->node = &f->node;
    snprintf(m->raft_dir, sizeof m->raft_dir, "%s/raft", f->config.data_dir);
    m->public_key = zcert_public_txt(f->keys.node);
    m->peer_endpoint = f->peer_args.endpoint;
    m->partitions = (uint32_t) f->config.partitions;
    m->replicas = (uint32_t) f->config.replicas;
    m->bootstrap = !joining && !f->joined;
    m->client_endpoint = strchr(f->config.client_endpoint, '*') ? "" : f->config.client_endpoint;
    rc = s_mkdirs(m->raft_dir);
    if (rc == 0 && m->bootstrap && !f->keys.member)
        rc = fl_keys_create_cluster(&f->keys);
    if (rc)
        return rc;
    f->meta = fl_meta_new(m);
    if (!f->meta)
        return FL_E_IO;
    return joining ? s_join(f) : 0;
}

static int
s_start(s_flowd_t *f)
{
    f->node.config = &f->config;
    f->node.started_us = zclock_usecs();
    snprintf(f->node.client_endpoint, sizeof f->node.client_endpoint, "%s",
             f->config.client_endpoint);
    snprintf(f->node.control_endpoint, sizeof f->node.control_endpoint, "%s",
             f->config.control_endpoint);
    int rc = s_mkdirs(f->config.data_dir);
    if (rc) {
        fl_error("node", "cannot create the data directory", "data=%s error=\"%s\"",
                 f->config.data_dir, strerror(-rc));
        return rc;
    }
    if ((rc = s_lock(f)))
        return rc;
    /*  A node killed earlier may have left its endpoints file; nobody may
     *  read it as ours.  */
    snprintf(f->endpoints_path, sizeof f->endpoints_path, "%s/flowd.endpoints",
             f->config.data_dir);
    unlink(f->endpoints_path);
    fl_store_opts_t opts = { .map_size = f->config.map_size_mb << 20 };
    if ((rc = fl_store_open(f->config.data_dir, &opts, &f->node.store)))
        return rc;
    if ((rc = s_identity(f)))
        return rc;
    if ((rc = fl_user_init(f->node.store, f->config.pwhash_ops, f->config.pwhash_mem_kb))
        || (rc = fl_event_init(f->node.store))
        || (rc = fl_applied_init(f->node.store)))
        return rc;
    f->node.metrics = fl_metrics_new(fl_requests_names(), fl_requests_count(),
                                     fl_actor_names(), FL_ACTOR_COUNT);
    f->node.workers = fl_workers_new(f->config.workers, WORKER_QUEUE_MAX);
    if (!f->node.metrics || !f->node.workers)
        return FL_E_NOMEM;
    if ((rc = fl_keys_load(f->config.data_dir, &f->keys)))
        return rc;
    f->node.cluster_key = f->keys.cluster;
    f->node.peer_key = f->keys.peer;
    f->node.cert = f->keys.node;
    if ((rc = s_start_cluster(f)))
        return rc;
    pthread_rwlock_init(&f->ring_lock, NULL);
    f->node.ring_lock = &f->ring_lock;
    f->node.lease_partitions = (uint32_t) f->config.partitions;
    f->node.lease_until = calloc(f->node.lease_partitions, sizeof *f->node.lease_until);
    if (!f->node.lease_until)
        return FL_E_NOMEM;
    f->handoff_args = (fl_handoff_args_t) { .node = &f->node, .keys = &f->keys,
                                            .initial = f->joined_meta, .holder = f->holder,
                                            .member = f->joined };
    f->handoff = fl_handoff_new(&f->handoff_args);
    if (f->joined_meta)
        flow__cluster__cluster_meta__free_unpacked(f->joined_meta, NULL);
    f->joined_meta = NULL;
    if (!f->handoff)
        return FL_E_IO;
    f->health = fl_health_new(&f->node);
    if (!f->health)
        return FL_E_IO;
    f->replica_args = (fl_replica_args_t) { .node = &f->node };
    f->replica = fl_replica_new(&f->replica_args);
    if (!f->replica)
        return FL_E_IO;
    if ((rc = s_start_actors(f)))
        return rc;
    return s_write_endpoints(f);
}

/*  Stops taking requests and waits for those in flight, then stops every
 *  actor: the session first, the store last.  */
static void
s_stop(s_flowd_t *f)
{
    if (f->control)
        zstr_send(f->control, "DRAINING");
    if (f->actors[0]) {
        zstr_send(f->actors[0], "DRAIN");
        zsock_set_rcvtimeo(f->actors[0], (int) f->config.drain_timeout_ms);
        char *answer = zstr_recv(f->actors[0]);
        /*  zactor_destroy waits on this pipe too, and must wait for good. */
        zsock_set_rcvtimeo(f->actors[0], -1);
        if (!answer)
            fl_warn("node", "drain timed out; refusing requests still in flight",
                    "timeout_ms=%" PRIu64, f->config.drain_timeout_ms);
        zstr_free(&answer);
    }
    for (size_t a = 0; a < FL_ACTOR_COUNT; a++)
        zactor_destroy(&f->actors[a]);
    zactor_destroy(&f->control);
    zactor_destroy(&f->replica);
    zactor_destroy(&f->peer);
    zactor_destroy(&f->health);
    zactor_destroy(&f->handoff);
    zactor_destroy(&f->meta);
    fl_workers_destroy(&f->node.workers);
    if (f->endpoints_path[0])
        unlink(f->endpoints_path);
    fl_store_destroy(&f->node.store);
    fl_keys_release(&f->keys);
    fl_metrics_destroy(&f->node.metrics);
    free((void *) f->node.lease_until);
    f->node.lease_until = NULL;
    fl_ring_t *ring = (fl_ring_t *) fl_node_ring(&f->node);
    fl_ring_destroy(&ring);
    if (f->node.ring_lock)
        pthread_rwlock_destroy(f->node.ring_lock);
    if (f->lock_fd >= 0)
        close(f->lock_fd);
}

/*  Forgets the replies of writes applied more than FL_APPLIED_KEEP_MS
 *  ago, a bounded part of them at each housekeeping.  */
static void
s_expire_applied(s_flowd_t *f)
{
    size_t deleted = 0;
    int rc = fl_applied_expire(f->node.store, (uint64_t) zclock_time() - FL_APPLIED_KEEP_MS,
                               APPLIED_SWEEP, &deleted);
    if (rc)
        fl_warn("node", "cannot forget the replies of old writes", "error=%s", fl_err_name(rc));
    else
    if (deleted)
        fl_debug("node", "forgot the replies of old writes", "count=%zu", deleted);
}

/*  Waits for a signal or an admin's stop, doing housekeeping meanwhile.  */
static void
s_serve(s_flowd_t *f)
{
    zmq_pollitem_t items[] = {
        { NULL, f->signal_fd, ZMQ_POLLIN, 0 },
        { zsock_resolve(f->control), 0, ZMQ_POLLIN, 0 },
        { zsock_resolve(f->handoff), 0, ZMQ_POLLIN, 0 },
    };
    while (true) {
        int rc = zmq_poll(items, 3, HOUSEKEEPING_MS);
        if (rc < 0 && zmq_errno() != EINTR) {
            fl_error("node", "stopping: cannot wait for signals", "error=\"%s\"",
                     zmq_strerror(zmq_errno()));
            return;
        }
        if (items[0].revents & ZMQ_POLLIN) {
            struct signalfd_siginfo info;
            if (read(f->signal_fd, &info, sizeof info) == (ssize_t) sizeof info)
                fl_info("node", "stopping", "signal=%s", strsignal((int) info.ssi_signo));
            return;
        }
        if (items[1].revents & ZMQ_POLLIN) {
            char *command = zstr_recv(f->control);
            bool stop = command && streq(command, "STOP");
            zstr_free(&command);
            if (stop) {
                fl_info("node", "stopping", "reason=admin");
                return;
            }
        }
        if (items[2].revents & ZMQ_POLLIN) {
            char *command = zstr_recv(f->handoff);
            bool stop = command && streq(command, "STOP");
            zstr_free(&command);
            if (stop) {
                fl_info("node", "stopping", "reason=\"left the cluster\"");
                return;
            }
        }
        if (rc == 0) {
            fl_store_housekeeping(f->node.store);
            s_expire_applied(f);
        }
    }
}

static int
s_block_signals(s_flowd_t *f)
{
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    if (pthread_sigmask(SIG_BLOCK, &set, NULL) != 0)
        return FL_E_IO;
    signal(SIGPIPE, SIG_IGN);
    f->signal_fd = signalfd(-1, &set, SFD_CLOEXEC);
    return f->signal_fd < 0 ? FL_E_IO : 0;
}

int
main(int argc, char **argv)
{
    static s_flowd_t f = { .lock_fd = -1, .signal_fd = -1 };
    char err[512];
    fl_config_action_t action;
    if (fl_config_load(&f.config, argc, argv, &action, err, sizeof err) != 0) {
        fprintf(stderr, "flowd: %s\n", err);
        return 2;
    }
    if (action != FL_CONFIG_RUN)
        return 0;

    fl_log_level_t level;
    if (fl_log_level_parse(f.config.log_level, &level) != 0) {
        fprintf(stderr, "flowd: log/level must be debug, info, warn or error, not \"%s\"\n",
                f.config.log_level);
        return 2;
    }
    fl_log_set_level(level);
    if (f.config.log_file[0] && fl_log_open(f.config.log_file) != 0) {
        fprintf(stderr, "flowd: cannot open log file %s: %s\n", f.config.log_file,
                strerror(errno));
        return 2;
    }
    /*  CZMQ must not install its own SIGINT/SIGTERM handlers: signals are
     *  read from the signalfd below.  */
    zsys_handler_set(NULL);
    if (sodium_init() < 0 || s_block_signals(&f) != 0) {
        fprintf(stderr, "flowd: cannot initialise signals or libsodium\n");
        return 1;
    }
    int rc = s_start(&f);
    if (rc == 0) {
        fl_info("node", "node ready", "node=%s version=%s data=%s client=%s control=%s",
                f.node.node_id, FLOW_VERSION, f.config.data_dir, f.node.client_endpoint,
                f.node.control_endpoint);
        s_serve(&f);
    }
    else
        fl_error("node", "node cannot start", "error=%s reason=\"%s\"", fl_err_name(rc),
                 fl_strerror(rc));
    s_stop(&f);
    close(f.signal_fd);
    fl_info("node", "stopped", "node=%s", f.node.node_id);
    return rc == 0 ? 0 : 1;
}
