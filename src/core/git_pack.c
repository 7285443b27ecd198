/* git_pack.c - pack loose objects into one pack and remove them (like git prune-packed). */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "git_internal.h"

typedef struct loose_list {
    git_oid *v;
    size_t n, cap;
} loose_list;

static int is_hex(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
            return 0;
    return s[n] == 0;
}

/* Collect the ids of the loose objects (objects/xx/yyyy...). */
static int scan_loose(dx_git *g, loose_list *l, dx_error *err)
{
    char dir[4096];
    const char *gitdir = git_repository_path(g->repo); /* ends with '/' */
    for (int i = 0; i < 256; i++) {
        snprintf(dir, sizeof dir, "%sobjects/%02x", gitdir, i);
        DIR *d = opendir(dir);
        if (!d) {
            if (errno == ENOENT)
                continue;
            return dx_error_set(err, DX_EIO, "cannot read '%s': %s", dir, strerror(errno));
        }
        struct dirent *de;
        while ((de = readdir(d))) {
            if (strlen(de->d_name) != 38 || !is_hex(de->d_name, 38))
                continue;
            char hex[41];
            snprintf(hex, 3, "%02x", i);
            memcpy(hex + 2, de->d_name, 39);
            if (l->n == l->cap) {
                size_t cap = l->cap ? l->cap * 2 : 256;
                git_oid *v = realloc(l->v, cap * sizeof *v);
                if (!v) {
                    closedir(d);
                    return dx_error_set(err, DX_ENOMEM, "out of memory");
                }
                l->v = v;
                l->cap = cap;
            }
            if (git_oid_fromstr(&l->v[l->n], hex) == 0)
                l->n++;
        }
        closedir(d);
    }
    return 0;
}

int dx_git_count_loose(dx_git *g, size_t *out_n, dx_error *err)
{
    loose_list l = {0};
    int rc = scan_loose(g, &l, err);
    *out_n = l.n;
    free(l.v);
    return rc;
}

int dx_git_pack(dx_git *g, size_t *out_packed, dx_error *err)
{
    int rc = 0, gr;
    loose_list l = {0};
    git_packbuilder *pb = NULL;
    git_odb *odb = NULL;
    if (out_packed)
        *out_packed = 0;
    if ((rc = scan_loose(g, &l, err)) < 0 || l.n == 0)
        goto done;
    if ((gr = git_packbuilder_new(&pb, g->repo)) < 0) {
        rc = dx_git_fail(err, gr, "cannot start a pack");
        goto done;
    }
    git_packbuilder_set_threads(pb, 1);
    for (size_t i = 0; i < l.n; i++)
        if ((gr = git_packbuilder_insert(pb, &l.v[i], NULL)) < 0) {
            rc = dx_git_fail(err, gr, "cannot add a loose object to the pack");
            goto done;
        }
    /* the pack and its index are complete (fsync'd by libgit2 when configured) before any
     * loose object goes */
    if ((gr = git_packbuilder_write(pb, NULL, 0, NULL, NULL)) < 0) {
        rc = dx_git_fail(err, gr, "cannot write the pack of %zu objects", l.n);
        goto done;
    }
    if ((gr = git_repository_odb(&odb, g->repo)) < 0 || (gr = git_odb_refresh(odb)) < 0) {
        rc = dx_git_fail(err, gr, "cannot reload the packs");
        goto done;
    }
    const char *gitdir = git_repository_path(g->repo);
    for (size_t i = 0; i < l.n; i++) {
        char hex[41], p[4096];
        git_oid_tostr(hex, sizeof hex, &l.v[i]);
        snprintf(p, sizeof p, "%sobjects/%.2s/%s", gitdir, hex, hex + 2);
        if (unlink(p) < 0 && errno != ENOENT) {
            rc = dx_error_set(err, DX_EIO, "cannot remove packed object '%s': %s", p,
                              strerror(errno));
            goto done;
        }
    }
    if (out_packed)
        *out_packed = l.n;
done:
    git_odb_free(odb);
    git_packbuilder_free(pb);
    free(l.v);
    return rc;
}

int dx_git_maybe_pack(dx_git *g, size_t threshold, size_t *out_packed, dx_error *err)
{
    size_t n = 0;
    if (out_packed)
        *out_packed = 0;
    int rc = dx_git_count_loose(g, &n, err);
    if (rc < 0 || n <= threshold)
        return rc;
    return dx_git_pack(g, out_packed, err);
}
