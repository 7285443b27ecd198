/* fuzz_server_hub.c - an authenticated connection to the server's sync hub (hub.h) sends
 * arbitrary frames: the input is a sequence of frames, each a 2-byte little-endian length
 * and its bytes (a frame addressed to "D" goes to the subscribed document, so the corpus
 * reaches it without knowing its random name). A second connection subscribed to the same document
 * receives the relays. Nothing crashes or leaks, every frame sent back decodes, and when both
 * connections end nothing stays loaded. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "diaryx/hocuspocus.h"
#include "hub.h"
#include "server_fixture.h"

static server_fixture fx;
static srv_hub *hub;
static char token[64], doc[128];

static void setup(void)
{
    server_fixture_start(&fx, "hub");
    hub = fx.hub;
    snprintf(token, sizeof token, "%s", fx.token);
    snprintf(doc, sizeof doc, "body:%s/0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d", fx.wid);
}

typedef struct peer {
    bool closed;
} peer;

static int on_send(void *ud, const uint8_t *frame, size_t len)
{
    (void)ud;
    dx_hp_msg m;
    if (dx_hp_decode(frame, len, &m, NULL) != 0)
        abort(); /* the hub only sends frames it can read itself */
    return 0;
}

static void on_close(void *ud, int code, const char *reason)
{
    (void)code;
    (void)reason;
    ((peer *)ud)->closed = true;
}

static void subscribe(srv_conn *c)
{
    dx_buf b = DX_BUF_INIT;
    if (dx_hp_put_auth(&b, doc, strlen(doc), DX_HP_AUTH_TOKEN, token, "fuzz"))
        abort();
    srv_conn_receive(c, (const uint8_t *)b.data, b.len);
    dx_buf_release(&b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!hub)
        setup();
    peer pa = {false}, pb = {false};
    srv_transport ta = {on_send, on_close, &pa}, tb = {on_send, on_close, &pb};
    srv_conn *a = srv_conn_new(hub, &ta), *b = srv_conn_new(hub, &tb);
    if (!a || !b)
        abort();
    subscribe(a);
    subscribe(b);
    for (size_t at = 0; at + 2 <= size && !pa.closed;) {
        size_t n = (size_t)data[at] | (size_t)data[at + 1] << 8;
        at += 2;
        if (n > size - at)
            n = size - at;
        if (n >= 2 && data[at] == 1 && data[at + 1] == 'D') {
            dx_buf f = DX_BUF_INIT;
            uint8_t len = (uint8_t)strlen(doc); /* < 128: one varUint byte */
            if (dx_buf_putc(&f, (char)len) || dx_buf_puts(&f, doc) ||
                dx_buf_append(&f, data + at + 2, n - 2))
                abort();
            srv_conn_receive(a, (const uint8_t *)f.data, f.len);
            dx_buf_release(&f);
        } else {
            srv_conn_receive(a, data + at, n);
        }
        at += n;
    }
    srv_conn_free(a);
    srv_conn_free(b);
    srv_hub_stats st;
    srv_hub_stats_get(hub, &st);
    if (st.connections || st.workspaces || st.documents || st.subscriptions)
        abort(); /* something stayed loaded */
    return 0;
}
