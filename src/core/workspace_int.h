/* workspace_int.h - internals shared by workspace.c, validate.c and export.c. */
#ifndef DX_WORKSPACE_INT_H
#define DX_WORKSPACE_INT_H

#include "diaryx/workspace.h"

struct dx_workspace {
    char *root;      /* absolute directory, no trailing slash */
    char *root_file; /* workspace-relative root index */
    dx_link_format format;
};

/* Directories never scanned for entries. */
bool dx_ws_skip_dir(const char *name);

/* The list-valued key as resolved canonical paths (unresolvable links are skipped); raw,
 * when not NULL, receives the matching links as written. */
int dx_ws_resolved_list(const dx_workspace *ws, const char *from_rel, const dx_fm *fm,
                        const char *key, dx_strlist *out, dx_strlist *raw);

#endif
