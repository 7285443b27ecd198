/* accounts.h - the server's accounts database (`DATA/accounts.db`, SQLite): users and their
 * plans, API tokens (only their SHA-256 is stored), and the workspaces each user owns.
 *
 * Schema (PRAGMA user_version 1):
 *   users(id INTEGER PRIMARY KEY, email TEXT UNIQUE, plan TEXT 'free'|'sync', created_at ms)
 *   tokens(hash TEXT PRIMARY KEY (SHA-256 hex), user_id, device TEXT, created_at ms,
 *          expires_at ms (0: never), readonly 0|1)
 *   workspaces(id TEXT PRIMARY KEY (UUID v4), owner INTEGER, name TEXT, created_at ms) */
#ifndef DX_SERVER_ACCOUNTS_H
#define DX_SERVER_ACCOUNTS_H

#include <stdbool.h>
#include <stdint.h>

#include "diaryx/buf.h"
#include "diaryx/error.h"
#include "diaryx/uuid.h"

typedef struct srv_accounts srv_accounts;

int srv_accounts_open(const char *path, srv_accounts **out, dx_error *err);
void srv_accounts_close(srv_accounts *a);

/* A new user (DX_EEXIST when the email has one). plan: "free" or "sync". */
int srv_user_add(srv_accounts *a, const char *email, const char *plan, dx_error *err);
int srv_user_plan(srv_accounts *a, const char *email, const char *plan, dx_error *err);
/* The user id of email, or DX_ENOTFOUND. */
int srv_user_find(srv_accounts *a, const char *email, int64_t *id, dx_error *err);

/* A new API token for the user of email (43 characters of base64url, 32 random bytes),
 * appended to out; only its SHA-256 is kept. A read-only token syncs documents down but
 * changes nothing (its updates are refused, its HTTP requests may only read). */
int srv_token_new(srv_accounts *a, const char *email, const char *device, bool readonly,
                  dx_buf *out, dx_error *err);
/* The user a token belongs to and whether it may only read (0), or DX_EAUTH when it is
 * unknown or expired. */
int srv_token_user(srv_accounts *a, const char *token, size_t len, int64_t *user, bool *readonly,
                   dx_error *err);

/* A new workspace of the user of email: its id goes to out. */
int srv_workspace_add(srv_accounts *a, const char *email, const char *name,
                      char out[DX_UUID_LEN + 1], dx_error *err);
/* Whether user owns workspace wid. */
bool srv_workspace_owned(srv_accounts *a, int64_t user, const char *wid);
/* Whether workspace wid belongs to a user on the sync plan (git history is a sync feature). */
bool srv_workspace_plan_sync(srv_accounts *a, const char *wid);
/* "id<TAB>name\n" for each workspace of the user of email, appended to out. */
int srv_workspace_list(srv_accounts *a, const char *email, dx_buf *out, dx_error *err);

/* The workspaces of user as a JSON array of {id, name} (new reference), NULL when out of
 * memory or the database fails (err says which). */
struct json_t *srv_workspaces_json(srv_accounts *a, int64_t user, dx_error *err);
/* Workspace wid of user as {id, name}: DX_ENOTFOUND when it is not the user's. */
int srv_workspace_get(srv_accounts *a, int64_t user, const char *wid, struct json_t **out,
                      dx_error *err);
/* A new workspace of user (by id). */
int srv_workspace_create(srv_accounts *a, int64_t user, const char *name, char out[DX_UUID_LEN + 1],
                         dx_error *err);
int srv_workspace_rename(srv_accounts *a, int64_t user, const char *wid, const char *name,
                         dx_error *err);
/* Forget workspace wid of user (DX_ENOTFOUND when not the user's); its files are the
 * caller's to remove. */
int srv_workspace_delete(srv_accounts *a, int64_t user, const char *wid, dx_error *err);

#endif
