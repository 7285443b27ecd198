/* strmap.h - dx_strmap, a hash map from C strings (copied) to borrowed pointers.
 *
 * Open addressing with linear probing and backward-shift deletion; iteration order is the
 * slot order (not sorted, not insertion order). Keys are owned by the map; values are not. */
#ifndef DX_STRMAP_H
#define DX_STRMAP_H

#include <stddef.h>

typedef struct dx_strmap_slot {
    char *key; /* NULL: empty */
    void *value;
    size_t hash; /* of key: probes compare it before the string, growing reuses it */
} dx_strmap_slot;

typedef struct dx_strmap {
    dx_strmap_slot *slots;
    size_t cap; /* power of two, or 0 */
    size_t len;
} dx_strmap;

#define DX_STRMAP_INIT                                                                             \
    {                                                                                              \
        NULL, 0, 0                                                                                 \
    }

/* Set key to value (replacing an existing value). 0 or DX_ENOMEM. */
int dx_strmap_put(dx_strmap *m, const char *key, void *value);
/* The value of key, or NULL when absent. */
void *dx_strmap_get(const dx_strmap *m, const char *key);
/* Remove key; returns its value (NULL when absent). */
void *dx_strmap_remove(dx_strmap *m, const char *key);
/* Free the keys and the table (not the values). */
void dx_strmap_release(dx_strmap *m);

#endif
