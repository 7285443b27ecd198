/* hub.c - connections, subscriptions, documents and workspaces of the sync server (see
 * hub.h). */
#include "hub.h"

#include <dirent.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "diaryx/clock.h"
#include "diaryx/docsync.h"
#include "diaryx/fs.h"
#include "diaryx/history.h"
#include "diaryx/hocuspocus.h"
#include "diaryx/strmap.h"
#include "ylib0.h"

typedef struct hub_ws hub_ws;
typedef struct hub_doc hub_doc;

/* One document subscription of a connection (a document address). */
typedef struct sub {
    srv_conn *c;
    char *addr;
    size_t addr_len;
    bool authed;
    dx_buf held_token; /* its token, while its workspace is held (srv_hub_hold) */
    bool readonly;     /* its token may only read */
    hub_doc *doc;
    dx_buf queue;      /* frames before authentication, each as u32 length + bytes */
    size_t queued;     /* how many */
    dx_buf awareness;  /* the last awareness update it sent (for QUERY_AWARENESS) */
    uint64_t *clients; /* its awareness clients and their last clocks */
    uint64_t *clocks;
    size_t n_clients;
} sub;

struct srv_conn {
    srv_hub *h;
    srv_transport t;
    sub **subs;
    size_t n, cap;
    bool closing;
    bool authenticated; /* some document once was */
};

struct hub_doc {
    hub_ws *ws;
    char key[DX_UUID_LEN + 1 + DX_DOC_NAME_MAX]; /* "<wid>/<local>" */
    char local[DX_DOC_NAME_MAX];
    sub **subs;
    size_t n, cap;
    int observer; /* relays what a catch-up applies to the document */
};

struct hub_ws {
    char wid[DX_UUID_LEN + 1];
    dx_crdt_store *store;
    dx_docset *ds;
    size_t docs;       /* hub_docs open on it */
    int64_t used_ms;   /* last frame handled for one of its documents */
    bool catching_up;  /* what its documents take in now came from another writer */
    int64_t epoch;     /* see srv_epoch_read */
    uint64_t *retired; /* sorted */
    size_t n_retired;
};

struct srv_hub {
    dx_strmap held;  /* wid -> (void *)1: subscriptions wait (srv_hub_hold) */
    dx_strmap fails; /* wid -> (void *)(intptr_t) failed checks in a row, as jobs reported */
    sub **waiting;   /* subscriptions waiting for a held workspace */
    size_t n_waiting, cap_waiting;
    char *dir;
    srv_accounts *acc;
    dx_strmap wss;   /* wid -> hub_ws* */
    dx_strmap docs;  /* key -> hub_doc* */
    dx_strmap dirty; /* wid -> srv_dirty* (owned) */
    size_t conns, subs;
    size_t max_workspaces; /* 0: no cap */
};

/* ---- sending ---- */

static int send_buf(srv_conn *c, const dx_buf *b)
{
    if (c->closing || !b->len)
        return 0;
    return c->t.send(c->t.ud, (const uint8_t *)b->data, b->len) ? DX_EIO : 0;
}

/* Close the connection: told once; the transport frees it later (srv_conn_free). */
static int conn_close(srv_conn *c, int code, const char *reason)
{
    if (!c->closing) {
        c->closing = true;
        c->t.close(c->t.ud, code, reason);
    }
    return -1;
}

/* Frames to send were out of memory or the transport failed: the connection goes. */
static int conn_fail(srv_conn *c)
{
    return conn_close(c, 1011, "internal error");
}

/* ---- workspaces and documents ---- */

static void on_caught_up(void *user, const uint8_t *update, size_t len, const void *origin);

static void ws_unload(srv_hub *h, hub_ws *ws)
{
    dx_strmap_remove(&h->wss, ws->wid);
    dx_docset_free(ws->ds);
    dx_store_close(ws->store);
    free(ws->retired);
    free(ws);
}

static int conn_close(srv_conn *c, int code, const char *reason);

/* Close every connection subscribed to a document of ws; ws is unloaded when they are gone. */
static void ws_close(srv_hub *h, const hub_ws *ws, int code, const char *reason)
{
    for (size_t i = 0; i < h->docs.cap; i++) {
        hub_doc *d = h->docs.slots[i].key ? h->docs.slots[i].value : NULL;
        for (size_t j = 0; d && d->ws == ws && j < d->n; j++)
            conn_close(d->subs[j]->c, code, reason);
    }
}

/* At the cap: the connections of the workspace used longest ago are closed (4205); it is
 * unloaded when they are gone, and their clients reconnect when they need it again. */
static void evict_lru(srv_hub *h)
{
    hub_ws *lru = NULL;
    for (size_t i = 0; i < h->wss.cap; i++) {
        hub_ws *w = h->wss.slots[i].key ? h->wss.slots[i].value : NULL;
        if (w && (!lru || w->used_ms < lru->used_ms))
            lru = w;
    }
    if (lru)
        ws_close(h, lru, DX_HP_CLOSE_RESET, "too many workspaces loaded");
}

int srv_hub_path(const srv_hub *h, const char *wid, const char *suffix, char out[SRV_PATH_MAX],
                 dx_error *err)
{
    return snprintf(out, SRV_PATH_MAX, "%s/workspaces/%s%s", h->dir, wid, suffix) >= SRV_PATH_MAX
               ? dx_error_set(err, DX_EPATH, "the data directory path is too long")
               : 0;
}

int srv_hub_open_docs(const srv_hub *h, const char *wid, dx_crdt_store **store, dx_docset **ds,
                      dx_error *err)
{
    char path[SRV_PATH_MAX];
    int rc = srv_hub_path(h, wid, ".db", path, err);
    if (!rc && !(rc = dx_store_open(path, store, err)) &&
        (rc = dx_docset_new(*store, "server", ds, err))) {
        dx_store_close(*store);
        *store = NULL;
    }
    return rc;
}

static int ws_load(srv_hub *h, const char *wid, hub_ws **out, dx_error *err)
{
    hub_ws *ws = dx_strmap_get(&h->wss, wid);
    if (ws) {
        *out = ws;
        return 0;
    }
    if (h->max_workspaces && h->wss.len >= h->max_workspaces)
        evict_lru(h);
    if (!(ws = calloc(1, sizeof *ws)))
        return dx_error_set(err, DX_ENOMEM, "out of memory");
    snprintf(ws->wid, sizeof ws->wid, "%s", wid);
    ws->used_ms = dx_now_ms();
    int rc = srv_hub_open_docs(h, wid, &ws->store, &ws->ds, err);
    if (!rc)
        rc = srv_epoch_read(ws->store, &ws->epoch, &ws->retired, &ws->n_retired, err);
    if (!rc && dx_strmap_put(&h->wss, wid, ws))
        rc = dx_error_set(err, DX_ENOMEM, "out of memory");
    if (rc) {
        dx_docset_free(ws->ds);
        dx_store_close(ws->store);
        free(ws->retired);
        free(ws);
        return rc;
    }
    *out = ws;
    return 0;
}

/* Take in what other writers (the worker pool's commits and restores) stored since the
 * documents' `seen`, relaying it to the subscribers of the loaded documents. */
static int ws_catch_up(hub_ws *ws, dx_error *err)
{
    int rc = dx_store_begin(ws->store, err);
    if (rc)
        return rc;
    ws->catching_up = true;
    rc = dx_docset_catch_up(ws->ds, NULL, err);
    ws->catching_up = false;
    if (!rc)
        rc = dx_store_commit(ws->store, err);
    if (rc)
        dx_store_rollback(ws->store);
    return rc;
}

/* Document local of ws. A commit on the worker pool may have compacted the store past the
 * docset's `seen` (DX_EBUSY): the docset catches up and loads it as of now. */
static int doc_load(hub_ws *ws, const char *local, y_doc **yd, dx_error *err)
{
    int rc = dx_docset_doc(ws->ds, local, yd, err);
    if (rc == DX_EBUSY) {
        dx_error_clear(err);
        if (!(rc = ws_catch_up(ws, err)))
            rc = dx_docset_doc(ws->ds, local, yd, err);
    }
    return rc;
}

static int doc_attach(srv_hub *h, sub *s, const char *wid, const char *local, dx_error *err)
{
    char key[sizeof((hub_doc *)0)->key];
    snprintf(key, sizeof key, "%s/%s", wid, local);
    hub_doc *d = dx_strmap_get(&h->docs, key);
    if (!d) {
        hub_ws *ws = NULL;
        int rc = ws_load(h, wid, &ws, err);
        if (rc)
            return rc;
        y_doc *yd;
        /* Loaded now, so that a damaged document fails the subscription, not a later frame. */
        if (!(d = calloc(1, sizeof *d)) || (rc = doc_load(ws, local, &yd, err)) ||
            (d->observer = y_doc_on_update(yd, on_caught_up, d)) < 0 ||
            dx_strmap_put(&h->docs, key, d)) {
            if (d && !rc && d->observer >= 0)
                y_doc_off_update(yd, d->observer);
            free(d);
            if (!ws->docs)
                ws_unload(h, ws);
            return rc ? rc : dx_error_set(err, DX_ENOMEM, "out of memory");
        }
        d->ws = ws;
        snprintf(d->key, sizeof d->key, "%s", key);
        snprintf(d->local, sizeof d->local, "%s", local);
        ws->docs++;
    }
    if (d->n == d->cap) {
        size_t cap = d->cap ? d->cap * 2 : 4;
        sub **p = realloc(d->subs, cap * sizeof *p);
        if (!p)
            return dx_error_set(err, DX_ENOMEM, "out of memory");
        d->subs = p;
        d->cap = cap;
    }
    d->subs[d->n++] = s;
    s->doc = d;
    return 0;
}

/* Frames for every subscriber of document d but s (NULL: all of them), each addressed as it
 * subscribed. */
typedef int (*frame_fn)(dx_buf *out, const sub *to, const void *arg);

static void relay(sub *s, hub_doc *d, frame_fn fn, const void *arg)
{
    dx_buf b = DX_BUF_INIT;
    for (size_t i = 0; d && i < d->n; i++) {
        sub *o = d->subs[i];
        if (o == s || o->c->closing)
            continue;
        dx_buf_reset(&b);
        if (fn(&b, o, arg) || send_buf(o->c, &b))
            conn_fail(o->c);
    }
    dx_buf_release(&b);
}

typedef struct bytes {
    const uint8_t *p;
    size_t n;
} bytes;

static int put_awareness(dx_buf *out, const sub *to, const void *arg)
{
    const bytes *u = arg;
    return dx_hp_put_awareness(out, to->addr, to->addr_len, u->p, u->n);
}

static int put_update(dx_buf *out, const sub *to, const void *arg)
{
    const bytes *u = arg;
    return dx_hp_put_sync(out, to->addr, to->addr_len, DX_HP_SYNC, Y_SYNC_UPDATE, u->p, u->n);
}

static void on_caught_up(void *user, const uint8_t *update, size_t len, const void *origin)
{
    hub_doc *d = user;
    (void)origin;
    if (d->ws->catching_up) {
        bytes u = {update, len};
        relay(NULL, d, put_update, &u);
    }
}

static void doc_detach(srv_hub *h, sub *s)
{
    hub_doc *d = s->doc;
    if (!d)
        return;
    /* The others learn that its awareness clients left. */
    if (s->n_clients) {
        dx_buf gone = DX_BUF_INIT;
        for (size_t i = 0; i < s->n_clients; i++)
            s->clocks[i]++;
        if (!dx_hp_awareness_gone(&gone, s->clients, s->clocks, s->n_clients)) {
            bytes u = {(const uint8_t *)gone.data, gone.len};
            relay(s, s->doc, put_awareness, &u);
        }
        dx_buf_release(&gone);
    }
    for (size_t i = 0; i < d->n; i++)
        if (d->subs[i] == s) {
            d->subs[i] = d->subs[--d->n];
            break;
        }
    s->doc = NULL;
    if (d->n)
        return;
    hub_ws *ws = d->ws;
    y_doc *yd;
    if (dx_docset_doc(ws->ds, d->local, &yd, NULL) == 0)
        y_doc_off_update(yd, d->observer);
    dx_strmap_remove(&h->docs, d->key);
    free(d->subs);
    free(d);
    if (--ws->docs == 0)
        ws_unload(h, ws);
}

/* ---- subscriptions ---- */

static void sub_free(srv_conn *c, sub *s)
{
    srv_hub *h = c->h;
    for (size_t i = 0; i < h->n_waiting; i++)
        if (h->waiting[i] == s) {
            h->waiting[i] = h->waiting[--h->n_waiting];
            break;
        }
    dx_buf_release(&s->held_token);
    doc_detach(c->h, s);
    for (size_t i = 0; i < c->n; i++)
        if (c->subs[i] == s) {
            c->subs[i] = c->subs[--c->n];
            break;
        }
    dx_buf_release(&s->queue);
    dx_buf_release(&s->awareness);
    free(s->clients);
    free(s->clocks);
    free(s->addr);
    free(s);
    c->h->subs--;
}

static sub *sub_find(srv_conn *c, const dx_hp_msg *m)
{
    for (size_t i = 0; i < c->n; i++)
        if (c->subs[i]->addr_len == m->addr_len && !memcmp(c->subs[i]->addr, m->addr, m->addr_len))
            return c->subs[i];
    return NULL;
}

static sub *sub_new(srv_conn *c, const dx_hp_msg *m)
{
    if (c->n == c->cap) {
        size_t cap = c->cap ? c->cap * 2 : 4;
        sub **p = realloc(c->subs, cap * sizeof *p);
        if (!p)
            return NULL;
        c->subs = p;
        c->cap = cap;
    }
    sub *s = calloc(1, sizeof *s);
    if (!s || !(s->addr = malloc(m->addr_len ? m->addr_len : 1))) {
        free(s);
        return NULL;
    }
    memcpy(s->addr, m->addr, m->addr_len);
    s->addr_len = m->addr_len;
    s->c = c;
    c->subs[c->n++] = s;
    c->h->subs++;
    return s;
}

static size_t pending_docs(const srv_conn *c, size_t *frames, size_t *bytes_out)
{
    size_t n = 0;
    *frames = *bytes_out = 0;
    for (size_t i = 0; i < c->n; i++)
        if (!c->subs[i]->authed) {
            n++;
            *frames += c->subs[i]->queued;
            *bytes_out += c->subs[i]->queue.len;
        }
    return n;
}

/* Remember the awareness clients of s (their newest clocks) from an update it sent. */
static int note_client(void *ud, const dx_hp_peer *p)
{
    sub *s = ud;
    for (size_t i = 0; i < s->n_clients; i++)
        if (s->clients[i] == p->client) {
            if (p->clock > s->clocks[i])
                s->clocks[i] = p->clock;
            return 0;
        }
    if (s->n_clients == 64)
        return 0; /* a provider has one client; more is not worth remembering */
    uint64_t *a = realloc(s->clients, (s->n_clients + 1) * sizeof *a);
    if (!a)
        return DX_ENOMEM;
    s->clients = a;
    uint64_t *k = realloc(s->clocks, (s->n_clients + 1) * sizeof *k);
    if (!k)
        return DX_ENOMEM;
    s->clocks = k;
    s->clients[s->n_clients] = p->client;
    s->clocks[s->n_clients++] = p->clock;
    return 0;
}

/* wid has an update its repository does not (a failure to remember it only delays the
 * auto-commit until the next update). */
static void mark_dirty(srv_hub *h, const char *wid)
{
    srv_dirty *d = dx_strmap_get(&h->dirty, wid);
    int64_t now = dx_now_ms();
    if (!d && (d = calloc(1, sizeof *d)) && dx_strmap_put(&h->dirty, wid, d)) {
        free(d);
        d = NULL;
    }
    if (!d)
        return;
    if (!d->first_ms)
        d->first_ms = now;
    d->last_ms = now;
}

/* Store what the document's update added, then acknowledge and relay it. */
static int store_and_ack(sub *s, const dx_docsync_result *r)
{
    hub_ws *ws = s->doc->ws;
    dx_error err = DX_ERROR_INIT;
    /* An update that changed nothing (an empty step 2) is acknowledged, not stored nor
     * relayed. */
    if (r->changed) {
        ws->catching_up = true; /* the save takes in what the worker pool stored */
        int rc = dx_docset_save(ws->ds, &err);
        ws->catching_up = false;
        if (rc) {
            /* Not stored, so not acknowledged: the peer keeps it and sends it again when it
             * reconnects. The documents in memory are ahead of the store: every subscriber of
             * the workspace goes, and the workspace is loaded again from the store. */
            fprintf(stderr, "diaryx-server: workspace %s: %s\n", ws->wid, err.msg);
            ws_close(s->c->h, ws, 1011, "the update could not be stored");
            return -1;
        }
        mark_dirty(s->c->h, ws->wid);
    }
    dx_buf ack = DX_BUF_INIT;
    int bad = dx_hp_put_status(&ack, s->addr, s->addr_len, true) || send_buf(s->c, &ack);
    dx_buf_release(&ack);
    if (bad)
        return conn_fail(s->c);
    if (r->changed) {
        bytes u = {r->update, r->update_len};
        relay(s, s->doc, put_update, &u);
    }
    return 0;
}

static bool retired(const hub_ws *ws, uint64_t client)
{
    size_t lo = 0, hi = ws->n_retired;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (ws->retired[mid] == client)
            return true;
        if (ws->retired[mid] < client)
            lo = mid + 1;
        else
            hi = mid;
    }
    return false;
}

/* Whether sync message m carries state of a client id a rebuild retired: the state vector of
 * a step 1, the structs of a step 2 or an update. Such a peer holds the CRDT history before
 * the rebuild; what it would send would duplicate the rebuilt content. A malformed payload
 * is left to the sync handling to refuse. */
static bool retired_peer(const hub_ws *ws, const dx_hp_msg *m)
{
    uint8_t *sv = NULL;
    size_t len = 0;
    uint64_t *ids = NULL;
    size_t n = 0;
    bool found = false;
    if (!ws->n_retired)
        return false;
    if (m->sync == Y_SYNC_STEP1)
        srv_sv_clients(m->data, m->data_len, &ids, &n);
    else if (y_state_vector_from_update(m->data, m->data_len, &sv, &len) == Y_OK)
        srv_sv_clients(sv, len, &ids, &n);
    for (size_t i = 0; i < n && !found; i++)
        found = retired(ws, ids[i]);
    y_free(sv);
    free(ids);
    return found;
}

static int handle_authed(sub *s, const dx_hp_msg *m)
{
    srv_conn *c = s->c;
    s->doc->ws->used_ms = dx_now_ms();
    dx_error err = DX_ERROR_INIT;
    switch (m->type) {
    case DX_HP_SYNC:
    case DX_HP_SYNC_REPLY: {
        if (retired_peer(s->doc->ws, m)) {
            char why[120];
            snprintf(why, sizeof why,
                     "this workspace was rebuilt on the server (epoch %lld): discard the "
                     "local copy and sync again",
                     (long long)s->doc->ws->epoch);
            return conn_close(c, DX_HP_CLOSE_RESET, why);
        }
        dx_buf reply[DX_DOCSYNC_REPLIES] = {DX_BUF_INIT, DX_BUF_INIT};
        dx_docsync_result r;
        int rc = dx_docsync_handle(s->doc->ws->ds, s->doc->local, m, s->readonly, reply, &r, &err);
        for (size_t i = 0; i < DX_DOCSYNC_REPLIES; i++) {
            if (!rc && send_buf(c, &reply[i]))
                rc = DX_EIO;
            dx_buf_release(&reply[i]);
        }
        if (rc == DX_EPARSE)
            return conn_close(c, DX_HP_CLOSE_RESET, "malformed update");
        if (rc)
            return conn_fail(c);
        return r.applied ? store_and_ack(s, &r) : 0;
    }
    case DX_HP_AWARENESS: {
        if (dx_hp_awareness_each(m->data, m->data_len, note_client, s, &err) == DX_EPARSE)
            return conn_close(c, DX_HP_CLOSE_RESET, "malformed awareness update");
        dx_buf_reset(&s->awareness);
        if (dx_buf_append(&s->awareness, m->data, m->data_len))
            return conn_fail(c);
        bytes u = {m->data, m->data_len};
        relay(s, s->doc, put_awareness, &u);
        return 0;
    }
    case DX_HP_QUERY_AWARENESS: {
        dx_buf b = DX_BUF_INIT;
        for (size_t i = 0; i < s->doc->n; i++) {
            const sub *o = s->doc->subs[i];
            if (o != s && o->awareness.len &&
                dx_hp_put_awareness(&b, s->addr, s->addr_len, (const uint8_t *)o->awareness.data,
                                    o->awareness.len))
                return conn_fail(c);
        }
        int rc = send_buf(c, &b);
        dx_buf_release(&b);
        return rc ? conn_fail(c) : 0;
    }
    case DX_HP_CLOSE:
        sub_free(c, s);
        return 0;
    case DX_HP_BROADCAST_STATELESS:
        return conn_close(c, DX_HP_CLOSE_RESET, "BroadcastStateless is not for clients");
    default: /* STATELESS (no hooks here), a token sent again, a status: nothing to do */
        return 0;
    }
}

static int deny(sub *s, const char *reason)
{
    srv_conn *c = s->c;
    dx_buf b = DX_BUF_INIT;
    int rc =
        dx_hp_put_auth(&b, s->addr, s->addr_len, DX_HP_AUTH_DENIED, reason, NULL) || send_buf(c, &b)
            ? conn_fail(c)
            : 0;
    dx_buf_release(&b);
    sub_free(c, s); /* a retry starts afresh */
    return rc;
}

static int authenticate(sub *s, const dx_hp_msg *m)
{
    srv_conn *c = s->c;
    srv_hub *h = c->h;
    dx_error err = DX_ERROR_INIT;
    char wid[DX_UUID_LEN + 1], local[DX_DOC_NAME_MAX];
    int64_t user;
    if (dx_docsync_local_name(m->addr, m->name_len, wid, local, &err))
        return deny(s, "permission-denied: not a document name");
    if (!m->text || srv_token_user(h->acc, m->text, m->text_len, &user, &s->readonly, &err))
        return deny(s, "permission-denied: invalid token");
    /* Another user's workspace and one that does not exist look the same. */
    if (!srv_workspace_owned(h->acc, user, wid))
        return deny(s, "permission-denied: no such workspace");
    if (dx_strmap_get(&h->held, wid)) {
        /* A job that may rebuild it runs: the subscription waits (its frames queued) and is
         * authenticated when the job is done, against what the job left. */
        bool listed = false;
        for (size_t i = 0; i < h->n_waiting && !listed; i++)
            listed = h->waiting[i] == s;
        if (!listed && h->n_waiting == h->cap_waiting) {
            size_t cap = h->cap_waiting ? h->cap_waiting * 2 : 8;
            sub **w = realloc(h->waiting, cap * sizeof *w);
            if (!w)
                return conn_fail(c);
            h->waiting = w;
            h->cap_waiting = cap;
        }
        if (!listed)
            h->waiting[h->n_waiting++] = s;
        dx_buf_reset(&s->held_token);
        return dx_buf_append(&s->held_token, m->text, m->text_len) ? conn_fail(c) : 0;
    }
    if (doc_attach(h, s, wid, local, &err)) {
        fprintf(stderr, "diaryx-server: %.*s: %s\n", (int)m->name_len, m->addr, err.msg);
        return deny(s, "the document cannot be loaded");
    }
    dx_buf b = DX_BUF_INIT;
    char epoch[64];
    snprintf(epoch, sizeof epoch, "{\"type\":\"epoch\",\"epoch\":%lld}",
             (long long)s->doc->ws->epoch);
    int rc = dx_hp_put_auth(&b, s->addr, s->addr_len, DX_HP_AUTH_OK,
                            s->readonly ? "readonly" : "read-write", NULL) ||
                     send_buf(c, &b)
                 ? conn_fail(c)
                 : 0;
    dx_buf_reset(&b); /* each message is a websocket message of its own */
    if (!rc && (dx_hp_put_text(&b, s->addr, s->addr_len, DX_HP_STATELESS, epoch, strlen(epoch)) ||
                send_buf(c, &b)))
        rc = conn_fail(c);
    dx_buf_release(&b);
    s->authed = true;
    c->authenticated = true;
    /* What came before the token, in order. */
    dx_buf q = s->queue;
    s->queue = (dx_buf)DX_BUF_INIT;
    s->queued = 0;
    for (size_t at = 0; !rc && !c->closing && at + 4 <= q.len;) {
        uint32_t n;
        memcpy(&n, q.data + at, 4);
        dx_hp_msg qm;
        bool closes = false;
        if (dx_hp_decode((const uint8_t *)q.data + at + 4, n, &qm, NULL) == 0) {
            closes = qm.type == DX_HP_CLOSE; /* s is gone after it */
            rc = handle_authed(s, &qm);
        }
        at += 4 + n;
        if (closes)
            break;
    }
    dx_buf_release(&q);
    return rc;
}

int srv_conn_receive(srv_conn *c, const uint8_t *frame, size_t len)
{
    if (c->closing)
        return -1;
    dx_hp_msg m;
    dx_error err = DX_ERROR_INIT;
    if (dx_hp_decode(frame, len, &m, &err))
        return conn_close(c, DX_HP_CLOSE_RESET, "malformed frame");
    if (m.type == DX_HP_PONG)
        return 0;
    if (m.type == DX_HP_PING) {
        dx_buf b = DX_BUF_INIT;
        int rc = dx_hp_put_ping(&b, DX_HP_PONG) || send_buf(c, &b) ? conn_fail(c) : 0;
        dx_buf_release(&b);
        return rc;
    }
    sub *s = sub_find(c, &m);
    if (s && s->authed)
        return handle_authed(s, &m);
    size_t frames, queued;
    size_t pending = pending_docs(c, &frames, &queued);
    if (!s) {
        if (m.type == DX_HP_CLOSE)
            return 0;
        if (pending >= DX_HUB_PENDING_DOCS)
            return conn_close(c, DX_HP_CLOSE_RESET, "too many documents waiting for a token");
        if (!(s = sub_new(c, &m)))
            return conn_fail(c);
    }
    if (m.type == DX_HP_AUTH && m.auth == DX_HP_AUTH_TOKEN)
        return authenticate(s, &m);
    if (m.type == DX_HP_CLOSE) {
        sub_free(c, s);
        return 0;
    }
    if (queued + len > DX_HUB_QUEUE_BYTES || frames + 1 > DX_HUB_QUEUE_FRAMES)
        return conn_close(c, DX_HP_CLOSE_RESET, "too much sent before authenticating");
    uint32_t n = (uint32_t)len;
    if (dx_buf_append(&s->queue, &n, 4) || dx_buf_append(&s->queue, frame, len))
        return conn_fail(c);
    s->queued++;
    return 0;
}

/* ---- lifetime ---- */

bool srv_conn_authenticated(const srv_conn *c)
{
    return c->authenticated;
}

srv_conn *srv_conn_new(srv_hub *h, const srv_transport *t)
{
    srv_conn *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    c->h = h;
    c->t = *t;
    h->conns++;
    return c;
}

void srv_conn_free(srv_conn *c)
{
    if (!c)
        return;
    c->closing = true; /* nothing more is sent to it */
    while (c->n)
        sub_free(c, c->subs[c->n - 1]);
    free(c->subs);
    c->h->conns--;
    free(c);
}

int srv_hub_new(const char *data_dir, srv_accounts *acc, srv_hub **out, dx_error *err)
{
    srv_hub *h = calloc(1, sizeof *h);
    if (!h || !(h->dir = strdup(data_dir))) {
        free(h);
        return dx_error_set(err, DX_ENOMEM, "out of memory");
    }
    h->acc = acc;
    int rc = dx_fs_mkdirs_in(data_dir, "workspaces", err);
    if (rc) {
        srv_hub_free(h);
        return rc;
    }
    /* A store may hold updates its repository does not (the server stopped before the
     * auto-commit): every workspace counts as dirty from now, and the first auto-commit of
     * one with nothing new finds nothing to commit. */
    char path[4096];
    snprintf(path, sizeof path, "%s/workspaces", data_dir);
    DIR *d = opendir(path);
    struct dirent *e;
    while (d && (e = readdir(d))) {
        size_t n = strlen(e->d_name);
        char wid[DX_UUID_LEN + 1];
        if (n == DX_UUID_LEN + 3 && !strcmp(e->d_name + DX_UUID_LEN, ".db")) {
            memcpy(wid, e->d_name, DX_UUID_LEN);
            wid[DX_UUID_LEN] = 0;
            if (dx_uuid_valid(wid))
                mark_dirty(h, wid);
        }
    }
    if (d)
        closedir(d);
    *out = h;
    return 0;
}

void srv_hub_free(srv_hub *h)
{
    if (!h)
        return;
    for (size_t i = 0; i < h->dirty.cap; i++)
        if (h->dirty.slots[i].key)
            free(h->dirty.slots[i].value);
    dx_strmap_release(&h->dirty);
    dx_strmap_release(&h->held);
    dx_strmap_release(&h->fails);
    free(h->waiting);
    dx_strmap_release(&h->docs);
    dx_strmap_release(&h->wss);
    free(h->dir);
    free(h);
}

void srv_hub_stats_get(const srv_hub *h, srv_hub_stats *out)
{
    out->connections = h->conns;
    out->workspaces = h->wss.len;
    out->documents = h->docs.len;
    out->subscriptions = h->subs;
}

bool srv_hub_loaded(const srv_hub *h, const char *wid)
{
    return dx_strmap_get(&h->wss, wid) != NULL;
}

const dx_strmap *srv_hub_dirty(const srv_hub *h)
{
    return &h->dirty;
}

void srv_hub_committed(srv_hub *h, const char *wid, int64_t since_ms)
{
    srv_dirty *d = dx_strmap_get(&h->dirty, wid);
    if (d && d->last_ms <= since_ms)
        free(dx_strmap_remove(&h->dirty, wid));
}

void srv_hub_retry_later(srv_hub *h, const char *wid, int64_t now_ms)
{
    srv_dirty *d = dx_strmap_get(&h->dirty, wid);
    if (d)
        d->last_ms = d->first_ms = now_ms; /* counts as an update now */
}

size_t srv_hub_clients(const srv_hub *h, const char *wid)
{
    size_t n = 0;
    const srv_conn *seen[64];
    size_t ns = 0;
    for (size_t i = 0; i < h->docs.cap; i++) {
        const hub_doc *d = h->docs.slots[i].key ? h->docs.slots[i].value : NULL;
        if (!d || strcmp(d->ws->wid, wid) != 0)
            continue;
        for (size_t j = 0; j < d->n; j++) {
            bool dup = false;
            for (size_t k = 0; k < ns && !dup; k++)
                dup = seen[k] == d->subs[j]->c;
            if (!dup) {
                n++;
                if (ns < 64)
                    seen[ns++] = d->subs[j]->c;
            }
        }
    }
    return n;
}

int srv_hub_refresh(srv_hub *h, const char *wid, dx_error *err)
{
    hub_ws *ws = dx_strmap_get(&h->wss, wid);
    int rc = ws ? ws_catch_up(ws, err) : 0;
    if (rc) /* its clients reconnect to what is stored */
        ws_close(h, ws, 1011, "the workspace was changed on the server");
    return rc;
}

void srv_hub_rebuilt(srv_hub *h, const char *wid)
{
    hub_ws *ws = dx_strmap_get(&h->wss, wid);
    if (ws)
        ws_close(h, ws, DX_HP_CLOSE_RESET,
                 "this workspace was rebuilt on the server: discard the local copy and sync "
                 "again");
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

int srv_sv_clients(const uint8_t *sv, size_t len, uint64_t **ids, size_t *n)
{
    y_dec d;
    y_dec_init(&d, sv, len);
    uint64_t count = y_dec_varuint(&d);
    for (uint64_t i = 0; i < count && !d.err; i++) {
        uint64_t client = y_dec_varuint(&d);
        y_dec_varuint(&d); /* its clock */
        if (d.err)
            break;
        uint64_t *p = realloc(*ids, (*n + 1) * sizeof *p);
        if (!p)
            return DX_ENOMEM;
        *ids = p;
        (*ids)[(*n)++] = client;
    }
    return d.err ? DX_EPARSE : 0;
}

int srv_epoch_read(dx_crdt_store *st, int64_t *epoch, uint64_t **ids, size_t *n, dx_error *err)
{
    dx_buf v = DX_BUF_INIT;
    *epoch = 0;
    if (dx_store_meta_get(st, SRV_META_EPOCH, &v, NULL) == 0)
        *epoch = strtoll(dx_buf_cstr(&v), NULL, 10);
    dx_buf_reset(&v);
    int rc = 0;
    if (dx_store_meta_get(st, SRV_META_RETIRED, &v, NULL) == 0) {
        for (char *p = v.data, *end; !rc && *p; p = end) {
            unsigned long long id = strtoull(p, &end, 10);
            if (end == p)
                break;
            uint64_t *a = realloc(*ids, (*n + 1) * sizeof *a);
            if (!a)
                rc = dx_error_set(err, DX_ENOMEM, "out of memory");
            else {
                *ids = a;
                (*ids)[(*n)++] = id;
            }
        }
    }
    dx_buf_release(&v);
    if (!rc && *n)
        qsort(*ids, *n, sizeof **ids, cmp_u64);
    return rc;
}

void srv_hub_set_max_workspaces(srv_hub *h, size_t n)
{
    h->max_workspaces = n;
}

void srv_hub_hold(srv_hub *h, const char *wid)
{
    if (dx_strmap_put(&h->held, wid, (void *)1))
        fprintf(stderr, "diaryx-server: out of memory holding %s\n", wid);
}

void srv_hub_unhold(srv_hub *h, const char *wid)
{
    if (!dx_strmap_remove(&h->held, wid))
        return;
    /* Authenticated now, in the order they came; each may end (a denial frees it). */
    for (size_t i = 0; i < h->n_waiting;) {
        sub *s = h->waiting[i];
        char w[DX_UUID_LEN + 1], local[DX_DOC_NAME_MAX];
        const char *nul = memchr(s->addr, 0, s->addr_len);
        size_t name_len = nul ? (size_t)(nul - s->addr) : s->addr_len;
        if (dx_docsync_local_name(s->addr, name_len, w, local, NULL) || strcmp(w, wid) != 0) {
            i++;
            continue;
        }
        h->waiting[i] = h->waiting[--h->n_waiting];
        dx_buf token = s->held_token;
        s->held_token = (dx_buf)DX_BUF_INIT;
        dx_hp_msg m;
        memset(&m, 0, sizeof m);
        m.type = DX_HP_AUTH;
        m.addr = s->addr;
        m.addr_len = s->addr_len;
        m.name_len = name_len;
        m.auth = DX_HP_AUTH_TOKEN;
        m.text = token.data;
        m.text_len = token.len;
        authenticate(s, &m);
        dx_buf_release(&token);
    }
}

size_t srv_hub_failures(const srv_hub *h, const char *wid)
{
    return (size_t)(intptr_t)dx_strmap_get(&h->fails, wid);
}

void srv_hub_set_failures(srv_hub *h, const char *wid, size_t n)
{
    if (!n)
        dx_strmap_remove(&h->fails, wid);
    else if (dx_strmap_put(&h->fails, wid, (void *)(intptr_t)n))
        fprintf(stderr, "diaryx-server: out of memory counting the failures of %s\n", wid);
}

bool srv_hub_may_rebuild(const srv_hub *h, const char *wid)
{
    return !srv_hub_loaded(h, wid) && srv_hub_failures(h, wid) + 1 >= DX_HISTORY_MAX_FAILURES;
}
