/* cmd_diff.c - `diaryx diff`: uncommitted changes, or two revisions, as a unified diff. */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "diaryx/paths.h"

static const char USAGE[] =
    "usage: diaryx diff [REV [REV2]] [FILE]\n\n"
    "Without REV2: the changes of the workspace's current state (its CRDT) since REV\n"
    "(default: the last commit). With REV2: from REV to REV2. With FILE (a .md path): only\n"
    "that file. Revisions are anything git understands: HEAD~2, a commit id, main.\n";

/* Whether the header line "diff --git a/P b/Q" (n bytes, newline excluded) names path as
 * P or Q (a rename names both). */
static bool names_path(const char *line, size_t n, const char *path)
{
    size_t pl = strlen(path), pre = strlen("diff --git a/");
    bool as_old = n > pre + pl && !strncmp(line + pre, path, pl) && line[pre + pl] == ' ';
    bool as_new =
        n > pl + 2 && !strncmp(line + n - pl, path, pl) && !strncmp(line + n - pl - 3, " b/", 3);
    return as_old || as_new;
}

/* Keep only the sections of a git patch that concern path. */
static void print_filtered(const dx_buf *patch, const char *path)
{
    const char *s = dx_buf_cstr(patch), *end = s + patch->len;
    bool on = false;
    while (s < end) {
        const char *nl = memchr(s, '\n', (size_t)(end - s));
        size_t n = nl ? (size_t)(nl - s) : (size_t)(end - s);
        if (!strncmp(s, "diff --git ", 11))
            on = names_path(s, n, path);
        if (on)
            fwrite(s, 1, n + (nl ? 1 : 0), stdout);
        s += n + (nl ? 1 : 0);
    }
}

int cmd_diff(cli_ctx *ctx, int argc, char **argv)
{
    dx_strlist pos = DX_STRLIST_INIT;
    dx_workspace *ws = NULL;
    dx_git *g = NULL;
    dx_buf rel = DX_BUF_INIT, patch = DX_BUF_INIT;
    dx_error err = DX_ERROR_INIT;
    const char *revs[2] = {NULL, NULL}, *file = NULL;
    size_t nrev = 0;
    int rc = cli_parse(USAGE, NULL, argc, argv, &pos);
    for (size_t i = 0; !rc && i < pos.len; i++) {
        if (dx_path_is_markdown(pos.items[i]) && !file)
            file = pos.items[i];
        else if (nrev < 2)
            revs[nrev++] = pos.items[i];
        else
            rc = cli_usage("diff", "too many arguments");
    }
    if (!rc)
        rc = cli_open(ctx, &ws);
    if (!rc && file && cli_entry(ws, file, false, &rel, &err))
        rc = cli_fail(&err);
    if (!rc)
        rc = cli_history(ws, &g);
    if (!rc && nrev == 2) {
        if (dx_git_diff(g, revs[0], revs[1], NULL, 0, &patch, &err))
            rc = cli_fail(&err);
    } else if (!rc) {
        dx_git_file *files = NULL;
        size_t n = 0;
        dx_strlist problems = DX_STRLIST_INIT; /* a diff shows the state, checked or not */
        if (dx_history_files(cli_session(), g, &files, &n, &problems, &err) ||
            dx_git_diff(g, revs[0], NULL, files, n, &patch, &err))
            rc = cli_fail(&err);
        dx_history_files_free(files, n);
        dx_strlist_release(&problems);
    }
    if (!rc) {
        if (file)
            print_filtered(&patch, rel.data);
        else
            fwrite(dx_buf_cstr(&patch), 1, patch.len, stdout);
    }
    dx_git_free(g);
    rc = cli_finish(ws, rc);
    dx_buf_release(&rel);
    dx_buf_release(&patch);
    dx_strlist_release(&pos);
    return rc;
}
