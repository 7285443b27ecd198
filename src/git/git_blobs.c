/* git_blobs.c - every file of a revision with its blob id, in one tree walk. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "diaryx/hash.h"
#include "git_internal.h"

typedef struct walk {
    dx_strmap *out;
    int rc;
} walk;

static int on_entry(const char *root, const git_tree_entry *e, void *ud)
{
    walk *w = ud;
    if (git_tree_entry_type(e) != GIT_OBJECT_BLOB)
        return 0;
    char path[4096], *hex = malloc(DX_GIT_OID_HEX);
    snprintf(path, sizeof path, "%s%s", root, git_tree_entry_name(e));
    if (!hex || dx_strmap_put(w->out, path, hex)) {
        free(hex);
        w->rc = DX_ENOMEM;
        return -1;
    }
    git_oid_tostr(hex, DX_GIT_OID_HEX, git_tree_entry_id(e));
    return 0;
}

int dx_git_blobs(dx_git *g, const char *rev, dx_strmap *out, dx_error *err)
{
    git_commit *c = NULL;
    git_tree *t = NULL;
    int gr, rc = dx_git_lookup_commit(g, rev, &c, err);
    if (rc < 0 || !c)
        return rc;
    walk w = {out, 0};
    if ((gr = git_commit_tree(&t, c)) < 0)
        rc = dx_git_fail(err, gr, "cannot read the tree of '%s'", rev ? rev : "HEAD");
    else if (git_tree_walk(t, GIT_TREEWALK_PRE, on_entry, &w) < 0)
        rc = w.rc ? dx_error_set(err, w.rc, "out of memory listing '%s'", rev ? rev : "HEAD")
                  : dx_git_fail(err, -1, "cannot walk the tree of '%s'", rev ? rev : "HEAD");
    git_tree_free(t);
    git_commit_free(c);
    return rc;
}

int dx_git_blob_hex(const void *data, size_t len, char out[DX_GIT_OID_HEX])
{
    return dx_hash_blob_hex(NULL, data, len, out);
}

void dx_git_blobs_release(dx_strmap *m)
{
    for (size_t i = 0; i < m->cap; i++)
        if (m->slots[i].key)
            free(m->slots[i].value);
    dx_strmap_release(m);
}
