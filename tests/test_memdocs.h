/* test_memdocs.h - a workspace's documents held in memory, as a server holds them: no
 * directory, optionally loaded from and stored into a CRDT store (tests of fileset and
 * history). */
#ifndef DX_TEST_MEMDOCS_H
#define DX_TEST_MEMDOCS_H

#include <stdio.h>
#include <string.h>

#include "diaryx/crdt_store.h"
#include "diaryx/edit.h"
#include "diaryx/materialize.h"
#include "diaryx/session.h"
#include "diaryx/strmap.h"
#include "diaryx/wsdoc.h"
#include "ycrdt.h"

typedef struct memdocs {
    y_doc *ws;
    dx_strmap bodies;      /* id -> y_doc */
    dx_crdt_store *st;     /* where the documents are loaded from and stored; may be NULL */
    dx_strlist changed;    /* what docs.changed was told */
    const char *fail_body; /* the body loader fails for this entry ("*": every entry) */
} memdocs;

static inline int memdocs_body(void *ud, const char *id, y_doc **out, dx_error *err)
{
    memdocs *m = ud;
    if (m->fail_body && (!strcmp(m->fail_body, "*") || !strcmp(m->fail_body, id)))
        return dx_error_set(err, DX_ECORRUPT, "the body of %s is damaged", id);
    if ((*out = dx_strmap_get(&m->bodies, id)))
        return 0;
    if (y_doc_new(out, NULL) != 0)
        return dx_error_set(err, DX_ENOMEM, "out of memory");
    char name[DX_DOC_NAME_MAX];
    dx_doc_body_name(id, name);
    int rc = m->st ? dx_store_load(m->st, name, *out, err) : 0;
    if (rc == DX_ENOTFOUND)
        rc = 0;
    if (!rc && dx_strmap_put(&m->bodies, id, *out))
        rc = DX_ENOMEM;
    if (rc) {
        y_doc_free(*out);
        *out = NULL;
    }
    return rc;
}

static inline int memdocs_changed(void *ud, const char *id)
{
    return dx_strlist_push(&((memdocs *)ud)->changed, id);
}

static inline void memdocs_docs(memdocs *m, dx_docs *d)
{
    d->workspace = m->ws;
    d->body = memdocs_body;
    d->changed = memdocs_changed;
    d->ud = m;
}

/* Open the documents (from st when not NULL): 0 or the store's error. */
static inline int memdocs_open(memdocs *m, dx_crdt_store *st)
{
    memset(m, 0, sizeof *m);
    m->st = st;
    if (y_doc_new(&m->ws, NULL) != 0)
        return DX_ENOMEM;
    int rc = st ? dx_store_load(st, "workspace", m->ws, NULL) : 0;
    return rc == DX_ENOTFOUND ? 0 : rc;
}

static inline void memdocs_close(memdocs *m)
{
    for (size_t i = 0; i < m->bodies.cap; i++)
        if (m->bodies.slots[i].key)
            y_doc_free(m->bodies.slots[i].value);
    dx_strmap_release(&m->bodies);
    dx_strlist_release(&m->changed);
    y_doc_free(m->ws);
    memset(m, 0, sizeof *m);
}

/* Take files (path, text pairs, NULL-terminated) into the documents d as entries: each path
 * without a live entry gets one, then every file is ingested (so links resolve whatever the
 * order). */
static inline int docs_put(const dx_docs *d, const char *const *files, dx_error *err)
{
    int rc = 0;
    for (size_t i = 0; !rc && files[i]; i += 2) {
        char id[DX_UUID_LEN + 1];
        if (dx_wsdoc_find_path(d->workspace, files[i], id, NULL) == 0)
            continue;
        dx_entry e = DX_ENTRY_INIT;
        e.filename = strdup(files[i]);
        rc = e.filename ? dx_wsdoc_put(d->workspace, &e, err) : DX_ENOMEM;
        dx_entry_release(&e);
    }
    for (size_t i = 0; !rc && files[i]; i += 2) {
        char id[DX_UUID_LEN + 1];
        y_doc *body = NULL;
        if (!(rc = dx_wsdoc_find_path(d->workspace, files[i], id, err)) &&
            !(rc = d->body(d->ud, id, &body, err)))
            rc = dx_ingest_entry(d->workspace, id, files[i], files[i + 1], strlen(files[i + 1]),
                                 body, DX_LINK_MARKDOWN_ROOT, err);
        if (!rc && d->changed && d->changed(d->ud, id))
            rc = DX_ENOMEM;
    }
    return rc;
}

static inline int memdocs_put(memdocs *m, const char *const *files, dx_error *err)
{
    dx_docs d;
    memdocs_docs(m, &d);
    int rc = docs_put(&d, files, err);
    dx_strlist_release(&m->changed);
    return rc;
}

#endif
