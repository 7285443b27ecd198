/* ignore.h - which workspace paths diaryx leaves alone: git's ignore rules and the
 * workspace's `exclude` globs.
 *
 * The git rules are git's own (.gitignore files at every level, .git/info/exclude, the global
 * excludes file), read through libgit2. The `exclude` globs (glob rules in paths.h) come from
 * the root index's frontmatter key `exclude` (a list, shared with every copy of the workspace)
 * and from the key `exclude` of the workspace config `.diaryx/config.toml` (this machine
 * only); a glob is tested against a path and against its file name, and against every
 * directory on the way (so the glob "drafts" leaves out everything below drafts/).
 *
 * diaryx takes in no ignored or excluded file: the scan does not import one and a command does
 * not make one an entry, so a commit never records it; validate does not report one. As in git,
 * the rules do not apply to what is already tracked: an entry whose path becomes ignored stays
 * an entry and stays in the history (delete it to drop it).
 * A directory found ignored is remembered, so the files below it cost no further lookup. */
#ifndef DX_IGNORE_H
#define DX_IGNORE_H

#include <stdbool.h>

#include "diaryx/error.h"
#include "diaryx/strlist.h"

typedef struct dx_ignore dx_ignore;
typedef struct dx_workspace dx_workspace;

/* The git ignore rules of the repository at root (absolute), no globs. A workspace without a
 * repository ignores nothing (*out is still made). */
int dx_ignore_open(const char *root, dx_ignore **out, dx_error *err);

/* The git rules of the workspace's repository and its `exclude` globs (root index and
 * .diaryx/config.toml, see above). An `exclude` that is not a list of strings: DX_EINVAL
 * naming the file; a config that does not parse: DX_EPARSE. */
int dx_ignore_open_workspace(const dx_workspace *ws, dx_ignore **out, dx_error *err);

/* Add copies of n globs to the rules. 0 or DX_ENOMEM. */
int dx_ignore_add_globs(dx_ignore *ig, char *const *globs, size_t n, dx_error *err);

void dx_ignore_free(dx_ignore *ig);

/* Whether the workspace-relative file path rel is ignored or excluded (itself or a directory
 * above). */
bool dx_ignore_path(dx_ignore *ig, const char *rel);

/* Drop from files (workspace-relative paths, order kept) those the workspace ignores or
 * excludes (dx_ignore_open_workspace + dx_ignore_path). */
int dx_ignore_filter_workspace(const dx_workspace *ws, dx_strlist *files, dx_error *err);

#endif
