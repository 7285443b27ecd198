/* strlist.h - dx_strlist, an owned list of C strings. */
#ifndef DX_STRLIST_H
#define DX_STRLIST_H

#include <stdbool.h>
#include <stddef.h>

typedef struct dx_strlist {
    char **items;
    size_t len;
    size_t cap; /* slots allocated (grows geometrically: n pushes cost O(n)) */
} dx_strlist;

#define DX_STRLIST_INIT                                                                            \
    {                                                                                              \
        NULL, 0, 0                                                                                 \
    }

/* Append a copy of s (or of its first n bytes). 0 or DX_ENOMEM. */
int dx_strlist_push(dx_strlist *l, const char *s);
int dx_strlist_pushn(dx_strlist *l, const char *s, size_t n);
/* Append a printf-formatted string. 0 or DX_ENOMEM. */
int dx_strlist_pushf(dx_strlist *l, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Insert a copy of s at index (clamped). 0 or DX_ENOMEM. */
int dx_strlist_insert(dx_strlist *l, size_t index, const char *s);
/* Remove the item at index (no-op past the end). */
void dx_strlist_remove(dx_strlist *l, size_t index);
/* Index of the first item equal to s, or -1. */
long dx_strlist_find(const dx_strlist *l, const char *s);
/* Sort ascending by strcmp. */
void dx_strlist_sort(dx_strlist *l);
/* Free every item and the array; the list is empty afterwards. NULL is fine. */
void dx_strlist_release(dx_strlist *l);

#endif
