/* fuzz_json_string.c -- lt_buf_json_string() and lt_buf_text_escaped() on
 * arbitrary bytes.
 *
 * Input: byte 0 is how many bytes the buffer already holds (so that the
 * string lands at every offset of a growing buffer), the rest the string.
 *
 * A checker written here, not lib/'s, reads the JSON string back:
 *  - it is '"' ... '"' with no raw byte below 0x20, no bare '"' inside, and
 *    only the escapes \" \\ \/ \b \f \n \r \t \uXXXX (surrogates paired);
 *  - the whole output is valid UTF-8 (RFC 3629: no overlong forms, no
 *    surrogates, nothing past U+10FFFF);
 *  - decoded, it is the input with each byte that does not start a valid
 *    UTF-8 sequence replaced by the text \xHH;
 * and the bytes already in the buffer are left alone.  The terminal form
 * (lt_buf_text_escaped) must be valid UTF-8 without control bytes (C0,
 * DEL, and the C1 controls U+0080..U+009F) and equal the input with control
 * and invalid bytes as \xHH (a C1 control's two bytes as two \xHH).
 * lt_utf8_sequence() must agree with the checker's decoder at every offset.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "buf.h"
#include "fuzz.h"

/* Length of the valid UTF-8 sequence at s[0..n), or 0.  Decodes the code
 * point and checks its range, rather than tabulating lead bytes. */
static size_t utf8_len(const unsigned char *s, size_t n, uint32_t *cp_out)
{
    size_t len;
    uint32_t cp, min;

    if (s[0] < 0x80) {
        len = 1, cp = s[0], min = 0;
    } else if ((s[0] & 0xe0) == 0xc0) {
        len = 2, cp = s[0] & 0x1fu, min = 0x80;
    } else if ((s[0] & 0xf0) == 0xe0) {
        len = 3, cp = s[0] & 0x0fu, min = 0x800;
    } else if ((s[0] & 0xf8) == 0xf0) {
        len = 4, cp = s[0] & 0x07u, min = 0x10000;
    } else {
        return 0;
    }
    if (len > n)
        return 0;
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        cp = cp << 6 | (s[i] & 0x3fu);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
        return 0;
    if (cp_out)
        *cp_out = cp;
    return len;
}

static bool valid_utf8(const unsigned char *s, size_t n)
{
    for (size_t i = 0; i < n;) {
        size_t l = utf8_len(s + i, n - i, NULL);
        if (l == 0)
            return false;
        i += l;
    }
    return true;
}

static int hexval(unsigned char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

static size_t put_utf8(unsigned char *o, uint32_t cp)
{
    if (cp < 0x80) {
        o[0] = (unsigned char)cp;
        return 1;
    }
    if (cp < 0x800) {
        o[0] = (unsigned char)(0xc0 | cp >> 6);
        o[1] = (unsigned char)(0x80 | (cp & 0x3f));
        return 2;
    }
    if (cp < 0x10000) {
        o[0] = (unsigned char)(0xe0 | cp >> 12);
        o[1] = (unsigned char)(0x80 | (cp >> 6 & 0x3f));
        o[2] = (unsigned char)(0x80 | (cp & 0x3f));
        return 3;
    }
    o[0] = (unsigned char)(0xf0 | cp >> 18);
    o[1] = (unsigned char)(0x80 | (cp >> 12 & 0x3f));
    o[2] = (unsigned char)(0x80 | (cp >> 6 & 0x3f));
    o[3] = (unsigned char)(0x80 | (cp & 0x3f));
    return 4;
}

/* Four hex digits at s as a code unit, or -1. */
static long hex4(const unsigned char *s)
{
    long v = 0;
    for (int i = 0; i < 4; i++) {
        int h = hexval(s[i]);
        if (h < 0)
            return -1;
        v = v << 4 | h;
    }
    return v;
}

/* Checks that j[0..n) is one JSON string and decodes it into out (room for
 * n bytes); returns the decoded length. */
static size_t json_decode(const unsigned char *j, size_t n, unsigned char *out)
{
    size_t o = 0;

    FUZZ_CHECK(n >= 2 && j[0] == '"' && j[n - 1] == '"', "not between quotes");
    for (size_t i = 1; i < n - 1;) {
        unsigned char c = j[i];
        FUZZ_CHECK(c >= 0x20, "raw control byte 0x%02x at %zu", c, i);
        FUZZ_CHECK(c != '"', "bare quote at %zu", i);
        if (c != '\\') {
            size_t l = utf8_len(j + i, n - 1 - i, NULL);
            FUZZ_CHECK(l > 0, "invalid UTF-8 at %zu", i);
            memcpy(out + o, j + i, l);
            o += l;
            i += l;
            continue;
        }
        FUZZ_CHECK(i + 1 < n - 1, "backslash escapes the closing quote");
        unsigned char e = j[i + 1];
        const char *simple = strchr("\"\\/bfnrt", e);
        if (e != '\0' && simple != NULL) {
            static const char decoded[] = "\"\\/\b\f\n\r\t";
            out[o++] = (unsigned char)decoded[simple - "\"\\/bfnrt"];
            i += 2;
            continue;
        }
        FUZZ_CHECK(e == 'u', "unknown escape \\%c at %zu", e, i);
        FUZZ_CHECK(i + 6 <= n - 1, "\\u cut short at %zu", i);
        long u = hex4(j + i + 2);
        FUZZ_CHECK(u >= 0, "bad \\u digits at %zu", i);
        i += 6;
        uint32_t cp = (uint32_t)u;
        FUZZ_CHECK(!(u >= 0xdc00 && u <= 0xdfff), "lone low surrogate at %zu", i - 6);
        if (u >= 0xd800 && u <= 0xdbff) {
            FUZZ_CHECK(i + 6 <= n - 1 && j[i] == '\\' && j[i + 1] == 'u', "lone high surrogate");
            long lo = hex4(j + i + 2);
            FUZZ_CHECK(lo >= 0xdc00 && lo <= 0xdfff, "high surrogate without a low one");
            cp = 0x10000 + (((uint32_t)u - 0xd800) << 10) + ((uint32_t)lo - 0xdc00);
            i += 6;
        }
        o += put_utf8(out + o, cp);
    }
    return o;
}

/* Checks that text (n bytes) is the input (len bytes) with each byte that
 * does not start a valid UTF-8 sequence written as the text \xHH (either
 * case), and, when controls_escaped, control bytes, DEL and the C1
 * controls (C2 80..C2 9F, then written as two \xHH) too. */
static void check_escaped(const unsigned char *in, size_t len, const unsigned char *text,
                          size_t n, bool controls_escaped)
{
    size_t t = 0;
    for (size_t i = 0; i < len;) {
        size_t l = utf8_len(in + i, len - i, NULL);
        if (controls_escaped && (in[i] < 0x20 || in[i] == 0x7f))
            l = 0;
        if (controls_escaped && l == 2 && in[i] == 0xc2 && in[i + 1] < 0xa0)
            l = 0;
        if (l > 0) {
            FUZZ_CHECK(t + l <= n && memcmp(text + t, in + i, l) == 0,
                       "input byte %zu not kept at output byte %zu", i, t);
            t += l;
            i += l;
        } else {
            FUZZ_CHECK(t + 4 <= n && text[t] == '\\' && text[t + 1] == 'x' &&
                           hexval(text[t + 2]) >= 0 && hexval(text[t + 3]) >= 0 &&
                           hexval(text[t + 2]) * 16 + hexval(text[t + 3]) == in[i],
                       "input byte %zu (0x%02x) not written \\xHH at output byte %zu", i, in[i],
                       t);
            t += 4;
            i++;
        }
    }
    FUZZ_CHECK(t == n, "%zu bytes of output after the input", n - t);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    size_t pre = data[0];
    size_t n = size - 1;
    const unsigned char *s = (const unsigned char *)fuzz_dup(data + 1, n);
    lt_buf b;

    /* lt_utf8_sequence against the decoder above, at every offset. */
    for (size_t i = 0; i < n; i++) {
        size_t want = utf8_len(s + i, n - i, NULL), got = lt_utf8_sequence(s + i, n - i);
        FUZZ_CHECK(got == want, "lt_utf8_sequence at %zu: %zu, checker %zu", i, got, want);
    }

    lt_buf_init(&b);
    for (size_t i = 0; i < pre; i++)
        lt_buf_append(&b, "p", 1);
    lt_buf_json_string(&b, (const char *)s, n);
    FUZZ_CHECK(!lt_buf_failed(&b), "buffer failed");
    FUZZ_CHECK(b.len >= pre + 2 && b.data[b.len] == '\0', "length %zu", b.len);
    for (size_t i = 0; i < pre; i++)
        FUZZ_CHECK(b.data[i] == 'p', "byte %zu before the string changed", i);
    const unsigned char *json = (const unsigned char *)b.data + pre;
    size_t jlen = b.len - pre;
    FUZZ_CHECK(valid_utf8(json, jlen), "output is not valid UTF-8");
    unsigned char *decoded = malloc(jlen);
    if (decoded == NULL)
        abort();
    size_t dlen = json_decode(json, jlen, decoded);
    check_escaped(s, n, decoded, dlen, false);
    free(decoded);

    lt_buf_reset(&b);
    lt_buf_text_escaped(&b, (const char *)s, n);
    FUZZ_CHECK(!lt_buf_failed(&b), "buffer failed");
    const unsigned char *text = (const unsigned char *)(b.data ? b.data : "");
    FUZZ_CHECK(valid_utf8(text, b.len), "terminal text is not valid UTF-8");
    for (size_t i = 0; i < b.len; i++) {
        FUZZ_CHECK(text[i] >= 0x20 && text[i] != 0x7f, "control byte 0x%02x in terminal text",
                   text[i]);
        FUZZ_CHECK(!(text[i] == 0xc2 && i + 1 < b.len && text[i + 1] < 0xa0),
                   "C1 control in terminal text at byte %zu", i);
    }
    check_escaped(s, n, text, b.len, true);

    lt_buf_free(&b);
    free((void *)s);
    return 0;
}
