/* hub.h - the server's sync hub: connections speaking the Hocuspocus protocol, the documents
 * they subscribe to, and the workspaces those belong to (one CRDT store and docset each,
 * loaded on the first subscription and unloaded when the last one ends). No sockets: the
 * transport hands in each received frame and is given the frames to send through callbacks,
 * so the hub runs the same behind libwebsockets and in a unit test.
 *
 * Per document address on a connection: frames before authentication are queued (at most
 * DX_HUB_QUEUE_BYTES and DX_HUB_QUEUE_FRAMES per connection, DX_HUB_PENDING_DOCS documents);
 * an AUTH token is checked against the accounts (unknown token, a name that is not a
 * document of a workspace, or a workspace of another user: PERMISSION_DENIED and the
 * document's state is forgotten), then AUTHENTICATED is sent and the queue replayed. An
 * update is acknowledged (SYNC_STATUS 1) only after the workspace's store committed it, then
 * relayed to the document's other subscribers. Awareness is relayed; when a subscription
 * ends, the others learn that its awareness clients left. */
#ifndef DX_SERVER_HUB_H
#define DX_SERVER_HUB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "accounts.h"
#include "diaryx/docset.h"
#include "diaryx/strmap.h"
#include "diaryx/error.h"

#define DX_HUB_QUEUE_BYTES  (5u << 20)
#define DX_HUB_QUEUE_FRAMES 1000
#define DX_HUB_PENDING_DOCS 100

typedef struct srv_hub srv_hub;
typedef struct srv_conn srv_conn;

/* The transport of one connection: send queues a frame (copied) for the peer (nonzero: the
 * connection is beyond saving); close asks for the connection to be closed with a websocket
 * close code and reason. */
typedef struct srv_transport {
    int (*send)(void *ud, const uint8_t *frame, size_t len);
    void (*close)(void *ud, int code, const char *reason);
    void *ud;
} srv_transport;

typedef struct srv_hub_stats {
    size_t connections, workspaces, documents, subscriptions;
} srv_hub_stats;

/* A hub keeping workspace stores under data_dir/workspaces/, checking tokens in acc (lent). */
int srv_hub_new(const char *data_dir, srv_accounts *acc, srv_hub **out, dx_error *err);
/* Every connection must be gone first. */
void srv_hub_free(srv_hub *h);
void srv_hub_stats_get(const srv_hub *h, srv_hub_stats *out);
/* Whether workspace wid is loaded (some client is subscribed to one of its documents). */
bool srv_hub_loaded(const srv_hub *h, const char *wid);
/* The path of a file of workspace wid: DATA/workspaces/<wid><suffix> (".db", ".git", ...)
 * into out (DX_EPATH when it does not fit). */
#define SRV_PATH_MAX 4096
int srv_hub_path(const srv_hub *h, const char *wid, const char *suffix, char out[SRV_PATH_MAX],
                 dx_error *err);
/* A store connection and docset of workspace wid of its own (*store is closed again on
 * failure), as a second process would open them: safe on a worker thread (it reads nothing
 * of h but the data directory), while the loop uses the hub's. */
int srv_hub_open_docs(const srv_hub *h, const char *wid, dx_crdt_store **store, dx_docset **ds,
                      dx_error *err);
/* Workspaces with updates not yet committed: when the first and the last came (ms), keyed
 * by wid (a hub_dirty*). Kept after a workspace is unloaded. */
typedef struct srv_dirty {
    int64_t first_ms, last_ms;
} srv_dirty;
const dx_strmap *srv_hub_dirty(const srv_hub *h);
/* Load at most n workspaces (0: no cap): loading one more closes the connections of the one
 * used longest ago. */
void srv_hub_set_max_workspaces(srv_hub *h, size_t n);
/* How many connections are subscribed to documents of workspace wid. */
size_t srv_hub_clients(const srv_hub *h, const char *wid);
/* Another writer (a restore on the worker pool) stored updates of wid: a loaded workspace
 * takes them in now and every subscriber receives what changed, as any update (a save of
 * the hub takes them in too, and relays them the same way). A failure closes the
 * workspace's connections (their clients reconnect to the stored state). */
int srv_hub_refresh(srv_hub *h, const char *wid, dx_error *err);
/* wid was rebuilt from git (a new epoch): the connections of a loaded one are closed with
 * 4205 (Reset); those holding the old state are refused when they come back. */
void srv_hub_rebuilt(srv_hub *h, const char *wid);

/* Epochs. A workspace's store holds its epoch (meta SRV_META_EPOCH, 0 when absent), which a
 * rebuild from git increments, and the client ids of every state a rebuild retired (meta
 * SRV_META_RETIRED, decimal ids separated by spaces). After authentication each client is
 * told the epoch (a Stateless message {"type":"epoch","epoch":N}); a sync step 1, step 2 or
 * update that carries a retired client id is not applied, and the connection is closed with
 * 4205 and a reason saying to discard the local copy. */
#define SRV_META_EPOCH   "epoch"
#define SRV_META_RETIRED "retired_clients"
/* The epoch and the retired ids (sorted, appended to *ids, *n; free *ids) of store st. */
int srv_epoch_read(dx_crdt_store *st, int64_t *epoch, uint64_t **ids, size_t *n, dx_error *err);
/* The client ids of a state vector (lib0 v1), appended to *ids, *n. DX_ENOMEM, DX_EPARSE. */
int srv_sv_clients(const uint8_t *sv, size_t len, uint64_t **ids, size_t *n);
/* Rebuilds. A job that may rebuild wid (srv_hub_may_rebuild: no client is connected and the
 * failed checks the jobs reported, srv_hub_set_failures, would reach the third with one
 * more) holds it while it runs: a subscription to it waits, its frames queued, and is
 * authenticated by srv_hub_unhold, against what the job left. So no client loads the state
 * that the rebuild replaces. (After a restart the count starts at 0: the rebuild comes one
 * failed commit later.) */
void srv_hub_hold(srv_hub *h, const char *wid);
void srv_hub_unhold(srv_hub *h, const char *wid);
size_t srv_hub_failures(const srv_hub *h, const char *wid);
void srv_hub_set_failures(srv_hub *h, const char *wid, size_t n);
bool srv_hub_may_rebuild(const srv_hub *h, const char *wid);
/* An auto-commit of wid failed: try again after another quiescence period. */
void srv_hub_retry_later(srv_hub *h, const char *wid, int64_t now_ms);
/* Forget that wid is dirty (it was committed) unless an update came after since_ms. */
void srv_hub_committed(srv_hub *h, const char *wid, int64_t since_ms);

srv_conn *srv_conn_new(srv_hub *h, const srv_transport *t);
/* The connection ended (closed by either side): its subscriptions end. Accepts NULL. */
void srv_conn_free(srv_conn *c);
/* Whether a document of the connection was ever authenticated (before that, its idle time
 * counts from when it opened, however much it sends). */
bool srv_conn_authenticated(const srv_conn *c);
/* One frame the peer sent. Nonzero when the connection must close (the transport's close
 * was called with the code and reason). */
int srv_conn_receive(srv_conn *c, const uint8_t *frame, size_t len);

#endif
