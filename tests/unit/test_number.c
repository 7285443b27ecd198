/* test_number.c - strict number parsing with ranges: the whole text, no nan/inf/hex, no
 * overflow, and messages that name the option, the value and the range. */
#include "test.h"

#include <stdint.h>

#include "diaryx/number.h"

TEST(test_parse_int_takes_plain_decimals_in_range)
{
    int64_t v = -1;
    dx_error err = DX_ERROR_INIT;
    CHECK_EQ_INT(dx_number_parse_int("-n", "42", 1, 100, &v, &err), 0);
    CHECK_EQ_INT(v, 42);
    CHECK_EQ_INT(dx_number_parse_int("--at", "-3", -5, 5, &v, &err), 0);
    CHECK_EQ_INT(v, -3);
    CHECK_EQ_INT(dx_number_parse_int("--at", "9223372036854775807", 0, INT64_MAX, &v, &err), 0);
    CHECK(v == INT64_MAX);
    CHECK_EQ_INT(dx_number_parse_int("--at", "-9223372036854775808", INT64_MIN, 0, &v, &err), 0);
    CHECK(v == INT64_MIN);
}

TEST(test_parse_int_refuses_garbage_overflow_and_range)
{
    static const char *bad[] = {"",
                                "-",
                                " 1",
                                "1 ",
                                "+1",
                                "1x",
                                "0x10",
                                "1e3",
                                "1.0",
                                "nan",
                                "inf",
                                "101",
                                "0",
                                "99999999999999999999",
                                "-9223372036854775809"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        int64_t v = 7;
        dx_error err = DX_ERROR_INIT;
        CHECK_EQ_INT(dx_number_parse_int("-n", bad[i], 1, 100, &v, &err), DX_EINVAL);
        CHECK_EQ_INT(v, 7);
        char want[128];
        snprintf(want, sizeof want, "-n must be an integer from 1 to 100, not '%s'", bad[i]);
        CHECK_EQ_STR(err.msg, want);
    }
}

TEST(test_parse_double_refuses_nan_inf_and_range)
{
    double v = 0;
    dx_error err = DX_ERROR_INIT;
    CHECK_EQ_INT(dx_number_parse_double("--poll", "0.5", 0.01, 86400, &v, &err), 0);
    CHECK(v == 0.5);
    CHECK_EQ_INT(dx_number_parse_double("--poll", "2", 0.01, 86400, &v, &err), 0);
    CHECK(v == 2);
    CHECK_EQ_INT(dx_number_parse_double("--poll", ".25", 0.01, 86400, &v, &err), 0);
    CHECK(v == 0.25);
    CHECK_EQ_INT(dx_number_parse_double("--poll", "1e2", 0.01, 86400, &v, &err), 0);
    CHECK(v == 100);
    static const char *bad[] = {"nan", "NaN",   "inf", "-inf", "infinity", "0",
                                "-1",  "1e999", "",    "0x10", " 1",       "1s",
                                "1e",  "1e+",   ".",   "1..2", "1e-9",     "86401"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        v = 3;
        CHECK_EQ_INT(dx_number_parse_double("--poll", bad[i], 0.01, 86400, &v, &err), DX_EINVAL);
        CHECK(v == 3);
        char want[128];
        snprintf(want, sizeof want, "--poll must be a number from 0.01 to 86400, not '%s'", bad[i]);
        CHECK_EQ_STR(err.msg, want);
    }
}

TEST(test_check_int_names_the_value)
{
    dx_error err = DX_ERROR_INIT;
    CHECK_EQ_INT(dx_number_check_int("git.keep_updates", 5, 1, 10, &err), 0);
    CHECK_EQ_INT(dx_number_check_int("git.keep_updates", INT64_MAX, 1, 10, &err), DX_EINVAL);
    CHECK_EQ_STR(err.msg,
                 "git.keep_updates must be an integer from 1 to 10, not '9223372036854775807'");
}

int main(void)
{
    RUN(test_parse_int_takes_plain_decimals_in_range);
    RUN(test_parse_int_refuses_garbage_overflow_and_range);
    RUN(test_parse_double_refuses_nan_inf_and_range);
    RUN(test_check_int_names_the_value);
    return TEST_REPORT();
}
