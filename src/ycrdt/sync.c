/* sync.c - y-protocols sync messages (step 1, step 2, update) and the state vector of an
 * update without a doc. */
#include <stdlib.h>
#include <string.h>

#include "ycrdt_int.h"

int y_sync_encode(y_sync_kind kind, const uint8_t *payload, size_t len, uint8_t **out,
                  size_t *out_len)
{
    if ((unsigned)kind > Y_SYNC_UPDATE)
        return Y_EINVAL;
    y_enc e = Y_ENC_INIT;
    y_enc_varuint(&e, kind);
    y_enc_varbytes(&e, payload, len);
    return y_enc_finish(&e, out, out_len);
}

int y_sync_decode(const uint8_t *msg, size_t len, y_sync_kind *kind, const uint8_t **payload,
                  size_t *payload_len, size_t *consumed)
{
    y_dec d;
    y_dec_init(&d, msg, len);
    uint64_t k = y_dec_varuint(&d);
    const uint8_t *p = y_dec_varbytes(&d, payload_len);
    if (d.err || k > Y_SYNC_UPDATE)
        return Y_EDECODE;
    *kind = (y_sync_kind)k;
    *payload = p;
    if (consumed)
        *consumed = len - y_dec_left(&d);
    return Y_OK;
}

int y_sync_handle(y_doc *doc, const uint8_t *msg, size_t len, const void *origin, uint8_t **reply,
                  size_t *reply_len)
{
    y_sync_kind kind;
    const uint8_t *payload;
    size_t plen;
    *reply = NULL;
    *reply_len = 0;
    int rc = y_sync_decode(msg, len, &kind, &payload, &plen, NULL);
    if (rc)
        return rc;
    if (kind == Y_SYNC_STEP1) {
        uint8_t *u = NULL;
        size_t n = 0;
        if ((rc = y_encode_state_as_update(doc, payload, plen, &u, &n)))
            return rc;
        rc = y_sync_encode(Y_SYNC_STEP2, u, n, reply, reply_len);
        y_free(u);
        return rc;
    }
    return y_apply_update(doc, payload, plen, origin);
}
