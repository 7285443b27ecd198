/* test_frontmatter_fidelity.c - a note written back says what it said: explicit tags are
 * kept, keys with tags are refused rather than changed, values are classified for the
 * CRDT schema (strings, lists of strings, values JSON holds exactly), and a CRLF note is
 * CRLF throughout while its body is handed out with LF. */
#include "test.h"

#include "diaryx/frontmatter.h"

static void written_as(const char *text, const char *expected)
{
    dx_fm *fm = NULL;
    dx_error err = DX_ERROR_INIT;
    dx_buf out = DX_BUF_INIT;
    if (dx_fm_parse(text, strlen(text), "t.md", &fm, &err) != 0) {
        TEST_FAILF("parse <<%s>>: %s", text, err.msg);
        return;
    }
    CHECK_EQ_INT(dx_fm_write(fm, &out, &err), 0);
    CHECK_EQ_STR(dx_buf_cstr(&out), expected);
    dx_fm_free(fm);
    dx_buf_release(&out);
}

TEST(test_explicit_tags_are_written_back)
{
    const char *same = "---\nx: !custom foo\ny: !!binary aGVsbG8=\nz: !t [a, !u b, !v \"\"]\n"
                       "e: !e\nseq:\n- !t\n- !u [x]\n- ! 12\nn: {!k a: !v \"\"}\nl: !t |\n"
                       "  two\n  lines\n---\nbody\n";
    written_as(same, same);
    /* Forms that need %TAG directives or characters a shorthand cannot hold are written
     * verbatim; tagged block collections in flow style; an empty tagged item in a flow is
     * written as an empty string. */
    written_as("---\n%TAG !e! tag:example.com,2000:\n--- \nx: !e!foo 1\n---\n",
               "---\nx: !<tag:example.com%2C2000:foo> 1\n---\n");
    written_as("---\nv: !<tag:example.com,2000:a%20b> 1\nw: !<!l%21> x\n"
               "m: !!omap\n  - a: 1\nf: [!v ]\n---\n",
               "---\nv: !<tag:example.com%2C2000:a%20b> 1\nw: !<%21l%21> x\n"
               "m: !!omap [{a: 1}]\nf: [!v \"\"]\n---\n");
}

/* text must be refused with a message holding why and naming the file. */
static void refused(const char *text, const char *why)
{
    dx_fm *fm = NULL;
    dx_error err = DX_ERROR_INIT;
    CHECK_EQ_INT(dx_fm_parse(text, strlen(text), "k.md", &fm, &err), DX_EPARSE);
    if (!strstr(err.msg, why) || !strstr(err.msg, "'k.md'"))
        TEST_FAILF("'%s' does not say %s", err.msg, why);
    CHECK(fm == NULL);
    dx_fm_free(fm);
}

TEST(test_a_tag_on_a_key_or_on_the_mapping_is_refused)
{
    refused("---\n!t key: v\n---\n", "the key 'key' has a tag (!t)");
    refused("---\n!!map\nkey: v\n---\n", "the frontmatter mapping has a tag");
}

TEST(test_aliases_are_expanded_and_unknown_ones_refused_with_their_line)
{
    written_as("---\na: &x [1, {b: c}]\nb: *x\n---\n",
               "---\na: [1, {b: c}]\nb: [1, {b: c}]\n---\n");
    refused("---\na: 1\nb: *nope\n---\n", "(line 3, column 4): found an alias to an undefined");
    refused("---\na: &x [1, *x]\n---\n", "(line 2, column 11): found an alias to an undefined");
    /* A deep value aliased deeper still is too deep, and says so. */
    dx_buf deep = DX_BUF_INIT;
    dx_buf_puts(&deep, "---\na: &x ");
    for (int i = 0; i < 60; i++)
        dx_buf_putc(&deep, '[');
    dx_buf_putc(&deep, 'x');
    for (int i = 0; i < 60; i++)
        dx_buf_putc(&deep, ']');
    dx_buf_puts(&deep, "\nb: [[[[[[*x]]]]]]\n---\n");
    refused(deep.data, "nested or aliased too deeply");
    dx_buf_release(&deep);
    /* An alias bomb is still refused. */
    dx_buf bomb = DX_BUF_INIT;
    dx_buf_puts(&bomb, "---\na0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
    for (int i = 1; i < 8; i++)
        dx_buf_printf(&bomb, "a%d: &a%d [*a%d, *a%d, *a%d, *a%d, *a%d, *a%d, *a%d, *a%d]\n", i, i,
                      i - 1, i - 1, i - 1, i - 1, i - 1, i - 1, i - 1, i - 1);
    dx_buf_puts(&bomb, "---\n");
    refused(bomb.data, "aliased too deeply");
    dx_buf_release(&bomb);
}

TEST(test_values_are_classified_for_the_schema)
{
    const char *text = "---\ns1: plain text\ns2: \"12\"\ns3: 'yes'\ns4: |\n  a\n  b\nn1: 12\n"
                       "n2: yes\nn3: ~\nn4:\nn5: !!str x\nn6: 2024-01-15\nl1: [a, \"1\"]\nl2: []\n"
                       "l3: [a, 1]\nl4: [a, [b]]\nl5: a\nl6: !t [a]\n---\n";
    dx_fm *fm = NULL;
    dx_error err = DX_ERROR_INIT;
    CHECK_EQ_INT(dx_fm_parse(text, strlen(text), "c.md", &fm, &err), 0);
    if (!fm)
        return;
    const char *strings[] = {"s1", "s2", "s3", "s4"};
    const char *not_strings[] = {"n1", "n2", "n3", "n4", "n5", "n6", "l1", "absent"};
    for (size_t i = 0; i < 4; i++)
        if (!dx_fm_is_string(fm, strings[i]))
            TEST_FAILF("%s should be a string", strings[i]);
    for (size_t i = 0; i < 8; i++)
        if (dx_fm_is_string(fm, not_strings[i]))
            TEST_FAILF("%s should not be a string", not_strings[i]);
    CHECK(dx_fm_is_string_list(fm, "l1") && dx_fm_is_string_list(fm, "l2"));
    CHECK(!dx_fm_is_string_list(fm, "l3") && !dx_fm_is_string_list(fm, "l4"));
    CHECK(!dx_fm_is_string_list(fm, "l5") && !dx_fm_is_string_list(fm, "l6"));
    /* JSON holds exactly: strings, 12, null spelt null, lists of those; not yes, ~, the
     * empty null, a tag, a date, or 1.50. */
    const char *exact[][2] = {{"s1", "\"plain text\""},
                              {"s3", "\"yes\""},
                              {"n1", "12"},
                              {"l1", "[\"a\",\"1\"]"},
                              {"l3", "[\"a\",1]"}};
    for (size_t i = 0; i < 5; i++) {
        dx_buf j = DX_BUF_INIT;
        CHECK_EQ_INT(dx_fm_get_json_exact(fm, exact[i][0], &j), 0);
        CHECK_EQ_STR(dx_buf_cstr(&j), exact[i][1]);
        dx_buf_release(&j);
    }
    const char *inexact[] = {"n2", "n3", "n4", "n5", "n6", "l6"};
    for (size_t i = 0; i < 6; i++) {
        dx_buf j = DX_BUF_INIT;
        if (dx_fm_get_json_exact(fm, inexact[i], &j) != DX_EUNSUPPORTED)
            TEST_FAILF("%s should not be exact JSON (got %s)", inexact[i], dx_buf_cstr(&j));
        dx_buf_release(&j);
    }
    dx_buf j = DX_BUF_INIT;
    CHECK_EQ_INT(dx_fm_get_json_exact(fm, "absent", &j), DX_ENOTFOUND);
    dx_buf_release(&j);
    dx_fm_free(fm);
}

TEST(test_a_crlf_note_is_crlf_throughout_and_its_body_lf)
{
    const char *text = "---\r\ntitle: T\r\ntags:\r\n- a\r\n---\r\none\r\ntwo\r\n";
    dx_fm *fm = NULL;
    dx_error err = DX_ERROR_INIT;
    dx_buf out = DX_BUF_INIT, body = DX_BUF_INIT;
    CHECK_EQ_INT(dx_fm_parse(text, strlen(text), "c.md", &fm, &err), 0);
    if (!fm)
        return;
    CHECK(dx_fm_crlf(fm));
    size_t n;
    const char *b = dx_fm_body(fm, &n);
    CHECK_EQ_STR(b, "one\ntwo\n");
    /* An appended line and a new key are written with CRLF like the rest. */
    dx_buf_append(&body, b, n);
    dx_buf_puts(&body, "three\n");
    dx_fm_set_body(fm, body.data, body.len);
    dx_fm_set(fm, "new", "multi\nline");
    CHECK_EQ_INT(dx_fm_write(fm, &out, &err), 0);
    CHECK_EQ_STR(dx_buf_cstr(&out), "---\r\ntitle: T\r\ntags:\r\n- a\r\nnew: |-\r\n  multi\r\n"
                                    "  line\r\n---\r\none\r\ntwo\r\nthree\r\n");
    dx_fm_free(fm);
    /* Without frontmatter, the first line decides too; an LF note keeps its bytes. */
    written_as("a\r\nb\nc\r\n", "a\r\nb\r\nc\r\n");
    written_as("a\nb\r\nc\n", "a\nb\r\nc\n");
    /* A note built from nothing is LF until told otherwise. */
    CHECK_EQ_INT(dx_fm_new(&fm), 0);
    dx_fm_set(fm, "title", "Note");
    dx_fm_set_body(fm, "x\n", 2);
    dx_fm_set_crlf(fm, true);
    dx_buf_reset(&out);
    CHECK_EQ_INT(dx_fm_write(fm, &out, &err), 0);
    CHECK_EQ_STR(dx_buf_cstr(&out), "---\r\ntitle: Note\r\n---\r\nx\r\n");
    dx_fm_free(fm);
    dx_buf_release(&out);
    dx_buf_release(&body);
}

int main(void)
{
    RUN(test_explicit_tags_are_written_back);
    RUN(test_a_tag_on_a_key_or_on_the_mapping_is_refused);
    RUN(test_aliases_are_expanded_and_unknown_ones_refused_with_their_line);
    RUN(test_values_are_classified_for_the_schema);
    RUN(test_a_crlf_note_is_crlf_throughout_and_its_body_lf);
    return TEST_REPORT();
}
