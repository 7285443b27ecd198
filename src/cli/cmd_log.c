/* cmd_log.c - `diaryx log`: the commits of the workspace or of one file. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"

static const char USAGE[] =
    "usage: diaryx log [-n N] [--json] [FILE]\n\n"
    "The workspace's commits, newest first (all of them, or the last N), or only those that\n"
    "changed FILE. One line each: short id, date, summary.\n";

typedef struct log_ctx {
    bool json;
    size_t shown;
} log_ctx;

static void json_str(const char *s)
{
    putchar('"');
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\')
            printf("\\%c", c);
        else if (c < 0x20)
            printf("\\u%04x", c);
        else
            putchar(c);
    }
    putchar('"');
}

static int print_entry(const dx_git_log_entry *e, void *ud)
{
    log_ctx *x = ud;
    time_t t = (time_t)e->time;
    struct tm tm;
    char date[32];
    localtime_r(&t, &tm);
    strftime(date, sizeof date, "%Y-%m-%d %H:%M", &tm);
    if (x->json) {
        printf("%s{\"id\":\"%s\",\"time\":%lld,\"author\":", x->shown ? "," : "", e->id,
               (long long)e->time);
        json_str(e->author);
        printf(",\"summary\":");
        json_str(e->summary);
        printf("}");
    } else {
        printf("%s %s %s\n", e->short_id, date, e->summary);
    }
    x->shown++;
    return 0;
}

int cmd_log(cli_ctx *ctx, int argc, char **argv)
{
    const char *n_opt = NULL;
    bool json = false;
    cli_opt opts[] = {{"number", 'n', &n_opt, NULL}, {"json", 0, NULL, &json}, {NULL}};
    dx_strlist pos = DX_STRLIST_INIT;
    dx_workspace *ws = NULL;
    dx_git *g = NULL;
    dx_buf rel = DX_BUF_INIT;
    dx_error err = DX_ERROR_INIT;
    int64_t n = 0;
    int rc = cli_parse(USAGE, opts, argc, argv, &pos);
    if (!rc && pos.len > 1)
        rc = cli_usage("log", "too many arguments");
    if (!rc && n_opt)
        rc = cli_int("log", "-n", n_opt, 1, CLI_MAX_COUNT, &n);
    if (!rc)
        rc = cli_open_readonly(ctx, &ws);
    if (!rc && pos.len && cli_entry(ws, pos.items[0], false, &rel, &err))
        rc = cli_fail(&err);
    if (!rc)
        rc = cli_history(ws, &g);
    log_ctx x = {json, 0};
    if (!rc && json)
        printf("[");
    if (!rc && dx_git_log(g, pos.len ? rel.data : NULL, (size_t)n, print_entry, &x, &err))
        rc = cli_fail(&err);
    if (json && (!rc || x.shown))
        printf("]\n");
    dx_git_free(g);
    rc = cli_finish(ws, rc);
    dx_buf_release(&rel);
    dx_strlist_release(&pos);
    return rc;
}
