/* history.c - commits of the CRDT state into git, their sanity checks, compaction after a
 * commit, and rebuilding the CRDT from git when the checks keep failing. */
#include "diaryx/history.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "diaryx/fileset.h"
#include "diaryx/frontmatter.h"
#include "diaryx/fs.h"
#include "diaryx/idmap.h"
#include "diaryx/materialize.h"
#include "diaryx/paths.h"
#include "diaryx/strmap.h"
#include "diaryx/wsdoc.h"

#define META_FAILURES     "commit_failures"
#define META_LAST_COMMIT  "last_commit"
#define META_COMMIT_POINT "commit_update_id" /* the newest update id a commit covered */

void dx_commit_result_release(dx_commit_result *r)
{
    dx_strlist_release(&r->problems);
}

int dx_history_open(dx_session *s, dx_git **out, dx_error *err)
{
    return dx_git_open_or_init(dx_workspace_root(dx_session_workspace(s)), 0, out, err);
}

/* ---- a client session as history's documents and work tree ---------------------------- */

void dx_history_docs_of_session(dx_session *s, dx_history_docs *out)
{
    memset(out, 0, sizeof *out);
    dx_session_docs(s, &out->docs);
    out->fmt = dx_workspace_link_format(dx_session_workspace(s));
    out->store = dx_session_store(s);
    out->device = dx_session_device(s);
    out->session = s;
}

void dx_history_docs_of_docset(dx_docset *ds, dx_link_format fmt, dx_history_docs *out)
{
    memset(out, 0, sizeof *out);
    dx_docset_docs(ds, &out->docs);
    out->fmt = fmt;
    out->store = dx_docset_store(ds);
    out->device = dx_docset_device(ds);
    out->point = dx_docset_seen(ds);
}

/* 1 when workspace file p is there, 0 when it is gone, or an error: a file that cannot be
 * looked at is neither kept in nor dropped from the commit by guess. */
static int on_disk(void *ud, const char *p, dx_error *err)
{
    struct stat st;
    dx_error e = DX_ERROR_INIT;
    int rc = dx_fs_stat_in(dx_workspace_root(dx_session_workspace(ud)), p, &st, &e);
    if (rc == DX_ENOTFOUND)
        return 0;
    if (rc == 0 || rc == DX_EPATH) /* a link stands there: not gone (validate reports it) */
        return 1;
    return dx_error_set(err, rc, "%s", e.msg[0] ? e.msg : "cannot look at a workspace file");
}

static const char *recorded(void *ud, const char *path)
{
    return dx_session_recorded(ud, path);
}

/* The fileset source of h: with a session, its work tree (tree is filled). */
static void fileset_src(const dx_history_docs *h, dx_fileset_tree *tree, dx_fileset_src *src)
{
    tree->on_disk = on_disk;
    tree->recorded = recorded;
    tree->ud = h->session;
    src->docs = &h->docs;
    src->fmt = h->fmt;
    src->tree = h->session ? tree : NULL;
}

void dx_history_files_free(dx_git_file *files, size_t n)
{
    dx_fileset_free(files, n);
}

int dx_history_files(dx_session *s, dx_git *g, dx_git_file **files, size_t *n, dx_strlist *problems,
                     dx_error *err)
{
    dx_history_docs h;
    dx_fileset_tree tree;
    dx_fileset_src src;
    *files = NULL;
    *n = 0;
    int rc = dx_session_load(s, err);
    if (rc)
        return rc;
    dx_history_docs_of_session(s, &h);
    fileset_src(&h, &tree, &src);
    return dx_fileset_all(&src, g, files, n, problems, err);
}

/* The changes since the last commit, when they can be told without looking at every entry
 * (the normal case of a local workspace): the paths whose file record changed (the store's
 * `dirty` marks, kept by triggers) and the files of entries whose body document has updates
 * since. Each is rendered and checked; a path no live entry renders any more is deleted
 * when diaryx manages it and it is gone from disk. *possible is false, and nothing is
 * listed, when the last commit's bookkeeping does not hold: no commit point, HEAD is not
 * the commit diaryx made last (someone committed by hand), updates came from elsewhere
 * (sync does not mark records), an entry changed without a file record, or the count of
 * live entries differs from the count of entry files. Needs a session (file records). */
/* The finding of two entries at path p: other (recorded there) and the one of ids whose
 * path is p now (rare: looked up only then). */
static int push_conflict(y_doc *ws, const dx_strlist *ids, const char *other, const char *p,
                         dx_strlist *problems, dx_error *err)
{
    dx_buf path = DX_BUF_INIT;
    const char *id = "?";
    int rc = 0;
    for (size_t i = 0; !rc && i < ids->len && id[0] == '?'; i++) {
        dx_buf_reset(&path);
        rc = dx_wsdoc_path(ws, ids->items[i], &path, NULL) == DX_ENOMEM ? DX_ENOMEM : 0;
        if (!rc && path.data && !strcmp(path.data, p))
            id = ids->items[i];
    }
    dx_buf_release(&path);
    if (rc)
        return dx_error_set(err, rc, "out of memory");
    dx_strlist_pushf(problems, "entries %s and %s both render to '%s'", other, id, p);
    return 0;
}

static int delta_files(const dx_history_docs *h, dx_git *g, const char *head_id, int64_t since,
                       const dx_strlist *dirty, dx_git_file **files, size_t *n, dx_strlist *deletes,
                       dx_strlist *docs, bool *possible, dx_strlist *problems, dx_error *err)
{
    dx_session *s = h->session;
    y_doc *ws = h->docs.workspace;
    dx_crdt_store *st = h->store;
    dx_strmap cand = DX_STRMAP_INIT, ids = DX_STRMAP_INIT;
    dx_strlist idl = DX_STRLIST_INIT;
    dx_fileset_tree tree;
    dx_fileset_src src;
    int rc = 0;
    *files = NULL;
    *n = 0;
    *possible = false;
    if (dx_store_foreign_since(st, since) ||
        dx_session_live_entries(s) != dx_session_entry_files(s))
        return 0;
    rc = dx_store_changed_since(st, since, docs, err);
    for (size_t i = 0; !rc && i < dirty->len; i++)
        if (dx_strmap_put(&cand, dirty->items[i], (void *)1))
            rc = dx_error_set(err, DX_ENOMEM, "out of memory");
    bool ok = true;
    for (size_t i = 0; !rc && ok && i < docs->len; i++) {
        const char *rpath, *rhash, *d = docs->items[i];
        if (!dx_doc_body_id(d) || !dx_wsdoc_is_live(ws, dx_doc_body_id(d)))
            continue;
        if (dx_session_record(s, d + 5, &rpath, &rhash) != 0)
            ok = false; /* a body without a file: look at everything */
        else if (dx_strmap_put(&cand, rpath, (void *)1))
            rc = dx_error_set(err, DX_ENOMEM, "out of memory");
    }
    if (rc || !ok)
        goto done;
    /* Render the entries recorded at the candidate paths. */
    for (size_t i = 0; !rc && i < cand.cap; i++) {
        const char *p = cand.slots[i].key, *id;
        if (!p || !(id = dx_session_recorded_entry(s, p)) || dx_strmap_get(&ids, id))
            continue;
        if (dx_strmap_put(&ids, id, (void *)1) || dx_strlist_push(&idl, id))
            rc = dx_error_set(err, DX_ENOMEM, "out of memory");
    }
    fileset_src(h, &tree, &src);
    if (!rc)
        rc = dx_fileset_entries(&src, g, head_id, (const char *const *)idl.items, idl.len, files, n,
                                problems, err);
    /* Check 2 against the entries not rendered here: their recorded paths are taken (an
     * entry recorded at a path that is no candidate was not rendered). */
    for (size_t i = 0; !rc && i < *n; i++) {
        const char *p = (*files)[i].path, *other = dx_session_recorded_entry(s, p);
        if (other && dx_wsdoc_is_live(ws, other) && !dx_strmap_get(&cand, p))
            rc = push_conflict(ws, &idl, other, p, problems, err);
    }
    /* A candidate path no entry renders to: deleted when diaryx manages it and it is gone
     * (a markdown file diaryx could not read stays as committed). */
    for (size_t i = 0; !rc && i < cand.cap; i++) {
        const char *p = cand.slots[i].key;
        if (!p || dx_fileset_find(*files, *n, p) || !dx_workspace_manages(p))
            continue;
        int there = on_disk(s, p, err);
        if (there < 0)
            rc = there;
        else if (!there && dx_strlist_push(deletes, p))
            rc = dx_error_set(err, DX_ENOMEM, "out of memory");
    }
    if (rc) {
        dx_fileset_free(*files, *n);
        *files = NULL;
        *n = 0;
    } else {
        *possible = true;
    }
done:
    dx_strmap_release(&cand);
    dx_strmap_release(&ids);
    dx_strlist_release(&idl);
    return rc;
}

/* The changes since the last commit of documents without a session (a server's): when only
 * body documents have updates since the commit point, the entries and their paths are as
 * committed, and only those entries are rendered and checked. Any update of the workspace
 * document (an entry created, moved, retitled, deleted) renders everything: *possible is
 * false. */
static int delta_bodies(const dx_history_docs *h, dx_git *g, const char *head_id, int64_t since,
                        dx_git_file **files, size_t *n, dx_strlist *docs, bool *possible,
                        dx_strlist *problems, dx_error *err)
{
    dx_fileset_tree tree;
    dx_fileset_src src;
    dx_strlist ids = DX_STRLIST_INIT;
    *files = NULL;
    *n = 0;
    *possible = false;
    int rc = dx_store_changed_since(h->store, since, docs, err);
    for (size_t i = 0; !rc && i < docs->len; i++) {
        const char *id = dx_doc_body_id(docs->items[i]);
        if (!id)
            goto done; /* the workspace document changed */
        if (dx_wsdoc_is_live(h->docs.workspace, id) && dx_strlist_push(&ids, id))
            rc = dx_error_set(err, DX_ENOMEM, "out of memory");
    }
    fileset_src(h, &tree, &src);
    if (!rc)
        rc = dx_fileset_entries(&src, g, head_id, (const char *const *)ids.items, ids.len, files, n,
                                problems, err);
    *possible = rc == 0;
done:
    dx_strlist_release(&ids);
    return rc;
}

static int meta_int(dx_crdt_store *st, const char *key)
{
    dx_buf v = DX_BUF_INIT;
    int n = dx_store_meta_get(st, key, &v, NULL) == 0 ? atoi(v.data) : 0;
    dx_buf_release(&v);
    return n;
}

static int compact_all(dx_crdt_store *st, size_t keep, dx_error *err)
{
    dx_strlist docs = DX_STRLIST_INIT;
    int rc = dx_store_docs_over(st, keep, &docs, err);
    for (size_t i = 0; !rc && i < docs.len; i++)
        rc = dx_store_compact(st, docs.items[i], keep, err);
    dx_strlist_release(&docs);
    return rc;
}

/* Commits of one workspace run one at a time: an exclusive lock on .diaryx/commit.lock,
 * which the kernel releases when the holder dies. While a commit runs the file holds
 * "writing <unix time>"; finding that text when taking the lock means the last commit was
 * killed, and the git lock files made since that time that no process holds are its
 * leftovers. Any other git lock file may be a git command's of the user: it goes only when
 * it is provably stale (see dx_git_remove_stale_locks). */
static int commit_lock(dx_session *s, dx_git *g, int *fd, dx_error *err)
{
    dx_buf p = DX_BUF_INIT;
    *fd = -1;
    if (!s)
        return 0; /* no work tree: the caller serializes its commits */
    if (dx_workspace_abspath(dx_session_workspace(s), ".diaryx/commit.lock", &p))
        return dx_error_set(err, DX_ENOMEM, "out of memory");
    *fd = open(p.data, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    int rc = 0;
    if (*fd < 0 || flock(*fd, LOCK_EX) != 0)
        rc = dx_error_set(err, DX_EIO, "cannot lock '%s': %s", p.data, strerror(errno));
    dx_buf_release(&p);
    char mark[64] = "";
    long long killed = 0;
    ssize_t got = rc ? -1 : pread(*fd, mark, sizeof mark - 1, 0);
    if (got > 0) {
        mark[got] = 0;
        if (sscanf(mark, "writing %lld", &killed) != 1)
            killed = 0;
    }
    if (!rc)
        rc = dx_git_remove_stale_locks(g, DX_GIT_STALE_LOCK_AGE, (int64_t)killed, NULL, err);
    int n = snprintf(mark, sizeof mark, "writing %lld\n", (long long)time(NULL));
    if (!rc && (ftruncate(*fd, 0) != 0 || pwrite(*fd, mark, (size_t)n, 0) != n))
        rc = dx_error_set(err, DX_EIO, "cannot write '.diaryx/commit.lock': %s", strerror(errno));
    return rc;
}

/* Bring `.diaryx/ids` (idmap.h) up to the commit r: after a commit of the changes (delta)
 * only the paths whose file record changed (the dirty marks it read) can have another entry,
 * so their lines are appended; after a full commit, or when the file is missing or has grown
 * to about twice its size, it is written whole. Nothing committed: nothing changed since the
 * last time, unless the file is missing. */
static int save_ids(dx_session *s, const dx_commit_result *r, bool delta, const dx_strlist *dirty,
                    dx_error *err)
{
    dx_buf p = DX_BUF_INIT;
    dx_workspace *ws = dx_session_workspace(s);
    if (dx_workspace_abspath(ws, DX_IDMAP_FILE, &p)) {
        dx_buf_release(&p);
        return dx_error_set(err, DX_ENOMEM, "out of memory");
    }
    struct stat st;
    bool missing = stat(p.data, &st) != 0;
    dx_buf_release(&p);
    if (!r->committed && !missing)
        return 0;
    (void)dx_session_wsdoc(s); /* loaded by the commit already: the count of live entries */
    if (missing || !delta || (size_t)st.st_size > 128 * (dx_session_live_entries(s) + 64))
        return dx_session_save_ids(s, err);
    char(*ids)[DX_UUID_LEN + 1] = calloc(dirty->len + 1, sizeof *ids);
    const char **idp = calloc(dirty->len + 1, sizeof *idp);
    int rc = ids && idp ? 0 : dx_error_set(err, DX_ENOMEM, "out of memory");
    for (size_t i = 0; !rc && i < dirty->len; i++)
        idp[i] = dx_session_find(s, dirty->items[i], ids[i], NULL) == 0 ? ids[i] : NULL;
    if (!rc)
        rc = dx_idmap_append(dx_workspace_root(ws), (const char *const *)dirty->items, idp,
                             dirty->len, err);
    free(ids);
    free(idp);
    return rc;
}

static int commit_locked(const dx_history_docs *h, dx_git *g, const dx_commit_opts *opts,
                         dx_commit_result *r, dx_error *err);

int dx_history_commit(const dx_history_docs *h, dx_git *g, const dx_commit_opts *opts,
                      dx_commit_result *r, dx_error *err)
{
    memset(r, 0, sizeof *r);
    int fd = -1;
    int rc = commit_lock(h->session, g, &fd, err);
    if (!rc) {
        rc = commit_locked(h, g, opts, r, err);
        if (fd >= 0)
            (void)!ftruncate(fd, 0); /* finished: the next commit finds no killed writer */
    }
    if (fd >= 0)
        close(fd);
    return rc;
}

static int commit_locked(const dx_history_docs *hd, dx_git *g, const dx_commit_opts *opts,
                         dx_commit_result *r, dx_error *err)
{
    dx_commit_opts defaults = DX_COMMIT_OPTS_INIT;
    if (!opts)
        opts = &defaults;
    dx_history_docs h = *hd;
    dx_session *s = h.session;
    dx_crdt_store *st = h.store;
    dx_fileset_tree tree;
    dx_fileset_src src;
    dx_git_file *files = NULL;
    size_t n = 0;
    dx_strlist dirty = DX_STRLIST_INIT, deletes = DX_STRLIST_INIT, docs = DX_STRLIST_INIT;
    bool delta = false;
    char head[DX_GIT_OID_HEX] = "";
    dx_buf v = DX_BUF_INIT, check_all = DX_BUF_INIT;
    int64_t upto = 0;
    /* The marks first, then the session brought up to date with the store (what other
     * processes stored; the disk is the caller's to sync): every mark read belongs to a
     * change this commit sees. Marks made after they were read stay for the next commit,
     * and so do updates the session had not applied (the commit point is the session's). */
    int rc = dx_store_dirty(st, &dirty, &upto, err);
    bool want_all = dx_store_meta_get(st, DX_SESSION_META_CHECK_ALL, &check_all, NULL) == 0;
    if (!rc && s)
        rc = dx_session_catch_up(s, NULL, err);
    if (!rc && s && !(rc = dx_session_load(s, err)))
        h.docs.workspace = dx_session_wsdoc(s); /* what the catch-up left */
    if (!rc && !h.docs.workspace)
        rc = dx_error_set(err, DX_EINVAL, "the workspace document is not loaded");
    if (rc)
        goto done;
    fileset_src(&h, &tree, &src);
    /* The documents of a caller without a session hold everything stored. */
    int64_t point = s ? dx_session_applied(s) : h.point ? h.point : dx_store_last_id(st, NULL);
    int64_t since =
        dx_store_meta_get(st, META_COMMIT_POINT, &v, NULL) == 0 ? strtoll(v.data, NULL, 10) : -1;
    dx_buf_reset(&v);
    bool last_is_head = dx_store_meta_get(st, META_LAST_COMMIT, &v, NULL) == 0 &&
                        dx_git_resolve(g, "HEAD", head, NULL) == 0 && !strcmp(v.data, head);
    /* The entries are rendered in one read of the store (their body documents are loaded
     * one by one), then it is ended: the bookkeeping below writes. */
    if (!opts->verify_all && !want_all && since >= 0 && last_is_head &&
        !(rc = dx_store_read_begin(st, err))) {
        rc = s ? delta_files(&h, g, head, since, &dirty, &files, &n, &deletes, &docs, &delta,
                             &r->problems, err)
               : delta_bodies(&h, g, head, since, &files, &n, &docs, &delta, &r->problems, err);
        dx_store_read_end(st);
    }
    dx_git_commit_opts go = {0};
    go.message = opts->message;
    go.device = h.device;
    /* The work tree is the client's: the session wrote the files; should another process
     * have written newer ones since, rewriting them with this commit's bytes would undo its
     * edits. The blob ids come from the fileset, computed from the bytes. */
    go.keep_worktree = 1;
    go.ids_computed = 1;
    for (int attempt = 0; !rc; attempt++) {
        if (!delta) {
            dx_strlist_release(&docs);
            if (!(rc = dx_store_read_begin(st, err))) {
                rc = dx_fileset_all(&src, g, &files, &n, &r->problems, err);
                dx_store_read_end(st);
            }
        }
        if (rc)
            goto done;
        r->incremental = delta;
        r->checked = 0;
        for (size_t i = 0; i < n; i++)
            r->checked += files[i].data != NULL; /* carried files come by id alone */
        if (r->problems.len && !opts->skip_validation) {
            /* Skip the commit, count it; the third failure in a row lets git win. */
            char f[16];
            r->failures = (size_t)meta_int(st, META_FAILURES) + 1;
            snprintf(f, sizeof f, "%zu", r->failures);
            if ((rc = dx_store_meta_set(st, META_FAILURES, f, err)))
                goto done;
            if (r->failures >= DX_HISTORY_MAX_FAILURES && !opts->no_rebuild) {
                if ((rc = dx_history_rebuild(&h, g, err)))
                    goto done;
                r->rebuilt = true;
            }
            rc =
                dx_error_set(err, DX_EVALIDATE,
                             "the CRDT state failed %zu check%s (%s); nothing was committed%s",
                             r->problems.len, r->problems.len == 1 ? "" : "s", r->problems.items[0],
                             !r->rebuilt ? ""
                             : s ? "; the CRDT was rebuilt from the last commit and the files "
                                   "on disk (uncommitted edits are kept)"
                                 : "; the CRDT was rebuilt from the last commit");
            goto done;
        }
        /* The changes were computed against head: they go on head or nowhere. */
        go.expected_parent = delta ? head : NULL;
        rc = delta ? dx_git_commit_changes(g, files, n, (const char *const *)deletes.items,
                                           deletes.len, &go, r->id, &r->stats, err)
                   : dx_git_commit_files(g, files, n, &go, r->id, &r->stats, err);
        /* HEAD moved meanwhile, or the changes cannot be applied to it (a file where the
         * parent has a directory): once more with every entry. */
        if (!delta || attempt > 0 || (rc != DX_ECONFLICT && rc != DX_EPATH))
            break;
        dx_error_clear(err);
        dx_fileset_free(files, n);
        files = NULL;
        n = 0;
        dx_strlist_release(&deletes);
        dx_strlist_release(&r->problems);
        delta = false;
        rc = 0;
    }
    if (rc < 0)
        goto done;
    r->committed = rc != DX_GIT_NOCHANGE;
    /* The bookkeeping in one transaction: the commit point, the marks it covered, and
     * (only after a successful commit: git holds what the folded updates said) the
     * compaction. After a commit of changes only the changed documents can have grown past
     * keep. Entries a commit with --skip-validation left out must be looked at again: the
     * next commit checks everything. Should it fail, the next commit finds nothing new and
     * does it again. */
    char p[32];
    snprintf(p, sizeof p, "%lld", (long long)point);
    size_t keep = opts->keep_recent ? opts->keep_recent : DX_HISTORY_KEEP_RECENT;
    rc = dx_store_begin(st, err);
    if (!rc)
        rc = dx_store_meta_set(st, META_FAILURES, NULL, err);
    if (!rc)
        rc = dx_store_meta_set(st, META_COMMIT_POINT, p, err);
    if (!rc)
        rc = dx_store_meta_set(st, META_LAST_COMMIT, r->id, err);
    if (!rc)
        rc = dx_store_dirty_clear(st, upto, err);
    if (!rc && r->problems.len)
        rc = dx_store_meta_set(st, DX_SESSION_META_CHECK_ALL, "skipped checks", err);
    else if (!rc && !delta && want_all) /* unless set again meanwhile */
        rc = dx_store_meta_clear_if(st, DX_SESSION_META_CHECK_ALL, check_all.data, err);
    for (size_t i = 0; !rc && r->committed && delta && i < docs.len; i++)
        rc = dx_store_compact(st, docs.items[i], keep, err);
    if (!rc && r->committed && !delta)
        rc = compact_all(st, keep, err);
    if (!rc)
        rc = dx_store_commit(st, err);
    else
        dx_store_rollback(st);
    if (!rc && r->committed)
        rc = dx_git_maybe_pack(g, 512, NULL, err);
    /* The ids of the committed entries, for a store built again from the files. The commit
     * stands if they cannot be written: a warning. */
    dx_error ie = DX_ERROR_INIT;
    if (!rc && s && save_ids(s, r, delta, &dirty, &ie) && !r->stats.warning[0])
        snprintf(
            r->stats.warning, sizeof r->stats.warning,
            "the entry ids were not saved (%s); a rebuild of the CRDT may give entries new ids",
            ie.msg);
done:
    dx_buf_release(&v);
    dx_buf_release(&check_all);
    dx_fileset_free(files, n);
    dx_strlist_release(&dirty);
    dx_strlist_release(&deletes);
    dx_strlist_release(&docs);
    return rc;
}

/* The files of HEAD back on disk where they are missing, unless their entry (by the id the
 * last commit recorded) now has a file at another path (a move not committed yet). A file
 * on disk is never replaced: what is there is uncommitted work and goes into the new CRDT. */
static int restore_missing(dx_session *s, dx_git *g, char **paths, size_t n, const dx_strmap *ids,
                           const dx_store_file *recs, size_t nrecs, dx_error *err)
{
    dx_workspace *ws = dx_session_workspace(s);
    dx_strmap at = DX_STRMAP_INIT; /* id -> recorded path */
    dx_buf abs = DX_BUF_INIT, bytes = DX_BUF_INIT, other = DX_BUF_INIT;
    int rc = 0;
    for (size_t i = 0; !rc && i < nrecs; i++)
        if (recs[i].doc_id[0] && dx_strmap_put(&at, recs[i].doc_id, (void *)recs[i].path))
            rc = dx_error_set(err, DX_ENOMEM, "out of memory");
    for (size_t i = 0; !rc && i < n; i++) {
        if (!dx_workspace_manages(paths[i]))
            continue;
        dx_buf_reset(&bytes);
        dx_buf_reset(&abs);
        dx_workspace_abspath(ws, paths[i], &abs);
        if (dx_path_exists(abs.data))
            continue;
        const char *id = dx_strmap_get(ids, paths[i]);
        const char *now = id ? dx_strmap_get(&at, id) : NULL;
        dx_buf_reset(&other);
        if (now && strcmp(now, paths[i]) && !dx_workspace_abspath(ws, now, &other) &&
            dx_path_exists(other.data))
            continue;
        dx_buf dir = DX_BUF_INIT;
        dx_path_dirname(abs.data, &dir);
        if (!(rc = dx_git_read_file(g, NULL, paths[i], &bytes, err)) &&
            !(rc = dx_mkdirs(dir.data, err)))
            rc = dx_file_write_atomic(abs.data, dx_buf_cstr(&bytes), bytes.len, 0644, err);
        dx_buf_release(&dir);
    }
    dx_strmap_release(&at);
    dx_buf_release(&abs);
    dx_buf_release(&bytes);
    dx_buf_release(&other);
    return rc;
}

typedef struct backup {
    long long time;
    char *name;
} backup;

static int cmp_backup_newest_first(const void *a, const void *b)
{
    const backup *x = a, *y = b;
    if (x->time != y->time)
        return x->time < y->time ? 1 : -1;
    return -strcmp(x->name, y->name);
}

/* Remove all but the newest `keep` crdt.db.broken-<time>[-N] files of the directory dir:
 * each rebuild keeps one, and a store that keeps failing would fill the disk. */
static void prune_backups(const char *dir, size_t keep)
{
    static const char prefix[] = "crdt.db.broken-";
    DIR *d = opendir(dir);
    backup *b = NULL;
    size_t n = 0, cap = 0;
    struct dirent *e;
    while (d && (e = readdir(d))) {
        if (strncmp(e->d_name, prefix, sizeof prefix - 1) != 0)
            continue;
        if (n == cap) {
            backup *nb = realloc(b, (cap = cap ? cap * 2 : 8) * sizeof *b);
            if (!nb)
                break;
            b = nb;
        }
        b[n].name = strdup(e->d_name);
        if (!b[n].name)
            break;
        b[n++].time = strtoll(e->d_name + sizeof prefix - 1, NULL, 10);
    }
    if (d)
        closedir(d);
    qsort(b, n, sizeof *b, cmp_backup_newest_first);
    dx_buf path = DX_BUF_INIT;
    for (size_t i = 0; i < n; i++) {
        dx_buf_reset(&path);
        if (i >= keep && dx_buf_printf(&path, "%s/%s", dir, b[i].name) == 0)
            unlink(path.data);
        free(b[i].name);
    }
    dx_buf_release(&path);
    free(b);
}

/* The first half of a client's rebuild (see dx_history_rebuild). */
static int rebuild_client(dx_session *s, dx_git *g, dx_error *err)
{
    dx_workspace *ws = dx_session_workspace(s);
    char **paths = NULL;
    size_t n = 0;
    dx_store_file *recs = NULL;
    size_t nrecs = 0;
    dx_strmap ids = DX_STRMAP_INIT; /* path -> id */
    int rc = dx_git_list_files(g, NULL, &paths, &n, err);
    if (!rc)
        rc = dx_store_files(dx_session_store(s), &recs, &nrecs, err);
    if (!rc)
        rc = dx_idmap_read(dx_workspace_root(ws), &ids, err); /* as of the last commit */
    if (!rc)
        rc = restore_missing(s, g, paths, n, &ids, recs, nrecs, err);
    /* Every entry keeps its id: the old store's file records say which entry each file on
     * disk is; the table of the last commit covers the files brought back. */
    for (size_t i = 0; !rc && i < nrecs; i++)
        if (recs[i].doc_id[0] && dx_idmap_put(&ids, recs[i].path, recs[i].doc_id))
            rc = dx_error_set(err, DX_ENOMEM, "out of memory");
    if (!rc)
        rc = dx_idmap_write(dx_workspace_root(ws), &ids, err);
    dx_git_paths_free(paths);
    dx_store_files_free(recs, nrecs);
    dx_idmap_release(&ids);
    return rc;
}

int dx_history_rebuild_finish(const char *root, dx_error *err)
{
    dx_buf db = DX_BUF_INIT, bak = DX_BUF_INIT;
    long long now = (long long)time(NULL);
    int rc = 0;
    /* The old store is kept for investigation; a new one is imported from the files. */
    if (dx_buf_printf(&db, "%s/" DX_STORE_FILE, root) ||
        dx_buf_printf(&bak, "%s.broken-%lld", db.data, now)) {
        rc = dx_error_set(err, DX_ENOMEM, "out of memory");
        goto done;
    }
    /* A second rebuild within the same second gets its own name. */
    for (int i = 2; dx_path_exists(bak.data); i++) {
        dx_buf_reset(&bak);
        if (dx_buf_printf(&bak, "%s.broken-%lld-%d", db.data, now, i)) {
            rc = dx_error_set(err, DX_ENOMEM, "out of memory");
            goto done;
        }
    }
    if (rename(db.data, bak.data) != 0) {
        rc = dx_error_set(err, DX_EIO, "cannot move '%s' aside: %s", db.data, strerror(errno));
        goto done;
    }
    dx_buf_reset(&db);
    if (dx_buf_printf(&db, "%s/.diaryx", root) == 0)
        prune_backups(db.data, DX_HISTORY_KEEP_BROKEN);
done:
    dx_buf_release(&db);
    dx_buf_release(&bak);
    return rc;
}

/* ---- documents from files (a server's rebuild, a restore) ------------------------------ */

/* Entries by path (path -> id, owned), the lookup of dx_ingest_entry_with. */
static int by_path(void *user, const char *path, char out[DX_UUID_LEN + 1])
{
    const char *id = dx_strmap_get(user, path);
    if (!id)
        return DX_ENOTFOUND;
    snprintf(out, DX_UUID_LEN + 1, "%s", id);
    return 0;
}

static int index_path(void *ud, const char *id, const char *path)
{
    return dx_idmap_put(ud, path, id);
}

/* The path of every live entry of ws whose path can be derived, into out (path -> id). */
static int index_paths(y_doc *ws, dx_strmap *out, dx_error *err)
{
    dx_error e = DX_ERROR_INIT;
    int rc = dx_wsdoc_each_path(ws, index_path, out, &e);
    if (rc)
        return dx_error_set(err, rc, "%s", e.msg[0] ? e.msg : "out of memory");
    return 0;
}

/* The bytes of a file of commit rev that can be an entry (UTF-8 text whose frontmatter
 * parses, closed): 0, DX_EPARSE (err names it), or an error. */
static int entry_bytes(dx_git *g, const char *rev, const char *path, dx_buf *bytes, dx_error *err)
{
    dx_fm *fm = NULL;
    dx_error e = DX_ERROR_INIT;
    int rc = dx_git_read_file(g, rev, path, bytes, err);
    if (rc)
        return rc;
    if (!y_utf8_valid(dx_buf_cstr(bytes), bytes->len))
        return dx_error_set(err, DX_EPARSE, "'%s' at %.7s is not UTF-8 text", path, rev);
    rc = dx_fm_parse(dx_buf_cstr(bytes), bytes->len, path, &fm, &e);
    if (!rc && dx_fm_unclosed(fm))
        rc = dx_error_set(&e, DX_EPARSE, "its frontmatter is never closed");
    dx_fm_free(fm);
    if (rc == DX_EPARSE)
        return dx_error_set(err, rc, "'%s' at %.7s cannot be an entry: %s", path, rev, e.msg);
    return rc ? dx_error_set(err, rc, "%s", e.msg) : 0;
}

/* Take the files paths[0..n) of commit rev into the documents: every path that has no entry
 * in index (path -> id) gets a new one first (with the id prefer names, when it is free),
 * so links between the files resolve whatever their order; then each file is ingested.
 * A file that cannot be an entry is left out and named in skipped (NULL: it is an error).
 * Entries taken in are reported to docs.changed. */
static int take_in(const dx_history_docs *h, dx_git *g, const char *rev, char *const *paths,
                   size_t n, dx_strmap *index, const dx_strmap *prefer, dx_restore_stats *stats,
                   dx_strlist *skipped, dx_error *err)
{
    y_doc *ws = h->docs.workspace;
    dx_buf *bytes = calloc(n + 1, sizeof *bytes);
    int rc = bytes ? 0 : dx_error_set(err, DX_ENOMEM, "out of memory");
    for (size_t i = 0; !rc && i < n; i++) {
        if (!paths[i] || !dx_workspace_manages(paths[i]))
            continue;
        dx_error e = DX_ERROR_INIT;
        rc = entry_bytes(g, rev, paths[i], &bytes[i], &e);
        if (rc == DX_EPARSE && skipped) {
            rc = dx_strlist_pushf(skipped, "%s", e.msg)
                     ? dx_error_set(err, DX_ENOMEM, "out of memory")
                     : 0;
            dx_buf_release(&bytes[i]);
            continue;
        }
        if (rc) {
            rc = dx_error_set(err, rc, "%s", e.msg);
            break;
        }
        if (dx_strmap_get(index, paths[i]))
            continue;
        dx_entry en = DX_ENTRY_INIT, taken = DX_ENTRY_INIT;
        const char *was = prefer ? dx_strmap_get(prefer, paths[i]) : NULL;
        if (was && dx_wsdoc_get(ws, was, &taken, NULL) == DX_ENOTFOUND)
            snprintf(en.id, sizeof en.id, "%s", was);
        dx_entry_release(&taken);
        if (!(en.filename = strdup(paths[i])))
            rc = dx_error_set(err, DX_ENOMEM, "out of memory");
        if (!rc)
            rc = dx_wsdoc_put(ws, &en, err);
        if (!rc && dx_idmap_put(index, paths[i], en.id))
            rc = dx_error_set(err, DX_ENOMEM, "out of memory");
        if (!rc && stats)
            stats->created++;
        dx_entry_release(&en);
    }
    for (size_t i = 0; !rc && i < n; i++) {
        if (!paths[i] || !bytes[i].data)
            continue;
        char id[DX_UUID_LEN + 1];
        y_doc *body = NULL;
        snprintf(id, sizeof id, "%s", (const char *)dx_strmap_get(index, paths[i]));
        rc = h->docs.body(h->docs.ud, id, &body, err);
        if (!rc)
            rc = dx_ingest_entry_with(ws, id, paths[i], dx_buf_cstr(&bytes[i]), bytes[i].len, body,
                                      h->fmt, by_path, index, err);
        if (!rc && h->docs.changed && h->docs.changed(h->docs.ud, id))
            rc = dx_error_set(err, DX_ENOMEM, "out of memory");
        if (!rc && stats)
            stats->restored++;
    }
    for (size_t i = 0; bytes && i < n; i++)
        dx_buf_release(&bytes[i]);
    free(bytes);
    return rc;
}

/* Replace every document of the store by the state of docs (ws and the bodies in bodies),
 * and name head the last commit, in one transaction. */
static int store_replace(dx_crdt_store *st, y_doc *ws, const dx_strmap *bodies, const char *head,
                         const char *device, dx_error *err)
{
    dx_store_doc_info *old = NULL;
    size_t nold = 0;
    uint8_t *up = NULL;
    size_t len = 0;
    char point[32];
    int rc = dx_store_begin(st, err);
    if (!rc)
        rc = dx_store_list(st, &old, &nold, err);
    for (size_t i = 0; !rc && i < nold; i++)
        rc = dx_store_delete(st, old[i].name, err);
    if (!rc && y_encode_state_as_update(ws, NULL, 0, &up, &len) != 0)
        rc = dx_error_set(err, DX_ENOMEM, "out of memory encoding the workspace document");
    if (!rc)
        rc = dx_store_append(st, DX_DOC_WORKSPACE, up, len, "rebuild", device, NULL, err);
    y_free(up);
    for (size_t i = 0; !rc && i < bodies->cap; i++) {
        if (!bodies->slots[i].key)
            continue;
        char name[DX_DOC_NAME_MAX];
        up = NULL;
        dx_doc_body_name(bodies->slots[i].key, name);
        if (y_encode_state_as_update(bodies->slots[i].value, NULL, 0, &up, &len) != 0)
            rc = dx_error_set(err, DX_ENOMEM, "out of memory encoding '%s'", name);
        else
            rc = dx_store_append(st, name, up, len, "rebuild", device, NULL, err);
        y_free(up);
    }
    snprintf(point, sizeof point, "%lld", (long long)dx_store_last_id(st, NULL));
    if (!rc)
        rc = dx_store_meta_set(st, META_FAILURES, NULL, err);
    if (!rc)
        rc = dx_store_meta_set(st, META_LAST_COMMIT, head, err);
    if (!rc)
        rc = dx_store_meta_set(st, META_COMMIT_POINT, point, err);
    if (!rc)
        rc = dx_store_commit(st, err);
    else
        dx_store_rollback(st);
    dx_store_docs_free(old, nold);
    return rc;
}

/* Body documents of a rebuild, made on first use (id -> y_doc). */
static int new_body(void *ud, const char *id, y_doc **out, dx_error *err)
{
    dx_strmap *m = ud;
    *out = dx_strmap_get(m, id);
    if (*out)
        return 0;
    if (y_doc_new(out, NULL) != 0)
        return dx_error_set(err, DX_ENOMEM, "out of memory");
    if (dx_strmap_put(m, id, *out)) {
        y_doc_free(*out);
        *out = NULL;
        return dx_error_set(err, DX_ENOMEM, "out of memory");
    }
    return 0;
}

/* A server's rebuild: new documents from the files of HEAD, then the store replaced. */
static int rebuild_docs(const dx_history_docs *h, dx_git *g, dx_error *err)
{
    char **paths = NULL;
    size_t n = 0;
    char head[DX_GIT_OID_HEX];
    dx_strmap prefer = DX_STRMAP_INIT, index = DX_STRMAP_INIT, bodies = DX_STRMAP_INIT;
    y_doc *ws = NULL;
    int rc = dx_git_resolve(g, "HEAD", head, err);
    if (!rc)
        rc = dx_git_list_files(g, head, &paths, &n, err);
    /* Every entry keeps its id: the one its path has in the documents now. */
    /* (Damaged documents are why a rebuild runs: what cannot be read gets new ids.) */
    if (!rc && h->docs.workspace && (rc = index_paths(h->docs.workspace, &prefer, err)) != 0 &&
        rc != DX_ENOMEM) {
        dx_error_clear(err);
        rc = 0;
    }
    if (!rc && y_doc_new(&ws, NULL) != 0)
        rc = dx_error_set(err, DX_ENOMEM, "out of memory");
    dx_history_docs nh = *h;
    nh.docs.workspace = ws;
    nh.docs.body = new_body;
    nh.docs.changed = NULL;
    nh.docs.ud = &bodies;
    dx_strlist skipped = DX_STRLIST_INIT;
    if (!rc)
        rc = take_in(&nh, g, head, paths, n, &index, &prefer, NULL, &skipped, err);
    if (!rc)
        rc = store_replace(h->store, ws, &bodies, head, h->device, err);
    for (size_t i = 0; i < bodies.cap; i++)
        if (bodies.slots[i].key)
            y_doc_free(bodies.slots[i].value);
    dx_strmap_release(&bodies);
    dx_strlist_release(&skipped);
    dx_idmap_release(&prefer);
    dx_idmap_release(&index);
    y_doc_free(ws);
    dx_git_paths_free(paths);
    return rc;
}

int dx_history_rebuild(const dx_history_docs *h, dx_git *g, dx_error *err)
{
    return h->session ? rebuild_client(h->session, g, err) : rebuild_docs(h, g, err);
}

/* ---- restore ---------------------------------------------------------------------------- */

/* Delete entry id: a tombstone, and out of its parent's contents. */
static int delete_entry(const dx_history_docs *h, const char *id, dx_error *err)
{
    y_doc *ws = h->docs.workspace;
    dx_entry e = DX_ENTRY_INIT;
    int rc = dx_wsdoc_get(ws, id, &e, err);
    if (!rc && e.part_of && !(rc = dx_wsdoc_contents_remove(ws, e.part_of, id, err)) &&
        h->docs.changed && h->docs.changed(h->docs.ud, e.part_of))
        rc = dx_error_set(err, DX_ENOMEM, "out of memory");
    if (!rc)
        rc = dx_wsdoc_set_deleted(ws, id, true, err);
    if (!rc && h->docs.changed && h->docs.changed(h->docs.ud, id))
        rc = dx_error_set(err, DX_ENOMEM, "out of memory");
    dx_entry_release(&e);
    return rc;
}

/* Whether entry id is the root index to keep (keep_root NULL: any entry without a parent). */
static bool is_kept_root(y_doc *ws, const char *id, const char *path, const char *keep_root)
{
    if (keep_root)
        return strcmp(path, keep_root) == 0;
    dx_entry e = DX_ENTRY_INIT;
    bool root = dx_wsdoc_get(ws, id, &e, NULL) == 0 && !e.part_of;
    dx_entry_release(&e);
    return root;
}

int dx_history_restore(const dx_history_docs *h, dx_git *g, const char *rev, const char *path,
                       const char *keep_root, dx_restore_stats *stats, dx_strlist *skipped,
                       dx_error *err)
{
    char **paths = NULL;
    size_t n = 0;
    char id[DX_GIT_OID_HEX];
    dx_strmap index = DX_STRMAP_INIT, at_rev = DX_STRMAP_INIT;
    dx_restore_stats scratch = {0};
    if (!stats)
        stats = &scratch;
    memset(stats, 0, sizeof *stats);
    y_doc *ws = h->docs.workspace;
    int rc = ws ? 0 : dx_error_set(err, DX_EINVAL, "the workspace document is not loaded");
    /* One commit for every file (a revision like HEAD must not move in between). */
    if (!rc)
        rc = dx_git_resolve(g, rev, id, err);
    if (!rc && path && !dx_workspace_manages(path))
        rc = dx_error_set(err, DX_EINVAL,
                          "'%s' is no file diaryx manages (an entry's markdown file); restore "
                          "it with git",
                          path);
    if (!rc && path) {
        char *one[1] = {(char *)path};
        char blob[DX_GIT_OID_HEX];
        if (!(rc = dx_git_blob_id(g, id, path, blob, err)) && !(rc = index_paths(ws, &index, err)))
            rc = take_in(h, g, id, one, 1, &index, NULL, stats, NULL, err);
        goto done;
    }
    if (!rc)
        rc = dx_git_list_files(g, id, &paths, &n, err);
    if (!rc)
        rc = index_paths(ws, &index, err);
    for (size_t i = 0; !rc && i < n; i++)
        if (dx_strmap_put(&at_rev, paths[i], (void *)1))
            rc = dx_error_set(err, DX_ENOMEM, "out of memory");
    /* Entries that REV does not have go, but the root index stays. */
    for (size_t i = 0; !rc && i < index.cap; i++) {
        const char *p = index.slots[i].key, *eid = index.slots[i].value;
        if (!p || dx_strmap_get(&at_rev, p) || is_kept_root(ws, eid, p, keep_root))
            continue;
        if (!(rc = delete_entry(h, eid, err)))
            stats->deleted++;
    }
    dx_strlist left = DX_STRLIST_INIT;
    if (!rc)
        rc = take_in(h, g, id, paths, n, &index, NULL, stats, skipped ? skipped : &left, err);
    dx_strlist_release(&left);
done:
    dx_strmap_release(&at_rev);
    dx_idmap_release(&index);
    dx_git_paths_free(paths);
    return rc;
}
