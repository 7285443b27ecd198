/* archive.h - a workspace as a portable archive (a ZIP file or a directory) with its whole
 * git history, and the import of such an archive (or of any folder) into a directory.
 *
 * Export. The archive holds a normal git repository whose working tree matches HEAD:
 *   - every file of the repository's HEAD at its path: the markdown files as the fileset
 *     rendered them from the CRDT (fileset.h; their bytes are taken from the set when its
 *     blob id is HEAD's, else from the HEAD blob), and every other file (attachments) from
 *     its blob; so `git status` is clean after unpacking;
 *   - `.git/`: HEAD, packed-refs, shallow, refs/, objects/ (packs and loose objects, without
 *     objects/info/alternates), the index and info/exclude, and a minimal config written
 *     here (no remote, no hook, no include, nothing that points elsewhere); hooks, logs,
 *     locks and diaryx's own bookkeeping stay behind. A bare repository (the server's) has
 *     no index to copy: unpacked, git shows its files as staged deletions until
 *     `git reset`; writing an index from HEAD for it is left to the server's export.
 *   - paths in byte order, work-tree files first, `.git/` last, every entry with the time of
 *     the HEAD commit: the same repository gives the same archive bytes.
 * The fileset's paths whose blob differs from HEAD (changes not committed yet), and the
 * work-tree files other than entries whose bytes differ from HEAD's, are left out (HEAD's
 * version goes in) and named in stats.uncommitted ("M path", "A path", "D path"): commit
 * first to include them.
 * Memory stays bounded: the files are read and written one at a time, ZIP entries are
 * streamed (zip.h), and a file not in the set is streamed from the work tree when its bytes
 * there are HEAD's (hashed in pieces first); only a file that is not (a bare repository's)
 * is read from git whole.
 *
 * Import. dx_archive_import copies a ZIP archive or a folder into a destination directory,
 * refusing what could write outside it or surprise its owner:
 *   - a ZIP archive is checked whole (zip.h: names, links, duplicates, case collisions,
 *     encryption, caps) and every entry inflated once to check its sizes and CRC before
 *     the first byte is written; a folder is walked without following links (a link is
 *     left out and named in stats.skipped);
 *   - of `.git/` only the objects (loose objects and packs: never objects/info/alternates),
 *     the refs, packed-refs, shallow and a HEAD naming a branch or a commit are kept; hooks,
 * config, info, logs and everything else are left out (named in stats.skipped when they could have
 * done something: hooks, config, alternates); a minimal config and info/exclude are written when
 * the destination has none;
 *   - `.diaryx/` (a CRDT store) is left out (the store is built again from the files), as is a
 *     `.git` below the top or in another letter case (in any case for `.diaryx` too: a
 *     case-insensitive file system would take them for the real ones);
 *   - a ZIP entry's executable bit is kept (0755), every other file is 0644;
 *   - a file already in the destination is never replaced unless opts.force: DX_EEXIST naming
 *     it, before anything is written.
 * Files are written atomically (temporary file + rename) through openat without following
 * links (fs.h's rules). What to do with the files (the CRDT, a commit) is the caller's. */
#ifndef DX_ARCHIVE_H
#define DX_ARCHIVE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "diaryx/docset.h"
#include "diaryx/error.h"
#include "diaryx/git.h"
#include "diaryx/strlist.h"
#include "diaryx/zip.h"

typedef struct dx_archive_src {
    dx_git *g;                /* the repository; HEAD must be a commit */
    const char *git_dir;      /* its directory on disk: <root>/.git, or a bare repository */
    const char *work_tree;    /* its work tree, or NULL: a file there whose blob id is HEAD's
                                 is streamed from disk instead of read from git whole */
    const dx_git_file *files; /* the fileset of the CRDT (fileset.h), sorted by path; NULL:
                                 every file comes from HEAD */
    size_t nfiles;
} dx_archive_src;

typedef struct dx_archive_stats {
    size_t files;           /* work-tree files written (markdown and attachments) */
    size_t attachments;     /* of them, files that are not markdown */
    size_t git_files;       /* files of .git/ written */
    uint64_t bytes;         /* bytes of all the files (before compression) */
    dx_strlist uncommitted; /* "M path" / "A path" / "D path": left out, see above */
} dx_archive_stats;

void dx_archive_stats_release(dx_archive_stats *s);

/* The archive as a ZIP stream to write(ud, ...) (zip.h). stats may be NULL. */
int dx_archive_export_zip(const dx_archive_src *src, dx_zip_write_fn write, void *ud,
                          dx_archive_stats *stats, dx_error *err);
/* A dx_zip_write_fn writing to the file descriptor *(int *)ud (all of it, or DX_EIO). */
int dx_archive_write_fd(void *ud, const void *data, size_t len, dx_error *err);

/* The archive as the directory abs_dir (created; it must not exist or be empty: DX_EEXIST).
 * stats may be NULL. */
int dx_archive_export_dir(const dx_archive_src *src, const char *abs_dir, dx_archive_stats *stats,
                          dx_error *err);

typedef struct dx_import_opts {
    bool force;           /* replace files already in the destination */
    dx_zip_limits limits; /* for a ZIP source */
} dx_import_opts;

#define DX_IMPORT_OPTS_INIT                                                                        \
    {                                                                                              \
        false, DX_ZIP_LIMITS_INIT                                                                  \
    }

typedef struct dx_import_stats {
    size_t files;       /* files written outside .git/ */
    size_t markdown;    /* of them, markdown files */
    size_t attachments; /* of them, other files */
    size_t git_files;   /* files written into .git/ */
    bool history;       /* the source had a .git whose HEAD was kept */
    dx_strlist others;  /* the files written that are not markdown, outside .git/ */
    dx_strlist skipped; /* "path: why" for what was left out */
} dx_import_stats;

void dx_import_stats_release(dx_import_stats *s);

/* Copy source (a ZIP file or a directory, absolute or relative to the current directory)
 * into the directory abs_dest (created when missing) as described above. opts NULL:
 * DX_IMPORT_OPTS_INIT. stats may be NULL. */
int dx_archive_import(const char *source, const char *abs_dest, const dx_import_opts *opts,
                      dx_import_stats *stats, dx_error *err);

/* ---- attachments into git ---- */

/* The workspace-relative paths of the live entries' attachments (their links resolved in
 * link format fmt; a link that leaves the workspace is skipped), appended to out, sorted,
 * each once. ds's workspace document is loaded when it is not. */
int dx_archive_attachments(dx_docset *ds, dx_link_format fmt, dx_strlist *out, dx_error *err);

/* Commit the files root/paths[i] (regular files in the work tree, read without following
 * links; a path with no file is skipped) whose bytes HEAD does not have at that path, on top
 * of HEAD: diaryx's commits carry such files but never add them. The work tree is left as
 * it is (keep_worktree); the index follows. Memory stays bounded: a commit takes at most
 * DX_ARCHIVE_BATCH bytes of files, more make several commits, each with message. dry: no
 * commit, only the report. changed (may be NULL) receives "A path" / "M path" for each file
 * that differs; *commits (may be NULL) the number of commits made. */
#define DX_ARCHIVE_BATCH ((size_t)32 << 20)
int dx_archive_commit_files(dx_git *g, const char *root, const dx_strlist *paths,
                            const char *message, bool dry, dx_strlist *changed, size_t *commits,
                            dx_error *err);

/* Whether a file at path is better stored than deflated in a ZIP archive: already
 * compressed formats by extension (png, jpg, gif, webp, zip, pdf, mp3, mp4, ...) and git
 * objects (zlib streams). No allocation. */
bool dx_archive_stored(const char *path);

#endif
