/* test_git.c - the git history layer on real repositories, checked with the system git. */
#include "test.h"
#include "test_sh.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "diaryx/buf.h"
#include "diaryx/error.h"
#include "diaryx/git.h"

static char tmpdir_[256];

static const char *new_dir(const char *name)
{
    static char p[512];
    snprintf(p, sizeof p, "%s/%s", tmpdir_, name);
    return p;
}

static void write_file(const char *dir, const char *rel, const char *text)
{
    char p[1024];
    snprintf(p, sizeof p, "%s/%s", dir, rel);
    FILE *f = fopen(p, "w");
    if (f) {
        fputs(text, f);
        fclose(f);
    }
}

#define F(p, s)                                                                                    \
    {                                                                                              \
        p, s, sizeof(s) - 1                                                                        \
    }

TEST(test_git_first_commit_status_clean_and_fsck)
{
    const char *root = new_dir("first");
    dx_git *g = NULL;
    dx_error err = DX_ERROR_INIT;
    dx_buf out = DX_BUF_INIT;
    CHECK_EQ_INT(dx_git_open_or_init(root, 0, &g, &err), 0);
    if (!g) {
        TEST_FAILF("%s", err.msg);
        return;
    }
    write_file(root, "untracked.txt", "user file\n");
    dx_git_file files[] = {F(".gitignore", ".diaryx/\n"), F("README.md", "# Home\n"),
                           F("notes/a.md", "---\ntitle: A\n---\nbody a\n"),
                           F("notes/deep/b.md", "b\n")};
    char id[DX_GIT_OID_HEX];
    dx_git_stats st;
    dx_git_commit_opts o = {0};
    o.device = "laptop";
    CHECK_EQ_INT(dx_git_commit_files(g, files, 4, &o, id, &st, &err), 0);
    CHECK_EQ_INT(st.added, 4);
    CHECK_EQ_INT(st.blobs_written, 4);
    CHECK_EQ_INT(sh(&out, "git -C %s rev-parse HEAD", root), 0);
    CHECK(strncmp(out.data, id, 40) == 0);
    CHECK_EQ_INT(sh(&out, "git -C %s symbolic-ref HEAD", root), 0);
    CHECK_EQ_STR(out.data, "refs/heads/main\n");
    CHECK_EQ_INT(sh(&out, "git -C %s ls-tree -r --name-only HEAD", root), 0);
    CHECK_EQ_STR(out.data, ".gitignore\nREADME.md\nnotes/a.md\nnotes/deep/b.md\n");
    CHECK_EQ_INT(sh(&out, "git -C %s status --porcelain", root), 0);
    CHECK_EQ_STR(out.data, "?? untracked.txt\n"); /* never added, and nothing else pending */
    CHECK_EQ_INT(sh(&out, "git -C %s log -1 --format=%%an%%n%%ae%%n%%B", root), 0);
    CHECK(strncmp(out.data,
                  "Diaryx\nnoreply@diaryx.app\nCreate workspace\n\nA\t.gitignore\nA\tREADME.md\n"
                  "A\tnotes/a.md\nA\tnotes/deep/b.md\n\nDevice: laptop\nDate: 20",
                  strlen("Diaryx\nnoreply@diaryx.app\nCreate workspace\n\nA\t.gitignore\nA\t"
                         "README.md\nA\tnotes/a.md\nA\tnotes/deep/b.md\n\nDevice: laptop\nDate: "
                         "20")) == 0);
    CHECK_EQ_INT(sh(&out, "git -C %s fsck --strict 2>&1", root), 0);
    /* the work tree got the files */
    CHECK_EQ_INT(sh(&out, "cat %s/notes/deep/b.md", root), 0);
    CHECK_EQ_STR(out.data, "b\n");
    dx_git_free(g);
    /* reopening reuses it */
    CHECK_EQ_INT(dx_git_open_or_init(root, 0, &g, &err), 0);
    char id2[DX_GIT_OID_HEX];
    CHECK_EQ_INT(dx_git_resolve(g, "HEAD", id2, &err), 0);
    CHECK_EQ_STR(id2, id);
    /* the same set again: no commit */
    CHECK_EQ_INT(dx_git_commit_files(g, files, 4, NULL, id2, &st, &err), DX_GIT_NOCHANGE);
    CHECK_EQ_STR(id2, id);
    CHECK_EQ_INT(st.blobs_written, 0);
    CHECK_EQ_INT(sh(&out, "git -C %s rev-list --count HEAD", root), 0);
    CHECK_EQ_STR(out.data, "1\n");
    dx_git_free(g);
    dx_buf_release(&out);
}

TEST(test_git_incremental_changes_and_message)
{
    const char *root = new_dir("incr");
    dx_git *g = NULL;
    dx_error err = DX_ERROR_INIT;
    dx_buf out = DX_BUF_INIT;
    CHECK_EQ_INT(dx_git_open_or_init(root, 0, &g, &err), 0);
    if (!g)
        return;
    dx_git_file v1[] = {F("a.md", "a1\n"), F("b.md", "b1\n"), F("c.md", "c1\n"),
                        F("d/old.md", "same content\n")};
    CHECK_EQ_INT(dx_git_commit_files(g, v1, 4, NULL, NULL, NULL, &err), 0);
    /* modify a, delete b, add e, rename d/old.md -> x/new.md, keep c */
    dx_git_file v2[] = {F("a.md", "a2\n"), F("c.md", "c1\n"), F("e.md", "e\n"),
                        F("x/new.md", "same content\n")};
    dx_git_stats st;
    dx_git_commit_opts o = {0};
    o.device = "phone";
    o.author_name = "Ann";
    o.author_email = "ann@example.org";
    CHECK_EQ_INT(dx_git_commit_files(g, v2, 4, &o, NULL, &st, &err), 0);
    CHECK_EQ_INT(st.added, 1);
    CHECK_EQ_INT(st.modified, 1);
    CHECK_EQ_INT(st.deleted, 1);
    CHECK_EQ_INT(st.renamed, 1);
    CHECK_EQ_INT(st.blobs_written, 2);
    CHECK_EQ_INT(sh(&out, "git -C %s log -1 --format=%%an%%n%%B", root), 0);
    const char *want = "Ann\nUpdate 4 entries\n\nM\ta.md\nD\tb.md\nR\td/old.md -> x/new.md\n"
                       "A\te.md\n\nDevice: phone\nDate: ";
    CHECK(strncmp(out.data, want, strlen(want)) == 0);
    if (strncmp(out.data, want, strlen(want)) != 0)
        printf("  got: %s\n", out.data);
    CHECK_EQ_INT(sh(&out, "git -C %s ls-tree -r --name-only HEAD", root), 0);
    CHECK_EQ_STR(out.data, "a.md\nc.md\ne.md\nx/new.md\n");
    CHECK_EQ_INT(sh(&out, "git -C %s status --porcelain", root), 0);
    CHECK_EQ_STR(out.data, ""); /* clean: .diaryx/ is excluded through .git/info/exclude */
    /* one change: "Add P"; user message replaces the summary */
    dx_git_file v3[] = {F("a.md", "a2\n"), F("c.md", "c1\n"), F("e.md", "e\n"),
                        F("x/new.md", "same content\n"), F("z.md", "z\n")};
    CHECK_EQ_INT(dx_git_commit_files(g, v3, 5, NULL, NULL, NULL, &err), 0);
    CHECK_EQ_INT(sh(&out, "git -C %s log -1 --format=%%s", root), 0);
    CHECK_EQ_STR(out.data, "Add z.md\n");
    dx_git_file v4[] = {F("a.md", "a3\n"), F("c.md", "c1\n"), F("e.md", "e\n"),
                        F("x/new.md", "same content\n"), F("z.md", "z\n")};
    o.message = "my words";
    CHECK_EQ_INT(dx_git_commit_files(g, v4, 5, &o, NULL, NULL, &err), 0);
    CHECK_EQ_INT(sh(&out, "git -C %s log -1 --format=%%B", root), 0);
    CHECK(strncmp(out.data, "my words\n\nM\ta.md\n\nDevice: phone\n", 30) == 0);
    CHECK_EQ_INT(sh(&out, "git -C %s fsck --strict 2>&1", root), 0);
    /* bad paths are refused with the path named */
    dx_git_file bad[] = {F("../evil.md", "x")};
    CHECK_EQ_INT(dx_git_commit_files(g, bad, 1, NULL, NULL, NULL, &err), DX_EPATH);
    CHECK(strstr(err.msg, "../evil.md") != NULL);
    dx_git_file dup[] = {F("a.md", "x"), F("a.md", "y")};
    CHECK_EQ_INT(dx_git_commit_files(g, dup, 2, NULL, NULL, NULL, &err), DX_EPATH);
    dx_git_free(g);
    dx_buf_release(&out);
}

typedef struct log_acc {
    dx_buf text;
    int n;
} log_acc;

static int log_cb(const dx_git_log_entry *e, void *ud)
{
    log_acc *a = ud;
    a->n++;
    dx_buf_printf(&a->text, "%s %s %lld %s %s\n", e->id, e->short_id, (long long)e->time, e->author,
                  e->summary);
    return 0;
}

TEST(test_git_log_read_resolve_diff)
{
    const char *root = new_dir("log");
    dx_git *g = NULL;
    dx_error err = DX_ERROR_INIT;
    dx_buf out = DX_BUF_INIT, b = DX_BUF_INIT;
    CHECK_EQ_INT(dx_git_open_or_init(root, 0, &g, &err), 0);
    if (!g)
        return;
    dx_git_file v[] = {F("a.md", "one\n"), F("b.md", "b\n")};
    CHECK_EQ_INT(dx_git_commit_files(g, v, 2, NULL, NULL, NULL, &err), 0);
    v[1].data = "b2\n";
    CHECK_EQ_INT(dx_git_commit_files(g, v, 2, NULL, NULL, NULL, &err), 0);
    v[0].data = "one\ntwo\n";
    v[0].len = 8;
    CHECK_EQ_INT(dx_git_commit_files(g, v, 2, NULL, NULL, NULL, &err), 0);
    log_acc a = {DX_BUF_INIT, 0};
    CHECK_EQ_INT(dx_git_log(g, NULL, 0, log_cb, &a, &err), 0);
    CHECK_EQ_INT(a.n, 3);
    CHECK_EQ_INT(sh(&out, "git -C %s log --format='%%H %%h %%ct %%an <%%ae> %%s' --abbrev=7", root),
                 0);
    CHECK_EQ_STR(a.text.data, out.data);
    /* per-file log */
    dx_buf_reset(&a.text);
    a.n = 0;
    CHECK_EQ_INT(dx_git_log(g, "a.md", 0, log_cb, &a, &err), 0);
    CHECK_EQ_INT(a.n, 2);
    CHECK_EQ_INT(
        sh(&out, "git -C %s log --format='%%H %%h %%ct %%an <%%ae> %%s' --abbrev=7 -- a.md", root),
        0);
    CHECK_EQ_STR(a.text.data, out.data);
    dx_buf_reset(&a.text);
    a.n = 0;
    CHECK_EQ_INT(dx_git_log(g, NULL, 2, log_cb, &a, &err), 0);
    CHECK_EQ_INT(a.n, 2);
    dx_buf_release(&a.text);
    /* read at HEAD~1 and HEAD */
    CHECK_EQ_INT(dx_git_read_file(g, "HEAD~1", "a.md", &b, &err), 0);
    CHECK_EQ_STR(b.data, "one\n");
    dx_buf_reset(&b);
    CHECK_EQ_INT(dx_git_read_file(g, NULL, "a.md", &b, &err), 0);
    CHECK_EQ_STR(b.data, "one\ntwo\n");
    CHECK_EQ_INT(dx_git_read_file(g, "HEAD", "nope.md", &b, &err), DX_ENOTFOUND);
    CHECK(strstr(err.msg, "nope.md") != NULL);
    CHECK(dx_git_resolve(g, "HEAD~9", (char[DX_GIT_OID_HEX]){0}, &err) < 0);
    /* resolve a short id */
    char full[DX_GIT_OID_HEX], viashort[DX_GIT_OID_HEX];
    CHECK_EQ_INT(dx_git_resolve(g, "HEAD~2", full, &err), 0);
    char shortid[9];
    memcpy(shortid, full, 8);
    shortid[8] = 0;
    CHECK_EQ_INT(dx_git_resolve(g, shortid, viashort, &err), 0);
    CHECK_EQ_STR(viashort, full);
    /* list */
    char **paths = NULL;
    size_t np = 0;
    CHECK_EQ_INT(dx_git_list_files(g, "HEAD", &paths, &np, &err), 0);
    CHECK_EQ_INT(np, 2);
    if (np == 2) {
        CHECK_EQ_STR(paths[0], "a.md");
        CHECK_EQ_STR(paths[1], "b.md");
    }
    dx_git_paths_free(paths);
    /* diff of two revisions equals git's */
    dx_buf_reset(&b);
    CHECK_EQ_INT(dx_git_diff(g, "HEAD~1", "HEAD", NULL, 0, &b, &err), 0);
    CHECK_EQ_INT(sh(&out, "git -C %s diff HEAD~1 HEAD", root), 0);
    CHECK_EQ_STR(b.data, out.data);
    /* diff of a file set against HEAD */
    dx_git_file w[] = {F("a.md", "one\ntwo\n"), F("c.md", "new\n")};
    dx_buf_reset(&b);
    CHECK_EQ_INT(dx_git_diff(g, NULL, NULL, w, 2, &b, &err), 0);
    CHECK(strstr(b.data, "diff --git a/b.md b/b.md\ndeleted file mode 100644") != NULL);
    CHECK(strstr(b.data, "+++ b/c.md\n@@ -0,0 +1 @@\n+new\n") != NULL);
    CHECK(strstr(b.data, "a/a.md") == NULL);
    CHECK_EQ_INT(sh(&out, "git -C %s rev-list --count HEAD", root), 0);
    CHECK_EQ_STR(out.data, "3\n"); /* diff made no commit */
    /* The same diff file by file (diff --json): the patches make up the whole text. */
    dx_git_diff_entry *de = NULL;
    size_t nde = 0;
    CHECK_EQ_INT(dx_git_diff_entries(g, NULL, NULL, w, 2, &de, &nde, &err), 0);
    CHECK_EQ_INT(nde, 2);
    if (nde == 2) {
        CHECK_EQ_STR(de[0].path, "b.md");
        CHECK_EQ_INT(de[0].status, 'D');
        CHECK_EQ_STR(de[1].path, "c.md");
        CHECK_EQ_INT(de[1].status, 'A');
        dx_buf_reset(&out);
        dx_buf_printf(&out, "%s%s", de[0].patch, de[1].patch);
        CHECK_EQ_STR(out.data, b.data);
    }
    dx_git_diff_entries_free(de, nde);
    CHECK_EQ_INT(dx_git_diff_entries(g, "HEAD", "HEAD", NULL, 0, &de, &nde, &err), 0);
    CHECK(de == NULL && nde == 0);
    dx_git_free(g);
    dx_buf_release(&out);
    dx_buf_release(&b);
}

TEST(test_git_bare_repo_and_stale_parent)
{
    const char *root = new_dir("bare.git");
    dx_git *g = NULL, *g2 = NULL;
    dx_error err = DX_ERROR_INIT;
    dx_buf out = DX_BUF_INIT;
    CHECK_EQ_INT(dx_git_open_or_init(root, 1, &g, &err), 0);
    if (!g)
        return;
    CHECK(dx_git_is_bare(g));
    dx_git_file v[] = {F("a.md", "a\n")};
    char first[DX_GIT_OID_HEX];
    CHECK_EQ_INT(dx_git_commit_files(g, v, 1, NULL, first, NULL, &err), 0);
    CHECK_EQ_INT(sh(&out, "git --git-dir=%s ls-tree -r --name-only HEAD", root), 0);
    CHECK_EQ_STR(out.data, "a.md\n");
    CHECK_EQ_INT(sh(&out, "git --git-dir=%s symbolic-ref HEAD", root), 0);
    CHECK_EQ_STR(out.data, "refs/heads/main\n");
    /* a second writer moves HEAD */
    CHECK_EQ_INT(dx_git_open_or_init(root, 1, &g2, &err), 0);
    dx_git_file v2[] = {F("a.md", "a by 2\n")};
    CHECK_EQ_INT(dx_git_commit_files(g2, v2, 1, NULL, NULL, NULL, &err), 0);
    /* the first writer still bases its work on `first`: refused */
    dx_git_file v3[] = {F("a.md", "a by 1\n")};
    dx_git_commit_opts o = {0};
    o.expected_parent = first;
    CHECK_EQ_INT(dx_git_commit_files(g, v3, 1, &o, NULL, NULL, &err), DX_ECONFLICT);
    CHECK(strlen(err.msg) > 0);
    CHECK_EQ_INT(sh(&out, "git --git-dir=%s show HEAD:a.md", root), 0);
    CHECK_EQ_STR(out.data, "a by 2\n");
    CHECK_EQ_INT(sh(&out, "git --git-dir=%s fsck --strict 2>&1", root), 0);
    /* opening a bare repo as a normal one is refused */
    dx_git *g3 = NULL;
    CHECK_EQ_INT(dx_git_open_or_init(root, 0, &g3, &err), DX_ECONFLICT);
    CHECK(g3 == NULL);
    dx_git_free(g);
    dx_git_free(g2);
    dx_buf_release(&out);
}

TEST(test_git_pack_keeps_loose_objects_and_packs_bounded)
{
    const char *root = new_dir("pack");
    dx_git *g = NULL;
    dx_error err = DX_ERROR_INIT;
    dx_buf out = DX_BUF_INIT;
    CHECK_EQ_INT(dx_git_open_or_init(root, 0, &g, &err), 0);
    if (!g)
        return;
    char body[64];
    size_t max_loose = 0, n, max_packs = 0, rolls = 0;
    for (int i = 0; i < 200; i++) {
        snprintf(body, sizeof body, "entry %d\n", i);
        dx_git_file v[] = {F("index.md", "# index\n"), {"days/today.md", body, strlen(body)}};
        CHECK_EQ_INT(dx_git_commit_files(g, v, 2, NULL, NULL, NULL, &err), 0);
        size_t rolled = 0;
        CHECK_EQ_INT(dx_git_maybe_pack(g, 50, &rolled, &err), 0);
        rolls += rolled > 0;
        CHECK_EQ_INT(dx_git_count_loose(g, &n, &err), 0);
        if (n > max_loose)
            max_loose = n;
        CHECK_EQ_INT(sh(&out, "ls %s/.git/objects/pack | grep -c '\\.idx$'", root), 0);
        size_t packs = (size_t)strtol(out.data, NULL, 10);
        if (packs > max_packs)
            max_packs = packs;
        if (i % 50 == 49) /* every object of the rolled packs is still there */
            CHECK_EQ_INT(sh(&out, "git -C %s fsck --strict 2>&1", root), 0);
    }
    CHECK(max_loose <= 54); /* 50 + one commit's 4 objects */
    CHECK(max_packs <= 21);
    CHECK(rolls >= 5);
    CHECK_EQ_INT(sh(&out, "git -C %s count-objects -v | grep '^count:'", root), 0);
    long count = strtol(out.data + 6, NULL, 10);
    CHECK(count <= 54);
    CHECK_EQ_INT(sh(&out, "git -C %s count-objects -v | grep '^packs:'", root), 0);
    CHECK(strtol(out.data + 6, NULL, 10) <= 21);
    CHECK_EQ_INT(sh(&out, "ls %s/.git/objects/pack | grep -vc '\\.\\(pack\\|idx\\)$'", root), 1);
    CHECK_EQ_STR(out.data, "0\n"); /* nothing else left behind */
    CHECK_EQ_INT(sh(&out, "git -C %s verify-pack %s/.git/objects/pack/*.idx", root, root), 0);
    /* loose objects (written by other tools): their number is estimated from objects/17, and
     * more than the threshold are packed */
    CHECK_EQ_INT(sh(&out,
                    "cd %s && mkdir -p loose && i=0; while [ $i -lt 3000 ]; do "
                    "echo \"loose $i\" > loose/$i; i=$((i+1)); done && "
                    "ls loose/* | git hash-object -w --stdin-paths | wc -l && rm -r loose",
                    root),
                 0);
    CHECK_EQ_STR(out.data, "3000\n");
    size_t packed_loose = 0;
    CHECK_EQ_INT(dx_git_maybe_pack(g, 512, &packed_loose, &err), 0);
    CHECK(packed_loose >= 3000);
    CHECK_EQ_INT(dx_git_count_loose(g, &n, &err), 0);
    CHECK_EQ_INT(n, 0);
    /* a roll-up killed between an old pack's .idx and its .pack leaves the .pack alone */
    CHECK_EQ_INT(sh(&out, "cd %s/.git/objects/pack && echo x > pack-%s.pack", root,
                    "0123456789abcdef0123456789abcdef01234567"),
                 0);
    size_t removed = 0;
    CHECK_EQ_INT(dx_git_remove_stale_locks(g, 0, 0, &removed, &err), 0);
    CHECK_EQ_INT(removed, 0); /* new: it may be a pack git is installing */
    CHECK_EQ_INT(sh(&out, "touch -d '2 hours ago' %s/.git/objects/pack/pack-%s.pack", root,
                    "0123456789abcdef0123456789abcdef01234567"),
                 0);
    CHECK_EQ_INT(dx_git_remove_stale_locks(g, 0, 0, &removed, &err), 0);
    CHECK_EQ_INT(removed, 1);
    CHECK_EQ_INT(sh(&out, "git -C %s count-objects -v | grep '^garbage:'", root), 0);
    CHECK_EQ_STR(out.data, "garbage: 0\n");
    CHECK_EQ_INT(sh(&out, "git -C %s rev-list --count HEAD", root), 0);
    CHECK_EQ_STR(out.data, "200\n");
    CHECK_EQ_INT(sh(&out, "git -C %s fsck --strict 2>&1", root), 0);
    dx_buf b = DX_BUF_INIT;
    CHECK_EQ_INT(dx_git_read_file(g, "HEAD~199", "days/today.md", &b, &err), 0);
    CHECK_EQ_STR(b.data, "entry 0\n");
    dx_buf_release(&b);
    dx_git_free(g);
    dx_buf_release(&out);
}

/* The blob id git gives to text (through the git CLI). */
static void git_hash(const char *text, char out[DX_GIT_OID_HEX])
{
    dx_buf o = DX_BUF_INIT;
    sh(&o, "printf '%%s' '%s' | git hash-object --stdin", text);
    snprintf(out, DX_GIT_OID_HEX, "%.40s", o.data ? o.data : "");
    dx_buf_release(&o);
}

TEST(test_git_blob_ids_with_and_without_data)
{
    const char *root = new_dir("ids");
    dx_git *g = NULL;
    dx_error err = DX_ERROR_INIT;
    dx_buf out = DX_BUF_INIT;
    CHECK_EQ_INT(dx_git_open_or_init(root, 0, &g, &err), 0);
    if (!g)
        return;
    dx_git_file v1[] = {F("a.md", "a1\n"), F("b.md", "b1\n"), F("d/old.md", "same\n")};
    char head1[DX_GIT_OID_HEX];
    CHECK_EQ_INT(dx_git_commit_files(g, v1, 3, NULL, head1, NULL, &err), 0);
    char id_a2[DX_GIT_OID_HEX], id_b[DX_GIT_OID_HEX], id_old[DX_GIT_OID_HEX];
    git_hash("a2\n", id_a2);
    CHECK_EQ_INT(dx_git_blob_id(g, NULL, "b.md", id_b, &err), 0);
    CHECK_EQ_INT(dx_git_blob_id(g, NULL, "d/old.md", id_old, &err), 0);
    /* a.md: new bytes with their id; b.md: id only (unchanged); d/old.md moves to x/new.md
     * by id only (a rename, written into the work tree from the blob) */
    dx_git_file v2[] = {
        {"a.md", "a2\n", 3, id_a2}, {"b.md", NULL, 0, id_b}, {"x/new.md", NULL, 0, id_old}};
    dx_git_stats st;
    CHECK_EQ_INT(dx_git_commit_files(g, v2, 3, NULL, NULL, &st, &err), 0);
    CHECK_EQ_INT(st.modified, 1);
    CHECK_EQ_INT(st.renamed, 1);
    CHECK_EQ_INT(st.added + st.deleted, 0);
    CHECK_EQ_INT(st.blobs_written, 1);
    CHECK_EQ_INT(st.packed, 1); /* a small commit is one pack too */
    CHECK_EQ_INT(sh(&out, "git -C %s log -1 --format=%%B", root), 0);
    CHECK(strstr(out.data, "M\ta.md\nR\td/old.md -> x/new.md\n") != NULL);
    CHECK_EQ_INT(sh(&out, "cat %s/x/new.md && test ! -e %s/d/old.md", root, root), 0);
    CHECK_EQ_STR(out.data, "same\n");
    /* the index was updated in place: the changed entries carry stat data from the work tree
     * (checked before `git status`, which would refresh the index itself) */
    CHECK_EQ_INT(sh(&out, "git -C %s ls-files --debug a.md x/new.md | grep -c 'mtime: 0:0'", root),
                 1);
    CHECK_EQ_STR(out.data, "0\n");
    CHECK_EQ_INT(sh(&out, "git -C %s status --porcelain", root), 0);
    CHECK_EQ_STR(dx_buf_cstr(&out), "");
    CHECK_EQ_INT(sh(&out, "git -C %s fsck --strict 2>&1", root), 0);
    /* the same set by ids only: nothing to commit */
    dx_git_file v3[] = {
        {"a.md", NULL, 0, id_a2}, {"b.md", NULL, 0, id_b}, {"x/new.md", NULL, 0, id_old}};
    CHECK_EQ_INT(dx_git_commit_files(g, v3, 3, NULL, NULL, &st, &err), DX_GIT_NOCHANGE);
    /* an unknown id without bytes: DX_ENOTFOUND naming the path, and no commit */
    char before[DX_GIT_OID_HEX], after[DX_GIT_OID_HEX];
    CHECK_EQ_INT(dx_git_resolve(g, "HEAD", before, &err), 0);
    dx_git_file v4[] = {{"a.md", NULL, 0, id_a2},
                        {"c.md", NULL, 0, "0123456789abcdef0123456789abcdef01234567"}};
    CHECK_EQ_INT(dx_git_commit_files(g, v4, 2, NULL, NULL, NULL, &err), DX_ENOTFOUND);
    CHECK(strstr(err.msg, "'c.md'") != NULL);
    /* a malformed id, a wrong id for new bytes: DX_EINVAL */
    dx_git_file v5[] = {{"a.md", NULL, 0, "xyz"}};
    CHECK_EQ_INT(dx_git_commit_files(g, v5, 1, NULL, NULL, NULL, &err), DX_EINVAL);
    CHECK(strstr(err.msg, "a.md") != NULL);
    dx_git_file v6[] = {{"a.md", NULL, 0, id_a2},
                        {"b.md", "new b\n", 6, "0123456789abcdef0123456789abcdef01234567"},
                        {"x/new.md", NULL, 0, id_old}};
    CHECK_EQ_INT(dx_git_commit_files(g, v6, 3, NULL, NULL, NULL, &err), DX_EINVAL);
    CHECK(strstr(err.msg, "b.md") != NULL);
    CHECK_EQ_INT(dx_git_resolve(g, "HEAD", after, &err), 0);
    CHECK_EQ_STR(after, before);
    /* back to an earlier version by id only: written from the blob */
    char id_a1[DX_GIT_OID_HEX];
    CHECK_EQ_INT(dx_git_blob_id(g, head1, "a.md", id_a1, &err), 0);
    dx_git_file v7[] = {{"a.md", NULL, 0, id_a1}, {"b.md", NULL, 0, id_b}};
    CHECK_EQ_INT(dx_git_commit_files(g, v7, 2, NULL, NULL, &st, &err), 0);
    CHECK_EQ_INT(st.blobs_written, 0);
    CHECK_EQ_INT(sh(&out, "cat %s/a.md; test ! -e %s/x/new.md", root, root), 0);
    CHECK_EQ_STR(out.data, "a1\n");
    CHECK_EQ_INT(sh(&out, "git -C %s status --porcelain", root), 0);
    CHECK_EQ_STR(dx_buf_cstr(&out), "");
    CHECK_EQ_INT(sh(&out, "git -C %s fsck --strict 2>&1", root), 0);
    dx_git_free(g);
    dx_buf_release(&out);
}

TEST(test_git_index_follows_incremental_commits)
{
    const char *root = new_dir("index");
    dx_git *g = NULL;
    dx_error err = DX_ERROR_INIT;
    dx_buf out = DX_BUF_INIT;
    CHECK_EQ_INT(dx_git_open_or_init(root, 0, &g, &err), 0);
    if (!g)
        return;
    char names[40][32], bodies[40][32];
    dx_git_file v[40];
    for (int i = 0; i < 40; i++) {
        snprintf(names[i], sizeof names[i], "dir%d/n%02d.md", i % 3, i);
        snprintf(bodies[i], sizeof bodies[i], "note %d\n", i);
        v[i] = (dx_git_file){names[i], bodies[i], strlen(bodies[i]), NULL};
    }
    CHECK_EQ_INT(dx_git_commit_files(g, v, 40, NULL, NULL, NULL, &err), 0);
    for (int round = 0; round < 6; round++) {
        /* change two, delete the last one, add one back every other round */
        snprintf(bodies[round], sizeof bodies[round], "note %d v%d\n", round, round);
        v[round].len = strlen(bodies[round]);
        snprintf(bodies[20 + round], sizeof bodies[20 + round], "x%d\n", round);
        v[20 + round].len = strlen(bodies[20 + round]);
        size_t n = (round % 2) ? 40 : 39;
        CHECK_EQ_INT(dx_git_commit_files(g, v, n, NULL, NULL, NULL, &err), 0);
        CHECK_EQ_INT(sh(&out, "git -C %s status --porcelain", root), 0);
        CHECK_EQ_STR(dx_buf_cstr(&out), "");
        CHECK_EQ_INT(
            sh(&out, "git -C %s diff --cached --quiet HEAD && git -C %s diff --quiet", root, root),
            0);
    }
    /* an index changed behind our back (a staged user file) is replaced by the commit's tree */
    write_file(root, "user.txt", "mine\n");
    CHECK_EQ_INT(sh(&out, "git -C %s add user.txt", root), 0);
    snprintf(bodies[0], sizeof bodies[0], "again\n");
    v[0].len = strlen(bodies[0]);
    CHECK_EQ_INT(dx_git_commit_files(g, v, 40, NULL, NULL, NULL, &err), 0);
    CHECK_EQ_INT(sh(&out, "git -C %s status --porcelain", root), 0);
    CHECK_EQ_STR(out.data, "?? user.txt\n");
    CHECK_EQ_INT(sh(&out, "git -C %s fsck --strict 2>&1", root), 0);
    dx_git_free(g);
    dx_buf_release(&out);
}

TEST(test_git_first_commit_is_one_pack)
{
    const char *root = new_dir("packed");
    dx_git *g = NULL;
    dx_error err = DX_ERROR_INIT;
    dx_buf out = DX_BUF_INIT;
    CHECK_EQ_INT(dx_git_open_or_init(root, 0, &g, &err), 0);
    if (!g)
        return;
    enum { N = 600 };
    static char names[N][32], bodies[N][48];
    static dx_git_file v[N];
    for (int i = 0; i < N; i++) {
        snprintf(names[i], sizeof names[i], "y%d/m%d/e%03d.md", i % 5, i % 7, i);
        snprintf(bodies[i], sizeof bodies[i], "---\ntitle: %d\n---\nbody %d\n", i, i * 7);
        v[i] = (dx_git_file){names[i], bodies[i], strlen(bodies[i]), NULL};
    }
    dx_git_stats st;
    char id[DX_GIT_OID_HEX];
    CHECK_EQ_INT(dx_git_commit_files(g, v, N, NULL, id, &st, &err), 0);
    CHECK_EQ_INT(st.packed, 1);
    CHECK_EQ_INT(st.blobs_written, N);
    CHECK_EQ_INT(sh(&out, "git -C %s count-objects -v", root), 0);
    CHECK(strstr(out.data, "count: 0\n") != NULL);
    CHECK(strstr(out.data, "packs: 1\n") != NULL);
    const char *ip = strstr(out.data, "in-pack: ");
    CHECK(ip && strtol(ip + 9, NULL, 10) > N); /* blobs, trees and the commit */
    CHECK_EQ_INT(sh(&out, "git -C %s rev-parse HEAD", root), 0);
    CHECK(strncmp(out.data, id, 40) == 0);
    CHECK_EQ_INT(sh(&out, "git -C %s verify-pack %s/.git/objects/pack/*.idx", root, root), 0);
    CHECK_EQ_INT(sh(&out, "git -C %s fsck --strict 2>&1", root), 0);
    CHECK_EQ_INT(sh(&out, "git -C %s status --porcelain", root), 0);
    CHECK_EQ_STR(dx_buf_cstr(&out), "");
    CHECK_EQ_INT(sh(&out, "git -C %s show HEAD:y2/m0/e007.md", root), 0);
    CHECK_EQ_STR(out.data, bodies[7]);
    /* a small commit on top is one small pack; by ids for the unchanged files */
    static char ids[N][DX_GIT_OID_HEX];
    for (int i = 0; i < N; i++) {
        CHECK_EQ_INT(dx_git_blob_id(g, NULL, names[i], ids[i], &err), 0);
        v[i] = (dx_git_file){names[i], NULL, 0, ids[i]};
    }
    v[3] = (dx_git_file){names[3], "changed\n", 8, NULL};
    CHECK_EQ_INT(dx_git_commit_files(g, v, N, NULL, NULL, &st, &err), 0);
    CHECK_EQ_INT(st.packed, 1);
    CHECK_EQ_INT(st.modified, 1);
    CHECK_EQ_INT(sh(&out, "git -C %s count-objects -v | grep -E '^(count|packs):'", root), 0);
    CHECK_EQ_STR(out.data, "count: 0\npacks: 2\n"); /* blob, 3 trees, commit: 2 files */
    /* a second large change set (an import) on top is packed too, without the old objects */
    for (int i = 0; i < N; i++) {
        snprintf(bodies[i], sizeof bodies[i], "rewritten %d\n", i);
        v[i] = (dx_git_file){names[i], bodies[i], strlen(bodies[i]), NULL};
    }
    CHECK_EQ_INT(dx_git_commit_files(g, v, N, NULL, NULL, &st, &err), 0);
    CHECK_EQ_INT(st.packed, 1);
    CHECK_EQ_INT(sh(&out, "git -C %s count-objects -v", root), 0);
    CHECK(strstr(out.data, "count: 0\n") != NULL);
    CHECK(strstr(out.data, "packs: 3\n") != NULL);
    CHECK_EQ_INT(sh(&out, "git -C %s fsck --strict 2>&1", root), 0);
    CHECK_EQ_INT(sh(&out, "git -C %s status --porcelain", root), 0);
    CHECK_EQ_STR(dx_buf_cstr(&out), "");
    CHECK_EQ_INT(sh(&out, "git -C %s rev-list --count HEAD", root), 0);
    CHECK_EQ_STR(out.data, "3\n");
    dx_git_free(g);
    dx_buf_release(&out);
}

int main(void)
{
    snprintf(tmpdir_, sizeof tmpdir_, "/tmp/dx_test_git_XXXXXX");
    if (!mkdtemp(tmpdir_))
        return 1;
    RUN(test_git_first_commit_status_clean_and_fsck);
    RUN(test_git_incremental_changes_and_message);
    RUN(test_git_log_read_resolve_diff);
    RUN(test_git_bare_repo_and_stale_parent);
    RUN(test_git_pack_keeps_loose_objects_and_packs_bounded);
    RUN(test_git_blob_ids_with_and_without_data);
    RUN(test_git_index_follows_incremental_commits);
    RUN(test_git_first_commit_is_one_pack);
    char cmd[512];
    snprintf(cmd, sizeof cmd, "rm -rf %s", tmpdir_);
    if (system(cmd) != 0)
        printf("could not remove %s\n", tmpdir_);
    return TEST_REPORT();
}
