/* fileset.h - the workspace as files: the live entries of a workspace's CRDT documents
 * rendered as (workspace-relative path, bytes, git blob id), checked, sorted by path. This is
 * what a commit records (history.h), and what export, archives and an HTTP export read.
 *
 * The documents come as a dx_docs (edit.h: the workspace document and a loader of body
 * documents) with the link format the files are written in. No file is read or written here:
 * what only a client with a work tree knows comes through an optional dx_fileset_tree, which
 * the client fills from its session and a server (a bare repository, no work tree) leaves
 * NULL.
 *
 * The three sanity checks (history.h) run on the way; a finding is appended to `problems`
 * (an entry that does not render, or has no valid distinct path, is left out of the set):
 *   1. every entry renders, and an entry whose body document has text renders a file that
 *      ends with that body (no body is lost on the way to the file);
 *   2. one valid, distinct markdown path per live entry;
 *   3. (with a work tree) a file whose recorded bytes (what diaryx last wrote at the path)
 *      are the ones of the last commit still renders to exactly those bytes.
 * Every rendered file carries its blob id (dx_git_file.id, 40 hex digits), computed once
 * here from the bytes; the git layer takes it as given (dx_git_commit_opts.ids_computed)
 * instead of hashing the bytes again. Out of memory is an error (DX_ENOMEM), never a finding.
 */
#ifndef DX_FILESET_H
#define DX_FILESET_H

#include <stddef.h>

#include "diaryx/edit.h"
#include "diaryx/error.h"
#include "diaryx/git.h"
#include "diaryx/links.h"
#include "diaryx/strlist.h"

/* What a client knows of its work tree; every member is required when the struct is given. */
typedef struct dx_fileset_tree {
    /* 1 when something is at the workspace-relative path (a link counts: it is not a deleted
     * file), 0 when nothing is, or a negative DX_E* code with err set (a file that cannot be
     * looked at is neither kept in nor dropped from a commit by guess). */
    int (*on_disk)(void *ud, const char *path, dx_error *err);
    /* The blob id (hex) of the bytes diaryx last wrote or read at path when it is an entry's
     * recorded file, else NULL (borrowed). */
    const char *(*recorded)(void *ud, const char *path);
    void *ud;
} dx_fileset_tree;

typedef struct dx_fileset_src {
    const dx_docs *docs;         /* docs->workspace loaded; docs->changed is not called */
    dx_link_format fmt;          /* the workspace's link format (config) */
    const dx_fileset_tree *tree; /* NULL: no work tree */
} dx_fileset_src;

/* Every live entry rendered and checked, sorted by path, into *files (*n of them; free with
 * dx_fileset_free). g (may be NULL) is the repository: the files of its HEAD are what check 3
 * compares with, and those the set does not render are carried over by blob id alone (data
 * NULL) when diaryx does not manage them (attachments, code: dx_workspace_manages) or, with a
 * work tree, when they are markdown files still on disk that are no entry (unreadable ones
 * the CRDT could not take in). Without a work tree a markdown file of HEAD that no entry
 * renders is not carried: it is deleted by a commit of the set. A count of live entries that
 * differs from the count of files rendered is a finding too. */
int dx_fileset_all(const dx_fileset_src *src, dx_git *g, dx_git_file **files, size_t *n,
                   dx_strlist *problems, dx_error *err);

/* Only the entries ids[0..nids) (live ones; others are skipped) rendered and checked, sorted
 * by path (the changes of an incremental commit). Check 2 covers these entries among
 * themselves; check 3 looks each path up in commit rev of g (both may be NULL: no check 3). */
int dx_fileset_entries(const dx_fileset_src *src, dx_git *g, const char *rev,
                       const char *const *ids, size_t nids, dx_git_file **files, size_t *n,
                       dx_strlist *problems, dx_error *err);

/* Free a set of dx_fileset_all / dx_fileset_entries (accepts NULL). */
void dx_fileset_free(dx_git_file *files, size_t n);

/* The file of path in a set sorted by path (binary search), or NULL. */
const dx_git_file *dx_fileset_find(const dx_git_file *files, size_t n, const char *path);

#endif
