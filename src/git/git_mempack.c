/* git_mempack.c - the new objects of a large commit, kept in memory and written as one pack. */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <git2/sys/odb_backend.h>
#include <zlib.h>

#include "diaryx/hash.h"
#include "git_internal.h"

/* Why not libgit2's own mempack + git_mempack_dump: the dump only packs objects reachable
 * from commits in the mempack, and git_packbuilder searches deltas (about 4 s for 10,000
 * new 1-5 KB blobs) and its indexer hashes every object again. Here the objects are known
 * (blobs are hashed once by dx_git_build_tree, trees by libgit2 as it writes them), so the
 * pack is written undeltified, and its index directly. */

typedef struct mem_obj {
    git_oid id;
    git_object_t type;
    const void *data;
    size_t len;
    void *owned; /* data copied from a write, else NULL (caller's bytes) */
    int raw;     /* data is a whole pack entry (header + zlib stream) copied from a pack */
    uint32_t crc;
} mem_obj;

typedef struct mem_backend {
    git_odb_backend parent;
    mem_obj *v;
    size_t n, cap;
    size_t *slots; /* open addressing: index + 1, 0 = empty */
    size_t nslots;
} mem_backend;

static size_t oid_hash(const git_oid *id)
{
    size_t h;
    memcpy(&h, id->id, sizeof h);
    return h;
}

static mem_obj *mem_find(mem_backend *mb, const git_oid *id)
{
    if (!mb->nslots)
        return NULL;
    for (size_t i = oid_hash(id) & (mb->nslots - 1);; i = (i + 1) & (mb->nslots - 1)) {
        if (!mb->slots[i])
            return NULL;
        if (git_oid_equal(&mb->v[mb->slots[i] - 1].id, id))
            return &mb->v[mb->slots[i] - 1];
    }
}

static void mem_slot_put(mem_backend *mb, size_t idx)
{
    size_t i = oid_hash(&mb->v[idx].id) & (mb->nslots - 1);
    while (mb->slots[i])
        i = (i + 1) & (mb->nslots - 1);
    mb->slots[i] = idx + 1;
}

/* Adds the object unless present; data is copied when copy is set. */
static int mem_add(mem_backend *mb, const git_oid *id, git_object_t type, const void *data,
                   size_t len, int copy)
{
    if (mem_find(mb, id))
        return 0;
    if (mb->n == mb->cap) {
        size_t cap = mb->cap ? mb->cap * 2 : 1024;
        mem_obj *v = realloc(mb->v, cap * sizeof *v);
        if (!v)
            return -1;
        mb->v = v;
        mb->cap = cap;
    }
    if ((mb->n + 1) * 2 > mb->nslots) {
        size_t ns = mb->nslots ? mb->nslots * 2 : 2048;
        size_t *s = calloc(ns, sizeof *s);
        if (!s)
            return -1;
        free(mb->slots);
        mb->slots = s;
        mb->nslots = ns;
        for (size_t k = 0; k < mb->n; k++)
            mem_slot_put(mb, k);
    }
    mem_obj *o = &mb->v[mb->n];
    o->id = *id;
    o->type = type;
    o->len = len;
    o->owned = NULL;
    o->data = data;
    o->raw = 0;
    o->crc = 0;
    if (copy) {
        if (!(o->owned = malloc(len ? len : 1)))
            return -1;
        memcpy(o->owned, data, len);
        o->data = o->owned;
    }
    mem_slot_put(mb, mb->n);
    mb->n++;
    return 0;
}

static int mem_read(void **out, size_t *len, git_object_t *type, git_odb_backend *b,
                    const git_oid *id)
{
    mem_obj *o = mem_find((mem_backend *)b, id);
    if (!o || o->raw) /* a raw entry is still in its old pack */
        return GIT_ENOTFOUND;
    if (!(*out = git_odb_backend_data_alloc(b, o->len ? o->len : 1)))
        return -1;
    memcpy(*out, o->data, o->len);
    *len = o->len;
    *type = o->type;
    return 0;
}

static int mem_read_header(size_t *len, git_object_t *type, git_odb_backend *b, const git_oid *id)
{
    mem_obj *o = mem_find((mem_backend *)b, id);
    if (!o || o->raw)
        return GIT_ENOTFOUND;
    *len = o->len;
    *type = o->type;
    return 0;
}

static int mem_write(git_odb_backend *b, const git_oid *id, const void *data, size_t len,
                     git_object_t type)
{
    return mem_add((mem_backend *)b, id, type, data, len, 1);
}

static int mem_exists(git_odb_backend *b, const git_oid *id)
{
    return mem_find((mem_backend *)b, id) != NULL;
}

static void mem_free(git_odb_backend *b)
{
    mem_backend *mb = (mem_backend *)b;
    for (size_t i = 0; i < mb->n; i++)
        free(mb->v[i].owned);
    free(mb->v);
    free(mb->slots);
    free(mb);
}

/* The repository's packs, read-only, never rescanned. libgit2 rescans objects/pack (a readdir
 * and a stat per pack) whenever an object is not found, and every new object it writes is
 * first looked for: ~30 rescans for the ~30 new trees of a small commit. The packs that
 * matter (those holding the parent's trees) exist when the commit starts. */
typedef struct packs_view {
    git_odb_backend parent;
    git_odb_backend *inner; /* libgit2's pack backend */
} packs_view;

static git_odb_backend *inner_of(git_odb_backend *b)
{
    return ((packs_view *)b)->inner;
}

static int pv_read(void **out, size_t *len, git_object_t *type, git_odb_backend *b,
                   const git_oid *id)
{
    return inner_of(b)->read(out, len, type, inner_of(b), id);
}

static int pv_read_prefix(git_oid *full, void **out, size_t *len, git_object_t *type,
                          git_odb_backend *b, const git_oid *id, size_t n)
{
    return inner_of(b)->read_prefix(full, out, len, type, inner_of(b), id, n);
}

static int pv_read_header(size_t *len, git_object_t *type, git_odb_backend *b, const git_oid *id)
{
    return inner_of(b)->read_header(len, type, inner_of(b), id);
}

static int pv_exists(git_odb_backend *b, const git_oid *id)
{
    return inner_of(b)->exists(inner_of(b), id);
}

static int pv_exists_prefix(git_oid *full, git_odb_backend *b, const git_oid *id, size_t n)
{
    return inner_of(b)->exists_prefix(full, inner_of(b), id, n);
}

static void pv_free(git_odb_backend *b)
{
    git_odb_backend *in = inner_of(b);
    if (in)
        in->free(in);
    free(b);
}

/* Add the repository's loose objects and (a never-rescanned view of) its packs to odb. */
static int add_repo_backends(git_odb *odb, const char *objects, dx_error *err)
{
    git_odb_backend *loose = NULL, *packs = NULL;
    packs_view *pv = NULL;
    int gr;
    if ((gr = git_odb_backend_loose(&loose, objects, -1, 0, 0, 0)) < 0 ||
        (gr = git_odb_add_backend(odb, loose, 1)) < 0) {
        if (loose)
            loose->free(loose);
        return dx_git_fail(err, gr, "cannot open the loose objects of '%s'", objects);
    }
    if ((gr = git_odb_backend_pack(&packs, objects)) < 0)
        return dx_git_fail(err, gr, "cannot open the packs of '%s'", objects);
    if (!(pv = calloc(1, sizeof *pv))) {
        packs->free(packs);
        return dx_error_set(err, DX_ENOMEM, "out of memory");
    }
    git_odb_init_backend(&pv->parent, GIT_ODB_BACKEND_VERSION);
    pv->inner = packs;
    packs->odb = odb;
    pv->parent.read = packs->read ? pv_read : NULL;
    pv->parent.read_prefix = packs->read_prefix ? pv_read_prefix : NULL;
    pv->parent.read_header = packs->read_header ? pv_read_header : NULL;
    pv->parent.exists = packs->exists ? pv_exists : NULL;
    pv->parent.exists_prefix = packs->exists_prefix ? pv_exists_prefix : NULL;
    pv->parent.free = pv_free;
    if ((gr = git_odb_add_backend(odb, &pv->parent, 2)) < 0) {
        pv_free(&pv->parent);
        return dx_git_fail(err, gr, "cannot open the packs of '%s'", objects);
    }
    return 0;
}

int dx_git_mempack_begin(dx_git *g, dx_git_mempack *m, dx_error *err)
{
    char dir[4096];
    int gr, rc;
    memset(m, 0, sizeof *m);
    snprintf(dir, sizeof dir, "%sobjects", git_repository_path(g->repo));
    mem_backend *mb = calloc(1, sizeof *mb);
    if (!mb)
        return dx_error_set(err, DX_ENOMEM, "out of memory");
    git_odb_init_backend(&mb->parent, GIT_ODB_BACKEND_VERSION);
    mb->parent.read = mem_read;
    mb->parent.read_header = mem_read_header;
    mb->parent.write = mem_write;
    mb->parent.exists = mem_exists;
    mb->parent.free = mem_free;
    /* A separate odb over the same objects directory, with the memory in front for writes:
     * the repository's own odb keeps writing loose objects for everything else (libgit2 has
     * no way to take a backend out of an odb again). */
    if ((gr = git_odb_new(&m->odb)) < 0) {
        mem_free(&mb->parent);
        return dx_git_fail(err, gr, "cannot set up an in-memory object store");
    }
    if ((gr = git_odb_add_backend(m->odb, &mb->parent, 1000)) < 0) {
        mem_free(&mb->parent);
        dx_git_mempack_release(m);
        return dx_git_fail(err, gr, "cannot set up an in-memory object store");
    }
    m->backend = &mb->parent;
    if ((rc = add_repo_backends(m->odb, dir, err)) < 0) {
        dx_git_mempack_release(m);
        return rc;
    }
    if ((gr = git_repository_wrap_odb(&m->repo, m->odb)) < 0) {
        dx_git_mempack_release(m);
        return dx_git_fail(err, gr, "cannot set up an in-memory object store");
    }
    return 0;
}

int dx_git_mempack_add_blob(dx_git_mempack *m, const git_oid *id, const void *data, size_t len,
                            dx_error *err)
{
    if (mem_add((mem_backend *)m->backend, id, GIT_OBJECT_BLOB, data, len, 0) < 0)
        return dx_error_set(err, DX_ENOMEM, "out of memory");
    return 0;
}

int dx_git_mempack_add_copy(dx_git_mempack *m, const git_oid *id, git_object_t type,
                            const void *data, size_t len, dx_error *err)
{
    if (mem_add((mem_backend *)m->backend, id, type, data, len, 1) < 0)
        return dx_error_set(err, DX_ENOMEM, "out of memory");
    return 0;
}

int dx_git_mempack_add_raw(dx_git_mempack *m, const git_oid *id, const void *entry, size_t len,
                           uint32_t crc, dx_error *err)
{
    mem_backend *mb = (mem_backend *)m->backend;
    size_t before = mb->n;
    if (mem_add(mb, id, GIT_OBJECT_INVALID, entry, len, 1) < 0)
        return dx_error_set(err, DX_ENOMEM, "out of memory");
    if (mb->n > before) {
        mb->v[before].raw = 1;
        mb->v[before].crc = crc;
    }
    return 0;
}

static void be32(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char)(v >> 24);
    p[1] = (unsigned char)(v >> 16);
    p[2] = (unsigned char)(v >> 8);
    p[3] = (unsigned char)v;
}

/* A file written through stdio whose SHA-1 is computed along the way. */
typedef struct hashed_file {
    FILE *f;
    dx_hash md;
    uint64_t off;
    int bad;
} hashed_file;

static void hf_write(hashed_file *h, const void *p, size_t n)
{
    if (h->bad)
        return;
    if (fwrite(p, 1, n, h->f) != n || dx_hash_update(&h->md, p, n) < 0)
        h->bad = 1;
    h->off += n;
}

static int hf_finish(hashed_file *h, unsigned char sum[20])
{
    /* the checksum itself is written, not hashed */
    if (h->bad || dx_hash_final(&h->md, sum) < 0 || fwrite(sum, 1, 20, h->f) != 20)
        return -1;
    h->off += 20;
    return fflush(h->f) != 0 ? -1 : 0;
}

typedef struct pack_pos {
    git_oid id;
    uint64_t off;
    uint32_t crc;
} pack_pos;

static int cmp_pos(const void *a, const void *b)
{
    return git_oid_cmp(&((const pack_pos *)a)->id, &((const pack_pos *)b)->id);
}

/* Pack data: "PACK", version 2, count, then each object as a type+size header and its zlib
 * stream (no deltas), then the SHA-1 of all that. */
/* Compression of objects [from, to) of a pack, each into its own buffer (raw entries are
 * left alone). Two streams: deflateReset clears the match hash table (64 KB at the default
 * memLevel) before every object, which costs more than compressing a small tree or note
 * (11.5 vs 7.4 us for 200 bytes); objects under 1 KB get a stream with a 16 KB table
 * (memLevel 6). Not smaller: memLevel also sizes the literal buffer, and at 2 a 3 KB blob
 * took 3.4x longer. The big one is set up only when a big object comes. */
typedef struct zjob {
    const mem_backend *mb;
    size_t from, to;
    unsigned char **buf; /* per object of the pack */
    size_t *blen;
    int rc;
} zjob;

static int zjob_run(zjob *j)
{
    z_stream zbig, zsmall;
    int have_big = 0, rc = 0;
    memset(&zbig, 0, sizeof zbig);
    memset(&zsmall, 0, sizeof zsmall);
    if (deflateInit2(&zsmall, Z_BEST_SPEED, Z_DEFLATED, 15, 6, Z_DEFAULT_STRATEGY) != Z_OK)
        return -1;
    for (size_t i = j->from; i < j->to && rc == 0; i++) {
        const mem_obj *o = &j->mb->v[i];
        if (o->raw)
            continue;
        z_stream *z = o->len < 1024 ? &zsmall : &zbig;
        if (z == &zbig && !have_big) {
            if (deflateInit(&zbig, Z_BEST_SPEED) != Z_OK) {
                rc = -1;
                break;
            }
            have_big = 1;
        }
        size_t bound = deflateBound(z, (uLong)o->len);
        unsigned char *out = malloc(bound ? bound : 1);
        if (!out) {
            rc = -1;
            break;
        }
        deflateReset(z);
        z->next_in = (Bytef *)o->data;
        z->avail_in = (uInt)o->len;
        z->next_out = out;
        z->avail_out = (uInt)bound;
        if (deflate(z, Z_FINISH) != Z_STREAM_END) {
            free(out);
            rc = -1;
            break;
        }
        j->buf[i] = out;
        j->blen[i] = bound - z->avail_out;
    }
    if (have_big)
        deflateEnd(&zbig);
    deflateEnd(&zsmall);
    return rc;
}

static void *zjob_thread(void *p)
{
    zjob *j = p;
    j->rc = zjob_run(j);
    return NULL;
}

/* Packs of at least this many bytes to compress are compressed on two threads (the first
 * commit of a workspace: deflate was ~80% of writing its pack). */
#define PARALLEL_DEFLATE_BYTES (1u << 20)

static int write_pack_data(mem_backend *mb, hashed_file *h, pack_pos *pos, unsigned char sum[20])
{
    unsigned char hdr[16];
    unsigned char **buf = calloc(mb->n ? mb->n : 1, sizeof *buf);
    size_t *blen = calloc(mb->n ? mb->n : 1, sizeof *blen);
    if (!buf || !blen) {
        free(buf);
        free(blen);
        return -1;
    }
    /* Split at half of the bytes: the second half on a thread, the first here. */
    size_t total = 0, half = 0, mid = mb->n;
    for (size_t i = 0; i < mb->n; i++)
        total += mb->v[i].raw ? 0 : mb->v[i].len;
    for (size_t i = 0; total >= PARALLEL_DEFLATE_BYTES && i < mb->n; i++) {
        half += mb->v[i].raw ? 0 : mb->v[i].len;
        if (half >= total / 2) {
            mid = i + 1;
            break;
        }
    }
    zjob first = {mb, 0, mid, buf, blen, 0}, second = {mb, mid, mb->n, buf, blen, 0};
    pthread_t worker;
    int threaded = mid < mb->n && pthread_create(&worker, NULL, zjob_thread, &second) == 0;
    first.rc = zjob_run(&first);
    if (threaded)
        pthread_join(worker, NULL);
    else if (mid < mb->n)
        second.rc = zjob_run(&second);
    int rc = first.rc || second.rc ? -1 : 0;
    memcpy(hdr, "PACK", 4);
    be32(hdr + 4, 2);
    be32(hdr + 8, (uint32_t)mb->n);
    if (rc == 0)
        hf_write(h, hdr, 12);
    for (size_t i = 0; i < mb->n && rc == 0 && !h->bad; i++) {
        const mem_obj *o = &mb->v[i];
        pos[i].id = o->id;
        pos[i].off = h->off;
        if (o->raw) {
            pos[i].crc = o->crc;
            hf_write(h, o->data, o->len);
            continue;
        }
        size_t len = o->len, hl = 0;
        hdr[hl++] = (unsigned char)((len >= 16 ? 0x80 : 0) | ((unsigned)o->type << 4) | (len & 15));
        for (len >>= 4; len; len >>= 7)
            hdr[hl++] = (unsigned char)((len >= 128 ? 0x80 : 0) | (len & 127));
        pos[i].crc = (uint32_t)crc32(crc32(0, hdr, (uInt)hl), buf[i], (uInt)blen[i]);
        hf_write(h, hdr, hl);
        hf_write(h, buf[i], blen[i]);
    }
    for (size_t i = 0; i < mb->n; i++)
        free(buf[i]);
    free(buf);
    free(blen);
    if (rc == 0)
        rc = hf_finish(h, sum);
    return rc;
}

/* Index version 2: fan-out, sorted ids, CRCs, offsets (64-bit ones in a second table), the
 * pack's SHA-1, then the SHA-1 of the index. */
static int write_pack_index(const pack_pos *pos, size_t n, const unsigned char pack_sum[20],
                            hashed_file *h)
{
    unsigned char b[8];
    uint32_t fan[256] = {0};
    static const unsigned char magic[8] = {0xff, 't', 'O', 'c', 0, 0, 0, 2};
    hf_write(h, magic, 8);
    for (size_t i = 0; i < n; i++)
        fan[pos[i].id.id[0]]++;
    for (int i = 1; i < 256; i++)
        fan[i] += fan[i - 1];
    for (int i = 0; i < 256; i++) {
        be32(b, fan[i]);
        hf_write(h, b, 4);
    }
    for (size_t i = 0; i < n; i++)
        hf_write(h, pos[i].id.id, 20);
    for (size_t i = 0; i < n; i++) {
        be32(b, pos[i].crc);
        hf_write(h, b, 4);
    }
    uint32_t nlarge = 0;
    for (size_t i = 0; i < n; i++) {
        uint64_t off = pos[i].off;
        be32(b, off < 0x80000000u ? (uint32_t)off : (0x80000000u | nlarge++));
        hf_write(h, b, 4);
    }
    for (size_t i = 0; i < n; i++) {
        uint64_t off = pos[i].off;
        if (off >= 0x80000000u) {
            be32(b, (uint32_t)(off >> 32));
            be32(b + 4, (uint32_t)off);
            hf_write(h, b, 8);
        }
    }
    hf_write(h, pack_sum, 20);
    unsigned char sum[20];
    return hf_finish(h, sum);
}

static int open_temp(const char *dir, char *path, size_t cap, hashed_file *h)
{
    snprintf(path, cap, "%s/tmp_dxpack_XXXXXX", dir);
    int fd = mkstemp(path);
    if (fd < 0)
        return -1;
    if (!(h->f = fdopen(fd, "wb"))) {
        close(fd);
        unlink(path);
        return -1;
    }
    setvbuf(h->f, NULL, _IOFBF, 1 << 20);
    if (dx_hash_begin(&h->md, DX_HASH_SHA1) < 0)
        return -1;
    return 0;
}

static int close_temp(hashed_file *h)
{
    int r = 0;
    if (h->f && fclose(h->f) != 0)
        r = -1;
    h->f = NULL;
    dx_hash_release(&h->md);
    return r;
}

int dx_git_mempack_finish(dx_git *g, dx_git_mempack *m, char *out_name, size_t *out_objects,
                          dx_error *err)
{
    mem_backend *mb = (mem_backend *)m->backend;
    char dir[4096], tpack[4200] = "", tidx[4200] = "", fpack[4200], fidx[4200], hex[41];
    hashed_file hp = {0}, hi = {0};
    unsigned char sum[20];
    pack_pos *pos = NULL;
    git_odb *odb = NULL;
    int rc = 0, gr;
    if (out_objects)
        *out_objects = 0;
    if (mb->n == 0)
        return 0;
    snprintf(dir, sizeof dir, "%sobjects/pack", git_repository_path(g->repo));
    mkdir(dir, 0777);
    pos = calloc(mb->n, sizeof *pos);
    if (!pos) {
        rc = dx_error_set(err, DX_ENOMEM, "out of memory writing a pack");
        goto done;
    }
    if (open_temp(dir, tpack, sizeof tpack, &hp) < 0 || write_pack_data(mb, &hp, pos, sum) < 0 ||
        close_temp(&hp) < 0) {
        rc = dx_error_set(err, DX_EIO, "cannot write a pack of %zu objects in '%s': %s", mb->n, dir,
                          strerror(errno));
        goto done;
    }
    qsort(pos, mb->n, sizeof *pos, cmp_pos);
    if (open_temp(dir, tidx, sizeof tidx, &hi) < 0 || write_pack_index(pos, mb->n, sum, &hi) < 0 ||
        close_temp(&hi) < 0) {
        rc = dx_error_set(err, DX_EIO, "cannot write a pack index in '%s': %s", dir,
                          strerror(errno));
        goto done;
    }
    dx_hash_hex(sum, 20, hex);
    snprintf(fpack, sizeof fpack, "%s/pack-%s.pack", dir, hex);
    snprintf(fidx, sizeof fidx, "%s/pack-%s.idx", dir, hex);
    /* the .idx last: git and libgit2 only use a pack once its index exists */
    chmod(tpack, 0444);
    chmod(tidx, 0444);
    if (rename(tpack, fpack) < 0 || rename(tidx, fidx) < 0) {
        rc = dx_error_set(err, DX_EIO, "cannot install pack '%s': %s", fpack, strerror(errno));
        goto done;
    }
    tpack[0] = tidx[0] = 0;
    if ((gr = git_repository_odb(&odb, g->repo)) < 0 || (gr = git_odb_refresh(odb)) < 0) {
        rc = dx_git_fail(err, gr, "cannot reload the packs");
        goto done;
    }
    if (out_objects)
        *out_objects = mb->n;
    if (out_name)
        snprintf(out_name, 80, "pack-%s", hex);
done:
    close_temp(&hp);
    close_temp(&hi);
    if (tpack[0])
        unlink(tpack);
    if (tidx[0])
        unlink(tidx);
    free(pos);
    git_odb_free(odb);
    return rc;
}

void dx_git_mempack_release(dx_git_mempack *m)
{
    git_repository_free(m->repo);
    git_odb_free(m->odb); /* frees the memory backend */
    memset(m, 0, sizeof *m);
}
