/* test_zip.c - the ZIP writer and reader (zip.h): round trips, ZIP64, and every hostile
 * archive the reader must refuse. Hostile archives are built byte by byte here, since the
 * writer refuses to make them. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <zlib.h>

#include "diaryx/buf.h"
#include "diaryx/zip.h"
#include "test.h"

static int to_buf(void *ud, const void *data, size_t len, dx_error *err)
{
    (void)err;
    return dx_buf_append(ud, data, len);
}

static int sink_buf(void *ud, const void *data, size_t len, dx_error *err)
{
    (void)err;
    return dx_buf_append(ud, data, len);
}

/* Entry i of the archive in out (reset first): 0 or the error. */
static int extract(dx_zip_reader *r, size_t i, dx_buf *out, dx_error *err)
{
    dx_buf_reset(out);
    return dx_zip_extract(r, i, sink_buf, out, err);
}

TEST(test_zip_round_trip_deflated_stored_dirs_and_utf8)
{
    dx_buf z = DX_BUF_INIT, got = DX_BUF_INIT;
    dx_error err = DX_ERROR_INIT;
    dx_zip_writer *w = NULL;
    char text[5000];
    for (size_t i = 0; i < sizeof text; i++)
        text[i] = "diaryx notes\n"[i % 13];
    uint32_t t = dx_zip_dos_time(1733300000);
    CHECK_EQ_INT(dx_zip_writer_new(to_buf, &z, &w, &err), 0);
    CHECK_EQ_INT(dx_zip_add(w, "notes/", 0755, DX_ZIP_STORE, t, NULL, 0, &err), 0);
    CHECK_EQ_INT(dx_zip_add(w, "notes/a.md", 0644, DX_ZIP_DEFLATE, t, text, sizeof text, &err), 0);
    CHECK_EQ_INT(dx_zip_add(w, "img/logo.png", 0644, DX_ZIP_STORE, t, "\x89PNG", 4, &err), 0);
    CHECK_EQ_INT(dx_zip_add(w, "empty.md", 0644, DX_ZIP_DEFLATE, t, "", 0, &err), 0);
    CHECK_EQ_INT(dx_zip_add(w, "tools/run.sh", 0755, DX_ZIP_DEFLATE, t, "#!/bin/sh\n", 10, &err),
                 0);
    CHECK_EQ_INT(dx_zip_add(w, "caf\xc3\xa9.md", 0644, DX_ZIP_DEFLATE, t, "x", 1, &err), 0);
    CHECK_EQ_INT(dx_zip_finish(w, &err), 0);
    CHECK_EQ_INT(dx_zip_written(w), z.len);
    dx_zip_writer_free(w);
    CHECK(z.len < sizeof text); /* the text was deflated */

    dx_zip_reader *r = NULL;
    CHECK_EQ_INT(dx_zip_reader_open_mem(z.data, z.len, NULL, "t.zip", &r, &err), 0);
    if (!r)
        return;
    CHECK_EQ_INT(dx_zip_count(r), 6);
    const dx_zip_entry *e = dx_zip_entry_at(r, 0);
    CHECK_EQ_STR(e->name, "notes/");
    CHECK(e->is_dir);
    e = dx_zip_entry_at(r, 1);
    CHECK_EQ_INT(e->method, DX_ZIP_DEFLATE);
    CHECK_EQ_INT(e->mode, 0644);
    CHECK_EQ_INT(e->dos_time, t);
    CHECK_EQ_INT(extract(r, 1, &got, &err), 0);
    CHECK_EQ_MEM(got.data, got.len, text, sizeof text);
    CHECK_EQ_INT(dx_zip_entry_at(r, 2)->method, DX_ZIP_STORE);
    CHECK_EQ_INT(extract(r, 2, &got, &err), 0);
    CHECK_EQ_MEM(got.data, got.len, "\x89PNG", 4);
    CHECK_EQ_INT(extract(r, 3, &got, &err), 0);
    CHECK_EQ_INT(got.len, 0);
    CHECK_EQ_INT(dx_zip_entry_at(r, 4)->mode, 0755);
    CHECK_EQ_STR(dx_zip_entry_at(r, 5)->name, "caf\xc3\xa9.md");
    dx_zip_reader_free(r);
    dx_buf_release(&z);
    dx_buf_release(&got);
}

TEST(test_zip_streams_an_entry_in_chunks)
{
    dx_buf z = DX_BUF_INIT, got = DX_BUF_INIT, want = DX_BUF_INIT;
    dx_error err = DX_ERROR_INIT;
    dx_zip_writer *w = NULL;
    CHECK_EQ_INT(dx_zip_writer_new(to_buf, &z, &w, &err), 0);
    CHECK_EQ_INT(dx_zip_begin(w, "big.md", 0644, DX_ZIP_DEFLATE, 0, UINT64_MAX, &err), 0);
    uint32_t x = 1;
    for (int i = 0; i < 300; i++) {
        char chunk[1000];
        for (size_t j = 0; j < sizeof chunk; j++) {
            x = x * 1103515245u + 12345u;
            chunk[j] = (char)('a' + (x >> 16) % 7);
        }
        CHECK_EQ_INT(dx_zip_write_data(w, chunk, sizeof chunk, &err), 0);
        dx_buf_append(&want, chunk, sizeof chunk);
    }
    CHECK_EQ_INT(dx_zip_begin(w, "second.md", 0644, DX_ZIP_DEFLATE, 0, 0, &err), DX_EINVAL);
    CHECK_EQ_INT(dx_zip_end(w, &err), 0);
    CHECK_EQ_INT(dx_zip_finish(w, &err), 0);
    dx_zip_writer_free(w);
    dx_zip_reader *r = NULL;
    CHECK_EQ_INT(dx_zip_reader_open_mem(z.data, z.len, NULL, NULL, &r, &err), 0);
    if (r) {
        CHECK_EQ_INT(dx_zip_entry_at(r, 0)->usize, 300000);
        CHECK_EQ_INT(extract(r, 0, &got, &err), 0);
        CHECK_EQ_MEM(got.data, got.len, want.data, want.len);
    }
    dx_zip_reader_free(r);
    dx_buf_release(&z);
    dx_buf_release(&got);
    dx_buf_release(&want);
}

/* More than 65,535 entries need the ZIP64 end records; a reader that ignored them would see
 * 65,535 entries. */
TEST(test_zip64_end_record_past_65535_entries)
{
    dx_buf z = DX_BUF_INIT;
    dx_error err = DX_ERROR_INIT;
    dx_zip_writer *w = NULL;
    CHECK_EQ_INT(dx_zip_writer_new(to_buf, &z, &w, &err), 0);
    char name[32];
    int rc = 0;
    for (int i = 0; i < 65537 && !rc; i++) {
        snprintf(name, sizeof name, "d%03d/f%05d", i / 1000, i);
        rc = dx_zip_add(w, name, 0644, DX_ZIP_STORE, 0, "", 0, &err);
    }
    CHECK_EQ_INT(rc, 0);
    CHECK_EQ_INT(dx_zip_finish(w, &err), 0);
    dx_zip_writer_free(w);
    dx_zip_reader *r = NULL;
    CHECK_EQ_INT(dx_zip_reader_open_mem(z.data, z.len, NULL, NULL, &r, &err), 0);
    if (r) {
        CHECK_EQ_INT(dx_zip_count(r), 65537);
        CHECK_EQ_STR(dx_zip_entry_at(r, 65536)->name, "d065/f65536");
    }
    dx_zip_reader_free(r);
    dx_buf_release(&z);
}

TEST(test_zip_writer_refuses_names_that_escape)
{
    dx_buf z = DX_BUF_INIT;
    dx_error err = DX_ERROR_INIT;
    dx_zip_writer *w = NULL;
    CHECK_EQ_INT(dx_zip_writer_new(to_buf, &z, &w, &err), 0);
    CHECK_EQ_INT(dx_zip_add(w, "../x.md", 0644, DX_ZIP_STORE, 0, "", 0, &err), DX_EPATH);
    CHECK(strstr(err.msg, "'..'") != NULL);
    CHECK_EQ_INT(dx_zip_add(w, "/etc/x", 0644, DX_ZIP_STORE, 0, "", 0, &err), DX_EPATH);
    CHECK_EQ_INT(dx_zip_add(w, "C:x", 0644, DX_ZIP_STORE, 0, "", 0, &err), DX_EPATH);
    CHECK_EQ_INT(dx_zip_add(w, "a\\b", 0644, DX_ZIP_STORE, 0, "", 0, &err), DX_EPATH);
    dx_zip_writer_free(w);
    dx_buf_release(&z);
}

/* ---- hostile archives, byte by byte ---- */

typedef struct raw_ent {
    const char *name;
    const void *data; /* the bytes as stored (deflated when method 8) */
    size_t len;
    uint16_t method, flags;
    uint16_t made_by; /* 0: Unix (3 << 8 | 20) */
    uint32_t ext;     /* 0: a regular file, 0644 */
    uint32_t crc;     /* 0: computed over plain */
    const void *plain;
    size_t plain_len;
    uint64_t usize;       /* 0: plain_len, or len when plain is NULL */
    int64_t local_at;     /* >= 0: the central record points here instead */
    size_t local_written; /* out: where its local header went */
} raw_ent;

static void p16(dx_buf *b, unsigned v)
{
    unsigned char x[2] = {(unsigned char)v, (unsigned char)(v >> 8)};
    dx_buf_append(b, x, 2);
}
static void p32(dx_buf *b, uint32_t v)
{
    p16(b, v & 0xFFFF);
    p16(b, v >> 16);
}

static void raw_zip(dx_buf *b, raw_ent *e, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        const void *plain = e[i].plain ? e[i].plain : e[i].data;
        size_t plen = e[i].plain ? e[i].plain_len : e[i].len;
        if (!e[i].crc)
            e[i].crc = (uint32_t)crc32(0, plain, (uInt)plen);
        if (!e[i].usize)
            e[i].usize = plen;
        e[i].local_written = b->len;
        p32(b, 0x04034b50);
        p16(b, 20);
        p16(b, e[i].flags | 0x800);
        p16(b, e[i].method);
        p32(b, 0);
        p32(b, e[i].crc);
        p32(b, (uint32_t)e[i].len);
        p32(b, (uint32_t)e[i].usize);
        p16(b, (unsigned)strlen(e[i].name));
        p16(b, 0);
        dx_buf_puts(b, e[i].name);
        dx_buf_append(b, e[i].data, e[i].len);
    }
    size_t cd = b->len;
    for (size_t i = 0; i < n; i++) {
        p32(b, 0x02014b50);
        p16(b, e[i].made_by ? e[i].made_by : (3u << 8 | 20));
        p16(b, 20);
        p16(b, e[i].flags | 0x800);
        p16(b, e[i].method);
        p32(b, 0);
        p32(b, e[i].crc);
        p32(b, (uint32_t)e[i].len);
        p32(b, (uint32_t)e[i].usize);
        p16(b, (unsigned)strlen(e[i].name));
        p16(b, 0);
        p16(b, 0);
        p16(b, 0);
        p16(b, 0);
        p32(b, e[i].ext ? e[i].ext : (uint32_t)(S_IFREG | 0644) << 16);
        p32(b, (uint32_t)(e[i].local_at >= 0 && e[i].local_at ? e[i].local_at
                                                              : (int64_t)e[i].local_written));
        dx_buf_puts(b, e[i].name);
    }
    size_t cd_size = b->len - cd;
    p32(b, 0x06054b50);
    p16(b, 0);
    p16(b, 0);
    p16(b, (unsigned)n);
    p16(b, (unsigned)n);
    p32(b, (uint32_t)cd_size);
    p32(b, (uint32_t)cd);
    p16(b, 0);
}

static size_t deflate_raw(const void *in, size_t len, unsigned char *out, size_t cap)
{
    z_stream z;
    memset(&z, 0, sizeof z);
    deflateInit2(&z, 9, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY);
    z.next_in = (Bytef *)in;
    z.avail_in = (uInt)len;
    z.next_out = out;
    z.avail_out = (uInt)cap;
    deflate(&z, Z_FINISH);
    size_t n = cap - z.avail_out;
    deflateEnd(&z);
    return n;
}

/* Open the archive e[0..n): the code of the open, with err set. */
static int open_raw(raw_ent *e, size_t n, const dx_zip_limits *lim, dx_error *err)
{
    dx_buf b = DX_BUF_INIT;
    raw_zip(&b, e, n);
    dx_zip_reader *r = NULL;
    int rc = dx_zip_reader_open_mem(b.data, b.len, lim, "evil.zip", &r, err);
    dx_zip_reader_free(r);
    dx_buf_release(&b);
    return rc;
}

#define ONE(nm)                                                                                    \
    {                                                                                              \
        .name = nm, .data = "x", .len = 1, .local_at = -1                                          \
    }

TEST(test_zip_reader_refuses_paths_that_escape)
{
    const char *bad[] = {"../evil.md",
                         "notes/../../evil.md",
                         "/etc/passwd",
                         "C:/x.md",
                         "c:evil",
                         "notes\\..\\evil.md",
                         "a//b.md",
                         "./a.md",
                         "a\x01.md",
                         "bad\xff.md",
                         ""};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        dx_error err = DX_ERROR_INIT;
        raw_ent e[] = {ONE(bad[i])};
        int rc = open_raw(e, 1, NULL, &err);
        if (rc != DX_EPATH)
            TEST_FAILF("'%s' gave %d, not DX_EPATH", bad[i], rc);
        CHECK(strstr(err.msg, "evil.zip") != NULL);
    }
    dx_error err = DX_ERROR_INIT;
    raw_ent ok[] = {ONE("notes/..hidden.md"), ONE("a.b/c.md")};
    CHECK_EQ_INT(open_raw(ok, 2, NULL, &err), 0);
}

TEST(test_zip_reader_refuses_links_and_special_files)
{
    dx_error err = DX_ERROR_INIT;
    raw_ent link[] = {{.name = "notes/link.md",
                       .data = "/etc/passwd",
                       .len = 11,
                       .ext = (uint32_t)(S_IFLNK | 0777) << 16,
                       .local_at = -1}};
    CHECK_EQ_INT(open_raw(link, 1, NULL, &err), DX_EPATH);
    CHECK(strstr(err.msg, "symbolic link") && strstr(err.msg, "notes/link.md"));
    raw_ent dev[] = {{.name = "dev",
                      .data = "",
                      .len = 0,
                      .ext = (uint32_t)(S_IFCHR | 0644) << 16,
                      .local_at = -1}};
    CHECK_EQ_INT(open_raw(dev, 1, NULL, &err), DX_EPATH);
    /* an MS-DOS archive (no Unix mode) is a plain file */
    raw_ent dos[] = {
        {.name = "a.md", .data = "x", .len = 1, .made_by = 20, .ext = 0x20, .local_at = -1}};
    CHECK_EQ_INT(open_raw(dos, 1, NULL, &err), 0);
}

TEST(test_zip_reader_refuses_duplicates_and_case_collisions)
{
    dx_error err = DX_ERROR_INIT;
    raw_ent dup[] = {ONE("a.md"), ONE("a.md")};
    CHECK_EQ_INT(open_raw(dup, 2, NULL, &err), DX_EPATH);
    CHECK(strstr(err.msg, "twice") != NULL);
    raw_ent cas[] = {ONE("Notes/a.md"), ONE("notes/b.md")};
    CHECK_EQ_INT(open_raw(cas, 2, NULL, &err), DX_EPATH);
    CHECK(strstr(err.msg, "case") != NULL);
    raw_ent cas2[] = {ONE("README.md"), ONE("readme.md")};
    CHECK_EQ_INT(open_raw(cas2, 2, NULL, &err), DX_EPATH);
    raw_ent filedir[] = {ONE("a"), ONE("a/b.md")};
    CHECK_EQ_INT(open_raw(filedir, 2, NULL, &err), DX_EPATH);
    CHECK(strstr(err.msg, "both as a file and as a directory") != NULL);
    raw_ent fine[] = {{.name = "a/",
                       .data = "",
                       .len = 0,
                       .ext = (uint32_t)(S_IFDIR | 0755) << 16,
                       .local_at = -1},
                      ONE("a/b.md"),
                      ONE("a/c.md")};
    CHECK_EQ_INT(open_raw(fine, 3, NULL, &err), 0);
}

TEST(test_zip_reader_refuses_encryption_and_unknown_methods)
{
    dx_error err = DX_ERROR_INIT;
    raw_ent enc[] = {{.name = "a.md", .data = "x", .len = 1, .flags = 1, .local_at = -1}};
    CHECK_EQ_INT(open_raw(enc, 1, NULL, &err), DX_EUNSUPPORTED);
    CHECK(strstr(err.msg, "encrypted") != NULL);
    raw_ent bz[] = {{.name = "a.md", .data = "x", .len = 1, .method = 12, .local_at = -1}};
    CHECK_EQ_INT(open_raw(bz, 1, NULL, &err), DX_EUNSUPPORTED);
}

TEST(test_zip_reader_catches_sizes_that_lie)
{
    static char plain[100000];
    uint32_t x = 7;
    for (size_t i = 0; i < sizeof plain; i++) {
        x = x * 1103515245u + 12345u;
        plain[i] = (char)('a' + (x >> 16) % 7);
    }
    static unsigned char def[100000];
    size_t dl = deflate_raw(plain, sizeof plain, def, sizeof def);
    dx_error err = DX_ERROR_INIT;
    dx_buf b = DX_BUF_INIT, got = DX_BUF_INIT;
    dx_zip_reader *r = NULL;
    /* declares 1,000 bytes, inflates to 100,000: stopped at byte 1,000 */
    raw_ent small[] = {{.name = "a.md",
                        .data = def,
                        .len = dl,
                        .method = 8,
                        .plain = plain,
                        .plain_len = sizeof plain,
                        .usize = 1000,
                        .local_at = -1}};
    raw_zip(&b, small, 1);
    CHECK_EQ_INT(dx_zip_reader_open_mem(b.data, b.len, NULL, "evil.zip", &r, &err), 0);
    if (r) {
        CHECK_EQ_INT(extract(r, 0, &got, &err), DX_ECORRUPT);
        CHECK(strstr(err.msg, "lie") != NULL);
        CHECK(got.len <= 1000 + 65536);
    }
    dx_zip_reader_free(r);
    /* declares more than it holds */
    dx_buf_reset(&b);
    raw_ent big[] = {{.name = "a.md",
                      .data = def,
                      .len = dl,
                      .method = 8,
                      .plain = plain,
                      .plain_len = sizeof plain,
                      .usize = 150000,
                      .local_at = -1}};
    raw_zip(&b, big, 1);
    r = NULL;
    CHECK_EQ_INT(dx_zip_reader_open_mem(b.data, b.len, NULL, "evil.zip", &r, &err), 0);
    if (r)
        CHECK_EQ_INT(extract(r, 0, &got, &err), DX_ECORRUPT);
    dx_zip_reader_free(r);
    /* a stored entry whose two sizes differ */
    raw_ent st[] = {{.name = "a.md", .data = "abc", .len = 3, .usize = 5, .local_at = -1}};
    CHECK_EQ_INT(open_raw(st, 1, NULL, &err), DX_ECORRUPT);
    /* a wrong CRC */
    dx_buf_reset(&b);
    raw_ent crc[] = {{.name = "a.md", .data = "abc", .len = 3, .crc = 1234, .local_at = -1}};
    raw_zip(&b, crc, 1);
    r = NULL;
    CHECK_EQ_INT(dx_zip_reader_open_mem(b.data, b.len, NULL, "evil.zip", &r, &err), 0);
    if (r) {
        CHECK_EQ_INT(extract(r, 0, &got, &err), DX_ECORRUPT);
        CHECK(strstr(err.msg, "CRC") != NULL);
    }
    dx_zip_reader_free(r);
    dx_buf_release(&b);
    dx_buf_release(&got);
}

TEST(test_zip_reader_refuses_bombs)
{
    static char zeros[1 << 20];
    static unsigned char def[8192];
    size_t dl = deflate_raw(zeros, sizeof zeros, def, sizeof def);
    dx_error err = DX_ERROR_INIT;
    /* 1 MiB from ~1 KiB: above the ratio */
    raw_ent bomb[] = {{.name = "zeros.md",
                       .data = def,
                       .len = dl,
                       .method = 8,
                       .plain = zeros,
                       .plain_len = sizeof zeros,
                       .local_at = -1}};
    CHECK_EQ_INT(open_raw(bomb, 1, NULL, &err), DX_ELIMIT);
    CHECK(strstr(err.msg, "zip bomb") != NULL);
    /* the total cap */
    dx_zip_limits lim = {100, 10, 1000};
    raw_ent two[] = {{.name = "a.md", .data = "123456", .len = 6, .local_at = -1},
                     {.name = "b.md", .data = "123456", .len = 6, .local_at = -1}};
    CHECK_EQ_INT(open_raw(two, 2, &lim, &err), DX_ELIMIT);
    /* the entry cap */
    dx_zip_limits few = {1, 1000, 1000};
    CHECK_EQ_INT(open_raw(two, 2, &few, &err), DX_ELIMIT);
}

/* Two central records whose data overlap (the non-recursive zip bomb): refused. */
TEST(test_zip_reader_refuses_overlapping_entries)
{
    dx_error err = DX_ERROR_INIT;
    dx_buf inner = DX_BUF_INIT, b = DX_BUF_INIT;
    /* a's data holds a whole local header + data of b */
    p32(&inner, 0x04034b50);
    p16(&inner, 20);
    p16(&inner, 0x800);
    p16(&inner, 0);
    p32(&inner, 0);
    p32(&inner, (uint32_t)crc32(0, (const Bytef *)"x", 1));
    p32(&inner, 1);
    p32(&inner, 1);
    p16(&inner, 4);
    p16(&inner, 0);
    dx_buf_puts(&inner, "b.md");
    dx_buf_puts(&inner, "x");
    raw_ent e[] = {{.name = "a.md", .data = inner.data, .len = inner.len, .local_at = -1},
                   {.name = "b.md", .data = "x", .len = 1, .local_at = 30 + 4}};
    raw_zip(&b, e, 2);
    dx_zip_reader *r = NULL;
    CHECK_EQ_INT(dx_zip_reader_open_mem(b.data, b.len, NULL, "evil.zip", &r, &err), DX_ECORRUPT);
    CHECK(strstr(err.msg, "overlap") != NULL);
    dx_zip_reader_free(r);
    dx_buf_release(&inner);
    dx_buf_release(&b);
}

TEST(test_zip_reader_refuses_truncated_and_garbage)
{
    dx_error err = DX_ERROR_INIT;
    dx_buf b = DX_BUF_INIT;
    raw_ent e[] = {ONE("a.md")};
    raw_zip(&b, e, 1);
    dx_zip_reader *r = NULL;
    for (size_t cut = 0; cut < b.len; cut++) {
        int rc = dx_zip_reader_open_mem(b.data, cut, NULL, "cut.zip", &r, &err);
        dx_zip_reader_free(r);
        r = NULL;
        if (rc == 0)
            TEST_FAILF("cut at %zu opened", cut);
    }
    CHECK_EQ_INT(
        dx_zip_reader_open_mem("not a zip at all, just text......", 33, NULL, "t.txt", &r, &err),
        DX_ECORRUPT);
    dx_buf_release(&b);
}

int main(void)
{
    RUN(test_zip_round_trip_deflated_stored_dirs_and_utf8);
    RUN(test_zip_streams_an_entry_in_chunks);
    RUN(test_zip64_end_record_past_65535_entries);
    RUN(test_zip_writer_refuses_names_that_escape);
    RUN(test_zip_reader_refuses_paths_that_escape);
    RUN(test_zip_reader_refuses_links_and_special_files);
    RUN(test_zip_reader_refuses_duplicates_and_case_collisions);
    RUN(test_zip_reader_refuses_encryption_and_unknown_methods);
    RUN(test_zip_reader_catches_sizes_that_lie);
    RUN(test_zip_reader_refuses_bombs);
    RUN(test_zip_reader_refuses_overlapping_entries);
    RUN(test_zip_reader_refuses_truncated_and_garbage);
    return TEST_REPORT();
}
