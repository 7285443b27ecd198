/* hocuspocus.c - Hocuspocus protocol frames and y-protocols awareness updates: decoding and
 * encoding over lib0 (ylib0.h); no I/O. */
#include "diaryx/hocuspocus.h"

#include <string.h>

#include "ylib0.h"

static const char *const type_names[] = {
    "Sync",  "Awareness",  "Auth", "QueryAwareness", "SyncReply", "Stateless", "BroadcastStateless",
    "Close", "SyncStatus", "Ping", "Pong",
};

/* The rest of a frame as a varString (text) or, for AUTH, the strings after the auth type. */
static int decode_body(y_dec *d, dx_hp_msg *m, dx_error *err)
{
    uint64_t v;
    switch (m->type) {
    case DX_HP_SYNC:
    case DX_HP_SYNC_REPLY:
        v = y_dec_varuint(d);
        if (!d->err && v > Y_SYNC_UPDATE)
            return dx_error_set(err, DX_EPARSE, "unknown sync message kind %llu",
                                (unsigned long long)v);
        m->sync = (y_sync_kind)v;
        m->data = y_dec_varbytes(d, &m->data_len);
        break;
    case DX_HP_AWARENESS:
        m->data = y_dec_varbytes(d, &m->data_len);
        break;
    case DX_HP_AUTH:
        v = y_dec_varuint(d);
        if (!d->err && v > DX_HP_AUTH_OK)
            return dx_error_set(err, DX_EPARSE, "unknown auth message type %llu",
                                (unsigned long long)v);
        m->auth = (dx_hp_auth)v;
        /* A server's token request has no string; a denial or a scope always has one. */
        if (!d->err && (m->auth != DX_HP_AUTH_TOKEN || y_dec_left(d)))
            m->text = y_dec_varstring(d, &m->text_len);
        if (!d->err && m->auth == DX_HP_AUTH_TOKEN && y_dec_left(d))
            m->version = y_dec_varstring(d, &m->version_len);
        break;
    case DX_HP_CLOSE: /* a provider closing its document gives no reason */
        if (y_dec_left(d))
            m->text = y_dec_varstring(d, &m->text_len);
        break;
    case DX_HP_STATELESS:
    case DX_HP_BROADCAST_STATELESS:
        m->text = y_dec_varstring(d, &m->text_len);
        break;
    case DX_HP_SYNC_STATUS:
        m->status = y_dec_varuint(d);
        break;
    case DX_HP_QUERY_AWARENESS:
        break;
    default:
        /* PING and PONG come alone, never after an address. */
        return dx_error_set(err, DX_EPARSE, "a %s message cannot be addressed to a document",
                            type_names[m->type]);
    }
    return d->err ? dx_error_set(err, DX_EPARSE, "truncated or malformed %s message",
                                 type_names[m->type])
                  : 0;
}

int dx_hp_decode(const uint8_t *frame, size_t len, dx_hp_msg *out, dx_error *err)
{
    memset(out, 0, sizeof *out);
    if (len == 1 && (frame[0] == DX_HP_PING || frame[0] == DX_HP_PONG)) {
        out->type = (dx_hp_type)frame[0];
        out->addr = "";
        return 0;
    }
    y_dec d;
    y_dec_init(&d, frame, len);
    out->addr = y_dec_varstring(&d, &out->addr_len);
    uint64_t type = d.err ? 0 : y_dec_varuint(&d);
    if (d.err)
        return dx_error_set(err, DX_EPARSE,
                            "malformed Hocuspocus frame (%zu bytes): no document address and "
                            "message type",
                            len);
    if (type > DX_HP_PONG)
        return dx_error_set(err, DX_EPARSE, "unknown Hocuspocus message type %llu",
                            (unsigned long long)type);
    const char *nul = memchr(out->addr, 0, out->addr_len);
    out->name_len = nul ? (size_t)(nul - out->addr) : out->addr_len;
    out->type = (dx_hp_type)type;
    return decode_body(&d, out, err);
}

/* ---- encoding ---- */

static int finish(dx_buf *out, y_enc *e)
{
    int rc = e->oom || dx_buf_append(out, e->data, e->len) ? DX_ENOMEM : 0;
    y_enc_release(e);
    return rc;
}

static void head(y_enc *e, const char *addr, size_t addr_len, dx_hp_type type)
{
    y_enc_varstring(e, addr, addr_len);
    y_enc_varuint(e, type);
}

int dx_hp_put_sync(dx_buf *out, const char *addr, size_t addr_len, dx_hp_type type,
                   y_sync_kind kind, const uint8_t *data, size_t len)
{
    y_enc e = Y_ENC_INIT;
    head(&e, addr, addr_len, type);
    y_enc_varuint(&e, kind);
    y_enc_varbytes(&e, data, len);
    return finish(out, &e);
}

int dx_hp_put_awareness(dx_buf *out, const char *addr, size_t addr_len, const uint8_t *update,
                        size_t len)
{
    y_enc e = Y_ENC_INIT;
    head(&e, addr, addr_len, DX_HP_AWARENESS);
    y_enc_varbytes(&e, update, len);
    return finish(out, &e);
}

int dx_hp_put_query_awareness(dx_buf *out, const char *addr, size_t addr_len)
{
    y_enc e = Y_ENC_INIT;
    head(&e, addr, addr_len, DX_HP_QUERY_AWARENESS);
    return finish(out, &e);
}

int dx_hp_put_auth(dx_buf *out, const char *addr, size_t addr_len, dx_hp_auth auth,
                   const char *text, const char *version)
{
    y_enc e = Y_ENC_INIT;
    head(&e, addr, addr_len, DX_HP_AUTH);
    y_enc_varuint(&e, auth);
    if (text)
        y_enc_varstring(&e, text, strlen(text));
    if (text && version)
        y_enc_varstring(&e, version, strlen(version));
    return finish(out, &e);
}

int dx_hp_put_text(dx_buf *out, const char *addr, size_t addr_len, dx_hp_type type,
                   const char *text, size_t text_len)
{
    y_enc e = Y_ENC_INIT;
    head(&e, addr, addr_len, type);
    y_enc_varstring(&e, text, text_len);
    return finish(out, &e);
}

int dx_hp_put_status(dx_buf *out, const char *addr, size_t addr_len, bool stored)
{
    y_enc e = Y_ENC_INIT;
    head(&e, addr, addr_len, DX_HP_SYNC_STATUS);
    y_enc_varuint(&e, stored ? 1 : 0);
    return finish(out, &e);
}

int dx_hp_put_ping(dx_buf *out, dx_hp_type ping_or_pong)
{
    return dx_buf_putc(out, ping_or_pong == DX_HP_PONG ? DX_HP_PONG : DX_HP_PING) ? DX_ENOMEM : 0;
}

/* ---- awareness ---- */

int dx_hp_awareness_each(const uint8_t *update, size_t len, dx_hp_peer_fn fn, void *ud,
                         dx_error *err)
{
    y_dec d;
    y_dec_init(&d, update, len);
    uint64_t n = y_dec_varuint(&d);
    for (uint64_t i = 0; !d.err && i < n; i++) {
        dx_hp_peer p;
        p.client = y_dec_varuint(&d);
        p.clock = y_dec_varuint(&d);
        p.state = y_dec_varstring(&d, &p.state_len);
        if (d.err)
            break;
        int rc = fn(ud, &p);
        if (rc)
            return rc;
    }
    return d.err
               ? dx_error_set(err, DX_EPARSE,
                              "malformed awareness update (%zu bytes): truncated client entry", len)
               : 0;
}

int dx_hp_awareness_gone(dx_buf *out, const uint64_t *clients, const uint64_t *clocks, size_t n)
{
    y_enc e = Y_ENC_INIT;
    y_enc_varuint(&e, n);
    for (size_t i = 0; i < n; i++) {
        y_enc_varuint(&e, clients[i]);
        y_enc_varuint(&e, clocks[i]);
        y_enc_varstring(&e, "null", 4);
    }
    return finish(out, &e);
}
