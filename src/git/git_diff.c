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

int dx_git_diff(dx_git *g, const char *rev_a, const char *rev_b, const dx_git_file *files, size_t n,
                dx_buf *out, dx_error *err)
{
    int rc = 0, gr;
    git_tree *a = NULL, *b = NULL;
    git_diff *d = NULL;
    git_buf text = {0};
    if ((rc = tree_of(g, rev_a, &a, err)) < 0)
        goto done;
    if (files) {
        git_oid tid;
        if ((rc = dx_git_build_tree(g, a, files, n, NULL, &tid, NULL, NULL, NULL, NULL, err)) < 0)
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
    if ((gr = git_diff_tree_to_tree(&d, g->repo, a, b, &o)) < 0 ||
        (gr = git_diff_to_buf(&text, d, GIT_DIFF_FORMAT_PATCH)) < 0) {
        rc = dx_git_fail(err, gr, "cannot diff '%s' and %s", rev_a ? rev_a : "HEAD",
                         files ? "the file set" : (rev_b ? rev_b : "HEAD"));
        goto done;
    }
    if (text.size && dx_buf_append(out, text.ptr, text.size) < 0)
        rc = dx_error_set(err, DX_ENOMEM, "out of memory writing the diff");
done:
    git_buf_dispose(&text);
    git_diff_free(d);
    git_tree_free(a);
    git_tree_free(b);
    return rc;
}
