/* jobs.c - the server's worker pool: jobs per key, one at a time per key (see jobs.h). */
#include "jobs.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef enum { JOB_QUEUED, JOB_RUNNING, JOB_DONE } job_state;

typedef struct job {
    struct job *next;
    char key[SRV_JOB_KEY_MAX];
    srv_job_run_fn run;
    srv_job_done_fn done;
    void *ud;
    job_state state;
} job;

struct srv_jobs {
    pthread_mutex_t mu;
    pthread_cond_t work; /* a job was queued or the pool stops */
    pthread_cond_t idle; /* a job finished */
    pthread_t *threads;
    size_t n_threads;
    job *head, *tail;           /* every job not yet handed to srv_jobs_finish, in submit order */
    job *done_head, *done_tail; /* finished, in the order they finished */
    size_t count;
    bool stopping;
    void (*wake)(void *);
    void *wake_ud;
};

static bool key_running(const srv_jobs *j, const char *key)
{
    for (const job *x = j->head; x; x = x->next)
        if (x->state == JOB_RUNNING && !strcmp(x->key, key))
            return true;
    return false;
}

/* The first queued job whose key has no job running (NULL: none). */
static job *next_job(srv_jobs *j)
{
    for (job *x = j->head; x; x = x->next) {
        if (x->state != JOB_QUEUED)
            continue;
        bool earlier = false; /* an earlier queued job of the key goes first */
        for (job *y = j->head; y != x && !earlier; y = y->next)
            earlier = y->state == JOB_QUEUED && !strcmp(y->key, x->key);
        if (!earlier && !key_running(j, x->key))
            return x;
    }
    return NULL;
}

static void unlink_job(srv_jobs *j, job *x)
{
    job **pp = &j->head, *prev = NULL;
    while (*pp && *pp != x) {
        prev = *pp;
        pp = &(*pp)->next;
    }
    if (!*pp)
        return;
    *pp = x->next;
    if (j->tail == x)
        j->tail = prev;
    x->next = NULL;
}

static void *worker(void *arg)
{
    srv_jobs *j = arg;
    pthread_mutex_lock(&j->mu);
    for (;;) {
        job *x = NULL;
        while (!j->stopping && !(x = next_job(j)))
            pthread_cond_wait(&j->work, &j->mu);
        if (!x)
            break;
        x->state = JOB_RUNNING;
        pthread_mutex_unlock(&j->mu);
        x->run(x->ud);
        pthread_mutex_lock(&j->mu);
        x->state = JOB_DONE;
        unlink_job(j, x);
        if (j->done_tail)
            j->done_tail->next = x;
        else
            j->done_head = x;
        j->done_tail = x;
        pthread_cond_broadcast(&j->work); /* a job of the same key may go now */
        pthread_cond_broadcast(&j->idle);
        if (j->wake) {
            pthread_mutex_unlock(&j->mu);
            j->wake(j->wake_ud);
            pthread_mutex_lock(&j->mu);
        }
    }
    pthread_mutex_unlock(&j->mu);
    return NULL;
}

int srv_jobs_new(size_t workers, void (*wake)(void *), void *wake_ud, srv_jobs **out, dx_error *err)
{
    srv_jobs *j = calloc(1, sizeof *j);
    if (workers < 1)
        workers = 1;
    if (!j || !(j->threads = calloc(workers, sizeof *j->threads))) {
        free(j);
        return dx_error_set(err, DX_ENOMEM, "out of memory");
    }
    pthread_mutex_init(&j->mu, NULL);
    pthread_cond_init(&j->work, NULL);
    pthread_cond_init(&j->idle, NULL);
    j->wake = wake;
    j->wake_ud = wake_ud;
    for (; j->n_threads < workers; j->n_threads++) {
        int e = pthread_create(&j->threads[j->n_threads], NULL, worker, j);
        if (e) {
            srv_jobs_stop(j, 0);
            srv_jobs_free(j);
            return dx_error_set(err, DX_EIO, "cannot start a worker thread: %s", strerror(e));
        }
    }
    *out = j;
    return 0;
}

int srv_jobs_submit(srv_jobs *j, const char *key, srv_job_run_fn run, srv_job_done_fn done,
                    void *ud, dx_error *err)
{
    if (!j) {
        run(ud);
        done(ud, true);
        return 0;
    }
    job *x = calloc(1, sizeof *x);
    if (!x)
        return dx_error_set(err, DX_ENOMEM, "out of memory");
    snprintf(x->key, sizeof x->key, "%s", key);
    x->run = run;
    x->done = done;
    x->ud = ud;
    pthread_mutex_lock(&j->mu);
    if (j->stopping) {
        pthread_mutex_unlock(&j->mu);
        free(x);
        return dx_error_set(err, DX_EINVAL, "the server is stopping; try again after its restart");
    }
    if (j->tail)
        j->tail->next = x;
    else
        j->head = x;
    j->tail = x;
    j->count++;
    pthread_cond_signal(&j->work);
    pthread_mutex_unlock(&j->mu);
    return 0;
}

size_t srv_jobs_finish(srv_jobs *j)
{
    size_t n = 0;
    for (;;) {
        pthread_mutex_lock(&j->mu);
        job *x = j->done_head;
        if (x) {
            j->done_head = x->next;
            if (!j->done_head)
                j->done_tail = NULL;
        }
        pthread_mutex_unlock(&j->mu);
        if (!x)
            return n;
        /* Counted until its done ran, so srv_jobs_busy holds across it. */
        x->done(x->ud, true);
        pthread_mutex_lock(&j->mu);
        j->count--;
        pthread_mutex_unlock(&j->mu);
        free(x);
        n++;
    }
}

bool srv_jobs_busy(srv_jobs *j, const char *key)
{
    bool busy = false;
    if (!j)
        return false;
    pthread_mutex_lock(&j->mu);
    for (const job *x = j->head; x && !busy; x = x->next)
        busy = !strcmp(x->key, key);
    for (const job *x = j->done_head; x && !busy; x = x->next)
        busy = !strcmp(x->key, key);
    pthread_mutex_unlock(&j->mu);
    return busy;
}

size_t srv_jobs_count(srv_jobs *j)
{
    if (!j)
        return 0;
    pthread_mutex_lock(&j->mu);
    size_t n = j->count;
    pthread_mutex_unlock(&j->mu);
    return n;
}

bool srv_jobs_stop(srv_jobs *j, int64_t wait_ms)
{
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += wait_ms / 1000;
    until.tv_nsec += (wait_ms % 1000) * 1000000;
    if (until.tv_nsec >= 1000000000) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000;
    }
    pthread_mutex_lock(&j->mu);
    j->stopping = true;
    pthread_cond_broadcast(&j->work);
    /* The queued ones are dropped; the running ones are waited for. */
    job *dropped = NULL;
    for (job *x = j->head, *nx; x; x = nx) {
        nx = x->next;
        if (x->state == JOB_QUEUED) {
            unlink_job(j, x);
            x->next = dropped;
            dropped = x;
            j->count--;
        }
    }
    bool timed_out = false;
    while (j->head && !timed_out)
        timed_out = pthread_cond_timedwait(&j->idle, &j->mu, &until) == ETIMEDOUT;
    bool all = !j->head;
    pthread_mutex_unlock(&j->mu);
    while (dropped) {
        job *nx = dropped->next;
        dropped->done(dropped->ud, false);
        free(dropped);
        dropped = nx;
    }
    srv_jobs_finish(j);
    if (all)
        for (size_t i = 0; i < j->n_threads; i++)
            pthread_join(j->threads[i], NULL);
    if (all)
        j->n_threads = 0;
    return all;
}

void srv_jobs_free(srv_jobs *j)
{
    if (!j)
        return;
    pthread_mutex_destroy(&j->mu);
    pthread_cond_destroy(&j->work);
    pthread_cond_destroy(&j->idle);
    free(j->threads);
    free(j);
}
