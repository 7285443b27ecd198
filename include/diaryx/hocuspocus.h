/* hocuspocus.h - the messages of the Hocuspocus protocol (what @hocuspocus/provider and
 * @hocuspocus/server exchange over one websocket), decoded and encoded; no I/O, no state.
 * The sync server and the CLI's sync client share it.
 *
 * A frame is the document address as a lib0 varString (the document name, or
 * "name\0sessionId" for a provider that shares its socket among several providers of one
 * document; replies use the same address), a varUint message type, and a body by type:
 *   SYNC, SYNC_REPLY   a y-protocols sync message: varUint kind (0 step 1, 1 step 2,
 *                      2 update) + varUint8Array payload (a state vector or an update)
 *   AWARENESS          varUint8Array: a y-protocols awareness update (dx_hp_awareness_*)
 *   AUTH               varUint auth type + varString: TOKEN (client: the token, then
 *                      optionally the provider's version as a second varString; server: no
 *                      string, "send your token again"), PERMISSION_DENIED (reason),
 *                      AUTHENTICATED (scope "readonly" or "read-write")
 *   QUERY_AWARENESS    nothing
 *   STATELESS, BROADCAST_STATELESS   varString payload
 *   CLOSE              varString reason (absent when a provider closes its document)
 *   SYNC_STATUS        varUint: 1 the update was stored, 0 refused
 * and, on their own, the one-byte frames PING (09, sent by the server) and PONG (0A): no
 * address (a varString address takes at least one byte and a type another).
 * Anything after the body is ignored, as the JavaScript decoders do. */
#ifndef DX_HOCUSPOCUS_H
#define DX_HOCUSPOCUS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "diaryx/buf.h"
#include "diaryx/error.h"
#include "ycrdt.h"

typedef enum dx_hp_type {
    DX_HP_SYNC = 0,
    DX_HP_AWARENESS = 1,
    DX_HP_AUTH = 2,
    DX_HP_QUERY_AWARENESS = 3,
    DX_HP_SYNC_REPLY = 4,
    DX_HP_STATELESS = 5,
    DX_HP_BROADCAST_STATELESS = 6,
    DX_HP_CLOSE = 7,
    DX_HP_SYNC_STATUS = 8,
    DX_HP_PING = 9,
    DX_HP_PONG = 10,
} dx_hp_type;

typedef enum dx_hp_auth {
    DX_HP_AUTH_TOKEN = 0,
    DX_HP_AUTH_DENIED = 1,
    DX_HP_AUTH_OK = 2,
} dx_hp_auth;

/* Close codes of the protocol (websocket close frames). */
#define DX_HP_CLOSE_TOO_BIG      1009
#define DX_HP_CLOSE_RESET        4205
#define DX_HP_CLOSE_UNAUTHORIZED 4401
#define DX_HP_CLOSE_FORBIDDEN    4403
#define DX_HP_CLOSE_TIMEOUT      4408

/* A decoded frame. Every pointer is borrowed from the frame; strings are not NUL-terminated
 * (an address holds a NUL between name and session id). */
typedef struct dx_hp_msg {
    dx_hp_type type;
    const char *addr; /* empty for PING and PONG */
    size_t addr_len;
    size_t name_len; /* the document name: addr up to the first NUL */
    /* SYNC, SYNC_REPLY: the sync kind and its payload; AWARENESS: the awareness update */
    y_sync_kind sync;
    const uint8_t *data;
    size_t data_len;
    /* AUTH: its type; the token, reason or scope (text NULL: none, a TOKEN request); the
     * provider version of a client's TOKEN (NULL: none). STATELESS, BROADCAST_STATELESS:
     * the payload; CLOSE: the reason (NULL: none). */
    dx_hp_auth auth;
    const char *text;
    size_t text_len;
    const char *version;
    size_t version_len;
    uint64_t status; /* SYNC_STATUS */
} dx_hp_msg;

/* Decode one frame (a websocket binary message). DX_EPARSE with a message saying what is
 * wrong for a truncated or malformed frame, an unknown type or sync kind, or text that is
 * not UTF-8. */
int dx_hp_decode(const uint8_t *frame, size_t len, dx_hp_msg *out, dx_error *err);

/* Encoders: each appends one whole frame to out (which it does not reset) and returns 0 or
 * DX_ENOMEM. addr is addr_len bytes (it may hold a NUL). */
int dx_hp_put_sync(dx_buf *out, const char *addr, size_t addr_len, dx_hp_type type,
                   y_sync_kind kind, const uint8_t *data, size_t len);
int dx_hp_put_awareness(dx_buf *out, const char *addr, size_t addr_len, const uint8_t *update,
                        size_t len);
int dx_hp_put_query_awareness(dx_buf *out, const char *addr, size_t addr_len);
/* AUTH: text NULL writes a TOKEN request with no string; version (may be NULL) follows a
 * client's token. */
int dx_hp_put_auth(dx_buf *out, const char *addr, size_t addr_len, dx_hp_auth auth,
                   const char *text, const char *version);
/* STATELESS, BROADCAST_STATELESS or CLOSE with its string. */
int dx_hp_put_text(dx_buf *out, const char *addr, size_t addr_len, dx_hp_type type,
                   const char *text, size_t text_len);
int dx_hp_put_status(dx_buf *out, const char *addr, size_t addr_len, bool stored);
/* The one-byte PING or PONG frame. */
int dx_hp_put_ping(dx_buf *out, dx_hp_type ping_or_pong);

/* ---- awareness updates (y-protocols): varUint count, then per client varUint id,
 * varUint clock, varString state (JSON text; "null" when the client left) ---- */

typedef struct dx_hp_peer {
    uint64_t client;
    uint64_t clock;
    const char *state; /* borrowed, not NUL-terminated */
    size_t state_len;
} dx_hp_peer;

/* Call fn for each client of an awareness update, in order; a nonzero return from fn stops
 * the walk and is returned. DX_EPARSE for a malformed update (fn may have seen the clients
 * before the damage). */
typedef int (*dx_hp_peer_fn)(void *ud, const dx_hp_peer *p);
int dx_hp_awareness_each(const uint8_t *update, size_t len, dx_hp_peer_fn fn, void *ud,
                         dx_error *err);
/* An awareness update saying that the n clients left (state null), each with the clock it
 * leaves with (one more than its last): what a server sends the others when a connection
 * closes. */
int dx_hp_awareness_gone(dx_buf *out, const uint64_t *clients, const uint64_t *clocks, size_t n);

#endif
