/* test_server_auth.c - sign-in below the HTTP layer: addresses checked and lower-cased, the
 * mail as SMTP carries it, links used once and expiring, the rate limit with its wait, the
 * account made by the first link, sessions bound to devices (expiry, logout, revocation,
 * another user's device), API tokens unchanged, and a version 1 accounts file upgraded. */
#include "test.h"

#include <arpa/inet.h>
#include <jansson.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "accounts.h"
#include "auth.h"
#include "diaryx/clock.h"
#include "mail.h"

static char dir[64];

static srv_accounts *open_fresh(void)
{
    char path[128];
    snprintf(dir, sizeof dir, "/tmp/dx-test-auth-XXXXXX");
    srv_accounts *a = NULL;
    if (!mkdtemp(dir))
        return NULL;
    snprintf(path, sizeof path, "%s/accounts.db", dir);
    dx_error err = DX_ERROR_INIT;
    if (srv_accounts_open(path, &a, &err))
        TEST_FAILF("open: %s", err.msg);
    return a;
}

static void remove_dir(void)
{
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "cannot remove %s\n", dir);
}

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

TEST(test_email_checked_and_lower_cased)
{
    char out[SRV_EMAIL_MAX + 1];
    dx_error err = DX_ERROR_INIT;
    CHECK_EQ_INT(srv_auth_email("  Alice@Example.ORG ", out, &err), 0);
    CHECK_EQ_STR(out, "alice@example.org");
    static const char *const bad[] = {"",
                                      "a",
                                      "@example.org",
                                      "alice@",
                                      "a@b@c.org",
                                      "a b@c.org",
                                      "a@b.org\r\nBcc: x@y.org",
                                      "<a@b.org>",
                                      "a,b@c.org",
                                      "\"a\"@b.org"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        err = (dx_error)DX_ERROR_INIT;
        CHECK_EQ_INT(srv_auth_email(bad[i], out, &err), DX_EINVAL);
        CHECK(strstr(err.msg, "is not an email address") != NULL);
    }
    char longest[SRV_EMAIL_MAX + 2];
    memset(longest, 'a', sizeof longest - 1);
    longest[sizeof longest - 1] = 0;
    memcpy(longest + SRV_EMAIL_MAX - 8, "@x.org", 7); /* 252 bytes: fits */
    CHECK_EQ_INT(srv_auth_email(longest, out, &err), 0);
    memset(longest, 'a', sizeof longest - 1);
    memcpy(longest + SRV_EMAIL_MAX - 5, "@x.org", 6); /* 255 bytes: too long */
    CHECK_EQ_INT(srv_auth_email(longest, out, &err), DX_EINVAL);
}

TEST(test_mail_has_its_headers_and_crlf_lines)
{
    dx_buf b = DX_BUF_INIT;
    srv_mail_format("Diaryx <signin@example.org>", "alice@example.org", "Sign in",
                    "line one\n.dot line\nlast", 1764806400000LL, &b);
    CHECK_EQ_INT(dx_buf_error(&b), 0);
    const char *m = dx_buf_cstr(&b);
    CHECK(strstr(m, "Date: Thu, 04 Dec 2025 00:00:00 +0000\r\n") != NULL);
    CHECK(strstr(m, "From: Diaryx <signin@example.org>\r\n") != NULL);
    CHECK(strstr(m, "To: <alice@example.org>\r\n") != NULL);
    CHECK(strstr(m, "Subject: Sign in\r\n") != NULL);
    CHECK(strstr(m, "@example.org>\r\nMIME-Version: 1.0\r\n") != NULL); /* Message-ID's domain */
    CHECK(strstr(m, "charset=utf-8\r\n") != NULL);
    CHECK(strstr(m, "\r\n\r\nline one\r\n.dot line\r\nlast\r\n") != NULL);
    dx_buf_release(&b);
}

TEST(test_link_works_once_then_says_why_not)
{
    srv_accounts *a = open_fresh();
    dx_error err = DX_ERROR_INIT;
    char tok[SRV_TOKEN_LEN + 1], old[SRV_TOKEN_LEN + 1];
    int64_t retry = 0;
    srv_signin s;
    CHECK_EQ_INT(srv_link_new(a, "new@example.org", 60000, 3, tok, &retry, &err), 0);
    CHECK_EQ_INT(strlen(tok), SRV_TOKEN_LEN);
    CHECK_EQ_INT(srv_user_find(a, "new@example.org", &s.user, NULL), DX_ENOTFOUND);
    CHECK_EQ_INT(srv_link_use(a, tok, strlen(tok), "laptop", 60000, &s, &err), 0);
    CHECK_EQ_STR(s.email, "new@example.org");
    CHECK_EQ_STR(s.plan, "free"); /* the account is made by the link */
    CHECK_EQ_INT(strlen(s.token), SRV_TOKEN_LEN);
    CHECK(dx_uuid_valid(s.device_id));
    CHECK_EQ_INT(srv_link_use(a, tok, strlen(tok), "again", 60000, &s, &err), DX_EAUTH);
    CHECK(strstr(err.msg, "used already") != NULL);
    memcpy(old, tok, sizeof old);
    CHECK_EQ_INT(srv_link_new(a, "new@example.org", 1, 3, tok, &retry, &err), 0);
    sleep_ms(5);
    CHECK_EQ_INT(srv_link_use(a, tok, strlen(tok), "late", 60000, &s, &err), DX_EAUTH);
    CHECK(strstr(err.msg, "expired") != NULL);
    old[0] = old[0] == 'A' ? 'B' : 'A';
    CHECK_EQ_INT(srv_link_use(a, old, strlen(old), "guess", 60000, &s, &err), DX_EAUTH);
    CHECK(strstr(err.msg, "not valid") != NULL);
    srv_accounts_close(a);
    remove_dir();
}

TEST(test_fourth_link_in_an_hour_waits)
{
    srv_accounts *a = open_fresh();
    dx_error err = DX_ERROR_INIT;
    char tok[SRV_TOKEN_LEN + 1];
    int64_t retry = 0;
    for (int i = 0; i < 3; i++)
        CHECK_EQ_INT(srv_link_new(a, "a@example.org", 60000, 3, tok, &retry, &err), 0);
    CHECK_EQ_INT(srv_link_new(a, "a@example.org", 60000, 3, tok, &retry, &err), DX_ELIMIT);
    CHECK(retry > 3590 && retry <= 3600);
    CHECK(strstr(err.msg, "try again in") != NULL);
    CHECK_EQ_INT(srv_link_new(a, "b@example.org", 60000, 3, tok, &retry, &err), 0);
    srv_accounts_close(a);
    remove_dir();
}

static int sign_in(srv_accounts *a, const char *email, const char *device, int64_t session_ms,
                   srv_signin *s)
{
    char tok[SRV_TOKEN_LEN + 1];
    int64_t retry;
    dx_error err = DX_ERROR_INIT;
    int rc = srv_link_new(a, email, 60000, 100, tok, &retry, &err);
    return rc ? rc : srv_link_use(a, tok, strlen(tok), device, session_ms, s, &err);
}

TEST(test_sessions_are_bound_to_devices)
{
    srv_accounts *a = open_fresh();
    dx_error err = DX_ERROR_INIT;
    srv_signin laptop, phone, bob;
    srv_token_info t;
    CHECK_EQ_INT(srv_user_add(a, "alice@example.org", "sync", &err), 0);
    CHECK_EQ_INT(sign_in(a, "ALICE@example.org", "laptop", 60000, &laptop), 0);
    CHECK_EQ_STR(laptop.plan, "sync"); /* the account of any case of the address */
    CHECK_EQ_INT(sign_in(a, "alice@example.org", "phone", 60000, &phone), 0);
    CHECK_EQ_INT(sign_in(a, "bob@example.org", "bobs", 60000, &bob), 0);
    CHECK_EQ_INT(srv_token_check(a, laptop.token, SRV_TOKEN_LEN, &t, &err), 0);
    CHECK_EQ_STR(t.device_id, laptop.device_id);
    CHECK(t.expires_at > dx_now_ms() && t.expires_at <= dx_now_ms() + 60000);
    json_t *list = srv_devices_json(a, laptop.user, t.device_id, &err);
    CHECK(list != NULL);
    CHECK_EQ_INT(json_array_size(list), 2);
    CHECK(json_is_true(json_object_get(json_array_get(list, 0), "current")));
    json_decref(list);
    /* Another user's device is not found, and stays signed in. */
    CHECK_EQ_INT(srv_device_revoke(a, bob.user, phone.device_id, &err), DX_ENOTFOUND);
    CHECK_EQ_INT(srv_token_check(a, phone.token, SRV_TOKEN_LEN, &t, &err), 0);
    CHECK_EQ_INT(srv_device_revoke(a, laptop.user, phone.device_id, &err), 0);
    CHECK_EQ_INT(srv_token_check(a, phone.token, SRV_TOKEN_LEN, &t, &err), DX_EAUTH);
    /* Logout revokes the session, and the device goes with it. */
    CHECK_EQ_INT(srv_token_check(a, laptop.token, SRV_TOKEN_LEN, &t, &err), 0);
    CHECK_EQ_INT(srv_token_revoke(a, &t, &err), 0);
    CHECK_EQ_INT(srv_token_check(a, laptop.token, SRV_TOKEN_LEN, &t, &err), DX_EAUTH);
    list = srv_devices_json(a, laptop.user, NULL, &err);
    CHECK_EQ_INT(json_array_size(list), 0);
    json_decref(list);
    /* API tokens: no device, no expiry. */
    dx_buf api = DX_BUF_INIT;
    CHECK_EQ_INT(srv_token_new(a, "alice@example.org", "script", false, &api, &err), 0);
    CHECK_EQ_INT(srv_token_check(a, api.data, api.len, &t, &err), 0);
    CHECK_EQ_STR(t.device_id, "");
    CHECK_EQ_INT(t.expires_at, 0);
    json_t *me = NULL;
    CHECK_EQ_INT(srv_me_json(a, &t, &me, &err), 0);
    CHECK(json_is_null(json_object_get(me, "device")));
    CHECK_EQ_STR(json_string_value(json_object_get(json_object_get(me, "user"), "plan")), "sync");
    json_decref(me);
    dx_buf_release(&api);
    srv_accounts_close(a);
    remove_dir();
}

TEST(test_session_expires)
{
    srv_accounts *a = open_fresh();
    dx_error err = DX_ERROR_INIT;
    srv_signin s;
    srv_token_info t;
    CHECK_EQ_INT(sign_in(a, "c@example.org", "tablet", 20, &s), 0);
    CHECK_EQ_INT(srv_token_check(a, s.token, SRV_TOKEN_LEN, &t, &err), 0);
    sleep_ms(30);
    CHECK_EQ_INT(srv_token_check(a, s.token, SRV_TOKEN_LEN, &t, &err), DX_EAUTH);
    CHECK(strstr(err.msg, "sign in again") != NULL);
    /* The next sign-in removes the expired session and its device. */
    CHECK_EQ_INT(sign_in(a, "c@example.org", "desk", 60000, &s), 0);
    json_t *list = srv_devices_json(a, s.user, NULL, &err);
    CHECK_EQ_INT(json_array_size(list), 1);
    CHECK_EQ_STR(json_string_value(json_object_get(json_array_get(list, 0), "name")), "desk");
    json_decref(list);
    srv_accounts_close(a);
    remove_dir();
}

TEST(test_version_1_file_is_upgraded)
{
    char path[128];
    snprintf(dir, sizeof dir, "/tmp/dx-test-auth-XXXXXX");
    CHECK(mkdtemp(dir) != NULL);
    snprintf(path, sizeof path, "%s/accounts.db", dir);
    sqlite3 *db = NULL;
    CHECK_EQ_INT(sqlite3_open(path, &db), SQLITE_OK);
    /* The schema of version 1, with a user and an API token ("tok"). */
    CHECK_EQ_INT(
        sqlite3_exec(db,
                     "CREATE TABLE users(id INTEGER PRIMARY KEY, email TEXT NOT NULL UNIQUE, plan "
                     "TEXT NOT NULL DEFAULT 'free', created_at INTEGER NOT NULL);"
                     "CREATE TABLE tokens(hash TEXT PRIMARY KEY, user_id INTEGER NOT NULL "
                     "REFERENCES users(id) ON DELETE CASCADE, device TEXT, created_at INTEGER NOT "
                     "NULL, expires_at INTEGER NOT NULL DEFAULT 0, readonly INTEGER NOT NULL "
                     "DEFAULT 0);"
                     "CREATE TABLE workspaces(id TEXT PRIMARY KEY, owner INTEGER NOT NULL, name "
                     "TEXT NOT NULL, created_at INTEGER NOT NULL);"
                     "INSERT INTO users VALUES(1, 'old@example.org', 'sync', 0);"
                     "INSERT INTO tokens VALUES('"
                     "4b04ede1bd4de1b5fa5c8b1ec1c3a0bed5e08e6fd5dc7d5b1ec8a7f6b37c2fd9', 1, 'x', "
                     "0, 0, 0);"
                     "PRAGMA user_version=1;",
                     NULL, NULL, NULL),
        SQLITE_OK);
    sqlite3_close(db);
    srv_accounts *a = NULL;
    dx_error err = DX_ERROR_INIT;
    CHECK_EQ_INT(srv_accounts_open(path, &a, &err), 0);
    srv_signin s;
    srv_token_info t;
    CHECK_EQ_INT(sign_in(a, "old@example.org", "new device", 60000, &s), 0);
    CHECK_EQ_INT(s.user, 1);
    CHECK_EQ_INT(srv_token_check(a, s.token, SRV_TOKEN_LEN, &t, &err), 0);
    CHECK_EQ_STR(t.device_id, s.device_id);
    srv_accounts_close(a);
    remove_dir();
}

/* A mail server that never answers (a socket that listens and never accepts): stopping the
 * mailer aborts the mail in flight at once instead of waiting for curl's timeout, and the
 * mails still queued are dropped. */
TEST(test_mailer_stops_at_once_with_a_mail_in_flight)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof sa;
    CHECK(fd >= 0);
    CHECK_EQ_INT(bind(fd, (struct sockaddr *)&sa, sizeof sa), 0);
    CHECK_EQ_INT(listen(fd, 8), 0);
    CHECK_EQ_INT(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
    srv_smtp cfg = {"127.0.0.1", ntohs(sa.sin_port), NULL, NULL, "d@example.org", SRV_SMTP_NONE};
    srv_mailer *m = NULL;
    dx_error err = DX_ERROR_INIT;
    CHECK_EQ_INT(srv_mailer_start(&cfg, &m, &err), 0);
    for (int i = 0; i < 3; i++)
        CHECK_EQ_INT(srv_mailer_send(m, "a@example.org", "Sign in", "text", &err), 0);
    sleep_ms(300); /* the first is in flight, waiting for a greeting */
    int64_t t0 = dx_now_ms();
    srv_mailer_stop(m);
    CHECK(dx_now_ms() - t0 < 3000);
    close(fd);
    srv_smtp none = {NULL, 0, NULL, NULL, NULL, SRV_SMTP_NONE};
    CHECK_EQ_INT(srv_mailer_start(&none, &m, &err), DX_EINVAL);
}

int main(void)
{
    RUN(test_email_checked_and_lower_cased);
    RUN(test_mail_has_its_headers_and_crlf_lines);
    RUN(test_link_works_once_then_says_why_not);
    RUN(test_fourth_link_in_an_hour_waits);
    RUN(test_sessions_are_bound_to_devices);
    RUN(test_session_expires);
    RUN(test_version_1_file_is_upgraded);
    RUN(test_mailer_stops_at_once_with_a_mail_in_flight);
    return TEST_REPORT();
}
