/* fuzz_git_index.c - parse arbitrary bytes as a git index; what parses must patch (one entry
 * removed, one added) into bytes that parse again with the expected entries. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "git_internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    dx_git_index_view v, back;
    dx_error err = DX_ERROR_INIT;
    if (dx_git_index_parse(data, size, &v, &err) != 0) {
        if (err.msg[0] == 0)
            abort(); /* every failure explains itself */
        return 0;
    }
    dx_git_index_edit ed[2];
    memset(ed, 0, sizeof ed);
    size_t ne = 0, want = v.n;
    char *first = NULL;
    if (v.n) { /* remove the first entry */
        first = strndup(v.v[0].path, v.v[0].path_len);
        if (!first)
            abort();
        ed[ne].path = first;
        ed[ne++].remove = 1;
        want--;
    }
    const char *added = "\x7f-fuzz/added.md"; /* sorts after any ASCII path */
    if (!first || strcmp(first, added) < 0) {
        ed[ne].path = added;
        ed[ne].mode = 0100644;
        ed[ne].size = 3;
        memset(ed[ne].id, 0xab, 20);
        ne++;
        want++;
        /* replaced, not added, when it was already there */
        for (size_t i = 0; i < v.n; i++)
            if (v.v[i].path_len == strlen(added) &&
                memcmp(v.v[i].path, added, v.v[i].path_len) == 0)
                want--;
    }
    dx_buf out = DX_BUF_INIT;
    uint64_t digest[2], again[2];
    dx_git_index_digest(data, &v, digest);
    if (dx_git_index_patch(data, &v, ed, ne, NULL, digest, &out, &err) != 0)
        abort();
    if (dx_git_index_parse((const unsigned char *)out.data, out.len, &back, &err) != 0 ||
        back.n != want)
        abort();
    /* the digest updated entry by entry is the digest of the new index */
    dx_git_index_digest((const unsigned char *)out.data, &back, again);
    if (again[0] != digest[0] || again[1] != digest[1])
        abort();
    dx_git_index_view_release(&back);
    dx_git_index_view_release(&v);
    dx_buf_release(&out);
    free(first);
    return 0;
}
