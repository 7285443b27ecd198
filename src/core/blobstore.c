/* blobstore.c - the blob store interface (blobstore.h) and its local-directory backend. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "blobstore_int.h"
#include "diaryx/buf.h"
#include "diaryx/fs.h"

#define CHUNK (64 * 1024)

bool dx_blob_name_valid(const char *h)
{
    if (!h)
        return false;
    size_t i = 0;
    for (; h[i]; i++)
        if (i >= 64 || !((h[i] >= '0' && h[i] <= '9') || (h[i] >= 'a' && h[i] <= 'f')))
            return false;
    return i == 64;
}

static int check_name(const char *hash, dx_error *err)
{
    if (dx_blob_name_valid(hash))
        return 0;
    return dx_error_set(err, DX_EINVAL, "'%s' is not a blob name: want 64 lowercase hex digits",
                        hash ? hash : "(null)");
}

int blob_mismatch(dx_error *err, const char *what, const char *got, const char *want)
{
    return dx_error_set(err, DX_EINVAL,
                        "%s has SHA-256 %s, not %s: the bytes do not match their name", what, got,
                        want);
}

int blob_src_read(const blob_src *src, uint64_t off, void *buf, size_t n, const char *what,
                  dx_error *err)
{
    if (src->fd < 0) {
        memcpy(buf, src->mem + off, n);
        return 0;
    }
    size_t done = 0;
    while (done < n) {
        ssize_t r = pread(src->fd, (char *)buf + done, n - done, (off_t)(off + done));
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return dx_error_set(err, DX_EIO, "cannot read %s: %s", what,
                                r < 0 ? strerror(errno) : "it became shorter while read");
        done += (size_t)r;
    }
    return 0;
}

int blob_src_hash(const blob_src *src, uint64_t off, uint64_t len, char hex[DX_SHA256_HEX],
                  const char *what, dx_error *err)
{
    dx_hash h = DX_HASH_INIT;
    unsigned char sum[DX_SHA256_LEN];
    char *buf = src->fd >= 0 ? malloc(CHUNK) : NULL;
    int rc = src->fd >= 0 && !buf ? dx_error_set(err, DX_ENOMEM, "out of memory") : 0;
    if (!rc && (rc = dx_hash_begin(&h, DX_HASH_SHA256)))
        dx_error_set(err, rc, "cannot hash %s", what);
    for (uint64_t o = 0; !rc && o < len;) {
        size_t n = len - o > CHUNK ? CHUNK : (size_t)(len - o);
        if (src->fd < 0) {
            rc = dx_hash_update(&h, src->mem + off + o, n);
        } else if (!(rc = blob_src_read(src, off + o, buf, n, what, err))) {
            rc = dx_hash_update(&h, buf, n);
        }
        o += n;
    }
    if (!rc && !(rc = dx_hash_final(&h, sum)))
        dx_hash_hex(sum, sizeof sum, hex);
    if (rc && !(err && err->code))
        dx_error_set(err, rc, "cannot hash %s", what);
    dx_hash_release(&h);
    free(buf);
    return rc;
}

/* path opened for reading as a regular file, its size in *size. */
static int open_regular(const char *path, int *fd, uint64_t *size, dx_error *err)
{
    struct stat st;
    *fd = open(path, O_RDONLY | O_CLOEXEC);
    if (*fd >= 0 && fstat(*fd, &st) == 0 && S_ISREG(st.st_mode)) {
        *size = (uint64_t)st.st_size;
        return 0;
    }
    int rc = dx_error_set(err, *fd < 0 && errno == ENOENT ? DX_ENOTFOUND : DX_EIO,
                          "cannot read '%s': %s", path,
                          *fd >= 0 ? "not a regular file" : strerror(errno));
    if (*fd >= 0)
        close(*fd);
    *fd = -1;
    return rc;
}

int dx_blob_hash_file(const char *path, char hash[DX_SHA256_HEX], uint64_t *size, dx_error *err)
{
    blob_src src = {-1, NULL, 0};
    int rc = open_regular(path, &src.fd, &src.size, err);
    if (rc)
        return rc;
    rc = blob_src_hash(&src, 0, src.size, hash, path, err);
    if (size)
        *size = src.size;
    close(src.fd);
    return rc;
}

int dx_blob_put_file(dx_blobstore *bs, const char *hash, const char *path, dx_error *err)
{
    blob_src src = {-1, NULL, 0};
    int rc = check_name(hash, err);
    if (rc || (rc = open_regular(path, &src.fd, &src.size, err)))
        return rc;
    rc = bs->ops->put(bs, hash, &src, err);
    close(src.fd);
    return rc;
}

int dx_blob_put_fd(dx_blobstore *bs, const char *hash, int fd, dx_error *err)
{
    struct stat st;
    int rc = check_name(hash, err);
    if (!rc && (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)))
        rc =
            dx_error_set(err, DX_EIO, "cannot read the bytes of blob %s: not a regular file", hash);
    blob_src src = {fd, NULL, rc ? 0 : (uint64_t)st.st_size};
    return rc ? rc : bs->ops->put(bs, hash, &src, err);
}

int dx_blob_put(dx_blobstore *bs, const char *hash, const void *data, size_t len, dx_error *err)
{
    int rc = check_name(hash, err);
    blob_src src = {-1, data, len};
    return rc ? rc : bs->ops->put(bs, hash, &src, err);
}

int dx_blob_head(dx_blobstore *bs, const char *hash, uint64_t *size, dx_error *err)
{
    int rc = check_name(hash, err);
    uint64_t sz = 0;
    if (!rc)
        rc = bs->ops->head(bs, hash, &sz, err);
    if (!rc && size)
        *size = sz;
    return rc;
}

int dx_blob_get(dx_blobstore *bs, const char *hash, uint64_t offset, uint64_t len,
                dx_blob_sink sink, void *ud, dx_error *err)
{
    int rc = check_name(hash, err);
    return rc ? rc : bs->ops->get(bs, hash, offset, len, sink, ud, err);
}

int dx_blob_delete(dx_blobstore *bs, const char *hash, dx_error *err)
{
    int rc = check_name(hash, err);
    return rc ? rc : bs->ops->del(bs, hash, err);
}

int dx_blob_list(dx_blobstore *bs, dx_strlist *out, dx_error *err)
{
    dx_strlist got = DX_STRLIST_INIT;
    int rc = bs->ops->list(bs, &got, err);
    dx_strlist_sort(&got);
    for (size_t i = 0; !rc && i < got.len; i++)
        if (dx_strlist_push(out, got.items[i]))
            rc = dx_error_set(err, DX_ENOMEM, "out of memory listing blobs");
    dx_strlist_release(&got);
    return rc;
}

int dx_blob_missing(dx_blobstore *bs, const dx_strlist *hashes, dx_strlist *missing, dx_error *err)
{
    int rc = 0;
    for (size_t i = 0; !rc && i < hashes->len; i++) {
        if ((rc = check_name(hashes->items[i], err)))
            break;
        uint64_t size;
        rc = bs->ops->head(bs, hashes->items[i], &size, err);
        if (rc == DX_ENOTFOUND) {
            dx_error_clear(err);
            rc = dx_strlist_push(missing, hashes->items[i])
                     ? dx_error_set(err, DX_ENOMEM, "out of memory")
                     : 0;
        }
    }
    return rc;
}

void dx_blobstore_free(dx_blobstore *bs)
{
    if (bs)
        bs->ops->free(bs);
}

const char *dx_blob_media_type(const char *name)
{
    static const char *const types[][2] = {
        {"png", "image/png"},         {"jpg", "image/jpeg"},      {"jpeg", "image/jpeg"},
        {"gif", "image/gif"},         {"webp", "image/webp"},     {"svg", "image/svg+xml"},
        {"avif", "image/avif"},       {"heic", "image/heic"},     {"pdf", "application/pdf"},
        {"txt", "text/plain"},        {"md", "text/markdown"},    {"csv", "text/csv"},
        {"json", "application/json"}, {"zip", "application/zip"}, {"mp3", "audio/mpeg"},
        {"m4a", "audio/mp4"},         {"wav", "audio/wav"},       {"ogg", "audio/ogg"},
        {"mp4", "video/mp4"},         {"webm", "video/webm"},     {"mov", "video/quicktime"},
        {"html", "text/html"},
    };
    const char *slash = strrchr(name, '/'), *dot = strrchr(name, '.');
    if (dot && (!slash || dot > slash))
        for (size_t i = 0; i < sizeof types / sizeof *types; i++)
            if (!strcasecmp(dot + 1, types[i][0]))
                return types[i][1];
    return "application/octet-stream";
}

/* ---- the local directory ---------------------------------------------------------------- */

typedef struct dir_store {
    dx_blobstore base;
    char *root; /* DIR/blobs */
} dir_store;

/* DIR/blobs/ab/cdef... (dir_only: DIR/blobs/ab) */
static int blob_path(const dir_store *s, const char *hash, bool dir_only, dx_buf *out)
{
    dx_buf_printf(out, "%s/%.2s", s->root, hash);
    if (!dir_only)
        dx_buf_printf(out, "/%s", hash + 2);
    return dx_buf_error(out);
}

static int fsync_dir(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    int rc = fd < 0 || fsync(fd) != 0 ? -1 : 0;
    if (fd >= 0)
        close(fd);
    return rc;
}

/* src into path atomically: a temporary file in dir (path's directory), hashed while written,
 * fsync'ed and renamed into place, the directory fsync'ed. want (may be NULL): the bytes must
 * hash to it, else nothing is stored. hex (may be NULL) receives their SHA-256. */
static int write_hashed(const blob_src *src, const char *dir, const char *path, const char *want,
                        char *hex, dx_error *err)
{
    dx_buf tmp = DX_BUF_INIT;
    dx_hash h = DX_HASH_INIT;
    unsigned char sum[DX_SHA256_LEN];
    char got[DX_SHA256_HEX], *buf = malloc(CHUNK);
    int fd = -1, rc = 0;
    if (!buf || dx_buf_printf(&tmp, "%s/.tmp-XXXXXX", dir)) {
        rc = dx_error_set(err, DX_ENOMEM, "out of memory writing '%s'", path);
        goto done;
    }
    if ((fd = mkstemp(tmp.data)) < 0) {
        rc = dx_error_set(err, DX_EIO, "cannot create a file in '%s': %s", dir, strerror(errno));
        goto done;
    }
    if ((rc = dx_hash_begin(&h, DX_HASH_SHA256)))
        goto io;
    for (uint64_t o = 0; o < src->size;) {
        size_t n = src->size - o > CHUNK ? CHUNK : (size_t)(src->size - o);
        if ((rc = blob_src_read(src, o, buf, n, path, err)))
            goto done;
        if ((rc = dx_hash_update(&h, buf, n)))
            goto io;
        for (size_t w = 0; w < n;) {
            ssize_t r = write(fd, buf + w, n - w);
            if (r < 0 && errno == EINTR)
                continue;
            if (r < 0) {
                rc = DX_EIO;
                goto io;
            }
            w += (size_t)r;
        }
        o += n;
    }
    if ((rc = dx_hash_final(&h, sum)))
        goto io;
    dx_hash_hex(sum, sizeof sum, got);
    if (want && strcmp(got, want) != 0) {
        rc = blob_mismatch(err, "the upload", got, want);
        goto done;
    }
    if (fsync(fd) != 0 || close(fd) != 0) {
        fd = -1;
        rc = DX_EIO;
        goto io;
    }
    fd = -1;
    if (rename(tmp.data, path) != 0 || fsync_dir(dir) != 0) {
        rc = DX_EIO;
        goto io;
    }
    if (hex)
        memcpy(hex, got, DX_SHA256_HEX);
    goto done;
io:
    rc = dx_error_set(err, rc == DX_ENOMEM ? DX_ENOMEM : DX_EIO, "cannot write '%s': %s", path,
                      rc == DX_ENOMEM ? "out of memory" : strerror(errno));
done:
    if (fd >= 0)
        close(fd);
    if (rc && tmp.data && !strstr(tmp.data, "XXXXXX"))
        unlink(tmp.data);
    dx_hash_release(&h);
    dx_buf_release(&tmp);
    free(buf);
    return rc;
}

static int dir_put(dx_blobstore *bs, const char *hash, const blob_src *src, dx_error *err)
{
    dir_store *s = (dir_store *)bs;
    dx_buf dir = DX_BUF_INIT, path = DX_BUF_INIT;
    struct stat st;
    int rc = 0;
    if (blob_path(s, hash, true, &dir) || blob_path(s, hash, false, &path))
        rc = dx_error_set(err, DX_ENOMEM, "out of memory storing blob %s", hash);
    else if (stat(path.data, &st) == 0 && (uint64_t)st.st_size == src->size)
        rc = 0; /* stored once per hash */
    else if (!(rc = dx_mkdirs(dir.data, err)))
        rc = write_hashed(src, dir.data, path.data, hash, NULL, err);
    dx_buf_release(&dir);
    dx_buf_release(&path);
    return rc;
}

int dx_blob_copy_file(const char *from, const char *to, char hash[DX_SHA256_HEX], uint64_t *size,
                      dx_error *err)
{
    blob_src src = {-1, NULL, 0};
    dx_buf dir = DX_BUF_INIT;
    const char *slash = strrchr(to, '/');
    int rc = open_regular(from, &src.fd, &src.size, err);
    if (!rc && dx_buf_printf(&dir, "%.*s", slash ? (int)(slash - to) : 1, slash ? to : "."))
        rc = dx_error_set(err, DX_ENOMEM, "out of memory");
    if (!rc)
        rc = write_hashed(&src, dir.len ? dir.data : "/", to, NULL, hash, err);
    if (!rc && size)
        *size = src.size;
    if (src.fd >= 0)
        close(src.fd);
    dx_buf_release(&dir);
    return rc;
}

static int dir_open(dir_store *s, const char *hash, int *fd, uint64_t *size, dx_error *err)
{
    dx_buf path = DX_BUF_INIT;
    struct stat st;
    int rc = 0;
    if (blob_path(s, hash, false, &path))
        return dx_error_set(err, DX_ENOMEM, "out of memory");
    *fd = open(path.data, O_RDONLY | O_CLOEXEC);
    if (*fd < 0 || fstat(*fd, &st) != 0)
        rc = dx_error_set(err, errno == ENOENT ? DX_ENOTFOUND : DX_EIO, "no blob %s%s%s", hash,
                          errno == ENOENT ? "" : ": ", errno == ENOENT ? "" : strerror(errno));
    else
        *size = (uint64_t)st.st_size;
    if (rc && *fd >= 0) {
        close(*fd);
        *fd = -1;
    }
    dx_buf_release(&path);
    return rc;
}

static int dir_head(dx_blobstore *bs, const char *hash, uint64_t *size, dx_error *err)
{
    int fd;
    int rc = dir_open((dir_store *)bs, hash, &fd, size, err);
    if (!rc)
        close(fd);
    return rc;
}

static int dir_get(dx_blobstore *bs, const char *hash, uint64_t off, uint64_t len,
                   dx_blob_sink sink, void *ud, dx_error *err)
{
    int fd;
    uint64_t size;
    int rc = dir_open((dir_store *)bs, hash, &fd, &size, err);
    if (rc)
        return rc;
    char *buf = malloc(CHUNK);
    if (!buf)
        rc = dx_error_set(err, DX_ENOMEM, "out of memory");
    else if (off > size || (off == size && size))
        rc = dx_error_set(err, DX_EINVAL, "blob %s has %llu bytes: no byte at %llu", hash,
                          (unsigned long long)size, (unsigned long long)off);
    uint64_t end = len == UINT64_MAX || len > size - off ? size : off + len;
    blob_src src = {fd, NULL, size};
    for (uint64_t o = off; !rc && o < end;) {
        size_t n = end - o > CHUNK ? CHUNK : (size_t)(end - o);
        if (!(rc = blob_src_read(&src, o, buf, n, hash, err)))
            rc = sink(ud, buf, n);
        o += n;
    }
    free(buf);
    close(fd);
    return rc;
}

static int dir_del(dx_blobstore *bs, const char *hash, dx_error *err)
{
    dx_buf path = DX_BUF_INIT;
    int rc = blob_path((dir_store *)bs, hash, false, &path)
                 ? dx_error_set(err, DX_ENOMEM, "out of memory")
                 : 0;
    if (!rc && unlink(path.data) != 0)
        rc = dx_error_set(err, errno == ENOENT ? DX_ENOTFOUND : DX_EIO, "cannot delete blob %s: %s",
                          hash, strerror(errno));
    dx_buf_release(&path);
    return rc;
}

static int hex_str(const char *s, size_t n)
{
    size_t i = 0;
    for (; s[i]; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
            return 0;
    return i == n;
}

static int dir_list(dx_blobstore *bs, dx_strlist *out, dx_error *err)
{
    dir_store *s = (dir_store *)bs;
    DIR *top = opendir(s->root);
    int rc = 0;
    if (!top)
        return errno == ENOENT
                   ? 0
                   : dx_error_set(err, DX_EIO, "cannot list '%s': %s", s->root, strerror(errno));
    dx_buf sub = DX_BUF_INIT;
    for (struct dirent *d; !rc && (d = readdir(top));) {
        if (!hex_str(d->d_name, 2))
            continue;
        dx_buf_reset(&sub);
        if (dx_buf_printf(&sub, "%s/%s", s->root, d->d_name)) {
            rc = dx_error_set(err, DX_ENOMEM, "out of memory");
            break;
        }
        DIR *in = opendir(sub.data);
        if (!in) {
            rc = dx_error_set(err, DX_EIO, "cannot list '%s': %s", sub.data, strerror(errno));
            break;
        }
        for (struct dirent *e; !rc && (e = readdir(in));)
            if (hex_str(e->d_name, 62) && dx_strlist_pushf(out, "%s%s", d->d_name, e->d_name))
                rc = dx_error_set(err, DX_ENOMEM, "out of memory");
        closedir(in);
    }
    closedir(top);
    dx_buf_release(&sub);
    return rc;
}

static void dir_free(dx_blobstore *bs)
{
    dir_store *s = (dir_store *)bs;
    free(s->root);
    free(s);
}

static const blob_ops DIR_OPS = {dir_put, dir_head, dir_get, dir_del, dir_list, dir_free};

int dx_blobstore_open_dir(const char *dir, dx_blobstore **out, dx_error *err)
{
    dx_buf root = DX_BUF_INIT;
    dir_store *s = calloc(1, sizeof *s);
    *out = NULL;
    if (!s || dx_buf_printf(&root, "%s/blobs", dir)) {
        free(s);
        dx_buf_release(&root);
        return dx_error_set(err, DX_ENOMEM, "out of memory");
    }
    int rc = dx_mkdirs(root.data, err);
    if (rc) {
        free(s);
        dx_buf_release(&root);
        return rc;
    }
    s->base.ops = &DIR_OPS;
    s->root = dx_buf_detach(&root, NULL);
    *out = &s->base;
    return 0;
}
