/* git_repo.c - open, create and free the workspace repository, resolve a revision, clear
 * stale locks. */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <stdbool.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "git_internal.h"

/* The repository-local ignore file (.git/info/exclude) gets a line ".diaryx/": the CRDT
 * store is never history, and unlike a .gitignore the rule adds no file of its own to the
 * working tree. */
static int exclude_diaryx(git_repository *repo, dx_error *err)
{
    char path[4096];
    snprintf(path, sizeof path, "%sinfo", git_repository_path(repo));
    mkdir(path, 0755);
    snprintf(path, sizeof path, "%sinfo/exclude", git_repository_path(repo));
    FILE *f = fopen(path, "r");
    char line[512];
    bool found = false, ends_nl = true;
    while (f && fgets(line, sizeof line, f)) {
        size_t n = strlen(line);
        ends_nl = n && line[n - 1] == '\n';
        found |= !strcmp(line, ".diaryx/\n") || !strcmp(line, ".diaryx/");
    }
    if (f)
        fclose(f);
    if (found)
        return 0;
    if (!(f = fopen(path, "a")))
        return dx_error_set(err, DX_EIO, "cannot write '%s': %s", path, strerror(errno));
    int bad = fputs(ends_nl ? ".diaryx/\n" : "\n.diaryx/\n", f) < 0;
    if (fclose(f) != 0 || bad)
        return dx_error_set(err, DX_EIO, "cannot write '%s': %s", path, strerror(errno));
    return 0;
}

int dx_git_open_or_init(const char *root, int bare, dx_git **out, dx_error *err)
{
    *out = NULL;
    if (!root || !*root)
        return dx_error_set(err, DX_EINVAL, "no repository path given");
    git_libgit2_init();
    /* libgit2 caches no tree above 4 KB, so every path looked up in a directory of 20,000
     * files inflated and parsed its ~1 MB tree again (a commit of 20,000 changed paths
     * read 20 GB). Trees up to 64 MB are kept, within the cache's total limit. */
    git_libgit2_opts(GIT_OPT_SET_CACHE_OBJECT_LIMIT, GIT_OBJECT_TREE, (size_t)64 << 20);
    int rc = 0;
    dx_git *g = calloc(1, sizeof *g);
    if (!g || !(g->root = strdup(root))) {
        rc = dx_error_set(err, DX_ENOMEM, "out of memory opening '%s'", root);
        goto done;
    }
    int gr = git_repository_open_ext(&g->repo, root, GIT_REPOSITORY_OPEN_NO_SEARCH, NULL);
    if (gr == GIT_ENOTFOUND) {
        git_repository_init_options o;
        git_repository_init_options_init(&o, GIT_REPOSITORY_INIT_OPTIONS_VERSION);
        o.flags = GIT_REPOSITORY_INIT_MKPATH | (bare ? GIT_REPOSITORY_INIT_BARE : 0);
        o.initial_head = "main";
        gr = git_repository_init_ext(&g->repo, root, &o);
        if (gr < 0) {
            rc = dx_git_fail(err, gr, "cannot create the git repository at '%s'", root);
            goto done;
        }
    } else if (gr < 0) {
        rc = dx_git_fail(err, gr, "cannot open the git repository at '%s'", root);
        goto done;
    }
    g->bare = git_repository_is_bare(g->repo);
    if (!g->bare && (rc = exclude_diaryx(g->repo, err)) < 0)
        goto done;
    if (g->bare != !!bare) {
        rc = dx_error_set(err, DX_ECONFLICT, "'%s' holds a %s repository, expected a %s one", root,
                          g->bare ? "bare" : "normal", bare ? "bare" : "normal");
        goto done;
    }
    *out = g;
    g = NULL;
done:
    dx_git_free(g);
    return rc;
}

void dx_git_free(dx_git *g)
{
    if (!g)
        return;
    git_commit_free(g->last_commit);
    git_repository_free(g->repo);
    dx_git_tree_list_release(&g->files);
    dx_buf_release(&g->index_bytes);
    dx_buf_release(&g->index_spare);
    free(g->root);
    free(g);
    git_libgit2_shutdown();
}

int dx_git_is_bare(const dx_git *g)
{
    return g->bare;
}

int dx_git_resolve(dx_git *g, const char *rev, char out_id[DX_GIT_OID_HEX], dx_error *err)
{
    git_commit *c = NULL;
    int rc = dx_git_lookup_commit(g, rev, &c, err);
    if (rc < 0)
        return rc;
    if (!c)
        return dx_error_set(err, DX_ENOTFOUND, "HEAD has no commit yet");
    git_oid_tostr(out_id, DX_GIT_OID_HEX, git_commit_id(c));
    git_commit_free(c);
    return 0;
}

static int unlink_lock(const char *p, size_t *count, dx_error *err)
{
    if (unlink(p) == 0) {
        (*count)++;
        return 0;
    }
    if (errno == ENOENT)
        return 0;
    return dx_error_set(err, DX_EIO, "cannot remove stale lock '%s': %s", p, strerror(errno));
}

/* A process that may still finish with the lock file `real` (its resolved path): one that has
 * it open (/proc/<pid>/fd), or a git process working inside the repository (`root`: its
 * current directory is there), since git closes some lock files before renaming them (the
 * index during `git commit` while the editor is open, refs during a transaction). Returns the
 * pid and its name, 0 when there is none, -1 when this cannot be told (no /proc). Processes
 * this user may not inspect are passed over: they cannot write into this user's repository. */
static pid_t lock_holder(const char *real, const char *root, char name[64])
{
    DIR *proc = opendir("/proc");
    if (!proc)
        return -1;
    char p[4200], link[4096];
    size_t rl = strlen(root);
    pid_t found = 0;
    struct dirent *de;
    while (!found && (de = readdir(proc))) {
        char *end;
        long pid = strtol(de->d_name, &end, 10);
        if (*end || pid <= 0)
            continue;
        name[0] = 0;
        snprintf(p, sizeof p, "/proc/%ld/comm", pid);
        FILE *f = fopen(p, "r");
        if (f) {
            if (!fgets(name, 64, f))
                name[0] = 0;
            name[strcspn(name, "\n")] = 0;
            fclose(f);
        }
        snprintf(p, sizeof p, "/proc/%ld/cwd", pid);
        ssize_t n;
        if (!strncmp(name, "git", 3) && (n = readlink(p, link, sizeof link - 1)) > 0) {
            link[n] = 0;
            if (!strncmp(link, root, rl) && (link[rl] == 0 || link[rl] == '/')) {
                found = (pid_t)pid;
                break;
            }
        }
        snprintf(p, sizeof p, "/proc/%ld/fd", pid);
        DIR *fds = opendir(p);
        struct dirent *fe;
        while (fds && !found && (fe = readdir(fds))) {
            if (fe->d_name[0] == '.')
                continue;
            snprintf(p, sizeof p, "/proc/%ld/fd/%s", pid, fe->d_name);
            if ((n = readlink(p, link, sizeof link - 1)) > 0) {
                link[n] = 0;
                if (!strcmp(link, real))
                    found = (pid_t)pid;
            }
        }
        if (fds)
            closedir(fds);
    }
    closedir(proc);
    return found;
}

/* Remove git's lock file p only when it is provably stale: a file (not a directory squatting
 * the path) that no process holds (see lock_holder) and that is older than min_age seconds or
 * was made since killed_since (the start of a diaryx writer that was killed). Otherwise
 * DX_ECONFLICT, with a message that names the file and says what to do. */
static int unlink_git_lock(const char *p, const char *root, int min_age, int64_t killed_since,
                           size_t *count, dx_error *err)
{
    struct stat st;
    if (lstat(p, &st) != 0)
        return errno == ENOENT
                   ? 0
                   : dx_error_set(err, DX_EIO, "cannot look at the git lock file '%s': %s", p,
                                  strerror(errno));
    if (S_ISDIR(st.st_mode))
        return dx_error_set(err, DX_ECONFLICT,
                            "'%s' is a directory where git keeps a lock file, so git cannot lock "
                            "it; remove that directory and try again",
                            p);
    long age = (long)(time(NULL) - st.st_mtime);
    if (age < min_age && !(killed_since > 0 && (int64_t)st.st_mtime >= killed_since))
        return dx_error_set(err, DX_ECONFLICT,
                            "the git lock file '%s' is only %ld s old: a git command may be "
                            "working in this repository; try again when it has finished (diaryx "
                            "removes the file itself once it is %d s old and no process holds it)",
                            p, age < 0 ? 0 : age, min_age);
    char real[4096], name[64] = "", rroot[4096];
    if (!realpath(p, real))
        return errno == ENOENT
                   ? 0
                   : dx_error_set(err, DX_EIO, "cannot resolve the git lock file '%s': %s", p,
                                  strerror(errno));
    if (!realpath(root, rroot))
        snprintf(rroot, sizeof rroot, "%s", root);
    pid_t holder = lock_holder(real, rroot, name);
    if (holder > 0)
        return dx_error_set(err, DX_ECONFLICT,
                            "the git lock file '%s' is in use by process %ld (%s): wait until it "
                            "has finished, then try again",
                            p, (long)holder, name[0] ? name : "unknown");
    if (holder < 0)
        return dx_error_set(err, DX_ECONFLICT,
                            "the git lock file '%s' exists and this system cannot tell whether a "
                            "process still holds it: if no git command is running in '%s', "
                            "remove the file and try again",
                            p, root);
    return unlink_lock(p, count, err);
}

int dx_git_remove_stale_locks(dx_git *g, int min_age, int64_t killed_since, size_t *out_removed,
                              dx_error *err)
{
    const char *gitdir = git_repository_path(g->repo); /* ends with '/' */
    static const char *const fixed[] = {"index.lock", "HEAD.lock", "packed-refs.lock"};
    char p[4096];
    size_t count = 0;
    int rc = 0;
    for (size_t i = 0; i < sizeof fixed / sizeof fixed[0] && rc == 0; i++) {
        snprintf(p, sizeof p, "%s%s", gitdir, fixed[i]);
        rc = unlink_git_lock(p, g->root, min_age, killed_since, &count, err);
    }
    /* a pack being written (git_mempack.c) is a temporary file until it is complete */
    snprintf(p, sizeof p, "%sobjects/pack", gitdir);
    DIR *d = rc == 0 ? opendir(p) : NULL;
    if (d) {
        struct dirent *de;
        while (rc == 0 && (de = readdir(d))) {
            size_t l = strlen(de->d_name);
            if (strncmp(de->d_name, "tmp_dxpack_", 11) == 0) {
                snprintf(p, sizeof p, "%sobjects/pack/%s", gitdir, de->d_name);
                rc = unlink_lock(p, &count, err);
            } else if (l > 10 && strncmp(de->d_name, "pack-", 5) == 0 &&
                       strcmp(de->d_name + l - 5, ".pack") == 0) {
                /* a pack without its index: a roll-up was killed between deleting an old
                 * pack's .idx and its .pack (or an install between its two renames) */
                struct stat st;
                snprintf(p, sizeof p, "%sobjects/pack/%.*s.idx", gitdir, (int)(l - 5), de->d_name);
                if (stat(p, &st) < 0 && errno == ENOENT) {
                    /* git installs a pack's .pack before its .idx too: only an orphan older
                     * than an hour is ours to remove, never one being installed */
                    snprintf(p, sizeof p, "%sobjects/pack/%s", gitdir, de->d_name);
                    if (stat(p, &st) == 0 && time(NULL) - st.st_mtime > 3600)
                        rc = unlink_lock(p, &count, err);
                }
            }
        }
        closedir(d);
    }
    snprintf(p, sizeof p, "%srefs/heads", gitdir);
    d = rc == 0 ? opendir(p) : NULL;
    if (d) {
        struct dirent *de;
        while (rc == 0 && (de = readdir(d))) {
            size_t l = strlen(de->d_name);
            if (l > 5 && strcmp(de->d_name + l - 5, ".lock") == 0) {
                snprintf(p, sizeof p, "%srefs/heads/%s", gitdir, de->d_name);
                rc = unlink_git_lock(p, g->root, min_age, killed_since, &count, err);
            }
        }
        closedir(d);
    }
    if (out_removed)
        *out_removed = count;
    return rc;
}
