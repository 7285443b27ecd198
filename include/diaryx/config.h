/* config.h - the user configuration, `config.toml`.
 *
 * Location: $XDG_CONFIG_HOME/diaryx/config.toml, else ~/.config/diaryx/config.toml. A
 * missing file means the defaults. Known keys (docs/cli.md lists them with defaults):
 *   default_workspace (read alias: base_dir), daily_entry_folder, editor, default_template,
 *   daily_template, link_format, sync_server_url, sync_session_token, sync_email,
 *   sync_workspace_id, git.auto_commit (bool, true), git.auto_commit_interval_minutes
 *   (integer 1..DX_CONFIG_MAX_INTERVAL_MINUTES, 30), git.keep_updates (integer
 *   1..DX_CONFIG_MAX_KEEP_UPDATES, 50: the updates per document the compaction after a
 *   commit keeps).
 * Integer settings outside their range are refused by dx_config_load and dx_config_set
 * with a message naming the key, the value and the range.
 * Unknown keys are kept and written back untouched, so a newer version's settings survive
 * an older diaryx. Saving is atomic (temporary file + rename). */
#ifndef DX_CONFIG_H
#define DX_CONFIG_H

#include <stdbool.h>
#include <stdint.h>

#include "diaryx/buf.h"
#include "diaryx/error.h"
#include "diaryx/strlist.h"

typedef struct dx_config dx_config;

#define DX_CONFIG_MAX_INTERVAL_MINUTES 525600 /* one year */
#define DX_CONFIG_MAX_KEEP_UPDATES     1000000

/* The default path of config.toml, appended to out. DX_ENOTFOUND without HOME/XDG. */
int dx_config_default_path(dx_buf *out, dx_error *err);

/* The workspace config of the workspace at root (absolute): root/.diaryx/config.toml,
 * appended to out. The same TOML as config.toml, for settings of one workspace on this
 * machine (.diaryx is never committed); its one key today is `exclude`, a list of globs
 * (paths.h) of files diaryx leaves out of the workspace (ignore.h). 0 or DX_ENOMEM. */
int dx_config_workspace_path(const char *root, dx_buf *out);

/* Load path (NULL = the default path). Missing file -> defaults. Malformed TOML ->
 * DX_EPARSE "cannot parse 'PATH' (line L, column C): ...". A known key with the wrong type
 * -> DX_EINVAL naming the key. */
int dx_config_load(const char *path, dx_config **out, dx_error *err);
void dx_config_free(dx_config *cfg);

/* The file this config was loaded from (borrowed). */
const char *dx_config_path(const dx_config *cfg);

/* A string setting, or NULL when unset. name is a known key such as "editor". */
const char *dx_config_string(const dx_config *cfg, const char *name);
bool dx_config_git_auto_commit(const dx_config *cfg);
int64_t dx_config_git_interval_minutes(const dx_config *cfg);
int64_t dx_config_git_keep_updates(const dx_config *cfg);

/* A list setting (an unknown key such as the workspace config's "exclude" or "table.key")
 * appended to out: an array's strings, or a string as one item; nothing when unset. Any
 * other type: DX_EINVAL naming the key and the file. */
int dx_config_list(const dx_config *cfg, const char *name, dx_strlist *out, dx_error *err);

/* Read any key ("editor", "git.auto_commit", or an unknown "table.key") as text into out.
 * DX_ENOTFOUND when unset and without a default. */
int dx_config_get(const dx_config *cfg, const char *name, dx_buf *out, dx_error *err);

/* Set a key from text, checked against the key's type (true/false, integers, link format
 * names). Unknown keys are refused (DX_EINVAL) so typos do not silently do nothing. */
int dx_config_set(dx_config *cfg, const char *name, const char *value, dx_error *err);
/* Remove a key (back to its default). */
int dx_config_unset(dx_config *cfg, const char *name, dx_error *err);

/* Write the config to its path atomically (creating the directory). */
int dx_config_save(const dx_config *cfg, dx_error *err);

/* Every known key in a fixed order, then unknown keys: "name = value" lines, with
 * "(default)" after values that are not set in the file. */
int dx_config_describe(const dx_config *cfg, dx_buf *out);
/* The same as a JSON object {"name": value, ...} (values typed). */
int dx_config_describe_json(const dx_config *cfg, dx_buf *out);

#endif
