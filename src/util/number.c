/* number.c - strict parsing of numbers written as text, with a range check. */
#include "diaryx/number.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

static int int_error(const char *what, const char *text, int64_t min, int64_t max, dx_error *err)
{
    return dx_error_set(err, DX_EINVAL, "%s must be an integer from %lld to %lld, not '%s'", what,
                        (long long)min, (long long)max, text);
}

int dx_number_parse_int(const char *what, const char *text, int64_t min, int64_t max, int64_t *out,
                        dx_error *err)
{
    const char *p = text + (text[0] == '-');
    if (!isdigit((unsigned char)*p))
        return int_error(what, text, min, max, err);
    while (isdigit((unsigned char)*p))
        p++;
    if (*p)
        return int_error(what, text, min, max, err);
    errno = 0;
    long long v = strtoll(text, NULL, 10);
    if (errno == ERANGE || v < min || v > max)
        return int_error(what, text, min, max, err);
    *out = v;
    return 0;
}

/* Whether text is a plain decimal number: strtod alone also takes spaces, hex, nan, inf. */
static int decimal_syntax(const char *p)
{
    int digits = 0;
    p += *p == '-';
    for (; isdigit((unsigned char)*p); p++)
        digits++;
    if (*p == '.')
        for (p++; isdigit((unsigned char)*p); p++)
            digits++;
    if (!digits)
        return 0;
    if (*p == 'e' || *p == 'E') {
        p++;
        p += *p == '+' || *p == '-';
        if (!isdigit((unsigned char)*p))
            return 0;
        while (isdigit((unsigned char)*p))
            p++;
    }
    return *p == 0;
}

int dx_number_parse_double(const char *what, const char *text, double min, double max, double *out,
                           dx_error *err)
{
    double v = decimal_syntax(text) ? strtod(text, NULL) : NAN;
    if (!isfinite(v) || v < min || v > max)
        return dx_error_set(err, DX_EINVAL, "%s must be a number from %g to %g, not '%s'", what,
                            min, max, text);
    *out = v;
    return 0;
}

int dx_number_check_int(const char *what, int64_t v, int64_t min, int64_t max, dx_error *err)
{
    if (v >= min && v <= max)
        return 0;
    char text[32];
    snprintf(text, sizeof text, "%lld", (long long)v);
    return int_error(what, text, min, max, err);
}
