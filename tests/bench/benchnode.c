/*  tests/bench/benchnode.c — a throwaway flowd for the benches; see
 *  benchnode.h.
 */
#include "tests/bench/benchnode.h"

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
    memset(node, 0, sizeof *node);
    snprintf(node->dir, sizeof node->dir, "/tmp/flow-bench-XXXXXX");
    if (!mkdtemp(node->dir)) {
        node->dir[0] = '\0';
        return -1;
    }
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
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", node->dir);
    if (system(cmd) != 0)
        fprintf(stderr, "bench: could not remove %s\n", node->dir);
    node->dir[0] = '\0';
}
