/* cmd_sync.c - `diaryx sync`: sign in to a sync server, link the workspace to a server
 * workspace, and sync it once (now) or continuously (start); status. */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "diaryx/clock.h"
#include "diaryx/httpclient.h"
#include "diaryx/paths.h"
#include "diaryx/syncrun.h"

static const char USAGE[] =
    "usage: diaryx sync login SERVER_URL (--token TOKEN | --email EMAIL)\n"
    "       diaryx sync logout\n"
    "       diaryx sync link [WORKSPACE_ID | --create NAME]\n"
    "       diaryx sync now\n"
    "       diaryx sync start\n"
    "       diaryx sync status [--json]\n\n"
    "Sync the workspace with a diaryx-server (docs/cli.md, \"sync\").\n"
    "  login    sign in: --token takes a token from `diaryx-server token EMAIL` (`-` reads it\n"
    "           from stdin); --email sends a sign-in link and asks for it. The credentials\n"
    "           are kept in the config directory (credentials.toml, mode 0600).\n"
    "  logout   forget the credentials\n"
    "  link     tie this workspace to a server workspace (--create makes one): a workspace\n"
    "           is uploaded; in a directory without one, the server workspace is downloaded\n"
    "  now      one exchange: send what the server lacks, receive what this copy lacks,\n"
    "           write the changed files, exit\n"
    "  start    stay connected: edits (also an editor's save) go out within a second, remote\n"
    "           edits are written as they arrive; reconnects with backoff; Ctrl-C stops\n"
    "  status   server, workspace, last sync, updates not acknowledged by the server\n";

static volatile sig_atomic_t stop_flag;

static void on_signal(int sig)
{
    (void)sig;
    stop_flag = 1;
}

static void log_line(void *ud, const char *msg)
{
    (void)ud;
    fprintf(stderr, "diaryx sync: %s\n", msg);
}

/* ---- credentials ---------------------------------------------------------------------- */

typedef struct creds {
    char server[1024];
    char token[512];
} creds;

static int creds_path(dx_buf *out, dx_error *err)
{
    dx_buf cfg = DX_BUF_INIT;
    int rc = dx_config_default_path(&cfg, err);
    if (!rc) {
        char *slash = strrchr(cfg.data, '/');
        if (slash)
            *slash = 0;
        if (dx_buf_printf(out, "%s/credentials.toml", cfg.data))
            rc = dx_error_set(err, DX_ENOMEM, "out of memory");
    }
    dx_buf_release(&cfg);
    return rc;
}

static bool plain_text(const char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s < 0x21 || *s == '"' || *s == '\\' || *s == 0x7f)
            return false;
    return true;
}

static int creds_save(const creds *c, dx_error *err)
{
    dx_buf path = DX_BUF_INIT, tmp = DX_BUF_INIT, dir = DX_BUF_INIT;
    int rc = creds_path(&path, err);
    if (!rc && (dx_path_dirname(path.data, &dir) || dx_buf_printf(&tmp, "%s.tmp", path.data)))
        rc = dx_error_set(err, DX_ENOMEM, "out of memory");
    /* mkdir -p: the config directory may not exist yet */
    for (char *p = dir.data ? dir.data : NULL; !rc && p;) {
        char *slash = strchr(p + 1, '/');
        if (slash)
            *slash = 0;
        if (mkdir(dir.data, 0700) && errno != EEXIST)
            rc = dx_error_set(err, DX_EIO, "cannot create '%s': %s", dir.data, strerror(errno));
        if (slash)
            *slash = '/';
        p = slash;
    }
    int fd = -1;
    if (!rc) {
        unlink(tmp.data);
        fd = open(tmp.data, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, 0600);
        if (fd < 0)
            rc = dx_error_set(err, DX_EIO, "cannot write '%s': %s", tmp.data, strerror(errno));
    }
    if (!rc) {
        FILE *f = fdopen(fd, "w");
        if (!f) {
            close(fd);
            rc = dx_error_set(err, DX_EIO, "cannot write '%s': %s", tmp.data, strerror(errno));
        } else {
            fchmod(fd, 0600);
            fprintf(f,
                    "# diaryx sync credentials (diaryx sync login); keep this file private\n"
                    "server = \"%s\"\ntoken = \"%s\"\n",
                    c->server, c->token);
            bool bad = fflush(f) != 0 || fsync(fd) != 0;
            if (fclose(f) || bad)
                rc = dx_error_set(err, DX_EIO, "cannot write '%s'", tmp.data);
        }
    }
    if (!rc && rename(tmp.data, path.data))
        rc = dx_error_set(err, DX_EIO, "cannot rename '%s': %s", tmp.data, strerror(errno));
    if (rc && tmp.data)
        unlink(tmp.data);
    dx_buf_release(&path);
    dx_buf_release(&tmp);
    dx_buf_release(&dir);
    return rc;
}

static int creds_load(creds *c, dx_error *err)
{
    dx_buf path = DX_BUF_INIT, v = DX_BUF_INIT;
    dx_config *cfg = NULL;
    struct stat st;
    int rc = creds_path(&path, err);
    if (!rc && stat(path.data, &st) != 0)
        rc = dx_error_set(err, DX_EAUTH,
                          "not signed in: run `diaryx sync login SERVER_URL "
                          "--token TOKEN` first");
    if (!rc && (st.st_mode & 077))
        rc = dx_error_set(err, DX_EAUTH,
                          "'%s' may be read by others (mode %o): run `chmod 600 %s` or sign in "
                          "again",
                          path.data, (unsigned)(st.st_mode & 0777), path.data);
    if (!rc)
        rc = dx_config_load(path.data, &cfg, err);
    if (!rc && dx_config_get(cfg, "server", &v, NULL) == 0)
        snprintf(c->server, sizeof c->server, "%s", v.data);
    dx_buf_reset(&v);
    if (!rc && dx_config_get(cfg, "token", &v, NULL) == 0)
        snprintf(c->token, sizeof c->token, "%s", v.data);
    if (!rc && (!c->server[0] || !c->token[0]))
        rc = dx_error_set(err, DX_EAUTH, "'%s' lacks the server or the token: sign in again",
                          path.data);
    if (v.data)
        memset(v.data, 0, v.len);
    dx_buf_release(&v);
    dx_config_free(cfg);
    dx_buf_release(&path);
    return rc;
}

/* ---- the HTTP API --------------------------------------------------------------------- */

static int api(const creds *c, const char *method, const char *path, const char *body, json_t **out,
               dx_error *err)
{
    dx_buf url = DX_BUF_INIT, resp = DX_BUF_INIT;
    long status = 0;
    *out = NULL;
    int rc = dx_buf_printf(&url, "%s%s", c->server, path)
                 ? dx_error_set(err, DX_ENOMEM, "out of memory")
                 : dx_http_request(method, url.data, c->token[0] ? c->token : NULL, body, &status,
                                   &resp, err);
    json_t *j = rc ? NULL : json_loadb(dx_buf_cstr(&resp), resp.len, 0, NULL);
    if (!rc && (status == 401 || status == 403))
        rc = dx_error_set(err, DX_EAUTH,
                          "%s refused the token (%ld): it is wrong, expired or signed out; sign "
                          "in again with `diaryx sync login`",
                          c->server, status);
    else if (!rc && status / 100 != 2) {
        json_t *e = json_object_get(j, "error");
        rc = dx_error_set(err, status == 404 ? DX_ENOTFOUND : DX_EIO, "%s %s: %ld %s", method,
                          url.data, status,
                          json_is_string(e) ? json_string_value(e) : "(no JSON error)");
    } else if (!rc && !j)
        rc = dx_error_set(err, DX_EPARSE, "%s %s: the answer is not JSON", method, url.data);
    if (!rc)
        *out = j;
    else
        json_decref(j);
    dx_buf_release(&url);
    dx_buf_release(&resp);
    return rc;
}

/* POST {key: value} to path. */
static int post_one(const creds *c, const char *path, const char *key, const char *value,
                    json_t **out, dx_error *err)
{
    json_t *body = json_pack("{s:s}", key, value);
    char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;
    json_decref(body);
    int rc = text ? api(c, "POST", path, text, out, err)
                  : dx_error_set(err, DX_ENOMEM, "out of memory (or '%s' is not UTF-8)", key);
    free(text);
    return rc;
}

static void trim(char *s)
{
    size_t n = strlen(s);
    while (n && (s[n - 1] == '\n' || s[n - 1] == '\r' || s[n - 1] == ' '))
        s[--n] = 0;
}

/* A token typed or pasted: the whole line, or the token= parameter of a link. */
static void token_from_line(char *line, char *out, size_t cap)
{
    trim(line);
    const char *t = strstr(line, "token=");
    t = t ? t + 6 : line;
    size_t n = strcspn(t, "&# ");
    if (n >= cap)
        n = cap - 1;
    memcpy(out, t, n);
    out[n] = 0;
}

/* Percent-encode s into out (3 * strlen(s) + 1 bytes). */
static void url_escape(const char *s, char *out)
{
    for (; *s; s++) {
        unsigned char ch = (unsigned char)*s;
        if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
            ch == '-' || ch == '_' || ch == '.' || ch == '~')
            *out++ = (char)ch;
        else
            out += sprintf(out, "%%%02X", ch);
    }
    *out = 0;
}

static int login(const char *server, const char *token, const char *email)
{
    dx_error err = DX_ERROR_INIT;
    creds c = {0};
    json_t *j = NULL;
    if (strncmp(server, "http://", 7) && strncmp(server, "https://", 8))
        return cli_usage("sync", "'%s' is not an http:// or https:// URL", server);
    snprintf(c.server, sizeof c.server, "%s", server);
    trim(c.server);
    size_t n = strlen(c.server);
    while (n && c.server[n - 1] == '/')
        c.server[--n] = 0;
    if (!plain_text(c.server))
        return cli_usage("sync", "the server URL holds spaces, quotes or control characters");
    char line[4096];
    if (email) {
        int rc = post_one(&c, "/auth/magic-link", "email", email, &j, &err);
        json_decref(j);
        j = NULL;
        if (rc)
            return cli_fail(&err);
        fprintf(stderr, "A sign-in link was sent to %s. Paste the link or its token: ", email);
        if (!fgets(line, sizeof line, stdin))
            return cli_usage("sync", "no link or token was given on stdin");
        char once[512], host[256], path[3 * (512 + 256) + 64];
        token_from_line(line, once, sizeof once);
        if (gethostname(host, sizeof host))
            snprintf(host, sizeof host, "diaryx-cli");
        host[sizeof host - 1] = 0;
        char et[3 * sizeof once], eh[3 * sizeof host];
        url_escape(once, et);
        url_escape(host, eh);
        snprintf(path, sizeof path, "/auth/verify?token=%s&device_name=%s", et, eh);
        if (api(&c, "GET", path, NULL, &j, &err))
            return cli_fail(&err);
        json_t *t = json_object_get(j, "token");
        if (!json_is_string(t)) {
            json_decref(j);
            err = (dx_error)DX_ERROR_INIT;
            dx_error_set(&err, DX_EPARSE, "%s/auth/verify answered without a token", c.server);
            return cli_fail(&err);
        }
        snprintf(c.token, sizeof c.token, "%s", json_string_value(t));
        json_decref(j);
        j = NULL;
    } else if (!strcmp(token, "-")) {
        if (!fgets(line, sizeof line, stdin))
            return cli_usage("sync", "--token -: no token on stdin");
        token_from_line(line, c.token, sizeof c.token);
    } else {
        snprintf(c.token, sizeof c.token, "%s", token);
    }
    if (!c.token[0] || !plain_text(c.token))
        return cli_usage("sync", "the token is empty or holds spaces, quotes or control "
                                 "characters");
    /* Checked before anything is saved: a wrong token changes nothing. */
    if (api(&c, "GET", "/api/workspaces", NULL, &j, &err) || creds_save(&c, &err)) {
        json_decref(j);
        return cli_fail(&err);
    }
    size_t count = json_is_array(j) ? json_array_size(j)
                   : json_is_array(json_object_get(j, "workspaces"))
                       ? json_array_size(json_object_get(j, "workspaces"))
                       : 0;
    json_decref(j);
    memset(c.token, 0, sizeof c.token);
    printf("signed in to %s (%zu workspace%s)\n", c.server, count, count == 1 ? "" : "s");
    return 0;
}

static int logout(void)
{
    dx_error err = DX_ERROR_INIT;
    dx_buf path = DX_BUF_INIT;
    creds c = {0};
    json_t *j = NULL;
    /* Tell the server when it is reachable (a session token ends there); forget it anyway. */
    if (creds_load(&c, NULL) == 0 && api(&c, "POST", "/auth/logout", "{}", &j, NULL) == 0)
        json_decref(j);
    memset(&c, 0, sizeof c);
    int rc = creds_path(&path, &err);
    if (!rc && unlink(path.data) && errno != ENOENT)
        rc = dx_error_set(&err, DX_EIO, "cannot remove '%s': %s", path.data, strerror(errno));
    if (!rc)
        printf("signed out\n");
    dx_buf_release(&path);
    return rc ? cli_fail(&err) : 0;
}

/* ---- the workspace's link ------------------------------------------------------------- */

typedef struct linkinfo {
    char server[1024];
    char wid[DX_UUID_LEN + 1];
    int64_t last_ms, acked, epoch;
    size_t unsent;
} linkinfo;

static int store_of(const char *root, dx_crdt_store **st, dx_error *err)
{
    dx_buf db = DX_BUF_INIT;
    int rc = dx_buf_printf(&db, "%s/" DX_STORE_FILE, root)
                 ? dx_error_set(err, DX_ENOMEM, "out of memory")
                 : dx_store_open(db.data, st, err);
    dx_buf_release(&db);
    return rc;
}

static int64_t meta_int(dx_crdt_store *st, const char *key, int64_t dflt)
{
    dx_buf v = DX_BUF_INIT;
    int64_t n = dx_store_meta_get(st, key, &v, NULL) == 0 ? strtoll(v.data, NULL, 10) : dflt;
    dx_buf_release(&v);
    return n;
}

static int link_read(const char *root, linkinfo *li, dx_error *err)
{
    dx_crdt_store *st = NULL;
    dx_buf v = DX_BUF_INIT;
    memset(li, 0, sizeof *li);
    int rc = store_of(root, &st, err);
    if (!rc && dx_store_meta_get(st, DX_SYNC_META_WORKSPACE, &v, NULL) == 0)
        snprintf(li->wid, sizeof li->wid, "%s", v.data);
    dx_buf_reset(&v);
    if (!rc && dx_store_meta_get(st, DX_SYNC_META_SERVER, &v, NULL) == 0)
        snprintf(li->server, sizeof li->server, "%s", v.data);
    if (!rc) {
        li->last_ms = meta_int(st, DX_SYNC_META_LAST, 0);
        li->acked = meta_int(st, DX_STORE_META_SYNC_ACKED, 0);
        li->epoch = meta_int(st, DX_SYNC_META_EPOCH, -1);
        rc = dx_sync_unsent(st, &li->unsent, err);
    }
    dx_buf_release(&v);
    dx_store_close(st);
    return rc;
}

static int link_write(const char *root, const char *server, const char *wid, dx_error *err)
{
    dx_crdt_store *st = NULL;
    int rc = store_of(root, &st, err);
    if (!rc)
        rc = dx_store_meta_set(st, DX_SYNC_META_SERVER, server, err);
    if (!rc)
        rc = dx_store_meta_set(st, DX_SYNC_META_WORKSPACE, wid, err);
    dx_store_close(st);
    return rc;
}

static void ws_url(const char *server, char *out, size_t cap)
{
    if (!strncmp(server, "https://", 8))
        snprintf(out, cap, "wss://%s/sync", server + 8);
    else
        snprintf(out, cap, "ws://%s/sync", server + 7);
}

static void run_opts(dx_sync_run_opts *o, const creds *c, const char *wid, char *url, size_t cap)
{
    memset(o, 0, sizeof *o);
    ws_url(c->server, url, cap);
    o->url = url;
    o->wid = wid;
    o->token = c->token;
    o->stop = &stop_flag;
    o->log = log_line;
    dx_config *cfg = NULL;
    static char device[256];
    if (dx_config_load(NULL, &cfg, NULL) == 0 && dx_config_string(cfg, "device_name")) {
        snprintf(device, sizeof device, "%s", dx_config_string(cfg, "device_name"));
        o->device = device;
    }
    dx_config_free(cfg);
}

static void print_counts(const char *what, const dx_sync_counts *n, int64_t ms)
{
    printf("%s: %zu documents, %zu sent, %zu received (%zu bytes up, %zu down) in %lld ms\n", what,
           n->docs, n->sent, n->received, n->bytes_sent, n->bytes_received, (long long)ms);
}

static int link_cmd(cli_ctx *ctx, const char *wid_arg, const char *create)
{
    dx_error err = DX_ERROR_INIT;
    creds c = {0};
    char wid[DX_UUID_LEN + 1] = "", url[1200];
    json_t *j = NULL;
    if (creds_load(&c, &err))
        return cli_fail(&err);
    if (create) {
        int rc = post_one(&c, "/api/workspaces", "name", create, &j, &err);
        json_t *id = json_object_get(j, "id");
        if (!rc && !json_is_string(id))
            rc = dx_error_set(&err, DX_EPARSE, "the server created a workspace without an id");
        if (!rc)
            snprintf(wid, sizeof wid, "%s", json_string_value(id));
        json_decref(j);
        if (rc)
            return cli_fail(&err);
    } else {
        if (!dx_uuid_valid(wid_arg))
            return cli_usage("sync",
                             "'%s' is not a workspace id (`diaryx-server workspace "
                             "list EMAIL` or the web client shows them)",
                             wid_arg);
        snprintf(wid, sizeof wid, "%s", wid_arg);
        /* Exists and is this user's: 404 otherwise, before anything changes here. */
        char path[128];
        snprintf(path, sizeof path, "/api/workspaces/%s", wid);
        if (api(&c, "GET", path, NULL, &j, &err))
            return cli_fail(&err);
        json_decref(j);
    }
    dx_sync_run_opts o;
    run_opts(&o, &c, wid, url, sizeof url);
    const char *dir = ctx->workspace ? ctx->workspace : ".";
    char real[4096];
    if (!realpath(dir, real))
        return cli_usage("sync", "'%s' is not a directory", dir);
    dx_workspace *ws = NULL;
    bool here = dx_workspace_open(real, &ws, NULL) == 0 && !strcmp(dx_workspace_root(ws), real);
    char root[4096];
    if (ws)
        snprintf(root, sizeof root, "%s", dx_workspace_root(ws));
    dx_workspace_free(ws);
    dx_sync_counts n = {0};
    int64_t t0 = dx_now_ms();
    int rc = 0;
    if (!here) {
        rc = dx_sync_download(real, &o, &n, &err);
        snprintf(root, sizeof root, "%s", real);
    } else {
        linkinfo li;
        if (link_read(root, &li, &err) == 0 && li.wid[0] && strcmp(li.wid, wid)) {
            err = (dx_error)DX_ERROR_INIT;
            rc = dx_error_set(&err, DX_ECONFLICT,
                              "this workspace is linked to %s already; a workspace syncs with "
                              "one server workspace",
                              li.wid);
        }
    }
    if (!rc)
        rc = link_write(root, c.server, wid, &err);
    if (!rc)
        rc = dx_sync_run(root, &o, here ? &n : NULL, &err);
    memset(c.token, 0, sizeof c.token);
    if (rc)
        return cli_fail(&err);
    printf("linked %s to workspace %s on %s\n", root, wid, c.server);
    print_counts(here ? "uploaded" : "downloaded", &n, dx_now_ms() - t0);
    return 0;
}

static int linked(cli_ctx *ctx, char root[4096], linkinfo *li, creds *c)
{
    dx_error err = DX_ERROR_INIT;
    dx_workspace *ws = NULL;
    if (cli_open_readonly(ctx, &ws))
        return 1;
    snprintf(root, 4096, "%s", dx_workspace_root(ws));
    dx_workspace_free(ws);
    if (link_read(root, li, &err))
        return cli_fail(&err);
    if (!li->wid[0]) {
        dx_error_set(&err, DX_ENOTFOUND,
                     "'%s' is not linked to a server workspace: run `diaryx sync link "
                     "WORKSPACE_ID` or `diaryx sync link --create NAME`",
                     root);
        return cli_fail(&err);
    }
    if (c && creds_load(c, &err))
        return cli_fail(&err);
    if (c && strcmp(c->server, li->server)) {
        dx_error_set(&err, DX_ECONFLICT,
                     "this workspace is linked on %s, but you are signed in to %s: sign in "
                     "there again",
                     li->server, c->server);
        return cli_fail(&err);
    }
    return 0;
}

static int now_or_start(cli_ctx *ctx, bool stay)
{
    char root[4096], url[1200];
    linkinfo li;
    creds c = {0};
    int rc = linked(ctx, root, &li, &c);
    if (rc)
        return rc;
    dx_sync_run_opts o;
    run_opts(&o, &c, li.wid, url, sizeof url);
    o.stay = stay;
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    if (stay)
        fprintf(stderr, "diaryx sync: %s <-> %s (workspace %s); Ctrl-C stops\n", root, c.server,
                li.wid);
    dx_error err = DX_ERROR_INIT;
    dx_sync_counts n = {0};
    int64_t t0 = dx_now_ms();
    rc = dx_sync_run(root, &o, &n, &err);
    memset(c.token, 0, sizeof c.token);
    if (rc)
        return cli_fail(&err);
    if (!stay)
        print_counts("synced", &n, dx_now_ms() - t0);
    return 0;
}

static int status(cli_ctx *ctx, bool json)
{
    char root[4096];
    linkinfo li;
    int rc = linked(ctx, root, &li, NULL);
    if (rc)
        return rc;
    creds c = {0};
    bool signed_in = creds_load(&c, NULL) == 0 && !strcmp(c.server, li.server);
    memset(c.token, 0, sizeof c.token);
    if (json)
        return cli_print_json(
            json_pack("{s:s, s:s, s:s, s:b, s:I, s:I, s:I, s:I}", "workspace", root, "server",
                      li.server, "workspace_id", li.wid, "signed_in", signed_in, "last_sync_ms",
                      (json_int_t)li.last_ms, "unsent_updates", (json_int_t)li.unsent,
                      "acknowledged_through", (json_int_t)li.acked, "epoch", (json_int_t)li.epoch),
            "sync status");
    char when[64] = "never";
    if (li.last_ms) {
        time_t t = (time_t)(li.last_ms / 1000);
        strftime(when, sizeof when, "%Y-%m-%d %H:%M:%S", localtime(&t));
    }
    printf("server:    %s%s\nworkspace: %s\nlast sync: %s\nunsent:    %zu update%s\n", li.server,
           signed_in ? "" : " (not signed in)", li.wid, when, li.unsent, li.unsent == 1 ? "" : "s");
    return 0;
}

int cmd_sync(cli_ctx *ctx, int argc, char **argv)
{
    const char *token = NULL, *email = NULL, *create = NULL;
    bool json = false;
    cli_opt opts[] = {{"token", 0, &token, NULL},
                      {"email", 0, &email, NULL},
                      {"create", 0, &create, NULL},
                      {"json", 0, NULL, &json},
                      {NULL}};
    dx_strlist pos = DX_STRLIST_INIT;
    int rc = cli_parse(USAGE, opts, argc, argv, &pos);
    if (rc == CLI_EXIT_HELP)
        rc = 0;
    else if (!rc && !pos.len)
        rc = cli_usage("sync", "which subcommand? login, logout, link, now, start or status");
    else if (!rc) {
        const char *sub = pos.items[0];
        size_t n = pos.len;
        if (!strcmp(sub, "login")) {
            if (n != 2 || !token == !email)
                rc = cli_usage("sync", "login takes SERVER_URL and one of --token or --email");
            else
                rc = login(pos.items[1], token, email);
        } else if (!strcmp(sub, "logout")) {
            rc = n != 1 ? cli_usage("sync", "logout takes no argument") : logout();
        } else if (!strcmp(sub, "link")) {
            if ((n == 2) == !!create || n > 2)
                rc = cli_usage("sync", "link takes a WORKSPACE_ID or --create NAME");
            else
                rc = link_cmd(ctx, n == 2 ? pos.items[1] : NULL, create);
        } else if (!strcmp(sub, "now") || !strcmp(sub, "start")) {
            rc = n != 1 ? cli_usage("sync", "%s takes no argument", sub)
                        : now_or_start(ctx, !strcmp(sub, "start"));
        } else if (!strcmp(sub, "status")) {
            rc = n != 1 ? cli_usage("sync", "status takes no argument") : status(ctx, json);
        } else {
            rc = cli_usage("sync", "unknown subcommand '%s'", sub);
        }
    }
    dx_strlist_release(&pos);
    return rc;
}
