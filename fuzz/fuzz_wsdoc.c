/* fuzz_wsdoc.c - a workspace document from a hostile peer: any update that ycrdt accepts is
 * applied to a workspace document, and every entry it holds is read, has its path derived
 * both ways, and is rendered as a file, twice, to the same bytes. Nothing may crash, leak or
 * disagree: the server will do exactly this with what clients send. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "diaryx/materialize.h"
#include "diaryx/wsdoc.h"

static y_doc *doc(uint64_t client)
{
    y_doc_options o = Y_DOC_OPTIONS_INIT;
    o.client_id = client;
    o.has_client_id = true;
    y_doc *d = NULL;
    if (y_doc_new(&d, &o) != Y_OK)
        abort();
    return d;
}

typedef struct walk {
    y_doc *ws;
    size_t n;
} walk;

/* dx_wsdoc_each_path must derive what dx_wsdoc_path derives. */
static int check_path(void *ud, const char *id, const char *path)
{
    walk *w = ud;
    dx_buf p = DX_BUF_INIT;
    if (dx_wsdoc_path(w->ws, id, &p, NULL) == 0 && strcmp(p.data, path) != 0)
        abort();
    dx_buf_release(&p);
    w->n++;
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    y_doc *ws = doc(1), *body = doc(2);
    if (y_apply_update(ws, data, size, NULL) != Y_OK)
        goto done;
    dx_strlist ids = DX_STRLIST_INIT;
    if (dx_wsdoc_ids(ws, &ids, NULL) != 0)
        goto done_ids;
    for (size_t i = 0; i < ids.len; i++) {
        dx_entry e = DX_ENTRY_INIT;
        if (dx_wsdoc_get(ws, ids.items[i], &e, NULL) == 0 && e.extra_json &&
            dx_wsdoc_set_field(ws, ids.items[i], "extra", e.extra_json, NULL) == 0) {
            /* What was read writes back to the same keys and values (a peer's form may be
             * normalised once), and a second write is a fixed point: no update at all. */
            dx_entry again = DX_ENTRY_INIT;
            if (dx_wsdoc_get(ws, ids.items[i], &again, NULL) != 0 || !again.extra_json ||
                strcmp(again.extra_json, e.extra_json) != 0)
                abort();
            uint8_t *sv = NULL, *sv2 = NULL;
            size_t n1, n2;
            if (y_encode_state_vector(ws, &sv, &n1) != Y_OK ||
                dx_wsdoc_set_field(ws, ids.items[i], "extra", again.extra_json, NULL) != 0 ||
                y_encode_state_vector(ws, &sv2, &n2) != Y_OK || n1 != n2 || memcmp(sv, sv2, n1))
                abort();
            y_free(sv);
            y_free(sv2);
            dx_entry_release(&again);
        }
        dx_entry_release(&e);
        dx_buf p1 = DX_BUF_INIT, b1 = DX_BUF_INIT, p2 = DX_BUF_INIT, b2 = DX_BUF_INIT;
        int r1 =
            dx_materialize_entry(ws, ids.items[i], body, DX_LINK_MARKDOWN_ROOT, &p1, &b1, NULL);
        int r2 =
            dx_materialize_entry(ws, ids.items[i], body, DX_LINK_MARKDOWN_ROOT, &p2, &b2, NULL);
        if (r1 != r2 || (!r1 && (strcmp(p1.data, p2.data) || b1.len != b2.len ||
                                 memcmp(b1.data, b2.data, b1.len))))
            abort();
        dx_buf_release(&p1);
        dx_buf_release(&b1);
        dx_buf_release(&p2);
        dx_buf_release(&b2);
    }
    walk w = {ws, 0};
    dx_wsdoc_each_path(ws, check_path, &w, NULL);
done_ids:
    dx_strlist_release(&ids);
done:
    y_doc_free(ws);
    y_doc_free(body);
    return 0;
}
