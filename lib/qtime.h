/* qtime.h -- the times a query names: strict, with a reason when refused.
 *
 * What `from`, `to` and `--since` accept (see qtime.c for the grammar):
 * epoch seconds, ISO 8601 dates and times with a checked calendar and
 * offset, `now`, and times relative to now such as `-15m`. */
#ifndef LT_QTIME_H
#define LT_QTIME_H

#include <stddef.h>
#include <stdint.h>

/* The seconds of 0000-01-01T00:00:00Z and 9999-12-31T23:59:59Z: every
 * accepted time lies between them, so bucket arithmetic cannot overflow. */
#define LT_QTIME_MIN (-62167219200LL)
#define LT_QTIME_MAX 253402300799LL

/* Parses the NUL-terminated s into UTC epoch seconds in *out, taking now
 * (epoch seconds) for `now` and relative forms.  Returns 0, or -EINVAL with
 * a reason in err ("day 31 is past the end of February 2024"); *out is
 * then unchanged. */
int lt_qtime_parse(const char *s, int64_t now, int64_t *out, char *err, size_t errlen);

/* Parses a length of time: digits directly followed by s, m, h, d or w
 * ("15m", "2d"; a bare number is seconds), at most 100 years.  Returns 0
 * with seconds in *out, or -EINVAL with a reason in err. */
int lt_qtime_duration(const char *s, int64_t *out, char *err, size_t errlen);

/* Resolves a query's window: from_s and to_s (either may be NULL) are read
 * with lt_qtime_parse().  A missing from is first (the first second with
 * data, when has_data); a missing to is last, or now when from is relative
 * to now (`now`, `-15m`, `now-1h`), so "the last hour" ends at the clock.
 * Returns 0 with the window in *from and *to, or -EINVAL with a reason
 * naming the parameter ("from: ...", "from is after to"). */
int lt_qtime_window(const char *from_s, const char *to_s, int64_t now, int has_data,
                    int64_t first, int64_t last, int64_t *from, int64_t *to, char *err,
                    size_t errlen);

#endif
