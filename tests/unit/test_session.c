/* test_session.c - a workspace backed by its CRDT store: import, external edits merged with
 * concurrent remote changes, staged edits written from the CRDT, crash between storing and
 * writing, the workspace document loaded only when needed. Real files in a temporary directory, a
 * real SQLite store. */
#include "test.h"

#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "diaryx/bodydoc.h"
#include "diaryx/fs.h"
#include "diaryx/session.h"
#include "diaryx/wsdoc.h"

static char dir[64];

static void put(const char *rel, const char *text)
{
    char p[256];
    snprintf(p, sizeof p, "%s/%s", dir, rel);
    dx_file_write_atomic(p, text, strlen(text), 0644, NULL);
}

static char *get(const char *rel)
{
    char p[256];
    snprintf(p, sizeof p, "%s/%s", dir, rel);
    dx_buf b = DX_BUF_INIT;
    if (dx_file_read(p, &b, NULL) != 0)
        return NULL;
    return dx_buf_detach(&b, NULL);
}

static void setup(void)
{
    snprintf(dir, sizeof dir, "/tmp/dx-session-XXXXXX");
    CHECK(mkdtemp(dir) != NULL);
    put("README.md", "---\ntitle: Home\ncontents:\n- \"[Day](/day.md)\"\n---\n");
    put("day.md", "---\ntitle: Day\npart_of: \"[Home](/README.md)\"\n---\nline one\nline two\n"
                  "line three\n");
}

static void teardown(void)
{
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    CHECK(system(cmd) == 0);
}

static dx_session *open_session(dx_workspace **ws, dx_session_stats *st)
{
    dx_error err = DX_ERROR_INIT;
    dx_session *s = NULL;
    CHECK_EQ_INT(dx_workspace_open(dir, ws, &err), 0);
    if (dx_session_open(*ws, "test", &s, st, &err) != 0)
        TEST_FAILF("open: %s", err.msg);
    return s;
}

/* Another replica edits the body of day.md: its update lands in the store (as sync would
 * deliver it) without the files being written. */
static void remote_body_edit(const char *find, const char *replace)
{
    dx_workspace *ws;
    dx_session *s = open_session(&ws, NULL);
    char id[DX_UUID_LEN + 1], name[64];
    dx_error err = DX_ERROR_INIT;
    CHECK_EQ_INT(dx_session_find(s, "day.md", id, &err), 0);
    dx_doc_body_name(id, name);
    y_doc *d = NULL;
    y_doc_new(&d, NULL);
    CHECK_EQ_INT(dx_store_load(dx_session_store(s), name, d, &err), 0);
    uint8_t *sv = NULL, *up = NULL;
    size_t svl, upl;
    y_encode_state_vector(d, &sv, &svl);
    dx_buf text = DX_BUF_INIT, next = DX_BUF_INIT;
    dx_body_get(d, &text, &err);
    const char *at = strstr(text.data, find);
    CHECK(at != NULL);
    if (at) {
        dx_buf_append(&next, text.data, (size_t)(at - text.data));
        dx_buf_puts(&next, replace);
        dx_buf_puts(&next, at + strlen(find));
        CHECK_EQ_INT(dx_body_set(d, next.data, next.len, &err), 0);
    }
    y_encode_state_as_update(d, sv, svl, &up, &upl);
    CHECK_EQ_INT(dx_store_append(dx_session_store(s), name, up, upl, "remote", "phone", NULL, &err),
                 0);
    y_free(sv);
    y_free(up);
    y_doc_free(d);
    dx_buf_release(&text);
    dx_buf_release(&next);
    dx_session_close(s);
    dx_workspace_free(ws);
}

TEST(test_import_records_files_and_second_open_changes_nothing)
{
    setup();
    dx_workspace *ws;
    dx_session_stats st;
    dx_session *s = open_session(&ws, &st);
    CHECK_EQ_INT(st.imported, 2);
    CHECK_EQ_INT(st.written, 0); /* canonical files are not rewritten */
    dx_session_close(s);
    dx_workspace_free(ws);
    s = open_session(&ws, &st);
    CHECK_EQ_INT(st.imported + st.ingested + st.written + st.updates, 0);
    dx_session_close(s);
    dx_workspace_free(ws);
    teardown();
}

TEST(test_external_edit_merges_with_a_concurrent_remote_edit)
{
    setup();
    dx_workspace *ws;
    dx_session_stats st;
    dx_session *s = open_session(&ws, &st);
    dx_session_close(s);
    dx_workspace_free(ws);
    /* The phone changes line three; meanwhile the file is edited in an editor on line one. */
    remote_body_edit("line three", "line three (from the phone)");
    sleep(0); /* mtime granularity is nanoseconds; the size changes anyway */
    put("day.md", "---\ntitle: Day\npart_of: \"[Home](/README.md)\"\n---\nline one (edited "
                  "in vim)\nline two\nline three\n");
    s = open_session(&ws, &st);
    CHECK_EQ_INT(st.ingested, 1);
    char *day = get("day.md");
    CHECK_EQ_STR(day, "---\ntitle: Day\npart_of: \"[Home](/README.md)\"\n---\nline one (edited in "
                      "vim)\nline two\nline three (from the phone)\n");
    free(day);
    dx_session_close(s);
    dx_workspace_free(ws);
    teardown();
}

TEST(test_remote_change_alone_is_written_on_open)
{
    setup();
    dx_workspace *ws;
    dx_session *s = open_session(&ws, NULL);
    dx_session_close(s);
    dx_workspace_free(ws);
    remote_body_edit("line two", "line 2");
    dx_session_stats st;
    s = open_session(&ws, &st);
    CHECK_EQ_INT(st.ingested, 0);
    CHECK_EQ_INT(st.written, 1);
    char *day = get("day.md");
    CHECK(day && strstr(day, "line 2\n") != NULL);
    free(day);
    dx_session_close(s);
    dx_workspace_free(ws);
    teardown();
}

TEST(test_staged_edits_are_stored_then_written)
{
    setup();
    dx_workspace *ws;
    dx_session *s = open_session(&ws, NULL);
    dx_error err = DX_ERROR_INIT;
    CHECK_EQ_INT(dx_workspace_create(ws, "notes/new.md", "New", false, &err), 0);
    char *none = get("notes/new.md");
    CHECK(none == NULL); /* staged: nothing on disk yet */
    dx_session_stats st;
    CHECK_EQ_INT(dx_session_save(s, &st, &err), 0);
    CHECK_EQ_INT(st.updates, 3); /* the workspace doc and two new bodies */
    char *created = get("notes/new.md");
    CHECK(created && strstr(created, "title: New") != NULL);
    free(created);
    char *index = get("notes/notes.md");
    CHECK(index && strstr(index, "/notes/new.md") != NULL);
    free(index);
    dx_session_close(s);
    dx_workspace_free(ws);
    teardown();
}

/* A crash after the updates were stored but before the files were written: the next open
 * writes them. */
TEST(test_stored_but_unwritten_changes_are_written_on_open)
{
    setup();
    dx_workspace *ws;
    dx_session *s = open_session(&ws, NULL);
    dx_error err = DX_ERROR_INIT;
    char id[DX_UUID_LEN + 1];
    CHECK_EQ_INT(dx_session_find(s, "day.md", id, &err), 0);
    y_doc *w = dx_session_wsdoc(s);
    uint8_t *sv = NULL, *up = NULL;
    size_t svl, upl;
    y_encode_state_vector(w, &sv, &svl);
    CHECK_EQ_INT(dx_wsdoc_set_field(w, id, "title", "Renamed day", &err), 0);
    y_encode_state_as_update(w, sv, svl, &up, &upl);
    /* Stored behind the session's back, as a process killed before writing would leave it. */
    CHECK_EQ_INT(
        dx_store_append(dx_session_store(s), "workspace", up, upl, "local", "t", NULL, &err), 0);
    y_free(sv);
    y_free(up);
    dx_session_close(s);
    dx_workspace_free(ws);
    dx_session_stats st;
    s = open_session(&ws, &st);
    char *day = get("day.md"), *home = get("README.md");
    CHECK(day && strstr(day, "title: Renamed day") != NULL);
    CHECK(home && strstr(home, "[Renamed day](/day.md)") != NULL);
    free(day);
    free(home);
    dx_session_close(s);
    dx_workspace_free(ws);
    teardown();
}

/* Two processes (here two sessions) on one workspace: each round first takes in what the
 * other stored, so neither writes a stale file. */
TEST(test_two_sessions_see_each_others_edits)
{
    setup();
    dx_workspace *wa, *wb;
    dx_session *a = open_session(&wa, NULL), *b = open_session(&wb, NULL);
    dx_error err = DX_ERROR_INIT;
    dx_fm *fm = NULL;
    /* b changes line three of day.md and saves. */
    CHECK_EQ_INT(dx_workspace_read(wb, "day.md", &fm, &err), 0);
    const char *b3 = "line one\nline two\nline three (b)\n";
    dx_fm_set_body(fm, b3, strlen(b3));
    CHECK_EQ_INT(dx_workspace_write(wb, "day.md", fm, &err), 0);
    dx_fm_free(fm);
    CHECK_EQ_INT(dx_session_save(b, NULL, &err), 0);
    /* a, opened before, changes line one of the same file from what it read then. */
    fm = NULL;
    dx_session_stats st;
    CHECK_EQ_INT(dx_session_sync(a, &st, &err), 0); /* what a command does first */
    CHECK_EQ_INT(dx_workspace_read(wa, "day.md", &fm, &err), 0);
    size_t bl;
    const char *body = dx_fm_body(fm, &bl);
    CHECK(body && strstr(body, "line three (b)") != NULL); /* a sees b's edit */
    const char *a1 = "line one (a)\nline two\nline three (b)\n";
    dx_fm_set_body(fm, a1, strlen(a1));
    CHECK_EQ_INT(dx_workspace_write(wa, "day.md", fm, &err), 0);
    dx_fm_free(fm);
    CHECK_EQ_INT(dx_session_save(a, NULL, &err), 0);
    char *day = get("day.md");
    CHECK(day && strstr(day, "line one (a)\nline two\nline three (b)\n") != NULL);
    free(day);
    dx_session_close(a);
    dx_session_close(b);
    dx_workspace_free(wa);
    dx_workspace_free(wb);
    /* A fresh session agrees with the files: nothing to take in or write. */
    dx_workspace *wc;
    dx_session *c = open_session(&wc, &st);
    CHECK_EQ_INT(st.ingested + st.written + st.imported, 0);
    /* ... and the stored CRDT holds each edit once. */
    char id[DX_UUID_LEN + 1];
    y_doc *d = NULL;
    dx_buf text = DX_BUF_INIT;
    CHECK_EQ_INT(dx_session_find(c, "day.md", id, &err), 0);
    CHECK_EQ_INT(dx_session_body(c, id, &d, &err), 0);
    dx_body_get(d, &text, &err);
    CHECK_EQ_STR(text.data, a1);
    dx_buf_release(&text);
    dx_session_close(c);
    dx_workspace_free(wc);
    teardown();
}

/* ---- the workspace document is loaded only when needed ---- */

static void close_session(dx_session *s, dx_workspace *ws)
{
    dx_session_close(s);
    dx_workspace_free(ws);
}

/* The body of the entry at path, as the CRDT holds it. */
static char *crdt_body(dx_session *s, const char *path)
{
    char id[DX_UUID_LEN + 1];
    y_doc *d = NULL;
    dx_buf text = DX_BUF_INIT;
    dx_error err = DX_ERROR_INIT;
    if (dx_session_find(s, path, id, &err) != 0 || dx_session_body(s, id, &d, &err) != 0 ||
        dx_body_get(d, &text, &err) != 0) {
        dx_buf_release(&text);
        return NULL;
    }
    return dx_buf_detach(&text, NULL);
}

TEST(test_unchanged_workspace_opens_without_the_workspace_document)
{
    setup();
    dx_workspace *ws;
    dx_session_stats st;
    dx_session *s = open_session(&ws, &st);
    CHECK(st.loaded >= 1); /* the import needs it */
    close_session(s, ws);
    s = open_session(&ws, &st);
    CHECK_EQ_INT(st.loaded, 0);
    CHECK_EQ_INT(st.imported + st.ingested + st.removed + st.written + st.updates, 0);
    CHECK_EQ_INT(dx_session_live_entries(s), 0); /* nothing built yet */
    /* The first use loads it, with the path index. */
    char id[DX_UUID_LEN + 1];
    dx_error err = DX_ERROR_INIT;
    CHECK_EQ_INT(dx_session_find(s, "day.md", id, &err), 0);
    CHECK_EQ_INT(dx_session_live_entries(s), 2);
    CHECK(dx_session_wsdoc(s) != NULL);
    CHECK(dx_wsdoc_is_live(dx_session_wsdoc(s), id));
    close_session(s, ws);
    teardown();
}

TEST(test_external_edit_deletion_and_new_file_load_it_and_are_taken_in)
{
    setup();
    dx_workspace *ws;
    dx_session_stats st;
    dx_session *s = open_session(&ws, &st);
    close_session(s, ws);
    /* Edited in an editor. */
    put("day.md", "---\ntitle: Day\npart_of: \"[Home](/README.md)\"\n---\nline one (vim)\n");
    s = open_session(&ws, &st);
    CHECK_EQ_INT(st.ingested, 1);
    CHECK(st.loaded >= 1);
    char *body = crdt_body(s, "day.md");
    CHECK(body && !strcmp(body, "line one (vim)\n"));
    free(body);
    close_session(s, ws);
    /* A new file. */
    put("new.md", "---\ntitle: New\n---\nfresh\n");
    s = open_session(&ws, &st);
    CHECK_EQ_INT(st.imported, 1);
    CHECK(st.loaded >= 1);
    body = crdt_body(s, "new.md");
    CHECK(body && !strcmp(body, "fresh\n"));
    free(body);
    close_session(s, ws);
    /* A deleted file. */
    char p[256];
    snprintf(p, sizeof p, "%s/new.md", dir);
    CHECK_EQ_INT(unlink(p), 0);
    s = open_session(&ws, &st);
    CHECK_EQ_INT(st.removed, 1);
    char id[DX_UUID_LEN + 1];
    CHECK(dx_session_find(s, "new.md", id, NULL) == DX_ENOTFOUND);
    close_session(s, ws);
    teardown();
}

/* Session b opens without the document; session a (another process) then stores a new
 * entry and an edit. b's later use of the document, and its own save, build on both. */
TEST(test_document_loaded_late_includes_what_others_stored_meanwhile)
{
    setup();
    dx_workspace *wa, *wb;
    dx_session_stats st;
    dx_session *a = open_session(&wa, &st);
    close_session(a, wa);
    dx_session *b = open_session(&wb, &st);
    CHECK_EQ_INT(st.loaded, 0);
    a = open_session(&wa, &st);
    dx_error err = DX_ERROR_INIT;
    put("other.md", "---\ntitle: Other\n---\nfrom a\n");
    CHECK_EQ_INT(dx_session_sync(a, &st, &err), 0);
    CHECK_EQ_INT(st.imported, 1);
    dx_fm *fm = NULL;
    CHECK_EQ_INT(dx_workspace_read(wa, "day.md", &fm, &err), 0);
    const char *a1 = "line one\nline two (a)\n";
    dx_fm_set_body(fm, a1, strlen(a1));
    CHECK_EQ_INT(dx_workspace_write(wa, "day.md", fm, &err), 0);
    dx_fm_free(fm);
    CHECK_EQ_INT(dx_session_save(a, NULL, &err), 0);
    /* b: a command's first step, then its own edit of day.md on top of a's. */
    CHECK_EQ_INT(dx_session_sync(b, &st, &err), 0);
    CHECK_EQ_INT(st.imported + st.ingested, 0); /* a's files are a's, recorded by a */
    char id[DX_UUID_LEN + 1];
    CHECK_EQ_INT(dx_session_find(b, "other.md", id, &err), 0);
    fm = NULL;
    CHECK_EQ_INT(dx_workspace_read(wb, "day.md", &fm, &err), 0);
    const char *b1 = "line one\nline two (a)\nline three (b)\n";
    dx_fm_set_body(fm, b1, strlen(b1));
    CHECK_EQ_INT(dx_workspace_write(wb, "day.md", fm, &err), 0);
    dx_fm_free(fm);
    CHECK_EQ_INT(dx_session_save(b, NULL, &err), 0);
    close_session(a, wa);
    close_session(b, wb);
    /* A fresh session agrees with the files and holds each edit once. */
    dx_workspace *wc;
    dx_session *c = open_session(&wc, &st);
    CHECK_EQ_INT(st.ingested + st.written + st.imported, 0);
    char *body = crdt_body(c, "day.md");
    CHECK(body && !strcmp(body, b1));
    free(body);
    body = crdt_body(c, "other.md");
    CHECK(body && !strcmp(body, "from a\n"));
    free(body);
    close_session(c, wc);
    teardown();
}

/* Updates stored but never written (a crash between storing and writing): the unchanged
 * disk does not let the open skip them. */
TEST(test_stored_but_unwritten_update_loads_it_and_writes_the_file)
{
    setup();
    dx_workspace *ws;
    dx_session_stats st;
    dx_session *s = open_session(&ws, &st);
    char id[DX_UUID_LEN + 1];
    dx_error err = DX_ERROR_INIT;
    CHECK_EQ_INT(dx_session_find(s, "day.md", id, &err), 0);
    y_doc *w = NULL;
    y_doc_new(&w, NULL);
    CHECK_EQ_INT(dx_store_load(dx_session_store(s), "workspace", w, &err), 0);
    uint8_t *sv = NULL, *up = NULL;
    size_t svl, upl;
    y_encode_state_vector(w, &sv, &svl);
    CHECK_EQ_INT(dx_wsdoc_set_field(w, id, "title", "Renamed", &err), 0);
    y_encode_state_as_update(w, sv, svl, &up, &upl);
    CHECK_EQ_INT(
        dx_store_append(dx_session_store(s), "workspace", up, upl, "remote", "phone", NULL, &err),
        0);
    y_free(sv);
    y_free(up);
    y_doc_free(w);
    close_session(s, ws);
    s = open_session(&ws, &st);
    CHECK(st.loaded >= 1);
    CHECK(st.written >= 1);
    dx_buf day = DX_BUF_INIT;
    char p[256];
    snprintf(p, sizeof p, "%s/day.md", dir);
    CHECK_EQ_INT(dx_file_read(p, &day, &err), 0);
    CHECK(day.data && strstr(day.data, "title: Renamed") != NULL);
    dx_buf_release(&day);
    close_session(s, ws);
    teardown();
}

/* Commands run in parallel, each with a session opened before the others saved (issue 11):
 * a command edits the state its session holds, even when another process has already
 * written newer files to disk, and its edits merge with the other's instead of undoing
 * them: the body, custom properties and the contents of the index all keep both sides. */
static void edit_day(dx_workspace *ws, const char *line, const char *with, const char *key,
                     const char *value)
{
    dx_error err = DX_ERROR_INIT;
    dx_fm *fm = NULL;
    CHECK_EQ_INT(dx_workspace_read(ws, "day.md", &fm, &err), 0);
    size_t bl;
    const char *body = dx_fm_body(fm, &bl);
    /* Nothing of the other session's edit is visible: it came after this session looked. */
    CHECK(body && !strstr(body, "(a)") && !strstr(body, "(b)"));
    CHECK(!dx_fm_get(fm, "mood") && !dx_fm_get(fm, "weather"));
    dx_buf nb = DX_BUF_INIT;
    const char *at = strstr(body, line);
    CHECK(at != NULL);
    dx_buf_append(&nb, body, (size_t)(at - body) + strlen(line));
    dx_buf_puts(&nb, with);
    dx_buf_puts(&nb, at + strlen(line));
    dx_fm_set_body(fm, nb.data, nb.len);
    CHECK_EQ_INT(dx_fm_set(fm, key, value), 0);
    CHECK_EQ_INT(dx_workspace_write(ws, "day.md", fm, &err), 0);
    dx_fm_free(fm);
    dx_buf_release(&nb);
}

TEST(test_parallel_sessions_merge_instead_of_undoing_each_other)
{
    setup();
    dx_workspace *wa, *wb;
    dx_session *a = open_session(&wa, NULL), *b = open_session(&wb, NULL);
    dx_error err = DX_ERROR_INIT;
    /* b edits, creates an entry and saves: the files on disk are now b's. */
    edit_day(wb, "line three", " (b)", "mood", "good");
    CHECK_EQ_INT(dx_workspace_create(wb, "bee.md", "Bee", false, &err), 0);
    CHECK_EQ_INT(dx_session_save(b, NULL, &err), 0);
    /* a, opened before b saved, does the same from what it saw, without syncing first. */
    edit_day(wa, "line one", " (a)", "weather", "rain");
    CHECK_EQ_INT(dx_workspace_create(wa, "ant.md", "Ant", false, &err), 0);
    if (dx_session_save(a, NULL, &err) != 0)
        TEST_FAILF("save: %s", err.msg);
    char *day = get("day.md"), *home = get("README.md");
    CHECK(day && strstr(day, "line one (a)\nline two\nline three (b)\n"));
    if (!day || !strstr(day, "mood: good\n") || !strstr(day, "weather: rain\n"))
        TEST_FAILF("day.md: %s", day ? day : "(none)");
    CHECK(home && strstr(home, "(/ant.md)") && strstr(home, "(/bee.md)") &&
          strstr(home, "(/day.md)"));
    free(day);
    free(home);
    dx_session_close(a);
    dx_session_close(b);
    dx_workspace_free(wa);
    dx_workspace_free(wb);
    /* A fresh session agrees with the files. */
    dx_workspace *wc;
    dx_session_stats st;
    dx_session *c = open_session(&wc, &st);
    CHECK_EQ_INT(st.ingested + st.written + st.imported + st.removed, 0);
    dx_session_close(c);
    dx_workspace_free(wc);
    teardown();
}

int main(void)
{
    RUN(test_import_records_files_and_second_open_changes_nothing);
    RUN(test_external_edit_merges_with_a_concurrent_remote_edit);
    RUN(test_remote_change_alone_is_written_on_open);
    RUN(test_staged_edits_are_stored_then_written);
    RUN(test_stored_but_unwritten_changes_are_written_on_open);
    RUN(test_two_sessions_see_each_others_edits);
    RUN(test_parallel_sessions_merge_instead_of_undoing_each_other);
    RUN(test_unchanged_workspace_opens_without_the_workspace_document);
    RUN(test_external_edit_deletion_and_new_file_load_it_and_are_taken_in);
    RUN(test_document_loaded_late_includes_what_others_stored_meanwhile);
    RUN(test_stored_but_unwritten_update_loads_it_and_writes_the_file);
    return TEST_REPORT();
}
