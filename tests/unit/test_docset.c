/* test_docset.c - the documents of a workspace over a store file, with no workspace directory:
 * what the server will do. Two docsets over two handles of one store stand for two writers:
 * edits are captured and stored in the caller's transaction, the other writer catches up and
 * finds the entry by path, concurrent edits merge, documents load as of the state their
 * caller saw, and a state compacted away is refused rather than edited. */
#include "test.h"

#include <unistd.h>

#include "diaryx/bodydoc.h"
#include "diaryx/docfiles.h"
#include "diaryx/docset.h"
#include "diaryx/wsdoc.h"

static char dir[64];

#define ROOT "7d3f0e9a-1c2b-4d5e-8f60-718293a4b5c6"
#define DAY  "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"

typedef struct writer {
    dx_crdt_store *store;
    dx_docset *ds;
} writer;

static void writer_open(writer *w, const char *name, const char *device)
{
    char path[128];
    dx_error err = DX_ERROR_INIT;
    snprintf(path, sizeof path, "%s/%s", dir, name);
    CHECK_EQ_INT(dx_store_open(path, &w->store, &err), 0);
    CHECK_EQ_INT(dx_docset_new(w->store, device, &w->ds, &err), 0);
}

static void writer_close(writer *w)
{
    dx_docset_free(w->ds);
    dx_store_close(w->store);
}

/* One round: lock, catch up, store what the documents emitted, commit. */
static size_t round_trip(writer *w)
{
    dx_error err = DX_ERROR_INIT;
    size_t stored = 0;
    CHECK_EQ_INT(dx_store_begin(w->store, &err), 0);
    CHECK_EQ_INT(dx_docset_catch_up(w->ds, NULL, &err), 0);
    CHECK_EQ_INT(dx_docset_flush(w->ds, &stored, NULL, &err), 0);
    int64_t last = dx_store_last_id(w->store, NULL);
    CHECK_EQ_INT(dx_store_commit(w->store, &err), 0);
    dx_docset_set_seen(w->ds, last);
    dx_docset_untouch(w->ds);
    return stored;
}

static void put_entry(y_doc *ws, const char *id, const char *filename, const char *parent)
{
    dx_error err = DX_ERROR_INIT;
    dx_entry e = DX_ENTRY_INIT;
    snprintf(e.id, sizeof e.id, "%s", id);
    e.filename = strdup(filename);
    e.title = strdup(id[0] == '7' ? "Root" : "Day");
    if (parent)
        e.part_of = strdup(parent);
    else
        e.is_index = true;
    CHECK_EQ_INT(dx_wsdoc_put(ws, &e, &err), 0);
    dx_entry_release(&e);
}

static void check_body(dx_docset *ds, const char *id, const char *want)
{
    dx_docs d;
    dx_buf b = DX_BUF_INIT;
    dx_error err = DX_ERROR_INIT;
    dx_docset_docs(ds, &d);
    CHECK_EQ_INT(dx_edit_body_get(&d, id, &b, &err), 0);
    CHECK_EQ_STR(dx_buf_cstr(&b), want);
    dx_buf_release(&b);
}

/* A workspace of two entries made through one docset, stored, and found by the other. */
static void make_workspace(writer *a)
{
    dx_docs d;
    dx_error err = DX_ERROR_INIT;
    dx_docset_docs(a->ds, &d);
    CHECK(d.workspace != NULL);
    put_entry(d.workspace, ROOT, "README.md", NULL);
    put_entry(d.workspace, DAY, "day.md", ROOT);
    CHECK_EQ_INT(dx_wsdoc_contents_insert(d.workspace, ROOT, 0, DAY, &err), 0);
    CHECK_EQ_INT(dx_docset_reindex(a->ds, &err), 0);
    CHECK_EQ_INT(dx_edit_body_set(&d, DAY, "first line\n", 11, &err), 0);
    CHECK(dx_docset_unsaved(a->ds));
    CHECK(dx_strmap_get(dx_docset_touched(a->ds), DAY) != NULL);
}

TEST(test_two_writers_store_catch_up_and_find_by_path)
{
    writer a, b;
    dx_error err = DX_ERROR_INIT;
    char id[DX_UUID_LEN + 1];
    writer_open(&a, "one.db", "laptop");
    writer_open(&b, "one.db", "phone");
    make_workspace(&a);
    CHECK_EQ_INT(round_trip(&a), 2); /* one merged update per document */
    CHECK(!dx_docset_unsaved(a.ds));

    /* b was made before a stored: its documents are the state it saw (empty). */
    CHECK_EQ_INT(dx_docset_find(b.ds, "day.md", id, &err), DX_ENOTFOUND);
    bool moved = false;
    CHECK_EQ_INT(dx_store_begin(b.store, &err), 0);
    CHECK_EQ_INT(dx_docset_catch_up(b.ds, &moved, &err), 0);
    CHECK_EQ_INT(dx_store_commit(b.store, &err), 0);
    CHECK(moved);
    CHECK_EQ_INT(dx_docset_seen(b.ds), dx_docset_seen(a.ds));
    CHECK_EQ_INT(dx_docset_find(b.ds, "day.md", id, &err), 0);
    CHECK_EQ_STR(id, DAY);
    check_body(b.ds, DAY, "first line\n");

    dx_buf path = DX_BUF_INIT, bytes = DX_BUF_INIT;
    CHECK_EQ_INT(dx_docset_render(b.ds, DAY, DX_LINK_MARKDOWN_ROOT, &path, &bytes, &err), 0);
    CHECK_EQ_STR(dx_buf_cstr(&path), "day.md");
    CHECK(strstr(dx_buf_cstr(&bytes), "title: Day") != NULL);
    CHECK(strstr(dx_buf_cstr(&bytes), "first line") != NULL);
    dx_buf_release(&path);
    dx_buf_release(&bytes);
    writer_close(&a);
    writer_close(&b);
}

TEST(test_concurrent_edits_of_two_writers_merge)
{
    writer a, b, c;
    dx_error err = DX_ERROR_INIT;
    dx_docs da, db;
    writer_open(&a, "two.db", "laptop");
    make_workspace(&a);
    round_trip(&a);
    writer_open(&b, "two.db", "phone");
    dx_docset_docs(a.ds, &da);
    dx_docset_docs(b.ds, &db);
    CHECK(db.workspace != NULL);
    /* Both edit before either sees the other's edit. */
    CHECK_EQ_INT(dx_edit_body_append(&da, DAY, "from the laptop", 15, &err), 0);
    CHECK_EQ_INT(dx_wsdoc_set_field(da.workspace, DAY, "description", "kept", &err), 0);
    CHECK_EQ_INT(dx_edit_body_prepend(&db, DAY, "from the phone", 14, &err), 0);
    CHECK_EQ_INT(dx_wsdoc_set_field(db.workspace, DAY, "title", "Monday", &err), 0);
    round_trip(&a);
    round_trip(&b); /* catches up with a's edits, then stores its own */
    check_body(b.ds, DAY, "from the phone\nfirst line\nfrom the laptop\n");

    /* A third writer opened afterwards loads the merged state from the store alone. */
    writer_open(&c, "two.db", "server");
    check_body(c.ds, DAY, "from the phone\nfirst line\nfrom the laptop\n");
    y_doc *ws = dx_docset_workspace(c.ds);
    CHECK(ws != NULL);
    CHECK_EQ_STR(dx_wsdoc_title(ws, DAY), "Monday");
    dx_entry e = DX_ENTRY_INIT;
    CHECK_EQ_INT(dx_wsdoc_get(ws, DAY, &e, &err), 0);
    CHECK_EQ_STR(e.description, "kept");
    dx_entry_release(&e);
    writer_close(&a);
    writer_close(&b);
    writer_close(&c);
}

TEST(test_documents_load_as_of_the_state_seen)
{
    writer a, b;
    dx_error err = DX_ERROR_INIT;
    dx_docs da;
    writer_open(&a, "three.db", "laptop");
    make_workspace(&a);
    round_trip(&a);
    writer_open(&b, "three.db", "phone"); /* sees the workspace; loads nothing yet */
    size_t loads = 0;
    dx_docset_count_loads(b.ds, &loads);
    CHECK(!dx_docset_loaded(b.ds));
    dx_docset_docs(a.ds, &da);
    CHECK_EQ_INT(dx_edit_body_append(&da, DAY, "later", 5, &err), 0);
    round_trip(&a);
    /* Loaded after a stored more, b's body is still the state b saw... */
    check_body(b.ds, DAY, "first line\n");
    CHECK_EQ_INT(loads, 2); /* the workspace document and one body */
    /* ...until it catches up. */
    CHECK_EQ_INT(dx_store_begin(b.store, &err), 0);
    CHECK_EQ_INT(dx_docset_catch_up(b.ds, NULL, &err), 0);
    CHECK_EQ_INT(dx_store_commit(b.store, &err), 0);
    check_body(b.ds, DAY, "first line\nlater\n");
    CHECK_EQ_INT(loads, 2);
    dx_docset_count_loads(b.ds, NULL);
    writer_close(&a);
    writer_close(&b);
}

TEST(test_a_state_compacted_away_is_refused_not_edited)
{
    writer a, b;
    dx_error err = DX_ERROR_INIT;
    dx_docs da;
    writer_open(&a, "four.db", "laptop");
    make_workspace(&a);
    round_trip(&a);
    writer_open(&b, "four.db", "phone");
    dx_docset_docs(a.ds, &da);
    for (int i = 0; i < 5; i++) {
        CHECK_EQ_INT(dx_edit_body_append(&da, DAY, "more", 4, &err), 0);
        round_trip(&a);
    }
    char name[DX_DOC_NAME_MAX];
    dx_doc_body_name(DAY, name);
    CHECK_EQ_INT(dx_store_compact(a.store, name, 1, &err), 0);
    y_doc *body = NULL;
    CHECK_EQ_INT(dx_docset_body(b.ds, DAY, &body, &err), DX_EBUSY);
    CHECK(strstr(err.msg, "run the command again") != NULL);
    /* Nothing half loaded stays behind: after catching up, the body loads. */
    dx_error_clear(&err);
    CHECK_EQ_INT(dx_store_begin(b.store, &err), 0);
    CHECK_EQ_INT(dx_docset_catch_up(b.ds, NULL, &err), 0);
    CHECK_EQ_INT(dx_store_commit(b.store, &err), 0);
    check_body(b.ds, DAY, "first line\nmore\nmore\nmore\nmore\nmore\n");
    writer_close(&a);
    writer_close(&b);
}

TEST(test_document_names)
{
    writer a;
    dx_error err = DX_ERROR_INIT;
    char name[DX_DOC_NAME_MAX];
    y_doc *d = NULL, *ws = NULL;
    dx_doc_body_name(DAY, name);
    CHECK_EQ_STR(name, "body/" DAY);
    CHECK_EQ_STR(dx_doc_body_id(name), DAY);
    CHECK(dx_doc_body_id("body/") == NULL);
    CHECK(dx_doc_body_id(DX_DOC_WORKSPACE) == NULL);
    writer_open(&a, "five.db", NULL);
    CHECK_EQ_STR(dx_docset_device(a.ds), "unknown");
    CHECK(dx_docset_store(a.ds) == a.store);
    CHECK_EQ_INT(dx_docset_doc(a.ds, DX_DOC_WORKSPACE, &ws, &err), 0);
    CHECK(ws == dx_docset_workspace(a.ds));
    CHECK_EQ_INT(dx_docset_doc(a.ds, name, &d, &err), 0);
    y_doc *again = NULL;
    CHECK_EQ_INT(dx_docset_body(a.ds, DAY, &again, &err), 0);
    CHECK(again == d);
    CHECK_EQ_INT(dx_docset_doc(a.ds, "notes", &d, &err), DX_EINVAL);
    CHECK(strstr(err.msg, "'notes'") != NULL);
    writer_close(&a);
}

static bool lists(dx_workspace *ws, const char *path)
{
    dx_strlist all = DX_STRLIST_INIT;
    dx_error err = DX_ERROR_INIT;
    CHECK_EQ_INT(dx_workspace_list_files(ws, true, &all, &err), 0);
    bool found = dx_strlist_find(&all, path) >= 0;
    dx_strlist_release(&all);
    return found;
}

/* A workspace over a docset's documents (docfiles.h) reads the docset's path index, and its
 * staged files go back through dx_docs_take_files: the docset finds a new entry at its path,
 * a moved one at the new path with its id, and a deleted one nowhere. */
TEST(test_a_workspace_over_the_docset_uses_its_index)
{
    writer a;
    dx_error err = DX_ERROR_INIT;
    char id[DX_UUID_LEN + 1], moved[DX_UUID_LEN + 1];
    writer_open(&a, "files.db", "laptop");
    make_workspace(&a);
    round_trip(&a);
    dx_docs d;
    dx_docset_docs(a.ds, &d);
    CHECK(d.paths != NULL);
    const dx_strmap *paths = d.paths(d.ud);
    CHECK(paths && paths->len == 2);
    CHECK_EQ_STR((const char *)dx_strmap_get(paths, "day.md"), DAY);
    dx_workspace *ws = NULL;
    CHECK_EQ_INT(dx_workspace_open_docs(&d, DX_LINK_MARKDOWN_ROOT, &ws, &err), 0);
    CHECK(lists(ws, "README.md") && lists(ws, "day.md"));

    size_t n = 0;
    CHECK_EQ_INT(dx_workspace_create(ws, "notes/c.md", "C", false, &err), 0);
    CHECK_EQ_INT(dx_docs_take_staged(&d, ws, &n, &err), 0);
    CHECK(n >= 2); /* the new entry and the index that lists it */
    CHECK_EQ_INT(dx_docset_find(a.ds, "notes/c.md", id, &err), 0);
    CHECK(lists(ws, "notes/c.md"));

    CHECK_EQ_INT(dx_workspace_move(ws, "notes/c.md", "notes/d.md", &err), 0);
    CHECK_EQ_INT(dx_docs_take_staged(&d, ws, NULL, &err), 0);
    CHECK_EQ_INT(dx_docset_find(a.ds, "notes/c.md", moved, &err), DX_ENOTFOUND);
    CHECK_EQ_INT(dx_docset_find(a.ds, "notes/d.md", moved, &err), 0);
    CHECK_EQ_STR(moved, id);
    CHECK(!lists(ws, "notes/c.md") && lists(ws, "notes/d.md"));

    CHECK_EQ_INT(dx_workspace_delete(ws, "notes/d.md", &err), 0);
    CHECK_EQ_INT(dx_docs_take_staged(&d, ws, NULL, &err), 0);
    CHECK_EQ_INT(dx_docset_find(a.ds, "notes/d.md", moved, &err), DX_ENOTFOUND);
    CHECK(!dx_wsdoc_is_live(d.workspace, id));
    CHECK(!lists(ws, "notes/d.md"));
    CHECK_EQ_INT(round_trip(&a) > 0, 1);
    dx_workspace_free(ws);
    writer_close(&a);
}

int main(void)
{
    snprintf(dir, sizeof dir, "/tmp/dx-docset-XXXXXX");
    if (!mkdtemp(dir))
        return 1;
    RUN(test_two_writers_store_catch_up_and_find_by_path);
    RUN(test_concurrent_edits_of_two_writers_merge);
    RUN(test_documents_load_as_of_the_state_seen);
    RUN(test_a_state_compacted_away_is_refused_not_edited);
    RUN(test_document_names);
    RUN(test_a_workspace_over_the_docset_uses_its_index);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        return 1;
    return TEST_REPORT();
}
