/* test_ycrdt_interop.c - differential test against the real yjs 13.6.33: random sessions
 * played by tests/interop/gen.mjs (several clients editing a Y.Text, a Y.Map and a Y.Array,
 * updates delivered late, duplicated and out of order; the text formatted, with attributes
 * and embeds) are replayed with ycrdt; every update a local edit emits, every update of the
 * formatting cleanup after a remote update, the text's delta, and every final state, state
 * vector and JSON must be equal. Values include -0 (yjs writes it as the varInt -0), and one
 * fixed session carries -0 as a float64 and a float32 on the wire.
 * YCRDT_SEEDS=N runs more sessions (default 200); YCRDT_SESSIONS_DIR=DIR replays the logs
 * already in DIR (e.g. a failing seed kept from an earlier run). */
#include "test.h"

#include <dirent.h>
#include <jansson.h>
#include <unistd.h>

#include "ycrdt.h"

#define MAX_DOCS 4
/* Values in the log are JS numbers: read every number as a double, so that "-0" (which
 * gen.mjs writes for -0) keeps its sign instead of becoming the integer 0. */
#define VALUE_FLAGS (JSON_DECODE_ANY | JSON_DECODE_INT_AS_REAL)

typedef struct capture {
    uint8_t *data;
    size_t len;
    int count;
    int active;
    int applied_count; /* updates emitted during the last apply */
} capture;

static const char REMOTE[] = "remote"; /* origin of delivered updates */

static void on_update(void *user, const uint8_t *u, size_t n, const void *origin)
{
    capture *c = user;
    if (!c->active || origin == REMOTE)
        return;
    free(c->data);
    c->data = malloc(n);
    memcpy(c->data, u, n);
    c->len = n;
    c->count++;
}

static uint8_t *unhex(const char *h, size_t *n)
{
    size_t l = strlen(h) / 2;
    uint8_t *b = malloc(l ? l : 1);
    for (size_t i = 0; i < l; i++) {
        unsigned v;
        sscanf(h + 2 * i, "%2x", &v);
        b[i] = (uint8_t)v;
    }
    *n = l;
    return b;
}

static void to_hex(const uint8_t *b, size_t n, char *out, size_t cap)
{
    size_t i = 0;
    for (; i < n && 2 * i + 2 < cap; i++)
        sprintf(out + 2 * i, "%02x", b[i]);
    out[2 * i] = 0;
}

/* JSON (from JS) -> Any, the way yjs would have stored the value. */
static int json_to_any(json_t *j, y_any *out)
{
    memset(out, 0, sizeof *out);
    switch (json_typeof(j)) {
    case JSON_NULL:
        out->kind = Y_ANY_NULL;
        return 0;
    case JSON_TRUE:
    case JSON_FALSE:
        out->kind = Y_ANY_BOOL;
        out->u.b = json_is_true(j);
        return 0;
    case JSON_INTEGER:
    case JSON_REAL:
        out->kind = Y_ANY_NUMBER;
        out->u.num = json_number_value(j);
        return 0;
    case JSON_STRING:
        out->kind = Y_ANY_STRING;
        out->u.str.ptr = (char *)json_string_value(j);
        out->u.str.len = json_string_length(j);
        return 0;
    case JSON_ARRAY: {
        out->kind = Y_ANY_ARRAY;
        out->u.arr.len = json_array_size(j);
        out->u.arr.items = calloc(out->u.arr.len + 1, sizeof(y_any));
        for (size_t i = 0; i < out->u.arr.len; i++)
            json_to_any(json_array_get(j, i), &out->u.arr.items[i]);
        return 0;
    }
    case JSON_OBJECT: {
        out->kind = Y_ANY_OBJECT;
        size_t n = json_object_size(j), i = 0;
        out->u.obj.keys = calloc(n + 1, sizeof(char *));
        out->u.obj.values = calloc(n + 1, sizeof(y_any));
        const char *k;
        json_t *v;
        json_object_foreach(j, k, v)
        {
            out->u.obj.keys[i] = (char *)k;
            json_to_any(v, &out->u.obj.values[i++]);
        }
        out->u.obj.len = n;
        return 0;
    }
    }
    return -1;
}

/* Free what json_to_any allocated (strings and keys are borrowed from jansson). */
static void any_free_shallow(y_any *a)
{
    if (a->kind == Y_ANY_ARRAY) {
        for (size_t i = 0; i < a->u.arr.len; i++)
            any_free_shallow(&a->u.arr.items[i]);
        free(a->u.arr.items);
    } else if (a->kind == Y_ANY_OBJECT) {
        for (size_t i = 0; i < a->u.obj.len; i++)
            any_free_shallow(&a->u.obj.values[i]);
        free(a->u.obj.keys);
        free(a->u.obj.values);
    }
}

/* A JSON attributes object (or "-" for none) as y_attrs; release with attrs_free. */
typedef struct attrs_buf {
    json_t *j;
    const char **keys;
    y_any *values;
    y_attrs a;
} attrs_buf;

static const y_attrs *attrs_parse(const char *text, attrs_buf *b)
{
    memset(b, 0, sizeof *b);
    if (!strcmp(text, "-"))
        return NULL;
    json_error_t je;
    b->j = json_loads(text, 0, &je);
    size_t n = json_object_size(b->j), i = 0;
    b->keys = calloc(n + 1, sizeof *b->keys);
    b->values = calloc(n + 1, sizeof *b->values);
    const char *k;
    json_t *v;
    json_object_foreach(b->j, k, v)
    {
        b->keys[i] = k;
        json_to_any(v, &b->values[i++]);
    }
    b->a.keys = b->keys;
    b->a.values = b->values;
    b->a.len = n;
    return &b->a;
}

static void attrs_free(attrs_buf *b)
{
    for (size_t i = 0; i < b->a.len; i++)
        any_free_shallow(&b->values[i]);
    free(b->keys);
    free(b->values);
    json_decref(b->j);
}

static int replay(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return 1;
    y_doc *docs[MAX_DOCS] = {0};
    capture caps[MAX_DOCS] = {{0}};
    int ndocs = 0, failures = 0, step = 0, last_doc = -1;
    char *line = NULL;
    size_t cap = 0;
    ssize_t got;
    while ((got = getline(&line, &cap, f)) > 0 && failures == 0) {
        step++;
        line[strcspn(line, "\n")] = 0;
        char cmd[8];
        int i = 0, n1 = 0, off = 0;
        if (sscanf(line, "%7s %d %n", cmd, &i, &off) < 2 || i < 0 || i >= MAX_DOCS)
            continue;
        const char *rest = line + off;
        y_doc *d = docs[i];
        if (!strcmp(cmd, "doc")) {
            y_doc_options o = Y_DOC_OPTIONS_INIT;
            o.client_id = strtoull(rest, NULL, 10);
            o.has_client_id = true;
            y_doc_new(&docs[i], &o);
            y_doc_on_update(docs[i], on_update, &caps[i]);
            y_doc_get_text(docs[i], "t");
            y_doc_get_map(docs[i], "m");
            y_doc_get_array(docs[i], "a");
            ndocs = i + 1;
            continue;
        }
        if (!d)
            continue;
        int rc = Y_OK;
        caps[i].count = 0;
        caps[i].active = 1;
        if (!strcmp(cmd, "ti")) {
            char hexs[4096];
            sscanf(rest, "%d %4095s", &n1, hexs);
            size_t n;
            uint8_t *b = unhex(hexs, &n);
            rc = y_text_insert(y_doc_get_text(d, "t"), (uint32_t)n1, (char *)b, n, NULL);
            free(b);
            last_doc = i;
        } else if (!strcmp(cmd, "tia") || !strcmp(cmd, "tf") || !strcmp(cmd, "te")) {
            /* POS, then HEX text / LEN / JSON embed, then the attributes. */
            char arg[4096];
            int aoff = 0;
            sscanf(rest, "%d %4095s %n", &n1, arg, &aoff);
            attrs_buf ab;
            const y_attrs *at = attrs_parse(rest + aoff, &ab);
            y_type *t = y_doc_get_text(d, "t");
            if (cmd[1] == 'i') {
                size_t n;
                uint8_t *b = unhex(arg, &n);
                rc = y_text_insert(t, (uint32_t)n1, (char *)b, n, at);
                free(b);
            } else if (cmd[1] == 'f') {
                rc = y_text_format(t, (uint32_t)n1, (uint32_t)atoi(arg), at);
            } else {
                json_error_t je;
                json_t *j = json_loads(arg, VALUE_FLAGS, &je);
                y_any v;
                json_to_any(j, &v);
                rc = y_text_insert_embed(t, (uint32_t)n1, &v, at);
                any_free_shallow(&v);
                json_decref(j);
            }
            attrs_free(&ab);
            last_doc = i;
        } else if (!strcmp(cmd, "delta")) {
            caps[i].active = 0;
            char *mine = NULL;
            y_text_delta(y_doc_get_text(d, "t"), &mine);
            if (!mine || strcmp(mine, rest) != 0) {
                printf("  %s step %d: delta of doc %d differs\n    ycrdt: %.400s\n    yjs:   "
                       "%.400s\n",
                       path, step, i, mine ? mine : "(error)", rest);
                failures++;
            }
            y_free(mine);
            continue;
        } else if (!strcmp(cmd, "cleanup")) {
            /* What the doc emitted itself while applying the previous update. */
            caps[i].active = 0;
            char *got_hex = malloc(caps[i].data ? 2 * caps[i].len + 2 : 2);
            strcpy(got_hex, "-");
            if (caps[i].data)
                to_hex(caps[i].data, caps[i].len, got_hex, 2 * caps[i].len + 2);
            if (strcmp(got_hex, rest) != 0 || caps[i].applied_count > 1) {
                printf("  %s step %d: cleanup update after apply differs (%d emitted)\n"
                       "    ycrdt: %s\n    yjs:   %s\n",
                       path, step, caps[i].applied_count, got_hex, rest);
                failures++;
            }
            free(got_hex);
            free(caps[i].data);
            caps[i].data = NULL;
            continue;
        } else if (!strcmp(cmd, "td") || !strcmp(cmd, "ad")) {
            int n2 = 0;
            sscanf(rest, "%d %d", &n1, &n2);
            rc = cmd[0] == 't'
                     ? y_text_delete(y_doc_get_text(d, "t"), (uint32_t)n1, (uint32_t)n2)
                     : y_array_delete(y_doc_get_array(d, "a"), (uint32_t)n1, (uint32_t)n2);
            last_doc = i;
        } else if (!strcmp(cmd, "ms") || !strcmp(cmd, "md")) {
            char key[64];
            int koff = 0;
            sscanf(rest, "%63s %n", key, &koff);
            if (cmd[1] == 's') {
                json_error_t je;
                json_t *j = json_loads(rest + koff, VALUE_FLAGS, &je);
                y_any v;
                json_to_any(j, &v);
                rc = y_map_set(y_doc_get_map(d, "m"), key, &v);
                any_free_shallow(&v);
                json_decref(j);
            } else {
                rc = y_map_delete(y_doc_get_map(d, "m"), key);
            }
            last_doc = i;
        } else if (!strcmp(cmd, "nm") || !strcmp(cmd, "na")) {
            char key[64];
            sscanf(rest, "%63s", key);
            rc = y_map_set_type(y_doc_get_map(d, "m"), key, cmd[1] == 'm' ? Y_MAP : Y_ARRAY, NULL);
            last_doc = i;
        } else if (!strcmp(cmd, "ns") || !strcmp(cmd, "np")) {
            char key[64], sub[64] = "";
            int voff = 0;
            if (cmd[1] == 's')
                sscanf(rest, "%63s %63s %n", key, sub, &voff);
            else
                sscanf(rest, "%63s %n", key, &voff);
            y_value nested;
            if (y_map_get(y_doc_get_map(d, "m"), key, &nested) != Y_OK || !nested.is_type) {
                printf("  %s step %d: m[%s] is not a nested type here\n", path, step, key);
                failures++;
                continue;
            }
            json_error_t je;
            json_t *j = json_loads(rest + voff, VALUE_FLAGS, &je);
            y_any v;
            json_to_any(j, &v);
            if (cmd[1] == 's')
                rc = y_map_set(nested.type, sub, &v);
            else
                rc = y_array_push(nested.type, v.u.arr.items, v.u.arr.len);
            any_free_shallow(&v);
            json_decref(j);
            last_doc = i;
        } else if (!strcmp(cmd, "ai")) {
            int voff = 0;
            sscanf(rest, "%d %n", &n1, &voff);
            json_error_t je;
            json_t *j = json_loads(rest + voff, VALUE_FLAGS, &je);
            y_any v;
            json_to_any(j, &v);
            rc = y_array_insert(y_doc_get_array(d, "a"), (uint32_t)n1, v.u.arr.items, v.u.arr.len);
            any_free_shallow(&v);
            json_decref(j);
            last_doc = i;
        } else if (!strcmp(cmd, "emit")) {
            caps[i].active = 0;
            char *got_hex = malloc(caps[i].data ? 2 * caps[i].len + 2 : 2);
            strcpy(got_hex, "-");
            if (caps[i].data && last_doc == i)
                to_hex(caps[i].data, caps[i].len, got_hex, 2 * caps[i].len + 2);
            if (strcmp(got_hex, rest) != 0) {
                printf("  %s step %d: emitted update differs\n    ycrdt: %s\n    yjs:   %s\n", path,
                       step, got_hex, rest);
                failures++;
            }
            free(got_hex);
            free(caps[i].data);
            caps[i].data = NULL;
            last_doc = -1;
            continue;
        } else if (!strcmp(cmd, "apply")) {
            free(caps[i].data); /* catch what the doc emits besides the delivery itself */
            caps[i].data = NULL;
            size_t n;
            uint8_t *b = unhex(rest, &n);
            rc = y_apply_update(d, b, n, REMOTE);
            free(b);
            caps[i].active = 0;
            caps[i].applied_count = caps[i].count;
        } else if (!strcmp(cmd, "state") || !strcmp(cmd, "sv")) {
            uint8_t *b = NULL;
            size_t n = 0;
            if (cmd[1] == 't')
                y_encode_state_as_update(d, NULL, 0, &b, &n);
            else
                y_encode_state_vector(d, &b, &n);
            char *h = malloc(2 * n + 2);
            to_hex(b, n, h, 2 * n + 2);
            if (strcmp(h, rest) != 0) {
                printf("  %s step %d: %s of doc %d differs\n    ycrdt: %.300s\n    yjs:   %.300s\n",
                       path, step, cmd, i, h, rest);
                failures++;
            }
            free(h);
            y_free(b);
        } else if (!strcmp(cmd, "diffu") || !strcmp(cmd, "svu")) {
            caps[i].active = 0;
            char *a = strdup(rest);
            char *u_hex = strtok(a, " "), *sv_hex = cmd[0] == 'd' ? strtok(NULL, " ") : NULL;
            char *want = strtok(NULL, " ");
            size_t nu, nsv = 0, nout = 0;
            uint8_t *u = unhex(u_hex ? u_hex : "", &nu), *svb = sv_hex ? unhex(sv_hex, &nsv) : NULL;
            uint8_t *o = NULL;
            int r = cmd[0] == 'd' ? y_diff_update(u, nu, svb, nsv, &o, &nout)
                                  : y_state_vector_from_update(u, nu, &o, &nout);
            char *h = malloc(2 * nout + 2);
            if (r == Y_OK)
                to_hex(o, nout, h, 2 * nout + 2);
            if (r != Y_OK || !want || strcmp(h, want) != 0) {
                printf("  %s step %d: %s differs\n    ycrdt: %.300s\n    yjs:   %.300s\n", path,
                       step, cmd, r == Y_OK ? h : y_strerror(r), want ? want : "(none)");
                failures++;
            }
            free(h);
            y_free(o);
            free(u);
            free(svb);
            free(a);
            continue;
        } else if (!strcmp(cmd, "merge")) {
            caps[i].active = 0;
            char *a = strdup(rest);
            char *want = strtok(a, " ");
            const uint8_t *ups[1024];
            size_t lens[1024], nu = 0;
            for (char *h = strtok(NULL, " "); h && nu < 1024; h = strtok(NULL, " "), nu++)
                ups[nu] = unhex(h, &lens[nu]);
            uint8_t *o = NULL;
            size_t nout = 0;
            int r = y_merge_updates(ups, lens, nu, &o, &nout);
            char *hx = malloc(2 * nout + 2);
            if (r == Y_OK)
                to_hex(o, nout, hx, 2 * nout + 2);
            if (r != Y_OK || strcmp(hx, want) != 0) {
                printf("  %s step %d: merge of %zu updates differs\n    ycrdt: %.400s\n    yjs:   "
                       "%.400s\n",
                       path, step, nu, r == Y_OK ? hx : y_strerror(r), want);
                failures++;
            }
            for (size_t k = 0; k < nu; k++)
                free((void *)ups[k]);
            free(hx);
            y_free(o);
            free(a);
            continue;
        } else if (!strcmp(cmd, "json")) {
            char *t = NULL, *m = NULL, *a = NULL;
            y_type_to_json(y_doc_get_text(d, "t"), &t, NULL);
            y_type_to_json(y_doc_get_map(d, "m"), &m, NULL);
            y_type_to_json(y_doc_get_array(d, "a"), &a, NULL);
            char *mine = malloc(strlen(t) + strlen(m) + strlen(a) + 32);
            sprintf(mine, "{\"t\":%s,\"m\":%s,\"a\":%s}", t, m, a);
            json_error_t je;
            json_t *x = json_loads(mine, 0, &je), *y = json_loads(rest, 0, &je);
            if (!x || !y || !json_equal(x, y)) {
                printf("  %s: JSON of doc %d differs\n    ycrdt: %.300s\n    yjs:   %.300s\n", path,
                       i, mine, rest);
                failures++;
            }
            json_decref(x);
            json_decref(y);
            free(mine);
            y_free(t);
            y_free(m);
            y_free(a);
        }
        if (rc != Y_OK) {
            printf("  %s step %d: '%.60s' failed: %s\n", path, step, line, y_strerror(rc));
            failures++;
        }
    }
    for (int k = 0; k < ndocs; k++) {
        if (docs[k] && y_doc_has_pending(docs[k]) && failures == 0) {
            printf("  %s: doc %d still has pending structs\n", path, k);
            failures++;
        }
        y_doc_free(docs[k]);
        free(caps[k].data);
    }
    free(line);
    fclose(f);
    return failures;
}

TEST(test_random_sessions_match_yjs)
{
    const char *src = getenv("DX_SOURCE_DIR");
    const char *seeds = getenv("YCRDT_SEEDS");
    const char *given = getenv("YCRDT_SESSIONS_DIR"); /* replay existing logs instead */
    char dir[4096] = "/tmp/dx-interop-XXXXXX";
    char cmd[8192];
    if (given)
        snprintf(dir, sizeof dir, "%s", given);
    else
        CHECK(mkdtemp(dir) != NULL);
    snprintf(cmd, sizeof cmd, "node '%s/tests/interop/gen.mjs' --seeds %s --out '%s'",
             src ? src : ".", seeds ? seeds : "200", dir);
    if (!given && system(cmd) != 0) {
        TEST_FAILF("the generator failed: is node installed and tests/interop/node_modules "
                   "present? (run scripts/install-deps)");
        return;
    }
    DIR *d = opendir(dir);
    struct dirent *e;
    int sessions = 0, bad = 0;
    while (d && (e = readdir(d))) {
        if (strncmp(e->d_name, "session-", 8) != 0)
            continue;
        char path[8192];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        sessions++;
        if (replay(path) != 0 && ++bad >= 5)
            break; /* enough to look at */
    }
    if (d)
        closedir(d);
    printf("  %d sessions replayed, %d differ\n", sessions, bad);
    CHECK(sessions > 0);
    CHECK_EQ_INT(bad, 0);
    if (bad == 0 && !given) {
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
        CHECK_EQ_INT(system(cmd), 0);
    }
}

int main(void)
{
    RUN(test_random_sessions_match_yjs);
    return TEST_REPORT();
}
