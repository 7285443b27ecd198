/* test_ycrdt.c - ycrdt against the bytes yjs 13.6.33 produces (yjs-format.md §1, §6, §8),
 * convergence of concurrent edits, out-of-order delivery and malformed input. */
#include "test.h"

#include <math.h>

#include "ylib0.h"
#include "ycrdt.h"

static int hexval(char c)
{
    return c >= '0' && c <= '9' ? c - '0' : c - 'a' + 10;
}

/* Parse "01 02 ab" into bytes. */
static size_t unhex(const char *s, uint8_t *out)
{
    size_t n = 0;
    for (; *s; s++) {
        if (*s == ' ')
            continue;
        out[n++] = (uint8_t)(hexval(s[0]) * 16 + hexval(s[1]));
        s++;
    }
    return n;
}

#define CHECK_HEX(bytes, len, hex)                                                                 \
    do {                                                                                           \
        uint8_t want_[512];                                                                        \
        size_t wn_ = unhex(hex, want_);                                                            \
        if ((len) != wn_ || memcmp((bytes), want_, wn_) != 0) {                                    \
            char got_[1600] = {0};                                                                 \
            for (size_t i_ = 0; i_ < (len) && i_ < 500; i_++)                                      \
                sprintf(got_ + 3 * i_, "%02x ", (bytes)[i_]);                                      \
            TEST_FAILF("bytes differ:\n    got:      %s\n    expected: %s", got_, hex);            \
        }                                                                                          \
    } while (0)

static y_doc *doc_with(uint64_t client)
{
    y_doc_options o = Y_DOC_OPTIONS_INIT;
    o.client_id = client;
    o.has_client_id = true;
    y_doc *d = NULL;
    return y_doc_new(&d, &o) == Y_OK ? d : NULL;
}

/* Records every update a doc emits. */
typedef struct updates {
    uint8_t *data[64];
    size_t len[64];
    size_t n;
} updates;

static void record(void *user, const uint8_t *u, size_t n, const void *origin)
{
    (void)origin;
    updates *r = user;
    if (r->n < 64) {
        r->data[r->n] = malloc(n);
        memcpy(r->data[r->n], u, n);
        r->len[r->n++] = n;
    }
}

static void updates_free(updates *r)
{
    for (size_t i = 0; i < r->n; i++)
        free(r->data[i]);
    r->n = 0;
}

static void check_state(y_doc *d, const char *hex)
{
    uint8_t *u = NULL;
    size_t n = 0;
    CHECK_EQ_INT(y_encode_state_as_update(d, NULL, 0, &u, &n), Y_OK);
    CHECK_HEX(u, n, hex);
    y_free(u);
}

TEST(test_lib0_bytes_match_lib0)
{
    y_enc e = Y_ENC_INIT;
    y_enc_varuint(&e, 300);
    y_enc_varuint(&e, 4294967295u);
    y_enc_varint(&e, -1, false);
    y_enc_varint(&e, 64, false);
    CHECK_HEX(e.data, e.len, "ac 02 ff ff ff ff 0f 41 80 01");
    y_enc_release(&e);
    struct {
        double v;
        const char *hex;
    } nums[] = {{2147483647.0, "7d bf ff ff ff 0f"},
                {2147483648.0, "7c 4f 00 00 00"},
                {0.1, "7b 3f b9 99 99 99 99 99 9a"},
                {1099511627776.0, "7c 53 80 00 00"},
                {-0.0, "7d 40"},
                {2147483649.0, "7b 41 e0 00 00 00 20 00 00"}};
    for (size_t i = 0; i < sizeof nums / sizeof *nums; i++) {
        y_any a = y_any_number(nums[i].v);
        y_any_encode(&e, &a);
        CHECK_HEX(e.data, e.len, nums[i].hex);
        y_enc_release(&e);
    }
    /* {b:1,"1":2,a:3}: the index-like key "1" goes first, as JS Object.keys orders it. */
    char *keys[] = {"b", "1", "a"};
    y_any vals[] = {y_any_number(1), y_any_number(2), y_any_number(3)};
    y_any obj = {.kind = Y_ANY_OBJECT};
    obj.u.obj.keys = keys;
    obj.u.obj.values = vals;
    obj.u.obj.len = 3;
    y_any_encode(&e, &obj);
    CHECK_HEX(e.data, e.len, "76 03 01 31 7d 02 01 62 7d 01 01 61 7d 03");
    y_dec d;
    y_dec_init(&d, e.data, e.len);
    y_any back;
    CHECK_EQ_INT(y_any_decode(&d, &back), Y_OK);
    CHECK(y_any_equal(&back, &obj));
    y_any_release(&back);
    y_enc_release(&e);
}

TEST(test_text_inserts_emit_yjs_updates_and_merge)
{
    y_doc *d = doc_with(1);
    updates r = {0};
    y_doc_on_update(d, record, &r);
    y_type *t = y_doc_get_text(d, "t");
    CHECK_EQ_INT(y_text_insert(t, 0, "a", 1, NULL), Y_OK);
    CHECK_EQ_INT(y_text_insert(t, 1, "b", 1, NULL), Y_OK);
    CHECK_EQ_INT(y_text_insert(t, 2, "c", 1, NULL), Y_OK);
    CHECK_EQ_INT(r.n, 3);
    if (r.n == 3) {
        CHECK_HEX(r.data[0], r.len[0], "01 01 01 00 04 01 01 74 01 61 00");
        CHECK_HEX(r.data[1], r.len[1], "01 01 01 01 84 01 00 01 62 00");
        CHECK_HEX(r.data[2], r.len[2], "01 01 01 02 84 01 01 01 63 00");
    }
    check_state(d, "01 01 01 00 04 01 01 74 03 61 62 63 00");
    char *s = NULL;
    CHECK_EQ_INT(y_text_string(t, &s, NULL), Y_OK);
    CHECK_EQ_STR(s, "abc");
    y_free(s);
    CHECK_EQ_INT(y_text_length(t), 3);
    updates_free(&r);
    y_doc_free(d);
}

TEST(test_map_overwrite_bytes_and_gc)
{
    y_doc *d = doc_with(1);
    updates r = {0};
    y_doc_on_update(d, record, &r);
    y_type *m = y_doc_get_map(d, "m");
    y_any one = y_any_number(1), two = y_any_string("two", 3);
    CHECK_EQ_INT(y_map_set(m, "k", &one), Y_OK);
    CHECK_EQ_INT(y_map_set(m, "k", &two), Y_OK);
    CHECK_EQ_INT(r.n, 2);
    if (r.n == 2) {
        CHECK_HEX(r.data[0], r.len[0], "01 01 01 00 28 01 01 6d 01 6b 01 7d 01 00");
        CHECK_HEX(r.data[1], r.len[1], "01 01 01 01 a8 01 00 01 77 03 74 77 6f 01 01 01 00 01");
    }
    /* The overwritten value is garbage collected into ContentDeleted (info 0x21). */
    check_state(d, "01 02 01 00 21 01 01 6d 01 6b 01 a8 01 00 01 77 03 74 77 6f 01 01 01 00 01");
    y_value v;
    CHECK_EQ_INT(y_map_get(m, "k", &v), Y_OK);
    CHECK(!v.is_type && v.any->kind == Y_ANY_STRING && !strcmp(v.any->u.str.ptr, "two"));
    CHECK_EQ_INT(y_map_size(m), 1);
    CHECK_EQ_INT(y_map_delete(m, "k"), Y_OK);
    CHECK_EQ_INT(y_map_get(m, "k", &v), 1);
    updates_free(&r);
    y_doc_free(d);
}

/* Origins of local inserts next to tombstones (yjs-format.md §8, verified with yjs). */
TEST(test_local_insert_origins_around_tombstones)
{
    y_doc *d = doc_with(1);
    updates r = {0};
    y_type *a = y_doc_get_array(d, "a");
    y_any v[3] = {y_any_number(1), y_any_number(2), y_any_number(3)};
    CHECK_EQ_INT(y_array_insert(a, 0, v, 3), Y_OK);
    CHECK_EQ_INT(y_array_delete(a, 2, 1), Y_OK);
    y_doc_on_update(d, record, &r);
    y_any four = y_any_number(4);
    CHECK_EQ_INT(y_array_insert(a, 2, &four, 1), Y_OK);
    /* Array: insert before the tombstone: origin 1:1, rightOrigin 1:2. */
    if (r.n == 1)
        CHECK_HEX(r.data[0], r.len[0], "01 01 01 03 c8 01 01 01 02 01 7d 04 00");
    updates_free(&r);
    char *json = NULL;
    y_type_to_json(a, &json, NULL);
    CHECK_EQ_STR(json, "[1,2,4]");
    y_free(json);
    y_doc_free(d);

    d = doc_with(1);
    y_type *t = y_doc_get_text(d, "t");
    CHECK_EQ_INT(y_text_insert(t, 0, "abc", 3, NULL), Y_OK);
    CHECK_EQ_INT(y_text_delete(t, 2, 1), Y_OK);
    y_doc_on_update(d, record, &r);
    CHECK_EQ_INT(y_text_insert(t, 2, "x", 1, NULL), Y_OK);
    /* Text: insert after the tombstone: origin 1:2, no rightOrigin. */
    if (r.n == 1)
        CHECK_HEX(r.data[0], r.len[0], "01 01 01 03 84 01 02 01 78 00");
    updates_free(&r);
    /* Continuing: delete "b", insert at 1 skips both tombstones (b, c): origin 1:2 (c),
     * rightOrigin 1:3 (x). */
    CHECK_EQ_INT(y_text_delete(t, 1, 1), Y_OK);
    y_doc_on_update(d, record, &r);
    CHECK_EQ_INT(y_text_insert(t, 1, "y", 1, NULL), Y_OK);
    if (r.n >= 1)
        CHECK_HEX(r.data[r.n - 1], r.len[r.n - 1], "01 01 01 04 c4 01 02 01 03 01 79 00");
    updates_free(&r);
    char *s = NULL;
    y_text_string(t, &s, NULL);
    CHECK_EQ_STR(s, "ayx");
    y_free(s);
    y_doc_free(d);

    /* The verified yjs case from a fresh "abc": delete "b", insert at 1 -> origin 1:1,
     * rightOrigin 1:2. */
    d = doc_with(1);
    t = y_doc_get_text(d, "t");
    y_text_insert(t, 0, "abc", 3, NULL);
    y_text_delete(t, 1, 1);
    y_doc_on_update(d, record, &r);
    CHECK_EQ_INT(y_text_insert(t, 1, "y", 1, NULL), Y_OK);
    if (r.n == 1)
        CHECK_HEX(r.data[0], r.len[0], "01 01 01 03 c4 01 01 01 02 01 79 00");
    updates_free(&r);
    y_doc_free(d);
}

static void sync_docs(y_doc *a, y_doc *b)
{
    uint8_t *ua = NULL, *ub = NULL;
    size_t na = 0, nb = 0;
    y_encode_state_as_update(a, NULL, 0, &ua, &na);
    y_encode_state_as_update(b, NULL, 0, &ub, &nb);
    CHECK_EQ_INT(y_apply_update(b, ua, na, NULL), Y_OK);
    CHECK_EQ_INT(y_apply_update(a, ub, nb, NULL), Y_OK);
    y_free(ua);
    y_free(ub);
}

static void check_same_state(y_doc *a, y_doc *b)
{
    uint8_t *ua = NULL, *ub = NULL;
    size_t na = 0, nb = 0;
    y_encode_state_as_update(a, NULL, 0, &ua, &na);
    y_encode_state_as_update(b, NULL, 0, &ub, &nb);
    CHECK_EQ_MEM(ua, na, ub, nb);
    y_free(ua);
    y_free(ub);
}

TEST(test_concurrent_edits_converge)
{
    y_doc *a = doc_with(1), *b = doc_with(2);
    y_type *ta = y_doc_get_text(a, "t"), *tb = y_doc_get_text(b, "t");
    y_text_insert(ta, 0, "hello world", 11, NULL);
    sync_docs(a, b);
    y_text_insert(ta, 5, " big", 4, NULL);
    y_text_insert(tb, 11, "!", 1, NULL);
    y_text_delete(tb, 0, 1);
    y_text_insert(tb, 0, "H", 1, NULL);
    y_text_insert(ta, 0, "<<", 2, NULL);
    y_type *ma = y_doc_get_map(a, "m"), *mb = y_doc_get_map(b, "m");
    y_any x = y_any_string("from a", 6), z = y_any_string("from b", 6);
    y_map_set(ma, "k", &x);
    y_map_set(mb, "k", &z);
    sync_docs(a, b);
    check_same_state(a, b);
    char *sa = NULL, *sb = NULL;
    y_text_string(ta, &sa, NULL);
    y_text_string(tb, &sb, NULL);
    CHECK_EQ_STR(sa, "<<Hello big world!");
    CHECK_EQ_STR(sa, sb);
    y_free(sa);
    y_free(sb);
    /* The higher client id wins a concurrent map write (it is the rightmost). */
    y_value v;
    CHECK_EQ_INT(y_map_get(ma, "k", &v), Y_OK);
    CHECK(v.any && !strcmp(v.any->u.str.ptr, "from b"));
    y_doc_free(a);
    y_doc_free(b);
}

TEST(test_out_of_order_updates_and_pending_deletes)
{
    y_doc *src = doc_with(7);
    updates r = {0};
    y_doc_on_update(src, record, &r);
    y_type *t = y_doc_get_text(src, "t");
    y_text_insert(t, 0, "one ", 4, NULL);
    y_text_insert(t, 4, "two ", 4, NULL);
    y_text_insert(t, 8, "three", 5, NULL);
    y_text_delete(t, 0, 4); /* a delete-only update */
    CHECK_EQ_INT(r.n, 4);
    /* Deliver newest first: everything waits until the first update arrives. */
    y_doc *dst = doc_with(8);
    for (size_t i = r.n; i-- > 0;) {
        CHECK_EQ_INT(y_apply_update(dst, r.data[i], r.len[i], NULL), Y_OK);
        if (i > 0)
            CHECK(y_doc_has_pending(dst));
    }
    CHECK(!y_doc_has_pending(dst));
    char *s = NULL;
    y_text_string(y_doc_get_text(dst, "t"), &s, NULL);
    CHECK_EQ_STR(s, "two three");
    y_free(s);
    check_same_state(src, dst);
    /* Duplicates change nothing. */
    for (size_t i = 0; i < r.n; i++)
        CHECK_EQ_INT(y_apply_update(dst, r.data[i], r.len[i], NULL), Y_OK);
    check_same_state(src, dst);
    /* A diff against a state vector brings a third doc up to date. */
    y_doc *third = doc_with(9);
    y_apply_update(third, r.data[0], r.len[0], NULL);
    uint8_t *sv = NULL, *diff = NULL;
    size_t nsv = 0, nd = 0;
    CHECK_EQ_INT(y_encode_state_vector(third, &sv, &nsv), Y_OK);
    CHECK_HEX(sv, nsv, "01 07 04");
    CHECK_EQ_INT(y_encode_state_as_update(src, sv, nsv, &diff, &nd), Y_OK);
    CHECK_EQ_INT(y_apply_update(third, diff, nd, NULL), Y_OK);
    check_same_state(src, third);
    y_free(sv);
    y_free(diff);
    updates_free(&r);
    y_doc_free(src);
    y_doc_free(dst);
    y_doc_free(third);
}

/* The ASCII fast paths (eight bytes at a time) agree with a byte-by-byte reading at every
 * alignment, and a bad byte anywhere is found. */
TEST(test_utf8_validation_and_utf16_length_at_every_offset)
{
    const char *pieces[] = {"a", "é", "€", "😀", "abcdefgh", "xyz"};
    char buf[256];
    for (int start = 0; start < 9; start++) {
        size_t n = 0, units = 0;
        for (int i = 0; i < start; i++)
            buf[n++] = 'q', units++;
        for (int k = 0; k < 24; k++) {
            const char *p = pieces[(k * 7 + start) % 6];
            memcpy(buf + n, p, strlen(p));
            n += strlen(p);
            units += !strcmp(p, "😀") ? 2 : !strcmp(p, "abcdefgh") ? 8 : !strcmp(p, "xyz") ? 3 : 1;
        }
        CHECK(y_utf8_valid(buf, n));
        CHECK_EQ_INT(y_utf16_len(buf, n), units);
        for (size_t bad = 0; bad < n; bad += 5) {
            char save = buf[bad];
            buf[bad] = (char)0xff;
            CHECK(!y_utf8_valid(buf, n));
            buf[bad] = save;
        }
        CHECK(!y_utf8_valid(buf, n - 1) || (unsigned char)buf[n - 1] < 0x80);
    }
}

TEST(test_unicode_offsets_are_utf16)
{
    y_doc *d = doc_with(3);
    y_type *t = y_doc_get_text(d, "t");
    CHECK_EQ_INT(y_text_insert(t, 0, "a🎉b", 6, NULL), Y_OK);
    CHECK_EQ_INT(y_text_length(t), 4); /* the emoji is two UTF-16 units */
    CHECK_EQ_INT(y_text_insert(t, 3, "é", 2, NULL), Y_OK);
    char *s = NULL;
    y_text_string(t, &s, NULL);
    CHECK_EQ_STR(s, "a🎉éb");
    y_free(s);
    CHECK_EQ_INT(y_text_delete(t, 1, 2), Y_OK);
    y_text_string(t, &s, NULL);
    CHECK_EQ_STR(s, "aéb");
    y_free(s);
    CHECK_EQ_INT(y_text_insert(t, 0, "\xff", 1, NULL), Y_EINVAL);
    CHECK_EQ_INT(y_text_insert(t, 99, "x", 1, NULL), Y_EINVAL);
    y_doc_free(d);
}

TEST(test_malformed_updates_are_rejected_and_change_nothing)
{
    y_doc *d = doc_with(5);
    y_type *t = y_doc_get_text(d, "t");
    y_text_insert(t, 0, "keep", 4, NULL);
    uint8_t *before = NULL;
    size_t nbefore = 0;
    y_encode_state_as_update(d, NULL, 0, &before, &nbefore);
    const char *bad[] = {"",
                         "01",
                         "01 01 01 00 04 01 01 74 05 61",        /* string longer than input */
                         "01 01 01 00 04 01 01 74 01 61",        /* no delete set */
                         "01 01 01 00 04 01 01 74 01 61 00 00",  /* trailing bytes */
                         "ff ff ff ff ff ff ff ff ff 01",        /* huge count */
                         "01 01 01 00 04 03 01 74 01 61 00",     /* bad parent info */
                         "01 01 01 00 04 01 01 74 02 c3 28 00"}; /* invalid UTF-8 */
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        uint8_t buf[64];
        size_t n = unhex(bad[i], buf);
        CHECK_EQ_INT(y_apply_update(d, buf, n, NULL), Y_EDECODE);
        CHECK_EQ_INT(y_update_validate(buf, n), Y_EDECODE);
    }
    uint8_t *after = NULL;
    size_t nafter = 0;
    y_encode_state_as_update(d, NULL, 0, &after, &nafter);
    CHECK_EQ_MEM(before, nbefore, after, nafter);
    uint8_t empty[] = {0, 0};
    CHECK_EQ_INT(y_apply_update(d, empty, 2, NULL), Y_OK);
    y_free(before);
    y_free(after);
    y_doc_free(d);
}

TEST(test_nested_types_and_json)
{
    y_doc *d = doc_with(11);
    y_type *files = y_doc_get_map(d, "files");
    y_type *entry = NULL, *contents = NULL;
    CHECK_EQ_INT(y_map_set_type(files, "id1", Y_MAP, &entry), Y_OK);
    y_any title = y_any_string("Notes", 5);
    CHECK_EQ_INT(y_map_set(entry, "title", &title), Y_OK);
    CHECK_EQ_INT(y_map_set_type(entry, "contents", Y_ARRAY, &contents), Y_OK);
    y_any kids[2] = {y_any_string("a", 1), y_any_string("b", 1)};
    CHECK_EQ_INT(y_array_push(contents, kids, 2), Y_OK);
    char *json = NULL;
    CHECK_EQ_INT(y_type_to_json(files, &json, NULL), Y_OK);
    CHECK_EQ_STR(json, "{\"id1\":{\"title\":\"Notes\",\"contents\":[\"a\",\"b\"]}}");
    y_free(json);
    /* A replica built from the state has the same JSON. */
    y_doc *copy = doc_with(12);
    uint8_t *u = NULL;
    size_t n = 0;
    y_encode_state_as_update(d, NULL, 0, &u, &n);
    CHECK_EQ_INT(y_apply_update(copy, u, n, NULL), Y_OK);
    CHECK_EQ_INT(y_type_to_json(y_doc_get_map(copy, "files"), &json, NULL), Y_OK);
    CHECK_EQ_STR(json, "{\"id1\":{\"title\":\"Notes\",\"contents\":[\"a\",\"b\"]}}");
    y_free(json);
    check_same_state(d, copy);
    /* Deleting the entry deletes its children; they are collected. */
    CHECK_EQ_INT(y_map_delete(files, "id1"), Y_OK);
    CHECK(!y_type_is_alive(entry));
    CHECK_EQ_INT(y_map_set(entry, "x", &title), Y_EINVAL);
    y_free(u);
    y_doc_free(d);
    y_doc_free(copy);
}

TEST(test_state_vector_from_update_and_sync_messages)
{
    uint8_t buf[64], *out = NULL;
    size_t n = unhex("01 01 01 00 04 01 01 74 03 61 62 63 00", buf), on = 0;
    CHECK_EQ_INT(y_state_vector_from_update(buf, n, &out, &on), Y_OK);
    CHECK_HEX(out, on, "01 01 03");
    y_free(out);
    /* A client that does not start at clock 0 is left out. */
    n = unhex("01 01 01 02 84 01 01 01 63 00", buf);
    CHECK_EQ_INT(y_state_vector_from_update(buf, n, &out, &on), Y_OK);
    CHECK_HEX(out, on, "00");
    y_free(out);

    y_doc *a = doc_with(1), *b = doc_with(2);
    y_text_insert(y_doc_get_text(a, "t"), 0, "sync", 4, NULL);
    uint8_t *sv = NULL, *step1 = NULL, *step2 = NULL;
    size_t nsv, n1, n2;
    y_encode_state_vector(b, &sv, &nsv);
    CHECK_EQ_INT(y_sync_encode(Y_SYNC_STEP1, sv, nsv, &step1, &n1), Y_OK);
    CHECK_HEX(step1, n1, "00 01 00");
    CHECK_EQ_INT(y_sync_handle(a, step1, n1, NULL, &step2, &n2), Y_OK);
    CHECK(step2 && step2[0] == Y_SYNC_STEP2);
    uint8_t *none = NULL;
    size_t nn;
    CHECK_EQ_INT(y_sync_handle(b, step2, n2, NULL, &none, &nn), Y_OK);
    CHECK(none == NULL);
    check_same_state(a, b);
    y_sync_kind k;
    const uint8_t *p;
    size_t pl, used;
    CHECK_EQ_INT(y_sync_decode(step2, n2, &k, &p, &pl, &used), Y_OK);
    CHECK_EQ_INT(used, n2);
    uint8_t bad[] = {7, 0};
    CHECK_EQ_INT(y_sync_decode(bad, 2, &k, &p, &pl, &used), Y_EDECODE);
    y_free(sv);
    y_free(step1);
    y_free(step2);
    y_doc_free(a);
    y_doc_free(b);
}

/* ---- Y.Text formatting (bytes and deltas from yjs 13.6.33, client id 1) ---------------- */

#define CHECK_DELTA(text, want)                                                                    \
    do {                                                                                           \
        char *delta_ = NULL;                                                                       \
        CHECK_EQ_INT(y_text_delta((text), &delta_), Y_OK);                                         \
        CHECK_EQ_STR(delta_, (want));                                                              \
        y_free(delta_);                                                                            \
    } while (0)

TEST(test_text_insert_with_attributes_matches_yjs)
{
    y_doc *d = doc_with(1);
    y_type *t = y_doc_get_text(d, "t");
    updates r = {0};
    y_doc_on_update(d, record, &r);
    const char *bold[] = {"bold"};
    y_any yes = y_any_bool(true);
    y_attrs b = {bold, &yes, 1}, none = {NULL, NULL, 0};
    CHECK_EQ_INT(y_text_insert(t, 0, "hello", 5, &b), Y_OK);
    CHECK_EQ_INT(y_text_insert(t, 5, " world", 6, &none), Y_OK); /* explicit: unformatted */
    CHECK_EQ_INT(y_text_insert(t, 5, "!", 1, NULL), Y_OK);       /* inherits bold */
    CHECK_DELTA(t,
                "[{\"insert\":\"hello!\",\"attributes\":{\"bold\":true}},{\"insert\":\" world\"}]");
    CHECK_EQ_INT((int)r.n, 3);
    /* Format(bold=true), "hello", Format(bold=null): the negation goes after the text. */
    CHECK_HEX(r.data[0], r.len[0],
              "01 03 01 00 06 01 01 74 04 62 6f 6c 64 04 74 72 75 65 84 01 00 05 68 65 6c 6c 6f "
              "86 01 05 04 62 6f 6c 64 04 6e 75 6c 6c 00");
    CHECK_HEX(r.data[1], r.len[1], "01 01 01 07 84 01 06 06 20 77 6f 72 6c 64 00");
    CHECK_HEX(r.data[2], r.len[2], "01 01 01 0d c4 01 05 01 06 01 21 00");
    char *plain = NULL;
    CHECK_EQ_INT(y_text_string(t, &plain, NULL), Y_OK);
    CHECK_EQ_STR(plain, "hello! world");
    y_free(plain);
    updates_free(&r);
    y_doc_free(d);
}

TEST(test_text_format_sets_and_removes_attributes)
{
    y_doc *d = doc_with(1);
    y_type *t = y_doc_get_text(d, "t");
    CHECK_EQ_INT(y_text_insert(t, 0, "abcdef", 6, NULL), Y_OK);
    const char *italic[] = {"italic"}, *two[] = {"color", "italic"};
    y_any yes = y_any_bool(true), nul = y_any_null();
    y_any red_null[2] = {y_any_string("red", 3), y_any_null()};
    y_attrs on = {italic, &yes, 1}, off = {italic, &nul, 1}, red = {two, red_null, 2};
    CHECK_EQ_INT(y_text_format(t, 1, 3, &on), Y_OK);
    CHECK_DELTA(t, "[{\"insert\":\"a\"},{\"insert\":\"bcd\",\"attributes\":{\"italic\":true}},"
                   "{\"insert\":\"ef\"}]");
    CHECK_EQ_INT(y_text_format(t, 2, 1, &off), Y_OK);
    CHECK_DELTA(t, "[{\"insert\":\"a\"},{\"insert\":\"b\",\"attributes\":{\"italic\":true}},"
                   "{\"insert\":\"c\"},{\"insert\":\"d\",\"attributes\":{\"italic\":true}},"
                   "{\"insert\":\"ef\"}]");
    /* Setting color and removing italic everywhere deletes the italic Format items. */
    CHECK_EQ_INT(y_text_format(t, 0, 6, &red), Y_OK);
    CHECK_DELTA(t, "[{\"insert\":\"abcdef\",\"attributes\":{\"color\":\"red\"}}]");
    check_state(d, "01 0b 01 00 04 01 01 74 01 61 84 01 00 01 62 84 01 01 01 63 84 01 02 01 64 "
                   "84 01 03 02 65 66 c1 01 00 01 01 01 c1 01 03 01 04 01 c1 01 01 01 02 01 c1 01 "
                   "02 01 03 01 46 01 00 05 63 6f 6c 6f 72 05 22 72 65 64 22 86 01 05 05 63 6f 6c "
                   "6f 72 04 6e 75 6c 6c 01 01 01 06 04");
    CHECK_EQ_INT(y_text_format(t, 7, 1, &on), Y_EINVAL); /* past the end */
    CHECK_EQ_INT(y_text_format(t, 0, 0, &on), Y_OK);     /* nothing to do */
    y_any undef = {.kind = Y_ANY_UNDEFINED};
    y_attrs bad = {italic, &undef, 1};
    CHECK_EQ_INT(y_text_format(t, 0, 1, &bad), Y_EINVAL); /* JSON has no undefined */
    y_doc_free(d);
}

TEST(test_text_embeds_and_delete_keep_formatting)
{
    y_doc *d = doc_with(1);
    y_type *t = y_doc_get_text(d, "t");
    const char *bold[] = {"bold"}, *link[] = {"link"}, *image[] = {"image"};
    y_any yes = y_any_bool(true), u = y_any_string("u", 1);
    y_attrs b = {bold, &yes, 1}, l = {link, &u, 1};
    CHECK_EQ_INT(y_text_insert(t, 0, "ab", 2, &b), Y_OK);
    y_any png = y_any_string("x.png", 5);
    y_any img = {.kind = Y_ANY_OBJECT};
    img.u.obj.keys = (char **)image;
    img.u.obj.values = &png;
    img.u.obj.len = 1;
    CHECK_EQ_INT(y_text_insert_embed(t, 1, &img, NULL), Y_OK); /* no attributes: not bold */
    y_any arr_items[2] = {y_any_number(1), y_any_string("two", 3)};
    y_any arr = {.kind = Y_ANY_ARRAY};
    arr.u.arr.items = arr_items;
    arr.u.arr.len = 2;
    CHECK_EQ_INT(y_text_insert_embed(t, 3, &arr, &l), Y_OK);
    CHECK_DELTA(t, "[{\"insert\":\"a\",\"attributes\":{\"bold\":true}},{\"insert\":{\"image\":"
                   "\"x.png\"}},{\"insert\":\"b\",\"attributes\":{\"bold\":true}},{\"insert\":[1,"
                   "\"two\"],\"attributes\":{\"link\":\"u\"}}]");
    CHECK_EQ_INT(y_text_length(t), 4);
    /* Deleting the embed cleans the Format items around it, as yjs's deleteText does. */
    CHECK_EQ_INT(y_text_delete(t, 1, 1), Y_OK);
    CHECK_DELTA(t, "[{\"insert\":\"ab\",\"attributes\":{\"bold\":true}},{\"insert\":[1,\"two\"],"
                   "\"attributes\":{\"link\":\"u\"}}]");
    check_state(d, "01 08 01 00 06 01 01 74 04 62 6f 6c 64 04 74 72 75 65 84 01 00 01 61 84 01 01 "
                   "01 62 86 01 02 04 62 6f 6c 64 04 6e 75 6c 6c c1 01 01 01 02 03 86 01 03 04 6c "
                   "69 6e 6b 03 22 75 22 85 01 07 09 5b 31 2c 22 74 77 6f 22 5d 86 01 08 04 6c 69 "
                   "6e 6b 04 6e 75 6c 6c 01 01 01 04 03");
    y_any str = y_any_string("s", 1), nul = y_any_null();
    CHECK_EQ_INT(y_text_insert_embed(t, 0, &str, NULL), Y_EINVAL); /* text, not an embed */
    CHECK_EQ_INT(y_text_insert_embed(t, 0, &nul, NULL), Y_EINVAL);
    CHECK_EQ_INT(y_text_insert_embed(t, 9, &arr, NULL), Y_EINVAL);
    y_doc_free(d);
}

static void forward_remote(void *user, const uint8_t *u, size_t n, const void *origin)
{
    updates *r = user;
    if (origin == (const void *)r)
        return; /* the delivery itself */
    record(user, u, n, origin);
}

TEST(test_remote_delete_runs_the_formatting_cleanup)
{
    y_doc *a = doc_with(1), *b = doc_with(2);
    y_type *ta = y_doc_get_text(a, "t"), *tb = y_doc_get_text(b, "t");
    CHECK_EQ_INT(y_text_insert(ta, 0, "abc", 3, NULL), Y_OK);
    uint8_t *s = NULL;
    size_t n = 0;
    CHECK_EQ_INT(y_encode_state_as_update(a, NULL, 0, &s, &n), Y_OK);
    CHECK_EQ_INT(y_apply_update(b, s, n, NULL), Y_OK);
    y_free(s);
    const char *bold[] = {"bold"};
    y_any yes = y_any_bool(true);
    y_attrs on = {bold, &yes, 1};
    CHECK_EQ_INT(y_text_format(ta, 1, 1, &on), Y_OK);
    CHECK_EQ_INT(y_text_delete(tb, 1, 1), Y_OK); /* concurrently, the formatted "b" goes */
    updates r = {0};
    y_doc_on_update(a, forward_remote, &r);
    CHECK_EQ_INT(y_encode_state_as_update(b, NULL, 0, &s, &n), Y_OK);
    CHECK_EQ_INT(y_apply_update(a, s, n, &r), Y_OK);
    y_free(s);
    /* Left with Format(bold=true) next to Format(bold=null) around nothing, yjs deletes the
     * first in a transaction of its own, with its own update. */
    CHECK_EQ_INT((int)r.n, 1);
    if (r.n == 1)
        CHECK_HEX(r.data[0], r.len[0], "00 01 01 01 03 01");
    CHECK_DELTA(ta, "[{\"insert\":\"a\"},{\"insert\":\"c\"}]");
    check_state(a, "01 05 01 00 04 01 01 74 01 61 81 01 00 01 84 01 01 01 63 c1 01 00 01 01 01 c6 "
                   "01 01 01 02 04 62 6f 6c 64 04 6e 75 6c 6c 01 01 02 01 01 03 01");
    updates_free(&r);
    y_doc_free(a);
    y_doc_free(b);
}

TEST(test_json_numbers_print_as_javascript_does)
{
    const double v[] = {1e-7, 1152921504606846976.0, -0.0, 1e21, 123.456, 0.1 + 0.2, 5, -2.5};
    const char *want[] = {"1e-7",    "1152921504606847000", "0", "1e+21",
                          "123.456", "0.30000000000000004", "5", "-2.5"};
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
        y_any a = y_any_number(v[i]);
        char *j = NULL;
        CHECK_EQ_INT(y_any_to_json(&a, &j, NULL), Y_OK);
        CHECK_EQ_STR(j, want[i]);
        y_free(j);
    }
}

/* yjs writes a JS -0 as the varInt -0 (0x7d 0x40), and writes -0 received as a float64 or
 * float32 the same way when it re-encodes a struct. The bytes below are yjs 13.6.33's
 * (tests/interop/gen.mjs, negativeZeroOnTheWire): map values f64 and f32 holding -0 as
 * float64 (7b 80 00..) and float32 (7c 80 00 00 00), and an array [-0, 2.5]. */
TEST(test_negative_zero_keeps_its_sign_like_yjs)
{
    static const char wire[] = "010301002801016d03663634017b80000000000000002801016d0366333201"
                               "7c8000000008010161027d407c4020000000";
    static const char yjs_state[] = "010301002801016d03663634017d402801016d03663332017d40080101"
                                    "61027d407c4020000000";
    static const char other[] = "010103002801016d0178017d4000"; /* client 3 sets x = -0 */
    static const char yjs_merged[] = "020103002801016d0178017d400301002801016d03663634017d4028"
                                     "01016d03663332017d4008010161027d407c4020000000";
    uint8_t w[128], o[64], want[128];
    size_t nw = unhex(wire, w), no = unhex(other, o);
    /* Decoding and copying an Any keep the sign. */
    y_dec d;
    y_any a, c;
    const uint8_t neg0[] = {125, 0x40};
    y_dec_init(&d, neg0, sizeof neg0);
    CHECK_EQ_INT(y_any_decode(&d, &a), Y_OK);
    CHECK(a.kind == Y_ANY_NUMBER && a.u.num == 0 && signbit(a.u.num));
    CHECK_EQ_INT(y_any_copy(&c, &a), Y_OK);
    CHECK(c.kind == Y_ANY_NUMBER && signbit(c.u.num));
    char *j = NULL;
    CHECK_EQ_INT(y_any_to_json(&c, &j, NULL), Y_OK);
    CHECK_EQ_STR(j, "0"); /* JSON.stringify(-0) */
    y_free(j);
    y_any_release(&a);
    y_any_release(&c);
    /* A doc that applied the update encodes its state as yjs does. */
    y_doc_options opt = Y_DOC_OPTIONS_INIT;
    opt.client_id = 2;
    opt.has_client_id = true;
    y_doc *doc = NULL;
    CHECK_EQ_INT(y_doc_new(&doc, &opt), Y_OK);
    CHECK_EQ_INT(y_apply_update(doc, w, nw, NULL), Y_OK);
    uint8_t *u = NULL;
    size_t n = 0;
    CHECK_EQ_INT(y_encode_state_as_update(doc, NULL, 0, &u, &n), Y_OK);
    size_t nwant = unhex(yjs_state, want);
    CHECK(n == nwant && memcmp(u, want, n) == 0);
    y_free(u);
    y_doc_free(doc);
    /* Doc-free merge and diff re-encode the structs: the same bytes as yjs. */
    const uint8_t *ups[2] = {w, o};
    size_t lens[2] = {nw, no};
    CHECK_EQ_INT(y_merge_updates(ups, lens, 2, &u, &n), Y_OK);
    nwant = unhex(yjs_merged, want);
    CHECK(n == nwant && memcmp(u, want, n) == 0);
    y_free(u);
    const uint8_t empty_sv[] = {0};
    CHECK_EQ_INT(y_diff_update(w, nw, empty_sv, 1, &u, &n), Y_OK);
    nwant = unhex(yjs_state, want);
    CHECK(n == nwant && memcmp(u, want, n) == 0);
    y_free(u);
}

int main(void)
{
    RUN(test_lib0_bytes_match_lib0);
    RUN(test_text_inserts_emit_yjs_updates_and_merge);
    RUN(test_map_overwrite_bytes_and_gc);
    RUN(test_local_insert_origins_around_tombstones);
    RUN(test_concurrent_edits_converge);
    RUN(test_out_of_order_updates_and_pending_deletes);
    RUN(test_utf8_validation_and_utf16_length_at_every_offset);
    RUN(test_unicode_offsets_are_utf16);
    RUN(test_malformed_updates_are_rejected_and_change_nothing);
    RUN(test_nested_types_and_json);
    RUN(test_state_vector_from_update_and_sync_messages);
    RUN(test_text_insert_with_attributes_matches_yjs);
    RUN(test_text_format_sets_and_removes_attributes);
    RUN(test_text_embeds_and_delete_keep_formatting);
    RUN(test_remote_delete_runs_the_formatting_cleanup);
    RUN(test_json_numbers_print_as_javascript_does);
    RUN(test_negative_zero_keeps_its_sign_like_yjs);
    return TEST_REPORT();
}
