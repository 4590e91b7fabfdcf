/*  tests/testlib.c — the runner behind FL_TEST; see testlib.h.  */
#include "tests/testlib.h"

#include <dirent.h>
#include <errno.h>
#include <ftw.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define MAX_TESTS 256
#define CHILD_TIMEOUT_S 120

typedef struct {
    const char *name;
    fl_test_fn *fn;
} s_test_t;

static s_test_t s_tests[MAX_TESTS];
static int s_count;
static char s_tmpdir[256];
static pid_t s_tmp_owner;

void
fl_test_register(const char *name, fl_test_fn *fn)
{
    if (s_count == MAX_TESTS) {
        fprintf(stderr, "testlib: more than %d tests in one binary\n", MAX_TESTS);
        exit(2);
    }
    s_tests[s_count].name = name;
    s_tests[s_count].fn = fn;
    s_count++;
}

void
fl_test_fail(const char *file, int line, const char *what)
{
    fprintf(stderr, "FAIL %s:%d: %s\n", file, line, what);
    exit(1);
}

void
fl_test_skip(const char *why)
{
    fprintf(stderr, "SKIP: %s\n", why);
    exit(77);
}

static int
s_remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void) st;
    (void) flag;
    (void) ftw;
    remove(path);
    return 0;
}

static void
s_remove_tmpdir(void)
{
    if (s_tmpdir[0] && getpid() == s_tmp_owner)
        nftw(s_tmpdir, s_remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

const char *
fl_test_tmpdir(void)
{
    if (s_tmpdir[0])
        return s_tmpdir;
    const char *base = getenv("TMPDIR");
    snprintf(s_tmpdir, sizeof s_tmpdir, "%s/flow-test-XXXXXX", base ? base : "/tmp");
    if (!mkdtemp(s_tmpdir))
        fl_test_fail(__FILE__, __LINE__, "mkdtemp");
    s_tmp_owner = getpid();
    atexit(s_remove_tmpdir);
    return s_tmpdir;
}

static int
s_run_forked(const s_test_t *test)
{
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    if (pid < 0)
        return 1;
    if (pid == 0) {
        alarm(CHILD_TIMEOUT_S);
        test->fn();
        exit(0);
    }
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    if (WIFEXITED(status))
        return WEXITSTATUS(status);
    return 1;
}

int
main(int argc, char **argv)
{
    if (argc == 2 && strcmp(argv[1], "--list") == 0) {
        for (int i = 0; i < s_count; i++)
            printf("%s\n", s_tests[i].name);
        return 0;
    }
    if (argc == 2) {
        for (int i = 0; i < s_count; i++) {
            if (strcmp(argv[1], s_tests[i].name) == 0) {
                s_tests[i].fn();
                return 0;
            }
        }
        fprintf(stderr, "no test named %s\n", argv[1]);
        return 2;
    }
    int failed = 0;
    for (int i = 0; i < s_count; i++) {
        int rc = s_run_forked(&s_tests[i]);
        printf("%s %s\n", rc == 0 ? "ok  " : rc == 77 ? "skip" : "FAIL", s_tests[i].name);
        if (rc != 0 && rc != 77)
            failed++;
    }
    return failed ? 1 : 0;
}
