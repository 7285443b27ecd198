/* ignore.c - git's ignore rules and the `exclude` globs for workspace paths, with ignored
 * directories cached. */
#include "diaryx/ignore.h"

#include <git2.h>
#include <stdlib.h>
#include <string.h>

#include "diaryx/buf.h"
#include "diaryx/config.h"
#include "diaryx/frontmatter.h"
#include "diaryx/paths.h"
#include "diaryx/strmap.h"
#include "diaryx/workspace.h"
#include "workspace_int.h"

struct dx_ignore {
    git_repository *repo; /* NULL: no repository, git ignores nothing */
    dx_strlist globs;     /* the `exclude` globs */
    dx_strmap dirs;       /* directory -> IGNORED or KEPT */
};

static char IGNORED, KEPT;

int dx_ignore_open(const char *root, dx_ignore **out, dx_error *err)
{
    dx_ignore *ig = calloc(1, sizeof *ig);
    *out = NULL;
    if (!ig)
        return dx_error_set(err, DX_ENOMEM, "out of memory");
    git_libgit2_init();
    /* Only the workspace's own repository: no search upwards (a workspace inside another
     * repository is not governed by that one's rules here). A workspace with no directory
     * (root "") has none. */
    if (!root || !*root ||
        git_repository_open_ext(&ig->repo, root, GIT_REPOSITORY_OPEN_NO_SEARCH, NULL) < 0)
        ig->repo = NULL;
    *out = ig;
    return 0;
}

void dx_ignore_free(dx_ignore *ig)
{
    if (!ig)
        return;
    git_repository_free(ig->repo);
    git_libgit2_shutdown();
    dx_strlist_release(&ig->globs);
    dx_strmap_release(&ig->dirs);
    free(ig);
}

int dx_ignore_add_globs(dx_ignore *ig, char *const *globs, size_t n, dx_error *err)
{
    for (size_t i = 0; i < n; i++)
        if (dx_strlist_push(&ig->globs, globs[i]))
            return dx_error_set(err, DX_ENOMEM, "out of memory reading the exclude globs");
    dx_strmap_release(&ig->dirs); /* what was cached was decided without them */
    return 0;
}

/* The `exclude` list of the root index (not a string list: DX_EINVAL). */
static int root_index_globs(const dx_workspace *ws, dx_strlist *out, dx_error *err)
{
    const char *root_file = dx_workspace_root_file(ws);
    dx_fm *fm = NULL;
    /* frontmatter only: a workspace over CRDT documents then loads no body document */
    int rc = dx_ws_read_fm(ws, root_file, &fm, err);
    /* No root index on disk (yet), or one that does not parse (taking it in reports that):
     * nothing excluded by it. */
    if (rc == DX_ENOTFOUND || rc == DX_EPARSE) {
        dx_error_clear(err);
        return 0;
    }
    if (!rc && dx_fm_has(fm, "exclude") && !dx_fm_is_string_list(fm, "exclude") &&
        !dx_fm_is_string(fm, "exclude"))
        rc = dx_error_set(err, DX_EINVAL,
                          "'exclude' in '%s' is not a list of globs; write it as a list of "
                          "strings, e.g. exclude: [\"drafts/**\", \"*.tmp\"]",
                          root_file);
    if (!rc && (rc = dx_fm_get_list(fm, "exclude", out)))
        dx_error_set(err, rc, "out of memory reading the exclude globs of '%s'", root_file);
    dx_fm_free(fm);
    return rc;
}

/* The `exclude` list of the workspace config .diaryx/config.toml (absent: none). */
static int config_globs(const dx_workspace *ws, dx_strlist *out, dx_error *err)
{
    dx_buf path = DX_BUF_INIT;
    dx_config *cfg = NULL;
    int rc = dx_config_workspace_path(dx_workspace_root(ws), &path);
    if (rc)
        dx_error_set(err, rc, "out of memory reading the workspace config");
    else if (!(rc = dx_config_load(path.data, &cfg, err)))
        rc = dx_config_list(cfg, "exclude", out, err);
    dx_config_free(cfg);
    dx_buf_release(&path);
    return rc;
}

int dx_ignore_open_workspace(const dx_workspace *ws, dx_ignore **out, dx_error *err)
{
    dx_strlist globs = DX_STRLIST_INIT;
    int rc = root_index_globs(ws, &globs, err);
    if (!rc && *dx_workspace_root(ws)) /* a workspace with no directory has no .diaryx */
        rc = config_globs(ws, &globs, err);
    if (!rc)
        rc = dx_ignore_open(dx_workspace_root(ws), out, err);
    if (!rc && (rc = dx_ignore_add_globs(*out, globs.items, globs.len, err))) {
        dx_ignore_free(*out);
        *out = NULL;
    }
    dx_strlist_release(&globs);
    return rc;
}

static bool git_ignores(dx_ignore *ig, const char *path)
{
    int ignored = 0;
    return ig->repo && git_ignore_path_is_ignored(&ignored, ig->repo, path) == 0 && ignored;
}

/* Whether the directory dir ("a/b/", with its slash) is ignored or excluded. */
static bool dir_ignored(dx_ignore *ig, char *dir, size_t len)
{
    const char *known = dx_strmap_get(&ig->dirs, dir);
    if (known)
        return known == &IGNORED;
    bool yes = git_ignores(ig, dir);
    if (!yes && ig->globs.len) {
        dir[len - 1] = 0; /* globs see "a/b" */
        yes = dx_path_excluded(ig->globs.items, ig->globs.len, dir);
        dir[len - 1] = '/';
    }
    /* A failed put only costs the lookup again next time. */
    (void)dx_strmap_put(&ig->dirs, dir, yes ? &IGNORED : &KEPT);
    return yes;
}

bool dx_ignore_path(dx_ignore *ig, const char *rel)
{
    if (!ig || (!ig->repo && !ig->globs.len))
        return false;
    /* Each directory on the way once ("drafts/" ignores everything below it). The copy is on
     * the stack: a yes/no answer must not depend on an allocation succeeding. */
    char dir[4096];
    size_t rl = strlen(rel);
    if (rl >= sizeof dir)
        return true; /* longer than any path the system can open: never taken in */
    for (const char *p = rel; (p = strchr(p, '/')); p++) {
        size_t len = (size_t)(p - rel) + 1;
        memcpy(dir, rel, len);
        dir[len] = 0;
        if (dir_ignored(ig, dir, len))
            return true;
    }
    return git_ignores(ig, rel) || dx_path_excluded(ig->globs.items, ig->globs.len, rel);
}

int dx_ignore_filter_workspace(const dx_workspace *ws, dx_strlist *files, dx_error *err)
{
    dx_ignore *ig = NULL;
    int rc = dx_ignore_open_workspace(ws, &ig, err);
    size_t kept = 0;
    for (size_t i = 0; !rc && i < files->len; i++) {
        if (dx_ignore_path(ig, files->items[i]))
            free(files->items[i]);
        else
            files->items[kept++] = files->items[i];
    }
    if (!rc)
        files->len = kept;
    dx_ignore_free(ig);
    return rc;
}
