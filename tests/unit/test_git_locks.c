/* test_git_locks.c - git's lock files are removed only when provably stale (never one a live
 * process holds, nor a young one), and a commit either is not made or stands: it never moves
 * HEAD and then reports a failure. */
#include "test.h"
#include "test_sh.h"

#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "diaryx/buf.h"
#include "diaryx/error.h"
#include "diaryx/git.h"

static char root[64];

static dx_git *repo_with_a_commit(void)
{
    snprintf(root, sizeof root, "/tmp/dx-locks-XXXXXX");
    CHECK(mkdtemp(root) != NULL);
    dx_git *g = NULL;
    dx_error err = DX_ERROR_INIT;
    CHECK_EQ_INT(dx_git_open_or_init(root, 0, &g, &err), 0);
    dx_git_file f[] = {{"a.md", "one\n", 4, NULL}};
    CHECK_EQ_INT(dx_git_commit_files(g, f, 1, NULL, NULL, NULL, &err), 0);
    return g;
}

static void cleanup(dx_git *g)
{
    dx_git_free(g);
    CHECK_EQ_INT(sh(NULL, "rm -rf '%s'", root), 0);
}

static bool exists(const char *rel)
{
    char p[256];
    struct stat st;
    snprintf(p, sizeof p, "%s/%s", root, rel);
    return lstat(p, &st) == 0;
}

static void head(char out[DX_GIT_OID_HEX])
{
    dx_buf b = DX_BUF_INIT;
    CHECK_EQ_INT(sh(&b, "git -C %s rev-parse HEAD", root), 0);
    snprintf(out, DX_GIT_OID_HEX, "%.40s", dx_buf_cstr(&b));
    dx_buf_release(&b);
}

/* A process that runs with the file rel open (as a git command holding its lock does), or with
 * its working directory in the repository under the name `git`. */
static pid_t spawn_holder(const char *rel, bool as_git)
{
    char p[256], git[256];
    snprintf(p, sizeof p, "%s/%s", root, rel);
    snprintf(git, sizeof git, "%s-bin/git", root);
    CHECK(!as_git || sh(NULL, "mkdir -p %s-bin && cp \"$(command -v sleep)\" %s", root, git) == 0);
    pid_t pid = fork();
    if (pid == 0) {
        if (as_git) {
            if (chdir(root) == 0)
                execl(git, "git", "30", (char *)NULL);
        } else {
            execl("/bin/sh", "sh", "-c", "exec 3>>\"$1\"; exec sleep 30", "sh", p, (char *)NULL);
        }
        _exit(127);
    }
    /* wait until the holder is in place */
    for (int i = 0; i < 100; i++) {
        char fd[64], name[32] = "";
        snprintf(fd, sizeof fd, "/proc/%d/comm", (int)pid);
        FILE *f = fopen(fd, "r");
        if (f) {
            if (!fgets(name, sizeof name, f))
                name[0] = 0;
            fclose(f);
        }
        if (!strncmp(name, as_git ? "git" : "sleep", as_git ? 3 : 5))
            break;
        usleep(20000);
    }
    return pid;
}

static void stop(pid_t pid)
{
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    sh(NULL, "rm -rf %s-bin", root);
}

TEST(test_a_lock_held_by_a_live_process_stays)
{
    dx_git *g = repo_with_a_commit();
    dx_error err = DX_ERROR_INIT;
    size_t removed = 9;
    CHECK_EQ_INT(sh(NULL, "touch -d '2 hours ago' %s/.git/index.lock", root), 0);
    pid_t pid = spawn_holder(".git/index.lock", false);
    CHECK_EQ_INT(dx_git_remove_stale_locks(g, DX_GIT_STALE_LOCK_AGE, 0, &removed, &err),
                 DX_ECONFLICT);
    CHECK(strstr(err.msg, ".git/index.lock") != NULL);
    CHECK(strstr(err.msg, "in use by process") != NULL);
    CHECK(exists(".git/index.lock"));
    /* even when the caller says the writer was killed a minute ago */
    CHECK_EQ_INT(dx_git_remove_stale_locks(g, 0, 1, &removed, &err), DX_ECONFLICT);
    CHECK(exists(".git/index.lock"));
    stop(pid);
    /* the holder is gone: stale now */
    dx_error_clear(&err);
    CHECK_EQ_INT(dx_git_remove_stale_locks(g, DX_GIT_STALE_LOCK_AGE, 0, &removed, &err), 0);
    CHECK_EQ_INT(removed, 1);
    CHECK(!exists(".git/index.lock"));
    cleanup(g);
}

TEST(test_a_closed_lock_of_a_running_git_stays)
{
    dx_git *g = repo_with_a_commit();
    dx_error err = DX_ERROR_INIT;
    /* git closes the index lock while `git commit` waits for its editor */
    CHECK_EQ_INT(sh(NULL, "touch -d '2 hours ago' %s/.git/refs/heads/main.lock", root), 0);
    pid_t pid = spawn_holder(".git/refs/heads/main.lock", true);
    CHECK_EQ_INT(dx_git_remove_stale_locks(g, DX_GIT_STALE_LOCK_AGE, 0, NULL, &err), DX_ECONFLICT);
    CHECK(strstr(err.msg, "refs/heads/main.lock") != NULL);
    CHECK(strstr(err.msg, "(git)") != NULL);
    CHECK(exists(".git/refs/heads/main.lock"));
    stop(pid);
    CHECK_EQ_INT(dx_git_remove_stale_locks(g, DX_GIT_STALE_LOCK_AGE, 0, NULL, &err), 0);
    CHECK(!exists(".git/refs/heads/main.lock"));
    cleanup(g);
}

TEST(test_a_young_lock_stays_unless_a_killed_writer_made_it)
{
    dx_git *g = repo_with_a_commit();
    dx_error err = DX_ERROR_INIT;
    size_t removed = 9;
    CHECK_EQ_INT(sh(NULL, "touch %s/.git/HEAD.lock", root), 0);
    CHECK_EQ_INT(dx_git_remove_stale_locks(g, DX_GIT_STALE_LOCK_AGE, 0, &removed, &err),
                 DX_ECONFLICT);
    CHECK(strstr(err.msg, ".git/HEAD.lock") != NULL);
    CHECK(strstr(err.msg, "try again") != NULL);
    CHECK(exists(".git/HEAD.lock"));
    /* a killed writer that started after the lock was made did not make it */
    CHECK_EQ_INT(dx_git_remove_stale_locks(g, DX_GIT_STALE_LOCK_AGE, (int64_t)time(NULL) + 60,
                                           &removed, &err),
                 DX_ECONFLICT);
    /* one that started before it did: its leftover goes at once */
    CHECK_EQ_INT(dx_git_remove_stale_locks(g, DX_GIT_STALE_LOCK_AGE, (int64_t)time(NULL) - 5,
                                           &removed, &err),
                 0);
    CHECK_EQ_INT(removed, 1);
    CHECK(!exists(".git/HEAD.lock"));
    /* and an old one nobody holds goes too */
    CHECK_EQ_INT(sh(NULL, "touch -d '2 hours ago' %s/.git/packed-refs.lock", root), 0);
    CHECK_EQ_INT(dx_git_remove_stale_locks(g, DX_GIT_STALE_LOCK_AGE, 0, &removed, &err), 0);
    CHECK_EQ_INT(removed, 1);
    cleanup(g);
}

TEST(test_a_directory_in_the_lock_place_is_named_and_left)
{
    dx_git *g = repo_with_a_commit();
    dx_error err = DX_ERROR_INIT;
    CHECK_EQ_INT(sh(NULL, "mkdir %s/.git/index.lock && touch -d '2 hours ago' %s/.git/index.lock",
                    root, root),
                 0);
    CHECK_EQ_INT(dx_git_remove_stale_locks(g, DX_GIT_STALE_LOCK_AGE, 0, NULL, &err), DX_ECONFLICT);
    CHECK(strstr(err.msg, "is a directory") != NULL);
    CHECK(strstr(err.msg, "remove that directory") != NULL);
    CHECK(exists(".git/index.lock"));
    cleanup(g);
}

/* The index cannot be locked: the commit is not made, HEAD stays, the message says why. */
TEST(test_an_index_that_cannot_be_locked_stops_the_commit_before_head_moves)
{
    dx_git *g = repo_with_a_commit();
    dx_error err = DX_ERROR_INIT;
    char before[DX_GIT_OID_HEX], after[DX_GIT_OID_HEX];
    head(before);
    CHECK_EQ_INT(sh(NULL, "mkdir %s/.git/index.lock", root), 0);
    dx_git_file f[] = {{"a.md", "two\n", 4, NULL}};
    CHECK_EQ_INT(dx_git_commit_files(g, f, 1, NULL, NULL, NULL, &err), DX_ECONFLICT);
    CHECK(strstr(err.msg, ".git/index.lock") != NULL);
    CHECK(strstr(err.msg, "nothing was committed") != NULL);
    head(after);
    CHECK_EQ_STR(after, before);
    CHECK_EQ_INT(dx_git_commit_changes(g, f, 1, NULL, 0, NULL, NULL, NULL, &err), DX_ECONFLICT);
    head(after);
    CHECK_EQ_STR(after, before);
    CHECK_EQ_INT(sh(NULL, "rmdir %s/.git/index.lock", root), 0);
    CHECK_EQ_INT(dx_git_commit_files(g, f, 1, NULL, NULL, NULL, &err), 0);
    head(after);
    CHECK(strcmp(after, before) != 0);
    cleanup(g);
}

/* The work tree cannot take a committed file once HEAD moved: the commit stands and says so. */
TEST(test_a_failure_after_head_moved_is_a_warning_not_an_error)
{
    dx_git *g = repo_with_a_commit();
    dx_error err = DX_ERROR_INIT;
    char before[DX_GIT_OID_HEX], after[DX_GIT_OID_HEX], id[DX_GIT_OID_HEX];
    head(before);
    CHECK_EQ_INT(sh(NULL, "mkdir -p %s/b.md/x", root), 0);
    dx_git_file f[] = {{"b.md", "bee\n", 4, NULL}};
    dx_git_stats st;
    CHECK_EQ_INT(dx_git_commit_changes(g, f, 1, NULL, 0, NULL, id, &st, &err), 0);
    head(after);
    CHECK_EQ_STR(after, id);
    CHECK(strcmp(after, before) != 0);
    CHECK(strstr(st.warning, "b.md") != NULL);
    CHECK(strstr(st.warning, "next commit") != NULL);
    /* a commit without a failure has no warning */
    CHECK_EQ_INT(sh(NULL, "rm -r %s/b.md", root), 0);
    dx_git_file f2[] = {{"a.md", "three\n", 6, NULL}};
    CHECK_EQ_INT(dx_git_commit_changes(g, f2, 1, NULL, 0, NULL, id, &st, &err), 0);
    CHECK_EQ_STR(st.warning, "");
    cleanup(g);
}

int main(void)
{
    RUN(test_a_lock_held_by_a_live_process_stays);
    RUN(test_a_closed_lock_of_a_running_git_stays);
    RUN(test_a_young_lock_stays_unless_a_killed_writer_made_it);
    RUN(test_a_directory_in_the_lock_place_is_named_and_left);
    RUN(test_an_index_that_cannot_be_locked_stops_the_commit_before_head_moves);
    RUN(test_a_failure_after_head_moved_is_a_warning_not_an_error);
    return TEST_REPORT();
}
