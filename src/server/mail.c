/* mail.c - sign-in mails over SMTP with libcurl on a thread of their own (see mail.h). */
#include "mail.h"

#include <curl/curl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "diaryx/clock.h"
#include "diaryx/hash.h"

typedef struct mail_job {
    struct mail_job *next;
    char *to;    /* the envelope recipient */
    dx_buf data; /* the message */
    size_t sent; /* bytes of data read by curl */
} mail_job;

struct srv_mailer {
    char *url, *username, *password, *from, *envelope_from;
    srv_smtp_tls tls;
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t wake;
    mail_job *head, *tail;
    size_t queued;
    bool stopping; /* under lock; read by the progress callback too */
};

static void job_free(mail_job *j)
{
    if (!j)
        return;
    free(j->to);
    dx_buf_release(&j->data);
    free(j);
}

void srv_mail_format(const char *from, const char *to, const char *subject, const char *text,
                     int64_t now_ms, dx_buf *out)
{
    char date[64], id[DX_SHA256_HEX];
    time_t t = (time_t)(now_ms / 1000);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(date, sizeof date, "%a, %d %b %Y %H:%M:%S +0000", &tm);
    if (dx_sha256_hex(NULL, text, strlen(text), id))
        snprintf(id, sizeof id, "%lld", (long long)now_ms);
    const char *at = strrchr(from, '@');
    size_t dl = at ? strcspn(at + 1, ">") : 0;
    dx_buf_printf(out,
                  "Date: %s\r\nFrom: %s\r\nTo: <%s>\r\nSubject: %s\r\n"
                  "Message-ID: <%lld.%.16s@%.*s>\r\nMIME-Version: 1.0\r\n"
                  "Content-Type: text/plain; charset=utf-8\r\n"
                  "Content-Transfer-Encoding: 8bit\r\n\r\n",
                  date, from, to, subject, (long long)now_ms, id, dl ? (int)dl : 6,
                  dl ? at + 1 : "diaryx");
    /* Lines end in CRLF on the wire; curl dot-stuffs them. */
    for (const char *p = text; *p; p++) {
        if (*p == '\n' && (p == text || p[-1] != '\r'))
            dx_buf_putc(out, '\r');
        dx_buf_putc(out, *p);
    }
    if (!out->len || out->data[out->len - 1] != '\n')
        dx_buf_puts(out, "\r\n");
}

static size_t read_cb(char *buf, size_t size, size_t n, void *ud)
{
    mail_job *j = ud;
    size_t left = j->data.len - j->sent, take = size * n < left ? size * n : left;
    memcpy(buf, j->data.data + j->sent, take);
    j->sent += take;
    return take;
}

static int progress_cb(void *ud, curl_off_t a, curl_off_t b, curl_off_t c, curl_off_t d)
{
    (void)a, (void)b, (void)c, (void)d;
    srv_mailer *m = ud;
    pthread_mutex_lock(&m->lock);
    bool stop = m->stopping;
    pthread_mutex_unlock(&m->lock);
    return stop ? 1 : 0; /* nonzero aborts the transfer */
}

static void send_one(srv_mailer *m, mail_job *j)
{
    CURL *c = curl_easy_init();
    struct curl_slist *rcpt = NULL;
    char rcpt_addr[300], errbuf[CURL_ERROR_SIZE] = "";
    snprintf(rcpt_addr, sizeof rcpt_addr, "<%s>", j->to);
    struct curl_slist *r = curl_slist_append(NULL, rcpt_addr);
    CURLcode cc = c && r ? CURLE_OK : CURLE_OUT_OF_MEMORY;
    rcpt = r;
    if (!cc) {
        curl_easy_setopt(c, CURLOPT_URL, m->url);
        curl_easy_setopt(c, CURLOPT_MAIL_FROM, m->envelope_from);
        curl_easy_setopt(c, CURLOPT_MAIL_RCPT, rcpt);
        curl_easy_setopt(c, CURLOPT_READFUNCTION, read_cb);
        curl_easy_setopt(c, CURLOPT_READDATA, j);
        curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
        curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
        curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 10L);
        curl_easy_setopt(c, CURLOPT_TIMEOUT, 60L);
        curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
        curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
        curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, progress_cb);
        curl_easy_setopt(c, CURLOPT_XFERINFODATA, m);
        if (m->tls == SRV_SMTP_STARTTLS)
            curl_easy_setopt(c, CURLOPT_USE_SSL, (long)CURLUSESSL_ALL);
        if (m->username) {
            curl_easy_setopt(c, CURLOPT_USERNAME, m->username);
            curl_easy_setopt(c, CURLOPT_PASSWORD, m->password ? m->password : "");
        }
        cc = curl_easy_perform(c);
    }
    if (cc)
        fprintf(stderr, "diaryx-server: cannot mail the sign-in link to %s through %s: %s\n", j->to,
                m->url, errbuf[0] ? errbuf : curl_easy_strerror(cc));
    else
        fprintf(stderr, "diaryx-server: mailed a sign-in link to %s\n", j->to);
    curl_slist_free_all(rcpt);
    curl_easy_cleanup(c);
}

static void *run(void *ud)
{
    srv_mailer *m = ud;
    pthread_mutex_lock(&m->lock);
    while (!m->stopping) {
        mail_job *j = m->head;
        if (!j) {
            pthread_cond_wait(&m->wake, &m->lock);
            continue;
        }
        m->head = j->next;
        if (!m->head)
            m->tail = NULL;
        m->queued--;
        pthread_mutex_unlock(&m->lock);
        send_one(m, j);
        job_free(j);
        pthread_mutex_lock(&m->lock);
    }
    pthread_mutex_unlock(&m->lock);
    return NULL;
}

static void mailer_free(srv_mailer *m)
{
    free(m->url);
    free(m->envelope_from);
    free(m->username);
    free(m->password);
    free(m->from);
    free(m);
}

static char *dup_or_null(const char *s, bool *oom)
{
    char *d = s ? strdup(s) : NULL;
    if (s && !d)
        *oom = true;
    return d;
}

int srv_mailer_start(const srv_smtp *cfg, srv_mailer **out, dx_error *err)
{
    if (!cfg->host || !*cfg->host || !cfg->from || !*cfg->from)
        return dx_error_set(err, DX_EINVAL, "[smtp] needs host and from");
    srv_mailer *m = calloc(1, sizeof *m);
    if (!m)
        return dx_error_set(err, DX_ENOMEM, "out of memory");
    long port = cfg->port                       ? cfg->port
                : cfg->tls == SRV_SMTP_IMPLICIT ? 465
                : cfg->tls == SRV_SMTP_STARTTLS ? 587
                                                : 25;
    dx_buf url = DX_BUF_INIT, env = DX_BUF_INIT;
    dx_buf_printf(&url, "%s://%s:%ld", cfg->tls == SRV_SMTP_IMPLICIT ? "smtps" : "smtp", cfg->host,
                  port);
    /* The envelope sender is the address alone: the part in <> of "Name <address>". */
    const char *lt = strchr(cfg->from, '<'), *gt = lt ? strchr(lt, '>') : NULL;
    if (lt && gt)
        dx_buf_append(&env, lt, (size_t)(gt - lt) + 1);
    else
        dx_buf_printf(&env, "<%s>", cfg->from);
    bool oom = dx_buf_error(&url) || dx_buf_error(&env);
    m->url = dx_buf_detach(&url, NULL);
    m->envelope_from = dx_buf_detach(&env, NULL);
    m->username = dup_or_null(cfg->username, &oom);
    m->password = dup_or_null(cfg->password, &oom);
    m->from = dup_or_null(cfg->from, &oom);
    m->tls = cfg->tls;
    if (oom || !m->url || !m->envelope_from) {
        mailer_free(m);
        return dx_error_set(err, DX_ENOMEM, "out of memory");
    }
    curl_global_init(CURL_GLOBAL_DEFAULT);
    pthread_mutex_init(&m->lock, NULL);
    pthread_cond_init(&m->wake, NULL);
    if (pthread_create(&m->thread, NULL, run, m) != 0) {
        m->stopping = true; /* no thread to join */
        srv_mailer_stop(m);
        return dx_error_set(err, DX_EIO, "cannot start the mail thread");
    }
    *out = m;
    return 0;
}

int srv_mailer_send(srv_mailer *m, const char *to, const char *subject, const char *text,
                    dx_error *err)
{
    mail_job *j = calloc(1, sizeof *j);
    if (!j || !(j->to = strdup(to))) {
        job_free(j);
        return dx_error_set(err, DX_ENOMEM, "out of memory");
    }
    srv_mail_format(m->from, to, subject, text, dx_now_ms(), &j->data);
    if (dx_buf_error(&j->data)) {
        job_free(j);
        return dx_error_set(err, DX_ENOMEM, "out of memory");
    }
    pthread_mutex_lock(&m->lock);
    bool full = m->queued >= SRV_MAIL_QUEUE;
    if (!full) {
        if (m->tail)
            m->tail->next = j;
        else
            m->head = j;
        m->tail = j;
        m->queued++;
        pthread_cond_signal(&m->wake);
    }
    pthread_mutex_unlock(&m->lock);
    if (full) {
        job_free(j);
        return dx_error_set(err, DX_ELIMIT, "%d mails are waiting to be sent; try again later",
                            SRV_MAIL_QUEUE);
    }
    return 0;
}

void srv_mailer_stop(srv_mailer *m)
{
    if (!m)
        return;
    pthread_mutex_lock(&m->lock);
    bool joinable = !m->stopping;
    m->stopping = true;
    pthread_cond_broadcast(&m->wake);
    pthread_mutex_unlock(&m->lock);
    if (joinable)
        pthread_join(m->thread, NULL);
    if (m->queued)
        fprintf(stderr, "diaryx-server: %zu sign-in mails were not sent (stopping)\n", m->queued);
    while (m->head) {
        mail_job *n = m->head->next;
        job_free(m->head);
        m->head = n;
    }
    pthread_cond_destroy(&m->wake);
    pthread_mutex_destroy(&m->lock);
    mailer_free(m);
    curl_global_cleanup();
}
