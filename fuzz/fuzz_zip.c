/* fuzz_zip.c - read arbitrary bytes as a ZIP archive (zip.h): every refusal explains itself;
 * what opens extracts to exactly its declared sizes or is refused, only safe names pass,
 * and what extracts whole writes back through the writer and reads again the same. */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "diaryx/buf.h"
#include "diaryx/zip.h"

static int to_buf(void *ud, const void *data, size_t len, dx_error *err)
{
    (void)err;
    return dx_buf_append(ud, data, len);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    dx_zip_limits lim = {4096, 4 << 20, 200};
    dx_zip_reader *r = NULL, *again = NULL;
    dx_zip_writer *w = NULL;
    dx_error err = DX_ERROR_INIT;
    dx_buf bytes = DX_BUF_INIT, z = DX_BUF_INIT, back = DX_BUF_INIT;
    if (dx_zip_reader_open_mem(data, size, &lim, "fuzz.zip", &r, &err) != 0) {
        if (!err.msg[0] || r)
            abort();
        return 0;
    }
    if (dx_zip_writer_new(to_buf, &z, &w, NULL))
        abort();
    bool whole = true;
    for (size_t i = 0; i < dx_zip_count(r); i++) {
        const dx_zip_entry *e = dx_zip_entry_at(r, i);
        size_t nl = strlen(e->name);
        if (!nl || e->name[0] == '/' || strchr(e->name, '\\') || strstr(e->name, "/../") ||
            !strncmp(e->name, "../", 3) || !strcmp(e->name, "..") ||
            (nl >= 3 && !strcmp(e->name + nl - 3, "/..")) || (nl >= 2 && e->name[1] == ':'))
            abort(); /* an unsafe name got through */
        dx_buf_reset(&bytes);
        err.msg[0] = 0;
        int rc = dx_zip_extract(r, i, to_buf, &bytes, &err);
        if (rc) {
            if (!err.msg[0])
                abort();
            whole = false;
            continue;
        }
        if (bytes.len != e->usize)
            abort(); /* a success must have given exactly the declared bytes */
        if (whole && dx_zip_add(w, e->name, e->mode, e->is_dir ? DX_ZIP_STORE : DX_ZIP_DEFLATE,
                                e->dos_time, bytes.data, bytes.len, NULL))
            abort();
    }
    if (whole) {
        if (dx_zip_finish(w, NULL) ||
            dx_zip_reader_open_mem(z.data, z.len, &lim, "rewritten", &again, &err) ||
            dx_zip_count(again) != dx_zip_count(r))
            abort();
        for (size_t i = 0; i < dx_zip_count(r); i++) {
            dx_buf_reset(&bytes);
            dx_buf_reset(&back);
            if (strcmp(dx_zip_entry_at(r, i)->name, dx_zip_entry_at(again, i)->name) ||
                dx_zip_extract(r, i, to_buf, &bytes, NULL) ||
                dx_zip_extract(again, i, to_buf, &back, NULL) || bytes.len != back.len ||
                (bytes.len && memcmp(bytes.data, back.data, bytes.len)))
                abort();
        }
    }
    dx_zip_reader_free(again);
    dx_zip_reader_free(r);
    dx_zip_writer_free(w);
    dx_buf_release(&bytes);
    dx_buf_release(&z);
    dx_buf_release(&back);
    return 0;
}
