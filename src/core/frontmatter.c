/* frontmatter.c - split a note into YAML frontmatter and body; read, edit and write it
 * back with libyaml, keeping key order and value styles; no I/O. */
#include "diaryx/frontmatter.h"

#include <ctype.h>
#include <errno.h>
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <yaml.h>

/* Aliases can make a tiny document expand exponentially ("billion laughs"); a note's
 * frontmatter never needs more nodes than this, nor deeper nesting. */
#define MAX_NODES 100000
#define MAX_DEPTH 64

typedef enum { N_SCALAR, N_SEQ, N_MAP } node_type;

typedef struct node node;
struct node {
    node_type type;
    int style; /* yaml_scalar_style_t, or yaml_sequence/mapping_style_t */
    char *text;
    size_t len;
    node **keys;  /* N_MAP: scalar key nodes */
    node **items; /* N_SEQ items, N_MAP values */
    size_t n;
    char *tag; /* an explicit tag as the parser resolved it (`!x`, `tag:yaml.org,2002:str`) */
};

struct dx_fm {
    node *root; /* N_MAP, block style */
    bool present, unclosed, crlf;
    char *body;
    size_t body_len;
};

/* ---- nodes ---------------------------------------------------------------------------- */

static void node_free(node *n)
{
    if (!n)
        return;
    for (size_t i = 0; i < n->n; i++) {
        if (n->keys)
            node_free(n->keys[i]);
        node_free(n->items[i]);
    }
    free(n->keys);
    free(n->items);
    free(n->text);
    free(n->tag);
    free(n);
}

static node *node_new(node_type t, int style)
{
    node *n = calloc(1, sizeof *n);
    if (n) {
        n->type = t;
        n->style = style;
    }
    return n;
}

static node *scalar_new(const char *s, size_t len, int style)
{
    node *n = node_new(N_SCALAR, style);
    if (!n)
        return NULL;
    if (!(n->text = malloc(len + 1))) {
        free(n);
        return NULL;
    }
    memcpy(n->text, s, len);
    n->text[len] = 0;
    n->len = len;
    return n;
}

/* Append (key, value) to a map or value to a sequence (key NULL). Takes ownership. */
static int node_add(node *parent, node *key, node *value)
{
    node **items = realloc(parent->items, (parent->n + 1) * sizeof *items);
    if (!items)
        return DX_ENOMEM;
    parent->items = items;
    if (parent->type == N_MAP) {
        node **keys = realloc(parent->keys, (parent->n + 1) * sizeof *keys);
        if (!keys)
            return DX_ENOMEM;
        parent->keys = keys;
        keys[parent->n] = key;
    }
    items[parent->n++] = value;
    return 0;
}

static bool is_null_scalar(const node *n)
{
    if (n->type != N_SCALAR || n->style != YAML_PLAIN_SCALAR_STYLE)
        return false;
    return n->len == 0 || strcmp(n->text, "~") == 0 || strcmp(n->text, "null") == 0 ||
           strcmp(n->text, "Null") == 0 || strcmp(n->text, "NULL") == 0;
}

/* ---- splitting ------------------------------------------------------------------------ */

/* Length of the line terminator at p (1 for LF, 2 for CRLF), or 0 at the end of text. */
static size_t eol_at(const char *p, const char *end)
{
    if (p < end && *p == '\n')
        return 1;
    if (p + 1 < end && p[0] == '\r' && p[1] == '\n')
        return 2;
    return 0;
}

void dx_fm_split_text(const char *text, size_t len, dx_fm_split *out)
{
    memset(out, 0, sizeof *out);
    const char *end = text + len;
    if (len < 4 || memcmp(text, "---", 3) != 0)
        return;
    size_t eol = eol_at(text + 3, end);
    if (!eol)
        return;
    out->crlf = eol == 2;
    size_t start = 3 + eol;
    const char *p = text + start;
    while (p <= end) {
        /* p is the start of a line. */
        if (end - p >= 3 && memcmp(p, "---", 3) == 0) {
            size_t e = eol_at(p + 3, end);
            if (e || p + 3 == end) {
                out->has_frontmatter = true;
                out->yaml_start = start;
                out->yaml_len = (size_t)(p - text) - start;
                out->body_start = (size_t)(p + 3 + e - text);
                return;
            }
        }
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        if (!nl)
            break;
        p = nl + 1;
    }
    out->unclosed = true;
}

/* ---- parsing -------------------------------------------------------------------------- */

/* The composer over libyaml's events (rather than yaml_parser_load, whose documents lose
 * the difference between an explicit tag and the default one): anchors are expanded into
 * copies, counted against the node budget. */
typedef struct anchor {
    char *name;
    node *n;
} anchor;

typedef struct loader {
    yaml_parser_t parser;
    size_t budget;
    anchor *anchors;
    size_t n_anchors;
    yaml_mark_t mark; /* where an error other than the parser's was found */
    const char *problem;
} loader;

/* A deep copy of src at depth, for an alias; DX_ELIMIT past the depth or node budget. */
static int node_copy(loader *l, const node *src, int depth, node **out)
{
    *out = NULL;
    if (depth > MAX_DEPTH || l->budget == 0)
        return DX_ELIMIT;
    l->budget--;
    node *n = src->type == N_SCALAR ? scalar_new(src->text, src->len, src->style)
                                    : node_new(src->type, src->style);
    if (!n || (src->tag && !(n->tag = strdup(src->tag)))) {
        node_free(n);
        return DX_ENOMEM;
    }
    int rc = 0;
    for (size_t i = 0; i < src->n && !rc; i++) {
        node *k = NULL, *v = NULL;
        if (src->keys)
            rc = node_copy(l, src->keys[i], depth + 1, &k);
        if (!rc)
            rc = node_copy(l, src->items[i], depth + 1, &v);
        if (!rc)
            rc = node_add(n, k, v);
        if (rc) {
            node_free(k);
            node_free(v);
        }
    }
    if (rc)
        node_free(n);
    else
        *out = n;
    return rc;
}

/* Remember the node under its anchor (a later anchor of the same name wins). */
static int add_anchor(loader *l, const yaml_char_t *name, node *n)
{
    if (!name)
        return 0;
    anchor *a = realloc(l->anchors, (l->n_anchors + 1) * sizeof *a);
    if (!a)
        return DX_ENOMEM;
    l->anchors = a;
    if (!(a[l->n_anchors].name = strdup((const char *)name)))
        return DX_ENOMEM;
    a[l->n_anchors++].n = n;
    return 0;
}

static int next_event(loader *l, yaml_event_t *ev)
{
    return yaml_parser_parse(&l->parser, ev) ? 0 : DX_EPARSE;
}

/* The node that starts with ev (consumed, and deleted here), with its children. */
static int load_node(loader *l, yaml_event_t *ev, int depth, node **out)
{
    node *n = NULL;
    const yaml_char_t *tag = NULL, *anchor_name = NULL;
    int rc = 0;
    *out = NULL;
    if (depth > MAX_DEPTH || l->budget == 0) {
        yaml_event_delete(ev);
        return DX_ELIMIT;
    }
    l->budget--;
    switch (ev->type) {
    case YAML_ALIAS_EVENT:
        for (size_t i = l->n_anchors; i-- > 0 && !n;)
            if (!strcmp(l->anchors[i].name, (const char *)ev->data.alias.anchor)) {
                rc = node_copy(l, l->anchors[i].n, depth, &n);
                break;
            }
        if (!n && !rc) {
            l->mark = ev->start_mark;
            l->problem = "found an alias to an undefined anchor (or to a node containing it)";
            rc = DX_EPARSE;
        }
        break;
    case YAML_SCALAR_EVENT:
        n = scalar_new((const char *)ev->data.scalar.value, ev->data.scalar.length,
                       ev->data.scalar.style);
        tag = ev->data.scalar.tag;
        anchor_name = ev->data.scalar.anchor;
        rc = n ? 0 : DX_ENOMEM;
        break;
    case YAML_SEQUENCE_START_EVENT:
    case YAML_MAPPING_START_EVENT: {
        bool seq = ev->type == YAML_SEQUENCE_START_EVENT;
        n = node_new(seq ? N_SEQ : N_MAP,
                     seq ? (int)ev->data.sequence_start.style : (int)ev->data.mapping_start.style);
        tag = seq ? ev->data.sequence_start.tag : ev->data.mapping_start.tag;
        anchor_name = seq ? ev->data.sequence_start.anchor : ev->data.mapping_start.anchor;
        rc = n ? 0 : DX_ENOMEM;
        yaml_event_type_t end = seq ? YAML_SEQUENCE_END_EVENT : YAML_MAPPING_END_EVENT;
        while (!rc) {
            yaml_event_t child_ev;
            node *k = NULL, *v = NULL;
            if ((rc = next_event(l, &child_ev)))
                break;
            if (child_ev.type == end) {
                yaml_event_delete(&child_ev);
                break;
            }
            yaml_mark_t key_mark = child_ev.start_mark;
            rc = load_node(l, &child_ev, depth + 1, seq ? &v : &k);
            /* Keys must be strings short enough to be written as implicit keys (YAML
             * limits those to 1024 characters); collections as keys have no use here. */
            if (!rc && !seq && (k->type != N_SCALAR || k->len > 1000)) {
                l->mark = key_mark;
                rc = DX_EINVAL;
            }
            if (!rc && !seq && !(rc = next_event(l, &child_ev)))
                rc = load_node(l, &child_ev, depth + 1, &v);
            if (!rc && (rc = node_add(n, k, v)) == 0)
                continue;
            node_free(k);
            node_free(v);
        }
        break;
    }
    default:
        l->mark = ev->start_mark;
        l->problem = "unexpected YAML event";
        rc = DX_EPARSE;
    }
    if (!rc && tag && !(n->tag = strdup((const char *)tag)))
        rc = DX_ENOMEM;
    if (!rc)
        rc = add_anchor(l, anchor_name, n);
    yaml_event_delete(ev);
    if (rc) {
        node_free(n);
        return rc;
    }
    *out = n;
    return 0;
}

/* The document's root node (NULL for an empty stream). */
static int load_document(loader *l, node **out)
{
    yaml_event_t ev;
    int rc = next_event(l, &ev); /* STREAM-START */
    if (rc)
        return rc;
    yaml_event_delete(&ev);
    if ((rc = next_event(l, &ev)))
        return rc;
    bool doc = ev.type == YAML_DOCUMENT_START_EVENT;
    yaml_event_delete(&ev);
    if (!doc)
        return 0; /* STREAM-END: no document */
    if ((rc = next_event(l, &ev)) || (rc = load_node(l, &ev, 0, out)))
        return rc;
    /* Only the first document counts (as with yaml_parser_load); its end must parse. */
    if ((rc = next_event(l, &ev)) == 0)
        yaml_event_delete(&ev);
    return rc;
}

/* Parse YAML text into one node (NULL for an empty document). line_offset is added to
 * reported line numbers (the opening `---` line of a note). */
static int parse_yaml(const char *yaml, size_t len, const char *what, size_t line_offset,
                      node **out, dx_error *err)
{
    loader l = {.budget = MAX_NODES};
    *out = NULL;
    if (!yaml_parser_initialize(&l.parser))
        return dx_error_set(err, DX_ENOMEM, "out of memory parsing %s", what);
    yaml_parser_set_input_string(&l.parser, (const unsigned char *)yaml, len);
    int rc = load_document(&l, out);
    if (rc == DX_EPARSE && l.parser.error != YAML_NO_ERROR) {
        const char *problem = l.parser.problem ? l.parser.problem : "invalid YAML";
        if (l.parser.context)
            rc = dx_error_set(err, DX_EPARSE, "cannot parse %s (line %zu, column %zu): %s (%s)",
                              what, l.parser.problem_mark.line + 1 + line_offset,
                              l.parser.problem_mark.column + 1, problem, l.parser.context);
        else
            rc = dx_error_set(err, DX_EPARSE, "cannot parse %s (line %zu, column %zu): %s", what,
                              l.parser.problem_mark.line + 1 + line_offset,
                              l.parser.problem_mark.column + 1, problem);
    } else if (rc == DX_EPARSE) {
        rc = dx_error_set(err, DX_EPARSE, "cannot parse %s (line %zu, column %zu): %s", what,
                          l.mark.line + 1 + line_offset, l.mark.column + 1, l.problem);
    } else if (rc == DX_ELIMIT) {
        rc = dx_error_set(err, DX_EPARSE,
                          "cannot parse %s: nested or aliased too deeply (more than %d "
                          "levels or %d values)",
                          what, MAX_DEPTH, MAX_NODES);
    } else if (rc == DX_EINVAL) {
        rc = dx_error_set(err, DX_EPARSE,
                          "cannot parse %s (line %zu, column %zu): mapping keys must be strings "
                          "of at most 1000 characters",
                          what, l.mark.line + 1 + line_offset, l.mark.column + 1);
    } else if (rc) {
        dx_error_set(err, rc, "cannot parse %s: %s", what, dx_strerror(rc));
    }
    if (rc) {
        node_free(*out);
        *out = NULL;
    }
    for (size_t i = 0; i < l.n_anchors; i++)
        free(l.anchors[i].name);
    free(l.anchors);
    yaml_parser_delete(&l.parser);
    return rc;
}

static long find_key(const node *map, const char *key)
{
    for (size_t i = 0; i < map->n; i++)
        if (map->keys[i]->type == N_SCALAR && strcmp(map->keys[i]->text, key) == 0)
            return (long)i;
    return -1;
}

int dx_fm_new(dx_fm **out)
{
    dx_fm *fm = calloc(1, sizeof *fm);
    if (!fm || !(fm->root = node_new(N_MAP, YAML_BLOCK_MAPPING_STYLE)) ||
        !(fm->body = calloc(1, 1))) {
        dx_fm_free(fm);
        return DX_ENOMEM;
    }
    *out = fm;
    return 0;
}

void dx_fm_free(dx_fm *fm)
{
    if (!fm)
        return;
    node_free(fm->root);
    free(fm->body);
    free(fm);
}

/* Set the body, with CRLF line ends turned into LF when crlf (dx_fm_write turns them back). */
static int set_body_eol(dx_fm *fm, const char *body, size_t len, bool crlf)
{
    if (!crlf)
        return dx_fm_set_body(fm, body, len);
    char *b = malloc(len + 1);
    if (!b)
        return DX_ENOMEM;
    size_t n = 0;
    for (size_t i = 0; i < len; i++)
        if (!(body[i] == '\r' && i + 1 < len && body[i + 1] == '\n'))
            b[n++] = body[i];
    b[n] = 0;
    free(fm->body);
    fm->body = b;
    fm->body_len = n;
    return 0;
}

int dx_fm_parse(const char *text, size_t len, const char *name, dx_fm **out, dx_error *err)
{
    dx_fm_split sp;
    dx_fm *fm = NULL;
    node *root = NULL;
    *out = NULL;
    if (dx_fm_new(&fm))
        return dx_error_set(err, DX_ENOMEM, "out of memory parsing '%s'", name);
    dx_fm_split_text(text, len, &sp);
    fm->present = sp.has_frontmatter;
    fm->unclosed = sp.unclosed;
    /* A note's line ending is the one its first line ends with. */
    const char *nl = len ? memchr(text, '\n', len) : NULL;
    fm->crlf = nl && nl > text && nl[-1] == '\r';
    int rc = 0;
    if (sp.has_frontmatter) {
        char what[DX_ERROR_MSG_MAX / 2];
        snprintf(what, sizeof what, "frontmatter of '%s'", name);
        if ((rc = parse_yaml(text + sp.yaml_start, sp.yaml_len, what, 1, &root, err)) != 0)
            goto fail;
        if (root && is_null_scalar(root)) {
            node_free(root);
            root = NULL;
        }
        if (root && root->type != N_MAP) {
            rc = dx_error_set(err, DX_EPARSE,
                              "cannot parse frontmatter of '%s' (line 2, column 1): the "
                              "frontmatter must be a mapping of keys to values",
                              name);
            goto fail;
        }
        /* Keys are plain names here (a note's properties): a tag on one, or on the whole
         * mapping, would be lost, so such a note is refused rather than changed. */
        if (root && root->tag) {
            rc = dx_error_set(err, DX_EPARSE,
                              "cannot parse frontmatter of '%s': the frontmatter mapping has a "
                              "tag (%s); remove it",
                              name, root->tag);
            goto fail;
        }
        if (root) {
            for (size_t i = 0; i < root->n; i++) {
                if (root->keys[i]->tag) {
                    rc = dx_error_set(err, DX_EPARSE,
                                      "cannot parse frontmatter of '%s': the key '%s' has a tag "
                                      "(%s); keys must be plain names",
                                      name, root->keys[i]->text, root->keys[i]->tag);
                    goto fail;
                }
                if (root->keys[i]->type != N_SCALAR) {
                    rc = dx_error_set(err, DX_EPARSE,
                                      "cannot parse frontmatter of '%s': key %zu is not a "
                                      "string",
                                      name, i + 1);
                    goto fail;
                }
                for (size_t j = 0; j < i; j++) {
                    /* `: x`, `~: x` and `null: x` are all the null key. */
                    bool both_null = is_null_scalar(root->keys[j]) && is_null_scalar(root->keys[i]);
                    if (both_null || strcmp(root->keys[j]->text, root->keys[i]->text) == 0) {
                        rc = dx_error_set(err, DX_EPARSE,
                                          "cannot parse frontmatter of '%s': duplicate key "
                                          "'%s'",
                                          name, root->keys[i]->text);
                        goto fail;
                    }
                }
            }
            node_free(fm->root);
            fm->root = root;
            root = NULL;
            fm->root->style = YAML_BLOCK_MAPPING_STYLE;
        }
    }
    size_t bs = sp.has_frontmatter ? sp.body_start : 0;
    if ((rc = set_body_eol(fm, text + bs, len - bs, fm->crlf)) != 0) {
        dx_error_set(err, rc, "out of memory parsing '%s'", name);
        goto fail;
    }
    *out = fm;
    return 0;
fail:
    node_free(root);
    dx_fm_free(fm);
    return rc;
}

bool dx_fm_present(const dx_fm *fm)
{
    return fm->present;
}

bool dx_fm_unclosed(const dx_fm *fm)
{
    return fm->unclosed;
}

bool dx_fm_crlf(const dx_fm *fm)
{
    return fm->crlf;
}

void dx_fm_set_crlf(dx_fm *fm, bool crlf)
{
    fm->crlf = crlf;
}

size_t dx_fm_count(const dx_fm *fm)
{
    return fm->root->n;
}

const char *dx_fm_key(const dx_fm *fm, size_t i)
{
    return i < fm->root->n ? fm->root->keys[i]->text : NULL;
}

static const node *get_node(const dx_fm *fm, const char *key)
{
    long i = find_key(fm->root, key);
    return i < 0 ? NULL : fm->root->items[i];
}

dx_fm_kind dx_fm_kind_of(const dx_fm *fm, const char *key)
{
    const node *n = get_node(fm, key);
    if (!n)
        return DX_FM_ABSENT;
    if (is_null_scalar(n))
        return DX_FM_NULL;
    return n->type == N_SCALAR ? DX_FM_SCALAR : n->type == N_SEQ ? DX_FM_LIST : DX_FM_MAP;
}

bool dx_fm_has(const dx_fm *fm, const char *key)
{
    return get_node(fm, key) != NULL;
}

const char *dx_fm_get(const dx_fm *fm, const char *key)
{
    const node *n = get_node(fm, key);
    if (!n || is_null_scalar(n))
        return NULL;
    if (n->type == N_SCALAR)
        return n->text;
    if (n->type == N_SEQ)
        for (size_t i = 0; i < n->n; i++)
            if (n->items[i]->type == N_SCALAR && !is_null_scalar(n->items[i]))
                return n->items[i]->text;
    return NULL;
}

int dx_fm_get_list(const dx_fm *fm, const char *key, dx_strlist *out)
{
    const node *n = get_node(fm, key);
    if (!n || is_null_scalar(n))
        return 0;
    if (n->type == N_SCALAR)
        return dx_strlist_push(out, n->text);
    if (n->type == N_SEQ)
        for (size_t i = 0; i < n->n; i++)
            if (n->items[i]->type == N_SCALAR && !is_null_scalar(n->items[i]))
                if (dx_strlist_push(out, n->items[i]->text))
                    return DX_ENOMEM;
    return 0;
}

static bool dx_yaml_needs_quotes_n(const char *s, size_t n, bool preserved);
static bool looks_typed(const char *s, size_t n);
static node *json_to_node(json_t *j, int depth);
static int emit_yaml(const node *root, dx_buf *out);

/* A string by every reading: no tag, and quoted or a plain scalar that looks like no
 * other type. */
static bool scalar_is_string(const node *n)
{
    return n->type == N_SCALAR && !n->tag &&
           (n->style != YAML_PLAIN_SCALAR_STYLE || !looks_typed(n->text, n->len));
}

bool dx_fm_is_string(const dx_fm *fm, const char *key)
{
    const node *n = get_node(fm, key);
    return n && scalar_is_string(n);
}

bool dx_fm_is_string_list(const dx_fm *fm, const char *key)
{
    const node *n = get_node(fm, key);
    if (!n || n->type != N_SEQ || n->tag)
        return false;
    for (size_t i = 0; i < n->n; i++)
        if (!scalar_is_string(n->items[i]))
            return false;
    return true;
}

/* Whether b, the node JSON gives back for a, is a: no tags, the same kinds, sizes, keys
 * and items; equal strings (in any style); other scalars written with the same text. */
static bool same_value(const node *a, const node *b)
{
    if (a->tag || b->tag || a->type != b->type || a->n != b->n)
        return false;
    if (a->type == N_SCALAR) {
        bool as = scalar_is_string(a);
        return a->len == b->len && memcmp(a->text, b->text, a->len) == 0 &&
               as == scalar_is_string(b) && (as || b->style == YAML_PLAIN_SCALAR_STYLE);
    }
    for (size_t i = 0; i < a->n; i++)
        if ((a->type == N_MAP && !same_value(a->keys[i], b->keys[i])) ||
            !same_value(a->items[i], b->items[i]))
            return false;
    return true;
}

/* ---- typing of plain scalars (YAML 1.2 core schema) ----------------------------------- */

static bool match_int(const char *s, long long *v)
{
    const char *p = s;
    if (*p == '+' || *p == '-')
        p++;
    if (!*p)
        return false;
    for (const char *q = p; *q; q++)
        if (!isdigit((unsigned char)*q))
            return false;
    char *end;
    errno = 0;
    *v = strtoll(s, &end, 10);
    return errno == 0 && *end == 0;
}

static bool match_float(const char *s)
{
    const char *p = s;
    if (*p == '+' || *p == '-')
        p++;
    bool digits = false;
    while (isdigit((unsigned char)*p))
        p++, digits = true;
    if (*p == '.') {
        p++;
        while (isdigit((unsigned char)*p))
            p++, digits = true;
    }
    if (!digits)
        return false;
    if (*p == 'e' || *p == 'E') {
        p++;
        if (*p == '+' || *p == '-')
            p++;
        if (!isdigit((unsigned char)*p))
            return false;
        while (isdigit((unsigned char)*p))
            p++;
    }
    return *p == 0;
}

static json_t *node_to_json(const node *n)
{
    switch (n->type) {
    case N_SCALAR: {
        if (n->style != YAML_PLAIN_SCALAR_STYLE)
            return json_stringn(n->text, n->len);
        if (is_null_scalar(n))
            return json_null();
        const char *s = n->text;
        if (!strcmp(s, "true") || !strcmp(s, "True") || !strcmp(s, "TRUE"))
            return json_true();
        if (!strcmp(s, "false") || !strcmp(s, "False") || !strcmp(s, "FALSE"))
            return json_false();
        long long v;
        if (match_int(s, &v))
            return json_integer(v);
        if (match_float(s))
            return json_real(strtod(s, NULL));
        return json_stringn(n->text, n->len);
    }
    case N_SEQ: {
        json_t *a = json_array();
        for (size_t i = 0; a && i < n->n; i++)
            if (json_array_append_new(a, node_to_json(n->items[i])) != 0) {
                json_decref(a);
                return NULL;
            }
        return a;
    }
    case N_MAP: {
        json_t *o = json_object();
        for (size_t i = 0; o && i < n->n; i++) {
            /* Non-string keys are written by their text (JSON keys are strings). */
            const char *k = n->keys[i]->type == N_SCALAR ? n->keys[i]->text : "?";
            if (json_object_set_new(o, k, node_to_json(n->items[i])) != 0) {
                json_decref(o);
                return NULL;
            }
        }
        return o;
    }
    }
    return NULL;
}

int dx_fm_get_json_exact(const dx_fm *fm, const char *key, dx_buf *out)
{
    const node *n = get_node(fm, key);
    if (!n)
        return DX_ENOTFOUND;
    /* Judge the value as it will be written (an empty null inside a flow list is written
     * `null`, say), so that the rendered file is judged the same way on the next ingest. */
    dx_buf yaml = DX_BUF_INIT;
    node *norm = NULL, *back = NULL;
    json_t *j = NULL;
    char *s = NULL;
    int rc = emit_yaml(n, &yaml);
    if (!rc && parse_yaml(yaml.data, yaml.len, "a written value", 0, &norm, NULL) != 0)
        rc = DX_EUNSUPPORTED;
    if (!rc && !norm && !(norm = scalar_new("", 0, YAML_PLAIN_SCALAR_STYLE)))
        rc = DX_ENOMEM;
    if (!rc && (!(j = node_to_json(norm)) || !(back = json_to_node(j, 0))))
        rc = DX_ENOMEM;
    if (!rc && !same_value(norm, back))
        rc = DX_EUNSUPPORTED;
    if (!rc)
        rc = (s = json_dumps(j, JSON_COMPACT | JSON_ENCODE_ANY)) ? dx_buf_puts(out, s) : DX_ENOMEM;
    dx_buf_release(&yaml);
    node_free(norm);
    node_free(back);
    json_decref(j);
    free(s);
    return rc;
}

int dx_fm_get_json(const dx_fm *fm, const char *key, dx_buf *out)
{
    const node *n = get_node(fm, key);
    if (!n)
        return DX_ENOTFOUND;
    json_t *j = node_to_json(n);
    if (!j)
        return DX_ENOMEM;
    char *s = json_dumps(j, JSON_COMPACT | JSON_ENCODE_ANY);
    json_decref(j);
    if (!s)
        return DX_ENOMEM;
    int rc = dx_buf_puts(out, s);
    free(s);
    return rc;
}

/* ---- editing -------------------------------------------------------------------------- */

bool dx_yaml_needs_quotes(const char *s)
{
    return dx_yaml_needs_quotes_n(s, strlen(s), false);
}

/* preserved: the text came from a plain scalar, so keyword and number look-alikes are
 * already what the author wrote and may stay plain; only syntax problems matter. */
static bool dx_yaml_needs_quotes_n(const char *s, size_t n, bool preserved)
{
    if (n == 0)
        return true;
    if (isspace((unsigned char)s[0]) || isspace((unsigned char)s[n - 1]))
        return true;
    /* Indicators cannot start a plain scalar, except "-", "?" and ":" followed by a
     * character that is not a space (as in -15 or -x). */
    if (strchr(",[]{}#&*!|>'\"%@`", s[0]) ||
        (strchr("-?:", s[0]) && (n == 1 || isspace((unsigned char)s[1]))))
        return true;
    /* A document marker at the start of a line ends the frontmatter. */
    if (n >= 3 && (!strncmp(s, "---", 3) || !strncmp(s, "...", 3)))
        return true;
    if (strstr(s, ": ") || strstr(s, " #") || s[n - 1] == ':' || strchr(s, '\t'))
        return true;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] < 0x20)
            return true;
    return !preserved && looks_typed(s, n);
}

/* Whether a plain scalar with this text is read as something other than a string by
 * YAML 1.1 or 1.2 readers: empty (null), keywords, numbers, dates. */
static bool looks_typed(const char *s, size_t n)
{
    if (n == 0)
        return true;
    static const char *const words[] = {"true", "false", "null", "yes",  "no",    "on",    "off",
                                        "y",    "n",     "~",    ".inf", "-.inf", "+.inf", ".nan"};
    for (size_t i = 0; i < sizeof words / sizeof *words; i++)
        if (strcasecmp(s, words[i]) == 0)
            return true;
    long long v;
    if (match_int(s, &v) || match_float(s))
        return true;
    /* Other numeric forms YAML 1.1 readers know: 0x1F, 0o17, 1_000, 1:30 (sexagesimal). */
    if (isdigit((unsigned char)s[0]) ||
        ((s[0] == '+' || s[0] == '-' || s[0] == '.') && n > 1 && isdigit((unsigned char)s[1]))) {
        bool numeric_like = true;
        for (const char *p = s; *p; p++)
            if (!isalnum((unsigned char)*p) && !strchr("+-._:", *p))
                numeric_like = false;
        if (numeric_like &&
            (s[1] == 'x' || s[1] == 'o' || s[1] == 'b' || strchr(s, '_') || strchr(s, ':')))
            return true;
    }
    /* Dates and timestamps: 2024-01-15, 2024-01-15T10:00:00Z, 2024-1-5 10:00. */
    if (n >= 8 && isdigit((unsigned char)s[0]) && isdigit((unsigned char)s[1]) &&
        isdigit((unsigned char)s[2]) && isdigit((unsigned char)s[3]) && s[4] == '-')
        return true;
    return false;
}

static node *string_node(const char *s)
{
    int style = YAML_PLAIN_SCALAR_STYLE;
    if (strchr(s, '\n'))
        style = YAML_LITERAL_SCALAR_STYLE;
    else if (dx_yaml_needs_quotes(s))
        style = YAML_DOUBLE_QUOTED_SCALAR_STYLE;
    return scalar_new(s, strlen(s), style);
}

/* Put value under key (replacing, keeping the position; appended when new). */
static int put(dx_fm *fm, const char *key, node *value)
{
    if (!value)
        return DX_ENOMEM;
    long i = find_key(fm->root, key);
    if (i >= 0) {
        node_free(fm->root->items[i]);
        fm->root->items[i] = value;
        return 0;
    }
    node *k = scalar_new(key, strlen(key), YAML_PLAIN_SCALAR_STYLE);
    if (!k || node_add(fm->root, k, value) != 0) {
        node_free(k);
        node_free(value);
        return DX_ENOMEM;
    }
    return 0;
}

int dx_fm_set(dx_fm *fm, const char *key, const char *value)
{
    return put(fm, key, string_node(value));
}

int dx_fm_set_list(dx_fm *fm, const char *key, const dx_strlist *items)
{
    node *seq = node_new(N_SEQ, YAML_BLOCK_SEQUENCE_STYLE);
    if (!seq)
        return DX_ENOMEM;
    for (size_t i = 0; i < items->len; i++) {
        node *s = string_node(items->items[i]);
        if (!s || node_add(seq, NULL, s) != 0) {
            node_free(s);
            node_free(seq);
            return DX_ENOMEM;
        }
    }
    /* An empty list can only be written in flow style: `contents: []`. */
    if (items->len == 0)
        seq->style = YAML_FLOW_SEQUENCE_STYLE;
    return put(fm, key, seq);
}

int dx_fm_set_yaml(dx_fm *fm, const char *key, const char *yaml, dx_error *err)
{
    node *n = NULL;
    char what[DX_ERROR_MSG_MAX / 2];
    snprintf(what, sizeof what, "the YAML value for '%s'", key);
    int rc = parse_yaml(yaml, strlen(yaml), what, 0, &n, err);
    if (rc)
        return rc;
    if (!n)
        n = scalar_new("", 0, YAML_PLAIN_SCALAR_STYLE);
    return put(fm, key, n);
}

static node *json_to_node(json_t *j, int depth)
{
    if (depth > MAX_DEPTH)
        return NULL;
    char num[64];
    switch (json_typeof(j)) {
    case JSON_OBJECT: {
        node *m = node_new(N_MAP, YAML_FLOW_MAPPING_STYLE);
        const char *k;
        json_t *v;
        json_object_foreach(j, k, v)
        {
            node *kn = string_node(k), *vn = json_to_node(v, depth + 1);
            if (!m || !kn || !vn || node_add(m, kn, vn) != 0) {
                node_free(kn);
                node_free(vn);
                node_free(m);
                return NULL;
            }
        }
        return m;
    }
    case JSON_ARRAY: {
        node *s = node_new(N_SEQ, YAML_FLOW_SEQUENCE_STYLE);
        size_t i;
        json_t *v;
        json_array_foreach(j, i, v)
        {
            node *vn = json_to_node(v, depth + 1);
            if (!s || !vn || node_add(s, NULL, vn) != 0) {
                node_free(vn);
                node_free(s);
                return NULL;
            }
        }
        return s;
    }
    case JSON_STRING:
        return string_node(json_string_value(j));
    case JSON_INTEGER:
        snprintf(num, sizeof num, "%" JSON_INTEGER_FORMAT, json_integer_value(j));
        return scalar_new(num, strlen(num), YAML_PLAIN_SCALAR_STYLE);
    case JSON_REAL:
        snprintf(num, sizeof num, "%.17g", json_real_value(j));
        /* A float stays a float when read back: 1.0 must not become the integer 1. */
        if (!strpbrk(num, ".eEn"))
            strncat(num, ".0", sizeof num - strlen(num) - 1);
        return scalar_new(num, strlen(num), YAML_PLAIN_SCALAR_STYLE);
    case JSON_TRUE:
        return scalar_new("true", 4, YAML_PLAIN_SCALAR_STYLE);
    case JSON_FALSE:
        return scalar_new("false", 5, YAML_PLAIN_SCALAR_STYLE);
    case JSON_NULL:
        return scalar_new("null", 4, YAML_PLAIN_SCALAR_STYLE);
    }
    return NULL;
}

int dx_fm_set_json(dx_fm *fm, const char *key, const char *json, dx_error *err)
{
    json_error_t je;
    json_t *j = json_loads(json, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES, &je);
    if (!j)
        return dx_error_set(err, DX_EPARSE, "invalid JSON value for '%s' (line %d, column %d): %s",
                            key, je.line, je.column, je.text);
    node *n = json_to_node(j, 0);
    json_decref(j);
    if (!n)
        return dx_error_set(err, DX_ENOMEM, "cannot convert the value of '%s'", key);
    return put(fm, key, n);
}

int dx_fm_remove(dx_fm *fm, const char *key)
{
    long i = find_key(fm->root, key);
    if (i < 0)
        return DX_ENOTFOUND;
    node *r = fm->root;
    node_free(r->keys[i]);
    node_free(r->items[i]);
    memmove(r->keys + i, r->keys + i + 1, (r->n - (size_t)i - 1) * sizeof(node *));
    memmove(r->items + i, r->items + i + 1, (r->n - (size_t)i - 1) * sizeof(node *));
    r->n--;
    return 0;
}

int dx_fm_rename(dx_fm *fm, const char *old_key, const char *new_key)
{
    long i = find_key(fm->root, old_key);
    if (i < 0)
        return DX_ENOTFOUND;
    if (strcmp(old_key, new_key) == 0)
        return 0;
    if (find_key(fm->root, new_key) >= 0)
        return DX_EEXIST;
    node *k = scalar_new(new_key, strlen(new_key), YAML_PLAIN_SCALAR_STYLE);
    if (!k)
        return DX_ENOMEM;
    node_free(fm->root->keys[i]);
    fm->root->keys[i] = k;
    return 0;
}

int dx_fm_move(dx_fm *fm, const char *key, size_t index)
{
    long i = find_key(fm->root, key);
    if (i < 0)
        return DX_ENOTFOUND;
    node *r = fm->root, *k = r->keys[i], *v = r->items[i];
    if (index >= r->n)
        index = r->n - 1;
    memmove(r->keys + i, r->keys + i + 1, (r->n - (size_t)i - 1) * sizeof(node *));
    memmove(r->items + i, r->items + i + 1, (r->n - (size_t)i - 1) * sizeof(node *));
    memmove(r->keys + index + 1, r->keys + index, (r->n - 1 - index) * sizeof(node *));
    memmove(r->items + index + 1, r->items + index, (r->n - 1 - index) * sizeof(node *));
    r->keys[index] = k;
    r->items[index] = v;
    return 0;
}

const char *dx_fm_body(const dx_fm *fm, size_t *len)
{
    if (len)
        *len = fm->body_len;
    return fm->body;
}

int dx_fm_set_body(dx_fm *fm, const char *body, size_t len)
{
    char *b = malloc(len + 1);
    if (!b)
        return DX_ENOMEM;
    memcpy(b, body, len);
    b[len] = 0;
    free(fm->body);
    fm->body = b;
    fm->body_len = len;
    return 0;
}

/* ---- writing ------------------------------------------------------------------------ */
/* Our own emitter for the frontmatter subset: libyaml's emitter escapes every character
 * outside the Basic Multilingual Plane (emoji become \U0001F389 and force double quotes),
 * which is wrong for a journal. Styles are kept where they can represent the value. */

/* Length of a character YAML reads as a line break or BOM that we must escape (U+0085,
 * U+2028, U+2029, U+FEFF), or 0. */
static size_t special_char_at(const char *s, size_t n)
{
    const unsigned char *u = (const unsigned char *)s;
    if (n >= 2 && u[0] == 0xc2 && u[1] == 0x85)
        return 2;
    if (n >= 3 && u[0] == 0xe2 && u[1] == 0x80 && (u[2] == 0xa8 || u[2] == 0xa9))
        return 3;
    if (n >= 3 && u[0] == 0xef && u[1] == 0xbb && u[2] == 0xbf)
        return 3;
    return 0;
}

static bool has_special_chars(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] >= 0xc2 && special_char_at(s + i, n - i))
            return true;
    return false;
}

static bool plain_ok(const char *s, size_t n, bool in_flow)
{
    if (n == 0 || memchr(s, '\n', n) || has_special_chars(s, n) ||
        dx_yaml_needs_quotes_n(s, n, true))
        return false;
    /* In flow collections libyaml refuses a plain scalar starting with '?' and most ':'
     * inside one: quote those. */
    if (in_flow && s[0] == '?')
        return false;
    if (in_flow)
        for (size_t i = 0; i < n; i++)
            if (strchr(",[]{}:", s[i]))
                return false;
    return true;
}

/* The emitters append to out unchecked and return dx_buf_error(out): out is sticky and
 * fresh (emit_yaml's own), so its first failure is the one returned. */
static int emit_double(dx_buf *out, const char *s, size_t n)
{
    dx_buf_putc(out, '"');
    for (size_t i = 0; i < n && !dx_buf_error(out); i++) {
        unsigned char c = (unsigned char)s[i];
        switch (c) {
        case '"':
            dx_buf_puts(out, "\\\"");
            break;
        case '\\':
            dx_buf_puts(out, "\\\\");
            break;
        case '\n':
            dx_buf_puts(out, "\\n");
            break;
        case '\t':
            dx_buf_puts(out, "\\t");
            break;
        case '\r':
            dx_buf_puts(out, "\\r");
            break;
        default: {
            size_t sp = c >= 0xc2 ? special_char_at(s + i, n - i) : 0;
            if (sp) {
                const unsigned char *u = (const unsigned char *)s + i;
                dx_buf_puts(out, sp == 2        ? "\\N"
                                 : u[0] == 0xef ? "\\uFEFF"
                                 : u[2] == 0xa8 ? "\\L"
                                                : "\\P");
                i += sp - 1;
            } else {
                if (c < 0x20 || c == 0x7f)
                    dx_buf_printf(out, "\\x%02X", c);
                else
                    dx_buf_putc(out, (char)c);
            }
        }
        }
    }
    dx_buf_putc(out, '"');
    return dx_buf_error(out);
}

static int emit_single(dx_buf *out, const char *s, size_t n)
{
    dx_buf_putc(out, '\'');
    for (size_t i = 0; i < n; i++)
        if (s[i] == '\'')
            dx_buf_puts(out, "''");
        else
            dx_buf_putc(out, s[i]);
    dx_buf_putc(out, '\'');
    return dx_buf_error(out);
}

static int emit_indent(dx_buf *out, int indent)
{
    for (int i = 0; i < indent; i++)
        dx_buf_putc(out, ' ');
    return dx_buf_error(out);
}

/* A literal block scalar `|` at the given content indent. Values whose lines YAML cannot
 * hold in a literal (a control character, trailing spaces before a line break are fine)
 * fall back to double quotes. */
static int emit_literal(dx_buf *out, const char *s, size_t n, int indent)
{
    for (size_t i = 0; i < n; i++)
        if (((unsigned char)s[i] < 0x20 && s[i] != '\n' && s[i] != '\t') || s[i] == '\r')
            return emit_double(out, s, n);
    size_t trailing = 0;
    while (trailing < n && s[n - 1 - trailing] == '\n')
        trailing++;
    const char *chomp = trailing == 0 ? "-" : trailing == 1 ? "" : "+";
    bool lead_space = n > 0 && (s[0] == ' ' || s[0] == '\t' || s[0] == '\n');
    dx_buf_printf(out, lead_space ? "|2%s\n" : "|%s\n", chomp);
    size_t i = 0;
    while (i < n && !dx_buf_error(out)) {
        const char *nl = memchr(s + i, '\n', n - i);
        size_t len = nl ? (size_t)(nl - (s + i)) : n - i;
        if (len) {
            emit_indent(out, indent);
            dx_buf_append(out, s + i, len);
        }
        dx_buf_putc(out, '\n');
        i += len + 1;
    }
    /* The caller ends the line itself; a literal already ended it. */
    if (!dx_buf_error(out) && out->len && out->data[out->len - 1] == '\n')
        dx_buf_truncate(out, out->len - 1);
    return dx_buf_error(out);
}

static int emit_scalar(dx_buf *out, const node *n, bool in_flow, int indent)
{
    if (n->style == YAML_PLAIN_SCALAR_STYLE && (is_null_scalar(n) && n->len == 0))
        return in_flow ? dx_buf_puts(out, "null") : 0; /* `key:` stays an empty null */
    if (n->style == YAML_PLAIN_SCALAR_STYLE && plain_ok(n->text, n->len, in_flow))
        return dx_buf_append(out, n->text, n->len);
    if (has_special_chars(n->text, n->len))
        return emit_double(out, n->text, n->len);
    if (n->style == YAML_SINGLE_QUOTED_SCALAR_STYLE && !memchr(n->text, '\n', n->len)) {
        for (size_t i = 0; i < n->len; i++)
            if ((unsigned char)n->text[i] < 0x20 && n->text[i] != '\t')
                return emit_double(out, n->text, n->len);
        return emit_single(out, n->text, n->len);
    }
    if (!in_flow &&
        (n->style == YAML_LITERAL_SCALAR_STYLE || n->style == YAML_FOLDED_SCALAR_STYLE) &&
        memchr(n->text, '\n', n->len))
        return emit_literal(out, n->text, n->len, indent);
    return emit_double(out, n->text, n->len);
}

/* A tag in a form that reads back as the same tag without %TAG directives: `!` (the
 * non-specific tag), `!!name` for the YAML types, `!name` for local tags, else verbatim
 * `!<...>` with every byte that is not a letter, digit or one of -_.~/:;=+$@&? escaped. */
static int emit_tag(dx_buf *out, const char *tag)
{
    static const char core[] = "tag:yaml.org,2002:";
    const char *name = NULL;
    if (!strcmp(tag, "!"))
        return dx_buf_putc(out, '!');
    if (!strncmp(tag, core, sizeof core - 1))
        name = tag + sizeof core - 1;
    else if (tag[0] == '!')
        name = tag + 1;
    bool short_ok = name && *name;
    for (const char *p = name; short_ok && *p; p++)
        short_ok = isalnum((unsigned char)*p) || strchr("-_./", *p);
    if (short_ok)
        return dx_buf_printf(out, "%s%s", name == tag + 1 ? "!" : "!!", name);
    dx_buf_puts(out, "!<");
    for (const unsigned char *p = (const unsigned char *)tag; *p; p++)
        if (isalnum(*p) || strchr("-_.~/:;=+$@&?", *p))
            dx_buf_putc(out, (char)*p);
        else
            dx_buf_printf(out, "%%%02X", *p);
    dx_buf_putc(out, '>');
    return dx_buf_error(out);
}

static bool is_empty_null(const node *n)
{
    return n->type == N_SCALAR && is_null_scalar(n) && n->len == 0;
}

static int emit_flow(dx_buf *out, const node *n)
{
    if (n->tag) {
        emit_tag(out, n->tag);
        dx_buf_putc(out, ' ');
        /* An empty scalar with a tag: `!t ""` says what `!t` alone would in a flow. */
        if (is_empty_null(n)) {
            dx_buf_puts(out, "\"\"");
            return dx_buf_error(out);
        }
    }
    if (n->type == N_SCALAR) {
        emit_scalar(out, n, true, 0);
        return dx_buf_error(out);
    }
    dx_buf_putc(out, n->type == N_SEQ ? '[' : '{');
    for (size_t i = 0; i < n->n && !dx_buf_error(out); i++) {
        if (i)
            dx_buf_puts(out, ", ");
        if (n->type == N_MAP) {
            emit_flow(out, n->keys[i]);
            dx_buf_puts(out, ": ");
        }
        emit_flow(out, n->items[i]);
    }
    dx_buf_putc(out, n->type == N_SEQ ? ']' : '}');
    return dx_buf_error(out);
}

/* Tagged collections are written in flow style, where the tag sits before the value. */
static bool is_block(const node *n)
{
    return n->type != N_SCALAR && !n->tag && n->n > 0 &&
           (n->style == YAML_BLOCK_SEQUENCE_STYLE || n->style == YAML_BLOCK_MAPPING_STYLE ||
            n->style == YAML_ANY_SEQUENCE_STYLE);
}

static int emit_block(dx_buf *out, const node *n, int indent);

/* The value after `key:` or `- `, ending its last line (no newline). */
static int emit_value(dx_buf *out, const node *v, int indent, bool after_dash)
{
    if (!is_block(v)) {
        if (v->type != N_SCALAR) { /* a flow collection, its tag first */
            if (!after_dash)
                dx_buf_putc(out, ' ');
            emit_flow(out, v);
            return dx_buf_error(out);
        }
        if (v->tag) {
            if (!after_dash)
                dx_buf_putc(out, ' ');
            emit_tag(out, v->tag);
            after_dash = false;
        }
        if (is_empty_null(v))
            return dx_buf_error(out);
        if (!after_dash)
            dx_buf_putc(out, ' ');
        emit_scalar(out, v, false, indent + 2);
        return dx_buf_error(out);
    }
    if (after_dash) {
        /* `- a: 1` / `- - x`: the first line continues after the dash. */
        return emit_block(out, v, indent + 2);
    }
    dx_buf_putc(out, '\n');
    /* Sequences under a mapping key are not indented (`key:\n- a`), as serde_yaml writes. */
    emit_indent(out, v->type == N_SEQ ? indent : indent + 2);
    emit_block(out, v, v->type == N_SEQ ? indent : indent + 2);
    return dx_buf_error(out);
}

/* A block collection whose first line starts at the current position (already indented). */
static int emit_block(dx_buf *out, const node *n, int indent)
{
    for (size_t i = 0; i < n->n && !dx_buf_error(out); i++) {
        if (i) {
            dx_buf_putc(out, '\n');
            emit_indent(out, indent);
        }
        if (n->type == N_SEQ) {
            /* `-` alone for an empty item */
            dx_buf_puts(out, is_empty_null(n->items[i]) && !n->items[i]->tag ? "-" : "- ");
            emit_value(out, n->items[i], indent, true);
        } else {
            emit_flow(out, n->keys[i]);
            dx_buf_putc(out, ':');
            emit_value(out, n->items[i], indent, false);
        }
    }
    return dx_buf_error(out);
}

static int emit_yaml(const node *root, dx_buf *out)
{
    if (is_block(root))
        emit_block(out, root, 0);
    else
        emit_value(out, root, 0, true);
    dx_buf_putc(out, '\n');
    return dx_buf_error(out);
}

int dx_fm_get_yaml(const dx_fm *fm, const char *key, dx_buf *out)
{
    const node *n = get_node(fm, key);
    if (!n)
        return DX_ENOTFOUND;
    dx_buf tmp = DX_BUF_INIT;
    int rc = emit_yaml(n, &tmp);
    if (!rc) {
        while (tmp.len && tmp.data[tmp.len - 1] == '\n')
            dx_buf_truncate(&tmp, tmp.len - 1);
        rc = dx_buf_append(out, tmp.data, tmp.len);
    }
    dx_buf_release(&tmp);
    return rc;
}

/* Append text with its LF line ends written as CRLF when crlf. */
static int append_eol(dx_buf *out, const char *text, size_t len, bool crlf)
{
    int rc = 0;
    while (len && !rc) {
        const char *nl = crlf ? memchr(text, '\n', len) : NULL;
        size_t n = nl ? (size_t)(nl - text) : len;
        rc = dx_buf_append(out, text, n);
        if (nl && !rc)
            rc = dx_buf_append(out, "\r\n", 2), n++;
        text += n;
        len -= n;
    }
    return rc;
}

int dx_fm_write(const dx_fm *fm, dx_buf *out, dx_error *err)
{
    const char *nl = fm->crlf ? "\r\n" : "\n";
    int rc = 0;
    /* Without keys the note is its body alone, unless that body starts like a frontmatter
     * block: then an empty block keeps it from being read as one. */
    bool body_looks_like_block = fm->body_len >= 4 && memcmp(fm->body, "---", 3) == 0 &&
                                 eol_at(fm->body + 3, fm->body + fm->body_len);
    /* So does a body whose first line would give the note another line ending (an LF note
     * whose body starts with a CRLF line, a CRLF note without a line break). */
    const char *first_nl = fm->body_len ? memchr(fm->body, '\n', fm->body_len) : NULL;
    bool other_ending =
        fm->crlf ? !first_nl : first_nl && first_nl > fm->body && first_nl[-1] == '\r';
    if (fm->root->n == 0 && !fm->present && !body_looks_like_block && !other_ending)
        return append_eol(out, fm->body, fm->body_len, fm->crlf)
                   ? dx_error_set(err, DX_ENOMEM, "out of memory writing a note")
                   : 0;
    dx_buf yaml = DX_BUF_INIT;
    if (fm->root->n && (rc = emit_yaml(fm->root, &yaml)) != 0) {
        dx_buf_release(&yaml);
        return dx_error_set(err, rc, "cannot write frontmatter: %s", dx_strerror(rc));
    }
    dx_buf_printf(out, "---%s", nl);
    append_eol(out, yaml.data, yaml.len, fm->crlf);
    dx_buf_printf(out, "---%s", nl);
    append_eol(out, fm->body, fm->body_len, fm->crlf);
    dx_buf_release(&yaml);
    if ((rc = dx_buf_error(out)) != 0)
        return dx_error_set(err, rc, "cannot write a note: %s", dx_strerror(rc));
    return 0;
}
