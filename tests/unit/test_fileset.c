/* test_fileset.c - the workspace as (path, bytes, blob id) from documents held in memory,
 * with no directory: sorted output, blob ids of the bytes, the three checks, the files of
 * HEAD carried over (a bare repository in a temporary directory), with and without a work
 * tree. */
#include "test.h"
#include "test_memdocs.h"
#include "test_sh.h"

#include <stdlib.h>
#include <unistd.h>

#include "diaryx/fileset.h"

static const char *const FILES[] = {
    "README.md", "---\ntitle: Home\ncontents:\n- \"[A](/a.md)\"\n- \"[B](/b.md)\"\n---\n",
    "a.md",      "---\ntitle: A\npart_of: \"[Home](/README.md)\"\n---\nalpha\n",
    "b.md",      "---\ntitle: B\npart_of: \"[Home](/README.md)\"\n---\nbeta\n",
    NULL};

/* The documents of FILES in memory, with the ids of a.md and b.md. */
typedef struct fixture {
    memdocs m;
    dx_docs d;
    dx_fileset_src src;
    char a[DX_UUID_LEN + 1], b[DX_UUID_LEN + 1];
} fixture;

static void id_of(memdocs *m, const char *path, char id[DX_UUID_LEN + 1])
{
    CHECK_EQ_INT(dx_wsdoc_find_path(m->ws, path, id, NULL), 0);
}

static void open_docs(fixture *x)
{
    dx_error err = DX_ERROR_INIT;
    CHECK_EQ_INT(memdocs_open(&x->m, NULL), 0);
    if (memdocs_put(&x->m, FILES, &err) != 0)
        TEST_FAILF("put: %s", err.msg);
    memdocs_docs(&x->m, &x->d);
    x->src.docs = &x->d;
    x->src.fmt = DX_LINK_MARKDOWN_ROOT;
    x->src.tree = NULL;
    id_of(&x->m, "a.md", x->a);
    id_of(&x->m, "b.md", x->b);
}

static void fixture_close(fixture *x, dx_git_file *f, size_t n, dx_strlist *problems)
{
    dx_fileset_free(f, n);
    dx_strlist_release(problems);
    memdocs_close(&x->m);
}

TEST(test_every_entry_renders_sorted_with_the_blob_id_of_its_bytes)
{
    fixture x;
    open_docs(&x);
    dx_git_file *f = NULL;
    size_t n = 0;
    dx_strlist problems = DX_STRLIST_INIT;
    dx_error err = DX_ERROR_INIT;
    CHECK_EQ_INT(dx_fileset_all(&x.src, NULL, &f, &n, &problems, &err), 0);
    CHECK_EQ_INT(problems.len, 0);
    CHECK_EQ_INT(n, 3);
    for (size_t i = 0; i < n && i < 3; i++) {
        char hex[DX_GIT_OID_HEX];
        CHECK_EQ_STR(f[i].path, FILES[2 * i]);
        /* Rendering is a fixed point of ingest: the bytes taken in come back. */
        CHECK_EQ_MEM(f[i].data, f[i].len, FILES[2 * i + 1], strlen(FILES[2 * i + 1]));
        CHECK_EQ_INT(dx_git_blob_hex(f[i].data, f[i].len, hex), 0);
        CHECK_EQ_STR(f[i].id, hex);
    }
    CHECK(dx_fileset_find(f, n, "b.md") == &f[2]);
    CHECK(dx_fileset_find(f, n, "c.md") == NULL);
    /* The docs were read, never edited. */
    CHECK_EQ_INT(x.m.changed.len, 0);
    fixture_close(&x, f, n, &problems);
}

TEST(test_only_the_given_live_entries_are_rendered)
{
    fixture x;
    open_docs(&x);
    dx_error err = DX_ERROR_INIT;
    CHECK_EQ_INT(dx_wsdoc_set_deleted(x.m.ws, x.a, true, &err), 0);
    const char *ids[] = {x.b, x.a, "not-an-id"};
    dx_git_file *f = NULL;
    size_t n = 0;
    dx_strlist problems = DX_STRLIST_INIT;
    CHECK_EQ_INT(dx_fileset_entries(&x.src, NULL, NULL, ids, 3, &f, &n, &problems, &err), 0);
    CHECK_EQ_INT(problems.len, 0);
    CHECK_EQ_INT(n, 1);
    if (n == 1)
        CHECK_EQ_STR(f[0].path, "b.md");
    fixture_close(&x, f, n, &problems);
}

static bool has_problem(const dx_strlist *p, const char *text)
{
    for (size_t i = 0; i < p->len; i++)
        if (strstr(p->items[i], text))
            return true;
    return false;
}

TEST(test_entries_that_do_not_render_are_findings_and_left_out)
{
    fixture x;
    open_docs(&x);
    dx_error err = DX_ERROR_INIT;
    /* A cycle: valid CRDT, but no path can be derived for a and b (check 1). */
    CHECK_EQ_INT(dx_wsdoc_set_field(x.m.ws, x.a, "part_of", x.b, &err), 0);
    CHECK_EQ_INT(dx_wsdoc_set_field(x.m.ws, x.b, "part_of", x.a, &err), 0);
    dx_git_file *f = NULL;
    size_t n = 0;
    dx_strlist problems = DX_STRLIST_INIT;
    CHECK_EQ_INT(dx_fileset_all(&x.src, NULL, &f, &n, &problems, &err), 0);
    /* The index links to them: it cannot be rendered either. */
    CHECK_EQ_INT(n, 0);
    CHECK_EQ_INT(problems.len, 4);
    CHECK(has_problem(&problems, "cannot be rendered"));
    CHECK(has_problem(&problems, "3 live entries in the CRDT index, 0 files rendered"));
    dx_fileset_free(f, n);
    dx_strlist_release(&problems);
    /* A body that cannot be loaded: no entry renders. */
    x.m.fail_body = "*";
    CHECK_EQ_INT(dx_fileset_all(&x.src, NULL, &f, &n, &problems, &err), 0);
    CHECK_EQ_INT(n, 0);
    CHECK(has_problem(&problems, "is damaged"));
    fixture_close(&x, f, n, &problems);
}

TEST(test_two_entries_at_one_path_and_an_invalid_path_are_findings)
{
    fixture x;
    open_docs(&x);
    dx_error err = DX_ERROR_INIT;
    const char *names[] = {"a.md", "notes.txt"};
    for (int i = 0; i < 2; i++) {
        dx_entry e = DX_ENTRY_INIT;
        e.filename = strdup(names[i]);
        CHECK_EQ_INT(dx_wsdoc_put(x.m.ws, &e, &err), 0);
        dx_entry_release(&e);
    }
    dx_git_file *f = NULL;
    size_t n = 0;
    dx_strlist problems = DX_STRLIST_INIT;
    CHECK_EQ_INT(dx_fileset_all(&x.src, NULL, &f, &n, &problems, &err), 0);
    CHECK_EQ_INT(n, 3);
    CHECK(has_problem(&problems, "both render to 'a.md'"));
    CHECK(has_problem(&problems, "has an invalid path 'notes.txt'"));
    fixture_close(&x, f, n, &problems);
}

/* A work tree that a test describes: what is on disk, what diaryx recorded. */
typedef struct fake_tree {
    const char *on_disk;  /* the one path on disk besides the entries' files */
    const char *rec_path; /* the one recorded path, and its blob id */
    const char *rec_hash;
} fake_tree;

static int fake_on_disk(void *ud, const char *path, dx_error *err)
{
    (void)err;
    const fake_tree *t = ud;
    return t->on_disk && !strcmp(path, t->on_disk);
}

static const char *fake_recorded(void *ud, const char *path)
{
    const fake_tree *t = ud;
    return t->rec_path && !strcmp(path, t->rec_path) ? t->rec_hash : NULL;
}

TEST(test_head_files_are_carried_and_check_three_needs_a_work_tree)
{
    char dir[64];
    snprintf(dir, sizeof dir, "/tmp/dx-fileset-XXXXXX");
    CHECK(mkdtemp(dir) != NULL);
    dx_git *g = NULL;
    dx_error err = DX_ERROR_INIT;
    CHECK_EQ_INT(dx_git_open_or_init(dir, 1, &g, &err), 0);
    /* HEAD: the entries as they were (a.md with another body), an attachment, and a markdown
     * file that is no entry. */
    const char *old_a = "---\ntitle: A\npart_of: \"[Home](/README.md)\"\n---\nold alpha\n";
    dx_git_file head[] = {{"README.md", FILES[1], strlen(FILES[1]), NULL},
                          {"a.md", old_a, strlen(old_a), NULL},
                          {"img.png", "PNG", 3, NULL},
                          {"stray.md", "# not an entry\n", 15, NULL}};
    char head_id[DX_GIT_OID_HEX], a_blob[DX_GIT_OID_HEX], png[DX_GIT_OID_HEX];
    CHECK_EQ_INT(dx_git_commit_files(g, head, 4, NULL, head_id, NULL, &err), 0);
    CHECK_EQ_INT(dx_git_blob_hex(old_a, strlen(old_a), a_blob), 0);
    CHECK_EQ_INT(dx_git_blob_hex("PNG", 3, png), 0);

    fixture x;
    open_docs(&x);
    dx_git_file *f = NULL;
    size_t n = 0;
    dx_strlist problems = DX_STRLIST_INIT;
    /* No work tree (a server): the attachment is carried by id, the stray markdown file is
     * not (a commit of the set deletes it), and check 3 cannot run. */
    CHECK_EQ_INT(dx_fileset_all(&x.src, g, &f, &n, &problems, &err), 0);
    CHECK_EQ_INT(problems.len, 0);
    CHECK_EQ_INT(n, 4);
    const dx_git_file *p = dx_fileset_find(f, n, "img.png");
    CHECK(p && p->data == NULL && !strcmp(p->id, png));
    CHECK(dx_fileset_find(f, n, "stray.md") == NULL);
    dx_fileset_free(f, n);

    /* A work tree where stray.md is on disk and a.md was recorded as committed: the stray
     * file is carried, and a.md, which now renders other bytes, fails check 3. */
    fake_tree t = {"stray.md", "a.md", a_blob};
    dx_fileset_tree tree = {fake_on_disk, fake_recorded, &t};
    x.src.tree = &tree;
    CHECK_EQ_INT(dx_fileset_all(&x.src, g, &f, &n, &problems, &err), 0);
    CHECK_EQ_INT(n, 5);
    CHECK(dx_fileset_find(f, n, "stray.md") != NULL);
    CHECK_EQ_INT(problems.len, 1);
    CHECK(has_problem(&problems, "a.md: unchanged since the last commit"));
    dx_fileset_free(f, n);
    dx_strlist_release(&problems);

    /* The changes only, looked up in HEAD one path at a time: the same finding. */
    const char *ids[] = {x.a};
    CHECK_EQ_INT(dx_fileset_entries(&x.src, g, head_id, ids, 1, &f, &n, &problems, &err), 0);
    CHECK_EQ_INT(n, 1);
    CHECK(has_problem(&problems, "a.md: unchanged since the last commit"));
    dx_fileset_free(f, n);
    dx_strlist_release(&problems);

    /* Recorded as something else than the commit (an edit since): no finding. */
    t.rec_hash = png;
    CHECK_EQ_INT(dx_fileset_entries(&x.src, g, head_id, ids, 1, &f, &n, &problems, &err), 0);
    CHECK_EQ_INT(problems.len, 0);
    dx_fileset_free(f, n);
    dx_strlist_release(&problems);

    memdocs_close(&x.m);
    dx_git_free(g);
    dx_buf out = DX_BUF_INIT;
    CHECK_EQ_INT(sh(&out, "rm -rf '%s'", dir), 0);
    dx_buf_release(&out);
}

TEST(test_no_workspace_document_is_an_error)
{
    dx_docs d = {NULL, memdocs_body, NULL, NULL};
    dx_fileset_src src = {&d, DX_LINK_MARKDOWN_ROOT, NULL};
    dx_git_file *f = NULL;
    size_t n = 0;
    dx_strlist problems = DX_STRLIST_INIT;
    dx_error err = DX_ERROR_INIT;
    CHECK_EQ_INT(dx_fileset_all(&src, NULL, &f, &n, &problems, &err), DX_EINVAL);
    CHECK(f == NULL && n == 0);
    CHECK(strstr(err.msg, "not loaded") != NULL);
    dx_strlist_release(&problems);
}

int main(void)
{
    RUN(test_every_entry_renders_sorted_with_the_blob_id_of_its_bytes);
    RUN(test_only_the_given_live_entries_are_rendered);
    RUN(test_entries_that_do_not_render_are_findings_and_left_out);
    RUN(test_two_entries_at_one_path_and_an_invalid_path_are_findings);
    RUN(test_head_files_are_carried_and_check_three_needs_a_work_tree);
    RUN(test_no_workspace_document_is_an_error);
    return TEST_REPORT();
}
