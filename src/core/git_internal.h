/* git_internal.h - shared private helpers of the git_*.c files. */
#ifndef DX_GIT_INTERNAL_H
#define DX_GIT_INTERNAL_H

#include <git2.h>

#include "diaryx/git.h"

/* Record a libgit2 failure: "what: git_error_last() text"; returns the mapped DX_E* code. */
int dx_git_fail(dx_error *err, int gitcode, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Check a workspace-relative path (see git.h). */
int dx_git_check_path(const char *path, dx_error *err);

/* The commit rev names (NULL rev = HEAD). An unborn HEAD with rev NULL or "HEAD" gives
 * *out = NULL and 0. */
int dx_git_lookup_commit(dx_git *g, const char *rev, git_commit **out, dx_error *err);

/* The files (blobs) of a tree, sorted by path (strcmp = git's index order); the paths live in
 * one buffer (names). */
typedef struct dx_git_tree_file {
    const char *path;
    size_t name_off; /* path = names + name_off, while names grows */
    git_oid id;
    uint32_t mode;
    int used;
} dx_git_tree_file;

typedef struct dx_git_tree_list {
    dx_git_tree_file *v;
    size_t n, cap;
    char *names;
    size_t names_len, names_cap;
} dx_git_tree_list;

void dx_git_tree_list_release(dx_git_tree_list *l);

struct dx_git {
    git_repository *repo;
    char *root; /* work tree (normal) or the repository itself (bare) */
    int bare;
    /* The files of the tree last built (files_tree), so that the next commit on it needs no
     * walk of 10k tree entries. Valid when files_valid. */
    git_oid files_tree;
    dx_git_tree_list files;
    int files_valid;
};

/* A change of a commit. */
typedef struct dx_git_change {
    char kind; /* 'A', 'M', 'D', 'R' */
    const char *path;
    const char *to;          /* for 'R' */
    git_oid id;              /* blob id (new one; old one for 'D') */
    const dx_git_file *file; /* the new content (A, M, R); valid while files[] is; its data
                                may be NULL (then the blob id is in the repository) */
} dx_git_change;

/* A view of the repository whose new objects stay in memory (an odb backend in front of the
 * repository's own ones) until dx_git_mempack_finish writes them all as one pack
 * (git_mempack.c). */
typedef struct dx_git_mempack {
    git_odb *odb;
    git_odb_backend *backend; /* owned by odb */
    git_repository *repo;     /* wraps odb: write new objects through it */
} dx_git_mempack;

int dx_git_mempack_begin(dx_git *g, dx_git_mempack *m, dx_error *err);
/* Keep a blob whose id the caller computed; data is NOT copied and must outlive m. */
int dx_git_mempack_add_blob(dx_git_mempack *m, const git_oid *id, const void *data, size_t len,
                            dx_error *err);
/* Write every object kept in memory as one pack (undeltified, with its .idx) into the
 * repository, the index last, and make the repository see it; out_objects (may be NULL)
 * receives the count. */
int dx_git_mempack_finish(dx_git *g, dx_git_mempack *m, size_t *out_objects, dx_error *err);
void dx_git_mempack_release(dx_git_mempack *m);

/* Writing at least this many new objects in one commit puts them into one pack. */
#define DX_GIT_PACK_MIN_OBJECTS 256

/* Tree of the file set built on base (NULL = empty tree): writes changed blobs and trees.
 * When pack is not NULL and at least DX_GIT_PACK_MIN_OBJECTS new blobs are needed, they and
 * the new trees go into memory instead (dx_git_mempack_begin on pack; pack->repo != NULL
 * tells): the caller must dx_git_mempack_finish (before anything names them) and
 * release it, also on failure. Fills the change list and out_base (the files of base, sorted
 * by path) when not NULL. */
int dx_git_build_tree(dx_git *g, git_tree *base, const dx_git_file *files, size_t n,
                      dx_git_mempack *pack, git_oid *out_tree, dx_git_change **changes,
                      size_t *nchanges, dx_git_tree_list *out_base, dx_git_stats *stats,
                      dx_error *err);

#endif
