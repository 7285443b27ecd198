/* git.h - version history of a workspace in git, through libgit2 (no system git at run time).
 *
 * The history layer works on a FILE SET: an array of (workspace-relative path, bytes) that the
 * caller materialised (later: from the CRDT). A commit records EXACTLY that set:
 *   - paths in HEAD that are not in the set are deleted,
 *   - files on disk that are not in the set are never added (there is no `git add -A`),
 *   - unchanged files cost one hash (SHA-1 of the bytes) and no write; a file that carries its
 *     blob id (dx_git_file.id) is not hashed at all, and may come without its bytes,
 *   - only changed blobs are written and only the trees on their paths are rewritten
 *     (git_tree_create_updated from the HEAD tree),
 *   - every commit writes its new blobs, trees and the commit object as ONE pack (undeltified,
 *     zlib level 1, with its .idx: two files; stats.packed = 1) instead of one loose file each
 *     (~40 for a small commit); the pack is complete on disk before HEAD moves.
 *     dx_git_maybe_pack keeps the number of packs bounded.
 * dx_git_commit_changes commits CHANGES instead (files added or replaced, paths deleted; every
 * other file of the parent stays): its cost depends on the changes only, not on the workspace.
 * The commit's parent is HEAD as read at the start (or opts.expected_parent); HEAD moves with
 * compare-and-swap, so a commit whose parent is no longer the tip fails with DX_ECONFLICT.
 *
 * Commit message rule (one rule, always):
 *   summary line = opts.message when given, else
 *                  "Create workspace"      for the first commit of the repository,
 *                  "Add P" / "Update P" / "Delete P" / "Rename P -> Q" for one change,
 *                  "Update N entries"      for N > 1 changes (a rename counts as one);
 *   blank line; one line per change, sorted by path: "A\tP", "M\tP", "D\tP", "R\tP -> Q"
 *   (R = a deleted and an added path with identical blob ids); blank line; trailers
 *   "Device: NAME" (opts.device, else "unknown") and "Date: YYYY-MM-DDTHH:MM:SSZ" (UTC).
 * Author and committer: opts.author_name/email, else "Diaryx <noreply@diaryx.app>".
 *
 * In a normal (non-bare) repository the index lock (.git/index.lock) is tried before HEAD moves:
 * when it cannot be made (it exists, a directory is in its place, .git is not writable) nothing
 * is committed (DX_ECONFLICT or DX_EIO, naming the file). Once HEAD has moved the commit
 * stands: a failure to write the work tree or the index afterwards is no error but
 * stats.warning (the index is repaired by the next commit).
 * In a normal (non-bare) repository, after a commit the index is made to match HEAD, the files
 * the commit added or changed are written into the working tree where they differ (a file given
 * by id only is written from its blob), and the files it deleted are removed, so `git status`
 * shows nothing to commit (files the commit did not change are not read back from disk;
 * untracked files stay untracked). An index that does not hold exactly the parent's files
 * (a file staged with `git add`, a conflict) is replaced by the new tree: staged work is
 * dropped from the index, never from the work tree.
 *
 * How the index is updated: when this process or the last one wrote the index (its trailing
 * checksum is recorded with the tree it matches and a digest of its file list, in the dx_git
 * and in .git/diaryx-index) and that tree is the parent's, the index file is patched directly
 * (an index git rewrote meanwhile, e.g. `git status` settling racily clean entries, is
 * recognised by the digest of its paths, modes and blob ids): the entries of unchanged
 * files are copied as bytes, the changed ones replaced with stat data taken from the work tree
 * file after it was written, optional extensions (cache tree, ...) dropped, under git's
 * index.lock protocol (an existing .git/index.lock: DX_ECONFLICT). Racily clean entries (work
 * tree file modified in the same second as the old index) are checked as git does and get size
 * 0 when their bytes differ, so git looks at them again. Otherwise (another file list, e.g.
 * after `git add`; index version 4; a required extension such as a split index) libgit2 reads
 * the index, compares it with the parent's files (a walk of the parent tree), applies the
 * changes or reads the whole tree, and writes it; what it wrote is recorded for the next
 * commit.
 *
 * Paths: '/'-separated, relative, no empty, "." or ".." component, no ".git" component,
 * no NUL. Revisions: anything git_revparse accepts ("HEAD", "HEAD~2", a short id, "main").
 * One dx_git per thread. Every function returns 0 or a negative DX_E* code; err gets
 * "what was being done: libgit2's message". */
#ifndef DX_GIT_H
#define DX_GIT_H

#include <stddef.h>
#include <stdint.h>

#include "diaryx/buf.h"
#include "diaryx/error.h"
#include "diaryx/strmap.h"

typedef struct dx_git dx_git;

#define DX_GIT_OID_HEX 41 /* 40 hex digits + NUL */

/* Returned (positive) by dx_git_commit_files when the file set equals HEAD and
 * allow_empty is 0: no commit was made and out_id holds the unchanged HEAD id. */
#define DX_GIT_NOCHANGE 1

typedef struct dx_git_file {
    const char *path; /* workspace-relative, e.g. "notes/a.md" */
    const void *data; /* the bytes; may be NULL when id is given (see id) */
    size_t len;
    /* Optional: the git blob id (40 hex digits) of the bytes, which the caller already knows
     * (diaryx records it for every file it writes). The file is then not hashed (the id is
     * trusted when the blob is already in the repository; a blob that must be written is
     * checked, and a wrong id is DX_EINVAL). With data NULL (len is then ignored) the blob must
     * already be in the repository, else DX_ENOTFOUND naming the path: typically an unchanged
     * file, but a rename or a return to an earlier version works too, and the work tree gets
     * the bytes from the blob. Not 40 hex digits: DX_EINVAL. Neither data nor id: the file is
     * empty when len is 0, else DX_EINVAL. */
    const char *id;
} dx_git_file;

typedef struct dx_git_commit_opts {
    const char *message;         /* replaces the summary line; NULL = generated */
    const char *device;          /* "Device:" trailer; NULL = "unknown" */
    const char *author_name;     /* NULL = "Diaryx" */
    const char *author_email;    /* NULL = "noreply@diaryx.app" */
    int allow_empty;             /* commit even when nothing changed */
    const char *expected_parent; /* hex id the caller based its work on; NULL = HEAD now.
                                    If HEAD has moved past it: DX_ECONFLICT. */
    int keep_worktree;           /* the caller owns the work tree (it wrote the files): only
                                    the index follows the commit, no file is written or
                                    removed; a file that differs from the commit (a newer
                                    edit) stays as it is and git shows it modified */
    int ids_computed;            /* every id given with bytes was computed from those bytes
                                    (fileset.h): a blob to write is not hashed again to
                                    check it */
} dx_git_commit_opts;

typedef struct dx_git_stats {
    size_t added, modified, deleted, renamed; /* a rename is not also counted as add+delete */
    size_t blobs_written;                     /* blobs that were not already in HEAD */
    size_t files;                             /* files in the committed tree; 0 = unknown */
    int packed;                               /* 1 when the objects went into one pack */
    /* Set when the commit was made (HEAD moved) but the work tree or the index could not be
     * brought along: what failed. The commit stands; the next commit repairs the index. */
    char warning[DX_ERROR_MSG_MAX + 128];
} dx_git_stats;

/* Open the repository at root, or create it: bare = 0 -> root/.git with the work tree at root,
 * initial branch "main"; a normal repository's .git/info/exclude gets ".diaryx/" (the CRDT
 * store) so `git status` never shows it; bare = 1 -> root itself is a bare repository.
 * An existing repository is reused as it is. */
int dx_git_open_or_init(const char *root, int bare, dx_git **out, dx_error *err);
void dx_git_free(dx_git *g);
int dx_git_is_bare(const dx_git *g);

/* Commit the file set (see the top of this file). out_id (may be NULL) receives the new
 * commit id (or HEAD's on DX_GIT_NOCHANGE); stats may be NULL. Duplicate or invalid paths:
 * DX_EPATH. Stale parent: DX_ECONFLICT. An id given without bytes whose blob is not in the
 * repository: DX_ENOTFOUND; a malformed or wrong id: DX_EINVAL (see dx_git_file). */
int dx_git_commit_files(dx_git *g, const dx_git_file *files, size_t n,
                        const dx_git_commit_opts *opts, char out_id[DX_GIT_OID_HEX],
                        dx_git_stats *stats, dx_error *err);

/* Commit CHANGES on top of the parent (HEAD, or opts->expected_parent with the same
 * compare-and-swap and DX_ECONFLICT as dx_git_commit_files; an unborn HEAD = the empty tree):
 * the new tree is the parent's with files[0..n) added or replaced (the dx_git_file rules: id,
 * data NULL, errors) and the paths deletes[0..nd) removed; every other file of the parent stays
 * as it is. The cost is that of the changes: each path is looked up in the parent tree, which
 * is never listed as a whole.
 *   - A file whose blob equals the parent's is no change. A delete of a path the parent does not
 *     have (or that is a directory there) is ignored and not counted.
 *   - A path given twice, or both in files and deletes: DX_EPATH; so is a file whose path is a
 *     directory in the parent, or runs through a file that stays ("a/b" while "a" is a file
 *     not deleted).
 *   - Nothing changed: DX_GIT_NOCHANGE (unless opts->allow_empty) and the index is brought
 *     along as by dx_git_commit_files. The changes (A/M/D, R = a deleted and an added path of
 *     this call with the same blob id), the message, the work tree and the index follow the
 *     rules at the top of this file.
 * stats: as for dx_git_commit_files, except stats.files = 0 (the size of the tree is not
 * known without listing it). */
int dx_git_commit_changes(dx_git *g, const dx_git_file *files, size_t n, const char *const *deletes,
                          size_t nd, const dx_git_commit_opts *opts, char out_id[DX_GIT_OID_HEX],
                          dx_git_stats *stats, dx_error *err);

typedef struct dx_git_log_entry {
    char id[DX_GIT_OID_HEX];
    char short_id[8];   /* first 7 hex digits */
    int64_t time;       /* committer time, seconds since the epoch */
    int tz_offset_min;  /* committer time zone */
    const char *author; /* "Name <email>", valid during the callback */
    const char *summary;
} dx_git_log_entry;

/* Return nonzero to stop the walk early (dx_git_log then returns 0). */
typedef int (*dx_git_log_cb)(const dx_git_log_entry *e, void *ud);

/* Commits reachable from HEAD, newest first (time order, topological), at most max
 * (0 = all). With path != NULL only commits whose tree entry at path differs from their
 * first parent's (added, changed or deleted there). An unborn HEAD gives no commits. */
int dx_git_log(dx_git *g, const char *path, size_t max, dx_git_log_cb cb, void *ud, dx_error *err);

/* The bytes of path at rev, appended to out. Missing path: DX_ENOTFOUND. */
int dx_git_read_file(dx_git *g, const char *rev, const char *path, dx_buf *out, dx_error *err);

/* The blob id (hex) of path at rev. Missing path: DX_ENOTFOUND. */
int dx_git_blob_id(dx_git *g, const char *rev, const char *path, char out[DX_GIT_OID_HEX],
                   dx_error *err);

/* All file paths at rev, sorted, as a NULL-terminated malloc'd array (dx_git_paths_free). */
int dx_git_list_files(dx_git *g, const char *rev, char ***out_paths, size_t *out_n, dx_error *err);
void dx_git_paths_free(char **paths);

/* The commit id rev names ("HEAD", "HEAD~2", a short id). */
int dx_git_resolve(dx_git *g, const char *rev, char out_id[DX_GIT_OID_HEX], dx_error *err);

/* Unified diff text (git's patch format) appended to out, from rev_a (NULL = HEAD; an unborn
 * HEAD = the empty tree) to either rev_b (when files == NULL) or the file set files[0..n).
 * Diffing against a file set writes its changed blobs and trees as loose objects (never a
 * commit or a ref); they are garbage that `git gc` removes. */
int dx_git_diff(dx_git *g, const char *rev_a, const char *rev_b, const dx_git_file *files, size_t n,
                dx_buf *out, dx_error *err);

/* One changed file of a diff. */
typedef struct dx_git_diff_entry {
    char *path;  /* its path (the old one for a deletion; renames are not detected) */
    char status; /* 'A' added, 'D' deleted, 'M' modified, 'T' type changed */
    char *patch; /* its part of the unified diff (as dx_git_diff writes it) */
} dx_git_diff_entry;

/* The same diff as dx_git_diff, one entry per changed file in git's path order. *out is
 * NULL when nothing changed; free with dx_git_diff_entries_free (accepts NULL). */
int dx_git_diff_entries(dx_git *g, const char *rev_a, const char *rev_b, const dx_git_file *files,
                        size_t n, dx_git_diff_entry **out, size_t *nout, dx_error *err);
void dx_git_diff_entries_free(dx_git_diff_entry *e, size_t n);

/* Pack every loose object into one new pack (git_packbuilder) and delete the loose objects
 * that went into it. out_packed (may be NULL) receives the number of objects packed. */
int dx_git_pack(dx_git *g, size_t *out_packed, dx_error *err);

/* Housekeeping after a commit, cheap when there is nothing to do (well under 1 ms: one
 * directory of loose objects and objects/pack are listed, no more):
 *   - loose objects: their number is estimated as git gc --auto does (the objects in
 *     objects/17 times 256); above threshold they are counted exactly, and packed
 *     (dx_git_pack) when there are more than threshold;
 *   - packs: when there are more than DX_GIT_MAX_SMALL_PACKS (20) small packs (fewer than
 *     10,000 objects each), the smallest ones are rolled into one (git_packbuilder, with
 *     deltas), geometrically (a pack stays when it holds at least twice the objects of all the
 *     smaller ones together, so each object is rewritten O(log n) times), and their .pack/.idx
 *     files are deleted. Big packs (a first commit's) stay as they are; packs with a .keep
 *     file are never touched.
 * out_packed (may be NULL) receives the number of objects written into a new pack. */
int dx_git_maybe_pack(dx_git *g, size_t threshold, size_t *out_packed, dx_error *err);

/* Remove the lock files a killed writer can leave behind (index.lock, HEAD.lock,
 * packed-refs.lock, refs/heads/<any>.lock; while one exists every commit fails with
 * DX_ECONFLICT) and its partial packs (objects/pack/tmp_dxpack_*, and a pack-*.pack whose .idx
 * is gone and that is older than an hour: a pack roll-up killed half-way; a newer one may be
 * a pack git is installing, .pack before .idx). A git lock file is removed only when it is
 * provably stale: a regular file that no process has open, while no git process works inside
 * the repository (git closes some lock files before renaming them; Linux /proc), and that is
 * at least min_age seconds old (DX_GIT_STALE_LOCK_AGE; 0 when the caller knows the writer is
 * dead) or was last written at or after killed_since (unix time at which a diaryx writer that
 * was killed had started; 0 = none).
 * Otherwise nothing more is removed and the result is DX_ECONFLICT, with a message naming the
 * lock file, the process holding it if known, and what to do; also for a directory in a lock
 * file's place and where /proc cannot be read. Call it only when the caller knows no other
 * diaryx writer uses the repository (it holds the workspace lock). out_removed (may be NULL)
 * gets the count. */
#define DX_GIT_STALE_LOCK_AGE 60
int dx_git_remove_stale_locks(dx_git *g, int min_age, int64_t killed_since, size_t *out_removed,
                              dx_error *err);

/* Number of loose objects in the repository. */
int dx_git_count_loose(dx_git *g, size_t *out_n, dx_error *err);

/* Every file path of rev (NULL = HEAD) mapped to its blob id (40 hex digits, malloc'd),
 * added to out; nothing for an unborn HEAD. Release with dx_git_blobs_release. */
int dx_git_blobs(dx_git *g, const char *rev, dx_strmap *out, dx_error *err);
void dx_git_blobs_release(dx_strmap *m);

/* The git blob id (40 hex digits) of bytes, as `git hash-object` gives it. Needs no
 * libgit2 initialisation. 0, or DX_ENOMEM when OpenSSL cannot hash. The same as
 * dx_hash_blob_hex(NULL, ...) of diaryx/hash.h, which code outside the git layer should call
 * (it needs no git library); kept for the callers not yet moved. */
int dx_git_blob_hex(const void *data, size_t len, char out[DX_GIT_OID_HEX]);

#endif
