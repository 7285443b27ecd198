/* test_frontmatter.c - splitting, parsing, editing and writing notes. */
#include "test.h"

#include "diaryx/frontmatter.h"

static dx_fm *parse(const char *text)
{
    dx_fm *fm = NULL;
    dx_error err = DX_ERROR_INIT;
    int rc = dx_fm_parse(text, strlen(text), "note.md", &fm, &err);
    if (rc)
        printf("  parse failed: %s\n", err.msg);
    return fm;
}

static char *write_note(const dx_fm *fm)
{
    dx_buf b = DX_BUF_INIT;
    dx_error err = DX_ERROR_INIT;
    if (dx_fm_write(fm, &b, &err) != 0)
        return NULL;
    return dx_buf_detach(&b, NULL);
}

static void check_round_trip(const char *text)
{
    dx_fm *fm = parse(text);
    CHECK(fm != NULL);
    if (!fm)
        return;
    char *out = write_note(fm);
    CHECK_EQ_STR(out, text);
    free(out);
    dx_fm_free(fm);
}

TEST(test_fm_split_finds_frontmatter_and_body)
{
    dx_fm_split sp;
    const char *t = "---\ntitle: A\n---\nbody\n";
    dx_fm_split_text(t, strlen(t), &sp);
    CHECK(sp.has_frontmatter && !sp.crlf && !sp.unclosed);
    CHECK_EQ_INT(sp.yaml_start, 4);
    CHECK_EQ_INT(sp.yaml_len, 9);
    CHECK_EQ_STR(t + sp.body_start, "body\n");

    t = "---\r\ntitle: A\r\n---\r\nbody\r\n";
    dx_fm_split_text(t, strlen(t), &sp);
    CHECK(sp.has_frontmatter && sp.crlf);
    CHECK_EQ_STR(t + sp.body_start, "body\r\n");

    t = "---\ntitle: A\n---"; /* closing line at EOF without newline */
    dx_fm_split_text(t, strlen(t), &sp);
    CHECK(sp.has_frontmatter);
    CHECK_EQ_INT(sp.body_start, strlen(t));

    t = "---\n---\n";
    dx_fm_split_text(t, strlen(t), &sp);
    CHECK(sp.has_frontmatter);
    CHECK_EQ_INT(sp.yaml_len, 0);

    t = "---\ntitle: A\nno close\n";
    dx_fm_split_text(t, strlen(t), &sp);
    CHECK(!sp.has_frontmatter && sp.unclosed);

    t = "# Just a heading\n---\n";
    dx_fm_split_text(t, strlen(t), &sp);
    CHECK(!sp.has_frontmatter && !sp.unclosed);

    t = "----\ntitle: x\n---\n";
    dx_fm_split_text(t, strlen(t), &sp);
    CHECK(!sp.has_frontmatter);
}

TEST(test_fm_parse_reads_values_leniently)
{
    dx_fm *fm = parse("---\ntitle: Hello\ncount: 42\nflag: yes\nempty:\ntags: [a, \"b\"]\n"
                      "contents:\n  - '[A](/a.md)'\n  - b.md\nmeta: {x: 1}\n---\n# Hello\n");
    CHECK(fm != NULL);
    if (!fm)
        return;
    CHECK(dx_fm_present(fm));
    CHECK_EQ_INT(dx_fm_count(fm), 7);
    CHECK_EQ_STR(dx_fm_key(fm, 0), "title");
    CHECK_EQ_STR(dx_fm_key(fm, 6), "meta");
    CHECK_EQ_STR(dx_fm_get(fm, "title"), "Hello");
    CHECK_EQ_STR(dx_fm_get(fm, "count"), "42");
    CHECK_EQ_STR(dx_fm_get(fm, "tags"), "a");
    CHECK(dx_fm_get(fm, "empty") == NULL);
    CHECK(dx_fm_get(fm, "missing") == NULL);
    CHECK_EQ_INT(dx_fm_kind_of(fm, "empty"), DX_FM_NULL);
    CHECK_EQ_INT(dx_fm_kind_of(fm, "contents"), DX_FM_LIST);
    CHECK_EQ_INT(dx_fm_kind_of(fm, "meta"), DX_FM_MAP);
    CHECK_EQ_INT(dx_fm_kind_of(fm, "nope"), DX_FM_ABSENT);
    dx_strlist l = DX_STRLIST_INIT;
    CHECK_EQ_INT(dx_fm_get_list(fm, "contents", &l), 0);
    CHECK_EQ_INT(l.len, 2);
    CHECK_EQ_STR(l.items[0], "[A](/a.md)");
    dx_strlist_release(&l);
    dx_buf j = DX_BUF_INIT;
    CHECK_EQ_INT(dx_fm_get_json(fm, "count", &j), 0);
    CHECK_EQ_INT(dx_fm_get_json(fm, "tags", &j), 0);
    CHECK_EQ_INT(dx_fm_get_json(fm, "meta", &j), 0);
    CHECK_EQ_INT(dx_fm_get_json(fm, "empty", &j), 0);
    CHECK_EQ_STR(j.data, "42[\"a\",\"b\"]{\"x\":1}null");
    dx_buf_release(&j);
    size_t bl;
    CHECK_EQ_STR(dx_fm_body(fm, &bl), "# Hello\n");
    dx_fm_free(fm);
}

TEST(test_fm_untouched_note_writes_back_identically)
{
    check_round_trip("---\ntitle: Hello\npart_of: '[Root](/README.md)'\ncontents:\n- a.md\n- "
                     "b.md\ntags: [journal, \"2024\"]\ndescription: \"quoted: yes\"\n---\n\n# "
                     "Hello\n");
    check_round_trip("---\ntitle: Ünïcödé 🎉\ncreated: 2024-01-15T10:00:00Z\n---\nbody");
    check_round_trip("---\r\ntitle: CRLF\r\ncontents: []\r\n---\r\nbody\r\n");
    check_round_trip("no frontmatter at all\n");
    check_round_trip("---\n---\nempty frontmatter\n");
    check_round_trip("---\nnote: |\n  line one\n  line two\n---\n");
}

TEST(test_fm_edits_keep_order_and_styles)
{
    dx_fm *fm = parse("---\ntitle: Old\ntags: [a, b]\nquote: 'single'\n---\nbody\n");
    CHECK(fm != NULL);
    if (!fm)
        return;
    CHECK_EQ_INT(dx_fm_set(fm, "title", "New: title # with colon"), 0);
    CHECK_EQ_INT(dx_fm_set(fm, "updated", "2024-02-01"), 0);
    char *out = write_note(fm);
    CHECK_EQ_STR(out, "---\ntitle: \"New: title # with colon\"\ntags: [a, b]\nquote: 'single'\n"
                      "updated: \"2024-02-01\"\n---\nbody\n");
    free(out);
    CHECK_EQ_INT(dx_fm_rename(fm, "tags", "labels"), 0);
    CHECK_EQ_INT(dx_fm_rename(fm, "labels", "quote"), DX_EEXIST);
    CHECK_EQ_INT(dx_fm_remove(fm, "quote"), 0);
    CHECK_EQ_INT(dx_fm_remove(fm, "quote"), DX_ENOTFOUND);
    CHECK_EQ_INT(dx_fm_move(fm, "updated", 0), 0);
    out = write_note(fm);
    CHECK_EQ_STR(out, "---\nupdated: \"2024-02-01\"\ntitle: \"New: title # with colon\"\nlabels: "
                      "[a, b]\n---\nbody\n");
    free(out);
    dx_fm_free(fm);
}

TEST(test_fm_quotes_strings_yaml_would_retype)
{
    const char *quoted[] = {"",     "yes",    "No",   "null", "~",          "true",
                            "on",   "1.0",    "42",   "-7",   "1e3",        "0x1F",
                            ".inf", "1_000",  " pad", "pad ", "2024-01-15", "a: b",
                            "x #y", "- item", "[x]",  "@at",  "*star",      "key:"};
    for (size_t i = 0; i < sizeof quoted / sizeof *quoted; i++)
        if (!dx_yaml_needs_quotes(quoted[i]))
            TEST_FAILF("'%s' should need quotes", quoted[i]);
    const char *plain[] = {"Hello world",  "My Note", "a-b", "notes/a.md",
                           "[A](/a.md) x", "v1.2.3",  "ünï"};
    /* "[A](/a.md) x" starts with '[' so it does need quotes; check the others. */
    for (size_t i = 0; i < sizeof plain / sizeof *plain; i++)
        if (plain[i][0] != '[' && dx_yaml_needs_quotes(plain[i]))
            TEST_FAILF("'%s' should stay plain", plain[i]);
    /* Every quoted value reads back as the same string. */
    dx_fm *fm = NULL;
    CHECK_EQ_INT(dx_fm_new(&fm), 0);
    for (size_t i = 0; i < sizeof quoted / sizeof *quoted; i++) {
        char key[16];
        snprintf(key, sizeof key, "k%zu", i);
        CHECK_EQ_INT(dx_fm_set(fm, key, quoted[i]), 0);
    }
    CHECK_EQ_INT(dx_fm_set(fm, "multi", "line one\nline two\n"), 0);
    char *out = write_note(fm);
    dx_fm *back = parse(out);
    CHECK(back != NULL);
    for (size_t i = 0; back && i < sizeof quoted / sizeof *quoted; i++) {
        char key[16];
        snprintf(key, sizeof key, "k%zu", i);
        dx_buf j = DX_BUF_INIT;
        CHECK_EQ_INT(dx_fm_get_json(back, key, &j), 0);
        if (j.data[0] != '"')
            TEST_FAILF("'%s' read back as %s", quoted[i], j.data);
        dx_buf_release(&j);
    }
    if (back)
        CHECK_EQ_STR(dx_fm_get(back, "multi"), "line one\nline two\n");
    free(out);
    dx_fm_free(back);
    dx_fm_free(fm);
}

TEST(test_fm_lists_yaml_and_json_values)
{
    dx_fm *fm = NULL;
    dx_error err = DX_ERROR_INIT;
    CHECK_EQ_INT(dx_fm_new(&fm), 0);
    dx_strlist l = DX_STRLIST_INIT;
    CHECK_EQ_INT(dx_fm_set_list(fm, "contents", &l), 0);
    dx_strlist_push(&l, "[A](/a.md)");
    dx_strlist_push(&l, "b.md");
    CHECK_EQ_INT(dx_fm_set_list(fm, "children", &l), 0);
    dx_strlist_release(&l);
    CHECK_EQ_INT(dx_fm_set_yaml(fm, "n", "42", &err), 0);
    CHECK_EQ_INT(dx_fm_set_yaml(fm, "tags", "[x, y]", &err), 0);
    CHECK_EQ_INT(dx_fm_set_yaml(fm, "bad", "[unclosed", &err), DX_EPARSE);
    CHECK(strstr(err.msg, "line 1,") != NULL || strstr(err.msg, "line 2,") != NULL);
    CHECK(strstr(err.msg, "YAML value for 'bad'") != NULL);
    CHECK_EQ_INT(dx_fm_set_json(fm, "obj", "{\"a\":[1,2.5,true,null],\"b\":\"yes\"}", &err), 0);
    CHECK_EQ_INT(dx_fm_set_json(fm, "badjson", "{nope", &err), DX_EPARSE);
    char *out = write_note(fm);
    CHECK_EQ_STR(out, "---\ncontents: []\nchildren:\n- \"[A](/a.md)\"\n- b.md\nn: 42\ntags: [x, "
                      "y]\nobj: {a: [1, 2.5, true, null], b: \"yes\"}\n---\n");
    free(out);
    dx_buf y = DX_BUF_INIT;
    CHECK_EQ_INT(dx_fm_get_yaml(fm, "tags", &y), 0);
    CHECK_EQ_STR(y.data, "[x, y]");
    dx_buf_release(&y);
    dx_fm_free(fm);
}

TEST(test_fm_malformed_yaml_reports_file_line_column)
{
    dx_fm *fm = NULL;
    dx_error err = DX_ERROR_INIT;
    const char *t = "---\ntitle: ok\ntags: [a, b\nnext: x\n---\n";
    CHECK_EQ_INT(dx_fm_parse(t, strlen(t), "notes/a.md", &fm, &err), DX_EPARSE);
    CHECK(fm == NULL);
    CHECK(strstr(err.msg, "cannot parse frontmatter of 'notes/a.md' (line ") == err.msg);
    t = "---\ntitle: a\ntitle: b\n---\n";
    CHECK_EQ_INT(dx_fm_parse(t, strlen(t), "dup.md", &fm, &err), DX_EPARSE);
    CHECK(strstr(err.msg, "duplicate key 'title'") != NULL);
    t = "---\n- just\n- a list\n---\n";
    CHECK_EQ_INT(dx_fm_parse(t, strlen(t), "list.md", &fm, &err), DX_EPARSE);
    CHECK(strstr(err.msg, "mapping") != NULL);
    t = "---\na: &a [x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]\n"
        "c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]\nd: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c]\n"
        "e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d]\nf: [*e, *e, *e, *e, *e, *e, *e, *e, "
        "*e]\n---\n";
    CHECK_EQ_INT(dx_fm_parse(t, strlen(t), "bomb.md", &fm, &err), DX_EPARSE);
    CHECK(strstr(err.msg, "bomb.md") != NULL);
    t = "---\ntitle: x\nunclosed\n";
    CHECK_EQ_INT(dx_fm_parse(t, strlen(t), "u.md", &fm, &err), 0);
    CHECK(fm && !dx_fm_present(fm) && dx_fm_unclosed(fm));
    dx_fm_free(fm);
}

int main(void)
{
    RUN(test_fm_split_finds_frontmatter_and_body);
    RUN(test_fm_parse_reads_values_leniently);
    RUN(test_fm_untouched_note_writes_back_identically);
    RUN(test_fm_edits_keep_order_and_styles);
    RUN(test_fm_quotes_strings_yaml_would_retype);
    RUN(test_fm_lists_yaml_and_json_values);
    RUN(test_fm_malformed_yaml_reports_file_line_column);
    return TEST_REPORT();
}
