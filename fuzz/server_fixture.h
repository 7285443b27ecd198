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

static void server_fixture_start(server_fixture *f, const char *name)
{
    static char dir[64];
    dx_error err = DX_ERROR_INIT;
    dx_buf t = DX_BUF_INIT;
    char path[128];
    snprintf(dir, sizeof dir, "/tmp/dx-fuzz-%s-XXXXXX", name);
    if (!mkdtemp(dir))
        abort();
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
