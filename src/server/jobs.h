/* jobs.h - the server's worker pool: work that may take long (git commits, restores, reads of
 * the history) runs on a few threads while the event loop keeps serving.
 *
 * A job is a run function (on a worker thread) and a done function (on the loop thread, from
 * srv_jobs_finish). Jobs with the same key (a workspace id) never run at the same time: a job
 * waits while another of its key runs, and they run in the order they were submitted. The
 * run function must not touch what the loop uses (the hub's docsets and stores, connections):
 * it opens its own handles; what it leaves for the loop (results, a response) goes through
 * its ud to the done function, which may use everything.
 *
 * The loop learns that jobs finished through the wake callback, called on the worker thread
 * after each job (libwebsockets: lws_cancel_service, then srv_jobs_finish from the loop's
 * LWS_CALLBACK_EVENT_WAIT_CANCELLED). Without a pool (srv_jobs_submit with j NULL) a job runs
 * inline: run, then done, before submit returns (the fuzz targets and unit tests). */
#ifndef DX_SERVER_JOBS_H
#define DX_SERVER_JOBS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "diaryx/error.h"

#define SRV_JOB_KEY_MAX 64

typedef struct srv_jobs srv_jobs;

typedef void (*srv_job_run_fn)(void *ud);
/* ran false: the pool stopped before the job ran (only free ud). */
typedef void (*srv_job_done_fn)(void *ud, bool ran);

/* A pool of `workers` threads (at least 1). wake (may be NULL) is called on a worker thread
 * whenever a job finished. DX_ENOMEM, or DX_EIO when a thread cannot be started. */
int srv_jobs_new(size_t workers, void (*wake)(void *), void *wake_ud, srv_jobs **out,
                 dx_error *err);

/* Queue a job under key (at most SRV_JOB_KEY_MAX - 1 bytes). j NULL: run it now, inline.
 * DX_ENOMEM (nothing was queued: the caller still owns ud), DX_EINVAL after srv_jobs_stop. */
int srv_jobs_submit(srv_jobs *j, const char *key, srv_job_run_fn run, srv_job_done_fn done,
                    void *ud, dx_error *err);

/* On the loop: call the done function of every job finished since the last call, in the
 * order they finished. Returns how many. */
size_t srv_jobs_finish(srv_jobs *j);

/* Whether a job of key is queued or running (or finished and its done not called yet). */
bool srv_jobs_busy(srv_jobs *j, const char *key);
/* Jobs queued, running or waiting for their done. */
size_t srv_jobs_count(srv_jobs *j);

/* Stop: queued jobs that have not started are dropped (done with ran false), and the running
 * ones get wait_ms to end, their done then called. Returns true when none is left running;
 * false: some still run, and the pool must not be freed (the process exits around them). */
bool srv_jobs_stop(srv_jobs *j, int64_t wait_ms);
/* After a srv_jobs_stop that returned true. Accepts NULL. */
void srv_jobs_free(srv_jobs *j);

#endif
