/* accounts.c - users, API tokens and workspace ownership in SQLite (see accounts.h). */
#include "accounts.h"

#include <jansson.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "diaryx/clock.h"
#include "diaryx/hash.h"

struct srv_accounts {
    sqlite3 *db;
};

static const char SCHEMA[] =
    "CREATE TABLE IF NOT EXISTS users(id INTEGER PRIMARY KEY, email TEXT NOT NULL UNIQUE,"
    " plan TEXT NOT NULL DEFAULT 'free', created_at INTEGER NOT NULL);"
    "CREATE TABLE IF NOT EXISTS devices(id TEXT PRIMARY KEY, user_id INTEGER NOT NULL"
    " REFERENCES users(id) ON DELETE CASCADE, name TEXT NOT NULL, created_at INTEGER NOT NULL);"
    "CREATE TABLE IF NOT EXISTS tokens(hash TEXT PRIMARY KEY, user_id INTEGER NOT NULL"
    " REFERENCES users(id) ON DELETE CASCADE, device TEXT, created_at INTEGER NOT NULL,"
    " expires_at INTEGER NOT NULL DEFAULT 0, readonly INTEGER NOT NULL DEFAULT 0,"
    " device_id TEXT REFERENCES devices(id) ON DELETE CASCADE);"
    "CREATE TABLE IF NOT EXISTS links(hash TEXT PRIMARY KEY, email TEXT NOT NULL,"
    " created_at INTEGER NOT NULL, expires_at INTEGER NOT NULL, used_at INTEGER NOT NULL"
    " DEFAULT 0);"
    "CREATE INDEX IF NOT EXISTS links_email ON links(email, created_at);"
    "CREATE TABLE IF NOT EXISTS workspaces(id TEXT PRIMARY KEY, owner INTEGER NOT NULL"
    " REFERENCES users(id) ON DELETE CASCADE, name TEXT NOT NULL, created_at INTEGER NOT NULL);"
    "CREATE INDEX IF NOT EXISTS workspaces_owner ON workspaces(owner);";

/* Version 1 had no devices: its tokens table gains the column sessions are bound by. */
static const char MIGRATE_1[] =
    "ALTER TABLE tokens ADD COLUMN device_id TEXT REFERENCES devices(id) ON DELETE CASCADE;";

static int db_fail(srv_accounts *a, int src, dx_error *err)
{
    return dx_error_set(err,
                        src == SQLITE_NOMEM  ? DX_ENOMEM
                        : src == SQLITE_BUSY ? DX_EBUSY
                                             : DX_EIO,
                        "accounts database: %s", sqlite3_errmsg(a->db));
}

static bool has_device_column(sqlite3 *db)
{
    sqlite3_stmt *st = NULL;
    bool has = sqlite3_prepare_v2(db, "SELECT device_id FROM tokens", -1, &st, NULL) == SQLITE_OK;
    sqlite3_finalize(st);
    return has;
}

int srv_accounts_open(const char *path, srv_accounts **out, dx_error *err)
{
    srv_accounts *a = calloc(1, sizeof *a);
    if (!a)
        return dx_error_set(err, DX_ENOMEM, "out of memory");
    int src = sqlite3_open_v2(
        path, &a->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOFOLLOW, NULL);
    int rc = 0;
    if (src != SQLITE_OK) {
        rc = dx_error_set(err, DX_EIO, "cannot open the accounts database '%s': %s", path,
                          a->db ? sqlite3_errmsg(a->db) : "out of memory");
    } else {
        sqlite3_busy_timeout(a->db, 5000);
        char *msg = NULL;
        if (sqlite3_exec(a->db, "PRAGMA journal_mode=WAL; PRAGMA foreign_keys=ON;", NULL, NULL,
                         NULL) != SQLITE_OK ||
            sqlite3_exec(a->db, SCHEMA, NULL, NULL, &msg) != SQLITE_OK ||
            (!has_device_column(a->db) &&
             sqlite3_exec(a->db, MIGRATE_1, NULL, NULL, &msg) != SQLITE_OK) ||
            sqlite3_exec(a->db, "PRAGMA user_version=2;", NULL, NULL, &msg) != SQLITE_OK)
            rc = dx_error_set(err, DX_ECORRUPT, "the accounts database '%s' cannot be used: %s",
                              path, msg ? msg : sqlite3_errmsg(a->db));
        sqlite3_free(msg);
    }
    if (rc) {
        srv_accounts_close(a);
        return rc;
    }
    *out = a;
    return 0;
}

void srv_accounts_close(srv_accounts *a)
{
    if (!a)
        return;
    sqlite3_close(a->db);
    free(a);
}

/* Run sql with text parameters (NULL-terminated list); *changes receives the rows changed. */
static int run(srv_accounts *a, const char *sql, const char *const *params, int *changes,
               dx_error *err)
{
    sqlite3_stmt *st = NULL;
    int src = sqlite3_prepare_v2(a->db, sql, -1, &st, NULL);
    for (int i = 0; src == SQLITE_OK && params && params[i]; i++)
        src = sqlite3_bind_text(st, i + 1, params[i], -1, SQLITE_TRANSIENT);
    if (src == SQLITE_OK)
        src = sqlite3_step(st);
    int rc = src == SQLITE_DONE || src == SQLITE_ROW ? 0
             : (src & 0xff) == SQLITE_CONSTRAINT     ? DX_EEXIST
                                                     : db_fail(a, src, err);
    if (changes)
        *changes = sqlite3_changes(a->db);
    sqlite3_finalize(st);
    return rc;
}

static bool plan_ok(const char *plan)
{
    return !strcmp(plan, "free") || !strcmp(plan, "sync");
}

int srv_user_add(srv_accounts *a, const char *email, const char *plan, dx_error *err)
{
    if (!plan_ok(plan))
        return dx_error_set(err, DX_EINVAL, "unknown plan '%s' (use free or sync)", plan);
    if (!*email || strchr(email, ' ') || !strchr(email, '@'))
        return dx_error_set(err, DX_EINVAL, "'%s' is not an email address", email);
    char ms[32];
    snprintf(ms, sizeof ms, "%lld", (long long)dx_now_ms());
    const char *p[] = {email, plan, ms, NULL};
    int rc = run(a, "INSERT INTO users(email, plan, created_at) VALUES(?, ?, ?)", p, NULL, err);
    return rc == DX_EEXIST ? dx_error_set(err, rc, "a user '%s' exists already", email) : rc;
}

int srv_user_plan(srv_accounts *a, const char *email, const char *plan, dx_error *err)
{
    if (!plan_ok(plan))
        return dx_error_set(err, DX_EINVAL, "unknown plan '%s' (use free or sync)", plan);
    const char *p[] = {plan, email, NULL};
    int changes = 0;
    int rc = run(a, "UPDATE users SET plan = ? WHERE email = ?", p, &changes, err);
    return !rc && !changes ? dx_error_set(err, DX_ENOTFOUND, "no user '%s'", email) : rc;
}

int srv_user_find(srv_accounts *a, const char *email, int64_t *id, dx_error *err)
{
    sqlite3_stmt *st = NULL;
    int src = sqlite3_prepare_v2(a->db, "SELECT id FROM users WHERE email = ?", -1, &st, NULL);
    if (src == SQLITE_OK)
        src = sqlite3_bind_text(st, 1, email, -1, SQLITE_STATIC);
    if (src == SQLITE_OK)
        src = sqlite3_step(st);
    int rc = src == SQLITE_ROW    ? 0
             : src == SQLITE_DONE ? dx_error_set(err, DX_ENOTFOUND,
                                                 "no user '%s' (add one with `diaryx-server user "
                                                 "add %s`)",
                                                 email, email)
                                  : db_fail(a, src, err);
    if (!rc)
        *id = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return rc;
}

/* Prepare sql and bind its parameters, one letter of fmt each: 's' text (const char *), 'i'
 * int64_t. Returns the SQLite code. */
static int prep(srv_accounts *a, sqlite3_stmt **st, const char *sql, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int src = sqlite3_prepare_v2(a->db, sql, -1, st, NULL);
    for (int i = 0; src == SQLITE_OK && fmt[i]; i++)
        src = fmt[i] == 's'
                  ? sqlite3_bind_text(*st, i + 1, va_arg(ap, const char *), -1, SQLITE_TRANSIENT)
                  : sqlite3_bind_int64(*st, i + 1, va_arg(ap, int64_t));
    va_end(ap);
    return src;
}

/* Step a prepared statement that returns no rows we need; finalizes it. */
static int exec_stmt(srv_accounts *a, sqlite3_stmt *st, int src, dx_error *err)
{
    if (src == SQLITE_OK)
        src = sqlite3_step(st);
    int rc = src == SQLITE_DONE || src == SQLITE_ROW ? 0 : db_fail(a, src, err);
    sqlite3_finalize(st);
    return rc;
}

/* Step st (prepared with result src), appending row(st, ud) to arr for each row; finalizes
 * st. */
typedef json_t *(*row_fn)(sqlite3_stmt *st, const void *ud);
static int rows_into(srv_accounts *a, sqlite3_stmt *st, int src, json_t *arr, row_fn row,
                     const void *ud, dx_error *err)
{
    int rc = 0;
    while (!rc && src == SQLITE_OK && (src = sqlite3_step(st)) == SQLITE_ROW) {
        json_t *o = row(st, ud);
        if (!o || json_array_append_new(arr, o))
            rc = dx_error_set(err, DX_ENOMEM, "out of memory");
        src = SQLITE_OK;
    }
    if (!rc && src != SQLITE_DONE)
        rc = db_fail(a, src, err);
    sqlite3_finalize(st);
    return rc;
}

/* A new token: 32 random bytes as 43 characters of base64url, and its SHA-256 in hex. */
static int token_make(char tok[SRV_TOKEN_LEN + 1], char hash[DX_SHA256_HEX], dx_error *err)
{
    static const char B64URL[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    unsigned char raw[33] = {0}; /* 32 random bytes, padded to a multiple of 3 */
    if (dx_random_bytes(raw, 32))
        return dx_error_set(err, DX_EIO, "no random bytes for a token");
    char enc[45];
    size_t k = 0;
    for (size_t i = 0; i < 33; i += 3) {
        uint32_t v = (uint32_t)raw[i] << 16 | (uint32_t)raw[i + 1] << 8 | raw[i + 2];
        for (int j = 3; j >= 0; j--)
            enc[k++] = B64URL[(v >> (6 * j)) & 63];
    }
    memcpy(tok, enc, SRV_TOKEN_LEN); /* 32 bytes are 43 characters of base64url */
    tok[SRV_TOKEN_LEN] = 0;
    return dx_sha256_hex(NULL, tok, SRV_TOKEN_LEN, hash)
               ? dx_error_set(err, DX_ENOMEM, "out of memory")
               : 0;
}

int srv_token_new(srv_accounts *a, const char *email, const char *device, bool readonly,
                  dx_buf *out, dx_error *err)
{
    int64_t user;
    char tok[SRV_TOKEN_LEN + 1], hash[DX_SHA256_HEX];
    int rc = srv_user_find(a, email, &user, err);
    if (rc || (rc = token_make(tok, hash, err)))
        return rc;
    sqlite3_stmt *st = NULL;
    int src = prep(a, &st,
                   "INSERT INTO tokens(hash, user_id, device, created_at, readonly) "
                   "VALUES(?, ?, ?, ?, ?)",
                   "sisii", hash, user, device ? device : "", dx_now_ms(), (int64_t)readonly);
    if ((rc = exec_stmt(a, st, src, err)))
        return rc;
    return dx_buf_puts(out, tok) ? dx_error_set(err, DX_ENOMEM, "out of memory") : 0;
}

int srv_token_check(srv_accounts *a, const char *token, size_t len, srv_token_info *out,
                    dx_error *err)
{
    if (len == 0 || len > 256)
        return dx_error_set(err, DX_EAUTH, "no valid token");
    if (dx_sha256_hex(NULL, token, len, out->hash))
        return dx_error_set(err, DX_ENOMEM, "out of memory");
    sqlite3_stmt *st = NULL;
    int src = prep(a, &st,
                   "SELECT user_id, readonly, COALESCE(device_id, ''), expires_at FROM tokens "
                   "WHERE hash = ? AND (expires_at = 0 OR expires_at > ?)",
                   "si", out->hash, dx_now_ms());
    if (src == SQLITE_OK)
        src = sqlite3_step(st);
    int rc = src == SQLITE_ROW ? 0
             : src == SQLITE_DONE
                 ? dx_error_set(err, DX_EAUTH, "unknown or expired token; sign in again")
                 : db_fail(a, src, err);
    if (!rc) {
        out->user = sqlite3_column_int64(st, 0);
        out->readonly = sqlite3_column_int(st, 1) != 0;
        snprintf(out->device_id, sizeof out->device_id, "%s",
                 (const char *)sqlite3_column_text(st, 2));
        out->expires_at = sqlite3_column_int64(st, 3);
    }
    sqlite3_finalize(st);
    return rc;
}

int srv_token_user(srv_accounts *a, const char *token, size_t len, int64_t *user, bool *readonly,
                   dx_error *err)
{
    srv_token_info t;
    int rc = srv_token_check(a, token, len, &t, err);
    if (!rc) {
        *user = t.user;
        *readonly = t.readonly;
    }
    return rc;
}

int srv_link_new(srv_accounts *a, const char *email, int64_t ttl_ms, int per_hour,
                 char tok[SRV_TOKEN_LEN + 1], int64_t *retry_after_s, dx_error *err)
{
    const int64_t hour = 3600 * 1000, now = dx_now_ms();
    char hash[DX_SHA256_HEX];
    sqlite3_stmt *st = NULL;
    /* Links are kept an hour (the rate limit counts them), and until they expire. */
    int src = prep(a, &st, "DELETE FROM links WHERE created_at <= ? AND expires_at <= ?", "ii",
                   now - hour, now);
    int rc = exec_stmt(a, st, src, err);
    if (rc)
        return rc;
    src = prep(a, &st,
               "SELECT count(*), min(created_at) FROM links WHERE email = ? AND "
               "created_at > ?",
               "si", email, now - hour);
    if (src == SQLITE_OK)
        src = sqlite3_step(st);
    if (src != SQLITE_ROW) {
        rc = db_fail(a, src, err);
    } else if (sqlite3_column_int64(st, 0) >= per_hour) {
        int64_t wait = sqlite3_column_int64(st, 1) + hour - now;
        *retry_after_s = wait <= 0 ? 1 : (wait + 999) / 1000;
        rc = dx_error_set(err, DX_ELIMIT,
                          "%d sign-in links were sent to this address in the last hour; try "
                          "again in %lld seconds",
                          per_hour, (long long)*retry_after_s);
    }
    sqlite3_finalize(st);
    if (rc || (rc = token_make(tok, hash, err)))
        return rc;
    src = prep(a, &st, "INSERT INTO links(hash, email, created_at, expires_at) VALUES(?, ?, ?, ?)",
               "ssii", hash, email, now, now + ttl_ms);
    return exec_stmt(a, st, src, err);
}

/* Mark the link of hash used, or say why it cannot be: unknown, used, expired. */
static int link_take(srv_accounts *a, const char *hash, int64_t now, char *email, size_t cap,
                     dx_error *err)
{
    sqlite3_stmt *st = NULL;
    int src =
        prep(a, &st, "SELECT email, expires_at, used_at FROM links WHERE hash = ?", "s", hash);
    if (src == SQLITE_OK)
        src = sqlite3_step(st);
    int rc = 0;
    if (src == SQLITE_DONE)
        rc = dx_error_set(err, DX_EAUTH, "this sign-in link is not valid; ask for a new one");
    else if (src != SQLITE_ROW)
        rc = db_fail(a, src, err);
    else if (sqlite3_column_int64(st, 2) != 0)
        rc = dx_error_set(err, DX_EAUTH,
                          "this sign-in link was used already (each works once); ask for a new "
                          "one");
    else if (sqlite3_column_int64(st, 1) <= now)
        rc = dx_error_set(err, DX_EAUTH, "this sign-in link has expired; ask for a new one");
    else
        snprintf(email, cap, "%s", (const char *)sqlite3_column_text(st, 0));
    sqlite3_finalize(st);
    if (rc)
        return rc;
    src = prep(a, &st, "UPDATE links SET used_at = ? WHERE hash = ?", "is", now, hash);
    return exec_stmt(a, st, src, err);
}

/* The user of email (any case), created on the free plan when there is none. */
static int user_of_link(srv_accounts *a, const char *email, int64_t now, srv_signin *out,
                        dx_error *err)
{
    sqlite3_stmt *st = NULL;
    int src = prep(a, &st,
                   "SELECT id, email, plan FROM users WHERE email = ? COLLATE NOCASE "
                   "ORDER BY id LIMIT 1",
                   "s", email);
    if (src == SQLITE_OK)
        src = sqlite3_step(st);
    if (src == SQLITE_ROW) {
        out->user = sqlite3_column_int64(st, 0);
        snprintf(out->email, sizeof out->email, "%s", (const char *)sqlite3_column_text(st, 1));
        snprintf(out->plan, sizeof out->plan, "%s", (const char *)sqlite3_column_text(st, 2));
        sqlite3_finalize(st);
        return 0;
    }
    sqlite3_finalize(st);
    if (src != SQLITE_DONE)
        return db_fail(a, src, err);
    src = prep(a, &st, "INSERT INTO users(email, plan, created_at) VALUES(?, 'free', ?)", "si",
               email, now);
    int rc = exec_stmt(a, st, src, err);
    out->user = sqlite3_last_insert_rowid(a->db);
    snprintf(out->email, sizeof out->email, "%s", email);
    snprintf(out->plan, sizeof out->plan, "free");
    return rc;
}

int srv_link_use(srv_accounts *a, const char *link, size_t len, const char *device_name,
                 int64_t session_ms, srv_signin *out, dx_error *err)
{
    const int64_t now = dx_now_ms();
    char hash[DX_SHA256_HEX], email[SRV_EMAIL_MAX + 1], shash[DX_SHA256_HEX];
    if (len == 0 || len > 256)
        return dx_error_set(err, DX_EAUTH, "this sign-in link is not valid; ask for a new one");
    if (dx_sha256_hex(NULL, link, len, hash))
        return dx_error_set(err, DX_ENOMEM, "out of memory");
    if (sqlite3_exec(a->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
        return db_fail(a, sqlite3_errcode(a->db), err);
    sqlite3_stmt *st = NULL;
    /* Expired sessions go, and the devices left without one. */
    int src =
        prep(a, &st, "DELETE FROM tokens WHERE expires_at != 0 AND expires_at <= ?", "i", now);
    int rc = exec_stmt(a, st, src, err);
    if (!rc) {
        src = prep(a, &st,
                   "DELETE FROM devices WHERE id NOT IN (SELECT device_id FROM tokens WHERE "
                   "device_id IS NOT NULL)",
                   "");
        rc = exec_stmt(a, st, src, err);
    }
    if (!rc)
        rc = link_take(a, hash, now, email, sizeof email, err);
    if (!rc)
        rc = user_of_link(a, email, now, out, err);
    if (!rc && dx_uuid_v4(out->device_id))
        rc = dx_error_set(err, DX_EIO, "no random bytes for a device id");
    if (!rc) {
        src = prep(a, &st, "INSERT INTO devices(id, user_id, name, created_at) VALUES(?, ?, ?, ?)",
                   "sisi", out->device_id, out->user, device_name, now);
        rc = exec_stmt(a, st, src, err);
    }
    if (!rc)
        rc = token_make(out->token, shash, err);
    if (!rc) {
        src = prep(a, &st,
                   "INSERT INTO tokens(hash, user_id, device, created_at, expires_at, device_id) "
                   "VALUES(?, ?, ?, ?, ?, ?)",
                   "sisiis", shash, out->user, device_name, now, now + session_ms, out->device_id);
        rc = exec_stmt(a, st, src, err);
    }
    if (!rc && sqlite3_exec(a->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
        rc = db_fail(a, sqlite3_errcode(a->db), err);
    if (rc)
        sqlite3_exec(a->db, "ROLLBACK", NULL, NULL, NULL);
    return rc;
}

int srv_me_json(srv_accounts *a, const srv_token_info *t, json_t **out, dx_error *err)
{
    sqlite3_stmt *st = NULL;
    int src = prep(a, &st,
                   "SELECT u.email, u.plan, d.id, d.name FROM users u LEFT JOIN devices d ON "
                   "d.id = ? AND d.user_id = u.id WHERE u.id = ?",
                   "si", t->device_id, t->user);
    if (src == SQLITE_OK)
        src = sqlite3_step(st);
    int rc = src == SQLITE_ROW    ? 0
             : src == SQLITE_DONE ? dx_error_set(err, DX_EAUTH, "unknown token; sign in again")
                                  : db_fail(a, src, err);
    if (!rc) {
        json_t *device = sqlite3_column_type(st, 2) == SQLITE_NULL
                             ? json_null()
                             : json_pack("{s:s, s:s}", "id", sqlite3_column_text(st, 2), "name",
                                         sqlite3_column_text(st, 3));
        *out = json_pack(
            "{s:{s:s, s:s}, s:o?, s:o, s:b}", "user", "email", sqlite3_column_text(st, 0), "plan",
            sqlite3_column_text(st, 1), "device", device, "expires_at",
            t->expires_at ? json_integer(t->expires_at) : json_null(), "read_only", t->readonly);
        if (!*out)
            rc = dx_error_set(err, DX_ENOMEM, "out of memory");
    }
    sqlite3_finalize(st);
    return rc;
}

int srv_token_revoke(srv_accounts *a, const srv_token_info *t, dx_error *err)
{
    sqlite3_stmt *st = NULL;
    int src = prep(a, &st, "DELETE FROM tokens WHERE hash = ?", "s", t->hash);
    int rc = exec_stmt(a, st, src, err);
    if (!rc && t->device_id[0]) {
        /* A signed-in device holds one session: with it gone, the device is gone. */
        src = prep(a, &st,
                   "DELETE FROM devices WHERE id = ? AND NOT EXISTS (SELECT 1 FROM tokens "
                   "WHERE device_id = ?)",
                   "ss", t->device_id, t->device_id);
        rc = exec_stmt(a, st, src, err);
    }
    return rc;
}

static json_t *device_row(sqlite3_stmt *st, const void *current)
{
    const char *id = (const char *)sqlite3_column_text(st, 0);
    return json_pack("{s:s, s:s, s:I, s:b}", "id", id, "name", sqlite3_column_text(st, 1),
                     "created_at", (json_int_t)sqlite3_column_int64(st, 2), "current",
                     current && !strcmp(current, id));
}

json_t *srv_devices_json(srv_accounts *a, int64_t user, const char *current, dx_error *err)
{
    json_t *arr = json_array();
    sqlite3_stmt *st = NULL;
    int src = prep(a, &st,
                   "SELECT id, name, created_at FROM devices WHERE user_id = ? AND EXISTS "
                   "(SELECT 1 FROM tokens t WHERE t.device_id = devices.id AND (t.expires_at = 0 "
                   "OR t.expires_at > ?)) ORDER BY created_at, id",
                   "ii", user, dx_now_ms());
    int rc = rows_into(a, st, src, arr, device_row, current, err);
    if (rc) {
        json_decref(arr);
        return NULL;
    }
    return arr;
}

int srv_device_revoke(srv_accounts *a, int64_t user, const char *device_id, dx_error *err)
{
    sqlite3_stmt *st = NULL;
    int src = prep(a, &st,
                   "DELETE FROM tokens WHERE device_id = (SELECT id FROM devices WHERE "
                   "id = ? AND user_id = ?)",
                   "si", device_id, user);
    int rc = exec_stmt(a, st, src, err);
    if (rc)
        return rc;
    src = prep(a, &st, "DELETE FROM devices WHERE id = ? AND user_id = ?", "si", device_id, user);
    if ((rc = exec_stmt(a, st, src, err)))
        return rc;
    return sqlite3_changes(a->db) ? 0 : dx_error_set(err, DX_ENOTFOUND, "no such device");
}

static int name_check(const char *name, dx_error *err)
{
    return !*name || strlen(name) > 200
               ? dx_error_set(err, DX_EINVAL, "a workspace needs a name of 1 to 200 bytes")
               : 0;
}

int srv_workspace_create(srv_accounts *a, int64_t user, const char *name, char out[DX_UUID_LEN + 1],
                         dx_error *err)
{
    char uid[32], ms[32];
    int rc = name_check(name, err);
    if (rc)
        return rc;
    if (dx_uuid_v4(out))
        return dx_error_set(err, DX_EIO, "no random bytes for a workspace id");
    snprintf(uid, sizeof uid, "%lld", (long long)user);
    snprintf(ms, sizeof ms, "%lld", (long long)dx_now_ms());
    const char *p[] = {out, uid, name, ms, NULL};
    return run(a, "INSERT INTO workspaces(id, owner, name, created_at) VALUES(?, ?, ?, ?)", p, NULL,
               err);
}

int srv_workspace_add(srv_accounts *a, const char *email, const char *name,
                      char out[DX_UUID_LEN + 1], dx_error *err)
{
    int64_t user;
    int rc = srv_user_find(a, email, &user, err);
    return rc ? rc : srv_workspace_create(a, user, name, out, err);
}

/* Run a statement on (wid, user) that must change one row. */
static int owned_change(srv_accounts *a, const char *sql, int64_t user, const char *wid,
                        const char *name, dx_error *err)
{
    char uid[32];
    snprintf(uid, sizeof uid, "%lld", (long long)user);
    const char *p3[] = {name, wid, uid, NULL}, *p2[] = {wid, uid, NULL};
    int changes = 0;
    int rc = run(a, sql, name ? p3 : p2, &changes, err);
    return !rc && !changes ? dx_error_set(err, DX_ENOTFOUND, "no such workspace") : rc;
}

int srv_workspace_rename(srv_accounts *a, int64_t user, const char *wid, const char *name,
                         dx_error *err)
{
    int rc = name_check(name, err);
    return rc ? rc
              : owned_change(a, "UPDATE workspaces SET name = ? WHERE id = ? AND owner = ?", user,
                             wid, name, err);
}

int srv_workspace_delete(srv_accounts *a, int64_t user, const char *wid, dx_error *err)
{
    return owned_change(a, "DELETE FROM workspaces WHERE id = ? AND owner = ?", user, wid, NULL,
                        err);
}

static json_t *workspace_row(sqlite3_stmt *st, const void *ud)
{
    (void)ud;
    return json_pack("{s:s, s:s}", "id", (const char *)sqlite3_column_text(st, 0), "name",
                     (const char *)sqlite3_column_text(st, 1));
}

/* {id, name} of the workspaces of user (one: wid), appended to arr. */
static int workspaces_into(srv_accounts *a, int64_t user, const char *wid, json_t *arr,
                           dx_error *err)
{
    sqlite3_stmt *st = NULL;
    int src = wid ? prep(a, &st, "SELECT id, name FROM workspaces WHERE owner = ? AND id = ?", "is",
                         user, wid)
                  : prep(a, &st,
                         "SELECT id, name FROM workspaces WHERE owner = ? ORDER BY created_at, id",
                         "i", user);
    return rows_into(a, st, src, arr, workspace_row, NULL, err);
}

json_t *srv_workspaces_json(srv_accounts *a, int64_t user, dx_error *err)
{
    json_t *arr = json_array();
    if (!arr) {
        dx_error_set(err, DX_ENOMEM, "out of memory");
        return NULL;
    }
    if (workspaces_into(a, user, NULL, arr, err)) {
        json_decref(arr);
        return NULL;
    }
    return arr;
}

int srv_workspace_get(srv_accounts *a, int64_t user, const char *wid, json_t **out, dx_error *err)
{
    json_t *arr = json_array();
    int rc = arr ? workspaces_into(a, user, wid, arr, err)
                 : dx_error_set(err, DX_ENOMEM, "out of memory");
    if (!rc && json_array_size(arr) == 0)
        rc = dx_error_set(err, DX_ENOTFOUND, "no such workspace");
    if (!rc)
        *out = json_incref(json_array_get(arr, 0));
    json_decref(arr);
    return rc;
}

bool srv_workspace_owned(srv_accounts *a, int64_t user, const char *wid)
{
    sqlite3_stmt *st = NULL;
    bool owned = sqlite3_prepare_v2(a->db, "SELECT 1 FROM workspaces WHERE id = ? AND owner = ?",
                                    -1, &st, NULL) == SQLITE_OK &&
                 sqlite3_bind_text(st, 1, wid, -1, SQLITE_STATIC) == SQLITE_OK &&
                 sqlite3_bind_int64(st, 2, user) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW;
    sqlite3_finalize(st);
    return owned;
}

bool srv_workspace_plan_sync(srv_accounts *a, const char *wid)
{
    sqlite3_stmt *st = NULL;
    bool sync = sqlite3_prepare_v2(a->db,
                                   "SELECT 1 FROM workspaces w JOIN users u ON u.id = w.owner "
                                   "WHERE w.id = ? AND u.plan = 'sync'",
                                   -1, &st, NULL) == SQLITE_OK &&
                sqlite3_bind_text(st, 1, wid, -1, SQLITE_STATIC) == SQLITE_OK &&
                sqlite3_step(st) == SQLITE_ROW;
    sqlite3_finalize(st);
    return sync;
}

int srv_workspace_list(srv_accounts *a, const char *email, dx_buf *out, dx_error *err)
{
    int64_t user;
    int rc = srv_user_find(a, email, &user, err);
    sqlite3_stmt *st = NULL;
    int src = rc ? SQLITE_OK
                 : sqlite3_prepare_v2(a->db,
                                      "SELECT id, name FROM workspaces WHERE owner = ? "
                                      "ORDER BY created_at, id",
                                      -1, &st, NULL);
    if (!rc && src == SQLITE_OK)
        src = sqlite3_bind_int64(st, 1, user);
    while (!rc && src == SQLITE_OK && (src = sqlite3_step(st)) == SQLITE_ROW) {
        dx_buf_printf(out, "%s\t%s\n", (const char *)sqlite3_column_text(st, 0),
                      (const char *)sqlite3_column_text(st, 1));
        src = SQLITE_OK;
    }
    if (!rc && src != SQLITE_DONE)
        rc = db_fail(a, src, err);
    if (!rc && dx_buf_error(out))
        rc = dx_error_set(err, DX_ENOMEM, "out of memory");
    sqlite3_finalize(st);
    return rc;
}
