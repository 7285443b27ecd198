/* test_server_syncpeer.c - the CLI's sync peer (syncpeer.c) against the server's hub in one
 * process, frames handed over by queues (no sockets): a workspace uploaded and found whole by
 * a second peer, a remote edit written to the file, the acknowledgement mark and compaction
 * keeping what the server has not acknowledged, a reset (higher epoch) that keeps the text
 * typed locally and duplicates nothing, and garbage or refusals from the server changing
 * nothing. */
#include "test.h"

#include <sys/stat.h>
#include <unistd.h>

#include "accounts.h"
#include "diaryx/edit.h"
#include "diaryx/hocuspocus.h"
#include "diaryx/syncpeer.h"
#include "diaryx/workspace.h"
#include "hub.h"

/* ---- an in-process server and clients --------------------------------------------------- */

typedef struct frame {
    struct frame *next;
    size_t len;
    uint8_t data[];
} frame;

typedef struct client {
    srv_conn *conn;
    dx_sync_peer *peer;
    frame *head, *tail; /* server -> client */
    int closed;
} client;

static srv_accounts *acc;
static srv_hub *hub;
static char token[64], wid[DX_UUID_LEN + 1], base[64];

static int to_client(void *ud, const uint8_t *f, size_t len)
{
    client *c = ud;
    frame *fr = malloc(sizeof *fr + len);
    if (!fr)
        return -1;
    fr->next = NULL;
    fr->len = len;
    memcpy(fr->data, f, len);
    if (c->tail)
        c->tail->next = fr;
    else
        c->head = fr;
    c->tail = fr;
    return 0;
}

static void on_close(void *ud, int code, const char *reason)
{
    (void)reason;
    ((client *)ud)->closed = code;
}

static int to_server(void *ud, const uint8_t *f, size_t len)
{
    client *c = ud;
    if (!c->conn) /* no server: the test is the server, and drops what the peer sends */
        return 0;
    return c->closed ? -1 : (srv_conn_receive(c->conn, f, len), 0);
}

static void client_open(client *c)
{
    memset(c, 0, sizeof *c);
    srv_transport t = {to_client, on_close, c};
    c->conn = srv_conn_new(hub, &t);
}

static void client_drop_frames(client *c)
{
    while (c->head) {
        frame *f = c->head;
        c->head = f->next;
        free(f);
    }
    c->tail = NULL;
}

static void client_close(client *c)
{
    srv_conn_free(c->conn);
    c->conn = NULL;
    client_drop_frames(c);
}

/* Hand every frame the server sent to the peer until none is left; the first error. */
static int pump(client *c, dx_error *err)
{
    int rc = 0;
    while (c->head && !rc) {
        frame *f = c->head;
        c->head = f->next;
        if (!c->head)
            c->tail = NULL;
        rc = dx_sync_peer_receive(c->peer, f->data, f->len, err);
        free(f);
    }
    return rc;
}

static dx_sync_peer *peer_for(client *c, dx_docset *ds, dx_session *s, const char *tok)
{
    dx_sync_peer_opts o = {wid, tok, to_server, c, 4}; /* a small window: several rounds */
    dx_sync_peer *p = NULL;
    dx_error err = DX_ERROR_INIT;
    CHECK_EQ_INT(dx_sync_peer_new(ds, s, &o, &p, &err), 0);
    c->peer = p;
    return p;
}

/* A workspace in a new directory with a root and n entries e<i>.md with body "text <i>". */
static void make_workspace(const char *dir, int n)
{
    dx_error err = DX_ERROR_INIT;
    CHECK_EQ_INT(mkdir(dir, 0755), 0);
    bool created;
    CHECK_EQ_INT(dx_workspace_init(dir, "Journal", NULL, &created, &err), 0);
    dx_workspace *ws = NULL;
    CHECK_EQ_INT(dx_workspace_open(dir, &ws, &err), 0);
    for (int i = 0; i < n; i++) {
        char rel[32], path[128];
        snprintf(rel, sizeof rel, "e%d.md", i);
        snprintf(path, sizeof path, "%s/%s", dir, rel);
        CHECK_EQ_INT(dx_workspace_create(ws, rel, rel, false, &err), 0);
        FILE *f = fopen(path, "a");
        fprintf(f, "text %d\n", i);
        fclose(f);
    }
    dx_workspace_free(ws);
}

static void open_session(const char *dir, dx_workspace **ws, dx_session **s)
{
    dx_error err = DX_ERROR_INIT;
    CHECK_EQ_INT(dx_workspace_open(dir, ws, &err), 0);
    CHECK_EQ_INT(dx_session_open(*ws, "test", s, NULL, &err), 0);
}

static void close_session(dx_workspace *ws, dx_session *s)
{
    dx_session_close(s);
    dx_workspace_free(ws);
}

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return strdup("");
    char *b = calloc(1, 1 << 16);
    size_t n = fread(b, 1, (1 << 16) - 1, f);
    b[n] = 0;
    fclose(f);
    return b;
}

static size_t count(const char *hay, const char *needle)
{
    size_t n = 0;
    for (const char *p = hay; (p = strstr(p, needle)); p++)
        n++;
    return n;
}

/* Connect a session's peer and sync until it is synced and settled. */
static void sync_session(client *c, dx_session *s)
{
    dx_error err = DX_ERROR_INIT;
    client_open(c);
    dx_sync_peer *p = peer_for(c, NULL, s, token);
    CHECK_EQ_INT(dx_sync_peer_connect(p, &err), 0);
    for (int i = 0; i < 50 && !(dx_sync_peer_synced(p) && !dx_sync_peer_unsettled(p)); i++) {
        CHECK_EQ_INT(pump(c, &err), 0);
        if (dx_sync_peer_synced(p)) {
            CHECK_EQ_INT(dx_sync_peer_settle(p, NULL, &err), 0);
            CHECK_EQ_INT(dx_sync_peer_push(p, &err), 0);
        }
    }
    CHECK(dx_sync_peer_synced(p));
    CHECK_EQ_INT(dx_sync_peer_settle(p, NULL, &err), 0);
    if (err.code)
        printf("  %s\n", err.msg);
}

/* A peer over a new empty store <base>/<name>.db: everything the server has, stored. */
static dx_sync_peer *download(const char *name, client *c, dx_crdt_store **st, dx_docset **ds)
{
    char db[128];
    dx_error err = DX_ERROR_INIT;
    snprintf(db, sizeof db, "%s/%s.db", base, name);
    CHECK_EQ_INT(dx_store_open(db, st, &err), 0);
    CHECK_EQ_INT(dx_docset_new(*st, name, ds, &err), 0);
    client_open(c);
    dx_sync_peer *p = peer_for(c, *ds, NULL, token);
    CHECK_EQ_INT(dx_sync_peer_connect(p, &err), 0);
    for (int i = 0; i < 50 && !dx_sync_peer_synced(p); i++)
        CHECK_EQ_INT(pump(c, &err), 0);
    CHECK(dx_sync_peer_synced(p));
    CHECK_EQ_INT(dx_sync_peer_settle(p, NULL, &err), 0);
    return p;
}

static void sync_end(client *c)
{
    dx_sync_peer_free(c->peer);
    client_close(c);
}

static int64_t meta_int(dx_crdt_store *st, const char *key)
{
    dx_buf v = DX_BUF_INIT;
    int64_t n = dx_store_meta_get(st, key, &v, NULL) == 0 ? strtoll(v.data, NULL, 10) : -1;
    dx_buf_release(&v);
    return n;
}

/* ---- the cases ------------------------------------------------------------------------- */

TEST(test_upload_then_a_second_peer_has_everything)
{
    char a[96];
    snprintf(a, sizeof a, "%s/a", base);
    make_workspace(a, 9);
    dx_workspace *ws;
    dx_session *s;
    open_session(a, &ws, &s);
    client ca;
    sync_session(&ca, s);
    const dx_sync_counts *n = dx_sync_peer_counts(ca.peer);
    CHECK_EQ_INT(n->docs, 11); /* the workspace document, the root's and 9 entries' bodies */
    dx_crdt_store *st = dx_session_store(s);
    CHECK_EQ_INT(meta_int(st, DX_STORE_META_SYNC_ACKED), dx_store_last_id(st, NULL));
    size_t unsent = 99;
    dx_error err = DX_ERROR_INIT;
    CHECK_EQ_INT(dx_sync_unsent(st, &unsent, &err), 0);
    CHECK_EQ_INT(unsent, 0);

    /* A second peer over an empty store (a download) gets every document. */
    dx_crdt_store *st2 = NULL;
    dx_docset *ds2 = NULL;
    client cb;
    dx_sync_peer *pb = download("b", &cb, &st2, &ds2);
    CHECK_EQ_INT(dx_sync_peer_counts(pb)->docs, 11);
    char id[DX_UUID_LEN + 1];
    dx_buf path = DX_BUF_INIT, bytes = DX_BUF_INIT;
    CHECK_EQ_INT(dx_docset_find(ds2, "e3.md", id, &err), 0);
    CHECK_EQ_INT(dx_docset_render(ds2, id, DX_LINK_MARKDOWN_ROOT, &path, &bytes, &err), 0);
    CHECK(strstr(dx_buf_cstr(&bytes), "text 3") != NULL);

    /* B edits e3's body; A, still connected, receives it and writes the file. */
    dx_docs docs;
    dx_docset_docs(ds2, &docs);
    CHECK_EQ_INT(dx_edit_body_set(&docs, id, "text 3 from B\n", 14, &err), 0);
    CHECK_EQ_INT(dx_docset_save(ds2, &err), 0);
    CHECK_EQ_INT(dx_sync_peer_push(pb, &err), 0);
    CHECK(!dx_sync_peer_synced(pb)); /* waits for the acknowledgement */
    CHECK_EQ_INT(pump(&cb, &err), 0);
    CHECK(dx_sync_peer_synced(pb));
    CHECK_EQ_INT(pump(&ca, &err), 0);
    CHECK(dx_sync_peer_unsettled(ca.peer));
    dx_session_stats stats = {0};
    CHECK_EQ_INT(dx_sync_peer_settle(ca.peer, &stats, &err), 0);
    CHECK_EQ_INT(stats.written, 1);
    char file[128];
    snprintf(file, sizeof file, "%s/e3.md", a);
    char *text = slurp(file);
    CHECK(strstr(text, "text 3 from B") != NULL);
    free(text);
    /* What was received is on the server: nothing counts as unsent. */
    CHECK_EQ_INT(dx_sync_unsent(st, &unsent, &err), 0);
    CHECK_EQ_INT(unsent, 0);

    dx_buf_release(&path);
    dx_buf_release(&bytes);
    dx_sync_peer_free(pb);
    client_close(&cb);
    dx_docset_free(ds2);
    dx_store_close(st2);
    sync_end(&ca);
    close_session(ws, s);
}

TEST(test_compaction_keeps_what_the_server_has_not_acknowledged)
{
    char a[96], file[128];
    snprintf(a, sizeof a, "%s/a", base);
    dx_workspace *ws;
    dx_session *s;
    dx_error err = DX_ERROR_INIT;
    open_session(a, &ws, &s);
    dx_crdt_store *st = dx_session_store(s);
    int64_t acked = meta_int(st, DX_STORE_META_SYNC_ACKED);
    CHECK(acked > 0);
    /* Two edits while offline. */
    snprintf(file, sizeof file, "%s/e1.md", a);
    for (int i = 0; i < 2; i++) {
        FILE *f = fopen(file, "a");
        fprintf(f, "offline line %d\n", i);
        fclose(f);
        usleep(20000);
        CHECK_EQ_INT(dx_session_sync(s, NULL, &err), 0);
    }
    size_t unsent = 0;
    CHECK_EQ_INT(dx_sync_unsent(st, &unsent, &err), 0);
    CHECK(unsent >= 2);
    char id[DX_UUID_LEN + 1], body[DX_DOC_NAME_MAX];
    CHECK_EQ_INT(dx_session_find(s, "e1.md", id, &err), 0);
    dx_doc_body_name(id, body);
    CHECK_EQ_INT(dx_store_compact(st, body, 0, &err), 0);
    size_t after = 0;
    CHECK_EQ_INT(dx_sync_unsent(st, &after, &err), 0);
    CHECK_EQ_INT(after, unsent); /* none folded */
    /* Once synced (acknowledged), compaction folds them. */
    client c;
    sync_session(&c, s);
    sync_end(&c);
    CHECK_EQ_INT(dx_sync_unsent(st, &after, &err), 0);
    CHECK_EQ_INT(after, 0);
    CHECK_EQ_INT(dx_store_compact(st, body, 0, &err), 0);
    dx_store_doc_info *docs = NULL;
    size_t n = 0;
    CHECK_EQ_INT(dx_store_list(st, &docs, &n, &err), 0);
    for (size_t i = 0; i < n; i++)
        if (!strcmp(docs[i].name, body))
            CHECK_EQ_INT(docs[i].updates, 0);
    dx_store_docs_free(docs, n);
    close_session(ws, s);
}

static void put_epoch(dx_buf *b, const char *addr, int epoch)
{
    char json[64];
    int n = snprintf(json, sizeof json, "{\"type\":\"epoch\",\"epoch\":%d}", epoch);
    CHECK_EQ_INT(dx_hp_put_text(b, addr, strlen(addr), DX_HP_STATELESS, json, (size_t)n), 0);
}

TEST(test_epoch_decides_a_reset)
{
    CHECK(!dx_sync_epoch_resets(-1, 5)); /* the first epoch is recorded */
    CHECK(!dx_sync_epoch_resets(5, 5));
    CHECK(!dx_sync_epoch_resets(5, 4));
    CHECK(dx_sync_epoch_resets(5, 6));

    char a[96];
    snprintf(a, sizeof a, "%s/a", base);
    dx_workspace *ws;
    dx_session *s;
    dx_error err = DX_ERROR_INIT;
    open_session(a, &ws, &s);
    /* The earlier tests' exchanges with the hub recorded its epoch (0): start from a copy
     * that has never been told one. */
    dx_buf had = DX_BUF_INIT;
    if (dx_store_meta_get(dx_session_store(s), DX_SYNC_META_EPOCH, &had, &err) == 0)
        CHECK_EQ_INT(
            dx_store_meta_clear_if(dx_session_store(s), DX_SYNC_META_EPOCH, had.data, &err), 0);
    dx_buf_release(&had);
    client c;
    memset(&c, 0, sizeof c);
    /* no connection: frames to the server go nowhere, this test is the server */
    dx_sync_peer *p = peer_for(&c, NULL, s, token);
    CHECK_EQ_INT(dx_sync_peer_connect(p, &err), 0);
    char addr[80];
    snprintf(addr, sizeof addr, "workspace:%s", wid);
    dx_buf b = DX_BUF_INIT;
    put_epoch(&b, addr, 3);
    CHECK_EQ_INT(dx_sync_peer_receive(p, (uint8_t *)b.data, b.len, &err), 0);
    CHECK_EQ_INT(meta_int(dx_session_store(s), DX_SYNC_META_EPOCH), 3);
    CHECK(!dx_sync_peer_reset_needed(p));
    dx_buf_reset(&b);
    put_epoch(&b, addr, 3);
    CHECK_EQ_INT(dx_sync_peer_receive(p, (uint8_t *)b.data, b.len, &err), 0);
    CHECK(!dx_sync_peer_reset_needed(p));
    dx_buf_reset(&b);
    put_epoch(&b, addr, 4);
    CHECK_EQ_INT(dx_sync_peer_receive(p, (uint8_t *)b.data, b.len, &err), DX_ECONFLICT);
    CHECK(strstr(err.msg, "rebuilt") != NULL);
    CHECK(dx_sync_peer_reset_needed(p));
    CHECK_EQ_INT(dx_sync_peer_epoch(p), 4);
    /* From then on nothing is answered or applied: an update of the old history is dropped. */
    int64_t last = dx_store_last_id(dx_session_store(s), NULL);
    dx_buf_reset(&b);
    CHECK_EQ_INT(dx_hp_put_status(&b, addr, strlen(addr), true), 0);
    CHECK_EQ_INT(dx_sync_peer_receive(p, (uint8_t *)b.data, b.len, &err), 0);
    CHECK(!dx_sync_peer_synced(p));
    CHECK_EQ_INT(dx_store_last_id(dx_session_store(s), NULL), last);
    CHECK_EQ_INT(meta_int(dx_session_store(s), DX_SYNC_META_EPOCH), 3); /* not before the reset */
    dx_buf_release(&b);
    dx_sync_peer_free(p);
    close_session(ws, s);
}

TEST(test_reset_keeps_local_text_and_duplicates_nothing)
{
    char a[96], file[128];
    snprintf(a, sizeof a, "%s/a", base);
    snprintf(file, sizeof file, "%s/e2.md", a);
    dx_workspace *ws;
    dx_session *s;
    dx_error err = DX_ERROR_INIT;
    /* Typed locally, not synced yet (taken in by the session's open). */
    FILE *f = fopen(file, "a");
    fprintf(f, "typed before the reset\n");
    fclose(f);
    open_session(a, &ws, &s);
    dx_strmap saved = DX_STRMAP_INIT;
    CHECK_EQ_INT(dx_sync_reset_begin(s, 9, &saved, &err), 0);
    CHECK(saved.len >= 10);
    close_session(ws, s);
    open_session(a, &ws, &s);
    client c;
    sync_session(&c, s); /* downloads the server's state: the file is the server's again */
    sync_end(&c);
    char *text = slurp(file);
    CHECK(strstr(text, "typed before the reset") == NULL);
    free(text);
    CHECK_EQ_INT(dx_sync_reset_finish(s, &saved, &err), 0);
    dx_sync_saved_release(&saved);
    close_session(ws, s);
    open_session(a, &ws, &s); /* takes the written-back file in as an edit */
    sync_session(&c, s);
    sync_end(&c);
    CHECK_EQ_INT(meta_int(dx_session_store(s), DX_SYNC_META_EPOCH), 9);
    close_session(ws, s);
    text = slurp(file);
    CHECK_EQ_INT(count(text, "typed before the reset"), 1);
    CHECK_EQ_INT(count(text, "text 2"), 1);
    free(text);
    /* The server has it once too: a fresh peer's download renders it so. */
    dx_crdt_store *st = NULL;
    dx_docset *ds = NULL;
    client cc;
    dx_sync_peer *p = download("c", &cc, &st, &ds);
    char id[DX_UUID_LEN + 1];
    dx_buf path = DX_BUF_INIT, bytes = DX_BUF_INIT;
    CHECK_EQ_INT(dx_docset_find(ds, "e2.md", id, &err), 0);
    CHECK_EQ_INT(dx_docset_render(ds, id, DX_LINK_MARKDOWN_ROOT, &path, &bytes, &err), 0);
    CHECK_EQ_INT(count(dx_buf_cstr(&bytes), "typed before the reset"), 1);
    CHECK_EQ_INT(count(dx_buf_cstr(&bytes), "text 2"), 1);
    dx_buf_release(&path);
    dx_buf_release(&bytes);
    dx_sync_peer_free(p);
    client_close(&cc);
    dx_docset_free(ds);
    dx_store_close(st);
}

TEST(test_garbage_and_refusals_change_nothing)
{
    char a[96];
    snprintf(a, sizeof a, "%s/a", base);
    dx_workspace *ws;
    dx_session *s;
    dx_error err = DX_ERROR_INIT;
    open_session(a, &ws, &s);
    dx_crdt_store *st = dx_session_store(s);
    int64_t last = dx_store_last_id(st, NULL);

    /* A wrong token: the server denies, the peer says so. */
    client c;
    client_open(&c);
    dx_sync_peer *p = peer_for(&c, NULL, s, "not-a-token");
    CHECK_EQ_INT(dx_sync_peer_connect(p, &err), 0);
    CHECK_EQ_INT(pump(&c, &err), DX_EAUTH);
    CHECK(strstr(err.msg, "refused") != NULL && strstr(err.msg, "sync login") != NULL);
    sync_end(&c);

    /* Garbage: bytes that are no frame; a frame for a document never asked for; an update
     * that does not decode. Each is refused and nothing is stored. */
    memset(&c, 0, sizeof c);
    p = peer_for(&c, NULL, s, token);
    CHECK_EQ_INT(dx_sync_peer_connect(p, &err), 0);
    static const uint8_t junk[] = {0xff, 0xff, 0xff, 0xff, 0xff, 0x01};
    dx_error_clear(&err);
    CHECK_EQ_INT(dx_sync_peer_receive(p, junk, sizeof junk, &err), DX_EPARSE);
    dx_buf b = DX_BUF_INIT;
    CHECK_EQ_INT(dx_hp_put_status(&b, "body:x", 6, true), 0);
    CHECK_EQ_INT(dx_sync_peer_receive(p, (uint8_t *)b.data, b.len, &err), DX_EPARSE);
    char addr[80];
    snprintf(addr, sizeof addr, "workspace:%s", wid);
    dx_buf_reset(&b);
    CHECK_EQ_INT(dx_hp_put_auth(&b, addr, strlen(addr), DX_HP_AUTH_OK, "read-write", NULL), 0);
    CHECK_EQ_INT(dx_sync_peer_receive(p, (uint8_t *)b.data, b.len, &err), 0);
    static const uint8_t bad_update[] = {0x01, 0x05, 0x80, 0x80, 0x80};
    dx_buf_reset(&b);
    CHECK_EQ_INT(dx_hp_put_sync(&b, addr, strlen(addr), DX_HP_SYNC, Y_SYNC_STEP2, bad_update,
                                sizeof bad_update),
                 0);
    CHECK_EQ_INT(dx_sync_peer_receive(p, (uint8_t *)b.data, b.len, &err), DX_EPARSE);
    CHECK(!dx_sync_peer_unsettled(p));
    CHECK_EQ_INT(dx_store_last_id(st, NULL), last);
    dx_buf_release(&b);
    dx_sync_peer_free(p);
    close_session(ws, s);
}

int main(void)
{
    dx_error err = DX_ERROR_INIT;
    dx_buf t = DX_BUF_INIT;
    char path[128];
    snprintf(base, sizeof base, "/tmp/dx-syncpeer-XXXXXX");
    if (!mkdtemp(base))
        return 1;
    snprintf(path, sizeof path, "%s/accounts.db", base);
    if (srv_accounts_open(path, &acc, &err) || srv_hub_new(base, acc, &hub, &err) ||
        srv_user_add(acc, "a@example.org", "sync", &err) ||
        srv_token_new(acc, "a@example.org", "test", false, &t, &err) ||
        srv_workspace_add(acc, "a@example.org", "Journal", wid, &err)) {
        printf("setup: %s\n", err.msg);
        return 1;
    }
    snprintf(token, sizeof token, "%s", dx_buf_cstr(&t));
    dx_buf_release(&t);
    RUN(test_upload_then_a_second_peer_has_everything);
    RUN(test_compaction_keeps_what_the_server_has_not_acknowledged);
    RUN(test_epoch_decides_a_reset);
    RUN(test_reset_keeps_local_text_and_duplicates_nothing);
    RUN(test_garbage_and_refusals_change_nothing);
    srv_hub_free(hub);
    srv_accounts_close(acc);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", base);
    if (system(cmd))
        return 1;
    return TEST_REPORT();
}
