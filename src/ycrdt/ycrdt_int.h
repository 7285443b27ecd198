/* ycrdt_int.h - internals of ycrdt shared by its files: ids, items, the struct store,
 * types, transactions and delete sets. */
#ifndef YCRDT_INT_H
#define YCRDT_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "ylib0.h"
#include "ycrdt.h"

typedef struct y_id {
    uint64_t client;
    uint64_t clock;
} y_id;

/* Content refs as encoded in the info byte (yjs-format.md §3). */
enum {
    Y_REF_GC = 0,
    Y_REF_DELETED = 1,
    Y_REF_JSON = 2,
    Y_REF_BINARY = 3,
    Y_REF_STRING = 4,
    Y_REF_EMBED = 5,
    Y_REF_FORMAT = 6,
    Y_REF_TYPE = 7,
    Y_REF_ANY = 8,
    Y_REF_DOC = 9,
    Y_REF_SKIP = 10,
};

typedef struct y_item y_item;

/* A struct of the store: an Item with content, or a GC range (ref == Y_REF_GC). */
struct y_item {
    y_id id;
    uint64_t len; /* clock units: UTF-16 units for strings, elements for Any/JSON, else 1 */
    uint8_t ref;
    bool deleted;
    bool keep;
    bool has_origin, has_right_origin;
    y_id origin, right_origin;
    y_item *left, *right; /* document order within the parent, tombstones included */
    y_type *parent;       /* NULL for GC */
    char *parent_sub;     /* map key (owned), or NULL */
    /* Decoded, not yet integrated: the parent as written in the update. */
    bool decoded;      /* type content still in decoded form (see read_content) */
    char *parent_name; /* root type name (owned), or NULL */
    bool has_parent_id;
    y_id parent_id;
    union {
        struct {
            char *s; /* UTF-8, NUL-terminated */
            size_t bytes;
            size_t cap; /* allocated bytes when grown by merging, else 0 (= bytes + 1) */
        } str;
        struct {
            y_any *v; /* Any values, or JSON texts as Y_ANY_STRING for Y_REF_JSON */
            size_t n;
        } any;
        struct {
            uint8_t *p;
            size_t n;
        } bin;
        char *embed; /* JSON text */
        struct {
            char *key;
            char *value; /* JSON text */
            /* Identity of the value: yjs compares object values by reference, and an item
             * made from another item's value (a negated attribute) shares its reference.
             * 0 until integrated; then from doc->next_ident or copied from the source. */
            uint64_t ident;
        } fmt;
        y_type *type;
        struct {
            char *guid;
            y_any opts;
        } doc;
    } c;
};

/* Keys of a map-like type: key -> rightmost item of the key's chain, in first-insert
 * order (the order yjs's JS Map would iterate them in on this peer). */
typedef struct y_keyslot {
    char *key;
    y_item *item;
} y_keyslot;

struct y_type {
    y_doc *doc;
    y_type_kind kind;
    bool kind_known; /* false for a root first seen in an update */
    char *name;      /* root types: the name; else NULL */
    char *node_name; /* XmlElement node name / XmlHook hook name */
    y_item *item;    /* the item holding this type (NULL for roots) */
    y_item *start;   /* first item of the list, tombstones included */
    uint64_t length; /* countable, live length */
    /* A position cache for Text (yjs keeps up to 80 "search markers"): marker is an item
     * of the list and marker_index the number of live countable units before it. Any
     * change that could shift positions clears it; local text edits set it again. */
    y_item *marker;
    uint64_t marker_index;
    y_keyslot *keys;
    size_t nkeys, capkeys;
    /* Hash index over keys (open addressing, slot = key index + 1, 0 = empty), built once a
     * map has more than a few keys: a workspace index holds thousands. */
    uint32_t *kidx;
    size_t kidx_cap; /* power of two, or 0 */
    /* A Format item was integrated into this type (yjs _hasFormatting): from then on the
     * position marker is not used (yjs drops its search markers), and remote changes to
     * it trigger the formatting cleanup after the transaction. */
    bool has_formatting;
    bool any_format;  /* a Format item was ever integrated here (never reset, unlike the
                         above): without one, a formatting gap has nothing to clean */
    bool txn_changed; /* listed in doc->txn.changed */
};

/* Per-client struct list, sorted by clock and contiguous. */
typedef struct y_client_structs {
    uint64_t client;
    y_item **items;
    size_t len, cap;
} y_client_structs;

/* A delete set: per client, sorted merged ranges. */
typedef struct y_range {
    uint64_t clock, len;
} y_range;

typedef struct y_ds_client {
    uint64_t client;
    y_range *r;
    size_t len, cap;
} y_ds_client;

typedef struct y_ds {
    y_ds_client *c;
    size_t len, cap;
} y_ds;

typedef struct y_observer {
    y_update_fn fn;
    void *user;
    int id;
} y_observer;

typedef struct y_sv_entry {
    uint64_t client, clock;
} y_sv_entry;

typedef struct y_txn {
    int depth;
    const void *origin;
    bool local;
    y_sv_entry *before; /* state vector at the start */
    size_t nbefore;
    y_ds ds;     /* deleted in this transaction */
    y_id *merge; /* ids of split-off parts to try merging */
    size_t nmerge, capmerge;
    bool changed;
    /* Types changed by this transaction as yjs records them in transaction.changed (only
     * what the formatting cleanup needs: types of items added or deleted). */
    y_type **changed_types;
    size_t nchanged, capchanged;
} y_txn;

struct y_doc {
    uint64_t client_id;
    bool gc;
    y_client_structs *clients; /* sorted by client id ascending */
    size_t nclients, capclients;
    y_type **roots;
    size_t nroots, caproots;
    y_type **types; /* every type ever created (freed with the doc) */
    size_t ntypes, captypes;
    y_observer *obs;
    size_t nobs, capobs;
    int next_obs_id;
    y_txn txn;
    /* Decoded structs and delete ranges waiting for missing dependencies. The structs are
     * sorted by client and clock (yjs keeps them as one merged update); pending_missing
     * holds, per client, the lowest clock whose arrival makes yjs retry them. */
    y_item **pending;
    size_t npending, cappending;
    y_sv_entry *pending_missing;
    size_t nmissing;
    y_ds pending_ds;
    uint64_t next_ident; /* identities of formatting values (see y_item.c.fmt.ident) */
};

/* ---- store ------------------------------------------------------------------------- */
uint64_t y_store_state(const y_doc *doc, uint64_t client);
y_client_structs *y_store_client(y_doc *doc, uint64_t client, bool create);
int y_store_append(y_doc *doc, y_item *it);
/* Index of the struct containing clock in cs, or -1. */
long y_store_find_index(const y_client_structs *cs, uint64_t clock);
y_item *y_store_find(y_doc *doc, y_id id);
/* Split so that an item starts at id (returns it), or ends at id (returns the left part). */
y_item *y_store_clean_start(y_doc *doc, y_id id);
y_item *y_store_clean_end(y_doc *doc, y_id id);

/* ---- items ------------------------------------------------------------------------- */
y_item *y_item_new(void);
void y_item_free(y_item *it);
/* Free a decoded item that was never integrated (pending structs). */
void y_item_free_decoded(y_item *it);
bool y_item_countable(const y_item *it);
/* Split it at diff units: it keeps [0, diff), the returned right part the rest. */
y_item *y_item_split(y_doc *doc, y_item *it, uint64_t diff);
void y_item_delete(y_doc *doc, y_item *it);
/* Integrate a fully-resolved item (origins found, offset applied) into its parent. */
int y_item_integrate(y_doc *doc, y_item *it, uint64_t offset);
/* Replace content by ContentDeleted (and children of types by GC structs). */
void y_item_gc(y_doc *doc, y_item *it, bool parent_gcd);
bool y_item_try_merge(y_doc *doc, y_item *left, y_item *right);
/* The last id of an item: (client, clock + len - 1). */
static inline y_id y_item_last_id(const y_item *it)
{
    y_id id = {it->id.client, it->id.clock + it->len - 1};
    return id;
}

/* ---- local items (types.c) -------------------------------------------------------- */
/* A new item of this doc's client at the next clock, between left and right (origins
 * from them), in parent; content still empty. */
y_item *y_local_item(y_doc *doc, y_item *left, y_item *right, y_type *parent,
                     const char *parent_sub);
/* Integrate a local item; frees it on failure. */
int y_integrate_local(y_doc *doc, y_item *it);

/* ---- JSON writing (types.c) ---------------------------------------------------------- */
void y_json_write_string(y_enc *e, const char *s, size_t n);
void y_json_write_type(y_enc *e, const y_type *t);

/* ---- Y.Text formatting (text.c) ------------------------------------------------------- */
/* yjs cleanupYTextAfterTransaction: after a remote transaction that changed a formatted
 * text, delete redundant Format items. ds is the finished transaction's delete set (ranges
 * sorted and merged, clients in the order they were first deleted from), before its state
 * vector. Deletions go into doc->txn.ds, which the caller has emptied for them. */
int y_text_cleanup_after_txn(y_doc *doc, const y_ds *ds, const y_sv_entry *before, size_t nbefore);

/* ---- delete sets ------------------------------------------------------------------- */
int y_ds_add(y_ds *ds, uint64_t client, uint64_t clock, uint64_t len);
void y_ds_sort_merge(y_ds *ds);
/* Sort and merge the ranges of each client, keeping the order of the clients. */
void y_ds_merge_ranges(y_ds *ds);
/* Order clients descending without touching their ranges (as yjs writeDeleteSet does). */
void y_ds_sort_clients(y_ds *ds);
void y_ds_release(y_ds *ds);
void y_ds_encode(y_enc *e, const y_ds *ds);
/* The full delete set of the doc (deleted items and GC structs). */
int y_ds_from_store(const y_doc *doc, y_ds *out);

/* ---- transactions -------------------------------------------------------------------- */
int y_txn_begin(y_doc *doc, const void *origin, bool local);
int y_txn_end(y_doc *doc);
int y_txn_add_merge(y_doc *doc, y_item *it);
/* Record that an item of type t was added or deleted (yjs addChangedTypeToTransaction). */
void y_txn_note_changed(y_doc *doc, y_type *t);

/* ---- types ------------------------------------------------------------------------- */
y_type *y_type_new(y_doc *doc, y_type_kind kind);
y_type *y_root_type(y_doc *doc, const char *name, size_t name_len);
int y_type_set_key(y_type *t, const char *key, y_item *it);
y_item *y_type_get_key(const y_type *t, const char *key);

/* ---- encoding ------------------------------------------------------------------------ */
/* Write struct it starting offset units into it (offset > 0: a slice). */
void y_encode_item(y_enc *e, const y_item *it, uint64_t offset);
/* Encode the structs of the doc that a peer with state vector sv lacks, and the full DS. */
int y_encode_update_from(const y_doc *doc, const y_sv_entry *sv, size_t nsv, y_enc *e);
/* A readable listing of the structs and the delete set of an update (ycrdt dump). */
int y_update_dump(const uint8_t *update, size_t len, FILE *out);
/* Free content owned by an item (not the item). */
void y_content_release(y_item *it);

#endif
