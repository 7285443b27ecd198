/* blobstore.h - content-addressed attachment bytes: a blob is named by the SHA-256 of its
 * bytes (64 lowercase hex digits), stored once, and every store checks that name on the way
 * in.
 *
 * One small interface, two backends:
 *   - a local directory (dx_blobstore_open_dir): DIR/blobs/ab/cdef... (the first two hex
 *     digits are a directory), written to a temporary file, fsync'ed and renamed into place,
 *     so a blob is whole or absent after a crash;
 *   - S3 (dx_blobstore_open_s3): object KEY_PREFIX<hash> in a bucket, through libcurl, every
 *     request signed here with SigV4 (sigv4.h) including x-amz-content-sha256; files over
 *     part_size go up as a multipart upload.
 *
 * Every function returns 0 or a negative DX_E* code with the message in err: DX_EINVAL (not a
 * SHA-256 name, bytes whose hash is not their name), DX_ENOTFOUND (no such blob), DX_EIO
 * (the disk or the network; the message names the blob and what the backend answered),
 * DX_EAUTH (S3 refused the credentials: 403), DX_ENOMEM. A dx_blobstore is used by one
 * thread at a time. */
#ifndef DX_BLOBSTORE_H
#define DX_BLOBSTORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "diaryx/buf.h"
#include "diaryx/error.h"
#include "diaryx/hash.h"
#include "diaryx/strlist.h"

typedef struct dx_blobstore dx_blobstore;

/* The local store under dir (DIR/blobs is created when missing). *out: caller owns. */
int dx_blobstore_open_dir(const char *dir, dx_blobstore **out, dx_error *err);

typedef struct dx_s3_config {
    const char *endpoint;   /* "https://s3.us-east-1.amazonaws.com" or "http://127.0.0.1:9000" */
    const char *region;     /* "us-east-1" */
    const char *bucket;     /* the bucket */
    bool path_style;        /* ENDPOINT/BUCKET/KEY (true) or BUCKET.HOST/KEY */
    const char *access_key; /* NULL: $AWS_ACCESS_KEY_ID */
    const char *secret_key; /* NULL: $AWS_SECRET_ACCESS_KEY */
    const char *prefix;     /* key prefix ("blobs/"; NULL: none) */
    uint64_t part_size;     /* multipart above this size (0: 8 MiB; at least 5 MiB on AWS) */
    int64_t fixed_time;     /* tests: sign as of this Unix time (0: the clock) */
} dx_s3_config;

#define DX_S3_CONFIG_INIT                                                                          \
    {                                                                                              \
        NULL, "us-east-1", NULL, true, NULL, NULL, NULL, 0, 0                                      \
    }

/* An S3 store (no request is made yet). DX_EINVAL names a missing endpoint, bucket or
 * credential. *out: caller owns. */
int dx_blobstore_open_s3(const dx_s3_config *c, dx_blobstore **out, dx_error *err);

/* Close the store. Accepts NULL. */
void dx_blobstore_free(dx_blobstore *bs);

/* true when hash is 64 lowercase hex digits. */
bool dx_blob_name_valid(const char *hash);

/* Store the file at path as blob hash: its bytes are hashed first (one read), and DX_EINVAL
 * ("... has SHA-256 X, not Y") when they are not hash; storing a blob that exists is a
 * no-op. */
int dx_blob_put_file(dx_blobstore *bs, const char *hash, const char *path, dx_error *err);
/* The same for the bytes of the open file fd (read with pread from offset 0 to its size;
 * fd stays open). */
int dx_blob_put_fd(dx_blobstore *bs, const char *hash, int fd, dx_error *err);
/* The same for len bytes in memory. */
int dx_blob_put(dx_blobstore *bs, const char *hash, const void *data, size_t len, dx_error *err);

/* 0 with the blob's size in *size (may be NULL), or DX_ENOTFOUND. */
int dx_blob_head(dx_blobstore *bs, const char *hash, uint64_t *size, dx_error *err);

/* The bytes of blob hash from offset, at most len of them (UINT64_MAX: to the end), handed to
 * sink in pieces (a nonzero return stops the transfer and is returned). DX_ENOTFOUND;
 * DX_EINVAL for an offset past the end (an empty blob from 0 gives nothing). */
typedef int (*dx_blob_sink)(void *ud, const void *data, size_t len);
int dx_blob_get(dx_blobstore *bs, const char *hash, uint64_t offset, uint64_t len,
                dx_blob_sink sink, void *ud, dx_error *err);

/* Remove blob hash (DX_ENOTFOUND when absent). */
int dx_blob_delete(dx_blobstore *bs, const char *hash, dx_error *err);

/* Every blob's name, sorted, appended to out. */
int dx_blob_list(dx_blobstore *bs, dx_strlist *out, dx_error *err);

/* The names of hashes the store lacks, in their order, appended to missing (names that are
 * not SHA-256 names: DX_EINVAL). */
int dx_blob_missing(dx_blobstore *bs, const dx_strlist *hashes, dx_strlist *missing, dx_error *err);

/* The text of the next <tag>...</tag> in len bytes of S3's XML answer from *pos, entities
 * decoded, appended to out; *pos moves past it. 1 (found), 0 (no more), DX_EPARSE (an
 * element with markup inside or unclosed), DX_ENOMEM. Pure: the fuzz target fuzz_s3_xml. */
int dx_s3_xml_next(const char *xml, size_t len, const char *tag, size_t *pos, dx_buf *out);

/* The SHA-256 (hex) and size of the file at path, read once. */
int dx_blob_hash_file(const char *path, char hash[DX_SHA256_HEX], uint64_t *size, dx_error *err);

/* Copy the file at from to the path to (a temporary file beside it, fsync'ed, renamed over to;
 * the directory must exist), returning the SHA-256 and size of the bytes copied. */
int dx_blob_copy_file(const char *from, const char *to, char hash[DX_SHA256_HEX], uint64_t *size,
                      dx_error *err);

/* The media type for a file name by its extension ("image/png"), or
 * "application/octet-stream". Never allocates. */
const char *dx_blob_media_type(const char *name);

#endif
