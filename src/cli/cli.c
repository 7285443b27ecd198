/* cli.c - option parsing, error printing, workspace and path helpers for the commands. */
#include "cli.h"

#include <errno.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "diaryx/fs.h"
#include "diaryx/ignore.h"
#include "diaryx/number.h"
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

int cli_int(const char *cmd, const char *opt, const char *text, int64_t min, int64_t max,
            int64_t *out)
{
    dx_error err = DX_ERROR_INIT;
    return dx_number_parse_int(opt, text, min, max, out, &err) ? cli_usage(cmd, "%s", err.msg) : 0;
}

int cli_double(const char *cmd, const char *opt, const char *text, double min, double max,
               double *out)
{
    dx_error err = DX_ERROR_INIT;
    return dx_number_parse_double(opt, text, min, max, out, &err) ? cli_usage(cmd, "%s", err.msg)
                                                                  : 0;
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

/* The CRDT session of the open workspace: one per process. */
static dx_session *session;

/* How many of the session's warnings were printed, and of which session: a rebuild from
 * git replaces the session, and `watch` opens a new one every round. */
static size_t shown;
static const dx_session *shown_of;

static void print_warnings(void)
{
    if (shown_of != session) {
        shown_of = session;
        shown = 0;
    }
    const dx_strlist *w = session ? dx_session_warnings(session) : NULL;
    for (; w && shown < w->len; shown++)
        fprintf(stderr, "diaryx: warning: %s\n", w->items[shown]);
}

static dx_session_stats opened;

const dx_session_stats *cli_opened_stats(void)
{
    return &opened;
}

/* New files are taken in silently (init reports them); edits and deletions made outside
 * diaryx are worth a line. */
static void print_sync(const dx_session_stats *st)
{
    if (st->ingested)
        fprintf(stderr, "diaryx: took in %zu file%s edited outside diaryx\n", st->ingested,
                st->ingested == 1 ? "" : "s");
    if (st->removed)
        fprintf(stderr, "diaryx: %zu file%s deleted outside diaryx, deleted in the CRDT\n",
                st->removed, st->removed == 1 ? "" : "s");
}

/* The CRDT session on an open workspace (ws is freed on failure). */
static int start_session(dx_workspace **ws, dx_error *err)
{
    dx_config *cfg = NULL;
    const char *device = NULL;
    if (dx_config_load(NULL, &cfg, NULL) == 0)
        device = dx_config_string(cfg, "device_name");
    int rc = dx_session_open(*ws, device, &session, &opened, err);
    dx_config_free(cfg);
    print_warnings();
    if (rc) {
        dx_workspace_free(*ws);
        *ws = NULL;
        return 1;
    }
    print_sync(&opened);
    return 0;
}

static int open_workspace(const cli_ctx *ctx, bool with_session, dx_workspace **ws)
{
    dx_error err = DX_ERROR_INIT;
    int rc = 0;
    if (ctx->workspace) {
        rc = dx_workspace_open(ctx->workspace, ws, &err) != 0;
    } else if (dx_workspace_open(".", ws, &err) != 0) {
        /* Outside any workspace: fall back to the configured default. */
        dx_config *cfg = NULL;
        const char *def = NULL;
        if (dx_config_load(NULL, &cfg, NULL) == 0)
            def = dx_config_string(cfg, "default_workspace");
        dx_error derr = DX_ERROR_INIT;
        rc = !def || dx_workspace_open(def, ws, &derr) != 0;
        dx_config_free(cfg);
    }
    if (!rc && with_session)
        rc = start_session(ws, &err);
    return rc ? cli_fail(&err) : 0;
}

int cli_open(const cli_ctx *ctx, dx_workspace **ws)
{
    return open_workspace(ctx, true, ws);
}

int cli_open_readonly(const cli_ctx *ctx, dx_workspace **ws)
{
    return open_workspace(ctx, false, ws);
}

/* Whether the files of ws were written from every update its store holds. A store that is
 * missing, new or unreadable says no: a session then imports, or reports the damage. */
static bool files_current(dx_workspace *ws)
{
    dx_buf db = DX_BUF_INIT, v = DX_BUF_INIT;
    dx_crdt_store *st = NULL;
    struct stat sb;
    bool current = dx_workspace_abspath(ws, DX_STORE_FILE, &db) == 0 && lstat(db.data, &sb) == 0 &&
                   S_ISREG(sb.st_mode) && dx_store_open(db.data, &st, NULL) == 0 &&
                   dx_store_meta_get(st, DX_SESSION_META_MATERIALIZED, &v, NULL) == 0 &&
                   strtoll(v.data, NULL, 10) >= dx_store_last_id(st, NULL) &&
                   dx_store_last_id(st, NULL) > 0;
    dx_store_close(st);
    dx_buf_release(&db);
    dx_buf_release(&v);
    return current;
}

int cli_open_read(const cli_ctx *ctx, dx_workspace **ws)
{
    int rc = open_workspace(ctx, false, ws);
    if (rc || files_current(*ws))
        return rc;
    dx_error err = DX_ERROR_INIT;
    return start_session(ws, &err) ? cli_fail(&err) : 0;
}

dx_session *cli_session(void)
{
    return session;
}

int cli_history(dx_workspace *ws, dx_git **g)
{
    dx_error err = DX_ERROR_INIT;
    return dx_git_open_or_init(dx_workspace_root(ws), 0, g, &err) ? cli_fail(&err) : 0;
}

/* The commit rebuilt the CRDT: the session is closed, the old store set aside, and a new
 * session opened, which imports the files (the CLI owns the session). On failure err
 * says why (appended to the commit's message). */
static int reopen_rebuilt(dx_error *err)
{
    dx_workspace *ws = dx_session_workspace(session);
    char *device = strdup(dx_session_device(session));
    dx_error e = DX_ERROR_INIT;
    int rc = device ? 0 : dx_error_set(&e, DX_ENOMEM, "out of memory");
    dx_session_close(session);
    session = NULL;
    if (!rc)
        rc = dx_history_rebuild_finish(dx_workspace_root(ws), &e);
    if (!rc)
        rc = dx_session_open(ws, device, &session, NULL, &e);
    if (rc) {
        char was[sizeof err->msg];
        snprintf(was, sizeof was, "%s", err->msg);
        dx_error_set(err, err->code ? err->code : rc, "%s; opening the rebuilt CRDT failed: %s",
                     was, e.msg);
    }
    free(device);
    return rc;
}

int cli_commit(dx_git *g, const dx_commit_opts *opts, bool quiet_nochange)
{
    dx_error err = DX_ERROR_INIT;
    dx_commit_result r;
    dx_commit_opts o = DX_COMMIT_OPTS_INIT;
    if (opts)
        o = *opts;
    if (!o.keep_recent) {
        dx_config *cfg = NULL;
        if (dx_config_load(NULL, &cfg, &err))
            return cli_fail(&err);
        o.keep_recent = (size_t)dx_config_git_keep_updates(cfg);
        dx_config_free(cfg);
    }
    dx_history_docs h;
    dx_history_docs_of_session(session, &h);
    int rc = dx_history_commit(&h, g, &o, &r, &err);
    if (r.rebuilt && reopen_rebuilt(&err))
        rc = rc ? rc : DX_EIO;
    for (size_t i = 0; i < r.problems.len; i++)
        fprintf(stderr, "diaryx: check failed: %s\n", r.problems.items[i]);
    if (rc) {
        rc = cli_fail(&err);
    } else if (r.committed) {
        size_t changed = r.stats.added + r.stats.modified + r.stats.deleted + r.stats.renamed;
        printf("Committed %.7s (%zu file%s changed; %zu entr%s checked%s)\n", r.id, changed,
               changed == 1 ? "" : "s", r.checked, r.checked == 1 ? "y" : "ies",
               r.incremental ? ", the changes since the last commit" : "");
    } else if (!quiet_nochange) {
        printf("Nothing to commit: the workspace matches %.7s\n", r.id[0] ? r.id : "(none)");
    }
    if (!rc && r.stats.warning[0])
        fprintf(stderr, "diaryx: warning: %s\n", r.stats.warning);
    dx_commit_result_release(&r);
    print_warnings();
    return rc;
}

int cli_save(dx_workspace *ws)
{
    (void)ws;
    dx_error err = DX_ERROR_INIT;
    int rc = session && dx_session_save(session, NULL, &err) != 0 ? cli_fail(&err) : 0;
    print_warnings();
    return rc;
}

int cli_sync(dx_workspace *ws)
{
    (void)ws;
    dx_error err = DX_ERROR_INIT;
    dx_session_stats st;
    int rc = session && dx_session_sync(session, &st, &err) != 0 ? cli_fail(&err) : 0;
    print_warnings();
    if (!rc && session)
        print_sync(&st);
    return rc;
}

bool cli_exiting = true;

int cli_finish(dx_workspace *ws, int rc)
{
    size_t staged = 0;
    if (ws)
        dx_workspace_staged(ws, &staged);
    if (!rc && (staged || (session && dx_session_unsaved(session))))
        rc = cli_save(ws);
    if (cli_exiting)
        dx_session_close_at_exit(session);
    else
        dx_session_close(session);
    session = NULL;
    shown_of = NULL; /* a next session may get the same address */
    dx_workspace_free(ws);
    return rc;
}

int cli_entry(const dx_workspace *ws, const char *arg, bool must_exist, dx_buf *rel, dx_error *err)
{
    dx_buf cand = DX_BUF_INIT;
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
            struct stat st;
            /* A path that exists there, or a new one, is taken relative to the cwd. */
            if (dx_fs_stat_in(dx_workspace_root(ws), joined.data, &st, NULL) != DX_ENOTFOUND ||
                !must_exist) {
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
        /* Without following links: a link is named as such (and never read through). */
        struct stat st;
        dx_error e = DX_ERROR_INIT;
        int r = dx_fs_stat_in(dx_workspace_root(ws), rel->data, &st, &e);
        if (r == DX_EPATH)
            rc = dx_error_set(err, r, "%s", e.msg);
        else if (r != 0 || !S_ISREG(st.st_mode))
            rc = dx_error_set(err, DX_ENOTFOUND, "'%s' does not exist in the workspace", arg);
    }
done:
    dx_buf_release(&cand);
    return rc;
}

int cli_check_new_entry(const dx_buf *rel, const char *arg, dx_error *err)
{
    /* A directory to make (a trailing '/'), or a note (".md" added as create does). */
    dx_buf p = DX_BUF_INIT;
    const char *r = dx_buf_cstr(rel);
    size_t n = strlen(r);
    bool dir = n && r[n - 1] == '/';
    int rc = dx_buf_append(&p, r, dir ? n - 1 : n);
    if (!rc && !dir && !dx_path_is_markdown(p.data))
        rc = dx_buf_puts(&p, ".md");
    if (rc)
        rc = dx_error_set(err, DX_ENOMEM, "out of memory");
    else
        rc = dir ? dx_workspace_check_dir(p.data, arg, err)
                 : dx_workspace_check_path(p.data, arg, err);
    dx_buf_release(&p);
    return rc;
}

int cli_target(const dx_workspace *ws, const char *arg, dx_buf *rel, dx_error *err)
{
    int rc = cli_entry(ws, arg, false, rel, err);
    size_t n = strlen(arg);
    if (!rc && n && arg[n - 1] == '/' && rel->len)
        rc = dx_buf_putc(rel, '/');
    return rc;
}

int cli_docs(dx_docs *out)
{
    dx_error err = DX_ERROR_INIT;
    dx_session_docs(session, out);
    if (out->workspace)
        return 0;
    if (!dx_session_load(session, &err))
        dx_error_set(&err, DX_ENOMEM, "out of memory loading the workspace document");
    return cli_fail(&err);
}

int cli_free_path(const dx_workspace *ws, const char *rel, dx_error *err)
{
    struct stat st;
    dx_error e = DX_ERROR_INIT;
    int rc = dx_fs_stat_in(dx_workspace_root(ws), rel, &st, &e);
    if (rc == DX_ENOTFOUND)
        return 0;
    if (rc == DX_EPATH)
        return dx_error_set(err, rc, "%s", e.msg);
    return dx_error_set(err, DX_EEXIST, "'%s' already exists", rel);
}

int cli_check_not_ignored(const dx_workspace *ws, const char *rel, dx_error *err)
{
    dx_ignore *ig = NULL;
    int rc = dx_ignore_open_workspace(ws, &ig, err);
    if (!rc && dx_ignore_path(ig, rel))
        rc = dx_error_set(err, DX_EPATH,
                          "'%s' is ignored by git (.gitignore or .git/info/exclude) or excluded "
                          "by an `exclude` glob (root index, .diaryx/config.toml), and diaryx "
                          "takes in no such file; remove the rule or choose another path",
                          rel);
    dx_ignore_free(ig);
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

int cli_print_json(void *json, const char *what)
{
    char *s = json ? json_dumps(json, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;
    json_decref(json);
    if (!s) {
        fprintf(stderr,
                "diaryx: %s has no JSON form: it holds text that is not valid UTF-8 (see it "
                "without --json)\n",
                what);
        return 1;
    }
    puts(s);
    free(s);
    return 0;
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
