/* text.c - Y.Text: positions, inserts and deletes, formatting attributes, embeds, the delta
 * reader and the formatting cleanup, following yjs 13.6 YText step by step (the Format
 * items these create and delete decide the bytes of every update). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ycrdt_int.h"

/* ---- attribute values and maps --------------------------------------------------------- */

/* A formatting value as yjs holds it: JSON text plus the identity yjs's `===` sees for
 * objects. json == NULL stands for `undefined` (a missing key). */
typedef struct fval {
    const char *json;
    uint64_t ident;
} fval;

static const fval FV_NULL = {"null", 0};
static const fval FV_UNDEFINED = {NULL, 0};

static bool fv_is_null(fval v)
{
    return v.json && !strcmp(v.json, "null");
}

static fval fv_or_null(fval v) /* JS `v ?? null` */
{
    return v.json ? v : FV_NULL;
}

static const char *skip_ws(const char *p)
{
    while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')
        p++;
    return p;
}

static bool fv_is_object(fval v) /* typeof v === 'object' && v !== null */
{
    if (!v.json)
        return false;
    const char *p = skip_ws(v.json);
    return *p == '{' || *p == '[';
}

/* JS `a === b`: primitives by value, objects by reference. */
static bool fv_strict_equal(fval a, fval b)
{
    if (!a.json || !b.json)
        return a.json == b.json;
    bool oa = fv_is_object(a), ob = fv_is_object(b);
    if (oa || ob)
        return oa && ob && a.ident == b.ident;
    return !strcmp(a.json, b.json);
}

/* End of the JSON value that starts at p (p itself on malformed text). */
static const char *skip_value(const char *p)
{
    p = skip_ws(p);
    if (*p == '"') {
        for (p++; *p && *p != '"'; p++)
            if (*p == '\\' && p[1])
                p++;
        return *p ? p + 1 : p;
    }
    if (*p == '{' || *p == '[') {
        int depth = 0;
        for (; *p; p++) {
            if (*p == '"') {
                p = skip_value(p) - 1;
            } else if (*p == '{' || *p == '[') {
                depth++;
            } else if (*p == '}' || *p == ']') {
                if (--depth == 0)
                    return p + 1;
            }
        }
        return p;
    }
    while (*p && *p != ',' && *p != '}' && *p != ']' && *p != ' ' && *p != '\n' && *p != '\t' &&
           *p != '\r')
        p++;
    return p;
}

/* A top-level member of an object (key = the quoted key text) or array (key = index). */
typedef struct jmember {
    const char *key, *val;
    size_t klen, vlen;
    size_t index;
} jmember;

/* Members of the object or array text j; returns the count, or -1 if there are more than
 * max or the text is malformed. */
static long json_members(const char *j, jmember *m, size_t max)
{
    const char *p = skip_ws(j);
    bool arr = *p == '[';
    char close = arr ? ']' : '}';
    size_t n = 0;
    p = skip_ws(p + 1);
    if (*p == close)
        return 0;
    for (;;) {
        if (n == max)
            return -1;
        jmember *x = &m[n];
        x->index = n;
        x->key = NULL;
        x->klen = 0;
        if (!arr) {
            if (*p != '"')
                return -1;
            const char *e = skip_value(p);
            x->key = p;
            x->klen = (size_t)(e - p);
            p = skip_ws(e);
            if (*p != ':')
                return -1;
            p = skip_ws(p + 1);
        }
        const char *e = skip_value(p);
        if (e == p)
            return -1;
        x->val = p;
        x->vlen = (size_t)(e - p);
        n++;
        p = skip_ws(e);
        if (*p == close)
            return (long)n;
        if (*p != ',')
            return -1;
        p = skip_ws(p + 1);
    }
}

static bool member_key_equal(const jmember *a, bool a_arr, const jmember *b, bool b_arr)
{
    char ka[32], kb[32];
    const char *pa = a->key, *pb = b->key;
    size_t la = a->klen, lb = b->klen;
    if (a_arr) {
        la = (size_t)snprintf(ka, sizeof ka, "\"%zu\"", a->index);
        pa = ka;
    }
    if (b_arr) {
        lb = (size_t)snprintf(kb, sizeof kb, "\"%zu\"", b->index);
        pb = kb;
    }
    return la == lb && !memcmp(pa, pb, la);
}

/* Two member values under `===`: nested objects are distinct references, numbers compare
 * by value, other primitives by their (canonical) text. */
static bool member_val_equal(const jmember *a, const jmember *b)
{
    char ca = a->val[0], cb = b->val[0];
    if (ca == '{' || ca == '[' || cb == '{' || cb == '[')
        return false;
    bool na = ca == '-' || (ca >= '0' && ca <= '9'), nb = cb == '-' || (cb >= '0' && cb <= '9');
    if (na || nb)
        return na && nb && strtod(a->val, NULL) == strtod(b->val, NULL);
    return a->vlen == b->vlen && !memcmp(a->val, b->val, a->vlen);
}

/* lib0 object.equalFlat for two objects: same number of keys, every member `===`. */
static bool equal_flat(fval a, fval b)
{
    enum { MAXM = 64 };
    jmember ma[MAXM], mb[MAXM];
    long na = json_members(a.json, ma, MAXM), nb = json_members(b.json, mb, MAXM);
    if (na < 0 || nb < 0 || na != nb)
        return false;
    bool aa = *skip_ws(a.json) == '[', ba = *skip_ws(b.json) == '[';
    for (long i = 0; i < na; i++) {
        long k = 0;
        while (k < nb && !member_key_equal(&ma[i], aa, &mb[k], ba))
            k++;
        if (k == nb || !member_val_equal(&ma[i], &mb[k]))
            return false;
    }
    return true;
}

/* yjs equalAttrs: `===`, or two objects that are equal one level deep. */
static bool equal_attrs(fval a, fval b)
{
    if (fv_strict_equal(a, b))
        return true;
    return fv_is_object(a) && fv_is_object(b) && equal_flat(a, b);
}

static fval item_val(const y_item *f)
{
    fval v = {f->c.fmt.value, f->c.fmt.ident};
    return v;
}

/* A JS Map (insertion order) or, with object set, a JS object (array-index keys first,
 * ascending, then insertion order) from attribute names to values. Keys and JSON texts
 * are borrowed (from items, or from the caller's attributes). */
typedef struct amap {
    const char **keys;
    fval *vals;
    size_t len, cap;
    bool object;
    bool oom;
} amap;

static long amap_find(const amap *m, const char *key)
{
    for (size_t i = 0; i < m->len; i++)
        if (!strcmp(m->keys[i], key))
            return (long)i;
    return -1;
}

static fval amap_get(const amap *m, const char *key)
{
    long i = amap_find(m, key);
    return i < 0 ? FV_UNDEFINED : m->vals[i];
}

static void amap_set(amap *m, const char *key, fval v)
{
    long i = amap_find(m, key);
    if (i >= 0) {
        m->vals[i] = v;
        return;
    }
    if (m->len == m->cap) {
        size_t cap = m->cap ? m->cap * 2 : 8;
        const char **k = realloc(m->keys, cap * sizeof *k);
        if (!k) {
            m->oom = true;
            return;
        }
        m->keys = k;
        fval *vs = realloc(m->vals, cap * sizeof *vs);
        if (!vs) {
            m->oom = true;
            return;
        }
        m->vals = vs;
        m->cap = cap;
    }
    size_t at = m->len;
    uint64_t idx, other;
    if (m->object && y_js_index_key(key, &idx)) {
        at = 0;
        while (at < m->len && y_js_index_key(m->keys[at], &other) && other < idx)
            at++;
        memmove(m->keys + at + 1, m->keys + at, (m->len - at) * sizeof *m->keys);
        memmove(m->vals + at + 1, m->vals + at, (m->len - at) * sizeof *m->vals);
    }
    m->keys[at] = key;
    m->vals[at] = v;
    m->len++;
}

static void amap_del(amap *m, const char *key)
{
    long i = amap_find(m, key);
    if (i < 0)
        return;
    memmove(m->keys + i, m->keys + i + 1, (m->len - (size_t)i - 1) * sizeof *m->keys);
    memmove(m->vals + i, m->vals + i + 1, (m->len - (size_t)i - 1) * sizeof *m->vals);
    m->len--;
}

static void amap_release(amap *m)
{
    free(m->keys);
    free(m->vals);
    memset(m, 0, sizeof *m);
}

/* dst (emptied first) gets src's entries, in src's order or as a JS object would hold them. */
static void amap_assign(amap *dst, const amap *src)
{
    dst->len = 0;
    for (size_t i = 0; i < src->len; i++)
        amap_set(dst, src->keys[i], src->vals[i]);
    if (src->oom)
        dst->oom = true;
}

/* yjs updateCurrentAttributes. */
static void update_attrs(amap *m, const y_item *f)
{
    fval v = item_val(f);
    if (fv_is_null(v))
        amap_del(m, f->c.fmt.key);
    else
        amap_set(m, f->c.fmt.key, v);
}

/* ---- positions --------------------------------------------------------------------------- */

/* yjs ItemTextListPosition. */
typedef struct tpos {
    y_item *left, *right;
    uint64_t index;
    amap cur; /* currentAttributes */
    int rc;   /* first error */
} tpos;

static void pos_forward(tpos *p)
{
    y_item *r = p->right;
    if (r->ref == Y_REF_FORMAT) {
        if (!r->deleted)
            update_attrs(&p->cur, r);
    } else if (!r->deleted) {
        p->index += r->len;
    }
    p->left = r;
    p->right = r->right;
}

/* Split r so that a new item starts count units into it. */
static int split_at(y_doc *doc, y_item *r, uint64_t count)
{
    y_id id = {r->id.client, r->id.clock + count};
    return y_store_clean_start(doc, id) ? Y_OK : Y_ENOMEM;
}

/* yjs findNextPosition. */
static void find_next(y_doc *doc, tpos *p, uint64_t count)
{
    while (p->right && count > 0) {
        y_item *r = p->right;
        if (r->ref == Y_REF_FORMAT) {
            if (!r->deleted)
                update_attrs(&p->cur, r);
        } else if (!r->deleted) {
            if (count < r->len && (p->rc = split_at(doc, r, count)))
                return;
            p->index += r->len;
            count -= r->len;
        }
        p->left = r;
        p->right = r->right;
    }
}

/* yjs findPosition. The position marker stands in for yjs's search markers, which yjs
 * only uses for texts without formatting (where the attributes met on the way are empty
 * anyway) and never when attributes are given. */
static tpos find_position(y_doc *doc, y_type *t, uint64_t index, bool use_marker)
{
    tpos p;
    memset(&p, 0, sizeof p);
    p.right = t->start;
    if (use_marker && !t->has_formatting && t->marker) {
        /* Start at the marker, stepping back over whole items while it lies past index;
         * walking forward from any item boundary before index reaches the same (left,
         * right) as walking from the start. */
        y_item *r = t->marker;
        uint64_t at = t->marker_index;
        while (r && at > index) {
            r = r->left;
            if (r && !r->deleted && y_item_countable(r))
                at -= r->len;
        }
        if (r) {
            p.left = r->left;
            p.right = r;
            p.index = at;
        }
    }
    find_next(doc, &p, index - p.index);
    return p;
}

/* ---- inserting ----------------------------------------------------------------------------- */

static int insert_format(y_doc *doc, y_type *t, tpos *p, const char *key, fval v)
{
    y_item *f = y_local_item(doc, p->left, p->right, t, NULL);
    if (!f)
        return Y_ENOMEM;
    f->ref = Y_REF_FORMAT;
    f->len = 1;
    f->c.fmt.key = strdup(key);
    f->c.fmt.value = strdup(v.json);
    f->c.fmt.ident = v.ident; /* the same value object as its source */
    if (!f->c.fmt.key || !f->c.fmt.value) {
        y_item_free(f);
        return Y_ENOMEM;
    }
    if (!f->c.fmt.ident)
        f->c.fmt.ident = ++doc->next_ident;
    int rc = y_integrate_local(doc, f);
    if (rc)
        return rc;
    p->right = f;
    pos_forward(p);
    return Y_OK;
}

/* yjs minimizeAttributeChanges: step over tombstones and formats that already hold the
 * wanted value. */
static void minimize_attribute_changes(tpos *p, const amap *attrs)
{
    while (p->right) {
        y_item *r = p->right;
        if (!r->deleted && !(r->ref == Y_REF_FORMAT &&
                             equal_attrs(fv_or_null(amap_get(attrs, r->c.fmt.key)), item_val(r))))
            break;
        pos_forward(p);
    }
}

/* yjs insertAttributes: a Format item for each attribute that differs from the current
 * one; neg receives what must be restored afterwards. */
static int insert_attributes(y_doc *doc, y_type *t, tpos *p, const amap *attrs, amap *neg)
{
    for (size_t i = 0; i < attrs->len; i++) {
        const char *key = attrs->keys[i];
        fval cur = fv_or_null(amap_get(&p->cur, key));
        if (equal_attrs(cur, attrs->vals[i]))
            continue;
        amap_set(neg, key, cur);
        int rc = insert_format(doc, t, p, key, attrs->vals[i]);
        if (rc)
            return rc;
    }
    return Y_OK;
}

/* yjs insertNegatedAttributes. */
static int insert_negated_attributes(y_doc *doc, y_type *t, tpos *p, amap *neg)
{
    while (p->right) {
        y_item *r = p->right;
        if (!r->deleted &&
            !(r->ref == Y_REF_FORMAT && equal_attrs(amap_get(neg, r->c.fmt.key), item_val(r))))
            break;
        if (!r->deleted)
            amap_del(neg, r->c.fmt.key);
        pos_forward(p);
    }
    for (size_t i = 0; i < neg->len; i++) {
        int rc = insert_format(doc, t, p, neg->keys[i], neg->vals[i]);
        if (rc)
            return rc;
    }
    return Y_OK;
}

/* What insert_content creates: a string or an embed (JSON text). */
typedef struct content {
    uint8_t ref;
    const char *data;
    size_t len;
} content;

/* yjs insertText (for strings and embeds). attrs is the JS attributes object; it gains a
 * null for every current attribute it does not name. */
static int insert_content(y_doc *doc, y_type *t, tpos *p, const content *c, amap *attrs,
                          y_item **out)
{
    for (size_t i = 0; i < p->cur.len; i++)
        if (amap_find(attrs, p->cur.keys[i]) < 0)
            amap_set(attrs, p->cur.keys[i], FV_NULL);
    minimize_attribute_changes(p, attrs);
    amap neg = {0};
    int rc = insert_attributes(doc, t, p, attrs, &neg);
    if (rc)
        goto done;
    y_item *it = y_local_item(doc, p->left, p->right, t, NULL);
    if (!it) {
        rc = Y_ENOMEM;
        goto done;
    }
    it->ref = c->ref;
    if (c->ref == Y_REF_STRING) {
        it->c.str.s = malloc(c->len + 1);
        if (it->c.str.s) {
            memcpy(it->c.str.s, c->data, c->len);
            it->c.str.s[c->len] = 0;
        }
        it->c.str.bytes = c->len;
        it->len = y_utf16_len(c->data, c->len);
    } else {
        it->c.embed = strdup(c->data);
        it->len = 1;
    }
    if (c->ref == Y_REF_STRING ? !it->c.str.s : !it->c.embed) {
        y_item_free(it);
        rc = Y_ENOMEM;
        goto done;
    }
    uint64_t index = p->index;
    if ((rc = y_integrate_local(doc, it)))
        goto done;
    *out = it;
    p->right = it;
    p->index = index;
    pos_forward(p);
    rc = insert_negated_attributes(doc, t, p, &neg);
done:
    if (!rc && (neg.oom || attrs->oom || p->cur.oom))
        rc = Y_ENOMEM;
    amap_release(&neg);
    return rc;
}

/* yjs formatText. */
static int format_text(y_doc *doc, y_type *t, tpos *p, uint64_t length, const amap *attrs)
{
    minimize_attribute_changes(p, attrs);
    amap neg = {0};
    int rc = insert_attributes(doc, t, p, attrs, &neg);
    if (rc)
        goto done;
    while (p->right &&
           (length > 0 || (neg.len > 0 && (p->right->deleted || p->right->ref == Y_REF_FORMAT)))) {
        y_item *r = p->right;
        if (!r->deleted) {
            if (r->ref == Y_REF_FORMAT) {
                fval attr = amap_get(attrs, r->c.fmt.key);
                if (attr.json) {
                    if (equal_attrs(attr, item_val(r))) {
                        amap_del(&neg, r->c.fmt.key);
                    } else {
                        if (length == 0)
                            break;
                        amap_set(&neg, r->c.fmt.key, item_val(r));
                    }
                    y_item_delete(doc, r);
                } else {
                    amap_set(&p->cur, r->c.fmt.key, item_val(r));
                }
            } else {
                if (length < r->len && (rc = split_at(doc, r, length)))
                    goto done;
                length -= r->len;
            }
        }
        pos_forward(p);
    }
    if (length > 0) {
        /* Quill expects a trailing newline: formatting past the end inserts newlines. */
        char *nl = malloc(length + 1);
        if (!nl) {
            rc = Y_ENOMEM;
            goto done;
        }
        memset(nl, '\n', length);
        nl[length] = 0;
        y_item *it = y_local_item(doc, p->left, p->right, t, NULL);
        if (!it) {
            free(nl);
            rc = Y_ENOMEM;
            goto done;
        }
        it->ref = Y_REF_STRING;
        it->c.str.s = nl;
        it->c.str.bytes = length;
        it->len = length;
        if ((rc = y_integrate_local(doc, it)))
            goto done;
        p->right = it;
        pos_forward(p);
    }
    rc = insert_negated_attributes(doc, t, p, &neg);
done:
    if (!rc && (neg.oom || p->cur.oom))
        rc = Y_ENOMEM;
    amap_release(&neg);
    return rc;
}

/* ---- deleting and the formatting cleanup ------------------------------------------------- */

/* yjs cleanupFormattingGap: delete the Format items between start and the next live
 * content that are overwritten within the gap or restate the attributes before it. */
static int cleanup_formatting_gap(y_doc *doc, y_item *start, const y_item *curr,
                                  const amap *start_attrs, amap *curr_attrs)
{
    y_item *end = start;
    amap end_formats = {0}; /* key -> the last Format item of the gap (as ident) */
    y_item **last = NULL;
    size_t nlast = 0;
    int rc = Y_OK;
    while (end && (!y_item_countable(end) || end->deleted)) {
        if (!end->deleted && end->ref == Y_REF_FORMAT) {
            long i = amap_find(&end_formats, end->c.fmt.key);
            if (i < 0) {
                y_item **n = realloc(last, (nlast + 1) * sizeof *n);
                if (!n) {
                    rc = Y_ENOMEM;
                    goto done;
                }
                last = n;
                fval slot = {NULL, nlast};
                amap_set(&end_formats, end->c.fmt.key, slot);
                last[nlast++] = end;
            } else {
                last[end_formats.vals[i].ident] = end;
            }
        }
        end = end->right;
    }
    bool reached_curr = false;
    while (start != end) {
        if (curr == start)
            reached_curr = true;
        if (!start->deleted && start->ref == Y_REF_FORMAT) {
            const char *key = start->c.fmt.key;
            fval value = item_val(start);
            fval start_val = fv_or_null(amap_get(start_attrs, key));
            long i = amap_find(&end_formats, key);
            if (i < 0 || last[end_formats.vals[i].ident] != start ||
                fv_strict_equal(start_val, value)) {
                y_item_delete(doc, start);
                if (!reached_curr &&
                    fv_strict_equal(fv_or_null(amap_get(curr_attrs, key)), value) &&
                    !fv_strict_equal(start_val, value)) {
                    if (fv_is_null(start_val))
                        amap_del(curr_attrs, key);
                    else
                        amap_set(curr_attrs, key, start_val);
                }
            }
            if (!reached_curr && !start->deleted)
                update_attrs(curr_attrs, start);
        }
        start = start->right;
    }
done:
    if (!rc && (end_formats.oom || curr_attrs->oom))
        rc = Y_ENOMEM;
    amap_release(&end_formats);
    free(last);
    return rc;
}

/* yjs cleanupContextlessFormattingGap: in the gap of formats and tombstones around item,
 * keep only the last Format item of each key. */
static int cleanup_contextless_gap(y_doc *doc, y_item *item)
{
    while (item && item->right && (item->right->deleted || !y_item_countable(item->right)))
        item = item->right;
    amap seen = {0};
    for (; item && (item->deleted || !y_item_countable(item)); item = item->left) {
        if (item->deleted || item->ref != Y_REF_FORMAT)
            continue;
        if (amap_find(&seen, item->c.fmt.key) >= 0)
            y_item_delete(doc, item);
        else
            amap_set(&seen, item->c.fmt.key, FV_NULL);
    }
    int rc = seen.oom ? Y_ENOMEM : Y_OK;
    amap_release(&seen);
    return rc;
}

/* yjs cleanupYTextFormatting (one pass over the whole type). */
static int cleanup_type_formatting(y_doc *doc, y_type *t)
{
    y_item *start = t->start;
    amap start_attrs = {0}, cur = {0};
    int rc = Y_OK;
    for (y_item *end = t->start; end && !rc; end = end->right) {
        if (end->deleted)
            continue;
        if (end->ref == Y_REF_FORMAT) {
            update_attrs(&cur, end);
        } else {
            rc = cleanup_formatting_gap(doc, start, end, &start_attrs, &cur);
            amap_assign(&start_attrs, &cur);
            start = end;
        }
    }
    if (!rc && (start_attrs.oom || cur.oom))
        rc = Y_ENOMEM;
    amap_release(&start_attrs);
    amap_release(&cur);
    return rc;
}

/* yjs deleteText. */
static int delete_text(y_doc *doc, y_type *t, tpos *p, uint64_t length)
{
    amap start_attrs = {0};
    amap_assign(&start_attrs, &p->cur);
    y_item *start = p->right;
    int rc = Y_OK;
    while (length > 0 && p->right) {
        y_item *r = p->right;
        if (!r->deleted &&
            (r->ref == Y_REF_STRING || r->ref == Y_REF_EMBED || r->ref == Y_REF_TYPE)) {
            if (length < r->len && (rc = split_at(doc, r, length)))
                goto done;
            length -= r->len;
            y_item_delete(doc, r);
        }
        pos_forward(p);
    }
    /* The gap walk visits every tombstone after the deleted text; it can only change
     * something where Format items exist. */
    if (start && t->any_format)
        rc = cleanup_formatting_gap(doc, start, p->right, &start_attrs, &p->cur);
done:
    if (!rc && start_attrs.oom)
        rc = Y_ENOMEM;
    amap_release(&start_attrs);
    return rc;
}

static uint64_t sv_lookup(const y_sv_entry *sv, size_t n, uint64_t client)
{
    for (size_t i = 0; i < n; i++)
        if (sv[i].client == client)
            return sv[i].clock;
    return 0;
}

typedef struct type_set {
    y_type **v;
    size_t n;
    bool oom;
} type_set;

static bool type_set_has(const type_set *s, const y_type *t)
{
    for (size_t i = 0; i < s->n; i++)
        if (s->v[i] == t)
            return true;
    return false;
}

static void type_set_add(type_set *s, y_type *t)
{
    if (type_set_has(s, t))
        return;
    y_type **n = realloc(s->v, (s->n + 1) * sizeof *n);
    if (!n) {
        s->oom = true;
        return;
    }
    s->v = n;
    s->v[s->n++] = t;
}

int y_text_cleanup_after_txn(y_doc *doc, const y_ds *ds, const y_sv_entry *before, size_t nbefore)
{
    type_set full = {0};
    int rc = Y_OK;
    /* A Format item added by the transaction: the whole type gets the full cleanup. */
    for (size_t c = 0; c < doc->nclients; c++) {
        y_client_structs *cs = &doc->clients[c];
        uint64_t from = sv_lookup(before, nbefore, cs->client);
        if (from == y_store_state(doc, cs->client))
            continue;
        y_id id = {cs->client, from};
        if (!y_store_clean_start(doc, id)) {
            rc = Y_ENOMEM;
            goto done;
        }
        for (long i = y_store_find_index(cs, from); i >= 0 && (size_t)i < cs->len; i++) {
            y_item *it = cs->items[i];
            if (it->ref == Y_REF_FORMAT && !it->deleted)
                type_set_add(&full, it->parent);
        }
    }
    /* Deleted content: a contextless cleanup of its gap; a deleted Format item: the full
     * cleanup of its type. Clients in the order the transaction deleted from them, as yjs
     * iterates its delete set. */
    for (size_t c = 0; c < ds->len && !rc; c++) {
        uint64_t client = ds->c[c].client;
        y_client_structs *cs = y_store_client(doc, client, false);
        if (!cs || !cs->len)
            continue;
        uint64_t state = y_store_state(doc, client);
        for (size_t k = 0; k < ds->c[c].len && ds->c[c].r[k].clock < state && !rc; k++) {
            uint64_t clock = ds->c[c].r[k].clock, end = clock + ds->c[c].r[k].len;
            if (clock == end)
                continue;
            y_id id = {client, clock};
            if (!y_store_clean_start(doc, id)) {
                rc = Y_ENOMEM;
                break;
            }
            long i = y_store_find_index(cs, clock);
            while (i >= 0 && (size_t)i < cs->len && !rc) {
                y_item *it = cs->items[i++];
                if (end < it->id.clock + it->len) {
                    y_id e = {client, end};
                    if (!y_store_clean_start(doc, e)) {
                        rc = Y_ENOMEM;
                        break;
                    }
                }
                y_type *parent = it->parent;
                if (it->ref != Y_REF_GC && parent && parent->has_formatting &&
                    !type_set_has(&full, parent)) {
                    if (it->ref == Y_REF_FORMAT)
                        type_set_add(&full, parent);
                    else
                        rc = cleanup_contextless_gap(doc, it);
                }
                if ((size_t)i >= cs->len || cs->items[i]->id.clock >= end)
                    break;
            }
        }
    }
    for (size_t i = 0; i < full.n && !rc; i++)
        rc = cleanup_type_formatting(doc, full.v[i]);
done:
    if (!rc && full.oom)
        rc = Y_ENOMEM;
    free(full.v);
    return rc;
}

/* ---- the public API ------------------------------------------------------------------------- */

static int check_text(const y_type *t)
{
    if (t->kind != Y_TEXT)
        return Y_ETYPE;
    return y_type_is_alive(t) ? Y_OK : Y_EINVAL;
}

/* Caller attributes as the JS object yjs receives: values become JSON text with fresh
 * identities. texts receives the allocated texts (caller frees each and the array). */
static int attrs_object(y_doc *doc, const y_attrs *attrs, amap *obj, char ***texts)
{
    obj->object = true;
    *texts = NULL;
    if (!attrs || !attrs->len)
        return Y_OK;
    if (!attrs->keys || !attrs->values)
        return Y_EINVAL;
    for (size_t i = 0; i < attrs->len; i++) {
        const y_any *v = &attrs->values[i];
        if (!attrs->keys[i] || v->kind == Y_ANY_UNDEFINED || v->kind == Y_ANY_BIGINT ||
            (v->kind == Y_ANY_NUMBER && !isfinite(v->u.num)))
            return Y_EINVAL; /* JSON.stringify cannot write these as yjs needs */
    }
    char **tx = calloc(attrs->len, sizeof *tx);
    if (!tx)
        return Y_ENOMEM;
    *texts = tx;
    for (size_t i = 0; i < attrs->len; i++) {
        int rc = y_any_to_json(&attrs->values[i], &tx[i], NULL);
        if (rc)
            return rc;
        fval v = {tx[i], ++doc->next_ident};
        amap_set(obj, attrs->keys[i], v);
    }
    return obj->oom ? Y_ENOMEM : Y_OK;
}

static void free_texts(char **texts, const y_attrs *attrs)
{
    if (!texts)
        return;
    for (size_t i = 0; i < attrs->len; i++)
        free(texts[i]);
    free(texts);
}

/* Remember where the last local edit happened (texts without formatting only). */
static void set_marker(y_type *t, y_item *it, uint64_t index)
{
    if (!t->has_formatting && it) {
        t->marker = it;
        t->marker_index = index;
    }
}

/* use_marker and inherit: yjs calls findPosition with search markers only when no
 * attributes were given, and an insert of text without attributes takes the current ones
 * (an embed without attributes gets none). */
static int insert_common(y_type *t, uint32_t index, const content *c, const y_attrs *attrs,
                         bool use_marker, bool inherit)
{
    y_doc *doc = t->doc;
    amap obj = {0};
    char **texts = NULL;
    int rc = attrs_object(doc, attrs, &obj, &texts);
    if (rc)
        goto out;
    if ((rc = y_txn_begin(doc, NULL, true)))
        goto out;
    tpos p = find_position(doc, t, index, use_marker);
    if (!p.rc && inherit)
        amap_assign(&obj, &p.cur);
    y_item *it = NULL;
    rc = p.rc ? p.rc : insert_content(doc, t, &p, c, &obj, &it);
    if (!rc)
        set_marker(t, it, index);
    amap_release(&p.cur);
    int erc = y_txn_end(doc);
    if (!rc)
        rc = erc;
out:
    amap_release(&obj);
    free_texts(texts, attrs);
    return rc;
}

int y_text_insert(y_type *t, uint32_t index, const char *utf8, size_t len, const y_attrs *attrs)
{
    int rc = check_text(t);
    if (rc)
        return rc;
    if (len == 0)
        return Y_OK;
    if (!y_utf8_valid(utf8, len) || index > t->length)
        return Y_EINVAL;
    content c = {Y_REF_STRING, utf8, len};
    return insert_common(t, index, &c, attrs, attrs == NULL, attrs == NULL);
}

int y_text_insert_embed(y_type *t, uint32_t index, const y_any *embed, const y_attrs *attrs)
{
    int rc = check_text(t);
    if (rc)
        return rc;
    if (!embed || index > t->length)
        return Y_EINVAL;
    switch (embed->kind) {
    case Y_ANY_OBJECT:
    case Y_ANY_ARRAY:
    case Y_ANY_BOOL:
    case Y_ANY_BINARY:
        break;
    case Y_ANY_NUMBER:
        if (isfinite(embed->u.num))
            break;
        return Y_EINVAL;
    default:
        return Y_EINVAL; /* strings are text (y_text_insert); the rest JSON cannot carry */
    }
    char *json = NULL;
    if ((rc = y_any_to_json(embed, &json, NULL)))
        return rc;
    content c = {Y_REF_EMBED, json, strlen(json)};
    rc = insert_common(t, index, &c, attrs, attrs == NULL, false);
    y_free(json);
    return rc;
}

int y_text_format(y_type *t, uint32_t index, uint32_t length, const y_attrs *attrs)
{
    int rc = check_text(t);
    if (rc)
        return rc;
    if (length == 0)
        return Y_OK;
    if (index > t->length)
        return Y_EINVAL;
    y_doc *doc = t->doc;
    amap obj = {0};
    char **texts = NULL;
    if ((rc = attrs_object(doc, attrs, &obj, &texts)))
        goto out;
    if ((rc = y_txn_begin(doc, NULL, true)))
        goto out;
    tpos p = find_position(doc, t, index, false);
    rc = p.rc;
    if (!rc && p.right)
        rc = format_text(doc, t, &p, length, &obj);
    amap_release(&p.cur);
    int erc = y_txn_end(doc);
    if (!rc)
        rc = erc;
out:
    amap_release(&obj);
    free_texts(texts, attrs);
    return rc;
}

int y_text_delete(y_type *t, uint32_t index, uint32_t length)
{
    int rc = check_text(t);
    if (rc)
        return rc;
    if (length == 0)
        return Y_OK;
    if ((uint64_t)index + length > t->length)
        return Y_EINVAL;
    y_doc *doc = t->doc;
    if ((rc = y_txn_begin(doc, NULL, true)))
        return rc;
    tpos p = find_position(doc, t, index, true);
    rc = p.rc ? p.rc : delete_text(doc, t, &p, length);
    /* Everything before p.right that is still alive lies before index. */
    if (!rc)
        set_marker(t, p.right, index);
    amap_release(&p.cur);
    int erc = y_txn_end(doc);
    return rc ? rc : erc;
}

uint32_t y_text_length(const y_type *t)
{
    return (uint32_t)t->length;
}

int y_text_string(const y_type *t, char **out, size_t *out_len)
{
    y_enc e = Y_ENC_INIT;
    for (const y_item *it = t->start; it; it = it->right)
        if (!it->deleted && it->ref == Y_REF_STRING)
            y_enc_raw(&e, it->c.str.s, it->c.str.bytes);
    y_enc_u8(&e, 0);
    int rc = y_enc_finish(&e, (uint8_t **)out, out_len);
    if (!rc && out_len)
        (*out_len)--;
    return rc;
}

/* ---- delta --------------------------------------------------------------------------------- */

/* The current attributes as the JS object toDelta builds (array-index keys first). */
static void write_attributes(y_enc *e, const amap *cur)
{
    amap obj = {0};
    obj.object = true;
    amap_assign(&obj, cur);
    if (obj.oom)
        e->oom = true;
    y_enc_raw(e, ",\"attributes\":{", 15);
    for (size_t i = 0; i < obj.len; i++) {
        if (i)
            y_enc_u8(e, ',');
        y_json_write_string(e, obj.keys[i], strlen(obj.keys[i]));
        y_enc_u8(e, ':');
        y_enc_raw(e, obj.vals[i].json, strlen(obj.vals[i].json));
    }
    y_enc_u8(e, '}');
    amap_release(&obj);
}

static void pack_str(y_enc *e, y_enc *str, const amap *cur, bool *first)
{
    if (!str->len)
        return;
    y_enc_raw(e, *first ? "{\"insert\":" : ",{\"insert\":", *first ? 10 : 11);
    *first = false;
    y_json_write_string(e, (const char *)str->data, str->len);
    if (cur->len)
        write_attributes(e, cur);
    y_enc_u8(e, '}');
    str->len = 0;
}

int y_text_delta(const y_type *t, char **json_out)
{
    if (!t || !json_out)
        return Y_EINVAL;
    y_enc e = Y_ENC_INIT, str = Y_ENC_INIT;
    amap cur = {0};
    bool first = true;
    y_enc_u8(&e, '[');
    for (const y_item *n = t->start; n; n = n->right) {
        if (n->deleted)
            continue;
        switch (n->ref) {
        case Y_REF_STRING:
            y_enc_raw(&str, n->c.str.s, n->c.str.bytes);
            break;
        case Y_REF_EMBED:
        case Y_REF_TYPE:
            pack_str(&e, &str, &cur, &first);
            y_enc_raw(&e, first ? "{\"insert\":" : ",{\"insert\":", first ? 10 : 11);
            first = false;
            if (n->ref == Y_REF_EMBED)
                y_enc_raw(&e, n->c.embed, strlen(n->c.embed));
            else
                y_json_write_type(&e, n->c.type);
            if (cur.len)
                write_attributes(&e, &cur);
            y_enc_u8(&e, '}');
            break;
        case Y_REF_FORMAT:
            pack_str(&e, &str, &cur, &first);
            update_attrs(&cur, n);
            break;
        default:
            break;
        }
    }
    pack_str(&e, &str, &cur, &first);
    y_enc_u8(&e, ']');
    y_enc_u8(&e, 0);
    if (cur.oom || str.oom)
        e.oom = true;
    amap_release(&cur);
    y_enc_release(&str);
    return y_enc_finish(&e, (uint8_t **)json_out, NULL);
}
