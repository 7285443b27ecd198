/* bench_server_load.c - a light load generator for Hocuspocus servers (diaryx-server and
 * @hocuspocus/server alike): raw websocket + Hocuspocus frames (hocuspocus.h) over
 * non-blocking sockets with epoll, no Y.Doc per client, so that one process on one core can
 * drive thousands of connections. scripts/bench-server runs it against both servers.
 *
 *   bench_server_load idle   --port P --token T --workspace W --conns N [--pid PID] [--hold S]
 *       N connections, each authenticated on its own new body document and synced; the
 *       server's VmRSS (--pid) before and after, per connection.
 *   bench_server_load fanout --port P --token T --workspace W --clients N --rate R
 *                            --seconds S [--burst B]
 *       N clients on one new body document; each sends a small update R times a second for
 *       S seconds (or, with --burst, B updates at once). Latency from send to receipt at the
 *       other clients and from send to the SyncStatus acknowledgement.
 *   bench_server_load open   --port P --token T --workspace W [--dump FILE]
 *       a new client opens workspace:W, reads its entry ids, then syncs every body document
 *       on the same socket: time until all are synced, bytes received. --dump writes each
 *       document's state (name, a tab, hex) for seeding another server.
 *
 * Each mode prints one line "result MODE key=value ..." and exits 1 when something did not
 * happen (a refusal, a lost delivery, a timeout). Updates are made once here: per client a
 * Y.Text "body" insert of 8 characters, its own client id (1000 + index) and increasing
 * clocks, each after the client's previous insert (yjs's format, yjs-format.md section 6). */
#define _GNU_SOURCE /* memmem */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "diaryx/buf.h"
#include "diaryx/hocuspocus.h"
#include "diaryx/uuid.h"
#include "diaryx/wsdoc.h"
#include "ycrdt.h"
#include "ylib0.h"

#define CHUNK        8 /* characters per update */
#define CLIENT_BASE  1000
#define MAX_INFLIGHT 256 /* connections opening at once */

enum { C_CONNECTING, C_HANDSHAKE, C_OPEN, C_CLOSED };

typedef struct conn {
    int fd, state;
    dx_buf rx, msg, tx;
    size_t rx_off, tx_off;
    bool want_out, synced;
    /* fanout: the sends of this client (seconds), how many were acknowledged */
    double *sent;
    size_t n_sent, n_acked, cap_sent;
    double next_send;
} conn;

typedef struct samples {
    double *v;
    size_t n, cap;
} samples;

static struct {
    const char *mode, *token, *wid, *dump;
    char doc[128]; /* fanout: the one document */
    int port, pid;
    size_t conns, clients, burst;
    double rate, seconds, hold;
    int ep;
    conn *c;
    size_t n;
    size_t opened, synced, authed, closed;
    bool measuring;
    samples deliver, ack;
    size_t delivered, stray;
    double last_rx; /* when the last delivery or acknowledgement came */
    uint64_t rx_bytes;
    /* open */
    size_t open_docs, open_expected;
    FILE *dumpf;
} G = {.conns = 10, .clients = 10, .rate = 1, .seconds = 1};

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void die(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "bench_server_load %s: ", G.mode ? G.mode : "");
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    exit(1);
}

static void oom_check(const dx_buf *b)
{
    if (dx_buf_error(b))
        die("out of memory");
}

static void sample_add(samples *s, double v)
{
    if (s->n == s->cap) {
        s->cap = s->cap ? s->cap * 2 : 4096;
        if (!(s->v = realloc(s->v, s->cap * sizeof *s->v)))
            die("out of memory");
    }
    s->v[s->n++] = v;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* "p50=.. p95=.. p99=.. max=.." of s, in milliseconds. */
static void print_pct(const char *name, samples *s)
{
    if (!s->n) {
        printf(" %s_n=0", name);
        return;
    }
    qsort(s->v, s->n, sizeof *s->v, cmp_double);
    const double q[] = {0.50, 0.95, 0.99};
    const char *qn[] = {"p50", "p95", "p99"};
    printf(" %s_n=%zu", name, s->n);
    for (int i = 0; i < 3; i++)
        printf(" %s_%s_ms=%.2f", name, qn[i], s->v[(size_t)(q[i] * (double)(s->n - 1))] * 1e3);
    printf(" %s_max_ms=%.2f", name, s->v[s->n - 1] * 1e3);
}

static long rss_kb(void)
{
    char path[64], line[256];
    long kb = -1;
    if (G.pid <= 0)
        return -1;
    snprintf(path, sizeof path, "/proc/%d/status", G.pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    while (fgets(line, sizeof line, f))
        if (!strncmp(line, "VmRSS:", 6))
            kb = strtol(line + 6, NULL, 10);
    fclose(f);
    return kb;
}

/* CPU seconds (user + system) the server (--pid) has used so far; -1 without --pid. */
static double server_cpu_s(void)
{
    char path[64], buf[1024];
    if (G.pid <= 0)
        return -1;
    snprintf(path, sizeof path, "/proc/%d/stat", G.pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = 0;
    /* Fields 14 and 15, counted after the command name (which may hold spaces). */
    const char *p = strrchr(buf, ')');
    unsigned long long ut = 0, st = 0;
    if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut, &st) != 2)
        return -1;
    return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

/* CPU seconds this generator has used so far. */
static double own_cpu_s(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
           (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

/* ---- the socket ---- */

static void set_events(conn *c, bool out)
{
    struct epoll_event ev = {.events = EPOLLIN | (out ? EPOLLOUT : 0u),
                             .data.u32 = (uint32_t)(c - G.c)};
    if (epoll_ctl(G.ep, EPOLL_CTL_MOD, c->fd, &ev) != 0)
        die("epoll_ctl: %s", strerror(errno));
    c->want_out = out;
}

static void conn_close(conn *c)
{
    if (c->state == C_CLOSED)
        return;
    close(c->fd);
    c->state = C_CLOSED;
    G.closed++;
}

static void flush(conn *c)
{
    while (c->tx_off < c->tx.len) {
        ssize_t w = write(c->fd, c->tx.data + c->tx_off, c->tx.len - c->tx_off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            if (!c->want_out)
                set_events(c, true);
            return;
        }
        if (w < 0) {
            conn_close(c);
            return;
        }
        c->tx_off += (size_t)w;
    }
    dx_buf_reset(&c->tx);
    c->tx_off = 0;
    if (c->want_out)
        set_events(c, false);
}

/* A websocket frame of the client: masked with the key 0, which leaves the payload as is. */
static void ws_frame(conn *c, uint8_t opcode, const void *p, size_t n)
{
    uint8_t h[14];
    size_t hl = 0;
    h[hl++] = (uint8_t)(0x80 | opcode);
    if (n < 126) {
        h[hl++] = (uint8_t)(0x80 | n);
    } else if (n < 65536) {
        h[hl++] = 0x80 | 126;
        h[hl++] = (uint8_t)(n >> 8);
        h[hl++] = (uint8_t)n;
    } else {
        h[hl++] = 0x80 | 127;
        for (int i = 7; i >= 0; i--)
            h[hl++] = (uint8_t)((uint64_t)n >> (8 * i));
    }
    memset(h + hl, 0, 4);
    hl += 4;
    dx_buf_append(&c->tx, h, hl);
    dx_buf_append(&c->tx, p, n);
    oom_check(&c->tx);
}

/* Send the Hocuspocus frames in b, one websocket message each (b holds one frame). */
static void send_hp(conn *c, dx_buf *b)
{
    oom_check(b);
    if (c->state == C_CLOSED)
        return;
    ws_frame(c, 2, b->data, b->len);
    dx_buf_reset(b);
}

static void open_doc(conn *c, const char *name)
{
    dx_buf b = DX_BUF_INIT;
    static const uint8_t empty_sv[] = {0};
    dx_hp_put_auth(&b, name, strlen(name), DX_HP_AUTH_TOKEN, G.token, "bench");
    send_hp(c, &b);
    dx_hp_put_sync(&b, name, strlen(name), DX_HP_SYNC, Y_SYNC_STEP1, empty_sv, 1);
    send_hp(c, &b);
    dx_buf_release(&b);
}

static void conn_start(conn *c)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)G.port)};
    a.sin_addr.s_addr = htonl(0x7f000001);
    int one = 1;
    c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (c->fd < 0)
        die("socket: %s (raise ulimit -n)", strerror(errno));
    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (connect(c->fd, (struct sockaddr *)&a, sizeof a) != 0 && errno != EINPROGRESS)
        die("connect to 127.0.0.1:%d: %s", G.port, strerror(errno));
    c->state = C_CONNECTING;
    struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT, .data.u32 = (uint32_t)(c - G.c)};
    if (epoll_ctl(G.ep, EPOLL_CTL_ADD, c->fd, &ev) != 0)
        die("epoll_ctl: %s", strerror(errno));
    c->want_out = true;
    G.opened++;
}

static void handshake(conn *c)
{
    dx_buf_printf(&c->tx,
                  "GET /sync HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nUpgrade: websocket\r\n"
                  "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                  "Sec-WebSocket-Version: 13\r\n\r\n",
                  G.port);
    oom_check(&c->tx);
    c->state = C_HANDSHAKE;
}

/* ---- the messages ---- */

static void on_synced(conn *c, const dx_hp_msg *m);

/* The sender and the number of an update made here: the client id and clock of its first
 * struct (a relayed update may be re-encoded, but it starts at the same client and clock). */
static bool update_origin(const uint8_t *p, size_t n, size_t *sender, size_t *seq)
{
    y_dec d;
    y_dec_init(&d, p, n);
    uint64_t clients = y_dec_varuint(&d), structs = y_dec_varuint(&d);
    uint64_t client = y_dec_varuint(&d), clock = y_dec_varuint(&d);
    if (d.err || clients < 1 || structs < 1 || client < CLIENT_BASE || client - CLIENT_BASE >= G.n)
        return false;
    *sender = (size_t)(client - CLIENT_BASE);
    *seq = (size_t)(clock / CHUNK);
    return true;
}

static void on_message(conn *c, const uint8_t *p, size_t n)
{
    dx_buf b = DX_BUF_INIT;
    if (n == 1 && p[0] == DX_HP_PING) {
        dx_hp_put_ping(&b, DX_HP_PONG);
        send_hp(c, &b);
        dx_buf_release(&b);
        return;
    }
    dx_hp_msg m;
    dx_error err = DX_ERROR_INIT;
    if (dx_hp_decode(p, n, &m, &err))
        die("a frame from the server does not decode: %s", err.msg);
    double t = now_s();
    switch (m.type) {
    case DX_HP_AUTH:
        if (m.auth == DX_HP_AUTH_DENIED)
            die("the server refused '%.*s': %.*s", (int)m.name_len, m.addr, (int)m.text_len,
                m.text ? m.text : "");
        if (m.auth == DX_HP_AUTH_OK)
            G.authed++;
        break;
    case DX_HP_SYNC:
    case DX_HP_SYNC_REPLY:
        if (m.sync == Y_SYNC_STEP1) {
            /* As a provider: what the server lacks, here nothing (an empty update). */
            static const uint8_t empty_update[] = {0, 0};
            dx_hp_put_sync(&b, m.addr, m.addr_len, DX_HP_SYNC, Y_SYNC_STEP2, empty_update, 2);
            send_hp(c, &b);
        } else if (m.sync == Y_SYNC_STEP2) {
            on_synced(c, &m);
        } else {
            size_t sender, seq;
            if (!update_origin(m.data, m.data_len, &sender, &seq) || seq >= G.c[sender].n_sent)
                G.stray++;
            else if (&G.c[sender] != c && G.measuring) {
                sample_add(&G.deliver, t - G.c[sender].sent[seq]);
                G.delivered++;
                G.last_rx = t;
            }
        }
        break;
    case DX_HP_SYNC_STATUS:
        if (m.status != 1)
            die("the server refused an update (SyncStatus %llu)", (unsigned long long)m.status);
        if (G.measuring && c->sent && c->n_acked < c->n_sent) {
            sample_add(&G.ack, t - c->sent[c->n_acked++]);
            G.last_rx = t;
        }
        break;
    case DX_HP_CLOSE:
        die("the server closed '%.*s': %.*s", (int)m.name_len, m.addr, (int)m.text_len,
            m.text ? m.text : "");
    default:
        break;
    }
    dx_buf_release(&b);
}

/* Parse what arrived: the handshake's answer, then websocket frames. */
static void on_readable(conn *c)
{
    for (;;) {
        if (dx_buf_grow(&c->rx, 65536))
            die("out of memory");
        ssize_t r = read(c->fd, c->rx.data + c->rx.len, 65536);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            break;
        if (r <= 0)
            die("the server closed a connection (%s)", r ? strerror(errno) : "EOF");
        c->rx.len += (size_t)r;
        G.rx_bytes += (uint64_t)r;
    }
    const uint8_t *p = (const uint8_t *)c->rx.data;
    if (c->state == C_HANDSHAKE) {
        const char *end = memmem(c->rx.data, c->rx.len, "\r\n\r\n", 4);
        if (!end)
            return;
        if (c->rx.len < 12 || memcmp(c->rx.data, "HTTP/1.1 101", 12))
            die("the websocket upgrade was refused: %.40s", c->rx.data);
        c->rx_off = (size_t)(end + 4 - c->rx.data);
        c->state = C_OPEN;
        if (!strcmp(G.mode, "idle")) {
            char name[128], id[DX_UUID_LEN + 1];
            dx_uuid_v4(id);
            snprintf(name, sizeof name, "body:%s/%s", G.wid, id);
            open_doc(c, name);
        } else if (!strcmp(G.mode, "open")) {
            char name[128];
            snprintf(name, sizeof name, "workspace:%s", G.wid);
            open_doc(c, name);
        } else {
            open_doc(c, G.doc);
        }
    }
    while (c->state == C_OPEN) {
        size_t left = c->rx.len - c->rx_off;
        const uint8_t *f = p + c->rx_off;
        if (left < 2)
            break;
        uint8_t op = f[0] & 0x0f;
        bool fin = f[0] & 0x80;
        size_t hl = 2;
        uint64_t len = f[1] & 0x7f;
        if (len == 126) {
            if (left < 4)
                break;
            len = (uint64_t)f[2] << 8 | f[3];
            hl = 4;
        } else if (len == 127) {
            if (left < 10)
                break;
            len = 0;
            for (int i = 0; i < 8; i++)
                len = len << 8 | f[2 + i];
            hl = 10;
        }
        if (f[1] & 0x80)
            die("the server masked a frame");
        if (left - hl < len)
            break;
        const uint8_t *pl = f + hl;
        c->rx_off += hl + (size_t)len;
        if (op == 0 || op == 2) {
            dx_buf_append(&c->msg, pl, (size_t)len);
            oom_check(&c->msg);
            if (fin) {
                on_message(c, (const uint8_t *)c->msg.data, c->msg.len);
                dx_buf_reset(&c->msg);
            }
        } else if (op == 9) {
            ws_frame(c, 0xA, pl, (size_t)len);
        } else if (op == 8) {
            die("the server closed a connection (status %d)", len >= 2 ? pl[0] << 8 | pl[1] : 0);
        }
    }
    if (c->rx_off == c->rx.len) {
        dx_buf_reset(&c->rx);
        c->rx_off = 0;
    } else if (c->rx_off > 65536) {
        memmove(c->rx.data, c->rx.data + c->rx_off, c->rx.len - c->rx_off);
        dx_buf_truncate(&c->rx, c->rx.len - c->rx_off);
        c->rx_off = 0;
    }
}

static void on_event(conn *c, uint32_t events)
{
    if (c->state == C_CONNECTING && (events & (EPOLLOUT | EPOLLERR | EPOLLHUP))) {
        int e = 0;
        socklen_t el = sizeof e;
        getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &e, &el);
        if (e)
            die("connect to 127.0.0.1:%d: %s", G.port, strerror(e));
        handshake(c);
    }
    if (events & (EPOLLIN | EPOLLHUP | EPOLLERR))
        on_readable(c);
    if (c->state != C_CLOSED)
        flush(c);
}

/* One round of the loop: wait at most timeout seconds for events. */
static void poll_once(double timeout)
{
    struct epoll_event ev[256];
    int ms = timeout <= 0 ? 0 : (int)(timeout * 1e3) + 1;
    int k = epoll_wait(G.ep, ev, 256, ms);
    if (k < 0 && errno != EINTR)
        die("epoll_wait: %s", strerror(errno));
    for (int i = 0; i < k; i++)
        on_event(&G.c[ev[i].data.u32], ev[i].events);
}

/* Run the loop until done() or the deadline; false on the deadline. */
static bool run_until(bool (*done)(void), double deadline)
{
    while (!done()) {
        double t = now_s();
        if (t >= deadline)
            return false;
        poll_once(deadline - t < 0.05 ? deadline - t : 0.05);
    }
    return true;
}

static void conns_new(size_t n)
{
    G.n = n;
    if (!(G.c = calloc(n, sizeof *G.c)))
        die("out of memory");
}

static void conns_free(void)
{
    for (size_t i = 0; i < G.n; i++) {
        conn_close(&G.c[i]);
        dx_buf_release(&G.c[i].rx);
        dx_buf_release(&G.c[i].msg);
        dx_buf_release(&G.c[i].tx);
        free(G.c[i].sent);
    }
    free(G.c);
    free(G.deliver.v);
    free(G.ack.v);
}

/* Open every connection (at most MAX_INFLIGHT not yet synced at once) until all are synced. */
static bool all_synced(void)
{
    return G.synced == G.n;
}

static bool open_all(double deadline)
{
    while (G.synced < G.n) {
        while (G.opened < G.n && G.opened - G.synced < MAX_INFLIGHT)
            conn_start(&G.c[G.opened]);
        double t = now_s();
        if (t >= deadline)
            return false;
        poll_once(0.05);
    }
    return run_until(all_synced, deadline);
}

static void on_synced(conn *c, const dx_hp_msg *m)
{
    if (strcmp(G.mode, "open")) {
        if (!c->synced) {
            c->synced = true;
            G.synced++;
        }
        return;
    }
    /* open: the workspace document tells which bodies to open; each body is one more. */
    if (G.dumpf) {
        fprintf(G.dumpf, "%.*s\t", (int)m->addr_len, m->addr);
        for (size_t i = 0; i < m->data_len; i++)
            fprintf(G.dumpf, "%02x", m->data[i]);
        fputc('\n', G.dumpf);
    }
    G.open_docs++;
    if (m->name_len < 10 || memcmp(m->addr, "workspace:", 10))
        return;
    y_doc *doc = NULL;
    dx_strlist ids = DX_STRLIST_INIT;
    dx_error err = DX_ERROR_INIT;
    if (y_doc_new(&doc, NULL) || y_apply_update(doc, m->data, m->data_len, NULL) ||
        dx_wsdoc_ids(doc, &ids, &err))
        die("the workspace document does not read: %s", err.msg);
    G.open_expected = 1 + ids.len;
    for (size_t i = 0; i < ids.len; i++) {
        char name[128];
        snprintf(name, sizeof name, "body:%s/%s", G.wid, ids.items[i]);
        open_doc(c, name);
    }
    dx_strlist_release(&ids);
    y_doc_free(doc);
}

/* ---- the modes ---- */

static int mode_idle(void)
{
    conns_new(G.conns);
    long before = rss_kb();
    double t0 = now_s(), cpu0 = server_cpu_s(), own0 = own_cpu_s();
    if (!open_all(t0 + 600))
        die("only %zu of %zu connections synced in 600 s", G.synced, G.n);
    double t1 = now_s(), cpu1 = server_cpu_s(), own1 = own_cpu_s();
    /* Let the server settle (a store written, a collection run) before reading its memory. */
    double settle = now_s() + (G.hold > 0 ? G.hold : 2);
    while (now_s() < settle)
        poll_once(0.1);
    long after = rss_kb();
    printf("result idle conns=%zu synced_s=%.2f rss_before_kb=%ld rss_after_kb=%ld "
           "per_conn_bytes=%.0f server_cpu_s=%.2f generator_cpu_s=%.2f\n",
           G.n, t1 - t0, before, after,
           before > 0 ? (double)(after - before) * 1024.0 / (double)G.n : -1.0, cpu1 - cpu0,
           own1 - own0);
    conns_free();
    return 0;
}

static bool all_acked(void)
{
    size_t sent = 0, acked = 0;
    for (size_t i = 0; i < G.n; i++) {
        sent += G.c[i].n_sent;
        acked += G.c[i].n_acked;
    }
    return acked == sent && G.delivered == sent * (G.n - 1);
}

/* The k-th update of client i: 8 characters after its previous ones. */
static void send_update(conn *c, size_t i, const char *name, double t)
{
    uint64_t client = CLIENT_BASE + i, clock = (uint64_t)c->n_sent * CHUNK;
    y_enc e = Y_ENC_INIT;
    y_enc_varuint(&e, 1);
    y_enc_varuint(&e, 1);
    y_enc_varuint(&e, client);
    y_enc_varuint(&e, clock);
    if (clock == 0) {
        y_enc_u8(&e, 0x04); /* ContentString, no origins: the parent follows */
        y_enc_varuint(&e, 1);
        y_enc_varstring(&e, "body", 4);
    } else {
        y_enc_u8(&e, 0x84); /* ContentString after its left origin */
        y_enc_varuint(&e, client);
        y_enc_varuint(&e, clock - 1);
    }
    y_enc_varstring(&e, "abcdefg ", CHUNK);
    y_enc_varuint(&e, 0); /* an empty delete set */
    uint8_t *u = NULL;
    size_t ul = 0;
    if (y_enc_finish(&e, &u, &ul))
        die("out of memory");
    if (c->n_sent == c->cap_sent)
        die("more updates than planned");
    dx_buf b = DX_BUF_INIT;
    dx_hp_put_sync(&b, name, strlen(name), DX_HP_SYNC, Y_SYNC_UPDATE, u, ul);
    free(u);
    c->sent[c->n_sent++] = t;
    send_hp(c, &b);
    dx_buf_release(&b);
}

static int mode_fanout(void)
{
    char id[DX_UUID_LEN + 1];
    const char *name = G.doc;
    dx_uuid_v4(id);
    snprintf(G.doc, sizeof G.doc, "body:%s/%s", G.wid, id);
    conns_new(G.clients);
    size_t per_client = G.burst ? G.burst : (size_t)(G.rate * G.seconds) + 2;
    for (size_t i = 0; i < G.n; i++) {
        G.c[i].cap_sent = per_client;
        if (!(G.c[i].sent = calloc(per_client, sizeof(double))))
            die("out of memory");
    }
    /* Connect everyone to the one document, synced, then let the sync's acks pass. */
    if (!open_all(now_s() + 60))
        die("only %zu of %zu clients synced in 60 s", G.synced, G.n);
    double settle = now_s() + 0.5;
    while (now_s() < settle)
        poll_once(0.05);
    G.measuring = true;
    double cpu0 = server_cpu_s(), own0 = own_cpu_s();
    double t0 = now_s(), period = 1.0 / G.rate, end = t0 + G.seconds;
    if (G.burst) {
        for (size_t k = 0; k < G.burst; k++)
            for (size_t i = 0; i < G.n; i++)
                send_update(&G.c[i], i, name, now_s());
        for (size_t i = 0; i < G.n; i++)
            flush(&G.c[i]);
        end = t0;
    } else {
        for (size_t i = 0; i < G.n; i++)
            G.c[i].next_send = t0 + period * (double)i / (double)G.n;
        for (double t = now_s(); t < end; t = now_s()) {
            double next = end;
            for (size_t i = 0; i < G.n; i++) {
                conn *c = &G.c[i];
                if (c->next_send <= t && c->n_sent < c->cap_sent) {
                    send_update(c, i, name, t);
                    flush(c);
                    c->next_send += period;
                }
                if (c->next_send < next)
                    next = c->next_send;
            }
            poll_once(next - now_s());
        }
    }
    bool complete = run_until(all_acked, now_s() + 60);
    double cpu = server_cpu_s() - cpu0, own = own_cpu_s() - own0;
    size_t sent = 0, acked = 0;
    for (size_t i = 0; i < G.n; i++) {
        sent += G.c[i].n_sent;
        acked += G.c[i].n_acked;
    }
    /* The span: from the first send to the last acknowledgement or delivery. */
    double span = G.last_rx - t0;
    if (span < G.seconds && !G.burst)
        span = G.seconds;
    printf("result fanout clients=%zu rate=%.1f burst=%zu seconds=%.2f sent=%zu acked=%zu "
           "delivered=%zu expected=%zu offered_per_s=%.0f updates_per_s=%.0f "
           "deliveries_per_s=%.0f span_s=%.3f",
           G.n, G.burst ? 0.0 : G.rate, G.burst, G.burst ? 0.0 : G.seconds, sent, acked,
           G.delivered, sent * (G.n - 1), G.burst ? 0.0 : (double)G.n * G.rate,
           (double)acked / span, (double)G.delivered / span, span);
    print_pct("deliver", &G.deliver);
    print_pct("ack", &G.ack);
    printf(" server_cpu_s=%.2f server_cpu_us_per_update=%.0f generator_cpu_s=%.2f stray=%zu "
           "complete=%d\n",
           cpu, acked ? cpu * 1e6 / (double)acked : 0.0, own, G.stray, complete);
    conns_free();
    if (!complete)
        fprintf(stderr, "bench_server_load fanout: not everything arrived within 60 s of the "
                        "last send\n");
    return complete ? 0 : 1;
}

static bool open_done(void)
{
    return G.open_expected && G.open_docs == G.open_expected;
}

static int mode_open(void)
{
    if (G.dump && !(G.dumpf = fopen(G.dump, "w")))
        die("cannot write '%s': %s", G.dump, strerror(errno));
    conns_new(1);
    double t0 = now_s(), cpu0 = server_cpu_s();
    conn_start(&G.c[0]);
    if (!run_until(open_done, t0 + 300))
        die("only %zu of %zu documents synced in 300 s", G.open_docs, G.open_expected);
    double t1 = now_s();
    printf("result open documents=%zu synced_s=%.3f bytes_received=%llu server_cpu_s=%.2f\n",
           G.open_docs, t1 - t0, (unsigned long long)G.rx_bytes, server_cpu_s() - cpu0);
    if (G.dumpf && fclose(G.dumpf))
        die("cannot write '%s': %s", G.dump, strerror(errno));
    conns_free();
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        printf("bench_server_load: a load generator that needs a running server; "
               "see scripts/bench-server\n");
        return 0;
    }
    G.mode = argv[1];
    for (int i = 2; i + 1 < argc; i += 2) {
        const char *k = argv[i], *v = argv[i + 1];
        if (!strcmp(k, "--port"))
            G.port = atoi(v);
        else if (!strcmp(k, "--token"))
            G.token = v;
        else if (!strcmp(k, "--workspace"))
            G.wid = v;
        else if (!strcmp(k, "--pid"))
            G.pid = atoi(v);
        else if (!strcmp(k, "--conns"))
            G.conns = (size_t)atol(v);
        else if (!strcmp(k, "--clients"))
            G.clients = (size_t)atol(v);
        else if (!strcmp(k, "--rate"))
            G.rate = atof(v);
        else if (!strcmp(k, "--seconds"))
            G.seconds = atof(v);
        else if (!strcmp(k, "--burst"))
            G.burst = (size_t)atol(v);
        else if (!strcmp(k, "--hold"))
            G.hold = atof(v);
        else if (!strcmp(k, "--dump"))
            G.dump = v;
        else
            die("unknown option '%s' (see the comment at the top of bench_server_load.c)", k);
    }
    if (G.port <= 0 || !G.token || !G.wid || G.conns < 1 || G.clients < 2 || G.rate <= 0)
        die("wants --port, --token, --workspace (and --conns >= 1, --clients >= 2, --rate > 0)");
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    if ((G.ep = epoll_create1(EPOLL_CLOEXEC)) < 0)
        die("epoll_create1: %s", strerror(errno));
    setvbuf(stdout, NULL, _IOLBF, 0);
    int rc;
    if (!strcmp(G.mode, "idle"))
        rc = mode_idle();
    else if (!strcmp(G.mode, "fanout"))
        rc = mode_fanout();
    else if (!strcmp(G.mode, "open"))
        rc = mode_open();
    else
        die("unknown mode (idle, fanout or open)");
    close(G.ep);
    return rc;
}
