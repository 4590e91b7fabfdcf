/*  tests/unit/test_placement.c — where partitions live: preference lists,
 *  determinism, what moves when a node comes or goes, and balance.
 *
 *  The ids are node ids as flowd makes them ("n" and 16 hex digits),
 *  drawn once at random.  The tests that measure movement and balance
 *  print their figures; the tolerances they check are stated beside them.
 */
#include "tests/testlib.h"
#include "cluster/placement.h"

#include <math.h>
#include <stdbool.h>

#define P FL_PLACEMENT_DEFAULT_PARTITIONS
#define N FL_PLACEMENT_DEFAULT_REPLICAS
#define IDS 16

static const char *const s_ids[IDS] = {
    "n8cbfcc85155f6822", "nbaeb6f83f3bd09d0", "n047b8b095e5a6268", "n62f6835b8ca0cb9c",
    "n9fa66b4381e3815f", "nf6218a0b4df6fb71", "n1b29545fd4c4148a", "n80c9e92c616b10e5",
    "nf97e8ebd4e384575", "n25f6a9d6d4fd60ac", "n264d87d0e4c1984a", "ncbac2bc2e1849a4f",
    "n630018cfec1fc36a", "n5660386fa7b4198b", "n435fc4a5f3beba6a", "n19e6ee39478d1ad7",
};

static fl_placement_t *
s_new(uint32_t partitions, uint32_t replicas, const char *const *ids, size_t n)
{
    fl_placement_t *placement = fl_placement_new(partitions, replicas, ids, n);
    FL_CHECK(placement != NULL);
    return placement;
}

/*  The first N ids without the one at index SKIP.  */
static size_t
s_without(size_t n, size_t skip, const char **out)
{
    size_t count = 0;
    for (size_t i = 0; i < n; i++)
        if (i != skip)
            out[count++] = s_ids[i];
    return count;
}

static bool
s_holds(const char *const *list, size_t len, const char *id)
{
    for (size_t i = 0; i < len; i++)
        if (strcmp(list[i], id) == 0)
            return true;
    return false;
}

/*  True when the lists of PARTITION in A and B hold the same ids.  */
static bool
s_same_owners(const fl_placement_t *a, const fl_placement_t *b, uint32_t partition)
{
    const char *x[FL_PLACEMENT_MAX_MEMBERS], *y[FL_PLACEMENT_MAX_MEMBERS];
    size_t nx = fl_placement_owners(a, partition, x, FL_PLACEMENT_MAX_MEMBERS);
    size_t ny = fl_placement_owners(b, partition, y, FL_PLACEMENT_MAX_MEMBERS);
    if (nx != ny)
        return false;
    for (size_t i = 0; i < nx; i++)
        if (!s_holds(y, ny, x[i]))
            return false;
    return true;
}

FL_TEST(preference_lists_hold_distinct_members)
{
    const uint32_t replicas[] = { 1, 3, 5 };
    for (size_t n = 1; n <= IDS; n++) {
        for (size_t r = 0; r < sizeof replicas / sizeof *replicas; r++) {
            fl_placement_t *placement = s_new(P, replicas[r], s_ids, n);
            size_t len = replicas[r] < n ? replicas[r] : n;
            FL_CHECK_INT(fl_placement_replicas(placement), ==, len);
            uint64_t primaries = 0, held = 0;
            for (size_t i = 0; i < n; i++) {
                primaries += fl_placement_count(placement, s_ids[i], true);
                held += fl_placement_count(placement, s_ids[i], false);
            }
            FL_CHECK_INT(primaries, ==, P);
            FL_CHECK_INT(held, ==, (uint64_t) P * len);
            for (uint32_t p = 0; p < P; p++) {
                const char *owners[FL_PLACEMENT_MAX_MEMBERS];
                FL_CHECK_INT(fl_placement_owners(placement, p, owners, FL_PLACEMENT_MAX_MEMBERS),
                             ==, len);
                FL_CHECK_STR(fl_placement_primary(placement, p), owners[0]);
                for (size_t i = 0; i < len; i++) {
                    FL_CHECK(s_holds(s_ids, n, owners[i]));
                    FL_CHECK(!s_holds(owners, i, owners[i]));
                }
            }
            fl_placement_destroy(&placement);
        }
    }
}

FL_TEST(placement_does_not_depend_on_member_order)
{
    const char *reversed[IDS], *strided[IDS];
    for (size_t i = 0; i < IDS; i++) {
        reversed[i] = s_ids[IDS - 1 - i];
        strided[i] = s_ids[i * 7 % IDS];
    }
    fl_placement_t *given = s_new(P, N, s_ids, IDS);
    fl_placement_t *backwards = s_new(P, N, reversed, IDS);
    fl_placement_t *shuffled = s_new(P, N, strided, IDS);
    for (uint32_t p = 0; p < P; p++) {
        const char *a[N], *b[N], *c[N];
        FL_CHECK_INT(fl_placement_owners(given, p, a, N), ==, N);
        FL_CHECK_INT(fl_placement_owners(backwards, p, b, N), ==, N);
        FL_CHECK_INT(fl_placement_owners(shuffled, p, c, N), ==, N);
        for (size_t i = 0; i < N; i++) {
            FL_CHECK_STR(a[i], b[i]);
            FL_CHECK_STR(a[i], c[i]);
        }
    }
    FL_CHECK_INT(fl_placement_moved(given, shuffled, false), ==, 0);
    fl_placement_destroy(&given);
    fl_placement_destroy(&backwards);
    fl_placement_destroy(&shuffled);
}

/*  Known values: a change to the score, the cap or the order in which
 *  pairs are offered moves data on a running cluster, so it must fail
 *  here first.  */
FL_TEST(placement_is_the_same_in_every_release)
{
    FL_CHECK_INT(fl_placement_score(0, s_ids[0]), ==, 389609233943);
    FL_CHECK_INT(fl_placement_score(1023, s_ids[1]), ==, 1301276348696);
    fl_placement_t *placement = s_new(P, N, s_ids, IDS);
    FL_CHECK_INT(fl_placement_capacity(placement), ==, 68);
    /*  Partitions 5 and 36 are not with their best-scoring node, which is
     *  full: these pin the cap and the order of pairs too.  */
    const uint32_t partitions[] = { 0, 5, 36, 1023 };
    const char *const expected[][N] = {
        { "nf97e8ebd4e384575", "n9fa66b4381e3815f", "nbaeb6f83f3bd09d0" },
        { "n047b8b095e5a6268", "n630018cfec1fc36a", "n25f6a9d6d4fd60ac" },
        { "ncbac2bc2e1849a4f", "n9fa66b4381e3815f", "n8cbfcc85155f6822" },
        { "n25f6a9d6d4fd60ac", "n62f6835b8ca0cb9c", "n19e6ee39478d1ad7" },
    };
    for (size_t i = 0; i < sizeof partitions / sizeof *partitions; i++) {
        const char *owners[N];
        FL_CHECK_INT(fl_placement_owners(placement, partitions[i], owners, N), ==, N);
        for (size_t k = 0; k < N; k++)
            FL_CHECK_STR(owners[k], expected[i][k]);
    }
    FL_CHECK(strcmp(fl_placement_primary(placement, 5), "n630018cfec1fc36a") != 0);
    FL_CHECK(fl_placement_score(5, "n630018cfec1fc36a")
             > fl_placement_score(5, "n047b8b095e5a6268"));
    fl_placement_destroy(&placement);
}

/*  The bounded-load invariant: a partition's primary is its best-scoring
 *  node, or every node that scores higher for it is full (C primaries)
 *  of partitions that score higher there still.  */
FL_TEST(a_primary_is_its_best_node_unless_that_node_is_full)
{
    for (size_t n = 1; n <= IDS; n++) {
        fl_placement_t *placement = s_new(P, N, s_ids, n);
        uint64_t weakest[IDS];          /* per node: its lowest score among its primaries */
        for (size_t i = 0; i < n; i++)
            weakest[i] = UINT64_MAX;
        size_t primary_of[P];
        for (uint32_t p = 0; p < P; p++) {
            const char *primary = fl_placement_primary(placement, p);
            size_t i = 0;
            while (strcmp(s_ids[i], primary) != 0)
                i++;
            primary_of[p] = i;
            uint64_t score = fl_placement_score(p, primary);
            if (score < weakest[i])
                weakest[i] = score;
        }
        uint32_t capacity = fl_placement_capacity(placement);
        size_t bypassed = 0;
        for (uint32_t p = 0; p < P; p++) {
            uint64_t own = fl_placement_score(p, s_ids[primary_of[p]]);
            for (size_t i = 0; i < n; i++) {
                uint64_t score = fl_placement_score(p, s_ids[i]);
                if (score <= own)
                    continue;
                FL_CHECK_INT(fl_placement_count(placement, s_ids[i], true), ==, capacity);
                FL_CHECK(score < weakest[i]);
                bypassed++;
            }
        }
        if (n == 1 || n == 2)
            FL_CHECK_INT(bypassed, ==, 0);
        fl_placement_destroy(&placement);
    }
}

/*  Adding a node to n (1..15) moves about one share, P/(n+1), of the
 *  primaries.  Tolerances: the new node takes a share within 4 standard
 *  deviations of a binomial(P, 1/(n+1)), which is what any placement that
 *  hashes partitions independently allows; and at most a third of a share
 *  moves between old nodes (the price of the load cap: plain rendezvous
 *  moves none).  For lists the same: lists that change without gaining
 *  the new node are at most a third of the N P/(n+1) that gain it.  */
FL_TEST(adding_a_node_moves_about_one_share)
{
    size_t total = 0, total_between = 0;
    double total_ideal = 0;
    for (size_t n = 1; n < IDS; n++) {
        fl_placement_t *before = s_new(P, N, s_ids, n);
        fl_placement_t *after = s_new(P, N, s_ids, n + 1);
        const char *added = s_ids[n];
        size_t taken = 0, between = 0, lists_gained = 0, lists_other = 0;
        for (uint32_t p = 0; p < P; p++) {
            const char *was = fl_placement_primary(before, p);
            const char *now = fl_placement_primary(after, p);
            if (strcmp(was, now) != 0) {
                FL_CHECK(strcmp(was, added) != 0);
                if (strcmp(now, added) == 0)
                    taken++;
                else
                    between++;
            }
            const char *owners[N];
            size_t len = fl_placement_owners(after, p, owners, N);
            if (s_holds(owners, len, added))
                lists_gained++;
            else if (!s_same_owners(before, after, p))
                lists_other++;
        }
        double share = (double) P / (double) (n + 1);
        double sigma = sqrt((double) P * (double) n) / (double) (n + 1);
        printf("add node %2zu to %2zu: %3zu primaries moved (%3zu to the new node, %2zu between "
               "old nodes), ideal %5.1f, ratio %.2f; lists changed %3zu gaining it, %2zu other\n",
               n + 1, n, taken + between, taken, between, share,
               (double) (taken + between) / share, lists_gained, lists_other);
        FL_CHECK_INT(fl_placement_moved(before, after, true), ==, taken + between);
        FL_CHECK(fabs((double) taken - share) <= 4 * sigma);
        FL_CHECK((double) between <= share / 3);
        if (n >= N) {
            FL_CHECK_INT(fl_placement_moved(before, after, false), ==, lists_gained + lists_other);
            FL_CHECK((double) lists_other <= share * N / 3);
        } else {
            FL_CHECK_INT(fl_placement_moved(before, after, false), ==, P);
        }
        total += taken + between;
        total_between += between;
        total_ideal += share;
        fl_placement_destroy(&before);
        fl_placement_destroy(&after);
    }
    printf("adding nodes 2..%d one by one: %zu primaries moved, %zu of them between old nodes, "
           "ideal %.0f\n", IDS, total, total_between, total_ideal);
}

/*  Removing one of n (2..16) nodes moves every primary it had and, with
 *  the same tolerance as adding, at most a third of its share (P/n) of the
 *  others; lists that did not hold it change at most a third as often as
 *  the N P/n that did.  Each of the n nodes is removed in turn.  */
FL_TEST(removing_a_node_moves_its_own_and_few_others)
{
    for (size_t n = 2; n <= IDS; n++) {
        fl_placement_t *before = s_new(P, N, s_ids, n);
        size_t others_sum = 0, others_max = 0, lists_sum = 0, lists_max = 0;
        for (size_t gone = 0; gone < n; gone++) {
            const char *rest[IDS];
            fl_placement_t *after = s_new(P, N, rest, s_without(n, gone, rest));
            size_t own = 0, others = 0, lists_other = 0;
            for (uint32_t p = 0; p < P; p++) {
                const char *was = fl_placement_primary(before, p);
                const char *now = fl_placement_primary(after, p);
                FL_CHECK(strcmp(now, s_ids[gone]) != 0);
                if (strcmp(was, s_ids[gone]) == 0)
                    own++;
                else if (strcmp(was, now) != 0)
                    others++;
                const char *owners[N];
                size_t len = fl_placement_owners(before, p, owners, N);
                if (!s_holds(owners, len, s_ids[gone]) && !s_same_owners(before, after, p))
                    lists_other++;
            }
            double share = (double) P / (double) n;
            FL_CHECK_INT(own, ==, fl_placement_count(before, s_ids[gone], true));
            FL_CHECK_INT(fl_placement_moved(before, after, true), ==, own + others);
            FL_CHECK((double) others <= share / 3);
            if (n > N)
                FL_CHECK((double) lists_other <= share * N / 3);
            others_sum += others;
            lists_sum += lists_other;
            others_max = others > others_max ? others : others_max;
            lists_max = lists_other > lists_max ? lists_other : lists_max;
            fl_placement_destroy(&after);
        }
        printf("remove one of %2zu nodes: its own %5.1f primaries move, other primaries moved "
               "%4.1f on average (at most %2zu); lists without it changed %4.1f (at most %2zu)\n",
               n, (double) P / (double) n, (double) others_sum / (double) n, others_max,
               (double) lists_sum / (double) n, lists_max);
        fl_placement_destroy(&before);
    }
}

/*  For 3..16 nodes and P = 1024: the busiest node is primary for at most
 *  10% more partitions than the mean, and holds at most 10% more list
 *  positions than the mean N P / n.  */
FL_TEST(busiest_node_holds_at_most_ten_percent_over_the_mean)
{
    for (size_t n = 3; n <= IDS; n++) {
        fl_placement_t *placement = s_new(P, N, s_ids, n);
        uint32_t min = P, max = 0, held_max = 0;
        for (size_t i = 0; i < n; i++) {
            uint32_t primaries = fl_placement_count(placement, s_ids[i], true);
            uint32_t held = fl_placement_count(placement, s_ids[i], false);
            min = primaries < min ? primaries : min;
            max = primaries > max ? primaries : max;
            held_max = held > held_max ? held : held_max;
        }
        double mean = (double) P / (double) n, held_mean = mean * N;
        printf("%2zu nodes: primaries min %3u mean %5.1f max %3u (cap %3u), max/mean %.3f; "
               "list positions max/mean %.3f\n", n, min, mean, max,
               fl_placement_capacity(placement), max / mean, held_max / held_mean);
        FL_CHECK_INT(max, <=, fl_placement_capacity(placement));
        FL_CHECK_INT((uint64_t) max * n * 100, <=, (uint64_t) P * 110);
        FL_CHECK_INT((uint64_t) held_max * n * 100, <=, (uint64_t) P * N * 110);
        fl_placement_destroy(&placement);
    }
}

/*  With 65536 partitions no node reaches the cap for these ids (checked),
 *  so the placement is plain rendezvous: adding a node moves only the
 *  partitions the new node takes, and removing one only its own.  */
FL_TEST(where_no_node_is_full_only_the_changed_node_moves)
{
    const uint32_t partitions = 65536;
    fl_placement_t *before = s_new(partitions, N, s_ids, 1);
    for (size_t n = 1; n < IDS; n++) {
        fl_placement_t *after = s_new(partitions, N, s_ids, n + 1);
        for (size_t i = 0; i <= n; i++)
            FL_CHECK_INT(fl_placement_count(after, s_ids[i], true), <,
                         fl_placement_capacity(after));
        size_t taken = fl_placement_count(after, s_ids[n], true);
        FL_CHECK_INT(fl_placement_moved(before, after, true), ==, taken);
        const char *rest[IDS];
        fl_placement_t *without_first = s_new(partitions, N, rest, s_without(n + 1, 0, rest));
        FL_CHECK_INT(fl_placement_moved(after, without_first, true), ==,
                     fl_placement_count(after, s_ids[0], true));
        fl_placement_destroy(&without_first);
        fl_placement_destroy(&before);
        before = after;
    }
    fl_placement_destroy(&before);
}

FL_TEST(one_member_owns_everything)
{
    fl_placement_t *placement = s_new(P, N, s_ids, 1);
    FL_CHECK_INT(fl_placement_replicas(placement), ==, 1);
    FL_CHECK_INT(fl_placement_count(placement, s_ids[0], true), ==, P);
    FL_CHECK_INT(fl_placement_count(placement, s_ids[0], false), ==, P);
    for (uint32_t p = 0; p < P; p++)
        FL_CHECK_STR(fl_placement_primary(placement, p), s_ids[0]);
    fl_placement_destroy(&placement);
}

FL_TEST(more_members_than_partitions)
{
    char ids[FL_PLACEMENT_MAX_MEMBERS][FL_PLACEMENT_ID_MAX];
    const char *members[FL_PLACEMENT_MAX_MEMBERS];
    for (size_t i = 0; i < FL_PLACEMENT_MAX_MEMBERS; i++) {
        snprintf(ids[i], sizeof ids[i], "member-%zu", i);
        members[i] = ids[i];
    }
    fl_placement_t *placement = s_new(7, FL_PLACEMENT_MAX_MEMBERS, members,
                                      FL_PLACEMENT_MAX_MEMBERS);
    FL_CHECK_INT(fl_placement_capacity(placement), ==, 1);
    FL_CHECK_INT(fl_placement_replicas(placement), ==, FL_PLACEMENT_MAX_MEMBERS);
    for (size_t i = 0; i < FL_PLACEMENT_MAX_MEMBERS; i++) {
        FL_CHECK_INT(fl_placement_count(placement, members[i], true), <=, 1);
        FL_CHECK_INT(fl_placement_count(placement, members[i], false), ==, 7);
    }
    fl_placement_destroy(&placement);
}

FL_TEST(lookups_outside_the_placement_answer_nothing)
{
    fl_placement_t *placement = s_new(P, N, s_ids, 4);
    const char *owners[N];
    FL_CHECK_INT(fl_placement_owners(placement, P, owners, N), ==, 0);
    FL_CHECK(fl_placement_primary(placement, P) == NULL);
    FL_CHECK_INT(fl_placement_owners(placement, 7, owners, 1), ==, 1);
    FL_CHECK_STR(owners[0], fl_placement_primary(placement, 7));
    FL_CHECK_INT(fl_placement_count(placement, "nobody", true), ==, 0);
    FL_CHECK_INT(fl_placement_count(placement, s_ids[4], false), ==, 0);
    FL_CHECK_INT(fl_placement_count(placement, NULL, false), ==, 0);
    fl_placement_destroy(&placement);
}

FL_TEST(bad_arguments_are_refused)
{
    FL_CHECK(fl_placement_new(0, N, s_ids, 3) == NULL);
    FL_CHECK(fl_placement_new(65537, N, s_ids, 3) == NULL);
    FL_CHECK(fl_placement_new(P, 0, s_ids, 3) == NULL);
    FL_CHECK(fl_placement_new(P, N, NULL, 3) == NULL);
    FL_CHECK(fl_placement_new(P, N, s_ids, 0) == NULL);

    const char *members[FL_PLACEMENT_MAX_MEMBERS + 1];
    for (size_t i = 0; i <= FL_PLACEMENT_MAX_MEMBERS; i++)
        members[i] = s_ids[0];
    for (size_t i = 0; i < IDS; i++)
        members[i] = s_ids[i];
    FL_CHECK(fl_placement_new(P, N, members, FL_PLACEMENT_MAX_MEMBERS + 1) == NULL);
    FL_CHECK(fl_placement_new(P, N, members, IDS + 1) == NULL);      /* s_ids[0] twice */
    members[2] = NULL;
    FL_CHECK(fl_placement_new(P, N, members, 3) == NULL);
    members[2] = "";
    FL_CHECK(fl_placement_new(P, N, members, 3) == NULL);
    char long_id[FL_PLACEMENT_ID_MAX + 1];
    memset(long_id, 'x', sizeof long_id - 1);
    long_id[sizeof long_id - 1] = '\0';
    members[2] = long_id;
    FL_CHECK(fl_placement_new(P, N, members, 3) == NULL);
    long_id[FL_PLACEMENT_ID_MAX - 1] = '\0';
    fl_placement_t *placement = s_new(P, N, members, 3);
    FL_CHECK_INT(fl_placement_count(placement, long_id, false), >, 0);
    fl_placement_destroy(&placement);
    FL_CHECK(placement == NULL);
    fl_placement_destroy(&placement);
}
