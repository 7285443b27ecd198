/* auth.c - sign-in by magic link and the /auth routes (see auth.h). */
#include "auth.h"

#include <ctype.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "diaryx/uuid.h"
#include "ycrdt.h"

static const srv_auth DEFAULTS = SRV_AUTH_INIT;

int srv_auth_email(const char *in, char out[SRV_EMAIL_MAX + 1], dx_error *err)
{
    while (*in == ' ' || *in == '\t')
        in++;
    size_t n = strlen(in);
    while (n && (in[n - 1] == ' ' || in[n - 1] == '\t'))
        n--;
    const char *at = memchr(in, '@', n);
    bool ok = n >= 3 && n <= SRV_EMAIL_MAX && at && at > in && at < in + n - 1 &&
              !memchr(at + 1, '@', n - (size_t)(at + 1 - in));
    for (size_t i = 0; ok && i < n; i++) {
        unsigned char c = (unsigned char)in[i];
        ok = c > 0x20 && c < 0x7f && !strchr("\"(),:;<>[\\]", c);
        out[i] = (char)tolower(c);
    }
    if (!ok)
        return dx_error_set(
            err, DX_EINVAL,
            "'%.*s' is not an email address (send {\"email\": \"you@example.org\"})",
            n > 300 ? 300 : (int)n, in);
    out[n] = 0;
    return 0;
}

/* The text of a sign-in mail. */
static void mail_text(const char *link, int64_t link_ms, dx_buf *out)
{
    dx_buf_printf(out,
                  "Hello,\n\nfollow this link to sign in to Diaryx:\n\n%s\n\n"
                  "It works once, within %lld minutes. If you did not ask for it, ignore this "
                  "mail: nobody can sign in without the link.\n",
                  link, (long long)((link_ms + 59999) / 60000));
}

static void magic_link(const srv_api *api, const srv_auth *cfg, const srv_request *req,
                       srv_response *out)
{
    dx_error err = DX_ERROR_INIT;
    json_error_t je;
    char email[SRV_EMAIL_MAX + 1], tok[SRV_TOKEN_LEN + 1];
    int64_t retry = 0;
    if (strcmp(req->method, "POST") != 0) {
        srv_reply_error(out, 405, "use POST on /auth/magic-link");
        return;
    }
    json_t *body = req->body_len ? json_loadb(req->body, req->body_len, 0, &je) : NULL;
    json_t *e = json_object_get(body, "email");
    if (!json_is_string(e)) {
        srv_reply_error(out, 400, "send a JSON object with a string \"email\"");
        json_decref(body);
        return;
    }
    int rc = srv_auth_email(json_string_value(e), email, &err);
    json_decref(body);
    if (!rc)
        rc =
            srv_link_new(api->acc, email, cfg->link_ms, SRV_AUTH_LINKS_PER_HOUR, tok, &retry, &err);
    if (rc == DX_ELIMIT) {
        out->retry_after = (unsigned)retry;
        srv_reply_error(out, 429, err.msg);
        return;
    }
    if (rc) {
        srv_reply_error(out, srv_status_of(rc), err.msg);
        return;
    }
    dx_buf link = DX_BUF_INIT, text = DX_BUF_INIT;
    dx_buf_printf(&link, "%s/?token=%s", cfg->public_url, tok);
    mail_text(dx_buf_cstr(&link), cfg->link_ms, &text);
    if (dx_buf_error(&link) || dx_buf_error(&text)) {
        rc = dx_error_set(&err, DX_ENOMEM, "out of memory");
    } else if (cfg->mailer) {
        rc = srv_mailer_send(cfg->mailer, email, "Sign in to Diaryx", dx_buf_cstr(&text), &err);
    } else {
        fprintf(cfg->log ? cfg->log : stderr, "diaryx-server: sign-in link for %s: %s\n", email,
                dx_buf_cstr(&link));
        fflush(cfg->log ? cfg->log : stderr);
    }
    if (rc == DX_ELIMIT) {
        out->retry_after = 60;
        srv_reply_error(out, 503, err.msg);
    } else if (rc) {
        srv_reply_error(out, 500, err.msg);
    } else {
        /* Without mail, the link is handed out only to a client on this machine, which a
         * request through a proxy on this machine may not be. */
        bool hand_out = !cfg->mailer && cfg->loopback && !req->forwarded;
        char msg[SRV_EMAIL_MAX + 100];
        snprintf(msg, sizeof msg, "a sign-in link for %s is on its way%s", email,
                 cfg->mailer ? "" : " (no mail is set up: it is in the server log)");
        srv_reply_json(out, 200,
                       json_pack("{s:s, s:I, s:s?}", "message", msg, "expires_in",
                                 (json_int_t)(cfg->link_ms / 1000), "link",
                                 hand_out ? dx_buf_cstr(&link) : NULL));
    }
    dx_buf_release(&link);
    dx_buf_release(&text);
}

/* A device name: 1 to SRV_DEVICE_NAME_MAX bytes of UTF-8 with no control characters (it
 * goes back out in JSON, which holds nothing else). */
static bool device_name_ok(const char *s)
{
    size_t n = strlen(s);
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
            return false;
    return n >= 1 && n <= SRV_DEVICE_NAME_MAX && y_utf8_valid(s, n);
}

static void verify(const srv_api *api, const srv_auth *cfg, const srv_request *req,
                   srv_response *out)
{
    dx_error err = DX_ERROR_INIT;
    char tok[300], name[4 * SRV_DEVICE_NAME_MAX] = "unnamed device";
    srv_signin s;
    if (strcmp(req->method, "GET") != 0) {
        srv_reply_error(out, 405, "use GET on /auth/verify");
        return;
    }
    if (!req->query || !srv_query_get(req->query, "token", tok, sizeof tok) || !tok[0]) {
        srv_reply_error(out, 400, "send the link's token: /auth/verify?token=...&device_name=...");
        return;
    }
    if (req->query && srv_query_get(req->query, "device_name", name, sizeof name) &&
        !device_name_ok(name)) {
        srv_reply_error(out, 400,
                        "device_name wants 1 to 100 bytes of UTF-8 and no control characters");
        return;
    }
    int rc = srv_link_use(api->acc, tok, strlen(tok), name, cfg->session_ms, &s, &err);
    if (rc)
        srv_reply_error(out, srv_status_of(rc), err.msg);
    else
        srv_reply_json(out, 200,
                       json_pack("{s:s, s:{s:s, s:s}, s:{s:s, s:s}}", "token", s.token, "user",
                                 "email", s.email, "plan", s.plan, "device", "id", s.device_id,
                                 "name", name));
}

static void devices(const srv_api *api, const srv_request *req, const srv_token_info *t,
                    const char *id, srv_response *out)
{
    dx_error err = DX_ERROR_INIT;
    if (!id) {
        json_t *arr = strcmp(req->method, "GET")
                          ? NULL
                          : srv_devices_json(api->acc, t->user, t->device_id, &err);
        if (strcmp(req->method, "GET"))
            srv_reply_error(out, 405, "use GET on /auth/devices");
        else if (!arr)
            srv_reply_error(out, 500, err.msg);
        else
            srv_reply_json(out, 200, arr);
        return;
    }
    int rc;
    if (strcmp(req->method, "DELETE"))
        srv_reply_error(out, 405, "use DELETE on a device");
    else if (!dx_uuid_valid(id) || strlen(id) != DX_UUID_LEN)
        srv_reply_error(out, 404, "no such device");
    else if ((rc = srv_device_revoke(api->acc, t->user, id, &err)))
        srv_reply_error(out, srv_status_of(rc), err.msg);
    else
        out->status = 204;
}

void srv_auth_handle(const srv_api *api, const srv_request *req, srv_response *out)
{
    const srv_auth *cfg = api->auth ? api->auth : &DEFAULTS;
    const char *p = req->path + strlen("/auth/");
    dx_error err = DX_ERROR_INIT;
    srv_token_info t;
    int rc;
    if (!strcmp(p, "magic-link")) {
        magic_link(api, cfg, req, out);
        return;
    }
    if (!strcmp(p, "verify")) {
        verify(api, cfg, req, out);
        return;
    }
    bool me = !strcmp(p, "me"), logout = !strcmp(p, "logout"), devs = !strcmp(p, "devices");
    bool dev = !strncmp(p, "devices/", 8);
    if (!me && !logout && !devs && !dev) {
        srv_reply_error(out, 404, "no such endpoint");
        return;
    }
    if (srv_caller(api, req, out, &t))
        return;
    if (me) {
        json_t *v = NULL;
        if (strcmp(req->method, "GET"))
            srv_reply_error(out, 405, "use GET on /auth/me");
        else if ((rc = srv_me_json(api->acc, &t, &v, &err)))
            srv_reply_error(out, srv_status_of(rc), err.msg);
        else
            srv_reply_json(out, 200, v);
    } else if (logout) {
        if (strcmp(req->method, "POST"))
            srv_reply_error(out, 405, "use POST on /auth/logout");
        else if ((rc = srv_token_revoke(api->acc, &t, &err)))
            srv_reply_error(out, srv_status_of(rc), err.msg);
        else
            out->status = 204;
    } else {
        devices(api, req, &t, dev ? p + 8 : NULL, out);
    }
}
