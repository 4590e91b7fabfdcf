/*  Error table: every code has a distinct name and a text.  */
#include "node/error.h"
#include "tests/testlib.h"

#include <errno.h>

FL_TEST(every_code_has_name_and_text)
{
    for (int code = FL_E_BASE_ + 1; code < FL_E_END_; code++) {
        FL_CHECK(strncmp(fl_err_name(code), "FL_E_", 5) == 0);
        FL_CHECK(strcmp(fl_err_name(code), "FL_E_UNKNOWN") != 0);
        FL_CHECK(strcmp(fl_strerror(code), "unknown error") != 0);
        for (int other = code + 1; other < FL_E_END_; other++)
            FL_CHECK(strcmp(fl_err_name(code), fl_err_name(other)) != 0);
    }
}

FL_TEST(negated_errno_reads_as_strerror)
{
    FL_CHECK_STR(fl_strerror(-ENOENT), strerror(ENOENT));
    FL_CHECK_STR(fl_err_name(-ENOENT), "FL_E_UNKNOWN");
}

FL_TEST(success_and_unknown_codes)
{
    FL_CHECK_STR(fl_strerror(0), "success");
    FL_CHECK_STR(fl_err_name(0), "FL_OK");
    FL_CHECK_STR(fl_strerror(-5000), "unknown error");
    FL_CHECK_STR(fl_strerror(17), "unknown error");
}
