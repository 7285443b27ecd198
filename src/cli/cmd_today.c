/* cmd_today.c - `diaryx today`, `diaryx yesterday` and `diaryx open`: daily entries and
 * the editor. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

static const char USAGE_DAY[] =
    "usage: diaryx %s [--edit] [--no-edit]\n\n"
    "Create %s's daily entry DAILY/YYYY/MM/YYYY-MM-DD.md (with its year and month indexes)\n"
    "unless it exists, and print its path. DAILY is config `daily_entry_folder`, else the\n"
    "root index's `daily_entry_folder`, else `daily`. The editor is opened when\n"
    "standard input is a terminal or with --edit; --no-edit never opens it.\n";

static const char USAGE_OPEN[] = "usage: diaryx open PATH|DATE\n\n"
                                 "Open an entry in the editor (config `editor`, $EDITOR, "
                                 "$VISUAL, then vi).\nA date (YYYY-MM-DD, today, yesterday) "
                                 "opens that day's daily entry, creating it.\n";

/* The file must be on disk before the editor opens it; what the editor changed goes into
 * the CRDT afterwards. */
static int edit_through_crdt(dx_workspace *ws, const char *abs)
{
    int rc = cli_save(ws);
    if (!rc)
        rc = cli_edit(abs);
    if (!rc)
        rc = cli_sync(ws);
    return rc;
}

static int daily(cli_ctx *ctx, const char *date, bool edit, bool no_edit)
{
    dx_workspace *ws = NULL;
    dx_config *cfg = NULL;
    dx_fm *root = NULL;
    dx_buf rel = DX_BUF_INIT, abs = DX_BUF_INIT;
    dx_error err = DX_ERROR_INIT;
    int rc = cli_open(ctx, &ws);
    if (!rc)
        rc = cli_config(&cfg);
    if (rc)
        goto done;
    const char *folder = dx_config_string(cfg, "daily_entry_folder");
    if (!folder && dx_workspace_read(ws, dx_workspace_root_file(ws), &root, NULL) == 0)
        folder = dx_fm_get(root, "daily_entry_folder");
    /* Not the workspace root: daily_index.md beside the root index would make two indexes
     * in one directory (the reference's default, which its own validator would flag). */
    if (!folder || !*folder)
        folder = "daily";
    bool created = false;
    if (dx_workspace_daily(ws, date, folder, &rel, &created, &err) != 0) {
        rc = cli_fail(&err);
        goto done;
    }
    printf("%s\n", rel.data);
    fflush(stdout);
    if (!no_edit && (edit || isatty(STDIN_FILENO))) {
        dx_workspace_abspath(ws, rel.data, &abs);
        rc = edit_through_crdt(ws, abs.data);
    }
done:
    dx_fm_free(root);
    dx_config_free(cfg);
    rc = cli_finish(ws, rc);
    dx_buf_release(&rel);
    dx_buf_release(&abs);
    return rc;
}

static int day_command(cli_ctx *ctx, int argc, char **argv, int shift, const char *name)
{
    bool edit = false, no_edit = false;
    cli_opt opts[] = {{"edit", 'e', NULL, &edit}, {"no-edit", 0, NULL, &no_edit}, {NULL}};
    char usage[1024];
    snprintf(usage, sizeof usage, USAGE_DAY, name, name);
    dx_strlist pos = DX_STRLIST_INIT;
    int rc = cli_parse(usage, opts, argc, argv, &pos);
    if (!rc && pos.len)
        rc = cli_usage(name, "unexpected argument '%s'", pos.items[0]);
    dx_strlist_release(&pos);
    if (rc)
        return rc;
    char date[11];
    cli_date(shift, date);
    return daily(ctx, date, edit, no_edit);
}

int cmd_today(cli_ctx *ctx, int argc, char **argv)
{
    return day_command(ctx, argc, argv, 0, "today");
}

int cmd_yesterday(cli_ctx *ctx, int argc, char **argv)
{
    return day_command(ctx, argc, argv, -1, "yesterday");
}

static bool looks_like_date(const char *s)
{
    return strlen(s) == 10 && s[4] == '-' && s[7] == '-' && strspn(s, "0123456789-") == 10;
}

int cmd_open(cli_ctx *ctx, int argc, char **argv)
{
    cli_opt opts[] = {{NULL}};
    dx_strlist pos = DX_STRLIST_INIT;
    int rc = cli_parse(USAGE_OPEN, opts, argc, argv, &pos);
    if (!rc && pos.len != 1)
        rc = cli_usage("open", "expected one PATH or DATE");
    if (rc) {
        dx_strlist_release(&pos);
        return rc;
    }
    const char *arg = pos.items[0];
    char date[11] = {0};
    if (!strcmp(arg, "today"))
        cli_date(0, date);
    else if (!strcmp(arg, "yesterday"))
        cli_date(-1, date);
    else if (looks_like_date(arg))
        snprintf(date, sizeof date, "%s", arg);
    if (date[0]) {
        dx_strlist_release(&pos);
        return daily(ctx, date, true, false);
    }
    dx_workspace *ws = NULL;
    dx_buf rel = DX_BUF_INIT, abs = DX_BUF_INIT;
    dx_error err = DX_ERROR_INIT;
    rc = cli_open(ctx, &ws);
    if (!rc && cli_entry(ws, arg, true, &rel, &err))
        rc = cli_fail(&err);
    if (!rc) {
        dx_workspace_abspath(ws, rel.data, &abs);
        rc = edit_through_crdt(ws, abs.data);
    }
    rc = cli_finish(ws, rc);
    dx_buf_release(&rel);
    dx_buf_release(&abs);
    dx_strlist_release(&pos);
    return rc;
}
