/* cmd_restore.c - `diaryx restore REV [FILE]`: bring the workspace or a file back to a
 * revision, as new CRDT edits, then commit. */
#include <stdio.h>
#include <string.h>

#include "cli.h"

static const char USAGE[] =
    "usage: diaryx restore REV [FILE] [--no-commit]\n\n"
    "Bring FILE, or the whole workspace, back to how it was at revision REV (HEAD~1, a commit\n"
    "id from `diaryx log`). The restore is made of new CRDT edits, so it syncs like any edit\n"
    "and can itself be undone with another restore. Entries that did not exist at REV are\n"
    "deleted (whole workspace only). Files diaryx does not manage (attachments, code) are left\n"
    "as they are. Then the result is committed (\"Restore ... to REV\") unless --no-commit.\n";

/* The restore's rules are history.h's (dx_history_restore): the session's documents are
 * edited, and cli_save stores the edits and writes the files. */
static int restore(dx_workspace *ws, dx_git *g, const char *rev, const char *rel, dx_error *err)
{
    dx_history_docs h;
    dx_session *s = cli_session();
    int rc = dx_session_load(s, err);
    if (rc)
        return rc;
    dx_history_docs_of_session(s, &h);
    dx_strlist skipped = DX_STRLIST_INIT;
    rc = dx_history_restore(&h, g, rev, rel, dx_workspace_root_file(ws), NULL, &skipped, err);
    for (size_t i = 0; !rc && i < skipped.len; i++)
        fprintf(stderr, "diaryx: warning: %s; it is left as it is\n", skipped.items[i]);
    dx_strlist_release(&skipped);
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
    if (!rc && restore(ws, g, id, pos.len == 2 ? rel.data : NULL, &err)) {
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
