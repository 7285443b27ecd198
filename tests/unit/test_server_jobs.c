/* test_server_jobs.c - the server's worker pool: jobs of one key never overlap and run in
 * submit order, jobs of other keys run side by side, done runs on the caller's thread
 * (srv_jobs_finish) after the wake callback, busy holds until done ran, a pool without
 * threads runs a job inline, and a stop drops what has not started and waits for what runs. */
#include "test.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "jobs.h"

typedef struct shared {
    atomic_int running[2]; /* per key: jobs running now */
    atomic_int overlap;    /* a second job of a key ran while one did */
    atomic_int both;       /* jobs of the two keys ran at the same time */
    atomic_int wakes;
    pthread_mutex_t mu;
    int order[2][16]; /* per key: job numbers in the order they ran */
    int n[2];
} shared;

typedef struct job_ud {
    shared *sh;
    int key, num;
    int sleep_ms;
    int done_calls, ran;
    pthread_t done_thread;
} job_ud;

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static void run(void *ud)
{
    job_ud *j = ud;
    shared *sh = j->sh;
    if (atomic_fetch_add(&sh->running[j->key], 1) > 0)
        atomic_store(&sh->overlap, 1);
    if (atomic_load(&sh->running[1 - j->key]) > 0)
        atomic_store(&sh->both, 1);
    pthread_mutex_lock(&sh->mu);
    sh->order[j->key][sh->n[j->key]++] = j->num;
    pthread_mutex_unlock(&sh->mu);
    sleep_ms(j->sleep_ms);
    if (atomic_load(&sh->running[1 - j->key]) > 0)
        atomic_store(&sh->both, 1);
    atomic_fetch_sub(&sh->running[j->key], 1);
}

static void done(void *ud, bool ran)
{
    job_ud *j = ud;
    j->done_calls++;
    j->ran = ran;
    j->done_thread = pthread_self();
}

static void wake(void *ud)
{
    shared *sh = ud;
    atomic_fetch_add(&sh->wakes, 1);
}

/* Call srv_jobs_finish until want jobs were finished (5 s at most). */
static size_t finish_all(srv_jobs *j, size_t want)
{
    size_t got = 0;
    for (int t = 0; t < 500 && got < want; t++) {
        got += srv_jobs_finish(j);
        if (got < want)
            sleep_ms(10);
    }
    return got;
}

TEST(test_one_key_at_a_time_in_order_other_keys_in_parallel)
{
    shared sh = {0};
    pthread_mutex_init(&sh.mu, NULL);
    srv_jobs *j = NULL;
    dx_error err = DX_ERROR_INIT;
    CHECK_EQ_INT(srv_jobs_new(3, wake, &sh, &j, &err), 0);
    job_ud u[12];
    const char *keys[2] = {"ws-a", "ws-b"};
    for (int i = 0; i < 12; i++) {
        u[i] = (job_ud){&sh, i % 2, i, 30, 0, 0, 0};
        CHECK_EQ_INT(srv_jobs_submit(j, keys[i % 2], run, done, &u[i], &err), 0);
    }
    CHECK(srv_jobs_busy(j, "ws-a"));
    CHECK(!srv_jobs_busy(j, "ws-c"));
    CHECK_EQ_INT(finish_all(j, 12), 12);
    CHECK_EQ_INT(atomic_load(&sh.overlap), 0); /* never two of one key */
    CHECK_EQ_INT(atomic_load(&sh.both), 1);    /* but the two keys side by side */
    CHECK(atomic_load(&sh.wakes) >= 12);
    for (int k = 0; k < 2; k++) {
        CHECK_EQ_INT(sh.n[k], 6);
        for (int i = 0; i < 6; i++)
            CHECK_EQ_INT(sh.order[k][i], 2 * i + k); /* in the order submitted */
    }
    for (int i = 0; i < 12; i++) {
        CHECK_EQ_INT(u[i].done_calls, 1);
        CHECK(u[i].ran);
        CHECK(pthread_equal(u[i].done_thread, pthread_self())); /* on the loop's thread */
    }
    CHECK(!srv_jobs_busy(j, "ws-a"));
    CHECK_EQ_INT(srv_jobs_count(j), 0);
    CHECK(srv_jobs_stop(j, 1000));
    srv_jobs_free(j);
    pthread_mutex_destroy(&sh.mu);
}

/* A pool of one thread running job u (key "k"), once it started. */
static srv_jobs *one_running(shared *sh, job_ud *u)
{
    srv_jobs *j = NULL;
    pthread_mutex_init(&sh->mu, NULL);
    CHECK_EQ_INT(srv_jobs_new(1, NULL, NULL, &j, NULL), 0);
    CHECK_EQ_INT(srv_jobs_submit(j, "k", run, done, u, NULL), 0);
    for (int t = 0; t < 500 && atomic_load(&sh->running[0]) + u->done_calls == 0 && !sh->n[0]; t++)
        sleep_ms(5);
    return j;
}

TEST(test_busy_until_done_ran)
{
    shared sh = {0};
    job_ud u = {&sh, 0, 0, 0, 0, 0, 0};
    srv_jobs *j = one_running(&sh, &u);
    sleep_ms(50); /* it ran; its done has not */
    CHECK_EQ_INT(u.done_calls, 0);
    CHECK(srv_jobs_busy(j, "k"));
    CHECK_EQ_INT(srv_jobs_finish(j), 1);
    CHECK(!srv_jobs_busy(j, "k"));
    CHECK(srv_jobs_stop(j, 1000));
    srv_jobs_free(j);
    pthread_mutex_destroy(&sh.mu);
}

TEST(test_without_a_pool_a_job_runs_inline)
{
    shared sh = {0};
    pthread_mutex_init(&sh.mu, NULL);
    job_ud u = {&sh, 0, 7, 0, 0, 0, 0};
    CHECK_EQ_INT(srv_jobs_submit(NULL, "k", run, done, &u, NULL), 0);
    CHECK_EQ_INT(sh.n[0], 1);
    CHECK_EQ_INT(u.done_calls, 1);
    CHECK(u.ran);
    CHECK(!srv_jobs_busy(NULL, "k"));
    pthread_mutex_destroy(&sh.mu);
}

TEST(test_stop_drops_queued_and_waits_for_running)
{
    shared sh = {0};
    pthread_mutex_init(&sh.mu, NULL);
    srv_jobs *j = NULL;
    dx_error err = DX_ERROR_INIT;
    CHECK_EQ_INT(srv_jobs_new(1, NULL, NULL, &j, &err), 0);
    job_ud first = {&sh, 0, 0, 300, 0, 0, 0}, second = {&sh, 0, 1, 0, 0, 0, 0};
    CHECK_EQ_INT(srv_jobs_submit(j, "k", run, done, &first, &err), 0);
    CHECK_EQ_INT(srv_jobs_submit(j, "k", run, done, &second, &err), 0);
    for (int t = 0; t < 500 && sh.n[0] == 0; t++)
        sleep_ms(5);
    CHECK(srv_jobs_stop(j, 5000));
    CHECK_EQ_INT(first.done_calls, 1); /* it ran to its end */
    CHECK(first.ran);
    CHECK_EQ_INT(second.done_calls, 1); /* dropped, told so */
    CHECK(!second.ran);
    CHECK_EQ_INT(sh.n[0], 1);
    CHECK(srv_jobs_submit(j, "k", run, done, &second, &err) == DX_EINVAL);
    CHECK(strstr(err.msg, "stopping") != NULL);
    srv_jobs_free(j);
    pthread_mutex_destroy(&sh.mu);
}

TEST(test_stop_gives_up_after_its_wait)
{
    shared sh = {0};
    job_ud slow = {&sh, 0, 0, 600, 0, 0, 0};
    srv_jobs *j = one_running(&sh, &slow);
    CHECK(!srv_jobs_stop(j, 50));  /* still running: not freed */
    CHECK(srv_jobs_stop(j, 5000)); /* then it ends */
    CHECK_EQ_INT(slow.done_calls, 1);
    srv_jobs_free(j);
    pthread_mutex_destroy(&sh.mu);
}

int main(void)
{
    RUN(test_one_key_at_a_time_in_order_other_keys_in_parallel);
    RUN(test_busy_until_done_ran);
    RUN(test_without_a_pool_a_job_runs_inline);
    RUN(test_stop_drops_queued_and_waits_for_running);
    RUN(test_stop_gives_up_after_its_wait);
    return TEST_REPORT();
}
