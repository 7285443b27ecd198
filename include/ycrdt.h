/* ycrdt.h - a Yjs-compatible CRDT in C: the Yjs data model and update format v1,
 * byte-compatible with the `yjs` npm package 13.6.x, with no dependency beyond libc.
 *
 * Overview
 * --------
 * A y_doc holds root shared types by name (Text, Map, Array; XML types are decoded and
 * kept but have no editing API). Every change happens in a transaction; a call that
 * changes the doc outside an explicit y_doc_begin()/y_doc_commit() pair runs in its own
 * transaction, exactly as yjs does for a call outside doc.transact(). At the end of each
 * transaction deleted items are garbage collected (when gc is on, the default), adjacent
 * structs are merged as yjs merges them, and every update observer receives the v1 update
 * of the transaction. The same operations with the same client id therefore give the same
 * bytes as yjs.
 *
 * Units: text lengths and offsets are UTF-16 code units, as yjs counts them. Strings go in
 * and out as UTF-8. Inserting at an offset that splits a surrogate pair replaces both halves
 * with U+FFFD, as yjs does.
 *
 * Updates: y_apply_update() takes v1 updates in any order; structs whose dependencies are
 * missing are held as pending and integrated when the missing part arrives (the same for
 * delete ranges that refer to unknown structs). Which structs wait, and when they are
 * retried, follows yjs exactly (its integrateStructs and retry rule), since that decides
 * what the doc holds between updates.
 *
 * Document-free utilities (y_merge_updates, y_diff_update, y_state_vector_from_update,
 * y_update_validate) work on update bytes alone, as a relay server needs them.
 *
 * Rich text: Y.Text formatting attributes and embeds follow yjs's YText (the same Format
 * items are inserted, and the same redundant ones deleted, including the cleanup yjs runs
 * after remote transactions), so formatted editing gives the same bytes as yjs.
 *
 * Not implemented (issue 3): yjs keeps up to 80 search markers per plain text where ycrdt
 * keeps one; positions are the same, and yjs drops its markers once a text is formatted.
 * Object-valued attributes are compared as yjs compares them (by reference, or one level
 * deep) with identities tracked per doc; yjs's references of values a JS caller reuses
 * across calls cannot be expressed in C.
 *
 * Ownership: y_doc_new() gives a doc the caller frees with y_doc_free(). Types returned by
 * the doc (root types and nested types) are borrowed from the doc and live as long as it.
 * Byte and string outputs `uint8_t **out` / `char **out` are malloc'd and owned by the
 * caller, who frees them with y_free(). Values read from types (const y_any *) are borrowed
 * and valid until the next change of the doc.
 *
 * Errors: functions return 0 (Y_OK) or a negative Y_E* code; y_strerror() describes one.
 * A malformed update is rejected with Y_EDECODE and leaves the doc unchanged.
 *
 * Threads: a doc must be used by one thread at a time. No global state exists.
 */
#ifndef YCRDT_H
#define YCRDT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

enum {
    Y_OK = 0,
    Y_ENOMEM = -1,  /* out of memory */
    Y_EINVAL = -2,  /* invalid argument (index out of range, wrong type kind, ...) */
    Y_EDECODE = -3, /* malformed update, state vector or message */
    Y_ETYPE = -4,   /* a root type exists with another kind */
    Y_ESTATE = -5,  /* call not allowed now (e.g. commit without begin) */
};

const char *y_strerror(int code);

/* Free memory returned by any y_ function (NULL is fine). */
void y_free(void *p);

/* Whether s[0..n) is strict UTF-8 (what yjs's fatal decoder accepts: no overlong forms,
 * no surrogates, nothing past U+10FFFF). */
bool y_utf8_valid(const char *s, size_t n);

/* ---- Any: JSON-like values as yjs encodes them --------------------------------------- */

typedef enum y_any_kind {
    Y_ANY_UNDEFINED,
    Y_ANY_NULL,
    Y_ANY_BOOL,
    Y_ANY_NUMBER, /* a JS number (double); encoded as int / float32 / float64 like yjs */
    Y_ANY_BIGINT, /* a JS BigInt (signed 64 bit) */
    Y_ANY_STRING, /* UTF-8 */
    Y_ANY_BINARY, /* Uint8Array */
    Y_ANY_ARRAY,
    Y_ANY_OBJECT, /* keys in insertion order (encoded in JS Object.keys order) */
} y_any_kind;

typedef struct y_any y_any;
struct y_any {
    y_any_kind kind;
    union {
        bool b;
        double num;
        int64_t bigint;
        struct {
            char *ptr; /* NUL-terminated; len excludes the NUL */
            size_t len;
        } str;
        struct {
            uint8_t *ptr;
            size_t len;
        } bin;
        struct {
            y_any *items;
            size_t len;
        } arr;
        struct {
            char **keys; /* NUL-terminated UTF-8 */
            y_any *values;
            size_t len;
        } obj;
    } u;
};

/* Constructors for caller-built values (no allocation; the caller keeps ownership of the
 * pointed-to memory, which the library copies when it stores the value). */
static inline y_any y_any_null(void)
{
    y_any a;
    a.kind = Y_ANY_NULL;
    return a;
}
static inline y_any y_any_bool(bool b)
{
    y_any a;
    a.kind = Y_ANY_BOOL;
    a.u.b = b;
    return a;
}
static inline y_any y_any_number(double n)
{
    y_any a;
    a.kind = Y_ANY_NUMBER;
    a.u.num = n;
    return a;
}
static inline y_any y_any_string(const char *s, size_t len)
{
    y_any a;
    a.kind = Y_ANY_STRING;
    a.u.str.ptr = (char *)s;
    a.u.str.len = len;
    return a;
}

/* Deep copy (the copy is owned by the caller; release it with y_any_release). */
int y_any_copy(y_any *dst, const y_any *src);
/* Free everything a library-allocated y_any owns (not the y_any itself). */
void y_any_release(y_any *a);
/* Structural equality (numbers compare as doubles, so -0 equals 0 as with JS ===; NaN
 * equals NaN). A -0 keeps its sign through decoding, copying and encoding (yjs writes it
 * as the varInt -0, byte 0x40), and prints as 0 in JSON, as JSON.stringify does. */
bool y_any_equal(const y_any *a, const y_any *b);
/* Append the JSON text of a value as JS JSON.stringify would write it; undefined inside an
 * object is skipped, inside an array written as null; binary as yjs's toJSON gives it
 * (an object of index keys). *out is malloc'd. */
int y_any_to_json(const y_any *a, char **out, size_t *out_len);

/* ---- Documents ------------------------------------------------------------------------ */

typedef struct y_doc y_doc;
typedef struct y_type y_type;

typedef enum y_type_kind {
    Y_ARRAY = 0,
    Y_MAP = 1,
    Y_TEXT = 2,
    Y_XML_ELEMENT = 3,
    Y_XML_FRAGMENT = 4,
    Y_XML_HOOK = 5,
    Y_XML_TEXT = 6,
} y_type_kind;

typedef struct y_doc_options {
    uint64_t client_id; /* used when has_client_id; else a random 32-bit id */
    bool has_client_id;
    bool gc; /* garbage-collect deleted content at the end of transactions (default true) */
} y_doc_options;

#define Y_DOC_OPTIONS_INIT                                                                         \
    {                                                                                              \
        0, false, true                                                                             \
    }

/* opts may be NULL for the defaults. */
int y_doc_new(y_doc **out, const y_doc_options *opts);
void y_doc_free(y_doc *doc);
uint64_t y_doc_client_id(const y_doc *doc);

/* Root types by name, created on first use. A name first seen in an update (kind unknown)
 * takes the kind of the first get. Y_ETYPE-like mismatches return NULL; NULL also on
 * out of memory. Borrowed from the doc. */
y_type *y_doc_get_text(y_doc *doc, const char *name);
y_type *y_doc_get_map(y_doc *doc, const char *name);
y_type *y_doc_get_array(y_doc *doc, const char *name);
/* The kind of a type, and whether it still exists (a nested type whose item was deleted
 * is dead: every change to it fails with Y_EINVAL). */
y_type_kind y_type_get_kind(const y_type *type);
bool y_type_is_alive(const y_type *type);

/* Explicit transactions. begin may nest; the transaction ends with the outermost commit.
 * origin is passed to update observers (it is never dereferenced). */
int y_doc_begin(y_doc *doc, const void *origin);
int y_doc_commit(y_doc *doc);

/* Update observer: called at the end of every transaction that changed the doc, with the
 * v1 update of that transaction (borrowed for the duration of the call) and its origin
 * (NULL for local changes outside an explicit transaction; the origin passed to
 * y_apply_update for remote ones). The callback must not change the doc.
 * Returns an id for y_doc_off_update, or a negative error. */
typedef void (*y_update_fn)(void *user, const uint8_t *update, size_t len, const void *origin);
int y_doc_on_update(y_doc *doc, y_update_fn fn, void *user);
int y_doc_off_update(y_doc *doc, int id);

/* ---- Text ----------------------------------------------------------------------------- */

/* Formatting attributes, like the attributes object of yjs's insert/format: parallel
 * arrays of keys and values, in the order of the JS object literal (a repeated key keeps
 * its first position and takes the last value; array-index-like keys such as "1" come
 * first, as in any JS object). A Y_ANY_NULL value means "not set" (it removes the
 * attribute). Values are stored as JSON text; undefined, BigInt and non-finite numbers
 * -> Y_EINVAL. */
typedef struct y_attrs {
    const char *const *keys;
    const y_any *values;
    size_t len;
} y_attrs;

/* Insert UTF-8 text at a UTF-16 offset (yjs Y.Text insert). attrs NULL: the text takes
 * the attributes in effect at the position; attrs non-NULL (even with len 0): exactly
 * these attributes, every other current one is ended around the new text. The text goes
 * after any tombstones (and Format items that already match) at the position, as yjs
 * does. Invalid UTF-8 or an index past the end -> Y_EINVAL. */
int y_text_insert(y_type *text, uint32_t index, const char *utf8, size_t len, const y_attrs *attrs);
/* Insert an embed (yjs insertEmbed): one unit of length holding a JSON value, written as
 * its JSON text. Objects, arrays, booleans, finite numbers and binary are accepted; a
 * string is text (use y_text_insert); null/undefined/BigInt -> Y_EINVAL. attrs NULL or
 * empty: the embed carries no attributes. */
int y_text_insert_embed(y_type *text, uint32_t index, const y_any *embed, const y_attrs *attrs);
/* Set (or with a null value remove) attributes on [index, index + length) (yjs format).
 * As in yjs, nothing happens when no item follows index, and a range reaching past the
 * end appends that many newlines (Quill's trailing newline) with the attributes.
 * attrs NULL is the empty set. index past the end -> Y_EINVAL. */
int y_text_format(y_type *text, uint32_t index, uint32_t length, const y_attrs *attrs);
int y_text_delete(y_type *text, uint32_t index, uint32_t length);
uint32_t y_text_length(const y_type *text); /* UTF-16 code units */
/* The text as UTF-8 (embeds and formatting are left out, like Y.Text.toString()). */
int y_text_string(const y_type *text, char **out, size_t *out_len);
/* The content as the JSON of yjs's toDelta(): an array of {"insert": string or embed,
 * "attributes": {...}} ops, text runs with equal attributes joined, attributes left out
 * when none are set; byte-identical to JSON.stringify(ytext.toDelta()). Nested types in
 * the text appear as their JSON. *json_out is NUL-terminated; free with y_free. */
int y_text_delta(const y_type *text, char **json_out);

/* ---- Values read from Map and Array -------------------------------------------------- */

typedef struct y_value {
    bool is_type;     /* true: a nested shared type in `type` */
    const y_any *any; /* the plain value (when !is_type); borrowed */
    y_type *type;     /* the nested type (when is_type); borrowed */
} y_value;

/* ---- Map ------------------------------------------------------------------------------ */

int y_map_set(y_type *map, const char *key, const y_any *value);
/* Set key to a new nested type of the given kind; *out (may be NULL) receives it. */
int y_map_set_type(y_type *map, const char *key, y_type_kind kind, y_type **out);
int y_map_delete(y_type *map, const char *key);
/* Y_OK and *out filled, or 1 when the key is absent (out untouched). */
int y_map_get(const y_type *map, const char *key, y_value *out);
size_t y_map_size(const y_type *map);

/* Iteration over live keys, in the order yjs's map iteration would give (insertion order
 * of the first write of each key). Borrowed pointers, valid until the doc changes. */
typedef struct y_map_iter {
    const y_type *map;
    void *pos;
} y_map_iter;
void y_map_iter_init(y_map_iter *it, const y_type *map);
/* Returns true and fills key/value while entries remain. */
bool y_map_iter_next(y_map_iter *it, const char **key, y_value *value);

/* ---- Array ---------------------------------------------------------------------------- */

int y_array_insert(y_type *array, uint32_t index, const y_any *values, size_t n);
int y_array_push(y_type *array, const y_any *values, size_t n);
int y_array_insert_type(y_type *array, uint32_t index, y_type_kind kind, y_type **out);
int y_array_delete(y_type *array, uint32_t index, uint32_t length);
uint32_t y_array_length(const y_type *array);
int y_array_get(const y_type *array, uint32_t index, y_value *out);

/* ---- JSON of any type (like yjs toJSON(): Text -> string, Map -> object, Array -> array,
 * XmlFragment/XmlElement -> their XML string as yjs toJSON gives it) -------------------- */
int y_type_to_json(const y_type *type, char **out, size_t *out_len);

/* ---- Updates and state vectors (v1) --------------------------------------------------- */

int y_apply_update(y_doc *doc, const uint8_t *update, size_t len, const void *origin);
/* The whole state (sv == NULL) or what a peer with state vector sv lacks. */
int y_encode_state_as_update(const y_doc *doc, const uint8_t *sv, size_t sv_len, uint8_t **out,
                             size_t *out_len);
int y_encode_state_vector(const y_doc *doc, uint8_t **out, size_t *out_len);
/* True while structs or delete ranges wait for missing dependencies. */
bool y_doc_has_pending(const y_doc *doc);

/* Document-free utilities, byte-compatible with yjs's mergeUpdates, diffUpdate and
 * encodeStateVectorFromUpdate. */
int y_merge_updates(const uint8_t *const *updates, const size_t *lens, size_t n, uint8_t **out,
                    size_t *out_len);
int y_diff_update(const uint8_t *update, size_t len, const uint8_t *sv, size_t sv_len,
                  uint8_t **out, size_t *out_len);
int y_state_vector_from_update(const uint8_t *update, size_t len, uint8_t **out, size_t *out_len);
/* Check that bytes are a well-formed v1 update (no doc needed). */
int y_update_validate(const uint8_t *update, size_t len);

/* ---- y-protocols sync messages -------------------------------------------------------- */

typedef enum y_sync_kind {
    Y_SYNC_STEP1 = 0, /* payload: state vector */
    Y_SYNC_STEP2 = 1, /* payload: update */
    Y_SYNC_UPDATE = 2 /* payload: update */
} y_sync_kind;

/* Encode varUint(kind) + varUint8Array(payload) into *out. */
int y_sync_encode(y_sync_kind kind, const uint8_t *payload, size_t len, uint8_t **out,
                  size_t *out_len);
/* Decode one sync message at msg; payload is borrowed from msg; *consumed tells how many
 * bytes the message used (several may be concatenated). */
int y_sync_decode(const uint8_t *msg, size_t len, y_sync_kind *kind, const uint8_t **payload,
                  size_t *payload_len, size_t *consumed);
/* Handle an incoming sync message against doc, like y-protocols readSyncMessage: step1 ->
 * *reply receives a step2 message (caller frees; NULL when no reply); step2/update are
 * applied with origin. */
int y_sync_handle(y_doc *doc, const uint8_t *msg, size_t len, const void *origin, uint8_t **reply,
                  size_t *reply_len);

#ifdef __cplusplus
}
#endif

#endif
