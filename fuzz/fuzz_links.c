/* fuzz_links.c - parse and resolve arbitrary link strings; a link that resolves must be
 * written back in every format and resolve to the same canonical path. */
#include <ctype.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "diaryx/links.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = malloc(size + 1);
    if (!s)
        return 0;
    memcpy(s, data, size);
    s[size] = 0;
    dx_link l;
    if (dx_link_parse(s, &l) == 0)
        dx_link_release(&l);
    dx_buf canon = DX_BUF_INIT;
    dx_error err = DX_ERROR_INIT;
    if (dx_link_resolve(s, "dir/sub/from.md", DX_LINK_MARKDOWN_ROOT, &canon, &err) == 0 &&
        canon.len && !strpbrk(canon.data, "[]<>\n\r") && canon.data[0] != '.') {
        for (int f = 0; f < 4; f++) {
            dx_buf link = DX_BUF_INIT, back = DX_BUF_INIT;
            if (dx_link_write(canon.data, "dir/sub/from.md", NULL, (dx_link_format)f, &link) != 0)
                abort();
            /* A plain link cannot carry leading or trailing white space (links are trimmed). */
            bool padded = link.len && (isspace((unsigned char)link.data[0]) ||
                                       isspace((unsigned char)link.data[link.len - 1]));
            if (!padded &&
                dx_link_resolve(link.data, "dir/sub/from.md", (dx_link_format)f, &back, &err) ==
                    0 &&
                strcmp(dx_buf_cstr(&back), canon.data) != 0 && !strchr(canon.data, '(') &&
                !strchr(canon.data, ')') && !strchr(canon.data, ' '))
                abort();
            dx_buf_release(&link);
            dx_buf_release(&back);
        }
    }
    dx_buf_release(&canon);
    free(s);
    return 0;
}
