/* cmd_init.c - `diaryx init [DIR]`: create a workspace. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>

#include "cli.h"

static const char USAGE[] =
    "usage: diaryx init [DIR] [--title TITLE] [--description TEXT]\n\n"
    "Create a workspace in DIR (default: the current directory): a root index README.md with\n"
    "a title (default: the directory name), a description and an empty `contents` list.\n"
    "An existing root index is kept. Markdown files already in DIR are imported into the\n"
    "workspace's CRDT (.diaryx/crdt.db), written back in diaryx's canonical form. DIR becomes\n"
    "a git repository (an existing one is reused) and the workspace is committed. The first\n"
    "workspace created becomes the config's default_workspace.\n";

int cmd_init(cli_ctx *ctx, int argc, char **argv)
{
    (void)ctx;
    const char *title = NULL, *desc = NULL;
    cli_opt opts[] = {{"title", 't', &title, NULL}, {"description", 'D', &desc, NULL}, {NULL}};
    dx_strlist pos = DX_STRLIST_INIT;
    int rc = cli_parse(USAGE, opts, argc, argv, &pos);
    if (!rc && pos.len > 1)
        rc = cli_usage("init", "too many arguments");
    const char *dir = pos.len ? pos.items[0] : ".";
    dx_error err = DX_ERROR_INIT;
    bool created = false;
    if (!rc && dx_workspace_init(dir, title, desc, &created, &err) != 0)
        rc = cli_fail(&err);
    if (!rc) {
        char real[PATH_MAX];
        const char *shown = realpath(dir, real) ? real : dir;
        printf(created ? "Created workspace at %s\n" : "Workspace already exists at %s\n", shown);
        dx_config *cfg = NULL;
        if (dx_config_load(NULL, &cfg, &err) == 0 && !dx_config_string(cfg, "default_workspace")) {
            if (dx_config_set(cfg, "default_workspace", shown, &err) == 0)
                dx_config_save(cfg, &err);
        }
        dx_config_free(cfg);
        /* Markdown already in the folder is imported into a new CRDT. */
        dx_workspace *ws = NULL;
        cli_ctx at = {dir};
        rc = cli_open(&at, &ws);
        size_t n = rc ? 0 : cli_opened_stats()->imported;
        if (n > (created ? 1u : 0u))
            printf("Imported %zu markdown file%s into the workspace's CRDT\n", n,
                   n == 1 ? "" : "s");
        /* The workspace root is a git repository (an existing one is reused); its first
         * commit records the workspace as it starts. */
        dx_git *g = NULL;
        if (!rc)
            rc = cli_history(ws, &g);
        if (!rc)
            rc = cli_commit(g, NULL, true);
        dx_git_free(g);
        rc = cli_finish(ws, rc);
    }
    dx_strlist_release(&pos);
    return rc;
}
