/* git_internal.h - shared private helpers of the git_*.c files.
 *
 * Layering inside src/git, with no circle: git_util.c (errors, path checks, commit lookup, tree
 * file lists) is at the bottom and calls no other git file, nor does git_index.c (index bytes);
 * git_mempack.c (packs) uses only git_util.c; git_tree.c builds trees over those two;
 * git_sync.c (the index) sits on git_index.c; git_commit.c, git_log.c, git_diff.c,
 * git_blobs.c, git_pack.c and git_repo.c are the public entry points on top and do not call
 * one another. */
#ifndef DX_GIT_INTERNAL_H
#define DX_GIT_INTERNAL_H

#include <git2.h>
#include <sys/stat.h>

#include "diaryx/git.h"

/* ---- git_util.c ---- */

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
/* Append a file dir+name to l (its path copied into l->names); -1 when out of memory. The
 * path pointers are set by dx_git_tree_list_fix_paths once l stops growing. */
int dx_git_tree_list_push(dx_git_tree_list *l, const char *dir, const char *name, const git_oid *id,
                          uint32_t mode);
void dx_git_tree_list_fix_paths(dx_git_tree_list *l);

/* The files (blobs) of tree, sorted by path (a walk of the whole tree). */
int dx_git_tree_files(git_tree *tree, dx_git_tree_list *out, dx_error *err);

struct dx_git {
    git_repository *repo;
    git_commit *last_commit; /* the commit last looked up by its full id (last_commit_hex) */
    char last_commit_hex[DX_GIT_OID_HEX];
    char *root; /* work tree (normal) or the repository itself (bare) */
    int bare;
    /* The files of the tree last built (files_tree), so that the next commit on it needs no
     * walk of 10k tree entries. Valid when files_valid. */
    git_oid files_tree;
    dx_git_tree_list files;
    int files_valid;
    /* The index memo: the index file whose trailing checksum is index_sum holds exactly the
     * files of index_tree (written by us), so a commit on index_tree may patch it instead of
     * having libgit2 rewrite it; so does an index with another checksum whose file list has the
     * same digest. Also kept in .git/diaryx-index for the next process. */
    unsigned char index_sum[20];
    git_oid index_tree;
    uint64_t index_digest[2]; /* dx_git_index_digest of that index: it still holds index_tree
                                 when git rewrote it with other stat data (git status) */
    int index_memo_valid;
    size_t index_patches, index_rewrites; /* how the index was written (tests, benchmarks) */
    /* The bytes of the index this process last patched (its trailer is index_sum when
     * index_memo_valid), so the next patch need not read 1 MB back; spare: the buffer of the
     * one before, reused for the next output. */
    dx_buf index_bytes, index_spare;
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

/* Free n changes (their paths) and the array; accepts NULL. */
void dx_git_changes_free(dx_git_change *ch, size_t n);

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
/* Keep a copy of an object (any type). */
int dx_git_mempack_add_copy(dx_git_mempack *m, const git_oid *id, git_object_t type,
                            const void *data, size_t len, dx_error *err);
/* Keep a copy of a whole, undeltified pack entry (type+size header and zlib stream) of an
 * existing pack, written to the new pack as it is; crc = its CRC32 (from the old .idx). */
int dx_git_mempack_add_raw(dx_git_mempack *m, const git_oid *id, const void *entry, size_t len,
                           uint32_t crc, dx_error *err);
/* Write every object kept in memory as one pack (undeltified, with its .idx) into the
 * repository, the index last, and make the repository see it; out_name (may be NULL, else 80
 * bytes) receives its name ("pack-<hex>"), out_objects (may be NULL) the count. */
int dx_git_mempack_finish(dx_git *g, dx_git_mempack *m, char *out_name, size_t *out_objects,
                          dx_error *err);
void dx_git_mempack_release(dx_git_mempack *m);

/* Writing at least this many new objects in one commit puts them into one pack. */
#define DX_GIT_PACK_MIN_OBJECTS 256
/* 1: every commit that writes anything writes it as one pack (measured faster than ~40 loose
 * files on ext4: see bench/RESULTS.md); dx_git_maybe_pack keeps the number of packs bounded. */
#ifndef DX_GIT_PACK_SMALL_COMMITS
#define DX_GIT_PACK_SMALL_COMMITS 1
#endif

/* Tree of the file set built on base (NULL = empty tree): writes changed blobs and trees.
 * When pack is not NULL and the commit writes anything (with DX_GIT_PACK_SMALL_COMMITS 0:
 * at least DX_GIT_PACK_MIN_OBJECTS new blobs), the new blobs and trees go into memory instead
 * (dx_git_mempack_begin on pack; pack->repo != NULL tells): the caller must dx_git_mempack_finish
 * (before anything names them) and release it, also on failure. ids_computed: as
 * dx_git_commit_opts.ids_computed. Fills the change list and out_base
 * (the files of base, sorted by path) when not NULL. */
int dx_git_build_tree(dx_git *g, git_tree *base, const dx_git_file *files, size_t n,
                      int ids_computed, dx_git_mempack *pack, git_oid *out_tree,
                      dx_git_change **changes, size_t *nchanges, dx_git_tree_list *out_base,
                      dx_git_stats *stats, dx_error *err);

/* Make the index match new_tree after a commit on parent_tree (NULL: unborn) with the changes
 * ch (stat data st[k] where have_st[k]); parent (may be NULL) the files of parent_tree when
 * the caller has them. See git.h for the rules (git_sync.c). */
int dx_git_sync_index(dx_git *g, git_tree *new_tree, git_tree *parent_tree,
                      const dx_git_tree_list *parent, const dx_git_change *ch,
                      const struct stat *st, const unsigned char *have_st, size_t nch,
                      dx_error *err);

/* Tree of the parent (base, NULL = empty) with files added or replaced and deletes removed
 * (see dx_git_commit_changes); O(changes). ids_computed (dx_git_commit_opts), pack, out_tree,
 * changes as dx_git_build_tree. */
int dx_git_build_tree_delta(dx_git *g, git_tree *base, const dx_git_file *files, size_t n,
                            const char *const *deletes, size_t nd, int ids_computed,
                            dx_git_mempack *pack, git_oid *out_tree, dx_git_change **changes,
                            size_t *nchanges, dx_git_stats *stats, dx_error *err);

/* ---- git_index.c: the index file as bytes (versions 2 and 3), no I/O ---- */
typedef struct dx_git_index_entry {
    size_t off, len;  /* the entry's bytes in the file */
    const char *path; /* inside the file's bytes */
    size_t path_len;
    uint32_t mtime_sec, mtime_nsec, size;
} dx_git_index_entry;

typedef struct dx_git_index_view {
    uint32_t version;
    dx_git_index_entry *v;
    size_t n;
    size_t entries_end; /* where the extensions start */
} dx_git_index_view;

/* Parse an index (its checksum is not verified). DX_EUNSUPPORTED: a sound index this code
 * does not patch (version 4 or other, a required extension, a merge conflict); DX_EPARSE:
 * malformed (truncated, paths out of order, ...); DX_ENOMEM. */
int dx_git_index_parse(const unsigned char *data, size_t len, dx_git_index_view *out,
                       dx_error *err);
void dx_git_index_view_release(dx_git_index_view *v);

/* An entry to put into the index (remove = 0) or take out of it (remove = 1). */
typedef struct dx_git_index_edit {
    const char *path;
    int remove;
    uint32_t ctime_sec, ctime_nsec, mtime_sec, mtime_nsec, dev, ino, mode, uid, gid, size;
    unsigned char id[20];
} dx_git_index_edit;

/* The bytes of a new index into out: the entries of data (parsed as v) with edits (sorted by
 * path, unique) applied, entries flagged in smudge (per old entry; may be NULL) given size 0
 * (git then compares their content), the optional extensions dropped, the SHA-1 trailer
 * appended. digest (may be NULL): the old index's digest, turned into the new one's. */
int dx_git_index_patch(const unsigned char *data, const dx_git_index_view *v,
                       const dx_git_index_edit *edits, size_t ne, const unsigned char *smudge,
                       uint64_t digest[2], dx_buf *out, dx_error *err);

/* The digest of the file list an index holds: the sum of one 128-bit hash per entry of (path,
 * mode, blob id), so that it changes with the files and not with stat data, flags, extensions
 * or the version, and can be updated entry by entry. sign < 0 takes an entry out of acc. */
void dx_git_index_digest_entry(const char *path, size_t pl, uint32_t mode,
                               const unsigned char id[20], int sign, uint64_t acc[2]);
void dx_git_index_digest(const unsigned char *data, const dx_git_index_view *v, uint64_t out[2]);

#endif
