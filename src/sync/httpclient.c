/* httpclient.c - one JSON request to the sync server through libcurl (see httpclient.h). */
#include "diaryx/httpclient.h"

#include <curl/curl.h>
#include <stdio.h>
#include <string.h>

static size_t on_body(char *data, size_t size, size_t n, void *ud)
{
    dx_buf *b = ud;
    size_t len = size * n;
    if (b->len + len > DX_HTTP_MAX_BODY || dx_buf_append(b, data, len))
        return 0; /* curl stops with CURLE_WRITE_ERROR */
    return len;
}

int dx_http_request(const char *method, const char *url, const char *token, const char *body,
                    long *status, dx_buf *resp, dx_error *err)
{
    *status = 0;
    static int inited;
    if (!inited) {
        if (curl_global_init(CURL_GLOBAL_DEFAULT))
            return dx_error_set(err, DX_ENOMEM, "cannot start libcurl");
        inited = 1;
    }
    CURL *c = curl_easy_init();
    if (!c)
        return dx_error_set(err, DX_ENOMEM, "out of memory");
    struct curl_slist *h = NULL, *t;
    dx_buf auth = DX_BUF_INIT;
    int rc = 0;
    if (token && (dx_buf_printf(&auth, "Authorization: Bearer %s", token) ||
                  !(t = curl_slist_append(h, auth.data)) || !(h = t)))
        rc = dx_error_set(err, DX_ENOMEM, "out of memory");
    if (!rc && body && (!(t = curl_slist_append(h, "Content-Type: application/json")) || !(h = t)))
        rc = dx_error_set(err, DX_ENOMEM, "out of memory");
    if (!rc) {
        char cerr[CURL_ERROR_SIZE] = "";
        curl_easy_setopt(c, CURLOPT_URL, url);
        curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
        curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
        curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
        curl_easy_setopt(c, CURLOPT_WRITEDATA, resp);
        curl_easy_setopt(c, CURLOPT_ERRORBUFFER, cerr);
        curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 10L);
        curl_easy_setopt(c, CURLOPT_TIMEOUT, 120L);
        curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
        curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
        if (body) {
            curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
            curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
        }
        CURLcode cc = curl_easy_perform(c);
        if (cc == CURLE_WRITE_ERROR)
            rc = dx_error_set(err, DX_ELIMIT, "the answer of %s is larger than %u bytes", url,
                              DX_HTTP_MAX_BODY);
        else if (cc != CURLE_OK)
            rc = dx_error_set(err, DX_EIO, "cannot reach %s: %s", url,
                              cerr[0] ? cerr : curl_easy_strerror(cc));
        else
            curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, status);
    }
    if (auth.data) /* the token does not stay in freed memory */
        memset(auth.data, 0, auth.len);
    dx_buf_release(&auth);
    curl_slist_free_all(h);
    curl_easy_cleanup(c);
    return rc;
}
