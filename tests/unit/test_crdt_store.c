/* test_crdt_store.c - the SQLite CRDT store on real files: append, load, batches, refusal of
 * bad bytes, compaction, history, state at an id, rename/delete, meta, migration, two
 * writers. */
#include "test.h"

#include <sqlite3.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "diaryx/crdt_store.h"

static char dir[64];

static void path_of(char *out, size_t n, const char *name)
{
    snprintf(out, n, "%s/%s", dir, name);
}

/* A doc that records each update it emits into the store. */
typedef struct feeder {
    dx_crdt_store *s;
    const char *doc;
    int failures;
} feeder;

static void feed(void *user, const uint8_t *u, size_t n, const void *origin)
{
    (void)origin;
    feeder *f = user;
    dx_error err = DX_ERROR_INIT;
    if (dx_store_append(f->s, f->doc, u, n, "local", "test-device", NULL, &err) != 0)
        f->failures++;
}

static y_doc *new_doc(uint64_t client)
{
    y_doc_options o = Y_DOC_OPTIONS_INIT;
    o.client_id = client;
    o.has_client_id = true;
    y_doc *d = NULL;
    y_doc_new(&d, &o);
    return d;
}

static char *text_of(y_doc *d)
{
    char *s = NULL;
    y_text_string(y_doc_get_text(d, "body"), &s, NULL);
    return s;
}

TEST(test_store_appends_survive_reopen_and_refuses_garbage)
{
    char path[128];
    path_of(path, sizeof path, "a.db");
    dx_crdt_store *s = NULL;
    dx_error err = DX_ERROR_INIT;
    CHECK_EQ_INT(dx_store_open(path, &s, &err), 0);
    y_doc *d = new_doc(1);
    feeder f = {s, "body/x", 0};
    y_doc_on_update(d, feed, &f);
    y_type *t = y_doc_get_text(d, "body");
    y_text_insert(t, 0, "hello", 5, NULL);
    y_text_insert(t, 5, " world", 6, NULL);
    y_text_delete(t, 0, 1);
    CHECK_EQ_INT(f.failures, 0);
    uint8_t junk[] = {1, 2, 3, 0xff};
    CHECK_EQ_INT(dx_store_append(s, "body/x", junk, sizeof junk, "remote", NULL, NULL, &err),
                 DX_ECORRUPT);
    CHECK(strstr(err.msg, "body/x") != NULL);
    dx_store_close(s);
    y_doc_free(d);

    CHECK_EQ_INT(dx_store_open(path, &s, &err), 0);
    y_doc *back = new_doc(2);
    CHECK_EQ_INT(dx_store_load(s, "body/x", back, &err), 0);
    char *txt = text_of(back);
    CHECK_EQ_STR(txt, "ello world");
    y_free(txt);
    dx_store_update_info *h = NULL;
    size_t n = 0;
    CHECK_EQ_INT(dx_store_history(s, "body/x", 10, &h, &n, &err), 0);
    CHECK_EQ_INT(n, 3); /* the garbage was not stored */
    if (n == 3) {
        CHECK(h[0].id > h[1].id);
        CHECK_EQ_STR(h[0].origin, "local");
        CHECK_EQ_STR(h[0].device, "test-device");
        CHECK(h[0].created_at > 1700000000000LL);
    }
    dx_store_history_free(h, n);
    CHECK_EQ_INT(dx_store_load(s, "body/none", back, &err), DX_ENOTFOUND);
    CHECK_EQ_INT(dx_store_check(s, &err), 0);
    y_doc_free(back);
    dx_store_close(s);
}

TEST(test_store_compaction_keeps_state_and_recent_history)
{
    char path[128];
    path_of(path, sizeof path, "c.db");
    dx_crdt_store *s = NULL;
    dx_error err = DX_ERROR_INIT;
    CHECK_EQ_INT(dx_store_open(path, &s, &err), 0);
    y_doc *d = new_doc(3);
    feeder f = {s, "workspace", 0};
    y_doc_on_update(d, feed, &f);
    y_type *t = y_doc_get_text(d, "body");
    CHECK_EQ_INT(dx_store_begin(s, &err), 0);
    for (int i = 0; i < 120; i++)
        y_text_insert(t, (uint32_t)(i % 7), "ab", 2, NULL);
    CHECK_EQ_INT(dx_store_commit(s, &err), 0);
    uint8_t *before = NULL, *after = NULL;
    size_t nb = 0, na = 0;
    y_encode_state_as_update(d, NULL, 0, &before, &nb);
    dx_store_update_info *h = NULL;
    size_t n = 0;
    dx_store_history(s, "workspace", 200, &h, &n, &err);
    CHECK_EQ_INT(n, 120);
    int64_t kept_oldest = n >= 50 ? h[49].id : 0, folded = n ? h[n - 1].id : 0;
    dx_store_history_free(h, n);

    CHECK_EQ_INT(dx_store_compact(s, "workspace", 50, &err), 0);
    dx_store_history(s, "workspace", 200, &h, &n, &err);
    CHECK_EQ_INT(n, 50);
    if (n == 50)
        CHECK_EQ_INT(h[49].id, kept_oldest);
    dx_store_history_free(h, n);
    y_doc *back = new_doc(4);
    CHECK_EQ_INT(dx_store_load(s, "workspace", back, &err), 0);
    y_encode_state_as_update(back, NULL, 0, &after, &na);
    CHECK_EQ_MEM(before, nb, after, na);
    y_free(after);
    /* A kept update still gives its historical state; a folded one says why it cannot. */
    uint8_t *at = NULL;
    size_t nat = 0;
    CHECK_EQ_INT(dx_store_state_at(s, "workspace", kept_oldest, &at, &nat, &err), 0);
    y_doc *old = new_doc(5);
    CHECK_EQ_INT(y_apply_update(old, at, nat, NULL), Y_OK);
    CHECK_EQ_INT(y_text_length(y_doc_get_text(old, "body")), 2 * 71);
    y_free(at);
    CHECK_EQ_INT(dx_store_state_at(s, "workspace", folded, &at, &nat, &err), DX_ENOTFOUND);
    CHECK(strstr(err.msg, "compaction") != NULL);

    /* keep 0 folds everything; compacting again changes nothing. */
    CHECK_EQ_INT(dx_store_compact(s, "workspace", 0, &err), 0);
    CHECK_EQ_INT(dx_store_compact(s, "workspace", 0, &err), 0);
    dx_store_doc_info *docs = NULL;
    size_t nd = 0;
    CHECK_EQ_INT(dx_store_list(s, &docs, &nd, &err), 0);
    CHECK_EQ_INT(nd, 1);
    if (nd == 1) {
        CHECK_EQ_STR(docs[0].name, "workspace");
        CHECK_EQ_INT(docs[0].updates, 0);
        CHECK(docs[0].snapshot_bytes > 0);
    }
    dx_store_docs_free(docs, nd);
    y_doc *again = new_doc(6);
    CHECK_EQ_INT(dx_store_load(s, "workspace", again, &err), 0);
    y_encode_state_as_update(again, NULL, 0, &after, &na);
    CHECK_EQ_MEM(before, nb, after, na);
    y_free(after);
    y_free(before);
    y_doc_free(d);
    y_doc_free(back);
    y_doc_free(old);
    y_doc_free(again);
    dx_store_close(s);
}

TEST(test_store_rename_delete_and_meta)
{
    char path[128];
    path_of(path, sizeof path, "m.db");
    dx_crdt_store *s = NULL;
    dx_error err = DX_ERROR_INIT;
    CHECK_EQ_INT(dx_store_open(path, &s, &err), 0);
    uint8_t empty[] = {0, 0};
    CHECK_EQ_INT(dx_store_append(s, "body/a", empty, 2, "sync", NULL, NULL, &err), 0);
    CHECK_EQ_INT(dx_store_append(s, "body/b", empty, 2, "sync", NULL, NULL, &err), 0);
    CHECK_EQ_INT(dx_store_rename(s, "body/a", "body/b", &err), DX_EEXIST);
    CHECK_EQ_INT(dx_store_rename(s, "body/a", "body/c", &err), 0);
    CHECK_EQ_INT(dx_store_delete(s, "body/b", &err), 0);
    dx_store_doc_info *docs = NULL;
    size_t nd = 0;
    dx_store_list(s, &docs, &nd, &err);
    CHECK_EQ_INT(nd, 1);
    if (nd)
        CHECK_EQ_STR(docs[0].name, "body/c");
    dx_store_docs_free(docs, nd);
    dx_buf v = DX_BUF_INIT;
    CHECK_EQ_INT(dx_store_meta_get(s, "last_commit", &v, &err), DX_ENOTFOUND);
    CHECK_EQ_INT(dx_store_meta_set(s, "last_commit", "abc123", &err), 0);
    CHECK_EQ_INT(dx_store_meta_set(s, "last_commit", "def456", &err), 0);
    CHECK_EQ_INT(dx_store_meta_get(s, "last_commit", &v, &err), 0);
    CHECK_EQ_STR(v.data, "def456");
    CHECK_EQ_INT(dx_store_meta_set(s, "last_commit", NULL, &err), 0);
    dx_buf_reset(&v);
    CHECK_EQ_INT(dx_store_meta_get(s, "last_commit", &v, &err), DX_ENOTFOUND);
    dx_buf_release(&v);
    dx_store_close(s);
    CHECK_EQ_INT(dx_store_open("/nonexistent-dir/x.db", &s, &err), DX_EIO);
    CHECK(strstr(err.msg, "/nonexistent-dir/x.db") != NULL);
}

TEST(test_store_migrates_the_reference_schema)
{
    char path[128];
    path_of(path, sizeof path, "ref.db");
    sqlite3 *db;
    CHECK_EQ_INT(sqlite3_open(path, &db), SQLITE_OK);
    CHECK_EQ_INT(sqlite3_exec(db,
                              "CREATE TABLE documents(name TEXT PRIMARY KEY, state BLOB NOT NULL, "
                              "state_vector BLOB NOT NULL, updated_at INTEGER NOT NULL);"
                              "CREATE TABLE updates(id INTEGER PRIMARY KEY AUTOINCREMENT, doc_name "
                              "TEXT NOT NULL, data BLOB NOT NULL, origin TEXT NOT NULL, timestamp "
                              "INTEGER NOT NULL, device_id TEXT, device_name TEXT);"
                              "INSERT INTO updates(doc_name, data, origin, timestamp, device_id, "
                              "device_name) VALUES('workspace', x'0000', 'local', 1700000000000, "
                              "'dev-1', 'Laptop');",
                              NULL, NULL, NULL),
                 SQLITE_OK);
    sqlite3_close(db);
    dx_crdt_store *s = NULL;
    dx_error err = DX_ERROR_INIT;
    CHECK_EQ_INT(dx_store_open(path, &s, &err), 0);
    dx_store_update_info *h = NULL;
    size_t n = 0;
    CHECK_EQ_INT(dx_store_history(s, "workspace", 10, &h, &n, &err), 0);
    CHECK_EQ_INT(n, 1);
    if (n) {
        CHECK_EQ_STR(h[0].device, "Laptop");
        CHECK_EQ_INT(h[0].created_at, 1700000000000LL);
    }
    dx_store_history_free(h, n);
    CHECK_EQ_INT(dx_store_meta_set(s, "k", "v", &err), 0);
    CHECK_EQ_INT(dx_store_check(s, &err), 0);
    dx_store_close(s);
}

TEST(test_store_marks_changed_file_records_until_cleared)
{
    char path[128];
    path_of(path, sizeof path, "dirty.db");
    dx_crdt_store *s = NULL;
    dx_error err = DX_ERROR_INIT;
    CHECK_EQ_INT(dx_store_open(path, &s, &err), 0);
    dx_store_file f = {"a.md", "id-a", 10, 1, "aaaa"}, g = {"b.md", "id-b", 10, 1, "bbbb"};
    CHECK_EQ_INT(dx_store_file_put(s, &f, &err), 0);
    CHECK_EQ_INT(dx_store_file_put(s, &g, &err), 0);
    dx_strlist paths = DX_STRLIST_INIT;
    int64_t upto = 0;
    CHECK_EQ_INT(dx_store_dirty(s, &paths, &upto, &err), 0);
    CHECK_EQ_INT(paths.len, 2);
    CHECK_EQ_INT(dx_store_dirty_clear(s, upto, &err), 0);
    /* New stat data alone is no change; new bytes, a new entry or a removal is. */
    f.mtime_ns = 2;
    CHECK_EQ_INT(dx_store_file_put(s, &f, &err), 0);
    dx_strlist_release(&paths);
    CHECK_EQ_INT(dx_store_dirty(s, &paths, &upto, &err), 0);
    CHECK_EQ_INT(paths.len, 0);
    snprintf(f.hash, sizeof f.hash, "cccc");
    CHECK_EQ_INT(dx_store_file_put(s, &f, &err), 0);
    CHECK_EQ_INT(dx_store_file_remove(s, "b.md", &err), 0);
    CHECK_EQ_INT(dx_store_dirty(s, &paths, &upto, &err), 0);
    CHECK_EQ_INT(paths.len, 2);
    if (paths.len == 2) {
        CHECK_EQ_STR(paths.items[0], "a.md");
        CHECK_EQ_STR(paths.items[1], "b.md");
    }
    /* A mark made after the list was read survives clearing up to it. */
    snprintf(f.hash, sizeof f.hash, "dddd");
    CHECK_EQ_INT(dx_store_file_put(s, &f, &err), 0);
    CHECK_EQ_INT(dx_store_dirty_clear(s, upto, &err), 0);
    dx_strlist_release(&paths);
    CHECK_EQ_INT(dx_store_dirty(s, &paths, &upto, &err), 0);
    CHECK_EQ_INT(paths.len, 1);
    dx_strlist_release(&paths);
    dx_store_close(s);
    /* A store of schema 2 gets every recorded path marked: its next commit checks all. */
    sqlite3 *db;
    CHECK_EQ_INT(sqlite3_open(path, &db), SQLITE_OK);
    CHECK_EQ_INT(sqlite3_exec(db,
                              "DROP TRIGGER files_added; DROP TRIGGER files_changed; DROP TRIGGER "
                              "files_removed; DROP TABLE dirty; INSERT INTO files VALUES('c.md', "
                              "'id-c', 1, 1, 'eeee'); PRAGMA user_version = 2;",
                              NULL, NULL, NULL),
                 SQLITE_OK);
    sqlite3_close(db);
    CHECK_EQ_INT(dx_store_open(path, &s, &err), 0);
    CHECK_EQ_INT(dx_store_dirty(s, &paths, &upto, &err), 0);
    CHECK_EQ_INT(paths.len, 2); /* a.md and c.md */
    dx_strlist_release(&paths);
    dx_store_close(s);
}

TEST(test_store_compaction_leaves_a_short_history_alone)
{
    char path[128];
    path_of(path, sizeof path, "short.db");
    dx_crdt_store *s = NULL;
    dx_error err = DX_ERROR_INIT;
    CHECK_EQ_INT(dx_store_open(path, &s, &err), 0);
    y_doc *d = new_doc(7);
    feeder f = {s, "body/x", 0};
    y_doc_on_update(d, feed, &f);
    for (int i = 0; i < 50; i++)
        y_text_insert(y_doc_get_text(d, "body"), 0, "x", 1, NULL);
    CHECK_EQ_INT(dx_store_compact(s, "body/x", 50, &err), 0);
    dx_store_doc_info *docs = NULL;
    size_t nd = 0;
    CHECK_EQ_INT(dx_store_list(s, &docs, &nd, &err), 0);
    CHECK_EQ_INT(nd, 1);
    if (nd == 1) {
        CHECK_EQ_INT(docs[0].updates, 50);
        CHECK_EQ_INT(docs[0].snapshot_bytes, 0); /* nothing folded, no snapshot written */
    }
    dx_store_docs_free(docs, nd);
    CHECK_EQ_INT(dx_store_compact(s, "body/x", 49, &err), 0);
    CHECK_EQ_INT(dx_store_list(s, &docs, &nd, &err), 0);
    if (nd == 1)
        CHECK_EQ_INT(docs[0].updates, 49);
    dx_store_docs_free(docs, nd);
    y_doc_free(d);
    dx_store_close(s);
}

TEST(test_store_two_writers_wait_for_each_other)
{
    char path[128];
    path_of(path, sizeof path, "w.db");
    dx_crdt_store *a = NULL, *b = NULL;
    dx_error err = DX_ERROR_INIT;
    CHECK_EQ_INT(dx_store_open(path, &a, &err), 0);
    CHECK_EQ_INT(dx_store_open(path, &b, &err), 0);
    uint8_t empty[] = {0, 0};
    pid_t pid = fork();
    if (pid == 0) {
        /* The child writes while the parent holds a batch open for a moment. */
        dx_crdt_store *c = NULL;
        int bad = dx_store_open(path, &c, NULL) != 0;
        for (int i = 0; i < 50 && !bad; i++)
            bad |= dx_store_append(c, "doc", empty, 2, "remote", NULL, NULL, NULL) != 0;
        dx_store_close(c);
        _exit(bad);
    }
    CHECK_EQ_INT(dx_store_begin(a, &err), 0);
    for (int i = 0; i < 50; i++)
        CHECK_EQ_INT(dx_store_append(a, "doc", empty, 2, "local", NULL, NULL, &err), 0);
    usleep(200000);
    CHECK_EQ_INT(dx_store_commit(a, &err), 0);
    int status = 1;
    waitpid(pid, &status, 0);
    CHECK_EQ_INT(status, 0);
    dx_store_update_info *h = NULL;
    size_t n = 0;
    dx_store_history(b, "doc", 1000, &h, &n, &err);
    CHECK_EQ_INT(n, 100);
    dx_store_history_free(h, n);
    dx_store_close(a);
    dx_store_close(b);
}

/* A read transaction sees one state of the store, does not hold other writers up, and
 * refuses writes (a write inside it would fail in SQLite) until it ends. */
TEST(test_store_read_is_one_snapshot_and_refuses_writes)
{
    char path[128];
    path_of(path, sizeof path, "r.db");
    dx_crdt_store *a = NULL, *b = NULL;
    dx_error err = DX_ERROR_INIT;
    uint8_t empty[] = {0, 0};
    CHECK_EQ_INT(dx_store_open(path, &a, &err), 0);
    CHECK_EQ_INT(dx_store_open(path, &b, &err), 0);
    CHECK_EQ_INT(dx_store_append(a, "doc", empty, 2, "local", NULL, NULL, &err), 0);
    int64_t first = dx_store_last_id(a, NULL);
    CHECK(first > 0);
    CHECK_EQ_INT(dx_store_read_begin(a, &err), 0);
    /* Another writer goes on; this reader still sees the state it began with. */
    CHECK_EQ_INT(dx_store_append(b, "doc", empty, 2, "remote", NULL, NULL, &err), 0);
    CHECK_EQ_INT(dx_store_last_id(a, NULL), first);
    y_doc *d = new_doc(1);
    CHECK_EQ_INT(dx_store_load(a, "doc", d, &err), 0);
    y_doc_free(d);
    dx_error_clear(&err);
    CHECK_EQ_INT(dx_store_append(a, "doc", empty, 2, "local", NULL, NULL, &err), DX_ECONFLICT);
    CHECK(strstr(err.msg, "end the read") != NULL);
    CHECK_EQ_INT(dx_store_begin(a, &err), DX_ECONFLICT);
    CHECK_EQ_INT(dx_store_read_begin(a, &err), DX_ECONFLICT);
    dx_store_read_end(a);
    CHECK_EQ_INT(dx_store_last_id(a, NULL), dx_store_last_id(b, NULL));
    CHECK_EQ_INT(dx_store_append(a, "doc", empty, 2, "local", NULL, NULL, &err), 0);
    /* Not inside a batch; ending a read that is not open does nothing. */
    CHECK_EQ_INT(dx_store_begin(a, &err), 0);
    CHECK_EQ_INT(dx_store_read_begin(a, &err), DX_ECONFLICT);
    dx_store_read_end(a);
    CHECK_EQ_INT(dx_store_commit(a, &err), 0);
    dx_store_read_end(a);
    dx_store_update_info *h = NULL;
    size_t n = 0;
    CHECK_EQ_INT(dx_store_history(b, "doc", 100, &h, &n, &err), 0);
    CHECK_EQ_INT(n, 3);
    dx_store_history_free(h, n);
    dx_store_close(a);
    dx_store_close(b);
}

/* The time of the last change is the newest update's created_at (what `watch` counts its
 * quiet interval from), and survives a compaction that folds every update. */
TEST(test_store_last_change_is_the_newest_update)
{
    char path[128];
    path_of(path, sizeof path, "last.db");
    dx_crdt_store *s = NULL;
    dx_error err = DX_ERROR_INIT;
    CHECK_EQ_INT(dx_store_open(path, &s, &err), 0);
    CHECK(dx_store_last_change_ms(s) == 0);
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    int64_t before = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
    y_doc *d = new_doc(7);
    feeder f = {s, "body/x", 0};
    y_doc_on_update(d, feed, &f);
    y_text_insert(y_doc_get_text(d, "body"), 0, "x", 1, NULL);
    int64_t t1 = dx_store_last_change_ms(s);
    CHECK(t1 >= before && t1 < before + 60000);
    /* An older update time is what counts, not the time of the question. */
    char *sqlerr = NULL;
    sqlite3 *db = NULL;
    CHECK_EQ_INT(sqlite3_open(path, &db), SQLITE_OK);
    CHECK_EQ_INT(sqlite3_exec(db, "UPDATE updates SET created_at = 1000", NULL, NULL, &sqlerr),
                 SQLITE_OK);
    sqlite3_free(sqlerr);
    sqlite3_close(db);
    CHECK(dx_store_last_change_ms(s) == 1000);
    CHECK_EQ_INT(dx_store_compact(s, "body/x", 0, &err), 0);
    int64_t t2 = dx_store_last_change_ms(s);
    CHECK(t2 >= before); /* the snapshot's time once no update is left */
    y_doc_free(d);
    dx_store_close(s);
}

int main(void)
{
    snprintf(dir, sizeof dir, "/tmp/dx-store-XXXXXX");
    if (!mkdtemp(dir))
        return 1;
    RUN(test_store_appends_survive_reopen_and_refuses_garbage);
    RUN(test_store_compaction_keeps_state_and_recent_history);
    RUN(test_store_rename_delete_and_meta);
    RUN(test_store_migrates_the_reference_schema);
    RUN(test_store_marks_changed_file_records_until_cleared);
    RUN(test_store_compaction_leaves_a_short_history_alone);
    RUN(test_store_two_writers_wait_for_each_other);
    RUN(test_store_read_is_one_snapshot_and_refuses_writes);
    RUN(test_store_last_change_is_the_newest_update);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (system(cmd) != 0)
        return 1;
    return TEST_REPORT();
}
