/* bench_docfiles.c - the reads of a workspace over its CRDT documents (docfiles.h) against the
 * same workspace on disk: open, tree --depth 1, the whole tree, validate and a search over
 * ENTRIES entries (100 folders of entries with bodies of 1-5 KB under a root index), built in
 * memory with no directory and written once to a scratch directory for the disk side.
 * Usage: bench_docfiles [DIR] [ENTRIES] (a scratch directory, default /tmp; 10000). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "diaryx/docfiles.h"
#include "diaryx/fs.h"
#include "diaryx/materialize.h"
#include "diaryx/strmap.h"
#include "diaryx/workspace.h"

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void die(const char *what, const dx_error *e)
{
    fprintf(stderr, "%s: %s\n", what, e->msg);
    exit(1);
}

typedef struct docset {
    y_doc *ws;
    dx_strmap bodies; /* id -> y_doc * */
    dx_strmap ids;    /* path -> id, for ingest */
    size_t asked;     /* body documents the reads asked for */
} docset;

static y_doc *body_doc(docset *s, const char *id)
{
    y_doc *b = dx_strmap_get(&s->bodies, id);
    if (!b && (y_doc_new(&b, NULL) != Y_OK || dx_strmap_put(&s->bodies, id, b))) {
        fprintf(stderr, "out of memory\n");
        exit(1);
    }
    return b;
}

static int docs_body(void *ud, const char *id, y_doc **out, dx_error *err)
{
    (void)err;
    ((docset *)ud)->asked++;
    *out = body_doc(ud, id);
    return 0;
}

static y_doc *load_body(void *user, const char *id)
{
    return body_doc(user, id);
}

static int lookup(void *user, const char *path, char out[DX_UUID_LEN + 1])
{
    const char *id = dx_strmap_get(&((docset *)user)->ids, path);
    if (!id)
        return DX_ENOTFOUND;
    memcpy(out, id, DX_UUID_LEN + 1);
    return 0;
}

static void ingest(docset *s, const char *path, const dx_buf *text)
{
    char id[DX_UUID_LEN + 1];
    dx_error e = DX_ERROR_INIT;
    if (dx_uuid_v4(id) ||
        dx_ingest_entry_with(s->ws, id, path, text->data, text->len, body_doc(s, id),
                             DX_LINK_MARKDOWN_ROOT, lookup, s, &e))
        die(path, &e);
    dx_strmap_put(&s->ids, path, strdup(id));
}

/* Take the file at path in again (its entry exists). */
static void again(docset *s, const char *path, const dx_buf *text)
{
    char id[DX_UUID_LEN + 1];
    dx_error e = DX_ERROR_INIT;
    memcpy(id, dx_strmap_get(&s->ids, path), sizeof id);
    if (dx_ingest_entry_with(s->ws, id, path, text->data, text->len, body_doc(s, id),
                             DX_LINK_MARKDOWN_ROOT, lookup, s, &e))
        die(path, &e);
}

/* Parents first: the root, then each folder index with its entries. */
static void build(docset *s, int n)
{
    int folders = (n + 99) / 100, made = 0;
    unsigned seed = 7;
    dx_buf b = DX_BUF_INIT, path = DX_BUF_INIT, top = DX_BUF_INIT;
    char rel[256];
    dx_buf_puts(&top, "---\ntitle: Journal\ncontents:\n");
    for (int f = 0; f < folders; f++)
        dx_buf_printf(&top, "- '[F%d](/f%03d/f%03d.md)'\n", f, f, f);
    dx_buf_puts(&top, "---\n\n# Journal\n");
    ingest(s, "README.md", &top);
    /* Children are listed before they exist; an index is taken in again once they do. */
    for (int f = 0; f < folders; f++) {
        int per = n - made < 100 ? n - made : 100;
        dx_buf_reset(&b);
        dx_buf_printf(&b, "---\ntitle: F%d\npart_of: '[Journal](/README.md)'\ncontents: []\n---\n",
                      f);
        snprintf(rel, sizeof rel, "f%03d/f%03d.md", f, f);
        ingest(s, rel, &b);
        for (int i = 0; i < per; i++, made++) {
            dx_buf_reset(&b);
            dx_buf_printf(&b, "---\ntitle: Note %d\npart_of: '[F%d](/%s)'\n---\n\n", made, f, rel);
            int size = 1024 + (int)((seed = seed * 1103515245u + 12345u) >> 8) % 4096;
            while ((int)b.len < size)
                dx_buf_puts(&b, "Some words of a diary entry, written on a quiet day. ");
            dx_buf_putc(&b, '\n');
            dx_buf_reset(&path);
            dx_buf_printf(&path, "f%03d/n%05d.md", f, made);
            ingest(s, path.data, &b);
        }
        dx_buf_reset(&b);
        dx_buf_printf(&b, "---\ntitle: F%d\npart_of: '[Journal](/README.md)'\ncontents:\n", f);
        for (int i = made - per; i < made; i++)
            dx_buf_printf(&b, "- '[Note %d](/f%03d/n%05d.md)'\n", i, f, i);
        dx_buf_puts(&b, "---\n");
        again(s, rel, &b);
    }
    again(s, "README.md", &top);
    dx_buf_release(&top);
    dx_buf_release(&b);
    dx_buf_release(&path);
}

/* The best of three runs of one read, in ms. */
typedef enum { TREE1, TREE, VALIDATE, SEARCH } read_kind;

static double timed(dx_workspace *ws, read_kind k, size_t *out)
{
    double best = 1e9;
    for (int r = 0; r < 3; r++) {
        dx_error e = DX_ERROR_INIT;
        double t0 = now();
        if (k == TREE1 || k == TREE) {
            dx_tree_node *t = NULL;
            dx_buf b = DX_BUF_INIT;
            if (dx_workspace_tree(ws, NULL, k == TREE1 ? 1 : 0, &t, &e) || dx_tree_render(t, &b))
                die("tree", &e);
            *out = b.len;
            dx_tree_free(t);
            dx_buf_release(&b);
        } else if (k == VALIDATE) {
            dx_report rep;
            if (dx_workspace_validate(ws, &rep, &e))
                die("validate", &e);
            *out = rep.files_checked * 1000 + rep.len;
            dx_report_release(&rep);
        } else {
            dx_matches m = {0};
            if (dx_workspace_search(ws, "quiet day", NULL, &m, &e))
                die("search", &e);
            *out = m.len;
            dx_matches_release(&m);
        }
        double t = now() - t0;
        best = t < best ? t : best;
    }
    return best * 1e3;
}

int main(int argc, char **argv)
{
    const char *base = argc > 1 ? argv[1] : "/tmp";
    int n = argc > 2 ? atoi(argv[2]) : 10000;
    if (n < 1)
        n = 1;
    char root[2048];
    snprintf(root, sizeof root, "%s/bench-docfiles-%d", base, (int)getpid());
    docset s = {0};
    if (y_doc_new(&s.ws, NULL) != Y_OK)
        return 1;
    double t0 = now();
    build(&s, n);
    printf("documents: %d entries + %d indexes built in memory in %.2f s\n", n, (n + 99) / 100 + 1,
           now() - t0);
    dx_error e = DX_ERROR_INIT;
    t0 = now();
    if (dx_mkdirs(root, &e) ||
        dx_materialize_to_dir(s.ws, load_body, &s, DX_LINK_MARKDOWN_ROOT, root, NULL, &e))
        die("materialize", &e);
    printf("written to %s in %.2f s\n", root, now() - t0);

    dx_docs d = {s.ws, docs_body, NULL, &s};
    dx_workspace *disk = NULL, *mem = NULL;
    t0 = now();
    if (dx_workspace_open(root, &disk, &e))
        die("open", &e);
    double open_disk = (now() - t0) * 1e3;
    t0 = now();
    if (dx_workspace_open_docs(&d, DX_LINK_MARKDOWN_ROOT, &mem, &e))
        die("open docs", &e);
    double open_mem = (now() - t0) * 1e3;
    printf("%-18s %10s %10s\n", "", "disk ms", "docs ms");
    printf("%-18s %10.1f %10.1f\n", "open", open_disk, open_mem);
    static const char *const names[] = {"tree --depth 1", "tree", "validate", "search"};
    for (int k = TREE1; k <= SEARCH; k++) {
        size_t a = 0, b = 0;
        s.asked = 0;
        double td = timed(disk, (read_kind)k, &a), tm = timed(mem, (read_kind)k, &b);
        printf("%-18s %10.1f %10.1f   (bodies rendered per run: %zu)%s\n", names[k], td, tm,
               s.asked / 3, a == b ? "" : "  RESULTS DIFFER");
    }
    dx_workspace_free(disk);
    dx_workspace_free(mem);
    for (size_t i = 0; i < s.bodies.cap; i++)
        if (s.bodies.slots[i].key)
            y_doc_free(s.bodies.slots[i].value);
    for (size_t i = 0; i < s.ids.cap; i++)
        if (s.ids.slots[i].key)
            free(s.ids.slots[i].value);
    dx_strmap_release(&s.bodies);
    dx_strmap_release(&s.ids);
    y_doc_free(s.ws);
    char cmd[2100];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", root);
    return system(cmd) == 0 ? 0 : 1;
}
