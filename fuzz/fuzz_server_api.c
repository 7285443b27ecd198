/* fuzz_server_api.c - arbitrary HTTP requests to the server's API (api.h, auth.h): the first
 * byte picks the method and whether a valid token is sent (0x80: a token; with 0x40 too, a
 * session token of a signed-in device, else an API token), the bytes up to the first newline
 * are the path, the rest is the body. On /auth/verify, 0x40 puts the token of a fresh sign-in
 * link first in the query, so that verify gets past the link. Every answer is a status the
 * API documents, with a JSON body (or none for 204); nothing crashes, leaks or reaches
 * outside the data directory. A token an input revoked (logout, a device deleted) is made
 * anew for the next input. A path starting "/W/" stands for /api/workspaces/<the fixture's
 * workspace>/ (so the blob routes, blobs.h, are reached; the rest of the line after a '#' is
 * the Range header), whose byte answers are files. */
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "auth.h"
#include "blobs.h"
#include "server_fixture.h"

static server_fixture fx;
static srv_api api;
static srv_auth auth = SRV_AUTH_INIT;
static char token[128], session[128];

/* A fresh sign-in link token (the rate limit is the API's, not tested here). */
static void fresh_link(char tok[SRV_TOKEN_LEN + 1])
{
    int64_t retry;
    if (srv_link_new(fx.acc, "f@example.org", auth.link_ms, 1 << 30, tok, &retry, NULL))
        abort();
}

/* The API token and the session token, made anew when an input revoked them. */
static void tokens_alive(void)
{
    srv_token_info t;
    if (srv_token_check(fx.acc, token + 7, strlen(token + 7), &t, NULL)) {
        dx_buf b = DX_BUF_INIT;
        if (srv_token_new(fx.acc, "f@example.org", "fuzz", false, &b, NULL))
            abort();
        snprintf(token, sizeof token, "Bearer %s", dx_buf_cstr(&b));
        dx_buf_release(&b);
    }
    if (srv_token_check(fx.acc, session + 7, strlen(session + 7), &t, NULL)) {
        char link[SRV_TOKEN_LEN + 1];
        srv_signin s;
        fresh_link(link);
        if (srv_link_use(fx.acc, link, SRV_TOKEN_LEN, "fuzz device", auth.session_ms, &s, NULL))
            abort();
        snprintf(session, sizeof session, "Bearer %s", s.token);
    }
}

static void setup(void)
{
    server_fixture_start(&fx, "api");
    api.acc = fx.acc;
    api.hub = fx.hub;
    auth.log = fopen("/dev/null", "w");
    api.auth = &auth;
    static char blob_dir[64];
    srv_blobs_config bc = SRV_BLOBS_CONFIG_INIT;
    fixture_tmpdir(blob_dir, "blobs");
    if (srv_blobs_open(blob_dir, &bc, &api.blobs, NULL))
        abort();
    snprintf(token, sizeof token, "Bearer %s", fx.token);
    tokens_alive();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const methods[] = {"GET", "POST", "PATCH", "DELETE", "PUT", "OPTIONS"};
    if (!api.acc)
        setup();
    if (size < 1)
        return 0;
    const char *nl = memchr(data + 1, '\n', size - 1);
    size_t plen = nl ? (size_t)(nl - (const char *)data - 1) : size - 1;
    char *path = malloc(plen + 1);
    if (!path)
        return 0;
    memcpy(path, data + 1, plen);
    path[plen] = 0;
    dx_buf wpath = DX_BUF_INIT;
    if (!strncmp(path, "/W/", 3)) {
        dx_buf_printf(&wpath, "/api/workspaces/%s/%s", fx.wid, path + 3);
        if (dx_buf_error(&wpath))
            abort();
        free(path);
        path = dx_buf_detach(&wpath, NULL);
    }
    char *range = strchr(path, '#');
    if (range)
        *range++ = 0;
    char *q = strchr(path, '?');
    if (q)
        *q++ = 0;
    dx_buf query = DX_BUF_INIT;
    if ((data[0] & 0x40) && !strcmp(path, "/auth/verify")) {
        char link[SRV_TOKEN_LEN + 1];
        fresh_link(link);
        dx_buf_printf(&query, "token=%s&%s", link, q ? q : "");
        if (dx_buf_error(&query))
            abort();
        q = query.data;
    }
    srv_request req = {methods[data[0] % 6],
                       path,
                       q,
                       !(data[0] & 0x80) ? "Bearer x"
                       : data[0] & 0x40  ? session
                                         : token,
                       nl ? (const char *)nl + 1 : NULL,
                       nl ? size - plen - 2 : 0};
    req.range = range;
    srv_response res = {0, DX_BUF_INIT, 0};
    srv_api_handle(&api, &req, &res);
    static const unsigned ok[] = {200, 201, 204, 206, 400, 401, 402, 403, 404,
                                  405, 409, 413, 416, 429, 500, 502, 503};
    bool known = false;
    for (size_t i = 0; i < sizeof ok / sizeof *ok; i++)
        known |= res.status == ok[i];
    if (!known)
        abort();
    if (res.bytes) {
        /* A blob's bytes: 200 or 206, a file of the length said (none for HEAD). */
        if ((res.status != 200 && res.status != 206) ||
            (res.file && fseeko(res.file, 0, SEEK_END)) ||
            (res.file && (uint64_t)ftello(res.file) != res.length))
            abort();
        if (res.file)
            fclose(res.file);
    } else if (res.status != 204) {
        json_error_t je;
        json_t *v = json_loadb(dx_buf_cstr(&res.body), res.body.len, 0, &je);
        if (!v)
            abort(); /* every answer is JSON */
        json_decref(v);
    }
    if ((res.status == 429 || res.status == 503) && !res.retry_after)
        abort(); /* a refusal for now says when to come back */
    dx_buf_release(&res.body);
    dx_buf_release(&query);
    free(path);
    tokens_alive();
    return 0;
}
