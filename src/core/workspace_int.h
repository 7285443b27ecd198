/* workspace_int.h - internals shared by workspace.c, validate.c and export.c. */
#ifndef DX_WORKSPACE_INT_H
#define DX_WORKSPACE_INT_H

#include "diaryx/strmap.h"
#include "diaryx/workspace.h"

/* ---- where the files are ------------------------------------------------------------------
 * Every read of a workspace's files goes through a backend: the disk (the directory root,
 * confined: no symbolic link is followed) or a set of files held elsewhere (docfiles.c: the
 * files of a workspace's CRDT documents, rendered when read). Writes never reach a backend
 * other than the disk: such a workspace always stages. */

typedef enum dx_ws_kind { DX_WSK_FILE = 1, DX_WSK_DIR, DX_WSK_LINK, DX_WSK_OTHER } dx_ws_kind;

/* One name of a directory listing; nonzero stops the listing and is returned. */
typedef int (*dx_ws_entry_fn)(void *cb, const char *name, dx_ws_kind kind);

typedef struct dx_ws_backend {
    /* Append the bytes of the file at rel to out; DX_ENOTFOUND when there is none. */
    int (*read)(void *ud, const char *rel, dx_buf *out, dx_error *err);
    /* Like read, for a reader of the frontmatter alone: the body may be left out (rendering
     * it would load its document). NULL: read. */
    int (*read_head)(void *ud, const char *rel, dx_buf *out, dx_error *err);
    /* What is at rel: 0 with *kind, DX_ENOTFOUND, or DX_EPATH (message in err) when a
     * symbolic link is at rel or on its way. */
    int (*stat)(void *ud, const char *rel, dx_ws_kind *kind, dx_error *err);
    /* Call fn for every name in directory dir ("" = the root), hidden names included, in
     * no particular order. A directory that is not there lists nothing. 0, fn's nonzero
     * return, or DX_ENOMEM. */
    int (*list)(void *ud, const char *dir, dx_ws_entry_fn fn, void *cb);
    /* Free ud (NULL: the backend does not own it). */
    void (*free)(void *ud);
} dx_ws_backend;

/* The disk backend; its ud is the absolute directory (a const char *). */
extern const dx_ws_backend dx_ws_disk;

/* A workspace over the files of backend be (ud owned by the workspace from now on, freed
 * with be->free by dx_workspace_free, also when this fails), staging on: root (the label
 * dx_workspace_root returns) and the root index found as on disk (README.md, index.md, then
 * any root index by name), link format fmt. DX_ENOTFOUND when no root index is there. */
int dx_ws_open_backend(const dx_ws_backend *be, void *ud, const char *root, dx_link_format fmt,
                       dx_workspace **out, dx_error *err);

struct dx_workspace {
    const dx_ws_backend *be; /* where the files are read from (&dx_ws_disk: ud is root) */
    void *be_ud;
    char *root;      /* absolute directory, no trailing slash ("" when not on a disk) */
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
/* dx_workspace_read for a check that uses no body and writes nothing back (tree, validate,
 * titles of links): the parsed note may lack its body. */
int dx_ws_read_fm(const dx_workspace *ws, const char *rel, dx_fm **out, dx_error *err);

/* Directories never scanned for entries. */
bool dx_ws_skip_dir(const char *name);

/* The list-valued key as resolved canonical paths (unresolvable links are skipped); raw,
 * when not NULL, receives the matching links as written. */
int dx_ws_resolved_list(const dx_workspace *ws, const char *from_rel, const dx_fm *fm,
                        const char *key, dx_strlist *out, dx_strlist *raw);

#endif
