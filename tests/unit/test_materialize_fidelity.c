/* test_materialize_fidelity.c - what a file says survives the CRDT: frontmatter values the
 * schema cannot hold (wrong YAML kind, tags, numbers, dates, nulls) are kept as written,
 * and a CRLF file stays CRLF while its body document holds LF. Every case is checked for
 * the exact bytes, for the fixed point (ingesting the rendered file changes nothing) and
 * after the workspace and body documents travel to another peer as updates. */
#include "test.h"

#include "diaryx/bodydoc.h"
#include "diaryx/materialize.h"
#include "diaryx/wsdoc.h"

static y_doc *new_doc(uint64_t c)
{
    y_doc_options o = Y_DOC_OPTIONS_INIT;
    o.client_id = c;
    o.has_client_id = true;
    y_doc *d = NULL;
    y_doc_new(&d, &o);
    return d;
}

/* A workspace with a root index and notes/notes.md, which the cases can link to. */
static y_doc *workspace(void)
{
    static const char *const paths[] = {"README.md", "notes/notes.md"};
    static const char *const files[] = {
        "---\ntitle: Home\ncontents:\n- \"[Notes](/notes/notes.md)\"\n---\n",
        "---\ntitle: Notes\npart_of: \"[Home](/README.md)\"\ncontents: []\n---\n"};
    y_doc *ws = new_doc(1);
    dx_error err = DX_ERROR_INIT;
    char ids[2][DX_UUID_LEN + 1];
    for (int i = 0; i < 2; i++) {
        dx_entry e = DX_ENTRY_INIT;
        e.filename = strdup(paths[i]);
        CHECK_EQ_INT(dx_wsdoc_put(ws, &e, &err), 0);
        snprintf(ids[i], sizeof ids[i], "%s", e.id);
        dx_entry_release(&e);
    }
    for (int i = 0; i < 2; i++)
        CHECK_EQ_INT(dx_ingest_entry(ws, ids[i], paths[i], files[i], strlen(files[i]), NULL,
                                     DX_LINK_MARKDOWN_ROOT, &err),
                     0);
    return ws;
}

/* A copy of doc made from its state as an update (what another peer receives). */
static y_doc *peer_copy(const y_doc *doc, uint64_t client)
{
    uint8_t *u = NULL;
    size_t n = 0;
    y_doc *copy = new_doc(client);
    CHECK_EQ_INT(y_encode_state_as_update(doc, NULL, 0, &u, &n), 0);
    CHECK_EQ_INT(y_apply_update(copy, u, n, NULL), 0);
    y_free(u);
    return copy;
}

/* Ingest input as notes/case.md; it must render as expected, be a fixed point, and render
 * the same on a peer. */
static void round_trip(const char *input, const char *expected)
{
    y_doc *ws = workspace(), *body = new_doc(2);
    dx_error err = DX_ERROR_INIT;
    char id[DX_UUID_LEN + 1] = "";
    dx_buf path = DX_BUF_INIT, bytes = DX_BUF_INIT, again = DX_BUF_INIT;
    if (dx_ingest_entry(ws, id, "notes/case.md", input, strlen(input), body, DX_LINK_MARKDOWN_ROOT,
                        &err) != 0) {
        TEST_FAILF("ingest of <<%s>>: %s", input, err.msg);
        goto done;
    }
    CHECK_EQ_INT(dx_materialize_entry(ws, id, body, DX_LINK_MARKDOWN_ROOT, &path, &bytes, &err), 0);
    CHECK_EQ_STR(dx_buf_cstr(&bytes), expected);
    /* The rendered file goes back in without any change to the documents. */
    uint8_t *sv = NULL, *sv2 = NULL;
    size_t n1 = 0, n2 = 0;
    y_encode_state_vector(ws, &sv, &n1);
    CHECK_EQ_INT(dx_ingest_entry(ws, id, path.data, bytes.data, bytes.len, body,
                                 DX_LINK_MARKDOWN_ROOT, &err),
                 0);
    y_encode_state_vector(ws, &sv2, &n2);
    if (n1 != n2 || memcmp(sv, sv2, n1) != 0)
        TEST_FAILF("ingesting the rendered <<%s>> changed the workspace document", bytes.data);
    y_free(sv);
    y_free(sv2);
    /* Another peer renders the same bytes from the same state. */
    y_doc *ws2 = peer_copy(ws, 3), *body2 = peer_copy(body, 4);
    dx_buf_reset(&path);
    CHECK_EQ_INT(dx_materialize_entry(ws2, id, body2, DX_LINK_MARKDOWN_ROOT, &path, &again, &err),
                 0);
    CHECK_EQ_STR(dx_buf_cstr(&again), dx_buf_cstr(&bytes));
    y_doc_free(ws2);
    y_doc_free(body2);
done:
    dx_buf_release(&path);
    dx_buf_release(&bytes);
    dx_buf_release(&again);
    y_doc_free(ws);
    y_doc_free(body);
}

/* A note with the given frontmatter lines and a short body. */
static void keeps(const char *yaml)
{
    char text[1024];
    snprintf(text, sizeof text, "---\n%s\n---\nbody\n", yaml);
    round_trip(text, text);
}

static void becomes(const char *yaml, const char *want)
{
    char text[1024], expected[1024];
    snprintf(text, sizeof text, "---\n%s\n---\nbody\n", yaml);
    snprintf(expected, sizeof expected, "---\n%s\n---\nbody\n", want);
    round_trip(text, expected);
}

TEST(test_known_keys_with_values_of_another_kind_are_kept_as_written)
{
    /* title and description are strings: anything else stays as it was. */
    keeps("title: 12");
    keeps("title: 1.50");
    keeps("title: true");
    keeps("title: ~");
    keeps("title:");
    becomes("title: [a, b]", "title:\n- a\n- b"); /* a list of strings, as diaryx writes lists */
    keeps("title: {a: b}");
    keeps("title: !!binary aGVsbG8=");
    keeps("title: !!str 12");
    keeps("title: 2024-01-15");
    keeps("title: T\ndescription: yes");
    keeps("title: T\ndescription: 0x1F");
    /* A multi-line string is a string: held in the schema, written as a literal block. */
    keeps("title: |\n  two\n  lines\ndescription: |-\n  no\n  final newline");
    becomes("title: T\ndescription: |-\n  one line", "title: T\ndescription: one line");
    becomes("title: >\n  folded\n  text", "title: |\n  folded text");
    /* part_of is one link. */
    keeps("title: T\npart_of: 12");
    keeps("title: T\npart_of: {a: b}");
    keeps("title: T\npart_of:");
    keeps("title: T\npart_of: !link \"[Notes](/notes/notes.md)\"");
    becomes("title: T\npart_of: [\"[Notes](/notes/notes.md)\"]",
            "title: T\npart_of:\n- \"[Notes](/notes/notes.md)\"");
    /* contents, audience and attachments are lists of strings. */
    keeps("title: T\ncontents: {a: b}");
    keeps("title: T\ncontents:");
    keeps("title: T\ncontents: \"[Notes](/notes/notes.md)\"");
    keeps("title: T\ncontents: [12]");
    keeps("title: T\ncontents: !set [a]");
    becomes("title: T\ncontents:\n- [a]", "title: T\ncontents: [[a]]");
    keeps("title: T\naudience: public");
    keeps("title: T\naudience: [1, yes]");
    keeps("title: T\naudience:");
    keeps("title: T\nattachments: []");
    keeps("title: T\nattachments: pic.png");
    keeps("title: T\nattachments: {a: b}");
}

TEST(test_other_keys_keep_tags_numbers_dates_and_nulls)
{
    keeps("title: T\nx: !custom foo");
    keeps("title: T\ny: !!binary aGVsbG8=");
    keeps("title: T\nz: !t [a, !u b, !v \"\"]");
    keeps("title: T\nm: !!set {a: null}");
    keeps("title: T\ne: !e");
    keeps("title: T\nv: !<tag:example.com%2C2000:a%20b> 1");
    becomes("title: T\nw: !<tag:example.com,2000:x> 1",
            "title: T\nw: !<tag:example.com%2C2000:x> 1");
    becomes("title: T\no: !!omap\n  - a: 1", "title: T\no: !!omap [{a: 1}]");
    keeps("title: T\nf: 1.50");
    keeps("title: T\nh: 0x1F");
    keeps("title: T\nbig: 99999999999999999999");
    keeps("title: T\nd: 2024-01-15");
    keeps("title: T\nq: yes");
    keeps("title: T\nn:");
    keeps("title: T\nt: ~");
    keeps("title: T\nk: {1: a, b: c}");
    keeps("title: T\ndup: {a: 1, a: 2}");
    keeps("title: T\nc: {$yaml: x}");
    keeps("title: T\nl: |\n  multi\n  line");
    /* Values JSON holds exactly go through as JSON (in diaryx's canonical style). */
    keeps("title: T\ntags: [a, b]\nn: 12\nr: 1.5\nok: true\nnull_value: null");
    becomes("title: T\ns: 'single'\nb:\n- x\n- 'y'", "title: T\ns: single\nb: [x, \"y\"]");
    /* Anchors are expanded: the values stay, the anchor names do not. */
    becomes("title: T\na: &x foo\nb: *x", "title: T\na: foo\nb: foo");
    becomes("title: &t Same\ndescription: *t", "title: Same\ndescription: Same");
}

TEST(test_a_tagged_key_is_refused_and_changes_nothing)
{
    y_doc *ws = workspace();
    dx_error err = DX_ERROR_INIT;
    char id[DX_UUID_LEN + 1] = "";
    uint8_t *sv = NULL, *sv2 = NULL;
    size_t n1 = 0, n2 = 0;
    y_encode_state_vector(ws, &sv, &n1);
    const char *text = "---\n!t key: v\n---\n";
    CHECK_EQ_INT(dx_ingest_entry(ws, id, "notes/t.md", text, strlen(text), NULL,
                                 DX_LINK_MARKDOWN_ROOT, &err),
                 DX_EPARSE);
    CHECK(strstr(err.msg, "'key' has a tag") != NULL);
    y_encode_state_vector(ws, &sv2, &n2);
    CHECK_EQ_MEM(sv, n1, sv2, n2);
    y_free(sv);
    y_free(sv2);
    y_doc_free(ws);
}

TEST(test_a_crlf_note_stays_crlf_and_its_body_document_holds_lf)
{
    const char *crlf = "---\r\ntitle: T\r\nl: |\r\n  a\r\n  b\r\n---\r\nline one\r\nline two\r\n";
    round_trip(crlf, crlf);
    /* A note without frontmatter, and one with a stray LF: written with CRLF throughout. */
    round_trip("no frontmatter\r\nsecond\r\n", "no frontmatter\r\nsecond\r\n");
    round_trip("---\r\ntitle: T\r\n---\r\na\nb\r\n", "---\r\ntitle: T\r\n---\r\na\r\nb\r\n");
    /* A note without keys keeps the empty block that says what its ending is. */
    round_trip("---\n---\nbody\r\nx\n", "---\n---\nbody\r\nx\n");
    round_trip("---\r\n---\r\nno line break", "---\r\n---\r\nno line break");
    round_trip("---\r\n---\r\n", "---\r\n---\r\n");
    /* An LF note keeps a CR LF that is part of its body. */
    round_trip("---\ntitle: T\n---\na\r\nb\n", "---\ntitle: T\n---\na\r\nb\n");

    y_doc *ws = workspace(), *body = new_doc(2);
    dx_error err = DX_ERROR_INIT;
    char id[DX_UUID_LEN + 1] = "";
    dx_buf text = DX_BUF_INIT, path = DX_BUF_INIT, bytes = DX_BUF_INIT;
    CHECK_EQ_INT(dx_ingest_entry(ws, id, "notes/c.md", crlf, strlen(crlf), body,
                                 DX_LINK_MARKDOWN_ROOT, &err),
                 0);
    CHECK_EQ_INT(dx_body_get(body, &text, &err), 0);
    CHECK_EQ_STR(dx_buf_cstr(&text), "line one\nline two\n");
    dx_entry e = DX_ENTRY_INIT;
    CHECK_EQ_INT(dx_wsdoc_get(ws, id, &e, &err), 0);
    CHECK(e.crlf);
    dx_entry_release(&e);
    /* A line added to the body document (by any peer) is written with CRLF too. */
    dx_buf_puts(&text, "added\n");
    CHECK_EQ_INT(dx_body_set(body, text.data, text.len, &err), 0);
    y_doc *ws2 = peer_copy(ws, 5), *body2 = peer_copy(body, 6);
    CHECK_EQ_INT(dx_materialize_entry(ws2, id, body2, DX_LINK_MARKDOWN_ROOT, &path, &bytes, &err),
                 0);
    CHECK_EQ_STR(
        dx_buf_cstr(&bytes),
        "---\r\ntitle: T\r\nl: |\r\n  a\r\n  b\r\n---\r\nline one\r\nline two\r\nadded\r\n");
    y_doc_free(ws2);
    y_doc_free(body2);
    dx_buf_release(&text);
    dx_buf_release(&path);
    dx_buf_release(&bytes);
    y_doc_free(ws);
    y_doc_free(body);
}

int main(void)
{
    RUN(test_known_keys_with_values_of_another_kind_are_kept_as_written);
    RUN(test_other_keys_keep_tags_numbers_dates_and_nulls);
    RUN(test_a_tagged_key_is_refused_and_changes_nothing);
    RUN(test_a_crlf_note_stays_crlf_and_its_body_document_holds_lf);
    return TEST_REPORT();
}
