/* sanitize.h - the one sanitiser for text read from logs.
 *
 * Every string that comes from a log (or anything else untrusted) passes
 * through here before it is drawn, exported or printed to a terminal, so a
 * log's text can never drive the user's terminal or reorder what is shown.
 *
 * Escaped, never passed through raw:
 *  - C0 controls U+0000-U+001F and DEL U+007F;
 *  - C1 controls U+0080-U+009F (encoded in UTF-8, e.g. C2 9B = CSI);
 *  - bidirectional controls U+061C, U+200E, U+200F, U+202A-U+202E,
 *    U+2066-U+2069, and the line/paragraph separators U+2028, U+2029;
 *  - bytes that are not valid UTF-8 (a lone 0x9B, overlong forms,
 *    surrogates, code points above U+10FFFF, cut-off sequences).
 *
 * How each is written, by mode:
 *                  SAN_SCREEN / SAN_ASCII      SAN_JSON
 *   TAB LF CR      \t \n \r                    \u0009 \u000a \u000d
 *   other C0, DEL  \x1b  \x7f                  \u001b \u007f
 *   C1, bidi       <U+009B> <U+202E>           \u009b \u202e
 *   invalid byte   \x9b                        \u009b (read as Latin-1)
 *   " and \        as is                       \" \\
 * SAN_ASCII also writes every other non-ASCII character as <U+XXXX> (for a
 * terminal whose locale is not UTF-8). A backslash is left as is on screen
 * so Windows paths stay readable; "\x1b" in a log thus looks like an escaped
 * ESC, which is harmless. CSV and TSV use the screen form (export.c).
 *
 * The result is always valid UTF-8 without control characters. */
#ifndef DW_SANITIZE_H
#define DW_SANITIZE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

typedef enum san_mode {
	SAN_SCREEN, /* for the terminal, CSV and TSV */
	SAN_ASCII,  /* like SAN_SCREEN, and all non-ASCII as <U+XXXX> */
	SAN_JSON,   /* the inside of a JSON string (no quotes added) */
} san_mode;

/* Writes the sanitised form of s[0..len) into out (s need not be
 * NUL-terminated and may hold NUL bytes). Like snprintf: returns the length
 * the full result needs (without the NUL) and, when cap > 0, always
 * NUL-terminates. When cap is too small, the output stops before the first
 * escape or character that does not fit whole, so it is never cut inside an
 * escape or a UTF-8 sequence. out may be NULL when cap is 0. */
size_t san_text(char *out, size_t cap, const char *s, size_t len, san_mode mode);

/* Same, written to f. Returns 0, or EOF on a write error (errno set). */
int san_fputs(FILE *f, const char *s, size_t len, san_mode mode);

/* True when s[0..len) needs no escaping in mode (the fast path: the text
 * can be used as is). */
bool san_is_clean(const char *s, size_t len, san_mode mode);

/* Terminal columns taken by s[0..len), which should be sanitised text
 * (valid UTF-8). Uses wcwidth(), so the program must have called
 * setlocale(LC_CTYPE, "") with a UTF-8 locale; combining marks count 0,
 * East Asian wide characters 2, anything wcwidth() does not know 1. */
size_t san_width(const char *s, size_t len);

/* The number of bytes of the longest prefix of s[0..len) made of whole
 * characters that fits in cols columns; *width (may be NULL) receives the
 * columns that prefix takes. For clipping sanitised text to a column. */
size_t san_fit(const char *s, size_t len, size_t cols, size_t *width);

#endif
