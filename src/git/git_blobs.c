/* git_blobs.c - every file of a revision with its blob id, in one tree walk. */
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
    /* OpenSSL rather than git_odb_hash: a session hashes every file it records and must not
     * pay libgit2's start-up (which parses the CA bundle) for it. */
    char hdr[32];
    int hl = snprintf(hdr, sizeof hdr, "blob %zu", len);
    unsigned char sum[EVP_MAX_MD_SIZE];
    unsigned int dl = 0;
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    int ok = md && EVP_DigestInit_ex(md, EVP_sha1(), NULL) &&
             EVP_DigestUpdate(md, hdr, (size_t)hl + 1) && EVP_DigestUpdate(md, data, len) &&
             EVP_DigestFinal_ex(md, sum, &dl) && dl == 20;
    EVP_MD_CTX_free(md);
    if (!ok)
        return DX_ENOMEM;
    static const char hex[] = "0123456789abcdef";
    for (unsigned int i = 0; i < 20; i++) {
        out[2 * i] = hex[sum[i] >> 4];
        out[2 * i + 1] = hex[sum[i] & 15];
    }
    out[40] = 0;
    return 0;
}

void dx_git_blobs_release(dx_strmap *m)
{
    for (size_t i = 0; i < m->cap; i++)
        if (m->slots[i].key)
            free(m->slots[i].value);
    dx_strmap_release(m);
}
