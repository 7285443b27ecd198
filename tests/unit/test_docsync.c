/* test_docsync.c - one workspace's documents synced with peers through Hocuspocus sync
 * messages, over a store file and no directory, as the server will: names on the wire
 * (hostile ones refused), step 1 answered with what the peer lacks and our own step 1, an
 * update applied and stored only when the caller stores it, a malformed update refused with
 * nothing changed, a peer that may only read refused (or acknowledged when its step 2 holds
 * nothing new). */
#include "test.h"

#include <unistd.h>

#include "diaryx/bodydoc.h"
#include "diaryx/docsync.h"

#define WID   "5b0c8e4e-3c1f-4c55-9a0e-2f1d9a7c3b21"
#define ENTRY "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"

static char dir[64];

TEST(test_names_on_the_wire)
{
    char wid[DX_UUID_LEN + 1], local[DX_DOC_NAME_MAX];
    dx_error err = DX_ERROR_INIT;
    const char *ws = "workspace:" WID, *body = "body:" WID "/" ENTRY;
    CHECK_EQ_INT(dx_docsync_local_name(ws, strlen(ws), wid, local, &err), 0);
    CHECK_EQ_STR(wid, WID);
    CHECK_EQ_STR(local, "workspace");
    CHECK_EQ_INT(dx_docsync_local_name(body, strlen(body), wid, local, &err), 0);
    CHECK_EQ_STR(local, "body/" ENTRY);
    dx_buf b = DX_BUF_INIT;
    CHECK_EQ_INT(dx_docsync_remote_name(WID, local, &b, &err), 0);
    CHECK_EQ_STR(dx_buf_cstr(&b), body);
    dx_buf_reset(&b);
    CHECK_EQ_INT(dx_docsync_remote_name(WID, "workspace", &b, &err), 0);
    CHECK_EQ_STR(dx_buf_cstr(&b), ws);
    CHECK_EQ_INT(dx_docsync_remote_name(WID, "meta", &b, &err), DX_EINVAL);
    dx_buf_release(&b);

    static const char *const hostile[] = {
        "workspace:",
        "workspace:" WID "x",
        "workspace:../../etc/passwd",
        "body:" WID "/../" ENTRY,
        "body:" WID "/" ENTRY "/x",
        "body:" WID,
        "body:" WID "\\" ENTRY,
        "body:" WID "/0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4g",
        "Workspace:" WID,
        "",
    };
    for (size_t i = 0; i < sizeof hostile / sizeof *hostile; i++) {
        dx_error_clear(&err);
        CHECK_EQ_INT(dx_docsync_local_name(hostile[i], strlen(hostile[i]), wid, local, &err),
                     DX_EINVAL);
        CHECK(strstr(err.msg, "is not a document name") != NULL);
    }
    /* A NUL inside the name (a session address cut wrongly) is not a name either. */
    char with_nul[] = "workspace:" WID;
    with_nul[12] = 0;
    CHECK_EQ_INT(dx_docsync_local_name(with_nul, sizeof with_nul - 1, wid, local, &err), DX_EINVAL);
}

/* A peer: a Y.Doc standing for a provider's copy of the body document. */
static y_doc *peer_new(void)
{
    y_doc_options o = Y_DOC_OPTIONS_INIT;
    y_doc *d = NULL;
    CHECK_EQ_INT(y_doc_new(&d, &o), Y_OK);
    return d;
}

static void frame_sync(dx_buf *b, y_sync_kind kind, const uint8_t *data, size_t len)
{
    static const char addr[] = "body:" WID "/" ENTRY;
    dx_buf_reset(b);
    CHECK_EQ_INT(dx_hp_put_sync(b, addr, sizeof addr - 1, DX_HP_SYNC, kind, data, len), 0);
}

static dx_hp_msg decode(const dx_buf *b)
{
    dx_hp_msg m;
    dx_error err = DX_ERROR_INIT;
    CHECK_EQ_INT(dx_hp_decode((const uint8_t *)dx_buf_cstr(b), b->len, &m, &err), 0);
    return m;
}

/* Apply each reply frame (one websocket message each) to the peer; count the step 1 and
 * status frames. Then empty the replies. */
static void deliver(y_doc *peer, dx_buf reply[DX_DOCSYNC_REPLIES], int *step1, int *status_ok,
                    int *status_no)
{
    for (size_t i = 0; i < DX_DOCSYNC_REPLIES; i++) {
        if (!reply[i].len)
            continue;
        dx_hp_msg m = decode(&reply[i]);
        dx_buf again = DX_BUF_INIT;
        if (m.type == DX_HP_SYNC_STATUS) {
            *(m.status ? status_ok : status_no) += 1;
            CHECK_EQ_INT(dx_hp_put_status(&again, m.addr, m.addr_len, m.status == 1), 0);
        } else {
            CHECK(m.type == DX_HP_SYNC); /* the provider ignores SYNC_REPLY */
            if (m.sync == Y_SYNC_STEP1)
                (*step1)++;
            else
                CHECK_EQ_INT(y_apply_update(peer, m.data, m.data_len, NULL), Y_OK);
            CHECK_EQ_INT(
                dx_hp_put_sync(&again, m.addr, m.addr_len, m.type, m.sync, m.data, m.data_len), 0);
        }
        CHECK_EQ_INT(again.len, reply[i].len); /* exactly one frame */
        dx_buf_release(&again);
        dx_buf_reset(&reply[i]);
    }
}

static void store_round(dx_docset *ds)
{
    dx_error err = DX_ERROR_INIT;
    CHECK_EQ_INT(dx_docset_save(ds, &err), 0);
}

static char *text_of(y_doc *d)
{
    dx_buf b = DX_BUF_INIT;
    CHECK_EQ_INT(dx_body_get(d, &b, NULL), 0);
    return dx_buf_detach(&b, NULL);
}

TEST(test_a_peer_syncs_a_body_through_the_docset)
{
    char path[128];
    snprintf(path, sizeof path, "%s/ws.db", dir);
    dx_crdt_store *st = NULL;
    dx_docset *ds = NULL;
    dx_error err = DX_ERROR_INIT;
    CHECK_EQ_INT(dx_store_open(path, &st, &err), 0);
    CHECK_EQ_INT(dx_docset_new(st, "server", &ds, &err), 0);
    /* The server holds a body already. */
    y_doc *body = NULL;
    CHECK_EQ_INT(dx_docset_body(ds, ENTRY, &body, &err), 0);
    CHECK_EQ_INT(dx_body_set(body, "stored line\n", 12, &err), 0);
    store_round(ds);

    /* A new peer: its step 1 (empty state) is answered with the whole body and our step 1. */
    y_doc *peer = peer_new();
    uint8_t *sv = NULL, *u = NULL;
    size_t sv_len = 0, u_len = 0;
    CHECK_EQ_INT(y_encode_state_vector(peer, &sv, &sv_len), Y_OK);
    dx_buf in = DX_BUF_INIT, reply[DX_DOCSYNC_REPLIES] = {DX_BUF_INIT, DX_BUF_INIT};
    frame_sync(&in, Y_SYNC_STEP1, sv, sv_len);
    dx_hp_msg m = decode(&in);
    dx_docsync_result r;
    CHECK_EQ_INT(dx_docsync_handle(ds, "body/" ENTRY, &m, false, reply, &r, &err), 0);
    CHECK(!r.applied);
    int step1 = 0, ok = 0, no = 0;
    deliver(peer, reply, &step1, &ok, &no);
    CHECK_EQ_INT(step1, 1);
    char *t = text_of(peer);
    CHECK_EQ_STR(t, "stored line\n");
    free(t);

    /* The peer types: its update is applied, and stored only when the caller stores. */
    uint8_t *before = NULL;
    size_t before_len = 0;
    CHECK_EQ_INT(y_encode_state_vector(peer, &before, &before_len), Y_OK);
    CHECK_EQ_INT(dx_body_insert(peer, true, "typed\n", 6, &err), 0);
    CHECK_EQ_INT(y_encode_state_as_update(peer, before, before_len, &u, &u_len), Y_OK);
    frame_sync(&in, Y_SYNC_UPDATE, u, u_len);
    m = decode(&in);
    int64_t stored_before = dx_store_last_id(st, NULL);
    CHECK_EQ_INT(dx_docsync_handle(ds, "body/" ENTRY, &m, false, reply, &r, &err), 0);
    CHECK(r.applied && r.changed);
    CHECK_EQ_MEM(r.update, r.update_len, u, u_len);
    CHECK_EQ_INT(reply[0].len + reply[1].len, 0); /* the acknowledgement waits for the store */
    CHECK_EQ_INT(dx_store_last_id(st, NULL), stored_before);
    CHECK(dx_docset_unsaved(ds));
    store_round(ds);
    CHECK(dx_store_last_id(st, NULL) > stored_before);

    /* A second server process (a restart) loads what was stored. */
    dx_docset *again = NULL;
    y_doc *b2 = NULL;
    CHECK_EQ_INT(dx_docset_new(st, "server", &again, &err), 0);
    CHECK_EQ_INT(dx_docset_body(again, ENTRY, &b2, &err), 0);
    t = text_of(b2);
    CHECK_EQ_STR(t, "stored line\ntyped\n");
    free(t);
    dx_docset_free(again);

    /* The same update again (a step 2 of a peer with nothing new): applied, but it changes
     * nothing, so there is nothing to store or relay. */
    frame_sync(&in, Y_SYNC_STEP2, u, u_len);
    m = decode(&in);
    CHECK_EQ_INT(dx_docsync_handle(ds, "body/" ENTRY, &m, false, reply, &r, &err), 0);
    CHECK(r.applied && !r.changed);
    CHECK(!dx_docset_unsaved(ds));

    /* An update whose structs follow ones the server has not seen (the peer typed twice, the
     * first update is late): held pending in the document, changing nothing yet, but stored
     * before it is acknowledged, so a restart before the first arrives loses nothing. */
    uint8_t *sv1 = NULL, *late = NULL, *second = NULL;
    size_t sv1_len = 0, late_len = 0, second_len = 0;
    CHECK_EQ_INT(y_encode_state_vector(peer, &sv1, &sv1_len), Y_OK);
    CHECK_EQ_INT(dx_body_insert(peer, true, "one\n", 4, &err), 0);
    CHECK_EQ_INT(y_encode_state_as_update(peer, sv1, sv1_len, &late, &late_len), Y_OK);
    y_free(sv1);
    CHECK_EQ_INT(y_encode_state_vector(peer, &sv1, &sv1_len), Y_OK);
    CHECK_EQ_INT(dx_body_insert(peer, true, "two\n", 4, &err), 0);
    CHECK_EQ_INT(y_encode_state_as_update(peer, sv1, sv1_len, &second, &second_len), Y_OK);
    y_free(sv1);
    frame_sync(&in, Y_SYNC_UPDATE, second, second_len);
    m = decode(&in);
    CHECK_EQ_INT(dx_docsync_handle(ds, "body/" ENTRY, &m, false, reply, &r, &err), 0);
    CHECK(r.applied && r.changed);
    CHECK(dx_docset_unsaved(ds));
    store_round(ds);
    dx_docset *restarted = NULL;
    y_doc *b3 = NULL;
    CHECK_EQ_INT(dx_docset_new(st, "server", &restarted, &err), 0);
    CHECK_EQ_INT(dx_docset_body(restarted, ENTRY, &b3, &err), 0);
    CHECK(y_doc_has_pending(b3));
    CHECK_EQ_INT(y_apply_update(b3, late, late_len, NULL), Y_OK); /* the late one arrives */
    t = text_of(b3);
    CHECK_EQ_STR(t, "stored line\ntyped\none\ntwo\n");
    free(t);
    dx_docset_free(restarted);
    y_free(late);
    y_free(second);

    /* A malformed update: refused, nothing applied or stored. */
    uint8_t junk[] = {1, 1, 0xff, 0xff, 0xff, 0x0f, 4, 9, 9};
    frame_sync(&in, Y_SYNC_UPDATE, junk, sizeof junk);
    m = decode(&in);
    dx_error_clear(&err);
    CHECK_EQ_INT(dx_docsync_handle(ds, "body/" ENTRY, &m, false, reply, &r, &err), DX_EPARSE);
    CHECK(strstr(err.msg, "malformed") != NULL);
    CHECK(!r.applied);
    CHECK(!dx_docset_unsaved(ds));
    t = text_of(body);
    CHECK_EQ_STR(t, "stored line\ntyped\n");
    free(t);

    /* A peer that may only read: its edit is refused, its step 2 of known content accepted. */
    CHECK_EQ_INT(dx_body_insert(peer, true, "not allowed\n", 12, &err), 0);
    y_free(u);
    CHECK_EQ_INT(y_encode_state_as_update(peer, NULL, 0, &u, &u_len), Y_OK);
    frame_sync(&in, Y_SYNC_UPDATE, u, u_len);
    m = decode(&in);
    CHECK_EQ_INT(dx_docsync_handle(ds, "body/" ENTRY, &m, true, reply, &r, &err), 0);
    CHECK(!r.applied);
    ok = no = 0;
    deliver(peer, reply, &step1, &ok, &no);
    CHECK_EQ_INT(no, 1);
    frame_sync(&in, Y_SYNC_STEP2, u, u_len); /* still new content */
    m = decode(&in);
    CHECK_EQ_INT(dx_docsync_handle(ds, "body/" ENTRY, &m, true, reply, &r, &err), 0);
    ok = no = 0;
    deliver(peer, reply, &step1, &ok, &no);
    CHECK_EQ_INT(no, 1);
    y_free(u);
    CHECK_EQ_INT(y_encode_state_as_update(body, NULL, 0, &u, &u_len), Y_OK);
    frame_sync(&in, Y_SYNC_STEP2, u, u_len); /* only what the server has */
    m = decode(&in);
    CHECK_EQ_INT(dx_docsync_handle(ds, "body/" ENTRY, &m, true, reply, &r, &err), 0);
    ok = no = 0;
    deliver(peer, reply, &step1, &ok, &no);
    CHECK_EQ_INT(ok, 1);
    CHECK(!dx_docset_unsaved(ds));
    t = text_of(body);
    CHECK_EQ_STR(t, "stored line\ntyped\n");
    free(t);

    y_free(sv);
    y_free(u);
    y_free(before);
    y_doc_free(peer);
    dx_buf_release(&in);
    dx_buf_release(&reply[0]);
    dx_buf_release(&reply[1]);
    dx_docset_free(ds);
    dx_store_close(st);
}

int main(void)
{
    snprintf(dir, sizeof dir, "/tmp/dx-docsync-XXXXXX");
    if (!mkdtemp(dir))
        return 1;
    RUN(test_names_on_the_wire);
    RUN(test_a_peer_syncs_a_body_through_the_docset);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        return 1;
    return TEST_REPORT();
}
