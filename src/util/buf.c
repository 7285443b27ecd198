/* buf.c - dx_buf: growable, NUL-terminated, optionally capped byte buffer. */
#include "diaryx/buf.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "diaryx/error.h"

/* Keep the first failure (see buf.h). */
static int fail(dx_buf *b, int code)
{
    if (!b->err)
        b->err = code;
    return b->err;
}

int dx_buf_grow(dx_buf *b, size_t extra)
{
    if (b->err)
        return b->err;
    if (extra > SIZE_MAX - b->len - 1)
        return fail(b, DX_ENOMEM);
    size_t need = b->len + extra + 1;
    if (b->limit && b->len + extra > b->limit)
        return fail(b, DX_ELIMIT);
    if (need <= b->cap)
        return 0;
    size_t cap = b->cap ? b->cap : 64;
    while (cap < need)
        cap = cap > SIZE_MAX / 2 ? need : cap * 2;
    char *p = realloc(b->data, cap);
    if (!p)
        return fail(b, DX_ENOMEM);
    if (!b->data)
        p[0] = 0;
    b->data = p;
    b->cap = cap;
    return 0;
}

int dx_buf_append(dx_buf *b, const void *data, size_t len)
{
    int rc = dx_buf_grow(b, len);
    if (rc)
        return rc;
    if (len)
        memcpy(b->data + b->len, data, len);
    b->len += len;
    b->data[b->len] = 0;
    return 0;
}

int dx_buf_puts(dx_buf *b, const char *s)
{
    return dx_buf_append(b, s, strlen(s));
}

int dx_buf_putc(dx_buf *b, char c)
{
    return dx_buf_append(b, &c, 1);
}

int dx_buf_vprintf(dx_buf *b, const char *fmt, va_list ap)
{
    va_list ap2;
    va_copy(ap2, ap);
    int n = b->err ? 0 : vsnprintf(NULL, 0, fmt, ap2);
    va_end(ap2);
    if (n < 0)
        return fail(b, DX_EINVAL);
    int rc = dx_buf_grow(b, (size_t)n);
    if (rc)
        return rc;
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    b->len += (size_t)n;
    return 0;
}

int dx_buf_printf(dx_buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int rc = dx_buf_vprintf(b, fmt, ap);
    va_end(ap);
    return rc;
}

int dx_buf_error(const dx_buf *b)
{
    return b->err;
}

const char *dx_buf_cstr(const dx_buf *b)
{
    return b->data ? b->data : "";
}

void dx_buf_truncate(dx_buf *b, size_t len)
{
    if (len < b->len) {
        b->len = len;
        b->data[len] = 0;
    }
}

void dx_buf_reset(dx_buf *b)
{
    dx_buf_truncate(b, 0);
    b->err = 0;
}

void dx_buf_release(dx_buf *b)
{
    if (!b)
        return;
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
    b->err = 0;
}

char *dx_buf_detach(dx_buf *b, size_t *len)
{
    char *p = b->data;
    if (!p)
        p = calloc(1, 1);
    if (len)
        *len = p ? b->len : 0;
    b->data = NULL;
    b->len = b->cap = 0;
    b->err = 0;
    return p;
}

void dx_buf_set_limit(dx_buf *b, size_t limit)
{
    b->limit = limit;
}
