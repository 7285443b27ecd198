/* fuzz_ycrdt_converge.c - the input bytes drive random edits (text with formatting and
 * embeds, map, array) on two docs with different client ids, exchanging state now and
 * then; after a final exchange both docs must encode to the same bytes and hold the same
 * text (and delta), array and map values. */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ycrdt.h"

static void sync_into(y_doc *from, y_doc *to)
{
    uint8_t *sv = NULL, *u = NULL;
    size_t nsv = 0, n = 0;
    if (y_encode_state_vector(to, &sv, &nsv) == Y_OK &&
        y_encode_state_as_update(from, sv, nsv, &u, &n) == Y_OK && y_apply_update(to, u, n, NULL))
        abort(); /* our own diff must always apply */
    y_free(sv);
    y_free(u);
}

/* Text and array as JSON; the map by key (its iteration order is the order in which this
 * peer first saw each key, which legitimately differs between peers, as in yjs). */
static char *state_json(y_doc *d)
{
    static const char *const keys[] = {"k1", "k2", "k3"};
    char *t = NULL, *a = NULL, *delta = NULL;
    y_type_to_json(y_doc_get_text(d, "t"), &t, NULL);
    y_type_to_json(y_doc_get_array(d, "a"), &a, NULL);
    y_text_delta(y_doc_get_text(d, "t"), &delta);
    size_t n = strlen(t) + strlen(a) + strlen(delta) + 64;
    y_type *m = y_doc_get_map(d, "m");
    char *vals[3] = {NULL, NULL, NULL};
    for (int k = 0; k < 3; k++) {
        y_value v;
        if (y_map_get(m, keys[k], &v) == Y_OK && !v.is_type)
            y_any_to_json(v.any, &vals[k], NULL);
        n += vals[k] ? strlen(vals[k]) : 1;
    }
    char *s = malloc(n);
    if (s)
        snprintf(s, n, "%s|%s|%s|%s|%s|%s", t, delta, a, vals[0] ? vals[0] : "-",
                 vals[1] ? vals[1] : "-", vals[2] ? vals[2] : "-");
    for (int k = 0; k < 3; k++)
        y_free(vals[k]);
    y_free(t);
    y_free(a);
    y_free(delta);
    return s;
}

static bool has_surrogates(const y_type *t)
{
    char *s = NULL;
    bool found = false;
    if (y_text_string(t, &s, NULL) == Y_OK)
        for (const char *p = s; *p && !found; p++)
            found = (unsigned char)*p >= 0xf0;
    y_free(s);
    return found;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const words[] = {"a", "hello", "🎉", "é", "\n", "xyz"};
    static const char *const keys[] = {"k1", "k2", "k3"};
    static const char *const attr_keys[] = {"bold", "color", "1"};
    y_doc_options o = Y_DOC_OPTIONS_INIT;
    y_doc *docs[2] = {NULL, NULL};
    o.has_client_id = true;
    o.client_id = 1;
    y_doc_new(&docs[0], &o);
    o.client_id = 4294967295u;
    y_doc_new(&docs[1], &o);
    if (!docs[0] || !docs[1])
        goto done;
    for (size_t i = 0; i + 2 < size && i < 3000; i += 3) {
        y_doc *d = docs[data[i] & 1];
        unsigned op = (data[i] >> 1) % 11, a = data[i + 1], b = data[i + 2];
        /* Attributes for ops 8-10: one key, a value or null (removal). */
        y_any av = b & 4 ? y_any_null() : b & 8 ? y_any_bool(true) : y_any_number((double)(a & 3));
        const char *ak[] = {attr_keys[(b >> 4) % 3]};
        y_attrs attrs = {ak, &av, 1};
        y_type *t = y_doc_get_text(d, "t"), *m = y_doc_get_map(d, "m"),
               *arr = y_doc_get_array(d, "a");
        uint32_t tl = y_text_length(t), al = y_array_length(arr);
        switch (op) {
        case 0:
        case 1: {
            const char *w = words[b % 6];
            y_text_insert(t, tl ? a % (tl + 1) : 0, w, strlen(w), NULL);
            break;
        }
        case 2:
            if (tl)
                y_text_delete(t, a % tl, 1 + b % 3 > tl - a % tl ? tl - a % tl : 1 + b % 3);
            break;
        case 3: {
            y_any v =
                b & 1 ? y_any_number((double)a) : y_any_string(words[a % 6], strlen(words[a % 6]));
            y_map_set(m, keys[b % 3], &v);
            break;
        }
        case 4:
            y_map_delete(m, keys[a % 3]);
            break;
        case 5: {
            y_any v[2] = {y_any_number((double)a), y_any_bool(b & 1)};
            y_array_insert(arr, al ? a % (al + 1) : 0, v, 1 + (b & 1));
            break;
        }
        case 6:
            if (al)
                y_array_delete(arr, a % al, 1);
            break;
        case 8: {
            const char *w = words[b % 6];
            y_text_insert(t, tl ? a % (tl + 1) : 0, w, strlen(w), b & 2 ? &attrs : NULL);
            break;
        }
        case 9:
            /* Formatting splits items at both ends without always inserting anything; a
             * split inside a surrogate pair then leaves two U+FFFD that merge back unsent,
             * in yjs as here (ContentString.splice), so peers differ: stay off emoji. */
            if (tl && !has_surrogates(t))
                y_text_format(t, a % tl, 1 + b % 5, &attrs);
            break;
        case 10: {
            y_any e = y_any_number((double)a);
            y_text_insert_embed(t, tl ? a % (tl + 1) : 0, &e, b & 2 ? &attrs : NULL);
            break;
        }
        default:
            sync_into(docs[a & 1], docs[!(a & 1)]);
        }
    }
    /* Applying remote changes to formatted text may delete redundant Format items (a local
     * change of the receiver), so exchange until nothing new comes back. */
    for (int round = 0; round < 4; round++) {
        sync_into(docs[0], docs[1]);
        sync_into(docs[1], docs[0]);
    }
    uint8_t *s0 = NULL, *s1 = NULL;
    size_t n0 = 0, n1 = 0;
    y_encode_state_as_update(docs[0], NULL, 0, &s0, &n0);
    y_encode_state_as_update(docs[1], NULL, 0, &s1, &n1);
    char *j0 = state_json(docs[0]), *j1 = state_json(docs[1]);
    if (n0 != n1 || memcmp(s0, s1, n0) != 0 || !j0 || !j1 || strcmp(j0, j1) != 0)
        abort(); /* the replicas did not converge */
    y_free(s0);
    y_free(s1);
    free(j0);
    free(j1);
done:
    y_doc_free(docs[0]);
    y_doc_free(docs[1]);
    return 0;
}
