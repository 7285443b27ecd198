/* toml.c - strict TOML subset parser and writer for config.toml; no I/O. */
#include "diaryx/toml.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct parser {
    const char *s, *p, *end;
    const char *name;
    dx_error *err;
    int rc;
} parser;

static int fail(parser *ps, const char *at, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Line and column (1-based, columns in bytes) of position at. */
static int fail(parser *ps, const char *at, const char *fmt, ...)
{
    if (ps->rc)
        return ps->rc;
    size_t line = 1, col = 1;
    for (const char *q = ps->s; q < at && q < ps->end; q++) {
        if (*q == '\n') {
            line++;
            col = 1;
        } else {
            col++;
        }
    }
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    ps->rc = dx_error_set(ps->err, DX_EPARSE, "cannot parse '%s' (line %zu, column %zu): %s",
                          ps->name, line, col, msg);
    return ps->rc;
}

static void value_release(dx_toml_value *v)
{
    free(v->str);
    dx_strlist_release(&v->arr);
    memset(v, 0, sizeof *v);
}

void dx_toml_release(dx_toml *t)
{
    if (!t)
        return;
    for (size_t i = 0; i < t->len; i++) {
        free(t->entries[i].table);
        free(t->entries[i].key);
        value_release(&t->entries[i].value);
    }
    free(t->entries);
    t->entries = NULL;
    t->len = 0;
    dx_strlist_release(&t->tables);
}

static long find(const dx_toml *t, const char *table, const char *key)
{
    for (size_t i = 0; i < t->len; i++)
        if (!strcmp(t->entries[i].table, table) && !strcmp(t->entries[i].key, key))
            return (long)i;
    return -1;
}

const dx_toml_value *dx_toml_get(const dx_toml *t, const char *table, const char *key)
{
    long i = find(t, table, key);
    return i < 0 ? NULL : &t->entries[i].value;
}

/* Append an entry, or insert it after the last entry of its table (keeps tables whole).
 * Takes ownership of v. */
static int add_entry(dx_toml *t, const char *table, const char *key, dx_toml_value *v)
{
    dx_toml_entry *e = realloc(t->entries, (t->len + 1) * sizeof *e);
    if (!e)
        return DX_ENOMEM;
    t->entries = e;
    size_t at = t->len;
    for (size_t i = t->len; i-- > 0;)
        if (!strcmp(e[i].table, table)) {
            at = i + 1;
            break;
        }
    if (at == t->len && table[0] == 0) {
        /* A new root key goes before the first table. */
        at = 0;
        while (at < t->len && e[at].table[0] == 0)
            at++;
    }
    if (table[0] && dx_strlist_find(&t->tables, table) < 0 && dx_strlist_push(&t->tables, table))
        return DX_ENOMEM;
    char *tb = strdup(table), *k = strdup(key);
    if (!tb || !k) {
        free(tb);
        free(k);
        return DX_ENOMEM;
    }
    memmove(e + at + 1, e + at, (t->len - at) * sizeof *e);
    e[at].table = tb;
    e[at].key = k;
    e[at].value = *v;
    memset(v, 0, sizeof *v);
    t->len++;
    return 0;
}

/* ---- lexing helpers ------------------------------------------------------------------- */

static void skip_ws(parser *ps)
{
    while (ps->p < ps->end && (*ps->p == ' ' || *ps->p == '\t'))
        ps->p++;
}

/* Skip a comment up to (not including) the newline; control characters are refused. */
static int skip_comment(parser *ps)
{
    if (ps->p < ps->end && *ps->p == '#') {
        while (ps->p < ps->end && *ps->p != '\n') {
            unsigned char c = (unsigned char)*ps->p;
            if ((c < 0x20 && c != '\t' &&
                 !(c == '\r' && ps->p + 1 < ps->end && ps->p[1] == '\n')) ||
                c == 0x7f)
                return fail(ps, ps->p, "control character in a comment");
            ps->p++;
        }
    }
    return 0;
}

/* At the end of a line: optional whitespace and comment, then newline or end of input. */
static int expect_eol(parser *ps)
{
    skip_ws(ps);
    if (skip_comment(ps))
        return ps->rc;
    if (ps->p >= ps->end)
        return 0;
    if (*ps->p == '\n') {
        ps->p++;
        return 0;
    }
    if (*ps->p == '\r' && ps->p + 1 < ps->end && ps->p[1] == '\n') {
        ps->p += 2;
        return 0;
    }
    return fail(ps, ps->p, "expected the end of the line, found '%c'", *ps->p);
}

static bool is_bare(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '-';
}

/* Length of the valid UTF-8 character at p (1..4), or 0. */
static int utf8_len(const unsigned char *p, const unsigned char *end)
{
    unsigned c = p[0];
    int n;
    unsigned cp;
    if (c < 0x80)
        return 1;
    if (c >= 0xc2 && c <= 0xdf)
        n = 2, cp = c & 0x1f;
    else if (c >= 0xe0 && c <= 0xef)
        n = 3, cp = c & 0x0f;
    else if (c >= 0xf0 && c <= 0xf4)
        n = 4, cp = c & 0x07;
    else
        return 0;
    if (end - p < n)
        return 0;
    for (int i = 1; i < n; i++) {
        if ((p[i] & 0xc0) != 0x80)
            return 0;
        cp = (cp << 6) | (p[i] & 0x3f);
    }
    if ((n == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
        (n == 4 && (cp < 0x10000 || cp > 0x10ffff)))
        return 0;
    return n;
}

static int put_utf8(dx_buf *b, unsigned long cp)
{
    char u[4];
    int n;
    if (cp < 0x80)
        u[0] = (char)cp, n = 1;
    else if (cp < 0x800)
        u[0] = (char)(0xc0 | (cp >> 6)), u[1] = (char)(0x80 | (cp & 0x3f)), n = 2;
    else if (cp < 0x10000)
        u[0] = (char)(0xe0 | (cp >> 12)), u[1] = (char)(0x80 | ((cp >> 6) & 0x3f)),
        u[2] = (char)(0x80 | (cp & 0x3f)), n = 3;
    else
        u[0] = (char)(0xf0 | (cp >> 18)), u[1] = (char)(0x80 | ((cp >> 12) & 0x3f)),
        u[2] = (char)(0x80 | ((cp >> 6) & 0x3f)), u[3] = (char)(0x80 | (cp & 0x3f)), n = 4;
    return dx_buf_append(b, u, (size_t)n);
}

/* A basic "..." or literal '...' string at ps->p, appended to out. */
static int parse_string(parser *ps, dx_buf *out)
{
    char q = *ps->p;
    const char *start = ps->p;
    if (ps->end - ps->p >= 3 && ps->p[1] == q && ps->p[2] == q)
        return fail(ps, start, "multi-line strings are not supported");
    ps->p++;
    while (ps->p < ps->end) {
        unsigned char c = (unsigned char)*ps->p;
        if (c == (unsigned char)q) {
            ps->p++;
            return dx_buf_append(out, "", 0) ? DX_ENOMEM : 0;
        }
        if (c == '\n')
            return fail(ps, start, "unterminated string");
        if ((c < 0x20 && c != '\t') || c == 0x7f)
            return fail(ps, ps->p, "control character in a string");
        if (c == '\\' && q == '"') {
            ps->p++;
            if (ps->p >= ps->end)
                break;
            char e = *ps->p++;
            const char *simple = strchr("\"\\btnfr", e);
            if (simple && e) {
                static const char map[] = "\"\\\b\t\n\f\r";
                if (dx_buf_putc(out, map[simple - "\"\\btnfr"]))
                    return DX_ENOMEM;
                continue;
            }
            if (e == 'u' || e == 'U') {
                int digits = e == 'u' ? 4 : 8;
                unsigned long cp = 0;
                for (int i = 0; i < digits; i++) {
                    char h = ps->p < ps->end ? *ps->p : 0;
                    int v = h >= '0' && h <= '9'   ? h - '0'
                            : h >= 'a' && h <= 'f' ? h - 'a' + 10
                            : h >= 'A' && h <= 'F' ? h - 'A' + 10
                                                   : -1;
                    if (v < 0)
                        return fail(ps, ps->p, "invalid \\%c escape", e);
                    cp = cp * 16 + (unsigned long)v;
                    ps->p++;
                }
                if ((cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
                    return fail(ps, ps->p - digits - 2, "escape is not a Unicode scalar value");
                if (put_utf8(out, cp))
                    return DX_ENOMEM;
                continue;
            }
            return fail(ps, ps->p - 2, "invalid escape '\\%c'", e ? e : ' ');
        }
        int n = utf8_len((const unsigned char *)ps->p, (const unsigned char *)ps->end);
        if (!n)
            return fail(ps, ps->p, "invalid UTF-8");
        if (dx_buf_append(out, ps->p, (size_t)n))
            return DX_ENOMEM;
        ps->p += n;
    }
    return fail(ps, start, "unterminated string");
}

static int parse_key(parser *ps, dx_buf *out)
{
    if (ps->p < ps->end && (*ps->p == '"' || *ps->p == '\''))
        return parse_string(ps, out);
    const char *start = ps->p;
    while (ps->p < ps->end && is_bare(*ps->p))
        ps->p++;
    if (ps->p == start)
        return fail(ps, start, "expected a key");
    if (dx_buf_append(out, start, (size_t)(ps->p - start)))
        return DX_ENOMEM;
    skip_ws(ps);
    if (ps->p < ps->end && *ps->p == '.')
        return fail(ps, ps->p, "dotted keys are not supported");
    return 0;
}

static int parse_integer(parser *ps, dx_toml_value *v)
{
    const char *start = ps->p;
    bool neg = false;
    if (*ps->p == '+' || *ps->p == '-')
        neg = *ps->p++ == '-';
    const char *digits = ps->p;
    if (ps->end - ps->p >= 2 && ps->p[0] == '0' && strchr("xob", ps->p[1]))
        return fail(ps, start, "hexadecimal, octal and binary integers are not supported");
    uint64_t mag = 0;
    bool last_us = true;
    while (ps->p < ps->end && ((*ps->p >= '0' && *ps->p <= '9') || *ps->p == '_')) {
        if (*ps->p == '_') {
            if (last_us)
                return fail(ps, ps->p, "'_' must stand between digits");
            last_us = true;
        } else {
            if (mag > (UINT64_MAX - 9) / 10)
                return fail(ps, start, "integer out of range");
            mag = mag * 10 + (uint64_t)(*ps->p - '0');
            last_us = false;
        }
        ps->p++;
    }
    if (ps->p == digits)
        return fail(ps, start, "expected a value");
    if (last_us)
        return fail(ps, ps->p - 1, "'_' must stand between digits");
    if (digits[0] == '0' && ps->p - digits > 1)
        return fail(ps, start, "leading zeros are not allowed");
    if (ps->p < ps->end && strchr(".eE", *ps->p))
        return fail(ps, start, "floating-point numbers are not supported");
    if (ps->p < ps->end && (*ps->p == '-' || *ps->p == ':'))
        return fail(ps, start, "dates and times are not supported");
    if ((!neg && mag > (uint64_t)INT64_MAX) || (neg && mag > (uint64_t)INT64_MAX + 1))
        return fail(ps, start, "integer out of range");
    v->type = DX_TOML_INT;
    v->i = neg ? (int64_t)(0 - mag) : (int64_t)mag;
    return 0;
}

/* Whitespace, newlines and comments inside an array. */
static int skip_array_space(parser *ps)
{
    for (;;) {
        skip_ws(ps);
        if (skip_comment(ps))
            return ps->rc;
        if (ps->p < ps->end && *ps->p == '\n')
            ps->p++;
        else if (ps->end - ps->p >= 2 && ps->p[0] == '\r' && ps->p[1] == '\n')
            ps->p += 2;
        else
            return 0;
    }
}

static int parse_value(parser *ps, dx_toml_value *v)
{
    memset(v, 0, sizeof *v);
    if (ps->p >= ps->end || *ps->p == '\n' || *ps->p == '\r' || *ps->p == '#')
        return fail(ps, ps->p, "expected a value after '='");
    char c = *ps->p;
    if (c == '"' || c == '\'') {
        dx_buf b = DX_BUF_INIT;
        int rc = parse_string(ps, &b);
        if (rc) {
            dx_buf_release(&b);
            return rc;
        }
        v->type = DX_TOML_STRING;
        v->str = dx_buf_detach(&b, NULL);
        return v->str ? 0 : DX_ENOMEM;
    }
    if (ps->end - ps->p >= 4 && !strncmp(ps->p, "true", 4) &&
        (ps->end - ps->p == 4 || !is_bare(ps->p[4]))) {
        ps->p += 4;
        v->type = DX_TOML_BOOL;
        v->b = true;
        return 0;
    }
    if (ps->end - ps->p >= 5 && !strncmp(ps->p, "false", 5) &&
        (ps->end - ps->p == 5 || !is_bare(ps->p[5]))) {
        ps->p += 5;
        v->type = DX_TOML_BOOL;
        return 0;
    }
    if (c == '[') {
        v->type = DX_TOML_ARRAY;
        ps->p++;
        for (;;) {
            if (skip_array_space(ps))
                return ps->rc;
            if (ps->p < ps->end && *ps->p == ']') {
                ps->p++;
                return 0;
            }
            if (ps->p >= ps->end)
                return fail(ps, ps->p, "unterminated array");
            if (*ps->p != '"' && *ps->p != '\'')
                return fail(ps, ps->p, "arrays may only hold strings");
            dx_buf b = DX_BUF_INIT;
            int rc = parse_string(ps, &b);
            if (!rc)
                rc = dx_strlist_push(&v->arr, dx_buf_cstr(&b));
            dx_buf_release(&b);
            if (rc)
                return rc;
            if (skip_array_space(ps))
                return ps->rc;
            if (ps->p < ps->end && *ps->p == ',') {
                ps->p++;
                continue;
            }
            if (ps->p < ps->end && *ps->p == ']') {
                ps->p++;
                return 0;
            }
            return fail(ps, ps->p, "expected ',' or ']' in an array");
        }
    }
    if (c == '{')
        return fail(ps, ps->p, "inline tables are not supported");
    if ((c >= '0' && c <= '9') || c == '+' || c == '-')
        return parse_integer(ps, v);
    if (ps->end - ps->p >= 3 && (!memcmp(ps->p, "inf", 3) || !memcmp(ps->p, "nan", 3)))
        return fail(ps, ps->p, "floating-point numbers are not supported");
    return fail(ps, ps->p,
                "expected a value (a string, an integer, true, false or an array "
                "of strings)");
}

int dx_toml_parse(const char *text, size_t len, const char *name, dx_toml *out, dx_error *err)
{
    parser ps = {text, text, text + len, name, err, 0};
    dx_strlist tables = DX_STRLIST_INIT;
    dx_buf table = DX_BUF_INIT, key = DX_BUF_INIT;
    dx_toml_release(out);
    if (dx_buf_puts(&table, "")) /* the top-level table: "" */
        ps.rc = dx_error_set(err, DX_ENOMEM, "out of memory");
    /* tomllib (our reference reader) refuses a byte-order mark; say what to do about it. */
    if (len >= 3 && !memcmp(text, "\xef\xbb\xbf", 3))
        fail(&ps, ps.p, "the file starts with a byte-order mark; save it as UTF-8 without BOM");
    while (ps.p < ps.end && !ps.rc) {
        skip_ws(&ps);
        if (ps.p >= ps.end)
            break;
        if (*ps.p == '#' || *ps.p == '\n' || *ps.p == '\r') {
            expect_eol(&ps);
            continue;
        }
        if (*ps.p == '[') {
            const char *at = ps.p++;
            if (ps.p < ps.end && *ps.p == '[') {
                fail(&ps, at, "arrays of tables are not supported");
                break;
            }
            skip_ws(&ps);
            dx_buf_reset(&table);
            if (parse_key(&ps, &table))
                break;
            skip_ws(&ps);
            if (ps.p >= ps.end || *ps.p != ']') {
                fail(&ps, ps.p, "expected ']' after the table name");
                break;
            }
            ps.p++;
            if (table.len == 0) {
                fail(&ps, at, "an empty table name is not supported");
                break;
            }
            if (dx_strlist_find(&tables, dx_buf_cstr(&table)) >= 0) {
                fail(&ps, at, "table [%s] is defined twice", dx_buf_cstr(&table));
                break;
            }
            for (size_t i = 0; i < out->len; i++)
                if (out->entries[i].table[0] == 0 && !strcmp(out->entries[i].key, table.data) &&
                    !ps.rc)
                    fail(&ps, at, "[%s] is already defined as a key", table.data);
            if (ps.rc || dx_strlist_push(&tables, dx_buf_cstr(&table)))
                break;
            expect_eol(&ps);
            continue;
        }
        const char *kat = ps.p;
        dx_buf_reset(&key);
        if (parse_key(&ps, &key))
            break;
        skip_ws(&ps);
        if (ps.p >= ps.end || *ps.p != '=') {
            fail(&ps, ps.p, "expected '=' after the key '%s'", dx_buf_cstr(&key));
            break;
        }
        ps.p++;
        skip_ws(&ps);
        if (find(out, dx_buf_cstr(&table), dx_buf_cstr(&key)) >= 0 ||
            (table.len == 0 && dx_strlist_find(&tables, dx_buf_cstr(&key)) >= 0)) {
            fail(&ps, kat, "key '%s' is defined twice", dx_buf_cstr(&key));
            break;
        }
        dx_toml_value v;
        if (parse_value(&ps, &v)) {
            value_release(&v);
            break;
        }
        if (add_entry(out, dx_buf_cstr(&table), dx_buf_cstr(&key), &v)) {
            value_release(&v);
            ps.rc = dx_error_set(err, DX_ENOMEM, "out of memory parsing '%s'", name);
            break;
        }
        expect_eol(&ps);
    }
    if (!ps.rc) {
        /* Keep the declared order of tables, empty ones included. */
        dx_strlist_release(&out->tables);
        out->tables = tables;
        tables = (dx_strlist)DX_STRLIST_INIT;
    }
    dx_strlist_release(&tables);
    dx_buf_release(&table);
    dx_buf_release(&key);
    if (ps.rc)
        dx_toml_release(out);
    return ps.rc;
}

/* ---- editing and writing -------------------------------------------------------------- */

static int set_value(dx_toml *t, const char *table, const char *key, dx_toml_value *v)
{
    long i = find(t, table, key);
    if (i >= 0) {
        value_release(&t->entries[i].value);
        t->entries[i].value = *v;
        return 0;
    }
    int rc = add_entry(t, table, key, v);
    if (rc)
        value_release(v);
    return rc;
}

int dx_toml_set_string(dx_toml *t, const char *table, const char *key, const char *value)
{
    dx_toml_value v = {DX_TOML_STRING, strdup(value), 0, false, DX_STRLIST_INIT};
    return v.str ? set_value(t, table, key, &v) : DX_ENOMEM;
}

int dx_toml_set_int(dx_toml *t, const char *table, const char *key, int64_t value)
{
    dx_toml_value v = {DX_TOML_INT, NULL, value, false, DX_STRLIST_INIT};
    return set_value(t, table, key, &v);
}

int dx_toml_set_bool(dx_toml *t, const char *table, const char *key, bool value)
{
    dx_toml_value v = {DX_TOML_BOOL, NULL, 0, value, DX_STRLIST_INIT};
    return set_value(t, table, key, &v);
}

int dx_toml_set_array(dx_toml *t, const char *table, const char *key, const dx_strlist *value)
{
    dx_toml_value v = {DX_TOML_ARRAY, NULL, 0, false, DX_STRLIST_INIT};
    for (size_t i = 0; i < value->len; i++)
        if (dx_strlist_push(&v.arr, value->items[i])) {
            value_release(&v);
            return DX_ENOMEM;
        }
    return set_value(t, table, key, &v);
}

int dx_toml_remove(dx_toml *t, const char *table, const char *key)
{
    long i = find(t, table, key);
    if (i < 0)
        return DX_ENOTFOUND;
    free(t->entries[i].table);
    free(t->entries[i].key);
    value_release(&t->entries[i].value);
    memmove(t->entries + i, t->entries + i + 1, (t->len - (size_t)i - 1) * sizeof *t->entries);
    t->len--;
    return 0;
}

/* The writers append unchecked: dx_buf keeps its first error, dx_toml_write reports it. */
static void write_string(dx_buf *out, const char *s)
{
    dx_buf_putc(out, '"');
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\')
            dx_buf_printf(out, "\\%c", c);
        else if (c == '\n')
            dx_buf_puts(out, "\\n");
        else if (c == '\t')
            dx_buf_puts(out, "\\t");
        else if (c == '\r')
            dx_buf_puts(out, "\\r");
        else if (c < 0x20 || c == 0x7f)
            dx_buf_printf(out, "\\u%04X", c);
        else
            dx_buf_putc(out, (char)c);
    }
    dx_buf_putc(out, '"');
}

static void write_key(dx_buf *out, const char *k)
{
    bool bare = *k != 0;
    for (const char *p = k; *p; p++)
        bare &= is_bare(*p);
    if (bare)
        dx_buf_puts(out, k);
    else
        write_string(out, k);
}

static void write_value(dx_buf *out, const dx_toml_entry *e)
{
    write_key(out, e->key);
    dx_buf_puts(out, " = ");
    switch (e->value.type) {
    case DX_TOML_STRING:
        write_string(out, e->value.str);
        break;
    case DX_TOML_INT:
        dx_buf_printf(out, "%lld", (long long)e->value.i);
        break;
    case DX_TOML_BOOL:
        dx_buf_puts(out, e->value.b ? "true" : "false");
        break;
    case DX_TOML_ARRAY:
        dx_buf_putc(out, '[');
        for (size_t j = 0; j < e->value.arr.len; j++) {
            if (j)
                dx_buf_puts(out, ", ");
            write_string(out, e->value.arr.items[j]);
        }
        dx_buf_putc(out, ']');
        break;
    }
    dx_buf_putc(out, '\n');
}

int dx_toml_write(const dx_toml *t, dx_buf *out)
{
    for (size_t i = 0; i < t->len; i++)
        if (t->entries[i].table[0] == 0)
            write_value(out, &t->entries[i]);
    for (size_t k = 0; k < t->tables.len; k++) {
        const char *name = t->tables.items[k];
        if (out->len)
            dx_buf_putc(out, '\n');
        dx_buf_putc(out, '[');
        write_key(out, name);
        dx_buf_puts(out, "]\n");
        for (size_t i = 0; i < t->len; i++)
            if (!strcmp(t->entries[i].table, name))
                write_value(out, &t->entries[i]);
    }
    return dx_buf_error(out);
}
