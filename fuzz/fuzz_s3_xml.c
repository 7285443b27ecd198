/* fuzz_s3_xml.c - S3's XML answers (list pages, upload ids, errors) from arbitrary bytes:
 * dx_s3_xml_next must stay inside the input, always advance, and never yield more text than
 * the input holds. */
#include <stdint.h>
#include <stdlib.h>

#include "diaryx/blobstore.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const tags[] = {"Key",  "UploadId", "IsTruncated", "NextContinuationToken",
                                       "Code", "Message"};
    const char *x = (const char *)data;
    for (size_t t = 0; t < sizeof tags / sizeof *tags; t++) {
        size_t pos = 0, total = 0;
        for (;;) {
            dx_buf v = DX_BUF_INIT;
            size_t before = pos;
            int rc = dx_s3_xml_next(x, size, tags[t], &pos, &v);
            total += v.len;
            dx_buf_release(&v);
            if (rc == 1 && (pos <= before || pos > size))
                abort();
            if (total > size)
                abort();
            if (rc != 1)
                break;
        }
    }
    return 0;
}
