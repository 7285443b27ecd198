/* update.c - update format v1: encode structs, delete sets and state vectors; decode and
 * apply updates with out-of-order delivery (pending structs and pending delete ranges). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ycrdt_int.h"

/* ---- encoding ------------------------------------------------------------------------ */

static void write_id(y_enc *e, y_id id)
{
    y_enc_varuint(e, id.client);
    y_enc_varuint(e, id.clock);
}

/* UTF-8 of a string content starting offset UTF-16 units in; a cut inside a surrogate
 * pair starts with U+FFFD (the JS encoder's replacement of the lone low surrogate). */
static void write_string_from(y_enc *e, const char *s, size_t bytes, uint64_t offset)
{
    size_t i = 0;
    uint64_t u = 0;
    bool pair = false;
    while (i < bytes && u < offset) {
        unsigned char c = (unsigned char)s[i];
        size_t n = c < 0x80 ? 1 : c < 0xe0 ? 2 : c < 0xf0 ? 3 : 4;
        if (n == 4 && u + 1 == offset) {
            pair = true;
            i += 4;
            u += 2;
            break;
        }
        u += n == 4 ? 2 : 1;
        i += n;
    }
    y_enc_varuint(e, bytes - i + (pair ? 3 : 0));
    if (pair)
        y_enc_raw(e, "\xef\xbf\xbd", 3);
    y_enc_raw(e, s + i, bytes - i);
}

static void write_parent(y_enc *e, const y_item *it)
{
    const y_type *p = it->parent;
    if (p && !p->item) {
        y_enc_varuint(e, 1);
        y_enc_varstring(e, p->name, strlen(p->name));
    } else if (p) {
        y_enc_varuint(e, 0);
        write_id(e, p->item->id);
    } else if (it->parent_name) {
        y_enc_varuint(e, 1);
        y_enc_varstring(e, it->parent_name, strlen(it->parent_name));
    } else {
        y_enc_varuint(e, 0);
        write_id(e, it->parent_id);
    }
}

void y_encode_item(y_enc *e, const y_item *it, uint64_t offset)
{
    if (it->ref == Y_REF_GC || it->ref == Y_REF_SKIP) {
        y_enc_u8(e, it->ref);
        y_enc_varuint(e, it->len - offset);
        return;
    }
    bool has_origin = offset > 0 || it->has_origin;
    y_id origin = offset > 0 ? (y_id){it->id.client, it->id.clock + offset - 1} : it->origin;
    /* A decoded struct whose key was not written (it has an origin) gets no 0x20 bit, as
     * yjs's doc-free tools write it: their reader never learns the key either. */
    uint8_t info = (uint8_t)((it->ref & 0x1f) | (has_origin ? 0x80 : 0) |
                             (it->has_right_origin ? 0x40 : 0) | (it->parent_sub ? 0x20 : 0));
    y_enc_u8(e, info);
    if (has_origin)
        write_id(e, origin);
    if (it->has_right_origin)
        write_id(e, it->right_origin);
    if (!has_origin && !it->has_right_origin) {
        write_parent(e, it);
        if (it->parent_sub)
            y_enc_varstring(e, it->parent_sub, strlen(it->parent_sub));
    }
    switch (it->ref) {
    case Y_REF_DELETED:
        y_enc_varuint(e, it->len - offset);
        break;
    case Y_REF_JSON:
        y_enc_varuint(e, it->c.any.n - offset);
        for (size_t i = offset; i < it->c.any.n; i++)
            y_enc_varstring(e, it->c.any.v[i].u.str.ptr, it->c.any.v[i].u.str.len);
        break;
    case Y_REF_BINARY:
        y_enc_varbytes(e, it->c.bin.p, it->c.bin.n);
        break;
    case Y_REF_STRING:
        write_string_from(e, it->c.str.s, it->c.str.bytes, offset);
        break;
    case Y_REF_EMBED:
        y_enc_varstring(e, it->c.embed, strlen(it->c.embed));
        break;
    case Y_REF_FORMAT:
        y_enc_varstring(e, it->c.fmt.key, strlen(it->c.fmt.key));
        y_enc_varstring(e, it->c.fmt.value, strlen(it->c.fmt.value));
        break;
    case Y_REF_TYPE: {
        /* A decoded struct keeps the kind and node name in c.any (see read_content). */
        uint64_t kind = it->decoded ? it->c.any.n : (uint64_t)it->c.type->kind;
        const char *node = it->decoded ? (const char *)it->c.any.v : it->c.type->node_name;
        y_enc_varuint(e, kind);
        if (kind == Y_XML_ELEMENT || kind == Y_XML_HOOK)
            y_enc_varstring(e, node ? node : "", node ? strlen(node) : 0);
        break;
    }
    case Y_REF_ANY:
        y_enc_varuint(e, it->c.any.n - offset);
        for (size_t i = offset; i < it->c.any.n; i++)
            y_any_encode(e, &it->c.any.v[i]);
        break;
    case Y_REF_DOC:
        y_enc_varstring(e, it->c.doc.guid, strlen(it->c.doc.guid));
        y_any_encode(e, &it->c.doc.opts);
        break;
    }
}

static uint64_t sv_get(const y_sv_entry *sv, size_t n, uint64_t client, bool *present)
{
    for (size_t i = 0; i < n; i++)
        if (sv[i].client == client) {
            if (present)
                *present = true;
            return sv[i].clock;
        }
    if (present)
        *present = false;
    return 0;
}

int y_encode_update_from(const y_doc *doc, const y_sv_entry *sv, size_t nsv, y_enc *e)
{
    /* Clients with structs beyond the target state, written in descending client order
     * (doc->clients is ascending). */
    size_t n = 0;
    for (size_t c = 0; c < doc->nclients; c++) {
        uint64_t have = sv_get(sv, nsv, doc->clients[c].client, NULL);
        n += doc->clients[c].len && y_store_state(doc, doc->clients[c].client) > have;
    }
    y_enc_varuint(e, n);
    for (size_t c = doc->nclients; c-- > 0;) {
        const y_client_structs *cs = &doc->clients[c];
        uint64_t clock = sv_get(sv, nsv, cs->client, NULL);
        if (!cs->len || y_store_state(doc, cs->client) <= clock)
            continue;
        if (clock < cs->items[0]->id.clock)
            clock = cs->items[0]->id.clock;
        long start = y_store_find_index(cs, clock);
        y_enc_varuint(e, cs->len - (size_t)start);
        y_enc_varuint(e, cs->client);
        y_enc_varuint(e, clock);
        y_encode_item(e, cs->items[start], clock - cs->items[start]->id.clock);
        for (size_t i = (size_t)start + 1; i < cs->len; i++)
            y_encode_item(e, cs->items[i], 0);
    }
    return e->oom ? Y_ENOMEM : Y_OK;
}

static int decode_sv(const uint8_t *sv, size_t len, y_sv_entry **out, size_t *n)
{
    *out = NULL;
    *n = 0;
    if (!sv)
        return Y_OK;
    y_dec d;
    y_dec_init(&d, sv, len);
    uint64_t count = y_dec_varuint(&d);
    if (d.err || count > len)
        return Y_EDECODE;
    y_sv_entry *v = calloc(count ? count : 1, sizeof *v);
    if (!v)
        return Y_ENOMEM;
    for (uint64_t i = 0; i < count; i++) {
        v[i].client = y_dec_varuint(&d);
        v[i].clock = y_dec_varuint(&d);
    }
    if (d.err) {
        free(v);
        return Y_EDECODE;
    }
    *out = v;
    *n = count;
    return Y_OK;
}

static int encode_state_with_pending(const y_doc *doc, const uint8_t *sv, size_t sv_len,
                                     uint8_t *state, size_t state_len, uint8_t **out,
                                     size_t *out_len);

int y_encode_state_as_update(const y_doc *doc, const uint8_t *sv, size_t sv_len, uint8_t **out,
                             size_t *out_len)
{
    y_sv_entry *v;
    size_t n;
    int rc = decode_sv(sv, sv_len, &v, &n);
    if (rc)
        return rc;
    y_enc e = Y_ENC_INIT;
    y_ds ds;
    rc = y_encode_update_from(doc, v, n, &e);
    if (!rc && !(rc = y_ds_from_store(doc, &ds))) {
        y_ds_encode(&e, &ds);
        y_ds_release(&ds);
    }
    free(v);
    if (rc) {
        y_enc_release(&e);
        return rc;
    }
    if (!doc->npending && !doc->pending_ds.len)
        return y_enc_finish(&e, out, out_len);
    uint8_t *state = NULL;
    size_t state_len = 0;
    if ((rc = y_enc_finish(&e, &state, &state_len)))
        return rc;
    rc = encode_state_with_pending(doc, sv, sv_len, state, state_len, out, out_len);
    y_free(state);
    return rc;
}

int y_encode_state_vector(const y_doc *doc, uint8_t **out, size_t *out_len)
{
    y_enc e = Y_ENC_INIT;
    size_t n = 0;
    for (size_t c = 0; c < doc->nclients; c++)
        n += doc->clients[c].len > 0;
    y_enc_varuint(&e, n);
    for (size_t c = doc->nclients; c-- > 0;) {
        if (!doc->clients[c].len)
            continue;
        y_enc_varuint(&e, doc->clients[c].client);
        y_enc_varuint(&e, y_store_state(doc, doc->clients[c].client));
    }
    return y_enc_finish(&e, out, out_len);
}

bool y_doc_has_pending(const y_doc *doc)
{
    return doc->npending > 0 || doc->pending_ds.len > 0;
}

/* ---- decoding ------------------------------------------------------------------------ */

static char *dup_bytes(const char *s, size_t n)
{
    char *p = malloc(n + 1);
    if (p) {
        memcpy(p, s, n);
        p[n] = 0;
    }
    return p;
}

static int read_content(y_dec *d, y_item *it, uint8_t ref)
{
    size_t n;
    const char *s;
    it->ref = ref;
    it->len = 1;
    switch (ref) {
    case Y_REF_DELETED:
        it->len = y_dec_varuint(d);
        if (!d->err && it->len == 0)
            d->err = true;
        break;
    case Y_REF_JSON:
    case Y_REF_ANY: {
        uint64_t count = y_dec_varuint(d);
        if (d->err || count == 0 || count > y_dec_left(d))
            return Y_EDECODE;
        it->c.any.v = calloc(count, sizeof(y_any));
        if (!it->c.any.v)
            return Y_ENOMEM;
        for (uint64_t i = 0; i < count; i++) {
            int rc;
            if (ref == Y_REF_ANY) {
                rc = y_any_decode(d, &it->c.any.v[i]);
            } else {
                s = y_dec_varstring(d, &n);
                rc = s ? Y_OK : Y_EDECODE;
                if (s) {
                    it->c.any.v[i].kind = Y_ANY_STRING;
                    it->c.any.v[i].u.str.ptr = dup_bytes(s, n);
                    it->c.any.v[i].u.str.len = n;
                    rc = it->c.any.v[i].u.str.ptr ? Y_OK : Y_ENOMEM;
                }
            }
            if (rc)
                return rc;
            it->c.any.n++;
        }
        it->len = count;
        break;
    }
    case Y_REF_BINARY: {
        const uint8_t *p = y_dec_varbytes(d, &n);
        if (!p)
            return Y_EDECODE;
        if (!(it->c.bin.p = malloc(n ? n : 1)))
            return Y_ENOMEM;
        memcpy(it->c.bin.p, p, n);
        it->c.bin.n = n;
        break;
    }
    case Y_REF_STRING:
        if (!(s = y_dec_varstring(d, &n)))
            return Y_EDECODE;
        if (!(it->c.str.s = dup_bytes(s, n)))
            return Y_ENOMEM;
        it->c.str.bytes = n;
        it->len = y_utf16_len(s, n);
        if (it->len == 0)
            return Y_EDECODE;
        break;
    case Y_REF_EMBED:
        if (!(s = y_dec_varstring(d, &n)))
            return Y_EDECODE;
        if (!(it->c.embed = dup_bytes(s, n)))
            return Y_ENOMEM;
        break;
    case Y_REF_FORMAT:
        if (!(s = y_dec_varstring(d, &n)) || !(it->c.fmt.key = dup_bytes(s, n)))
            return d->err ? Y_EDECODE : Y_ENOMEM;
        if (!(s = y_dec_varstring(d, &n)) || !(it->c.fmt.value = dup_bytes(s, n)))
            return d->err ? Y_EDECODE : Y_ENOMEM;
        break;
    case Y_REF_TYPE: {
        uint64_t kind = y_dec_varuint(d);
        if (d->err || kind > Y_XML_TEXT)
            return Y_EDECODE;
        /* The type object is created on integration (make_type); until then the decoded
         * kind sits in c.any.n and an XML node name in c.any.v (see y_item_free_decoded). */
        it->c.any.n = (size_t)kind;
        if (kind == Y_XML_ELEMENT || kind == Y_XML_HOOK) {
            if (!(s = y_dec_varstring(d, &n)))
                return Y_EDECODE;
            it->c.any.v = (y_any *)dup_bytes(s, n); /* node name, owned until make_type */
            if (!it->c.any.v)
                return Y_ENOMEM;
        }
        break;
    }
    case Y_REF_DOC: {
        if (!(s = y_dec_varstring(d, &n)) || !(it->c.doc.guid = dup_bytes(s, n)))
            return d->err ? Y_EDECODE : Y_ENOMEM;
        int rc = y_any_decode(d, &it->c.doc.opts);
        if (rc)
            return rc;
        break;
    }
    default:
        return Y_EDECODE;
    }
    return d->err ? Y_EDECODE : Y_OK;
}

/* Release a decoded, never-integrated item (type content is still in decoded form). */
void y_item_free_decoded(y_item *it)
{
    if (it->ref == Y_REF_TYPE && it->decoded) {
        free(it->c.any.v);
        memset(&it->c, 0, sizeof it->c);
    }
    y_item_free(it);
}

typedef struct decoded {
    y_item **items; /* in update order: per client block, ascending clock */
    size_t n, cap;
    y_ds ds;
} decoded;

static void decoded_release(decoded *u)
{
    for (size_t i = 0; i < u->n; i++)
        y_item_free_decoded(u->items[i]);
    free(u->items);
    y_ds_release(&u->ds);
    memset(u, 0, sizeof *u);
}

static int push_item(decoded *u, y_item *it)
{
    if (u->n == u->cap) {
        size_t cap = u->cap ? u->cap * 2 : 64;
        y_item **p = realloc(u->items, cap * sizeof *p);
        if (!p)
            return Y_ENOMEM;
        u->items = p;
        u->cap = cap;
    }
    u->items[u->n++] = it;
    return Y_OK;
}

/* Decode a whole v1 update; nothing touches the doc. */
static int decode_update(const uint8_t *data, size_t len, decoded *u)
{
    y_dec d;
    y_dec_init(&d, data, len);
    memset(u, 0, sizeof *u);
    uint64_t nclients = y_dec_varuint(&d);
    if (d.err || nclients > len)
        return Y_EDECODE;
    int rc = Y_OK;
    for (uint64_t c = 0; c < nclients && !rc; c++) {
        uint64_t nstructs = y_dec_varuint(&d);
        uint64_t client = y_dec_varuint(&d);
        uint64_t clock = y_dec_varuint(&d);
        if (d.err || nstructs > y_dec_left(&d) + 1) {
            rc = Y_EDECODE;
            break;
        }
        for (uint64_t s = 0; s < nstructs && !rc; s++) {
            uint8_t info = y_dec_u8(&d);
            y_item *it = d.err ? NULL : y_item_new();
            if (!it) {
                rc = d.err ? Y_EDECODE : Y_ENOMEM;
                break;
            }
            it->id.client = client;
            it->id.clock = clock;
            it->decoded = true;
            uint8_t ref = info & 0x1f;
            if (ref == Y_REF_GC || ref == Y_REF_SKIP) {
                it->ref = ref;
                it->len = y_dec_varuint(&d);
                it->deleted = ref == Y_REF_GC;
                if (!d.err && it->len == 0)
                    d.err = true;
            } else {
                if (info & 0x80) {
                    it->has_origin = true;
                    it->origin.client = y_dec_varuint(&d);
                    it->origin.clock = y_dec_varuint(&d);
                }
                if (info & 0x40) {
                    it->has_right_origin = true;
                    it->right_origin.client = y_dec_varuint(&d);
                    it->right_origin.clock = y_dec_varuint(&d);
                }
                if (!(info & 0xc0)) {
                    uint64_t pinfo = y_dec_varuint(&d);
                    size_t n;
                    if (pinfo == 1) {
                        const char *name = y_dec_varstring(&d, &n);
                        if (name && !(it->parent_name = dup_bytes(name, n)))
                            rc = Y_ENOMEM;
                    } else if (pinfo == 0) {
                        it->has_parent_id = true;
                        it->parent_id.client = y_dec_varuint(&d);
                        it->parent_id.clock = y_dec_varuint(&d);
                    } else {
                        d.err = true;
                    }
                    if (info & 0x20) {
                        const char *key = y_dec_varstring(&d, &n);
                        if (key && !(it->parent_sub = dup_bytes(key, n)))
                            rc = Y_ENOMEM;
                    }
                }
                /* With an origin, parent and key are copied from a neighbour (resolve). */
                if (!rc && !d.err)
                    rc = read_content(&d, it, ref);
            }
            if (d.err && !rc)
                rc = Y_EDECODE;
            if (!rc && it->len > UINT64_MAX - clock)
                rc = Y_EDECODE;
            /* A reference to the struct itself or to a later struct of the same client can
             * never be satisfied (yjs throws half way through); refuse it before anything
             * is applied. */
            if (!rc &&
                ((it->has_origin && it->origin.client == client && it->origin.clock >= clock) ||
                 (it->has_right_origin && it->right_origin.client == client &&
                  it->right_origin.clock >= clock) ||
                 (it->has_parent_id && it->parent_id.client == client &&
                  it->parent_id.clock >= clock)))
                rc = Y_EDECODE;
            if (!rc)
                rc = push_item(u, it);
            if (rc) {
                y_item_free_decoded(it);
                break;
            }
            clock += it->len;
        }
    }
    if (!rc) {
        uint64_t nds = y_dec_varuint(&d);
        if (d.err || nds > len)
            rc = Y_EDECODE;
        for (uint64_t c = 0; !rc && c < nds; c++) {
            uint64_t client = y_dec_varuint(&d);
            uint64_t nr = y_dec_varuint(&d);
            if (d.err || nr > len) {
                rc = Y_EDECODE;
                break;
            }
            for (uint64_t r = 0; !rc && r < nr; r++) {
                uint64_t clock = y_dec_varuint(&d), l = y_dec_varuint(&d);
                if (d.err)
                    rc = Y_EDECODE;
                else if (l)
                    rc = y_ds_add(&u->ds, client, clock, l);
            }
        }
    }
    if (!rc && (d.err || y_dec_left(&d) != 0))
        rc = Y_EDECODE;
    if (rc)
        decoded_release(u);
    return rc;
}

int y_update_validate(const uint8_t *update, size_t len)
{
    decoded u;
    int rc = decode_update(update, len, &u);
    if (!rc)
        decoded_release(&u);
    return rc;
}

/* ---- integration -------------------------------------------------------------------------- */

/* Turn decoded type content into a type object. */
static int make_type(y_doc *doc, y_item *it)
{
    y_type_kind kind = (y_type_kind)it->c.any.n;
    char *node_name = (char *)it->c.any.v;
    y_type *t = y_type_new(doc, kind);
    if (!t) {
        free(node_name);
        return Y_ENOMEM;
    }
    t->node_name = node_name;
    memset(&it->c, 0, sizeof it->c);
    it->c.type = t;
    it->decoded = false;
    return Y_OK;
}

static int resolve(y_doc *doc, y_item *it)
{
    if (it->has_origin) {
        it->left = y_store_clean_end(doc, it->origin);
        if (!it->left)
            return Y_EDECODE;
        it->origin = y_item_last_id(it->left);
    }
    if (it->has_right_origin) {
        it->right = y_store_clean_start(doc, it->right_origin);
        if (!it->right)
            return Y_EDECODE;
        it->right_origin = it->right->id;
    }
    bool gc_neighbour =
        (it->left && it->left->ref == Y_REF_GC) || (it->right && it->right->ref == Y_REF_GC);
    if (gc_neighbour) {
        it->parent = NULL;
    } else if (it->parent_name) {
        it->parent = y_root_type(doc, it->parent_name, strlen(it->parent_name));
        if (!it->parent)
            return Y_ENOMEM;
    } else if (it->has_parent_id) {
        y_item *p = y_store_find(doc, it->parent_id);
        if (!p)
            return Y_EDECODE;
        it->parent = p->ref == Y_REF_TYPE ? p->c.type : NULL;
    } else {
        y_item *n = it->left ? it->left : it->right;
        if (n) {
            it->parent = n->parent;
            free(it->parent_sub);
            it->parent_sub = n->parent_sub ? strdup(n->parent_sub) : NULL;
            if (n->parent_sub && !it->parent_sub)
                return Y_ENOMEM;
        }
    }
    return Y_OK;
}

/* The client of a missing dependency of it (yjs getMissing before it resolves), or false. */
static bool missing_client(y_doc *doc, const y_item *it, uint64_t *client)
{
    if (it->ref == Y_REF_GC)
        return false;
    if (it->has_origin && it->origin.client != it->id.client &&
        it->origin.clock >= y_store_state(doc, it->origin.client)) {
        *client = it->origin.client;
        return true;
    }
    if (it->has_right_origin && it->right_origin.client != it->id.client &&
        it->right_origin.clock >= y_store_state(doc, it->right_origin.client)) {
        *client = it->right_origin.client;
        return true;
    }
    if (it->has_parent_id && it->parent_id.client != it->id.client &&
        it->parent_id.clock >= y_store_state(doc, it->parent_id.client)) {
        *client = it->parent_id.client;
        return true;
    }
    return false;
}

/* Integrate a struct whose dependencies exist, offset units already known. */
static int integrate_one(y_doc *doc, y_item *it, uint64_t offset)
{
    if (it->ref == Y_REF_GC) {
        it->id.clock += offset;
        it->len -= offset;
        doc->txn.changed = true;
        return y_store_append(doc, it);
    }
    int rc = resolve(doc, it);
    if (!rc && it->ref == Y_REF_TYPE)
        rc = make_type(doc, it);
    if (rc)
        return rc;
    free(it->parent_name);
    it->parent_name = NULL;
    it->has_parent_id = false;
    it->decoded = false;
    return y_item_integrate(doc, it, offset);
}

/* One client's structs of an update, as yjs's clientsStructRefs entry: indexes into the
 * item array, i the next to take; gone once moved to the rest. */
typedef struct client_refs {
    uint64_t client;
    size_t *v;
    size_t n, i;
    bool gone;
} client_refs;

typedef struct rest_entry {
    uint64_t client;
    size_t *v; /* indexes into the item array */
    size_t n;
} rest_entry;

typedef struct integrator {
    y_doc *doc;
    y_item **items;
    client_refs *refs; /* ascending by client */
    size_t nrefs;
    size_t *ids; /* clientsStructRefsIds: positions in refs, ascending by client */
    size_t nids;
    size_t *stack;
    size_t nstack;
    rest_entry *rest;
    size_t nrest;
    y_sv_entry *missing;
    size_t nmissing;
    bool oom;
} integrator;

static client_refs *refs_of(integrator *g, uint64_t client)
{
    size_t lo = 0, hi = g->nrefs;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (g->refs[mid].client < client)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < g->nrefs && g->refs[lo].client == client && !g->refs[lo].gone ? &g->refs[lo] : NULL;
}

static void sv_min(y_sv_entry **sv, size_t *n, uint64_t client, uint64_t clock, bool *oom)
{
    for (size_t i = 0; i < *n; i++)
        if ((*sv)[i].client == client) {
            if ((*sv)[i].clock > clock)
                (*sv)[i].clock = clock;
            return;
        }
    y_sv_entry *m = realloc(*sv, (*n + 1) * sizeof *m);
    if (!m) {
        *oom = true;
        return;
    }
    *sv = m;
    m[*n].client = client;
    m[(*n)++].clock = clock;
}

/* restStructs.clients.set(client, list): a later set replaces the earlier list. */
static void rest_set(integrator *g, uint64_t client, const size_t *v, size_t n)
{
    size_t *copy = malloc((n ? n : 1) * sizeof *copy);
    if (!copy) {
        g->oom = true;
        return;
    }
    memcpy(copy, v, n * sizeof *copy);
    for (size_t k = 0; k < g->nrest; k++)
        if (g->rest[k].client == client) {
            free(g->rest[k].v);
            g->rest[k].v = copy;
            g->rest[k].n = n;
            return;
        }
    rest_entry *r = realloc(g->rest, (g->nrest + 1) * sizeof *r);
    if (!r) {
        free(copy);
        g->oom = true;
        return;
    }
    g->rest = r;
    r[g->nrest].client = client;
    r[g->nrest].v = copy;
    r[g->nrest++].n = n;
}

/* yjs addStackToRestSS: the clients of the stacked structs stop here; what is left of
 * them waits. */
static void stack_to_rest(integrator *g)
{
    for (size_t s = 0; s < g->nstack; s++) {
        size_t idx = g->stack[s];
        uint64_t client = g->items[idx]->id.client;
        client_refs *r = refs_of(g, client);
        if (r) {
            r->i--; /* the stacked struct was the last one taken from its client */
            rest_set(g, client, r->v + r->i, r->n - r->i);
            r->gone = true;
            r->i = r->n = 0;
        } else {
            rest_set(g, client, &idx, 1);
        }
        size_t w = 0;
        for (size_t k = 0; k < g->nids; k++)
            if (g->refs[g->ids[k]].client != client)
                g->ids[w++] = g->ids[k];
        g->nids = w;
    }
    g->nstack = 0;
}

static client_refs *next_target(integrator *g)
{
    while (g->nids > 0) {
        client_refs *r = &g->refs[g->ids[g->nids - 1]];
        if (!r->gone && r->i < r->n)
            return r;
        g->nids--;
    }
    return NULL;
}

/* yjs integrateStructs over items[0..n) (one update's structs, per client in clock order):
 * clients from the highest id, a stack to chase dependencies into other clients of the same
 * update, and a "dead wall" that moves the blocked clients' remaining structs to the rest.
 * Integrated and already-known structs leave items (NULL); the rest is returned in
 * rest_out/nrest_out (in client order, each client's structs in clock order) with yjs's missing
 * clocks; whatever yjs drops in a dead wall is freed. */
static int integrate_structs(y_doc *doc, y_item **items, size_t n, y_item ***rest_out,
                             size_t *nrest_out, y_sv_entry **missing, size_t *nmissing)
{
    integrator g;
    memset(&g, 0, sizeof g);
    g.doc = doc;
    g.items = items;
    *rest_out = NULL;
    *nrest_out = 0;
    int rc = Y_OK;
    /* Group by client, keeping each client's structs in their order (clock order). */
    size_t *order = malloc((n ? n : 1) * sizeof *order);
    if (!order) {
        rc = Y_ENOMEM;
        goto done; /* which frees the items, as every other failure does */
    }
    for (size_t i = 0; i < n; i++)
        order[i] = i;
    for (size_t i = 1; i < n; i++) { /* a stable insertion sort: inputs come grouped */
        size_t v = order[i], j = i;
        while (j > 0 && items[order[j - 1]]->id.client > items[v]->id.client) {
            order[j] = order[j - 1];
            j--;
        }
        order[j] = v;
    }
    for (size_t i = 0; i < n;) {
        size_t j = i;
        while (j < n && items[order[j]]->id.client == items[order[i]]->id.client)
            j++;
        client_refs *r = realloc(g.refs, (g.nrefs + 1) * sizeof *r);
        if (!r) {
            rc = Y_ENOMEM;
            goto done;
        }
        g.refs = r;
        r[g.nrefs].client = items[order[i]]->id.client;
        r[g.nrefs].v = order + i;
        r[g.nrefs].n = j - i;
        r[g.nrefs].i = 0;
        r[g.nrefs++].gone = false;
        i = j;
    }
    g.ids = malloc((g.nrefs ? g.nrefs : 1) * sizeof *g.ids);
    g.stack = malloc((n ? n : 1) * sizeof *g.stack);
    if (!g.ids || !g.stack) {
        rc = Y_ENOMEM;
        goto done;
    }
    for (size_t k = 0; k < g.nrefs; k++)
        g.ids[k] = k;
    g.nids = g.nrefs;
    client_refs *cur = next_target(&g);
    if (!cur)
        goto done;
    size_t head = cur->v[cur->i++];
    for (;;) {
        y_item *it = items[head];
        if (it->ref == Y_REF_SKIP) {
            y_item_free_decoded(it);
            items[head] = NULL;
        } else {
            uint64_t local = y_store_state(doc, it->id.client), dep;
            if (local < it->id.clock) {
                /* A gap in this client's own structs. */
                g.stack[g.nstack++] = head;
                sv_min(&g.missing, &g.nmissing, it->id.client, it->id.clock - 1, &g.oom);
                stack_to_rest(&g);
            } else if (missing_client(doc, it, &dep)) {
                g.stack[g.nstack++] = head;
                client_refs *r = refs_of(&g, dep);
                if (!r || r->i == r->n) {
                    /* Depends on an update that has not arrived. */
                    sv_min(&g.missing, &g.nmissing, dep, y_store_state(doc, dep), &g.oom);
                    stack_to_rest(&g);
                } else {
                    head = r->v[r->i++];
                    continue;
                }
            } else {
                uint64_t offset = local - it->id.clock;
                items[head] = NULL;
                if (offset == 0 || offset < it->len) {
                    if ((rc = integrate_one(doc, it, offset))) {
                        y_item_free(it);
                        goto done;
                    }
                } else {
                    y_item_free_decoded(it);
                }
            }
        }
        if (g.oom) {
            rc = Y_ENOMEM;
            goto done;
        }
        if (g.nstack > 0) {
            head = g.stack[--g.nstack];
        } else if (cur && !cur->gone && cur->i < cur->n) {
            head = cur->v[cur->i++];
        } else {
            cur = next_target(&g);
            if (!cur)
                break;
            head = cur->v[cur->i++];
        }
    }
done:
    if (!rc) {
        /* The rest, clients ascending; an item yjs dropped is in no list: free it. */
        size_t total = 0;
        for (size_t k = 0; k < g.nrest; k++)
            total += g.rest[k].n;
        y_item **out = total ? malloc(total * sizeof *out) : NULL;
        if (total && !out) {
            rc = Y_ENOMEM;
        } else {
            size_t w = 0;
            for (size_t c = 0; c < g.nrefs; c++)
                for (size_t k = 0; k < g.nrest; k++)
                    if (g.rest[k].client == g.refs[c].client)
                        for (size_t x = 0; x < g.rest[k].n; x++) {
                            size_t idx = g.rest[k].v[x];
                            if (items[idx]) {
                                out[w++] = items[idx];
                                items[idx] = NULL;
                            }
                        }
            *rest_out = out;
            *nrest_out = w;
            *missing = g.missing;
            *nmissing = g.nmissing;
            g.missing = NULL;
        }
    }
    for (size_t i = 0; i < n; i++)
        if (items[i]) {
            y_item_free_decoded(items[i]);
            items[i] = NULL;
        }
    for (size_t k = 0; k < g.nrest; k++)
        free(g.rest[k].v);
    free(g.rest);
    free(g.missing);
    free(g.refs);
    free(g.ids);
    free(g.stack);
    free(order);
    return rc;
}

/* Apply delete ranges below each client's state; keep the rest in unapplied. */
static int apply_ds(y_doc *doc, const y_ds *ds, y_ds *unapplied)
{
    for (size_t c = 0; c < ds->len; c++) {
        uint64_t client = ds->c[c].client;
        for (size_t k = 0; k < ds->c[c].len; k++) {
            uint64_t clock = ds->c[c].r[k].clock, end = clock + ds->c[c].r[k].len;
            uint64_t state = y_store_state(doc, client);
            if (clock >= state) {
                if (y_ds_add(unapplied, client, clock, end - clock))
                    return Y_ENOMEM;
                continue;
            }
            if (state < end && y_ds_add(unapplied, client, state, end - state))
                return Y_ENOMEM;
            y_client_structs *cs = y_store_client(doc, client, false);
            long idx = y_store_find_index(cs, clock);
            if (idx < 0)
                continue;
            y_item *s = cs->items[idx];
            if (!s->deleted && s->id.clock < clock) {
                y_item_split(doc, s, clock - s->id.clock);
                idx++;
            }
            while ((size_t)idx < cs->len) {
                s = cs->items[idx++];
                if (s->id.clock >= end)
                    break;
                if (!s->deleted) {
                    if (end < s->id.clock + s->len)
                        y_item_split(doc, s, end - s->id.clock);
                    y_item_delete(doc, s);
                }
            }
        }
    }
    return Y_OK;
}

/* Add the rest of an update to the pending structs: one list sorted by client and clock
 * (already waiting structs first on equal clocks), as yjs merges them into one update. */
static int pending_add(y_doc *doc, y_item **rest, size_t nrest)
{
    size_t n = doc->npending + nrest;
    y_item **m = malloc((n ? n : 1) * sizeof *m);
    if (!m)
        return Y_ENOMEM;
    size_t a = 0, b = 0, w = 0;
    while (a < doc->npending || b < nrest) {
        bool take_a = b == nrest;
        if (a < doc->npending && b < nrest) {
            const y_item *x = doc->pending[a], *y = rest[b];
            take_a = x->id.client != y->id.client ? x->id.client < y->id.client
                                                  : x->id.clock <= y->id.clock;
        }
        m[w++] = take_a ? doc->pending[a++] : rest[b++];
    }
    free(doc->pending);
    doc->pending = m;
    doc->npending = doc->cappending = n;
    return Y_OK;
}

/* Apply the pending delete ranges again; what still refers to unknown structs stays. */
static int retry_pending_ds(y_doc *doc, y_ds *unapplied)
{
    int rc = apply_ds(doc, &doc->pending_ds, unapplied);
    y_ds_release(&doc->pending_ds);
    y_ds_sort_merge(unapplied);
    doc->pending_ds = *unapplied;
    memset(unapplied, 0, sizeof *unapplied);
    return rc;
}

/* yjs readUpdateV2: integrate this update's structs (not the pending ones); merge what
 * cannot be integrated into the pending structs; apply the delete set and the pending
 * deletes; then, only if a client recorded as missing by the pending structs has advanced,
 * take the pending structs out and apply them again (in the same transaction). */
int y_apply_update(y_doc *doc, const uint8_t *update, size_t len, const void *origin)
{
    decoded u;
    int rc = decode_update(update, len, &u);
    if (rc)
        return rc;
    if ((rc = y_txn_begin(doc, origin, false))) {
        decoded_release(&u);
        return rc;
    }
    y_item **rest = NULL;
    size_t nrest = 0, nmiss = 0;
    y_sv_entry *miss = NULL;
    rc = integrate_structs(doc, u.items, u.n, &rest, &nrest, &miss, &nmiss);
    u.n = 0; /* every struct was integrated, freed or moved to rest */
    bool retry = false;
    if (!rc && doc->npending) {
        for (size_t k = 0; k < doc->nmissing && !retry; k++)
            retry =
                doc->pending_missing[k].clock < y_store_state(doc, doc->pending_missing[k].client);
        bool oom = false;
        for (size_t k = 0; k < nmiss; k++)
            sv_min(&doc->pending_missing, &doc->nmissing, miss[k].client, miss[k].clock, &oom);
        if (oom)
            rc = Y_ENOMEM;
        if (!rc && nrest && !(rc = pending_add(doc, rest, nrest)))
            nrest = 0;
    } else if (!rc && nrest) {
        free(doc->pending);
        doc->pending = rest;
        doc->npending = doc->cappending = nrest;
        rest = NULL;
        nrest = 0;
        free(doc->pending_missing);
        doc->pending_missing = miss;
        doc->nmissing = nmiss;
        miss = NULL;
    }
    for (size_t k = 0; k < nrest; k++)
        y_item_free_decoded(rest[k]);
    free(rest);
    free(miss);
    /* This update's deletes, then the pending ones again (yjs's order, which decides the
     * order of clients in the transaction's delete set, and so of the formatting cleanup). */
    y_ds unapplied = {0};
    if (!rc)
        rc = apply_ds(doc, &u.ds, &unapplied);
    if (!rc)
        rc = retry_pending_ds(doc, &unapplied);
    if (!rc && retry) {
        y_item **p = doc->pending;
        size_t np = doc->npending;
        doc->pending = NULL;
        doc->npending = doc->cappending = 0;
        free(doc->pending_missing);
        doc->pending_missing = NULL;
        doc->nmissing = 0;
        rc = integrate_structs(doc, p, np, &rest, &nrest, &miss, &nmiss);
        free(p);
        if (!rc && nrest) {
            doc->pending = rest;
            doc->npending = doc->cappending = nrest;
            doc->pending_missing = miss;
            doc->nmissing = nmiss;
        } else {
            free(rest);
            free(miss);
        }
        if (!rc)
            rc = retry_pending_ds(doc, &unapplied);
    }
    y_ds_release(&unapplied);
    decoded_release(&u);
    int erc = y_txn_end(doc);
    return rc ? rc : erc;
}

int y_state_vector_from_update(const uint8_t *update, size_t len, uint8_t **out, size_t *out_len)
{
    /* Per client, in order of appearance: the end of the run that starts at clock 0 and
     * stops at the first Skip; clients not starting at 0 are left out (yjs
     * encodeStateVectorFromUpdate). */
    decoded u;
    int rc = decode_update(update, len, &u);
    if (rc)
        return rc;
    y_sv_entry *sv = calloc(u.n ? u.n : 1, sizeof *sv);
    size_t n = 0;
    if (!sv) {
        decoded_release(&u);
        return Y_ENOMEM;
    }
    for (size_t i = 0; i < u.n;) {
        uint64_t client = u.items[i]->id.client, end = 0;
        bool ok = u.items[i]->id.clock == 0, stop = false;
        for (; i < u.n && u.items[i]->id.client == client; i++) {
            if (u.items[i]->ref == Y_REF_SKIP)
                stop = true;
            if (ok && !stop)
                end = u.items[i]->id.clock + u.items[i]->len;
        }
        if (ok) {
            sv[n].client = client;
            sv[n++].clock = end;
        }
    }
    y_enc e = Y_ENC_INIT;
    y_enc_varuint(&e, n);
    for (size_t i = 0; i < n; i++) {
        y_enc_varuint(&e, sv[i].client);
        y_enc_varuint(&e, sv[i].clock);
    }
    free(sv);
    decoded_release(&u);
    return y_enc_finish(&e, out, out_len);
}

static const char *ref_name(uint8_t ref)
{
    static const char *const names[] = {"GC",     "Deleted", "JSON", "Binary", "String", "Embed",
                                        "Format", "Type",    "Any",  "Doc",    "Skip"};
    return ref <= Y_REF_SKIP ? names[ref] : "?";
}

int y_update_dump(const uint8_t *update, size_t len, FILE *out)
{
    decoded u;
    int rc = decode_update(update, len, &u);
    if (rc)
        return rc;
    uint64_t client = UINT64_MAX;
    for (size_t i = 0; i < u.n; i++) {
        const y_item *it = u.items[i];
        if (it->id.client != client) {
            client = it->id.client;
            fprintf(out, "client %llu\n", (unsigned long long)client);
        }
        fprintf(out, "  %llu:%llu len %llu %s", (unsigned long long)it->id.client,
                (unsigned long long)it->id.clock, (unsigned long long)it->len, ref_name(it->ref));
        if (it->has_origin)
            fprintf(out, " origin %llu:%llu", (unsigned long long)it->origin.client,
                    (unsigned long long)it->origin.clock);
        if (it->has_right_origin)
            fprintf(out, " right %llu:%llu", (unsigned long long)it->right_origin.client,
                    (unsigned long long)it->right_origin.clock);
        if (it->parent_name)
            fprintf(out, " parent \"%s\"", it->parent_name);
        if (it->has_parent_id)
            fprintf(out, " parent %llu:%llu", (unsigned long long)it->parent_id.client,
                    (unsigned long long)it->parent_id.clock);
        if (it->parent_sub)
            fprintf(out, " key \"%s\"", it->parent_sub);
        if (it->ref == Y_REF_STRING)
            fprintf(out, " \"%.60s%s\"", it->c.str.s, it->c.str.bytes > 60 ? "..." : "");
        if (it->ref == Y_REF_ANY) {
            char *j = NULL;
            if (y_any_to_json(&it->c.any.v[0], &j, NULL) == Y_OK)
                fprintf(out, " %.60s%s", j, it->c.any.n > 1 ? " ..." : "");
            y_free(j);
        }
        fputc('\n', out);
    }
    fprintf(out, "delete set\n");
    for (size_t c = 0; c < u.ds.len; c++)
        for (size_t k = 0; k < u.ds.c[c].len; k++)
            fprintf(out, "  %llu:%llu len %llu\n", (unsigned long long)u.ds.c[c].client,
                    (unsigned long long)u.ds.c[c].r[k].clock,
                    (unsigned long long)u.ds.c[c].r[k].len);
    decoded_release(&u);
    return Y_OK;
}

/* ---- doc-free diff ------------------------------------------------------------------- */

/* Writes structs client block by client block in the order given (yjs LazyStructWriter):
 * a block is buffered until the client changes, then counted and flushed. */
typedef struct lazy_writer {
    y_enc blocks; /* finished blocks: varUint count + client + clock + structs */
    size_t nblocks;
    y_enc cur; /* the open block after its count */
    uint64_t client;
    size_t written;
} lazy_writer;

static void lazy_flush(lazy_writer *w)
{
    if (!w->written)
        return;
    y_enc_varuint(&w->blocks, w->written);
    y_enc_raw(&w->blocks, w->cur.data, w->cur.len);
    w->cur.len = 0;
    w->written = 0;
    w->nblocks++;
}

static void lazy_write(lazy_writer *w, const y_item *it, uint64_t offset)
{
    if (w->written && w->client != it->id.client)
        lazy_flush(w);
    if (!w->written) {
        w->client = it->id.client;
        y_enc_varuint(&w->cur, it->id.client);
        y_enc_varuint(&w->cur, it->id.clock + offset);
    }
    y_encode_item(&w->cur, it, offset);
    w->written++;
}

int y_diff_update(const uint8_t *update, size_t len, const uint8_t *sv, size_t sv_len,
                  uint8_t **out, size_t *out_len)
{
    y_sv_entry *state;
    size_t nstate;
    int rc = decode_sv(sv, sv_len, &state, &nstate);
    if (rc)
        return rc;
    decoded u;
    if ((rc = decode_update(update, len, &u))) {
        free(state);
        return rc;
    }
    lazy_writer w = {Y_ENC_INIT, 0, Y_ENC_INIT, 0, 0};
    size_t i = 0;
    while (i < u.n) {
        const y_item *it = u.items[i];
        uint64_t client = it->id.client, have = sv_get(state, nstate, client, NULL);
        if (it->ref == Y_REF_SKIP) {
            i++; /* the first struct written for a client is never a Skip */
            continue;
        }
        if (it->id.clock + it->len > have) {
            lazy_write(&w, it, have > it->id.clock ? have - it->id.clock : 0);
            for (i++; i < u.n && u.items[i]->id.client == client; i++)
                lazy_write(&w, u.items[i], 0);
        } else {
            while (i < u.n && u.items[i]->id.client == client &&
                   u.items[i]->id.clock + u.items[i]->len <= have)
                i++;
        }
    }
    lazy_flush(&w);
    y_enc e = Y_ENC_INIT;
    y_enc_varuint(&e, w.nblocks);
    y_enc_raw(&e, w.blocks.data, w.blocks.len);
    /* The delete set is copied whole, clients in descending order. */
    y_ds_sort_clients(&u.ds);
    y_ds_encode(&e, &u.ds);
    bool oom = w.blocks.oom || w.cur.oom;
    y_enc_release(&w.blocks);
    y_enc_release(&w.cur);
    decoded_release(&u);
    free(state);
    if (oom) {
        y_enc_release(&e);
        return Y_ENOMEM;
    }
    return y_enc_finish(&e, out, out_len);
}

/* ---- doc-free merge ---------------------------------------------------------------------- */

typedef struct merge_reader {
    decoded u;
    size_t pos;   /* index of curr in u.items, u.n when done */
    size_t order; /* rank in the previous sort (stable sorting, as JS sorts) */
} merge_reader;

static y_item *reader_curr(merge_reader *r)
{
    /* Skips in the inputs are filtered out (LazyStructReader with filterSkips). */
    while (r->pos < r->u.n && r->u.items[r->pos]->ref == Y_REF_SKIP)
        r->pos++;
    return r->pos < r->u.n ? r->u.items[r->pos] : NULL;
}

static y_item *reader_next(merge_reader *r)
{
    r->pos++;
    return reader_curr(r);
}

static int cmp_readers(const void *a, const void *b)
{
    merge_reader *x = *(merge_reader *const *)a, *y = *(merge_reader *const *)b;
    const y_item *cx = x->u.items[x->pos], *cy = y->u.items[y->pos];
    if (cx->id.client != cy->id.client)
        return cx->id.client > cy->id.client ? -1 : 1;
    if (cx->id.clock != cy->id.clock)
        return cx->id.clock < cy->id.clock ? -1 : 1;
    return x->order < y->order ? -1 : x->order > y->order;
}

/* A new struct holding the part of s from diff on (yjs sliceStruct). */
static y_item *slice_struct(const y_item *s, uint64_t diff)
{
    y_item *r = y_item_new();
    if (!r)
        return NULL;
    r->id.client = s->id.client;
    r->id.clock = s->id.clock + diff;
    r->len = s->len - diff;
    r->ref = s->ref;
    r->decoded = true;
    if (s->ref == Y_REF_GC || s->ref == Y_REF_SKIP) {
        r->deleted = s->ref == Y_REF_GC;
        return r;
    }
    r->has_origin = true;
    r->origin.client = s->id.client;
    r->origin.clock = s->id.clock + diff - 1;
    r->has_right_origin = s->has_right_origin;
    r->right_origin = s->right_origin;
    if (s->parent_sub && !(r->parent_sub = strdup(s->parent_sub)))
        goto fail;
    if (s->ref == Y_REF_STRING) {
        /* Reuse the writer's slicing rule: the UTF-8 of the string from diff units on. */
        y_enc e = Y_ENC_INIT;
        write_string_from(&e, s->c.str.s, s->c.str.bytes, diff);
        y_dec d;
        y_dec_init(&d, e.data, e.len);
        size_t n;
        const char *str = y_dec_varstring(&d, &n);
        r->c.str.s = str ? dup_bytes(str, n) : NULL;
        r->c.str.bytes = n;
        y_enc_release(&e);
        if (!r->c.str.s)
            goto fail;
    } else if (s->ref == Y_REF_ANY || s->ref == Y_REF_JSON) {
        r->c.any.v = calloc(s->c.any.n - diff, sizeof(y_any));
        if (!r->c.any.v)
            goto fail;
        for (size_t k = diff; k < s->c.any.n; k++, r->c.any.n++)
            if (y_any_copy(&r->c.any.v[k - diff], &s->c.any.v[k]) != Y_OK)
                goto fail;
    }
    return r;
fail:
    y_item_free_decoded(r);
    return NULL;
}

int y_merge_updates(const uint8_t *const *updates, const size_t *lens, size_t n, uint8_t **out,
                    size_t *out_len)
{
    if (n == 0)
        return Y_EINVAL;
    if (n == 1) {
        /* One update is returned unchanged (after checking it). */
        int rc = y_update_validate(updates[0], lens[0]);
        if (rc)
            return rc;
        if (!(*out = malloc(lens[0] ? lens[0] : 1)))
            return Y_ENOMEM;
        memcpy(*out, updates[0], lens[0]);
        *out_len = lens[0];
        return Y_OK;
    }
    merge_reader *readers = calloc(n, sizeof *readers);
    merge_reader **live = calloc(n, sizeof *live);
    decoded made = {0}; /* slices and Skips made here, freed at the end */
    lazy_writer w = {Y_ENC_INIT, 0, Y_ENC_INIT, 0, 0};
    y_ds ds = {0};
    int rc = readers && live ? Y_OK : Y_ENOMEM;
    size_t nread = 0;
    for (; !rc && nread < n; nread++)
        rc = decode_update(updates[nread], lens[nread], &readers[nread].u);
    if (rc) {
        if (nread)
            nread--; /* the failed one holds nothing */
        goto done;
    }
    y_item *cw = NULL; /* currWrite */
    /* Readers sorted by (client desc, clock asc), ties in input order. Each step changes only
     * the front reader, so it is re-inserted by binary search; a stable sort (what yjs does
     * every step) would put it before the readers whose key equals its new one, and so does
     * inserting at the lower bound. */
    size_t nl = 0;
    for (size_t i = 0; i < n; i++)
        if (reader_curr(&readers[i])) {
            readers[i].order = i;
            live[nl++] = &readers[i];
        }
    qsort(live, nl, sizeof *live, cmp_readers);
    bool first_round = true;
    for (;;) {
        if (!first_round && nl) {
            merge_reader *moved = live[0];
            memmove(live, live + 1, (nl - 1) * sizeof *live);
            nl--;
            if (reader_curr(moved)) {
                const y_item *c = moved->u.items[moved->pos];
                size_t lo = 0, hi = nl;
                while (lo < hi) {
                    size_t mid = (lo + hi) / 2;
                    const merge_reader *m = live[mid];
                    const y_item *x = m->u.items[m->pos];
                    bool before = x->id.client > c->id.client ||
                                  (x->id.client == c->id.client && x->id.clock < c->id.clock);
                    if (before)
                        lo = mid + 1;
                    else
                        hi = mid;
                }
                memmove(live + lo + 1, live + lo, (nl - lo) * sizeof *live);
                live[lo] = moved;
                nl++;
            }
        }
        first_round = false;
        if (nl == 0)
            break;
        merge_reader *cur = live[0];
        uint64_t first_client = reader_curr(cur)->id.client;
        if (cw) {
            y_item *curr = reader_curr(cur);
            bool iterated = false;
            while (curr && curr->id.clock + curr->len <= cw->id.clock + cw->len &&
                   curr->id.client >= cw->id.client) {
                curr = reader_next(cur);
                iterated = true;
            }
            if (!curr || curr->id.client != first_client ||
                (iterated && curr->id.clock > cw->id.clock + cw->len))
                continue;
            if (first_client != cw->id.client) {
                lazy_write(&w, cw, 0);
                cw = curr;
                reader_next(cur);
            } else if (cw->id.clock + cw->len < curr->id.clock) {
                if (cw->ref == Y_REF_SKIP) {
                    /* yjs extends the Skip this way (to the end of curr). */
                    cw->len = curr->id.clock + curr->len - cw->id.clock;
                } else {
                    lazy_write(&w, cw, 0);
                    y_item *skip = y_item_new();
                    if (!skip || (rc = push_item(&made, skip))) {
                        free(skip);
                        rc = Y_ENOMEM;
                        break;
                    }
                    skip->ref = Y_REF_SKIP;
                    skip->decoded = true;
                    skip->id.client = first_client;
                    skip->id.clock = cw->id.clock + cw->len;
                    skip->len = curr->id.clock - cw->id.clock - cw->len;
                    cw = skip;
                }
            } else {
                uint64_t diff = cw->id.clock + cw->len - curr->id.clock;
                if (diff > 0) {
                    if (cw->ref == Y_REF_SKIP) {
                        cw->len -= diff; /* prefer slicing the Skip */
                    } else {
                        y_item *sl = slice_struct(curr, diff);
                        if (!sl || (rc = push_item(&made, sl))) {
                            y_item_free_decoded(sl);
                            rc = Y_ENOMEM;
                            break;
                        }
                        curr = sl;
                    }
                }
                /* Only GC+GC and Skip+Skip fuse; decoded Items never do. */
                bool merged =
                    (cw->ref == Y_REF_GC || cw->ref == Y_REF_SKIP) && cw->ref == curr->ref;
                if (merged) {
                    cw->len += curr->len;
                } else {
                    lazy_write(&w, cw, 0);
                    cw = curr;
                    reader_next(cur);
                }
            }
        } else {
            cw = reader_curr(cur);
            reader_next(cur);
        }
        for (y_item *next = reader_curr(cur);
             next && next->id.client == first_client && next->id.clock == cw->id.clock + cw->len &&
             next->ref != Y_REF_SKIP;
             next = reader_next(cur)) {
            lazy_write(&w, cw, 0);
            cw = next;
        }
    }
    if (!rc && cw)
        lazy_write(&w, cw, 0);
    lazy_flush(&w);
    for (size_t i = 0; !rc && i < n; i++)
        for (size_t c = 0; !rc && c < readers[i].u.ds.len; c++)
            for (size_t k = 0; !rc && k < readers[i].u.ds.c[c].len; k++)
                rc = y_ds_add(&ds, readers[i].u.ds.c[c].client, readers[i].u.ds.c[c].r[k].clock,
                              readers[i].u.ds.c[c].r[k].len);
    if (!rc) {
        y_ds_sort_merge(&ds);
        y_enc e = Y_ENC_INIT;
        y_enc_varuint(&e, w.nblocks);
        y_enc_raw(&e, w.blocks.data, w.blocks.len);
        y_ds_encode(&e, &ds);
        rc = w.blocks.oom || w.cur.oom ? Y_ENOMEM : y_enc_finish(&e, out, out_len);
        if (rc)
            y_enc_release(&e);
    }
done:
    for (size_t i = 0; readers && i < nread; i++)
        decoded_release(&readers[i].u);
    decoded_release(&made);
    y_ds_release(&ds);
    y_enc_release(&w.blocks);
    y_enc_release(&w.cur);
    free(readers);
    free(live);
    return rc;
}

/* yjs includes what waits for dependencies: mergeUpdates([state, pendingDs,
 * diffUpdate(pendingStructs, sv)]), pendingStructs being the waiting structs merged into one
 * update (sorted, deduplicated, Skips in the gaps). */
static int encode_state_with_pending(const y_doc *doc, const uint8_t *sv, size_t sv_len,
                                     uint8_t *state, size_t state_len, uint8_t **out,
                                     size_t *out_len)
{
    static const uint8_t empty_sv[] = {0};
    const uint8_t *parts[3];
    size_t lens[3], nparts = 0;
    uint8_t *ds_part = NULL, *pending = NULL, *diffed = NULL;
    size_t ds_len = 0, pending_len = 0, diffed_len = 0;
    uint8_t **minis = NULL;
    size_t *mini_lens = NULL;
    int rc = Y_OK;
    parts[nparts] = state;
    lens[nparts++] = state_len;
    if (doc->pending_ds.len) {
        y_enc e = Y_ENC_INIT;
        y_enc_varuint(&e, 0);
        y_ds_encode(&e, &doc->pending_ds);
        if ((rc = y_enc_finish(&e, &ds_part, &ds_len)))
            goto done;
        parts[nparts] = ds_part;
        lens[nparts++] = ds_len;
    }
    if (doc->npending) {
        minis = calloc(doc->npending, sizeof *minis);
        mini_lens = calloc(doc->npending, sizeof *mini_lens);
        if (!minis || !mini_lens) {
            rc = Y_ENOMEM;
            goto done;
        }
        for (size_t i = 0; i < doc->npending && !rc; i++) {
            const y_item *it = doc->pending[i];
            y_enc e = Y_ENC_INIT;
            y_enc_varuint(&e, 1);
            y_enc_varuint(&e, 1);
            y_enc_varuint(&e, it->id.client);
            y_enc_varuint(&e, it->id.clock);
            y_encode_item(&e, it, 0);
            y_enc_varuint(&e, 0);
            rc = y_enc_finish(&e, &minis[i], &mini_lens[i]);
        }
        if (!rc)
            rc = y_merge_updates((const uint8_t *const *)minis, mini_lens, doc->npending, &pending,
                                 &pending_len);
        if (!rc)
            rc = y_diff_update(pending, pending_len, sv ? sv : empty_sv, sv ? sv_len : 1, &diffed,
                               &diffed_len);
        if (rc)
            goto done;
        parts[nparts] = diffed;
        lens[nparts++] = diffed_len;
    }
    rc = y_merge_updates(parts, lens, nparts, out, out_len);
done:
    for (size_t i = 0; minis && i < doc->npending; i++)
        y_free(minis[i]);
    free(minis);
    free(mini_lens);
    y_free(ds_part);
    y_free(pending);
    y_free(diffed);
    return rc;
}
