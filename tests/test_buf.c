/* test_buf.c -- Check suite for lib/buf.c: growth, printf, and JSON
 * strings that stay valid whatever bytes they are given. */
#include <check.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "lt_test.h"

static const char *json(const char *s, size_t n, lt_buf *b)
{
    lt_buf_reset(b);
    lt_buf_json_string(b, s, n);
    ck_assert(!lt_buf_failed(b));
    return b->data;
}

START_TEST(escapes)
{
    lt_buf b;
    lt_buf_init(&b);
    ck_assert_str_eq(json("/index.html", 11, &b), "\"/index.html\"");
    ck_assert_str_eq(json("a\"b\\c", 5, &b), "\"a\\\"b\\\\c\"");
    ck_assert_str_eq(json("\n\t\r\b\f", 5, &b), "\"\\n\\t\\r\\b\\f\"");
    ck_assert_str_eq(json("\0\x01\x1f\x7f", 4, &b), "\"\\u0000\\u0001\\u001f\\u007f\"");
    /* Valid UTF-8 passes unchanged: 2, 3 and 4-byte sequences. */
    ck_assert_str_eq(json("\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80", 9, &b),
                     "\"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\"");
    /* Invalid UTF-8 becomes the text \xHH: lone continuation, overlong
     * forms, a surrogate, past U+10FFFF, a truncated sequence. */
    ck_assert_str_eq(json("\x80", 1, &b), "\"\\\\x80\"");
    ck_assert_str_eq(json("\xc0\xaf", 2, &b), "\"\\\\xc0\\\\xaf\"");
    ck_assert_str_eq(json("\xe0\x80\xaf", 3, &b), "\"\\\\xe0\\\\x80\\\\xaf\"");
    ck_assert_str_eq(json("\xed\xa0\x80", 3, &b), "\"\\\\xed\\\\xa0\\\\x80\"");
    ck_assert_str_eq(json("\xf4\x90\x80\x80", 4, &b), "\"\\\\xf4\\\\x90\\\\x80\\\\x80\"");
    ck_assert_str_eq(json("a\xe2\x82", 3, &b), "\"a\\\\xe2\\\\x82\"");
    ck_assert_str_eq(json("\xff", 1, &b), "\"\\\\xff\"");
    lt_buf_free(&b);
}
END_TEST

/* A small JSON string checker, independent of lt_buf_json_string: the
 * output is one string literal, every escape is one JSON knows, no raw
 * control byte, and the bytes are valid UTF-8 (checked by decoding code
 * points with their ranges). */
static int valid_json_string(const unsigned char *s, size_t n)
{
    if (n < 2 || s[0] != '"' || s[n - 1] != '"')
        return 0;
    for (size_t i = 1; i < n - 1;) {
        unsigned c = s[i];
        if (c < 0x20 || c == '"')
            return 0;
        if (c == '\\') {
            if (i + 1 >= n - 1)
                return 0;
            unsigned e = s[i + 1];
            if (e == 'u') {
                if (i + 5 >= n - 1)
                    return 0;
                for (int k = 2; k < 6; k++)
                    if (!strchr("0123456789abcdefABCDEF", s[i + k]))
                        return 0;
                i += 6;
            } else if (strchr("\"\\/bfnrt", (int)e) && e != 0) {
                i += 2;
            } else {
                return 0;
            }
            continue;
        }
        if (c < 0x80) {
            i++;
            continue;
        }
        int len = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : c >= 0xc0 ? 2 : 0;
        if (len == 0 || i + (size_t)len > n - 1)
            return 0;
        uint32_t cp = c & (0x7f >> len);
        for (int k = 1; k < len; k++) {
            if ((s[i + k] & 0xc0) != 0x80)
                return 0;
            cp = cp << 6 | (s[i + k] & 0x3f);
        }
        static const uint32_t min[] = {0, 0, 0x80, 0x800, 0x10000};
        if (cp < min[len] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
            return 0;
        i += (size_t)len;
    }
    return 1;
}

START_TEST(random_bytes_stay_valid)
{
    lt_buf b;
    lt_buf_init(&b);
    uint64_t x = 42;
    unsigned char in[64];
    for (int iter = 0; iter < 200000; iter++) {
        size_t n = (size_t)(iter % 64);
        for (size_t i = 0; i < n; i++) {
            x ^= x << 13, x ^= x >> 7, x ^= x << 17;
            /* Bias towards UTF-8 lead and continuation bytes. */
            in[i] = (unsigned char)((x >> 8) % 4 == 0 ? 0x80 | (x & 0x7f) : x);
        }
        json((const char *)in, n, &b);
        if (!valid_json_string((const unsigned char *)b.data, b.len))
            ck_abort_msg("iteration %d: invalid JSON %s", iter, b.data);
    }
    lt_buf_free(&b);
}
END_TEST

START_TEST(terminal_escaping)
{
    lt_buf b;
    lt_buf_init(&b);
    lt_buf_text_escaped(&b, "ok \xc3\xa9 \x1b[31m \xc2\x9b" "2J \xff", 18);
    ck_assert_str_eq(b.data, "ok \xc3\xa9 \\x1b[31m \\xc2\\x9b2J \\xff");
    lt_buf_free(&b);
}
END_TEST

START_TEST(growth_and_printf)
{
    lt_buf b;
    lt_buf_init(&b);
    for (int i = 0; i < 100000; i++)
        lt_buf_printf(&b, "%d,", i);
    ck_assert(!lt_buf_failed(&b));
    ck_assert_uint_eq(strlen(b.data), b.len);
    ck_assert(strncmp(b.data, "0,1,2,", 6) == 0);
    ck_assert(strcmp(b.data + b.len - 6, "99999,") == 0);
    /* A formatted piece longer than printf's stack buffer. */
    lt_buf_reset(&b);
    char big[1000];
    memset(big, 'z', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    lt_buf_printf(&b, "<%s>", big);
    ck_assert_uint_eq(b.len, 1001);
    ck_assert_int_eq(b.data[1000], '>');
    lt_buf_free(&b);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("buf");
    TCase *tc = tcase_create("buf");
    tcase_add_test(tc, escapes);
    tcase_add_test(tc, random_bytes_stay_valid);
    tcase_add_test(tc, growth_and_printf);
    tcase_add_test(tc, terminal_escaping);
    suite_add_tcase(s, tc);
    return lt_test_run(s);
}
