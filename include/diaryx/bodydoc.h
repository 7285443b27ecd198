/* bodydoc.h - body documents: the markdown after the frontmatter, as a Y.Text `body`.
 *
 * A body doc is named `body/<doc id>` and holds one root Y.Text named `body`. Setting a
 * new body does not replace the text: it computes a diff between the current text and the
 * new one (lines first, then characters inside changed lines) and applies it as minimal
 * deletes and inserts, with offsets in UTF-16 code units as Yjs counts them. An edit made
 * in an external editor therefore touches only the changed places and merges with a
 * concurrent remote edit elsewhere in the same body. */
#ifndef DX_BODYDOC_H
#define DX_BODYDOC_H

#include <stdbool.h>
#include <stddef.h>

#include "diaryx/buf.h"
#include "diaryx/error.h"
#include "ycrdt.h"

#define DX_BODY_TEXT "body"

/* The body text of doc as UTF-8, appended to out. */
int dx_body_get(y_doc *doc, dx_buf *out, dx_error *err);

/* Make the body equal to text (UTF-8, len bytes) with minimal edits in one transaction.
 * Nothing is written when the text is unchanged. Invalid UTF-8 -> DX_EINVAL. */
int dx_body_set(y_doc *doc, const char *text, size_t len, dx_error *err);

/* Insert text (UTF-8, len bytes) at the start (at_end false) or the end of the body, as one
 * insert: a concurrent edit anywhere else, or another insert at the same end, merges with it.
 * Invalid UTF-8 -> DX_EINVAL. */
int dx_body_insert(y_doc *doc, bool at_end, const char *text, size_t len, dx_error *err);

#endif
