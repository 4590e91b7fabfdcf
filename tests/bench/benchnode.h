/*  tests/bench/benchnode.h — a flowd for a bench: started in a fresh
 *  temporary data directory (or one the bench prepared) on kernel-chosen
 *  loopback ports (tcp://127.0.0.1:*), its endpoints read from
 *  DATA/flowd.endpoints, asked things with flowctl, then stopped and its
 *  directory removed.
 *
 *      fl_benchnode_t node;
 *      const char *extra[] = { "--rate-requests-per-s", "10000000", NULL };
 *      if (fl_benchnode_start(&node, flowd, extra) == 0)
 *          ... flow_new(node.client) ...
 *      fl_benchnode_stop(&node);
 *      fl_benchnode_remove(&node);
 */
#ifndef FL_BENCHNODE_H
#define FL_BENCHNODE_H

#include <stddef.h>
#include <sys/types.h>

typedef struct {
    pid_t pid;                      /* 0: not running */
    char dir[256];                  /* "" until made */
    char client[300];               /* endpoints, "" until read */
    char control[300];
    char peer[300];
} fl_benchnode_t;

/*  Makes the directory and runs FLOWD in it (stderr to /dev/null, log
 *  level warn, the cheapest password hashing) with the NULL-terminated
 *  EXTRA flags (NULL: none; they come last, so theirs win), then waits up
 *  to 6 s for its client endpoint.  Returns 0, or -1 (what was started is
 *  left for stop and remove).  */
int fl_benchnode_start(fl_benchnode_t *node, const char *flowd, const char *const *extra);

/*  fl_benchnode_start in DIR, an existing directory (a data directory
 *  the bench filled before, or an empty one), which the node takes: remove
 *  deletes it.  */
int fl_benchnode_start_in(fl_benchnode_t *node, const char *dir, const char *flowd,
                          const char *const *extra);

/*  Runs `FLOWCTL --control <its control endpoint> --key
 *  DATA/keys/admin.cert_secret --timeout 5000 --json ARGS...` (ARGS
 *  NULL-terminated) against NODE and copies what it prints on stdout
 *  into OUT (capacity CAP, cut there, always terminated).  Returns its
 *  exit status, or -1 when it could not run or was killed.  */
int fl_benchnode_flowctl(const fl_benchnode_t *node, const char *flowctl,
                         const char *const *args, char *out, size_t cap);

/*  SIGTERMs flowd and waits for it; harmless when not running.  */
void fl_benchnode_stop(fl_benchnode_t *node);

/*  Removes the data directory, if made; says so on stderr when it
 *  cannot.  */
void fl_benchnode_remove(fl_benchnode_t *node);

#endif
