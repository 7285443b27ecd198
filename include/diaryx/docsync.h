/* docsync.h - a workspace's documents synced with remote peers: the documents' names on the
 * wire, and the handling of one peer's sync message (hocuspocus.h) against a docset. Pure:
 * no sockets; the server and the CLI's sync client put the transport around it.
 *
 * Names on the wire: "workspace:<workspace id>" is the workspace document ("workspace" in
 * the store) and "body:<workspace id>/<entry id>" an entry's body ("body/<entry id>"); both
 * ids are UUIDs, so a name can never reach anything but a document of that workspace.
 *
 * The handling follows @hocuspocus/server, with one difference on purpose: an update is
 * acknowledged (SYNC_STATUS 1) only once it is stored. dx_docsync_handle applies it to the
 * document and says so (`applied`); the caller stores the docset's updates
 * (dx_docset_flush in a store transaction), and only when that committed sends the
 * acknowledgement (dx_hp_put_status) and relays the update to the document's other peers
 * (dx_hp_put_sync with Y_SYNC_UPDATE). A peer whose connection ends before that has nothing
 * acknowledged, so nothing it was told is stored can be lost. */
#ifndef DX_DOCSYNC_H
#define DX_DOCSYNC_H

#include <stdbool.h>
#include <stddef.h>

#include "diaryx/buf.h"
#include "diaryx/docset.h"
#include "diaryx/error.h"
#include "diaryx/hocuspocus.h"
#include "diaryx/uuid.h"

#define DX_REMOTE_WORKSPACE "workspace:"
#define DX_REMOTE_BODY      "body:"

/* The workspace id and the store name of a document named on the wire (name_len bytes, not
 * NUL-terminated: a frame's name). DX_EINVAL with a message for any other name. */
int dx_docsync_local_name(const char *name, size_t name_len, char wid[DX_UUID_LEN + 1],
                          char local[DX_DOC_NAME_MAX], dx_error *err);
/* The wire name of store document local of workspace wid, appended to out (DX_EINVAL for a
 * local name that is not a workspace's document, DX_ENOMEM). */
int dx_docsync_remote_name(const char *wid, const char *local, dx_buf *out, dx_error *err);

/* What handling a message asks of the caller. */
typedef struct dx_docsync_result {
    /* The update was applied to the document: store the docset's updates, then acknowledge
     * and relay `update` to the document's other peers. */
    bool applied;
    /* Applying it changed the document. An update that holds nothing new (the step 2 of a
     * peer that has nothing the document lacks) is applied but changes nothing: acknowledge
     * it, but there is nothing to store or relay. */
    bool changed;
    const uint8_t *update; /* the update as the peer sent it (borrowed from the message) */
    size_t update_len;
} dx_docsync_result;

/* Handle a SYNC or SYNC_REPLY message m from a peer for store document local of ds. The
 * frames to send back to that peer at once are appended to reply[0] and reply[1], each its
 * own websocket message (an empty buffer: none), addressed as m was: for step 1, step 2 (what
 * the peer lacks) and, unless m was itself a reply, the document's own step 1 (as SYNC: the
 * stock provider ignores SYNC_REPLY); for a peer that may only read, the SYNC_STATUS that
 * refuses its update (or accepts a step 2 that holds nothing new). A malformed update changes
 * nothing: DX_EPARSE with a message (the caller closes the connection). */
#define DX_DOCSYNC_REPLIES 2
int dx_docsync_handle(dx_docset *ds, const char *local, const dx_hp_msg *m, bool readonly,
                      dx_buf reply[DX_DOCSYNC_REPLIES], dx_docsync_result *out, dx_error *err);

#endif
