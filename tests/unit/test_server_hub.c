/* test_server_hub.c - the hub beside another writer of a workspace's store (the worker
 * pool's commits and restores, over a connection of their own): a document is still loaded
 * after that writer compacted the store past the hub's docset, what that writer stored
 * reaches the subscribers (srv_hub_refresh), and epochs: the epoch is told after auth, and a
 * peer carrying a retired client id is closed with 4205 and nothing of it is stored; while a
 * job that may rebuild runs, subscriptions wait. */
#include "test.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "accounts.h"
#include "diaryx/bodydoc.h"
#include "diaryx/hocuspocus.h"
#include "hub.h"

typedef struct peer {
    dx_buf frames; /* each as u32 length + bytes */
    int close_code;
    char reason[200];
} peer;

static int on_send(void *ud, const uint8_t *frame, size_t len)
{
    peer *p = ud;
    uint32_t n = (uint32_t)len;
    return dx_buf_append(&p->frames, &n, 4) || dx_buf_append(&p->frames, frame, len);
}

static void on_close(void *ud, int code, const char *reason)
{
    peer *p = ud;
    p->close_code = code;
    snprintf(p->reason, sizeof p->reason, "%s", reason);
}

/* The k-th frame p received of type t (decoded into m); false when there is none. */
static bool frame_of(const peer *p, dx_hp_type t, int k, dx_hp_msg *m)
{
    for (size_t at = 0; at + 4 <= p->frames.len;) {
        uint32_t n;
        memcpy(&n, p->frames.data + at, 4);
        if (dx_hp_decode((const uint8_t *)p->frames.data + at + 4, n, m, NULL) == 0 &&
            m->type == t && k-- == 0)
            return true;
        at += 4 + n;
    }
    return false;
}

typedef struct fixture {
    char dir[64];
    srv_accounts *acc;
    srv_hub *hub;
    char token[64];
    char wid[DX_UUID_LEN + 1];
} fixture;

static void fixture_start(fixture *f)
{
    dx_error err = DX_ERROR_INIT;
    dx_buf t = DX_BUF_INIT;
    char path[128];
    snprintf(f->dir, sizeof f->dir, "/tmp/dx-test-hub-XXXXXX");
    CHECK(mkdtemp(f->dir) != NULL);
    snprintf(path, sizeof path, "%s/accounts.db", f->dir);
    CHECK_EQ_INT(srv_accounts_open(path, &f->acc, &err), 0);
    CHECK_EQ_INT(srv_hub_new(f->dir, f->acc, &f->hub, &err), 0);
    CHECK_EQ_INT(srv_user_add(f->acc, "t@example.org", "sync", &err), 0);
    CHECK_EQ_INT(srv_token_new(f->acc, "t@example.org", "test", false, &t, &err), 0);
    CHECK_EQ_INT(srv_workspace_add(f->acc, "t@example.org", "Test", f->wid, &err), 0);
    snprintf(f->token, sizeof f->token, "%s", dx_buf_cstr(&t));
    dx_buf_release(&t);
}

static void fixture_stop(fixture *f)
{
    char cmd[128];
    srv_hub_free(f->hub);
    srv_accounts_close(f->acc);
    snprintf(cmd, sizeof cmd, "rm -rf %s", f->dir);
    CHECK_EQ_INT(system(cmd), 0);
}

static void send_frame(srv_conn *c, const dx_buf *b)
{
    srv_conn_receive(c, (const uint8_t *)b->data, b->len);
}

static void subscribe(fixture *f, srv_conn *c, const char *name)
{
    dx_buf b = DX_BUF_INIT;
    CHECK_EQ_INT(dx_hp_put_auth(&b, name, strlen(name), DX_HP_AUTH_TOKEN, f->token, "test"), 0);
    send_frame(c, &b);
    dx_buf_release(&b);
}

/* Another writer of the store: a connection and docset of its own. */
typedef struct writer {
    dx_crdt_store *st;
    dx_docset *ds;
} writer;

static void writer_append(writer *w, const char *id, const char *text)
{
    y_doc *d;
    dx_error err = DX_ERROR_INIT;
    CHECK_EQ_INT(dx_docset_body(w->ds, id, &d, &err), 0);
    CHECK_EQ_INT(dx_body_insert(d, true, text, strlen(text), &err), 0);
    CHECK_EQ_INT(dx_docset_save(w->ds, &err), 0);
}

/* A step 1 of an empty document for name: the reply's step 2 is the whole document. */
static void sync_step1(srv_conn *c, const char *name)
{
    y_doc *d;
    y_doc_options o = Y_DOC_OPTIONS_INIT;
    uint8_t *sv = NULL;
    size_t n = 0;
    dx_buf b = DX_BUF_INIT;
    CHECK_EQ_INT(y_doc_new(&d, &o), Y_OK);
    CHECK_EQ_INT(y_encode_state_vector(d, &sv, &n), Y_OK);
    CHECK_EQ_INT(dx_hp_put_sync(&b, name, strlen(name), DX_HP_SYNC, Y_SYNC_STEP1, sv, n), 0);
    send_frame(c, &b);
    dx_buf_release(&b);
    y_free(sv);
    y_doc_free(d);
}

/* The body text of d after it took in the k-th SYNC frame of p of kind kind. */
static void text_of_sync(const peer *p, y_sync_kind kind, int k, y_doc *d, dx_buf *out)
{
    dx_hp_msg m;
    dx_error err = DX_ERROR_INIT;
    dx_buf_reset(out);
    for (int i = 0, seen = 0; frame_of(p, DX_HP_SYNC, i, &m); i++)
        if (m.sync == kind && seen++ == k) {
            CHECK_EQ_INT(y_apply_update(d, m.data, m.data_len, NULL), Y_OK);
            break;
        }
    CHECK_EQ_INT(dx_body_get(d, out, &err), 0);
}

TEST(test_a_compaction_by_another_writer_and_its_updates_reach_the_clients)
{
    fixture f;
    fixture_start(&f);
    dx_error err = DX_ERROR_INIT;
    const char *id = "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d";
    char ws[128], body[128];
    snprintf(ws, sizeof ws, "workspace:%s", f.wid);
    snprintf(body, sizeof body, "body:%s/%s", f.wid, id);
    peer p = {DX_BUF_INIT, 0, ""};
    srv_transport t = {on_send, on_close, &p};
    srv_conn *c = srv_conn_new(f.hub, &t);
    subscribe(&f, c, ws); /* the hub's docset is as of now */
    dx_hp_msg m;
    CHECK(frame_of(&p, DX_HP_AUTH, 0, &m) && m.auth == DX_HP_AUTH_OK);
    CHECK(frame_of(&p, DX_HP_STATELESS, 0, &m));
    CHECK_EQ_MEM(m.text, m.text_len, "{\"type\":\"epoch\",\"epoch\":0}", 26);

    /* The other writer stores 60 updates of a body and compacts it to its newest 50: the
     * state as of the hub's `seen` is gone from the store. */
    writer w;
    CHECK_EQ_INT(srv_hub_open_docs(f.hub, f.wid, &w.st, &w.ds, &err), 0);
    char line[16];
    for (int i = 0; i < 60; i++) {
        snprintf(line, sizeof line, "%c", 'a' + i % 26);
        writer_append(&w, id, line);
    }
    char name[DX_DOC_NAME_MAX];
    dx_doc_body_name(id, name);
    CHECK_EQ_INT(dx_store_compact(w.st, name, 50, &err), 0);

    /* The body is still loaded for a subscriber, whole. */
    dx_buf_reset(&p.frames);
    subscribe(&f, c, body);
    CHECK(frame_of(&p, DX_HP_AUTH, 0, &m) && m.auth == DX_HP_AUTH_OK);
    sync_step1(c, body);
    dx_buf text = DX_BUF_INIT;
    y_doc *mine;
    y_doc_options o = Y_DOC_OPTIONS_INIT;
    CHECK_EQ_INT(y_doc_new(&mine, &o), Y_OK);
    text_of_sync(&p, Y_SYNC_STEP2, 0, mine, &text);
    CHECK_EQ_INT(text.len, 60);
    CHECK_EQ_INT(p.close_code, 0);

    /* What the other writer stores next reaches the subscriber on refresh. */
    dx_buf_reset(&p.frames);
    writer_append(&w, id, "!");
    CHECK_EQ_INT(srv_hub_refresh(f.hub, f.wid, &err), 0);
    CHECK(frame_of(&p, DX_HP_SYNC, 0, &m));
    CHECK_EQ_INT(m.sync, Y_SYNC_UPDATE);
    text_of_sync(&p, Y_SYNC_UPDATE, 0, mine, &text);
    CHECK_EQ_INT(text.len, 61);
    CHECK(text.len && text.data[60] == '!');
    /* Once only: a second refresh finds nothing new. */
    dx_buf_reset(&p.frames);
    CHECK_EQ_INT(srv_hub_refresh(f.hub, f.wid, &err), 0);
    CHECK(!frame_of(&p, DX_HP_SYNC, 0, &m));

    dx_buf_release(&text);
    y_doc_free(mine);
    dx_docset_free(w.ds);
    dx_store_close(w.st);
    srv_conn_free(c);
    dx_buf_release(&p.frames);
    srv_hub_stats st;
    srv_hub_stats_get(f.hub, &st);
    CHECK_EQ_INT(st.workspaces, 0);
    fixture_stop(&f);
}

/* An update of one character from a document with client id client. */
static void update_from(uint64_t client, dx_buf *out)
{
    y_doc *d;
    y_doc_options o = Y_DOC_OPTIONS_INIT;
    o.client_id = client;
    o.has_client_id = true;
    uint8_t *u = NULL;
    size_t n = 0;
    CHECK_EQ_INT(y_doc_new(&d, &o), Y_OK);
    CHECK_EQ_INT(y_text_insert(y_doc_get_text(d, "body"), 0, "x", 1, NULL), Y_OK);
    CHECK_EQ_INT(y_encode_state_as_update(d, NULL, 0, &u, &n), Y_OK);
    dx_buf_reset(out);
    CHECK_EQ_INT(dx_buf_append(out, u, n), 0);
    y_free(u);
    y_doc_free(d);
}

TEST(test_a_peer_of_a_retired_state_is_reset_and_nothing_is_stored)
{
    fixture f;
    fixture_start(&f);
    dx_error err = DX_ERROR_INIT;
    /* A workspace rebuilt twice; client 4242 belonged to a retired state. */
    writer w;
    CHECK_EQ_INT(srv_hub_open_docs(f.hub, f.wid, &w.st, &w.ds, &err), 0);
    CHECK_EQ_INT(dx_store_meta_set(w.st, SRV_META_EPOCH, "2", &err), 0);
    CHECK_EQ_INT(dx_store_meta_set(w.st, SRV_META_RETIRED, "77 4242 9", &err), 0);
    int64_t epoch;
    uint64_t *ids = NULL;
    size_t n = 0;
    CHECK_EQ_INT(srv_epoch_read(w.st, &epoch, &ids, &n, &err), 0);
    CHECK_EQ_INT(epoch, 2);
    CHECK_EQ_INT(n, 3);
    CHECK(ids[0] == 9 && ids[1] == 77 && ids[2] == 4242); /* sorted */
    free(ids);
    const char *id = "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d";
    char body[128];
    snprintf(body, sizeof body, "body:%s/%s", f.wid, id);

    peer old = {DX_BUF_INIT, 0, ""}, fresh = {DX_BUF_INIT, 0, ""};
    srv_transport to = {on_send, on_close, &old}, tf = {on_send, on_close, &fresh};
    srv_conn *a = srv_conn_new(f.hub, &to), *b = srv_conn_new(f.hub, &tf);
    subscribe(&f, a, body);
    subscribe(&f, b, body);
    dx_hp_msg m;
    CHECK(frame_of(&old, DX_HP_STATELESS, 0, &m));
    CHECK_EQ_MEM(m.text, m.text_len, "{\"type\":\"epoch\",\"epoch\":2}", 26);
    int64_t before = dx_store_last_id(w.st, NULL);

    /* An update carrying client 4242: refused, closed with 4205, nothing stored. */
    dx_buf u = DX_BUF_INIT, fr = DX_BUF_INIT;
    update_from(4242, &u);
    CHECK_EQ_INT(dx_hp_put_sync(&fr, body, strlen(body), DX_HP_SYNC, Y_SYNC_UPDATE,
                                (const uint8_t *)u.data, u.len),
                 0);
    send_frame(a, &fr);
    CHECK_EQ_INT(old.close_code, DX_HP_CLOSE_RESET);
    CHECK(strstr(old.reason, "discard the local copy") != NULL);
    CHECK(strstr(old.reason, "epoch 2") != NULL);
    CHECK(!frame_of(&old, DX_HP_SYNC_STATUS, 0, &m));
    CHECK_EQ_INT(dx_store_last_id(w.st, NULL), before);
    CHECK(!frame_of(&fresh, DX_HP_SYNC, 0, &m)); /* nothing relayed */

    /* A step 1 whose state vector names a retired client is refused the same way. */
    peer old2 = {DX_BUF_INIT, 0, ""};
    srv_transport t2 = {on_send, on_close, &old2};
    srv_conn *a2 = srv_conn_new(f.hub, &t2);
    subscribe(&f, a2, body);
    uint8_t sv[] = {1, 0x09, 5}; /* one client: 9, clock 5 */
    dx_buf_reset(&fr);
    CHECK_EQ_INT(dx_hp_put_sync(&fr, body, strlen(body), DX_HP_SYNC, Y_SYNC_STEP1, sv, 3), 0);
    send_frame(a2, &fr);
    CHECK_EQ_INT(old2.close_code, DX_HP_CLOSE_RESET);

    /* A client of the current state is served: its update is stored and acknowledged. */
    update_from(1001, &u);
    dx_buf_reset(&fr);
    CHECK_EQ_INT(dx_hp_put_sync(&fr, body, strlen(body), DX_HP_SYNC, Y_SYNC_UPDATE,
                                (const uint8_t *)u.data, u.len),
                 0);
    send_frame(b, &fr);
    CHECK_EQ_INT(fresh.close_code, 0);
    CHECK(frame_of(&fresh, DX_HP_SYNC_STATUS, 0, &m) && m.status == 1);
    CHECK(dx_store_last_id(w.st, NULL) > before);

    dx_buf_release(&u);
    dx_buf_release(&fr);
    srv_conn_free(a);
    srv_conn_free(a2);
    srv_conn_free(b);
    dx_buf_release(&old.frames);
    dx_buf_release(&old2.frames);
    dx_buf_release(&fresh.frames);
    dx_docset_free(w.ds);
    dx_store_close(w.st);
    fixture_stop(&f);
}

TEST(test_a_held_workspace_makes_subscriptions_wait)
{
    fixture f;
    fixture_start(&f);
    char ws[128];
    snprintf(ws, sizeof ws, "workspace:%s", f.wid);
    /* Only a third failure rebuilds, and only with no client. */
    CHECK(!srv_hub_may_rebuild(f.hub, f.wid));
    srv_hub_set_failures(f.hub, f.wid, 2);
    CHECK_EQ_INT(srv_hub_failures(f.hub, f.wid), 2);
    CHECK(srv_hub_may_rebuild(f.hub, f.wid));

    srv_hub_hold(f.hub, f.wid);
    peer p = {DX_BUF_INIT, 0, ""}, q = {DX_BUF_INIT, 0, ""};
    srv_transport tp = {on_send, on_close, &p}, tq = {on_send, on_close, &q};
    srv_conn *a = srv_conn_new(f.hub, &tp), *b = srv_conn_new(f.hub, &tq);
    subscribe(&f, a, ws);
    sync_step1(a, ws); /* queued meanwhile */
    subscribe(&f, b, ws);
    dx_hp_msg m;
    CHECK(!frame_of(&p, DX_HP_AUTH, 0, &m)); /* it waits */
    CHECK(!srv_hub_loaded(f.hub, f.wid));
    srv_conn_free(b); /* one goes away while waiting */
    srv_hub_unhold(f.hub, f.wid);
    CHECK(frame_of(&p, DX_HP_AUTH, 0, &m) && m.auth == DX_HP_AUTH_OK);
    CHECK(frame_of(&p, DX_HP_STATELESS, 0, &m));
    CHECK(frame_of(&p, DX_HP_SYNC, 0, &m) && m.sync == Y_SYNC_STEP2); /* the queued step 1 */
    CHECK(srv_hub_loaded(f.hub, f.wid));
    CHECK(!srv_hub_may_rebuild(f.hub, f.wid)); /* a client is connected */
    srv_hub_set_failures(f.hub, f.wid, 0);
    CHECK_EQ_INT(srv_hub_failures(f.hub, f.wid), 0);
    srv_conn_free(a);
    dx_buf_release(&p.frames);
    dx_buf_release(&q.frames);
    fixture_stop(&f);
}

int main(void)
{
    RUN(test_a_compaction_by_another_writer_and_its_updates_reach_the_clients);
    RUN(test_a_peer_of_a_retired_state_is_reset_and_nothing_is_stored);
    RUN(test_a_held_workspace_makes_subscriptions_wait);
    return TEST_REPORT();
}
