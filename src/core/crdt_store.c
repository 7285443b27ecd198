/* crdt_store.c - the CRDT sync buffer in SQLite: documents, updates, meta, compaction. */
#include "diaryx/crdt_store.h"

#include <sqlite3.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "diaryx/clock.h"
#include "diaryx/strmap.h"

#define STMT_CACHE 32

struct dx_crdt_store {
    sqlite3 *db;
    char *path;
    bool in_batch;
    bool in_read; /* dx_store_read_begin */
    /* Prepared statements of the frequent queries, keyed by their SQL text (a literal, so
     * its address is stable): parsing SQL cost more than running it on small documents. */
    struct {
        const char *sql;
        sqlite3_stmt *st;
    } cache[STMT_CACHE];
};

/* A prepared statement for sql (a string literal), from the cache when there. Give it
 * back with unprep. */
static int prep(dx_crdt_store *s, const char *sql, sqlite3_stmt **st)
{
    size_t i = 0;
    for (; i < STMT_CACHE && s->cache[i].sql; i++)
        if (s->cache[i].sql == sql) {
            *st = s->cache[i].st;
            return SQLITE_OK;
        }
    int rc = sqlite3_prepare_v3(s->db, sql, -1, SQLITE_PREPARE_PERSISTENT, st, NULL);
    if (rc == SQLITE_OK && i < STMT_CACHE) {
        s->cache[i].sql = sql;
        s->cache[i].st = *st;
    }
    return rc;
}

/* Done with a statement from prep: reset it (ending its read) or, when it is not cached,
 * finalize it. */
static void unprep(dx_crdt_store *s, sqlite3_stmt *st)
{
    for (size_t i = 0; i < STMT_CACHE && s->cache[i].sql; i++)
        if (s->cache[i].st == st) {
            sqlite3_reset(st);
            sqlite3_clear_bindings(st);
            return;
        }
    sqlite3_finalize(st);
}

static int sql_error(dx_crdt_store *s, int rc, dx_error *err, const char *what)
{
    int code = rc == SQLITE_BUSY || rc == SQLITE_LOCKED      ? DX_EBUSY
               : rc == SQLITE_NOMEM                          ? DX_ENOMEM
               : rc == SQLITE_CORRUPT || rc == SQLITE_NOTADB ? DX_ECORRUPT
                                                             : DX_EIO;
    return dx_error_set(err, code, "%s in '%s': %s", what, s->path, sqlite3_errmsg(s->db));
}

/* Stored bytes that do not decode are damaged, but running out of memory while decoding
 * them says nothing about the bytes. */
static int decode_code(int yrc)
{
    return yrc == Y_ENOMEM ? DX_ENOMEM : DX_ECORRUPT;
}

static int exec(dx_crdt_store *s, const char *sql, dx_error *err)
{
    int rc = sqlite3_exec(s->db, sql, NULL, NULL, NULL);
    return rc == SQLITE_OK ? 0 : sql_error(s, rc, err, "database error");
}

/* BEGIN IMMEDIATE, retried while another writer holds the lock. Inside a batch, nothing. */
static int write_begin(dx_crdt_store *s, dx_error *err)
{
    if (s->in_batch)
        return 0;
    if (s->in_read)
        return dx_error_set(err, DX_ECONFLICT,
                            "'%s' is open for reading only (dx_store_read_begin): end the read "
                            "before writing",
                            s->path);
    for (int attempt = 0;; attempt++) {
        int rc = sqlite3_exec(s->db, "BEGIN IMMEDIATE", NULL, NULL, NULL);
        if (rc == SQLITE_OK)
            return 0;
        if ((rc != SQLITE_BUSY && rc != SQLITE_LOCKED) || attempt >= 20)
            return sql_error(s, rc, err, "cannot start a write transaction");
        usleep(10000);
    }
}

static int write_end(dx_crdt_store *s, int rc, dx_error *err)
{
    if (s->in_batch)
        return rc;
    if (rc) {
        sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
        return rc;
    }
    int src = sqlite3_exec(s->db, "COMMIT", NULL, NULL, NULL);
    if (src != SQLITE_OK) {
        sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
        return sql_error(s, src, err, "cannot commit");
    }
    return 0;
}

static bool has_column(dx_crdt_store *s, const char *table, const char *column)
{
    char sql[128];
    snprintf(sql, sizeof sql, "PRAGMA table_info(%s)", table);
    sqlite3_stmt *st;
    bool found = false;
    if (sqlite3_prepare_v2(s->db, sql, -1, &st, NULL) != SQLITE_OK)
        return false;
    while (sqlite3_step(st) == SQLITE_ROW)
        if (!strcmp((const char *)sqlite3_column_text(st, 1), column))
            found = true;
    sqlite3_finalize(st);
    return found;
}

static int migrate(dx_crdt_store *s, dx_error *err)
{
    sqlite3_stmt *st;
    int version = 0;
    if (sqlite3_prepare_v2(s->db, "PRAGMA user_version", -1, &st, NULL) == SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW)
        version = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    if (version == DX_STORE_SCHEMA_VERSION)
        return 0;
    if (version > DX_STORE_SCHEMA_VERSION)
        return dx_error_set(err, DX_EUNSUPPORTED,
                            "'%s' has schema version %d; this diaryx knows up to %d", s->path,
                            version, DX_STORE_SCHEMA_VERSION);
    int rc = write_begin(s, err);
    if (rc)
        return rc;
    /* The reference implementation's schema: timestamp/device_id/device_name columns. */
    if (has_column(s, "updates", "timestamp"))
        rc = exec(s,
                  "ALTER TABLE updates RENAME TO updates_v0;"
                  "CREATE TABLE updates(id INTEGER PRIMARY KEY AUTOINCREMENT, doc_name TEXT NOT "
                  "NULL, data BLOB NOT NULL, origin TEXT NOT NULL, device TEXT, created_at "
                  "INTEGER NOT NULL);"
                  "INSERT INTO updates(id, doc_name, data, origin, device, created_at) SELECT id, "
                  "doc_name, data, origin, COALESCE(device_name, device_id), timestamp FROM "
                  "updates_v0;"
                  "DROP TABLE updates_v0;",
                  err);
    if (!rc)
        rc = exec(s,
                  "CREATE TABLE IF NOT EXISTS documents(name TEXT PRIMARY KEY, state BLOB NOT "
                  "NULL, state_vector BLOB NOT NULL, updated_at INTEGER NOT NULL);"
                  "CREATE TABLE IF NOT EXISTS updates(id INTEGER PRIMARY KEY AUTOINCREMENT, "
                  "doc_name TEXT NOT NULL, data BLOB NOT NULL, origin TEXT NOT NULL, device TEXT, "
                  "created_at INTEGER NOT NULL);"
                  "CREATE INDEX IF NOT EXISTS idx_updates_doc_id ON updates(doc_name, id);"
                  "CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);",
                  err);
    /* Version 2: the record of materialized files. */
    if (!rc)
        rc = exec(s,
                  "CREATE TABLE IF NOT EXISTS files(path TEXT PRIMARY KEY, doc_id TEXT NOT NULL, "
                  "size INTEGER NOT NULL, mtime_ns INTEGER NOT NULL, hash TEXT NOT NULL);",
                  err);
    /* Version 3: the paths whose record changed since the last commit, kept by triggers so
     * that no writer of `files` can forget them. A path marked again gets a new seq, so
     * clearing up to a seq never drops a mark made after it was read (delete + insert: an
     * OR REPLACE inside a trigger would take the outer statement's conflict policy). Every
     * path recorded before this version is marked: the next commit checks them all. */
    if (!rc)
        rc = exec(s,
                  "CREATE TABLE IF NOT EXISTS dirty(seq INTEGER PRIMARY KEY AUTOINCREMENT, "
                  "path TEXT NOT NULL UNIQUE);"
                  "CREATE TRIGGER IF NOT EXISTS files_added AFTER INSERT ON files BEGIN "
                  "DELETE FROM dirty WHERE path = new.path; "
                  "INSERT INTO dirty(path) VALUES(new.path); END;"
                  "CREATE TRIGGER IF NOT EXISTS files_changed AFTER UPDATE OF path, doc_id, hash "
                  "ON files WHEN old.path IS NOT new.path OR old.doc_id IS NOT new.doc_id OR "
                  "old.hash IS NOT new.hash BEGIN "
                  "DELETE FROM dirty WHERE path IN (old.path, new.path); "
                  "INSERT INTO dirty(path) VALUES(old.path); "
                  "INSERT INTO dirty(path) SELECT new.path WHERE new.path IS NOT old.path; END;"
                  "CREATE TRIGGER IF NOT EXISTS files_removed AFTER DELETE ON files BEGIN "
                  "DELETE FROM dirty WHERE path = old.path; "
                  "INSERT INTO dirty(path) VALUES(old.path); END;"
                  "INSERT OR IGNORE INTO dirty(path) SELECT path FROM files;"
                  "PRAGMA user_version = 3;",
                  err);
    return write_end(s, rc, err);
}

int dx_store_open(const char *path, dx_crdt_store **out, dx_error *err)
{
    *out = NULL;
    dx_crdt_store *s = calloc(1, sizeof *s);
    if (!s || !(s->path = strdup(path))) {
        free(s);
        return dx_error_set(err, DX_ENOMEM, "out of memory");
    }
    int rc = sqlite3_open_v2(
        path, &s->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL);
    if (rc != SQLITE_OK) {
        rc = dx_error_set(err, DX_EIO, "cannot open the CRDT store '%s': %s", path,
                          s->db ? sqlite3_errmsg(s->db) : sqlite3_errstr(rc));
        dx_store_close(s);
        return rc;
    }
    sqlite3_busy_timeout(s->db, 5000);
    /* WAL must be confirmed: the pragma answers the mode actually in force. */
    sqlite3_stmt *st;
    bool wal = false;
    if (sqlite3_prepare_v2(s->db, "PRAGMA journal_mode=WAL", -1, &st, NULL) == SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW)
        wal = !strcmp((const char *)sqlite3_column_text(st, 0), "wal");
    sqlite3_finalize(st);
    if (!wal) {
        int code =
            sqlite3_errcode(s->db) == SQLITE_NOTADB || sqlite3_errcode(s->db) == SQLITE_CORRUPT
                ? DX_ECORRUPT
                : DX_EIO;
        rc = dx_error_set(err, code, "cannot use '%s': %s", path,
                          sqlite3_errmsg(s->db)[0] && strcmp(sqlite3_errmsg(s->db), "not an error")
                              ? sqlite3_errmsg(s->db)
                              : "the database could not switch to WAL mode");
        dx_store_close(s);
        return rc;
    }
    if ((rc = exec(s, "PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON", err)) ||
        (rc = migrate(s, err))) {
        dx_store_close(s);
        return rc;
    }
    *out = s;
    return 0;
}

void dx_store_close(dx_crdt_store *s)
{
    if (!s)
        return;
    if (s->in_batch || s->in_read)
        sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
    for (size_t i = 0; i < STMT_CACHE; i++)
        sqlite3_finalize(s->cache[i].st);
    sqlite3_close(s->db);
    free(s->path);
    free(s);
}

int dx_store_begin(dx_crdt_store *s, dx_error *err)
{
    if (s->in_batch)
        return dx_error_set(err, DX_ECONFLICT, "a batch is already open on '%s'", s->path);
    int rc = write_begin(s, err);
    if (!rc)
        s->in_batch = true;
    return rc;
}

int dx_store_commit(dx_crdt_store *s, dx_error *err)
{
    if (!s->in_batch)
        return dx_error_set(err, DX_ECONFLICT, "no batch is open on '%s'", s->path);
    s->in_batch = false;
    return write_end(s, 0, err);
}

void dx_store_rollback(dx_crdt_store *s)
{
    if (s->in_batch) {
        s->in_batch = false;
        sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
    }
}

int dx_store_read_begin(dx_crdt_store *s, dx_error *err)
{
    if (s->in_batch || s->in_read)
        return dx_error_set(err, DX_ECONFLICT, "a transaction is already open on '%s'", s->path);
    /* A deferred transaction takes its snapshot at the first read: take it now. */
    int rc = exec(s, "BEGIN; SELECT count(*) FROM sqlite_master", err);
    if (!rc)
        s->in_read = true;
    else
        sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
    return rc;
}

void dx_store_read_end(dx_crdt_store *s)
{
    if (s && s->in_read) {
        s->in_read = false;
        sqlite3_exec(s->db, "COMMIT", NULL, NULL, NULL); /* nothing written: cannot fail */
    }
}

int dx_store_append(dx_crdt_store *s, const char *doc, const uint8_t *update, size_t len,
                    const char *origin, const char *device, int64_t *id, dx_error *err)
{
    int yrc = y_update_validate(update, len);
    if (yrc)
        return dx_error_set(err, decode_code(yrc), "update for '%s' does not decode: %s", doc,
                            y_strerror(yrc));
    int rc = write_begin(s, err);
    if (rc)
        return rc;
    sqlite3_stmt *st = NULL;
    int src = prep(s,
                   "INSERT INTO updates(doc_name, data, origin, device, created_at) "
                   "VALUES(?, ?, ?, ?, ?)",
                   &st);
    if (src == SQLITE_OK) {
        sqlite3_bind_text(st, 1, doc, -1, SQLITE_STATIC);
        sqlite3_bind_blob(st, 2, update, (int)len, SQLITE_STATIC);
        sqlite3_bind_text(st, 3, origin ? origin : "local", -1, SQLITE_STATIC);
        if (device)
            sqlite3_bind_text(st, 4, device, -1, SQLITE_STATIC);
        else
            sqlite3_bind_null(st, 4);
        sqlite3_bind_int64(st, 5, dx_now_ms());
        src = sqlite3_step(st);
    }
    if (src != SQLITE_DONE)
        rc = sql_error(s, src, err, "cannot store an update");
    else if (id)
        *id = sqlite3_last_insert_rowid(s->db);
    if (st)
        unprep(s, st);
    return write_end(s, rc, err);
}

/* Apply the snapshot and the updates with id <= max_id (INT64_MAX: all) to d. *found tells
 * whether anything existed; *first_id receives the smallest stored update id (0: none). */
static int apply_stored(dx_crdt_store *s, const char *doc, int64_t max_id, y_doc *d, bool *found,
                        int64_t *first_id, dx_error *err)
{
    sqlite3_stmt *st;
    int rc = 0, src;
    *found = false;
    if (first_id)
        *first_id = 0;
    if (prep(s, "SELECT state FROM documents WHERE name = ?", &st) != SQLITE_OK)
        return sql_error(s, SQLITE_ERROR, err, "cannot read a snapshot");
    sqlite3_bind_text(st, 1, doc, -1, SQLITE_STATIC);
    if ((src = sqlite3_step(st)) == SQLITE_ROW) {
        *found = true;
        int yrc = y_apply_update(d, sqlite3_column_blob(st, 0), (size_t)sqlite3_column_bytes(st, 0),
                                 NULL);
        if (yrc)
            rc = dx_error_set(err, decode_code(yrc),
                              "the snapshot of '%s' in '%s' does not decode: %s", doc, s->path,
                              y_strerror(yrc));
    } else if (src != SQLITE_DONE) {
        rc = sql_error(s, src, err, "cannot read a snapshot");
    }
    unprep(s, st);
    if (rc)
        return rc;
    if (prep(s, "SELECT id, data FROM updates WHERE doc_name = ? ORDER BY id", &st) != SQLITE_OK)
        return sql_error(s, SQLITE_ERROR, err, "cannot read updates");
    sqlite3_bind_text(st, 1, doc, -1, SQLITE_STATIC);
    while (!rc && (src = sqlite3_step(st)) == SQLITE_ROW) {
        int64_t uid = sqlite3_column_int64(st, 0);
        if (first_id && !*first_id)
            *first_id = uid;
        *found = true;
        if (uid > max_id)
            break;
        int yrc = y_apply_update(d, sqlite3_column_blob(st, 1), (size_t)sqlite3_column_bytes(st, 1),
                                 NULL);
        if (yrc)
            rc = dx_error_set(err, decode_code(yrc),
                              "update %lld of '%s' in '%s' does not decode: %s", (long long)uid,
                              doc, s->path, y_strerror(yrc));
    }
    /* A step that fails (out of memory, I/O) must not pass for the end of the updates: a
     * compaction would fold what was read so far and delete the rest. */
    if (!rc && src != SQLITE_ROW && src != SQLITE_DONE)
        rc = sql_error(s, src, err, "cannot read updates");
    unprep(s, st);
    return rc;
}

int dx_store_load(dx_crdt_store *s, const char *doc, y_doc *into, dx_error *err)
{
    bool found;
    int rc = apply_stored(s, doc, INT64_MAX, into, &found, NULL, err);
    if (!rc && !found)
        rc = dx_error_set(err, DX_ENOTFOUND, "no document '%s' in '%s'", doc, s->path);
    return rc;
}

static int fresh_doc(y_doc **d, dx_error *err)
{
    y_doc_options o = Y_DOC_OPTIONS_INIT;
    o.client_id = 0; /* never writes: any id will do */
    o.has_client_id = true;
    return y_doc_new(d, &o) == Y_OK ? 0 : dx_error_set(err, DX_ENOMEM, "out of memory");
}

int dx_store_state_at(dx_crdt_store *s, const char *doc, int64_t id, uint8_t **out, size_t *len,
                      dx_error *err)
{
    sqlite3_stmt *st;
    bool exists = false;
    if (sqlite3_prepare_v2(s->db, "SELECT 1 FROM updates WHERE doc_name = ? AND id = ?", -1, &st,
                           NULL) == SQLITE_OK) {
        sqlite3_bind_text(st, 1, doc, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 2, id);
        exists = sqlite3_step(st) == SQLITE_ROW;
    }
    sqlite3_finalize(st);
    if (!exists) {
        /* Folded into the snapshot, or never there: tell which. */
        return dx_error_set(err, DX_ENOTFOUND,
                            "update %lld of '%s' is not in '%s' (unknown, or folded into the "
                            "snapshot by compaction)",
                            (long long)id, doc, s->path);
    }
    y_doc *d;
    int rc = fresh_doc(&d, err);
    bool found;
    if (!rc)
        rc = apply_stored(s, doc, id, d, &found, NULL, err);
    if (!rc && y_encode_state_as_update(d, NULL, 0, out, len) != Y_OK)
        rc = dx_error_set(err, DX_ENOMEM, "out of memory");
    y_doc_free(d);
    return rc;
}

static int run_doc_sql(dx_crdt_store *s, const char *sql, const char *a, const char *b,
                       dx_error *err)
{
    sqlite3_stmt *st;
    int src = prep(s, sql, &st);
    if (src == SQLITE_OK) {
        sqlite3_bind_text(st, 1, a, -1, SQLITE_STATIC);
        if (b)
            sqlite3_bind_text(st, 2, b, -1, SQLITE_STATIC);
        src = sqlite3_step(st);
        unprep(s, st);
    }
    return src == SQLITE_DONE ? 0 : sql_error(s, src, err, "database error");
}

/* The id of the newest update of doc (NULL: of any doc); 0 when there is none. */
static int64_t last_id(dx_crdt_store *s, const char *doc)
{
    sqlite3_stmt *st;
    int64_t id = 0;
    if (prep(s,
             doc ? "SELECT MAX(id) FROM updates WHERE doc_name = ?"
                 : "SELECT seq FROM sqlite_sequence WHERE name = 'updates'",
             &st) == SQLITE_OK) {
        if (doc)
            sqlite3_bind_text(st, 1, doc, -1, SQLITE_STATIC);
        if (sqlite3_step(st) == SQLITE_ROW)
            id = sqlite3_column_int64(st, 0);
        unprep(s, st);
    }
    return id;
}

int64_t dx_store_last_id(dx_crdt_store *s, const char *doc)
{
    return last_id(s, doc);
}

int64_t dx_store_last_change_ms(dx_crdt_store *s)
{
    /* A document whose updates were all folded keeps the time of its snapshot. */
    static const char sql[] = "SELECT MAX(t) FROM (SELECT MAX(created_at) AS t FROM updates "
                              "UNION ALL SELECT MAX(updated_at) FROM documents WHERE name NOT IN "
                              "(SELECT doc_name FROM updates))";
    sqlite3_stmt *st;
    int64_t t = 0;
    if (prep(s, sql, &st) == SQLITE_OK) {
        if (sqlite3_step(st) == SQLITE_ROW)
            t = sqlite3_column_int64(st, 0);
        unprep(s, st);
    }
    return t;
}

int dx_store_updates_after(dx_crdt_store *s, int64_t after_id, dx_store_update_fn fn, void *user,
                           dx_error *err)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(s->db, "SELECT doc_name, data FROM updates WHERE id > ? ORDER BY id", -1,
                           &st, NULL) != SQLITE_OK)
        return sql_error(s, SQLITE_ERROR, err, "cannot read updates");
    sqlite3_bind_int64(st, 1, after_id);
    int rc = 0, src;
    while (!rc && (src = sqlite3_step(st)) == SQLITE_ROW)
        rc = fn(user, (const char *)sqlite3_column_text(st, 0), sqlite3_column_blob(st, 1),
                (size_t)sqlite3_column_bytes(st, 1));
    if (!rc && src != SQLITE_DONE)
        rc = sql_error(s, src, err, "cannot read updates");
    else if (rc)
        rc = dx_error_set(err, rc, "cannot take in the updates after %lld", (long long)after_id);
    sqlite3_finalize(st);
    return rc;
}

/* The first column of every row of sql (one integer parameter), appended to out. */
static int query_names(dx_crdt_store *s, const char *sql, int64_t param, dx_strlist *out,
                       dx_error *err)
{
    sqlite3_stmt *st;
    if (prep(s, sql, &st) != SQLITE_OK)
        return sql_error(s, SQLITE_ERROR, err, "cannot list documents");
    sqlite3_bind_int64(st, 1, param);
    int rc = 0, src;
    while (!rc && (src = sqlite3_step(st)) == SQLITE_ROW)
        if (dx_strlist_push(out, (const char *)sqlite3_column_text(st, 0)))
            rc = dx_error_set(err, DX_ENOMEM, "out of memory");
    if (!rc && src != SQLITE_DONE)
        rc = sql_error(s, src, err, "cannot list documents");
    unprep(s, st);
    return rc;
}

int dx_store_docs_over(dx_crdt_store *s, size_t keep, dx_strlist *docs, dx_error *err)
{
    return query_names(s, "SELECT doc_name FROM updates GROUP BY doc_name HAVING COUNT(*) > ?",
                       (int64_t)keep, docs, err);
}

int dx_store_changed_since(dx_crdt_store *s, int64_t after_id, dx_strlist *docs, dx_error *err)
{
    /* A range of ids, deduplicated here: with DISTINCT, SQLite scans the whole
     * (doc_name, id) index instead. */
    dx_strlist all = DX_STRLIST_INIT;
    dx_strmap seen = DX_STRMAP_INIT;
    int rc = query_names(s, "SELECT doc_name FROM updates WHERE id > ? ORDER BY id", after_id, &all,
                         err);
    for (size_t i = 0; !rc && i < all.len; i++) {
        if (dx_strmap_get(&seen, all.items[i]))
            continue;
        if (dx_strmap_put(&seen, all.items[i], (void *)1) || dx_strlist_push(docs, all.items[i]))
            rc = dx_error_set(err, DX_ENOMEM, "out of memory");
    }
    dx_strmap_release(&seen);
    dx_strlist_release(&all);
    return rc;
}

bool dx_store_foreign_since(dx_crdt_store *s, int64_t after_id)
{
    sqlite3_stmt *st;
    bool found = true; /* when in doubt, say yes: the caller then checks everything */
    if (prep(s, "SELECT 1 FROM updates WHERE id > ? AND origin != 'local' LIMIT 1", &st) ==
        SQLITE_OK) {
        sqlite3_bind_int64(st, 1, after_id);
        found = sqlite3_step(st) != SQLITE_DONE;
        unprep(s, st);
    }
    return found;
}

int dx_store_load_upto(dx_crdt_store *s, const char *doc, int64_t max_id, y_doc *into,
                       dx_error *err)
{
    char key[320];
    dx_buf v = DX_BUF_INIT;
    snprintf(key, sizeof key, "folded/%s", doc);
    int rc = dx_store_meta_get(s, key, &v, NULL);
    long long folded = rc == 0 ? strtoll(v.data, NULL, 10) : 0;
    dx_buf_release(&v);
    if (folded > max_id)
        return dx_error_set(err, DX_ENOTFOUND,
                            "the state of '%s' at update %lld was folded into its snapshot", doc,
                            (long long)max_id);
    bool found;
    return apply_stored(s, doc, max_id, into, &found, NULL, err);
}

int dx_store_compact(dx_crdt_store *s, const char *doc, size_t keep_recent, dx_error *err)
{
    int rc = write_begin(s, err);
    if (rc)
        return rc;
    /* The newest update to fold: the one after the keep_recent newest. None: a document
     * with no more than keep_recent updates is left as it is (no snapshot rewrite). */
    sqlite3_stmt *st;
    int64_t upto = 0;
    if (prep(s, "SELECT id FROM updates WHERE doc_name = ? ORDER BY id DESC LIMIT 1 OFFSET ?",
             &st) != SQLITE_OK) {
        rc = sql_error(s, SQLITE_ERROR, err, "cannot compact");
        return write_end(s, rc, err);
    }
    sqlite3_bind_text(st, 1, doc, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, (int64_t)keep_recent);
    int src = sqlite3_step(st);
    if (src == SQLITE_ROW)
        upto = sqlite3_column_int64(st, 0);
    unprep(s, st);
    if (src != SQLITE_ROW)
        return write_end(s, 0, err);
    /* A synced workspace: what the server has not acknowledged stays as it is. */
    dx_buf acked = DX_BUF_INIT;
    if (dx_store_meta_get(s, DX_STORE_META_SYNC_ACKED, &acked, NULL) == 0) {
        int64_t a = strtoll(acked.data, NULL, 10);
        if (a < upto)
            upto = a;
    }
    dx_buf_release(&acked);
    if (upto <= 0)
        return write_end(s, 0, err);
    /* Fold the snapshot and the updates up to upto into a new snapshot. */
    y_doc *d = NULL;
    bool found;
    uint8_t *state = NULL, *sv = NULL;
    size_t state_len = 0, sv_len = 0;
    if (!(rc = fresh_doc(&d, err)))
        rc = apply_stored(s, doc, upto, d, &found, NULL, err);
    if (!rc && (y_encode_state_as_update(d, NULL, 0, &state, &state_len) != Y_OK ||
                y_encode_state_vector(d, &sv, &sv_len) != Y_OK))
        rc = dx_error_set(err, DX_ENOMEM, "out of memory");
    if (!rc) {
        src = sqlite3_prepare_v2(s->db,
                                 "INSERT INTO documents(name, state, state_vector, updated_at) "
                                 "VALUES(?, ?, ?, ?) ON CONFLICT(name) DO UPDATE SET "
                                 "state = excluded.state, state_vector = excluded.state_vector, "
                                 "updated_at = excluded.updated_at",
                                 -1, &st, NULL);
        if (src == SQLITE_OK) {
            sqlite3_bind_text(st, 1, doc, -1, SQLITE_STATIC);
            sqlite3_bind_blob(st, 2, state, (int)state_len, SQLITE_STATIC);
            sqlite3_bind_blob(st, 3, sv, (int)sv_len, SQLITE_STATIC);
            sqlite3_bind_int64(st, 4, dx_now_ms());
            src = sqlite3_step(st);
            sqlite3_finalize(st);
        }
        if (src != SQLITE_DONE)
            rc = sql_error(s, src, err, "cannot write a snapshot");
    }
    if (!rc) {
        src = sqlite3_prepare_v2(s->db, "DELETE FROM updates WHERE doc_name = ? AND id <= ?", -1,
                                 &st, NULL);
        if (src == SQLITE_OK) {
            sqlite3_bind_text(st, 1, doc, -1, SQLITE_STATIC);
            sqlite3_bind_int64(st, 2, upto);
            src = sqlite3_step(st);
            sqlite3_finalize(st);
        }
        if (src != SQLITE_DONE)
            rc = sql_error(s, src, err, "cannot remove folded updates");
    }
    /* The newest folded id: states before it can no longer be rebuilt. */
    if (!rc) {
        char key[320], val[32];
        snprintf(key, sizeof key, "folded/%s", doc);
        snprintf(val, sizeof val, "%lld", (long long)upto);
        rc = run_doc_sql(s,
                         "INSERT INTO meta(key, value) VALUES(?1, ?2) ON CONFLICT(key) DO "
                         "UPDATE SET value = excluded.value",
                         key, val, err);
    }
    y_free(state);
    y_free(sv);
    y_doc_free(d);
    return write_end(s, rc, err);
}

int dx_store_list(dx_crdt_store *s, dx_store_doc_info **out, size_t *n, dx_error *err)
{
    sqlite3_stmt *st;
    *out = NULL;
    *n = 0;
    if (sqlite3_prepare_v2(
            s->db,
            "SELECT name, SUM(snap), SUM(cnt), SUM(bytes) FROM ("
            " SELECT name, length(state) AS snap, 0 AS cnt, 0 AS bytes FROM documents"
            " UNION ALL SELECT doc_name, 0, COUNT(*), SUM(length(data)) FROM updates GROUP BY "
            "doc_name) GROUP BY name ORDER BY name",
            -1, &st, NULL) != SQLITE_OK)
        return sql_error(s, SQLITE_ERROR, err, "cannot list documents");
    size_t cap = 0;
    int rc = 0, src;
    while ((src = sqlite3_step(st)) == SQLITE_ROW) {
        if (*n == cap) {
            cap = cap ? cap * 2 : 16;
            dx_store_doc_info *p = realloc(*out, cap * sizeof *p);
            if (!p) {
                rc = dx_error_set(err, DX_ENOMEM, "out of memory");
                break;
            }
            *out = p;
        }
        dx_store_doc_info *d = &(*out)[*n];
        if (!(d->name = strdup((const char *)sqlite3_column_text(st, 0)))) {
            rc = dx_error_set(err, DX_ENOMEM, "out of memory");
            break;
        }
        d->snapshot_bytes = (size_t)sqlite3_column_int64(st, 1);
        d->updates = (size_t)sqlite3_column_int64(st, 2);
        d->update_bytes = (size_t)sqlite3_column_int64(st, 3);
        (*n)++;
    }
    if (!rc && src != SQLITE_DONE)
        rc = sql_error(s, src, err, "cannot list documents");
    sqlite3_finalize(st);
    if (rc) { /* nothing half-listed reaches the caller */
        dx_store_docs_free(*out, *n);
        *out = NULL;
        *n = 0;
    }
    return rc;
}

void dx_store_docs_free(dx_store_doc_info *docs, size_t n)
{
    for (size_t i = 0; docs && i < n; i++)
        free(docs[i].name);
    free(docs);
}

int dx_store_history(dx_crdt_store *s, const char *doc, size_t limit, dx_store_update_info **out,
                     size_t *n, dx_error *err)
{
    sqlite3_stmt *st;
    *out = NULL;
    *n = 0;
    if (sqlite3_prepare_v2(s->db,
                           "SELECT id, created_at, origin, device, length(data) FROM updates "
                           "WHERE doc_name = ? ORDER BY id DESC LIMIT ?",
                           -1, &st, NULL) != SQLITE_OK)
        return sql_error(s, SQLITE_ERROR, err, "cannot read the history");
    sqlite3_bind_text(st, 1, doc, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, (int64_t)limit);
    *out = calloc(limit ? limit : 1, sizeof **out);
    if (!*out) {
        sqlite3_finalize(st);
        return dx_error_set(err, DX_ENOMEM, "out of memory");
    }
    int rc = 0, src = SQLITE_DONE;
    while (!rc && *n < limit && (src = sqlite3_step(st)) == SQLITE_ROW) {
        dx_store_update_info *h = &(*out)[(*n)++];
        h->id = sqlite3_column_int64(st, 0);
        h->created_at = sqlite3_column_int64(st, 1);
        h->origin = strdup((const char *)sqlite3_column_text(st, 2));
        h->device = sqlite3_column_type(st, 3) == SQLITE_NULL
                        ? NULL
                        : strdup((const char *)sqlite3_column_text(st, 3));
        h->bytes = (size_t)sqlite3_column_int64(st, 4);
        if (!h->origin || (!h->device && sqlite3_column_type(st, 3) != SQLITE_NULL))
            rc = dx_error_set(err, DX_ENOMEM, "out of memory");
    }
    if (!rc && src != SQLITE_ROW && src != SQLITE_DONE)
        rc = sql_error(s, src, err, "cannot read the history");
    sqlite3_finalize(st);
    if (rc) {
        dx_store_history_free(*out, *n);
        *out = NULL;
        *n = 0;
    }
    return rc;
}

void dx_store_history_free(dx_store_update_info *h, size_t n)
{
    for (size_t i = 0; h && i < n; i++) {
        free(h[i].origin);
        free(h[i].device);
    }
    free(h);
}

int dx_store_rename(dx_crdt_store *s, const char *from, const char *to, dx_error *err)
{
    dx_store_doc_info *docs;
    size_t n;
    int rc = dx_store_list(s, &docs, &n, err);
    bool taken = false;
    for (size_t i = 0; !rc && i < n; i++)
        taken |= !strcmp(docs[i].name, to);
    dx_store_docs_free(docs, n);
    if (rc)
        return rc;
    if (taken)
        return dx_error_set(err, DX_EEXIST, "document '%s' already exists in '%s'", to, s->path);
    if ((rc = write_begin(s, err)))
        return rc;
    rc = run_doc_sql(s, "UPDATE documents SET name = ?2 WHERE name = ?1", from, to, err);
    if (!rc)
        rc = run_doc_sql(s, "UPDATE updates SET doc_name = ?2 WHERE doc_name = ?1", from, to, err);
    return write_end(s, rc, err);
}

int dx_store_delete(dx_crdt_store *s, const char *doc, dx_error *err)
{
    int rc = write_begin(s, err);
    if (rc)
        return rc;
    rc = run_doc_sql(s, "DELETE FROM documents WHERE name = ?1", doc, NULL, err);
    if (!rc)
        rc = run_doc_sql(s, "DELETE FROM updates WHERE doc_name = ?1", doc, NULL, err);
    return write_end(s, rc, err);
}

int dx_store_meta_get(dx_crdt_store *s, const char *key, dx_buf *out, dx_error *err)
{
    sqlite3_stmt *st;
    if (prep(s, "SELECT value FROM meta WHERE key = ?", &st) != SQLITE_OK)
        return sql_error(s, SQLITE_ERROR, err, "cannot read meta");
    sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
    int src = sqlite3_step(st);
    int rc = src == SQLITE_ROW    ? dx_buf_puts(out, (const char *)sqlite3_column_text(st, 0))
             : src == SQLITE_DONE ? dx_error_set(err, DX_ENOTFOUND,
                                                 "no '%s' in the meta table of '%s'", key, s->path)
                                  : sql_error(s, src, err, "cannot read meta");
    if (rc == DX_ENOMEM && src == SQLITE_ROW)
        dx_error_set(err, rc, "cannot read '%s' from '%s': out of memory", key, s->path);
    unprep(s, st);
    return rc;
}

int dx_store_meta_set(dx_crdt_store *s, const char *key, const char *value, dx_error *err)
{
    int rc = write_begin(s, err);
    if (rc)
        return rc;
    rc = value ? run_doc_sql(s,
                             "INSERT INTO meta(key, value) VALUES(?1, ?2) ON CONFLICT(key) DO "
                             "UPDATE SET value = excluded.value",
                             key, value, err)
               : run_doc_sql(s, "DELETE FROM meta WHERE key = ?1", key, NULL, err);
    return write_end(s, rc, err);
}

int dx_store_meta_clear_if(dx_crdt_store *s, const char *key, const char *value, dx_error *err)
{
    int rc = write_begin(s, err);
    if (!rc)
        rc = run_doc_sql(s, "DELETE FROM meta WHERE key = ?1 AND value = ?2", key, value, err);
    return write_end(s, rc, err);
}

int dx_store_check(dx_crdt_store *s, dx_error *err)
{
    sqlite3_stmt *st;
    int rc = 0;
    if (sqlite3_prepare_v2(s->db, "PRAGMA integrity_check", -1, &st, NULL) != SQLITE_OK)
        return sql_error(s, SQLITE_ERROR, err, "cannot check");
    if (sqlite3_step(st) == SQLITE_ROW &&
        strcmp((const char *)sqlite3_column_text(st, 0), "ok") != 0)
        rc = dx_error_set(err, DX_ECORRUPT, "'%s' is damaged: %s", s->path,
                          (const char *)sqlite3_column_text(st, 0));
    sqlite3_finalize(st);
    return rc;
}

/* A text column into a fixed buffer, cut to fit (snprintf costs more than the query for a
 * 10k-row table read on every command). */
static void column_copy(sqlite3_stmt *st, int col, char *out, size_t cap)
{
    const unsigned char *t = sqlite3_column_text(st, col);
    size_t n = t ? (size_t)sqlite3_column_bytes(st, col) : 0;
    n = n < cap ? n : cap - 1;
    if (n)
        memcpy(out, t, n);
    out[n] = 0;
}

#define FILE_COLUMNS "path, doc_id, size, mtime_ns, hash"

/* The record of one row of FILE_COLUMNS, but its path (the caller's to copy or not). */
static void record_from_row(sqlite3_stmt *st, dx_store_file *f)
{
    memset(f, 0, sizeof *f);
    column_copy(st, 1, f->doc_id, sizeof f->doc_id);
    f->size = sqlite3_column_int64(st, 2);
    f->mtime_ns = sqlite3_column_int64(st, 3);
    column_copy(st, 4, f->hash, sizeof f->hash);
}

int dx_store_files(dx_crdt_store *s, dx_store_file **out, size_t *n, dx_error *err)
{
    sqlite3_stmt *st;
    *out = NULL;
    *n = 0;
    if (sqlite3_prepare_v2(s->db, "SELECT " FILE_COLUMNS " FROM files ORDER BY path", -1, &st,
                           NULL) != SQLITE_OK)
        return sql_error(s, SQLITE_ERROR, err, "cannot read the file records");
    size_t cap = 0;
    int rc = 0, src;
    while (!rc && (src = sqlite3_step(st)) == SQLITE_ROW) {
        if (*n == cap) {
            cap = cap ? cap * 2 : 64;
            dx_store_file *p = realloc(*out, cap * sizeof *p);
            if (!p) {
                rc = dx_error_set(err, DX_ENOMEM, "out of memory");
                break;
            }
            *out = p;
        }
        dx_store_file *f = &(*out)[*n];
        record_from_row(st, f);
        if (!(f->path = strdup((const char *)sqlite3_column_text(st, 0)))) {
            rc = dx_error_set(err, DX_ENOMEM, "out of memory");
            break;
        }
        (*n)++;
    }
    /* A failed step is not the end of the records: a missing record reads as a new file. */
    if (!rc && src != SQLITE_DONE)
        rc = sql_error(s, src, err, "cannot read the file records");
    sqlite3_finalize(st);
    if (rc) {
        dx_store_files_free(*out, *n);
        *out = NULL;
        *n = 0;
    }
    return rc;
}

int dx_store_file_get(dx_crdt_store *s, const char *path, dx_store_file *out, dx_error *err)
{
    sqlite3_stmt *st;
    if (prep(s, "SELECT " FILE_COLUMNS " FROM files WHERE path = ?", &st) != SQLITE_OK)
        return sql_error(s, SQLITE_ERROR, err, "cannot read the file records");
    sqlite3_bind_text(st, 1, path, -1, SQLITE_STATIC);
    int rc = 0, src = sqlite3_step(st);
    if (src == SQLITE_ROW) {
        record_from_row(st, out);
    } else if (src == SQLITE_DONE) {
        rc = dx_error_set(err, DX_ENOTFOUND, "no record of '%s'", path);
    } else {
        rc = sql_error(s, src, err, "cannot read the file records");
    }
    unprep(s, st);
    return rc;
}

void dx_store_files_free(dx_store_file *files, size_t n)
{
    for (size_t i = 0; files && i < n; i++)
        free(files[i].path);
    free(files);
}

int dx_store_file_put(dx_crdt_store *s, const dx_store_file *f, dx_error *err)
{
    int rc = write_begin(s, err);
    if (rc)
        return rc;
    sqlite3_stmt *st;
    int src = prep(s,
                   "INSERT INTO files(path, doc_id, size, mtime_ns, hash) VALUES(?, ?, ?, ?, ?) "
                   "ON CONFLICT(path) DO UPDATE SET doc_id = excluded.doc_id, size = "
                   "excluded.size, mtime_ns = excluded.mtime_ns, hash = excluded.hash",
                   &st);
    if (src == SQLITE_OK) {
        sqlite3_bind_text(st, 1, f->path, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, f->doc_id, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 3, f->size);
        sqlite3_bind_int64(st, 4, f->mtime_ns);
        sqlite3_bind_text(st, 5, f->hash, -1, SQLITE_STATIC);
        src = sqlite3_step(st);
        unprep(s, st);
    }
    if (src != SQLITE_DONE)
        rc = sql_error(s, src, err, "cannot record a file");
    return write_end(s, rc, err);
}

int dx_store_dirty(dx_crdt_store *s, dx_strlist *paths, int64_t *upto, dx_error *err)
{
    sqlite3_stmt *st;
    *upto = 0;
    int src = prep(s, "SELECT seq, path FROM dirty ORDER BY seq", &st);
    if (src != SQLITE_OK)
        return sql_error(s, src, err, "cannot read the changed file records");
    int rc = 0;
    while (!rc && (src = sqlite3_step(st)) == SQLITE_ROW) {
        *upto = sqlite3_column_int64(st, 0);
        if (dx_strlist_push(paths, (const char *)sqlite3_column_text(st, 1)))
            rc = dx_error_set(err, DX_ENOMEM, "out of memory");
    }
    if (!rc && src != SQLITE_DONE)
        rc = sql_error(s, src, err, "cannot read the changed file records");
    unprep(s, st);
    return rc;
}

int dx_store_dirty_clear(dx_crdt_store *s, int64_t upto, dx_error *err)
{
    int rc = write_begin(s, err);
    if (rc)
        return rc;
    sqlite3_stmt *st;
    int src = prep(s, "DELETE FROM dirty WHERE seq <= ?", &st);
    if (src == SQLITE_OK) {
        sqlite3_bind_int64(st, 1, upto);
        src = sqlite3_step(st);
        unprep(s, st);
    }
    if (src != SQLITE_DONE)
        rc = sql_error(s, src, err, "cannot clear the changed file records");
    return write_end(s, rc, err);
}

int dx_store_file_remove(dx_crdt_store *s, const char *path, dx_error *err)
{
    int rc = write_begin(s, err);
    if (!rc)
        rc = run_doc_sql(s, "DELETE FROM files WHERE path = ?1", path, NULL, err);
    return write_end(s, rc, err);
}
