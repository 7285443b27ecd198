/* fs.c - whole-file reads, atomic writes (temp + fsync + rename), mkdir -p. */
#define _GNU_SOURCE /* syncfs */
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

/* ---- batches ------------------------------------------------------------------------ */

int dx_file_batch_write(dx_file_batch *b, const char *path, const void *data, size_t len, int mode,
                        dx_error *err)
{
    size_t plen = strlen(path), at = (size_t)(uintptr_t)dx_strmap_get(&b->at, path);
    at = at ? at - 1 : b->n;
    if (at == b->n && (dx_strmap_put(&b->at, path, (void *)(uintptr_t)(b->n + 1)) != 0))
        return dx_error_set(err, DX_ENOMEM, "cannot write '%s': out of memory", path);
    if (at == b->n && b->n == b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 16;
        char **t = realloc(b->tmp, cap * sizeof *t),
             **p = t ? realloc(b->path, cap * sizeof *p) : NULL;
        if (t)
            b->tmp = t;
        if (!t || !p)
            return dx_error_set(err, DX_ENOMEM, "cannot write '%s': out of memory", path);
        b->path = p;
        b->cap = cap;
    }
    char *tmp = at < b->n ? b->tmp[at] : malloc(plen + 32);
    char *copy = at < b->n ? b->path[at] : strdup(path);
    if (!tmp || !copy) {
        free(tmp);
        free(copy);
        return dx_error_set(err, DX_ENOMEM, "cannot write '%s': out of memory", path);
    }
    /* The name dx_file_write_atomic uses, which the workspace walk recognizes as a leftover
     * when its process is gone. */
    const char *slash = strrchr(path, '/');
    size_t dirlen = slash ? (size_t)(slash - path) + 1 : 0;
    snprintf(tmp, plen + 32, "%.*s.%s.tmp%ld", (int)dirlen, path, path + dirlen, (long)getpid());
    int rc = 0, fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
    if (fd < 0 || write_all(fd, data, len) != 0) {
        rc = dx_error_set(err, DX_EIO, "cannot write '%s': %s", path, strerror(errno));
        unlink(tmp);
    }
    if (fd >= 0 && close(fd) != 0 && !rc) {
        rc = dx_error_set(err, DX_EIO, "cannot write '%s': %s", path, strerror(errno));
        unlink(tmp);
    }
    if (rc && at < b->n) {
        b->tmp[at][0] = 0; /* the earlier bytes of this path went with the temporary file */
    } else if (rc) {
        dx_strmap_remove(&b->at, path);
        free(tmp);
        free(copy);
    } else if (at == b->n) {
        b->tmp[b->n] = tmp;
        b->path[b->n++] = copy;
    }
    return rc;
}

/* Make the temporary files durable: one flush of the file system when there are several. */
static int batch_flush(const dx_file_batch *b)
{
    size_t first = 0;
    while (first < b->n && !b->tmp[first][0])
        first++;
    if (b->n - first > 2) {
        /* syncfs flushes the file system of the file it is given: the batch is of one
         * workspace. */
        int fd = open(b->tmp[first], O_RDONLY | O_CLOEXEC);
        int rc = fd < 0 ? -1 : syncfs(fd);
        if (fd >= 0)
            close(fd);
        if (rc == 0)
            return 0;
    }
    for (size_t i = 0; i < b->n; i++) {
        if (!b->tmp[i][0])
            continue;
        int fd = open(b->tmp[i], O_RDONLY | O_CLOEXEC);
        int rc = fd < 0 ? -1 : fsync(fd);
        if (fd >= 0)
            close(fd);
        if (rc != 0)
            return (int)i + 1;
    }
    return 0;
}

int dx_file_batch_commit(dx_file_batch *b, dx_error *err)
{
    int rc = 0, bad = b->n ? batch_flush(b) : 0;
    if (bad)
        rc = dx_error_set(err, DX_EIO, "cannot write '%s': %s", b->path[bad - 1], strerror(errno));
    for (size_t i = 0; !rc && i < b->n; i++) {
        if (!b->tmp[i][0])
            continue; /* its write failed (and was reported) */
        if (rename(b->tmp[i], b->path[i]) != 0)
            rc = dx_error_set(err, DX_EIO, "cannot write '%s': %s", b->path[i], strerror(errno));
        else
            b->tmp[i][0] = 0; /* renamed: nothing to remove */
    }
    dx_file_batch_release(b);
    return rc;
}

void dx_file_batch_release(dx_file_batch *b)
{
    if (!b)
        return;
    for (size_t i = 0; i < b->n; i++) {
        if (b->tmp[i][0])
            unlink(b->tmp[i]);
        free(b->tmp[i]);
        free(b->path[i]);
    }
    free(b->tmp);
    free(b->path);
    dx_strmap_release(&b->at);
    memset(b, 0, sizeof *b);
}
