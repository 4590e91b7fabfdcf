/*  tests/bench/benchnode.h — a flowd for a bench: started in a fresh
 *  temporary data directory on kernel-chosen loopback ports
 *  (tcp://127.0.0.1:*), its endpoints read from DATA/flowd.endpoints,
 *  then stopped and its directory removed.
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
 *  EXTRA flags (NULL: none), then waits up to 6 s for its client
 *  endpoint.  Returns 0, or -1 (what was started is left for stop and
 *  remove).  */
int fl_benchnode_start(fl_benchnode_t *node, const char *flowd, const char *const *extra);

/*  SIGTERMs flowd and waits for it; harmless when not running.  */
void fl_benchnode_stop(fl_benchnode_t *node);

/*  Removes the data directory, if made; says so on stderr when it
 *  cannot.  */
void fl_benchnode_remove(fl_benchnode_t *node);

#endif
