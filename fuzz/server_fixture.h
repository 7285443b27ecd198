/* server_fixture.h - what the server's fuzz targets start from (included by them, not a
 * target): a data directory under /tmp with a sync-plan user, an API token and a workspace,
 * its accounts and a hub. Any failure aborts: a fuzz run without it would test nothing. */
#ifndef DX_FUZZ_SERVER_FIXTURE_H
#define DX_FUZZ_SERVER_FIXTURE_H

#include <stdio.h>
#include <stdlib.h>

#include "accounts.h"
#include "hub.h"

typedef struct server_fixture {
    srv_accounts *acc;
    srv_hub *hub;
    char token[64];
    char wid[DX_UUID_LEN + 1];
} server_fixture;

/* The fixture's directories go when the run ends (libFuzzer and the corpus replay both
 * leave through exit): a run left one under /tmp each time. */
static char fixture_dirs[4][64];

static void fixture_cleanup(void)
{
    char cmd[96 + sizeof fixture_dirs[0]];
    for (size_t i = 0; i < sizeof fixture_dirs / sizeof *fixture_dirs; i++)
        if (fixture_dirs[i][0]) { /* our own mkdtemp name: no quote in it */
            snprintf(cmd, sizeof cmd, "rm -rf '%.63s'", fixture_dirs[i]);
            if (system(cmd) != 0)
                fprintf(stderr, "could not remove %s\n", fixture_dirs[i]);
        }
}

/* Make a directory /tmp/dx-fuzz-NAME-XXXXXX (into dir, 64 bytes) removed at exit. */
static void fixture_tmpdir(char dir[64], const char *name)
{
    static bool registered;
    snprintf(dir, 64, "/tmp/dx-fuzz-%s-XXXXXX", name);
    if (!mkdtemp(dir))
        abort();
    for (size_t i = 0; i < sizeof fixture_dirs / sizeof *fixture_dirs; i++)
        if (!fixture_dirs[i][0]) {
            snprintf(fixture_dirs[i], sizeof fixture_dirs[i], "%s", dir);
            break;
        }
    if (!registered && atexit(fixture_cleanup) == 0)
        registered = true;
}

static void server_fixture_start(server_fixture *f, const char *name)
{
    static char dir[64];
    dx_error err = DX_ERROR_INIT;
    dx_buf t = DX_BUF_INIT;
    char path[128];
    fixture_tmpdir(dir, name);
    snprintf(path, sizeof path, "%s/accounts.db", dir);
    if (srv_accounts_open(path, &f->acc, &err) || srv_hub_new(dir, f->acc, &f->hub, &err) ||
        srv_user_add(f->acc, "f@example.org", "sync", &err) ||
        srv_token_new(f->acc, "f@example.org", "fuzz", false, &t, &err) ||
        srv_workspace_add(f->acc, "f@example.org", "Fuzz", f->wid, &err))
        abort();
    snprintf(f->token, sizeof f->token, "%s", dx_buf_cstr(&t));
    dx_buf_release(&t);
}

#endif
