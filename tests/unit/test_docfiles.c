/* test_docfiles.c - the reads of a workspace (tree, validate, search, export, daily) over its
 * CRDT documents with no directory: each is run over the documents and over the same
 * workspace written to a directory, and both must agree; what the documents' workspace
 * stages (validate --fix, a daily entry) is taken back into the documents as CRDT edits. */
#include "test.h"

#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>

#include "diaryx/docfiles.h"
#include "diaryx/docset.h"
#include "diaryx/fs.h"
#include "diaryx/materialize.h"
#include "diaryx/strmap.h"
#include "diaryx/wsdoc.h"

/* In-memory documents: the workspace document and a body document per entry, made on first
 * use (as a store with no such document would). */
typedef struct docset {
    y_doc *ws;
    dx_strmap bodies;           /* id -> y_doc * */
    dx_strmap asked;            /* ids whose body the workspace asked for */
    char fail[DX_UUID_LEN + 1]; /* the body that cannot be loaded */
    int changed;
    dx_docs d;
} docset;

static y_doc *new_doc(void)
{
    y_doc *d = NULL;
    CHECK_EQ_INT(y_doc_new(&d, NULL), Y_OK);
    return d;
}

static y_doc *body_doc(docset *s, const char *id)
{
    y_doc *b = dx_strmap_get(&s->bodies, id);
    if (!b) {
        b = new_doc();
        CHECK_EQ_INT(dx_strmap_put(&s->bodies, id, b), 0);
    }
    return b;
}

static int docs_body(void *ud, const char *id, y_doc **out, dx_error *err)
{
    docset *s = ud;
    if (!strcmp(id, s->fail))
        return dx_error_set(err, DX_EIO, "cannot load the body of %s", id);
    dx_strmap_put(&s->asked, id, (void *)1);
    *out = body_doc(s, id);
    return 0;
}

static int docs_changed(void *ud, const char *id)
{
    (void)id;
    ((docset *)ud)->changed++;
    return 0;
}

static y_doc *load_body(void *user, const char *id)
{
    return body_doc(user, id);
}

/* The workspace as files, parents first: a tree of indexes, a broken part_of link, a broken
 * attachment, an orphan, a private entry and audiences. */
static const char *const files[][2] = {
    {"README.md", "---\ntitle: Journal\ndescription: My notes\ncontents:\n"
                  "- '[Notes](/notes/notes.md)'\n- '[Secret](/private.md)'\n"
                  "audience:\n- family\n---\n\n# Journal\n"},
    {"notes/notes.md", "---\ntitle: Notes\npart_of: '[Journal](/README.md)'\ncontents:\n"
                       "- '[A](/notes/a.md)'\n- '[B](/notes/b.md)'\n- '[Gone](/notes/gone.md)'\n"
                       "---\n\n# Notes\n"},
    {"notes/a.md", "---\ntitle: A\npart_of: '[Notes](/notes/notes.md)'\n---\n\nHello world\n"
                   "search me here\n"},
    {"notes/b.md", "---\ntitle: B\npart_of: '[Notes](/notes/notes.md)'\naudience:\n- work\n"
                   "attachments:\n- '[pic](/notes/missing.png)'\n---\n\nB body\n"},
    {"private.md", "---\ntitle: Secret\npart_of: '[Journal](/README.md)'\naudience:\n"
                   "- private\n---\n\nSearch me too\n"},
    {"orphan.md", "---\ntitle: Orphan\n---\n\nnobody links here; search me\n"},
    {"stray.md", "---\ntitle: Stray\npart_of: '[Gone](/nowhere.md)'\n---\n\nlost\n"},
};
#define N_FILES (sizeof files / sizeof *files)

typedef struct fixture {
    docset s;
    char dir[64];
    dx_workspace *disk, *mem;
} fixture;

/* With broken, notes/notes.md lists a file that does not exist. */
static void fixture_open_with(fixture *f, bool broken)
{
    memset(f, 0, sizeof *f);
    f->s.ws = new_doc();
    f->s.d = (dx_docs){f->s.ws, docs_body, docs_changed, &f->s};
    for (size_t i = 0; i < N_FILES; i++) {
        char id[DX_UUID_LEN + 1];
        dx_error e = DX_ERROR_INIT;
        const char *text = files[i][1], *gone = "- '[Gone](/notes/gone.md)'\n";
        dx_buf b = DX_BUF_INIT;
        if (!broken && strstr(text, gone)) {
            dx_buf_append(&b, text, (size_t)(strstr(text, gone) - text));
            dx_buf_puts(&b, strstr(text, gone) + strlen(gone));
            text = dx_buf_cstr(&b);
        }
        CHECK_EQ_INT(dx_uuid_v4(id), 0);
        CHECK_EQ_INT(dx_ingest_entry(f->s.ws, id, files[i][0], text, strlen(text),
                                     body_doc(&f->s, id), DX_LINK_MARKDOWN_ROOT, &e),
                     0);
        dx_buf_release(&b);
    }
    snprintf(f->dir, sizeof f->dir, "/tmp/dx_docfiles_XXXXXX");
    CHECK(mkdtemp(f->dir) != NULL);
    dx_error e = DX_ERROR_INIT;
    size_t written = 0;
    CHECK_EQ_INT(dx_materialize_to_dir(f->s.ws, load_body, &f->s, DX_LINK_MARKDOWN_ROOT, f->dir,
                                       &written, &e),
                 0);
    CHECK_EQ_INT(written, N_FILES);
    CHECK_EQ_INT(dx_workspace_open(f->dir, &f->disk, &e), 0);
    CHECK_EQ_INT(dx_workspace_open_docs(&f->s.d, DX_LINK_MARKDOWN_ROOT, &f->mem, &e), 0);
    CHECK(f->mem != NULL);
}

static void fixture_open(fixture *f)
{
    fixture_open_with(f, true);
}

static void fixture_close(fixture *f)
{
    dx_workspace_free(f->disk);
    dx_workspace_free(f->mem);
    for (size_t i = 0; i < f->s.bodies.cap; i++)
        if (f->s.bodies.slots[i].key)
            y_doc_free(f->s.bodies.slots[i].value);
    dx_strmap_release(&f->s.bodies);
    dx_strmap_release(&f->s.asked);
    y_doc_free(f->s.ws);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", f->dir);
    CHECK_EQ_INT(system(cmd), 0);
}

/* ---- the reads as text, to compare ---------------------------------------------------- */

static char *tree_text(const dx_workspace *ws, const char *start, int depth)
{
    dx_tree_node *t = NULL;
    dx_buf b = DX_BUF_INIT;
    CHECK_EQ_INT(dx_workspace_tree(ws, start, depth, &t, NULL), 0);
    CHECK_EQ_INT(dx_tree_render(t, &b), 0);
    dx_tree_free(t);
    return dx_buf_detach(&b, NULL);
}

static char *report_text(dx_workspace *ws, dx_report *r)
{
    dx_buf b = DX_BUF_INIT;
    CHECK_EQ_INT(dx_workspace_validate(ws, r, NULL), 0);
    dx_buf_printf(&b, "checked %zu\n", r->files_checked);
    for (size_t i = 0; i < r->len; i++) {
        const dx_issue *it = &r->items[i];
        dx_buf_printf(&b, "%s %d %s %s %s: %s\n", it->kind, it->error, it->file,
                      it->target ? it->target : "-", it->suggestion ? it->suggestion : "-",
                      it->message);
    }
    CHECK_EQ_INT(dx_buf_error(&b), 0);
    return dx_buf_detach(&b, NULL);
}

static bool has_issue(const dx_report *r, const char *kind, const char *file)
{
    for (size_t i = 0; i < r->len; i++)
        if (!strcmp(r->items[i].kind, kind) && !strcmp(r->items[i].file, file))
            return true;
    return false;
}

static char *join(const dx_strlist *l)
{
    dx_buf b = DX_BUF_INIT;
    for (size_t i = 0; i < l->len; i++)
        dx_buf_printf(&b, "%s\n", l->items[i]);
    return dx_buf_detach(&b, NULL);
}

static char *search_text(const dx_workspace *ws, const char *pattern, const char *property)
{
    dx_matches m = {0};
    dx_buf b = DX_BUF_INIT;
    CHECK_EQ_INT(dx_workspace_search(ws, pattern, property, &m, NULL), 0);
    for (size_t i = 0; i < m.len; i++)
        dx_buf_printf(&b, "%s:%zu:%s\n", m.items[i].file, m.items[i].line, m.items[i].text);
    dx_matches_release(&m);
    return dx_buf_detach(&b, NULL);
}

static char *files_text(const dx_workspace *ws)
{
    dx_strlist l = DX_STRLIST_INIT;
    CHECK_EQ_INT(dx_workspace_list_files(ws, false, &l, NULL), 0);
    char *s = join(&l);
    dx_strlist_release(&l);
    return s;
}

#define CHECK_SAME(expr_disk, expr_mem)                                                            \
    do {                                                                                           \
        char *a_s = (expr_disk), *b_s = (expr_mem);                                                \
        CHECK_EQ_STR(b_s, a_s);                                                                    \
        free(a_s);                                                                                 \
        free(b_s);                                                                                 \
    } while (0)

/* ---- tests ------------------------------------------------------------------------------ */

TEST(test_docfiles_tree_matches_disk_and_loads_no_body)
{
    fixture f;
    fixture_open(&f);
    char *t1 = tree_text(f.mem, NULL, 1);
    CHECK(strstr(t1, "Journal - My notes\n") == t1);
    CHECK_SAME(tree_text(f.disk, NULL, 1), t1);
    CHECK_SAME(tree_text(f.disk, NULL, 0), tree_text(f.mem, NULL, 0));
    /* Opening and trees read frontmatter only: no body document was loaded. */
    CHECK_EQ_INT(f.s.asked.len, 0);
    CHECK_SAME(tree_text(f.disk, "notes/notes.md", 0), tree_text(f.mem, "notes/notes.md", 0));
    CHECK_SAME(tree_text(f.disk, "nowhere.md", 0), tree_text(f.mem, "nowhere.md", 0));
    CHECK_SAME(files_text(f.disk), files_text(f.mem));
    CHECK_EQ_STR(dx_workspace_root_file(f.mem), "README.md");
    CHECK_EQ_STR(dx_workspace_root(f.mem), "");
    fixture_close(&f);
}

TEST(test_docfiles_validate_matches_disk)
{
    fixture f;
    fixture_open(&f);
    dx_report rd, rm;
    char *a = report_text(f.disk, &rd), *b = report_text(f.mem, &rm);
    CHECK_EQ_STR(b, a);
    CHECK(has_issue(&rm, "OrphanFile", "orphan.md"));
    CHECK(has_issue(&rm, "OrphanFile", "stray.md")); /* its part_of names no file */
    CHECK(has_issue(&rm, "BrokenContentsRef", "notes/notes.md"));
    CHECK_EQ_INT(f.s.asked.len, 0); /* validate reads frontmatter only */
    CHECK(has_issue(&rm, "BrokenAttachment", "notes/b.md"));
    CHECK(rm.files_checked >= 5);
    free(a);
    free(b);
    dx_report_release(&rd);
    dx_report_release(&rm);
    fixture_close(&f);
}

TEST(test_docfiles_search_matches_disk)
{
    fixture f;
    fixture_open(&f);
    char *m = search_text(f.mem, "search me", NULL);
    CHECK(strstr(m, "notes/a.md:") && strstr(m, "orphan.md:") && strstr(m, "private.md:"));
    CHECK_SAME(search_text(f.disk, "search me", NULL), m);
    CHECK_EQ_INT(f.s.asked.len, N_FILES); /* a search reads every body */
    CHECK_SAME(search_text(f.disk, "e", "title"), search_text(f.mem, "e", "title"));
    CHECK_SAME(search_text(f.disk, "nothing like it", NULL),
               search_text(f.mem, "nothing like it", NULL));
    fixture_close(&f);
}

/* Every file below dir (as written by export) with its bytes. */
static char *tree_bytes(const char *dir, const dx_strlist *paths)
{
    dx_buf b = DX_BUF_INIT, t = DX_BUF_INIT;
    for (size_t i = 0; i < paths->len; i++) {
        dx_buf_reset(&t);
        CHECK_EQ_INT(dx_fs_read_in(dir, paths->items[i], &t, NULL, NULL), 0);
        dx_buf_printf(&b, "== %s\n%s", paths->items[i], dx_buf_cstr(&t));
    }
    dx_buf_release(&t);
    return dx_buf_detach(&b, NULL);
}

static void export_both(fixture *f, const char *audience, bool any)
{
    char d1[] = "/tmp/dx_docexp_XXXXXX", d2[] = "/tmp/dx_docexp_XXXXXX";
    CHECK(mkdtemp(d1) && mkdtemp(d2));
    dx_export_options o = {.audience = audience};
    dx_strlist inc[2] = {DX_STRLIST_INIT, DX_STRLIST_INIT},
               exc[2] = {DX_STRLIST_INIT, DX_STRLIST_INIT};
    dx_error e = DX_ERROR_INIT;
    CHECK_EQ_INT(dx_workspace_export(f->disk, d1, &o, &inc[0], &exc[0], &e), 0);
    CHECK_EQ_INT(dx_workspace_export(f->mem, d2, &o, &inc[1], &exc[1], &e), 0);
    CHECK(any == (inc[1].len > 0));
    CHECK(!any || dx_strlist_find(&exc[1], "private.md (private)") >= 0);
    CHECK_SAME(join(&inc[0]), join(&inc[1]));
    CHECK_SAME(join(&exc[0]), join(&exc[1]));
    CHECK_SAME(tree_bytes(d1, &inc[0]), tree_bytes(d2, &inc[1]));
    for (int i = 0; i < 2; i++) {
        dx_strlist_release(&inc[i]);
        dx_strlist_release(&exc[i]);
    }
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s %s", d1, d2);
    CHECK_EQ_INT(system(cmd), 0);
}

TEST(test_docfiles_export_matches_disk)
{
    fixture f;
    /* Export fails on a contents link to a missing file, on a disk as over documents: that
     * case is checked apart. */
    fixture_open_with(&f, false);
    export_both(&f, "family", true);
    export_both(&f, "work", false); /* the root is for family only */
    export_both(&f, "*", true);
    fixture_close(&f);
    fixture_open(&f);
    char d1[] = "/tmp/dx_docexp_XXXXXX", d2[] = "/tmp/dx_docexp_XXXXXX";
    CHECK(mkdtemp(d1) && mkdtemp(d2));
    dx_export_options o = {.audience = "family"};
    dx_error e1 = DX_ERROR_INIT, e2 = DX_ERROR_INIT;
    CHECK_EQ_INT(dx_workspace_export(f.disk, d1, &o, NULL, NULL, &e1), DX_ENOTFOUND);
    CHECK_EQ_INT(dx_workspace_export(f.mem, d2, &o, NULL, NULL, &e2), DX_ENOTFOUND);
    CHECK_EQ_STR(e2.msg, e1.msg);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s %s", d1, d2);
    CHECK_EQ_INT(system(cmd), 0);
    fixture_close(&f);
}

TEST(test_docfiles_daily_creates_the_same_entry_as_crdt_edits)
{
    fixture f;
    fixture_open(&f);
    dx_buf pd = DX_BUF_INIT, pm = DX_BUF_INIT;
    bool cd = false, cm = false;
    dx_error e = DX_ERROR_INIT;
    CHECK_EQ_INT(dx_workspace_daily(f.disk, "2026-12-04", "daily", &pd, &cd, &e), 0);
    CHECK_EQ_INT(dx_workspace_daily(f.mem, "2026-12-04", "daily", &pm, &cm, &e), 0);
    CHECK(cd && cm);
    CHECK_EQ_STR(dx_buf_cstr(&pm), dx_buf_cstr(&pd));
    /* Staged: the documents have not changed yet, the workspace shows the staged files. */
    size_t n_staged = 0;
    dx_workspace_staged(f.mem, &n_staged);
    CHECK(n_staged >= 4);
    CHECK_EQ_INT(f.s.changed, 0);
    CHECK_SAME(files_text(f.disk), files_text(f.mem));
    size_t n = 0;
    CHECK_EQ_INT(dx_docs_take_staged(&f.s.d, f.mem, &n, &e), 0);
    CHECK_EQ_INT(n, n_staged);
    CHECK_EQ_INT(f.s.changed, (int)n);
    dx_workspace_staged(f.mem, &n_staged);
    CHECK_EQ_INT(n_staged, 0);
    /* The documents now hold the new entries: a fresh view of them agrees with the disk. */
    dx_workspace *again = NULL;
    CHECK_EQ_INT(dx_workspace_open_docs(&f.s.d, DX_LINK_MARKDOWN_ROOT, &again, &e), 0);
    CHECK_SAME(tree_text(f.disk, NULL, 0), tree_text(again, NULL, 0));
    CHECK_SAME(tree_text(f.disk, NULL, 0), tree_text(f.mem, NULL, 0));
    CHECK_SAME(files_text(f.disk), files_text(again));
    char id[DX_UUID_LEN + 1];
    CHECK_EQ_INT(dx_wsdoc_find_path(f.s.ws, dx_buf_cstr(&pd), id, NULL), 0);
    /* The lookup finds it now, and creates nothing. */
    dx_buf_reset(&pm);
    CHECK_EQ_INT(dx_workspace_daily(again, "2026-12-04", "daily", &pm, &cm, &e), 0);
    CHECK(!cm);
    CHECK_EQ_STR(dx_buf_cstr(&pm), dx_buf_cstr(&pd));
    dx_workspace_staged(again, &n_staged);
    CHECK_EQ_INT(n_staged, 0);
    dx_workspace_free(again);
    dx_buf_release(&pd);
    dx_buf_release(&pm);
    fixture_close(&f);
}

TEST(test_docfiles_fix_as_crdt_edits_makes_validate_clean)
{
    fixture f;
    fixture_open(&f);
    dx_report r0, r1;
    dx_strlist fixed = DX_STRLIST_INIT, failed = DX_STRLIST_INIT;
    dx_strlist dfixed = DX_STRLIST_INIT, dfailed = DX_STRLIST_INIT;
    dx_error e = DX_ERROR_INIT;
    /* The same fix on the disk, for comparison. */
    CHECK_EQ_INT(dx_workspace_validate(f.disk, &r0, NULL), 0);
    CHECK_EQ_INT(dx_workspace_fix(f.disk, &r0, &dfixed, &dfailed, &e), 0);
    dx_report_release(&r0);
    CHECK_EQ_INT(dx_workspace_validate(f.mem, &r0, NULL), 0);
    CHECK(r0.len >= 3);
    CHECK_EQ_INT(dx_workspace_fix(f.mem, &r0, &fixed, &failed, &e), 0);
    dx_report_release(&r0);
    CHECK_SAME(join(&dfixed), join(&fixed));
    CHECK_EQ_INT(failed.len, 0);
    CHECK_EQ_INT(f.s.changed, 0);
    size_t n = 0;
    CHECK_EQ_INT(dx_docs_take_staged(&f.s.d, f.mem, &n, &e), 0);
    CHECK(n >= 3);
    /* Read back from the documents alone: clean, and as the fixed disk. */
    dx_workspace *again = NULL;
    CHECK_EQ_INT(dx_workspace_open_docs(&f.s.d, DX_LINK_MARKDOWN_ROOT, &again, &e), 0);
    char *clean = report_text(again, &r1);
    CHECK_EQ_INT(r1.len, 0);
    CHECK_SAME(report_text(f.disk, &r0 /* released below */), clean);
    dx_report_release(&r1);
    CHECK_SAME(tree_text(f.disk, NULL, 0), tree_text(again, NULL, 0));
    /* Nothing is left to fix. */
    dx_report_release(&r0);
    CHECK_EQ_INT(dx_workspace_validate(again, &r0, NULL), 0);
    CHECK_EQ_INT(r0.len, 0);
    dx_report_release(&r0);
    dx_workspace_free(again);
    dx_strlist_release(&fixed);
    dx_strlist_release(&failed);
    dx_strlist_release(&dfixed);
    dx_strlist_release(&dfailed);
    fixture_close(&f);
}

TEST(test_docfiles_move_and_delete_are_taken_in)
{
    fixture f;
    fixture_open(&f);
    dx_error e = DX_ERROR_INIT;
    char a_id[DX_UUID_LEN + 1], b_id[DX_UUID_LEN + 1];
    CHECK_EQ_INT(dx_wsdoc_find_path(f.s.ws, "notes/a.md", a_id, NULL), 0);
    CHECK_EQ_INT(dx_wsdoc_find_path(f.s.ws, "notes/b.md", b_id, NULL), 0);
    CHECK_EQ_INT(dx_workspace_move(f.disk, "notes/a.md", "notes/renamed.md", &e), 0);
    CHECK_EQ_INT(dx_workspace_move(f.mem, "notes/a.md", "notes/renamed.md", &e), 0);
    CHECK_EQ_INT(dx_workspace_delete(f.disk, "notes/b.md", &e), 0);
    CHECK_EQ_INT(dx_workspace_delete(f.mem, "notes/b.md", &e), 0);
    CHECK_EQ_INT(dx_docs_take_staged(&f.s.d, f.mem, NULL, &e), 0);
    /* The moved entry keeps its id; the deleted one is marked deleted. */
    char id[DX_UUID_LEN + 1];
    CHECK_EQ_INT(dx_wsdoc_find_path(f.s.ws, "notes/renamed.md", id, NULL), 0);
    CHECK_EQ_STR(id, a_id);
    CHECK(!dx_wsdoc_is_live(f.s.ws, b_id));
    dx_workspace *again = NULL;
    CHECK_EQ_INT(dx_workspace_open_docs(&f.s.d, DX_LINK_MARKDOWN_ROOT, &again, &e), 0);
    CHECK_SAME(tree_text(f.disk, NULL, 0), tree_text(again, NULL, 0));
    CHECK_SAME(files_text(f.disk), files_text(again));
    dx_report r, r2;
    CHECK_SAME(report_text(f.disk, &r), report_text(again, &r2));
    dx_report_release(&r);
    dx_report_release(&r2);
    dx_workspace_free(again);
    fixture_close(&f);
}

TEST(test_docfiles_refuses_what_it_cannot_do)
{
    fixture f;
    fixture_open(&f);
    dx_error e = DX_ERROR_INIT;
    /* A disk workspace's staged files are its session's to take in. */
    CHECK_EQ_INT(dx_docs_take_staged(&f.s.d, f.disk, NULL, &e), DX_EINVAL);
    CHECK(strstr(e.msg, f.dir) != NULL);
    /* Nor go the staged files into other documents than the workspace's own. */
    y_doc *other = new_doc();
    dx_docs od = {other, docs_body, NULL, &f.s};
    CHECK_EQ_INT(dx_docs_take_staged(&od, f.mem, NULL, &e), DX_EINVAL);
    y_doc_free(other);
    /* Staging cannot be turned off: there is no disk to write. */
    dx_workspace_set_staging(f.mem, false);
    CHECK_EQ_INT(dx_workspace_create(f.mem, "notes/new.md", "New", false, &e), 0);
    size_t n = 0;
    dx_workspace_staged(f.mem, &n);
    CHECK(n >= 2);
    /* Documents without a root index. */
    y_doc *empty = new_doc();
    dx_docs d = {empty, docs_body, NULL, &f.s};
    dx_workspace *ws = (dx_workspace *)1;
    CHECK_EQ_INT(dx_workspace_open_docs(&d, DX_LINK_MARKDOWN_ROOT, &ws, &e), DX_ENOTFOUND);
    CHECK(ws == NULL);
    CHECK(strstr(e.msg, "root index") != NULL);
    y_doc_free(empty);
    fixture_close(&f);
}

static int count_entry(void *ud, const char *id, const char *path)
{
    (void)id;
    (void)path;
    (*(size_t *)ud)++;
    return 0;
}

static int changed_fails(void *ud, const char *id)
{
    (void)ud;
    (void)id;
    return 1;
}

TEST(test_docfiles_failures_are_reported_and_keep_the_staging)
{
    fixture f;
    fixture_open(&f);
    dx_error e = DX_ERROR_INIT;
    /* A staged file that cannot be taken in: nothing else was staged, nothing changes. */
    const char *bad = "---\ntitle: never closed\n";
    CHECK_EQ_INT(dx_workspace_put_file(f.mem, "notes/bad.md", bad, strlen(bad), &e), 0);
    CHECK_EQ_INT(dx_docs_take_staged(&f.s.d, f.mem, NULL, &e), DX_EPARSE);
    CHECK(strstr(e.msg, "notes/bad.md") != NULL);
    size_t n = 0;
    dx_workspace_staged(f.mem, &n);
    CHECK_EQ_INT(n, 1);
    CHECK_EQ_INT(f.s.changed, 0);
    dx_workspace_staged_clear(f.mem);
    /* A note where no entry may be; an attachment, which is no entry, is left out. */
    CHECK_EQ_INT(dx_workspace_put_file(f.mem, ".hidden/x.md", "x\n", 2, &e), 0);
    CHECK_EQ_INT(dx_docs_take_staged(&f.s.d, f.mem, NULL, &e), DX_EPATH);
    CHECK(strstr(e.msg, ".hidden/x.md") != NULL);
    dx_workspace_staged_clear(f.mem);
    CHECK_EQ_INT(dx_workspace_put_file(f.mem, "notes/pic.png", "PNG", 3, &e), 0);
    CHECK_EQ_INT(dx_docs_take_staged(&f.s.d, f.mem, &n, &e), 0);
    CHECK_EQ_INT(n, 0);
    CHECK_EQ_INT(f.s.changed, 0);
    /* A body that cannot be loaded: the read of its file fails with the loader's error. */
    CHECK_EQ_INT(dx_wsdoc_find_path(f.s.ws, "notes/a.md", f.s.fail, NULL), 0);
    dx_fm *fm = NULL;
    CHECK_EQ_INT(dx_workspace_read(f.mem, "notes/a.md", &fm, &e), DX_EIO);
    CHECK(strstr(e.msg, f.s.fail) != NULL);
    CHECK(fm == NULL);
    /* A tree and validate need no body: they still work. */
    CHECK_SAME(tree_text(f.disk, NULL, 0), tree_text(f.mem, NULL, 0));
    dx_report r1, r2;
    CHECK_SAME(report_text(f.disk, &r1), report_text(f.mem, &r2));
    dx_report_release(&r1);
    dx_report_release(&r2);
    /* The listener of changes failing: out of memory, the staging kept. */
    dx_docs d = f.s.d;
    d.changed = changed_fails;
    CHECK_EQ_INT(dx_workspace_create(f.mem, "notes/c.md", "C", false, &e), 0);
    CHECK_EQ_INT(dx_docs_take_staged(&d, f.mem, NULL, &e), DX_ENOMEM);
    dx_workspace_staged(f.mem, &n);
    CHECK(n >= 2);
    /* Taken in again: what the failed call took in is found, not made twice. */
    CHECK_EQ_INT(dx_docs_take_staged(&f.s.d, f.mem, NULL, &e), 0);
    size_t live = 0;
    CHECK_EQ_INT(dx_wsdoc_each_path(f.s.ws, count_entry, &live, NULL), 0);
    CHECK_EQ_INT(live, N_FILES + 1);
    fixture_close(&f);
}

/* The server's way: documents in a store file (no workspace directory), a docset over them,
 * reads and a daily entry through a CRDT-backed workspace, the edits stored, and another
 * docset over the store finding them. */
typedef struct writer {
    dx_crdt_store *store;
    dx_docset *ds;
    dx_docs d;
} writer;

static void writer_open(writer *w, const char *db)
{
    dx_error e = DX_ERROR_INIT;
    CHECK_EQ_INT(dx_store_open(db, &w->store, &e), 0);
    CHECK_EQ_INT(dx_docset_new(w->store, "test", &w->ds, &e), 0);
    CHECK_EQ_INT(dx_docset_load(w->ds, &e), 0);
    dx_docset_docs(w->ds, &w->d);
}

static void writer_store(writer *w)
{
    dx_error e = DX_ERROR_INIT;
    CHECK_EQ_INT(dx_store_begin(w->store, &e), 0);
    CHECK_EQ_INT(dx_docset_catch_up(w->ds, NULL, &e), 0);
    CHECK_EQ_INT(dx_docset_flush(w->ds, NULL, NULL, &e), 0);
    int64_t last = dx_store_last_id(w->store, NULL);
    CHECK_EQ_INT(dx_store_commit(w->store, &e), 0);
    dx_docset_set_seen(w->ds, last);
    dx_docset_untouch(w->ds);
}

static void writer_close(writer *w)
{
    dx_docset_free(w->ds);
    dx_store_close(w->store);
}

TEST(test_docfiles_over_a_docset_in_a_store)
{
    char dir[] = "/tmp/dx_docstore_XXXXXX", db[64];
    CHECK(mkdtemp(dir) != NULL);
    snprintf(db, sizeof db, "%s/crdt.db", dir);
    dx_error e = DX_ERROR_INIT;
    writer a, b, c;
    writer_open(&a, db);
    for (size_t i = 0; i < N_FILES; i++) {
        char id[DX_UUID_LEN + 1];
        y_doc *body = NULL;
        CHECK_EQ_INT(dx_uuid_v4(id), 0);
        CHECK_EQ_INT(dx_docset_body(a.ds, id, &body, &e), 0);
        CHECK_EQ_INT(dx_ingest_entry(a.d.workspace, id, files[i][0], files[i][1],
                                     strlen(files[i][1]), body, DX_LINK_MARKDOWN_ROOT, &e),
                     0);
        CHECK_EQ_INT(dx_docset_touch(a.ds, id), 0);
    }
    writer_store(&a);
    writer_close(&a);

    writer_open(&b, db);
    dx_workspace *ws = NULL;
    CHECK_EQ_INT(dx_workspace_open_docs(&b.d, DX_LINK_MARKDOWN_ROOT, &ws, &e), 0);
    dx_report r;
    char *rep = report_text(ws, &r);
    CHECK(has_issue(&r, "OrphanFile", "orphan.md"));
    dx_report_release(&r);
    free(rep);
    dx_buf p1 = DX_BUF_INIT, p2 = DX_BUF_INIT;
    bool created = false;
    CHECK_EQ_INT(dx_workspace_daily(ws, "2026-12-04", NULL, &p1, &created, &e), 0);
    CHECK(created);
    size_t n = 0;
    CHECK_EQ_INT(dx_docs_take_staged(&b.d, ws, &n, &e), 0);
    CHECK(n >= 3);
    CHECK_EQ_INT(dx_docset_touched(b.ds)->len, n);
    CHECK(dx_docset_unsaved(b.ds));
    writer_store(&b);
    dx_workspace_free(ws);
    writer_close(&b);

    /* Another docset over the store finds the entry: nothing to create. */
    writer_open(&c, db);
    CHECK_EQ_INT(dx_workspace_open_docs(&c.d, DX_LINK_MARKDOWN_ROOT, &ws, &e), 0);
    CHECK_EQ_INT(dx_workspace_daily(ws, "2026-12-04", NULL, &p2, &created, &e), 0);
    CHECK(!created);
    CHECK_EQ_STR(dx_buf_cstr(&p2), dx_buf_cstr(&p1));
    dx_workspace_staged(ws, &n);
    CHECK_EQ_INT(n, 0);
    char *t = tree_text(ws, NULL, 0);
    CHECK(strstr(t, "2026") != NULL);
    free(t);
    dx_workspace_free(ws);
    writer_close(&c);
    dx_buf_release(&p1);
    dx_buf_release(&p2);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    CHECK_EQ_INT(system(cmd), 0);
}

int main(void)
{
    RUN(test_docfiles_tree_matches_disk_and_loads_no_body);
    RUN(test_docfiles_validate_matches_disk);
    RUN(test_docfiles_search_matches_disk);
    RUN(test_docfiles_export_matches_disk);
    RUN(test_docfiles_daily_creates_the_same_entry_as_crdt_edits);
    RUN(test_docfiles_fix_as_crdt_edits_makes_validate_clean);
    RUN(test_docfiles_move_and_delete_are_taken_in);
    RUN(test_docfiles_refuses_what_it_cannot_do);
    RUN(test_docfiles_failures_are_reported_and_keep_the_staging);
    RUN(test_docfiles_over_a_docset_in_a_store);
    return TEST_REPORT();
}
