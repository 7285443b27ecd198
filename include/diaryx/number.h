/* number.h - strict parsing of numbers written as text (command-line options, config
 * values), with a range check.
 *
 * The whole text must be the number: no spaces, no trailing characters, no hex, no
 * nan/inf. On failure the message names what was parsed (`what`: an option such as
 * "--poll" or a setting such as "git.keep_updates"), the text, and the allowed range:
 *   --poll must be a number from 0.01 to 86400, not 'nan'
 * Pure functions; no I/O. */
#ifndef DX_NUMBER_H
#define DX_NUMBER_H

#include <stdint.h>

#include "diaryx/error.h"

/* A decimal integer ([-]digits) in [min, max] into *out. DX_EINVAL when malformed, out of
 * range or beyond int64 (*out is then unchanged). */
int dx_number_parse_int(const char *what, const char *text, int64_t min, int64_t max, int64_t *out,
                        dx_error *err);

/* A finite decimal number ([-]digits[.digits][e[+-]digits], or .digits) in [min, max] into
 * *out. DX_EINVAL when malformed, not finite or out of range (*out is then unchanged). */
int dx_number_parse_double(const char *what, const char *text, double min, double max, double *out,
                           dx_error *err);

/* DX_EINVAL with the message above when v is outside [min, max] (for numbers that are
 * already parsed, such as TOML integers); 0 otherwise. */
int dx_number_check_int(const char *what, int64_t v, int64_t min, int64_t max, dx_error *err);

#endif
