/* session.h - a workspace whose source of truth is its CRDT (`.diaryx/crdt.db`).
 *
 * Opening a session brings the CRDT and the files into agreement before anything else:
 *   1. a workspace without a CRDT store has every markdown file imported into a new one;
 *   2. a file changed on disk since diaryx last wrote it (size, time, then the git blob id
 *      of its bytes against the record in the store) is ingested as minimal CRDT edits; when
 *      the CRDT has moved on since the file was written (a remote change), the edits are
 *      made against the state the file was written from and merged, so both survive;
 *      a recorded file that is gone from disk is deleted in the CRDT; a new markdown file is
 *      imported;
 *   3. CRDT changes that are not on disk yet are materialized.
 * Then the workspace is put in staging mode: editing functions of workspace.h change
 * nothing on disk. dx_session_save() turns the staged files into CRDT edits, stores them
 * (one SQLite transaction), and writes the files from the CRDT: only the files whose bytes
 * changed, atomically. A file diaryx did not write (edited on disk and not ingestible, or
 * an untracked file in the way) is never overwritten: a warning names it.
 *
 * A new file that cannot be ingested (malformed frontmatter) stays out of the CRDT, is left
 * alone and is tried again when it changes (validation reports it); a recorded file edited
 * into something unreadable is left alone with a warning, and the CRDT keeps its last good
 * state. */
#ifndef DX_SESSION_H
#define DX_SESSION_H

#include <stddef.h>
#include <stdint.h>

#include "diaryx/buf.h"
#include "diaryx/crdt_store.h"
#include "diaryx/docset.h"
#include "diaryx/edit.h"
#include "diaryx/error.h"
#include "diaryx/strlist.h"
#include "diaryx/uuid.h"
#include "diaryx/workspace.h"
#include "ycrdt.h"

typedef struct dx_session dx_session;

/* What opening or saving did. */
typedef struct dx_session_stats {
    size_t imported; /* new files taken into the CRDT */
    size_t ingested; /* files edited outside diaryx, taken in */
    size_t removed;  /* recorded files gone from disk, deleted in the CRDT */
    size_t written;  /* files written from the CRDT */
    size_t deleted;  /* files removed because their entry was deleted or moved */
    size_t updates;  /* CRDT updates stored */
    size_t loaded;   /* documents loaded from the store (see dx_session_open) */
} dx_session_stats;

/* Open the CRDT of ws (created at <root>/.diaryx/crdt.db when missing) and synchronize
 * as described above. device names this machine in the stored updates (NULL: the host
 * name). stats (may be NULL) receives what the synchronization did. The workspace
 * document and the path index are loaded only when needed: when the disk or the store
 * changed, or on the first call that uses them (dx_session_wsdoc, dx_session_find,
 * dx_session_render, a save); a read command on an unchanged workspace never loads them. */
int dx_session_open(dx_workspace *ws, const char *device, dx_session **out, dx_session_stats *stats,
                    dx_error *err);

/* Take the workspace's staged changes into the CRDT, store the updates (origin "local"),
 * write the affected files from the CRDT and clear the staging area. stats may be NULL.
 * Each round (save, sync) stores its updates in one SQLite transaction, then writes the
 * files (and their records) in a second one; when a round fails the session must be
 * closed. A failure before the updates are stored stores nothing; a failure while writing
 * the files keeps the stored updates, and the next open writes the files, so no half of
 * an edit is ever left on disk without the rest in the CRDT. */
int dx_session_save(dx_session *s, dx_session_stats *stats, dx_error *err);

/* Synchronize again (after an external program, e.g. an editor, changed files). */
int dx_session_sync(dx_session *s, dx_session_stats *stats, dx_error *err);
/* Only the first half of a sync: take in (and write out) what other diaryx processes stored
 * since this session last looked; the disk is not scanned. Cheap when nothing is new. */
int dx_session_catch_up(dx_session *s, dx_session_stats *stats, dx_error *err);

/* Close: staged changes not saved are dropped. Accepts NULL. */
void dx_session_close(dx_session *s);
/* For a process about to exit: close the store and end staging like dx_session_close, but
 * leave the memory of the documents and indexes to the operating system (freeing a
 * 10k-entry workspace costs ~20 ms). Builds with DX_FREE_AT_EXIT (sanitizer and fuzz
 * builds) free everything, so leak checks still see it all. */
void dx_session_close_at_exit(dx_session *s);

/* The session's documents for the editing API (edit.h): edits made through them are
 * changes of the state the session holds, stored by the next dx_session_save (which also
 * writes the entries' files), like staged edits. The workspace document is loaded if it
 * was not (out->workspace is NULL when that fails; dx_session_load says why). */
void dx_session_docs(dx_session *s, dx_docs *out);
/* Whether edits made through the documents wait for dx_session_save. */
bool dx_session_unsaved(const dx_session *s);

/* Warnings gathered so far (files left alone and why), borrowed. */
const dx_strlist *dx_session_warnings(const dx_session *s);

/* The store and the workspace document, borrowed from the session. The document is loaded
 * on the first call if it was not yet; NULL if that fails (out of memory, a damaged
 * store). */
dx_crdt_store *dx_session_store(dx_session *s);
y_doc *dx_session_wsdoc(dx_session *s);
/* Load the workspace document and the path index now if they are not yet (0, DX_ENOMEM,
 * or the store's error). */
int dx_session_load(dx_session *s, dx_error *err);

/* The entry id of a workspace-relative path (0), or DX_ENOTFOUND. */
int dx_session_find(dx_session *s, const char *path, char out[DX_UUID_LEN + 1], dx_error *err);

/* Render entry id from the CRDT: its workspace-relative path and file bytes (appended). */
int dx_session_render(dx_session *s, const char *id, dx_buf *path, dx_buf *bytes, dx_error *err);

/* The body document of entry id (loaded on first use; borrowed from the session). Changes
 * made to it are stored by the next save. */
int dx_session_body(dx_session *s, const char *id, y_doc **out, dx_error *err);

/* The git blob id (hex) of the bytes diaryx last wrote or read at path, or NULL when the
 * path is not an entry's recorded file. */
const char *dx_session_recorded(dx_session *s, const char *path);

/* Meta key: the id of the newest stored update the files were written from. The files hold
 * the whole CRDT state when it is the store's last update id. */
#define DX_SESSION_META_MATERIALIZED "materialized_through"

/* Meta key set when materializing left a file behind the CRDT (a damaged entry, a file in
 * the way): the next commit renders and checks every entry, and a commit clears it. */
#define DX_SESSION_META_CHECK_ALL "check_all"

/* The entry whose recorded file path is (borrowed), or NULL. */
const char *dx_session_recorded_entry(dx_session *s, const char *path);
/* How many entries have a recorded file (normally every live entry). */
size_t dx_session_entry_files(const dx_session *s);
/* How many live entries the session's path index holds (one per distinct derived path);
 * 0 while the workspace document is not loaded (call dx_session_wsdoc first). */
size_t dx_session_live_entries(const dx_session *s);
/* The id of the newest stored update the session's documents include. */
int64_t dx_session_applied(const dx_session *s);

/* The recorded file of entry id: its path and blob id (borrowed), or DX_ENOTFOUND. */
int dx_session_record(dx_session *s, const char *id, const char **path, const char **hash);

/* Write the id of every live entry's path to `.diaryx/ids` (idmap.h): the ids a store built
 * again from the files gives back. A session opened on a new store (no file record) imports
 * the files with the ids listed there. */
int dx_session_save_ids(dx_session *s, dx_error *err);

dx_workspace *dx_session_workspace(dx_session *s);
/* The session's documents (docset.h), borrowed: what the reads, the history and the editing
 * API work on. Rounds (store, catch up, write the files) stay the session's. */
dx_docset *dx_session_docset(dx_session *s);
const char *dx_session_device(const dx_session *s);

#endif
