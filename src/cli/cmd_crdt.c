/* cmd_crdt.c - `diaryx crdt info|history|compact`: look into the workspace's CRDT store. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "cli.h"
#include "diaryx/materialize.h"

static const char USAGE[] =
    "usage: diaryx crdt SUBCOMMAND\n\n"
    "The workspace's CRDT (.diaryx/crdt.db) holds every change as an update; the markdown\n"
    "files are written from it.\n\n"
    "  info [--json]                  documents with their snapshot size and update count\n"
    "  history FILE [-n N] [--json]   the newest N (default 20) updates that changed FILE:\n"
    "                                 its body or its frontmatter, with time, origin, device\n"
    "  history FILE --at ID [--json]  FILE as it was after update ID (--json: {\"path\",\n"
    "                                 \"update\", \"content\"})\n"
    "  compact [--keep N]             fold all but the newest N updates of every document\n"
    "                                 into its snapshot (default: [git] keep_updates, 50)\n";

static void print_time(int64_t ms, char out[32])
{
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    localtime_r(&t, &tm);
    strftime(out, 32, "%Y-%m-%d %H:%M:%S", &tm);
}

static int info(dx_session *s, const dx_workspace *ws, bool json)
{
    dx_store_doc_info *docs;
    size_t n;
    dx_error err = DX_ERROR_INIT;
    if (dx_store_list(dx_session_store(s), &docs, &n, &err))
        return cli_fail(&err);
    size_t snap = 0, ups = 0, bytes = 0;
    if (json)
        printf("{\"documents\":[");
    for (size_t i = 0; i < n; i++) {
        snap += docs[i].snapshot_bytes;
        ups += docs[i].updates;
        bytes += docs[i].update_bytes;
        if (json)
            printf("%s{\"name\":\"%s\",\"snapshot_bytes\":%zu,\"updates\":%zu,"
                   "\"update_bytes\":%zu}",
                   i ? "," : "", docs[i].name, docs[i].snapshot_bytes, docs[i].updates,
                   docs[i].update_bytes);
    }
    dx_buf path = DX_BUF_INIT;
    dx_workspace_abspath(ws, DX_STORE_FILE, &path);
    struct stat st;
    long long file = stat(path.data, &st) == 0 ? (long long)st.st_size : -1;
    if (json) {
        printf("],\"documents_count\":%zu,\"snapshot_bytes\":%zu,\"updates\":%zu,"
               "\"update_bytes\":%zu,\"database_bytes\":%lld}\n",
               n, snap, ups, bytes, file);
    } else {
        printf("store      %s (%lld bytes)\n", path.data, file);
        printf("documents  %zu (1 workspace, %zu bodies)\n", n, n ? n - 1 : 0);
        printf("snapshots  %zu bytes\n", snap);
        printf("updates    %zu (%zu bytes)\n", ups, bytes);
        for (size_t i = 0; i < n && !strcmp(docs[i].name, "workspace"); i++)
            printf("workspace  %zu updates, snapshot %zu bytes\n", docs[i].updates,
                   docs[i].snapshot_bytes);
    }
    dx_buf_release(&path);
    dx_store_docs_free(docs, n);
    return 0;
}

/* FILE (entry id) as it was after update `at`: both documents loaded up to that id. */
static int render_at(dx_session *s, const dx_workspace *ws, const char *id, int64_t at, dx_buf *out,
                     dx_error *err)
{
    y_doc *w = NULL, *b = NULL;
    char body[64];
    dx_doc_body_name(id, body);
    dx_buf path = DX_BUF_INIT;
    int rc = y_doc_new(&w, NULL) || y_doc_new(&b, NULL)
                 ? dx_error_set(err, DX_ENOMEM, "out of memory")
                 : 0;
    if (!rc)
        rc = dx_store_load_upto(dx_session_store(s), "workspace", at, w, err);
    if (!rc)
        rc = dx_store_load_upto(dx_session_store(s), body, at, b, err);
    if (!rc && (rc = dx_materialize_entry(w, id, b, dx_workspace_link_format(ws), &path, out,
                                          err)) == DX_ENOTFOUND)
        dx_error_set(err, rc,
                     "the file did not exist yet at update %lld (see `diaryx crdt "
                     "history FILE` for its updates)",
                     (long long)at);
    dx_buf_release(&path);
    y_doc_free(w);
    y_doc_free(b);
    return rc;
}

typedef struct change {
    dx_store_update_info u;
    const char *doc; /* "body" or "frontmatter" */
} change;

static int cmp_change(const void *a, const void *b)
{
    int64_t x = ((const change *)a)->u.id, y = ((const change *)b)->u.id;
    return x < y ? 1 : x > y ? -1 : 0;
}

static int history(dx_session *s, const dx_workspace *ws, const char *rel, size_t limit, bool json)
{
    char id[DX_UUID_LEN + 1], body[64];
    dx_error err = DX_ERROR_INIT;
    if (dx_session_find(s, rel, id, &err))
        return cli_fail(&err);
    dx_doc_body_name(id, body);
    dx_store_update_info *bh = NULL, *wh = NULL;
    size_t bn = 0, wn = 0, n = 0;
    dx_crdt_store *st = dx_session_store(s);
    int rc = dx_store_history(st, body, limit, &bh, &bn, &err) ||
                     dx_store_history(st, "workspace", limit * 4, &wh, &wn, &err)
                 ? cli_fail(&err)
                 : 0;
    change *all = rc ? NULL : calloc(bn + wn + 1, sizeof *all);
    if (!rc && !all)
        rc = cli_fail(&(dx_error){DX_ENOMEM, "out of memory"});
    for (size_t i = 0; !rc && i < bn; i++)
        all[n++] = (change){bh[i], "body"};
    /* A workspace update concerns FILE when the file's frontmatter differs before and after
     * it (the document holds every entry). */
    dx_buf before = DX_BUF_INIT, after = DX_BUF_INIT;
    for (size_t i = 0; !rc && i < wn; i++) {
        y_doc *a = NULL, *b = NULL;
        dx_buf p = DX_BUF_INIT;
        dx_buf_reset(&before);
        dx_buf_reset(&after);
        if (y_doc_new(&a, NULL) == 0 && y_doc_new(&b, NULL) == 0 &&
            dx_store_load_upto(st, "workspace", wh[i].id, a, NULL) == 0 &&
            dx_store_load_upto(st, "workspace", wh[i].id - 1, b, NULL) == 0) {
            dx_materialize_entry(a, id, NULL, dx_workspace_link_format(ws), &p, &after, NULL);
            dx_buf_reset(&p);
            dx_materialize_entry(b, id, NULL, dx_workspace_link_format(ws), &p, &before, NULL);
            if (before.len != after.len ||
                memcmp(dx_buf_cstr(&before), dx_buf_cstr(&after), before.len) != 0)
                all[n++] = (change){wh[i], "frontmatter"};
        }
        dx_buf_release(&p);
        y_doc_free(a);
        y_doc_free(b);
    }
    dx_buf_release(&before);
    dx_buf_release(&after);
    if (!rc) {
        qsort(all, n, sizeof *all, cmp_change);
        if (n > limit)
            n = limit;
        /* Origin and device are text from other machines: JSON through jansson, escaped. */
        json_t *arr = json ? json_array() : NULL;
        if (!json)
            printf("%-8s %-19s  %-12s %-7s %-16s %s\n", "UPDATE", "TIME", "CHANGED", "ORIGIN",
                   "DEVICE", "BYTES");
        for (size_t i = 0; i < n; i++) {
            char t[32];
            print_time(all[i].u.created_at, t);
            if (json)
                json_array_append_new(
                    arr, json_pack("{s:I, s:I, s:s, s:s, s:s?, s:I}", "id", (json_int_t)all[i].u.id,
                                   "time_ms", (json_int_t)all[i].u.created_at, "changed",
                                   all[i].doc, "origin", all[i].u.origin, "device", all[i].u.device,
                                   "bytes", (json_int_t)all[i].u.bytes));
            else
                printf("%-8lld %-19s  %-12s %-7s %-16s %zu\n", (long long)all[i].u.id, t,
                       all[i].doc, all[i].u.origin, all[i].u.device ? all[i].u.device : "-",
                       all[i].u.bytes);
        }
        if (json && json_array_size(arr) != n) {
            json_decref(arr);
            arr = NULL;
        }
        if (json)
            rc = cli_print_json(arr, "the history");
        else if (!n)
            printf("(no updates kept for %s: older ones are folded into the snapshot)\n", rel);
    }
    free(all);
    dx_store_history_free(bh, bn);
    dx_store_history_free(wh, wn);
    return rc;
}

static int compact(dx_session *s, size_t keep)
{
    dx_store_doc_info *docs;
    size_t n, before = 0, after = 0;
    dx_error err = DX_ERROR_INIT;
    dx_crdt_store *st = dx_session_store(s);
    if (dx_store_list(st, &docs, &n, &err))
        return cli_fail(&err);
    int rc = 0;
    for (size_t i = 0; !rc && i < n; i++) {
        before += docs[i].updates;
        if (dx_store_compact(st, docs[i].name, keep, &err))
            rc = cli_fail(&err);
    }
    dx_store_docs_free(docs, n);
    if (!rc && dx_store_list(st, &docs, &n, &err) == 0) {
        for (size_t i = 0; i < n; i++)
            after += docs[i].updates;
        dx_store_docs_free(docs, n);
        printf("Compacted %zu documents: %zu updates -> %zu (kept the newest %zu of each)\n", n,
               before, after, keep);
    }
    return rc;
}

int cmd_crdt(cli_ctx *ctx, int argc, char **argv)
{
    const char *n_opt = NULL, *at_opt = NULL, *keep_opt = NULL;
    bool json = false;
    cli_opt opts[] = {{"json", 0, NULL, &json},
                      {"number", 'n', &n_opt, NULL},
                      {"at", 0, &at_opt, NULL},
                      {"keep", 0, &keep_opt, NULL},
                      {NULL}};
    dx_strlist pos = DX_STRLIST_INIT;
    dx_workspace *ws = NULL;
    int rc = cli_parse(USAGE, opts, argc, argv, &pos);
    const char *sub = pos.len ? pos.items[0] : "";
    int64_t n = 20, at = 0, keep = 0;
    if (!rc && strcmp(sub, "info") && strcmp(sub, "history") && strcmp(sub, "compact"))
        rc = pos.len ? cli_usage("crdt", "unknown subcommand '%s'", sub)
                     : cli_usage("crdt", "missing SUBCOMMAND");
    if (!rc && pos.len != (strcmp(sub, "history") ? 1u : 2u))
        rc = cli_usage("crdt",
                       strcmp(sub, "history") ? "'%s' takes no arguments" : "'%s' takes FILE", sub);
    if (!rc && n_opt)
        rc = cli_int("crdt", "-n", n_opt, 1, CLI_MAX_COUNT, &n);
    if (!rc && at_opt)
        rc = cli_int("crdt", "--at", at_opt, 1, INT64_MAX, &at);
    if (!rc && keep_opt)
        rc = cli_int("crdt", "--keep", keep_opt, 0, DX_CONFIG_MAX_KEEP_UPDATES, &keep);
    if (!rc && json && !strcmp(sub, "compact"))
        rc = cli_usage("crdt", "'compact' has no --json output");
    dx_config *cfg = NULL;
    if (!rc && !strcmp(sub, "compact") && !keep_opt && (rc = cli_config(&cfg)) == 0)
        keep = dx_config_git_keep_updates(cfg);
    dx_config_free(cfg);
    if (!rc)
        rc = cli_open(ctx, &ws);
    if (!rc && !strcmp(sub, "info")) {
        rc = info(cli_session(), ws, json);
    } else if (!rc && !strcmp(sub, "compact")) {
        rc = compact(cli_session(), (size_t)keep);
    } else if (!rc) {
        dx_buf rel = DX_BUF_INIT, text = DX_BUF_INIT;
        dx_error err = DX_ERROR_INIT;
        char id[DX_UUID_LEN + 1];
        if (cli_entry(ws, pos.items[1], false, &rel, &err))
            rc = cli_fail(&err);
        else if (!at_opt)
            rc = history(cli_session(), ws, rel.data, (size_t)n, json);
        else if (dx_session_find(cli_session(), rel.data, id, &err) ||
                 render_at(cli_session(), ws, id, at, &text, &err))
            rc = cli_fail(&err);
        else if (json)
            rc = cli_print_json(json_pack("{s:s, s:I, s:s%}", "path", rel.data, "update",
                                          (json_int_t)at, "content", dx_buf_cstr(&text), text.len),
                                "the file");
        else
            fwrite(dx_buf_cstr(&text), 1, text.len, stdout);
        dx_buf_release(&rel);
        dx_buf_release(&text);
    }
    rc = cli_finish(ws, rc);
    dx_strlist_release(&pos);
    return rc;
}
