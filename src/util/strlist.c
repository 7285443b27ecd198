/* strlist.c - dx_strlist: an owned, growable list of strings. */
#include "diaryx/strlist.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "diaryx/error.h"

int dx_strlist_pushn(dx_strlist *l, const char *s, size_t n)
{
    if (l->len == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 8;
        char **items =
            cap > SIZE_MAX / sizeof *items ? NULL : realloc(l->items, cap * sizeof *items);
        if (!items)
            return DX_ENOMEM;
        l->items = items;
        l->cap = cap;
    }
    char *copy = malloc(n + 1);
    if (!copy)
        return DX_ENOMEM;
    memcpy(copy, s, n);
    copy[n] = 0;
    l->items[l->len++] = copy;
    return 0;
}

int dx_strlist_push(dx_strlist *l, const char *s)
{
    return dx_strlist_pushn(l, s, strlen(s));
}

int dx_strlist_pushf(dx_strlist *l, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    char *msg = n >= 0 ? malloc((size_t)n + 1) : NULL;
    if (!msg)
        return DX_ENOMEM;
    va_start(ap, fmt);
    vsnprintf(msg, (size_t)n + 1, fmt, ap);
    va_end(ap);
    int rc = dx_strlist_pushn(l, msg, (size_t)n);
    free(msg);
    return rc;
}

int dx_strlist_insert(dx_strlist *l, size_t index, const char *s)
{
    int rc = dx_strlist_push(l, s);
    if (rc)
        return rc;
    if (index < l->len - 1) {
        char *last = l->items[l->len - 1];
        memmove(l->items + index + 1, l->items + index, (l->len - 1 - index) * sizeof(char *));
        l->items[index] = last;
    }
    return 0;
}

void dx_strlist_remove(dx_strlist *l, size_t index)
{
    if (index >= l->len)
        return;
    free(l->items[index]);
    memmove(l->items + index, l->items + index + 1, (l->len - index - 1) * sizeof(char *));
    l->len--;
}

long dx_strlist_find(const dx_strlist *l, const char *s)
{
    for (size_t i = 0; i < l->len; i++)
        if (strcmp(l->items[i], s) == 0)
            return (long)i;
    return -1;
}

static int cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

void dx_strlist_sort(dx_strlist *l)
{
    if (l->len > 1)
        qsort(l->items, l->len, sizeof(char *), cmp);
}

void dx_strlist_release(dx_strlist *l)
{
    if (!l)
        return;
    for (size_t i = 0; i < l->len; i++)
        free(l->items[i]);
    free(l->items);
    l->items = NULL;
    l->len = l->cap = 0;
}
