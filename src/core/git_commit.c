/* git_commit.c - commit a file set: message, author, compare-and-swap on HEAD, work tree. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "git_internal.h"

static void free_changes(dx_git_change *ch, size_t n)
{
    for (size_t k = 0; ch && k < n; k++) {
        free((char *)ch[k].path);
        free((char *)ch[k].to);
    }
    free(ch);
}

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

/* Make a directory path for a file (mkdir -p of its parent). */
static int mkparents(char *path)
{
    for (char *s = strchr(path + 1, '/'); s; s = strchr(s + 1, '/')) {
        *s = 0;
        int r = mkdir(path, 0777);
        *s = '/';
        if (r < 0 && errno != EEXIST)
            return -1;
    }
    return 0;
}

static int same_file(const char *p, const void *data, size_t len)
{
    FILE *f = fopen(p, "rb");
    if (!f)
        return 0;
    int same = 1;
    char buf[8192];
    size_t off = 0, r;
    while (same && (r = fread(buf, 1, sizeof buf, f)) > 0) {
        if (off + r > len || memcmp(buf, (const char *)data + off, r) != 0)
            same = 0;
        off += r;
    }
    fclose(f);
    return same && off == len;
}

/* Make the index match tree (nothing is written when it already does). */
static int sync_index(dx_git *g, git_tree *tree, dx_error *err)
{
    git_index *idx = NULL;
    git_oid current;
    int rc = 0, gr;
    if ((gr = git_repository_index(&idx, g->repo)) < 0) {
        rc = dx_git_fail(err, gr, "cannot read the index");
    } else if (git_index_write_tree(&current, idx) < 0 ||
               !git_oid_equal(&current, git_tree_id(tree))) {
        if ((gr = git_index_read_tree(idx, tree)) < 0 || (gr = git_index_write(idx)) < 0)
            rc = dx_git_fail(err, gr, "cannot make the index match the commit");
    }
    git_index_free(idx);
    return rc;
}

/* Write the files this commit added or changed where the work tree differs (files the
 * commit did not change are left alone: reading 10k files would cost more than the commit); remove
 * files the commit deleted; make the index match the new tree. */
static int sync_worktree(dx_git *g, git_tree *tree, const dx_git_change *ch, size_t nch,
                         dx_error *err)
{
    char path[4096];
    for (size_t k = 0; k < nch; k++) {
        const dx_git_file *f = ch[k].file;
        if (!f)
            continue;
        snprintf(path, sizeof path, "%s/%s", g->root, f->path);
        if (same_file(path, f->data, f->len))
            continue;
        FILE *fp = (mkparents(path) == 0) ? fopen(path, "wb") : NULL;
        if (!fp)
            return dx_error_set(err, DX_EIO, "cannot write '%s' into the work tree: %s", f->path,
                                strerror(errno));
        size_t w = fwrite(f->data, 1, f->len, fp);
        if (fclose(fp) != 0 || w != f->len)
            return dx_error_set(err, DX_EIO, "cannot write '%s' into the work tree: %s", f->path,
                                strerror(errno));
    }
    for (size_t k = 0; k < nch; k++)
        if (ch[k].kind == 'D' || ch[k].kind == 'R') {
            snprintf(path, sizeof path, "%s/%s", g->root, ch[k].path);
            if (unlink(path) < 0 && errno != ENOENT)
                return dx_error_set(err, DX_EIO, "cannot remove '%s' from the work tree: %s",
                                    ch[k].path, strerror(errno));
        }
    return sync_index(g, tree, err);
}

int dx_git_commit_files(dx_git *g, const dx_git_file *files, size_t n,
                        const dx_git_commit_opts *opts, char out_id[DX_GIT_OID_HEX],
                        dx_git_stats *stats, dx_error *err)
{
    int rc = 0, gr;
    git_commit *parent = NULL;
    git_tree *base = NULL, *tree = NULL;
    git_signature *sig = NULL;
    dx_git_change *ch = NULL;
    size_t nch = 0;
    dx_buf msg = DX_BUF_INIT;
    git_oid tree_id, commit_id;
    dx_git_stats st = {0};

    if ((rc = dx_git_lookup_commit(g, opts ? opts->expected_parent : NULL, &parent, err)) < 0)
        goto done;
    if (parent && (gr = git_commit_tree(&base, parent)) < 0) {
        rc = dx_git_fail(err, gr, "cannot read the tree of HEAD");
        goto done;
    }
    if ((rc = dx_git_build_tree(g, base, files, n, &tree_id, &ch, &nch, &st, err)) < 0)
        goto done;
    if (parent && nch == 0 && !(opts && opts->allow_empty)) {
        if (out_id)
            git_oid_tostr(out_id, DX_GIT_OID_HEX, git_commit_id(parent));
        /* A writer killed after moving HEAD but before writing the index leaves the index
         * behind HEAD: bring it along, so `git status` is clean here too. */
        if (!g->bare && (rc = sync_index(g, base, err)) < 0)
            goto done;
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
    if ((gr = git_tree_lookup(&tree, g->repo, &tree_id)) < 0) {
        rc = dx_git_fail(err, gr, "cannot read the new tree");
        goto done;
    }
    const git_commit *parents[1] = {parent};
    /* update_ref = HEAD checks that parents[0] is still the tip: compare-and-swap. For an
     * unborn HEAD, another writer having made the first commit fails the same way. */
    gr = git_commit_create(&commit_id, g->repo, "HEAD", sig, sig, NULL, msg.data, tree,
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
    if (!g->bare && (rc = sync_worktree(g, tree, ch, nch, err)) < 0)
        goto done;
done:
    if (stats)
        *stats = st;
    free_changes(ch, nch);
    dx_buf_release(&msg);
    git_signature_free(sig);
    git_tree_free(tree);
    git_tree_free(base);
    git_commit_free(parent);
    return rc;
}
