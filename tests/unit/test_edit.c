/* test_edit.c - the editing API over a workspace's documents, with no directory and no store:
 * two peers (in-memory documents) edit bodies as CRDT operations and converge; bad input is
 * refused before anything changes. */
#include "test.h"

#include <stdlib.h>

#include "diaryx/bodydoc.h"
#include "diaryx/edit.h"
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

int main(void)
{
    RUN(test_edit_appends_on_two_peers_both_survive);
    RUN(test_edit_line_rules_of_append_and_prepend);
    RUN(test_edit_refuses_unknown_entries_and_bad_text);
    return TEST_REPORT();
}
