/* wsclient.h - one websocket client connection (libwebsockets), binary messages only: the
 * transport of the CLI's sync client. Not thread-safe; one connection per context.
 *
 * dx_ws_open starts connecting; dx_ws_service runs the event loop for up to timeout_ms and
 * calls on_message for every whole message received. Frames given to dx_ws_send are queued
 * and written as the socket allows. A connection that fails or closes reports it through
 * dx_ws_state (with the close code and reason the server gave). */
#ifndef DX_WSCLIENT_H
#define DX_WSCLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "diaryx/error.h"

#define DX_WS_MAX_MESSAGE (64u << 20) /* a larger message closes the connection (1009) */

typedef enum dx_ws_state {
    DX_WS_CONNECTING,
    DX_WS_OPEN,
    DX_WS_CLOSED, /* closed or failed: see dx_ws_close_info */
} dx_ws_state;

typedef struct dx_ws dx_ws;

/* Called for each whole message; nonzero closes the connection (code 1002 for DX_EPARSE,
 * else 1011). */
typedef int (*dx_ws_message_fn)(void *ud, const uint8_t *data, size_t len);

/* Connect to url (ws://host[:port]/path; wss:// is refused with DX_EUNSUPPORTED: put a TLS
 * proxy's plain port or a local tunnel in front). DX_EINVAL for a URL that does not parse. */
int dx_ws_open(const char *url, dx_ws_message_fn on_message, void *ud, dx_ws **out, dx_error *err);
/* Close (when open) and free. Accepts NULL. */
void dx_ws_free(dx_ws *ws);

/* Queue a binary message (copied). DX_ENOMEM, or DX_EIO when the connection is closed. */
int dx_ws_send(dx_ws *ws, const uint8_t *data, size_t len);
/* Bytes queued and not yet written. */
size_t dx_ws_queued(const dx_ws *ws);
/* Run the loop once, waiting at most timeout_ms for something to happen. */
void dx_ws_service(dx_ws *ws, int timeout_ms);
/* Ask for the connection to close with code (1000: normal) after the queue is written. */
void dx_ws_close(dx_ws *ws, int code);

dx_ws_state dx_ws_get_state(const dx_ws *ws);
/* The close code the server sent (0: none, e.g. the connection failed or dropped) and its
 * reason or the connection error (borrowed, never NULL). */
int dx_ws_close_code(const dx_ws *ws);
const char *dx_ws_close_reason(const dx_ws *ws);

#endif
