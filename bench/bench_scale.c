/* bench_scale.c - the diaryx CLI on workspaces built to be large in one direction: an index
 * with many broken links (`validate --fix`), many problems at once (`validate`), an index
 * with many children (`workspace mv`, then `commit`), and a commit of 10 edits against the
 * git CLI's (issue 10 items 16 and 17). Each command runs as a new
 * process, as a user would run it; the set-up (the first command imports every file) is not
 * timed. Each figure is the wall time and the CPU time (user + system) of the process.
 * Usage: bench_scale [DIR] [ENTRIES] [LINKS] [PART] (a scratch directory, default /tmp;
 * 20000; 50000; PART fix, problems, move or commit runs that part alone, default all four;
 * the commit part uses ENTRIES / 2 entries). The diaryx binary is the one next to this
 * program. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "diaryx/buf.h"
#include "diaryx/fs.h"

static char diaryx[PATH_MAX + 16];

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void put(const char *root, const char *rel, const char *text)
{
    char p[PATH_MAX];
    snprintf(p, sizeof p, "%s/%s", root, rel);
    char *slash = strrchr(p, '/');
    *slash = 0;
    dx_mkdirs(p, NULL);
    *slash = '/';
    if (dx_file_write_atomic(p, text, strlen(text), 0644, NULL) != 0) {
        fprintf(stderr, "cannot write %s\n", p);
        exit(1);
    }
}

static double cpu_of_children(void)
{
    struct rusage ru;
    getrusage(RUSAGE_CHILDREN, &ru);
    return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
           (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

static double last_cpu; /* CPU time (user + system) of the last run */

/* Run the shell command line in dir (output appended to DIR.out); its wall time in seconds
 * and exit status. The 2 cores are shared, so its CPU time is kept too (last_cpu). */
static double run_sh(const char *dir, const char *line, int *status)
{
    char cmd[PATH_MAX * 4];
    snprintf(cmd, sizeof cmd, "cd '%s' && %s >>'%s.out' 2>&1", dir, line, dir);
    double c = cpu_of_children(), t = now();
    int st = system(cmd);
    t = now() - t;
    last_cpu = cpu_of_children() - c;
    *status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
    return t;
}

/* Run `diaryx ARGS` in dir, as run_sh. */
static double run(const char *dir, const char *args, int *status)
{
    char line[PATH_MAX * 2];
    snprintf(line, sizeof line, "'%s' %s", diaryx, args);
    return run_sh(dir, line, status);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* A new workspace at root: `diaryx init`, then the root index replaced by readme. */
static void workspace(const char *root, const char *readme)
{
    char cmd[PATH_MAX * 3];
    snprintf(cmd, sizeof cmd, "rm -rf '%s' && '%s' init '%s' >/dev/null", root, diaryx, root);
    if (system(cmd) != 0) {
        fprintf(stderr, "cannot create the workspace %s\n", root);
        exit(1);
    }
    put(root, "README.md", readme);
}

static void root_with_broken(dx_buf *b, int links, const char *first)
{
    dx_buf_reset(b);
    dx_buf_puts(b, "---\ntitle: Scale\ncontents:\n");
    if (first)
        dx_buf_puts(b, first);
    for (int i = 0; i < links; i++)
        dx_buf_printf(b, "- \"[Gone %d](/gone/g%06d.md)\"\n", i, i);
    dx_buf_puts(b, "---\n\n# Scale\n");
}

static void report(const char *what, double secs, int status, int want)
{
    printf("%-58s %9.1f ms wall %9.1f ms cpu%s\n", what, secs * 1e3, last_cpu * 1e3,
           status == want ? "" : "  (unexpected exit status)");
    if (status != want)
        fprintf(stderr, "%s: exit status %d, expected %d (output in DIR.out)\n", what, status,
                want);
}

int main(int argc, char **argv)
{
    const char *base = argc > 1 ? argv[1] : "/tmp";
    int entries = argc > 2 ? atoi(argv[2]) : 20000;
    int links = argc > 3 ? atoi(argv[3]) : 50000;
    const char *part = argc > 4 ? argv[4] : NULL;
    char self[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    if (n <= 0)
        return 1;
    self[n] = 0;
    *strrchr(self, '/') = 0;
    snprintf(diaryx, sizeof diaryx, "%s/diaryx", self);
    setenv("NO_COLOR", "1", 1);
    setvbuf(stdout, NULL, _IOLBF, 0);
    char root[PATH_MAX], rel[256], label[128];
    dx_buf b = DX_BUF_INIT;
    int st;
    double t;

    /* 1. validate --fix removing every broken link of one index. */
    if (part && strcmp(part, "fix") != 0)
        goto problems;
    snprintf(root, sizeof root, "%s/dx-scale-fix", base);
    root_with_broken(&b, links, NULL);
    workspace(root, b.data);
    t = run(root, "validate", &st);
    report("set-up: import, validate (not part of the figures)", t, st, 1);
    snprintf(label, sizeof label, "validate --fix: %d broken links in one index", links);
    t = run(root, "validate --fix", &st);
    report(label, t, st, 0);
    t = run(root, "validate --fix", &st);
    report("validate --fix again (nothing left to fix)", t, st, 0);

    /* 2. validate with 2 x ENTRIES problems: orphans and broken links. */
problems:
    if (part && strcmp(part, "problems") != 0)
        goto move;
    snprintf(root, sizeof root, "%s/dx-scale-problems", base);
    root_with_broken(&b, entries, NULL);
    workspace(root, b.data);
    for (int i = 0; i < entries; i++) {
        dx_buf_reset(&b);
        dx_buf_printf(&b, "---\ntitle: Loose %d\n---\n\nNobody links me.\n", i);
        snprintf(rel, sizeof rel, "loose/l%06d.md", i);
        put(root, rel, b.data);
    }
    t = run(root, "validate", &st);
    report("set-up: import, validate (not part of the figures)", t, st, 1);
    snprintf(label, sizeof label, "validate: %d problems (%d orphans, %d broken)", 2 * entries,
             entries, entries);
    t = run(root, "validate", &st);
    report(label, t, st, 1);

    /* 3. An index with ENTRIES children renamed (a CRDT edit of its filename; the children's
     * files are written again, their part_of names the new file), then committed. */
move:
    if (part && strcmp(part, "move") != 0)
        goto commit;
    snprintf(root, sizeof root, "%s/dx-scale-move", base);
    root_with_broken(&b, 0, "- \"[Big](/big/big.md)\"\n");
    workspace(root, b.data);
    dx_buf_reset(&b);
    dx_buf_puts(&b, "---\ntitle: Big\npart_of: \"[Scale](/README.md)\"\ncontents:\n");
    for (int i = 0; i < entries; i++)
        dx_buf_printf(&b, "- \"[Entry %d](/big/e%06d.md)\"\n", i, i);
    dx_buf_puts(&b, "---\n");
    put(root, "big/big.md", b.data);
    for (int i = 0; i < entries; i++) {
        dx_buf_reset(&b);
        dx_buf_printf(&b, "---\ntitle: Entry %d\npart_of: \"[Big](/big/big.md)\"\n---\n\nDay %d.\n",
                      i, i);
        snprintf(rel, sizeof rel, "big/e%06d.md", i);
        put(root, rel, b.data);
    }
    t = run(root, "commit -m set-up", &st);
    report("set-up: import, first commit (not part of the figures)", t, st, 0);
    snprintf(label, sizeof label, "workspace mv of an index with %d children", entries);
    t = run(root, "workspace mv big/big.md big/all.md", &st);
    report(label, t, st, 0);
    t = run(root, "commit -m moved", &st);
    report("commit after that move", t, st, 0);
    t = run(root, "validate", &st);
    report("validate after the move", t, st, 0);

    /* 4. Issue 10 item 17: `diaryx commit` after 10 files were edited (by another program)
     * against `git add -A && git commit` of the same edits in a copy, ENTRIES / 2 entries
     * (100 folders under the root index), rounds alternating so that load hits both. */
commit:
    if (part && strcmp(part, "commit") != 0)
        goto done;
    int half = entries / 2 > 100 ? entries / 2 : 100, per = half / 100;
    char copy[PATH_MAX];
    snprintf(root, sizeof root, "%s/dx-scale-commit", base);
    snprintf(copy, sizeof copy, "%s/dx-scale-commit-git", base);
    dx_buf_reset(&b);
    dx_buf_puts(&b, "---\ntitle: Scale\ncontents:\n");
    for (int d = 0; d < 100; d++)
        dx_buf_printf(&b, "- \"[Folder %d](/f%02d/f%02d.md)\"\n", d, d, d);
    dx_buf_puts(&b, "---\n\n# Scale\n");
    workspace(root, b.data);
    for (int d = 0; d < 100; d++) {
        dx_buf_reset(&b);
        dx_buf_printf(&b, "---\ntitle: Folder %d\npart_of: \"[Scale](/README.md)\"\ncontents:\n",
                      d);
        for (int i = 0; i < per; i++)
            dx_buf_printf(&b, "- \"[Note %d](/f%02d/n%04d.md)\"\n", i, d, i);
        dx_buf_puts(&b, "---\n");
        snprintf(rel, sizeof rel, "f%02d/f%02d.md", d, d);
        put(root, rel, b.data);
        for (int i = 0; i < per; i++) {
            dx_buf_reset(&b);
            dx_buf_printf(&b,
                          "---\ntitle: Note %d\npart_of: \"[Folder %d](/f%02d/f%02d.md)\"\n---\n\n"
                          "Some text of note %d in folder %d.\n",
                          i, d, d, d, i, d);
            snprintf(rel, sizeof rel, "f%02d/n%04d.md", d, i);
            put(root, rel, b.data);
        }
    }
    t = run(root, "commit -m set-up", &st);
    report("set-up: import, first commit (not part of the figures)", t, st, 0);
    char line[PATH_MAX * 3 + 64];
    snprintf(line, sizeof line, "rm -rf '%s' && cp -a '%s' '%s'", copy, root, copy);
    if (system(line) != 0)
        exit(1);
    enum { ROUNDS = 7 };
    double dx_t[ROUNDS], git_t[ROUNDS], dx_c[ROUNDS], git_c[ROUNDS];
    int bad = 0;
    for (int r = 0; r <= ROUNDS; r++) { /* round 0 warms the caches, untimed */
        for (int k = 0; k < 10; k++) {
            int d = (r * 37 + k * 11) % 100, i = (r * 13 + k * 7) % per;
            dx_buf_reset(&b);
            dx_buf_printf(&b,
                          "---\ntitle: Note %d\npart_of: \"[Folder %d](/f%02d/f%02d.md)\"\n---\n\n"
                          "Some text of note %d in folder %d.\nEdited in round %d.\n",
                          i, d, d, d, i, d, r);
            snprintf(rel, sizeof rel, "f%02d/n%04d.md", d, i);
            put(root, rel, b.data);
            put(copy, rel, b.data);
        }
        char msg[64];
        snprintf(msg, sizeof msg, "commit -m 'round %d'", r);
        double td = run(root, msg, &st), cd = last_cpu;
        bad |= st != 0;
        snprintf(msg, sizeof msg, "git add -A && git commit -qm 'round %d'", r);
        double tg = run_sh(copy, msg, &st), cg = last_cpu;
        bad |= st != 0;
        if (r > 0) {
            dx_t[r - 1] = td;
            dx_c[r - 1] = cd;
            git_t[r - 1] = tg;
            git_c[r - 1] = cg;
        }
    }
    qsort(dx_t, ROUNDS, sizeof *dx_t, cmp_double);
    qsort(git_t, ROUNDS, sizeof *git_t, cmp_double);
    qsort(dx_c, ROUNDS, sizeof *dx_c, cmp_double);
    qsort(git_c, ROUNDS, sizeof *git_c, cmp_double);
    printf("%-58s %9.1f ms wall %9.1f ms cpu (best; median %.1f / %.1f)%s\n",
           "diaryx commit after 10 edits", dx_t[0] * 1e3, dx_c[0] * 1e3, dx_t[ROUNDS / 2] * 1e3,
           dx_c[ROUNDS / 2] * 1e3, bad ? "  (a command failed: see DIR.out)" : "");
    printf("%-58s %9.1f ms wall %9.1f ms cpu (best; median %.1f / %.1f)\n",
           "git add -A && git commit, same edits, same rounds", git_t[0] * 1e3, git_c[0] * 1e3,
           git_t[ROUNDS / 2] * 1e3, git_c[ROUNDS / 2] * 1e3);
done:
    dx_buf_release(&b);
    return 0;
}
