/*  tests/integration/harness.c — see harness.h.  */
#include "tests/integration/harness.h"
#include "tests/testlib.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define START_TIMEOUT_MS 30000
#define STOP_TIMEOUT_MS 30000

#define NODES_MAX 32

/*  Every flowd this test started and has not yet seen exit: a failing
 *  check exits the test at once, and must not leave nodes behind.  */
static pid_t s_started[NODES_MAX];

static void
s_kill_leftovers(void)
{
    for (int i = 0; i < NODES_MAX; i++)
        if (s_started[i] > 0) {
            kill(s_started[i], SIGKILL);
            waitpid(s_started[i], NULL, 0);
            s_started[i] = 0;
        }
}

static void
s_track(pid_t pid)
{
    static bool registered;
    if (!registered) {
        atexit(s_kill_leftovers);
        registered = true;
    }
    for (int i = 0; i < NODES_MAX; i++)
        if (s_started[i] == 0) {
            s_started[i] = pid;
            return;
        }
}

static void
s_untrack(pid_t pid)
{
    for (int i = 0; i < NODES_MAX; i++)
        if (s_started[i] == pid)
            s_started[i] = 0;
}

static long long
s_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

const char *
fl_program(const char *env)
{
    const char *path = getenv(env);
    if (!path || !*path) {
        char why[128];
        snprintf(why, sizeof why, "%s is not set; run through meson test", env);
        fl_test_skip(why);
    }
    return path;
}

static void
s_dump_log(const fl_proc_t *node)
{
    FILE *f = fopen(node->log, "r");
    if (!f)
        return;
    char line[1024];
    fprintf(stderr, "--- log of flowd (%s) ---\n", node->log);
    while (fgets(line, sizeof line, f))
        fputs(line, stderr);
    fclose(f);
}

static pid_t
s_spawn(fl_proc_t *node, const char *data, const char *const *extra, const char *netns)
{
    static int counter;
    if (data)
        snprintf(node->data, sizeof node->data, "%s", data);
    else
        snprintf(node->data, sizeof node->data, "%s/node%d", fl_test_tmpdir(), ++counter);
    snprintf(node->log, sizeof node->log, "%s.log", node->data);
    snprintf(node->admin_key, sizeof node->admin_key, "%s/keys/admin.cert_secret", node->data);

    const char *argv[72];
    size_t n = 0;
    if (netns) {
        argv[n++] = "/usr/sbin/ip";     /* it execs flowd in the namespace: the same pid */
        argv[n++] = "netns";
        argv[n++] = "exec";
        argv[n++] = netns;
    }
    argv[n++] = fl_program("FLOWD");
    argv[n++] = "--data";
    argv[n++] = node->data;
    argv[n++] = "--client";
    argv[n++] = "tcp://127.0.0.1:*";
    argv[n++] = "--control";
    argv[n++] = "tcp://127.0.0.1:*";
    argv[n++] = "--raft";
    argv[n++] = "127.0.0.1:0";
    argv[n++] = "--peer";
    argv[n++] = "tcp://127.0.0.1:*";
    for (size_t i = 0; extra && extra[i] && n < 70; i++)
        argv[n++] = extra[i];
    argv[n] = NULL;

    pid_t pid = fork();
    FL_CHECK(pid >= 0);
    if (pid == 0) {
        int fd = open(node->log, O_WRONLY | O_CREAT | O_APPEND, 0644);
        if (fd >= 0) {
            dup2(fd, STDERR_FILENO);
            dup2(fd, STDOUT_FILENO);
            close(fd);
        }
        execv(argv[0], (char *const *) argv);
        _exit(127);
    }
    s_track(pid);
    return pid;
}

static bool
s_read_endpoints(fl_proc_t *node)
{
    char path[600];
    snprintf(path, sizeof path, "%s/flowd.endpoints", node->data);
    FILE *f = fopen(path, "r");
    if (!f)
        return false;
    char line[512];
    long pid = 0;
    while (fgets(line, sizeof line, f)) {
        line[strcspn(line, "\n")] = '\0';
        if (strncmp(line, "client=", 7) == 0)
            snprintf(node->client, sizeof node->client, "%s", line + 7);
        else
        if (strncmp(line, "control=", 8) == 0)
            snprintf(node->control, sizeof node->control, "%s", line + 8);
        else
        if (strncmp(line, "peer=", 5) == 0)
            snprintf(node->peer, sizeof node->peer, "%s", line + 5);
        else
        if (strncmp(line, "node=", 5) == 0)
            snprintf(node->node_id, sizeof node->node_id, "%s", line + 5);
        else
        if (strncmp(line, "pid=", 4) == 0)
            pid = strtol(line + 4, NULL, 10);
    }
    fclose(f);
    /*  A file left by an earlier process of the same directory (killed
     *  before it could remove it) names another pid.  */
    return pid == node->pid && node->client[0] && node->control[0];
}

void
fl_node_start(fl_proc_t *node, const char *data, const char *const *extra)
{
    fl_node_start_in(node, NULL, data, extra);
}

void
fl_node_start_in(fl_proc_t *node, const char *netns, const char *data,
                 const char *const *extra)
{
    memset(node, 0, sizeof *node);
    node->pid = s_spawn(node, data, extra, netns);
    long long deadline = s_now_ms() + START_TIMEOUT_MS;
    while (s_now_ms() < deadline) {
        if (s_read_endpoints(node))
            return;
        int status;
        if (waitpid(node->pid, &status, WNOHANG) == node->pid) {
            s_untrack(node->pid);
            node->pid = 0;
            s_dump_log(node);
            fl_test_fail(__FILE__, __LINE__, "flowd exited during start");
        }
        usleep(10000);
    }
    s_dump_log(node);
    fl_test_fail(__FILE__, __LINE__, "flowd did not write flowd.endpoints in time");
}

static int
s_wait(pid_t pid, int timeout_ms)
{
    long long deadline = s_now_ms() + timeout_ms;
    while (s_now_ms() < deadline) {
        int status;
        pid_t rc = waitpid(pid, &status, WNOHANG);
        if (rc == pid) {
            s_untrack(pid);
            return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
        }
        if (rc < 0 && errno != EINTR)
            return -1;
        usleep(5000);
    }
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    s_untrack(pid);
    return -2;
}

int
fl_node_start_fails(fl_proc_t *node, const char *data, const char *const *extra)
{
    memset(node, 0, sizeof *node);
    pid_t pid = s_spawn(node, data, extra, NULL);
    int rc = s_wait(pid, START_TIMEOUT_MS);
    FL_CHECK(rc != -2);
    return rc;
}

int
fl_node_stop(fl_proc_t *node, int sig)
{
    FL_CHECK(node->pid > 0);
    kill(node->pid, sig);
    return fl_node_wait(node);
}

int
fl_node_wait(fl_proc_t *node)
{
    int rc = s_wait(node->pid, STOP_TIMEOUT_MS);
    node->pid = 0;
    if (rc == -2) {
        s_dump_log(node);
        fl_test_fail(__FILE__, __LINE__, "flowd did not stop in time");
    }
    return rc;
}

bool
fl_node_log_has(const fl_proc_t *node, const char *needle)
{
    FILE *f = fopen(node->log, "r");
    if (!f)
        return false;
    char line[4096];
    bool found = false;
    while (!found && fgets(line, sizeof line, f))
        found = strstr(line, needle) != NULL;
    fclose(f);
    return found;
}


int
fl_run(const char *const *argv, const char *stdin_text,
       char *out, size_t out_cap, char *err, size_t err_cap)
{
    int in_pipe[2], out_pipe[2], err_pipe[2];
    FL_CHECK(pipe(in_pipe) == 0 && pipe(out_pipe) == 0 && pipe(err_pipe) == 0);
    pid_t pid = fork();
    FL_CHECK(pid >= 0);
    if (pid == 0) {
        dup2(in_pipe[0], STDIN_FILENO);
        dup2(out_pipe[1], STDOUT_FILENO);
        dup2(err_pipe[1], STDERR_FILENO);
        close(in_pipe[1]);
        close(out_pipe[0]);
        close(err_pipe[0]);
        execv(argv[0], (char *const *) argv);
        _exit(127);
    }
    close(in_pipe[0]);
    close(out_pipe[1]);
    close(err_pipe[1]);
    if (stdin_text) {
        ssize_t w = write(in_pipe[1], stdin_text, strlen(stdin_text));
        (void) w;
    }
    close(in_pipe[1]);
    /*  Read both pipes until both close, bounded by the deadline.  */
    size_t out_used = 0, err_used = 0;
    out[0] = err[0] = '\0';
    long long deadline = s_now_ms() + STOP_TIMEOUT_MS;
    struct pollfd fds[2] = { { out_pipe[0], POLLIN, 0 }, { err_pipe[0], POLLIN, 0 } };
    int open_fds = 2;
    while (open_fds > 0 && s_now_ms() < deadline) {
        if (poll(fds, 2, 100) <= 0)
            continue;
        for (int i = 0; i < 2; i++) {
            if (fds[i].fd < 0 || !(fds[i].revents & (POLLIN | POLLHUP)))
                continue;
            char chunk[4096];
            ssize_t n = read(fds[i].fd, chunk, sizeof chunk);
            if (n <= 0) {
                close(fds[i].fd);
                fds[i].fd = -1;
                open_fds--;
                continue;
            }
            char *buf = i == 0 ? out : err;
            size_t cap = i == 0 ? out_cap : err_cap;
            size_t *used = i == 0 ? &out_used : &err_used;
            size_t take = (size_t) n;
            if (*used + take > cap - 1)
                take = cap - 1 - *used;
            memcpy(buf + *used, chunk, take);
            *used += take;
            buf[*used] = '\0';
        }
    }
    for (int i = 0; i < 2; i++)
        if (fds[i].fd >= 0)
            close(fds[i].fd);
    int rc = s_wait(pid, 1000 + (int) (deadline > s_now_ms() ? deadline - s_now_ms() : 0));
    FL_CHECK(rc != -2);
    return rc;
}

/*  ------------------------------------------------------------------
 *  Requests  */

struct fl_last_t fl_last;

flow_status_t
fl_call(flow_t *flow, const char *token, Flow__Request *req, Flow__Reply **reply_p)
{
    req->token = (char *) (token ? token : "");
    Flow__Reply *reply = NULL;
    flow_status_t status = flow_call(flow, req, &reply, FL_CALL_TIMEOUT_MS);
    snprintf(fl_last.message, sizeof fl_last.message, "%s",
             reply ? reply->message : flow_error(flow));
    fl_last.retry_after_ms = reply ? reply->retry_after_ms : 0;
    if (reply_p)
        *reply_p = reply;
    else
    if (reply)
        flow__reply__free_unpacked(reply, NULL);
    return status;
}

void
fl_expect(flow_status_t got, flow_status_t want, const char *prefix, const char *file, int line)
{
    if (got == want && strncmp(fl_last.message, prefix, strlen(prefix)) == 0)
        return;
    char what[1600];
    snprintf(what, sizeof what, "expected %s \"%s...\", got %s \"%s\"", flow_status_name(want),
             prefix, flow_status_name(got), fl_last.message);
    fl_test_fail(file, line, what);
}
