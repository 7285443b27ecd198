/* bench_ycrdt.c - ycrdt on the B4 trace (automerge-paper: 259,778 single edits): replay one
 * transaction per edit, state size, loading the state into a fresh doc, applying every
 * per-edit update to a fresh doc, memory. Prints figures; bench/RESULTS.md keeps them.
 * Usage: bench_ycrdt [TRACE.json.gz] (default: tests/data/automerge-paper.json.gz in the
 * source tree, $DX_SOURCE_DIR or the current directory). */
#include <jansson.h>
#include <malloc.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "ycrdt.h"

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

typedef struct edit {
    uint32_t pos, del;
    char *ins;
    size_t ins_len;
} edit;

typedef struct recorder {
    uint8_t **u;
    size_t *len;
    size_t n, cap;
} recorder;

static void record(void *user, const uint8_t *u, size_t n, const void *origin)
{
    (void)origin;
    recorder *r = user;
    if (r->n == r->cap) {
        r->cap = r->cap ? r->cap * 2 : 1024;
        r->u = realloc(r->u, r->cap * sizeof *r->u);
        r->len = realloc(r->len, r->cap * sizeof *r->len);
    }
    r->u[r->n] = malloc(n);
    memcpy(r->u[r->n], u, n);
    r->len[r->n++] = n;
}

static y_doc *new_doc(uint64_t client)
{
    y_doc_options o = Y_DOC_OPTIONS_INIT;
    o.client_id = client;
    o.has_client_id = true;
    y_doc *d = NULL;
    y_doc_new(&d, &o);
    return d;
}

static double replay(const edit *e, size_t n, uint64_t client, recorder *rec, uint8_t **state,
                     size_t *state_len, char **text)
{
    y_doc *d = new_doc(client);
    if (rec)
        y_doc_on_update(d, record, rec);
    y_type *t = y_doc_get_text(d, "text");
    double t0 = now();
    for (size_t i = 0; i < n; i++) {
        y_doc_begin(d, NULL);
        if (e[i].del && y_text_delete(t, e[i].pos, e[i].del) != Y_OK) {
            fprintf(stderr, "delete failed at edit %zu\n", i);
            exit(1);
        }
        if (e[i].ins_len && y_text_insert(t, e[i].pos, e[i].ins, e[i].ins_len, NULL) != Y_OK) {
            fprintf(stderr, "insert failed at edit %zu\n", i);
            exit(1);
        }
        y_doc_commit(d);
    }
    double dt = now() - t0;
    if (state)
        y_encode_state_as_update(d, NULL, 0, state, state_len);
    if (text)
        y_text_string(t, text, NULL);
    y_doc_free(d);
    return dt;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
    char path[4096];
    if (argc > 1)
        snprintf(path, sizeof path, "%s", argv[1]);
    else
        snprintf(path, sizeof path, "%s/tests/data/automerge-paper.json.gz",
                 getenv("DX_SOURCE_DIR") ? getenv("DX_SOURCE_DIR") : ".");
    char cmd[4200];
    snprintf(cmd, sizeof cmd, "gzip -dc '%s'", path);
    FILE *f = popen(cmd, "r");
    json_error_t je;
    json_t *root = f ? json_loadf(f, 0, &je) : NULL;
    if (f)
        pclose(f);
    if (!root) {
        fprintf(stderr, "bench_ycrdt: cannot read the B4 trace '%s'\n", path);
        return 1;
    }
    json_t *txns = json_object_get(root, "txns");
    size_t n = json_array_size(txns);
    edit *e = calloc(n, sizeof *e);
    for (size_t i = 0; i < n; i++) {
        json_t *p = json_array_get(json_object_get(json_array_get(txns, i), "patches"), 0);
        e[i].pos = (uint32_t)json_integer_value(json_array_get(p, 0));
        e[i].del = (uint32_t)json_integer_value(json_array_get(p, 1));
        const char *s = json_string_value(json_array_get(p, 2));
        e[i].ins_len = strlen(s);
        e[i].ins = strdup(s);
    }
    const char *expected = json_string_value(json_object_get(root, "endContent"));

    double runs[5];
    uint8_t *state = NULL;
    size_t state_len = 0;
    char *text = NULL;
    for (int r = 0; r < 5; r++)
        runs[r] = replay(e, n, 12345, NULL, r == 0 ? &state : NULL, r == 0 ? &state_len : NULL,
                         r == 0 ? &text : NULL);
    qsort(runs, 5, sizeof *runs, cmp_double);
    printf("B4 replay, %zu edits, one transaction each: median %.3f s (min %.3f, max %.3f)\n", n,
           runs[2], runs[0], runs[4]);
    printf("B4 final text correct: %s (%zu bytes)\n", strcmp(text, expected) == 0 ? "yes" : "NO",
           strlen(text));
    unsigned char md[32];
    unsigned int mdlen = 0;
    EVP_Digest(state, state_len, md, &mdlen, EVP_sha256(), NULL);
    char hex[65];
    for (int i = 0; i < 32; i++)
        sprintf(hex + 2 * i, "%02x", md[i]);
    printf("B4 state update, client 12345: %zu bytes, sha256 %s\n", state_len, hex);
    uint8_t *state5 = NULL;
    size_t state5_len = 0;
    replay(e, n, 4294967295u, NULL, &state5, &state5_len, NULL);
    printf("B4 state update, 5-byte client id: %zu bytes (yjs: 311,038)\n", state5_len);

    /* Memory held by the doc after B4: heap in use before and after loading the state. */
    {
        malloc_trim(0);
        size_t before = mallinfo2().uordblks;
        y_doc *m = new_doc(1);
        y_apply_update(m, state, state_len, NULL);
        size_t after = mallinfo2().uordblks;
        printf("doc memory after B4 (heap in use by the loaded doc): %.2f MB (yjs: 3.5 MB)\n",
               (double)(after - before) / 1e6);
        y_doc_free(m);
    }
    double loads[5];
    for (int r = 0; r < 5; r++) {
        y_doc *d = new_doc(1);
        double t0 = now();
        y_apply_update(d, state, state_len, NULL);
        loads[r] = now() - t0;
        y_doc_free(d);
    }
    qsort(loads, 5, sizeof *loads, cmp_double);
    printf("load the B4 state update into a fresh doc: median %.2f ms\n", loads[2] * 1e3);

    recorder rec = {0};
    replay(e, n, 12345, &rec, NULL, NULL, NULL);
    y_doc *d = new_doc(2);
    double t0 = now();
    for (size_t i = 0; i < rec.n; i++)
        y_apply_update(d, rec.u[i], rec.len[i], NULL);
    double apply = now() - t0;
    uint8_t *applied = NULL;
    size_t applied_len = 0;
    y_encode_state_as_update(d, NULL, 0, &applied, &applied_len);
    printf("apply the %zu per-edit updates to a fresh doc: %.3f s (state identical: %s)\n", rec.n,
           apply, applied_len == state_len && !memcmp(applied, state, state_len) ? "yes" : "NO");
    /* 10,000 updates from 20 concurrent clients, applied in random arrival order. */
    {
        recorder cu = {0};
        y_doc *writers[20];
        srand(42);
        for (int w = 0; w < 20; w++) {
            writers[w] = new_doc(1000 + (uint64_t)w);
            y_doc_on_update(writers[w], record, &cu);
        }
        for (int k = 0; k < 10000; k++) {
            y_doc *w = writers[k % 20];
            y_type *t = y_doc_get_text(w, "text");
            uint32_t len = y_text_length(t);
            if (len > 5 && rand() % 4 == 0)
                y_text_delete(t, (uint32_t)rand() % (len - 1), 1);
            else
                y_text_insert(t, len ? (uint32_t)rand() % (len + 1) : 0, "ab", 2, NULL);
            if (k % 500 == 499) { /* occasional exchange so edits interleave */
                uint8_t *u = NULL;
                size_t un = 0;
                y_encode_state_as_update(w, NULL, 0, &u, &un);
                y_apply_update(writers[(k / 500) % 20], u, un, "remote");
                y_free(u);
            }
        }
        /* The recorder also saw the updates of the exchanges: keep local ones only. */
        size_t nu = cu.n;
        size_t *order = malloc(nu * sizeof *order);
        for (size_t i = 0; i < nu; i++)
            order[i] = i;
        for (size_t i = nu - 1; i > 0; i--) {
            size_t j = (size_t)rand() % (i + 1), t = order[i];
            order[i] = order[j];
            order[j] = t;
        }
        y_doc *inorder = new_doc(1), *shuffled = new_doc(2);
        for (size_t i = 0; i < nu; i++)
            y_apply_update(inorder, cu.u[i], cu.len[i], NULL);
        double c0 = now();
        for (size_t i = 0; i < nu; i++)
            y_apply_update(shuffled, cu.u[order[i]], cu.len[order[i]], NULL);
        double ct = now() - c0;
        uint8_t *a = NULL, *b = NULL;
        size_t an = 0, bn = 0;
        y_encode_state_as_update(inorder, NULL, 0, &a, &an);
        y_encode_state_as_update(shuffled, NULL, 0, &b, &bn);
        printf("%zu concurrent updates (20 clients) in random order: %.3f s (same state as in "
               "order: %s, pending left: %s)\n",
               nu, ct, an == bn && !memcmp(a, b, an) ? "yes" : "NO",
               y_doc_has_pending(shuffled) ? "yes" : "no");
        double m0 = now();
        uint8_t *merged = NULL;
        size_t mn = 0;
        int mrc = y_merge_updates((const uint8_t *const *)cu.u, cu.len, nu, &merged, &mn);
        printf("mergeUpdates of all %zu of them: %.3f s (%s, %zu bytes)\n", nu, now() - m0,
               mrc ? "failed" : "ok", mn);
        y_free(merged);
        y_free(a);
        y_free(b);
        y_doc_free(inorder);
        y_doc_free(shuffled);
        free(order);
        for (int w = 0; w < 20; w++)
            y_doc_free(writers[w]);
        for (size_t i = 0; i < cu.n; i++)
            free(cu.u[i]);
        free(cu.u);
        free(cu.len);
    }
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    printf("peak RSS of this benchmark process: %.1f MB\n", (double)ru.ru_maxrss / 1024.0);

    y_free(applied);
    y_doc_free(d);
    for (size_t i = 0; i < rec.n; i++)
        free(rec.u[i]);
    free(rec.u);
    free(rec.len);
    y_free(state);
    y_free(state5);
    y_free(text);
    for (size_t i = 0; i < n; i++)
        free(e[i].ins);
    free(e);
    json_decref(root);
    return 0;
}
