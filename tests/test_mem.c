/* test_mem.c -- Check suite for lib/mem.c: tables that are zeroed, faulted
 * in, and hinted for huge pages. */
#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "lt_test.h"
#include "mem.h"

#define MIB ((size_t)1 << 20)

/* Pages of [p, p + bytes) resident now (mincore). */
static size_t resident_pages(const void *p, size_t bytes)
{
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    uintptr_t start = (uintptr_t)p & ~(uintptr_t)(page - 1);
    size_t n = ((uintptr_t)p + bytes - start + page - 1) / page, in = 0;
    unsigned char *v = malloc(n);
    ck_assert_ptr_nonnull(v);
    ck_assert_int_eq(mincore((void *)start, n * page, v), 0);
    for (size_t i = 0; i < n; i++)
        in += v[i] & 1;
    free(v);
    return in;
}

/* 1 when the mapping holding addr has the huge-page hint (VmFlags "hg"). */
static int hinted(const void *addr)
{
    FILE *f = fopen("/proc/self/smaps", "r");
    char line[512];
    int inside = 0, hg = 0;
    ck_assert_ptr_nonnull(f);
    while (fgets(line, sizeof(line), f) != NULL) {
        unsigned long lo, hi;
        if (sscanf(line, "%lx-%lx ", &lo, &hi) == 2 && strchr(line, '-') < strchr(line, ' ')) {
            inside = (uintptr_t)addr >= lo && (uintptr_t)addr < hi;
        } else if (inside && strncmp(line, "VmFlags:", 8) == 0) {
            hg = strstr(line, " hg") != NULL;
            break;
        }
    }
    fclose(f);
    return hg;
}

/* 1 when this kernel takes the hint (transparent huge pages not "never"). */
static int thp_available(void)
{
    FILE *f = fopen("/sys/kernel/mm/transparent_hugepage/enabled", "r");
    char s[128] = "";
    if (f == NULL)
        return 0;
    if (fgets(s, sizeof(s), f) == NULL)
        s[0] = '\0';
    fclose(f);
    return strstr(s, "[never]") == NULL && s[0] != '\0';
}

START_TEST(tables_are_zeroed_at_every_size)
{
    const size_t sizes[] = {0, 1, 4095, 64 * 1024 - 1, 64 * 1024, 3 * MIB, 4 * MIB, 9 * MIB + 123};
    for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
        unsigned char *p = lt_mem_table(sizes[i], 1);
        ck_assert_ptr_nonnull(p);
        size_t nonzero = 0;
        for (size_t j = 0; j < sizes[i]; j++)
            nonzero += p[j] != 0;
        ck_assert_msg(nonzero == 0, "%zu bytes of %zu not zero", nonzero, sizes[i]);
        if (sizes[i] > 0)
            p[sizes[i] - 1] = 1;
        free(p);
    }
    ck_assert_ptr_null(lt_mem_table(SIZE_MAX / 2, 4));
}
END_TEST

START_TEST(a_table_is_faulted_in_by_writes)
{
    /* A fresh map from calloc has no page resident (1 of 2,048 with the
     * writes taken out of lt_mem_table); the table has them all, so no
     * probe's read maps the zero page first. */
    size_t bytes = 8 * MIB;
    unsigned char *t = lt_mem_table(bytes / 8, 8);
    ck_assert_ptr_nonnull(t);
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    ck_assert_uint_ge(resident_pages(t, bytes), bytes / page);
    free(t);
}
END_TEST

START_TEST(large_tables_ask_for_huge_pages)
{
    if (!thp_available()) {
        fprintf(stderr, "transparent huge pages are off here: the hint is not checked\n");
        return;
    }
    unsigned char *t = lt_mem_table(16 * MIB, 1);
    ck_assert_ptr_nonnull(t);
    ck_assert_msg(hinted(t + 8 * MIB), "no huge-page hint on a 16 MiB table");
    free(t);
    /* An arena grown by realloc gets the hint where it asks. */
    unsigned char *a = malloc(MIB);
    ck_assert_ptr_nonnull(a);
    unsigned char *b = realloc(a, 32 * MIB);
    ck_assert_ptr_nonnull(b);
    ck_assert_msg(!hinted(b + 16 * MIB), "hinted before being asked");
    lt_mem_hint(b, 32 * MIB);
    ck_assert_msg(hinted(b + 16 * MIB), "no huge-page hint after lt_mem_hint");
    free(b);
    /* Under 4 MiB: nothing to hint. */
    unsigned char *s = lt_mem_table(MIB, 1);
    ck_assert_ptr_nonnull(s);
    ck_assert(!hinted(s + MIB / 2));
    free(s);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("mem");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, tables_are_zeroed_at_every_size);
    tcase_add_test(tc, a_table_is_faulted_in_by_writes);
    tcase_add_test(tc, large_tables_ask_for_huge_pages);
    suite_add_tcase(s, tc);
    return lt_test_run(s);
}
