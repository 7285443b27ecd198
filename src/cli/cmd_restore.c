/* cmd_restore.c - `diaryx restore REV [FILE]`: bring the workspace or a file back to a
 * revision, as new CRDT edits, then commit. */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "diaryx/strmap.h"

static const char USAGE[] =
    "usage: diaryx restore REV [FILE] [--no-commit]\n\n"
    "Bring FILE, or the whole workspace, back to how it was at revision REV (HEAD~1, a commit\n"
    "id from `diaryx log`). The restore is made of new CRDT edits, so it syncs like any edit\n"
    "and can itself be undone with another restore. Entries that did not exist at REV are\n"
    "deleted (whole workspace only). Files diaryx does not manage (attachments, code) are left\n"
    "as they are. Then the result is committed (\"Restore ... to REV\") unless --no-commit.\n";

static int restore_file(dx_workspace *ws, dx_git *g, const char *rev, const char *rel,
                        dx_error *err)
{
    dx_buf bytes = DX_BUF_INIT;
    int rc = dx_git_read_file(g, rev, rel, &bytes, err);
    if (!rc)
        rc = dx_workspace_put_file(ws, rel, dx_buf_cstr(&bytes), bytes.len, err);
    dx_buf_release(&bytes);
    return rc;
}

static int restore_all(dx_workspace *ws, dx_git *g, const char *rev, dx_error *err)
{
    char **paths = NULL;
    size_t n = 0;
    dx_strlist now = DX_STRLIST_INIT;
    dx_strmap at_rev = DX_STRMAP_INIT;
    char id[DX_UUID_LEN + 1];
    int rc = dx_git_list_files(g, rev, &paths, &n, err);
    for (size_t i = 0; !rc && i < n; i++)
        if (dx_workspace_manages(paths[i]) && !(rc = restore_file(ws, g, rev, paths[i], err)) &&
            dx_strmap_put(&at_rev, paths[i], paths[i]))
            rc = dx_error_set(err, DX_ENOMEM, "out of memory");
    /* Entries that REV does not have go. */
    if (!rc)
        rc = dx_workspace_list_files(ws, true, &now, err);
    /* ... but the root index stays: without it there is no workspace to restore into. */
    for (size_t i = 0; !rc && i < now.len; i++)
        if (!dx_strmap_get(&at_rev, now.items[i]) &&
            strcmp(now.items[i], dx_workspace_root_file(ws)) != 0 &&
            dx_session_find(cli_session(), now.items[i], id, NULL) == 0)
            rc = dx_workspace_remove_file(ws, now.items[i], err);
    dx_strmap_release(&at_rev);
    dx_strlist_release(&now);
    dx_git_paths_free(paths);
    return rc;
}

int cmd_restore(cli_ctx *ctx, int argc, char **argv)
{
    bool no_commit = false;
    cli_opt opts[] = {{"no-commit", 0, NULL, &no_commit}, {NULL}};
    dx_strlist pos = DX_STRLIST_INIT;
    dx_workspace *ws = NULL;
    dx_git *g = NULL;
    dx_buf rel = DX_BUF_INIT, msg = DX_BUF_INIT;
    dx_error err = DX_ERROR_INIT;
    char id[DX_GIT_OID_HEX];
    int rc = cli_parse(USAGE, opts, argc, argv, &pos);
    if (!rc && (pos.len < 1 || pos.len > 2))
        rc = cli_usage("restore", pos.len ? "too many arguments" : "missing REV");
    if (!rc)
        rc = cli_open(ctx, &ws);
    if (!rc && pos.len == 2 && cli_entry(ws, pos.items[1], false, &rel, &err))
        rc = cli_fail(&err);
    if (!rc)
        rc = cli_history(ws, &g);
    if (!rc && dx_git_resolve(g, pos.items[0], id, &err))
        rc = cli_fail(&err);
    /* The revision is read by its id (HEAD cannot move between two files); the messages name
     * it as the user did. */
    if (!rc &&
        (pos.len == 2 ? restore_file(ws, g, id, rel.data, &err) : restore_all(ws, g, id, &err))) {
        dx_error_prefix(&err, "cannot restore %s to '%s' (%.7s)",
                        pos.len == 2 ? rel.data : "the workspace", pos.items[0], id);
        rc = cli_fail(&err);
    }
    if (!rc)
        rc = cli_save(ws);
    if (!rc) {
        printf("Restored %s to %.7s\n", pos.len == 2 ? rel.data : "the workspace", id);
        if (!no_commit) {
            dx_buf_printf(&msg, "Restore %s to %.7s", pos.len == 2 ? rel.data : "workspace", id);
            dx_commit_opts o = DX_COMMIT_OPTS_INIT;
            o.message = msg.data;
            rc = cli_commit(g, &o, false);
        }
    }
    dx_git_free(g);
    rc = cli_finish(ws, rc);
    dx_buf_release(&rel);
    dx_buf_release(&msg);
    dx_strlist_release(&pos);
    return rc;
}
