/* commits.c - the server's git history: commits of a workspace's documents into its bare
 * repository, auto-commits on quiescence and staleness, the log as JSON (see commits.h). */
#include "commits.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int open_repo(srv_hub *h, const char *wid, dx_git **g, dx_error *err)
{
    char path[SRV_PATH_MAX];
    int rc = srv_hub_path(h, wid, ".git", path, err);
    return rc ? rc : dx_git_open_or_init(path, 1, g, err);
}

int srv_commit(srv_hub *h, const char *wid, const char *message, bool no_rebuild,
               dx_commit_result *r, dx_error *err)
{
    srv_ws_ref ref;
    dx_git *g = NULL;
    int rc = srv_hub_acquire(h, wid, &ref, err);
    if (!rc)
        rc = open_repo(h, wid, &g, err);
    if (!rc) {
        dx_history_docs hd;
        dx_commit_opts o = DX_COMMIT_OPTS_INIT;
        o.message = message;
        o.no_rebuild = no_rebuild || !ref.own; /* clients are connected to a loaded one */
        dx_history_docs_of_docset(ref.ds, DX_LINK_MARKDOWN_ROOT, &hd);
        hd.device = "server";
        rc = hd.docs.workspace ? dx_history_commit(&hd, g, &o, r, err)
                               : dx_error_set(err, DX_ECORRUPT,
                                              "the workspace document of %s cannot be loaded", wid);
    }
    dx_git_free(g);
    srv_hub_release(&ref);
    return rc;
}

void srv_commits_tick(srv_hub *h, srv_accounts *acc, int64_t now_ms, int64_t quiescence_ms,
                      int64_t staleness_ms)
{
    const dx_strmap *dirty = srv_hub_dirty(h);
    if (quiescence_ms <= 0)
        return;
    /* The due ones first (committing changes the map). */
    char due[64][DX_UUID_LEN + 1];
    bool stale[64];
    size_t n = 0;
    for (size_t i = 0; i < dirty->cap && n < 64; i++) {
        const char *wid = dirty->slots[i].key;
        const srv_dirty *d = wid ? dirty->slots[i].value : NULL;
        if (!d)
            continue;
        bool connected = srv_hub_loaded(h, wid);
        bool quiet = !connected && now_ms - d->last_ms >= quiescence_ms;
        bool old = staleness_ms > 0 && now_ms - d->first_ms >= staleness_ms;
        if (quiet || old) {
            snprintf(due[n], sizeof due[n], "%s", wid);
            stale[n++] = connected;
        }
    }
    for (size_t i = 0; i < n; i++) {
        dx_commit_result r = {0};
        dx_error err = DX_ERROR_INIT;
        if (!srv_workspace_plan_sync(acc, due[i])) {
            srv_hub_committed(h, due[i], now_ms); /* the free plan keeps no history */
            continue;
        }
        int rc = srv_commit(h, due[i], NULL, stale[i], &r, &err);
        if (rc) {
            fprintf(stderr, "diaryx-server: auto-commit of %s failed: %s\n", due[i], err.msg);
            srv_hub_retry_later(h, due[i], now_ms);
        } else {
            if (r.committed)
                fprintf(stderr, "diaryx-server: committed %s as %.7s (%zu files)\n", due[i], r.id,
                        r.stats.added + r.stats.modified + r.stats.deleted + r.stats.renamed);
            srv_hub_committed(h, due[i], now_ms);
        }
        dx_commit_result_release(&r);
    }
}

typedef struct log_ctx {
    dx_git *g;
    json_t *arr;
    int rc;
    dx_error *err;
} log_ctx;

/* The changes of commit id against its parent; the first commit's are its files, added
 * (their patch is left empty). */
static int changes_of(dx_git *g, const char *id, dx_git_diff_entry **e, size_t *n, dx_error *err)
{
    char parent[DX_GIT_OID_HEX + 2], pid[DX_GIT_OID_HEX];
    dx_error perr = DX_ERROR_INIT;
    snprintf(parent, sizeof parent, "%s~1", id);
    if (dx_git_resolve(g, parent, pid, &perr) == 0)
        return dx_git_diff_entries(g, pid, id, NULL, 0, e, n, err);
    char **paths = NULL;
    size_t np = 0;
    int rc = dx_git_list_files(g, id, &paths, &np, err);
    *e = rc || !np ? NULL : calloc(np, sizeof **e);
    if (!rc && np && !*e)
        rc = dx_error_set(err, DX_ENOMEM, "out of memory");
    for (size_t i = 0; !rc && i < np; i++) {
        (*e)[i].status = 'A';
        if (!((*e)[i].path = strdup(paths[i])) || !((*e)[i].patch = strdup("")))
            rc = dx_error_set(err, DX_ENOMEM, "out of memory");
    }
    *n = *e ? np : 0;
    dx_git_paths_free(paths);
    return rc;
}

/* {path, status} of each file commit id changed. */
static json_t *changed_files(dx_git *g, const char *id, dx_error *err)
{
    dx_git_diff_entry *e = NULL;
    size_t n = 0;
    json_t *files = changes_of(g, id, &e, &n, err) ? NULL : json_array();
    for (size_t i = 0; files && i < n; i++) {
        char st[2] = {e[i].status, 0};
        json_t *o = json_pack("{s:s, s:s}", "path", e[i].path, "status", st);
        if (!o || json_array_append_new(files, o)) {
            json_decref(files);
            files = NULL;
        }
    }
    dx_git_diff_entries_free(e, n);
    return files;
}

static int log_entry(const dx_git_log_entry *e, void *ud)
{
    log_ctx *c = ud;
    json_t *files = changed_files(c->g, e->id, c->err);
    json_t *o =
        files ? json_pack("{s:s, s:s, s:s, s:I, s:s, s:o}", "id", e->id, "short_id", e->short_id,
                          "message", e->summary ? e->summary : "", "timestamp", (json_int_t)e->time,
                          "author", e->author ? e->author : "", "files", files)
              : NULL;
    if (!o || json_array_append_new(c->arr, o)) {
        c->rc = c->err->code ? c->err->code : dx_error_set(c->err, DX_ENOMEM, "out of memory");
        return 1;
    }
    return 0;
}

json_t *srv_history_json(srv_hub *h, const char *wid, const char *path, size_t max, dx_error *err)
{
    log_ctx c = {NULL, json_array(), 0, err};
    int rc = c.arr ? open_repo(h, wid, &c.g, err) : dx_error_set(err, DX_ENOMEM, "out of memory");
    if (!rc)
        rc = dx_git_log(c.g, path, max, log_entry, &c, err);
    if (rc == DX_ENOTFOUND && !c.rc) { /* no commit yet */
        dx_error_clear(err);
        rc = 0;
    }
    if (!rc)
        rc = c.rc;
    dx_git_free(c.g);
    if (rc) {
        json_decref(c.arr);
        return NULL;
    }
    return c.arr;
}

typedef struct restore_ctx {
    dx_git *g;
    const char *rev, *path;
    dx_restore_stats *stats;
} restore_ctx;

static int restore_into(dx_docset *ds, void *ud, dx_error *err)
{
    restore_ctx *c = ud;
    dx_history_docs hd;
    dx_history_docs_of_docset(ds, DX_LINK_MARKDOWN_ROOT, &hd);
    hd.device = "server";
    if (!hd.docs.workspace)
        return dx_error_set(err, DX_ECORRUPT, "the workspace document cannot be loaded");
    return dx_history_restore(&hd, c->g, c->rev, c->path, NULL, c->stats, NULL, err);
}

int srv_restore(srv_hub *h, const char *wid, const char *rev, const char *path,
                dx_restore_stats *stats, dx_commit_result *r, dx_error *err)
{
    dx_git *g = NULL;
    char id[DX_GIT_OID_HEX], msg[256];
    int rc = open_repo(h, wid, &g, err);
    if (!rc)
        rc = dx_git_resolve(g, rev, id, err);
    if (!rc) {
        restore_ctx c = {g, id, path, stats};
        rc = srv_hub_edit(h, wid, restore_into, &c, err);
    }
    dx_git_free(g);
    if (!rc) {
        snprintf(msg, sizeof msg, "Restore %s to %.7s", path ? path : "the workspace", id);
        rc = srv_commit(h, wid, msg, false, r, err);
    }
    return rc;
}

json_t *srv_diff_json(srv_hub *h, const char *wid, const char *rev, const char *path, dx_error *err)
{
    dx_git *g = NULL;
    dx_git_diff_entry *e = NULL;
    size_t n = 0;
    char id[DX_GIT_OID_HEX];
    json_t *files = NULL;
    int rc = open_repo(h, wid, &g, err);
    if (!rc)
        rc = dx_git_resolve(g, rev, id, err);
    if (!rc)
        rc = changes_of(g, id, &e, &n, err);
    if (!rc && !(files = json_array()))
        rc = dx_error_set(err, DX_ENOMEM, "out of memory");
    for (size_t i = 0; !rc && i < n; i++) {
        if (path && strcmp(path, e[i].path) != 0)
            continue;
        char st[2] = {e[i].status, 0};
        json_t *o = json_pack("{s:s, s:s, s:s}", "path", e[i].path, "status", st, "patch",
                              e[i].patch ? e[i].patch : "");
        if (!o || json_array_append_new(files, o))
            rc = dx_error_set(err, DX_ENOMEM, "out of memory");
    }
    json_t *out = rc ? NULL : json_pack("{s:s, s:o}", "commit", id, "files", files);
    if (rc || !out)
        json_decref(files);
    if (!rc && !out)
        dx_error_set(err, DX_ENOMEM, "out of memory");
    dx_git_diff_entries_free(e, n);
    dx_git_free(g);
    return out;
}

int srv_file_at(srv_hub *h, const char *wid, const char *rev, const char *path, dx_buf *out,
                dx_error *err)
{
    dx_git *g = NULL;
    int rc = open_repo(h, wid, &g, err);
    if (!rc)
        rc = dx_git_read_file(g, rev ? rev : "HEAD", path, out, err);
    dx_git_free(g);
    return rc;
}
