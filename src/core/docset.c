/* docset.c - the CRDT documents of one workspace, loaded from its store: update capture,
 * catch-up with other writers, the path index. No file-system access. */
#include "diaryx/docset.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "diaryx/materialize.h"
#include "diaryx/wsdoc.h"

typedef struct doc_slot {
    dx_docset *ds;
    char name[DX_DOC_NAME_MAX];
    y_doc *doc;
} doc_slot;

typedef struct pending {
    char *doc;
    uint8_t *data;
    size_t len;
} pending;

struct dx_docset {
    dx_crdt_store *store; /* lent */
    char *device;
    doc_slot wsslot;
    dx_strmap bodies;  /* entry id -> doc_slot* */
    dx_strmap paths;   /* live entry path -> id (char*, owned) */
    bool paths_stale;  /* an edit through dx_docset_docs moved entries: build paths again */
    dx_strmap touched; /* entry ids whose file changed */
    pending *pend;
    size_t n_pend, cap_pend;
    bool oom;         /* an update could not be kept: the next flush fails */
    bool catching_up; /* applying updates others stored: not ours to store */
    int64_t seen;     /* the newest stored update the documents include */
    size_t *loads;    /* counts loaded documents, or NULL */
};

void dx_doc_body_name(const char *id, char out[DX_DOC_NAME_MAX])
{
    snprintf(out, DX_DOC_NAME_MAX, DX_DOC_BODY_PREFIX "%s", id);
}

const char *dx_doc_body_id(const char *name)
{
    size_t n = strlen(DX_DOC_BODY_PREFIX);
    return strncmp(name, DX_DOC_BODY_PREFIX, n) == 0 && name[n] ? name + n : NULL;
}

/* ---- documents ------------------------------------------------------------------------ */

/* Keep update of document name for the next flush. false when out of memory. */
static bool keep(dx_docset *ds, const char *name, const uint8_t *update, size_t len)
{
    if (ds->n_pend == ds->cap_pend) {
        size_t cap = ds->cap_pend ? ds->cap_pend * 2 : 16;
        pending *p = realloc(ds->pend, cap * sizeof *p);
        if (!p)
            return false;
        ds->pend = p;
        ds->cap_pend = cap;
    }
    pending *p = &ds->pend[ds->n_pend];
    p->doc = strdup(name);
    p->data = malloc(len ? len : 1);
    if (!p->doc || !p->data) {
        free(p->doc);
        free(p->data);
        return false;
    }
    memcpy(p->data, update, len);
    p->len = len;
    ds->n_pend++;
    return true;
}

static void on_update(void *user, const uint8_t *update, size_t len, const void *origin)
{
    (void)origin;
    doc_slot *slot = user;
    dx_docset *ds = slot->ds;
    if (!ds->catching_up && !keep(ds, slot->name, update, len))
        ds->oom = true;
}

int dx_docset_keep(dx_docset *ds, const char *name, const uint8_t *update, size_t len,
                   dx_error *err)
{
    return keep(ds, name, update, len) ? 0 : dx_error_set(err, DX_ENOMEM, "out of memory");
}

/* Load document name into slot, as of `seen`, and watch its changes. Updates of the last
 * few moments are never compacted away (compaction keeps the newest), so that state is
 * normally there; when it is not, the caller must start again rather than edit a state it
 * did not see. */
static int slot_load(dx_docset *ds, doc_slot *slot, const char *name, dx_error *err)
{
    slot->ds = ds;
    snprintf(slot->name, sizeof slot->name, "%s", name);
    y_doc_options o = Y_DOC_OPTIONS_INIT;
    int rc = y_doc_new(&slot->doc, &o) == Y_OK ? 0 : dx_error_set(err, DX_ENOMEM, "out of memory");
    if (!rc && (rc = dx_store_load_upto(ds->store, name, ds->seen, slot->doc, err)) == DX_ENOTFOUND)
        rc = dx_error_set(err, DX_EBUSY,
                          "'%s' changed too much while this command ran (another process "
                          "committed and compacted it); run the command again",
                          name);
    if (!rc && y_doc_on_update(slot->doc, on_update, slot) < 0)
        rc = dx_error_set(err, DX_ENOMEM, "out of memory");
    if (!rc && ds->loads)
        (*ds->loads)++;
    return rc;
}

int dx_docset_body(dx_docset *ds, const char *id, y_doc **out, dx_error *err)
{
    doc_slot *slot = dx_strmap_get(&ds->bodies, id);
    if (!slot) {
        char name[DX_DOC_NAME_MAX];
        dx_doc_body_name(id, name);
        if (!(slot = calloc(1, sizeof *slot)) || dx_strmap_put(&ds->bodies, id, slot)) {
            free(slot);
            return dx_error_set(err, DX_ENOMEM, "out of memory");
        }
        int rc = slot_load(ds, slot, name, err);
        if (rc) {
            /* Half loaded, or not watched for changes: the next call must not take it for
             * the stored document (an edit made on it would be neither right nor stored). */
            dx_strmap_remove(&ds->bodies, id);
            y_doc_free(slot->doc);
            free(slot);
            return rc;
        }
    }
    *out = slot->doc;
    return 0;
}

int dx_docset_doc(dx_docset *ds, const char *name, y_doc **out, dx_error *err)
{
    const char *id = dx_doc_body_id(name);
    if (id)
        return dx_docset_body(ds, id, out, err);
    if (strcmp(name, DX_DOC_WORKSPACE) != 0)
        return dx_error_set(err, DX_EINVAL, "'%s' is not a document of a workspace", name);
    int rc = dx_docset_load(ds, err);
    if (!rc)
        *out = ds->wsslot.doc;
    return rc;
}

/* ---- the path index ------------------------------------------------------------------- */

static int paths_build(dx_docset *ds, dx_error *err);

int dx_docset_lookup(void *user, const char *path, char out[DX_UUID_LEN + 1])
{
    dx_docset *ds = user;
    if (ds->paths_stale && paths_build(ds, NULL))
        return DX_ENOMEM;
    const char *id = dx_strmap_get(&ds->paths, path);
    if (!id)
        return DX_ENOTFOUND;
    snprintf(out, DX_UUID_LEN + 1, "%s", id);
    return 0;
}

static void paths_clear(dx_docset *ds)
{
    for (size_t i = 0; i < ds->paths.cap; i++)
        if (ds->paths.slots[i].key)
            free(ds->paths.slots[i].value);
    dx_strmap_release(&ds->paths);
}

int dx_docset_index_set(dx_docset *ds, const char *path, const char *id)
{
    free(dx_strmap_remove(&ds->paths, path));
    if (!id)
        return 0;
    char *v = strdup(id);
    if (!v || dx_strmap_put(&ds->paths, path, v)) {
        free(v);
        return DX_ENOMEM;
    }
    return 0;
}

/* Two entries on one path (a conflict the checks report): the greatest id keeps it, the
 * same on every peer. */
static int path_found(void *ud, const char *id, const char *path)
{
    dx_docset *ds = ud;
    const char *had = dx_strmap_get(&ds->paths, path);
    return had && strcmp(had, id) > 0 ? 0 : dx_docset_index_set(ds, path, id);
}

static int paths_build(dx_docset *ds, dx_error *err)
{
    paths_clear(ds);
    ds->paths_stale = false;
    int rc = dx_wsdoc_each_path(ds->wsslot.doc, path_found, ds, err);
    return rc == DX_ENOMEM ? dx_error_set(err, rc, "out of memory listing paths") : rc;
}

/* The workspace document and the path index are loaded when first needed: a command on a
 * workspace whose files match their records and whose store has not moved (the common case
 * of a read command) never decodes the 10k-entry document. Loaded late, it is still the
 * state the caller saw: slot_load stops at `seen`, which only the caller moves on (after
 * catch-up applied what others stored to the documents loaded then). */
int dx_docset_load(dx_docset *ds, dx_error *err)
{
    if (ds->wsslot.doc) /* the index is built again after edits that moved entries */
        return ds->paths_stale ? paths_build(ds, err) : 0;
    int rc = slot_load(ds, &ds->wsslot, DX_DOC_WORKSPACE, err);
    if (!rc)
        rc = paths_build(ds, err);
    if (rc) {
        y_doc_free(ds->wsslot.doc);
        ds->wsslot.doc = NULL;
        paths_clear(ds);
    }
    return rc;
}

int dx_docset_reindex(dx_docset *ds, dx_error *err)
{
    return ds->wsslot.doc ? paths_build(ds, err) : dx_docset_load(ds, err);
}

y_doc *dx_docset_workspace(dx_docset *ds)
{
    return dx_docset_load(ds, NULL) == 0 ? ds->wsslot.doc : NULL;
}

bool dx_docset_loaded(const dx_docset *ds)
{
    return ds->wsslot.doc != NULL;
}

int dx_docset_find(dx_docset *ds, const char *path, char out[DX_UUID_LEN + 1], dx_error *err)
{
    int rc = dx_docset_load(ds, err);
    if (rc)
        return rc;
    return dx_docset_lookup(ds, path, out) == 0
               ? 0
               : dx_error_set(err, DX_ENOTFOUND, "'%s' is not an entry of the CRDT", path);
}

const dx_strmap *dx_docset_index(const dx_docset *ds)
{
    return &ds->paths;
}

int dx_docset_render(dx_docset *ds, const char *id, dx_link_format fmt, dx_buf *path, dx_buf *bytes,
                     dx_error *err)
{
    y_doc *body;
    int rc = dx_docset_load(ds, err);
    if (!rc)
        rc = dx_docset_body(ds, id, &body, err);
    if (!rc)
        rc = dx_materialize_entry(ds->wsslot.doc, id, body, fmt, path, bytes, err);
    return rc;
}

/* ---- changes -------------------------------------------------------------------------- */

int dx_docset_touch(dx_docset *ds, const char *id)
{
    return dx_strmap_put(&ds->touched, id, (void *)1) ? DX_ENOMEM : 0;
}

const dx_strmap *dx_docset_touched(const dx_docset *ds)
{
    return &ds->touched;
}

void dx_docset_untouch(dx_docset *ds)
{
    dx_strmap_release(&ds->touched);
}

bool dx_docset_unsaved(const dx_docset *ds)
{
    return ds->n_pend > 0 || ds->touched.len > 0;
}

static int docs_body(void *ud, const char *id, y_doc **out, dx_error *err)
{
    return dx_docset_body(ud, id, out, err);
}

static int docs_changed(void *ud, const char *id)
{
    return dx_docset_touch(ud, id);
}

static void docs_paths_changed(void *ud)
{
    ((dx_docset *)ud)->paths_stale = true;
}

static const dx_strmap *docs_paths(void *ud)
{
    dx_docset *ds = ud;
    return dx_docset_load(ds, NULL) == 0 ? &ds->paths : NULL;
}

void dx_docset_docs(dx_docset *ds, dx_docs *out)
{
    out->workspace = dx_docset_workspace(ds);
    out->body = docs_body;
    out->changed = docs_changed;
    out->ud = ds;
    out->format = DX_LINK_MARKDOWN_ROOT; /* the workspace's own is the caller's to set */
    out->find = dx_docset_lookup;
    out->paths_changed = docs_paths_changed;
    out->paths = docs_paths;
}

static int apply_stored(void *user, const char *doc, const uint8_t *data, size_t len)
{
    dx_docset *ds = user;
    const char *id = dx_doc_body_id(doc);
    doc_slot *slot = !strcmp(doc, DX_DOC_WORKSPACE) ? &ds->wsslot
                     : id                           ? dx_strmap_get(&ds->bodies, id)
                                                    : NULL;
    /* Documents not loaded yet will be loaded whole when needed. */
    int yrc = slot && slot->doc ? y_apply_update(slot->doc, data, len, "store") : Y_OK;
    return yrc == Y_OK ? 0 : yrc == Y_ENOMEM ? DX_ENOMEM : DX_ECORRUPT;
}

int dx_docset_catch_up(dx_docset *ds, bool *moved, dx_error *err)
{
    int64_t last = dx_store_last_id(ds->store, NULL);
    if (moved)
        *moved = last > ds->seen;
    if (last <= ds->seen)
        return 0;
    ds->catching_up = true;
    int rc = dx_store_updates_after(ds->store, ds->seen, apply_stored, ds, err);
    ds->catching_up = false;
    if (rc)
        return rc;
    ds->seen = last;
    return ds->wsslot.doc ? paths_build(ds, err) : 0;
}

static void pending_clear(dx_docset *ds)
{
    for (size_t i = 0; i < ds->n_pend; i++) {
        free(ds->pend[i].doc);
        free(ds->pend[i].data);
    }
    ds->n_pend = 0;
}

static int cmp_pending(const void *a, const void *b)
{
    const pending *x = *(pending *const *)a, *y = *(pending *const *)b;
    int c = strcmp(x->doc, y->doc);
    return c ? c : x < y ? -1 : x > y; /* same document: in the order they were made */
}

int dx_docset_flush(dx_docset *ds, size_t *stored, bool *workspace, dx_error *err)
{
    size_t n = ds->n_pend ? ds->n_pend : 1;
    pending **order = malloc(n * sizeof *order);
    const uint8_t **u = malloc(n * sizeof *u);
    size_t *l = malloc(n * sizeof *l);
    int rc = ds->oom ? dx_error_set(err, DX_ENOMEM, "out of memory recording CRDT updates")
             : order && u && l ? 0
                               : dx_error_set(err, DX_ENOMEM, "out of memory");
    if (stored)
        *stored = 0;
    if (workspace)
        *workspace = false;
    for (size_t i = 0; !rc && i < ds->n_pend; i++)
        order[i] = &ds->pend[i];
    if (!rc && ds->n_pend > 1)
        qsort(order, ds->n_pend, sizeof *order, cmp_pending);
    for (size_t i = 0, j; !rc && i < ds->n_pend; i = j) {
        size_t k = 0;
        for (j = i; j < ds->n_pend && !strcmp(order[j]->doc, order[i]->doc); j++) {
            u[k] = order[j]->data;
            l[k++] = order[j]->len;
        }
        uint8_t *merged = NULL;
        size_t mlen = 0;
        if (k > 1 && y_merge_updates(u, l, k, &merged, &mlen) != Y_OK)
            rc = dx_error_set(err, DX_ENOMEM, "cannot merge the updates of '%s'", order[i]->doc);
        if (!rc)
            rc = dx_store_append(ds->store, order[i]->doc, merged ? merged : u[0],
                                 merged ? mlen : l[0], "local", ds->device, NULL, err);
        if (!rc && stored)
            (*stored)++;
        if (!rc && workspace && !strcmp(order[i]->doc, DX_DOC_WORKSPACE))
            *workspace = true;
        y_free(merged);
    }
    pending_clear(ds);
    ds->oom = false;
    free(order);
    free(u);
    free(l);
    return rc;
}

int dx_docset_save(dx_docset *ds, dx_error *err)
{
    int rc = dx_store_begin(ds->store, err);
    if (rc)
        return rc;
    int64_t last = 0;
    if (!(rc = dx_docset_catch_up(ds, NULL, err)) && !(rc = dx_docset_flush(ds, NULL, NULL, err)))
        last = dx_store_last_id(ds->store, NULL);
    if (!rc && !(rc = dx_store_commit(ds->store, err)))
        ds->seen = last;
    if (rc)
        dx_store_rollback(ds->store);
    return rc;
}

int64_t dx_docset_seen(const dx_docset *ds)
{
    return ds->seen;
}

void dx_docset_set_seen(dx_docset *ds, int64_t id)
{
    ds->seen = id;
}

dx_crdt_store *dx_docset_store(const dx_docset *ds)
{
    return ds->store;
}

const char *dx_docset_device(const dx_docset *ds)
{
    return ds->device;
}

void dx_docset_count_loads(dx_docset *ds, size_t *counter)
{
    ds->loads = counter;
}

/* ---- lifetime ------------------------------------------------------------------------- */

int dx_docset_new(dx_crdt_store *store, const char *device, dx_docset **out, dx_error *err)
{
    dx_docset *ds = calloc(1, sizeof *ds);
    if (!ds || !(ds->device = strdup(device ? device : "unknown"))) {
        free(ds);
        return dx_error_set(err, DX_ENOMEM, "out of memory");
    }
    ds->store = store;
    ds->seen = dx_store_last_id(store, NULL);
    *out = ds;
    return 0;
}

void dx_docset_free(dx_docset *ds)
{
    if (!ds)
        return;
    for (size_t i = 0; i < ds->bodies.cap; i++) {
        doc_slot *slot = ds->bodies.slots[i].value;
        if (ds->bodies.slots[i].key) {
            y_doc_free(slot->doc);
            free(slot);
        }
    }
    dx_strmap_release(&ds->bodies);
    dx_strmap_release(&ds->touched);
    paths_clear(ds);
    pending_clear(ds);
    free(ds->pend);
    y_doc_free(ds->wsslot.doc);
    free(ds->device);
    free(ds);
}
