/*  Acknowledged account writes survive the node stopping mid-stream,
 *  cleanly (SIGTERM) or not at all (SIGKILL).
 *
 *  WORKERS client processes (fork: each its own libflow and connection)
 *  register accounts and change their bios in a loop, one request at a
 *  time, and report over a pipe every bio they are about to send and
 *  every write the node acknowledged.  Once enough writes are
 *  acknowledged the node gets the signal; each worker stops at its first
 *  request that fails.  After a restart on the same data directory every
 *  acknowledged account must sign in, and its bio must be the last one
 *  acknowledged — or the one sent after it whose answer was lost, since
 *  a write may be committed without its reply ever arriving.
 *
 *  A worker reports with _exit and never through the test library: an
 *  exit() in a child would run the parent's atexit handlers, which stop
 *  the node and remove the test's directory.
 */
#include "clients/libflow.h"
#include "tests/integration/harness.h"
#include "tests/testlib.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define WORKERS 4
#define ACCOUNTS_MAX 500                /* per worker */
#define BIOS 3                          /* bio changes per account */
#define ACKS_BEFORE_SIGNAL 200
#define WAIT_MS 60000
#define CALL_TIMEOUT_MS 3000
#define PASSWORD "correct horse battery"
#define LINE_MAX_BYTES 128

static const char *const s_flags[] = {
    "--pwhash-ops", "1", "--pwhash-mem-kb", "8",
    "--rate-auth-per-min", "1000000", "--rate-requests-per-s", "1000000", NULL
};

/*  What the workers reported about one account.  */
typedef struct {
    bool signed_up;             /* the sign-up was acknowledged */
    int acked;                  /* last acknowledged bio, -1: none */
    int sent;                   /* last bio sent, -1: none */
} s_account_t;

typedef struct {
    s_account_t accounts[WORKERS][ACCOUNTS_MAX];
    int acks;
    int failures;               /* requests that failed, one per worker at most */
    int bad_failures;           /* of them, with a status a stopping node must not give */
    char first_bad[LINE_MAX_BYTES];
} s_report_t;

static long long
s_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void
s_email(char *out, size_t cap, int worker, int account)
{
    snprintf(out, cap, "w%d.a%d@example.com", worker, account);
}

static void
s_bio(char *out, size_t cap, int worker, int account, int n)
{
    snprintf(out, cap, "bio %d of worker %d account %d", n, worker, account);
}

/*  ------------------------------------------------------------------
 *  A worker (child process)  */

static void
s_say(int fd, const char *line)
{
    ssize_t n = write(fd, line, strlen(line));
    (void) n;
}

static flow_status_t
s_worker_sign_up(flow_t *flow, const char *email, char *token, size_t cap)
{
    Flow__SignUpRequest body = FLOW__SIGN_UP_REQUEST__INIT;
    body.email = (char *) email;
    body.password = PASSWORD;
    body.display_name = "Worker";
    Flow__Request req = FLOW__REQUEST__INIT;
    req.body_case = FLOW__REQUEST__BODY_SIGN_UP;
    req.sign_up = &body;
    Flow__Reply *reply = NULL;
    flow_status_t status = flow_call(flow, &req, &reply, CALL_TIMEOUT_MS);
    if (status == FLOW_OK && reply->body_case == FLOW__REPLY__BODY_SESSION)
        snprintf(token, cap, "%s", reply->session->access_token);
    else
    if (status == FLOW_OK)
        status = FLOW_INTERNAL;
    if (reply)
        flow__reply__free_unpacked(reply, NULL);
    return status;
}

static flow_status_t
s_worker_set_bio(flow_t *flow, const char *token, const char *bio)
{
    Flow__TextValue value = FLOW__TEXT_VALUE__INIT;
    value.value = (char *) bio;
    Flow__UpdateProfileRequest body = FLOW__UPDATE_PROFILE_REQUEST__INIT;
    body.bio = &value;
    Flow__Request req = FLOW__REQUEST__INIT;
    req.token = (char *) token;
    req.body_case = FLOW__REQUEST__BODY_UPDATE_PROFILE;
    req.update_profile = &body;
    return flow_call(flow, &req, NULL, CALL_TIMEOUT_MS);
}

/*  Registers accounts and changes their bios until a request fails,
 *  reporting on FD:  "S w a" signed up,  "T w a n" sending bio n,
 *  "U w a n" bio n acknowledged,  "E w STATUS" the request that failed.  */
static void __attribute__((noreturn))
s_worker(const char *endpoint, int worker, int fd)
{
    flow_t *flow = flow_new(endpoint);
    if (!flow)
        _exit(3);
    flow_set_retries(flow, 0);
    flow_status_t status = FLOW_OK;
    char line[LINE_MAX_BYTES], email[64], bio[64], token[600];
    for (int a = 0; a < ACCOUNTS_MAX && status == FLOW_OK; a++) {
        s_email(email, sizeof email, worker, a);
        status = s_worker_sign_up(flow, email, token, sizeof token);
        if (status == FLOW_OK) {
            snprintf(line, sizeof line, "S %d %d\n", worker, a);
            s_say(fd, line);
        }
        for (int n = 0; n < BIOS && status == FLOW_OK; n++) {
            s_bio(bio, sizeof bio, worker, a, n);
            snprintf(line, sizeof line, "T %d %d %d\n", worker, a, n);
            s_say(fd, line);
            status = s_worker_set_bio(flow, token, bio);
            if (status == FLOW_OK) {
                snprintf(line, sizeof line, "U %d %d %d\n", worker, a, n);
                s_say(fd, line);
            }
        }
    }
    if (status != FLOW_OK) {
        snprintf(line, sizeof line, "E %d %s\n", worker, flow_status_name(status));
        s_say(fd, line);
    }
    flow_destroy(&flow);
    close(fd);
    _exit(0);
}

/*  ------------------------------------------------------------------
 *  The parent: collecting reports  */

static void
s_take_line(s_report_t *report, const char *line)
{
    char kind = 0, status[64] = "";
    int w = -1, a = -1, n = -1;
    if (line[0] == 'E' && sscanf(line, "E %d %63s", &w, status) == 2) {
        report->failures++;
        if (strcmp(status, "UNAVAILABLE") != 0 && strcmp(status, "DEADLINE_EXCEEDED") != 0
            && report->bad_failures++ == 0)
            snprintf(report->first_bad, sizeof report->first_bad, "%s", line);
        return;
    }
    int got = sscanf(line, "%c %d %d %d", &kind, &w, &a, &n);
    FL_CHECK(got >= 3 && w >= 0 && w < WORKERS && a >= 0 && a < ACCOUNTS_MAX);
    s_account_t *acc = &report->accounts[w][a];
    if (kind == 'S') {
        acc->signed_up = true;
        report->acks++;
    }
    else
    if (kind == 'T' && got == 4)
        acc->sent = n;
    else
    if (kind == 'U' && got == 4) {
        FL_CHECK_INT(n, ==, acc->sent);
        acc->acked = n;
        report->acks++;
    }
    else
        FL_CHECK(!"a worker reported an unknown line");
}

typedef struct {
    int fd;
    char buf[4096];
    size_t used;
} s_reader_t;

/*  Reads what FD has; returns false at its end.  */
static bool
s_read_some(s_report_t *report, s_reader_t *r)
{
    ssize_t n = read(r->fd, r->buf + r->used, sizeof r->buf - 1 - r->used);
    if (n < 0 && errno == EINTR)
        return true;
    if (n <= 0)
        return false;
    r->used += (size_t) n;
    r->buf[r->used] = '\0';
    char *start = r->buf, *nl;
    while ((nl = strchr(start, '\n'))) {
        *nl = '\0';
        s_take_line(report, start);
        start = nl + 1;
    }
    r->used = (size_t) (r->buf + r->used - start);
    memmove(r->buf, start, r->used);
    FL_CHECK(r->used < sizeof r->buf - 1);
    return true;
}

/*  Reads reports until every worker has closed its pipe or, when
 *  UNTIL_ACKS > 0, until that many writes are acknowledged; at most
 *  until DEADLINE.  Returns the number of pipes still open.  */
static int
s_collect(s_report_t *report, s_reader_t readers[WORKERS], int until_acks, long long deadline)
{
    int open = 0;
    for (int i = 0; i < WORKERS; i++)
        open += readers[i].fd >= 0;
    while (open > 0 && s_now_ms() < deadline && (until_acks <= 0 || report->acks < until_acks)) {
        struct pollfd fds[WORKERS];
        for (int i = 0; i < WORKERS; i++)
            fds[i] = (struct pollfd) { readers[i].fd, POLLIN, 0 };
        if (poll(fds, WORKERS, 100) <= 0)
            continue;
        for (int i = 0; i < WORKERS; i++) {
            if (fds[i].fd < 0 || !(fds[i].revents & (POLLIN | POLLHUP | POLLERR)))
                continue;
            if (!s_read_some(report, &readers[i])) {
                close(readers[i].fd);
                readers[i].fd = -1;
                open--;
            }
        }
    }
    return open;
}

/*  Waits (bounded) for the workers; kills those still running.  Returns
 *  how many ended normally with status 0.  */
static int
s_reap(pid_t pids[WORKERS], long long deadline)
{
    int clean = 0, left = WORKERS;
    while (left > 0 && s_now_ms() < deadline) {
        for (int i = 0; i < WORKERS; i++) {
            int status;
            if (pids[i] > 0 && waitpid(pids[i], &status, WNOHANG) == pids[i]) {
                clean += WIFEXITED(status) && WEXITSTATUS(status) == 0;
                pids[i] = 0;
                left--;
            }
        }
        if (left > 0)
            usleep(10000);
    }
    for (int i = 0; i < WORKERS; i++)
        if (pids[i] > 0) {
            kill(pids[i], SIGKILL);
            waitpid(pids[i], NULL, 0);
        }
    return clean;
}

/*  ------------------------------------------------------------------
 *  Checking after the restart  */

static void
s_check_account(flow_t *flow, int worker, int account, const s_account_t *acc)
{
    char email[64], expected[64], sent[64];
    s_email(email, sizeof email, worker, account);
    Flow__LoginRequest login = FLOW__LOGIN_REQUEST__INIT;
    login.email = email;
    login.password = PASSWORD;
    Flow__Request req = FLOW__REQUEST__INIT;
    req.body_case = FLOW__REQUEST__BODY_LOGIN;
    req.login = &login;
    Flow__Reply *reply = NULL;
    flow_status_t status = flow_call(flow, &req, &reply, 10000);
    if (status != FLOW_OK)
        fprintf(stderr, "login of %s: %s %s\n", email, flow_status_name(status), flow_error(flow));
    FL_CHECK_INT(status, ==, FLOW_OK);
    FL_CHECK(reply->body_case == FLOW__REPLY__BODY_SESSION);

    Flow__GetProfileRequest get = FLOW__GET_PROFILE_REQUEST__INIT;
    Flow__Request req2 = FLOW__REQUEST__INIT;
    req2.token = reply->session->access_token;
    req2.body_case = FLOW__REQUEST__BODY_GET_PROFILE;
    req2.get_profile = &get;
    Flow__Reply *profile = NULL;
    FL_CHECK_INT(flow_call(flow, &req2, &profile, 10000), ==, FLOW_OK);
    FL_CHECK(profile->body_case == FLOW__REPLY__BODY_PROFILE);
    const char *bio = profile->profile->bio;
    if (acc->acked >= 0)
        s_bio(expected, sizeof expected, worker, account, acc->acked);
    else
        expected[0] = '\0';
    s_bio(sent, sizeof sent, worker, account, acc->sent);
    bool lost_reply = acc->sent > acc->acked && strcmp(bio, sent) == 0;
    if (strcmp(bio, expected) != 0 && !lost_reply) {
        char what[512];
        snprintf(what, sizeof what, "%s: bio \"%s\", acknowledged \"%s\"", email, bio, expected);
        fl_test_fail(__FILE__, __LINE__, what);
    }
    flow__reply__free_unpacked(profile, NULL);
    flow__reply__free_unpacked(reply, NULL);
}

/*  Runs the workers against a node, stops it with SIG mid-stream,
 *  restarts it and checks every acknowledged write.  */
static void
s_stop_under_writes(int sig, int expected_exit)
{
    fl_proc_t node;
    fl_node_start(&node, NULL, s_flags);
    char data[512];
    snprintf(data, sizeof data, "%s", node.data);

    static s_report_t report;
    memset(&report, 0, sizeof report);
    for (int w = 0; w < WORKERS; w++)
        for (int a = 0; a < ACCOUNTS_MAX; a++)
            report.accounts[w][a] = (s_account_t) { false, -1, -1 };
    s_reader_t readers[WORKERS];
    pid_t pids[WORKERS];
    for (int w = 0; w < WORKERS; w++) {
        int fds[2];
        FL_CHECK(pipe(fds) == 0);
        pids[w] = fork();
        FL_CHECK(pids[w] >= 0);
        if (pids[w] == 0) {
            close(fds[0]);
            for (int i = 0; i < w; i++)
                close(readers[i].fd);
            s_worker(node.client, w, fds[1]);
        }
        close(fds[1]);
        readers[w].fd = fds[0];
        readers[w].used = 0;
    }

    long long deadline = s_now_ms() + WAIT_MS;
    s_collect(&report, readers, ACKS_BEFORE_SIGNAL, deadline);
    int acks_before = report.acks;
    kill(node.pid, sig);
    int open = s_collect(&report, readers, 0, s_now_ms() + WAIT_MS);
    int clean = s_reap(pids, s_now_ms() + WAIT_MS);
    for (int w = 0; w < WORKERS; w++)
        if (readers[w].fd >= 0)
            close(readers[w].fd);
    FL_CHECK_INT(fl_node_wait(&node), ==, expected_exit);
    FL_CHECK_INT(acks_before, >=, ACKS_BEFORE_SIGNAL);
    FL_CHECK_INT(open, ==, 0);
    FL_CHECK_INT(clean, ==, WORKERS);
    if (report.bad_failures)
        fprintf(stderr, "a worker failed with: %s\n", report.first_bad);
    FL_CHECK_INT(report.bad_failures, ==, 0);

    fl_node_start(&node, data, s_flags);
    flow_t *flow = flow_new(node.client);
    int checked = 0;
    for (int w = 0; w < WORKERS; w++)
        for (int a = 0; a < ACCOUNTS_MAX; a++)
            if (report.accounts[w][a].signed_up) {
                s_check_account(flow, w, a, &report.accounts[w][a]);
                checked++;
            }
    FL_CHECK_INT(checked, >, 0);
    fprintf(stderr, "%d writes acknowledged (%d before the signal), %d failed, %d accounts "
            "checked\n", report.acks, acks_before, report.failures, checked);
    flow_destroy(&flow);
    FL_CHECK_INT(fl_node_stop(&node, SIGTERM), ==, 0);
}

FL_TEST(sigterm_while_clients_register_and_update_keeps_acknowledged_writes)
{
    s_stop_under_writes(SIGTERM, 0);
}

FL_TEST(sigkill_while_clients_register_and_update_keeps_acknowledged_writes)
{
    s_stop_under_writes(SIGKILL, 128 + SIGKILL);
}
