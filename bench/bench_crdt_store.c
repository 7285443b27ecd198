/* bench_crdt_store.c - the SQLite CRDT store: append latency (batched per transaction of
 * 1,000, and one update per transaction), loading a doc of 10,000 updates, compaction.
 * Usage: bench_crdt_store [DIR] (a scratch directory, default /tmp). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "diaryx/crdt_store.h"

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/bench-crdt-%d.db", argc > 1 ? argv[1] : "/tmp", (int)getpid());
    /* 10,000 real single-edit updates of a text. */
    enum { N = 10000 };
    uint8_t *u[N];
    size_t ul[N];
    y_doc_options o = Y_DOC_OPTIONS_INIT;
    o.client_id = 7;
    o.has_client_id = true;
    y_doc *d = NULL;
    y_doc_new(&d, &o);
    y_type *t = y_doc_get_text(d, "body");
    for (int i = 0; i < N; i++) {
        uint8_t *sv = NULL;
        size_t nsv;
        y_encode_state_vector(d, &sv, &nsv);
        y_text_insert(t, (uint32_t)(i % 50), "x", 1, NULL);
        y_encode_state_as_update(d, sv, nsv, &u[i], &ul[i]);
        y_free(sv);
    }
    dx_crdt_store *s = NULL;
    dx_error err = DX_ERROR_INIT;
    if (dx_store_open(path, &s, &err) != 0) {
        fprintf(stderr, "%s\n", err.msg);
        return 1;
    }
    double t0 = now();
    for (int b = 0; b < N / 1000; b++) {
        dx_store_begin(s, &err);
        for (int i = b * 1000; i < (b + 1) * 1000; i++)
            dx_store_append(s, "body/a", u[i], ul[i], "local", "bench", NULL, &err);
        dx_store_commit(s, &err);
    }
    double batched = now() - t0;
    printf("append, batched 1,000 per transaction: %.1f us/update (%d updates)\n",
           batched / N * 1e6, N);
    t0 = now();
    for (int i = 0; i < 1000; i++)
        dx_store_append(s, "body/b", u[i], ul[i], "local", "bench", NULL, &err);
    double single = now() - t0;
    printf("append, one transaction per update: %.1f us/update (1,000 updates)\n",
           single / 1000 * 1e6);
    y_doc *l = NULL;
    y_doc_new(&l, NULL);
    t0 = now();
    dx_store_load(s, "body/a", l, &err);
    printf("load a doc of %d updates: %.1f ms\n", N, (now() - t0) * 1e3);
    y_doc_free(l);
    t0 = now();
    dx_store_compact(s, "body/a", 50, &err);
    printf("compact it, keeping 50: %.1f ms\n", (now() - t0) * 1e3);
    y_doc_new(&l, NULL);
    t0 = now();
    dx_store_load(s, "body/a", l, &err);
    printf("load after compaction (snapshot + 50): %.2f ms\n", (now() - t0) * 1e3);
    y_doc_free(l);
    dx_store_close(s);
    y_doc_free(d);
    for (int i = 0; i < N; i++)
        y_free(u[i]);
    char cmd[8400];
    snprintf(cmd, sizeof cmd, "ls -l '%s'* | head -3; rm -f '%s'*", path, path);
    return system(cmd) == 0 ? 0 : 1;
}
