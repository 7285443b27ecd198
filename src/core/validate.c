/* validate.c - workspace validation (errors and warnings) and their fixes. */
#include "workspace_int.h"

#include <jansson.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "diaryx/blobstore.h"
#include "diaryx/edit.h"
#include "diaryx/fs.h"
#include "diaryx/ignore.h"
#include "diaryx/paths.h"
#include "diaryx/strmap.h"

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
    /* The capacity is the next power of two (at least 8) above len: a report of 40,000
     * issues grows 13 times, not 40,000. */
    if (r->len == 0 || (r->len >= 8 && !(r->len & (r->len - 1)))) {
        size_t cap = r->len ? r->len * 2 : 8;
        dx_issue *items = realloc(r->items, cap * sizeof *items);
        if (!items)
            return DX_ENOMEM;
        r->items = items;
    }
    dx_issue *it = &r->items[r->len++];
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
    dx_strmap visited;     /* set of visited files */
    dx_strmap attachments; /* set of resolved attachments of visited files */
    dx_strlist indexes;    /* visited files with contents */
} walk;

/* Check the links of one list key of file rel. Returns resolved targets in out. */
static int check_links(walk *w, const char *rel, dx_fm *fm, const char *key, dx_strlist *out,
                       dx_strlist *raw, dx_strmap *out_set)
{
    dx_strlist items = DX_STRLIST_INIT;
    int rc = dx_fm_get_list(fm, key, &items);
    bool is_contents = !strcmp(key, "contents");
    for (size_t i = 0; !rc && i < items.len; i++) {
        const char *link = items.items[i];
        dx_link l;
        if (dx_link_parse(link, &l) == 0) {
            if (non_portable(l.path)) {
                rc = add(w->r, "NonPortablePath", false, rel, link, dx_path_basename(l.path),
                         "%s: %s '%s' is an absolute path on one computer", rel, key, link);
                dx_link_release(&l);
                continue;
            }
            dx_link_release(&l);
        }
        dx_buf p = DX_BUF_INIT;
        dx_error err = DX_ERROR_INIT;
        if (dx_workspace_resolve(w->ws, rel, link, &p, &err) != 0) {
            rc = add(w->r, "LinkOutsideWorkspace", true, rel, link, NULL,
                     "%s: %s '%s' points outside the workspace", rel, key, link);
        } else {
            bool exists = p.len && dx_ws_exists(w->ws, p.data);
            if (!exists)
                rc = add(w->r, is_contents ? "BrokenContentsRef" : "BrokenAttachment", true, rel,
                         link, NULL, "%s: %s entry '%s' does not exist", rel, key, link);
            else if (is_contents && !dx_path_is_markdown(p.data))
                rc = add(w->r, "InvalidContentsRef", false, rel, link, NULL,
                         "%s: contents entry '%s' is not a markdown file", rel, link);
            else if (out_set) {
                rc = dx_strmap_put(out_set, p.data, (void *)1);
            } else {
                rc = dx_strlist_push(out, p.data);
                if (!rc && raw)
                    rc = dx_strlist_push(raw, link);
            }
        }
        dx_buf_release(&p);
    }
    dx_strlist_release(&items);
    return rc;
}

static int visit(walk *w, const char *rel, const char *parent, const char *link)
{
    if (dx_strmap_get(&w->visited, rel))
        return add(w->r, "CircularReference", false, parent, link, rel,
                   "%s is reached twice (again from %s); remove it from one contents list", rel,
                   parent);
    int rc = dx_strmap_put(&w->visited, rel, (void *)1);
    w->r->files_checked++;
    dx_fm *fm = NULL;
    dx_error err = DX_ERROR_INIT;
    if (dx_ws_read_fm(w->ws, rel, &fm, &err) != 0)
        return rc ? rc : add(w->r, "InvalidFrontmatter", true, rel, NULL, NULL, "%s", err.msg);
    if (!rc && dx_fm_unclosed(fm))
        rc = add(w->r, "UnclosedFrontmatter", false, rel, NULL, NULL,
                 "%s starts with '---' but its frontmatter is never closed", rel);
    const char *po = dx_fm_get(fm, "part_of");
    bool root = !strcmp(rel, w->ws->root_file);
    if (!rc && po) {
        dx_strlist parents = DX_STRLIST_INIT;
        dx_fm *tmp = NULL;
        /* part_of is a single link; check it like a one-item list. */
        if ((rc = dx_fm_new(&tmp)) == 0 && (rc = dx_fm_set(tmp, "part_of", po)) == 0) {
            size_t before = w->r->len;
            rc = check_links(w, rel, tmp, "part_of", &parents, NULL, NULL);
            for (size_t i = before; i < w->r->len; i++)
                if (!strcmp(w->r->items[i].kind, "BrokenAttachment"))
                    w->r->items[i].kind = "BrokenPartOf";
        }
        dx_fm_free(tmp);
        dx_strlist_release(&parents);
    } else if (!rc && !root && parent) {
        rc = add(w->r, "MissingPartOf", false, rel, NULL, parent,
                 "%s has no part_of (it is listed by %s)", rel, parent);
    }
    if (!rc && dx_fm_has(fm, "contents"))
        rc = dx_strlist_push(&w->indexes, rel);
    dx_strlist kids = DX_STRLIST_INIT, raw = DX_STRLIST_INIT;
    if (!rc)
        rc = check_links(w, rel, fm, "attachments", NULL, NULL, &w->attachments);
    if (!rc)
        rc = check_links(w, rel, fm, "contents", &kids, &raw, NULL);
    dx_fm_free(fm);
    for (size_t i = 0; !rc && i < kids.len; i++)
        if (dx_path_is_markdown(kids.items[i]))
            rc = visit(w, kids.items[i], rel, raw.items[i]);
    dx_strlist_release(&kids);
    dx_strlist_release(&raw);
    return rc;
}

/* The index of directory dir for orphan suggestions (NULL when it has none), looked up once
 * per directory: finding it may read every file of the directory. */
static const char *dir_index_memo(walk *w, dx_strmap *memo, const char *dir, int *rc)
{
    char *ix = dx_strmap_get(memo, dir);
    if (!ix) {
        dx_buf idx = DX_BUF_INIT;
        bool found = dx_workspace_dir_index(w->ws, dir, false, &idx, NULL) == 0;
        ix = strdup(found ? dx_buf_cstr(&idx) : "");
        dx_buf_release(&idx);
        if (!ix || dx_strmap_put(memo, dir, ix)) {
            free(ix);
            *rc = DX_ENOMEM;
            return NULL;
        }
    }
    return ix[0] ? ix : NULL;
}

/* A file on disk that the walk did not reach. A markdown file that does not parse (or whose
 * frontmatter is never closed) is reported as such: linking it would need a frontmatter
 * it does not have, so it has no orphan fix. */
static int check_unreached(walk *w, dx_strmap *memo, const char *f)
{
    bool md = dx_path_is_markdown(f);
    if (md ? dx_strmap_get(&w->visited, f) != NULL : dx_strmap_get(&w->attachments, f) != NULL)
        return 0;
    int rc = 0;
    if (md) {
        dx_fm *fm = NULL;
        dx_error e = DX_ERROR_INIT;
        if (dx_ws_read_fm(w->ws, f, &fm, &e) != 0)
            rc = add(w->r, "InvalidFrontmatter", true, f, NULL, NULL,
                     "%s (the file is not linked from the root either)", e.msg);
        else if (dx_fm_unclosed(fm))
            rc = add(w->r, "UnclosedFrontmatter", false, f, NULL, NULL,
                     "%s starts with '---' but its frontmatter is never closed (and it is not "
                     "linked from the root); add the closing '---' line",
                     f);
        bool bad = fm == NULL || dx_fm_unclosed(fm);
        dx_fm_free(fm);
        if (bad)
            return rc;
    }
    /* Suggest the index of the nearest directory that has one. */
    dx_buf dir = DX_BUF_INIT;
    const char *idx = NULL;
    dx_path_dirname(f, &dir);
    for (;;) {
        idx = dir.len ? dir_index_memo(w, memo, dir.data, &rc) : w->ws->root_file;
        if (rc || (idx && strcmp(idx, f) != 0))
            break;
        if (!dir.len) {
            idx = w->ws->root_file;
            break;
        }
        const char *slash = strrchr(dir.data, '/');
        dx_buf_truncate(&dir, slash ? (size_t)(slash - dir.data) : 0);
    }
    if (!rc && md)
        rc = add(w->r, "OrphanFile", false, f, NULL, idx,
                 "%s is not reachable from the root (suggested index: %s)", f, idx);
    else if (!rc)
        rc = add(w->r, "OrphanBinaryFile", false, f, NULL, idx,
                 "%s is not listed in any attachments (suggested index: %s)", f, idx);
    dx_buf_release(&dir);
    return rc;
}

static void memo_release(dx_strmap *m)
{
    for (size_t i = 0; i < m->cap; i++)
        if (m->slots[i].key)
            free(m->slots[i].value);
    dx_strmap_release(m);
}

int dx_workspace_validate(dx_workspace *ws, dx_report *out, dx_error *err)
{
    walk w = {ws, out, DX_STRMAP_INIT, DX_STRMAP_INIT, DX_STRLIST_INIT};
    dx_strmap memo = DX_STRMAP_INIT, index_of = DX_STRMAP_INIT;
    memset(out, 0, sizeof *out);
    int rc = visit(&w, ws->root_file, NULL, NULL);
    dx_strlist files = DX_STRLIST_INIT;
    if (!rc)
        rc = dx_workspace_list_files(ws, false, &files, err);
    if (!rc) /* files git ignores or `exclude` globs leave out are no orphans */
        rc = dx_ignore_filter_workspace(ws, &files, err);
    for (size_t i = 0; !rc && i < files.len; i++)
        rc = check_unreached(&w, &memo, files.items[i]);
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
        dx_buf di = DX_BUF_INIT;
        dx_path_dirname(w.indexes.items[i], &di);
        const char *first = dx_strmap_get(&index_of, dx_buf_cstr(&di));
        if (first)
            rc = add(out, "MultipleIndexes", false, w.indexes.items[i], first, NULL,
                     "%s and %s are both indexes of the directory '%s'", first, w.indexes.items[i],
                     dx_buf_cstr(&di));
        else
            rc = dx_strmap_put(&index_of, dx_buf_cstr(&di), w.indexes.items[i]);
        dx_buf_release(&di);
    }
    memo_release(&memo);
    dx_strmap_release(&index_of);
    dx_strlist_release(&w.indexes);
    dx_strlist_release(&files);
    dx_strmap_release(&w.visited);
    dx_strmap_release(&w.attachments);
    if (rc && rc != DX_ENOMEM)
        return rc;
    return rc ? dx_error_set(err, rc, "out of memory validating the workspace") : 0;
}

/* ---- fixes -------------------------------------------------------------------------------
 * The fixes are grouped by the file they edit, so that each file is read and written once
 * however many of its issues are fixed (one parse and one write of an index with 50,000
 * broken links, not one per link). An issue counts as fixed only when its fix changed the
 * file; a fix that finds nothing to change is reported as not fixed, so a second --fix
 * never reports the same fix again. */

typedef enum fix_kind { FIX_NONE, FIX_LINKS, FIX_CONTENTS, FIX_ATTACHMENTS } fix_kind;

/* Which group fixes an issue, and the file that group edits. */
static fix_kind fix_of(const dx_issue *it, const char **file)
{
    const char *k = it->kind;
    *file = it->file;
    if (!strcmp(k, "BrokenPartOf") || !strcmp(k, "BrokenContentsRef") ||
        !strcmp(k, "CircularReference") || !strcmp(k, "BrokenAttachment") ||
        !strcmp(k, "LinkOutsideWorkspace") || !strcmp(k, "NonPortablePath"))
        return it->target ? FIX_LINKS : FIX_NONE;
    *file = it->suggestion;
    if (!strcmp(k, "OrphanFile") || !strcmp(k, "MissingPartOf"))
        return it->suggestion ? FIX_CONTENTS : FIX_NONE;
    if (!strcmp(k, "OrphanBinaryFile"))
        return it->suggestion ? FIX_ATTACHMENTS : FIX_NONE;
    return FIX_NONE;
}

typedef struct fix_group {
    fix_kind kind;
    const char *file; /* the file the group edits (borrowed from the report) */
    size_t *issues;
    size_t n, cap;
} fix_group;

typedef struct fixer {
    dx_workspace *ws;
    const dx_report *r;
    char **why; /* per issue: why it was not fixed (owned), NULL when fixed */
    bool *done; /* per issue: its fix ran */
} fixer;

static void fix_result(fixer *f, size_t i, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Record the outcome of issue i: fixed when fmt is NULL, else not fixed and why. */
static void fix_result(fixer *f, size_t i, const char *fmt, ...)
{
    f->done[i] = true;
    free(f->why[i]);
    f->why[i] = NULL;
    if (!fmt)
        return;
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    f->why[i] = strdup(msg);
}

static void fix_group_failed(fixer *f, const fix_group *g, int rc, const dx_error *e)
{
    for (size_t j = 0; j < g->n; j++)
        fix_result(f, g->issues[j], "%s", e->msg[0] ? e->msg : dx_strerror(rc));
}

/* Remove (target of a broken link) or replace (target of a non-portable path, by its
 * suggestion) the links of one file, in part_of, contents and attachments. */
static int fix_links(fixer *f, const fix_group *g)
{
    static const char *const keys[] = {"part_of", "contents", "attachments"};
    dx_strmap drop = DX_STRMAP_INIT, hit = DX_STRMAP_INIT;
    dx_fm *fm = NULL;
    dx_error e = DX_ERROR_INIT;
    bool changed = false;
    int rc = dx_workspace_read(f->ws, g->file, &fm, &e);
    for (size_t j = 0; !rc && j < g->n; j++) {
        const dx_issue *it = &f->r->items[g->issues[j]];
        bool replace = !strcmp(it->kind, "NonPortablePath") && it->suggestion;
        /* value: the replacement, or the link itself for a removal */
        rc = dx_strmap_put(&drop, it->target, replace ? it->suggestion : it->target);
    }
    for (size_t k = 0; !rc && k < 3; k++) {
        dx_fm_kind kind = dx_fm_kind_of(fm, keys[k]);
        if (kind != DX_FM_SCALAR && kind != DX_FM_LIST)
            continue;
        dx_strlist items = DX_STRLIST_INIT, kept = DX_STRLIST_INIT;
        bool any = false;
        rc = dx_fm_get_list(fm, keys[k], &items);
        for (size_t i = 0; !rc && i < items.len; i++) {
            const char *to = dx_strmap_get(&drop, items.items[i]);
            if (!to) {
                rc = dx_strlist_push(&kept, items.items[i]);
                continue;
            }
            any = true;
            rc = dx_strmap_put(&hit, items.items[i], (void *)1);
            if (!rc && strcmp(to, items.items[i]) != 0)
                rc = dx_strlist_push(&kept, to);
        }
        if (!rc && any) {
            changed = true;
            /* A single link stays a single link; part_of without one goes. */
            if (kind == DX_FM_SCALAR && kept.len == 1)
                rc = dx_fm_set(fm, keys[k], kept.items[0]);
            else if (k == 0 && !kept.len)
                rc = dx_fm_remove(fm, keys[k]);
            else
                rc = dx_fm_set_list(fm, keys[k], &kept);
        }
        dx_strlist_release(&items);
        dx_strlist_release(&kept);
    }
    if (!rc && changed)
        rc = dx_workspace_write(f->ws, g->file, fm, &e);
    if (rc == DX_ENOMEM)
        dx_error_set(&e, rc, "out of memory fixing '%s'", g->file);
    if (rc) {
        fix_group_failed(f, g, rc, &e);
    } else {
        for (size_t j = 0; j < g->n; j++) {
            const dx_issue *it = &f->r->items[g->issues[j]];
            if (dx_strmap_get(&hit, it->target))
                fix_result(f, g->issues[j], NULL);
            else
                fix_result(f, g->issues[j], "'%s' is no longer a link of %s", it->target, g->file);
        }
    }
    dx_fm_free(fm);
    dx_strmap_release(&drop);
    dx_strmap_release(&hit);
    return rc == DX_ENOMEM ? rc : 0;
}

/* Give child (read into cf) the part_of link to index, unless it has it already. */
static int set_part_of(fixer *f, const char *index, const char *index_title, const char *child,
                       dx_fm *cf, dx_error *e)
{
    if (!child[0] || !strcmp(child, f->ws->root_file))
        return 0;
    dx_buf link = DX_BUF_INIT;
    int rc = dx_link_write(index, child, index_title, f->ws->format, &link);
    const char *cur = dx_fm_get(cf, "part_of");
    if (!rc && (!cur || strcmp(cur, link.data) != 0)) {
        bool fresh = !dx_fm_has(cf, "part_of");
        rc = dx_fm_set(cf, "part_of", link.data);
        /* A new part_of goes right after the title, where people look for it. */
        if (!rc && fresh)
            rc = dx_fm_move(cf, "part_of", dx_fm_has(cf, "title") ? 1 : 0);
        if (!rc)
            rc = dx_workspace_write(f->ws, child, cf, e);
    }
    dx_buf_release(&link);
    return rc;
}

/* Link files into one index: orphans and children without part_of into its contents (and
 * their part_of to it), binary orphans into its attachments. The index's list is resolved
 * once, not once per file added. */
static int fix_index(fixer *f, const fix_group *g)
{
    const char *key = g->kind == FIX_CONTENTS ? "contents" : "attachments";
    dx_strmap listed = DX_STRMAP_INIT;
    dx_strlist items = DX_STRLIST_INIT;
    dx_buf link = DX_BUF_INIT;
    dx_fm *pf = NULL;
    dx_error e = DX_ERROR_INIT;
    bool changed = false;
    int rc = dx_workspace_read(f->ws, g->file, &pf, &e);
    if (!rc)
        rc = dx_ws_resolved_list(f->ws, g->file, pf, key, &items, NULL);
    for (size_t i = 0; !rc && i < items.len; i++)
        rc = dx_strmap_put(&listed, items.items[i], (void *)1);
    dx_strlist_release(&items);
    if (!rc)
        rc = dx_fm_get_list(pf, key, &items);
    const char *title = pf ? dx_fm_get(pf, "title") : NULL;
    for (size_t j = 0; !rc && j < g->n; j++) {
        const char *child = f->r->items[g->issues[j]].file;
        dx_fm *cf = NULL;
        dx_error ce = DX_ERROR_INIT;
        if (!strcmp(child, g->file)) {
            fix_result(f, g->issues[j], "cannot link '%s' under itself", child);
            continue;
        }
        if (g->kind == FIX_CONTENTS && dx_workspace_read(f->ws, child, &cf, &ce) != 0) {
            fix_result(f, g->issues[j], "%s", ce.msg);
            continue;
        }
        if (!dx_strmap_get(&listed, child)) {
            dx_buf_reset(&link);
            rc = dx_link_write(child, g->file, cf ? dx_fm_get(cf, "title") : NULL, f->ws->format,
                               &link);
            if (!rc && !(rc = dx_strlist_push(&items, link.data)))
                rc = dx_strmap_put(&listed, child, (void *)1);
            changed = true;
        }
        int crc = rc || !cf ? 0 : set_part_of(f, g->file, title, child, cf, &ce);
        dx_fm_free(cf);
        if (crc)
            fix_result(f, g->issues[j], "%s", ce.msg[0] ? ce.msg : dx_strerror(crc));
        else if (!rc)
            fix_result(f, g->issues[j], NULL);
        if (crc == DX_ENOMEM)
            rc = crc;
    }
    if (!rc && changed && !(rc = dx_fm_set_list(pf, key, &items)))
        rc = dx_workspace_write(f->ws, g->file, pf, &e);
    if (rc == DX_ENOMEM)
        dx_error_set(&e, rc, "out of memory fixing '%s'", g->file);
    if (rc)
        fix_group_failed(f, g, rc, &e);
    dx_fm_free(pf);
    dx_strmap_release(&listed);
    dx_strlist_release(&items);
    dx_buf_release(&link);
    return rc == DX_ENOMEM ? rc : 0;
}

int dx_workspace_fix(dx_workspace *ws, const dx_report *r, dx_strlist *fixed, dx_strlist *failed,
                     dx_error *err)
{
    fixer f = {ws, r, calloc(r->len ? r->len : 1, sizeof(char *)),
               calloc(r->len ? r->len : 1, sizeof(bool))};
    dx_strmap at = DX_STRMAP_INIT; /* "<kind>:<file>" -> group index + 1 */
    fix_group *groups = NULL;
    size_t ng = 0;
    int rc = f.why && f.done ? 0 : DX_ENOMEM;
    for (size_t i = 0; !rc && i < r->len; i++) {
        const char *file;
        fix_kind kind = fix_of(&r->items[i], &file);
        if (kind == FIX_NONE)
            continue;
        dx_buf key = DX_BUF_INIT;
        rc = dx_buf_printf(&key, "%d:%s", (int)kind, file);
        size_t g = rc ? 0 : (size_t)(uintptr_t)dx_strmap_get(&at, key.data);
        if (!rc && !g) {
            fix_group *p = realloc(groups, (ng + 1) * sizeof *p);
            if (p) {
                groups = p;
                groups[ng] = (fix_group){kind, file, NULL, 0, 0};
                g = ++ng;
            }
            rc = !p ? DX_ENOMEM : dx_strmap_put(&at, key.data, (void *)(uintptr_t)g);
        }
        dx_buf_release(&key);
        fix_group *grp = rc ? NULL : &groups[g - 1];
        if (grp && grp->n == grp->cap) {
            size_t cap = grp->cap ? grp->cap * 2 : 4;
            size_t *p = realloc(grp->issues, cap * sizeof *p);
            if (!p)
                rc = DX_ENOMEM;
            else {
                grp->issues = p;
                grp->cap = cap;
            }
        }
        if (!rc)
            grp->issues[grp->n++] = i;
    }
    /* Links first, then new links into indexes (an index may lose broken links and gain
     * orphans in one run). */
    for (int pass = FIX_LINKS; !rc && pass <= FIX_ATTACHMENTS; pass++)
        for (size_t g = 0; !rc && g < ng; g++)
            if ((int)groups[g].kind == pass)
                rc = pass == FIX_LINKS ? fix_links(&f, &groups[g]) : fix_index(&f, &groups[g]);
    for (size_t i = 0; !rc && i < r->len; i++) {
        const dx_issue *it = &r->items[i];
        if (!f.done[i])
            continue;
        rc = f.why[i] ? dx_strlist_pushf(failed, "%s: %s (%s)", it->kind, it->message, f.why[i])
                      : dx_strlist_pushf(fixed, "%s: %s", it->kind, it->message);
    }
    for (size_t i = 0; f.why && i < r->len; i++)
        free(f.why[i]);
    for (size_t g = 0; g < ng; g++)
        free(groups[g].issues);
    free(groups);
    free(f.why);
    free(f.done);
    dx_strmap_release(&at);
    return rc ? dx_error_set(err, rc, "out of memory fixing the workspace") : 0;
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

int dx_workspace_validate_attachments(dx_workspace *ws, y_doc *doc, dx_report *out, dx_error *err)
{
    y_type *map = y_doc_get_map(doc, DX_BLOBS_MAP);
    dx_strlist paths = DX_STRLIST_INIT;
    dx_buf abs = DX_BUF_INIT;
    int rc = map ? 0 : dx_error_set(err, DX_ENOMEM, "out of memory");
    y_map_iter it;
    const char *key;
    y_value v;
    if (map)
        for (y_map_iter_init(&it, map); !rc && y_map_iter_next(&it, &key, &v);)
            rc = dx_strlist_push(&paths, key) ? dx_error_set(err, DX_ENOMEM, "out of memory") : 0;
    dx_strlist_sort(&paths);
    for (size_t i = 0; !rc && i < paths.len; i++) {
        const char *p = paths.items[i];
        dx_attachment_meta m;
        struct stat st;
        char got[DX_SHA256_HEX];
        int r = dx_attachment_meta_get(doc, p, &m);
        if (r == DX_ENOMEM) {
            rc = dx_error_set(err, r, "out of memory");
        } else if (r) {
            rc = add(out, "AttachmentRecordInvalid", false, p, NULL, NULL,
                     "%s: its attachment record is not {sha256, size, type}; record it again "
                     "with `diaryx attach add`",
                     p);
        } else if (dx_fs_stat_in(dx_workspace_root(ws), p, &st, NULL) != 0 ||
                   !S_ISREG(st.st_mode)) {
            rc = add(out, "AttachmentMissing", true, p, NULL, NULL,
                     "%s: the bytes of this attachment are missing (SHA-256 %s, %llu bytes); "
                     "put the file back or remove it with `diaryx attach rm`",
                     p, m.sha256, (unsigned long long)m.size);
        } else {
            dx_buf_reset(&abs);
            if (dx_buf_printf(&abs, "%s/%s", dx_workspace_root(ws), p)) {
                rc = dx_error_set(err, DX_ENOMEM, "out of memory");
                break;
            }
            dx_error herr = DX_ERROR_INIT;
            if (dx_blob_hash_file(abs.data, got, NULL, &herr) != 0)
                rc = add(out, "AttachmentMissing", true, p, NULL, NULL,
                         "%s: the bytes of this attachment cannot be read: %s", p, herr.msg);
            else if (strcmp(got, m.sha256) != 0)
                rc = add(out, "AttachmentChanged", true, p, NULL, NULL,
                         "%s: the file's SHA-256 is %s, not the recorded %s (%llu bytes); "
                         "record the new bytes with `diaryx attach add` or restore the file",
                         p, got, m.sha256, (unsigned long long)m.size);
        }
        if (rc == DX_ENOMEM && !(err && err->code))
            dx_error_set(err, rc, "out of memory");
    }
    dx_strlist_release(&paths);
    dx_buf_release(&abs);
    return rc;
}
