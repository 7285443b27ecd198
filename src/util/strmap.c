/* strmap.c - string-keyed hash map with linear probing. */
#include "diaryx/strmap.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "diaryx/error.h"

static size_t hash(const char *s)
{
    uint64_t h = 1469598103934665603ULL; /* FNV-1a */
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ULL;
    return (size_t)(h ^ (h >> 32));
}

/* The slot of key (hash h), or the empty slot where it would go. */
static dx_strmap_slot *find_h(const dx_strmap *m, const char *key, size_t h)
{
    if (!m->cap)
        return NULL;
    for (size_t i = h & (m->cap - 1);; i = (i + 1) & (m->cap - 1)) {
        dx_strmap_slot *s = &m->slots[i];
        if (!s->key || (s->hash == h && !strcmp(s->key, key)))
            return s;
    }
}

static dx_strmap_slot *find(const dx_strmap *m, const char *key)
{
    return m->cap ? find_h(m, key, hash(key)) : NULL;
}

static int grow(dx_strmap *m)
{
    size_t cap = m->cap ? m->cap * 2 : 16;
    dx_strmap_slot *old = m->slots, *slots = calloc(cap, sizeof *slots);
    if (!slots)
        return DX_ENOMEM;
    size_t old_cap = m->cap;
    m->slots = slots;
    m->cap = cap;
    for (size_t i = 0; i < old_cap; i++)
        if (old[i].key) {
            size_t j = old[i].hash & (cap - 1); /* keys are distinct: the first free slot */
            while (slots[j].key)
                j = (j + 1) & (cap - 1);
            slots[j] = old[i];
        }
    free(old);
    return 0;
}

int dx_strmap_put(dx_strmap *m, const char *key, void *value)
{
    if ((m->len + 1) * 4 > m->cap * 3 && grow(m))
        return DX_ENOMEM;
    size_t h = hash(key);
    dx_strmap_slot *s = find_h(m, key, h);
    if (!s->key) {
        if (!(s->key = strdup(key)))
            return DX_ENOMEM;
        s->hash = h;
        m->len++;
    }
    s->value = value;
    return 0;
}

void *dx_strmap_get(const dx_strmap *m, const char *key)
{
    dx_strmap_slot *s = find(m, key);
    return s && s->key ? s->value : NULL;
}

void *dx_strmap_remove(dx_strmap *m, const char *key)
{
    dx_strmap_slot *s = find(m, key);
    if (!s || !s->key)
        return NULL;
    void *value = s->value;
    free(s->key);
    s->key = NULL;
    m->len--;
    /* Backward shift: move later members of the probe run into the hole. */
    size_t hole = (size_t)(s - m->slots), mask = m->cap - 1;
    for (size_t i = (hole + 1) & mask; m->slots[i].key; i = (i + 1) & mask) {
        size_t home = m->slots[i].hash & mask;
        /* The slot may move to the hole when its home is not in (hole, i]. */
        if (((i - home) & mask) >= ((i - hole) & mask)) {
            m->slots[hole] = m->slots[i];
            m->slots[i].key = NULL;
            hole = i;
        }
    }
    return value;
}

void dx_strmap_release(dx_strmap *m)
{
    for (size_t i = 0; i < m->cap; i++)
        free(m->slots[i].key);
    free(m->slots);
    m->slots = NULL;
    m->cap = m->len = 0;
}
