/* accounts.h - the server's accounts database (`DATA/accounts.db`, SQLite): users and their
 * plans, tokens (only their SHA-256 is stored), the devices signed in by a magic link, the
 * links themselves, and the workspaces each user owns.
 *
 * Schema (PRAGMA user_version 2; a version 1 file gains tokens.device_id when opened):
 *   users(id INTEGER PRIMARY KEY, email TEXT UNIQUE, plan TEXT 'free'|'sync', created_at ms)
 *   devices(id TEXT PRIMARY KEY (UUID v4), user_id, name TEXT, created_at ms)
 *   tokens(hash TEXT PRIMARY KEY (SHA-256 hex), user_id, device TEXT, created_at ms,
 *          expires_at ms (0: never), readonly 0|1, device_id (a session's device; NULL for
 *          the admin command's API tokens))
 *   links(hash TEXT PRIMARY KEY (SHA-256 hex of a sign-in link's token), email, created_at ms,
 *         expires_at ms, used_at ms (0: not used)); kept an hour for the rate limit
 *   workspaces(id TEXT PRIMARY KEY (UUID v4), owner INTEGER, name TEXT, created_at ms) */
#ifndef DX_SERVER_ACCOUNTS_H
#define DX_SERVER_ACCOUNTS_H

#include <stdbool.h>
#include <stdint.h>

#include "diaryx/buf.h"
#include "diaryx/error.h"
#include "diaryx/hash.h"
#include "diaryx/uuid.h"

typedef struct srv_accounts srv_accounts;
struct json_t;

int srv_accounts_open(const char *path, srv_accounts **out, dx_error *err);
void srv_accounts_close(srv_accounts *a);

/* A new user (DX_EEXIST when the email has one). plan: "free" or "sync". */
int srv_user_add(srv_accounts *a, const char *email, const char *plan, dx_error *err);
int srv_user_plan(srv_accounts *a, const char *email, const char *plan, dx_error *err);
/* The user id of email, or DX_ENOTFOUND. */
int srv_user_find(srv_accounts *a, const char *email, int64_t *id, dx_error *err);

#define SRV_TOKEN_LEN 43  /* characters of a token: 32 random bytes in base64url */
#define SRV_EMAIL_MAX 254 /* bytes of an email address */

/* A new API token for the user of email (SRV_TOKEN_LEN characters), appended to out; only
 * its SHA-256 is kept. It never expires. A read-only token syncs documents down but changes
 * nothing (its updates are refused, its HTTP requests may only read). */
int srv_token_new(srv_accounts *a, const char *email, const char *device, bool readonly,
                  dx_buf *out, dx_error *err);

/* What a valid token is. */
typedef struct srv_token_info {
    int64_t user;
    bool readonly;
    char hash[DX_SHA256_HEX];        /* its SHA-256, which names it in the database */
    char device_id[DX_UUID_LEN + 1]; /* a session's device; "" for an API token */
    int64_t expires_at;              /* ms; 0: never (API tokens) */
} srv_token_info;
/* The token's user and device, or DX_EAUTH when it is unknown, revoked or expired. */
int srv_token_check(srv_accounts *a, const char *token, size_t len, srv_token_info *out,
                    dx_error *err);
/* The user a token belongs to and whether it may only read (0), or DX_EAUTH when it is
 * unknown or expired. */
int srv_token_user(srv_accounts *a, const char *token, size_t len, int64_t *user, bool *readonly,
                   dx_error *err);

/* A new sign-in link token for email (already checked and lower-cased by the caller), valid
 * ttl_ms, into tok; only its SHA-256 is stored. DX_ELIMIT when per_hour links were made for
 * email in the last hour: *retry_after_s then says when the next one may be asked for. The
 * users table is not read: the answer is the same whether the address has an account. */
int srv_link_new(srv_accounts *a, const char *email, int64_t ttl_ms, int per_hour,
                 char tok[SRV_TOKEN_LEN + 1], int64_t *retry_after_s, dx_error *err);

/* A sign-in: the session token, its user and its device. */
typedef struct srv_signin {
    char token[SRV_TOKEN_LEN + 1];
    int64_t user;
    char email[SRV_EMAIL_MAX + 1];
    char plan[8];
    char device_id[DX_UUID_LEN + 1];
} srv_signin;
/* Use a sign-in link (once): the user of its email (created on the free plan when there is
 * none), a new device named device_name and a session token bound to it, valid session_ms.
 * DX_EAUTH, with a message saying which, for a link that is unknown, used or expired. One
 * transaction; expired sessions and the devices left without one are removed on the way. */
int srv_link_use(srv_accounts *a, const char *link, size_t len, const char *device_name,
                 int64_t session_ms, srv_signin *out, dx_error *err);

/* {user: {email, plan}, device: {id, name} | null, expires_at: ms | null, read_only} of a
 * checked token (new reference in *out). */
int srv_me_json(srv_accounts *a, const srv_token_info *t, struct json_t **out, dx_error *err);
/* Revoke the token (sign out); a session's device goes with its last session. */
int srv_token_revoke(srv_accounts *a, const srv_token_info *t, dx_error *err);
/* The signed-in devices of user, [{id, name, created_at, current}] (current: its id is
 * current, which may be NULL), a new reference; NULL when out of memory or the database
 * fails (err says which). */
struct json_t *srv_devices_json(srv_accounts *a, int64_t user, const char *current, dx_error *err);
/* Sign device_id of user out: its sessions are revoked and it is forgotten. DX_ENOTFOUND
 * when user has no such device (another user's device included). */
int srv_device_revoke(srv_accounts *a, int64_t user, const char *device_id, dx_error *err);

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
