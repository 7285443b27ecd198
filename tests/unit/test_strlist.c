/* test_strlist.c - the owned string list: order kept through push, insert and remove, and
 * growth by doubling (a million pushes were quadratic when every push reallocated by one). */
#include <stdio.h>
#include <string.h>

#include "diaryx/strlist.h"
#include "test.h"

TEST(test_strlist_push_insert_remove_keep_order)
{
    dx_strlist l = DX_STRLIST_INIT;
    CHECK_EQ_INT(dx_strlist_push(&l, "b"), 0);
    CHECK_EQ_INT(dx_strlist_pushn(&l, "dxx", 1), 0);
    CHECK_EQ_INT(dx_strlist_insert(&l, 0, "a"), 0);
    CHECK_EQ_INT(dx_strlist_insert(&l, 2, "c"), 0);
    CHECK_EQ_INT(dx_strlist_insert(&l, 99, "e"), 0);
    CHECK_EQ_INT(dx_strlist_pushf(&l, "%s%d", "f", 1), 0);
    const char *want[] = {"a", "b", "c", "d", "e", "f1"};
    CHECK_EQ_INT((long)l.len, 6);
    for (size_t i = 0; i < 6; i++)
        CHECK_EQ_STR(l.items[i], want[i]);
    dx_strlist_remove(&l, 0);
    dx_strlist_remove(&l, 99);
    CHECK_EQ_INT((long)l.len, 5);
    CHECK_EQ_INT(dx_strlist_find(&l, "d"), 2);
    CHECK_EQ_INT(dx_strlist_find(&l, "a"), -1);
    dx_strlist_release(&l);
    CHECK(l.items == NULL && l.len == 0 && l.cap == 0);
    CHECK_EQ_INT(dx_strlist_push(&l, "again"), 0); /* usable after release */
    dx_strlist_release(&l);
}

TEST(test_strlist_grows_by_doubling)
{
    dx_strlist l = DX_STRLIST_INIT;
    size_t reallocs = 0, cap = 0;
    char s[16];
    for (int i = 0; i < 200000; i++) {
        snprintf(s, sizeof s, "%d", i);
        CHECK_EQ_INT(dx_strlist_push(&l, s), 0);
        if (l.cap != cap) {
            reallocs++;
            cap = l.cap;
        }
    }
    CHECK(reallocs <= 20);
    CHECK(l.cap >= l.len);
    CHECK_EQ_STR(l.items[199999], "199999");
    dx_strlist_release(&l);
}

int main(void)
{
    RUN(test_strlist_push_insert_remove_keep_order);
    RUN(test_strlist_grows_by_doubling);
    return TEST_REPORT();
}
