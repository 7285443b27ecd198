/* paths.h - workspace-relative path arithmetic: normalise, join, split, relate.
 *
 * Workspace-relative paths use `/`, have no leading `/`, and never leave the workspace
 * root: a `..` that would climb above it is an error (DX_EPATH), not silently dropped.
 * All functions are pure string operations (no file-system access) and append to out. */
#ifndef DX_PATHS_H
#define DX_PATHS_H

#include <stdbool.h>

#include "diaryx/buf.h"
#include "diaryx/error.h"

/* Lexically normalise a workspace-relative path: drop `.` components, empty components
 * and a leading `/`, resolve `..`. DX_EPATH ("'x' leaves the workspace") when `..` climbs
 * above the root. The empty path (the root itself) is "". */
int dx_path_normalize(const char *path, dx_buf *out, dx_error *err);

/* Join a directory and a relative path, then normalise (as above). */
int dx_path_join(const char *dir, const char *rel, dx_buf *out, dx_error *err);

/* The directory part ("" for a top-level file) and the last component. */
int dx_path_dirname(const char *path, dx_buf *out);
const char *dx_path_basename(const char *path);
/* The base name without its extension ("notes/a.md" -> "a"). */
int dx_path_stem(const char *path, dx_buf *out);
/* Whether the path ends in ".md" (case-insensitive). */
bool dx_path_is_markdown(const char *path);

/* The relative path from directory from_dir to path (both workspace-relative,
 * normalised): common prefix, then `..` per remaining component. */
int dx_path_relative(const char *from_dir, const char *path, dx_buf *out);

/* The workspace-relative form of an absolute (or cwd-relative) file-system path under
 * root (absolute). DX_EPATH when it is outside root. Symlinks are not resolved. */
int dx_path_under_root(const char *root, const char *fs_path, dx_buf *out, dx_error *err);

/* ---- exclude globs (the root index's `exclude` list, as the original diaryx reads it) ----
 * `*` matches any run of characters within one path component (not `/`), `?` one character
 * other than `/`, `**` any run including `/`; `**` followed by `/` also matches no directory
 * at all (the pattern made of `a/`, `**`, `/b` matches "a/b" and "a/x/y/b"). Every other
 * character matches itself (a pattern without wildcards matches one exact name). A leading
 * "./" or "/" and a trailing "/" of the pattern are dropped. Patterns longer than DX_GLOB_MAX bytes
 * match nothing. Pure functions: no allocation, time O(pattern x path). */
#define DX_GLOB_MAX 256

/* Whether the whole of path matches pattern. */
bool dx_path_glob_match(const char *pattern, const char *path);

/* Whether any of the n patterns matches the workspace-relative path rel or its last
 * component (its file or directory name). */
bool dx_path_excluded(char *const *patterns, size_t n, const char *rel);

#endif
