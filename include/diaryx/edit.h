/* edit.h - editing a workspace as CRDT operations on its documents: no files, no staging.
 *
 * An edit reaches the documents of one workspace through a dx_docs: the workspace document
 * and, loaded on demand, the body document of an entry. A client session provides one
 * (dx_session_docs), and so will the server's per-workspace documents. Each edit changes only
 * what it names, as CRDT operations (appending to a body is one insert at its end, not a new
 * body diffed against the old), so edits made at the same time by another process or device
 * merge with it. The caller stores the updates the documents emit and renders the files:
 * `changed` tells it which entries to render again.
 *
 * Entries are named by id (the workspace document's key; a session maps paths to ids with
 * dx_session_find). An id that is unknown or deleted: DX_ENOTFOUND. */
#ifndef DX_EDIT_H
#define DX_EDIT_H

#include <stddef.h>

#include "diaryx/buf.h"
#include "diaryx/error.h"
#include "ycrdt.h"

typedef struct dx_docs {
    y_doc *workspace; /* the workspace document (wsdoc.h) */
    /* The body document of entry id, borrowed (loaded on first use). */
    int (*body)(void *ud, const char *id, y_doc **out, dx_error *err);
    /* Told of every entry whose file an edit changed (NULL: nobody listens); nonzero fails
     * the edit with DX_ENOMEM. */
    int (*changed)(void *ud, const char *id);
    void *ud;
} dx_docs;

/* The body of entry id (UTF-8), appended to out. */
int dx_edit_body_get(const dx_docs *d, const char *id, dx_buf *out, dx_error *err);

/* Make the body of entry id equal to text (len bytes of UTF-8) with minimal edits. */
int dx_edit_body_set(const dx_docs *d, const char *id, const char *text, size_t len, dx_error *err);

/* Add text at the end of the body of entry id as whole lines: after a newline when the body
 * does not end with one, and ending with one. Empty text changes nothing. */
int dx_edit_body_append(const dx_docs *d, const char *id, const char *text, size_t len,
                        dx_error *err);

/* Add text at the start of the body of entry id, followed by a newline when the body is not
 * empty and text does not end with one. Empty text changes nothing. */
int dx_edit_body_prepend(const dx_docs *d, const char *id, const char *text, size_t len,
                         dx_error *err);

#endif
