/* buf.c -- a growable byte buffer with JSON string escaping.
 *
 * Capacity doubles; an allocation failure sets a sticky flag instead of
 * returning an error from every append (the style of a string builder such
 * as Redis's sds, with the check moved to the end).  JSON escaping decodes
 * UTF-8 strictly (RFC 3629): what is not valid UTF-8 is escaped byte by
 * byte, so hostile bytes in a URL can never make the output invalid.
 */
#include "buf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void lt_buf_init(lt_buf *b)
{
    memset(b, 0, sizeof(*b));
}

void lt_buf_free(lt_buf *b)
{
    free(b->data);
    lt_buf_init(b);
}

void lt_buf_reset(lt_buf *b)
{
    b->len = 0;
    if (b->data != NULL)
        b->data[0] = '\0';
}

int lt_buf_failed(const lt_buf *b)
{
    return b->failed;
}

/* Makes room for n more bytes plus a NUL; returns 0 or -1 (flag set). */
static int reserve(lt_buf *b, size_t n)
{
    if (b->failed)
        return -1;
    if (b->cap - b->len > n)
        return 0;
    size_t cap = b->cap ? b->cap : 256;
    while (cap - b->len <= n) {
        if (cap > ((size_t)-1) / 2)
            goto fail;
        cap *= 2;
    }
    char *d = realloc(b->data, cap);
    if (d == NULL)
        goto fail;
    b->data = d;
    b->cap = cap;
    return 0;

fail:
    b->failed = 1;
    return -1;
}

void lt_buf_append(lt_buf *b, const void *s, size_t n)
{
    /* Nothing to add (s may then be NULL, which memcpy must not see). */
    if (n == 0 || reserve(b, n) < 0)
        return;
    memcpy(b->data + b->len, s, n);
    b->len += n;
    b->data[b->len] = '\0';
}

void lt_buf_puts(lt_buf *b, const char *s)
{
    lt_buf_append(b, s, strlen(s));
}

void lt_buf_printf(lt_buf *b, const char *fmt, ...)
{
    va_list ap;
    char small[256];

    va_start(ap, fmt);
    int n = vsnprintf(small, sizeof(small), fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    if ((size_t)n < sizeof(small)) {
        lt_buf_append(b, small, (size_t)n);
        return;
    }
    if (reserve(b, (size_t)n) < 0)
        return;
    va_start(ap, fmt);
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

size_t lt_utf8_sequence(const unsigned char *s, size_t n)
{
    unsigned c = s[0];
    size_t len;
    unsigned cp;

    if (c < 0x80)
        return 1;
    if (c >= 0xc2 && c <= 0xdf) {
        len = 2;
        cp = c & 0x1f;
    } else if (c >= 0xe0 && c <= 0xef) {
        len = 3;
        cp = c & 0x0f;
    } else if (c >= 0xf0 && c <= 0xf4) {
        len = 4;
        cp = c & 0x07;
    } else {
        return 0;    /* continuation byte, 0xc0/0xc1 or 0xf5.. */
    }
    if (n < len)
        return 0;
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        cp = cp << 6 | (s[i] & 0x3f);
    }
    if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
        (cp >= 0xd800 && cp <= 0xdfff))
        return 0;
    return len;
}

void lt_buf_json_string(lt_buf *b, const char *str, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    const unsigned char *s = (const unsigned char *)str;
    size_t i = 0;

    lt_buf_append(b, "\"", 1);
    while (i < n) {
        /* Copy the longest run that needs no escaping in one append. */
        size_t run = i;
        while (run < n && s[run] >= 0x20 && s[run] < 0x7f && s[run] != '"' && s[run] != '\\')
            run++;
        if (run > i) {
            lt_buf_append(b, s + i, run - i);
            i = run;
            continue;
        }
        unsigned char c = s[i];
        char esc[8];
        if (c == '"' || c == '\\') {
            esc[0] = '\\';
            esc[1] = (char)c;
            lt_buf_append(b, esc, 2);
            i++;
        } else if (c < 0x20 || c == 0x7f) {
            const char *named = c == '\n' ? "\\n" : c == '\t' ? "\\t" : c == '\r' ? "\\r"
                              : c == '\b' ? "\\b" : c == '\f' ? "\\f" : NULL;
            if (named != NULL) {
                lt_buf_puts(b, named);
            } else {
                memcpy(esc, "\\u00", 4);
                esc[4] = hex[c >> 4];
                esc[5] = hex[c & 15];
                lt_buf_append(b, esc, 6);
            }
            i++;
        } else {
            size_t len = lt_utf8_sequence(s + i, n - i);
            if (len > 0) {
                lt_buf_append(b, s + i, len);
                i += len;
            } else {
                memcpy(esc, "\\\\x", 3);
                esc[3] = hex[c >> 4];
                esc[4] = hex[c & 15];
                lt_buf_append(b, esc, 5);
                i++;
            }
        }
    }
    lt_buf_append(b, "\"", 1);
}

void lt_buf_text_escaped(lt_buf *b, const char *str, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    const unsigned char *s = (const unsigned char *)str;
    for (size_t i = 0; i < n;) {
        size_t len = s[i] >= 0x20 && s[i] != 0x7f ? lt_utf8_sequence(s + i, n - i) : 0;
        /* U+0080..U+009F (C2 80..C2 9F) are C1 controls: CSI (U+009B)
         * starts an escape sequence on some terminals. */
        if (len == 2 && s[i] == 0xc2 && s[i + 1] < 0xa0)
            len = 0;
        if (len > 0) {
            lt_buf_append(b, s + i, len);
            i += len;
        } else {
            char esc[4] = {'\\', 'x', hex[s[i] >> 4], hex[s[i] & 15]};
            lt_buf_append(b, esc, 4);
            i++;
        }
    }
}
