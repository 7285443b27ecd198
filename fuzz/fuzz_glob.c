/* fuzz_glob.c - the exclude-glob matcher (util/paths.c, an NFA) against a plain backtracking
 * matcher written from the rules in paths.h. Input: pattern, a newline, the path. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "diaryx/paths.h"

/* The rules, recursively: slow (exponential in the stars) but obviously right. */
static int ref(const char *p, const char *pe, const char *s)
{
    if (p == pe)
        return !*s;
    if (p[0] == '*' && p + 1 < pe && p[1] == '*') {
        const char *q = p;
        while (q < pe && *q == '*')
            q++;
        if (q < pe && *q == '/' && ref(q + 1, pe, s)) /* no directory at all */
            return 1;
        for (const char *t = s;; t++) {
            if (ref(q, pe, t))
                return 1;
            if (!*t)
                return 0;
        }
    }
    if (*p == '*') {
        for (const char *t = s;; t++) {
            if (ref(p + 1, pe, t))
                return 1;
            if (!*t || *t == '/')
                return 0;
        }
    }
    if (!*s || (*p == '?' ? *s == '/' : *p != *s))
        return 0;
    return ref(p + 1, pe, s + 1);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char pat[DX_GLOB_MAX + 64], path[512];
    const uint8_t *nl = memchr(data, '\n', size);
    size_t pl = nl ? (size_t)(nl - data) : size, sl = nl ? size - pl - 1 : 0;
    if (pl >= sizeof pat || sl >= sizeof path)
        return 0;
    memcpy(pat, data, pl);
    pat[pl] = 0;
    memcpy(path, nl ? nl + 1 : data, sl);
    path[sl] = 0;
    bool got = dx_path_glob_match(pat, path);
    /* the pattern as the matcher sees it: leading "./" or "/"s and trailing "/"s dropped */
    const char *p = pat;
    if (p[0] == '.' && p[1] == '/')
        p += 2;
    while (*p == '/')
        p++;
    const char *pe = p + strlen(p);
    while (pe > p && pe[-1] == '/')
        pe--;
    size_t stars = 0;
    for (const char *c = p; c < pe; c++)
        stars += *c == '*';
    if ((size_t)(pe - p) > DX_GLOB_MAX) {
        if (got)
            abort(); /* too long: matches nothing */
        return 0;
    }
    if (stars <= 4 && got != (ref(p, pe, path) != 0))
        abort();
    return 0;
}
