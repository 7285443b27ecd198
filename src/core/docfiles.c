/* docfiles.c - a workspace whose files are rendered from its CRDT documents, and its staged
 * files taken back into them as edits. */
#include "workspace_int.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "diaryx/docfiles.h"
#include "diaryx/materialize.h"
#include "diaryx/paths.h"
#include "diaryx/wsdoc.h"

/* The file set: which paths exist (indexed from the documents at open, and again after
 * dx_docs_take_staged); the bytes are rendered on each read. */
typedef struct docfiles {
    dx_docs d;
    dx_link_format fmt;
    dx_strmap ids;  /* path -> entry id (owned char *) */
    dx_strmap dirs; /* directory ("" = the top) -> its names (owned dx_strlist *) */
} docfiles;

static void index_release(docfiles *f)
{
    for (size_t i = 0; i < f->ids.cap; i++)
        if (f->ids.slots[i].key)
            free(f->ids.slots[i].value);
    for (size_t i = 0; i < f->dirs.cap; i++)
        if (f->dirs.slots[i].key) {
            dx_strlist_release(f->dirs.slots[i].value);
            free(f->dirs.slots[i].value);
        }
    dx_strmap_release(&f->ids);
    dx_strmap_release(&f->dirs);
}

static void docfiles_free(void *ud)
{
    if (ud)
        index_release(ud);
    free(ud);
}

/* Add name to the listing of directory dir, registering dir in its own parent's listing
 * the first time it is seen. unique: the caller knows name is not listed yet (a file's
 * path is indexed once; looking it up would cost a scan of the directory per file). */
static int dir_add(docfiles *f, const char *dir, const char *name, bool unique)
{
    dx_strlist *names = dx_strmap_get(&f->dirs, dir);
    int rc = 0;
    if (!names) {
        if (!(names = calloc(1, sizeof *names)) || dx_strmap_put(&f->dirs, dir, names)) {
            free(names);
            return DX_ENOMEM;
        }
        if (dir[0]) {
            dx_buf parent = DX_BUF_INIT;
            dx_path_dirname(dir, &parent);
            rc = dx_buf_error(&parent);
            if (!rc)
                rc = dir_add(f, dx_buf_cstr(&parent), dx_path_basename(dir), false);
            dx_buf_release(&parent);
        }
    }
    if (!rc && (unique || dx_strlist_find(names, name) < 0))
        rc = dx_strlist_push(names, name);
    return rc;
}

/* Register the file path as entry id (a second live entry at one path: the greater id wins,
 * as in the docset's index, so every peer and a session on disk show the same one). */
static int add_file(docfiles *f, const char *path, const char *id)
{
    char *had = dx_strmap_get(&f->ids, path);
    if (had && strcmp(had, id) > 0)
        return 0;
    char *copy = strdup(id);
    if (!copy || dx_strmap_put(&f->ids, path, copy)) {
        free(copy);
        return DX_ENOMEM;
    }
    free(had);
    /* A directory of the same path is listed already (and wins, as it would on a disk). */
    if (had || dx_strmap_get(&f->dirs, path))
        return 0;
    dx_buf dir = DX_BUF_INIT;
    dx_path_dirname(path, &dir);
    int rc = dx_buf_error(&dir);
    if (!rc)
        rc = dir_add(f, dx_buf_cstr(&dir), dx_path_basename(path), true);
    dx_buf_release(&dir);
    return rc;
}

static void remove_file(docfiles *f, const char *path)
{
    free(dx_strmap_remove(&f->ids, path));
    dx_buf dir = DX_BUF_INIT;
    dx_path_dirname(path, &dir);
    dx_strlist *names = dx_strmap_get(&f->dirs, dx_buf_cstr(&dir));
    long at = names ? dx_strlist_find(names, dx_path_basename(path)) : -1;
    /* The directory stays, as an emptied directory stays on a disk. */
    if (at >= 0)
        dx_strlist_remove(names, (size_t)at);
    dx_buf_release(&dir);
}

static int each_path(void *ud, const char *id, const char *path)
{
    return add_file(ud, path, id);
}

/* The index of the paths the documents hold now: copied from the documents' own index when
 * they keep one (a docset's), else derived from the workspace document. */
static int reindex(docfiles *f, dx_error *err)
{
    index_release(f);
    const dx_strmap *paths = f->d.paths ? f->d.paths(f->d.ud) : NULL;
    int rc = 0;
    for (size_t i = 0; paths && !rc && i < paths->cap; i++)
        if (paths->slots[i].key)
            rc = add_file(f, paths->slots[i].key, paths->slots[i].value);
    if (!paths)
        rc = dx_wsdoc_each_path(f->d.workspace, each_path, f, err);
    if (rc == DX_ENOMEM)
        dx_error_set(err, rc, "out of memory indexing the workspace documents");
    return rc;
}

/* ---- the backend -------------------------------------------------------------------------- */

/* The file of rel rendered from the documents; with head, without its body (the body
 * document is not even loaded). */
static int render(docfiles *f, const char *rel, bool head, dx_buf *out, dx_error *err)
{
    const char *id = dx_strmap_get(&f->ids, rel);
    if (!id)
        return DX_ENOTFOUND;
    y_doc *body = NULL;
    dx_buf path = DX_BUF_INIT;
    int rc = head ? 0 : f->d.body(f->d.ud, id, &body, err);
    if (!rc)
        rc = dx_materialize_entry(f->d.workspace, id, body, f->fmt, &path, out, err);
    dx_buf_release(&path);
    return rc;
}

static int docfiles_read(void *ud, const char *rel, dx_buf *out, dx_error *err)
{
    return render(ud, rel, false, out, err);
}

static int docfiles_read_head(void *ud, const char *rel, dx_buf *out, dx_error *err)
{
    return render(ud, rel, true, out, err);
}

static int docfiles_stat(void *ud, const char *rel, dx_ws_kind *kind, dx_error *err)
{
    (void)err;
    docfiles *f = ud;
    if (dx_strmap_get(&f->ids, rel))
        *kind = DX_WSK_FILE;
    else if (dx_strmap_get(&f->dirs, rel))
        *kind = DX_WSK_DIR;
    else
        return DX_ENOTFOUND;
    return 0;
}

static int docfiles_list(void *ud, const char *dir, dx_ws_entry_fn fn, void *cb)
{
    docfiles *f = ud;
    const dx_strlist *names = dx_strmap_get(&f->dirs, dir);
    dx_buf sub = DX_BUF_INIT;
    int rc = 0;
    for (size_t i = 0; names && !rc && i < names->len; i++) {
        dx_buf_reset(&sub);
        if (dir[0])
            dx_buf_printf(&sub, "%s/", dir);
        dx_buf_puts(&sub, names->items[i]);
        if (!(rc = dx_buf_error(&sub)))
            rc = fn(cb, names->items[i],
                    dx_strmap_get(&f->dirs, sub.data) ? DX_WSK_DIR : DX_WSK_FILE);
    }
    dx_buf_release(&sub);
    return rc;
}

static const dx_ws_backend docfiles_backend = {docfiles_read, docfiles_read_head, docfiles_stat,
                                               docfiles_list, docfiles_free};

int dx_workspace_open_docs(const dx_docs *d, dx_link_format fmt, dx_workspace **out, dx_error *err)
{
    *out = NULL;
    docfiles *f = calloc(1, sizeof *f);
    if (!f)
        return dx_error_set(err, DX_ENOMEM, "out of memory opening the workspace documents");
    f->d = *d;
    f->fmt = fmt;
    int rc = reindex(f, err);
    if (rc) {
        docfiles_free(f);
        return rc;
    }
    return dx_ws_open_backend(&docfiles_backend, f, "", fmt, out, err);
}

/* ---- taking staged files in ---------------------------------------------------------------- */

/* One staged file to take in. */
typedef struct pending {
    const dx_staged *s;
    char id[DX_UUID_LEN + 1];
    char *parent; /* the path its part_of names, or NULL */
    bool done, is_new;
} pending;

/* The path the part_of of a staged file names (NULL when none or unreadable: the ingest
 * reports a file it cannot parse). */
static char *parent_path(const dx_staged *s, dx_link_format fmt)
{
    dx_fm *fm = NULL;
    dx_buf p = DX_BUF_INIT;
    char *out = NULL;
    if (dx_fm_parse(s->bytes, s->len, s->path, &fm, NULL) == 0 && dx_fm_is_string(fm, "part_of") &&
        dx_link_resolve(dx_fm_get(fm, "part_of"), s->path, fmt, &p, NULL) == 0)
        out = dx_buf_detach(&p, NULL);
    dx_fm_free(fm);
    dx_buf_release(&p);
    return out;
}

/* Whether p can be taken in now: its parent is not a staged file still to be taken in
 * (at: staged path -> pending). */
static bool ready(const dx_strmap *at, const pending *p)
{
    const pending *parent = p->parent ? dx_strmap_get(at, p->parent) : NULL;
    return !parent || parent == p || parent->done;
}

static int take_one(const dx_docs *d, dx_link_format fmt, const dx_take_hooks *h, pending *p,
                    dx_error *err)
{
    y_doc *body = NULL;
    int rc = d->body(d->ud, p->id, &body, err);
    if (!rc)
        rc = dx_ingest_entry_with(d->workspace, p->id, p->s->path, p->s->bytes, p->s->len, body,
                                  fmt, h->lookup, h->ud, err);
    if (!rc && ((d->changed && d->changed(d->ud, p->id)) ||
                (h->taken && h->taken(h->ud, p->id, p->is_new))))
        rc = dx_error_set(err, DX_ENOMEM, "out of memory");
    p->done = true;
    return rc;
}

/* A staged file with no entry, when the caller has no rule of its own: a note becomes an
 * entry where an entry may be, and is refused elsewhere; another file (an attachment) has no
 * place in the documents. */
static int admit_default(void *ud, const dx_staged *s, dx_error *err)
{
    (void)ud;
    dx_error pe = DX_ERROR_INIT;
    if (dx_workspace_check_path(s->path, NULL, &pe) == 0)
        return 1;
    return dx_path_is_markdown(s->path) ? dx_error_set(err, pe.code, "%s", pe.msg) : 0;
}

int dx_docs_take_files(const dx_docs *d, const dx_staged *staged, size_t ns, dx_link_format fmt,
                       const dx_take_hooks *h, size_t *n, dx_error *err)
{
    if (n)
        *n = 0;
    pending *all = calloc(ns ? ns : 1, sizeof *all);
    dx_strlist gone = DX_STRLIST_INIT; /* ids of removed files */
    dx_strmap at = DX_STRMAP_INIT;     /* staged path -> its pending */
    dx_strmap kept = DX_STRMAP_INIT;   /* ids that a staged file keeps (moved, not removed) */
    size_t count = 0, left = 0;
    int rc = all ? 0 : DX_ENOMEM;
    /* 1. Every file gets its entry id first (the entry at its path, else the one it moved
     *    from, else a new one), so that links between new files resolve whatever the order;
     *    then removed files name the entries to delete (not one that moved away). */
    for (size_t i = 0; !rc && i < ns; i++) {
        const dx_staged *s = &staged[i];
        pending *p = &all[i];
        p->s = s;
        p->done = true;
        if (s->removed)
            continue;
        bool moved = false;
        if (h->lookup(h->ud, s->path, p->id) != 0) {
            moved = s->moved_from && h->lookup(h->ud, s->moved_from, p->id) == 0;
            if (!moved) {
                int a = (h->admit ? h->admit : admit_default)(h->ud, s, err);
                if (a <= 0) {
                    rc = a;
                    continue;
                }
                if ((rc = dx_uuid_v4(p->id))) {
                    dx_error_set(err, rc, "no random source for entry ids");
                    break;
                }
                p->is_new = true;
            }
        }
        if ((moved && h->index_set(h->ud, s->moved_from, NULL)) ||
            h->index_set(h->ud, s->path, p->id) || dx_strmap_put(&at, s->path, p) ||
            dx_strmap_put(&kept, p->id, (void *)1)) {
            rc = dx_error_set(err, DX_ENOMEM, "out of memory");
            break;
        }
        p->parent = parent_path(s, fmt);
        p->done = false;
        left++;
    }
    for (size_t i = 0; !rc && i < ns; i++) {
        char id[DX_UUID_LEN + 1];
        if (!staged[i].removed || h->lookup(h->ud, staged[i].path, id) != 0)
            continue;
        if ((!dx_strmap_get(&kept, id) && dx_strlist_push(&gone, id)) ||
            h->index_set(h->ud, staged[i].path, NULL))
            rc = dx_error_set(err, DX_ENOMEM, "out of memory");
    }
    /* 2. Parents first: an entry's path is derived from its parent's. A cycle of staged
     *    part_of links (which validate reports) is taken in as it comes. */
    while (!rc && left) {
        size_t before = left;
        for (size_t i = 0; !rc && i < ns; i++)
            if (!all[i].done && ready(&at, &all[i])) {
                rc = take_one(d, fmt, h, &all[i], err);
                left--;
                count += !rc;
            }
        for (size_t i = 0; !rc && left == before && i < ns; i++)
            if (!all[i].done) {
                rc = take_one(d, fmt, h, &all[i], err);
                left--;
                count += !rc;
            }
    }
    /* 3. Removed files: their entries are deleted. */
    for (size_t i = 0; !rc && i < gone.len; i++) {
        rc = dx_wsdoc_set_deleted(d->workspace, gone.items[i], true, err);
        if (!rc && d->changed && d->changed(d->ud, gone.items[i]))
            rc = dx_error_set(err, DX_ENOMEM, "out of memory");
        count += !rc;
    }
    for (size_t i = 0; all && i < ns; i++)
        free(all[i].parent);
    free(all);
    dx_strlist_release(&gone);
    dx_strmap_release(&at);
    dx_strmap_release(&kept);
    if (rc == DX_ENOMEM && !(err && err->msg[0]))
        dx_error_set(err, rc, "out of memory");
    if (n)
        *n = count;
    return rc;
}

/* dx_docs_take_staged over the workspace's own index. */
static int files_lookup(void *user, const char *path, char out[DX_UUID_LEN + 1])
{
    const char *id = dx_strmap_get(&((docfiles *)user)->ids, path);
    if (!id)
        return DX_ENOTFOUND;
    memcpy(out, id, DX_UUID_LEN + 1);
    return 0;
}

static int files_index_set(void *user, const char *path, const char *id)
{
    if (!id) {
        remove_file(user, path);
        return 0;
    }
    return add_file(user, path, id);
}

int dx_docs_take_staged(const dx_docs *d, dx_workspace *ws, size_t *n, dx_error *err)
{
    if (n)
        *n = 0;
    if (ws->be != &docfiles_backend)
        return dx_error_set(err, DX_EINVAL,
                            "the workspace at '%s' is not over CRDT documents: its staged files "
                            "are taken in by its session",
                            ws->root);
    docfiles *f = ws->be_ud;
    if (d->workspace != f->d.workspace)
        return dx_error_set(err, DX_EINVAL,
                            "the staged files of a workspace go into the documents it was opened "
                            "over, not another workspace document");
    size_t ns;
    const dx_staged *staged = dx_workspace_staged(ws, &ns);
    dx_take_hooks h = {f, files_lookup, files_index_set, NULL, NULL};
    int rc = dx_docs_take_files(d, staged, ns, f->fmt, &h, n, err);
    if (d->paths_changed) /* the documents' own index, which reindex copies, is behind */
        d->paths_changed(d->ud);
    /* The documents say which entries are where now, whatever was taken in before a
     * failure (and below a moved index, paths changed that no staged file names). */
    dx_error re = DX_ERROR_INIT;
    int irc = reindex(f, &re);
    if (irc && !rc)
        rc = dx_error_set(err, irc, "%s", re.msg);
    if (!rc)
        dx_workspace_staged_clear(ws);
    return rc;
}
