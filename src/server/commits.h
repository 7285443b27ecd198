/* commits.h - a workspace's git history on the server: the bare repository
 * DATA/workspaces/<wid>.git (branch main) and commits of the workspace's documents into it,
 * by the core's commit (render, sanity checks, commit, compaction; history.h).
 *
 * Auto-commit: a workspace is dirty from its first uncommitted update. srv_commits_tick
 * commits a dirty workspace when no update came for `quiescence` and no client is connected
 * (then a third failed check in a row may rebuild its documents from git), or when its first
 * uncommitted update is older than `staleness` even with clients connected (then it never
 * rebuilds: their copies would bring the replaced state back). Only workspaces of a user on
 * the sync plan are committed automatically. */
#ifndef DX_SERVER_COMMITS_H
#define DX_SERVER_COMMITS_H

#include <stdint.h>

#include "diaryx/history.h"
#include "hub.h"
#include "jobs.h"

/* Commit workspace wid now (loaded in h or not) over a store connection and documents of
 * its own (srv_hub_open_docs): it runs on a worker thread while the loop serves. message
 * NULL: generated. DX_EVALIDATE when the checks failed (r says why); the third failure in a
 * row rebuilds the documents from git unless no_rebuild (r->rebuilt), and opens a new epoch
 * (hub.h). The caller serializes the commits of a workspace (srv_jobs keyed by wid). */
int srv_commit(srv_hub *h, const char *wid, const char *message, bool no_rebuild,
               dx_commit_result *r, dx_error *err);

/* On the loop: hand the auto-commits that are due at now_ms (see above) to the worker pool
 * (jobs NULL: run them inline); quiescence_ms 0 disables them. A workspace with a job
 * running waits for the next tick. Failures are reported on stderr and tried again after
 * another quiescence period; updates that came after the tick keep the workspace dirty. */
void srv_commits_tick(srv_hub *h, srv_accounts *acc, srv_jobs *jobs, int64_t now_ms,
                      int64_t quiescence_ms, int64_t staleness_ms);

/* The commits of wid, newest first, at most max (0: all), only those changing path when it
 * is not NULL, as a JSON array of {id, short_id, message, timestamp, author, files: [{path,
 * status}]} (new reference), or NULL with err set. */
struct json_t *srv_history_json(srv_hub *h, const char *wid, const char *path, size_t max,
                                dx_error *err);

/* Restore workspace wid (path NULL) or one file to revision rev as CRDT edits stored over a
 * connection of its own (dx_history_restore; worker-thread safe), then commit the result
 * ("Restore ... to <rev>") into r. The loop then calls srv_hub_refresh, so that every
 * connected client receives the edits. The history, diff and file reads below are
 * worker-thread safe too (they open the repository for the call). */
int srv_restore(srv_hub *h, const char *wid, const char *rev, const char *path,
                dx_restore_stats *stats, dx_commit_result *r, dx_error *err);

/* The changes commit rev made (against its parent; the first commit against nothing), as
 * {commit, files: [{path, status, patch}]} (only path's when path is not NULL), or NULL. */
struct json_t *srv_diff_json(srv_hub *h, const char *wid, const char *rev, const char *path,
                             dx_error *err);

/* The bytes of path at rev (NULL: HEAD), appended to out; DX_ENOTFOUND when it has none. */
int srv_file_at(srv_hub *h, const char *wid, const char *rev, const char *path, dx_buf *out,
                dx_error *err);

#endif
