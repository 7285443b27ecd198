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

#include <stdbool.h>
#include <stdint.h>

#include "diaryx/buf.h"
#include "diaryx/error.h"
#include "diaryx/frontmatter.h"
#include "diaryx/hash.h"
#include "diaryx/links.h"
#include "diaryx/strmap.h"
#include "diaryx/uuid.h"
#include "ycrdt.h"

typedef struct dx_docs {
    y_doc *workspace; /* the workspace document (wsdoc.h) */
    /* The body document of entry id, borrowed (loaded on first use). */
    int (*body)(void *ud, const char *id, y_doc **out, dx_error *err);
    /* Told of every entry whose file an edit changed (NULL: nobody listens); nonzero fails
     * the edit with DX_ENOMEM. */
    int (*changed)(void *ud, const char *id);
    void *ud;
    /* How the rendered files write links (property edits read the values back with it). */
    dx_link_format format;
    /* Optional: the live entry whose derived path is path (0 with its id, else
     * DX_ENOTFOUND), from an index the caller keeps. NULL: the edits search the workspace
     * document (dx_wsdoc_find_path, a scan of every entry). */
    int (*find)(void *ud, const char *path, char out[DX_UUID_LEN + 1]);
    /* Optional: told when an edit changed which entry lives at which path (a create, a
     * move, a delete), before its next call of find: the index find answers from is stale. */
    void (*paths_changed)(void *ud);
    /* Optional: the index find answers from, every live entry path -> its id (char *),
     * borrowed and current (NULL when it cannot be had: out of memory). NULL: a reader that
     * needs every path derives them from the workspace document. */
    const dx_strmap *(*paths)(void *ud);
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

/* ---- entries and their places -------------------------------------------------------------
 * Paths are workspace-relative ("notes/idea.md"). An entry's path is derived from its parent
 * chain (wsdoc.h): its `filename` is relative to the directory of its parent's file. The
 * rules of a path an entry may have are dx_workspace_check_path's (DX_EPATH). */

/* The live entry at path: 0 with its id in out, DX_ENOTFOUND (the message names path). */
int dx_edit_find(const dx_docs *d, const char *path, char out[DX_UUID_LEN + 1], dx_error *err);

/* The index of directory dir ("" = the root directory: the root index), by the rules of
 * dx_workspace_dir_index: <dir>/<name>.md, index.md, README.md, <name>_index.md, then any
 * index directly in dir by name. With create, a missing one is created as <dir>/<name>.md
 * (titled from the folder name, an index) and linked into the index of the directory
 * above (created the same way when missing). DX_ENOTFOUND without create. */
int dx_edit_dir_index(const dx_docs *d, const char *dir, bool create, char out[DX_UUID_LEN + 1],
                      dx_error *err);

/* A new entry. parent_id NULL makes an entry without parent (filename is then its
 * workspace-relative path). */
typedef struct dx_edit_new {
    const char *parent_id; /* the entry whose contents list it */
    const char *filename;  /* relative to the directory of the parent's file */
    const char *title;     /* NULL: no title */
    bool index;            /* an index (`contents: []`) */
    size_t at;             /* its place in the parent's contents (SIZE_MAX: the end) */
    const char *body;      /* its body text (NULL: empty) */
} dx_edit_new;

#define DX_EDIT_NEW_INIT                                                                           \
    {                                                                                              \
        NULL, NULL, NULL, false, SIZE_MAX, NULL                                                    \
    }

/* Create the entry n describes (a new id, written to id): its fields, its body, and its id
 * in the parent's contents. DX_ENOTFOUND for an unknown or deleted parent, DX_EPATH for a
 * path no entry may have, DX_EEXIST when a live entry has the path already. */
int dx_edit_create(const dx_docs *d, const dx_edit_new *n, char id[DX_UUID_LEN + 1], dx_error *err);

/* Create entry rel by the rules of `diaryx create` (dx_workspace_create): ".md" added when
 * missing, title defaulting to one from the file name, a `# Title` heading as body,
 * linked at the end of the contents of its directory's index (created when missing; a
 * folder index <dir>/<dir name>.md goes into the index of the directory above). rel "DIR/"
 * (ending in '/') creates the directory's index DIR/<name>.md (DX_EEXIST when DIR has one).
 * The path of the new entry is appended to path (may be NULL), its id written to id. */
int dx_edit_create_path(const dx_docs *d, const char *rel, const char *title, bool index,
                        char id[DX_UUID_LEN + 1], dx_buf *path, dx_error *err);

/* ---- properties ---------------------------------------------------------------------------
 * A property is a frontmatter key of the entry's file. An edit works on the frontmatter
 * rendered from the documents (materialize.h) with the frontmatter code (frontmatter.h),
 * and is taken back as edits of only the fields whose value changed (dx_ingest_entry), so
 * concurrent edits of different properties merge; `title`, `description`, `audience`,
 * `part_of`, `contents`, `attachments` and every other key as `extra/<key>` (wsdoc.h). */

/* Set key to value, parsed as YAML exactly as `diaryx property set` does (dx_fm_set_yaml):
 * `[a, b]` is a list, `42` a number, other text a string. DX_EPARSE names the value. */
int dx_edit_property_set(const dx_docs *d, const char *id, const char *key, const char *value,
                         dx_error *err);
/* Remove key. DX_ENOTFOUND when the entry has no such property. */
int dx_edit_property_remove(const dx_docs *d, const char *id, const char *key, dx_error *err);

/* Any edit of the frontmatter: fn changes fm and returns 0 (taken in), 1 (nothing changed)
 * or a negative code (the edit fails with it; fn fills err). */
typedef int (*dx_edit_fm_fn)(dx_fm *fm, void *ud, dx_error *err);
int dx_edit_frontmatter(const dx_docs *d, const char *id, dx_edit_fm_fn fn, void *ud,
                        dx_error *err);

/* ---- structure ---------------------------------------------------------------------------- */

/* Give entry id the path to (final, normalised). When its directory changes, it leaves its
 * parent's contents for the end of the contents of the new directory's index (created when
 * missing; for an index named after its new directory, the index of the directory above),
 * and its children keep their paths (DX_EINVAL when one would be outside its new
 * directory: move the entries first). folder: the entry is the index of its directory and
 * that directory moves with it (to is <new folder>/<its file name>): every entry in the
 * folder keeps its place in it. Links are ids in the documents, so every file that links to
 * the entry shows its new path when rendered; links in bodies are text and stay (as
 * `workspace mv` left them). DX_EINVAL for the root index (an index without parent) and a
 * folder moved into itself; DX_EEXIST when a live entry has the path to; DX_EPATH. changed
 * is called for the entry, its old and new parent and every entry below it. */
int dx_edit_move(const dx_docs *d, const char *id, const char *to, bool folder, dx_error *err);

/* Soft-delete entry id (the `deleted` tombstone) and take it out of its parent's contents.
 * DX_ECONFLICT for an index that still lists entries (move or delete them first),
 * DX_EINVAL for the root index. */
int dx_edit_delete(const dx_docs *d, const char *id, dx_error *err);

/* Link child under parent: its id at the end of parent's contents (a leaf parent becomes
 * an index) unless listed already, parent as its part_of. DX_EINVAL for an entry under
 * itself. Unlink: child out of parent's contents, and its part_of removed when it is
 * parent; DX_ENOTFOUND when neither links the two. */
int dx_edit_link(const dx_docs *d, const char *parent_id, const char *child_id, dx_error *err);
int dx_edit_unlink(const dx_docs *d, const char *parent_id, const char *child_id, dx_error *err);

/* Move child to position index (clamped) of parent's contents. DX_ENOTFOUND when parent
 * does not list child. */
int dx_edit_reorder(const dx_docs *d, const char *parent_id, const char *child_id, size_t index,
                    dx_error *err);

/* Add path (a workspace-relative file) to the attachments of entry id unless listed (the
 * file itself is the caller's); remove it (DX_ENOTFOUND when not listed). DX_EPATH for a
 * path outside the workspace. */
int dx_edit_attach(const dx_docs *d, const char *id, const char *path, dx_error *err);
int dx_edit_detach(const dx_docs *d, const char *id, const char *path, dx_error *err);

/* ---- attachment metadata -------------------------------------------------------------------
 * Which bytes an attachment path means (issue 13): the workspace document's root Y.Map
 * `blobs` maps a workspace-relative attachment path to an object {sha256: 64 hex digits,
 * size: bytes, type: media type}, written whole (two peers recording the same path at once:
 * the last writer's record stands, as for any map key). The bytes themselves live at the path
 * in the workspace and, content-addressed, in a blob store (blobstore.h); never in git. */

typedef struct dx_attachment_meta {
    char sha256[DX_SHA256_HEX];
    uint64_t size;
    char type[128];
} dx_attachment_meta;

/* Record m for path (normalised; DX_EPATH outside the workspace, DX_EINVAL for a sha256 that
 * is not 64 lowercase hex digits or an empty type). */
int dx_edit_attachment_set(const dx_docs *d, const char *path, const dx_attachment_meta *m,
                           dx_error *err);
/* Forget the record of path (DX_ENOTFOUND when there is none). */
int dx_edit_attachment_forget(const dx_docs *d, const char *path, dx_error *err);
/* The record of path in workspace document doc: 0 with *out filled, DX_ENOTFOUND (no record),
 * DX_EPARSE (a record another peer wrote that is not {sha256, size, type}), DX_ENOMEM (the
 * root map is made on first use). */
int dx_attachment_meta_get(y_doc *doc, const char *path, dx_attachment_meta *out);

/* The name of the root map of the records. */
#define DX_BLOBS_MAP "blobs"

#endif
