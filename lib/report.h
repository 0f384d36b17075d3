/* report.h -- the human-readable forms of a summary, written into buffers. */
#ifndef LT_REPORT_H
#define LT_REPORT_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "summary.h"

/* Appends the terminal report of s.  sources names the files of malformed
 * samples (n_sources names; others print as "?"). */
void lt_report_text(lt_buf *b, const lt_summary *s, const char *const *sources,
                    size_t n_sources);

/* Formats v with thousands separators ("1,234,567") into out (>= 32
 * bytes) and returns out. */
const char *lt_report_group(uint64_t v, char *out);

/* The "Window" lines of a windowed summary (nothing for all time): the
 * range, and the buckets that answered when they are wider. */
void lt_report_window(lt_buf *b, const lt_summary *s);
/* Formats a byte count as "1.5 GiB" into out (>= 32 bytes), returns out. */
const char *lt_report_bytes(uint64_t v, char *out);

#endif
