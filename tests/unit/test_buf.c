/* test_buf.c - dx_buf, dx_error and the fs helpers. */
#include "test.h"

#include <unistd.h>

#include "diaryx/buf.h"
#include "diaryx/error.h"
#include "diaryx/fs.h"

TEST(test_buf_appends_and_stays_nul_terminated)
{
    dx_buf b = DX_BUF_INIT;
    CHECK_EQ_STR(dx_buf_cstr(&b), "");
    CHECK_EQ_INT(dx_buf_puts(&b, "hello"), 0);
    CHECK_EQ_INT(dx_buf_putc(&b, ' '), 0);
    CHECK_EQ_INT(dx_buf_printf(&b, "%d-%s", 42, "x"), 0);
    CHECK_EQ_STR(b.data, "hello 42-x");
    CHECK_EQ_INT(b.len, 10);
    dx_buf_truncate(&b, 5);
    CHECK_EQ_STR(b.data, "hello");
    for (int i = 0; i < 10000; i++)
        CHECK_EQ_INT(dx_buf_putc(&b, 'a'), 0);
    CHECK_EQ_INT(b.len, 10005);
    CHECK_EQ_INT(b.data[b.len], 0);
    dx_buf_release(&b);
    CHECK(b.data == NULL);
}

TEST(test_buf_limit_refuses_and_keeps_contents)
{
    dx_buf b = DX_BUF_INIT;
    dx_buf_set_limit(&b, 8);
    CHECK_EQ_INT(dx_buf_puts(&b, "12345678"), 0);
    CHECK_EQ_INT(dx_buf_putc(&b, '9'), DX_ELIMIT);
    CHECK_EQ_INT(dx_buf_printf(&b, "%s", "more"), DX_ELIMIT);
    CHECK_EQ_STR(b.data, "12345678");
    dx_buf_release(&b);
}

/* The first failure sticks: later appends change nothing and report it, its code is kept
 * (a limit is not turned into out-of-memory), and a reset starts over. */
TEST(test_buf_first_error_is_sticky)
{
    dx_buf b = DX_BUF_INIT;
    dx_buf_set_limit(&b, 8);
    CHECK_EQ_INT(dx_buf_puts(&b, "abcdef"), 0);
    CHECK_EQ_INT(dx_buf_error(&b), 0);
    CHECK_EQ_INT(dx_buf_puts(&b, "ghijk"), DX_ELIMIT);
    CHECK_EQ_INT(dx_buf_putc(&b, 'g'), DX_ELIMIT); /* would fit, but the string is broken */
    CHECK_EQ_INT(dx_buf_printf(&b, "%d", 1), DX_ELIMIT);
    CHECK_EQ_INT(dx_buf_append(&b, "", 0), DX_ELIMIT);
    CHECK_EQ_STR(dx_buf_cstr(&b), "abcdef");
    CHECK_EQ_INT(dx_buf_error(&b), DX_ELIMIT);
    dx_buf_reset(&b);
    CHECK_EQ_INT(dx_buf_error(&b), 0);
    CHECK_EQ_INT(dx_buf_puts(&b, "ok"), 0);
    CHECK_EQ_STR(dx_buf_cstr(&b), "ok");
    dx_buf_release(&b);
    dx_buf_release(NULL);
}

TEST(test_buf_detach_hands_over_memory)
{
    dx_buf b = DX_BUF_INIT;
    size_t len = 99;
    char *empty = dx_buf_detach(&b, &len);
    CHECK(empty && empty[0] == 0 && len == 0);
    free(empty);
    dx_buf_puts(&b, "abc");
    char *p = dx_buf_detach(&b, &len);
    CHECK_EQ_STR(p, "abc");
    CHECK_EQ_INT(len, 3);
    CHECK(b.data == NULL && b.len == 0);
    free(p);
}

TEST(test_error_set_and_prefix)
{
    dx_error err = DX_ERROR_INIT;
    CHECK_EQ_INT(dx_error_set(&err, DX_EIO, "cannot open '%s'", "a.md"), DX_EIO);
    CHECK_EQ_INT(dx_error_prefix(&err, "loading workspace"), DX_EIO);
    CHECK_EQ_STR(err.msg, "loading workspace: cannot open 'a.md'");
    CHECK_EQ_INT(dx_error_set(NULL, DX_EINVAL, "ignored"), DX_EINVAL);
    CHECK_EQ_STR(dx_strerror(DX_ENOMEM), "out of memory");
}

TEST(test_fs_atomic_write_and_read)
{
    char dir[] = "/tmp/dxtestXXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    char sub[256], path[300];
    snprintf(sub, sizeof sub, "%s/a/b/c", dir);
    dx_error err = DX_ERROR_INIT;
    CHECK_EQ_INT(dx_mkdirs(sub, &err), 0);
    CHECK(dx_is_dir(sub));
    snprintf(path, sizeof path, "%s/note.md", sub);
    CHECK_EQ_INT(dx_file_write_atomic(path, "one", 3, 0644, &err), 0);
    CHECK_EQ_INT(dx_file_write_atomic(path, "two!", 4, 0644, &err), 0);
    dx_buf b = DX_BUF_INIT;
    CHECK_EQ_INT(dx_file_read(path, &b, &err), 0);
    CHECK_EQ_STR(b.data, "two!");
    dx_buf_release(&b);
    char missing[300];
    snprintf(missing, sizeof missing, "%s/nope.md", dir);
    CHECK_EQ_INT(dx_file_read(missing, &b, &err), DX_ENOTFOUND);
    CHECK(strstr(err.msg, "nope.md") != NULL);
    dx_buf_release(&b);
    char cmd[400];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    CHECK_EQ_INT(system(cmd), 0);
}

int main(void)
{
    RUN(test_buf_appends_and_stays_nul_terminated);
    RUN(test_buf_limit_refuses_and_keeps_contents);
    RUN(test_buf_first_error_is_sticky);
    RUN(test_buf_detach_hands_over_memory);
    RUN(test_error_set_and_prefix);
    RUN(test_fs_atomic_write_and_read);
    return TEST_REPORT();
}
