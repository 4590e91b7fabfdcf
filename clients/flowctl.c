/*  clients/flowctl.c — `flowctl`, the admin command line of a Flow node.
 *
 *      flowctl [--control EP] [--key FILE] [--server-key FILE] [--json]
 *              [--timeout MS] COMMAND [ARGS]
 *
 *  Commands: status, metrics, stop, user role EMAIL ROLE, user show EMAIL,
 *  import FILE.  Each is a row of s_commands: its words, its arguments,
 *  the request body it sends and the reply body it expects, and how to
 *  print that.  import is the one command of many requests: it parses a
 *  feed here (clients/import.c) and sends one upsert per entry on one
 *  connection (docs/import.md).
 *
 *  Talks to the node's control socket (proto/control.proto): a DEALER
 *  with the admin's CURVE keypair, sending one ControlRequest per frame
 *  and taking the ControlReply with the same id.  One request per run, so
 *  no retries: a request that is not answered in time ends the run.
 *
 *  CURVE fails silently: a wrong server key or a key the node does not
 *  allow makes the handshake fail and nothing ever arrives.  So every
 *  timeout says "the node did not answer" and points at the endpoint and
 *  the keys, the only causes flowctl cannot tell apart.
 *
 *  Output contract, as for `flow` and kept by the same helpers
 *  (clients/cli.h): results on stdout (text, or with --json the reply
 *  body as one line of JSON); a failure prints exactly one line
 *  "flowctl: <STATUS_NAME>: <message>" on stderr and exits 1 (2 for a
 *  usage error).
 */
#include "clients/cli.h"
#include "clients/fetch.h"
#include "clients/import.h"
#include "clients/libflow.h"
#include "control.pb-c.h"

#include <assert.h>
#include <czmq.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S_DEFAULT_CONTROL "tcp://127.0.0.1:7702"
#define S_DEFAULT_KEY "./var/flow/keys/admin.cert_secret"
#define FEED_PATH_MAX 4096
#define FEED_MAX_BYTES (64u << 20)      /* a feed fetched by URL */

typedef struct {
    const char *endpoint;
    const char *key_file;
    const char *server_key_file;
    bool json;
    bool help;
    int timeout_ms;
    const char *format;         /* import: ics or jsonl; NULL: by extension */
    const char *platform;       /* import: NULL: the file's name */
    int horizon_days;
    bool has_geo;
    double lat, lon;
    uint32_t partitions[16];    /* cluster ring: preference lists wanted */
    size_t n_partitions;
} s_options_t;

typedef int (s_command_fn)(const s_options_t *options, Flow__Control__ControlReply *reply);

/*  A command: its name (one word, or "noun verb"), its arguments, its
 *  request body, the reply body it expects and how to print that reply.  */
typedef struct {
    const char *name;
    const char *args;           /*  usage of the arguments, "" for none  */
    int n_args;
    Flow__Control__ControlRequest__BodyCase body;
    Flow__Control__ControlReply__BodyCase reply_body;
    s_command_fn *print;
    const char *help;
} s_command_t;

/*  ---------------------------------------------------------------------
 *  Printing
 */

static void
s_print_status(const Flow__Control__StatusReply *st)
{
    char uptime[32];
    printf("%-12s %s\n", "node", st->node_id);
    printf("%-12s %s\n", "version", st->version);
    printf("%-12s %s\n", "uptime", fl_cli_uptime(st->uptime_ms, uptime, sizeof uptime));
    printf("%-12s %s\n", "state", st->state);
    printf("%-12s %" PRIu32 " of %" PRIu32 " owned\n", "partitions",
           st->partitions_owned, st->partitions);
    printf("%-12s %" PRIu64 "\n", "ring epoch", st->ring_epoch);
    printf("%-12s %s\n", "client", st->client_endpoint);
    printf("%-12s %s\n", "control", st->control_endpoint);
    printf("%-12s %" PRIu64 "\n", "connections", st->connections);
    printf("\n%-12s %12s %12s %12s\n", "ACTOR", "QUEUE", "HANDLED", "COMMITS");
    for (size_t i = 0; i < st->n_actors; i++) {
        const Flow__Control__ActorStatus *a = st->actors[i];
        char name[32];
        printf("%-12s %12" PRIu64 " %12" PRIu64 " %12" PRIu64 "\n",
               fl_cli_actor_name(a->actor, name, sizeof name), a->queue_depth, a->handled,
               a->commits);
    }
    printf("\n%-12s %12s %12s\n", "REQUEST", "COUNT", "ERRORS");
    for (size_t i = 0; i < st->n_requests; i++) {
        const Flow__Control__RequestStats *r = st->requests[i];
        printf("%-12s %12" PRIu64 " %12" PRIu64 "\n", r->type, r->count, r->errors);
    }
}

static int
s_cmd_status(const s_options_t *options, Flow__Control__ControlReply *reply)
{
    if (options->json)
        return fl_cli_print_json(&reply->node_status->base);
    s_print_status(reply->node_status);
    return 0;
}

static int
s_cmd_metrics(const s_options_t *options, Flow__Control__ControlReply *reply)
{
    if (options->json)
        return fl_cli_print_json(&reply->metrics->base);
    fputs(reply->metrics->text, stdout);
    return 0;
}

static int
s_cmd_stop(const s_options_t *options, Flow__Control__ControlReply *reply)
{
    if (options->json)
        return fl_cli_print_json(&reply->stop->base);
    printf("the node at %s is stopping\n", options->endpoint);
    return 0;
}

static int
s_cmd_account(const s_options_t *options, Flow__Control__ControlReply *reply)
{
    const Flow__AccountReply *account = reply->account;
    if (options->json)
        return fl_cli_print_json(&account->base);
    char role[32], created[32];
    printf("%-12s %s\n", "user id", account->user_id);
    printf("%-12s %s\n", "email", account->email);
    printf("%-12s %s\n", "name", account->display_name);
    printf("%-12s %s\n", "role",
           fl_cli_enum_name(&flow__role__descriptor, "ROLE_", (int) account->role, role,
                            sizeof role));
    printf("%-12s %s\n", "created", fl_cli_time(account->created_s, created, sizeof created));
    printf("%-12s %" PRIu32 "\n", "sessions", account->sessions);
    return 0;
}

static const char *
s_member_state(Flow__Cluster__MemberState state)
{
    switch (state) {
    case FLOW__CLUSTER__MEMBER_STATE__MEMBER_JOINING: return "joining";
    case FLOW__CLUSTER__MEMBER_STATE__MEMBER_UP:      return "up";
    case FLOW__CLUSTER__MEMBER_STATE__MEMBER_LEAVING: return "leaving";
    case FLOW__CLUSTER__MEMBER_STATE__MEMBER_DOWN:    return "down";
    case FLOW__CLUSTER__MEMBER_STATE__MEMBER_LOST:    return "lost";
    default:                                          return "?";
    }
}

static const char *
s_consensus_role(const Flow__Cluster__ClusterStatus *st, const char *node_id)
{
    for (size_t i = 0; i < st->n_voters; i++)
        if (strcmp(st->voters[i], node_id) == 0)
            return "voter";
    for (size_t i = 0; i < st->n_standbys; i++)
        if (strcmp(st->standbys[i], node_id) == 0)
            return "standby";
    return "-";
}

/*  What the answering node says of the copies it keeps and sends.  */
static void
s_print_replication(const Flow__Cluster__ReplicaStatus *r)
{
    if (!r)
        return;
    printf("%-12s primary of %" PRIu32 " partitions with replicas: %" PRIu32 " lagging, %" PRIu32
           " under-replicated\n", "replication", r->primary, r->lagging, r->under_replicated);
    printf("%-12s replica of %" PRIu32 " partitions (%" PRIu32 " being copied); entries sent %"
           PRIu64 ", applied %" PRIu64 "\n", "", r->replica, r->syncing, r->entries_sent,
           r->entries_applied);
    for (size_t i = 0; i < r->n_lags; i++)
        printf("%-12s %s is behind on %" PRIu32 " partitions (%" PRIu64 " entries)\n", "lagging",
               r->lags[i]->node_id, r->lags[i]->partitions, r->lags[i]->entries);
}

static int
s_cmd_cluster_status(const s_options_t *options, Flow__Control__ControlReply *reply)
{
    const Flow__Cluster__ClusterStatus *st = reply->cluster;
    if (options->json)
        return fl_cli_print_json(&st->base);
    const Flow__Cluster__ClusterMeta *meta = st->meta;
    printf("%-12s %s\n", "node", st->node_id);
    printf("%-12s %s\n", "consensus", st->consensus_state);
    printf("%-12s %s\n", "leader", st->leader_id[0] ? st->leader_id : "(none known)");
    printf("%-12s %" PRIu64 " (applied %" PRIu64 ")\n", "log index", st->last_index,
           st->applied_index);
    if (!meta) {
        printf("%-12s %s\n", "cluster", "(not created yet)");
        return 0;
    }
    printf("%-12s %s\n", "cluster", meta->cluster_id);
    printf("%-12s %" PRIu64 "\n", "epoch", meta->epoch);
    size_t copies = meta->replicas < meta->n_members ? meta->replicas : meta->n_members;
    if (copies > 1)
        printf("%-12s %" PRIu32 ", %zu copies each (a write is acknowledged once %zu hold it)\n",
               "partitions", meta->partitions, copies, copies / 2 + 1);
    else
        printf("%-12s %" PRIu32 ", one copy each\n", "partitions", meta->partitions);
    printf("%-12s %" PRIu32 "%s\n", "unavailable", st->unavailable_partitions,
           st->unavailable_partitions ? " (owned by members that are down, with no replica up)"
                                      : "");
    s_print_replication(st->replication);
    printf("\n%-20s %-8s %-8s %-22s %s\n", "MEMBER", "STATE", "ROLE", "CONSENSUS", "CLIENT");
    for (size_t i = 0; i < meta->n_members; i++) {
        const Flow__Cluster__Member *m = meta->members[i];
        printf("%-20s %-8s %-8s %-22s %s\n", m->node_id, s_member_state(m->state),
               s_consensus_role(st, m->node_id), m->raft_address, m->client_endpoint);
    }
    return 0;
}

static int
s_cmd_cluster_ring(const s_options_t *options, Flow__Control__ControlReply *reply)
{
    const Flow__Control__ClusterRing *ring = reply->ring;
    if (options->json)
        return fl_cli_print_json(&ring->base);
    printf("epoch %" PRIu64 ", %" PRIu32 " partitions, %" PRIu32 " owners each by placement\n\n",
           ring->epoch, ring->partitions, ring->replicas);
    printf("%-20s %8s %16s %16s\n", "NODE", "OWNS", "PLACED PRIMARY", "PLACED REPLICA");
    for (size_t i = 0; i < ring->n_nodes; i++) {
        const Flow__Control__NodePartitions *n = ring->nodes[i];
        printf("%-20s %8" PRIu32 " %16" PRIu32 " %16" PRIu32 "\n", n->node_id, n->owned,
               n->placed_primary, n->placed_replica);
    }
    for (size_t i = 0; i < ring->n_preferences; i++) {
        const Flow__Control__Preference *p = ring->preferences[i];
        printf("\npartition %" PRIu32 ": owned by %s; placed on", p->partition, p->owner);
        for (size_t k = 0; k < p->n_placed; k++)
            printf(" %s", p->placed[k]);
        printf("\n");
    }
    return 0;
}

/*  remove, leave: what the leader did (removed, or leaving first), then
 *  the cluster.  */
static int
s_cmd_cluster_remove(const s_options_t *options, Flow__Control__ControlReply *reply)
{
    if (!options->json && reply->message[0])
        printf("%s\n\n", reply->message);
    return s_cmd_cluster_status(options, reply);
}

static int
s_cmd_cluster_transfers(const s_options_t *options, Flow__Control__ControlReply *reply)
{
    const Flow__Cluster__HandoffReply *t = reply->transfers;
    if (options->json)
        return fl_cli_print_json(&t->base);
    printf("epoch %" PRIu64 ", %zu partition%s moving; this node has received %" PRIu64
           " (%" PRIu64 " bytes) since it started\n", t->epoch, t->n_transfers,
           t->n_transfers == 1 ? "" : "s", t->completed, t->bytes_moved);
    if (t->n_transfers == 0)
        return 0;
    printf("\n%9s  %-20s %-20s %-12s %-12s %12s %10s\n", "PARTITION", "FROM", "TO", "PHASE",
           "DATABASE", "BYTES", "RECORDS");
    for (size_t i = 0; i < t->n_transfers; i++) {
        const Flow__Cluster__TransferState *x = t->transfers[i];
        printf("%9" PRIu32 "  %-20s %-20s %-12s %-12s %12" PRIu64 " %10" PRIu64 "\n",
               x->partition, x->from, x->to, x->phase, x->db[0] ? x->db : "-", x->bytes,
               x->records);
    }
    return 0;
}

static int
s_cmd_cluster_digests(const s_options_t *options, Flow__Control__ControlReply *reply)
{
    const Flow__Control__ClusterDigests *d = reply->digests;
    if (options->json)
        return fl_cli_print_json(&d->base);
    printf("node %s, epoch %" PRIu64 ", %zu partitions kept here\n\n", d->node_id, d->epoch,
           d->n_partitions);
    printf("%9s  %-8s %10s  %s\n", "PARTITION", "ROLE", "RECORDS", "DIGEST");
    for (size_t i = 0; i < d->n_partitions; i++) {
        const Flow__Control__PartitionDigest *p = d->partitions[i];
        printf("%9" PRIu32 "  %-8s %10" PRIu64 "  %s\n", p->partition, p->role, p->records,
               p->digest);
    }
    return 0;
}

static const s_command_t s_commands[] = {
    { "cluster digests", "", 0, FLOW__CONTROL__CONTROL_REQUEST__BODY_CLUSTER_DIGESTS,
      FLOW__CONTROL__CONTROL_REPLY__BODY_DIGESTS, s_cmd_cluster_digests,
      "Shows the digest of every partition this node keeps a copy of, as its\n"
      "primary or as a replica, and how many records it holds: copies that\n"
      "are in step have equal digests (compare them across the members).\n"
      "Records of a partition it keeps no copy of show as extra until they\n"
      "are dropped.\n"
      "  --partition N   that partition only; repeatable (up to 16)\n" },
    { "cluster ring", "", 0, FLOW__CONTROL__CONTROL_REQUEST__BODY_CLUSTER_RING,
      FLOW__CONTROL__CONTROL_REPLY__BODY_RING, s_cmd_cluster_ring,
      "Shows who owns the partitions: per member how many it owns now, and\n"
      "how many the placement rule gives it over the current members, as\n"
      "primary and in preference lists (where handoff will move them).\n"
      "  --partition N   also that partition's owner and preference list;\n"
      "                  repeatable (up to 16)\n" },
    { "cluster remove", "NODE", 1, FLOW__CONTROL__CONTROL_REQUEST__BODY_CLUSTER_REMOVE,
      FLOW__CONTROL__CONTROL_REPLY__BODY_CLUSTER, s_cmd_cluster_remove,
      "Removes member NODE (a node id) from the cluster; any member passes\n"
      "this to the consensus leader.  A member that owns partitions leaves\n"
      "first: its partitions move to the other members, then it is removed\n"
      "and stops (follow with cluster transfers).  The last member that can\n"
      "hold partitions is refused.  Shows the cluster after.\n" },
    { "cluster leave", "", 0, FLOW__CONTROL__CONTROL_REQUEST__BODY_CLUSTER_REMOVE,
      FLOW__CONTROL__CONTROL_REPLY__BODY_CLUSTER, s_cmd_cluster_remove,
      "The node this control socket belongs to leaves the cluster: its\n"
      "partitions move to the other members, then it is removed and stops.\n"
      "Shows the cluster after the leave began.\n" },
    { "cluster transfers", "", 0, FLOW__CONTROL__CONTROL_REQUEST__BODY_CLUSTER_TRANSFERS,
      FLOW__CONTROL__CONTROL_REPLY__BODY_TRANSFERS, s_cmd_cluster_transfers,
      "Shows the partitions moving between nodes (from the cluster's\n"
      "metadata, the same on every member), and for those moving to this\n"
      "node the phase (waiting, copying, catching-up, fencing, final,\n"
      "flipping), the database being copied, and bytes and records received.\n"
      "No line: nothing is moving.  docs/cluster.md.\n" },
    { "cluster status", "", 0, FLOW__CONTROL__CONTROL_REQUEST__BODY_CLUSTER_STATUS,
      FLOW__CONTROL__CONTROL_REPLY__BODY_CLUSTER, s_cmd_cluster_status,
      "Shows the cluster's metadata as this node knows it, agreed by consensus.\n"
      "This node's consensus state (leader, follower, candidate) and the\n"
      "leader; the cluster id, its epoch, partitions and owners per partition;\n"
      "per member its state, consensus role (voter or standby), consensus\n"
      "address and client endpoint.  docs/cluster.md.\n" },
    { "status", "", 0, FLOW__CONTROL__CONTROL_REQUEST__BODY_STATUS,
      FLOW__CONTROL__CONTROL_REPLY__BODY_NODE_STATUS, s_cmd_status,
      "Shows the node's state and what it has handled.\n"
      "Node id, version, uptime, state, partitions owned, ring epoch and\n"
      "endpoints; per actor its queue depth, requests handled and commits;\n"
      "per request type its count and errors.\n" },
    { "metrics", "", 0, FLOW__CONTROL__CONTROL_REQUEST__BODY_METRICS,
      FLOW__CONTROL__CONTROL_REPLY__BODY_METRICS, s_cmd_metrics,
      "Prints the node's metrics in the Prometheus text format, verbatim.\n" },
    { "stop", "", 0, FLOW__CONTROL__CONTROL_REQUEST__BODY_STOP,
      FLOW__CONTROL__CONTROL_REPLY__BODY_STOP, s_cmd_stop,
      "Asks the node to stop; it drains its connections and exits.\n" },
    { "user role", "EMAIL ROLE", 2, FLOW__CONTROL__CONTROL_REQUEST__BODY_SET_ROLE,
      FLOW__CONTROL__CONTROL_REPLY__BODY_ACCOUNT, s_cmd_account,
      "Sets the role of the account of EMAIL.\n"
      "ROLE is user, organizer, moderator or admin.  Shows the account as it\n"
      "is now.\n" },
    { "import", "FILE|URL", 1, FLOW__CONTROL__CONTROL_REQUEST__BODY_UPSERT_EVENT,
      FLOW__CONTROL__CONTROL_REPLY__BODY_EVENT, NULL,
      "Imports the events of an iCalendar (.ics) or JSON-lines (.jsonl) feed,\n"
      "from a file or an http:// or https:// URL (at most 64 MiB, redirects\n"
      "followed up to 5 times, 10 s to connect, 120 s in all; HTTP 400 and up\n"
      "is an error).\n"
      "Each entry is created, or updated when it changed since the last\n"
      "import; entries are known by (platform, external id).  Problems are\n"
      "reported per entry on stderr and the entry is skipped; the summary\n"
      "goes to stdout.  Exits 1 when any entry was skipped.  docs/import.md.\n"
      "  --format ics|jsonl  the feed's format (default: by the extension, for\n"
      "                      a URL then by its Content-Type)\n"
      "  --platform NAME     source.platform (default: the file's name, or the\n"
      "                      URL's host)\n"
      "  --horizon-days N    how far ahead to expand recurrences (default: 90)\n"
      "  --lat X --lon Y     the place of entries that name none\n" },
    { "user show", "EMAIL", 1, FLOW__CONTROL__CONTROL_REQUEST__BODY_GET_ACCOUNT,
      FLOW__CONTROL__CONTROL_REPLY__BODY_ACCOUNT, s_cmd_account,
      "Shows the account of EMAIL.\n"
      "User id, email, name, role, when it was created and how many live\n"
      "sessions it has.\n" },
};

#define S_N_COMMANDS (sizeof s_commands / sizeof s_commands[0])

/*  The command named by the words at ARGV (one word, or "noun verb");
 *  *WORDS_P is how many words the name took.  */
static const s_command_t *
s_find_command(int argc, char **argv, int *words_p)
{
    for (size_t i = 0; i < S_N_COMMANDS; i++) {
        *words_p = fl_cli_command_words(s_commands[i].name, argc, argv);
        if (*words_p > 0)
            return &s_commands[i];
    }
    return NULL;
}

static bool
s_is_noun(const char *word)
{
    for (size_t i = 0; i < S_N_COMMANDS; i++) {
        if (fl_cli_command_has_noun(s_commands[i].name, word))
            return true;
    }
    return false;
}

/*  ---------------------------------------------------------------------
 *  The control socket
 */

static bool
s_all_zero(const byte *key)
{
    for (size_t i = 0; i < 32; i++) {
        if (key[i])
            return false;
    }
    return true;
}

/*  The admin keypair and the node's public key; errors are reported.  */
static int
s_load_keys(const s_options_t *options, zcert_t **client_p, zcert_t **server_p)
{
    *client_p = zcert_load(options->key_file);
    if (!*client_p || s_all_zero(zcert_secret_key(*client_p)))
        return fl_cli_fail(FL_CLI_EXIT_FAIL, FLOW_INVALID_ARGUMENT,
                           "cannot load a CURVE secret key from %s", options->key_file);
    *server_p = zcert_load(options->server_key_file);
    if (!*server_p || s_all_zero(zcert_public_key(*server_p)))
        return fl_cli_fail(FL_CLI_EXIT_FAIL, FLOW_INVALID_ARGUMENT,
                           "cannot load the node's CURVE public key from %s",
                           options->server_key_file);
    return 0;
}

static int
s_connect(const s_options_t *options, zsock_t **dealer_p)
{
    zcert_t *client = NULL;
    zcert_t *server = NULL;
    int rc = s_load_keys(options, &client, &server);
    if (rc == 0) {
        *dealer_p = zsock_new(ZMQ_DEALER);
        if (!*dealer_p)
            rc = fl_cli_fail(FL_CLI_EXIT_FAIL, FLOW_INTERNAL, "cannot create a socket");
    }
    if (rc == 0) {
        zsock_set_linger(*dealer_p, 0);
        zcert_apply(client, *dealer_p);
        zsock_set_curve_serverkey(*dealer_p, zcert_public_txt(server));
        if (zsock_connect(*dealer_p, "%s", options->endpoint) != 0)
            rc = fl_cli_fail(FL_CLI_EXIT_FAIL, FLOW_INVALID_ARGUMENT,
                             "cannot use control endpoint '%s'", options->endpoint);
    }
    zcert_destroy(&client);
    zcert_destroy(&server);
    return rc;
}

static int
s_send(zsock_t *dealer, const Flow__Control__ControlRequest *req)
{
    size_t size = flow__control__control_request__get_packed_size(req);
    zframe_t *frame = zframe_new(NULL, size);
    if (!frame)
        return fl_cli_fail(FL_CLI_EXIT_FAIL, FLOW_INTERNAL, "out of memory");
    flow__control__control_request__pack(req, zframe_data(frame));
    if (zframe_send(&frame, dealer, ZFRAME_DONTWAIT) != 0) {
        zframe_destroy(&frame);
        return fl_cli_fail(FL_CLI_EXIT_FAIL, FLOW_UNAVAILABLE, "cannot send: %s",
                           zmq_strerror(errno));
    }
    return 0;
}

static int
s_no_answer(const s_options_t *options)
{
    if (zsys_interrupted)
        return fl_cli_fail(FL_CLI_EXIT_FAIL, FLOW_UNAVAILABLE, "interrupted");
    return fl_cli_fail(FL_CLI_EXIT_FAIL, FLOW_DEADLINE_EXCEEDED,
                       "the node did not answer at %s within %d ms (check endpoint and keys)",
                       options->endpoint, options->timeout_ms);
}

/*  The reply to request ID if the next frame is one; frames that do not
 *  decode or answer another id are not ours.  */
static Flow__Control__ControlReply *
s_read_reply(zsock_t *dealer, uint64_t id)
{
    zframe_t *frame = zframe_recv(dealer);
    if (!frame)
        return NULL;
    Flow__Control__ControlReply *reply =
        flow__control__control_reply__unpack(NULL, zframe_size(frame), zframe_data(frame));
    zframe_destroy(&frame);
    if (reply && reply->id != id) {
        flow__control__control_reply__free_unpacked(reply, NULL);
        return NULL;
    }
    return reply;
}

static int
s_receive(const s_options_t *options, zsock_t *dealer, uint64_t id,
          Flow__Control__ControlReply **reply_p)
{
    int64_t deadline = zclock_mono() + options->timeout_ms;
    zpoller_t *poller = zpoller_new(dealer, NULL);
    int rc = 0;
    while (!*reply_p) {
        int64_t left = deadline - zclock_mono();
        if (left <= 0 || zsys_interrupted) {
            rc = s_no_answer(options);
            break;
        }
        if (zpoller_wait(poller, (int) left))
            *reply_p = s_read_reply(dealer, id);
    }
    zpoller_destroy(&poller);
    return rc;
}

static int
s_check_reply(const s_command_t *command, const Flow__Control__ControlReply *reply)
{
    int status = (int) reply->status;
    if (status < FLOW_OK || status > FLOW_INTERNAL)
        return fl_cli_fail(FL_CLI_EXIT_FAIL, FLOW_INTERNAL,
                           "the node replied with unknown status %d: %s", status, reply->message);
    if (status != FLOW_OK)
        return fl_cli_fail(FL_CLI_EXIT_FAIL, (flow_status_t) status, "%s",
                           reply->message[0] ? reply->message
                                             : flow_status_name((flow_status_t) status));
    if (reply->body_case != command->reply_body)
        return fl_cli_fail(FL_CLI_EXIT_FAIL, FLOW_INTERNAL,
                           "the node answered %s without its reply body", command->name);
    return 0;
}

/*  Every body a request may carry; the command's one is linked in.  */
typedef struct {
    Flow__Control__StatusRequest status;
    Flow__Control__MetricsRequest metrics;
    Flow__Control__StopRequest stop;
    Flow__SetRoleRequest set_role;
    Flow__GetAccountRequest get_account;
    Flow__Control__ClusterStatusRequest cluster_status;
    Flow__Control__ClusterRemoveRequest cluster_remove;
    Flow__Control__ClusterRingRequest cluster_ring;
    Flow__Control__ClusterTransfersRequest cluster_transfers;
    Flow__Control__ClusterDigestsRequest cluster_digests;
} s_bodies_t;

/*  Builds REQ for COMMAND with its arguments ARGS; a bad argument is a
 *  usage error, reported before anything is sent.  */
static int
s_build(const s_options_t *options, const s_command_t *command, char **args, s_bodies_t *b,
        Flow__Control__ControlRequest *req)
{
    flow__control__status_request__init(&b->status);
    flow__control__metrics_request__init(&b->metrics);
    flow__control__stop_request__init(&b->stop);
    flow__set_role_request__init(&b->set_role);
    flow__get_account_request__init(&b->get_account);
    flow__control__cluster_status_request__init(&b->cluster_status);
    flow__control__cluster_remove_request__init(&b->cluster_remove);
    flow__control__cluster_ring_request__init(&b->cluster_ring);
    flow__control__cluster_transfers_request__init(&b->cluster_transfers);
    flow__control__cluster_digests_request__init(&b->cluster_digests);
    req->body_case = command->body;
    switch (command->body) {
    case FLOW__CONTROL__CONTROL_REQUEST__BODY_STATUS:
        req->status = &b->status;
        return 0;
    case FLOW__CONTROL__CONTROL_REQUEST__BODY_METRICS:
        req->metrics = &b->metrics;
        return 0;
    case FLOW__CONTROL__CONTROL_REQUEST__BODY_STOP:
        req->stop = &b->stop;
        return 0;
    case FLOW__CONTROL__CONTROL_REQUEST__BODY_CLUSTER_STATUS:
        req->cluster_status = &b->cluster_status;
        return 0;
    case FLOW__CONTROL__CONTROL_REQUEST__BODY_CLUSTER_RING:
        b->cluster_ring.partitions = (uint32_t *) options->partitions;
        b->cluster_ring.n_partitions = options->n_partitions;
        req->cluster_ring = &b->cluster_ring;
        return 0;
    case FLOW__CONTROL__CONTROL_REQUEST__BODY_CLUSTER_TRANSFERS:
        req->cluster_transfers = &b->cluster_transfers;
        return 0;
    case FLOW__CONTROL__CONTROL_REQUEST__BODY_CLUSTER_DIGESTS:
        b->cluster_digests.partitions = (uint32_t *) options->partitions;
        b->cluster_digests.n_partitions = options->n_partitions;
        req->cluster_digests = &b->cluster_digests;
        return 0;
    case FLOW__CONTROL__CONTROL_REQUEST__BODY_CLUSTER_REMOVE:
        b->cluster_remove.node_id = command->n_args ? args[0] : "";
        req->cluster_remove = &b->cluster_remove;
        return 0;
    case FLOW__CONTROL__CONTROL_REQUEST__BODY_SET_ROLE: {
        int role;
        if (!fl_cli_enum_parse(&flow__role__descriptor, "ROLE_", args[1], &role))
            return fl_cli_usage_error("ROLE is user, organizer, moderator or admin, not '%s'",
                                      args[1]);
        b->set_role.email = args[0];
        b->set_role.role = (Flow__Role) role;
        req->set_role = &b->set_role;
        return 0;
    }
    case FLOW__CONTROL__CONTROL_REQUEST__BODY_GET_ACCOUNT:
        b->get_account.email = args[0];
        req->get_account = &b->get_account;
        return 0;
    default:
        assert(!"a command without a request body");
        return FL_CLI_EXIT_FAIL;
    }
}

static int
s_call(const s_options_t *options, const s_command_t *command, char **args,
       Flow__Control__ControlReply **reply_p)
{
    s_bodies_t bodies;
    Flow__Control__ControlRequest req = FLOW__CONTROL__CONTROL_REQUEST__INIT;
    req.version = FLOW_PROTOCOL_VERSION;
    req.id = (uint64_t) zclock_time();
    int rc = s_build(options, command, args, &bodies, &req);
    if (rc != 0)
        return rc;
    zsock_t *dealer = NULL;
    rc = s_connect(options, &dealer);
    if (rc == 0)
        rc = s_send(dealer, &req);
    if (rc == 0)
        rc = s_receive(options, dealer, req.id, reply_p);
    zsock_destroy(&dealer);
    return rc;
}

/*  ---------------------------------------------------------------------
 *  import
 */

typedef struct {
    const s_options_t *options;
    zsock_t *dealer;
    uint64_t next_id;
    int created, updated, unchanged, skipped;
    int fatal;                  /* exit code once the node stops answering */
} s_import_t;

/*  One entry: a problem is reported, a draft is sent as an upsert.  */
static int
s_import_entry(const char *where, const Flow__EventDraft *draft, const char *problem, void *arg)
{
    s_import_t *run = arg;
    if (problem) {
        fprintf(stderr, "flowctl: %s: %s\n", where, problem);
        run->skipped++;
        return 0;
    }
    Flow__UpsertEventRequest body = FLOW__UPSERT_EVENT_REQUEST__INIT;
    body.event = (Flow__EventDraft *) draft;
    Flow__Control__ControlRequest req = FLOW__CONTROL__CONTROL_REQUEST__INIT;
    req.version = FLOW_PROTOCOL_VERSION;
    req.id = ++run->next_id;
    req.body_case = FLOW__CONTROL__CONTROL_REQUEST__BODY_UPSERT_EVENT;
    req.upsert_event = &body;
    Flow__Control__ControlReply *reply = NULL;
    int rc = s_send(run->dealer, &req);
    if (rc == 0)
        rc = s_receive(run->options, run->dealer, req.id, &reply);
    if (rc != 0)
        return run->fatal = rc;
    if (reply->status != FLOW__STATUS__OK) {
        fprintf(stderr, "flowctl: %s: %s: %s\n", where,
                flow_status_name((flow_status_t) reply->status), reply->message);
        run->skipped++;
    }
    else
    if (strcmp(reply->message, "created") == 0)
        run->created++;
    else
    if (strcmp(reply->message, "updated") == 0)
        run->updated++;
    else
        run->unchanged++;
    flow__control__control_reply__free_unpacked(reply, NULL);
    return 0;
}

/*  The format a Content-Type names, or NULL.  */
static const char *
s_format_of_type(const char *type)
{
    if (strcasecmp(type, "text/calendar") == 0)
        return "ics";
    if (strcasecmp(type, "application/x-ndjson") == 0 || strcasecmp(type, "application/jsonl") == 0
        || strcasecmp(type, "application/x-jsonlines") == 0)
        return "jsonl";
    return NULL;
}

/*  The whole of PATH, NUL-terminated; NULL when it cannot be read.  */
static char *
s_read_file(const char *path)
{
    FILE *file = fopen(path, "rb");
    if (!file)
        return NULL;
    char *text = NULL;
    size_t len = 0;
    char chunk[8192];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, file)) > 0) {
        char *grown = realloc(text, len + n + 1);
        if (!grown) {
            free(text);
            fclose(file);
            return NULL;
        }
        text = grown;
        memcpy(text + len, chunk, n);
        len += n;
    }
    bool failed = ferror(file);
    fclose(file);
    if (failed) {
        free(text);
        return NULL;
    }
    if (!text)
        text = calloc(1, 1);
    else
        text[len] = '\0';
    return text;
}

/*  ics or jsonl, from --format or the extension of PATH; NULL: unknown. */
static const char *
s_import_format(const s_options_t *options, const char *path)
{
    const char *format = options->format;
    if (!format) {
        const char *dot = strrchr(path, '.');
        format = !dot ? "" : strcasecmp(dot, ".ics") == 0 || strcasecmp(dot, ".ical") == 0
                                 ? "ics"
                             : strcasecmp(dot, ".jsonl") == 0 || strcasecmp(dot, ".ndjson") == 0
                                 ? "jsonl" : "";
    }
    return strcmp(format, "ics") == 0 || strcmp(format, "jsonl") == 0 ? format : NULL;
}

static int
s_import(const s_options_t *options, const char *path)
{
    bool url = fl_fetch_is_url(path);
    if (url && !fl_fetch_is_http(path))
        return fl_cli_usage_error("import reads a file or an http:// or https:// URL, not '%s'",
                                  path);
    /*  A URL's format comes from its path (without the query), else from
     *  the Content-Type once fetched; its platform is its host.  */
    char where[FEED_PATH_MAX], host[256] = "", content_type[128] = "";
    snprintf(where, sizeof where, "%.*s", (int) strcspn(path, url ? "?#" : ""), path);
    char *text = NULL;
    if (url) {
        char why[600];
        if (fl_fetch(path, FEED_MAX_BYTES, &text, content_type, sizeof content_type, why,
                     sizeof why) != 0)
            return fl_cli_fail(FL_CLI_EXIT_FAIL, FLOW_UNAVAILABLE, "cannot fetch %s", why);
        fl_fetch_host(path, host, sizeof host);
    }
    const char *format = s_import_format(options, where);
    if (!format && url)
        format = s_format_of_type(content_type);
    if (!format) {
        free(text);
        return fl_cli_usage_error(options->format ? "--format is ics or jsonl, not '%s'"
                                                  : "cannot tell the format of '%s': use --format",
                                  options->format ? options->format : path);
    }
    const char *slash = strrchr(path, '/');
    const char *platform = options->platform ? options->platform
                         : url ? host : slash ? slash + 1 : path;
    fl_import_options_t parse = { platform, (int64_t) zclock_time() / 1000,
                                  options->horizon_days, options->has_geo, options->lat,
                                  options->lon };
    if (!url && !(text = s_read_file(path)))
        return fl_cli_fail(FL_CLI_EXIT_FAIL, FLOW_INVALID_ARGUMENT, "cannot read %s: %s", path,
                           strerror(errno));
    s_import_t run = { options, NULL, (uint64_t) zclock_time() * 1000, 0, 0, 0, 0, 0 };
    int rc = s_connect(options, &run.dealer);
    if (rc == 0 && strcmp(format, "ics") == 0)
        rc = fl_import_parse_ics(text, &parse, s_import_entry, &run);
    else
    if (rc == 0)
        rc = fl_import_parse_jsonl(text, &parse, s_import_entry, &run);
    zsock_destroy(&run.dealer);
    free(text);
    if (run.fatal)
        return run.fatal;
    if (rc > 0)
        return rc;
    printf("imported %d: created %d, updated %d, unchanged %d; skipped %d\n",
           run.created + run.updated + run.unchanged, run.created, run.updated, run.unchanged,
           run.skipped);
    return run.skipped || rc ? FL_CLI_EXIT_FAIL : 0;
}

/*  ---------------------------------------------------------------------
 *  Options and main
 */

enum {
    S_OPT_CONTROL = 1000, S_OPT_KEY, S_OPT_SERVER_KEY, S_OPT_JSON, S_OPT_TIMEOUT, S_OPT_FORMAT,
    S_OPT_PLATFORM, S_OPT_HORIZON, S_OPT_LAT, S_OPT_LON, S_OPT_PARTITION
};

static const char *s_options_help =
    "  --control EP       control socket (default: $FLOW_CONTROL, else " S_DEFAULT_CONTROL ")\n"
    "  --key FILE         admin CURVE keypair (default: " S_DEFAULT_KEY ")\n"
    "  --server-key FILE  the node's public cert (default: node.cert beside --key)\n"
    "  --json             print the reply body as JSON\n"
    "  --timeout MS       how long to wait for the node (default: 5000)\n"
    "  --help             this help\n";

/*  A command's line in a list: its name and arguments, and the first
 *  line of its help.  */
static void
s_print_command_line(const s_command_t *command)
{
    char usage[64];
    snprintf(usage, sizeof usage, "%s %s", command->name, command->args);
    printf("  %-26s%.*s\n", usage, (int) strcspn(command->help, "\n"), command->help);
}

static void
s_print_help(const s_command_t *command)
{
    if (command) {
        printf("usage: flowctl [OPTIONS] %s%s%s\n\n%s\noptions:\n%s", command->name,
               command->args[0] ? " " : "", command->args, command->help, s_options_help);
        return;
    }
    printf("usage: flowctl [OPTIONS] COMMAND [ARGS]\n\ncommands:\n");
    for (size_t i = 0; i < S_N_COMMANDS; i++)
        s_print_command_line(&s_commands[i]);
    printf("\noptions:\n%s", s_options_help);
}

/*  The commands of NOUN ("user").  */
static void
s_print_noun_help(const char *noun)
{
    printf("usage: flowctl [OPTIONS] %s COMMAND [ARGS]\n\ncommands:\n", noun);
    for (size_t i = 0; i < S_N_COMMANDS; i++) {
        if (fl_cli_command_has_noun(s_commands[i].name, noun))
            s_print_command_line(&s_commands[i]);
    }
    printf("\noptions:\n%s", s_options_help);
}

static bool
s_parse_degrees(const char *text, double *out)
{
    char *end = NULL;
    errno = 0;
    *out = strtod(text, &end);
    return errno == 0 && end != text && *end == '\0';
}

/*  Options may come before or after the command word.  */
static int
s_parse(int argc, char **argv, s_options_t *options)
{
    static const struct option longopts[] = {
        { "control", required_argument, NULL, S_OPT_CONTROL },
        { "key", required_argument, NULL, S_OPT_KEY },
        { "server-key", required_argument, NULL, S_OPT_SERVER_KEY },
        { "json", no_argument, NULL, S_OPT_JSON },
        { "timeout", required_argument, NULL, S_OPT_TIMEOUT },
        { "format", required_argument, NULL, S_OPT_FORMAT },
        { "platform", required_argument, NULL, S_OPT_PLATFORM },
        { "horizon-days", required_argument, NULL, S_OPT_HORIZON },
        { "lat", required_argument, NULL, S_OPT_LAT },
        { "lon", required_argument, NULL, S_OPT_LON },
        { "partition", required_argument, NULL, S_OPT_PARTITION },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 }
    };
    opterr = 0;
    int opt;
    while ((opt = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        switch (opt) {
        case S_OPT_CONTROL: options->endpoint = optarg; break;
        case S_OPT_KEY: options->key_file = optarg; break;
        case S_OPT_SERVER_KEY: options->server_key_file = optarg; break;
        case S_OPT_JSON: options->json = true; break;
        case 'h': options->help = true; break;
        case S_OPT_FORMAT: options->format = optarg; break;
        case S_OPT_PLATFORM: options->platform = optarg; break;
        case S_OPT_HORIZON:
            options->horizon_days = fl_cli_parse_positive(optarg);
            if (options->horizon_days < 0)
                return fl_cli_usage_error("--horizon-days wants days above 0, not '%s'", optarg);
            break;
        case S_OPT_LAT:
        case S_OPT_LON:
            if (!s_parse_degrees(optarg, opt == S_OPT_LAT ? &options->lat : &options->lon))
                return fl_cli_usage_error("--%s wants degrees, not '%s'",
                                          opt == S_OPT_LAT ? "lat" : "lon", optarg);
            options->has_geo = true;
            break;
        case S_OPT_PARTITION: {
            char *end = NULL;
            errno = 0;
            unsigned long p = strtoul(optarg, &end, 10);
            if (errno || end == optarg || *end || p > 65535 || optarg[0] == '-')
                return fl_cli_usage_error("--partition wants a partition number, not '%s'", optarg);
            if (options->n_partitions == sizeof options->partitions / sizeof options->partitions[0])
                return fl_cli_usage_error("--partition: at most 16 of them");
            options->partitions[options->n_partitions++] = (uint32_t) p;
            break;
        }
        case S_OPT_TIMEOUT:
            options->timeout_ms = fl_cli_parse_positive(optarg);
            if (options->timeout_ms < 0)
                return fl_cli_usage_error("--timeout wants milliseconds above 0, not '%s'", optarg);
            break;
        default:
            return fl_cli_bad_option(argc, argv);
        }
    }
    return 0;
}

/*  node.cert in the directory of the key file.  */
static char *
s_default_server_key(const char *key_file)
{
    const char *slash = strrchr(key_file, '/');
    int dir_len = slash ? (int) (slash - key_file + 1) : 0;
    char *path = NULL;
    if (asprintf(&path, "%.*snode.cert", dir_len, key_file) < 0)
        return NULL;
    return path;
}

static int
s_run(s_options_t *options, const s_command_t *command, char **args)
{
    char *server_key = NULL;
    if (!options->server_key_file) {
        server_key = s_default_server_key(options->key_file);
        if (!server_key)
            return fl_cli_fail(FL_CLI_EXIT_FAIL, FLOW_INTERNAL, "out of memory");
        options->server_key_file = server_key;
    }
    if (command->body == FLOW__CONTROL__CONTROL_REQUEST__BODY_UPSERT_EVENT) {
        int rc = s_import(options, args[0]);
        free(server_key);
        return rc;
    }
    Flow__Control__ControlReply *reply = NULL;
    int rc = s_call(options, command, args, &reply);
    if (rc == 0)
        rc = s_check_reply(command, reply);
    if (rc == 0)
        rc = command->print(options, reply);
    if (reply)
        flow__control__control_reply__free_unpacked(reply, NULL);
    free(server_key);
    return rc;
}

/*  No command matched ARGV: a noun alone (help lists its commands) or
 *  with a verb it lacks, or nothing known.  */
static int
s_no_command(int argc, char **argv, bool help)
{
    if (!s_is_noun(argv[0]))
        return fl_cli_usage_error("unknown command '%s'", argv[0]);
    if (help) {
        s_print_noun_help(argv[0]);
        return 0;
    }
    if (argc < 2)
        return fl_cli_usage_error("%s wants a command", argv[0]);
    return fl_cli_usage_error("unknown command '%s %s'", argv[0], argv[1]);
}

int
main(int argc, char **argv)
{
    fl_cli_init("flowctl");
    s_options_t options = { .endpoint = getenv("FLOW_CONTROL"), .key_file = S_DEFAULT_KEY,
                            .timeout_ms = FLOW_DEFAULT_TIMEOUT_MS,
                            .horizon_days = FL_IMPORT_HORIZON_DAYS };
    if (!options.endpoint || !options.endpoint[0])
        options.endpoint = S_DEFAULT_CONTROL;
    int rc = s_parse(argc, argv, &options);
    if (rc != 0)
        return rc;
    if (optind >= argc && options.help) {
        s_print_help(NULL);
        return 0;
    }
    if (optind >= argc)
        return fl_cli_usage_error("no command given");
    int words = 0;
    const s_command_t *command = s_find_command(argc - optind, argv + optind, &words);
    if (!command)
        return s_no_command(argc - optind, argv + optind, options.help);
    if (options.help) {
        s_print_help(command);
        return 0;
    }
    int n_args = argc - optind - words;
    if (n_args != command->n_args && command->n_args == 0)
        return fl_cli_usage_error("%s takes no argument", command->name);
    if (n_args != command->n_args)
        return fl_cli_usage_error("%s wants %s", command->name, command->args);
    return s_run(&options, command, argv + optind + words);
}
