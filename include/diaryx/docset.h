/* docset.h - the CRDT documents of one workspace, loaded from its store: no files.
 *
 * A docset holds the workspace document (wsdoc.h) and, loaded on demand, the body document
 * of each entry (bodydoc.h), as of one point of the store's update log (`seen`); the path
 * index (workspace-relative path -> entry id) derived from the workspace document; and the
 * updates its documents emitted since they were last stored. It reads and writes nothing
 * but the store it is lent: the client's session (session.h) puts the files around it, and
 * the server will keep one per open workspace.
 *
 * A round of changes goes:
 *   1. edits on the documents (edit.h through dx_docset_docs, or ingest of file bytes); each
 *      emits updates, kept in memory, and marks the entries whose file changed (`touched`);
 *   2. the caller takes the store's write lock (dx_store_begin), and dx_docset_catch_up
 *      applies what other writers stored since `seen` (they merge with step 1 as CRDT
 *      updates do);
 *   3. dx_docset_flush stores the kept updates, one merged update per document, and the
 *      caller commits the transaction and moves `seen` on (dx_docset_set_seen).
 * Documents are loaded as of `seen`, even when loaded late: an edit is always a change of the
 * state its caller saw.
 *
 * Document names in the store: "workspace" and "body/<entry id>". */
#ifndef DX_DOCSET_H
#define DX_DOCSET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "diaryx/buf.h"
#include "diaryx/crdt_store.h"
#include "diaryx/edit.h"
#include "diaryx/error.h"
#include "diaryx/links.h"
#include "diaryx/strmap.h"
#include "diaryx/uuid.h"
#include "ycrdt.h"

#define DX_DOC_WORKSPACE   "workspace"
#define DX_DOC_BODY_PREFIX "body/"
#define DX_DOC_NAME_MAX    64

/* The store name of entry id's body document. */
void dx_doc_body_name(const char *id, char out[DX_DOC_NAME_MAX]);
/* The entry id of a body document's name, or NULL when name is not one (borrowed from name). */
const char *dx_doc_body_id(const char *name);

typedef struct dx_docset dx_docset;

/* A docset over store (lent: it must outlive the docset), as of the store's newest update.
 * device names the writer in the updates it stores. Nothing is loaded yet. */
int dx_docset_new(dx_crdt_store *store, const char *device, dx_docset **out, dx_error *err);
void dx_docset_free(dx_docset *ds); /* accepts NULL; updates not flushed are dropped */

/* Count every document loaded into *counter from now on (NULL: stop counting). */
void dx_docset_count_loads(dx_docset *ds, size_t *counter);

/* Load the workspace document and build the path index, if not done yet. DX_EBUSY when the
 * store no longer holds the state as of `seen` (compacted by another writer meanwhile: the
 * caller must start over). */
int dx_docset_load(dx_docset *ds, dx_error *err);
/* The workspace document (loaded on first use), or NULL when loading fails. */
y_doc *dx_docset_workspace(dx_docset *ds);
/* Whether the workspace document is loaded. */
bool dx_docset_loaded(const dx_docset *ds);
/* The body document of entry id (loaded on first use), borrowed. */
int dx_docset_body(dx_docset *ds, const char *id, y_doc **out, dx_error *err);
/* A document by store name ("workspace" or "body/<id>"); DX_EINVAL for another name. */
int dx_docset_doc(dx_docset *ds, const char *name, y_doc **out, dx_error *err);
/* The editing interface (edit.h) over these documents: edits mark their entries touched, find
 * answers from the path index (built again after an edit that moved entries), and links are
 * read in the default format (set out->format to the workspace's). */
void dx_docset_docs(dx_docset *ds, dx_docs *out);

/* ---- the path index ---- */

/* The id of the live entry at a workspace-relative path (0), or DX_ENOTFOUND. */
int dx_docset_find(dx_docset *ds, const char *path, char out[DX_UUID_LEN + 1], dx_error *err);
/* The same as a dx_path_lookup (materialize.h), user = the docset; the index must be loaded. */
int dx_docset_lookup(void *user, const char *path, char out[DX_UUID_LEN + 1]);
/* Build the index again from the workspace document (after edits that moved entries). */
int dx_docset_reindex(dx_docset *ds, dx_error *err);
/* Change the index ahead of a rebuild: path now names id (id NULL: nothing). DX_ENOMEM. */
int dx_docset_index_set(dx_docset *ds, const char *path, const char *id);
/* path -> id (char *) of every live entry; empty until loaded. Borrowed. */
const dx_strmap *dx_docset_index(const dx_docset *ds);

/* Render entry id: its workspace-relative path and file bytes (appended). */
int dx_docset_render(dx_docset *ds, const char *id, dx_link_format fmt, dx_buf *path, dx_buf *bytes,
                     dx_error *err);

/* ---- changes ---- */

/* Mark entry id's file changed (DX_ENOMEM). */
int dx_docset_touch(dx_docset *ds, const char *id);
/* The entries marked changed since the last dx_docset_untouch (keys). Borrowed. */
const dx_strmap *dx_docset_touched(const dx_docset *ds);
void dx_docset_untouch(dx_docset *ds);
/* Keep update (of document name) to be stored by the next flush as it is, beside what the
 * documents emit: for an update whose structs wait in the document for structs it has not
 * seen (Yjs "pending"), which changes nothing yet and so is not emitted, but was received
 * and must be stored before it is acknowledged. 0 or DX_ENOMEM. */
int dx_docset_keep(dx_docset *ds, const char *name, const uint8_t *update, size_t len,
                   dx_error *err);
/* Whether updates or changed marks wait to be stored and written. */
bool dx_docset_unsaved(const dx_docset *ds);

/* Apply what other writers stored after `seen` to the loaded documents (documents not
 * loaded yet will be loaded whole) and move `seen` to the newest update; the path index is
 * built again when anything came. *moved (may be NULL) tells whether anything came. Call it
 * holding the store's write lock, so nothing changes meanwhile. */
int dx_docset_catch_up(dx_docset *ds, bool *moved, dx_error *err);

/* Store the updates the documents emitted since the last flush (origin "local", this
 * docset's device), one merged update per document, in the caller's transaction. *stored
 * (may be NULL) receives how many were stored, *workspace (may be NULL) whether one is of
 * the workspace document. On failure nothing of them is kept: the documents are ahead of
 * the store and the docset must be dropped. */
int dx_docset_flush(dx_docset *ds, size_t *stored, bool *workspace, dx_error *err);

/* A whole round for a holder that stores nothing else with the updates (the server): the
 * store's write lock, catch-up, flush, commit, and `seen` moved to the last update. On
 * failure nothing is stored and the transaction is rolled back; the documents are then ahead
 * of the store and the docset must be dropped. */
int dx_docset_save(dx_docset *ds, dx_error *err);

/* The newest stored update the documents include, and moving it on (after a flush the
 * caller committed, to the id of its last update). */
int64_t dx_docset_seen(const dx_docset *ds);
void dx_docset_set_seen(dx_docset *ds, int64_t id);

dx_crdt_store *dx_docset_store(const dx_docset *ds);
const char *dx_docset_device(const dx_docset *ds);

#endif
