/* jsonscan.c -- the few fields a log needs from one JSON object.
 *
 * A JSON access log (Caddy's, nginx's escape=json) is one object per line,
 * of which a log reader wants five to eight members.  Building the object
 * (jansson, cJSON) costs an allocation per member; this scanner walks the
 * bytes once, checks the whole line against JSON's grammar, and returns
 * spans of the line for the wanted paths.
 *
 * Paths
 * -----
 * A path is a list of member names ("request.remote_ip" is request, then
 * remote_ip).  While an object is read, a bit mask says which paths are
 * still possible at this depth: a member whose name equals the path's name
 * at this depth keeps the path; when that was its last name, the member's
 * value is the path's value; when the value is an object and a kept path
 * goes on, the scanner descends into it with the kept paths.  Names are
 * compared as written, escapes undecoded (no log writer escapes a member
 * name of plain ASCII).  Values in arrays are never wanted.
 *
 * Rules (documented in README, "JSON lines")
 * ------------------------------------------
 * * A line is valid JSON when it is one object, with optional whitespace
 *   (space, tab, CR, LF) around and between tokens, as RFC 8259's grammar
 *   says: strings with only the escapes \" \\ \/ \b \f \n \r \t \uXXXX and
 *   no raw byte below 0x20; numbers -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?
 *   [0-9]+)?; true, false, null.  Bytes of 0x80 and above are not checked
 *   as UTF-8: nginx's escape=json passes a request's raw bytes through.
 * * Anything else, a truncated line included, is not (-EINVAL).
 * * Objects and arrays nested deeper than LT_JSONSCAN_MAX_DEPTH are not
 *   read (-EINVAL): the depth bounds the recursion.
 * * The last of duplicate member names wins, as in jansson and most
 *   readers, and wins whole: in {"r":{"a":1},"r":{}} the path r.a is
 *   absent.
 * * \uXXXX must have four hex digits; a surrogate pair is one code point;
 *   a lone surrogate is grammatical and decodes to U+FFFD.
 *
 * Complexity: one pass, O(len) time, O(depth) stack; no allocation.
 * fuzz/fuzz_jsonscan.c holds the scanner to jansson: the same verdict on
 * every valid UTF-8 input, and the same values at the wanted paths.
 */
#include "jsonscan.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

struct lt_jsonscan {
    size_t n;
    size_t depth[LT_JSONSCAN_MAX_PATHS];                    /* names in path i */
    const char *name[LT_JSONSCAN_MAX_PATHS][LT_JSONSCAN_MAX_DEPTH];
    size_t name_len[LT_JSONSCAN_MAX_PATHS][LT_JSONSCAN_MAX_DEPTH];
    char *text;                                             /* the paths' bytes */
};

lt_jsonscan *lt_jsonscan_new(const char *const *paths, size_t n)
{
    if (n > LT_JSONSCAN_MAX_PATHS)
        return NULL;
    size_t total = 0;
    for (size_t i = 0; i < n; i++)
        total += strlen(paths[i]) + 1;
    lt_jsonscan *s = calloc(1, sizeof(*s));
    if (s == NULL || (s->text = malloc(total + 1)) == NULL)
        goto fail;
    s->n = n;
    char *t = s->text;
    for (size_t i = 0; i < n; i++) {
        size_t len = strlen(paths[i]);
        memcpy(t, paths[i], len + 1);
        const char *p = t, *end = t + len;
        while (1) {
            const char *dot = memchr(p, '.', (size_t)(end - p));
            const char *e = dot != NULL ? dot : end;
            if (e == p || s->depth[i] == LT_JSONSCAN_MAX_DEPTH)
                goto fail;    /* an empty name, or too deep */
            s->name[i][s->depth[i]] = p;
            s->name_len[i][s->depth[i]] = (size_t)(e - p);
            s->depth[i]++;
            if (dot == NULL)
                break;
            p = dot + 1;
        }
        t += len + 1;
    }
    return s;

fail:
    lt_jsonscan_free(s);
    return NULL;
}

void lt_jsonscan_free(lt_jsonscan *s)
{
    if (s == NULL)
        return;
    free(s->text);
    free(s);
}

/* ------------------------------------------------------------------------
 * The grammar
 * ---------------------------------------------------------------------- */

typedef struct scan {
    const lt_jsonscan *s;
    const char *p, *end;
    lt_json_value *out;
} scan;

static void skip_ws(scan *c)
{
    while (c->p < c->end && (*c->p == ' ' || *c->p == '\t' || *c->p == '\n' || *c->p == '\r'))
        c->p++;
}

static int hexval(char ch)
{
    if (ch >= '0' && ch <= '9')
        return ch - '0';
    if (ch >= 'a' && ch <= 'f')
        return ch - 'a' + 10;
    if (ch >= 'A' && ch <= 'F')
        return ch - 'A' + 10;
    return -1;
}

/* A string whose opening quote is at c->p: on success c->p is past the
 * closing quote and [*s, *e) holds the bytes between the quotes. */
static int read_string(scan *c, const char **s, const char **e)
{
    const char *p = c->p + 1;
    *s = p;
    while (1) {
        if (p == c->end)
            return -EINVAL;
        unsigned char ch = (unsigned char)*p;
        if (ch == '"')
            break;
        if (ch < 0x20)
            return -EINVAL;
        if (ch != '\\') {
            p++;
            continue;
        }
        if (c->end - p < 2)
            return -EINVAL;
        switch (p[1]) {
        case '"': case '\\': case '/': case 'b': case 'f': case 'n': case 'r': case 't':
            p += 2;
            break;
        case 'u':
            if (c->end - p < 6 || hexval(p[2]) < 0 || hexval(p[3]) < 0 || hexval(p[4]) < 0 ||
                hexval(p[5]) < 0)
                return -EINVAL;
            p += 6;
            break;
        default:
            return -EINVAL;
        }
    }
    *e = p;
    c->p = p + 1;
    return 0;
}

static int read_number(scan *c)
{
    const char *p = c->p, *end = c->end;
    if (p < end && *p == '-')
        p++;
    if (p == end || *p < '0' || *p > '9')
        return -EINVAL;
    if (*p == '0')
        p++;
    else
        while (p < end && *p >= '0' && *p <= '9')
            p++;
    if (p < end && *p == '.') {
        p++;
        if (p == end || *p < '0' || *p > '9')
            return -EINVAL;
        while (p < end && *p >= '0' && *p <= '9')
            p++;
    }
    if (p < end && (*p == 'e' || *p == 'E')) {
        p++;
        if (p < end && (*p == '+' || *p == '-'))
            p++;
        if (p == end || *p < '0' || *p > '9')
            return -EINVAL;
        while (p < end && *p >= '0' && *p <= '9')
            p++;
    }
    c->p = p;
    return 0;
}

static int read_value(scan *c, size_t depth, uint32_t alive, lt_json_value *v);

/* An object whose '{' is at c->p, at nesting depth depth (the top object
 * is 0); alive: the paths whose first depth names led here. */
static int read_object(scan *c, size_t depth, uint32_t alive)
{
    if (depth >= LT_JSONSCAN_MAX_DEPTH)
        return -EINVAL;
    c->p++;
    skip_ws(c);
    if (c->p < c->end && *c->p == '}') {
        c->p++;
        return 0;
    }
    while (1) {
        const char *ks, *ke;
        if (c->p == c->end || *c->p != '"' || read_string(c, &ks, &ke) < 0)
            return -EINVAL;
        skip_ws(c);
        if (c->p == c->end || *c->p != ':')
            return -EINVAL;
        c->p++;
        skip_ws(c);

        /* Which paths this member keeps, and whether one ends here. */
        uint32_t keep = 0;
        lt_json_value *want = NULL;
        size_t klen = (size_t)(ke - ks);
        for (uint32_t m = alive; m != 0; m &= m - 1) {
            unsigned i = (unsigned)__builtin_ctz(m);
            if (c->s->name_len[i][depth] != klen || memcmp(c->s->name[i][depth], ks, klen) != 0)
                continue;
            if (c->s->depth[i] == depth + 1)
                want = &c->out[i];    /* paths are distinct, so at most one */
            else
                keep |= 1u << i;
        }
        /* The last of duplicate members wins whole: what an earlier
         * "request" held under it is forgotten before this one is read. */
        for (uint32_t m = keep; m != 0; m &= m - 1)
            c->out[__builtin_ctz(m)] = (lt_json_value){LT_JSON_ABSENT, NULL, 0};
        lt_json_value v;
        if (read_value(c, depth + 1, keep, &v) < 0)
            return -EINVAL;
        if (want != NULL)
            *want = v;
        skip_ws(c);
        if (c->p == c->end)
            return -EINVAL;
        if (*c->p == '}') {
            c->p++;
            return 0;
        }
        if (*c->p != ',')
            return -EINVAL;
        c->p++;
        skip_ws(c);
    }
}

static int read_array(scan *c, size_t depth)
{
    if (depth >= LT_JSONSCAN_MAX_DEPTH)
        return -EINVAL;
    c->p++;
    skip_ws(c);
    if (c->p < c->end && *c->p == ']') {
        c->p++;
        return 0;
    }
    while (1) {
        lt_json_value v;
        if (read_value(c, depth + 1, 0, &v) < 0)
            return -EINVAL;
        skip_ws(c);
        if (c->p == c->end)
            return -EINVAL;
        if (*c->p == ']') {
            c->p++;
            return 0;
        }
        if (*c->p != ',')
            return -EINVAL;
        c->p++;
        skip_ws(c);
    }
}

/* A value at c->p (no whitespace before it) into v. */
static int read_value(scan *c, size_t depth, uint32_t alive, lt_json_value *v)
{
    const char *start = c->p;
    if (c->p == c->end)
        return -EINVAL;
    switch (*c->p) {
    case '"': {
        const char *s, *e;
        if (read_string(c, &s, &e) < 0)
            return -EINVAL;
        v->type = LT_JSON_STRING;
        v->p = s;
        v->len = (size_t)(e - s);
        return 0;
    }
    case '{':
        if (read_object(c, depth, alive) < 0)
            return -EINVAL;
        v->type = LT_JSON_OBJECT;
        break;
    case '[':
        if (read_array(c, depth) < 0)
            return -EINVAL;
        v->type = LT_JSON_ARRAY;
        break;
    case 't': case 'f': case 'n': {
        static const char *const words[] = {"true", "false", "null"};
        static const lt_json_type types[] = {LT_JSON_TRUE, LT_JSON_FALSE, LT_JSON_NULL};
        int w = *c->p == 't' ? 0 : *c->p == 'f' ? 1 : 2;
        size_t n = strlen(words[w]);
        if ((size_t)(c->end - c->p) < n || memcmp(c->p, words[w], n) != 0)
            return -EINVAL;
        c->p += n;
        v->type = types[w];
        break;
    }
    default:
        if (read_number(c) < 0)
            return -EINVAL;
        v->type = LT_JSON_NUMBER;
        break;
    }
    v->p = start;
    v->len = (size_t)(c->p - start);
    return 0;
}

int lt_jsonscan_line(const lt_jsonscan *s, const char *line, size_t len, lt_json_value *out)
{
    scan c = {.s = s, .p = line, .end = line + len, .out = out};
    memset(out, 0, s->n * sizeof(*out));
    skip_ws(&c);
    if (c.p == c.end || *c.p != '{')
        return -EINVAL;
    uint32_t all = s->n == 32 ? UINT32_MAX : (1u << s->n) - 1;
    if (read_object(&c, 0, all) < 0)
        return -EINVAL;
    skip_ws(&c);
    return c.p == c.end ? 0 : -EINVAL;
}

/* ------------------------------------------------------------------------
 * Unescaping
 * ---------------------------------------------------------------------- */

static unsigned hex4(const char *p)
{
    return (unsigned)(hexval(p[0]) << 12 | hexval(p[1]) << 8 | hexval(p[2]) << 4 | hexval(p[3]));
}

long lt_jsonscan_unescape(const char *s, size_t len, char *out, size_t cap)
{
    const char *p = s, *end = s + len;
    size_t n = 0;
    while (p < end) {
        unsigned char buf[4];
        size_t k = 0;
        if (*p != '\\') {
            buf[k++] = (unsigned char)*p++;
        } else if (p[1] != 'u') {
            static const char from[] = "\"\\/bfnrt", to[] = "\"\\/\b\f\n\r\t";
            const char *w = memchr(from, p[1], sizeof(from) - 1);
            buf[k++] = w != NULL ? (unsigned char)to[w - from] : (unsigned char)p[1];
            p += 2;
        } else {
            unsigned cp = hex4(p + 2);
            p += 6;
            if (cp >= 0xd800 && cp <= 0xdbff && end - p >= 6 && p[0] == '\\' && p[1] == 'u') {
                unsigned lo = hex4(p + 2);
                if (lo >= 0xdc00 && lo <= 0xdfff) {
                    cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
                    p += 6;
                }
            }
            if (cp >= 0xd800 && cp <= 0xdfff)
                cp = 0xfffd;
            if (cp < 0x80) {
                buf[k++] = (unsigned char)cp;
            } else if (cp < 0x800) {
                buf[k++] = (unsigned char)(0xc0 | cp >> 6);
                buf[k++] = (unsigned char)(0x80 | (cp & 0x3f));
            } else if (cp < 0x10000) {
                buf[k++] = (unsigned char)(0xe0 | cp >> 12);
                buf[k++] = (unsigned char)(0x80 | (cp >> 6 & 0x3f));
                buf[k++] = (unsigned char)(0x80 | (cp & 0x3f));
            } else {
                buf[k++] = (unsigned char)(0xf0 | cp >> 18);
                buf[k++] = (unsigned char)(0x80 | (cp >> 12 & 0x3f));
                buf[k++] = (unsigned char)(0x80 | (cp >> 6 & 0x3f));
                buf[k++] = (unsigned char)(0x80 | (cp & 0x3f));
            }
        }
        if (n + k > cap)
            return -1;
        memcpy(out + n, buf, k);
        n += k;
    }
    return (long)n;
}
