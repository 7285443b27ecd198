/* test_server_blobs.c - the blob routes as a function of a request (no sockets): ranges at
 * their edges, HEAD, a body in memory and one in a file, the config keys. The real server with
 * both stores is tests/server/blobs.sh. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "accounts.h"
#include "api.h"
#include "blobs.h"
#include "diaryx/sigv4.h"
#include "hub.h"
#include "test.h"

static char g_dir[] = "/tmp/dx_server_blobs_XXXXXX";
static srv_api g_api;
static char g_auth[128], g_wid[DX_UUID_LEN + 1], g_url[256];

static unsigned call(const char *method, const char *path, const char *range, const char *body,
                     FILE *file, srv_response *res)
{
    srv_request req = {method, path, NULL, g_auth, body, body ? strlen(body) : 0};
    req.range = range;
    req.body_file = file;
    dx_buf_release(&res->body);
    if (res->file)
        fclose(res->file);
    memset(res, 0, sizeof *res);
    srv_api_handle(&g_api, &req, res);
    return res->status;
}

/* The bytes of the answer's file. */
static void file_text(srv_response *res, char *out, size_t cap)
{
    size_t n = res->file ? fread(out, 1, cap - 1, res->file) : 0;
    out[n] = 0;
}

TEST(test_server_blobs_ranges)
{
    srv_response res = {0};
    char h[DX_SHA256_HEX], buf[64];
    const char *text = "0123456789";
    dx_sha256_hex(NULL, text, 10, h);
    snprintf(g_url, sizeof g_url, "/api/workspaces/%s/blobs/%s", g_wid, h);
    CHECK_EQ_INT(call("PUT", g_url, NULL, text, NULL, &res), 201);
    static const struct {
        const char *range;
        unsigned status;
        const char *bytes, *content_range;
    } cases[] = {
        {NULL, 200, "0123456789", ""},
        {"bytes=0-0", 206, "0", "bytes 0-0/10"},
        {"bytes=2-4", 206, "234", "bytes 2-4/10"},
        {"bytes=7-", 206, "789", "bytes 7-9/10"},
        {"bytes=8-100", 206, "89", "bytes 8-9/10"},
        {"bytes=-3", 206, "789", "bytes 7-9/10"},
        {"bytes=-30", 206, "0123456789", "bytes 0-9/10"},
        {"bytes=10-", 416, NULL, "bytes */10"},
        {"bytes=5-3", 416, NULL, "bytes */10"},
        {"bytes=-0", 416, NULL, "bytes */10"},
        {"bytes=0-1,4-5", 416, NULL, "bytes */10"},
        {"items=0-1", 416, NULL, "bytes */10"},
        {"bytes=x-", 416, NULL, "bytes */10"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        unsigned st = call("GET", g_url, cases[i].range, NULL, NULL, &res);
        if (st != cases[i].status)
            TEST_FAILF("Range %s: status %u, expected %u", cases[i].range, st, cases[i].status);
        CHECK_EQ_STR(res.content_range, cases[i].content_range);
        if (cases[i].bytes) {
            file_text(&res, buf, sizeof buf);
            CHECK_EQ_STR(buf, cases[i].bytes);
        }
    }
    /* HEAD: the length, no file. */
    CHECK_EQ_INT(call("HEAD", g_url, NULL, NULL, NULL, &res), 200);
    CHECK(res.bytes && !res.file && res.length == 10);
    call("GET", "/api/workspaces/x/blobs/y", NULL, NULL, NULL, &res);
    CHECK_EQ_INT(res.status, 404);
    CHECK_EQ_INT(call("PATCH", g_url, NULL, NULL, NULL, &res), 405);
    CHECK_EQ_INT(call("DELETE", g_url, NULL, NULL, NULL, &res), 204);
    CHECK_EQ_INT(call("GET", g_url, NULL, NULL, NULL, &res), 404);
    call("GET", "/health", NULL, NULL, NULL, &res); /* releases the last answer */
    dx_buf_release(&res.body);
}

TEST(test_server_blobs_body_in_a_file)
{
    srv_response res = {0};
    char h[DX_SHA256_HEX], url[256];
    const char *text = "streamed to a file";
    dx_sha256_hex(NULL, text, strlen(text), h);
    snprintf(url, sizeof url, "/api/workspaces/%s/blobs/%s", g_wid, h);
    FILE *f = tmpfile();
    fputs(text, f);
    fflush(f);
    CHECK_EQ_INT(call("PUT", url, NULL, NULL, f, &res), 201);
    CHECK(strstr(dx_buf_cstr(&res.body), "\"size\":18") != NULL);
    /* Another name for the same file: the bytes do not match it. */
    snprintf(url, sizeof url, "/api/workspaces/%s/blobs/%s", g_wid, DX_SHA256_EMPTY);
    CHECK_EQ_INT(call("PUT", url, NULL, NULL, f, &res), 400);
    fclose(f);
    snprintf(url, sizeof url, "/api/workspaces/%s/blobs/missing", g_wid);
    char body[200];
    snprintf(body, sizeof body, "{\"hashes\":[\"%s\",\"%s\"]}", h, DX_SHA256_EMPTY);
    CHECK_EQ_INT(call("POST", url, NULL, body, NULL, &res), 200);
    char want[120];
    snprintf(want, sizeof want, "{\"missing\":[\"%s\"]}\n", DX_SHA256_EMPTY);
    CHECK_EQ_STR(dx_buf_cstr(&res.body), want);
    CHECK_EQ_INT(call("POST", url, NULL, "{\"hashes\":7}", NULL, &res), 400);
    CHECK_EQ_INT(call("GET", url, NULL, NULL, NULL, &res), 405);
    dx_buf_release(&res.body);
}

TEST(test_server_blobs_preflight)
{
    char url[256];
    snprintf(url, sizeof url, "/api/workspaces/%s/blobs/%s", g_wid, DX_SHA256_EMPTY);
    srv_request req = {"PUT", url, NULL, g_auth, NULL, 0};
    srv_response res = {500, DX_BUF_INIT};
    req.preflight = true;
    req.preflight_len = 1 << 20; /* within the free plan's 100 MiB */
    srv_api_handle(&g_api, &req, &res);
    CHECK_EQ_INT((int)res.status, 0);
    CHECK_EQ_INT((int)res.body.len, 0);
    req.preflight_len = 200LL << 20;
    srv_api_handle(&g_api, &req, &res);
    CHECK_EQ_INT((int)res.status, 413);
    dx_buf_reset(&res.body);
    req.authorization = "Bearer nope";
    req.preflight_len = 1;
    srv_api_handle(&g_api, &req, &res);
    CHECK_EQ_INT((int)res.status, 401);
    /* Nothing was stored by any of them. */
    req.authorization = g_auth;
    req.preflight = false;
    req.method = "HEAD";
    dx_buf_reset(&res.body);
    srv_api_handle(&g_api, &req, &res);
    CHECK_EQ_INT((int)res.status, 404);
    dx_buf_release(&res.body);
}

TEST(test_server_blobs_config_keys)
{
    srv_blobs_config c = SRV_BLOBS_CONFIG_INIT;
    dx_error err = DX_ERROR_INIT;
    dx_toml_entry e = {"blobs", "backend", {DX_TOML_STRING}};
    e.value.str = "s3";
    CHECK_EQ_INT(srv_blobs_config_key(&c, &e, &err), 0);
    CHECK(c.s3);
    e.key = "quota_free_mb";
    e.value.type = DX_TOML_INT;
    e.value.i = 5;
    CHECK_EQ_INT(srv_blobs_config_key(&c, &e, &err), 0);
    CHECK(c.quota_free == 5LL << 20);
    e.value.i = -1;
    CHECK_EQ_INT(srv_blobs_config_key(&c, &e, &err), DX_EINVAL);
    CHECK(strstr(err.msg, "quota_free_mb") != NULL);
    e.key = "path_style";
    CHECK_EQ_INT(srv_blobs_config_key(&c, &e, &err), DX_EINVAL);
    e.key = "colour";
    CHECK_EQ_INT(srv_blobs_config_key(&c, &e, &err), DX_EINVAL);
    CHECK(strstr(err.msg, "colour") != NULL);
    e.table = "git";
    CHECK_EQ_INT(srv_blobs_config_key(&c, &e, &err), 1);
    CHECK(srv_blobs_streams(
        "PUT", "/api/workspaces/0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d/blobs/" DX_SHA256_EMPTY));
    CHECK(!srv_blobs_streams(
        "GET", "/api/workspaces/0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d/blobs/" DX_SHA256_EMPTY));
    CHECK(!srv_blobs_streams("PUT",
                             "/api/workspaces/0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d/blobs/missing"));
}

int main(void)
{
    dx_error err = DX_ERROR_INIT;
    dx_buf t = DX_BUF_INIT;
    char path[128];
    srv_blobs_config cfg = SRV_BLOBS_CONFIG_INIT;
    if (!mkdtemp(g_dir))
        return 1;
    snprintf(path, sizeof path, "%s/accounts.db", g_dir);
    if (srv_accounts_open(path, &g_api.acc, &err) ||
        srv_hub_new(g_dir, g_api.acc, &g_api.hub, &err) ||
        srv_blobs_open(g_dir, &cfg, &g_api.blobs, &err) ||
        srv_user_add(g_api.acc, "b@example.org", "free", &err) ||
        srv_token_new(g_api.acc, "b@example.org", "test", false, &t, &err) ||
        srv_workspace_add(g_api.acc, "b@example.org", "Blobs", g_wid, &err)) {
        printf("setup: %s\n", err.msg);
        return 1;
    }
    snprintf(g_auth, sizeof g_auth, "Bearer %s", dx_buf_cstr(&t));
    dx_buf_release(&t);
    RUN(test_server_blobs_ranges);
    RUN(test_server_blobs_body_in_a_file);
    RUN(test_server_blobs_preflight);
    RUN(test_server_blobs_config_keys);
    srv_blobs_free(g_api.blobs);
    srv_hub_free(g_api.hub);
    srv_accounts_close(g_api.acc);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", g_dir);
    if (system(cmd) != 0)
        return 1;
    return TEST_REPORT();
}
