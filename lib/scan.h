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

/* The one cutter of every reader (mapped windows, pread buffers of
 * followed files, streams): cuts buf[0, n) into lines and passes each to
 * fn, without its '\n'; a line longer than LT_LINE_MAX as its first
 * LT_SCAN_HEAD bytes with overlong set, its rest dropped up to its '\n',
 * in this buffer or the following ones (*skipping, carried from one call
 * to the next; start a file with 0).  The bytes after the last '\n' are a
 * line when last is set (the end of a file read once), are cut short as an
 * overlong line once more than LT_LINE_MAX of them have no '\n', and are
 * otherwise left for the caller to present again with what follows.
 * buf[0, searched) is known to hold no '\n' (0 is always right; a stream
 * says how much of a partial line it searched already, so that a long line
 * arriving in small reads costs linear time).  Sets *used to the bytes
 * consumed (through the line at which fn stopped) and returns 0 or fn's
 * non-zero return. */
int lt_cut_lines(const char *buf, size_t n, size_t searched, int last, int *skipping,
                 lt_line_fn fn, void *arg, size_t *used);

/* Lines gathered for an lt_lines_fn: lt_batch_line() (an lt_line_fn, with
 * the batch as arg) keeps each and hands them over max at a time
 * (1 <= max <= LT_SCAN_BATCH); lt_batch_flush() hands over the rest, and
 * must run before the bytes the lines point at change.  Both return 0 or
 * fn's non-zero return. */
typedef struct lt_batch {
    lt_line lines[LT_SCAN_BATCH];
    size_t n, max;
    lt_lines_fn fn;
    void *arg;
} lt_batch;
int lt_batch_line(void *batch, const char *text, size_t len, int overlong);
int lt_batch_flush(lt_batch *b);

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

/* Bytes lt_scan_pread_lines() reads at a time: any line a parser accepts
 * fits in one buffer with room to spare. */
#define LT_SCAN_PREAD_BUF (2u * LT_LINE_MAX)

/* lt_scan_fd_lines() through pread() into a buffer (allocated for the
 * call) instead of a mapping, for a file that another program may truncate
 * while it is read (a followed file: touching a mapped page past a new end
 * of file raises SIGBUS).  Stops at `to`, after the buffer that brings the
 * bytes consumed to max_bytes (setting *more when bytes remain before
 * `to`), at an end of file before `to` (a truncation since, which the
 * caller's next look sees), or at a partial line waiting for its '\n'.
 * Returns 0, fn's non-zero value, or a negative errno with a message in
 * err naming the operation. */
int lt_scan_pread_lines(int fd, lt_scan_pos *pos, uint64_t to, int final, uint64_t max_bytes,
                        int *more, lt_lines_fn fn, void *arg, char *err, size_t errlen);

/* The one planner of every parallel read (lib/ingest.c's chunks, the
 * daemon's backlog parts): the size of the next piece of a range with left
 * bytes to go, for n readers: max, until a 2n-th of what is left is less,
 * then that, but never under min (nor over left).  So pieces shrink near
 * the end and the readers finish together, and n pieces planned at once
 * cover at most half of what is left. */
uint64_t lt_plan_piece(uint64_t left, uint64_t max, uint64_t min, unsigned n);

/* Sets *out to the byte after the first '\n' at or after off in fd, or to
 * size when there is none before it: where a reader that starts at a
 * nominal offset finds its first whole line.  Two readers given the same
 * off agree, so ranges cut this way meet without a gap or an overlap.
 * Returns 0 or a negative errno. */
int lt_scan_line_start(int fd, uint64_t off, uint64_t size, uint64_t *out);

#endif
