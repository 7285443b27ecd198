/* cmd_search.c - `diaryx search PATTERN [--property KEY] [--json]`. */
#include <jansson.h>
#include <stdio.h>

#include "cli.h"

static const char USAGE[] =
    "usage: diaryx search PATTERN [--property KEY] [--json]\n\n"
    "Case-insensitive search of every entry's body (printed as FILE:LINE:TEXT), or of the\n"
    "value of one frontmatter property (FILE: VALUE). Exit status 1 when nothing matches.\n";

int cmd_search(cli_ctx *ctx, int argc, char **argv)
{
    const char *property = NULL;
    bool json = false;
    cli_opt opts[] = {{"property", 'p', &property, NULL}, {"json", 0, NULL, &json}, {NULL}};
    dx_strlist pos = DX_STRLIST_INIT;
    dx_workspace *ws = NULL;
    dx_matches m = {0};
    dx_error err = DX_ERROR_INIT;
    int rc = cli_parse(USAGE, opts, argc, argv, &pos);
    if (!rc && pos.len != 1)
        rc = cli_usage("search", "expected one PATTERN");
    if (!rc)
        rc = cli_open_read(ctx, &ws);
    if (!rc && dx_workspace_search(ws, pos.items[0], property, &m, &err))
        rc = cli_fail(&err);
    if (!rc && json) {
        json_t *a = json_array();
        for (size_t i = 0; i < m.len; i++)
            json_array_append_new(a,
                                  json_pack("{s:s, s:I, s:s}", "file", m.items[i].file, "line",
                                            (json_int_t)m.items[i].line, "text", m.items[i].text));
        char *s = json_dumps(a, JSON_INDENT(2));
        puts(s ? s : "[]");
        free(s);
        json_decref(a);
    } else if (!rc) {
        for (size_t i = 0; i < m.len; i++) {
            if (m.items[i].line)
                printf("%s:%zu:%s\n", m.items[i].file, m.items[i].line, m.items[i].text);
            else
                printf("%s: %s\n", m.items[i].file, m.items[i].text);
        }
    }
    if (!rc && m.len == 0)
        rc = 1;
    dx_matches_release(&m);
    rc = cli_finish(ws, rc);
    dx_strlist_release(&pos);
    return rc;
}
