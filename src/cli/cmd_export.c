/* cmd_export.c - `diaryx export DEST --audience NAME`. */
#include <limits.h>
#include <unistd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static const char USAGE[] =
    "usage: diaryx export DEST --audience NAME [--force] [--keep-audience] [--dry-run]\n\n"
    "Copy the entries visible to audience NAME (* = every entry that is not private) to the\n"
    "directory DEST. Audience rules: `private` is never exported; a file's `audience` list\n"
    "decides for it and its descendants; files without one inherit their parent's; with no\n"
    "audience anywhere, nothing is exported. Excluded children are removed from exported\n"
    "`contents`; the `audience` key is removed unless --keep-audience. DEST must not exist or\n"
    "be empty unless --force.\n";

int cmd_export(cli_ctx *ctx, int argc, char **argv)
{
    dx_export_options o = {0};
    cli_opt opts[] = {{"audience", 'a', &o.audience, NULL},
                      {"force", 'f', NULL, &o.force},
                      {"keep-audience", 0, NULL, &o.keep_audience},
                      {"dry-run", 0, NULL, &o.dry_run},
                      {NULL}};
    dx_strlist pos = DX_STRLIST_INIT, inc = DX_STRLIST_INIT, exc = DX_STRLIST_INIT;
    dx_workspace *ws = NULL;
    dx_error err = DX_ERROR_INIT;
    dx_buf dest = DX_BUF_INIT;
    int rc = cli_parse(USAGE, opts, argc, argv, &pos);
    if (!rc && pos.len != 1)
        rc = cli_usage("export", "expected one DEST directory");
    if (!rc && !o.audience)
        rc = cli_usage("export", "--audience NAME is required");
    if (!rc)
        rc = cli_open(ctx, &ws);
    if (!rc) {
        char cwd[PATH_MAX];
        if (pos.items[0][0] == '/' || !getcwd(cwd, sizeof cwd))
            dx_buf_puts(&dest, pos.items[0]);
        else
            dx_buf_printf(&dest, "%s/%s", cwd, pos.items[0]);
        if (dx_workspace_export(ws, dest.data, &o, &inc, &exc, &err))
            rc = cli_fail(&err);
    }
    if (!rc) {
        for (size_t i = 0; i < inc.len; i++)
            printf("%s %s\n", o.dry_run ? "would export" : "exported", inc.items[i]);
        for (size_t i = 0; i < exc.len; i++)
            printf("excluded %s\n", exc.items[i]);
        printf("%s %zu files, excluded %zu files\n", o.dry_run ? "Would export" : "Exported",
               inc.len, exc.len);
    }
    rc = cli_finish(ws, rc);
    dx_strlist_release(&pos);
    dx_strlist_release(&inc);
    dx_strlist_release(&exc);
    dx_buf_release(&dest);
    return rc;
}
