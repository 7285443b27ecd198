/* bodydoc.c - body documents: read the Y.Text body, apply a new body as a minimal diff. */
#include "diaryx/bodydoc.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Myers' diff keeps one V array per edit distance; past this many differing lines the
 * diff falls back to one replaced region (still trimmed to the changed characters). */
#define MAX_EDIT_LINES 1500

typedef struct line {
    const char *p;
    size_t len;
    uint64_t hash;
} line;

typedef enum { OP_EQ, OP_DEL, OP_INS } op_kind;

static uint64_t hash_bytes(const char *p, size_t n)
{
    uint64_t h = 1469598103934665603ULL; /* FNV-1a */
    for (size_t i = 0; i < n; i++)
        h = (h ^ (unsigned char)p[i]) * 1099511628211ULL;
    return h;
}

static size_t utf16_units(const char *s, size_t n)
{
    size_t units = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if ((c & 0xc0) != 0x80)
            units += c >= 0xf0 ? 2 : 1;
    }
    return units;
}

/* Lines including their '\n'; the last line may lack it. */
static int split_lines(const char *s, size_t n, line **out, size_t *count)
{
    size_t cap = 16, len = 0;
    line *v = malloc(cap * sizeof *v);
    if (!v)
        return DX_ENOMEM;
    size_t start = 0;
    for (size_t i = 0; i <= n; i++) {
        if (i < n && s[i] != '\n')
            continue;
        size_t end = i < n ? i + 1 : n;
        if (end == start)
            break;
        if (len == cap) {
            line *nv = realloc(v, (cap *= 2) * sizeof *v);
            if (!nv) {
                free(v);
                return DX_ENOMEM;
            }
            v = nv;
        }
        v[len].p = s + start;
        v[len].len = end - start;
        v[len].hash = hash_bytes(s + start, end - start);
        len++;
        start = end;
    }
    *out = v;
    *count = len;
    return 0;
}

static bool line_eq(const line *a, const line *b)
{
    return a->hash == b->hash && a->len == b->len && memcmp(a->p, b->p, a->len) == 0;
}

/* Myers' O(ND) diff of a[0..n) and b[0..m). On success *ops holds n+m-(common) entries
 * in order. Returns 1 when the distance exceeds MAX_EDIT_LINES (no ops produced). */
static int myers(const line *a, size_t n, const line *b, size_t m, op_kind **ops, size_t *nops)
{
    long max = (long)(n + m), off = max + 1;
    long limit = max < MAX_EDIT_LINES ? max : MAX_EDIT_LINES;
    size_t width = (size_t)(2 * max + 3);
    long *v = calloc(width, sizeof *v);
    long **trace = calloc((size_t)limit + 1, sizeof *trace);
    int rc = 1;
    long d_found = -1;
    if (!v || !trace) {
        rc = DX_ENOMEM;
        goto done;
    }
    for (long d = 0; d <= limit; d++) {
        for (long k = -d; k <= d; k += 2) {
            long x;
            if (k == -d || (k != d && v[off + k - 1] < v[off + k + 1]))
                x = v[off + k + 1];
            else
                x = v[off + k - 1] + 1;
            long y = x - k;
            while (x < (long)n && y < (long)m && line_eq(&a[x], &b[y])) {
                x++;
                y++;
            }
            v[off + k] = x;
            if (x >= (long)n && y >= (long)m) {
                d_found = d;
                break;
            }
        }
        /* Keep the diagonals -d..d of this round for the backtrack. */
        if (!(trace[d] = malloc((size_t)(2 * d + 1) * sizeof(long)))) {
            rc = DX_ENOMEM;
            goto done;
        }
        memcpy(trace[d], v + off - d, (size_t)(2 * d + 1) * sizeof(long));
        if (d_found >= 0)
            break;
    }
    if (d_found < 0)
        goto done;
    size_t total = n + m, pos = total;
    op_kind *o = malloc((total ? total : 1) * sizeof *o);
    if (!o) {
        rc = DX_ENOMEM;
        goto done;
    }
    long x = (long)n, y = (long)m;
    for (long d = d_found; d >= 0; d--) {
        long k = x - y;
        long prev_k;
        if (d == 0)
            prev_k = 0;
        else {
            long *vp = trace[d - 1];
            bool down = k == -d || (k != d && vp[k - 1 + d - 1] < vp[k + 1 + d - 1]);
            prev_k = down ? k + 1 : k - 1;
        }
        long prev_x = d == 0 ? 0 : trace[d - 1][prev_k + d - 1];
        long prev_y = prev_x - prev_k;
        while (x > prev_x && y > prev_y) {
            o[--pos] = OP_EQ;
            x--;
            y--;
        }
        if (d > 0) {
            if (x == prev_x) {
                o[--pos] = OP_INS;
                y--;
            } else {
                o[--pos] = OP_DEL;
                x--;
            }
        }
    }
    /* Unused leading slots (equal lines counted once) are dropped. */
    memmove(o, o + pos, (total - pos) * sizeof *o);
    *ops = o;
    *nops = total - pos;
    rc = 0;
done:
    if (trace)
        for (long d = 0; d <= limit; d++)
            free(trace[d]);
    free(trace);
    free(v);
    return rc;
}

/* Replace old[0..olen) by new[0..nlen) at UTF-16 position pos, touching only the bytes
 * between their common prefix and suffix (kept on character boundaries). */
static int replace_region(y_type *text, size_t pos, const char *old, size_t olen, const char *nw,
                          size_t nlen)
{
    size_t pre = 0;
    while (pre < olen && pre < nlen && old[pre] == nw[pre])
        pre++;
    /* Equal bytes before a character start in old are whole characters in both. */
    while (pre > 0 && pre < olen && ((unsigned char)old[pre] & 0xc0) == 0x80)
        pre--;
    size_t suf = 0;
    while (suf < olen - pre && suf < nlen - pre && old[olen - 1 - suf] == nw[nlen - 1 - suf])
        suf++;
    /* The suffix must start on a character boundary in both strings. */
    while (suf > 0 && ((unsigned char)old[olen - suf] & 0xc0) == 0x80)
        suf--;
    size_t at = pos + utf16_units(old, pre);
    size_t del = utf16_units(old + pre, olen - pre - suf);
    int rc = Y_OK;
    if (del)
        rc = y_text_delete(text, (uint32_t)at, (uint32_t)del);
    if (rc == Y_OK && nlen - pre - suf)
        rc = y_text_insert(text, (uint32_t)at, nw + pre, nlen - pre - suf, NULL);
    return rc;
}

int dx_body_get(y_doc *doc, dx_buf *out, dx_error *err)
{
    y_type *text = y_doc_get_text(doc, DX_BODY_TEXT);
    if (!text)
        return dx_error_set(err, DX_ECORRUPT, "body document: '%s' is not a text", DX_BODY_TEXT);
    char *s = NULL;
    size_t n = 0;
    int rc = y_text_string(text, &s, &n);
    if (rc != Y_OK)
        return dx_error_set(err, DX_ENOMEM, "cannot read the body: %s", y_strerror(rc));
    rc = dx_buf_append(out, s, n);
    y_free(s);
    return rc ? dx_error_set(err, rc, "cannot read the body: %s", dx_strerror(rc)) : 0;
}

int dx_body_set(y_doc *doc, const char *nw, size_t nlen, dx_error *err)
{
    /* Checked before any edit: a transaction cannot be rolled back half way. */
    if (!y_utf8_valid(nw, nlen))
        return dx_error_set(err, DX_EINVAL, "the new body is not valid UTF-8");
    y_type *text = y_doc_get_text(doc, DX_BODY_TEXT);
    if (!text)
        return dx_error_set(err, DX_ECORRUPT, "body document: '%s' is not a text", DX_BODY_TEXT);
    char *old = NULL;
    size_t olen = 0;
    line *a = NULL, *b = NULL;
    op_kind *ops = NULL;
    size_t na = 0, nb = 0, nops = 0;
    int rc = y_text_string(text, &old, &olen);
    if (rc != Y_OK)
        return dx_error_set(err, DX_ENOMEM, "cannot read the body: %s", y_strerror(rc));
    if (olen == nlen && memcmp(old, nw, nlen) == 0)
        goto done;
    if (split_lines(old, olen, &a, &na) || split_lines(nw, nlen, &b, &nb)) {
        rc = dx_error_set(err, DX_ENOMEM, "out of memory diffing the body");
        goto done;
    }
    /* Trim equal leading and trailing lines before the quadratic part. */
    size_t head = 0, tail = 0;
    while (head < na && head < nb && line_eq(&a[head], &b[head]))
        head++;
    while (tail < na - head && tail < nb - head && line_eq(&a[na - 1 - tail], &b[nb - 1 - tail]))
        tail++;
    int mrc = myers(a + head, na - head - tail, b + head, nb - head - tail, &ops, &nops);
    if (mrc < 0) {
        rc = dx_error_set(err, DX_ENOMEM, "out of memory diffing the body");
        goto done;
    }
    if ((rc = y_doc_begin(doc, NULL)) != Y_OK) {
        rc = dx_error_set(err, DX_EINVAL, "cannot start a transaction: %s", y_strerror(rc));
        goto done;
    }
    size_t pos = 0, ai = 0, bi = 0;
    for (size_t i = 0; i < head; i++)
        pos += utf16_units(a[i].p, a[i].len);
    const char *obase = head < na ? a[head].p : old + olen;
    const char *nbase = head < nb ? b[head].p : nw + nlen;
    const char *oend = tail ? a[na - tail].p : old + olen;
    const char *nend = tail ? b[nb - tail].p : nw + nlen;
    if (mrc == 1) {
        /* Too different for the line diff: one region, trimmed to changed characters. */
        rc =
            replace_region(text, pos, obase, (size_t)(oend - obase), nbase, (size_t)(nend - nbase));
    } else {
        const line *ao = a + head, *bo = b + head;
        for (size_t i = 0; i < nops && rc == Y_OK;) {
            if (ops[i] == OP_EQ) {
                pos += utf16_units(ao[ai].p, ao[ai].len);
                ai++, bi++, i++;
                continue;
            }
            size_t a0 = ai, b0 = bi;
            while (i < nops && ops[i] != OP_EQ) {
                if (ops[i] == OP_DEL)
                    ai++;
                else
                    bi++;
                i++;
            }
            const char *op = a0 < ai ? ao[a0].p : (ai < na - head ? ao[ai].p : oend);
            size_t ol = 0, nl = 0;
            for (size_t j = a0; j < ai; j++)
                ol += ao[j].len;
            const char *np = b0 < bi ? bo[b0].p : nend;
            for (size_t j = b0; j < bi; j++)
                nl += bo[j].len;
            rc = replace_region(text, pos, op, ol, np, nl);
            pos += utf16_units(np, nl);
        }
    }
    int crc = y_doc_commit(doc);
    if (rc == Y_OK)
        rc = crc;
    if (rc != Y_OK)
        rc = dx_error_set(err, rc == Y_ENOMEM ? DX_ENOMEM : DX_EINVAL, "cannot update the body: %s",
                          y_strerror(rc));
done:
    y_free(old);
    free(a);
    free(b);
    free(ops);
    return rc;
}

int dx_body_insert(y_doc *doc, bool at_end, const char *text, size_t len, dx_error *err)
{
    if (!y_utf8_valid(text, len))
        return dx_error_set(err, DX_EINVAL, "the text to insert is not valid UTF-8");
    y_type *t = y_doc_get_text(doc, DX_BODY_TEXT);
    if (!t)
        return dx_error_set(err, DX_ECORRUPT, "body document: '%s' is not a text", DX_BODY_TEXT);
    if (!len)
        return 0;
    int rc = y_text_insert(t, at_end ? y_text_length(t) : 0, text, len, NULL);
    return rc == Y_OK
               ? 0
               : dx_error_set(err, DX_ENOMEM, "cannot insert into the body: %s", y_strerror(rc));
}
