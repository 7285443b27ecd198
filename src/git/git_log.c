/* git_log.c - history walk, per-file history, reading and listing files at a revision. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "git_internal.h"

/* 1 when the entry at path differs between commit c and its first parent. */
static int touches(git_commit *c, const char *path, int *out, dx_error *err)
{
    git_tree *t = NULL, *pt = NULL;
    git_commit *p = NULL;
    git_tree_entry *e = NULL, *pe = NULL;
    int rc = 0, gr;
    if ((gr = git_commit_tree(&t, c)) < 0) {
        rc = dx_git_fail(err, gr, "cannot read a commit's tree");
        goto done;
    }
    gr = git_tree_entry_bypath(&e, t, path);
    if (gr < 0 && gr != GIT_ENOTFOUND) {
        rc = dx_git_fail(err, gr, "cannot look up '%s'", path);
        goto done;
    }
    if (git_commit_parentcount(c) > 0) {
        if ((gr = git_commit_parent(&p, c, 0)) < 0 || (gr = git_commit_tree(&pt, p)) < 0) {
            rc = dx_git_fail(err, gr, "cannot read a parent commit");
            goto done;
        }
        gr = git_tree_entry_bypath(&pe, pt, path);
        if (gr < 0 && gr != GIT_ENOTFOUND) {
            rc = dx_git_fail(err, gr, "cannot look up '%s'", path);
            goto done;
        }
    }
    if (!e && !pe)
        *out = 0;
    else if (!e || !pe)
        *out = 1;
    else
        *out = !git_oid_equal(git_tree_entry_id(e), git_tree_entry_id(pe)) ||
               git_tree_entry_filemode(e) != git_tree_entry_filemode(pe);
done:
    git_tree_entry_free(e);
    git_tree_entry_free(pe);
    git_tree_free(t);
    git_tree_free(pt);
    git_commit_free(p);
    return rc;
}

int dx_git_log(dx_git *g, const char *path, size_t max, dx_git_log_cb cb, void *ud, dx_error *err)
{
    int rc = 0, gr;
    git_revwalk *w = NULL;
    dx_buf author = DX_BUF_INIT;
    if (git_repository_head_unborn(g->repo) == 1)
        return 0;
    if ((gr = git_revwalk_new(&w, g->repo)) < 0 ||
        (gr = git_revwalk_sorting(w, GIT_SORT_TOPOLOGICAL | GIT_SORT_TIME)) < 0 ||
        (gr = git_revwalk_push_head(w)) < 0) {
        rc = dx_git_fail(err, gr, "cannot walk the history from HEAD");
        goto done;
    }
    size_t count = 0;
    git_oid id;
    while ((max == 0 || count < max) && (gr = git_revwalk_next(&id, w)) == 0) {
        git_commit *c = NULL;
        if ((gr = git_commit_lookup(&c, g->repo, &id)) < 0) {
            rc = dx_git_fail(err, gr, "cannot read a commit of the history");
            goto done;
        }
        int hit = 1;
        if (path && (rc = touches(c, path, &hit, err)) < 0) {
            git_commit_free(c);
            goto done;
        }
        if (hit) {
            dx_git_log_entry e;
            git_oid_tostr(e.id, sizeof e.id, &id);
            memcpy(e.short_id, e.id, 7);
            e.short_id[7] = 0;
            e.time = (int64_t)git_commit_time(c);
            e.tz_offset_min = git_commit_time_offset(c);
            const git_signature *a = git_commit_author(c);
            dx_buf_reset(&author);
            if (dx_buf_printf(&author, "%s <%s>", a->name, a->email) < 0) {
                git_commit_free(c);
                rc = dx_error_set(err, DX_ENOMEM, "out of memory");
                goto done;
            }
            e.author = author.data;
            const char *s = git_commit_summary(c);
            e.summary = s ? s : "";
            count++;
            int stop = cb(&e, ud);
            git_commit_free(c);
            if (stop)
                break;
        } else {
            git_commit_free(c);
        }
    }
    if (gr < 0 && gr != GIT_ITEROVER)
        rc = dx_git_fail(err, gr, "cannot walk the history");
done:
    dx_buf_release(&author);
    git_revwalk_free(w);
    return rc;
}

/* The blob entry at path in rev's tree (*e owned by the caller). */
static int lookup_blob_entry(dx_git *g, const char *rev, const char *path, git_tree_entry **e,
                             dx_error *err)
{
    int rc, gr;
    git_commit *c = NULL;
    git_tree *t = NULL;
    *e = NULL;
    if ((rc = dx_git_check_path(path, err)) < 0)
        return rc;
    if ((rc = dx_git_lookup_commit(g, rev, &c, err)) < 0)
        return rc;
    if (!c)
        return dx_error_set(err, DX_ENOTFOUND, "'%s' not found: HEAD has no commit yet", path);
    if ((gr = git_commit_tree(&t, c)) < 0)
        rc = dx_git_fail(err, gr, "cannot read the tree of '%s'", rev ? rev : "HEAD");
    else if ((gr = git_tree_entry_bypath(e, t, path)) == GIT_ENOTFOUND)
        rc = dx_error_set(err, DX_ENOTFOUND,
                          "'%s' does not exist at revision '%s': `diaryx log %s` lists the commits "
                          "that changed it",
                          path, rev ? rev : "HEAD", path);
    else if (gr < 0)
        rc = dx_git_fail(err, gr, "cannot read '%s' at '%s'", path, rev ? rev : "HEAD");
    else if (git_tree_entry_type(*e) != GIT_OBJECT_BLOB)
        rc = dx_error_set(err, DX_EINVAL, "'%s' at '%s' is a directory", path, rev ? rev : "HEAD");
    if (rc) {
        git_tree_entry_free(*e);
        *e = NULL;
    }
    git_tree_free(t);
    git_commit_free(c);
    return rc;
}

int dx_git_read_file(dx_git *g, const char *rev, const char *path, dx_buf *out, dx_error *err)
{
    git_tree_entry *e = NULL;
    git_blob *b = NULL;
    int gr, rc = lookup_blob_entry(g, rev, path, &e, err);
    if (rc)
        return rc;
    if ((gr = git_blob_lookup(&b, g->repo, git_tree_entry_id(e))) < 0)
        rc = dx_git_fail(err, gr, "cannot read the blob of '%s'", path);
    else if (dx_buf_append(out, git_blob_rawcontent(b), (size_t)git_blob_rawsize(b)) < 0)
        rc = dx_error_set(err, DX_ENOMEM, "out of memory reading '%s'", path);
    git_blob_free(b);
    git_tree_entry_free(e);
    return rc;
}

int dx_git_blob_id(dx_git *g, const char *rev, const char *path, char out[DX_GIT_OID_HEX],
                   dx_error *err)
{
    git_tree_entry *e = NULL;
    int rc = lookup_blob_entry(g, rev, path, &e, err);
    if (!rc)
        git_oid_tostr(out, DX_GIT_OID_HEX, git_tree_entry_id(e));
    git_tree_entry_free(e);
    return rc;
}

typedef struct path_list {
    char **v;
    size_t n, cap;
    char *bad; /* the first path diaryx would never write (it stops the walk) */
} path_list;

static int list_cb(const char *root, const git_tree_entry *e, void *payload)
{
    path_list *l = payload;
    if (git_tree_entry_type(e) != GIT_OBJECT_BLOB)
        return 0;
    if (l->n + 1 >= l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 64;
        char **v = realloc(l->v, cap * sizeof *v);
        if (!v)
            return -1;
        l->v = v;
        l->cap = cap;
    }
    const char *name = git_tree_entry_name(e);
    size_t rl = strlen(root), nl = strlen(name);
    char *p = malloc(rl + nl + 1);
    if (!p)
        return -1;
    memcpy(p, root, rl);
    memcpy(p + rl, name, nl + 1);
    if (dx_git_check_path(p, NULL) < 0) {
        l->bad = p;
        return -1; /* (a positive value would only skip a subtree) */
    }
    l->v[l->n++] = p;
    l->v[l->n] = NULL;
    return 0;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

int dx_git_list_files(dx_git *g, const char *rev, char ***out_paths, size_t *out_n, dx_error *err)
{
    int rc, gr;
    git_commit *c = NULL;
    git_tree *t = NULL;
    path_list l = {0};
    *out_paths = NULL;
    if (out_n)
        *out_n = 0;
    if ((rc = dx_git_lookup_commit(g, rev, &c, err)) < 0)
        return rc;
    if (c) {
        if ((gr = git_commit_tree(&t, c)) < 0 ||
            ((gr = git_tree_walk(t, GIT_TREEWALK_PRE, list_cb, &l)) < 0 && !l.bad)) {
            rc = dx_git_fail(err, gr, "cannot list the files of '%s'", rev ? rev : "HEAD");
            goto done;
        }
        if (l.bad) {
            rc = dx_error_set(err, DX_EPATH,
                              "revision '%s' holds '%s', a path outside the workspace or inside "
                              ".git that diaryx never writes: it was not made by diaryx; nothing "
                              "is taken from it (restore single files with `diaryx restore %s "
                              "FILE`, or look at it with git)",
                              rev ? rev : "HEAD", l.bad, rev ? rev : "HEAD");
            goto done;
        }
    }
    if (!l.v && !(l.v = calloc(1, sizeof *l.v))) {
        rc = dx_error_set(err, DX_ENOMEM, "out of memory");
        goto done;
    }
    qsort(l.v, l.n, sizeof *l.v, cmp_str);
    *out_paths = l.v;
    if (out_n)
        *out_n = l.n;
    l.v = NULL;
done:
    if (l.v) {
        for (size_t i = 0; i < l.n; i++)
            free(l.v[i]);
        free(l.v);
    }
    free(l.bad);
    git_tree_free(t);
    git_commit_free(c);
    return rc;
}

void dx_git_paths_free(char **paths)
{
    if (!paths)
        return;
    for (char **p = paths; *p; p++)
        free(*p);
    free(paths);
}
