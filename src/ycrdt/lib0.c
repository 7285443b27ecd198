/* lib0.c - lib0 binary encoding primitives and the Any codec, byte-compatible with lib0. */
#include "ylib0.h"

#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void y_enc_release(y_enc *e)
{
    free(e->data);
    e->data = NULL;
    e->len = e->cap = 0;
    e->oom = false;
}

bool y_enc_reserve(y_enc *e, size_t extra)
{
    if (e->oom)
        return false;
    if (e->len + extra <= e->cap)
        return true;
    size_t cap = e->cap ? e->cap * 2 : 64;
    while (cap < e->len + extra)
        cap *= 2;
    uint8_t *p = realloc(e->data, cap);
    if (!p) {
        e->oom = true;
        return false;
    }
    e->data = p;
    e->cap = cap;
    return true;
}

void y_enc_u8(y_enc *e, uint8_t v)
{
    if (e->len < e->cap || y_enc_reserve(e, 1))
        e->data[e->len++] = v;
}

void y_enc_raw(y_enc *e, const void *p, size_t n)
{
    if (n && y_enc_reserve(e, n)) {
        memcpy(e->data + e->len, p, n);
        e->len += n;
    }
}

void y_enc_varuint(y_enc *e, uint64_t v)
{
    if (!y_enc_reserve(e, 10))
        return;
    while (v > 0x7f) {
        e->data[e->len++] = (uint8_t)(0x80 | (v & 0x7f));
        v >>= 7;
    }
    e->data[e->len++] = (uint8_t)v;
}

void y_enc_varint(y_enc *e, int64_t v, bool negative_zero)
{
    if (!y_enc_reserve(e, 11))
        return;
    bool neg = v < 0 || (v == 0 && negative_zero);
    uint64_t m = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
    e->data[e->len++] = (uint8_t)((m > 0x3f ? 0x80 : 0) | (neg ? 0x40 : 0) | (m & 0x3f));
    m >>= 6;
    while (m > 0) {
        e->data[e->len++] = (uint8_t)((m > 0x7f ? 0x80 : 0) | (m & 0x7f));
        m >>= 7;
    }
}

void y_enc_varbytes(y_enc *e, const uint8_t *p, size_t n)
{
    y_enc_varuint(e, n);
    y_enc_raw(e, p, n);
}

void y_enc_varstring(y_enc *e, const char *s, size_t n)
{
    y_enc_varuint(e, n);
    y_enc_raw(e, s, n);
}

static void enc_be(y_enc *e, uint64_t bits, int nbytes)
{
    if (!y_enc_reserve(e, (size_t)nbytes))
        return;
    for (int i = nbytes - 1; i >= 0; i--)
        e->data[e->len++] = (uint8_t)(bits >> (i * 8));
}

void y_enc_f32(y_enc *e, float v)
{
    uint32_t bits;
    memcpy(&bits, &v, 4);
    enc_be(e, bits, 4);
}

void y_enc_f64(y_enc *e, double v)
{
    uint64_t bits;
    memcpy(&bits, &v, 8);
    enc_be(e, bits, 8);
}

void y_enc_i64(y_enc *e, int64_t v)
{
    enc_be(e, (uint64_t)v, 8);
}

int y_enc_finish(y_enc *e, uint8_t **out, size_t *out_len)
{
    if (e->oom || !y_enc_reserve(e, 1)) {
        y_enc_release(e);
        return Y_ENOMEM;
    }
    *out = e->data;
    if (out_len)
        *out_len = e->len;
    e->data = NULL;
    e->len = e->cap = 0;
    return Y_OK;
}

uint8_t y_dec_u8(y_dec *d)
{
    if (d->p >= d->end) {
        d->err = true;
        return 0;
    }
    return *d->p++;
}

uint64_t y_dec_varuint(y_dec *d)
{
    uint64_t v = 0;
    unsigned shift = 0;
    for (;;) {
        if (d->p >= d->end || shift > 56) {
            d->err = true;
            return 0;
        }
        uint8_t b = *d->p++;
        v |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80))
            break;
        shift += 7;
    }
    if (v > Y_MAX_SAFE_INTEGER) {
        d->err = true;
        return 0;
    }
    return v;
}

int64_t y_dec_varint(y_dec *d, bool *negative_zero)
{
    if (negative_zero)
        *negative_zero = false;
    if (d->p >= d->end) {
        d->err = true;
        return 0;
    }
    uint8_t b = *d->p++;
    uint64_t m = b & 0x3f;
    bool neg = (b & 0x40) != 0;
    unsigned shift = 6;
    while (b & 0x80) {
        if (d->p >= d->end || shift > 55) {
            d->err = true;
            return 0;
        }
        b = *d->p++;
        m |= (uint64_t)(b & 0x7f) << shift;
        shift += 7;
    }
    if (m > Y_MAX_SAFE_INTEGER) {
        d->err = true;
        return 0;
    }
    if (neg && m == 0 && negative_zero)
        *negative_zero = true;
    return neg ? -(int64_t)m : (int64_t)m;
}

const uint8_t *y_dec_raw(y_dec *d, size_t n)
{
    if (d->err || y_dec_left(d) < n) {
        d->err = true;
        return NULL;
    }
    const uint8_t *p = d->p;
    d->p += n;
    return p;
}

const uint8_t *y_dec_varbytes(y_dec *d, size_t *n)
{
    uint64_t len = y_dec_varuint(d);
    if (d->err || len > y_dec_left(d)) {
        d->err = true;
        *n = 0;
        return NULL;
    }
    *n = (size_t)len;
    return y_dec_raw(d, (size_t)len);
}

const char *y_dec_varstring(y_dec *d, size_t *n)
{
    const uint8_t *p = y_dec_varbytes(d, n);
    if (!p)
        return NULL;
    if (!y_utf8_valid((const char *)p, *n)) {
        d->err = true;
        *n = 0;
        return NULL;
    }
    return (const char *)p;
}

static uint64_t dec_be(y_dec *d, int nbytes)
{
    const uint8_t *p = y_dec_raw(d, (size_t)nbytes);
    uint64_t v = 0;
    if (!p)
        return 0;
    for (int i = 0; i < nbytes; i++)
        v = (v << 8) | p[i];
    return v;
}

float y_dec_f32(y_dec *d)
{
    uint32_t bits = (uint32_t)dec_be(d, 4);
    float f;
    memcpy(&f, &bits, 4);
    return f;
}

double y_dec_f64(y_dec *d)
{
    uint64_t bits = dec_be(d, 8);
    double f;
    memcpy(&f, &bits, 8);
    return f;
}

int64_t y_dec_i64(y_dec *d)
{
    return (int64_t)dec_be(d, 8);
}

bool y_utf8_valid(const char *str, size_t n)
{
    const uint8_t *s = (const uint8_t *)str, *end = s + n;
    while (s < end) {
        /* Text is mostly ASCII: eight bytes at a time while none has its high bit set. */
        uint64_t w;
        while ((size_t)(end - s) >= 8 && (memcpy(&w, s, 8), !(w & 0x8080808080808080ULL)))
            s += 8;
        if (s == end)
            break;
        uint8_t c = *s;
        if (c < 0x80) {
            s++;
            continue;
        }
        size_t need;
        uint32_t cp;
        if (c >= 0xc2 && c <= 0xdf) {
            need = 1;
            cp = c & 0x1f;
        } else if (c >= 0xe0 && c <= 0xef) {
            need = 2;
            cp = c & 0x0f;
        } else if (c >= 0xf0 && c <= 0xf4) {
            need = 3;
            cp = c & 0x07;
        } else {
            return false;
        }
        if ((size_t)(end - s) <= need)
            return false;
        for (size_t i = 1; i <= need; i++) {
            if ((s[i] & 0xc0) != 0x80)
                return false;
            cp = (cp << 6) | (s[i] & 0x3f);
        }
        if ((need == 2 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
            (need == 3 && (cp < 0x10000 || cp > 0x10ffff)))
            return false;
        s += need + 1;
    }
    return true;
}

size_t y_utf16_len(const char *str, size_t n)
{
    const uint8_t *s = (const uint8_t *)str;
    size_t units = 0, i = 0;
    while (i < n) {
        uint64_t w;
        if (n - i >= 8 && (memcpy(&w, s + i, 8), !(w & 0x8080808080808080ULL))) {
            units += 8; /* eight ASCII bytes: eight UTF-16 units */
            i += 8;
            continue;
        }
        uint8_t c = s[i++];
        if ((c & 0xc0) != 0x80)
            units += c >= 0xf0 ? 2 : 1;
    }
    return units;
}

/* ---- Any --------------------------------------------------------------------------- */

/* JS Object.keys order: array-index keys ("0".."4294967294", canonical form) ascending,
 * then the rest in insertion order. */
bool y_js_index_key(const char *k, uint64_t *out)
{
    size_t n = strlen(k);
    if (n == 0 || n > 10 || (n > 1 && k[0] == '0'))
        return false;
    uint64_t v = 0;
    for (size_t i = 0; i < n; i++) {
        if (k[i] < '0' || k[i] > '9')
            return false;
        v = v * 10 + (uint64_t)(k[i] - '0');
    }
    if (v >= 4294967295ULL)
        return false;
    *out = v;
    return true;
}

void y_js_number(double v, char *buf)
{
    if (v == 0) {
        strcpy(buf, "0");
        return;
    }
    if (isnan(v) || isinf(v)) {
        strcpy(buf, isnan(v) ? "NaN" : v > 0 ? "Infinity" : "-Infinity");
        return;
    }
    /* The shortest digit string that reads back as v (printf rounds correctly, so the
     * first precision that round-trips gives the digits JS picks). */
    char tmp[40];
    for (int prec = 0; prec < 17; prec++) {
        snprintf(tmp, sizeof tmp, "%.*e", prec, v);
        if (strtod(tmp, NULL) == v)
            break;
    }
    const char *p = tmp;
    char *o = buf;
    if (*p == '-')
        *o++ = *p++;
    char digits[24];
    int k = 0;
    for (; *p && *p != 'e'; p++)
        if (*p >= '0' && *p <= '9')
            digits[k++] = *p;
    while (k > 1 && digits[k - 1] == '0')
        k--;
    int n = atoi(p + 1) + 1; /* v = 0.digits * 10^n */
    if (k <= n && n <= 21) {
        memcpy(o, digits, (size_t)k);
        o += k;
        for (int i = k; i < n; i++)
            *o++ = '0';
    } else if (0 < n && n <= 21) {
        memcpy(o, digits, (size_t)n);
        o += n;
        *o++ = '.';
        memcpy(o, digits + n, (size_t)(k - n));
        o += k - n;
    } else if (-6 < n && n <= 0) {
        *o++ = '0';
        *o++ = '.';
        for (int i = 0; i < -n; i++)
            *o++ = '0';
        memcpy(o, digits, (size_t)k);
        o += k;
    } else {
        *o++ = digits[0];
        if (k > 1) {
            *o++ = '.';
            memcpy(o, digits + 1, (size_t)(k - 1));
            o += k - 1;
        }
        o += sprintf(o, "e%c%d", n - 1 >= 0 ? '+' : '-', abs(n - 1));
    }
    *o = 0;
}

static void encode_number(y_enc *e, double n)
{
    if (n == floor(n) && fabs(n) <= 2147483647.0) {
        /* -0 is an integer for JS and encodes as negative zero. */
        y_enc_u8(e, 125);
        y_enc_varint(e, (int64_t)n, n == 0 && signbit(n));
    } else if (isnan(n) || (isfinite(n) && fabs(n) > FLT_MAX) || (double)(float)n != n) {
        /* Out-of-range casts to float are undefined in C, so large finite values are sent to
         * float64 before the round-trip test (they cannot be exact float32 anyway). */
        y_enc_u8(e, 123);
        y_enc_f64(e, n);
    } else {
        y_enc_u8(e, 124);
        y_enc_f32(e, (float)n);
    }
}

void y_any_encode(y_enc *e, const y_any *a)
{
    switch (a->kind) {
    case Y_ANY_UNDEFINED:
        y_enc_u8(e, 127);
        break;
    case Y_ANY_NULL:
        y_enc_u8(e, 126);
        break;
    case Y_ANY_BOOL:
        y_enc_u8(e, a->u.b ? 120 : 121);
        break;
    case Y_ANY_NUMBER:
        encode_number(e, a->u.num);
        break;
    case Y_ANY_BIGINT:
        y_enc_u8(e, 122);
        y_enc_i64(e, a->u.bigint);
        break;
    case Y_ANY_STRING:
        y_enc_u8(e, 119);
        y_enc_varstring(e, a->u.str.ptr, a->u.str.len);
        break;
    case Y_ANY_BINARY:
        y_enc_u8(e, 116);
        y_enc_varbytes(e, a->u.bin.ptr, a->u.bin.len);
        break;
    case Y_ANY_ARRAY:
        y_enc_u8(e, 117);
        y_enc_varuint(e, a->u.arr.len);
        for (size_t i = 0; i < a->u.arr.len; i++)
            y_any_encode(e, &a->u.arr.items[i]);
        break;
    case Y_ANY_OBJECT: {
        size_t n = a->u.obj.len, nidx = 0;
        y_enc_u8(e, 118);
        y_enc_varuint(e, n);
        uint64_t v;
        for (size_t i = 0; i < n; i++)
            nidx += y_js_index_key(a->u.obj.keys[i], &v);
        if (nidx) {
            /* Index-like keys first, ascending (a small selection sort: objects are small). */
            uint64_t last = 0;
            bool have_last = false;
            for (size_t done = 0; done < nidx; done++) {
                size_t best = n;
                uint64_t bestv = 0;
                for (size_t i = 0; i < n; i++) {
                    if (y_js_index_key(a->u.obj.keys[i], &v) && (!have_last || v > last) &&
                        (best == n || v < bestv)) {
                        best = i;
                        bestv = v;
                    }
                }
                if (best == n)
                    break;
                y_enc_varstring(e, a->u.obj.keys[best], strlen(a->u.obj.keys[best]));
                y_any_encode(e, &a->u.obj.values[best]);
                last = bestv;
                have_last = true;
            }
        }
        for (size_t i = 0; i < n; i++) {
            if (nidx && y_js_index_key(a->u.obj.keys[i], &v))
                continue;
            y_enc_varstring(e, a->u.obj.keys[i], strlen(a->u.obj.keys[i]));
            y_any_encode(e, &a->u.obj.values[i]);
        }
        break;
    }
    }
}

static char *dup_str(const char *s, size_t n)
{
    char *p = malloc(n + 1);
    if (p) {
        memcpy(p, s, n);
        p[n] = 0;
    }
    return p;
}

static int any_decode(y_dec *d, y_any *out, int depth)
{
    memset(out, 0, sizeof *out);
    out->kind = Y_ANY_UNDEFINED;
    if (depth > Y_ANY_MAX_DEPTH) {
        d->err = true;
        return Y_EDECODE;
    }
    uint8_t tag = y_dec_u8(d);
    if (d->err)
        return Y_EDECODE;
    switch (tag) {
    case 127:
        out->kind = Y_ANY_UNDEFINED;
        break;
    case 126:
        out->kind = Y_ANY_NULL;
        break;
    case 125: {
        /* yjs writes a JS -0 as the varInt -0 (0x40); it must come back as -0 so that the
         * value is written again with the same byte (merge, diff, state updates). */
        bool negative_zero;
        int64_t v = y_dec_varint(d, &negative_zero);
        out->kind = Y_ANY_NUMBER;
        out->u.num = negative_zero ? -0.0 : (double)v;
        break;
    }
    case 124:
        out->kind = Y_ANY_NUMBER;
        out->u.num = (double)y_dec_f32(d);
        break;
    case 123:
        out->kind = Y_ANY_NUMBER;
        out->u.num = y_dec_f64(d);
        break;
    case 122:
        out->kind = Y_ANY_BIGINT;
        out->u.bigint = y_dec_i64(d);
        break;
    case 121:
    case 120:
        out->kind = Y_ANY_BOOL;
        out->u.b = tag == 120;
        break;
    case 119: {
        size_t n;
        const char *s = y_dec_varstring(d, &n);
        if (!s)
            return Y_EDECODE;
        out->u.str.ptr = dup_str(s, n);
        if (!out->u.str.ptr)
            return Y_ENOMEM;
        out->u.str.len = n;
        out->kind = Y_ANY_STRING;
        break;
    }
    case 116: {
        size_t n;
        const uint8_t *p = y_dec_varbytes(d, &n);
        if (!p)
            return Y_EDECODE;
        out->u.bin.ptr = malloc(n ? n : 1);
        if (!out->u.bin.ptr)
            return Y_ENOMEM;
        memcpy(out->u.bin.ptr, p, n);
        out->u.bin.len = n;
        out->kind = Y_ANY_BINARY;
        break;
    }
    case 117: {
        uint64_t n = y_dec_varuint(d);
        /* Every element takes at least one byte: a count beyond the input is malformed. */
        if (d->err || n > y_dec_left(d))
            return Y_EDECODE;
        out->kind = Y_ANY_ARRAY;
        out->u.arr.items = calloc(n ? n : 1, sizeof(y_any));
        if (!out->u.arr.items)
            return Y_ENOMEM;
        for (uint64_t i = 0; i < n; i++) {
            int rc = any_decode(d, &out->u.arr.items[i], depth + 1);
            out->u.arr.len = i + 1;
            if (rc)
                return rc;
        }
        break;
    }
    case 118: {
        uint64_t n = y_dec_varuint(d);
        if (d->err || n > y_dec_left(d) / 2)
            return Y_EDECODE;
        out->kind = Y_ANY_OBJECT;
        out->u.obj.keys = calloc(n ? n : 1, sizeof(char *));
        out->u.obj.values = calloc(n ? n : 1, sizeof(y_any));
        if (!out->u.obj.keys || !out->u.obj.values)
            return Y_ENOMEM;
        for (uint64_t i = 0; i < n; i++) {
            size_t kl;
            const char *k = y_dec_varstring(d, &kl);
            if (!k)
                return Y_EDECODE;
            y_any val;
            int rc = any_decode(d, &val, depth + 1);
            if (rc) {
                y_any_release(&val);
                return rc;
            }
            /* A repeated key keeps the last value at the first key's position (JS). */
            size_t j;
            for (j = 0; j < out->u.obj.len; j++)
                if (strlen(out->u.obj.keys[j]) == kl && memcmp(out->u.obj.keys[j], k, kl) == 0)
                    break;
            if (j < out->u.obj.len) {
                y_any_release(&out->u.obj.values[j]);
                out->u.obj.values[j] = val;
                continue;
            }
            char *key = dup_str(k, kl);
            if (!key) {
                y_any_release(&val);
                return Y_ENOMEM;
            }
            out->u.obj.keys[out->u.obj.len] = key;
            out->u.obj.values[out->u.obj.len] = val;
            out->u.obj.len++;
        }
        break;
    }
    default:
        /* lib0 reads unknown tags as undefined without consuming more input. */
        out->kind = Y_ANY_UNDEFINED;
        break;
    }
    return d->err ? Y_EDECODE : Y_OK;
}

int y_any_decode(y_dec *d, y_any *out)
{
    int rc = any_decode(d, out, 0);
    if (rc)
        y_any_release(out);
    return rc;
}

void y_any_release(y_any *a)
{
    if (!a)
        return;
    switch (a->kind) {
    case Y_ANY_STRING:
        free(a->u.str.ptr);
        break;
    case Y_ANY_BINARY:
        free(a->u.bin.ptr);
        break;
    case Y_ANY_ARRAY:
        for (size_t i = 0; i < a->u.arr.len; i++)
            y_any_release(&a->u.arr.items[i]);
        free(a->u.arr.items);
        break;
    case Y_ANY_OBJECT:
        for (size_t i = 0; i < a->u.obj.len; i++) {
            free(a->u.obj.keys[i]);
            y_any_release(&a->u.obj.values[i]);
        }
        free(a->u.obj.keys);
        free(a->u.obj.values);
        break;
    default:
        break;
    }
    a->kind = Y_ANY_UNDEFINED;
}

int y_any_copy(y_any *dst, const y_any *src)
{
    /* Encode + decode keeps one code path for deep copies (values are small). Copies of
     * strings that are not valid UTF-8 are refused, as they could not be encoded. */
    if (src->kind == Y_ANY_STRING && !y_utf8_valid(src->u.str.ptr, src->u.str.len))
        return Y_EINVAL;
    y_enc e = Y_ENC_INIT;
    y_any_encode(&e, src);
    if (e.oom) {
        y_enc_release(&e);
        return Y_ENOMEM;
    }
    y_dec d;
    y_dec_init(&d, e.data, e.len);
    int rc = y_any_decode(&d, dst);
    y_enc_release(&e);
    return rc;
}

bool y_any_equal(const y_any *a, const y_any *b)
{
    if (a->kind != b->kind)
        return false;
    switch (a->kind) {
    case Y_ANY_UNDEFINED:
    case Y_ANY_NULL:
        return true;
    case Y_ANY_BOOL:
        return a->u.b == b->u.b;
    case Y_ANY_NUMBER:
        return a->u.num == b->u.num || (isnan(a->u.num) && isnan(b->u.num));
    case Y_ANY_BIGINT:
        return a->u.bigint == b->u.bigint;
    case Y_ANY_STRING:
        return a->u.str.len == b->u.str.len &&
               memcmp(a->u.str.ptr, b->u.str.ptr, a->u.str.len) == 0;
    case Y_ANY_BINARY:
        return a->u.bin.len == b->u.bin.len &&
               memcmp(a->u.bin.ptr, b->u.bin.ptr, a->u.bin.len) == 0;
    case Y_ANY_ARRAY:
        if (a->u.arr.len != b->u.arr.len)
            return false;
        for (size_t i = 0; i < a->u.arr.len; i++)
            if (!y_any_equal(&a->u.arr.items[i], &b->u.arr.items[i]))
                return false;
        return true;
    case Y_ANY_OBJECT:
        if (a->u.obj.len != b->u.obj.len)
            return false;
        for (size_t i = 0; i < a->u.obj.len; i++) {
            size_t j;
            for (j = 0; j < b->u.obj.len; j++)
                if (strcmp(a->u.obj.keys[i], b->u.obj.keys[j]) == 0)
                    break;
            if (j == b->u.obj.len || !y_any_equal(&a->u.obj.values[i], &b->u.obj.values[j]))
                return false;
        }
        return true;
    }
    return false;
}
