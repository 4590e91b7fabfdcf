/*  tests/bench/pinger.h — pings through a real flowd with a window of
 *  requests in flight, for the benches that measure request paths.
 */
#ifndef FL_PINGER_H
#define FL_PINGER_H

#include <stddef.h>

#include "clients/libflow.h"
#include "tests/bench/benchlib.h"

#define FL_PINGS_WINDOW_MAX 64

/*  REQUESTS pings to ACTOR (UNSPECIFIED: answered by the session) at
 *  ENDPOINT with TOKEN ("" for none), WINDOW (1..FL_PINGS_WINDOW_MAX) in
 *  flight over one connection, as raw frames so the client library's
 *  one-call-at-a-time API does not hide the pipeline; the keys are KEYS
 *  in turn (NKEYS of them), or with KEYS NULL each a new one, so routed
 *  pings spread over partitions.  Returns 0, or -1 when a ping failed
 *  (said on stderr).  */
int fl_pings(const char *endpoint, Flow__Actor actor, const char *token, int window,
             int requests, const char *const *keys, size_t nkeys, fl_bench_t *bench);

/*  Reads `--flowd PATH` (default $FLOWD) and `--requests N` from ARGV;
 *  -1 after printing NAME's usage when either is missing or bad.  */
int fl_pings_args(int argc, char **argv, const char *name, const char **flowd, int *requests);

/*  Signs a bench user up at ENDPOINT and copies its access token into
 *  TOKEN.  Returns 0 or -1 (said on stderr).  */
int fl_pings_sign_up(const char *endpoint, char *token, size_t cap);

#endif
