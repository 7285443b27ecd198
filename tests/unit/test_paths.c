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

/* The glob rules of the root index's `exclude` (paths.h): a table of pattern, path,
 * expected. */
TEST(test_glob_match_table)
{
    static const struct {
        const char *pat, *path;
        bool want;
    } t[] = {
        /* no wildcards: the exact name */
        {"a.md", "a.md", true},
        {"a.md", "b.md", false},
        {"a.md", "xa.md", false},
        {"notes/a.md", "notes/a.md", true},
        {"notes/a.md", "notes/a.mdx", false},
        {"", "a", false},
        {"", "", true},
        /* * stays within one component */
        {"*.md", "a.md", true},
        {"*.md", ".md", true},
        {"*.md", "notes/a.md", false},
        {"*", "abc", true},
        {"*", "", true},
        {"*", "a/b", false},
        {"a*", "a", true},
        {"a*c", "abbbc", true},
        {"a*c", "ab/c", false},
        {"notes/*.md", "notes/a.md", true},
        {"notes/*.md", "notes/x/a.md", false},
        {"*/*.md", "x/a.md", true},
        {"*/*.md", "a.md", false},
        {"*a*a*a*b", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", false},
        {"*a*a*a*b", "xaxaxab", true},
        /* ? is one character, never / */
        {"?.md", "a.md", true},
        {"?.md", "ab.md", false},
        {"?.md", ".md", false},
        {"a?b", "a/b", false},
        {"???", "abc", true},
        /* ** crosses / */
        {"**", "a/b/c.md", true},
        {"**", "", true},
        {"**.png", "x/y/z.png", true},
        {"**.png", "z.png", true},
        {"a**b", "a/x/b", true},
        {"drafts/**", "drafts/a.md", true},
        {"drafts/**", "drafts/x/y/a.md", true},
        {"drafts/**", "drafts", false},
        {"drafts/**", "draftsx/a.md", false},
        {"***", "a/b", true},
        /* ** followed by / also matches no directory */
        {"**/a.md", "a.md", true},
        {"**/a.md", "x/a.md", true},
        {"**/a.md", "x/y/a.md", true},
        {"**/a.md", "xa.md", false},
        {"**/a.md", "x/ya.md", false},
        {"a/**/b", "a/b", true},
        {"a/**/b", "a/x/b", true},
        {"a/**/b", "a/x/y/b", true},
        {"a/**/b", "a/xb", false},
        {"a/**/b", "ab", false},
        {"a/**/*.md", "a/n.md", true},
        {"a/**/*.md", "a/x/n.md", true},
        {"a/**/*.md", "a/x/n.png", false},
        /* a leading ./ or / and a trailing / are dropped */
        {"./a.md", "a.md", true},
        {"/drafts", "drafts", true},
        {"drafts/", "drafts", true},
        {"//x//", "x", true},
        /* other characters are themselves: no classes, no escapes */
        {"[ab].md", "a.md", false},
        {"[ab].md", "[ab].md", true},
        {"a\\*", "a\\bc", true},
        /* UTF-8 bytes match themselves; ? is one byte */
        {"caf\xc3\xa9.md", "caf\xc3\xa9.md", true},
        {"caf??.md", "caf\xc3\xa9.md", true},
    };
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++)
        if (dx_path_glob_match(t[i].pat, t[i].path) != t[i].want)
            TEST_FAILF("glob '%s' on '%s': expected %s", t[i].pat, t[i].path,
                       t[i].want ? "a match" : "no match");
}

TEST(test_glob_limits)
{
    /* a pattern of DX_GLOB_MAX bytes works; one longer matches nothing */
    char pat[DX_GLOB_MAX + 2], path[DX_GLOB_MAX + 2];
    memset(pat, '*', DX_GLOB_MAX);
    pat[DX_GLOB_MAX] = 0;
    memset(path, 'x', DX_GLOB_MAX);
    path[DX_GLOB_MAX] = 0;
    CHECK(dx_path_glob_match(pat, path));
    memset(pat, '?', DX_GLOB_MAX);
    CHECK(dx_path_glob_match(pat, path));
    pat[DX_GLOB_MAX] = '?';
    pat[DX_GLOB_MAX + 1] = 0;
    path[DX_GLOB_MAX] = 'x';
    path[DX_GLOB_MAX + 1] = 0;
    CHECK(!dx_path_glob_match(pat, path));
    /* many ** followed by /: one token set per character, no blow-up */
    char big[DX_GLOB_MAX + 1] = "", longpath[4000];
    while (strlen(big) + 3 <= 200)
        strcat(big, "**/");
    strcat(big, "z");
    for (size_t i = 0; i < sizeof longpath - 1; i++)
        longpath[i] = i % 2 ? '/' : 'a';
    longpath[sizeof longpath - 1] = 0;
    CHECK(!dx_path_glob_match(big, longpath));
    longpath[sizeof longpath - 2] = 'z';
    CHECK(dx_path_glob_match(big, longpath));
}

TEST(test_path_excluded_tries_the_name_and_the_path)
{
    char *pats[] = {"*.tmp", "drafts", "notes/private.md", "**/cache/**"};
    CHECK(dx_path_excluded(pats, 4, "x.tmp"));
    CHECK(dx_path_excluded(pats, 4, "deep/down/x.tmp")); /* the name */
    CHECK(dx_path_excluded(pats, 4, "drafts"));
    CHECK(dx_path_excluded(pats, 4, "a/drafts"));     /* a directory's name */
    CHECK(!dx_path_excluded(pats, 4, "drafts/a.md")); /* the directory is the caller's */
    CHECK(dx_path_excluded(pats, 4, "notes/private.md"));
    CHECK(!dx_path_excluded(pats, 4, "other/notes/private.md"));
    CHECK(!dx_path_excluded(pats, 4, "private.md"));
    CHECK(dx_path_excluded(pats, 4, "a/cache/b.png"));
    CHECK(dx_path_excluded(pats, 4, "cache/b.png"));
    CHECK(!dx_path_excluded(pats, 4, "cached/b.png"));
    CHECK(!dx_path_excluded(pats, 0, "x.tmp"));
}

int main(void)
{
    RUN(test_path_normalize);
    RUN(test_path_join_dirname_stem);
    RUN(test_path_relative);
    RUN(test_path_under_root);
    RUN(test_glob_match_table);
    RUN(test_glob_limits);
    RUN(test_path_excluded_tries_the_name_and_the_path);
    return TEST_REPORT();
}
