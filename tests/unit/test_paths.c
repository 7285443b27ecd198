/* test_paths.c - lexical path arithmetic. */
#include "test.h"

#include "diaryx/paths.h"

static void norm(const char *in, const char *want)
{
    dx_buf b = DX_BUF_INIT;
    dx_error err = DX_ERROR_INIT;
    int rc = dx_path_normalize(in, &b, &err);
    if (want) {
        CHECK_EQ_INT(rc, 0);
        CHECK_EQ_STR(dx_buf_cstr(&b), want);
    } else {
        CHECK_EQ_INT(rc, DX_EPATH);
        CHECK(strstr(err.msg, "leaves the workspace") != NULL);
    }
    dx_buf_release(&b);
}

static void rel(const char *from, const char *to, const char *want)
{
    dx_buf b = DX_BUF_INIT;
    CHECK_EQ_INT(dx_path_relative(from, to, &b), 0);
    CHECK_EQ_STR(dx_buf_cstr(&b), want);
    dx_buf_release(&b);
}

TEST(test_path_normalize)
{
    norm("a/b.md", "a/b.md");
    norm("/a//b/./c.md", "a/b/c.md");
    norm("a/../b.md", "b.md");
    norm("a/b/../../c.md", "c.md");
    norm("", "");
    norm(".", "");
    norm("./", "");
    norm("..", NULL);
    norm("a/../../b", NULL);
    norm("../../etc/passwd", NULL);
}

TEST(test_path_join_dirname_stem)
{
    dx_buf b = DX_BUF_INIT;
    dx_error err = DX_ERROR_INIT;
    CHECK_EQ_INT(dx_path_join("notes", "../README.md", &b, &err), 0);
    CHECK_EQ_STR(b.data, "README.md");
    dx_buf_reset(&b);
    CHECK_EQ_INT(dx_path_join("", "x/y.md", &b, &err), 0);
    CHECK_EQ_STR(b.data, "x/y.md");
    dx_buf_reset(&b);
    CHECK_EQ_INT(dx_path_join("notes", "../../x.md", &b, &err), DX_EPATH);
    dx_buf_reset(&b);
    dx_path_dirname("a/b/c.md", &b);
    CHECK_EQ_STR(b.data, "a/b");
    dx_buf_reset(&b);
    dx_path_dirname("c.md", &b);
    CHECK_EQ_STR(dx_buf_cstr(&b), "");
    CHECK_EQ_STR(dx_path_basename("a/b/c.md"), "c.md");
    dx_buf_reset(&b);
    dx_path_stem("a/my_note.md", &b);
    CHECK_EQ_STR(b.data, "my_note");
    dx_buf_reset(&b);
    dx_path_stem(".hidden", &b);
    CHECK_EQ_STR(b.data, ".hidden");
    CHECK(dx_path_is_markdown("a/B.MD"));
    CHECK(!dx_path_is_markdown("a/b.png"));
    dx_buf_release(&b);
}

TEST(test_path_relative)
{
    rel("", "a.md", "a.md");
    rel("", "x/a.md", "x/a.md");
    rel("x", "x/a.md", "a.md");
    rel("x", "a.md", "../a.md");
    rel("x/y", "x/z/a.md", "../z/a.md");
    rel("x/y", "a.md", "../../a.md");
    rel("ab", "abc/a.md", "../abc/a.md");
    rel("abc", "ab/a.md", "../ab/a.md");
}

TEST(test_path_under_root)
{
    dx_buf b = DX_BUF_INIT;
    dx_error err = DX_ERROR_INIT;
    CHECK_EQ_INT(dx_path_under_root("/home/u/ws", "/home/u/ws/notes/a.md", &b, &err), 0);
    CHECK_EQ_STR(b.data, "notes/a.md");
    dx_buf_reset(&b);
    CHECK_EQ_INT(dx_path_under_root("/home/u/ws", "/home/u/ws", &b, &err), 0);
    CHECK_EQ_STR(dx_buf_cstr(&b), "");
    dx_buf_reset(&b);
    CHECK_EQ_INT(dx_path_under_root("/home/u/ws", "/home/u/wsx/a.md", &b, &err), DX_EPATH);
    CHECK_EQ_INT(dx_path_under_root("/home/u/ws", "/home/u/ws/../x.md", &b, &err), DX_EPATH);
    dx_buf_release(&b);
}

int main(void)
{
    RUN(test_path_normalize);
    RUN(test_path_join_dirname_stem);
    RUN(test_path_relative);
    RUN(test_path_under_root);
    return TEST_REPORT();
}
