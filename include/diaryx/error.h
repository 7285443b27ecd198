/* error.h - the one error convention of the diaryx libraries.
 *
 * Functions return int: 0 on success, a negative DX_E* code on failure. Details go into an
 * optional caller-supplied dx_error (code + message); pass NULL when the message is not
 * wanted. Messages say what failed and on what, e.g.
 *   cannot parse frontmatter of 'notes/a.md' (line 3, column 7): mapping values are not
 *   allowed here
 * Nothing is ever stored in globals. */
#ifndef DX_ERROR_H
#define DX_ERROR_H

#include <stddef.h>

enum {
    DX_OK = 0,
    DX_ENOMEM = -1,        /* out of memory */
    DX_EINVAL = -2,        /* invalid argument or usage */
    DX_EIO = -3,           /* operating-system I/O error */
    DX_ENOTFOUND = -4,     /* file, key, entry or document not found */
    DX_EEXIST = -5,        /* already exists */
    DX_EPARSE = -6,        /* malformed input (YAML, TOML, JSON, links, ...) */
    DX_ECORRUPT = -7,      /* stored data is damaged (CRDT bytes, database) */
    DX_EBUSY = -8,         /* resource busy (database locked after retries) */
    DX_ECONFLICT = -9,     /* operation refused by the current state */
    DX_EUNSUPPORTED = -10, /* feature or format not supported */
    DX_ELIMIT = -11,       /* size or count limit exceeded */
    DX_EPATH = -12,        /* path escapes the workspace or is not allowed */
    DX_EVALIDATE = -13,    /* validation failed */
    DX_EAUTH = -14,        /* not signed in, or not allowed */
};

#define DX_ERROR_MSG_MAX 1024

typedef struct dx_error {
    int code;
    char msg[DX_ERROR_MSG_MAX];
} dx_error;

#define DX_ERROR_INIT                                                                              \
    {                                                                                              \
        0,                                                                                         \
        {                                                                                          \
            0                                                                                      \
        }                                                                                          \
    }

/* Record code and a printf-style message in err (when err is not NULL); returns code, so
 * `return dx_error_set(err, DX_EIO, "cannot open '%s': %s", p, strerror(errno));` works. */
int dx_error_set(dx_error *err, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Prefix the existing message: "context: old message". Returns err->code (or 0 if NULL). */
int dx_error_prefix(dx_error *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Reset err to "no error". */
void dx_error_clear(dx_error *err);

/* A short static description of a DX_E* code ("out of memory", ...). */
const char *dx_strerror(int code);

#endif
