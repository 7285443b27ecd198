/* export.c - export by audience, daily entries, and search over a workspace. */
#include "workspace_int.h"

#include <ctype.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "diaryx/fs.h"
#include "diaryx/paths.h"

/* ---- export ------------------------------------------------------------------------------ */

typedef struct exporter {
    const dx_workspace *ws;
    const char *dest;
    const dx_export_options *o;
    dx_strlist *included, *excluded;
    dx_strlist seen;
    dx_error *err;
} exporter;

static bool list_has(const dx_strlist *l, const char *s)
{
    for (size_t i = 0; i < l->len; i++)
        if (!strcasecmp(l->items[i], s))
            return true;
    return false;
}

static int note_excluded(exporter *x, const char *rel, const char *why)
{
    char line[4096];
    snprintf(line, sizeof line, "%s (%s)", rel, why);
    return x->excluded ? dx_strlist_push(x->excluded, line) : 0;
}

/* Returns 1 when rel is included, 0 when excluded, negative on failure. inherited is the
 * nearest ancestor's audience list, or NULL when none defines one. */
static int export_node(exporter *x, const char *rel, const dx_strlist *inherited,
                       bool parent_included)
{
    if (dx_strlist_find(&x->seen, rel) >= 0)
        return 0; /* cycles and second parents: exported once */
    dx_strlist_push(&x->seen, rel);
    dx_fm *fm = NULL;
    bool readable = dx_workspace_read(x->ws, rel, &fm, NULL) == 0;
    dx_strlist aud = DX_STRLIST_INIT;
    bool has_aud = readable && dx_fm_has(fm, "audience");
    if (has_aud)
        dx_fm_get_list(fm, "audience", &aud);
    const char *why = NULL;
    bool include;
    if (!readable) {
        include = parent_included; /* unreadable files inherit their parent's visibility */
        why = include ? NULL : "unreadable";
    } else if (list_has(&aud, "private")) {
        include = false;
        why = "private";
    } else if (!strcmp(x->o->audience, "*")) {
        include = true;
    } else if (has_aud) {
        include = list_has(&aud, x->o->audience);
        why = "audience mismatch";
    } else if (inherited) {
        include = list_has(inherited, x->o->audience);
        why = "inherited audience mismatch";
    } else {
        include = false;
        why = "no audience defined";
    }
    int rc = 0;
    if (!include) {
        rc = note_excluded(x, rel, why);
        goto done;
    }
    /* Children first, so the exported contents lists only what was exported. */
    dx_strlist kids = DX_STRLIST_INIT, raw = DX_STRLIST_INIT, keep = DX_STRLIST_INIT;
    if (readable)
        dx_ws_resolved_list(x->ws, rel, fm, "contents", &kids, &raw);
    for (size_t i = 0; i < kids.len && rc >= 0; i++) {
        if (!dx_path_is_markdown(kids.items[i]))
            continue;
        int r = export_node(x, kids.items[i], has_aud ? &aud : inherited, true);
        if (r < 0)
            rc = r;
        else if (r == 1)
            dx_strlist_push(&keep, raw.items[i]);
    }
    if (rc >= 0 && readable) {
        if (dx_fm_has(fm, "contents"))
            dx_fm_set_list(fm, "contents", &keep);
        if (!x->o->keep_audience)
            dx_fm_remove(fm, "audience");
    }
    if (rc >= 0 && x->included)
        rc = dx_strlist_push(x->included, rel);
    if (rc >= 0 && !x->o->dry_run) {
        dx_buf text = DX_BUF_INIT;
        /* Both sides confined: no link in the workspace is read through, none in the
         * destination written through. */
        rc =
            readable ? dx_fm_write(fm, &text, x->err) : dx_ws_read_bytes(x->ws, rel, &text, x->err);
        if (rc == 0)
            rc = dx_fs_write_in(x->dest, rel, dx_buf_cstr(&text), text.len, 0644, NULL, NULL,
                                x->err);
        dx_buf_release(&text);
    }
    dx_strlist_release(&kids);
    dx_strlist_release(&raw);
    dx_strlist_release(&keep);
    if (rc >= 0)
        rc = 1;
done:
    dx_strlist_release(&aud);
    dx_fm_free(fm);
    return rc;
}

int dx_workspace_export(const dx_workspace *ws, const char *abs_dest, const dx_export_options *opts,
                        dx_strlist *included, dx_strlist *excluded, dx_error *err)
{
    if (!opts->audience || !opts->audience[0])
        return dx_error_set(err, DX_EINVAL,
                            "an audience is required (a group name, or * for "
                            "everything that is not private)");
    if (!opts->force && dx_path_exists(abs_dest)) {
        DIR *d = opendir(abs_dest);
        struct dirent *e;
        bool empty = d != NULL;
        while (d && (e = readdir(d)))
            if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
                empty = false;
        if (d)
            closedir(d);
        if (!empty)
            return dx_error_set(err, DX_EEXIST,
                                "destination '%s' already exists and is not empty (use --force "
                                "to write into it)",
                                abs_dest);
    }
    char root_real[4096];
    if (realpath(ws->root, root_real) && !strncmp(abs_dest, root_real, strlen(root_real)) &&
        (abs_dest[strlen(root_real)] == '/' || abs_dest[strlen(root_real)] == 0))
        return dx_error_set(err, DX_EINVAL, "cannot export into the workspace itself ('%s')",
                            abs_dest);
    exporter x = {ws, abs_dest, opts, included, excluded, DX_STRLIST_INIT, err};
    int rc = opts->dry_run ? 0 : dx_mkdirs(abs_dest, err);
    if (rc == 0)
        rc = export_node(&x, ws->root_file, NULL, false);
    dx_strlist_release(&x.seen);
    return rc < 0 ? rc : 0;
}

/* ---- daily entries ------------------------------------------------------------------------ */

static const char *const MONTHS[] = {"January",   "February", "March",    "April",
                                     "May",       "June",     "July",     "August",
                                     "September", "October",  "November", "December"};

static int ensure_note(dx_workspace *ws, const char *rel, const char *title, const char *date,
                       bool index, const char *parent, bool *created, dx_error *err)
{
    bool exists = dx_ws_exists(ws, rel);
    int rc = 0;
    if (created)
        *created = !exists;
    if (!exists) {
        dx_fm *fm = NULL;
        dx_buf body = DX_BUF_INIT;
        if ((rc = dx_fm_new(&fm)))
            return dx_error_set(err, rc, "out of memory");
        dx_fm_set(fm, "title", title);
        if (date)
            dx_fm_set(fm, "date", date);
        if (index) {
            dx_strlist empty = DX_STRLIST_INIT;
            dx_fm_set_list(fm, "contents", &empty);
        }
        dx_buf_printf(&body, "\n# %s\n", title);
        dx_fm_set_body(fm, body.data, body.len);
        rc = dx_workspace_write(ws, rel, fm, err);
        dx_fm_free(fm);
        dx_buf_release(&body);
    }
    /* Helper indexes keep their contents sorted; attach is idempotent. */
    if (!rc)
        rc = dx_workspace_attach(ws, parent, rel, true, err);
    return rc;
}

int dx_workspace_daily(dx_workspace *ws, const char *date, const char *daily_folder, dx_buf *out,
                       bool *created, dx_error *err)
{
    int y, m, d;
    char tail;
    if (sscanf(date, "%4d-%2d-%2d%c", &y, &m, &d, &tail) != 3 || strlen(date) != 10 || m < 1 ||
        m > 12 || d < 1 || d > 31)
        return dx_error_set(err, DX_EINVAL, "'%s' is not a date of the form YYYY-MM-DD", date);
    static const int mdays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    if (d > mdays[m - 1] || (m == 2 && d == 29 && !leap))
        return dx_error_set(err, DX_EINVAL, "'%s' is not a valid date", date);
    dx_buf base = DX_BUF_INIT, idx = DX_BUF_INIT, year = DX_BUF_INIT, month = DX_BUF_INIT,
           entry = DX_BUF_INIT, t = DX_BUF_INIT;
    const char *folder = daily_folder ? daily_folder : "";
    int rc = 0;
    dx_error e = DX_ERROR_INIT;
    /* An absolute folder would silently become a path inside the workspace. */
    if (folder[0] == '/')
        rc = dx_error_set(err, DX_EPATH,
                          "daily_entry_folder '%s' is an absolute path; set it to a folder "
                          "relative to the workspace root (e.g. \"daily\")",
                          folder);
    else if (dx_path_normalize(folder, &base, &e) ||
             dx_workspace_check_dir(dx_buf_cstr(&base), folder, &e))
        rc = dx_error_set(err, e.code, "daily_entry_folder: %s", e.msg);
    if (rc)
        goto done;
    const char *b = dx_buf_cstr(&base);
    const char *sep = b[0] ? "/" : "";
    char mname[16];
    snprintf(mname, sizeof mname, "%s", MONTHS[m - 1]);
    for (char *p = mname; *p; p++)
        *p = (char)tolower((unsigned char)*p);
    dx_buf_printf(&idx, "%s%sdaily_index.md", b, sep);
    dx_buf_printf(&year, "%s%s%04d/%04d_index.md", b, sep, y, y);
    dx_buf_printf(&month, "%s%s%04d/%02d/%04d_%s.md", b, sep, y, m, y, mname);
    dx_buf_printf(&entry, "%s%s%04d/%02d/%s.md", b, sep, y, m, date);
    char ytitle[8];
    snprintf(ytitle, sizeof ytitle, "%04d", y);
    if ((rc = ensure_note(ws, idx.data, "Daily Entries", NULL, true, ws->root_file, NULL, err)) ||
        (rc = ensure_note(ws, year.data, ytitle, NULL, true, idx.data, NULL, err)))
        goto done;
    dx_buf_printf(&t, "%s %04d", MONTHS[m - 1], y);
    if ((rc = ensure_note(ws, month.data, t.data, NULL, true, year.data, NULL, err)))
        goto done;
    dx_buf_reset(&t);
    dx_buf_printf(&t, "%s %d, %04d", MONTHS[m - 1], d, y);
    if ((rc = ensure_note(ws, entry.data, t.data, date, false, month.data, created, err)))
        goto done;
    rc = dx_buf_puts(out, entry.data);
done:
    dx_buf_release(&base);
    dx_buf_release(&idx);
    dx_buf_release(&year);
    dx_buf_release(&month);
    dx_buf_release(&entry);
    dx_buf_release(&t);
    return rc;
}

/* ---- search ----------------------------------------------------------------------------- */

void dx_matches_release(dx_matches *m)
{
    if (!m)
        return;
    for (size_t i = 0; i < m->len; i++) {
        free(m->items[i].file);
        free(m->items[i].text);
    }
    free(m->items);
    m->items = NULL;
    m->len = 0;
}

static bool contains_ci(const char *hay, size_t n, const char *needle)
{
    size_t k = strlen(needle);
    if (k == 0)
        return true;
    for (size_t i = 0; i + k <= n; i++)
        if (!strncasecmp(hay + i, needle, k))
            return true;
    return false;
}

static int add_match(dx_matches *m, const char *file, size_t line, const char *text, size_t n)
{
    dx_match *items = realloc(m->items, (m->len + 1) * sizeof *items);
    if (!items)
        return DX_ENOMEM;
    m->items = items;
    dx_match *x = &items[m->len];
    x->file = strdup(file);
    x->line = line;
    x->text = malloc(n + 1);
    if (!x->file || !x->text) {
        free(x->file);
        free(x->text);
        return DX_ENOMEM;
    }
    memcpy(x->text, text, n);
    x->text[n] = 0;
    m->len++;
    return 0;
}

int dx_workspace_search(const dx_workspace *ws, const char *pattern, const char *property,
                        dx_matches *out, dx_error *err)
{
    dx_strlist files = DX_STRLIST_INIT;
    int rc = dx_workspace_list_files(ws, true, &files, err);
    for (size_t i = 0; !rc && i < files.len; i++) {
        dx_buf text = DX_BUF_INIT;
        if (dx_ws_read_bytes(ws, files.items[i], &text, NULL) != 0)
            continue;
        const char *s = dx_buf_cstr(&text);
        if (property) {
            dx_fm *fm = NULL;
            dx_buf v = DX_BUF_INIT;
            if (dx_fm_parse(s, text.len, files.items[i], &fm, NULL) == 0 &&
                dx_fm_get_yaml(fm, property, &v) == 0 && contains_ci(v.data, v.len, pattern))
                rc = add_match(out, files.items[i], 0, v.data, v.len);
            dx_fm_free(fm);
            dx_buf_release(&v);
        } else {
            dx_fm_split sp;
            dx_fm_split_text(s, text.len, &sp);
            size_t line = 1, pos = 0;
            for (size_t k = 0; k < sp.body_start && k < text.len; k++)
                line += s[k] == '\n';
            pos = sp.has_frontmatter ? sp.body_start : 0;
            while (!rc && pos < text.len) {
                const char *nl = memchr(s + pos, '\n', text.len - pos);
                size_t n = nl ? (size_t)(nl - (s + pos)) : text.len - pos;
                size_t shown = n && s[pos + n - 1] == '\r' ? n - 1 : n;
                if (contains_ci(s + pos, shown, pattern))
                    rc = add_match(out, files.items[i], line, s + pos, shown);
                pos += n + 1;
                line++;
            }
        }
        dx_buf_release(&text);
    }
    dx_strlist_release(&files);
    return rc == DX_ENOMEM ? dx_error_set(err, rc, "out of memory searching") : rc;
}
