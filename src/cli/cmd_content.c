/* cmd_content.c - `diaryx content get|set|append|prepend|clear FILE`. */
#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "diaryx/edit.h"
#include "diaryx/fs.h"

static const char USAGE[] =
    "usage: diaryx content SUBCOMMAND FILE [TEXT] [--file PATH | --stdin]\n\n"
    "  get FILE [--json]       print the body (everything after the frontmatter); --json:\n"
    "                          {\"path\": FILE, \"body\": TEXT}\n"
    "  set FILE TEXT           replace the body\n"
    "  append FILE TEXT        add text at the end as lines (newlines added where needed)\n"
    "  prepend FILE TEXT       add text at the start\n"
    "  clear FILE              empty the body\n"
    "TEXT may come from --file PATH or --stdin instead of the command line.\n";

static int read_stdin(dx_buf *out)
{
    char chunk[65536];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, stdin)) > 0)
        if (dx_buf_append(out, chunk, n))
            return 1;
    return ferror(stdin) ? 1 : 0;
}

int cmd_content(cli_ctx *ctx, int argc, char **argv)
{
    const char *from_file = NULL;
    bool from_stdin = false, json = false;
    cli_opt opts[] = {{"file", 'f', &from_file, NULL},
                      {"stdin", 0, NULL, &from_stdin},
                      {"json", 0, NULL, &json},
                      {NULL}};
    dx_strlist pos = DX_STRLIST_INIT;
    dx_workspace *ws = NULL;
    dx_fm *fm = NULL;
    dx_buf rel = DX_BUF_INIT, text = DX_BUF_INIT;
    dx_error err = DX_ERROR_INIT;
    int rc = cli_parse(USAGE, opts, argc, argv, &pos);
    const char *sub = pos.len ? pos.items[0] : "";
    bool takes_text = !strcmp(sub, "set") || !strcmp(sub, "append") || !strcmp(sub, "prepend");
    if (!rc && !takes_text && strcmp(sub, "get") && strcmp(sub, "clear"))
        rc = pos.len ? cli_usage("content", "unknown subcommand '%s'", sub)
                     : cli_usage("content", "missing SUBCOMMAND");
    size_t want = takes_text && !from_file && !from_stdin ? 3 : 2;
    if (!rc && pos.len != want)
        rc = cli_usage("content", "'%s' takes FILE%s", sub, want == 3 ? " and TEXT" : "");
    if (!rc && from_file && from_stdin)
        rc = cli_usage("content", "--file and --stdin exclude each other");
    if (!rc && json && strcmp(sub, "get"))
        rc = cli_usage("content", "'%s' has no --json output (only 'get' has)", sub);
    if (!rc)
        rc = strcmp(sub, "get") ? cli_open(ctx, &ws) : cli_open_read(ctx, &ws);
    if (!rc && (cli_entry(ws, pos.items[1], true, &rel, &err) ||
                dx_workspace_read(ws, rel.data, &fm, &err)))
        rc = cli_fail(&err);
    if (!rc && takes_text) {
        if (from_file && dx_file_read(from_file, &text, &err))
            rc = cli_fail(&err);
        else if (from_stdin && read_stdin(&text))
            rc = cli_fail(&(dx_error){DX_EIO, "cannot read standard input"});
        else if (!from_file && !from_stdin)
            dx_buf_puts(&text, pos.items[2]);
    }
    if (rc)
        goto done;
    /* A CRLF note's body document holds LF (the file's lines are written with CRLF): text
     * given with CRLF is taken in with LF, so that no line comes out as CR CR LF. */
    if (takes_text && dx_fm_crlf(fm)) {
        size_t n = 0;
        for (size_t i = 0; i < text.len; i++)
            if (!(text.data[i] == '\r' && i + 1 < text.len && text.data[i + 1] == '\n'))
                text.data[n++] = text.data[i];
        dx_buf_truncate(&text, n);
    }
    size_t blen;
    const char *cur = dx_fm_body(fm, &blen);
    if (!strcmp(sub, "get") && json) {
        rc = cli_print_json(
            json_pack("{s:s, s:s%}", "path", rel.data, "body", cur ? cur : "", blen), "the body");
        goto done;
    }
    if (!strcmp(sub, "get")) {
        fwrite(cur, 1, blen, stdout);
        goto done;
    }
    /* The file was read above only to refuse one that does not parse; the edit itself is a
     * CRDT operation on the entry's body (an append merges with a concurrent one). */
    char id[DX_UUID_LEN + 1];
    dx_docs docs;
    dx_session *s = cli_session();
    if ((rc = dx_session_find(s, rel.data, id, &err) ? 1 : 0))
        goto fail;
    dx_session_docs(s, &docs);
    const char *t = dx_buf_cstr(&text);
    if (!strcmp(sub, "set"))
        rc = dx_edit_body_set(&docs, id, t, text.len, &err);
    else if (!strcmp(sub, "clear"))
        rc = dx_edit_body_set(&docs, id, "", 0, &err);
    else if (!strcmp(sub, "append"))
        rc = dx_edit_body_append(&docs, id, t, text.len, &err);
    else
        rc = dx_edit_body_prepend(&docs, id, t, text.len, &err);
fail:
    if (rc)
        rc = cli_fail(&err);
done:
    dx_fm_free(fm);
    rc = cli_finish(ws, rc);
    dx_buf_release(&rel);
    dx_buf_release(&text);
    dx_strlist_release(&pos);
    return rc;
}
