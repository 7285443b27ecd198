/* test_fs.c - file helpers (src/util/fs.c): batches of atomic writes. */
#include "test.h"

#include <dirent.h>
#include <sys/stat.h>
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
        snprintf(p[i], sizeof p[i], "f%d.md", i);
    CHECK_EQ_INT(dx_fs_write_in(root, p[0], "old", 3, 0644, NULL, NULL, NULL), 0);
    for (int i = 0; i < 4; i++)
        CHECK_EQ_INT(dx_file_batch_write(&b, root, p[i], "new", 3, 0644, NULL, NULL, NULL), 0);
    CHECK_EQ_INT(dx_file_batch_write(&b, root, p[2], "again", 5, 0644, NULL, NULL, NULL), 0);
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
    snprintf(p, sizeof p, "keep.md");
    CHECK_EQ_INT(dx_fs_write_in(root, p, "old", 3, 0644, NULL, NULL, NULL), 0);
    CHECK_EQ_INT(dx_file_batch_write(&b, root, p, "new", 3, 0644, NULL, NULL, NULL), 0);
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
    snprintf(p, sizeof p, "no/such/dir/x.md");
    CHECK(dx_file_batch_write(&b, root, p, "x", 1, 0644, NULL, NULL, &err) != 0);
    CHECK(strstr(err.msg, "no/such/dir/x.md") != NULL);
    CHECK_EQ_INT(b.n, 0);
    CHECK_EQ_INT(dx_file_batch_commit(&b, NULL, NULL, NULL), 0);
}

static void note_rc(void *ud, size_t i, int rc, const dx_buf *late)
{
    (void)late;
    ((int *)ud)[i] = rc;
}

/* A directory swapped for a link to elsewhere, before a write or between the writes and the
 * commit, is never followed: nothing is written outside the root. */
TEST(test_batch_never_follows_a_directory_swapped_for_a_link)
{
    char outside[300], inner[300], moved[300], victim[400], cmd[1000];
    snprintf(outside, sizeof outside, "%s-outside", root);
    CHECK_EQ_INT(mkdir(outside, 0755), 0);
    snprintf(victim, sizeof victim, "%s/a.md", outside);
    CHECK_EQ_INT(dx_file_write_atomic(victim, "victim", 6, 0644, NULL), 0);
    snprintf(inner, sizeof inner, "%s/notes", root);
    snprintf(moved, sizeof moved, "%s/notes-moved", root);
    CHECK_EQ_INT(mkdir(inner, 0755), 0);

    /* Swapped between the writes and the commit. */
    dx_file_batch b = DX_FILE_BATCH_INIT;
    CHECK_EQ_INT(dx_file_batch_write(&b, root, "notes/a.md", "new", 3, 0644, NULL, NULL, NULL), 0);
    CHECK_EQ_INT(rename(inner, moved), 0);
    CHECK_EQ_INT(symlink(outside, inner), 0);
    int rcs[1] = {1};
    dx_error err = DX_ERROR_INIT;
    int rc = dx_file_batch_commit(&b, note_rc, rcs, &err);
    CHECK(rc != 0 || rcs[0] == DX_EPATH);
    FILE *f = fopen(victim, "rb");
    char got[16] = {0};
    CHECK(f && fread(got, 1, sizeof got - 1, f) == 6);
    if (f)
        fclose(f);
    CHECK_EQ_STR(got, "victim");

    /* Swapped before the write: refused at once. */
    dx_error_clear(&err);
    CHECK(dx_file_batch_write(&b, root, "notes/b.md", "x", 1, 0644, NULL, NULL, &err) != 0);
    snprintf(victim, sizeof victim, "%s/b.md", outside);
    CHECK(access(victim, F_OK) != 0);
    dx_file_batch_release(&b);
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", outside);
    CHECK_EQ_INT(system(cmd), 0);
}

int main(void)
{
    snprintf(root, sizeof root, "/tmp/dx-fs-XXXXXX");
    if (!mkdtemp(root))
        return 1;
    RUN(test_batch_puts_every_file_in_place_at_commit);
    RUN(test_batch_release_leaves_the_old_files);
    RUN(test_batch_write_failure_names_the_file);
    RUN(test_batch_never_follows_a_directory_swapped_for_a_link);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", root);
    if (system(cmd) != 0)
        return 1;
    return TEST_REPORT();
}
