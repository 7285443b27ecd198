/* idmap.h - the entry id of each path of a workspace, kept beside the CRDT store in
 * `.diaryx/ids`, so that a CRDT built again from the files (a store that is no database any
 * more, a rebuild from git) gives every entry its old id back. A new id per entry would make
 * a sync peer see every entry twice.
 *
 * The file has one line per entry, "<id> <workspace-relative path>\n" (the id is a UUID: 36
 * characters), in no particular order. It is written after each commit (the committed
 * entries) and by a rebuild (what the old store still knows); it is read only when a new
 * store is imported from the files. Lines that do not hold a valid id are ignored. */
#ifndef DX_IDMAP_H
#define DX_IDMAP_H

#include "diaryx/error.h"
#include "diaryx/strmap.h"

/* The file, relative to the workspace root. */
#define DX_IDMAP_FILE ".diaryx/ids"

/* Add the table of root's `.diaryx/ids` to out (path -> id, both owned by the map: release
 * with dx_idmap_release); an existing key keeps its value. A missing file adds nothing and
 * is no error; DX_EIO or DX_ENOMEM else. */
int dx_idmap_read(const char *root, dx_strmap *out, dx_error *err);

/* Write map (path -> id as const char *; paths holding a newline are left out) to root's
 * `.diaryx/ids`, atomically. */
int dx_idmap_write(const char *root, const dx_strmap *map, dx_error *err);

/* Set path to a copy of id in a map read by dx_idmap_read (replacing and freeing an older
 * value). 0 or DX_ENOMEM. */
int dx_idmap_put(dx_strmap *m, const char *path, const char *id);

/* Free the values and the map of dx_idmap_read. */
void dx_idmap_release(dx_strmap *m);

#endif
