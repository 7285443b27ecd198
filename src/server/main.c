/* main.c - diaryx-server: options, the offline admin commands, and the libwebsockets loop
 * that serves /health, /api/status and the Hocuspocus websocket /sync on one port. */
#include <errno.h>
#include <libwebsockets.h>
#include <stddef.h>
#include <unistd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>

#include "accounts.h"
#include "diaryx/clock.h"
#include "diaryx/fs.h"
#include "diaryx/toml.h"
#include "diaryx/version.h"
#include "api.h"
#include "auth.h"
#include "blobs.h"
#include "commits.h"
#include "hub.h"
#include "jobs.h"
#include "mail.h"
#include "ratelimit.h"

#define MAX_MESSAGE (16u << 20) /* a larger websocket message closes with 1009 */

static const char USAGE[] =
    "usage: diaryx-server [--config FILE] [--data DIR] [--listen HOST:PORT] [OPTIONS]   serve\n"
    "       diaryx-server [--data DIR] user add EMAIL [--plan free|sync]\n"
    "       diaryx-server [--data DIR] user plan EMAIL free|sync\n"
    "       diaryx-server [--data DIR] token EMAIL [--device NAME] [--read-only]\n"
    "       diaryx-server [--data DIR] workspace add EMAIL NAME\n"
    "       diaryx-server [--data DIR] workspace list EMAIL\n\n"
    "The diaryx sync server. Without a command it serves, on one port: the Hocuspocus sync\n"
    "protocol at ws://HOST:PORT/sync (documents workspace:<id> and body:<id>/<entry id>; the\n"
    "token of the Auth message is an API or session token), GET /health (200 once ready),\n"
    "GET /api/status, /api/workspaces and the sign-in routes under /auth/ (POST\n"
    "/auth/magic-link, GET /auth/verify, /auth/me, /auth/devices; docs/server.md). The\n"
    "commands work on the data directory offline:\n"
    "  user add        a new account (plan free by default)\n"
    "  user plan       change an account's plan\n"
    "  token           a new API token for EMAIL, printed alone on stdout (--read-only: it\n"
    "                  syncs documents down but changes nothing)\n"
    "  workspace add   a new workspace owned by EMAIL; prints its id\n"
    "  workspace list  the workspaces of EMAIL: id, a tab, name\n\n"
    "Options:\n"
    "  --config FILE       settings in TOML (the options below win over it):\n"
    "                        data = \"DIR\", listen = \"HOST:PORT\", idle_seconds = N,\n"
    "                        connections_per_minute = N, max_workspaces = N, workers = N,\n"
    "                        [git] quiescence_minutes = N (0: no auto-commit; default 30),\n"
    "                        max_staleness_hours = N (default 24),\n"
    "                        public_url = \"URL\" (where sign-in links point; default http://\n"
    "                        or, with [tls], https:// and the listen address),\n"
    "                        session_days = N (a signed-in session lasts N days; default 30),\n"
    "                        [tls] cert = \"FILE\", key = \"FILE\" (PEM; serve https and wss),\n"
    "                        [smtp] host = \"HOST\", port = N, username = \"USER\",\n"
    "                        password = \"PASSWORD\", from = \"Name <address>\",\n"
    "                        tls = \"starttls\" (default, port 587) | \"implicit\" (465) |\n"
    "                        \"none\" (25): sign-in links are mailed; without [smtp] they are\n"
    "                        written to the log, and returned by POST /auth/magic-link when\n"
    "                        the server listens on a loopback address,\n"
    "                        [blobs] backend = \"local\" (DATA/blobs) | \"s3\", endpoint,\n"
    "                        region, bucket, path_style, prefix, access_key, secret_key\n"
    "                        (else AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY), quota_free_mb\n"
    "                        (100), quota_sync_mb (10240), max_upload_mb (1024)\n"
    "  --data DIR          where accounts.db and workspaces/ live (default ./diaryx-data)\n"
    "  --listen HOST:PORT  the address to serve on (default 127.0.0.1:3030)\n"
    "  --quiescence-seconds N  commit a workspace of a sync-plan user to its git repository\n"
    "                      when no update came for N seconds and no client is connected\n"
    "                      (default 1800; 0: no auto-commit)\n"
    "  --staleness-seconds N   commit it anyway, clients connected, once its first\n"
    "                      uncommitted update is N seconds old (default 86400)\n"
    "  --max-workspaces N  keep at most N workspaces loaded: one more closes the connections\n"
    "                      of the one used longest ago (4205; default 1000, 0: no cap)\n"
    "  --connections-per-minute N  refuse a client address's websocket beyond N new ones\n"
    "                      in a minute (default 120; 0: no limit)\n"
    "  --workers N         threads for git work (commits, restores, history reads), so the\n"
    "                      loop keeps serving while they run (default 2)\n"
    "  --idle-seconds N    close a websocket silent for N seconds (4408; default 60); before\n"
    "                      its first document is authenticated, N seconds after it opened\n"
    "  --public-url URL    where sign-in links point (see public_url)\n"
    "  --session-days N    a session made by a sign-in link lasts N days (default 30)\n"
    "  --session-seconds N     the same in seconds (for tests)\n"
    "  --magic-link-seconds N  a sign-in link works for N seconds (default 900); at most 3\n"
    "                      links are made for one address in an hour (429)\n"
    "  -h, --help          this text\n\n"
    "SIGTERM or SIGINT stops the server: running git jobs are waited for (20 s at most),\n"
    "connections are closed, every store is closed cleanly. An update is acknowledged to its "
    "client only once it is stored.\n";

/* ---- offline commands ---- */

static int open_accounts(const char *data, srv_accounts **acc, dx_error *err)
{
    char path[4096];
    if (mkdir(data, 0700) != 0 && errno != EEXIST)
        return dx_error_set(err, DX_EIO, "cannot create the data directory '%s': %s", data,
                            strerror(errno));
    if (snprintf(path, sizeof path, "%s/accounts.db", data) >= (int)sizeof path)
        return dx_error_set(err, DX_EPATH, "the data directory path is too long");
    return srv_accounts_open(path, acc, err);
}

static const char *opt_value(int argc, char **argv, const char *name, const char *def)
{
    for (int i = 0; i + 1 < argc; i++)
        if (!strcmp(argv[i], name))
            return argv[i + 1];
    return def;
}

static bool has_flag(int argc, char **argv, const char *name)
{
    for (int i = 0; i < argc; i++)
        if (!strcmp(argv[i], name))
            return true;
    return false;
}

static int command(const char *data, int argc, char **argv)
{
    srv_accounts *acc = NULL;
    dx_error err = DX_ERROR_INIT;
    dx_buf out = DX_BUF_INIT;
    const char *what = argv[0], *sub = argc > 1 ? argv[1] : "";
    int rc;
    char wid[DX_UUID_LEN + 1];
    bool user_add = !strcmp(what, "user") && !strcmp(sub, "add") && argc >= 3;
    bool user_plan = !strcmp(what, "user") && !strcmp(sub, "plan") && argc == 4;
    bool token = !strcmp(what, "token") && argc >= 2;
    bool ws_add = !strcmp(what, "workspace") && !strcmp(sub, "add") && argc == 4;
    bool ws_list = !strcmp(what, "workspace") && !strcmp(sub, "list") && argc == 3;
    if (!user_add && !user_plan && !token && !ws_add && !ws_list) {
        fprintf(stderr, "diaryx-server: unknown command or missing argument: '%s %s'\n%s", what,
                sub, USAGE);
        return 2;
    }
    /* EMAIL as sign-in takes it (trimmed, lower case), so both name one account. */
    char email[SRV_EMAIL_MAX + 1];
    const char *given = token ? argv[1] : argv[2];
    if (srv_auth_email(given, email, &err)) {
        fprintf(stderr, "diaryx-server: '%s' is not an email address\n", given);
        return 2;
    }
    if ((rc = open_accounts(data, &acc, &err)) == 0) {
        if (user_add)
            rc = srv_user_add(acc, email, opt_value(argc, argv, "--plan", "free"), &err);
        else if (user_plan)
            rc = srv_user_plan(acc, email, argv[3], &err);
        else if (token)
            rc = srv_token_new(acc, email, opt_value(argc, argv, "--device", NULL),
                               has_flag(argc, argv, "--read-only"), &out, &err);
        else if (ws_add)
            rc = srv_workspace_add(acc, email, argv[3], wid, &err);
        else
            rc = srv_workspace_list(acc, email, &out, &err);
    }
    if (!rc && token)
        printf("%s\n", dx_buf_cstr(&out));
    else if (!rc && ws_add)
        printf("%s\n", wid);
    else if (!rc && ws_list)
        fputs(dx_buf_cstr(&out), stdout);
    else if (rc)
        fprintf(stderr, "diaryx-server: %s\n", err.msg);
    srv_accounts_close(acc);
    dx_buf_release(&out);
    return rc ? 1 : 0;
}

/* ---- serving ---- */

typedef struct outmsg {
    struct outmsg *next;
    size_t len;
    unsigned char data[]; /* LWS_PRE bytes of headroom, then the frame */
} outmsg;

/* One connection: HTTP request or websocket. */
typedef struct pss {
    struct lws *wsi;
    srv_conn *conn; /* websocket only */
    dx_buf rx;      /* a message arriving in fragments */
    outmsg *head, *tail;
    int close_code; /* nonzero: close once the queue is sent */
    char close_reason[100];
    struct http_wait *wait; /* HTTP: an answer deferred to the worker pool */
    bool answer_ready;      /* ... and it came: write it when writable */
    srv_response answer;
    char *body; /* HTTP: the response body to write */
    size_t body_len;
    char method[8]; /* HTTP: the request */
    char path[512];
    char query[1024];
    char *auth;
    bool forwarded; /* through a proxy */
    dx_buf req_body;
    bool body_too_big;
    FILE *up;                    /* HTTP: a blob's body, streamed to a temporary file (blobs.h) */
    int64_t up_len;              /* its bytes so far */
    bool up_too_big;             /* over [blobs] max_upload_mb */
    bool need_length;            /* a blob sent chunked: 411 */
    bool answered;               /* refused before its body came: the body is dropped */
    FILE *down;                  /* HTTP: a blob's bytes to write */
    uint64_t down_left;          /* how many remain */
    char range[128];             /* HTTP: the Range header */
    int64_t opened_us, heard_us; /* websocket: when it opened, when it last sent */
    struct pss *prev, *next;     /* websocket: in g_sockets, for the idle sweep */
} pss;

/* A request answered by a job: p is NULL once the connection closed. */
typedef struct http_wait {
    pss *p;
} http_wait;

static srv_hub *g_hub;
static srv_jobs *g_jobs;
static int64_t g_workers = 2; /* --workers */
static srv_api g_api;
static struct lws_context *g_ctx;
static volatile sig_atomic_t g_stop;
static int64_t g_idle_us = 60 * 1000000LL;      /* --idle-seconds */
static int64_t g_quiet_ms = 30 * 60 * 1000LL;   /* --quiescence-seconds (0: no auto-commit) */
static int64_t g_stale_ms = 24 * 3600 * 1000LL; /* --staleness-seconds */
static int64_t g_max_ws = 1000;                 /* --max-workspaces (0: no cap) */
static srv_accounts *g_acc;
static srv_blobs_config g_blobs_cfg = SRV_BLOBS_CONFIG_INIT; /* [blobs] */
static srv_rate g_rate = {DX_STRMAP_INIT, 120}; /* websocket connections per address per minute */
static lws_sorted_usec_list_t g_tick;
static srv_auth g_auth = SRV_AUTH_INIT;    /* public_url, link and session lifetimes, mail */
static const char *g_tls_cert, *g_tls_key; /* [tls]: serve https and wss */
static pss *g_sockets;                     /* every open websocket */

static int64_t now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static void t_close(void *ud, int code, const char *reason);

/* A connection silent for the idle time is closed (4408); until one of its documents is
 * authenticated, the time counts from when it opened, however much it sends. One sweep on
 * the tick rather than a timer per connection: libwebsockets keeps its timers in a sorted
 * list, and 10,000 of them made every new connection cost O(n). */
static void idle_sweep(void)
{
    int64_t now = now_us();
    for (pss *p = g_sockets; p; p = p->next) {
        int64_t since = p->conn && srv_conn_authenticated(p->conn) ? p->heard_us : p->opened_us;
        if (!p->close_code && now - since >= g_idle_us)
            t_close(p, 4408, "Connection Timeout");
    }
}

/* Once a second (a tenth of the quiescence when that is shorter): the auto-commits due. */
static void tick(lws_sorted_usec_list_t *sul)
{
    srv_commits_tick(g_hub, g_acc, g_jobs, dx_now_ms(), g_quiet_ms, g_stale_ms);
    idle_sweep();
    int64_t every = g_quiet_ms > 0 && g_quiet_ms < 10000 ? g_quiet_ms * 100 : LWS_US_PER_SEC;
    lws_sul_schedule(g_ctx, 0, sul, tick, every);
}

static int t_send(void *ud, const uint8_t *frame, size_t len)
{
    pss *p = ud;
    outmsg *m = malloc(sizeof *m + LWS_PRE + len);
    if (!m)
        return -1;
    m->next = NULL;
    m->len = len;
    memcpy(m->data + LWS_PRE, frame, len);
    if (p->tail)
        p->tail->next = m;
    else
        p->head = m;
    p->tail = m;
    lws_callback_on_writable(p->wsi);
    return 0;
}

static void t_close(void *ud, int code, const char *reason)
{
    pss *p = ud;
    p->close_code = code;
    snprintf(p->close_reason, sizeof p->close_reason, "%s", reason);
    lws_callback_on_writable(p->wsi);
}

static void queue_free(pss *p)
{
    while (p->head) {
        outmsg *n = p->head->next;
        free(p->head);
        p->head = n;
    }
    p->tail = NULL;
}

/* The answer's headers; a blob's bytes (res->bytes) are then written from res->file in pieces
 * (LWS_CALLBACK_HTTP_WRITEABLE), JSON in one. */
static int http_reply(struct lws *wsi, pss *p, srv_response *res)
{
    uint8_t buf[LWS_PRE + 1024], *start = buf + LWS_PRE, *q = start, *end = buf + sizeof buf - 1;
    const dx_buf *body = &res->body;
    char retry[24];
    int rn = snprintf(retry, sizeof retry, "%u", res->retry_after);
    bool bytes = res->bytes;
    uint64_t len = bytes ? res->length : body->len;
    if (lws_add_http_common_headers(wsi, res->status,
                                    bytes ? "application/octet-stream" : "application/json", len,
                                    &q, end) ||
        (res->retry_after && lws_add_http_header_by_token(wsi, WSI_TOKEN_HTTP_RETRY_AFTER,
                                                          (unsigned char *)retry, rn, &q, end)) ||
        (res->content_range[0] &&
         lws_add_http_header_by_token(wsi, WSI_TOKEN_HTTP_CONTENT_RANGE,
                                      (unsigned char *)res->content_range,
                                      (int)strlen(res->content_range), &q, end)) ||
        lws_finalize_write_http_header(wsi, start, &q, end))
        return -1;
    if (bytes) {
        p->down = res->file; /* NULL for HEAD */
        res->file = NULL;
        p->down_left = p->down ? len : 0;
        if (!p->down_left) {
            if (p->down)
                fclose(p->down);
            p->down = NULL;
            return lws_http_transaction_completed(wsi) ? -1 : 0;
        }
        lws_callback_on_writable(wsi);
        return 0;
    }
    p->body_len = body->len;
    if (!(p->body = malloc(LWS_PRE + body->len + 1)))
        return -1;
    memcpy(p->body + LWS_PRE, dx_buf_cstr(body), body->len);
    if (!body->len) { /* 204: nothing more to write */
        free(p->body);
        p->body = NULL;
        return lws_http_transaction_completed(wsi) ? -1 : 0;
    }
    lws_callback_on_writable(wsi);
    return 0;
}

/* A job answered the request of w (on the loop): written when the connection is writable. */
static void deliver(void *ud, const srv_response *res)
{
    http_wait *w = ud;
    pss *p = w->p;
    free(w);
    if (!p)
        return; /* the client went away meanwhile */
    p->wait = NULL;
    p->answer_ready = true;
    p->answer.status = res->status;
    p->answer.retry_after = res->retry_after;
    dx_buf_reset(&p->answer.body);
    if (dx_buf_append(&p->answer.body, res->body.data, res->body.len))
        p->answer.status = 500; /* the body is incomplete: say so by the status at least */
    lws_callback_on_writable(p->wsi);
}

static void wake_loop(void *ud)
{
    (void)ud;
    if (g_ctx)
        lws_cancel_service(g_ctx);
}

/* The request is whole: answer it. */
static int http_answer(struct lws *wsi, pss *p)
{
    srv_request req = {p->method,
                       p->path,
                       p->query[0] ? p->query : NULL,
                       p->auth,
                       p->req_body.data,
                       p->req_body.len,
                       p->forwarded,
                       NULL};
    srv_response res = {500, DX_BUF_INIT, 0};
    req.range = p->range[0] ? p->range : NULL;
    req.body_file = p->up;
    if (p->body_too_big || dx_buf_error(&p->req_body))
        req.body_len = SRV_MAX_BODY + 1;
    http_wait *w = calloc(1, sizeof *w);
    if (!w)
        return -1;
    w->p = p;
    req.ud = w;
    if (p->up_too_big || p->need_length || (p->up && ferror(p->up))) {
        res.status = p->up_too_big ? 413 : p->need_length ? 411 : 500;
        dx_buf_printf(&res.body, "{\"error\":\"%s\"}\n",
                      p->up_too_big    ? "the blob is larger than this server accepts "
                                         "([blobs] max_upload_mb)"
                      : p->need_length ? "send a blob with Content-Length, not chunked"
                                       : "cannot keep the uploaded body (disk full?)");
    } else {
        srv_api_handle(&g_api, &req, &res);
    }
    if (p->up)
        fclose(p->up);
    p->up = NULL;
    dx_buf_release(&p->req_body);
    free(p->auth);
    p->auth = NULL;
    if (res.status == 0) { /* a job answers it (deliver) */
        p->wait = w;
        /* lws closes a request unanswered after its timeout (5 s); a job bounds itself. */
        lws_set_timeout(wsi, NO_PENDING_TIMEOUT, 0);
        dx_buf_release(&res.body);
        return 0;
    }
    free(w);
    /* Last: completing a transaction may hand p to the next request. */
    int rc = http_reply(wsi, p, &res);
    if (res.file)
        fclose(res.file);
    dx_buf_release(&res.body);
    return rc;
}

static const struct {
    enum lws_token_indexes token;
    const char *method;
    bool body;
} METHODS[] = {
    {WSI_TOKEN_GET_URI, "GET", false},       {WSI_TOKEN_POST_URI, "POST", true},
    {WSI_TOKEN_PATCH_URI, "PATCH", true},    {WSI_TOKEN_PUT_URI, "PUT", true},
    {WSI_TOKEN_DELETE_URI, "DELETE", false}, {WSI_TOKEN_OPTIONS_URI, "OPTIONS", false},
    {WSI_TOKEN_HEAD_URI, "HEAD", false},
};

/* The query string: lws hands it in as decoded fragments, one an argument (lws_hdr_copy
 * would run them together); they are joined with & and their %, & and + encoded again, for
 * srv_query_get to decode. A query that does not fit is dropped whole. */
static void query_join(struct lws *wsi, char *out, size_t cap)
{
    char frag[1024];
    size_t o = 0;
    int n;
    out[0] = 0;
    for (int i = 0;
         (n = lws_hdr_copy_fragment(wsi, frag, sizeof frag, WSI_TOKEN_HTTP_URI_ARGS, i)) >= 0;
         i++) {
        for (int k = -1; k < n; k++) {
            char c = k < 0 ? '&' : frag[k];
            const char *esc = c == '%'             ? "%25"
                              : c == '&' && k >= 0 ? "%26"
                              : c == '+'           ? "%2B"
                                                   : NULL;
            size_t len = esc ? 3 : 1;
            if (k < 0 && i == 0)
                continue;
            if (o + len >= cap) {
                out[0] = 0;
                return;
            }
            memcpy(out + o, esc ? esc : &c, len);
            o += len;
        }
        out[o] = 0;
    }
}

/* A new request: its method, path and token; the body (if any) comes in pieces. */
static int http_begin(struct lws *wsi, pss *p, const char *uri)
{
    if (p->wait) /* a pipelined request before the answer: that answer finds nobody */
        p->wait->p = NULL;
    dx_buf_release(&p->answer.body);
    memset(p, 0, sizeof *p);
    p->wsi = wsi;
    bool body = false;
    for (size_t i = 0; i < sizeof METHODS / sizeof *METHODS; i++)
        if (lws_hdr_total_length(wsi, METHODS[i].token) > 0) {
            snprintf(p->method, sizeof p->method, "%s", METHODS[i].method);
            body = METHODS[i].body;
            break;
        }
    snprintf(p->path, sizeof p->path, "%s", uri);
    query_join(wsi, p->query, sizeof p->query);
    p->forwarded = lws_hdr_total_length(wsi, WSI_TOKEN_X_FORWARDED_FOR) > 0 ||
                   lws_hdr_total_length(wsi, WSI_TOKEN_HTTP_X_REAL_IP) > 0 ||
                   lws_hdr_custom_length(wsi, "forwarded:", 10) > 0;
    int n = lws_hdr_total_length(wsi, WSI_TOKEN_HTTP_AUTHORIZATION);
    if (n > 0 && n < 4096 && (p->auth = malloc((size_t)n + 1)) &&
        lws_hdr_copy(wsi, p->auth, n + 1, WSI_TOKEN_HTTP_AUTHORIZATION) < 0) {
        free(p->auth);
        p->auth = NULL;
    }
    char cl[32] = "";
    if (lws_hdr_copy(wsi, cl, sizeof cl, WSI_TOKEN_HTTP_CONTENT_LENGTH) < 0)
        cl[0] = 0;
    if (lws_hdr_copy(wsi, p->range, sizeof p->range, WSI_TOKEN_HTTP_RANGE) < 0)
        p->range[0] = 0;
    long long len = atoll(cl);
    if (g_api.blobs && srv_blobs_streams(p->method, p->path)) {
        /* A blob: to a temporary file (already unlinked), never whole in memory. */
        if (len > srv_blobs_max_upload(g_api.blobs))
            p->up_too_big = true;
        else if (len > 0 && !lws_hdr_total_length(wsi, WSI_TOKEN_HTTP_TRANSFER_ENCODING)) {
            /* The token, the owner and the quota are checked before a byte is kept. */
            srv_request pre = {p->method, p->path, NULL, p->auth, NULL, 0};
            srv_response res = {500, DX_BUF_INIT};
            pre.forwarded = p->forwarded;
            pre.preflight = true;
            pre.preflight_len = len;
            srv_api_handle(&g_api, &pre, &res);
            if (res.status) {
                p->answered = true; /* a body the client sends anyway is dropped */
                free(p->auth);
                p->auth = NULL;
                int rc = http_reply(wsi, p, &res);
                dx_buf_release(&res.body);
                return rc;
            }
            dx_buf_release(&res.body);
        }
        if (!p->up_too_big && !(p->up = tmpfile()))
            return -1;
        /* A chunked body (no Content-Length) is refused (411): the limits are checked on the
         * length before a byte is stored. */
        p->need_length =
            len <= 0 && lws_hdr_total_length(wsi, WSI_TOKEN_HTTP_TRANSFER_ENCODING) > 0;
        if (len <= 0 || p->up_too_big)
            return http_answer(wsi, p);
        return 0;
    }
    if (len > (long long)SRV_MAX_BODY)
        p->body_too_big = true;
    if (!body || len <= 0 || p->body_too_big)
        return http_answer(wsi, p);
    return 0; /* LWS_CALLBACK_HTTP_BODY brings it */
}

static int callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                    size_t len)
{
    pss *p = user;
    char uri[256];
    switch (reason) {
    case LWS_CALLBACK_HTTP:
        return http_begin(wsi, p, (const char *)in);
    case LWS_CALLBACK_HTTP_BODY:
        if (p->answered)
            return 0;
        if (p->up || p->up_too_big) {
            /* Past the limit (or answered already): the rest is read and dropped. */
            if (!p->up || p->up_too_big)
                return 0;
            if (p->up_len + (int64_t)len > srv_blobs_max_upload(g_api.blobs))
                p->up_too_big = true;
            else if (fwrite(in, 1, len, p->up) == len)
                p->up_len += (int64_t)len;
            return 0; /* a failed write is seen by ferror in http_answer */
        }
        if (p->req_body.len + len > SRV_MAX_BODY)
            p->body_too_big = true;
        else
            dx_buf_append(&p->req_body, in, len); /* checked once, in http_answer */
        return 0;
    case LWS_CALLBACK_HTTP_BODY_COMPLETION:
        if (p->answered)
            return 0;
        return http_answer(wsi, p);
    case LWS_CALLBACK_HTTP_WRITEABLE: {
        if (p->answer_ready) {
            p->answer_ready = false;
            int rc = http_reply(wsi, p, &p->answer);
            dx_buf_release(&p->answer.body);
            return rc;
        }
        if (p->down) {
            static unsigned char chunk[LWS_PRE + 65536];
            size_t n = p->down_left < 65536 ? (size_t)p->down_left : 65536;
            if (fread(chunk + LWS_PRE, 1, n, p->down) != n)
                return -1; /* the headers promised these bytes: close the connection */
            p->down_left -= n;
            bool last = p->down_left == 0;
            if (lws_write(wsi, chunk + LWS_PRE, n, last ? LWS_WRITE_HTTP_FINAL : LWS_WRITE_HTTP) <
                0)
                return -1;
            if (!last) {
                lws_callback_on_writable(wsi);
                return 0;
            }
            fclose(p->down);
            p->down = NULL;
            return lws_http_transaction_completed(wsi) ? -1 : 0;
        }
        if (!p->body)
            return 0;
        int w =
            lws_write(wsi, (unsigned char *)p->body + LWS_PRE, p->body_len, LWS_WRITE_HTTP_FINAL);
        free(p->body);
        p->body = NULL;
        if (w < 0 || lws_http_transaction_completed(wsi))
            return -1;
        return 0;
    }
    case LWS_CALLBACK_CLOSED_HTTP:
        if (!p) /* a connection that ended before it was bound (a TLS handshake refused) */
            return 0;
        if (p->wait) /* the job's answer finds nobody */
            p->wait->p = NULL;
        p->wait = NULL;
        dx_buf_release(&p->answer.body);
        free(p->body);
        p->body = NULL;
        if (p->up)
            fclose(p->up);
        if (p->down)
            fclose(p->down);
        p->up = p->down = NULL;
        free(p->auth);
        p->auth = NULL;
        dx_buf_release(&p->req_body);
        return 0;
    case LWS_CALLBACK_FILTER_PROTOCOL_CONNECTION:
        /* Any URL can be upgraded: only /sync is the sync endpoint. */
        if (lws_hdr_copy(wsi, uri, sizeof uri, WSI_TOKEN_GET_URI) < 0 ||
            strncmp(uri, "/sync", 5) != 0 || (uri[5] && uri[5] != '/' && uri[5] != '?'))
            return -1;
        /* At most --connections-per-minute new websockets per client address. */
        char ip[64] = "";
        lws_get_peer_simple(wsi, ip, sizeof ip);
        return srv_rate_allow(&g_rate, ip, dx_now_ms()) ? 0 : -1;
    case LWS_CALLBACK_ESTABLISHED: {
        memset(p, 0, sizeof *p);
        p->wsi = wsi;
        srv_transport t = {t_send, t_close, p};
        if (!(p->conn = srv_conn_new(g_hub, &t)))
            return -1;
        p->opened_us = p->heard_us = now_us();
        if ((p->next = g_sockets))
            g_sockets->prev = p;
        g_sockets = p;
        return 0;
    }
    case LWS_CALLBACK_EVENT_WAIT_CANCELLED: /* a job finished (wake_loop), or a signal */
        if (g_jobs)
            srv_jobs_finish(g_jobs);
        return 0;
    case LWS_CALLBACK_RECEIVE:
        if (!p->conn)
            return -1;
        /* The frame's declared length counts: a message over the cap is refused at its first
         * bytes, not after 16 MiB were read (and before an idle timer could end it first). */
        if (p->rx.len + len + lws_remaining_packet_payload(wsi) > MAX_MESSAGE) {
            lws_close_reason(wsi, LWS_CLOSE_STATUS_MESSAGE_TOO_LARGE,
                             (unsigned char *)"Message Too Big", 15);
            return -1;
        }
        if (dx_buf_append(&p->rx, in, len))
            return -1;
        p->heard_us = now_us();
        if (!lws_is_final_fragment(wsi) || lws_remaining_packet_payload(wsi))
            return 0;
        srv_conn_receive(p->conn, (const uint8_t *)p->rx.data, p->rx.len);
        dx_buf_reset(&p->rx);
        return 0;
    case LWS_CALLBACK_SERVER_WRITEABLE:
        if (p->head) {
            outmsg *m = p->head;
            if (lws_write(wsi, m->data + LWS_PRE, m->len, LWS_WRITE_BINARY) < (int)m->len)
                return -1;
            p->head = m->next;
            if (!p->head)
                p->tail = NULL;
            free(m);
            if (p->head || p->close_code)
                lws_callback_on_writable(wsi);
            return 0;
        }
        if (p->close_code) {
            lws_close_reason(wsi, (enum lws_close_status)p->close_code,
                             (unsigned char *)p->close_reason, strlen(p->close_reason));
            return -1;
        }
        return 0;
    case LWS_CALLBACK_CLOSED:
        if (p->prev)
            p->prev->next = p->next;
        else if (g_sockets == p)
            g_sockets = p->next;
        if (p->next)
            p->next->prev = p->prev;
        p->prev = p->next = NULL;
        if (p->conn) {
            srv_conn_free(p->conn);
            p->conn = NULL;
        }
        queue_free(p);
        dx_buf_release(&p->rx);
        return 0;
    default:
        return lws_callback_http_dummy(wsi, reason, user, in, len);
    }
}

static const struct lws_protocols protocols[] = {
    {"diaryx", callback, sizeof(pss), 64 * 1024, 0, NULL, 0},
    {NULL, NULL, 0, 0, 0, NULL, 0},
};

static void on_signal(int sig)
{
    (void)sig;
    g_stop = 1;
    if (g_ctx)
        lws_cancel_service(g_ctx);
}

static int serve(const char *data, const char *listen)
{
    char host[256];
    int port = 0;
    const char *colon = strrchr(listen, ':');
    if (!colon || colon == listen || (size_t)(colon - listen) >= sizeof host ||
        (port = atoi(colon + 1)) <= 0 || port > 65535) {
        fprintf(stderr, "diaryx-server: --listen wants HOST:PORT (e.g. 127.0.0.1:3030), not '%s'\n",
                listen);
        return 2;
    }
    memcpy(host, listen, (size_t)(colon - listen));
    host[colon - listen] = 0;
    /* lws binds an address, and takes a name for an interface, which localhost is not. */
    size_t hl = strlen(host);
    if (!strcmp(host, "localhost")) {
        snprintf(host, sizeof host, "127.0.0.1");
    } else if (hl > 2 && host[0] == '[' && host[hl - 1] == ']') {
        memmove(host, host + 1, hl - 2);
        host[hl - 2] = 0;
    }
    srv_accounts *acc = NULL;
    dx_error err = DX_ERROR_INIT;
    if (open_accounts(data, &acc, &err) || srv_hub_new(data, acc, &g_hub, &err)) {
        fprintf(stderr, "diaryx-server: %s\n", err.msg);
        srv_accounts_close(acc);
        return 1;
    }
    g_api.acc = acc;
    g_api.hub = g_hub;
    g_api.auth = &g_auth;
    g_api.deliver = deliver;
    if (srv_jobs_new((size_t)g_workers, wake_loop, NULL, &g_jobs, &err)) {
        fprintf(stderr, "diaryx-server: %s\n", err.msg);
        srv_hub_free(g_hub);
        srv_accounts_close(acc);
        return 1;
    }
    g_api.jobs = g_jobs;
    if (srv_blobs_open(data, &g_blobs_cfg, &g_api.blobs, &err)) {
        fprintf(stderr, "diaryx-server: %s\n", err.msg);
        srv_jobs_stop(g_jobs, 0);
        srv_jobs_free(g_jobs);
        srv_hub_free(g_hub);
        srv_accounts_close(acc);
        return 1;
    }
    srv_hub_set_max_workspaces(g_hub, (size_t)g_max_ws);
    /* The fd table is sized from the limit at context creation. */
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    lws_set_log_level(LLL_ERR, NULL);
    struct lws_context_creation_info info;
    memset(&info, 0, sizeof info);
    info.port = port;
    info.iface = host;
    info.protocols = protocols;
    /* With IPv6 on, lws listens on every address whatever iface says: an IPv4 address
     * binds only with IPv6 off (127.0.0.1 must not be reachable from the network). */
    if (strchr(host, '.') && !strchr(host, ':'))
        info.options |= LWS_SERVER_OPTION_DISABLE_IPV6;
    if (g_tls_cert) {
        info.options |= LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT;
        info.ssl_cert_filepath = g_tls_cert;
        info.ssl_private_key_filepath = g_tls_key;
    }
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    signal(SIGPIPE, SIG_IGN);
    if (!(g_ctx = lws_create_context(&info))) {
        fprintf(stderr, "diaryx-server: cannot listen on %s (in use, or not an address here%s)\n",
                listen,
                g_tls_cert ? "; or the [tls] cert and key are not a PEM certificate and its key"
                           : "");
        srv_blobs_free(g_api.blobs);
        srv_jobs_stop(g_jobs, 0);
        srv_jobs_free(g_jobs);
        srv_hub_free(g_hub);
        srv_accounts_close(acc);
        return 1;
    }
    g_acc = acc;
    tick(&g_tick);
    fprintf(stderr, "diaryx-server %s: serving %s on %s://%s (sync: %s://%s/sync; links: %s)\n",
            dx_version(), data, g_tls_cert ? "https" : "http", listen, g_tls_cert ? "wss" : "ws",
            listen, g_auth.public_url);
    while (!g_stop && lws_service(g_ctx, 0) >= 0)
        ;
    /* Running jobs end first (bounded): a commit half done is harmless, but its handles must
     * be closed cleanly; queued ones wait for the next start (the workspace stays dirty). */
    if (!srv_jobs_stop(g_jobs, 20000)) {
        fprintf(stderr, "diaryx-server: stopped with a job still running\n");
        return 0;
    }
    srv_jobs_free(g_jobs);
    g_jobs = NULL;
    g_api.jobs = NULL;
    lws_context_destroy(g_ctx); /* closes every connection: their subscriptions end */
    g_ctx = NULL;
    srv_hub_free(g_hub);
    srv_blobs_free(g_api.blobs);
    srv_accounts_close(acc);
    srv_rate_release(&g_rate);
    fprintf(stderr, "diaryx-server: stopped\n");
    return 0;
}

/* The settings of the config file (--config), then of the options, which win. */
typedef struct settings {
    const char *data, *listen;
    dx_toml toml;                   /* owns the config file's strings */
    const char *config;             /* the file's path, for messages ("" without one) */
    const char *public_url;         /* NULL: http(s):// and listen */
    const char *tls_cert, *tls_key; /* [tls] */
    const char *smtp_host, *smtp_username, *smtp_password, *smtp_from, *smtp_tls; /* [smtp] */
} settings;

static int64_t g_smtp_port; /* [smtp] port (0: by tls) */

/* One numeric setting: v (in the unit of the setting) in [min, max], stored scaled. */
static int set_number(const char *what, long long v, long long min, long long max, int64_t scale,
                      int64_t *to)
{
    if (v < min || v > max) {
        fprintf(stderr, "diaryx-server: %s wants %lld to %lld, not %lld\n", what, min, max, v);
        return 2;
    }
    *to = v * scale;
    return 0;
}

static const struct {
    const char *table, *key;
    long long min, max;
    int64_t scale;
    int64_t *to;
} NUMBERS[] = {
    {"", "idle_seconds", 1, 86400, 1000000, &g_idle_us},
    {"", "connections_per_minute", 0, 1000000, 1, &g_rate.per_minute},
    {"", "max_workspaces", 0, 1000000, 1, &g_max_ws},
    {"", "workers", 1, 64, 1, &g_workers},
    {"git", "quiescence_minutes", 0, 525600, 60000, &g_quiet_ms},
    {"git", "max_staleness_hours", 0, 8760, 3600000, &g_stale_ms},
    {"", "session_days", 1, 3650, 86400000, &g_auth.session_ms},
    {"smtp", "port", 1, 65535, 1, &g_smtp_port},
};

static const struct {
    const char *table, *key;
    size_t at; /* of the const char * in settings */
} STRINGS[] = {
    {"", "data", offsetof(settings, data)},
    {"", "listen", offsetof(settings, listen)},
    {"", "public_url", offsetof(settings, public_url)},
    {"tls", "cert", offsetof(settings, tls_cert)},
    {"tls", "key", offsetof(settings, tls_key)},
    {"smtp", "host", offsetof(settings, smtp_host)},
    {"smtp", "username", offsetof(settings, smtp_username)},
    {"smtp", "password", offsetof(settings, smtp_password)},
    {"smtp", "from", offsetof(settings, smtp_from)},
    {"smtp", "tls", offsetof(settings, smtp_tls)},
};

static int load_config(const char *path, settings *st)
{
    dx_buf text = DX_BUF_INIT;
    dx_error err = DX_ERROR_INIT;
    int rc = dx_file_read(path, &text, &err) ||
             dx_toml_parse(dx_buf_cstr(&text), text.len, path, &st->toml, &err);
    dx_buf_release(&text);
    if (rc) {
        fprintf(stderr, "diaryx-server: %s\n", err.msg);
        return 1;
    }
    for (size_t i = 0; i < st->toml.len; i++) {
        const dx_toml_entry *e = &st->toml.entries[i];
        bool known = false;
        char what[128];
        snprintf(what, sizeof what, "%s%s%s in %s", e->table, e->table[0] ? "." : "", e->key, path);
        for (size_t k = 0; !known && k < sizeof NUMBERS / sizeof *NUMBERS; k++) {
            if (strcmp(e->table, NUMBERS[k].table) || strcmp(e->key, NUMBERS[k].key))
                continue;
            known = true;
            if (e->value.type != DX_TOML_INT) {
                fprintf(stderr, "diaryx-server: %s wants a number\n", what);
                return 2;
            }
            if ((rc = set_number(what, e->value.i, NUMBERS[k].min, NUMBERS[k].max, NUMBERS[k].scale,
                                 NUMBERS[k].to)))
                return rc;
        }
        for (size_t k = 0; !known && k < sizeof STRINGS / sizeof *STRINGS; k++) {
            if (strcmp(e->table, STRINGS[k].table) || strcmp(e->key, STRINGS[k].key))
                continue;
            known = true;
            if (e->value.type != DX_TOML_STRING) {
                fprintf(stderr, "diaryx-server: %s wants a string\n", what);
                return 2;
            }
            *(const char **)((char *)st + STRINGS[k].at) = e->value.str;
        }
        if (!known && !strcmp(e->table, "blobs")) {
            known = true;
            if (srv_blobs_config_key(&g_blobs_cfg, e, &err)) {
                fprintf(stderr, "diaryx-server: %s in %s\n", err.msg, path);
                return 2;
            }
        }
        if (!known) {
            fprintf(stderr,
                    "diaryx-server: unknown setting %s (known: data, listen, public_url, "
                    "idle_seconds, connections_per_minute, max_workspaces, workers, "
                    "session_days, [git] quiescence_minutes, max_staleness_hours, [tls] cert, "
                    "key, [smtp] host, port, username, password, from, tls, [blobs] backend, "
                    "endpoint, region, bucket, path_style, prefix, access_key, secret_key, "
                    "quota_free_mb, quota_sync_mb, max_upload_mb)\n",
                    what);
            return 2;
        }
    }
    return 0;
}

/* A string setting's name for messages: "smtp.tls in FILE" or "--public-url". */
static void setting_name(const settings *st, const char *table, const char *key, char *out,
                         size_t cap)
{
    if (st->config[0])
        snprintf(out, cap, "%s%s%s in %s", table, table[0] ? "." : "", key, st->config);
    else
        snprintf(out, cap, "%s%s%s", table, table[0] ? "." : "", key);
}

static bool loopback_host(const char *listen)
{
    return !strncmp(listen, "127.", 4) || !strncmp(listen, "localhost:", 10) ||
           !strncmp(listen, "[::1]:", 6) || !strncmp(listen, "::1:", 4);
}

/* The sign-in and TLS settings checked and put in place: public URL (into url), [tls],
 * and the mailer of [smtp] (started; *mailer, stopped by the caller). 2: a bad setting. */
static int sign_in_setup(const settings *st, dx_buf *url, srv_mailer **mailer)
{
    char what[300];
    dx_error err = DX_ERROR_INIT;
    if (!st->tls_cert != !st->tls_key) {
        setting_name(st, "tls", st->tls_cert ? "key" : "cert", what, sizeof what);
        fprintf(stderr, "diaryx-server: %s is missing: [tls] wants both cert and key\n", what);
        return 2;
    }
    const char *files[] = {st->tls_cert, st->tls_key}, *keys[] = {"cert", "key"};
    for (int k = 0; k < 2 && st->tls_cert; k++)
        if (access(files[k], R_OK) != 0) {
            setting_name(st, "tls", keys[k], what, sizeof what);
            fprintf(stderr, "diaryx-server: %s: cannot read '%s': %s\n", what, files[k],
                    strerror(errno));
            return 2;
        }
    g_tls_cert = st->tls_cert;
    g_tls_key = st->tls_key;
    if (st->public_url) {
        size_t n = strlen(st->public_url);
        while (n && st->public_url[n - 1] == '/')
            n--;
        if (strncmp(st->public_url, "http://", 7) && strncmp(st->public_url, "https://", 8)) {
            setting_name(st, "", "public_url", what, sizeof what);
            fprintf(stderr, "diaryx-server: %s wants an http:// or https:// URL, not '%s'\n", what,
                    st->public_url);
            return 2;
        }
        dx_buf_append(url, st->public_url, n);
    } else {
        dx_buf_printf(url, "%s://%s", g_tls_cert ? "https" : "http", st->listen);
    }
    if (dx_buf_error(url)) {
        fprintf(stderr, "diaryx-server: out of memory\n");
        return 1;
    }
    g_auth.public_url = dx_buf_cstr(url);
    g_auth.loopback = loopback_host(st->listen);
    bool smtp = st->smtp_host || st->smtp_from || st->smtp_username || st->smtp_password ||
                st->smtp_tls || g_smtp_port;
    if (!smtp)
        return 0;
    srv_smtp cfg = {st->smtp_host,     (long)g_smtp_port, st->smtp_username,
                    st->smtp_password, st->smtp_from,     SRV_SMTP_STARTTLS};
    const char *tls = st->smtp_tls ? st->smtp_tls : "starttls";
    if (!strcmp(tls, "implicit")) {
        cfg.tls = SRV_SMTP_IMPLICIT;
    } else if (!strcmp(tls, "none")) {
        cfg.tls = SRV_SMTP_NONE;
    } else if (strcmp(tls, "starttls")) {
        setting_name(st, "smtp", "tls", what, sizeof what);
        fprintf(stderr,
                "diaryx-server: %s wants \"starttls\", \"implicit\" or \"none\", not '%s'\n", what,
                tls);
        return 2;
    }
    if (!st->smtp_host || !st->smtp_from) {
        setting_name(st, "smtp", st->smtp_host ? "from" : "host", what, sizeof what);
        fprintf(stderr, "diaryx-server: %s is missing: [smtp] wants host and from\n", what);
        return 2;
    }
    if (srv_mailer_start(&cfg, mailer, &err)) {
        fprintf(stderr, "diaryx-server: %s\n", err.msg);
        return 1;
    }
    g_auth.mailer = *mailer;
    return 0;
}

int main(int argc, char **argv)
{
    dx_buf url = DX_BUF_INIT;
    srv_mailer *mailer = NULL;
    settings st = {
        .data = "./diaryx-data", .listen = "127.0.0.1:3030", .toml = DX_TOML_INIT, .config = ""};
    int i = 1, rc = 0;
    /* The config file first, whatever its place among the options. */
    for (int k = 1; k + 1 < argc && argv[k][0] == '-';
         k += strcmp(argv[k], "-h") && strcmp(argv[k], "--help") ? 2 : 1) /* skip values */
        if (!strcmp(argv[k], "--config") && (st.config = argv[k + 1]) &&
            (rc = load_config(argv[k + 1], &st)))
            goto done;
    for (; i < argc && argv[i][0] == '-'; i++) {
        char *end = NULL;
        long long v = i + 1 < argc ? strtoll(argv[i + 1], &end, 10) : 0;
        bool number = end && end != argv[i + 1] && !*end;
        if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
            fputs(USAGE, stdout);
            goto done;
        } else if (!strcmp(argv[i], "--config") && i + 1 < argc) {
            i++;
        } else if (!strcmp(argv[i], "--data") && i + 1 < argc) {
            st.data = argv[++i];
        } else if (!strcmp(argv[i], "--listen") && i + 1 < argc) {
            st.listen = argv[++i];
        } else if (!strcmp(argv[i], "--quiescence-seconds") && number) {
            if ((rc = set_number(argv[i++], v, 0, 365LL * 86400, 1000, &g_quiet_ms)))
                goto done;
        } else if (!strcmp(argv[i], "--staleness-seconds") && number) {
            if ((rc = set_number(argv[i++], v, 0, 365LL * 86400, 1000, &g_stale_ms)))
                goto done;
        } else if (!strcmp(argv[i], "--max-workspaces") && number) {
            if ((rc = set_number(argv[i++], v, 0, 1000000, 1, &g_max_ws)))
                goto done;
        } else if (!strcmp(argv[i], "--connections-per-minute") && number) {
            if ((rc = set_number(argv[i++], v, 0, 1000000, 1, &g_rate.per_minute)))
                goto done;
        } else if (!strcmp(argv[i], "--workers") && number) {
            if ((rc = set_number(argv[i++], v, 1, 64, 1, &g_workers)))
                goto done;
        } else if (!strcmp(argv[i], "--idle-seconds") && number) {
            if ((rc = set_number(argv[i++], v, 1, 86400, 1000000, &g_idle_us)))
                goto done;
        } else if (!strcmp(argv[i], "--public-url") && i + 1 < argc) {
            st.public_url = argv[++i];
        } else if (!strcmp(argv[i], "--session-days") && number) {
            if ((rc = set_number(argv[i++], v, 1, 3650, 86400000, &g_auth.session_ms)))
                goto done;
        } else if (!strcmp(argv[i], "--session-seconds") && number) {
            if ((rc = set_number(argv[i++], v, 1, 3650LL * 86400, 1000, &g_auth.session_ms)))
                goto done;
        } else if (!strcmp(argv[i], "--magic-link-seconds") && number) {
            if ((rc = set_number(argv[i++], v, 1, 86400, 1000, &g_auth.link_ms)))
                goto done;
        } else {
            fprintf(stderr, "diaryx-server: unknown option, or a missing or bad value: '%s'\n%s",
                    argv[i], USAGE);
            rc = 2;
            goto done;
        }
    }
    if (i < argc) {
        rc = command(st.data, argc - i, argv + i);
    } else if ((rc = sign_in_setup(&st, &url, &mailer)) == 0) {
        rc = serve(st.data, st.listen);
        srv_mailer_stop(mailer);
    }
done:
    dx_buf_release(&url);
    dx_toml_release(&st.toml);
    return rc;
}
