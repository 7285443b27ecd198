/* ylib0.h - lib0 binary encoding (varUint, sign-magnitude varInt, strings, floats, Any) as
 * yjs writes it: used by ycrdt and by the protocol codecs over it (hocuspocus.h). Encoders
 * never fail mid-way: an allocation failure sets enc->oom and later writes are ignored;
 * check y_enc_finish(). Decoders set dec->err on the first malformed or truncated field and
 * return zeros afterwards. */
#ifndef YCRDT_LIB0_H
#define YCRDT_LIB0_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ycrdt.h"

#define Y_MAX_SAFE_INTEGER 9007199254740991ULL /* 2^53 - 1 */

typedef struct y_enc {
    uint8_t *data;
    size_t len, cap;
    bool oom;
} y_enc;

#define Y_ENC_INIT                                                                                 \
    {                                                                                              \
        NULL, 0, 0, false                                                                          \
    }

void y_enc_release(y_enc *e);
bool y_enc_reserve(y_enc *e, size_t extra);
void y_enc_u8(y_enc *e, uint8_t v);
void y_enc_raw(y_enc *e, const void *p, size_t n);
void y_enc_varuint(y_enc *e, uint64_t v);
/* Sign-magnitude varInt; negative_zero writes -0 (0x40) when v == 0. */
void y_enc_varint(y_enc *e, int64_t v, bool negative_zero);
void y_enc_varbytes(y_enc *e, const uint8_t *p, size_t n);
/* varString of UTF-8 bytes (written as given; callers pass valid UTF-8). */
void y_enc_varstring(y_enc *e, const char *s, size_t n);
void y_enc_f32(y_enc *e, float v);
void y_enc_f64(y_enc *e, double v);
void y_enc_i64(y_enc *e, int64_t v);
/* Y_OK and hands the bytes over (*out may be NULL for 0 bytes? no: always a malloc'd
 * buffer, at least 1 byte allocated), or Y_ENOMEM. The encoder is empty afterwards. */
int y_enc_finish(y_enc *e, uint8_t **out, size_t *out_len);

typedef struct y_dec {
    const uint8_t *p, *end;
    bool err;
} y_dec;

static inline void y_dec_init(y_dec *d, const uint8_t *p, size_t n)
{
    d->p = p;
    d->end = p + n;
    d->err = false;
}
static inline size_t y_dec_left(const y_dec *d)
{
    return (size_t)(d->end - d->p);
}

uint8_t y_dec_u8(y_dec *d);
/* Values above 2^53-1 are an error, as in lib0. */
uint64_t y_dec_varuint(y_dec *d);
/* *negative_zero (may be NULL) tells -0 apart from 0. */
int64_t y_dec_varint(y_dec *d, bool *negative_zero);
/* Borrowed pointer into the input. */
const uint8_t *y_dec_varbytes(y_dec *d, size_t *n);
const uint8_t *y_dec_raw(y_dec *d, size_t n);
/* Borrowed, not NUL-terminated; invalid UTF-8 is an error (lib0 uses a fatal decoder). */
const char *y_dec_varstring(y_dec *d, size_t *n);
float y_dec_f32(y_dec *d);
double y_dec_f64(y_dec *d);
int64_t y_dec_i64(y_dec *d);

/* Number of UTF-16 code units of valid UTF-8. */
size_t y_utf16_len(const char *s, size_t n);

/* Whether k is an array-index key ("0".."4294967294" in canonical form), which JS
 * objects list first, ascending, before the other keys in insertion order. */
bool y_js_index_key(const char *k, uint64_t *out);
/* Write a finite number as JS Number.prototype.toString does (shortest round-trip digits,
 * exponent form below 1e-6 and from 1e21; -0 gives "0"). buf needs 32 bytes. */
void y_js_number(double v, char *buf);

/* Any: encode a value the way lib0's writeAny does (number rules, object key order). */
void y_any_encode(y_enc *e, const y_any *a);
/* Decode one Any into *out (library-allocated; free with y_any_release). Nesting deeper
 * than Y_ANY_MAX_DEPTH is an error, so hostile input cannot exhaust the stack. */
#define Y_ANY_MAX_DEPTH 256
int y_any_decode(y_dec *d, y_any *out);

#endif
