/* test_links.c - link parsing, resolution and writing in the four formats. */
#include "test.h"

#include "diaryx/links.h"

static void parse(const char *s, const char *title, const char *path, dx_link_kind kind)
{
    dx_link l;
    CHECK_EQ_INT(dx_link_parse(s, &l), 0);
    if (title)
        CHECK_EQ_STR(l.title, title);
    else
        CHECK(l.title == NULL);
    CHECK_EQ_STR(l.path, path);
    CHECK_EQ_INT(l.kind, kind);
    dx_link_release(&l);
}

static void resolve(const char *link, const char *from, dx_link_format f, const char *want)
{
    dx_buf b = DX_BUF_INIT;
    dx_error err = DX_ERROR_INIT;
    int rc = dx_link_resolve(link, from, f, &b, &err);
    if (want) {
        CHECK_EQ_INT(rc, 0);
        CHECK_EQ_STR(dx_buf_cstr(&b), want);
    } else {
        CHECK_EQ_INT(rc, DX_EPATH);
        CHECK(strstr(err.msg, "outside the workspace") != NULL);
    }
    dx_buf_release(&b);
}

static void write_link(const char *target, const char *from, const char *title, dx_link_format f,
                       const char *want)
{
    dx_buf b = DX_BUF_INIT;
    CHECK_EQ_INT(dx_link_write(target, from, title, f, &b), 0);
    CHECK_EQ_STR(b.data, want);
    dx_buf_release(&b);
}

TEST(test_link_parse_every_form)
{
    parse("[Title](/Folder/file.md)", "Title", "/Folder/file.md", DX_LINK_KIND_ROOT);
    parse("[My File](</My Folder/my file.md>)", "My File", "/My Folder/my file.md",
          DX_LINK_KIND_ROOT);
    parse("[Parent](../index.md)", "Parent", "../index.md", DX_LINK_KIND_RELATIVE);
    parse("[F](file (1).md)", "F", "file (1).md", DX_LINK_KIND_AMBIGUOUS);
    parse("/Folder/file.md", NULL, "/Folder/file.md", DX_LINK_KIND_ROOT);
    parse("../index.md", NULL, "../index.md", DX_LINK_KIND_RELATIVE);
    parse("./a.md", NULL, "./a.md", DX_LINK_KIND_RELATIVE);
    parse("child.md", NULL, "child.md", DX_LINK_KIND_AMBIGUOUS);
    parse("  Folder/file.md  ", NULL, "Folder/file.md", DX_LINK_KIND_AMBIGUOUS);
    parse("[broken](x.md", NULL, "[broken](x.md", DX_LINK_KIND_AMBIGUOUS);
    dx_link l;
    CHECK_EQ_INT(dx_link_parse("", &l), DX_EPARSE);
    CHECK_EQ_INT(dx_link_parse("   ", &l), DX_EPARSE);
    CHECK_EQ_INT(dx_link_parse("[empty]()", &l), DX_EPARSE);
}

TEST(test_link_resolve_to_canonical)
{
    resolve("[R](/README.md)", "notes/a.md", DX_LINK_MARKDOWN_ROOT, "README.md");
    resolve("[P](../README.md)", "notes/a.md", DX_LINK_MARKDOWN_ROOT, "README.md");
    resolve("notes/b.md", "notes/a.md", DX_LINK_MARKDOWN_ROOT, "notes/b.md");
    resolve("notes/b.md", "notes/a.md", DX_LINK_PLAIN_CANONICAL, "notes/b.md");
    resolve("b.md", "notes/a.md", DX_LINK_PLAIN_RELATIVE, "notes/b.md");
    resolve("b.md", "notes/a.md", DX_LINK_MARKDOWN_RELATIVE, "notes/b.md");
    resolve("./sub/c.md", "notes/a.md", DX_LINK_MARKDOWN_ROOT, "notes/sub/c.md");
    resolve("[x](</A Folder/b c.md>)", "a.md", DX_LINK_MARKDOWN_ROOT, "A Folder/b c.md");
    resolve("../../escape.md", "notes/a.md", DX_LINK_MARKDOWN_ROOT, NULL);
    resolve("[x](/../../etc/passwd)", "a.md", DX_LINK_MARKDOWN_ROOT, NULL);
}

TEST(test_link_write_four_formats)
{
    write_link("Folder/target.md", "Folder/source.md", "Target", DX_LINK_MARKDOWN_ROOT,
               "[Target](/Folder/target.md)");
    write_link("Folder/target.md", "Folder/source.md", "Target", DX_LINK_MARKDOWN_RELATIVE,
               "[Target](target.md)");
    write_link("Folder/target.md", "Folder/source.md", NULL, DX_LINK_PLAIN_RELATIVE, "target.md");
    write_link("Folder/target.md", "Folder/source.md", NULL, DX_LINK_PLAIN_CANONICAL,
               "Folder/target.md");
    write_link("README.md", "a/b/c.md", NULL, DX_LINK_PLAIN_RELATIVE, "../../README.md");
    write_link("My Folder/my file.md", "README.md", "My File", DX_LINK_MARKDOWN_ROOT,
               "[My File](</My Folder/my file.md>)");
    write_link("notes/utility_index.md", "README.md", NULL, DX_LINK_MARKDOWN_ROOT,
               "[Utility Index](/notes/utility_index.md)");
    write_link("a.md", "README.md", "Odd [title]", DX_LINK_MARKDOWN_ROOT, "[Odd  title ](/a.md)");
}

TEST(test_link_written_forms_resolve_back)
{
    /* Angle brackets and backslashes in a path are escaped inside <...> (a fuzzer found a
     * path with '>' that read back as another one). */
    const char *targets[] = {"README.md",   "a/b.md",    "a/b/c d.md", "x (1).md",
                             "a/../b/ü.md", "n[a>b].md", "w<x>\\y.md"};
    const size_t nt = sizeof targets / sizeof *targets;
    const char *froms[] = {"README.md", "a/x.md", "q/r/s.md"};
    for (int f = 0; f < 4; f++)
        for (size_t t = 0; t < nt; t++)
            for (size_t s = 0; s < 3; s++) {
                dx_buf canon = DX_BUF_INIT, link = DX_BUF_INIT, back = DX_BUF_INIT;
                dx_error err = DX_ERROR_INIT;
                CHECK_EQ_INT(
                    dx_link_resolve(targets[t], "README.md", DX_LINK_PLAIN_CANONICAL, &canon, &err),
                    0);
                CHECK_EQ_INT(dx_link_write(canon.data, froms[s], NULL, (dx_link_format)f, &link),
                             0);
                CHECK_EQ_INT(dx_link_resolve(link.data, froms[s], (dx_link_format)f, &back, &err),
                             0);
                if (strcmp(dx_buf_cstr(&back), canon.data) != 0)
                    TEST_FAILF("format %d: %s from %s wrote %s, read back %s", f, canon.data,
                               froms[s], link.data, dx_buf_cstr(&back));
                dx_buf_release(&canon);
                dx_buf_release(&link);
                dx_buf_release(&back);
            }
}

TEST(test_link_format_names_and_titles)
{
    dx_link_format f;
    CHECK_EQ_INT(dx_link_format_parse("markdown_root", &f), 0);
    CHECK_EQ_INT(f, DX_LINK_MARKDOWN_ROOT);
    CHECK_EQ_INT(dx_link_format_parse("PlainRelative", &f), 0);
    CHECK_EQ_INT(f, DX_LINK_PLAIN_RELATIVE);
    CHECK_EQ_INT(dx_link_format_parse("plain_canonical", &f), 0);
    CHECK_EQ_INT(dx_link_format_parse("nonsense", &f), DX_EINVAL);
    CHECK_EQ_STR(dx_link_format_name(DX_LINK_MARKDOWN_RELATIVE), "markdown_relative");
    dx_buf b = DX_BUF_INIT;
    dx_title_from_path("notes/utility_index.md", &b);
    CHECK_EQ_STR(b.data, "Utility Index");
    dx_buf_reset(&b);
    dx_title_from_path("README.md", &b);
    CHECK_EQ_STR(b.data, "README");
    dx_buf_reset(&b);
    dx_title_from_path("my-note.md", &b);
    CHECK_EQ_STR(b.data, "My Note");
    dx_buf_release(&b);
}

int main(void)
{
    RUN(test_link_parse_every_form);
    RUN(test_link_resolve_to_canonical);
    RUN(test_link_write_four_formats);
    RUN(test_link_written_forms_resolve_back);
    RUN(test_link_format_names_and_titles);
    return TEST_REPORT();
}
