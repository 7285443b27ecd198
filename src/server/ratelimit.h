/* ratelimit.h - at most N events per key (a client address) in any minute: a fixed window
 * per key, reset when its minute is over; keys of past minutes are dropped as the table
 * grows. Pure: the caller gives the time. */
#ifndef DX_SERVER_RATELIMIT_H
#define DX_SERVER_RATELIMIT_H

#include <stdbool.h>
#include <stdint.h>

#include "diaryx/strmap.h"

typedef struct srv_rate {
    dx_strmap keys;     /* key -> srv_rate_slot* (owned) */
    int64_t per_minute; /* 0: no limit */
} srv_rate;

/* Whether one more event of key is allowed at now_ms (and count it). Out of memory: allowed
 * (a limit that fails must not lock everyone out). */
bool srv_rate_allow(srv_rate *r, const char *key, int64_t now_ms);
void srv_rate_release(srv_rate *r);

#endif
