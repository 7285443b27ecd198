/* history.h - the workspace's version history: commits of the CRDT state into git, with
 * sanity checks, compaction of the CRDT after each commit, self-healing from git, and
 * restores to an earlier revision as new CRDT edits.
 *
 * Everything here works on a workspace's documents (dx_history_docs: the CRDT documents, the
 * store that holds their updates) and a repository, normal or bare. The handles are the
 * caller's: nothing here closes, opens or replaces one. A client also lends its session,
 * for what only it has (the work tree, the file records, `.diaryx/`); a server, with a bare
 * repository and no work tree, does not.
 *
 * A commit renders the live entries (fileset.h), checks the result, and records exactly
 * that file set in git (on a client the workspace root is a normal repository: untracked
 * files of the user are never added; `git status` is clean afterwards).
 *
 * What is rendered: normally only what changed since the last commit, and git gets those
 * changes on top of HEAD. On a client: the paths whose file record changed (the store's
 * `dirty` marks) and the files of entries whose body document has newer updates. Without a
 * session: the entries whose body document has newer updates, as long as the workspace
 * document has none (else everything). Everything is
 * rendered and checked instead (result.incremental false) for the first commit, when
 * HEAD is not the commit diaryx made last (a commit by hand, a reset), when updates came
 * from elsewhere since (sync), when the number of live entries differs from the number
 * of entry files, when materializing left a file behind the CRDT (meta
 * DX_SESSION_META_CHECK_ALL: a damaged entry, a file in the way), and with opts.verify_all. The
 * checks (ROADMAP.md, "Sanity checks"; fileset.h runs them):
 *   1. every entry renders, and an entry whose body document has text renders a file with
 *      that body (no body is lost on the way to the file);
 *   2. the rendered file set matches the CRDT's file index: one valid, distinct path per
 *      live entry;
 *   3. (a client) unchanged files are byte-identical to the last commit: a file whose
 *      recorded bytes (what diaryx last wrote) are the committed ones must still render to
 *      those bytes.
 * A failed check skips the commit, counts the failure (meta `commit_failures`) and returns
 * DX_EVALIDATE with the reasons. The third consecutive failure rebuilds the CRDT from the
 * last commit (dx_history_rebuild), and the caller opens its documents again:
 *   - a client: the files on disk count too. The committed files missing on disk are
 *     brought back (not one whose entry now has a file elsewhere: a move), every file on
 *     disk is kept as it is (uncommitted work); after the caller closed its session, the old
 *     database is kept beside the new one as `.diaryx/crdt.db.broken-<unix time>` (the
 *     newest DX_HISTORY_KEEP_BROKEN such backups are kept, older ones removed), and the new
 *     session imports a new store from the files, each entry with the id it had (the old
 *     store's file records, else the table of the last commit, `.diaryx/ids`: see idmap.h);
 *   - a server: the store's documents are replaced by the files of the last commit.
 * A successful commit resets the count and compacts the CRDT documents (those updated since
 * the last commit; every one after a full check) to their newest keep_recent updates;
 * nothing else ever compacts automatically. A client's commit also writes `.diaryx/ids`. */
#ifndef DX_HISTORY_H
#define DX_HISTORY_H

#include <stdbool.h>
#include <stddef.h>

#include "diaryx/error.h"
#include "diaryx/git.h"
#include "diaryx/fileset.h"
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
    /* Never rebuild, however many checks failed (a server with clients connected: their
     * copies would come back with the state git replaced; it rebuilds once they are gone). */
    bool no_rebuild;
} dx_commit_opts;

#define DX_COMMIT_OPTS_INIT                                                                        \
    {                                                                                              \
        NULL, false, 0, false, false                                                               \
    }

typedef struct dx_commit_result {
    char id[DX_GIT_OID_HEX]; /* the new commit, or HEAD when nothing changed */
    bool committed;          /* false: nothing changed, or the checks failed */
    /* stats.warning: the commit stands, but what follows it failed (the work tree, the
     * index, the entry ids table) */
    dx_git_stats stats;
    size_t failures;     /* consecutive failed checks, this one included (0 after a commit) */
    bool rebuilt;        /* the CRDT was rebuilt from the last commit: reopen the documents */
    bool incremental;    /* only the changes since the last commit were rendered and checked */
    size_t checked;      /* entries rendered and checked */
    dx_strlist problems; /* what the checks found */
} dx_commit_result;

void dx_commit_result_release(dx_commit_result *r);

/* The documents a commit, a rebuild or a restore works on. The caller owns every handle in
 * it; no function here closes or replaces one. */
typedef struct dx_history_docs {
    /* The workspace document (loaded) and the body loader; docs.changed (may be NULL) is told
     * of every entry a restore edits. */
    dx_docs docs;
    dx_link_format fmt;   /* the link format the files are written in */
    dx_crdt_store *store; /* where the documents' updates are stored; commit bookkeeping in
                             its meta (last commit, commit point, failure count) */
    const char *device;   /* the commits' "Device:" trailer (NULL: "unknown") */
    /* The client's session: its work tree, file records and `.diaryx/` (commit lock, entry
     * ids table, incremental commits, a rebuild that keeps the work on disk). NULL: no work
     * tree (a server's bare repository): the caller serializes commits, has stored every
     * update of its documents, and its documents hold everything stored. */
    dx_session *session;
    /* Without a session: the newest stored update the documents hold (a docset's `seen`),
     * the commit point; updates another writer stored after it wait for the next commit.
     * 0: the store's newest. */
    int64_t point;
} dx_history_docs;

/* The documents of a client session (loads its workspace document). */
void dx_history_docs_of_session(dx_session *s, dx_history_docs *out);
/* The documents of a docset (a server's; loads its workspace document), written in link
 * format fmt, with no session. The caller has stored what the documents emitted and caught
 * up (a store round, docset.h) before it commits. */
void dx_history_docs_of_docset(dx_docset *ds, dx_link_format fmt, dx_history_docs *out);

/* Open (or create) the workspace's repository. */
int dx_history_open(dx_session *s, dx_git **out, dx_error *err);

/* The file set of the session's CRDT: dx_fileset_all (fileset.h) over the session's
 * documents and work tree, sorted by path, with the checks' findings appended to problems.
 * g (may be NULL) is the repository (check 3, files carried over). Free with
 * dx_history_files_free. */
int dx_history_files(dx_session *s, dx_git *g, dx_git_file **files, size_t *n, dx_strlist *problems,
                     dx_error *err);
void dx_history_files_free(dx_git_file *files, size_t n);

/* Commit the CRDT state (see the top of this file). DX_EVALIDATE when the checks failed
 * (result says why). When that failure was the third in a row the CRDT was rebuilt
 * (result->rebuilt, by dx_history_rebuild): the caller's documents are stale and it must
 * close and open them again; a client closes its session, calls dx_history_rebuild_finish
 * and opens a new session. */
int dx_history_commit(const dx_history_docs *h, dx_git *g, const dx_commit_opts *opts,
                      dx_commit_result *result, dx_error *err);

/* Rebuild the CRDT from the commit HEAD names (see the top of this file).
 * With a session (a client), the first half: the committed files missing on disk are
 * written back and `.diaryx/ids` is written (from the session's file records and the table
 * of the last commit); the caller then closes the session, calls dx_history_rebuild_finish
 * and opens a new one, which imports the files with their ids.
 * Without (a server): the store's documents are replaced, in one transaction, by the files
 * of HEAD imported as entries (every markdown file diaryx manages that parses; the others
 * are left out), each with the id its path has in the caller's documents when it has one;
 * the commit bookkeeping then names HEAD. The caller opens its documents again. */
int dx_history_rebuild(const dx_history_docs *h, dx_git *g, dx_error *err);

/* The second half of a client's rebuild, with no handle open on the store: the store
 * `<root>/.diaryx/crdt.db` is moved aside as crdt.db.broken-<unix time> (older backups pruned
 * to DX_HISTORY_KEEP_BROKEN). */
int dx_history_rebuild_finish(const char *root, dx_error *err);

/* What a restore did. */
typedef struct dx_restore_stats {
    size_t restored; /* entries whose file of REV was taken in (new ones included) */
    size_t created;  /* entries created (a path REV has and no live entry has now) */
    size_t deleted;  /* entries deleted (the whole workspace: not at REV) */
} dx_restore_stats;

/* Restore the workspace (path NULL) or one file (path) to revision rev of g as new CRDT
 * edits of h's documents, which the caller then stores (a client: dx_session_save, which
 * also writes the files): each markdown file of rev that diaryx manages is taken into the
 * entry at its path (dx_ingest_entry_with: only what differs is edited), a new entry when
 * there is none; files diaryx does not manage are left alone. For the whole workspace the
 * live entries whose path rev does not have are deleted (tombstone, and removed from their
 * parent's contents), except the root index keep_root (NULL: every entry without a parent is
 * kept): without it there is no workspace to restore into. A file of rev that is not UTF-8
 * or whose frontmatter does not parse cannot be taken in: DX_EPARSE naming it (the whole
 * workspace: it is left out, and named in skipped, may be NULL). A path rev does not have:
 * DX_ENOTFOUND. No file is read or written. stats may be NULL. */
int dx_history_restore(const dx_history_docs *h, dx_git *g, const char *rev, const char *path,
                       const char *keep_root, dx_restore_stats *stats, dx_strlist *skipped,
                       dx_error *err);

#endif
