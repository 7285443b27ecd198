/* cmd_import.c - `diaryx import SOURCE [DEST]`: a ZIP archive or a folder into a workspace. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "diaryx/archive.h"
#include "diaryx/frontmatter.h"
#include "diaryx/fs.h"
#include "diaryx/paths.h"

static const char USAGE[] =
    "usage: diaryx import SOURCE [DEST] [--force] [--no-fix]\n\n"
    "Bring a workspace in from SOURCE, a ZIP archive (as `diaryx export --archive` writes\n"
    "it) or a folder, into the directory DEST (default: the current directory; created when\n"
    "missing). Every file is copied; every markdown file is parsed into the CRDT; a root\n"
    "index README.md is created when DEST has none. A .git in SOURCE keeps its history: its\n"
    "objects and refs are copied (never its hooks, config or alternates) and a commit on top\n"
    "records whatever differs from its HEAD. Broken links are then repaired as `validate\n"
    "--fix` does, and in a folder that had no root index the files are linked into a tree\n"
    "(neither with --no-fix). Files already in DEST are never replaced without --force.\n"
    "Hostile archives (paths leaving DEST, links, duplicate or case-colliding names, sizes\n"
    "that lie, zip bombs, encryption) are refused before anything is written.\n";

/* A README.md that is no index (a plain folder's) becomes the root: `contents` is added. */
static int readme_as_root(const char *dest, dx_error *err)
{
    dx_buf text = DX_BUF_INIT, out = DX_BUF_INIT;
    dx_fm *fm = NULL;
    dx_strlist none = DX_STRLIST_INIT;
    int rc = dx_fs_read_in(dest, "README.md", &text, NULL, err);
    if (!rc)
        rc = dx_fm_parse(text.data ? text.data : "", text.len, "README.md", &fm, err);
    if (!rc && dx_fm_has(fm, "part_of"))
        rc = dx_error_set(err, DX_ECONFLICT,
                          "'%s/README.md' has a part_of and no root index is there: give the "
                          "imported folder a root index (diaryx init) and run validate --fix",
                          dest);
    if (!rc && !dx_fm_has(fm, "title"))
        rc = dx_fm_set(fm, "title", dx_path_basename(dest));
    if (!rc)
        rc = dx_fm_set_list(fm, "contents", &none);
    if (rc == DX_ENOMEM)
        dx_error_set(err, rc, "out of memory");
    if (!rc)
        rc = dx_fm_write(fm, &out, err);
    if (!rc)
        rc = dx_fs_write_in(dest, "README.md", out.data, out.len, 0644, NULL, NULL, err);
    dx_fm_free(fm);
    dx_buf_release(&text);
    dx_buf_release(&out);
    return rc;
}

/* The root index of dest, made when dest has none of its own (*created). */
static int ensure_workspace(const char *dest, bool *created)
{
    dx_workspace *ws = NULL;
    dx_error err = DX_ERROR_INIT;
    struct stat st;
    *created = false;
    if (dx_workspace_open(dest, &ws, NULL) == 0 && !strcmp(dx_workspace_root(ws), dest)) {
        dx_workspace_free(ws);
        return 0;
    }
    dx_workspace_free(ws);
    if (dx_fs_stat_in(dest, "README.md", &st, NULL) == 0 && S_ISREG(st.st_mode)) {
        if (readme_as_root(dest, &err))
            return cli_fail(&err);
        *created = true;
        printf("made README.md the root index\n");
        return 0;
    }
    if (dx_workspace_init(dest, NULL, NULL, created, &err))
        return cli_fail(&err);
    if (*created)
        printf("created the root index README.md\n");
    return 0;
}

static int import_into(const char *dest, const char *source, const dx_strlist *others, bool fix,
                       bool made_root, bool *committed_ok, size_t *fixed_n, size_t *problems_n)
{
    cli_ctx sub = {dest};
    dx_workspace *ws = NULL;
    dx_git *g = NULL;
    dx_report r = {0};
    dx_strlist fixed = DX_STRLIST_INIT, failed = DX_STRLIST_INIT;
    dx_error err = DX_ERROR_INIT;
    int rc = cli_open(&sub, &ws);
    if (!rc && dx_workspace_validate(ws, &r, &err))
        rc = cli_fail(&err);
    /* Broken links are repaired; orphans are linked in only for a folder that was no
     * workspace (its tree is built here): a workspace keeps its structure as it came. */
    dx_report todo = {NULL, 0, r.files_checked};
    if (!rc && fix && r.len && !(todo.items = malloc(r.len * sizeof *todo.items))) {
        dx_error_set(&err, DX_ENOMEM, "out of memory");
        rc = cli_fail(&err);
    }
    for (size_t i = 0; !rc && fix && i < r.len; i++)
        if (r.items[i].error || made_root)
            todo.items[todo.len++] = r.items[i];
    if (!rc && todo.len && dx_workspace_fix(ws, &todo, &fixed, &failed, &err))
        rc = cli_fail(&err);
    free(todo.items); /* the issues themselves are r's */
    if (!rc && fixed.len)
        rc = cli_save(ws);
    for (size_t i = 0; !rc && i < fixed.len; i++)
        printf("fixed: %s\n", fixed.items[i]);
    for (size_t i = 0; !rc && i < failed.len; i++)
        printf("problem (not fixed): %s\n", failed.items[i]);
    /* what remains: validated again only when something was fixed */
    if (!rc && fixed.len) {
        dx_report_release(&r);
        if (dx_workspace_validate(ws, &r, &err))
            rc = cli_fail(&err);
    }
    size_t problems = 0;
    for (size_t i = 0; !rc && i < r.len; i++)
        if (r.items[i].error) {
            printf("problem: %s\n", r.items[i].message);
            problems++;
        }
    if (!rc)
        rc = cli_history(ws, &g);
    if (!rc && others->len) {
        dx_buf msg = DX_BUF_INIT;
        size_t commits = 0;
        dx_buf_printf(&msg, "Import attachments from %s", dx_path_basename(source));
        if (dx_buf_error(&msg) ||
            dx_archive_commit_files(g, dest, others, msg.data, false, NULL, &commits, &err))
            rc = cli_fail(&err);
        else if (commits)
            printf("Committed the imported attachments (%zu commit%s)\n", commits,
                   commits == 1 ? "" : "s");
        dx_buf_release(&msg);
    }
    if (!rc) {
        dx_buf msg = DX_BUF_INIT;
        dx_commit_opts o = DX_COMMIT_OPTS_INIT;
        dx_buf_printf(&msg, "Import from %s", dx_path_basename(source));
        o.message = dx_buf_error(&msg) ? NULL : msg.data;
        rc = cli_commit(g, &o, false);
        dx_buf_release(&msg);
    }
    *committed_ok = rc == 0;
    *fixed_n = fixed.len;
    *problems_n = problems + failed.len;
    dx_report_release(&r);
    dx_strlist_release(&fixed);
    dx_strlist_release(&failed);
    dx_git_free(g);
    return cli_finish(ws, rc);
}

int cmd_import(cli_ctx *ctx, int argc, char **argv)
{
    (void)ctx;
    bool force = false, no_fix = false;
    cli_opt opts[] = {{"force", 'f', NULL, &force}, {"no-fix", 0, NULL, &no_fix}, {NULL}};
    dx_strlist pos = DX_STRLIST_INIT;
    dx_buf dest = DX_BUF_INIT;
    dx_import_stats st = {0};
    dx_error err = DX_ERROR_INIT;
    int rc = cli_parse(USAGE, opts, argc, argv, &pos);
    if (!rc && (pos.len < 1 || pos.len > 2))
        rc = cli_usage("import", "expected SOURCE and at most one DEST");
    if (!rc) {
        char cwd[PATH_MAX];
        const char *d = pos.len == 2 ? pos.items[1] : ".";
        if (!getcwd(cwd, sizeof cwd)) {
            dx_error_set(&err, DX_EIO, "cannot read the current directory");
            rc = cli_fail(&err);
        } else if (d[0] == '/') {
            dx_buf_puts(&dest, d);
        } else if (!strcmp(d, ".")) {
            dx_buf_puts(&dest, cwd);
        } else {
            dx_buf_printf(&dest, "%s/%s", cwd, d);
        }
        while (!rc && dest.len > 1 && dest.data[dest.len - 1] == '/')
            dx_buf_truncate(&dest, dest.len - 1);
        if (!rc && dx_buf_error(&dest)) {
            dx_error_set(&err, DX_ENOMEM, "out of memory");
            rc = cli_fail(&err);
        }
    }
    if (!rc) {
        dx_import_opts o = DX_IMPORT_OPTS_INIT;
        o.force = force;
        if (dx_archive_import(pos.items[0], dest.data, &o, &st, &err))
            rc = cli_fail(&err);
    }
    /* dest may have been named through a link or with "..": the workspace is its real path */
    char *real = rc ? NULL : realpath(dest.data, NULL);
    if (!rc && !real) {
        dx_error_set(&err, DX_EIO, "cannot resolve '%s'", dest.data);
        rc = cli_fail(&err);
    }
    bool created = false, committed = false;
    size_t fixed = 0, problems = 0;
    if (!rc)
        rc = ensure_workspace(real, &created);
    if (!rc)
        rc = import_into(real, pos.items[0], &st.others, !no_fix, created, &committed, &fixed,
                         &problems);
    if (!rc || st.files) {
        for (size_t i = 0; i < st.skipped.len; i++)
            printf("left out: %s\n", st.skipped.items[i]);
        printf("Imported %zu files (%zu entries, %zu attachments)%s into %s; %zu links fixed, "
               "%zu problems\n",
               st.files, st.markdown, st.attachments, st.history ? " with their git history" : "",
               dest.data ? dest.data : "", fixed, problems);
    }
    free(real);
    dx_import_stats_release(&st);
    dx_strlist_release(&pos);
    dx_buf_release(&dest);
    return rc;
}
