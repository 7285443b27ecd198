/* fs.c - whole-file reads, atomic writes (temp + fsync + rename), mkdir -p. */
#include "diaryx/fs.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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
