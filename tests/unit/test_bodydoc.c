/* test_bodydoc.c - body documents: minimal diffs, UTF-16 offsets, merging with remote edits. */
#include "test.h"

#include "diaryx/bodydoc.h"

static y_doc *new_doc(uint64_t client)
{
    y_doc_options o = Y_DOC_OPTIONS_INIT;
    o.client_id = client;
    o.has_client_id = true;
    y_doc *d = NULL;
    return y_doc_new(&d, &o) == Y_OK ? d : NULL;
}

static void check_body(y_doc *d, const char *want)
{
    dx_buf b = DX_BUF_INIT;
    dx_error err = DX_ERROR_INIT;
    CHECK_EQ_INT(dx_body_get(d, &b, &err), 0);
    CHECK_EQ_STR(dx_buf_cstr(&b), want);
    dx_buf_release(&b);
}

static void set(y_doc *d, const char *s)
{
    dx_error err = DX_ERROR_INIT;
    CHECK_EQ_INT(dx_body_set(d, s, strlen(s), &err), 0);
    check_body(d, s);
}

static size_t last_update_len;
static int updates;
static void on_update(void *user, const uint8_t *u, size_t n, const void *origin)
{
    (void)user, (void)u, (void)origin;
    last_update_len = n;
    updates++;
}

TEST(test_body_set_reaches_every_target)
{
    y_doc *d = new_doc(1);
    const char *steps[] = {
        "",
        "# Title\n\nHello world\n",
        "# Title\n\nHello brave world\n",
        "# Title\n\nHello brave world\nSecond line\n",
        "Intro\n# Title\n\nHello brave world\nSecond line",
        "emoji 🎉 here\nand ünïcödé\n",
        "emoji 🎊 here\nand ünïcödé!\n",
        "𝄞𝄞𝄞\n𝄞x𝄞\n",
        "𝄞𝄞\n𝄞𝄞\n",
        "a\nb\nc\nd\ne\nf\n",
        "f\ne\nd\nc\nb\na\n",
        "",
        "no newline at end",
        "no newline at the end",
        "line1\r\nline2\r\n",
        "line1\r\nline 2\r\n",
    };
    for (size_t i = 0; i < sizeof steps / sizeof *steps; i++)
        set(d, steps[i]);
    y_doc_free(d);
}

TEST(test_body_unchanged_writes_nothing_and_small_edits_stay_small)
{
    y_doc *d = new_doc(2);
    dx_buf big = DX_BUF_INIT;
    for (int i = 0; i < 2000; i++)
        dx_buf_printf(&big, "line number %d of a long journal entry\n", i);
    set(d, big.data);
    CHECK(y_doc_on_update(d, on_update, NULL) >= 0);
    updates = 0;
    set(d, big.data);
    CHECK_EQ_INT(updates, 0);
    /* One character changed in the middle of a 2000-line body: a tiny update. */
    char *p = strstr(big.data, "line number 1000 ");
    p[5] = 'N';
    set(d, big.data);
    CHECK_EQ_INT(updates, 1);
    CHECK(last_update_len < 64);
    dx_buf_release(&big);
    y_doc_free(d);
}

TEST(test_body_edit_far_apart_is_two_small_edits)
{
    /* Every line differs at both ends: beyond the Myers bound the fallback still works. */
    y_doc *d = new_doc(3);
    dx_buf a = DX_BUF_INIT, b = DX_BUF_INIT;
    for (int i = 0; i < 4000; i++) {
        dx_buf_printf(&a, "a%d\n", i);
        dx_buf_printf(&b, "b%d\n", i);
    }
    set(d, a.data);
    set(d, b.data);
    dx_buf_release(&a);
    dx_buf_release(&b);
    y_doc_free(d);
}

TEST(test_body_invalid_utf8_is_refused)
{
    y_doc *d = new_doc(4);
    set(d, "valid\n");
    dx_error err = DX_ERROR_INIT;
    CHECK(dx_body_set(d, "bad \xff byte\n", 11, &err) < 0);
    check_body(d, "valid\n");
    y_doc_free(d);
}

/* The scenario of an external editor: a peer edits line 1 while the file on disk gets an
 * edit at line 3; applying the disk text as a diff keeps the peer's edit. */
TEST(test_body_external_edit_merges_with_remote_edit)
{
    y_doc *local = new_doc(10), *remote = new_doc(11);
    set(local, "first line\nsecond line\nthird line\n");
    uint8_t *u = NULL;
    size_t n = 0;
    CHECK_EQ_INT(y_encode_state_as_update(local, NULL, 0, &u, &n), Y_OK);
    CHECK_EQ_INT(y_apply_update(remote, u, n, NULL), Y_OK);
    y_free(u);

    set(remote, "FIRST line\nsecond line\nthird line\n");
    set(local, "first line\nsecond line\nthird line, edited in vim\n");

    uint8_t *ur = NULL, *ul = NULL;
    size_t nr = 0, nl = 0;
    CHECK_EQ_INT(y_encode_state_as_update(remote, NULL, 0, &ur, &nr), Y_OK);
    CHECK_EQ_INT(y_encode_state_as_update(local, NULL, 0, &ul, &nl), Y_OK);
    CHECK_EQ_INT(y_apply_update(local, ur, nr, NULL), Y_OK);
    CHECK_EQ_INT(y_apply_update(remote, ul, nl, NULL), Y_OK);
    y_free(ur);
    y_free(ul);
    check_body(local, "FIRST line\nsecond line\nthird line, edited in vim\n");
    check_body(remote, "FIRST line\nsecond line\nthird line, edited in vim\n");
    y_doc_free(local);
    y_doc_free(remote);
}

int main(void)
{
    RUN(test_body_set_reaches_every_target);
    RUN(test_body_unchanged_writes_nothing_and_small_edits_stay_small);
    RUN(test_body_edit_far_apart_is_two_small_edits);
    RUN(test_body_invalid_utf8_is_refused);
    RUN(test_body_external_edit_merges_with_remote_edit);
    return TEST_REPORT();
}
