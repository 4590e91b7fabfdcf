/*  tests/bench/benchlib.h — latency samples and the one-line report.
 *
 *      fl_bench_t *bench = NULL;
 *      fl_bench_new("commit", &bench);
 *      fl_bench_start(bench);
 *      ... fl_bench_record(bench, fl_bench_now_us() - t0); ...
 *      fl_bench_stop(bench);
 *      fl_bench_report(bench, stdout);
 *
 *  prints `NAME: N ops, X ops/s, p50 Y us, p99 Z us`.  Throughput is the
 *  number of samples over the wall time between start and stop, so a
 *  sample may overlap others (a write's latency inside a batch).  Benches
 *  compare such figures as ratios within one run, never against a fixed
 *  time.
 */
#ifndef FL_BENCHLIB_H
#define FL_BENCHLIB_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

typedef struct fl_bench_t fl_bench_t;

/*  Errors: FL_E_NOMEM.  */
int fl_bench_new(const char *name, fl_bench_t **bench_p);

/*  NULL-safe, nulls *bench_p.  */
void fl_bench_destroy(fl_bench_t **bench_p);

/*  Monotonic clock in microseconds.  */
uint64_t fl_bench_now_us(void);

void fl_bench_start(fl_bench_t *bench);
void fl_bench_stop(fl_bench_t *bench);

/*  Adds one operation's latency.  Errors: FL_E_NOMEM.  */
int fl_bench_record(fl_bench_t *bench, uint64_t us);

/*  The latency at percentile P (0 < P <= 100, nearest rank), 0 without
 *  samples.  */
uint64_t fl_bench_percentile(fl_bench_t *bench, double p);

/*  Samples per second between start and stop.  */
double fl_bench_ops_per_s(const fl_bench_t *bench);

void fl_bench_report(fl_bench_t *bench, FILE *out);

/*  Sets the wall time start and stop would have measured from times
 *  taken elsewhere (a log's timestamps), in microseconds.  */
void fl_bench_span(fl_bench_t *bench, uint64_t started_us, uint64_t stopped_us);

/*  Makes a fresh directory $TMPDIR/flow-bench-XXXXXX (/tmp without
 *  TMPDIR) and copies its path into DIR (capacity CAP).
 *  Errors: FL_E_IO (said on stderr).  */
int fl_bench_tmpdir(char *dir, size_t cap);

/*  Removes DIR and everything under it; says so on stderr when it
 *  cannot.  */
void fl_bench_rmdir(const char *dir);

#endif
