/* cmd_create.c - `diaryx create PATH`: a new entry linked into its directory's index. */
#include <stdio.h>

#include "cli.h"

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
    dx_buf rel = DX_BUF_INIT, made = DX_BUF_INIT;
    dx_error err = DX_ERROR_INIT;
    dx_docs docs;
    char id[DX_UUID_LEN + 1];
    int rc = cli_parse(USAGE, opts, argc, argv, &pos);
    if (!rc && pos.len != 1)
        rc = cli_usage("create", "expected one PATH");
    if (!rc)
        rc = cli_open(ctx, &ws);
    if (!rc &&
        (cli_target(ws, pos.items[0], &rel, &err) || cli_check_new_entry(&rel, pos.items[0], &err)))
        rc = cli_fail(&err);
    if (!rc)
        rc = cli_docs(&docs);
    /* A CRDT edit (the new entry and its id in the index's contents), so that creates in
     * parallel processes merge; the files are rendered by the save. A file diaryx does not
     * know in the way (one that could not be taken in) is not overwritten. */
    if (!rc && (dx_edit_create_path(&docs, rel.data, title, index, id, &made, &err) ||
                cli_free_path(ws, made.data, &err) || cli_check_not_ignored(ws, made.data, &err)))
        rc = cli_fail(&err);
    if (!rc)
        printf("%s\n", made.data);
    rc = cli_finish(ws, rc);
    dx_buf_release(&rel);
    dx_buf_release(&made);
    dx_strlist_release(&pos);
    return rc;
}
