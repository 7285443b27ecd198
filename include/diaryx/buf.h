/* buf.h - dx_buf, the one growable byte buffer for string building and encoder output.
 *
 * A dx_buf is always NUL-terminated once it holds memory (data[len] == 0), so data can be
 * used as a C string when the contents are text. It can be initialised on the stack
 * (`dx_buf b = DX_BUF_INIT;`), hand its memory over (dx_buf_detach), and be capped with a
 * limit (appends past the limit fail with DX_ELIMIT) when untrusted input feeds it.
 * Every function returning int returns 0 or DX_ENOMEM / DX_ELIMIT (DX_EINVAL for a bad
 * printf format). The first failure is kept (sticky, as SQLite's sqlite3_str and curl's
 * dynbuf do): the contents stay as they were before it, every later append fails with the
 * same code and changes nothing, so a caller may build a string with unchecked appends and
 * check dx_buf_error() once at the end. dx_buf_reset and dx_buf_release clear it. */
#ifndef DX_BUF_H
#define DX_BUF_H

#include <stdarg.h>
#include <stddef.h>

typedef struct dx_buf {
    char *data;   /* NULL until the first append; then NUL-terminated */
    size_t len;   /* bytes used, not counting the terminating NUL */
    size_t cap;   /* bytes allocated */
    size_t limit; /* 0 = unlimited, else the maximum len */
    int err;      /* the first failure (0: none), see above */
} dx_buf;

#define DX_BUF_INIT                                                                                \
    {                                                                                              \
        .data = NULL, .len = 0, .cap = 0, .limit = 0, .err = 0                                     \
    }

/* Ensure room for `extra` more bytes (plus the NUL). */
int dx_buf_grow(dx_buf *b, size_t extra);
int dx_buf_append(dx_buf *b, const void *data, size_t len);
int dx_buf_puts(dx_buf *b, const char *s);
int dx_buf_putc(dx_buf *b, char c);
int dx_buf_printf(dx_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int dx_buf_vprintf(dx_buf *b, const char *fmt, va_list ap);

/* The first failure of an append since the last reset or release (0 when none). */
int dx_buf_error(const dx_buf *b);

/* The contents as a C string: "" when the buffer never held memory. Borrowed. */
const char *dx_buf_cstr(const dx_buf *b);

/* Shorten to len bytes (no-op when len >= b->len). */
void dx_buf_truncate(dx_buf *b, size_t len);
/* Empty the buffer, keeping its memory; the error is cleared. */
void dx_buf_reset(dx_buf *b);
/* Free the memory; the buffer is DX_BUF_INIT afterwards (the limit is kept). Accepts NULL. */
void dx_buf_release(dx_buf *b);
/* Hand the memory over: returns data (caller frees with free(); never NULL unless out of
 * memory: an empty buffer yields a fresh ""), stores the length in *len when len != NULL,
 * and leaves b empty. */
char *dx_buf_detach(dx_buf *b, size_t *len);
/* Cap the length; 0 removes the cap. */
void dx_buf_set_limit(dx_buf *b, size_t limit);

#endif
