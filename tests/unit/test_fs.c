/* test_fs.c - file helpers (src/util/fs.c): batches of atomic writes. */
#include "test.h"

#include <dirent.h>
#include <unistd.h>

#include "diaryx/fs.h"

static char root[64];

static char *slurp(const char *name)
{
    char path[256];
    dx_buf b = DX_BUF_INIT;
    snprintf(path, sizeof path, "%s/%s", root, name);
    if (dx_file_read(path, &b, NULL) != 0)
        return NULL;
    return dx_buf_detach(&b, NULL);
}

static size_t temp_files(void)
{
    size_t n = 0;
    DIR *d = opendir(root);
    struct dirent *e;
    while (d && (e = readdir(d)))
        n += e->d_name[0] == '.' && strstr(e->d_name, ".tmp") != NULL;
    if (d)
        closedir(d);
    return n;
}

/* Nothing shows before the commit; after it every file has its last bytes. */
TEST(test_batch_puts_every_file_in_place_at_commit)
{
    char p[4][256];
    dx_file_batch b = DX_FILE_BATCH_INIT;
    for (int i = 0; i < 4; i++)
        snprintf(p[i], sizeof p[i], "%s/f%d.md", root, i);
    CHECK_EQ_INT(dx_file_write_atomic(p[0], "old", 3, 0644, NULL), 0);
    for (int i = 0; i < 4; i++)
        CHECK_EQ_INT(dx_file_batch_write(&b, p[i], "new", 3, 0644, NULL, NULL, NULL), 0);
    CHECK_EQ_INT(dx_file_batch_write(&b, p[2], "again", 5, 0644, NULL, NULL, NULL), 0);
    CHECK_EQ_INT(b.n, 4);
    char *f0 = slurp("f0.md"), *f1 = slurp("f1.md");
    CHECK_EQ_STR(f0, "old");
    CHECK(f1 == NULL);
    free(f0);
    free(f1);
    CHECK_EQ_INT(temp_files(), 4);
    CHECK_EQ_INT(dx_file_batch_commit(&b, NULL, NULL, NULL), 0);
    CHECK_EQ_INT(b.n, 0);
    for (int i = 0; i < 4; i++) {
        char name[16];
        snprintf(name, sizeof name, "f%d.md", i);
        char *t = slurp(name);
        CHECK_EQ_STR(t, i == 2 ? "again" : "new");
        free(t);
    }
    CHECK_EQ_INT(temp_files(), 0);
}

/* A batch dropped before its commit leaves the old files and no temporary file. */
TEST(test_batch_release_leaves_the_old_files)
{
    char p[256];
    dx_file_batch b = DX_FILE_BATCH_INIT;
    snprintf(p, sizeof p, "%s/keep.md", root);
    CHECK_EQ_INT(dx_file_write_atomic(p, "old", 3, 0644, NULL), 0);
    CHECK_EQ_INT(dx_file_batch_write(&b, p, "new", 3, 0644, NULL, NULL, NULL), 0);
    dx_file_batch_release(&b);
    char *t = slurp("keep.md");
    CHECK_EQ_STR(t, "old");
    free(t);
    CHECK_EQ_INT(temp_files(), 0);
    dx_file_batch_release(NULL);
}

/* A file that cannot be written fails at once and names the file. */
TEST(test_batch_write_failure_names_the_file)
{
    char p[256];
    dx_file_batch b = DX_FILE_BATCH_INIT;
    dx_error err = DX_ERROR_INIT;
    snprintf(p, sizeof p, "%s/no/such/dir/x.md", root);
    CHECK_EQ_INT(dx_file_batch_write(&b, p, "x", 1, 0644, NULL, NULL, &err), DX_EIO);
    CHECK(strstr(err.msg, "no/such/dir/x.md") != NULL);
    CHECK_EQ_INT(b.n, 0);
    CHECK_EQ_INT(dx_file_batch_commit(&b, NULL, NULL, NULL), 0);
}

int main(void)
{
    snprintf(root, sizeof root, "/tmp/dx-fs-XXXXXX");
    if (!mkdtemp(root))
        return 1;
    RUN(test_batch_puts_every_file_in_place_at_commit);
    RUN(test_batch_release_leaves_the_old_files);
    RUN(test_batch_write_failure_names_the_file);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", root);
    if (system(cmd) != 0)
        return 1;
    return TEST_REPORT();
}
