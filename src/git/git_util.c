/* git_util.c - the helpers every git_*.c file uses: libgit2 errors as DX_E* codes and
 * messages, path checks, commit lookup, the file list of a tree. Calls nothing else of the git
 * layer (git_repo.c, git_tree.c and the rest sit above it). */
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "git_internal.h"

/* Whether libgit2's error says the repository's stored data is damaged: an object that does
 * not inflate (a damaged pack or loose object), an object the history refers to that is gone
 * (object database errors: ours are written by git_mempack.c, not through libgit2's database),
 * anything libgit2 calls corrupt. */
static bool is_damage(const git_error *e)
{
    return e && e->message &&
           (e->klass == GIT_ERROR_ZLIB || e->klass == GIT_ERROR_ODB ||
            strstr(e->message, "corrupt") != NULL);
}

int dx_git_fail(dx_error *err, int gitcode, const char *fmt, ...)
{
    int code;
    switch (gitcode) {
    case GIT_ENOTFOUND:
        code = DX_ENOTFOUND;
        break;
    case GIT_EEXISTS:
        code = DX_EEXIST;
        break;
    case GIT_EMODIFIED:
    case GIT_ELOCKED:
    case GIT_ECONFLICT:
        code = DX_ECONFLICT;
        break;
    case GIT_EAMBIGUOUS:
    case GIT_EINVALIDSPEC:
    case GIT_EINVALID:
        code = DX_EINVAL;
        break;
    default:
        code = DX_EIO;
    }
    const git_error *e = git_error_last();
    bool damaged = is_damage(e);
    if (damaged)
        code = DX_ECORRUPT;
    if (!err)
        return code;
    char what[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    if (damaged)
        return dx_error_set(err, code,
                            "%s: the git repository is damaged (%s): `git fsck` in the workspace "
                            "shows what is broken; restore .git from a backup, or move it out of "
                            "the workspace (mv .git ../damaged.git) and run `diaryx commit` to "
                            "start a new history from the files",
                            what, e->message);
    return dx_error_set(err, code, "%s: %s", what, e && e->message ? e->message : "libgit2 error");
}

int dx_git_check_path(const char *path, dx_error *err)
{
    if (!path || !*path)
        return dx_error_set(err, DX_EPATH, "empty path in file set");
    const char *p = path;
    while (1) {
        const char *s = strchr(p, '/');
        size_t len = s ? (size_t)(s - p) : strlen(p);
        if (len == 0 || (len == 1 && p[0] == '.') || (len == 2 && p[0] == '.' && p[1] == '.') ||
            (len == 4 && strncmp(p, ".git", 4) == 0))
            return dx_error_set(err, DX_EPATH, "path '%s' is not allowed in the history", path);
        if (!s)
            break;
        p = s + 1;
    }
    return 0;
}

/* The number of commits on HEAD's first-parent chain (what HEAD~N can name) into *n; a
 * libgit2 error code when the chain cannot be walked (its error is kept). */
static int history_length(dx_git *g, size_t *n)
{
    git_revwalk *w = NULL;
    git_oid id;
    *n = 0;
    int gr = git_repository_head_unborn(g->repo) == 1 ? GIT_ITEROVER : 0;
    if (!gr && !(gr = git_revwalk_new(&w, g->repo)) &&
        !(gr = git_revwalk_simplify_first_parent(w)) && !(gr = git_revwalk_push_head(w)))
        while ((gr = git_revwalk_next(&id, w)) == 0)
            (*n)++;
    git_revwalk_free(w);
    return gr == GIT_ITEROVER ? 0 : gr;
}

/* A revision the user named that names nothing: said in the user's words, with what to name
 * instead (libgit2's own message may be about a config file, "parent 0", a pattern). A damaged
 * repository is said as such. */
static int revision_error(dx_git *g, const char *rev, int gr, dx_error *err)
{
    size_t n = 0;
    if (is_damage(git_error_last()))
        return dx_git_fail(err, gr, "cannot read revision '%s'", rev);
    if (gr == GIT_EAMBIGUOUS)
        return dx_error_set(err, DX_EINVAL,
                            "revision '%s' is ambiguous: more than one object id starts with it; "
                            "give more of the commit id (`diaryx log` shows them)",
                            rev);
    if ((gr = history_length(g, &n)) < 0)
        return dx_git_fail(err, gr, "there is no revision '%s', and the history cannot be read",
                           rev);
    if (n == 0)
        return dx_error_set(err, DX_ENOTFOUND,
                            "there is no revision '%s': the workspace's history has no commit "
                            "yet (`diaryx commit` makes one)",
                            rev);
    if (n == 1)
        return dx_error_set(err, DX_ENOTFOUND,
                            "there is no revision '%s' in the workspace's history: it has one "
                            "commit, HEAD",
                            rev);
    char older[64] = "HEAD~1";
    if (n > 2)
        snprintf(older, sizeof older, "HEAD~N with N from 1 to %zu", n - 1);
    return dx_error_set(err, DX_ENOTFOUND,
                        "there is no revision '%s' in the workspace's history: name a commit by "
                        "an id that `diaryx log` shows, HEAD, or %s",
                        rev, older);
}

int dx_git_lookup_commit(dx_git *g, const char *rev, git_commit **out, dx_error *err)
{
    *out = NULL;
    if (!rev || strcmp(rev, "HEAD") == 0) {
        int unborn = git_repository_head_unborn(g->repo);
        if (unborn == 1)
            return 0;
        if (unborn < 0)
            return dx_git_fail(err, unborn, "cannot read HEAD");
        rev = "HEAD";
    }
    /* A full commit id names the same commit forever: the last one looked up is kept
     * (reading it again cost ~1.4 ms each time right after a packed first commit). */
    bool full_id = strlen(rev) == 40 && strspn(rev, "0123456789abcdef") == 40;
    if (full_id && g->last_commit && !strcmp(g->last_commit_hex, rev))
        return git_object_dup((git_object **)out, (git_object *)g->last_commit) < 0
                   ? dx_git_fail(err, -1, "cannot keep commit %s", rev)
                   : 0;
    git_object *obj = NULL;
    int gr = git_revparse_single(&obj, g->repo, rev);
    if (gr < 0)
        return revision_error(g, rev, gr, err);
    git_object *c = NULL;
    gr = git_object_peel(&c, obj, GIT_OBJECT_COMMIT);
    git_object_t type = git_object_type(obj);
    git_object_free(obj);
    if (gr < 0 && is_damage(git_error_last()))
        return dx_git_fail(err, gr, "cannot read revision '%s'", rev);
    if (gr < 0)
        return dx_error_set(err, DX_EINVAL,
                            "revision '%s' names a %s, not a commit: name a commit, e.g. by an id "
                            "that `diaryx log` shows",
                            rev, git_object_type2string(type));
    *out = (git_commit *)c;
    if (full_id && git_object_dup((git_object **)&obj, c) == 0) {
        git_commit_free(g->last_commit);
        g->last_commit = (git_commit *)obj;
        memcpy(g->last_commit_hex, rev, 41);
    }
    return 0;
}

/* Append a file to l (its path copied into l->names; l->v[].path is set by
 * dx_git_tree_list_fix_paths). */
int dx_git_tree_list_push(dx_git_tree_list *l, const char *dir, const char *name, const git_oid *id,
                          uint32_t mode)
{
    size_t dl = strlen(dir), nl = strlen(name);
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 256;
        dx_git_tree_file *v = realloc(l->v, cap * sizeof *v);
        if (!v)
            return -1;
        l->v = v;
        l->cap = cap;
    }
    if (l->names_len + dl + nl + 1 > l->names_cap) {
        size_t cap = l->names_cap ? l->names_cap * 2 : 16384;
        while (cap < l->names_len + dl + nl + 1)
            cap *= 2;
        char *names = realloc(l->names, cap);
        if (!names)
            return -1;
        l->names = names;
        l->names_cap = cap;
    }
    dx_git_tree_file *f = &l->v[l->n++];
    f->name_off = l->names_len;
    memcpy(l->names + l->names_len, dir, dl);
    memcpy(l->names + l->names_len + dl, name, nl + 1);
    l->names_len += dl + nl + 1;
    f->path = NULL;
    f->id = *id;
    f->mode = mode;
    f->used = 0;
    return 0;
}

void dx_git_tree_list_fix_paths(dx_git_tree_list *l)
{
    for (size_t i = 0; i < l->n; i++)
        l->v[i].path = l->names + l->v[i].name_off;
}

static int walk_cb(const char *root, const git_tree_entry *e, void *payload)
{
    if (git_tree_entry_type(e) != GIT_OBJECT_BLOB)
        return 0;
    return dx_git_tree_list_push(payload, root, git_tree_entry_name(e), git_tree_entry_id(e),
                                 (uint32_t)git_tree_entry_filemode(e));
}

void dx_git_tree_list_release(dx_git_tree_list *l)
{
    if (!l)
        return;
    free(l->v);
    free(l->names);
    memset(l, 0, sizeof *l);
}

static int cmp_head(const void *a, const void *b)
{
    return strcmp(((const dx_git_tree_file *)a)->path, ((const dx_git_tree_file *)b)->path);
}

int dx_git_tree_files(git_tree *tree, dx_git_tree_list *out, dx_error *err)
{
    memset(out, 0, sizeof *out);
    int gr = git_tree_walk(tree, GIT_TREEWALK_PRE, walk_cb, out);
    if (gr < 0) {
        dx_git_tree_list_release(out);
        return dx_git_fail(err, gr, "cannot list the files of the base tree");
    }
    dx_git_tree_list_fix_paths(out);
    qsort(out->v, out->n, sizeof *out->v, cmp_head);
    return 0;
}
