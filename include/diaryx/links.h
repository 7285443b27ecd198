/* links.h - the links in `part_of`, `contents` and `attachments`: parse every accepted
 * form, resolve to a canonical workspace-relative path, and write in a link format.
 *
 * Accepted forms (docs/file-format.md):
 *   [Title](/Folder/file.md)      markdown link, workspace-root path
 *   [Title](</My Folder/a b.md>)  markdown link, angle-bracket URL (spaces, parentheses)
 *   [Title](../index.md)          markdown link, relative path
 *   /Folder/file.md               plain root path
 *   ./a.md, ../index.md           plain relative path
 *   Folder/file.md, child.md      ambiguous: root-relative in the markdown_root and
 *                                 plain_canonical formats, file-relative otherwise
 * Canonical paths are workspace-relative, `/`-separated, without a leading `/`. */
#ifndef DX_LINKS_H
#define DX_LINKS_H

#include <stdbool.h>

#include "diaryx/buf.h"
#include "diaryx/error.h"

typedef enum dx_link_format {
    DX_LINK_MARKDOWN_ROOT = 0, /* [Title](/path.md) - the default */
    DX_LINK_MARKDOWN_RELATIVE, /* [Title](../path.md) */
    DX_LINK_PLAIN_RELATIVE,    /* ../path.md */
    DX_LINK_PLAIN_CANONICAL,   /* path.md (from the root) */
} dx_link_format;

typedef enum dx_link_kind {
    DX_LINK_KIND_ROOT,      /* starts with `/` */
    DX_LINK_KIND_RELATIVE,  /* starts with `./` or `../` (or is `.`/`..`) */
    DX_LINK_KIND_AMBIGUOUS, /* anything else */
} dx_link_kind;

typedef struct dx_link {
    char *title; /* markdown link text, or NULL for plain paths */
    char *path;  /* the path as written (angle brackets removed) */
    dx_link_kind kind;
} dx_link;

#define DX_LINK_INIT                                                                               \
    {                                                                                              \
        NULL, NULL, DX_LINK_KIND_AMBIGUOUS                                                         \
    }

/* Parse one link. DX_EPARSE for an empty string. *out owns its strings. */
int dx_link_parse(const char *s, dx_link *out);
void dx_link_release(dx_link *l);

/* Resolve a link written in the file at from_file (workspace-relative) to a canonical path,
 * appended to out. DX_EPATH when it leaves the workspace, DX_EPARSE when empty. */
int dx_link_resolve(const char *link, const char *from_file, dx_link_format fmt, dx_buf *out,
                    dx_error *err);

/* Write a link to target (canonical) from the file from_file, in format fmt. title may be
 * NULL (derived from the path). */
int dx_link_write(const char *target, const char *from_file, const char *title, dx_link_format fmt,
                  dx_buf *out);

/* Parse a format name: markdown_root, markdown_relative, plain_relative, plain_canonical
 * (also without underscores, any case). DX_EINVAL when unknown. */
int dx_link_format_parse(const char *name, dx_link_format *out);
const char *dx_link_format_name(dx_link_format fmt);

/* A display title from a path: the file stem with `_`/`-` as spaces and each word's first
 * letter upper-cased ("utility_index.md" -> "Utility Index", "README.md" -> "README"). */
int dx_title_from_path(const char *path, dx_buf *out);

#endif
