/* wsdoc.c - the workspace document schema over ycrdt: entries, fields, paths, contents. */
#include "diaryx/wsdoc.h"

#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "diaryx/strmap.h"

#define FILES_MAP "files"
/* Parent chains longer than this are treated as corrupt (a cycle the id check missed). */
#define MAX_DEPTH 4096

static char *dup_or_null(const char *s)
{
    return s ? strdup(s) : NULL;
}

void dx_entry_release(dx_entry *e)
{
    if (!e)
        return;
    free(e->filename);
    free(e->title);
    free(e->description);
    free(e->part_of);
    free(e->extra_json);
    dx_strlist_release(&e->contents);
    dx_strlist_release(&e->attachments);
    dx_strlist_release(&e->audience);
    memset(e, 0, sizeof *e);
}

static int ycode(int rc)
{
    return rc == Y_ENOMEM ? DX_ENOMEM : DX_EINVAL;
}

/* Why files_map returned NULL: a root of another kind, or no memory to create it. */
static int files_code(const y_doc *doc)
{
    return y_doc_has_root(doc, FILES_MAP) ? DX_ECORRUPT : DX_ENOMEM;
}

static y_type *files_map(y_doc *doc, dx_error *err)
{
    y_type *files = y_doc_get_map(doc, FILES_MAP);
    if (!files && files_code(doc) == DX_ENOMEM)
        dx_error_set(err, DX_ENOMEM, "workspace document: out of memory");
    else if (!files)
        dx_error_set(err, DX_ECORRUPT, "workspace document: root '%s' is not a map", FILES_MAP);
    return files;
}

/* The nested map of entry id, or NULL (absent or not a map). */
static y_type *entry_map(y_type *files, const char *id)
{
    y_value v;
    if (y_map_get(files, id, &v) != Y_OK || !v.is_type || y_type_get_kind(v.type) != Y_MAP)
        return NULL;
    return v.type;
}

static const char *get_str(y_type *m, const char *key)
{
    y_value v;
    if (y_map_get(m, key, &v) != Y_OK || v.is_type || v.any->kind != Y_ANY_STRING)
        return NULL;
    return v.any->u.str.ptr;
}

static y_type *get_array(y_type *m, const char *key)
{
    y_value v;
    if (y_map_get(m, key, &v) != Y_OK || !v.is_type || y_type_get_kind(v.type) != Y_ARRAY)
        return NULL;
    return v.type;
}

static int read_array(y_type *arr, dx_strlist *out)
{
    uint32_t n = y_array_length(arr);
    for (uint32_t i = 0; i < n; i++) {
        y_value v;
        if (y_array_get(arr, i, &v) != Y_OK || v.is_type || v.any->kind != Y_ANY_STRING)
            continue; /* a peer wrote something else: ignore it rather than fail */
        if (dx_strlist_push(out, v.any->u.str.ptr) != 0)
            return DX_ENOMEM;
    }
    return 0;
}

static int set_str(y_type *m, const char *key, const char *value)
{
    const char *cur = get_str(m, key);
    if (!value) {
        y_value v;
        return y_map_get(m, key, &v) == Y_OK ? y_map_delete(m, key) : Y_OK;
    }
    if (cur && strcmp(cur, value) == 0)
        return Y_OK;
    y_any a = y_any_string(value, strlen(value));
    return y_map_set(m, key, &a);
}

/* Make the array at key hold exactly want, with one splice over the differing middle so
 * concurrent edits elsewhere in the list survive. want NULL removes the key. */
static int set_array(y_type *m, const char *key, const dx_strlist *want)
{
    y_type *arr = get_array(m, key);
    int rc = Y_OK;
    if (!want) {
        y_value v;
        return y_map_get(m, key, &v) == Y_OK ? y_map_delete(m, key) : Y_OK;
    }
    if (!arr && (rc = y_map_set_type(m, key, Y_ARRAY, &arr)) != Y_OK)
        return rc;
    dx_strlist cur = {0};
    if (read_array(arr, &cur) != 0 || cur.len != y_array_length(arr)) {
        /* Foreign values inside: rewrite the whole list. */
        dx_strlist_release(&cur);
        uint32_t n = y_array_length(arr);
        if (n && (rc = y_array_delete(arr, 0, n)) != Y_OK)
            return rc;
    }
    size_t pre = 0, suf = 0;
    while (pre < cur.len && pre < want->len && strcmp(cur.items[pre], want->items[pre]) == 0)
        pre++;
    while (suf < cur.len - pre && suf < want->len - pre &&
           strcmp(cur.items[cur.len - 1 - suf], want->items[want->len - 1 - suf]) == 0)
        suf++;
    size_t del = cur.len - pre - suf, ins = want->len - pre - suf;
    if (del)
        rc = y_array_delete(arr, (uint32_t)pre, (uint32_t)del);
    if (rc == Y_OK && ins) {
        y_any *vals = calloc(ins, sizeof *vals);
        if (!vals) {
            rc = Y_ENOMEM;
        } else {
            for (size_t i = 0; i < ins; i++)
                vals[i] = y_any_string(want->items[pre + i], strlen(want->items[pre + i]));
            rc = y_array_insert(arr, (uint32_t)pre, vals, ins);
            free(vals);
        }
    }
    dx_strlist_release(&cur);
    return rc;
}

static int set_bool(y_type *m, const char *key, bool value)
{
    y_value v;
    if (y_map_get(m, key, &v) == Y_OK && !v.is_type && v.any->kind == Y_ANY_BOOL &&
        v.any->u.b == value)
        return Y_OK;
    y_any a = y_any_bool(value);
    return y_map_set(m, key, &a);
}

static int set_number(y_type *m, const char *key, double value)
{
    y_value v;
    if (y_map_get(m, key, &v) == Y_OK && !v.is_type && v.any->kind == Y_ANY_NUMBER &&
        v.any->u.num == value)
        return Y_OK;
    y_any a = y_any_number(value);
    return y_map_set(m, key, &a);
}

/* ---- extra: the other frontmatter keys ------------------------------------------------
 * Each key is a field of the entry's map of its own, `extra/<key>` -> JSON text
 * `[order, value]`, listed by ascending order, equal orders by key (two peers appending a key
 * at once), so every peer renders the same file. Concurrent changes of different keys merge;
 * of one key, the last writer wins. (Not a nested map: two peers creating the nested map at
 * once would each make their own, and one would lose all its keys.) Stores written before
 * this kept `extra` as one JSON object string: it is read while no `extra/` field exists and
 * removed when the entry's extra keys are next written. */

#define EXTRA_PREFIX     "extra/"
#define EXTRA_PREFIX_LEN 6

typedef struct extra_item {
    const char *key; /* borrowed from the doc: the field name after the prefix */
    double order;
    char *value; /* compact JSON text */
} extra_item;

static void extra_items_free(extra_item *it, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(it[i].value);
    free(it);
}

static int cmp_extra(const void *a, const void *b)
{
    const extra_item *x = a, *y = b;
    if (x->order != y->order)
        return x->order < y->order ? -1 : 1;
    return strcmp(x->key, y->key);
}

/* One stored `[order, value]` text: its order, and its value as compact JSON (malloc'd). */
static int extra_decode(const char *text, double *order, char **value)
{
    json_error_t je;
    json_t *a = json_loads(text, JSON_DECODE_ANY, &je);
    int rc = Y_EINVAL;
    if (a && json_is_array(a) && json_array_size(a) == 2 && json_is_number(json_array_get(a, 0))) {
        *order = json_number_value(json_array_get(a, 0));
        *value = json_dumps(json_array_get(a, 1), JSON_COMPACT | JSON_ENCODE_ANY);
        rc = *value ? Y_OK : Y_ENOMEM;
    }
    json_decref(a);
    return rc;
}

/* The extra fields of entry map m in their order (a peer's malformed value is skipped). */
static int extra_read(y_type *m, extra_item **out, size_t *n)
{
    size_t cap = 8;
    extra_item *it = malloc(cap * sizeof *it);
    *n = 0;
    if (!it)
        return Y_ENOMEM;
    y_map_iter iter;
    const char *key;
    y_value v;
    y_map_iter_init(&iter, m);
    while (y_map_iter_next(&iter, &key, &v)) {
        if (strncmp(key, EXTRA_PREFIX, EXTRA_PREFIX_LEN) || v.is_type ||
            v.any->kind != Y_ANY_STRING)
            continue;
        if (*n == cap) {
            extra_item *p = realloc(it, (cap *= 2) * sizeof *p);
            if (!p) {
                extra_items_free(it, *n);
                return Y_ENOMEM;
            }
            it = p;
        }
        int rc = extra_decode(v.any->u.str.ptr, &it[*n].order, &it[*n].value);
        if (rc == Y_ENOMEM) {
            extra_items_free(it, *n);
            return rc;
        }
        if (rc == Y_OK)
            it[(*n)++].key = key + EXTRA_PREFIX_LEN;
    }
    qsort(it, *n, sizeof *it, cmp_extra);
    *out = it;
    return Y_OK;
}

/* The extra keys of entry map m as one JSON object text in order (malloc'd into *out, NULL
 * when none), from either form. */
static int get_extra(y_type *m, char **out)
{
    extra_item *it;
    size_t n;
    *out = NULL;
    int rc = extra_read(m, &it, &n);
    if (rc != Y_OK)
        return rc;
    if (!n) {
        free(it);
        const char *legacy = get_str(m, "extra");
        return !legacy || (*out = strdup(legacy)) ? Y_OK : Y_ENOMEM;
    }
    dx_buf b = DX_BUF_INIT;
    rc = dx_buf_putc(&b, '{') ? Y_ENOMEM : Y_OK;
    for (size_t i = 0; rc == Y_OK && i < n; i++) {
        json_t *k = json_string(it[i].key);
        char *ks = k ? json_dumps(k, JSON_ENCODE_ANY) : NULL;
        if (!ks || dx_buf_printf(&b, "%s%s:%s", i ? "," : "", ks, it[i].value))
            rc = Y_ENOMEM;
        free(ks);
        json_decref(k);
    }
    if (rc == Y_OK && dx_buf_putc(&b, '}'))
        rc = Y_ENOMEM;
    extra_items_free(it, n);
    if (rc != Y_OK) {
        dx_buf_release(&b);
        return rc;
    }
    *out = dx_buf_detach(&b, NULL);
    return Y_OK;
}

/* Write field extra/<key> = [order, value] unless it holds that already (value NULL: delete). */
static int extra_set_one(y_type *m, const char *key, double order, const char *value)
{
    dx_buf field = DX_BUF_INIT, b = DX_BUF_INIT;
    int rc = dx_buf_printf(&field, EXTRA_PREFIX "%s", key) ? Y_ENOMEM : Y_OK;
    /* %.17g keeps every order exact; orders are small integers unless keys were inserted. */
    if (rc == Y_OK && value && dx_buf_printf(&b, "[%.17g,%s]", order, value))
        rc = Y_ENOMEM;
    if (rc == Y_OK)
        rc = set_str(m, field.data, value ? b.data : NULL);
    dx_buf_release(&field);
    dx_buf_release(&b);
    return rc;
}

/* Make the extra fields of entry map m hold the keys of the JSON object text json (NULL:
 * none), in its order, changing only the keys whose value or place differs. */
static int set_extra(y_type *m, const char *json)
{
    json_t *want = json ? json_loads(json, 0, NULL) : json_object();
    if (!want || !json_is_object(want)) {
        json_decref(want);
        return json ? Y_EINVAL : Y_ENOMEM;
    }
    extra_item *cur = NULL;
    size_t ncur = 0, nwant = json_object_size(want);
    int rc = extra_read(m, &cur, &ncur);
    /* The stored order of each wanted key (NAN when new), and whether the kept keys are
     * still in the wanted order: then they keep their orders and new keys go between. */
    double *ord = rc == Y_OK ? malloc((nwant ? nwant : 1) * sizeof *ord) : NULL;
    const char **keys = ord ? malloc((nwant ? nwant : 1) * sizeof *keys) : NULL;
    if (rc == Y_OK && !keys)
        rc = Y_ENOMEM;
    bool in_order = true;
    size_t i = 0;
    const char *key;
    json_t *val;
    const extra_item *last = NULL;
    json_object_foreach(want, key, val)
    {
        if (rc != Y_OK)
            break;
        keys[i] = key;
        ord[i] = NAN;
        for (size_t j = 0; j < ncur; j++) {
            if (strcmp(cur[j].key, key))
                continue;
            ord[i] = cur[j].order;
            if (last && cmp_extra(last, &cur[j]) >= 0)
                in_order = false;
            last = &cur[j];
            break;
        }
        i++;
    }
    /* New keys between kept neighbours get evenly spaced orders; when a gap is too small
     * to split (or the kept keys were reordered) every key is numbered afresh. */
    for (size_t a = 0; rc == Y_OK && in_order && a < nwant; a++) {
        if (!isnan(ord[a]))
            continue;
        size_t b = a;
        while (b < nwant && isnan(ord[b]))
            b++;
        double lo = a ? ord[a - 1] : (b < nwant ? ord[b] - (double)(b - a + 1) : 0);
        double hi = b < nwant ? ord[b] : lo + (double)(b - a + 1);
        for (size_t k = a; k < b; k++) {
            ord[k] = lo + (hi - lo) * (double)(k - a + 1) / (double)(b - a + 1);
            if (!(ord[k] > (k > a ? ord[k - 1] : lo)) || !(ord[k] < hi))
                in_order = false;
        }
        a = b;
    }
    for (size_t k = 0; rc == Y_OK && !in_order && k < nwant; k++)
        ord[k] = (double)(k + 1);
    /* The keys no longer wanted go (and the one-string form of older stores), then the
     * changed ones are written. */
    for (size_t j = 0; rc == Y_OK && j < ncur; j++)
        if (!json_object_get(want, cur[j].key))
            rc = extra_set_one(m, cur[j].key, 0, NULL);
    if (rc == Y_OK)
        rc = set_str(m, "extra", NULL);
    for (size_t k = 0; rc == Y_OK && k < nwant; k++) {
        char *vs = json_dumps(json_object_get(want, keys[k]), JSON_COMPACT | JSON_ENCODE_ANY);
        rc = vs ? extra_set_one(m, keys[k], ord[k], vs) : Y_ENOMEM;
        free(vs);
    }
    if (cur)
        extra_items_free(cur, ncur);
    free(ord);
    free(keys);
    json_decref(want);
    return rc;
}

int dx_wsdoc_put(y_doc *doc, dx_entry *e, dx_error *err)
{
    y_type *files = files_map(doc, err);
    if (!files)
        return files_code(doc);
    if (!e->id[0] && dx_uuid_v4(e->id) != 0)
        return dx_error_set(err, DX_EIO, "cannot create a document id: no random source");
    int rc = y_doc_begin(doc, NULL);
    if (rc != Y_OK)
        return dx_error_set(err, ycode(rc), "cannot start a transaction: %s", y_strerror(rc));
    y_type *m = entry_map(files, e->id);
    if (!m)
        rc = y_map_set_type(files, e->id, Y_MAP, &m);
    if (rc == Y_OK)
        rc = set_str(m, "filename", e->filename);
    if (rc == Y_OK)
        rc = set_str(m, "title", e->title);
    if (rc == Y_OK)
        rc = set_str(m, "description", e->description);
    if (rc == Y_OK)
        rc = set_str(m, "part_of", e->part_of);
    if (rc == Y_OK)
        rc = set_array(m, "contents", e->is_index ? &e->contents : NULL);
    if (rc == Y_OK)
        rc = set_array(m, "attachments", e->attachments.len ? &e->attachments : NULL);
    if (rc == Y_OK)
        rc = set_array(m, "audience", e->has_audience ? &e->audience : NULL);
    if (rc == Y_OK)
        rc = set_extra(m, e->extra_json);
    if (rc == Y_OK)
        rc = set_str(m, "line_ending", e->crlf ? "crlf" : NULL);
    if (rc == Y_OK)
        rc = set_bool(m, "deleted", e->deleted);
    if (rc == Y_OK)
        rc = set_number(m, "modified_at", (double)e->modified_at);
    int crc = y_doc_commit(doc);
    if (rc == Y_OK)
        rc = crc;
    if (rc != Y_OK)
        return dx_error_set(err, ycode(rc), "cannot write entry %s: %s", e->id, y_strerror(rc));
    return 0;
}

int dx_wsdoc_get(y_doc *doc, const char *id, dx_entry *out, dx_error *err)
{
    dx_entry_release(out);
    y_type *files = files_map(doc, err);
    if (!files)
        return files_code(doc);
    y_type *m = entry_map(files, id);
    if (!m)
        return dx_error_set(err, DX_ENOTFOUND, "no entry with id '%s' in the workspace", id);
    snprintf(out->id, sizeof out->id, "%s", id);
    const char *filename = get_str(m, "filename"), *title = get_str(m, "title");
    const char *description = get_str(m, "description"), *part_of = get_str(m, "part_of");
    out->filename = dup_or_null(filename);
    out->title = dup_or_null(title);
    out->description = dup_or_null(description);
    out->part_of = dup_or_null(part_of);
    /* A copy that failed must not read as a field that is absent (a file without its title
     * would be written). */
    int rc = (filename && !out->filename) || (title && !out->title) ||
                     (description && !out->description) || (part_of && !out->part_of)
                 ? -1
                 : 0;
    if (!rc && get_extra(m, &out->extra_json) != Y_OK)
        rc = -1;
    const char *le = get_str(m, "line_ending");
    out->crlf = le && !strcmp(le, "crlf");
    y_type *arr;
    if ((arr = get_array(m, "contents"))) {
        out->is_index = true;
        if (!rc)
            rc = read_array(arr, &out->contents);
    }
    if (!rc && (arr = get_array(m, "attachments")))
        rc = read_array(arr, &out->attachments);
    if ((arr = get_array(m, "audience"))) {
        out->has_audience = true;
        if (!rc)
            rc = read_array(arr, &out->audience);
    }
    y_value v;
    if (y_map_get(m, "deleted", &v) == Y_OK && !v.is_type && v.any->kind == Y_ANY_BOOL)
        out->deleted = v.any->u.b;
    if (y_map_get(m, "modified_at", &v) == Y_OK && !v.is_type && v.any->kind == Y_ANY_NUMBER)
        out->modified_at = (int64_t)v.any->u.num;
    if (rc) {
        dx_entry_release(out);
        return dx_error_set(err, DX_ENOMEM, "out of memory reading entry %s", id);
    }
    return 0;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

int dx_wsdoc_ids(y_doc *doc, dx_strlist *ids, dx_error *err)
{
    y_type *files = files_map(doc, err);
    if (!files)
        return files_code(doc);
    y_map_iter it;
    const char *key;
    y_value v;
    y_map_iter_init(&it, files);
    while (y_map_iter_next(&it, &key, &v)) {
        if (!v.is_type)
            continue;
        if (dx_strlist_push(ids, key) != 0) {
            dx_strlist_release(ids);
            return dx_error_set(err, DX_ENOMEM, "out of memory listing entries");
        }
    }
    if (ids->len > 1)
        qsort(ids->items, ids->len, sizeof *ids->items, cmp_str);
    return 0;
}

/* A filename must stay below its parent's directory: no empty, absolute, `.` or `..`
 * components (a hostile peer could otherwise make a path escape the workspace). */
static bool filename_ok(const char *f)
{
    if (!f || !*f || *f == '/')
        return false;
    const char *p = f;
    while (*p) {
        const char *slash = strchr(p, '/');
        size_t n = slash ? (size_t)(slash - p) : strlen(p);
        if (n == 0 || (n == 1 && p[0] == '.') || (n == 2 && p[0] == '.' && p[1] == '.'))
            return false;
        p += n + (slash ? 1 : 0);
        if (slash && !*p)
            return false;
    }
    return true;
}

int dx_wsdoc_path(y_doc *doc, const char *id, dx_buf *out, dx_error *err)
{
    y_type *files = files_map(doc, err);
    if (!files)
        return files_code(doc);
    /* Collect the chain child -> root, then build the path root -> child. */
    const char *chain[MAX_DEPTH];
    size_t depth = 0;
    const char *cur = id;
    y_type *m = entry_map(files, cur);
    if (!m)
        return dx_error_set(err, DX_ENOTFOUND, "no entry with id '%s' in the workspace", id);
    while (m) {
        if (depth == MAX_DEPTH)
            return dx_error_set(err, DX_ECORRUPT, "entry %s: parent chain has a cycle", id);
        const char *fn = get_str(m, "filename");
        if (!filename_ok(fn))
            return dx_error_set(err, DX_ECORRUPT, "entry %s: invalid filename '%s'", cur,
                                fn ? fn : "(none)");
        chain[depth++] = fn;
        const char *parent = get_str(m, "part_of");
        if (!parent)
            break;
        /* A longer cycle ends at the MAX_DEPTH bound above. */
        if (strcmp(parent, cur) == 0)
            return dx_error_set(err, DX_ECORRUPT, "entry %s is its own parent", cur);
        cur = parent;
        m = entry_map(files, cur);
        if (!m)
            return dx_error_set(err, DX_ECORRUPT, "entry %s: parent '%s' does not exist", id, cur);
    }
    dx_buf_reset(out);
    for (size_t i = depth; i-- > 0;) {
        /* Keep the directory of the path so far, then append this filename. */
        const char *slash = strrchr(dx_buf_cstr(out), '/');
        dx_buf_truncate(out, slash ? (size_t)(slash - out->data) + 1 : 0);
        if (dx_buf_puts(out, chain[i]) != 0)
            return dx_error_set(err, DX_ENOMEM, "out of memory");
    }
    return 0;
}

/* The memo value of an entry whose path cannot be derived (also put while its ancestors
 * are looked at, so that a cycle ends there). */
static char no_path[] = "";

/* The path of id with its ancestors' paths memoized in memo (id -> malloc'd path, or
 * no_path). Same rules as dx_wsdoc_path. NULL when none; -1 in *oom on ENOMEM. */
static const char *memo_path(y_type *files, const char *id, dx_strmap *memo, size_t depth, int *oom)
{
    const char *known = dx_strmap_get(memo, id);
    if (known)
        return known != no_path ? known : NULL;
    if (dx_strmap_put(memo, id, no_path)) {
        *oom = -1;
        return NULL;
    }
    y_type *m = entry_map(files, id);
    const char *fn = m ? get_str(m, "filename") : NULL;
    if (!filename_ok(fn) || depth >= MAX_DEPTH)
        return NULL;
    const char *parent = get_str(m, "part_of"), *pp = NULL;
    if (parent && !(pp = memo_path(files, parent, memo, depth + 1, oom)))
        return NULL;
    const char *slash = pp ? strrchr(pp, '/') : NULL;
    size_t dl = slash ? (size_t)(slash - pp) + 1 : 0, fl = strlen(fn);
    char *path = malloc(dl + fl + 1);
    if (!path) {
        *oom = -1;
        return NULL;
    }
    if (dl)
        memcpy(path, pp, dl);
    memcpy(path + dl, fn, fl + 1);
    dx_strmap_put(memo, id, path); /* the key is there: only its value changes */
    return path;
}

int dx_wsdoc_each_path(y_doc *doc, dx_wsdoc_path_fn fn, void *ud, dx_error *err)
{
    y_type *files = files_map(doc, err);
    if (!files)
        return files_code(doc);
    dx_strmap memo = DX_STRMAP_INIT;
    y_map_iter it;
    const char *key;
    y_value v, d;
    int rc = 0, oom = 0;
    y_map_iter_init(&it, files);
    while (!rc && y_map_iter_next(&it, &key, &v)) {
        if (!v.is_type || y_type_get_kind(v.type) != Y_MAP ||
            (y_map_get(v.type, "deleted", &d) == Y_OK && !d.is_type && d.any->kind == Y_ANY_BOOL &&
             d.any->u.b))
            continue;
        const char *path = memo_path(files, key, &memo, 0, &oom);
        if (oom)
            rc = dx_error_set(err, DX_ENOMEM, "out of memory deriving paths");
        else if (path)
            rc = fn(ud, key, path);
    }
    for (size_t i = 0; i < memo.cap; i++)
        if (memo.slots[i].key && memo.slots[i].value != no_path)
            free(memo.slots[i].value);
    dx_strmap_release(&memo);
    return rc;
}

const char *dx_wsdoc_title(y_doc *doc, const char *id)
{
    y_type *files = y_doc_get_map(doc, FILES_MAP);
    y_type *m = files ? entry_map(files, id) : NULL;
    return m ? get_str(m, "title") : NULL;
}

bool dx_wsdoc_is_live(y_doc *doc, const char *id)
{
    y_type *files = y_doc_get_map(doc, FILES_MAP);
    y_type *m = files ? entry_map(files, id) : NULL;
    y_value v;
    return m && !(y_map_get(m, "deleted", &v) == Y_OK && !v.is_type && v.any->kind == Y_ANY_BOOL &&
                  v.any->u.b);
}

int dx_wsdoc_find_path(y_doc *doc, const char *path, char out[DX_UUID_LEN + 1], dx_error *err)
{
    dx_strlist ids = {0};
    int rc = dx_wsdoc_ids(doc, &ids, err);
    if (rc)
        return rc;
    dx_buf p = DX_BUF_INIT;
    rc = dx_error_set(err, DX_ENOTFOUND, "no entry at '%s' in the workspace", path);
    for (size_t i = 0; i < ids.len; i++) {
        if (!dx_wsdoc_is_live(doc, ids.items[i]))
            continue;
        if (dx_wsdoc_path(doc, ids.items[i], &p, NULL) == 0 && strcmp(p.data, path) == 0) {
            snprintf(out, DX_UUID_LEN + 1, "%s", ids.items[i]);
            dx_error_clear(err);
            rc = 0;
            break;
        }
    }
    dx_buf_release(&p);
    dx_strlist_release(&ids);
    return rc;
}

static const char *const string_fields[] = {"filename", "title", "description", "part_of", "extra"};

static int with_entry(y_doc *doc, const char *id, y_type **m, dx_error *err)
{
    y_type *files = files_map(doc, err);
    if (!files)
        return files_code(doc);
    if (!(*m = entry_map(files, id)))
        return dx_error_set(err, DX_ENOTFOUND, "no entry with id '%s' in the workspace", id);
    return 0;
}

int dx_wsdoc_set_field(y_doc *doc, const char *id, const char *field, const char *value,
                       dx_error *err)
{
    bool known = false;
    for (size_t i = 0; i < sizeof string_fields / sizeof *string_fields; i++)
        known |= strcmp(field, string_fields[i]) == 0;
    if (!known)
        return dx_error_set(err, DX_EINVAL, "'%s' is not a string field of an entry", field);
    y_type *m;
    int rc = with_entry(doc, id, &m, err);
    if (rc)
        return rc;
    if ((rc = y_doc_begin(doc, NULL)) != Y_OK)
        return dx_error_set(err, ycode(rc), "cannot start a transaction: %s", y_strerror(rc));
    rc = strcmp(field, "extra") ? set_str(m, field, value) : set_extra(m, value);
    int crc = y_doc_commit(doc);
    if (rc == Y_OK)
        rc = crc;
    if (rc != Y_OK)
        return dx_error_set(err, ycode(rc), "cannot set %s of entry %s: %s", field, id,
                            y_strerror(rc));
    return 0;
}

int dx_wsdoc_set_deleted(y_doc *doc, const char *id, bool deleted, dx_error *err)
{
    y_type *m;
    int rc = with_entry(doc, id, &m, err);
    if (rc)
        return rc;
    if ((rc = set_bool(m, "deleted", deleted)) != Y_OK)
        return dx_error_set(err, ycode(rc), "cannot mark entry %s: %s", id, y_strerror(rc));
    return 0;
}

int dx_wsdoc_contents_insert(y_doc *doc, const char *parent_id, size_t index, const char *child_id,
                             dx_error *err)
{
    y_type *m;
    int rc = with_entry(doc, parent_id, &m, err);
    if (rc)
        return rc;
    y_type *arr = get_array(m, "contents");
    dx_strlist cur = {0};
    if (arr && read_array(arr, &cur) != 0) {
        dx_strlist_release(&cur);
        return dx_error_set(err, DX_ENOMEM, "out of memory");
    }
    bool listed = false;
    for (size_t i = 0; i < cur.len; i++)
        listed |= strcmp(cur.items[i], child_id) == 0;
    dx_strlist_release(&cur);
    if (listed)
        return 0;
    if ((rc = y_doc_begin(doc, NULL)) != Y_OK)
        return dx_error_set(err, ycode(rc), "cannot start a transaction: %s", y_strerror(rc));
    if (!arr)
        rc = y_map_set_type(m, "contents", Y_ARRAY, &arr);
    if (rc == Y_OK) {
        uint32_t n = y_array_length(arr);
        y_any a = y_any_string(child_id, strlen(child_id));
        rc = y_array_insert(arr, index < n ? (uint32_t)index : n, &a, 1);
    }
    int crc = y_doc_commit(doc);
    if (rc == Y_OK)
        rc = crc;
    if (rc != Y_OK)
        return dx_error_set(err, ycode(rc), "cannot add %s to the contents of %s: %s", child_id,
                            parent_id, y_strerror(rc));
    return 0;
}

int dx_wsdoc_contents_remove(y_doc *doc, const char *parent_id, const char *child_id, dx_error *err)
{
    y_type *m;
    int rc = with_entry(doc, parent_id, &m, err);
    if (rc)
        return rc;
    y_type *arr = get_array(m, "contents");
    if (!arr)
        return 0;
    if ((rc = y_doc_begin(doc, NULL)) != Y_OK)
        return dx_error_set(err, ycode(rc), "cannot start a transaction: %s", y_strerror(rc));
    /* Walk backwards so deletions do not shift the indexes still to visit. */
    for (uint32_t i = y_array_length(arr); rc == Y_OK && i-- > 0;) {
        y_value v;
        if (y_array_get(arr, i, &v) == Y_OK && !v.is_type && v.any->kind == Y_ANY_STRING &&
            strcmp(v.any->u.str.ptr, child_id) == 0)
            rc = y_array_delete(arr, i, 1);
    }
    int crc = y_doc_commit(doc);
    if (rc == Y_OK)
        rc = crc;
    if (rc != Y_OK)
        return dx_error_set(err, ycode(rc), "cannot remove %s from the contents of %s: %s",
                            child_id, parent_id, y_strerror(rc));
    return 0;
}
