/* ignore.c - git's ignore rules for workspace paths, with ignored directories cached. */
#include "diaryx/ignore.h"

#include <git2.h>
#include <stdlib.h>
#include <string.h>

#include "diaryx/buf.h"
#include "diaryx/strmap.h"

struct dx_ignore {
    git_repository *repo; /* NULL: no repository, nothing is ignored */
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
     * repository is not governed by that one's rules here). */
    if (git_repository_open_ext(&ig->repo, root, GIT_REPOSITORY_OPEN_NO_SEARCH, NULL) < 0)
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
    dx_strmap_release(&ig->dirs);
    free(ig);
}

static bool git_ignores(dx_ignore *ig, const char *path)
{
    int ignored = 0;
    return git_ignore_path_is_ignored(&ignored, ig->repo, path) == 0 && ignored;
}

bool dx_ignore_path(dx_ignore *ig, const char *rel)
{
    if (!ig || !ig->repo)
        return false;
    dx_buf dir = DX_BUF_INIT;
    bool ignored = false;
    /* Each directory on the way once ("drafts/" ignores everything below it). */
    for (const char *p = rel; !ignored && (p = strchr(p, '/')); p++) {
        dx_buf_reset(&dir);
        if (dx_buf_append(&dir, rel, (size_t)(p - rel) + 1))
            break;
        const char *known = dx_strmap_get(&ig->dirs, dir.data);
        if (!known) {
            known = git_ignores(ig, dir.data) ? &IGNORED : &KEPT;
            dx_strmap_put(&ig->dirs, dir.data, (void *)known);
        }
        ignored = known == &IGNORED;
    }
    dx_buf_release(&dir);
    return ignored || git_ignores(ig, rel);
}
