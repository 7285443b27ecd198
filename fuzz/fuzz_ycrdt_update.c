/* fuzz_ycrdt_update.c - arbitrary bytes as a v1 update: validate, state vector and diff
 * without a doc, apply to a doc that already holds content, then re-encode and apply the result to
 * a fresh doc, which must reach the same state. No crash, leak or hang on any input. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ycrdt.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint8_t *sv = NULL;
    size_t nsv = 0;
    int valid = y_update_validate(data, size) == Y_OK;
    if (y_state_vector_from_update(data, size, &sv, &nsv) == Y_OK && !valid)
        abort(); /* the doc-free reader must not be laxer than the validator */
    y_free(sv);
    /* A doc-free diff of a valid update is a valid update again. */
    static const uint8_t some_sv[] = {2, 1, 3, 2, 1};
    uint8_t *diff = NULL;
    size_t ndiff = 0;
    if (y_diff_update(data, size, some_sv, sizeof some_sv, &diff, &ndiff) == Y_OK &&
        y_update_validate(diff, ndiff) != Y_OK)
        abort();
    y_free(diff);

    y_doc_options o = Y_DOC_OPTIONS_INIT;
    o.client_id = 1;
    o.has_client_id = true;
    y_doc *d = NULL;
    if (y_doc_new(&d, &o) != Y_OK)
        return 0;
    y_text_insert(y_doc_get_text(d, "t"), 0, "seed text", 9, NULL);
    y_any v = y_any_number(1);
    y_map_set(y_doc_get_map(d, "m"), "k", &v);
    int rc = y_apply_update(d, data, size, NULL);
    if (valid != (rc != Y_EDECODE))
        abort();
    uint8_t *state = NULL;
    size_t n = 0;
    if (y_encode_state_as_update(d, NULL, 0, &state, &n) == Y_OK) {
        y_doc *copy = NULL;
        o.client_id = 2;
        if (y_doc_new(&copy, &o) == Y_OK) {
            if (y_apply_update(copy, state, n, NULL) != Y_OK)
                abort(); /* our own output always decodes */
            y_doc_free(copy);
        }
        y_free(state);
    }
    y_doc_free(d);
    return 0;
}
