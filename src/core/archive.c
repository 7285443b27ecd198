/* archive.c - a workspace with its git history as a ZIP archive or a directory, and the
 * import of an archive or a folder into a directory. */
#include "diaryx/archive.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "diaryx/buf.h"
#include "diaryx/fileset.h"
#include "diaryx/fs.h"
#include "diaryx/hash.h"
#include "diaryx/links.h"
#include "diaryx/wsdoc.h"
#include "diaryx/paths.h"
#include "diaryx/strmap.h"

#define CHUNK 65536

/* What a repository's config says in an archive, and after an import: nothing that runs a
 * program or points elsewhere. */
static const char SAFE_CONFIG[] = "[core]\n"
                                  "\trepositoryformatversion = 0\n"
                                  "\tfilemode = true\n"
                                  "\tbare = false\n"
                                  "\tlogallrefupdates = true\n";
static const char EXCLUDE[] = ".diaryx/\n";

bool dx_archive_stored(const char *path)
{
    static const char *const exts[] = {
        "png",  "jpg", "jpeg", "gif",  "webp",  "avif", "heic", "zip", "gz",   "tgz",
        "bz2",  "xz",  "zst",  "7z",   "rar",   "pdf",  "mp3",  "mp4", "m4a",  "m4v",
        "aac",  "ogg", "opus", "flac", "webm",  "mov",  "mkv",  "avi", "docx", "xlsx",
        "pptx", "odt", "epub", "woff", "woff2", "jar",  "apk",  NULL};
    if (!strncmp(path, ".git/objects/", 13))
        return true; /* zlib streams already */
    const char *base = strrchr(path, '/');
    const char *dot = strrchr(base ? base : path, '.');
    if (!dot)
        return false;
    for (size_t i = 0; exts[i]; i++)
        if (!strcasecmp(dot + 1, exts[i]))
            return true;
    return false;
}

void dx_archive_stats_release(dx_archive_stats *s)
{
    if (s)
        dx_strlist_release(&s->uncommitted);
}

void dx_import_stats_release(dx_import_stats *s)
{
    if (s) {
        dx_strlist_release(&s->skipped);
        dx_strlist_release(&s->others);
    }
}

/* ---- a file written below a root, streamed, atomically, never through a link ---------- */

typedef struct out_file {
    int dirfd, fd;
    char tmp[300];
    const char *base;
    const char *rel;
} out_file;

static int out_open(const char *root, const char *rel, int mode, out_file *o, dx_error *err)
{
    o->dirfd = o->fd = -1;
    o->rel = rel;
    o->base = dx_path_basename(rel);
    dx_buf dir = DX_BUF_INIT;
    int rc = dx_path_dirname(rel, &dir) ? DX_ENOMEM : 0;
    if (!rc && dir.len && strcmp(dir.data, "."))
        rc = dx_fs_mkdirs_in(root, dir.data, err);
    if (!rc) {
        const char *d = dir.len && strcmp(dir.data, ".") ? dir.data : "";
        o->dirfd = dx_fs_open_dir_in(root, d, err);
        if (o->dirfd < 0)
            rc = o->dirfd;
    }
    dx_buf_release(&dir);
    if (rc)
        return rc == DX_ENOMEM ? dx_error_set(err, rc, "out of memory writing '%s'", rel) : rc;
    if ((size_t)snprintf(o->tmp, sizeof o->tmp, ".%s.tmp%ld", o->base, (long)getpid()) >=
        sizeof o->tmp)
        return dx_error_set(err, DX_EPATH, "cannot write '%s': its name is too long", rel);
    o->fd = openat(o->dirfd, o->tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, mode);
    if (o->fd < 0)
        return dx_error_set(err, DX_EIO, "cannot write '%s' in '%s': %s", rel, root,
                            strerror(errno));
    return 0;
}

/* write(2) until all is written: 0, or errno. */
static int write_all(int fd, const void *data, size_t len)
{
    const char *p = data;
    while (len) {
        ssize_t n = write(fd, p, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return errno;
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

int dx_archive_write_fd(void *ud, const void *data, size_t len, dx_error *err)
{
    int e = write_all(*(const int *)ud, data, len);
    return e ? dx_error_set(err, DX_EIO, "cannot write the archive: %s", strerror(e)) : 0;
}

static int out_write(out_file *o, const void *data, size_t len, dx_error *err)
{
    int e = write_all(o->fd, data, len);
    return e ? dx_error_set(err, DX_EIO, "cannot write '%s': %s", o->rel, strerror(e)) : 0;
}

/* Close; keep: rename into place, else remove the temporary file. */
static int out_close(out_file *o, bool keep, dx_error *err)
{
    int rc = 0;
    if (o->fd >= 0 && close(o->fd) && keep)
        rc = dx_error_set(err, DX_EIO, "cannot write '%s': %s", o->rel, strerror(errno));
    if (o->fd >= 0) {
        if (keep && !rc && renameat(o->dirfd, o->tmp, o->dirfd, o->base))
            rc = dx_error_set(err, DX_EIO, "cannot put '%s' in place: %s", o->rel, strerror(errno));
        if (!keep || rc)
            unlinkat(o->dirfd, o->tmp, 0);
    }
    if (o->dirfd >= 0)
        close(o->dirfd);
    o->fd = o->dirfd = -1;
    return rc;
}

static int out_whole(const char *root, const char *rel, const void *data, size_t len, dx_error *err)
{
    out_file o;
    int rc = out_open(root, rel, 0644, &o, err);
    if (!rc)
        rc = out_write(&o, data, len, err);
    int rc2 = out_close(&o, rc == 0, err);
    return rc ? rc : rc2;
}

/* ---- export ----------------------------------------------------------------------------- */

typedef struct sink {
    dx_zip_writer *zw; /* a ZIP archive, or */
    const char *root;  /* a directory */
    uint32_t dos_time;
    out_file of;
    dx_buf name;
} sink;

static int sink_begin(sink *s, const char *name, uint64_t size, dx_error *err)
{
    if (s->zw)
        return dx_zip_begin(s->zw, name, 0644,
                            dx_archive_stored(name) ? DX_ZIP_STORE : DX_ZIP_DEFLATE, s->dos_time,
                            size, err);
    return out_open(s->root, name, 0644, &s->of, err);
}

static int sink_data(sink *s, const void *data, size_t len, dx_error *err)
{
    return s->zw ? dx_zip_write_data(s->zw, data, len, err) : out_write(&s->of, data, len, err);
}

static int sink_end(sink *s, int rc, dx_error *err)
{
    if (s->zw)
        return rc ? rc : dx_zip_end(s->zw, err);
    int rc2 = out_close(&s->of, rc == 0, err);
    return rc ? rc : rc2;
}

static int sink_whole(sink *s, const char *name, const void *data, size_t len, dx_error *err)
{
    int rc = sink_begin(s, name, len, err);
    if (!rc)
        rc = sink_data(s, data, len, err);
    return sink_end(s, rc, err);
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int head_time_cb(const dx_git_log_entry *e, void *ud)
{
    *(int64_t *)ud = e->time;
    return 1;
}

/* What of a repository's directory goes into an archive (rel below it). */
static bool export_git_keep(const char *rel)
{
    size_t n = strlen(rel);
    if (n >= 5 && !strcmp(rel + n - 5, ".lock"))
        return false;
    if (!strcmp(rel, "HEAD") || !strcmp(rel, "packed-refs") || !strcmp(rel, "index") ||
        !strcmp(rel, "info/exclude") || !strcmp(rel, "shallow"))
        return true;
    if (!strncmp(rel, "refs/", 5))
        return true;
    if (!strncmp(rel, "objects/", 8))
        return strncmp(rel + 8, "info/", 5) && !strstr(rel, "/tmp_") && !strstr(rel, "/.tmp");
    return false;
}

/* Every regular file below root/rel (links and other kinds are never followed), as
 * root-relative paths. */
static int list_tree(const char *root, const char *rel, dx_strlist *out, dx_strlist *links,
                     dx_error *err)
{
    DIR *d = dx_fs_opendir_in(root, rel);
    if (!d)
        return dx_error_set(err, DX_EIO, "cannot list '%s%s%s': %s", root, *rel ? "/" : "", rel,
                            strerror(errno));
    int rc = 0;
    struct dirent *de;
    dx_buf sub = DX_BUF_INIT;
    while (!rc && (de = readdir(d))) {
        if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
            continue;
        struct stat st;
        if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW))
            continue; /* gone meanwhile */
        dx_buf_reset(&sub);
        if (*rel)
            dx_buf_printf(&sub, "%s/%s", rel, de->d_name);
        else
            dx_buf_puts(&sub, de->d_name);
        if (dx_buf_error(&sub))
            rc = dx_error_set(err, DX_ENOMEM, "out of memory listing '%s'", root);
        else if (S_ISDIR(st.st_mode))
            rc = list_tree(root, sub.data, out, links, err);
        else if (S_ISREG(st.st_mode))
            rc = dx_strlist_push(out, sub.data);
        else if (links)
            rc = dx_strlist_push(links, sub.data);
        if (rc == DX_ENOMEM)
            dx_error_set(err, rc, "out of memory listing '%s'", root);
    }
    closedir(d);
    dx_buf_release(&sub);
    return rc;
}

/* Open root/rel for reading, never through a link: a descriptor, or a negative DX_E* code
 * (DX_ENOTFOUND when nothing is there). */
static int open_in(const char *root, const char *rel, dx_error *err)
{
    dx_buf dir = DX_BUF_INIT;
    int rc = dx_path_dirname(rel, &dir) ? dx_error_set(err, DX_ENOMEM, "out of memory") : 0;
    int dfd = rc ? rc : dx_fs_open_dir_in(root, strcmp(dir.data, ".") ? dir.data : "", err);
    dx_buf_release(&dir);
    if (dfd < 0)
        return dfd;
    int fd = openat(dfd, dx_path_basename(rel), O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        fd = dx_error_set(err, errno == ENOENT ? DX_ENOTFOUND : DX_EIO,
                          "cannot open '%s' in '%s': %s", rel, root, strerror(errno));
    close(dfd);
    return fd;
}

/* Read fd to its end in CHUNK pieces of buf, each given to fn(ud, ...). */
static int read_chunks(int fd, const char *what, unsigned char *buf, dx_zip_sink_fn fn, void *ud,
                       dx_error *err)
{
    for (;;) {
        ssize_t n = read(fd, buf, CHUNK);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return dx_error_set(err, DX_EIO, "cannot read '%s': %s", what, strerror(errno));
        if (n == 0)
            return 0;
        int rc = fn(ud, buf, (size_t)n, err);
        if (rc)
            return rc;
    }
}

typedef struct sink_feed {
    sink *s;
    uint64_t *bytes;
} sink_feed;

static int feed_sink(void *ud, const void *data, size_t len, dx_error *err)
{
    sink_feed *f = ud;
    *f->bytes += len;
    return sink_data(f->s, data, len, err);
}

static int feed_hash(void *ud, const void *data, size_t len, dx_error *err)
{
    return dx_hash_update(ud, data, len) ? dx_error_set(err, DX_ENOMEM, "cannot hash") : 0;
}

/* Stream the open file fd (size bytes) into the sink as name. */
static int copy_fd(sink *s, int fd, uint64_t size, const char *name, unsigned char *buf,
                   uint64_t *bytes, dx_error *err)
{
    sink_feed f = {s, bytes};
    int rc = sink_begin(s, name, size, err);
    if (!rc)
        rc = read_chunks(fd, name, buf, feed_sink, &f, err);
    return sink_end(s, rc, err);
}

/* Stream the file root/rel into the sink as name. */
static int copy_file(sink *s, const char *root, const char *rel, const char *name,
                     unsigned char *buf, uint64_t *bytes, dx_error *err)
{
    int fd = open_in(root, rel, err);
    if (fd < 0)
        return fd;
    struct stat st;
    int rc = fstat(fd, &st)
                 ? dx_error_set(err, DX_EIO, "cannot stat '%s/%s': %s", root, rel, strerror(errno))
                 : copy_fd(s, fd, (uint64_t)st.st_size, name, buf, bytes, err);
    close(fd);
    return rc;
}

/* Stream the work-tree file root/rel into the sink when its git blob id is id (1), else
 * leave the sink alone: 2 when the file there differs, 0 when there is none. A file read in
 * pieces never sits in memory whole, where a blob read from git would. */
static int copy_if_same(sink *s, const char *root, const char *rel, const char *id,
                        unsigned char *buf, uint64_t *bytes, dx_error *err)
{
    int fd = open_in(root, rel, NULL);
    if (fd < 0)
        return 0;
    struct stat st = {0};
    dx_hash h = DX_HASH_INIT;
    unsigned char sum[DX_SHA1_LEN];
    char hex[DX_SHA1_HEX], head[32];
    int rc = 0, same = 0;
    if (!fstat(fd, &st) && S_ISREG(st.st_mode)) {
        int hl = snprintf(head, sizeof head, "blob %llu", (unsigned long long)st.st_size);
        rc = dx_hash_begin(&h, DX_HASH_SHA1) || dx_hash_update(&h, head, (size_t)hl + 1)
                 ? dx_error_set(err, DX_ENOMEM, "cannot hash '%s'", rel)
                 : read_chunks(fd, rel, buf, feed_hash, &h, err);
        if (!rc && !dx_hash_final(&h, sum)) {
            dx_hash_hex(sum, DX_SHA1_LEN, hex);
            same = !strcmp(hex, id);
        }
        if (!rc && same && lseek(fd, 0, SEEK_SET) != 0)
            same = 0;
        if (!rc && same)
            rc = copy_fd(s, fd, (uint64_t)st.st_size, rel, buf, bytes, err);
    }
    dx_hash_release(&h);
    close(fd);
    return rc ? rc : same ? 1 : S_ISREG(st.st_mode) ? 2 : 0;
}

static int export_files(const dx_archive_src *src, sink *s, dx_archive_stats *st, dx_error *err)
{
    dx_strmap blobs = DX_STRMAP_INIT;
    char **paths = NULL;
    size_t n = 0;
    dx_buf bytes = DX_BUF_INIT;
    unsigned char *buf = malloc(CHUNK);
    int rc = buf ? dx_git_blobs(src->g, "HEAD", &blobs, err)
                 : dx_error_set(err, DX_ENOMEM, "out of memory exporting");
    if (!rc && !(paths = malloc((blobs.len ? blobs.len : 1) * sizeof *paths)))
        rc = dx_error_set(err, DX_ENOMEM, "out of memory listing the files of HEAD");
    for (size_t i = 0; !rc && i < blobs.cap; i++)
        if (blobs.slots[i].key)
            paths[n++] = blobs.slots[i].key;
    if (!rc)
        qsort(paths, n, sizeof *paths, cmp_str);
    for (size_t i = 0; !rc && i < n; i++) {
        const char *path = paths[i], *id = dx_strmap_get(&blobs, path);
        const dx_git_file *f = src->files ? dx_fileset_find(src->files, src->nfiles, path) : NULL;
        const void *data = NULL;
        size_t len = 0;
        uint64_t streamed = 0;
        int r = 0;
        if (f && f->data && f->id && !strcmp(f->id, id)) {
            data = f->data;
            len = f->len;
        } else if (src->work_tree &&
                   (r = copy_if_same(s, src->work_tree, path, id, buf, &streamed, err)) == 1) {
            data = NULL;
        } else if (r < 0) {
            rc = r;
            break;
        } else {
            dx_buf_reset(&bytes);
            if ((rc = dx_git_read_file(src->g, "HEAD", path, &bytes, err)))
                break;
            data = bytes.data ? bytes.data : "";
            len = bytes.len;
        }
        if (src->files && !f)
            rc = dx_strlist_pushf(&st->uncommitted, "D %s", path);
        else if ((f && f->id && strcmp(f->id, id)) || (r == 2 && (!f || !f->data)))
            rc = dx_strlist_pushf(&st->uncommitted, "M %s", path); /* in the CRDT or on disk */
        if (rc) {
            rc = dx_error_set(err, DX_ENOMEM, "out of memory listing uncommitted changes");
            break;
        }
        if (data && (rc = sink_whole(s, path, data, len, err)))
            break;
        st->files++;
        st->attachments += !dx_path_is_markdown(path);
        st->bytes += data ? len : streamed;
    }
    for (size_t i = 0; !rc && src->files && i < src->nfiles; i++)
        if (!dx_strmap_get(&blobs, src->files[i].path) &&
            dx_strlist_pushf(&st->uncommitted, "A %s", src->files[i].path))
            rc = dx_error_set(err, DX_ENOMEM, "out of memory listing uncommitted changes");
    if (!rc)
        dx_strlist_sort(&st->uncommitted);
    free(paths);
    free(buf);
    dx_buf_release(&bytes);
    dx_git_blobs_release(&blobs);
    return rc;
}

static int export_git(const dx_archive_src *src, sink *s, dx_archive_stats *st, dx_error *err)
{
    dx_strlist all = DX_STRLIST_INIT;
    unsigned char *buf = malloc(CHUNK);
    int rc = buf ? list_tree(src->git_dir, "", &all, NULL, err)
                 : dx_error_set(err, DX_ENOMEM, "out of memory exporting the repository");
    if (!rc && dx_strlist_push(&all, "config"))
        rc = dx_error_set(err, DX_ENOMEM, "out of memory exporting the repository");
    if (!rc)
        dx_strlist_sort(&all);
    dx_buf name = DX_BUF_INIT;
    for (size_t i = 0; !rc && i < all.len; i++) {
        const char *rel = all.items[i];
        bool config = !strcmp(rel, "config");
        if (config && i && !strcmp(all.items[i - 1], "config"))
            continue; /* the real one was listed too: written once, ours */
        if (!config && !export_git_keep(rel))
            continue;
        dx_buf_reset(&name);
        if (dx_buf_printf(&name, ".git/%s", rel)) {
            rc = dx_error_set(err, DX_ENOMEM, "out of memory exporting the repository");
            break;
        }
        if (config) {
            rc = sink_whole(s, name.data, SAFE_CONFIG, sizeof SAFE_CONFIG - 1, err);
            st->bytes += sizeof SAFE_CONFIG - 1;
        } else {
            rc = copy_file(s, src->git_dir, rel, name.data, buf, &st->bytes, err);
        }
        st->git_files += rc == 0;
    }
    dx_buf_release(&name);
    dx_strlist_release(&all);
    free(buf);
    return rc;
}

static int export_all(const dx_archive_src *src, sink *s, dx_archive_stats *stats, dx_error *err)
{
    dx_archive_stats local = {0};
    dx_archive_stats *st = stats ? stats : &local;
    memset(st, 0, sizeof *st);
    int64_t t = 0;
    int rc = dx_git_log(src->g, NULL, 1, head_time_cb, &t, err);
    if (!rc && !t)
        rc = dx_error_set(err, DX_ENOTFOUND,
                          "the repository has no commit yet: commit before exporting its history");
    s->dos_time = dx_zip_dos_time(t);
    if (!rc)
        rc = export_files(src, s, st, err);
    if (!rc)
        rc = export_git(src, s, st, err);
    dx_archive_stats_release(&local);
    return rc;
}

int dx_archive_export_zip(const dx_archive_src *src, dx_zip_write_fn write, void *ud,
                          dx_archive_stats *stats, dx_error *err)
{
    sink s = {0};
    int rc = dx_zip_writer_new(write, ud, &s.zw, err);
    if (!rc)
        rc = export_all(src, &s, stats, err);
    if (!rc)
        rc = dx_zip_finish(s.zw, err);
    dx_zip_writer_free(s.zw);
    return rc;
}

int dx_archive_export_dir(const dx_archive_src *src, const char *abs_dir, dx_archive_stats *stats,
                          dx_error *err)
{
    DIR *d = opendir(abs_dir);
    if (d) {
        struct dirent *de;
        bool empty = true;
        while (empty && (de = readdir(d)))
            empty = !strcmp(de->d_name, ".") || !strcmp(de->d_name, "..");
        closedir(d);
        if (!empty)
            return dx_error_set(err, DX_EEXIST,
                                "'%s' is not empty: export the archive into a new or empty "
                                "directory",
                                abs_dir);
    } else if (errno != ENOENT) {
        return dx_error_set(err, DX_EIO, "cannot use '%s' as the archive directory: %s", abs_dir,
                            strerror(errno));
    }
    int rc = dx_mkdirs(abs_dir, err);
    sink s = {0};
    s.root = abs_dir;
    if (!rc)
        rc = export_all(src, &s, stats, err);
    return rc;
}

/* ---- import ----------------------------------------------------------------------------- */

enum { KEEP, KEEP_HEAD, SKIP, SKIP_NOTE };

static bool all_hex(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
            return false;
    return true;
}

static bool ref_chars(const char *s)
{
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
              strchr("._/-+@", *s)))
            return false;
    return true;
}

/* What of a source's .git/ (rel below it) an import keeps. */
static int import_git_kind(const char *rel, const char **why)
{
    size_t n = strlen(rel);
    *why = NULL;
    if (!strcmp(rel, "HEAD"))
        return KEEP_HEAD;
    if (n >= 5 && !strcmp(rel + n - 5, ".lock"))
        return SKIP;
    if (!strcmp(rel, "packed-refs") || !strcmp(rel, "shallow"))
        return KEEP; /* lists of names and ids, read as data */
    if (!strncmp(rel, "refs/", 5))
        return ref_chars(rel) ? KEEP : SKIP;
    if (n == 8 + 2 + 1 + 38 && !strncmp(rel, "objects/", 8) && rel[10] == '/' &&
        all_hex(rel + 8, 2) && all_hex(rel + 11, 38))
        return KEEP;
    if (!strncmp(rel, "objects/pack/pack-", 18)) {
        const char *dot = strchr(rel + 18, '.');
        size_t hl = dot ? (size_t)(dot - rel - 18) : 0;
        if (dot && (hl == 40 || hl == 64) && all_hex(rel + 18, hl) &&
            (!strcmp(dot, ".pack") || !strcmp(dot, ".idx") || !strcmp(dot, ".rev")))
            return KEEP;
        return SKIP;
    }
    if (!strncmp(rel, "hooks/", 6) && !strstr(rel, ".sample")) {
        *why = "a hook is never kept or run";
        return SKIP_NOTE;
    }
    if (!strcmp(rel, "config")) {
        *why = "the repository's config is replaced by a minimal one (no remote, hook or include)";
        return SKIP_NOTE;
    }
    if (!strncmp(rel, "objects/info/", 13) && strstr(rel, "alternates")) {
        *why = "alternates point to objects elsewhere and are never followed";
        return SKIP_NOTE;
    }
    return SKIP;
}

/* A HEAD worth keeping: a branch or a commit id. */
static bool head_ok(const char *s, size_t n)
{
    if (n == 41 && s[40] == '\n' && all_hex(s, 40))
        return true;
    if (n < 17 || n > 250 || strncmp(s, "ref: refs/heads/", 16) || s[n - 1] != '\n')
        return false;
    char name[256];
    memcpy(name, s + 5, n - 6);
    name[n - 6] = 0;
    return ref_chars(name) && !strstr(name, "..");
}

typedef struct item {
    const char *path; /* destination-relative (borrowed from the listing) */
    size_t zi;        /* the ZIP entry, for a ZIP source */
    int kind;         /* KEEP or KEEP_HEAD */
    unsigned mode;    /* 0644, or 0755 for an executable */
} item;

typedef struct importer {
    const char *dest, *src_root; /* src_root: a folder source */
    dx_zip_reader *zr;           /* a ZIP source */
    const dx_import_opts *o;
    dx_import_stats *st;
    item *items;
    size_t n;
    dx_strlist folder; /* a folder source's files */
    out_file of;
    dx_buf head;
    uint64_t verified;
} importer;

static int note(importer *im, const char *path, const char *why, dx_error *err)
{
    if (dx_strlist_pushf(&im->st->skipped, "%s: %s", path, why))
        return dx_error_set(err, DX_ENOMEM, "out of memory importing");
    return 0;
}

/* Whether a component of path is ".git" in any letter case (git on a case-insensitive file
 * system takes ".GIT" for its own directory). */
static bool git_component(const char *path)
{
    for (const char *c = path; c;) {
        const char *slash = strchr(c, '/');
        size_t len = slash ? (size_t)(slash - c) : strlen(c);
        if (len == 4 && !strncasecmp(c, ".git", 4))
            return true;
        c = slash ? slash + 1 : NULL;
    }
    return false;
}

/* Decide for one source path; adds it to items when kept. */
static int classify(importer *im, const char *path, size_t zi, unsigned mode, dx_error *err)
{
    const char *why = NULL;
    int kind = KEEP;
    if (!strncmp(path, ".git/", 5)) {
        kind = import_git_kind(path + 5, &why);
    } else if (!strncasecmp(path, ".diaryx/", 8)) {
        return !strcasecmp(path, ".diaryx/crdt.db")
                   ? note(im, ".diaryx/", "the CRDT store is built again from the files", err)
                   : 0;
    } else if (git_component(path)) {
        kind = SKIP_NOTE;
        why = "a repository below the top, or a '.git' in another letter case, is left out";
    }
    if (kind == SKIP_NOTE)
        return note(im, path, why, err);
    if (kind == SKIP)
        return 0;
    im->items[im->n++] =
        (item){path, zi, kind, mode == 0755 && strncmp(path, ".git/", 5) ? 0755u : 0644u};
    return 0;
}

static int null_sink(void *ud, const void *data, size_t len, dx_error *err)
{
    (void)data;
    (void)err;
    *(uint64_t *)ud += len;
    return 0;
}

static int file_sink(void *ud, const void *data, size_t len, dx_error *err)
{
    importer *im = ud;
    return out_write(&im->of, data, len, err);
}

static int head_sink(void *ud, const void *data, size_t len, dx_error *err)
{
    importer *im = ud;
    if (im->head.len + len > 256)
        return dx_error_set(err, DX_ELIMIT, ".git/HEAD is longer than a HEAD can be");
    return dx_buf_append(&im->head, data, len) ? dx_error_set(err, DX_ENOMEM, "out of memory") : 0;
}

/* Stream one source file to fn. */
static int read_source(importer *im, const item *it, dx_zip_sink_fn fn, void *ud, dx_error *err)
{
    if (im->zr)
        return dx_zip_extract(im->zr, it->zi, fn, ud, err);
    unsigned char buf[CHUNK];
    int fd = open_in(im->src_root, it->path, err);
    if (fd < 0)
        return fd;
    int rc = read_chunks(fd, it->path, buf, fn, ud, err);
    close(fd);
    return rc;
}

static int write_item(importer *im, const item *it, dx_error *err)
{
    if (it->kind == KEEP_HEAD) {
        dx_buf_reset(&im->head);
        int rc = read_source(im, it, head_sink, im, err);
        if (rc)
            return rc;
        if (!head_ok(im->head.data ? im->head.data : "", im->head.len))
            return note(im, ".git/HEAD", "names neither a branch nor a commit: main is used", err);
        im->st->history = true;
        im->st->git_files++;
        return out_whole(im->dest, it->path, im->head.data, im->head.len, err);
    }
    int rc = out_open(im->dest, it->path, (int)it->mode, &im->of, err);
    if (!rc)
        rc = read_source(im, it, file_sink, im, err);
    int rc2 = out_close(&im->of, rc == 0, err);
    if (rc || rc2)
        return rc ? rc : rc2;
    if (!strncmp(it->path, ".git/", 5)) {
        im->st->git_files++;
    } else {
        im->st->files++;
        if (dx_path_is_markdown(it->path))
            im->st->markdown++;
        else if (dx_strlist_push(&im->st->others, it->path))
            return dx_error_set(err, DX_ENOMEM, "out of memory importing");
        else
            im->st->attachments++;
    }
    return 0;
}

/* The files a repository needs beside its objects and refs, when the destination has none. */
static int finish_git(importer *im, dx_error *err)
{
    static const char *const dirs[] = {".git/objects/pack", ".git/objects/info", ".git/refs/heads",
                                       ".git/refs/tags", NULL};
    int rc = 0;
    for (size_t i = 0; !rc && dirs[i]; i++)
        rc = dx_fs_mkdirs_in(im->dest, dirs[i], err);
    struct {
        const char *path, *text;
    } files[] = {{".git/config", SAFE_CONFIG},
                 {".git/info/exclude", EXCLUDE},
                 {".git/HEAD", "ref: refs/heads/main\n"}};
    for (size_t i = 0; !rc && i < sizeof files / sizeof *files; i++) {
        struct stat st;
        int s = dx_fs_stat_in(im->dest, files[i].path, &st, err);
        if (s == DX_ENOTFOUND)
            rc = out_whole(im->dest, files[i].path, files[i].text, strlen(files[i].text), err);
        else if (s)
            rc = s;
    }
    return rc;
}

static int import_run(importer *im, dx_error *err)
{
    size_t total = im->zr ? dx_zip_count(im->zr) : im->folder.len;
    im->items = malloc((total ? total : 1) * sizeof *im->items);
    if (!im->items)
        return dx_error_set(err, DX_ENOMEM, "out of memory importing");
    int rc = 0;
    for (size_t i = 0; !rc && i < total; i++) {
        if (im->zr) {
            const dx_zip_entry *e = dx_zip_entry_at(im->zr, i);
            if (!e->is_dir)
                rc = classify(im, e->name, i, e->mode, err);
        } else {
            const char *p = im->folder.items[i];
            rc = dx_zip_check_name(p, strlen(p), NULL)
                     ? note(im, p, "a name that cannot be kept", err)
                     : classify(im, p, 0, 0644, err);
        }
    }
    /* Nothing is replaced without --force, and a link on the way is refused: both before
     * the first byte is written. */
    size_t existing = 0;
    const char *first = NULL;
    for (size_t i = 0; !rc && i < im->n; i++) {
        struct stat st;
        int s = dx_fs_stat_in(im->dest, im->items[i].path, &st, err);
        if (s == 0) {
            if (!first)
                first = im->items[i].path;
            existing++;
        } else if (s != DX_ENOTFOUND) {
            rc = s;
        }
    }
    if (!rc && existing && !im->o->force)
        rc = dx_error_set(err, DX_EEXIST,
                          "'%s' already exists in '%s' (%zu file%s of the import already exist): "
                          "nothing was written; import into an empty directory, or pass --force "
                          "to replace them",
                          first, im->dest, existing, existing == 1 ? "" : "s");
    /* A ZIP source is inflated once to the void first: an entry whose sizes or CRC lie, or
     * a bomb, is refused before anything is written. */
    for (size_t i = 0; !rc && im->zr && i < im->n; i++)
        rc = dx_zip_extract(im->zr, im->items[i].zi, null_sink, &im->verified, err);
    bool git = false;
    for (size_t i = 0; !rc && i < im->n; i++) {
        rc = write_item(im, &im->items[i], err);
        git = git || !strncmp(im->items[i].path, ".git/", 5);
    }
    if (!rc && git)
        rc = finish_git(im, err);
    return rc;
}

int dx_archive_import(const char *source, const char *abs_dest, const dx_import_opts *opts,
                      dx_import_stats *stats, dx_error *err)
{
    dx_import_opts def = DX_IMPORT_OPTS_INIT;
    dx_import_stats local = {0};
    importer im = {0};
    im.dest = abs_dest;
    im.o = opts ? opts : &def;
    im.st = stats ? stats : &local;
    memset(im.st, 0, sizeof *im.st);
    im.of.fd = im.of.dirfd = -1;
    char *real = NULL;
    int fd = -1, rc = 0;
    struct stat st;
    if (stat(source, &st))
        rc = dx_error_set(err, DX_ENOTFOUND, "cannot import '%s': %s", source, strerror(errno));
    else if (S_ISDIR(st.st_mode)) {
        real = realpath(source, NULL);
        if (!real)
            rc = dx_error_set(err, DX_EIO, "cannot import '%s': %s", source, strerror(errno));
        else if (!strcmp(real, abs_dest))
            rc = dx_error_set(err, DX_EINVAL, "cannot import '%s' into itself", source);
        dx_strlist links = DX_STRLIST_INIT;
        if (!rc)
            rc = list_tree(real, "", &im.folder, &links, err);
        for (size_t i = 0; !rc && i < links.len; i++)
            rc = note(&im, links.items[i], "a link or special file, never followed", err);
        dx_strlist_release(&links);
        dx_strlist_sort(&im.folder);
        im.src_root = real;
    } else {
        fd = open(source, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
            rc = dx_error_set(err, DX_EIO, "cannot open '%s': %s", source, strerror(errno));
        if (!rc)
            rc = dx_zip_reader_open_fd(fd, &im.o->limits, source, &im.zr, err);
    }
    if (!rc)
        rc = dx_mkdirs(abs_dest, err);
    if (!rc)
        rc = import_run(&im, err);
    dx_zip_reader_free(im.zr);
    if (fd >= 0)
        close(fd);
    free(real);
    free(im.items);
    dx_strlist_release(&im.folder);
    dx_buf_release(&im.head);
    dx_import_stats_release(&local);
    return rc;
}

/* ---- attachments into git ---------------------------------------------------------------- */

int dx_archive_attachments(dx_docset *ds, dx_link_format fmt, dx_strlist *out, dx_error *err)
{
    int rc = dx_docset_load(ds, err);
    y_doc *doc = rc ? NULL : dx_docset_workspace(ds);
    const dx_strmap *index = dx_docset_index(ds);
    dx_strmap seen = DX_STRMAP_INIT;
    dx_entry e = DX_ENTRY_INIT;
    dx_buf path = DX_BUF_INIT;
    for (size_t i = 0; !rc && doc && i < index->cap; i++) {
        const char *from = index->slots[i].key;
        if (!from || (rc = dx_wsdoc_get(doc, index->slots[i].value, &e, err)))
            continue;
        for (size_t j = 0; !rc && j < e.attachments.len; j++) {
            dx_buf_reset(&path);
            int r = dx_link_resolve(e.attachments.items[j], from, fmt, &path, NULL);
            if (r == DX_ENOMEM || dx_buf_error(&path))
                rc = DX_ENOMEM;
            else if (r || dx_strmap_get(&seen, path.data))
                continue;
            else if (dx_strmap_put(&seen, path.data, (void *)1) || dx_strlist_push(out, path.data))
                rc = DX_ENOMEM;
        }
        if (rc == DX_ENOMEM)
            dx_error_set(err, rc, "out of memory listing the attachments");
    }
    if (!rc)
        dx_strlist_sort(out);
    dx_entry_release(&e);
    dx_buf_release(&path);
    dx_strmap_release(&seen);
    return rc;
}

static void free_batch(dx_git_file *b, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free((void *)b[i].data);
}

int dx_archive_commit_files(dx_git *g, const char *root, const dx_strlist *paths,
                            const char *message, bool dry, dx_strlist *changed, size_t *commits,
                            dx_error *err)
{
    dx_strmap head = DX_STRMAP_INIT;
    dx_git_file *batch = calloc(paths->len ? paths->len : 1, sizeof *batch);
    size_t n = 0, bytes = 0, made = 0;
    int rc = batch ? dx_git_blobs(g, NULL, &head, err)
                   : dx_error_set(err, DX_ENOMEM, "out of memory committing attachments");
    dx_git_commit_opts o = {0};
    o.message = message;
    o.keep_worktree = 1;
    for (size_t i = 0; !rc && i <= paths->len; i++) {
        if (i < paths->len) {
            dx_buf b = DX_BUF_INIT;
            char id[DX_SHA1_HEX];
            const char *path = paths->items[i], *was = dx_strmap_get(&head, path);
            struct stat st;
            int r = dx_fs_stat_in(root, path, &st, NULL);
            if (r == DX_ENOTFOUND || (!r && !S_ISREG(st.st_mode)))
                continue;
            if ((rc = r ? dx_fs_stat_in(root, path, &st, err) : 0) ||
                (rc = dx_fs_read_in(root, path, &b, NULL, err)) ||
                (rc = dx_hash_blob_hex(NULL, b.data ? b.data : "", b.len, id))) {
                dx_buf_release(&b);
                break;
            }
            if (was && !strcmp(was, id)) {
                dx_buf_release(&b);
                continue;
            }
            if (changed && dx_strlist_pushf(changed, "%c %s", was ? 'M' : 'A', path)) {
                dx_buf_release(&b);
                rc = dx_error_set(err, DX_ENOMEM, "out of memory committing attachments");
                break;
            }
            if (dry) {
                dx_buf_release(&b);
                continue;
            }
            bytes += b.len;
            batch[n].path = path;
            batch[n].id = NULL;
            batch[n].len = b.len;
            batch[n++].data = dx_buf_detach(&b, NULL);
        }
        if (n && (i == paths->len || bytes >= DX_ARCHIVE_BATCH)) {
            int r = dx_git_commit_changes(g, batch, n, NULL, 0, &o, NULL, NULL, err);
            if (r < 0)
                rc = r;
            made += r == 0;
            free_batch(batch, n);
            n = bytes = 0;
        }
    }
    free_batch(batch, n);
    free(batch);
    dx_git_blobs_release(&head);
    if (commits)
        *commits = made;
    return rc;
}
