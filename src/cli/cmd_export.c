/* cmd_export.c - `diaryx export DEST --audience NAME` and `diaryx export --archive OUT`. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <unistd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"
#include "diaryx/archive.h"
#include "diaryx/paths.h"

static const char USAGE[] =
    "usage: diaryx export DEST --audience NAME [--force] [--keep-audience] [--dry-run]\n"
    "       diaryx export --archive OUT.zip|OUT_DIR/ [--no-commit] [--force]\n\n"
    "Copy the entries visible to audience NAME (* = every entry that is not private) to the\n"
    "directory DEST. Audience rules: `private` is never exported; a file's `audience` list\n"
    "decides for it and its descendants; files without one inherit their parent's; with no\n"
    "audience anywhere, nothing is exported. Excluded children are removed from exported\n"
    "`contents`; the `audience` key is removed unless --keep-audience. DEST must not exist or\n"
    "be empty unless --force.\n\n"
    "--archive writes everything needed to leave: every file of the workspace's repository\n"
    "(the entries as the CRDT renders them, attachments) and its whole git history (.git with\n"
    "objects, refs, HEAD, the index and a minimal config: no hooks, no remotes), as a ZIP file\n"
    "or, when OUT ends in '/' or is a directory, as a directory. Unpacked, it is a normal\n"
    "repository: `git log` shows the history and `git status` is clean. Uncommitted changes\n"
    "are committed first; with --no-commit they are left out and listed. An existing OUT.zip\n"
    "is replaced only with --force; OUT_DIR must be new or empty.\n";

/* OUT.zip written as OUT.zip.tmp<pid> and renamed into place when complete. */
static int export_zip(const dx_archive_src *src, const char *out, bool force, dx_archive_stats *st,
                      dx_error *err)
{
    struct stat sb;
    if (!force && lstat(out, &sb) == 0)
        return dx_error_set(err, DX_EEXIST, "'%s' already exists: pass --force to replace it", out);
    dx_buf tmp = DX_BUF_INIT;
    if (dx_buf_printf(&tmp, "%s.tmp%ld", out, (long)getpid()))
        return dx_error_set(err, DX_ENOMEM, "out of memory");
    int fd = open(tmp.data, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    int rc = 0;
    if (fd < 0)
        rc = dx_error_set(err, DX_EIO, "cannot create '%s': %s", tmp.data, strerror(errno));
    if (!rc)
        rc = dx_archive_export_zip(src, dx_archive_write_fd, &fd, st, err);
    if (!rc && fsync(fd))
        rc = dx_error_set(err, DX_EIO, "cannot write '%s': %s", tmp.data, strerror(errno));
    if (fd >= 0 && close(fd) && !rc)
        rc = dx_error_set(err, DX_EIO, "cannot write '%s': %s", tmp.data, strerror(errno));
    if (!rc && rename(tmp.data, out))
        rc = dx_error_set(err, DX_EIO, "cannot rename '%s' to '%s': %s", tmp.data, out,
                          strerror(errno));
    if (rc && fd >= 0)
        unlink(tmp.data);
    dx_buf_release(&tmp);
    return rc;
}

/* OUT as an absolute path without "." or ".." (its parent directory must exist), so that
 * "inside the workspace" can be told by its prefix. */
static int absolute_out(const char *out, dx_buf *abs, dx_error *err)
{
    dx_buf path = DX_BUF_INIT, dir = DX_BUF_INIT;
    char cwd[PATH_MAX];
    if (out[0] == '/' || !getcwd(cwd, sizeof cwd))
        dx_buf_puts(&path, out);
    else
        dx_buf_printf(&path, "%s/%s", cwd, out);
    while (path.len > 1 && path.data[path.len - 1] == '/')
        dx_buf_truncate(&path, path.len - 1);
    int rc = dx_buf_error(&path) || dx_path_dirname(path.data, &dir) ? DX_ENOMEM : 0;
    char *real = rc ? NULL : realpath(dir.data, NULL);
    if (!rc && !real)
        rc = dx_error_set(err, DX_ENOTFOUND, "cannot write '%s': its directory '%s' is missing",
                          out, dir.data);
    if (!rc &&
        dx_buf_printf(abs, "%s/%s", strcmp(real, "/") ? real : "", dx_path_basename(path.data)))
        rc = DX_ENOMEM;
    if (rc == DX_ENOMEM)
        dx_error_set(err, rc, "out of memory");
    free(real);
    dx_buf_release(&path);
    dx_buf_release(&dir);
    return rc;
}

/* The entries' attachments that git does not have as they are on disk: committed (an
 * archive carries every attachment), or with --no-commit listed in *left_out. 0, or 1
 * printed. */
static int commit_attachments(dx_workspace *ws, dx_git *g, bool no_commit, dx_strlist *left_out)
{
    dx_strlist paths = DX_STRLIST_INIT, changed = DX_STRLIST_INIT;
    dx_error err = DX_ERROR_INIT;
    size_t commits = 0;
    int rc = dx_archive_attachments(dx_session_docset(cli_session()), dx_workspace_link_format(ws),
                                    &paths, &err);
    if (!rc)
        rc = dx_archive_commit_files(g, dx_workspace_root(ws), &paths, "Add attachments", no_commit,
                                     &changed, &commits, &err);
    for (size_t i = 0; !rc && i < changed.len; i++)
        if (no_commit && dx_strlist_push(left_out, changed.items[i]))
            rc = dx_error_set(&err, DX_ENOMEM, "out of memory");
    if (!rc && commits)
        printf("Committed %zu attachment%s that git did not have\n", changed.len,
               changed.len == 1 ? "" : "s");
    dx_strlist_release(&paths);
    dx_strlist_release(&changed);
    return rc ? cli_fail(&err) : 0;
}

static int export_archive(cli_ctx *ctx, const char *out, bool no_commit, bool force)
{
    dx_workspace *ws = NULL;
    dx_git *g = NULL;
    dx_git_file *files = NULL;
    size_t n = 0;
    dx_strlist problems = DX_STRLIST_INIT;
    dx_archive_stats st = {0};
    dx_strlist left = DX_STRLIST_INIT;
    dx_error err = DX_ERROR_INIT;
    dx_buf gitdir = DX_BUF_INIT, abs = DX_BUF_INIT;
    size_t olen = strlen(out);
    struct stat sb;
    bool dir = out[olen - 1] == '/' || (stat(out, &sb) == 0 && S_ISDIR(sb.st_mode));
    int rc = cli_open(ctx, &ws);
    if (!rc)
        rc = cli_history(ws, &g);
    if (!rc && !no_commit)
        rc = cli_commit(g, NULL, true);
    if (!rc && (rc = commit_attachments(ws, g, no_commit, &left)))
        rc = 1;
    if (!rc && dx_history_files(cli_session(), g, &files, &n, &problems, &err))
        rc = cli_fail(&err);
    for (size_t i = 0; i < problems.len; i++)
        fprintf(stderr, "diaryx: check failed: %s\n", problems.items[i]);
    if (!rc && (rc = absolute_out(out, &abs, &err)))
        rc = cli_fail(&err);
    if (!rc && dx_buf_printf(&gitdir, "%s/.git", dx_workspace_root(ws))) {
        dx_error_set(&err, DX_ENOMEM, "out of memory");
        rc = cli_fail(&err);
    }
    if (!rc && dir) {
        const char *root = dx_workspace_root(ws);
        size_t rl = strlen(root);
        if (!strncmp(abs.data, root, rl) && (abs.data[rl] == '/' || !abs.data[rl])) {
            dx_error_set(&err, DX_EPATH,
                         "'%s' is inside the workspace: export the archive directory elsewhere",
                         out);
            rc = cli_fail(&err);
        }
    }
    if (!rc) {
        dx_archive_src src = {g, gitdir.data, dx_workspace_root(ws), files, n};
        int r = dir ? dx_archive_export_dir(&src, abs.data, &st, &err)
                    : export_zip(&src, abs.data, force, &st, &err);
        if (r)
            rc = cli_fail(&err);
    }
    if (!rc) {
        for (size_t i = 0; i < st.uncommitted.len; i++)
            printf("not committed, left out: %s\n", st.uncommitted.items[i]);
        for (size_t i = 0; i < left.len; i++)
            printf("not committed, left out: %s (an attachment git does not have)\n",
                   left.items[i]);
        printf("Exported %zu files (%zu attachments) and %zu files of history (.git) to %s\n",
               st.files, st.attachments, st.git_files, out);
    }
    dx_history_files_free(files, n);
    dx_strlist_release(&problems);
    dx_archive_stats_release(&st);
    dx_strlist_release(&left);
    dx_buf_release(&gitdir);
    dx_buf_release(&abs);
    dx_git_free(g);
    return cli_finish(ws, rc);
}

int cmd_export(cli_ctx *ctx, int argc, char **argv)
{
    dx_export_options o = {0};
    const char *archive = NULL;
    bool no_commit = false;
    cli_opt opts[] = {{"audience", 'a', &o.audience, NULL},
                      {"archive", 0, &archive, NULL},
                      {"no-commit", 0, NULL, &no_commit},
                      {"force", 'f', NULL, &o.force},
                      {"keep-audience", 0, NULL, &o.keep_audience},
                      {"dry-run", 0, NULL, &o.dry_run},
                      {NULL}};
    dx_strlist pos = DX_STRLIST_INIT, inc = DX_STRLIST_INIT, exc = DX_STRLIST_INIT;
    dx_workspace *ws = NULL;
    dx_error err = DX_ERROR_INIT;
    dx_buf dest = DX_BUF_INIT;
    int rc = cli_parse(USAGE, opts, argc, argv, &pos);
    if (!rc && archive) {
        if (pos.len || o.audience || o.keep_audience || o.dry_run)
            rc = cli_usage("export", "--archive OUT takes no DEST, --audience or --dry-run");
        else if (!*archive)
            rc = cli_usage("export", "--archive needs a file or directory name");
        else
            rc = export_archive(ctx, archive, no_commit, o.force);
        dx_strlist_release(&pos);
        return rc;
    }
    if (!rc && no_commit)
        rc = cli_usage("export", "--no-commit goes with --archive");
    if (!rc && pos.len != 1)
        rc = cli_usage("export", "expected one DEST directory");
    if (!rc && !o.audience)
        rc = cli_usage("export", "--audience NAME is required");
    if (!rc)
        rc = cli_open(ctx, &ws);
    if (!rc) {
        char cwd[PATH_MAX];
        if (pos.items[0][0] == '/' || !getcwd(cwd, sizeof cwd))
            dx_buf_puts(&dest, pos.items[0]);
        else
            dx_buf_printf(&dest, "%s/%s", cwd, pos.items[0]);
        if (dx_workspace_export(ws, dest.data, &o, &inc, &exc, &err))
            rc = cli_fail(&err);
    }
    if (!rc) {
        for (size_t i = 0; i < inc.len; i++)
            printf("%s %s\n", o.dry_run ? "would export" : "exported", inc.items[i]);
        for (size_t i = 0; i < exc.len; i++)
            printf("excluded %s\n", exc.items[i]);
        printf("%s %zu files, excluded %zu files\n", o.dry_run ? "Would export" : "Exported",
               inc.len, exc.len);
    }
    rc = cli_finish(ws, rc);
    dx_strlist_release(&pos);
    dx_strlist_release(&inc);
    dx_strlist_release(&exc);
    dx_buf_release(&dest);
    return rc;
}
