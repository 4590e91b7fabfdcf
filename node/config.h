/*  node/config.h — flowd's settings, from defaults, a config file, the
 *  environment and flags, later sources winning in that order.
 *
 *  Every setting is one row of a table (config.c) naming its config-file
 *  path, its environment variable and its flag, so the three sources can
 *  never disagree about what exists.  The config file is ZPL (CZMQ's
 *  zconfig format):
 *
 *      node
 *          data = "/var/lib/flow"
 *          client = "tcp://0.0.0.0:7700"
 *      log
 *          level = "debug"
 *
 *  An unknown key, a malformed value or an unreadable file is an error that
 *  names the setting and where it came from.
 */
#ifndef FL_CONFIG_H
#define FL_CONFIG_H

#include <stddef.h>
#include <stdint.h>

#define FL_CONFIG_STR_MAX 256

typedef struct {
    char data_dir[FL_CONFIG_STR_MAX];
    char client_endpoint[FL_CONFIG_STR_MAX];
    char control_endpoint[FL_CONFIG_STR_MAX];
    char config_file[FL_CONFIG_STR_MAX];
    char log_level[16];
    char log_file[FL_CONFIG_STR_MAX];
    char raft_address[64];        /* consensus host:port; port 0 picks one at first start */
    char peer_endpoint[FL_CONFIG_STR_MAX];  /* node-to-node; port * picks one at first start */
    char join[FL_CONFIG_STR_MAX];           /* a member's peer endpoint to join through; "" none */
    char join_key[FL_CONFIG_STR_MAX];       /* the join credential file */
    uint64_t partitions;          /* used when the cluster is created */
    uint64_t handoff_rate_kb;     /* copying partitions to this node; 0: no limit */
    uint64_t down_after_ms;       /* a member silent this long is marked down */
    uint64_t replace_after_ms;    /* and down this long, lost: its copies made elsewhere */
    uint64_t handoff_chunk_kb;    /* records per chunk of a moving partition */
    uint64_t replicas;            /* owners per partition, used when the cluster is created */
    uint64_t map_size_mb;         /* initial LMDB map size */
    uint64_t request_max_bytes;   /* largest request frame accepted */
    uint64_t default_timeout_ms;  /* deadline of a request that names none */
    uint64_t max_timeout_ms;      /* longest deadline a request may ask for */
    uint64_t drain_timeout_ms;    /* how long shutdown waits for in-flight requests */
    uint64_t batch_max;           /* requests per group commit */
    uint64_t workers;             /* worker pool threads */
    uint64_t pwhash_ops;          /* Argon2id passes for new password hashes */
    uint64_t pwhash_mem_kb;       /* Argon2id memory for new password hashes */
    uint64_t access_ttl_s;        /* lifetime of an access token */
    uint64_t refresh_ttl_s;       /* lifetime of a session's refresh token */
    uint64_t rate_auth_per_min;   /* sign-up/login/refresh per address and per account */
    uint64_t rate_requests_per_s; /* other requests per address and per user */
    uint64_t login_backoff_after; /* failed logins of an account before slowing down */
} fl_config_t;

typedef enum {
    FL_CONFIG_RUN,       /* start the node */
    FL_CONFIG_HELP,      /* --help was given: usage printed */
    FL_CONFIG_VERSION,   /* --version was given: version printed */
} fl_config_action_t;

void fl_config_defaults(fl_config_t *cfg);

/*  Fills CFG from defaults, the config file (--config or FLOW_CONFIG),
 *  the environment and ARGV.  On error returns FL_E_INVAL with a one-line
 *  reason in ERR; *action_p says what the caller should do on success.  */
int fl_config_load(fl_config_t *cfg, int argc, char **argv,
                   fl_config_action_t *action_p, char *err, size_t errlen);

/*  Prints the flags, their variables and defaults.  */
void fl_config_usage(const char *argv0);

#endif
