/* wsdoc.h - the workspace document: the CRDT file index of a workspace.
 *
 * Schema (docs/architecture.md): the root Y.Map `files` maps a UUID v4 doc id to a nested
 * Y.Map with the fields
 *   filename     string  path relative to the directory of the parent entry (may hold
 *                        `/`); the workspace-relative path for an entry without a parent
 *   title        string  (absent when the file has none)
 *   description  string  (absent when none)
 *   part_of      string  the parent's doc id (absent for the root and detached entries)
 *   contents     Y.Array of child doc ids, in display order (absent for leaves)
 *   attachments  Y.Array of strings (absent when none)
 *   audience     Y.Array of strings (absent when the file has no `audience` key)
 *   extra/<key>  string  one per other frontmatter key: JSON text `[order, value]`; the
 *                        keys are listed by (order, key). Each key is its own field, so
 *                        concurrent changes of different keys merge. (Older stores: one
 *                        field `extra`, a JSON object string, read while no `extra/` field
 *                        exists and removed at the entry's next write of its extra keys.)
 *   line_ending  string  "crlf" for a file written with CRLF line ends (absent: LF; the
 *                        body document always holds LF)
 *   deleted      bool    soft-delete tombstone
 *   modified_at  number  Unix milliseconds of the last change
 * Every write changes only the fields whose value differs, and arrays are edited with a
 * minimal prefix/suffix splice, so concurrent edits of different fields (or of different
 * parts of `contents`) merge.
 *
 * All functions work on a y_doc the caller owns; a function that changes the doc runs in
 * one transaction (nested inside the caller's when one is open). */
#ifndef DX_WSDOC_H
#define DX_WSDOC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "diaryx/buf.h"
#include "diaryx/error.h"
#include "diaryx/strlist.h"
#include "diaryx/uuid.h"
#include "ycrdt.h"

/* One entry of the file index. All strings are owned by the struct (NULL when absent);
 * release with dx_entry_release. */
typedef struct dx_entry {
    char id[DX_UUID_LEN + 1];
    char *filename;
    char *title;
    char *description;
    char *part_of;
    bool is_index;       /* `contents` present (possibly empty) */
    dx_strlist contents; /* child ids */
    dx_strlist attachments;
    bool has_audience; /* `audience` present (possibly empty) */
    dx_strlist audience;
    char *extra_json; /* JSON object text, or NULL */
    bool crlf;        /* line_ending "crlf" */
    bool deleted;
    int64_t modified_at;
} dx_entry;

#define DX_ENTRY_INIT                                                                              \
    {                                                                                              \
        {                                                                                          \
            0                                                                                      \
        }                                                                                          \
    }

void dx_entry_release(dx_entry *e);

/* Write every field of e under e->id (a new id is generated when e->id is empty and
 * stored back into e->id). Fields equal to the stored ones are not written; absent fields
 * (NULL strings, !is_index, !has_audience, empty attachments) are deleted. */
int dx_wsdoc_put(y_doc *doc, dx_entry *e, dx_error *err);

/* Read entry id into *out (released first). DX_ENOTFOUND when the id is unknown. */
int dx_wsdoc_get(y_doc *doc, const char *id, dx_entry *out, dx_error *err);

/* Every id of the index, deleted ones included, sorted (deterministic on every peer).
 * *ids is owned by the caller (dx_strlist_release). */
int dx_wsdoc_ids(y_doc *doc, dx_strlist *ids, dx_error *err);

/* The workspace-relative path of entry id, derived from the parent chain. DX_ECORRUPT
 * on a cycle or a chain through unknown ids, DX_ENOTFOUND for an unknown id. */
int dx_wsdoc_path(y_doc *doc, const char *id, dx_buf *out, dx_error *err);

/* Call fn(ud, id, path) for every live entry whose path can be derived (as
 * dx_wsdoc_path derives it), in no particular order; the ancestors' paths are derived once
 * for all entries. A nonzero return of fn stops the walk and is returned. */
typedef int (*dx_wsdoc_path_fn)(void *ud, const char *id, const char *path);
int dx_wsdoc_each_path(y_doc *doc, dx_wsdoc_path_fn fn, void *ud, dx_error *err);

/* The title of entry id, borrowed from the doc (valid until it changes), or NULL when the
 * entry or its title is absent. Reads that one field only. */
const char *dx_wsdoc_title(y_doc *doc, const char *id);

/* Whether entry id exists and is not deleted. */
bool dx_wsdoc_is_live(y_doc *doc, const char *id);

/* The id of the live (not deleted) entry whose derived path is path; DX_ENOTFOUND. */
int dx_wsdoc_find_path(y_doc *doc, const char *path, char out[DX_UUID_LEN + 1], dx_error *err);

/* Set one string field (value NULL deletes it). field is one of filename, title,
 * description, part_of, extra (a JSON object text, written as the extra/<key> fields). */
int dx_wsdoc_set_field(y_doc *doc, const char *id, const char *field, const char *value,
                       dx_error *err);

/* Mark an entry deleted (true) or restore it (false). */
int dx_wsdoc_set_deleted(y_doc *doc, const char *id, bool deleted, dx_error *err);

/* Insert child_id into the contents of parent_id at index (clamped to the length; the
 * parent becomes an index if it was a leaf). Nothing happens if it is already listed. */
int dx_wsdoc_contents_insert(y_doc *doc, const char *parent_id, size_t index, const char *child_id,
                             dx_error *err);
/* Remove every occurrence of child_id from the contents of parent_id. */
int dx_wsdoc_contents_remove(y_doc *doc, const char *parent_id, const char *child_id,
                             dx_error *err);

#endif
