/* git_tree.c - build the tree of a file set on top of a base tree, writing only changes. */
#include <stdlib.h>
#include <string.h>

#include <stdio.h>

#include "diaryx/hash.h"
#include "git_internal.h"

static int cmp_file(const void *a, const void *b)
{
    return strcmp((*(const dx_git_file *const *)a)->path, (*(const dx_git_file *const *)b)->path);
}

static int cmp_change(const void *a, const void *b)
{
    return strcmp(((const dx_git_change *)a)->path, ((const dx_git_change *)b)->path);
}

/* The id of f: the caller's (f->id) or the hash of its bytes. */
static int file_id(dx_hash *md, const dx_git_file *f, git_oid *out, dx_error *err)
{
    if (f->id) {
        if (strlen(f->id) != 40 || git_oid_fromstr(out, f->id) < 0)
            return dx_error_set(err, DX_EINVAL, "invalid blob id '%.64s' given for '%s'", f->id,
                                f->path);
        return 0;
    }
    if (!f->data && f->len)
        return dx_error_set(err, DX_EINVAL, "'%s' has neither bytes nor a blob id", f->path);
    if (dx_hash_blob_id(md, f->data ? f->data : "", f->len, out->id) < 0)
        return dx_error_set(err, DX_EIO, "cannot hash '%s' (OpenSSL SHA-1 failed)", f->path);
    return 0;
}

/* Whether the blob is in the odb. Most misses are new files, so the packs are not rescanned
 * (libgit2 would rescan objects/pack on every miss); a blob missed that way is written once
 * more, which is harmless. A blob given without bytes must exist: that miss is checked again
 * after a rescan (another process may have just packed it). */
static int blob_exists(git_odb *odb, const git_oid *id, int must)
{
    return git_odb_exists_ext(odb, id, GIT_ODB_LOOKUP_NO_REFRESH) ||
           (must && git_odb_exists(odb, id));
}

/* Whether the blob of f (id) must be written: 0 = it is in the repository, 1 = write it.
 * A blob given by id without bytes must exist (DX_ENOTFOUND); a blob given by id and bytes
 * that must be written is checked against its bytes (DX_EINVAL). */
static int blob_needed(dx_hash *md, git_odb *odb, const dx_git_file *f, const git_oid *id,
                       int ids_computed, dx_error *err)
{
    if (blob_exists(odb, id, !f->data))
        return 0;
    if (ids_computed && f->data)
        return 1;
    if (!f->data && f->id) {
        char hex[DX_GIT_OID_HEX];
        git_oid_tostr(hex, sizeof hex, id);
        return dx_error_set(err, DX_ENOTFOUND,
                            "blob %s given for '%s' without its bytes is not in the repository",
                            hex, f->path);
    }
    git_oid hashed;
    int rc;
    if (f->id &&
        (rc = file_id(md, &(dx_git_file){f->path, f->data, f->len, NULL}, &hashed, err)) < 0)
        return rc;
    if (f->id && !git_oid_equal(&hashed, id))
        return dx_error_set(err, DX_EINVAL,
                            "blob id '%s' given for '%s' is not the id of its bytes", f->id,
                            f->path);
    return 1;
}

/* Write the blob of f (id known) into memory (pack active) or as a loose object. */
static int put_blob(git_repository *repo, dx_git_mempack *pack, const dx_git_file *f,
                    const git_oid *id, dx_error *err)
{
    const void *bytes = f->data ? f->data : ""; /* data NULL here: an empty file */
    if (pack && pack->repo)
        return dx_git_mempack_add_blob(pack, id, bytes, f->len, err);
    git_oid wid;
    int gr = git_blob_create_from_buffer(&wid, repo, bytes, f->len);
    if (gr < 0)
        return dx_git_fail(err, gr, "cannot write the blob of '%s'", f->path);
    if (!git_oid_equal(&wid, id)) /* OpenSSL and libgit2 disagree: never */
        return dx_error_set(err, DX_EIO, "the blob of '%s' was written under another id", f->path);
    return 0;
}

void dx_git_changes_free(dx_git_change *ch, size_t n)
{
    for (size_t k = 0; ch && k < n; k++) {
        free((char *)ch[k].path);
        free((char *)ch[k].to);
    }
    free(ch);
}

/* The kinds of the changes, added to stats. */
static void count_changes(dx_git_stats *stats, const dx_git_change *ch, size_t nch)
{
    for (size_t k = 0; k < nch; k++) {
        if (ch[k].kind == 'A')
            stats->added++;
        else if (ch[k].kind == 'M')
            stats->modified++;
        else if (ch[k].kind == 'D')
            stats->deleted++;
        else
            stats->renamed++;
    }
}

/* The empty tree, written through repo (the base of a first commit); free *tb and *empty. */
static int empty_tree(git_repository *repo, git_treebuilder **tb, git_tree **empty, git_oid *id,
                      dx_error *err)
{
    int gr;
    if ((gr = git_treebuilder_new(tb, repo, NULL)) < 0 ||
        (gr = git_treebuilder_write(id, *tb)) < 0 || (gr = git_tree_lookup(empty, repo, id)) < 0)
        return dx_git_fail(err, gr, "cannot write the empty tree");
    return 0;
}

int dx_git_build_tree(dx_git *g, git_tree *base, const dx_git_file *files, size_t n,
                      int ids_computed, dx_git_mempack *pack, git_oid *out_tree,
                      dx_git_change **out_changes, size_t *out_nchanges, dx_git_tree_list *out_base,
                      dx_git_stats *stats, dx_error *err)
{
    int rc = 0, gr;
    dx_git_tree_list head = {0};
    const dx_git_file **sorted = NULL;
    git_oid *ids = NULL;
    unsigned char *state = NULL;   /* per sorted file: 0 unchanged, 1 changed, 2 blob to write */
    dx_git_tree_file **hit = NULL; /* per sorted file: its entry in base, or NULL */
    dx_git_tree_list next = {0};   /* the files of the new tree */
    git_tree_update *ups = NULL;
    dx_git_change *ch = NULL;
    size_t nups = 0, nch = 0, nwrite = 0, nchanged = 0, nused = 0;
    git_tree *empty = NULL;
    git_treebuilder *tb = NULL;
    git_odb *odb = NULL;
    git_repository *wrepo = g->repo; /* where new objects are written */
    dx_hash md = DX_HASH_INIT;       /* one OpenSSL context for every file */

    if (out_changes)
        *out_changes = NULL;
    if (out_nchanges)
        *out_nchanges = 0;
    sorted = malloc((n ? n : 1) * sizeof *sorted);
    ids = malloc((n ? n : 1) * sizeof *ids);
    state = calloc(n ? n : 1, 1);
    hit = malloc((n ? n : 1) * sizeof *hit);
    if (!sorted || !ids || !state || !hit) {
        rc = dx_error_set(err, DX_ENOMEM, "out of memory building a tree of %zu files", n);
        goto done;
    }
    for (size_t i = 0; i < n; i++) {
        if ((rc = dx_git_check_path(files[i].path, err)) < 0)
            goto done;
        sorted[i] = &files[i];
    }
    size_t in_order = 1; /* callers that sort their file set (history.c) skip the qsort */
    while (in_order < n && strcmp(sorted[in_order - 1]->path, sorted[in_order]->path) < 0)
        in_order++;
    if (in_order < n)
        qsort(sorted, n, sizeof *sorted, cmp_file);
    for (size_t i = 1; i < n; i++)
        if (strcmp(sorted[i - 1]->path, sorted[i]->path) == 0) {
            rc = dx_error_set(err, DX_EPATH, "path '%s' appears twice in the file set",
                              sorted[i]->path);
            goto done;
        }
    if (base && g->files_valid && git_oid_equal(&g->files_tree, git_tree_id(base))) {
        head = g->files; /* the last tree built: no walk */
        memset(&g->files, 0, sizeof g->files);
        g->files_valid = 0;
    } else if (base && (rc = dx_git_tree_files(base, &head, err)) < 0) {
        goto done;
    }
    if ((gr = git_repository_odb(&odb, g->repo)) < 0) {
        rc = dx_git_fail(err, gr, "cannot open the object database");
        goto done;
    }
    /* First pass: ids, and which files changed and which blobs are new (files and base are
     * both sorted by path: one merge). */
    for (size_t i = 0, j = 0; i < n; i++) {
        const dx_git_file *f = sorted[i];
        if ((rc = file_id(&md, f, &ids[i], err)) < 0)
            goto done;
        int c = 1;
        while (j < head.n && (c = strcmp(head.v[j].path, f->path)) < 0)
            j++;
        dx_git_tree_file *h = hit[i] = (j < head.n && c == 0) ? &head.v[j] : NULL;
        if (h) {
            h->used = 1;
            nused++;
            if (git_oid_equal(&h->id, &ids[i]))
                continue;
        }
        state[i] = 1;
        nchanged++;
        int need = blob_needed(&md, odb, f, &ids[i], ids_computed, err);
        if (need < 0) {
            rc = need;
            goto done;
        }
        if (!need)
            continue;
        state[i] = 2;
        nwrite++;
    }
    if (pack && (nwrite >= DX_GIT_PACK_MIN_OBJECTS ||
                 (DX_GIT_PACK_SMALL_COMMITS && nchanged + (head.n - nused) > 0))) {
        if ((rc = dx_git_mempack_begin(g, pack, err)) < 0)
            goto done;
        wrepo = pack->repo;
    }
    /* changes: the changed files + the deleted ones */
    ch = calloc(nchanged + (head.n - nused) + 1, sizeof *ch);
    ups = malloc((nchanged + (head.n - nused) + 1) * sizeof *ups);
    if (!ch || !ups) {
        rc = dx_error_set(err, DX_ENOMEM, "out of memory");
        goto done;
    }
    for (size_t i = 0; i < n; i++) {
        const dx_git_file *f = sorted[i];
        if (!state[i])
            continue;
        if (state[i] == 2 && (rc = put_blob(wrepo, pack, f, &ids[i], err)) < 0)
            goto done;
        if (state[i] == 2 && stats)
            stats->blobs_written++;
        ups[nups].action = GIT_TREE_UPDATE_UPSERT;
        ups[nups].id = ids[i];
        ups[nups].filemode = GIT_FILEMODE_BLOB;
        ups[nups].path = f->path;
        nups++;
        ch[nch].kind = hit[i] ? 'M' : 'A';
        ch[nch].id = ids[i];
        ch[nch].file = f;
        if (!(ch[nch].path = strdup(f->path))) {
            rc = dx_error_set(err, DX_ENOMEM, "out of memory");
            goto done;
        }
        nch++;
    }
    for (size_t i = 0; i < head.n; i++) {
        if (head.v[i].used)
            continue;
        ups[nups].action = GIT_TREE_UPDATE_REMOVE;
        memset(&ups[nups].id, 0, sizeof ups[nups].id);
        ups[nups].filemode = GIT_FILEMODE_BLOB;
        ups[nups].path = head.v[i].path;
        nups++;
        char *old = strdup(head.v[i].path);
        if (!old) {
            rc = dx_error_set(err, DX_ENOMEM, "out of memory");
            goto done;
        }
        /* a rename: an added path with the same blob id (given or hashed alike) */
        dx_git_change *r = NULL;
        for (size_t k = 0; k < nch && !r; k++)
            if (ch[k].kind == 'A' && git_oid_equal(&ch[k].id, &head.v[i].id))
                r = &ch[k];
        if (r) {
            r->kind = 'R';
            r->to = r->path;
            r->path = old;
        } else {
            ch[nch].kind = 'D';
            ch[nch].path = old;
            ch[nch].id = head.v[i].id;
            nch++;
        }
    }
    if (!base) {
        if ((rc = empty_tree(wrepo, &tb, &empty, out_tree, err)) < 0)
            goto done;
        base = empty;
    }
    if ((gr = git_tree_create_updated(out_tree, wrepo, base, nups, ups)) < 0) {
        rc = dx_git_fail(err, gr, "cannot write the trees of %zu changed paths", nups);
        goto done;
    }
    if (stats && wrepo != g->repo)
        stats->packed = 1;
    if (stats) {
        stats->files = n;
        count_changes(stats, ch, nch);
    }
    qsort(ch, nch, sizeof *ch, cmp_change);
    if (out_changes) {
        *out_changes = ch;
        *out_nchanges = nch;
        ch = NULL;
    }
    /* remember the files of the new tree for the next commit (a failure only costs a walk) */
    next.cap = n ? n : 1;
    if ((next.v = malloc(next.cap * sizeof *next.v))) {
        for (size_t i = 0; i < n; i++)
            if (dx_git_tree_list_push(&next, "", sorted[i]->path, &ids[i],
                                      state[i] || !hit[i] ? (uint32_t)GIT_FILEMODE_BLOB
                                                          : hit[i]->mode) < 0)
                break;
    }
    if (next.v && next.n == n) {
        dx_git_tree_list_fix_paths(&next);
        dx_git_tree_list_release(&g->files);
        g->files = next;
        g->files_tree = *out_tree;
        g->files_valid = 1;
        memset(&next, 0, sizeof next);
    }
    if (out_base) {
        for (size_t i = 0; i < head.n; i++)
            head.v[i].used = 0;
        *out_base = head;
        memset(&head, 0, sizeof head);
    }
done:
    dx_git_changes_free(ch, nch);
    git_tree_free(empty);
    git_treebuilder_free(tb);
    dx_git_tree_list_release(&head);
    dx_git_tree_list_release(&next);
    free(hit);
    free(sorted);
    free(ids);
    free(state);
    free(ups);
    git_odb_free(odb);
    dx_hash_release(&md);
    return rc;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static int has_file(const dx_git_file *const *sorted, size_t n, const char *path)
{
    const dx_git_file key = {path, NULL, 0, NULL}, *kp = &key;
    return bsearch(&kp, sorted, n, sizeof *sorted, cmp_file) != NULL;
}

static int has_str(const char *const *sorted, size_t n, const char *path)
{
    return bsearch(&path, sorted, n, sizeof *sorted, cmp_str) != NULL;
}

/* The entry at path in base (NULL when absent); DX_E* on a read failure. */
static int entry_at(git_tree *base, const char *path, git_tree_entry **out, dx_error *err)
{
    *out = NULL;
    if (!base)
        return 0;
    int gr = git_tree_entry_bypath(out, base, path);
    if (gr == GIT_ENOTFOUND) {
        git_error_clear();
        return 0;
    }
    return gr < 0 ? dx_git_fail(err, gr, "cannot look up '%s' in the parent tree", path) : 0;
}

/* An added path must not run through a file: no directory of it may be a file of the parent
 * that stays, or another added path. Returns 1 when one is a file of the parent that this
 * commit deletes (the trees are then written in two steps). */
static int check_dirs(git_tree *base, const char *path, const dx_git_file *const *sorted, size_t n,
                      const char *const *dels, size_t nd, dx_error *err)
{
    char dir[4096];
    size_t len = strlen(path);
    if (len >= sizeof dir)
        return dx_error_set(err, DX_EPATH, "path '%.200s...' is too long", path);
    memcpy(dir, path, len + 1);
    int replaces = 0;
    for (char *s = strchr(dir, '/'); s; s = strchr(s + 1, '/')) {
        *s = 0;
        git_tree_entry *e = NULL;
        int rc = has_file(sorted, n, dir) ? 1 : entry_at(base, dir, &e, err);
        if (rc < 0)
            return rc;
        int was_file = e && git_tree_entry_type(e) != GIT_OBJECT_TREE;
        int file = rc == 1 || (was_file && !has_str(dels, nd, dir));
        replaces |= was_file;
        git_tree_entry_free(e);
        if (file)
            return dx_error_set(err, DX_EPATH, "'%s' cannot be added: '%s' is a file", path, dir);
        *s = '/';
    }
    return replaces;
}

int dx_git_build_tree_delta(dx_git *g, git_tree *base, const dx_git_file *files, size_t n,
                            const char *const *deletes, size_t nd, int ids_computed,
                            dx_git_mempack *pack, git_oid *out_tree, dx_git_change **out_changes,
                            size_t *out_nchanges, dx_git_stats *stats, dx_error *err)
{
    int rc = 0, gr;
    const dx_git_file **sorted = NULL;
    const char **dels = NULL;
    git_oid *ids = NULL;
    unsigned char *state = NULL;    /* per sorted file: 0 unchanged, else 'A' or 'M' */
    unsigned char *new_blob = NULL; /* per sorted file: its blob must be written */
    git_tree_update *ups = NULL;
    dx_git_change *ch = NULL;
    size_t nups = 0, nch = 0, nchanged = 0;
    int two_steps = 0; /* a deleted file becomes a directory: removals first (libgit2 refuses
                          both in one update) */
    git_tree *empty = NULL, *removed = NULL;
    git_treebuilder *tb = NULL;
    git_odb *odb = NULL;
    git_repository *wrepo = g->repo;
    dx_hash md = DX_HASH_INIT; /* one OpenSSL context for every file */

    *out_changes = NULL;
    *out_nchanges = 0;
    sorted = malloc((n ? n : 1) * sizeof *sorted);
    dels = malloc((nd ? nd : 1) * sizeof *dels);
    ids = malloc((n ? n : 1) * sizeof *ids);
    state = calloc(n ? n : 1, 1);
    new_blob = calloc(n ? n : 1, 1);
    ch = calloc(n + nd + 1, sizeof *ch);
    ups = malloc((n + nd + 1) * sizeof *ups);
    if (!sorted || !dels || !ids || !state || !new_blob || !ch || !ups) {
        rc = dx_error_set(err, DX_ENOMEM, "out of memory committing %zu changes", n + nd);
        goto done;
    }
    for (size_t i = 0; i < n; i++) {
        if ((rc = dx_git_check_path(files[i].path, err)) < 0)
            goto done;
        sorted[i] = &files[i];
    }
    for (size_t i = 0; i < nd; i++) {
        if ((rc = dx_git_check_path(deletes[i], err)) < 0)
            goto done;
        dels[i] = deletes[i];
    }
    qsort(sorted, n, sizeof *sorted, cmp_file);
    qsort(dels, nd, sizeof *dels, cmp_str);
    for (size_t i = 1; i < n; i++)
        if (strcmp(sorted[i - 1]->path, sorted[i]->path) == 0) {
            rc = dx_error_set(err, DX_EPATH, "path '%s' is given twice", sorted[i]->path);
            goto done;
        }
    for (size_t i = 1; i < nd; i++)
        if (strcmp(dels[i - 1], dels[i]) == 0) {
            rc = dx_error_set(err, DX_EPATH, "path '%s' is deleted twice", dels[i]);
            goto done;
        }
    for (size_t i = 0, j = 0; i < n && j < nd;) {
        int c = strcmp(sorted[i]->path, dels[j]);
        if (c == 0) {
            rc = dx_error_set(err, DX_EPATH, "path '%s' is both changed and deleted", dels[j]);
            goto done;
        }
        c < 0 ? i++ : j++;
    }
    if ((gr = git_repository_odb(&odb, g->repo)) < 0) {
        rc = dx_git_fail(err, gr, "cannot open the object database");
        goto done;
    }
    /* which files change, and which blobs are new: one lookup in the parent tree each */
    for (size_t i = 0; i < n; i++) {
        const dx_git_file *f = sorted[i];
        git_tree_entry *e = NULL;
        if ((rc = file_id(&md, f, &ids[i], err)) < 0 || (rc = entry_at(base, f->path, &e, err)) < 0)
            goto done;
        git_object_t t = e ? git_tree_entry_type(e) : GIT_OBJECT_INVALID;
        int same = e && t == GIT_OBJECT_BLOB && git_oid_equal(git_tree_entry_id(e), &ids[i]);
        git_tree_entry_free(e);
        if (t == GIT_OBJECT_TREE) {
            rc = dx_error_set(err, DX_EPATH, "'%s' is a directory in the parent commit", f->path);
            goto done;
        }
        if (same)
            continue;
        if (!e && (rc = check_dirs(base, f->path, sorted, n, dels, nd, err)) < 0)
            goto done;
        two_steps |= rc;
        rc = 0;
        state[i] = e ? 'M' : 'A';
        nchanged++;
        int need = blob_needed(&md, odb, f, &ids[i], ids_computed, err);
        if (need < 0) {
            rc = need;
            goto done;
        }
        new_blob[i] = (unsigned char)need;
    }
    /* the deletions of files the parent has */
    for (size_t j = 0; j < nd; j++) {
        git_tree_entry *e = NULL;
        if ((rc = entry_at(base, dels[j], &e, err)) < 0)
            goto done;
        if (e && git_tree_entry_type(e) == GIT_OBJECT_BLOB) {
            ch[nch].kind = 'D';
            ch[nch].id = *git_tree_entry_id(e);
            ch[nch].path = strdup(dels[j]);
            git_tree_entry_free(e);
            if (!ch[nch++].path) {
                rc = dx_error_set(err, DX_ENOMEM, "out of memory");
                goto done;
            }
            continue;
        }
        git_tree_entry_free(e);
    }
    size_t nwrite = 0;
    for (size_t i = 0; i < n; i++)
        nwrite += new_blob[i];
    if (pack && (DX_GIT_PACK_SMALL_COMMITS ? nchanged + nch > 0 || !base
                                           : nwrite >= DX_GIT_PACK_MIN_OBJECTS)) {
        if ((rc = dx_git_mempack_begin(g, pack, err)) < 0)
            goto done;
        wrepo = pack->repo;
    }
    size_t ndel = nch;
    for (size_t k = 0; k < ndel; k++)
        ups[nups++] =
            (git_tree_update){GIT_TREE_UPDATE_REMOVE, {{0}}, GIT_FILEMODE_BLOB, ch[k].path};
    for (size_t i = 0; i < n; i++) {
        const dx_git_file *f = sorted[i];
        if (!state[i])
            continue;
        if (new_blob[i] && (rc = put_blob(wrepo, pack, f, &ids[i], err)) < 0)
            goto done;
        if (new_blob[i] && stats)
            stats->blobs_written++;
        ups[nups++] = (git_tree_update){GIT_TREE_UPDATE_UPSERT, ids[i], GIT_FILEMODE_BLOB, f->path};
        /* a rename: a deleted path with the same blob id */
        dx_git_change *r = NULL;
        for (size_t k = 0; k < ndel && !r && state[i] == 'A'; k++)
            if (ch[k].kind == 'D' && git_oid_equal(&ch[k].id, &ids[i]))
                r = &ch[k];
        if (r) {
            r->kind = 'R';
            r->file = f;
            if (!(r->to = strdup(f->path))) {
                rc = dx_error_set(err, DX_ENOMEM, "out of memory");
                goto done;
            }
            continue;
        }
        ch[nch].kind = (char)state[i];
        ch[nch].id = ids[i];
        ch[nch].file = f;
        if (!(ch[nch].path = strdup(f->path))) {
            rc = dx_error_set(err, DX_ENOMEM, "out of memory");
            goto done;
        }
        nch++;
    }
    if (!base) {
        if ((rc = empty_tree(wrepo, &tb, &empty, out_tree, err)) < 0)
            goto done;
        base = empty;
    }
    if (two_steps) {
        if ((gr = git_tree_create_updated(out_tree, wrepo, base, ndel, ups)) < 0 ||
            (gr = git_tree_lookup(&removed, wrepo, out_tree)) < 0) {
            rc = dx_git_fail(err, gr, "cannot write the trees of %zu deleted paths", ndel);
            goto done;
        }
        base = removed;
    }
    if (nups == 0)
        *out_tree = *git_tree_id(base);
    else if ((gr = git_tree_create_updated(out_tree, wrepo, base, nups - (two_steps ? ndel : 0),
                                           ups + (two_steps ? ndel : 0))) < 0) {
        rc = dx_git_fail(err, gr, "cannot write the trees of %zu changed paths", nups);
        goto done;
    }
    if (stats) {
        stats->packed = wrepo != g->repo;
        count_changes(stats, ch, nch);
    }
    qsort(ch, nch, sizeof *ch, cmp_change);
    *out_changes = ch;
    *out_nchanges = nch;
    ch = NULL;
done:
    dx_git_changes_free(ch, nch);
    git_tree_free(empty);
    git_tree_free(removed);
    git_treebuilder_free(tb);
    free(sorted);
    free(dels);
    free(ids);
    free(state);
    free(new_blob);
    free(ups);
    git_odb_free(odb);
    dx_hash_release(&md);
    return rc;
}
