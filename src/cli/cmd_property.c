/* cmd_property.c - `diaryx property get|set|remove|list|rename|append FILE ...`. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static const char USAGE[] =
    "usage: diaryx property SUBCOMMAND FILE [ARGS] [--json]\n\n"
    "  get FILE KEY            print a property (lists one item a line; --json as JSON)\n"
    "  set FILE KEY VALUE      set a property; VALUE is YAML (`[a, b]`, `42`, text)\n"
    "  remove FILE KEY         remove a property\n"
    "  list FILE               print every property (--json as an object)\n"
    "  rename FILE OLD NEW     rename a property in place\n"
    "  append FILE KEY VALUE   append a string to a list property (created if absent)\n";

typedef struct sub {
    const char *name;
    size_t nargs; /* after FILE */
    bool writes;
} sub;

static const sub SUBS[] = {{"get", 1, false},  {"set", 2, true},    {"remove", 1, true},
                           {"list", 0, false}, {"rename", 2, true}, {"append", 2, true}};

/* rename and append as edits of the frontmatter rendered from the documents. */
typedef struct fm_edit {
    const char *name, *file;
    char **a;
} fm_edit;

static int edit_fm(dx_fm *fm, void *ud, dx_error *err)
{
    const fm_edit *x = ud;
    char **a = x->a;
    if (!strcmp(x->name, "rename")) {
        int rc = dx_fm_rename(fm, a[0], a[1]);
        if (rc == DX_ENOTFOUND)
            return dx_error_set(err, rc, "'%s' has no property '%s'", x->file, a[0]);
        if (rc == DX_EEXIST)
            return dx_error_set(err, rc, "'%s' already has a property '%s'", x->file, a[1]);
        return rc ? dx_error_set(err, rc, "cannot rename '%s' of '%s'", a[0], x->file) : 0;
    }
    if (dx_fm_kind_of(fm, a[0]) == DX_FM_MAP)
        return dx_error_set(err, DX_EINVAL, "property '%s' of '%s' is a mapping, not a list", a[0],
                            x->file);
    dx_strlist l = DX_STRLIST_INIT;
    int rc = dx_fm_get_list(fm, a[0], &l);
    if (!rc)
        rc = dx_strlist_push(&l, a[1]);
    if (!rc)
        rc = dx_fm_set_list(fm, a[0], &l);
    dx_strlist_release(&l);
    return rc ? dx_error_set(err, rc, "cannot append to '%s' of '%s'", a[0], x->file) : 0;
}

/* A change of the entry's properties, as CRDT edits of the fields that change. */
static int write_property(const char *name, const char *file, char **a)
{
    dx_docs docs;
    dx_error err = DX_ERROR_INIT;
    char id[DX_UUID_LEN + 1];
    fm_edit x = {name, file, a};
    if (cli_docs(&docs))
        return 1;
    int rc = dx_session_find(cli_session(), file, id, &err);
    if (!rc && !strcmp(name, "set"))
        rc = dx_edit_property_set(&docs, id, a[0], a[1], &err);
    else if (!rc && !strcmp(name, "remove"))
        rc = dx_edit_property_remove(&docs, id, a[0], &err);
    else if (!rc)
        rc = dx_edit_frontmatter(&docs, id, edit_fm, &x, &err);
    return rc ? cli_fail(&err) : 0;
}

static int run(const char *name, dx_fm *fm, const char *file, char **a, bool json, bool *dirty)
{
    dx_buf out = DX_BUF_INIT;
    dx_error err = DX_ERROR_INIT;
    int rc = 0;
    if (!strcmp(name, "get")) {
        dx_fm_kind k = dx_fm_kind_of(fm, a[0]);
        if (k == DX_FM_ABSENT) {
            fprintf(stderr, "diaryx: '%s' has no property '%s'\n", file, a[0]);
            return 1;
        }
        if (json) {
            dx_fm_get_json(fm, a[0], &out);
        } else if (k == DX_FM_LIST) {
            dx_strlist l = DX_STRLIST_INIT;
            dx_fm_get_list(fm, a[0], &l);
            for (size_t i = 0; i < l.len; i++)
                dx_buf_printf(&out, "%s\n", l.items[i]);
            dx_strlist_release(&l);
        } else if (k == DX_FM_SCALAR) {
            dx_buf_puts(&out, dx_fm_get(fm, a[0]));
        } else if (k == DX_FM_MAP) {
            dx_fm_get_yaml(fm, a[0], &out);
        }
        cli_print(&out);
    } else if (!strcmp(name, "set")) {
        if (dx_fm_set_yaml(fm, a[0], a[1], &err))
            rc = cli_fail(&err);
        *dirty = !rc;
    } else if (!strcmp(name, "remove")) {
        if (dx_fm_remove(fm, a[0]) != 0) {
            fprintf(stderr, "diaryx: '%s' has no property '%s'\n", file, a[0]);
            return 1;
        }
        *dirty = true;
    } else if (!strcmp(name, "list")) {
        if (json)
            dx_buf_putc(&out, '{');
        for (size_t i = 0; i < dx_fm_count(fm); i++) {
            const char *k = dx_fm_key(fm, i);
            if (json) {
                json_t *js = json_string(k);
                char *key = js ? json_dumps(js, JSON_ENCODE_ANY) : NULL;
                dx_buf_printf(&out, "%s%s:", i ? "," : "", key ? key : "\"\"");
                dx_fm_get_json(fm, k, &out);
                free(key);
                json_decref(js);
            } else {
                dx_buf_printf(&out, "%s: ", k);
                dx_fm_get_yaml(fm, k, &out);
                dx_buf_putc(&out, '\n');
            }
        }
        if (json)
            dx_buf_putc(&out, '}');
        if (out.len)
            cli_print(&out);
    } else if (!strcmp(name, "rename") || !strcmp(name, "append")) {
        fm_edit x = {name, file, a};
        if ((rc = edit_fm(fm, &x, &err) ? 1 : 0))
            cli_fail(&err);
        *dirty = !rc;
    }
    dx_buf_release(&out);
    return rc;
}

int cmd_property(cli_ctx *ctx, int argc, char **argv)
{
    bool json = false;
    cli_opt opts[] = {{"json", 0, NULL, &json}, {NULL}};
    dx_strlist pos = DX_STRLIST_INIT;
    int rc = cli_parse(USAGE, opts, argc, argv, &pos);
    const sub *s = NULL;
    if (!rc && pos.len == 0)
        rc = cli_usage("property", "missing SUBCOMMAND");
    for (size_t i = 0; !rc && !s && i < sizeof SUBS / sizeof *SUBS; i++)
        if (!strcmp(pos.items[0], SUBS[i].name))
            s = &SUBS[i];
    if (!rc && !s)
        rc = cli_usage("property", "unknown subcommand '%s'", pos.items[0]);
    if (!rc && json && s->writes)
        rc = cli_usage("property", "'%s' has no --json output (only get and list have)", s->name);
    if (!rc && pos.len != s->nargs + 2)
        rc = cli_usage("property", "'%s' takes FILE and %zu more argument%s", s->name, s->nargs,
                       s->nargs == 1 ? "" : "s");
    dx_workspace *ws = NULL;
    dx_fm *fm = NULL;
    dx_buf rel = DX_BUF_INIT;
    dx_error err = DX_ERROR_INIT;
    if (!rc)
        rc = s->writes ? cli_open(ctx, &ws) : cli_open_read(ctx, &ws);
    if (!rc && (cli_entry(ws, pos.items[1], true, &rel, &err) ||
                dx_workspace_read(ws, rel.data, &fm, &err)))
        rc = cli_fail(&err);
    bool dirty = false;
    char id[DX_UUID_LEN + 1];
    /* An entry's properties change as CRDT edits (they merge with a parallel command's);
     * the file was read above only to refuse one that does not parse. A file that is not
     * an entry (not taken in) is edited as a file image, as before. */
    if (!rc && s->writes && dx_session_find(cli_session(), rel.data, id, NULL) == 0)
        rc = write_property(s->name, rel.data, pos.items + 2);
    else if (!rc)
        rc = run(s->name, fm, rel.data, pos.items + 2, json, &dirty);
    if (!rc && dirty && dx_workspace_write(ws, rel.data, fm, &err))
        rc = cli_fail(&err);
    dx_fm_free(fm);
    rc = cli_finish(ws, rc);
    dx_buf_release(&rel);
    dx_strlist_release(&pos);
    return rc;
}
