/* edit.c - workspace edits as CRDT operations on a workspace's documents; no I/O. */
#include "diaryx/edit.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "diaryx/bodydoc.h"
#include "diaryx/materialize.h"
#include "diaryx/paths.h"
#include "diaryx/strmap.h"
#include "diaryx/workspace.h"
#include "diaryx/wsdoc.h"

/* The body document of a live entry. */
static int live_body(const dx_docs *d, const char *id, y_doc **body, dx_error *err)
{
    if (!dx_wsdoc_is_live(d->workspace, id))
        return dx_error_set(err, DX_ENOTFOUND, "no entry with id '%s' in the workspace", id);
    return d->body(d->ud, id, body, err);
}

static int changed(const dx_docs *d, const char *id, dx_error *err)
{
    return d->changed && d->changed(d->ud, id) ? dx_error_set(err, DX_ENOMEM, "out of memory") : 0;
}

int dx_edit_body_get(const dx_docs *d, const char *id, dx_buf *out, dx_error *err)
{
    y_doc *body;
    int rc = live_body(d, id, &body, err);
    return rc ? rc : dx_body_get(body, out, err);
}

int dx_edit_body_set(const dx_docs *d, const char *id, const char *text, size_t len, dx_error *err)
{
    y_doc *body;
    int rc = live_body(d, id, &body, err);
    if (!rc)
        rc = dx_body_set(body, text, len, err);
    return rc ? rc : changed(d, id, err);
}

/* Insert text at one end of the body, with a newline added where the lines need one. */
static int insert_lines(const dx_docs *d, const char *id, bool at_end, const char *text, size_t len,
                        dx_error *err)
{
    y_doc *body;
    dx_buf cur = DX_BUF_INIT, add = DX_BUF_INIT;
    int rc = live_body(d, id, &body, err);
    if (rc || !len)
        goto done;
    if ((rc = dx_body_get(body, &cur, err)))
        goto done;
    bool nl_before = at_end && cur.len && cur.data[cur.len - 1] != '\n';
    bool nl_after = text[len - 1] != '\n' && (at_end || cur.len);
    if ((nl_before && dx_buf_putc(&add, '\n')) || dx_buf_append(&add, text, len) ||
        (nl_after && dx_buf_putc(&add, '\n'))) {
        rc = dx_error_set(err, DX_ENOMEM, "out of memory");
        goto done;
    }
    if (!(rc = dx_body_insert(body, at_end, add.data, add.len, err)))
        rc = changed(d, id, err);
done:
    dx_buf_release(&cur);
    dx_buf_release(&add);
    return rc;
}

int dx_edit_body_append(const dx_docs *d, const char *id, const char *text, size_t len,
                        dx_error *err)
{
    return insert_lines(d, id, true, text, len, err);
}

int dx_edit_body_prepend(const dx_docs *d, const char *id, const char *text, size_t len,
                         dx_error *err)
{
    return insert_lines(d, id, false, text, len, err);
}

/* ---- entries and their places ------------------------------------------------------------- */

static int nomem(dx_error *err)
{
    return dx_error_set(err, DX_ENOMEM, "out of memory");
}

static int find_id(const dx_docs *d, const char *path, char out[DX_UUID_LEN + 1])
{
    return d->find ? d->find(d->ud, path, out) : dx_wsdoc_find_path(d->workspace, path, out, NULL);
}

static void paths_changed(const dx_docs *d)
{
    if (d->paths_changed)
        d->paths_changed(d->ud);
}

int dx_edit_find(const dx_docs *d, const char *path, char out[DX_UUID_LEN + 1], dx_error *err)
{
    int rc = find_id(d, path, out);
    if (rc == DX_ENOTFOUND)
        return dx_error_set(err, rc, "'%s' is not an entry of the workspace", path);
    return rc ? dx_error_set(err, rc, "cannot look up '%s': %s", path, dx_strerror(rc)) : 0;
}

/* A live entry, read whole into e. */
static int live_entry(const dx_docs *d, const char *id, dx_entry *e, dx_error *err)
{
    if (!dx_wsdoc_is_live(d->workspace, id))
        return dx_error_set(err, DX_ENOTFOUND, "no entry with id '%s' in the workspace", id);
    return dx_wsdoc_get(d->workspace, id, e, err);
}

/* The directory of entry id's file ("" for the root directory); id NULL: "". */
static int dir_of(const dx_docs *d, const char *id, dx_buf *dir, dx_error *err)
{
    dx_buf p = DX_BUF_INIT;
    int rc = id ? dx_wsdoc_path(d->workspace, id, &p, err) : 0;
    if (!rc && id && dx_path_dirname(p.data, dir))
        rc = nomem(err);
    dx_buf_release(&p);
    return rc;
}

/* path relative to directory dir ("" = the root), or NULL when path is not below dir. */
static const char *below(const char *path, const char *dir)
{
    size_t n = strlen(dir);
    if (!n)
        return path;
    return strncmp(path, dir, n) == 0 && path[n] == '/' && path[n + 1] ? path + n + 1 : NULL;
}

/* 1 when the live entry at path is an index (without parent, for root), its id into out;
 * 0 when not; a negative code when it cannot be told (out of memory). */
static int index_at(const dx_docs *d, const char *path, bool root, char out[DX_UUID_LEN + 1])
{
    dx_entry e = DX_ENTRY_INIT;
    int rc = find_id(d, path, out);
    if (!rc)
        rc = dx_wsdoc_get(d->workspace, out, &e, NULL);
    int yes = !rc && e.is_index && (!root || !e.part_of);
    dx_entry_release(&e);
    return rc && rc != DX_ENOTFOUND ? rc : yes;
}

/* The rest of the lookup of dx_edit_dir_index: any index directly in dir, the first by name
 * (or, for "", the root index: an index without parent). */
typedef struct scan_dir {
    y_doc *ws;
    const char *dir;
    dx_buf best; /* path */
    char id[DX_UUID_LEN + 1];
} scan_dir;

static int scan_dir_entry(void *ud, const char *id, const char *path)
{
    scan_dir *s = ud;
    const char *name = below(path, s->dir);
    if (!name || strchr(name, '/') || (s->best.len && strcmp(path, s->best.data) >= 0))
        return 0;
    dx_entry e = DX_ENTRY_INIT;
    int rc = dx_wsdoc_get(s->ws, id, &e, NULL);
    bool take = !rc && e.is_index && (s->dir[0] || !e.part_of);
    dx_entry_release(&e);
    if (rc && rc != DX_ENOTFOUND)
        return rc;
    if (take) {
        dx_buf_reset(&s->best);
        if (dx_buf_puts(&s->best, path))
            return DX_ENOMEM;
        snprintf(s->id, sizeof s->id, "%s", id);
    }
    return 0;
}

int dx_edit_dir_index(const dx_docs *d, const char *dir, bool create, char out[DX_UUID_LEN + 1],
                      dx_error *err)
{
    const char *name = dx_path_basename(dir);
    dx_buf cand = DX_BUF_INIT, title = DX_BUF_INIT;
    int rc = 0;
    /* The usual names first: one lookup each instead of a walk of every entry. */
    const char *fmts[] = {"%s/%s.md", "%s/index.md", "%s/README.md", "%s/%s_index.md"};
    const char *roots[] = {"README.md", "index.md"};
    for (size_t i = 0; i < (dir[0] ? 4 : 2); i++) {
        dx_buf_reset(&cand);
        if (dir[0] ? dx_buf_printf(&cand, fmts[i], dir, name) /* name unused by two */
                   : dx_buf_puts(&cand, roots[i]))
            return nomem(err);
        if ((rc = index_at(d, cand.data, !dir[0], out)) < 0)
            return dx_error_set(err, rc, "cannot look up '%s': %s", cand.data, dx_strerror(rc));
        if (rc) {
            rc = 0;
            goto done;
        }
    }
    scan_dir s = {d->workspace, dir, DX_BUF_INIT, {0}};
    rc = dx_wsdoc_each_path(d->workspace, scan_dir_entry, &s, err);
    bool found = s.best.len > 0;
    if (found)
        snprintf(out, DX_UUID_LEN + 1, "%s", s.id);
    dx_buf_release(&s.best);
    if (rc == DX_ENOMEM)
        rc = nomem(err);
    if (rc || found)
        goto done;
    if (!create || !dir[0]) {
        rc = dx_error_set(
            err, DX_ENOTFOUND,
            dir[0] ? "directory '%s' has no index" : "the workspace has no root index%s", dir);
        goto done;
    }
    /* Folder index convention: <dir>/<dir name>.md, linked into the parent directory. */
    dx_buf_reset(&cand);
    if (dx_buf_printf(&cand, "%s/%s.md", dir, name) || dx_title_from_path(cand.data, &title)) {
        rc = nomem(err);
        goto done;
    }
    rc = dx_edit_create_path(d, cand.data, title.data, true, out, NULL, err);
done:
    dx_buf_release(&cand);
    dx_buf_release(&title);
    return rc;
}

int dx_edit_create(const dx_docs *d, const dx_edit_new *n, char id[DX_UUID_LEN + 1], dx_error *err)
{
    dx_buf dir = DX_BUF_INIT, path = DX_BUF_INIT;
    dx_entry e = DX_ENTRY_INIT;
    char other[DX_UUID_LEN + 1];
    y_doc *body = NULL;
    int rc = 0;
    if (n->parent_id && !dx_wsdoc_is_live(d->workspace, n->parent_id))
        rc = dx_error_set(err, DX_ENOTFOUND, "no entry with id '%s' in the workspace (the parent)",
                          n->parent_id);
    if (!rc)
        rc = dir_of(d, n->parent_id, &dir, err);
    if (!rc && (!n->filename || !n->filename[0]))
        rc = dx_error_set(err, DX_EINVAL, "a new entry needs a file name");
    if (!rc)
        rc = dx_path_join(dx_buf_cstr(&dir), n->filename, &path, err);
    /* The name is a path below the parent's directory, as written ("a/../b.md" is not). */
    const char *rest = rc ? NULL : below(path.data, dx_buf_cstr(&dir));
    if (!rc && (!rest || strcmp(rest, n->filename) != 0))
        rc = dx_error_set(err, DX_EPATH,
                          "'%s' is not a file name below the directory of its parent ('%s/'); "
                          "give a normalised relative path",
                          n->filename, dx_buf_cstr(&dir));
    if (!rc)
        rc = dx_workspace_check_path(path.data, NULL, err);
    if (!rc && find_id(d, path.data, other) == 0)
        rc = dx_error_set(err, DX_EEXIST, "'%s' already exists", path.data);
    if (rc)
        goto done;
    e.filename = strdup(n->filename);
    e.title = n->title ? strdup(n->title) : NULL;
    e.part_of = n->parent_id ? strdup(n->parent_id) : NULL;
    e.is_index = n->index;
    if (!e.filename || (n->title && !e.title) || (n->parent_id && !e.part_of)) {
        rc = nomem(err);
        goto done;
    }
    if ((rc = y_doc_begin(d->workspace, NULL)) != Y_OK) {
        rc = nomem(err);
        goto done;
    }
    rc = dx_wsdoc_put(d->workspace, &e, err);
    if (!rc && n->parent_id)
        rc = dx_wsdoc_contents_insert(d->workspace, n->parent_id, n->at, e.id, err);
    y_doc_commit(d->workspace);
    if (rc)
        goto done;
    snprintf(id, DX_UUID_LEN + 1, "%s", e.id);
    paths_changed(d);
    if (n->body && n->body[0] && !(rc = d->body(d->ud, e.id, &body, err)))
        rc = dx_body_set(body, n->body, strlen(n->body), err);
    if (!rc)
        rc = changed(d, e.id, err);
    if (!rc && n->parent_id)
        rc = changed(d, n->parent_id, err);
done:
    dx_entry_release(&e);
    dx_buf_release(&dir);
    dx_buf_release(&path);
    return rc;
}

int dx_edit_create_path(const dx_docs *d, const char *rel_in, const char *title, bool index,
                        char id[DX_UUID_LEN + 1], dx_buf *path_out, dx_error *err)
{
    dx_buf rel = DX_BUF_INIT, dir = DX_BUF_INIT, t = DX_BUF_INIT, stem = DX_BUF_INIT,
           body = DX_BUF_INIT, pdir = DX_BUF_INIT;
    char parent[DX_UUID_LEN + 1], other[DX_UUID_LEN + 1];
    bool dir_form;
    int rc = dx_workspace_new_entry(rel_in, &rel, &dir_form, &dir, err);
    if (rc)
        goto done;
    if (dir_form) {
        if (dx_path_dirname(rel.data, &stem)) {
            rc = nomem(err);
            goto done;
        }
        if (dx_edit_dir_index(d, stem.data, false, other, NULL) == 0) {
            dx_wsdoc_path(d->workspace, other, &t, NULL);
            rc = dx_error_set(err, DX_EEXIST, "'%s/' already has an index, '%s'", stem.data,
                              dx_buf_cstr(&t));
            goto done;
        }
        index = true;
    }
    if ((rc = dx_workspace_check_path(rel.data, NULL, err)))
        goto done;
    if (find_id(d, rel.data, other) == 0) {
        rc = dx_error_set(err, DX_EEXIST, "'%s' already exists", rel.data);
        goto done;
    }
    if (!title || !*title) {
        if (dx_title_from_path(rel.data, &t)) {
            rc = nomem(err);
            goto done;
        }
        title = t.data;
    }
    if (dx_buf_printf(&body, "\n# %s\n", title)) {
        rc = nomem(err);
        goto done;
    }
    /* The parent index must exist before the child can point at it. */
    if ((rc = dx_edit_dir_index(d, dx_buf_cstr(&dir), true, parent, err)) ||
        (rc = dir_of(d, parent, &pdir, err)))
        goto done;
    dx_edit_new n = DX_EDIT_NEW_INIT;
    n.parent_id = parent;
    n.filename = below(rel.data, dx_buf_cstr(&pdir));
    n.title = title;
    n.index = index;
    n.body = body.data;
    if (!n.filename) /* an index found by name is in dir: never happens */
        rc = dx_error_set(err, DX_ECORRUPT, "the index of '%s' is not in that directory",
                          dx_buf_cstr(&dir));
    if (!rc)
        rc = dx_edit_create(d, &n, id, err);
    if (!rc && path_out && dx_buf_puts(path_out, rel.data))
        rc = nomem(err);
done:
    dx_buf_release(&rel);
    dx_buf_release(&dir);
    dx_buf_release(&t);
    dx_buf_release(&stem);
    dx_buf_release(&body);
    dx_buf_release(&pdir);
    return rc;
}

/* ---- properties ------------------------------------------------------------------------------ */

/* Every entry whose file shows entry e (its parent links it, its children link back, both
 * with its title). */
static int changed_around(const dx_docs *d, const dx_entry *e, dx_error *err)
{
    int rc = e->part_of ? changed(d, e->part_of, err) : 0;
    for (size_t i = 0; !rc && i < e->contents.len; i++)
        rc = changed(d, e->contents.items[i], err);
    return rc;
}

int dx_edit_frontmatter(const dx_docs *d, const char *id, dx_edit_fm_fn fn, void *ud, dx_error *err)
{
    dx_entry before = DX_ENTRY_INIT, after = DX_ENTRY_INIT;
    dx_buf path = DX_BUF_INIT, bytes = DX_BUF_INIT, now = DX_BUF_INIT;
    dx_fm *fm = NULL;
    char keep[DX_UUID_LEN + 1];
    snprintf(keep, sizeof keep, "%s", id);
    int rc = live_entry(d, keep, &before, err);
    /* The body is not rendered: the edit is of the frontmatter, and an ingest without a
     * body document leaves the body alone. */
    if (!rc)
        rc = dx_materialize_entry(d->workspace, keep, NULL, d->format, &path, &bytes, err);
    if (!rc)
        rc = dx_fm_parse(bytes.data, bytes.len, path.data, &fm, err);
    if (!rc && (rc = fn(fm, ud, err)) == 1) {
        rc = 0;
        goto done;
    }
    dx_buf_reset(&bytes);
    if (!rc)
        rc = dx_fm_write(fm, &bytes, err);
    if (!rc)
        rc = dx_ingest_entry_with(d->workspace, keep, path.data, bytes.data, bytes.len, NULL,
                                  d->format, d->find, d->ud, err);
    if (!rc)
        rc = dx_wsdoc_get(d->workspace, keep, &after, err);
    if (rc)
        goto done;
    /* A new parent (part_of) may give the entry another path. */
    if (dx_wsdoc_path(d->workspace, keep, &now, NULL) != 0 || strcmp(now.data, path.data) != 0)
        paths_changed(d);
    rc = changed(d, keep, err);
    if (!rc)
        rc = changed_around(d, &before, err);
    if (!rc)
        rc = changed_around(d, &after, err);
done:
    dx_fm_free(fm);
    dx_entry_release(&before);
    dx_entry_release(&after);
    dx_buf_release(&path);
    dx_buf_release(&bytes);
    dx_buf_release(&now);
    return rc;
}

typedef struct prop {
    const char *key, *value;
} prop;

static int set_prop(dx_fm *fm, void *ud, dx_error *err)
{
    const prop *p = ud;
    return dx_fm_set_yaml(fm, p->key, p->value, err);
}

static int remove_prop(dx_fm *fm, void *ud, dx_error *err)
{
    const prop *p = ud;
    if (dx_fm_remove(fm, p->key) != 0)
        return dx_error_set(err, DX_ENOTFOUND, "'%s' has no property '%s'", p->value, p->key);
    return 0;
}

int dx_edit_property_set(const dx_docs *d, const char *id, const char *key, const char *value,
                         dx_error *err)
{
    prop p = {key, value};
    return dx_edit_frontmatter(d, id, set_prop, &p, err);
}

int dx_edit_property_remove(const dx_docs *d, const char *id, const char *key, dx_error *err)
{
    dx_buf path = DX_BUF_INIT;
    int rc = dx_wsdoc_is_live(d->workspace, id) ? dx_wsdoc_path(d->workspace, id, &path, err) : 0;
    prop p = {key, dx_buf_cstr(&path)}; /* the path, for the message */
    if (!rc)
        rc = dx_edit_frontmatter(d, id, remove_prop, &p, err);
    dx_buf_release(&path);
    return rc;
}

/* ---- structure ------------------------------------------------------------------------------- */

/* changed for id and every entry below it (each once, whatever the cycles). */
static int changed_subtree(const dx_docs *d, const char *id, dx_strmap *seen, dx_error *err)
{
    if (dx_strmap_get(seen, id))
        return 0;
    dx_entry e = DX_ENTRY_INIT;
    int rc = dx_strmap_put(seen, id, (void *)1) ? nomem(err) : changed(d, id, err);
    if (!rc && dx_wsdoc_get(d->workspace, id, &e, NULL) == 0)
        for (size_t i = 0; !rc && i < e.contents.len; i++)
            rc = changed_subtree(d, e.contents.items[i], seen, err);
    dx_entry_release(&e);
    return rc;
}

/* A link held verbatim (a part_of, contents or attachments value that named no entry when
 * it was taken in: `extra`, wsdoc.h) to the moved file from, rewritten to its new path. */
typedef struct relink {
    const char *self, *from, *to;
    dx_link_format format;
} relink;

static int relink_keys(dx_fm *fm, void *ud, dx_error *err)
{
    const relink *r = ud;
    static const char *const keys[] = {"part_of", "contents", "attachments"};
    bool any = false;
    for (size_t k = 0; k < 3; k++)
        if (dx_workspace_relink(fm, keys[k], r->self, r->self, r->from, r->to, r->format, &any))
            return nomem(err);
    return any ? 0 : 1;
}

/* changed for every entry whose contents list an entry of moved (their files link to it by
 * path), and the links held verbatim to the moved file rewritten (from -> to): one walk of
 * the whole index. */
static int changed_listers(const dx_docs *d, const dx_strmap *moved, const char *from,
                           const char *to, dx_error *err)
{
    dx_strlist ids = DX_STRLIST_INIT, verbatim = DX_STRLIST_INIT;
    dx_buf self = DX_BUF_INIT;
    int rc = dx_wsdoc_ids(d->workspace, &ids, err);
    for (size_t i = 0; !rc && i < ids.len; i++) {
        dx_entry o = DX_ENTRY_INIT;
        if (dx_wsdoc_get(d->workspace, ids.items[i], &o, NULL) == 0 && !o.deleted) {
            for (size_t j = 0; !rc && j < o.contents.len; j++)
                if (dx_strmap_get(moved, o.contents.items[j])) {
                    rc = changed(d, ids.items[i], err);
                    break;
                }
            /* Only a file name can tell: links may be relative. */
            if (!rc && o.extra_json && strstr(o.extra_json, dx_path_basename(from)) &&
                dx_strlist_push(&verbatim, ids.items[i]))
                rc = nomem(err);
        }
        dx_entry_release(&o);
    }
    for (size_t i = 0; !rc && i < verbatim.len; i++) {
        dx_buf_reset(&self);
        relink r = {NULL, from, to, d->format};
        if (!(rc = dx_wsdoc_path(d->workspace, verbatim.items[i], &self, err))) {
            r.self = self.data;
            rc = dx_edit_frontmatter(d, verbatim.items[i], relink_keys, &r, err);
        }
    }
    dx_strlist_release(&ids);
    dx_strlist_release(&verbatim);
    dx_buf_release(&self);
    return rc;
}

/* 1 when anc is id or one of its ancestors (part_of chain), 0 when not, or a negative code
 * (out of memory). */
static int descends(y_doc *ws, const char *id, const char *anc)
{
    dx_entry e = DX_ENTRY_INIT;
    char cur[DX_UUID_LEN + 1];
    int rc = 0;
    snprintf(cur, sizeof cur, "%s", id);
    for (int depth = 0; !rc && depth < 256; depth++) {
        if (!strcmp(cur, anc))
            return 1;
        if ((rc = dx_wsdoc_get(ws, cur, &e, NULL)) || !e.part_of)
            break;
        snprintf(cur, sizeof cur, "%s", e.part_of);
        dx_entry_release(&e);
    }
    dx_entry_release(&e);
    return rc == DX_ENOTFOUND ? 0 : rc;
}

/* A filename to set: entry id gets name (relative to its parent's directory). */
typedef struct rename_item {
    char id[DX_UUID_LEN + 1];
    char *name;
} rename_item;

typedef struct renames {
    rename_item *items;
    size_t len, cap;
} renames;

static int renames_push(renames *r, const char *id, const char *name)
{
    if (r->len == r->cap) {
        size_t cap = r->cap ? 2 * r->cap : 16;
        rename_item *n = realloc(r->items, cap * sizeof *n);
        if (!n)
            return DX_ENOMEM;
        r->items = n;
        r->cap = cap;
    }
    rename_item *it = &r->items[r->len];
    snprintf(it->id, sizeof it->id, "%s", id);
    if (!(it->name = strdup(name)))
        return DX_ENOMEM;
    r->len++;
    return 0;
}

static void renames_release(renames *r)
{
    for (size_t i = 0; i < r->len; i++)
        free(r->items[i].name);
    free(r->items);
}

/* The entries of a moved folder that do not follow its index by themselves (their parent
 * is elsewhere): each gets the filename of its new place, and the walk notes a live entry
 * already in the new folder. */
typedef struct folder_walk {
    const dx_docs *d;
    const char *moved, *old_folder, *new_folder;
    renames *out;
    bool taken; /* an entry is already in the new folder */
    dx_buf tmp, pdir;
} folder_walk;

static int folder_entry(void *ud, const char *id, const char *path)
{
    folder_walk *w = ud;
    if (below(path, w->new_folder)) {
        w->taken = true;
        return 0;
    }
    const char *rest = below(path, w->old_folder);
    int inside = rest ? descends(w->d->workspace, id, w->moved) : 1;
    if (inside)
        return inside < 0 ? inside : 0;
    dx_entry e = DX_ENTRY_INIT;
    dx_buf_reset(&w->tmp);
    dx_buf_reset(&w->pdir);
    int rc = dx_wsdoc_get(w->d->workspace, id, &e, NULL);
    if (!rc && (dir_of(w->d, e.part_of, &w->pdir, NULL) ||
                dx_buf_printf(&w->tmp, "%s/%s", w->new_folder, rest)))
        rc = DX_ENOMEM;
    /* A parent whose directory does not hold the new place: the entry stays (validate
     * reports the link). */
    const char *name = rc ? NULL : below(w->tmp.data, dx_buf_cstr(&w->pdir));
    if (name)
        rc = renames_push(w->out, id, name);
    dx_entry_release(&e);
    return rc;
}

/* The parent entry id gets at `to`: the index of its new directory, or the one above for
 * the index named after that directory (and for a folder's own index). */
static int new_parent(const dx_docs *d, const char *id, const dx_entry *e, const char *to,
                      bool folder, char out[DX_UUID_LEN + 1], dx_error *err)
{
    dx_buf dir = DX_BUF_INIT, stem = DX_BUF_INIT;
    char other[DX_UUID_LEN + 1];
    int rc = dx_path_dirname(to, &dir) || dx_path_stem(to, &stem) ? nomem(err) : 0;
    const char *name = dx_path_basename(to);
    /* An index named as its directory's index is, and none there yet: it becomes that. */
    bool named = e->is_index && dir.len &&
                 (!strcmp(dx_buf_cstr(&stem), dx_path_basename(dir.data)) ||
                  !strcmp(name, "index.md") || !strcmp(name, "README.md"));
    int has = !rc && named ? dx_edit_dir_index(d, dir.data, false, other, err) : 0;
    if (has && has != DX_ENOTFOUND)
        rc = has;
    if (!rc && (folder || (named && has == DX_ENOTFOUND))) {
        const char *slash = strrchr(dir.data, '/');
        dx_buf_truncate(&dir, slash ? (size_t)(slash - dir.data) : 0);
    }
    if (!rc)
        rc = dx_edit_dir_index(d, dx_buf_cstr(&dir), true, out, err);
    if (!rc && !strcmp(out, id))
        rc = dx_error_set(err, DX_EINVAL, "cannot move '%s' under itself", to);
    dx_buf_release(&dir);
    dx_buf_release(&stem);
    return rc;
}

int dx_edit_move(const dx_docs *d, const char *id_in, const char *to, bool folder, dx_error *err)
{
    dx_entry e = DX_ENTRY_INIT;
    dx_buf from = DX_BUF_INIT, old_dir = DX_BUF_INIT, new_dir = DX_BUF_INIT, pdir = DX_BUF_INIT,
           cp = DX_BUF_INIT;
    renames moves = {NULL, 0, 0};
    dx_strmap seen = DX_STRMAP_INIT;
    char id[DX_UUID_LEN + 1], parent[DX_UUID_LEN + 1] = "", other[DX_UUID_LEN + 1];
    snprintf(id, sizeof id, "%s", id_in);
    int rc = live_entry(d, id, &e, err);
    if (!rc)
        rc = dx_wsdoc_path(d->workspace, id, &from, err);
    if (rc)
        goto done;
    if (!e.part_of && e.is_index) {
        rc = dx_error_set(err, DX_EINVAL, "the root index '%s' cannot be moved", from.data);
        goto done;
    }
    if ((rc = dx_path_normalize(to, &cp, err)) || (rc = dx_workspace_check_path(to, NULL, err)))
        goto done;
    if (strcmp(cp.data, to) != 0) {
        rc = dx_error_set(err, DX_EPATH, "'%s' is not a normalised path (say '%s')", to, cp.data);
        goto done;
    }
    if (find_id(d, to, other) == 0) {
        rc = dx_error_set(err, DX_EEXIST, "'%s' already exists", to);
        goto done;
    }
    if (dx_path_dirname(from.data, &old_dir) || dx_path_dirname(to, &new_dir)) {
        rc = nomem(err);
        goto done;
    }
    const char *od = dx_buf_cstr(&old_dir), *nd = dx_buf_cstr(&new_dir);
    bool dir_changed = strcmp(od, nd) != 0;
    if (folder) {
        if (!od[0] || !dir_changed) {
            rc = dx_error_set(err, DX_EINVAL, "'%s' is not moved into another folder ('%s')",
                              from.data, to);
            goto done;
        }
        if (!strcmp(nd, od) || below(nd, od)) {
            rc = dx_error_set(err, DX_EINVAL, "cannot move the folder '%s' into itself ('%s')", od,
                              nd);
            goto done;
        }
        folder_walk w = {d, id, od, nd, &moves, false, DX_BUF_INIT, DX_BUF_INIT};
        rc = dx_wsdoc_each_path(d->workspace, folder_entry, &w, err);
        dx_buf_release(&w.tmp);
        dx_buf_release(&w.pdir);
        if (rc == DX_ENOMEM)
            rc = nomem(err);
        else if (!rc && w.taken)
            rc = dx_error_set(err, DX_EEXIST, "'%s' already exists", nd);
        if (rc)
            goto done;
    } else if (dir_changed) {
        /* The children keep their paths: the names of the entries whose path derives from
         * it become relative to the new directory. An entry it lists must stay in that
         * directory or below. */
        dx_strlist ids = DX_STRLIST_INIT;
        rc = dx_wsdoc_ids(d->workspace, &ids, err);
        for (size_t i = 0; !rc && i < ids.len; i++) {
            const char *c = ids.items[i];
            dx_entry ce = DX_ENTRY_INIT;
            bool listed = dx_strlist_find(&e.contents, c) >= 0;
            bool derived = dx_wsdoc_get(d->workspace, c, &ce, NULL) == 0 && !ce.deleted &&
                           ce.part_of && !strcmp(ce.part_of, id);
            dx_entry_release(&ce);
            dx_buf_reset(&cp);
            if ((!listed && !derived) || !dx_wsdoc_is_live(d->workspace, c) ||
                dx_wsdoc_path(d->workspace, c, &cp, NULL))
                continue;
            const char *name = below(cp.data, nd);
            if (name && derived)
                rc = renames_push(&moves, c, name) ? nomem(err) : 0;
            else if (!name)
                rc = dx_error_set(err, DX_EINVAL,
                                  "cannot move '%s' to '%s': its entry '%s' would be outside its "
                                  "directory; move the entries first%s",
                                  from.data, to, cp.data,
                                  ", or move a folder's index into a directory (DEST/) to move the "
                                  "whole folder");
        }
        dx_strlist_release(&ids);
        if (rc)
            goto done;
    }
    /* Its parent: the same while its directory stays, else the new directory's index; it
     * leaves the index of its old directory (for a folder index: of the one above), as
     * `workspace mv` always did: another index listing it keeps it. */
    char left[DX_UUID_LEN + 1] = "";
    if (!dir_changed && e.part_of)
        snprintf(parent, sizeof parent, "%s", e.part_of);
    else if (dir_changed && (rc = new_parent(d, id, &e, to, folder, parent, err)))
        goto done;
    if (dir_changed && dx_edit_dir_index(d, od, false, left, NULL) != 0)
        left[0] = 0;
    if (left[0] && !strcmp(left, id)) { /* a folder index leaves the index above */
        dx_buf_reset(&cp);
        if (dx_path_dirname(od, &cp) || dx_edit_dir_index(d, dx_buf_cstr(&cp), false, left, NULL))
            left[0] = 0;
    }
    if ((rc = dir_of(d, parent[0] ? parent : NULL, &pdir, err)))
        goto done;
    const char *name = below(to, dx_buf_cstr(&pdir));
    if (!name) {
        rc = dx_error_set(err, DX_EINVAL,
                          "cannot move '%s' to '%s': an entry lives in the directory of its "
                          "parent or below it",
                          from.data, to);
        goto done;
    }
    if (y_doc_begin(d->workspace, NULL) != Y_OK) {
        rc = nomem(err);
        goto done;
    }
    rc = dx_wsdoc_set_field(d->workspace, id, "filename", name, err);
    if (!rc && strcmp(parent, e.part_of ? e.part_of : "") != 0)
        rc = dx_wsdoc_set_field(d->workspace, id, "part_of", parent[0] ? parent : NULL, err);
    if (!rc && left[0] && strcmp(left, parent) != 0)
        rc = dx_wsdoc_contents_remove(d->workspace, left, id, err);
    if (!rc && dir_changed && parent[0])
        rc = dx_wsdoc_contents_insert(d->workspace, parent, SIZE_MAX, id, err);
    for (size_t i = 0; !rc && i < moves.len; i++)
        rc = dx_wsdoc_set_field(d->workspace, moves.items[i].id, "filename", moves.items[i].name,
                                err);
    y_doc_commit(d->workspace);
    if (rc)
        goto done;
    paths_changed(d);
    rc = changed_subtree(d, id, &seen, err);
    if (!rc && e.part_of)
        rc = changed(d, e.part_of, err);
    if (!rc && parent[0])
        rc = changed(d, parent, err);
    if (!rc && left[0])
        rc = changed(d, left, err);
    for (size_t i = 0; !rc && i < moves.len; i++)
        rc = changed_subtree(d, moves.items[i].id, &seen, err);
    if (!rc)
        rc = changed_listers(d, &seen, from.data, to, err);
done:
    dx_entry_release(&e);
    dx_buf_release(&from);
    dx_buf_release(&old_dir);
    dx_buf_release(&new_dir);
    dx_buf_release(&pdir);
    dx_buf_release(&cp);
    renames_release(&moves);
    dx_strmap_release(&seen);
    return rc;
}

/* Every index listing target loses it. */
static int unlist_everywhere(const dx_docs *d, const char *target, dx_error *err)
{
    dx_strlist ids = DX_STRLIST_INIT;
    int rc = dx_wsdoc_ids(d->workspace, &ids, err);
    for (size_t i = 0; !rc && i < ids.len; i++) {
        dx_entry o = DX_ENTRY_INIT;
        if (dx_wsdoc_get(d->workspace, ids.items[i], &o, NULL) == 0 &&
            dx_strlist_find(&o.contents, target) >= 0) {
            rc = dx_wsdoc_contents_remove(d->workspace, ids.items[i], target, err);
            if (!rc && !o.deleted)
                rc = changed(d, ids.items[i], err);
        }
        dx_entry_release(&o);
    }
    dx_strlist_release(&ids);
    return rc;
}

int dx_edit_delete(const dx_docs *d, const char *id_in, dx_error *err)
{
    dx_entry e = DX_ENTRY_INIT;
    dx_buf path = DX_BUF_INIT;
    char id[DX_UUID_LEN + 1];
    snprintf(id, sizeof id, "%s", id_in);
    int rc = live_entry(d, id, &e, err);
    if (!rc)
        rc = dx_wsdoc_path(d->workspace, id, &path, err);
    if (rc)
        goto done;
    size_t kids = 0;
    for (size_t i = 0; i < e.contents.len; i++)
        kids += dx_wsdoc_is_live(d->workspace, e.contents.items[i]);
    if (kids)
        rc = dx_error_set(err, DX_ECONFLICT,
                          "'%s' still has %zu entries in its contents; move or delete them first",
                          path.data, kids);
    else if (!e.part_of && e.is_index)
        rc = dx_error_set(err, DX_EINVAL, "the root index '%s' cannot be deleted", path.data);
    if (rc)
        goto done;
    if (y_doc_begin(d->workspace, NULL) != Y_OK) {
        rc = nomem(err);
        goto done;
    }
    /* Every list that links to it loses the link, not only its parent's. */
    rc = unlist_everywhere(d, id, err);
    if (!rc)
        rc = dx_wsdoc_set_deleted(d->workspace, id, true, err);
    y_doc_commit(d->workspace);
    if (!rc) {
        paths_changed(d);
        rc = changed(d, id, err);
    }
done:
    dx_entry_release(&e);
    dx_buf_release(&path);
    return rc;
}

/* Set the parent of child (NULL: none) keeping its path: its filename becomes relative to
 * the new parent's directory. A parent whose directory does not hold the child's file is
 * left as it was (the path could not be kept). */
static int reparent(const dx_docs *d, const char *child, const char *parent, dx_error *err)
{
    dx_buf path = DX_BUF_INIT, pdir = DX_BUF_INIT;
    int rc = dx_wsdoc_path(d->workspace, child, &path, err);
    if (!rc)
        rc = dir_of(d, parent, &pdir, err);
    const char *name = rc ? NULL : below(path.data, dx_buf_cstr(&pdir));
    if (name && y_doc_begin(d->workspace, NULL) != Y_OK)
        rc = nomem(err);
    else if (name) {
        rc = dx_wsdoc_set_field(d->workspace, child, "part_of", parent, err);
        if (!rc)
            rc = dx_wsdoc_set_field(d->workspace, child, "filename", name, err);
        y_doc_commit(d->workspace);
    }
    if (!rc && name)
        rc = changed(d, child, err);
    dx_buf_release(&path);
    dx_buf_release(&pdir);
    return rc;
}

static int two_live(const dx_docs *d, const char *a, const char *b, dx_entry *ea, dx_entry *eb,
                    dx_error *err)
{
    int rc = live_entry(d, a, ea, err);
    return rc ? rc : live_entry(d, b, eb, err);
}

int dx_edit_link(const dx_docs *d, const char *parent, const char *child, dx_error *err)
{
    dx_entry p = DX_ENTRY_INIT, c = DX_ENTRY_INIT;
    dx_buf path = DX_BUF_INIT;
    int rc = two_live(d, parent, child, &p, &c, err);
    if (!rc && !strcmp(parent, child)) {
        dx_wsdoc_path(d->workspace, child, &path, NULL);
        rc = dx_error_set(err, DX_EINVAL, "cannot link '%s' under itself", dx_buf_cstr(&path));
    }
    if (!rc && (!p.is_index || dx_strlist_find(&p.contents, child) < 0) &&
        !(rc = dx_wsdoc_contents_insert(d->workspace, parent, SIZE_MAX, child, err)))
        rc = changed(d, parent, err);
    /* The root index has no parent. */
    bool root = !c.part_of && c.is_index;
    if (!rc && !root && (!c.part_of || strcmp(c.part_of, parent) != 0)) {
        rc = reparent(d, child, parent, err);
        if (!rc)
            paths_changed(d);
    }
    dx_entry_release(&p);
    dx_entry_release(&c);
    dx_buf_release(&path);
    return rc;
}

int dx_edit_unlink(const dx_docs *d, const char *parent, const char *child, dx_error *err)
{
    dx_entry p = DX_ENTRY_INIT, c = DX_ENTRY_INIT;
    int rc = two_live(d, parent, child, &p, &c, err);
    if (!rc && dx_strlist_find(&p.contents, child) >= 0 &&
        !(rc = dx_wsdoc_contents_remove(d->workspace, parent, child, err)))
        rc = changed(d, parent, err);
    if (!rc && c.part_of && !strcmp(c.part_of, parent)) {
        rc = reparent(d, child, NULL, err);
        if (!rc)
            paths_changed(d);
    }
    dx_entry_release(&p);
    dx_entry_release(&c);
    return rc;
}

int dx_edit_reorder(const dx_docs *d, const char *parent, const char *child, size_t index,
                    dx_error *err)
{
    dx_entry p = DX_ENTRY_INIT;
    int rc = live_entry(d, parent, &p, err);
    if (!rc && dx_strlist_find(&p.contents, child) < 0)
        rc = dx_error_set(err, DX_ENOTFOUND, "entry '%s' does not list '%s' in its contents",
                          parent, child);
    if (!rc && y_doc_begin(d->workspace, NULL) != Y_OK)
        rc = nomem(err);
    else if (!rc) {
        rc = dx_wsdoc_contents_remove(d->workspace, parent, child, err);
        if (!rc)
            rc = dx_wsdoc_contents_insert(d->workspace, parent, index, child, err);
        y_doc_commit(d->workspace);
    }
    if (!rc)
        rc = changed(d, parent, err);
    dx_entry_release(&p);
    return rc;
}

/* Add (add) or remove path in the attachments of entry id. */
static int attachments(const dx_docs *d, const char *id, const char *path_in, bool add,
                       dx_error *err)
{
    dx_entry e = DX_ENTRY_INIT;
    dx_buf path = DX_BUF_INIT;
    int rc = live_entry(d, id, &e, err);
    if (!rc)
        rc = dx_path_normalize(path_in, &path, err);
    if (!rc && !path.len)
        rc = dx_error_set(err, DX_EPATH, "'%s' is not a file in the workspace", path_in);
    if (rc)
        goto done;
    long at = dx_strlist_find(&e.attachments, path.data);
    if (add && at < 0)
        rc = dx_strlist_push(&e.attachments, path.data) ? nomem(err) : 1;
    else if (!add && at >= 0)
        dx_strlist_remove(&e.attachments, (size_t)at), rc = 1;
    else if (!add)
        rc = dx_error_set(err, DX_ENOTFOUND, "entry '%s' has no attachment '%s'", id, path.data);
    if (rc == 1 && !(rc = dx_wsdoc_put(d->workspace, &e, err)))
        rc = changed(d, id, err);
done:
    dx_entry_release(&e);
    dx_buf_release(&path);
    return rc;
}

int dx_edit_attach(const dx_docs *d, const char *id, const char *path, dx_error *err)
{
    return attachments(d, id, path, true, err);
}

int dx_edit_detach(const dx_docs *d, const char *id, const char *path, dx_error *err)
{
    return attachments(d, id, path, false, err);
}

/* ---- attachment metadata ---- */

static bool hex64(const char *h)
{
    size_t i = 0;
    for (; h[i]; i++)
        if (!((h[i] >= '0' && h[i] <= '9') || (h[i] >= 'a' && h[i] <= 'f')))
            return false;
    return i == 64;
}

int dx_edit_attachment_set(const dx_docs *d, const char *path_in, const dx_attachment_meta *m,
                           dx_error *err)
{
    dx_buf path = DX_BUF_INIT;
    int rc = dx_path_normalize(path_in, &path, err);
    if (!rc && !path.len)
        rc = dx_error_set(err, DX_EPATH, "'%s' is not a file in the workspace", path_in);
    if (!rc && (!hex64(m->sha256) || !m->type[0] || memchr(m->type, 0, sizeof m->type) == NULL))
        rc = dx_error_set(err, DX_EINVAL,
                          "cannot record attachment '%s': want a SHA-256 of 64 lowercase hex "
                          "digits and a media type",
                          path.data);
    if (rc)
        goto done;
    dx_attachment_meta have;
    if (dx_attachment_meta_get(d->workspace, path.data, &have) == 0 &&
        !strcmp(have.sha256, m->sha256) && have.size == m->size && !strcmp(have.type, m->type))
        goto done; /* recorded already: no update */
    /* The object's keys in a fixed order, so every peer writes the same bytes for it. */
    char *keys[] = {"sha256", "size", "type"};
    y_any values[] = {y_any_string(m->sha256, strlen(m->sha256)), y_any_number((double)m->size),
                      y_any_string(m->type, strlen(m->type))};
    y_any obj;
    obj.kind = Y_ANY_OBJECT;
    obj.u.obj.keys = keys;
    obj.u.obj.values = values;
    obj.u.obj.len = 3;
    y_type *map = y_doc_get_map(d->workspace, DX_BLOBS_MAP);
    if (!map || y_map_set(map, path.data, &obj) != Y_OK)
        rc = nomem(err);
done:
    dx_buf_release(&path);
    return rc;
}

int dx_edit_attachment_forget(const dx_docs *d, const char *path_in, dx_error *err)
{
    dx_buf path = DX_BUF_INIT;
    y_value v;
    int rc = dx_path_normalize(path_in, &path, err);
    y_type *map = rc ? NULL : y_doc_get_map(d->workspace, DX_BLOBS_MAP);
    if (!rc && !map)
        rc = nomem(err);
    else if (!rc && y_map_get(map, path.data, &v) != Y_OK)
        rc = dx_error_set(err, DX_ENOTFOUND, "no attachment record for '%s'", path.data);
    else if (!rc && y_map_delete(map, path.data) != Y_OK)
        rc = nomem(err);
    dx_buf_release(&path);
    return rc;
}

int dx_attachment_meta_get(y_doc *doc, const char *path, dx_attachment_meta *out)
{
    y_value v;
    y_type *map = y_doc_get_map(doc, DX_BLOBS_MAP);
    if (!map)
        return DX_ENOMEM;
    if (y_map_get(map, path, &v) != Y_OK)
        return DX_ENOTFOUND;
    if (v.is_type || v.any->kind != Y_ANY_OBJECT)
        return DX_EPARSE;
    int seen = 0;
    memset(out, 0, sizeof *out);
    for (size_t i = 0; i < v.any->u.obj.len; i++) {
        const char *k = v.any->u.obj.keys[i];
        const y_any *a = &v.any->u.obj.values[i];
        if (!strcmp(k, "sha256") && a->kind == Y_ANY_STRING && hex64(a->u.str.ptr)) {
            memcpy(out->sha256, a->u.str.ptr, DX_SHA256_HEX);
            seen |= 1;
        } else if (!strcmp(k, "size") && a->kind == Y_ANY_NUMBER && a->u.num >= 0 &&
                   a->u.num <= 9007199254740992.0) {
            out->size = (uint64_t)a->u.num;
            seen |= 2;
        } else if (!strcmp(k, "type") && a->kind == Y_ANY_STRING && a->u.str.len &&
                   a->u.str.len < sizeof out->type) {
            memcpy(out->type, a->u.str.ptr, a->u.str.len + 1);
            seen |= 4;
        }
    }
    return seen == 7 ? 0 : DX_EPARSE;
}
