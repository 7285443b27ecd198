/* cmd_create.c - `diaryx create PATH`: a new entry linked into its directory's index. */
#include <stdio.h>

#include "cli.h"
#include "diaryx/paths.h"

static const char USAGE[] =
    "usage: diaryx create PATH [--title TITLE] [--index]\n\n"
    "Create the entry PATH (\".md\" is added when missing) with a title (default: from the\n"
    "file name) and link it into the `contents` of its directory's index. A directory without\n"
    "an index gets one (DIR/DIR.md), linked into its parent's index. --index makes the new\n"
    "entry an index (`contents: []`). PATH ending in '/' is a directory: its index DIR/DIR.md\n"
    "is created.\n";

int cmd_create(cli_ctx *ctx, int argc, char **argv)
{
    const char *title = NULL;
    bool index = false;
    cli_opt opts[] = {{"title", 't', &title, NULL}, {"index", 'i', NULL, &index}, {NULL}};
    dx_strlist pos = DX_STRLIST_INIT;
    dx_workspace *ws = NULL;
    dx_buf rel = DX_BUF_INIT;
    dx_error err = DX_ERROR_INIT;
    int rc = cli_parse(USAGE, opts, argc, argv, &pos);
    if (!rc && pos.len != 1)
        rc = cli_usage("create", "expected one PATH");
    if (!rc)
        rc = cli_open(ctx, &ws);
    if (!rc && (cli_target(ws, pos.items[0], &rel, &err) ||
                cli_check_new_entry(&rel, pos.items[0], &err) ||
                dx_workspace_create(ws, rel.data, title, index, &err)))
        rc = cli_fail(&err);
    /* "DIR/" created the directory's index DIR/<name>.md. */
    if (!rc && rel.len && rel.data[rel.len - 1] == '/') {
        dx_buf_truncate(&rel, rel.len - 1);
        printf("%s/%s.md\n", rel.data, dx_path_basename(rel.data));
    } else if (!rc) {
        printf("%s%s\n", rel.data, dx_path_is_markdown(rel.data) ? "" : ".md");
    }
    rc = cli_finish(ws, rc);
    dx_buf_release(&rel);
    dx_strlist_release(&pos);
    return rc;
}
