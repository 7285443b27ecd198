/* test_hash.c - util/hash.c against `git hash-object` and `sha256sum` run on the same bytes,
 * and the incremental SHA-256 against the one-shot. */
#include "test.h"

#include <stdint.h>
#include <unistd.h>

#include "diaryx/hash.h"

/* The first word that `cmd < bytes` prints (a hex digest), into out (cap bytes). */
static int tool_hex(const char *cmd, const void *data, size_t len, char *out, size_t cap)
{
    char tmp[] = "/tmp/dx_test_hash_XXXXXX";
    int fd = mkstemp(tmp);
    if (fd < 0)
        return -1;
    int ok = write(fd, data, len) == (ssize_t)len;
    close(fd);
    char line[512];
    snprintf(line, sizeof line, "%s < '%s'", cmd, tmp);
    FILE *p = ok ? popen(line, "r") : NULL;
    out[0] = 0;
    if (p) {
        char fmt[16];
        snprintf(fmt, sizeof fmt, "%%%zus", cap - 1);
        ok = fscanf(p, fmt, out) == 1;
        ok = pclose(p) == 0 && ok;
    } else {
        ok = 0;
    }
    unlink(tmp);
    return ok ? 0 : -1;
}

/* Test inputs: empty, "abc", bytes with a NUL, and 1 MiB of varied bytes. */
typedef struct input {
    const char *name;
    const unsigned char *data;
    size_t len;
} input;

static unsigned char *big_buffer(size_t n)
{
    unsigned char *b = malloc(n);
    uint32_t x = 2463534242u;
    for (size_t i = 0; b && i < n; i++) {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        b[i] = (unsigned char)x;
    }
    return b;
}

#define MIB (1024 * 1024)

TEST(test_blob_ids_match_git_hash_object)
{
    unsigned char *big = big_buffer(MIB);
    input in[] = {{"empty", (const unsigned char *)"", 0},
                  {"abc", (const unsigned char *)"abc", 3},
                  {"nul", (const unsigned char *)"a\0b", 3},
                  {"1 MiB", big, MIB}};
    dx_hash reused = DX_HASH_INIT;
    for (size_t i = 0; i < sizeof in / sizeof in[0]; i++) {
        char want[DX_SHA1_HEX], got[DX_SHA1_HEX], again[DX_SHA1_HEX];
        CHECK_EQ_INT(tool_hex("git hash-object --stdin", in[i].data, in[i].len, want, sizeof want),
                     0);
        CHECK_EQ_INT(dx_hash_blob_hex(NULL, in[i].data, in[i].len, got), 0);
        CHECK_EQ_STR(got, want);
        /* the same through a context reused across inputs */
        CHECK_EQ_INT(dx_hash_blob_hex(&reused, in[i].data, in[i].len, again), 0);
        CHECK_EQ_STR(again, want);
        unsigned char raw[DX_SHA1_LEN];
        char hex[DX_SHA1_HEX];
        CHECK_EQ_INT(dx_hash_blob_id(&reused, in[i].data, in[i].len, raw), 0);
        dx_hash_hex(raw, sizeof raw, hex);
        CHECK_EQ_STR(hex, want);
    }
    dx_hash_release(&reused);
    free(big);
}

TEST(test_sha1_and_sha256_match_the_tools)
{
    unsigned char *big = big_buffer(MIB);
    input in[] = {{"empty", (const unsigned char *)"", 0},
                  {"abc", (const unsigned char *)"abc", 3},
                  {"1 MiB", big, MIB}};
    dx_hash h = DX_HASH_INIT;
    for (size_t i = 0; i < sizeof in / sizeof in[0]; i++) {
        char want[DX_SHA256_HEX], got[DX_SHA256_HEX];
        CHECK_EQ_INT(tool_hex("sha256sum", in[i].data, in[i].len, want, sizeof want), 0);
        CHECK_EQ_INT(dx_sha256_hex(NULL, in[i].data, in[i].len, got), 0);
        CHECK_EQ_STR(got, want);
        unsigned char raw[DX_SHA256_LEN];
        CHECK_EQ_INT(dx_sha256(&h, in[i].data, in[i].len, raw), 0);
        dx_hash_hex(raw, sizeof raw, got);
        CHECK_EQ_STR(got, want);

        char want1[DX_SHA1_HEX], got1[DX_SHA1_HEX];
        unsigned char raw1[DX_SHA1_LEN];
        CHECK_EQ_INT(tool_hex("sha1sum", in[i].data, in[i].len, want1, sizeof want1), 0);
        CHECK_EQ_INT(dx_sha1(&h, in[i].data, in[i].len, raw1), 0);
        dx_hash_hex(raw1, sizeof raw1, got1);
        CHECK_EQ_STR(got1, want1);
    }
    /* The published vectors, so the test means something even if a tool misbehaved. */
    char hex[DX_SHA256_HEX];
    CHECK_EQ_INT(dx_sha256_hex(NULL, "abc", 3, hex), 0);
    CHECK_EQ_STR(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    CHECK_EQ_INT(dx_sha256_hex(NULL, "", 0, hex), 0);
    CHECK_EQ_STR(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    dx_hash_release(&h);
    free(big);
}

TEST(test_incremental_sha256_in_odd_pieces_equals_one_shot)
{
    unsigned char *big = big_buffer(MIB);
    unsigned char one[DX_SHA256_LEN], inc[DX_SHA256_LEN];
    CHECK_EQ_INT(dx_sha256(NULL, big, MIB, one), 0);
    /* Piece sizes 1, 2, 3, ... 997, 1 again: crosses the 64-byte block boundary at every
     * offset; the same context is used twice to prove it can be begun again after final. */
    dx_hash h = DX_HASH_INIT;
    for (int round = 0; round < 2; round++) {
        CHECK_EQ_INT(dx_hash_begin(&h, DX_HASH_SHA256), 0);
        size_t off = 0, piece = 1;
        while (off < MIB) {
            size_t n = piece < MIB - off ? piece : MIB - off;
            CHECK_EQ_INT(dx_hash_update(&h, big + off, n), 0);
            off += n;
            piece = piece % 997 + 1;
        }
        CHECK_EQ_INT(dx_hash_update(&h, NULL, 0), 0); /* an empty piece changes nothing */
        memset(inc, 0, sizeof inc);
        CHECK_EQ_INT(dx_hash_final(&h, inc), 0);
        CHECK_EQ_MEM(inc, sizeof inc, one, sizeof one);
    }
    /* final without a digest begun, update after final: refused, not garbage */
    CHECK_EQ_INT(dx_hash_final(&h, inc), DX_EINVAL);
    CHECK_EQ_INT(dx_hash_update(&h, "x", 1), DX_EINVAL);
    CHECK_EQ_INT(dx_hash_begin(&h, (dx_hash_alg)7), DX_EINVAL);
    dx_hash_release(&h);
    dx_hash_release(&h); /* twice, and NULL: both fine */
    dx_hash_release(NULL);
    CHECK_EQ_INT(dx_hash_len(DX_HASH_SHA1), 20);
    CHECK_EQ_INT(dx_hash_len(DX_HASH_SHA256), 32);
    free(big);
}

TEST(test_hex_is_lowercase_and_terminated)
{
    const unsigned char b[] = {0x00, 0x0f, 0xa0, 0xff};
    char out[9];
    memset(out, 'x', sizeof out);
    dx_hash_hex(b, sizeof b, out);
    CHECK_EQ_STR(out, "000fa0ff");
}

int main(void)
{
    RUN(test_blob_ids_match_git_hash_object);
    RUN(test_sha1_and_sha256_match_the_tools);
    RUN(test_incremental_sha256_in_odd_pieces_equals_one_shot);
    RUN(test_hex_is_lowercase_and_terminated);
    return TEST_REPORT();
}
