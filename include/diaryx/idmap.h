/* idmap.h - the entry id of each path of a workspace, kept beside the CRDT store in
 * `.diaryx/ids`, so that a CRDT built again from the files (a store that is no database any
 * more, a rebuild from git) gives every entry its old id back. A new id per entry would make
 * a sync peer see every entry twice.
 *
 * The file has one line per entry, "<id> <workspace-relative path>\n" (the id is a UUID: 36
 * characters), in no particular order; a later line about a path replaces an earlier one, and
 * a line whose id is 36 '-' says the path has no entry any more. A commit of the changes
 * appends the lines of the paths it touched (O(changes)); a full commit, or a file grown to
 * about twice its size, rewrites it whole. A rebuild writes it from what the old store still
 * knows. It is read only when a new store is imported from the files. Lines that hold no
 * valid id, and a torn last line, are ignored. */
#ifndef DX_IDMAP_H
#define DX_IDMAP_H

#include "diaryx/error.h"
#include "diaryx/strmap.h"

/* The file, relative to the workspace root. */
#define DX_IDMAP_FILE ".diaryx/ids"

/* Read the table of root's `.diaryx/ids` into out (path -> id, both owned by the map:
 * release with dx_idmap_release; later lines replace earlier ones). A missing file reads as
 * empty and is no error; DX_EIO or DX_ENOMEM else. */
int dx_idmap_read(const char *root, dx_strmap *out, dx_error *err);

/* Write map (path -> id as const char *; paths holding a newline are left out) to root's
 * `.diaryx/ids`, atomically (a temporary file renamed over it, without fsync: it is a hint).
 * The caller holds the workspace's commit lock (one writer at a time). */
int dx_idmap_write(const char *root, const dx_strmap *map, dx_error *err);

/* Append the lines of n paths to root's `.diaryx/ids`: ids[i] is the entry of paths[i] now,
 * or NULL when it has none (paths holding a newline are left out). One write(2), no fsync:
 * the table is a hint, and a torn last line is ignored. */
int dx_idmap_append(const char *root, const char *const *paths, const char *const *ids, size_t n,
                    dx_error *err);

/* Set path to a copy of id in a map read by dx_idmap_read (replacing and freeing an older
 * value). 0 or DX_ENOMEM. */
int dx_idmap_put(dx_strmap *m, const char *path, const char *id);

/* Free the values and the map of dx_idmap_read. */
void dx_idmap_release(dx_strmap *m);

#endif
