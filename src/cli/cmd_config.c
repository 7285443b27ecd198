/* cmd_config.c - `diaryx config [KEY [VALUE]] [--unset KEY] [--json]`. */
#include <jansson.h>
#include <stdio.h>

#include "cli.h"

static const char USAGE[] =
    "usage: diaryx config [KEY [VALUE]] [--unset KEY] [--json] [--path]\n\n"
    "Without arguments, print every setting of config.toml ($XDG_CONFIG_HOME/diaryx/\n"
    "config.toml) with its value or default. With KEY, print one; with KEY VALUE, set it.\n"
    "Keys: default_workspace, daily_entry_folder, editor, default_template, daily_template,\n"
    "link_format, sync_server_url, sync_session_token, sync_email, sync_workspace_id,\n"
    "git.auto_commit (true/false), git.auto_commit_interval_minutes (minutes, 1 to 525600),\n"
    "git.keep_updates (updates per document kept by the compaction after a commit, 1 to\n"
    "1000000). --json: every setting as an object, KEY's value as JSON, or {\"path\": FILE}.\n";

int cmd_config(cli_ctx *ctx, int argc, char **argv)
{
    (void)ctx;
    const char *unset = NULL;
    bool json = false, path = false;
    cli_opt opts[] = {
        {"unset", 0, &unset, NULL}, {"json", 0, NULL, &json}, {"path", 0, NULL, &path}, {NULL}};
    dx_strlist pos = DX_STRLIST_INIT;
    dx_config *cfg = NULL;
    dx_error err = DX_ERROR_INIT;
    dx_buf out = DX_BUF_INIT;
    int rc = cli_parse(USAGE, opts, argc, argv, &pos);
    if (!rc && pos.len > 2)
        rc = cli_usage("config", "expected at most KEY and VALUE");
    if (!rc && json && (unset || pos.len == 2))
        rc = cli_usage("config", "changing a setting has no --json output");
    if (!rc)
        rc = cli_config(&cfg);
    if (rc)
        goto done;
    if (path && json) {
        rc = cli_print_json(json_pack("{s:s}", "path", dx_config_path(cfg)), "the config path");
    } else if (path) {
        printf("%s\n", dx_config_path(cfg));
    } else if (unset) {
        if (dx_config_unset(cfg, unset, &err) || dx_config_save(cfg, &err))
            rc = cli_fail(&err);
    } else if (pos.len == 2) {
        if (dx_config_set(cfg, pos.items[0], pos.items[1], &err) || dx_config_save(cfg, &err))
            rc = cli_fail(&err);
    } else if (pos.len == 1) {
        if (dx_config_get(cfg, pos.items[0], &out, &err)) {
            rc = cli_fail(&err);
        } else if (json) {
            /* The typed value, as the whole object gives it. */
            dx_buf all = DX_BUF_INIT;
            json_t *o = dx_config_describe_json(cfg, &all) ? NULL : json_loads(all.data, 0, NULL);
            json_t *v = json_object_get(o, pos.items[0]);
            rc = cli_print_json(v ? json_incref(v) : NULL, "the setting");
            json_decref(o);
            dx_buf_release(&all);
        } else {
            printf("%s\n", dx_buf_cstr(&out));
        }
    } else {
        json ? dx_config_describe_json(cfg, &out) : dx_config_describe(cfg, &out);
        cli_print(&out);
    }
done:
    dx_config_free(cfg);
    dx_buf_release(&out);
    dx_strlist_release(&pos);
    return rc;
}
