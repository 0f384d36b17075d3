/* jsonscan.h -- the few fields a log needs from one JSON object, without
 * building the object.
 *
 * A scanner is compiled once from a list of dotted paths ("ts",
 * "request.remote_ip"); each line is then checked against JSON's grammar
 * (RFC 8259) and the values at those paths are returned as spans of the
 * line.  Nothing is allocated per line.  See jsonscan.c for the rules. */
#ifndef LT_JSONSCAN_H
#define LT_JSONSCAN_H

#include <stddef.h>

/* At most this many paths, each of at most LT_JSONSCAN_MAX_DEPTH names. */
#define LT_JSONSCAN_MAX_PATHS 16
/* Objects and arrays nested deeper than this make a line invalid. */
#define LT_JSONSCAN_MAX_DEPTH 64

typedef enum lt_json_type {
    LT_JSON_ABSENT = 0,   /* the path is not in the object */
    LT_JSON_STRING,       /* p, len: the bytes between the quotes, escapes undecoded */
    LT_JSON_NUMBER,       /* p, len: the number as written */
    LT_JSON_TRUE,
    LT_JSON_FALSE,
    LT_JSON_NULL,
    LT_JSON_OBJECT,       /* p, len: the whole value, braces included */
    LT_JSON_ARRAY,        /* p, len: the whole value, brackets included */
} lt_json_type;

typedef struct lt_json_value {
    lt_json_type type;
    const char *p;
    size_t len;
} lt_json_value;

typedef struct lt_jsonscan lt_jsonscan;

/* Compiles n dotted paths (n <= LT_JSONSCAN_MAX_PATHS; names may not be
 * empty).  Returns NULL when a path is invalid or memory runs out. */
lt_jsonscan *lt_jsonscan_new(const char *const *paths, size_t n);
void lt_jsonscan_free(lt_jsonscan *s);              /* NULL is a no-op */

/* Reads len bytes at line as one JSON object, optionally surrounded by
 * whitespace, and fills out[i] with the value at path i (LT_JSON_ABSENT
 * when missing; the last of duplicate keys wins).  Returns 0, or -EINVAL
 * when the bytes are not one JSON object (out is then unspecified). */
int lt_jsonscan_line(const lt_jsonscan *s, const char *line, size_t len, lt_json_value *out);

/* Decodes the escapes of a JSON string's bytes (as in an LT_JSON_STRING
 * value, so already checked) into out as UTF-8; a surrogate pair becomes
 * one code point, a lone surrogate U+FFFD.  Returns the decoded length, or
 * -1 when it does not fit cap bytes. */
long lt_jsonscan_unescape(const char *s, size_t len, char *out, size_t cap);

#endif
