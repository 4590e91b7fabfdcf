/*  tests/unit/test_ratelimit.c — token buckets by key.
 *
 *  Time is passed in, never slept: each test states the microsecond at
 *  which each request arrives.  Tests that pin a refill to the exact
 *  microsecond use one token per PERIOD_US = 2^20 us (about a second):
 *  the rate per microsecond is then a power of two, so every partial
 *  refill adds up exactly.  With a decimal rate, a bucket refilled in
 *  steps can fall an ulp short of full at the exact boundary (and get
 *  there a microsecond later), which is harmless but not what these
 *  tests are about.
 */
#include "tests/testlib.h"
#include "actors/session/ratelimit.h"

#define SECOND 1000000LL
#define PERIOD_US (1LL << 20)
#define RATE (1e6 / PERIOD_US)

FL_TEST(burst_is_allowed_then_refused)
{
    fl_ratelimit_t *rl = fl_ratelimit_new(10, 3, 100);
    FL_CHECK(rl);
    for (int i = 0; i < 3; i++)
        FL_CHECK_INT(fl_ratelimit_take(rl, "a", 0), ==, 0);
    FL_CHECK_INT(fl_ratelimit_take(rl, "a", 0), >, 0);
    fl_ratelimit_destroy(&rl);
    FL_CHECK(rl == NULL);
}

FL_TEST(retry_after_is_the_time_to_the_next_token)
{
    fl_ratelimit_t *rl = fl_ratelimit_new(10, 1, 100);      /* one token per 100 ms */
    FL_CHECK_INT(fl_ratelimit_take(rl, "a", 0), ==, 0);
    FL_CHECK_INT(fl_ratelimit_take(rl, "a", 0), ==, 100);
    FL_CHECK_INT(fl_ratelimit_take(rl, "a", 40 * 1000), ==, 60);
    FL_CHECK_INT(fl_ratelimit_take(rl, "a", 99 * 1000 + 1), ==, 1);
    fl_ratelimit_destroy(&rl);
}

FL_TEST(retry_after_follows_the_rate)
{
    fl_ratelimit_t *slow = fl_ratelimit_new(0.5, 1, 100);   /* one token per 2 s */
    FL_CHECK_INT(fl_ratelimit_take(slow, "a", 0), ==, 0);
    FL_CHECK_INT(fl_ratelimit_take(slow, "a", 0), ==, 2000);
    fl_ratelimit_destroy(&slow);
}

FL_TEST(retry_after_is_at_least_one_millisecond)
{
    fl_ratelimit_t *rl = fl_ratelimit_new(1e6, 1, 100);     /* one token per microsecond */
    FL_CHECK_INT(fl_ratelimit_take(rl, "a", 0), ==, 0);
    FL_CHECK_INT(fl_ratelimit_take(rl, "a", 0), ==, 1);
    fl_ratelimit_destroy(&rl);
}

FL_TEST(tokens_refill_over_time)
{
    fl_ratelimit_t *rl = fl_ratelimit_new(RATE, 2, 100);
    FL_CHECK_INT(fl_ratelimit_take(rl, "a", 0), ==, 0);
    FL_CHECK_INT(fl_ratelimit_take(rl, "a", 0), ==, 0);
    FL_CHECK_INT(fl_ratelimit_take(rl, "a", PERIOD_US / 2), >, 0);
    FL_CHECK_INT(fl_ratelimit_take(rl, "a", PERIOD_US - 1), >, 0);
    FL_CHECK_INT(fl_ratelimit_take(rl, "a", PERIOD_US), ==, 0);
    FL_CHECK_INT(fl_ratelimit_take(rl, "a", PERIOD_US), >, 0);
    fl_ratelimit_destroy(&rl);
}

FL_TEST(refill_stops_at_the_burst)
{
    fl_ratelimit_t *rl = fl_ratelimit_new(4, 2, 100);
    FL_CHECK_INT(fl_ratelimit_take(rl, "a", 0), ==, 0);
    /* an hour idle refills two tokens, not 14400 */
    int64_t later = 3600 * SECOND;
    FL_CHECK_INT(fl_ratelimit_take(rl, "a", later), ==, 0);
    FL_CHECK_INT(fl_ratelimit_take(rl, "a", later), ==, 0);
    FL_CHECK_INT(fl_ratelimit_take(rl, "a", later), >, 0);
    fl_ratelimit_destroy(&rl);
}

FL_TEST(refused_requests_take_no_token)
{
    fl_ratelimit_t *rl = fl_ratelimit_new(4, 1, 100);
    FL_CHECK_INT(fl_ratelimit_take(rl, "a", 0), ==, 0);
    for (int i = 0; i < 10; i++)
        FL_CHECK_INT(fl_ratelimit_take(rl, "a", 1000 * i), >, 0);
    FL_CHECK_INT(fl_ratelimit_take(rl, "a", 250000), ==, 0);
    fl_ratelimit_destroy(&rl);
}

FL_TEST(keys_have_their_own_buckets)
{
    fl_ratelimit_t *rl = fl_ratelimit_new(1, 2, 100);
    FL_CHECK_INT(fl_ratelimit_take(rl, "a", 0), ==, 0);
    FL_CHECK_INT(fl_ratelimit_take(rl, "a", 0), ==, 0);
    FL_CHECK_INT(fl_ratelimit_take(rl, "a", 0), >, 0);
    FL_CHECK_INT(fl_ratelimit_take(rl, "b", 0), ==, 0);
    FL_CHECK_INT(fl_ratelimit_take(rl, "b", 0), ==, 0);
    FL_CHECK_INT(fl_ratelimit_take(rl, "b", 0), >, 0);
    FL_CHECK_INT(fl_ratelimit_size(rl), ==, 2);
    fl_ratelimit_destroy(&rl);
}

FL_TEST(prune_drops_only_full_buckets)
{
    fl_ratelimit_t *rl = fl_ratelimit_new(RATE, 2, 100);
    FL_CHECK_INT(fl_ratelimit_take(rl, "once", 0), ==, 0);
    FL_CHECK_INT(fl_ratelimit_take(rl, "twice", 0), ==, 0);
    FL_CHECK_INT(fl_ratelimit_take(rl, "twice", 0), ==, 0);
    FL_CHECK_INT(fl_ratelimit_size(rl), ==, 2);
    fl_ratelimit_prune(rl, PERIOD_US - 1);
    FL_CHECK_INT(fl_ratelimit_size(rl), ==, 2);
    fl_ratelimit_prune(rl, PERIOD_US);                      /* "once" is full again */
    FL_CHECK_INT(fl_ratelimit_size(rl), ==, 1);
    FL_CHECK_INT(fl_ratelimit_take(rl, "twice", PERIOD_US), ==, 0);
    FL_CHECK_INT(fl_ratelimit_take(rl, "twice", PERIOD_US), >, 0);  /* kept its state */
    fl_ratelimit_prune(rl, 10 * PERIOD_US);
    FL_CHECK_INT(fl_ratelimit_size(rl), ==, 0);
    fl_ratelimit_destroy(&rl);
}

FL_TEST(a_new_key_is_refused_when_full_of_busy_keys)
{
    fl_ratelimit_t *rl = fl_ratelimit_new(1, 2, 2);
    FL_CHECK_INT(fl_ratelimit_take(rl, "a", 0), ==, 0);
    FL_CHECK_INT(fl_ratelimit_take(rl, "b", 0), ==, 0);
    FL_CHECK_INT(fl_ratelimit_take(rl, "c", 0), >, 0);
    FL_CHECK_INT(fl_ratelimit_size(rl), ==, 2);
    fl_ratelimit_destroy(&rl);
}

FL_TEST(known_keys_still_served_when_full)
{
    fl_ratelimit_t *rl = fl_ratelimit_new(1, 2, 2);
    FL_CHECK_INT(fl_ratelimit_take(rl, "a", 0), ==, 0);
    FL_CHECK_INT(fl_ratelimit_take(rl, "b", 0), ==, 0);
    FL_CHECK_INT(fl_ratelimit_take(rl, "c", 0), >, 0);
    FL_CHECK_INT(fl_ratelimit_take(rl, "a", 0), ==, 0);
    fl_ratelimit_destroy(&rl);
}

FL_TEST(a_new_key_is_admitted_once_a_bucket_refills)
{
    fl_ratelimit_t *rl = fl_ratelimit_new(RATE, 2, 2);
    FL_CHECK_INT(fl_ratelimit_take(rl, "a", 0), ==, 0);
    FL_CHECK_INT(fl_ratelimit_take(rl, "b", 0), ==, 0);
    FL_CHECK_INT(fl_ratelimit_take(rl, "b", 0), ==, 0);
    FL_CHECK_INT(fl_ratelimit_take(rl, "c", PERIOD_US - 1), >, 0);
    /* one period on "a" is full again and makes room; "b" (1 token) stays */
    FL_CHECK_INT(fl_ratelimit_take(rl, "c", PERIOD_US), ==, 0);
    FL_CHECK_INT(fl_ratelimit_size(rl), ==, 2);
    FL_CHECK_INT(fl_ratelimit_take(rl, "b", PERIOD_US), ==, 0);
    FL_CHECK_INT(fl_ratelimit_take(rl, "b", PERIOD_US), >, 0);
    fl_ratelimit_destroy(&rl);
}

FL_TEST(a_new_key_is_admitted_after_an_explicit_prune)
{
    fl_ratelimit_t *rl = fl_ratelimit_new(RATE, 2, 1);
    FL_CHECK_INT(fl_ratelimit_take(rl, "a", 0), ==, 0);
    FL_CHECK_INT(fl_ratelimit_take(rl, "b", 0), >, 0);
    fl_ratelimit_prune(rl, PERIOD_US);
    FL_CHECK_INT(fl_ratelimit_size(rl), ==, 0);
    FL_CHECK_INT(fl_ratelimit_take(rl, "b", PERIOD_US), ==, 0);
    FL_CHECK_INT(fl_ratelimit_size(rl), ==, 1);
    fl_ratelimit_destroy(&rl);
}

FL_TEST(destroy_tolerates_null)
{
    fl_ratelimit_t *rl = NULL;
    fl_ratelimit_destroy(&rl);
    FL_CHECK(rl == NULL);
}
