/* blobstore_int.h - what the blob store's backends share (blobstore.c, blobstore_s3.c). */
#ifndef DX_BLOBSTORE_INT_H
#define DX_BLOBSTORE_INT_H

#include "diaryx/blobstore.h"

/* Bytes to store: a file (fd >= 0, read with pread) or memory. */
typedef struct blob_src {
    int fd;
    const unsigned char *mem;
    uint64_t size;
} blob_src;

/* n bytes at off of src into buf (0, or DX_EIO naming what). */
int blob_src_read(const blob_src *src, uint64_t off, void *buf, size_t n, const char *what,
                  dx_error *err);

/* SHA-256 of len bytes of src from off, as hex. */
int blob_src_hash(const blob_src *src, uint64_t off, uint64_t len, char hex[DX_SHA256_HEX],
                  const char *what, dx_error *err);

typedef struct blob_ops {
    /* Store src as hash (the name is valid; each backend checks the bytes). */
    int (*put)(dx_blobstore *bs, const char *hash, const blob_src *src, dx_error *err);
    int (*head)(dx_blobstore *bs, const char *hash, uint64_t *size, dx_error *err);
    int (*get)(dx_blobstore *bs, const char *hash, uint64_t off, uint64_t len, dx_blob_sink sink,
               void *ud, dx_error *err);
    int (*del)(dx_blobstore *bs, const char *hash, dx_error *err);
    int (*list)(dx_blobstore *bs, dx_strlist *out, dx_error *err);
    void (*free)(dx_blobstore *bs);
} blob_ops;

struct dx_blobstore {
    const blob_ops *ops;
};

/* The refusal of bytes whose hash is not their name. */
int blob_mismatch(dx_error *err, const char *what, const char *got, const char *want);

#endif
