/* zip.h - ZIP archives: a streaming writer to a callback and a reader that refuses hostile
 * archives. Pure codecs over bytes: the writer hands its output to a write callback, the
 * reader takes its input from a read-at callback; neither touches a file by itself.
 *
 * Writer. Entries are written one after another; an entry's bytes come in chunks
 * (dx_zip_write_data) and are deflated (zlib, raw deflate) or stored as they come, so no
 * entry and no archive is ever held in memory (what stays is one central-directory record
 * per entry: name and offsets). Every entry has:
 *   - a UTF-8 name (general purpose flag bit 11), '/'-separated, checked as the reader checks
 *     it (no "..", no absolute or drive-letter path, no backslash);
 *   - a Unix mode in the external attributes (version made by = Unix), e.g. 0644 or 0755;
 *   - the caller's DOS time stamp (deterministic archives: the caller passes the same time
 *     for the same content);
 *   - its CRC-32 and sizes in a data descriptor after the data (flag bit 3), since they are
 *     known only once the data went through;
 *   - ZIP64 fields when a size or an offset does not fit 32 bits (the caller declares the
 *     uncompressed size up front: an entry that may reach 4 GiB gets a ZIP64 local header),
 *     and a ZIP64 end record when the archive needs one.
 *
 * Reader. dx_zip_reader_open reads the central directory and refuses, before anything is
 * extracted, an archive that is not safe to unpack (DX_EPATH for names, DX_EUNSUPPORTED for
 * encryption and unknown methods, DX_ELIMIT for caps, DX_ECORRUPT for inconsistencies), with
 * a message naming the entry:
 *   - names: empty, absolute ("/x"), drive-letter ("C:x"), with a backslash, a NUL or a
 *     control character, not UTF-8, or with an empty, "." or ".." component;
 *   - entries that are not regular files or directories by their Unix mode (symbolic links,
 *     hard links, devices, sockets);
 *   - duplicate names, names equal but for ASCII case (they collide on case-insensitive file
 *     systems), and a file whose name is also used as a directory;
 *   - encrypted entries (flag bit 0 or 6), methods other than stored and deflate;
 *   - more than limits.max_entries entries, declared uncompressed sizes above
 *     limits.max_total together, a declared ratio above limits.max_ratio;
 *   - local headers that disagree with the central directory, data outside the archive or
 *     overlapping another entry's.
 * dx_zip_extract then streams one entry to a callback and checks while inflating that the
 * data is what the directory declared: no byte beyond the declared size (stopped at once),
 * not fewer, the same CRC-32, and no more output than limits.max_ratio times the input
 * read (a zip bomb is stopped before it expands). */
#ifndef DX_ZIP_H
#define DX_ZIP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "diaryx/error.h"

/* ---- writer ---------------------------------------------------------------------------- */

/* Receives the archive's bytes in order; 0, or a negative DX_E* code (with err set) that
 * the writer returns from then on. */
typedef int (*dx_zip_write_fn)(void *ud, const void *data, size_t len, dx_error *err);

typedef enum dx_zip_method { DX_ZIP_STORE = 0, DX_ZIP_DEFLATE = 8 } dx_zip_method;

typedef struct dx_zip_writer dx_zip_writer;

/* A writer sending its output to write(ud, ...). 0 or DX_ENOMEM. Free with
 * dx_zip_writer_free. */
int dx_zip_writer_new(dx_zip_write_fn write, void *ud, dx_zip_writer **out, dx_error *err);
void dx_zip_writer_free(dx_zip_writer *w); /* accepts NULL; an unfinished archive is cut short */

/* The DOS date and time (the ZIP time stamp, local fields, 2-second steps) of a unix time,
 * in UTC; times before 1980 give 1980-01-01 00:00. */
uint32_t dx_zip_dos_time(int64_t unix_time);

/* Begin an entry: name (checked: DX_EPATH), Unix permission bits mode (0644, 0755; a name
 * ending in '/' is a directory and has no data), method, dos_time (dx_zip_dos_time), and
 * size_hint, the uncompressed size when known (an entry that may reach 4 GiB needs it, or
 * UINT64_MAX: ZIP64 from the start). An entry still open: DX_EINVAL. */
int dx_zip_begin(dx_zip_writer *w, const char *name, unsigned mode, dx_zip_method method,
                 uint32_t dos_time, uint64_t size_hint, dx_error *err);
/* Add bytes to the open entry. */
int dx_zip_write_data(dx_zip_writer *w, const void *data, size_t len, dx_error *err);
/* End the open entry (its data descriptor). */
int dx_zip_end(dx_zip_writer *w, dx_error *err);
/* A whole entry in one call: begin, data, end. */
int dx_zip_add(dx_zip_writer *w, const char *name, unsigned mode, dx_zip_method method,
               uint32_t dos_time, const void *data, size_t len, dx_error *err);
/* Write the central directory and the end records. No entry may be open. */
int dx_zip_finish(dx_zip_writer *w, dx_error *err);
/* Bytes written so far. */
uint64_t dx_zip_written(const dx_zip_writer *w);

/* ---- reader ---------------------------------------------------------------------------- */

/* Reads len bytes at offset off into buf: 0, or a negative DX_E* code with err set. The
 * reader never asks past the size it was given. */
typedef int (*dx_zip_read_fn)(void *ud, uint64_t off, void *buf, size_t len, dx_error *err);

typedef struct dx_zip_limits {
    uint64_t max_entries; /* entries in the archive */
    uint64_t max_total;   /* uncompressed bytes of all entries together */
    uint64_t max_ratio;   /* uncompressed / compressed bytes of one entry */
} dx_zip_limits;

/* 1,000,000 entries, 16 GiB, ratio 200 (text deflates to about a third; 200 is only
 * reached by data made to expand). */
#define DX_ZIP_LIMITS_INIT                                                                         \
    {                                                                                              \
        1000000, (uint64_t)16 << 30, 200                                                           \
    }

typedef struct dx_zip_entry {
    const char *name;  /* as in the archive, NUL-terminated; a directory ends in '/' */
    bool is_dir;       /* name ends in '/' */
    unsigned mode;     /* Unix permission bits (0644 when the archive has none) */
    uint16_t method;   /* DX_ZIP_STORE or DX_ZIP_DEFLATE */
    uint32_t crc;      /* CRC-32 of the data */
    uint64_t csize;    /* bytes in the archive */
    uint64_t usize;    /* bytes once extracted */
    uint64_t data_off; /* where its data starts */
    uint32_t dos_time; /* as dx_zip_dos_time */
} dx_zip_entry;

typedef struct dx_zip_reader dx_zip_reader;

/* Open and check (see the top of this file) the archive of size bytes that read(ud, ...)
 * returns. limits NULL: DX_ZIP_LIMITS_INIT. label names the archive in messages (NULL:
 * "the archive"). Free with dx_zip_reader_free. */
int dx_zip_reader_open(dx_zip_read_fn read, void *ud, uint64_t size, const dx_zip_limits *limits,
                       const char *label, dx_zip_reader **out, dx_error *err);
/* The same over bytes in memory (borrowed: they must outlive the reader). */
int dx_zip_reader_open_mem(const void *data, size_t len, const dx_zip_limits *limits,
                           const char *label, dx_zip_reader **out, dx_error *err);
/* The same over an open file (borrowed descriptor, read with pread). */
int dx_zip_reader_open_fd(int fd, const dx_zip_limits *limits, const char *label,
                          dx_zip_reader **out, dx_error *err);
void dx_zip_reader_free(dx_zip_reader *r); /* accepts NULL */

/* The number of entries, and entry i in the archive's order (borrowed from the reader). */
size_t dx_zip_count(const dx_zip_reader *r);
const dx_zip_entry *dx_zip_entry_at(const dx_zip_reader *r, size_t i);

/* Receives extracted bytes in order: 0, or a negative DX_E* code (with err set) that stops
 * the extraction and is returned. */
typedef int (*dx_zip_sink_fn)(void *ud, const void *data, size_t len, dx_error *err);

/* Stream entry i's bytes to sink, checked as they come (see the top of this file):
 * DX_ECORRUPT naming the entry when the data is not what was declared, DX_ELIMIT for a bomb.
 * The bytes already given to sink before such a failure must be thrown away by the caller. */
int dx_zip_extract(dx_zip_reader *r, size_t i, dx_zip_sink_fn sink, void *ud, dx_error *err);

/* Whether name is acceptable as an archive entry name (the reader's rules); when not,
 * DX_EPATH with err naming it and saying why. */
int dx_zip_check_name(const char *name, size_t len, dx_error *err);

#endif
