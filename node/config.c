/*  node/config.c — the settings table and its three sources; see config.h.
 *
 *  Order of precedence: defaults < config file < environment < flags.  The
 *  flags are scanned twice: once for --config (the file must be read before
 *  the environment and the other flags are applied over it), then for
 *  everything.
 */
#include "node/config.h"
#include "node/error.h"

#include <czmq.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef enum { S_STR, S_UINT } s_kind_t;

typedef struct {
    const char *path;      /* in the config file: section/key */
    const char *env;       /* environment variable */
    const char *flag;      /* long flag, without the dashes */
    s_kind_t kind;
    size_t offset;         /* into fl_config_t */
    size_t size;           /* of a string field */
    uint64_t min, max;     /* bounds of a number */
    const char *help;
} s_setting_t;

#define STR(field) S_STR, offsetof(fl_config_t, field), sizeof(((fl_config_t *) 0)->field), 0, 0
#define NUM(field, lo, hi) S_UINT, offsetof(fl_config_t, field), 0, lo, hi

static const s_setting_t s_settings[] = {
    { "node/data", "FLOW_DATA", "data", STR(data_dir),
      "data directory (created when absent)" },
    { "node/client", "FLOW_CLIENT", "client", STR(client_endpoint),
      "client endpoint (ZeroMQ; port * picks a free one)" },
    { "node/control", "FLOW_CONTROL", "control", STR(control_endpoint),
      "admin control endpoint (CURVE)" },
    { "log/level", "FLOW_LOG_LEVEL", "log-level", STR(log_level),
      "debug, info, warn or error" },
    { "log/file", "FLOW_LOG_FILE", "log-file", STR(log_file),
      "append log lines to this file instead of stderr" },
    { "cluster/partitions", "FLOW_PARTITIONS", "partitions", NUM(partitions, 1, 65536),
      "partitions, fixed when the data directory is created" },
    { "cluster/replicas", "FLOW_REPLICAS", "replicas", NUM(replicas, 1, 7),
      "owners per partition, fixed when the cluster is created" },
    { "cluster/raft", "FLOW_RAFT", "raft", STR(raft_address),
      "consensus address host:port (port 0 picks a free one; kept after the first start)" },
    { "cluster/peer", "FLOW_PEER", "peer", STR(peer_endpoint),
      "node-to-node endpoint (CURVE; port * picks a free one; kept after the first start)" },
    { "cluster/handoff_rate_kb", "FLOW_HANDOFF_RATE_KB", "handoff-rate-kb",
      NUM(handoff_rate_kb, 0, 1ULL << 30),
      "KiB/s partitions moving to this node are copied at, at most (0: no limit)" },
    { "cluster/down_after_ms", "FLOW_DOWN_AFTER_MS", "down-after-ms",
      NUM(down_after_ms, 500, 3600000),
      "the leader marks a member down after it has not answered health checks this long" },
    { "cluster/replace_after_ms", "FLOW_REPLACE_AFTER_MS", "replace-after-ms",
      NUM(replace_after_ms, 1000, 86400000),
      "a member down this long has its copies made again on the other members" },
    { "cluster/handoff_chunk_kb", "FLOW_HANDOFF_CHUNK_KB", "handoff-chunk-kb",
      NUM(handoff_chunk_kb, 4, 16384),
      "KiB of records per chunk of a moving partition" },
    { "cluster/join", "FLOW_JOIN", "join", STR(join),
      "join the cluster through this member's peer endpoint (first start only)" },
    { "cluster/join_key", "FLOW_JOIN_KEY", "join-key", STR(join_key),
      "the join credential file, copied from DATA/keys/join.key of that member" },
    { "storage/map_size_mb", "FLOW_MAP_SIZE_MB", "map-size-mb", NUM(map_size_mb, 1, 1048576),
      "initial LMDB map size; grows on demand" },
    { "requests/max_bytes", "FLOW_REQUEST_MAX_BYTES", "request-max-bytes",
      NUM(request_max_bytes, 1024, 64u << 20), "largest request frame accepted" },
    { "requests/default_timeout_ms", "FLOW_DEFAULT_TIMEOUT_MS", "default-timeout-ms",
      NUM(default_timeout_ms, 1, 3600000), "deadline of a request that sets none" },
    { "requests/max_timeout_ms", "FLOW_MAX_TIMEOUT_MS", "max-timeout-ms",
      NUM(max_timeout_ms, 1, 3600000), "longest deadline a request may ask for" },
    { "requests/drain_timeout_ms", "FLOW_DRAIN_TIMEOUT_MS", "drain-timeout-ms",
      NUM(drain_timeout_ms, 0, 600000), "shutdown waits this long for in-flight requests" },
    { "requests/batch_max", "FLOW_BATCH_MAX", "batch-max", NUM(batch_max, 1, 65536),
      "requests applied per group commit" },
    { "workers/threads", "FLOW_WORKERS", "workers", NUM(workers, 1, 256),
      "worker pool threads for slow work" },
    { "auth/pwhash_ops", "FLOW_PWHASH_OPS", "pwhash-ops", NUM(pwhash_ops, 1, 16),
      "Argon2id passes for new password hashes" },
    { "auth/pwhash_mem_kb", "FLOW_PWHASH_MEM_KB", "pwhash-mem-kb",
      NUM(pwhash_mem_kb, 8, 4194304), "Argon2id memory (KiB) for new password hashes" },
    { "auth/access_ttl_s", "FLOW_ACCESS_TTL_S", "access-ttl-s", NUM(access_ttl_s, 1, 86400),
      "lifetime of an access token" },
    { "auth/refresh_ttl_s", "FLOW_REFRESH_TTL_S", "refresh-ttl-s",
      NUM(refresh_ttl_s, 60, 31536000), "lifetime of a session's refresh token" },
    { "rate/auth_per_min", "FLOW_RATE_AUTH_PER_MIN", "rate-auth-per-min",
      NUM(rate_auth_per_min, 1, 1000000), "sign-up, login and refresh per address and account" },
    { "rate/requests_per_s", "FLOW_RATE_REQUESTS_PER_S", "rate-requests-per-s",
      NUM(rate_requests_per_s, 1, 10000000), "other requests per address and per user" },
    { "auth/login_backoff_after", "FLOW_LOGIN_BACKOFF_AFTER", "login-backoff-after",
      NUM(login_backoff_after, 1, 1000), "failed logins of an account before each next one waits" },
};

#define SETTINGS (sizeof s_settings / sizeof s_settings[0])

void
fl_config_defaults(fl_config_t *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    snprintf(cfg->data_dir, sizeof cfg->data_dir, "./var/flow");
    snprintf(cfg->client_endpoint, sizeof cfg->client_endpoint, "tcp://127.0.0.1:7700");
    snprintf(cfg->control_endpoint, sizeof cfg->control_endpoint, "tcp://127.0.0.1:7702");
    snprintf(cfg->log_level, sizeof cfg->log_level, "info");
    cfg->partitions = 1024;
    cfg->replicas = 3;
    cfg->handoff_rate_kb = 65536;
    cfg->down_after_ms = 3000;
    cfg->replace_after_ms = 60000;
    cfg->handoff_chunk_kb = 1024;
    snprintf(cfg->raft_address, sizeof cfg->raft_address, "127.0.0.1:7703");
    snprintf(cfg->peer_endpoint, sizeof cfg->peer_endpoint, "tcp://127.0.0.1:7701");
    cfg->map_size_mb = 64;
    cfg->request_max_bytes = 1u << 20;
    cfg->default_timeout_ms = 5000;
    cfg->max_timeout_ms = 60000;
    cfg->drain_timeout_ms = 5000;
    cfg->batch_max = 256;
    cfg->workers = 2;
    cfg->pwhash_ops = 3;                  /* crypto_pwhash_OPSLIMIT_MODERATE */
    cfg->pwhash_mem_kb = 262144;          /* crypto_pwhash_MEMLIMIT_MODERATE */
    cfg->access_ttl_s = 900;
    cfg->refresh_ttl_s = 30 * 86400;
    cfg->rate_auth_per_min = 30;
    cfg->rate_requests_per_s = 200;
    cfg->login_backoff_after = 5;
}

/*  Sets one setting from text; SOURCE names where it came from.  */
static int
s_apply(fl_config_t *cfg, const s_setting_t *s, const char *value, const char *source,
        char *err, size_t errlen)
{
    char *field = (char *) cfg + s->offset;
    if (s->kind == S_STR) {
        if (strlen(value) >= s->size) {
            snprintf(err, errlen, "%s: %s is longer than %zu bytes", source, s->path, s->size - 1);
            return FL_E_INVAL;
        }
        bool may_be_empty = strcmp(s->path, "log/file") == 0 || strcmp(s->path, "cluster/join") == 0
                            || strcmp(s->path, "cluster/join_key") == 0;
        if (*value == '\0' && !may_be_empty) {
            snprintf(err, errlen, "%s: %s is empty", source, s->path);
            return FL_E_INVAL;
        }
        memcpy(field, value, strlen(value) + 1);
        return 0;
    }
    char *end = NULL;
    errno = 0;
    unsigned long long n = strtoull(value, &end, 10);
    if (errno || end == value || *end != '\0' || *value == '-') {
        snprintf(err, errlen, "%s: %s must be a whole number, not \"%s\"", source, s->path, value);
        return FL_E_INVAL;
    }
    if (n < s->min || n > s->max) {
        snprintf(err, errlen, "%s: %s must be between %" PRIu64 " and %" PRIu64 ", not %llu",
                 source, s->path, s->min, s->max, n);
        return FL_E_INVAL;
    }
    memcpy(field, &(uint64_t) { n }, sizeof(uint64_t));
    return 0;
}

static const s_setting_t *
s_by_path(const char *path)
{
    for (size_t i = 0; i < SETTINGS; i++)
        if (strcmp(s_settings[i].path, path) == 0)
            return &s_settings[i];
    return NULL;
}

static int
s_load_file(fl_config_t *cfg, const char *path, char *err, size_t errlen)
{
    FILE *probe = fopen(path, "r");
    if (!probe) {
        snprintf(err, errlen, "config file %s: %s", path, strerror(errno));
        return FL_E_INVAL;
    }
    fclose(probe);
    zconfig_t *root = zconfig_load(path);
    if (!root) {
        snprintf(err, errlen, "config file %s: not valid ZPL", path);
        return FL_E_INVAL;
    }
    int rc = 0;
    char where[FL_CONFIG_STR_MAX + 32];
    snprintf(where, sizeof where, "config file %s", path);
    for (zconfig_t *sec = zconfig_child(root); sec && rc == 0; sec = zconfig_next(sec)) {
        for (zconfig_t *key = zconfig_child(sec); key && rc == 0; key = zconfig_next(key)) {
            char full[128];
            snprintf(full, sizeof full, "%s/%s", zconfig_name(sec), zconfig_name(key));
            const s_setting_t *s = s_by_path(full);
            if (!s) {
                snprintf(err, errlen, "%s: unknown setting %s", where, full);
                rc = FL_E_INVAL;
            }
            else
                rc = s_apply(cfg, s, zconfig_value(key) ? zconfig_value(key) : "",
                             where, err, errlen);
        }
        if (rc == 0 && !zconfig_child(sec) && zconfig_value(sec)) {
            snprintf(err, errlen, "%s: %s is a section, not a setting", where, zconfig_name(sec));
            rc = FL_E_INVAL;
        }
    }
    zconfig_destroy(&root);
    return rc;
}

static int
s_load_env(fl_config_t *cfg, char *err, size_t errlen)
{
    for (size_t i = 0; i < SETTINGS; i++) {
        const char *value = getenv(s_settings[i].env);
        if (!value)
            continue;
        char where[64];
        snprintf(where, sizeof where, "environment %s", s_settings[i].env);
        int rc = s_apply(cfg, &s_settings[i], value, where, err, errlen);
        if (rc)
            return rc;
    }
    return 0;
}

enum { OPT_CONFIG = 1000, OPT_HELP, OPT_VERSION, OPT_SETTING };

static void
s_build_options(struct option *opts)
{
    size_t n = 0;
    for (size_t i = 0; i < SETTINGS; i++)
        opts[n++] = (struct option) { s_settings[i].flag, required_argument, NULL,
                                      OPT_SETTING + (int) i };
    opts[n++] = (struct option) { "config", required_argument, NULL, OPT_CONFIG };
    opts[n++] = (struct option) { "help", no_argument, NULL, OPT_HELP };
    opts[n++] = (struct option) { "version", no_argument, NULL, OPT_VERSION };
    opts[n] = (struct option) { 0 };
}

int
fl_config_load(fl_config_t *cfg, int argc, char **argv,
               fl_config_action_t *action_p, char *err, size_t errlen)
{
    struct option opts[SETTINGS + 4];
    s_build_options(opts);
    *action_p = FL_CONFIG_RUN;
    fl_config_defaults(cfg);

    const char *config_file = getenv("FLOW_CONFIG");
    opterr = 0;
    optind = 1;
    int c;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        if (c == OPT_CONFIG)
            config_file = optarg;
        else
        if (c == OPT_HELP) {
            fl_config_usage(argv[0]);
            *action_p = FL_CONFIG_HELP;
            return 0;
        }
        else
        if (c == OPT_VERSION) {
            printf("flowd %s\n", FLOW_VERSION);
            *action_p = FL_CONFIG_VERSION;
            return 0;
        }
        else
        if (c == '?' || c == ':') {
            snprintf(err, errlen, "unknown or incomplete flag %s (see --help)", argv[optind - 1]);
            return FL_E_INVAL;
        }
    }
    if (optind < argc) {
        snprintf(err, errlen, "unexpected argument \"%s\" (see --help)", argv[optind]);
        return FL_E_INVAL;
    }
    if (config_file) {
        if (strlen(config_file) >= sizeof cfg->config_file) {
            snprintf(err, errlen, "config file path is too long");
            return FL_E_INVAL;
        }
        snprintf(cfg->config_file, sizeof cfg->config_file, "%s", config_file);
        int rc = s_load_file(cfg, config_file, err, errlen);
        if (rc)
            return rc;
    }
    int rc = s_load_env(cfg, err, errlen);
    if (rc)
        return rc;

    optind = 1;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        if (c < OPT_SETTING)
            continue;
        const s_setting_t *s = &s_settings[c - OPT_SETTING];
        char where[64];
        snprintf(where, sizeof where, "flag --%s", s->flag);
        rc = s_apply(cfg, s, optarg, where, err, errlen);
        if (rc)
            return rc;
    }
    if (cfg->default_timeout_ms > cfg->max_timeout_ms) {
        snprintf(err, errlen, "requests/default_timeout_ms (%" PRIu64 ") exceeds "
                 "requests/max_timeout_ms (%" PRIu64 ")",
                 cfg->default_timeout_ms, cfg->max_timeout_ms);
        return FL_E_INVAL;
    }
    return 0;
}

void
fl_config_usage(const char *argv0)
{
    fl_config_t defaults;
    fl_config_defaults(&defaults);
    printf("usage: %s [flags]\n\n"
           "Runs one Flow node.  Settings come from defaults, the config file,\n"
           "the environment and flags; later ones win.\n\n", argv0);
    printf("  --%-26s %s\n  %-28s env FLOW_CONFIG\n", "config FILE",
           "config file (ZPL; keys are section/name below)", "");
    for (size_t i = 0; i < SETTINGS; i++) {
        const s_setting_t *s = &s_settings[i];
        char flag[64], def[FL_CONFIG_STR_MAX + 16];
        snprintf(flag, sizeof flag, "%s VALUE", s->flag);
        const char *field = (const char *) &defaults + s->offset;
        if (s->kind == S_STR)
            snprintf(def, sizeof def, "\"%s\"", field);
        else
            snprintf(def, sizeof def, "%" PRIu64, *(const uint64_t *) (const void *) field);
        printf("  --%-26s %s\n  %-28s file %s, env %s, default %s\n",
               flag, s->help, "", s->path, s->env, def);
    }
    printf("  --%-26s %s\n  --%-26s %s\n", "help", "print this and exit",
           "version", "print the version and exit");
}
