/* httpclient.h - the sync server's JSON HTTP API from the CLI (libcurl): one request, its
 * status and body. The token goes in an Authorization header, never in the URL. */
#ifndef DX_HTTPCLIENT_H
#define DX_HTTPCLIENT_H

#include "diaryx/buf.h"
#include "diaryx/error.h"

#define DX_HTTP_MAX_BODY (16u << 20) /* a longer answer is refused (DX_ELIMIT) */

/* method "GET", "POST", ...; url absolute; token may be NULL (no Authorization); body may be
 * NULL (none) or JSON text. *status receives the HTTP status, the answer is appended to resp.
 * DX_EIO with curl's words when no answer came (server down, bad host), DX_ELIMIT for an
 * answer above DX_HTTP_MAX_BODY; any status is a success of the call. */
int dx_http_request(const char *method, const char *url, const char *token, const char *body,
                    long *status, dx_buf *resp, dx_error *err);

#endif
