/* cmd_attach.c - `diaryx attach add|ls|rm`: attachments as files in the workspace whose
 * SHA-256, size and media type the CRDT records (edit.h, attachment metadata). */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"
#include "diaryx/blobstore.h"
#include "diaryx/edit.h"
#include "diaryx/fs.h"
#include "diaryx/paths.h"
#include "diaryx/wsdoc.h"

static const char USAGE[] =
    "usage: diaryx attach SUBCOMMAND [ARGS]\n\n"
    "  add ENTRY FILE          copy FILE into the _attachments folder beside ENTRY, list it in\n"
    "                          ENTRY's attachments and record its SHA-256, size and media type\n"
    "                          (a file already in the workspace is recorded where it is)\n"
    "  ls [ENTRY] [--json]     the attachments of ENTRY (or of every entry): path, size, media\n"
    "                          type and SHA-256 (\"-\" when no record)\n"
    "  rm ENTRY PATH           remove PATH from ENTRY's attachments; when no other entry lists\n"
    "                          it, the file and its record go too\n\n"
    "The bytes stay in the workspace (never in git); `diaryx validate` reports attachments\n"
    "whose file is missing or no longer has the recorded SHA-256.\n";

/* The entry id of the workspace path rel (DX_ENOTFOUND naming arg). */
static int entry_id(dx_docs *docs, const char *rel, const char *arg, char id[DX_UUID_LEN + 1],
                    dx_error *err)
{
    if (dx_session_find(cli_session(), rel, id, NULL) != 0)
        return dx_error_set(err, DX_ENOTFOUND, "'%s' is not an entry of the workspace", arg);
    return cli_docs(docs) ? DX_EIO : 0;
}

/* Whether a live entry other than but lists path in its attachments. */
static int listed_elsewhere(y_doc *doc, const char *but, const char *path, bool *yes, dx_error *err)
{
    dx_strlist ids = DX_STRLIST_INIT;
    int rc = dx_wsdoc_ids(doc, &ids, err);
    *yes = false;
    for (size_t i = 0; !rc && !*yes && i < ids.len; i++) {
        dx_entry e = DX_ENTRY_INIT;
        if (strcmp(ids.items[i], but) != 0 && dx_wsdoc_is_live(doc, ids.items[i]) &&
            !(rc = dx_wsdoc_get(doc, ids.items[i], &e, err)))
            *yes = dx_strlist_find(&e.attachments, path) >= 0;
        dx_entry_release(&e);
    }
    dx_strlist_release(&ids);
    return rc;
}

static int attach_add(dx_workspace *ws, const char *entry_arg, const char *file, dx_error *err)
{
    dx_docs docs;
    dx_buf rel = DX_BUF_INIT, dest = DX_BUF_INIT, dir = DX_BUF_INIT, abs = DX_BUF_INIT;
    char id[DX_UUID_LEN + 1];
    dx_attachment_meta m = {"", 0, ""};
    struct stat st;
    const char *root = dx_workspace_root(ws);
    int rc = cli_entry(ws, entry_arg, true, &rel, err);
    if (!rc)
        rc = entry_id(&docs, rel.data, entry_arg, id, err);
    if (rc)
        goto done;
    /* A file of the workspace is recorded in place; any other is copied beside the entry. */
    dx_buf inside = DX_BUF_INIT;
    bool in_ws = cli_entry(ws, file, true, &inside, NULL) == 0 &&
                 dx_fs_stat_in(root, inside.data, &st, NULL) == 0 && S_ISREG(st.st_mode);
    if (in_ws) {
        rc = dx_buf_puts(&dest, inside.data) ? DX_ENOMEM : 0;
    } else {
        rc = dx_path_dirname(rel.data, &dir);
        if (!rc)
            rc = dx_buf_printf(&dest, "%s%s_attachments/%s", dir.len ? dir.data : "",
                               dir.len ? "/" : "", dx_path_basename(file))
                     ? DX_ENOMEM
                     : 0;
    }
    dx_buf_release(&inside);
    if (rc) {
        rc = dx_error_set(err, DX_ENOMEM, "out of memory");
        goto done;
    }
    if (dx_buf_printf(&abs, "%s/%s", root, dest.data)) {
        rc = dx_error_set(err, DX_ENOMEM, "out of memory");
        goto done;
    }
    if (in_ws) {
        rc = dx_blob_hash_file(abs.data, m.sha256, &m.size, err);
    } else {
        char have[DX_SHA256_HEX], want[DX_SHA256_HEX];
        uint64_t n;
        dx_buf_reset(&dir);
        if ((rc = dx_blob_hash_file(file, want, NULL, err)) ||
            (rc = dx_path_dirname(dest.data, &dir)) || (rc = dx_fs_mkdirs_in(root, dir.data, err)))
            goto done;
        /* The same bytes there already are no conflict; other bytes are. */
        if (dx_fs_stat_in(root, dest.data, &st, NULL) == 0) {
            if (!S_ISREG(st.st_mode) || dx_blob_hash_file(abs.data, have, NULL, NULL) != 0 ||
                strcmp(have, want) != 0) {
                rc = dx_error_set(err, DX_EEXIST,
                                  "'%s' already exists with other bytes; rename '%s' or remove "
                                  "the attachment first",
                                  dest.data, file);
                goto done;
            }
        }
        if ((rc = dx_blob_copy_file(file, abs.data, m.sha256, &n, err)))
            goto done;
        m.size = n;
        if (strcmp(m.sha256, want) != 0) {
            rc = dx_error_set(err, DX_ECONFLICT, "'%s' changed while it was copied; try again",
                              file);
            goto done;
        }
    }
    snprintf(m.type, sizeof m.type, "%s", dx_blob_media_type(dest.data));
    if (!rc)
        rc = dx_edit_attach(&docs, id, dest.data, err);
    if (!rc)
        rc = dx_edit_attachment_set(&docs, dest.data, &m, err);
    if (!rc)
        printf("Attached '%s' to '%s' (%llu bytes, %s, sha256 %s)\n", dest.data, rel.data,
               (unsigned long long)m.size, m.type, m.sha256);
done:
    dx_buf_release(&rel);
    dx_buf_release(&dest);
    dx_buf_release(&dir);
    dx_buf_release(&abs);
    return rc;
}

/* One line (or JSON object) per attachment of entry id. */
static int list_entry(y_doc *doc, const char *id, json_t *arr, dx_error *err)
{
    dx_entry e = DX_ENTRY_INIT;
    dx_buf path = DX_BUF_INIT;
    int rc = dx_wsdoc_get(doc, id, &e, err);
    if (!rc && e.attachments.len)
        rc = dx_wsdoc_path(doc, id, &path, err);
    for (size_t i = 0; !rc && i < e.attachments.len; i++) {
        const char *a = e.attachments.items[i];
        dx_attachment_meta m;
        bool has = dx_attachment_meta_get(doc, a, &m) == 0;
        if (arr) {
            json_t *o = json_pack("{s:s, s:s, s:s?, s:o, s:s?}", "entry", path.data, "path", a,
                                  "sha256", has ? m.sha256 : NULL, "size",
                                  has ? json_integer((json_int_t)m.size) : json_null(), "type",
                                  has ? m.type : NULL);
            if (!o || json_array_append_new(arr, o))
                rc = dx_error_set(err, DX_ENOMEM, "'%s' has no JSON form", a);
        } else if (has) {
            printf("%s\t%llu\t%s\t%s\n", a, (unsigned long long)m.size, m.type, m.sha256);
        } else {
            printf("%s\t-\t-\t-\n", a);
        }
    }
    dx_entry_release(&e);
    dx_buf_release(&path);
    return rc;
}

static int attach_ls(dx_workspace *ws, const char *entry_arg, bool json, dx_error *err)
{
    dx_docs docs;
    dx_buf rel = DX_BUF_INIT;
    dx_strlist ids = DX_STRLIST_INIT;
    char id[DX_UUID_LEN + 1];
    json_t *arr = json ? json_array() : NULL;
    int rc = json && !arr ? dx_error_set(err, DX_ENOMEM, "out of memory") : 0;
    if (!rc && entry_arg) {
        rc = cli_entry(ws, entry_arg, true, &rel, err);
        if (!rc)
            rc = entry_id(&docs, rel.data, entry_arg, id, err);
        if (!rc)
            rc = list_entry(docs.workspace, id, arr, err);
    } else if (!rc && !(rc = cli_docs(&docs) ? DX_EIO : 0)) {
        rc = dx_wsdoc_ids(docs.workspace, &ids, err);
        for (size_t i = 0; !rc && i < ids.len; i++)
            if (dx_wsdoc_is_live(docs.workspace, ids.items[i]))
                rc = list_entry(docs.workspace, ids.items[i], arr, err);
    }
    if (!rc && arr) {
        rc = cli_print_json(arr, "the attachment list") ? DX_EINVAL : 0;
        arr = NULL;
    }
    json_decref(arr);
    dx_buf_release(&rel);
    dx_strlist_release(&ids);
    return rc;
}

static int attach_rm(dx_workspace *ws, const char *entry_arg, const char *path_arg, dx_error *err)
{
    dx_docs docs;
    dx_buf rel = DX_BUF_INIT, path = DX_BUF_INIT;
    char id[DX_UUID_LEN + 1];
    bool other = false;
    int rc = cli_entry(ws, entry_arg, true, &rel, err);
    if (!rc)
        rc = cli_entry(ws, path_arg, false, &path, err);
    if (!rc)
        rc = entry_id(&docs, rel.data, entry_arg, id, err);
    if (!rc && (rc = dx_edit_detach(&docs, id, path.data, err)) == DX_ENOTFOUND)
        dx_error_set(err, rc, "'%s' has no attachment '%s'", rel.data, path.data);
    if (!rc)
        rc = listed_elsewhere(docs.workspace, id, path.data, &other, err);
    if (!rc && !other) {
        /* Nobody lists it: its record and its file go (a file already gone is fine). */
        dx_error e = DX_ERROR_INIT;
        int r = dx_edit_attachment_forget(&docs, path.data, &e);
        if (r && r != DX_ENOTFOUND)
            rc = dx_error_set(err, r, "%s", e.msg);
        if (!rc && (r = dx_fs_unlink_in(dx_workspace_root(ws), path.data, NULL, &e)) &&
            r != DX_ENOTFOUND)
            rc = dx_error_set(err, r, "%s", e.msg);
    }
    if (!rc)
        printf("Removed '%s' from '%s'%s\n", path.data, rel.data,
               other ? " (another entry still lists it: the file stays)" : "");
    dx_buf_release(&rel);
    dx_buf_release(&path);
    return rc;
}

int cmd_attach(cli_ctx *ctx, int argc, char **argv)
{
    bool json = false;
    cli_opt opts[] = {{"json", 0, NULL, &json}, {NULL}};
    dx_strlist pos = DX_STRLIST_INIT;
    dx_workspace *ws = NULL;
    dx_error err = DX_ERROR_INIT;
    int rc = cli_parse(USAGE, opts, argc, argv, &pos);
    const char *sub = pos.len ? pos.items[0] : NULL;
    if (rc)
        goto done;
    if (!sub)
        rc = cli_usage("attach", "missing subcommand (add, ls or rm)");
    else if (!strcmp(sub, "add") && pos.len != 3)
        rc = cli_usage("attach", "'add' takes ENTRY and FILE");
    else if (!strcmp(sub, "rm") && pos.len != 3)
        rc = cli_usage("attach", "'rm' takes ENTRY and PATH");
    else if (!strcmp(sub, "ls") && pos.len > 2)
        rc = cli_usage("attach", "'ls' takes at most ENTRY");
    else if (strcmp(sub, "add") && strcmp(sub, "rm") && strcmp(sub, "ls"))
        rc = cli_usage("attach", "unknown subcommand '%s'", sub);
    else if (json && strcmp(sub, "ls"))
        rc = cli_usage("attach", "--json goes with 'ls'");
    if (rc || (rc = cli_open(ctx, &ws)))
        goto done;
    int r = !strcmp(sub, "add")  ? attach_add(ws, pos.items[1], pos.items[2], &err)
            : !strcmp(sub, "rm") ? attach_rm(ws, pos.items[1], pos.items[2], &err)
                                 : attach_ls(ws, pos.len > 1 ? pos.items[1] : NULL, json, &err);
    if (r == DX_EIO && !err.code)
        rc = 1; /* printed already (cli_docs) */
    else if (r)
        rc = cli_fail(&err);
done:
    rc = cli_finish(ws, rc);
    dx_strlist_release(&pos);
    return rc;
}
