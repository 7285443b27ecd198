/* test_server_ratelimit.c - the server's per-address limit: N per minute, a new minute starts
 * afresh, addresses are counted apart, 0 means no limit, and a table grown past its prune
 * point drops the addresses of past minutes only. */
#include "test.h"

#include <stdio.h>

#include "ratelimit.h"

TEST(test_n_per_minute_per_key)
{
    srv_rate r = {DX_STRMAP_INIT, 3};
    int64_t t = 60000 * 100 + 5;
    for (int i = 0; i < 3; i++)
        CHECK(srv_rate_allow(&r, "10.0.0.1", t + i));
    CHECK(!srv_rate_allow(&r, "10.0.0.1", t + 10));
    CHECK(srv_rate_allow(&r, "10.0.0.2", t + 10)); /* another address */
    CHECK(!srv_rate_allow(&r, "10.0.0.1", t + 59000));
    CHECK(srv_rate_allow(&r, "10.0.0.1", t + 60000)); /* the next minute */
    srv_rate_release(&r);
    srv_rate unlimited = {DX_STRMAP_INIT, 0};
    for (int i = 0; i < 1000; i++)
        CHECK(srv_rate_allow(&unlimited, "x", t));
    CHECK_EQ_INT(unlimited.keys.len, 0);
}

TEST(test_past_minutes_are_pruned)
{
    srv_rate r = {DX_STRMAP_INIT, 1};
    char key[32];
    for (int i = 0; i < 4096; i++) {
        snprintf(key, sizeof key, "old-%d", i);
        CHECK(srv_rate_allow(&r, key, 0));
    }
    CHECK(srv_rate_allow(&r, "now-0", 0)); /* same minute: nothing to prune */
    CHECK_EQ_INT(r.keys.len, 4097);
    CHECK(srv_rate_allow(&r, "now-1", 120000)); /* past minutes go */
    CHECK_EQ_INT(r.keys.len, 1);
    CHECK(!srv_rate_allow(&r, "now-1", 120001));
    srv_rate_release(&r);
}

int main(void)
{
    RUN(test_n_per_minute_per_key);
    RUN(test_past_minutes_are_pruned);
    return TEST_REPORT();
}
