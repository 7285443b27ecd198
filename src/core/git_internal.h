/* git_internal.h - shared private helpers of the git_*.c files. */
#ifndef DX_GIT_INTERNAL_H
#define DX_GIT_INTERNAL_H

#include <git2.h>

#include "diaryx/git.h"

struct dx_git {
    git_repository *repo;
    char *root; /* work tree (normal) or the repository itself (bare) */
    int bare;
};

/* Record a libgit2 failure: "what: git_error_last() text"; returns the mapped DX_E* code. */
int dx_git_fail(dx_error *err, int gitcode, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Check a workspace-relative path (see git.h). */
int dx_git_check_path(const char *path, dx_error *err);

/* The commit rev names (NULL rev = HEAD). An unborn HEAD with rev NULL or "HEAD" gives
 * *out = NULL and 0. */
int dx_git_lookup_commit(dx_git *g, const char *rev, git_commit **out, dx_error *err);

/* Tree of the file set built on base (NULL = empty tree): writes changed blobs and trees.
 * Fills the change lists when not NULL. */
typedef struct dx_git_change {
    char kind; /* 'A', 'M', 'D', 'R' */
    const char *path;
    const char *to;          /* for 'R' */
    git_oid id;              /* blob id (new one; old one for 'D') */
    const dx_git_file *file; /* the new content (A, M, R); valid while files[] is */
} dx_git_change;

int dx_git_build_tree(dx_git *g, git_tree *base, const dx_git_file *files, size_t n,
                      git_oid *out_tree, dx_git_change **changes, size_t *nchanges,
                      dx_git_stats *stats, dx_error *err);

#endif
