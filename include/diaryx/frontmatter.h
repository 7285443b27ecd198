/* frontmatter.h - split a note into YAML frontmatter and body, read and edit the
 * frontmatter keeping key order and value styles, and write the note back.
 *
 * File format (docs/file-format.md): a note has frontmatter only when its first line is
 * exactly `---` (LF or CRLF). The frontmatter ends at the next line that is exactly `---`
 * (also at the end of the file without a newline). The body is every byte after that
 * closing line. A file whose first line is `---` but which has no closing line is treated
 * as having no frontmatter (the whole text is the body), and dx_fm_parse reports it in
 * dx_fm_unclosed() so validation can warn.
 *
 * A parsed note (dx_fm) owns an ordered list of top-level keys. Each value keeps the style
 * it was written in (plain, quoted, literal, flow or block list), so writing back a note
 * changes only what was edited. Explicit tags (`!custom x`, `!!binary ...`) are kept and
 * written back (in `!name`, `!!name` or `!<...>` form; a tagged collection in flow style);
 * anchors and aliases are expanded (the values are kept, the anchor names are not).
 * Values written through this API are quoted when YAML would read them as another type
 * (`yes`, `null`, `''`, `1.0`, dates, ...). Comments are not kept (libyaml does not report
 * them).
 *
 * Parsing is a pure function over bytes; no I/O happens here. */
#ifndef DX_FRONTMATTER_H
#define DX_FRONTMATTER_H

#include <stdbool.h>
#include <stddef.h>

#include "diaryx/buf.h"
#include "diaryx/error.h"
#include "diaryx/strlist.h"

typedef struct dx_fm dx_fm;

/* Where the parts of a note are, as byte offsets into the text. */
typedef struct dx_fm_split {
    bool has_frontmatter; /* opening and closing `---` lines found */
    bool unclosed;        /* opening `---` found but no closing line */
    bool crlf;            /* the opening line ends in CRLF */
    size_t yaml_start, yaml_len;
    size_t body_start;
} dx_fm_split;

/* Locate frontmatter and body. Never fails. */
void dx_fm_split_text(const char *text, size_t len, dx_fm_split *out);

/* Parse a whole note. name is used in error messages (a path, or "<stdin>"). Malformed
 * YAML -> DX_EPARSE "cannot parse frontmatter of 'NAME' (line L, column C): PROBLEM" with
 * lines counted in the whole file (1-based). A top level that is not a mapping, duplicate
 * keys, a tag on a key or on the mapping, and alias bombs are errors too. *out is owned by
 * the caller (dx_fm_free). */
int dx_fm_parse(const char *text, size_t len, const char *name, dx_fm **out, dx_error *err);

/* A new empty note (no frontmatter, empty body). */
int dx_fm_new(dx_fm **out);
void dx_fm_free(dx_fm *fm);

/* Whether the parsed file had a frontmatter block / an unclosed one. */
bool dx_fm_present(const dx_fm *fm);
bool dx_fm_unclosed(const dx_fm *fm);

/* A note's line ending is the one of its first line: with CRLF, dx_fm_parse hands out the
 * body with LF line ends (every CRLF becomes LF) and dx_fm_write writes every LF of the
 * frontmatter and the body as CRLF, so a CRLF note stays CRLF throughout (also the lines an
 * edit adds). dx_fm_set_crlf chooses the ending of a note built with dx_fm_new (LF). */
bool dx_fm_crlf(const dx_fm *fm);
void dx_fm_set_crlf(dx_fm *fm, bool crlf);

typedef enum dx_fm_kind {
    DX_FM_ABSENT,
    DX_FM_NULL,   /* `key:` or `key: null` or `~` */
    DX_FM_SCALAR, /* any other scalar */
    DX_FM_LIST,
    DX_FM_MAP,
} dx_fm_kind;

size_t dx_fm_count(const dx_fm *fm);
/* The i-th key in file order (borrowed), or NULL past the end. */
const char *dx_fm_key(const dx_fm *fm, size_t i);
dx_fm_kind dx_fm_kind_of(const dx_fm *fm, const char *key);
bool dx_fm_has(const dx_fm *fm, const char *key);

/* The value as a string, leniently: a scalar's text, the first scalar of a list; NULL
 * for absent, null, maps and empty lists. Borrowed, valid until the next edit. */
const char *dx_fm_get(const dx_fm *fm, const char *key);
/* The value as a list of strings appended to out: a list's scalar items, or a single
 * scalar as one item; nothing for absent/null. 0 or DX_ENOMEM. */
int dx_fm_get_list(const dx_fm *fm, const char *key, dx_strlist *out);
/* The value as JSON text (scalars typed as YAML 1.2 core schema would read them, plain
 * only; quoted scalars are strings). Appended to out. DX_ENOTFOUND when absent. */
int dx_fm_get_json(const dx_fm *fm, const char *key, dx_buf *out);
/* The value as JSON when JSON holds it exactly: dx_fm_set_json of that JSON gives back
 * the same value - no tags anywhere, no plain scalar that JSON would write differently
 * (`1.50`, `0x1F`, `yes`, `2024-01-15`, an empty null), no non-string or duplicate map
 * keys. DX_EUNSUPPORTED when it does not, DX_ENOTFOUND when absent. */
int dx_fm_get_json_exact(const dx_fm *fm, const char *key, dx_buf *out);
/* Whether the value is a string by every YAML reading: untagged, and quoted, a block
 * scalar, or plain text that is no null, bool, number or date (`12`, `yes`, `~` are not). */
bool dx_fm_is_string(const dx_fm *fm, const char *key);
/* Whether the value is a list (possibly empty) of such strings. */
bool dx_fm_is_string_list(const dx_fm *fm, const char *key);
/* The value as YAML text in its own style (tags kept; anchors expanded), without the final
 * newline. DX_ENOTFOUND. */
int dx_fm_get_yaml(const dx_fm *fm, const char *key, dx_buf *out);

/* Set key to a string (keeps the key's position; appended when new). */
int dx_fm_set(dx_fm *fm, const char *key, const char *value);
/* Set key to a list of strings, written in block style. */
int dx_fm_set_list(dx_fm *fm, const char *key, const dx_strlist *items);
/* Set key from a YAML snippet (`[a, b]`, `42`, `"text"`, `{a: 1}`). DX_EPARSE with the
 * problem when the snippet is not valid YAML. */
int dx_fm_set_yaml(dx_fm *fm, const char *key, const char *yaml, dx_error *err);
/* Set key from JSON text (objects, arrays, strings, numbers, booleans, null). */
int dx_fm_set_json(dx_fm *fm, const char *key, const char *json, dx_error *err);
/* Remove key; DX_ENOTFOUND when absent. */
int dx_fm_remove(dx_fm *fm, const char *key);
/* Rename a key in place; DX_ENOTFOUND / DX_EEXIST. */
int dx_fm_rename(dx_fm *fm, const char *old_key, const char *new_key);
/* Move key to position index (clamped) in the key order. */
int dx_fm_move(dx_fm *fm, const char *key, size_t index);

/* The body (borrowed), and replacing it. */
const char *dx_fm_body(const dx_fm *fm, size_t *len);
int dx_fm_set_body(dx_fm *fm, const char *body, size_t len);

/* Write the whole note: `---` + YAML + `---` + body (line ends as dx_fm_crlf says).
 * A note without keys that had no frontmatter is written as its body only. */
int dx_fm_write(const dx_fm *fm, dx_buf *out, dx_error *err);

/* Whether a string must be quoted to stay a string in YAML (empty, keyword or number
 * look-alike, date, leading/trailing space, indicator characters, ": ", " #"). */
bool dx_yaml_needs_quotes(const char *s);

#endif
