/* version.c - the library version. */
#include "diaryx/version.h"

const char *dx_version(void)
{
    return DX_VERSION;
}
