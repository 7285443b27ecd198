/* ignore.h - which workspace paths the user told git to ignore.
 *
 * The rules are git's own (.gitignore files at every level, .git/info/exclude, the global
 * excludes file), read through libgit2. diaryx takes in no ignored file: the scan does not
 * import one and a command does not make one an entry, so a commit never records it. As
 * in git, the rules do not apply to what is already tracked: an entry whose path becomes
 * ignored stays an entry and stays in the history (delete it to drop it).
 * A directory found ignored is remembered, so the files below it cost no further lookup. */
#ifndef DX_IGNORE_H
#define DX_IGNORE_H

#include <stdbool.h>

#include "diaryx/error.h"

typedef struct dx_ignore dx_ignore;

/* The ignore rules of the git repository at root (absolute). A workspace without a
 * repository ignores nothing (*out is still made). */
int dx_ignore_open(const char *root, dx_ignore **out, dx_error *err);
void dx_ignore_free(dx_ignore *ig);

/* Whether the workspace-relative file path rel is ignored (itself or a directory above). */
bool dx_ignore_path(dx_ignore *ig, const char *rel);

#endif
