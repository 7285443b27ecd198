/* test_wsdoc.c - the workspace document schema: fields, paths, contents, merging. */
#include "test.h"

#include "diaryx/wsdoc.h"

static y_doc *new_doc(uint64_t client)
{
    y_doc_options o = Y_DOC_OPTIONS_INIT;
    o.client_id = client;
    o.has_client_id = true;
    y_doc *d = NULL;
    if (y_doc_new(&d, &o) != Y_OK)
        return NULL;
    return d;
}

static void put_entry(y_doc *d, const char *id, const char *filename, const char *parent,
                      bool index, const char *title)
{
    dx_entry e = DX_ENTRY_INIT;
    snprintf(e.id, sizeof e.id, "%s", id);
    e.filename = strdup(filename);
    e.part_of = parent ? strdup(parent) : NULL;
    e.title = title ? strdup(title) : NULL;
    e.is_index = index;
    e.modified_at = 1700000000123;
    dx_error err = DX_ERROR_INIT;
    CHECK_EQ_INT(dx_wsdoc_put(d, &e, &err), 0);
    dx_entry_release(&e);
}

static int updates_seen;
static void count_update(void *user, const uint8_t *u, size_t n, const void *origin)
{
    (void)user, (void)u, (void)n, (void)origin;
    updates_seen++;
}

TEST(test_uuid_v4_is_random_and_valid)
{
    char a[DX_UUID_LEN + 1], b[DX_UUID_LEN + 1];
    CHECK_EQ_INT(dx_uuid_v4(a), 0);
    CHECK_EQ_INT(dx_uuid_v4(b), 0);
    CHECK(dx_uuid_valid(a) && dx_uuid_valid(b));
    CHECK(strcmp(a, b) != 0);
    CHECK_EQ_INT(a[14], '4');
    CHECK(strchr("89ab", a[19]) != NULL);
    CHECK(!dx_uuid_valid("not-a-uuid"));
    CHECK(!dx_uuid_valid("0123456789abcdef0123456789abcdef0123"));
}

TEST(test_wsdoc_put_get_round_trips_every_field)
{
    y_doc *d = new_doc(1);
    dx_entry e = DX_ENTRY_INIT;
    e.filename = strdup("notes/notes.md");
    e.title = strdup("Notes: ünïcode 🎉");
    e.description = strdup("All my notes");
    e.part_of = strdup("11111111-1111-4111-8111-111111111111");
    e.is_index = true;
    dx_strlist_push(&e.contents, "22222222-2222-4222-8222-222222222222");
    dx_strlist_push(&e.contents, "33333333-3333-4333-8333-333333333333");
    dx_strlist_push(&e.attachments, "_attachments/a.png");
    e.has_audience = true;
    dx_strlist_push(&e.audience, "family");
    e.extra_json = strdup("{\"tags\":[\"a\",\"b\"],\"created\":\"2024-01-01\"}");
    e.modified_at = 1700000000123;
    dx_error err = DX_ERROR_INIT;
    CHECK_EQ_INT(dx_wsdoc_put(d, &e, &err), 0);
    CHECK(dx_uuid_valid(e.id));

    dx_entry g = DX_ENTRY_INIT;
    CHECK_EQ_INT(dx_wsdoc_get(d, e.id, &g, &err), 0);
    CHECK_EQ_STR(g.filename, "notes/notes.md");
    CHECK_EQ_STR(g.title, e.title);
    CHECK_EQ_STR(g.description, "All my notes");
    CHECK_EQ_STR(g.part_of, e.part_of);
    CHECK(g.is_index);
    CHECK_EQ_INT(g.contents.len, 2);
    CHECK_EQ_STR(g.contents.items[1], "33333333-3333-4333-8333-333333333333");
    CHECK_EQ_INT(g.attachments.len, 1);
    CHECK(g.has_audience);
    CHECK_EQ_STR(g.audience.items[0], "family");
    CHECK_EQ_STR(g.extra_json, e.extra_json);
    CHECK(!g.deleted);
    CHECK_EQ_INT(g.modified_at, 1700000000123);

    /* Removing optional fields deletes them. */
    free(g.description);
    g.description = NULL;
    g.is_index = false;
    g.has_audience = false;
    CHECK_EQ_INT(dx_wsdoc_put(d, &g, &err), 0);
    dx_entry h = DX_ENTRY_INIT;
    CHECK_EQ_INT(dx_wsdoc_get(d, e.id, &h, &err), 0);
    CHECK(h.description == NULL && !h.is_index && !h.has_audience);
    CHECK_EQ_INT(h.contents.len, 0);

    CHECK_EQ_INT(dx_wsdoc_get(d, "00000000-0000-4000-8000-000000000000", &h, &err), DX_ENOTFOUND);
    dx_entry_release(&e);
    dx_entry_release(&g);
    dx_entry_release(&h);
    y_doc_free(d);
}

TEST(test_wsdoc_unchanged_put_writes_nothing)
{
    y_doc *d = new_doc(2);
    put_entry(d, "aaaaaaaa-0000-4000-8000-000000000001", "README.md", NULL, true, "Root");
    int id = y_doc_on_update(d, count_update, NULL);
    CHECK(id >= 0);
    updates_seen = 0;
    put_entry(d, "aaaaaaaa-0000-4000-8000-000000000001", "README.md", NULL, true, "Root");
    CHECK_EQ_INT(updates_seen, 0);
    put_entry(d, "aaaaaaaa-0000-4000-8000-000000000001", "README.md", NULL, true, "Root 2");
    CHECK_EQ_INT(updates_seen, 1);
    y_doc_free(d);
}

#define ROOT  "00000000-0000-4000-8000-000000000001"
#define NOTES "00000000-0000-4000-8000-000000000002"
#define IDEAS "00000000-0000-4000-8000-000000000003"
#define YEAR  "00000000-0000-4000-8000-000000000004"
#define MONTH "00000000-0000-4000-8000-000000000005"

TEST(test_wsdoc_path_follows_parent_directories)
{
    y_doc *d = new_doc(3);
    put_entry(d, ROOT, "README.md", NULL, true, "Root");
    put_entry(d, NOTES, "notes/notes.md", ROOT, true, "Notes");
    put_entry(d, IDEAS, "ideas.md", NOTES, false, "Ideas");
    put_entry(d, YEAR, "daily/2024/2024_index.md", ROOT, true, "2024");
    put_entry(d, MONTH, "01/2024_january.md", YEAR, true, "January 2024");
    dx_buf p = DX_BUF_INIT;
    dx_error err = DX_ERROR_INIT;
    CHECK_EQ_INT(dx_wsdoc_path(d, ROOT, &p, &err), 0);
    CHECK_EQ_STR(p.data, "README.md");
    CHECK_EQ_INT(dx_wsdoc_path(d, IDEAS, &p, &err), 0);
    CHECK_EQ_STR(p.data, "notes/ideas.md");
    CHECK_EQ_INT(dx_wsdoc_path(d, MONTH, &p, &err), 0);
    CHECK_EQ_STR(p.data, "daily/2024/01/2024_january.md");

    char id[DX_UUID_LEN + 1];
    CHECK_EQ_INT(dx_wsdoc_find_path(d, "notes/ideas.md", id, &err), 0);
    CHECK_EQ_STR(id, IDEAS);
    CHECK_EQ_INT(dx_wsdoc_find_path(d, "notes/none.md", id, &err), DX_ENOTFOUND);
    CHECK(strstr(err.msg, "notes/none.md") != NULL);

    /* Moving the notes index moves its children's paths with it: one field changes. */
    CHECK_EQ_INT(dx_wsdoc_set_field(d, NOTES, "filename", "archive/notes/notes.md", &err), 0);
    CHECK_EQ_INT(dx_wsdoc_path(d, IDEAS, &p, &err), 0);
    CHECK_EQ_STR(p.data, "archive/notes/ideas.md");

    /* Deleted entries are not found by path. */
    CHECK_EQ_INT(dx_wsdoc_set_deleted(d, IDEAS, true, &err), 0);
    CHECK_EQ_INT(dx_wsdoc_find_path(d, "archive/notes/ideas.md", id, &err), DX_ENOTFOUND);
    dx_buf_release(&p);
    y_doc_free(d);
}

TEST(test_wsdoc_path_rejects_cycles_and_escapes)
{
    y_doc *d = new_doc(4);
    put_entry(d, NOTES, "a.md", IDEAS, false, NULL);
    put_entry(d, IDEAS, "b.md", NOTES, false, NULL);
    put_entry(d, YEAR, "../../etc/passwd", NULL, false, NULL);
    put_entry(d, MONTH, "x.md", "00000000-0000-4000-8000-00000000dead", false, NULL);
    dx_buf p = DX_BUF_INIT;
    dx_error err = DX_ERROR_INIT;
    CHECK_EQ_INT(dx_wsdoc_path(d, NOTES, &p, &err), DX_ECORRUPT);
    CHECK(strstr(err.msg, "cycle") != NULL);
    CHECK_EQ_INT(dx_wsdoc_path(d, YEAR, &p, &err), DX_ECORRUPT);
    CHECK(strstr(err.msg, "invalid filename") != NULL);
    CHECK_EQ_INT(dx_wsdoc_path(d, MONTH, &p, &err), DX_ECORRUPT);
    CHECK(strstr(err.msg, "does not exist") != NULL);
    CHECK_EQ_INT(dx_wsdoc_set_field(d, MONTH, "colour", "red", &err), DX_EINVAL);
    dx_buf_release(&p);
    y_doc_free(d);
}

static int collect_path(void *ud, const char *id, const char *path)
{
    dx_strlist *l = ud;
    char line[256];
    snprintf(line, sizeof line, "%s %s", id, path);
    return dx_strlist_push(l, line);
}

static int cmp_line(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The walk over every path gives what dx_wsdoc_path gives for each live entry, and skips
 * what it refuses (a cycle, an escape, a missing parent, a child of any of those). */
TEST(test_wsdoc_each_path_agrees_with_dx_wsdoc_path)
{
    y_doc *d = new_doc(5);
    put_entry(d, ROOT, "README.md", NULL, true, "Root");
    put_entry(d, NOTES, "notes/notes.md", ROOT, true, "Notes");
    put_entry(d, IDEAS, "ideas.md", NOTES, false, "Ideas");
    put_entry(d, YEAR, "daily/2024/2024_index.md", ROOT, true, "2024");
    put_entry(d, MONTH, "01/2024_january.md", YEAR, true, "January 2024");
    put_entry(d, "00000000-0000-4000-8000-0000000000c1", "c1.md",
              "00000000-0000-4000-8000-0000000000c2", false, NULL);
    put_entry(d, "00000000-0000-4000-8000-0000000000c2", "c2.md",
              "00000000-0000-4000-8000-0000000000c1", false, NULL);
    put_entry(d, "00000000-0000-4000-8000-0000000000c3", "c3.md",
              "00000000-0000-4000-8000-0000000000c1", false, NULL);
    put_entry(d, "00000000-0000-4000-8000-0000000000e1", "../escape.md", NULL, false, NULL);
    put_entry(d, "00000000-0000-4000-8000-0000000000e2", "x.md",
              "00000000-0000-4000-8000-00000000dead", false, NULL);
    dx_error err = DX_ERROR_INIT;
    /* A deleted parent still gives its children their directory; it is not listed. */
    CHECK_EQ_INT(dx_wsdoc_set_deleted(d, YEAR, true, &err), 0);
    dx_strlist got = DX_STRLIST_INIT, want = DX_STRLIST_INIT, ids = DX_STRLIST_INIT;
    CHECK_EQ_INT(dx_wsdoc_each_path(d, collect_path, &got, &err), 0);
    CHECK_EQ_INT(dx_wsdoc_ids(d, &ids, &err), 0);
    dx_buf p = DX_BUF_INIT;
    for (size_t i = 0; i < ids.len; i++)
        if (dx_wsdoc_is_live(d, ids.items[i]) && dx_wsdoc_path(d, ids.items[i], &p, NULL) == 0)
            collect_path(&want, ids.items[i], p.data);
    qsort(got.items, got.len, sizeof *got.items, cmp_line);
    CHECK_EQ_INT(got.len, 4);
    CHECK_EQ_INT(got.len, want.len);
    for (size_t i = 0; i < got.len && i < want.len; i++)
        CHECK_EQ_STR(got.items[i], want.items[i]);
    CHECK_EQ_INT(dx_wsdoc_path(d, MONTH, &p, &err), 0);
    CHECK_EQ_STR(p.data, "daily/2024/01/2024_january.md");
    dx_buf_release(&p);
    dx_strlist_release(&got);
    dx_strlist_release(&want);
    dx_strlist_release(&ids);
    y_doc_free(d);
}

TEST(test_wsdoc_contents_insert_remove)
{
    y_doc *d = new_doc(5);
    put_entry(d, ROOT, "README.md", NULL, false, "Root");
    dx_error err = DX_ERROR_INIT;
    CHECK_EQ_INT(dx_wsdoc_contents_insert(d, ROOT, 0, NOTES, &err), 0);
    CHECK_EQ_INT(dx_wsdoc_contents_insert(d, ROOT, 99, IDEAS, &err), 0);
    CHECK_EQ_INT(dx_wsdoc_contents_insert(d, ROOT, 0, YEAR, &err), 0);
    CHECK_EQ_INT(dx_wsdoc_contents_insert(d, ROOT, 0, NOTES, &err), 0); /* already listed */
    dx_entry e = DX_ENTRY_INIT;
    CHECK_EQ_INT(dx_wsdoc_get(d, ROOT, &e, &err), 0);
    CHECK(e.is_index);
    CHECK_EQ_INT(e.contents.len, 3);
    CHECK_EQ_STR(e.contents.items[0], YEAR);
    CHECK_EQ_STR(e.contents.items[1], NOTES);
    CHECK_EQ_STR(e.contents.items[2], IDEAS);
    CHECK_EQ_INT(dx_wsdoc_contents_remove(d, ROOT, NOTES, &err), 0);
    CHECK_EQ_INT(dx_wsdoc_get(d, ROOT, &e, &err), 0);
    CHECK_EQ_INT(e.contents.len, 2);
    CHECK_EQ_STR(e.contents.items[1], IDEAS);
    dx_entry_release(&e);
    y_doc_free(d);
}

/* Two replicas start from the same state and edit different fields of one entry and
 * different ends of one contents list; after exchanging updates both hold every edit. */
/* Exchange full states both ways. */
static void sync_both(y_doc *a, y_doc *b)
{
    uint8_t *ua = NULL, *ub = NULL;
    size_t na = 0, nb = 0;
    CHECK_EQ_INT(y_encode_state_as_update(a, NULL, 0, &ua, &na), Y_OK);
    CHECK_EQ_INT(y_encode_state_as_update(b, NULL, 0, &ub, &nb), Y_OK);
    CHECK_EQ_INT(y_apply_update(a, ub, nb, NULL), Y_OK);
    CHECK_EQ_INT(y_apply_update(b, ua, na, NULL), Y_OK);
    y_free(ua);
    y_free(ub);
}

TEST(test_wsdoc_concurrent_field_edits_merge)
{
    y_doc *a = new_doc(10), *b = new_doc(11);
    put_entry(a, ROOT, "README.md", NULL, true, "Root");
    dx_error err = DX_ERROR_INIT;
    CHECK_EQ_INT(dx_wsdoc_contents_insert(a, ROOT, 0, NOTES, &err), 0);
    uint8_t *u = NULL;
    size_t n = 0;
    CHECK_EQ_INT(y_encode_state_as_update(a, NULL, 0, &u, &n), Y_OK);
    CHECK_EQ_INT(y_apply_update(b, u, n, NULL), Y_OK);
    y_free(u);

    CHECK_EQ_INT(dx_wsdoc_set_field(a, ROOT, "title", "Title from A", &err), 0);
    CHECK_EQ_INT(dx_wsdoc_contents_insert(a, ROOT, 0, IDEAS, &err), 0);
    CHECK_EQ_INT(dx_wsdoc_set_field(b, ROOT, "description", "Description from B", &err), 0);
    CHECK_EQ_INT(dx_wsdoc_contents_insert(b, ROOT, 99, YEAR, &err), 0);
    sync_both(a, b);

    y_doc *docs[2] = {a, b};
    for (int i = 0; i < 2; i++) {
        dx_entry e = DX_ENTRY_INIT;
        CHECK_EQ_INT(dx_wsdoc_get(docs[i], ROOT, &e, &err), 0);
        CHECK_EQ_STR(e.title, "Title from A");
        CHECK_EQ_STR(e.description, "Description from B");
        CHECK_EQ_INT(e.contents.len, 3);
        if (e.contents.len == 3) {
            CHECK_EQ_STR(e.contents.items[0], IDEAS);
            CHECK_EQ_STR(e.contents.items[1], NOTES);
            CHECK_EQ_STR(e.contents.items[2], YEAR);
        }
        dx_entry_release(&e);
    }
    y_doc_free(a);
    y_doc_free(b);
}

static void check_extra(y_doc *d, const char *want)
{
    dx_error err = DX_ERROR_INIT;
    dx_entry e = DX_ENTRY_INIT;
    CHECK_EQ_INT(dx_wsdoc_get(d, ROOT, &e, &err), 0);
    CHECK_EQ_STR(e.extra_json ? e.extra_json : "(none)", want);
    dx_entry_release(&e);
}

/* Custom frontmatter keys set at once on two peers all survive, in one order on both; the
 * same key set on both is one value on both; the file order of the keys is kept. */
TEST(test_wsdoc_concurrent_extra_keys_merge)
{
    y_doc *a = new_doc(10), *b = new_doc(11);
    put_entry(a, ROOT, "README.md", NULL, true, "Root");
    dx_error err = DX_ERROR_INIT;
    sync_both(a, b);
    /* Neither peer had extra keys: each adds its own (no field of either is lost). */
    CHECK_EQ_INT(dx_wsdoc_set_field(a, ROOT, "extra", "{\"mood\":\"good\",\"n\":1}", &err), 0);
    CHECK_EQ_INT(dx_wsdoc_set_field(b, ROOT, "extra", "{\"weather\":\"rain\"}", &err), 0);
    sync_both(a, b);
    /* Equal orders (both appended at the end) are listed by key. */
    check_extra(a, "{\"mood\":\"good\",\"weather\":\"rain\",\"n\":1}");
    check_extra(b, "{\"mood\":\"good\",\"weather\":\"rain\",\"n\":1}");
    /* One peer changes a key and adds one, the other removes a key: all three happen. */
    CHECK_EQ_INT(dx_wsdoc_set_field(a, ROOT, "extra",
                                    "{\"mood\":\"great\",\"weather\":\"rain\",\"n\":1,"
                                    "\"tags\":[\"x\"]}",
                                    &err),
                 0);
    CHECK_EQ_INT(
        dx_wsdoc_set_field(b, ROOT, "extra", "{\"mood\":\"good\",\"weather\":\"rain\"}", &err), 0);
    sync_both(a, b);
    check_extra(a, "{\"mood\":\"great\",\"weather\":\"rain\",\"tags\":[\"x\"]}");
    check_extra(b, "{\"mood\":\"great\",\"weather\":\"rain\",\"tags\":[\"x\"]}");
    /* A key inserted between two others takes an order between theirs. */
    const char *mid = "{\"mood\":\"great\",\"weather\":\"rain\",\"z\":0,\"tags\":[\"x\"]}";
    CHECK_EQ_INT(dx_wsdoc_set_field(b, ROOT, "extra", mid, &err), 0);
    check_extra(b, mid);
    /* Reordering the keys renumbers them (rewriting every key, so a key another peer
     * removed meanwhile comes back); an unchanged put writes nothing. */
    const char *re = "{\"weather\":\"rain\",\"mood\":\"great\",\"tags\":[\"x\"]}";
    CHECK_EQ_INT(dx_wsdoc_set_field(a, ROOT, "extra", re, &err), 0);
    check_extra(a, re);
    uint8_t *before = NULL, *after = NULL;
    size_t nbefore = 0, nafter = 0;
    CHECK_EQ_INT(y_encode_state_as_update(a, NULL, 0, &before, &nbefore), Y_OK);
    CHECK_EQ_INT(dx_wsdoc_set_field(a, ROOT, "extra", re, &err), 0);
    CHECK_EQ_INT(y_encode_state_as_update(a, NULL, 0, &after, &nafter), Y_OK);
    CHECK(nbefore == nafter && !memcmp(before, after, nbefore));
    y_free(before);
    y_free(after);
    /* Removing them all leaves no extra. */
    CHECK_EQ_INT(dx_wsdoc_set_field(a, ROOT, "extra", NULL, &err), 0);
    check_extra(a, "(none)");
    /* Not a JSON object: refused, nothing changed. */
    CHECK(dx_wsdoc_set_field(b, ROOT, "extra", "[1]", &err) != 0);
    check_extra(b, mid);
    y_doc_free(a);
    y_doc_free(b);
}

/* A store written before extra keys were fields of their own holds one JSON string `extra`:
 * it reads as it is and becomes fields at the next write. */
TEST(test_wsdoc_reads_and_replaces_the_one_string_extra)
{
    y_doc *a = new_doc(10);
    put_entry(a, ROOT, "README.md", NULL, true, "Root");
    y_type *files = y_doc_get_map(a, "files");
    y_value v;
    CHECK_EQ_INT(y_map_get(files, ROOT, &v), Y_OK);
    y_any legacy = y_any_string("{\"b\":2,\"a\":1}", 13);
    CHECK_EQ_INT(y_map_set(v.type, "extra", &legacy), Y_OK);
    check_extra(a, "{\"b\":2,\"a\":1}");
    dx_error err = DX_ERROR_INIT;
    CHECK_EQ_INT(dx_wsdoc_set_field(a, ROOT, "extra", "{\"b\":2,\"a\":1,\"c\":3}", &err), 0);
    check_extra(a, "{\"b\":2,\"a\":1,\"c\":3}");
    y_value gone;
    CHECK(y_map_get(v.type, "extra", &gone) != Y_OK);
    y_doc_free(a);
}

int main(void)
{
    RUN(test_uuid_v4_is_random_and_valid);
    RUN(test_wsdoc_put_get_round_trips_every_field);
    RUN(test_wsdoc_unchanged_put_writes_nothing);
    RUN(test_wsdoc_path_follows_parent_directories);
    RUN(test_wsdoc_path_rejects_cycles_and_escapes);
    RUN(test_wsdoc_each_path_agrees_with_dx_wsdoc_path);
    RUN(test_wsdoc_contents_insert_remove);
    RUN(test_wsdoc_concurrent_field_edits_merge);
    RUN(test_wsdoc_concurrent_extra_keys_merge);
    RUN(test_wsdoc_reads_and_replaces_the_one_string_extra);
    return TEST_REPORT();
}
