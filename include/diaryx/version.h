/* version.h - the version of the diaryx libraries and tools. */
#ifndef DX_VERSION_H
#define DX_VERSION_H

#define DX_VERSION "0.1.0"

/* The version string, e.g. "0.1.0". */
const char *dx_version(void);

#endif
