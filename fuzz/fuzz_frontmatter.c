/* fuzz_frontmatter.c - split, parse, edit and write arbitrary notes; a note that parses
 * must write back, and what was written must parse to the same keys, values and body. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "diaryx/frontmatter.h"

/* An empty key is written as `null:`; both mean the null key. */
static int is_null_key(const char *k)
{
    return !*k || !strcmp(k, "null") || !strcmp(k, "~") || !strcmp(k, "Null") || !strcmp(k, "NULL");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    dx_fm_split sp;
    dx_fm_split_text((const char *)data, size, &sp);
    dx_fm *fm = NULL;
    dx_error err = DX_ERROR_INIT;
    if (dx_fm_parse((const char *)data, size, "fuzz.md", &fm, &err) != 0)
        return 0;
    dx_buf out = DX_BUF_INIT, json = DX_BUF_INIT;
    for (size_t i = 0; i < dx_fm_count(fm); i++) {
        dx_fm_get_json(fm, dx_fm_key(fm, i), &json);
        dx_fm_get_yaml(fm, dx_fm_key(fm, i), &json);
    }
    dx_fm_set(fm, "title", "fuzz: title # x");
    if (dx_fm_write(fm, &out, &err) != 0)
        abort();
    dx_fm *back = NULL;
    if (dx_fm_parse(out.data, out.len, "rewritten.md", &back, &err) != 0)
        abort(); /* everything we write must parse again */
    if (dx_fm_count(back) != dx_fm_count(fm))
        abort();
    dx_buf v1 = DX_BUF_INIT, v2 = DX_BUF_INIT;
    for (size_t i = 0; i < dx_fm_count(fm); i++) {
        if (strcmp(dx_fm_key(fm, i), dx_fm_key(back, i)) != 0 &&
            !(is_null_key(dx_fm_key(fm, i)) && is_null_key(dx_fm_key(back, i))))
            abort();
        /* Every value reads back the same (tags included), in the same form. */
        dx_buf_reset(&v1);
        dx_buf_reset(&v2);
        dx_fm_get_yaml(fm, dx_fm_key(fm, i), &v1);
        dx_fm_get_yaml(back, dx_fm_key(back, i), &v2);
        if (v1.len != v2.len || memcmp(dx_buf_cstr(&v1), dx_buf_cstr(&v2), v1.len) != 0)
            abort();
    }
    dx_buf_release(&v1);
    dx_buf_release(&v2);
    size_t a, b;
    const char *ba = dx_fm_body(fm, &a), *bb = dx_fm_body(back, &b);
    if (a != b || memcmp(ba, bb, a) != 0)
        abort();
    dx_fm_free(back);
    dx_fm_free(fm);
    dx_buf_release(&out);
    dx_buf_release(&json);
    return 0;
}
