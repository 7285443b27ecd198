/* cli.h - shared helpers of the `diaryx` commands: option parsing, errors, opening the
 * workspace, resolving path arguments. Commands print their result on stdout, progress
 * and errors on stderr, and return 0 (ok), 1 (failure) or 2 (usage error). */
#ifndef DX_CLI_H
#define DX_CLI_H

#include <stdbool.h>

#include "diaryx/buf.h"
#include "diaryx/config.h"
#include "diaryx/error.h"
#include "diaryx/history.h"
#include "diaryx/session.h"
#include "diaryx/strlist.h"
#include "diaryx/workspace.h"

typedef struct cli_ctx {
    const char *workspace; /* -w/--workspace, or NULL */
} cli_ctx;

typedef int (*cli_fn)(cli_ctx *ctx, int argc, char **argv);

typedef struct cli_command {
    const char *name;
    cli_fn fn;
    const char *help; /* one line */
} cli_command;

/* An option: --long / -s, with a value (value != NULL) or a flag (flag != NULL). */
typedef struct cli_opt {
    const char *long_name;
    char short_name;
    const char **value;
    bool *flag;
} cli_opt;

#define CLI_EXIT_HELP 100 /* cli_parse printed --help: the command returns 0 */

/* Parse argv (argv[0] is the command name) against opts (terminated by {NULL}); positional
 * arguments go to pos. --help/-h prints usage and returns CLI_EXIT_HELP; a bad option
 * prints an error and returns 2. */
int cli_parse(const char *usage, const cli_opt *opts, int argc, char **argv, dx_strlist *pos);

/* A numeric option's value: the whole text, within [min, max]. 0 with *out set, or the
 * usage error printed (naming the option, the value and the range) and 2. */
#define CLI_MAX_COUNT 1000000000 /* the largest -n N a command takes */
int cli_int(const char *cmd, const char *opt, const char *text, int64_t min, int64_t max,
            int64_t *out);
int cli_double(const char *cmd, const char *opt, const char *text, double min, double max,
               double *out);

/* Print "diaryx: MESSAGE" to stderr and return 1. */
int cli_fail(const dx_error *err);
/* Print "diaryx CMD: MESSAGE" + "see `diaryx CMD --help`" to stderr and return 2. */
int cli_usage(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Open the workspace (-w, else the current directory, searching upwards, else the
 * config's default_workspace) and its CRDT session: files edited outside diaryx are taken
 * in first, and from then on the workspace's editing functions only stage their changes.
 * Prints the error and returns 1 on failure. */
int cli_open(const cli_ctx *ctx, dx_workspace **ws);
/* Open the workspace without its CRDT session, for commands that read only the files or
 * the git history (faster: nothing is taken in). */
int cli_open_readonly(const cli_ctx *ctx, dx_workspace **ws);
/* Open the workspace for a command that answers from the files (property get, content get,
 * the tree, search): when the files hold everything the CRDT store does (no update was
 * stored after they were last written) they are the answer as they are, edits made outside
 * diaryx included, and no session is opened (the next editing command takes those edits
 * in); otherwise the session is opened as cli_open does, which writes the files first. */
int cli_open_read(const cli_ctx *ctx, dx_workspace **ws);
/* Take the staged changes into the CRDT and write the files from it (0, or 1 printed). */
int cli_save(dx_workspace *ws);
/* Take in what an external program (the editor) changed. */
int cli_sync(dx_workspace *ws);
/* Whether cli_finish ends the process's last session (the default: the session's memory is
 * then left to the operating system; see dx_session_close_at_exit). A command that opens
 * sessions in a loop (watch) sets it to false. */
extern bool cli_exiting;
/* End a command: save what is staged when rc is 0, close the session, free ws; returns
 * the command's exit code. Accepts ws NULL. */
int cli_finish(dx_workspace *ws, int rc);
/* What opening the session did (files imported, taken in, removed). */
const dx_session_stats *cli_opened_stats(void);
/* The session cli_open opened (NULL before). */
dx_session *cli_session(void);
/* Open the workspace's git repository (created when missing). 0, or 1 printed. */
int cli_history(dx_workspace *ws, dx_git **g);
/* Commit the CRDT state and print the outcome (check failures on stderr). opts may be NULL;
 * a keep_recent of 0 means config [git] keep_updates. */
int cli_commit(dx_git *g, const dx_commit_opts *opts, bool quiet_nochange);
int cli_config(dx_config **cfg);

/* A path argument as a workspace-relative path: relative to the current directory when it
 * is inside the workspace, else relative to the workspace root. must_exist checks it. */
int cli_entry(const dx_workspace *ws, const char *arg, bool must_exist, dx_buf *rel, dx_error *err);
/* cli_entry for a path that need not exist and may name a directory: a trailing '/' is
 * kept ("notes/" means the directory notes). */
int cli_target(const dx_workspace *ws, const char *arg, dx_buf *rel, dx_error *err);

/* Refuse a path no entry may have (dx_workspace_check_path, or check_dir for a rel ending
 * in '/'), naming arg as the user typed it; rel is the path from cli_target. */
int cli_check_new_entry(const dx_buf *rel, const char *arg, dx_error *err);

/* The open session's documents for the editing API (edit.h): 0, or the error (1 printed). */
int cli_docs(dx_docs *out);
/* 0 when no file is at rel on disk; DX_EEXIST ("'REL' already exists"), or DX_EPATH naming
 * the symbolic link in the way: an edit of the documents must not render a file onto one
 * diaryx does not know. */
int cli_free_path(const dx_workspace *ws, const char *rel, dx_error *err);

/* Refuse a new entry at rel that git ignores or an `exclude` glob leaves out (DX_EPATH, as
 * the session refuses to take in such a file): an entry made through the documents never
 * passes the session's import. */
int cli_check_not_ignored(const dx_workspace *ws, const char *rel, dx_error *err);

/* Run the editor (config `editor`, $EDITOR, $VISUAL, then vi) on an absolute path. */
int cli_edit(const char *abs_path);

/* Print a JSON value (a json_t *, NULL when building it failed) on one line (compact),
 * and free it. NULL, or text json cannot hold, prints "WHAT has no JSON form: ..." and
 * returns 1 (json_pack refuses strings that are not valid UTF-8). */
int cli_print_json(void *json, const char *what);

/* Print a buffer followed by a newline unless it already ends with one. */
void cli_print(const dx_buf *b);

/* Today's date (local time) shifted by days, as YYYY-MM-DD. */
void cli_date(int shift_days, char out[11]);

int cmd_init(cli_ctx *ctx, int argc, char **argv);
int cmd_create(cli_ctx *ctx, int argc, char **argv);
int cmd_today(cli_ctx *ctx, int argc, char **argv);
int cmd_yesterday(cli_ctx *ctx, int argc, char **argv);
int cmd_open(cli_ctx *ctx, int argc, char **argv);
int cmd_property(cli_ctx *ctx, int argc, char **argv);
int cmd_content(cli_ctx *ctx, int argc, char **argv);
int cmd_workspace(cli_ctx *ctx, int argc, char **argv);
int cmd_validate(cli_ctx *ctx, int argc, char **argv);
int cmd_search(cli_ctx *ctx, int argc, char **argv);
int cmd_export(cli_ctx *ctx, int argc, char **argv);
int cmd_import(cli_ctx *ctx, int argc, char **argv);
int cmd_config(cli_ctx *ctx, int argc, char **argv);
int cmd_crdt(cli_ctx *ctx, int argc, char **argv);
int cmd_commit(cli_ctx *ctx, int argc, char **argv);
int cmd_log(cli_ctx *ctx, int argc, char **argv);
int cmd_diff(cli_ctx *ctx, int argc, char **argv);
int cmd_restore(cli_ctx *ctx, int argc, char **argv);
int cmd_watch(cli_ctx *ctx, int argc, char **argv);
int cmd_attach(cli_ctx *ctx, int argc, char **argv);
int cmd_sync(cli_ctx *ctx, int argc, char **argv);

#endif
