/* test_materialize.c - files -> CRDT -> files gives the same bytes; edits of a file become
 * minimal CRDT edits that merge with a concurrent edit of another field. */
#include "test.h"

#include "diaryx/bodydoc.h"
#include "diaryx/fs.h"
#include "diaryx/materialize.h"
#include "diaryx/wsdoc.h"

#define NFILES 4
static const char *const PATHS[NFILES] = {"README.md", "notes/notes.md", "notes/idea.md",
                                          "notes/deep/deep.md"};
static const char *const FILES[NFILES] = {
    "---\ntitle: My Journal\ncontents:\n- \"[Notes](/notes/notes.md)\"\naudience:\n- family\n"
    "description: A diaryx workspace\n---\n\n# My Journal\n",
    "---\ntitle: Notes\npart_of: \"[My Journal](/README.md)\"\ncontents:\n- "
    "\"[Idea](/notes/idea.md)\"\n- \"[Deep](/notes/deep/deep.md)\"\n---\n\n# Notes\n",
    "---\ntitle: Idea\npart_of: \"[Notes](/notes/notes.md)\"\nattachments:\n- "
    "\"[Pic](/notes/pic.png)\"\ntags: [a, b]\ncreated: \"2024-01-15\"\nmeta: {num: 1, ok: true}\n"
    "---\nBody with ünïcode 🎉\nsecond line\n",
    "---\ntitle: Deep\npart_of: \"[Notes](/notes/notes.md)\"\ncontents: []\n---\n"};

static y_doc *new_doc(uint64_t c)
{
    y_doc_options o = Y_DOC_OPTIONS_INIT;
    o.client_id = c;
    o.has_client_id = true;
    y_doc *d = NULL;
    y_doc_new(&d, &o);
    return d;
}

/* Two passes, as an import does: create every entry at its path, then ingest each file. */
static void import(y_doc *ws, y_doc **bodies, char ids[NFILES][DX_UUID_LEN + 1])
{
    dx_error err = DX_ERROR_INIT;
    for (int i = 0; i < NFILES; i++) {
        dx_entry e = DX_ENTRY_INIT;
        e.filename = strdup(PATHS[i]);
        CHECK_EQ_INT(dx_wsdoc_put(ws, &e, &err), 0);
        snprintf(ids[i], DX_UUID_LEN + 1, "%s", e.id);
        dx_entry_release(&e);
    }
    for (int i = 0; i < NFILES; i++) {
        int rc = dx_ingest_entry(ws, ids[i], PATHS[i], FILES[i], strlen(FILES[i]), bodies[i],
                                 DX_LINK_MARKDOWN_ROOT, &err);
        if (rc)
            TEST_FAILF("ingest %s: %s", PATHS[i], err.msg);
    }
}

TEST(test_ingest_then_materialize_gives_the_same_bytes)
{
    y_doc *ws = new_doc(1), *bodies[NFILES];
    for (int i = 0; i < NFILES; i++)
        bodies[i] = new_doc(10 + (uint64_t)i);
    char ids[NFILES][DX_UUID_LEN + 1];
    import(ws, bodies, ids);
    for (int i = 0; i < NFILES; i++) {
        dx_buf path = DX_BUF_INIT, bytes = DX_BUF_INIT, again = DX_BUF_INIT, p2 = DX_BUF_INIT;
        dx_error err = DX_ERROR_INIT;
        CHECK_EQ_INT(
            dx_materialize_entry(ws, ids[i], bodies[i], DX_LINK_MARKDOWN_ROOT, &path, &bytes, &err),
            0);
        CHECK_EQ_STR(dx_buf_cstr(&path), PATHS[i]);
        CHECK_EQ_STR(dx_buf_cstr(&bytes), FILES[i]);
        /* Rendering twice gives identical bytes. */
        dx_materialize_entry(ws, ids[i], bodies[i], DX_LINK_MARKDOWN_ROOT, &p2, &again, &err);
        CHECK_EQ_STR(dx_buf_cstr(&again), dx_buf_cstr(&bytes));
        dx_buf_release(&path);
        dx_buf_release(&bytes);
        dx_buf_release(&again);
        dx_buf_release(&p2);
    }
    /* Ingesting an unchanged file writes nothing. */
    uint8_t *before = NULL, *after = NULL;
    size_t nb, na;
    y_encode_state_vector(ws, &before, &nb);
    dx_error err = DX_ERROR_INIT;
    CHECK_EQ_INT(dx_ingest_entry(ws, ids[2], PATHS[2], FILES[2], strlen(FILES[2]), bodies[2],
                                 DX_LINK_MARKDOWN_ROOT, &err),
                 0);
    y_encode_state_vector(ws, &after, &na);
    CHECK_EQ_MEM(before, nb, after, na);
    y_free(before);
    y_free(after);
    y_doc_free(ws);
    for (int i = 0; i < NFILES; i++)
        y_doc_free(bodies[i]);
}

TEST(test_ingest_refuses_bad_yaml_and_keeps_unlinkable_keys_verbatim)
{
    y_doc *ws = new_doc(2), *bodies[NFILES];
    for (int i = 0; i < NFILES; i++)
        bodies[i] = new_doc(20 + (uint64_t)i);
    char ids[NFILES][DX_UUID_LEN + 1];
    import(ws, bodies, ids);
    uint8_t *before = NULL, *after = NULL;
    size_t nb, na;
    y_encode_state_vector(ws, &before, &nb);
    dx_error err = DX_ERROR_INIT;
    const char *bad_yaml = "---\ntitle: [broken\n---\n";
    CHECK_EQ_INT(dx_ingest_entry(ws, ids[2], PATHS[2], bad_yaml, strlen(bad_yaml), bodies[2],
                                 DX_LINK_MARKDOWN_ROOT, &err),
                 DX_EPARSE);
    y_encode_state_vector(ws, &after, &na);
    CHECK_EQ_MEM(before, nb, after, na);
    y_free(before);
    y_free(after);
    /* Links the schema cannot hold as ids are kept verbatim: a part_of to no entry, a
     * contents link to no entry, a parent whose directory does not hold the file. */
    const char *dangling = "---\ntitle: X\npart_of: \"[Gone](/gone.md)\"\ncontents:\n- "
                           "\"[Idea](/notes/idea.md)\"\n- \"[Nope](/nope.md)\"\n---\nbody\n";
    CHECK_EQ_INT(dx_ingest_entry(ws, ids[2], PATHS[2], dangling, strlen(dangling), bodies[2],
                                 DX_LINK_MARKDOWN_ROOT, &err),
                 0);
    dx_buf path = DX_BUF_INIT, bytes = DX_BUF_INIT;
    CHECK_EQ_INT(
        dx_materialize_entry(ws, ids[2], bodies[2], DX_LINK_MARKDOWN_ROOT, &path, &bytes, &err), 0);
    CHECK_EQ_STR(path.data, "notes/idea.md");
    CHECK_EQ_STR(bytes.data, "---\ntitle: X\npart_of: \"[Gone](/gone.md)\"\ncontents:\n- "
                             "\"[Idea](/notes/idea.md)\"\n- \"[Nope](/nope.md)\"\n---\nbody\n");
    const char *elsewhere = "---\ntitle: X\npart_of: \"[Notes](/notes/notes.md)\"\n---\n";
    char nid[DX_UUID_LEN + 1] = "";
    CHECK_EQ_INT(dx_ingest_entry(ws, nid, "other/x.md", elsewhere, strlen(elsewhere), NULL,
                                 DX_LINK_MARKDOWN_ROOT, &err),
                 0);
    dx_buf_reset(&path);
    dx_buf_reset(&bytes);
    CHECK_EQ_INT(dx_materialize_entry(ws, nid, NULL, DX_LINK_MARKDOWN_ROOT, &path, &bytes, &err),
                 0);
    CHECK_EQ_STR(path.data, "other/x.md");
    CHECK_EQ_STR(bytes.data, elsewhere);
    dx_buf_release(&path);
    dx_buf_release(&bytes);
    y_doc_free(ws);
    for (int i = 0; i < NFILES; i++)
        y_doc_free(bodies[i]);
}

/* A file edited in an editor (new title, new tag) on one replica while another replica
 * changes the description: both edits survive. */
TEST(test_external_edit_merges_with_a_concurrent_field_edit)
{
    y_doc *ws = new_doc(3), *bodies[NFILES];
    for (int i = 0; i < NFILES; i++)
        bodies[i] = new_doc(30 + (uint64_t)i);
    char ids[NFILES][DX_UUID_LEN + 1];
    import(ws, bodies, ids);
    y_doc *other = new_doc(4);
    uint8_t *u = NULL;
    size_t n = 0;
    y_encode_state_as_update(ws, NULL, 0, &u, &n);
    y_apply_update(other, u, n, NULL);
    y_free(u);
    dx_error err = DX_ERROR_INIT;
    CHECK_EQ_INT(dx_wsdoc_set_field(other, ids[2], "description", "from the other replica", &err),
                 0);
    const char *edited =
        "---\ntitle: Better Idea\npart_of: \"[Notes](/notes/notes.md)\"\nattachments:\n- "
        "\"[Pic](/notes/pic.png)\"\ntags: [a, b, c]\ncreated: \"2024-01-15\"\nmeta: {num: 1, ok: "
        "true}\n---\nBody with ünïcode 🎉\nsecond line\n";
    CHECK_EQ_INT(dx_ingest_entry(ws, ids[2], PATHS[2], edited, strlen(edited), bodies[2],
                                 DX_LINK_MARKDOWN_ROOT, &err),
                 0);
    uint8_t *a = NULL, *b = NULL;
    size_t na = 0, nb = 0;
    y_encode_state_as_update(ws, NULL, 0, &a, &na);
    y_encode_state_as_update(other, NULL, 0, &b, &nb);
    y_apply_update(other, a, na, NULL);
    y_apply_update(ws, b, nb, NULL);
    y_free(a);
    y_free(b);
    dx_buf path = DX_BUF_INIT, bytes = DX_BUF_INIT;
    CHECK_EQ_INT(
        dx_materialize_entry(ws, ids[2], bodies[2], DX_LINK_MARKDOWN_ROOT, &path, &bytes, &err), 0);
    CHECK(strstr(dx_buf_cstr(&bytes), "title: Better Idea\n") != NULL);
    CHECK(strstr(dx_buf_cstr(&bytes), "description: from the other replica\n") != NULL);
    CHECK(strstr(dx_buf_cstr(&bytes), "tags: [a, b, c]\n") != NULL);
    dx_buf_release(&path);
    dx_buf_release(&bytes);
    y_doc_free(other);
    y_doc_free(ws);
    for (int i = 0; i < NFILES; i++)
        y_doc_free(bodies[i]);
}

static y_doc **g_bodies;
static char (*g_ids)[DX_UUID_LEN + 1];

static y_doc *body_of(void *user, const char *id)
{
    (void)user;
    for (int i = 0; i < NFILES; i++)
        if (!strcmp(g_ids[i], id))
            return g_bodies[i];
    return NULL;
}

TEST(test_materialize_to_dir_writes_only_changed_files)
{
    y_doc *ws = new_doc(5), *bodies[NFILES];
    for (int i = 0; i < NFILES; i++)
        bodies[i] = new_doc(50 + (uint64_t)i);
    char ids[NFILES][DX_UUID_LEN + 1];
    import(ws, bodies, ids);
    g_bodies = bodies;
    g_ids = ids;
    char dir[] = "/tmp/dx-mat-XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    dx_error err = DX_ERROR_INIT;
    size_t written = 0;
    CHECK_EQ_INT(
        dx_materialize_to_dir(ws, body_of, NULL, DX_LINK_MARKDOWN_ROOT, dir, &written, &err), 0);
    CHECK_EQ_INT(written, NFILES);
    for (int i = 0; i < NFILES; i++) {
        char path[256];
        snprintf(path, sizeof path, "%s/%s", dir, PATHS[i]);
        dx_buf b = DX_BUF_INIT;
        CHECK_EQ_INT(dx_file_read(path, &b, &err), 0);
        CHECK_EQ_STR(dx_buf_cstr(&b), FILES[i]);
        dx_buf_release(&b);
    }
    CHECK_EQ_INT(
        dx_materialize_to_dir(ws, body_of, NULL, DX_LINK_MARKDOWN_ROOT, dir, &written, &err), 0);
    CHECK_EQ_INT(written, 0); /* nothing changed, nothing rewritten */
    CHECK_EQ_INT(dx_body_set(bodies[2], "new body\n", 9, &err), 0);
    CHECK_EQ_INT(
        dx_materialize_to_dir(ws, body_of, NULL, DX_LINK_MARKDOWN_ROOT, dir, &written, &err), 0);
    CHECK_EQ_INT(written, 1); /* only the edited entry */
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    CHECK_EQ_INT(system(cmd), 0);
    y_doc_free(ws);
    for (int i = 0; i < NFILES; i++)
        y_doc_free(bodies[i]);
}

int main(void)
{
    RUN(test_ingest_then_materialize_gives_the_same_bytes);
    RUN(test_ingest_refuses_bad_yaml_and_keeps_unlinkable_keys_verbatim);
    RUN(test_external_edit_merges_with_a_concurrent_field_edit);
    RUN(test_materialize_to_dir_writes_only_changed_files);
    return TEST_REPORT();
}
