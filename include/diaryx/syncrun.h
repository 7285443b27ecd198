/* syncrun.h - a workspace synced with the server over one websocket (syncpeer.h over
 * wsclient.h): one exchange (`diaryx sync now`), staying connected (`sync start`), and the
 * download of a server workspace into a directory that holds none yet. No CLI specifics:
 * progress goes to a log callback, the token is never written to it. */
#ifndef DX_SYNCRUN_H
#define DX_SYNCRUN_H

#include <signal.h>
#include <stdbool.h>

#include "diaryx/error.h"
#include "diaryx/syncpeer.h"

typedef struct dx_sync_run_opts {
    const char *url;   /* the websocket endpoint, ws://host:port/sync */
    const char *wid;   /* the server's workspace id */
    const char *token; /* an API or session token */
    const char *device;
    bool stay;      /* keep the connection: local edits out, remote edits in, reconnect */
    int timeout_ms; /* one exchange gives up after this long (0: 120 s) */
    int poll_ms;    /* staying: how often the files are checked for edits (0: 300 ms) */
    volatile sig_atomic_t *stop;            /* set by a signal handler: finish and return 0 */
    void (*log)(void *ud, const char *msg); /* progress lines (may be NULL) */
    void *log_ud;
} dx_sync_run_opts;

/* Sync the workspace at root (its session is opened and closed here). One exchange unless
 * o->stay. A reset asked for by the server (a higher epoch) is carried out on the way (see
 * syncpeer.h). counts (may be NULL) receives the last connection's figures. DX_EAUTH for a
 * refused token, DX_EIO when the server cannot be reached (one exchange) or the connection
 * broke, DX_EPARSE for a server that answers garbage (nothing of it is applied or stored). */
int dx_sync_run(const char *root, const dx_sync_run_opts *o, dx_sync_counts *counts, dx_error *err);

/* Download workspace o->wid into dir, which must hold no workspace yet (no .diaryx/crdt.db,
 * no markdown file): the documents are stored in dir/.diaryx/crdt.db and the files written
 * from them. */
int dx_sync_download(const char *dir, const dx_sync_run_opts *o, dx_sync_counts *counts,
                     dx_error *err);

#endif
