/* fs.h - small file-system helpers: whole-file reads, atomic writes, directories. */
#ifndef DX_FS_H
#define DX_FS_H

#include <stdbool.h>
#include <stddef.h>

#include "diaryx/buf.h"
#include "diaryx/error.h"

/* Append the whole file at path to out. DX_ENOTFOUND when it does not exist, DX_EIO else. */
int dx_file_read(const char *path, dx_buf *out, dx_error *err);

/* Write data to path atomically: a temporary file in the same directory, fsync, rename.
 * A reader never sees a half-written file; on failure the old file is untouched.
 * mode is the permission of a new file (e.g. 0644). */
int dx_file_write_atomic(const char *path, const void *data, size_t len, int mode, dx_error *err);

/* mkdir -p (mode 0755). Succeeds when the directory already exists. */
int dx_mkdirs(const char *path, dx_error *err);

bool dx_path_exists(const char *path);
bool dx_is_dir(const char *path);
bool dx_is_file(const char *path);

#endif
