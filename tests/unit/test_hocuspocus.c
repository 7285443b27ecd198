/* test_hocuspocus.c - the Hocuspocus frame codec: every message type encoded and decoded
 * back, known bytes, malformed frames refused with a reason, awareness updates; and, side by
 * side with the stock @hocuspocus/provider (tests/interop/hocuspocus_provider.mjs, node), the
 * frames the provider sends decode as what they are and the frames this codec writes for it
 * authenticate it, sync its document and answer its ping. */
#include "test.h"

#include <stdio.h>
#include <stdlib.h>

#include "diaryx/hocuspocus.h"

static dx_hp_msg decode_ok(const dx_buf *b)
{
    dx_hp_msg m;
    dx_error err = DX_ERROR_INIT;
    int rc = dx_hp_decode((const uint8_t *)dx_buf_cstr(b), b->len, &m, &err);
    if (rc)
        TEST_FAILF("decode: %s", err.msg);
    return m;
}

static void check_refused(const uint8_t *frame, size_t len, const char *why)
{
    dx_hp_msg m;
    dx_error err = DX_ERROR_INIT;
    CHECK_EQ_INT(dx_hp_decode(frame, len, &m, &err), DX_EPARSE);
    if (!strstr(err.msg, why))
        TEST_FAILF("'%s' does not say '%s'", err.msg, why);
}

TEST(test_every_message_round_trips)
{
    static const char addr[] = "body:ws/entry\0session-1"; /* a session-aware address */
    size_t alen = sizeof addr - 1;
    const uint8_t sv[] = {1, 2, 3};
    dx_buf b = DX_BUF_INIT;
    dx_hp_msg m;

    CHECK_EQ_INT(dx_hp_put_sync(&b, addr, alen, DX_HP_SYNC_REPLY, Y_SYNC_STEP2, sv, 3), 0);
    m = decode_ok(&b);
    CHECK_EQ_INT(m.type, DX_HP_SYNC_REPLY);
    CHECK_EQ_MEM(m.addr, m.addr_len, addr, alen);
    CHECK_EQ_INT(m.name_len, strlen("body:ws/entry"));
    CHECK_EQ_INT(m.sync, Y_SYNC_STEP2);
    CHECK_EQ_MEM(m.data, m.data_len, sv, 3);

    dx_buf_reset(&b);
    CHECK_EQ_INT(dx_hp_put_auth(&b, "d", 1, DX_HP_AUTH_TOKEN, "tok", "4.8.0"), 0);
    m = decode_ok(&b);
    CHECK_EQ_INT(m.type, DX_HP_AUTH);
    CHECK_EQ_INT(m.auth, DX_HP_AUTH_TOKEN);
    CHECK_EQ_MEM(m.text, m.text_len, "tok", 3);
    CHECK_EQ_MEM(m.version, m.version_len, "4.8.0", 5);
    CHECK_EQ_INT(m.name_len, 1);

    dx_buf_reset(&b); /* the server's "send your token again": no string */
    CHECK_EQ_INT(dx_hp_put_auth(&b, "d", 1, DX_HP_AUTH_TOKEN, NULL, NULL), 0);
    CHECK_EQ_INT(b.len, 4);
    m = decode_ok(&b);
    CHECK(m.text == NULL && m.version == NULL);

    dx_buf_reset(&b);
    CHECK_EQ_INT(dx_hp_put_auth(&b, "d", 1, DX_HP_AUTH_DENIED, "no such workspace", NULL), 0);
    m = decode_ok(&b);
    CHECK_EQ_INT(m.auth, DX_HP_AUTH_DENIED);
    CHECK_EQ_MEM(m.text, m.text_len, "no such workspace", 17);

    /* The provider closes a document with no reason: [addr, 7]. */
    static const uint8_t bare_close[] = {1, 'd', 7};
    CHECK_EQ_INT(dx_hp_decode(bare_close, sizeof bare_close, &m, NULL), 0);
    CHECK(m.type == DX_HP_CLOSE && m.text == NULL);

    static const dx_hp_type texts[] = {DX_HP_STATELESS, DX_HP_BROADCAST_STATELESS, DX_HP_CLOSE};
    for (size_t i = 0; i < 3; i++) {
        dx_buf_reset(&b);
        CHECK_EQ_INT(dx_hp_put_text(&b, "d", 1, texts[i], "{\"a\":1}", 7), 0);
        m = decode_ok(&b);
        CHECK_EQ_INT(m.type, texts[i]);
        CHECK_EQ_MEM(m.text, m.text_len, "{\"a\":1}", 7);
    }

    dx_buf_reset(&b);
    CHECK_EQ_INT(dx_hp_put_status(&b, "d", 1, true), 0);
    m = decode_ok(&b);
    CHECK_EQ_INT(m.type, DX_HP_SYNC_STATUS);
    CHECK_EQ_INT(m.status, 1);

    dx_buf_reset(&b);
    CHECK_EQ_INT(dx_hp_put_query_awareness(&b, "d", 1), 0);
    CHECK_EQ_INT(decode_ok(&b).type, DX_HP_QUERY_AWARENESS);

    dx_buf_reset(&b);
    CHECK_EQ_INT(dx_hp_put_awareness(&b, "d", 1, sv, 3), 0);
    m = decode_ok(&b);
    CHECK_EQ_INT(m.type, DX_HP_AWARENESS);
    CHECK_EQ_MEM(m.data, m.data_len, sv, 3);

    for (dx_hp_type t = DX_HP_PING; t <= DX_HP_PONG; t++) {
        dx_buf_reset(&b);
        CHECK_EQ_INT(dx_hp_put_ping(&b, t), 0);
        CHECK_EQ_INT(b.len, 1);
        m = decode_ok(&b);
        CHECK_EQ_INT(m.type, t);
        CHECK_EQ_INT(m.addr_len, 0);
    }
    dx_buf_release(&b);
}

TEST(test_known_bytes)
{
    /* What @hocuspocus/server writes for writeAuthenticated(false) on document "doc". */
    static const uint8_t ok[] = {3,   'd', 'o', 'c', 2,   2,   10,  'r', 'e',
                                 'a', 'd', '-', 'w', 'r', 'i', 't', 'e'};
    dx_buf b = DX_BUF_INIT;
    CHECK_EQ_INT(dx_hp_put_auth(&b, "doc", 3, DX_HP_AUTH_OK, "read-write", NULL), 0);
    CHECK_EQ_MEM(dx_buf_cstr(&b), b.len, ok, sizeof ok);
    /* writeSyncStatus(true) */
    static const uint8_t st[] = {3, 'd', 'o', 'c', 8, 1};
    dx_buf_reset(&b);
    CHECK_EQ_INT(dx_hp_put_status(&b, "doc", 3, true), 0);
    CHECK_EQ_MEM(dx_buf_cstr(&b), b.len, st, sizeof st);
    dx_buf_release(&b);
}

TEST(test_malformed_frames_are_refused_with_a_reason)
{
    static const uint8_t empty[] = {0};
    check_refused(empty, 0, "no document address");
    check_refused(empty, 1, "no document address"); /* an empty address, then nothing */
    static const uint8_t long_addr[] = {5, 'a', 'b'};
    check_refused(long_addr, sizeof long_addr, "no document address");
    static const uint8_t type11[] = {1, 'a', 11};
    check_refused(type11, sizeof type11, "unknown Hocuspocus message type 11");
    static const uint8_t kind3[] = {1, 'a', 0, 3, 0};
    check_refused(kind3, sizeof kind3, "unknown sync message kind 3");
    static const uint8_t auth3[] = {1, 'a', 2, 3, 0};
    check_refused(auth3, sizeof auth3, "unknown auth message type 3");
    static const uint8_t ping_addressed[] = {1, 'a', 9};
    check_refused(ping_addressed, sizeof ping_addressed, "Ping message cannot be addressed");
    static const uint8_t short_update[] = {1, 'a', 0, 2, 9, 1, 2};
    check_refused(short_update, sizeof short_update, "truncated or malformed Sync message");
    static const uint8_t bad_utf8[] = {2, 0xc3, 0x28, 3};
    check_refused(bad_utf8, sizeof bad_utf8, "no document address");
    static const uint8_t denied_no_reason[] = {1, 'a', 2, 1};
    check_refused(denied_no_reason, sizeof denied_no_reason, "malformed Auth message");
    static const uint8_t huge_varuint[] = {1,    'a',  0xff, 0xff, 0xff, 0xff, 0xff,
                                           0xff, 0xff, 0xff, 0xff, 0xff, 0x7f};
    dx_hp_msg m;
    CHECK(dx_hp_decode(huge_varuint, sizeof huge_varuint, &m, NULL) == DX_EPARSE);
}

typedef struct peers {
    uint64_t client[4], clock[4];
    char state[4][32];
    size_t n;
} peers;

static int collect(void *ud, const dx_hp_peer *p)
{
    peers *ps = ud;
    if (ps->n == 4)
        return DX_EINVAL;
    ps->client[ps->n] = p->client;
    ps->clock[ps->n] = p->clock;
    snprintf(ps->state[ps->n++], 32, "%.*s", (int)p->state_len, p->state);
    return 0;
}

TEST(test_awareness_updates)
{
    /* The update the provider above sends: client 2302818774, clock 1, its user field. */
    static const char *hexed =
        "01d6f388ca08011a7b2275736572223a7b226e616d65223a22746573746572227d7d";
    uint8_t u[64];
    size_t n = strlen(hexed) / 2;
    for (size_t i = 0; i < n; i++)
        sscanf(hexed + 2 * i, "%2hhx", &u[i]);
    peers ps = {0};
    dx_error err = DX_ERROR_INIT;
    CHECK_EQ_INT(dx_hp_awareness_each(u, n, collect, &ps, &err), 0);
    CHECK_EQ_INT(ps.n, 1);
    CHECK(ps.client[0] == 2302818774u);
    CHECK_EQ_INT(ps.clock[0], 1);
    CHECK_EQ_STR(ps.state[0], "{\"user\":{\"name\":\"tester\"}}");
    CHECK_EQ_INT(dx_hp_awareness_each(u, n - 3, collect, &ps, &err), DX_EPARSE);
    CHECK(strstr(err.msg, "malformed awareness update") != NULL);

    /* Two clients leave: state null, the clocks given. */
    uint64_t clients[] = {7, 2302818774u}, clocks[] = {3, 2};
    dx_buf b = DX_BUF_INIT;
    CHECK_EQ_INT(dx_hp_awareness_gone(&b, clients, clocks, 2), 0);
    memset(&ps, 0, sizeof ps);
    CHECK_EQ_INT(dx_hp_awareness_each((const uint8_t *)dx_buf_cstr(&b), b.len, collect, &ps, &err),
                 0);
    CHECK_EQ_INT(ps.n, 2);
    CHECK(ps.client[1] == 2302818774u && ps.clock[1] == 2 && ps.clock[0] == 3);
    CHECK_EQ_STR(ps.state[0], "null");
    CHECK_EQ_STR(ps.state[1], "null");
    /* fn stops the walk */
    uint8_t many[] = {5, 1, 1, 1, '1', 2, 1, 1, '1', 3, 1, 1, '1', 4, 1, 1, '1', 5, 1, 1, '1'};
    memset(&ps, 0, sizeof ps);
    CHECK_EQ_INT(dx_hp_awareness_each(many, sizeof many, collect, &ps, &err), DX_EINVAL);
    dx_buf_release(&b);
}

/* ---- side by side with the stock provider ---- */

static void put_hex(dx_buf *cmd, const dx_buf *frame)
{
    CHECK_EQ_INT(dx_buf_putc(cmd, ' '), 0);
    for (size_t i = 0; i < frame->len; i++)
        CHECK_EQ_INT(dx_buf_printf(cmd, "%02x", (unsigned char)frame->data[i]), 0);
}

TEST(test_the_stock_provider_speaks_with_this_codec)
{
    const char *src = getenv("DX_SOURCE_DIR");
    dx_error err = DX_ERROR_INIT;
    /* The server's document: a Y.Text "t" holding a greeting. */
    y_doc_options o = Y_DOC_OPTIONS_INIT;
    y_doc *doc = NULL;
    CHECK_EQ_INT(y_doc_new(&doc, &o), Y_OK);
    y_type *t = y_doc_get_text(doc, "t");
    CHECK(t != NULL);
    CHECK_EQ_INT(y_text_insert(t, 0, "hello from C", 12, NULL), Y_OK);
    uint8_t *state = NULL;
    size_t state_len = 0;
    CHECK_EQ_INT(y_encode_state_as_update(doc, NULL, 0, &state, &state_len), Y_OK);

    /* What a server answers: authenticated, step 2 with its state, an ack, and a ping. */
    dx_buf cmd = DX_BUF_INIT, f = DX_BUF_INIT;
    CHECK_EQ_INT(dx_buf_printf(&cmd,
                               "node '%s/tests/interop/hocuspocus_provider.mjs' "
                               "workspace:w1 secret-token",
                               src ? src : "."),
                 0);
    CHECK_EQ_INT(dx_hp_put_auth(&f, "workspace:w1", 12, DX_HP_AUTH_OK, "read-write", NULL), 0);
    put_hex(&cmd, &f);
    dx_buf_reset(&f);
    CHECK_EQ_INT(dx_hp_put_sync(&f, "workspace:w1", 12, DX_HP_SYNC, Y_SYNC_STEP2, state, state_len),
                 0);
    put_hex(&cmd, &f);
    dx_buf_reset(&f);
    CHECK_EQ_INT(dx_hp_put_status(&f, "workspace:w1", 12, true), 0);
    put_hex(&cmd, &f);
    dx_buf_reset(&f);
    CHECK_EQ_INT(dx_hp_put_ping(&f, DX_HP_PING), 0);
    put_hex(&cmd, &f);
    CHECK_EQ_INT(dx_buf_puts(&cmd, " 2>&1"), 0);

    FILE *p = popen(dx_buf_cstr(&cmd), "r");
    CHECK(p != NULL);
    char line[8192];
    int token = 0, step1 = 0, awareness = 0, pong = 0, updates = 0, status = 0;
    bool authenticated = false, synced = false;
    char text[256] = "";
    while (p && fgets(line, sizeof line, p)) {
        line[strcspn(line, "\n")] = 0;
        if (!strncmp(line, "status ", 7)) {
            authenticated = line[7] == '1';
            synced = line[9] == '1';
            status = 1;
            continue;
        }
        if (!strncmp(line, "text ", 5)) {
            snprintf(text, sizeof text, "%s", line + 5);
            continue;
        }
        if (strncmp(line, "sent ", 5) != 0)
            continue; /* unsynced, or node's complaints (printed by the checks below) */
        uint8_t frame[4096];
        size_t n = strlen(line + 5) / 2;
        CHECK(n <= sizeof frame);
        for (size_t i = 0; i < n && i < sizeof frame; i++)
            sscanf(line + 5 + 2 * i, "%2hhx", &frame[i]);
        dx_hp_msg m;
        if (dx_hp_decode(frame, n, &m, &err) != 0)
            TEST_FAILF("the provider sent a frame the codec refuses (%s): %s", err.msg, line);
        if (m.type == DX_HP_PONG) {
            pong++;
            continue;
        }
        CHECK_EQ_MEM(m.addr, m.addr_len, "workspace:w1", 12);
        if (m.type == DX_HP_AUTH) {
            CHECK_EQ_INT(m.auth, DX_HP_AUTH_TOKEN);
            CHECK_EQ_MEM(m.text, m.text_len, "secret-token", 12);
            CHECK(m.version != NULL && m.version_len > 0); /* 4.x sends its version */
            token++;
        } else if (m.type == DX_HP_SYNC && m.sync == Y_SYNC_STEP1) {
            step1++;
        } else if (m.type == DX_HP_SYNC && m.sync != Y_SYNC_STEP1) {
            /* The provider's own edit: it applies to the server's document. */
            CHECK_EQ_INT(y_apply_update(doc, m.data, m.data_len, NULL), Y_OK);
            updates++;
        } else if (m.type == DX_HP_CLOSE) {
            CHECK(m.text == NULL); /* destroy() closes the document, with no reason */
        } else if (m.type == DX_HP_AWARENESS) {
            CHECK_EQ_INT(dx_hp_awareness_each(m.data, m.data_len, collect, &(peers){0}, &err), 0);
            awareness++;
        } else {
            TEST_FAILF("unexpected frame from the provider: %s", line);
        }
    }
    CHECK(p && pclose(p) == 0);
    CHECK_EQ_INT(status, 1);
    CHECK_EQ_INT(token, 1);
    CHECK(step1 >= 1);
    CHECK(awareness >= 1);
    CHECK_EQ_INT(pong, 1);
    CHECK(updates >= 1);
    CHECK(authenticated);
    CHECK(synced);
    CHECK_EQ_STR(text, "hello from C!");
    char *mine = NULL;
    size_t mine_len = 0;
    CHECK_EQ_INT(y_text_string(t, &mine, &mine_len), Y_OK);
    CHECK_EQ_STR(mine, "hello from C!"); /* and the server has the provider's edit */
    y_free(mine);
    y_free(state);
    y_doc_free(doc);
    dx_buf_release(&cmd);
    dx_buf_release(&f);
}

int main(void)
{
    RUN(test_every_message_round_trips);
    RUN(test_known_bytes);
    RUN(test_malformed_frames_are_refused_with_a_reason);
    RUN(test_awareness_updates);
    RUN(test_the_stock_provider_speaks_with_this_codec);
    return TEST_REPORT();
}
