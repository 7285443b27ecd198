/* test_strmap.c - the string hash map against a plain array model. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "diaryx/strmap.h"
#include "test.h"

TEST(test_strmap_put_get_remove_match_a_model)
{
    enum { N = 2000 };
    static int present[N];
    static int vals[N];
    dx_strmap m = DX_STRMAP_INIT;
    unsigned seed = 7;
    char key[32];
    for (int step = 0; step < 20000; step++) {
        seed = seed * 1103515245u + 12345u;
        int k = (int)((seed >> 8) % N);
        snprintf(key, sizeof key, "body/%d", k);
        if ((seed >> 4) % 3) {
            CHECK_EQ_INT(dx_strmap_put(&m, key, &vals[k]), 0);
            present[k] = 1;
        } else {
            void *v = dx_strmap_remove(&m, key);
            CHECK(v == (present[k] ? (void *)&vals[k] : NULL));
            present[k] = 0;
        }
    }
    size_t count = 0;
    for (int k = 0; k < N; k++) {
        snprintf(key, sizeof key, "body/%d", k);
        CHECK(dx_strmap_get(&m, key) == (present[k] ? (void *)&vals[k] : NULL));
        count += (size_t)present[k];
    }
    CHECK_EQ_INT((long)m.len, (long)count);
    dx_strmap_release(&m);
    CHECK(dx_strmap_get(&m, "x") == NULL);
}

int main(void)
{
    RUN(test_strmap_put_get_remove_match_a_model);
    return TEST_REPORT();
}
