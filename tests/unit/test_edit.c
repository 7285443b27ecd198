/* test_edit.c - the editing API over a workspace's documents, with no directory and no store:
 * two peers (in-memory documents) edit bodies as CRDT operations and converge; bad input is
 * refused before anything changes. */
#include "test.h"

#include <stdlib.h>

#include "diaryx/bodydoc.h"
#include "diaryx/edit.h"
#include "diaryx/materialize.h"
#include "diaryx/strmap.h"
#include "diaryx/wsdoc.h"

#define DAY "7d3f0e9a-1c2b-4d5e-8f60-718293a4b5c6"

/* One peer: its workspace document and the body document of DAY. */
typedef struct peer {
    y_doc *ws, *body;
    int changed;
    dx_docs docs;
} peer;

static y_doc *new_doc(uint64_t client)
{
    y_doc_options o = Y_DOC_OPTIONS_INIT;
    o.client_id = client;
    o.has_client_id = true;
    y_doc *d = NULL;
    CHECK_EQ_INT(y_doc_new(&d, &o), Y_OK);
    return d;
}

static int body_of(void *ud, const char *id, y_doc **out, dx_error *err)
{
    peer *p = ud;
    if (strcmp(id, DAY))
        return dx_error_set(err, DX_ENOTFOUND, "no body for '%s'", id);
    *out = p->body;
    return 0;
}

static int on_changed(void *ud, const char *id)
{
    peer *p = ud;
    p->changed += !strcmp(id, DAY);
    return 0;
}

static void peer_init(peer *p, uint64_t client)
{
    p->ws = new_doc(client);
    p->body = new_doc(client + 100);
    p->changed = 0;
    p->docs = (dx_docs){p->ws, body_of, on_changed, p};
}

static void peer_free(peer *p)
{
    y_doc_free(p->ws);
    y_doc_free(p->body);
}

/* Send everything a has to b. */
static void send(y_doc *a, y_doc *b)
{
    uint8_t *u = NULL;
    size_t n = 0;
    CHECK_EQ_INT(y_encode_state_as_update(a, NULL, 0, &u, &n), Y_OK);
    CHECK_EQ_INT(y_apply_update(b, u, n, NULL), Y_OK);
    y_free(u);
}

static void exchange(peer *a, peer *b)
{
    send(a->ws, b->ws);
    send(b->ws, a->ws);
    send(a->body, b->body);
    send(b->body, a->body);
}

static void check_body(peer *p, const char *want)
{
    dx_buf b = DX_BUF_INIT;
    dx_error err = DX_ERROR_INIT;
    CHECK_EQ_INT(dx_edit_body_get(&p->docs, DAY, &b, &err), 0);
    CHECK_EQ_STR(dx_buf_cstr(&b), want);
    dx_buf_release(&b);
}

/* Both peers start from one entry whose body is "first\n". */
static void start(peer *a, peer *b)
{
    peer_init(a, 1);
    peer_init(b, 2);
    dx_entry e = DX_ENTRY_INIT;
    snprintf(e.id, sizeof e.id, "%s", DAY);
    e.filename = strdup("day.md");
    dx_error err = DX_ERROR_INIT;
    CHECK_EQ_INT(dx_wsdoc_put(a->ws, &e, &err), 0);
    dx_entry_release(&e);
    CHECK_EQ_INT(dx_edit_body_set(&a->docs, DAY, "first\n", 6, &err), 0);
    exchange(a, b);
}

TEST(test_edit_appends_on_two_peers_both_survive)
{
    peer a, b;
    start(&a, &b);
    dx_error err = DX_ERROR_INIT;
    CHECK_EQ_INT(dx_edit_body_append(&a.docs, DAY, "from a", 6, &err), 0);
    CHECK_EQ_INT(dx_edit_body_append(&b.docs, DAY, "from b\n", 7, &err), 0);
    CHECK_EQ_INT(a.changed, 2); /* the set and the append */
    exchange(&a, &b);
    /* One order on both peers (by client id), each line whole. */
    check_body(&a, "first\nfrom a\nfrom b\n");
    check_body(&b, "first\nfrom a\nfrom b\n");
    /* A prepend and an append at once merge too. */
    CHECK_EQ_INT(dx_edit_body_prepend(&a.docs, DAY, "top", 3, &err), 0);
    CHECK_EQ_INT(dx_edit_body_append(&b.docs, DAY, "end", 3, &err), 0);
    exchange(&a, &b);
    check_body(&a, "top\nfirst\nfrom a\nfrom b\nend\n");
    check_body(&b, "top\nfirst\nfrom a\nfrom b\nend\n");
    peer_free(&a);
    peer_free(&b);
}

TEST(test_edit_line_rules_of_append_and_prepend)
{
    peer a, b;
    start(&a, &b);
    dx_error err = DX_ERROR_INIT;
    /* A body without a final newline gets one before appended lines. */
    CHECK_EQ_INT(dx_edit_body_set(&a.docs, DAY, "no newline", 10, &err), 0);
    CHECK_EQ_INT(dx_edit_body_append(&a.docs, DAY, "next", 4, &err), 0);
    check_body(&a, "no newline\nnext\n");
    /* Prepending to an empty body adds no newline; empty text changes nothing. */
    CHECK_EQ_INT(dx_edit_body_set(&a.docs, DAY, "", 0, &err), 0);
    CHECK_EQ_INT(dx_edit_body_prepend(&a.docs, DAY, "only", 4, &err), 0);
    check_body(&a, "only");
    int before = a.changed;
    CHECK_EQ_INT(dx_edit_body_append(&a.docs, DAY, "", 0, &err), 0);
    CHECK_EQ_INT(a.changed, before);
    check_body(&a, "only");
    peer_free(&a);
    peer_free(&b);
}

TEST(test_edit_refuses_unknown_entries_and_bad_text)
{
    peer a, b;
    start(&a, &b);
    dx_error err = DX_ERROR_INIT;
    CHECK_EQ_INT(dx_edit_body_append(&a.docs, "00000000-0000-4000-8000-000000000000", "x", 1, &err),
                 DX_ENOTFOUND);
    CHECK(strstr(err.msg, "no entry") != NULL);
    dx_error_clear(&err);
    CHECK_EQ_INT(dx_edit_body_append(&a.docs, DAY, "bad \xff byte", 10, &err), DX_EINVAL);
    CHECK_EQ_INT(dx_edit_body_set(&a.docs, DAY, "bad \xc3", 5, &err), DX_EINVAL);
    check_body(&a, "first\n");
    /* A deleted entry is not edited. */
    CHECK_EQ_INT(dx_wsdoc_set_deleted(a.ws, DAY, true, &err), 0);
    CHECK_EQ_INT(dx_edit_body_append(&a.docs, DAY, "x", 1, &err), DX_ENOTFOUND);
    peer_free(&a);
    peer_free(&b);
}

/* ---- the workspace edits --------------------------------------------------------------------
 * A workspace peer: its workspace document and the body documents of its entries, made on
 * first use; `changed` collects the ids the edits report. */
#define ROOT "11111111-1111-4111-8111-111111111111"

typedef struct wpeer {
    y_doc *ws;
    uint64_t client;
    dx_strmap bodies; /* id -> y_doc* */
    dx_strmap changed;
    dx_docs docs;
} wpeer;

static int wbody(void *ud, const char *id, y_doc **out, dx_error *err)
{
    wpeer *p = ud;
    (void)err;
    if (!(*out = dx_strmap_get(&p->bodies, id))) {
        *out = new_doc(p->client + 1000 + p->bodies.len);
        CHECK_EQ_INT(dx_strmap_put(&p->bodies, id, *out), 0);
    }
    return 0;
}

static int wchanged(void *ud, const char *id)
{
    wpeer *p = ud;
    return dx_strmap_put(&p->changed, id, (void *)1);
}

static bool was_changed(wpeer *p, const char *id)
{
    return dx_strmap_get(&p->changed, id) != NULL;
}

/* A peer holding a root index README.md (an index without parent). */
static void wpeer_init(wpeer *p, uint64_t client)
{
    memset(p, 0, sizeof *p);
    p->ws = new_doc(client);
    p->client = client;
    p->docs = (dx_docs){p->ws, wbody, wchanged, p};
    dx_entry e = DX_ENTRY_INIT;
    snprintf(e.id, sizeof e.id, "%s", ROOT);
    e.filename = strdup("README.md");
    e.title = strdup("Home");
    e.is_index = true;
    dx_error err = DX_ERROR_INIT;
    CHECK_EQ_INT(dx_wsdoc_put(p->ws, &e, &err), 0);
    dx_entry_release(&e);
}

/* b starts as a copy of a (another client). */
static void wpeer_copy(wpeer *b, wpeer *a, uint64_t client)
{
    memset(b, 0, sizeof *b);
    b->ws = new_doc(client);
    b->client = client;
    b->docs = (dx_docs){b->ws, wbody, wchanged, b};
    send(a->ws, b->ws);
}

static void wexchange(wpeer *a, wpeer *b)
{
    send(a->ws, b->ws);
    send(b->ws, a->ws);
}

static void wpeer_free(wpeer *p)
{
    for (size_t i = 0; i < p->bodies.cap; i++)
        if (p->bodies.slots[i].key)
            y_doc_free(p->bodies.slots[i].value);
    dx_strmap_release(&p->bodies);
    dx_strmap_release(&p->changed);
    y_doc_free(p->ws);
}

/* The file of the entry at path, as rendered (body left out). */
static void render(wpeer *p, const char *path, dx_buf *bytes)
{
    char id[DX_UUID_LEN + 1];
    dx_buf at = DX_BUF_INIT;
    dx_error err = DX_ERROR_INIT;
    dx_buf_reset(bytes);
    CHECK_EQ_INT(dx_edit_find(&p->docs, path, id, &err), 0);
    CHECK_EQ_INT(dx_materialize_entry(p->ws, id, NULL, p->docs.format, &at, bytes, &err), 0);
    CHECK_EQ_STR(dx_buf_cstr(&at), path);
    dx_buf_release(&at);
}

static void file_has(wpeer *p, const char *path, const char *text, bool want)
{
    dx_buf b = DX_BUF_INIT;
    render(p, path, &b);
    if ((strstr(dx_buf_cstr(&b), text) != NULL) != want)
        TEST_FAILF("%s %s '%s':\n%s", path, want ? "lacks" : "has", text, dx_buf_cstr(&b));
    dx_buf_release(&b);
}

static void create(wpeer *p, const char *path, bool index, char id[DX_UUID_LEN + 1])
{
    dx_error err = DX_ERROR_INIT;
    CHECK_EQ_INT(dx_edit_create_path(&p->docs, path, NULL, index, id, NULL, &err), 0);
}

static void path_is(wpeer *p, const char *id, const char *want)
{
    dx_buf b = DX_BUF_INIT;
    CHECK_EQ_INT(dx_wsdoc_path(p->ws, id, &b, NULL), 0);
    CHECK_EQ_STR(dx_buf_cstr(&b), want);
    dx_buf_release(&b);
}

TEST(test_edit_create_links_into_the_directory_index)
{
    wpeer p;
    wpeer_init(&p, 10);
    dx_error err = DX_ERROR_INIT;
    char a[DX_UUID_LEN + 1], notes[DX_UUID_LEN + 1], other[DX_UUID_LEN + 1];
    dx_buf made = DX_BUF_INIT;
    CHECK_EQ_INT(dx_edit_create_path(&p.docs, "notes/a", "Alpha", false, a, &made, &err), 0);
    CHECK_EQ_STR(dx_buf_cstr(&made), "notes/a.md");
    /* The directory's index was made (titled from the folder) and linked into the root. */
    CHECK_EQ_INT(dx_edit_dir_index(&p.docs, "notes", false, notes, &err), 0);
    path_is(&p, notes, "notes/notes.md");
    CHECK(was_changed(&p, a) && was_changed(&p, notes) && was_changed(&p, ROOT));
    file_has(&p, "README.md", "- \"[Notes](/notes/notes.md)\"", true);
    file_has(&p, "notes/notes.md", "contents:\n- \"[Alpha](/notes/a.md)\"", true);
    file_has(&p, "notes/a.md", "title: Alpha\npart_of: \"[Notes](/notes/notes.md)\"", true);
    dx_buf body = DX_BUF_INIT;
    CHECK_EQ_INT(dx_edit_body_get(&p.docs, a, &body, &err), 0);
    CHECK_EQ_STR(dx_buf_cstr(&body), "\n# Alpha\n");
    /* "DIR/" makes the directory's index; a second time it exists. */
    CHECK_EQ_INT(dx_edit_create_path(&p.docs, "sub/", NULL, false, other, NULL, &err), 0);
    path_is(&p, other, "sub/sub.md");
    file_has(&p, "sub/sub.md", "contents: []", true);
    CHECK_EQ_INT(dx_edit_create_path(&p.docs, "sub/", NULL, false, other, NULL, &err), DX_EEXIST);
    CHECK(strstr(err.msg, "'sub/' already has an index, 'sub/sub.md'") != NULL);
    /* Refusals name the path and change nothing. */
    CHECK_EQ_INT(dx_edit_create_path(&p.docs, "notes/a.md", NULL, false, other, NULL, &err),
                 DX_EEXIST);
    CHECK(strstr(err.msg, "'notes/a.md' already exists") != NULL);
    CHECK_EQ_INT(dx_edit_create_path(&p.docs, ".hidden/x.md", NULL, false, other, NULL, &err),
                 DX_EPATH);
    CHECK_EQ_INT(dx_edit_find(&p.docs, ".hidden/x.md", other, &err), DX_ENOTFOUND);
    CHECK(strstr(err.msg, ".hidden/x.md") != NULL);
    /* The low-level create: at a place in the parent's contents, with a body. */
    dx_edit_new n = DX_EDIT_NEW_INIT;
    n.parent_id = notes;
    n.filename = "first.md";
    n.title = "First";
    n.at = 0;
    n.body = "hello\n";
    CHECK_EQ_INT(dx_edit_create(&p.docs, &n, other, &err), 0);
    file_has(&p, "notes/notes.md", "- \"[First](/notes/first.md)\"\n- \"[Alpha](/notes/a.md)\"",
             true);
    n.filename = "../escape.md";
    CHECK_EQ_INT(dx_edit_create(&p.docs, &n, other, &err), DX_EPATH);
    CHECK(strstr(err.msg, "'../escape.md' is not a file name below") != NULL);
    n.filename = "first.md";
    n.parent_id = "00000000-0000-4000-8000-000000000000";
    CHECK_EQ_INT(dx_edit_create(&p.docs, &n, other, &err), DX_ENOTFOUND);
    dx_buf_release(&made);
    dx_buf_release(&body);
    wpeer_free(&p);
}

TEST(test_edit_properties_as_yaml_values)
{
    wpeer p;
    wpeer_init(&p, 20);
    dx_error err = DX_ERROR_INIT;
    char a[DX_UUID_LEN + 1];
    create(&p, "a.md", false, a);
    CHECK_EQ_INT(dx_edit_property_set(&p.docs, a, "tags", "[x, y]", &err), 0);
    CHECK_EQ_INT(dx_edit_property_set(&p.docs, a, "count", "42", &err), 0);
    CHECK_EQ_INT(dx_edit_property_set(&p.docs, a, "audience", "[family]", &err), 0);
    CHECK_EQ_INT(dx_edit_property_set(&p.docs, a, "description", "Some words", &err), 0);
    CHECK_EQ_INT(dx_edit_property_set(&p.docs, a, "title", "Renamed", &err), 0);
    file_has(&p, "a.md", "tags: [x, y]\n", true); /* the YAML as written */
    file_has(&p, "a.md", "count: 42\n", true);
    file_has(&p, "a.md", "audience:\n- family\n", true);
    file_has(&p, "a.md", "description: Some words\n", true);
    file_has(&p, "a.md", "title: Renamed\n", true);
    CHECK_EQ_STR(dx_wsdoc_title(p.ws, a), "Renamed");
    /* The root links it with its title: its file changed too. */
    CHECK(was_changed(&p, ROOT));
    file_has(&p, "README.md", "[Renamed](/a.md)", true);
    /* The body is not touched by a property edit. */
    dx_buf body = DX_BUF_INIT;
    CHECK_EQ_INT(dx_edit_body_get(&p.docs, a, &body, &err), 0);
    CHECK_EQ_STR(dx_buf_cstr(&body), "\n# A\n");
    CHECK_EQ_INT(dx_edit_property_remove(&p.docs, a, "count", &err), 0);
    file_has(&p, "a.md", "count:", false);
    CHECK_EQ_INT(dx_edit_property_remove(&p.docs, a, "count", &err), DX_ENOTFOUND);
    CHECK(strstr(err.msg, "'a.md' has no property 'count'") != NULL);
    CHECK_EQ_INT(dx_edit_property_set(&p.docs, a, "bad", "[unclosed", &err), DX_EPARSE);
    file_has(&p, "a.md", "bad", false);
    CHECK_EQ_INT(
        dx_edit_property_set(&p.docs, "00000000-0000-4000-8000-000000000000", "k", "v", &err),
        DX_ENOTFOUND);
    dx_buf_release(&body);
    wpeer_free(&p);
}

TEST(test_edit_concurrent_properties_and_creates_merge)
{
    wpeer a, b;
    wpeer_init(&a, 30);
    char e[DX_UUID_LEN + 1], x[DX_UUID_LEN + 1], y[DX_UUID_LEN + 1];
    create(&a, "e.md", false, e);
    wpeer_copy(&b, &a, 31);
    dx_error err = DX_ERROR_INIT;
    /* Different properties of one entry, and a new entry each in one index. */
    CHECK_EQ_INT(dx_edit_property_set(&a.docs, e, "mood", "calm", &err), 0);
    CHECK_EQ_INT(dx_edit_property_set(&b.docs, e, "title", "Evening", &err), 0);
    CHECK_EQ_INT(dx_edit_property_set(&b.docs, e, "tags", "[t]", &err), 0);
    create(&a, "x.md", false, x);
    create(&b, "y.md", false, y);
    wexchange(&a, &b);
    wpeer *peers[] = {&a, &b};
    for (int i = 0; i < 2; i++) {
        file_has(peers[i], "e.md", "title: Evening\n", true);
        file_has(peers[i], "e.md", "mood: calm\n", true);
        file_has(peers[i], "e.md", "tags: [t]\n", true);
        file_has(peers[i], "README.md", "(/x.md)", true);
        file_has(peers[i], "README.md", "(/y.md)", true);
    }
    wpeer_free(&a);
    wpeer_free(&b);
}

TEST(test_edit_move_renames_and_changes_directory)
{
    wpeer p;
    wpeer_init(&p, 40);
    dx_error err = DX_ERROR_INIT;
    char a[DX_UUID_LEN + 1], notes[DX_UUID_LEN + 1], kid[DX_UUID_LEN + 1], arch[DX_UUID_LEN + 1];
    create(&p, "notes/a.md", true, a);
    create(&p, "notes/b.md", false, kid);
    CHECK_EQ_INT(dx_edit_dir_index(&p.docs, "notes", false, notes, &err), 0);
    /* kid moves under a (same directory): its path stays. */
    CHECK_EQ_INT(dx_edit_unlink(&p.docs, notes, kid, &err), 0);
    CHECK_EQ_INT(dx_edit_link(&p.docs, a, kid, &err), 0);
    path_is(&p, kid, "notes/b.md");
    /* A rename in place: the children's files link to the new name. */
    dx_strmap_release(&p.changed);
    CHECK_EQ_INT(dx_edit_move(&p.docs, a, "notes/alpha.md", false, &err), 0);
    path_is(&p, a, "notes/alpha.md");
    path_is(&p, kid, "notes/b.md");
    CHECK(was_changed(&p, a) && was_changed(&p, kid) && was_changed(&p, notes));
    file_has(&p, "notes/b.md", "part_of: \"[A](/notes/alpha.md)\"", true);
    file_has(&p, "notes/notes.md", "(/notes/alpha.md)", true);
    /* Into another directory: it leaves the old index for the new one (made when missing);
     * its child keeps its place. */
    CHECK_EQ_INT(dx_edit_move(&p.docs, a, "archive/alpha.md", false, &err), DX_EINVAL);
    CHECK(strstr(err.msg, "its entry 'notes/b.md' would be outside its directory") != NULL);
    CHECK_EQ_INT(dx_edit_move(&p.docs, a, "alpha.md", false, &err), 0);
    path_is(&p, a, "alpha.md");
    path_is(&p, kid, "notes/b.md");
    file_has(&p, "notes/notes.md", "alpha", false);
    file_has(&p, "README.md", "(/alpha.md)", true);
    file_has(&p, "alpha.md", "part_of: \"[Home](/README.md)\"", true);
    CHECK_EQ_INT(dx_edit_move(&p.docs, kid, "archive/b.md", false, &err), 0);
    CHECK_EQ_INT(dx_edit_dir_index(&p.docs, "archive", false, arch, &err), 0);
    path_is(&p, arch, "archive/archive.md");
    path_is(&p, kid, "archive/b.md");
    file_has(&p, "archive/b.md", "part_of: \"[Archive](/archive/archive.md)\"", true);
    /* A folder moves with its index: its entries keep their places in it. */
    char deep[DX_UUID_LEN + 1];
    create(&p, "archive/sub/deep.md", false, deep);
    CHECK_EQ_INT(dx_edit_move(&p.docs, arch, "old/archive/archive.md", true, &err), 0);
    path_is(&p, arch, "old/archive/archive.md");
    path_is(&p, kid, "old/archive/b.md");
    path_is(&p, deep, "old/archive/sub/deep.md");
    CHECK(was_changed(&p, deep));
    CHECK_EQ_INT(dx_edit_move(&p.docs, arch, "old/archive/x/archive.md", true, &err), DX_EINVAL);
    /* A link held verbatim (it named no entry when taken in) is rewritten too. */
    char later[DX_UUID_LEN + 1];
    CHECK_EQ_INT(dx_edit_property_set(&p.docs, a, "contents", "[\"[L](/t/later.md)\"]", &err), 0);
    create(&p, "t/later.md", false, later);
    CHECK_EQ_INT(dx_edit_move(&p.docs, later, "t/renamed.md", false, &err), 0);
    file_has(&p, "alpha.md", "- \"[Later](/t/renamed.md)\"", true); /* an id now */
    /* Refusals. */
    CHECK_EQ_INT(dx_edit_move(&p.docs, ROOT, "home.md", false, &err), DX_EINVAL);
    CHECK(strstr(err.msg, "the root index 'README.md' cannot be moved") != NULL);
    CHECK_EQ_INT(dx_edit_move(&p.docs, a, "old/archive/b.md", false, &err), DX_EEXIST);
    CHECK_EQ_INT(dx_edit_move(&p.docs, a, ".git/a.md", false, &err), DX_EPATH);
    path_is(&p, a, "alpha.md");
    wpeer_free(&p);
}

TEST(test_edit_move_concurrent_with_property_set)
{
    wpeer a, b;
    wpeer_init(&a, 50);
    char e[DX_UUID_LEN + 1];
    create(&a, "notes/e.md", false, e);
    wpeer_copy(&b, &a, 51);
    dx_error err = DX_ERROR_INIT;
    CHECK_EQ_INT(dx_edit_move(&a.docs, e, "archive/e2.md", false, &err), 0);
    CHECK_EQ_INT(dx_edit_property_set(&b.docs, e, "mood", "calm", &err), 0);
    CHECK_EQ_INT(dx_edit_property_set(&b.docs, e, "title", "E!", &err), 0);
    wexchange(&a, &b);
    wpeer *peers[] = {&a, &b};
    for (int i = 0; i < 2; i++) {
        path_is(peers[i], e, "archive/e2.md");
        file_has(peers[i], "archive/e2.md", "title: E!\n", true);
        file_has(peers[i], "archive/e2.md", "mood: calm\n", true);
        file_has(peers[i], "archive/e2.md", "part_of: \"[Archive](/archive/archive.md)\"", true);
        file_has(peers[i], "archive/archive.md", "[E!](/archive/e2.md)", true);
        file_has(peers[i], "notes/notes.md", "e2", false);
    }
    wpeer_free(&a);
    wpeer_free(&b);
}

TEST(test_edit_delete_link_reorder_attach)
{
    wpeer p;
    wpeer_init(&p, 60);
    dx_error err = DX_ERROR_INIT;
    char x[DX_UUID_LEN + 1], y[DX_UUID_LEN + 1], z[DX_UUID_LEN + 1], dir[DX_UUID_LEN + 1];
    create(&p, "x.md", false, x);
    create(&p, "y.md", false, y);
    create(&p, "d/z.md", false, z);
    CHECK_EQ_INT(dx_edit_dir_index(&p.docs, "d", false, dir, &err), 0);
    /* Reorder: y first. */
    CHECK_EQ_INT(dx_edit_reorder(&p.docs, ROOT, y, 0, &err), 0);
    file_has(&p, "README.md", "- \"[Y](/y.md)\"\n- \"[X](/x.md)\"", true);
    CHECK_EQ_INT(dx_edit_reorder(&p.docs, dir, y, 0, &err), DX_ENOTFOUND);
    /* Link z into the root too (it keeps its path: its name is relative to the root now),
     * then unlink it: no parent, the same path. */
    CHECK_EQ_INT(dx_edit_link(&p.docs, ROOT, z, &err), 0);
    file_has(&p, "README.md", "(/d/z.md)", true);
    file_has(&p, "d/z.md", "part_of: \"[Home](/README.md)\"", true);
    CHECK_EQ_INT(dx_edit_unlink(&p.docs, ROOT, z, &err), 0);
    file_has(&p, "README.md", "(/d/z.md)", false);
    file_has(&p, "d/z.md", "part_of", false);
    path_is(&p, z, "d/z.md");
    CHECK_EQ_INT(dx_edit_link(&p.docs, x, x, &err), DX_EINVAL);
    /* Attachments are workspace paths, written as links from the entry. */
    CHECK_EQ_INT(dx_edit_attach(&p.docs, x, "files/pic.png", &err), 0);
    CHECK_EQ_INT(dx_edit_attach(&p.docs, x, "files/pic.png", &err), 0);
    file_has(&p, "x.md", "attachments:\n- \"[Pic](/files/pic.png)\"\n", true); /* once */
    CHECK_EQ_INT(dx_edit_attach(&p.docs, x, "../out.png", &err), DX_EPATH);
    CHECK_EQ_INT(dx_edit_detach(&p.docs, x, "files/pic.png", &err), 0);
    CHECK_EQ_INT(dx_edit_detach(&p.docs, x, "files/pic.png", &err), DX_ENOTFOUND);
    file_has(&p, "x.md", "attachments", false);
    /* Delete: an index with entries is refused, a leaf goes from every list. */
    CHECK_EQ_INT(dx_edit_delete(&p.docs, dir, &err), DX_ECONFLICT);
    CHECK(strstr(err.msg, "'d/d.md' still has 1 entries") != NULL); /* z */
    CHECK_EQ_INT(dx_edit_link(&p.docs, dir, x, &err), 0);
    file_has(&p, "d/d.md", "(/x.md)", true);
    CHECK_EQ_INT(dx_edit_delete(&p.docs, x, &err), 0);
    CHECK(!dx_wsdoc_is_live(p.ws, x));
    file_has(&p, "README.md", "x.md", false);
    file_has(&p, "d/d.md", "x.md", false);
    CHECK_EQ_INT(dx_edit_delete(&p.docs, x, &err), DX_ENOTFOUND);
    CHECK_EQ_INT(dx_edit_delete(&p.docs, ROOT, &err), DX_ECONFLICT); /* it lists y and d */
    wpeer_free(&p);
}

TEST(test_edit_attachment_records_travel_to_peers)
{
    peer a, b;
    start(&a, &b);
    dx_error err = DX_ERROR_INIT;
    dx_attachment_meta m = {"", 5242880, "image/png"}, got;
    memset(m.sha256, 'c', 64);
    m.sha256[64] = 0;
    CHECK_EQ_INT(dx_attachment_meta_get(a.ws, "_attachments/pic.png", &got), DX_ENOTFOUND);
    CHECK_EQ_INT(dx_edit_attachment_set(&a.docs, "./_attachments//pic.png", &m, &err), 0);
    exchange(&a, &b);
    /* The same record again writes nothing. */
    uint8_t *sv = NULL, *sv2 = NULL;
    size_t svn = 0, svn2 = 0;
    CHECK_EQ_INT(y_encode_state_vector(a.ws, &sv, &svn), Y_OK);
    CHECK_EQ_INT(dx_edit_attachment_set(&a.docs, "_attachments/pic.png", &m, &err), 0);
    CHECK_EQ_INT(y_encode_state_vector(a.ws, &sv2, &svn2), Y_OK);
    CHECK(svn == svn2 && !memcmp(sv, sv2, svn));
    y_free(sv);
    y_free(sv2);
    /* The other peer knows which bytes the path means. */
    CHECK_EQ_INT(dx_attachment_meta_get(b.ws, "_attachments/pic.png", &got), 0);
    CHECK_EQ_STR(got.sha256, m.sha256);
    CHECK(got.size == 5242880);
    CHECK_EQ_STR(got.type, "image/png");
    /* Bad records are refused; a foreign record that is no object is DX_EPARSE. */
    dx_attachment_meta bad = m;
    bad.sha256[3] = 'X';
    CHECK_EQ_INT(dx_edit_attachment_set(&a.docs, "x.png", &bad, &err), DX_EINVAL);
    CHECK_EQ_INT(dx_edit_attachment_set(&a.docs, "../x.png", &m, &err), DX_EPATH);
    y_any s = y_any_string("nope", 4);
    CHECK_EQ_INT(y_map_set(y_doc_get_map(b.ws, DX_BLOBS_MAP), "odd.png", &s), Y_OK);
    CHECK_EQ_INT(dx_attachment_meta_get(b.ws, "odd.png", &got), DX_EPARSE);
    /* Forget: gone on both peers after an exchange. */
    CHECK_EQ_INT(dx_edit_attachment_forget(&b.docs, "_attachments/pic.png", &err), 0);
    CHECK_EQ_INT(dx_edit_attachment_forget(&b.docs, "_attachments/pic.png", &err), DX_ENOTFOUND);
    exchange(&a, &b);
    CHECK_EQ_INT(dx_attachment_meta_get(a.ws, "_attachments/pic.png", &got), DX_ENOTFOUND);
    peer_free(&a);
    peer_free(&b);
}

int main(void)
{
    RUN(test_edit_appends_on_two_peers_both_survive);
    RUN(test_edit_line_rules_of_append_and_prepend);
    RUN(test_edit_refuses_unknown_entries_and_bad_text);
    RUN(test_edit_create_links_into_the_directory_index);
    RUN(test_edit_properties_as_yaml_values);
    RUN(test_edit_concurrent_properties_and_creates_merge);
    RUN(test_edit_move_renames_and_changes_directory);
    RUN(test_edit_move_concurrent_with_property_set);
    RUN(test_edit_delete_link_reorder_attach);
    RUN(test_edit_attachment_records_travel_to_peers);
    return TEST_REPORT();
}
