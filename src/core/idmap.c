/* idmap.c - the path -> entry id table of `.diaryx/ids` (see idmap.h). */
#include "diaryx/idmap.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "diaryx/buf.h"
#include "diaryx/fs.h"
#include "diaryx/uuid.h"

static void file_path(const char *root, dx_buf *out)
{
    dx_buf_printf(out, "%s/%s", root, DX_IDMAP_FILE);
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
    file_path(root, &p);
    int rc = dx_file_read(p.data, &bytes, err);
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
            if (dx_uuid_valid(s) && !dx_strmap_get(out, path) && dx_idmap_put(out, path, s))
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
        if (path && id && !strchr(path, '\n') && dx_buf_printf(&text, "%s %s\n", id, path) < 0)
            rc = dx_error_set(err, DX_ENOMEM, "out of memory writing the entry ids");
    }
    file_path(root, &p);
    if (!rc)
        rc = dx_file_write_atomic(p.data, dx_buf_cstr(&text), text.len, 0644, err);
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
