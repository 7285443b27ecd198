/* api.h - the server's HTTP API as a pure function of a request: routes, Bearer tokens, JSON
 * bodies in and out, errors as {"error": "..."} with their status. No sockets (main.c hands
 * requests in), so it is unit-tested and fuzzed directly.
 *
 *   GET    /health                    200 {"status":"ok"} (no token)
 *   GET    /api/status                version, connections, loaded workspaces and documents
 *   GET    /api/workspaces            the caller's workspaces [{id, name}]
 *   POST   /api/workspaces {name}     201 {id, name}
 *   GET    /api/workspaces/{id}       {id, name}
 *   PATCH  /api/workspaces/{id} {name}
 *   DELETE /api/workspaces/{id}       204; 409 while clients are connected to it
 *   GET    /api/workspaces/{id}/history?count=&path=   commits, newest first (50 by default),
 *                                       each with its changed files (sync plan; else 402)
 *   POST   /api/workspaces/{id}/commit {message?}   {commit_id, committed, files_changed}; 409
 *                                       with the reasons when the sanity checks fail
 *   GET    /api/workspaces/{id}/history/{commit}/diff?path=   {commit, files:[{path, status,
 *                                       patch}]}
 *   GET    /api/workspaces/{id}/files/{path}?rev=   {path, rev, content} (rev: HEAD)
 *   POST   /api/workspaces/{id}/restore {commit_id, path?}   the restore as CRDT edits every
 *                                       connected client receives, then committed; 409 while
 *                                       more than one client is connected
 *   PUT|HEAD|GET /api/workspaces/{id}/blobs/{sha256}, POST .../blobs/missing   blobs.h
 * The sign-in routes under /auth/ are auth.h's.
 * Every /api/ route but status wants `Authorization: Bearer <token>` (401 without a valid
 * one; a read-only token may only GET or HEAD: 403); another user's workspace is 404, exactly as
 * one that does not exist. */
#ifndef DX_SERVER_API_H
#define DX_SERVER_API_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "accounts.h"
#include "diaryx/buf.h"
#include "hub.h"
#include "jobs.h"

#define SRV_MAX_BODY (1u << 20) /* a larger request body is 413 */

typedef struct srv_request {
    const char *method;        /* "GET", "POST", "PATCH", "DELETE", ... */
    const char *path;          /* without the query */
    const char *query;         /* "a=b&c=d" (percent-encoded), or NULL */
    const char *authorization; /* the header's value, or NULL */
    const char *body;          /* body_len bytes, not NUL-terminated (may be NULL) */
    size_t body_len;
    bool forwarded;    /* it came through a proxy (X-Forwarded-For, X-Real-IP or Forwarded) */
    void *ud;          /* handed to srv_api.deliver with a deferred answer */
    const char *range; /* the Range header's value, or NULL */
    FILE *body_file;   /* a body too large for memory (blobs.h), from offset 0; or NULL */
    /* blobs.h: only say whether a body of preflight_len bytes may come (status 0: yes, else the
     * answer), before a byte of it is received. */
    bool preflight;
    int64_t preflight_len;
} srv_request;

typedef struct srv_response {
    unsigned status;      /* 0: deferred (see srv_api) */
    dx_buf body;          /* JSON text (empty for 204) */
    unsigned retry_after; /* seconds: send a Retry-After header (429, 503) when nonzero */
    /* Bytes instead of JSON (blobs.h): length bytes of file from its start (the caller closes
     * it), or with file NULL only the headers of an answer of length bytes (HEAD). */
    bool bytes;
    FILE *file;
    uint64_t length;
    char content_range[96]; /* "bytes a-b/n" or "" */
} srv_response;

struct json_t;
struct srv_auth;

/* The routes that work on git (history, diff, files, commit, restore) run on the worker pool
 * jobs when there is one: srv_api_handle then answers status 0 (deferred), and once the job
 * is done deliver is called on the loop (from srv_jobs_finish) with req->ud and the answer
 * (its body is released after the call). Without a pool (jobs NULL) they are answered at
 * once, like every other route. A restore is refused (409) while more than one client is
 * connected, checked when the request comes; a DELETE of a workspace while one of its jobs
 * runs is 409. */
typedef struct srv_api {
    srv_accounts *acc;
    srv_hub *hub;
    struct srv_blobs *blobs;     /* attachment bytes (blobs.h); NULL: no blob routes (404) */
    const struct srv_auth *auth; /* sign-in settings (auth.h); NULL: SRV_AUTH_INIT's */
    srv_jobs *jobs;
    void (*deliver)(void *ud, const srv_response *res);
} srv_api;

/* Answer req into out (out->body is appended to; release it after). */
void srv_api_handle(const srv_api *api, const srv_request *req, srv_response *out);

/* For the route files (api.c, auth.c). */
/* Answer status with the JSON v (a reference stolen; NULL: no body). */
void srv_reply_json(srv_response *out, unsigned status, struct json_t *v);
/* Answer status with {"error": msg}. */
void srv_reply_error(srv_response *out, unsigned status, const char *msg);
/* The status that goes with a library error code. */
unsigned srv_status_of(int code);
/* The value of key in a query string, percent-decoded into out (false: absent or too
 * long). */
bool srv_query_get(const char *q, const char *key, char *out, size_t cap);
/* The request's Bearer token into t, or a 401 in out (nonzero); a read-only token may only
 * GET, or sign out (403 otherwise). */
int srv_caller(const srv_api *api, const srv_request *req, srv_response *out, srv_token_info *t);

#endif
