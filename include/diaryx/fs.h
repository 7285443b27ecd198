/* fs.h - small file-system helpers: whole-file reads, atomic writes, directories. */
#ifndef DX_FS_H
#define DX_FS_H

#include <dirent.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/stat.h>

#include "diaryx/buf.h"
#include "diaryx/error.h"
#include "diaryx/strmap.h"

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

/* ---- confined access: a file below a root directory, never through a symbolic link ----
 *
 * Every file diaryx reads, stats, lists, writes or removes inside a workspace goes through
 * these functions. root is an absolute directory the caller trusts (the workspace root;
 * links in root itself are followed). rel is relative to root, `/`-separated, and may not
 * hold `.`, `..` or empty components (as dx_path_normalize makes it; "" is root itself).
 * Every component of rel is opened with openat(O_NOFOLLOW) relative to the one before, so
 * neither a symbolic link anywhere on the way nor a directory renamed during the walk can
 * lead outside root. A link is refused with DX_EPATH and a message that names rel and says
 * what to do; a missing component is DX_ENOTFOUND; other failures DX_EIO. diaryx never
 * follows links, not even ones that point inside the workspace (docs/file-format.md). */

/* Append the file rel to out. st, when not NULL, receives fstat of the file taken after the
 * read; the read is repeated (a few times) while the file changes under it, so st always
 * describes the bytes returned. */
int dx_fs_read_in(const char *root, const char *rel, dx_buf *out, struct stat *st, dx_error *err);

/* lstat of rel without following any link. DX_EPATH when rel or a directory on its way is
 * a symbolic link. */
int dx_fs_stat_in(const char *root, const char *rel, struct stat *st, dx_error *err);

/* What the file at rel must be for a write to replace it (the check is made just before the
 * rename, on the file that is replaced). */
typedef struct dx_fs_expect {
    bool absent;       /* no file may be there (the write never replaces one) */
    const char *bytes; /* else, when not NULL: the file must hold exactly these bytes */
    size_t len;
    bool no_fsync; /* the bytes are durable elsewhere (a git blob): skip the fsync */
    /* Out: bytes another program wrote into the replaced file after the last check (the
     * window between the check and rename(2)): the whole replaced file, appended to late
     * when it is not NULL; *late_write is set. The caller must keep them (see session.c). */
    dx_buf *late;
    bool late_write;
} dx_fs_expect;

/* Write data to rel atomically (temporary file in the same directory, fsync, rename),
 * creating missing directories (mode 0755) without following links. With expect, the file
 * in the way is checked first: DX_ECONFLICT (nothing written) when it is not what expect
 * says. st, when not NULL, receives fstat of the new file. mode as dx_file_write_atomic. */
int dx_fs_write_in(const char *root, const char *rel, const void *data, size_t len, int mode,
                   dx_fs_expect *expect, struct stat *st, dx_error *err);

/* Remove the file rel; DX_ENOTFOUND when it is not there. With expect (bytes), only when it
 * holds those bytes (else DX_ECONFLICT); bytes written into it after the check are returned
 * as for dx_fs_write_in. */
int dx_fs_unlink_in(const char *root, const char *rel, dx_fs_expect *expect, dx_error *err);
/* Remove the directory rel when it is empty (else DX_ECONFLICT, quietly: err untouched). */
int dx_fs_rmdir_in(const char *root, const char *rel, dx_error *err);
/* mkdir -p of rel below root (mode 0755), refusing links on the way. */
int dx_fs_mkdirs_in(const char *root, const char *rel, dx_error *err);
/* Open directory rel (O_RDONLY | O_DIRECTORY) for *at() calls: the descriptor (>= 0, the
 * caller closes it) or a negative DX_E* code (DX_EPATH for a link on the way). */
int dx_fs_open_dir_in(const char *root, const char *rel, dx_error *err);
/* Open directory rel for readdir (closedir to close); NULL with errno set when it cannot be
 * opened or is a link (ELOOP/ENOTDIR). */
DIR *dx_fs_opendir_in(const char *root, const char *rel);

/* Atomic writes of many files with one flush to disk: each file is written to a temporary
 * file beside it, then dx_file_batch_commit makes them all durable at once (one syncfs
 * instead of an fsync per file, which costs a disk flush each: ~10 ms on a virtual disk,
 * 200 s for 20,000 files) and renames each into place. The guarantee is
 * dx_file_write_atomic's: a reader sees the old bytes or the new ones, never a mix. */
typedef struct dx_file_batch {
    char **tmp, **path; /* owned, relative to root; tmp[i] is "" once renamed or lost */
    dx_fs_expect *exp;  /* per file: checked just before its rename (bytes owned) */
    size_t n, cap;
    dx_strmap at; /* path -> index + 1 */
    char *root;   /* the directory every path is relative to (set by the first write) */
    char *cdir;   /* the directory of the last file reached (NULL: none), open as cfd */
    int cfd;
} dx_file_batch;

#define DX_FILE_BATCH_INIT                                                                         \
    {                                                                                              \
        NULL, NULL, NULL, 0, 0, DX_STRMAP_INIT, NULL, NULL, -1                                     \
    }

/* Write data to a temporary file beside root/rel (mode as for dx_file_write_atomic); every
 * write of a batch has the same root. The file appears at rel at the commit. Writing one
 * path twice keeps the second bytes. The caller makes the directory with dx_fs_mkdirs_in;
 * the batch reaches it again from root one component at a time without following a link
 * (O_NOFOLLOW, as dx_fs_write_in), to write, flush, rename and remove, so a directory
 * swapped for a link meanwhile is never followed (DX_EPATH). expect (NULL: none) is checked
 * on the file in the way just before the rename, as dx_fs_write_in does; st (NULL: not
 * wanted) receives the new file's stat. */
int dx_file_batch_write(dx_file_batch *b, const char *root, const char *rel, const void *data,
                        size_t len, int mode, const dx_fs_expect *expect, struct stat *st,
                        dx_error *err);
/* What became of file i (in the order first written): rc 0 (in place; late, when not NULL,
 * holds what another program wrote into the replaced file meanwhile, see dx_fs_expect),
 * DX_ECONFLICT or DX_EPATH (the file in the way was not what expect said, or a link: left
 * alone). */
typedef void (*dx_file_batch_done)(void *ud, size_t i, int rc, const dx_buf *late);
/* Flush the temporary files to disk and rename each into place, in the order written,
 * calling done (may be NULL) for each. On failure the files not renamed yet keep their old
 * bytes (their temporary files are removed). The batch is empty afterwards either way. */
int dx_file_batch_commit(dx_file_batch *b, dx_file_batch_done done, void *ud, dx_error *err);
/* Drop the batch: temporary files not committed are removed. NULL is fine. */
void dx_file_batch_release(dx_file_batch *b);

#endif
