/* fmt.h - numbers into text without snprintf, for the loops that format a
 * million values (snprintf costs about ten times more). Each writes the
 * digits ending just before end and returns where they start; the caller
 * gives at least 20 bytes (fmt_dec) or 18 (fmt_hex) before end. */
#ifndef DW_FMT_H
#define DW_FMT_H

#include <stdint.h>

/* v in decimal. */
static inline char *fmt_dec(uint64_t v, char *end)
{
	do
		*--end = (char)('0' + v % 10);
	while (v /= 10);
	return end;
}

/* v in lower-case hex with "0x", zero-padded to at least width digits. */
static inline char *fmt_hex_w(uint64_t v, char *end, unsigned width)
{
	char *d = end;
	do
		*--d = "0123456789abcdef"[v & 15];
	while ((v >>= 4) || (unsigned)(end - d) < width);
	*--d = 'x';
	*--d = '0';
	return d;
}

/* v in lower-case hex with "0x", no padding. */
static inline char *fmt_hex(uint64_t v, char *end)
{
	return fmt_hex_w(v, end, 1);
}

/* v in exactly n decimal digits, zero-padded (v < 10^n), written forwards
 * at p; returns the end. */
static inline char *fmt_fixed(char *p, uint64_t v, unsigned n)
{
	for (unsigned i = n; i-- > 0; v /= 10)
		p[i] = (char)('0' + v % 10);
	return p + n;
}

#endif
