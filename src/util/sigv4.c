/* sigv4.c - AWS Signature Version 4 (see sigv4.h); pure, over hash.h. */
#include "diaryx/sigv4.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define HMAC_BLOCK 64

int dx_hmac_sha256(dx_hash *h, const void *key, size_t key_len, const void *data, size_t len,
                   unsigned char out[DX_SHA256_LEN])
{
    dx_hash own = DX_HASH_INIT;
    dx_hash *hh = h ? h : &own;
    unsigned char k[HMAC_BLOCK] = {0}, pad[HMAC_BLOCK], inner[DX_SHA256_LEN];
    int rc = 0;
    if (key_len > HMAC_BLOCK)
        rc = dx_sha256(hh, key, key_len, k);
    else if (key_len)
        memcpy(k, key, key_len);
    for (size_t i = 0; i < HMAC_BLOCK; i++)
        pad[i] = k[i] ^ 0x36;
    if (!rc)
        rc = dx_hash_begin(hh, DX_HASH_SHA256);
    if (!rc)
        rc = dx_hash_update(hh, pad, HMAC_BLOCK);
    if (!rc)
        rc = dx_hash_update(hh, data, len);
    if (!rc)
        rc = dx_hash_final(hh, inner);
    for (size_t i = 0; i < HMAC_BLOCK; i++)
        pad[i] = k[i] ^ 0x5c;
    if (!rc)
        rc = dx_hash_begin(hh, DX_HASH_SHA256);
    if (!rc)
        rc = dx_hash_update(hh, pad, HMAC_BLOCK);
    if (!rc)
        rc = dx_hash_update(hh, inner, sizeof inner);
    if (!rc)
        rc = dx_hash_final(hh, out);
    dx_hash_release(&own);
    return rc;
}

void dx_sigv4_date(int64_t t, char out[17])
{
    time_t tt = (time_t)t;
    struct tm tm;
    gmtime_r(&tt, &tm);
    strftime(out, 17, "%Y%m%dT%H%M%SZ", &tm);
}

int dx_sigv4_uri_encode(const char *s, int keep_slash, dx_buf *out)
{
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (isalnum(*p) || *p == '-' || *p == '_' || *p == '.' || *p == '~' ||
            (keep_slash && *p == '/'))
            dx_buf_putc(out, (char)*p);
        else
            dx_buf_printf(out, "%%%02X", *p);
    }
    return dx_buf_error(out);
}

static int valid_date(const char *d)
{
    if (!d || strlen(d) != 16 || d[8] != 'T' || d[15] != 'Z')
        return 0;
    for (int i = 0; i < 15; i++)
        if (i != 8 && !isdigit((unsigned char)d[i]))
            return 0;
    return 1;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The query's pairs, each "name=value" (a bare name gets '='), sorted, joined by '&'. Sorting
 * whole pairs orders by name first, as '=' sorts below every character a name may hold
 * after encoding. */
static int canonical_query(const char *q, dx_buf *out)
{
    char *copy = NULL, **pairs = NULL;
    size_t n = 0, cap = 0;
    int rc = 0;
    if (!q || !*q)
        return 0;
    if (!(copy = strdup(q)))
        return DX_ENOMEM;
    for (char *save = NULL, *p = strtok_r(copy, "&", &save); p; p = strtok_r(NULL, "&", &save)) {
        if (n == cap) {
            char **np = realloc(pairs, (cap = cap ? 2 * cap : 8) * sizeof *np);
            if (!np) {
                rc = DX_ENOMEM;
                goto done;
            }
            pairs = np;
        }
        pairs[n++] = p;
    }
    qsort(pairs, n, sizeof *pairs, cmp_str);
    for (size_t i = 0; i < n; i++)
        dx_buf_printf(out, "%s%s%s", i ? "&" : "", pairs[i], strchr(pairs[i], '=') ? "" : "=");
    rc = dx_buf_error(out);
done:
    free(pairs);
    free(copy);
    return rc;
}

typedef struct hdr {
    char name[64];
    const char *value;
} hdr;

static int cmp_hdr(const void *a, const void *b)
{
    return strcmp(((const hdr *)a)->name, ((const hdr *)b)->name);
}

/* Value trimmed of leading and trailing blanks, inner runs of blanks as one space. */
static void put_trimmed(dx_buf *b, const char *v)
{
    while (*v == ' ' || *v == '\t')
        v++;
    int space = 0;
    for (; *v; v++) {
        if (*v == ' ' || *v == '\t') {
            space = 1;
            continue;
        }
        if (space)
            dx_buf_putc(b, ' ');
        space = 0;
        dx_buf_putc(b, *v);
    }
}

/* The signing key's chain and the signature of string_to_sign, as hex. */
static int sign(const dx_sigv4_creds *c, const char *date8, const dx_buf *sts,
                char sig[DX_SHA256_HEX])
{
    dx_hash h = DX_HASH_INIT;
    dx_buf k = DX_BUF_INIT;
    unsigned char a[DX_SHA256_LEN], b[DX_SHA256_LEN];
    int rc = dx_buf_printf(&k, "AWS4%s", c->secret_key) ? DX_ENOMEM : 0;
    if (!rc)
        rc = dx_hmac_sha256(&h, k.data, k.len, date8, 8, a);
    if (!rc)
        rc = dx_hmac_sha256(&h, a, sizeof a, c->region, strlen(c->region), b);
    if (!rc)
        rc = dx_hmac_sha256(&h, b, sizeof b, c->service, strlen(c->service), a);
    if (!rc)
        rc = dx_hmac_sha256(&h, a, sizeof a, "aws4_request", 12, b);
    if (!rc)
        rc = dx_hmac_sha256(&h, b, sizeof b, sts->data, sts->len, a);
    if (!rc)
        dx_hash_hex(a, sizeof a, sig);
    if (k.data)
        memset(k.data, 0, k.len);
    dx_buf_release(&k);
    dx_hash_release(&h);
    return rc;
}

/* Canonical request, string to sign and signature; signed_headers receives the list. */
static int sign_request(const dx_sigv4_creds *c, const dx_sigv4_request *r, dx_buf *signed_hdrs,
                        char sig[DX_SHA256_HEX], dx_buf *canonical, dx_error *err)
{
    hdr hs[DX_SIGV4_MAX_HEADERS];
    dx_buf cr = DX_BUF_INIT, sts = DX_BUF_INIT;
    char crh[DX_SHA256_HEX];
    int rc = 0;
    if (!valid_date(r->amz_date))
        return dx_error_set(err, DX_EINVAL, "x-amz-date '%s' is not YYYYMMDDTHHMMSSZ",
                            r->amz_date ? r->amz_date : "(null)");
    if (r->n_headers > DX_SIGV4_MAX_HEADERS)
        return dx_error_set(err, DX_EINVAL, "%zu headers to sign: at most %d", r->n_headers,
                            DX_SIGV4_MAX_HEADERS);
    for (size_t i = 0; i < r->n_headers; i++) {
        const char *n = r->headers[i].name;
        size_t len = strlen(n);
        if (!len || len >= sizeof hs[i].name || strpbrk(n, ":\r\n ") ||
            strpbrk(r->headers[i].value, "\r\n"))
            return dx_error_set(err, DX_EINVAL, "cannot sign header '%s'", n);
        for (size_t j = 0; j <= len; j++)
            hs[i].name[j] = (char)tolower((unsigned char)n[j]);
        hs[i].value = r->headers[i].value;
    }
    qsort(hs, r->n_headers, sizeof *hs, cmp_hdr);
    dx_buf_printf(&cr, "%s\n%s\n", r->method, r->path);
    if ((rc = canonical_query(r->query, &cr)))
        goto done;
    dx_buf_putc(&cr, '\n');
    for (size_t i = 0; i < r->n_headers; i++) {
        dx_buf_printf(&cr, "%s:", hs[i].name);
        put_trimmed(&cr, hs[i].value);
        dx_buf_putc(&cr, '\n');
        dx_buf_printf(signed_hdrs, "%s%s", i ? ";" : "", hs[i].name);
    }
    dx_buf_printf(&cr, "\n%s\n%s", signed_hdrs->data ? signed_hdrs->data : "", r->payload_hash);
    if ((rc = dx_buf_error(&cr) || dx_buf_error(signed_hdrs) ? DX_ENOMEM : 0))
        goto done;
    if ((rc = dx_sha256_hex(NULL, cr.data, cr.len, crh)))
        goto done;
    dx_buf_printf(&sts, "AWS4-HMAC-SHA256\n%s\n%.8s/%s/%s/aws4_request\n%s", r->amz_date,
                  r->amz_date, c->region, c->service, crh);
    if ((rc = dx_buf_error(&sts) ? DX_ENOMEM : 0))
        goto done;
    rc = sign(c, r->amz_date, &sts, sig);
    if (!rc && canonical && (dx_buf_append(canonical, cr.data, cr.len)))
        rc = DX_ENOMEM;
done:
    dx_buf_release(&cr);
    dx_buf_release(&sts);
    if (rc == DX_ENOMEM)
        dx_error_set(err, rc, "out of memory signing %s %s", r->method, r->path);
    return rc;
}

int dx_sigv4_authorization(const dx_sigv4_creds *c, const dx_sigv4_request *r, dx_buf *auth,
                           char signature[DX_SHA256_HEX], dx_buf *canonical, dx_error *err)
{
    dx_buf sh = DX_BUF_INIT;
    char sig[DX_SHA256_HEX];
    int rc = sign_request(c, r, &sh, sig, canonical, err);
    if (!rc && dx_buf_printf(auth,
                             "AWS4-HMAC-SHA256 Credential=%s/%.8s/%s/%s/aws4_request,"
                             "SignedHeaders=%s,Signature=%s",
                             c->access_key, r->amz_date, c->region, c->service, sh.data, sig))
        rc = dx_error_set(err, DX_ENOMEM, "out of memory signing %s %s", r->method, r->path);
    if (!rc && signature)
        memcpy(signature, sig, DX_SHA256_HEX);
    dx_buf_release(&sh);
    return rc;
}

int dx_sigv4_presign(const dx_sigv4_creds *c, const char *method, const char *host,
                     const char *path, const char *amz_date, int64_t expires, dx_buf *query,
                     dx_error *err)
{
    dx_buf q = DX_BUF_INIT, cred = DX_BUF_INIT, sh = DX_BUF_INIT;
    char sig[DX_SHA256_HEX];
    int rc = 0;
    if (!valid_date(amz_date))
        return dx_error_set(err, DX_EINVAL, "x-amz-date '%s' is not YYYYMMDDTHHMMSSZ",
                            amz_date ? amz_date : "(null)");
    dx_buf_printf(&cred, "%s/%.8s/%s/%s/aws4_request", c->access_key, amz_date, c->region,
                  c->service);
    dx_buf_puts(&q, "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=");
    dx_sigv4_uri_encode(cred.data ? cred.data : "", 0, &q);
    dx_buf_printf(&q, "&X-Amz-Date=%s&X-Amz-Expires=%lld&X-Amz-SignedHeaders=host", amz_date,
                  (long long)expires);
    if (dx_buf_error(&q) || dx_buf_error(&cred)) {
        rc = dx_error_set(err, DX_ENOMEM, "out of memory presigning %s", path);
        goto done;
    }
    dx_sigv4_header h = {"host", host};
    dx_sigv4_request r = {method, path, q.data, &h, 1, "UNSIGNED-PAYLOAD", amz_date};
    if ((rc = sign_request(c, &r, &sh, sig, NULL, err)))
        goto done;
    if (dx_buf_printf(query, "%s&X-Amz-Signature=%s", q.data, sig))
        rc = dx_error_set(err, DX_ENOMEM, "out of memory presigning %s", path);
done:
    dx_buf_release(&q);
    dx_buf_release(&cred);
    dx_buf_release(&sh);
    return rc;
}
