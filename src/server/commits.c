/* commits.c - the server's git history: commits of a workspace's documents into its bare
 * repository, auto-commits on quiescence and staleness, the log as JSON (see commits.h). */
#include "commits.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "diaryx/clock.h"

static int open_repo(srv_hub *h, const char *wid, dx_git **g, dx_error *err)
{
    char path[SRV_PATH_MAX];
    int rc = srv_hub_path(h, wid, ".git", path, err);
    return rc ? rc : dx_git_open_or_init(path, 1, g, err);
}

/* The client ids of every document of the store (their state vectors), appended to ids:
 * the state a rebuild retires. */
static int client_ids(dx_docset *ds, uint64_t **ids, size_t *n, dx_error *err)
{
    dx_store_doc_info *docs = NULL;
    size_t nd = 0;
    int rc = dx_store_list(dx_docset_store(ds), &docs, &nd, err);
    for (size_t i = 0; !rc && i < nd; i++) {
        y_doc *yd;
        uint8_t *sv = NULL;
        size_t len = 0;
        if ((rc = dx_docset_doc(ds, docs[i].name, &yd, err)))
            break;
        rc = y_encode_state_vector(yd, &sv, &len) == Y_OK ? srv_sv_clients(sv, len, ids, n)
                                                          : DX_ENOMEM;
        y_free(sv);
        if (rc)
            rc = dx_error_set(err, rc, "cannot list the clients of '%s'", docs[i].name);
    }
    dx_store_docs_free(docs, nd);
    return rc;
}

/* Set the epoch and the retired client ids (text) of store st, in one transaction. */
static int epoch_write(dx_crdt_store *st, int64_t epoch, const char *retired, dx_error *err)
{
    char e[32];
    snprintf(e, sizeof e, "%lld", (long long)epoch);
    int rc = dx_store_begin(st, err);
    if (!rc)
        rc = dx_store_meta_set(st, SRV_META_RETIRED, retired, err);
    if (!rc)
        rc = dx_store_meta_set(st, SRV_META_EPOCH, e, err);
    if (!rc)
        rc = dx_store_commit(st, err);
    else
        dx_store_rollback(st);
    return rc;
}

/* Rebuild wid's documents from HEAD, and open a new epoch: the epoch number goes up and the
 * client ids of the replaced state are retired (a peer still holding them must discard its
 * copy: merging it would bring every text back twice). The new epoch is written first: a
 * crash before the rebuild then refuses the current state's peers until the next commit
 * rebuilds (the failure count stays), where the other order could let old peers merge into
 * the rebuilt state. A rebuild that fails puts the old epoch back. */
static int rebuild(dx_docset *ds, dx_history_docs *hd, dx_git *g, int64_t *epoch_out, dx_error *err)
{
    dx_crdt_store *st = dx_docset_store(ds);
    int64_t epoch = 0;
    uint64_t *ids = NULL;
    size_t n = 0;
    dx_buf v = DX_BUF_INIT, old = DX_BUF_INIT;
    int rc = srv_epoch_read(st, &epoch, &ids, &n, err);
    if (!rc)
        rc = client_ids(ds, &ids, &n, err);
    if (dx_store_meta_get(st, SRV_META_RETIRED, &old, NULL) != 0)
        dx_buf_reset(&old);
    for (size_t i = 0; !rc && i < n; i++)
        dx_buf_printf(&v, "%s%llu", i ? " " : "", (unsigned long long)ids[i]);
    if (!rc && (dx_buf_error(&v) || dx_buf_error(&old)))
        rc = dx_error_set(err, DX_ENOMEM, "out of memory");
    if (!rc)
        rc = epoch_write(st, epoch + 1, dx_buf_cstr(&v), err);
    if (!rc && (rc = dx_history_rebuild(hd, g, err)) != 0 &&
        epoch_write(st, epoch, dx_buf_cstr(&old), NULL) != 0)
        fprintf(stderr,
                "diaryx-server: the epoch of a workspace whose rebuild failed stays at "
                "%lld: its clients will be asked to sync again\n",
                (long long)epoch + 1);
    free(ids);
    dx_buf_release(&v);
    dx_buf_release(&old);
    *epoch_out = epoch + 1;
    return rc;
}

int srv_commit(srv_hub *h, const char *wid, const char *message, bool no_rebuild,
               dx_commit_result *r, dx_error *err)
{
    dx_crdt_store *st = NULL;
    dx_docset *ds = NULL;
    dx_git *g = NULL;
    dx_history_docs hd;
    /* Its own store connection and documents, as a second process would have: the loop
     * goes on using the hub's. */
    int rc = srv_hub_open_docs(h, wid, &st, &ds, err);
    if (!rc)
        rc = open_repo(h, wid, &g, err);
    if (!rc) {
        dx_commit_opts o = DX_COMMIT_OPTS_INIT;
        o.message = message;
        o.no_rebuild = true; /* done here, to open a new epoch */
        dx_history_docs_of_docset(ds, DX_LINK_MARKDOWN_ROOT, &hd);
        hd.device = "server";
        rc = hd.docs.workspace ? dx_history_commit(&hd, g, &o, r, err)
                               : dx_error_set(err, DX_ECORRUPT,
                                              "the workspace document of %s cannot be loaded", wid);
    }
    if (rc == DX_EVALIDATE && !no_rebuild && r->failures >= DX_HISTORY_MAX_FAILURES) {
        dx_error rerr = DX_ERROR_INIT;
        int64_t epoch = 0;
        if (rebuild(ds, &hd, g, &epoch, &rerr) == 0) {
            r->rebuilt = true;
            size_t n = err ? strlen(err->msg) : 0;
            if (err)
                snprintf(err->msg + n, sizeof err->msg - n,
                         "; the CRDT was rebuilt from the last commit (epoch %lld): clients "
                         "holding the old state must discard it",
                         (long long)epoch);
        } else
            fprintf(stderr, "diaryx-server: the rebuild of %s from git failed: %s\n", wid,
                    rerr.msg);
    }
    dx_git_free(g);
    dx_docset_free(ds);
    dx_store_close(st);
    return rc;
}

/* An auto-commit on the worker pool. */
typedef struct auto_job {
    srv_hub *h;
    char wid[DX_UUID_LEN + 1];
    bool no_rebuild; /* else the workspace is held while the job runs */
    int64_t since_ms;
    int rc;
    dx_commit_result r;
    dx_error err;
} auto_job;

static void auto_run(void *ud)
{
    auto_job *a = ud;
    a->rc = srv_commit(a->h, a->wid, NULL, a->no_rebuild, &a->r, &a->err);
}

static void auto_done(void *ud, bool ran)
{
    auto_job *a = ud;
    if (ran && (!a->rc || a->rc == DX_EVALIDATE))
        srv_hub_set_failures(a->h, a->wid, a->r.rebuilt ? 0 : a->r.failures);
    if (!a->no_rebuild)
        srv_hub_unhold(a->h, a->wid);
    if (!ran) {
        /* Stopped before it ran: still dirty, the next start commits it. */
    } else if (a->rc) {
        fprintf(stderr, "diaryx-server: auto-commit of %s failed: %s\n", a->wid, a->err.msg);
        srv_hub_retry_later(a->h, a->wid, dx_now_ms());
        if (a->r.rebuilt)
            srv_hub_rebuilt(a->h, a->wid);
    } else {
        if (a->r.committed)
            fprintf(stderr, "diaryx-server: committed %s as %.7s (%zu files)\n", a->wid, a->r.id,
                    a->r.stats.added + a->r.stats.modified + a->r.stats.deleted +
                        a->r.stats.renamed);
        srv_hub_committed(a->h, a->wid, a->since_ms);
    }
    dx_commit_result_release(&a->r);
    free(a);
}

void srv_commits_tick(srv_hub *h, srv_accounts *acc, srv_jobs *jobs, int64_t now_ms,
                      int64_t quiescence_ms, int64_t staleness_ms)
{
    const dx_strmap *dirty = srv_hub_dirty(h);
    if (quiescence_ms <= 0)
        return;
    /* The due ones first (committing changes the map). */
    char due[64][DX_UUID_LEN + 1];
    size_t n = 0;
    for (size_t i = 0; i < dirty->cap && n < 64; i++) {
        const char *wid = dirty->slots[i].key;
        const srv_dirty *d = wid ? dirty->slots[i].value : NULL;
        if (!d || srv_jobs_busy(jobs, wid))
            continue;
        bool connected = srv_hub_loaded(h, wid);
        bool quiet = !connected && now_ms - d->last_ms >= quiescence_ms;
        bool old = staleness_ms > 0 && now_ms - d->first_ms >= staleness_ms;
        if (quiet || old)
            snprintf(due[n++], sizeof due[n], "%s", wid);
    }
    for (size_t i = 0; i < n; i++) {
        dx_error err = DX_ERROR_INIT;
        if (!srv_workspace_plan_sync(acc, due[i])) {
            srv_hub_committed(h, due[i], now_ms); /* the free plan keeps no history */
            continue;
        }
        auto_job *a = calloc(1, sizeof *a);
        if (!a) {
            srv_hub_retry_later(h, due[i], now_ms);
            continue;
        }
        a->h = h;
        a->no_rebuild = !srv_hub_may_rebuild(h, due[i]); /* never with clients connected */
        a->since_ms = now_ms;
        a->err = (dx_error)DX_ERROR_INIT;
        snprintf(a->wid, sizeof a->wid, "%.*s", (int)sizeof a->wid - 1, due[i]); /* a uuid */
        if (!a->no_rebuild)
            srv_hub_hold(h, due[i]);
        if (srv_jobs_submit(jobs, due[i], auto_run, auto_done, a, &err)) {
            fprintf(stderr, "diaryx-server: auto-commit of %s: %s\n", due[i], err.msg);
            srv_hub_retry_later(h, due[i], now_ms);
            if (!a->no_rebuild)
                srv_hub_unhold(h, due[i]);
            free(a);
        }
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

int srv_restore(srv_hub *h, const char *wid, const char *rev, const char *path,
                dx_restore_stats *stats, dx_commit_result *r, dx_error *err)
{
    dx_crdt_store *st = NULL;
    dx_docset *ds = NULL;
    dx_git *g = NULL;
    dx_history_docs hd;
    char id[DX_GIT_OID_HEX], msg[256];
    int rc = open_repo(h, wid, &g, err);
    if (!rc)
        rc = dx_git_resolve(g, rev, id, err);
    if (!rc)
        rc = srv_hub_open_docs(h, wid, &st, &ds, err);
    if (!rc) {
        dx_history_docs_of_docset(ds, DX_LINK_MARKDOWN_ROOT, &hd);
        hd.device = "server";
        rc = hd.docs.workspace ? dx_history_restore(&hd, g, id, path, NULL, stats, NULL, err)
                               : dx_error_set(err, DX_ECORRUPT,
                                              "the workspace document of %s cannot be loaded", wid);
    }
    /* Stored like any writer's updates: the hub takes them in and relays them to its
     * clients (srv_hub_refresh). */
    if (!rc)
        rc = dx_docset_save(ds, err);
    dx_git_free(g);
    dx_docset_free(ds);
    dx_store_close(st);
    if (!rc) {
        snprintf(msg, sizeof msg, "Restore %s to %.7s", path ? path : "the workspace", id);
        rc = srv_commit(h, wid, msg, true, r, err);
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
