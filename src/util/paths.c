/* paths.c - lexical workspace-relative path arithmetic; no file-system access. */
#include "diaryx/paths.h"

#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

int dx_path_normalize(const char *path, dx_buf *out, dx_error *err)
{
    size_t base = out->len;
    const char *p = path;
    while (*p) {
        while (*p == '/')
            p++;
        const char *end = strchr(p, '/');
        size_t n = end ? (size_t)(end - p) : strlen(p);
        if (n == 0)
            break;
        if (n == 1 && p[0] == '.') {
            /* skip */
        } else if (n == 2 && p[0] == '.' && p[1] == '.') {
            if (out->len == base) {
                dx_buf_truncate(out, base);
                return dx_error_set(err, DX_EPATH, "'%s' leaves the workspace", path);
            }
            size_t cut = out->len;
            while (cut > base && out->data[cut - 1] != '/')
                cut--;
            dx_buf_truncate(out, cut > base ? cut - 1 : base);
        } else {
            if (out->len > base && dx_buf_putc(out, '/'))
                return DX_ENOMEM;
            if (dx_buf_append(out, p, n))
                return DX_ENOMEM;
        }
        p += n;
    }
    /* Keep out a C string even when nothing was appended. */
    return dx_buf_append(out, "", 0);
}

int dx_path_join(const char *dir, const char *rel, dx_buf *out, dx_error *err)
{
    dx_buf tmp = DX_BUF_INIT;
    int rc = dx_buf_printf(&tmp, "%s/%s", dir, rel);
    if (!rc && (rc = dx_path_normalize(tmp.data, out, NULL)) == DX_EPATH)
        /* Name the path as given, not the joined one ("'../x.md'", not "'/../x.md'"). */
        dx_error_set(err, DX_EPATH, "'%s' leaves the workspace", rel);
    else if (rc)
        dx_error_set(err, rc, "%s", dx_strerror(rc));
    dx_buf_release(&tmp);
    return rc;
}

int dx_path_dirname(const char *path, dx_buf *out)
{
    const char *slash = strrchr(path, '/');
    return dx_buf_append(out, path, slash ? (size_t)(slash - path) : 0);
}

const char *dx_path_basename(const char *path)
{
    const char *slash = strrchr(path, '/');
    return slash ? slash + 1 : path;
}

int dx_path_stem(const char *path, dx_buf *out)
{
    const char *b = dx_path_basename(path);
    const char *dot = strrchr(b, '.');
    return dx_buf_append(out, b, dot && dot != b ? (size_t)(dot - b) : strlen(b));
}

bool dx_path_is_markdown(const char *path)
{
    size_t n = strlen(path);
    return n > 3 && strcasecmp(path + n - 3, ".md") == 0;
}

int dx_path_relative(const char *from_dir, const char *path, dx_buf *out)
{
    /* Common leading components. */
    size_t i = 0, common = 0;
    while (from_dir[i] && path[i] && from_dir[i] == path[i]) {
        if (from_dir[i] == '/')
            common = i + 1;
        i++;
    }
    if (from_dir[i] == 0 && (path[i] == '/' || (i == 0 && from_dir[0] == 0)))
        common = from_dir[0] ? i + 1 : 0;
    /* One `..` per remaining component of from_dir (out is sticky: checked once). */
    const char *rest = from_dir + (common <= strlen(from_dir) ? common : strlen(from_dir));
    while (*rest) {
        dx_buf_puts(out, "../");
        const char *slash = strchr(rest, '/');
        if (!slash)
            break;
        rest = slash + 1;
    }
    dx_buf_puts(out, path + common);
    return dx_buf_error(out);
}

int dx_path_under_root(const char *root, const char *fs_path, dx_buf *out, dx_error *err)
{
    dx_buf abs = DX_BUF_INIT, norm_root = DX_BUF_INIT, norm = DX_BUF_INIT;
    int rc = 0;
    if (fs_path[0] != '/') {
        char cwd[PATH_MAX];
        if (!getcwd(cwd, sizeof cwd)) {
            rc = dx_error_set(err, DX_EIO, "cannot read the current directory");
            goto done;
        }
        rc = dx_buf_printf(&abs, "%s/%s", cwd, fs_path);
    } else {
        rc = dx_buf_puts(&abs, fs_path);
    }
    /* Normalise both as if "/" were a workspace; an escape above "/" cannot happen. */
    if (rc || (rc = dx_path_normalize(abs.data, &norm, err)) ||
        (rc = dx_path_normalize(root, &norm_root, err)))
        goto done;
    size_t rl = norm_root.len;
    if (rl == 0) {
        rc = dx_buf_append(out, norm.data, norm.len);
    } else if (strncmp(norm.data, norm_root.data, rl) == 0 &&
               (norm.data[rl] == 0 || norm.data[rl] == '/')) {
        rc = dx_buf_puts(out, norm.data + rl + (norm.data[rl] == '/'));
    } else {
        rc = dx_error_set(err, DX_EPATH, "'%s' is outside the workspace '%s'", fs_path, root);
    }
done:
    dx_buf_release(&abs);
    dx_buf_release(&norm_root);
    dx_buf_release(&norm);
    return rc;
}

/* ---- globs: an NFA over the pattern's tokens, run with a bit set of live states ---- */

typedef enum { G_LIT, G_ONE, G_STAR, G_DSTAR, G_FORK } glob_tok;

typedef struct glob_prog {
    unsigned char type[DX_GLOB_MAX + 2];
    char lit[DX_GLOB_MAX + 2];
    size_t n; /* tokens; state n accepts */
} glob_prog;

#define GLOB_WORDS ((DX_GLOB_MAX + 2 + 63) / 64 + 1)

static void glob_push(glob_prog *g, glob_tok t, char c)
{
    g->type[g->n] = (unsigned char)t;
    g->lit[g->n++] = c;
}

/* Tokens of pattern (leading "./" or "/" and a trailing "/" dropped); false when too long. */
static bool glob_compile(const char *pat, glob_prog *g)
{
    g->n = 0;
    if (pat[0] == '.' && pat[1] == '/')
        pat += 2;
    while (*pat == '/')
        pat++;
    size_t len = strlen(pat);
    while (len && pat[len - 1] == '/')
        len--;
    if (len > DX_GLOB_MAX)
        return false;
    for (size_t i = 0; i < len; i++) {
        if (pat[i] == '*' && i + 1 < len && pat[i + 1] == '*') {
            while (i + 1 < len && pat[i + 1] == '*')
                i++;
            if (i + 1 < len && pat[i + 1] == '/') {
                /* "**" + "/": no directory (skip to after the slash) or any run ending in one */
                glob_push(g, G_FORK, 0);
                glob_push(g, G_DSTAR, 0);
                glob_push(g, G_LIT, '/');
                i++;
            } else {
                glob_push(g, G_DSTAR, 0);
            }
        } else if (pat[i] == '*') {
            glob_push(g, G_STAR, 0);
        } else if (pat[i] == '?') {
            glob_push(g, G_ONE, 0);
        } else {
            glob_push(g, G_LIT, pat[i]);
        }
    }
    return true;
}

/* Add state j and the states it reaches without reading a character. */
static void glob_add(const glob_prog *g, uint64_t *set, size_t j)
{
    if (set[j / 64] & (UINT64_C(1) << (j % 64)))
        return;
    set[j / 64] |= UINT64_C(1) << (j % 64);
    if (j == g->n)
        return;
    if (g->type[j] == G_STAR || g->type[j] == G_DSTAR)
        glob_add(g, set, j + 1);
    else if (g->type[j] == G_FORK) {
        glob_add(g, set, j + 1);
        glob_add(g, set, j + 3);
    }
}

static bool glob_run(const glob_prog *g, const char *s)
{
    uint64_t cur[GLOB_WORDS] = {0}, next[GLOB_WORDS];
    glob_add(g, cur, 0);
    for (; *s; s++) {
        memset(next, 0, sizeof next);
        bool any = false;
        for (size_t j = 0; j < g->n; j++) {
            if (!(cur[j / 64] & (UINT64_C(1) << (j % 64))))
                continue;
            switch (g->type[j]) {
            case G_LIT:
                if (*s == g->lit[j])
                    glob_add(g, next, j + 1), any = true;
                break;
            case G_ONE:
                if (*s != '/')
                    glob_add(g, next, j + 1), any = true;
                break;
            case G_STAR:
                if (*s != '/')
                    glob_add(g, next, j), any = true;
                break;
            case G_DSTAR:
                glob_add(g, next, j), any = true;
                break;
            }
        }
        if (!any)
            return false;
        memcpy(cur, next, sizeof cur);
    }
    return (cur[g->n / 64] & (UINT64_C(1) << (g->n % 64))) != 0;
}

bool dx_path_glob_match(const char *pattern, const char *path)
{
    glob_prog g;
    return glob_compile(pattern, &g) && glob_run(&g, path);
}

bool dx_path_excluded(char *const *patterns, size_t n, const char *rel)
{
    const char *name = dx_path_basename(rel);
    for (size_t i = 0; i < n; i++) {
        glob_prog g;
        if (glob_compile(patterns[i], &g) && (glob_run(&g, rel) || glob_run(&g, name)))
            return true;
    }
    return false;
}
