/* main.c - diaryx-server: options, the offline admin commands, and the libwebsockets loop
 * that serves /health, /api/status and the Hocuspocus websocket /sync on one port. */
#include <errno.h>
#include <libwebsockets.h>
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
#include "commits.h"
#include "hub.h"
#include "jobs.h"
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
    "token of the Auth message is an API token), GET /health (200 once ready),\n"
    "GET /api/status and /api/workspaces (docs/server.md). The commands work on the data\n"
    "directory offline:\n"
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
    "                        max_staleness_hours = N (default 24)\n"
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
    if ((rc = open_accounts(data, &acc, &err)) == 0) {
        if (user_add)
            rc = srv_user_add(acc, argv[2], opt_value(argc, argv, "--plan", "free"), &err);
        else if (user_plan)
            rc = srv_user_plan(acc, argv[2], argv[3], &err);
        else if (token)
            rc = srv_token_new(acc, argv[1], opt_value(argc, argv, "--device", NULL),
                               has_flag(argc, argv, "--read-only"), &out, &err);
        else if (ws_add)
            rc = srv_workspace_add(acc, argv[2], argv[3], wid, &err);
        else
            rc = srv_workspace_list(acc, argv[2], &out, &err);
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
    unsigned answer_status;
    dx_buf answer;
    char *body; /* HTTP: the response body to write */
    size_t body_len;
    char method[8]; /* HTTP: the request */
    char path[512];
    char query[1024];
    char *auth;
    dx_buf req_body;
    bool body_too_big;
    int64_t opened_us, heard_us; /* websocket: when it opened, when it last sent */
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
static srv_rate g_rate = {DX_STRMAP_INIT, 120}; /* websocket connections per address per minute */
static lws_sorted_usec_list_t g_tick;

/* Once a second (a tenth of the quiescence when that is shorter): the auto-commits due. */
static void tick(lws_sorted_usec_list_t *sul)
{
    srv_commits_tick(g_hub, g_acc, g_jobs, dx_now_ms(), g_quiet_ms, g_stale_ms);
    int64_t every = g_quiet_ms > 0 && g_quiet_ms < 10000 ? g_quiet_ms * 100 : LWS_US_PER_SEC;
    lws_sul_schedule(g_ctx, 0, sul, tick, every);
}

static int64_t now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* A connection silent for the idle time is closed (4408); until one of its documents is
 * authenticated, the time counts from when it opened, however much it sends. */
static int idle_check(struct lws *wsi, pss *p)
{
    int64_t since = p->conn && srv_conn_authenticated(p->conn) ? p->heard_us : p->opened_us;
    int64_t left = since + g_idle_us - now_us();
    if (left > 0) {
        lws_set_timer_usecs(wsi, left);
        return 0;
    }
    lws_close_reason(wsi, (enum lws_close_status)4408, (unsigned char *)"Connection Timeout", 18);
    return -1;
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

static int http_reply(struct lws *wsi, pss *p, unsigned status, const dx_buf *body)
{
    uint8_t buf[LWS_PRE + 1024], *start = buf + LWS_PRE, *q = start, *end = buf + sizeof buf - 1;
    p->body_len = body->len;
    if (!(p->body = malloc(LWS_PRE + body->len + 1)))
        return -1;
    memcpy(p->body + LWS_PRE, dx_buf_cstr(body), body->len);
    if (lws_add_http_common_headers(wsi, status, "application/json", body->len, &q, end) ||
        lws_finalize_write_http_header(wsi, start, &q, end))
        return -1;
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
    p->answer_status = res->status;
    dx_buf_reset(&p->answer);
    if (dx_buf_append(&p->answer, res->body.data, res->body.len))
        p->answer_status = 500; /* the body is incomplete: say so by the status at least */
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
    srv_request req = {p->method, p->path,          p->query[0] ? p->query : NULL,
                       p->auth,   p->req_body.data, p->req_body.len,
                       NULL};
    srv_response res = {500, DX_BUF_INIT};
    if (p->body_too_big || dx_buf_error(&p->req_body))
        req.body_len = SRV_MAX_BODY + 1;
    http_wait *w = calloc(1, sizeof *w);
    if (!w)
        return -1;
    w->p = p;
    req.ud = w;
    srv_api_handle(&g_api, &req, &res);
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
    int rc = http_reply(wsi, p, res.status, &res.body);
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

/* A new request: its method, path and token; the body (if any) comes in pieces. */
static int http_begin(struct lws *wsi, pss *p, const char *uri)
{
    if (p->wait) /* a pipelined request before the answer: that answer finds nobody */
        p->wait->p = NULL;
    dx_buf_release(&p->answer);
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
    if (lws_hdr_copy(wsi, p->query, sizeof p->query, WSI_TOKEN_HTTP_URI_ARGS) < 0)
        p->query[0] = 0;
    int n = lws_hdr_total_length(wsi, WSI_TOKEN_HTTP_AUTHORIZATION);
    if (n > 0 && n < 4096 && (p->auth = malloc((size_t)n + 1)) &&
        lws_hdr_copy(wsi, p->auth, n + 1, WSI_TOKEN_HTTP_AUTHORIZATION) < 0) {
        free(p->auth);
        p->auth = NULL;
    }
    char cl[32] = "";
    if (lws_hdr_copy(wsi, cl, sizeof cl, WSI_TOKEN_HTTP_CONTENT_LENGTH) < 0)
        cl[0] = 0;
    long long len = atoll(cl);
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
        if (p->req_body.len + len > SRV_MAX_BODY)
            p->body_too_big = true;
        else
            dx_buf_append(&p->req_body, in, len); /* checked once, in http_answer */
        return 0;
    case LWS_CALLBACK_HTTP_BODY_COMPLETION:
        return http_answer(wsi, p);
    case LWS_CALLBACK_HTTP_WRITEABLE: {
        if (p->answer_ready) {
            p->answer_ready = false;
            int rc = http_reply(wsi, p, p->answer_status, &p->answer);
            dx_buf_release(&p->answer);
            return rc;
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
        if (p->wait) /* the job's answer finds nobody */
            p->wait->p = NULL;
        p->wait = NULL;
        dx_buf_release(&p->answer);
        free(p->body);
        p->body = NULL;
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
        lws_set_timer_usecs(wsi, g_idle_us);
        return 0;
    }
    case LWS_CALLBACK_EVENT_WAIT_CANCELLED: /* a job finished (wake_loop), or a signal */
        if (g_jobs)
            srv_jobs_finish(g_jobs);
        return 0;
    case LWS_CALLBACK_TIMER:
        return idle_check(wsi, p);
    case LWS_CALLBACK_RECEIVE:
        if (!p->conn)
            return -1;
        if (p->rx.len + len > MAX_MESSAGE) {
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
    srv_accounts *acc = NULL;
    dx_error err = DX_ERROR_INIT;
    if (open_accounts(data, &acc, &err) || srv_hub_new(data, acc, &g_hub, &err)) {
        fprintf(stderr, "diaryx-server: %s\n", err.msg);
        srv_accounts_close(acc);
        return 1;
    }
    g_api.acc = acc;
    g_api.hub = g_hub;
    g_api.deliver = deliver;
    if (srv_jobs_new((size_t)g_workers, wake_loop, NULL, &g_jobs, &err)) {
        fprintf(stderr, "diaryx-server: %s\n", err.msg);
        srv_hub_free(g_hub);
        srv_accounts_close(acc);
        return 1;
    }
    g_api.jobs = g_jobs;
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
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    signal(SIGPIPE, SIG_IGN);
    if (!(g_ctx = lws_create_context(&info))) {
        fprintf(stderr, "diaryx-server: cannot listen on %s (in use, or not an address here)\n",
                listen);
        srv_jobs_stop(g_jobs, 0);
        srv_jobs_free(g_jobs);
        srv_hub_free(g_hub);
        srv_accounts_close(acc);
        return 1;
    }
    g_acc = acc;
    tick(&g_tick);
    fprintf(stderr, "diaryx-server %s: serving %s on http://%s (sync: ws://%s/sync)\n",
            dx_version(), data, listen, listen);
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
    srv_accounts_close(acc);
    srv_rate_release(&g_rate);
    fprintf(stderr, "diaryx-server: stopped\n");
    return 0;
}

/* The settings of the config file (--config), then of the options, which win. */
typedef struct settings {
    const char *data, *listen;
    dx_toml toml; /* owns the config file's strings */
} settings;

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
        if (!known && !e->table[0] && (!strcmp(e->key, "data") || !strcmp(e->key, "listen"))) {
            known = true;
            if (e->value.type != DX_TOML_STRING) {
                fprintf(stderr, "diaryx-server: %s wants a string\n", what);
                return 2;
            }
            *(!strcmp(e->key, "data") ? &st->data : &st->listen) = e->value.str;
        }
        if (!known) {
            fprintf(stderr,
                    "diaryx-server: unknown setting %s (known: data, listen, idle_seconds, "
                    "connections_per_minute, max_workspaces, workers, [git] quiescence_minutes, "
                    "max_staleness_hours)\n",
                    what);
            return 2;
        }
    }
    return 0;
}

int main(int argc, char **argv)
{
    settings st = {"./diaryx-data", "127.0.0.1:3030", DX_TOML_INIT};
    int i = 1, rc = 0;
    /* The config file first, whatever its place among the options. */
    for (int k = 1; k + 1 < argc && argv[k][0] == '-'; k++)
        if (!strcmp(argv[k], "--config") && (rc = load_config(argv[k + 1], &st)))
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
        } else {
            fprintf(stderr, "diaryx-server: unknown option, or a missing or bad value: '%s'\n%s",
                    argv[i], USAGE);
            rc = 2;
            goto done;
        }
    }
    rc = i < argc ? command(st.data, argc - i, argv + i) : serve(st.data, st.listen);
done:
    dx_toml_release(&st.toml);
    return rc;
}
