/*  tests/unit/test_health.c — which member states the leader takes from
 *  its health checks (fl_meta_health_check): only up -> down, down -> up
 *  or lost, lost -> up, never for the leader itself or a node that is not
 *  a member.
 */
#include "tests/testlib.h"
#include "cluster/meta.h"

/*  Metadata with the members n1 (the leader, up), n2 (up), n3 (down) and
 *  n4 (joining).  */
typedef struct {
    Flow__Cluster__ClusterMeta meta;
    Flow__Cluster__Member member[4];
    Flow__Cluster__Member *members[4];
} s_meta_t;

static void
s_meta_init(s_meta_t *m)
{
    static const char *const ids[] = { "n1", "n2", "n3", "n4" };
    static const Flow__Cluster__MemberState states[] = {
        FLOW__CLUSTER__MEMBER_STATE__MEMBER_UP, FLOW__CLUSTER__MEMBER_STATE__MEMBER_UP,
        FLOW__CLUSTER__MEMBER_STATE__MEMBER_DOWN, FLOW__CLUSTER__MEMBER_STATE__MEMBER_JOINING,
    };
    flow__cluster__cluster_meta__init(&m->meta);
    for (size_t i = 0; i < 4; i++) {
        flow__cluster__member__init(&m->member[i]);
        m->member[i].node_id = (char *) ids[i];
        m->member[i].state = states[i];
        m->members[i] = &m->member[i];
    }
    m->meta.members = m->members;
    m->meta.n_members = 4;
}

static Flow__Status
s_check(const s_meta_t *m, const char *node_id, Flow__Cluster__MemberState state,
        const char **why)
{
    Flow__Cluster__MemberStateChange c = FLOW__CLUSTER__MEMBER_STATE_CHANGE__INIT;
    c.node_id = (char *) node_id;
    c.state = state;
    return fl_meta_health_check(&m->meta, "n1", &c, why);
}

FL_TEST(an_up_member_goes_down_and_a_down_one_comes_up)
{
    s_meta_t m;
    s_meta_init(&m);
    const char *why = NULL;
    FL_CHECK_INT(s_check(&m, "n2", FLOW__CLUSTER__MEMBER_STATE__MEMBER_DOWN, &why), ==,
                 FLOW__STATUS__OK);
    FL_CHECK_STR(why, "");
    FL_CHECK_INT(s_check(&m, "n3", FLOW__CLUSTER__MEMBER_STATE__MEMBER_UP, &why), ==,
                 FLOW__STATUS__OK);
}

/*  Down past --replace-after-ms: lost (its copies made again on the
 *  others), and up again when it answers.  */
FL_TEST(a_down_member_becomes_lost_and_a_lost_one_comes_up)
{
    s_meta_t m;
    s_meta_init(&m);
    const char *why = NULL;
    FL_CHECK_INT(s_check(&m, "n3", FLOW__CLUSTER__MEMBER_STATE__MEMBER_LOST, &why), ==,
                 FLOW__STATUS__OK);
    m.member[2].state = FLOW__CLUSTER__MEMBER_STATE__MEMBER_LOST;
    FL_CHECK_INT(s_check(&m, "n3", FLOW__CLUSTER__MEMBER_STATE__MEMBER_UP, &why), ==,
                 FLOW__STATUS__OK);
    FL_CHECK_INT(s_check(&m, "n3", FLOW__CLUSTER__MEMBER_STATE__MEMBER_DOWN, &why), ==,
                 FLOW__STATUS__FAILED_PRECONDITION);
    FL_CHECK_INT(s_check(&m, "n2", FLOW__CLUSTER__MEMBER_STATE__MEMBER_LOST, &why), ==,
                 FLOW__STATUS__FAILED_PRECONDITION);     /* up: down first */
    FL_CHECK_INT(s_check(&m, "n4", FLOW__CLUSTER__MEMBER_STATE__MEMBER_LOST, &why), ==,
                 FLOW__STATUS__FAILED_PRECONDITION);     /* joining */
}

FL_TEST(other_health_changes_are_refused_by_name)
{
    s_meta_t m;
    s_meta_init(&m);
    const char *why = NULL;
    FL_CHECK_INT(s_check(&m, "n9", FLOW__CLUSTER__MEMBER_STATE__MEMBER_DOWN, &why), ==,
                 FLOW__STATUS__NOT_FOUND);
    FL_CHECK_STR(why, "health: node: no member of this cluster has that id");
    FL_CHECK_INT(s_check(&m, "n1", FLOW__CLUSTER__MEMBER_STATE__MEMBER_DOWN, &why), ==,
                 FLOW__STATUS__FAILED_PRECONDITION);
    FL_CHECK_STR(why, "health: node: the leader is not judged by its own health checks");
    const struct {
        const char *node_id;
        Flow__Cluster__MemberState state;
    } refused[] = {
        { "n2", FLOW__CLUSTER__MEMBER_STATE__MEMBER_UP },       /* up already */
        { "n3", FLOW__CLUSTER__MEMBER_STATE__MEMBER_DOWN },     /* down already */
        { "n4", FLOW__CLUSTER__MEMBER_STATE__MEMBER_DOWN },     /* joining */
        { "n4", FLOW__CLUSTER__MEMBER_STATE__MEMBER_UP },
        { "n2", FLOW__CLUSTER__MEMBER_STATE__MEMBER_LEAVING },  /* not a health state */
        { "n2", FLOW__CLUSTER__MEMBER_STATE__MEMBER_UNSPECIFIED },
        { "n3", (Flow__Cluster__MemberState) 99 },
    };
    for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++) {
        FL_CHECK_INT(s_check(&m, refused[i].node_id, refused[i].state, &why), ==,
                     FLOW__STATUS__FAILED_PRECONDITION);
        FL_CHECK_STR(why, "health: state: only an up member goes down, a down one up or lost, "
                          "and a lost one up");
    }
}
