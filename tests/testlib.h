/*  tests/testlib.h — one small function per behaviour.
 *
 *      FL_TEST(keyspace_orders_keys_by_partition)
 *      {
 *          FL_CHECK(fl_keyspace_partition("a", 1, 16) < 16);
 *      }
 *
 *  meson reads the FL_TEST lines of each test source and registers every
 *  test as its own meson test, run as `test-binary NAME` in its own process
 *  with meson's timeout.  A failed check prints file:line and the failed
 *  expression and exits 1; FL_SKIP prints why and exits 77 (meson's skip).
 *  Run a binary without arguments to run all its tests in turn, each in a
 *  forked child; `--list` prints their names.
 */
#ifndef FL_TESTLIB_H
#define FL_TESTLIB_H

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef void (fl_test_fn)(void);

void fl_test_register(const char *name, fl_test_fn *fn);
void fl_test_fail(const char *file, int line, const char *what) __attribute__((noreturn));
void fl_test_skip(const char *why) __attribute__((noreturn));

/*  A fresh temporary directory, removed with everything in it when the
 *  test process exits.  */
const char *fl_test_tmpdir(void);

#define FL_TEST(name)                                                     \
    static void test_##name(void);                                        \
    __attribute__((constructor)) static void register_##name(void)        \
    {                                                                     \
        fl_test_register(#name, test_##name);                             \
    }                                                                     \
    static void test_##name(void)

#define FL_CHECK(expr)                                                    \
    do {                                                                  \
        if (!(expr))                                                      \
            fl_test_fail(__FILE__, __LINE__, #expr);                      \
    } while (0)

#define FL_CHECK_INT(a, op, b)                                            \
    do {                                                                  \
        long long a_ = (long long) (a), b_ = (long long) (b);             \
        if (!(a_ op b_)) {                                                \
            char what_[512];                                              \
            snprintf(what_, sizeof what_, "%s %s %s (%lld vs %lld)",      \
                     #a, #op, #b, a_, b_);                                \
            fl_test_fail(__FILE__, __LINE__, what_);                      \
        }                                                                 \
    } while (0)

#define FL_CHECK_STR(a, b)                                                \
    do {                                                                  \
        const char *a_ = (a), *b_ = (b);                                  \
        if (!a_ || !b_ || strcmp(a_, b_) != 0) {                          \
            char what_[2048];                                             \
            snprintf(what_, sizeof what_, "%s == %s (\"%.300s\" vs \"%.300s\")", \
                     #a, #b, a_ ? a_ : "(null)", b_ ? b_ : "(null)");     \
            fl_test_fail(__FILE__, __LINE__, what_);                      \
        }                                                                 \
    } while (0)

#define FL_SKIP(why) fl_test_skip(why)

#endif
