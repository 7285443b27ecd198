/* history.h - the workspace's version history: commits of the CRDT state into git, with
 * sanity checks, compaction of the CRDT after each commit, and self-healing from git.
 *
 * A commit materializes the live entries of the CRDT, checks the result, and records
 * exactly that file set in git (the workspace root is a normal repository; untracked
 * files of the user are never added; `git status` is clean afterwards).
 *
 * What is rendered: normally only what changed since the last commit — the paths whose
 * file record changed (the store's `dirty` marks) and the files of entries whose body
 * document has newer updates — and git gets those changes on top of HEAD. Everything is
 * rendered and checked instead (result.incremental false) for the first commit, when
 * HEAD is not the commit diaryx made last (a commit by hand, a reset), when updates came
 * from elsewhere since (sync), when the number of live entries differs from the number
 * of entry files, when materializing left a file behind the CRDT (meta
 * DX_SESSION_META_CHECK_ALL: a damaged entry, a file in the way), and with
 * opts.verify_all. The checks (ROADMAP.md, "Sanity checks"):
 *   1. every entry renders, and an entry whose body document has text renders a file with
 *      that body (no body is lost on the way to the file);
 *   2. the rendered file set matches the CRDT's file index: one valid, distinct path per
 *      live entry;
 *   3. unchanged files are byte-identical to the last commit: a file whose recorded bytes
 *      (what diaryx last wrote) are the committed ones must still render to those bytes.
 * A failed check skips the commit, counts the failure (meta `commit_failures`) and returns
 * DX_EVALIDATE with the reasons. The third consecutive failure rebuilds the CRDT from the
 * last commit and the files on disk: the old database is kept beside it as
 * `.diaryx/crdt.db.broken-<unix time>` (the newest DX_HISTORY_KEEP_BROKEN such backups are
 * kept, older ones removed), the committed files missing on disk are brought back (not one
 * whose entry now has a file elsewhere: a move), every file on disk is kept as it is
 * (uncommitted work), and a new store is imported from the files, each entry with the id it
 * had (the old store's file records, else the table of the last commit, `.diaryx/ids`: see
 * idmap.h). A successful commit writes that table, resets the count and compacts the
 * CRDT documents (those updated since the last commit; every one after a full check) to their
 * newest keep_recent updates; nothing else ever compacts automatically. */
#ifndef DX_HISTORY_H
#define DX_HISTORY_H

#include <stdbool.h>
#include <stddef.h>

#include "diaryx/error.h"
#include "diaryx/git.h"
#include "diaryx/session.h"
#include "diaryx/strlist.h"

#define DX_HISTORY_MAX_FAILURES 3
#define DX_HISTORY_KEEP_RECENT  50 /* the default of config [git] keep_updates */
#define DX_HISTORY_KEEP_BROKEN  3  /* .diaryx/crdt.db.broken-* backups kept */

typedef struct dx_commit_opts {
    const char *message;  /* replaces the generated summary line; NULL = generated */
    bool skip_validation; /* commit even when the checks fail (they still run and report) */
    size_t keep_recent;   /* updates kept per document by the compaction (0 = the default) */
    bool verify_all;      /* render and check every entry, not only the changed ones */
} dx_commit_opts;

#define DX_COMMIT_OPTS_INIT                                                                        \
    {                                                                                              \
        NULL, false, 0, false                                                                      \
    }

typedef struct dx_commit_result {
    char id[DX_GIT_OID_HEX]; /* the new commit, or HEAD when nothing changed */
    bool committed;          /* false: nothing changed, or the checks failed */
    /* stats.warning: the commit stands, but what follows it failed (the work tree, the
     * index, the entry ids table) */
    dx_git_stats stats;
    size_t failures;     /* consecutive failed checks, this one included (0 after a commit) */
    bool rebuilt;        /* the CRDT was rebuilt from the last commit */
    bool incremental;    /* only the changes since the last commit were rendered and checked */
    size_t checked;      /* entries rendered and checked */
    dx_strlist problems; /* what the checks found */
} dx_commit_result;

void dx_commit_result_release(dx_commit_result *r);

/* Open (or create) the workspace's repository. */
int dx_history_open(dx_session *s, dx_git **out, dx_error *err);

/* The file set of the CRDT (every live entry rendered and checked), sorted by path, with
 * the checks' findings appended to problems. g (may be NULL) is the repository: its last
 * commit is what check 3 compares with, and the files of that commit that diaryx does not
 * manage (see dx_workspace_manages), or that are on disk without being entries, are carried
 * over as they are (by blob id). Free with dx_history_files_free. */
int dx_history_files(dx_session *s, dx_git *g, dx_git_file **files, size_t *n, dx_strlist *problems,
                     dx_error *err);
void dx_history_files_free(dx_git_file *files, size_t n);

/* Commit the CRDT state (see the top of this file). *s may be replaced by a new session
 * when the CRDT is rebuilt. DX_EVALIDATE when the checks failed (result says why). */
int dx_history_commit(dx_session **s, dx_git *g, const dx_commit_opts *opts,
                      dx_commit_result *result, dx_error *err);

/* Rebuild the CRDT from the commit HEAD names and the files on disk (see the top of this
 * file). *s is replaced by a session on the new store. */
int dx_history_rebuild(dx_session **s, dx_git *g, dx_error *err);

#endif
