/* clock.h - the wall clock in Unix milliseconds, as the stores, the accounts and the sync
 * server record times. */
#ifndef DX_CLOCK_H
#define DX_CLOCK_H

#include <stdint.h>

int64_t dx_now_ms(void);

#endif
