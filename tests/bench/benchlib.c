/*  tests/bench/benchlib.c — see benchlib.h.
 *
 *  Samples are kept whole (not bucketed) so percentiles are exact; they are
 *  sorted lazily, once, when a percentile is first asked for after a
 *  record.
 */
#include "tests/bench/benchlib.h"
#include "node/error.h"

#include <ftw.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define INITIAL_CAPACITY 1024
#define NAME_BYTES 128

struct fl_bench_t {
    char name[NAME_BYTES];
    uint64_t *samples;
    size_t count;
    size_t capacity;
    bool sorted;
    uint64_t started_us;
    uint64_t stopped_us;
};

int
fl_bench_new(const char *name, fl_bench_t **bench_p)
{
    fl_bench_t *bench = calloc(1, sizeof *bench);
    if (!bench)
        return FL_E_NOMEM;
    bench->samples = malloc(INITIAL_CAPACITY * sizeof *bench->samples);
    if (!bench->samples) {
        free(bench);
        return FL_E_NOMEM;
    }
    bench->capacity = INITIAL_CAPACITY;
    snprintf(bench->name, sizeof bench->name, "%s", name);
    *bench_p = bench;
    return 0;
}

void
fl_bench_destroy(fl_bench_t **bench_p)
{
    if (!*bench_p)
        return;
    free((*bench_p)->samples);
    free(*bench_p);
    *bench_p = NULL;
}

uint64_t
fl_bench_now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t) ts.tv_sec * 1000000 + (uint64_t) ts.tv_nsec / 1000;
}

void
fl_bench_start(fl_bench_t *bench)
{
    bench->started_us = fl_bench_now_us();
}

void
fl_bench_stop(fl_bench_t *bench)
{
    bench->stopped_us = fl_bench_now_us();
}

int
fl_bench_record(fl_bench_t *bench, uint64_t us)
{
    if (bench->count == bench->capacity) {
        uint64_t *grown = realloc(bench->samples, 2 * bench->capacity * sizeof *grown);
        if (!grown)
            return FL_E_NOMEM;
        bench->samples = grown;
        bench->capacity *= 2;
    }
    bench->samples[bench->count++] = us;
    bench->sorted = false;
    return 0;
}

static int
s_compare(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *) a, y = *(const uint64_t *) b;
    return (x > y) - (x < y);
}

uint64_t
fl_bench_percentile(fl_bench_t *bench, double p)
{
    if (bench->count == 0)
        return 0;
    if (!bench->sorted) {
        qsort(bench->samples, bench->count, sizeof *bench->samples, s_compare);
        bench->sorted = true;
    }
    double exact = p / 100.0 * (double) bench->count;
    size_t rank = (size_t) exact;
    if ((double) rank < exact)
        rank++;
    if (rank < 1)
        rank = 1;
    if (rank > bench->count)
        rank = bench->count;
    return bench->samples[rank - 1];
}

double
fl_bench_ops_per_s(const fl_bench_t *bench)
{
    uint64_t elapsed = bench->stopped_us - bench->started_us;
    if (elapsed == 0)
        return 0.0;
    return (double) bench->count * 1e6 / (double) elapsed;
}

void
fl_bench_report(fl_bench_t *bench, FILE *out)
{
    fprintf(out, "%s: %zu ops, %.0f ops/s, p50 %" PRIu64 " us, p99 %" PRIu64 " us\n",
            bench->name, bench->count, fl_bench_ops_per_s(bench),
            fl_bench_percentile(bench, 50), fl_bench_percentile(bench, 99));
}

void
fl_bench_span(fl_bench_t *bench, uint64_t started_us, uint64_t stopped_us)
{
    bench->started_us = started_us;
    bench->stopped_us = stopped_us;
}

int
fl_bench_tmpdir(char *dir, size_t cap)
{
    const char *base = getenv("TMPDIR");
    int n = snprintf(dir, cap, "%s/flow-bench-XXXXXX", base && base[0] ? base : "/tmp");
    if (n < 0 || (size_t) n >= cap || !mkdtemp(dir)) {
        fprintf(stderr, "bench: cannot make a temporary directory under %s\n",
                base && base[0] ? base : "/tmp");
        if (cap)
            dir[0] = '\0';
        return FL_E_IO;
    }
    return 0;
}

static int
s_remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void) st;
    (void) flag;
    (void) ftw;
    return remove(path);
}

void
fl_bench_rmdir(const char *dir)
{
    if (nftw(dir, s_remove_entry, 16, FTW_DEPTH | FTW_PHYS) != 0)
        fprintf(stderr, "bench: could not remove %s\n", dir);
}
