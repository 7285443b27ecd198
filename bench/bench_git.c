/* bench_git.c - git history timings on a 10,000-file workspace, libgit2 layer vs git CLI. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <git2.h>

#include "diaryx/error.h"
#include "diaryx/git.h"

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static int count_cb(const dx_git_log_entry *e, void *ud)
{
    (void)e;
    (*(int *)ud)++;
    return 0;
}

static void mkdirs(const char *root, const char *rel)
{
    char p[1024];
    snprintf(p, sizeof p, "%s/%s", root, rel);
    for (char *s = strchr(p + 1, '/'); s; s = strchr(s + 1, '/')) {
        *s = 0;
        mkdir(p, 0777);
        *s = '/';
    }
}

static void write_to(const char *root, const dx_git_file *f)
{
    char p[1024];
    snprintf(p, sizeof p, "%s/%s", root, f->path);
    mkdirs(root, f->path);
    FILE *fp = fopen(p, "wb");
    if (fp) {
        fwrite(f->data, 1, f->len, fp);
        fclose(fp);
    }
}

int main(int argc, char **argv)
{
    const int N = 10000;
    const char *base = argc > 1 ? argv[1] : "/tmp";
    /* libgit2's once-per-process start, before anything holds it */
    double init_best = 1e9;
    for (int r = 0; r < 3; r++) {
        double t0 = now_ms();
        git_libgit2_init();
        double t = now_ms() - t0;
        git_libgit2_shutdown();
        init_best = t < init_best ? t : init_best;
    }
    char tmp[256], lib[300], cli[300], cmd[4096];
    snprintf(tmp, sizeof tmp, "%.200s/dx_bench_git_XXXXXX", base);
    if (!mkdtemp(tmp))
        return 1;
    snprintf(lib, sizeof lib, "%.250s/lib", tmp);
    snprintf(cli, sizeof cli, "%.250s/cli", tmp);
    dx_git_file *files = calloc(N, sizeof *files);
    srand(42);
    for (int i = 0; i < N; i++) {
        char *p = malloc(64);
        snprintf(p, 64, "y%02d/m%d/d%03d/entry-%05d.md", i % 100, (i / 100) % 4, i % 97, i);
        size_t len = 1024 + (size_t)(rand() % 4096);
        char *d = malloc(len);
        int o = snprintf(d, len, "---\ntitle: Entry %d\n---\n", i);
        for (size_t k = (size_t)o; k < len; k++)
            d[k] = (k % 61 == 60) ? '\n' : (char)('a' + (rand() % 26));
        files[i].path = p;
        files[i].data = d;
        files[i].len = len;
    }
    dx_error err = DX_ERROR_INIT;
    dx_git *g = NULL;
    /* DX_BENCH_BARE=1: a bare repository (no index, no work tree) for the library side */
    int bare = getenv("DX_BENCH_BARE") != NULL;
    if (dx_git_open_or_init(lib, bare, &g, &err) < 0) {
        fprintf(stderr, "%s\n", err.msg);
        return 1;
    }
    /* the workspace files already exist on disk, as they would */
    for (int i = 0; i < N && !bare; i++)
        write_to(lib, &files[i]);
    dx_git_stats st;
    double t0 = now_ms();
    if (dx_git_commit_files(g, files, N, NULL, NULL, &st, &err) < 0) {
        fprintf(stderr, "%s\n", err.msg);
        return 1;
    }
    double first = now_ms() - t0;
    int first_packed = st.packed;
    /* CLI copy */
    snprintf(cmd, sizeof cmd,
             "mkdir -p %s && git -C %s init -q -b main && cp -r %s/y* %s/ && "
             "git -C %s config user.name B && git -C %s config user.email b@x && "
             "git -C %s config gc.auto 0",
             cli, cli, lib, cli, cli, cli, cli);
    if (bare) { /* the files only exist in the CLI copy */
        for (int i = 0; i < N; i++)
            write_to(cli, &files[i]);
        snprintf(cmd, sizeof cmd,
                 "git -C %s init -q -b main && git -C %s config user.name B && "
                 "git -C %s config user.email b@x && git -C %s config gc.auto 0",
                 cli, cli, cli, cli);
    }
    if (system(cmd) != 0)
        return 1;
    t0 = now_ms();
    snprintf(cmd, sizeof cmd, "cd %s && git add -A && git commit -q -m first", cli);
    if (system(cmd) != 0)
        return 1;
    double cli_first = now_ms() - t0;

    double incr_best = 1e9, incr_sum = 0, cli_best = 1e9, cli_sum = 0;
    const int ROUNDS = 5;
    for (int r = 0; r < ROUNDS; r++) {
        for (int k = 0; k < 10; k++) {
            int i = (r * 997 + k * 911) % N;
            char *d = (char *)files[i].data;
            d[files[i].len - 2] = (char)('a' + (r + k) % 26);
            d[files[i].len - 3] = (char)('A' + r);
            write_to(cli, &files[i]);
        }
        t0 = now_ms();
        if (dx_git_commit_files(g, files, N, NULL, NULL, &st, &err) < 0) {
            fprintf(stderr, "%s\n", err.msg);
            return 1;
        }
        double t = now_ms() - t0;
        incr_sum += t;
        if (t < incr_best)
            incr_best = t;
        t0 = now_ms();
        snprintf(cmd, sizeof cmd, "cd %s && git add -A && git commit -q -m next", cli);
        if (system(cmd) != 0)
            return 1;
        t = now_ms() - t0;
        cli_sum += t;
        if (t < cli_best)
            cli_best = t;
    }
    /* A caller that records the blob id of every file it writes (as diaryx does) passes the
     * ids of the unchanged files and no bytes; only the 10 changed files carry bytes. */
    char(*ids)[DX_GIT_OID_HEX] = calloc(N, sizeof *ids);
    dx_git_file *byid = calloc(N, sizeof *byid);
    for (int i = 0; i < N; i++)
        if (dx_git_blob_id(g, NULL, files[i].path, ids[i], &err) < 0) {
            fprintf(stderr, "%s\n", err.msg);
            return 1;
        }
    double id_best = 1e9, id_sum = 0;
    for (int r = 0; r < ROUNDS; r++) {
        for (int i = 0; i < N; i++)
            byid[i] = (dx_git_file){files[i].path, NULL, 0, ids[i]};
        int changed[10];
        for (int k = 0; k < 10; k++) {
            int i = (r * 991 + k * 907 + 13) % N;
            char *d = (char *)files[i].data;
            d[files[i].len - 2] = (char)('a' + (r + k + 7) % 26);
            d[files[i].len - 4] = (char)('A' + r);
            byid[i] = files[i];
            changed[k] = i;
        }
        t0 = now_ms();
        if (dx_git_commit_files(g, byid, N, NULL, NULL, &st, &err) < 0) {
            fprintf(stderr, "%s\n", err.msg);
            return 1;
        }
        double t = now_ms() - t0;
        id_sum += t;
        if (t < id_best)
            id_best = t;
        for (int k = 0; k < 10; k++) /* the caller records the new ids */
            dx_git_blob_id(g, NULL, files[changed[k]].path, ids[changed[k]], &err);
    }
    free(byid);
    free(ids);
    /* The delta API: only the 10 changed files are passed (dx_git_commit_changes), in a process
     * that keeps its dx_git open (warm) and with a dx_git opened for the commit (fresh: the
     * open is timed too, and nothing is reused but the OS's page cache); the git CLI commits
     * the same 10 files in the same rounds. libgit2 itself stays initialised here: its
     * once-per-process start (it loads the system's CA certificates) is timed on its own. */
    git_libgit2_init();

    const int DROUNDS = getenv("DX_BENCH_ROUNDS") ? atoi(getenv("DX_BENCH_ROUNDS")) : 7;
    double dw_best = 1e9, dw_sum = 0, df_best = 1e9, df_sum = 0, dc_best = 1e9, dc_sum = 0;
    /* Commits come minutes apart in real use. Back to back within one second, each commit
     * re-hashes the racily clean files of the previous ones (written in the same second as the
     * index), as git does: DX_BENCH_GAP_MS (default 1100) spaces the rounds; 0 = back to
     * back. */
    const int gap_ms = getenv("DX_BENCH_GAP_MS") ? atoi(getenv("DX_BENCH_GAP_MS")) : 1100;
    int dpacked = 1, rolls = 0;
    double mp_max = 0, roll_ms = 0;
    for (int r = 0; r < 2 * DROUNDS; r++) {
        int fresh = r % 2;
        dx_git_file ch[10];
        for (int k = 0; k < 10; k++) {
            int i = (r * 983 + k * 919 + 29) % N;
            char *d = (char *)files[i].data;
            d[files[i].len - 2] = (char)('a' + (r + k + 3) % 26);
            d[files[i].len - 5] = (char)('A' + r % 26);
            ch[k] = files[i];
            write_to(cli, &files[i]);
        }
        if (gap_ms > 0) /* let the clock move past the second of the last commit */
            usleep((useconds_t)gap_ms * 1000);
        t0 = now_ms();
        if (fresh) {
            dx_git_free(g);
            g = NULL;
            if (dx_git_open_or_init(lib, bare, &g, &err) < 0) {
                fprintf(stderr, "%s\n", err.msg);
                return 1;
            }
        }
        if (dx_git_commit_changes(g, ch, 10, NULL, 0, NULL, NULL, &st, &err) < 0) {
            fprintf(stderr, "%s\n", err.msg);
            return 1;
        }
        double t = now_ms() - t0;
        if (getenv("DX_BENCH_VERBOSE"))
            fprintf(stderr, "delta round %d (%s): %.2f ms\n", r, fresh ? "fresh" : "warm", t);
        dpacked &= st.packed && st.modified == 10;
        if (fresh) {
            df_sum += t;
            df_best = t < df_best ? t : df_best;
        } else {
            dw_sum += t;
            dw_best = t < dw_best ? t : dw_best;
        }
        t0 = now_ms();
        size_t rolled = 0;
        if (dx_git_maybe_pack(g, 512, &rolled, &err) < 0) {
            fprintf(stderr, "%s\n", err.msg);
            return 1;
        }
        t = now_ms() - t0;
        if (rolled) {
            rolls++;
            roll_ms += t;
        } else if (t > mp_max)
            mp_max = t;
        t0 = now_ms();
        snprintf(cmd, sizeof cmd, "cd %s && git add -A && git commit -q -m delta", cli);
        if (system(cmd) != 0)
            return 1;
        t = now_ms() - t0;
        dc_sum += t;
        dc_best = t < dc_best ? t : dc_best;
    }
    int n = 0;
    t0 = now_ms();
    dx_git_log(g, NULL, 20, count_cb, &n, &err);
    double log20 = now_ms() - t0;
    int nf = 0;
    t0 = now_ms();
    dx_git_log(g, files[0].path, 0, count_cb, &nf, &err);
    double logf = now_ms() - t0;
    t0 = now_ms();
    snprintf(cmd, sizeof cmd, "git -C %s log -n 20 >/dev/null", cli);
    if (system(cmd) != 0)
        return 1;
    double cli_log = now_ms() - t0;
    t0 = now_ms();
    snprintf(cmd, sizeof cmd, "git -C %s log -- %s >/dev/null", cli, files[0].path);
    if (system(cmd) != 0)
        return 1;
    double cli_logf = now_ms() - t0;

    printf("files: %d (1-5 KB, 100x4x97 dirs), dir %s\n", N, tmp);
    printf("first commit           libgit2 %8.1f ms   git CLI %8.1f ms   (one pack: %d)\n", first,
           cli_first, first_packed);
    printf("10-file commit (%d runs) libgit2 best %6.1f avg %6.1f ms   git CLI best %6.1f avg "
           "%6.1f ms\n",
           ROUNDS, incr_best, incr_sum / ROUNDS, cli_best, cli_sum / ROUNDS);
    printf("10-file commit, ids     libgit2 best %6.1f avg %6.1f ms (9,990 files by blob id)\n",
           id_best, id_sum / ROUNDS);
    printf("10-file delta (%d runs, %d ms apart)  warm best %6.2f avg %6.2f ms   fresh open+commit "
           "best %6.2f avg "
           "%6.2f ms   git CLI best %6.1f avg %6.1f ms (%d runs)   (one pack each: %d)\n",
           DROUNDS, gap_ms, dw_best, dw_sum / DROUNDS, df_best, df_sum / DROUNDS, dc_best,
           dc_sum / (2 * DROUNDS), 2 * DROUNDS, dpacked);
    printf("libgit2 start per process (git_libgit2_init, best of 3): %.2f ms\n", init_best);
    printf(
        "maybe_pack after each   nothing to do: max %.3f ms; %d roll-ups of small packs: %.1f ms "
        "in all\n",
        mp_max, rolls, roll_ms);
    printf("log -n 20              libgit2 %8.2f ms (%d)  git CLI %8.1f ms\n", log20, n, cli_log);
    printf("log of one file        libgit2 %8.2f ms (%d)  git CLI %8.1f ms\n", logf, nf, cli_logf);
    snprintf(cmd, sizeof cmd,
             "git --git-dir=%s%s fsck --strict >/dev/null 2>&1 && echo 'fsck ok' && "
             "(test %d = 1 || test -z \"$(git -C %s status --porcelain --untracked-files=no)\") "
             "&& echo 'status clean (or bare)' && git --git-dir=%s%s count-objects -v | "
             "grep -E '^(count|in-pack|packs):' | tr '\\n' ' ' && echo",
             lib, bare ? "" : "/.git", bare, lib, lib, bare ? "" : "/.git");
    if (system(cmd) != 0)
        printf("fsck or status FAILED\n");
    dx_git_free(g);
    git_libgit2_shutdown();
    for (int i = 0; i < N; i++) {
        free((char *)files[i].path);
        free((void *)files[i].data);
    }
    free(files);
    snprintf(cmd, sizeof cmd, "rm -rf %s", tmp);
    return system(cmd) == 0 ? 0 : 1;
}
