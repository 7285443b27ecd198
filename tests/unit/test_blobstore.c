/* test_blobstore.c - the blob store's two backends behind one interface: the local directory,
 * and S3 against tests/s3/server.mjs, a test server that verifies every SigV4 signature and
 * payload hash (started here on a loopback port; a wrong secret must be refused). */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "diaryx/blobstore.h"
#include "diaryx/buf.h"
#include "diaryx/fs.h"
#include "diaryx/sigv4.h"
#include "test.h"

static char g_tmp[] = "/tmp/dx_blobstore_XXXXXX";
static pid_t g_s3_pid = -1;
static int g_s3_port;

static int collect(void *ud, const void *data, size_t len)
{
    return dx_buf_append(ud, data, len);
}

static void hash_of(const void *data, size_t len, char hex[DX_SHA256_HEX])
{
    CHECK_EQ_INT(dx_sha256_hex(NULL, data, len, hex), 0);
}

/* Every operation of the interface on bs; the same test for both backends. */
static void exercise(dx_blobstore *bs, const char *tmpdir)
{
    dx_error err = DX_ERROR_INIT;
    dx_buf got = DX_BUF_INIT, path = DX_BUF_INIT;
    dx_strlist list = DX_STRLIST_INIT, want = DX_STRLIST_INIT, miss = DX_STRLIST_INIT;
    const char *text = "attachment bytes: 0123456789";
    char h[DX_SHA256_HEX], h2[DX_SHA256_HEX], bogus[DX_SHA256_HEX];
    uint64_t size = 0;
    hash_of(text, strlen(text), h);
    hash_of("", 0, h2);
    memset(bogus, 'a', 64);
    bogus[64] = 0;

    CHECK_EQ_INT(dx_blob_head(bs, h, &size, &err), DX_ENOTFOUND);
    CHECK_EQ_INT(dx_blob_put(bs, h, text, strlen(text), &err), 0);
    CHECK_EQ_INT(dx_blob_put(bs, h, text, strlen(text), &err), 0); /* again: a no-op */
    CHECK_EQ_INT(dx_blob_head(bs, h, &size, &err), 0);
    CHECK_EQ_INT((int)size, (int)strlen(text));

    /* Bytes that are not their name are refused and nothing is stored. */
    dx_error_clear(&err);
    CHECK_EQ_INT(dx_blob_put(bs, bogus, text, strlen(text), &err), DX_EINVAL);
    CHECK(strstr(err.msg, h) != NULL);
    CHECK_EQ_INT(dx_blob_head(bs, bogus, NULL, NULL), DX_ENOTFOUND);
    CHECK_EQ_INT(dx_blob_put(bs, "ABC", text, 3, &err), DX_EINVAL);

    /* Whole, a range, the tail from an offset, and past the end. */
    CHECK_EQ_INT(dx_blob_get(bs, h, 0, UINT64_MAX, collect, &got, &err), 0);
    CHECK_EQ_STR(dx_buf_cstr(&got), text);
    dx_buf_reset(&got);
    CHECK_EQ_INT(dx_blob_get(bs, h, 18, 4, collect, &got, &err), 0);
    CHECK_EQ_STR(dx_buf_cstr(&got), "0123");
    dx_buf_reset(&got);
    CHECK_EQ_INT(dx_blob_get(bs, h, 25, UINT64_MAX, collect, &got, &err), 0);
    CHECK_EQ_STR(dx_buf_cstr(&got), "789");
    dx_buf_reset(&got);
    CHECK_EQ_INT(dx_blob_get(bs, h, 1000, 5, collect, &got, &err), DX_EINVAL);

    /* From a file. */
    dx_buf_printf(&path, "%s/empty", tmpdir);
    CHECK_EQ_INT(dx_file_write_atomic(path.data, "", 0, 0644, &err), 0);
    CHECK_EQ_INT(dx_blob_put_file(bs, h2, path.data, &err), 0);
    CHECK_EQ_INT(dx_blob_head(bs, h2, &size, &err), 0);
    CHECK_EQ_INT((int)size, 0);
    CHECK_EQ_INT(dx_blob_put_file(bs, h, path.data, &err), DX_EINVAL);

    /* list and missing. */
    CHECK_EQ_INT(dx_blob_list(bs, &list, &err), 0);
    dx_strlist_push(&want, h);
    dx_strlist_push(&want, h2);
    dx_strlist_sort(&want);
    CHECK_EQ_INT((int)list.len, 2);
    for (size_t i = 0; i < list.len && i < 2; i++)
        CHECK_EQ_STR(list.items[i], want.items[i]);
    dx_strlist_push(&want, bogus);
    CHECK_EQ_INT(dx_blob_missing(bs, &want, &miss, &err), 0);
    CHECK_EQ_INT((int)miss.len, 1);
    CHECK_EQ_STR(miss.len ? miss.items[0] : "", bogus);

    /* delete */
    CHECK_EQ_INT(dx_blob_delete(bs, h, &err), 0);
    CHECK_EQ_INT(dx_blob_head(bs, h, NULL, NULL), DX_ENOTFOUND);
    CHECK_EQ_INT(dx_blob_delete(bs, h, &err), DX_ENOTFOUND);
    CHECK_EQ_INT(dx_blob_get(bs, h, 0, UINT64_MAX, collect, &got, &err), DX_ENOTFOUND);
    CHECK_EQ_INT(dx_blob_delete(bs, h2, &err), 0);

    dx_buf_release(&got);
    dx_buf_release(&path);
    dx_strlist_release(&list);
    dx_strlist_release(&want);
    dx_strlist_release(&miss);
}

TEST(test_blobstore_local_dir)
{
    dx_blobstore *bs = NULL;
    dx_error err = DX_ERROR_INIT;
    dx_buf p = DX_BUF_INIT;
    CHECK_EQ_INT(dx_blobstore_open_dir(g_tmp, &bs, &err), 0);
    if (!bs)
        return;
    exercise(bs, g_tmp);
    /* The layout: DIR/blobs/ab/cdef..., and no temporary file left behind. */
    const char *text = "layout";
    char h[DX_SHA256_HEX];
    hash_of(text, strlen(text), h);
    CHECK_EQ_INT(dx_blob_put(bs, h, text, strlen(text), &err), 0);
    dx_buf_printf(&p, "%s/blobs/%.2s/%s", g_tmp, h, h + 2);
    CHECK(dx_is_file(p.data));
    dx_buf_reset(&p);
    dx_buf_printf(&p, "ls -a %s/blobs/%.2s | grep -c tmp > /dev/null", g_tmp, h);
    CHECK(system(p.data) != 0);
    CHECK_EQ_INT(dx_blob_delete(bs, h, &err), 0);
    dx_buf_release(&p);
    dx_blobstore_free(bs);
}

/* Start the verifying S3 server; its port is on its first output line. */
static int start_s3(void)
{
    const char *src = getenv("DX_SOURCE_DIR");
    char script[1024];
    int fds[2];
    snprintf(script, sizeof script, "%s/tests/s3/server.mjs", src ? src : "..");
    if (pipe(fds) != 0)
        return -1;
    pid_t pid = fork();
    if (pid == 0) {
        dup2(fds[1], 1);
        close(fds[0]);
        close(fds[1]);
        execlp("node", "node", script, "--port", "0", "--access", "AKIDTEST", "--secret",
               "right-secret", "--max-keys", "2", (char *)NULL);
        _exit(127);
    }
    close(fds[1]);
    char line[128] = "";
    size_t n = 0;
    while (n + 1 < sizeof line) {
        ssize_t r = read(fds[0], line + n, 1);
        if (r <= 0 || line[n] == '\n')
            break;
        n++;
    }
    line[n] = 0;
    close(fds[0]);
    g_s3_pid = pid;
    return sscanf(line, "{\"port\":%d}", &g_s3_port) == 1 ? 0 : -1;
}

static int open_s3(const char *secret, uint64_t part_size, dx_blobstore **bs, dx_error *err)
{
    char endpoint[64];
    snprintf(endpoint, sizeof endpoint, "http://127.0.0.1:%d", g_s3_port);
    dx_s3_config c = DX_S3_CONFIG_INIT;
    c.endpoint = endpoint;
    c.bucket = "diaryx-test";
    c.access_key = "AKIDTEST";
    c.secret_key = secret;
    c.prefix = "blobs/";
    c.part_size = part_size;
    return dx_blobstore_open_s3(&c, bs, err);
}

TEST(test_blobstore_s3_against_verifying_server)
{
    dx_blobstore *bs = NULL;
    dx_error err = DX_ERROR_INIT;
    CHECK_EQ_INT(open_s3("right-secret", 0, &bs, &err), 0);
    if (!bs)
        return;
    exercise(bs, g_tmp);
    dx_blobstore_free(bs);
}

TEST(test_blobstore_s3_wrong_secret_refused)
{
    dx_blobstore *bs = NULL, *good = NULL;
    dx_error err = DX_ERROR_INIT;
    const char *text = "signed with the wrong secret";
    char h[DX_SHA256_HEX];
    hash_of(text, strlen(text), h);
    CHECK_EQ_INT(open_s3("wrong-secret", 0, &bs, &err), 0);
    CHECK_EQ_INT(open_s3("right-secret", 0, &good, &err), 0);
    if (!bs || !good)
        goto done;
    CHECK_EQ_INT(dx_blob_put(bs, h, text, strlen(text), &err), DX_EAUTH);
    CHECK(strstr(err.msg, "403") != NULL && strstr(err.msg, "SignatureDoesNotMatch") != NULL);
    CHECK_EQ_INT(dx_blob_head(good, h, NULL, NULL), DX_ENOTFOUND); /* nothing stored */
    CHECK_EQ_INT(dx_blob_put(good, h, text, strlen(text), &err), 0);
    dx_buf got = DX_BUF_INIT;
    CHECK_EQ_INT(dx_blob_get(bs, h, 0, UINT64_MAX, collect, &got, &err), DX_EAUTH);
    CHECK_EQ_INT((int)got.len, 0);
    CHECK_EQ_INT(dx_blob_delete(good, h, &err), 0);
    dx_buf_release(&got);
done:
    dx_blobstore_free(bs);
    dx_blobstore_free(good);
}

/* The HTTP status of a GET of url by the curl program, the body into path. */
static int curl_get(const char *url, const char *path)
{
    char cmd[2048];
    int status = 0;
    snprintf(cmd, sizeof cmd, "curl -s -o '%s' -w '%%{http_code}' '%s'", path, url);
    FILE *f = popen(cmd, "r");
    if (!f || fscanf(f, "%d", &status) != 1)
        status = -1;
    if (f)
        pclose(f);
    return status;
}

TEST(test_blobstore_s3_multipart_and_paged_list)
{
    dx_blobstore *bs = NULL;
    dx_error err = DX_ERROR_INIT;
    /* 1 MiB + 3 bytes in 256 KiB parts: five parts, the last of 3 bytes. */
    size_t n = (1u << 20) + 3;
    unsigned char *data = malloc(n);
    dx_buf path = DX_BUF_INIT, got = DX_BUF_INIT, stats = DX_BUF_INIT, before = DX_BUF_INIT,
           after = DX_BUF_INIT;
    dx_strlist list = DX_STRLIST_INIT;
    char h[DX_SHA256_HEX], small[3][DX_SHA256_HEX];
    for (size_t i = 0; i < n; i++)
        data[i] = (unsigned char)(i * 7 + (i >> 9));
    hash_of(data, n, h);
    dx_buf_printf(&path, "%s/big", g_tmp);
    CHECK_EQ_INT(dx_file_write_atomic(path.data, data, n, 0644, &err), 0);
    CHECK_EQ_INT(open_s3("right-secret", 256 << 10, &bs, &err), 0);
    if (!bs)
        goto done;
    char stats_url[64];
    snprintf(stats_url, sizeof stats_url, "http://127.0.0.1:%d/__stats", g_s3_port);
    dx_buf_printf(&stats, "%s/stats", g_tmp);
    CHECK_EQ_INT(curl_get(stats_url, stats.data), 200);
    CHECK_EQ_INT(dx_file_read(stats.data, &before, &err), 0);
    CHECK_EQ_INT(dx_blob_put_file(bs, h, path.data, &err), 0);
    /* It went up in five parts, completed once (the server counts what it stored). */
    CHECK_EQ_INT(curl_get(stats_url, stats.data), 200);
    CHECK_EQ_INT(dx_file_read(stats.data, &after, &err), 0);
    int p0 = 0, c0 = 0, p1 = 0, c1 = 0;
    CHECK(sscanf(dx_buf_cstr(&before), "{\"parts\":%d,\"completed\":%d", &p0, &c0) == 2);
    CHECK(sscanf(dx_buf_cstr(&after), "{\"parts\":%d,\"completed\":%d", &p1, &c1) == 2);
    CHECK_EQ_INT(p1 - p0, 5);
    CHECK_EQ_INT(c1 - c0, 1);
    uint64_t size = 0;
    CHECK_EQ_INT(dx_blob_head(bs, h, &size, &err), 0);
    CHECK(size == n);
    CHECK_EQ_INT(dx_blob_get(bs, h, 0, UINT64_MAX, collect, &got, &err), 0);
    CHECK(got.len == n && !memcmp(got.data, data, n));
    /* Three more blobs: the server pages its list by 2, so the client follows tokens. */
    for (int i = 0; i < 3; i++) {
        char t[2] = {(char)('x' + i), 0};
        hash_of(t, 1, small[i]);
        CHECK_EQ_INT(dx_blob_put(bs, small[i], t, 1, &err), 0);
    }
    CHECK_EQ_INT(dx_blob_list(bs, &list, &err), 0);
    CHECK_EQ_INT((int)list.len, 4);
    CHECK(dx_strlist_find(&list, h) >= 0);
    for (int i = 0; i < 3; i++) {
        CHECK(dx_strlist_find(&list, small[i]) >= 0);
        CHECK_EQ_INT(dx_blob_delete(bs, small[i], &err), 0);
    }
    CHECK_EQ_INT(dx_blob_delete(bs, h, &err), 0);
done:
    free(data);
    dx_buf_release(&stats);
    dx_buf_release(&before);
    dx_buf_release(&after);
    dx_buf_release(&path);
    dx_buf_release(&got);
    dx_strlist_release(&list);
    dx_blobstore_free(bs);
}

TEST(test_blobstore_s3_presigned_get_accepted_by_verifier)
{
    dx_blobstore *bs = NULL;
    dx_error err = DX_ERROR_INIT;
    dx_buf q = DX_BUF_INIT, url = DX_BUF_INIT, path = DX_BUF_INIT, got = DX_BUF_INIT;
    const char *text = "shared by a presigned link";
    char h[DX_SHA256_HEX], host[64], date[17];
    hash_of(text, strlen(text), h);
    CHECK_EQ_INT(open_s3("right-secret", 0, &bs, &err), 0);
    if (!bs)
        return;
    CHECK_EQ_INT(dx_blob_put(bs, h, text, strlen(text), &err), 0);
    snprintf(host, sizeof host, "127.0.0.1:%d", g_s3_port);
    dx_sigv4_date((int64_t)time(NULL), date);
    dx_sigv4_creds c = {"AKIDTEST", "right-secret", "us-east-1", "s3"};
    dx_buf_printf(&path, "/diaryx-test/blobs/%s", h);
    CHECK_EQ_INT(dx_sigv4_presign(&c, "GET", host, path.data, date, 60, &q, &err), 0);
    dx_buf_printf(&url, "http://%s%s?%s", host, path.data, dx_buf_cstr(&q));
    dx_buf_reset(&path);
    dx_buf_printf(&path, "%s/presigned", g_tmp);
    CHECK_EQ_INT(curl_get(url.data, path.data), 200);
    CHECK_EQ_INT(dx_file_read(path.data, &got, &err), 0);
    CHECK_EQ_STR(dx_buf_cstr(&got), text);
    /* One digit of the signature changed: refused. */
    char *sig = strstr(url.data, "X-Amz-Signature=");
    if (sig) {
        sig += 16;
        *sig = *sig == '0' ? '1' : '0';
        CHECK_EQ_INT(curl_get(url.data, path.data), 403);
    }
    CHECK(sig != NULL);
    CHECK_EQ_INT(dx_blob_delete(bs, h, &err), 0);
    dx_buf_release(&q);
    dx_buf_release(&url);
    dx_buf_release(&path);
    dx_buf_release(&got);
    dx_blobstore_free(bs);
}

TEST(test_blobstore_s3_config_errors)
{
    dx_blobstore *bs = NULL;
    dx_error err = DX_ERROR_INIT;
    dx_s3_config c = DX_S3_CONFIG_INIT;
    CHECK_EQ_INT(dx_blobstore_open_s3(&c, &bs, &err), DX_EINVAL);
    CHECK(strstr(err.msg, "endpoint") != NULL);
    c.endpoint = "ftp://x";
    c.bucket = "b";
    CHECK_EQ_INT(dx_blobstore_open_s3(&c, &bs, &err), DX_EINVAL);
    CHECK(strstr(err.msg, "ftp://x") != NULL);
    c.endpoint = "http://127.0.0.1:9000/minio";
    CHECK_EQ_INT(dx_blobstore_open_s3(&c, &bs, &err), DX_EINVAL);
    CHECK(strstr(err.msg, "no path") != NULL);
    c.endpoint = "http://127.0.0.1:1";
    unsetenv("AWS_ACCESS_KEY_ID");
    CHECK_EQ_INT(dx_blobstore_open_s3(&c, &bs, &err), DX_EINVAL);
    CHECK(strstr(err.msg, "AWS_ACCESS_KEY_ID") != NULL);
    CHECK(bs == NULL);
    /* Credentials from the environment; a server that is not there is DX_EIO. */
    setenv("AWS_ACCESS_KEY_ID", "k", 1);
    setenv("AWS_SECRET_ACCESS_KEY", "s", 1);
    CHECK_EQ_INT(dx_blobstore_open_s3(&c, &bs, &err), 0);
    if (bs)
        CHECK_EQ_INT(dx_blob_head(bs, DX_SHA256_EMPTY, NULL, &err), DX_EIO);
    dx_blobstore_free(bs);
}

TEST(test_blobstore_xml_values)
{
    const char *x = "<R><Key>a&amp;b</Key><Key></Key><Key>c&lt;</Key><Bad>x<y/></Bad></R>";
    size_t pos = 0;
    dx_buf v = DX_BUF_INIT;
    CHECK_EQ_INT(dx_s3_xml_next(x, strlen(x), "Key", &pos, &v), 1);
    CHECK_EQ_STR(dx_buf_cstr(&v), "a&b");
    dx_buf_reset(&v);
    CHECK_EQ_INT(dx_s3_xml_next(x, strlen(x), "Key", &pos, &v), 1);
    CHECK_EQ_STR(dx_buf_cstr(&v), "");
    CHECK_EQ_INT(dx_s3_xml_next(x, strlen(x), "Key", &pos, &v), 1);
    CHECK_EQ_STR(dx_buf_cstr(&v), "c<");
    CHECK_EQ_INT(dx_s3_xml_next(x, strlen(x), "Key", &pos, &v), 0);
    pos = 0;
    CHECK_EQ_INT(dx_s3_xml_next(x, strlen(x), "Bad", &pos, &v), DX_EPARSE);
    pos = 0;
    CHECK_EQ_INT(dx_s3_xml_next("<Key>open", 9, "Key", &pos, &v), DX_EPARSE);
    CHECK_EQ_STR(dx_blob_media_type("a/b.PNG"), "image/png");
    CHECK_EQ_STR(dx_blob_media_type("a.d/noext"), "application/octet-stream");
    dx_buf_release(&v);
}

int main(void)
{
    if (!mkdtemp(g_tmp))
        return 1;
    RUN(test_blobstore_local_dir);
    RUN(test_blobstore_xml_values);
    RUN(test_blobstore_s3_config_errors);
    if (start_s3() != 0) {
        printf("FAIL cannot start tests/s3/server.mjs (node)\n");
        return 1;
    }
    RUN(test_blobstore_s3_against_verifying_server);
    RUN(test_blobstore_s3_wrong_secret_refused);
    RUN(test_blobstore_s3_multipart_and_paged_list);
    RUN(test_blobstore_s3_presigned_get_accepted_by_verifier);
    kill(g_s3_pid, SIGTERM);
    waitpid(g_s3_pid, NULL, 0);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", g_tmp);
    if (system(cmd) != 0)
        return 1;
    return TEST_REPORT();
}
