/* test_git_delta.c - dx_git_commit_changes (commits of changes only) and the index it patches,
 * checked against the system git after every commit. */
#include "test.h"
#include "test_sh.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "diaryx/buf.h"
#include "diaryx/error.h"
#include "diaryx/git.h"
#include "git_internal.h"

static char tmpdir_[256];

static const char *new_dir(const char *name)
{
    static char p[512];
    snprintf(p, sizeof p, "%s/%s", tmpdir_, name);
    return p;
}

#define F(p, s)                                                                                    \
    {                                                                                              \
        p, s, sizeof(s) - 1                                                                        \
    }

/* The system git agrees with what was committed: nothing to commit (untracked files aside),
 * the index equals HEAD's tree entry by entry, fsck is happy. */
static void check_git_agrees(const char *root, const char *untracked)
{
    dx_buf out = DX_BUF_INIT;
    CHECK_EQ_INT(sh(&out, "git -C %s status --porcelain", root), 0);
    CHECK_EQ_STR(dx_buf_cstr(&out), untracked ? untracked : "");
    CHECK_EQ_INT(sh(&out, "git -C %s diff-index --cached HEAD", root), 0);
    CHECK_EQ_STR(dx_buf_cstr(&out), "");
    CHECK_EQ_INT(sh(&out,
                    "cd %s && test \"$(git ls-files -s | sed 's/ 0\t/\t/')\" = "
                    "\"$(git ls-tree -r HEAD | sed 's/ blob / /')\"",
                    root),
                 0);
    CHECK_EQ_INT(sh(&out, "git -C %s fsck --strict 2>&1", root), 0);
    dx_buf_release(&out);
}

static dx_git *open_repo(const char *root)
{
    dx_git *g = NULL;
    dx_error err = DX_ERROR_INIT;
    if (dx_git_open_or_init(root, 0, &g, &err) < 0)
        TEST_FAILF("open %s: %s", root, err.msg);
    return g;
}

TEST(test_git_delta_add_modify_delete_rename)
{
    const char *root = new_dir("amdr");
    dx_git *g = open_repo(root);
    dx_error err = DX_ERROR_INIT;
    dx_buf out = DX_BUF_INIT;
    if (!g)
        return;
    /* unborn HEAD: the changes on the empty tree; a delete of nothing is ignored */
    dx_git_file v1[] = {F("a.md", "a1\n"), F("b.md", "b1\n"), F("d/old.md", "same\n"),
                        F("keep/k.md", "k\n")};
    const char *none[] = {"ghost.md"};
    dx_git_stats st;
    char id1[DX_GIT_OID_HEX];
    CHECK_EQ_INT(dx_git_commit_changes(g, v1, 4, none, 1, NULL, id1, &st, &err), 0);
    CHECK_EQ_INT(st.added, 4);
    CHECK_EQ_INT(st.deleted, 0);
    CHECK_EQ_INT(st.files, 0);
    CHECK_EQ_INT(st.packed, 1);
    CHECK_EQ_INT(sh(&out, "git -C %s log -1 --format=%%s", root), 0);
    CHECK_EQ_STR(out.data, "Create workspace\n");
    check_git_agrees(root, NULL);
    /* modify a, delete b, rename d/old.md -> x/new.md, add e; keep/k.md untouched */
    dx_git_file v2[] = {F("a.md", "a2\n"), F("e.md", "e\n"), F("x/new.md", "same\n")};
    const char *del2[] = {"d/old.md", "b.md", "not/there.md"};
    dx_git_commit_opts o = {0};
    o.device = "phone";
    CHECK_EQ_INT(dx_git_commit_changes(g, v2, 3, del2, 3, &o, NULL, &st, &err), 0);
    CHECK_EQ_INT(st.added, 1);
    CHECK_EQ_INT(st.modified, 1);
    CHECK_EQ_INT(st.deleted, 1);
    CHECK_EQ_INT(st.renamed, 1);
    CHECK_EQ_INT(st.blobs_written, 2);
    CHECK_EQ_INT(sh(&out, "git -C %s log -1 --format=%%B", root), 0);
    const char *want = "Update 4 entries\n\nM\ta.md\nD\tb.md\nR\td/old.md -> x/new.md\n"
                       "A\te.md\n\nDevice: phone\nDate: ";
    CHECK(strncmp(dx_buf_cstr(&out), want, strlen(want)) == 0);
    CHECK_EQ_INT(sh(&out, "git -C %s ls-tree -r --name-only HEAD", root), 0);
    CHECK_EQ_STR(out.data, "a.md\ne.md\nkeep/k.md\nx/new.md\n");
    CHECK_EQ_INT(
        sh(&out, "cd %s && cat a.md x/new.md && test ! -e b.md && test ! -e d/old.md", root), 0);
    CHECK_EQ_STR(out.data, "a2\nsame\n");
    check_git_agrees(root, NULL);
    /* one change each: the summary names it */
    const char *del3[] = {"e.md"};
    CHECK_EQ_INT(dx_git_commit_changes(g, NULL, 0, del3, 1, NULL, NULL, &st, &err), 0);
    CHECK_EQ_INT(sh(&out, "git -C %s log -1 --format=%%s", root), 0);
    CHECK_EQ_STR(out.data, "Delete e.md\n");
    const char *del4[] = {"x/new.md"};
    dx_git_file v4[] = {F("y/moved.md", "same\n")};
    CHECK_EQ_INT(dx_git_commit_changes(g, v4, 1, del4, 1, NULL, NULL, &st, &err), 0);
    CHECK_EQ_INT(st.renamed, 1);
    CHECK_EQ_INT(sh(&out, "git -C %s log -1 --format=%%s", root), 0);
    CHECK_EQ_STR(out.data, "Rename x/new.md -> y/moved.md\n");
    check_git_agrees(root, NULL);
    /* a file replacing a deleted file's directory name and vice versa */
    const char *del5[] = {"a.md"};
    dx_git_file v5[] = {F("a.md/inner.md", "inner\n")};
    CHECK_EQ_INT(dx_git_commit_changes(g, v5, 1, del5, 1, NULL, NULL, &st, &err), 0);
    if (err.msg[0])
        printf("  %s\n", err.msg);
    CHECK_EQ_INT(sh(&out, "git -C %s ls-tree -r --name-only HEAD", root), 0);
    CHECK_EQ_STR(out.data, "a.md/inner.md\nkeep/k.md\ny/moved.md\n");
    check_git_agrees(root, NULL);
    dx_git_free(g);
    dx_buf_release(&out);
}

TEST(test_git_delta_refuses_bad_change_sets)
{
    const char *root = new_dir("bad");
    dx_git *g = open_repo(root);
    dx_error err = DX_ERROR_INIT;
    dx_buf out = DX_BUF_INIT;
    if (!g)
        return;
    dx_git_file v1[] = {F("a.md", "a\n"), F("dir/b.md", "b\n")};
    char head[DX_GIT_OID_HEX], now[DX_GIT_OID_HEX];
    CHECK_EQ_INT(dx_git_commit_changes(g, v1, 2, NULL, 0, NULL, head, NULL, &err), 0);
    dx_git_file twice[] = {F("c.md", "1"), F("c.md", "2")};
    CHECK_EQ_INT(dx_git_commit_changes(g, twice, 2, NULL, 0, NULL, NULL, NULL, &err), DX_EPATH);
    CHECK(strstr(err.msg, "c.md") != NULL);
    const char *del_twice[] = {"a.md", "a.md"};
    CHECK_EQ_INT(dx_git_commit_changes(g, NULL, 0, del_twice, 2, NULL, NULL, NULL, &err), DX_EPATH);
    dx_git_file both[] = {F("a.md", "new\n")};
    const char *del_both[] = {"a.md"};
    CHECK_EQ_INT(dx_git_commit_changes(g, both, 1, del_both, 1, NULL, NULL, NULL, &err), DX_EPATH);
    CHECK(strstr(err.msg, "a.md") != NULL);
    dx_git_file on_dir[] = {F("dir", "x\n")};
    CHECK_EQ_INT(dx_git_commit_changes(g, on_dir, 1, NULL, 0, NULL, NULL, NULL, &err), DX_EPATH);
    dx_git_file under_file[] = {F("a.md/x.md", "x\n")};
    CHECK_EQ_INT(dx_git_commit_changes(g, under_file, 1, NULL, 0, NULL, NULL, NULL, &err),
                 DX_EPATH);
    dx_git_file file_and_dir[] = {F("n", "x\n"), F("n/m.md", "y\n")};
    CHECK_EQ_INT(dx_git_commit_changes(g, file_and_dir, 2, NULL, 0, NULL, NULL, NULL, &err),
                 DX_EPATH);
    const char *bad_path[] = {"../up.md"};
    CHECK_EQ_INT(dx_git_commit_changes(g, NULL, 0, bad_path, 1, NULL, NULL, NULL, &err), DX_EPATH);
    /* ids: unknown without bytes, malformed, wrong for the bytes */
    dx_git_file unknown[] = {{"u.md", NULL, 0, "0123456789abcdef0123456789abcdef01234567"}};
    CHECK_EQ_INT(dx_git_commit_changes(g, unknown, 1, NULL, 0, NULL, NULL, NULL, &err),
                 DX_ENOTFOUND);
    CHECK(strstr(err.msg, "'u.md'") != NULL);
    dx_git_file malformed[] = {{"u.md", NULL, 0, "xyz"}};
    CHECK_EQ_INT(dx_git_commit_changes(g, malformed, 1, NULL, 0, NULL, NULL, NULL, &err),
                 DX_EINVAL);
    dx_git_file wrong[] = {{"u.md", "bytes\n", 6, "0123456789abcdef0123456789abcdef01234567"}};
    CHECK_EQ_INT(dx_git_commit_changes(g, wrong, 1, NULL, 0, NULL, NULL, NULL, &err), DX_EINVAL);
    /* none of that committed anything */
    CHECK_EQ_INT(dx_git_resolve(g, "HEAD", now, &err), 0);
    CHECK_EQ_STR(now, head);
    /* nothing changed: the same bytes, a delete of nothing */
    dx_git_file same[] = {F("a.md", "a\n")};
    const char *ghost[] = {"ghost.md"};
    dx_git_stats st;
    CHECK_EQ_INT(dx_git_commit_changes(g, same, 1, ghost, 1, NULL, now, &st, &err),
                 DX_GIT_NOCHANGE);
    CHECK_EQ_STR(now, head);
    CHECK_EQ_INT(st.deleted + st.modified, 0);
    CHECK_EQ_INT(dx_git_commit_changes(g, NULL, 0, NULL, 0, NULL, now, NULL, &err),
                 DX_GIT_NOCHANGE);
    dx_git_commit_opts empty = {0};
    empty.allow_empty = 1;
    CHECK_EQ_INT(dx_git_commit_changes(g, NULL, 0, NULL, 0, &empty, now, NULL, &err), 0);
    CHECK(strcmp(now, head) != 0);
    /* a stale expected parent: DX_ECONFLICT */
    dx_git_commit_opts o = {0};
    o.expected_parent = head;
    dx_git_file v2[] = {F("z.md", "z\n")};
    CHECK_EQ_INT(dx_git_commit_changes(g, v2, 1, NULL, 0, &o, NULL, NULL, &err), DX_ECONFLICT);
    o.expected_parent = now;
    CHECK_EQ_INT(dx_git_commit_changes(g, v2, 1, NULL, 0, &o, NULL, NULL, &err), 0);
    check_git_agrees(root, NULL);
    CHECK_EQ_INT(sh(&out, "git -C %s rev-list --count HEAD", root), 0);
    CHECK_EQ_STR(out.data, "3\n");
    dx_git_free(g);
    dx_buf_release(&out);
}

TEST(test_git_delta_files_by_id_and_untracked_files)
{
    const char *root = new_dir("byid");
    dx_git *g = open_repo(root);
    dx_error err = DX_ERROR_INIT;
    dx_buf out = DX_BUF_INIT;
    if (!g)
        return;
    dx_git_file v1[] = {F("a.md", "first a\n"), F("b.md", "b\n")};
    char head1[DX_GIT_OID_HEX], id_a1[DX_GIT_OID_HEX];
    CHECK_EQ_INT(dx_git_commit_changes(g, v1, 2, NULL, 0, NULL, head1, NULL, &err), 0);
    CHECK_EQ_INT(dx_git_blob_id(g, NULL, "a.md", id_a1, &err), 0);
    CHECK_EQ_INT(sh(&out, "echo mine > %s/untracked.txt", root), 0);
    dx_git_file v2[] = {F("a.md", "second a\n")};
    CHECK_EQ_INT(dx_git_commit_changes(g, v2, 1, NULL, 0, NULL, NULL, NULL, &err), 0);
    /* back to the first a.md by id only, and a copy of it under a new name: written from the
     * blob */
    dx_git_file v3[] = {{"a.md", NULL, 0, id_a1}, {"copy/a.md", NULL, 0, id_a1}};
    dx_git_stats st;
    CHECK_EQ_INT(dx_git_commit_changes(g, v3, 2, NULL, 0, NULL, NULL, &st, &err), 0);
    CHECK_EQ_INT(st.blobs_written, 0);
    CHECK_EQ_INT(st.modified, 1);
    CHECK_EQ_INT(st.added, 1);
    CHECK_EQ_INT(sh(&out, "cat %s/a.md %s/copy/a.md", root, root), 0);
    CHECK_EQ_STR(out.data, "first a\nfirst a\n");
    check_git_agrees(root, "?? untracked.txt\n");
    CHECK_EQ_INT(sh(&out, "cat %s/untracked.txt", root), 0);
    CHECK_EQ_STR(out.data, "mine\n");
    dx_git_free(g);
    dx_buf_release(&out);
}

/* The index memo: a warm process and a fresh one patch the index; an index changed by the user
 * takes the libgit2 path (and the memo is recorded again from what it wrote). */
TEST(test_git_delta_index_memo_hit_and_miss)
{
    const char *root = new_dir("memo");
    dx_git *g = open_repo(root);
    dx_error err = DX_ERROR_INIT;
    dx_buf out = DX_BUF_INIT;
    if (!g)
        return;
    char names[30][32], bodies[30][32];
    dx_git_file v[30];
    for (int i = 0; i < 30; i++) {
        snprintf(names[i], sizeof names[i], "d%d/n%02d.md", i % 4, i);
        snprintf(bodies[i], sizeof bodies[i], "note %d\n", i);
        v[i] = (dx_git_file){names[i], bodies[i], strlen(bodies[i]), NULL};
    }
    CHECK_EQ_INT(dx_git_commit_files(g, v, 30, NULL, NULL, NULL, &err), 0);
    check_git_agrees(root, NULL);
    size_t patched = g->index_patches;
    for (int round = 0; round < 4; round++) {
        if (round == 2) { /* a fresh process: the memo comes from .git/diaryx-index */
            dx_git_free(g);
            g = open_repo(root);
            if (!g)
                return;
            patched = 0;
        }
        snprintf(bodies[round], sizeof bodies[round], "note %d v%d\n", round, round);
        dx_git_file ch[] = {{names[round], bodies[round], strlen(bodies[round]), NULL}};
        CHECK_EQ_INT(dx_git_commit_changes(g, ch, 1, NULL, 0, NULL, NULL, NULL, &err), 0);
        CHECK_EQ_INT(g->index_patches, patched + 1);
        patched = g->index_patches;
        check_git_agrees(root, NULL);
    }
    /* git rewrites the index with the same files (another checksum: here version 3 instead of
     * 2; `git status` does the same to settle racily clean entries): the digest of its file
     * list still matches, the index is patched */
    CHECK_EQ_INT(sh(&out, "git -C %s update-index --index-version 3", root), 0);
    size_t before = g->index_patches;
    dx_git_file chv3[] = {F("d1/n09.md", "after a rewrite by git\n")};
    CHECK_EQ_INT(dx_git_commit_changes(g, chv3, 1, NULL, 0, NULL, NULL, NULL, &err), 0);
    CHECK_EQ_INT(g->index_patches, before + 1);
    check_git_agrees(root, NULL);
    /* The user stages a file of their own (another file list): the index is replaced by the
     * commit's tree through libgit2, the file stays in the work tree, untracked. */
    CHECK_EQ_INT(sh(&out, "cd %s && echo mine > user.txt && git add user.txt", root), 0);
    size_t rewrites = g->index_rewrites;
    dx_git_file ch[] = {F("d1/n05.md", "changed by the user's neighbour\n")};
    CHECK_EQ_INT(dx_git_commit_changes(g, ch, 1, NULL, 0, NULL, NULL, NULL, &err), 0);
    CHECK_EQ_INT(g->index_rewrites, rewrites + 1);
    check_git_agrees(root, "?? user.txt\n");
    /* `git update-index` of a file the commit does not touch: libgit2 path, still right */
    CHECK_EQ_INT(sh(&out,
                    "cd %s && git update-index --refresh >/dev/null; touch d2/n06.md && "
                    "git update-index d2/n06.md",
                    root),
                 0);
    const char *del[] = {"d3/n07.md"};
    CHECK_EQ_INT(dx_git_commit_changes(g, NULL, 0, del, 1, NULL, NULL, NULL, &err), 0);
    check_git_agrees(root, "?? user.txt\n");
    /* and the next commit patches again */
    patched = g->index_patches;
    dx_git_file ch2[] = {F("d0/n08.md", "again\n")};
    CHECK_EQ_INT(dx_git_commit_changes(g, ch2, 1, NULL, 0, NULL, NULL, NULL, &err), 0);
    CHECK_EQ_INT(g->index_patches, patched + 1);
    check_git_agrees(root, "?? user.txt\n");
    /* a lock left behind: DX_ECONFLICT, nothing half-done to the index */
    CHECK_EQ_INT(sh(&out, "touch %s/.git/index.lock", root), 0);
    dx_git_file ch3[] = {F("d0/n08.md", "locked\n")};
    CHECK_EQ_INT(dx_git_commit_changes(g, ch3, 1, NULL, 0, NULL, NULL, NULL, &err), DX_ECONFLICT);
    CHECK(strstr(err.msg, "index.lock") != NULL);
    size_t removed = 0;
    CHECK_EQ_INT(dx_git_remove_stale_locks(g, 0, 0, &removed, &err), 0);
    CHECK_EQ_INT(removed, 1);
    /* that commit was not made (the index lock is tried before HEAD moves); the next one is */
    dx_git_file ch4[] = {F("d0/n08.md", "after the lock\n")};
    CHECK_EQ_INT(dx_git_commit_changes(g, ch4, 1, NULL, 0, NULL, NULL, NULL, &err), 0);
    check_git_agrees(root, "?? user.txt\n");
    dx_git_free(g);
    dx_buf_release(&out);
}

/* Two handles on one repository (a watching daemon and a `diaryx commit` beside it): each
 * picks up the other's memo from .git/diaryx-index and keeps patching. */
TEST(test_git_delta_two_handles_share_the_memo)
{
    const char *root = new_dir("two");
    dx_git *a = open_repo(root), *b = open_repo(root);
    dx_error err = DX_ERROR_INIT;
    if (!a || !b) {
        dx_git_free(a);
        dx_git_free(b);
        return;
    }
    dx_git_file v1[] = {F("x.md", "x\n"), F("y/z.md", "z\n")};
    CHECK_EQ_INT(dx_git_commit_changes(a, v1, 2, NULL, 0, NULL, NULL, NULL, &err), 0);
    for (int round = 0; round < 4; round++) {
        dx_git *g = round % 2 ? a : b;
        char body[32];
        snprintf(body, sizeof body, "round %d\n", round);
        dx_git_file ch[] = {{round % 2 ? "x.md" : "y/z.md", body, strlen(body), NULL}};
        size_t patched = g->index_patches;
        CHECK_EQ_INT(dx_git_commit_changes(g, ch, 1, NULL, 0, NULL, NULL, NULL, &err), 0);
        CHECK_EQ_INT(g->index_patches, patched + 1);
    }
    /* (git status is run only now: it may rewrite the index to settle racily clean entries,
     * a new checksum that no memo names) */
    check_git_agrees(root, NULL);
    dx_git_free(a);
    dx_git_free(b);
}

/* A file changed after the commit in the same second, with the same size and the same mtime as
 * its index entry: the next commit (which does not touch it) must leave git able to see it. */
TEST(test_git_delta_racy_entry_is_smudged)
{
    const char *root = new_dir("racy");
    dx_git *g = open_repo(root);
    dx_error err = DX_ERROR_INIT;
    dx_buf out = DX_BUF_INIT;
    if (!g)
        return;
    /* ctime is not compared (core.trustctime false), so only mtime and size tell git */
    CHECK_EQ_INT(sh(&out, "git -C %s config core.trustctime false", root), 0);
    dx_git_file v1[] = {F("a.md", "aaaa\n"), F("b.md", "bbbb\n")};
    CHECK_EQ_INT(dx_git_commit_changes(g, v1, 2, NULL, 0, NULL, NULL, NULL, &err), 0);
    dx_git_file v2[] = {F("a.md", "AAAA\n")};
    CHECK_EQ_INT(dx_git_commit_changes(g, v2, 1, NULL, 0, NULL, NULL, NULL, &err), 0);
    char p[600], ip[600];
    snprintf(p, sizeof p, "%s/a.md", root);
    snprintf(ip, sizeof ip, "%s/.git/index", root);
    struct stat st;
    CHECK_EQ_INT(stat(p, &st), 0);
    /* same size, other bytes, the old mtime; the index file gets that mtime too (racy) */
    FILE *f = fopen(p, "r+");
    CHECK(f != NULL);
    if (f) {
        fputs("ZZZZ\n", f);
        fclose(f);
    }
    struct timespec ts[2] = {st.st_atim, st.st_mtim};
    CHECK_EQ_INT(utimensat(AT_FDCWD, p, ts, 0), 0);
    CHECK_EQ_INT(utimensat(AT_FDCWD, ip, ts, 0), 0);
    size_t patched = g->index_patches;
    dx_git_file v3[] = {F("b.md", "BBBB\n")};
    CHECK_EQ_INT(dx_git_commit_changes(g, v3, 1, NULL, 0, NULL, NULL, NULL, &err), 0);
    CHECK_EQ_INT(g->index_patches, patched + 1);
    /* the new index is not racy any more for a.md, yet git sees the change */
    CHECK_EQ_INT(sh(&out, "git -C %s ls-files --debug a.md | grep size", root), 0);
    CHECK(strstr(dx_buf_cstr(&out), "size: 0") != NULL);
    CHECK_EQ_INT(sh(&out, "git -C %s status --porcelain", root), 0);
    CHECK_EQ_STR(dx_buf_cstr(&out), " M a.md\n");
    CHECK_EQ_INT(sh(&out, "git -C %s fsck --strict 2>&1", root), 0);
    dx_git_free(g);
    dx_buf_release(&out);
}

/* A damaged index never crashes a commit: the libgit2 path reports it, or takes over. */
TEST(test_git_delta_corrupt_and_v4_index)
{
    const char *root = new_dir("corrupt");
    dx_git *g = open_repo(root);
    dx_error err = DX_ERROR_INIT;
    dx_buf out = DX_BUF_INIT;
    if (!g)
        return;
    dx_git_file v1[] = {F("a.md", "a\n"), F("b/c.md", "c\n"), F("b/d.md", "d\n")};
    CHECK_EQ_INT(dx_git_commit_changes(g, v1, 3, NULL, 0, NULL, NULL, NULL, &err), 0);
    /* version 4 (prefix-compressed paths): libgit2's path, still right */
    CHECK_EQ_INT(sh(&out, "git -C %s update-index --index-version 4", root), 0);
    size_t rewrites = g->index_rewrites;
    dx_git_file v2[] = {F("b/c.md", "c2\n")};
    CHECK_EQ_INT(dx_git_commit_changes(g, v2, 1, NULL, 0, NULL, NULL, NULL, &err), 0);
    CHECK_EQ_INT(g->index_rewrites, rewrites + 1);
    check_git_agrees(root, NULL);
    /* truncated in the middle, trailer kept as the memo knows it: never a crash, a clear error
     * or a good index */
    CHECK_EQ_INT(sh(&out,
                    "cd %s/.git && size=$(stat -c %%s index) && "
                    "{ head -c 40 index; tail -c 20 index; } > index.new && mv index.new index",
                    root),
                 0);
    dx_git_file v3[] = {F("b/d.md", "d3\n")};
    int rc = dx_git_commit_changes(g, v3, 1, NULL, 0, NULL, NULL, NULL, &err);
    CHECK(rc == 0 || (rc < 0 && err.msg[0] != 0));
    /* whatever happened, git reset brings the index back and the next commit is right */
    CHECK_EQ_INT(sh(&out, "cd %s && rm -f .git/index && git reset -q", root), 0);
    dx_git_file v4[] = {F("a.md", "a4\n")};
    CHECK_EQ_INT(dx_git_commit_changes(g, v4, 1, NULL, 0, NULL, NULL, NULL, &err), 0);
    check_git_agrees(root, NULL);
    /* garbage of the right length with the memo's trailer */
    CHECK_EQ_INT(sh(&out,
                    "cd %s/.git && size=$(stat -c %%s index) && "
                    "{ head -c 12 index; head -c $((size - 32)) /dev/zero; tail -c 20 index; } > "
                    "index.new && mv index.new index",
                    root),
                 0);
    dx_git_file v5[] = {F("a.md", "a5\n")};
    rc = dx_git_commit_changes(g, v5, 1, NULL, 0, NULL, NULL, NULL, &err);
    CHECK(rc == 0 || (rc < 0 && err.msg[0] != 0));
    dx_git_free(g);
    dx_buf_release(&out);
}

/* The index codec alone: an index git wrote parses, and patching it gives one git reads. */
TEST(test_git_index_parse_and_patch_roundtrip)
{
    const char *root = new_dir("codec");
    dx_buf out = DX_BUF_INIT, bytes = DX_BUF_INIT, patched = DX_BUF_INIT;
    dx_error err = DX_ERROR_INIT;
    CHECK_EQ_INT(sh(&out,
                    "mkdir -p %s && cd %s && git init -q && mkdir -p x && echo 1 > x/a && "
                    "echo 2 > b && echo 3 > c && git add . && git -c user.name=t "
                    "-c user.email=t@t commit -q -m m && git status -s",
                    root, root),
                 0);
    CHECK_EQ_INT(sh(&bytes, "cat %s/.git/index", root), 0);
    dx_git_index_view v;
    CHECK_EQ_INT(dx_git_index_parse((const unsigned char *)bytes.data, bytes.len, &v, &err), 0);
    CHECK_EQ_INT(v.n, 3);
    CHECK_EQ_INT(v.version, 2);
    /* replace b, remove c, add d (stat data all zero: git re-reads it) */
    dx_git_index_edit ed[3] = {{.path = "b", .mode = 0100644, .size = 2},
                               {.path = "c", .remove = 1},
                               {.path = "d", .mode = 0100644, .size = 2}};
    CHECK_EQ_INT(sh(&out, "cd %s && echo 3 | git hash-object --stdin", root), 0);
    char want_id[48];
    snprintf(want_id, sizeof want_id, "%.40s\n", dx_buf_cstr(&out));
    for (int i = 0; i < 20; i++) {
        unsigned hi;
        sscanf(out.data + 2 * i, "%2x", &hi);
        ed[0].id[i] = ed[2].id[i] = (unsigned char)hi;
    }
    CHECK_EQ_INT(dx_git_index_patch((const unsigned char *)bytes.data, &v, ed, 3, NULL, NULL,
                                    &patched, &err),
                 0);
    char p[600];
    snprintf(p, sizeof p, "%s/.git/index", root);
    FILE *f = fopen(p, "wb");
    if (f) {
        fwrite(patched.data, 1, patched.len, f);
        fclose(f);
    }
    CHECK_EQ_INT(sh(&out, "cd %s && git ls-files -s | cut -f 2", root), 0);
    CHECK_EQ_STR(dx_buf_cstr(&out), "b\nd\nx/a\n");
    CHECK_EQ_INT(sh(&out, "cd %s && git ls-files -s b | cut -c 8-47", root), 0);
    CHECK_EQ_STR(dx_buf_cstr(&out), want_id);
    dx_git_index_view_release(&v);
    /* unsorted edits are refused; truncations and version 4 are refused without a crash */
    CHECK_EQ_INT(dx_git_index_parse((const unsigned char *)patched.data, patched.len, &v, &err), 0);
    dx_git_index_edit rev[2] = {{.path = "z", .remove = 1}, {.path = "a", .remove = 1}};
    CHECK_EQ_INT(
        dx_git_index_patch((const unsigned char *)patched.data, &v, rev, 2, NULL, NULL, &out, &err),
        DX_EINVAL);
    dx_git_index_view_release(&v);
    for (size_t cut = 0; cut < patched.len; cut += 7)
        if (dx_git_index_parse((const unsigned char *)patched.data, cut, &v, &err) == 0)
            dx_git_index_view_release(&v);
    ((unsigned char *)patched.data)[7] = 4;
    CHECK_EQ_INT(dx_git_index_parse((const unsigned char *)patched.data, patched.len, &v, &err),
                 DX_EUNSUPPORTED);
    dx_buf_release(&out);
    dx_buf_release(&bytes);
    dx_buf_release(&patched);
}

int main(void)
{
    snprintf(tmpdir_, sizeof tmpdir_, "/tmp/dx_test_git_delta_XXXXXX");
    if (!mkdtemp(tmpdir_))
        return 1;
    RUN(test_git_delta_add_modify_delete_rename);
    RUN(test_git_delta_refuses_bad_change_sets);
    RUN(test_git_delta_files_by_id_and_untracked_files);
    RUN(test_git_delta_index_memo_hit_and_miss);
    RUN(test_git_delta_two_handles_share_the_memo);
    RUN(test_git_delta_racy_entry_is_smudged);
    RUN(test_git_delta_corrupt_and_v4_index);
    RUN(test_git_index_parse_and_patch_roundtrip);
    char cmd[512];
    snprintf(cmd, sizeof cmd, "rm -rf %s", tmpdir_);
    if (system(cmd) != 0)
        printf("could not remove %s\n", tmpdir_);
    return TEST_REPORT();
}
