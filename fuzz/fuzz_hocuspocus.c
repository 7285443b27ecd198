/* fuzz_hocuspocus.c - decode arbitrary bytes as a Hocuspocus frame (what a websocket client
 * sends the server); a frame that decodes must encode back to a frame that decodes to the
 * same message, and an awareness message's update is walked to its end. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "diaryx/hocuspocus.h"

static int count(void *ud, const dx_hp_peer *p)
{
    (void)p;
    ++*(size_t *)ud;
    return 0;
}

static int encode(dx_buf *b, const dx_hp_msg *m)
{
    char text[4096], version[256];
    switch (m->type) {
    case DX_HP_SYNC:
    case DX_HP_SYNC_REPLY:
        return dx_hp_put_sync(b, m->addr, m->addr_len, m->type, m->sync, m->data, m->data_len);
    case DX_HP_AWARENESS:
        return dx_hp_put_awareness(b, m->addr, m->addr_len, m->data, m->data_len);
    case DX_HP_QUERY_AWARENESS:
        return dx_hp_put_query_awareness(b, m->addr, m->addr_len);
    case DX_HP_AUTH:
        /* The encoder takes C strings: skip texts holding a NUL or too long to copy. */
        if ((m->text && (m->text_len >= sizeof text || memchr(m->text, 0, m->text_len))) ||
            (m->version &&
             (m->version_len >= sizeof version || memchr(m->version, 0, m->version_len))))
            return -1;
        if (m->text)
            snprintf(text, sizeof text, "%.*s", (int)m->text_len, m->text);
        if (m->version)
            snprintf(version, sizeof version, "%.*s", (int)m->version_len, m->version);
        return dx_hp_put_auth(b, m->addr, m->addr_len, m->auth, m->text ? text : NULL,
                              m->version ? version : NULL);
    case DX_HP_CLOSE:
        if (!m->text)
            return -1; /* a bare close has no encoder of its own */
        /* fall through */
    case DX_HP_STATELESS:
    case DX_HP_BROADCAST_STATELESS:
        return dx_hp_put_text(b, m->addr, m->addr_len, m->type, m->text, m->text_len);
    case DX_HP_SYNC_STATUS:
        return m->status > 1 ? -1 : dx_hp_put_status(b, m->addr, m->addr_len, m->status == 1);
    case DX_HP_PING:
    case DX_HP_PONG:
        return dx_hp_put_ping(b, m->type);
    }
    return -1;
}

static int same_bytes(const void *a, size_t al, const void *b, size_t bl)
{
    return al == bl && (al == 0 || memcmp(a, b, al) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    dx_hp_msg m, back;
    dx_error err = DX_ERROR_INIT;
    if (dx_hp_decode(data, size, &m, &err) != 0) {
        if (err.msg[0] == 0)
            abort(); /* every refusal explains itself */
        return 0;
    }
    if (m.name_len > m.addr_len)
        abort();
    if (m.type == DX_HP_AWARENESS) {
        size_t n = 0;
        dx_error e = DX_ERROR_INIT;
        if (dx_hp_awareness_each(m.data, m.data_len, count, &n, &e) != 0 && e.msg[0] == 0)
            abort();
    }
    dx_buf b = DX_BUF_INIT;
    int rc = encode(&b, &m);
    if (rc == 0) {
        if (dx_hp_decode((const uint8_t *)dx_buf_cstr(&b), b.len, &back, &err) != 0)
            abort();
        if (back.type != m.type || !same_bytes(back.addr, back.addr_len, m.addr, m.addr_len) ||
            !same_bytes(back.data, back.data_len, m.data, m.data_len) ||
            !same_bytes(back.text, back.text_len, m.text, m.text_len) ||
            !same_bytes(back.version, back.version_len, m.version, m.version_len) ||
            back.sync != m.sync || back.auth != m.auth || back.status != m.status)
            abort();
    } else if (rc != -1) {
        abort(); /* out of memory is not expected here */
    }
    dx_buf_release(&b);
    return 0;
}
