/* fuzz_server_api.c - arbitrary HTTP requests to the server's API (api.h): the first byte
 * picks the method and whether a valid token is sent, the bytes up to the first newline are
 * the path, the rest is the body. Every answer is a status the API documents, with a JSON
 * body (or none for 204); nothing crashes, leaks or reaches outside the data directory. */
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "server_fixture.h"

static server_fixture fx;
static srv_api api;
static char token[128];

static void setup(void)
{
    server_fixture_start(&fx, "api");
    api.acc = fx.acc;
    api.hub = fx.hub;
    snprintf(token, sizeof token, "Bearer %s", fx.token);
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
    char *q = strchr(path, '?');
    if (q)
        *q++ = 0;
    srv_request req = {methods[data[0] % 6],
                       path,
                       q,
                       data[0] & 0x80 ? token : "Bearer x",
                       nl ? (const char *)nl + 1 : NULL,
                       nl ? size - plen - 2 : 0};
    srv_response res = {0, DX_BUF_INIT};
    srv_api_handle(&api, &req, &res);
    static const unsigned ok[] = {200, 201, 204, 400, 401, 402, 403, 404, 405, 409, 413, 500};
    bool known = false;
    for (size_t i = 0; i < sizeof ok / sizeof *ok; i++)
        known |= res.status == ok[i];
    if (!known)
        abort();
    if (res.status != 204) {
        json_error_t je;
        json_t *v = json_loadb(dx_buf_cstr(&res.body), res.body.len, 0, &je);
        if (!v)
            abort(); /* every answer is JSON */
        json_decref(v);
    }
    dx_buf_release(&res.body);
    free(path);
    return 0;
}
