/* uuid.h - random identifiers: UUID v4 strings for document ids. */
#ifndef DX_UUID_H
#define DX_UUID_H

#include <stdbool.h>
#include <stddef.h>

#define DX_UUID_LEN 36 /* characters, without the NUL */

/* Fill out (DX_UUID_LEN + 1 bytes) with a random lower-case UUID v4 from the kernel's
 * random source. Returns 0 or DX_EIO when no randomness is available. */
int dx_uuid_v4(char out[DX_UUID_LEN + 1]);

/* Fill buf with n random bytes from the kernel. Returns 0 or DX_EIO. */
int dx_random_bytes(void *buf, size_t n);

/* True when s is a UUID in canonical 8-4-4-4-12 lower- or upper-case hex form. */
bool dx_uuid_valid(const char *s);

#endif
