/* fuzz_cut.c -- lt_cut_lines(), the cutter of every reader, on bytes
 * presented in arbitrary pieces.
 *
 * Input: a flags byte (bit 0: the last piece ends the file; bit 1: pass the
 * searched hint), then the bytes of the file, where 0xff stands for 300,000
 * 'x' (four make a line longer than LT_LINE_MAX) and 0xfe for a cut
 * between two reads.  The pieces are presented the way lt_stream_lines()
 * does: what a call left unconsumed, then the next piece, in a block of
 * exactly that size.
 *
 * Checks: the lines passed on are those of the whole file cut in one go
 * (each '\n'-terminated line, its first LT_SCAN_HEAD bytes and overlong
 * set when longer than LT_LINE_MAX; the bytes after the last '\n' when the
 * file ends, or as an overlong line once more than LT_LINE_MAX of them
 * came), in order, none twice; what a call leaves holds no '\n' and at
 * most LT_LINE_MAX bytes. */
#include <stdint.h>
#include <string.h>

#include "fuzz.h"
#include "parse.h"
#include "scan.h"

#define EXPAND 300000u
#define MAX_FILE ((size_t)8 << 20)
#define MAX_CUTS 256

typedef struct want {
    const char *text;
    size_t len;
    int overlong;
} want;

struct check {
    const want *w;
    size_t n, next;
};

static int collect(void *arg, const char *line, size_t len, int overlong)
{
    struct check *c = arg;
    FUZZ_CHECK(c->next < c->n, "line %zu passed on, only %zu expected", c->next + 1, c->n);
    const want *w = &c->w[c->next++];
    FUZZ_CHECK(len == w->len && overlong == w->overlong && memcmp(line, w->text, len) == 0,
               "line %zu: %zu bytes, overlong %d; expected %zu bytes, overlong %d", c->next,
               len, overlong, w->len, w->overlong);
    return 0;
}

static void expect(want *w, size_t *n, const char *text, size_t len, int overlong)
{
    w[(*n)++] = (want){text, overlong ? LT_SCAN_HEAD : len, overlong};
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    int ends = data[0] & 1, hint = data[0] & 2;
    size_t bytes = 0;
    for (size_t i = 1; i < size && bytes < MAX_FILE; i++)
        bytes += data[i] == 0xff ? EXPAND : data[i] != 0xfe;
    bytes = bytes < MAX_FILE ? bytes : MAX_FILE;
    char *file = malloc(bytes ? bytes : 1);
    size_t *cuts = malloc((size + 1) * sizeof(*cuts)), n = 0, ncuts = 0;
    if (file == NULL || cuts == NULL)
        abort();
    for (size_t i = 1; i < size && n < bytes; i++) {
        if (data[i] == 0xfe) {
            if (ncuts < MAX_CUTS)    /* each copies what is left: at most a line */
                cuts[ncuts++] = n;
        } else if (data[i] == 0xff) {
            size_t k = bytes - n < EXPAND ? bytes - n : EXPAND;
            memset(file + n, 'x', k);
            n += k;
        } else {
            file[n++] = (char)data[i];
        }
    }
    cuts[ncuts++] = n;

    /* The lines of the whole file, cut in one go. */
    want *w = malloc((n + 1) * sizeof(*w));
    size_t nw = 0, start = 0;
    if (w == NULL)
        abort();
    for (size_t i = 0; i < n; i++)
        if (file[i] == '\n') {
            expect(w, &nw, file + start, i - start, i - start > LT_LINE_MAX);
            start = i + 1;
        }
    if (n > start && (ends || n - start > LT_LINE_MAX))
        expect(w, &nw, file + start, n - start, n - start > LT_LINE_MAX);

    /* The same file read in pieces. */
    struct check c = {w, nw, 0};
    char *left = NULL;
    size_t nleft = 0, from = 0;
    int skipping = 0;
    for (size_t k = 0; k < ncuts; k++) {
        size_t to = cuts[k] < from ? from : cuts[k];
        size_t len = nleft + (to - from);
        char *buf = malloc(len ? len : 1);
        if (buf == NULL)
            abort();
        if (nleft)
            memcpy(buf, left, nleft);
        memcpy(buf + nleft, file + from, to - from);
        free(left);
        size_t used = 0;
        int last = ends && k + 1 == ncuts;
        FUZZ_CHECK(lt_cut_lines(buf, len, hint ? nleft : 0, last, &skipping, collect, &c, &used) ==
                       0, "a cutter that was never stopped says it was");
        FUZZ_CHECK(used <= len, "consumed %zu of %zu bytes", used, len);
        nleft = len - used;
        FUZZ_CHECK(memchr(buf + used, '\n', nleft) == NULL, "a '\\n' left unconsumed");
        FUZZ_CHECK(nleft <= LT_LINE_MAX, "%zu bytes left, more than a line may hold", nleft);
        FUZZ_CHECK(!last || nleft == 0, "%zu bytes left at the end of the file", nleft);
        left = fuzz_dup(buf + used, nleft);
        free(buf);
        from = to;
    }
    FUZZ_CHECK(c.next == nw, "%zu lines passed on, %zu expected", c.next, nw);
    free(left);
    free(w);
    free(cuts);
    free(file);
    return 0;
}
