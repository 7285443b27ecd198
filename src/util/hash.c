/* hash.c - SHA-1 and SHA-256 over OpenSSL EVP, git blob ids; no I/O. */
#include "diaryx/hash.h"

#include <openssl/evp.h>
#include <stdio.h>

#include "diaryx/error.h"

static const EVP_MD *md_of(dx_hash_alg alg)
{
    switch (alg) {
    case DX_HASH_SHA1:
        return EVP_sha1();
    case DX_HASH_SHA256:
        return EVP_sha256();
    }
    return NULL;
}

size_t dx_hash_len(dx_hash_alg alg)
{
    return alg == DX_HASH_SHA1 ? DX_SHA1_LEN : alg == DX_HASH_SHA256 ? DX_SHA256_LEN : 0;
}

int dx_hash_begin(dx_hash *h, dx_hash_alg alg)
{
    const EVP_MD *md = md_of(alg);
    h->alg = 0;
    if (!md)
        return DX_EINVAL;
    if (!h->md && !(h->md = EVP_MD_CTX_new()))
        return DX_ENOMEM;
    if (!EVP_DigestInit_ex(h->md, md, NULL))
        return DX_ENOMEM;
    h->alg = alg;
    return 0;
}

int dx_hash_update(dx_hash *h, const void *data, size_t len)
{
    if (!h->alg)
        return DX_EINVAL;
    if (len && !EVP_DigestUpdate(h->md, data, len)) {
        h->alg = 0;
        return DX_ENOMEM;
    }
    return 0;
}

int dx_hash_final(dx_hash *h, unsigned char *out)
{
    if (!h->alg)
        return DX_EINVAL;
    unsigned int dl = 0;
    size_t want = dx_hash_len(h->alg);
    h->alg = 0;
    if (!EVP_DigestFinal_ex(h->md, out, &dl) || dl != want)
        return DX_ENOMEM;
    return 0;
}

void dx_hash_release(dx_hash *h)
{
    if (!h)
        return;
    EVP_MD_CTX_free(h->md);
    h->md = NULL;
    h->alg = 0;
}

void dx_hash_hex(const unsigned char *sum, size_t n, char *out)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[sum[i] >> 4];
        out[2 * i + 1] = digits[sum[i] & 15];
    }
    out[2 * n] = 0;
}

/* The digest of an optional prefix and the bytes, in h or in a context of its own. */
static int digest(dx_hash *h, dx_hash_alg alg, const void *pre, size_t pl, const void *data,
                  size_t len, unsigned char *out)
{
    dx_hash own = DX_HASH_INIT;
    dx_hash *use = h ? h : &own;
    int rc = dx_hash_begin(use, alg);
    if (!rc)
        rc = dx_hash_update(use, pre, pl);
    if (!rc)
        rc = dx_hash_update(use, data, len);
    if (!rc)
        rc = dx_hash_final(use, out);
    dx_hash_release(&own);
    return rc;
}

int dx_sha1(dx_hash *h, const void *data, size_t len, unsigned char out[DX_SHA1_LEN])
{
    return digest(h, DX_HASH_SHA1, NULL, 0, data, len, out);
}

int dx_sha256(dx_hash *h, const void *data, size_t len, unsigned char out[DX_SHA256_LEN])
{
    return digest(h, DX_HASH_SHA256, NULL, 0, data, len, out);
}

/* rc; and when it is 0, the n bytes of sum as hex into out. */
static int hex_if_ok(int rc, const unsigned char *sum, size_t n, char *out)
{
    if (!rc)
        dx_hash_hex(sum, n, out);
    return rc;
}

int dx_sha256_hex(dx_hash *h, const void *data, size_t len, char out[DX_SHA256_HEX])
{
    unsigned char sum[DX_SHA256_LEN];
    return hex_if_ok(dx_sha256(h, data, len, sum), sum, sizeof sum, out);
}

int dx_hash_blob_id(dx_hash *h, const void *data, size_t len, unsigned char out[DX_SHA1_LEN])
{
    char hdr[32];
    int hl = snprintf(hdr, sizeof hdr, "blob %zu", len) + 1; /* with the NUL */
    return digest(h, DX_HASH_SHA1, hdr, (size_t)hl, data, len, out);
}

int dx_hash_blob_hex(dx_hash *h, const void *data, size_t len, char out[DX_SHA1_HEX])
{
    unsigned char sum[DX_SHA1_LEN];
    return hex_if_ok(dx_hash_blob_id(h, data, len, sum), sum, sizeof sum, out);
}
