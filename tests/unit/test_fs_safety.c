/* test_fs_safety.c - confined file access (src/util/fs.c): no symbolic link is ever followed, and
 * a write never replaces bytes it was not told about. */
#include "test.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <sys/stat.h>
#include <unistd.h>

#include "diaryx/fs.h"

static char base[64]; /* holds ws/ (the root) and outside/ */
static char root[96];

static void put(const char *rel, const char *text)
{
    char p[256];
    snprintf(p, sizeof p, "%s/%s", base, rel);
    FILE *f = fopen(p, "w");
    CHECK(f != NULL);
    if (f) {
        fputs(text, f);
        fclose(f);
    }
}

static void slurp(const char *rel, dx_buf *out)
{
    char p[256];
    snprintf(p, sizeof p, "%s/%s", base, rel);
    dx_buf_reset(out);
    CHECK_EQ_INT(dx_file_read(p, out, NULL), 0);
}

static void sh(const char *fmt, const char *arg)
{
    char cmd[512];
    snprintf(cmd, sizeof cmd, fmt, base, arg, base);
    CHECK_EQ_INT(system(cmd), 0);
}

TEST(test_fs_read_and_stat_refuse_a_link_to_a_file_outside)
{
    dx_buf b = DX_BUF_INIT;
    dx_error err = DX_ERROR_INIT;
    struct stat st;
    put("outside/victim.md", "SECRET\n");
    sh("ln -s %s/%s %s/ws/link.md", "outside/victim.md");
    CHECK_EQ_INT(dx_fs_read_in(root, "link.md", &b, NULL, &err), DX_EPATH);
    CHECK(strstr(err.msg, "'link.md' is a symbolic link") != NULL);
    CHECK(strstr(err.msg, "replace it") != NULL);
    CHECK_EQ_INT(b.len, 0);
    CHECK_EQ_INT(dx_fs_stat_in(root, "link.md", &st, NULL), DX_EPATH);
    /* Even a link that stays inside the workspace is not followed. */
    put("ws/real.md", "real\n");
    sh("ln -s real.md %s/ws/%s", "inner.md");
    CHECK_EQ_INT(dx_fs_read_in(root, "inner.md", &b, NULL, NULL), DX_EPATH);
    CHECK_EQ_INT(dx_fs_read_in(root, "real.md", &b, &st, NULL), 0);
    CHECK_EQ_STR(dx_buf_cstr(&b), "real\n");
    CHECK_EQ_INT(st.st_size, 5);
    dx_buf_release(&b);
}

TEST(test_fs_write_refuses_a_link_and_a_linked_directory)
{
    dx_buf b = DX_BUF_INIT;
    dx_error err = DX_ERROR_INIT;
    put("outside/victim.md", "SECRET\n");
    sh("ln -s %s/%s %s/ws/link.md", "outside/victim.md");
    sh("ln -s %s/%s %s/ws/dir", "outside");
    CHECK_EQ_INT(dx_fs_write_in(root, "link.md", "X", 1, 0644, NULL, NULL, &err), DX_EPATH);
    CHECK_EQ_INT(dx_fs_write_in(root, "dir/victim.md", "X", 1, 0644, NULL, NULL, &err), DX_EPATH);
    CHECK(strstr(err.msg, "'dir' is a symbolic link") != NULL);
    CHECK_EQ_INT(dx_fs_write_in(root, "dir/new.md", "X", 1, 0644, NULL, NULL, NULL), DX_EPATH);
    CHECK_EQ_INT(dx_fs_read_in(root, "dir/victim.md", &b, NULL, NULL), DX_EPATH);
    CHECK_EQ_INT(dx_fs_mkdirs_in(root, "dir/sub", NULL), DX_EPATH);
    CHECK_EQ_INT(dx_fs_unlink_in(root, "dir/victim.md", NULL, NULL), DX_EPATH);
    CHECK(dx_fs_opendir_in(root, "dir") == NULL);
    slurp("outside/victim.md", &b);
    CHECK_EQ_STR(dx_buf_cstr(&b), "SECRET\n");
    CHECK(access("/dev/null", F_OK) == 0);
    char p[256];
    snprintf(p, sizeof p, "%s/outside/new.md", base);
    CHECK(access(p, F_OK) != 0);
    snprintf(p, sizeof p, "%s/outside/sub", base);
    CHECK(access(p, F_OK) != 0);
    /* The link itself is left as it is. */
    struct stat st;
    snprintf(p, sizeof p, "%s/ws/link.md", base);
    CHECK(lstat(p, &st) == 0 && S_ISLNK(st.st_mode));
    dx_buf_release(&b);
}

TEST(test_fs_paths_must_be_normalised)
{
    dx_buf b = DX_BUF_INIT;
    put("outside/victim.md", "SECRET\n");
    CHECK_EQ_INT(dx_fs_read_in(root, "../outside/victim.md", &b, NULL, NULL), DX_EPATH);
    CHECK_EQ_INT(dx_fs_read_in(root, "a/./b.md", &b, NULL, NULL), DX_EPATH);
    CHECK_EQ_INT(dx_fs_read_in(root, "/etc/passwd", &b, NULL, NULL), DX_EPATH);
    CHECK_EQ_INT(dx_fs_write_in(root, "a//b.md", "x", 1, 0644, NULL, NULL, NULL), DX_EPATH);
    CHECK_EQ_INT(b.len, 0);
    dx_buf_release(&b);
}

TEST(test_fs_write_creates_directories_and_lists)
{
    dx_buf b = DX_BUF_INIT;
    struct stat st, st2;
    CHECK_EQ_INT(dx_fs_write_in(root, "a/b/c.md", "hello", 5, 0644, NULL, &st, NULL), 0);
    slurp("ws/a/b/c.md", &b);
    CHECK_EQ_STR(dx_buf_cstr(&b), "hello");
    CHECK_EQ_INT(dx_fs_stat_in(root, "a/b/c.md", &st2, NULL), 0);
    CHECK_EQ_INT(st.st_ino, st2.st_ino);
    CHECK_EQ_INT(st.st_mtim.tv_nsec, st2.st_mtim.tv_nsec);
    DIR *d = dx_fs_opendir_in(root, "a/b");
    int n = 0;
    struct dirent *e;
    while (d && (e = readdir(d)))
        n += !strcmp(e->d_name, "c.md");
    if (d)
        closedir(d);
    CHECK_EQ_INT(n, 1);
    CHECK_EQ_INT(dx_fs_rmdir_in(root, "a/b", NULL), DX_ECONFLICT); /* not empty */
    CHECK_EQ_INT(dx_fs_unlink_in(root, "a/b/c.md", NULL, NULL), 0);
    CHECK_EQ_INT(dx_fs_unlink_in(root, "a/b/c.md", NULL, NULL), DX_ENOTFOUND);
    CHECK_EQ_INT(dx_fs_rmdir_in(root, "a/b", NULL), 0);
    CHECK_EQ_INT(dx_fs_stat_in(root, "a/b", &st, NULL), DX_ENOTFOUND);
    CHECK_EQ_INT(dx_fs_mkdirs_in(root, "x/y", NULL), 0);
    CHECK_EQ_INT(dx_fs_stat_in(root, "x/y", &st, NULL), 0);
    CHECK(S_ISDIR(st.st_mode));
    dx_buf_release(&b);
}

TEST(test_fs_write_with_expectation_never_replaces_other_bytes)
{
    dx_buf b = DX_BUF_INIT;
    dx_error err = DX_ERROR_INIT;
    put("ws/a.md", "old\n");
    /* The file holds what the writer verified: replaced. */
    dx_fs_expect ok = {.bytes = "old\n", .len = 4};
    CHECK_EQ_INT(dx_fs_write_in(root, "a.md", "new\n", 4, 0644, &ok, NULL, NULL), 0);
    CHECK(!ok.late_write);
    slurp("ws/a.md", &b);
    CHECK_EQ_STR(dx_buf_cstr(&b), "new\n");
    /* Another program appended since: nothing is written, its bytes stay. */
    put("ws/a.md", "new\nappended\n");
    dx_fs_expect stale = {.bytes = "new\n", .len = 4};
    CHECK_EQ_INT(dx_fs_write_in(root, "a.md", "mine\n", 5, 0644, &stale, NULL, &err), DX_ECONFLICT);
    CHECK(strstr(err.msg, "'a.md' was changed by another program") != NULL);
    slurp("ws/a.md", &b);
    CHECK_EQ_STR(dx_buf_cstr(&b), "new\nappended\n");
    /* A new file never replaces one that appeared meanwhile. */
    dx_fs_expect absent = {.absent = true};
    CHECK_EQ_INT(dx_fs_write_in(root, "a.md", "mine\n", 5, 0644, &absent, NULL, NULL),
                 DX_ECONFLICT);
    slurp("ws/a.md", &b);
    CHECK_EQ_STR(dx_buf_cstr(&b), "new\nappended\n");
    dx_fs_expect absent2 = {.absent = true};
    CHECK_EQ_INT(dx_fs_write_in(root, "b.md", "b\n", 2, 0644, &absent2, NULL, NULL), 0);
    /* A file removed meanwhile is not brought back. */
    dx_fs_expect gone = {.bytes = "x", .len = 1};
    CHECK_EQ_INT(dx_fs_write_in(root, "c.md", "c\n", 2, 0644, &gone, NULL, NULL), DX_ECONFLICT);
    struct stat st;
    CHECK_EQ_INT(dx_fs_stat_in(root, "c.md", &st, NULL), DX_ENOTFOUND);
    /* No temporary file is left behind by the refused writes. */
    DIR *d = dx_fs_opendir_in(root, "");
    struct dirent *e;
    int tmp = 0;
    while (d && (e = readdir(d)))
        tmp += strstr(e->d_name, ".tmp") != NULL;
    if (d)
        closedir(d);
    CHECK_EQ_INT(tmp, 0);
    dx_buf_release(&b);
}

TEST(test_fs_read_refuses_a_fifo_without_hanging)
{
    char p[256];
    dx_buf b = DX_BUF_INIT;
    snprintf(p, sizeof p, "%s/ws/pipe.md", base);
    CHECK(mkfifo(p, 0644) == 0);
    CHECK_EQ_INT(dx_fs_read_in(root, "pipe.md", &b, NULL, NULL), DX_EPATH);
    dx_buf_release(&b);
}

static void reset(void)
{
    char cmd[512];
    snprintf(cmd, sizeof cmd, "rm -rf %s/ws %s/outside && mkdir -p %s/ws %s/outside", base, base,
             base, base);
    if (system(cmd) != 0)
        abort();
}

int main(void)
{
    snprintf(base, sizeof base, "/tmp/dx_test_fs_safety_XXXXXX");
    if (!mkdtemp(base))
        return 1;
    snprintf(root, sizeof root, "%s/ws", base);
#define RUN_CLEAN(t)                                                                               \
    do {                                                                                           \
        reset();                                                                                   \
        RUN(t);                                                                                    \
    } while (0)
    RUN_CLEAN(test_fs_read_and_stat_refuse_a_link_to_a_file_outside);
    RUN_CLEAN(test_fs_write_refuses_a_link_and_a_linked_directory);
    RUN_CLEAN(test_fs_paths_must_be_normalised);
    RUN_CLEAN(test_fs_write_creates_directories_and_lists);
    RUN_CLEAN(test_fs_write_with_expectation_never_replaces_other_bytes);
    RUN_CLEAN(test_fs_read_refuses_a_fifo_without_hanging);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", base);
    if (system(cmd) != 0)
        return 1;
    return TEST_REPORT();
}
