/* test_jsonscan.c -- Check suite for lib/jsonscan.c: the grammar, paths,
 * duplicates, depth, and unescaping. */
#include <check.h>
#include <errno.h>
#include <string.h>

#include "jsonscan.h"
#include "lt_test.h"

static lt_jsonscan *js;
static lt_json_value v[LT_JSONSCAN_MAX_PATHS];

static void setup(void)
{
    static const char *const paths[] = {"a", "b.c", "b.d.e", "n"};
    js = lt_jsonscan_new(paths, 4);
    ck_assert_ptr_nonnull(js);
}

static void teardown(void)
{
    lt_jsonscan_free(js);
}

static int scan(const char *s)
{
    return lt_jsonscan_line(js, s, strlen(s), v);
}

static void assert_value(int i, lt_json_type t, const char *text)
{
    ck_assert_int_eq(v[i].type, t);
    ck_assert_uint_eq(v[i].len, strlen(text));
    ck_assert_msg(memcmp(v[i].p, text, v[i].len) == 0, "value '%.*s' != '%s'", (int)v[i].len,
                  v[i].p, text);
}

START_TEST(paths_and_types)
{
    ck_assert_int_eq(scan("{\"a\":\"x\\\"y\",\"b\":{\"c\":-1.5e+3,\"d\":{\"e\":true}},\"n\":null}"), 0);
    assert_value(0, LT_JSON_STRING, "x\\\"y");
    assert_value(1, LT_JSON_NUMBER, "-1.5e+3");
    assert_value(2, LT_JSON_TRUE, "true");
    assert_value(3, LT_JSON_NULL, "null");
    /* Missing paths, a path through a non-object, arrays never descended. */
    ck_assert_int_eq(scan("{\"b\":[{\"c\":1}],\"x\":{\"a\":2}}"), 0);
    ck_assert_int_eq(v[0].type, LT_JSON_ABSENT);
    ck_assert_int_eq(v[1].type, LT_JSON_ABSENT);
    ck_assert_int_eq(scan("{\"b\":{\"c\":{\"z\":[1,2]}}}"), 0);
    assert_value(1, LT_JSON_OBJECT, "{\"z\":[1,2]}");
    /* The last duplicate wins. */
    ck_assert_int_eq(scan("{\"a\":1,\"a\":2,\"b\":{\"c\":3},\"b\":{\"d\":{\"e\":4}}}"), 0);
    assert_value(0, LT_JSON_NUMBER, "2");
    ck_assert_int_eq(v[1].type, LT_JSON_ABSENT);    /* the second b replaced the first whole */
    assert_value(2, LT_JSON_NUMBER, "4");
    ck_assert_int_eq(scan("{\"b\":{\"c\":3},\"b\":5}"), 0);
    ck_assert_int_eq(v[1].type, LT_JSON_ABSENT);
    ck_assert_int_eq(scan(" \t{ } \r\n"), 0);
}
END_TEST

START_TEST(grammar)
{
    static const char *const good[] = {
        "{}", "{\"a\":[]}", "{\"a\":[1,[2,{}],\"x\"]}", "{\"a\":0}", "{\"a\":-0.0e-0}",
        "{\"a\":\"\\u00e9\\ud83d\\ude00\\/\\b\\f\\n\\r\\t\"}", "{\"a\":\"\xff\xfe raw\"}",
        "{\"a\":\"\\udc00\"}", "{\"\":1}",
    };
    static const char *const bad[] = {
        "", " ", "[]", "1", "\"a\"", "{", "}", "{\"a\"}", "{\"a\":}", "{\"a\":1,}", "{,}",
        "{\"a\":1 \"b\":2}", "{a:1}", "{'a':1}", "{\"a\":01}", "{\"a\":1.}", "{\"a\":.5}",
        "{\"a\":-}", "{\"a\":1e}", "{\"a\":+1}", "{\"a\":tru}", "{\"a\":nul}", "{\"a\":True}",
        "{\"a\":\"\\x41\"}", "{\"a\":\"\\u12g4\"}", "{\"a\":\"\\u12\"}", "{\"a\":\"tab\there\"}",
        "{\"a\":\"open}", "{\"a\":1}}", "{\"a\":1} x", "{\"a\":[1,]}", "{\"a\":[1 2]}",
        "{\"a\":NaN}", "{\"a\":Infinity}",
    };
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
        ck_assert_msg(scan(good[i]) == 0, "'%s' refused", good[i]);
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        ck_assert_msg(scan(bad[i]) == -EINVAL, "'%s' accepted", bad[i]);
    /* A NUL byte inside a string is a raw control byte. */
    ck_assert_int_eq(lt_jsonscan_line(js, "{\"a\":\"x\0y\"}", 11, v), -EINVAL);
    /* Every prefix of a valid line is refused, none read past its end. */
    const char *line = "{\"a\":\"x\",\"b\":{\"c\":[1,2,{\"d\":null}],\"d\":{\"e\":1e5}}}";
    for (size_t n = 0; n < strlen(line); n++) {
        char *c = malloc(n + 1);
        memcpy(c, line, n);
        ck_assert_int_eq(lt_jsonscan_line(js, c, n, v), -EINVAL);
        free(c);
    }
}
END_TEST

START_TEST(depth_is_bounded)
{
    char s[4 * LT_JSONSCAN_MAX_DEPTH + 16], *p = s;
    /* LT_JSONSCAN_MAX_DEPTH levels in all (the object and its arrays) read... */
    *p++ = '{', *p++ = '"', *p++ = 'x', *p++ = '"', *p++ = ':';
    for (int i = 1; i < LT_JSONSCAN_MAX_DEPTH; i++)
        *p++ = '[';
    for (int i = 1; i < LT_JSONSCAN_MAX_DEPTH; i++)
        *p++ = ']';
    *p++ = '}';
    ck_assert_int_eq(lt_jsonscan_line(js, s, (size_t)(p - s), v), 0);
    /* ...one more does not. */
    memmove(s + 6, s + 5, (size_t)(p - s - 5));
    s[5] = '[';
    p++;
    memmove(s + (p - s) - 1, s + (p - s) - 2, 2);
    s[p - s - 2] = ']';
    p++;
    ck_assert_int_eq(lt_jsonscan_line(js, s, (size_t)(p - s), v), -EINVAL);
}
END_TEST

START_TEST(unescape)
{
    char out[32];
    const char *in = "a\\\"\\\\\\/\\n\\u00e9\\ud83d\\ude00\\udc00x";
    long n = lt_jsonscan_unescape(in, strlen(in), out, sizeof(out));
    const char want[] = "a\"\\/\n\xc3\xa9\xf0\x9f\x98\x80\xef\xbf\xbdx";
    ck_assert_int_eq(n, (long)sizeof(want) - 1);
    ck_assert_int_eq(memcmp(out, want, (size_t)n), 0);
    ck_assert_int_eq(lt_jsonscan_unescape(in, strlen(in), out, 4), -1);
}
END_TEST

START_TEST(bad_paths)
{
    static const char *const empty[] = {"a..b"};
    static const char *const lead[] = {".a"};
    ck_assert_ptr_null(lt_jsonscan_new(empty, 1));
    ck_assert_ptr_null(lt_jsonscan_new(lead, 1));
    static const char *many[LT_JSONSCAN_MAX_PATHS + 1];
    for (size_t i = 0; i <= LT_JSONSCAN_MAX_PATHS; i++)
        many[i] = "a";
    ck_assert_ptr_null(lt_jsonscan_new(many, LT_JSONSCAN_MAX_PATHS + 1));
    lt_jsonscan_free(NULL);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("jsonscan");
    TCase *tc = tcase_create("jsonscan");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, paths_and_types);
    tcase_add_test(tc, grammar);
    tcase_add_test(tc, depth_is_bounded);
    tcase_add_test(tc, unescape);
    tcase_add_test(tc, bad_paths);
    suite_add_tcase(s, tc);
    return lt_test_run(s);
}
