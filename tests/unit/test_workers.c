/*  Worker pool: jobs run off the caller's thread and report back by
 *  message; the queue is bounded.  */
#include "node/error.h"
#include "node/workers.h"
#include "tests/testlib.h"

#include <pthread.h>
#include <stdatomic.h>
#include <unistd.h>

#define ENDPOINT "inproc://test.workers"

static void
s_job_reply(fl_worker_t *worker, void *arg)
{
    zmsg_t *msg = zmsg_new();
    zmsg_addstrf(msg, "%d", (int) (intptr_t) arg);
    fl_worker_send(worker, ENDPOINT, &msg);
}

FL_TEST(jobs_report_back_through_the_actor_inbox)
{
    zsock_t *pull = zsock_new_pull("@" ENDPOINT);
    FL_CHECK(pull != NULL);
    fl_workers_t *pool = fl_workers_new(2, 64);
    FL_CHECK(pool != NULL);
    for (int i = 1; i <= 50; i++)
        FL_CHECK_INT(fl_workers_submit(pool, s_job_reply, (void *) (intptr_t) i), ==, 0);
    zsock_set_rcvtimeo(pull, 10000);
    int sum = 0;
    for (int i = 0; i < 50; i++) {
        char *text = zstr_recv(pull);
        FL_CHECK(text != NULL);
        sum += atoi(text);
        zstr_free(&text);
    }
    FL_CHECK_INT(sum, ==, 50 * 51 / 2);
    fl_workers_destroy(&pool);
    FL_CHECK(pool == NULL);
    zsock_destroy(&pull);
}

static pthread_mutex_t s_gate = PTHREAD_MUTEX_INITIALIZER;

static void
s_job_wait(fl_worker_t *worker, void *arg)
{
    (void) worker;
    (void) arg;
    pthread_mutex_lock(&s_gate);
    pthread_mutex_unlock(&s_gate);
}

FL_TEST(full_queue_refuses_with_busy)
{
    pthread_mutex_lock(&s_gate);
    fl_workers_t *pool = fl_workers_new(1, 2);
    FL_CHECK(pool != NULL);
    int accepted = 0, busy = 0;
    for (int i = 0; i < 10; i++) {
        int rc = fl_workers_submit(pool, s_job_wait, NULL);
        accepted += rc == 0;
        busy += rc == FL_E_BUSY;
    }
    /*  One job may be running, two waiting; the rest are refused.  */
    FL_CHECK(accepted >= 2 && accepted <= 3);
    FL_CHECK_INT(accepted + busy, ==, 10);
    pthread_mutex_unlock(&s_gate);
    fl_workers_destroy(&pool);
}

static atomic_int s_ran;

static void
s_job_count(fl_worker_t *worker, void *arg)
{
    (void) worker;
    (void) arg;
    usleep(1000);
    atomic_fetch_add(&s_ran, 1);
}

FL_TEST(destroy_runs_queued_jobs_first)
{
    fl_workers_t *pool = fl_workers_new(1, 8);
    for (int i = 0; i < 5; i++)
        FL_CHECK_INT(fl_workers_submit(pool, s_job_count, NULL), ==, 0);
    fl_workers_destroy(&pool);
    FL_CHECK(pool == NULL);
    FL_CHECK_INT(atomic_load(&s_ran), ==, 5);
}
