/*  Logger: logfmt lines, quoting of untrusted values, level filter.  */
#include "node/log.h"
#include "tests/testlib.h"

#include <fcntl.h>
#include <unistd.h>

static char *
s_read_file(const char *path)
{
    static char buf[8192];
    int fd = open(path, O_RDONLY);
    FL_CHECK(fd >= 0);
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    FL_CHECK(n >= 0);
    buf[n] = '\0';
    return buf;
}

FL_TEST(quote_leaves_plain_tokens_bare)
{
    char buf[64];
    FL_CHECK_STR(fl_log_quote(buf, sizeof buf, "tcp://127.0.0.1:7700", 20), "tcp://127.0.0.1:7700");
}

FL_TEST(quote_escapes_spaces_quotes_newlines_and_binary)
{
    char buf[128];
    const char raw[] = "a b\"c\\d\ne\x01\xff";
    FL_CHECK_STR(fl_log_quote(buf, sizeof buf, raw, sizeof raw - 1),
                 "\"a b\\\"c\\\\d\\ne\\x01\\xff\"");
    FL_CHECK_STR(fl_log_quote(buf, sizeof buf, "", 0), "\"\"");
    FL_CHECK_STR(fl_log_quote(buf, sizeof buf, "k=v", 3), "\"k=v\"");
}

FL_TEST(quote_truncates_to_fit)
{
    char buf[16];
    char big[100];
    memset(big, ' ', sizeof big);
    fl_log_quote(buf, sizeof buf, big, sizeof big);
    FL_CHECK(strlen(buf) < sizeof buf);
    FL_CHECK(strstr(buf, "...\"") != NULL);
}

FL_TEST(lines_are_logfmt_with_level_and_component)
{
    char path[512];
    snprintf(path, sizeof path, "%s/log", fl_test_tmpdir());
    FL_CHECK_INT(fl_log_open(path), ==, 0);
    fl_log_set_level(FL_LOG_INFO);
    fl_info("store", "opened \"fast\"", "path=%s size=%d", "/x", 5);
    char *text = s_read_file(path);
    FL_CHECK(strncmp(text, "ts=", 3) == 0);
    FL_CHECK(strstr(text, " level=info comp=store msg=\"opened \\\"fast\\\"\" path=/x size=5\n"));
    FL_CHECK_INT(strchr(text, '\n') - text + 1, ==, (long) strlen(text));
}

FL_TEST(lines_below_the_level_are_dropped)
{
    char path[512];
    snprintf(path, sizeof path, "%s/log", fl_test_tmpdir());
    FL_CHECK_INT(fl_log_open(path), ==, 0);
    fl_log_set_level(FL_LOG_WARN);
    fl_info("x", "hidden", NULL);
    fl_warn("x", "shown", NULL);
    char *text = s_read_file(path);
    FL_CHECK(strstr(text, "hidden") == NULL);
    FL_CHECK(strstr(text, "msg=shown") != NULL);
}

FL_TEST(level_names_parse_and_bad_ones_are_refused)
{
    fl_log_level_t level;
    FL_CHECK_INT(fl_log_level_parse("debug", &level), ==, 0);
    FL_CHECK_INT(level, ==, FL_LOG_DEBUG);
    FL_CHECK_INT(fl_log_level_parse("ERROR", &level), ==, 0);
    FL_CHECK_INT(level, ==, FL_LOG_ERROR);
    FL_CHECK(fl_log_level_parse("loud", &level) < 0);
    FL_CHECK(fl_log_level_parse("", &level) < 0);
}

FL_TEST(open_of_unwritable_path_fails)
{
    FL_CHECK(fl_log_open("/nonexistent-dir/flow.log") < 0);
}
