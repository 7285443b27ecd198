/* git_tree.c - build the tree of a file set on top of a base tree, writing only changes. */
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <stdio.h>

#include "git_internal.h"

/* The blob id of data: SHA-1 of "blob LEN\0" + data. OpenSSL's SHA-1 is several times faster
 * than libgit2's collision-detecting one, and unchanged files must only be hashed. */
static int blob_id(EVP_MD_CTX *ctx, git_oid *out, const void *data, size_t len)
{
    char hdr[32];
    int hl = snprintf(hdr, sizeof hdr, "blob %zu", len) + 1;
    unsigned int dl = 0;
    if (!EVP_DigestInit_ex(ctx, EVP_sha1(), NULL) || !EVP_DigestUpdate(ctx, hdr, (size_t)hl) ||
        !EVP_DigestUpdate(ctx, data, len) || !EVP_DigestFinal_ex(ctx, out->id, &dl) || dl != 20)
        return -1;
    return 0;
}

typedef struct head_entry {
    char *path;
    git_oid id;
    int used;
} head_entry;

typedef struct head_list {
    head_entry *v;
    size_t n, cap;
} head_list;

static int walk_cb(const char *root, const git_tree_entry *e, void *payload)
{
    head_list *l = payload;
    if (git_tree_entry_type(e) != GIT_OBJECT_BLOB)
        return 0;
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 256;
        head_entry *v = realloc(l->v, cap * sizeof *v);
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
    l->v[l->n].path = p;
    l->v[l->n].id = *git_tree_entry_id(e);
    l->v[l->n].used = 0;
    l->n++;
    return 0;
}

static int cmp_head(const void *a, const void *b)
{
    return strcmp(((const head_entry *)a)->path, ((const head_entry *)b)->path);
}

static int cmp_file(const void *a, const void *b)
{
    return strcmp((*(const dx_git_file *const *)a)->path, (*(const dx_git_file *const *)b)->path);
}

static int cmp_change(const void *a, const void *b)
{
    return strcmp(((const dx_git_change *)a)->path, ((const dx_git_change *)b)->path);
}

static head_entry *find_head(head_list *l, const char *path)
{
    size_t lo = 0, hi = l->n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        int c = strcmp(l->v[mid].path, path);
        if (c == 0)
            return &l->v[mid];
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

int dx_git_build_tree(dx_git *g, git_tree *base, const dx_git_file *files, size_t n,
                      git_oid *out_tree, dx_git_change **out_changes, size_t *out_nchanges,
                      dx_git_stats *stats, dx_error *err)
{
    int rc = 0, gr;
    head_list head = {0};
    const dx_git_file **sorted = NULL;
    git_tree_update *ups = NULL;
    dx_git_change *ch = NULL;
    size_t nups = 0, nch = 0;
    git_tree *empty = NULL;
    git_treebuilder *tb = NULL;
    git_odb *odb = NULL;
    EVP_MD_CTX *md = EVP_MD_CTX_new();

    if (out_changes)
        *out_changes = NULL;
    if (out_nchanges)
        *out_nchanges = 0;
    sorted = malloc((n ? n : 1) * sizeof *sorted);
    ups = malloc((n + 1) * sizeof *ups);
    if (!sorted || !ups || !md) {
        rc = dx_error_set(err, DX_ENOMEM, "out of memory building a tree of %zu files", n);
        goto done;
    }
    for (size_t i = 0; i < n; i++) {
        if ((rc = dx_git_check_path(files[i].path, err)) < 0)
            goto done;
        sorted[i] = &files[i];
    }
    qsort(sorted, n, sizeof *sorted, cmp_file);
    for (size_t i = 1; i < n; i++)
        if (strcmp(sorted[i - 1]->path, sorted[i]->path) == 0) {
            rc = dx_error_set(err, DX_EPATH, "path '%s' appears twice in the file set",
                              sorted[i]->path);
            goto done;
        }
    if (base) {
        if ((gr = git_tree_walk(base, GIT_TREEWALK_PRE, walk_cb, &head)) < 0) {
            rc = dx_git_fail(err, gr, "cannot list the files of the base tree");
            goto done;
        }
        qsort(head.v, head.n, sizeof *head.v, cmp_head);
    }
    if ((gr = git_repository_odb(&odb, g->repo)) < 0) {
        rc = dx_git_fail(err, gr, "cannot open the object database");
        goto done;
    }
    /* changes: at most n adds/modifies + head.n deletes */
    ch = calloc(n + head.n + 1, sizeof *ch);
    if (!ch) {
        rc = dx_error_set(err, DX_ENOMEM, "out of memory");
        goto done;
    }
    for (size_t i = 0; i < n; i++) {
        const dx_git_file *f = sorted[i];
        git_oid id;
        if (blob_id(md, &id, f->data, f->len) < 0) {
            rc = dx_error_set(err, DX_EIO, "cannot hash '%s' (OpenSSL SHA-1 failed)", f->path);
            goto done;
        }
        head_entry *h = find_head(&head, f->path);
        if (h) {
            h->used = 1;
            if (git_oid_equal(&h->id, &id))
                continue;
        }
        git_oid wid;
        if (!git_odb_exists(odb, &id)) {
            if ((gr = git_blob_create_from_buffer(&wid, g->repo, f->data, f->len)) < 0) {
                rc = dx_git_fail(err, gr, "cannot write the blob of '%s'", f->path);
                goto done;
            }
            if (stats)
                stats->blobs_written++;
        }
        ups[nups].action = GIT_TREE_UPDATE_UPSERT;
        ups[nups].id = id;
        ups[nups].filemode = GIT_FILEMODE_BLOB;
        ups[nups].path = f->path;
        nups++;
        ch[nch].kind = h ? 'M' : 'A';
        ch[nch].id = id;
        ch[nch].file = f;
        if (!(ch[nch].path = strdup(f->path))) {
            rc = dx_error_set(err, DX_ENOMEM, "out of memory");
            goto done;
        }
        nch++;
    }
    for (size_t i = 0; i < head.n; i++) {
        if (head.v[i].used)
            continue;
        git_tree_update *grown = realloc(ups, (nups + 1) * sizeof *ups);
        if (!grown) {
            rc = dx_error_set(err, DX_ENOMEM, "out of memory");
            goto done;
        }
        ups = grown;
        ups[nups].action = GIT_TREE_UPDATE_REMOVE;
        memset(&ups[nups].id, 0, sizeof ups[nups].id);
        ups[nups].filemode = GIT_FILEMODE_BLOB;
        ups[nups].path = head.v[i].path;
        nups++;
        /* a rename: an added path with the same blob id */
        dx_git_change *r = NULL;
        for (size_t k = 0; k < nch && !r; k++)
            if (ch[k].kind == 'A' && git_oid_equal(&ch[k].id, &head.v[i].id))
                r = &ch[k];
        if (r) {
            r->kind = 'R';
            r->to = r->path;
            r->path = head.v[i].path;
        } else {
            ch[nch].kind = 'D';
            ch[nch].path = head.v[i].path;
            ch[nch].id = head.v[i].id;
            nch++;
        }
        head.v[i].path = NULL; /* owned by the change now; the REMOVE still points at it */
    }
    /* REMOVE updates point into head paths now owned by changes: still alive until free */
    if (!base) {
        if ((gr = git_treebuilder_new(&tb, g->repo, NULL)) < 0 ||
            (gr = git_treebuilder_write(out_tree, tb)) < 0 ||
            (gr = git_tree_lookup(&empty, g->repo, out_tree)) < 0) {
            rc = dx_git_fail(err, gr, "cannot write the empty tree");
            goto done;
        }
        base = empty;
    }
    if ((gr = git_tree_create_updated(out_tree, g->repo, base, nups, ups)) < 0) {
        rc = dx_git_fail(err, gr, "cannot write the trees of %zu changed paths", nups);
        goto done;
    }
    if (stats) {
        stats->files = n;
        for (size_t k = 0; k < nch; k++) {
            if (ch[k].kind == 'A')
                stats->added++;
            else if (ch[k].kind == 'M')
                stats->modified++;
            else if (ch[k].kind == 'D')
                stats->deleted++;
            else
                stats->renamed++;
        }
    }
    qsort(ch, nch, sizeof *ch, cmp_change);
    if (out_changes) {
        *out_changes = ch;
        *out_nchanges = nch;
        ch = NULL;
    }
done:
    if (ch) {
        for (size_t k = 0; k < nch; k++) {
            free((char *)ch[k].path);
            free((char *)ch[k].to);
        }
        free(ch);
    }
    for (size_t i = 0; i < head.n; i++)
        free(head.v[i].path);
    free(head.v);
    free(sorted);
    free(ups);
    git_tree_free(empty);
    git_treebuilder_free(tb);
    git_odb_free(odb);
    EVP_MD_CTX_free(md);
    return rc;
}
