/* validate.c - workspace validation (errors and warnings) and their fixes. */
#include "workspace_int.h"

#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "diaryx/fs.h"
#include "diaryx/paths.h"

void dx_report_release(dx_report *r)
{
    if (!r)
        return;
    for (size_t i = 0; i < r->len; i++) {
        free(r->items[i].file);
        free(r->items[i].target);
        free(r->items[i].suggestion);
        free(r->items[i].message);
    }
    free(r->items);
    memset(r, 0, sizeof *r);
}

static int add(dx_report *r, const char *kind, bool error, const char *file, const char *target,
               const char *suggestion, const char *fmt, ...) __attribute__((format(printf, 7, 8)));

static int add(dx_report *r, const char *kind, bool error, const char *file, const char *target,
               const char *suggestion, const char *fmt, ...)
{
    dx_issue *items = realloc(r->items, (r->len + 1) * sizeof *items);
    if (!items)
        return DX_ENOMEM;
    r->items = items;
    dx_issue *it = &items[r->len++];
    memset(it, 0, sizeof *it);
    it->kind = kind;
    it->error = error;
    it->file = strdup(file);
    it->target = target ? strdup(target) : NULL;
    it->suggestion = suggestion ? strdup(suggestion) : NULL;
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    it->message = strdup(msg);
    return 0;
}

/* Absolute machine paths in links are not portable to another computer. */
static bool non_portable(const char *path)
{
    static const char *const prefixes[] = {"/users/", "/home/", "/root/", "/var/", "/tmp/",
                                           "/opt/",   "/usr/",  "c:\\",   "c:/"};
    char low[512];
    size_t n = strlen(path);
    if (n >= sizeof low)
        n = sizeof low - 1;
    for (size_t i = 0; i < n; i++)
        low[i] = (char)((path[i] >= 'A' && path[i] <= 'Z') ? path[i] + 32 : path[i]);
    low[n] = 0;
    for (size_t i = 0; i < sizeof prefixes / sizeof *prefixes; i++)
        if (!strncmp(low, prefixes[i], strlen(prefixes[i])))
            return true;
    return !strncmp(low, "\\\\", 2);
}

typedef struct walk {
    dx_workspace *ws;
    dx_report *r;
    dx_strlist visited;
    dx_strlist attachments; /* resolved, of visited files */
    dx_strlist indexes;     /* visited files with contents */
} walk;

/* Check the links of one list key of file rel. Returns resolved targets in out. */
static int check_links(walk *w, const char *rel, dx_fm *fm, const char *key, dx_strlist *out,
                       dx_strlist *raw)
{
    dx_strlist items = DX_STRLIST_INIT;
    int rc = dx_fm_get_list(fm, key, &items);
    bool is_contents = !strcmp(key, "contents");
    for (size_t i = 0; !rc && i < items.len; i++) {
        const char *link = items.items[i];
        dx_link l;
        if (dx_link_parse(link, &l) == 0) {
            if (non_portable(l.path)) {
                rc |= add(w->r, "NonPortablePath", false, rel, link, dx_path_basename(l.path),
                          "%s: %s '%s' is an absolute path on one computer", rel, key, link);
                dx_link_release(&l);
                continue;
            }
            dx_link_release(&l);
        }
        dx_buf p = DX_BUF_INIT;
        dx_error err = DX_ERROR_INIT;
        if (dx_workspace_resolve(w->ws, rel, link, &p, &err) != 0) {
            rc |= add(w->r, "LinkOutsideWorkspace", true, rel, link, NULL,
                      "%s: %s '%s' points outside the workspace", rel, key, link);
        } else {
            bool exists = p.len && dx_ws_exists(w->ws, p.data);
            if (!exists)
                rc |= add(w->r, is_contents ? "BrokenContentsRef" : "BrokenAttachment", true, rel,
                          link, NULL, "%s: %s entry '%s' does not exist", rel, key, link);
            else if (is_contents && !dx_path_is_markdown(p.data))
                rc |= add(w->r, "InvalidContentsRef", false, rel, link, NULL,
                          "%s: contents entry '%s' is not a markdown file", rel, link);
            else {
                rc |= dx_strlist_push(out, p.data);
                if (raw)
                    rc |= dx_strlist_push(raw, link);
            }
        }
        dx_buf_release(&p);
    }
    dx_strlist_release(&items);
    return rc;
}

static int visit(walk *w, const char *rel, const char *parent, const char *link)
{
    if (dx_strlist_find(&w->visited, rel) >= 0)
        return add(w->r, "CircularReference", false, parent, link, rel,
                   "%s is reached twice (again from %s); remove it from one contents list", rel,
                   parent);
    int rc = dx_strlist_push(&w->visited, rel);
    w->r->files_checked++;
    dx_fm *fm = NULL;
    dx_error err = DX_ERROR_INIT;
    if (dx_workspace_read(w->ws, rel, &fm, &err) != 0)
        return rc | add(w->r, "InvalidFrontmatter", true, rel, NULL, NULL, "%s", err.msg);
    if (dx_fm_unclosed(fm))
        rc |= add(w->r, "UnclosedFrontmatter", false, rel, NULL, NULL,
                  "%s starts with '---' but its frontmatter is never closed", rel);
    const char *po = dx_fm_get(fm, "part_of");
    bool root = !strcmp(rel, w->ws->root_file);
    if (po) {
        dx_strlist parents = DX_STRLIST_INIT;
        dx_fm *tmp = NULL;
        /* part_of is a single link; check it like a one-item list. */
        if (dx_fm_new(&tmp) == 0) {
            dx_fm_set(tmp, "part_of", po);
            size_t before = w->r->len;
            rc |= check_links(w, rel, tmp, "part_of", &parents, NULL);
            for (size_t i = before; i < w->r->len; i++)
                if (!strcmp(w->r->items[i].kind, "BrokenAttachment"))
                    w->r->items[i].kind = "BrokenPartOf";
        }
        dx_fm_free(tmp);
        dx_strlist_release(&parents);
    } else if (!root && parent) {
        rc |= add(w->r, "MissingPartOf", false, rel, NULL, parent,
                  "%s has no part_of (it is listed by %s)", rel, parent);
    }
    if (dx_fm_has(fm, "contents"))
        rc |= dx_strlist_push(&w->indexes, rel);
    dx_strlist kids = DX_STRLIST_INIT, raw = DX_STRLIST_INIT;
    rc |= check_links(w, rel, fm, "attachments", &w->attachments, NULL);
    rc |= check_links(w, rel, fm, "contents", &kids, &raw);
    dx_fm_free(fm);
    for (size_t i = 0; !rc && i < kids.len; i++)
        if (dx_path_is_markdown(kids.items[i]))
            rc = visit(w, kids.items[i], rel, raw.items[i]);
    dx_strlist_release(&kids);
    dx_strlist_release(&raw);
    return rc;
}

int dx_workspace_validate(dx_workspace *ws, dx_report *out, dx_error *err)
{
    walk w = {ws, out, DX_STRLIST_INIT, DX_STRLIST_INIT, DX_STRLIST_INIT};
    memset(out, 0, sizeof *out);
    int rc = visit(&w, ws->root_file, NULL, NULL);
    dx_strlist files = DX_STRLIST_INIT;
    if (!rc)
        rc = dx_workspace_list_files(ws, false, &files, err);
    for (size_t i = 0; !rc && i < files.len; i++) {
        const char *f = files.items[i];
        bool md = dx_path_is_markdown(f);
        if (md ? dx_strlist_find(&w.visited, f) >= 0 : dx_strlist_find(&w.attachments, f) >= 0)
            continue;
        /* Suggest the index of the nearest directory that has one. */
        dx_buf dir = DX_BUF_INIT, idx = DX_BUF_INIT;
        dx_path_dirname(f, &dir);
        for (;;) {
            dx_buf_reset(&idx);
            if (dx_workspace_dir_index(ws, dx_buf_cstr(&dir), false, &idx, NULL) == 0 &&
                strcmp(idx.data, f) != 0)
                break;
            if (!dir.len) {
                dx_buf_reset(&idx);
                dx_buf_puts(&idx, ws->root_file);
                break;
            }
            const char *slash = strrchr(dir.data, '/');
            dx_buf_truncate(&dir, slash ? (size_t)(slash - dir.data) : 0);
        }
        if (md)
            rc = add(out, "OrphanFile", false, f, NULL, idx.data,
                     "%s is not reachable from the root (suggested index: %s)", f, idx.data);
        else
            rc = add(out, "OrphanBinaryFile", false, f, NULL, idx.data,
                     "%s is not listed in any attachments (suggested index: %s)", f, idx.data);
        dx_buf_release(&dir);
        dx_buf_release(&idx);
    }
    /* Links are never followed, so what they point to is no part of the workspace. */
    dx_strlist links = DX_STRLIST_INIT;
    if (!rc)
        rc = dx_workspace_list_links(ws, &links, err);
    for (size_t i = 0; !rc && i < links.len; i++)
        rc = add(out, "SymbolicLink", true, links.items[i], NULL, NULL,
                 "%s is a symbolic link; diaryx never follows links (for reading or writing): "
                 "replace it with the file or directory it points to, or remove it",
                 links.items[i]);
    dx_strlist_release(&links);
    /* Two visited indexes in one directory make "the directory's index" ambiguous. */
    for (size_t i = 0; !rc && i < w.indexes.len; i++) {
        dx_buf di = DX_BUF_INIT, dj = DX_BUF_INIT;
        dx_path_dirname(w.indexes.items[i], &di);
        for (size_t j = 0; !rc && j < i; j++) {
            dx_buf_reset(&dj);
            dx_path_dirname(w.indexes.items[j], &dj);
            if (!strcmp(dx_buf_cstr(&di), dx_buf_cstr(&dj))) {
                rc = add(out, "MultipleIndexes", false, w.indexes.items[i], w.indexes.items[j],
                         NULL, "%s and %s are both indexes of the directory '%s'",
                         w.indexes.items[j], w.indexes.items[i], dx_buf_cstr(&di));
                break;
            }
        }
        dx_buf_release(&di);
        dx_buf_release(&dj);
    }
    dx_strlist_release(&w.indexes);
    dx_strlist_release(&files);
    dx_strlist_release(&w.visited);
    dx_strlist_release(&w.attachments);
    if (rc && rc != DX_ENOMEM)
        return rc;
    return rc ? dx_error_set(err, rc, "out of memory validating the workspace") : 0;
}

/* Remove the value equal to link (exact string) from part_of (the key goes), contents
 * and attachments of file. */
static int drop_link(dx_workspace *ws, const char *file, const char *link, dx_error *err)
{
    dx_fm *fm = NULL;
    int rc = dx_workspace_read(ws, file, &fm, err);
    if (rc)
        return rc;
    const char *po = dx_fm_get(fm, "part_of");
    if (po && !strcmp(po, link))
        dx_fm_remove(fm, "part_of");
    const char *keys[] = {"contents", "attachments"};
    for (size_t k = 0; k < 2; k++) {
        if (dx_fm_kind_of(fm, keys[k]) != DX_FM_LIST)
            continue;
        dx_strlist items = DX_STRLIST_INIT;
        dx_fm_get_list(fm, keys[k], &items);
        long i = dx_strlist_find(&items, link);
        if (i >= 0) {
            dx_strlist_remove(&items, (size_t)i);
            dx_fm_set_list(fm, keys[k], &items);
        }
        dx_strlist_release(&items);
    }
    rc = dx_workspace_write(ws, file, fm, err);
    dx_fm_free(fm);
    return rc;
}

static int replace_link(dx_workspace *ws, const char *file, const char *old, const char *new_link,
                        dx_error *err)
{
    dx_fm *fm = NULL;
    int rc = dx_workspace_read(ws, file, &fm, err);
    if (rc)
        return rc;
    const char *keys[] = {"part_of", "contents", "attachments"};
    for (size_t k = 0; k < 3; k++) {
        dx_fm_kind kind = dx_fm_kind_of(fm, keys[k]);
        if (kind == DX_FM_SCALAR && !strcmp(dx_fm_get(fm, keys[k]), old)) {
            dx_fm_set(fm, keys[k], new_link);
        } else if (kind == DX_FM_LIST) {
            dx_strlist items = DX_STRLIST_INIT;
            dx_fm_get_list(fm, keys[k], &items);
            long i = dx_strlist_find(&items, old);
            if (i >= 0) {
                free(items.items[i]);
                items.items[i] = strdup(new_link);
                dx_fm_set_list(fm, keys[k], &items);
            }
            dx_strlist_release(&items);
        }
    }
    rc = dx_workspace_write(ws, file, fm, err);
    dx_fm_free(fm);
    return rc;
}

static int add_attachment(dx_workspace *ws, const char *index, const char *file, dx_error *err)
{
    dx_fm *fm = NULL;
    int rc = dx_workspace_read(ws, index, &fm, err);
    if (rc)
        return rc;
    dx_strlist items = DX_STRLIST_INIT;
    dx_buf link = DX_BUF_INIT;
    dx_fm_get_list(fm, "attachments", &items);
    dx_workspace_link(ws, index, file, &link);
    dx_strlist_push(&items, link.data);
    dx_fm_set_list(fm, "attachments", &items);
    rc = dx_workspace_write(ws, index, fm, err);
    dx_strlist_release(&items);
    dx_buf_release(&link);
    dx_fm_free(fm);
    return rc;
}

int dx_workspace_fix(dx_workspace *ws, const dx_report *r, dx_strlist *fixed, dx_strlist *failed,
                     dx_error *err)
{
    (void)err;
    for (size_t i = 0; i < r->len; i++) {
        const dx_issue *it = &r->items[i];
        dx_error e = DX_ERROR_INIT;
        int rc = 1; /* 1 = no fix for this kind */
        const char *k = it->kind;
        if (!strcmp(k, "BrokenPartOf") || !strcmp(k, "BrokenContentsRef") ||
            !strcmp(k, "CircularReference") || !strcmp(k, "BrokenAttachment") ||
            !strcmp(k, "LinkOutsideWorkspace"))
            rc = drop_link(ws, it->file, it->target, &e);
        else if (!strcmp(k, "OrphanFile") || !strcmp(k, "MissingPartOf"))
            rc = dx_workspace_attach(ws, it->suggestion, it->file, false, &e);
        else if (!strcmp(k, "OrphanBinaryFile"))
            rc = add_attachment(ws, it->suggestion, it->file, &e);
        else if (!strcmp(k, "NonPortablePath"))
            rc = replace_link(ws, it->file, it->target, it->suggestion, &e);
        if (rc == 1)
            continue;
        char line[2048];
        if (rc == 0) {
            snprintf(line, sizeof line, "%s: %s", k, it->message);
            dx_strlist_push(fixed, line);
        } else {
            snprintf(line, sizeof line, "%s: %s (%s)", k, it->message,
                     e.msg[0] ? e.msg : dx_strerror(rc));
            dx_strlist_push(failed, line);
        }
    }
    return 0;
}

int dx_report_json(const dx_report *r, dx_buf *out)
{
    json_t *errors = json_array(), *warnings = json_array();
    for (size_t i = 0; i < r->len; i++) {
        const dx_issue *it = &r->items[i];
        json_t *o = json_pack("{s:s, s:s, s:s}", "type", it->kind, "file", it->file, "message",
                              it->message);
        if (it->target)
            json_object_set_new(o, "target", json_string(it->target));
        if (it->suggestion)
            json_object_set_new(o, "suggestion", json_string(it->suggestion));
        json_array_append_new(it->error ? errors : warnings, o);
    }
    json_t *root = json_pack("{s:o, s:o, s:I}", "errors", errors, "warnings", warnings,
                             "files_checked", (json_int_t)r->files_checked);
    char *s = root ? json_dumps(root, JSON_INDENT(2)) : NULL;
    json_decref(root);
    if (!s)
        return DX_ENOMEM;
    int rc = dx_buf_puts(out, s);
    free(s);
    return rc;
}
