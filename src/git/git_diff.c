/* git_diff.c - unified diff text between two revisions or a revision and a file set. */
#include <stdlib.h>
#include <string.h>

#include "git_internal.h"

static int tree_of(dx_git *g, const char *rev, git_tree **out, dx_error *err)
{
    git_commit *c = NULL;
    *out = NULL;
    int rc = dx_git_lookup_commit(g, rev, &c, err);
    if (rc < 0 || !c)
        return rc;
    int gr = git_commit_tree(out, c);
    git_commit_free(c);
    if (gr < 0)
        return dx_git_fail(err, gr, "cannot read the tree of '%s'", rev ? rev : "HEAD");
    return 0;
}

/* The diff from rev_a to rev_b or to the file set (see dx_git_diff). */
static int diff_of(dx_git *g, const char *rev_a, const char *rev_b, const dx_git_file *files,
                   size_t n, git_diff **d, dx_error *err)
{
    int rc = 0, gr;
    git_tree *a = NULL, *b = NULL;
    *d = NULL;
    if ((rc = tree_of(g, rev_a, &a, err)) < 0)
        goto done;
    if (files) {
        git_oid tid;
        if ((rc = dx_git_build_tree(g, a, files, n, 0, NULL, &tid, NULL, NULL, NULL, NULL, err)) <
            0)
            goto done;
        if ((gr = git_tree_lookup(&b, g->repo, &tid)) < 0) {
            rc = dx_git_fail(err, gr, "cannot read the tree of the file set");
            goto done;
        }
    } else if ((rc = tree_of(g, rev_b, &b, err)) < 0) {
        goto done;
    }
    git_diff_options o;
    git_diff_options_init(&o, GIT_DIFF_OPTIONS_VERSION);
    if ((gr = git_diff_tree_to_tree(d, g->repo, a, b, &o)) < 0)
        rc = dx_git_fail(err, gr, "cannot diff '%s' and %s", rev_a ? rev_a : "HEAD",
                         files ? "the file set" : (rev_b ? rev_b : "HEAD"));
done:
    git_tree_free(a);
    git_tree_free(b);
    return rc;
}

int dx_git_diff(dx_git *g, const char *rev_a, const char *rev_b, const dx_git_file *files, size_t n,
                dx_buf *out, dx_error *err)
{
    git_diff *d = NULL;
    git_buf text = {0};
    int gr, rc = diff_of(g, rev_a, rev_b, files, n, &d, err);
    if (!rc && (gr = git_diff_to_buf(&text, d, GIT_DIFF_FORMAT_PATCH)) < 0)
        rc = dx_git_fail(err, gr, "cannot write the diff of '%s'", rev_a ? rev_a : "HEAD");
    if (!rc && text.size && dx_buf_append(out, text.ptr, text.size) < 0)
        rc = dx_error_set(err, DX_ENOMEM, "out of memory writing the diff");
    git_buf_dispose(&text);
    git_diff_free(d);
    return rc;
}

static char status_char(git_delta_t s)
{
    switch (s) {
    case GIT_DELTA_ADDED:
        return 'A';
    case GIT_DELTA_DELETED:
        return 'D';
    case GIT_DELTA_TYPECHANGE:
        return 'T';
    default:
        return 'M';
    }
}

int dx_git_diff_entries(dx_git *g, const char *rev_a, const char *rev_b, const dx_git_file *files,
                        size_t n, dx_git_diff_entry **out, size_t *nout, dx_error *err)
{
    git_diff *d = NULL;
    *out = NULL;
    *nout = 0;
    int gr, rc = diff_of(g, rev_a, rev_b, files, n, &d, err);
    size_t nd = rc ? 0 : git_diff_num_deltas(d);
    dx_git_diff_entry *e = nd ? calloc(nd, sizeof *e) : NULL;
    if (nd && !e)
        rc = dx_error_set(err, DX_ENOMEM, "out of memory reading the diff");
    for (size_t i = 0; !rc && i < nd; i++) {
        const git_diff_delta *dl = git_diff_get_delta(d, i);
        git_patch *p = NULL;
        git_buf text = {0};
        if ((gr = git_patch_from_diff(&p, d, i)) < 0 || (gr = git_patch_to_buf(&text, p)) < 0) {
            rc = dx_git_fail(err, gr, "cannot write the diff of '%s'", dl->new_file.path);
        } else {
            e[i].path =
                strdup(dl->status == GIT_DELTA_DELETED ? dl->old_file.path : dl->new_file.path);
            e[i].status = status_char(dl->status);
            e[i].patch = malloc(text.size + 1);
            if (!e[i].path || !e[i].patch) {
                rc = dx_error_set(err, DX_ENOMEM, "out of memory reading the diff");
            } else {
                memcpy(e[i].patch, text.ptr ? text.ptr : "", text.size);
                e[i].patch[text.size] = 0;
            }
        }
        git_buf_dispose(&text);
        git_patch_free(p);
    }
    git_diff_free(d);
    if (rc) {
        dx_git_diff_entries_free(e, nd);
        return rc;
    }
    *out = e;
    *nout = nd;
    return 0;
}

void dx_git_diff_entries_free(dx_git_diff_entry *e, size_t n)
{
    for (size_t i = 0; e && i < n; i++) {
        free(e[i].path);
        free(e[i].patch);
    }
    free(e);
}
