/* git_sync.c - make the index match a new commit: patch it in place when it is known to match
 * the parent (the index memo), else through libgit2. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "diaryx/fs.h"
#include "diaryx/hash.h"
#include "git_internal.h"

#define MEMO_FILE "diaryx-index"
#define MEMO_LEN  115 /* index checksum, tree (40 hex each), digest (32 hex), spaces, '\n' */

/* Whether the index holds exactly the files of l: stage 0, same paths, ids and modes. */
static int index_matches(git_index *idx, const dx_git_tree_list *l)
{
    if (git_index_entrycount(idx) != l->n)
        return 0;
    for (size_t i = 0; i < l->n; i++) {
        const git_index_entry *e = git_index_get_byindex(idx, i);
        if (!e || GIT_INDEX_ENTRY_STAGE(e) != 0 || e->mode != l->v[i].mode ||
            !git_oid_equal(&e->id, &l->v[i].id) || strcmp(e->path, l->v[i].path) != 0)
            return 0;
    }
    return 1;
}

/* The path a change puts into the index (NULL for a deletion). */
static const char *added_path(const dx_git_change *c)
{
    return c->kind == 'R' ? c->to : c->kind == 'D' ? NULL : c->path;
}

/* Apply the changes of a commit to an index that matched its parent. Added and changed files
 * get their stat data from the work tree file (st[k], taken by sync_worktree before it last
 * saw the committed bytes there), so `git status` need not hash them again; this is what
 * git_index_add_bypath would record, without reading and hashing each file once more.
 * Returns 1 when a file's stat data is missing (the caller rebuilds the index instead). */
static int apply_changes(git_index *idx, const dx_git_change *ch, const struct stat *st,
                         const unsigned char *have_st, size_t nch)
{
    for (size_t k = 0; k < nch; k++) {
        const char *add = added_path(&ch[k]);
        if ((ch[k].kind == 'D' || ch[k].kind == 'R') &&
            git_index_remove_bypath(idx, ch[k].path) < 0)
            return -1;
        if (!add)
            continue;
        if (!have_st[k])
            return 1;
        git_index_entry e;
        memset(&e, 0, sizeof e);
        e.ctime.seconds = (int32_t)st[k].st_ctim.tv_sec;
        e.ctime.nanoseconds = (uint32_t)st[k].st_ctim.tv_nsec;
        e.mtime.seconds = (int32_t)st[k].st_mtim.tv_sec;
        e.mtime.nanoseconds = (uint32_t)st[k].st_mtim.tv_nsec;
        e.dev = (uint32_t)st[k].st_dev;
        e.ino = (uint32_t)st[k].st_ino;
        e.mode = GIT_FILEMODE_BLOB;
        e.uid = (uint32_t)st[k].st_uid;
        e.gid = (uint32_t)st[k].st_gid;
        e.file_size = (uint32_t)st[k].st_size;
        e.id = ch[k].id;
        e.path = add;
        if (git_index_add(idx, &e) < 0)
            return -1;
    }
    return 0;
}

static int hexval(int c)
{
    return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

static int unhex(const char *s, unsigned char *out, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        int h = hexval(s[2 * i]), l = hexval(s[2 * i + 1]);
        if (h < 0 || l < 0)
            return -1;
        out[i] = (unsigned char)(h << 4 | l);
    }
    return 0;
}

/* The memo of .git/diaryx-index (written by the last process that patched or wrote the index:
 * maybe another one, e.g. a `diaryx commit` beside a watching daemon). Only a complete memo
 * about want_tree replaces the one in memory. */
static void memo_load(dx_git *g, const git_oid *want_tree)
{
    char p[4096], b[MEMO_LEN + 1];
    unsigned char sum[20], dg[16];
    git_oid tree;
    snprintf(p, sizeof p, "%s" MEMO_FILE, git_repository_path(g->repo));
    int fd = open(p, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return;
    ssize_t r = read(fd, b, sizeof b);
    close(fd);
    if (r != MEMO_LEN || b[40] != ' ' || b[81] != ' ' || b[114] != '\n' || unhex(b, sum, 20) < 0 ||
        unhex(b + 41, tree.id, 20) < 0 || unhex(b + 82, dg, 16) < 0 ||
        !git_oid_equal(&tree, want_tree))
        return;
    memcpy(g->index_sum, sum, 20);
    g->index_tree = tree;
    for (int l = 0; l < 2; l++) {
        g->index_digest[l] = 0;
        for (int i = 0; i < 8; i++)
            g->index_digest[l] = g->index_digest[l] << 8 | dg[8 * l + i];
    }
    g->index_memo_valid = 1;
}

/* Remember that the index with checksum sum (and file list digest dg) holds the files of tree.
 * The file is rewritten in place (no new inode): a torn write leaves a memo of the wrong
 * length, which is ignored. */
static void memo_store(dx_git *g, const unsigned char sum[20], const git_oid *tree,
                       const uint64_t dg[2])
{
    char p[4096], b[MEMO_LEN + 1];
    memcpy(g->index_sum, sum, 20);
    g->index_tree = *tree;
    g->index_digest[0] = dg[0];
    g->index_digest[1] = dg[1];
    g->index_memo_valid = 1;
    for (int i = 0; i < 20; i++)
        snprintf(b + 2 * i, 3, "%02x", sum[i]);
    b[40] = ' ';
    git_oid_tostr(b + 41, 41, tree);
    b[81] = ' ';
    snprintf(b + 82, 33, "%016llx%016llx", (unsigned long long)dg[0], (unsigned long long)dg[1]);
    b[114] = '\n';
    snprintf(p, sizeof p, "%s" MEMO_FILE, git_repository_path(g->repo));
    int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
    if (fd < 0)
        return; /* the next process takes the libgit2 path once */
    if (write(fd, b, MEMO_LEN) != MEMO_LEN) {
        /* a short memo is ignored when read */
    }
    close(fd);
}

static int read_all(int fd, unsigned char *buf, size_t len)
{
    size_t got = 0;
    while (got < len) {
        ssize_t r = read(fd, buf + got, len - got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return -1;
        got += (size_t)r;
    }
    return 0;
}

static int write_all(int fd, const void *buf, size_t len)
{
    size_t put = 0;
    while (put < len) {
        ssize_t r = write(fd, (const char *)buf + put, len - put);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return -1;
        put += (size_t)r;
    }
    return 0;
}

static int cmp_edit(const void *a, const void *b)
{
    return strcmp(((const dx_git_index_edit *)a)->path, ((const dx_git_index_edit *)b)->path);
}

/* Whether the work tree file of an unchanged, racily clean entry e still has the entry's stat
 * data but other bytes than its blob (git's "racy git": written in the same timestamp as the
 * index). Looser than git's own stat comparison (seconds and size only), so that whatever git
 * would call unchanged is looked at; costs a read and a hash of the few such files. */
static int racy_changed(dx_git *g, const unsigned char *data, const dx_git_index_entry *e,
                        dx_hash *md)
{
    dx_buf rel = DX_BUF_INIT, bytes = DX_BUF_INIT;
    struct stat st;
    int changed = 1;
    /* Through dx_fs_*_in: a link in the work tree is never followed. Out of memory: changed
     * (smudged), which only makes git compare the file's content itself. */
    if (dx_buf_append(&rel, e->path, e->path_len) < 0) {
        changed = 1;
    } else if (dx_fs_stat_in(g->root, dx_buf_cstr(&rel), &st, NULL) != 0 || !S_ISREG(st.st_mode) ||
               (uint32_t)st.st_size != e->size || (uint32_t)st.st_mtim.tv_sec != e->mtime_sec) {
        changed = 0; /* git sees the difference itself */
    } else if (dx_fs_read_in(g->root, dx_buf_cstr(&rel), &bytes, NULL, NULL) == 0 &&
               bytes.len == e->size) {
        unsigned char sum[DX_SHA1_LEN];
        changed = dx_hash_blob_id(md, dx_buf_cstr(&bytes), bytes.len, sum) < 0 ||
                  memcmp(sum, data + e->off + 40, sizeof sum) != 0;
    }
    dx_buf_release(&rel);
    dx_buf_release(&bytes);
    return changed;
}

/* Open the index: its file (for the caller to close), stat data and trailing checksum. */
static int open_index(const char *ipath, int *out_fd, struct stat *out_st, unsigned char sum[20])
{
    int fd = open(ipath, O_RDONLY | O_CLOEXEC);
    if (fd >= 0 && fstat(fd, out_st) == 0 && out_st->st_size >= 32 &&
        (uint64_t)out_st->st_size <= ((uint64_t)1 << 31) &&
        pread(fd, sum, 20, (off_t)out_st->st_size - 20) == 20) {
        *out_fd = fd;
        return 0;
    }
    if (fd >= 0)
        close(fd);
    return -1;
}

/* The fast path: when the memo's tree is the parent's and the index is the memo's (its trailing
 * checksum, else the digest of its file list), write it again under index.lock (git's
 * protocol: O_EXCL create, write, rename over the index) with only the changed entries
 * replaced. Returns 1 when it does not apply (the caller takes the libgit2 path), 0 when the
 * index was written (or already right). */
static int patch_index(dx_git *g, const git_oid *parent_tree, const git_oid *new_tree,
                       const dx_git_change *ch, const struct stat *st, const unsigned char *have_st,
                       size_t nch, dx_error *err)
{
    char ipath[4096], lpath[4200];
    int rc = 1, lock = -1, fd = -1;
    unsigned char *data = NULL, *smudge = NULL;
    dx_git_index_view v = {0};
    dx_git_index_edit *ed = NULL;
    dx_buf out = DX_BUF_INIT;
    dx_hash md = DX_HASH_INIT; /* one OpenSSL context for the racy entries */
    struct stat ist;
    size_t ne = 0;

    if (!parent_tree)
        return 1;
    for (size_t k = 0; k < nch; k++)
        if (added_path(&ch[k]) && (!st || !have_st[k]))
            return 1;
    snprintf(ipath, sizeof ipath, "%sindex", git_repository_path(g->repo));
    snprintf(lpath, sizeof lpath, "%s.lock", ipath);
    /* a first look without the lock (a miss costs no lock file): this process's memo, else the
     * one on disk (another process may have committed since) */
    unsigned char sum[20];
    if (open_index(ipath, &fd, &ist, sum) < 0)
        return 1;
    close(fd);
    fd = -1;
    if (!g->index_memo_valid || !git_oid_equal(&g->index_tree, parent_tree) ||
        memcmp(sum, g->index_sum, 20) != 0)
        memo_load(g, parent_tree);
    if (!g->index_memo_valid || !git_oid_equal(&g->index_tree, parent_tree))
        return 1;
    if (nch == 0 && memcmp(sum, g->index_sum, 20) == 0)
        return 0; /* it holds the parent's files already */
    lock = open(lpath, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
    if (lock < 0) {
        if (errno == EEXIST)
            return dx_error_set(err, DX_ECONFLICT,
                                "cannot lock the index: '%s' exists (another git process is "
                                "running, or one was killed: remove it)",
                                lpath);
        return dx_error_set(err, DX_EIO, "cannot lock the index '%s': %s", lpath, strerror(errno));
    }
    /* again under the lock: another writer may have replaced it meanwhile */
    if (open_index(ipath, &fd, &ist, sum) < 0)
        goto done;
    int same = memcmp(sum, g->index_sum, 20) == 0;
    size_t len = (size_t)ist.st_size;
    const unsigned char *bytes = (const unsigned char *)g->index_bytes.data;
    if (!same || g->index_bytes.len != len || memcmp(bytes + len - 20, sum, 20) != 0) {
        /* not the index this process wrote last: read it */
        if (!(data = malloc(len)) || read_all(fd, data, len) < 0)
            goto done;
        bytes = data;
    }
    if (dx_git_index_parse(bytes, len, &v, NULL) < 0)
        goto done;
    /* Another checksum (git status rewrote the index to settle racily clean entries, git
     * update-index --refresh, ...) may still hold the same files: the digest of its file list
     * tells (a read and a hash of the ~1 MB instead of libgit2's read, walk and write). */
    uint64_t dg[2] = {g->index_digest[0], g->index_digest[1]};
    if (!same) {
        dx_git_index_digest(bytes, &v, dg);
        if (dg[0] != g->index_digest[0] || dg[1] != g->index_digest[1])
            goto done;
        if (nch == 0) {
            memo_store(g, sum, parent_tree, dg);
            rc = 0;
            goto done;
        }
    }
    /* the edits, sorted by path */
    ed = calloc(2 * nch + 1, sizeof *ed);
    smudge = calloc(v.n ? v.n : 1, 1);
    if (!ed || !smudge) {
        rc = dx_error_set(err, DX_ENOMEM, "out of memory updating the index");
        goto done;
    }
    for (size_t k = 0; k < nch; k++) {
        const char *add = added_path(&ch[k]);
        if (ch[k].kind == 'D' || ch[k].kind == 'R')
            ed[ne++] = (dx_git_index_edit){.path = ch[k].path, .remove = 1};
        if (!add)
            continue;
        dx_git_index_edit *e = &ed[ne++];
        memset(e, 0, sizeof *e);
        e->path = add;
        e->ctime_sec = (uint32_t)st[k].st_ctim.tv_sec;
        e->ctime_nsec = (uint32_t)st[k].st_ctim.tv_nsec;
        e->mtime_sec = (uint32_t)st[k].st_mtim.tv_sec;
        e->mtime_nsec = (uint32_t)st[k].st_mtim.tv_nsec;
        e->dev = (uint32_t)st[k].st_dev;
        e->ino = (uint32_t)st[k].st_ino;
        e->mode = GIT_FILEMODE_BLOB;
        e->uid = (uint32_t)st[k].st_uid;
        e->gid = (uint32_t)st[k].st_gid;
        e->size = (uint32_t)st[k].st_size;
        memcpy(e->id, ch[k].id.id, 20);
    }
    qsort(ed, ne, sizeof *ed, cmp_edit);
    /* racily clean entries (modified no earlier than the index itself, to the second) are
     * checked as git does when it writes an index */
    for (size_t i = 0; i < v.n; i++)
        if (v.v[i].mtime_sec >= (uint32_t)ist.st_mtim.tv_sec && v.v[i].size != 0)
            smudge[i] = (unsigned char)racy_changed(g, bytes, &v.v[i], &md);
    out = g->index_spare; /* its memory is reused */
    memset(&g->index_spare, 0, sizeof g->index_spare);
    if ((rc = dx_git_index_patch(bytes, &v, ed, ne, smudge, dg, &out, err)) < 0)
        goto done;
    if (write_all(lock, out.data, out.len) < 0 || close(lock) < 0) {
        lock = -1;
        rc = dx_error_set(err, DX_EIO, "cannot write '%s': %s", lpath, strerror(errno));
        goto done;
    }
    lock = -1;
    if (rename(lpath, ipath) < 0) {
        rc = dx_error_set(err, DX_EIO, "cannot replace the index '%s': %s", ipath, strerror(errno));
        goto done;
    }
    lpath[0] = 0;
    g->index_patches++;
    memo_store(g, (const unsigned char *)out.data + out.len - 20, new_tree, dg);
    /* keep what was written for the next patch; the old bytes' memory becomes the spare */
    g->index_spare = g->index_bytes;
    g->index_bytes = out;
    memset(&out, 0, sizeof out);
    rc = 0;
done:
    if (lock >= 0)
        close(lock);
    if (lpath[0])
        unlink(lpath);
    if (fd >= 0)
        close(fd);
    free(data);
    free(smudge);
    free(ed);
    dx_git_index_view_release(&v);
    dx_buf_release(&out);
    dx_hash_release(&md);
    return rc;
}

/* Record the memo of an index libgit2 read or wrote and that holds the files of tree. */
static void remember(dx_git *g, git_index *idx, git_tree *tree)
{
    uint64_t dg[2] = {0, 0};
    size_t n = git_index_entrycount(idx);
    for (size_t i = 0; i < n; i++) {
        const git_index_entry *e = git_index_get_byindex(idx, i);
        if (!e || GIT_INDEX_ENTRY_STAGE(e) != 0)
            return;
        dx_git_index_digest_entry(e->path, strlen(e->path), e->mode, e->id.id, 1, dg);
    }
    memo_store(g, git_index_checksum(idx)->id, git_tree_id(tree), dg);
}

int dx_git_sync_index(dx_git *g, git_tree *new_tree, git_tree *parent_tree,
                      const dx_git_tree_list *parent, const dx_git_change *ch,
                      const struct stat *st, const unsigned char *have_st, size_t nch,
                      dx_error *err)
{
    git_index *idx = NULL;
    dx_git_tree_list walked = {0};
    int rc, gr, r = 1;
    rc = patch_index(g, parent_tree ? git_tree_id(parent_tree) : NULL, git_tree_id(new_tree), ch,
                     st, have_st, nch, err);
    if (rc <= 0)
        return rc;
    rc = 0;
    /* the libgit2 path. The memo need not be forgotten: what it says (this checksum, that
     * tree) stays true; it just no longer names the index file. */
    dx_buf_release(&g->index_bytes);
    if ((gr = git_repository_index(&idx, g->repo)) < 0 || (gr = git_index_read(idx, 0)) < 0) {
        rc = dx_git_fail(err, gr, "cannot read the index");
        goto done;
    }
    if (!parent && parent_tree && (nch == 0 || st)) {
        if ((rc = dx_git_tree_files(parent_tree, &walked, err)) < 0)
            goto done;
        parent = &walked;
    }
    if (parent && (nch == 0 || st) && index_matches(idx, parent)) {
        if (nch == 0) {
            remember(g, idx, new_tree);
            goto done;
        }
        if ((r = apply_changes(idx, ch, st, have_st, nch)) < 0) {
            rc = dx_git_fail(err, r, "cannot update the index with %zu changes", nch);
            goto done;
        }
    }
    if (r && (gr = git_index_read_tree(idx, new_tree)) < 0) {
        rc = dx_git_fail(err, gr, "cannot make the index match the commit");
        goto done;
    }
    if ((gr = git_index_write(idx)) < 0) {
        rc = dx_git_fail(err, gr, "cannot write the index");
        goto done;
    }
    g->index_rewrites++;
    remember(g, idx, new_tree);
done:
    dx_git_tree_list_release(&walked);
    git_index_free(idx);
    return rc;
}
