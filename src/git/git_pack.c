/* git_pack.c - pack loose objects into one pack and remove them (like git prune-packed). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <zlib.h>

#include "diaryx/fs.h"
#include "git_internal.h"

/* Make pack `name` (pack-<hex>) of objects/pack durable, with the directory entries that
 * name it, before the objects it replaces are deleted: after a power loss the deletions must
 * not survive a pack that did not. */
static int sync_pack(const char *dir, const char *name, dx_error *err)
{
    static const char *const ext[] = {".pack", ".idx", ""};
    char p[4096];
    for (int e = 0; e < 3; e++) {
        if (e < 2)
            snprintf(p, sizeof p, "%s/%s%s", dir, name, ext[e]);
        else
            snprintf(p, sizeof p, "%s", dir);
        int fd = open(p, O_RDONLY | O_CLOEXEC);
        int ok = fd >= 0 && fsync(fd) == 0;
        int saved = errno;
        if (fd >= 0)
            close(fd);
        if (!ok)
            return dx_error_set(err, DX_EIO, "cannot make '%s' durable: %s", p, strerror(saved));
    }
    return 0;
}

typedef struct loose_list {
    git_oid *v;
    size_t n, cap;
} loose_list;

static int is_hex(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
            return 0;
    return s[n] == 0;
}

/* Collect the ids of the loose objects (objects/xx/yyyy...). */
static int scan_loose(dx_git *g, loose_list *l, dx_error *err)
{
    char dir[4096];
    const char *gitdir = git_repository_path(g->repo); /* ends with '/' */
    for (int i = 0; i < 256; i++) {
        snprintf(dir, sizeof dir, "%sobjects/%02x", gitdir, i);
        DIR *d = opendir(dir);
        if (!d) {
            if (errno == ENOENT)
                continue;
            return dx_error_set(err, DX_EIO, "cannot read '%s': %s", dir, strerror(errno));
        }
        struct dirent *de;
        while ((de = readdir(d))) {
            if (strlen(de->d_name) != 38 || !is_hex(de->d_name, 38))
                continue;
            char hex[41];
            snprintf(hex, 3, "%02x", i);
            memcpy(hex + 2, de->d_name, 39);
            if (l->n == l->cap) {
                size_t cap = l->cap ? l->cap * 2 : 256;
                git_oid *v = realloc(l->v, cap * sizeof *v);
                if (!v) {
                    closedir(d);
                    return dx_error_set(err, DX_ENOMEM, "out of memory");
                }
                l->v = v;
                l->cap = cap;
            }
            if (git_oid_fromstr(&l->v[l->n], hex) == 0)
                l->n++;
        }
        closedir(d);
    }
    return 0;
}

int dx_git_count_loose(dx_git *g, size_t *out_n, dx_error *err)
{
    loose_list l = {0};
    int rc = scan_loose(g, &l, err);
    *out_n = l.n;
    free(l.v);
    return rc;
}

int dx_git_pack(dx_git *g, size_t *out_packed, dx_error *err)
{
    int rc = 0, gr;
    loose_list l = {0};
    git_packbuilder *pb = NULL;
    git_odb *odb = NULL;
    if (out_packed)
        *out_packed = 0;
    if ((rc = scan_loose(g, &l, err)) < 0 || l.n == 0)
        goto done;
    if ((gr = git_packbuilder_new(&pb, g->repo)) < 0) {
        rc = dx_git_fail(err, gr, "cannot start a pack");
        goto done;
    }
    git_packbuilder_set_threads(pb, 1);
    for (size_t i = 0; i < l.n; i++)
        if ((gr = git_packbuilder_insert(pb, &l.v[i], NULL)) < 0) {
            rc = dx_git_fail(err, gr, "cannot add a loose object to the pack");
            goto done;
        }
    /* the pack and its index are complete and durable before any loose object goes */
    if ((gr = git_packbuilder_write(pb, NULL, 0, NULL, NULL)) < 0) {
        rc = dx_git_fail(err, gr, "cannot write the pack of %zu objects", l.n);
        goto done;
    }
    char packdir[4096], name[80];
    snprintf(packdir, sizeof packdir, "%sobjects/pack", git_repository_path(g->repo));
    snprintf(name, sizeof name, "pack-%s", git_packbuilder_name(pb));
    if ((rc = sync_pack(packdir, name, err)) < 0)
        goto done;
    if ((gr = git_repository_odb(&odb, g->repo)) < 0 || (gr = git_odb_refresh(odb)) < 0) {
        rc = dx_git_fail(err, gr, "cannot reload the packs");
        goto done;
    }
    const char *gitdir = git_repository_path(g->repo);
    for (size_t i = 0; i < l.n; i++) {
        char hex[41], p[4096];
        git_oid_tostr(hex, sizeof hex, &l.v[i]);
        snprintf(p, sizeof p, "%sobjects/%.2s/%s", gitdir, hex, hex + 2);
        if (unlink(p) < 0 && errno != ENOENT) {
            rc = dx_error_set(err, DX_EIO, "cannot remove packed object '%s': %s", p,
                              strerror(errno));
            goto done;
        }
    }
    if (out_packed)
        *out_packed = l.n;
done:
    git_odb_free(odb);
    git_packbuilder_free(pb);
    free(l.v);
    return rc;
}

/* More small packs than this are rolled into one by dx_git_maybe_pack. */
#define DX_GIT_MAX_SMALL_PACKS 20
/* A pack with at least this many objects (a first commit's, an import's) is never rolled up. */
#define DX_GIT_SMALL_PACK_OBJECTS 10000

typedef struct pack_info {
    char name[80]; /* "pack-<hex>" */
    uint32_t objects;
} pack_info;

static int cmp_pack(const void *a, const void *b)
{
    uint32_t x = ((const pack_info *)a)->objects, y = ((const pack_info *)b)->objects;
    return x < y ? -1 : x > y;
}

static uint32_t rd32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* The whole file at path (malloc'd), or NULL. */
static unsigned char *read_whole(const char *path, size_t *out_len)
{
    dx_buf b = DX_BUF_INIT;
    if (dx_file_read(path, &b, NULL) != 0) {
        dx_buf_release(&b);
        return NULL;
    }
    return (unsigned char *)dx_buf_detach(&b, out_len);
}

/* The contents of an .idx file (version 2) and its object count; NULL when it is not one. */
static unsigned char *read_idx(const char *path, size_t *out_len, uint32_t *out_n)
{
    size_t len = 0;
    unsigned char *b = read_whole(path, &len);
    if (b && len >= 8 + 1024 + 40 && memcmp(b, "\377tOc", 4) == 0 && rd32(b + 4) == 2) {
        uint32_t n = rd32(b + 8 + 255 * 4);
        if ((uint64_t)n * 28 + 8 + 1024 + 40 <= (uint64_t)len) {
            *out_len = len;
            *out_n = n;
            return b;
        }
    }
    free(b);
    return NULL;
}

/* The object count of an .idx (fan-out's last entry), or -1. */
static long idx_objects(const char *path)
{
    unsigned char b[8 + 1024];
    FILE *f = fopen(path, "rb");
    size_t r = f ? fread(b, 1, sizeof b, f) : 0;
    if (f)
        fclose(f);
    if (r != sizeof b || memcmp(b, "\377tOc", 4) != 0 || rd32(b + 4) != 2)
        return -1;
    return (long)rd32(b + 8 + 255 * 4);
}

typedef struct raw_entry {
    uint64_t off;
    uint32_t k; /* position in the .idx */
} raw_entry;

static int cmp_raw(const void *a, const void *b)
{
    uint64_t x = ((const raw_entry *)a)->off, y = ((const raw_entry *)b)->off;
    return x < y ? -1 : x > y;
}

/* Copy the entries of an undeltified pack (the ones commits write) into mp as they are: no
 * inflate, no deflate. Every entry is checked against the .idx (offsets in order and inside
 * the pack, whole objects only, CRC32) before any is taken. Returns 1 when the pack is not
 * such a pack (deltas, from git gc or git_packbuilder; anything unexpected): the caller then
 * reads its objects through libgit2. */
static int copy_raw(dx_git_mempack *mp, const char *packpath, const unsigned char *idx,
                    size_t idxlen, uint32_t n, dx_error *err)
{
    size_t plen = 0;
    unsigned char *pk = read_whole(packpath, &plen);
    raw_entry *e = malloc((n ? n : 1) * sizeof *e);
    int rc = 1;
    const unsigned char *ids = idx + 8 + 1024, *crcs = ids + 20 * (size_t)n,
                        *offs = crcs + 4 * (size_t)n, *large = offs + 4 * (size_t)n;
    if (!pk || !e || plen < 32 || memcmp(pk, "PACK", 4) != 0 || rd32(pk + 4) != 2 ||
        rd32(pk + 8) != n)
        goto done;
    size_t nlarge = (idxlen - 40 - (size_t)(large - idx)) / 8;
    for (uint32_t k = 0; k < n; k++) {
        uint32_t o = rd32(offs + 4 * (size_t)k);
        e[k].k = k;
        e[k].off = o;
        if (o & 0x80000000u) {
            size_t li = o & 0x7fffffffu;
            if (li >= nlarge)
                goto done;
            e[k].off = (uint64_t)rd32(large + 8 * li) << 32 | rd32(large + 8 * li + 4);
        }
    }
    qsort(e, n, sizeof *e, cmp_raw);
    for (uint32_t i = 0; i < n; i++) {
        uint64_t end = i + 1 < n ? e[i + 1].off : plen - 20;
        if (e[i].off < 12 || e[i].off >= end || end > plen - 20)
            goto done;
        unsigned type = (pk[e[i].off] >> 4) & 7;
        if (type < 1 || type > 4)
            goto done; /* a delta */
        if ((uint32_t)crc32(0, pk + e[i].off, (uInt)(end - e[i].off)) !=
            rd32(crcs + 4 * (size_t)e[i].k))
            goto done;
    }
    rc = 0;
    for (uint32_t i = 0; i < n && rc == 0; i++) {
        git_oid id;
        uint64_t end = i + 1 < n ? e[i + 1].off : plen - 20;
        memcpy(id.id, ids + 20 * (size_t)e[i].k, 20);
        rc = dx_git_mempack_add_raw(mp, &id, pk + e[i].off, (size_t)(end - e[i].off),
                                    rd32(crcs + 4 * (size_t)e[i].k), err);
    }
done:
    free(pk);
    free(e);
    return rc;
}

/* Roll the packs p[0..n) into one new pack, then delete them. The objects are written whole
 * (git_mempack.c's writer: no delta search, which made git_packbuilder take ~170 ms for ~900
 * objects of a 10k-file workspace), the entries of undeltified packs copied as bytes (inflating
 * and deflating them again took ~55 ms); `git gc` deltifies them when the user wants a smaller
 * repository. */
static int roll_packs(dx_git *g, const char *dir, const pack_info *p, size_t n, size_t *out_objects,
                      dx_error *err)
{
    dx_git_mempack mp = {0};
    git_odb *odb = NULL;
    char path[4300], made[80] = "";
    int rc = 0, gr;
    size_t total = 0;
    if ((gr = git_repository_odb(&odb, g->repo)) < 0) {
        rc = dx_git_fail(err, gr, "cannot open the object database");
        goto done;
    }
    if ((rc = dx_git_mempack_begin(g, &mp, err)) < 0)
        goto done;
    for (size_t i = 0; i < n; i++) {
        size_t len = 0;
        uint32_t cnt = 0;
        snprintf(path, sizeof path, "%s/%s.idx", dir, p[i].name);
        unsigned char *b = read_idx(path, &len, &cnt);
        if (!b) {
            rc = dx_error_set(err, DX_ECORRUPT, "cannot read the pack index '%s'", path);
            goto done;
        }
        const unsigned char *ids = b + 8 + 1024;
        snprintf(path, sizeof path, "%s/%s.pack", dir, p[i].name);
        int raw = copy_raw(&mp, path, b, len, cnt, err);
        for (uint32_t k = 0; raw == 1 && k < cnt && rc == 0; k++) {
            git_oid id;
            git_odb_object *o = NULL;
            memcpy(id.id, ids + 20 * (size_t)k, 20);
            if ((gr = git_odb_read(&o, odb, &id)) < 0)
                rc = dx_git_fail(err, gr, "cannot read an object of '%s'", path);
            else
                rc = dx_git_mempack_add_copy(&mp, &id, git_odb_object_type(o),
                                             git_odb_object_data(o), git_odb_object_size(o), err);
            git_odb_object_free(o);
        }
        free(b);
        if (raw < 0)
            rc = raw;
        if (rc < 0)
            goto done;
        total += cnt;
    }
    if ((rc = dx_git_mempack_finish(g, &mp, made, NULL, err)) < 0 ||
        (rc = sync_pack(dir, made, err)) < 0)
        goto done;
    /* the new pack is complete and durable; the old ones go, each index before its pack so
     * that no reader sees an index without its pack */
    for (size_t i = 0; i < n && rc == 0; i++) {
        if (strcmp(p[i].name, made) == 0)
            continue;
        static const char *const ext[] = {".idx", ".rev", ".pack"};
        for (int e = 0; e < 3 && rc == 0; e++) {
            snprintf(path, sizeof path, "%s/%s%s", dir, p[i].name, ext[e]);
            if (unlink(path) < 0 && errno != ENOENT)
                rc = dx_error_set(err, DX_EIO, "cannot remove the rolled-up pack '%s': %s", path,
                                  strerror(errno));
        }
    }
    if (rc == 0 && out_objects)
        *out_objects = total;
done:
    dx_git_mempack_release(&mp);
    git_odb_free(odb);
    return rc;
}

/* Keep the number of small packs bounded (see git.h). */
static int maybe_roll_packs(dx_git *g, size_t *out_objects, dx_error *err)
{
    char dir[4096], path[4300];
    pack_info *v = NULL;
    size_t n = 0, cap = 0;
    int rc = 0;
    snprintf(dir, sizeof dir, "%sobjects/pack", git_repository_path(g->repo));
    DIR *d = opendir(dir);
    if (!d)
        return 0;
    struct dirent *de;
    while ((de = readdir(d))) {
        size_t l = strlen(de->d_name);
        if (l < 10 || l >= sizeof v->name + 4 || strncmp(de->d_name, "pack-", 5) != 0 ||
            strcmp(de->d_name + l - 4, ".idx") != 0)
            continue;
        if (n == cap) {
            size_t nc = cap ? cap * 2 : 32;
            pack_info *nv = realloc(v, nc * sizeof *nv);
            if (!nv) {
                rc = dx_error_set(err, DX_ENOMEM, "out of memory");
                break;
            }
            v = nv;
            cap = nc;
        }
        memcpy(v[n].name, de->d_name, l - 4);
        v[n].name[l - 4] = 0;
        v[n++].objects = 0;
    }
    closedir(d);
    if (rc < 0 || n <= DX_GIT_MAX_SMALL_PACKS)
        goto done;
    /* only now look inside: the small packs git has no other file for (a .keep, or the
     * .bitmap, .mtimes, .promisor of a pack git made: rolling those up would leave them
     * behind or drop what they say) */
    size_t ns = 0;
    static const char *const companions[] = {".keep", ".bitmap", ".mtimes", ".promisor"};
    for (size_t i = 0; i < n; i++) {
        struct stat st;
        bool other = false;
        for (size_t c = 0; c < sizeof companions / sizeof *companions && !other; c++) {
            snprintf(path, sizeof path, "%s/%s%s", dir, v[i].name, companions[c]);
            other = stat(path, &st) == 0;
        }
        if (other)
            continue;
        snprintf(path, sizeof path, "%s/%s.idx", dir, v[i].name);
        long cnt = idx_objects(path);
        if (cnt < 0 || cnt >= DX_GIT_SMALL_PACK_OBJECTS)
            continue;
        v[ns] = v[i];
        v[ns++].objects = (uint32_t)cnt;
    }
    if (ns <= DX_GIT_MAX_SMALL_PACKS)
        goto done;
    qsort(v, ns, sizeof *v, cmp_pack);
    size_t take = 2;
    uint64_t sum = (uint64_t)v[0].objects + v[1].objects;
    while (take < ns && v[take].objects < 2 * sum)
        sum += v[take++].objects;
    rc = roll_packs(g, dir, v, take, out_objects, err);
done:
    free(v);
    return rc;
}

/* Loose objects estimated from one of the 256 directories, as git gc --auto does. */
static size_t estimate_loose(dx_git *g)
{
    char dir[4200];
    size_t n = 0;
    snprintf(dir, sizeof dir, "%sobjects/17", git_repository_path(g->repo));
    DIR *d = opendir(dir);
    if (!d)
        return 0;
    struct dirent *de;
    while ((de = readdir(d)))
        if (strlen(de->d_name) == 38 && is_hex(de->d_name, 38))
            n++;
    closedir(d);
    return n * 256;
}

int dx_git_maybe_pack(dx_git *g, size_t threshold, size_t *out_packed, dx_error *err)
{
    size_t n = 0, rolled = 0;
    int rc = 0;
    if (out_packed)
        *out_packed = 0;
    if (estimate_loose(g) > threshold) {
        if ((rc = dx_git_count_loose(g, &n, err)) < 0)
            return rc;
        if (n > threshold && (rc = dx_git_pack(g, out_packed, err)) < 0)
            return rc;
    }
    if ((rc = maybe_roll_packs(g, &rolled, err)) < 0)
        return rc;
    if (out_packed)
        *out_packed += rolled;
    return 0;
}
