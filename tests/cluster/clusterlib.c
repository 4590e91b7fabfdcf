/*  tests/cluster/clusterlib.c — see clusterlib.h.  */
#include "tests/cluster/clusterlib.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define FLAGS_MAX 32
#define POLL_MS 100

void
fl_cluster_join(fl_proc_t *node, const char *data, const fl_proc_t *through,
                const char *const *extra)
{
    fl_cluster_join_in(node, NULL, data, through, extra);
}

void
fl_cluster_join_in(fl_proc_t *node, const char *netns, const char *data,
                   const fl_proc_t *through, const char *const *extra)
{
    char key[sizeof through->data + 16];
    snprintf(key, sizeof key, "%.*s/keys/join.key", (int) sizeof through->data - 1, through->data);
    const char *flags[FLAGS_MAX] = { "--join", through->peer, "--join-key", key, "--pwhash-ops",
                                     "1", "--pwhash-mem-kb", "8", "--handoff-rate-kb", "0" };
    size_t n = 10;
    for (size_t i = 0; extra && extra[i] && n < FLAGS_MAX - 1; i++)
        flags[n++] = extra[i];
    flags[n] = NULL;
    fl_node_start_in(node, netns, data, flags);
}

int
fl_cluster_status(const fl_proc_t *node, char *out, size_t cap)
{
    static char err[4096];
    const char *argv[] = { fl_program("FLOWCTL_CLI"), "--control", node->control, "--key",
                           node->admin_key, "--timeout", "5000", "--json", "cluster", "status",
                           NULL };
    return fl_run(argv, NULL, out, cap, err, sizeof err);
}

void
fl_json_string(const char *json, const char *key, char *out, size_t len)
{
    char pattern[64];
    snprintf(pattern, sizeof pattern, "\"%s\":\"", key);
    const char *p = strstr(json, pattern);
    out[0] = '\0';
    if (!p)
        return;
    p += strlen(pattern);
    size_t n = strcspn(p, "\"");
    snprintf(out, len, "%.*s", (int) (n < len ? n : len - 1), p);
}

size_t
fl_count(const char *hay, const char *needle)
{
    size_t n = 0;
    for (const char *p = strstr(hay, needle); p; p = strstr(p + 1, needle))
        n++;
    return n;
}

bool
fl_cluster_settled_in(const char *status, size_t members)
{
    char leader[128];
    fl_json_string(status, "leader_id", leader, sizeof leader);
    return leader[0] && fl_count(status, "\"node_id\":\"n") == members + 1
           && fl_count(status, "MEMBER_UP") == members && !strstr(status, "\"moves\":[{");
}

bool
fl_cluster_settled(const fl_proc_t *node, size_t members, int wait_ms, char *out, size_t cap)
{
    for (int waited = 0; waited <= wait_ms; waited += POLL_MS) {
        if (fl_cluster_status(node, out, cap) == 0 && fl_cluster_settled_in(out, members))
            return true;
        usleep(POLL_MS * 1000);
    }
    return false;
}

/*  The digests `flowctl --json cluster digests` of NODE lists into
 *  DIGESTS (PARTITIONS entries of 65 bytes, "" where it keeps no copy;
 *  "extra" where it holds records but keeps no copy); false when flowctl
 *  failed.  */
static bool
s_digests(const fl_proc_t *node, char (*digests)[65], uint32_t partitions)
{
    static char out[1 << 20], err[4096];
    const char *argv[] = { fl_program("FLOWCTL_CLI"), "--control", node->control, "--key",
                           node->admin_key, "--timeout", "5000", "--json", "cluster", "digests",
                           NULL };
    for (uint32_t p = 0; p < partitions; p++)
        digests[p][0] = '\0';
    if (fl_run(argv, NULL, out, sizeof out, err, sizeof err) != 0)
        return false;
    for (const char *at = strstr(out, "{\"partition\":"); at;
         at = strstr(at + 1, "{\"partition\":")) {
        unsigned long p = strtoul(at + 13, NULL, 10);
        const char *d = strstr(at, "\"digest\":\"");
        const char *end = strchr(at, '}');
        bool extra = strstr(at, "\"role\":\"extra\"") && strstr(at, "\"role\":\"extra\"") < end;
        if (p < partitions && extra)
            snprintf(digests[p], 65, "extra");
        else
        if (p < partitions && d && strlen(d) > 10 + 64)
            snprintf(digests[p], 65, "%.64s", d + 10);
    }
    return true;
}

bool
fl_cluster_copies_agree(const fl_proc_t *nodes, size_t n, uint32_t partitions, size_t copies,
                        int wait_ms, size_t *compared_p, char *why, size_t whylen)
{
    char (*digests)[65] = calloc(n * partitions, 65);
    bool agree = false;
    why[0] = '\0';
    for (int waited = 0; digests && !agree && waited <= wait_ms; waited += 200) {
        if (waited)
            usleep(200 * 1000);
        bool read = true;
        for (size_t i = 0; i < n && read; i++)
            read = s_digests(&nodes[i], digests + i * partitions, partitions);
        if (!read) {
            snprintf(why, whylen, "flowctl cluster digests failed");
            continue;
        }
        agree = true;
        size_t compared = 0;
        for (uint32_t p = 0; p < partitions && agree; p++) {
            const char *first = NULL;
            size_t held = 0;
            for (size_t i = 0; i < n && agree; i++) {
                const char *d = digests[i * partitions + p];
                if (!d[0])
                    continue;
                if (strcmp(d, "extra") == 0) {
                    agree = copies == 0;
                    if (!agree)
                        snprintf(why, whylen, "partition %u: node %s holds records of it "
                                 "without keeping a copy", p, nodes[i].node_id);
                    continue;
                }
                held++;
                if (!first)
                    first = d;
                else
                if (strcmp(first, d) != 0) {
                    agree = false;
                    snprintf(why, whylen, "partition %u: node %s holds %.12s..., another %.12s...",
                             p, nodes[i].node_id, d, first);
                }
            }
            if (agree && copies && held != copies) {
                agree = false;
                snprintf(why, whylen, "partition %u: %zu copies, not %zu", p, held, copies);
            }
            compared += held > 1;
        }
        if (compared_p)
            *compared_p = compared;
    }
    free(digests);
    return agree;
}
