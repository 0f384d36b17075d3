/* lt_test.h -- what every Check suite of this project shares. */
#ifndef LT_TEST_H
#define LT_TEST_H

#include <check.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>

/* Runs the suite and returns the process exit status: EXIT_SUCCESS when
 * every test passed. */
static inline int lt_test_run(Suite *s)
{
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

/* Sets the address-space limit to the current size plus `extra` bytes and
 * returns the previous limit, so that an allocation past it fails for real
 * (the out-of-memory paths are exercised without hooks in the library).
 * Glibc is told to serve blocks of 64 KiB or more with mmap, so freed
 * memory goes back to the system and cannot silently satisfy an allocation
 * the test expects to fail.  Restore with setrlimit(RLIMIT_AS, &old). */
static inline struct rlimit lt_test_limit_memory(size_t extra)
{
    struct rlimit old, lim;
    unsigned long pages = 0;
    FILE *f = fopen("/proc/self/statm", "r");
    ck_assert_ptr_nonnull(f);
    ck_assert_int_eq(fscanf(f, "%lu", &pages), 1);
    fclose(f);
    ck_assert_int_eq(mallopt(M_MMAP_THRESHOLD, 64 * 1024), 1);
    ck_assert_int_eq(getrlimit(RLIMIT_AS, &old), 0);
    lim = old;
    lim.rlim_cur = (rlim_t)pages * 4096 + extra;
    ck_assert_int_eq(setrlimit(RLIMIT_AS, &lim), 0);
    return old;
}

#endif
