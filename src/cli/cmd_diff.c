/* cmd_diff.c - `diaryx diff`: uncommitted changes, or two revisions, as a unified diff. */
#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "diaryx/paths.h"

static const char USAGE[] =
    "usage: diaryx diff [REV [REV2]] [FILE] [--json]\n\n"
    "Without REV2: the changes of the workspace's current state (its CRDT) since REV\n"
    "(default: the last commit). With REV2: from REV to REV2. With FILE (a .md path): only\n"
    "that file. Revisions are anything git understands: HEAD~2, a commit id, main.\n"
    "--json: {\"from\": REV, \"to\": REV2 or null (the current state), \"files\": [{\"path\",\n"
    "\"status\" (added, deleted, modified, typechange), \"patch\"}]}.\n";

static const char *status_name(char s)
{
    return s == 'A' ? "added" : s == 'D' ? "deleted" : s == 'T' ? "typechange" : "modified";
}

static int print_json(const char *from, const char *to, const dx_git_diff_entry *e, size_t n,
                      const char *only)
{
    json_t *files = json_array();
    for (size_t i = 0; files && i < n; i++) {
        if (only && strcmp(e[i].path, only))
            continue;
        json_t *f = json_pack("{s:s, s:s, s:s}", "path", e[i].path, "status",
                              status_name(e[i].status), "patch", e[i].patch);
        if (!f) { /* a patch that is not UTF-8 */
            json_decref(files);
            files = NULL;
        }
        json_array_append_new(files, f);
    }
    return cli_print_json(
        files ? json_pack("{s:s, s:s?, s:o}", "from", from, "to", to, "files", files) : NULL,
        "the diff");
}

int cmd_diff(cli_ctx *ctx, int argc, char **argv)
{
    bool json = false;
    cli_opt opts[] = {{"json", 0, NULL, &json}, {NULL}};
    dx_strlist pos = DX_STRLIST_INIT;
    dx_workspace *ws = NULL;
    dx_git *g = NULL;
    dx_buf rel = DX_BUF_INIT;
    dx_error err = DX_ERROR_INIT;
    dx_git_diff_entry *entries = NULL;
    size_t nentries = 0;
    const char *revs[2] = {NULL, NULL}, *file = NULL;
    size_t nrev = 0;
    int rc = cli_parse(USAGE, opts, argc, argv, &pos);
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
        if (dx_git_diff_entries(g, revs[0], revs[1], NULL, 0, &entries, &nentries, &err))
            rc = cli_fail(&err);
    } else if (!rc) {
        dx_git_file *files = NULL;
        size_t n = 0;
        dx_strlist problems = DX_STRLIST_INIT; /* a diff shows the state, checked or not */
        if (dx_history_files(cli_session(), g, &files, &n, &problems, &err) ||
            dx_git_diff_entries(g, revs[0], NULL, files, n, &entries, &nentries, &err))
            rc = cli_fail(&err);
        dx_history_files_free(files, n);
        dx_strlist_release(&problems);
    }
    const char *only = file ? rel.data : NULL;
    if (!rc && json) {
        rc = print_json(revs[0] ? revs[0] : "HEAD", revs[1], entries, nentries, only);
    } else if (!rc) {
        for (size_t i = 0; i < nentries; i++)
            if (!only || !strcmp(entries[i].path, only))
                fputs(entries[i].patch, stdout);
    }
    dx_git_diff_entries_free(entries, nentries);
    dx_git_free(g);
    rc = cli_finish(ws, rc);
    dx_buf_release(&rel);
    dx_strlist_release(&pos);
    return rc;
}
