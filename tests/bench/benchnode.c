/*  tests/bench/benchnode.c — a throwaway flowd for the benches; see
 *  benchnode.h.
 */
#include "tests/bench/benchnode.h"
#include "tests/bench/benchlib.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define EXTRA_MAX 32
#define WAIT_ROUNDS 300
#define WAIT_US 20000

/*  Copies the value of "NAME=" in LINE into OUT.  */
static void
s_endpoint(const char *line, const char *name, char *out, size_t cap)
{
    size_t len = strlen(name);
    if (strncmp(line, name, len) == 0 && line[len] == '=')
        snprintf(out, cap, "%.*s", (int) strcspn(line + len + 1, "\n"), line + len + 1);
}

int
fl_benchnode_start(fl_benchnode_t *node, const char *flowd, const char *const *extra)
{
    char dir[sizeof node->dir];
    if (fl_bench_tmpdir(dir, sizeof dir) != 0) {
        memset(node, 0, sizeof *node);
        return -1;
    }
    return fl_benchnode_start_in(node, dir, flowd, extra);
}

int
fl_benchnode_start_in(fl_benchnode_t *node, const char *dir, const char *flowd,
                      const char *const *extra)
{
    memset(node, 0, sizeof *node);
    if (strlen(dir) >= sizeof node->dir)
        return -1;
    snprintf(node->dir, sizeof node->dir, "%s", dir);
    const char *argv[18 + EXTRA_MAX + 1] = {
        flowd, "--data", node->dir, "--client", "tcp://127.0.0.1:*",
        "--control", "tcp://127.0.0.1:*", "--raft", "127.0.0.1:0",
        "--peer", "tcp://127.0.0.1:*", "--log-level", "warn",
        "--pwhash-ops", "1", "--pwhash-mem-kb", "8",
    };
    size_t argc = 17;
    for (size_t i = 0; extra && extra[i]; i++) {
        if (i == EXTRA_MAX)
            return -1;
        argv[argc++] = extra[i];
    }
    argv[argc] = NULL;
    node->pid = fork();
    if (node->pid < 0) {
        node->pid = 0;
        return -1;
    }
    if (node->pid == 0) {
        int null = open("/dev/null", O_WRONLY);
        dup2(null, STDERR_FILENO);
        execv(flowd, (char *const *) argv);
        _exit(127);
    }
    char path[300];
    snprintf(path, sizeof path, "%s/flowd.endpoints", node->dir);
    for (int i = 0; i < WAIT_ROUNDS; i++) {
        FILE *f = fopen(path, "r");
        if (f) {
            char line[300];
            while (fgets(line, sizeof line, f)) {
                s_endpoint(line, "client", node->client, sizeof node->client);
                s_endpoint(line, "control", node->control, sizeof node->control);
                s_endpoint(line, "peer", node->peer, sizeof node->peer);
            }
            fclose(f);
            if (node->client[0])
                return 0;
        }
        usleep(WAIT_US);
    }
    return -1;
}

void
fl_benchnode_stop(fl_benchnode_t *node)
{
    if (node->pid > 0) {
        kill(node->pid, SIGTERM);
        waitpid(node->pid, NULL, 0);
    }
    node->pid = 0;
}

void
fl_benchnode_remove(fl_benchnode_t *node)
{
    if (!node->dir[0])
        return;
    fl_bench_rmdir(node->dir);
    node->dir[0] = '\0';
}

/*  Reads FD to its end into OUT (capacity CAP); what does not fit is
 *  read and dropped, so the writer never blocks.  */
static void
s_read_all(int fd, char *out, size_t cap)
{
    size_t used = 0;
    char spill[4096];
    for (;;) {
        char *to = used + 1 < cap ? out + used : spill;
        size_t room = used + 1 < cap ? cap - 1 - used : sizeof spill;
        ssize_t n = read(fd, to, room);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        if (to != spill)
            used += (size_t) n;
    }
    if (cap)
        out[used] = '\0';
}

int
fl_benchnode_flowctl(const fl_benchnode_t *node, const char *flowctl, const char *const *args,
                     char *out, size_t cap)
{
    char key[sizeof node->dir + 32];
    snprintf(key, sizeof key, "%s/keys/admin.cert_secret", node->dir);
    const char *argv[10 + EXTRA_MAX + 1] = {
        flowctl, "--control", node->control, "--key", key, "--timeout", "5000", "--json",
    };
    size_t argc = 8;
    for (size_t i = 0; args && args[i]; i++) {
        if (i == EXTRA_MAX)
            return -1;
        argv[argc++] = args[i];
    }
    argv[argc] = NULL;
    int fds[2];
    if (pipe(fds) != 0)
        return -1;
    pid_t pid = fork();
    if (pid < 0) {
        close(fds[0]);
        close(fds[1]);
        return -1;
    }
    if (pid == 0) {
        int null = open("/dev/null", O_WRONLY);
        dup2(fds[1], STDOUT_FILENO);
        dup2(null, STDERR_FILENO);
        close(fds[0]);
        execv(flowctl, (char *const *) argv);
        _exit(127);
    }
    close(fds[1]);
    s_read_all(fds[0], out, cap);
    close(fds[0]);
    int status = 0;
    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR)
            return -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}
