/* test.h - a tiny test harness: TEST(name) functions run by RUN(name), counted per case.
 *
 *   TEST(test_buf_grows) { CHECK(x == 1); CHECK_EQ_INT(a, b); CHECK_EQ_STR(s, "x"); }
 *   int main(void) { RUN(test_buf_grows); return TEST_REPORT(); }
 *
 * TEST_REPORT prints "N passed, N failed" (the line CI reads) and returns the exit code.
 * A case fails when any CHECK in it fails; the case goes on so every failure is listed. */
#ifndef DX_TEST_H
#define DX_TEST_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int test_passed_, test_failed_, test_case_failed_;
static const char *test_current_;

#define TEST(name) static void name(void)

#define RUN(name)                                                                                  \
    do {                                                                                           \
        test_current_ = #name;                                                                     \
        test_case_failed_ = 0;                                                                     \
        name();                                                                                    \
        if (test_case_failed_) {                                                                   \
            test_failed_++;                                                                        \
            printf("FAIL %s\n", #name);                                                            \
        } else {                                                                                   \
            test_passed_++;                                                                        \
            printf("ok   %s\n", #name);                                                            \
        }                                                                                          \
        fflush(stdout);                                                                            \
    } while (0)

#define TEST_FAILF(...)                                                                            \
    do {                                                                                           \
        test_case_failed_ = 1;                                                                     \
        printf("  %s:%d: ", __FILE__, __LINE__);                                                   \
        printf(__VA_ARGS__);                                                                       \
        printf("\n");                                                                              \
    } while (0)

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond))                                                                               \
            TEST_FAILF("CHECK(%s) failed", #cond);                                                 \
    } while (0)

#define CHECK_EQ_INT(a, b)                                                                         \
    do {                                                                                           \
        long long a_ = (long long)(a), b_ = (long long)(b);                                        \
        if (a_ != b_)                                                                              \
            TEST_FAILF("%s == %s failed: %lld != %lld", #a, #b, a_, b_);                           \
    } while (0)

#define CHECK_EQ_STR(a, b)                                                                         \
    do {                                                                                           \
        const char *a_ = (a), *b_ = (b);                                                           \
        if (!a_ || !b_ || strcmp(a_, b_) != 0)                                                     \
            TEST_FAILF("%s == %s failed:\n    got:      \"%s\"\n    expected: \"%s\"", #a, #b,     \
                       a_ ? a_ : "(null)", b_ ? b_ : "(null)");                                    \
    } while (0)

#define CHECK_EQ_MEM(a, alen, b, blen)                                                             \
    do {                                                                                           \
        size_t al_ = (alen), bl_ = (blen);                                                         \
        if (al_ != bl_ || (al_ && memcmp((a), (b), al_) != 0))                                     \
            TEST_FAILF("%s == %s failed (lengths %zu and %zu)", #a, #b, al_, bl_);                 \
    } while (0)

#define TEST_REPORT()                                                                              \
    (printf("%d passed, %d failed\n", test_passed_, test_failed_), test_failed_ ? 1 : 0)

#endif
