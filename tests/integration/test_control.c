/*  The control socket through flowctl: status, metrics, stop, and the
 *  refusal of keys that are not allow-listed.  */
#include "tests/integration/harness.h"
#include "tests/testlib.h"

#include <signal.h>

static char s_out[65536], s_err[4096];

static int
s_flowctl(const fl_proc_t *node, const char *key, const char *a, const char *b)
{
    const char *argv[] = { fl_program("FLOWCTL_CLI"), "--control", node->control,
                           "--key", key, "--timeout", "5000", a, b, NULL };
    return fl_run(argv, NULL, s_out, sizeof s_out, s_err, sizeof s_err);
}

FL_TEST(status_tells_node_partitions_and_actors)
{
    fl_proc_t node;
    fl_node_start(&node, NULL, NULL);
    FL_CHECK_INT(s_flowctl(&node, node.admin_key, "status", NULL), ==, 0);
    FL_CHECK(strstr(s_out, node.node_id) != NULL);
    FL_CHECK(strstr(s_out, "serving") != NULL);
    FL_CHECK(strstr(s_out, "1024") != NULL);
    const char *actors[] = { "session", "user", "event", "geo", "recommend", "notify" };
    for (int i = 0; i < 6; i++)
        FL_CHECK(strstr(s_out, actors[i]) != NULL);
    FL_CHECK(strstr(s_out, "ping") != NULL);
    FL_CHECK_INT(fl_node_stop(&node, SIGTERM), ==, 0);
}

FL_TEST(status_json_is_machine_readable)
{
    fl_proc_t node;
    fl_node_start(&node, NULL, NULL);
    FL_CHECK_INT(s_flowctl(&node, node.admin_key, "--json", "status"), ==, 0);
    FL_CHECK(s_out[0] == '{');
    FL_CHECK(strstr(s_out, "\"node_id\"") != NULL);
    FL_CHECK(strstr(s_out, node.node_id) != NULL);
    FL_CHECK_INT(fl_node_stop(&node, SIGTERM), ==, 0);
}

FL_TEST(metrics_are_prometheus_text_and_count_requests)
{
    fl_proc_t node;
    fl_node_start(&node, NULL, NULL);
    const char *ping[] = { fl_program("FLOW_CLI"), "--node", node.client, "ping", NULL };
    char out[1024], err[1024];
    FL_CHECK_INT(fl_run(ping, NULL, out, sizeof out, err, sizeof err), ==, 0);
    FL_CHECK_INT(s_flowctl(&node, node.admin_key, "metrics", NULL), ==, 0);
    FL_CHECK(strstr(s_out, "# TYPE flow_requests_total counter") != NULL);
    FL_CHECK(strstr(s_out, "flow_requests_total{type=\"ping\"} 1\n") != NULL);
    FL_CHECK(strstr(s_out, "flow_request_duration_seconds_bucket{type=\"ping\",le=\"+Inf\"} 1") != NULL);
    FL_CHECK(strstr(s_out, "flow_partitions_owned 1024") != NULL);
    FL_CHECK_INT(fl_node_stop(&node, SIGTERM), ==, 0);
}

FL_TEST(stop_ends_the_node_cleanly)
{
    fl_proc_t node;
    fl_node_start(&node, NULL, NULL);
    FL_CHECK_INT(s_flowctl(&node, node.admin_key, "stop", NULL), ==, 0);
    FL_CHECK_INT(fl_node_wait(&node), ==, 0);
    FL_CHECK(fl_node_log_has(&node, "reason=admin"));
}

FL_TEST(key_not_on_the_allow_list_is_refused)
{
    fl_proc_t node, other;
    fl_node_start(&node, NULL, NULL);
    fl_node_start(&other, NULL, NULL);
    /*  The other node's admin key is valid CURVE but not allow-listed
     *  here; the server key is this node's.  */
    char server_key[600];
    snprintf(server_key, sizeof server_key, "%s/keys/node.cert", node.data);
    const char *argv[] = { fl_program("FLOWCTL_CLI"), "--control", node.control,
                           "--key", other.admin_key, "--server-key", server_key,
                           "--timeout", "1500", "status", NULL };
    int rc = fl_run(argv, NULL, s_out, sizeof s_out, s_err, sizeof s_err);
    FL_CHECK(rc != 0);
    FL_CHECK(strchr(s_err, '\n') == s_err + strlen(s_err) - 1);
    FL_CHECK(strstr(s_out, node.node_id) == NULL);
    FL_CHECK_INT(fl_node_stop(&other, SIGTERM), ==, 0);
    FL_CHECK_INT(fl_node_stop(&node, SIGTERM), ==, 0);
}

FL_TEST(missing_key_file_is_a_clear_error)
{
    fl_proc_t node;
    fl_node_start(&node, NULL, NULL);
    int rc = s_flowctl(&node, "/nonexistent/admin.cert_secret", "status", NULL);
    FL_CHECK(rc != 0);
    FL_CHECK(strncmp(s_err, "flowctl: ", 9) == 0);
    FL_CHECK(strstr(s_err, "/nonexistent/admin.cert_secret") != NULL);
    FL_CHECK_INT(fl_node_stop(&node, SIGTERM), ==, 0);
}

FL_TEST(unknown_command_fails_with_usage_hint)
{
    const char *argv[] = { fl_program("FLOWCTL_CLI"), "frobnicate", NULL };
    int rc = fl_run(argv, NULL, s_out, sizeof s_out, s_err, sizeof s_err);
    FL_CHECK(rc != 0);
    FL_CHECK(strncmp(s_err, "flowctl: ", 9) == 0);
}

FL_TEST(help_lists_every_command)
{
    const char *argv[] = { fl_program("FLOWCTL_CLI"), "--help", NULL };
    FL_CHECK_INT(fl_run(argv, NULL, s_out, sizeof s_out, s_err, sizeof s_err), ==, 0);
    FL_CHECK(strstr(s_out, "status") && strstr(s_out, "metrics") && strstr(s_out, "stop"));
}
