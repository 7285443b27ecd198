/* crdt_store.h - the CRDT sync buffer in SQLite: `.diaryx/crdt.db` on a client,
 * `<workspace id>.db` on the server.
 *
 * Schema (PRAGMA user_version 3; the tables of later versions are marked):
 *   documents(name TEXT PRIMARY KEY, state BLOB, state_vector BLOB, updated_at INTEGER ms)
 *   updates(id INTEGER PRIMARY KEY AUTOINCREMENT, doc_name TEXT, data BLOB, origin TEXT,
 *           device TEXT, created_at INTEGER ms)       index (doc_name, id)
 *   meta(key TEXT PRIMARY KEY, value TEXT)
 *   files(path TEXT PRIMARY KEY, doc_id, size, mtime_ns, hash)   (version 2) the files as
 *           they were last materialized or ingested, to tell external edits from our own
 *   dirty(seq INTEGER PRIMARY KEY AUTOINCREMENT, path UNIQUE)   (version 3) the paths whose
 *           record was added, changed (doc, bytes) or removed since the last commit, kept by
 *           triggers on `files`
 * A database in the reference implementation's schema (updates.timestamp, device_id,
 * device_name; no meta) is migrated in place on open.
 *
 * A document's state is its snapshot (documents.state, a v1 update, possibly absent)
 * followed by its updates in id order. Every update is checked (y_update_validate) before
 * it is stored; bytes that do not decode are refused and nothing is written.
 *
 * Durability: WAL with synchronous=NORMAL. A process killed at any moment loses nothing
 * whose append returned success; a power loss may lose the last transactions (SQLite's WAL
 * guarantee in NORMAL mode) but never corrupts the file. Every write transaction is
 * BEGIN IMMEDIATE and is retried as a whole while another connection holds the write lock
 * (busy_timeout 5 s, then DX_EBUSY).
 *
 * One dx_crdt_store per thread. */
#ifndef DX_CRDT_STORE_H
#define DX_CRDT_STORE_H

/* A client's store, relative to the workspace root, in the directory diaryx keeps its own
 * state in. */
#define DX_STATE_DIR  ".diaryx"
#define DX_STORE_FILE DX_STATE_DIR "/crdt.db"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "diaryx/buf.h"
#include "diaryx/error.h"
#include "diaryx/strlist.h"
#include "ycrdt.h"

typedef struct dx_crdt_store dx_crdt_store;

#define DX_STORE_SCHEMA_VERSION 3

/* Open or create the database at path (its directory must exist). DX_ECORRUPT when the
 * file is not a SQLite database or is damaged. */
int dx_store_open(const char *path, dx_crdt_store **out, dx_error *err);
void dx_store_close(dx_crdt_store *s);

/* Group several appends into one transaction (much faster); appends outside a batch run
 * in their own transaction. A batch that is not committed is rolled back by close. */
int dx_store_begin(dx_crdt_store *s, dx_error *err);
int dx_store_commit(dx_crdt_store *s, dx_error *err);
/* Drop everything written since dx_store_begin (nothing happens outside a batch). */
void dx_store_rollback(dx_crdt_store *s);

/* Many reads as one read transaction (a snapshot; other writers are not blocked): each
 * query outside a transaction takes and drops SQLite's read lock on its own, which costs
 * more than reading a small document (a commit that renders 20,000 entries loads 20,000
 * body documents). Nothing may be written until dx_store_read_end (DX_ECONFLICT inside a
 * batch or a read already open); the end accepts a store with no read open. */
int dx_store_read_begin(dx_crdt_store *s, dx_error *err);
void dx_store_read_end(dx_crdt_store *s);

/* Append a v1 update to doc (origin e.g. "local", "remote", "sync"; device may be NULL).
 * *id (may be NULL) receives its id. DX_ECORRUPT when the bytes do not decode. */
int dx_store_append(dx_crdt_store *s, const char *doc, const uint8_t *update, size_t len,
                    const char *origin, const char *device, int64_t *id, dx_error *err);

/* Apply the snapshot and every update of doc to `into`. DX_ENOTFOUND when the store has
 * neither. */
int dx_store_load(dx_crdt_store *s, const char *doc, y_doc *into, dx_error *err);

/* The state of doc after update `id` (snapshot + updates <= id) as a v1 update (*out
 * malloc'd, free with y_free). DX_ENOTFOUND for an unknown id or one that compaction
 * folded into the snapshot (the message says so). */
int dx_store_state_at(dx_crdt_store *s, const char *doc, int64_t id, uint8_t **out, size_t *len,
                      dx_error *err);

/* Apply the snapshot and the updates with id <= max_id of doc to `into` (nothing when the
 * doc is unknown). DX_ENOTFOUND when compaction folded updates newer than max_id into the
 * snapshot, so that state is gone. */
int dx_store_load_upto(dx_crdt_store *s, const char *doc, int64_t max_id, y_doc *into,
                       dx_error *err);

/* The id of the newest update of doc, or of the whole store when doc is NULL (ids are never
 * reused, so this also counts updates since removed by compaction); 0 when none. */
int64_t dx_store_last_id(dx_crdt_store *s, const char *doc);

/* When the store last changed (Unix ms): the created_at of its newest update; for a
 * document whose updates were all folded into its snapshot, the snapshot's updated_at.
 * 0 for an empty store. `watch` counts its quiet interval from here. */
int64_t dx_store_last_change_ms(dx_crdt_store *s);

/* Call fn for every update newer than after_id, in id order; a nonzero return stops the
 * walk and is returned as the error code. */
typedef int (*dx_store_update_fn)(void *user, const char *doc, const uint8_t *data, size_t len);
int dx_store_updates_after(dx_crdt_store *s, int64_t after_id, dx_store_update_fn fn, void *user,
                           dx_error *err);

/* The names of the documents holding more than keep updates, appended to docs. */
int dx_store_docs_over(dx_crdt_store *s, size_t keep, dx_strlist *docs, dx_error *err);

/* The names of the documents with an update newer than after_id, appended to docs. */
int dx_store_changed_since(dx_crdt_store *s, int64_t after_id, dx_strlist *docs, dx_error *err);

/* Whether an update newer than after_id came from elsewhere (origin other than "local"). */
bool dx_store_foreign_since(dx_crdt_store *s, int64_t after_id);

/* Meta key of a workspace synced with a server (syncpeer.h): every update up to this id is
 * acknowledged by the server. Compaction never folds an update after it. */
#define DX_STORE_META_SYNC_ACKED "sync_acked"

/* Fold all but the newest keep_recent updates of doc into its snapshot, atomically, and
 * never one newer than DX_STORE_META_SYNC_ACKED when that is set (an update the sync
 * server has not acknowledged stays an update of its own). The loaded state is unchanged;
 * kept updates stay usable for history. keep_recent 0 folds all. */
int dx_store_compact(dx_crdt_store *s, const char *doc, size_t keep_recent, dx_error *err);

typedef struct dx_store_doc_info {
    char *name;
    size_t snapshot_bytes;
    size_t updates;
    size_t update_bytes;
} dx_store_doc_info;

/* Every document with a snapshot or updates, by name. Free with dx_store_docs_free. */
int dx_store_list(dx_crdt_store *s, dx_store_doc_info **out, size_t *n, dx_error *err);
void dx_store_docs_free(dx_store_doc_info *docs, size_t n);

typedef struct dx_store_update_info {
    int64_t id;
    int64_t created_at; /* Unix ms */
    char *origin;
    char *device; /* NULL when not recorded */
    size_t bytes;
} dx_store_update_info;

/* The newest `limit` updates of doc, newest first. Free with dx_store_history_free. */
int dx_store_history(dx_crdt_store *s, const char *doc, size_t limit, dx_store_update_info **out,
                     size_t *n, dx_error *err);
void dx_store_history_free(dx_store_update_info *h, size_t n);

/* Rename a document (snapshot and updates); DX_EEXIST when the new name is taken. */
int dx_store_rename(dx_crdt_store *s, const char *from, const char *to, dx_error *err);
/* Delete a document's snapshot and updates. */
int dx_store_delete(dx_crdt_store *s, const char *doc, dx_error *err);

/* Small string settings (commit bookkeeping: last commit id, failure count, dirty flag).
 * get: DX_ENOTFOUND when absent; set with value NULL deletes. */
int dx_store_meta_get(dx_crdt_store *s, const char *key, dx_buf *out, dx_error *err);
int dx_store_meta_set(dx_crdt_store *s, const char *key, const char *value, dx_error *err);
/* Delete key only while it still holds value (a value set meanwhile stays). */
int dx_store_meta_clear_if(dx_crdt_store *s, const char *key, const char *value, dx_error *err);

/* The record of one materialized file: its bytes' git blob id (hex) and the size and
 * modification time it had on disk when diaryx last wrote or read it. */
typedef struct dx_store_file {
    char *path;
    char doc_id[40];
    int64_t size;
    int64_t mtime_ns;
    char hash[48];
} dx_store_file;

/* Every record, sorted by path. Free with dx_store_files_free. */
int dx_store_files(dx_crdt_store *s, dx_store_file **out, size_t *n, dx_error *err);
void dx_store_files_free(dx_store_file *files, size_t n);
/* The record of path as the store holds it now (out->path is left NULL); DX_ENOTFOUND. */
int dx_store_file_get(dx_crdt_store *s, const char *path, dx_store_file *out, dx_error *err);
/* Insert or replace the record of f->path; remove one. */
int dx_store_file_put(dx_crdt_store *s, const dx_store_file *f, dx_error *err);
int dx_store_file_remove(dx_crdt_store *s, const char *path, dx_error *err);

/* The paths marked in `dirty` (oldest mark first), appended to paths; *upto gets the newest
 * mark's seq (0 when none), for dx_store_dirty_clear. */
int dx_store_dirty(dx_crdt_store *s, dx_strlist *paths, int64_t *upto, dx_error *err);
/* Forget the marks up to seq upto (marks made since stay). */
int dx_store_dirty_clear(dx_crdt_store *s, int64_t upto, dx_error *err);

/* PRAGMA integrity_check: 0 when "ok", else DX_ECORRUPT with the first problem. */
int dx_store_check(dx_crdt_store *s, dx_error *err);

#endif
