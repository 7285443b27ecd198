/* cmd_validate.c - `diaryx validate [--fix] [--json]`. */
#include <stdio.h>

#include "cli.h"

/* The files, then the attachments' bytes against the hashes the CRDT records for them. */
static int validate(dx_workspace *ws, dx_report *r, dx_error *err)
{
    y_doc *doc = dx_session_wsdoc(cli_session());
    int rc = dx_workspace_validate(ws, r, err);
    if (!rc && !doc)
        rc = dx_error_set(err, DX_ENOMEM, "cannot load the workspace document");
    return rc ? rc : dx_workspace_validate_attachments(ws, doc, r, err);
}

static const char USAGE[] =
    "usage: diaryx validate [--fix] [--json]\n\n"
    "Check every entry reachable from the root index (broken part_of / contents /\n"
    "attachments links, links leaving the workspace, unreadable frontmatter, cycles, missing\n"
    "part_of, non-portable paths), every file on disk that is not linked (orphans), and\n"
    "every attachment's bytes against the SHA-256 recorded for it (missing or changed).\n"
    "--fix repairs what has a fix, keeps the repairs, lists what it fixed and what it could\n"
    "not, and validates again. Exit status 1 while errors remain.\n";

int cmd_validate(cli_ctx *ctx, int argc, char **argv)
{
    bool fix = false, json = false;
    cli_opt opts[] = {{"fix", 'f', NULL, &fix}, {"json", 0, NULL, &json}, {NULL}};
    dx_strlist pos = DX_STRLIST_INIT, fixed = DX_STRLIST_INIT, failed = DX_STRLIST_INIT;
    dx_workspace *ws = NULL;
    dx_report r = {0};
    dx_error err = DX_ERROR_INIT;
    dx_buf out = DX_BUF_INIT;
    int rc = cli_parse(USAGE, opts, argc, argv, &pos);
    if (!rc && pos.len)
        rc = cli_usage("validate", "unexpected argument '%s'", pos.items[0]);
    if (!rc)
        rc = cli_open(ctx, &ws);
    if (!rc && validate(ws, &r, &err))
        rc = cli_fail(&err);
    if (!rc && fix) {
        if (dx_workspace_fix(ws, &r, &fixed, &failed, &err))
            rc = cli_fail(&err);
        /* The fixes are stored before validating again: errors that remain must not take
         * back what was repaired (the command's exit status only says they remain). */
        if (!rc && fixed.len)
            rc = cli_save(ws);
        for (size_t i = 0; !rc && i < fixed.len; i++)
            fprintf(json ? stderr : stdout, "✓ Fixed: %s\n", fixed.items[i]);
        for (size_t i = 0; !rc && i < failed.len; i++)
            fprintf(stderr, "✗ Not fixed: %s\n", failed.items[i]);
        dx_report_release(&r);
        if (!rc && validate(ws, &r, &err))
            rc = cli_fail(&err);
    }
    if (!rc) {
        size_t errors = 0;
        for (size_t i = 0; i < r.len; i++)
            errors += r.items[i].error;
        if (json) {
            dx_report_json(&r, &out);
            cli_print(&out);
        } else {
            for (size_t i = 0; i < r.len; i++)
                printf("%s %s: %s\n", r.items[i].error ? "error" : "warning", r.items[i].kind,
                       r.items[i].message);
            if (fix)
                printf("%zu fixed, %zu not fixed; ", fixed.len, failed.len);
            printf("%zu files checked: %zu errors, %zu warnings%s\n", r.files_checked, errors,
                   r.len - errors, fix ? " remain" : "");
        }
        rc = errors ? 1 : 0;
    }
    dx_report_release(&r);
    rc = cli_finish(ws, rc);
    dx_strlist_release(&pos);
    dx_strlist_release(&fixed);
    dx_strlist_release(&failed);
    dx_buf_release(&out);
    return rc;
}
