/* test_validate.c - validation and its fixes (src/core/validate.c) on real temporary
 * directories: fixes count only when they change a file, a second fix finds nothing, and
 * files that cannot be read are errors even when nothing links them. */
#include "test.h"

#include <unistd.h>

#include "diaryx/fs.h"
#include "diaryx/workspace.h"

static char root[64];

static void put_n(const char *rel, const char *text, size_t len)
{
    char path[512], dir[512];
    snprintf(path, sizeof path, "%s/%s", root, rel);
    snprintf(dir, sizeof dir, "%s", path);
    *strrchr(dir, '/') = 0;
    dx_mkdirs(dir, NULL);
    dx_file_write_atomic(path, text, len, 0644, NULL);
}

static void put(const char *rel, const char *text)
{
    put_n(rel, text, strlen(text));
}

static char *slurp(const char *rel)
{
    char path[512];
    dx_buf b = DX_BUF_INIT;
    snprintf(path, sizeof path, "%s/%s", root, rel);
    dx_file_read(path, &b, NULL);
    return dx_buf_detach(&b, NULL);
}

static dx_workspace *open_ws(void)
{
    dx_workspace *ws = NULL;
    dx_error err = DX_ERROR_INIT;
    if (dx_workspace_open(root, &ws, &err) != 0)
        printf("  open failed: %s\n", err.msg);
    return ws;
}

static size_t count(const dx_report *r, const char *kind, const char *file)
{
    size_t n = 0;
    for (size_t i = 0; i < r->len; i++)
        n += !strcmp(r->items[i].kind, kind) && (!file || !strcmp(r->items[i].file, file));
    return n;
}

static size_t errors(const dx_report *r)
{
    size_t n = 0;
    for (size_t i = 0; i < r->len; i++)
        n += r->items[i].error;
    return n;
}

static void reset(void)
{
    char cmd[256];
    snprintf(cmd, sizeof cmd, "rm -rf %s/* %s/.[!.]*", root, root);
    if (system(cmd) != 0)
        printf("  cleanup failed\n");
}

/* One of each fixable kind; fixing twice: the second run fixes nothing. */
TEST(test_fix_converges_and_reports_each_fix_once)
{
    put("README.md", "---\ntitle: Root\ncontents:\n- \"[A](/a.md)\"\n- \"[Gone](/gone.md)\"\n"
                     "- \"[B](/b.md)\"\n---\n");
    put("a.md", "---\ntitle: A\npart_of: \"[Root](/README.md)\"\ncontents: x.md\n"
                "attachments:\n- \"[Pic](/nowhere.png)\"\n- /home/me/pic.png\n---\n");
    put("b.md", "---\ntitle: B\n---\nlisted but no part_of\n");
    put("orphan.md", "---\ntitle: Orphan\n---\n");
    put("pic.png", "binary");
    dx_workspace *ws = open_ws();
    dx_report r = {0};
    dx_strlist fixed = DX_STRLIST_INIT, failed = DX_STRLIST_INIT;
    CHECK_EQ_INT(dx_workspace_validate(ws, &r, NULL), 0);
    CHECK_EQ_INT(count(&r, "BrokenContentsRef", "README.md"), 1);
    CHECK_EQ_INT(count(&r, "BrokenContentsRef", "a.md"), 1); /* the plain-string contents */
    CHECK_EQ_INT(count(&r, "BrokenAttachment", "a.md"), 1);
    CHECK_EQ_INT(count(&r, "NonPortablePath", "a.md"), 1);
    CHECK_EQ_INT(count(&r, "MissingPartOf", "b.md"), 1);
    CHECK_EQ_INT(count(&r, "OrphanFile", "orphan.md"), 1);
    CHECK_EQ_INT(count(&r, "OrphanBinaryFile", "pic.png"), 1);
    CHECK_EQ_INT(dx_workspace_fix(ws, &r, &fixed, &failed, NULL), 0);
    CHECK_EQ_INT(fixed.len, 7);
    CHECK_EQ_INT(failed.len, 0);
    char *a = slurp("a.md"), *readme = slurp("README.md"), *b = slurp("b.md");
    CHECK(a && !strstr(a, "x.md") && strstr(a, "contents: []"));
    CHECK(a && !strstr(a, "nowhere.png") && !strstr(a, "/home/me") && strstr(a, "pic.png"));
    CHECK(readme && !strstr(readme, "gone.md") && strstr(readme, "(/orphan.md)"));
    CHECK(readme && strstr(readme, "attachments:") && strstr(readme, "(/pic.png)"));
    CHECK(b && strstr(b, "part_of: \"[Root](/README.md)\""));
    free(a);
    free(readme);
    free(b);

    /* Again: what remains has no fix, so nothing is fixed or tried. */
    dx_report_release(&r);
    dx_strlist_release(&fixed);
    CHECK_EQ_INT(dx_workspace_validate(ws, &r, NULL), 0);
    CHECK_EQ_INT(errors(&r), 0);
    CHECK_EQ_INT(dx_workspace_fix(ws, &r, &fixed, &failed, NULL), 0);
    CHECK_EQ_INT(fixed.len, 0);
    CHECK_EQ_INT(failed.len, 0);
    dx_report_release(&r);
    dx_strlist_release(&fixed);
    dx_strlist_release(&failed);
    dx_workspace_free(ws);
}

/* A fix that finds nothing to change (the file changed since validation) is not a fix. */
TEST(test_fix_that_changes_nothing_is_not_fixed)
{
    put("README.md", "---\ntitle: Root\ncontents:\n- \"[Gone](/gone.md)\"\n---\n");
    dx_workspace *ws = open_ws();
    dx_report r = {0};
    dx_strlist fixed = DX_STRLIST_INIT, failed = DX_STRLIST_INIT;
    CHECK_EQ_INT(dx_workspace_validate(ws, &r, NULL), 0);
    CHECK_EQ_INT(count(&r, "BrokenContentsRef", "README.md"), 1);
    put("README.md", "---\ntitle: Root\ncontents: []\n---\n");
    CHECK_EQ_INT(dx_workspace_fix(ws, &r, &fixed, &failed, NULL), 0);
    CHECK_EQ_INT(fixed.len, 0);
    CHECK_EQ_INT(failed.len, 1);
    CHECK(failed.len && strstr(failed.items[0], "is no longer a link of README.md"));
    dx_report_release(&r);
    dx_strlist_release(&fixed);
    dx_strlist_release(&failed);
    dx_workspace_free(ws);
}

/* Thousands of broken links in one index and orphans in one directory: all fixed by one
 * run, each reported once (the index is edited once, not once per link). */
TEST(test_fix_many_issues_in_one_file)
{
    enum { N = 500 };
    dx_buf b = DX_BUF_INIT;
    dx_buf_puts(&b, "---\ntitle: Root\ncontents:\n");
    for (int i = 0; i < N; i++)
        dx_buf_printf(&b, "- \"[G%d](/gone/g%d.md)\"\n", i, i);
    dx_buf_puts(&b, "---\n");
    put("README.md", b.data);
    for (int i = 0; i < N; i++) {
        char rel[64], text[64];
        snprintf(rel, sizeof rel, "loose/l%04d.md", i);
        snprintf(text, sizeof text, "---\ntitle: L%d\n---\n", i);
        put(rel, text);
    }
    dx_workspace *ws = open_ws();
    dx_report r = {0};
    dx_strlist fixed = DX_STRLIST_INIT, failed = DX_STRLIST_INIT;
    CHECK_EQ_INT(dx_workspace_validate(ws, &r, NULL), 0);
    CHECK_EQ_INT(count(&r, "BrokenContentsRef", NULL), N);
    CHECK_EQ_INT(count(&r, "OrphanFile", NULL), N);
    CHECK_EQ_INT(dx_workspace_fix(ws, &r, &fixed, &failed, NULL), 0);
    CHECK_EQ_INT(fixed.len, 2 * N);
    CHECK_EQ_INT(failed.len, 0);
    dx_report_release(&r);
    CHECK_EQ_INT(dx_workspace_validate(ws, &r, NULL), 0);
    CHECK_EQ_INT(r.len, 0);
    CHECK_EQ_INT(r.files_checked, N + 1);
    char *readme = slurp("README.md");
    CHECK(readme && !strstr(readme, "/gone/") && strstr(readme, "(/loose/l0499.md)"));
    free(readme);
    dx_report_release(&r);
    dx_strlist_release(&fixed);
    dx_strlist_release(&failed);
    dx_buf_release(&b);
    dx_workspace_free(ws);
}

/* Nothing links them, and they cannot be read: errors, not orphans (an orphan's fix would
 * fail on them every time). An unclosed block is a warning and has no fix either. */
TEST(test_unreadable_unlinked_files_are_errors)
{
    put("README.md", "---\ntitle: Root\ncontents: []\n---\n");
    put("dup.md", "---\ntitle: X\ntitle: Y\n---\n");
    put("badutf.md", "---\ntitle: \"bad \xff\"\n---\n");
    put_n("nul.md", "---\ntitle: a\0b\n---\n", 20);
    put("bomb.md", "---\na: &a [x, x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, "
                   "*a, *a, *a]\nc: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\nd: &d [*c, *c, "
                   "*c, *c, *c, *c, *c, *c, *c, *c]\ne: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d, "
                   "*d]\n---\n");
    put("unclosed.md", "---\ntitle: Unclosed\nno end\n");
    dx_workspace *ws = open_ws();
    dx_report r = {0};
    dx_strlist fixed = DX_STRLIST_INIT, failed = DX_STRLIST_INIT;
    CHECK_EQ_INT(dx_workspace_validate(ws, &r, NULL), 0);
    const char *bad[] = {"dup.md", "badutf.md", "nul.md", "bomb.md"};
    for (size_t i = 0; i < 4; i++) {
        CHECK_EQ_INT(count(&r, "InvalidFrontmatter", bad[i]), 1);
        CHECK_EQ_INT(count(&r, "OrphanFile", bad[i]), 0);
    }
    CHECK_EQ_INT(errors(&r), 4);
    CHECK_EQ_INT(count(&r, "UnclosedFrontmatter", "unclosed.md"), 1);
    CHECK_EQ_INT(count(&r, "OrphanFile", "unclosed.md"), 0);
    CHECK_EQ_INT(dx_workspace_fix(ws, &r, &fixed, &failed, NULL), 0);
    CHECK_EQ_INT(fixed.len + failed.len, 0);
    char *u = slurp("unclosed.md");
    CHECK_EQ_STR(u, "---\ntitle: Unclosed\nno end\n");
    free(u);
    dx_report_release(&r);
    dx_strlist_release(&fixed);
    dx_strlist_release(&failed);
    dx_workspace_free(ws);
}

/* Writing back a note read with an unclosed block would bury its keys in the body. */
TEST(test_write_refuses_a_note_read_unclosed)
{
    put("README.md", "---\ntitle: Root\ncontents: []\n---\n");
    put("unclosed.md", "---\ntitle: Unclosed\n");
    dx_workspace *ws = open_ws();
    dx_fm *fm = NULL;
    dx_error err = DX_ERROR_INIT;
    CHECK_EQ_INT(dx_workspace_read(ws, "unclosed.md", &fm, NULL), 0);
    CHECK_EQ_INT(dx_workspace_write(ws, "unclosed.md", fm, &err), DX_EPARSE);
    CHECK(strstr(err.msg, "never closed") != NULL);
    CHECK_EQ_INT(dx_workspace_attach(ws, "README.md", "unclosed.md", false, NULL), DX_EPARSE);
    char *u = slurp("unclosed.md");
    CHECK_EQ_STR(u, "---\ntitle: Unclosed\n");
    free(u);
    dx_fm_free(fm);
    dx_workspace_free(ws);
}

int main(void)
{
    snprintf(root, sizeof root, "/tmp/dx-validate-XXXXXX");
    if (!mkdtemp(root))
        return 1;
    RUN(test_fix_converges_and_reports_each_fix_once);
    reset();
    RUN(test_fix_that_changes_nothing_is_not_fixed);
    reset();
    RUN(test_fix_many_issues_in_one_file);
    reset();
    RUN(test_unreadable_unlinked_files_are_errors);
    reset();
    RUN(test_write_refuses_a_note_read_unclosed);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", root);
    if (system(cmd) != 0)
        return 1;
    return TEST_REPORT();
}
