/* workspace.c - a workspace on disk: root detection, entries, tree, linking and moving. */
#include "workspace_int.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <jansson.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "diaryx/fs.h"
#include "diaryx/paths.h"

/* ---- opening ------------------------------------------------------------------------- */

bool dx_ws_skip_dir(const char *name)
{
    static const char *const skip[] = {"node_modules", "target", "build",
                                       "dist",         "vendor", "__pycache__"};
    if (name[0] == '.')
        return true;
    for (size_t i = 0; i < sizeof skip / sizeof *skip; i++)
        if (!strcmp(name, skip[i]))
            return true;
    return false;
}

int dx_workspace_check_dir(const char *rel, const char *shown, dx_error *err)
{
    if (!shown)
        shown = rel;
    /* Every directory on the way must be one the workspace walk enters. */
    char part[256];
    for (const char *p = rel; *p;) {
        const char *slash = strchr(p, '/');
        size_t n = slash ? (size_t)(slash - p) : strlen(p);
        if (n >= sizeof part)
            return dx_error_set(err, DX_EPATH, "'%s' has a component longer than 255 bytes", shown);
        memcpy(part, p, n);
        part[n] = 0;
        if (part[0] == '.')
            /* .git and .diaryx in any letter case (git refuses .GIT on case-insensitive
             * file systems), and every other hidden directory the walk never enters. */
            return dx_error_set(err, DX_EPATH,
                                "'%s' is inside the hidden directory '%s', where diaryx keeps no "
                                "entries (.git and .diaryx belong to git and diaryx); choose a "
                                "path outside hidden directories",
                                shown, part);
        if (dx_ws_skip_dir(part))
            return dx_error_set(err, DX_EPATH,
                                "'%s' is inside '%s', a directory diaryx never scans for entries "
                                "(build output and dependencies); choose another directory",
                                shown, part);
        if (!slash)
            break;
        p = slash + 1;
    }
    return 0;
}

int dx_workspace_check_path(const char *rel, const char *shown, dx_error *err)
{
    if (!shown)
        shown = rel;
    /* No allocation: dx_workspace_manages answers yes or no, and a failed allocation must
     * not read as "not a workspace file" (a commit would leave the file out). */
    char dir[4096];
    const char *slash = strrchr(rel, '/');
    size_t dl = slash ? (size_t)(slash - rel) : 0;
    if (dl >= sizeof dir)
        return dx_error_set(err, DX_EPATH, "'%s' is longer than %zu bytes", shown, sizeof dir - 1);
    memcpy(dir, rel, dl);
    dir[dl] = 0;
    int rc = dx_workspace_check_dir(dir, shown, err);
    if (rc == 0) {
        const char *base = dx_path_basename(rel);
        if (base[0] == '.')
            rc = dx_error_set(err, DX_EPATH,
                              "'%s' is a hidden file, which diaryx never takes as an entry; "
                              "choose a name that does not start with '.'",
                              shown);
        else if (!dx_path_is_markdown(rel))
            rc =
                dx_error_set(err, DX_EPATH,
                             "'%s' is not a markdown file; entries are files ending in .md", shown);
    }
    return rc;
}

bool dx_workspace_manages(const char *rel)
{
    return dx_workspace_check_path(rel, NULL, NULL) == 0;
}

/* ---- the disk backend ----------------------------------------------------------------- */

static int disk_read(void *ud, const char *rel, dx_buf *out, dx_error *err)
{
    return dx_fs_read_in(ud, rel, out, NULL, err);
}

static dx_ws_kind kind_of_mode(mode_t m)
{
    return S_ISREG(m) ? DX_WSK_FILE : S_ISDIR(m) ? DX_WSK_DIR : DX_WSK_OTHER;
}

static int disk_stat(void *ud, const char *rel, dx_ws_kind *kind, dx_error *err)
{
    struct stat st;
    int rc = dx_fs_stat_in(ud, rel, &st, err);
    if (rc == 0)
        *kind = kind_of_mode(st.st_mode);
    return rc;
}

static int disk_list(void *ud, const char *dir, dx_ws_entry_fn fn, void *cb)
{
    DIR *d = dx_fs_opendir_in(ud, dir);
    if (!d) /* gone or not a directory: nothing to list; out of memory is an error */
        return errno == ENOMEM ? DX_ENOMEM : 0;
    struct dirent *e;
    int rc = 0;
    dx_buf rel = DX_BUF_INIT;
    while (!rc && (e = readdir(d))) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
            continue;
        /* The entry type from readdir spares a stat per file; some file systems leave it
         * unknown. */
        dx_ws_kind k = e->d_type == DT_DIR   ? DX_WSK_DIR
                       : e->d_type == DT_REG ? DX_WSK_FILE
                       : e->d_type == DT_LNK ? DX_WSK_LINK
                                             : DX_WSK_OTHER;
        if (e->d_type == DT_UNKNOWN) {
            struct stat st;
            dx_buf_reset(&rel);
            if (dir[0])
                dx_buf_printf(&rel, "%s/", dir);
            dx_buf_puts(&rel, e->d_name);
            if ((rc = dx_buf_error(&rel))) /* a NULL path would list nothing or crash */
                break;
            int r = dx_fs_stat_in(ud, rel.data, &st, NULL);
            k = r == 0 ? kind_of_mode(st.st_mode) : r == DX_EPATH ? DX_WSK_LINK : DX_WSK_OTHER;
        }
        rc = fn(cb, e->d_name, k);
    }
    closedir(d);
    dx_buf_release(&rel);
    return rc;
}

const dx_ws_backend dx_ws_disk = {disk_read, NULL, disk_stat, disk_list, NULL};

/* ---- opening ------------------------------------------------------------------------- */

/* Whether file name at the top of be is a root index: a parseable note (a regular file,
 * not a link) with `contents` and no `part_of`. */
static bool is_root_index(const dx_ws_backend *be, void *ud, const char *name)
{
    dx_buf text = DX_BUF_INIT;
    dx_fm *fm = NULL;
    bool yes = false;
    if ((be->read_head ? be->read_head : be->read)(ud, name, &text, NULL) == 0 &&
        dx_fm_parse(dx_buf_cstr(&text), text.len, name, &fm, NULL) == 0)
        yes = dx_fm_has(fm, "contents") && !dx_fm_has(fm, "part_of");
    dx_fm_free(fm);
    dx_buf_release(&text);
    return yes;
}

static int push_markdown_name(void *cb, const char *name, dx_ws_kind kind)
{
    (void)kind;
    if (name[0] != '.' && dx_path_is_markdown(name))
        return dx_strlist_push(cb, name) ? DX_ENOMEM : 0;
    return 0;
}

/* The root index at the top of be (README.md and index.md first, then by name). */
static int find_root_in(const dx_ws_backend *be, void *ud, dx_buf *name)
{
    static const char *const first[] = {"README.md", "index.md"};
    for (size_t i = 0; i < 2; i++)
        if (is_root_index(be, ud, first[i]))
            return dx_buf_puts(name, first[i]) ? DX_ENOMEM : 0;
    dx_strlist names = DX_STRLIST_INIT;
    int rc = be->list(ud, "", push_markdown_name, &names);
    if (rc) {
        dx_strlist_release(&names);
        return rc;
    }
    dx_strlist_sort(&names);
    rc = DX_ENOTFOUND;
    for (size_t i = 0; i < names.len && rc == DX_ENOTFOUND; i++)
        if (is_root_index(be, ud, names.items[i]))
            rc = dx_buf_puts(name, names.items[i]) ? DX_ENOMEM : 0;
    dx_strlist_release(&names);
    return rc;
}

/* The workspace link format lives in the root index. */
static void read_link_format(dx_workspace *ws)
{
    dx_fm *fm = NULL;
    if (dx_ws_read_fm(ws, ws->root_file, &fm, NULL) == 0) {
        const char *f = dx_fm_get(fm, "link_format");
        dx_link_format lf;
        if (f && dx_link_format_parse(f, &lf) == 0)
            ws->format = lf;
    }
    dx_fm_free(fm);
}

int dx_ws_open_backend(const dx_ws_backend *be, void *ud, const char *root, dx_link_format fmt,
                       dx_workspace **out, dx_error *err)
{
    dx_buf name = DX_BUF_INIT;
    *out = NULL;
    int rc = find_root_in(be, ud, &name);
    dx_workspace *ws = rc ? NULL : calloc(1, sizeof *ws);
    if (!rc && (!ws || !(ws->root = strdup(root))))
        rc = DX_ENOMEM;
    if (rc) {
        free(ws);
        if (be->free)
            be->free(ud);
        dx_buf_release(&name);
        return rc == DX_ENOTFOUND ? dx_error_set(err, rc,
                                                 "the workspace '%s' has no root index (an entry "
                                                 "with `contents` and no `part_of` at its top)",
                                                 root)
                                  : dx_error_set(err, rc, "out of memory opening '%s'", root);
    }
    ws->be = be;
    ws->be_ud = ud;
    ws->root_file = dx_buf_detach(&name, NULL);
    ws->format = fmt;
    ws->staging = true;
    *out = ws;
    return 0;
}

int dx_workspace_open(const char *start, dx_workspace **out, dx_error *err)
{
    char abs[PATH_MAX];
    *out = NULL;
    if (!realpath(start, abs))
        return dx_error_set(err, DX_ENOTFOUND, "cannot open workspace '%s': %s", start,
                            strerror(errno));
    if (!dx_is_dir(abs)) {
        char *slash = strrchr(abs, '/');
        if (slash && slash != abs)
            *slash = 0;
    }
    dx_buf name = DX_BUF_INIT;
    char dir[PATH_MAX];
    snprintf(dir, sizeof dir, "%s", abs);
    for (;;) {
        int rc = find_root_in(&dx_ws_disk, dir, &name);
        if (rc == 0)
            break;
        if (rc != DX_ENOTFOUND) {
            dx_buf_release(&name);
            return dx_error_set(err, rc, "cannot open workspace: %s", dx_strerror(rc));
        }
        char *slash = strrchr(dir, '/');
        if (!slash || slash == dir) {
            dx_buf_release(&name);
            return dx_error_set(err, DX_ENOTFOUND,
                                "no diaryx workspace in '%s' or any parent directory (a root "
                                "index has `contents` and no `part_of`; create one with "
                                "`diaryx init`)",
                                abs);
        }
        *slash = 0;
    }
    dx_workspace *ws = calloc(1, sizeof *ws);
    if (!ws || !(ws->root = strdup(dir))) {
        free(ws);
        dx_buf_release(&name);
        return dx_error_set(err, DX_ENOMEM, "out of memory");
    }
    ws->be = &dx_ws_disk;
    ws->be_ud = ws->root;
    ws->root_file = dx_buf_detach(&name, NULL);
    ws->format = DX_LINK_MARKDOWN_ROOT;
    read_link_format(ws);
    *out = ws;
    return 0;
}

void dx_workspace_free(dx_workspace *ws)
{
    if (!ws)
        return;
    dx_workspace_staged_clear(ws);
    if (ws->be->free)
        ws->be->free(ws->be_ud);
    free(ws->staged);
    free(ws->root);
    free(ws->root_file);
    free(ws);
}

const char *dx_workspace_root(const dx_workspace *ws)
{
    return ws->root;
}

const char *dx_workspace_root_file(const dx_workspace *ws)
{
    return ws->root_file;
}

dx_link_format dx_workspace_link_format(const dx_workspace *ws)
{
    return ws->format;
}

int dx_workspace_relpath(const dx_workspace *ws, const char *user_path, dx_buf *out, dx_error *err)
{
    return dx_path_under_root(ws->root, user_path, out, err);
}

int dx_workspace_abspath(const dx_workspace *ws, const char *rel, dx_buf *out)
{
    /* Not printf: a command computes this for every recorded file. */
    int rc = dx_buf_puts(out, ws->root);
    if (!rc && rel[0] && !(rc = dx_buf_putc(out, '/')))
        rc = dx_buf_puts(out, rel);
    return rc;
}

/* ---- staging ------------------------------------------------------------------------- */

static dx_staged *staged_find(const dx_workspace *ws, const char *rel)
{
    size_t at = (size_t)(uintptr_t)dx_strmap_get(&ws->staged_at, rel);
    return at ? &ws->staged[at - 1] : NULL;
}

/* The staged record of rel, created (empty) when missing. */
static dx_staged *staged_get(dx_workspace *ws, const char *rel)
{
    dx_staged *f = staged_find(ws, rel);
    if (f)
        return f;
    if (ws->n_staged == ws->cap_staged) {
        size_t cap = ws->cap_staged ? ws->cap_staged * 2 : 8;
        dx_staged *p = realloc(ws->staged, cap * sizeof *p);
        if (!p)
            return NULL;
        ws->staged = p;
        ws->cap_staged = cap;
    }
    f = &ws->staged[ws->n_staged];
    memset(f, 0, sizeof *f);
    if (!(f->path = strdup(rel)))
        return NULL;
    if (dx_strmap_put(&ws->staged_at, rel, (void *)(uintptr_t)(ws->n_staged + 1))) {
        free(f->path);
        return NULL;
    }
    ws->n_staged++;
    return f;
}

void dx_workspace_set_staging(dx_workspace *ws, bool on)
{
    /* Only the disk can be written: any other backend always stages. */
    ws->staging = on || ws->be != &dx_ws_disk;
}

int dx_workspace_put_file(dx_workspace *ws, const char *rel, const char *bytes, size_t len,
                          dx_error *err)
{
    return dx_ws_write_bytes(ws, rel, bytes, len, err);
}

int dx_workspace_remove_file(dx_workspace *ws, const char *rel, dx_error *err)
{
    return dx_ws_remove(ws, rel, err);
}

void dx_workspace_set_source(dx_workspace *ws, dx_workspace_source_fn fn, void *ud)
{
    ws->source = fn;
    ws->source_ud = ud;
}

const dx_staged *dx_workspace_staged(const dx_workspace *ws, size_t *n)
{
    *n = ws->n_staged;
    return ws->staged;
}

void dx_workspace_staged_clear(dx_workspace *ws)
{
    for (size_t i = 0; i < ws->n_staged; i++) {
        free(ws->staged[i].path);
        free(ws->staged[i].bytes);
        free(ws->staged[i].moved_from);
    }
    ws->n_staged = 0;
    dx_strmap_release(&ws->staged_at);
}

/* The bytes of rel (head: its frontmatter may be all there is, see dx_ws_backend). */
static int read_file(const dx_workspace *ws, const char *rel, bool head, dx_buf *out, dx_error *err)
{
    const dx_staged *f = staged_find(ws, rel);
    if (f && f->removed)
        return dx_error_set(err, DX_ENOTFOUND, "'%s' does not exist", rel);
    if (f)
        return dx_buf_append(out, f->bytes, f->len) ? dx_error_set(err, DX_ENOMEM, "out of memory")
                                                    : 0;
    if (ws->staging && ws->source) {
        int src = ws->source(ws->source_ud, rel, out, err);
        if (src != DX_ENOTFOUND)
            return src;
    }
    int rc = head && ws->be->read_head ? ws->be->read_head(ws->be_ud, rel, out, err)
                                       : ws->be->read(ws->be_ud, rel, out, err);
    if (rc == DX_ENOTFOUND)
        dx_error_set(err, DX_ENOTFOUND, "'%s' does not exist", rel);
    return rc;
}

int dx_ws_read_bytes(const dx_workspace *ws, const char *rel, dx_buf *out, dx_error *err)
{
    return read_file(ws, rel, false, out, err);
}

int dx_ws_write_bytes(dx_workspace *ws, const char *rel, const char *data, size_t len,
                      dx_error *err)
{
    if (ws->staging) {
        dx_staged *f = staged_get(ws, rel);
        char *copy = malloc(len + 1);
        if (!f || !copy) {
            free(copy);
            return dx_error_set(err, DX_ENOMEM, "out of memory");
        }
        memcpy(copy, data, len);
        copy[len] = 0;
        free(f->bytes);
        f->bytes = copy;
        f->len = len;
        f->removed = false;
        return 0;
    }
    return dx_fs_write_in(ws->root, rel, data, len, 0644, NULL, NULL, err);
}

int dx_ws_remove(dx_workspace *ws, const char *rel, dx_error *err)
{
    if (ws->staging) {
        dx_staged *f = staged_get(ws, rel);
        if (!f)
            return dx_error_set(err, DX_ENOMEM, "out of memory");
        free(f->bytes);
        f->bytes = NULL;
        f->len = 0;
        f->removed = true;
        return 0;
    }
    return dx_fs_unlink_in(ws->root, rel, NULL, err);
}

bool dx_ws_exists(const dx_workspace *ws, const char *rel)
{
    const dx_staged *f = staged_find(ws, rel);
    if (f)
        return !f->removed;
    dx_ws_kind k;
    /* A link counts: something is in the way (and the write would refuse it). */
    return ws->be->stat(ws->be_ud, rel, &k, NULL) != DX_ENOTFOUND;
}

/* 0 when nothing is at rel (staged or on disk); DX_EEXIST, or DX_EPATH naming the symbolic
 * link in the way. */
static int free_path(const dx_workspace *ws, const char *rel, dx_error *err)
{
    dx_ws_kind k;
    dx_error e = DX_ERROR_INIT;
    const dx_staged *f = staged_find(ws, rel);
    int rc = f ? (f->removed ? DX_ENOTFOUND : 0) : ws->be->stat(ws->be_ud, rel, &k, &e);
    if (rc == DX_ENOTFOUND)
        return 0;
    if (rc == DX_EPATH)
        return dx_error_set(err, rc, "%s", e.msg);
    return dx_error_set(err, DX_EEXIST, "'%s' already exists", rel);
}

/* ---- entries --------------------------------------------------------------------------- */

static int read_note(const dx_workspace *ws, const char *rel, bool head, dx_fm **out, dx_error *err)
{
    dx_buf text = DX_BUF_INIT;
    *out = NULL;
    int rc = read_file(ws, rel, head, &text, err);
    if (!rc)
        rc = dx_fm_parse(dx_buf_cstr(&text), text.len, rel, out, err);
    dx_buf_release(&text);
    return rc;
}

int dx_workspace_read(const dx_workspace *ws, const char *rel, dx_fm **out, dx_error *err)
{
    return read_note(ws, rel, false, out, err);
}

int dx_ws_read_fm(const dx_workspace *ws, const char *rel, dx_fm **out, dx_error *err)
{
    return read_note(ws, rel, true, out, err);
}

int dx_workspace_write(const dx_workspace *ws, const char *rel, const dx_fm *fm, dx_error *err)
{
    /* A note read with an unclosed frontmatter block holds it as body text: writing it
     * back would bury the keys the user meant in the body for good. */
    if (dx_fm_unclosed(fm))
        return dx_error_set(err, DX_EPARSE,
                            "'%s' starts with '---' but its frontmatter is never closed; add "
                            "the closing '---' line before editing it",
                            rel);
    dx_buf text = DX_BUF_INIT;
    int rc = dx_fm_write(fm, &text, err);
    if (!rc)
        rc = dx_ws_write_bytes((dx_workspace *)ws, rel, dx_buf_cstr(&text), text.len, err);
    dx_buf_release(&text);
    return rc;
}

int dx_workspace_resolve(const dx_workspace *ws, const char *from_rel, const char *link,
                         dx_buf *out, dx_error *err)
{
    return dx_link_resolve(link, from_rel, ws->format, out, err);
}

int dx_workspace_link(const dx_workspace *ws, const char *from_rel, const char *target_rel,
                      dx_buf *out)
{
    dx_fm *fm = NULL;
    const char *title = NULL;
    if (dx_path_is_markdown(target_rel) && dx_ws_read_fm(ws, target_rel, &fm, NULL) == 0)
        title = dx_fm_get(fm, "title");
    int rc = dx_link_write(target_rel, from_rel, title, ws->format, out);
    dx_fm_free(fm);
    return rc;
}

int dx_ws_resolved_list(const dx_workspace *ws, const char *from_rel, const dx_fm *fm,
                        const char *key, dx_strlist *out, dx_strlist *raw)
{
    dx_strlist items = DX_STRLIST_INIT;
    int rc = dx_fm_get_list(fm, key, &items);
    for (size_t i = 0; !rc && i < items.len; i++) {
        dx_buf p = DX_BUF_INIT;
        if (dx_workspace_resolve(ws, from_rel, items.items[i], &p, NULL) == 0) {
            rc = dx_strlist_push(out, dx_buf_cstr(&p));
            if (!rc && raw)
                rc = dx_strlist_push(raw, items.items[i]);
        }
        dx_buf_release(&p);
    }
    dx_strlist_release(&items);
    return rc;
}

/* ---- tree ------------------------------------------------------------------------------ */

void dx_tree_free(dx_tree_node *n)
{
    if (!n)
        return;
    for (size_t i = 0; i < n->n; i++)
        dx_tree_free(n->children[i]);
    free(n->children);
    free(n->path);
    free(n->title);
    free(n->description);
    free(n);
}

static dx_tree_node *build_node(const dx_workspace *ws, const char *rel, int depth, int max_depth,
                                dx_strlist *stack)
{
    dx_tree_node *n = calloc(1, sizeof *n);
    if (!n || !(n->path = strdup(rel))) {
        free(n);
        return NULL;
    }
    dx_buf stem = DX_BUF_INIT;
    dx_path_stem(rel, &stem);
    if (dx_strlist_find(stack, rel) >= 0) {
        n->status = DX_NODE_CYCLE;
        n->title = dx_buf_detach(&stem, NULL);
        return n;
    }
    dx_fm *fm = NULL;
    dx_error err = DX_ERROR_INIT;
    int rc = dx_ws_read_fm(ws, rel, &fm, &err);
    if (rc) {
        n->status = rc == DX_ENOTFOUND ? DX_NODE_MISSING : DX_NODE_ERROR;
        n->title = dx_buf_detach(&stem, NULL);
        return n;
    }
    const char *t = dx_fm_get(fm, "title"), *d = dx_fm_get(fm, "description");
    n->title = t ? strdup(t) : dx_buf_detach(&stem, NULL);
    n->description = d ? strdup(d) : NULL;
    dx_buf_release(&stem);
    dx_strlist kids = DX_STRLIST_INIT;
    dx_ws_resolved_list(ws, rel, fm, "contents", &kids, NULL);
    dx_fm_free(fm);
    if (kids.len && max_depth && depth >= max_depth) {
        n->status = DX_NODE_TRUNCATED;
        n->hidden = kids.len;
    } else if (kids.len) {
        n->children = calloc(kids.len, sizeof *n->children);
        dx_strlist_push(stack, rel);
        for (size_t i = 0; n->children && i < kids.len; i++) {
            dx_tree_node *c = build_node(ws, kids.items[i], depth + 1, max_depth, stack);
            if (c)
                n->children[n->n++] = c;
        }
        dx_strlist_remove(stack, stack->len - 1);
    }
    dx_strlist_release(&kids);
    return n;
}

int dx_workspace_tree(const dx_workspace *ws, const char *start_rel, int max_depth,
                      dx_tree_node **out, dx_error *err)
{
    dx_strlist stack = DX_STRLIST_INIT;
    *out = build_node(ws, start_rel ? start_rel : ws->root_file, 0, max_depth, &stack);
    dx_strlist_release(&stack);
    return *out ? 0 : dx_error_set(err, DX_ENOMEM, "out of memory building the tree");
}

/* Appends freely: out keeps its first error (buf.h), which the caller checks once. */
static void node_label(const dx_tree_node *n, dx_buf *out)
{
    dx_buf_puts(out, n->title);
    if (n->description && n->description[0])
        dx_buf_printf(out, " - %s", n->description);
    if (n->status == DX_NODE_MISSING)
        dx_buf_printf(out, " (missing: %s)", n->path);
    else if (n->status == DX_NODE_ERROR)
        dx_buf_printf(out, " (error: %s)", n->path);
    else if (n->status == DX_NODE_CYCLE)
        dx_buf_puts(out, " (cycle)");
}

static int render(const dx_tree_node *n, const char *prefix, dx_buf *out)
{
    int rc = 0;
    size_t total = n->n + (n->status == DX_NODE_TRUNCATED ? 1 : 0);
    for (size_t i = 0; i < total && !rc; i++) {
        bool last = i + 1 == total;
        dx_buf_printf(out, "%s%s", prefix, last ? "└── " : "├── ");
        if (i == n->n) {
            dx_buf_printf(out, "... (%zu more)\n", n->hidden);
            break;
        }
        node_label(n->children[i], out);
        dx_buf_putc(out, '\n');
        dx_buf next = DX_BUF_INIT;
        rc = dx_buf_printf(&next, "%s%s", prefix, last ? "    " : "│   ");
        if (!rc)
            rc = render(n->children[i], next.data, out);
        dx_buf_release(&next);
    }
    return rc ? rc : dx_buf_error(out);
}

int dx_tree_render(const dx_tree_node *n, dx_buf *out)
{
    node_label(n, out);
    dx_buf_putc(out, '\n');
    return dx_buf_error(out) ? dx_buf_error(out) : render(n, "", out);
}

static json_t *node_json(const dx_tree_node *n)
{
    static const char *const st[] = {"ok", "missing", "error", "cycle", "truncated"};
    json_t *o =
        json_pack("{s:s, s:s, s:s}", "path", n->path, "title", n->title, "status", st[n->status]);
    if (!o)
        return NULL;
    if (n->description)
        json_object_set_new(o, "description", json_string(n->description));
    if (n->status == DX_NODE_TRUNCATED)
        json_object_set_new(o, "hidden_children", json_integer((json_int_t)n->hidden));
    json_t *kids = json_array();
    for (size_t i = 0; i < n->n; i++)
        json_array_append_new(kids, node_json(n->children[i]));
    json_object_set_new(o, "children", kids);
    return o;
}

int dx_tree_render_json(const dx_tree_node *n, dx_buf *out)
{
    json_t *j = node_json(n);
    char *s = j ? json_dumps(j, JSON_INDENT(2)) : NULL;
    json_decref(j);
    if (!s)
        return DX_ENOMEM;
    int rc = dx_buf_puts(out, s);
    free(s);
    return rc;
}

/* ---- editing ----------------------------------------------------------------------------- */

int dx_filename_from_title(const char *title, dx_buf *out)
{
    size_t start = out->len;
    bool dash = false;
    int rc = 0;
    for (const unsigned char *p = (const unsigned char *)title; *p && !rc; p++) {
        if (isalnum(*p) || *p >= 0x80) {
            if (dash && out->len > start)
                dx_buf_putc(out, '-');
            dash = false;
            rc = dx_buf_putc(out, (char)tolower(*p));
        } else {
            dash = true;
        }
    }
    if (out->len == start)
        dx_buf_puts(out, "untitled");
    dx_buf_puts(out, ".md");
    return dx_buf_error(out);
}

/* Insert link into the list under key (sorted or appended) unless an item already
 * resolves to target. Returns 1 when the list changed. */
static int add_to_list(const dx_workspace *ws, dx_fm *fm, const char *from_rel, const char *key,
                       const char *target, const char *link, bool sorted)
{
    dx_strlist items = DX_STRLIST_INIT;
    int rc = dx_fm_get_list(fm, key, &items);
    for (size_t i = 0; !rc && i < items.len; i++) {
        dx_buf p = DX_BUF_INIT;
        bool same = dx_workspace_resolve(ws, from_rel, items.items[i], &p, NULL) == 0 &&
                    !strcmp(dx_buf_cstr(&p), target);
        dx_buf_release(&p);
        if (same) {
            dx_strlist_release(&items);
            return 0;
        }
    }
    size_t at = items.len;
    if (sorted)
        for (at = 0; at < items.len && strcmp(items.items[at], link) < 0; at++)
            ;
    if (!rc)
        rc = dx_strlist_insert(&items, at, link);
    if (!rc)
        rc = dx_fm_set_list(fm, key, &items);
    dx_strlist_release(&items);
    return rc ? rc : 1;
}

/* Remove every item of key resolving to target. Returns 1 when the list changed. */
static int remove_from_list(const dx_workspace *ws, dx_fm *fm, const char *from_rel,
                            const char *key, const char *target)
{
    if (dx_fm_kind_of(fm, key) != DX_FM_LIST && dx_fm_kind_of(fm, key) != DX_FM_SCALAR)
        return 0;
    dx_strlist items = DX_STRLIST_INIT;
    int rc = dx_fm_get_list(fm, key, &items), changed = 0;
    for (size_t i = items.len; !rc && i-- > 0;) {
        dx_buf p = DX_BUF_INIT;
        bool same = dx_workspace_resolve(ws, from_rel, items.items[i], &p, NULL) == 0 &&
                    !strcmp(dx_buf_cstr(&p), target);
        dx_buf_release(&p);
        if (same) {
            dx_strlist_remove(&items, i);
            changed = 1;
        }
    }
    if (!rc && changed)
        rc = dx_fm_set_list(fm, key, &items);
    dx_strlist_release(&items);
    return rc ? rc : changed;
}

int dx_workspace_attach(dx_workspace *ws, const char *parent, const char *child, bool sorted,
                        dx_error *err)
{
    dx_fm *pf = NULL, *cf = NULL;
    dx_buf link = DX_BUF_INIT;
    int rc = dx_workspace_check_path(child, NULL, err);
    if (!rc)
        rc = dx_workspace_read(ws, parent, &pf, err);
    if (!rc)
        rc = dx_workspace_read(ws, child, &cf, err);
    if (rc)
        goto done;
    if (!strcmp(parent, child)) {
        rc = dx_error_set(err, DX_EINVAL, "cannot link '%s' under itself", child);
        goto done;
    }
    dx_workspace_link(ws, parent, child, &link);
    int ch = add_to_list(ws, pf, parent, "contents", child, link.data, sorted);
    if (ch < 0) {
        rc = dx_error_set(err, ch, "cannot update '%s'", parent);
        goto done;
    }
    if (ch && (rc = dx_workspace_write(ws, parent, pf, err)))
        goto done;
    if (child[0] && strcmp(child, ws->root_file) != 0) {
        dx_buf_reset(&link);
        dx_workspace_link(ws, child, parent, &link);
        const char *cur = dx_fm_get(cf, "part_of");
        if (!cur || strcmp(cur, link.data) != 0) {
            bool fresh = !dx_fm_has(cf, "part_of");
            dx_fm_set(cf, "part_of", link.data);
            /* A new part_of goes right after the title, where people look for it. */
            if (fresh)
                dx_fm_move(cf, "part_of", dx_fm_has(cf, "title") ? 1 : 0);
            rc = dx_workspace_write(ws, child, cf, err);
        }
    }
done:
    dx_fm_free(pf);
    dx_fm_free(cf);
    dx_buf_release(&link);
    return rc;
}

int dx_workspace_detach(dx_workspace *ws, const char *parent, const char *child, dx_error *err)
{
    dx_fm *pf = NULL, *cf = NULL;
    int rc = dx_workspace_read(ws, parent, &pf, err);
    if (rc)
        return rc;
    int ch = remove_from_list(ws, pf, parent, "contents", child);
    if (ch > 0)
        rc = dx_workspace_write(ws, parent, pf, err);
    if (!rc && dx_workspace_read(ws, child, &cf, NULL) == 0) {
        const char *po = dx_fm_get(cf, "part_of");
        dx_buf p = DX_BUF_INIT;
        if (po && dx_workspace_resolve(ws, child, po, &p, NULL) == 0 && !strcmp(p.data, parent)) {
            dx_fm_remove(cf, "part_of");
            rc = dx_workspace_write(ws, child, cf, err);
        }
        dx_buf_release(&p);
    }
    if (!rc && ch == 0 && !cf)
        rc = dx_error_set(err, DX_ENOTFOUND, "'%s' is not in the contents of '%s'", child, parent);
    dx_fm_free(pf);
    dx_fm_free(cf);
    return rc;
}

static bool has_contents(const dx_workspace *ws, const char *rel)
{
    dx_fm *fm = NULL;
    bool yes = dx_ws_read_fm(ws, rel, &fm, NULL) == 0 && dx_fm_has(fm, "contents");
    dx_fm_free(fm);
    return yes;
}

int dx_workspace_dir_index(const dx_workspace *ws, const char *dir, bool create, dx_buf *out,
                           dx_error *err)
{
    if (!dir[0])
        return dx_buf_puts(out, ws->root_file);
    const char *name = dx_path_basename(dir);
    dx_buf cand = DX_BUF_INIT;
    const char *fmts[] = {"%s/%s.md", "%s/index.md", "%s/README.md", "%s/%s_index.md"};
    for (size_t i = 0; i < 4; i++) {
        dx_buf_reset(&cand);
        if (i == 0 || i == 3)
            dx_buf_printf(&cand, fmts[i], dir, name);
        else
            dx_buf_printf(&cand, fmts[i], dir);
        if (has_contents(ws, cand.data)) {
            int rc = dx_buf_puts(out, cand.data);
            dx_buf_release(&cand);
            return rc;
        }
    }
    /* Any other index in the directory, by name. */
    dx_strlist names = DX_STRLIST_INIT;
    int lrc = ws->be->list(ws->be_ud, dir, push_markdown_name, &names);
    if (lrc) {
        dx_strlist_release(&names);
        dx_buf_release(&cand);
        return dx_error_set(err, lrc, "cannot list the directory '%s': %s", dir, dx_strerror(lrc));
    }
    /* Staged files of the directory count; staged removals do not. */
    size_t dl = strlen(dir);
    for (size_t i = 0; i < ws->n_staged; i++) {
        const dx_staged *f = &ws->staged[i];
        if (strncmp(f->path, dir, dl) != 0 || f->path[dl] != '/' || strchr(f->path + dl + 1, '/') ||
            !dx_path_is_markdown(f->path))
            continue;
        long at = dx_strlist_find(&names, f->path + dl + 1);
        if (f->removed && at >= 0)
            dx_strlist_remove(&names, (size_t)at);
        else if (!f->removed && at < 0)
            dx_strlist_push(&names, f->path + dl + 1);
    }
    dx_strlist_sort(&names);
    for (size_t i = 0; i < names.len; i++) {
        dx_buf_reset(&cand);
        dx_buf_printf(&cand, "%s/%s", dir, names.items[i]);
        if (has_contents(ws, cand.data)) {
            int rc = dx_buf_puts(out, cand.data);
            dx_strlist_release(&names);
            dx_buf_release(&cand);
            return rc;
        }
    }
    dx_strlist_release(&names);
    if (!create) {
        dx_buf_release(&cand);
        return dx_error_set(err, DX_ENOTFOUND, "directory '%s' has no index", dir);
    }
    /* Folder index convention: <dir>/<dir name>.md, linked into the parent directory. */
    dx_buf_reset(&cand);
    dx_buf_printf(&cand, "%s/%s.md", dir, name);
    dx_buf title = DX_BUF_INIT;
    dx_title_from_path(cand.data, &title);
    int rc = dx_workspace_create((dx_workspace *)ws, cand.data, title.data, true, err);
    if (!rc)
        rc = dx_buf_puts(out, cand.data);
    dx_buf_release(&cand);
    dx_buf_release(&title);
    return rc;
}

int dx_workspace_new_entry(const char *rel_in, dx_buf *rel, bool *dir_index, dx_buf *parent_dir,
                           dx_error *err)
{
    dx_buf stem = DX_BUF_INIT;
    int rc = dx_path_normalize(rel_in, rel, err);
    if (rc)
        return rc;
    if (!rel->len)
        return dx_error_set(err, DX_EINVAL, "'%s' is not a file name", rel_in);
    /* "DIR/" names a directory: its index DIR/<name>.md. */
    *dir_index = rel_in[strlen(rel_in) - 1] == '/';
    if (*dir_index)
        dx_buf_printf(rel, "/%s", dx_path_basename(rel->data));
    if (!dx_path_is_markdown(rel->data))
        dx_buf_puts(rel, ".md");
    /* A folder index (<dir>/<dir name>.md) belongs to the index of the parent directory;
     * any other entry to the index of its own directory. */
    dx_path_dirname(rel->data, parent_dir);
    dx_path_stem(rel->data, &stem);
    if (parent_dir->len && !strcmp(dx_buf_cstr(&stem), dx_path_basename(parent_dir->data))) {
        const char *slash = strrchr(parent_dir->data, '/');
        dx_buf_truncate(parent_dir, slash ? (size_t)(slash - parent_dir->data) : 0);
    }
    rc = dx_buf_error(rel) || dx_buf_error(parent_dir) || dx_buf_error(&stem)
             ? dx_error_set(err, DX_ENOMEM, "out of memory")
             : 0;
    dx_buf_release(&stem);
    return rc;
}

int dx_workspace_create(dx_workspace *ws, const char *rel_in, const char *title, bool index,
                        dx_error *err)
{
    dx_buf rel = DX_BUF_INIT, dir = DX_BUF_INIT, parent = DX_BUF_INIT, t = DX_BUF_INIT,
           body = DX_BUF_INIT;
    dx_fm *fm = NULL;
    bool dir_form;
    int rc = dx_workspace_new_entry(rel_in, &rel, &dir_form, &dir, err);
    if (rc)
        goto done;
    if (dir_form) {
        dx_path_dirname(rel.data, &t);
        if (dx_workspace_dir_index(ws, t.data, false, &parent, NULL) == 0) {
            rc = dx_error_set(err, DX_EEXIST, "'%s/' already has an index, '%s'", t.data,
                              parent.data);
            goto done;
        }
        dx_buf_reset(&t);
        index = true;
    }
    if ((rc = dx_workspace_check_path(rel.data, NULL, err)) || (rc = free_path(ws, rel.data, err)))
        goto done;
    if (!title || !*title) {
        dx_title_from_path(rel.data, &t);
        title = t.data;
    }
    /* The parent index must exist before the child can point at it. */
    if ((rc = dx_workspace_dir_index(ws, dx_buf_cstr(&dir), true, &parent, err)))
        goto done;
    if ((rc = dx_fm_new(&fm)))
        goto done;
    dx_fm_set(fm, "title", title);
    if (index) {
        dx_strlist empty = DX_STRLIST_INIT;
        dx_fm_set_list(fm, "contents", &empty);
    }
    dx_buf_printf(&body, "\n# %s\n", title);
    dx_fm_set_body(fm, body.data, body.len);
    if ((rc = dx_workspace_write(ws, rel.data, fm, err)))
        goto done;
    rc = dx_workspace_attach(ws, parent.data, rel.data, false, err);
done:
    dx_fm_free(fm);
    dx_buf_release(&rel);
    dx_buf_release(&dir);
    dx_buf_release(&parent);
    dx_buf_release(&t);
    dx_buf_release(&body);
    return rc;
}

/* A temporary file of dx_file_write_atomic (".NAME.tmpPID") whose writer is gone: a
 * process killed between writing and renaming leaves one behind. */
static bool stale_temp(const char *name)
{
    const char *t = strstr(name, ".tmp");
    if (name[0] != '.' || !t || !t[4])
        return false;
    for (const char *p = t + 4; *p; p++)
        if (!isdigit((unsigned char)*p))
            return false;
    long pid = strtol(t + 4, NULL, 10);
    return pid > 0 && kill((pid_t)pid, 0) != 0 && errno == ESRCH;
}

typedef struct file_walk {
    const dx_workspace *ws;
    const char *dir;
    bool md_only;
    dx_strlist *out, *links;
} file_walk;

static int list_files(const dx_workspace *ws, const char *rel_dir, bool md_only, dx_strlist *out,
                      dx_strlist *links);

static int list_one(void *cb, const char *name, dx_ws_kind kind)
{
    const file_walk *w = cb;
    dx_buf rel = DX_BUF_INIT;
    dx_buf_puts(&rel, w->dir);
    if (w->dir[0])
        dx_buf_putc(&rel, '/');
    dx_buf_puts(&rel, name);
    int rc = dx_buf_error(&rel); /* a NULL path would list nothing or crash */
    if (rc)
        ;
    else if (name[0] == '.') {
        if (kind != DX_WSK_DIR && w->ws->be == &dx_ws_disk && stale_temp(name))
            dx_fs_unlink_in(w->ws->root, rel.data, NULL, NULL);
    } else if (kind == DX_WSK_LINK && w->links)
        rc = dx_strlist_push(w->links, rel.data);
    else if (kind == DX_WSK_DIR && !dx_ws_skip_dir(name))
        rc = list_files(w->ws, rel.data, w->md_only, w->out, w->links);
    else if (kind == DX_WSK_FILE && (!w->md_only || dx_path_is_markdown(name)))
        rc = dx_strlist_push(w->out, rel.data);
    dx_buf_release(&rel);
    return rc;
}

/* The files below rel_dir (markdown only with md_only) into out; symbolic links (never
 * followed) into links when it is not NULL. */
static int list_files(const dx_workspace *ws, const char *rel_dir, bool md_only, dx_strlist *out,
                      dx_strlist *links)
{
    file_walk w = {ws, rel_dir, md_only, out, links};
    return ws->be->list(ws->be_ud, rel_dir, list_one, &w);
}

int dx_workspace_list_files(const dx_workspace *ws, bool markdown_only, dx_strlist *out,
                            dx_error *err)
{
    size_t first = out->len;
    int rc = list_files(ws, "", markdown_only, out, NULL);
    if (!rc && ws->n_staged) {
        /* The staging area changes the listing: disk files it removes go, files it adds
         * come (looked up in the staging index, so a large staging area costs no more than
         * a small one per file). */
        size_t kept = first;
        for (size_t i = first; i < out->len; i++) {
            const dx_staged *f = staged_find(ws, out->items[i]);
            if (f && f->removed)
                free(out->items[i]);
            else
                out->items[kept++] = out->items[i];
        }
        out->len = kept;
        dx_strmap listed = DX_STRMAP_INIT;
        for (size_t i = first; !rc && i < out->len; i++)
            rc = dx_strmap_put(&listed, out->items[i], (void *)1);
        for (size_t i = 0; !rc && i < ws->n_staged; i++) {
            const dx_staged *f = &ws->staged[i];
            if (!f->removed && !dx_strmap_get(&listed, f->path) &&
                (!markdown_only || dx_path_is_markdown(f->path)))
                rc = dx_strlist_push(out, f->path);
        }
        dx_strmap_release(&listed);
    }
    dx_strlist_sort(out);
    return rc ? dx_error_set(err, rc, "cannot list the workspace files") : 0;
}

int dx_workspace_list_links(const dx_workspace *ws, dx_strlist *out, dx_error *err)
{
    dx_strlist files = DX_STRLIST_INIT;
    int rc = list_files(ws, "", true, &files, out);
    dx_strlist_release(&files);
    dx_strlist_sort(out);
    return rc ? dx_error_set(err, rc, "cannot list the workspace files") : 0;
}

static int relink_list(const dx_workspace *ws, dx_fm *fm, const char *key, const char *old_self,
                       const char *new_self, const char *from, const char *to, bool *changed)
{
    return dx_workspace_relink(fm, key, old_self, new_self, from, to, ws->format, changed);
}

int dx_workspace_relink(dx_fm *fm, const char *key, const char *old_self, const char *new_self,
                        const char *from, const char *to, dx_link_format format, bool *changed)
{
    if (dx_fm_kind_of(fm, key) == DX_FM_ABSENT || dx_fm_kind_of(fm, key) == DX_FM_NULL)
        return 0;
    bool scalar = dx_fm_kind_of(fm, key) == DX_FM_SCALAR;
    dx_strlist items = DX_STRLIST_INIT;
    int rc = dx_fm_get_list(fm, key, &items);
    bool any = false;
    for (size_t i = 0; !rc && i < items.len; i++) {
        dx_buf p = DX_BUF_INIT, nl = DX_BUF_INIT;
        dx_link l;
        if (dx_link_resolve(items.items[i], old_self, format, &p, NULL) == 0 &&
            dx_link_parse(items.items[i], &l) == 0) {
            bool hit = !strcmp(p.data, from);
            bool self_relative = strcmp(old_self, new_self) != 0;
            if (hit || self_relative) {
                dx_link_write(hit ? to : p.data, new_self, l.title, format, &nl);
                if (strcmp(nl.data, items.items[i]) != 0) {
                    free(items.items[i]);
                    items.items[i] = dx_buf_detach(&nl, NULL);
                    any = true;
                }
            }
            dx_link_release(&l);
        }
        dx_buf_release(&p);
        dx_buf_release(&nl);
    }
    if (!rc && any) {
        rc = scalar && items.len == 1 ? dx_fm_set(fm, key, items.items[0])
                                      : dx_fm_set_list(fm, key, &items);
        *changed = true;
    }
    dx_strlist_release(&items);
    return rc;
}

/* Whether path is dir or below it ("" is the root directory, above everything). */
static bool path_under(const char *path, const char *dir)
{
    size_t n = strlen(dir);
    return !n || (strncmp(path, dir, n) == 0 && path[n] == '/');
}

/* Whether rel is the index of its own directory (never for the root directory). */
static bool is_folder_index(const dx_workspace *ws, const char *rel)
{
    dx_buf dir = DX_BUF_INIT, idx = DX_BUF_INIT;
    dx_path_dirname(rel, &dir);
    bool yes = dir.len && dx_workspace_dir_index(ws, dir.data, false, &idx, NULL) == 0 &&
               !strcmp(idx.data, rel);
    dx_buf_release(&dir);
    dx_buf_release(&idx);
    return yes;
}

/* Where a move of from (normalized) to to_in lands, into to. to_in names a directory when
 * it is empty, ends in '/' or is an existing directory: the file goes into it under its
 * own name, and a folder index takes its folder along (folder gets the new folder's
 * path; it stays empty otherwise). A markdown file's new name gets ".md" when it has none. */
static int move_target(const dx_workspace *ws, const char *from, const char *to_in, dx_buf *to,
                       dx_buf *folder, dx_error *err)
{
    size_t n = strlen(to_in);
    dx_buf old_dir = DX_BUF_INIT;
    int rc = dx_path_normalize(to_in, to, err);
    if (rc)
        return rc;
    dx_ws_kind k;
    bool into_dir = !to->len || to_in[n - 1] == '/' ||
                    (ws->be->stat(ws->be_ud, to->data, &k, NULL) == 0 && k == DX_WSK_DIR);
    if (!into_dir) {
        if (!dx_path_is_markdown(to->data) && dx_path_is_markdown(from))
            rc = dx_buf_puts(to, ".md");
    } else if (is_folder_index(ws, from)) {
        if (!(rc = dx_path_dirname(from, &old_dir)))
            rc = dx_buf_printf(folder, "%s%s%s", to->data, to->len ? "/" : "",
                               dx_path_basename(old_dir.data));
        dx_buf_reset(to);
        if (!rc)
            rc = dx_buf_printf(to, "%s/%s", folder->data, dx_path_basename(from));
    } else {
        rc = dx_buf_printf(to, "%s%s", to->len ? "/" : "", dx_path_basename(from));
    }
    dx_buf_release(&old_dir);
    return rc ? dx_error_set(err, DX_ENOMEM, "out of memory") : 0;
}

int dx_workspace_move_target(const dx_workspace *ws, const char *from, const char *to, dx_buf *out,
                             dx_error *err)
{
    dx_buf f = DX_BUF_INIT, folder = DX_BUF_INIT;
    int rc = dx_path_normalize(from, &f, err);
    if (!rc)
        rc = move_target(ws, f.data, to, out, &folder, err);
    dx_buf_release(&f);
    dx_buf_release(&folder);
    return rc;
}

/* Move one file from -> to (both normalized, to final). */
static int move_file(dx_workspace *ws, const char *from, const char *to, dx_error *err)
{
    dx_buf tmp = DX_BUF_INIT, old_dir = DX_BUF_INIT, new_dir = DX_BUF_INIT,
           new_parent = DX_BUF_INIT, old_parent = DX_BUF_INIT, raw = DX_BUF_INIT;
    dx_strlist files = DX_STRLIST_INIT;
    dx_fm *fm = NULL;
    int rc = 0;
    if (!strcmp(from, ws->root_file)) {
        rc = dx_error_set(err, DX_EINVAL, "the root index '%s' cannot be moved", from);
        goto done;
    }
    if ((dx_path_is_markdown(from) && (rc = dx_workspace_check_path(to, NULL, err))) ||
        (rc = free_path(ws, to, err)))
        goto done;
    dx_path_dirname(from, &old_dir);
    dx_path_dirname(to, &new_dir);
    /* Only a note has links of its own; any other file (an attachment) moves as bytes. */
    bool note = dx_path_is_markdown(from);
    if ((rc = note ? dx_workspace_read(ws, from, &fm, err) : dx_ws_read_bytes(ws, from, &raw, err)))
        goto done;
    /* The index of the old directory, which the file leaves when its directory changes;
     * a folder index leaves the index of the directory above. */
    if (dx_workspace_dir_index(ws, dx_buf_cstr(&old_dir), false, &old_parent, NULL) != 0)
        dx_buf_reset(&old_parent);
    if (old_parent.len && !strcmp(old_parent.data, from)) {
        dx_buf_reset(&old_parent);
        dx_path_dirname(old_dir.data, &tmp);
        if (dx_workspace_dir_index(ws, dx_buf_cstr(&tmp), false, &old_parent, NULL) != 0)
            dx_buf_reset(&old_parent);
    }
    /* 1. Write the file at its new place with its own links re-expressed, then remove the
     *    old one (a crash in between leaves two copies, never none). */
    bool ch = false;
    const char *keys[] = {"part_of", "contents", "attachments"};
    for (size_t k = 0; k < 3 && !rc && note; k++)
        rc = relink_list(ws, fm, keys[k], from, to, from, to, &ch);
    if (!rc)
        rc = note ? dx_workspace_write(ws, to, fm, err)
                  : dx_ws_write_bytes(ws, to, dx_buf_cstr(&raw), raw.len, err);
    if (rc)
        goto done;
    if ((rc = dx_ws_remove(ws, from, err)))
        goto done;
    if (ws->staging) {
        dx_staged *moved = staged_find(ws, to);
        if (moved && !(moved->moved_from = strdup(from))) {
            rc = dx_error_set(err, DX_ENOMEM, "out of memory");
            goto done;
        }
    }
    /* 2. Every other file's links to it. */
    if ((rc = dx_workspace_list_files(ws, true, &files, err)))
        goto done;
    for (size_t i = 0; i < files.len && !rc; i++) {
        if (!strcmp(files.items[i], to))
            continue;
        dx_fm *o = NULL;
        if (dx_workspace_read(ws, files.items[i], &o, NULL) != 0)
            continue; /* unreadable files are reported by validate, not rewritten */
        bool changed = false;
        for (size_t k = 0; k < 3 && !rc; k++)
            rc = relink_list(ws, o, keys[k], files.items[i], files.items[i], from, to, &changed);
        if (!rc && changed)
            rc = dx_workspace_write(ws, files.items[i], o, err);
        dx_fm_free(o);
    }
    /* 3. A new directory means a new parent: the index of that directory, or, for the
     *    file that is that directory's index, the index of the directory above. */
    if (!rc && strcmp(dx_buf_cstr(&old_dir), dx_buf_cstr(&new_dir)) != 0 &&
        dx_path_is_markdown(to)) {
        rc = dx_workspace_dir_index(ws, dx_buf_cstr(&new_dir), true, &new_parent, err);
        if (!rc && !strcmp(new_parent.data, to)) {
            dx_buf_reset(&new_parent);
            dx_buf_reset(&tmp);
            dx_path_dirname(new_dir.data, &tmp);
            rc = dx_workspace_dir_index(ws, dx_buf_cstr(&tmp), true, &new_parent, err);
        }
        if (!rc && strcmp(new_parent.data, dx_buf_cstr(&old_parent)) != 0) {
            if (old_parent.len && dx_ws_exists(ws, old_parent.data))
                rc = dx_workspace_detach(ws, old_parent.data, to, err);
            if (!rc)
                rc = dx_workspace_attach(ws, new_parent.data, to, false, err);
        }
    }
done:
    dx_fm_free(fm);
    dx_strlist_release(&files);
    dx_buf_release(&raw);
    dx_buf_release(&tmp);
    dx_buf_release(&old_dir);
    dx_buf_release(&new_dir);
    dx_buf_release(&new_parent);
    dx_buf_release(&old_parent);
    return rc;
}

static size_t path_depth(const char *p)
{
    size_t d = 0;
    for (; *p; p++)
        d += *p == '/';
    return d;
}

/* Move the folder old_dir to new_dir, every note in it: the folder indexes first (the
 * shallowest first), so that each note finds its index at the new place. */
static int move_folder(dx_workspace *ws, const char *old_dir, const char *new_dir, dx_error *err)
{
    dx_strlist all = DX_STRLIST_INIT, order = DX_STRLIST_INIT;
    dx_buf dest = DX_BUF_INIT;
    int rc = dx_workspace_list_files(ws, true, &all, err);
    size_t max_depth = 0;
    for (size_t i = 0; i < all.len; i++)
        if (path_under(all.items[i], old_dir) && path_depth(all.items[i]) > max_depth)
            max_depth = path_depth(all.items[i]);
    for (size_t depth = path_depth(old_dir) + 1; !rc && depth <= max_depth; depth++)
        for (size_t i = 0; !rc && i < all.len; i++)
            if (path_under(all.items[i], old_dir) && path_depth(all.items[i]) == depth &&
                is_folder_index(ws, all.items[i]))
                rc = dx_strlist_push(&order, all.items[i]);
    /* Only the notes: other files (attachments) are not entries of the CRDT, so a session
     * could not move them; they stay where they are, and so do the links to them. */
    for (size_t i = 0; !rc && i < all.len; i++)
        if (path_under(all.items[i], old_dir) && dx_path_is_markdown(all.items[i]) &&
            dx_strlist_find(&order, all.items[i]) < 0)
            rc = dx_strlist_push(&order, all.items[i]);
    if (rc)
        rc = dx_error_set(err, DX_ENOMEM, "out of memory");
    for (size_t i = 0; !rc && i < order.len; i++) {
        dx_buf_reset(&dest);
        dx_buf_printf(&dest, "%s%s", new_dir, order.items[i] + strlen(old_dir));
        rc = move_file(ws, order.items[i], dest.data, err);
    }
    dx_strlist_release(&all);
    dx_strlist_release(&order);
    dx_buf_release(&dest);
    return rc;
}

/* An index must keep its entries in its directory or below (their paths are derived from
 * its own): refuse a move that would leave one of them behind. */
static int check_entries_follow(dx_workspace *ws, const char *from, const char *to,
                                const char *old_folder, const char *new_folder, dx_error *err)
{
    dx_fm *fm = NULL;
    dx_strlist kids = DX_STRLIST_INIT;
    dx_buf old_dir = DX_BUF_INIT, new_dir = DX_BUF_INIT;
    int rc = dx_workspace_read(ws, from, &fm, err);
    if (!rc)
        rc = dx_ws_resolved_list(ws, from, fm, "contents", &kids, NULL);
    dx_path_dirname(from, &old_dir);
    dx_path_dirname(to, &new_dir);
    for (size_t i = 0; !rc && i < kids.len; i++) {
        const char *k = kids.items[i];
        bool follows = *old_folder && path_under(k, old_folder);
        if (!dx_ws_exists(ws, k) || !path_under(k, dx_buf_cstr(&old_dir)) || follows ||
            path_under(k, dx_buf_cstr(&new_dir)))
            continue;
        rc = dx_error_set(err, DX_EINVAL,
                          "cannot move '%s' to '%s': its entry '%s' would be outside its "
                          "directory; move the entries first%s",
                          from, to, k,
                          *new_folder ? ""
                                      : ", or move a folder's index into a directory (DEST/) to "
                                        "move the whole folder");
    }
    dx_fm_free(fm);
    dx_strlist_release(&kids);
    dx_buf_release(&old_dir);
    dx_buf_release(&new_dir);
    return rc;
}

int dx_workspace_move(dx_workspace *ws, const char *from_in, const char *to_in, dx_error *err)
{
    dx_buf from = DX_BUF_INIT, to = DX_BUF_INIT, old_folder = DX_BUF_INIT, new_folder = DX_BUF_INIT;
    int rc;
    if ((rc = dx_path_normalize(from_in, &from, err)))
        goto done;
    if (!dx_ws_exists(ws, from.data)) {
        rc = dx_error_set(err, DX_ENOTFOUND, "'%s' does not exist", from.data);
        goto done;
    }
    if ((rc = move_target(ws, from.data, to_in, &to, &new_folder, err)))
        goto done;
    if (!strcmp(from.data, ws->root_file)) {
        rc = dx_error_set(err, DX_EINVAL, "the root index '%s' cannot be moved", from.data);
        goto done;
    }
    if (new_folder.len) {
        dx_path_dirname(from.data, &old_folder);
        if (path_under(new_folder.data, old_folder.data)) {
            rc = dx_error_set(err, DX_EINVAL, "cannot move the folder '%s' into itself ('%s')",
                              old_folder.data, new_folder.data);
            goto done;
        }
        dx_ws_kind k;
        if (ws->be->stat(ws->be_ud, new_folder.data, &k, NULL) != DX_ENOTFOUND ||
            dx_ws_exists(ws, to.data)) {
            rc = dx_error_set(err, DX_EEXIST, "'%s' already exists", new_folder.data);
            goto done;
        }
    }
    if ((rc = check_entries_follow(ws, from.data, to.data, dx_buf_cstr(&old_folder),
                                   dx_buf_cstr(&new_folder), err)))
        goto done;
    rc = new_folder.len ? move_folder(ws, old_folder.data, new_folder.data, err)
                        : move_file(ws, from.data, to.data, err);
done:
    dx_buf_release(&from);
    dx_buf_release(&to);
    dx_buf_release(&old_folder);
    dx_buf_release(&new_folder);
    return rc;
}

int dx_workspace_delete(dx_workspace *ws, const char *rel, dx_error *err)
{
    dx_fm *fm = NULL;
    dx_buf abs = DX_BUF_INIT;
    dx_strlist files = DX_STRLIST_INIT;
    int rc = dx_workspace_read(ws, rel, &fm, err);
    if (rc)
        return rc;
    dx_strlist kids = DX_STRLIST_INIT;
    dx_fm_get_list(fm, "contents", &kids);
    if (kids.len)
        rc = dx_error_set(err, DX_ECONFLICT,
                          "'%s' still has %zu entries in its contents; move or delete them first",
                          rel, kids.len);
    else if (!strcmp(rel, ws->root_file))
        rc = dx_error_set(err, DX_EINVAL, "the root index '%s' cannot be deleted", rel);
    dx_strlist_release(&kids);
    /* Every list that links to it loses the link, not only its part_of parent. */
    if (!rc)
        rc = dx_workspace_list_files(ws, true, &files, err);
    for (size_t i = 0; !rc && i < files.len; i++) {
        dx_fm *o = NULL;
        if (!strcmp(files.items[i], rel) || dx_workspace_read(ws, files.items[i], &o, NULL) != 0)
            continue;
        int a = remove_from_list(ws, o, files.items[i], "contents", rel);
        int b = remove_from_list(ws, o, files.items[i], "attachments", rel);
        if (a > 0 || b > 0)
            rc = dx_workspace_write(ws, files.items[i], o, err);
        dx_fm_free(o);
    }
    if (!rc)
        rc = dx_ws_remove(ws, rel, err);
    dx_fm_free(fm);
    dx_strlist_release(&files);
    dx_buf_release(&abs);
    return rc;
}

int dx_workspace_init(const char *abs_dir, const char *title, const char *description,
                      bool *created, dx_error *err)
{
    *created = false;
    int rc = dx_mkdirs(abs_dir, err);
    if (rc)
        return rc;
    dx_buf name = DX_BUF_INIT, path = DX_BUF_INIT, text = DX_BUF_INIT, body = DX_BUF_INIT;
    if (find_root_in(&dx_ws_disk, (void *)abs_dir, &name) == 0) {
        dx_buf_release(&name);
        return 0;
    }
    char real[PATH_MAX];
    const char *dirname = realpath(abs_dir, real) ? dx_path_basename(real) : "Workspace";
    dx_fm *fm = NULL;
    if ((rc = dx_fm_new(&fm)))
        return dx_error_set(err, rc, "out of memory");
    const char *t = title && *title ? title : dirname;
    dx_fm_set(fm, "title", t);
    dx_fm_set(fm, "description", description ? description : "A diaryx workspace");
    dx_strlist empty = DX_STRLIST_INIT;
    dx_fm_set_list(fm, "contents", &empty);
    dx_buf_printf(&body, "\n# %s\n", t);
    dx_fm_set_body(fm, body.data, body.len);
    dx_buf_printf(&path, "%s/README.md", abs_dir);
    struct stat st;
    dx_fs_expect absent = {.absent = true};
    if (dx_fs_stat_in(abs_dir, "README.md", &st, NULL) != DX_ENOTFOUND)
        rc = dx_error_set(err, DX_EEXIST,
                          "'%s' exists but is not a root index (it needs `contents` and no "
                          "`part_of`, and may not be a symbolic link)",
                          path.data);
    else if (!(rc = dx_fm_write(fm, &text, err)))
        rc = dx_fs_write_in(abs_dir, "README.md", text.data, text.len, 0644, &absent, NULL, err);
    if (!rc)
        *created = true;
    dx_fm_free(fm);
    dx_buf_release(&name);
    dx_buf_release(&path);
    dx_buf_release(&text);
    dx_buf_release(&body);
    return rc;
}
