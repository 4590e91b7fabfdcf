/*  tests/integration/harness.h — real flowd processes for tests.
 *
 *  fl_node_start() runs $FLOWD on 127.0.0.1 with ports chosen by the
 *  kernel (tcp://127.0.0.1:*) and a data directory of the test's, and
 *  waits (bounded) until the node has written DATA/flowd.endpoints.  Its
 *  stderr goes to a log file the test can search.  Every wait here is
 *  bounded; a node that does not start or stop in time fails the test.
 */
#ifndef FL_HARNESS_H
#define FL_HARNESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "clients/libflow.h"

typedef struct {
    char data[512];
    char log[600];
    char client[512];
    char control[512];
    char peer[512];
    char node_id[512];
    char admin_key[600];
    pid_t pid;
} fl_proc_t;

/*  Starts a node on DATA (NULL: a new directory under the test's tmpdir)
 *  with EXTRA flags (NULL-terminated, may be NULL).  */
void fl_node_start(fl_proc_t *node, const char *data, const char *const *extra);

/*  As fl_node_start, in network namespace NETNS (NULL: this one); EXTRA
 *  then names the endpoints on the namespace's address.  */
void fl_node_start_in(fl_proc_t *node, const char *netns, const char *data,
                      const char *const *extra);

/*  Starts flowd expecting it to fail; returns its exit status and leaves
 *  its stderr in node->log.  */
int fl_node_start_fails(fl_proc_t *node, const char *data, const char *const *extra);

/*  Sends SIG and waits up to 30 s for the process to end.  Returns its
 *  exit status, or 128 + signal when a signal ended it.  */
int fl_node_stop(fl_proc_t *node, int sig);

/*  Waits up to 30 s for the node to exit on its own; same result.  */
int fl_node_wait(fl_proc_t *node);

/*  True when the node's log holds NEEDLE.  */
bool fl_node_log_has(const fl_proc_t *node, const char *needle);

/*  Runs ARGV[0] (a path) with ARGV, optional STDIN_TEXT, up to 30 s.
 *  Captures stdout into OUT and stderr into ERR (NUL-terminated,
 *  truncated to fit).  Returns the exit status (128 + signal).  */
int fl_run(const char *const *argv, const char *stdin_text,
           char *out, size_t out_cap, char *err, size_t err_cap);

/*  The path of a program under test from the environment (FLOWD,
 *  FLOW_CLI, FLOWCTL_CLI); skips the test when unset.  */
const char *fl_program(const char *env);

/*  Requests through libflow's generic call, for tests that pin the node's
 *  behaviour rather than a client's.  */

#define FL_CALL_TIMEOUT_MS 10000

/*  How the last fl_call was answered: the node's message (libflow's when
 *  no reply came) and the reply's retry advice.  */
extern struct fl_last_t {
    char message[1024];
    uint32_t retry_after_ms;
} fl_last;

/*  Sends REQ with TOKEN (NULL: none) and returns its status.  The reply,
 *  when one came, goes to *REPLY_P for the caller to free, or is freed
 *  when REPLY_P is NULL.  */
flow_status_t fl_call(flow_t *flow, const char *token, Flow__Request *req, Flow__Reply **reply_p);

/*  Fails the test at FILE:LINE unless GOT is WANT and the last message
 *  starts with PREFIX.  */
void fl_expect(flow_status_t got, flow_status_t want, const char *prefix, const char *file,
               int line);

#define FL_EXPECT(call, want, prefix) fl_expect((call), (want), (prefix), __FILE__, __LINE__)

#endif
