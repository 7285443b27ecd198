/* accounts.c - users, API tokens and workspace ownership in SQLite (see accounts.h). */
#include "accounts.h"

#include <jansson.h>
#include <sqlite3.h>
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
    "CREATE TABLE IF NOT EXISTS tokens(hash TEXT PRIMARY KEY, user_id INTEGER NOT NULL"
    " REFERENCES users(id) ON DELETE CASCADE, device TEXT, created_at INTEGER NOT NULL,"
    " expires_at INTEGER NOT NULL DEFAULT 0, readonly INTEGER NOT NULL DEFAULT 0);"
    "CREATE TABLE IF NOT EXISTS workspaces(id TEXT PRIMARY KEY, owner INTEGER NOT NULL"
    " REFERENCES users(id) ON DELETE CASCADE, name TEXT NOT NULL, created_at INTEGER NOT NULL);"
    "CREATE INDEX IF NOT EXISTS workspaces_owner ON workspaces(owner);"
    "PRAGMA user_version=1;";

static int db_fail(srv_accounts *a, int src, dx_error *err)
{
    return dx_error_set(err,
                        src == SQLITE_NOMEM  ? DX_ENOMEM
                        : src == SQLITE_BUSY ? DX_EBUSY
                                             : DX_EIO,
                        "accounts database: %s", sqlite3_errmsg(a->db));
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
            sqlite3_exec(a->db, SCHEMA, NULL, NULL, &msg) != SQLITE_OK)
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

int srv_token_new(srv_accounts *a, const char *email, const char *device, bool readonly,
                  dx_buf *out, dx_error *err)
{
    static const char B64URL[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    int64_t user;
    int rc = srv_user_find(a, email, &user, err);
    if (rc)
        return rc;
    unsigned char raw[33] = {0}; /* 32 random bytes, padded to a multiple of 3 */
    if (dx_random_bytes(raw, 32))
        return dx_error_set(err, DX_EIO, "no random bytes for a token");
    char tok[45], hash[65], uid[32], ms[32];
    size_t k = 0;
    for (size_t i = 0; i < 33; i += 3) {
        uint32_t v = (uint32_t)raw[i] << 16 | (uint32_t)raw[i + 1] << 8 | raw[i + 2];
        for (int j = 3; j >= 0; j--)
            tok[k++] = B64URL[(v >> (6 * j)) & 63];
    }
    tok[43] = 0; /* 32 bytes are 43 characters of base64url */
    if (dx_sha256_hex(NULL, tok, 43, hash))
        return dx_error_set(err, DX_ENOMEM, "out of memory");
    snprintf(uid, sizeof uid, "%lld", (long long)user);
    snprintf(ms, sizeof ms, "%lld", (long long)dx_now_ms());
    const char *p[] = {hash, uid, device ? device : "", ms, readonly ? "1" : "0", NULL};
    if ((rc = run(a,
                  "INSERT INTO tokens(hash, user_id, device, created_at, readonly) "
                  "VALUES(?, ?, ?, ?, ?)",
                  p, NULL, err)))
        return rc;
    return dx_buf_puts(out, tok) ? dx_error_set(err, DX_ENOMEM, "out of memory") : 0;
}

int srv_token_user(srv_accounts *a, const char *token, size_t len, int64_t *user, bool *readonly,
                   dx_error *err)
{
    char hash[65];
    if (len == 0 || len > 256)
        return dx_error_set(err, DX_EAUTH, "no valid token");
    if (dx_sha256_hex(NULL, token, len, hash))
        return dx_error_set(err, DX_ENOMEM, "out of memory");
    sqlite3_stmt *st = NULL;
    int src = sqlite3_prepare_v2(a->db,
                                 "SELECT user_id, readonly FROM tokens WHERE hash = ? AND "
                                 "(expires_at = 0 OR expires_at > ?)",
                                 -1, &st, NULL);
    if (src == SQLITE_OK)
        src = sqlite3_bind_text(st, 1, hash, -1, SQLITE_STATIC);
    if (src == SQLITE_OK)
        src = sqlite3_bind_int64(st, 2, dx_now_ms());
    if (src == SQLITE_OK)
        src = sqlite3_step(st);
    int rc = src == SQLITE_ROW    ? 0
             : src == SQLITE_DONE ? dx_error_set(err, DX_EAUTH, "unknown or expired token")
                                  : db_fail(a, src, err);
    if (!rc) {
        *user = sqlite3_column_int64(st, 0);
        *readonly = sqlite3_column_int(st, 1) != 0;
    }
    sqlite3_finalize(st);
    return rc;
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

/* {id, name} of the workspaces of user (one: wid), appended to arr. */
static int workspaces_into(srv_accounts *a, int64_t user, const char *wid, json_t *arr,
                           dx_error *err)
{
    sqlite3_stmt *st = NULL;
    int src = sqlite3_prepare_v2(a->db,
                                 wid ? "SELECT id, name FROM workspaces WHERE owner = ? AND id = ?"
                                     : "SELECT id, name FROM workspaces WHERE owner = ? "
                                       "ORDER BY created_at, id",
                                 -1, &st, NULL);
    if (src == SQLITE_OK)
        src = sqlite3_bind_int64(st, 1, user);
    if (src == SQLITE_OK && wid)
        src = sqlite3_bind_text(st, 2, wid, -1, SQLITE_STATIC);
    int rc = 0;
    while (!rc && src == SQLITE_OK && (src = sqlite3_step(st)) == SQLITE_ROW) {
        json_t *o = json_pack("{s:s, s:s}", "id", (const char *)sqlite3_column_text(st, 0), "name",
                              (const char *)sqlite3_column_text(st, 1));
        if (!o || json_array_append_new(arr, o))
            rc = dx_error_set(err, DX_ENOMEM, "out of memory");
        src = SQLITE_OK;
    }
    if (!rc && src != SQLITE_DONE)
        rc = db_fail(a, src, err);
    sqlite3_finalize(st);
    return rc;
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
