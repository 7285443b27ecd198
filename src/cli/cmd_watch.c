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

static const char USAGE[] =
    "usage: diaryx watch [--daemon] [--poll SECONDS] [--interval SECONDS] [--once]\n\n"
    "Keep the workspace's history up to date: every POLL seconds (default 2) take in files\n"
    "edited outside diaryx, and when the CRDT has had no change for the quiet interval\n"
    "([git] auto_commit_interval_minutes in config.toml, default 30; --interval overrides it\n"
    "in seconds) commit it. [git] auto_commit = false turns committing off. Stops on Ctrl-C\n"
    "or SIGTERM.\n\n"
    "  --daemon   detach; output goes to .diaryx/watch.log, the process id to\n"
    "             .diaryx/watch.pid\n"
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

static int daemonize(const char *root)
{
    char log[4096 + 32], pid[4096 + 32]; /* root is at most 4095 bytes */
    snprintf(log, sizeof log, "%s/.diaryx/watch.log", root);
    snprintf(pid, sizeof pid, "%s/.diaryx/watch.pid", root);
    pid_t p = fork();
    if (p < 0) {
        perror("diaryx: cannot fork");
        return 1;
    }
    if (p > 0) {
        printf("diaryx watch runs as process %d (log: %s)\n", (int)p, log);
        exit(0);
    }
    setsid();
    int fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0644);
    int null = open("/dev/null", O_RDONLY);
    if (fd < 0 || null < 0)
        return 1;
    dup2(null, STDIN_FILENO);
    dup2(fd, STDOUT_FILENO);
    dup2(fd, STDERR_FILENO);
    close(fd);
    close(null);
    FILE *f = fopen(pid, "w");
    if (f) {
        fprintf(f, "%d\n", (int)getpid());
        fclose(f);
    }
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
    char *end = NULL;
    double poll = poll_opt ? strtod(poll_opt, &end) : 2;
    if (!rc && poll_opt && (poll <= 0 || *end))
        rc = cli_usage("watch", "--poll needs a positive number of seconds");
    long long interval = 0;
    dx_config *cfg = NULL;
    bool auto_commit = true;
    if (!rc && (rc = cli_config(&cfg)) == 0) {
        auto_commit = dx_config_git_auto_commit(cfg);
        interval = (long long)dx_config_git_interval_minutes(cfg) * 60;
        if (interval_opt && ((interval = strtoll(interval_opt, &end, 10)) < 0 || *end))
            rc = cli_usage("watch", "--interval needs a number of seconds");
    }
    dx_config_free(cfg);
    dx_strlist_release(&pos);
    if (rc)
        return rc;
    /* Check the workspace once in the foreground, so errors show before detaching. */
    dx_workspace *ws = NULL;
    if ((rc = cli_open(ctx, &ws)))
        return rc;
    char root[4096];
    snprintf(root, sizeof root, "%s", dx_workspace_root(ws));
    rc = cli_finish(ws, 0);
    if (!rc && daemon && (rc = daemonize(root)))
        return rc;
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    if (!once)
        fprintf(stderr, "diaryx: watching %s (commit after %llds without changes%s)\n", root,
                interval, auto_commit ? "" : "; auto_commit is off");
    cli_exiting = false; /* sessions are opened and closed in a loop here */
    cli_ctx at = {root};
    char db[4096 + 32];
    snprintf(db, sizeof db, "%s/.diaryx/crdt.db", root);
    int64_t seen = -1;
    time_t last_change = time(NULL);
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
            if (once || ++failures * poll > 60)
                return 1;
            sleep_seconds(poll);
            continue;
        }
        failures = 0;
        int64_t last = dx_store_last_id(dx_session_store(cli_session()), NULL);
        if (last != seen) {
            if (seen >= 0) {
                last_change = time(NULL);
                dirty = true;
            }
            seen = last;
        }
        if (auto_commit && dirty && time(NULL) - last_change >= interval) {
            /* Failed checks are printed and counted; they are tried again after another
             * quiet interval. */
            dirty = cli_commit(g, NULL, true) != 0;
            if (dirty)
                last_change = time(NULL);
            seen = dx_store_last_id(dx_session_store(cli_session()), NULL);
        }
        if (once)
            break;
        sleep_seconds(poll);
    }
    rc = cli_finish(ws, rc);
    dx_git_free(g);
    return rc;
}
