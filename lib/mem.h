/* mem.h -- memory for the large hash tables: huge pages, faulted in by writes.
 *
 * The sets and counters (ip4set, urls, keyset) probe their tables at
 * random, so past a few MiB nearly every probe misses the TLB as well as
 * the cache, and a page walk is added to the miss.  On a kernel whose
 * transparent huge pages are "madvise" (Debian's default), a table asks
 * for them; with "never" the hint does nothing, with "always" it is
 * already so.
 *
 * A fresh table is also written once, a byte a page: calloc'd memory is
 * mapped to the shared zero page by its first read, and a probe reads
 * before it writes, so each page then took a second, copy-on-write fault
 * whose TLB flush interrupts every other core running the process.
 *
 * Measured on this project's 2-core machine, `analyze --json` of the
 * benchmark's 5 M-line logs (bench/run.sh --sweep), page-cached, medians
 * of 5 alternating runs (ranges in brackets), the same JSON:
 *
 *                          2 threads before       2 threads with this
 *   1.58 M clients         0.99 s (0.92-1.09)     0.87 s (0.79-0.92)
 *   2.85 M clients         1.17 s (1.06-1.27)     1.02 s (0.92-1.21)
 *
 * System time of the 2-thread runs halved (0.37-0.43 s to 0.16-0.21 s):
 * perf had put 7 % of their cycles in those TLB flushes.  One thread is
 * unchanged (2.85 M clients, 7 runs: 1.71 s before, 1.78 s, within the
 * noise): the batches' prefetches already hide the page walks, and
 * what is gained is the faults and their flushes, 512 times fewer with
 * huge pages. */
#ifndef LT_MEM_H
#define LT_MEM_H

#include <stddef.h>

/* calloc(n, size), for a table probed at random: the same memory, freed
 * with free(), with huge pages asked for and every page written once.
 * NULL when out of memory (or when n * size overflows). */
void *lt_mem_table(size_t n, size_t size);

/* Asks for huge pages over the 2 MiB-aligned part of [p, p + bytes) (a
 * table grown by realloc; nothing is written).  No effect under 4 MiB. */
void lt_mem_hint(void *p, size_t bytes);

#endif
