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

/* `extra` holds a value that JSON cannot hold exactly (a tag, `1.50`, `yes`, `2024-01-15`,
 * an empty null, non-string keys) as {"$yaml": "<the value as YAML text>"}; a value that
 * is such an object itself is held that way too, so the form is never ambiguous. */
#define VERBATIM_KEY "$yaml"

static const char *verbatim_yaml(json_t *v)
{
    json_t *y =
        json_is_object(v) && json_object_size(v) == 1 ? json_object_get(v, VERBATIM_KEY) : NULL;
    return json_is_string(y) ? json_string_value(y) : NULL;
}

/* The value of key as it goes into `extra` (NULL when out of memory). */
static json_t *extra_value(const dx_fm *fm, const char *key, dx_buf *tmp)
{
    json_error_t je;
    json_t *v = NULL;
    dx_buf_reset(tmp);
    int rc = dx_fm_get_json_exact(fm, key, tmp);
    if (rc == 0 && (v = json_loads(tmp->data, JSON_DECODE_ANY, &je)) && !verbatim_yaml(v))
        return v;
    json_decref(v);
    dx_buf_reset(tmp);
    if ((rc == 0 || rc == DX_EUNSUPPORTED) && dx_fm_get_yaml(fm, key, tmp) == 0)
        return json_pack("{s:s}", VERBATIM_KEY, dx_buf_cstr(tmp));
    return NULL;
}

/* A link from the file at from_path to entry target_id, titled with its title. */
static int link_to_entry(y_doc *ws, const char *from_path, const char *target_id,
                         dx_link_format fmt, dx_buf *out, dx_error *err)
{
    dx_buf tp = DX_BUF_INIT;
    int rc = dx_wsdoc_path(ws, target_id, &tp, err);
    if (!rc)
        rc = dx_link_write(tp.data, from_path, dx_wsdoc_title(ws, target_id), fmt, out);
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
    dx_fm_set_crlf(fm, e.crlf);
    /* A setter that fails (out of memory) goes to fail; a link error has its own message. */
    if (e.title && (rc = dx_fm_set(fm, "title", e.title)))
        goto fail;
    if (e.part_of) {
        if ((rc = link_to_entry(ws, path->data, e.part_of, fmt, &link, err)))
            goto done;
        if ((rc = dx_fm_set(fm, "part_of", link.data)))
            goto fail;
    }
    if (e.is_index) {
        for (size_t i = 0; i < e.contents.len; i++) {
            dx_entry c = DX_ENTRY_INIT;
            /* Children that are gone or deleted are left out of the file. */
            int grc = dx_wsdoc_get(ws, e.contents.items[i], &c, NULL);
            bool live = grc == 0 && !c.deleted;
            dx_entry_release(&c);
            if (grc && grc != DX_ENOTFOUND) { /* not a child that is gone: out of memory */
                rc = dx_error_set(err, grc, "cannot render entry %s: %s", id, dx_strerror(grc));
                goto done;
            }
            if (!live)
                continue;
            dx_buf_reset(&link);
            if ((rc = link_to_entry(ws, path->data, e.contents.items[i], fmt, &link, err)))
                goto done;
            if ((rc = dx_strlist_push(&list, link.data)))
                goto fail;
        }
        if ((rc = dx_fm_set_list(fm, "contents", &list)))
            goto fail;
        dx_strlist_release(&list);
    }
    if (e.has_audience && (rc = dx_fm_set_list(fm, "audience", &e.audience)))
        goto fail;
    if (e.description && (rc = dx_fm_set(fm, "description", e.description)))
        goto fail;
    if (e.attachments.len) {
        for (size_t i = 0; i < e.attachments.len; i++) {
            dx_buf_reset(&link);
            if ((rc = dx_link_write(e.attachments.items[i], path->data, NULL, fmt, &link)) ||
                (rc = dx_strlist_push(&list, link.data)))
                goto fail;
        }
        if ((rc = dx_fm_set_list(fm, "attachments", &list)))
            goto fail;
        dx_strlist_release(&list);
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
            const char *yaml = verbatim_yaml(v);
            if (yaml) {
                if (dx_fm_set_yaml(fm, k, yaml, err) != 0) {
                    rc = dx_error_set(err, DX_ECORRUPT,
                                      "entry %s: the kept value of '%s' is not YAML", id, k);
                    json_decref(o);
                    goto done;
                }
                continue;
            }
            /* A known list kept verbatim is written as diaryx writes that list. */
            if (is_known(k) && json_is_array(v)) {
                size_t i;
                json_t *item;
                json_array_foreach(v, i, item)
                {
                    if (!rc && json_is_string(item))
                        rc = dx_strlist_push(&list, json_string_value(item));
                }
                if (!rc && list.len == json_array_size(v))
                    rc = dx_fm_set_list(fm, k, &list);
                bool done_list = !rc && list.len == json_array_size(v);
                dx_strlist_release(&list);
                if (rc) {
                    json_decref(o);
                    goto fail;
                }
                if (done_list)
                    continue;
            }
            char *vs = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
            if (!vs || dx_fm_set_json(fm, k, vs, err) != 0)
                rc = DX_ENOMEM;
            free(vs);
            if (rc) {
                json_decref(o);
                goto fail;
            }
        }
        json_decref(o);
    }
    if (body && ((rc = dx_body_get(body, &text, err)) ||
                 (rc = dx_fm_set_body(fm, dx_buf_cstr(&text), text.len))))
        goto fail;
    rc = dx_fm_write(fm, bytes, err);
    goto done;
fail:
    dx_error_set(err, rc, "cannot render entry %s: %s", id, dx_strerror(rc));
done:
    dx_fm_free(fm);
    dx_entry_release(&e);
    dx_buf_release(&link);
    dx_buf_release(&text);
    dx_strlist_release(&list);
    return rc;
}

typedef struct ingest_ctx {
    y_doc *ws;
    dx_link_format fmt;
    dx_path_lookup lookup;
    void *user;
} ingest_ctx;

/* The entry id of the file a link in from_path points to; nonzero when it names no entry. */
static int link_target_id(const ingest_ctx *x, const char *from_path, const char *link,
                          char out[DX_UUID_LEN + 1])
{
    dx_buf p = DX_BUF_INIT;
    int rc = dx_link_resolve(link, from_path, x->fmt, &p, NULL);
    if (!rc)
        rc = x->lookup ? x->lookup(x->user, p.data, out)
                       : dx_wsdoc_find_path(x->ws, p.data, out, NULL);
    dx_buf_release(&p);
    return rc;
}

int dx_ingest_entry(y_doc *ws, char id[DX_UUID_LEN + 1], const char *path, const char *bytes,
                    size_t len, y_doc *body, dx_link_format fmt, dx_error *err)
{
    return dx_ingest_entry_with(ws, id, path, bytes, len, body, fmt, NULL, NULL, err);
}

int dx_ingest_entry_with(y_doc *ws, char id[DX_UUID_LEN + 1], const char *path, const char *bytes,
                         size_t len, y_doc *body, dx_link_format fmt, dx_path_lookup lookup,
                         void *user, dx_error *err)
{
    const ingest_ctx x = {ws, fmt, lookup, user};
    /* Known keys the schema cannot hold (a link to no entry, a parent elsewhere) go to
     * `extra` verbatim, so the file keeps them. */
    bool raw_part_of = false, raw_contents = false, raw_attachments = false, raw_audience = false;
    dx_fm *fm = NULL;
    dx_entry e = DX_ENTRY_INIT;
    dx_buf pp = DX_BUF_INIT, dir = DX_BUF_INIT, p = DX_BUF_INIT;
    dx_strlist links = DX_STRLIST_INIT;
    json_t *extra = NULL;
    char tid[DX_UUID_LEN + 1];
    int rc = dx_fm_parse(bytes, len, path, &fm, err);
    if (rc)
        return rc;
    /* Taking the whole text as the body would write it back under an empty frontmatter
     * block: the keys the user meant would become body text for good. */
    if (dx_fm_unclosed(fm)) {
        dx_fm_free(fm);
        return dx_error_set(err, DX_EPARSE,
                            "'%s' starts with '---' but its frontmatter is never closed; add "
                            "the closing '---' line",
                            path);
    }
    /* The body is checked before anything is written: a failure must change nothing. */
    size_t body_len;
    const char *body_text = dx_fm_body(fm, &body_len);
    if (!y_utf8_valid(body_text, body_len) || memchr(body_text, 0, body_len)) {
        dx_fm_free(fm);
        return dx_error_set(err, DX_EINVAL, "the body of '%s' is not UTF-8 text", path);
    }
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
    /* The schema holds title, description and part_of as strings, contents, audience and
     * attachments as lists of strings: any other value (a number, null, a map, a tagged
     * value, a single string where a list belongs) stays verbatim in extra. */
    bool raw_title = dx_fm_has(fm, "title") && !dx_fm_is_string(fm, "title");
    bool raw_description = dx_fm_has(fm, "description") && !dx_fm_is_string(fm, "description");
    const char *t = raw_title ? NULL : dx_fm_get(fm, "title");
    const char *d = raw_description ? NULL : dx_fm_get(fm, "description");
    e.title = t ? strdup(t) : NULL;
    e.description = d ? strdup(d) : NULL;
    e.part_of = NULL;
    e.filename = NULL;
    e.extra_json = NULL;
    /* The body document holds LF; the entry remembers how the file ends its lines. */
    e.crlf = dx_fm_crlf(fm);
    const char *po = dx_fm_is_string(fm, "part_of") ? dx_fm_get(fm, "part_of") : NULL;
    size_t dl = 0;
    /* The file must sit in its parent's directory or below: its path is derived from the
     * parent's. */
    if (po && link_target_id(&x, path, po, tid) == 0 && dx_wsdoc_path(ws, tid, &pp, NULL) == 0 &&
        (rc = dx_path_dirname(pp.data, &dir)) == 0) {
        dl = dir.len;
        if (!dl || (strncmp(path, dir.data, dl) == 0 && path[dl] == '/'))
            e.part_of = strdup(tid);
    }
    raw_part_of = dx_fm_has(fm, "part_of") && !e.part_of;
    e.filename = strdup(path + (e.part_of && dl ? dl + 1 : 0));
    dx_strlist_release(&e.contents);
    e.is_index = dx_fm_has(fm, "contents");
    raw_contents = e.is_index && !dx_fm_is_string_list(fm, "contents");
    if (!rc && !raw_contents)
        rc = dx_fm_get_list(fm, "contents", &links);
    for (size_t i = 0; !rc && !raw_contents && i < links.len; i++) {
        if (link_target_id(&x, path, links.items[i], tid) != 0)
            raw_contents = true;
        else
            rc = dx_strlist_push(&e.contents, tid);
    }
    dx_strlist_release(&links);
    if (raw_contents) {
        e.is_index = false;
        dx_strlist_release(&e.contents);
    }
    dx_strlist_release(&e.audience);
    raw_audience = dx_fm_has(fm, "audience") && !dx_fm_is_string_list(fm, "audience");
    e.has_audience = dx_fm_has(fm, "audience") && !raw_audience;
    if (!rc && e.has_audience)
        rc = dx_fm_get_list(fm, "audience", &e.audience);
    dx_strlist_release(&e.attachments);
    /* The schema has no empty attachment list (absent means none). */
    raw_attachments = dx_fm_has(fm, "attachments") && !dx_fm_is_string_list(fm, "attachments");
    if (!rc && !raw_attachments)
        rc = dx_fm_get_list(fm, "attachments", &links);
    raw_attachments |= dx_fm_has(fm, "attachments") && !links.len;
    for (size_t i = 0; !rc && !raw_attachments && i < links.len; i++) {
        dx_buf_reset(&p);
        if (dx_link_resolve(links.items[i], path, fmt, &p, NULL) != 0)
            raw_attachments = true;
        else
            rc = dx_strlist_push(&e.attachments, p.data);
    }
    if (raw_attachments)
        dx_strlist_release(&e.attachments);
    if (rc) {
        dx_error_set(err, rc, "out of memory");
        goto done;
    }
    /* The other keys, in file order, as one JSON object. */
    for (size_t i = 0; i < dx_fm_count(fm); i++) {
        const char *k = dx_fm_key(fm, i);
        bool raw =
            (raw_title && !strcmp(k, "title")) || (raw_description && !strcmp(k, "description")) ||
            (raw_part_of && !strcmp(k, "part_of")) || (raw_contents && !strcmp(k, "contents")) ||
            (raw_attachments && !strcmp(k, "attachments")) ||
            (raw_audience && !strcmp(k, "audience"));
        if (is_known(k) && !raw)
            continue;
        json_t *v = extra_value(fm, k, &p);
        if (!extra)
            extra = json_object();
        /* The null key (an empty key) is written back as `null:`, which reads as "null". */
        if (!v || !extra || json_object_set_new(extra, *k ? k : "null", v) != 0) {
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
    if (body)
        rc = dx_body_set(body, body_text, body_len, err);
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
    dx_buf path = DX_BUF_INIT, bytes = DX_BUF_INIT, cur = DX_BUF_INIT;
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
        dx_buf_reset(&cur);
        /* Below abs_dir without following a link (fs.h). */
        if (dx_fs_read_in(abs_dir, path.data, &cur, NULL, NULL) == 0 && cur.len == bytes.len &&
            memcmp(dx_buf_cstr(&cur), dx_buf_cstr(&bytes), bytes.len) == 0)
            continue; /* unchanged: not rewritten */
        if ((rc = dx_fs_write_in(abs_dir, path.data, dx_buf_cstr(&bytes), bytes.len, 0644, NULL,
                                 NULL, err)))
            break;
        n++;
    }
    if (written)
        *written = n;
    dx_strlist_release(&ids);
    dx_buf_release(&path);
    dx_buf_release(&bytes);
    dx_buf_release(&cur);
    return rc;
}
