/* mem.c -- memory for the large hash tables (see mem.h). */
#include "mem.h"

#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#define HUGE_BYTES ((size_t)2 << 20)
#define HINT_MIN ((size_t)4 << 20)    /* under it, the aligned part is too little */
#define TOUCH_MIN ((size_t)64 << 10)  /* under it, calloc's memory is recycled heap */

void lt_mem_hint(void *p, size_t bytes)
{
#ifdef MADV_HUGEPAGE
    if (p == NULL || bytes < HINT_MIN)
        return;
    uintptr_t start = ((uintptr_t)p + HUGE_BYTES - 1) & ~(uintptr_t)(HUGE_BYTES - 1);
    uintptr_t end = ((uintptr_t)p + bytes) & ~(uintptr_t)(HUGE_BYTES - 1);
    if (end > start)
        (void)madvise((void *)start, end - start, MADV_HUGEPAGE);    /* a hint: EINVAL is fine */
#else
    (void)p;
    (void)bytes;
#endif
}

void *lt_mem_table(size_t n, size_t size)
{
    if (size != 0 && n > SIZE_MAX / size)
        return NULL;
    size_t bytes = n * size;
    unsigned char *p = calloc(n, size);
    if (p == NULL || bytes < TOUCH_MIN)
        return p;
    lt_mem_hint(p, bytes);
    /* A zero written where calloc left zeros: the write is the point. */
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    volatile unsigned char *v = p;
    for (size_t off = 0; off < bytes; off += page)
        v[off] = 0;
    return p;
}
