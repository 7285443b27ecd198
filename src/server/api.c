/* api.c - the HTTP API of the server (see api.h). */
#include "api.h"

#include <jansson.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "diaryx/version.h"

static void reply_json(srv_response *out, unsigned status, json_t *v)
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

static void reply_error(srv_response *out, unsigned status, const char *msg)
{
    reply_json(out, status, json_pack("{s:s}", "error", msg));
}

/* The status that goes with a library error. */
static unsigned status_of(int code)
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

/* The user of the request's Bearer token, or a 401 in out. */
static int caller(const srv_api *api, const srv_request *req, srv_response *out, int64_t *user)
{
    const char *a = req->authorization;
    dx_error err = DX_ERROR_INIT;
    if (!a || strncasecmp(a, "Bearer ", 7) != 0) {
        reply_error(out, 401, "sign in: send Authorization: Bearer <token>");
        return -1;
    }
    a += 7;
    while (*a == ' ')
        a++;
    size_t n = strlen(a);
    while (n && a[n - 1] == ' ')
        n--;
    int rc = srv_token_user(api->acc, a, n, user, &err);
    if (rc)
        reply_error(out, status_of(rc), err.msg);
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
        reply_error(out, 400, msg);
        json_decref(*obj);
        *obj = NULL;
        return -1;
    }
    *name = json_string_value(v);
    return 0;
}

static void remove_store(const srv_api *api, const char *wid)
{
    static const char *const suffix[] = {"", "-wal", "-shm"};
    char path[4096];
    for (size_t i = 0; i < 3; i++)
        if (snprintf(path, sizeof path, "%s/workspaces/%s.db%s", srv_hub_dir(api->hub), wid,
                     suffix[i]) < (int)sizeof path)
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
        reply_error(out, 404, "no such workspace");
    } else if (!strcmp(req->method, "GET")) {
        rc = srv_workspace_get(api->acc, user, wid, &got, &err);
        if (rc)
            reply_error(out, status_of(rc), err.msg);
        else
            reply_json(out, 200, got);
    } else if (!strcmp(req->method, "PATCH")) {
        if (body_name(req, out, &obj, &name))
            return;
        if ((rc = srv_workspace_rename(api->acc, user, wid, name, &err)))
            reply_error(out, status_of(rc), err.msg);
        else
            reply_json(out, 200, json_pack("{s:s, s:s}", "id", wid, "name", name));
        json_decref(obj);
    } else if (!strcmp(req->method, "DELETE")) {
        if (!srv_workspace_owned(api->acc, user, wid)) {
            reply_error(out, 404, "no such workspace");
        } else if (srv_hub_loaded(api->hub, wid)) {
            reply_error(out, 409, "clients are connected to this workspace; disconnect them first");
        } else if ((rc = srv_workspace_delete(api->acc, user, wid, &err))) {
            reply_error(out, status_of(rc), err.msg);
        } else {
            remove_store(api, wid);
            out->status = 204;
        }
    } else {
        reply_error(out, 405, "use GET, PATCH or DELETE on a workspace");
    }
}

static void workspaces(const srv_api *api, const srv_request *req, srv_response *out)
{
    int64_t user;
    if (caller(api, req, out, &user))
        return;
    const char *rest = req->path + strlen("/api/workspaces");
    if (*rest == '/' && rest[1]) {
        workspace_one(api, req, rest + 1, user, out);
        return;
    }
    dx_error err = DX_ERROR_INIT;
    if (!strcmp(req->method, "GET")) {
        json_t *arr = srv_workspaces_json(api->acc, user, &err);
        if (arr)
            reply_json(out, 200, arr);
        else
            reply_error(out, 500, err.msg);
    } else if (!strcmp(req->method, "POST")) {
        json_t *obj;
        const char *name;
        char wid[DX_UUID_LEN + 1];
        if (body_name(req, out, &obj, &name))
            return;
        int rc = srv_workspace_create(api->acc, user, name, wid, &err);
        if (rc)
            reply_error(out, status_of(rc), err.msg);
        else
            reply_json(out, 201, json_pack("{s:s, s:s}", "id", wid, "name", name));
        json_decref(obj);
    } else {
        reply_error(out, 405, "use GET or POST on /api/workspaces");
    }
}

void srv_api_handle(const srv_api *api, const srv_request *req, srv_response *out)
{
    const char *p = req->path;
    if (req->body_len > SRV_MAX_BODY) {
        reply_error(out, 413, "the request body is larger than 1 MiB");
    } else if (!strcmp(p, "/health")) {
        reply_json(out, 200, json_pack("{s:s}", "status", "ok"));
    } else if (!strcmp(p, "/api/status")) {
        srv_hub_stats st;
        srv_hub_stats_get(api->hub, &st);
        reply_json(out, 200,
                   json_pack("{s:s, s:I, s:I, s:I, s:I}", "version", dx_version(), "connections",
                             (json_int_t)st.connections, "workspaces", (json_int_t)st.workspaces,
                             "documents", (json_int_t)st.documents, "subscriptions",
                             (json_int_t)st.subscriptions));
    } else if (!strcmp(p, "/api/workspaces") || !strncmp(p, "/api/workspaces/", 16)) {
        workspaces(api, req, out);
    } else {
        reply_error(out, 404, "no such endpoint");
    }
}
