/* session.c - a workspace on disk around its CRDT documents (docset.c): import, external
 * edits, staged edits, and writing the files from the CRDT. */
#include "diaryx/session.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "diaryx/bodydoc.h"
#include "diaryx/docfiles.h"
#include "diaryx/docset.h"
#include "diaryx/fs.h"
#include "diaryx/ignore.h"
#include "diaryx/frontmatter.h"
#include "diaryx/hash.h"
#include "diaryx/idmap.h"
#include "diaryx/materialize.h"
#include "diaryx/paths.h"
#include "diaryx/strmap.h"
#include "diaryx/wsdoc.h"

struct dx_session {
    dx_workspace *ws;
    dx_crdt_store *store; /* owned */
    dx_docset *ds;        /* the documents, over store */
    dx_strmap recs;       /* path -> dx_store_file* (owned) */
    dx_strmap rec_ids;    /* entry id -> dx_store_file* (borrowed from recs) */
    dx_strmap taken;      /* ids whose file this round ingested (the file's base is now) */
    dx_strmap prefer;     /* path -> id (owned) for an import into a new store (idmap.h) */
    int64_t mat_point;
    bool full; /* re-render every entry in this round */
    dx_strlist warnings;
    dx_session_stats *stats;
    dx_session_stats scratch;
};

static int new_doc(y_doc **d, dx_error *err)
{
    y_doc_options o = Y_DOC_OPTIONS_INIT;
    return y_doc_new(d, &o) == Y_OK ? 0 : dx_error_set(err, DX_ENOMEM, "out of memory");
}

static int docs_load(dx_session *s, dx_error *err)
{
    return dx_docset_load(s->ds, err);
}

/* The workspace document; only after docs_load succeeded. */
static y_doc *wsdoc(dx_session *s)
{
    return dx_docset_workspace(s->ds);
}

static const char *path_id(dx_session *s, const char *path)
{
    return dx_strmap_get(dx_docset_index(s->ds), path);
}

int dx_session_body(dx_session *s, const char *id, y_doc **out, dx_error *err)
{
    return dx_docset_body(s->ds, id, out, err);
}

/* ---- file records --------------------------------------------------------------------- */

static int64_t mtime_ns(const struct stat *st)
{
    return (int64_t)st->st_mtim.tv_sec * 1000000000 + st->st_mtim.tv_nsec;
}

static void rec_drop(dx_session *s, const char *path)
{
    dx_store_file *r = dx_strmap_remove(&s->recs, path);
    if (!r)
        return;
    if (dx_strmap_get(&s->rec_ids, r->doc_id) == r)
        dx_strmap_remove(&s->rec_ids, r->doc_id);
    dx_store_file_remove(s->store, path, NULL);
    free(r->path);
    free(r);
}

/* Record that path (on disk, holding bytes; st its stat taken with those bytes) is entry
 * id's file as diaryx knows it. */
static int rec_set(dx_session *s, const char *path, const char *id, const char *bytes, size_t len,
                   const struct stat *st, dx_error *err)
{
    dx_store_file *r = dx_strmap_get(&s->recs, path);
    if (!r) {
        if (!(r = calloc(1, sizeof *r)) || !(r->path = strdup(path)) ||
            dx_strmap_put(&s->recs, path, r)) {
            if (r)
                free(r->path);
            free(r);
            return dx_error_set(err, DX_ENOMEM, "out of memory");
        }
    } else if (strcmp(r->doc_id, id) != 0 && dx_strmap_get(&s->rec_ids, r->doc_id) == r) {
        dx_strmap_remove(&s->rec_ids, r->doc_id);
    }
    snprintf(r->doc_id, sizeof r->doc_id, "%s", id);
    r->size = (int64_t)st->st_size;
    r->mtime_ns = mtime_ns(st);
    if (dx_hash_blob_hex(NULL, bytes, len, r->hash) || (id[0] && dx_strmap_put(&s->rec_ids, id, r)))
        return dx_error_set(err, DX_ENOMEM, "out of memory");
    return dx_store_file_put(s->store, r, err);
}

static void records_clear(dx_session *s)
{
    for (size_t i = 0; i < s->recs.cap; i++)
        if (s->recs.slots[i].key) {
            dx_store_file *r = s->recs.slots[i].value;
            free(r->path);
            free(r);
        }
    dx_strmap_release(&s->recs);
    dx_strmap_release(&s->rec_ids);
}

static int records_load(dx_session *s, dx_error *err)
{
    dx_store_file *files;
    size_t n;
    int rc = dx_store_files(s->store, &files, &n, err);
    for (size_t i = 0; !rc && i < n; i++) {
        dx_store_file *r = malloc(sizeof *r);
        if (!r || dx_strmap_put(&s->recs, files[i].path, r)) {
            free(r);
            rc = dx_error_set(err, DX_ENOMEM, "out of memory");
            break;
        }
        *r = files[i];
        files[i].path = NULL; /* moved */
        rc = r->doc_id[0] && dx_strmap_put(&s->rec_ids, r->doc_id, r)
                 ? dx_error_set(err, DX_ENOMEM, "out of memory")
                 : 0;
    }
    dx_store_files_free(files, n);
    return rc;
}

/* ---- helpers -------------------------------------------------------------------------- */

static int touch(dx_session *s, const char *id, dx_error *err)
{
    return dx_docset_touch(s->ds, id) ? dx_error_set(err, DX_ENOMEM, "out of memory") : 0;
}

/* Every file access below goes through dx_fs_*_in: no symbolic link is followed. */
static int read_rel(dx_session *s, const char *path, dx_buf *out, struct stat *st, dx_error *err)
{
    return dx_fs_read_in(dx_workspace_root(s->ws), path, out, st, err);
}

int dx_session_render(dx_session *s, const char *id, dx_buf *path, dx_buf *bytes, dx_error *err)
{
    y_doc *body;
    int rc = docs_load(s, err);
    if (!rc)
        rc = dx_session_body(s, id, &body, err);
    if (!rc)
        rc = dx_materialize_entry(wsdoc(s), id, body, dx_workspace_link_format(s->ws), path, bytes,
                                  err);
    return rc;
}

/* What a command in staging mode reads for a file (dx_workspace_set_source): an entry's file
 * as the session's documents have it. The disk holds exactly that while the file is what
 * this session last recorded (same size and time, looked at after reading, so a write that
 * races the read is seen). When it is instead what another diaryx process recorded since
 * (the store's record now), that process wrote a newer state, and the entry is rendered
 * from this session's documents: the command's edit must be a change of the state it saw,
 * or taking it in would undo the other process's edit. Bytes no diaryx process recorded (an
 * editor's, possibly unreadable) are read as they are, as before sessions merged. Other
 * files: the disk. The documents are loaded only for a file another process rewrote. */
static int read_source(void *ud, const char *rel, dx_buf *out, dx_error *err)
{
    dx_session *s = ud;
    const dx_store_file *r = dx_strmap_get(&s->recs, rel);
    struct stat st;
    size_t at = out->len;
    /* Confined, and st is the fstat the bytes were read with (a racing write is seen). */
    int rc = read_rel(s, rel, out, &st, err);
    bool seen = !rc && (int64_t)(out->len - at) == st.st_size && st.st_mtim.tv_sec != 0;
    if (rc || !seen || (r && (int64_t)st.st_size == r->size && mtime_ns(&st) == r->mtime_ns))
        return rc; /* unreadable (the error says why), or this session's bytes */
    dx_store_file now;
    if (dx_store_file_get(s->store, rel, &now, NULL) != 0 || (int64_t)st.st_size != now.size ||
        mtime_ns(&st) != now.mtime_ns || (r && !strcmp(now.hash, r->hash)))
        return 0; /* not another diaryx process's */
    if ((rc = docs_load(s, err)))
        return rc;
    const char *id = path_id(s, rel);
    if (!id)
        return 0; /* not an entry: its bytes as they are */
    dx_buf_truncate(out, at);
    char keep[DX_UUID_LEN + 1];
    snprintf(keep, sizeof keep, "%s", id);
    dx_buf path = DX_BUF_INIT;
    rc = dx_session_render(s, keep, &path, out, err);
    dx_buf_release(&path);
    return rc;
}

/* Capture the updates of a scratch doc (a fork). */
typedef struct capture {
    uint8_t **updates;
    size_t *lens;
    size_t n, cap;
    bool oom;
} capture;

static void on_capture(void *user, const uint8_t *update, size_t len, const void *origin)
{
    (void)origin;
    capture *c = user;
    if (c->n == c->cap) {
        size_t cap = c->cap ? c->cap * 2 : 4;
        uint8_t **u = realloc(c->updates, cap * sizeof *u);
        size_t *l = u ? realloc(c->lens, cap * sizeof *l) : NULL;
        if (u)
            c->updates = u;
        if (!u || !l) {
            c->oom = true;
            return;
        }
        c->lens = l;
        c->cap = cap;
    }
    if (!(c->updates[c->n] = malloc(len ? len : 1))) {
        c->oom = true;
        return;
    }
    memcpy(c->updates[c->n], update, len);
    c->lens[c->n++] = len;
}

static void capture_release(capture *c)
{
    for (size_t i = 0; i < c->n; i++)
        free(c->updates[i]);
    free(c->updates);
    free(c->lens);
}

/* A scratch copy of document name as it was when the files were last written, when the
 * CRDT has changed since (else NULL: edit the live document). */
static int fork_if_moved(dx_session *s, const char *name, y_doc **fork, capture *cap, dx_error *err)
{
    *fork = NULL;
    if (dx_store_last_id(s->store, name) <= s->mat_point)
        return 0;
    int rc = new_doc(fork, err);
    if (!rc && (rc = dx_store_load_upto(s->store, name, s->mat_point, *fork, err)) == 0 &&
        y_doc_on_update(*fork, on_capture, cap) < 0)
        rc = dx_error_set(err, DX_ENOMEM, "out of memory");
    if (rc) {
        y_doc_free(*fork);
        *fork = NULL;
    }
    return rc;
}

static int apply_captured(y_doc *into, capture *c, dx_error *err)
{
    if (c->oom)
        return dx_error_set(err, DX_ENOMEM, "out of memory");
    for (size_t i = 0; i < c->n; i++)
        if (y_apply_update(into, c->updates[i], c->lens[i], "fork") != Y_OK)
            return dx_error_set(err, DX_ECORRUPT, "cannot merge an edit into the CRDT");
    return 0;
}

/* ---- ingest --------------------------------------------------------------------------- */

/* Take the bytes of a file changed outside diaryx into entry id. When the CRDT moved on
 * since the file was written, the edit is made on the state the file came from and then
 * merged, so a concurrent remote change survives. A file that cannot be taken in is left
 * alone with a warning. */
static int ingest_changed(dx_session *s, const char *id_in, const char *path, const dx_buf *bytes,
                          const struct stat *st, dx_error *err)
{
    char id[DX_UUID_LEN + 1];
    snprintf(id, sizeof id, "%s", id_in);
    dx_buf p = DX_BUF_INIT, cur = DX_BUF_INIT;
    int rc = docs_load(s, err);
    if (rc)
        goto done;
    /* Already what the CRDT says (a write whose record was not kept): just record it. */
    if (dx_wsdoc_is_live(wsdoc(s), id) && dx_session_render(s, id, &p, &cur, NULL) == 0 &&
        !strcmp(p.data, path) && cur.len == bytes->len &&
        !memcmp(dx_buf_cstr(&cur), dx_buf_cstr(bytes), cur.len)) {
        rc = rec_set(s, path, id, dx_buf_cstr(bytes), bytes->len, st, err);
        goto done;
    }
    char body_name[DX_DOC_NAME_MAX];
    dx_doc_body_name(id, body_name);
    y_doc *body = NULL, *ws_fork = NULL, *body_fork = NULL;
    capture wc = {0}, bc = {0};
    dx_error e = DX_ERROR_INIT;
    if ((rc = dx_session_body(s, id, &body, err)))
        goto done;
    if (fork_if_moved(s, DX_DOC_WORKSPACE, &ws_fork, &wc, &e) ||
        fork_if_moved(s, body_name, &body_fork, &bc, &e))
        dx_strlist_pushf(
            &s->warnings,
            "'%s': the state it was written from is gone (%s); its edit is applied to the "
            "current state",
            path, e.msg);
    dx_error_clear(&e);
    rc = dx_ingest_entry_with(ws_fork ? ws_fork : wsdoc(s), id, path, dx_buf_cstr(bytes),
                              bytes->len, body_fork ? body_fork : body,
                              dx_workspace_link_format(s->ws), dx_docset_lookup, s->ds, &e);
    if (rc == DX_EPARSE || rc == DX_EINVAL) {
        dx_strlist_pushf(
            &s->warnings,
            "'%s' was changed outside diaryx but cannot be read (%s); it is left as it is", path,
            e.msg);
        rc = 0;
    } else if (!rc) {
        if (!(rc = apply_captured(wsdoc(s), &wc, err)) && !(rc = apply_captured(body, &bc, err)) &&
            !(rc = touch(s, id, err)) &&
            !(rc = dx_strmap_put(&s->taken, id, (void *)1)
                       ? dx_error_set(err, DX_ENOMEM, "out of memory")
                       : 0) &&
            !(rc = rec_set(s, path, id, dx_buf_cstr(bytes), bytes->len, st, err)))
            s->stats->ingested++;
    } else {
        rc = dx_error_set(err, rc, "%s", e.msg);
    }
    y_doc_free(ws_fork);
    y_doc_free(body_fork);
    capture_release(&wc);
    capture_release(&bc);
done:
    dx_buf_release(&p);
    dx_buf_release(&cur);
    return rc;
}

typedef struct newfile {
    const char *path;
    const char *bytes;
    size_t len;
    struct stat st; /* on disk: the stat read with the bytes */
    char id[DX_UUID_LEN + 1];
} newfile;

/* Whether bytes at path are a note that can be an entry (1), not (0: not UTF-8 text, or
 * frontmatter that does not parse; one never closed is named in a warning), or an error
 * (out of memory). */
static int readable_note(dx_session *s, const char *path, const char *bytes, size_t len,
                         dx_error *err)
{
    dx_fm *fm = NULL;
    dx_error e = DX_ERROR_INIT;
    int prc = 0;
    bool unclosed = false;
    if (y_utf8_valid(bytes, len) && (prc = dx_fm_parse(bytes, len, path, &fm, &e)) == 0 &&
        !(unclosed = dx_fm_unclosed(fm))) {
        dx_fm_free(fm);
        return 1;
    }
    dx_fm_free(fm);
    if (prc && prc != DX_EPARSE) /* out of memory says nothing about the file */
        return dx_error_set(err, prc, "%s", e.msg);
    /* Importing it would prepend an empty frontmatter block to what is meant as one: leave
     * it as it is and say so. */
    if (unclosed)
        dx_strlist_pushf(&s->warnings,
                         "'%s' starts with '---' but its frontmatter is never closed; it is "
                         "left as it is (add the closing '---' line)",
                         path);
    return 0;
}

/* Take new files found on disk in: every entry is first created at its path, then each file
 * ingested, so links between the new files resolve whatever their order. */
static int import_files(dx_session *s, newfile *files, size_t n, dx_error *err)
{
    int rc = docs_load(s, err);
    for (size_t i = 0; !rc && i < n; i++) {
        /* The one rule for entry paths: nothing is taken in inside .git, .diaryx or another
         * hidden or build directory. */
        if (dx_workspace_check_path(files[i].path, NULL, NULL) != 0) {
            files[i].path = NULL;
            continue;
        }
        int ok = readable_note(s, files[i].path, files[i].bytes, files[i].len, err);
        if (ok < 0) {
            rc = ok;
            break;
        }
        if (!ok) {
            /* Recorded without an entry, and not tried again until it changes; `diaryx
             * validate` reports it (InvalidFrontmatter), a command on it fails with the
             * parse error. */
            rc = rec_set(s, files[i].path, "", files[i].bytes, files[i].len, &files[i].st, err);
            files[i].path = NULL;
            continue;
        }
        dx_entry en = DX_ENTRY_INIT;
        if (!(en.filename = strdup(files[i].path)))
            rc = dx_error_set(err, DX_ENOMEM, "out of memory");
        /* A store built again from the files: the entry gets the id it had (unless taken). */
        const char *was = dx_strmap_get(&s->prefer, files[i].path);
        dx_entry taken = DX_ENTRY_INIT;
        if (!rc && was && dx_wsdoc_get(wsdoc(s), was, &taken, NULL) == DX_ENOTFOUND)
            snprintf(en.id, sizeof en.id, "%s", was);
        dx_entry_release(&taken);
        if (!rc)
            rc = dx_wsdoc_put(wsdoc(s), &en, err);
        if (!rc) {
            snprintf(files[i].id, sizeof files[i].id, "%s", en.id);
            if (dx_docset_index_set(s->ds, files[i].path, en.id))
                rc = dx_error_set(err, DX_ENOMEM, "out of memory");
        }
        dx_entry_release(&en);
    }
    for (size_t i = 0; !rc && i < n; i++) {
        if (!files[i].path)
            continue;
        y_doc *body;
        if (!(rc = dx_session_body(s, files[i].id, &body, err)) &&
            !(rc = dx_ingest_entry_with(wsdoc(s), files[i].id, files[i].path, files[i].bytes,
                                        files[i].len, body, dx_workspace_link_format(s->ws),
                                        dx_docset_lookup, s->ds, err)) &&
            !(rc = touch(s, files[i].id, err)))
            s->stats->imported++;
    }
    return rc;
}

/* ---- writing files -------------------------------------------------------------------- */

static void remove_empty_dirs(dx_session *s, const char *path)
{
    dx_buf dir = DX_BUF_INIT;
    dx_path_dirname(path, &dir);
    while (dir.len) {
        if (dx_fs_rmdir_in(dx_workspace_root(s->ws), dir.data, NULL) != 0)
            break;
        const char *slash = strrchr(dir.data, '/');
        dx_buf_truncate(&dir, slash ? (size_t)(slash - dir.data) : 0);
    }
    dx_buf_release(&dir);
}

static void keep_late(dx_session *s, const char *path, const dx_buf *late, bool restored);

/* Remove a file diaryx wrote, unless it was changed on disk since. */
static int remove_recorded(dx_session *s, const char *path_in)
{
    char *path = strdup(path_in);
    dx_store_file *r = dx_strmap_get(&s->recs, path_in);
    dx_buf cur = DX_BUF_INIT, late = DX_BUF_INIT;
    char hash[48];
    if (!path || !r) {
        free(path);
        return path ? 0 : DX_ENOMEM;
    }
    int rc = read_rel(s, path, &cur, NULL, NULL), urc = 0;
    dx_fs_expect expect = {.bytes = dx_buf_cstr(&cur), .len = cur.len, .late = &late};
    if (rc == DX_ENOTFOUND) {
        rc = 0;
    } else if (rc) {
        /* Unreadable now (memory, I/O) is no sign of an edit: the round fails instead of
         * keeping the file, which the next command would take in as a new entry. */
    } else if (!dx_hash_blob_hex(NULL, dx_buf_cstr(&cur), cur.len, hash) &&
               !strcmp(hash, r->hash) &&
               (urc = dx_fs_unlink_in(dx_workspace_root(s->ws), path, &expect, NULL)) !=
                   DX_ECONFLICT) {
        if (urc == 0 && expect.late_write) {
            /* Written by another program while it was removed: put its bytes back. */
            dx_fs_expect absent = {.absent = true};
            keep_late(s, path, &late,
                      dx_fs_write_in(dx_workspace_root(s->ws), path, late.data, late.len, 0644,
                                     &absent, NULL, NULL) == 0);
        } else if (urc == 0) {
            s->stats->deleted++;
            remove_empty_dirs(s, path);
        } else if (urc != DX_ENOTFOUND) {
            rc = urc; /* could not remove it: the round fails, the record stays */
        }
    } else {
        dx_strlist_pushf(&s->warnings,
                         "'%s' was changed outside diaryx; it is kept, and taken in as a new entry",
                         path);
        rc = 0;
    }
    if (!rc)
        rec_drop(s, path);
    dx_buf_release(&cur);
    dx_buf_release(&late);
    free(path);
    return rc;
}

/* Files left as they are while the CRDT moved on: the next commit must check every entry
 * (a commit of the changes alone would not look at them). */
static void want_full_check(dx_session *s)
{
    /* A new value each time: a commit clears only the value it read. */
    struct timespec ts;
    char v[64];
    clock_gettime(CLOCK_REALTIME, &ts);
    snprintf(v, sizeof v, "%lld.%09ld-%d", (long long)ts.tv_sec, ts.tv_nsec, (int)getpid());
    dx_store_meta_set(s->store, DX_SESSION_META_CHECK_ALL, v, NULL);
}

/* Bytes another program wrote into a file in the instant diaryx replaced or removed it
 * (dx_fs_expect.late): put back at path when that was possible (restored), else kept as a
 * conflict copy next to it. Either way the next scan takes them in as an edit or a new
 * entry, and the user is told. */
static void keep_late(dx_session *s, const char *path, const dx_buf *late, bool restored)
{
    dx_buf copy = DX_BUF_INIT, stem = DX_BUF_INIT, dir = DX_BUF_INIT;
    dx_fs_expect absent = {.absent = true};
    want_full_check(s);
    if (restored) {
        dx_strlist_pushf(&s->warnings,
                         "'%s' was written by another program while diaryx removed it; it is "
                         "kept as that program left it",
                         path);
        return;
    }
    dx_path_dirname(path, &dir);
    dx_path_stem(path, &stem);
    dx_buf_printf(&copy, "%s%s%s.conflict-%lld-%d.md", dir.data ? dir.data : "", dir.len ? "/" : "",
                  stem.data ? stem.data : "", (long long)time(NULL), (int)getpid());
    if (dx_fs_write_in(dx_workspace_root(s->ws), copy.data, dx_buf_cstr(late), late->len, 0644,
                       &absent, NULL, NULL) == 0)
        dx_strlist_pushf(&s->warnings,
                         "'%s' was written by another program while diaryx replaced it; what "
                         "it wrote is kept in '%s' (merge it by hand and delete the copy)",
                         path, copy.data);
    else
        dx_strlist_pushf(&s->warnings,
                         "'%s' was written by another program while diaryx replaced it, and "
                         "the copy '%s' could not be made: %zu bytes of that write are lost",
                         path, copy.data, late->len);
    dx_buf_release(&copy);
    dx_buf_release(&stem);
    dx_buf_release(&dir);
}

/* The files a round writes: put in place together, with one flush to disk, then recorded
 * (a round that moves an index with 20,000 children writes 20,000 files). */
typedef struct writes {
    dx_file_batch batch;
    struct queued {
        char *path, *bytes;
        size_t len;
        char id[DX_UUID_LEN + 1];
        struct stat st; /* of the new file */
        int rc;         /* what the commit did (dx_file_batch_done) */
        dx_buf late;
    } * q;
    size_t n, cap;
} writes;

static int writes_queue(writes *w, const char *path, const char *id, const dx_buf *bytes,
                        const struct stat *st)
{
    if (w->n == w->cap) {
        size_t cap = w->cap ? w->cap * 2 : 16;
        struct queued *q = realloc(w->q, cap * sizeof *q);
        if (!q)
            return DX_ENOMEM;
        w->q = q;
        w->cap = cap;
    }
    struct queued *e = &w->q[w->n];
    e->path = strdup(path);
    e->bytes = malloc(bytes->len ? bytes->len : 1);
    if (!e->path || !e->bytes) {
        free(e->path);
        free(e->bytes);
        return DX_ENOMEM;
    }
    memcpy(e->bytes, dx_buf_cstr(bytes), bytes->len);
    e->len = bytes->len;
    snprintf(e->id, sizeof e->id, "%s", id);
    e->st = *st;
    e->rc = 0;
    e->late = (dx_buf)DX_BUF_INIT;
    w->n++;
    return 0;
}

static void write_done(void *ud, size_t i, int rc, const dx_buf *late)
{
    writes *w = ud;
    if (i >= w->n)
        return;
    w->q[i].rc = rc;
    if (late && dx_buf_append(&w->q[i].late, late->data ? late->data : "", late->len))
        w->q[i].rc = DX_ENOMEM;
}

/* Put the queued files in place and record them. A file another program wrote after the
 * round read it is left alone (the check just before each rename); what it wrote in the
 * instant of a rename is kept (keep_late). */
static int writes_finish(dx_session *s, writes *w, dx_error *err)
{
    int rc = dx_file_batch_commit(&w->batch, write_done, w, err);
    for (size_t i = 0; !rc && i < w->n; i++) {
        struct queued *q = &w->q[i];
        if (q->rc == DX_ENOMEM) {
            rc = dx_error_set(err, DX_ENOMEM, "out of memory");
        } else if (q->rc) {
            dx_strlist_pushf(&s->warnings,
                             "'%s' is not overwritten: it holds changes diaryx has not taken in",
                             q->path);
            want_full_check(s);
        } else {
            if (q->late.len || q->late.data)
                keep_late(s, q->path, &q->late, false);
            if (!(rc = rec_set(s, q->path, q->id, q->bytes, q->len, &q->st, err)))
                s->stats->written++;
        }
    }
    return rc;
}

static void writes_release(writes *w)
{
    dx_file_batch_release(&w->batch);
    for (size_t i = 0; i < w->n; i++) {
        free(w->q[i].path);
        free(w->q[i].bytes);
        dx_buf_release(&w->q[i].late);
    }
    free(w->q);
}

/* Queue entry id's bytes for path (in w), unless a file diaryx did not write is there. The
 * file in the way is checked again just before its rename (dx_file_batch_commit). When the
 * entry's own file changed on disk since diaryx wrote it (another program wrote it after
 * this command's scan), the change is taken in first - merged with this command's edit on
 * the state the file came from - and the merge is written: neither the other program's
 * bytes nor the command's edit is lost. */
static int write_entry(dx_session *s, const char *path, const char *id, const dx_buf *bytes_in,
                       writes *w, dx_error *err)
{
    dx_buf cur = DX_BUF_INIT, merged = DX_BUF_INIT, mpath = DX_BUF_INIT;
    const dx_buf *bytes = bytes_in;
    char hash[48];
    struct stat st;
    dx_error e = DX_ERROR_INIT;
    int rc = dx_workspace_check_path(path, NULL, &e);
    if (rc) {
        /* An entry whose path no entry may have (made before the rule, or synced): it is
         * never written into .git or .diaryx. */
        dx_strlist_pushf(&s->warnings,
                         "%s; entry %s is not written (give it another path with `diaryx "
                         "workspace mv`, or delete it)",
                         e.msg, id);
        want_full_check(s);
        rc = 0;
        goto done;
    }
    for (int attempt = 0;; attempt++) {
        dx_store_file *r = dx_strmap_get(&s->recs, path);
        dx_buf_reset(&cur);
        dx_error_clear(&e);
        rc = read_rel(s, path, &cur, &st, &e);
        if (rc == 0 && cur.len == bytes->len &&
            !memcmp(dx_buf_cstr(&cur), dx_buf_cstr(bytes), cur.len)) {
            if (!r || strcmp(r->doc_id, id) != 0 || dx_strmap_get(&s->rec_ids, id) != r)
                rc = rec_set(s, path, id, dx_buf_cstr(bytes), bytes->len, &st, err);
            goto done;
        }
        if (rc == DX_EPATH) {
            /* A symbolic link (or a directory on the way that is one) is never written
             * through. */
            dx_strlist_pushf(&s->warnings, "%s; the entry is not written", e.msg);
            want_full_check(s);
            rc = 0;
            goto done;
        }
        if (rc == 0 && (!r || dx_hash_blob_hex(NULL, dx_buf_cstr(&cur), cur.len, hash) ||
                        strcmp(hash, r->hash) != 0)) {
            rc = DX_ECONFLICT;
            /* Only when the file's base is the state the files were last written from
             * (mat_point): not after an ingest in this round. */
            if (r && !strcmp(r->doc_id, id) && attempt < 3 && !dx_strmap_get(&s->taken, id)) {
                /* This entry's file, changed since diaryx wrote it: take it in, render
                 * the merge, and try again. */
                if ((rc = ingest_changed(s, id, path, &cur, &st, err)))
                    goto done;
                r = dx_strmap_get(&s->recs, path);
                dx_buf_reset(&mpath);
                dx_buf_reset(&merged);
                if (r && !dx_hash_blob_hex(NULL, dx_buf_cstr(&cur), cur.len, hash) &&
                    !strcmp(hash, r->hash) &&
                    dx_session_render(s, id, &mpath, &merged, NULL) == 0 &&
                    !strcmp(mpath.data, path)) {
                    bytes = &merged;
                    continue;
                }
                rc = DX_ECONFLICT; /* not taken in (unreadable): left alone */
            }
        }
        if (rc == 0 || rc == DX_ENOTFOUND) {
            dx_fs_expect expect = {.absent = rc == DX_ENOTFOUND,
                                   .bytes = rc ? NULL : dx_buf_cstr(&cur),
                                   .len = cur.len};
            dx_buf dir = DX_BUF_INIT;
            const char *root = dx_workspace_root(s->ws);
            dx_error_clear(&e);
            if (dx_path_dirname(path, &dir))
                rc = dx_error_set(&e, DX_ENOMEM, "out of memory");
            /* The directory without a link on the way; the batch writes beside the file. */
            else if (!(rc = dx_fs_mkdirs_in(root, dx_buf_cstr(&dir), &e)) &&
                     !(rc = dx_file_batch_write(&w->batch, root, path, dx_buf_cstr(bytes),
                                                bytes->len, 0644, &expect, &st, &e)) &&
                     writes_queue(w, path, id, bytes, &st))
                rc = dx_error_set(&e, DX_ENOMEM, "out of memory");
            dx_buf_release(&dir);
        }
        break;
    }
    if (rc == DX_ECONFLICT || rc == DX_EPATH) {
        dx_strlist_pushf(&s->warnings,
                         "'%s' is not overwritten: it holds changes diaryx has not taken in", path);
        want_full_check(s);
        rc = 0;
    } else if (rc && e.msg[0]) {
        rc = dx_error_set(err, rc, "%s", e.msg);
    }
done:
    dx_buf_release(&cur);
    dx_buf_release(&merged);
    dx_buf_release(&mpath);
    return rc;
}

/* Add id's children to set, and all their descendants when deep. */
static int add_children(dx_session *s, const char *id, dx_strmap *set, bool deep, int depth)
{
    dx_entry e = DX_ENTRY_INIT;
    int rc = 0;
    if (depth > 256 || dx_wsdoc_get(wsdoc(s), id, &e, NULL) != 0)
        return 0;
    for (size_t i = 0; !rc && i < e.contents.len; i++) {
        bool seen = dx_strmap_get(set, e.contents.items[i]) != NULL;
        rc = dx_strmap_put(set, e.contents.items[i], (void *)1);
        if (!rc && deep && !seen)
            rc = add_children(s, e.contents.items[i], set, true, depth + 1);
    }
    dx_entry_release(&e);
    return rc;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Write the files of the touched entries (all entries in a full round) and of the entries
 * whose file shows them: parents and children (links carry titles), and every descendant
 * of an entry whose path changed. */
static int materialize(dx_session *s, dx_error *err)
{
    dx_strmap set = DX_STRMAP_INIT;
    dx_strlist ids = DX_STRLIST_INIT;
    dx_buf path = DX_BUF_INIT, bytes = DX_BUF_INIT;
    writes w = {DX_FILE_BATCH_INIT, NULL, 0, 0};
    const dx_strmap *touched = dx_docset_touched(s->ds);
    int rc = s->full || touched->len ? docs_load(s, err) : 0;
    if (rc) {
    } else if (s->full) {
        /* Every entry, and every recorded file (its entry may be gone). */
        dx_strlist all = DX_STRLIST_INIT;
        rc = dx_wsdoc_ids(wsdoc(s), &all, err);
        for (size_t i = 0; !rc && i < all.len; i++)
            rc = dx_strmap_put(&set, all.items[i], (void *)1);
        dx_strlist_release(&all);
        for (size_t i = 0; !rc && i < s->recs.cap; i++) {
            const dx_store_file *r = s->recs.slots[i].value;
            if (s->recs.slots[i].key && r->doc_id[0])
                rc = dx_strmap_put(&set, r->doc_id, (void *)1);
        }
    } else {
        for (size_t i = 0; !rc && i < touched->cap; i++) {
            const char *id = touched->slots[i].key;
            if (!id)
                continue;
            dx_entry e = DX_ENTRY_INIT;
            rc = dx_strmap_put(&set, id, (void *)1);
            if (!rc && dx_wsdoc_get(wsdoc(s), id, &e, NULL) == 0) {
                if (e.part_of)
                    rc = dx_strmap_put(&set, e.part_of, (void *)1);
                dx_store_file *r = dx_strmap_get(&s->rec_ids, id);
                dx_buf_reset(&path);
                bool moved = !r || dx_wsdoc_path(wsdoc(s), id, &path, NULL) != 0 ||
                             strcmp(path.data, r->path) != 0;
                if (!rc)
                    rc = add_children(s, id, &set, moved, 0);
            }
            dx_entry_release(&e);
        }
    }
    for (size_t i = 0; !rc && i < set.cap; i++)
        if (set.slots[i].key)
            rc = dx_strlist_push(&ids, set.slots[i].key);
    if (ids.len > 1)
        qsort(ids.items, ids.len, sizeof(char *), cmp_str);
    /* First the files that must go (deleted entries, old paths of moved ones), so a file
     * that moves onto a freed path finds it free; then every live entry is written. */
    for (size_t i = 0; !rc && i < ids.len; i++) {
        dx_store_file *r = dx_strmap_get(&s->rec_ids, ids.items[i]);
        if (!r)
            continue;
        dx_buf_reset(&path);
        if ((!dx_wsdoc_is_live(wsdoc(s), ids.items[i]) ||
             (dx_wsdoc_path(wsdoc(s), ids.items[i], &path, NULL) == 0 &&
              strcmp(r->path, path.data) != 0)) &&
            (rc = remove_recorded(s, r->path)))
            dx_error_set(err, rc, "cannot remove the old file '%s': %s", r->path, dx_strerror(rc));
    }
    for (size_t i = 0; !rc && i < ids.len; i++) {
        const char *id = ids.items[i];
        if (!dx_wsdoc_is_live(wsdoc(s), id))
            continue;
        dx_buf_reset(&path);
        dx_buf_reset(&bytes);
        dx_error e = DX_ERROR_INIT;
        if ((rc = dx_session_render(s, id, &path, &bytes, &e)) == 0) {
            rc = write_entry(s, path.data, id, &bytes, &w, err);
        } else if (rc != DX_ENOMEM) {
            /* A damaged entry (a parent cycle, a body that does not decode) must not stop
             * the others; the commit's checks refuse to record the state. */
            dx_strlist_pushf(&s->warnings,
                             "entry %s cannot be written (%s); its file is left "
                             "as it is",
                             id, e.msg);
            want_full_check(s);
            rc = 0;
        }
    }
    if (!rc)
        rc = writes_finish(s, &w, err);
    if (rc == DX_ENOMEM)
        dx_error_set(err, rc, "out of memory writing the files");
    writes_release(&w);
    dx_strmap_release(&set);
    dx_strlist_release(&ids);
    dx_buf_release(&path);
    dx_buf_release(&bytes);
    return rc;
}

/* ---- rounds --------------------------------------------------------------------------- */

/* Store the updates gathered in this round. */
static int flush(dx_session *s, dx_error *err)
{
    size_t stored;
    bool ws_changed;
    int rc = dx_docset_flush(s->ds, &stored, &ws_changed, err);
    s->stats->updates += stored;
    /* A change of the file index no staged edit explains (a caller of the API editing the
     * workspace document directly): nothing says which files it affects. */
    if (!rc && ws_changed && !dx_docset_touched(s->ds)->len && !s->full)
        want_full_check(s);
    return rc;
}

/* Another diaryx process (a second command, `watch`) may have stored updates since this
 * session loaded its documents: take them in, with that process's file records, before
 * this round builds on them. Runs holding the write lock, so nothing changes meanwhile. */
static int catch_up(dx_session *s, dx_error *err)
{
    bool moved;
    int rc = dx_docset_catch_up(s->ds, &moved, err);
    if (rc || !moved)
        return rc;
    records_clear(s);
    dx_buf v = DX_BUF_INIT;
    if (dx_store_meta_get(s->store, DX_SESSION_META_MATERIALIZED, &v, NULL) == 0)
        s->mat_point = strtoll(v.data, NULL, 10);
    dx_buf_release(&v);
    if (s->mat_point < dx_docset_seen(s->ds))
        s->full = true; /* that process did not get to write its files */
    return records_load(s, err);
}

/* The entries marked changed (`touched`) stay marked until a round has written them: edits
 * made through dx_session_docs between rounds mark theirs before the save's round begins. */
static void round_reset(dx_session *s, dx_session_stats *stats)
{
    s->stats = stats ? stats : &s->scratch;
    dx_docset_count_loads(s->ds, &s->stats->loaded);
    memset(s->stats, 0, sizeof *s->stats);
    s->full = false;
}

/* Take the store's write lock and what others stored meanwhile. */
static int round_lock(dx_session *s, dx_error *err)
{
    int rc = dx_store_begin(s->store, err);
    if (!rc && (rc = catch_up(s, err)))
        dx_store_rollback(s->store);
    return rc;
}

static int round_begin(dx_session *s, dx_session_stats *stats, dx_error *err)
{
    round_reset(s, stats);
    return round_lock(s, err);
}

/* Store the updates, then write the files and remember how far they reflect the CRDT.
 * The updates are committed before any file is touched, and the files are written in a
 * second transaction (the write lock taken again, and what others stored in between taken
 * in): a failure (or a crash) while writing leaves stored updates that the next open
 * writes out (materialized_through stays behind), never files that hold part of an edit
 * the store does not have, which the next command would take in half (a removed file
 * deletes its entry, nothing else of the edit). Writing the files in the transaction of
 * the updates did that: SQLite rolls a transaction back by itself when a statement fails
 * for lack of memory or disk. */
static int round_finish(dx_session *s, int rc, dx_error *err)
{
    if (!rc)
        rc = flush(s, err);
    if (!rc) {
        int64_t ours = dx_store_last_id(s->store, NULL); /* under the lock: our last update */
        if (!(rc = dx_store_commit(s->store, err))) {
            dx_docset_set_seen(s->ds, ours);
            rc = round_lock(s, err);
            if (rc) /* stored; the files are written by the next open */
                return rc;
        }
    }
    if (!rc)
        rc = materialize(s, err);
    if (!rc)
        rc = flush(s, err); /* materializing can create empty body docs: nothing to store */
    if (!rc) {
        char v[32];
        s->mat_point = dx_store_last_id(s->store, NULL);
        dx_docset_set_seen(s->ds, s->mat_point);
        snprintf(v, sizeof v, "%lld", (long long)s->mat_point);
        rc = dx_store_meta_set(s->store, DX_SESSION_META_MATERIALIZED, v, err);
    }
    dx_docset_untouch(s->ds);
    dx_strmap_release(&s->taken);
    if (!rc)
        return dx_store_commit(s->store, err);
    /* The documents in memory are ahead of the store or of the files, so the caller must
     * close the session. */
    dx_store_rollback(s->store);
    return rc;
}

static int round_end(dx_session *s, int rc, dx_error *err)
{
    rc = round_finish(s, rc, err);
    s->stats = &s->scratch; /* the caller's stats may not outlive the call */
    dx_docset_count_loads(s->ds, &s->stats->loaded);
    return rc;
}

/* stat of workspace files in path order, relative to an open descriptor of their
 * directory: the kernel walks one component per file instead of the whole path. The
 * directory is opened without following a link (dx_fs_open_dir_in), the file is not
 * followed either: 0, DX_ENOTFOUND (gone), or DX_EPATH (a link, named in e). */
typedef struct dir_at {
    dx_buf dir; /* workspace-relative directory fd is open on */
    int fd;     /* -1: none */
} dir_at;

static int stat_at(dx_session *s, dir_at *d, const char *path, struct stat *st, dx_error *e)
{
    const char *slash = strrchr(path, '/');
    size_t dl = slash ? (size_t)(slash - path) : 0;
    if (d->fd < 0 || d->dir.len != dl || memcmp(dx_buf_cstr(&d->dir), path, dl) != 0) {
        if (d->fd >= 0)
            close(d->fd);
        dx_buf_reset(&d->dir);
        dx_buf_append(&d->dir, path, dl);
        d->fd = dx_fs_open_dir_in(dx_workspace_root(s->ws), dx_buf_cstr(&d->dir), e);
        if (d->fd < 0) {
            int rc = d->fd;
            d->fd = -1;
            dx_buf_reset(&d->dir);
            /* The directory is gone (so is the file), a link, or unreadable (an error: a
             * file that cannot be looked at is not known to be deleted). */
            return rc;
        }
    }
    if (fstatat(d->fd, slash ? slash + 1 : path, st, AT_SYMLINK_NOFOLLOW) != 0)
        return errno == ENOENT || errno == ENOTDIR
                   ? DX_ENOTFOUND
                   : dx_error_set(e, errno == ENOMEM ? DX_ENOMEM : DX_EIO, "cannot stat '%s': %s",
                                  path, strerror(errno));
    if (S_ISLNK(st->st_mode))
        return dx_error_set(e, DX_EPATH,
                            "'%s' is a symbolic link and diaryx never follows links; replace it "
                            "with what it points to, or remove it",
                            path);
    return 0;
}

static int sync_disk(dx_session *s, dx_error *err)
{
    dir_at at = {DX_BUF_INIT, -1};
    dx_strlist recorded = DX_STRLIST_INIT, ondisk = DX_STRLIST_INIT;
    dx_buf bytes = DX_BUF_INIT;
    newfile *nf = NULL;
    dx_buf *nfb = NULL;
    size_t nn = 0, cap = 0;
    int rc = 0;
    if (dx_store_last_id(s->store, NULL) > s->mat_point)
        s->full = true; /* stored changes never written (a crash, a sync) */
    for (size_t i = 0; !rc && i < s->recs.cap; i++)
        if (s->recs.slots[i].key && dx_strlist_push(&recorded, s->recs.slots[i].key))
            rc = dx_error_set(err, DX_ENOMEM, "out of memory");
    dx_strlist_sort(&recorded);
    for (size_t i = 0; !rc && i < recorded.len; i++) {
        const char *path = recorded.items[i];
        dx_store_file *r = dx_strmap_get(&s->recs, path);
        struct stat st;
        dx_error e = DX_ERROR_INIT;
        int src = stat_at(s, &at, path, &st, &e);
        if (!r->doc_id[0]) {
            /* A file that could not be read before: try again once it changed. */
            if (src != 0 || (int64_t)st.st_size != r->size || mtime_ns(&st) != r->mtime_ns)
                rec_drop(s, path);
            continue;
        }
        if (src == DX_EPATH) {
            /* A symbolic link now stands where the file was: never read through it; the
             * entry stays as it is and validate reports the link. */
            dx_strlist_pushf(&s->warnings, "%s; the entry keeps its last content", e.msg);
            continue;
        }
        if (src != 0 && src != DX_ENOTFOUND) {
            rc = dx_error_set(err, src, "%s", e.msg); /* not known to be deleted */
            break;
        }
        if (src != 0) {
            /* Deleted outside diaryx: delete the entry, if this file is still its file. */
            if ((rc = docs_load(s, err)))
                break;
            const char *at = path_id(s, path);
            if (at && !strcmp(at, r->doc_id)) {
                dx_entry e = DX_ENTRY_INIT;
                if (dx_wsdoc_get(wsdoc(s), r->doc_id, &e, NULL) == 0 && e.part_of)
                    rc = touch(s, e.part_of, err);
                dx_entry_release(&e);
                if (!rc && !(rc = dx_wsdoc_set_deleted(wsdoc(s), r->doc_id, true, err)))
                    s->stats->removed++;
                dx_docset_index_set(s->ds, path, NULL);
            }
            rec_drop(s, path);
            continue;
        }
        if ((int64_t)st.st_size == r->size && mtime_ns(&st) == r->mtime_ns)
            continue;
        char hash[48];
        dx_buf_reset(&bytes);
        if ((rc = read_rel(s, path, &bytes, &st, err)))
            break;
        if (dx_hash_blob_hex(NULL, dx_buf_cstr(&bytes), bytes.len, hash)) {
            rc = dx_error_set(err, DX_ENOMEM, "out of memory");
        } else if (!strcmp(hash, r->hash)) {
            r->mtime_ns = mtime_ns(&st); /* touched, not changed */
            r->size = (int64_t)st.st_size;
            rc = dx_store_file_put(s->store, r, err);
        } else {
            rc = ingest_changed(s, r->doc_id, path, &bytes, &st, err);
        }
    }
    /* Markdown files diaryx has no record of. */
    if (!rc)
        rc = dx_workspace_list_files(s->ws, true, &ondisk, err);
    dx_ignore *ig = NULL;
    for (size_t i = 0; !rc && i < ondisk.len; i++) {
        const char *path = ondisk.items[i];
        if (dx_strmap_get(&s->recs, path))
            continue;
        /* Not taken in when git ignores it (unless it is an entry already: git, too, keeps
         * tracking what it tracks). The rules are read only when a new file shows up. */
        if (!path_id(s, path) && (ig || !(rc = dx_ignore_open_workspace(s->ws, &ig, err))) &&
            dx_ignore_path(ig, path))
            continue;
        if (rc)
            break;
        dx_buf b = DX_BUF_INIT;
        struct stat st;
        if (read_rel(s, path, &b, &st, NULL) != 0) {
            dx_buf_release(&b);
            if (rc != DX_ENOTFOUND) /* gone since the listing: nothing to take in */
                break;
            dx_error_clear(err);
            rc = 0;
            continue;
        }
        if ((rc = docs_load(s, err))) {
            dx_buf_release(&b);
            break;
        }
        const char *known = path_id(s, path);
        if (known) {
            /* An entry whose file was never recorded (e.g. a store from elsewhere). */
            char id[DX_UUID_LEN + 1];
            snprintf(id, sizeof id, "%s", known);
            rc = ingest_changed(s, id, path, &b, &st, err);
            dx_buf_release(&b);
            continue;
        }
        if (nn == cap) {
            cap = cap ? cap * 2 : 64;
            newfile *p = realloc(nf, cap * sizeof *p);
            dx_buf *q = p ? realloc(nfb, cap * sizeof *q) : NULL;
            if (p)
                nf = p;
            if (!p || !q) {
                dx_buf_release(&b);
                rc = dx_error_set(err, DX_ENOMEM, "out of memory");
                break;
            }
            nfb = q;
        }
        nfb[nn] = b;
        nf[nn].path = path;
        nf[nn].st = st;
        nn++;
    }
    dx_ignore_free(ig);
    for (size_t i = 0; i < nn; i++) {
        nf[i].bytes = dx_buf_cstr(&nfb[i]);
        nf[i].len = nfb[i].len;
        nf[i].id[0] = 0;
    }
    if (!rc && nn)
        rc = import_files(s, nf, nn, err);
    /* Record imported files as they are on disk, so writing their canonical form is
     * allowed. */
    for (size_t i = 0; !rc && i < nn; i++)
        if (nf[i].path)
            rc = rec_set(s, nf[i].path, nf[i].id, nf[i].bytes, nf[i].len, &nf[i].st, err);
    for (size_t i = 0; i < nn; i++)
        dx_buf_release(&nfb[i]);
    free(nf);
    free(nfb);
    dx_strlist_release(&recorded);
    dx_strlist_release(&ondisk);
    dx_buf_release(&bytes);
    if (at.fd >= 0)
        close(at.fd);
    dx_buf_release(&at.dir);
    return rc;
}

int dx_session_catch_up(dx_session *s, dx_session_stats *stats, dx_error *err)
{
    int rc = round_begin(s, stats, err);
    if (!rc && s->full)
        rc = dx_docset_reindex(s->ds, err);
    return round_end(s, rc, err);
}

int dx_session_sync(dx_session *s, dx_session_stats *stats, dx_error *err)
{
    int rc = round_begin(s, stats, err);
    if (!rc)
        rc = sync_disk(s, err);
    if (!rc && s->full)
        rc = dx_docset_reindex(s->ds, err);
    return round_end(s, rc, err);
}

/* dx_docs_take_files over the session's documents: the docset's path index, the rules for
 * a new file (not one git ignores; a file that is no readable note is left out). */
typedef struct save_ctx {
    dx_session *s;
    dx_ignore *ig; /* read when the first new note shows up */
} save_ctx;

static int save_lookup(void *ud, const char *path, char out[DX_UUID_LEN + 1])
{
    return dx_docset_lookup(((save_ctx *)ud)->s->ds, path, out);
}

static int save_index_set(void *ud, const char *path, const char *id)
{
    return dx_docset_index_set(((save_ctx *)ud)->s->ds, path, id);
}

static int save_admit(void *ud, const dx_staged *f, dx_error *err)
{
    save_ctx *c = ud;
    dx_error e = DX_ERROR_INIT;
    bool md = dx_path_is_markdown(f->path);
    int rc = md && !c->ig ? dx_ignore_open_workspace(c->s->ws, &c->ig, err) : 0;
    if (rc)
        return rc;
    /* A command does not make an ignored file an entry (the scan never offers one). */
    if (md && dx_ignore_path(c->ig, f->path))
        return dx_error_set(err, DX_EPATH,
                            "'%s' is ignored by git (.gitignore or .git/info/exclude) or "
                            "excluded by an `exclude` glob (root index, .diaryx/config.toml), "
                            "and diaryx takes in no such file; remove the rule or choose "
                            "another path",
                            f->path);
    /* The one rule for entry paths: nothing is taken in inside .git, .diaryx or another
     * hidden or build directory. */
    if (dx_workspace_check_path(f->path, NULL, &e) != 0)
        return md ? dx_error_set(err, e.code, "%s", e.msg) : 0;
    return readable_note(c->s, f->path, f->bytes, f->len, err);
}

static int save_taken(void *ud, const char *id, bool is_new)
{
    dx_session *s = ((save_ctx *)ud)->s;
    if (is_new) {
        s->stats->imported++;
        return 0;
    }
    return dx_strmap_put(&s->taken, id, (void *)1); /* read from disk: base unknown */
}

int dx_session_save(dx_session *s, dx_session_stats *stats, dx_error *err)
{
    size_t n;
    const dx_staged *st = dx_workspace_staged(s->ws, &n);
    save_ctx c = {s, NULL};
    dx_take_hooks h = {&c, save_lookup, save_index_set, save_admit, save_taken};
    dx_docs d;
    /* The staged files were made from the state this session holds (dx_workspace_set_source),
     * so they are taken in as edits of that state first, and only then is the store locked
     * and caught up: what another process stored meanwhile merges with these edits as CRDT
     * updates do. Caught up first, the staged bytes would undo the other process's changes. */
    round_reset(s, stats);
    int rc = docs_load(s, err); /* as of `seen`, the state the staged files were made from */
    if (!rc) {
        dx_session_docs(s, &d);
        rc = dx_docs_take_files(&d, st, n, dx_workspace_link_format(s->ws), &h, NULL, err);
    }
    dx_ignore_free(c.ig);
    bool moved_any = false;
    for (size_t i = 0; i < n; i++)
        moved_any |= st[i].moved_from != NULL;
    if (!rc)
        rc = round_lock(s, err);
    /* Paths below a moved index changed with it. */
    if (!rc && moved_any)
        rc = dx_docset_reindex(s->ds, err);
    rc = round_end(s, rc, err);
    if (!rc)
        dx_workspace_staged_clear(s->ws);
    return rc;
}

/* ---- edits through the documents -------------------------------------------------------- */

void dx_session_docs(dx_session *s, dx_docs *out)
{
    dx_docset_docs(s->ds, out);
    out->format = dx_workspace_link_format(s->ws);
}

bool dx_session_unsaved(const dx_session *s)
{
    return dx_docset_unsaved(s->ds);
}

/* ---- open/close ----------------------------------------------------------------------- */

int dx_session_open(dx_workspace *ws, const char *device, dx_session **out, dx_session_stats *stats,
                    dx_error *err)
{
    *out = NULL;
    dx_session *s = calloc(1, sizeof *s);
    if (!s)
        return dx_error_set(err, DX_ENOMEM, "out of memory");
    s->ws = ws;
    s->stats = &s->scratch;
    char host[256] = "unknown";
    if (!device) {
        gethostname(host, sizeof host - 1);
        device = host;
    }
    dx_buf db = DX_BUF_INIT, v = DX_BUF_INIT;
    int rc =
        dx_workspace_abspath(ws, DX_STORE_FILE, &db)
            ? dx_error_set(err, DX_ENOMEM, "out of memory")
            : dx_fs_mkdirs_in(dx_workspace_root(ws), DX_STATE_DIR, err); /* not through a link */
    if (!rc && (rc = dx_store_open(db.data, &s->store, err)) == DX_ECORRUPT) {
        /* A store that is not a database any more: the files are the last materialized
         * state, so a new store is imported from them; the damaged one is kept aside. */
        dx_buf bak = DX_BUF_INIT;
        dx_buf_printf(&bak, "%s.broken-%lld", db.data, (long long)time(NULL));
        static const char *const journals[] = {"-wal", "-shm"};
        for (size_t j = 0; j < 2; j++) {
            dx_buf from = DX_BUF_INIT, to = DX_BUF_INIT;
            dx_buf_printf(&from, "%s%s", db.data, journals[j]);
            dx_buf_printf(&to, "%s%s", bak.data, journals[j]);
            rename(from.data, to.data); /* a journal of the damaged file must not follow */
            dx_buf_release(&from);
            dx_buf_release(&to);
        }
        if (rename(db.data, bak.data) == 0) {
            dx_strlist_pushf(&s->warnings,
                             "%s; it was moved to '%s' and the CRDT rebuilt from the files",
                             err ? err->msg : "the CRDT store is damaged", bak.data);
            dx_error_clear(err);
            rc = dx_store_open(db.data, &s->store, err);
        }
        dx_buf_release(&bak);
    }
    if (!rc) {
        /* Absent in a new store; unreadable is an error (0 would make every file look
         * written before every update). */
        int mrc = dx_store_meta_get(s->store, DX_SESSION_META_MATERIALIZED, &v, err);
        if (mrc == 0)
            s->mat_point = strtoll(v.data, NULL, 10);
        else if (mrc != DX_ENOTFOUND)
            rc = mrc;
        else
            dx_error_clear(err);
    }
    /* Read before the records and the documents (see docs_load): an update stored in
     * between is applied twice, harmlessly. */
    if (!rc && !(rc = dx_docset_new(s->store, device, &s->ds, err)))
        dx_docset_count_loads(s->ds, &s->stats->loaded);
    if (!rc)
        rc = records_load(s, err);
    /* A store without a file record is new: the files are imported with the ids they had. */
    if (!rc && s->recs.len == 0)
        rc = dx_idmap_read(dx_workspace_root(ws), &s->prefer, err);
    if (!rc)
        rc = dx_session_sync(s, stats, err);
    dx_idmap_release(&s->prefer);
    dx_buf_release(&db);
    dx_buf_release(&v);
    if (rc) {
        dx_session_close(s);
        return rc;
    }
    dx_workspace_set_staging(ws, true);
    dx_workspace_set_source(ws, read_source, s);
    *out = s;
    return 0;
}

/* What closing does besides freeing memory: staging ends, the store is closed (rolling back
 * an unfinished round), libgit2's use count drops. */
static void session_end(dx_session *s)
{
    dx_workspace_staged_clear(s->ws);
    dx_workspace_set_staging(s->ws, false);
    dx_workspace_set_source(s->ws, NULL, NULL);
    dx_store_close(s->store);
}

void dx_session_close_at_exit(dx_session *s)
{
#ifdef DX_FREE_AT_EXIT
    dx_session_close(s);
#else
    if (s)
        session_end(s);
#endif
}

void dx_session_close(dx_session *s)
{
    if (!s)
        return;
    session_end(s);
    dx_docset_free(s->ds);
    records_clear(s);
    dx_strmap_release(&s->taken);
    dx_idmap_release(&s->prefer);
    dx_strlist_release(&s->warnings);
    free(s);
}

const dx_strlist *dx_session_warnings(const dx_session *s)
{
    return &s->warnings;
}

dx_crdt_store *dx_session_store(dx_session *s)
{
    return s->store;
}

int dx_session_load(dx_session *s, dx_error *err)
{
    return docs_load(s, err);
}

y_doc *dx_session_wsdoc(dx_session *s)
{
    return dx_docset_workspace(s->ds);
}

int dx_session_find(dx_session *s, const char *path, char out[DX_UUID_LEN + 1], dx_error *err)
{
    return dx_docset_find(s->ds, path, out, err);
}

const char *dx_session_recorded(dx_session *s, const char *path)
{
    const dx_store_file *r = dx_strmap_get(&s->recs, path);
    return r && r->doc_id[0] ? r->hash : NULL;
}

const char *dx_session_recorded_entry(dx_session *s, const char *path)
{
    const dx_store_file *r = dx_strmap_get(&s->recs, path);
    return r && r->doc_id[0] ? r->doc_id : NULL;
}

size_t dx_session_entry_files(const dx_session *s)
{
    return s->rec_ids.len;
}

size_t dx_session_live_entries(const dx_session *s)
{
    return dx_docset_index(s->ds)->len;
}

int64_t dx_session_applied(const dx_session *s)
{
    return dx_docset_seen(s->ds);
}

int dx_session_record(dx_session *s, const char *id, const char **path, const char **hash)
{
    const dx_store_file *r = dx_strmap_get(&s->rec_ids, id);
    if (!r)
        return DX_ENOTFOUND;
    *path = r->path;
    *hash = r->hash;
    return 0;
}

int dx_session_save_ids(dx_session *s, dx_error *err)
{
    int rc = docs_load(s, err); /* the path index comes with the documents */
    return rc ? rc : dx_idmap_write(dx_workspace_root(s->ws), dx_docset_index(s->ds), err);
}

dx_workspace *dx_session_workspace(dx_session *s)
{
    return s->ws;
}

dx_docset *dx_session_docset(dx_session *s)
{
    return s->ds;
}

const char *dx_session_device(const dx_session *s)
{
    return dx_docset_device(s->ds);
}
