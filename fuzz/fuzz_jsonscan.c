/* fuzz_jsonscan.c -- lib/jsonscan.c held to jansson, a full JSON reader.
 *
 * The input is one line.  The scanner reads it with a fixed set of paths
 * (top-level names, Caddy's nested request.*, a three-level path) and
 * jansson (Debian's libjansson) decodes it, with JSON_ALLOW_NUL so that
 * \u0000 is a string's byte as RFC 8259 allows.  Where both readers' rules
 * are the same, they must agree:
 *
 *  - the verdict: the scanner accepts exactly the lines that jansson
 *    decodes to an object.  Not compared where the rules differ by design
 *    (README, "JSON lines"): input that is not valid UTF-8 (the scanner
 *    passes raw bytes through, as nginx's escape=json writes them), lone
 *    surrogates (grammatical, U+FFFD to the scanner, an error to jansson),
 *    a raw NUL byte (jansson reads it as the end of the input),
 *    numbers jansson cannot hold, NUL in a member name, nesting past
 *    LT_JSONSCAN_MAX_DEPTH;
 *  - on an accepted line, at each path: the same type, and for a string
 *    the same bytes once the scanner's span is unescaped by
 *    lt_jsonscan_unescape().  Duplicate names: the last wins in both.
 *
 * Every line is copied into an exact-size heap block, so a read past its
 * end is caught by ASan.
 */
#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "fuzz.h"
#include "jsonscan.h"

static const char *const paths[] = {
    "ts", "status", "a", "request.uri", "request.remote_ip", "request.headers", "x.y.z", "",
};
#define N_PATHS 7    /* the empty name above is not a path: left out */

static bool valid_utf8(const unsigned char *s, size_t n)
{
    for (size_t i = 0; i < n;) {
        size_t k = lt_utf8_sequence(s + i, n - i);
        if (k == 0)
            return false;
        i += k;
    }
    return true;
}

/* The deepest nesting of objects and arrays, outside strings. */
static size_t depth_of(const char *s, size_t n)
{
    size_t d = 0, max = 0;
    bool in_string = false;
    for (size_t i = 0; i < n; i++) {
        if (in_string) {
            if (s[i] == '\\')
                i++;
            else if (s[i] == '"')
                in_string = false;
        } else if (s[i] == '"') {
            in_string = true;
        } else if (s[i] == '{' || s[i] == '[') {
            if (++d > max)
                max = d;
        } else if ((s[i] == '}' || s[i] == ']') && d > 0) {
            d--;
        }
    }
    return max;
}

/* jansson's value at a dotted path, or NULL. */
static json_t *at_path(json_t *root, const char *path)
{
    char buf[64];
    json_t *v = root;
    const char *p = path;
    while (v != NULL) {
        const char *dot = strchr(p, '.');
        size_t n = dot ? (size_t)(dot - p) : strlen(p);
        memcpy(buf, p, n);
        buf[n] = '\0';
        v = json_is_object(v) ? json_object_get(v, buf) : NULL;
        if (dot == NULL)
            return v;
        p = dot + 1;
    }
    return NULL;
}

static void check_value(const char *path, const lt_json_value *ours, json_t *theirs)
{
    if (theirs == NULL) {
        FUZZ_CHECK(ours->type == LT_JSON_ABSENT, "%s: absent for jansson, type %d here", path,
                   ours->type);
        return;
    }
    switch (json_typeof(theirs)) {
    case JSON_STRING: {
        FUZZ_CHECK(ours->type == LT_JSON_STRING, "%s: a string for jansson, type %d", path, ours->type);
        char *out = malloc(ours->len * 3 + 1);
        long n = lt_jsonscan_unescape(ours->p, ours->len, out, ours->len * 3 + 1);
        FUZZ_CHECK(n >= 0 && (size_t)n == json_string_length(theirs) &&
                       memcmp(out, json_string_value(theirs), (size_t)n) == 0,
                   "%s: the strings differ", path);
        free(out);
        break;
    }
    case JSON_INTEGER:
    case JSON_REAL:
        FUZZ_CHECK(ours->type == LT_JSON_NUMBER, "%s: a number for jansson, type %d", path, ours->type);
        break;
    case JSON_TRUE: FUZZ_CHECK(ours->type == LT_JSON_TRUE, "%s: true", path); break;
    case JSON_FALSE: FUZZ_CHECK(ours->type == LT_JSON_FALSE, "%s: false", path); break;
    case JSON_NULL: FUZZ_CHECK(ours->type == LT_JSON_NULL, "%s: null", path); break;
    case JSON_OBJECT: FUZZ_CHECK(ours->type == LT_JSON_OBJECT, "%s: an object", path); break;
    case JSON_ARRAY: FUZZ_CHECK(ours->type == LT_JSON_ARRAY, "%s: an array", path); break;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static lt_jsonscan *js;
    if (js == NULL && (js = lt_jsonscan_new(paths, N_PATHS)) == NULL)
        abort();
    char *line = fuzz_dup((const char *)data, size);
    lt_json_value v[LT_JSONSCAN_MAX_PATHS];
    int ours = lt_jsonscan_line(js, line, size, v);

    json_error_t e;
    json_t *root = json_loadb(line, size, JSON_ALLOW_NUL, &e);
    bool theirs = root != NULL && json_is_object(root);
    bool comparable = valid_utf8((const unsigned char *)line, size) && memchr(line, '\0', size) == NULL &&
                      depth_of(line, size) < LT_JSONSCAN_MAX_DEPTH &&
                      (root != NULL || (strstr(e.text, "Unicode") == NULL &&
                                        strstr(e.text, "too big") == NULL &&
                                        strstr(e.text, "overflow") == NULL &&
                                        strstr(e.text, "NUL") == NULL &&
                                        strstr(e.text, "surrogate") == NULL));
    if (comparable) {
        if ((ours == 0) != theirs)
            fuzz_dump("line", line, size);
        FUZZ_CHECK((ours == 0) == theirs, "scanner %d, jansson %s (%s)", ours,
                   theirs ? "an object" : "no object", root ? "" : e.text);
        if (ours == 0)
            for (size_t i = 0; i < N_PATHS; i++)
                check_value(paths[i], &v[i], at_path(root, paths[i]));
    }
    json_decref(root);
    free(line);
    return 0;
}
