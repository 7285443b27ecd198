/* docfiles.h - a workspace whose files are its CRDT documents, with no directory at all: the
 * reads of workspace.h (tree, validate, search, export, daily lookup) run over a dx_docs (a
 * client session's documents, or the server's), and what such a workspace writes comes back
 * as CRDT edits.
 *
 * The files are the rendered files of the live entries (materialize.h): path -> bytes, each
 * rendered when a read needs it, so a tree of depth 1 renders the root index and its children
 * only. Reads of frontmatter alone (tree, validate, the root lookup) render it without the
 * body and load no body document; search and export load every body they read. Directories
 * are implied by the paths. The paths are indexed when the workspace is opened (and again by
 * dx_docs_take_staged): every read renders the documents as they are then, but an entry made,
 * moved or deleted by another edit of the documents afterwards is seen at its new path only by
 * a workspace opened after it. Staged files win over the documents, as on a disk.
 *
 * Such a workspace always stages (dx_workspace_set_staging(ws, false) is ignored): validate
 * --fix, a new daily entry, create, move and delete keep the files they would write in the
 * staging area, and dx_docs_take_staged turns them into edits of the documents. The checks that
 * only mean something on a disk find nothing here: there are no symbolic links, no files
 * outside the CRDT, no stale temporary files (a body document the loader cannot load makes its
 * file unreadable, with the loader's error). dx_workspace_root is "" (there is no directory), so
 * the functions that take a user's path (dx_workspace_relpath, _abspath) are not for it. */
#ifndef DX_DOCFILES_H
#define DX_DOCFILES_H

#include <stddef.h>

#include "diaryx/edit.h"
#include "diaryx/error.h"
#include "diaryx/links.h"
#include "diaryx/workspace.h"

/* A workspace over the documents of d (borrowed: d and its documents must outlive *out; the
 * struct itself is copied), rendering links in format fmt. Its root index is found as on disk
 * (README.md, index.md, then any entry at the top with `contents` and no `part_of`).
 * DX_ENOTFOUND when there is none, DX_ECORRUPT when the workspace document is not one,
 * DX_ENOMEM. Free with dx_workspace_free. */
int dx_workspace_open_docs(const dx_docs *d, dx_link_format fmt, dx_workspace **out, dx_error *err);

/* Take the changes staged in ws (opened with dx_workspace_open_docs over d) into the documents
 * as CRDT edits (dx_ingest_entry): a new file becomes a new entry, a changed file an edit of
 * its entry (only what differs), a moved file keeps its entry at the new path, a removed file
 * marks its entry deleted; a file that is not an entry (an attachment) has no place in the
 * documents and is left out (the documents hold no attachment bytes). Entries are taken in parents
 * first (a part_of resolves to an entry already at its path), and every one is reported to
 * d->changed. Then the staging area is cleared and ws reads the documents with these edits. *n (may
 * be NULL) receives the number of entries changed. DX_EINVAL when ws is not over documents;
 * DX_EPATH for a note at a path no entry may have (dx_workspace_check_path); DX_EPARSE (naming the
 * file) when a staged file cannot be taken in; on an error, the entries taken in before it stay
 * (each one whole) and the staging area is kept. */
int dx_docs_take_staged(const dx_docs *d, dx_workspace *ws, size_t *n, dx_error *err);

#endif
