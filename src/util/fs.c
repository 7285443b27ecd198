/* fs.c - whole-file reads, atomic writes (temp + fsync + rename), batches of them, mkdir -p,
 * and confined access below a root that never follows a symbolic link. */
#define _GNU_SOURCE /* syncfs, renameat2(RENAME_NOREPLACE) */
#include "diaryx/fs.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stdint.h>
#include <sys/stat.h>
#include <unistd.h>

int dx_file_read(const char *path, dx_buf *out, dx_error *err)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return dx_error_set(err, errno == ENOENT ? DX_ENOTFOUND : DX_EIO, "cannot open '%s': %s",
                            path, strerror(errno));
    int rc = 0;
    for (;;) {
        if ((rc = dx_buf_grow(out, 65536)) != 0) {
            dx_error_set(err, rc, "cannot read '%s': %s", path, dx_strerror(rc));
            break;
        }
        ssize_t n = read(fd, out->data + out->len, out->cap - out->len - 1);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            rc = dx_error_set(err, DX_EIO, "cannot read '%s': %s", path, strerror(errno));
            break;
        }
        if (n == 0)
            break;
        out->len += (size_t)n;
        out->data[out->len] = 0;
    }
    close(fd);
    return rc;
}

static int write_all(int fd, const char *p, size_t len)
{
    while (len) {
        ssize_t n = write(fd, p, len);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

int dx_file_write_atomic(const char *path, const void *data, size_t len, int mode, dx_error *err)
{
    size_t plen = strlen(path);
    char *tmp = malloc(plen + 32);
    if (!tmp)
        return dx_error_set(err, DX_ENOMEM, "cannot write '%s': out of memory", path);
    /* Temporary name in the same directory so rename() is atomic; the pid keeps concurrent
     * writers apart and the leading dot keeps it out of directory scans. */
    const char *slash = strrchr(path, '/');
    size_t dirlen = slash ? (size_t)(slash - path) + 1 : 0;
    snprintf(tmp, plen + 32, "%.*s.%s.tmp%ld", (int)dirlen, path, path + dirlen, (long)getpid());
    int rc = 0;
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
    if (fd < 0) {
        rc = dx_error_set(err, DX_EIO, "cannot write '%s': %s", path, strerror(errno));
        goto done;
    }
    if (write_all(fd, data, len) != 0 || fsync(fd) != 0) {
        rc = dx_error_set(err, DX_EIO, "cannot write '%s': %s", path, strerror(errno));
        close(fd);
        unlink(tmp);
        goto done;
    }
    if (close(fd) != 0 || rename(tmp, path) != 0) {
        rc = dx_error_set(err, DX_EIO, "cannot write '%s': %s", path, strerror(errno));
        unlink(tmp);
    }
done:
    free(tmp);
    return rc;
}

int dx_mkdirs(const char *path, dx_error *err)
{
    size_t len = strlen(path);
    char *p = malloc(len + 1);
    if (!p)
        return dx_error_set(err, DX_ENOMEM, "out of memory");
    memcpy(p, path, len + 1);
    int rc = 0;
    for (size_t i = 1; i <= len; i++) {
        if (p[i] != '/' && p[i] != 0)
            continue;
        char c = p[i];
        p[i] = 0;
        if (mkdir(p, 0755) != 0 && errno != EEXIST) {
            rc = dx_error_set(err, DX_EIO, "cannot create directory '%s': %s", p, strerror(errno));
            break;
        }
        p[i] = c;
    }
    if (!rc && !dx_is_dir(path))
        rc = dx_error_set(err, DX_EIO, "cannot create directory '%s': a file is in the way", path);
    free(p);
    return rc;
}

bool dx_path_exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

bool dx_is_dir(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

bool dx_is_file(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

/* ---- confined access ------------------------------------------------------------------ */

/* Why a walk refuses: the component of rel that is a link, or that is not a directory. */
static int walk_fail(const char *rel, const char *comp_end, int dirfd, const char *name,
                     dx_error *err)
{
    struct stat st;
    int e = errno;
    int plen = (int)(comp_end - rel);
    if ((e == ELOOP || e == ENOTDIR || e == EMLINK) &&
        fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(st.st_mode))
        return dx_error_set(err, DX_EPATH,
                            "'%.*s' is a symbolic link and diaryx never follows links; replace "
                            "it with what it points to, or remove it",
                            plen, rel);
    if (e == ENOENT)
        return dx_error_set(err, DX_ENOTFOUND, "'%.*s' does not exist", plen, rel);
    if (e == ENOTDIR)
        return dx_error_set(err, DX_EIO, "'%.*s' is not a directory (a file is in the way)", plen,
                            rel);
    return dx_error_set(err, DX_EIO, "cannot open '%.*s': %s", plen, rel, strerror(e));
}

/* No leading `/`, no empty, `.` or `..` component ("" is the root itself). */
static bool rel_is_normal(const char *rel)
{
    if (!rel[0])
        return true;
    for (const char *p = rel;;) {
        const char *slash = strchr(p, '/');
        size_t n = slash ? (size_t)(slash - p) : strlen(p);
        if (n == 0 || (n == 1 && p[0] == '.') || (n == 2 && p[0] == '.' && p[1] == '.'))
            return false;
        if (!slash)
            return true;
        p = slash + 1;
    }
}

/* Open the directory that holds the last component of rel, one component at a time without
 * following links; with create, missing directories are made. *leaf points into rel ("" when
 * rel is ""). The caller closes *dirfd. */
static int walk_to_parent(const char *root, const char *rel, bool create, int *dirfd,
                          const char **leaf, dx_error *err)
{
    char name[256];
    *dirfd = -1;
    if (!rel_is_normal(rel))
        return dx_error_set(err, DX_EPATH, "'%s' is not a normalised workspace-relative path", rel);
    int fd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return dx_error_set(err, errno == ENOENT ? DX_ENOTFOUND : DX_EIO,
                            "cannot open the directory '%s': %s", root, strerror(errno));
    const char *p = rel;
    for (;;) {
        const char *slash = strchr(p, '/');
        size_t n = slash ? (size_t)(slash - p) : strlen(p);
        if (n >= sizeof name) {
            close(fd);
            return dx_error_set(err, DX_EPATH, "'%s': a component is longer than 255 bytes", rel);
        }
        if (!slash)
            break;
        memcpy(name, p, n);
        name[n] = 0;
        int next = openat(fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (next < 0 && errno == ENOENT && create) {
            if (mkdirat(fd, name, 0755) != 0 && errno != EEXIST) {
                int rc = dx_error_set(err, DX_EIO, "cannot create directory '%.*s': %s",
                                      (int)(slash - rel), rel, strerror(errno));
                close(fd);
                return rc;
            }
            next = openat(fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        }
        if (next < 0) {
            int rc = walk_fail(rel, slash, fd, name, err);
            close(fd);
            return rc;
        }
        close(fd);
        fd = next;
        p = slash + 1;
    }
    *dirfd = fd;
    *leaf = p;
    return 0;
}

/* Open the leaf of rel (a regular file) for reading without following a link. */
static int open_leaf(int dirfd, const char *rel, const char *leaf, int *fd, dx_error *err)
{
    struct stat st;
    /* O_NONBLOCK: a FIFO named like a note must not hang the command. */
    *fd = openat(dirfd, leaf, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
    if (*fd < 0)
        return walk_fail(rel, leaf + strlen(leaf), dirfd, leaf, err);
    if (fstat(*fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(*fd);
        *fd = -1;
        return dx_error_set(err, DX_EPATH, "'%s' is not a regular file; diaryx leaves it alone",
                            rel);
    }
    return 0;
}

static bool same_stat(const struct stat *a, const struct stat *b)
{
    return a->st_size == b->st_size && a->st_mtim.tv_sec == b->st_mtim.tv_sec &&
           a->st_mtim.tv_nsec == b->st_mtim.tv_nsec && a->st_ino == b->st_ino;
}

/* Append the whole file behind fd (from offset 0) to out; st receives fstat after the read.
 * Repeated while the file changes under the read; when it never settles, st's mtime is
 * zeroed so that no record made from it matches the file later. */
static int read_fd(int fd, const char *rel, dx_buf *out, struct stat *st, dx_error *err)
{
    size_t base = out->len;
    struct stat before, after;
    for (int attempt = 0;; attempt++) {
        dx_buf_truncate(out, base);
        if (fstat(fd, &before) != 0)
            return dx_error_set(err, DX_EIO, "cannot stat '%s': %s", rel, strerror(errno));
        off_t off = 0;
        for (;;) {
            int rc = dx_buf_grow(out, 65536);
            if (rc)
                return dx_error_set(err, rc, "cannot read '%s': %s", rel, dx_strerror(rc));
            ssize_t n = pread(fd, out->data + out->len, out->cap - out->len - 1, off);
            if (n < 0 && errno == EINTR)
                continue;
            if (n < 0)
                return dx_error_set(err, DX_EIO, "cannot read '%s': %s", rel, strerror(errno));
            if (n == 0)
                break;
            out->len += (size_t)n;
            out->data[out->len] = 0;
            off += n;
        }
        if (fstat(fd, &after) != 0)
            return dx_error_set(err, DX_EIO, "cannot stat '%s': %s", rel, strerror(errno));
        if ((same_stat(&before, &after) && after.st_size == off) || attempt == 4) {
            if (!same_stat(&before, &after) || after.st_size != off)
                after.st_mtim.tv_sec = after.st_mtim.tv_nsec = 0;
            if (st)
                *st = after;
            return 0;
        }
    }
}

int dx_fs_read_in(const char *root, const char *rel, dx_buf *out, struct stat *st, dx_error *err)
{
    int dirfd, fd = -1;
    const char *leaf;
    int rc = walk_to_parent(root, rel, false, &dirfd, &leaf, err);
    if (!rc && !leaf[0])
        rc = dx_error_set(err, DX_EPATH, "the workspace root is not a file");
    if (!rc && !(rc = open_leaf(dirfd, rel, leaf, &fd, err)))
        rc = read_fd(fd, rel, out, st, err);
    if (fd >= 0)
        close(fd);
    if (dirfd >= 0)
        close(dirfd);
    return rc;
}

int dx_fs_stat_in(const char *root, const char *rel, struct stat *st, dx_error *err)
{
    int dirfd;
    const char *leaf;
    int rc = walk_to_parent(root, rel, false, &dirfd, &leaf, err);
    if (rc)
        return rc;
    if (fstatat(dirfd, leaf[0] ? leaf : ".", st, AT_SYMLINK_NOFOLLOW) != 0)
        rc = walk_fail(rel, leaf + strlen(leaf), dirfd, leaf, err);
    else if (S_ISLNK(st->st_mode))
        rc = dx_error_set(err, DX_EPATH,
                          "'%s' is a symbolic link and diaryx never follows links; replace it "
                          "with what it points to, or remove it",
                          rel);
    close(dirfd);
    return rc;
}

/* Open the file in the way and check it holds expect's bytes; *checked is its stat. */
static int check_expected(int dirfd, const char *leaf, const char *rel, const dx_fs_expect *expect,
                          int *fd, struct stat *checked, dx_error *err)
{
    dx_buf cur = DX_BUF_INIT;
    int rc = open_leaf(dirfd, rel, leaf, fd, err);
    if (rc == DX_ENOTFOUND)
        return dx_error_set(err, DX_ECONFLICT, "'%s' was removed by another program meanwhile",
                            rel);
    if (rc)
        return rc;
    if (!(rc = read_fd(*fd, rel, &cur, checked, err)) &&
        (cur.len != expect->len || memcmp(dx_buf_cstr(&cur), expect->bytes, cur.len) != 0 ||
         checked->st_mtim.tv_sec == 0))
        rc = dx_error_set(err, DX_ECONFLICT, "'%s' was changed by another program meanwhile", rel);
    dx_buf_release(&cur);
    if (rc) {
        close(*fd);
        *fd = -1;
    }
    return rc;
}

/* After the rename or unlink: whether the file replaced (open as fd, last seen as seen) was
 * written since; its bytes then go to expect->late. */
static void catch_late_write(int fd, const char *rel, const struct stat *seen, dx_fs_expect *expect)
{
    struct stat after;
    if (fstat(fd, &after) == 0 &&
        (after.st_size != seen->st_size || after.st_mtim.tv_sec != seen->st_mtim.tv_sec ||
         after.st_mtim.tv_nsec != seen->st_mtim.tv_nsec)) {
        expect->late_write = true;
        if (expect->late)
            read_fd(fd, rel, expect->late, NULL, NULL);
    }
}

/* The check of expect on the file in the way (dirfd/leaf), made with the new file complete
 * in tmp; then the rename. Returns DX_ECONFLICT when the file is not what expect says. */
static int replace_checked(int dirfd, const char *tmp, const char *leaf, const char *rel,
                           dx_fs_expect *expect, dx_error *err)
{
    struct stat st;
    if (fstatat(dirfd, leaf, &st, AT_SYMLINK_NOFOLLOW) == 0 && !S_ISREG(st.st_mode))
        return dx_error_set(err, S_ISLNK(st.st_mode) ? DX_EPATH : DX_ECONFLICT,
                            "'%s' is %s; diaryx does not replace it", rel,
                            S_ISLNK(st.st_mode) ? "a symbolic link" : "not a regular file");
    if (!expect || (!expect->absent && !expect->bytes)) {
        if (renameat(dirfd, tmp, dirfd, leaf) != 0)
            return dx_error_set(err, DX_EIO, "cannot write '%s': %s", rel, strerror(errno));
        return 0;
    }
    if (expect->absent) {
        /* Atomic "create, never replace": a file another program makes meanwhile wins. */
        if (renameat2(dirfd, tmp, dirfd, leaf, RENAME_NOREPLACE) == 0)
            return 0;
        if (errno == EINVAL && linkat(dirfd, tmp, dirfd, leaf, 0) == 0) {
            unlinkat(dirfd, tmp, 0); /* the file system has no RENAME_NOREPLACE */
            return 0;
        }
        return dx_error_set(err, errno == EEXIST ? DX_ECONFLICT : DX_EIO,
                            errno == EEXIST ? "'%s' was created by another program meanwhile"
                                            : "cannot write '%s'",
                            rel);
    }
    /* Keep the replaced file open: what is written into it after the last check (by a
     * program that opened it before the rename) is still readable through fd after it. */
    int fd, rc;
    struct stat checked, now;
    if ((rc = check_expected(dirfd, leaf, rel, expect, &fd, &checked, err)))
        return rc;
    /* The last look before the rename: only this window is left (see docs/architecture.md). */
    if (fstat(fd, &now) != 0 || !same_stat(&now, &checked)) {
        rc = dx_error_set(err, DX_ECONFLICT, "'%s' was changed by another program meanwhile", rel);
        goto done;
    }
    if (renameat(dirfd, tmp, dirfd, leaf) != 0) {
        rc = dx_error_set(err, DX_EIO, "cannot write '%s': %s", rel, strerror(errno));
        goto done;
    }
    catch_late_write(fd, rel, &now, expect);
done:
    close(fd);
    return rc;
}

int dx_fs_write_in(const char *root, const char *rel, const void *data, size_t len, int mode,
                   dx_fs_expect *expect, struct stat *st, dx_error *err)
{
    int dirfd, fd = -1;
    const char *leaf;
    char tmp[300];
    bool made = false;
    int rc = walk_to_parent(root, rel, true, &dirfd, &leaf, err);
    if (rc)
        return rc;
    if (!leaf[0]) {
        rc = dx_error_set(err, DX_EPATH, "the workspace root is not a file");
        goto done;
    }
    /* Same naming as dx_file_write_atomic: the workspace walk removes stale ones. */
    snprintf(tmp, sizeof tmp, ".%s.tmp%ld", leaf, (long)getpid());
    fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, mode);
    if (fd < 0) {
        rc = dx_error_set(err, DX_EIO, "cannot write '%s': %s", rel, strerror(errno));
        goto done;
    }
    made = true;
    if (write_all(fd, data, len) != 0 || (!(expect && expect->no_fsync) && fsync(fd) != 0) ||
        (st && fstat(fd, st) != 0)) {
        rc = dx_error_set(err, DX_EIO, "cannot write '%s': %s", rel, strerror(errno));
        goto done;
    }
    if (close(fd) != 0) {
        fd = -1;
        rc = dx_error_set(err, DX_EIO, "cannot write '%s': %s", rel, strerror(errno));
        goto done;
    }
    fd = -1;
    if ((rc = replace_checked(dirfd, tmp, leaf, rel, expect, err)) == 0)
        made = false;
done:
    if (fd >= 0)
        close(fd);
    if (made)
        unlinkat(dirfd, tmp, 0);
    close(dirfd);
    return rc;
}

int dx_fs_unlink_in(const char *root, const char *rel, dx_fs_expect *expect, dx_error *err)
{
    int dirfd, fd = -1;
    const char *leaf;
    struct stat checked, now = {0};
    int rc = walk_to_parent(root, rel, false, &dirfd, &leaf, err);
    if (rc)
        return rc;
    if (!leaf[0]) {
        rc = dx_error_set(err, DX_EPATH, "cannot delete the workspace root");
        goto done;
    }
    if (expect && expect->bytes) {
        if ((rc = check_expected(dirfd, leaf, rel, expect, &fd, &checked, err)))
            goto done;
        if (fstat(fd, &now) != 0 || !same_stat(&now, &checked)) {
            rc = dx_error_set(err, DX_ECONFLICT, "'%s' was changed by another program meanwhile",
                              rel);
            goto done;
        }
    }
    if (unlinkat(dirfd, leaf, 0) != 0) {
        rc = dx_error_set(err, errno == ENOENT ? DX_ENOTFOUND : DX_EIO, "cannot delete '%s': %s",
                          rel, strerror(errno));
        goto done;
    }
    if (fd >= 0)
        catch_late_write(fd, rel, &now, expect);
done:
    if (fd >= 0)
        close(fd);
    close(dirfd);
    return rc;
}

int dx_fs_rmdir_in(const char *root, const char *rel, dx_error *err)
{
    int dirfd;
    const char *leaf;
    int rc = walk_to_parent(root, rel, false, &dirfd, &leaf, err);
    if (rc)
        return rc;
    if (!leaf[0] || unlinkat(dirfd, leaf, AT_REMOVEDIR) != 0)
        rc = errno == ENOTEMPTY || errno == EEXIST || !leaf[0]
                 ? DX_ECONFLICT
                 : dx_error_set(err, DX_EIO, "cannot remove directory '%s': %s", rel,
                                strerror(errno));
    close(dirfd);
    return rc;
}

int dx_fs_mkdirs_in(const char *root, const char *rel, dx_error *err)
{
    int dirfd, fd;
    const char *leaf;
    int rc = walk_to_parent(root, rel, true, &dirfd, &leaf, err);
    if (rc || !leaf[0])
        goto done;
    if (mkdirat(dirfd, leaf, 0755) != 0 && errno != EEXIST) {
        rc = dx_error_set(err, DX_EIO, "cannot create directory '%s': %s", rel, strerror(errno));
        goto done;
    }
    if ((fd = openat(dirfd, leaf, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) < 0)
        rc = walk_fail(rel, leaf + strlen(leaf), dirfd, leaf, err);
    else
        close(fd);
done:
    if (dirfd >= 0)
        close(dirfd);
    return rc;
}

int dx_fs_open_dir_in(const char *root, const char *rel, dx_error *err)
{
    int dirfd, fd;
    const char *leaf;
    int rc = walk_to_parent(root, rel, false, &dirfd, &leaf, err);
    if (rc)
        return rc;
    if (!leaf[0])
        return dirfd;
    fd = openat(dirfd, leaf, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        fd = walk_fail(rel, leaf + strlen(leaf), dirfd, leaf, err);
    close(dirfd);
    return fd;
}

DIR *dx_fs_opendir_in(const char *root, const char *rel)
{
    int dirfd, fd;
    const char *leaf;
    if (walk_to_parent(root, rel, false, &dirfd, &leaf, NULL) != 0)
        return NULL;
    if (!leaf[0])
        return fdopendir(dirfd);
    fd = openat(dirfd, leaf, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    int e = errno;
    close(dirfd);
    errno = e;
    DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
    if (fd >= 0 && !d)
        close(fd);
    return d;
}

/* ---- batches ------------------------------------------------------------------------ */

static void batch_dir_forget(dx_file_batch *b)
{
    if (b->cdir)
        close(b->cfd);
    free(b->cdir);
    b->cdir = NULL;
    b->cfd = -1;
}

/* The directory of rel (relative to b->root), reached without following a link, and rel's
 * last component in *leaf. The last directory reached stays open (files come grouped by
 * directory). A negative DX_E* code when it cannot be reached. */
static int batch_dir(dx_file_batch *b, const char *rel, const char **leaf, dx_error *err)
{
    const char *slash = strrchr(rel, '/');
    size_t dirlen = slash ? (size_t)(slash - rel) : 0;
    if (b->cdir && strlen(b->cdir) == dirlen && !memcmp(b->cdir, rel, dirlen)) {
        *leaf = slash ? slash + 1 : rel;
        return b->cfd;
    }
    int fd, rc = walk_to_parent(b->root, rel, false, &fd, leaf, err);
    if (rc)
        return rc;
    char *dir = strndup(rel, dirlen);
    if (!dir) {
        close(fd);
        return dx_error_set(err, DX_ENOMEM, "out of memory");
    }
    batch_dir_forget(b);
    b->cdir = dir;
    b->cfd = fd;
    return fd;
}

int dx_file_batch_write(dx_file_batch *b, const char *root, const char *path, const void *data,
                        size_t len, int mode, const dx_fs_expect *expect, struct stat *st,
                        dx_error *err)
{
    if (!b->root && !(b->root = strdup(root)))
        return dx_error_set(err, DX_ENOMEM, "cannot write '%s': out of memory", path);
    if (strcmp(b->root, root))
        return dx_error_set(err, DX_EINVAL, "cannot write '%s': not under '%s'", path, b->root);
    size_t plen = strlen(path), at = (size_t)(uintptr_t)dx_strmap_get(&b->at, path);
    at = at ? at - 1 : b->n;
    if (at == b->n && (dx_strmap_put(&b->at, path, (void *)(uintptr_t)(b->n + 1)) != 0))
        return dx_error_set(err, DX_ENOMEM, "cannot write '%s': out of memory", path);
    if (at == b->n && b->n == b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 16;
        char **t = realloc(b->tmp, cap * sizeof *t),
             **p = t ? realloc(b->path, cap * sizeof *p) : NULL;
        dx_fs_expect *x = p ? realloc(b->exp, cap * sizeof *x) : NULL;
        if (t)
            b->tmp = t;
        if (p)
            b->path = p;
        if (!t || !p || !x)
            return dx_error_set(err, DX_ENOMEM, "cannot write '%s': out of memory", path);
        b->exp = x;
        b->cap = cap;
    }
    char *tmp = at < b->n ? b->tmp[at] : malloc(plen + 32);
    char *copy = at < b->n ? b->path[at] : strdup(path);
    if (!tmp || !copy) {
        if (at == b->n) {
            free(tmp);
            free(copy);
            dx_strmap_remove(&b->at, path);
        }
        return dx_error_set(err, DX_ENOMEM, "cannot write '%s': out of memory", path);
    }
    /* The name dx_file_write_atomic uses, which the workspace walk recognizes as a leftover
     * when its process is gone. */
    const char *slash = strrchr(path, '/');
    size_t dirlen = slash ? (size_t)(slash - path) + 1 : 0;
    snprintf(tmp, plen + 32, "%.*s.%s.tmp%ld", (int)dirlen, path, path + dirlen, (long)getpid());
    const char *tleaf;
    dx_error e = DX_ERROR_INIT;
    int rc = 0, dirfd = batch_dir(b, tmp, &tleaf, &e), fd = -1;
    if (dirfd < 0) {
        rc = dx_error_set(err, dirfd, "cannot write '%s': %s", path, e.msg);
    } else {
        fd = openat(dirfd, tleaf, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, mode);
        if (fd < 0 || write_all(fd, data, len) != 0 || (st && fstat(fd, st) != 0)) {
            rc = dx_error_set(err, DX_EIO, "cannot write '%s': %s", path, strerror(errno));
            unlinkat(dirfd, tleaf, 0);
        }
        if (fd >= 0 && close(fd) != 0 && !rc) {
            rc = dx_error_set(err, DX_EIO, "cannot write '%s': %s", path, strerror(errno));
            unlinkat(dirfd, tleaf, 0);
        }
    }
    if (rc && at < b->n) {
        b->tmp[at][0] = 0; /* the earlier bytes of this path went with the temporary file */
    } else if (rc) {
        dx_strmap_remove(&b->at, path);
        free(tmp);
        free(copy);
    } else if (at == b->n) {
        b->tmp[b->n] = tmp;
        b->path[b->n] = copy;
        memset(&b->exp[b->n++], 0, sizeof *b->exp);
    }
    if (!rc) {
        dx_fs_expect *x = &b->exp[at];
        free((char *)x->bytes);
        memset(x, 0, sizeof *x);
        if (expect) {
            x->absent = expect->absent;
            x->len = expect->len;
            if (expect->bytes && !(x->bytes = malloc(expect->len ? expect->len : 1)))
                return dx_error_set(err, DX_ENOMEM, "cannot write '%s': out of memory", path);
            if (expect->bytes)
                memcpy((char *)x->bytes, expect->bytes, expect->len);
        }
    }
    return rc;
}

/* Make the temporary files durable: one flush of the file system when there are several. */
static int batch_flush(dx_file_batch *b)
{
    size_t first = 0;
    while (first < b->n && !b->tmp[first][0])
        first++;
    if (b->n - first > 2) {
        /* syncfs flushes the file system of the file it is given: the batch is of one
         * workspace. */
        int fd = open(b->root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        int rc = fd < 0 ? -1 : syncfs(fd);
        if (fd >= 0)
            close(fd);
        if (rc == 0)
            return 0;
    }
    for (size_t i = 0; i < b->n; i++) {
        if (!b->tmp[i][0])
            continue;
        const char *leaf;
        int dirfd = batch_dir(b, b->tmp[i], &leaf, NULL);
        int fd = dirfd < 0 ? -1 : openat(dirfd, leaf, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
        int rc = fd < 0 ? -1 : fsync(fd);
        if (fd >= 0)
            close(fd);
        if (rc != 0)
            return (int)i + 1;
    }
    return 0;
}

/* Rename file i of the batch into place after checking its expectation on the file in the
 * way (replace_checked, in the file's directory, reached again without a link). */
static int batch_replace(dx_file_batch *b, size_t i, dx_buf *late, dx_error *err)
{
    dx_fs_expect *x = &b->exp[i];
    const char *leaf, *tleaf;
    dx_error e = DX_ERROR_INIT;
    int dirfd = batch_dir(b, b->path[i], &leaf, &e);
    if (dirfd < 0)
        return dx_error_set(err, dirfd, "cannot write '%s': %s", b->path[i], e.msg);
    tleaf = strrchr(b->tmp[i], '/');
    tleaf = tleaf ? tleaf + 1 : b->tmp[i];
    if (!x->absent && !x->bytes)
        return renameat(dirfd, tleaf, dirfd, leaf) == 0
                   ? 0
                   : dx_error_set(err, DX_EIO, "cannot write '%s': %s", b->path[i],
                                  strerror(errno));
    x->late = late;
    x->late_write = false;
    return replace_checked(dirfd, tleaf, leaf, b->path[i], x, err);
}

int dx_file_batch_commit(dx_file_batch *b, dx_file_batch_done done, void *ud, dx_error *err)
{
    batch_dir_forget(b); /* every directory is reached again from the root */
    int rc = 0, bad = b->n ? batch_flush(b) : 0;
    dx_buf late = DX_BUF_INIT;
    if (bad)
        rc = dx_error_set(err, DX_EIO, "cannot write '%s': %s", b->path[bad - 1], strerror(errno));
    for (size_t i = 0; !rc && i < b->n; i++) {
        if (!b->tmp[i][0])
            continue; /* its write failed (and was reported) */
        dx_buf_reset(&late);
        dx_error e = DX_ERROR_INIT;
        int r = batch_replace(b, i, &late, &e);
        if (r == 0)
            b->tmp[i][0] = 0; /* renamed: nothing to remove */
        if (r == 0 || r == DX_ECONFLICT || r == DX_EPATH) {
            if (done)
                done(ud, i, r, b->exp[i].late_write ? &late : NULL);
        } else {
            rc = dx_error_set(err, r, "%s", e.msg);
        }
    }
    dx_buf_release(&late);
    dx_file_batch_release(b);
    return rc;
}

void dx_file_batch_release(dx_file_batch *b)
{
    if (!b)
        return;
    for (size_t i = 0; i < b->n; i++) {
        const char *leaf;
        int dirfd = b->tmp[i][0] ? batch_dir(b, b->tmp[i], &leaf, NULL) : -1;
        if (dirfd >= 0)
            unlinkat(dirfd, leaf, 0);
        free(b->tmp[i]);
        free(b->path[i]);
        free((char *)b->exp[i].bytes);
    }
    batch_dir_forget(b);
    free(b->tmp);
    free(b->path);
    free(b->exp);
    free(b->root);
    dx_strmap_release(&b->at);
    *b = (dx_file_batch)DX_FILE_BATCH_INIT;
}
