/* workspace.h - a diaryx workspace on disk: the root index, the tree of entries linked by
 * `part_of`/`contents`, creating, linking, moving and removing entries, validation with
 * fixes, export by audience, daily entries and search. docs/file-format.md describes the
 * rules; every file write is atomic (temporary file + rename).
 *
 * Paths in this API are workspace-relative ("notes/idea.md") unless named abs_*.
 *
 * The same functions run over a workspace that has no directory: docfiles.h opens one over
 * the CRDT documents (the files are rendered from them, every write is staged). */
#ifndef DX_WORKSPACE_H
#define DX_WORKSPACE_H

#include <stdbool.h>
#include <stddef.h>

#include "diaryx/buf.h"
#include "diaryx/error.h"
#include "diaryx/frontmatter.h"
#include "diaryx/links.h"
#include "diaryx/strlist.h"

typedef struct dx_workspace dx_workspace;

/* Create a workspace in directory abs_dir (created if needed): a root index README.md
 * with title (default: the directory name), description "A diaryx workspace" and
 * `contents: []`. An existing root index is kept (DX_EEXIST is not an error: *created is
 * set to false). Existing markdown files are left alone (link them with validate --fix). */
int dx_workspace_init(const char *abs_dir, const char *title, const char *description,
                      bool *created, dx_error *err);

/* Open the workspace containing start (a directory or a file): the nearest directory,
 * from start upwards, holding a root index (a .md file with `contents` and no `part_of`).
 * DX_ENOTFOUND with a hint to run `diaryx init` when there is none. */
int dx_workspace_open(const char *start, dx_workspace **out, dx_error *err);
void dx_workspace_free(dx_workspace *ws);

const char *dx_workspace_root(const dx_workspace *ws);      /* absolute directory */
const char *dx_workspace_root_file(const dx_workspace *ws); /* e.g. "README.md" */
dx_link_format dx_workspace_link_format(const dx_workspace *ws);

/* A user-supplied path (absolute, or relative to the current directory) as a
 * workspace-relative path. DX_EPATH when it is outside the workspace. */
int dx_workspace_relpath(const dx_workspace *ws, const char *user_path, dx_buf *out, dx_error *err);
/* Absolute path of a workspace-relative path. */
int dx_workspace_abspath(const dx_workspace *ws, const char *rel, dx_buf *out);

/* Read and parse an entry. DX_ENOTFOUND names the file; DX_EPARSE comes from the YAML. */
int dx_workspace_read(const dx_workspace *ws, const char *rel, dx_fm **out, dx_error *err);
/* Write an entry atomically, creating directories. DX_EPARSE for a note that was read
 * with an unclosed frontmatter block (its keys would become body text). */
int dx_workspace_write(const dx_workspace *ws, const char *rel, const dx_fm *fm, dx_error *err);

/* Resolve a link found in file from_rel with the workspace link format. */
int dx_workspace_resolve(const dx_workspace *ws, const char *from_rel, const char *link,
                         dx_buf *out, dx_error *err);
/* Write a link to target_rel as it should appear in from_rel (title from the target's
 * frontmatter when readable, else from its path). */
int dx_workspace_link(const dx_workspace *ws, const char *from_rel, const char *target_rel,
                      dx_buf *out);

/* ---- staging ----------------------------------------------------------------------------
 * With staging on, the editing functions below (create, attach, detach, move, delete, write,
 * fix, daily) do not touch the disk: every file they would write or remove is kept in memory
 * and later reads see it. The caller takes the staged changes (into the CRDT, which then
 * writes the files) and clears them. */

typedef struct dx_staged {
    char *path;  /* workspace-relative */
    char *bytes; /* the new file bytes (NULL when removed) */
    size_t len;
    bool removed;     /* the file is to be deleted */
    char *moved_from; /* the file is `moved_from` renamed (its old path is staged removed) */
} dx_staged;

void dx_workspace_set_staging(dx_workspace *ws, bool on);
/* In staging mode, where a file with nothing staged is read from: fn appends its bytes to
 * out and returns 0, or returns DX_ENOTFOUND to have it read from disk. A session installs
 * one so that a command edits the state the session holds, not bytes another process wrote
 * to disk since (its edit is then a change against that state, and merges with theirs).
 * fn NULL reads the disk. */
typedef int (*dx_workspace_source_fn)(void *ud, const char *rel, dx_buf *out, dx_error *err);
void dx_workspace_set_source(dx_workspace *ws, dx_workspace_source_fn fn, void *ud);
/* Write or remove one file as it is (bytes, not a parsed note), through the staging area
 * when it is on: restoring a file from history uses these. */
int dx_workspace_put_file(dx_workspace *ws, const char *rel, const char *bytes, size_t len,
                          dx_error *err);
int dx_workspace_remove_file(dx_workspace *ws, const char *rel, dx_error *err);
/* The staged changes in the order they were first made; *n receives the count. */
const dx_staged *dx_workspace_staged(const dx_workspace *ws, size_t *n);
void dx_workspace_staged_clear(dx_workspace *ws);

/* ---- tree ------------------------------------------------------------------------------ */

typedef enum dx_node_status {
    DX_NODE_OK,
    DX_NODE_MISSING,
    DX_NODE_ERROR,
    DX_NODE_CYCLE,
    DX_NODE_TRUNCATED
} dx_node_status;

typedef struct dx_tree_node dx_tree_node;
struct dx_tree_node {
    char *path;  /* workspace-relative */
    char *title; /* frontmatter title, else the file stem */
    char *description;
    dx_node_status status;
    size_t hidden; /* DX_NODE_TRUNCATED: children not shown */
    dx_tree_node **children;
    size_t n;
};

/* The tree from start_rel (NULL = the root), down to max_depth levels (0 = unlimited). */
int dx_workspace_tree(const dx_workspace *ws, const char *start_rel, int max_depth,
                      dx_tree_node **out, dx_error *err);
void dx_tree_free(dx_tree_node *n);
/* `tree`-style text (├── └── │), root line "Title - description". */
int dx_tree_render(const dx_tree_node *n, dx_buf *out);
int dx_tree_render_json(const dx_tree_node *n, dx_buf *out);

/* ---- editing ----------------------------------------------------------------------------- */

/* The file name for a title: lower-case ASCII letters and digits kept, other ASCII runs
 * become one `-`, non-ASCII characters kept, trimmed, ".md" added ("My Note!" ->
 * "my-note.md"; "" -> "untitled.md"). */
int dx_filename_from_title(const char *title, dx_buf *out);

/* The index of directory dir ("" = the root directory): the root index for "", else an
 * existing index in dir (<dir>/<name>.md, index.md, README.md, <name>_index.md, then any
 * file with `contents`). With create, a missing one is created as <dir>/<name>.md with a
 * title from the folder name and linked into the index of its parent directory. */
int dx_workspace_dir_index(const dx_workspace *ws, const char *dir, bool create, dx_buf *out,
                           dx_error *err);

/* How `diaryx create` names a new entry (no file access): rel_in normalised into rel with
 * ".md" added when missing; "DIR/" (ending in '/') names the directory's index DIR/<name>.md
 * (*dir_index set). parent_dir receives the directory whose index lists the entry: its own,
 * or the one above for a folder index (<dir>/<dir name>.md). DX_EINVAL for an empty name. */
int dx_workspace_new_entry(const char *rel_in, dx_buf *rel, bool *dir_index, dx_buf *parent_dir,
                           dx_error *err);

/* Create entry rel (".md" added when missing) with title (default from the file name):
 * frontmatter `title` and `part_of`, a `# Title` heading, linked into the contents of its
 * directory's index (created when missing). index: give it `contents: []`. rel "DIR/"
 * (ending in '/') names a directory: its index DIR/<name>.md is created (an index, linked
 * into the index of the directory above). DX_EEXIST, also for a directory with an index. */
int dx_workspace_create(dx_workspace *ws, const char *rel, const char *title, bool index,
                        dx_error *err);

/* Link child under parent: append to parent's `contents` (sorted: keep the list sorted),
 * set child's `part_of`. A leaf parent becomes an index. Idempotent. */
int dx_workspace_attach(dx_workspace *ws, const char *parent, const char *child, bool sorted,
                        dx_error *err);
/* Unlink: remove child from parent's contents and child's part_of (when it is parent). */
int dx_workspace_detach(dx_workspace *ws, const char *parent, const char *child, dx_error *err);

/* Move or rename from -> to. to names a directory when it ends in '/', is empty or is an
 * existing directory: the file goes into it under its own name (a missing directory is
 * created with its index), and a folder's index (the index of its own directory) takes the
 * notes of its folder along (`mv notes/notes.md archive/` -> archive/notes/...; other files
 * stay where they are). Every `part_of`,
 * `contents` and `attachments` link to a moved file is rewritten, its own relative links
 * are re-expressed from the new place, and when its directory changes it is moved from the
 * old parent's contents to the new directory's index (a folder index: to the index of the
 * directory above). DX_EEXIST when the target exists; DX_EINVAL for the root index, a
 * folder moved into itself, and an index whose entries would be left outside its
 * directory. */
int dx_workspace_move(dx_workspace *ws, const char *from, const char *to, dx_error *err);
/* Rewrite the links of the list (or single link) under key of a file's frontmatter: items
 * resolving to from now point to to; the file's own links are re-expressed when it moved
 * (old_self -> new_self; pass the same path twice when it did not). Titles are kept.
 * *changed is set when the value changed. 0 or DX_ENOMEM. */
int dx_workspace_relink(dx_fm *fm, const char *key, const char *old_self, const char *new_self,
                        const char *from, const char *to, dx_link_format format, bool *changed);

/* The path of from after dx_workspace_move(ws, from, to), appended to out. */
int dx_workspace_move_target(const dx_workspace *ws, const char *from, const char *to, dx_buf *out,
                             dx_error *err);

/* Delete an entry: refused (DX_ECONFLICT) for an index with children; unlinked from its
 * parent first. */
int dx_workspace_delete(dx_workspace *ws, const char *rel, dx_error *err);

/* ---- validation -------------------------------------------------------------------------- */

typedef struct dx_issue {
    const char *kind; /* BrokenPartOf, BrokenContentsRef, BrokenAttachment, LinkOutsideWorkspace,
                         InvalidFrontmatter, OrphanFile, OrphanBinaryFile, MissingPartOf,
                         CircularReference, NonPortablePath, InvalidContentsRef,
                         UnclosedFrontmatter, MultipleIndexes, SymbolicLink */
    bool error;       /* error (true) or warning */
    char *file;       /* the file the issue is in or about */
    char *target;     /* the link or file it refers to, or NULL */
    char *suggestion; /* what --fix would use (an index, a path), or NULL */
    char *message;    /* one line for people */
} dx_issue;

typedef struct dx_report {
    dx_issue *items;
    size_t len;
    size_t files_checked;
} dx_report;

void dx_report_release(dx_report *r);

/* Check the whole workspace: every file reachable from the root, then orphans on disk
 * (hidden directories and .git, node_modules, target, build, dist are skipped). */
int dx_workspace_validate(dx_workspace *ws, dx_report *out, dx_error *err);
/* Check the attachment records of workspace document doc (edit.h, DX_BLOBS_MAP) against the
 * files on disk, appending to out (which dx_workspace_validate filled, or zeroed):
 * AttachmentMissing (error: no file at a recorded path), AttachmentChanged (error: the file's
 * SHA-256 is not the recorded one), AttachmentRecordInvalid (warning: a record that is not
 * {sha256, size, type}). Each file is read once. 0, DX_ENOMEM. */
typedef struct y_doc y_doc;
int dx_workspace_validate_attachments(dx_workspace *ws, y_doc *doc, dx_report *out, dx_error *err);
/* Apply the fix of every issue that has one; fixed and failed are filled with what
 * happened (messages). Each file is read and written once, whatever the number of its
 * issues. An issue counts as fixed only when its fix changed a file, so fixing a second
 * time fixes nothing. Issues without a fix (InvalidFrontmatter, UnclosedFrontmatter,
 * InvalidContentsRef, MultipleIndexes) are in neither list. 0, or DX_ENOMEM. */
int dx_workspace_fix(dx_workspace *ws, const dx_report *r, dx_strlist *fixed, dx_strlist *failed,
                     dx_error *err);
int dx_report_json(const dx_report *r, dx_buf *out);

/* ---- export, daily, search ------------------------------------------------------------- */

typedef struct dx_export_options {
    const char *audience; /* group name, or "*" for every non-private file */
    bool keep_audience;   /* keep the `audience` key in exported files */
    bool force;           /* write into an existing non-empty destination */
    bool dry_run;
} dx_export_options;

/* Copy the files visible to an audience to abs_dest (rules in docs/file-format.md);
 * excluded children are removed from exported `contents`. included/excluded receive
 * workspace-relative paths (excluded with a reason: "path (reason)"). */
int dx_workspace_export(const dx_workspace *ws, const char *abs_dest, const dx_export_options *opts,
                        dx_strlist *included, dx_strlist *excluded, dx_error *err);

/* Ensure the daily entry for date (YYYY-MM-DD) exists with its year and month indexes
 * under daily_folder (NULL/"" = the workspace root); its path goes to out; *created tells
 * whether it was new. Existing entries are never overwritten. */
int dx_workspace_daily(dx_workspace *ws, const char *date, const char *daily_folder, dx_buf *out,
                       bool *created, dx_error *err);

typedef struct dx_match {
    char *file;
    size_t line; /* 1-based; 0 for a property match */
    char *text;
} dx_match;

typedef struct dx_matches {
    dx_match *items;
    size_t len;
} dx_matches;

void dx_matches_release(dx_matches *m);
/* Case-insensitive search of every markdown file: in the body (property == NULL) or in
 * the value of one frontmatter property. */
int dx_workspace_search(const dx_workspace *ws, const char *pattern, const char *property,
                        dx_matches *out, dx_error *err);

/* The one rule for the path an entry may have (rel, workspace-relative and normalised): a
 * markdown file, not hidden, outside hidden directories (any component starting with `.`:
 * .git and .diaryx in any letter case among them) and the build directories the walk skips.
 * Every command that makes or moves an entry, the ingest of files found on disk, links in
 * frontmatter, the daily folder of the config and restore use it. DX_EPATH with a message
 * that names shown (the path as the user wrote it; rel when NULL) and says what to do. */
int dx_workspace_check_path(const char *rel, const char *shown, dx_error *err);
/* The same rule for a directory that will hold entries ("" is the root). */
int dx_workspace_check_dir(const char *rel, const char *shown, dx_error *err);

/* Whether diaryx manages the file at rel: dx_workspace_check_path accepts it (the files the
 * workspace walk finds). Other files in the workspace's git repository (attachments, code)
 * are the user's and history leaves them as they are. */
bool dx_workspace_manages(const char *rel);

/* Every markdown file on disk (sorted, hidden and build directories skipped). The walk
 * also removes the temporary files a killed writer left behind (".NAME.tmpPID" whose
 * process is gone). */
int dx_workspace_list_files(const dx_workspace *ws, bool markdown_only, dx_strlist *out,
                            dx_error *err);
/* Every symbolic link the same walk meets (sorted): diaryx never follows one, whether it
 * points inside the workspace or not; validate reports them. */
int dx_workspace_list_links(const dx_workspace *ws, dx_strlist *out, dx_error *err);

#endif
