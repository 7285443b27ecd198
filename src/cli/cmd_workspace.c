/* cmd_workspace.c - `diaryx workspace info|path|add|rm|mv|create|delete`. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static const char USAGE[] =
    "usage: diaryx workspace SUBCOMMAND [ARGS]\n\n"
    "  info [PATH] [--depth N] [--json]   print the tree from the root (or PATH); depth 0 =\n"
    "                                     unlimited (default 3)\n"
    "  path [--json]                      print the workspace root directory (--json:\n"
    "                                     {\"root\": DIR})\n"
    "  add PARENT CHILD                   link CHILD into PARENT's contents, set its part_of\n"
    "  rm PARENT CHILD                    unlink CHILD from PARENT (the file stays)\n"
    "  mv SRC DEST                        move or rename; every link to SRC is rewritten;\n"
    "                                     DEST/ is a directory (created with its index), and\n"
    "                                     a folder's index moved into one takes its folder\n"
    "  create PARENT TITLE [--index]      new entry named after TITLE beside PARENT's index\n"
    "  delete PATH                        unlink and delete an entry (not an index with\n"
    "                                     children)\n";

static int need(const dx_strlist *pos, size_t n, const char *sub, const char *what)
{
    if (pos->len != n + 1)
        return cli_usage("workspace", "'%s' takes %s", sub, what);
    return 0;
}

int cmd_workspace(cli_ctx *ctx, int argc, char **argv)
{
    const char *depth_s = NULL;
    bool json = false, index = false;
    cli_opt opts[] = {{"depth", 'd', &depth_s, NULL},
                      {"json", 0, NULL, &json},
                      {"index", 'i', NULL, &index},
                      {NULL}};
    dx_strlist pos = DX_STRLIST_INIT;
    dx_workspace *ws = NULL;
    dx_buf a = DX_BUF_INIT, b = DX_BUF_INIT, out = DX_BUF_INIT;
    dx_error err = DX_ERROR_INIT;
    int rc = cli_parse(USAGE, opts, argc, argv, &pos);
    const char *sub = pos.len ? pos.items[0] : NULL;
    if (!rc && !sub)
        rc = cli_usage("workspace", "missing SUBCOMMAND");
    if (!rc && json && strcmp(sub, "info") && strcmp(sub, "path"))
        rc = cli_usage("workspace", "'%s' has no --json output (only 'info' and 'path' have)", sub);
    if (rc)
        goto done;
    if (!strcmp(sub, "info")) {
        int64_t depth = 3;
        if (pos.len > 2) {
            rc = cli_usage("workspace", "'info' takes at most one PATH");
            goto done;
        }
        if (depth_s && (rc = cli_int("workspace", "--depth", depth_s, 0, 10000, &depth)))
            goto done;
        if ((rc = cli_open(ctx, &ws)))
            goto done;
        if (pos.len == 2 && cli_entry(ws, pos.items[1], true, &a, &err)) {
            rc = cli_fail(&err);
            goto done;
        }
        dx_tree_node *tree = NULL;
        if (dx_workspace_tree(ws, pos.len == 2 ? a.data : NULL, (int)depth, &tree, &err)) {
            rc = cli_fail(&err);
            goto done;
        }
        json ? dx_tree_render_json(tree, &out) : dx_tree_render(tree, &out);
        cli_print(&out);
        dx_tree_free(tree);
    } else if (!strcmp(sub, "path")) {
        if ((rc = need(&pos, 0, sub, "no arguments")) || (rc = cli_open(ctx, &ws)))
            goto done;
        if (json) {
            rc = cli_print_json(json_pack("{s:s}", "root", dx_workspace_root(ws)),
                                "the workspace path");
        } else {
            printf("%s\n", dx_workspace_root(ws));
        }
    } else if (!strcmp(sub, "add") || !strcmp(sub, "rm") || !strcmp(sub, "mv")) {
        bool mv = !strcmp(sub, "mv");
        if ((rc = need(&pos, 2, sub, mv ? "SRC and DEST" : "PARENT and CHILD")) ||
            (rc = cli_open(ctx, &ws)))
            goto done;
        if (cli_entry(ws, pos.items[1], true, &a, &err) ||
            (mv ? cli_target(ws, pos.items[2], &b, &err)
                : cli_entry(ws, pos.items[2], true, &b, &err))) {
            rc = cli_fail(&err);
            goto done;
        }
        /* The message names where the file lands (inside a directory DEST/). */
        dx_buf_reset(&out);
        int r = !strcmp(sub, "add")  ? dx_workspace_attach(ws, a.data, b.data, false, &err)
                : !strcmp(sub, "rm") ? dx_workspace_detach(ws, a.data, b.data, &err)
                                     : dx_workspace_move_target(ws, a.data, b.data, &out, &err) ||
                                           dx_workspace_move(ws, a.data, b.data, &err);
        if (r) {
            rc = cli_fail(&err);
            goto done;
        }
        if (!strcmp(sub, "add"))
            printf("Added '%s' to the contents of '%s'\n", b.data, a.data);
        else if (!strcmp(sub, "rm"))
            printf("Removed '%s' from the contents of '%s'\n", b.data, a.data);
        else
            printf("Moved '%s' to '%s'\n", a.data, out.data);
    } else if (!strcmp(sub, "create")) {
        if ((rc = need(&pos, 2, sub, "PARENT and TITLE")) || (rc = cli_open(ctx, &ws)))
            goto done;
        if (cli_entry(ws, pos.items[1], true, &a, &err)) {
            rc = cli_fail(&err);
            goto done;
        }
        /* The new entry goes into the parent's directory, named after the title, and is
         * linked under PARENT even when that is not the directory's own index. */
        const char *slash = strrchr(a.data, '/');
        dx_buf dir = DX_BUF_INIT, idx = DX_BUF_INIT;
        dx_buf_append(&dir, a.data, slash ? (size_t)(slash - a.data) : 0);
        if (dir.len)
            dx_buf_printf(&b, "%s/", dir.data);
        dx_filename_from_title(pos.items[2], &b);
        int r = dx_workspace_create(ws, b.data, pos.items[2], index, &err);
        if (!r && dx_workspace_dir_index(ws, dx_buf_cstr(&dir), false, &idx, NULL) == 0 &&
            strcmp(idx.data, a.data) != 0) {
            r = dx_workspace_detach(ws, idx.data, b.data, &err);
            if (!r)
                r = dx_workspace_attach(ws, a.data, b.data, false, &err);
        }
        dx_buf_release(&dir);
        dx_buf_release(&idx);
        if (r) {
            rc = cli_fail(&err);
            goto done;
        }
        printf("%s\n", b.data);
    } else if (!strcmp(sub, "delete")) {
        if ((rc = need(&pos, 1, sub, "PATH")) || (rc = cli_open(ctx, &ws)))
            goto done;
        if (cli_entry(ws, pos.items[1], true, &a, &err) || dx_workspace_delete(ws, a.data, &err)) {
            rc = cli_fail(&err);
            goto done;
        }
        printf("Deleted '%s'\n", a.data);
    } else {
        rc = cli_usage("workspace", "unknown subcommand '%s'", sub);
    }
done:
    rc = cli_finish(ws, rc);
    dx_buf_release(&a);
    dx_buf_release(&b);
    dx_buf_release(&out);
    dx_strlist_release(&pos);
    return rc;
}
