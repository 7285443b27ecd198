/* docsync.c - documents named on the wire, and one peer's sync message handled against a
 * docset (see docsync.h). */
#include "diaryx/docsync.h"

#include <stdio.h>
#include <string.h>

static bool uuid_at(const char *p, size_t len, char out[DX_UUID_LEN + 1])
{
    if (len != DX_UUID_LEN)
        return false;
    memcpy(out, p, DX_UUID_LEN);
    out[DX_UUID_LEN] = 0;
    return dx_uuid_valid(out);
}

int dx_docsync_local_name(const char *name, size_t name_len, char wid[DX_UUID_LEN + 1],
                          char local[DX_DOC_NAME_MAX], dx_error *err)
{
    size_t wl = strlen(DX_REMOTE_WORKSPACE), bl = strlen(DX_REMOTE_BODY);
    char id[DX_UUID_LEN + 1];
    if (name_len > wl && !memcmp(name, DX_REMOTE_WORKSPACE, wl) &&
        uuid_at(name + wl, name_len - wl, wid)) {
        snprintf(local, DX_DOC_NAME_MAX, "%s", DX_DOC_WORKSPACE);
        return 0;
    }
    if (name_len == bl + 2 * DX_UUID_LEN + 1 && !memcmp(name, DX_REMOTE_BODY, bl) &&
        name[bl + DX_UUID_LEN] == '/' && uuid_at(name + bl, DX_UUID_LEN, wid) &&
        uuid_at(name + bl + DX_UUID_LEN + 1, DX_UUID_LEN, id)) {
        dx_doc_body_name(id, local);
        return 0;
    }
    return dx_error_set(err, DX_EINVAL,
                        "'%.*s' is not a document name (use workspace:<workspace id> or "
                        "body:<workspace id>/<entry id>)",
                        (int)(name_len > 200 ? 200 : name_len), name);
}

int dx_docsync_remote_name(const char *wid, const char *local, dx_buf *out, dx_error *err)
{
    const char *id = dx_doc_body_id(local);
    int rc;
    if (id)
        rc = dx_buf_printf(out, DX_REMOTE_BODY "%s/%s", wid, id);
    else if (!strcmp(local, DX_DOC_WORKSPACE))
        rc = dx_buf_printf(out, DX_REMOTE_WORKSPACE "%s", wid);
    else
        return dx_error_set(err, DX_EINVAL, "'%s' is not a document of a workspace", local);
    return rc ? dx_error_set(err, DX_ENOMEM, "out of memory") : 0;
}

static void on_change(void *user, const uint8_t *update, size_t len, const void *origin)
{
    (void)update;
    (void)len;
    (void)origin;
    *(bool *)user = true;
}

/* Whether applying update to doc would change it (what yjs's snapshotContainsUpdate tells
 * @hocuspocus/server for a peer that may only read): tried on a copy, which emits an update
 * only when something was added or deleted. */
static int would_change(y_doc *doc, const uint8_t *update, size_t len, bool *changes, dx_error *err)
{
    y_doc_options o = Y_DOC_OPTIONS_INIT;
    y_doc *copy = NULL;
    uint8_t *state = NULL;
    size_t state_len = 0;
    *changes = false;
    int yrc = y_doc_new(&copy, &o);
    if (!yrc)
        yrc = y_encode_state_as_update(doc, NULL, 0, &state, &state_len);
    if (!yrc)
        yrc = y_apply_update(copy, state, state_len, NULL);
    if (!yrc && y_doc_on_update(copy, on_change, changes) < 0)
        yrc = Y_ENOMEM;
    if (!yrc)
        yrc = y_apply_update(copy, update, len, NULL);
    y_free(state);
    y_doc_free(copy);
    if (yrc == Y_ENOMEM)
        return dx_error_set(err, DX_ENOMEM, "out of memory");
    return yrc ? dx_error_set(err, DX_EPARSE, "the update is malformed; nothing was applied") : 0;
}

/* Step 1: what the peer lacks as step 2, then (unless it answered ours) our own step 1 as a
 * plain SYNC message: @hocuspocus/provider ignores SYNC_REPLY frames, and answers our step 1
 * with its step 2, whose acknowledgement is what it counts as synced. */
static int answer_step1(y_doc *doc, const dx_hp_msg *m, dx_buf reply[DX_DOCSYNC_REPLIES],
                        dx_error *err)
{
    uint8_t *diff = NULL, *sv = NULL;
    size_t diff_len = 0, sv_len = 0;
    int yrc = y_encode_state_as_update(doc, m->data, m->data_len, &diff, &diff_len);
    if (!yrc && m->type == DX_HP_SYNC)
        yrc = y_encode_state_vector(doc, &sv, &sv_len);
    int rc = yrc == Y_ENOMEM ? dx_error_set(err, DX_ENOMEM, "out of memory")
             : yrc ? dx_error_set(err, DX_EPARSE, "the state vector of a sync step 1 is malformed")
                   : 0;
    if (!rc && (dx_hp_put_sync(&reply[0], m->addr, m->addr_len, DX_HP_SYNC, Y_SYNC_STEP2, diff,
                               diff_len) ||
                (sv && dx_hp_put_sync(&reply[1], m->addr, m->addr_len, DX_HP_SYNC, Y_SYNC_STEP1, sv,
                                      sv_len))))
        rc = dx_error_set(err, DX_ENOMEM, "out of memory");
    y_free(diff);
    y_free(sv);
    return rc;
}

int dx_docsync_handle(dx_docset *ds, const char *local, const dx_hp_msg *m, bool readonly,
                      dx_buf reply[DX_DOCSYNC_REPLIES], dx_docsync_result *out, dx_error *err)
{
    memset(out, 0, sizeof *out);
    if (m->type != DX_HP_SYNC && m->type != DX_HP_SYNC_REPLY)
        return dx_error_set(err, DX_EINVAL, "not a sync message");
    y_doc *doc;
    int rc = dx_docset_doc(ds, local, &doc, err);
    if (rc)
        return rc;
    if (m->sync == Y_SYNC_STEP1)
        return answer_step1(doc, m, reply, err);
    /* A step 2 or an update. Checked whole before anything is touched. */
    if (y_update_validate(m->data, m->data_len) != Y_OK)
        return dx_error_set(err, DX_EPARSE,
                            "the update for '%.*s' is malformed (%zu bytes); nothing was applied",
                            (int)m->name_len, m->addr, m->data_len);
    if (readonly) {
        bool changes = true;
        if (m->sync == Y_SYNC_STEP2 &&
            (rc = would_change(doc, m->data, m->data_len, &changes, err)))
            return rc;
        return dx_hp_put_status(&reply[0], m->addr, m->addr_len, !changes)
                   ? dx_error_set(err, DX_ENOMEM, "out of memory")
                   : 0;
    }
    int watch = y_doc_on_update(doc, on_change, &out->changed);
    if (watch < 0)
        return dx_error_set(err, DX_ENOMEM, "out of memory");
    int yrc = y_apply_update(doc, m->data, m->data_len, "remote");
    y_doc_off_update(doc, watch);
    /* Structs held for ones not seen yet change nothing and are not emitted, but they were
     * received: stored as they came (beside what was integrated), then acknowledged. */
    if (!yrc && y_doc_has_pending(doc)) {
        out->changed = true;
        if (dx_docset_keep(ds, local, m->data, m->data_len, err))
            return DX_ENOMEM;
    }
    if (yrc == Y_ENOMEM)
        return dx_error_set(err, DX_ENOMEM, "out of memory");
    if (yrc)
        return dx_error_set(err, DX_EPARSE,
                            "the update for '%.*s' cannot be applied; nothing was applied",
                            (int)m->name_len, m->addr);
    out->applied = true;
    out->update = m->data;
    out->update_len = m->data_len;
    return 0;
}
