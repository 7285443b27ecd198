/* materialize.h - between the CRDT and the files: render an entry's exact file bytes from
 * the workspace document and its body document (materialize), and turn a file's bytes into
 * minimal edits of both (ingest).
 *
 * Rendering is deterministic: the same CRDT state gives the same bytes on every peer, and
 * a fixed point: ingesting the rendered bytes changes nothing.
 * Frontmatter keys come in a fixed order - title, part_of, contents, audience, description,
 * attachments - then the other keys (`extra`) in their stored order; part_of, contents and
 * attachments are written as links in the workspace link format, titled with the target's
 * title. A file without any key is written as its body alone.
 *
 * Ingest resolves part_of and contents links to entry ids through the paths of entries
 * already in the workspace document, so files are ingested parents first. An entry's file
 * must live in its parent's directory or below (the path is derived from the parent chain).
 */
#ifndef DX_MATERIALIZE_H
#define DX_MATERIALIZE_H

#include "diaryx/buf.h"
#include "diaryx/error.h"
#include "diaryx/links.h"
#include "diaryx/uuid.h"
#include "ycrdt.h"

/* Render entry id: its workspace-relative path into path, its file bytes into bytes.
 * body may be NULL (empty body). */
int dx_materialize_entry(y_doc *ws, const char *id, y_doc *body, dx_link_format fmt, dx_buf *path,
                         dx_buf *bytes, dx_error *err);

/* Ingest the bytes of the file at path (workspace-relative) into entry id, creating the
 * entry when id is empty (the new id is written back). Frontmatter fields go into the
 * entry's map (only changed fields are written), the body into body's Y.Text as a minimal
 * diff (with LF line ends; a CRLF file sets the entry's `line_ending`). part_of and
 * contents links are stored as entry ids; a known key the schema cannot hold that way (a
 * link to a file that is not an entry, a part_of whose file is not inside its parent's
 * directory, an attachment outside the workspace, a value of another YAML kind than the
 * schema's: `title: 12`, `contents: {a: b}`, `audience: public`, a tagged value) is kept
 * verbatim in `extra`, so the file loses nothing and validation still reports it. Values
 * in `extra` are JSON when JSON holds them exactly, else {"$yaml": "<YAML text>"}
 * (docs/architecture.md). DX_EPARSE for malformed frontmatter; nothing is changed when an
 * error is returned. */
int dx_ingest_entry(y_doc *ws, char id[DX_UUID_LEN + 1], const char *path, const char *bytes,
                    size_t len, y_doc *body, dx_link_format fmt, dx_error *err);

/* Find the live entry at a workspace-relative path: 0 with its id in out, else nonzero. */
typedef int (*dx_path_lookup)(void *user, const char *path, char out[DX_UUID_LEN + 1]);

/* dx_ingest_entry resolving paths through lookup (an index the caller keeps) instead of a
 * scan of the workspace document. */
int dx_ingest_entry_with(y_doc *ws, char id[DX_UUID_LEN + 1], const char *path, const char *bytes,
                         size_t len, y_doc *body, dx_link_format fmt, dx_path_lookup lookup,
                         void *user, dx_error *err);

/* The body doc of an entry, borrowed (NULL: an empty body). */
typedef y_doc *(*dx_body_loader)(void *user, const char *id);

/* Write the file of every live entry under abs_dir (created when needed), atomically, and
 * only where the bytes on disk differ; *written (may be NULL) counts the files written.
 * Deleted entries are not written (their files are not removed here). */
int dx_materialize_to_dir(y_doc *ws, dx_body_loader load, void *user, dx_link_format fmt,
                          const char *abs_dir, size_t *written, dx_error *err);

#endif
