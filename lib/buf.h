/* buf.h -- a growable byte buffer with JSON string escaping. */
#ifndef LT_BUF_H
#define LT_BUF_H

#include <stdarg.h>
#include <stddef.h>

/* Embed or declare one and lt_buf_init() it.  An allocation failure is
 * sticky: later appends do nothing and lt_buf_failed() is true, so a
 * builder can append freely and check once at the end. */
typedef struct lt_buf {
    char *data;        /* NUL-terminated when len > 0 */
    size_t len, cap;
    int failed;
} lt_buf;

void lt_buf_init(lt_buf *b);
void lt_buf_free(lt_buf *b);              /* frees data; the struct is reusable */
void lt_buf_reset(lt_buf *b);             /* len = 0, memory kept */
int lt_buf_failed(const lt_buf *b);

void lt_buf_append(lt_buf *b, const void *s, size_t n);
void lt_buf_puts(lt_buf *b, const char *s);
void lt_buf_printf(lt_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Appends n bytes as a JSON string, quotes included.  Valid UTF-8 is kept;
 * '"' and '\' are escaped; control bytes become \n, \t, ... or \u00XX; a
 * byte that is not part of valid UTF-8 becomes the five characters \\xHH
 * (which a JSON reader decodes to the text \xHH, Apache's own escape), so
 * the output is valid JSON and valid UTF-8 whatever the input. */
void lt_buf_json_string(lt_buf *b, const char *s, size_t n);

/* Appends n bytes of untrusted text for a terminal: valid UTF-8 from
 * U+0020 on is kept, except the C1 controls U+0080..U+009F; control bytes,
 * C1 controls and bytes that are not valid UTF-8 become the text \xHH, so a
 * hostile log line cannot drive the terminal. */
void lt_buf_text_escaped(lt_buf *b, const char *s, size_t n);

/* Length of the valid UTF-8 sequence at s (at most n bytes), or 0 when the
 * bytes there are not one (overlong forms, surrogates and code points past
 * U+10FFFF are not valid). */
size_t lt_utf8_sequence(const unsigned char *s, size_t n);

#endif
