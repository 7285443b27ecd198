/* edit.c - workspace edits as CRDT operations on a workspace's documents; no I/O. */
#include "diaryx/edit.h"

#include <stdbool.h>

#include "diaryx/bodydoc.h"
#include "diaryx/wsdoc.h"

/* The body document of a live entry. */
static int live_body(const dx_docs *d, const char *id, y_doc **body, dx_error *err)
{
    if (!dx_wsdoc_is_live(d->workspace, id))
        return dx_error_set(err, DX_ENOTFOUND, "no entry with id '%s' in the workspace", id);
    return d->body(d->ud, id, body, err);
}

static int changed(const dx_docs *d, const char *id, dx_error *err)
{
    return d->changed && d->changed(d->ud, id) ? dx_error_set(err, DX_ENOMEM, "out of memory") : 0;
}

int dx_edit_body_get(const dx_docs *d, const char *id, dx_buf *out, dx_error *err)
{
    y_doc *body;
    int rc = live_body(d, id, &body, err);
    return rc ? rc : dx_body_get(body, out, err);
}

int dx_edit_body_set(const dx_docs *d, const char *id, const char *text, size_t len, dx_error *err)
{
    y_doc *body;
    int rc = live_body(d, id, &body, err);
    if (!rc)
        rc = dx_body_set(body, text, len, err);
    return rc ? rc : changed(d, id, err);
}

/* Insert text at one end of the body, with a newline added where the lines need one. */
static int insert_lines(const dx_docs *d, const char *id, bool at_end, const char *text, size_t len,
                        dx_error *err)
{
    y_doc *body;
    dx_buf cur = DX_BUF_INIT, add = DX_BUF_INIT;
    int rc = live_body(d, id, &body, err);
    if (rc || !len)
        goto done;
    if ((rc = dx_body_get(body, &cur, err)))
        goto done;
    bool nl_before = at_end && cur.len && cur.data[cur.len - 1] != '\n';
    bool nl_after = text[len - 1] != '\n' && (at_end || cur.len);
    if ((nl_before && dx_buf_putc(&add, '\n')) || dx_buf_append(&add, text, len) ||
        (nl_after && dx_buf_putc(&add, '\n'))) {
        rc = dx_error_set(err, DX_ENOMEM, "out of memory");
        goto done;
    }
    if (!(rc = dx_body_insert(body, at_end, add.data, add.len, err)))
        rc = changed(d, id, err);
done:
    dx_buf_release(&cur);
    dx_buf_release(&add);
    return rc;
}

int dx_edit_body_append(const dx_docs *d, const char *id, const char *text, size_t len,
                        dx_error *err)
{
    return insert_lines(d, id, true, text, len, err);
}

int dx_edit_body_prepend(const dx_docs *d, const char *id, const char *text, size_t len,
                         dx_error *err)
{
    return insert_lines(d, id, false, text, len, err);
}
