/* ratelimit.c - N events per key per minute (see ratelimit.h). */
#include "ratelimit.h"

#include <stdlib.h>

#include "diaryx/strlist.h"

typedef struct srv_rate_slot {
    int64_t window; /* the minute (now_ms / 60000) counted */
    int64_t count;
} srv_rate_slot;

/* Drop the keys whose minute is over (when the table has grown): listed first, since a
 * removal may move the entries of the table. */
static void prune(srv_rate *r, int64_t window)
{
    dx_strlist stale = DX_STRLIST_INIT;
    for (size_t i = 0; i < r->keys.cap; i++) {
        const srv_rate_slot *s = r->keys.slots[i].key ? r->keys.slots[i].value : NULL;
        if (s && s->window != window && dx_strlist_push(&stale, r->keys.slots[i].key))
            break; /* out of memory: prune what was listed */
    }
    for (size_t i = 0; i < stale.len; i++)
        free(dx_strmap_remove(&r->keys, stale.items[i]));
    dx_strlist_release(&stale);
}

bool srv_rate_allow(srv_rate *r, const char *key, int64_t now_ms)
{
    if (r->per_minute <= 0)
        return true;
    int64_t window = now_ms / 60000;
    srv_rate_slot *s = dx_strmap_get(&r->keys, key);
    if (!s) {
        if (r->keys.len >= 4096)
            prune(r, window);
        if (!(s = calloc(1, sizeof *s)) || dx_strmap_put(&r->keys, key, s)) {
            free(s);
            return true;
        }
    }
    if (s->window != window) {
        s->window = window;
        s->count = 0;
    }
    return ++s->count <= r->per_minute;
}

void srv_rate_release(srv_rate *r)
{
    for (size_t i = 0; i < r->keys.cap; i++)
        if (r->keys.slots[i].key)
            free(r->keys.slots[i].value);
    dx_strmap_release(&r->keys);
}
