/* fuzz_qtime.c -- lt_qtime_parse() and lt_qtime_duration() on arbitrary
 * bytes (cut at the first NUL, as a query parameter is).
 *
 * Checks: an accepted time lies in LT_QTIME_MIN..LT_QTIME_MAX; a refusal
 * has a reason and leaves *out alone; an accepted ISO time written back as
 * YYYY-MM-DDTHH:MM:SSZ by gmtime_r() parses to the same second (so no
 * out-of-range field was quietly carried into the next one); an accepted
 * duration is non-negative and at most 100 years. */
#define _DEFAULT_SOURCE
#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

#include "fuzz.h"
#include "qtime.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = malloc(size + 1);
    if (s == NULL)
        abort();
    memcpy(s, data, size);
    s[size] = '\0';
    const int64_t now = 1700000000;
    int64_t v = INT64_MIN;
    char err[256] = "";
    int rc = lt_qtime_parse(s, now, &v, err, sizeof(err));
    if (rc == 0) {
        FUZZ_CHECK(v >= LT_QTIME_MIN && v <= LT_QTIME_MAX, "'%s' -> %lld out of range", s,
                   (long long)v);
        struct tm tm;
        time_t t = (time_t)v;
        char iso[64];
        if (gmtime_r(&t, &tm) != NULL && tm.tm_year + 1900 >= 0 &&
            strftime(iso, sizeof(iso), "%Y-%m-%dT%H:%M:%SZ", &tm) == 20) {
            int64_t back = 0;
            FUZZ_CHECK(lt_qtime_parse(iso, now, &back, err, sizeof(err)) == 0 && back == v,
                       "'%s' -> %lld, but '%s' -> %lld (%s)", s, (long long)v, iso,
                       (long long)back, err);
        }
    } else {
        FUZZ_CHECK(rc == -EINVAL && err[0] != '\0' && v == INT64_MIN, "'%s': rc %d", s, rc);
    }
    v = -1;
    rc = lt_qtime_duration(s, &v, err, sizeof(err));
    if (rc == 0)
        FUZZ_CHECK(v >= 0 && v <= 100LL * 366 * 86400, "duration '%s' -> %lld", s, (long long)v);
    else
        FUZZ_CHECK(rc == -EINVAL && v == -1, "duration '%s': rc %d", s, rc);
    free(s);
    return 0;
}
