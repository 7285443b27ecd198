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
#include "diaryx/materialize.h"
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

/* How the caller of dx_docs_take_files keeps its index of entry paths and which new files it
 * admits. */
typedef struct dx_take_hooks {
    void *ud;
    /* The live entry at path in the caller's index (0 with its id), else nonzero. */
    dx_path_lookup lookup;
    /* Set path to entry id in that index, or remove it (id NULL). 0, or DX_ENOMEM. */
    int (*index_set)(void *ud, const char *path, const char *id);
    /* A staged file no entry has: 1 to make it a new entry, 0 to leave it out, or a negative
     * error with its message in err. NULL: a note at a path an entry may have is admitted, a
     * note elsewhere refused (DX_EPATH), any other file (an attachment) left out. */
    int (*admit)(void *ud, const dx_staged *s, dx_error *err);
    /* Optional: told of each entry a staged file was taken into (is_new: made by this call).
     * Nonzero fails with DX_ENOMEM. */
    int (*taken)(void *ud, const char *id, bool is_new);
} dx_take_hooks;

/* The one way staged files become CRDT edits of the documents d, for a workspace over
 * documents (dx_docs_take_staged) and for a session on disk (dx_session_save) alike: each
 * file is taken into the entry at its path, else the entry it moved from (which keeps its id
 * at the new path), else a new entry (when h->admit says so); entries are taken in parents
 * first (a part_of resolves to an entry already at its path), each reported to d->changed;
 * a removed file that no staged file took the entry of marks its entry deleted. The index
 * of h is updated as it goes (new and moved paths set, old and removed paths cleared); the
 * paths of entries below a moved index change with it and are the caller's to index again.
 * *n (may be NULL) receives the number of entries changed. DX_EPARSE (naming the file) when
 * a staged file cannot be taken in; on an error the entries taken in before it stay (each
 * one whole). */
int dx_docs_take_files(const dx_docs *d, const dx_staged *staged, size_t ns, dx_link_format fmt,
                       const dx_take_hooks *h, size_t *n, dx_error *err);

#endif
