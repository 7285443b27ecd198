/* sigv4.h - AWS Signature Version 4 for S3: the canonical request, the string to sign, the
 * signing key and the signature, computed here (no I/O, no clock) with hash.h's SHA-256
 * and an HMAC over it.
 *
 * A request is signed over the headers the caller lists (name and value as sent; names are
 * lowered and sorted here, values trimmed), the canonical URI (the path as sent, already
 * percent-encoded: content-addressed keys are [0-9a-f/] and need none), the canonical query
 * (the query as sent, "a=b&c=d"; a parameter without '=' is signed as "name=" and its
 * pairs are sorted), and the payload hash (64 hex digits of the body's SHA-256, the value
 * of x-amz-content-sha256, which the caller also lists among the headers).
 *
 * Every function returns 0, DX_EINVAL (a malformed date, too many headers, a header name
 * with a ':' or a newline; the message names it) or DX_ENOMEM. */
#ifndef DX_SIGV4_H
#define DX_SIGV4_H

#include <stddef.h>
#include <stdint.h>

#include "diaryx/buf.h"
#include "diaryx/error.h"
#include "diaryx/hash.h"

#define DX_SIGV4_MAX_HEADERS 32
#define DX_SHA256_EMPTY      "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

typedef struct dx_sigv4_creds {
    const char *access_key;
    const char *secret_key;
    const char *region;  /* "us-east-1" */
    const char *service; /* "s3" */
} dx_sigv4_creds;

typedef struct dx_sigv4_header {
    const char *name;
    const char *value;
} dx_sigv4_header;

typedef struct dx_sigv4_request {
    const char *method;             /* "GET" */
    const char *path;               /* canonical URI, "/bucket/key" */
    const char *query;              /* "max-keys=2&prefix=J", "" or NULL */
    const dx_sigv4_header *headers; /* the signed headers (host, x-amz-date, ...) */
    size_t n_headers;
    const char *payload_hash; /* hex SHA-256 of the body, or "UNSIGNED-PAYLOAD" */
    const char *amz_date;     /* "20130524T000000Z" */
} dx_sigv4_request;

/* The Authorization header's value for r ("AWS4-HMAC-SHA256 Credential=..., SignedHeaders=...,
 * Signature=..."), appended to auth; signature (may be NULL) receives the 64 hex digits.
 * canonical (may be NULL) receives the canonical request (for tests and debugging). */
int dx_sigv4_authorization(const dx_sigv4_creds *c, const dx_sigv4_request *r, dx_buf *auth,
                           char signature[DX_SHA256_HEX], dx_buf *canonical, dx_error *err);

/* A presigned URL's query for `method path` on host (signed header: host only; payload
 * UNSIGNED-PAYLOAD), valid expires seconds from amz_date: the X-Amz-* parameters and
 * X-Amz-Signature, appended to query (without the '?'). */
int dx_sigv4_presign(const dx_sigv4_creds *c, const char *method, const char *host,
                     const char *path, const char *amz_date, int64_t expires, dx_buf *query,
                     dx_error *err);

/* HMAC-SHA256 (RFC 2104) of data under key into out. h (may be NULL) as in hash.h. */
int dx_hmac_sha256(dx_hash *h, const void *key, size_t key_len, const void *data, size_t len,
                   unsigned char out[DX_SHA256_LEN]);

/* time (seconds since the epoch, UTC) as an x-amz-date, "YYYYMMDDTHHMMSSZ". */
void dx_sigv4_date(int64_t time, char out[17]);

/* s percent-encoded as SigV4 wants (unreserved A-Z a-z 0-9 - _ . ~ kept, '/' kept when
 * keep_slash, every other byte %XX in upper case), appended to out. */
int dx_sigv4_uri_encode(const char *s, int keep_slash, dx_buf *out);

#endif
