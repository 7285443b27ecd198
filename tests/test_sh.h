/* test_sh.h - run a shell command from a test (the git CLI reads what we wrote). */
#ifndef DX_TEST_SH_H
#define DX_TEST_SH_H

#include <stdarg.h>
#include <stdio.h>
#include <sys/wait.h>

#include "diaryx/buf.h"

/* Run the printf-formatted command; its stdout replaces out's contents (out may be NULL).
 * Returns the exit status, or -1 when it could not run or was killed. */
static inline int sh(dx_buf *out, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static inline int sh(dx_buf *out, const char *fmt, ...)
{
    char cmd[4096];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd, sizeof cmd, fmt, ap);
    va_end(ap);
    FILE *p = popen(cmd, "r");
    if (!p)
        return -1;
    if (out)
        dx_buf_reset(out);
    char buf[4096];
    size_t r;
    while ((r = fread(buf, 1, sizeof buf, p)) > 0)
        if (out)
            dx_buf_append(out, buf, r);
    int st = pclose(p);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

#endif
