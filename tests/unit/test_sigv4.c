/* test_sigv4.c - SigV4 signing reproduces the AWS S3 documentation's examples bit for bit.
 *
 * The vectors are those of "Examples: Signature Calculations in AWS Signature Version 4"
 * (Authorization header),
 * https://docs.aws.amazon.com/AmazonS3/latest/API/sig-v4-header-based-auth.html (GET object with
 * Range, PUT object with a body, GET ?lifecycle, list objects with a query), and of "Authenticating
 * Requests: Using Query Parameters",
 * https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-query-string-auth.html (the presigned
 * GET). All use the example credentials below, bucket examplebucket in us-east-1, and the
 * time 20130524T000000Z. */
#include <string.h>

#include "diaryx/sigv4.h"
#include "test.h"

static const dx_sigv4_creds CREDS = {"AKIAIOSFODNN7EXAMPLE",
                                     "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "us-east-1", "s3"};
#define HOST "examplebucket.s3.amazonaws.com"
#define DATE "20130524T000000Z"

static void check_sig(const dx_sigv4_request *r, const char *want_sig, const char *want_signed)
{
    dx_buf auth = DX_BUF_INIT, want = DX_BUF_INIT;
    dx_error err = DX_ERROR_INIT;
    char sig[DX_SHA256_HEX] = "";
    CHECK_EQ_INT(dx_sigv4_authorization(&CREDS, r, &auth, sig, NULL, &err), 0);
    CHECK_EQ_STR(sig, want_sig);
    dx_buf_printf(&want,
                  "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/"
                  "aws4_request,SignedHeaders=%s,Signature=%s",
                  want_signed, want_sig);
    CHECK_EQ_STR(dx_buf_cstr(&auth), dx_buf_cstr(&want));
    dx_buf_release(&auth);
    dx_buf_release(&want);
}

TEST(test_sigv4_get_object_with_range)
{
    dx_sigv4_header h[] = {{"Host", HOST},
                           {"Range", "bytes=0-9"},
                           {"x-amz-content-sha256", DX_SHA256_EMPTY},
                           {"x-amz-date", DATE}};
    dx_sigv4_request r = {"GET", "/test.txt", NULL, h, 4, DX_SHA256_EMPTY, DATE};
    dx_buf cr = DX_BUF_INIT;
    char sig[DX_SHA256_HEX];
    dx_buf auth = DX_BUF_INIT;
    CHECK_EQ_INT(dx_sigv4_authorization(&CREDS, &r, &auth, sig, &cr, NULL), 0);
    /* The canonical request as printed in the documentation. */
    CHECK_EQ_STR(dx_buf_cstr(&cr), "GET\n/test.txt\n\nhost:examplebucket.s3.amazonaws.com\n"
                                   "range:bytes=0-9\nx-amz-content-sha256:" DX_SHA256_EMPTY
                                   "\nx-amz-date:20130524T000000Z\n\n"
                                   "host;range;x-amz-content-sha256;x-amz-date\n" DX_SHA256_EMPTY);
    dx_buf_release(&cr);
    dx_buf_release(&auth);
    check_sig(&r, "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41",
              "host;range;x-amz-content-sha256;x-amz-date");
}

TEST(test_sigv4_put_object_with_body)
{
    const char *body = "Welcome to Amazon S3.";
    char hash[DX_SHA256_HEX];
    CHECK_EQ_INT(dx_sha256_hex(NULL, body, strlen(body), hash), 0);
    CHECK_EQ_STR(hash, "44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072");
    dx_sigv4_header h[] = {{"Host", HOST},
                           {"Date", "Fri, 24 May 2013 00:00:00 GMT"},
                           {"x-amz-date", DATE},
                           {"x-amz-storage-class", "REDUCED_REDUNDANCY"},
                           {"x-amz-content-sha256", hash}};
    /* The key is test$file.text; '$' is percent-encoded in the canonical URI. */
    dx_buf path = DX_BUF_INIT;
    CHECK_EQ_INT(dx_sigv4_uri_encode("/test$file.text", 1, &path), 0);
    CHECK_EQ_STR(dx_buf_cstr(&path), "/test%24file.text");
    dx_sigv4_request r = {"PUT", path.data, "", h, 5, hash, DATE};
    check_sig(&r, "98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd",
              "date;host;x-amz-content-sha256;x-amz-date;x-amz-storage-class");
    dx_buf_release(&path);
}

TEST(test_sigv4_get_bucket_lifecycle)
{
    dx_sigv4_header h[] = {
        {"x-amz-date", DATE}, {"x-amz-content-sha256", DX_SHA256_EMPTY}, {"host", HOST}};
    /* A valueless parameter is signed as "lifecycle=" (dependencies.md §5, gotcha 3). */
    dx_sigv4_request r = {"GET", "/", "lifecycle", h, 3, DX_SHA256_EMPTY, DATE};
    check_sig(&r, "fea454ca298b7da1c68078a5d1bdbfbbe0d65c699e0f91ac7a200a0136783543",
              "host;x-amz-content-sha256;x-amz-date");
}

TEST(test_sigv4_list_objects_sorts_query)
{
    dx_sigv4_header h[] = {
        {"host", HOST}, {"x-amz-content-sha256", DX_SHA256_EMPTY}, {"x-amz-date", DATE}};
    /* Sent in the other order: the canonical query sorts the pairs. */
    dx_sigv4_request r = {"GET", "/", "prefix=J&max-keys=2", h, 3, DX_SHA256_EMPTY, DATE};
    check_sig(&r, "34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7",
              "host;x-amz-content-sha256;x-amz-date");
}

TEST(test_sigv4_presigned_get)
{
    dx_buf q = DX_BUF_INIT;
    dx_error err = DX_ERROR_INIT;
    CHECK_EQ_INT(dx_sigv4_presign(&CREDS, "GET", HOST, "/test.txt", DATE, 86400, &q, &err), 0);
    CHECK_EQ_STR(dx_buf_cstr(&q),
                 "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524"
                 "%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Date=20130524T000000Z&X-Amz-Expires=86400"
                 "&X-Amz-SignedHeaders=host&X-Amz-Signature="
                 "aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404");
    dx_buf_release(&q);
}

TEST(test_sigv4_hmac_rfc4231_case2)
{
    /* RFC 4231 test case 2: key "Jefe". */
    unsigned char mac[DX_SHA256_LEN];
    char hex[DX_SHA256_HEX];
    const char *data = "what do ya want for nothing?";
    CHECK_EQ_INT(dx_hmac_sha256(NULL, "Jefe", 4, data, strlen(data), mac), 0);
    dx_hash_hex(mac, sizeof mac, hex);
    CHECK_EQ_STR(hex, "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
    /* A key longer than the block is hashed first (RFC 4231 case 6). */
    unsigned char key[131];
    memset(key, 0xaa, sizeof key);
    const char *d6 = "Test Using Larger Than Block-Size Key - Hash Key First";
    CHECK_EQ_INT(dx_hmac_sha256(NULL, key, sizeof key, d6, strlen(d6), mac), 0);
    dx_hash_hex(mac, sizeof mac, hex);
    CHECK_EQ_STR(hex, "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54");
}

TEST(test_sigv4_refuses_bad_input)
{
    dx_buf a = DX_BUF_INIT;
    dx_error err = DX_ERROR_INIT;
    dx_sigv4_header h[] = {{"host", HOST}};
    dx_sigv4_request r = {"GET", "/", NULL, h, 1, DX_SHA256_EMPTY, "2013-05-24"};
    CHECK_EQ_INT(dx_sigv4_authorization(&CREDS, &r, &a, NULL, NULL, &err), DX_EINVAL);
    CHECK(strstr(err.msg, "2013-05-24") != NULL);
    dx_sigv4_header bad[] = {{"x-evil\r\nhost", "x"}};
    dx_sigv4_request r2 = {"GET", "/", NULL, bad, 1, DX_SHA256_EMPTY, DATE};
    CHECK_EQ_INT(dx_sigv4_authorization(&CREDS, &r2, &a, NULL, NULL, &err), DX_EINVAL);
    char d[17];
    dx_sigv4_date(1369353600, d);
    CHECK_EQ_STR(d, DATE);
    dx_buf_release(&a);
}

int main(void)
{
    RUN(test_sigv4_get_object_with_range);
    RUN(test_sigv4_put_object_with_body);
    RUN(test_sigv4_get_bucket_lifecycle);
    RUN(test_sigv4_list_objects_sorts_query);
    RUN(test_sigv4_presigned_get);
    RUN(test_sigv4_hmac_rfc4231_case2);
    RUN(test_sigv4_refuses_bad_input);
    return TEST_REPORT();
}
