/* zip.c - ZIP archives: a streaming writer to a callback and a checking reader; no I/O. */
#include "diaryx/zip.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#include "diaryx/buf.h"
#include "diaryx/strmap.h"

#define SIG_LOCAL   0x04034b50u
#define SIG_CENTRAL 0x02014b50u
#define SIG_DESC    0x08074b50u
#define SIG_EOCD    0x06054b50u
#define SIG_EOCD64  0x06064b50u
#define SIG_LOC64   0x07064b50u

#define FLAG_ENCRYPTED 0x0001u
#define FLAG_DESC      0x0008u
#define FLAG_STRONG    0x0040u
#define FLAG_UTF8      0x0800u

#define U32_MAX_ 0xFFFFFFFFu
#define U16_MAX_ 0xFFFFu
#define CHUNK    65536
/* An entry declared this close to 4 GiB gets ZIP64 sizes from the start: deflate can add a
 * little to data that does not compress. */
#define ZIP64_MARGIN ((uint64_t)1 << 20)

static void put16(unsigned char *p, unsigned v)
{
    p[0] = (unsigned char)v;
    p[1] = (unsigned char)(v >> 8);
}
static void put32(unsigned char *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}
static void put64(unsigned char *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}
static unsigned get16(const unsigned char *p)
{
    return (unsigned)p[0] | (unsigned)p[1] << 8;
}
static uint32_t get32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static uint64_t get64(const unsigned char *p)
{
    return get32(p) | (uint64_t)get32(p + 4) << 32;
}

/* ---- names ------------------------------------------------------------------------------ */

static size_t utf8_char_len(const unsigned char *s, size_t left)
{
    unsigned c = s[0];
    size_t n = c < 0x80             ? 1
               : (c & 0xE0) == 0xC0 ? 2
               : (c & 0xF0) == 0xE0 ? 3
               : (c & 0xF8) == 0xF0 ? 4
                                    : 0;
    if (!n || n > left || (n == 2 && c < 0xC2))
        return 0;
    for (size_t i = 1; i < n; i++)
        if ((s[i] & 0xC0) != 0x80)
            return 0;
    return n;
}

int dx_zip_check_name(const char *name, size_t len, dx_error *err)
{
    const unsigned char *s = (const unsigned char *)name;
    const char *why = NULL;
    if (len == 0)
        why = "is empty";
    else if (len > 4096)
        why = "is longer than 4096 bytes";
    else if (memchr(name, 0, len))
        why = "holds a NUL byte";
    else if (s[0] == '/')
        why = "is an absolute path";
    else if (len >= 2 && s[1] == ':' && ((s[0] | 0x20) >= 'a' && (s[0] | 0x20) <= 'z'))
        why = "starts with a drive letter";
    else if (memchr(name, '\\', len))
        why = "holds a backslash (a Windows path separator)";
    for (size_t i = 0; !why && i < len;) {
        if (s[i] < 0x20 || s[i] == 0x7f) {
            why = "holds a control character";
            break;
        }
        size_t n = utf8_char_len(s + i, len - i);
        if (!n)
            why = "is not UTF-8";
        i += n ? n : 1;
    }
    for (size_t start = 0; !why && start < len;) {
        const char *slash = memchr(name + start, '/', len - start);
        size_t end = slash ? (size_t)(slash - name) : len, clen = end - start;
        if (clen == 0)
            why = "has an empty component ('//')";
        else if (clen == 1 && name[start] == '.')
            why = "has a '.' component";
        else if (clen == 2 && name[start] == '.' && name[start + 1] == '.')
            why = "has a '..' component (it would be written outside the destination)";
        if (!slash || end + 1 == len)
            break; /* a trailing '/' marks a directory */
        start = end + 1;
    }
    if (!why)
        return 0;
    return dx_error_set(err, DX_EPATH,
                        "entry '%.*s' %s: refusing the archive (only relative '/'-separated "
                        "paths inside the destination can be unpacked)",
                        (int)(len > 200 ? 200 : len), name, why);
}

/* ---- writer ----------------------------------------------------------------------------- */

typedef struct cd_rec {
    char *name;
    uint16_t method;
    uint32_t crc, dos_time;
    uint64_t csize, usize, off;
    unsigned mode;
    bool dir, zip64;
} cd_rec;

struct dx_zip_writer {
    dx_zip_write_fn write;
    void *ud;
    uint64_t pos;
    int failed;
    cd_rec *recs;
    size_t n, cap;
    bool open;
    z_stream z;
    bool z_init;
    unsigned char out[CHUNK];
};

int dx_zip_writer_new(dx_zip_write_fn write, void *ud, dx_zip_writer **out, dx_error *err)
{
    dx_zip_writer *w = calloc(1, sizeof *w);
    if (!w)
        return dx_error_set(err, DX_ENOMEM, "out of memory starting a ZIP archive");
    w->write = write;
    w->ud = ud;
    *out = w;
    return 0;
}

void dx_zip_writer_free(dx_zip_writer *w)
{
    if (!w)
        return;
    if (w->z_init)
        deflateEnd(&w->z);
    for (size_t i = 0; i < w->n; i++)
        free(w->recs[i].name);
    free(w->recs);
    free(w);
}

uint64_t dx_zip_written(const dx_zip_writer *w)
{
    return w->pos;
}

uint32_t dx_zip_dos_time(int64_t unix_time)
{
    if (unix_time < 315532800) /* 1980-01-01 */
        return 0x00210000u;
    time_t t = (time_t)unix_time;
    struct tm tm;
    if (!gmtime_r(&t, &tm) || tm.tm_year > 207)
        return 0x00210000u;
    uint32_t date = (uint32_t)((tm.tm_year - 80) << 9 | (tm.tm_mon + 1) << 5 | tm.tm_mday);
    uint32_t tim = (uint32_t)(tm.tm_hour << 11 | tm.tm_min << 5 | tm.tm_sec / 2);
    return date << 16 | tim;
}

static int emit(dx_zip_writer *w, const void *data, size_t len, dx_error *err)
{
    if (w->failed)
        return w->failed;
    if (!len)
        return 0;
    int rc = w->write(w->ud, data, len, err);
    if (rc)
        w->failed = rc < 0 ? rc : DX_EIO;
    w->pos += len;
    return w->failed;
}

int dx_zip_begin(dx_zip_writer *w, const char *name, unsigned mode, dx_zip_method method,
                 uint32_t dos_time, uint64_t size_hint, dx_error *err)
{
    if (w->failed)
        return w->failed;
    if (w->open)
        return dx_error_set(err, DX_EINVAL, "ZIP entry '%s' begun while another is open", name);
    size_t nlen = strlen(name);
    int rc = dx_zip_check_name(name, nlen, err);
    if (rc)
        return rc;
    if (nlen > U16_MAX_)
        return dx_error_set(err, DX_ELIMIT, "ZIP entry name '%.100s...' is too long", name);
    if (method != DX_ZIP_STORE && method != DX_ZIP_DEFLATE)
        return dx_error_set(err, DX_EINVAL, "ZIP entry '%s': unknown method %d", name, method);
    bool dir = name[nlen - 1] == '/';
    if (w->n == w->cap) {
        size_t cap = w->cap ? w->cap * 2 : 64;
        cd_rec *r = realloc(w->recs, cap * sizeof *r);
        if (!r)
            return dx_error_set(err, DX_ENOMEM, "out of memory adding '%s' to a ZIP archive", name);
        w->recs = r;
        w->cap = cap;
    }
    cd_rec *r = &w->recs[w->n];
    memset(r, 0, sizeof *r);
    r->name = strdup(name);
    if (!r->name)
        return dx_error_set(err, DX_ENOMEM, "out of memory adding '%s' to a ZIP archive", name);
    r->method = dir ? DX_ZIP_STORE : (uint16_t)method;
    r->dos_time = dos_time;
    r->off = w->pos;
    r->mode = mode & 07777;
    r->dir = dir;
    r->zip64 = size_hint >= (uint64_t)U32_MAX_ - ZIP64_MARGIN || w->pos >= U32_MAX_;
    w->n++;
    if (r->method == DX_ZIP_DEFLATE) {
        if (w->z_init)
            rc = deflateReset(&w->z) == Z_OK ? 0 : DX_ENOMEM;
        else {
            memset(&w->z, 0, sizeof w->z);
            rc = deflateInit2(&w->z, 6, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY) == Z_OK ? 0
                                                                                        : DX_ENOMEM;
            w->z_init = rc == 0;
        }
        if (rc)
            return dx_error_set(err, rc, "cannot start deflating '%s': out of memory", name);
    }
    unsigned char h[30 + 20];
    put32(h, SIG_LOCAL);
    put16(h + 4, r->zip64 ? 45 : 20);
    put16(h + 6, FLAG_DESC | FLAG_UTF8);
    put16(h + 8, r->method);
    put32(h + 10, dos_time);
    put32(h + 14, 0);
    put32(h + 18, r->zip64 ? U32_MAX_ : 0);
    put32(h + 22, r->zip64 ? U32_MAX_ : 0);
    put16(h + 26, (unsigned)nlen);
    put16(h + 28, r->zip64 ? 20 : 0);
    if ((rc = emit(w, h, 30, err)) || (rc = emit(w, name, nlen, err)))
        return rc;
    if (r->zip64) {
        memset(h, 0, 20);
        put16(h, 1);
        put16(h + 2, 16);
        if ((rc = emit(w, h, 20, err)))
            return rc;
    }
    w->open = true;
    return 0;
}

static int deflate_out(dx_zip_writer *w, cd_rec *r, int flush, dx_error *err)
{
    int zrc;
    do {
        w->z.next_out = w->out;
        w->z.avail_out = sizeof w->out;
        zrc = deflate(&w->z, flush);
        if (zrc == Z_STREAM_ERROR)
            return dx_error_set(err, DX_EIO, "cannot deflate '%s'", r->name);
        size_t got = sizeof w->out - w->z.avail_out;
        r->csize += got;
        int rc = emit(w, w->out, got, err);
        if (rc)
            return rc;
    } while (w->z.avail_out == 0 || (flush == Z_FINISH && zrc != Z_STREAM_END));
    return 0;
}

int dx_zip_write_data(dx_zip_writer *w, const void *data, size_t len, dx_error *err)
{
    if (w->failed)
        return w->failed;
    if (!w->open)
        return dx_error_set(err, DX_EINVAL, "ZIP data written with no entry open");
    cd_rec *r = &w->recs[w->n - 1];
    if (r->dir && len)
        return dx_error_set(err, DX_EINVAL, "ZIP directory entry '%s' cannot hold data", r->name);
    const unsigned char *p = data;
    while (len) {
        size_t part = len > (1u << 30) ? (1u << 30) : len;
        r->crc = (uint32_t)crc32(r->crc, p, (uInt)part);
        r->usize += part;
        int rc;
        if (r->method == DX_ZIP_STORE) {
            r->csize += part;
            rc = emit(w, p, part, err);
        } else {
            w->z.next_in = (Bytef *)p;
            w->z.avail_in = (uInt)part;
            rc = deflate_out(w, r, Z_NO_FLUSH, err);
        }
        if (rc)
            return rc;
        p += part;
        len -= part;
    }
    return 0;
}

int dx_zip_end(dx_zip_writer *w, dx_error *err)
{
    if (w->failed)
        return w->failed;
    if (!w->open)
        return dx_error_set(err, DX_EINVAL, "ZIP entry ended with none open");
    cd_rec *r = &w->recs[w->n - 1];
    int rc = 0;
    if (r->method == DX_ZIP_DEFLATE) {
        w->z.next_in = NULL;
        w->z.avail_in = 0;
        rc = deflate_out(w, r, Z_FINISH, err);
        if (rc)
            return rc;
    }
    if (!r->zip64 && (r->csize >= U32_MAX_ || r->usize >= U32_MAX_))
        return w->failed = dx_error_set(err, DX_ELIMIT,
                                        "ZIP entry '%s' grew past 4 GiB without a size declared "
                                        "up front (pass its size to dx_zip_begin)",
                                        r->name);
    unsigned char d[24];
    put32(d, SIG_DESC);
    put32(d + 4, r->crc);
    size_t dl;
    if (r->zip64) {
        put64(d + 8, r->csize);
        put64(d + 16, r->usize);
        dl = 24;
    } else {
        put32(d + 8, (uint32_t)r->csize);
        put32(d + 12, (uint32_t)r->usize);
        dl = 16;
    }
    w->open = false;
    return emit(w, d, dl, err);
}

int dx_zip_add(dx_zip_writer *w, const char *name, unsigned mode, dx_zip_method method,
               uint32_t dos_time, const void *data, size_t len, dx_error *err)
{
    int rc = dx_zip_begin(w, name, mode, method, dos_time, len, err);
    if (!rc)
        rc = dx_zip_write_data(w, data, len, err);
    if (!rc)
        rc = dx_zip_end(w, err);
    return rc;
}

static int write_central(dx_zip_writer *w, const cd_rec *r, dx_error *err)
{
    unsigned char h[46], x[28];
    size_t xl = 0;
    bool big_u = r->usize >= U32_MAX_, big_c = r->csize >= U32_MAX_, big_o = r->off >= U32_MAX_;
    if (big_u || big_c || big_o) {
        xl = 4;
        if (big_u)
            put64(x + xl, r->usize), xl += 8;
        if (big_c)
            put64(x + xl, r->csize), xl += 8;
        if (big_o)
            put64(x + xl, r->off), xl += 8;
        put16(x, 1);
        put16(x + 2, (unsigned)(xl - 4));
    }
    size_t nlen = strlen(r->name);
    uint32_t type = r->dir ? S_IFDIR : S_IFREG;
    put32(h, SIG_CENTRAL);
    put16(h + 4, 3u << 8 | 45); /* made by Unix, spec 4.5 */
    put16(h + 6, r->zip64 || xl ? 45 : 20);
    put16(h + 8, FLAG_DESC | FLAG_UTF8);
    put16(h + 10, r->method);
    put32(h + 12, r->dos_time);
    put32(h + 16, r->crc);
    put32(h + 20, big_c ? U32_MAX_ : (uint32_t)r->csize);
    put32(h + 24, big_u ? U32_MAX_ : (uint32_t)r->usize);
    put16(h + 28, (unsigned)nlen);
    put16(h + 30, (unsigned)xl);
    put16(h + 32, 0);
    put16(h + 34, 0);
    put16(h + 36, 0);
    put32(h + 38, (type | r->mode) << 16 | (r->dir ? 0x10u : 0u));
    put32(h + 42, big_o ? U32_MAX_ : (uint32_t)r->off);
    int rc = emit(w, h, 46, err);
    if (!rc)
        rc = emit(w, r->name, nlen, err);
    if (!rc)
        rc = emit(w, x, xl, err);
    return rc;
}

int dx_zip_finish(dx_zip_writer *w, dx_error *err)
{
    if (w->failed)
        return w->failed;
    if (w->open)
        return dx_error_set(err, DX_EINVAL, "ZIP archive finished with an entry open");
    uint64_t cd_off = w->pos;
    int rc = 0;
    for (size_t i = 0; i < w->n && !rc; i++)
        rc = write_central(w, &w->recs[i], err);
    if (rc)
        return rc;
    uint64_t cd_size = w->pos - cd_off;
    bool z64 = w->n >= U16_MAX_ || cd_off >= U32_MAX_ || cd_size >= U32_MAX_;
    if (z64) {
        uint64_t rec_off = w->pos;
        unsigned char e[56 + 20];
        put32(e, SIG_EOCD64);
        put64(e + 4, 44);
        put16(e + 12, 3u << 8 | 45);
        put16(e + 14, 45);
        put32(e + 16, 0);
        put32(e + 20, 0);
        put64(e + 24, w->n);
        put64(e + 32, w->n);
        put64(e + 40, cd_size);
        put64(e + 48, cd_off);
        put32(e + 56, SIG_LOC64);
        put32(e + 60, 0);
        put64(e + 64, rec_off);
        put32(e + 72, 1);
        if ((rc = emit(w, e, sizeof e, err)))
            return rc;
    }
    unsigned char e[22];
    put32(e, SIG_EOCD);
    put16(e + 4, 0);
    put16(e + 6, 0);
    put16(e + 8, z64 ? U16_MAX_ : (unsigned)w->n);
    put16(e + 10, z64 ? U16_MAX_ : (unsigned)w->n);
    put32(e + 12, z64 ? U32_MAX_ : (uint32_t)cd_size);
    put32(e + 16, z64 ? U32_MAX_ : (uint32_t)cd_off);
    put16(e + 20, 0);
    return emit(w, e, sizeof e, err);
}

/* ---- reader ----------------------------------------------------------------------------- */

typedef struct entry_int {
    dx_zip_entry e;
    uint64_t local_off;
    uint16_t flags;
} entry_int;

struct dx_zip_reader {
    dx_zip_read_fn read;
    void *ud;
    uint64_t size;
    dx_zip_limits lim;
    char label[256];
    entry_int *ents;
    size_t n;
    dx_buf names; /* every name, NUL-separated; the entries point into it once complete */
    uint64_t cd_off;
    /* a read window over the source, for the many small reads of the central directory */
    unsigned char win[CHUNK];
    uint64_t win_off;
    size_t win_len;
    unsigned char in[CHUNK], out[CHUNK];
};

static int src_read(dx_zip_reader *r, uint64_t off, void *buf, size_t len, dx_error *err)
{
    if (off > r->size || len > r->size - off)
        return dx_error_set(err, DX_ECORRUPT,
                            "%s is damaged or cut short: a record runs past its end (%llu bytes)",
                            r->label, (unsigned long long)r->size);
    if (len <= sizeof r->win) {
        if (off < r->win_off || off + len > r->win_off + r->win_len) {
            size_t want = sizeof r->win;
            if ((uint64_t)want > r->size - off)
                want = (size_t)(r->size - off);
            int rc = r->read(r->ud, off, r->win, want, err);
            if (rc)
                return rc;
            r->win_off = off;
            r->win_len = want;
        }
        memcpy(buf, r->win + (off - r->win_off), len);
        return 0;
    }
    return r->read(r->ud, off, buf, len, err);
}

static int corrupt(dx_zip_reader *r, dx_error *err, const char *what)
{
    return dx_error_set(err, DX_ECORRUPT, "%s is not a readable ZIP archive: %s", r->label, what);
}

static int find_end(dx_zip_reader *r, uint64_t *entries, uint64_t *cd_size, uint64_t *cd_off,
                    uint64_t *end_off, dx_error *err)
{
    if (r->size < 22)
        return corrupt(r, err, "too short to hold an end record");
    size_t tail = r->size < 22 + 65535 ? (size_t)r->size : 22 + 65535;
    unsigned char *t = malloc(tail);
    if (!t)
        return dx_error_set(err, DX_ENOMEM, "out of memory reading %s", r->label);
    int rc = r->read(r->ud, r->size - tail, t, tail, err);
    size_t at = tail;
    for (size_t i = tail - 22 + 1; !rc && i-- > 0;)
        if (get32(t + i) == SIG_EOCD && i + 22 + get16(t + i + 20) == tail) {
            at = i;
            break;
        }
    if (!rc && at == tail)
        rc = corrupt(r, err, "no end of central directory record");
    if (!rc) {
        unsigned char *e = t + at;
        *end_off = r->size - tail + at;
        if (get16(e + 4) || get16(e + 6) || get16(e + 8) != get16(e + 10))
            rc = dx_error_set(err, DX_EUNSUPPORTED,
                              "%s spans several disks: multi-part archives are not supported "
                              "(join the parts into one archive)",
                              r->label);
        *entries = get16(e + 10);
        *cd_size = get32(e + 12);
        *cd_off = get32(e + 16);
    }
    bool z64 = *entries == U16_MAX_ || *cd_size == U32_MAX_ || *cd_off == U32_MAX_;
    if (!rc && z64) {
        unsigned char l[20], e[56];
        if (*end_off < 20)
            rc = corrupt(r, err, "ZIP64 locator missing");
        if (!rc)
            rc = src_read(r, *end_off - 20, l, 20, err);
        if (!rc && get32(l) != SIG_LOC64)
            rc = corrupt(r, err, "ZIP64 locator missing");
        if (!rc && get64(l + 8) + 56 > *end_off - 20)
            rc = corrupt(r, err, "ZIP64 end record out of place");
        if (!rc)
            rc = src_read(r, get64(l + 8), e, 56, err);
        if (!rc && get32(e) != SIG_EOCD64)
            rc = corrupt(r, err, "ZIP64 end record missing");
        if (!rc) {
            *end_off = get64(l + 8);
            *entries = get64(e + 32);
            *cd_size = get64(e + 40);
            *cd_off = get64(e + 48);
        }
    }
    free(t);
    if (!rc && (*cd_off > *end_off || *cd_size > *end_off - *cd_off))
        rc = corrupt(r, err, "central directory out of place");
    return rc;
}

/* Names equal but for ASCII case collide on case-insensitive file systems; a name used for
 * a file and for a directory cannot be unpacked either. */
typedef struct seen_name {
    char *orig;
    char kind; /* 'f' file, 'd' directory entry, 'i' implied directory */
} seen_name;

typedef struct name_seen {
    dx_strmap folded; /* lower-cased name -> index + 1 into names */
    seen_name *names;
    size_t n, cap;
} name_seen;

static int seen_check(dx_zip_reader *r, name_seen *s, const char *name, size_t len, char kind,
                      dx_error *err)
{
    char key[4097];
    for (size_t i = 0; i < len; i++)
        key[i] = (char)((name[i] >= 'A' && name[i] <= 'Z') ? name[i] + 32 : name[i]);
    key[len] = 0;
    size_t at = (size_t)(uintptr_t)dx_strmap_get(&s->folded, key);
    if (!at) {
        if (s->n == s->cap) {
            size_t cap = s->cap ? s->cap * 2 : 256;
            seen_name *k = realloc(s->names, cap * sizeof *k);
            if (!k)
                return dx_error_set(err, DX_ENOMEM, "out of memory reading %s", r->label);
            s->names = k;
            s->cap = cap;
        }
        char *copy = strndup(name, len);
        if (!copy || dx_strmap_put(&s->folded, key, (void *)(uintptr_t)(s->n + 1))) {
            free(copy);
            return dx_error_set(err, DX_ENOMEM, "out of memory reading %s", r->label);
        }
        s->names[s->n++] = (seen_name){copy, kind};
        return 0;
    }
    const char *prev = s->names[at - 1].orig;
    char pk = s->names[at - 1].kind;
    if (strlen(prev) != len || memcmp(prev, name, len))
        return dx_error_set(err, DX_EPATH,
                            "%s holds '%.*s' and '%s', names that differ only in case: they "
                            "collide on case-insensitive file systems (rename one)",
                            r->label, (int)len, name, prev);
    bool pdir = pk != 'f', dir = kind != 'f';
    if (pdir != dir)
        return dx_error_set(err, DX_EPATH,
                            "%s uses '%.*s' both as a file and as a directory: it cannot be "
                            "unpacked",
                            r->label, (int)len, name);
    if (kind == 'f' || (kind == 'd' && pk == 'd'))
        return dx_error_set(err, DX_EPATH,
                            "%s holds '%.*s' twice: a duplicate name would overwrite the first "
                            "copy (remove one)",
                            r->label, (int)len, name);
    if (kind == 'd')
        s->names[at - 1].kind = 'd';
    return 0;
}

static int check_entry_names(dx_zip_reader *r, dx_error *err)
{
    name_seen s = {DX_STRMAP_INIT, NULL, 0, 0};
    int rc = 0;
    for (size_t i = 0; i < r->n && !rc; i++) {
        const char *name = r->ents[i].e.name;
        size_t len = strlen(name);
        if (r->ents[i].e.is_dir)
            len--;
        for (size_t j = 0; j < len && !rc; j++)
            if (name[j] == '/')
                rc = seen_check(r, &s, name, j, 'i', err);
        if (!rc)
            rc = seen_check(r, &s, name, len, r->ents[i].e.is_dir ? 'd' : 'f', err);
    }
    dx_strmap_release(&s.folded);
    for (size_t i = 0; i < s.n; i++)
        free(s.names[i].orig);
    free(s.names);
    return rc;
}

static int read_central(dx_zip_reader *r, uint64_t entries, uint64_t cd_size, dx_error *err)
{
    if (entries > r->lim.max_entries)
        return dx_error_set(
            err, DX_ELIMIT, "%s has %llu entries, more than the %llu allowed: refusing it",
            r->label, (unsigned long long)entries, (unsigned long long)r->lim.max_entries);
    if (entries > cd_size / 46)
        return corrupt(r, err, "more entries declared than the central directory holds");
    r->ents = calloc(entries ? entries : 1, sizeof *r->ents);
    if (!r->ents)
        return dx_error_set(err, DX_ENOMEM, "out of memory reading %s", r->label);
    size_t *name_at = calloc(entries ? entries : 1, sizeof *name_at);
    if (!name_at)
        return dx_error_set(err, DX_ENOMEM, "out of memory reading %s", r->label);
    uint64_t off = r->cd_off, end = r->cd_off + cd_size, total = 0;
    int rc = 0;
    unsigned char h[46], x[U16_MAX_];
    char name[U16_MAX_ + 1];
    for (uint64_t i = 0; i < entries && !rc; i++) {
        if (end - off < 46 || (rc = src_read(r, off, h, 46, err)))
            rc = rc ? rc : corrupt(r, err, "central directory cut short");
        if (!rc && get32(h) != SIG_CENTRAL)
            rc = corrupt(r, err, "bad central directory record");
        if (rc)
            break;
        size_t nlen = get16(h + 28), xlen = get16(h + 30), clen = get16(h + 32);
        if (end - off - 46 < nlen + xlen + clen) {
            rc = corrupt(r, err, "central directory record runs past the directory");
            break;
        }
        if ((rc = src_read(r, off + 46, name, nlen, err)) ||
            (rc = src_read(r, off + 46 + nlen, x, xlen, err)))
            break;
        name[nlen] = 0;
        off += 46 + nlen + xlen + clen;
        if ((rc = dx_zip_check_name(name, nlen, err))) {
            dx_error_prefix(err, "%s", r->label);
            break;
        }
        entry_int *ei = &r->ents[i];
        dx_zip_entry *e = &ei->e;
        ei->flags = (uint16_t)get16(h + 8);
        e->method = (uint16_t)get16(h + 10);
        e->dos_time = get32(h + 12);
        e->crc = get32(h + 16);
        e->csize = get32(h + 20);
        e->usize = get32(h + 24);
        ei->local_off = get32(h + 42);
        e->is_dir = name[nlen - 1] == '/';
        /* ZIP64 extra: the fields that are 0xFFFFFFFF, in order */
        for (size_t p = 0; p + 4 <= xlen;) {
            unsigned id = get16(x + p), sz = get16(x + p + 2);
            if (p + 4 + sz > xlen)
                break;
            if (id == 1) {
                const unsigned char *q = x + p + 4, *qe = q + sz;
                if (e->usize == U32_MAX_ && q + 8 <= qe)
                    e->usize = get64(q), q += 8;
                if (e->csize == U32_MAX_ && q + 8 <= qe)
                    e->csize = get64(q), q += 8;
                if (ei->local_off == U32_MAX_ && q + 8 <= qe)
                    ei->local_off = get64(q);
            }
            p += 4 + sz;
        }
        if (ei->flags & (FLAG_ENCRYPTED | FLAG_STRONG)) {
            rc = dx_error_set(err, DX_EUNSUPPORTED,
                              "%s: entry '%s' is encrypted: encrypted archives are not supported "
                              "(unpack it with its password and import the folder)",
                              r->label, name);
            break;
        }
        if (e->method != DX_ZIP_STORE && e->method != DX_ZIP_DEFLATE) {
            rc = dx_error_set(err, DX_EUNSUPPORTED,
                              "%s: entry '%s' uses compression method %u: only stored and "
                              "deflated entries are supported",
                              r->label, name, e->method);
            break;
        }
        unsigned host = get16(h + 4) >> 8;
        uint32_t ext = get32(h + 38);
        unsigned mode = 0;
        if (host == 3) { /* Unix: st_mode in the high half */
            uint32_t m = ext >> 16, type = m & S_IFMT;
            if (type && type != S_IFREG && type != S_IFDIR) {
                rc = dx_error_set(err, DX_EPATH,
                                  "%s: entry '%s' is a %s, not a file: links and special files "
                                  "are never unpacked (replace it with the file itself)",
                                  r->label, name,
                                  type == S_IFLNK ? "symbolic link" : "special file or link");
                break;
            }
            if ((type == S_IFDIR) != e->is_dir && type) {
                rc = dx_error_set(err, DX_EPATH, "%s: entry '%s' is marked a %s but named as a %s",
                                  r->label, name, type == S_IFDIR ? "directory" : "file",
                                  e->is_dir ? "directory" : "file");
                break;
            }
            mode = m & 0777;
        }
        e->mode = mode ? (mode & 0111 ? 0755u : 0644u) : (e->is_dir ? 0755u : 0644u);
        if (e->is_dir && e->usize) {
            rc = corrupt(r, err, "a directory entry declares data");
            break;
        }
        if (e->method == DX_ZIP_STORE && e->csize != e->usize) {
            rc = dx_error_set(err, DX_ECORRUPT,
                              "%s: entry '%s' is stored but declares %llu bytes stored and "
                              "%llu unpacked: its sizes lie",
                              r->label, name, (unsigned long long)e->csize,
                              (unsigned long long)e->usize);
            break;
        }
        total += e->usize;
        if (e->usize > r->lim.max_total || total > r->lim.max_total) {
            rc = dx_error_set(err, DX_ELIMIT,
                              "%s unpacks to more than %llu bytes (at entry '%s'): refusing it "
                              "as a possible zip bomb",
                              r->label, (unsigned long long)r->lim.max_total, name);
            break;
        }
        if (e->usize > CHUNK && e->usize / r->lim.max_ratio > e->csize) {
            rc = dx_error_set(err, DX_ELIMIT,
                              "%s: entry '%s' declares %llu bytes from %llu (more than %llu "
                              "times): refusing it as a possible zip bomb",
                              r->label, name, (unsigned long long)e->usize,
                              (unsigned long long)e->csize, (unsigned long long)r->lim.max_ratio);
            break;
        }
        name_at[i] = r->names.len;
        dx_buf_append(&r->names, name, nlen + 1);
        r->n++;
    }
    if (!rc && dx_buf_error(&r->names))
        rc = dx_error_set(err, DX_ENOMEM, "out of memory reading %s", r->label);
    for (size_t i = 0; i < r->n && !rc; i++)
        r->ents[i].e.name = r->names.data + name_at[i];
    free(name_at);
    if (rc)
        r->n = 0; /* names are not set: nothing may be looked at */
    return rc;
}

static int cmp_local(const void *a, const void *b)
{
    const entry_int *x = *(entry_int *const *)a, *y = *(entry_int *const *)b;
    return x->local_off < y->local_off ? -1 : x->local_off > y->local_off;
}

/* Every local header agrees with its central record, and the entries' data lie one after
 * another, inside the archive, none overlapping another (a classic zip-bomb trick). */
static int check_locals(dx_zip_reader *r, dx_error *err)
{
    entry_int **by = malloc((r->n ? r->n : 1) * sizeof *by);
    if (!by)
        return dx_error_set(err, DX_ENOMEM, "out of memory reading %s", r->label);
    int rc = 0;
    unsigned char h[30];
    char name[U16_MAX_ + 1];
    for (size_t i = 0; i < r->n && !rc; i++) {
        entry_int *ei = &r->ents[i];
        by[i] = ei;
        if ((rc = src_read(r, ei->local_off, h, 30, err)))
            break;
        size_t nlen = get16(h + 26), xlen = get16(h + 28);
        if (get32(h) != SIG_LOCAL || nlen != strlen(ei->e.name) ||
            (rc = src_read(r, ei->local_off + 30, name, nlen, err)) ||
            memcmp(name, ei->e.name, nlen) || get16(h + 8) != ei->e.method ||
            (get16(h + 6) & (FLAG_ENCRYPTED | FLAG_STRONG))) {
            rc = rc ? rc
                    : dx_error_set(err, DX_ECORRUPT,
                                   "%s: the local header of entry '%s' does not match the central "
                                   "directory (a damaged or forged archive)",
                                   r->label, ei->e.name);
            break;
        }
        ei->e.data_off = ei->local_off + 30 + nlen + xlen;
        if (ei->e.data_off > r->cd_off || ei->e.csize > r->cd_off - ei->e.data_off)
            rc = dx_error_set(err, DX_ECORRUPT,
                              "%s: the data of entry '%s' runs past the entries' area", r->label,
                              ei->e.name);
    }
    if (!rc && r->n)
        qsort(by, r->n, sizeof *by, cmp_local);
    for (size_t i = 1; i < r->n && !rc; i++)
        if (by[i - 1]->e.data_off + by[i - 1]->e.csize > by[i]->local_off)
            rc = dx_error_set(err, DX_ECORRUPT,
                              "%s: entries '%s' and '%s' overlap: refusing a forged archive",
                              r->label, by[i - 1]->e.name, by[i]->e.name);
    free(by);
    return rc;
}

int dx_zip_reader_open(dx_zip_read_fn read, void *ud, uint64_t size, const dx_zip_limits *limits,
                       const char *label, dx_zip_reader **out, dx_error *err)
{
    *out = NULL;
    dx_zip_reader *r = calloc(1, sizeof *r);
    if (!r)
        return dx_error_set(err, DX_ENOMEM, "out of memory opening a ZIP archive");
    dx_zip_limits def = DX_ZIP_LIMITS_INIT;
    r->read = read;
    r->ud = ud;
    r->size = size;
    r->lim = limits ? *limits : def;
    if (!r->lim.max_ratio)
        r->lim.max_ratio = 1;
    snprintf(r->label, sizeof r->label, "%s", label ? label : "the archive");
    uint64_t entries = 0, cd_size = 0, end_off = 0;
    int rc = find_end(r, &entries, &cd_size, &r->cd_off, &end_off, err);
    if (!rc)
        rc = read_central(r, entries, cd_size, err);
    if (!rc)
        rc = check_entry_names(r, err);
    if (!rc)
        rc = check_locals(r, err);
    if (rc) {
        dx_zip_reader_free(r);
        return rc;
    }
    *out = r;
    return 0;
}

static int mem_read(void *ud, uint64_t off, void *buf, size_t len, dx_error *err)
{
    (void)err;
    memcpy(buf, (const unsigned char *)ud + off, len);
    return 0;
}

int dx_zip_reader_open_mem(const void *data, size_t len, const dx_zip_limits *limits,
                           const char *label, dx_zip_reader **out, dx_error *err)
{
    return dx_zip_reader_open(mem_read, (void *)data, len, limits, label, out, err);
}

static int fd_read(void *ud, uint64_t off, void *buf, size_t len, dx_error *err)
{
    int fd = (int)(intptr_t)ud;
    unsigned char *p = buf;
    while (len) {
        ssize_t got = pread(fd, p, len, (off_t)off);
        if (got <= 0)
            return dx_error_set(err, DX_EIO, "cannot read the archive at offset %llu: %s",
                                (unsigned long long)off, got ? "read error" : "unexpected end");
        p += got;
        off += (uint64_t)got;
        len -= (size_t)got;
    }
    return 0;
}

int dx_zip_reader_open_fd(int fd, const dx_zip_limits *limits, const char *label,
                          dx_zip_reader **out, dx_error *err)
{
    struct stat st;
    if (fstat(fd, &st) || !S_ISREG(st.st_mode))
        return dx_error_set(err, DX_EIO, "%s is not a regular file", label ? label : "the archive");
    return dx_zip_reader_open(fd_read, (void *)(intptr_t)fd, (uint64_t)st.st_size, limits, label,
                              out, err);
}

void dx_zip_reader_free(dx_zip_reader *r)
{
    if (!r)
        return;
    free(r->ents);
    dx_buf_release(&r->names);
    free(r);
}

size_t dx_zip_count(const dx_zip_reader *r)
{
    return r->n;
}

const dx_zip_entry *dx_zip_entry_at(const dx_zip_reader *r, size_t i)
{
    return i < r->n ? &r->ents[i].e : NULL;
}

int dx_zip_extract(dx_zip_reader *r, size_t i, dx_zip_sink_fn sink, void *ud, dx_error *err)
{
    if (i >= r->n)
        return dx_error_set(err, DX_EINVAL, "%s has no entry %zu", r->label, i);
    const dx_zip_entry *e = &r->ents[i].e;
    z_stream z;
    memset(&z, 0, sizeof z);
    bool inflating = e->method == DX_ZIP_DEFLATE;
    if (inflating && inflateInit2(&z, -15) != Z_OK)
        return dx_error_set(err, DX_ENOMEM, "out of memory inflating '%s'", e->name);
    uint64_t in_off = 0, produced = 0;
    uint32_t crc = 0;
    int rc = 0, zrc = Z_OK;
    bool ended = !inflating;
    while (!rc && in_off < e->csize) {
        size_t want = sizeof r->in;
        if ((uint64_t)want > e->csize - in_off)
            want = (size_t)(e->csize - in_off);
        if ((rc = r->read(r->ud, e->data_off + in_off, r->in, want, err)))
            break;
        in_off += want;
        if (!inflating) {
            crc = (uint32_t)crc32(crc, r->in, (uInt)want);
            produced += want;
            rc = sink(ud, r->in, want, err);
            continue;
        }
        z.next_in = r->in;
        z.avail_in = (uInt)want;
        do {
            z.next_out = r->out;
            z.avail_out = sizeof r->out;
            zrc = inflate(&z, Z_NO_FLUSH);
            if (zrc != Z_OK && zrc != Z_STREAM_END && zrc != Z_BUF_ERROR) {
                rc = dx_error_set(err, DX_ECORRUPT, "%s: entry '%s' does not inflate: %s", r->label,
                                  e->name, z.msg ? z.msg : "bad deflate data");
                break;
            }
            size_t got = sizeof r->out - z.avail_out;
            produced += got;
            if (produced > e->usize) {
                rc = dx_error_set(err, DX_ECORRUPT,
                                  "%s: entry '%s' inflates to more than the %llu bytes it "
                                  "declares: its sizes lie (refusing the archive)",
                                  r->label, e->name, (unsigned long long)e->usize);
                break;
            }
            if (produced > (in_off - z.avail_in) * r->lim.max_ratio + CHUNK) {
                rc = dx_error_set(err, DX_ELIMIT,
                                  "%s: entry '%s' expands more than %llu times: refusing it as "
                                  "a zip bomb",
                                  r->label, e->name, (unsigned long long)r->lim.max_ratio);
                break;
            }
            crc = (uint32_t)crc32(crc, r->out, (uInt)got);
            if (got && (rc = sink(ud, r->out, got, err)))
                break;
            if (zrc == Z_STREAM_END) {
                ended = true;
                break;
            }
        } while (z.avail_out == 0 || z.avail_in > 0);
        if (ended && !rc && (z.avail_in > 0 || in_off < e->csize))
            rc = dx_error_set(err, DX_ECORRUPT,
                              "%s: entry '%s' has bytes after the end of its deflate stream: "
                              "its sizes lie (refusing the archive)",
                              r->label, e->name);
        if (ended)
            break;
    }
    if (inflating)
        inflateEnd(&z);
    if (!rc && (!ended || produced != e->usize))
        rc = dx_error_set(err, DX_ECORRUPT,
                          "%s: entry '%s' holds %llu bytes where it declares %llu: its sizes lie "
                          "or it is cut short (refusing the archive)",
                          r->label, e->name, (unsigned long long)produced,
                          (unsigned long long)e->usize);
    if (!rc && crc != e->crc)
        rc = dx_error_set(err, DX_ECORRUPT,
                          "%s: entry '%s' fails its CRC-32 check: the archive is damaged", r->label,
                          e->name);
    return rc;
}
