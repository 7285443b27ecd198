/* test_history.c - commits of the CRDT state: checks, failure counting, self-healing from
 * git, compaction only after a commit, and a committing process killed at random moments.
 * Real files, a real SQLite store, a real git repository read back with the git CLI. */
#include "test.h"
#include "test_memdocs.h"
#include "test_sh.h"

#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "diaryx/bodydoc.h"
#include "diaryx/fs.h"
#include "diaryx/history.h"
#include "diaryx/strmap.h"
#include "diaryx/wsdoc.h"

static char dir[64];

static void put(const char *rel, const char *text)
{
    char p[256];
    snprintf(p, sizeof p, "%s/%s", dir, rel);
    dx_file_write_atomic(p, text, strlen(text), 0644, NULL);
}

static void setup(void)
{
    snprintf(dir, sizeof dir, "/tmp/dx-history-XXXXXX");
    CHECK(mkdtemp(dir) != NULL);
    put("README.md", "---\ntitle: Home\ncontents:\n- \"[A](/a.md)\"\n- \"[B](/b.md)\"\n---\n");
    put("a.md", "---\ntitle: A\npart_of: \"[Home](/README.md)\"\n---\nalpha\n");
    put("b.md", "---\ntitle: B\npart_of: \"[Home](/README.md)\"\n---\nbeta\n");
}

static void teardown(void)
{
    dx_buf out = DX_BUF_INIT;
    CHECK_EQ_INT(sh(&out, "rm -rf '%s'", dir), 0);
    dx_buf_release(&out);
}

/* A commit of a session's documents; after a rebuild the session is closed, the old store
 * set aside and a new session opened, as the CLI does (it owns the session). */
static int session_commit(dx_session **s, dx_git *g, const dx_commit_opts *o, dx_commit_result *r,
                          dx_error *err)
{
    dx_history_docs h;
    dx_history_docs_of_session(*s, &h);
    int rc = dx_history_commit(&h, g, o, r, err);
    if (r->rebuilt) {
        dx_workspace *ws = dx_session_workspace(*s);
        dx_session_close(*s);
        *s = NULL;
        if (dx_history_rebuild_finish(dx_workspace_root(ws), err) ||
            dx_session_open(ws, "test", s, NULL, err))
            return DX_EIO;
    }
    return rc;
}

/* Both halves of a client's rebuild. */
static int session_rebuild(dx_session **s, dx_git *g, dx_error *err)
{
    dx_history_docs h;
    dx_history_docs_of_session(*s, &h);
    dx_workspace *ws = dx_session_workspace(*s);
    int rc = dx_history_rebuild(&h, g, err);
    dx_session_close(*s);
    *s = NULL;
    if (!rc)
        rc = dx_history_rebuild_finish(dx_workspace_root(ws), err);
    if (!rc)
        rc = dx_session_open(ws, "test", s, NULL, err);
    return rc;
}

typedef struct env {
    dx_workspace *ws;
    dx_session *s;
    dx_git *g;
} env;

static void env_open(env *e)
{
    dx_error err = DX_ERROR_INIT;
    memset(e, 0, sizeof *e);
    CHECK_EQ_INT(dx_workspace_open(dir, &e->ws, &err), 0);
    if (dx_session_open(e->ws, "test", &e->s, NULL, &err) != 0)
        TEST_FAILF("session: %s", err.msg);
    CHECK_EQ_INT(dx_history_open(e->s, &e->g, &err), 0);
}

static void env_close(env *e)
{
    dx_git_free(e->g);
    dx_session_close(e->s);
    dx_workspace_free(e->ws);
}

static int commit(env *e, dx_commit_result *r)
{
    dx_error err = DX_ERROR_INIT;
    return session_commit(&e->s, e->g, NULL, r, &err);
}

/* Make entries x and y each other's parent: valid Yjs, but no path can be derived. */
static void corrupt_with_a_cycle_of(env *e, const char *x, const char *y)
{
    char a[DX_UUID_LEN + 1], b[DX_UUID_LEN + 1];
    dx_error err = DX_ERROR_INIT;
    CHECK_EQ_INT(dx_session_find(e->s, x, a, &err), 0);
    CHECK_EQ_INT(dx_session_find(e->s, y, b, &err), 0);
    y_doc *w = dx_session_wsdoc(e->s);
    uint8_t *sv = NULL, *up = NULL;
    size_t svl, upl;
    y_encode_state_vector(w, &sv, &svl);
    dx_wsdoc_set_field(w, a, "part_of", b, &err);
    dx_wsdoc_set_field(w, b, "part_of", a, &err);
    y_encode_state_as_update(w, sv, svl, &up, &upl);
    CHECK_EQ_INT(
        dx_store_append(dx_session_store(e->s), "workspace", up, upl, "remote", "bug", NULL, &err),
        0);
    y_free(sv);
    y_free(up);
}

static void corrupt_with_a_cycle(env *e)
{
    corrupt_with_a_cycle_of(e, "a.md", "b.md");
}

TEST(test_commit_is_clean_and_read_by_git)
{
    setup();
    env e;
    env_open(&e);
    dx_commit_result r;
    CHECK_EQ_INT(commit(&e, &r), 0);
    CHECK(r.committed);
    CHECK_EQ_INT(r.stats.files, 3);
    dx_commit_result_release(&r);
    dx_buf out = DX_BUF_INIT;
    CHECK_EQ_INT(sh(&out, "git -C %s fsck --strict 2>&1", dir), 0);
    CHECK_EQ_INT(sh(&out, "git -C %s status --porcelain", dir), 0);
    CHECK_EQ_STR(dx_buf_cstr(&out), "");
    CHECK_EQ_INT(sh(&out, "git -C %s show HEAD:a.md", dir), 0);
    CHECK_EQ_STR(out.data, "---\ntitle: A\npart_of: \"[Home](/README.md)\"\n---\nalpha\n");
    /* Nothing changed: no commit. */
    CHECK_EQ_INT(commit(&e, &r), 0);
    CHECK(!r.committed);
    dx_commit_result_release(&r);
    CHECK_EQ_INT(sh(&out, "git -C %s rev-list --count HEAD", dir), 0);
    CHECK_EQ_STR(out.data, "1\n");
    dx_buf_release(&out);
    env_close(&e);
    teardown();
}

TEST(test_failed_checks_skip_count_and_heal_on_the_third)
{
    setup();
    env e;
    env_open(&e);
    dx_commit_result r;
    CHECK_EQ_INT(commit(&e, &r), 0);
    dx_commit_result_release(&r);
    char head[DX_GIT_OID_HEX];
    dx_error err = DX_ERROR_INIT;
    CHECK_EQ_INT(dx_git_resolve(e.g, "HEAD", head, &err), 0);
    env_close(&e);
    /* A damaged CRDT (the update is stored as sync would store it). */
    env_open(&e);
    corrupt_with_a_cycle(&e);
    env_close(&e);
    for (size_t attempt = 1; attempt <= 3; attempt++) {
        env_open(&e);
        int rc = commit(&e, &r);
        CHECK_EQ_INT(rc, DX_EVALIDATE);
        CHECK(!r.committed);
        CHECK_EQ_INT(r.failures, attempt);
        CHECK(r.problems.len > 0);
        CHECK(r.rebuilt == (attempt == 3));
        char now[DX_GIT_OID_HEX];
        CHECK_EQ_INT(dx_git_resolve(e.g, "HEAD", now, &err), 0);
        CHECK_EQ_STR(now, head); /* nothing committed */
        dx_commit_result_release(&r);
        if (attempt == 3) {
            /* Git won: the new CRDT has both entries at their paths again, a commit passes
             * (nothing changed) and the count is reset. */
            char id[DX_UUID_LEN + 1];
            CHECK_EQ_INT(dx_session_find(e.s, "a.md", id, &err), 0);
            CHECK_EQ_INT(dx_session_find(e.s, "b.md", id, &err), 0);
            CHECK_EQ_INT(commit(&e, &r), 0);
            CHECK(!r.committed);
            CHECK_EQ_INT(r.failures, 0);
            dx_commit_result_release(&r);
            dx_buf out = DX_BUF_INIT;
            CHECK_EQ_INT(sh(&out, "ls %s/.diaryx | grep -c 'crdt.db.broken-'", dir), 0);
            CHECK_EQ_STR(out.data, "1\n");
            CHECK_EQ_INT(sh(&out, "git -C %s status --porcelain", dir), 0);
            CHECK_EQ_STR(dx_buf_cstr(&out), "");
            dx_buf_release(&out);
        }
        env_close(&e);
    }
    teardown();
}

TEST(test_skip_validation_commits_and_one_success_resets_the_count)
{
    setup();
    env e;
    env_open(&e);
    dx_commit_result r;
    CHECK_EQ_INT(commit(&e, &r), 0);
    dx_commit_result_release(&r);
    corrupt_with_a_cycle(&e);
    env_close(&e);
    env_open(&e);
    CHECK_EQ_INT(commit(&e, &r), DX_EVALIDATE);
    CHECK_EQ_INT(r.failures, 1);
    dx_commit_result_release(&r);
    dx_commit_opts o = DX_COMMIT_OPTS_INIT;
    o.skip_validation = true;
    dx_error err = DX_ERROR_INIT;
    /* Entries whose path cannot be derived are left out; the rest is committed. */
    CHECK_EQ_INT(session_commit(&e.s, e.g, &o, &r, &err), 0);
    CHECK_EQ_INT(r.failures, 0);
    dx_commit_result_release(&r);
    dx_buf v = DX_BUF_INIT;
    CHECK_EQ_INT(dx_store_meta_get(dx_session_store(e.s), "commit_failures", &v, NULL),
                 DX_ENOTFOUND);
    dx_buf_release(&v);
    env_close(&e);
    teardown();
}

static size_t count_updates(dx_session *s)
{
    dx_store_doc_info *docs;
    size_t n, total = 0;
    dx_store_list(dx_session_store(s), &docs, &n, NULL);
    for (size_t i = 0; i < n; i++)
        total += docs[i].updates;
    dx_store_docs_free(docs, n);
    return total;
}

/* n saves of a.md, each setting its body to "alpha I". */
static void edit_body_times(env *e, int n)
{
    dx_error err = DX_ERROR_INIT;
    char line[64];
    for (int i = 0; i < n; i++) {
        dx_fm *fm = NULL;
        CHECK_EQ_INT(dx_workspace_read(e->ws, "a.md", &fm, &err), 0);
        snprintf(line, sizeof line, "alpha %d\n", i);
        dx_fm_set_body(fm, line, strlen(line));
        CHECK_EQ_INT(dx_workspace_write(e->ws, "a.md", fm, &err), 0);
        dx_fm_free(fm);
        CHECK_EQ_INT(dx_session_save(e->s, NULL, &err), 0);
    }
}

TEST(test_compaction_only_after_a_commit_keeps_the_state)
{
    setup();
    env e;
    env_open(&e);
    dx_error err = DX_ERROR_INIT;
    edit_body_times(&e, 70);
    size_t before = count_updates(e.s);
    CHECK(before >= 70);
    /* A failed commit never compacts. */
    corrupt_with_a_cycle(&e);
    env_close(&e);
    env_open(&e);
    dx_commit_result r;
    CHECK_EQ_INT(commit(&e, &r), DX_EVALIDATE);
    dx_commit_result_release(&r);
    CHECK_EQ_INT(count_updates(e.s), before + 1);
    env_close(&e);
    teardown();
    /* A good commit compacts to 50 per document, and the state is unchanged. */
    setup();
    env_open(&e);
    edit_body_times(&e, 70);
    CHECK_EQ_INT(commit(&e, &r), 0);
    dx_commit_result_release(&r);
    char id[DX_UUID_LEN + 1], name[64];
    CHECK_EQ_INT(dx_session_find(e.s, "a.md", id, &err), 0);
    dx_doc_body_name(id, name);
    dx_store_update_info *h;
    size_t n;
    CHECK_EQ_INT(dx_store_history(dx_session_store(e.s), name, 1000, &h, &n, &err), 0);
    CHECK_EQ_INT(n, 50);
    dx_store_history_free(h, n);
    env_close(&e);
    env_open(&e); /* reloaded from snapshot + 50 updates */
    y_doc *d = NULL;
    dx_buf text = DX_BUF_INIT;
    CHECK_EQ_INT(dx_session_body(e.s, id, &d, &err), 0);
    dx_body_get(d, &text, &err);
    CHECK_EQ_STR(text.data, "alpha 69\n");
    dx_buf_release(&text);
    env_close(&e);
    teardown();
}

/* HEAD's files (path -> blob id) against what a full rendering of the CRDT gives. */
static void check_head_is_the_full_state(env *e)
{
    dx_error err = DX_ERROR_INIT;
    dx_git_file *files = NULL;
    size_t n = 0;
    dx_strlist problems = DX_STRLIST_INIT;
    dx_strmap head = DX_STRMAP_INIT;
    CHECK_EQ_INT(dx_history_files(e->s, e->g, &files, &n, &problems, &err), 0);
    CHECK_EQ_INT(problems.len, 0);
    CHECK_EQ_INT(dx_git_blobs(e->g, NULL, &head, &err), 0);
    CHECK_EQ_INT(head.len, n);
    for (size_t i = 0; i < n; i++) {
        char hex[DX_GIT_OID_HEX];
        const char *want = files[i].id;
        if (!want) {
            dx_git_blob_hex(files[i].data, files[i].len, hex);
            want = hex;
        }
        const char *got = dx_strmap_get(&head, files[i].path);
        if (!got || strcmp(got, want))
            TEST_FAILF("%s: HEAD has %s, the CRDT renders %s", files[i].path, got ? got : "nothing",
                       want);
    }
    dx_git_blobs_release(&head);
    dx_history_files_free(files, n);
    dx_strlist_release(&problems);
}

TEST(test_a_commit_checks_only_the_changes_and_equals_a_full_one)
{
    setup();
    env e;
    env_open(&e);
    dx_error err = DX_ERROR_INIT;
    dx_commit_result r;
    CHECK_EQ_INT(commit(&e, &r), 0);
    CHECK(!r.incremental); /* the first commit renders everything */
    CHECK_EQ_INT(r.checked, 3);
    dx_commit_result_release(&r);
    put("notes.txt", "not an entry\n"); /* untracked: never committed */
    /* Change a body, add an entry, move one, through the CRDT. */
    edit_body_times(&e, 1);
    CHECK_EQ_INT(dx_workspace_create(e.ws, "c.md", "C", false, &err), 0);
    CHECK_EQ_INT(dx_session_save(e.s, NULL, &err), 0);
    CHECK_EQ_INT(dx_workspace_move(e.ws, "b.md", "sub/b2.md", &err), 0);
    CHECK_EQ_INT(dx_session_save(e.s, NULL, &err), 0);
    CHECK_EQ_INT(commit(&e, &r), 0);
    CHECK(r.committed);
    CHECK(r.incremental);
    CHECK(r.checked >= 3 && r.checked < 8);
    dx_commit_result_release(&r);
    check_head_is_the_full_state(&e);
    dx_buf out = DX_BUF_INIT;
    CHECK_EQ_INT(sh(&out, "git -C %s status --porcelain", dir), 0);
    CHECK_EQ_STR(dx_buf_cstr(&out), "?? notes.txt\n");
    CHECK_EQ_INT(sh(&out, "git -C %s fsck --strict 2>&1", dir), 0);
    CHECK_EQ_INT(sh(&out, "git -C %s show --no-renames --format= --name-status HEAD | sort", dir),
                 0);
    if (!strstr(out.data, "A\tc.md") || !strstr(out.data, "M\ta.md"))
        TEST_FAILF("the commit's changes:\n%s", out.data);
    CHECK(strstr(out.data, "D\tb.md") && strstr(out.data, "A\tsub/b2.md"));
    /* Deleted entry, and an edit made outside diaryx (taken in by the next open). */
    CHECK_EQ_INT(dx_workspace_delete(e.ws, "c.md", &err), 0);
    CHECK_EQ_INT(dx_session_save(e.s, NULL, &err), 0);
    env_close(&e);
    put("a.md", "---\ntitle: A\npart_of: \"[Home](/README.md)\"\n---\nedited in vim\n");
    env_open(&e);
    CHECK_EQ_INT(commit(&e, &r), 0);
    CHECK(r.incremental);
    CHECK(r.checked >= 2 && r.checked < 5);
    dx_commit_result_release(&r);
    check_head_is_the_full_state(&e);
    CHECK_EQ_INT(sh(&out, "git -C %s show HEAD:a.md", dir), 0);
    CHECK(strstr(out.data, "edited in vim") != NULL);
    CHECK(sh(&out, "git -C %s cat-file -e HEAD:c.md 2>/dev/null", dir) != 0);
    /* Nothing new: nothing to render, no commit. */
    CHECK_EQ_INT(commit(&e, &r), 0);
    CHECK(!r.committed && r.incremental);
    CHECK_EQ_INT(r.checked, 0);
    dx_commit_result_release(&r);
    /* A commit made by hand: the next commit looks at everything again. */
    CHECK_EQ_INT(sh(&out, "git -C %s commit -q --allow-empty -m by-hand", dir), 0);
    edit_body_times(&e, 1);
    CHECK_EQ_INT(commit(&e, &r), 0);
    CHECK(r.committed && !r.incremental);
    dx_commit_result_release(&r);
    /* Updates that came from elsewhere do too (sync marks no file records). */
    char a[DX_UUID_LEN + 1];
    CHECK_EQ_INT(dx_session_find(e.s, "a.md", a, &err), 0);
    y_doc *w = NULL;
    uint8_t *sv = NULL, *up = NULL;
    size_t svl, upl;
    CHECK_EQ_INT(y_doc_new(&w, NULL), Y_OK);
    y_encode_state_as_update(dx_session_wsdoc(e.s), NULL, 0, &up, &upl);
    CHECK_EQ_INT(y_apply_update(w, up, upl, NULL), Y_OK);
    y_free(up);
    y_encode_state_vector(w, &sv, &svl);
    dx_wsdoc_set_field(w, a, "title", "A from the phone", &err);
    y_encode_state_as_update(w, sv, svl, &up, &upl);
    CHECK_EQ_INT(
        dx_store_append(dx_session_store(e.s), "workspace", up, upl, "remote", "phone", NULL, &err),
        0);
    y_free(sv);
    y_free(up);
    y_doc_free(w);
    env_close(&e);
    env_open(&e); /* takes the remote change in and writes a.md */
    CHECK_EQ_INT(commit(&e, &r), 0);
    CHECK(!r.incremental);
    dx_commit_result_release(&r);
    CHECK_EQ_INT(commit(&e, &r), 0); /* and then it is back to the changes only */
    CHECK(r.incremental && !r.committed);
    dx_commit_result_release(&r);
    /* A local edit that leaves files behind the CRDT (here a parent cycle: neither file
     * can be written) makes the next commit check everything, and fail. */
    char b[DX_UUID_LEN + 1];
    CHECK_EQ_INT(dx_session_find(e.s, "README.md", b, &err), 0);
    CHECK_EQ_INT(dx_wsdoc_set_field(dx_session_wsdoc(e.s), b, "part_of", a, &err), 0);
    CHECK_EQ_INT(dx_wsdoc_set_field(dx_session_wsdoc(e.s), a, "filename", "a2.md", &err), 0);
    CHECK_EQ_INT(dx_session_save(e.s, NULL, &err), 0);
    CHECK_EQ_INT(commit(&e, &r), DX_EVALIDATE);
    CHECK(!r.incremental);
    dx_commit_result_release(&r);
    dx_buf_release(&out);
    env_close(&e);
    teardown();
}

/* Another process's saved changes reach the next commit of a session opened before them
 * (the commit brings the session up to date first), and nothing is left behind. */
TEST(test_a_commit_includes_what_another_session_saved)
{
    setup();
    env a, b;
    env_open(&a);
    dx_commit_result r;
    CHECK_EQ_INT(commit(&a, &r), 0);
    dx_commit_result_release(&r);
    env_open(&b);
    dx_error err = DX_ERROR_INIT;
    edit_body_times(&b, 1);
    CHECK_EQ_INT(dx_workspace_move(b.ws, "b.md", "sub/b2.md", &err), 0);
    CHECK_EQ_INT(dx_session_save(b.s, NULL, &err), 0);
    env_close(&b);
    CHECK_EQ_INT(commit(&a, &r), 0);
    CHECK(r.committed);
    dx_commit_result_release(&r);
    check_head_is_the_full_state(&a);
    dx_buf out = DX_BUF_INIT;
    CHECK_EQ_INT(sh(&out, "git -C %s status --porcelain", dir), 0);
    CHECK_EQ_STR(dx_buf_cstr(&out), "");
    CHECK_EQ_INT(sh(&out, "git -C %s show HEAD:a.md", dir), 0);
    CHECK(strstr(out.data, "alpha 0") != NULL);
    CHECK_EQ_INT(sh(&out, "git -C %s cat-file -e HEAD:sub/b2.md", dir), 0);
    dx_buf_release(&out);
    env_close(&a);
    teardown();
}

/* The child edits and commits in a loop and reports every edit whose save returned. */
static void child_loop(int fd)
{
    env e;
    env_open(&e);
    dx_error err = DX_ERROR_INIT;
    for (int i = 0;; i++) {
        dx_fm *fm = NULL;
        char line[64], rel[32];
        snprintf(rel, sizeof rel, "%s.md", i % 2 ? "a" : "b");
        if (dx_workspace_read(e.ws, rel, &fm, &err) != 0)
            _exit(2);
        snprintf(line, sizeof line, "edit %d\n", i);
        size_t bl;
        const char *b = dx_fm_body(fm, &bl);
        dx_buf nb = DX_BUF_INIT;
        dx_buf_append(&nb, b, bl);
        dx_buf_puts(&nb, line);
        dx_fm_set_body(fm, nb.data, nb.len);
        dx_buf_release(&nb);
        if (dx_workspace_write(e.ws, rel, fm, &err) || dx_session_save(e.s, NULL, &err))
            _exit(3);
        dx_fm_free(fm);
        if (write(fd, &i, sizeof i) != sizeof i)
            _exit(4);
        if (i % 3 == 0) {
            dx_commit_result r;
            if (session_commit(&e.s, e.g, NULL, &r, &err) != 0)
                _exit(5);
            dx_commit_result_release(&r);
        }
    }
}

TEST(test_kill_during_commits_loses_nothing_acknowledged)
{
    setup();
    srand(4321);
    int acked = -1;
    for (int round = 0; round < 6; round++) {
        int p[2];
        CHECK_EQ_INT(pipe(p), 0);
        pid_t pid = fork();
        if (pid == 0) {
            close(p[0]);
            child_loop(p[1]);
        }
        close(p[1]);
        /* Let the child acknowledge two edits first (a loaded machine can make it slow:
         * progress is waited for, not assumed after some time), then kill it at a random
         * moment of what follows. */
        int v;
        for (int k = 0; k < 2 && read(p[0], &v, sizeof v) == sizeof v; k++)
            acked = v;
        usleep((useconds_t)(rand() % 150000));
        kill(pid, SIGKILL);
        int st;
        waitpid(pid, &st, 0);
        CHECK(WIFSIGNALED(st));
        while (read(p[0], &v, sizeof v) == sizeof v)
            acked = v;
        close(p[0]);
        /* Afterwards: git reads a sound repository, the CRDT holds the last acknowledged
         * edit, and the next commit succeeds. */
        env e;
        env_open(&e);
        dx_buf out = DX_BUF_INIT;
        CHECK_EQ_INT(sh(&out, "git -C %s fsck --strict >/dev/null 2>&1", dir), 0);
        if (acked >= 0) {
            char id[DX_UUID_LEN + 1], want[32];
            dx_error err = DX_ERROR_INIT;
            CHECK_EQ_INT(dx_session_find(e.s, acked % 2 ? "a.md" : "b.md", id, &err), 0);
            y_doc *d = NULL;
            dx_buf text = DX_BUF_INIT;
            CHECK_EQ_INT(dx_session_body(e.s, id, &d, &err), 0);
            dx_body_get(d, &text, &err);
            snprintf(want, sizeof want, "edit %d\n", acked);
            if (!strstr(dx_buf_cstr(&text), want))
                TEST_FAILF("round %d: acknowledged '%s' missing", round, want);
            dx_buf_release(&text);
        }
        dx_commit_result r;
        CHECK_EQ_INT(commit(&e, &r), 0);
        dx_commit_result_release(&r);
        CHECK_EQ_INT(sh(&out, "git -C %s status --porcelain", dir), 0);
        CHECK_EQ_STR(dx_buf_cstr(&out), "");
        dx_buf_release(&out);
        env_close(&e);
    }
    CHECK(acked > 0);
    teardown();
}

/* A long history stays small: loose objects are packed once there are more than 512. */
TEST(test_loose_objects_stay_bounded_over_many_commits)
{
    setup();
    env e;
    env_open(&e);
    dx_error err = DX_ERROR_INIT;
    dx_buf out = DX_BUF_INIT;
    size_t most = 0;
    for (int i = 0; i < 200; i++) {
        dx_fm *fm = NULL;
        char line[64];
        snprintf(line, sizeof line, "commit %d\n", i); /* new blob, trees and commit */
        CHECK_EQ_INT(dx_workspace_read(e.ws, "b.md", &fm, &err), 0);
        dx_fm_set_body(fm, line, strlen(line));
        CHECK_EQ_INT(dx_workspace_write(e.ws, "b.md", fm, &err), 0);
        dx_fm_free(fm);
        CHECK_EQ_INT(dx_session_save(e.s, NULL, &err), 0);
        dx_commit_result r;
        CHECK_EQ_INT(commit(&e, &r), 0);
        dx_commit_result_release(&r);
        size_t loose = 0;
        CHECK_EQ_INT(dx_git_count_loose(e.g, &loose, &err), 0);
        most = loose > most ? loose : most;
    }
    CHECK(most <= 520);
    CHECK_EQ_INT(sh(&out, "git -C %s count-objects -v | grep -E '^(count|packs):'", dir), 0);
    printf("  most loose objects: %zu; now %s", most, out.data);
    CHECK_EQ_INT(sh(&out, "git -C %s fsck --strict >/dev/null 2>&1", dir), 0);
    dx_buf_release(&out);
    env_close(&e);
    teardown();
}

/* ---- self-healing keeps what is on disk and every entry's id ---------------------------- */

static void ids_of(env *e, const char *const *paths, size_t n, char out[][DX_UUID_LEN + 1])
{
    dx_error err = DX_ERROR_INIT;
    for (size_t i = 0; i < n; i++)
        if (dx_session_find(e->s, paths[i], out[i], &err) != 0)
            TEST_FAILF("'%s' is no entry: %s", paths[i], err.msg);
}

static void body_holds(env *e, const char *path, const char *text)
{
    char id[DX_UUID_LEN + 1];
    dx_error err = DX_ERROR_INIT;
    y_doc *d = NULL;
    dx_buf b = DX_BUF_INIT;
    CHECK_EQ_INT(dx_session_find(e->s, path, id, &err), 0);
    CHECK_EQ_INT(dx_session_body(e->s, id, &d, &err), 0);
    dx_body_get(d, &b, &err);
    if (!strstr(dx_buf_cstr(&b), text))
        TEST_FAILF("the body of %s lacks '%s': '%s'", path, text, dx_buf_cstr(&b));
    dx_buf_release(&b);
}

/* Three commits of a damaged CRDT, each in its own process's way (open, commit, close): the
 * third rebuilds. */
static void fail_until_rebuilt(void)
{
    for (int attempt = 1; attempt <= 3; attempt++) {
        env e;
        dx_commit_result r;
        env_open(&e);
        CHECK_EQ_INT(commit(&e, &r), DX_EVALIDATE);
        CHECK(r.rebuilt == (attempt == 3));
        dx_commit_result_release(&r);
        env_close(&e);
    }
}

/* Uncommitted work (an edit, a new entry) in a damaged CRDT: the third failed commit rebuilds
 * the CRDT, and afterwards the files on disk, the new CRDT and the next commit still have the
 * work, and every entry has its old id. without_table: the ids come from the old store's file
 * records alone (no .diaryx/ids, as in a workspace committed before it existed). */
static void rebuild_keeps_work_and_ids(bool without_table)
{
    static const char *const paths[] = {"README.md", "a.md", "b.md", "c.md"};
    char before[4][DX_UUID_LEN + 1], after[4][DX_UUID_LEN + 1];
    setup();
    env e;
    env_open(&e);
    dx_commit_result r;
    CHECK_EQ_INT(commit(&e, &r), 0);
    dx_commit_result_release(&r);
    env_close(&e);
    put("a.md", "---\ntitle: A\npart_of: \"[Home](/README.md)\"\n---\nalpha\nuncommitted append\n");
    put("c.md", "---\ntitle: C\n---\ngamma, never committed\n");
    env_open(&e); /* takes both in */
    ids_of(&e, paths, 4, before);
    corrupt_with_a_cycle(&e);
    env_close(&e);
    dx_buf out = DX_BUF_INIT;
    if (without_table)
        CHECK_EQ_INT(sh(&out, "rm %s/.diaryx/ids", dir), 0);
    fail_until_rebuilt();
    CHECK_EQ_INT(sh(&out, "cat %s/a.md", dir), 0);
    CHECK(strstr(dx_buf_cstr(&out), "uncommitted append") != NULL);
    CHECK_EQ_INT(sh(&out, "cat %s/c.md", dir), 0);
    CHECK(strstr(dx_buf_cstr(&out), "gamma, never committed") != NULL);
    env_open(&e);
    ids_of(&e, paths, 4, after);
    for (size_t i = 0; i < 4; i++)
        if (strcmp(before[i], after[i]))
            TEST_FAILF("%s had id %s, now %s", paths[i], before[i], after[i]);
    body_holds(&e, "a.md", "uncommitted append");
    body_holds(&e, "c.md", "gamma, never committed");
    /* The work is committed by the next commit. */
    CHECK_EQ_INT(commit(&e, &r), 0);
    CHECK(r.committed);
    dx_commit_result_release(&r);
    CHECK_EQ_INT(sh(&out, "git -C %s show HEAD:a.md", dir), 0);
    CHECK(strstr(dx_buf_cstr(&out), "uncommitted append") != NULL);
    CHECK_EQ_INT(sh(&out, "git -C %s show HEAD:c.md", dir), 0);
    CHECK(strstr(dx_buf_cstr(&out), "gamma") != NULL);
    CHECK_EQ_INT(sh(&out, "git -C %s status --porcelain", dir), 0);
    CHECK_EQ_STR(dx_buf_cstr(&out), "");
    dx_buf_release(&out);
    env_close(&e);
    teardown();
}

TEST(test_a_rebuild_keeps_uncommitted_work_and_every_id)
{
    rebuild_keeps_work_and_ids(false);
}

TEST(test_a_rebuild_takes_the_ids_from_the_old_store_records)
{
    rebuild_keeps_work_and_ids(true);
}

/* A rebuild brings back a committed file that is gone, but not one whose entry was moved
 * (and not committed yet): that would give the entry two files. */
TEST(test_a_rebuild_restores_missing_files_but_not_moved_ones)
{
    setup();
    env e;
    env_open(&e);
    dx_commit_result r;
    dx_error err = DX_ERROR_INIT;
    CHECK_EQ_INT(commit(&e, &r), 0);
    dx_commit_result_release(&r);
    char id[DX_UUID_LEN + 1], now[DX_UUID_LEN + 1];
    CHECK_EQ_INT(dx_session_find(e.s, "b.md", id, &err), 0);
    CHECK_EQ_INT(dx_workspace_move(e.ws, "b.md", "b2.md", &err), 0);
    CHECK_EQ_INT(dx_session_save(e.s, NULL, &err), 0);
    corrupt_with_a_cycle_of(&e, "a.md", "README.md");
    env_close(&e);
    fail_until_rebuilt();
    env_open(&e);
    CHECK_EQ_INT(dx_session_find(e.s, "b2.md", now, &err), 0);
    CHECK_EQ_STR(now, id);
    CHECK_EQ_INT(dx_session_find(e.s, "b.md", now, &err), DX_ENOTFOUND);
    env_close(&e);
    teardown();
}

/* A store that is no database any more: the files are imported with the ids of the last
 * commit (.diaryx/ids: written whole by the first commit, appended to by a commit of the
 * changes that moved and added entries), and an uncommitted edit on disk is kept. */
TEST(test_an_unreadable_store_is_imported_with_the_committed_ids)
{
    static const char *const paths[] = {"README.md", "a.md", "b2.md", "c.md"};
    char before[4][DX_UUID_LEN + 1], after[4][DX_UUID_LEN + 1];
    setup();
    env e;
    env_open(&e);
    dx_commit_result r;
    dx_error err = DX_ERROR_INIT;
    CHECK_EQ_INT(commit(&e, &r), 0);
    dx_commit_result_release(&r);
    dx_buf out = DX_BUF_INIT;
    CHECK_EQ_INT(sh(&out, "wc -l < %s/.diaryx/ids", dir), 0);
    CHECK_EQ_STR(out.data, "3\n");
    CHECK_EQ_INT(dx_workspace_move(e.ws, "b.md", "b2.md", &err), 0);
    CHECK_EQ_INT(dx_session_save(e.s, NULL, &err), 0);
    env_close(&e);
    put("c.md", "---\ntitle: C\n---\ngamma\n");
    env_open(&e);
    CHECK_EQ_INT(commit(&e, &r), 0);
    CHECK(r.committed && r.incremental);
    dx_commit_result_release(&r);
    CHECK_EQ_INT(sh(&out, "wc -l < %s/.diaryx/ids", dir), 0);
    CHECK(atoi(dx_buf_cstr(&out)) > 4); /* appended: the old b.md line is still there */
    ids_of(&e, paths, 4, before);
    env_close(&e);
    put("a.md", "---\ntitle: A\npart_of: \"[Home](/README.md)\"\n---\nalpha, edited\n");
    CHECK_EQ_INT(sh(&out, "head -c 4096 /dev/urandom > %s/.diaryx/crdt.db", dir), 0);
    env_open(&e);
    CHECK(dx_session_warnings(e.s)->len > 0);
    ids_of(&e, paths, 4, after);
    for (size_t i = 0; i < 4; i++)
        if (strcmp(before[i], after[i]))
            TEST_FAILF("%s had id %s, now %s", paths[i], before[i], after[i]);
    body_holds(&e, "a.md", "alpha, edited");
    dx_buf_release(&out);
    env_close(&e);
    teardown();
}

/* Each rebuild keeps the old store as crdt.db.broken-<time>; only the newest
 * DX_HISTORY_KEEP_BROKEN stay (they accumulated forever), and two rebuilds within one
 * second keep two files. */
TEST(test_rebuild_keeps_only_the_newest_backups)
{
    setup();
    env e;
    env_open(&e);
    dx_commit_result r;
    CHECK_EQ_INT(commit(&e, &r), 0);
    dx_commit_result_release(&r);
    put(".diaryx/crdt.db.broken-100", "old");
    put(".diaryx/crdt.db.broken-200", "old");
    put(".diaryx/crdt.db.broken-300", "old");
    put(".diaryx/crdt.db.broken-400", "old");
    dx_error err = DX_ERROR_INIT;
    for (int i = 0; i < 2; i++)
        if (session_rebuild(&e.s, e.g, &err) != 0)
            TEST_FAILF("rebuild: %s", err.msg);
    dx_buf out = DX_BUF_INIT;
    CHECK_EQ_INT(sh(&out, "ls %s/.diaryx | grep 'crdt.db.broken-' | sort", dir), 0);
    CHECK_EQ_INT(DX_HISTORY_KEEP_BROKEN, 3);
    dx_strlist names = DX_STRLIST_INIT;
    for (char *line = strtok(out.data, "\n"); line; line = strtok(NULL, "\n"))
        dx_strlist_push(&names, line);
    CHECK_EQ_INT(names.len, 3);
    size_t fake = 0;
    for (size_t i = 0; i < names.len; i++) {
        CHECK(strcmp(names.items[i], "crdt.db.broken-100") &&
              strcmp(names.items[i], "crdt.db.broken-200") &&
              strcmp(names.items[i], "crdt.db.broken-300"));
        fake += !strcmp(names.items[i], "crdt.db.broken-400");
    }
    CHECK_EQ_INT(fake, 1); /* the two rebuilds' own backups are the other two */
    dx_strlist_release(&names);
    dx_buf_release(&out);
    char id[DX_UUID_LEN + 1];
    CHECK_EQ_INT(dx_session_find(e.s, "a.md", id, &err), 0);
    env_close(&e);
    teardown();
}

/* The workspace of setup(), opened and committed; id receives the commit. */
static void open_committed(env *e, char id[DX_GIT_OID_HEX])
{
    dx_commit_result r;
    setup();
    env_open(e);
    CHECK_EQ_INT(commit(e, &r), 0);
    memcpy(id, r.id, DX_GIT_OID_HEX);
    dx_commit_result_release(&r);
}

TEST(test_a_restore_through_a_session_writes_the_files_of_the_revision)
{
    env e;
    char first[DX_GIT_OID_HEX];
    open_committed(&e, first);
    dx_commit_result r;
    dx_error err = DX_ERROR_INIT;
    /* An edit and a new entry, committed. */
    char a[DX_UUID_LEN + 1];
    CHECK_EQ_INT(dx_session_find(e.s, "a.md", a, &err), 0);
    dx_docs d;
    dx_session_docs(e.s, &d);
    CHECK_EQ_INT(dx_edit_body_append(&d, a, "more", 4, &err), 0);
    put("c.md", "---\ntitle: C\n---\ngamma\n");
    CHECK_EQ_INT(dx_session_save(e.s, NULL, &err), 0);
    CHECK_EQ_INT(dx_session_sync(e.s, NULL, &err), 0);
    CHECK_EQ_INT(commit(&e, &r), 0);
    CHECK(r.committed);
    dx_commit_result_release(&r);
    /* The restore edits the session's documents; the save writes the files. */
    dx_history_docs h;
    dx_history_docs_of_session(e.s, &h);
    dx_restore_stats rs;
    if (dx_history_restore(&h, e.g, first, NULL, "README.md", &rs, NULL, &err) != 0)
        TEST_FAILF("restore: %s", err.msg);
    CHECK_EQ_INT(rs.deleted, 1);
    CHECK_EQ_INT(dx_session_save(e.s, NULL, &err), 0);
    dx_buf out = DX_BUF_INIT;
    CHECK_EQ_INT(sh(&out, "cat '%s/a.md'", dir), 0);
    CHECK_EQ_STR(out.data, "---\ntitle: A\npart_of: \"[Home](/README.md)\"\n---\nalpha\n");
    CHECK_EQ_INT(sh(&out, "test -e '%s/c.md'", dir), 1);
    CHECK_EQ_INT(commit(&e, &r), 0);
    dx_commit_result_release(&r);
    dx_buf t1 = DX_BUF_INIT;
    CHECK_EQ_INT(sh(&t1, "git -C '%s' rev-parse %s^{tree}", dir, first), 0);
    CHECK_EQ_INT(sh(&out, "git -C '%s' rev-parse HEAD^{tree}", dir), 0);
    CHECK_EQ_STR(out.data, t1.data);
    CHECK_EQ_INT(sh(&out, "git -C '%s' status --porcelain", dir), 0);
    CHECK_EQ_STR(out.data ? out.data : "", "");
    dx_buf_release(&t1);
    dx_buf_release(&out);
    env_close(&e);
    teardown();
}

/* ---- a server's history: documents in memory, a store file and a bare repository -------- */

static const char *const SERVER_FILES[] = {
    "README.md", "---\ntitle: Home\ncontents:\n- \"[A](/a.md)\"\n- \"[B](/b.md)\"\n---\n",
    "a.md",      "---\ntitle: A\npart_of: \"[Home](/README.md)\"\n---\nalpha\n",
    "b.md",      "---\ntitle: B\npart_of: \"[Home](/README.md)\"\n---\nbeta\n",
    NULL};

typedef struct server {
    char tmp[64]; /* holds store.db and repo.git, nothing else */
    char repo[96];
    dx_crdt_store *st;
    dx_git *g;
    dx_docset *ds; /* what the server keeps per open workspace */
    dx_history_docs h;
} server;

/* Open the documents (again: after a rebuild the caller reopens them from the store). */
static void server_docs(server *sv)
{
    dx_error err = DX_ERROR_INIT;
    dx_docset_free(sv->ds);
    sv->ds = NULL;
    CHECK_EQ_INT(dx_docset_new(sv->st, "server", &sv->ds, &err), 0);
    CHECK_EQ_INT(dx_docset_load(sv->ds, &err), 0);
    dx_history_docs_of_docset(sv->ds, DX_LINK_MARKDOWN_ROOT, &sv->h);
}

/* A store round of the docset: lock, catch up, store what the documents emitted. */
static void server_round(server *sv)
{
    dx_error err = DX_ERROR_INIT;
    CHECK_EQ_INT(dx_store_begin(sv->st, &err), 0);
    CHECK_EQ_INT(dx_docset_catch_up(sv->ds, NULL, &err), 0);
    CHECK_EQ_INT(dx_docset_flush(sv->ds, NULL, NULL, &err), 0);
    int64_t last = dx_store_last_id(sv->st, NULL);
    CHECK_EQ_INT(dx_store_commit(sv->st, &err), 0);
    dx_docset_set_seen(sv->ds, last);
    dx_docset_untouch(sv->ds);
}

static void server_open(server *sv)
{
    char db[96];
    dx_error err = DX_ERROR_INIT;
    memset(sv, 0, sizeof *sv);
    snprintf(sv->tmp, sizeof sv->tmp, "/tmp/dx-bare-XXXXXX");
    CHECK(mkdtemp(sv->tmp) != NULL);
    snprintf(db, sizeof db, "%s/store.db", sv->tmp);
    snprintf(sv->repo, sizeof sv->repo, "%s/repo.git", sv->tmp);
    CHECK_EQ_INT(dx_store_open(db, &sv->st, &err), 0);
    CHECK_EQ_INT(dx_git_open_or_init(sv->repo, 1, &sv->g, &err), 0);
    CHECK(dx_git_is_bare(sv->g));
    server_docs(sv);
    if (docs_put(&sv->h.docs, SERVER_FILES, &err))
        TEST_FAILF("documents: %s", err.msg);
    server_round(sv);
}

static void server_close(server *sv)
{
    dx_docset_free(sv->ds);
    dx_git_free(sv->g);
    dx_store_close(sv->st);
    dx_buf out = DX_BUF_INIT;
    CHECK_EQ_INT(sh(&out, "rm -rf '%s'", sv->tmp), 0);
    dx_buf_release(&out);
}

static void server_id(server *sv, const char *path, char id[DX_UUID_LEN + 1])
{
    CHECK_EQ_INT(dx_wsdoc_find_path(sv->h.docs.workspace, path, id, NULL), 0);
}

static int server_commit(server *sv, dx_commit_result *r, dx_error *err)
{
    return dx_history_commit(&sv->h, sv->g, NULL, r, err);
}

/* What the git CLI says of the bare repository (stdout, trailing newline cut). */
static void git_says(server *sv, dx_buf *out, const char *args)
{
    CHECK_EQ_INT(sh(out, "git --git-dir='%s' %s", sv->repo, args), 0);
    while (out->len && out->data[out->len - 1] == '\n')
        dx_buf_truncate(out, out->len - 1);
}

TEST(test_a_bare_repository_records_documents_with_no_work_tree)
{
    server sv;
    server_open(&sv);
    dx_commit_result r;
    dx_error err = DX_ERROR_INIT;
    dx_buf out = DX_BUF_INIT;
    if (server_commit(&sv, &r, &err) != 0)
        TEST_FAILF("commit: %s", err.msg);
    CHECK(r.committed);
    CHECK(!r.incremental);
    CHECK_EQ_INT(r.checked, 3);
    CHECK_EQ_INT(r.stats.files, 3);
    char first[DX_GIT_OID_HEX];
    memcpy(first, r.id, sizeof first);
    dx_commit_result_release(&r);
    CHECK_EQ_INT(sh(&out, "git --git-dir='%s' fsck --strict 2>&1", sv.repo), 0);
    git_says(&sv, &out, "log --format=%H:%s");
    CHECK(!strncmp(out.data, first, 40) && strstr(out.data, ":Create workspace") != NULL);
    git_says(&sv, &out, "show HEAD:a.md");
    CHECK_EQ_STR(out.data, "---\ntitle: A\npart_of: \"[Home](/README.md)\"\n---\nalpha");
    /* The bookkeeping is in the store's meta, as on a client. */
    dx_buf_reset(&out);
    CHECK_EQ_INT(dx_store_meta_get(sv.st, "last_commit", &out, &err), 0);
    CHECK_EQ_STR(out.data, first);

    /* An edit of one body: the commit changes that file only. */
    char a[DX_UUID_LEN + 1];
    server_id(&sv, "a.md", a);
    CHECK_EQ_INT(dx_edit_body_append(&sv.h.docs, a, "more", 4, &err), 0);
    server_round(&sv);
    CHECK_EQ_INT(server_commit(&sv, &r, &err), 0);
    CHECK(r.committed);
    /* Only a body changed: only its entry is rendered, and git gets that change. */
    CHECK(r.incremental);
    CHECK_EQ_INT(r.checked, 1);
    CHECK_EQ_INT(r.stats.modified, 1);
    CHECK_EQ_INT(r.stats.added + r.stats.deleted, 0);
    dx_commit_result_release(&r);
    git_says(&sv, &out, "log -1 --format=%s");
    CHECK_EQ_STR(out.data, "Update a.md");
    git_says(&sv, &out, "show HEAD:a.md");
    CHECK(strstr(out.data, "alpha\nmore") != NULL);
    /* Nothing new: nothing committed. */
    CHECK_EQ_INT(server_commit(&sv, &r, &err), 0);
    CHECK(!r.committed);
    dx_commit_result_release(&r);

    /* A new entry, linked from the index. */
    static const char *const more[] = {
        "c.md", "---\ntitle: C\npart_of: \"[Home](/README.md)\"\n---\ngamma\n", "README.md",
        "---\ntitle: Home\ncontents:\n- \"[A](/a.md)\"\n- \"[B](/b.md)\"\n- \"[C](/c.md)\"\n---\n",
        NULL};
    CHECK_EQ_INT(docs_put(&sv.h.docs, more, &err), 0);
    server_round(&sv);
    CHECK_EQ_INT(server_commit(&sv, &r, &err), 0);
    CHECK(!r.incremental); /* the workspace document changed: everything is checked */
    CHECK_EQ_INT(r.checked, 4);
    CHECK_EQ_INT(r.stats.added, 1);
    CHECK_EQ_INT(r.stats.modified, 1);
    dx_commit_result_release(&r);
    CHECK_EQ_INT(sh(&out, "git --git-dir='%s' fsck --strict 2>&1", sv.repo), 0);
    git_says(&sv, &out, "rev-list --count HEAD");
    CHECK_EQ_STR(out.data, "3");

    /* Restore to the first commit, as new CRDT edits: a's body back, c deleted and out of
     * the index's contents; a commit then records the first commit's tree again. */
    char c[DX_UUID_LEN + 1];
    server_id(&sv, "c.md", c);
    dx_restore_stats rs;
    dx_strlist skipped = DX_STRLIST_INIT;
    if (dx_history_restore(&sv.h, sv.g, first, NULL, NULL, &rs, &skipped, &err) != 0)
        TEST_FAILF("restore: %s", err.msg);
    CHECK_EQ_INT(rs.deleted, 1);
    CHECK_EQ_INT(rs.created, 0);
    CHECK_EQ_INT(rs.restored, 3);
    CHECK_EQ_INT(skipped.len, 0);
    CHECK(!dx_wsdoc_is_live(sv.h.docs.workspace, c));
    CHECK(dx_docset_touched(sv.ds)->len >= 4); /* a, b, README and c were told */
    dx_buf body = DX_BUF_INIT;
    CHECK_EQ_INT(dx_edit_body_get(&sv.h.docs, a, &body, &err), 0);
    CHECK_EQ_STR(body.data, "alpha\n");
    server_round(&sv);
    CHECK_EQ_INT(server_commit(&sv, &r, &err), 0);
    CHECK(r.committed);
    dx_commit_result_release(&r);
    dx_buf t1 = DX_BUF_INIT;
    char arg[80];
    snprintf(arg, sizeof arg, "rev-parse %s^{tree}", first);
    git_says(&sv, &t1, arg);
    git_says(&sv, &out, "rev-parse HEAD^{tree}");
    CHECK_EQ_STR(out.data, t1.data);

    /* One file: c comes back as a new entry; a path the revision lacks is DX_ENOTFOUND. */
    git_says(&sv, &out, "rev-parse HEAD~1");
    char third[DX_GIT_OID_HEX];
    snprintf(third, sizeof third, "%s", out.data);
    CHECK_EQ_INT(dx_history_restore(&sv.h, sv.g, third, "c.md", NULL, &rs, NULL, &err), 0);
    CHECK_EQ_INT(rs.created, 1);
    CHECK_EQ_INT(dx_wsdoc_find_path(sv.h.docs.workspace, "c.md", c, NULL), 0);
    CHECK_EQ_INT(dx_history_restore(&sv.h, sv.g, first, "c.md", NULL, &rs, NULL, &err),
                 DX_ENOTFOUND);
    CHECK_EQ_INT(dx_history_restore(&sv.h, sv.g, first, "img.png", NULL, &rs, NULL, &err),
                 DX_EINVAL);

    dx_strlist_release(&skipped);
    dx_buf_release(&body);
    dx_buf_release(&t1);
    dx_buf_release(&out);
    server_close(&sv);
}

/* Documents whose body loader fails for one entry: its body is damaged. */
typedef struct damaged {
    dx_docs real;
    const char *id;
} damaged;

static int damaged_body(void *ud, const char *id, y_doc **out, dx_error *err)
{
    const damaged *d = ud;
    if (!strcmp(id, d->id))
        return dx_error_set(err, DX_ECORRUPT, "the body of %s is damaged", id);
    return d->real.body(d->real.ud, id, out, err);
}

TEST(test_three_failed_checks_rebuild_a_bare_repositorys_store_from_the_last_commit)
{
    server sv;
    server_open(&sv);
    dx_commit_result r;
    dx_error err = DX_ERROR_INIT;
    CHECK_EQ_INT(server_commit(&sv, &r, &err), 0);
    char head[DX_GIT_OID_HEX];
    memcpy(head, r.id, sizeof head);
    dx_commit_result_release(&r);
    char ids[3][DX_UUID_LEN + 1];
    const char *paths[] = {"README.md", "a.md", "b.md"};
    for (int i = 0; i < 3; i++)
        server_id(&sv, paths[i], ids[i]);
    /* Uncommitted work, then a damaged body: the checks fail. */
    CHECK_EQ_INT(dx_edit_body_append(&sv.h.docs, ids[2], "uncommitted", 11, &err), 0);
    server_round(&sv);
    damaged dmg = {sv.h.docs, ids[2]}; /* the entry that changed */
    sv.h.docs.body = damaged_body;
    sv.h.docs.ud = &dmg;
    for (size_t i = 1; i <= DX_HISTORY_MAX_FAILURES; i++) {
        dx_error_clear(&err);
        CHECK_EQ_INT(server_commit(&sv, &r, &err), DX_EVALIDATE);
        CHECK_EQ_INT(r.failures, i);
        CHECK(r.rebuilt == (i == DX_HISTORY_MAX_FAILURES));
        CHECK(!r.committed);
        dx_commit_result_release(&r);
    }
    CHECK(strstr(err.msg, "the CRDT was rebuilt from the last commit") != NULL);
    dx_buf out = DX_BUF_INIT;
    git_says(&sv, &out, "rev-parse HEAD");
    CHECK_EQ_STR(out.data, head);
    /* The caller reopens its documents: the last commit's files, every entry with its id,
     * the uncommitted work gone (the server has no work tree to keep it in). */
    server_docs(&sv);
    for (int i = 0; i < 3; i++) {
        char id[DX_UUID_LEN + 1];
        server_id(&sv, paths[i], id);
        CHECK_EQ_STR(id, ids[i]);
    }
    dx_buf body = DX_BUF_INIT;
    CHECK_EQ_INT(dx_edit_body_get(&sv.h.docs, ids[2], &body, &err), 0);
    CHECK_EQ_STR(body.data, "beta\n");
    /* The store holds the new documents only, the failures are reset, and the documents
     * render exactly the last commit: nothing to commit. */
    dx_store_doc_info *docs = NULL;
    size_t nd = 0;
    CHECK_EQ_INT(dx_store_list(sv.st, &docs, &nd, &err), 0);
    CHECK_EQ_INT(nd, 4);
    dx_store_docs_free(docs, nd);
    CHECK_EQ_INT(dx_store_meta_get(sv.st, "commit_failures", &out, NULL), DX_ENOTFOUND);
    CHECK_EQ_INT(server_commit(&sv, &r, &err), 0);
    CHECK(!r.committed);
    CHECK_EQ_STR(r.id, head);
    dx_commit_result_release(&r);
    /* And it goes on: an edit commits. */
    CHECK_EQ_INT(dx_edit_body_append(&sv.h.docs, ids[1], "after", 5, &err), 0);
    server_round(&sv);
    CHECK_EQ_INT(server_commit(&sv, &r, &err), 0);
    CHECK(r.committed);
    dx_commit_result_release(&r);
    CHECK_EQ_INT(sh(&out, "git --git-dir='%s' fsck --strict 2>&1", sv.repo), 0);
    dx_buf_release(&body);
    dx_buf_release(&out);
    server_close(&sv);
}

int main(void)
{
    RUN(test_commit_is_clean_and_read_by_git);
    RUN(test_a_restore_through_a_session_writes_the_files_of_the_revision);
    RUN(test_a_bare_repository_records_documents_with_no_work_tree);
    RUN(test_three_failed_checks_rebuild_a_bare_repositorys_store_from_the_last_commit);
    RUN(test_failed_checks_skip_count_and_heal_on_the_third);
    RUN(test_rebuild_keeps_only_the_newest_backups);
    RUN(test_skip_validation_commits_and_one_success_resets_the_count);
    RUN(test_compaction_only_after_a_commit_keeps_the_state);
    RUN(test_a_commit_checks_only_the_changes_and_equals_a_full_one);
    RUN(test_a_commit_includes_what_another_session_saved);
    RUN(test_loose_objects_stay_bounded_over_many_commits);
    RUN(test_kill_during_commits_loses_nothing_acknowledged);
    RUN(test_a_rebuild_keeps_uncommitted_work_and_every_id);
    RUN(test_a_rebuild_takes_the_ids_from_the_old_store_records);
    RUN(test_a_rebuild_restores_missing_files_but_not_moved_ones);
    RUN(test_an_unreadable_store_is_imported_with_the_committed_ids);
    return TEST_REPORT();
}
