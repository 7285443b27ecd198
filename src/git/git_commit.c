/* git_commit.c - commit a file set: message, author, compare-and-swap on HEAD, work tree. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "diaryx/fs.h"
#include "diaryx/hash.h"
#include "diaryx/paths.h"
#include "git_internal.h"

/* Up to this many changes are applied to the index one by one; more replace it by the tree. */
#define DX_GIT_INDEX_INCREMENTAL_MAX 256

static int build_message(dx_buf *m, const dx_git_commit_opts *o, int first, const dx_git_change *ch,
                         size_t n, time_t now)
{
    int rc = 0;
    if (o && o->message && *o->message)
        rc = dx_buf_puts(m, o->message);
    else if (first)
        rc = dx_buf_puts(m, "Create workspace");
    else if (n == 1 && ch[0].kind == 'R')
        rc = dx_buf_printf(m, "Rename %s -> %s", ch[0].path, ch[0].to);
    else if (n == 1)
        rc = dx_buf_printf(m, "%s %s",
                           ch[0].kind == 'A'   ? "Add"
                           : ch[0].kind == 'M' ? "Update"
                                               : "Delete",
                           ch[0].path);
    else
        rc = dx_buf_printf(m, "Update %zu entries", n);
    if (rc < 0)
        return rc;
    if (n && (rc = dx_buf_puts(m, "\n\n")) < 0)
        return rc;
    for (size_t k = 0; k < n; k++) {
        if (ch[k].kind == 'R')
            rc = dx_buf_printf(m, "R\t%s -> %s\n", ch[k].path, ch[k].to);
        else
            rc = dx_buf_printf(m, "%c\t%s\n", ch[k].kind, ch[k].path);
        if (rc < 0)
            return rc;
    }
    struct tm tm;
    gmtime_r(&now, &tm);
    char date[32];
    strftime(date, sizeof date, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return dx_buf_printf(m, "%sDevice: %s\nDate: %s\n", n ? "\n" : "\n\n",
                         o && o->device ? o->device : "unknown", date);
}

/* Remove the directories of a deleted file that are now empty, up to (not including) the work
 * tree root, as git does. */
static void rmparents(const char *root, const char *rel)
{
    dx_buf dir = DX_BUF_INIT;
    /* out of memory: the empty directories stay, as when git cannot remove them */
    if (dx_path_dirname(rel, &dir) == 0)
        while (dir.len && dx_fs_rmdir_in(root, dir.data, NULL) == 0) {
            const char *slash = strrchr(dir.data, '/');
            dx_buf_truncate(&dir, slash ? (size_t)(slash - dir.data) : 0);
        }
    dx_buf_release(&dir);
}

/* Whether the work tree file rel holds blob id, read without following links; cur receives
 * its bytes (empty when absent) and have their blob id. DX_ENOTFOUND when it is absent,
 * DX_EPATH for a link. */
static int holds_blob(const char *root, const char *rel, const git_oid *id, dx_buf *cur,
                      git_oid *have, bool *same)
{
    dx_buf_reset(cur);
    *same = false;
    int rc = dx_fs_read_in(root, rel, cur, NULL, NULL);
    if (!rc && dx_hash_blob_id(NULL, dx_buf_cstr(cur), cur->len, have->id) == 0)
        *same = git_oid_equal(have, id);
    return rc;
}

/* Whether a work tree file holding blob id may be replaced or removed: when its bytes are
 * what the parent commit has at path (git's own checkout rule), or a blob the repository
 * holds anyway (a commit killed before it wrote the work tree left an older version). Bytes
 * git does not have were written by someone else and are never replaced. */
static bool replaceable(dx_git *g, git_tree *parent_tree, const char *path, const git_oid *id)
{
    git_tree_entry *te = NULL;
    git_odb *odb = NULL;
    bool yes = parent_tree && git_tree_entry_bypath(&te, parent_tree, path) == 0 &&
               git_oid_equal(git_tree_entry_id(te), id);
    git_tree_entry_free(te);
    if (!yes && git_repository_odb(&odb, g->repo) == 0)
        yes = git_odb_exists(odb, id) == 1;
    git_odb_free(odb);
    return yes;
}

/* Write the files this commit added or changed that are missing from the work tree (files the
 * commit did not change are left alone: reading 10k files would cost more than the commit);
 * remove files the commit deleted; make the index match the new tree. As git's checkout, a
 * work tree file is only replaced or removed when it is missing or holds bytes git has
 * (replaceable): one that differs was written by another program after it was read for the
 * commit, and those bytes are the user's (the next scan takes them in). The check is made
 * again just before the rename (dx_fs_write_in). No symbolic link is followed. A file given without
 * bytes (only its blob id) is written from the blob. For a small change set the stat data of each
 * written file is taken and the bytes compared once more after it: a file changed meanwhile
 * then has newer stat data than the index and git looks at it again. */
static int sync_worktree(dx_git *g, git_tree *tree, git_tree *parent_tree,
                         const dx_git_tree_list *parent, const dx_git_change *ch, size_t nch,
                         int keep_files, dx_error *err)
{
    int rc = 0;
    dx_buf cur = DX_BUF_INIT;
    git_oid have;
    bool same;
    struct stat *st = NULL;
    unsigned char *have_st = NULL;
    if (nch <= DX_GIT_INDEX_INCREMENTAL_MAX) {
        st = malloc((nch ? nch : 1) * sizeof *st);
        have_st = calloc(nch ? nch : 1, 1);
        if (!st || !have_st) {
            rc = dx_error_set(err, DX_ENOMEM, "out of memory");
            goto done;
        }
    }
    /* deletions first: a deleted file may be where a new file's directory goes */
    for (size_t k = 0; k < nch && rc == 0 && !keep_files; k++)
        if (ch[k].kind == 'D' || ch[k].kind == 'R') {
            if (holds_blob(g->root, ch[k].path, &ch[k].id, &cur, &have, &same) == 0 &&
                (same || replaceable(g, parent_tree, ch[k].path, &have))) {
                dx_buf late = DX_BUF_INIT;
                dx_fs_expect expect = {.bytes = dx_buf_cstr(&cur), .len = cur.len, .late = &late};
                dx_error e = DX_ERROR_INIT;
                int r = dx_fs_unlink_in(g->root, ch[k].path, &expect, &e);
                if (r != 0 && r != DX_ENOTFOUND && r != DX_ECONFLICT)
                    rc = dx_error_set(err, r, "cannot remove '%s' from the work tree: %s",
                                      ch[k].path, e.msg);
                if (expect.late_write) { /* written meanwhile: its bytes go back */
                    dx_fs_expect absent = {.absent = true};
                    dx_fs_write_in(g->root, ch[k].path, dx_buf_cstr(&late), late.len, 0644, &absent,
                                   NULL, NULL);
                }
                dx_buf_release(&late);
            }
            rmparents(g->root, ch[k].path);
        }
    for (size_t k = 0; k < nch && rc == 0; k++) {
        const dx_git_file *f = ch[k].file;
        if (!f)
            continue;
        const void *data = f->data;
        size_t len = f->len;
        git_blob *blob = NULL;
        if (!data) {
            int gr = git_blob_lookup(&blob, g->repo, &ch[k].id);
            if (gr < 0) {
                rc = dx_git_fail(err, gr, "cannot read the blob of '%s'", f->path);
                break;
            }
            data = git_blob_rawcontent(blob);
            len = (size_t)git_blob_rawsize(blob);
        }
        /* What the file holds matters only when it may be written. */
        int hr = keep_files ? 0 : holds_blob(g->root, f->path, &ch[k].id, &cur, &have, &same);
        if (!keep_files && hr != 0 && hr != DX_ENOTFOUND) {
            /* Not a regular file (a directory or a link in the way): left, and said. */
            rc = dx_error_set(err, hr, "cannot write '%s' into the work tree: not a regular file",
                              f->path);
            git_blob_free(blob);
            break;
        }
        if (!keep_files && (hr == DX_ENOTFOUND ||
                            (hr == 0 && !same && replaceable(g, parent_tree, f->path, &have)))) {
            dx_fs_expect expect = {.absent = hr == DX_ENOTFOUND,
                                   .bytes = hr ? NULL : dx_buf_cstr(&cur),
                                   .len = cur.len,
                                   .no_fsync = true};
            dx_error e = DX_ERROR_INIT;
            int r = dx_fs_write_in(g->root, f->path, data, len, 0644, &expect, NULL, &e);
            if (r != 0 && r != DX_ECONFLICT && r != DX_EPATH)
                rc = dx_error_set(err, r, "cannot write '%s' into the work tree: %s", f->path,
                                  e.msg);
        }
        /* The stat data is taken with the bytes compared once more after it (the bytes
         * themselves: hashing them again costs more than the comparison). */
        if (rc == 0 && st && dx_fs_stat_in(g->root, f->path, &st[k], NULL) == 0 &&
            S_ISREG(st[k].st_mode)) {
            dx_buf_reset(&cur);
            if (dx_fs_read_in(g->root, f->path, &cur, NULL, NULL) == 0 && cur.len == len &&
                (!len || !memcmp(cur.data, data, len)))
                have_st[k] = 1;
        }
        git_blob_free(blob);
    }
    if (rc == 0)
        rc = dx_git_sync_index(g, tree, parent_tree, parent, ch, st, have_st, nch, err);
done:
    free(st);
    free(have_st);
    dx_buf_release(&cur);
    return rc;
}

/* The commit of a packed change set: the commit object joins the blobs and trees in memory, the
 * pack goes to disk, and only then the branch HEAD names moves, with compare-and-swap against
 * parent (or, unborn, against nobody having created it meanwhile). */
static int commit_packed(dx_git *g, dx_git_mempack *mp, const git_oid *tree_id, git_commit *parent,
                         const git_signature *sig, const char *msg, git_oid *out, dx_error *err)
{
    git_tree *t = NULL;
    git_commit *p = NULL;
    git_reference *head = NULL, *ref = NULL;
    dx_buf log = DX_BUF_INIT;
    int rc = 0, gr;
    if ((gr = git_tree_lookup(&t, mp->repo, tree_id)) < 0 ||
        (parent && (gr = git_commit_lookup(&p, mp->repo, git_commit_id(parent))) < 0)) {
        rc = dx_git_fail(err, gr, "cannot read the new tree");
        goto done;
    }
    const git_commit *parents[1] = {p};
    if ((gr = git_commit_create(out, mp->repo, NULL, sig, sig, NULL, msg, t, p ? 1 : 0, parents)) <
        0) {
        rc = dx_git_fail(err, gr, "cannot write the commit");
        goto done;
    }
    if ((rc = dx_git_mempack_finish(g, mp, NULL, NULL, err)) < 0)
        goto done;
    if ((gr = git_reference_lookup(&head, g->repo, "HEAD")) < 0) {
        rc = dx_git_fail(err, gr, "cannot read HEAD");
        goto done;
    }
    const char *name = git_reference_type(head) == GIT_REFERENCE_SYMBOLIC
                           ? git_reference_symbolic_target(head)
                           : "HEAD";
    size_t sl = strcspn(msg, "\n");
    if (dx_buf_printf(&log, "commit%s: %.*s", parent ? "" : " (initial)", (int)sl, msg) < 0) {
        rc = dx_error_set(err, DX_ENOMEM, "out of memory");
        goto done;
    }
    gr = git_reference_create_matching(&ref, g->repo, name, out, parent != NULL,
                                       parent ? git_commit_id(parent) : NULL, log.data);
    if (gr < 0) {
        rc = dx_git_fail(err, gr, "cannot move %s to the new commit", name);
        if (gr == GIT_EMODIFIED || gr == GIT_EEXISTS)
            rc = err ? (err->code = DX_ECONFLICT) : DX_ECONFLICT;
    }
done:
    dx_buf_release(&log);
    git_reference_free(ref);
    git_reference_free(head);
    git_commit_free(p);
    git_tree_free(t);
    return rc;
}

/* Whether the index can be locked, tried before HEAD moves: a commit whose index cannot follow
 * is not made at all (otherwise HEAD would move and the command fail). */
static int try_index_lock(dx_git *g, dx_error *err)
{
    char p[4096];
    struct stat st;
    snprintf(p, sizeof p, "%sindex.lock", git_repository_path(g->repo));
    /* Looked at, not created: a probe file that could not be removed again would itself
     * block every later commit. access() also reports a read-only file system and an
     * immutable directory. */
    if (lstat(p, &st) == 0)
        errno = EEXIST;
    else if (errno == ENOENT && access(git_repository_path(g->repo), W_OK) == 0)
        return 0;
    if (errno == EEXIST)
        return dx_error_set(err, DX_ECONFLICT,
                            "cannot lock the index: '%s' exists (a git command may be working in "
                            "this repository, or something else is in its place); nothing was "
                            "committed: try again when git has finished, or remove it if no git "
                            "command is running",
                            p);
    return dx_error_set(err, DX_EIO,
                        "cannot lock the index: cannot create '%s': %s; nothing was committed: "
                        "make the directory writable and try again",
                        p, strerror(errno));
}

/* A failure once HEAD has moved (or nothing was to commit): the commit stands, so the failure
 * becomes a warning. */
static void after_commit(dx_git_stats *st, const dx_error *e)
{
    snprintf(st->warning, sizeof st->warning,
             "the work tree or the index could not follow HEAD: %s; the next commit brings the "
             "index along",
             e->msg[0] ? e->msg : dx_strerror(e->code));
}

/* Everything after the tree: the no-change answer, the message, the commit and HEAD's
 * compare-and-swap, the work tree and the index. parent_files (may be NULL) are the parent's
 * files when the caller listed them. */
static int finish_commit(dx_git *g, git_commit *parent, git_tree *base, dx_git_mempack *pack,
                         const git_oid *tree_id, const dx_git_change *ch, size_t nch,
                         const dx_git_tree_list *parent_files, const dx_git_commit_opts *opts,
                         char out_id[DX_GIT_OID_HEX], dx_git_stats *st, dx_error *err)
{
    int rc = 0, gr;
    git_tree *tree = NULL;
    git_signature *sig = NULL;
    dx_buf msg = DX_BUF_INIT;
    dx_error later = DX_ERROR_INIT; /* a failure once nothing can be undone */
    git_oid commit_id;
    if (parent && nch == 0 && !(opts && opts->allow_empty)) {
        if (out_id)
            git_oid_tostr(out_id, DX_GIT_OID_HEX, git_commit_id(parent));
        /* A writer killed after moving HEAD but before writing the index leaves the index
         * behind HEAD: bring it along, so `git status` is clean here too. */
        if (!g->bare &&
            dx_git_sync_index(g, base, base, parent_files, NULL, NULL, NULL, 0, &later) < 0)
            after_commit(st, &later);
        rc = DX_GIT_NOCHANGE;
        goto done;
    }
    time_t now = time(NULL);
    if (build_message(&msg, opts, parent == NULL, ch, nch, now) < 0) {
        rc = dx_error_set(err, DX_ENOMEM, "out of memory writing the commit message");
        goto done;
    }
    gr = git_signature_new(&sig, opts && opts->author_name ? opts->author_name : "Diaryx",
                           opts && opts->author_email ? opts->author_email : "noreply@diaryx.app",
                           (git_time_t)now, 0);
    if (gr < 0) {
        rc = dx_git_fail(err, gr, "invalid author");
        goto done;
    }
    if (!g->bare && (rc = try_index_lock(g, err)) < 0)
        goto done;
    int packed = pack->repo != NULL; /* then the commit is made and HEAD moved */
    if (packed) {
        if ((rc = commit_packed(g, pack, tree_id, parent, sig, msg.data, &commit_id, err)) < 0)
            goto done;
        dx_git_mempack_release(pack);
    }
    if ((gr = git_tree_lookup(&tree, g->repo, tree_id)) < 0) {
        rc = dx_git_fail(err, gr, "cannot read the new tree");
        goto done;
    }
    const git_commit *parents[1] = {parent};
    /* update_ref = HEAD checks that parents[0] is still the tip: compare-and-swap. For an
     * unborn HEAD, another writer having made the first commit fails the same way. */
    gr = packed ? 0
                : git_commit_create(&commit_id, g->repo, "HEAD", sig, sig, NULL, msg.data, tree,
                                    parent ? 1 : 0, parents);
    if (gr < 0) {
        int code = dx_git_fail(err, gr, "cannot commit %zu changes on %s", nch,
                               parent ? "HEAD" : "the unborn branch");
        if (gr == GIT_EMODIFIED || gr == GIT_EEXISTS)
            code = err ? (err->code = DX_ECONFLICT) : DX_ECONFLICT;
        rc = code;
        goto done;
    }
    if (out_id)
        git_oid_tostr(out_id, DX_GIT_OID_HEX, &commit_id);
    if (!g->bare && sync_worktree(g, tree, base, parent_files, ch, nch, opts && opts->keep_worktree,
                                  &later) < 0)
        after_commit(st, &later);
done:
    dx_buf_release(&msg);
    git_signature_free(sig);
    git_tree_free(tree);
    return rc;
}

int dx_git_commit_files(dx_git *g, const dx_git_file *files, size_t n,
                        const dx_git_commit_opts *opts, char out_id[DX_GIT_OID_HEX],
                        dx_git_stats *stats, dx_error *err)
{
    int rc = 0, gr;
    git_commit *parent = NULL;
    git_tree *base = NULL;
    dx_git_change *ch = NULL;
    size_t nch = 0;
    git_oid tree_id;
    dx_git_stats st = {0};
    dx_git_tree_list parent_files = {0};
    dx_git_mempack pack = {0};

    if ((rc = dx_git_lookup_commit(g, opts ? opts->expected_parent : NULL, &parent, err)) < 0)
        goto done;
    if (parent && (gr = git_commit_tree(&base, parent)) < 0) {
        rc = dx_git_fail(err, gr, "cannot read the tree of HEAD");
        goto done;
    }
    if ((rc = dx_git_build_tree(g, base, files, n, opts && opts->ids_computed, &pack, &tree_id, &ch,
                                &nch, &parent_files, &st, err)) < 0)
        goto done;
    rc = finish_commit(g, parent, base, &pack, &tree_id, ch, nch, &parent_files, opts, out_id, &st,
                       err);
done:
    if (stats)
        *stats = st;
    dx_git_changes_free(ch, nch);
    dx_git_tree_list_release(&parent_files);
    dx_git_mempack_release(&pack);
    git_tree_free(base);
    git_commit_free(parent);
    return rc;
}

int dx_git_commit_changes(dx_git *g, const dx_git_file *files, size_t n, const char *const *deletes,
                          size_t nd, const dx_git_commit_opts *opts, char out_id[DX_GIT_OID_HEX],
                          dx_git_stats *stats, dx_error *err)
{
    int rc = 0, gr;
    git_commit *parent = NULL;
    git_tree *base = NULL;
    dx_git_change *ch = NULL;
    size_t nch = 0;
    git_oid tree_id;
    dx_git_stats st = {0};
    dx_git_mempack pack = {0};

    if ((n && !files) || (nd && !deletes)) {
        rc = dx_error_set(err, DX_EINVAL, "no array given for %zu files and %zu deletions", n, nd);
        goto done;
    }
    if ((rc = dx_git_lookup_commit(g, opts ? opts->expected_parent : NULL, &parent, err)) < 0)
        goto done;
    if (parent && (gr = git_commit_tree(&base, parent)) < 0) {
        rc = dx_git_fail(err, gr, "cannot read the tree of HEAD");
        goto done;
    }
    if ((rc = dx_git_build_tree_delta(g, base, files, n, deletes, nd, opts && opts->ids_computed,
                                      &pack, &tree_id, &ch, &nch, &st, err)) < 0)
        goto done;
    rc = finish_commit(g, parent, base, &pack, &tree_id, ch, nch, NULL, opts, out_id, &st, err);
done:
    if (stats)
        *stats = st;
    dx_git_changes_free(ch, nch);
    dx_git_mempack_release(&pack);
    git_tree_free(base);
    git_commit_free(parent);
    return rc;
}
