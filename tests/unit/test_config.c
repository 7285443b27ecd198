/* test_config.c - config.toml: defaults, typed keys, unknown keys kept, atomic save. */
#include "test.h"

#include <unistd.h>

#include "diaryx/config.h"
#include "diaryx/fs.h"

static char dir[64];

static void write_file(const char *rel, const char *text)
{
    char path[256], sub[256];
    snprintf(sub, sizeof sub, "%s/diaryx", dir);
    dx_mkdirs(sub, NULL);
    snprintf(path, sizeof path, "%s/%s", dir, rel);
    dx_file_write_atomic(path, text, strlen(text), 0644, NULL);
}

TEST(test_config_defaults_without_a_file)
{
    dx_config *cfg = NULL;
    dx_error err = DX_ERROR_INIT;
    CHECK_EQ_INT(dx_config_load(NULL, &cfg, &err), 0);
    CHECK(strstr(dx_config_path(cfg), "/diaryx/config.toml") != NULL);
    CHECK(dx_config_git_auto_commit(cfg));
    CHECK_EQ_INT(dx_config_git_interval_minutes(cfg), 30);
    CHECK_EQ_STR(dx_config_string(cfg, "link_format"), "markdown_root");
    CHECK(dx_config_string(cfg, "editor") == NULL);
    dx_buf b = DX_BUF_INIT;
    CHECK_EQ_INT(dx_config_get(cfg, "editor", &b, &err), DX_ENOTFOUND);
    CHECK_EQ_INT(dx_config_get(cfg, "git.auto_commit", &b, &err), 0);
    CHECK_EQ_STR(b.data, "true");
    dx_buf_release(&b);
    dx_config_free(cfg);
}

TEST(test_config_set_save_reload_keeps_unknown_keys)
{
    write_file("diaryx/config.toml", "base_dir = \"/home/u/old\"\nfuture_key = \"keep me\"\n\n"
                                     "[git]\nauto_commit = false\n\n[plugins]\nx = 1\n");
    dx_config *cfg = NULL;
    dx_error err = DX_ERROR_INIT;
    CHECK_EQ_INT(dx_config_load(NULL, &cfg, &err), 0);
    CHECK_EQ_STR(dx_config_string(cfg, "default_workspace"), "/home/u/old");
    CHECK(!dx_config_git_auto_commit(cfg));
    CHECK_EQ_INT(dx_config_set(cfg, "editor", "nvim", &err), 0);
    CHECK_EQ_INT(dx_config_set(cfg, "git.auto_commit_interval_minutes", "45", &err), 0);
    CHECK_EQ_INT(dx_config_set(cfg, "link_format", "PlainRelative", &err), 0);
    CHECK_EQ_INT(dx_config_set(cfg, "git.auto_commit", "maybe", &err), DX_EINVAL);
    CHECK(strstr(err.msg, "true or false") != NULL);
    CHECK_EQ_INT(dx_config_set(cfg, "git.auto_commit_interval_minutes", "0", &err), DX_EINVAL);
    CHECK_EQ_INT(dx_config_set(cfg, "link_format", "weird", &err), DX_EINVAL);
    CHECK_EQ_INT(dx_config_set(cfg, "edtior", "x", &err), DX_EINVAL);
    CHECK(strstr(err.msg, "unknown setting 'edtior'") != NULL);
    CHECK_EQ_INT(dx_config_save(cfg, &err), 0);
    dx_config_free(cfg);

    CHECK_EQ_INT(dx_config_load(NULL, &cfg, &err), 0);
    CHECK_EQ_STR(dx_config_string(cfg, "editor"), "nvim");
    CHECK_EQ_STR(dx_config_string(cfg, "link_format"), "plain_relative");
    CHECK_EQ_INT(dx_config_git_interval_minutes(cfg), 45);
    dx_buf b = DX_BUF_INIT;
    CHECK_EQ_INT(dx_config_get(cfg, "future_key", &b, &err), 0);
    CHECK_EQ_STR(b.data, "keep me");
    dx_buf_reset(&b);
    CHECK_EQ_INT(dx_config_get(cfg, "plugins.x", &b, &err), 0);
    CHECK_EQ_STR(b.data, "1");
    dx_buf_reset(&b);
    CHECK_EQ_INT(dx_config_describe(cfg, &b), 0);
    CHECK(strstr(b.data, "editor = nvim\n") != NULL);
    CHECK(strstr(b.data, "sync_email = (unset) (default)\n") != NULL);
    CHECK(strstr(b.data, "future_key = keep me (unknown key, kept)\n") != NULL);
    dx_buf_reset(&b);
    CHECK_EQ_INT(dx_config_describe_json(cfg, &b), 0);
    CHECK(strstr(b.data, "\"git.auto_commit_interval_minutes\": 45") != NULL);
    CHECK_EQ_INT(dx_config_unset(cfg, "editor", &err), 0);
    CHECK(dx_config_string(cfg, "editor") == NULL);
    dx_buf_release(&b);
    dx_config_free(cfg);
}

TEST(test_config_bad_files_are_clear_errors)
{
    dx_config *cfg = NULL;
    dx_error err = DX_ERROR_INIT;
    write_file("diaryx/config.toml", "editor = vim\n");
    CHECK_EQ_INT(dx_config_load(NULL, &cfg, &err), DX_EPARSE);
    CHECK(strstr(err.msg, "config.toml' (line 1, column 10)") != NULL);
    write_file("diaryx/config.toml", "[git]\nauto_commit = \"yes\"\n");
    CHECK_EQ_INT(dx_config_load(NULL, &cfg, &err), DX_EINVAL);
    CHECK(strstr(err.msg, "invalid value for 'git.auto_commit'") != NULL);
    CHECK(cfg == NULL);
}

/* Every integer setting is range-checked, in the file and by `config set`: the message names
 * the key, the value and the range (an interval of 2^63-1 minutes overflowed the watch). */
TEST(test_config_integer_settings_are_range_checked)
{
    static const struct {
        const char *key, *table_key;
        long long max;
    } keys[] = {{"git.auto_commit_interval_minutes", "auto_commit_interval_minutes",
                 DX_CONFIG_MAX_INTERVAL_MINUTES},
                {"git.keep_updates", "keep_updates", DX_CONFIG_MAX_KEEP_UPDATES}};
    static const char *bad_text[] = {"0",
                                     "-5",
                                     "9223372036854775807",
                                     "9223372036854775808",
                                     "nan",
                                     "inf",
                                     "12abc",
                                     " 12",
                                     "",
                                     "1e3",
                                     "0x10",
                                     "1.5"};
    dx_config *cfg = NULL;
    dx_error err = DX_ERROR_INIT;
    char text[256], want[200];
    for (size_t k = 0; k < sizeof keys / sizeof *keys; k++) {
        snprintf(want, sizeof want, "from 1 to %lld", keys[k].max);
        write_file("diaryx/config.toml", "");
        CHECK_EQ_INT(dx_config_load(NULL, &cfg, &err), 0);
        for (size_t i = 0; i < sizeof bad_text / sizeof *bad_text; i++) {
            CHECK_EQ_INT(dx_config_set(cfg, keys[k].key, bad_text[i], &err), DX_EINVAL);
            CHECK(strstr(err.msg, keys[k].key) && strstr(err.msg, want));
            snprintf(text, sizeof text, "'%s'", bad_text[i]);
            CHECK(strstr(err.msg, text) != NULL);
        }
        snprintf(text, sizeof text, "%lld", keys[k].max);
        CHECK_EQ_INT(dx_config_set(cfg, keys[k].key, text, &err), 0);
        dx_config_free(cfg);
        /* In the file: out of range is refused on load, naming the file. */
        static const char *bad_file[] = {"0", "-1", "9223372036854775807"};
        for (size_t i = 0; i < sizeof bad_file / sizeof *bad_file; i++) {
            snprintf(text, sizeof text, "[git]\n%s = %s\n", keys[k].table_key, bad_file[i]);
            write_file("diaryx/config.toml", text);
            cfg = NULL;
            CHECK_EQ_INT(dx_config_load(NULL, &cfg, &err), DX_EINVAL);
            CHECK(cfg == NULL);
            snprintf(text, sizeof text, "'%s'", bad_file[i]);
            CHECK(strstr(err.msg, keys[k].key) && strstr(err.msg, want) && strstr(err.msg, text) &&
                  strstr(err.msg, "config.toml"));
        }
    }
    write_file("diaryx/config.toml", "[git]\nkeep_updates = 7\n");
    CHECK_EQ_INT(dx_config_load(NULL, &cfg, &err), 0);
    CHECK_EQ_INT(dx_config_git_keep_updates(cfg), 7);
    CHECK_EQ_INT(dx_config_git_interval_minutes(cfg), 30);
    dx_config_free(cfg);
    write_file("diaryx/config.toml", "");
    CHECK_EQ_INT(dx_config_load(NULL, &cfg, &err), 0);
    CHECK_EQ_INT(dx_config_git_keep_updates(cfg), 50);
    dx_config_free(cfg);
}

TEST(test_config_lists_and_the_workspace_config_path)
{
    dx_buf p = DX_BUF_INIT;
    CHECK_EQ_INT(dx_config_workspace_path("/w/ws", &p), 0);
    CHECK_EQ_STR(dx_buf_cstr(&p), "/w/ws/.diaryx/config.toml");
    dx_buf_release(&p);
    write_file("diaryx/ws.toml", "exclude = [\"a/**\", \"*.tmp\"]\none = \"x\"\nn = 3\n"
                                 "[t]\nlist = [\"y\"]\n");
    char path[256];
    snprintf(path, sizeof path, "%s/diaryx/ws.toml", dir);
    dx_config *cfg = NULL;
    dx_error err = DX_ERROR_INIT;
    CHECK_EQ_INT(dx_config_load(path, &cfg, &err), 0);
    dx_strlist l = DX_STRLIST_INIT;
    CHECK_EQ_INT(dx_config_list(cfg, "exclude", &l, &err), 0);
    CHECK_EQ_INT(dx_config_list(cfg, "one", &l, &err), 0);     /* a string: one item */
    CHECK_EQ_INT(dx_config_list(cfg, "t.list", &l, &err), 0);  /* in a table */
    CHECK_EQ_INT(dx_config_list(cfg, "missing", &l, &err), 0); /* unset: nothing */
    CHECK_EQ_INT(l.len, 4);
    if (l.len == 4) {
        CHECK_EQ_STR(l.items[0], "a/**");
        CHECK_EQ_STR(l.items[1], "*.tmp");
        CHECK_EQ_STR(l.items[2], "x");
        CHECK_EQ_STR(l.items[3], "y");
    }
    CHECK_EQ_INT(dx_config_list(cfg, "n", &l, &err), DX_EINVAL);
    CHECK(strstr(err.msg, "invalid value for 'n'") != NULL);
    CHECK(strstr(err.msg, "ws.toml") != NULL);
    CHECK_EQ_INT(l.len, 4);
    dx_strlist_release(&l);
    dx_config_free(cfg);
}

int main(void)
{
    snprintf(dir, sizeof dir, "/tmp/dx-config-XXXXXX");
    if (!mkdtemp(dir))
        return 1;
    setenv("XDG_CONFIG_HOME", dir, 1);
    RUN(test_config_defaults_without_a_file);
    RUN(test_config_set_save_reload_keeps_unknown_keys);
    RUN(test_config_bad_files_are_clear_errors);
    RUN(test_config_integer_settings_are_range_checked);
    RUN(test_config_lists_and_the_workspace_config_path);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (system(cmd) != 0)
        return 1;
    return TEST_REPORT();
}
