/* store.c - the struct store, items (split, delete, merge, GC, YATA integration),
 * delete sets and transactions, following yjs 13.6 step by step so struct boundaries (and
 * therefore encoded bytes) match. */
#include <stdlib.h>
#include <string.h>

#include "ycrdt_int.h"

/* ---- store --------------------------------------------------------------------------- */

static long find_client(const y_doc *doc, uint64_t client)
{
    size_t lo = 0, hi = doc->nclients;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (doc->clients[mid].client < client)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < doc->nclients && doc->clients[lo].client == client ? (long)lo : -((long)lo + 1);
}

y_client_structs *y_store_client(y_doc *doc, uint64_t client, bool create)
{
    long i = find_client(doc, client);
    if (i >= 0)
        return &doc->clients[i];
    if (!create)
        return NULL;
    size_t at = (size_t)(-i - 1);
    if (doc->nclients == doc->capclients) {
        size_t cap = doc->capclients ? doc->capclients * 2 : 8;
        y_client_structs *c = realloc(doc->clients, cap * sizeof *c);
        if (!c)
            return NULL;
        doc->clients = c;
        doc->capclients = cap;
    }
    memmove(doc->clients + at + 1, doc->clients + at, (doc->nclients - at) * sizeof *doc->clients);
    memset(&doc->clients[at], 0, sizeof doc->clients[at]);
    doc->clients[at].client = client;
    doc->nclients++;
    return &doc->clients[at];
}

uint64_t y_store_state(const y_doc *doc, uint64_t client)
{
    long i = find_client(doc, client);
    if (i < 0 || doc->clients[i].len == 0)
        return 0;
    const y_item *last = doc->clients[i].items[doc->clients[i].len - 1];
    return last->id.clock + last->len;
}

static int insert_at(y_client_structs *cs, size_t at, y_item *it)
{
    if (cs->len == cs->cap) {
        size_t cap = cs->cap ? cs->cap * 2 : 16;
        y_item **items = realloc(cs->items, cap * sizeof *items);
        if (!items)
            return Y_ENOMEM;
        cs->items = items;
        cs->cap = cap;
    }
    memmove(cs->items + at + 1, cs->items + at, (cs->len - at) * sizeof *cs->items);
    cs->items[at] = it;
    cs->len++;
    return Y_OK;
}

int y_store_append(y_doc *doc, y_item *it)
{
    y_client_structs *cs = y_store_client(doc, it->id.client, true);
    if (!cs)
        return Y_ENOMEM;
    return insert_at(cs, cs->len, it);
}

long y_store_find_index(const y_client_structs *cs, uint64_t clock)
{
    if (!cs || cs->len == 0)
        return -1;
    size_t lo = 0, hi = cs->len - 1;
    const y_item *last = cs->items[hi];
    if (clock >= last->id.clock + last->len || clock < cs->items[0]->id.clock)
        return -1;
    /* A first guess proportional to the clock, as yjs does: updates are mostly dense. */
    size_t mid = (size_t)((double)clock / (double)(last->id.clock + last->len - 1 + 1) * hi);
    while (lo <= hi) {
        const y_item *s = cs->items[mid];
        if (s->id.clock <= clock) {
            if (clock < s->id.clock + s->len)
                return (long)mid;
            lo = mid + 1;
        } else {
            if (mid == 0)
                break;
            hi = mid - 1;
        }
        mid = (lo + hi) / 2;
    }
    return -1;
}

y_item *y_store_find(y_doc *doc, y_id id)
{
    y_client_structs *cs = y_store_client(doc, id.client, false);
    long i = y_store_find_index(cs, id.clock);
    return i < 0 ? NULL : cs->items[i];
}

y_item *y_store_clean_start(y_doc *doc, y_id id)
{
    y_client_structs *cs = y_store_client(doc, id.client, false);
    long i = y_store_find_index(cs, id.clock);
    if (i < 0)
        return NULL;
    y_item *s = cs->items[i];
    if (s->id.clock < id.clock && s->ref != Y_REF_GC)
        return y_item_split(doc, s, id.clock - s->id.clock);
    return s;
}

y_item *y_store_clean_end(y_doc *doc, y_id id)
{
    y_client_structs *cs = y_store_client(doc, id.client, false);
    long i = y_store_find_index(cs, id.clock);
    if (i < 0)
        return NULL;
    y_item *s = cs->items[i];
    if (id.clock != s->id.clock + s->len - 1 && s->ref != Y_REF_GC)
        y_item_split(doc, s, id.clock - s->id.clock + 1);
    return s;
}

/* ---- items ----------------------------------------------------------------------------- */

y_item *y_item_new(void)
{
    return calloc(1, sizeof(y_item));
}

void y_content_release(y_item *it)
{
    switch (it->ref) {
    case Y_REF_STRING:
        free(it->c.str.s);
        break;
    case Y_REF_ANY:
    case Y_REF_JSON:
        for (size_t i = 0; i < it->c.any.n; i++)
            y_any_release(&it->c.any.v[i]);
        free(it->c.any.v);
        break;
    case Y_REF_BINARY:
        free(it->c.bin.p);
        break;
    case Y_REF_EMBED:
        free(it->c.embed);
        break;
    case Y_REF_FORMAT:
        free(it->c.fmt.key);
        free(it->c.fmt.value);
        break;
    case Y_REF_DOC:
        free(it->c.doc.guid);
        y_any_release(&it->c.doc.opts);
        break;
    default:
        break; /* types are owned by the doc's type list */
    }
    memset(&it->c, 0, sizeof it->c);
}

void y_item_free(y_item *it)
{
    if (!it)
        return;
    y_content_release(it);
    free(it->parent_sub);
    free(it->parent_name);
    free(it);
}

bool y_item_countable(const y_item *it)
{
    return it->ref != Y_REF_DELETED && it->ref != Y_REF_FORMAT && it->ref != Y_REF_GC &&
           it->ref != Y_REF_SKIP;
}

/* Byte offset of UTF-16 unit offset units into UTF-8 s; *split_pair is set when the
 * offset falls between the two halves of a surrogate pair. */
static size_t utf8_offset(const char *s, size_t bytes, uint64_t units, bool *split_pair)
{
    size_t i = 0;
    uint64_t u = 0;
    *split_pair = false;
    while (i < bytes && u < units) {
        unsigned char c = (unsigned char)s[i];
        size_t n = c < 0x80 ? 1 : c < 0xe0 ? 2 : c < 0xf0 ? 3 : 4;
        if (n == 4 && u + 1 == units) {
            *split_pair = true;
            return i;
        }
        u += n == 4 ? 2 : 1;
        i += n;
    }
    return i;
}

static char *dupn(const char *s, size_t n)
{
    char *p = malloc(n + 1);
    if (p) {
        memcpy(p, s, n);
        p[n] = 0;
    }
    return p;
}

/* Split string content: left keeps [0, diff) units. A split inside a surrogate pair
 * replaces both halves with U+FFFD, as yjs's ContentString.splice does. */
static int split_string(y_item *left, y_item *right, uint64_t diff)
{
    bool pair;
    size_t at = utf8_offset(left->c.str.s, left->c.str.bytes, diff, &pair);
    const char *s = left->c.str.s;
    size_t n = left->c.str.bytes;
    char *l, *r;
    if (pair) {
        l = malloc(at + 4);
        r = malloc(n - (at + 4) + 4);
        if (!l || !r) {
            free(l);
            free(r);
            return Y_ENOMEM;
        }
        memcpy(l, s, at);
        memcpy(l + at, "\xef\xbf\xbd", 4);
        memcpy(r, "\xef\xbf\xbd", 3);
        memcpy(r + 3, s + at + 4, n - at - 4);
        r[n - at - 4 + 3] = 0;
        right->c.str.bytes = n - at - 4 + 3;
        left->c.str.bytes = at + 3;
    } else {
        l = dupn(s, at);
        r = dupn(s + at, n - at);
        if (!l || !r) {
            free(l);
            free(r);
            return Y_ENOMEM;
        }
        left->c.str.bytes = at;
        right->c.str.bytes = n - at;
    }
    free(left->c.str.s);
    left->c.str.s = l;
    left->c.str.cap = 0;
    right->c.str.s = r;
    right->c.str.cap = 0;
    return Y_OK;
}

y_item *y_item_split(y_doc *doc, y_item *it, uint64_t diff)
{
    y_item *r = y_item_new();
    if (!r)
        return NULL;
    r->id.client = it->id.client;
    r->id.clock = it->id.clock + diff;
    r->len = it->len - diff;
    r->ref = it->ref;
    r->deleted = it->deleted;
    r->keep = it->keep;
    r->has_origin = true;
    r->origin.client = it->id.client;
    r->origin.clock = it->id.clock + diff - 1;
    r->has_right_origin = it->has_right_origin;
    r->right_origin = it->right_origin;
    r->parent = it->parent;
    r->left = it;
    r->right = it->right;
    if (it->parent_sub && !(r->parent_sub = strdup(it->parent_sub))) {
        free(r);
        return NULL;
    }
    switch (it->ref) {
    case Y_REF_STRING:
        if (split_string(it, r, diff) != Y_OK) {
            y_item_free(r);
            return NULL;
        }
        break;
    case Y_REF_ANY:
    case Y_REF_JSON: {
        size_t n = it->c.any.n;
        r->c.any.v = malloc((n - diff) * sizeof(y_any));
        if (!r->c.any.v) {
            y_item_free(r);
            return NULL;
        }
        memcpy(r->c.any.v, it->c.any.v + diff, (n - diff) * sizeof(y_any));
        r->c.any.n = n - diff;
        it->c.any.n = diff;
        break;
    }
    default:
        break; /* Deleted: only lengths; other contents have length 1 and never split */
    }
    it->len = diff;
    if (r->right)
        r->right->left = r;
    it->right = r;
    if (r->parent_sub && !r->right)
        y_type_set_key(r->parent, r->parent_sub, r);
    y_client_structs *cs = y_store_client(doc, it->id.client, false);
    long i = y_store_find_index(cs, it->id.clock);
    insert_at(cs, (size_t)i + 1, r);
    y_txn_add_merge(doc, r);
    return r;
}

static uint64_t before_state(const y_txn *t, uint64_t client);

void y_item_delete(y_doc *doc, y_item *it)
{
    if (it->deleted)
        return;
    y_type *parent = it->parent;
    if (parent && y_item_countable(it) && !it->parent_sub)
        parent->length -= it->len;
    if (parent)
        parent->marker = NULL;
    it->deleted = true;
    y_ds_add(&doc->txn.ds, it->id.client, it->id.clock, it->len);
    doc->txn.changed = true;
    if (parent)
        y_txn_note_changed(doc, parent);
    if (it->ref == Y_REF_TYPE) {
        /* Children deleted before this transaction are not in its delete set, but they
         * are garbage collected with the type: yjs lists them for merging (ContentType
         * delete pushes them to _mergeStructs), so GC structs next to each other fuse. */
        y_type *t = it->c.type;
        for (y_item *c = t->start; c; c = c->right) {
            if (!c->deleted)
                y_item_delete(doc, c);
            else if (c->id.clock < before_state(&doc->txn, c->id.client))
                y_txn_add_merge(doc, c);
        }
        for (size_t k = 0; k < t->nkeys; k++) {
            y_item *c = t->keys[k].item;
            if (c && !c->deleted)
                y_item_delete(doc, c);
            else if (c && c->id.clock < before_state(&doc->txn, c->id.client))
                y_txn_add_merge(doc, c);
        }
    }
}

/* Turn an item into a GC struct in place (the struct store keeps the same pointer). */
static void to_gc(y_item *it)
{
    y_content_release(it);
    it->ref = Y_REF_GC;
    it->deleted = true;
    it->parent = NULL;
    free(it->parent_sub);
    it->parent_sub = NULL;
    it->has_origin = it->has_right_origin = false;
    it->left = it->right = NULL;
}

void y_item_gc(y_doc *doc, y_item *it, bool parent_gcd)
{
    if (it->ref == Y_REF_GC)
        return;
    if (it->ref == Y_REF_TYPE) {
        y_type *t = it->c.type;
        for (y_item *c = t->start, *next; c; c = next) {
            next = c->right;
            y_item_gc(doc, c, true);
        }
        t->start = NULL;
        for (size_t k = 0; k < t->nkeys; k++) {
            for (y_item *c = t->keys[k].item, *prev; c; c = prev) {
                prev = c->left;
                y_item_gc(doc, c, true);
            }
            free(t->keys[k].key);
        }
        free(t->keys);
        free(t->kidx);
        t->keys = NULL;
        t->kidx = NULL;
        t->nkeys = t->capkeys = t->kidx_cap = 0;
    }
    if (parent_gcd) {
        to_gc(it);
    } else {
        y_content_release(it);
        it->ref = Y_REF_DELETED;
    }
}

static bool same_opt_id(bool ha, y_id a, bool hb, y_id b)
{
    return ha == hb && (!ha || (a.client == b.client && a.clock == b.clock));
}

bool y_item_try_merge(y_doc *doc, y_item *l, y_item *r)
{
    (void)doc;
    if (l->ref == Y_REF_GC || r->ref == Y_REF_GC) {
        if (l->ref != r->ref)
            return false;
        l->len += r->len;
        return true;
    }
    y_id last = y_item_last_id(l);
    if (l->ref != r->ref || !r->has_origin || r->origin.client != last.client ||
        r->origin.clock != last.clock || l->right != r ||
        !same_opt_id(l->has_right_origin, l->right_origin, r->has_right_origin, r->right_origin) ||
        l->id.client != r->id.client || l->id.clock + l->len != r->id.clock ||
        l->deleted != r->deleted)
        return false;
    switch (l->ref) {
    case Y_REF_STRING: {
        /* Typing merges one character at a time: grow geometrically, not per merge. */
        size_t need = l->c.str.bytes + r->c.str.bytes + 1;
        size_t cap = l->c.str.cap ? l->c.str.cap : l->c.str.bytes + 1;
        if (need > cap) {
            size_t ncap = cap * 2 > need ? cap * 2 : need;
            char *s = realloc(l->c.str.s, ncap);
            if (!s)
                return false;
            l->c.str.s = s;
            l->c.str.cap = ncap;
        }
        memcpy(l->c.str.s + l->c.str.bytes, r->c.str.s, r->c.str.bytes + 1);
        l->c.str.bytes += r->c.str.bytes;
        break;
    }
    case Y_REF_ANY:
    case Y_REF_JSON: {
        y_any *v = realloc(l->c.any.v, (l->c.any.n + r->c.any.n) * sizeof *v);
        if (!v)
            return false;
        memcpy(v + l->c.any.n, r->c.any.v, r->c.any.n * sizeof *v);
        l->c.any.v = v;
        l->c.any.n += r->c.any.n;
        r->c.any.n = 0; /* values moved */
        break;
    }
    case Y_REF_DELETED:
        break;
    default:
        return false;
    }
    if (r->keep)
        l->keep = true;
    l->right = r->right;
    if (l->right)
        l->right->left = l;
    l->len += r->len;
    return true;
}

/* Merge structs[pos] into its left neighbours as far as possible; returns the number of
 * structs removed (yjs tryToMergeWithLefts). */
static size_t merge_with_lefts(y_doc *doc, y_client_structs *cs, size_t pos)
{
    size_t i = pos;
    y_item *right = cs->items[pos];
    for (; i > 0; i--) {
        y_item *left = cs->items[i - 1];
        if (left->deleted != right->deleted || (left->ref == Y_REF_GC) != (right->ref == Y_REF_GC))
            break;
        uint64_t left_live = !left->deleted && y_item_countable(left) ? left->len : 0;
        if (!y_item_try_merge(doc, left, right))
            break;
        /* A marker on the absorbed item moves to the merged one, which starts earlier. */
        if (right->parent && right->parent->marker == right) {
            right->parent->marker = left;
            right->parent->marker_index -= left_live;
        }
        if (right->parent_sub && right->parent &&
            y_type_get_key(right->parent, right->parent_sub) == right)
            y_type_set_key(right->parent, right->parent_sub, left);
        y_item_free(right);
        right = left;
    }
    size_t merged = pos - i;
    if (merged) {
        memmove(cs->items + pos + 1 - merged, cs->items + pos + 1,
                (cs->len - pos - 1) * sizeof *cs->items);
        cs->len -= merged;
    }
    return merged;
}

int y_item_integrate(y_doc *doc, y_item *it, uint64_t offset)
{
    if (offset > 0) {
        it->id.clock += offset;
        y_id prev = {it->id.client, it->id.clock - 1};
        it->left = y_store_clean_end(doc, prev);
        it->has_origin = true;
        it->origin = y_item_last_id(it->left);
        /* Cut the first offset units of the content. */
        if (it->ref == Y_REF_STRING) {
            bool pair;
            size_t at = utf8_offset(it->c.str.s, it->c.str.bytes, offset, &pair);
            char *s = pair ? malloc(it->c.str.bytes - at - 4 + 4)
                           : dupn(it->c.str.s + at, it->c.str.bytes - at);
            if (!s)
                return Y_ENOMEM;
            if (pair) {
                memcpy(s, "\xef\xbf\xbd", 3);
                memcpy(s + 3, it->c.str.s + at + 4, it->c.str.bytes - at - 4 + 1);
                it->c.str.bytes = it->c.str.bytes - at - 4 + 3;
            } else {
                it->c.str.bytes -= at;
            }
            free(it->c.str.s);
            it->c.str.s = s;
        } else if (it->ref == Y_REF_ANY || it->ref == Y_REF_JSON) {
            for (uint64_t k = 0; k < offset; k++)
                y_any_release(&it->c.any.v[k]);
            memmove(it->c.any.v, it->c.any.v + offset, (it->c.any.n - offset) * sizeof(y_any));
            it->c.any.n -= offset;
        }
        it->len -= offset;
    }
    y_type *parent = it->parent;
    if (!parent) {
        /* No parent (it or its neighbours were garbage collected): store a GC struct. */
        to_gc(it);
        return y_store_append(doc, it);
    }
    parent->marker = NULL;
    y_item *left = it->left, *right = it->right;
    if ((!left && (!right || right->left)) || (left && left->right != right)) {
        y_item *o;
        if (left)
            o = left->right;
        else if (it->parent_sub) {
            o = y_type_get_key(parent, it->parent_sub);
            while (o && o->left)
                o = o->left;
        } else
            o = parent->start;
        /* Items seen since the scan start / since the last accepted position; small sets,
         * kept as arrays (conflicts are short in practice). */
        y_item **before = NULL, **conflicting = NULL;
        size_t nb = 0, nc = 0, cap = 0;
        while (o && o != right) {
            if (nb == cap) {
                cap = cap ? cap * 2 : 16;
                y_item **b2 = realloc(before, cap * sizeof *b2), **c2;
                if (!b2) {
                    free(before);
                    free(conflicting);
                    return Y_ENOMEM;
                }
                before = b2;
                c2 = realloc(conflicting, cap * sizeof *c2);
                if (!c2) {
                    free(before);
                    free(conflicting);
                    return Y_ENOMEM;
                }
                conflicting = c2;
            }
            before[nb++] = o;
            conflicting[nc++] = o;
            if (same_opt_id(it->has_origin, it->origin, o->has_origin, o->origin)) {
                if (o->id.client < it->id.client) {
                    left = o;
                    nc = 0;
                } else if (same_opt_id(it->has_right_origin, it->right_origin, o->has_right_origin,
                                       o->right_origin)) {
                    break;
                }
            } else if (o->has_origin) {
                y_item *oi = y_store_find(doc, o->origin);
                bool in_before = false, in_conf = false;
                for (size_t k = 0; oi && k < nb && !in_before; k++)
                    in_before = before[k] == oi;
                if (!in_before)
                    break;
                for (size_t k = 0; k < nc && !in_conf; k++)
                    in_conf = conflicting[k] == oi;
                if (!in_conf) {
                    left = o;
                    nc = 0;
                }
            } else {
                break;
            }
            o = o->right;
        }
        free(before);
        free(conflicting);
        it->left = left;
    }
    if (it->left) {
        it->right = it->left->right;
        it->left->right = it;
    } else {
        y_item *r;
        if (it->parent_sub) {
            r = y_type_get_key(parent, it->parent_sub);
            while (r && r->left)
                r = r->left;
        } else {
            r = parent->start;
            parent->start = it;
        }
        it->right = r;
    }
    if (it->right) {
        it->right->left = it;
    } else if (it->parent_sub) {
        if (y_type_set_key(parent, it->parent_sub, it) != Y_OK)
            return Y_ENOMEM;
        if (it->left)
            y_item_delete(doc, it->left); /* the previous value of the key */
    }
    if (!it->parent_sub && y_item_countable(it) && !it->deleted)
        parent->length += it->len;
    int rc = y_store_append(doc, it);
    if (rc)
        return rc;
    doc->txn.changed = true;
    if (it->ref == Y_REF_DELETED) {
        y_ds_add(&doc->txn.ds, it->id.client, it->id.clock, it->len);
        it->deleted = true;
    } else if (it->ref == Y_REF_TYPE) {
        it->c.type->item = it;
    } else if (it->ref == Y_REF_FORMAT) {
        parent->has_formatting = true;
        parent->any_format = true;
        if (!it->c.fmt.ident)
            it->c.fmt.ident = ++doc->next_ident;
    }
    y_txn_note_changed(doc, parent);
    if ((parent->item && parent->item->deleted) || (it->parent_sub && it->right))
        y_item_delete(doc, it);
    return Y_OK;
}

/* ---- delete sets ------------------------------------------------------------------------ */

int y_ds_add(y_ds *ds, uint64_t client, uint64_t clock, uint64_t len)
{
    y_ds_client *c = NULL;
    for (size_t i = 0; i < ds->len; i++)
        if (ds->c[i].client == client)
            c = &ds->c[i];
    if (!c) {
        if (ds->len == ds->cap) {
            size_t cap = ds->cap ? ds->cap * 2 : 4;
            y_ds_client *n = realloc(ds->c, cap * sizeof *n);
            if (!n)
                return Y_ENOMEM;
            ds->c = n;
            ds->cap = cap;
        }
        c = &ds->c[ds->len++];
        memset(c, 0, sizeof *c);
        c->client = client;
    }
    if (c->len && c->r[c->len - 1].clock + c->r[c->len - 1].len == clock) {
        c->r[c->len - 1].len += len; /* the common case: extend the last range */
        return Y_OK;
    }
    if (c->len == c->cap) {
        size_t cap = c->cap ? c->cap * 2 : 8;
        y_range *r = realloc(c->r, cap * sizeof *r);
        if (!r)
            return Y_ENOMEM;
        c->r = r;
        c->cap = cap;
    }
    c->r[c->len].clock = clock;
    c->r[c->len].len = len;
    c->len++;
    return Y_OK;
}

static int cmp_range(const void *a, const void *b)
{
    const y_range *x = a, *y = b;
    return x->clock < y->clock ? -1 : x->clock > y->clock;
}

static int cmp_ds_client_desc(const void *a, const void *b)
{
    const y_ds_client *x = a, *y = b;
    return x->client > y->client ? -1 : x->client < y->client;
}

void y_ds_sort_merge(y_ds *ds)
{
    y_ds_merge_ranges(ds);
    if (ds->len > 1)
        qsort(ds->c, ds->len, sizeof *ds->c, cmp_ds_client_desc);
}

void y_ds_merge_ranges(y_ds *ds)
{
    for (size_t i = 0; i < ds->len; i++) {
        y_ds_client *c = &ds->c[i];
        if (c->len < 2)
            continue;
        qsort(c->r, c->len, sizeof *c->r, cmp_range);
        size_t w = 0;
        for (size_t k = 1; k < c->len; k++) {
            y_range *l = &c->r[w];
            if (l->clock + l->len >= c->r[k].clock) {
                uint64_t end = c->r[k].clock + c->r[k].len;
                if (end > l->clock + l->len)
                    l->len = end - l->clock;
            } else {
                c->r[++w] = c->r[k];
            }
        }
        c->len = w + 1;
    }
}

void y_ds_sort_clients(y_ds *ds)
{
    if (ds->len > 1)
        qsort(ds->c, ds->len, sizeof *ds->c, cmp_ds_client_desc);
}

void y_ds_release(y_ds *ds)
{
    for (size_t i = 0; i < ds->len; i++)
        free(ds->c[i].r);
    free(ds->c);
    memset(ds, 0, sizeof *ds);
}

void y_ds_encode(y_enc *e, const y_ds *ds)
{
    size_t n = 0;
    for (size_t i = 0; i < ds->len; i++)
        n += ds->c[i].len > 0;
    y_enc_varuint(e, n);
    for (size_t i = 0; i < ds->len; i++) {
        if (!ds->c[i].len)
            continue;
        y_enc_varuint(e, ds->c[i].client);
        y_enc_varuint(e, ds->c[i].len);
        for (size_t k = 0; k < ds->c[i].len; k++) {
            y_enc_varuint(e, ds->c[i].r[k].clock);
            y_enc_varuint(e, ds->c[i].r[k].len);
        }
    }
}

int y_ds_from_store(const y_doc *doc, y_ds *out)
{
    memset(out, 0, sizeof *out);
    for (size_t c = 0; c < doc->nclients; c++) {
        const y_client_structs *cs = &doc->clients[c];
        for (size_t i = 0; i < cs->len; i++) {
            const y_item *s = cs->items[i];
            if (!s->deleted)
                continue;
            uint64_t clock = s->id.clock, len = s->len;
            while (i + 1 < cs->len && cs->items[i + 1]->deleted)
                len += cs->items[++i]->len;
            if (y_ds_add(out, cs->client, clock, len) != Y_OK) {
                y_ds_release(out);
                return Y_ENOMEM;
            }
        }
    }
    if (out->len > 1)
        qsort(out->c, out->len, sizeof *out->c, cmp_ds_client_desc);
    return Y_OK;
}

/* ---- transactions ------------------------------------------------------------------------ */

int y_txn_add_merge(y_doc *doc, y_item *it)
{
    y_txn *t = &doc->txn;
    if (t->nmerge == t->capmerge) {
        size_t cap = t->capmerge ? t->capmerge * 2 : 16;
        y_id *m = realloc(t->merge, cap * sizeof *m);
        if (!m)
            return Y_ENOMEM;
        t->merge = m;
        t->capmerge = cap;
    }
    t->merge[t->nmerge++] = it->id;
    return Y_OK;
}

int y_txn_begin(y_doc *doc, const void *origin, bool local)
{
    y_txn *t = &doc->txn;
    if (t->depth++ > 0)
        return Y_OK;
    t->origin = origin;
    t->local = local;
    t->changed = false;
    t->nmerge = 0;
    t->nchanged = 0;
    t->nbefore = doc->nclients;
    t->before = doc->nclients ? malloc(doc->nclients * sizeof *t->before) : NULL;
    if (doc->nclients && !t->before) {
        t->depth = 0;
        return Y_ENOMEM;
    }
    for (size_t i = 0; i < doc->nclients; i++) {
        t->before[i].client = doc->clients[i].client;
        t->before[i].clock = y_store_state(doc, doc->clients[i].client);
    }
    return Y_OK;
}

static uint64_t before_state(const y_txn *t, uint64_t client)
{
    for (size_t i = 0; i < t->nbefore; i++)
        if (t->before[i].client == client)
            return t->before[i].clock;
    return 0;
}

void y_txn_note_changed(y_doc *doc, y_type *t)
{
    y_txn *x = &doc->txn;
    if (t->txn_changed || x->depth == 0)
        return;
    /* yjs records a type only when it is a root or existed before the transaction and is
     * alive; the formatting cleanup looks only at such types. */
    if (t->item && (t->item->id.clock >= before_state(x, t->item->id.client) || t->item->deleted))
        return;
    if (x->nchanged == x->capchanged) {
        size_t cap = x->capchanged ? x->capchanged * 2 : 8;
        y_type **n = realloc(x->changed_types, cap * sizeof *n);
        if (!n)
            return; /* only a missed cleanup, which yjs also tolerates */
        x->changed_types = n;
        x->capchanged = cap;
    }
    t->txn_changed = true;
    x->changed_types[x->nchanged++] = t;
}

/* Whether yjs would set transaction._needFormattingCleanup: a remote transaction changed
 * a formatted text whose observer is called (it is a root or its item is alive). Clears
 * the list. */
static bool take_changed_types(y_txn *t)
{
    bool need = false;
    for (size_t i = 0; i < t->nchanged; i++) {
        y_type *ty = t->changed_types[i];
        ty->txn_changed = false;
        if (ty->kind_known && (ty->kind == Y_TEXT || ty->kind == Y_XML_TEXT) &&
            ty->has_formatting && (!ty->item || !ty->item->deleted))
            need = true;
    }
    t->nchanged = 0;
    return need && !t->local;
}

/* Emit the v1 update of the transaction: new structs from the before-state, then the
 * transaction's delete set. Y_ENOMEM when it could not be encoded: the observers (which
 * store the updates) never saw a change the doc holds, so the caller must know. */
static int emit_update(y_doc *doc)
{
    y_txn *t = &doc->txn;
    y_enc e = Y_ENC_INIT;
    int rc = y_encode_update_from(doc, t->before, t->nbefore, &e);
    if (rc == Y_OK)
        y_ds_encode(&e, &t->ds);
    if (rc == Y_OK && e.oom)
        rc = Y_ENOMEM;
    for (size_t i = 0; rc == Y_OK && i < doc->nobs; i++)
        doc->obs[i].fn(doc->obs[i].user, e.data, e.len, t->origin);
    y_enc_release(&e);
    return rc;
}

int y_txn_end(y_doc *doc)
{
    y_txn *t = &doc->txn;
    if (t->depth == 0)
        return Y_ESTATE;
    if (--t->depth > 0)
        return Y_OK;
    int rc = Y_OK;
    y_ds cleanup_ds = {0};
    bool cleanup = take_changed_types(t);
    y_ds_merge_ranges(&t->ds);
    if (cleanup) {
        /* yjs runs the formatting cleanup after the observers, in a new transaction that
         * is finished after this one: its deletions are collected apart and committed
         * below, with their own update. */
        y_ds ds = t->ds;
        memset(&t->ds, 0, sizeof t->ds);
        rc = y_text_cleanup_after_txn(doc, &ds, t->before, t->nbefore);
        cleanup_ds = t->ds;
        t->ds = ds;
    }
    y_ds_sort_clients(&t->ds);
    /* 1. Garbage-collect what this transaction deleted. */
    if (doc->gc) {
        for (size_t i = 0; i < t->ds.len; i++) {
            y_client_structs *cs = y_store_client(doc, t->ds.c[i].client, false);
            for (size_t k = t->ds.c[i].len; cs && k-- > 0;) {
                y_range r = t->ds.c[i].r[k];
                long si = y_store_find_index(cs, r.clock);
                for (size_t s = si < 0 ? cs->len : (size_t)si;
                     s < cs->len && cs->items[s]->id.clock < r.clock + r.len; s++) {
                    y_item *it = cs->items[s];
                    if (it->ref != Y_REF_GC && it->deleted && !it->keep)
                        y_item_gc(doc, it, false);
                }
            }
        }
    }
    /* 2. Merge inside the deleted ranges, right to left. */
    for (size_t i = 0; i < t->ds.len; i++) {
        y_client_structs *cs = y_store_client(doc, t->ds.c[i].client, false);
        for (size_t k = t->ds.c[i].len; cs && k-- > 0;) {
            y_range r = t->ds.c[i].r[k];
            long last = y_store_find_index(cs, r.clock + r.len - 1);
            long si = (long)cs->len - 1;
            if (last >= 0 && last + 1 < si)
                si = last + 1;
            while (si > 0 && cs->items[si]->id.clock >= r.clock)
                si -= 1 + (long)merge_with_lefts(doc, cs, (size_t)si);
        }
    }
    /* 3. Clients whose clock advanced: merge from the old state to the end. */
    for (size_t c = 0; c < doc->nclients; c++) {
        y_client_structs *cs = &doc->clients[c];
        uint64_t before = before_state(t, cs->client);
        if (before == y_store_state(doc, cs->client))
            continue;
        long first = y_store_find_index(cs, before);
        long from = first < 1 ? 1 : first;
        for (long i = (long)cs->len - 1; i >= from;)
            i -= 1 + (long)merge_with_lefts(doc, cs, (size_t)i);
    }
    /* 4. Split-off parts, newest first. */
    for (size_t m = t->nmerge; m-- > 0;) {
        y_id id = t->merge[m];
        y_client_structs *cs = y_store_client(doc, id.client, false);
        long pos = y_store_find_index(cs, id.clock);
        if (pos < 0)
            continue;
        if ((size_t)pos + 1 < cs->len && merge_with_lefts(doc, cs, (size_t)pos + 1) > 1)
            continue;
        if (pos > 0)
            merge_with_lefts(doc, cs, (size_t)pos);
    }
    /* 5. The update of this transaction. */
    bool advanced = false;
    for (size_t c = 0; c < doc->nclients && !advanced; c++)
        advanced =
            before_state(t, doc->clients[c].client) != y_store_state(doc, doc->clients[c].client);
    if (doc->nobs && (advanced || t->ds.len)) {
        int erc = emit_update(doc);
        if (!rc)
            rc = erc;
    }
    y_ds_release(&t->ds);
    free(t->before);
    t->before = NULL;
    t->nbefore = 0;
    t->nmerge = 0;
    if (cleanup) {
        int brc = y_txn_begin(doc, NULL, true);
        if (brc) {
            y_ds_release(&cleanup_ds);
            return rc ? rc : brc;
        }
        t->ds = cleanup_ds;
        int erc = y_txn_end(doc);
        if (!rc)
            rc = erc;
    }
    return rc;
}
