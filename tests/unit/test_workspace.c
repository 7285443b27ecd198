/* test_workspace.c - the workspace library on real temporary directories. */
#include "test.h"

#include <unistd.h>

#include "diaryx/fs.h"
#include "diaryx/workspace.h"

static char root[64];

static void put(const char *rel, const char *text)
{
    char path[512], dir[512];
    snprintf(path, sizeof path, "%s/%s", root, rel);
    snprintf(dir, sizeof dir, "%s", path);
    *strrchr(dir, '/') = 0;
    dx_mkdirs(dir, NULL);
    dx_file_write_atomic(path, text, strlen(text), 0644, NULL);
}

static dx_workspace *open_ws(void)
{
    dx_workspace *ws = NULL;
    dx_error err = DX_ERROR_INIT;
    if (dx_workspace_open(root, &ws, &err) != 0)
        printf("  open failed: %s\n", err.msg);
    return ws;
}

static bool has_issue(const dx_report *r, const char *kind, const char *file)
{
    for (size_t i = 0; i < r->len; i++)
        if (!strcmp(r->items[i].kind, kind) && !strcmp(r->items[i].file, file))
            return true;
    return false;
}

TEST(test_filename_from_title)
{
    const char *cases[][2] = {{"My Note Title", "my-note-title.md"},
                              {"My Cool Entry!", "my-cool-entry.md"},
                              {"  spaced  out  ", "spaced-out.md"},
                              {"", "untitled.md"},
                              {"!!!", "untitled.md"},
                              {"Café Ünïcode", "café-Ünïcode.md"} /* non-ASCII kept as written */,
                              {"2024/01/15 notes", "2024-01-15-notes.md"}};
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        dx_buf b = DX_BUF_INIT;
        CHECK_EQ_INT(dx_filename_from_title(cases[i][0], &b), 0);
        CHECK_EQ_STR(b.data, cases[i][1]);
        dx_buf_release(&b);
    }
}

TEST(test_open_finds_root_upwards_and_reads_link_format)
{
    put("README.md",
        "---\ntitle: Root\nlink_format: plain_canonical\ncontents:\n- sub/sub.md\n---\n");
    put("sub/sub.md", "---\ntitle: Sub\npart_of: README.md\ncontents: []\n---\n");
    char deep[256];
    snprintf(deep, sizeof deep, "%s/sub", root);
    dx_workspace *ws = NULL;
    dx_error err = DX_ERROR_INIT;
    CHECK_EQ_INT(dx_workspace_open(deep, &ws, &err), 0);
    if (!ws)
        return;
    CHECK_EQ_STR(dx_workspace_root_file(ws), "README.md");
    CHECK_EQ_INT(dx_workspace_link_format(ws), DX_LINK_PLAIN_CANONICAL);
    dx_workspace_free(ws);
    CHECK_EQ_INT(dx_workspace_open("/proc/self", &ws, &err), DX_ENOTFOUND);
    CHECK(strstr(err.msg, "diaryx init") != NULL);
}

TEST(test_tree_marks_cycles_missing_and_truncates)
{
    put("README.md", "---\ntitle: Root\ndescription: Top\ncontents:\n- '[A](/a.md)'\n"
                     "- '[M](/missing.md)'\n---\n");
    put("a.md", "---\ntitle: A\npart_of: '[Root](/README.md)'\ncontents:\n- '[B](/b.md)'\n---\n");
    put("b.md", "---\ntitle: B\npart_of: '[A](/a.md)'\ncontents:\n- '[A](/a.md)'\n- '[C](/c.md)'\n"
                "---\n");
    put("c.md", "---\ntitle: C\n---\n");
    dx_workspace *ws = open_ws();
    if (!ws)
        return;
    dx_tree_node *t = NULL;
    dx_error err = DX_ERROR_INIT;
    CHECK_EQ_INT(dx_workspace_tree(ws, NULL, 0, &t, &err), 0);
    dx_buf out = DX_BUF_INIT;
    dx_tree_render(t, &out);
    CHECK_EQ_STR(out.data, "Root - Top\n├── A\n│   └── B\n│       ├── a (cycle)\n│       └── C\n"
                           "└── missing (missing: missing.md)\n");
    dx_tree_free(t);
    dx_buf_reset(&out);
    CHECK_EQ_INT(dx_workspace_tree(ws, NULL, 2, &t, &err), 0);
    dx_tree_render(t, &out);
    CHECK(strstr(out.data, "... (2 more)") != NULL);
    dx_tree_free(t);
    dx_buf_release(&out);
    dx_workspace_free(ws);
}

TEST(test_validate_reports_each_kind)
{
    put("README.md", "---\ntitle: Root\ncontents:\n- '[A](/a.md)'\n- '[Img](/pic.png)'\n"
                     "- '[B](/b.md)'\n---\n");
    put("a.md", "---\ntitle: A\ncontents:\n- '[B](/b.md)'\n---\n"); /* no part_of */
    put("b.md", "---\ntitle: B\npart_of: /home/someone/notes/README.md\n---\n");
    put("pic.png", "png");

    put("bad.md", "---\ntitle: [x\n---\n");
    put(".hidden/skip.md", "ignored\n");
    dx_workspace *ws = open_ws();
    if (!ws)
        return;
    dx_report r = {0};
    dx_error err = DX_ERROR_INIT;
    CHECK_EQ_INT(dx_workspace_validate(ws, &r, &err), 0);
    CHECK(has_issue(&r, "MissingPartOf", "a.md"));
    CHECK(has_issue(&r, "CircularReference", "README.md"));
    CHECK(has_issue(&r, "NonPortablePath", "b.md"));
    CHECK(has_issue(&r, "InvalidContentsRef", "README.md"));
    /* Unlinked and unreadable: an error, and no orphan (linking it would fail). */
    CHECK(has_issue(&r, "InvalidFrontmatter", "bad.md"));
    CHECK(!has_issue(&r, "OrphanFile", "bad.md"));
    CHECK(!has_issue(&r, "OrphanFile", ".hidden/skip.md"));

    CHECK_EQ_INT(r.files_checked, 3); /* README, a, b (b reached twice, checked once) */
    dx_buf j = DX_BUF_INIT;
    CHECK_EQ_INT(dx_report_json(&r, &j), 0);
    CHECK(strstr(j.data, "\"files_checked\": 3") != NULL);
    dx_buf_release(&j);
    dx_strlist fixed = DX_STRLIST_INIT, failed = DX_STRLIST_INIT;
    CHECK_EQ_INT(dx_workspace_fix(ws, &r, &fixed, &failed, &err), 0);
    CHECK(fixed.len >= 3);
    dx_report_release(&r);
    CHECK_EQ_INT(dx_workspace_validate(ws, &r, &err), 0);
    CHECK(!has_issue(&r, "MissingPartOf", "a.md"));
    CHECK(!has_issue(&r, "CircularReference", "README.md"));
    CHECK(!has_issue(&r, "NonPortablePath", "b.md"));
    /* The unreadable file has no fix, so no fix was tried and failed. */
    CHECK(has_issue(&r, "InvalidFrontmatter", "bad.md"));
    CHECK_EQ_INT(failed.len, 0);
    dx_strlist_release(&fixed);
    dx_strlist_release(&failed);
    dx_report_release(&r);
    dx_workspace_free(ws);
}

TEST(test_daily_rejects_bad_dates_and_search_finds_lines)
{
    put("README.md", "---\ntitle: Root\ncontents: []\n---\nFirst body line\nSecond LINE here\n");
    dx_workspace *ws = open_ws();
    if (!ws)
        return;
    dx_buf p = DX_BUF_INIT;
    dx_error err = DX_ERROR_INIT;
    bool created;
    dx_matches m = {0};
    CHECK_EQ_INT(dx_workspace_search(ws, "second line", NULL, &m, &err), 0);
    CHECK_EQ_INT(m.len, 1);
    if (m.len) {
        CHECK_EQ_STR(m.items[0].file, "README.md");
        CHECK_EQ_INT(m.items[0].line, 6);
    }
    dx_matches_release(&m);

    CHECK_EQ_INT(dx_workspace_daily(ws, "2023-02-29", NULL, &p, &created, &err), DX_EINVAL);
    CHECK_EQ_INT(dx_workspace_daily(ws, "2024-13-01", NULL, &p, &created, &err), DX_EINVAL);
    CHECK_EQ_INT(dx_workspace_daily(ws, "yesterday", NULL, &p, &created, &err), DX_EINVAL);
    CHECK_EQ_INT(dx_workspace_daily(ws, "2024-01-15", "diary", &p, &created, &err), 0);
    CHECK_EQ_STR(p.data, "diary/2024/01/2024-01-15.md");
    CHECK(created);
    dx_buf_reset(&p);
    CHECK_EQ_INT(dx_workspace_daily(ws, "2024-01-15", "diary", &p, &created, &err), 0);
    CHECK(!created);
    dx_matches m2 = {0};
    CHECK_EQ_INT(dx_workspace_search(ws, "january 15", "title", &m2, &err), 0);
    CHECK_EQ_INT(m2.len, 1);
    dx_matches_release(&m2);
    dx_buf_release(&p);
    dx_workspace_free(ws);
}

TEST(test_validate_multiple_indexes_in_one_directory)
{
    put("README.md", "---\ntitle: Root\ncontents:\n- '[N](/notes/notes.md)'\n"
                     "- '[I](/notes/index.md)'\n---\n");
    put("notes/notes.md", "---\ntitle: N\npart_of: '[R](/README.md)'\ncontents: []\n---\n");
    put("notes/index.md", "---\ntitle: I\npart_of: '[R](/README.md)'\ncontents: []\n---\n");
    dx_workspace *ws = open_ws();
    if (!ws)
        return;
    dx_report r = {0};
    dx_error err = DX_ERROR_INIT;
    CHECK_EQ_INT(dx_workspace_validate(ws, &r, &err), 0);
    CHECK(has_issue(&r, "MultipleIndexes", "notes/index.md"));
    CHECK_EQ_INT(r.len, 1);
    dx_report_release(&r);
    dx_workspace_free(ws);
}

static void reset(void)
{
    char cmd[256];
    snprintf(cmd, sizeof cmd, "rm -rf %s/* %s/.hidden", root, root);
    if (system(cmd) != 0)
        printf("  cleanup failed\n");
}

int main(void)
{
    snprintf(root, sizeof root, "/tmp/dx-ws-XXXXXX");
    if (!mkdtemp(root))
        return 1;
    RUN(test_filename_from_title);
    reset();
    RUN(test_open_finds_root_upwards_and_reads_link_format);
    reset();
    RUN(test_tree_marks_cycles_missing_and_truncates);
    reset();
    RUN(test_validate_reports_each_kind);
    reset();
    RUN(test_daily_rejects_bad_dates_and_search_finds_lines);
    reset();
    RUN(test_validate_multiple_indexes_in_one_directory);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", root);
    if (system(cmd) != 0)
        return 1;
    return TEST_REPORT();
}
