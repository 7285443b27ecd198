/* history.c - commits of the CRDT state into git, their sanity checks, compaction after a
 * commit, and rebuilding the CRDT from git when the checks keep failing. */
#include "diaryx/history.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/file.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "diaryx/bodydoc.h"
#include "diaryx/frontmatter.h"
#include "diaryx/fs.h"
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

static int cmp_file(const void *a, const void *b)
{
    return strcmp(((const dx_git_file *)a)->path, ((const dx_git_file *)b)->path);
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
    if (dx_body_get(d, &text, NULL) == 0 && text.len &&
        (bytes->len < text.len ||
         memcmp(dx_buf_cstr(bytes) + bytes->len - text.len, text.data, text.len) != 0))
        dx_strlist_pushf(problems, "%s: the file does not hold its body (%zu bytes in the CRDT)",
                         path, text.len);
    dx_buf_release(&text);
    return 0;
}

/* Render entry id into out (its path and bytes), checking it on the way; a finding goes
 * to problems and leaves out empty. head: the last commit's blobs (or NULL). */
static int render_checked(dx_session *s, const char *id, const dx_strmap *head, dx_strmap *seen,
                          dx_git_file *out, dx_strlist *problems, dx_error *err)
{
    dx_buf path = DX_BUF_INIT, bytes = DX_BUF_INIT, norm = DX_BUF_INIT;
    dx_error e = DX_ERROR_INIT;
    char now[DX_GIT_OID_HEX];
    int rc = dx_session_render(s, id, &path, &bytes, &e);
    if (rc == DX_ENOMEM) {
        rc = dx_error_set(err, rc, "out of memory rendering the workspace");
    } else if (rc) {
        /* Check 1: every entry renders. */
        dx_strlist_pushf(problems, "entry %s cannot be rendered: %s", id, e.msg);
        rc = 0;
    } else if (dx_path_normalize(path.data, &norm, NULL) != 0 || strcmp(norm.data, path.data) ||
               !dx_path_is_markdown(path.data)) {
        /* Check 2: one valid, distinct path per live entry. */
        dx_strlist_pushf(problems, "entry %s has an invalid path '%s'", id, path.data);
    } else if (dx_strmap_get(seen, path.data)) {
        dx_strlist_pushf(problems, "entries %s and %s both render to '%s'",
                         (const char *)dx_strmap_get(seen, path.data), id, path.data);
    } else if (!(rc = check_body(s, id, path.data, &bytes, problems, err))) {
        /* Check 3: a file last written as committed must still render as committed. */
        const char *rec = dx_session_recorded(s, path.data);
        const char *committed = head ? dx_strmap_get(head, path.data) : NULL;
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

int dx_history_files(dx_session *s, dx_git *g, bool incremental, dx_git_file **files, size_t *n,
                     dx_strlist *problems, dx_error *err)
{
    y_doc *ws = dx_session_wsdoc(s);
    dx_crdt_store *st = dx_session_store(s);
    dx_strlist ids = DX_STRLIST_INIT;
    dx_strmap seen = DX_STRMAP_INIT, head = DX_STRMAP_INIT;
    size_t live = 0;
    *files = NULL;
    *n = 0;
    int rc = dx_wsdoc_ids(ws, &ids, err);
    if (!rc && g)
        rc = dx_git_blobs(g, NULL, &head, err);
    /* Entries unchanged since the last commit need no rendering: their recorded file is the
     * committed blob and no CRDT update touched them since. Changes from elsewhere (sync)
     * are not tracked per entry, so they make every entry rendered and checked. */
    dx_buf v = DX_BUF_INIT;
    int64_t since =
        dx_store_meta_get(st, META_COMMIT_POINT, &v, NULL) == 0 ? strtoll(v.data, NULL, 10) : -1;
    dx_buf_release(&v);
    if (since < 0 || !head.len || dx_store_foreign_since(st, since))
        incremental = false;
    dx_strlist changed = DX_STRLIST_INIT;
    dx_strmap changed_docs = DX_STRMAP_INIT;
    if (!rc && incremental)
        rc = dx_store_changed_since(st, since, &changed, err);
    for (size_t i = 0; !rc && i < changed.len; i++)
        if (dx_strmap_put(&changed_docs, changed.items[i], changed.items[i]))
            rc = dx_error_set(err, DX_ENOMEM, "out of memory");
    dx_git_file *out = rc ? NULL : calloc(ids.len + head.len + 1, sizeof *out);
    if (!rc && !out)
        rc = dx_error_set(err, DX_ENOMEM, "out of memory");
    for (size_t i = 0; !rc && i < ids.len; i++) {
        const char *id = ids.items[i], *rpath, *rhash;
        if (!dx_wsdoc_is_live(ws, id))
            continue;
        live++;
        char body[64];
        dx_session_body_name(id, body);
        const char *committed = NULL;
        if (incremental && dx_session_record(s, id, &rpath, &rhash) == 0 &&
            (committed = dx_strmap_get(&head, rpath)) && !strcmp(committed, rhash) &&
            !dx_strmap_get(&changed_docs, body) && !dx_strmap_get(&seen, rpath)) {
            out[*n].path = strdup(rpath);
            out[*n].id = strdup(rhash);
            if (!out[*n].path || !out[*n].id || dx_strmap_put(&seen, rpath, (void *)id))
                rc = dx_error_set(err, DX_ENOMEM, "out of memory");
            (*n)++;
            continue;
        }
        size_t before = *n;
        rc = render_checked(s, id, g ? &head : NULL, &seen, &out[*n], problems, err);
        if (!rc && out[before].path)
            (*n)++;
    }
    if (!rc && *n != live)
        dx_strlist_pushf(problems, "%zu live entries in the CRDT index, %zu files rendered", live,
                         *n);
    /* What else the last commit holds stays as it is: files diaryx does not manage
     * (attachments, code: the repository may be the user's), and markdown files that are no
     * entry but still on disk (unreadable ones the CRDT could not take in). */
    dx_buf abs = DX_BUF_INIT;
    for (size_t i = 0; !rc && i < head.cap; i++) {
        const char *p = head.slots[i].key;
        if (!p || dx_strmap_get(&seen, p))
            continue;
        dx_buf_reset(&abs);
        dx_workspace_abspath(dx_session_workspace(s), p, &abs);
        if (dx_workspace_manages(p) && !dx_path_exists(abs.data))
            continue; /* a deleted entry */
        out[*n].path = strdup(p);
        out[*n].id = strdup(head.slots[i].value);
        if (!out[(*n)++].path || !out[*n - 1].id)
            rc = dx_error_set(err, DX_ENOMEM, "out of memory");
    }
    dx_buf_release(&abs);
    if (!rc && *n > 1)
        qsort(out, *n, sizeof *out, cmp_file);
    if (rc) {
        dx_history_files_free(out, *n + 1);
        out = NULL;
        *n = 0;
    }
    *files = out;
    dx_git_blobs_release(&head);
    dx_strmap_release(&changed_docs);
    dx_strlist_release(&changed);
    dx_strmap_release(&seen);
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
 * which the kernel releases when the holder dies. Holding it, any git lock file is a
 * leftover of a killed commit and can go. */
static int commit_lock(dx_session *s, dx_git *g, int *fd, dx_error *err)
{
    dx_buf p = DX_BUF_INIT;
    dx_workspace_abspath(dx_session_workspace(s), ".diaryx/commit.lock", &p);
    *fd = open(p.data, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    int rc = 0;
    if (*fd < 0 || flock(*fd, LOCK_EX) != 0)
        rc = dx_error_set(err, DX_EIO, "cannot lock '%s': %s", p.data, strerror(errno));
    dx_buf_release(&p);
    if (!rc)
        rc = dx_git_remove_stale_locks(g, NULL, err);
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
    if (!rc)
        rc = commit_locked(sp, g, opts, r, err);
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
    int rc = dx_history_files(s, g, !opts->verify_all, &files, &n, &r->problems, err);
    if (rc)
        return rc;
    if (r->problems.len && !opts->skip_validation) {
        /* Skip the commit, count it; the third failure in a row lets git win. */
        char v[16];
        r->failures = (size_t)meta_int(st, META_FAILURES) + 1;
        snprintf(v, sizeof v, "%zu", r->failures);
        dx_history_files_free(files, n);
        if ((rc = dx_store_meta_set(st, META_FAILURES, v, err)))
            return rc;
        if (r->failures >= DX_HISTORY_MAX_FAILURES) {
            if ((rc = dx_history_rebuild(sp, g, err)))
                return rc;
            r->rebuilt = true;
        }
        return dx_error_set(err, DX_EVALIDATE,
                            "the CRDT state failed %zu check%s (%s); nothing was committed%s",
                            r->problems.len, r->problems.len == 1 ? "" : "s", r->problems.items[0],
                            r->rebuilt ? "; the CRDT was rebuilt from the last commit" : "");
    }
    dx_git_commit_opts go = {0};
    go.message = opts->message;
    go.device = dx_session_device(s);
    rc = dx_git_commit_files(g, files, n, &go, r->id, &r->stats, err);
    dx_history_files_free(files, n);
    if (rc < 0)
        return rc;
    r->committed = rc != DX_GIT_NOCHANGE;
    char point[32];
    snprintf(point, sizeof point, "%lld", (long long)dx_store_last_id(st, NULL));
    rc = dx_store_meta_set(st, META_FAILURES, NULL, err);
    if (!rc)
        rc = dx_store_meta_set(st, META_COMMIT_POINT, point, err);
    if (!rc && r->committed) {
        rc = dx_store_meta_set(st, META_LAST_COMMIT, r->id, err);
        /* Only after a successful commit: git holds what the folded updates said. */
        if (!rc)
            rc = compact_all(st, opts->keep_recent ? opts->keep_recent : DX_HISTORY_KEEP_RECENT,
                             err);
        if (!rc)
            rc = dx_git_maybe_pack(g, 512, NULL, err);
    }
    return rc;
}

int dx_history_rebuild(dx_session **sp, dx_git *g, dx_error *err)
{
    dx_session *s = *sp;
    dx_workspace *ws = dx_session_workspace(s);
    char **paths = NULL;
    size_t n = 0;
    dx_store_file *recs = NULL;
    size_t nrecs = 0;
    dx_buf abs = DX_BUF_INIT, bytes = DX_BUF_INIT, db = DX_BUF_INIT, bak = DX_BUF_INIT;
    char *device = strdup(dx_session_device(s));
    int rc = device ? 0 : dx_error_set(err, DX_ENOMEM, "out of memory");
    if (!rc)
        rc = dx_git_list_files(g, NULL, &paths, &n, err);
    if (!rc)
        rc = dx_store_files(dx_session_store(s), &recs, &nrecs, err);
    if (rc)
        goto done;
    /* Files diaryx wrote that the commit does not have go (when still as written). */
    dx_strmap committed = DX_STRMAP_INIT;
    for (size_t j = 0; !rc && j < n; j++)
        if (dx_strmap_put(&committed, paths[j], paths[j]))
            rc = dx_error_set(err, DX_ENOMEM, "out of memory");
    for (size_t i = 0; !rc && i < nrecs; i++) {
        if (dx_strmap_get(&committed, recs[i].path) || !recs[i].doc_id[0])
            continue;
        dx_buf_reset(&abs);
        dx_buf_reset(&bytes);
        dx_workspace_abspath(ws, recs[i].path, &abs);
        char hex[DX_GIT_OID_HEX];
        if (dx_file_read(abs.data, &bytes, NULL) == 0 &&
            dx_git_blob_hex(bytes.data, bytes.len, hex) == 0 && !strcmp(hex, recs[i].hash))
            unlink(abs.data);
    }
    dx_strmap_release(&committed);
    /* The committed entries, back on disk (files diaryx does not manage are left alone). */
    for (size_t i = 0; !rc && i < n; i++) {
        if (!dx_workspace_manages(paths[i]))
            continue;
        dx_buf_reset(&bytes);
        dx_buf_reset(&abs);
        dx_workspace_abspath(ws, paths[i], &abs);
        dx_buf dir = DX_BUF_INIT;
        dx_path_dirname(abs.data, &dir);
        if (!(rc = dx_git_read_file(g, NULL, paths[i], &bytes, err)) &&
            !(rc = dx_mkdirs(dir.data, err)))
            rc = dx_file_write_atomic(abs.data, dx_buf_cstr(&bytes), bytes.len, 0644, err);
        dx_buf_release(&dir);
    }
    if (rc)
        goto done;
    /* The old store is kept for investigation; a new one is imported from the files. */
    dx_session_close(s);
    *sp = NULL;
    dx_workspace_abspath(ws, ".diaryx/crdt.db", &db);
    dx_buf_printf(&bak, "%s.broken-%lld", db.data, (long long)time(NULL));
    if (rename(db.data, bak.data) != 0) {
        rc = dx_error_set(err, DX_EIO, "cannot move '%s' aside: %s", db.data, strerror(errno));
        goto done;
    }
    rc = dx_session_open(ws, device, sp, NULL, err);
done:
    dx_git_paths_free(paths);
    dx_store_files_free(recs, nrecs);
    dx_buf_release(&abs);
    dx_buf_release(&bytes);
    dx_buf_release(&db);
    dx_buf_release(&bak);
    free(device);
    return rc;
}
