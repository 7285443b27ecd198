/* bench_blobstore.c - attachment throughput: put (hash check, copy, fsync, rename) and get of
 * one large file through the local directory store and, when S3_ENDPOINT is set, through the
 * S3 store (e.g. tests/s3/server.mjs, which verifies every signature and payload hash; single
 * PUT below 8 MiB parts, multipart above).
 * Usage: bench_blobstore [DIR] [MIB]  (scratch directory, default /tmp; file size, default 64)
 *   S3_ENDPOINT=http://127.0.0.1:PORT S3_ACCESS=... S3_SECRET=... [S3_BUCKET=bench] */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "diaryx/blobstore.h"
#include "diaryx/fs.h"

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int count(void *ud, const void *data, size_t len)
{
    (void)data;
    *(size_t *)ud += len;
    return 0;
}

static int run(const char *name, dx_blobstore *bs, const char *file, const char *hash, size_t n)
{
    dx_error err = DX_ERROR_INIT;
    size_t got = 0;
    double t0 = now();
    if (dx_blob_put_file(bs, hash, file, &err)) {
        fprintf(stderr, "%s: put: %s\n", name, err.msg);
        return 1;
    }
    double t1 = now();
    if (dx_blob_get(bs, hash, 0, UINT64_MAX, count, &got, &err) || got != n) {
        fprintf(stderr, "%s: get: %s\n", name, err.msg);
        return 1;
    }
    double t2 = now();
    double mib = (double)n / (1 << 20);
    printf("%-6s put %6.1f MiB/s (%.3f s)   get %6.1f MiB/s (%.3f s)   %.0f MiB\n", name,
           mib / (t1 - t0), t1 - t0, mib / (t2 - t1), t2 - t1, mib);
    return dx_blob_delete(bs, hash, &err);
}

int main(int argc, char **argv)
{
    const char *dir = argc > 1 ? argv[1] : "/tmp";
    size_t n = (size_t)(argc > 2 ? atoi(argv[2]) : 64) << 20;
    char root[4096], file[4200], hash[DX_SHA256_HEX];
    dx_error err = DX_ERROR_INIT;
    snprintf(root, sizeof root, "%s/bench-blobs-%d", dir, (int)getpid());
    snprintf(file, sizeof file, "%s.bin", root);
    unsigned char *data = malloc(n);
    if (!data)
        return 1;
    for (size_t i = 0; i < n; i++)
        data[i] = (unsigned char)((i * 2654435761u) >> 13);
    int rc = dx_file_write_atomic(file, data, n, 0644, &err) || dx_sha256_hex(NULL, data, n, hash);
    free(data);
    dx_blobstore *local = NULL, *s3 = NULL;
    if (!rc && !(rc = dx_blobstore_open_dir(root, &local, &err)))
        rc = run("local", local, file, hash, n);
    const char *ep = getenv("S3_ENDPOINT");
    if (!rc && ep) {
        dx_s3_config c = DX_S3_CONFIG_INIT;
        c.endpoint = ep;
        c.bucket = getenv("S3_BUCKET") ? getenv("S3_BUCKET") : "bench";
        c.access_key = getenv("S3_ACCESS");
        c.secret_key = getenv("S3_SECRET");
        if (!(rc = dx_blobstore_open_s3(&c, &s3, &err)))
            rc = run("s3", s3, file, hash, n);
    }
    if (rc && err.msg[0])
        fprintf(stderr, "bench_blobstore: %s\n", err.msg);
    dx_blobstore_free(local);
    dx_blobstore_free(s3);
    unlink(file);
    char cmd[4200];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", root);
    if (system(cmd) != 0)
        rc = 1;
    return rc ? 1 : 0;
}
