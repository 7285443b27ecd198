/* types.c - documents, shared types and their local operations (Text, Map, Array), reading
 * values and JSON output. Local operations choose origins exactly as yjs does. */
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include "ycrdt_int.h"

const char *y_strerror(int code)
{
    switch (code) {
    case Y_OK:
        return "success";
    case Y_ENOMEM:
        return "out of memory";
    case Y_EINVAL:
        return "invalid argument";
    case Y_EDECODE:
        return "malformed update";
    case Y_ETYPE:
        return "type mismatch";
    case Y_ESTATE:
        return "not allowed now";
    default:
        return "unknown error";
    }
}

void y_free(void *p)
{
    free(p);
}

/* ---- documents and types ---------------------------------------------------------------- */

static uint64_t random_client_id(void)
{
    /* One system call (a document is made per entry body: 20,000 in a big commit), with
     * /dev/urandom where getrandom is missing. */
    uint32_t v = 0;
    if (getrandom(&v, sizeof v, GRND_NONBLOCK) != (ssize_t)sizeof v) {
        int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
        v = 0;
        if (fd >= 0) {
            if (read(fd, &v, sizeof v) != (ssize_t)sizeof v)
                v = 0;
            close(fd);
        }
    }
    if (v == 0)
        v = (uint32_t)getpid() * 2654435761u;
    return v;
}

int y_doc_new(y_doc **out, const y_doc_options *opts)
{
    y_doc *d = calloc(1, sizeof *d);
    if (!d)
        return Y_ENOMEM;
    d->gc = opts ? opts->gc : true;
    d->client_id = opts && opts->has_client_id ? opts->client_id : random_client_id();
    *out = d;
    return Y_OK;
}

static void type_free(y_type *t)
{
    for (size_t k = 0; k < t->nkeys; k++)
        free(t->keys[k].key);
    free(t->keys);
    free(t->kidx);
    free(t->name);
    free(t->node_name);
    free(t);
}

void y_doc_free(y_doc *d)
{
    if (!d)
        return;
    for (size_t c = 0; c < d->nclients; c++) {
        for (size_t i = 0; i < d->clients[c].len; i++)
            y_item_free(d->clients[c].items[i]);
        free(d->clients[c].items);
    }
    free(d->clients);
    for (size_t i = 0; i < d->ntypes; i++)
        type_free(d->types[i]);
    free(d->types);
    free(d->roots);
    free(d->obs);
    for (size_t i = 0; i < d->npending; i++)
        y_item_free_decoded(d->pending[i]);
    free(d->pending);
    free(d->pending_missing);
    y_ds_release(&d->pending_ds);
    y_ds_release(&d->txn.ds);
    free(d->txn.before);
    free(d->txn.merge);
    free(d->txn.changed_types);
    free(d);
}

uint64_t y_doc_client_id(const y_doc *doc)
{
    return doc->client_id;
}

y_type *y_type_new(y_doc *doc, y_type_kind kind)
{
    if (doc->ntypes == doc->captypes) {
        size_t cap = doc->captypes ? doc->captypes * 2 : 16;
        y_type **t = realloc(doc->types, cap * sizeof *t);
        if (!t)
            return NULL;
        doc->types = t;
        doc->captypes = cap;
    }
    y_type *t = calloc(1, sizeof *t);
    if (!t)
        return NULL;
    t->doc = doc;
    t->kind = kind;
    t->kind_known = true;
    doc->types[doc->ntypes++] = t;
    return t;
}

y_type *y_root_type(y_doc *doc, const char *name, size_t len)
{
    for (size_t i = 0; i < doc->nroots; i++)
        if (strlen(doc->roots[i]->name) == len && !memcmp(doc->roots[i]->name, name, len))
            return doc->roots[i];
    if (doc->nroots == doc->caproots) {
        size_t cap = doc->caproots ? doc->caproots * 2 : 8;
        y_type **r = realloc(doc->roots, cap * sizeof *r);
        if (!r)
            return NULL;
        doc->roots = r;
        doc->caproots = cap;
    }
    y_type *t = y_type_new(doc, Y_ARRAY);
    if (!t || !(t->name = malloc(len + 1)))
        return NULL;
    memcpy(t->name, name, len);
    t->name[len] = 0;
    t->kind_known = false; /* until the application asks for it with a kind */
    doc->roots[doc->nroots++] = t;
    return t;
}

static y_type *get_root(y_doc *doc, const char *name, y_type_kind kind)
{
    y_type *t = y_root_type(doc, name, strlen(name));
    if (!t)
        return NULL;
    if (!t->kind_known) {
        /* yjs replaces the placeholder by a new type object here, which starts without
         * _hasFormatting even if Format items were integrated into the placeholder. */
        t->kind = kind;
        t->kind_known = true;
        t->has_formatting = false;
        t->marker = NULL;
    }
    return t->kind == kind ? t : NULL;
}

bool y_doc_has_root(const y_doc *doc, const char *name)
{
    for (size_t i = 0; i < doc->nroots; i++)
        if (!strcmp(doc->roots[i]->name, name))
            return true;
    return false;
}

y_type *y_doc_get_text(y_doc *doc, const char *name)
{
    return get_root(doc, name, Y_TEXT);
}

y_type *y_doc_get_map(y_doc *doc, const char *name)
{
    return get_root(doc, name, Y_MAP);
}

y_type *y_doc_get_array(y_doc *doc, const char *name)
{
    return get_root(doc, name, Y_ARRAY);
}

y_type_kind y_type_get_kind(const y_type *type)
{
    return type->kind;
}

bool y_type_is_alive(const y_type *type)
{
    return !type->item || !type->item->deleted;
}

static size_t key_hash(const char *s)
{
    uint64_t h = 1469598103934665603ULL; /* FNV-1a */
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ULL;
    return (size_t)(h ^ (h >> 29));
}

#define KIDX_MIN_KEYS 8

/* Put key index k into the hash index (which has room). */
static void kidx_insert(y_type *t, size_t k)
{
    size_t mask = t->kidx_cap - 1;
    size_t i = key_hash(t->keys[k].key) & mask;
    while (t->kidx[i])
        i = (i + 1) & mask;
    t->kidx[i] = (uint32_t)(k + 1);
}

static int kidx_rebuild(y_type *t, size_t cap)
{
    uint32_t *idx = calloc(cap, sizeof *idx);
    if (!idx)
        return Y_ENOMEM;
    free(t->kidx);
    t->kidx = idx;
    t->kidx_cap = cap;
    for (size_t k = 0; k < t->nkeys; k++)
        kidx_insert(t, k);
    return Y_OK;
}

/* The index of key in t->keys, or -1. */
static long find_key(const y_type *t, const char *key)
{
    if (!t->kidx) {
        for (size_t k = 0; k < t->nkeys; k++)
            if (!strcmp(t->keys[k].key, key))
                return (long)k;
        return -1;
    }
    size_t mask = t->kidx_cap - 1;
    for (size_t i = key_hash(key) & mask; t->kidx[i]; i = (i + 1) & mask)
        if (!strcmp(t->keys[t->kidx[i] - 1].key, key))
            return (long)t->kidx[i] - 1;
    return -1;
}

int y_type_set_key(y_type *t, const char *key, y_item *it)
{
    long found = find_key(t, key);
    if (found >= 0) {
        t->keys[found].item = it;
        return Y_OK;
    }
    if (t->nkeys >= UINT32_MAX - 1)
        return Y_ENOMEM;
    if (t->nkeys == t->capkeys) {
        size_t cap = t->capkeys ? t->capkeys * 2 : 4;
        y_keyslot *k = realloc(t->keys, cap * sizeof *k);
        if (!k)
            return Y_ENOMEM;
        t->keys = k;
        t->capkeys = cap;
    }
    if (!(t->keys[t->nkeys].key = strdup(key)))
        return Y_ENOMEM;
    t->keys[t->nkeys++].item = it;
    if (t->nkeys > KIDX_MIN_KEYS && t->nkeys * 2 > t->kidx_cap) {
        if (kidx_rebuild(t, t->kidx_cap ? t->kidx_cap * 2 : 32) != Y_OK) {
            free(t->kidx); /* out of memory: lookups fall back to the linear scan */
            t->kidx = NULL;
            t->kidx_cap = 0;
        }
        return Y_OK;
    }
    if (t->kidx)
        kidx_insert(t, t->nkeys - 1);
    return Y_OK;
}

y_item *y_type_get_key(const y_type *t, const char *key)
{
    long k = find_key(t, key);
    return k >= 0 ? t->keys[k].item : NULL;
}

int y_doc_begin(y_doc *doc, const void *origin)
{
    return y_txn_begin(doc, origin, true);
}

int y_doc_commit(y_doc *doc)
{
    return y_txn_end(doc);
}

int y_doc_on_update(y_doc *doc, y_update_fn fn, void *user)
{
    if (!fn)
        return Y_EINVAL;
    if (doc->nobs == doc->capobs) {
        size_t cap = doc->capobs ? doc->capobs * 2 : 4;
        y_observer *o = realloc(doc->obs, cap * sizeof *o);
        if (!o)
            return Y_ENOMEM;
        doc->obs = o;
        doc->capobs = cap;
    }
    doc->obs[doc->nobs].fn = fn;
    doc->obs[doc->nobs].user = user;
    doc->obs[doc->nobs].id = doc->next_obs_id++;
    return doc->obs[doc->nobs++].id;
}

int y_doc_off_update(y_doc *doc, int id)
{
    for (size_t i = 0; i < doc->nobs; i++)
        if (doc->obs[i].id == id) {
            memmove(doc->obs + i, doc->obs + i + 1, (doc->nobs - i - 1) * sizeof *doc->obs);
            doc->nobs--;
            return Y_OK;
        }
    return Y_EINVAL;
}

/* ---- creating items locally ------------------------------------------------------------- */

y_item *y_local_item(y_doc *doc, y_item *left, y_item *right, y_type *parent,
                     const char *parent_sub)
{
    y_item *it = y_item_new();
    if (!it)
        return NULL;
    it->id.client = doc->client_id;
    it->id.clock = y_store_state(doc, doc->client_id);
    it->left = left;
    it->right = right;
    if (left) {
        it->has_origin = true;
        it->origin = y_item_last_id(left);
    }
    if (right) {
        it->has_right_origin = true;
        it->right_origin = right->id;
    }
    it->parent = parent;
    if (parent_sub && !(it->parent_sub = strdup(parent_sub))) {
        free(it);
        return NULL;
    }
    return it;
}

/* Fill it's content from a value the way yjs picks content for it: Uint8Array -> Binary,
 * anything else -> Any. */
static int set_value_content(y_item *it, const y_any *v)
{
    if (v->kind == Y_ANY_BINARY) {
        it->ref = Y_REF_BINARY;
        it->c.bin.p = malloc(v->u.bin.len ? v->u.bin.len : 1);
        if (!it->c.bin.p)
            return Y_ENOMEM;
        memcpy(it->c.bin.p, v->u.bin.ptr, v->u.bin.len);
        it->c.bin.n = v->u.bin.len;
        it->len = 1;
        return Y_OK;
    }
    it->ref = Y_REF_ANY;
    it->c.any.v = calloc(1, sizeof(y_any));
    if (!it->c.any.v)
        return Y_ENOMEM;
    int rc = y_any_copy(&it->c.any.v[0], v);
    if (rc) {
        free(it->c.any.v);
        it->c.any.v = NULL;
        return rc;
    }
    it->c.any.n = 1;
    it->len = 1;
    return Y_OK;
}

int y_integrate_local(y_doc *doc, y_item *it)
{
    int rc = y_item_integrate(doc, it, 0);
    if (rc)
        y_item_free(it);
    return rc;
}

static int check_alive(const y_type *t, y_type_kind want)
{
    if (t->kind != want)
        return Y_ETYPE;
    return y_type_is_alive(t) ? Y_OK : Y_EINVAL;
}

/* ---- Map -------------------------------------------------------------------------------- */

static int map_set_item(y_type *m, const char *key, y_item **out)
{
    int rc = check_alive(m, Y_MAP);
    if (rc)
        return rc;
    y_item *left = y_type_get_key(m, key);
    y_item *it = y_local_item(m->doc, left, NULL, m, key);
    if (!it)
        return Y_ENOMEM;
    *out = it;
    return Y_OK;
}

int y_map_set(y_type *m, const char *key, const y_any *value)
{
    y_item *it;
    int rc = map_set_item(m, key, &it);
    if (rc)
        return rc;
    if ((rc = set_value_content(it, value))) {
        y_item_free(it);
        return rc;
    }
    if ((rc = y_txn_begin(m->doc, NULL, true))) {
        y_item_free(it);
        return rc;
    }
    rc = y_integrate_local(m->doc, it);
    int erc = y_txn_end(m->doc);
    return rc ? rc : erc;
}

static int type_content(y_doc *doc, y_item *it, y_type_kind kind, y_type **out)
{
    if (kind != Y_ARRAY && kind != Y_MAP && kind != Y_TEXT && kind != Y_XML_FRAGMENT)
        return Y_EINVAL;
    y_type *t = y_type_new(doc, kind);
    if (!t)
        return Y_ENOMEM;
    it->ref = Y_REF_TYPE;
    it->c.type = t;
    it->len = 1;
    if (out)
        *out = t;
    return Y_OK;
}

int y_map_set_type(y_type *m, const char *key, y_type_kind kind, y_type **out)
{
    y_item *it;
    int rc = map_set_item(m, key, &it);
    if (rc)
        return rc;
    if ((rc = type_content(m->doc, it, kind, out))) {
        y_item_free(it);
        return rc;
    }
    if ((rc = y_txn_begin(m->doc, NULL, true))) {
        y_item_free(it);
        return rc;
    }
    rc = y_integrate_local(m->doc, it);
    int erc = y_txn_end(m->doc);
    return rc ? rc : erc;
}

int y_map_delete(y_type *m, const char *key)
{
    int rc = check_alive(m, Y_MAP);
    if (rc)
        return rc;
    y_item *it = y_type_get_key(m, key);
    if (!it || it->deleted)
        return Y_OK;
    if ((rc = y_txn_begin(m->doc, NULL, true)))
        return rc;
    y_item_delete(m->doc, it);
    return y_txn_end(m->doc);
}

static void item_value(const y_item *it, size_t k, y_value *out)
{
    out->is_type = it->ref == Y_REF_TYPE;
    out->type = out->is_type ? it->c.type : NULL;
    out->any = it->ref == Y_REF_ANY || it->ref == Y_REF_JSON ? &it->c.any.v[k] : NULL;
}

int y_map_get(const y_type *m, const char *key, y_value *out)
{
    const y_item *it = y_type_get_key(m, key);
    if (!it || it->deleted)
        return 1;
    if (it->ref == Y_REF_ANY || it->ref == Y_REF_JSON) {
        item_value(it, it->c.any.n - 1, out);
        return Y_OK;
    }
    if (it->ref == Y_REF_TYPE) {
        item_value(it, 0, out);
        return Y_OK;
    }
    return 1; /* binary, embed and doc values have no y_any view */
}

size_t y_map_size(const y_type *m)
{
    size_t n = 0;
    for (size_t k = 0; k < m->nkeys; k++)
        n += m->keys[k].item && !m->keys[k].item->deleted;
    return n;
}

void y_map_iter_init(y_map_iter *it, const y_type *map)
{
    it->map = map;
    it->pos = NULL;
}

bool y_map_iter_next(y_map_iter *it, const char **key, y_value *value)
{
    size_t k = (size_t)(uintptr_t)it->pos;
    for (; k < it->map->nkeys; k++) {
        const y_keyslot *s = &it->map->keys[k];
        if (s->item && y_map_get(it->map, s->key, value) == Y_OK) {
            *key = s->key;
            it->pos = (void *)(uintptr_t)(k + 1);
            return true;
        }
    }
    it->pos = (void *)(uintptr_t)k;
    return false;
}

/* ---- Array ------------------------------------------------------------------------------- */

/* The item after which index falls (NULL = start), splitting when inside an item. */
static int array_ref_item(y_type *a, uint32_t index, y_item **ref)
{
    if (index > a->length)
        return Y_EINVAL;
    *ref = NULL;
    if (index == 0)
        return Y_OK;
    uint64_t i = index;
    y_item *n = a->start;
    for (; n; n = n->right) {
        if (!n->deleted && y_item_countable(n)) {
            if (i <= n->len) {
                if (i < n->len) {
                    y_id id = {n->id.client, n->id.clock + i};
                    y_store_clean_start(a->doc, id);
                }
                break;
            }
            i -= n->len;
        }
    }
    *ref = n;
    return Y_OK;
}

/* typeListInsertGenericsAfter: runs of plain values become one Any item each; binary
 * values their own Binary items. */
static int insert_after(y_type *a, y_item *left, const y_any *values, size_t n)
{
    y_doc *doc = a->doc;
    y_item *right = left ? left->right : a->start;
    size_t i = 0;
    while (i < n) {
        y_item *it = y_local_item(doc, left, right, a, NULL);
        if (!it)
            return Y_ENOMEM;
        int rc;
        if (values[i].kind == Y_ANY_BINARY) {
            rc = set_value_content(it, &values[i]);
            i++;
        } else {
            size_t j = i;
            while (j < n && values[j].kind != Y_ANY_BINARY)
                j++;
            it->ref = Y_REF_ANY;
            it->c.any.v = calloc(j - i, sizeof(y_any));
            rc = it->c.any.v ? Y_OK : Y_ENOMEM;
            for (size_t k = i; !rc && k < j; k++) {
                rc = y_any_copy(&it->c.any.v[k - i], &values[k]);
                if (!rc)
                    it->c.any.n++;
            }
            it->len = j - i;
            i = j;
        }
        if (rc) {
            y_item_free(it);
            return rc;
        }
        if ((rc = y_integrate_local(doc, it)))
            return rc;
        left = it;
    }
    return Y_OK;
}

int y_array_insert(y_type *a, uint32_t index, const y_any *values, size_t n)
{
    int rc = check_alive(a, Y_ARRAY);
    if (rc || n == 0)
        return rc;
    if ((rc = y_txn_begin(a->doc, NULL, true)))
        return rc;
    y_item *ref;
    if (!(rc = array_ref_item(a, index, &ref)))
        rc = insert_after(a, ref, values, n);
    int erc = y_txn_end(a->doc);
    return rc ? rc : erc;
}

int y_array_push(y_type *a, const y_any *values, size_t n)
{
    int rc = check_alive(a, Y_ARRAY);
    if (rc || n == 0)
        return rc;
    if ((rc = y_txn_begin(a->doc, NULL, true)))
        return rc;
    y_item *last = a->start;
    while (last && last->right)
        last = last->right;
    rc = insert_after(a, last, values, n);
    int erc = y_txn_end(a->doc);
    return rc ? rc : erc;
}

int y_array_insert_type(y_type *a, uint32_t index, y_type_kind kind, y_type **out)
{
    int rc = check_alive(a, Y_ARRAY);
    if (rc)
        return rc;
    if ((rc = y_txn_begin(a->doc, NULL, true)))
        return rc;
    y_item *ref;
    if (!(rc = array_ref_item(a, index, &ref))) {
        y_item *it = y_local_item(a->doc, ref, ref ? ref->right : a->start, a, NULL);
        if (!it)
            rc = Y_ENOMEM;
        else if ((rc = type_content(a->doc, it, kind, out)))
            y_item_free(it);
        else
            rc = y_integrate_local(a->doc, it);
    }
    int erc = y_txn_end(a->doc);
    return rc ? rc : erc;
}

int y_array_delete(y_type *a, uint32_t index, uint32_t length)
{
    int rc = check_alive(a, Y_ARRAY);
    if (rc || length == 0)
        return rc;
    if ((uint64_t)index + length > a->length)
        return Y_EINVAL;
    y_doc *doc = a->doc;
    if ((rc = y_txn_begin(doc, NULL, true)))
        return rc;
    uint64_t i = index, left = length;
    y_item *n = a->start;
    for (; n && i > 0; n = n->right) {
        if (!n->deleted && y_item_countable(n)) {
            if (i < n->len) {
                y_id id = {n->id.client, n->id.clock + i};
                y_store_clean_start(doc, id);
            }
            i -= n->len < i ? n->len : i;
        }
    }
    for (; left > 0 && n; n = n->right) {
        if (!n->deleted) {
            if (left < n->len) {
                y_id id = {n->id.client, n->id.clock + left};
                y_store_clean_start(doc, id);
            }
            y_item_delete(doc, n);
            left -= n->len < left ? n->len : left;
        }
    }
    return y_txn_end(doc);
}

uint32_t y_array_length(const y_type *a)
{
    return (uint32_t)a->length;
}

int y_array_get(const y_type *a, uint32_t index, y_value *out)
{
    uint64_t i = index;
    for (const y_item *n = a->start; n; n = n->right) {
        if (n->deleted || !y_item_countable(n))
            continue;
        if (i < n->len) {
            if (n->ref != Y_REF_ANY && n->ref != Y_REF_JSON && n->ref != Y_REF_TYPE)
                return Y_EINVAL;
            item_value(n, (size_t)i, out);
            return Y_OK;
        }
        i -= n->len;
    }
    return Y_EINVAL;
}

/* ---- JSON --------------------------------------------------------------------------------- */

void y_json_write_string(y_enc *e, const char *s, size_t n)
{
    y_enc_u8(e, '"');
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        char esc[8];
        switch (c) {
        case '"':
            y_enc_raw(e, "\\\"", 2);
            break;
        case '\\':
            y_enc_raw(e, "\\\\", 2);
            break;
        case '\n':
            y_enc_raw(e, "\\n", 2);
            break;
        case '\r':
            y_enc_raw(e, "\\r", 2);
            break;
        case '\t':
            y_enc_raw(e, "\\t", 2);
            break;
        case '\b':
            y_enc_raw(e, "\\b", 2);
            break;
        case '\f':
            y_enc_raw(e, "\\f", 2);
            break;
        default:
            if (c < 0x20) {
                snprintf(esc, sizeof esc, "\\u%04x", c);
                y_enc_raw(e, esc, 6);
            } else {
                y_enc_u8(e, c);
            }
        }
    }
    y_enc_u8(e, '"');
}

/* Numbers as JSON.stringify writes them (non-finite ones as null). */
static void json_number(y_enc *e, double v)
{
    char buf[32];
    if (isnan(v) || isinf(v)) {
        y_enc_raw(e, "null", 4);
        return;
    }
    y_js_number(v, buf);
    y_enc_raw(e, buf, strlen(buf));
}

static void any_json(y_enc *e, const y_any *a);

static void json_member(y_enc *e, const char *key, const y_any *v, bool *first)
{
    if (v->kind == Y_ANY_UNDEFINED)
        return; /* JSON.stringify leaves such members out */
    if (!*first)
        y_enc_u8(e, ',');
    *first = false;
    y_json_write_string(e, key, strlen(key));
    y_enc_u8(e, ':');
    any_json(e, v);
}

static void any_json(y_enc *e, const y_any *a)
{
    switch (a->kind) {
    case Y_ANY_UNDEFINED:
    case Y_ANY_NULL:
        y_enc_raw(e, "null", 4);
        break;
    case Y_ANY_BOOL:
        y_enc_raw(e, a->u.b ? "true" : "false", a->u.b ? 4 : 5);
        break;
    case Y_ANY_NUMBER:
        json_number(e, a->u.num);
        break;
    case Y_ANY_BIGINT: {
        char buf[32];
        snprintf(buf, sizeof buf, "%lld", (long long)a->u.bigint);
        y_enc_raw(e, buf, strlen(buf));
        break;
    }
    case Y_ANY_STRING:
        y_json_write_string(e, a->u.str.ptr, a->u.str.len);
        break;
    case Y_ANY_BINARY: {
        /* JSON.stringify of a Uint8Array: an object of index keys. */
        y_enc_u8(e, '{');
        for (size_t i = 0; i < a->u.bin.len; i++) {
            char buf[32];
            snprintf(buf, sizeof buf, "%s\"%zu\":%u", i ? "," : "", i, a->u.bin.ptr[i]);
            y_enc_raw(e, buf, strlen(buf));
        }
        y_enc_u8(e, '}');
        break;
    }
    case Y_ANY_ARRAY:
        y_enc_u8(e, '[');
        for (size_t i = 0; i < a->u.arr.len; i++) {
            if (i)
                y_enc_u8(e, ',');
            any_json(e, &a->u.arr.items[i]);
        }
        y_enc_u8(e, ']');
        break;
    case Y_ANY_OBJECT: {
        /* Keys in JS order: array-index keys ascending, then the others as inserted. */
        y_enc_u8(e, '{');
        bool first = true;
        uint64_t v, last = 0;
        bool have_last = false;
        for (;;) {
            size_t best = a->u.obj.len;
            uint64_t bestv = 0;
            for (size_t i = 0; i < a->u.obj.len; i++)
                if (y_js_index_key(a->u.obj.keys[i], &v) && (!have_last || v > last) &&
                    (best == a->u.obj.len || v < bestv)) {
                    best = i;
                    bestv = v;
                }
            if (best == a->u.obj.len)
                break;
            json_member(e, a->u.obj.keys[best], &a->u.obj.values[best], &first);
            last = bestv;
            have_last = true;
        }
        for (size_t i = 0; i < a->u.obj.len; i++)
            if (!y_js_index_key(a->u.obj.keys[i], &v))
                json_member(e, a->u.obj.keys[i], &a->u.obj.values[i], &first);
        y_enc_u8(e, '}');
        break;
    }
    }
}

int y_any_to_json(const y_any *a, char **out, size_t *out_len)
{
    y_enc e = Y_ENC_INIT;
    any_json(&e, a);
    y_enc_u8(&e, 0);
    int rc = y_enc_finish(&e, (uint8_t **)out, out_len);
    if (!rc && out_len)
        (*out_len)--;
    return rc;
}

static void item_json(y_enc *e, const y_item *it, size_t k)
{
    if (it->ref == Y_REF_TYPE)
        y_json_write_type(e, it->c.type);
    else if (it->ref == Y_REF_ANY || it->ref == Y_REF_JSON)
        any_json(e, &it->c.any.v[k]);
    else if (it->ref == Y_REF_BINARY) {
        y_any b = {.kind = Y_ANY_BINARY};
        b.u.bin.ptr = it->c.bin.p;
        b.u.bin.len = it->c.bin.n;
        any_json(e, &b);
    } else {
        y_enc_raw(e, "null", 4);
    }
}

void y_json_write_type(y_enc *e, const y_type *t)
{
    if (t->kind == Y_TEXT) {
        y_enc text = Y_ENC_INIT;
        for (const y_item *it = t->start; it; it = it->right)
            if (!it->deleted && it->ref == Y_REF_STRING)
                y_enc_raw(&text, it->c.str.s, it->c.str.bytes);
        y_json_write_string(e, text.data ? (const char *)text.data : "", text.len);
        y_enc_release(&text);
    } else if (t->kind == Y_MAP) {
        y_enc_u8(e, '{');
        bool first = true;
        for (size_t k = 0; k < t->nkeys; k++) {
            const y_item *it = t->keys[k].item;
            if (!it || it->deleted)
                continue;
            if (!first)
                y_enc_u8(e, ',');
            first = false;
            y_json_write_string(e, t->keys[k].key, strlen(t->keys[k].key));
            y_enc_u8(e, ':');
            item_json(e, it, it->ref == Y_REF_ANY || it->ref == Y_REF_JSON ? it->c.any.n - 1 : 0);
        }
        y_enc_u8(e, '}');
    } else {
        y_enc_u8(e, '[');
        bool first = true;
        for (const y_item *it = t->start; it; it = it->right) {
            if (it->deleted || !y_item_countable(it))
                continue;
            size_t n = it->ref == Y_REF_ANY || it->ref == Y_REF_JSON ? it->c.any.n : 1;
            for (size_t k = 0; k < n; k++) {
                if (!first)
                    y_enc_u8(e, ',');
                first = false;
                item_json(e, it, k);
            }
        }
        y_enc_u8(e, ']');
    }
}

int y_type_to_json(const y_type *type, char **out, size_t *out_len)
{
    y_enc e = Y_ENC_INIT;
    y_json_write_type(&e, type);
    y_enc_u8(&e, 0);
    int rc = y_enc_finish(&e, (uint8_t **)out, out_len);
    if (!rc && out_len)
        (*out_len)--;
    return rc;
}
