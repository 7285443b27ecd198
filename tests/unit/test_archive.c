/* test_archive.c - archive.h without a workspace or a CLI: the export of a bare repository
 * (as the server will call it: no fileset, no work tree) to a ZIP in memory, its import into a
 * directory, the .git rules of the import, and the attachments' commit. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "diaryx/archive.h"
#include "diaryx/fs.h"
#include "diaryx/git.h"
#include "test.h"

static char tmp[256];

static void path_of(char *out, size_t n, const char *rel)
{
    snprintf(out, n, "%s/%s", tmp, rel);
}

static int to_buf(void *ud, const void *data, size_t len, dx_error *err)
{
    (void)err;
    return dx_buf_append(ud, data, len);
}

/* A bare repository with two commits: notes and a png. */
static dx_git *bare_repo(const char *dir)
{
    dx_git *g = NULL;
    dx_error err = DX_ERROR_INIT;
    if (dx_git_open_or_init(dir, 1, &g, &err))
        return NULL;
    dx_git_file one[] = {{"README.md", "---\ntitle: R\ncontents: []\n---\n", 31, NULL},
                         {"img/a.png", "\x89PNG\r\n", 6, NULL}};
    dx_git_file two[] = {{"README.md", "---\ntitle: R2\ncontents: []\n---\n", 32, NULL},
                         {"img/a.png", "\x89PNG\r\n", 6, NULL}};
    dx_git_commit_opts o = {0};
    if (dx_git_commit_files(g, one, 2, &o, NULL, NULL, &err) ||
        dx_git_commit_files(g, two, 2, &o, NULL, NULL, &err)) {
        dx_git_free(g);
        return NULL;
    }
    return g;
}

static int read_entry(dx_zip_reader *r, const char *name, dx_buf *out)
{
    for (size_t i = 0; i < dx_zip_count(r); i++)
        if (!strcmp(dx_zip_entry_at(r, i)->name, name)) {
            dx_buf_reset(out);
            return dx_zip_extract(r, i, to_buf, out, NULL);
        }
    return DX_ENOTFOUND;
}

TEST(test_archive_bare_repository_to_zip_and_back)
{
    char repo[300], zip[300], dest[300];
    path_of(repo, sizeof repo, "bare.git");
    path_of(zip, sizeof zip, "out.zip");
    path_of(dest, sizeof dest, "dest");
    dx_git *g = bare_repo(repo);
    CHECK(g != NULL);
    if (!g)
        return;
    /* a hook in the source: it must not travel */
    char hook[400];
    snprintf(hook, sizeof hook, "%s/hooks/post-checkout", repo);
    CHECK_EQ_INT(dx_file_write_atomic(hook, "#!/bin/sh\n", 10, 0755, NULL), 0);
    dx_buf z = DX_BUF_INIT, got = DX_BUF_INIT;
    dx_error err = DX_ERROR_INIT;
    dx_archive_src src = {g, repo, NULL, NULL, 0};
    dx_archive_stats st = {0};
    CHECK_EQ_INT(dx_archive_export_zip(&src, to_buf, &z, &st, &err), 0);
    CHECK_EQ_INT(st.files, 2);
    CHECK_EQ_INT(st.attachments, 1);
    CHECK(st.git_files > 3);
    CHECK_EQ_INT(st.uncommitted.len, 0);
    dx_archive_stats_release(&st);

    dx_zip_reader *r = NULL;
    CHECK_EQ_INT(dx_zip_reader_open_mem(z.data, z.len, NULL, "out.zip", &r, &err), 0);
    if (r) {
        CHECK_EQ_STR(dx_zip_entry_at(r, 0)->name, "README.md");
        CHECK_EQ_INT(read_entry(r, "README.md", &got), 0);
        CHECK(strstr(got.data, "title: R2") != NULL);
        CHECK_EQ_INT(dx_zip_entry_at(r, 1)->method, DX_ZIP_STORE); /* img/a.png */
        CHECK_EQ_INT(read_entry(r, ".git/config", &got), 0);
        CHECK(strstr(got.data, "bare = false") != NULL);
        CHECK_EQ_INT(read_entry(r, ".git/hooks/post-checkout", &got), DX_ENOTFOUND);
        CHECK_EQ_INT(read_entry(r, ".git/HEAD", &got), 0);
        for (size_t i = 1; i < dx_zip_count(r); i++) /* byte order, .git/ last */
            if (strcmp(dx_zip_entry_at(r, i - 1)->name, dx_zip_entry_at(r, i)->name) >= 0 &&
                strncmp(dx_zip_entry_at(r, i)->name, ".git/", 5))
                TEST_FAILF("entry %zu out of order", i);
    }
    dx_zip_reader_free(r);
    /* the same repository, the same bytes */
    dx_buf z2 = DX_BUF_INIT;
    CHECK_EQ_INT(dx_archive_export_zip(&src, to_buf, &z2, NULL, &err), 0);
    CHECK_EQ_MEM(z.data, z.len, z2.data, z2.len);

    CHECK_EQ_INT(dx_file_write_atomic(zip, z.data, z.len, 0644, NULL), 0);
    dx_import_stats is = {0};
    CHECK_EQ_INT(dx_archive_import(zip, dest, NULL, &is, &err), 0);
    CHECK(is.history);
    CHECK_EQ_INT(is.files, 2);
    CHECK_EQ_INT(is.markdown, 1);
    CHECK_EQ_INT(is.others.len, 1);
    dx_import_stats_release(&is);
    dx_git *back = NULL;
    char head_a[DX_GIT_OID_HEX], head_b[DX_GIT_OID_HEX];
    CHECK_EQ_INT(dx_git_open_or_init(dest, 0, &back, &err), 0);
    CHECK_EQ_INT(dx_git_resolve(g, "HEAD", head_a, &err), 0);
    CHECK_EQ_INT(dx_git_resolve(back, "HEAD", head_b, &err), 0);
    CHECK_EQ_STR(head_b, head_a);
    dx_buf_reset(&got);
    CHECK_EQ_INT(dx_git_read_file(back, "HEAD~1", "README.md", &got, &err), 0);
    CHECK(strstr(got.data, "title: R\n") != NULL);
    dx_git_free(back);
    /* a second import does not replace what is there */
    CHECK_EQ_INT(dx_archive_import(zip, dest, NULL, NULL, &err), DX_EEXIST);
    CHECK(strstr(err.msg, "--force") != NULL);
    dx_import_opts force = DX_IMPORT_OPTS_INIT;
    force.force = true;
    CHECK_EQ_INT(dx_archive_import(zip, dest, &force, NULL, &err), 0);
    dx_git_free(g);
    dx_buf_release(&z);
    dx_buf_release(&z2);
    dx_buf_release(&got);
}

TEST(test_archive_commit_files_adds_only_what_head_lacks)
{
    char root[300];
    path_of(root, sizeof root, "wt");
    dx_git *g = NULL;
    dx_error err = DX_ERROR_INIT;
    CHECK_EQ_INT(dx_git_open_or_init(root, 0, &g, &err), 0);
    if (!g)
        return;
    dx_git_file f[] = {{"a.md", "a\n", 2, NULL}};
    dx_git_commit_opts o = {0};
    CHECK_EQ_INT(dx_git_commit_files(g, f, 1, &o, NULL, NULL, &err), 0);
    CHECK_EQ_INT(dx_fs_write_in(root, "img/new.png", "PNG", 3, 0644, NULL, NULL, &err), 0);
    dx_strlist paths = DX_STRLIST_INIT, changed = DX_STRLIST_INIT;
    dx_strlist_push(&paths, "a.md");
    dx_strlist_push(&paths, "img/new.png");
    dx_strlist_push(&paths, "img/missing.png");
    size_t commits = 9;
    CHECK_EQ_INT(dx_archive_commit_files(g, root, &paths, "Add", true, &changed, &commits, &err),
                 0);
    CHECK_EQ_INT(commits, 0);
    CHECK_EQ_INT(changed.len, 1);
    if (changed.len)
        CHECK_EQ_STR(changed.items[0], "A img/new.png");
    char id[DX_GIT_OID_HEX];
    CHECK_EQ_INT(dx_git_blob_id(g, "HEAD", "img/new.png", id, &err), DX_ENOTFOUND);
    CHECK_EQ_INT(dx_archive_commit_files(g, root, &paths, "Add", false, NULL, &commits, &err), 0);
    CHECK_EQ_INT(commits, 1);
    CHECK_EQ_INT(dx_git_blob_id(g, "HEAD", "img/new.png", id, &err), 0);
    CHECK_EQ_INT(dx_git_blob_id(g, "HEAD", "a.md", id, &err), 0);
    CHECK_EQ_INT(dx_archive_commit_files(g, root, &paths, "Add", false, NULL, &commits, &err), 0);
    CHECK_EQ_INT(commits, 0); /* nothing differs any more */
    dx_strlist_release(&paths);
    dx_strlist_release(&changed);
    dx_git_free(g);
}

TEST(test_archive_stored_formats)
{
    CHECK(dx_archive_stored("img/a.PNG"));
    CHECK(dx_archive_stored("x/y.pdf"));
    CHECK(dx_archive_stored(".git/objects/pack/pack-1.pack"));
    CHECK(!dx_archive_stored("notes/a.md"));
    CHECK(!dx_archive_stored("Makefile"));
    CHECK(!dx_archive_stored("png/readme.txt"));
}

int main(void)
{
    snprintf(tmp, sizeof tmp, "/tmp/dx-test-archive-%d", (int)getpid());
    if (dx_mkdirs(tmp, NULL))
        return 1;
    RUN(test_archive_bare_repository_to_zip_and_back);
    RUN(test_archive_commit_files_adds_only_what_head_lacks);
    RUN(test_archive_stored_formats);
    char cmd[400];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmp);
    if (system(cmd))
        return 1;
    return TEST_REPORT();
}
