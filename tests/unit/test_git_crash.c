/* test_git_crash.c - a committing process killed at random moments leaves a sound repo. */
#include "test.h"
#include "test_sh.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "diaryx/buf.h"
#include "diaryx/error.h"
#include "diaryx/git.h"

static char root_[300];

enum { BULK = 300 }; /* enough new blobs for a commit to go into one pack */

/* The child: commit forever (bounded), packing now and then; every fourth commit writes
 * BULK new files (one pack), and the next one deletes them again. Each commit done is
 * reported on fd `done`. */
static void child_loop(int round, int done)
{
    dx_git *g = NULL;
    if (dx_git_open_or_init(root_, 0, &g, NULL) < 0)
        _exit(2);
    char body[128], extra[64];
    static char names[BULK][32], bodies[BULK][64];
    static dx_git_file bulk[BULK + 1];
    for (int i = 0; i < 100000; i++) {
        if (i % 4 == 3) {
            for (int k = 0; k < BULK; k++) {
                snprintf(names[k], sizeof names[k], "bulk/b%d/f%03d.md", k % 10, k);
                snprintf(bodies[k], sizeof bodies[k], "round %d commit %d file %d\n", round, i, k);
                bulk[k] = (dx_git_file){names[k], bodies[k], strlen(bodies[k]), NULL};
            }
            bulk[BULK] = (dx_git_file){"fixed.md", "fixed\n", 6, NULL};
            if (dx_git_commit_files(g, bulk, BULK + 1, NULL, NULL, NULL, NULL) < 0)
                _exit(5);
            if (write(done, &i, sizeof i) != sizeof i)
                _exit(6);
            continue;
        }
        snprintf(body, sizeof body, "round %d commit %d\n", round, i);
        snprintf(extra, sizeof extra, "days/%d.md", i % 7);
        dx_git_file v[] = {{"fixed.md", "fixed\n", 6},
                           {"note.md", body, strlen(body)},
                           {extra, body, strlen(body)}};
        int rc = dx_git_commit_files(g, v, 3, NULL, NULL, NULL, NULL);
        if (rc < 0)
            _exit(3);
        if (dx_git_maybe_pack(g, 40, NULL, NULL) < 0)
            _exit(4);
        if (write(done, &i, sizeof i) != sizeof i)
            _exit(6);
    }
    _exit(0);
}

TEST(test_git_survives_sigkill_during_commits)
{
    dx_buf out = DX_BUF_INIT;
    dx_error err = DX_ERROR_INIT;
    char cmd[1024];
    srand(1234);
    size_t locks = 0;
    dx_git *g0 = NULL;
    CHECK_EQ_INT(dx_git_open_or_init(root_, 0, &g0, &err), 0);
    dx_git_free(g0);
    for (int round = 0; round < 10; round++) {
        int p[2];
        CHECK_EQ_INT(pipe(p), 0);
        pid_t pid = fork();
        if (pid == 0) {
            close(p[0]);
            child_loop(round, p[1]);
        }
        CHECK(pid > 0);
        close(p[1]);
        /* Three commits first, however slow the machine is, then a kill at a random moment
         * (the next commit, a bulk one and packing are then all on the way). */
        int done;
        for (int k = 0; k < 3 && read(p[0], &done, sizeof done) == sizeof done; k++)
            ;
        usleep((useconds_t)(rand() % 500000));
        kill(pid, SIGKILL);
        int st = 0;
        waitpid(pid, &st, 0);
        close(p[0]);
        /* the child must have been killed, not have failed on its own */
        CHECK(WIFSIGNALED(st));
        if (!WIFSIGNALED(st))
            printf("  round %d: child exited with %d\n", round,
                   WIFEXITED(st) ? WEXITSTATUS(st) : -1);
        snprintf(cmd, sizeof cmd, "git -C %s fsck --strict 2>&1", root_);
        int fr = sh(&out, "%s", cmd);
        CHECK_EQ_INT(fr, 0);
        if (fr != 0)
            printf("  round %d fsck: %s\n", round, out.data);
        /* the next writer recovers and commits */
        dx_git *g = NULL;
        CHECK_EQ_INT(dx_git_open_or_init(root_, 0, &g, &err), 0);
        if (!g)
            break;
        size_t nlocks = 0;
        CHECK_EQ_INT(dx_git_remove_stale_locks(g, 0, 0, &nlocks, &err), 0);
        locks += nlocks;
        char body[64];
        snprintf(body, sizeof body, "after kill %d\n", round);
        dx_git_file v[] = {{"fixed.md", "fixed\n", 6}, {"note.md", body, strlen(body)}};
        int rc = dx_git_commit_files(g, v, 2, NULL, NULL, NULL, &err);
        CHECK_EQ_INT(rc, 0);
        if (rc < 0)
            printf("  round %d commit: %s\n", round, err.msg);
        dx_git_free(g);
        snprintf(cmd, sizeof cmd, "git -C %s ls-tree -r --name-only HEAD", root_);
        CHECK_EQ_INT(sh(&out, "%s", cmd), 0);
        CHECK_EQ_STR(out.data, "fixed.md\nnote.md\n");
        snprintf(cmd, sizeof cmd, "git -C %s show HEAD:note.md", root_);
        CHECK_EQ_INT(sh(&out, "%s", cmd), 0);
        CHECK_EQ_STR(out.data, body);
        snprintf(cmd, sizeof cmd, "git -C %s status --porcelain --untracked-files=no", root_);
        CHECK_EQ_INT(sh(&out, "%s", cmd), 0);
        CHECK_EQ_STR(out.data, "");
        snprintf(cmd, sizeof cmd, "git -C %s fsck --strict 2>&1", root_);
        CHECK_EQ_INT(sh(&out, "%s", cmd), 0);
    }
    /* the children really committed between the kills */
    snprintf(cmd, sizeof cmd, "git -C %s rev-list --count HEAD", root_);
    CHECK_EQ_INT(sh(&out, "%s", cmd), 0);
    long commits = strtol(out.data ? out.data : "0", NULL, 10);
    printf("  %ld commits in all, %zu stale locks or partial packs removed\n", commits, locks);
    CHECK(commits > 10 * 3);
    /* packed commits happened, and no partial pack is left behind */
    snprintf(cmd, sizeof cmd, "ls %s/.git/objects/pack | grep -c '\\.idx$'", root_);
    CHECK_EQ_INT(sh(&out, "%s", cmd), 0);
    CHECK(strtol(out.data ? out.data : "0", NULL, 10) > 0);
    snprintf(cmd, sizeof cmd, "ls %s/.git/objects/pack | grep -c tmp_", root_);
    sh(&out, "%s", cmd);
    CHECK_EQ_STR(out.data, "0\n");
    dx_buf_release(&out);
}

int main(void)
{
    snprintf(root_, sizeof root_, "/tmp/dx_test_git_crash_XXXXXX");
    if (!mkdtemp(root_))
        return 1;
    RUN(test_git_survives_sigkill_during_commits);
    char cmd[512];
    snprintf(cmd, sizeof cmd, "rm -rf %s", root_);
    if (system(cmd) != 0)
        printf("could not remove %s\n", root_);
    return TEST_REPORT();
}
