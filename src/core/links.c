/* links.c - parse, resolve and write the links of part_of/contents/attachments. */
#include "diaryx/links.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "diaryx/paths.h"

static char *dupn(const char *s, size_t n)
{
    char *p = malloc(n + 1);
    if (p) {
        memcpy(p, s, n);
        p[n] = 0;
    }
    return p;
}

static dx_link_kind kind_of(const char *p)
{
    if (p[0] == '/')
        return DX_LINK_KIND_ROOT;
    if (!strcmp(p, ".") || !strcmp(p, "..") || !strncmp(p, "./", 2) || !strncmp(p, "../", 3))
        return DX_LINK_KIND_RELATIVE;
    return DX_LINK_KIND_AMBIGUOUS;
}

/* [title](url) with url either <...> or balanced parentheses; returns false if s is not
 * exactly one markdown link. */
static bool parse_markdown(const char *s, dx_link *out)
{
    if (s[0] != '[')
        return false;
    const char *close = strchr(s, ']');
    if (!close || close[1] != '(')
        return false;
    const char *u = close + 2, *end;
    size_t ulen;
    const char *url;
    bool escaped = false;
    if (*u == '<') {
        /* <...>: ends at the first '>' not escaped by a backslash. */
        for (end = u + 1; *end && *end != '>'; end++)
            if (*end == '\\' && end[1]) {
                end++;
                escaped = true;
            }
        if (*end != '>' || end[1] != ')' || end[2] != 0)
            return false;
        url = u + 1;
        ulen = (size_t)(end - url);
    } else {
        int depth = 0;
        end = u;
        while (*end) {
            if (*end == '(')
                depth++;
            else if (*end == ')') {
                if (depth == 0)
                    break;
                depth--;
            }
            end++;
        }
        if (*end != ')' || end[1] != 0)
            return false;
        url = u;
        ulen = (size_t)(end - u);
    }
    out->title = dupn(s + 1, (size_t)(close - s - 1));
    out->path = dupn(url, ulen);
    if (escaped && out->path) {
        /* Backslash escapes of ASCII punctuation stand for the character itself. */
        char *w = out->path;
        for (const char *r = out->path; *r; r++) {
            if (*r == '\\' && r[1] && ispunct((unsigned char)r[1]))
                r++;
            *w++ = *r;
        }
        *w = 0;
    }
    return true;
}

int dx_link_parse(const char *s, dx_link *out)
{
    memset(out, 0, sizeof *out);
    while (isspace((unsigned char)*s))
        s++;
    size_t n = strlen(s);
    while (n && isspace((unsigned char)s[n - 1]))
        n--;
    if (n == 0)
        return DX_EPARSE;
    char *t = dupn(s, n);
    if (!t)
        return DX_ENOMEM;
    if (!parse_markdown(t, out)) {
        dx_link_release(out);
        out->path = t;
        t = NULL;
    }
    free(t);
    if (!out->path || (out->title == NULL && out->path == NULL)) {
        dx_link_release(out);
        return DX_ENOMEM;
    }
    if (!out->path[0]) {
        dx_link_release(out);
        return DX_EPARSE;
    }
    out->kind = kind_of(out->path);
    return 0;
}

void dx_link_release(dx_link *l)
{
    if (!l)
        return;
    free(l->title);
    free(l->path);
    l->title = l->path = NULL;
}

int dx_link_resolve(const char *link, const char *from_file, dx_link_format fmt, dx_buf *out,
                    dx_error *err)
{
    dx_link l;
    int rc = dx_link_parse(link, &l);
    if (rc == DX_EPARSE)
        return dx_error_set(err, DX_EPARSE, "empty link in '%s'", from_file);
    if (rc)
        return dx_error_set(err, rc, "out of memory");
    bool from_root = l.kind == DX_LINK_KIND_ROOT ||
                     (l.kind == DX_LINK_KIND_AMBIGUOUS &&
                      (fmt == DX_LINK_MARKDOWN_ROOT || fmt == DX_LINK_PLAIN_CANONICAL));
    dx_buf dir = DX_BUF_INIT;
    size_t before = out->len;
    if (from_root) {
        rc = dx_path_normalize(l.path, out, err);
    } else {
        rc = dx_path_dirname(from_file, &dir);
        if (!rc)
            rc = dx_path_join(dx_buf_cstr(&dir), l.path, out, err);
    }
    if (rc == DX_EPATH)
        rc = dx_error_set(err, DX_EPATH, "link '%s' in '%s' points outside the workspace", link,
                          from_file);
    if (rc)
        dx_buf_truncate(out, before);
    dx_buf_release(&dir);
    dx_link_release(&l);
    return rc;
}

int dx_title_from_path(const char *path, dx_buf *out)
{
    dx_buf stem = DX_BUF_INIT;
    int rc = dx_path_stem(path, &stem);
    bool word_start = true;
    for (size_t i = 0; !rc && i < stem.len; i++) {
        char c = stem.data[i];
        if (c == '_' || c == '-') {
            rc = dx_buf_putc(out, ' ');
            word_start = true;
        } else {
            rc = dx_buf_putc(out, word_start ? (char)toupper((unsigned char)c) : c);
            word_start = c == ' ';
        }
    }
    dx_buf_release(&stem);
    return rc;
}

int dx_link_write(const char *target, const char *from_file, const char *title, dx_link_format fmt,
                  dx_buf *out)
{
    dx_buf path = DX_BUF_INIT, dir = DX_BUF_INIT, t = DX_BUF_INIT;
    int rc = 0;
    if (fmt == DX_LINK_MARKDOWN_ROOT) {
        rc = dx_buf_printf(&path, "/%s", target);
    } else if (fmt == DX_LINK_PLAIN_CANONICAL) {
        rc = dx_buf_puts(&path, target);
    } else {
        if (!(rc = dx_path_dirname(from_file, &dir)))
            rc = dx_path_relative(dx_buf_cstr(&dir), target, &path);
    }
    if (rc)
        goto done;
    if (fmt == DX_LINK_MARKDOWN_ROOT || fmt == DX_LINK_MARKDOWN_RELATIVE) {
        if (!title || !*title) {
            if ((rc = dx_title_from_path(target, &t)))
                goto done;
            title = dx_buf_cstr(&t);
        }
        /* Appended unchecked: out keeps its first error, returned below. The link text must
         * not close the brackets early. */
        dx_buf_putc(out, '[');
        for (const char *p = title; *p; p++)
            dx_buf_putc(out, *p == ']' || *p == '[' ? ' ' : *p);
        /* Paths with spaces, parentheses or angle brackets go between < and >, where the
         * brackets and backslashes are escaped. */
        if (strpbrk(path.data, " \t()<>\\")) {
            dx_buf_puts(out, "](<");
            for (const char *p = path.data; *p; p++) {
                if (strchr("<>\\", *p))
                    dx_buf_putc(out, '\\');
                dx_buf_putc(out, *p);
            }
            dx_buf_puts(out, ">)");
        } else {
            dx_buf_printf(out, "](%s)", path.data);
        }
        rc = dx_buf_error(out);
    } else {
        rc = dx_buf_puts(out, path.data);
    }
done:
    dx_buf_release(&path);
    dx_buf_release(&dir);
    dx_buf_release(&t);
    return rc;
}

static const char *const format_names[] = {"markdown_root", "markdown_relative", "plain_relative",
                                           "plain_canonical"};

int dx_link_format_parse(const char *name, dx_link_format *out)
{
    for (int i = 0; i < 4; i++) {
        const char *a = name, *b = format_names[i];
        while (*a && *b) {
            if (*b == '_' && *a != '_') {
                b++;
                continue;
            }
            if (tolower((unsigned char)*a) != *b)
                break;
            a++, b++;
        }
        if (*a == 0 && *b == 0) {
            *out = (dx_link_format)i;
            return 0;
        }
    }
    return DX_EINVAL;
}

const char *dx_link_format_name(dx_link_format fmt)
{
    return (unsigned)fmt < 4 ? format_names[fmt] : "markdown_root";
}
