/* config.c - config.toml: load, typed access with defaults, set, save atomically. */
#include "diaryx/config.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "diaryx/fs.h"
#include "diaryx/links.h"
#include "diaryx/number.h"
#include "diaryx/paths.h"
#include "diaryx/toml.h"

typedef enum { K_STRING, K_BOOL, K_INT, K_LINK_FORMAT } key_type;

typedef struct known_key {
    const char *name;  /* as the user writes it */
    const char *table; /* "" or "git" */
    const char *key;
    key_type type;
    const char *def;  /* default as text, or NULL */
    int64_t min, max; /* K_INT: the allowed range */
} known_key;

static const known_key KEYS[] = {
    {"default_workspace", "", "default_workspace", K_STRING, NULL},
    {"daily_entry_folder", "", "daily_entry_folder", K_STRING, NULL},
    {"editor", "", "editor", K_STRING, NULL},
    {"device_name", "", "device_name", K_STRING, NULL},
    {"default_template", "", "default_template", K_STRING, NULL},
    {"daily_template", "", "daily_template", K_STRING, NULL},
    {"link_format", "", "link_format", K_LINK_FORMAT, "markdown_root"},
    {"sync_server_url", "", "sync_server_url", K_STRING, NULL},
    {"sync_session_token", "", "sync_session_token", K_STRING, NULL},
    {"sync_email", "", "sync_email", K_STRING, NULL},
    {"sync_workspace_id", "", "sync_workspace_id", K_STRING, NULL},
    {"git.auto_commit", "git", "auto_commit", K_BOOL, "true"},
    {"git.auto_commit_interval_minutes", "git", "auto_commit_interval_minutes", K_INT, "30", 1,
     DX_CONFIG_MAX_INTERVAL_MINUTES},
    {"git.keep_updates", "git", "keep_updates", K_INT, "50", 1, DX_CONFIG_MAX_KEEP_UPDATES},
};
#define NKEYS (sizeof KEYS / sizeof *KEYS)

struct dx_config {
    char *path;
    dx_toml toml;
};

int dx_config_default_path(dx_buf *out, dx_error *err)
{
    const char *xdg = getenv("XDG_CONFIG_HOME"), *home = getenv("HOME");
    if (xdg && xdg[0] == '/')
        return dx_buf_printf(out, "%s/diaryx/config.toml", xdg);
    if (home && home[0])
        return dx_buf_printf(out, "%s/.config/diaryx/config.toml", home);
    return dx_error_set(err, DX_ENOTFOUND,
                        "cannot find the config directory: neither "
                        "XDG_CONFIG_HOME nor HOME is set");
}

int dx_config_workspace_path(const char *root, dx_buf *out)
{
    return dx_buf_printf(out, "%s/.diaryx/config.toml", root);
}

static const known_key *lookup(const char *name)
{
    for (size_t i = 0; i < NKEYS; i++)
        if (!strcmp(KEYS[i].name, name))
            return &KEYS[i];
    return NULL;
}

static const char *type_name(key_type t)
{
    return t == K_BOOL ? "true or false" : t == K_INT ? "an integer" : "a string";
}

static bool type_ok(const known_key *k, const dx_toml_value *v)
{
    switch (k->type) {
    case K_BOOL:
        return v->type == DX_TOML_BOOL;
    case K_INT:
        return v->type == DX_TOML_INT; /* the range is checked by the caller */
    case K_LINK_FORMAT: {
        dx_link_format f;
        return v->type == DX_TOML_STRING && dx_link_format_parse(v->str, &f) == 0;
    }
    case K_STRING:
        return v->type == DX_TOML_STRING;
    }
    return false;
}

int dx_config_load(const char *path, dx_config **out, dx_error *err)
{
    dx_config *cfg = calloc(1, sizeof *cfg);
    dx_buf p = DX_BUF_INIT, text = DX_BUF_INIT;
    int rc = 0;
    *out = NULL;
    if (!cfg)
        return dx_error_set(err, DX_ENOMEM, "out of memory");
    if (path)
        rc = dx_buf_puts(&p, path);
    else
        rc = dx_config_default_path(&p, err);
    if (!rc && !(cfg->path = dx_buf_detach(&p, NULL)))
        rc = DX_ENOMEM;
    if (rc == DX_ENOMEM)
        dx_error_set(err, rc, "out of memory reading '%s'", path ? path : "config.toml");
    if (rc)
        goto fail;
    rc = dx_file_read(cfg->path, &text, err);
    if (rc == DX_ENOTFOUND) {
        dx_error_clear(err);
        rc = 0;
    } else if (rc) {
        goto fail;
    } else if ((rc = dx_toml_parse(dx_buf_cstr(&text), text.len, cfg->path, &cfg->toml, err))) {
        goto fail;
    }
    /* The old name of default_workspace. */
    const dx_toml_value *alias = dx_toml_get(&cfg->toml, "", "base_dir");
    if (alias && !dx_toml_get(&cfg->toml, "", "default_workspace") &&
        alias->type == DX_TOML_STRING) {
        if ((rc = dx_toml_set_string(&cfg->toml, "", "default_workspace", alias->str)) ||
            (rc = dx_toml_remove(&cfg->toml, "", "base_dir")))
            goto fail;
    }
    for (size_t i = 0; i < NKEYS; i++) {
        const dx_toml_value *v = dx_toml_get(&cfg->toml, KEYS[i].table, KEYS[i].key);
        if (v && KEYS[i].type == K_INT && v->type == DX_TOML_INT &&
            (rc = dx_number_check_int(KEYS[i].name, v->i, KEYS[i].min, KEYS[i].max, err))) {
            dx_error_prefix(err, "invalid setting in '%s'", cfg->path);
            goto fail;
        }
        if (v && !type_ok(&KEYS[i], v)) {
            rc = dx_error_set(err, DX_EINVAL, "invalid value for '%s' in '%s': expected %s",
                              KEYS[i].name, cfg->path,
                              KEYS[i].type == K_LINK_FORMAT
                                  ? "one of markdown_root, markdown_relative, plain_relative, "
                                    "plain_canonical"
                                  : type_name(KEYS[i].type));
            goto fail;
        }
    }
    dx_buf_release(&text);
    *out = cfg;
    return 0;
fail:
    dx_buf_release(&p);
    dx_buf_release(&text);
    dx_config_free(cfg);
    return rc;
}

void dx_config_free(dx_config *cfg)
{
    if (!cfg)
        return;
    free(cfg->path);
    dx_toml_release(&cfg->toml);
    free(cfg);
}

const char *dx_config_path(const dx_config *cfg)
{
    return cfg->path;
}

const char *dx_config_string(const dx_config *cfg, const char *name)
{
    const known_key *k = lookup(name);
    if (!k)
        return NULL;
    const dx_toml_value *v = dx_toml_get(&cfg->toml, k->table, k->key);
    if (v && v->type == DX_TOML_STRING)
        return v->str;
    return k->type == K_LINK_FORMAT ? k->def : NULL;
}

bool dx_config_git_auto_commit(const dx_config *cfg)
{
    const dx_toml_value *v = dx_toml_get(&cfg->toml, "git", "auto_commit");
    return v ? v->b : true;
}

/* A K_INT setting: its value (checked against its range by dx_config_load and
 * dx_config_set), else its default. */
static int64_t int_setting(const dx_config *cfg, const char *name)
{
    const known_key *k = lookup(name);
    const dx_toml_value *v = dx_toml_get(&cfg->toml, k->table, k->key);
    return v && v->type == DX_TOML_INT ? v->i : strtoll(k->def, NULL, 10);
}

int64_t dx_config_git_interval_minutes(const dx_config *cfg)
{
    return int_setting(cfg, "git.auto_commit_interval_minutes");
}

int64_t dx_config_git_keep_updates(const dx_config *cfg)
{
    return int_setting(cfg, "git.keep_updates");
}

/* Split "table.key" (unknown keys); "key" is a root key. */
static void split_name(const char *name, char *table, size_t tn, const char **key)
{
    const char *dot = strchr(name, '.');
    if (!dot) {
        table[0] = 0;
        *key = name;
        return;
    }
    snprintf(table, tn, "%.*s", (int)(dot - name), name);
    *key = dot + 1;
}

static int value_text(const dx_toml_value *v, dx_buf *out)
{
    switch (v->type) {
    case DX_TOML_STRING:
        return dx_buf_puts(out, v->str);
    case DX_TOML_INT:
        return dx_buf_printf(out, "%lld", (long long)v->i);
    case DX_TOML_BOOL:
        return dx_buf_puts(out, v->b ? "true" : "false");
    case DX_TOML_ARRAY:
        for (size_t i = 0; i < v->arr.len; i++)
            dx_buf_printf(out, "%s%s", i ? ", " : "", v->arr.items[i]);
        return dx_buf_error(out);
    }
    return dx_buf_error(out);
}

/* The table and key of a setting name: a known key's own, else "table.key" / "key". */
static const known_key *resolve_name(const char *name, char *table, size_t tn, const char **key)
{
    const known_key *k = lookup(name);
    if (k) {
        snprintf(table, tn, "%s", k->table);
        *key = k->key;
    } else {
        split_name(name, table, tn, key);
    }
    return k;
}

int dx_config_get(const dx_config *cfg, const char *name, dx_buf *out, dx_error *err)
{
    char table[128];
    const char *key;
    const known_key *k = resolve_name(name, table, sizeof table, &key);
    const dx_toml_value *v = dx_toml_get(&cfg->toml, table, key);
    if (v)
        return value_text(v, out);
    if (k && k->def)
        return dx_buf_puts(out, k->def);
    return dx_error_set(err, DX_ENOTFOUND, "'%s' is not set", name);
}

int dx_config_list(const dx_config *cfg, const char *name, dx_strlist *out, dx_error *err)
{
    char table[128];
    const char *key;
    resolve_name(name, table, sizeof table, &key);
    const dx_toml_value *v = dx_toml_get(&cfg->toml, table, key);
    int rc = 0;
    if (!v)
        return 0;
    if (v->type == DX_TOML_STRING)
        rc = dx_strlist_push(out, v->str);
    else if (v->type == DX_TOML_ARRAY)
        for (size_t i = 0; !rc && i < v->arr.len; i++)
            rc = dx_strlist_push(out, v->arr.items[i]);
    else
        return dx_error_set(err, DX_EINVAL,
                            "invalid value for '%s' in '%s': expected a list of strings, e.g. "
                            "%s = [\"drafts/**\"]",
                            name, cfg->path, name);
    return rc ? dx_error_set(err, rc, "out of memory reading '%s'", name) : 0;
}

int dx_config_set(dx_config *cfg, const char *name, const char *value, dx_error *err)
{
    const known_key *k = lookup(name);
    if (!k)
        return dx_error_set(err, DX_EINVAL,
                            "unknown setting '%s' (see `diaryx config` for the "
                            "list)",
                            name);
    switch (k->type) {
    case K_BOOL:
        if (strcmp(value, "true") && strcmp(value, "false"))
            return dx_error_set(err, DX_EINVAL, "'%s' must be true or false, not '%s'", name,
                                value);
        return dx_toml_set_bool(&cfg->toml, k->table, k->key, value[0] == 't');
    case K_INT: {
        int64_t n;
        int rc = dx_number_parse_int(name, value, k->min, k->max, &n, err);
        return rc ? rc : dx_toml_set_int(&cfg->toml, k->table, k->key, n);
    }
    case K_LINK_FORMAT: {
        dx_link_format f;
        if (dx_link_format_parse(value, &f))
            return dx_error_set(err, DX_EINVAL,
                                "'%s' must be one of markdown_root, markdown_relative, "
                                "plain_relative, plain_canonical, not '%s'",
                                name, value);
        return dx_toml_set_string(&cfg->toml, k->table, k->key, dx_link_format_name(f));
    }
    case K_STRING:
        return dx_toml_set_string(&cfg->toml, k->table, k->key, value);
    }
    return DX_EINVAL;
}

int dx_config_unset(dx_config *cfg, const char *name, dx_error *err)
{
    char table[128];
    const char *key;
    resolve_name(name, table, sizeof table, &key);
    int rc = dx_toml_remove(&cfg->toml, table, key);
    if (rc == DX_ENOTFOUND)
        return 0;
    return rc ? dx_error_set(err, rc, "cannot remove '%s'", name) : 0;
}

int dx_config_save(const dx_config *cfg, dx_error *err)
{
    dx_buf text = DX_BUF_INIT, dir = DX_BUF_INIT;
    int rc = dx_toml_write(&cfg->toml, &text);
    const char *slash = strrchr(cfg->path, '/');
    if (!rc && slash && slash != cfg->path)
        rc = dx_buf_append(&dir, cfg->path, (size_t)(slash - cfg->path));
    if (rc)
        dx_error_set(err, rc, "cannot save '%s': %s", cfg->path, dx_strerror(rc));
    else if (dir.len)
        rc = dx_mkdirs(dir.data, err);
    if (!rc)
        rc = dx_file_write_atomic(cfg->path, dx_buf_cstr(&text), text.len, 0600, err);
    dx_buf_release(&text);
    dx_buf_release(&dir);
    return rc;
}

static bool is_known(const dx_toml_entry *e)
{
    for (size_t i = 0; i < NKEYS; i++)
        if (!strcmp(KEYS[i].table, e->table) && !strcmp(KEYS[i].key, e->key))
            return true;
    return false;
}

int dx_config_describe(const dx_config *cfg, dx_buf *out)
{
    /* out is sticky: appended to unchecked, its first failure returned at the end */
    for (size_t i = 0; i < NKEYS; i++) {
        const dx_toml_value *v = dx_toml_get(&cfg->toml, KEYS[i].table, KEYS[i].key);
        dx_buf_printf(out, "%s = ", KEYS[i].name);
        if (v)
            value_text(v, out);
        else
            dx_buf_printf(out, "%s (default)", KEYS[i].def ? KEYS[i].def : "(unset)");
        dx_buf_putc(out, '\n');
    }
    for (size_t i = 0; i < cfg->toml.len; i++) {
        const dx_toml_entry *e = &cfg->toml.entries[i];
        if (is_known(e))
            continue;
        dx_buf_printf(out, "%s%s%s = ", e->table, e->table[0] ? "." : "", e->key);
        value_text(&e->value, out);
        dx_buf_puts(out, " (unknown key, kept)\n");
    }
    return dx_buf_error(out);
}

static json_t *value_json(const dx_toml_value *v)
{
    switch (v->type) {
    case DX_TOML_STRING:
        return json_string(v->str);
    case DX_TOML_INT:
        return json_integer(v->i);
    case DX_TOML_BOOL:
        return json_boolean(v->b);
    case DX_TOML_ARRAY: {
        json_t *a = json_array();
        for (size_t i = 0; i < v->arr.len; i++)
            json_array_append_new(a, json_string(v->arr.items[i]));
        return a;
    }
    }
    return json_null();
}

int dx_config_describe_json(const dx_config *cfg, dx_buf *out)
{
    json_t *o = json_object();
    for (size_t i = 0; i < NKEYS; i++) {
        const dx_toml_value *v = dx_toml_get(&cfg->toml, KEYS[i].table, KEYS[i].key);
        json_t *j = v                        ? value_json(v)
                    : !KEYS[i].def           ? json_null()
                    : KEYS[i].type == K_BOOL ? json_boolean(!strcmp(KEYS[i].def, "true"))
                    : KEYS[i].type == K_INT  ? json_integer(atoll(KEYS[i].def))
                                             : json_string(KEYS[i].def);
        json_object_set_new(o, KEYS[i].name, j);
    }
    for (size_t i = 0; i < cfg->toml.len; i++) {
        const dx_toml_entry *e = &cfg->toml.entries[i];
        if (is_known(e))
            continue;
        char name[512];
        snprintf(name, sizeof name, "%s%s%s", e->table, e->table[0] ? "." : "", e->key);
        json_object_set_new(o, name, value_json(&e->value));
    }
    char *s = json_dumps(o, JSON_INDENT(2));
    json_decref(o);
    if (!s)
        return DX_ENOMEM;
    int rc = dx_buf_puts(out, s);
    free(s);
    return rc;
}
