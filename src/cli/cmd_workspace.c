/* cmd_workspace.c - `diaryx workspace info|path|add|rm|mv|create|delete|reorder|attach|detach`. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sys/stat.h>

#include "cli.h"
#include "diaryx/fs.h"
#include "diaryx/paths.h"

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
    "                                     children)\n"
    "  reorder PARENT CHILD POSITION      move CHILD to POSITION (1 = first) of PARENT's\n"
    "                                     contents\n"
    "  attach ENTRY FILE                  list FILE (an existing file of the workspace) in\n"
    "                                     ENTRY's attachments\n"
    "  detach ENTRY FILE                  remove FILE from ENTRY's attachments (the file\n"
    "                                     stays)\n";

static int need(const dx_strlist *pos, size_t n, const char *sub, const char *what)
{
    if (pos->len != n + 1)
        return cli_usage("workspace", "'%s' takes %s", sub, what);
    return 0;
}

/* The entry ids of paths a and b (b may be NULL), with the session's documents: 0, or
 * DX_ENOTFOUND when one is not an entry of the CRDT (a file that was not taken in: the
 * command edits it as a file image, as before). */
static int entries(dx_docs *docs, const char *a, const char *b, char ia[DX_UUID_LEN + 1],
                   char ib[DX_UUID_LEN + 1])
{
    dx_session *s = cli_session();
    if (dx_session_find(s, a, ia, NULL) || (b && dx_session_find(s, b, ib, NULL)))
        return DX_ENOTFOUND;
    dx_session_docs(s, docs);
    return docs->workspace ? 0 : DX_ENOTFOUND;
}

/* `workspace mv` of an entry as a CRDT edit: its filename (and parent when its directory
 * changes); the entries below it follow, as their names are relative to it. to is the
 * landing place dx_workspace_move_target computed from dest (the argument). */
static int move_entry(dx_workspace *ws, dx_docs *docs, const char *from, const char *id,
                      const char *dest, const char *to, dx_error *err)
{
    dx_buf plain = DX_BUF_INIT, folder = DX_BUF_INIT;
    struct stat st;
    size_t n = strlen(dest);
    /* Into a directory, a folder's index lands in <dest>/<its folder>/: the folder moves. */
    bool into_dir =
        !n || dest[n - 1] == '/' ||
        (dx_fs_stat_in(dx_workspace_root(ws), dest, &st, NULL) == 0 && S_ISDIR(st.st_mode));
    int rc = dx_buf_printf(&plain, "%s%s%s", dest, n && dest[n - 1] != '/' ? "/" : "",
                           dx_path_basename(from)) ||
                     dx_path_dirname(to, &folder)
                 ? dx_error_set(err, DX_ENOMEM, "out of memory")
                 : 0;
    bool whole = into_dir && strcmp(plain.data, to) != 0;
    if (!rc && whole)
        rc = cli_free_path(ws, folder.data, err);
    if (!rc)
        rc = cli_free_path(ws, to, err);
    if (!rc)
        rc = dx_edit_move(docs, id, to, whole, err);
    dx_buf_release(&plain);
    dx_buf_release(&folder);
    return rc;
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
        if ((rc = cli_open_read(ctx, &ws)))
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
        dx_docs docs;
        char ia[DX_UUID_LEN + 1], ib[DX_UUID_LEN + 1];
        /* Entries are edited as CRDT operations; a file that is not one, as a file image. */
        bool crdt = entries(&docs, a.data, mv ? NULL : b.data, ia, ib) == 0;
        int r = mv && dx_workspace_move_target(ws, a.data, b.data, &out, &err);
        if (!r && !strcmp(sub, "add"))
            r = crdt ? dx_workspace_check_path(b.data, NULL, &err) ||
                           dx_edit_link(&docs, ia, ib, &err)
                     : dx_workspace_attach(ws, a.data, b.data, false, &err);
        else if (!r && !strcmp(sub, "rm"))
            r = crdt ? dx_edit_unlink(&docs, ia, ib, &err)
                     : dx_workspace_detach(ws, a.data, b.data, &err);
        else if (!r)
            r = crdt ? move_entry(ws, &docs, a.data, ia, b.data, out.data, &err)
                     : dx_workspace_move(ws, a.data, b.data, &err);
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
        dx_docs docs;
        char parent[DX_UUID_LEN + 1], id[DX_UUID_LEN + 1];
        dx_buf body = DX_BUF_INIT;
        if (slash)
            dx_buf_printf(&b, "%.*s/", (int)(slash - a.data), a.data);
        size_t dir_len = b.len;
        dx_filename_from_title(pos.items[2], &b);
        dx_buf_printf(&body, "\n# %s\n", pos.items[2]);
        dx_edit_new n = DX_EDIT_NEW_INIT;
        n.parent_id = parent;
        n.filename = b.data + dir_len;
        n.title = pos.items[2];
        n.index = index;
        n.body = body.data;
        int r = dx_buf_error(&b) || dx_buf_error(&body)
                    ? dx_error_set(&err, DX_ENOMEM, "out of memory")
                    : dx_workspace_check_path(b.data, NULL, &err);
        if (!r)
            r = entries(&docs, a.data, NULL, parent, NULL)
                    ? dx_error_set(&err, DX_ENOTFOUND, "'%s' is not an entry of the workspace",
                                   a.data)
                    : cli_free_path(ws, b.data, &err) || cli_check_not_ignored(ws, b.data, &err);
        if (!r)
            r = dx_edit_create(&docs, &n, id, &err);
        dx_buf_release(&body);
        if (r) {
            rc = cli_fail(&err);
            goto done;
        }
        printf("%s\n", b.data);
    } else if (!strcmp(sub, "delete")) {
        if ((rc = need(&pos, 1, sub, "PATH")) || (rc = cli_open(ctx, &ws)))
            goto done;
        dx_docs docs;
        char id[DX_UUID_LEN + 1];
        if (cli_entry(ws, pos.items[1], true, &a, &err) ||
            (entries(&docs, a.data, NULL, id, NULL) ? dx_workspace_delete(ws, a.data, &err)
                                                    : dx_edit_delete(&docs, id, &err))) {
            rc = cli_fail(&err);
            goto done;
        }
        printf("Deleted '%s'\n", a.data);
    } else if (!strcmp(sub, "reorder")) {
        int64_t position = 0;
        if ((rc = need(&pos, 3, sub, "PARENT, CHILD and POSITION")) ||
            (rc = cli_int("workspace", "POSITION", pos.items[3], 1, 1000000, &position)) ||
            (rc = cli_open(ctx, &ws)))
            goto done;
        dx_docs docs;
        char parent[DX_UUID_LEN + 1], child[DX_UUID_LEN + 1];
        if (cli_entry(ws, pos.items[1], true, &a, &err) ||
            cli_entry(ws, pos.items[2], true, &b, &err) ||
            (entries(&docs, a.data, b.data, parent, child)
                 ? dx_error_set(&err, DX_ENOTFOUND, "'%s' or '%s' is not an entry of the CRDT",
                                a.data, b.data)
                 : dx_edit_reorder(&docs, parent, child, (size_t)position - 1, &err))) {
            rc = cli_fail(&err);
            goto done;
        }
        printf("Moved '%s' to position %lld of '%s'\n", b.data, (long long)position, a.data);
    } else if (!strcmp(sub, "attach") || !strcmp(sub, "detach")) {
        bool attach = !strcmp(sub, "attach");
        if ((rc = need(&pos, 2, sub, "ENTRY and FILE")) || (rc = cli_open(ctx, &ws)))
            goto done;
        dx_docs docs;
        char id[DX_UUID_LEN + 1];
        /* An attachment must be there to be listed; a detached one may already be gone. */
        int r = cli_entry(ws, pos.items[1], true, &a, &err) ||
                cli_entry(ws, pos.items[2], attach, &b, &err);
        if (!r && entries(&docs, a.data, NULL, id, NULL))
            r = dx_error_set(&err, DX_ENOTFOUND, "'%s' is not an entry of the CRDT", a.data);
        else if (!r && attach)
            r = dx_edit_attach(&docs, id, b.data, &err);
        else if (!r && (r = dx_edit_detach(&docs, id, b.data, &err)) == DX_ENOTFOUND)
            /* The entry was just found: what is missing is the attachment. The API names
             * the entry by id; the user named it by path. */
            dx_error_set(&err, r, "'%s' has no attachment '%s'", a.data, b.data);
        if (r) {
            rc = cli_fail(&err);
            goto done;
        }
        printf("%s '%s' %s '%s'\n", attach ? "Attached" : "Detached", b.data,
               attach ? "to" : "from", a.data);
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
