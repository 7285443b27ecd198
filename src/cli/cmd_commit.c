/* cmd_commit.c - `diaryx commit`: record the CRDT state as a git commit. */
#include <stdio.h>

#include "cli.h"

static const char USAGE[] =
    "usage: diaryx commit [-m MESSAGE] [--skip-validation] [--check-all]\n\n"
    "Materialize the workspace's CRDT, check it, and record exactly its files as a git\n"
    "commit in the workspace's repository (untracked files are never added; `git status` is\n"
    "clean afterwards). Nothing is committed when nothing changed. After a commit the CRDT\n"
    "keeps only the newest 50 updates of each document; git holds the rest.\n\n"
    "  -m, --message MESSAGE   the summary line (default: what changed, e.g. 'Update 3\n"
    "                          entries'); the changed files and Device/Date trailers follow\n"
    "  --skip-validation       commit even when the checks fail (they are still printed)\n"
    "  --check-all             render and check every entry, not only those changed since\n"
    "                          the last commit (done anyway after a commit made by hand or\n"
    "                          changes synced from elsewhere)\n\n"
    "When the checks fail the commit is skipped; after 3 failures in a row the CRDT is\n"
    "rebuilt from the last commit and the files on disk (committed files that are missing\n"
    "come back, uncommitted edits on disk are kept, every entry keeps its id) and the old\n"
    "store kept as .diaryx/crdt.db.broken-<time>.\n";

int cmd_commit(cli_ctx *ctx, int argc, char **argv)
{
    const char *message = NULL;
    bool skip = false, all = false;
    cli_opt opts[] = {{"message", 'm', &message, NULL},
                      {"skip-validation", 0, NULL, &skip},
                      {"check-all", 0, NULL, &all},
                      {NULL}};
    dx_strlist pos = DX_STRLIST_INIT;
    dx_workspace *ws = NULL;
    dx_git *g = NULL;
    int rc = cli_parse(USAGE, opts, argc, argv, &pos);
    if (!rc && pos.len)
        rc = cli_usage("commit", "unexpected argument '%s'", pos.items[0]);
    if (!rc)
        rc = cli_open(ctx, &ws);
    if (!rc)
        rc = cli_history(ws, &g);
    if (!rc) {
        dx_commit_opts o = DX_COMMIT_OPTS_INIT;
        o.message = message;
        o.skip_validation = skip;
        o.verify_all = all;
        rc = cli_commit(g, &o, false);
    }
    dx_git_free(g);
    rc = cli_finish(ws, rc);
    dx_strlist_release(&pos);
    return rc;
}
