/* syncpeer.h - the client side of the Hocuspocus sync (hocuspocus.h, docsync.h) for a local
 * workspace session: which frames to send and what to do with the frames received. Pure: no
 * sockets; the transport (the CLI's websocket) hands in every frame received and is given
 * the frames to send through a callback, so tests drive it against the server's hub.
 *
 * One connection carries the workspace document and every body document of workspace `wid`
 * (multiplexed by their wire names). Per document:
 *   1. AUTH with the token (at most `window` documents wait for their answer at once: the
 *      server queues at most 100 documents before authentication);
 *   2. on AUTHENTICATED, SYNC step 1 (our state vector); the server answers with step 2
 *      (what we lack: applied to the session's documents, its entries marked changed) and
 *      its own step 1, which we answer with step 2 (what it lacks, by state vector);
 *   3. from then on the document is live: updates relayed by the server are applied as
 *      they come, and local changes are sent with dx_sync_peer_push.
 * Every step 2 and update we send is acknowledged by the server (SYNC_STATUS 1) once it is
 * stored; dx_sync_peer_synced says when every document is live and nothing sent waits for
 * its acknowledgement. Documents found in the workspace document (an entry created on
 * another device) are subscribed as they appear.
 *
 * Received updates are applied to the documents in memory; dx_sync_peer_settle stores them
 * and writes the changed files (a session round), and moves the store's acknowledgement
 * mark (DX_SYNC_META_ACKED) when everything stored is known to be on the server.
 *
 * Epochs: after authentication the server may send a STATELESS `{"type":"epoch","epoch":N}`.
 * The first epoch seen is recorded (DX_SYNC_META_EPOCH); a higher one than recorded means
 * the server's CRDT was rebuilt: the peer stops answering (nothing of the old history may
 * reach the new one) and dx_sync_peer_receive returns DX_ECONFLICT with
 * dx_sync_peer_reset_needed true; the caller then runs dx_sync_reset. */
#ifndef DX_SYNCPEER_H
#define DX_SYNCPEER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "diaryx/error.h"
#include "diaryx/session.h"
#include "diaryx/strmap.h"
#include "diaryx/uuid.h"

/* Store meta keys of a linked workspace. */
#define DX_SYNC_META_SERVER    "sync_server"    /* the server URL it is linked on */
#define DX_SYNC_META_WORKSPACE "sync_workspace" /* the server's workspace id */
#define DX_SYNC_META_EPOCH     "sync_epoch"     /* the server epoch the CRDT belongs to */
#define DX_SYNC_META_LAST      "sync_last_ms"   /* when the last exchange completed */
/* DX_STORE_META_SYNC_ACKED (crdt_store.h): every update up to this id is on the server. */

#define DX_SYNC_WINDOW 64 /* documents waiting for their AUTH answer at once */

/* Send one frame (copied by the callee); nonzero: the connection is gone. */
typedef int (*dx_sync_send_fn)(void *ud, const uint8_t *frame, size_t len);

typedef struct dx_sync_peer_opts {
    const char *wid;   /* the server's workspace id */
    const char *token; /* copied */
    dx_sync_send_fn send;
    void *ud;
    size_t window; /* 0: DX_SYNC_WINDOW */
} dx_sync_peer_opts;

typedef struct dx_sync_counts {
    size_t docs;       /* documents subscribed */
    size_t sent;       /* step 2 and update frames sent */
    size_t received;   /* step 2 and update frames received and applied */
    size_t bytes_sent; /* bytes of all frames */
    size_t bytes_received;
} dx_sync_counts;

typedef struct dx_sync_peer dx_sync_peer;

/* A peer over session s, or over docset ds alone when s is NULL (a download into a
 * directory that holds no workspace yet: settling then only stores); lent, they must outlive
 * the peer. DX_EINVAL for a wid that is no UUID. */
int dx_sync_peer_new(dx_docset *ds, dx_session *s, const dx_sync_peer_opts *o, dx_sync_peer **out,
                     dx_error *err);
void dx_sync_peer_free(dx_sync_peer *p); /* accepts NULL */

/* A new connection is open: every document starts again from AUTH (the workspace document,
 * every document of the store and every entry's body). */
int dx_sync_peer_connect(dx_sync_peer *p, dx_error *err);

/* One frame from the server. DX_EPARSE (a frame that does not decode, an update that does
 * not apply: the caller closes the connection, nothing of it was applied), DX_EAUTH (a
 * document refused: a bad or expired token, another user's workspace), DX_ECONFLICT (an
 * update refused, a document closed by the server, or a reset is needed), DX_ENOMEM, or the
 * send callback's failure as DX_EIO. */
int dx_sync_peer_receive(dx_sync_peer *p, const uint8_t *frame, size_t len, dx_error *err);

/* Every document live and every frame we sent acknowledged. */
bool dx_sync_peer_synced(const dx_sync_peer *p);
/* Whether updates were received since the last settle (files to write). */
bool dx_sync_peer_unsettled(const dx_sync_peer *p);

/* Store what was received and write the changed files (one session round, which also takes
 * in what other diaryx processes stored); move the acknowledgement mark when nothing local
 * is left unsent. stats may be NULL. On failure the session must be closed. */
int dx_sync_peer_settle(dx_sync_peer *p, dx_session_stats *stats, dx_error *err);

/* Send the local changes stored since the last push (documents changed in the store) to the
 * live documents, and subscribe documents the server has not seen yet (a new entry). */
int dx_sync_peer_push(dx_sync_peer *p, dx_error *err);

/* Whether the local store holds updates after the acknowledgement mark. */
bool dx_sync_peer_pending(const dx_sync_peer *p);

bool dx_sync_peer_reset_needed(const dx_sync_peer *p);
/* The epoch the server announced on this connection (-1: none). */
int64_t dx_sync_peer_epoch(const dx_sync_peer *p);
const dx_sync_counts *dx_sync_peer_counts(const dx_sync_peer *p);

/* Whether an epoch announced by the server asks for a reset of a CRDT recorded at epoch
 * `recorded` (-1: none recorded yet, which never resets: the first epoch is recorded). */
bool dx_sync_epoch_resets(int64_t recorded, int64_t announced);

/* Updates stored after the acknowledgement mark (unsent or unacknowledged). */
int dx_sync_unsent(dx_crdt_store *st, size_t *n, dx_error *err);

/* ---- reset: replace the local CRDT with the server's, keeping local text ----
 * 1. dx_sync_reset_begin: remember the bytes of every recorded file (path -> dx_buf *, as on
 *    disk, so edits not yet taken in count too), then delete every document of the store
 *    (their file records stay) and record epoch `epoch`. The session must be closed by the
 *    caller afterwards and opened again (its documents in memory are the old CRDT).
 * 2. a normal sync on a new session downloads the server's state and writes its files;
 * 3. dx_sync_reset_finish: every remembered file whose bytes differ from the disk now is
 *    written back (a file whose entry the server does not have loses its record, so that it
 *    is imported as a new entry); the caller closes the session and opens it again, which
 *    takes them in as edits of the server's state, and a sync sends them. */
int dx_sync_reset_begin(dx_session *s, int64_t epoch, dx_strmap *saved, dx_error *err);
int dx_sync_reset_finish(dx_session *s, dx_strmap *saved, dx_error *err);
/* Free the remembered files (accepts an empty map). */
void dx_sync_saved_release(dx_strmap *saved);

#endif
