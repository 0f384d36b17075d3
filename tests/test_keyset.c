/* test_keyset.c -- Check suite for lib/keyset.c. */
#include <check.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "keyset.h"
#include "lt_test.h"

START_TEST(binary_keys)
{
    lt_keyset *s = lt_keyset_new();
    ck_assert_int_eq(lt_keyset_add(s, "", 0), 1);
    ck_assert_int_eq(lt_keyset_add(s, "", 0), 0);
    ck_assert_int_eq(lt_keyset_add(s, "a\0b", 3), 1);
    ck_assert_int_eq(lt_keyset_add(s, "a\0c", 3), 1);
    ck_assert_int_eq(lt_keyset_add(s, "a", 1), 1);
    ck_assert_int_eq(lt_keyset_add(s, "a\0b", 3), 0);
    ck_assert_uint_eq(lt_keyset_size(s), 4);
    ck_assert(lt_keyset_contains(s, "a\0c", 3));
    ck_assert(!lt_keyset_contains(s, "a\0", 2));
    /* A key larger than a chunk gets a chunk of its own. */
    size_t big = 200 * 1024;
    char *k = malloc(big);
    memset(k, 0xff, big);
    ck_assert_int_eq(lt_keyset_add(s, k, big), 1);
    ck_assert_int_eq(lt_keyset_add(s, k, big), 0);
    k[big - 1] = 0;
    ck_assert_int_eq(lt_keyset_add(s, k, big), 1);
    free(k);
    lt_keyset_free(s);
    lt_keyset_free(NULL);
}
END_TEST

struct walk {
    uint64_t n;
    int ordered;
};

static int check_order(const void *key, size_t len, void *arg)
{
    struct walk *w = arg;
    char want[32];
    int n = snprintf(want, sizeof(want), "host-%llu.example", (unsigned long long)w->n);
    if ((size_t)n != len || memcmp(key, want, len) != 0)
        w->ordered = 0;
    w->n++;
    return 0;
}

START_TEST(many_and_insertion_order)
{
    lt_keyset *s = lt_keyset_new();
    char key[32];
    for (int round = 0; round < 2; round++)
        for (unsigned i = 0; i < 300000; i++) {
            int n = snprintf(key, sizeof(key), "host-%u.example", i);
            ck_assert_int_eq(lt_keyset_add(s, key, (size_t)n), round == 0);
        }
    ck_assert_uint_eq(lt_keyset_size(s), 300000);
    struct walk w = {0, 1};
    ck_assert_int_eq(lt_keyset_foreach(s, check_order, &w), 0);
    ck_assert_uint_eq(w.n, 300000);
    ck_assert(w.ordered);
    lt_keyset_free(s);
}
END_TEST

START_TEST(limit_and_merge)
{
    lt_keyset *s = lt_keyset_new(), *t = lt_keyset_new();
    lt_keyset_set_limit(s, 256 * 1024);
    uint8_t key[16] = {0};
    int rc;
    uint32_t i = 0;
    do {
        memcpy(key, &i, sizeof(i));
        rc = lt_keyset_add(s, key, 16);
        i++;
    } while (rc == 1);
    ck_assert_int_eq(rc, -ENOSPC);
    ck_assert_uint_le(lt_keyset_bytes(s), 256 * 1024);
    ck_assert_uint_eq(lt_keyset_size(s), i - 1);
    for (uint32_t j = 0; j < 1000; j++) {
        uint32_t v = j * 2;
        memcpy(key, &v, sizeof(v));
        lt_keyset_add(t, key, 16);
    }
    lt_keyset_set_limit(s, 0);
    ck_assert_int_eq(lt_keyset_merge(s, t), 0);
    /* t's keys 0, 2, .., 1998 are all below i - 1 already in s. */
    ck_assert_uint_eq(lt_keyset_size(s), i - 1);
    lt_keyset_free(s);
    lt_keyset_free(t);
}
END_TEST

/* A key added with its hash is the key added: the same set either way. */
START_TEST(hashed_is_plain)
{
    lt_keyset *a = lt_keyset_new(), *b = lt_keyset_new();
    char k[32];
    for (int i = 0; i < 5000; i++) {
        int n = snprintf(k, sizeof(k), "key-%d", i % 3000);
        ck_assert_int_eq(lt_keyset_add_hashed(a, k, (size_t)n, lt_keyset_hash(k, (size_t)n)),
                         lt_keyset_add(b, k, (size_t)n));
    }
    ck_assert_uint_eq(lt_keyset_size(a), 3000);
    for (int i = 0; i < 3000; i++) {
        int n = snprintf(k, sizeof(k), "key-%d", i);
        ck_assert(lt_keyset_contains(a, k, (size_t)n));
    }
    lt_keyset_free(a);
    lt_keyset_free(b);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("keyset");
    TCase *tc = tcase_create("keyset");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, binary_keys);
    tcase_add_test(tc, many_and_insertion_order);
    tcase_add_test(tc, limit_and_merge);
    tcase_add_test(tc, hashed_is_plain);
    suite_add_tcase(s, tc);
    return lt_test_run(s);
}
