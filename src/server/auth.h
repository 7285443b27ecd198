/* auth.h - sign-in by magic link, and the /auth routes of the HTTP API (api.h hands them in):
 *
 *   POST   /auth/magic-link {email}   200: a link `<public url>/?token=...` valid link_ms is
 *                                     mailed (mailer set) or written to the log (no mailer;
 *                                     then, on a loopback server only and to a request not
 *                                     forwarded by a proxy, also returned as "link"). The same
 * answer whether the address has an account or not: the account is made when the link is used. 400
 * for a bad address; the fourth link for one address within an hour is 429 with Retry-After; a full
 *                                     mail queue is 503 with Retry-After.
 *   GET    /auth/verify?token=&device_name=   {token, user: {email, plan}, device: {id, name}}:
 *                                     a session token bound to a new device, valid
 *                                     session_ms; 401 naming why for a link that is unknown,
 *                                     used already or expired.
 *   GET    /auth/me                   {user: {email, plan}, device, expires_at, read_only}
 *   POST   /auth/logout               204: the token of the request is revoked (a session's
 *                                     device with it)
 *   GET    /auth/devices              the caller's signed-in devices [{id, name, created_at,
 *                                     current}]
 *   DELETE /auth/devices/{id}         204: the device's sessions are revoked; another user's
 *                                     device is 404, as one that does not exist
 * The last four want `Authorization: Bearer <token>` (a session or an API token). */
#ifndef DX_SERVER_AUTH_H
#define DX_SERVER_AUTH_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "api.h"
#include "mail.h"

#define SRV_AUTH_LINKS_PER_HOUR 3
#define SRV_DEVICE_NAME_MAX     100

typedef struct srv_auth {
    const char *public_url; /* where links point: <public_url>/?token=... (no trailing /) */
    int64_t link_ms;        /* how long a sign-in link is valid */
    int64_t session_ms;     /* how long a session is valid */
    bool loopback;          /* the server listens on a loopback address only */
    srv_mailer *mailer;     /* NULL: no [smtp]; links go to the log */
    FILE *log;              /* the server log (NULL: stderr) */
} srv_auth;

#define SRV_AUTH_INIT                                                                              \
    {                                                                                              \
        .public_url = "http://127.0.0.1:3030", .link_ms = 15 * 60 * 1000LL,                        \
        .session_ms = 30 * 86400 * 1000LL, .loopback = true, .mailer = NULL, .log = NULL           \
    }

/* Answer a request under /auth/ into out. */
void srv_auth_handle(const srv_api *api, const srv_request *req, srv_response *out);

/* Check an email address and lower-case it into out: surrounding spaces are dropped; one @
 * with something on both sides, at most SRV_EMAIL_MAX bytes of printable ASCII without
 * spaces, quotes, brackets, commas, semicolons or backslashes (nothing that could end a
 * mail header or an SMTP command). DX_EINVAL naming the input otherwise. */
int srv_auth_email(const char *in, char out[SRV_EMAIL_MAX + 1], dx_error *err);

#endif
