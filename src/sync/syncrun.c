/* syncrun.c - a workspace synced over one websocket: the connection loop around the sync
 * peer, reconnecting with backoff, resets, and the download into an empty directory (see
 * syncrun.h). */
#include "diaryx/syncrun.h"

#include <dirent.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "diaryx/clock.h"
#include "diaryx/fs.h"
#include "diaryx/hash.h"
#include "diaryx/wsclient.h"
#include "diaryx/wsdoc.h"

typedef struct run {
    const dx_sync_run_opts *o;
    dx_sync_peer *peer;
    dx_session *s; /* NULL: a docset alone (download) */
    dx_ws *ws;
    int rrc; /* the first error a received frame caused */
    dx_error rerr;
} run;

static void say(const dx_sync_run_opts *o, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void say(const dx_sync_run_opts *o, const char *fmt, ...)
{
    if (!o->log)
        return;
    char msg[1200];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    o->log(o->log_ud, msg);
}

static int on_message(void *ud, const uint8_t *data, size_t len)
{
    run *r = ud;
    int rc = dx_sync_peer_receive(r->peer, data, len, r->rrc ? NULL : &r->rerr);
    if (rc && !r->rrc)
        r->rrc = rc;
    return rc;
}

static int ws_send(void *ud, const uint8_t *frame, size_t len)
{
    run *r = ud;
    return r->ws ? dx_ws_send(r->ws, frame, len) : DX_EIO;
}

static bool stopping(const dx_sync_run_opts *o)
{
    return o->stop && *o->stop;
}

static void hang_up(run *r)
{
    if (!r->ws)
        return;
    if (dx_ws_get_state(r->ws) == DX_WS_OPEN) {
        dx_ws_close(r->ws, 1000);
        int64_t until = dx_now_ms() + 1000;
        while (dx_ws_get_state(r->ws) != DX_WS_CLOSED && dx_now_ms() < until)
            dx_ws_service(r->ws, 20);
    }
    dx_ws_free(r->ws);
    r->ws = NULL;
}

/* One connection. Returns 0 once synced with nothing left to send (one exchange, or
 * until_synced), or when asked to stop; else the error (the connection is closed). */
static int connection(run *r, bool until_synced, dx_error *err)
{
    const dx_sync_run_opts *o = r->o;
    int timeout = o->timeout_ms > 0 ? o->timeout_ms : 120000;
    int poll = o->poll_ms > 0 ? o->poll_ms : 300;
    bool stay = o->stay && !until_synced;
    r->rrc = 0;
    r->rerr = (dx_error)DX_ERROR_INIT;
    int rc = dx_ws_open(o->url, on_message, r, &r->ws, err);
    if (rc)
        return rc;
    int64_t deadline = dx_now_ms() + timeout;
    while (dx_ws_get_state(r->ws) == DX_WS_CONNECTING && dx_now_ms() < deadline && !stopping(o))
        dx_ws_service(r->ws, 50);
    if (dx_ws_get_state(r->ws) != DX_WS_OPEN) {
        rc = stopping(o) ? 0
                         : dx_error_set(err, DX_EIO, "cannot connect to %s: %s", o->url,
                                        dx_ws_close_reason(r->ws));
        hang_up(r);
        return rc;
    }
    rc = dx_sync_peer_connect(r->peer, err);
    int64_t next_poll = dx_now_ms() + poll;
    while (!rc) {
        dx_ws_service(r->ws, 20);
        if (r->rrc) {
            rc = r->rrc;
            if (err)
                *err = r->rerr;
            break;
        }
        if (dx_ws_get_state(r->ws) == DX_WS_CLOSED) {
            int code = dx_ws_close_code(r->ws);
            rc = dx_error_set(err, DX_EIO, "the server closed the connection (%d%s%s)", code,
                              *dx_ws_close_reason(r->ws) ? ": " : "", dx_ws_close_reason(r->ws));
            break;
        }
        if (stopping(o))
            break;
        bool synced = dx_sync_peer_synced(r->peer);
        if (synced && dx_sync_peer_unsettled(r->peer)) {
            dx_session_stats st = {0};
            if (!(rc = dx_sync_peer_settle(r->peer, &st, err)) && st.written + st.deleted)
                say(o, "wrote %zu file%s, removed %zu", st.written, st.written == 1 ? "" : "s",
                    st.deleted);
            if (!rc && r->s)
                rc = dx_sync_peer_push(r->peer, err);
            continue;
        }
        if (synced && !stay) {
            /* Anything stored meanwhile (by this exchange's settle, or another process)
             * goes out before the exchange ends; then the acknowledgement mark moves. */
            if (r->s && (rc = dx_sync_peer_push(r->peer, err)))
                break;
            if (dx_sync_peer_synced(r->peer)) {
                rc = dx_sync_peer_settle(r->peer, NULL, err);
                if (!rc && dx_sync_peer_synced(r->peer) && !dx_sync_peer_unsettled(r->peer))
                    break;
            }
            continue;
        }
        if (stay && r->s && dx_now_ms() >= next_poll) {
            dx_session_stats st = {0};
            rc = dx_session_sync(r->s, &st, err);
            if (!rc && st.ingested + st.imported + st.removed)
                say(o, "took in %zu edited, %zu new, %zu removed file(s)", st.ingested, st.imported,
                    st.removed);
            if (!rc)
                rc = dx_sync_peer_push(r->peer, err);
            if (!rc && synced && dx_sync_peer_pending(r->peer))
                rc = dx_sync_peer_settle(r->peer, NULL, err);
            next_poll = dx_now_ms() + poll;
        }
        if (!stay && dx_now_ms() > deadline)
            rc = dx_error_set(err, DX_EIO,
                              "the exchange with %s did not finish within %d s; nothing "
                              "acknowledged is lost, run it again",
                              o->url, timeout / 1000);
    }
    hang_up(r);
    return rc;
}

static int open_session(const char *root, const char *device, dx_workspace **ws, dx_session **s,
                        dx_error *err)
{
    int rc = dx_workspace_open(root, ws, err);
    if (!rc && (rc = dx_session_open(*ws, device, s, NULL, err))) {
        dx_workspace_free(*ws);
        *ws = NULL;
    }
    return rc;
}

static void close_session(dx_workspace **ws, dx_session **s)
{
    dx_session_close(*s);
    dx_workspace_free(*ws);
    *s = NULL;
    *ws = NULL;
}

static int new_peer(run *r, dx_docset *ds, dx_error *err)
{
    dx_sync_peer_free(r->peer);
    r->peer = NULL;
    dx_sync_peer_opts po = {r->o->wid, r->o->token, ws_send, r, 0};
    return dx_sync_peer_new(ds, r->s, &po, &r->peer, err);
}

int dx_sync_run(const char *root, const dx_sync_run_opts *o, dx_sync_counts *counts, dx_error *err)
{
    run r = {o, NULL, NULL, NULL, 0, DX_ERROR_INIT};
    dx_workspace *ws = NULL;
    dx_strmap saved = DX_STRMAP_INIT;
    bool resetting = false;
    int backoff = 1;
    int rc = open_session(root, o->device, &ws, &r.s, err);
    if (!rc)
        rc = new_peer(&r, NULL, err);
    while (!rc && !stopping(o)) {
        rc = connection(&r, resetting, err);
        if (counts)
            *counts = *dx_sync_peer_counts(r.peer);
        if (rc && dx_sync_peer_reset_needed(r.peer)) {
            /* The server's CRDT was rebuilt: take its copy, keep the text of our files. */
            say(o, "%s", err ? err->msg : "the server asks for a reset");
            int64_t epoch = dx_sync_peer_epoch(r.peer);
            dx_sync_saved_release(&saved);
            rc = dx_sync_reset_begin(r.s, epoch, &saved, err);
            close_session(&ws, &r.s);
            if (!rc && !(rc = open_session(root, o->device, &ws, &r.s, err)))
                rc = new_peer(&r, NULL, err);
            resetting = !rc;
            continue;
        }
        if (!rc && resetting) {
            rc = dx_sync_reset_finish(r.s, &saved, err);
            close_session(&ws, &r.s);
            if (!rc && !(rc = open_session(root, o->device, &ws, &r.s, err)))
                rc = new_peer(&r, NULL, err);
            resetting = false;
            dx_sync_saved_release(&saved);
            if (!rc)
                say(o, "reset done: the local changes are applied on the server's copy");
            continue;
        }
        if (!rc && !o->stay)
            break;
        if (rc && (!o->stay || rc == DX_EAUTH || rc == DX_ENOMEM))
            break;
        if (rc) {
            say(o, "%s; connecting again in %d s", err ? err->msg : "disconnected", backoff);
            for (int i = 0; i < backoff * 10 && !stopping(o); i++) {
                struct timespec ts = {0, 100000000};
                nanosleep(&ts, NULL);
            }
            backoff = backoff < 30 ? backoff * 2 : 30;
            /* Edits made on disk meanwhile are taken in by the next connection's rounds;
             * updates received and not stored were never acknowledged to anyone. */
            dx_sync_saved_release(&saved);
            close_session(&ws, &r.s);
            if ((rc = open_session(root, o->device, &ws, &r.s, err)) == 0)
                rc = new_peer(&r, NULL, err);
            resetting = false;
            continue;
        }
        backoff = 1;
    }
    dx_sync_saved_release(&saved);
    dx_sync_peer_free(r.peer);
    close_session(&ws, &r.s);
    return rc;
}

/* ---- download into an empty directory ---------------------------------------------------- */

static int check_empty(const char *dir, dx_error *err)
{
    DIR *d = opendir(dir);
    if (!d)
        return dx_error_set(err, DX_ENOTFOUND, "cannot open the directory '%s'", dir);
    struct dirent *e;
    int rc = 0;
    while (!rc && (e = readdir(d))) {
        size_t n = strlen(e->d_name);
        if (n > 3 && !strcmp(e->d_name + n - 3, ".md"))
            rc = dx_error_set(err, DX_EEXIST,
                              "'%s' holds markdown files ('%s'); download into an empty "
                              "directory, or run `diaryx sync link` inside the workspace to "
                              "upload it",
                              dir, e->d_name);
    }
    closedir(d);
    return rc;
}

/* The root index: the live entry without a parent that lists contents (the first by id when
 * a conflict made several). */
static int find_root(y_doc *ws, char out[DX_UUID_LEN + 1], dx_error *err)
{
    dx_strlist ids = DX_STRLIST_INIT;
    int rc = dx_wsdoc_ids(ws, &ids, err);
    out[0] = 0;
    for (size_t i = 0; !rc && !out[0] && i < ids.len; i++) {
        dx_entry e = DX_ENTRY_INIT;
        if (dx_wsdoc_get(ws, ids.items[i], &e, NULL) == 0 && !e.deleted && !e.part_of && e.is_index)
            snprintf(out, DX_UUID_LEN + 1, "%s", ids.items[i]);
        dx_entry_release(&e);
    }
    dx_strlist_release(&ids);
    if (!rc && !out[0])
        rc = dx_error_set(err, DX_ENOTFOUND,
                          "the server workspace has no root index (it is empty): run `diaryx "
                          "init` here and `diaryx sync link` again to upload it");
    return rc;
}

int dx_sync_download(const char *dir, const dx_sync_run_opts *o, dx_sync_counts *counts,
                     dx_error *err)
{
    dx_buf db = DX_BUF_INIT, path = DX_BUF_INIT, bytes = DX_BUF_INIT;
    dx_crdt_store *st = NULL;
    dx_docset *ds = NULL;
    run r = {o, NULL, NULL, NULL, 0, DX_ERROR_INIT};
    struct stat sb;
    int rc = check_empty(dir, err);
    if (!rc && (dx_buf_printf(&db, "%s/" DX_STATE_DIR, dir) || dx_buf_error(&db)))
        rc = dx_error_set(err, DX_ENOMEM, "out of memory");
    if (!rc && mkdir(db.data, 0755) && stat(db.data, &sb))
        rc = dx_error_set(err, DX_EIO, "cannot create '%s'", db.data);
    if (!rc && dx_buf_puts(&db, "/crdt.db"))
        rc = dx_error_set(err, DX_ENOMEM, "out of memory");
    if (!rc && stat(db.data, &sb) == 0)
        rc = dx_error_set(err, DX_EEXIST, "'%s' exists: this directory holds a workspace already",
                          db.data);
    if (!rc)
        rc = dx_store_open(db.data, &st, err);
    if (!rc)
        rc = dx_docset_new(st, o->device, &ds, err);
    if (!rc)
        rc = new_peer(&r, ds, err);
    if (!rc)
        rc = connection(&r, true, err);
    if (counts && r.peer)
        *counts = *dx_sync_peer_counts(r.peer);
    if (!rc && dx_sync_peer_unsettled(r.peer))
        rc = dx_sync_peer_settle(r.peer, NULL, err);
    /* The root index on disk makes the directory a workspace; recorded as written from the
     * CRDT, so the session that opens next writes every other file and imports nothing. */
    char root[DX_UUID_LEN + 1];
    y_doc *wsd = NULL;
    if (!rc && !(wsd = dx_docset_workspace(ds)))
        rc = dx_error_set(err, DX_ECORRUPT, "the workspace document does not load");
    if (!rc)
        rc = find_root(wsd, root, err);
    if (!rc)
        rc = dx_docset_render(ds, root, DX_LINK_MARKDOWN_ROOT, &path, &bytes, err);
    if (!rc)
        rc = dx_fs_write_in(dir, path.data, dx_buf_cstr(&bytes), bytes.len, 0644, NULL, &sb, err);
    if (!rc) {
        dx_store_file f = {path.data, "", (int64_t)sb.st_size,
                           (int64_t)sb.st_mtim.tv_sec * 1000000000 + sb.st_mtim.tv_nsec, ""};
        snprintf(f.doc_id, sizeof f.doc_id, "%s", root);
        rc = dx_hash_blob_hex(NULL, dx_buf_cstr(&bytes), bytes.len, f.hash)
                 ? dx_error_set(err, DX_ENOMEM, "out of memory")
                 : dx_store_file_put(st, &f, err);
    }
    dx_sync_peer_free(r.peer);
    dx_docset_free(ds);
    dx_store_close(st);
    dx_buf_release(&db);
    dx_buf_release(&path);
    dx_buf_release(&bytes);
    return rc;
}
