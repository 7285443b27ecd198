/* cli.c - option parsing, error printing, workspace and path helpers for the commands. */
#include "cli.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "diaryx/fs.h"
#include "diaryx/paths.h"

int cli_parse(const char *usage, const cli_opt *opts, int argc, char **argv, dx_strlist *pos)
{
    bool only_pos = false;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (only_pos || a[0] != '-' || a[1] == 0) {
            dx_strlist_push(pos, a);
            continue;
        }
        if (!strcmp(a, "--")) {
            only_pos = true;
            continue;
        }
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            fputs(usage, stdout);
            return CLI_EXIT_HELP;
        }
        const cli_opt *o = NULL;
        const char *inline_val = NULL;
        for (const cli_opt *p = opts; p && (p->long_name || p->short_name); p++) {
            if (a[1] == '-' && p->long_name) {
                size_t n = strlen(p->long_name);
                if (!strncmp(a + 2, p->long_name, n) && (a[2 + n] == 0 || a[2 + n] == '=')) {
                    o = p;
                    inline_val = a[2 + n] == '=' ? a + 3 + n : NULL;
                    break;
                }
            } else if (a[1] != '-' && p->short_name && a[1] == p->short_name && a[2] == 0) {
                o = p;
                break;
            }
        }
        if (!o)
            return cli_usage(argv[0], "unknown option '%s'", a);
        if (o->flag) {
            if (inline_val)
                return cli_usage(argv[0], "option '%s' takes no value", a);
            *o->flag = true;
        } else if (inline_val) {
            *o->value = inline_val;
        } else if (i + 1 < argc) {
            *o->value = argv[++i];
        } else {
            return cli_usage(argv[0], "option '%s' needs a value", a);
        }
    }
    return 0;
}

int cli_fail(const dx_error *err)
{
    fprintf(stderr, "diaryx: %s\n", err->msg[0] ? err->msg : dx_strerror(err->code));
    return 1;
}

int cli_usage(const char *cmd, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "diaryx %s: ", cmd);
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\nsee `diaryx %s --help`\n", cmd);
    va_end(ap);
    return 2;
}

int cli_config(dx_config **cfg)
{
    dx_error err = DX_ERROR_INIT;
    if (dx_config_load(NULL, cfg, &err) != 0)
        return cli_fail(&err);
    return 0;
}

int cli_open(const cli_ctx *ctx, dx_workspace **ws)
{
    dx_error err = DX_ERROR_INIT;
    if (ctx->workspace) {
        if (dx_workspace_open(ctx->workspace, ws, &err) != 0)
            return cli_fail(&err);
        return 0;
    }
    if (dx_workspace_open(".", ws, &err) == 0)
        return 0;
    /* Outside any workspace: fall back to the configured default. */
    dx_config *cfg = NULL;
    dx_error cerr = DX_ERROR_INIT;
    const char *def = NULL;
    if (dx_config_load(NULL, &cfg, &cerr) == 0)
        def = dx_config_string(cfg, "default_workspace");
    int rc = 1;
    if (def && dx_workspace_open(def, ws, &cerr) == 0)
        rc = 0;
    dx_config_free(cfg);
    return rc ? cli_fail(&err) : 0;
}

int cli_entry(const dx_workspace *ws, const char *arg, bool must_exist, dx_buf *rel, dx_error *err)
{
    dx_buf cand = DX_BUF_INIT, abs = DX_BUF_INIT;
    int rc;
    if (arg[0] == '/') {
        rc = dx_workspace_relpath(ws, arg, rel, err);
        goto check;
    }
    /* Relative to the current directory when that is inside the workspace. */
    if (dx_workspace_relpath(ws, ".", &cand, NULL) == 0) {
        dx_buf joined = DX_BUF_INIT;
        rc = dx_path_join(dx_buf_cstr(&cand), arg, &joined, err);
        if (rc == 0) {
            dx_workspace_abspath(ws, joined.data, &abs);
            /* A path that exists there, or a new one, is taken relative to the cwd. */
            if (dx_path_exists(abs.data) || !must_exist) {
                rc = dx_buf_puts(rel, joined.data);
                dx_buf_release(&joined);
                goto check;
            }
        }
        dx_buf_release(&joined);
        if (rc)
            goto done;
    }
    rc = dx_path_normalize(arg, rel, err);
check:
    if (!rc && must_exist) {
        dx_buf_reset(&abs);
        dx_workspace_abspath(ws, rel->data, &abs);
        if (!dx_is_file(abs.data))
            rc = dx_error_set(err, DX_ENOTFOUND, "'%s' does not exist in the workspace", arg);
    }
done:
    dx_buf_release(&cand);
    dx_buf_release(&abs);
    return rc;
}

int cli_edit(const char *abs_path)
{
    dx_config *cfg = NULL;
    dx_error err = DX_ERROR_INIT;
    const char *editor = NULL;
    if (dx_config_load(NULL, &cfg, &err) == 0)
        editor = dx_config_string(cfg, "editor");
    if (!editor || !*editor)
        editor = getenv("EDITOR");
    if (!editor || !*editor)
        editor = getenv("VISUAL");
    if (!editor || !*editor)
        editor = "vi";
    /* Through the shell so an editor setting may carry arguments ("code --wait"); the path
     * is passed as a positional parameter, never pasted into the command line. */
    char *cmd = malloc(strlen(editor) + 8);
    int rc = 1;
    if (cmd) {
        sprintf(cmd, "%s \"$1\"", editor);
        pid_t pid = fork();
        if (pid == 0) {
            execl("/bin/sh", "sh", "-c", cmd, "sh", abs_path, (char *)NULL);
            _exit(127);
        }
        int status = 0;
        if (pid > 0 && waitpid(pid, &status, 0) == pid && WIFEXITED(status))
            rc = WEXITSTATUS(status) == 0 ? 0 : 1;
        if (rc)
            fprintf(stderr, "diaryx: the editor '%s' failed on '%s'\n", editor, abs_path);
    }
    free(cmd);
    dx_config_free(cfg);
    return rc;
}

void cli_print(const dx_buf *b)
{
    const char *s = dx_buf_cstr(b);
    fputs(s, stdout);
    if (b->len && s[b->len - 1] != '\n')
        fputc('\n', stdout);
}

void cli_date(int shift_days, char out[11])
{
    time_t t = time(NULL) + (time_t)shift_days * 86400;
    struct tm tm;
    localtime_r(&t, &tm);
    strftime(out, 11, "%Y-%m-%d", &tm);
}
