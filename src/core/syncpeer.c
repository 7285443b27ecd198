/* syncpeer.c - the client side of the Hocuspocus sync over a workspace session (see
 * syncpeer.h); frames in, frames out, no sockets. */
#include "diaryx/syncpeer.h"

#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "diaryx/clock.h"
#include "diaryx/docsync.h"
#include "diaryx/fs.h"
#include "diaryx/hocuspocus.h"
#include "diaryx/strlist.h"
#include "diaryx/wsdoc.h"

enum { D_QUEUED, D_AUTHING, D_SYNCING, D_LIVE };

typedef struct doc_st {
    char local[DX_DOC_NAME_MAX];
    int state;
    bool got_step1, got_step2;
} doc_st;

struct dx_sync_peer {
    dx_session *s;
    dx_docset *ds;
    char wid[DX_UUID_LEN + 1];
    char *token;
    dx_sync_send_fn send;
    void *ud;
    size_t window;
    dx_strmap docs;   /* wire name -> doc_st * */
    dx_strlist queue; /* wire names waiting for their AUTH */
    size_t qpos;
    size_t authing, not_live, outstanding;
    int64_t pushed;        /* store id through which local changes were sent */
    int64_t sent_through;  /* every update <= it is in what was sent */
    int64_t acked;         /* the store's acknowledgement mark, as last read or written */
    dx_strmap ws_before;   /* entry id -> its JSON before the first remote workspace update */
    dx_strmap live_before; /* the entries live then (keys) */
    bool ws_snapped;
    bool unsettled;
    int64_t epoch;
    bool reset;
    dx_sync_counts counts;
};

static int64_t acked_mark(dx_crdt_store *st);

static int oom(dx_error *err)
{
    return dx_error_set(err, DX_ENOMEM, "out of memory");
}

static int send_buf(dx_sync_peer *p, dx_buf *b, dx_error *err)
{
    if (dx_buf_error(b))
        return oom(err);
    int rc = 0;
    if (b->len) {
        p->counts.bytes_sent += b->len;
        if (p->send(p->ud, (const uint8_t *)b->data, b->len))
            rc = dx_error_set(err, DX_EIO, "the connection to the server is gone");
    }
    dx_buf_reset(b);
    return rc;
}

/* ---- subscriptions -------------------------------------------------------------------- */

static int subscribe(dx_sync_peer *p, const char *local, dx_error *err)
{
    dx_buf name = DX_BUF_INIT;
    int rc = dx_docsync_remote_name(p->wid, local, &name, err);
    if (!rc && !dx_strmap_get(&p->docs, name.data)) {
        doc_st *d = calloc(1, sizeof *d);
        if (!d || dx_strmap_put(&p->docs, name.data, d) || dx_strlist_push(&p->queue, name.data)) {
            if (d && dx_strmap_get(&p->docs, name.data) == d)
                dx_strmap_remove(&p->docs, name.data);
            free(d);
            rc = oom(err);
        } else {
            snprintf(d->local, sizeof d->local, "%s", local);
            p->not_live++;
            p->counts.docs++;
        }
    }
    dx_buf_release(&name);
    return rc;
}

/* The body documents of entries not subscribed yet (after the workspace document changed). */
static int subscribe_bodies(dx_sync_peer *p, dx_error *err)
{
    y_doc *ws = dx_docset_workspace(p->ds);
    dx_strlist ids = DX_STRLIST_INIT;
    int rc = ws ? dx_wsdoc_ids(ws, &ids, err)
                : dx_error_set(err, DX_ECORRUPT,
                               "the workspace document cannot be "
                               "loaded");
    char local[DX_DOC_NAME_MAX];
    for (size_t i = 0; !rc && i < ids.len; i++) {
        dx_doc_body_name(ids.items[i], local);
        rc = subscribe(p, local, err);
    }
    dx_strlist_release(&ids);
    return rc;
}

/* Send AUTH for queued documents while fewer than `window` wait for their answer. */
static int fill_window(dx_sync_peer *p, dx_error *err)
{
    dx_buf b = DX_BUF_INIT;
    int rc = 0;
    while (!rc && p->authing < p->window && p->qpos < p->queue.len) {
        const char *name = p->queue.items[p->qpos++];
        doc_st *d = dx_strmap_get(&p->docs, name);
        if (!d || d->state != D_QUEUED)
            continue;
        d->state = D_AUTHING;
        p->authing++;
        if (dx_hp_put_auth(&b, name, strlen(name), DX_HP_AUTH_TOKEN, p->token, NULL))
            rc = oom(err);
        if (!rc)
            rc = send_buf(p, &b, err);
    }
    dx_buf_release(&b);
    return rc;
}

int dx_sync_peer_connect(dx_sync_peer *p, dx_error *err)
{
    for (size_t i = 0; i < p->docs.cap; i++)
        free(p->docs.slots[i].value);
    dx_strmap_release(&p->docs);
    dx_strlist_release(&p->queue);
    p->qpos = p->authing = p->not_live = p->outstanding = 0;
    p->counts.docs = 0;
    p->reset = false;
    p->epoch = -1;
    dx_crdt_store *st = dx_docset_store(p->ds);
    p->sent_through = p->pushed = dx_store_last_id(st, NULL);
    p->acked = acked_mark(st);
    dx_store_doc_info *docs = NULL;
    size_t n = 0;
    int rc = subscribe(p, DX_DOC_WORKSPACE, err);
    if (!rc)
        rc = dx_store_list(st, &docs, &n, err);
    for (size_t i = 0; !rc && i < n; i++)
        if (dx_doc_body_id(docs[i].name) || !strcmp(docs[i].name, DX_DOC_WORKSPACE))
            rc = subscribe(p, docs[i].name, err);
    dx_store_docs_free(docs, n);
    if (!rc)
        rc = subscribe_bodies(p, err);
    if (!rc)
        rc = fill_window(p, err);
    return rc;
}

/* ---- received frames ------------------------------------------------------------------ */

static void snap_release(dx_sync_peer *p)
{
    for (size_t i = 0; i < p->ws_before.cap; i++)
        free(p->ws_before.slots[i].value);
    dx_strmap_release(&p->ws_before);
    dx_strmap_release(&p->live_before);
    p->ws_snapped = false;
}

/* Every entry of the workspace document as JSON, by id: what a remote update changed is
 * found by comparing before and after (a Yjs update names no map keys we could read). */
static int entries_json(y_doc *ws, dx_strmap *out, dx_error *err)
{
    y_map_iter it;
    const char *key;
    y_value v;
    int rc = 0;
    y_map_iter_init(&it, y_doc_get_map(ws, "files"));
    while (!rc && y_map_iter_next(&it, &key, &v)) {
        char *json = NULL;
        size_t len;
        if (v.is_type ? y_type_to_json(v.type, &json, &len) != Y_OK : !(json = strdup("plain"))) {
            rc = oom(err);
        } else if (dx_strmap_put(out, key, json)) {
            free(json);
            rc = oom(err);
        }
    }
    return rc;
}

/* A delete from the server against an edit made here: the edit wins, as a sync client's user
 * expects (nothing typed is lost). An entry live before the server's updates and deleted by
 * them comes back when its body changed here after the acknowledgement mark (an edit the
 * server had not seen when the other side deleted), put back into its parent's contents. */
static int keep_edited(dx_sync_peer *p, bool *revived, dx_error *err)
{
    y_doc *ws = dx_docset_workspace(p->ds);
    dx_crdt_store *st = dx_docset_store(p->ds);
    dx_strlist changed = DX_STRLIST_INIT;
    int rc = 0;
    bool listed = false;
    for (size_t i = 0; !rc && ws && i < p->live_before.cap; i++) {
        const char *id = p->live_before.slots[i].key;
        if (!id || dx_wsdoc_is_live(ws, id))
            continue;
        if (!listed && !(rc = dx_store_changed_since(st, acked_mark(st), &changed, err)))
            listed = true;
        char body[DX_DOC_NAME_MAX];
        dx_doc_body_name(id, body);
        if (rc || dx_strlist_find(&changed, body) < 0)
            continue;
        dx_entry e = DX_ENTRY_INIT;
        rc = dx_wsdoc_set_deleted(ws, id, false, err);
        if (!rc && dx_wsdoc_get(ws, id, &e, NULL) == 0 && e.part_of &&
            dx_wsdoc_is_live(ws, e.part_of))
            rc = dx_wsdoc_contents_insert(ws, e.part_of, SIZE_MAX, id, err);
        dx_entry_release(&e);
        if (!rc && dx_docset_touch(p->ds, id))
            rc = oom(err);
        *revived = true;
    }
    dx_strlist_release(&changed);
    return rc;
}

/* Mark the entries whose fields a remote update changed (compared with the snapshot), so the
 * session round writes exactly their files. */
static int touch_changed_entries(dx_sync_peer *p, dx_error *err)
{
    if (!p->ws_snapped)
        return 0;
    dx_strmap after = DX_STRMAP_INIT;
    y_doc *ws = dx_docset_workspace(p->ds);
    int rc = ws ? entries_json(ws, &after, err) : oom(err);
    for (size_t i = 0; !rc && i < after.cap; i++) {
        const char *id = after.slots[i].key;
        const char *was = id ? dx_strmap_get(&p->ws_before, id) : NULL;
        if (id && (!was || strcmp(was, after.slots[i].value)) && dx_docset_touch(p->ds, id))
            rc = oom(err);
    }
    for (size_t i = 0; !rc && i < p->ws_before.cap; i++) {
        const char *id = p->ws_before.slots[i].key;
        if (id && !dx_strmap_get(&after, id) && dx_docset_touch(p->ds, id))
            rc = oom(err);
    }
    for (size_t i = 0; i < after.cap; i++)
        free(after.slots[i].value);
    dx_strmap_release(&after);
    snap_release(p);
    return rc;
}

static int apply_remote(dx_sync_peer *p, doc_st *d, const dx_hp_msg *m, dx_error *err)
{
    bool ws = !strcmp(d->local, DX_DOC_WORKSPACE);
    int rc = 0;
    bool snapped_now = ws && !p->ws_snapped;
    if (snapped_now) {
        y_doc *doc = dx_docset_workspace(p->ds);
        rc = doc ? entries_json(doc, &p->ws_before, err)
                 : dx_error_set(err, DX_ECORRUPT, "the workspace document cannot be loaded");
        for (size_t i = 0; !rc && i < p->ws_before.cap; i++) {
            const char *id = p->ws_before.slots[i].key;
            if (id && dx_wsdoc_is_live(doc, id) && dx_strmap_put(&p->live_before, id, (void *)1))
                rc = oom(err);
        }
        p->ws_snapped = !rc;
    }
    dx_buf reply[DX_DOCSYNC_REPLIES] = {DX_BUF_INIT, DX_BUF_INIT};
    dx_docsync_result r;
    if (!rc)
        rc = dx_docsync_handle(p->ds, d->local, m, false, reply, &r, err);
    dx_buf_release(&reply[0]);
    dx_buf_release(&reply[1]);
    if (rc) { /* nothing was applied */
        if (snapped_now)
            snap_release(p);
        return rc;
    }
    p->counts.received++;
    p->unsettled = true;
    const char *id = dx_doc_body_id(d->local);
    if (id && dx_docset_touch(p->ds, id))
        return oom(err);
    return ws ? subscribe_bodies(p, err) : 0;
}

static int check_live(dx_sync_peer *p, doc_st *d, dx_error *err)
{
    if (d->state == D_SYNCING && d->got_step1 && d->got_step2) {
        d->state = D_LIVE;
        p->not_live--;
    }
    return fill_window(p, err);
}

static int on_sync(dx_sync_peer *p, doc_st *d, const dx_hp_msg *m, dx_error *err)
{
    if (d->state < D_SYNCING)
        return dx_error_set(err, DX_EPARSE, "the server sent '%.*s' before authenticating it",
                            (int)m->name_len, m->addr);
    if (m->sync == Y_SYNC_STEP1) {
        /* Answer with what the server lacks, and not with our own step 1 again (docsync
         * adds that only to a SYNC, which the server would answer once more). */
        dx_hp_msg q = *m;
        q.type = DX_HP_SYNC_REPLY;
        dx_buf reply[DX_DOCSYNC_REPLIES] = {DX_BUF_INIT, DX_BUF_INIT};
        dx_docsync_result r;
        int rc = dx_docsync_handle(p->ds, d->local, &q, false, reply, &r, err);
        if (!rc && (rc = send_buf(p, &reply[0], err)) == 0) {
            p->outstanding++;
            p->counts.sent++;
            d->got_step1 = true;
        }
        dx_buf_release(&reply[0]);
        dx_buf_release(&reply[1]);
        return rc ? rc : check_live(p, d, err);
    }
    int rc = apply_remote(p, d, m, err);
    if (!rc && m->sync == Y_SYNC_STEP2)
        d->got_step2 = true;
    return rc ? rc : check_live(p, d, err);
}

static int64_t recorded_epoch(dx_sync_peer *p)
{
    dx_buf v = DX_BUF_INIT;
    int64_t e = -1;
    if (dx_store_meta_get(dx_docset_store(p->ds), DX_SYNC_META_EPOCH, &v, NULL) == 0)
        e = strtoll(v.data, NULL, 10);
    dx_buf_release(&v);
    return e;
}

bool dx_sync_epoch_resets(int64_t recorded, int64_t announced)
{
    return recorded >= 0 && announced > recorded;
}

static int on_stateless(dx_sync_peer *p, const dx_hp_msg *m, dx_error *err)
{
    json_t *j = json_loadb(m->text, m->text_len, 0, NULL);
    json_t *type = json_object_get(j, "type"), *epoch = json_object_get(j, "epoch");
    int rc = 0;
    if (json_is_string(type) && !strcmp(json_string_value(type), "epoch") &&
        json_is_integer(epoch) && json_integer_value(epoch) >= 0) {
        int64_t e = json_integer_value(epoch), had = recorded_epoch(p);
        p->epoch = e;
        if (dx_sync_epoch_resets(had, e)) {
            p->reset = true;
            rc = dx_error_set(err, DX_ECONFLICT,
                              "the server's copy of the workspace was rebuilt (epoch %lld, this "
                              "copy is of epoch %lld): the local CRDT is replaced by the "
                              "server's and local changes are applied again",
                              (long long)e, (long long)had);
        } else if (had < 0) {
            char v[32];
            snprintf(v, sizeof v, "%lld", (long long)e);
            rc = dx_store_meta_set(dx_docset_store(p->ds), DX_SYNC_META_EPOCH, v, err);
        }
    }
    json_decref(j);
    return rc;
}

int dx_sync_peer_receive(dx_sync_peer *p, const uint8_t *frame, size_t len, dx_error *err)
{
    dx_hp_msg m;
    dx_error derr = DX_ERROR_INIT;
    int rc = dx_hp_decode(frame, len, &m, &derr);
    if (rc)
        return dx_error_set(err, rc,
                            "the server sent a message that is not Hocuspocus (%s, %zu bytes); "
                            "nothing of it was applied",
                            derr.msg, len);
    p->counts.bytes_received += len;
    if (p->reset) /* nothing of the old history may reach the new one */
        return 0;
    if (m.type == DX_HP_PING) {
        dx_buf b = DX_BUF_INIT;
        dx_hp_put_ping(&b, DX_HP_PONG);
        rc = send_buf(p, &b, err);
        dx_buf_release(&b);
        return rc;
    }
    if (m.type == DX_HP_PONG)
        return 0;
    char name[256];
    if (m.name_len >= sizeof name)
        return dx_error_set(err, DX_EPARSE, "the server named a document of %zu bytes", m.name_len);
    memcpy(name, m.addr, m.name_len);
    name[m.name_len] = 0;
    doc_st *d = dx_strmap_get(&p->docs, name);
    if (!d)
        return dx_error_set(err, DX_EPARSE,
                            "the server sent a message for '%s', which this client did not ask "
                            "for",
                            name);
    switch (m.type) {
    case DX_HP_AUTH:
        if (m.auth == DX_HP_AUTH_DENIED)
            return dx_error_set(err, DX_EAUTH,
                                "the server refused '%s': %.*s (is the token expired? sign in "
                                "again with `diaryx sync login`)",
                                name, (int)(m.text ? m.text_len : 0), m.text ? m.text : "");
        if (m.auth != DX_HP_AUTH_OK || d->state != D_AUTHING)
            return 0;
        if (m.text && m.text_len == 8 && !memcmp(m.text, "readonly", 8))
            return dx_error_set(err, DX_EAUTH,
                                "the token may only read '%s'; sync needs a token that may write",
                                name);
        d->state = D_SYNCING;
        p->authing--;
        {
            y_doc *doc;
            uint8_t *sv = NULL;
            size_t sv_len = 0;
            dx_buf b = DX_BUF_INIT;
            rc = dx_docset_doc(p->ds, d->local, &doc, err);
            if (!rc && y_encode_state_vector(doc, &sv, &sv_len) != Y_OK)
                rc = oom(err);
            if (!rc && dx_hp_put_sync(&b, name, m.name_len, DX_HP_SYNC, Y_SYNC_STEP1, sv, sv_len))
                rc = oom(err);
            if (!rc)
                rc = send_buf(p, &b, err);
            y_free(sv);
            dx_buf_release(&b);
        }
        return rc ? rc : fill_window(p, err);
    case DX_HP_SYNC:
    case DX_HP_SYNC_REPLY:
        return on_sync(p, d, &m, err);
    case DX_HP_SYNC_STATUS:
        if (p->outstanding)
            p->outstanding--;
        if (m.status != 1)
            return dx_error_set(err, DX_ECONFLICT,
                                "the server refused an update of '%s' (a read-only token?); "
                                "nothing was lost locally",
                                name);
        return 0;
    case DX_HP_STATELESS:
        return on_stateless(p, &m, err);
    case DX_HP_CLOSE:
        return dx_error_set(err, DX_ECONFLICT, "the server closed '%s': %.*s", name,
                            (int)(m.text ? m.text_len : 0), m.text ? m.text : "");
    default: /* awareness and the rest: not ours to answer */
        return 0;
    }
}

/* ---- settle and push ------------------------------------------------------------------ */

static int64_t acked_mark(dx_crdt_store *st)
{
    dx_buf v = DX_BUF_INIT;
    int64_t a = 0;
    if (dx_store_meta_get(st, DX_STORE_META_SYNC_ACKED, &v, NULL) == 0)
        a = strtoll(v.data, NULL, 10);
    dx_buf_release(&v);
    return a;
}

static int set_mark(dx_crdt_store *st, int64_t id, dx_error *err)
{
    char v[32], now[32];
    snprintf(v, sizeof v, "%lld", (long long)id);
    snprintf(now, sizeof now, "%lld", (long long)dx_now_ms());
    int rc = dx_store_meta_set(st, DX_STORE_META_SYNC_ACKED, v, err);
    return rc ? rc : dx_store_meta_set(st, DX_SYNC_META_LAST, now, err);
}

bool dx_sync_peer_synced(const dx_sync_peer *p)
{
    return !p->reset && p->not_live == 0 && p->outstanding == 0 && p->qpos >= p->queue.len;
}

bool dx_sync_peer_unsettled(const dx_sync_peer *p)
{
    return p->unsettled || p->ws_snapped;
}

int dx_sync_peer_settle(dx_sync_peer *p, dx_session_stats *stats, dx_error *err)
{
    dx_crdt_store *st = dx_docset_store(p->ds);
    dx_session_stats local;
    if (!stats)
        stats = &local;
    bool ws_changed = p->ws_snapped;
    bool revived = false; /* a local edit made by this round: it must go out */
    int rc = ws_changed && p->s ? keep_edited(p, &revived, err) : 0;
    if (!rc)
        rc = touch_changed_entries(p, err);
    if (!rc && ws_changed) /* entries came, went or moved: find them by their new paths */
        rc = dx_docset_reindex(p->ds, err);
    int64_t before = dx_store_last_id(st, NULL);
    if (!rc && p->s) {
        rc = dx_session_catch_up(p->s, stats, err);
    } else if (!rc) { /* a docset alone (a download into an empty directory): store only */
        memset(stats, 0, sizeof *stats);
        int64_t seen = dx_docset_seen(p->ds);
        rc = dx_docset_save(p->ds, err);
        stats->updates = (size_t)(dx_store_last_id(st, NULL) - seen);
        dx_docset_untouch(p->ds);
    }
    if (rc)
        return rc;
    p->unsettled = false;
    int64_t after = dx_store_last_id(st, NULL);
    /* The round stored only what the server sent (no other writer took ids meanwhile):
     * those updates are on the server, and nothing local is left to push. */
    bool only_remote = !revived && after - before == (int64_t)stats->updates;
    if (only_remote && p->pushed == before)
        p->pushed = after;
    if (dx_sync_peer_synced(p) && p->pushed == after && p->sent_through >= before) {
        p->sent_through = after;
        if (p->acked != after && !(rc = set_mark(st, after, err)))
            p->acked = after;
    }
    return rc;
}

int dx_sync_peer_push(dx_sync_peer *p, dx_error *err)
{
    dx_crdt_store *st = dx_docset_store(p->ds);
    int64_t last = dx_store_last_id(st, NULL);
    if (last <= p->pushed)
        return 0;
    dx_strlist docs = DX_STRLIST_INIT;
    dx_buf name = DX_BUF_INIT, b = DX_BUF_INIT;
    int rc = dx_store_changed_since(st, p->pushed, &docs, err);
    for (size_t i = 0; !rc && i < docs.len; i++) {
        const char *local = docs.items[i];
        if (!dx_doc_body_id(local) && strcmp(local, DX_DOC_WORKSPACE))
            continue;
        dx_buf_reset(&name);
        if ((rc = dx_docsync_remote_name(p->wid, local, &name, err)))
            break;
        doc_st *d = dx_strmap_get(&p->docs, name.data);
        if (!d) { /* a new document: its first exchange sends it */
            rc = subscribe(p, local, err);
            continue;
        }
        if (!d->got_step1) /* our answer to the server's step 1 will carry it */
            continue;
        y_doc *doc;
        uint8_t *u = NULL;
        size_t ulen = 0;
        if (!(rc = dx_docset_doc(p->ds, local, &doc, err)) &&
            y_encode_state_as_update(doc, NULL, 0, &u, &ulen) != Y_OK)
            rc = oom(err);
        /* The whole state rather than a diff against what the server had: a deletion does
         * not move the state vector, so only the whole delete set is sure to carry it; the
         * server applies what it knows as a no-op. */
        if (!rc && dx_hp_put_sync(&b, name.data, name.len, DX_HP_SYNC, Y_SYNC_UPDATE, u, ulen))
            rc = oom(err);
        y_free(u);
        if (!rc && !(rc = send_buf(p, &b, err))) {
            p->outstanding++;
            p->counts.sent++;
        }
    }
    if (!rc) {
        p->pushed = last;
        p->sent_through = last;
        rc = fill_window(p, err);
    }
    dx_strlist_release(&docs);
    dx_buf_release(&name);
    dx_buf_release(&b);
    return rc;
}

bool dx_sync_peer_pending(const dx_sync_peer *p)
{
    return dx_store_last_id(dx_docset_store(p->ds), NULL) > p->acked; /* no allocation */
}

bool dx_sync_peer_reset_needed(const dx_sync_peer *p)
{
    return p->reset;
}

int64_t dx_sync_peer_epoch(const dx_sync_peer *p)
{
    return p->epoch;
}

const dx_sync_counts *dx_sync_peer_counts(const dx_sync_peer *p)
{
    return &p->counts;
}

static int count_update(void *user, const char *doc, const uint8_t *data, size_t len)
{
    (void)doc;
    (void)data;
    (void)len;
    (*(size_t *)user)++;
    return 0;
}

int dx_sync_unsent(dx_crdt_store *st, size_t *n, dx_error *err)
{
    *n = 0;
    return dx_store_updates_after(st, acked_mark(st), count_update, n, err);
}

/* ---- lifetime ------------------------------------------------------------------------- */

int dx_sync_peer_new(dx_docset *ds, dx_session *s, const dx_sync_peer_opts *o, dx_sync_peer **out,
                     dx_error *err)
{
    *out = NULL;
    if (!o->wid || !dx_uuid_valid(o->wid))
        return dx_error_set(err, DX_EINVAL, "'%s' is not a workspace id (a UUID)",
                            o->wid ? o->wid : "");
    dx_sync_peer *p = calloc(1, sizeof *p);
    if (!p || !(p->token = strdup(o->token ? o->token : ""))) {
        free(p);
        return oom(err);
    }
    p->s = s;
    p->ds = s ? dx_session_docset(s) : ds;
    snprintf(p->wid, sizeof p->wid, "%s", o->wid);
    p->send = o->send;
    p->ud = o->ud;
    p->window = o->window ? o->window : DX_SYNC_WINDOW;
    p->epoch = -1;
    *out = p;
    return 0;
}

void dx_sync_peer_free(dx_sync_peer *p)
{
    if (!p)
        return;
    for (size_t i = 0; i < p->docs.cap; i++)
        free(p->docs.slots[i].value);
    dx_strmap_release(&p->docs);
    dx_strlist_release(&p->queue);
    snap_release(p);
    if (p->token) /* not left in freed memory */
        memset(p->token, 0, strlen(p->token));
    free(p->token);
    free(p);
}

/* ---- reset ---------------------------------------------------------------------------- */

void dx_sync_saved_release(dx_strmap *saved)
{
    for (size_t i = 0; i < saved->cap; i++)
        if (saved->slots[i].key) {
            dx_buf_release(saved->slots[i].value);
            free(saved->slots[i].value);
        }
    dx_strmap_release(saved);
}

int dx_sync_reset_begin(dx_session *s, int64_t epoch, dx_strmap *saved, dx_error *err)
{
    dx_crdt_store *st = dx_session_store(s);
    const char *root = dx_workspace_root(dx_session_workspace(s));
    dx_store_file *files = NULL;
    dx_store_doc_info *docs = NULL;
    size_t nf = 0, nd = 0;
    int rc = dx_store_files(st, &files, &nf, err);
    for (size_t i = 0; !rc && i < nf; i++) {
        dx_buf *b = calloc(1, sizeof *b);
        if (!b)
            rc = oom(err);
        else if (dx_fs_read_in(root, files[i].path, b, NULL, NULL) != 0) {
            free(b); /* gone from disk: nothing to keep */
        } else if (dx_strmap_put(saved, files[i].path, b)) {
            dx_buf_release(b);
            free(b);
            rc = oom(err);
        }
    }
    if (!rc)
        rc = dx_store_list(st, &docs, &nd, err);
    if (!rc)
        rc = dx_store_begin(st, err);
    for (size_t i = 0; !rc && i < nd; i++)
        rc = dx_store_delete(st, docs[i].name, err);
    char v[32];
    snprintf(v, sizeof v, "%lld", (long long)epoch);
    if (!rc)
        rc = dx_store_meta_set(st, DX_SYNC_META_EPOCH, v, err);
    if (!rc)
        rc = dx_store_meta_set(st, DX_STORE_META_SYNC_ACKED, NULL, err);
    if (!rc)
        rc = dx_store_commit(st, err);
    else
        dx_store_rollback(st);
    dx_store_files_free(files, nf);
    dx_store_docs_free(docs, nd);
    return rc;
}

int dx_sync_reset_finish(dx_session *s, dx_strmap *saved, dx_error *err)
{
    dx_crdt_store *st = dx_session_store(s);
    const char *root = dx_workspace_root(dx_session_workspace(s));
    dx_buf now = DX_BUF_INIT;
    int rc = dx_session_load(s, err);
    for (size_t i = 0; !rc && i < saved->cap; i++) {
        const char *path = saved->slots[i].key;
        const dx_buf *was = saved->slots[i].value;
        if (!path)
            continue;
        dx_buf_reset(&now);
        bool same = dx_fs_read_in(root, path, &now, NULL, NULL) == 0 && now.len == was->len &&
                    !memcmp(dx_buf_cstr(&now), dx_buf_cstr(was), was->len);
        if (same)
            continue;
        /* A file whose entry the server does not have is a new file to import. */
        const char *id = dx_session_recorded_entry(s, path);
        if (!id || !dx_wsdoc_is_live(dx_session_wsdoc(s), id))
            rc = dx_store_file_remove(st, path, err);
        if (!rc)
            rc = dx_fs_write_in(root, path, dx_buf_cstr(was), was->len, 0644, NULL, NULL, err);
    }
    dx_buf_release(&now);
    return rc;
}
