/*  Settings: defaults < file < environment < flags, and clear errors.  */
#include "node/config.h"
#include "tests/testlib.h"

#include <stdlib.h>

static int
s_load(fl_config_t *cfg, char *err, int argc, char **argv)
{
    fl_config_action_t action;
    int rc = fl_config_load(cfg, argc, argv, &action, err, 512);
    if (rc == 0)
        FL_CHECK_INT(action, ==, FL_CONFIG_RUN);
    return rc;
}

static const char *
s_write(const char *name, const char *text)
{
    static char path[512];
    snprintf(path, sizeof path, "%s/%s", fl_test_tmpdir(), name);
    FILE *f = fopen(path, "w");
    FL_CHECK(f != NULL);
    fputs(text, f);
    fclose(f);
    return path;
}

FL_TEST(defaults_listen_on_loopback)
{
    fl_config_t cfg;
    char err[512];
    char *argv[] = { "flowd", NULL };
    FL_CHECK_INT(s_load(&cfg, err, 1, argv), ==, 0);
    FL_CHECK_STR(cfg.data_dir, "./var/flow");
    FL_CHECK_STR(cfg.client_endpoint, "tcp://127.0.0.1:7700");
    FL_CHECK_STR(cfg.control_endpoint, "tcp://127.0.0.1:7702");
    FL_CHECK_INT(cfg.partitions, ==, 1024);
}

FL_TEST(file_then_env_then_flags_win_in_order)
{
    const char *path = s_write("flow.cfg",
        "node\n    data = \"/from/file\"\n    client = \"tcp://127.0.0.1:1\"\n"
        "    control = \"tcp://127.0.0.1:2\"\nrequests\n    batch_max = 7\n");
    setenv("FLOW_CLIENT", "tcp://127.0.0.1:3", 1);
    setenv("FLOW_CONTROL", "tcp://127.0.0.1:4", 1);
    char *argv[] = { "flowd", "--config", (char *) path, "--control", "tcp://127.0.0.1:5", NULL };
    fl_config_t cfg;
    char err[512];
    FL_CHECK_INT(s_load(&cfg, err, 5, argv), ==, 0);
    FL_CHECK_STR(cfg.data_dir, "/from/file");
    FL_CHECK_STR(cfg.client_endpoint, "tcp://127.0.0.1:3");
    FL_CHECK_STR(cfg.control_endpoint, "tcp://127.0.0.1:5");
    FL_CHECK_INT(cfg.batch_max, ==, 7);
}

FL_TEST(config_file_from_environment)
{
    const char *path = s_write("env.cfg", "log\n    level = \"debug\"\n");
    setenv("FLOW_CONFIG", path, 1);
    char *argv[] = { "flowd", NULL };
    fl_config_t cfg;
    char err[512];
    FL_CHECK_INT(s_load(&cfg, err, 1, argv), ==, 0);
    FL_CHECK_STR(cfg.log_level, "debug");
}

FL_TEST(unknown_setting_in_file_is_named)
{
    const char *path = s_write("bad.cfg", "node\n    dta = \"/x\"\n");
    char *argv[] = { "flowd", "--config", (char *) path, NULL };
    fl_config_t cfg;
    char err[512];
    FL_CHECK(s_load(&cfg, err, 3, argv) < 0);
    FL_CHECK(strstr(err, "unknown setting node/dta") != NULL);
}

FL_TEST(missing_config_file_is_an_error)
{
    char *argv[] = { "flowd", "--config", "/nonexistent/flow.cfg", NULL };
    fl_config_t cfg;
    char err[512];
    FL_CHECK(s_load(&cfg, err, 3, argv) < 0);
    FL_CHECK(strstr(err, "/nonexistent/flow.cfg") != NULL);
}

FL_TEST(numbers_are_checked_against_bounds)
{
    fl_config_t cfg;
    char err[512];
    char *zero[] = { "flowd", "--partitions", "0", NULL };
    FL_CHECK(s_load(&cfg, err, 3, zero) < 0);
    FL_CHECK(strstr(err, "cluster/partitions must be between 1 and 65536") != NULL);
    char *text[] = { "flowd", "--batch-max", "12abc", NULL };
    FL_CHECK(s_load(&cfg, err, 3, text) < 0);
    FL_CHECK(strstr(err, "whole number") != NULL);
    char *neg[] = { "flowd", "--workers", "-3", NULL };
    FL_CHECK(s_load(&cfg, err, 3, neg) < 0);
    /*  Down after less than two health checks would mark members down
     *  that answer.  */
    char *hasty[] = { "flowd", "--down-after-ms", "100", NULL };
    FL_CHECK(s_load(&cfg, err, 3, hasty) < 0);
    FL_CHECK(strstr(err, "cluster/down_after_ms must be between 500") != NULL);
    char *soon[] = { "flowd", "--replace-after-ms", "10", NULL };
    FL_CHECK(s_load(&cfg, err, 3, soon) < 0);
    FL_CHECK(strstr(err, "cluster/replace_after_ms must be between 1000") != NULL);
}

FL_TEST(bad_environment_value_names_the_variable)
{
    setenv("FLOW_PARTITIONS", "lots", 1);
    char *argv[] = { "flowd", NULL };
    fl_config_t cfg;
    char err[512];
    FL_CHECK(s_load(&cfg, err, 1, argv) < 0);
    FL_CHECK(strstr(err, "FLOW_PARTITIONS") != NULL);
}

FL_TEST(unknown_flag_and_stray_argument_are_refused)
{
    fl_config_t cfg;
    char err[512];
    char *flag[] = { "flowd", "--colour", "red", NULL };
    FL_CHECK(s_load(&cfg, err, 3, flag) < 0);
    FL_CHECK(strstr(err, "--colour") != NULL);
    char *stray[] = { "flowd", "extra", NULL };
    FL_CHECK(s_load(&cfg, err, 2, stray) < 0);
    FL_CHECK(strstr(err, "extra") != NULL);
}

FL_TEST(default_timeout_may_not_exceed_maximum)
{
    char *argv[] = { "flowd", "--default-timeout-ms", "9000", "--max-timeout-ms", "100", NULL };
    fl_config_t cfg;
    char err[512];
    FL_CHECK(s_load(&cfg, err, 5, argv) < 0);
    FL_CHECK(strstr(err, "default_timeout_ms") != NULL);
}

FL_TEST(over_long_string_is_refused)
{
    char big[400];
    memset(big, 'a', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    char *argv[] = { "flowd", "--data", big, NULL };
    fl_config_t cfg;
    char err[512];
    FL_CHECK(s_load(&cfg, err, 3, argv) < 0);
    FL_CHECK(strstr(err, "longer than") != NULL);
}

FL_TEST(sample_config_in_deploy_is_valid)
{
    const char *path = getenv("FLOW_SAMPLE_CONFIG");
    if (!path)
        FL_SKIP("FLOW_SAMPLE_CONFIG is not set; run through meson test");
    char *argv[] = { "flowd", "--config", (char *) path, NULL };
    fl_config_t cfg;
    char err[512];
    FL_CHECK_INT(s_load(&cfg, err, 3, argv), ==, 0);
    FL_CHECK_STR(cfg.data_dir, "/var/lib/flow");
    FL_CHECK_STR(cfg.client_endpoint, "tcp://127.0.0.1:7700");
}

FL_TEST(cluster_settings_default_to_loopback_ports_beside_the_client)
{
    fl_config_t cfg;
    char err[512];
    char *argv[] = { "flowd", NULL };
    FL_CHECK_INT(s_load(&cfg, err, 1, argv), ==, 0);
    FL_CHECK_STR(cfg.peer_endpoint, "tcp://127.0.0.1:7701");
    FL_CHECK_STR(cfg.raft_address, "127.0.0.1:7703");
    FL_CHECK_INT(cfg.replicas, ==, 3);
    FL_CHECK_INT(cfg.down_after_ms, ==, 3000);
    FL_CHECK_INT(cfg.replace_after_ms, ==, 60000);
    FL_CHECK_STR(cfg.join, "");
    FL_CHECK_STR(cfg.join_key, "");

    char *join[] = { "flowd", "--join", "tcp://10.0.0.1:7701", "--join-key", "/tmp/join.key",
                     "--replicas", "5", NULL };
    FL_CHECK_INT(s_load(&cfg, err, 7, join), ==, 0);
    FL_CHECK_STR(cfg.join, "tcp://10.0.0.1:7701");
    FL_CHECK_STR(cfg.join_key, "/tmp/join.key");
    FL_CHECK_INT(cfg.replicas, ==, 5);

    char *many[] = { "flowd", "--replicas", "8", NULL };
    FL_CHECK_INT(s_load(&cfg, err, 3, many), !=, 0);
    FL_CHECK(strstr(err, "replicas") != NULL);
    char *empty[] = { "flowd", "--peer", "", NULL };
    FL_CHECK_INT(s_load(&cfg, err, 3, empty), !=, 0);
    FL_CHECK(strstr(err, "cluster/peer is empty") != NULL);
}
