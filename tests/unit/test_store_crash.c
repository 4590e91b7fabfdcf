/*  tests/unit/test_store_crash.c — the durability acceptance test.
 *
 *  A writer process killed with SIGKILL in the middle of a stream of group
 *  commits: every batch it reported as committed is present, no batch is
 *  present in part, and the environment opens cleanly.  The child reports
 *  a batch only after fl_store_write() returned 0, so at most one batch
 *  past the last reported one may be present (committed, killed before it
 *  could report), and it must be whole.  Several rounds run on the same
 *  directory, each checking everything written so far.
 */
#include "tests/testlib.h"
#include "storage/keyspace.h"
#include "storage/store.h"
#include "node/error.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define DB "crash"
#define PER_BATCH 50
#define VALUE_BYTES 100
#define ROUNDS 6
#define CHILD_BATCHES 100000   /* bound on a child that is never killed */
#define REPORT_TIMEOUT_MS 20000
#define ROUND_STRIDE 1000000

typedef struct {
    MDB_dbi dbi;
    uint32_t batch;
} s_batch_t;

static int
s_key(uint32_t batch, uint32_t i, uint8_t *buf, size_t cap)
{
    char suffix[32];
    int len = snprintf(suffix, sizeof suffix, "b%08u-r%02u", batch, i);
    return fl_keyspace_key((uint16_t) (batch % 1024), suffix, (size_t) len, buf, cap);
}

static void
s_value(uint8_t value[VALUE_BYTES], uint32_t batch, uint32_t i)
{
    for (int j = 0; j < VALUE_BYTES; j++)
        value[j] = (uint8_t) (batch + i * 3 + (uint32_t) j);
}

static int
s_batch_apply(MDB_txn *txn, void *arg)
{
    const s_batch_t *b = arg;
    for (uint32_t i = 0; i < PER_BATCH; i++) {
        uint8_t kbuf[64], value[VALUE_BYTES];
        int klen = s_key(b->batch, i, kbuf, sizeof kbuf);
        if (klen < 0)
            return klen;
        s_value(value, b->batch, i);
        MDB_val key = { .mv_size = (size_t) klen, .mv_data = kbuf };
        MDB_val data = { .mv_size = VALUE_BYTES, .mv_data = value };
        int rc = mdb_put(txn, b->dbi, &key, &data, 0);
        if (rc != 0)
            return rc;
    }
    return 0;
}

/*  The writer: commits batches FIRST, FIRST+1, ... and reports each id on
 *  FD once fl_store_write() returned 0.  Never returns.  */
static void
s_writer(const char *dir, uint32_t first, int fd)
{
    fl_store_t *store = NULL;
    MDB_dbi dbi;
    if (fl_store_open(dir, NULL, &store) != 0 || fl_store_dbi(store, DB, &dbi) != 0)
        _exit(2);
    for (uint32_t b = first; b < first + CHILD_BATCHES; b++) {
        s_batch_t batch = { .dbi = dbi, .batch = b };
        if (fl_store_write(store, s_batch_apply, &batch) != 0)
            _exit(3);
        if (write(fd, &b, sizeof b) != (ssize_t) sizeof b)
            _exit(4);
    }
    _exit(0);
}

/*  Reads one reported id; false at end of stream.  */
static bool
s_read_id(int fd, uint32_t *id)
{
    struct pollfd pfd = { .fd = fd, .events = POLLIN };
    int ready;
    do
        ready = poll(&pfd, 1, REPORT_TIMEOUT_MS);
    while (ready < 0 && errno == EINTR);
    FL_CHECK_INT(ready, ==, 1);
    ssize_t n;
    do
        n = read(fd, id, sizeof *id);
    while (n < 0 && errno == EINTR);
    FL_CHECK(n == 0 || n == (ssize_t) sizeof *id);
    return n == (ssize_t) sizeof *id;
}

/*  Runs one writer from FIRST, kills it after KILL_AFTER reports and
 *  returns the last id it reported.  */
static uint32_t
s_run_and_kill(const char *dir, uint32_t first, int kill_after, useconds_t delay)
{
    int fds[2];
    FL_CHECK_INT(pipe(fds), ==, 0);
    pid_t pid = fork();
    FL_CHECK(pid >= 0);
    if (pid == 0) {
        close(fds[0]);
        s_writer(dir, first, fds[1]);
    }
    close(fds[1]);
    uint32_t id = 0, expect = first;
    for (int seen = 0; seen < kill_after; seen++) {
        FL_CHECK(s_read_id(fds[0], &id));
        FL_CHECK_INT(id, ==, expect);
        expect++;
    }
    usleep(delay);
    FL_CHECK_INT(kill(pid, SIGKILL), ==, 0);
    int status = 0;
    FL_CHECK_INT(waitpid(pid, &status, 0), ==, pid);
    FL_CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
    while (s_read_id(fds[0], &id)) {
        FL_CHECK_INT(id, ==, expect);
        expect++;
    }
    close(fds[0]);
    return expect - 1;
}

/*  How many records of BATCH are present with their values.  */
static int
s_present(MDB_txn *txn, MDB_dbi dbi, uint32_t batch)
{
    int present = 0;
    for (uint32_t i = 0; i < PER_BATCH; i++) {
        uint8_t kbuf[64], expect[VALUE_BYTES];
        int klen = s_key(batch, i, kbuf, sizeof kbuf);
        FL_CHECK(klen > 0);
        s_value(expect, batch, i);
        MDB_val key = { .mv_size = (size_t) klen, .mv_data = kbuf }, data;
        if (mdb_get(txn, dbi, &key, &data) == 0 && data.mv_size == VALUE_BYTES
                && memcmp(data.mv_data, expect, VALUE_BYTES) == 0)
            present++;
    }
    return present;
}

/*  Checks round FIRST..LAST (reported) and returns how many batches of
 *  the round are stored: the reported ones, and perhaps one more.  */
static uint32_t
s_check_round(fl_store_t *store, MDB_dbi dbi, uint32_t first, uint32_t last)
{
    MDB_txn *txn = NULL;
    FL_CHECK_INT(fl_store_read_begin(store, &txn), ==, 0);
    for (uint32_t b = first; b <= last; b++)
        FL_CHECK_INT(s_present(txn, dbi, b), ==, PER_BATCH);
    int extra = s_present(txn, dbi, last + 1);
    FL_CHECK(extra == 0 || extra == PER_BATCH);
    FL_CHECK_INT(s_present(txn, dbi, last + 2), ==, 0);
    fl_store_read_end(store, &txn);
    return last - first + 1 + (extra ? 1 : 0);
}

FL_TEST(killed_writer_loses_no_reported_batch)
{
    const char *dir = fl_test_tmpdir();
    size_t stored = 0;
    for (uint32_t round = 0; round < ROUNDS; round++) {
        uint32_t first = (round + 1) * ROUND_STRIDE;
        uint32_t last = s_run_and_kill(dir, first, 5 + 11 * (int) round,
                                       (useconds_t) (round * 1300));
        fl_store_t *store = NULL;
        MDB_dbi dbi;
        FL_CHECK_INT(fl_store_open(dir, NULL, &store), ==, 0);
        FL_CHECK_INT(fl_store_dbi(store, DB, &dbi), ==, 0);
        stored += s_check_round(store, dbi, first, last);

        MDB_txn *txn = NULL;
        MDB_stat stat;
        FL_CHECK_INT(fl_store_read_begin(store, &txn), ==, 0);
        FL_CHECK_INT(mdb_stat(txn, dbi, &stat), ==, 0);
        fl_store_read_end(store, &txn);
        FL_CHECK_INT(stat.ms_entries, ==, stored * PER_BATCH);
        FL_CHECK_INT(fl_store_housekeeping(store), >=, 0);
        fl_store_destroy(&store);
    }
}
