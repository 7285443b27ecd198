/* api.c - the HTTP API of the server (see api.h). */
#include "api.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "auth.h"
#include "blobs.h"
#include "commits.h"
#include "diaryx/clock.h"
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
    } else if (t->readonly && strcmp(req->method, "GET") != 0 && strcmp(req->method, "HEAD") != 0 &&
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
        } else if (srv_jobs_busy(api->jobs, wid)) {
            srv_reply_error(out, 409,
                            "a commit or restore of this workspace is running; try again in a "
                            "moment");
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

static void restore(const srv_api *api, const srv_request *req, const char *wid, srv_response *out,
                    bool *committed, size_t *failures)
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
    *committed = !rc && r.committed;
    *failures = r.failures;
    dx_commit_result_release(&r);
    json_decref(body);
}

/* no_rebuild: see srv_hub_may_rebuild. */
static void commit(const srv_api *api, const srv_request *req, const char *wid, srv_response *out,
                   bool no_rebuild, bool *committed, bool *rebuilt, size_t *failures)
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
    int rc = srv_commit(api->hub, wid, message, no_rebuild, &r, &err);
    *rebuilt = r.rebuilt;
    *failures = r.rebuilt ? 0 : r.failures;
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
    *committed = !rc && r.committed;
    dx_commit_result_release(&r);
    json_decref(body);
}

/* A git route, answered on the worker pool: the request copied, the answer, and what the
 * loop does with it once done. */
typedef struct git_job {
    const srv_api *api;
    srv_request req; /* its strings are owned copies */
    char wid[DX_UUID_LEN + 1];
    size_t action; /* offset of the action in req.path */
    srv_response res;
    srv_response *inline_out; /* no pool: the caller's */
    bool committed, rebuilt;
    bool no_rebuild; /* else the workspace is held while the job runs */
    bool counted;    /* a commit ran its checks: failures is the count */
    size_t failures;
    int64_t since_ms; /* updates after it keep the workspace dirty */
} git_job;

static void git_job_free(git_job *j)
{
    free((char *)j->req.method);
    free((char *)j->req.path);
    free((char *)j->req.query);
    free((char *)j->req.body);
    dx_buf_release(&j->res.body);
    free(j);
}

/* On a worker thread: only git and a store connection of its own are touched. */
static void git_run(void *ud)
{
    git_job *j = ud;
    const char *action = j->req.path + j->action;
    if (!strcmp(action, "history") || !strncmp(action, "history/", 8))
        history(j->api, &j->req, j->wid, action[7] ? action + 8 : "", &j->res);
    else if (!strncmp(action, "files/", 6))
        file_at(j->api, &j->req, j->wid, action + 6, &j->res);
    else if (!strcmp(action, "commit"))
        commit(j->api, &j->req, j->wid, &j->res, j->no_rebuild, &j->committed, &j->rebuilt,
               &j->failures);
    else
        restore(j->api, &j->req, j->wid, &j->res, &j->committed, &j->failures);
    bool writes = !strcmp(action, "commit") || !strcmp(action, "restore");
    j->counted = writes && (j->res.status == 200 || j->res.status == 409);
}

/* On the loop. */
static void git_done(void *ud, bool ran)
{
    git_job *j = ud;
    const char *action = j->req.path + j->action;
    dx_error err = DX_ERROR_INIT;
    if (!ran) {
        dx_buf_reset(&j->res.body);
        srv_reply_error(&j->res, 503,
                        "the server is stopping; send the request again after its restart");
    }
    if (ran && !strcmp(action, "restore") && j->res.status == 200 &&
        srv_hub_refresh(j->api->hub, j->wid, &err))
        fprintf(stderr, "diaryx-server: after the restore of %s: %s\n", j->wid, err.msg);
    if (j->committed)
        srv_hub_committed(j->api->hub, j->wid, j->since_ms);
    if (j->rebuilt)
        srv_hub_rebuilt(j->api->hub, j->wid);
    if (ran && j->counted)
        srv_hub_set_failures(j->api->hub, j->wid, j->failures);
    if (!j->no_rebuild)
        srv_hub_unhold(j->api->hub, j->wid);
    if (j->inline_out) {
        j->inline_out->status = j->res.status;
        dx_buf_append(&j->inline_out->body, j->res.body.data, j->res.body.len);
        if (dx_buf_error(&j->inline_out->body))
            j->inline_out->status = 500;
    } else {
        j->api->deliver(j->req.ud, &j->res);
    }
    git_job_free(j);
}

static char *dup_or_null(const char *s, size_t n, bool *oom)
{
    if (!s)
        return NULL;
    char *d = malloc(n + 1);
    if (!d) {
        *oom = true;
        return NULL;
    }
    memcpy(d, s, n);
    d[n] = 0;
    return d;
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
    if (is_restore && !strcmp(req->method, "POST") && srv_hub_clients(api->hub, wid) > 1) {
        srv_reply_error(out, 409,
                        "more than one client is connected to this workspace; a restore "
                        "waits until only one is");
        return;
    }
    git_job *j = calloc(1, sizeof *j);
    bool oom = !j;
    if (j) {
        j->api = api;
        j->req = *req;
        j->req.method = dup_or_null(req->method, strlen(req->method), &oom);
        j->req.path = dup_or_null(req->path, strlen(req->path), &oom);
        j->req.query = dup_or_null(req->query, req->query ? strlen(req->query) : 0, &oom);
        j->req.body = dup_or_null(req->body, req->body_len, &oom);
        j->req.authorization = NULL; /* checked already */
        j->action = (size_t)(action - req->path);
        j->res = (srv_response){500, DX_BUF_INIT};
        j->inline_out = api->jobs ? NULL : out;
        j->since_ms = dx_now_ms();
        j->no_rebuild = strcmp(action, "commit") != 0 || !srv_hub_may_rebuild(api->hub, wid);
        snprintf(j->wid, sizeof j->wid, "%s", wid);
    }
    dx_error err = DX_ERROR_INIT;
    if (oom) {
        if (j)
            git_job_free(j);
        srv_reply_error(out, 500, "out of memory");
    } else {
        if (!j->no_rebuild)
            srv_hub_hold(api->hub, wid);
        if (srv_jobs_submit(api->jobs, wid, git_run, git_done, j, &err)) {
            if (!j->no_rebuild)
                srv_hub_unhold(api->hub, wid);
            git_job_free(j);
            srv_reply_error(out, 503, err.msg);
        } else if (api->jobs) {
            out->status = 0; /* deliver answers it */
        }
    }
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
        else if (!strncmp(slash, "/blobs", 6) && (!slash[6] || slash[6] == '/'))
            srv_blobs_handle(api, req, wid, user, slash + 6, out);
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
