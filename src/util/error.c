/* error.c - dx_error: error codes and caller-supplied messages. */
#include "diaryx/error.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

int dx_error_set(dx_error *err, int code, const char *fmt, ...)
{
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        err->code = code;
        vsnprintf(err->msg, sizeof err->msg, fmt, ap);
        va_end(ap);
    }
    return code;
}

int dx_error_prefix(dx_error *err, const char *fmt, ...)
{
    if (!err)
        return 0;
    char prefix[DX_ERROR_MSG_MAX], old[DX_ERROR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(prefix, sizeof prefix, fmt, ap);
    va_end(ap);
    memcpy(old, err->msg, sizeof old);
    /* Truncation of very long messages is acceptable; build the result piecewise so the
     * compiler can see every write is bounded. */
    size_t n = strlen(prefix);
    if (n > sizeof err->msg - 3)
        n = sizeof err->msg - 3;
    memcpy(err->msg, prefix, n);
    memcpy(err->msg + n, ": ", 2);
    size_t room = sizeof err->msg - n - 3, m = strlen(old);
    if (m > room)
        m = room;
    memcpy(err->msg + n + 2, old, m);
    err->msg[n + 2 + m] = 0;
    return err->code;
}

void dx_error_clear(dx_error *err)
{
    if (err) {
        err->code = 0;
        err->msg[0] = 0;
    }
}

const char *dx_strerror(int code)
{
    switch (code) {
    case DX_OK:
        return "success";
    case DX_ENOMEM:
        return "out of memory";
    case DX_EINVAL:
        return "invalid argument";
    case DX_EIO:
        return "input/output error";
    case DX_ENOTFOUND:
        return "not found";
    case DX_EEXIST:
        return "already exists";
    case DX_EPARSE:
        return "malformed input";
    case DX_ECORRUPT:
        return "corrupt data";
    case DX_EBUSY:
        return "resource busy";
    case DX_ECONFLICT:
        return "conflict";
    case DX_EUNSUPPORTED:
        return "not supported";
    case DX_ELIMIT:
        return "limit exceeded";
    case DX_EPATH:
        return "path not allowed";
    case DX_EVALIDATE:
        return "validation failed";
    case DX_EAUTH:
        return "not authorized";
    default:
        return "unknown error";
    }
}
