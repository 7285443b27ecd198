/* blobstore_s3.c - the S3 backend of the blob store: libcurl for HTTP, every request signed
 * here with SigV4 (sigv4.h), x-amz-content-sha256 sent by us (libcurl 7.88's own signing
 * omits it and mis-signs valueless query parameters: ../shared/reference/dependencies.md §5). */
#include <curl/curl.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "blobstore_int.h"
#include "diaryx/buf.h"
#include "diaryx/sigv4.h"

#define DEFAULT_PART (8u << 20)
#define ERR_BODY_MAX (64u << 10) /* an error's XML is kept up to this much */
#define XML_MAX      (16u << 20) /* a list or upload answer larger than this is refused */

typedef struct s3_store {
    dx_blobstore base;
    CURL *curl;
    char *base_url;    /* scheme://host[:port] (virtual-hosted: scheme://bucket.host[:port]) */
    char *host;        /* the Host header: host[:port] */
    char *bucket_path; /* "/bucket" (path style) or "" */
    char *prefix;      /* key prefix, "" when none */
    char *access, *secret, *region;
    uint64_t part_size;
    int64_t fixed_time;
} s3_store;

/* One request. */
typedef struct s3_req {
    const char *method;
    const char *key;  /* object name below the prefix ("" with bucket_only) */
    bool bucket_only; /* the bucket itself (list) */
    const char
        *query; /* canonical-ready query ("uploads=", "partNumber=1&uploadId=..."), or NULL */
    const blob_src *src; /* body (may be NULL) from src_off, src_len bytes */
    uint64_t src_off, src_len;
    const char *mem_body;     /* or a body in memory (XML) */
    const char *range;        /* "bytes=0-9", or NULL */
    const char *payload_hash; /* hex SHA-256 of the body */
    bool nobody;              /* HEAD */
    /* the answer */
    dx_blob_sink sink; /* 2xx body to here, or into out */
    void *ud;
    dx_buf *out;
    long status;
    char etag[128];
    int sink_rc;
    dx_buf errbody;
    uint64_t sent;
    const char *what; /* for messages */
} s3_req;

static size_t on_write(char *data, size_t size, size_t n, void *ud)
{
    s3_req *r = ud;
    size_t len = size * n;
    if (r->status >= 200 && r->status < 300) {
        if (r->sink && (r->sink_rc = r->sink(r->ud, data, len)))
            return 0;
        if (r->out && dx_buf_append(r->out, data, len))
            return 0;
    } else if (r->errbody.len < ERR_BODY_MAX) {
        dx_buf_append(&r->errbody, data, len);
    }
    return len;
}

static size_t on_header(char *data, size_t size, size_t n, void *ud)
{
    s3_req *r = ud;
    size_t len = size * n;
    if (len > 9 && !strncmp(data, "HTTP/", 5)) {
        /* The status line: every later body byte belongs to this status. */
        const char *sp = memchr(data, ' ', len);
        r->status = sp ? strtol(sp + 1, NULL, 10) : 0;
    } else if (len > 5 && !strncasecmp(data, "etag:", 5)) {
        size_t i = 5;
        while (i < len && data[i] == ' ')
            i++;
        size_t e = len;
        while (e > i && (data[e - 1] == '\r' || data[e - 1] == '\n' || data[e - 1] == ' '))
            e--;
        if (e - i < sizeof r->etag) {
            memcpy(r->etag, data + i, e - i);
            r->etag[e - i] = 0;
        }
    }
    return len;
}

static size_t on_read(char *buf, size_t size, size_t n, void *ud)
{
    s3_req *r = ud;
    size_t want = size * n;
    uint64_t left = r->src_len - r->sent;
    if (want > left)
        want = (size_t)left;
    if (!want)
        return 0;
    if (r->mem_body)
        memcpy(buf, r->mem_body + r->sent, want);
    else if (blob_src_read(r->src, r->src_off + r->sent, buf, want, r->what, NULL))
        return CURL_READFUNC_ABORT;
    r->sent += want;
    return want;
}

/* The text of <tag> in xml (first one), or "". */
static void xml_first(const char *xml, size_t len, const char *tag, dx_buf *out)
{
    size_t pos = 0;
    dx_s3_xml_next(xml, len, tag, &pos, out);
}

static int s3_do(s3_store *s, s3_req *r, dx_error *err)
{
    dx_buf url = DX_BUF_INIT, path = DX_BUF_INIT, auth = DX_BUF_INIT, h = DX_BUF_INIT;
    struct curl_slist *hdrs = NULL;
    char date[17];
    int rc = 0;
    dx_sigv4_creds creds = {s->access, s->secret, s->region, "s3"};
    dx_sigv4_date(s->fixed_time ? s->fixed_time : (int64_t)time(NULL), date);
    dx_buf_printf(&path, "%s%s", s->bucket_path, r->bucket_only ? "" : "/");
    if (!r->bucket_only) {
        dx_sigv4_uri_encode(s->prefix, 1, &path);
        dx_sigv4_uri_encode(r->key, 1, &path);
    }
    if (!path.len)
        dx_buf_putc(&path, '/');
    dx_buf_printf(&url, "%s%s%s%s", s->base_url, path.data ? path.data : "/", r->query ? "?" : "",
                  r->query ? r->query : "");
    dx_sigv4_header sh[4] = {{"host", s->host},
                             {"x-amz-content-sha256", r->payload_hash},
                             {"x-amz-date", date},
                             {"range", r->range}};
    dx_sigv4_request sr = {r->method,        path.data,       r->query, sh,
                           r->range ? 4 : 3, r->payload_hash, date};
    if (dx_buf_error(&url) || dx_buf_error(&path)) {
        rc = dx_error_set(err, DX_ENOMEM, "out of memory");
        goto done;
    }
    if ((rc = dx_sigv4_authorization(&creds, &sr, &auth, NULL, NULL, err)))
        goto done;
    const char *lines[] = {"Host: %s", "x-amz-content-sha256: %s", "x-amz-date: %s", "Range: %s"};
    for (size_t i = 0; i < sr.n_headers + 1; i++) {
        dx_buf_reset(&h);
        if (i < sr.n_headers)
            dx_buf_printf(&h, lines[i], sh[i].value);
        else
            dx_buf_printf(&h, "Authorization: %s", auth.data);
        struct curl_slist *nh = dx_buf_error(&h) ? NULL : curl_slist_append(hdrs, h.data);
        if (!nh) {
            rc = dx_error_set(err, DX_ENOMEM, "out of memory");
            goto done;
        }
        hdrs = nh;
    }
    /* Unsigned and harmless to drop: no 100-continue round trip before a body. */
    struct curl_slist *nh = curl_slist_append(hdrs, "Expect:");
    if (!nh) {
        rc = dx_error_set(err, DX_ENOMEM, "out of memory");
        goto done;
    }
    hdrs = nh;
    CURL *c = s->curl;
    curl_easy_reset(c);
    curl_easy_setopt(c, CURLOPT_URL, url.data);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 30L);
    /* A store that stops answering must not hold the caller (the server's loop) for ever:
     * under 1 byte/s for 60 s aborts the request. */
    curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1L);
    curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, 60L);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_write);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, r);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, r);
    curl_easy_setopt(c, CURLOPT_PATH_AS_IS, 1L);
    if (r->nobody) {
        curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
    } else if (!strcmp(r->method, "PUT")) {
        curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
        curl_easy_setopt(c, CURLOPT_READFUNCTION, on_read);
        curl_easy_setopt(c, CURLOPT_READDATA, r);
        curl_easy_setopt(c, CURLOPT_INFILESIZE_LARGE, (curl_off_t)r->src_len);
    } else if (!strcmp(r->method, "POST")) {
        curl_easy_setopt(c, CURLOPT_POST, 1L);
        curl_easy_setopt(c, CURLOPT_READFUNCTION, on_read);
        curl_easy_setopt(c, CURLOPT_READDATA, r);
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)r->src_len);
    } else if (strcmp(r->method, "GET") != 0) {
        curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, r->method);
    }
    CURLcode cc = curl_easy_perform(c);
    if (r->sink_rc) {
        rc = r->sink_rc;
        if (!(err && err->code))
            dx_error_set(err, rc, "reading blob %s stopped", r->what);
    } else if (cc != CURLE_OK) {
        rc = dx_error_set(err, cc == CURLE_OUT_OF_MEMORY ? DX_ENOMEM : DX_EIO, "S3 %s %s: %s",
                          r->method, url.data, curl_easy_strerror(cc));
    } else if (r->status < 200 || r->status >= 300) {
        dx_buf code = DX_BUF_INIT, msg = DX_BUF_INIT;
        xml_first(r->errbody.data ? r->errbody.data : "", r->errbody.len, "Code", &code);
        xml_first(r->errbody.data ? r->errbody.data : "", r->errbody.len, "Message", &msg);
        rc = r->status == 404                       ? DX_ENOTFOUND
             : r->status == 403                     ? DX_EAUTH
             : r->status == 416 || r->status == 400 ? DX_EINVAL
                                                    : DX_EIO;
        dx_error_set(err, rc, "S3 %s %s answered %ld%s%s%s%s%s", r->method, r->what, r->status,
                     code.len ? " " : "", code.len ? code.data : "", msg.len ? ": " : "",
                     msg.len ? msg.data : "",
                     r->status == 403 ? " (check the access key and secret)" : "");
        dx_buf_release(&code);
        dx_buf_release(&msg);
    } else if (r->out && dx_buf_error(r->out)) {
        rc = dx_error_set(err, DX_ENOMEM, "out of memory reading the answer to %s", r->what);
    }
done:
    curl_slist_free_all(hdrs);
    dx_buf_release(&url);
    dx_buf_release(&path);
    dx_buf_release(&auth);
    dx_buf_release(&h);
    dx_buf_release(&r->errbody);
    return rc;
}

static int s3_head(dx_blobstore *bs, const char *hash, uint64_t *size, dx_error *err)
{
    s3_store *s = (s3_store *)bs;
    s3_req r = {.method = "HEAD",
                .key = hash,
                .payload_hash = DX_SHA256_EMPTY,
                .nobody = true,
                .what = hash};
    int rc = s3_do(s, &r, err);
    if (rc == DX_ENOTFOUND)
        dx_error_set(err, rc, "no blob %s", hash);
    if (!rc && size) {
        curl_off_t len = -1;
        curl_easy_getinfo(s->curl, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &len);
        *size = len < 0 ? 0 : (uint64_t)len;
    }
    return rc;
}

static int s3_get(dx_blobstore *bs, const char *hash, uint64_t off, uint64_t len, dx_blob_sink sink,
                  void *ud, dx_error *err)
{
    s3_store *s = (s3_store *)bs;
    char range[64];
    if (len == 0)
        return 0;
    if (len == UINT64_MAX)
        snprintf(range, sizeof range, "bytes=%llu-", (unsigned long long)off);
    else
        snprintf(range, sizeof range, "bytes=%llu-%llu", (unsigned long long)off,
                 (unsigned long long)(off + len - 1));
    s3_req r = {.method = "GET",
                .key = hash,
                .payload_hash = DX_SHA256_EMPTY,
                .range = off || len != UINT64_MAX ? range : NULL,
                .sink = sink,
                .ud = ud,
                .what = hash};
    int rc = s3_do(s, &r, err);
    if (rc == DX_ENOTFOUND)
        dx_error_set(err, rc, "no blob %s", hash);
    return rc;
}

static int s3_del(dx_blobstore *bs, const char *hash, dx_error *err)
{
    /* S3 answers 204 whether or not the key existed: ask first, to say DX_ENOTFOUND. */
    int rc = s3_head(bs, hash, NULL, err);
    s3_req r = {.method = "DELETE", .key = hash, .payload_hash = DX_SHA256_EMPTY, .what = hash};
    return rc ? rc : s3_do((s3_store *)bs, &r, err);
}

static int s3_multipart(s3_store *s, const char *hash, const blob_src *src, dx_error *err)
{
    dx_buf xml = DX_BUF_INIT, id = DX_BUF_INIT, q = DX_BUF_INIT, done_xml = DX_BUF_INIT;
    char ph[DX_SHA256_HEX];
    int rc;
    s3_req init = {.method = "POST",
                   .key = hash,
                   .query = "uploads=",
                   .payload_hash = DX_SHA256_EMPTY,
                   .mem_body = "",
                   .out = &xml,
                   .what = hash};
    dx_buf_set_limit(&xml, XML_MAX);
    if ((rc = s3_do(s, &init, err)))
        goto done;
    xml_first(xml.data ? xml.data : "", xml.len, "UploadId", &id);
    if (!id.len || dx_buf_error(&id)) {
        rc = dx_error_set(err, DX_EIO, "S3 started no multipart upload for blob %s (no UploadId)",
                          hash);
        goto done;
    }
    dx_buf enc = DX_BUF_INIT;
    dx_sigv4_uri_encode(id.data, 0, &enc);
    dx_buf_puts(&done_xml, "<CompleteMultipartUpload>");
    unsigned part = 1;
    for (uint64_t off = 0; !rc && off < src->size; off += s->part_size, part++) {
        uint64_t n = src->size - off < s->part_size ? src->size - off : s->part_size;
        dx_buf_reset(&q);
        dx_buf_printf(&q, "partNumber=%u&uploadId=%s", part, enc.data ? enc.data : "");
        if (dx_buf_error(&q) || dx_buf_error(&enc)) {
            rc = dx_error_set(err, DX_ENOMEM, "out of memory");
            break;
        }
        if ((rc = blob_src_hash(src, off, n, ph, hash, err)))
            break;
        s3_req put = {.method = "PUT",
                      .key = hash,
                      .query = q.data,
                      .src = src,
                      .src_off = off,
                      .src_len = n,
                      .payload_hash = ph,
                      .what = hash};
        if ((rc = s3_do(s, &put, err)))
            break;
        dx_buf_printf(&done_xml, "<Part><PartNumber>%u</PartNumber><ETag>%s</ETag></Part>", part,
                      put.etag);
    }
    dx_buf_puts(&done_xml, "</CompleteMultipartUpload>");
    if (!rc && dx_buf_error(&done_xml))
        rc = dx_error_set(err, DX_ENOMEM, "out of memory");
    if (!rc) {
        dx_buf_reset(&q);
        dx_buf_printf(&q, "uploadId=%s", enc.data);
        dx_buf_reset(&xml);
        rc = dx_sha256_hex(NULL, done_xml.data, done_xml.len, ph);
        s3_req fin = {.method = "POST",
                      .key = hash,
                      .query = q.data,
                      .mem_body = done_xml.data,
                      .src_len = done_xml.len,
                      .payload_hash = ph,
                      .out = &xml,
                      .what = hash};
        if (!rc && !dx_buf_error(&q))
            rc = s3_do(s, &fin, err);
        /* S3 may answer 200 with an <Error> body to a completion. */
        if (!rc && xml.data && strstr(xml.data, "<Error>"))
            rc = dx_error_set(err, DX_EIO, "S3 could not complete the upload of blob %s: %s", hash,
                              xml.data);
    }
    if (rc) { /* abort, so the parts stop costing storage; its own failure changes nothing */
        dx_buf_reset(&q);
        dx_buf_printf(&q, "uploadId=%s", enc.data ? enc.data : "");
        s3_req ab = {.method = "DELETE",
                     .key = hash,
                     .query = q.data,
                     .payload_hash = DX_SHA256_EMPTY,
                     .what = hash};
        if (!dx_buf_error(&q))
            s3_do(s, &ab, NULL);
    }
    dx_buf_release(&enc);
done:
    dx_buf_release(&xml);
    dx_buf_release(&id);
    dx_buf_release(&q);
    dx_buf_release(&done_xml);
    return rc;
}

static int s3_put(dx_blobstore *bs, const char *hash, const blob_src *src, dx_error *err)
{
    s3_store *s = (s3_store *)bs;
    char hex[DX_SHA256_HEX];
    uint64_t have;
    /* Checked here, before any byte goes; S3 then checks the body against the signed hash. */
    int rc = blob_src_hash(src, 0, src->size, hex, hash, err);
    if (!rc && strcmp(hex, hash) != 0)
        return blob_mismatch(err, "the upload", hex, hash);
    if (!rc && s3_head(bs, hash, &have, NULL) == 0 && have == src->size)
        return 0; /* stored once per hash */
    if (!rc && src->size > s->part_size)
        return s3_multipart(s, hash, src, err);
    s3_req r = {.method = "PUT",
                .key = hash,
                .src = src,
                .src_len = src->size,
                .payload_hash = hex,
                .what = hash};
    return rc ? rc : s3_do(s, &r, err);
}

static int s3_list(dx_blobstore *bs, dx_strlist *out, dx_error *err)
{
    s3_store *s = (s3_store *)bs;
    dx_buf xml = DX_BUF_INIT, q = DX_BUF_INIT, tok = DX_BUF_INIT, key = DX_BUF_INIT,
           trunc = DX_BUF_INIT;
    size_t plen = strlen(s->prefix);
    int rc = 0;
    dx_buf_set_limit(&xml, XML_MAX);
    for (;;) {
        dx_buf_reset(&q);
        dx_buf_reset(&xml);
        if (tok.len) {
            dx_buf_puts(&q, "continuation-token=");
            dx_sigv4_uri_encode(tok.data, 0, &q);
            dx_buf_putc(&q, '&');
        }
        dx_buf_puts(&q, "list-type=2&prefix=");
        dx_sigv4_uri_encode(s->prefix, 0, &q);
        if (dx_buf_error(&q)) {
            rc = dx_error_set(err, DX_ENOMEM, "out of memory");
            break;
        }
        s3_req r = {.method = "GET",
                    .bucket_only = true,
                    .key = "",
                    .query = q.data,
                    .payload_hash = DX_SHA256_EMPTY,
                    .out = &xml,
                    .what = "the bucket"};
        if ((rc = s3_do(s, &r, err)))
            break;
        const char *x = xml.data ? xml.data : "";
        size_t pos = 0;
        for (;;) {
            dx_buf_reset(&key);
            int found = dx_s3_xml_next(x, xml.len, "Key", &pos, &key);
            if (found <= 0)
                break;
            if (key.len == plen + 64 && !strncmp(key.data, s->prefix, plen) &&
                dx_blob_name_valid(key.data + plen) && dx_strlist_push(out, key.data + plen)) {
                rc = dx_error_set(err, DX_ENOMEM, "out of memory");
                break;
            }
        }
        dx_buf_reset(&trunc);
        dx_buf_reset(&tok);
        xml_first(x, xml.len, "IsTruncated", &trunc);
        xml_first(x, xml.len, "NextContinuationToken", &tok);
        if (rc || !trunc.data || strcmp(trunc.data, "true") != 0 || !tok.len)
            break;
    }
    dx_buf_release(&xml);
    dx_buf_release(&q);
    dx_buf_release(&tok);
    dx_buf_release(&key);
    dx_buf_release(&trunc);
    return rc;
}

static void s3_free(dx_blobstore *bs)
{
    s3_store *s = (s3_store *)bs;
    if (s->curl)
        curl_easy_cleanup(s->curl);
    free(s->base_url);
    free(s->host);
    free(s->bucket_path);
    free(s->prefix);
    if (s->secret)
        memset(s->secret, 0, strlen(s->secret));
    free(s->access);
    free(s->secret);
    free(s->region);
    free(s);
}

static const blob_ops S3_OPS = {s3_put, s3_head, s3_get, s3_del, s3_list, s3_free};

int dx_s3_xml_next(const char *xml, size_t len, const char *tag, size_t *pos, dx_buf *out)
{
    size_t tl = strlen(tag);
    for (size_t i = *pos; i + tl + 2 <= len; i++) {
        if (xml[i] != '<' || strncmp(xml + i + 1, tag, tl) != 0 || xml[i + 1 + tl] != '>')
            continue;
        size_t start = i + tl + 2, end = start;
        while (end < len && xml[end] != '<')
            end++;
        if (end + tl + 3 > len || xml[end + 1] != '/' || strncmp(xml + end + 2, tag, tl) != 0 ||
            xml[end + 2 + tl] != '>')
            return DX_EPARSE;
        static const char *const ent[][2] = {
            {"&amp;", "&"}, {"&lt;", "<"}, {"&gt;", ">"}, {"&quot;", "\""}, {"&apos;", "'"}};
        for (size_t j = start; j < end;) {
            size_t k = 0;
            for (; k < 5; k++) {
                size_t el = strlen(ent[k][0]);
                if (end - j >= el && !strncmp(xml + j, ent[k][0], el)) {
                    dx_buf_putc(out, ent[k][1][0]);
                    j += el;
                    break;
                }
            }
            if (k == 5)
                dx_buf_putc(out, xml[j++]);
        }
        *pos = end + tl + 3;
        return dx_buf_error(out) ? DX_ENOMEM : 1;
    }
    *pos = len;
    return 0;
}

static char *dup_or_env(const char *v, const char *env)
{
    const char *s = v ? v : getenv(env);
    return s && *s ? strdup(s) : NULL;
}

int dx_blobstore_open_s3(const dx_s3_config *c, dx_blobstore **out, dx_error *err)
{
    *out = NULL;
    if (!c->endpoint || !c->bucket || !*c->bucket)
        return dx_error_set(err, DX_EINVAL, "the S3 blob store wants %s",
                            !c->endpoint ? "an endpoint (\"https://host[:port]\")" : "a bucket");
    const char *hs = strstr(c->endpoint, "://");
    if (!hs || (strncmp(c->endpoint, "http://", 7) && strncmp(c->endpoint, "https://", 8)))
        return dx_error_set(err, DX_EINVAL, "S3 endpoint '%s' is not an http:// or https:// URL",
                            c->endpoint);
    hs += 3;
    size_t hl = strcspn(hs, "/");
    if (!hl || (hs[hl] && strcmp(hs + hl, "/") != 0))
        return dx_error_set(err, DX_EINVAL,
                            "S3 endpoint '%s' must be scheme://host[:port] with no path (the "
                            "bucket goes in bucket)",
                            c->endpoint);
    s3_store *s = calloc(1, sizeof *s);
    if (!s)
        return dx_error_set(err, DX_ENOMEM, "out of memory");
    s->base.ops = &S3_OPS;
    dx_buf b = DX_BUF_INIT, h = DX_BUF_INIT, bp = DX_BUF_INIT;
    if (c->path_style) {
        dx_buf_printf(&b, "%.*s", (int)(hs - c->endpoint + hl), c->endpoint);
        dx_buf_printf(&h, "%.*s", (int)hl, hs);
        dx_buf_printf(&bp, "/%s", c->bucket);
    } else {
        dx_buf_printf(&b, "%.*s%s.%.*s", (int)(hs - c->endpoint), c->endpoint, c->bucket, (int)hl,
                      hs);
        dx_buf_printf(&h, "%s.%.*s", c->bucket, (int)hl, hs);
        dx_buf_puts(&bp, "");
    }
    int rc = dx_buf_error(&b) || dx_buf_error(&h) || dx_buf_error(&bp) ? DX_ENOMEM : 0;
    s->base_url = dx_buf_detach(&b, NULL);
    s->host = dx_buf_detach(&h, NULL);
    s->bucket_path = bp.data ? dx_buf_detach(&bp, NULL) : strdup("");
    s->prefix = strdup(c->prefix ? c->prefix : "");
    s->region = strdup(c->region ? c->region : "us-east-1");
    s->access = dup_or_env(c->access_key, "AWS_ACCESS_KEY_ID");
    s->secret = dup_or_env(c->secret_key, "AWS_SECRET_ACCESS_KEY");
    s->part_size = c->part_size ? c->part_size : DEFAULT_PART;
    s->fixed_time = c->fixed_time;
    if (rc || !s->base_url || !s->host || !s->bucket_path || !s->prefix || !s->region) {
        rc = dx_error_set(err, DX_ENOMEM, "out of memory");
    } else if (!s->access || !s->secret) {
        rc = dx_error_set(err, DX_EINVAL,
                          "the S3 blob store wants credentials: access_key and secret_key in "
                          "[blobs], or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY");
    } else if (!(s->curl = curl_easy_init())) {
        rc = dx_error_set(err, DX_ENOMEM, "cannot start libcurl");
    }
    if (rc) {
        s3_free(&s->base);
        return rc;
    }
    *out = &s->base;
    return 0;
}
