/* mail.h - the server's outgoing mail (sign-in links) over SMTP with libcurl, sent by a thread
 * of its own so that a slow or unreachable mail server never holds up the event loop.
 *
 * srv_mailer_start copies the settings and starts the thread; srv_mailer_send queues a message
 * (at most SRV_MAIL_QUEUE waiting) and returns at once; the thread sends them in order and
 * writes a line to the log (stderr) for each, sent or failed, without the message text (a
 * sign-in link is a credential). srv_mailer_stop aborts the message in flight, drops the
 * others (saying how many) and joins the thread. */
#ifndef DX_SERVER_MAIL_H
#define DX_SERVER_MAIL_H

#include <stdint.h>

#include "diaryx/buf.h"
#include "diaryx/error.h"

#define SRV_MAIL_QUEUE 64

typedef enum srv_smtp_tls {
    SRV_SMTP_STARTTLS, /* plain connection upgraded with STARTTLS, which must succeed */
    SRV_SMTP_IMPLICIT, /* TLS from the first byte (smtps, usually port 465) */
    SRV_SMTP_NONE,     /* no TLS at all (a relay on the same machine, tests) */
} srv_smtp_tls;

/* The [smtp] settings. port 0: 587, 465 or 25 by tls. username NULL: no AUTH. */
typedef struct srv_smtp {
    const char *host;
    long port;
    const char *username, *password;
    const char *from; /* "name <address>" or "address" */
    srv_smtp_tls tls;
} srv_smtp;

typedef struct srv_mailer srv_mailer;

/* Start a mailer for cfg (its strings are copied). DX_EINVAL without host or from. */
int srv_mailer_start(const srv_smtp *cfg, srv_mailer **out, dx_error *err);
/* Queue a text/plain message to the address to. DX_ELIMIT when SRV_MAIL_QUEUE are waiting. */
int srv_mailer_send(srv_mailer *m, const char *to, const char *subject, const char *text,
                    dx_error *err);
/* Stop the thread (see above) and free m. Accepts NULL. */
void srv_mailer_stop(srv_mailer *m);

/* The message as SMTP carries it (headers, a blank line, the text; CRLF line ends) appended
 * to out: Date (of now_ms), From, To, Subject, Message-ID, MIME-Version and a UTF-8
 * text/plain Content-Type. Pure: check dx_buf_error(out) after. */
void srv_mail_format(const char *from, const char *to, const char *subject, const char *text,
                     int64_t now_ms, dx_buf *out);

#endif
