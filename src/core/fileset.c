/* fileset.c - render the CRDT documents of a workspace as checked (path, bytes, blob id)
 * files; no file-system access. */
#include "diaryx/fileset.h"

#include <stdlib.h>
#include <string.h>

#include "diaryx/bodydoc.h"
#include "diaryx/hash.h"
#include "diaryx/materialize.h"
#include "diaryx/paths.h"
#include "diaryx/strmap.h"
#include "diaryx/workspace.h"
#include "diaryx/wsdoc.h"

void dx_fileset_free(dx_git_file *files, size_t n)
{
    for (size_t i = 0; files && i < n; i++) {
        free((char *)files[i].path);
        free((void *)files[i].data);
        free((char *)files[i].id);
    }
    free(files);
}

static int cmp_file(const void *a, const void *b)
{
    return strcmp(((const dx_git_file *)a)->path, ((const dx_git_file *)b)->path);
}

const dx_git_file *dx_fileset_find(const dx_git_file *files, size_t n, const char *path)
{
    dx_git_file key = {path, NULL, 0, NULL};
    return n ? bsearch(&key, files, n, sizeof *files, cmp_file) : NULL;
}

/* Whether bytes end with the body text, or, in a CRLF file (its first line ends in CRLF),
 * with the text's LF line ends written as CRLF (the body document holds LF). */
static bool holds_body(const dx_buf *bytes, const dx_buf *text)
{
    const char *b = dx_buf_cstr(bytes), *nl = memchr(b, '\n', bytes->len);
    size_t i = bytes->len, j = text->len;
    if (i >= j && memcmp(b + i - j, text->data, j) == 0)
        return true;
    if (!nl || nl == b || nl[-1] != '\r')
        return false;
    while (j > 0) {
        char c = text->data[--j];
        size_t w = c == '\n' ? 2 : 1;
        if (i < w || b[i - 1] != c || (w == 2 && b[i - 2] != '\r'))
            return false;
        i -= w;
    }
    return true;
}

/* Where check 3 finds the committed bytes of a path: the last commit's blobs listed in a
 * map (a full check), or looked up one path at a time (the changes only). */
typedef struct committed_src {
    const dx_strmap *head; /* path -> blob id, or NULL */
    dx_git *g;             /* with head NULL: look paths up in commit `rev` */
    const char *rev;
} committed_src;

static const char *committed_blob(const committed_src *c, const char *path,
                                  char buf[DX_GIT_OID_HEX])
{
    if (c->head)
        return dx_strmap_get(c->head, path);
    if (c->g && c->rev && dx_git_blob_id(c->g, c->rev, path, buf, NULL) == 0)
        return buf;
    return NULL;
}

/* Render entry id (its path and bytes) and run check 1 on its body. rc DX_ENOMEM is an
 * error; any other failure is a finding pushed to problems; *ok says whether there is a file
 * (a body finding keeps it: a commit with skip_validation records it). */
static int render(const dx_fileset_src *src, const char *id, dx_buf *path, dx_buf *bytes, bool *ok,
                  dx_strlist *problems, dx_error *err)
{
    y_doc *body = NULL;
    dx_buf text = DX_BUF_INIT;
    dx_error e = DX_ERROR_INIT;
    *ok = false;
    int rc = src->docs->body(src->docs->ud, id, &body, &e);
    if (!rc)
        rc = dx_materialize_entry(src->docs->workspace, id, body, src->fmt, path, bytes, &e);
    if (rc == DX_ENOMEM)
        return dx_error_set(err, rc, "out of memory rendering the workspace");
    if (rc) {
        dx_strlist_pushf(problems, "entry %s cannot be rendered: %s", id, e.msg);
        return 0;
    }
    /* Check 1: a rendered file is its frontmatter followed by the body: the body must end
     * it. */
    rc = dx_body_get(body, &text, &e);
    if (rc == DX_ENOMEM)
        rc = dx_error_set(err, rc, "out of memory");
    else if (rc) {
        dx_strlist_pushf(problems, "%s: its body document cannot be read: %s", path->data, e.msg);
        rc = 0;
    } else if (text.len && !holds_body(bytes, &text))
        dx_strlist_pushf(problems, "%s: the file does not hold its body (%zu bytes in the CRDT)",
                         path->data, text.len);
    *ok = rc == 0;
    dx_buf_release(&text);
    return rc;
}

/* Render entry id into out (path, bytes, blob id), checking it on the way; a finding goes
 * to problems and leaves out empty. seen maps the paths rendered so far to their entries. */
static int render_checked(const dx_fileset_src *src, const char *id, const committed_src *head,
                          dx_strmap *seen, dx_git_file *out, dx_strlist *problems, dx_error *err)
{
    dx_buf path = DX_BUF_INIT, bytes = DX_BUF_INIT, norm = DX_BUF_INIT;
    char now[DX_GIT_OID_HEX], buf[DX_GIT_OID_HEX];
    bool ok = false;
    int rc = render(src, id, &path, &bytes, &ok, problems, err), nrc = 0;
    if (rc || !ok)
        goto done;
    /* Check 2: one valid, distinct path per live entry. */
    if ((nrc = dx_path_normalize(path.data, &norm, NULL)) == DX_ENOMEM) {
        rc = dx_error_set(err, nrc, "out of memory");
    } else if (nrc != 0 || strcmp(norm.data, path.data) || !dx_path_is_markdown(path.data)) {
        dx_strlist_pushf(problems, "entry %s has an invalid path '%s'", id, path.data);
    } else if (dx_strmap_get(seen, path.data)) {
        dx_strlist_pushf(problems, "entries %s and %s both render to '%s'",
                         (const char *)dx_strmap_get(seen, path.data), id, path.data);
    } else if (dx_hash_blob_hex(NULL, bytes.data, bytes.len, now)) {
        rc = dx_error_set(err, DX_ENOMEM, "cannot hash '%s': out of memory", path.data);
    } else {
        /* Check 3: a file last written as committed must still render as committed. */
        const char *rec = src->tree ? src->tree->recorded(src->tree->ud, path.data) : NULL;
        const char *committed = rec ? committed_blob(head, path.data, buf) : NULL;
        if (rec && committed && !strcmp(rec, committed) && strcmp(now, committed) != 0)
            dx_strlist_pushf(
                problems,
                "%s: unchanged since the last commit, but the CRDT now renders other bytes",
                path.data);
        if (dx_strmap_put(seen, path.data, (void *)id)) {
            rc = dx_error_set(err, DX_ENOMEM, "out of memory");
        } else {
            out->len = bytes.len;
            out->path = dx_buf_detach(&path, NULL);
            out->data = bytes.len ? dx_buf_detach(&bytes, NULL) : strdup("");
            out->id = strdup(now);
            if (!out->path || !out->data || !out->id)
                rc = dx_error_set(err, DX_ENOMEM, "out of memory");
        }
    }
done:
    dx_buf_release(&path);
    dx_buf_release(&bytes);
    dx_buf_release(&norm);
    return rc;
}

/* Render ids[0..nids) (live ones) into a new array of nids + extra + 1 slots. */
static int render_all(const dx_fileset_src *src, const committed_src *head, const char *const *ids,
                      size_t nids, size_t extra, dx_strmap *seen, dx_git_file **files, size_t *n,
                      size_t *live, dx_strlist *problems, dx_error *err)
{
    y_doc *ws = src->docs->workspace;
    *n = 0;
    *live = 0;
    *files = calloc(nids + extra + 1, sizeof **files);
    if (!*files)
        return dx_error_set(err, DX_ENOMEM, "out of memory");
    int rc = 0;
    for (size_t i = 0; !rc && i < nids; i++) {
        if (!dx_wsdoc_is_live(ws, ids[i]))
            continue;
        (*live)++;
        rc = render_checked(src, ids[i], head, seen, &(*files)[*n], problems, err);
        if ((*files)[*n].path)
            (*n)++; /* also on an error: freed with the rest */
    }
    return rc;
}

/* Hand out the set sorted by path, or free it when rc says it failed. */
static void finish(int rc, dx_git_file *out, size_t k, dx_git_file **files, size_t *n)
{
    if (!rc && k > 1)
        qsort(out, k, sizeof *out, cmp_file);
    if (rc) {
        dx_fileset_free(out, k + 1);
        out = NULL;
        k = 0;
    }
    *files = out;
    *n = k;
}

static int no_workspace(dx_error *err)
{
    return dx_error_set(err, DX_EINVAL,
                        "the workspace document is not loaded; open the documents first");
}

int dx_fileset_all(const dx_fileset_src *src, dx_git *g, dx_git_file **files, size_t *n,
                   dx_strlist *problems, dx_error *err)
{
    dx_strlist ids = DX_STRLIST_INIT;
    dx_strmap seen = DX_STRMAP_INIT, head = DX_STRMAP_INIT;
    dx_git_file *out = NULL;
    size_t live = 0, k = 0;
    *files = NULL;
    *n = 0;
    int rc =
        src->docs->workspace ? dx_wsdoc_ids(src->docs->workspace, &ids, err) : no_workspace(err);
    if (!rc && g)
        rc = dx_git_blobs(g, NULL, &head, err);
    committed_src cs = {g ? &head : NULL, NULL, NULL};
    if (!rc)
        rc = render_all(src, &cs, (const char *const *)ids.items, ids.len, head.len, &seen, &out,
                        &k, &live, problems, err);
    if (!rc && k != live)
        dx_strlist_pushf(problems, "%zu live entries in the CRDT index, %zu files rendered", live,
                         k);
    /* What else the last commit holds stays as it is: files diaryx does not manage (the
     * repository may be the user's), and markdown files that are no entry but still on disk. */
    for (size_t i = 0; !rc && i < head.cap; i++) {
        const char *p = head.slots[i].key;
        if (!p || dx_strmap_get(&seen, p))
            continue;
        int there = !dx_workspace_manages(p) ? 1
                    : src->tree              ? src->tree->on_disk(src->tree->ud, p, err)
                                             : 0;
        if (there < 0) {
            rc = there;
            break;
        }
        if (!there)
            continue; /* a deleted entry */
        out[k].path = strdup(p);
        out[k].id = strdup(head.slots[i].value);
        if (!out[k++].path || !out[k - 1].id)
            rc = dx_error_set(err, DX_ENOMEM, "out of memory");
    }
    finish(rc, out, k, files, n);
    dx_git_blobs_release(&head);
    dx_strmap_release(&seen);
    dx_strlist_release(&ids);
    return rc;
}

int dx_fileset_entries(const dx_fileset_src *src, dx_git *g, const char *rev,
                       const char *const *ids, size_t nids, dx_git_file **files, size_t *n,
                       dx_strlist *problems, dx_error *err)
{
    dx_strmap seen = DX_STRMAP_INIT;
    dx_git_file *out = NULL;
    size_t live = 0, k = 0;
    *files = NULL;
    *n = 0;
    committed_src cs = {NULL, g, rev};
    int rc = src->docs->workspace
                 ? render_all(src, &cs, ids, nids, 0, &seen, &out, &k, &live, problems, err)
                 : no_workspace(err);
    finish(rc, out, k, files, n);
    dx_strmap_release(&seen);
    return rc;
}
