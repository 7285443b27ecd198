/* idmap.c - the path -> entry id table of `.diaryx/ids` (see idmap.h). */
#include "diaryx/idmap.h"

#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "diaryx/buf.h"
#include "diaryx/fs.h"
#include "diaryx/uuid.h"

#define GONE "------------------------------------" /* 36: the path has no entry */

/* One line "<id> <path>\n" (no printf: 10k of them per full write). */
static int put_line(dx_buf *b, const char *id, const char *path)
{
    dx_buf_puts(b, id);
    dx_buf_putc(b, ' ');
    dx_buf_puts(b, path);
    dx_buf_putc(b, '\n');
    return dx_buf_error(b);
}

/* The table's path under root, or DX_ENOMEM (with err set). */
static int file_path(const char *root, dx_buf *out, dx_error *err)
{
    return dx_buf_printf(out, "%s/%s", root, DX_IDMAP_FILE)
               ? dx_error_set(err, DX_ENOMEM, "out of memory")
               : 0;
}

int dx_idmap_put(dx_strmap *m, const char *path, const char *id)
{
    char *v = strdup(id);
    if (!v)
        return DX_ENOMEM;
    char *old = dx_strmap_get(m, path);
    if (dx_strmap_put(m, path, v)) {
        free(v);
        return DX_ENOMEM;
    }
    free(old);
    return 0;
}

int dx_idmap_read(const char *root, dx_strmap *out, dx_error *err)
{
    dx_buf p = DX_BUF_INIT, bytes = DX_BUF_INIT;
    int rc = file_path(root, &p, err);
    if (!rc)
        rc = dx_file_read(p.data, &bytes, err);
    if (rc == DX_ENOTFOUND) {
        dx_error_clear(err);
        rc = 0;
    }
    char *s = rc ? NULL : bytes.data;
    while (!rc && s && *s) {
        char *nl = strchr(s, '\n');
        if (!nl)
            break; /* a torn last line */
        *nl = 0;
        if (nl - s > DX_UUID_LEN + 1 && s[DX_UUID_LEN] == ' ') {
            s[DX_UUID_LEN] = 0;
            const char *path = s + DX_UUID_LEN + 1;
            if (!strcmp(s, GONE))
                free(dx_strmap_remove(out, path));
            else if (dx_uuid_valid(s) && dx_idmap_put(out, path, s))
                rc = dx_error_set(err, DX_ENOMEM, "out of memory reading '%s'", p.data);
        }
        s = nl + 1;
    }
    dx_buf_release(&p);
    dx_buf_release(&bytes);
    return rc;
}

int dx_idmap_write(const char *root, const dx_strmap *map, dx_error *err)
{
    dx_buf p = DX_BUF_INIT, text = DX_BUF_INIT;
    int rc = 0;
    for (size_t i = 0; !rc && i < map->cap; i++) {
        const char *path = map->slots[i].key, *id = map->slots[i].value;
        if (path && id && !strchr(path, '\n') && put_line(&text, id, path))
            rc = dx_error_set(err, DX_ENOMEM, "out of memory writing the entry ids");
    }
    /* A new file renamed over the old one, without fsync: the table is a hint (a crash of the
     * machine may leave it empty: entries then get new ids), and a commit should not wait for
     * the disk twice. */
    dx_buf tmp = DX_BUF_INIT;
    if (!rc && !(rc = file_path(root, &p, err)) && dx_buf_printf(&tmp, "%s.tmp", p.data))
        rc = dx_error_set(err, DX_ENOMEM, "out of memory"); /* writers hold .diaryx/commit.lock */
    int fd = rc ? -1 : open(tmp.data, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    bool ok = fd >= 0 && write(fd, dx_buf_cstr(&text), text.len) == (ssize_t)text.len;
    if (fd >= 0 && close(fd) != 0)
        ok = false;
    if (!rc && (!ok || rename(tmp.data, p.data) != 0)) {
        rc = dx_error_set(err, DX_EIO, "cannot write '%s': %s", p.data, strerror(errno));
        unlink(tmp.data);
    }
    dx_buf_release(&tmp);
    dx_buf_release(&p);
    dx_buf_release(&text);
    return rc;
}

int dx_idmap_append(const char *root, const char *const *paths, const char *const *ids, size_t n,
                    dx_error *err)
{
    dx_buf p = DX_BUF_INIT, text = DX_BUF_INIT;
    int rc = 0;
    for (size_t i = 0; !rc && i < n; i++)
        if (!strchr(paths[i], '\n') && put_line(&text, ids[i] ? ids[i] : GONE, paths[i]))
            rc = dx_error_set(err, DX_ENOMEM, "out of memory writing the entry ids");
    if (!rc)
        rc = file_path(root, &p, err);
    int fd = rc || !text.len ? -1 : open(p.data, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
    if (!rc && text.len && (fd < 0 || write(fd, text.data, text.len) != (ssize_t)text.len))
        rc = dx_error_set(err, DX_EIO, "cannot append to '%s': %s", p.data, strerror(errno));
    if (fd >= 0)
        close(fd);
    dx_buf_release(&p);
    dx_buf_release(&text);
    return rc;
}

void dx_idmap_release(dx_strmap *m)
{
    for (size_t i = 0; i < m->cap; i++)
        if (m->slots[i].key)
            free(m->slots[i].value);
    dx_strmap_release(m);
}
