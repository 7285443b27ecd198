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

#include "diaryx/bodydoc.h"
#include "diaryx/frontmatter.h"
#include "diaryx/fs.h"
#include "diaryx/idmap.h"
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

void dx_history_files_free(dx_git_file *files, size_t n)
{
    for (size_t i = 0; files && i < n; i++) {
        free((char *)files[i].path);
        free((void *)files[i].data);
        free((char *)files[i].id);
    }
    free(files);
}

/* Whether something is at workspace path p (a link counts: it is not a deleted file). */
/* 1 when workspace file p is there, 0 when it is gone, or an error: a file that cannot be
 * looked at is neither kept in nor dropped from the commit by guess. */
static int on_disk(dx_session *s, const char *p, dx_error *err)
{
    struct stat st;
    dx_error e = DX_ERROR_INIT;
    int rc = dx_fs_stat_in(dx_workspace_root(dx_session_workspace(s)), p, &st, &e);
    if (rc == DX_ENOTFOUND)
        return 0;
    if (rc == 0 || rc == DX_EPATH) /* a link stands there: not gone (validate reports it) */
        return 1;
    return dx_error_set(err, rc, "%s", e.msg[0] ? e.msg : "cannot look at a workspace file");
}

static int cmp_file(const void *a, const void *b)
{
    return strcmp(((const dx_git_file *)a)->path, ((const dx_git_file *)b)->path);
}

/* Whether bytes end with the body text, or, in a CRLF file (its first line ends in CRLF),
 * with the text's LF line ends written as CRLF (the body document holds LF). */
static bool holds_body(const dx_buf *bytes, const dx_buf *text)
{
    const char *b = dx_buf_cstr(bytes), *nl = memchr(b, '\n', bytes->len);
    size_t i = bytes->len, j = text->len;
    if (i >= j && memcmp(b + i - j, text->data, j) == 0)
        return true;
    if (!nl || nl == b || nl[-1] != '\r')
        return false;
    while (j > 0) {
        char c = text->data[--j];
        size_t w = c == '\n' ? 2 : 1;
        if (i < w || b[i - 1] != c || (w == 2 && b[i - 2] != '\r'))
            return false;
        i -= w;
    }
    return true;
}

/* Check 1: the body of the rendered file is the body document's text. */
static int check_body(dx_session *s, const char *id, const char *path, const dx_buf *bytes,
                      dx_strlist *problems, dx_error *err)
{
    y_doc *d = NULL;
    dx_buf text = DX_BUF_INIT;
    dx_error e = DX_ERROR_INIT;
    int rc = dx_session_body(s, id, &d, &e);
    if (rc == DX_ENOMEM)
        return dx_error_set(err, rc, "out of memory");
    if (rc) {
        dx_strlist_pushf(problems, "%s: its body document cannot be read: %s", path, e.msg);
        return 0;
    }
    /* A rendered file is its frontmatter followed by the body: the body must end it. */
    if (dx_body_get(d, &text, NULL) == 0 && text.len && !holds_body(bytes, &text))
        dx_strlist_pushf(problems, "%s: the file does not hold its body (%zu bytes in the CRDT)",
                         path, text.len);
    dx_buf_release(&text);
    return 0;
}

/* Where check 3 finds the committed bytes of a path: the last commit's blobs listed in a
 * map (a full check), or looked up one path at a time (a commit of the changes only). */
typedef struct committed_src {
    const dx_strmap *head; /* path -> blob id, or NULL */
    dx_git *g;             /* with head NULL: look paths up in commit `rev` */
    const char *rev;
} committed_src;

static const char *committed_blob(const committed_src *c, const char *path,
                                  char buf[DX_GIT_OID_HEX])
{
    if (c->head)
        return dx_strmap_get(c->head, path);
    if (c->g && c->rev && dx_git_blob_id(c->g, c->rev, path, buf, NULL) == 0)
        return buf;
    return NULL;
}

/* Render entry id into out (its path and bytes), checking it on the way; a finding goes
 * to problems and leaves out empty. */
static int render_checked(dx_session *s, const char *id, const committed_src *head, dx_strmap *seen,
                          dx_git_file *out, dx_strlist *problems, dx_error *err)
{
    dx_buf path = DX_BUF_INIT, bytes = DX_BUF_INIT, norm = DX_BUF_INIT;
    dx_error e = DX_ERROR_INIT;
    char now[DX_GIT_OID_HEX], buf[DX_GIT_OID_HEX];
    int rc = dx_session_render(s, id, &path, &bytes, &e), nrc = 0;
    /* Out of memory is no finding of the checks (three findings rebuild the CRDT). */
    if (!rc && (nrc = dx_path_normalize(path.data, &norm, NULL)) == DX_ENOMEM)
        rc = nrc;
    if (rc == DX_ENOMEM) {
        rc = dx_error_set(err, rc, "out of memory rendering the workspace");
    } else if (rc) {
        /* Check 1: every entry renders. */
        dx_strlist_pushf(problems, "entry %s cannot be rendered: %s", id, e.msg);
        rc = 0;
    } else if (nrc != 0 || strcmp(norm.data, path.data) || !dx_path_is_markdown(path.data)) {
        /* Check 2: one valid, distinct path per live entry. */
        dx_strlist_pushf(problems, "entry %s has an invalid path '%s'", id, path.data);
    } else if (dx_strmap_get(seen, path.data)) {
        dx_strlist_pushf(problems, "entries %s and %s both render to '%s'",
                         (const char *)dx_strmap_get(seen, path.data), id, path.data);
    } else if (!(rc = check_body(s, id, path.data, &bytes, problems, err))) {
        /* Check 3: a file last written as committed must still render as committed. */
        const char *rec = dx_session_recorded(s, path.data);
        const char *committed = rec ? committed_blob(head, path.data, buf) : NULL;
        if (rec && committed && !strcmp(rec, committed) &&
            (dx_git_blob_hex(bytes.data, bytes.len, now) || strcmp(now, committed) != 0))
            dx_strlist_pushf(
                problems,
                "%s: unchanged since the last commit, but the CRDT now renders other bytes",
                path.data);
        if (dx_strmap_put(seen, path.data, (void *)id)) {
            rc = dx_error_set(err, DX_ENOMEM, "out of memory");
        } else {
            out->path = dx_buf_detach(&path, NULL);
            out->len = bytes.len;
            out->data = bytes.len ? dx_buf_detach(&bytes, NULL) : strdup("");
            if (!out->path || !out->data)
                rc = dx_error_set(err, DX_ENOMEM, "out of memory");
        }
    }
    dx_buf_release(&path);
    dx_buf_release(&bytes);
    dx_buf_release(&norm);
    return rc;
}

int dx_history_files(dx_session *s, dx_git *g, dx_git_file **files, size_t *n, dx_strlist *problems,
                     dx_error *err)
{
    dx_strlist ids = DX_STRLIST_INIT;
    dx_strmap seen = DX_STRMAP_INIT, head = DX_STRMAP_INIT;
    size_t live = 0;
    *files = NULL;
    *n = 0;
    int rc = dx_session_load(s, err);
    y_doc *ws = dx_session_wsdoc(s);
    if (!rc)
        rc = dx_wsdoc_ids(ws, &ids, err);
    if (!rc && g)
        rc = dx_git_blobs(g, NULL, &head, err);
    committed_src src = {g ? &head : NULL, NULL, NULL};
    dx_git_file *out = rc ? NULL : calloc(ids.len + head.len + 1, sizeof *out);
    if (!rc && !out)
        rc = dx_error_set(err, DX_ENOMEM, "out of memory");
    for (size_t i = 0; !rc && i < ids.len; i++) {
        const char *id = ids.items[i];
        if (!dx_wsdoc_is_live(ws, id))
            continue;
        live++;
        size_t before = *n;
        rc = render_checked(s, id, &src, &seen, &out[*n], problems, err);
        if (!rc && out[before].path)
            (*n)++;
    }
    if (!rc && *n != live)
        dx_strlist_pushf(problems, "%zu live entries in the CRDT index, %zu files rendered", live,
                         *n);
    /* What else the last commit holds stays as it is: files diaryx does not manage
     * (attachments, code: the repository may be the user's), and markdown files that are no
     * entry but still on disk (unreadable ones the CRDT could not take in). */
    for (size_t i = 0; !rc && i < head.cap; i++) {
        const char *p = head.slots[i].key;
        if (!p || dx_strmap_get(&seen, p))
            continue;
        int there = dx_workspace_manages(p) ? on_disk(s, p, err) : 1;
        if (there < 0) {
            rc = there;
            break;
        }
        if (!there)
            continue; /* a deleted entry */
        out[*n].path = strdup(p);
        out[*n].id = strdup(head.slots[i].value);
        if (!out[(*n)++].path || !out[*n - 1].id)
            rc = dx_error_set(err, DX_ENOMEM, "out of memory");
    }
    if (!rc && *n > 1)
        qsort(out, *n, sizeof *out, cmp_file);
    if (rc) {
        dx_history_files_free(out, *n + 1);
        out = NULL;
        *n = 0;
    }
    *files = out;
    dx_git_blobs_release(&head);
    dx_strmap_release(&seen);
    dx_strlist_release(&ids);
    return rc;
}

/* The changes since the last commit, when they can be told without looking at every entry
 * (the normal case of a local workspace): the paths whose file record changed (the store's
 * `dirty` marks, kept by triggers) and the files of entries whose body document has updates
 * since. Each is rendered and checked; a path no live entry renders any more is deleted
 * when diaryx manages it and it is gone from disk. *possible is false, and nothing is
 * listed, when the last commit's bookkeeping does not hold: no commit point, HEAD is not
 * the commit diaryx made last (someone committed by hand), updates came from elsewhere
 * (sync does not mark records), an entry changed without a file record, or the count of
 * live entries differs from the count of entry files. */
static int delta_files(dx_session *s, dx_git *g, const char *head_id, int64_t since,
                       const dx_strlist *dirty, dx_git_file **files, size_t *n, dx_strlist *deletes,
                       dx_strlist *docs, bool *possible, dx_strlist *problems, dx_error *err)
{
    int rc = dx_session_load(s, err);
    y_doc *ws = dx_session_wsdoc(s);
    dx_crdt_store *st = dx_session_store(s);
    dx_strmap cand = DX_STRMAP_INIT, seen = DX_STRMAP_INIT;
    *files = NULL;
    *n = 0;
    *possible = false;
    if (rc)
        return rc;
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
        if (strncmp(d, "body/", 5) != 0 || !dx_wsdoc_is_live(ws, d + 5))
            continue;
        if (dx_session_record(s, d + 5, &rpath, &rhash) != 0)
            ok = false; /* a body without a file: look at everything */
        else if (dx_strmap_put(&cand, rpath, (void *)1))
            rc = dx_error_set(err, DX_ENOMEM, "out of memory");
    }
    dx_git_file *out = !rc && ok ? calloc(cand.len + 1, sizeof *out) : NULL;
    if (!rc && ok && !out)
        rc = dx_error_set(err, DX_ENOMEM, "out of memory");
    committed_src src = {NULL, g, head_id};
    /* Render the entries recorded at the candidate paths. */
    for (size_t i = 0; !rc && out && i < cand.cap; i++) {
        const char *p = cand.slots[i].key, *id;
        if (!p || !(id = dx_session_recorded_entry(s, p)) || !dx_wsdoc_is_live(ws, id))
            continue;
        size_t before = *n;
        if ((rc = render_checked(s, id, &src, &seen, &out[*n], problems, err)) || !out[before].path)
            continue;
        (*n)++;
        /* Check 2 against the entries not rendered here: their recorded paths are taken. */
        const char *other = dx_session_recorded_entry(s, out[before].path);
        if (other && strcmp(other, id) != 0 && dx_wsdoc_is_live(ws, other) &&
            !dx_strmap_get(&cand, out[before].path))
            dx_strlist_pushf(problems, "entries %s and %s both render to '%s'", other, id,
                             out[before].path);
    }
    /* A candidate path no entry renders to: deleted when diaryx manages it and it is gone
     * (a markdown file diaryx could not read stays as committed). */
    for (size_t i = 0; !rc && out && i < cand.cap; i++) {
        const char *p = cand.slots[i].key;
        if (!p || dx_strmap_get(&seen, p) || !dx_workspace_manages(p))
            continue;
        int there = on_disk(s, p, err);
        if (there < 0)
            rc = there;
        else if (!there && dx_strlist_push(deletes, p))
            rc = dx_error_set(err, DX_ENOMEM, "out of memory");
    }
    if (rc || !out) {
        dx_history_files_free(out, *n + 1);
        out = NULL;
        *n = 0;
    } else {
        *possible = true;
    }
    *files = out;
    dx_strmap_release(&seen);
    dx_strmap_release(&cand);
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
    dx_workspace_abspath(ws, DX_IDMAP_FILE, &p);
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

static int commit_locked(dx_session **sp, dx_git *g, const dx_commit_opts *opts,
                         dx_commit_result *r, dx_error *err);

int dx_history_commit(dx_session **sp, dx_git *g, const dx_commit_opts *opts, dx_commit_result *r,
                      dx_error *err)
{
    memset(r, 0, sizeof *r);
    int fd = -1;
    int rc = commit_lock(*sp, g, &fd, err);
    if (!rc) {
        rc = commit_locked(sp, g, opts, r, err);
        (void)!ftruncate(fd, 0); /* finished: the next commit finds no killed writer */
    }
    if (fd >= 0)
        close(fd);
    return rc;
}

static int commit_locked(dx_session **sp, dx_git *g, const dx_commit_opts *opts,
                         dx_commit_result *r, dx_error *err)
{
    dx_commit_opts defaults = DX_COMMIT_OPTS_INIT;
    if (!opts)
        opts = &defaults;
    dx_session *s = *sp;
    dx_crdt_store *st = dx_session_store(s);
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
    if (!rc)
        rc = dx_session_catch_up(s, NULL, err);
    if (rc)
        goto done;
    int64_t point = dx_session_applied(s);
    int64_t since =
        dx_store_meta_get(st, META_COMMIT_POINT, &v, NULL) == 0 ? strtoll(v.data, NULL, 10) : -1;
    dx_buf_reset(&v);
    bool last_is_head = dx_store_meta_get(st, META_LAST_COMMIT, &v, NULL) == 0 &&
                        dx_git_resolve(g, "HEAD", head, NULL) == 0 && !strcmp(v.data, head);
    if (!opts->verify_all && !want_all && since >= 0 && last_is_head)
        rc = delta_files(s, g, head, since, &dirty, &files, &n, &deletes, &docs, &delta,
                         &r->problems, err);
    dx_git_commit_opts go = {0};
    go.message = opts->message;
    go.device = dx_session_device(s);
    /* The session wrote the files; should another process have written newer ones since,
     * rewriting them with this commit's bytes would undo its edits. */
    go.keep_worktree = 1;
    for (int attempt = 0; !rc; attempt++) {
        if (!delta) {
            dx_strlist_release(&docs);
            rc = dx_history_files(s, g, &files, &n, &r->problems, err);
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
            if (r->failures >= DX_HISTORY_MAX_FAILURES) {
                if ((rc = dx_history_rebuild(sp, g, err)))
                    goto done;
                r->rebuilt = true;
            }
            rc = dx_error_set(
                err, DX_EVALIDATE,
                "the CRDT state failed %zu check%s (%s); nothing was committed%s", r->problems.len,
                r->problems.len == 1 ? "" : "s", r->problems.items[0],
                r->rebuilt ? "; the CRDT was rebuilt from the last commit and the files "
                             "on disk (uncommitted edits are kept)"
                           : "");
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
        dx_history_files_free(files, n);
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
    if (!rc && save_ids(s, r, delta, &dirty, &ie) && !r->stats.warning[0])
        snprintf(
            r->stats.warning, sizeof r->stats.warning,
            "the entry ids were not saved (%s); a rebuild of the CRDT may give entries new ids",
            ie.msg);
done:
    dx_buf_release(&v);
    dx_buf_release(&check_all);
    dx_history_files_free(files, n);
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

int dx_history_rebuild(dx_session **sp, dx_git *g, dx_error *err)
{
    dx_session *s = *sp;
    dx_workspace *ws = dx_session_workspace(s);
    char **paths = NULL;
    size_t n = 0;
    dx_store_file *recs = NULL;
    size_t nrecs = 0;
    dx_strmap ids = DX_STRMAP_INIT; /* path -> id */
    dx_buf db = DX_BUF_INIT, bak = DX_BUF_INIT;
    char *device = strdup(dx_session_device(s));
    int rc = device ? 0 : dx_error_set(err, DX_ENOMEM, "out of memory");
    if (!rc)
        rc = dx_git_list_files(g, NULL, &paths, &n, err);
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
    if (rc)
        goto done;
    /* The old store is kept for investigation; a new one is imported from the files. */
    dx_session_close(s);
    *sp = NULL;
    long long now = (long long)time(NULL);
    if (dx_workspace_abspath(ws, ".diaryx/crdt.db", &db) ||
        dx_buf_printf(&bak, "%s.broken-%lld", db.data, now)) {
        rc = dx_error_set(err, DX_ENOMEM, "out of memory");
        goto done;
    }
    /* A second rebuild within the same second gets its own name. */
    for (int i = 2; dx_path_exists(bak.data); i++) {
        dx_buf_reset(&bak);
        dx_buf_printf(&bak, "%s.broken-%lld-%d", db.data, now, i);
    }
    if (rename(db.data, bak.data) != 0) {
        rc = dx_error_set(err, DX_EIO, "cannot move '%s' aside: %s", db.data, strerror(errno));
        goto done;
    }
    dx_buf_reset(&db);
    dx_workspace_abspath(ws, ".diaryx", &db);
    prune_backups(db.data, DX_HISTORY_KEEP_BROKEN);
    rc = dx_session_open(ws, device, sp, NULL, err);
done:
    dx_git_paths_free(paths);
    dx_store_files_free(recs, nrecs);
    dx_idmap_release(&ids);
    dx_buf_release(&db);
    dx_buf_release(&bak);
    free(device);
    return rc;
}
