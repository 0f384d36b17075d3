/* scan.h -- reading a file's lines through a sliding mmap window. */
#ifndef LT_SCAN_H
#define LT_SCAN_H

#include <stddef.h>
#include <stdint.h>

/* Bytes mapped at a time.  Larger than LT_LINE_MAX plus a page, so any line
 * a parser accepts fits in one window. */
#define LT_SCAN_WINDOW (8u << 20)
/* Bytes of an overlong line passed on as its sample. */
#define LT_SCAN_HEAD 256

/* Called for each line, without its '\n'.  When overlong is set the line is
 * longer than LT_LINE_MAX and line holds only its first len <= LT_SCAN_HEAD
 * bytes.  The bytes are valid only during the call.  A non-zero return
 * stops the scan and is returned by lt_scan_fd(). */
typedef int (*lt_line_fn)(void *arg, const char *line, size_t len, int overlong);

/* A line handed over in a batch (see lt_scan_fd_lines()): len bytes at
 * text, without the '\n'.  When overlong is set the line is longer than
 * LT_LINE_MAX and text holds only its first len <= LT_SCAN_HEAD bytes. */
typedef struct lt_line {
    const char *text;
    size_t len;
    int overlong;
} lt_line;

/* The most lines lt_scan_fd_lines() hands over at once: enough for a
 * counter to overlap the table lookups of neighbouring lines (see
 * lt_tally_lines()), few enough that their records stay in L1. */
#define LT_SCAN_BATCH 16

/* Called with n consecutive lines (1 <= n <= LT_SCAN_BATCH), in file
 * order.  The bytes are valid only during the call.  A non-zero return
 * stops the scan after these lines and is returned by lt_scan_fd_lines(). */
typedef int (*lt_lines_fn)(void *arg, const lt_line *lines, size_t n);

/* Where a scan of one file stands; start a new file with all zeros. */
typedef struct lt_scan_pos {
    uint64_t offset;    /* the first byte not yet consumed */
    int skipping;       /* inside an overlong line already reported */
} lt_scan_pos;

/* Reads the lines of fd from pos->offset up to byte `to` (the file's size,
 * or the start of the next worker's range), calling fn for each, and
 * advances pos past the last complete line.  Bytes after the last '\n' are
 * a line only when final is set (end of a file read once); otherwise they
 * wait for their '\n' (a file being followed).  Returns 0, fn's non-zero
 * value, or a negative errno with a message in err naming the operation. */
int lt_scan_fd(int fd, lt_scan_pos *pos, uint64_t to, int final, lt_line_fn fn, void *arg,
               char *err, size_t errlen);

/* lt_scan_fd() handing lines over in batches of up to LT_SCAN_BATCH, every
 * batch from one mapped window (a batch ends early at a window's end). */
int lt_scan_fd_lines(int fd, lt_scan_pos *pos, uint64_t to, int final, lt_lines_fn fn, void *arg,
                     char *err, size_t errlen);

/* Sets *out to the byte after the first '\n' at or after off in fd, or to
 * size when there is none before it: where a reader that starts at a
 * nominal offset finds its first whole line.  Two readers given the same
 * off agree, so ranges cut this way meet without a gap or an overlap.
 * Returns 0 or a negative errno. */
int lt_scan_line_start(int fd, uint64_t off, uint64_t size, uint64_t *out);

#endif
