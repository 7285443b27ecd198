/* test_ignore.c - which paths a workspace leaves alone: git's rules and the `exclude` globs of
 * the root index and of .diaryx/config.toml. */
#include "test.h"
#include "test_sh.h"

#include <stdlib.h>
#include <unistd.h>

#include "diaryx/fs.h"
#include "diaryx/ignore.h"
#include "diaryx/workspace.h"

static char root[64];

/* A fresh workspace whose root index has the frontmatter lines fm (may be ""). */
static dx_workspace *workspace(const char *fm)
{
    char path[256];
    dx_workspace *ws = NULL;
    CHECK_EQ_INT(sh(NULL, "rm -rf %s && mkdir -p %s/.diaryx", root, root), 0);
    snprintf(path, sizeof path, "%s/README.md", root);
    FILE *f = fopen(path, "w");
    if (f) {
        fprintf(f, "---\ntitle: W\ncontents: []\n%s---\n", fm);
        fclose(f);
    }
    CHECK_EQ_INT(dx_workspace_open(root, &ws, NULL), 0);
    return ws;
}

static void write_config(const char *text)
{
    char path[256];
    snprintf(path, sizeof path, "%s/.diaryx/config.toml", root);
    FILE *f = fopen(path, "w");
    if (f) {
        fputs(text, f);
        fclose(f);
    }
}

TEST(test_root_index_globs_exclude_files_and_directories)
{
    dx_workspace *ws = workspace("exclude:\n- \"*.tmp\"\n- drafts\n- \"notes/**/secret.md\"\n");
    dx_ignore *ig = NULL;
    dx_error err = DX_ERROR_INIT;
    CHECK_EQ_INT(dx_ignore_open_workspace(ws, &ig, &err), 0);
    CHECK(dx_ignore_path(ig, "a.tmp"));
    CHECK(dx_ignore_path(ig, "deep/b.tmp")); /* by its name */
    CHECK(dx_ignore_path(ig, "drafts/a.md"));
    CHECK(dx_ignore_path(ig, "drafts/x/y/a.md")); /* a directory on the way */
    CHECK(dx_ignore_path(ig, "x/drafts/a.md"));   /* that directory's name */
    CHECK(dx_ignore_path(ig, "notes/secret.md"));
    CHECK(dx_ignore_path(ig, "notes/a/b/secret.md"));
    CHECK(!dx_ignore_path(ig, "notes/a.md"));
    CHECK(!dx_ignore_path(ig, "drafts.md"));
    CHECK(!dx_ignore_path(ig, "README.md"));
    /* asked twice (the second time from the directory cache): the same answers */
    CHECK(dx_ignore_path(ig, "drafts/a.md"));
    CHECK(!dx_ignore_path(ig, "notes/a.md"));
    dx_ignore_free(ig);
    /* a single string is one glob */
    dx_workspace_free(ws);
    ws = workspace("exclude: \"*.png\"\n");
    CHECK_EQ_INT(dx_ignore_open_workspace(ws, &ig, &err), 0);
    CHECK(dx_ignore_path(ig, "pics/a.png"));
    CHECK(!dx_ignore_path(ig, "pics/a.md"));
    dx_ignore_free(ig);
    dx_workspace_free(ws);
}

TEST(test_workspace_config_globs_add_to_the_root_index)
{
    dx_workspace *ws = workspace("exclude: [\"*.tmp\"]\n");
    write_config("exclude = [\"private/**\", \"*.bak\"]\n");
    dx_ignore *ig = NULL;
    dx_error err = DX_ERROR_INIT;
    CHECK_EQ_INT(dx_ignore_open_workspace(ws, &ig, &err), 0);
    CHECK(dx_ignore_path(ig, "a.tmp"));
    CHECK(dx_ignore_path(ig, "private/a.md"));
    CHECK(dx_ignore_path(ig, "x/y.bak"));
    CHECK(!dx_ignore_path(ig, "public/a.md"));
    dx_ignore_free(ig);
    dx_workspace_free(ws);
}

TEST(test_bad_exclude_values_are_refused_with_the_file_named)
{
    dx_workspace *ws = workspace("exclude:\n  drafts: yes\n");
    dx_ignore *ig = NULL;
    dx_error err = DX_ERROR_INIT;
    CHECK_EQ_INT(dx_ignore_open_workspace(ws, &ig, &err), DX_EINVAL);
    CHECK(ig == NULL);
    CHECK(strstr(err.msg, "'exclude' in 'README.md' is not a list of globs") != NULL);
    dx_workspace_free(ws);

    ws = workspace("");
    write_config("exclude = 3\n");
    dx_error_clear(&err);
    CHECK_EQ_INT(dx_ignore_open_workspace(ws, &ig, &err), DX_EINVAL);
    CHECK(strstr(err.msg, "invalid value for 'exclude'") != NULL);
    CHECK(strstr(err.msg, ".diaryx/config.toml") != NULL);
    write_config("exclude = [\n");
    dx_error_clear(&err);
    CHECK_EQ_INT(dx_ignore_open_workspace(ws, &ig, &err), DX_EPARSE);
    CHECK(strstr(err.msg, ".diaryx/config.toml") != NULL);
    dx_workspace_free(ws);
}

TEST(test_no_globs_no_repository_ignores_nothing)
{
    dx_workspace *ws = workspace("");
    dx_ignore *ig = NULL;
    CHECK_EQ_INT(dx_ignore_open_workspace(ws, &ig, NULL), 0);
    CHECK(!dx_ignore_path(ig, "a.tmp"));
    CHECK(!dx_ignore_path(ig, "drafts/a.md"));
    CHECK(!dx_ignore_path(NULL, "a.md"));
    dx_ignore_free(ig);
    dx_ignore_free(NULL);
    dx_workspace_free(ws);
}

TEST(test_git_rules_and_globs_together)
{
    dx_workspace *ws = workspace("exclude: [\"*.tmp\"]\n");
    CHECK_EQ_INT(
        sh(NULL, "git init -q %s && printf 'secret.md\\nbuild/\\n' >%s/.gitignore", root, root), 0);
    dx_ignore *ig = NULL;
    CHECK_EQ_INT(dx_ignore_open_workspace(ws, &ig, NULL), 0);
    CHECK(dx_ignore_path(ig, "secret.md"));
    CHECK(dx_ignore_path(ig, "build/x.md"));
    CHECK(dx_ignore_path(ig, "a.tmp"));
    CHECK(!dx_ignore_path(ig, "a.md"));
    /* globs added later count, also for a directory already looked at */
    CHECK(!dx_ignore_path(ig, "later/a.md"));
    char *more[] = {"later"};
    CHECK_EQ_INT(dx_ignore_add_globs(ig, more, 1, NULL), 0);
    CHECK(dx_ignore_path(ig, "later/a.md"));
    dx_ignore_free(ig);
    dx_workspace_free(ws);
}

/* A workspace with no directory (over CRDT documents: root "") has no repository, also when
 * the process runs inside one. */
TEST(test_no_directory_means_no_repository)
{
    dx_workspace *ws = workspace("");
    CHECK_EQ_INT(sh(NULL, "git init -q %s && echo 'x.md' >%s/.gitignore", root, root), 0);
    char cwd[4096];
    CHECK(getcwd(cwd, sizeof cwd) != NULL);
    CHECK_EQ_INT(chdir(root), 0);
    dx_ignore *ig = NULL;
    CHECK_EQ_INT(dx_ignore_open("", &ig, NULL), 0);
    CHECK(!dx_ignore_path(ig, "x.md"));
    dx_ignore_free(ig);
    CHECK_EQ_INT(dx_ignore_open(".", &ig, NULL), 0); /* the same directory, named */
    CHECK(dx_ignore_path(ig, "x.md"));
    dx_ignore_free(ig);
    CHECK_EQ_INT(chdir(cwd), 0);
    dx_workspace_free(ws);
}

TEST(test_filter_drops_ignored_and_excluded_paths_in_order)
{
    dx_workspace *ws = workspace("exclude: [\"*.png\", \"drafts\"]\n");
    CHECK_EQ_INT(sh(NULL, "git init -q %s && echo 'secret.md' >%s/.gitignore", root, root), 0);
    dx_strlist l = DX_STRLIST_INIT;
    const char *in[] = {"a.md", "b.png", "drafts/c.md", "secret.md", "notes/d.md", "e.png"};
    for (size_t i = 0; i < 6; i++)
        CHECK_EQ_INT(dx_strlist_push(&l, in[i]), 0);
    CHECK_EQ_INT(dx_ignore_filter_workspace(ws, &l, NULL), 0);
    CHECK_EQ_INT(l.len, 2);
    if (l.len == 2) {
        CHECK_EQ_STR(l.items[0], "a.md");
        CHECK_EQ_STR(l.items[1], "notes/d.md");
    }
    dx_strlist_release(&l);
    dx_workspace_free(ws);
}

int main(void)
{
    snprintf(root, sizeof root, "/tmp/dx-ignore-XXXXXX");
    if (!mkdtemp(root))
        return 1;
    RUN(test_root_index_globs_exclude_files_and_directories);
    RUN(test_workspace_config_globs_add_to_the_root_index);
    RUN(test_bad_exclude_values_are_refused_with_the_file_named);
    RUN(test_no_globs_no_repository_ignores_nothing);
    RUN(test_git_rules_and_globs_together);
    RUN(test_no_directory_means_no_repository);
    RUN(test_filter_drops_ignored_and_excluded_paths_in_order);
    sh(NULL, "rm -rf %s", root);
    return TEST_REPORT();
}
