/* test_ycrdt_b4.c - the B4 trace (tests/data/automerge-paper.json.gz: 259,778 edits of a
 * LaTeX paper, one transaction each, client 12345) must give exactly the state update yjs
 * 13.6.33 gives. The expected
 * SHA-256 was produced with `node bench/node/b4.mjs` (the real yjs, same client id). */
#include "test.h"

#include <jansson.h>
#include <openssl/evp.h>

#include "ycrdt.h"

#define YJS_B4_SIZE   245320
#define YJS_B4_SHA256 "f42b1d1d22d452a971e4d0e4676507ae1957673623abcc00db9b3b4a8bfbf3f7"

TEST(test_b4_trace_gives_yjs_bytes)
{
    const char *src = getenv("DX_SOURCE_DIR");
    char cmd[4200];
    snprintf(cmd, sizeof cmd, "gzip -dc '%s/tests/data/automerge-paper.json.gz'", src ? src : ".");
    FILE *f = popen(cmd, "r");
    json_error_t je;
    json_t *root = f ? json_loadf(f, 0, &je) : NULL;
    if (f)
        pclose(f);
    if (!root) {
        TEST_FAILF("cannot read the B4 trace tests/data/automerge-paper.json.gz (set "
                   "DX_SOURCE_DIR to the source tree)");
        return;
    }
    json_t *txns = json_object_get(root, "txns");
    y_doc_options o = Y_DOC_OPTIONS_INIT;
    o.client_id = 12345;
    o.has_client_id = true;
    y_doc *d = NULL;
    CHECK_EQ_INT(y_doc_new(&d, &o), Y_OK);
    y_type *t = y_doc_get_text(d, "text");
    size_t n = json_array_size(txns), failures = 0;
    for (size_t i = 0; i < n; i++) {
        json_t *p = json_array_get(json_object_get(json_array_get(txns, i), "patches"), 0);
        uint32_t pos = (uint32_t)json_integer_value(json_array_get(p, 0));
        uint32_t del = (uint32_t)json_integer_value(json_array_get(p, 1));
        const char *ins = json_string_value(json_array_get(p, 2));
        y_doc_begin(d, NULL);
        if (del)
            failures += y_text_delete(t, pos, del) != Y_OK;
        if (*ins)
            failures += y_text_insert(t, pos, ins, strlen(ins), NULL) != Y_OK;
        y_doc_commit(d);
    }
    CHECK_EQ_INT(failures, 0);
    char *text = NULL;
    y_text_string(t, &text, NULL);
    CHECK_EQ_STR(text, json_string_value(json_object_get(root, "endContent")));
    uint8_t *state = NULL;
    size_t len = 0;
    CHECK_EQ_INT(y_encode_state_as_update(d, NULL, 0, &state, &len), Y_OK);
    CHECK_EQ_INT(len, YJS_B4_SIZE);
    unsigned char md[32];
    unsigned int mdlen = 0;
    EVP_Digest(state, len, md, &mdlen, EVP_sha256(), NULL);
    char hex[65];
    for (int i = 0; i < 32; i++)
        sprintf(hex + 2 * i, "%02x", md[i]);
    CHECK_EQ_STR(hex, YJS_B4_SHA256);
    /* The state loads into a fresh doc and re-encodes to the same bytes. */
    y_doc *copy = NULL;
    o.client_id = 1;
    y_doc_new(&copy, &o);
    CHECK_EQ_INT(y_apply_update(copy, state, len, NULL), Y_OK);
    uint8_t *again = NULL;
    size_t again_len = 0;
    y_encode_state_as_update(copy, NULL, 0, &again, &again_len);
    CHECK_EQ_MEM(again, again_len, state, len);
    y_free(again);
    y_free(state);
    y_free(text);
    y_doc_free(copy);
    y_doc_free(d);
    json_decref(root);
}

int main(void)
{
    RUN(test_b4_trace_gives_yjs_bytes);
    return TEST_REPORT();
}
