/* hash.h - SHA-1 (git blob ids, index and pack checksums) and SHA-256 (attachments).
 *
 * One implementation for the whole tree, OpenSSL's EVP underneath: its SHA-1 is several times
 * faster than libgit2's collision-detecting one, and a commit of a new workspace hashes every
 * file (10k of them), so callers that hash many inputs keep one dx_hash and pass it to every
 * call (the OpenSSL context is allocated once and reused).
 *
 * A dx_hash is caller-allocated: `dx_hash h = DX_HASH_INIT;` then dx_hash_begin / update /
 * final any number of times, dx_hash_release at the end (accepts a never-begun one). The
 * one-shot functions take an optional dx_hash to reuse (NULL: a context of their own).
 *
 * Every function returning int returns 0, DX_ENOMEM (OpenSSL could not allocate or run the
 * digest) or DX_EINVAL (a dx_hash used out of order, an unknown alg). No I/O, no global
 * state. */
#ifndef DX_HASH_H
#define DX_HASH_H

#include <stddef.h>

#include "diaryx/error.h"

#define DX_SHA1_LEN   20
#define DX_SHA1_HEX   41 /* 40 hex digits + NUL */
#define DX_SHA256_LEN 32
#define DX_SHA256_HEX 65 /* 64 hex digits + NUL */

typedef enum dx_hash_alg { DX_HASH_SHA1 = 1, DX_HASH_SHA256 = 2 } dx_hash_alg;

typedef struct dx_hash {
    void *md;        /* EVP_MD_CTX *, allocated by the first dx_hash_begin */
    dx_hash_alg alg; /* of the digest begun (0: none) */
} dx_hash;

#define DX_HASH_INIT                                                                               \
    {                                                                                              \
        .md = NULL, .alg = 0                                                                       \
    }

/* Start a digest of alg (discarding one begun and not finished). */
int dx_hash_begin(dx_hash *h, dx_hash_alg alg);
/* Feed len bytes (data may be NULL when len is 0). */
int dx_hash_update(dx_hash *h, const void *data, size_t len);
/* Finish: out receives dx_hash_len(alg) bytes. h may be begun again afterwards. DX_EINVAL
 * when no digest was begun. */
int dx_hash_final(dx_hash *h, unsigned char *out);
/* Free the context; h is DX_HASH_INIT afterwards. Accepts NULL. */
void dx_hash_release(dx_hash *h);

/* The digest length of alg in bytes (20 or 32; 0 for an unknown alg). */
size_t dx_hash_len(dx_hash_alg alg);

/* n bytes as 2n lowercase hex digits and a NUL into out (2n + 1 bytes). */
void dx_hash_hex(const unsigned char *sum, size_t n, char *out);

/* One-shot digests of bytes; h (may be NULL) is a context to reuse. */
int dx_sha1(dx_hash *h, const void *data, size_t len, unsigned char out[DX_SHA1_LEN]);
int dx_sha256(dx_hash *h, const void *data, size_t len, unsigned char out[DX_SHA256_LEN]);
int dx_sha256_hex(dx_hash *h, const void *data, size_t len, char out[DX_SHA256_HEX]);

/* The git blob id of bytes: SHA-1 of "blob <len>\0" followed by the bytes, as
 * `git hash-object` computes it; raw or as 40 hex digits. h (may be NULL) as above. */
int dx_hash_blob_id(dx_hash *h, const void *data, size_t len, unsigned char out[DX_SHA1_LEN]);
int dx_hash_blob_hex(dx_hash *h, const void *data, size_t len, char out[DX_SHA1_HEX]);

#endif
