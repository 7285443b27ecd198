/* paths.c - lexical workspace-relative path arithmetic; no file-system access. */
#include "diaryx/paths.h"

#include <limits.h>
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
