/* fuzz_toml.c - parse arbitrary bytes as config TOML; what parses must write back and
 * re-parse to the same entries. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "diaryx/toml.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    dx_toml t = DX_TOML_INIT, back = DX_TOML_INIT;
    dx_error err = DX_ERROR_INIT;
    if (dx_toml_parse((const char *)data, size, "fuzz.toml", &t, &err) != 0) {
        if (err.msg[0] == 0)
            abort(); /* every failure explains itself */
        return 0;
    }
    dx_buf out = DX_BUF_INIT;
    if (dx_toml_write(&t, &out) != 0 ||
        dx_toml_parse(out.data ? out.data : "", out.len, "rewritten", &back, &err) != 0 ||
        back.len != t.len)
        abort();
    for (size_t i = 0; i < t.len; i++) {
        const dx_toml_value *a = &t.entries[i].value;
        const dx_toml_value *b = dx_toml_get(&back, t.entries[i].table, t.entries[i].key);
        if (!b || a->type != b->type || (a->type == DX_TOML_STRING && strcmp(a->str, b->str)) ||
            (a->type == DX_TOML_INT && a->i != b->i) || (a->type == DX_TOML_BOOL && a->b != b->b) ||
            (a->type == DX_TOML_ARRAY && a->arr.len != b->arr.len))
            abort();
    }
    dx_toml_release(&t);
    dx_toml_release(&back);
    dx_buf_release(&out);
    return 0;
}
