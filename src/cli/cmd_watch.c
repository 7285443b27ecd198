/* cmd_watch.c - `diaryx watch`: take in external edits as they happen and commit after a
 * quiet interval. */
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "diaryx/clock.h"

static const char USAGE[] =
    "usage: diaryx watch [--daemon] [--poll SECONDS] [--interval SECONDS] [--once]\n\n"
    "Keep the workspace's history up to date: every POLL seconds (default 2, 0.01 to 86400)\n"
    "take in files edited outside diaryx, and when the CRDT has had no change for the quiet\n"
    "interval ([git] auto_commit_interval_minutes in config.toml, default 30; --interval\n"
    "overrides it in seconds, 0 to 31536000) commit it. The quiet time counts from the newest\n"
    "update in the CRDT, also when it was stored before the watch started. [git] auto_commit =\n"
    "false turns committing off. Stops on Ctrl-C or SIGTERM.\n\n"
    "  --daemon   detach; output goes to .diaryx/watch.log, the process id to\n"
    "             .diaryx/watch.pid (removed when the watch stops)\n"
    "  --once     one round (take in, commit if quiet long enough), then exit\n";

static volatile sig_atomic_t stopping;

static void on_signal(int sig)
{
    (void)sig;
    stopping = 1;
}

static void sleep_seconds(double s)
{
    struct timespec ts = {(time_t)s, (long)((s - (double)(time_t)s) * 1e9)};
    nanosleep(&ts, NULL);
}

/* Remove the pid file when it still names this process (a newer watch may own it). */
static void remove_pid_file(const char *pid)
{
    FILE *f = fopen(pid, "r");
    int n = 0;
    if (!f)
        return;
    bool ours = fscanf(f, "%d", &n) == 1 && n == (int)getpid();
    fclose(f);
    if (ours)
        unlink(pid);
}

static int daemonize(const char *root, const char *pid)
{
    char log[4096 + 32]; /* root is at most 4095 bytes */
    snprintf(log, sizeof log, "%s/.diaryx/watch.log", root);
    pid_t p = fork();
    if (p < 0) {
        perror("diaryx: cannot fork");
        return 1;
    }
    if (p > 0) {
        /* Written here, so that the file exists once this command has returned. */
        FILE *f = fopen(pid, "w");
        if (f) {
            fprintf(f, "%d\n", (int)p);
            fclose(f);
        }
        printf("diaryx watch runs as process %d (log: %s)\n", (int)p, log);
        exit(0);
    }
    setsid();
    int fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0644);
    int null = open("/dev/null", O_RDONLY);
    if (fd < 0 || null < 0) {
        remove_pid_file(pid);
        return 1;
    }
    dup2(null, STDIN_FILENO);
    dup2(fd, STDOUT_FILENO);
    dup2(fd, STDERR_FILENO);
    close(fd);
    close(null);
    return 0;
}

int cmd_watch(cli_ctx *ctx, int argc, char **argv)
{
    const char *poll_opt = NULL, *interval_opt = NULL;
    bool daemon = false, once = false;
    cli_opt opts[] = {{"poll", 0, &poll_opt, NULL},
                      {"interval", 0, &interval_opt, NULL},
                      {"daemon", 0, NULL, &daemon},
                      {"once", 0, NULL, &once},
                      {NULL}};
    dx_strlist pos = DX_STRLIST_INIT;
    int rc = cli_parse(USAGE, opts, argc, argv, &pos);
    if (!rc && pos.len)
        rc = cli_usage("watch", "unexpected argument '%s'", pos.items[0]);
    double poll = 2;
    if (!rc && poll_opt)
        rc = cli_double("watch", "--poll", poll_opt, 0.01, 86400, &poll);
    int64_t interval = 0; /* seconds; the config's range keeps it far from overflowing */
    dx_config *cfg = NULL;
    bool auto_commit = true;
    if (!rc && (rc = cli_config(&cfg)) == 0) {
        auto_commit = dx_config_git_auto_commit(cfg);
        interval = dx_config_git_interval_minutes(cfg) * 60;
        if (interval_opt)
            rc = cli_int("watch", "--interval", interval_opt, 0,
                         (int64_t)DX_CONFIG_MAX_INTERVAL_MINUTES * 60, &interval);
    }
    dx_config_free(cfg);
    dx_strlist_release(&pos);
    if (rc)
        return rc;
    /* Check the workspace once in the foreground, so errors show before detaching. */
    dx_workspace *ws = NULL;
    if ((rc = cli_open(ctx, &ws)))
        return rc;
    char root[4096], pid[4096 + 32];
    snprintf(root, sizeof root, "%s", dx_workspace_root(ws));
    snprintf(pid, sizeof pid, "%s/.diaryx/watch.pid", root);
    rc = cli_finish(ws, 0);
    /* Before the pid file exists, so that a SIGTERM always goes through the cleanup. */
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    if (!rc && daemon && (rc = daemonize(root, pid)))
        return rc;
    if (!once)
        fprintf(stderr, "diaryx: watching %s (commit after %llds without changes%s)\n", root,
                (long long)interval, auto_commit ? "" : "; auto_commit is off");
    cli_exiting = false; /* sessions are opened and closed in a loop here */
    cli_ctx at = {root};
    char db[4096 + 32];
    snprintf(db, sizeof db, "%s/" DX_STORE_FILE, root);
    int64_t seen = -1, failed_at = 0;
    bool dirty = true; /* unknown at start: a commit attempt finds out */
    int failures = 0;  /* rounds in a row that could not open or read the workspace */
    dx_git *g = NULL;
    ws = NULL;
    struct stat open_db = {0}, now_db;
    while (!rc && !stopping) {
        /* One session for as long as it works: each round takes in what other diaryx
         * processes stored and what was edited on disk. It is opened again when the store
         * was replaced (a rebuild from git by another process) or a round failed; a round
         * that cannot open it (a busy store, a file being replaced) is retried, and the
         * watch gives up after a minute of failures. */
        if (ws && (stat(db, &now_db) != 0 || now_db.st_ino != open_db.st_ino ||
                   now_db.st_dev != open_db.st_dev)) {
            cli_finish(ws, 0);
            dx_git_free(g);
            ws = NULL;
            g = NULL;
        }
        int failed = ws ? cli_sync(ws) : cli_open(&at, &ws);
        if (!failed && !g && (failed = cli_history(ws, &g)) == 0 && stat(db, &open_db) != 0)
            memset(&open_db, 0, sizeof open_db);
        if (failed) {
            if (ws)
                cli_finish(ws, 0);
            dx_git_free(g);
            ws = NULL;
            g = NULL;
            if (once || ++failures * poll > 60) {
                rc = 1;
                break;
            }
            sleep_seconds(poll);
            continue;
        }
        failures = 0;
        dx_crdt_store *st = dx_session_store(cli_session());
        int64_t last = dx_store_last_id(st, NULL);
        if (last != seen) {
            dirty = true;
            seen = last;
        }
        /* Quiet since the newest stored update, whoever stored it and whether before this
         * watch started or not; after a failed commit, since the failure. */
        int64_t quiet_since = dx_store_last_change_ms(st);
        if (quiet_since < failed_at)
            quiet_since = failed_at;
        if (auto_commit && dirty && dx_now_ms() - quiet_since >= interval * 1000) {
            /* Failed checks are printed and counted; they are tried again after another
             * quiet interval. */
            dirty = cli_commit(g, NULL, true) != 0;
            if (dirty)
                failed_at = dx_now_ms();
            if (!cli_session()) {
                /* A rebuild whose new session did not open: the next round opens one. */
                cli_finish(ws, 0);
                dx_git_free(g);
                ws = NULL;
                g = NULL;
                seen = -1;
            } else {
                seen = dx_store_last_id(dx_session_store(cli_session()), NULL);
            }
        }
        if (once)
            break;
        sleep_seconds(poll);
    }
    rc = cli_finish(ws, rc);
    dx_git_free(g);
    if (daemon)
        remove_pid_file(pid);
    return rc;
}
