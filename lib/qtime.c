/* qtime.c -- the times a query names: strict, with a reason when refused.
 *
 * Grammar (the whole string must match; nothing is skipped):
 *
 *   time     = epoch | "now" | relative | iso
 *   epoch    = ["-"] 1*19DIGIT                   seconds since 1970 UTC
 *   relative = ("-" | "now-") duration          now minus the duration
 *   duration = 1*DIGIT ["s" | "m" | "h" | "d" | "w"]
 *   iso      = date [("T" | " ") hh ":" mm [":" ss]] [zone]
 *   date     = yyyy "-" MM "-" dd                4, 2 and 2 digits
 *   zone     = "Z" | ("+" | "-") hh [":"] mm | ("+" | "-") hh
 *
 * Checks: the month is 01..12 and the day exists in that month of that
 * (proleptic Gregorian) year, so 2024-02-30 and 2023-02-29 are refused,
 * not carried into March; hours are 00..23, minutes and seconds 00..59 (a
 * leap second cannot be a bucket edge, so 60 is refused); an offset is at
 * most 23:59.  A time without a zone is UTC.  Every result lies in years
 * 0000..9999 (LT_QTIME_MIN..LT_QTIME_MAX).
 *
 * Whether "-15" is epoch -15 or fifteen seconds ago: a bare signed number is
 * epoch seconds (as /v1/rps always read it); relative times need a unit
 * ("-15s") or the "now-" prefix.
 *
 * The calendar is days_from_civil (Howard Hinnant), as in parse.c, rather
 * than timegm(), which normalizes out-of-range fields instead of refusing
 * them and depends on the C library's range of time_t.
 */
#include "qtime.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static int refuse(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int refuse(char *err, size_t errlen, const char *fmt, ...)
{
    if (errlen > 0) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
    }
    return -EINVAL;
}

static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    unsigned yoe = (unsigned)(y - era * 400);
    unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

static unsigned days_in_month(int64_t y, unsigned m)
{
    static const unsigned days[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    return m == 2 && leap ? 29 : days[m - 1];
}

/* Reads exactly n digits at *s into *v and advances; -1 when they are not
 * all digits. */
static int digits(const char **s, int n, unsigned *v)
{
    unsigned x = 0;
    for (int i = 0; i < n; i++) {
        char c = (*s)[i];
        if (c < '0' || c > '9')
            return -1;
        x = x * 10 + (unsigned)(c - '0');
    }
    *s += n;
    *v = x;
    return 0;
}

int lt_qtime_duration(const char *s, int64_t *out, char *err, size_t errlen)
{
    /* 100 years: far past any retention, and small enough that now minus
     * it never leaves int64_t. */
    const int64_t max = 100LL * 366 * 86400;
    int64_t v = 0;
    const char *p = s;

    if (*p < '0' || *p > '9')
        return refuse(err, errlen, "'%s' is not a duration such as 90s, 15m, 1h, 2d or 1w", s);
    for (; *p >= '0' && *p <= '9'; p++) {
        v = v * 10 + (*p - '0');
        if (v > max)
            return refuse(err, errlen, "'%s' is longer than 100 years", s);
    }
    int64_t unit = 1;
    switch (*p) {
    case '\0': unit = 1; break;
    case 's': unit = 1; p++; break;
    case 'm': unit = 60; p++; break;
    case 'h': unit = 3600; p++; break;
    case 'd': unit = 86400; p++; break;
    case 'w': unit = 7 * 86400; p++; break;
    default:
        return refuse(err, errlen, "'%s': the unit must be s, m, h, d or w", s);
    }
    if (*p != '\0')
        return refuse(err, errlen, "'%s': nothing may follow the unit", s);
    if (v > max / unit)
        return refuse(err, errlen, "'%s' is longer than 100 years", s);
    *out = v * unit;
    return 0;
}

static int parse_epoch(const char *s, int64_t *out, char *err, size_t errlen)
{
    const char *p = s;
    int neg = *p == '-';
    int64_t v = 0;
    p += neg;
    if (*p == '\0')
        return refuse(err, errlen, "'%s' is not a time", s);
    for (; *p; p++) {
        if (*p < '0' || *p > '9')
            return refuse(err, errlen, "'%s' is not epoch seconds", s);
        v = v * 10 + (*p - '0');
        if (v > LT_QTIME_MAX + 1)
            return refuse(err, errlen, "'%s' is outside years 0000..9999", s);
    }
    v = neg ? -v : v;
    if (v < LT_QTIME_MIN || v > LT_QTIME_MAX)
        return refuse(err, errlen, "'%s' is outside years 0000..9999", s);
    *out = v;
    return 0;
}

static int parse_iso(const char *s, int64_t *out, char *err, size_t errlen)
{
    const char *p = s;
    unsigned y, mo, d, h = 0, mi = 0, sec = 0;

    if (digits(&p, 4, &y) < 0 || *p++ != '-' || digits(&p, 2, &mo) < 0 || *p++ != '-' ||
        digits(&p, 2, &d) < 0)
        return refuse(err, errlen, "'%s' is not epoch seconds, now, -15m or YYYY-MM-DD[THH:MM[:SS]][Z|+hh:mm]", s);
    if (mo < 1 || mo > 12)
        return refuse(err, errlen, "'%s': month %02u is not 01..12", s, mo);
    if (d < 1 || d > days_in_month(y, mo))
        return refuse(err, errlen, "'%s': day %02u is not in %04u-%02u (1..%u)", s, d, y, mo,
                      days_in_month(y, mo));
    if (*p == 'T' || *p == ' ') {
        p++;
        if (digits(&p, 2, &h) < 0 || *p++ != ':' || digits(&p, 2, &mi) < 0)
            return refuse(err, errlen, "'%s': the time must be HH:MM or HH:MM:SS", s);
        if (*p == ':') {
            p++;
            if (digits(&p, 2, &sec) < 0)
                return refuse(err, errlen, "'%s': seconds must be two digits", s);
        }
        if (h > 23 || mi > 59 || sec > 59)
            return refuse(err, errlen, "'%s': %02u:%02u:%02u is not a time of day", s, h, mi, sec);
    }
    int64_t offset = 0;
    if (*p == 'Z') {
        p++;
    } else if (*p == '+' || *p == '-') {
        int sign = *p++ == '+' ? 1 : -1;
        unsigned oh, om = 0;
        if (digits(&p, 2, &oh) < 0)
            return refuse(err, errlen, "'%s': the offset must be +hh:mm, +hhmm or +hh", s);
        if (*p == ':') {
            p++;
            if (digits(&p, 2, &om) < 0)
                return refuse(err, errlen, "'%s': the offset must be +hh:mm, +hhmm or +hh", s);
        } else if (*p != '\0' && digits(&p, 2, &om) < 0) {
            return refuse(err, errlen, "'%s': the offset must be +hh:mm, +hhmm or +hh", s);
        }
        if (oh > 23 || om > 59)
            return refuse(err, errlen, "'%s': offset %02u:%02u is past 23:59", s, oh, om);
        offset = sign * (int64_t)(oh * 3600 + om * 60);
    }
    if (*p != '\0')
        return refuse(err, errlen, "'%s': unexpected text after the time", s);
    int64_t t = days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec - offset;
    if (t < LT_QTIME_MIN || t > LT_QTIME_MAX)
        return refuse(err, errlen, "'%s' is outside years 0000..9999 in UTC", s);
    *out = t;
    return 0;
}

int lt_qtime_parse(const char *s, int64_t now, int64_t *out, char *err, size_t errlen)
{
    const char *rel = NULL;
    if (strcmp(s, "now") == 0) {
        rel = "0";
    } else if (strncmp(s, "now-", 4) == 0) {
        rel = s + 4;
    } else if (s[0] == '-') {
        /* "-15m" is relative, "-15" is epoch: the unit decides. */
        size_t n = strspn(s + 1, "0123456789");
        if (n > 0 && s[1 + n] != '\0')
            rel = s + 1;
    }
    if (rel != NULL) {
        int64_t d;
        if (lt_qtime_duration(rel, &d, err, errlen) < 0)
            return -EINVAL;
        if (now - d < LT_QTIME_MIN || now > LT_QTIME_MAX)
            return refuse(err, errlen, "'%s' is outside years 0000..9999", s);
        *out = now - d;
        return 0;
    }
    size_t n = strspn(s + (s[0] == '-'), "0123456789");
    if (s[0] != '\0' && s[(s[0] == '-') + n] == '\0')
        return parse_epoch(s, out, err, errlen);
    return parse_iso(s, out, err, errlen);
}

/* Whether s names a time relative to now (as lt_qtime_parse() reads it). */
static int is_relative(const char *s)
{
    if (strcmp(s, "now") == 0 || strncmp(s, "now-", 4) == 0)
        return 1;
    size_t n = strspn(s + (s[0] == '-'), "0123456789");
    return s[0] == '-' && n > 0 && s[1 + n] != '\0';
}

int lt_qtime_window(const char *from_s, const char *to_s, int64_t now, int has_data,
                    int64_t first, int64_t last, int64_t *from, int64_t *to, char *err,
                    size_t errlen)
{
    char why[200];
    int64_t f = 0, t = 0;
    if (from_s != NULL && lt_qtime_parse(from_s, now, &f, why, sizeof(why)) < 0)
        return refuse(err, errlen, "from: %s", why);
    if (to_s != NULL && lt_qtime_parse(to_s, now, &t, why, sizeof(why)) < 0)
        return refuse(err, errlen, "to: %s", why);
    if (to_s == NULL)
        t = from_s != NULL && is_relative(from_s) ? now
          : has_data ? last : from_s != NULL ? f : now;
    if (from_s == NULL)
        f = has_data && first <= t ? first : t;
    if (f > t)
        return refuse(err, errlen, "from is after to");
    *from = f;
    *to = t;
    return 0;
}
