/* fuzz_ingest.c - any file taken into the CRDT (ingest) must render (materialize), and the
 * rendered file must be a fixed point: ingesting it changes nothing and renders the same
 * bytes. The workspace holds a root index and a notes index the input can link to. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "diaryx/bodydoc.h"
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

static void must(int rc)
{
    if (rc)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const paths[] = {"README.md", "notes/notes.md"};
    static const char *const files[] = {
        "---\ntitle: Home\ncontents:\n- \"[Notes](/notes/notes.md)\"\n---\n",
        "---\ntitle: Notes\npart_of: \"[Home](/README.md)\"\ncontents: []\n---\n"};
    y_doc *ws = doc(1), *body = doc(2);
    dx_error err = DX_ERROR_INIT;
    char ids[2][DX_UUID_LEN + 1], id[DX_UUID_LEN + 1] = "";
    for (int i = 0; i < 2; i++) {
        dx_entry e = DX_ENTRY_INIT;
        e.filename = strdup(paths[i]);
        must(dx_wsdoc_put(ws, &e, &err));
        memcpy(ids[i], e.id, sizeof ids[i]);
        dx_entry_release(&e);
    }
    for (int i = 0; i < 2; i++)
        must(dx_ingest_entry(ws, ids[i], paths[i], files[i], strlen(files[i]), NULL,
                             DX_LINK_MARKDOWN_ROOT, &err));
    dx_buf path = DX_BUF_INIT, bytes = DX_BUF_INIT, path2 = DX_BUF_INIT, again = DX_BUF_INIT;
    if (dx_ingest_entry(ws, id, "notes/fuzz.md", (const char *)data, size, body,
                        DX_LINK_MARKDOWN_ROOT, &err) == 0) {
        must(dx_materialize_entry(ws, id, body, DX_LINK_MARKDOWN_ROOT, &path, &bytes, &err));
        /* The rendered file goes back in unchanged: no update at all. */
        uint8_t *sv = NULL, *sv2 = NULL;
        size_t n1, n2;
        must(y_encode_state_vector(ws, &sv, &n1));
        must(dx_ingest_entry(ws, id, path.data, bytes.data, bytes.len, body, DX_LINK_MARKDOWN_ROOT,
                             &err));
        must(y_encode_state_vector(ws, &sv2, &n2));
        if (n1 != n2 || memcmp(sv, sv2, n1) != 0)
            abort();
        must(dx_materialize_entry(ws, id, body, DX_LINK_MARKDOWN_ROOT, &path2, &again, &err));
        if (strcmp(path.data, path2.data) != 0 || bytes.len != again.len ||
            memcmp(bytes.data, again.data, bytes.len) != 0)
            abort();
        y_free(sv);
        y_free(sv2);
    }
    dx_buf_release(&path);
    dx_buf_release(&bytes);
    dx_buf_release(&path2);
    dx_buf_release(&again);
    y_doc_free(ws);
    y_doc_free(body);
    return 0;
}
