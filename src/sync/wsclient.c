/* wsclient.c - one websocket client connection over libwebsockets (see wsclient.h). */
#include "diaryx/wsclient.h"

#include <libwebsockets.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "diaryx/buf.h"

typedef struct outmsg {
    struct outmsg *next;
    size_t len;
    unsigned char data[]; /* LWS_PRE bytes of headroom, then the message */
} outmsg;

struct dx_ws {
    struct lws_context *ctx;
    struct lws *wsi;
    dx_ws_state state;
    dx_ws_message_fn on_message;
    void *ud;
    outmsg *head, *tail;
    size_t queued;
    dx_buf in;
    int close_code;   /* the server's */
    char reason[256]; /* the server's reason, or the connection error */
    int want_close;   /* ours: close after the queue */
    char host[256], path[1024];
    int port;
    lws_sorted_usec_list_t wake; /* ends a service call after its timeout */
};

static void set_reason(dx_ws *ws, const void *text, size_t len)
{
    if (len >= sizeof ws->reason)
        len = sizeof ws->reason - 1;
    memcpy(ws->reason, text, len);
    ws->reason[len] = 0;
}

static int callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                    size_t len)
{
    (void)user;
    dx_ws *ws = lws_context_user(lws_get_context(wsi));
    if (!ws)
        return 0;
    switch (reason) {
    case LWS_CALLBACK_CLIENT_ESTABLISHED:
        ws->state = DX_WS_OPEN;
        if (ws->head)
            lws_callback_on_writable(wsi);
        break;
    case LWS_CALLBACK_CLIENT_CONNECTION_ERROR:
        set_reason(ws, in ? in : "connection failed", in ? strlen(in) : 17);
        ws->state = DX_WS_CLOSED;
        ws->wsi = NULL;
        break;
    case LWS_CALLBACK_WS_PEER_INITIATED_CLOSE:
        if (len >= 2) {
            const unsigned char *p = in;
            ws->close_code = p[0] << 8 | p[1];
            set_reason(ws, p + 2, len - 2);
        }
        break;
    case LWS_CALLBACK_CLIENT_CLOSED:
        ws->state = DX_WS_CLOSED;
        ws->wsi = NULL;
        if (!ws->reason[0])
            set_reason(ws, "the connection closed", 21);
        break;
    case LWS_CALLBACK_CLIENT_RECEIVE:
        if (ws->in.len + len > DX_WS_MAX_MESSAGE) {
            lws_close_reason(wsi, LWS_CLOSE_STATUS_MESSAGE_TOO_LARGE, (unsigned char *)"too big",
                             7);
            set_reason(ws, "the server sent a message larger than the limit", 47);
            return -1;
        }
        if (dx_buf_append(&ws->in, in, len)) {
            set_reason(ws, "out of memory", 13);
            return -1;
        }
        if (!lws_is_final_fragment(wsi) || lws_remaining_packet_payload(wsi))
            break;
        {
            int rc = ws->on_message(ws->ud, (const uint8_t *)ws->in.data, ws->in.len);
            dx_buf_reset(&ws->in);
            if (rc) {
                lws_close_reason(wsi,
                                 rc == DX_EPARSE ? LWS_CLOSE_STATUS_PROTOCOL_ERR
                                                 : LWS_CLOSE_STATUS_UNEXPECTED_CONDITION,
                                 NULL, 0);
                return -1;
            }
        }
        break;
    case LWS_CALLBACK_CLIENT_WRITEABLE: {
        outmsg *m = ws->head;
        if (m) {
            if (lws_write(wsi, m->data + LWS_PRE, m->len, LWS_WRITE_BINARY) < (int)m->len)
                return -1;
            ws->head = m->next;
            if (!ws->head)
                ws->tail = NULL;
            ws->queued -= m->len;
            free(m);
        }
        if (ws->head)
            lws_callback_on_writable(wsi);
        else if (ws->want_close) {
            lws_close_reason(wsi, (enum lws_close_status)ws->want_close, NULL, 0);
            return -1;
        }
        break;
    }
    default:
        break;
    }
    return 0;
}

static const struct lws_protocols protocols[] = {
    {"diaryx-sync", callback, 0, 1 << 16, 0, NULL, 0},
    {NULL, NULL, 0, 0, 0, NULL, 0},
};

static int parse_url(dx_ws *ws, const char *url, dx_error *err)
{
    if (!strncmp(url, "wss://", 6))
        return dx_error_set(err, DX_EUNSUPPORTED,
                            "'%s': TLS (wss://) is not supported by this client; use the "
                            "server's plain ws:// address",
                            url);
    if (strncmp(url, "ws://", 5))
        return dx_error_set(err, DX_EINVAL, "'%s' is not a ws:// URL", url);
    const char *h = url + 5, *slash = strchr(h, '/'), *colon = strchr(h, ':');
    size_t hl = slash ? (size_t)(slash - h) : strlen(h);
    ws->port = 80;
    if (colon && (!slash || colon < slash)) {
        char *end;
        long p = strtol(colon + 1, &end, 10);
        if (end == colon + 1 || p <= 0 || p > 65535 || (slash ? end != slash : *end))
            return dx_error_set(err, DX_EINVAL, "'%s': the port is not a number from 1 to 65535",
                                url);
        ws->port = (int)p;
        hl = (size_t)(colon - h);
    }
    if (!hl || hl >= sizeof ws->host)
        return dx_error_set(err, DX_EINVAL, "'%s' names no host", url);
    memcpy(ws->host, h, hl);
    ws->host[hl] = 0;
    snprintf(ws->path, sizeof ws->path, "%s", slash ? slash : "/");
    return 0;
}

int dx_ws_open(const char *url, dx_ws_message_fn on_message, void *ud, dx_ws **out, dx_error *err)
{
    *out = NULL;
    dx_ws *ws = calloc(1, sizeof *ws);
    if (!ws)
        return dx_error_set(err, DX_ENOMEM, "out of memory");
    ws->on_message = on_message;
    ws->ud = ud;
    int rc = parse_url(ws, url, err);
    if (rc) {
        free(ws);
        return rc;
    }
    lws_set_log_level(0, NULL);
    struct lws_context_creation_info info;
    memset(&info, 0, sizeof info);
    info.port = CONTEXT_PORT_NO_LISTEN;
    info.protocols = protocols;
    info.user = ws;
    info.options = 0;
    info.ka_time = 0;
    if (!(ws->ctx = lws_create_context(&info))) {
        free(ws);
        return dx_error_set(err, DX_ENOMEM, "cannot create the websocket context");
    }
    struct lws_client_connect_info ci;
    memset(&ci, 0, sizeof ci);
    ci.context = ws->ctx;
    ci.address = ws->host;
    ci.port = ws->port;
    ci.path = ws->path;
    ci.host = ws->host;
    ci.origin = ws->host;
    ci.protocol = NULL;
    ci.local_protocol_name = "diaryx-sync";
    ci.pwsi = &ws->wsi;
    ws->state = DX_WS_CONNECTING;
    if (!lws_client_connect_via_info(&ci)) {
        ws->state = DX_WS_CLOSED;
        if (!ws->reason[0])
            set_reason(ws, "cannot connect", 14);
    }
    *out = ws;
    return 0;
}

int dx_ws_send(dx_ws *ws, const uint8_t *data, size_t len)
{
    if (ws->state == DX_WS_CLOSED)
        return DX_EIO;
    outmsg *m = malloc(sizeof *m + LWS_PRE + len);
    if (!m)
        return DX_ENOMEM;
    m->next = NULL;
    m->len = len;
    memcpy(m->data + LWS_PRE, data, len);
    if (ws->tail)
        ws->tail->next = m;
    else
        ws->head = m;
    ws->tail = m;
    ws->queued += len;
    if (ws->wsi && ws->state == DX_WS_OPEN)
        lws_callback_on_writable(ws->wsi);
    return 0;
}

size_t dx_ws_queued(const dx_ws *ws)
{
    return ws->queued;
}

static void on_wake(lws_sorted_usec_list_t *sul)
{
    (void)sul;
}

/* lws_service ignores its timeout (since lws 3.2 it sleeps until an event or a scheduled
 * timer): a timer of our own bounds the wait, so the caller's loop runs at least that often. */
void dx_ws_service(dx_ws *ws, int timeout_ms)
{
    if (ws->state == DX_WS_CLOSED)
        return;
    lws_sul_schedule(ws->ctx, 0, &ws->wake, on_wake, (lws_usec_t)timeout_ms * LWS_US_PER_MS);
    lws_service(ws->ctx, 0);
}

void dx_ws_close(dx_ws *ws, int code)
{
    ws->want_close = code;
    if (ws->wsi && ws->state == DX_WS_OPEN)
        lws_callback_on_writable(ws->wsi);
}

dx_ws_state dx_ws_get_state(const dx_ws *ws)
{
    return ws->state;
}

int dx_ws_close_code(const dx_ws *ws)
{
    return ws->close_code;
}

const char *dx_ws_close_reason(const dx_ws *ws)
{
    return ws->reason;
}

void dx_ws_free(dx_ws *ws)
{
    if (!ws)
        return;
    if (ws->ctx) {
        lws_sul_cancel(&ws->wake);
        lws_context_destroy(ws->ctx); /* callbacks during it still find ws (context user) */
    }
    while (ws->head) {
        outmsg *m = ws->head;
        ws->head = m->next;
        free(m);
    }
    dx_buf_release(&ws->in);
    free(ws);
}
