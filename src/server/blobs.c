/* blobs.c - the server's attachment bytes: store, references, quotas, routes (blobs.h). */
#include "blobs.h"

#include <errno.h>
#include <jansson.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#define MAX_MISSING 10000

struct srv_blobs {
    dx_blobstore *store;
    sqlite3 *db; /* DATA/blobs.db: refs(workspace, hash, size) */
    srv_blobs_config cfg;
};

int srv_blobs_config_key(srv_blobs_config *c, const dx_toml_entry *e, dx_error *err)
{
    static const char *const strings[] = {"backend", "endpoint",   "region",    "bucket",
                                          "prefix",  "access_key", "secret_key"};
    static const char *const numbers[] = {"quota_free_mb", "quota_sync_mb", "max_upload_mb"};
    if (strcmp(e->table, "blobs") != 0)
        return 1;
    const char *k = e->key;
    for (size_t i = 0; i < sizeof strings / sizeof *strings; i++) {
        if (strcmp(k, strings[i]) != 0)
            continue;
        if (e->value.type != DX_TOML_STRING)
            return dx_error_set(err, DX_EINVAL, "[blobs] %s wants a string", k);
        const char *v = e->value.str;
        if (i == 0 && strcmp(v, "local") && strcmp(v, "s3"))
            return dx_error_set(err, DX_EINVAL,
                                "[blobs] backend wants \"local\" or \"s3\", not '%s'", v);
        if (i == 0)
            c->s3 = !strcmp(v, "s3");
        const char **to[] = {NULL,
                             &c->s3cfg.endpoint,
                             &c->s3cfg.region,
                             &c->s3cfg.bucket,
                             &c->s3cfg.prefix,
                             &c->s3cfg.access_key,
                             &c->s3cfg.secret_key};
        if (i)
            *to[i] = v;
        return 0;
    }
    if (!strcmp(k, "path_style")) {
        if (e->value.type != DX_TOML_BOOL)
            return dx_error_set(err, DX_EINVAL, "[blobs] path_style wants true or false");
        c->s3cfg.path_style = e->value.b;
        return 0;
    }
    for (size_t i = 0; i < sizeof numbers / sizeof *numbers; i++) {
        if (strcmp(k, numbers[i]) != 0)
            continue;
        if (e->value.type != DX_TOML_INT || e->value.i < 0 || e->value.i > (1LL << 30))
            return dx_error_set(err, DX_EINVAL, "[blobs] %s wants a number of MiB from 0 to %lld",
                                k, 1LL << 30);
        int64_t *f[] = {&c->quota_free, &c->quota_sync, &c->max_upload};
        *f[i] = e->value.i << 20;
        return 0;
    }
    return dx_error_set(err, DX_EINVAL,
                        "unknown setting [blobs] %s (known: backend, endpoint, region, bucket, "
                        "path_style, prefix, access_key, secret_key, quota_free_mb, "
                        "quota_sync_mb, max_upload_mb)",
                        k);
}

static int db_fail(srv_blobs *b, const char *what, dx_error *err)
{
    return dx_error_set(err, DX_EIO, "blob references (%s): %s", what, sqlite3_errmsg(b->db));
}

int srv_blobs_open(const char *data, const srv_blobs_config *c, srv_blobs **out, dx_error *err)
{
    dx_buf path = DX_BUF_INIT;
    srv_blobs *b = calloc(1, sizeof *b);
    int rc = 0;
    *out = NULL;
    if (!b || dx_buf_printf(&path, "%s/blobs.db", data)) {
        rc = dx_error_set(err, DX_ENOMEM, "out of memory");
        goto done;
    }
    b->cfg = *c;
    rc = c->s3 ? dx_blobstore_open_s3(&c->s3cfg, &b->store, err)
               : dx_blobstore_open_dir(data, &b->store, err);
    if (rc) {
        dx_error_prefix(err, "[blobs] %s: ", c->s3 ? "s3" : "local");
        goto done;
    }
    if (sqlite3_open(path.data, &b->db) != SQLITE_OK ||
        sqlite3_exec(b->db,
                     "PRAGMA journal_mode=WAL; PRAGMA busy_timeout=5000;"
                     "CREATE TABLE IF NOT EXISTS refs(workspace TEXT NOT NULL, hash TEXT NOT "
                     "NULL, size INTEGER NOT NULL, created_at INTEGER NOT NULL, PRIMARY "
                     "KEY(workspace, hash)) WITHOUT ROWID",
                     NULL, NULL, NULL) != SQLITE_OK) {
        rc = dx_error_set(err, DX_EIO, "cannot open '%s': %s", path.data,
                          b->db ? sqlite3_errmsg(b->db) : "out of memory");
        goto done;
    }
done:
    dx_buf_release(&path);
    if (rc)
        srv_blobs_free(b);
    else
        *out = b;
    return rc;
}

void srv_blobs_free(srv_blobs *b)
{
    if (!b)
        return;
    dx_blobstore_free(b->store);
    sqlite3_close(b->db);
    free(b);
}

/* "/api/workspaces/<36>/blobs/<64 hex>" */
bool srv_blobs_streams(const char *method, const char *path)
{
    const char *pre = "/api/workspaces/";
    size_t n = strlen(pre);
    return !strcmp(method, "PUT") && !strncmp(path, pre, n) && strlen(path) == n + 36 + 7 + 64 &&
           !strncmp(path + n + 36, "/blobs/", 7) && dx_blob_name_valid(path + n + 43);
}

int64_t srv_blobs_max_upload(const srv_blobs *b)
{
    return b->cfg.max_upload;
}

/* The size of blob hash in workspace wid: 0 (with it), DX_ENOTFOUND, DX_EIO. */
static int ref_get(srv_blobs *b, const char *wid, const char *hash, int64_t *size, dx_error *err)
{
    sqlite3_stmt *st = NULL;
    int rc = DX_ENOTFOUND;
    if (sqlite3_prepare_v2(b->db, "SELECT size FROM refs WHERE workspace=? AND hash=?", -1, &st,
                           NULL) != SQLITE_OK)
        return db_fail(b, "read", err);
    sqlite3_bind_text(st, 1, wid, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, hash, -1, SQLITE_STATIC);
    int s = sqlite3_step(st);
    if (s == SQLITE_ROW) {
        *size = sqlite3_column_int64(st, 0);
        rc = 0;
    } else if (s != SQLITE_DONE) {
        rc = db_fail(b, "read", err);
    }
    sqlite3_finalize(st);
    return rc;
}

static int ref_add(srv_blobs *b, const char *wid, const char *hash, int64_t size, dx_error *err)
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(b->db,
                           "INSERT OR IGNORE INTO refs(workspace, hash, size, created_at) "
                           "VALUES(?, ?, ?, strftime('%s','now'))",
                           -1, &st, NULL) != SQLITE_OK)
        return db_fail(b, "write", err);
    sqlite3_bind_text(st, 1, wid, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, hash, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 3, size);
    int rc = sqlite3_step(st) == SQLITE_DONE ? 0 : db_fail(b, "write", err);
    sqlite3_finalize(st);
    return rc;
}

/* Drop workspace wid's reference to hash; *last: no workspace references it any more. */
static int ref_drop(srv_blobs *b, const char *wid, const char *hash, bool *last, dx_error *err)
{
    sqlite3_stmt *del = NULL, *any = NULL;
    int rc = 0;
    if (sqlite3_prepare_v2(b->db, "DELETE FROM refs WHERE workspace=? AND hash=?", -1, &del,
                           NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(b->db, "SELECT 1 FROM refs WHERE hash=? LIMIT 1", -1, &any, NULL) !=
            SQLITE_OK) {
        rc = db_fail(b, "write", err);
        goto done;
    }
    sqlite3_bind_text(del, 1, wid, -1, SQLITE_STATIC);
    sqlite3_bind_text(del, 2, hash, -1, SQLITE_STATIC);
    sqlite3_bind_text(any, 1, hash, -1, SQLITE_STATIC);
    if (sqlite3_step(del) != SQLITE_DONE) {
        rc = db_fail(b, "write", err);
        goto done;
    }
    int s = sqlite3_step(any);
    if (s != SQLITE_ROW && s != SQLITE_DONE)
        rc = db_fail(b, "read", err);
    *last = s == SQLITE_DONE;
done:
    sqlite3_finalize(del);
    sqlite3_finalize(any);
    return rc;
}

int srv_blobs_usage(srv_blobs *b, srv_accounts *acc, int64_t user, int64_t *bytes, dx_error *err)
{
    json_t *ws = srv_workspaces_json(acc, user, err);
    sqlite3_stmt *st = NULL;
    int rc = ws ? 0 : DX_EIO;
    *bytes = 0;
    if (!rc &&
        sqlite3_prepare_v2(b->db, "SELECT COALESCE(SUM(size), 0) FROM refs WHERE workspace=?", -1,
                           &st, NULL) != SQLITE_OK)
        rc = db_fail(b, "read", err);
    size_t i;
    json_t *w;
    json_array_foreach(ws, i, w)
    {
        const char *id = json_string_value(json_object_get(w, "id"));
        if (rc || !id)
            continue;
        sqlite3_reset(st);
        sqlite3_bind_text(st, 1, id, -1, SQLITE_TRANSIENT);
        if (sqlite3_step(st) == SQLITE_ROW)
            *bytes += sqlite3_column_int64(st, 0);
        else
            rc = db_fail(b, "read", err);
    }
    sqlite3_finalize(st);
    json_decref(ws);
    return rc;
}

static unsigned status_of(int code)
{
    switch (code) {
    case DX_EINVAL:
        return 400;
    case DX_ENOTFOUND:
        return 404;
    case DX_ELIMIT:
        return 413;
    case DX_EAUTH: /* the store refused our credentials: the server's fault, not the caller's */
    default:
        return code == DX_EIO || code == DX_EAUTH ? 502 : 500;
    }
}

static void put_blob(srv_blobs *b, const srv_api *api, const srv_request *req, const char *wid,
                     int64_t user, const char *hash, srv_response *out)
{
    dx_error err = DX_ERROR_INIT;
    int64_t have = 0, used = 0;
    int64_t size = req->preflight ? req->preflight_len : (int64_t)req->body_len;
    if (req->body_file && !req->preflight) {
        if (fseeko(req->body_file, 0, SEEK_END) != 0 || (size = ftello(req->body_file)) < 0) {
            srv_reply_error(out, 500, "cannot read the uploaded body");
            return;
        }
    }
    int rc = ref_get(b, wid, hash, &have, &err);
    if (rc == 0 && req->preflight) {
        out->status = 0; /* let it come: the answer will be 200 */
        return;
    }
    if (rc == 0) {
        srv_reply_json(out, 200, json_pack("{s:s, s:I}", "sha256", hash, "size", (json_int_t)have));
        return;
    }
    if (rc == DX_ENOTFOUND)
        rc = srv_blobs_usage(b, api->acc, user, &used, &err);
    int64_t quota = srv_workspace_plan_sync(api->acc, wid) ? b->cfg.quota_sync : b->cfg.quota_free;
    if (!rc && used + size > quota) {
        char msg[256];
        snprintf(msg, sizeof msg,
                 "this blob (%lld bytes) does not fit in the quota of the workspace's owner: "
                 "%lld of %lld bytes used",
                 (long long)size, (long long)used, (long long)quota);
        srv_reply_error(out, 413, msg);
        return;
    }
    if (!rc && req->preflight) {
        out->status = 0;
        return;
    }
    if (!rc)
        rc = req->body_file
                 ? dx_blob_put_fd(b->store, hash, fileno(req->body_file), &err)
                 : dx_blob_put(b->store, hash, req->body ? req->body : "", req->body_len, &err);
    if (!rc)
        rc = ref_add(b, wid, hash, size, &err);
    if (rc)
        srv_reply_error(out, status_of(rc), err.msg);
    else
        srv_reply_json(out, 201, json_pack("{s:s, s:I}", "sha256", hash, "size", (json_int_t)size));
}

/* Range "bytes=a-b", "bytes=a-", "bytes=-n" over size bytes: 0 with [*off, *off + *len),
 * 1 (no Range: the whole), -1 (unsatisfiable or malformed). */
static int parse_range(const char *r, uint64_t size, uint64_t *off, uint64_t *len)
{
    unsigned long long a = 0, z = 0;
    int n = 0;
    if (!r)
        return 1;
    if (strncmp(r, "bytes=", 6) != 0 || strchr(r, ','))
        return -1;
    r += 6;
    if (*r == '-') {
        if (sscanf(r + 1, "%llu%n", &z, &n) != 1 || r[1 + n] || z == 0 || size == 0)
            return -1;
        *len = z > size ? size : z;
        *off = size - *len;
        return 0;
    }
    if (sscanf(r, "%llu-%n", &a, &n) != 1 || a >= size)
        return -1;
    if (!r[n]) {
        z = size - 1;
    } else {
        int m = 0;
        if (sscanf(r + n, "%llu%n", &z, &m) != 1 || r[n + m] || z < a)
            return -1;
        if (z >= size)
            z = size - 1;
    }
    *off = a;
    *len = z - a + 1;
    return 0;
}

static int to_file(void *ud, const void *data, size_t len)
{
    return fwrite(data, 1, len, ud) == len ? 0 : DX_EIO;
}

static void get_blob(srv_blobs *b, const srv_request *req, const char *wid, const char *hash,
                     srv_response *out)
{
    dx_error err = DX_ERROR_INIT;
    int64_t size = 0;
    uint64_t off = 0, len = 0;
    int rc = ref_get(b, wid, hash, &size, &err);
    if (rc) {
        srv_reply_error(out, status_of(rc),
                        rc == DX_ENOTFOUND ? "this workspace has no such blob" : err.msg);
        return;
    }
    bool head = !strcmp(req->method, "HEAD");
    int r = head ? 1 : parse_range(req->range, (uint64_t)size, &off, &len);
    if (r < 0) {
        snprintf(out->content_range, sizeof out->content_range, "bytes */%lld", (long long)size);
        srv_reply_error(out, 416,
                        "the range is not satisfiable (send bytes=FIRST-LAST within the blob)");
        return;
    }
    if (r == 1) {
        off = 0;
        len = (uint64_t)size;
    }
    out->bytes = true;
    out->length = len;
    if (r == 0)
        snprintf(out->content_range, sizeof out->content_range, "bytes %llu-%llu/%lld",
                 (unsigned long long)off, (unsigned long long)(off + len - 1), (long long)size);
    if (head) {
        /* The store must still hold it: a reference to lost bytes is a 502, not a 200. */
        uint64_t have = 0;
        rc = dx_blob_head(b->store, hash, &have, &err);
    } else if (!(out->file = tmpfile())) {
        rc = dx_error_set(&err, DX_EIO, "cannot make a temporary file: %s", strerror(errno));
    } else if (len) {
        rc = dx_blob_get(b->store, hash, off, len, to_file, out->file, &err);
        if (!rc && fflush(out->file) != 0)
            rc = dx_error_set(&err, DX_EIO, "cannot write a temporary file: %s", strerror(errno));
    }
    if (rc) {
        if (out->file)
            fclose(out->file);
        out->file = NULL;
        out->bytes = false;
        out->content_range[0] = 0;
        srv_reply_error(out, rc == DX_ENOTFOUND ? 502 : status_of(rc),
                        rc == DX_ENOTFOUND ? "the blob store lost these bytes" : err.msg);
        return;
    }
    if (out->file)
        rewind(out->file);
    out->status = r == 0 ? 206 : 200;
}

static void missing(srv_blobs *b, const srv_request *req, const char *wid, srv_response *out)
{
    json_error_t je;
    json_t *body = req->body_len ? json_loadb(req->body, req->body_len, 0, &je) : NULL;
    json_t *hashes = body ? json_object_get(body, "hashes") : NULL, *res = json_array(), *h;
    dx_error err = DX_ERROR_INIT;
    size_t i;
    if (!json_is_array(hashes) || json_array_size(hashes) > MAX_MISSING) {
        srv_reply_error(out, 400, "send {\"hashes\": [\"<sha256>\", ...]} (at most 10000)");
        goto done;
    }
    json_array_foreach(hashes, i, h)
    {
        const char *s = json_string_value(h);
        int64_t size;
        if (!s || !dx_blob_name_valid(s)) {
            srv_reply_error(out, 400, "every hash must be 64 lowercase hex digits");
            goto done;
        }
        int rc = ref_get(b, wid, s, &size, &err);
        if (rc == DX_ENOTFOUND)
            rc = json_array_append(res, h) ? DX_ENOMEM : 0;
        if (rc) {
            srv_reply_error(out, status_of(rc), err.msg);
            goto done;
        }
    }
    srv_reply_json(out, 200, json_pack("{s:O}", "missing", res));
done:
    json_decref(res);
    json_decref(body);
}

/* The workspace's reference goes (its quota is freed); the bytes go with the last one. The
 * reference is dropped first: bytes without a reference are only wasted space, a reference
 * without bytes would be a lie. */
static void delete_blob(srv_blobs *b, const char *wid, const char *hash, srv_response *out)
{
    dx_error err = DX_ERROR_INIT;
    int64_t size;
    bool last = false;
    int rc = ref_get(b, wid, hash, &size, &err);
    if (!rc)
        rc = ref_drop(b, wid, hash, &last, &err);
    if (!rc && last && (rc = dx_blob_delete(b->store, hash, &err)) == DX_ENOTFOUND)
        rc = 0;
    if (rc)
        srv_reply_error(out, status_of(rc),
                        rc == DX_ENOTFOUND ? "this workspace has no such blob" : err.msg);
    else
        out->status = 204;
}

void srv_blobs_handle(const srv_api *api, const srv_request *req, const char *wid, int64_t user,
                      const char *rest, srv_response *out)
{
    srv_blobs *b = api->blobs;
    const char *m = req->method;
    if (!b) {
        srv_reply_error(out, 404, "this server keeps no attachments");
    } else if (!strcmp(rest, "/missing")) {
        if (strcmp(m, "POST") != 0)
            srv_reply_error(out, 405, "use POST on blobs/missing");
        else
            missing(b, req, wid, out);
    } else if (rest[0] != '/' || !dx_blob_name_valid(rest + 1)) {
        srv_reply_error(out, 400, "a blob is named by its SHA-256: 64 lowercase hex digits");
    } else if (!strcmp(m, "PUT")) {
        put_blob(b, api, req, wid, user, rest + 1, out);
    } else if (!strcmp(m, "GET") || !strcmp(m, "HEAD")) {
        get_blob(b, req, wid, rest + 1, out);
    } else if (!strcmp(m, "DELETE")) {
        delete_blob(b, wid, rest + 1, out);
    } else {
        srv_reply_error(out, 405, "use PUT, HEAD, GET or DELETE on a blob");
    }
}
