/* api.c - the HTTP API of the server (see api.h). */
#include "api.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "auth.h"
#include "commits.h"
#include "diaryx/version.h"

void srv_reply_json(srv_response *out, unsigned status, json_t *v)
{
    out->status = status;
    char *text = v ? json_dumps(v, JSON_COMPACT) : NULL;
    if (v && !text) {
        out->status = 500;
        dx_buf_puts(&out->body, "{\"error\":\"out of memory\"}\n");
    } else if (text) {
        dx_buf_puts(&out->body, text);
        dx_buf_putc(&out->body, '\n');
    }
    free(text);
    json_decref(v);
    if (dx_buf_error(&out->body))
        out->status = 500; /* the body is incomplete: say so by the status at least */
}

void srv_reply_error(srv_response *out, unsigned status, const char *msg)
{
    srv_reply_json(out, status, json_pack("{s:s}", "error", msg));
}

unsigned srv_status_of(int code)
{
    switch (code) {
    case DX_EINVAL:
    case DX_EPARSE:
        return 400;
    case DX_EAUTH:
        return 401;
    case DX_ENOTFOUND:
        return 404;
    case DX_EEXIST:
    case DX_ECONFLICT:
        return 409;
    case DX_ELIMIT:
        return 413;
    default:
        return 500;
    }
}

int srv_caller(const srv_api *api, const srv_request *req, srv_response *out, srv_token_info *t)
{
    const char *a = req->authorization;
    dx_error err = DX_ERROR_INIT;
    if (!a || strncasecmp(a, "Bearer ", 7) != 0) {
        srv_reply_error(out, 401, "sign in: send Authorization: Bearer <token>");
        return -1;
    }
    a += 7;
    while (*a == ' ')
        a++;
    size_t n = strlen(a);
    while (n && a[n - 1] == ' ')
        n--;
    int rc = srv_token_check(api->acc, a, n, t, &err);
    if (rc) {
        srv_reply_error(out, srv_status_of(rc), err.msg);
    } else if (t->readonly && strcmp(req->method, "GET") != 0 &&
               strcmp(req->path, "/auth/logout") != 0) {
        rc = DX_EAUTH;
        srv_reply_error(out, 403, "this token may only read");
    }
    return rc;
}

/* The body as a JSON object with a string "name" (a 400 in out otherwise). */
static int body_name(const srv_request *req, srv_response *out, json_t **obj, const char **name)
{
    json_error_t je;
    *obj = req->body_len ? json_loadb(req->body, req->body_len, JSON_REJECT_DUPLICATES, &je) : NULL;
    json_t *v = *obj ? json_object_get(*obj, "name") : NULL;
    if (!json_is_string(v)) {
        char msg[256];
        snprintf(msg, sizeof msg, "send a JSON object with a string \"name\"%s%s",
                 *obj || !req->body_len ? "" : ": ", *obj || !req->body_len ? "" : je.text);
        srv_reply_error(out, 400, msg);
        json_decref(*obj);
        *obj = NULL;
        return -1;
    }
    *name = json_string_value(v);
    return 0;
}

static void remove_store(const srv_api *api, const char *wid)
{
    static const char *const suffix[] = {".db", ".db-wal", ".db-shm"};
    char path[SRV_PATH_MAX];
    for (size_t i = 0; i < 3; i++)
        if (srv_hub_path(api->hub, wid, suffix[i], path, NULL) == 0)
            unlink(path);
}

static void workspace_one(const srv_api *api, const srv_request *req, const char *wid, int64_t user,
                          srv_response *out)
{
    dx_error err = DX_ERROR_INIT;
    json_t *obj = NULL, *got = NULL;
    const char *name;
    int rc;
    if (!dx_uuid_valid(wid)) {
        srv_reply_error(out, 404, "no such workspace");
    } else if (!strcmp(req->method, "GET")) {
        rc = srv_workspace_get(api->acc, user, wid, &got, &err);
        if (rc)
            srv_reply_error(out, srv_status_of(rc), err.msg);
        else
            srv_reply_json(out, 200, got);
    } else if (!strcmp(req->method, "PATCH")) {
        if (body_name(req, out, &obj, &name))
            return;
        if ((rc = srv_workspace_rename(api->acc, user, wid, name, &err)))
            srv_reply_error(out, srv_status_of(rc), err.msg);
        else
            srv_reply_json(out, 200, json_pack("{s:s, s:s}", "id", wid, "name", name));
        json_decref(obj);
    } else if (!strcmp(req->method, "DELETE")) {
        if (!srv_workspace_owned(api->acc, user, wid)) {
            srv_reply_error(out, 404, "no such workspace");
        } else if (srv_hub_loaded(api->hub, wid)) {
            srv_reply_error(out, 409,
                            "clients are connected to this workspace; disconnect them first");
        } else if ((rc = srv_workspace_delete(api->acc, user, wid, &err))) {
            srv_reply_error(out, srv_status_of(rc), err.msg);
        } else {
            remove_store(api, wid);
            out->status = 204;
        }
    } else {
        srv_reply_error(out, 405, "use GET, PATCH or DELETE on a workspace");
    }
}

bool srv_query_get(const char *q, const char *key, char *out, size_t cap)
{
    size_t kl = strlen(key);
    for (const char *p = q; p && *p;) {
        const char *amp = strchr(p, '&');
        size_t len = amp ? (size_t)(amp - p) : strlen(p);
        if (len > kl && !strncmp(p, key, kl) && p[kl] == '=') {
            size_t o = 0;
            for (size_t i = kl + 1; i < len; i++) {
                unsigned v;
                char c = p[i];
                if (c == '%' && i + 2 < len + 1 && sscanf(p + i + 1, "%2x", &v) == 1) {
                    c = (char)v;
                    i += 2;
                } else if (c == '+') {
                    c = ' ';
                }
                if (o + 1 >= cap || c == 0)
                    return false;
                out[o++] = c;
            }
            out[o] = 0;
            return true;
        }
        p = amp ? amp + 1 : NULL;
    }
    return false;
}

static void history(const srv_api *api, const srv_request *req, const char *wid, const char *rest,
                    srv_response *out)
{
    dx_error err = DX_ERROR_INIT;
    char path[1024];
    bool has_path = req->query && srv_query_get(req->query, "path", path, sizeof path);
    if (strcmp(req->method, "GET") != 0) {
        srv_reply_error(out, 405, "use GET on history");
        return;
    }
    json_t *v;
    if (!*rest) {
        char count[16];
        long long max = 50;
        if (req->query && srv_query_get(req->query, "count", count, sizeof count)) {
            char *end;
            max = strtoll(count, &end, 10);
            if (*end || max < 1 || max > 10000) {
                srv_reply_error(out, 400, "count wants a number from 1 to 10000");
                return;
            }
        }
        v = srv_history_json(api->hub, wid, has_path ? path : NULL, (size_t)max, &err);
    } else {
        /* {commit}/diff */
        char rev[64];
        const char *slash = strchr(rest, '/');
        size_t n = slash ? (size_t)(slash - rest) : 0;
        if (!slash || strcmp(slash, "/diff") != 0 || n == 0 || n >= sizeof rev) {
            srv_reply_error(out, 404, "no such endpoint (history/{commit}/diff)");
            return;
        }
        memcpy(rev, rest, n);
        rev[n] = 0;
        v = srv_diff_json(api->hub, wid, rev, has_path ? path : NULL, &err);
    }
    if (v)
        srv_reply_json(out, 200, v);
    else
        srv_reply_error(out, srv_status_of(err.code), err.msg);
}

static void file_at(const srv_api *api, const srv_request *req, const char *wid, const char *path,
                    srv_response *out)
{
    dx_error err = DX_ERROR_INIT;
    char rev[64];
    dx_buf bytes = DX_BUF_INIT;
    bool has_rev = req->query && srv_query_get(req->query, "rev", rev, sizeof rev);
    if (strcmp(req->method, "GET") != 0) {
        srv_reply_error(out, 405, "use GET on files");
        return;
    }
    int rc = srv_file_at(api->hub, wid, has_rev ? rev : NULL, path, &bytes, &err);
    if (rc)
        srv_reply_error(out, srv_status_of(rc), err.msg);
    else
        srv_reply_json(out, 200,
                       json_pack("{s:s, s:s, s:s%}", "path", path, "rev", has_rev ? rev : "HEAD",
                                 "content", dx_buf_cstr(&bytes), bytes.len));
    dx_buf_release(&bytes);
}

static void restore(const srv_api *api, const srv_request *req, const char *wid, srv_response *out)
{
    dx_error err = DX_ERROR_INIT;
    json_error_t je;
    if (strcmp(req->method, "POST") != 0) {
        srv_reply_error(out, 405, "use POST on restore");
        return;
    }
    json_t *body = req->body_len ? json_loadb(req->body, req->body_len, 0, &je) : NULL;
    json_t *c = body ? json_object_get(body, "commit_id") : NULL;
    json_t *p = body ? json_object_get(body, "path") : NULL;
    if (!json_is_string(c) || (p && !json_is_string(p))) {
        srv_reply_error(out, 400, "send {\"commit_id\": \"...\"} and optionally \"path\"");
        json_decref(body);
        return;
    }
    if (srv_hub_clients(api->hub, wid) > 1) {
        srv_reply_error(out, 409,
                        "more than one client is connected to this workspace; a restore "
                        "waits until only one is");
        json_decref(body);
        return;
    }
    dx_restore_stats st = {0};
    dx_commit_result r = {0};
    int rc = srv_restore(api->hub, wid, json_string_value(c), p ? json_string_value(p) : NULL, &st,
                         &r, &err);
    if (rc)
        srv_reply_error(out, rc == DX_EVALIDATE ? 409 : srv_status_of(rc), err.msg);
    else
        srv_reply_json(out, 200,
                       json_pack("{s:s?, s:I, s:I, s:I}", "commit_id", r.committed ? r.id : NULL,
                                 "restored", (json_int_t)st.restored, "created",
                                 (json_int_t)st.created, "deleted", (json_int_t)st.deleted));
    if (!rc && r.committed)
        srv_hub_committed(api->hub, wid, INT64_MAX);
    dx_commit_result_release(&r);
    json_decref(body);
}

static void commit(const srv_api *api, const srv_request *req, const char *wid, srv_response *out)
{
    dx_error err = DX_ERROR_INIT;
    if (strcmp(req->method, "POST") != 0) {
        srv_reply_error(out, 405, "use POST on commit");
        return;
    }
    json_t *body = NULL;
    const char *message = NULL;
    if (req->body_len) {
        json_error_t je;
        body = json_loadb(req->body, req->body_len, JSON_REJECT_DUPLICATES, &je);
        json_t *m = body ? json_object_get(body, "message") : NULL;
        if (!json_is_object(body) || (m && !json_is_string(m))) {
            srv_reply_error(out, 400, "send nothing, or a JSON object with a string \"message\"");
            json_decref(body);
            return;
        }
        message = m ? json_string_value(m) : NULL;
    }
    dx_commit_result r = {0};
    int rc = srv_commit(api->hub, wid, message, false, &r, &err);
    if (rc == DX_EVALIDATE)
        srv_reply_json(
            out, 409,
            json_pack("{s:s, s:I}", "error", err.msg, "failures", (json_int_t)r.failures));
    else if (rc)
        srv_reply_error(out, srv_status_of(rc), err.msg);
    else
        srv_reply_json(out, 200,
                       json_pack("{s:s?, s:b, s:I}", "commit_id", r.committed ? r.id : NULL,
                                 "committed", r.committed, "files_changed",
                                 (json_int_t)(r.stats.added + r.stats.modified + r.stats.deleted +
                                              r.stats.renamed)));
    if (!rc && r.committed)
        srv_hub_committed(api->hub, wid, INT64_MAX);
    dx_commit_result_release(&r);
    json_decref(body);
}

/* The git history of an owned workspace: a feature of the sync plan. */
static void workspace_action(const srv_api *api, const srv_request *req, const char *wid,
                             const char *action, srv_response *out)
{
    bool is_history = !strcmp(action, "history") || !strncmp(action, "history/", 8);
    bool is_files = !strncmp(action, "files/", 6) && action[6];
    bool is_commit = !strcmp(action, "commit"), is_restore = !strcmp(action, "restore");
    if (!is_history && !is_files && !is_commit && !is_restore) {
        srv_reply_error(out, 404, "no such endpoint");
        return;
    }
    if (!srv_workspace_plan_sync(api->acc, wid)) {
        srv_reply_error(out, 402,
                        "version history is part of the sync plan; this account is on "
                        "the free plan");
        return;
    }
    if (is_history)
        history(api, req, wid, action[7] ? action + 8 : "", out);
    else if (is_files)
        file_at(api, req, wid, action + 6, out);
    else if (is_commit)
        commit(api, req, wid, out);
    else
        restore(api, req, wid, out);
}

static void workspaces(const srv_api *api, const srv_request *req, srv_response *out)
{
    srv_token_info t;
    if (srv_caller(api, req, out, &t))
        return;
    const int64_t user = t.user;
    const char *rest = req->path + strlen("/api/workspaces");
    if (*rest == '/' && rest[1]) {
        /* /api/workspaces/<id>[/<action>] */
        char wid[DX_UUID_LEN + 1] = "";
        const char *slash = strchr(rest + 1, '/');
        size_t n = slash ? (size_t)(slash - rest - 1) : strlen(rest + 1);
        if (n == DX_UUID_LEN)
            memcpy(wid, rest + 1, n);
        if (!slash)
            workspace_one(api, req, wid, user, out);
        else if (!dx_uuid_valid(wid) || !srv_workspace_owned(api->acc, user, wid))
            srv_reply_error(out, 404, "no such workspace");
        else
            workspace_action(api, req, wid, slash + 1, out);
        return;
    }
    dx_error err = DX_ERROR_INIT;
    if (!strcmp(req->method, "GET")) {
        json_t *arr = srv_workspaces_json(api->acc, user, &err);
        if (arr)
            srv_reply_json(out, 200, arr);
        else
            srv_reply_error(out, 500, err.msg);
    } else if (!strcmp(req->method, "POST")) {
        json_t *obj;
        const char *name;
        char wid[DX_UUID_LEN + 1];
        if (body_name(req, out, &obj, &name))
            return;
        int rc = srv_workspace_create(api->acc, user, name, wid, &err);
        if (rc)
            srv_reply_error(out, srv_status_of(rc), err.msg);
        else
            srv_reply_json(out, 201, json_pack("{s:s, s:s}", "id", wid, "name", name));
        json_decref(obj);
    } else {
        srv_reply_error(out, 405, "use GET or POST on /api/workspaces");
    }
}

void srv_api_handle(const srv_api *api, const srv_request *req, srv_response *out)
{
    const char *p = req->path;
    if (req->body_len > SRV_MAX_BODY) {
        srv_reply_error(out, 413, "the request body is larger than 1 MiB");
    } else if (!strcmp(p, "/health")) {
        srv_reply_json(out, 200, json_pack("{s:s}", "status", "ok"));
    } else if (!strcmp(p, "/api/status")) {
        srv_hub_stats st;
        srv_hub_stats_get(api->hub, &st);
        srv_reply_json(out, 200,
                       json_pack("{s:s, s:I, s:I, s:I, s:I}", "version", dx_version(),
                                 "connections", (json_int_t)st.connections, "workspaces",
                                 (json_int_t)st.workspaces, "documents", (json_int_t)st.documents,
                                 "subscriptions", (json_int_t)st.subscriptions));
    } else if (!strcmp(p, "/api/workspaces") || !strncmp(p, "/api/workspaces/", 16)) {
        workspaces(api, req, out);
    } else if (!strncmp(p, "/auth/", 6)) {
        srv_auth_handle(api, req, out);
    } else {
        srv_reply_error(out, 404, "no such endpoint");
    }
}
