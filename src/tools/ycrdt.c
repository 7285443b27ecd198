/* ycrdt.c - the `ycrdt` tool: apply, inspect and compare Yjs v1 updates from the command
 * line (debugging, and tests that drive the library from outside). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ycrdt.h"
#include "ycrdt_int.h"

static const char USAGE[] =
    "usage: ycrdt COMMAND [OPTIONS] UPDATE...\n\n"
    "  apply [-o OUT] UPDATE...          apply the v1 update files in order to a fresh doc\n"
    "                                    (gc on) and write its full state as a v1 update\n"
    "  merge [-o OUT] UPDATE...          merge the updates without a doc (yjs mergeUpdates)\n"
    "  sv [-o OUT] UPDATE...             apply, then write the encoded state vector\n"
    "  diff --sv SVFILE [-o OUT] UPDATE...\n"
    "                                    apply, then write what the holder of SVFILE lacks\n"
    "  json [--text N]... [--delta N]... [--map N]... [--array N]... UPDATE...\n"
    "                                    apply, then print the named root types as JSON\n"
    "                                    (--text: the plain string, like toString();\n"
    "                                    --delta: the rich text, like toDelta())\n"
    "  dump UPDATE                       list the structs and the delete set of an update\n"
    "Output goes to stdout without -o. Exit status: 0 ok, 1 bad input, 2 usage error.\n";

static int usage_error(const char *msg)
{
    fprintf(stderr, "ycrdt: %s\n%s", msg, USAGE);
    return 2;
}

static int read_file(const char *path, uint8_t **data, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "ycrdt: cannot open '%s'\n", path);
        return 1;
    }
    size_t cap = 65536, n = 0, got;
    uint8_t *b = malloc(cap);
    while (b && (got = fread(b + n, 1, cap - n, f)) > 0) {
        n += got;
        if (n == cap) {
            uint8_t *nb = realloc(b, cap *= 2);
            if (!nb) {
                free(b);
                b = NULL;
            } else {
                b = nb;
            }
        }
    }
    fclose(f);
    if (!b) {
        fprintf(stderr, "ycrdt: out of memory reading '%s'\n", path);
        return 1;
    }
    *data = b;
    *len = n;
    return 0;
}

static int write_out(const char *path, const uint8_t *data, size_t len)
{
    FILE *f = path ? fopen(path, "wb") : stdout;
    if (!f || fwrite(data, 1, len, f) != len) {
        fprintf(stderr, "ycrdt: cannot write '%s'\n", path ? path : "<stdout>");
        if (f && path)
            fclose(f);
        return 1;
    }
    if (path && fclose(f) != 0)
        return 1;
    return 0;
}

typedef struct named {
    const char *name;
    y_type_kind kind;
    bool delta; /* --delta: toDelta() instead of toString() */
} named;

int main(int argc, char **argv)
{
    if (argc < 2 || !strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
        fputs(USAGE, argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    const char *cmd = argv[1], *out = NULL, *svfile = NULL;
    if (strcmp(cmd, "apply") && strcmp(cmd, "merge") && strcmp(cmd, "sv") && strcmp(cmd, "diff") &&
        strcmp(cmd, "json") && strcmp(cmd, "dump"))
        return usage_error("unknown command");
    named types[64];
    size_t ntypes = 0;
    const char *files[1024];
    size_t nfiles = 0;
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            fputs(USAGE, stdout);
            return 0;
        }
        bool takes = !strcmp(a, "-o") || !strcmp(a, "--sv") || !strcmp(a, "--text") ||
                     !strcmp(a, "--delta") || !strcmp(a, "--map") || !strcmp(a, "--array");
        if (takes && i + 1 >= argc)
            return usage_error("an option needs a value");
        if (!strcmp(a, "-o"))
            out = argv[++i];
        else if (!strcmp(a, "--sv"))
            svfile = argv[++i];
        else if (takes && ntypes < 64) {
            types[ntypes].kind = a[2] == 't' || a[2] == 'd' ? Y_TEXT
                                 : a[2] == 'm'              ? Y_MAP
                                                            : Y_ARRAY;
            types[ntypes].delta = a[2] == 'd';
            types[ntypes++].name = argv[++i];
        } else if (a[0] == '-' && a[1])
            return usage_error("unknown option");
        else if (nfiles < 1024)
            files[nfiles++] = a;
    }
    if (nfiles == 0)
        return usage_error("no UPDATE file given");
    if (!strcmp(cmd, "diff") && !svfile)
        return usage_error("diff needs --sv SVFILE");
    if (!strcmp(cmd, "dump")) {
        uint8_t *u;
        size_t n;
        if (nfiles != 1)
            return usage_error("dump takes one UPDATE");
        if (read_file(files[0], &u, &n))
            return 1;
        int rc = y_update_dump(u, n, stdout);
        free(u);
        if (rc)
            fprintf(stderr, "ycrdt: '%s' is not a valid v1 update: %s\n", files[0], y_strerror(rc));
        return rc ? 1 : 0;
    }
    if (!strcmp(cmd, "merge")) {
        uint8_t *ups[1024], *res = NULL;
        size_t lens[1024], rlen = 0;
        int status = 0;
        size_t got = 0;
        for (; got < nfiles && !status; got++)
            status = read_file(files[got], &ups[got], &lens[got]);
        if (status)
            got--;
        int rc =
            status ? Y_OK : y_merge_updates((const uint8_t *const *)ups, lens, nfiles, &res, &rlen);
        if (!status && rc) {
            fprintf(stderr, "ycrdt: cannot merge: %s\n", y_strerror(rc));
            status = 1;
        }
        if (!status)
            status = write_out(out, res, rlen);
        for (size_t i = 0; i < got; i++)
            free(ups[i]);
        y_free(res);
        return status;
    }
    y_doc *doc = NULL;
    if (y_doc_new(&doc, NULL) != Y_OK)
        return 1;
    int status = 0;
    for (size_t i = 0; i < nfiles && !status; i++) {
        uint8_t *u;
        size_t n;
        if (read_file(files[i], &u, &n)) {
            status = 1;
            break;
        }
        int rc = y_apply_update(doc, u, n, NULL);
        free(u);
        if (rc) {
            fprintf(stderr, "ycrdt: cannot apply '%s': %s\n", files[i], y_strerror(rc));
            status = 1;
        }
    }
    uint8_t *res = NULL, *sv = NULL;
    size_t rlen = 0, svlen = 0;
    if (!status && !strcmp(cmd, "apply")) {
        status = y_encode_state_as_update(doc, NULL, 0, &res, &rlen) || write_out(out, res, rlen);
    } else if (!status && !strcmp(cmd, "sv")) {
        status = y_encode_state_vector(doc, &res, &rlen) || write_out(out, res, rlen);
    } else if (!status && !strcmp(cmd, "diff")) {
        if (read_file(svfile, &sv, &svlen))
            status = 1;
        else if (y_encode_state_as_update(doc, sv, svlen, &res, &rlen) != Y_OK) {
            fprintf(stderr, "ycrdt: '%s' is not a valid state vector\n", svfile);
            status = 1;
        } else {
            status = write_out(out, res, rlen);
        }
    } else if (!status) {
        printf("{");
        for (size_t i = 0; i < ntypes; i++) {
            y_type *t = types[i].kind == Y_TEXT  ? y_doc_get_text(doc, types[i].name)
                        : types[i].kind == Y_MAP ? y_doc_get_map(doc, types[i].name)
                                                 : y_doc_get_array(doc, types[i].name);
            char *j = NULL;
            if (!t ||
                (types[i].delta ? y_text_delta(t, &j) : y_type_to_json(t, &j, NULL)) != Y_OK) {
                fprintf(stderr, "ycrdt: '%s' is not a %s in this document\n", types[i].name,
                        types[i].kind == Y_TEXT  ? "text"
                        : types[i].kind == Y_MAP ? "map"
                                                 : "array");
                status = 1;
                break;
            }
            char *name = NULL;
            y_any s = y_any_string(types[i].name, strlen(types[i].name));
            y_any_to_json(&s, &name, NULL);
            printf("%s%s:%s", i ? "," : "", name, j);
            y_free(name);
            y_free(j);
        }
        printf("}\n");
    }
    y_free(res);
    free(sv);
    y_doc_free(doc);
    return status;
}
