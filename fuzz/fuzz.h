/* fuzz.h -- what every fuzz target shares: a check that aborts with a
 * message (libFuzzer then saves the input), and exact-size copies of input
 * slices, so that AddressSanitizer catches a read one byte past a line. */
#ifndef LT_FUZZ_H
#define LT_FUZZ_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Aborts with file:line and a message when cond is false.  Not assert():
 * it must hold in every build type, NDEBUG or not. */
#define FUZZ_CHECK(cond, ...)                                                        \
    do {                                                                             \
        if (!(cond)) {                                                               \
            fprintf(stderr, "%s:%d: check failed: %s\n  ", __FILE__, __LINE__, #cond); \
            fprintf(stderr, __VA_ARGS__);                                            \
            fputc('\n', stderr);                                                     \
            abort();                                                                 \
        }                                                                            \
    } while (0)

/* A heap copy of n bytes in a block of exactly n bytes (one byte for n = 0,
 * never read), or abort when out of memory: reading past the slice is then
 * a heap overflow that ASan reports, where inside the fuzzer's buffer it
 * would go unnoticed. */
static inline char *fuzz_dup(const void *p, size_t n)
{
    char *c = malloc(n ? n : 1);
    if (c == NULL)
        abort();
    if (n > 0)
        memcpy(c, p, n);
    return c;
}

/* A NUL-terminated heap copy of n bytes. */
static inline char *fuzz_strndup(const void *p, size_t n)
{
    char *c = malloc(n + 1);
    if (c == NULL)
        abort();
    memcpy(c, p, n);
    c[n] = '\0';
    return c;
}

/* Prints n bytes as a C string literal on stderr, for failure messages. */
static inline void fuzz_dump(const char *label, const void *p, size_t n)
{
    const unsigned char *s = p;
    fprintf(stderr, "  %s (%zu bytes): \"", label, n);
    for (size_t i = 0; i < n && i < 400; i++) {
        if (s[i] >= 0x20 && s[i] < 0x7f && s[i] != '"' && s[i] != '\\')
            fputc(s[i], stderr);
        else
            fprintf(stderr, "\\x%02x", s[i]);
    }
    fprintf(stderr, "%s\"\n", n > 400 ? "..." : "");
}

#endif
