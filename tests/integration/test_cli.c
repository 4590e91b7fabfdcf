/*  The user CLI `flow` against a real node.  */
#include "tests/integration/harness.h"
#include "tests/testlib.h"

#include <signal.h>

static char s_out[65536], s_err[4096];

static int
s_flow(const char *const *args)
{
    const char *argv[32];
    size_t n = 0;
    argv[n++] = fl_program("FLOW_CLI");
    for (size_t i = 0; args[i] && n < 31; i++)
        argv[n++] = args[i];
    argv[n] = NULL;
    return fl_run(argv, NULL, s_out, sizeof s_out, s_err, sizeof s_err);
}

FL_TEST(ping_prints_the_answering_node)
{
    fl_proc_t node;
    fl_node_start(&node, NULL, NULL);
    const char *args[] = { "--node", node.client, "ping", NULL };
    FL_CHECK_INT(s_flow(args), ==, 0);
    FL_CHECK(strstr(s_out, node.node_id) != NULL);
    FL_CHECK_INT(fl_node_stop(&node, SIGTERM), ==, 0);
}

FL_TEST(ping_through_an_actor_names_its_partition)
{
    fl_proc_t node;
    fl_node_start(&node, NULL, NULL);
    const char *args[] = { "--node", node.client, "--json", "ping", "--actor", "event",
                           "--key", "e:1", NULL };
    FL_CHECK_INT(s_flow(args), ==, 0);
    FL_CHECK(strstr(s_out, "\"partition\"") != NULL);
    FL_CHECK(strstr(s_out, "ACTOR_EVENT") != NULL);
    FL_CHECK_INT(fl_node_stop(&node, SIGTERM), ==, 0);
}

FL_TEST(info_json_has_the_node_fields)
{
    fl_proc_t node;
    fl_node_start(&node, NULL, NULL);
    const char *args[] = { "--node", node.client, "--json", "info", NULL };
    FL_CHECK_INT(s_flow(args), ==, 0);
    FL_CHECK(s_out[0] == '{');
    FL_CHECK(strstr(s_out, "\"node_id\"") != NULL);
    FL_CHECK(strstr(s_out, "\"partitions\": 1024") || strstr(s_out, "\"partitions\":1024"));
    FL_CHECK_INT(fl_node_stop(&node, SIGTERM), ==, 0);
}

FL_TEST(node_from_environment_variable)
{
    fl_proc_t node;
    fl_node_start(&node, NULL, NULL);
    setenv("FLOW_NODE", node.client, 1);
    const char *args[] = { "info", NULL };
    FL_CHECK_INT(s_flow(args), ==, 0);
    FL_CHECK(strstr(s_out, node.node_id) != NULL);
    unsetenv("FLOW_NODE");
    FL_CHECK_INT(fl_node_stop(&node, SIGTERM), ==, 0);
}

FL_TEST(watch_prints_node_notices)
{
    fl_proc_t node;
    fl_node_start(&node, NULL, NULL);
    const char *args[] = { "--node", node.client, "--timeout", "10000", "watch", "node",
                           "--count", "1", NULL };
    FL_CHECK_INT(s_flow(args), ==, 0);
    FL_CHECK(strstr(s_out, "SERVING") || strstr(s_out, "serving"));
    FL_CHECK_INT(fl_node_stop(&node, SIGTERM), ==, 0);
}

FL_TEST(unknown_actor_fails_with_one_line)
{
    fl_proc_t node;
    fl_node_start(&node, NULL, NULL);
    const char *args[] = { "--node", node.client, "ping", "--actor", "kitchen", NULL };
    FL_CHECK(s_flow(args) != 0);
    FL_CHECK(strncmp(s_err, "flow: ", 6) == 0);
    FL_CHECK(strchr(s_err, '\n') == s_err + strlen(s_err) - 1);
    FL_CHECK_INT(fl_node_stop(&node, SIGTERM), ==, 0);
}

FL_TEST(unreachable_node_fails_with_status)
{
    const char *args[] = { "--node", "tcp://127.0.0.1:1", "--timeout", "500", "ping", NULL };
    FL_CHECK(s_flow(args) != 0);
    FL_CHECK(strncmp(s_err, "flow: ", 6) == 0);
    FL_CHECK(strstr(s_err, "UNAVAILABLE") || strstr(s_err, "DEADLINE_EXCEEDED"));
}

FL_TEST(unknown_command_fails)
{
    const char *args[] = { "teleport", NULL };
    FL_CHECK(s_flow(args) != 0);
    FL_CHECK(strncmp(s_err, "flow: ", 6) == 0);
}

FL_TEST(every_command_has_help)
{
    const char *top[] = { "--help", NULL };
    FL_CHECK_INT(s_flow(top), ==, 0);
    FL_CHECK(strstr(s_out, "ping") && strstr(s_out, "info") && strstr(s_out, "watch"));
    const char *cmds[] = { "ping", "info", "watch" };
    for (int i = 0; i < 3; i++) {
        const char *args[] = { cmds[i], "--help", NULL };
        FL_CHECK_INT(s_flow(args), ==, 0);
        FL_CHECK(strstr(s_out, cmds[i]) != NULL);
    }
}
