/* test_toml.c - the strict TOML subset: values, errors, editing, writing, and a
 * differential check of every file in toml_cases/ against Python's tomllib. */
#include "test.h"

#include <dirent.h>
#include <jansson.h>
#include <unistd.h>

#include "diaryx/fs.h"
#include "diaryx/toml.h"

static json_t *to_json(const dx_toml *t)
{
    json_t *root = json_object();
    for (size_t k = 0; k < t->tables.len; k++)
        json_object_set_new(root, t->tables.items[k], json_object());
    for (size_t i = 0; i < t->len; i++) {
        const dx_toml_entry *e = &t->entries[i];
        json_t *obj = e->table[0] ? json_object_get(root, e->table) : root;
        json_t *v = NULL;
        switch (e->value.type) {
        case DX_TOML_STRING:
            v = json_string(e->value.str);
            break;
        case DX_TOML_INT:
            v = json_integer(e->value.i);
            break;
        case DX_TOML_BOOL:
            v = json_boolean(e->value.b);
            break;
        case DX_TOML_ARRAY:
            v = json_array();
            for (size_t j = 0; j < e->value.arr.len; j++)
                json_array_append_new(v, json_string(e->value.arr.items[j]));
            break;
        }
        json_object_set_new(obj, e->key, v);
    }
    return root;
}

static int parse_str(const char *s, dx_toml *t, dx_error *err)
{
    return dx_toml_parse(s, strlen(s), "config.toml", t, err);
}

TEST(test_toml_reads_config)
{
    dx_toml t = DX_TOML_INIT;
    dx_error err = DX_ERROR_INIT;
    const char *s = "default_workspace = \"/home/u/diaryx\"\n[git]\nauto_commit = false\n"
                    "auto_commit_interval_minutes = 45\n";
    CHECK_EQ_INT(parse_str(s, &t, &err), 0);
    const dx_toml_value *v = dx_toml_get(&t, "", "default_workspace");
    CHECK(v && v->type == DX_TOML_STRING);
    if (v)
        CHECK_EQ_STR(v->str, "/home/u/diaryx");
    v = dx_toml_get(&t, "git", "auto_commit");
    CHECK(v && v->type == DX_TOML_BOOL && !v->b);
    v = dx_toml_get(&t, "git", "auto_commit_interval_minutes");
    CHECK(v && v->type == DX_TOML_INT && v->i == 45);
    CHECK(dx_toml_get(&t, "git", "nope") == NULL);
    CHECK(dx_toml_get(&t, "", "auto_commit") == NULL);
    dx_toml_release(&t);
}

TEST(test_toml_errors_name_line_and_column)
{
    dx_toml t = DX_TOML_INIT;
    dx_error err = DX_ERROR_INIT;
    CHECK_EQ_INT(parse_str("a = 1\n\nb = 1.5\n", &t, &err), DX_EPARSE);
    CHECK_EQ_STR(err.msg, "cannot parse 'config.toml' (line 3, column 5): floating-point numbers "
                          "are not supported");
    CHECK_EQ_INT(parse_str("x = \"ok\"\ny = \"open\n", &t, &err), DX_EPARSE);
    CHECK(strstr(err.msg, "(line 2, column 5): unterminated string") != NULL);
    CHECK_EQ_INT(parse_str("a = 1\na = 2\n", &t, &err), DX_EPARSE);
    CHECK(strstr(err.msg, "(line 2, column 1): key 'a' is defined twice") != NULL);
    CHECK_EQ_INT(parse_str("[git]\nauto_commit = yes\n", &t, &err), DX_EPARSE);
    CHECK(strstr(err.msg, "line 2, column 15") != NULL);
    CHECK_EQ_INT(t.len, 0);
}

TEST(test_toml_edit_and_write_round_trip)
{
    dx_toml t = DX_TOML_INIT;
    dx_error err = DX_ERROR_INIT;
    CHECK_EQ_INT(parse_str("editor = \"vim\"\n[git]\nauto_commit = true\n", &t, &err), 0);
    CHECK_EQ_INT(dx_toml_set_string(&t, "", "link_format", "plain_relative"), 0);
    CHECK_EQ_INT(dx_toml_set_int(&t, "git", "auto_commit_interval_minutes", 15), 0);
    CHECK_EQ_INT(dx_toml_set_bool(&t, "git", "auto_commit", false), 0);
    CHECK_EQ_INT(dx_toml_set_string(&t, "sync", "url", "quote\" and \\ and\nnewline"), 0);
    CHECK_EQ_INT(dx_toml_remove(&t, "", "editor"), 0);
    CHECK_EQ_INT(dx_toml_remove(&t, "", "editor"), DX_ENOTFOUND);
    dx_buf out = DX_BUF_INIT;
    CHECK_EQ_INT(dx_toml_write(&t, &out), 0);
    CHECK_EQ_STR(out.data, "link_format = \"plain_relative\"\n\n[git]\nauto_commit = false\n"
                           "auto_commit_interval_minutes = 15\n\n[sync]\nurl = \"quote\\\" and "
                           "\\\\ and\\nnewline\"\n");
    dx_toml back = DX_TOML_INIT;
    CHECK_EQ_INT(dx_toml_parse(out.data, out.len, "written", &back, &err), 0);
    const dx_toml_value *v = dx_toml_get(&back, "sync", "url");
    CHECK(v && !strcmp(v->str, "quote\" and \\ and\nnewline"));
    dx_toml_release(&back);
    dx_toml_release(&t);
    dx_buf_release(&out);
}

/* Every case file through our parser, then tomllib judges the results. */
TEST(test_toml_matches_tomllib)
{
    const char *src = getenv("DX_SOURCE_DIR");
    char dir[4096], results[] = "/tmp/dx-toml-XXXXXX";
    snprintf(dir, sizeof dir, "%s/tests/unit/toml_cases", src ? src : ".");
    int fd = mkstemp(results);
    CHECK(fd >= 0);
    FILE *f = fdopen(fd, "w");
    DIR *d = opendir(dir);
    CHECK(d != NULL);
    int cases = 0;
    struct dirent *e;
    while (d && f && (e = readdir(d))) {
        if (!strstr(e->d_name, ".toml"))
            continue;
        char path[8192];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        dx_buf text = DX_BUF_INIT;
        dx_error err = DX_ERROR_INIT;
        dx_toml t = DX_TOML_INIT;
        CHECK_EQ_INT(dx_file_read(path, &text, &err), 0);
        if (dx_toml_parse(dx_buf_cstr(&text), text.len, e->d_name, &t, &err) == 0) {
            json_t *j = to_json(&t);
            char *s = json_dumps(j, JSON_COMPACT);
            fprintf(f, "%s\t%s\n", path, s);
            free(s);
            json_decref(j);
            /* What we accept must also survive our own writer. */
            dx_buf w = DX_BUF_INIT;
            dx_toml back = DX_TOML_INIT;
            CHECK_EQ_INT(dx_toml_write(&t, &w), 0);
            CHECK_EQ_INT(dx_toml_parse(w.data ? w.data : "", w.len, "rewritten", &back, &err), 0);
            CHECK_EQ_INT(back.len, t.len);
            dx_toml_release(&back);
            dx_buf_release(&w);
        } else {
            CHECK(err.msg[0] != 0);
            fprintf(f, "%s\tERROR\n", path);
        }
        dx_toml_release(&t);
        dx_buf_release(&text);
        cases++;
    }
    if (d)
        closedir(d);
    if (f)
        fclose(f);
    CHECK(cases >= 20);
    char cmd[8192];
    snprintf(cmd, sizeof cmd, "python3 %s/tests/unit/toml_oracle.py %s", src ? src : ".", results);
    CHECK_EQ_INT(system(cmd), 0);
    unlink(results);
}

int main(void)
{
    RUN(test_toml_reads_config);
    RUN(test_toml_errors_name_line_and_column);
    RUN(test_toml_edit_and_write_round_trip);
    RUN(test_toml_matches_tomllib);
    return TEST_REPORT();
}
