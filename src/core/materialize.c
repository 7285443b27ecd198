/* materialize.c - render entries' file bytes from the CRDT, and ingest files into it. */
#include "diaryx/materialize.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "diaryx/bodydoc.h"
#include "diaryx/fs.h"
#include "diaryx/frontmatter.h"
#include "diaryx/paths.h"
#include "diaryx/wsdoc.h"

static const char *const KNOWN[] = {"title",    "part_of",     "contents",
                                    "audience", "description", "attachments"};

static bool is_known(const char *key)
{
    for (size_t i = 0; i < sizeof KNOWN / sizeof *KNOWN; i++)
        if (!strcmp(key, KNOWN[i]))
            return true;
    return false;
}

/* A link from the file at from_path to entry target_id, titled with its title. */
static int link_to_entry(y_doc *ws, const char *from_path, const char *target_id,
                         dx_link_format fmt, dx_buf *out, dx_error *err)
{
    dx_entry t = DX_ENTRY_INIT;
    dx_buf tp = DX_BUF_INIT;
    int rc = dx_wsdoc_get(ws, target_id, &t, err);
    if (!rc)
        rc = dx_wsdoc_path(ws, target_id, &tp, err);
    if (!rc)
        rc = dx_link_write(tp.data, from_path, t.title, fmt, out);
    dx_entry_release(&t);
    dx_buf_release(&tp);
    return rc;
}

int dx_materialize_entry(y_doc *ws, const char *id, y_doc *body, dx_link_format fmt, dx_buf *path,
                         dx_buf *bytes, dx_error *err)
{
    dx_entry e = DX_ENTRY_INIT;
    dx_fm *fm = NULL;
    dx_buf link = DX_BUF_INIT, text = DX_BUF_INIT;
    dx_strlist list = DX_STRLIST_INIT;
    int rc = dx_wsdoc_get(ws, id, &e, err);
    if (!rc)
        rc = dx_wsdoc_path(ws, id, path, err);
    if (!rc && (rc = dx_fm_new(&fm)))
        dx_error_set(err, rc, "out of memory");
    if (rc)
        goto done;
    if (e.title)
        rc |= dx_fm_set(fm, "title", e.title);
    if (e.part_of) {
        if ((rc = link_to_entry(ws, path->data, e.part_of, fmt, &link, err)))
            goto done;
        rc |= dx_fm_set(fm, "part_of", link.data);
    }
    if (e.is_index) {
        for (size_t i = 0; i < e.contents.len; i++) {
            dx_entry c = DX_ENTRY_INIT;
            /* Children that are gone or deleted are left out of the file. */
            bool live = dx_wsdoc_get(ws, e.contents.items[i], &c, NULL) == 0 && !c.deleted;
            dx_entry_release(&c);
            if (!live)
                continue;
            dx_buf_reset(&link);
            if ((rc = link_to_entry(ws, path->data, e.contents.items[i], fmt, &link, err)))
                goto done;
            rc |= dx_strlist_push(&list, link.data);
        }
        rc |= dx_fm_set_list(fm, "contents", &list);
        dx_strlist_release(&list);
    }
    if (e.has_audience)
        rc |= dx_fm_set_list(fm, "audience", &e.audience);
    if (e.description)
        rc |= dx_fm_set(fm, "description", e.description);
    if (e.attachments.len) {
        for (size_t i = 0; i < e.attachments.len; i++) {
            dx_buf_reset(&link);
            rc |= dx_link_write(e.attachments.items[i], path->data, NULL, fmt, &link);
            rc |= dx_strlist_push(&list, link.data);
        }
        rc |= dx_fm_set_list(fm, "attachments", &list);
    }
    if (e.extra_json) {
        json_error_t je;
        json_t *o = json_loads(e.extra_json, 0, &je);
        const char *k;
        json_t *v;
        if (!o || !json_is_object(o)) {
            json_decref(o);
            rc = dx_error_set(err, DX_ECORRUPT, "entry %s: its extra fields are not a JSON object",
                              id);
            goto done;
        }
        json_object_foreach(o, k, v)
        {
            char *vs = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
            if (!vs || dx_fm_set_json(fm, k, vs, err) != 0)
                rc = rc ? rc : DX_ENOMEM;
            free(vs);
        }
        json_decref(o);
    }
    if (body && (rc |= dx_body_get(body, &text, err)) == 0)
        rc = dx_fm_set_body(fm, dx_buf_cstr(&text), text.len);
    if (!rc)
        rc = dx_fm_write(fm, bytes, err);
    else
        dx_error_set(err, rc < 0 ? rc : DX_ENOMEM, "cannot render entry %s", id);
done:
    dx_fm_free(fm);
    dx_entry_release(&e);
    dx_buf_release(&link);
    dx_buf_release(&text);
    dx_strlist_release(&list);
    return rc;
}

/* The entry id of the file a link in from_path points to. */
static int link_target_id(y_doc *ws, const char *from_path, const char *link, dx_link_format fmt,
                          char out[DX_UUID_LEN + 1], dx_error *err)
{
    dx_buf p = DX_BUF_INIT;
    int rc = dx_link_resolve(link, from_path, fmt, &p, err);
    if (!rc && dx_wsdoc_find_path(ws, p.data, out, NULL) != 0)
        rc = dx_error_set(err, DX_ENOTFOUND, "'%s' links to '%s', which is not in the workspace",
                          from_path, p.data);
    dx_buf_release(&p);
    return rc;
}

int dx_ingest_entry(y_doc *ws, char id[DX_UUID_LEN + 1], const char *path, const char *bytes,
                    size_t len, y_doc *body, dx_link_format fmt, dx_error *err)
{
    dx_fm *fm = NULL;
    dx_entry e = DX_ENTRY_INIT;
    dx_buf pp = DX_BUF_INIT, dir = DX_BUF_INIT, p = DX_BUF_INIT;
    dx_strlist links = DX_STRLIST_INIT;
    json_t *extra = NULL;
    char tid[DX_UUID_LEN + 1];
    int rc = dx_fm_parse(bytes, len, path, &fm, err);
    if (rc)
        return rc;
    bool existing = id[0] && dx_wsdoc_get(ws, id, &e, NULL) == 0;
    if (!existing) {
        dx_entry_release(&e);
        snprintf(e.id, sizeof e.id, "%s", id);
        e.modified_at = (int64_t)time(NULL) * 1000;
    }
    /* Every field is computed before anything is written. */
    free(e.title);
    free(e.description);
    free(e.part_of);
    free(e.filename);
    free(e.extra_json);
    const char *t = dx_fm_get(fm, "title"), *d = dx_fm_get(fm, "description");
    e.title = t ? strdup(t) : NULL;
    e.description = d ? strdup(d) : NULL;
    e.part_of = NULL;
    e.filename = NULL;
    e.extra_json = NULL;
    const char *po = dx_fm_get(fm, "part_of");
    if (po) {
        if ((rc = link_target_id(ws, path, po, fmt, tid, err)))
            goto done;
        e.part_of = strdup(tid);
        if ((rc = dx_wsdoc_path(ws, tid, &pp, err)))
            goto done;
        dx_path_dirname(pp.data, &dir);
        size_t dl = dir.len;
        if (dl && (strncmp(path, dir.data, dl) != 0 || path[dl] != '/')) {
            rc = dx_error_set(err, DX_EUNSUPPORTED,
                              "'%s' is not inside the directory of its parent '%s'", path, pp.data);
            goto done;
        }
        e.filename = strdup(path + (dl ? dl + 1 : 0));
    } else {
        e.filename = strdup(path);
    }
    dx_strlist_release(&e.contents);
    e.is_index = dx_fm_has(fm, "contents");
    dx_fm_get_list(fm, "contents", &links);
    for (size_t i = 0; !rc && i < links.len; i++)
        if (!(rc = link_target_id(ws, path, links.items[i], fmt, tid, err)))
            rc = dx_strlist_push(&e.contents, tid);
    dx_strlist_release(&links);
    if (rc)
        goto done;
    dx_strlist_release(&e.audience);
    e.has_audience = dx_fm_has(fm, "audience");
    dx_fm_get_list(fm, "audience", &e.audience);
    dx_strlist_release(&e.attachments);
    dx_fm_get_list(fm, "attachments", &links);
    for (size_t i = 0; !rc && i < links.len; i++) {
        dx_buf_reset(&p);
        if (!(rc = dx_link_resolve(links.items[i], path, fmt, &p, err)))
            rc = dx_strlist_push(&e.attachments, p.data);
    }
    if (rc)
        goto done;
    /* The other keys, in file order, as one JSON object. */
    for (size_t i = 0; i < dx_fm_count(fm); i++) {
        const char *k = dx_fm_key(fm, i);
        if (is_known(k))
            continue;
        dx_buf_reset(&p);
        json_error_t je;
        json_t *v =
            dx_fm_get_json(fm, k, &p) == 0 ? json_loads(p.data, JSON_DECODE_ANY, &je) : NULL;
        if (!extra)
            extra = json_object();
        if (!v || !extra || json_object_set_new(extra, k, v) != 0) {
            rc = dx_error_set(err, DX_ENOMEM, "cannot convert the property '%s' of '%s'", k, path);
            goto done;
        }
    }
    if (extra && !(e.extra_json = json_dumps(extra, JSON_COMPACT))) {
        rc = dx_error_set(err, DX_ENOMEM, "out of memory");
        goto done;
    }
    if ((!e.filename) || (e.title == NULL && t) || (e.description == NULL && d)) {
        rc = dx_error_set(err, DX_ENOMEM, "out of memory");
        goto done;
    }
    if ((rc = dx_wsdoc_put(ws, &e, err)))
        goto done;
    snprintf(id, DX_UUID_LEN + 1, "%s", e.id);
    if (body) {
        size_t bl;
        const char *b = dx_fm_body(fm, &bl);
        rc = dx_body_set(body, b, bl, err);
    }
done:
    json_decref(extra);
    dx_fm_free(fm);
    dx_entry_release(&e);
    dx_buf_release(&pp);
    dx_buf_release(&dir);
    dx_buf_release(&p);
    dx_strlist_release(&links);
    return rc;
}

int dx_materialize_to_dir(y_doc *ws, dx_body_loader load, void *user, dx_link_format fmt,
                          const char *abs_dir, size_t *written, dx_error *err)
{
    dx_strlist ids = DX_STRLIST_INIT;
    dx_buf path = DX_BUF_INIT, bytes = DX_BUF_INIT, abs = DX_BUF_INIT, cur = DX_BUF_INIT,
           dir = DX_BUF_INIT;
    size_t n = 0;
    int rc = dx_wsdoc_ids(ws, &ids, err);
    for (size_t i = 0; !rc && i < ids.len; i++) {
        dx_entry e = DX_ENTRY_INIT;
        bool live = dx_wsdoc_get(ws, ids.items[i], &e, NULL) == 0 && !e.deleted;
        dx_entry_release(&e);
        if (!live)
            continue;
        dx_buf_reset(&path);
        dx_buf_reset(&bytes);
        if ((rc = dx_materialize_entry(ws, ids.items[i], load ? load(user, ids.items[i]) : NULL,
                                       fmt, &path, &bytes, err)))
            break;
        dx_buf_reset(&abs);
        dx_buf_printf(&abs, "%s/%s", abs_dir, path.data);
        dx_buf_reset(&cur);
        if (dx_file_read(abs.data, &cur, NULL) == 0 && cur.len == bytes.len &&
            memcmp(dx_buf_cstr(&cur), dx_buf_cstr(&bytes), bytes.len) == 0)
            continue; /* unchanged: not rewritten */
        dx_buf_reset(&dir);
        dx_path_dirname(abs.data, &dir);
        if ((rc = dx_mkdirs(dir.data, err)) ||
            (rc = dx_file_write_atomic(abs.data, dx_buf_cstr(&bytes), bytes.len, 0644, err)))
            break;
        n++;
    }
    if (written)
        *written = n;
    dx_strlist_release(&ids);
    dx_buf_release(&path);
    dx_buf_release(&bytes);
    dx_buf_release(&abs);
    dx_buf_release(&cur);
    dx_buf_release(&dir);
    return rc;
}
