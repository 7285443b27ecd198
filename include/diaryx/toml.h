/* toml.h - a strict TOML subset for config.toml: parse, query, edit, write.
 *
 * Accepted: comments, blank lines, `key = value` with bare keys [A-Za-z0-9_-]+ or quoted
 * keys, basic strings (all TOML escapes), literal strings, decimal integers (sign and `_`
 * between digits, int64 range), true/false, arrays of strings (over several lines, with a
 * trailing comma and comments), and [table] headers. Everything else is rejected with a
 * line:column error rather than half-understood: floats, dates, inline tables, dotted keys,
 * multi-line strings, arrays of tables, other arrays, duplicate keys or tables.
 * Entries keep their file order (tables in order of appearance), so a file read and written
 * back keeps its shape (comments are not kept). Pure functions over bytes; no I/O. */
#ifndef DX_TOML_H
#define DX_TOML_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "diaryx/buf.h"
#include "diaryx/error.h"
#include "diaryx/strlist.h"

typedef enum dx_toml_type { DX_TOML_STRING, DX_TOML_INT, DX_TOML_BOOL, DX_TOML_ARRAY } dx_toml_type;

typedef struct dx_toml_value {
    dx_toml_type type;
    char *str;      /* DX_TOML_STRING */
    int64_t i;      /* DX_TOML_INT */
    bool b;         /* DX_TOML_BOOL */
    dx_strlist arr; /* DX_TOML_ARRAY (of strings) */
} dx_toml_value;

typedef struct dx_toml_entry {
    char *table; /* "" for the root table */
    char *key;
    dx_toml_value value;
} dx_toml_entry;

typedef struct dx_toml {
    dx_toml_entry *entries;
    size_t len;
    dx_strlist tables; /* every table name in order of appearance, empty ones included */
} dx_toml;

#define DX_TOML_INIT                                                                               \
    {                                                                                              \
        NULL, 0, DX_STRLIST_INIT                                                                   \
    }

/* Parse text. name is used in messages: "cannot parse 'NAME' (line L, column C): ...".
 * *out must be DX_TOML_INIT or released; it is empty on failure. */
int dx_toml_parse(const char *text, size_t len, const char *name, dx_toml *out, dx_error *err);
void dx_toml_release(dx_toml *t);

/* The value of table.key (table "" = root), or NULL. Borrowed. */
const dx_toml_value *dx_toml_get(const dx_toml *t, const char *table, const char *key);

/* Set a value (replacing in place, or appended at the end of its table). */
int dx_toml_set_string(dx_toml *t, const char *table, const char *key, const char *value);
int dx_toml_set_int(dx_toml *t, const char *table, const char *key, int64_t value);
int dx_toml_set_bool(dx_toml *t, const char *table, const char *key, bool value);
int dx_toml_set_array(dx_toml *t, const char *table, const char *key, const dx_strlist *value);
/* Remove table.key; DX_ENOTFOUND when absent. */
int dx_toml_remove(dx_toml *t, const char *table, const char *key);

/* Write as TOML: root keys first, then each table with its keys, in stored order. */
int dx_toml_write(const dx_toml *t, dx_buf *out);

#endif
