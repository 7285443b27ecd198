/* workspace_int.h - internals shared by workspace.c, validate.c and export.c. */
#ifndef DX_WORKSPACE_INT_H
#define DX_WORKSPACE_INT_H

#include "diaryx/strmap.h"
#include "diaryx/workspace.h"

struct dx_workspace {
    char *root;      /* absolute directory, no trailing slash */
    char *root_file; /* workspace-relative root index */
    dx_link_format format;
    bool staging;      /* file changes go to `staged` instead of the disk */
    dx_staged *staged; /* in order of first change */
    size_t n_staged, cap_staged;
    dx_strmap staged_at; /* path -> index into staged, plus one (a large move or fix stages
                            thousands of files; each read looks its path up here) */
    dx_workspace_source_fn source; /* staging: what a read of an unstaged file returns */
    void *source_ud;
};

/* File access through the staging area: a staged file wins over the disk, a staged removal
 * hides the disk file. Writes and removals go to the disk when staging is off. */
int dx_ws_read_bytes(const dx_workspace *ws, const char *rel, dx_buf *out, dx_error *err);
int dx_ws_write_bytes(dx_workspace *ws, const char *rel, const char *data, size_t len,
                      dx_error *err);
int dx_ws_remove(dx_workspace *ws, const char *rel, dx_error *err);
bool dx_ws_exists(const dx_workspace *ws, const char *rel);

/* Directories never scanned for entries. */
bool dx_ws_skip_dir(const char *name);

/* The list-valued key as resolved canonical paths (unresolvable links are skipped); raw,
 * when not NULL, receives the matching links as written. */
int dx_ws_resolved_list(const dx_workspace *ws, const char *from_rel, const dx_fm *fm,
                        const char *key, dx_strlist *out, dx_strlist *raw);

#endif
