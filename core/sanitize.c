/* wcwidth() is an X/Open function. */
#define _XOPEN_SOURCE 700

#include "sanitize.h"

#include <stdint.h>
#include <string.h>
#include <wchar.h>

/* Where sanitised text goes: a bounded buffer (counting what would not fit)
 * or a stream. */
typedef struct san_sink {
	char *out;
	size_t cap;
	size_t need;  /* bytes the whole result takes */
	size_t wrote; /* bytes stored in out */
	bool full;    /* out stopped taking pieces */
	FILE *f;
	bool failed;  /* a write to f failed */
} san_sink;

/* Adds one indivisible piece (an escape, a character or a clean run, which
 * may be split only because it is made of whole characters: see put_run). */
static void put(san_sink *k, const char *p, size_t n)
{
	k->need += n;
	if (k->f) {
		if (!k->failed && fwrite(p, 1, n, k->f) != n)
			k->failed = true;
		return;
	}
	if (k->full || k->cap == 0)
		return;
	if (k->wrote + n < k->cap) {
		memcpy(k->out + k->wrote, p, n);
		k->wrote += n;
	} else {
		k->full = true;
	}
}

/* Length of the valid UTF-8 sequence at s (setting *cp), or 0 when the
 * byte at s does not start one. Rejects overlong forms, surrogates and code
 * points above U+10FFFF (RFC 3629). */
static size_t utf8_dec(const unsigned char *s, size_t len, uint32_t *cp)
{
	unsigned char c = s[0];
	if (c < 0x80) {
		*cp = c;
		return 1;
	}
	size_t n;
	unsigned char lo = 0x80, hi = 0xBF; /* range of the second byte */
	if (c >= 0xC2 && c <= 0xDF) {
		n = 2;
		*cp = c & 0x1Fu;
	} else if (c >= 0xE0 && c <= 0xEF) {
		n = 3;
		*cp = c & 0x0Fu;
		if (c == 0xE0)
			lo = 0xA0;
		else if (c == 0xED)
			hi = 0x9F;
	} else if (c >= 0xF0 && c <= 0xF4) {
		n = 4;
		*cp = c & 0x07u;
		if (c == 0xF0)
			lo = 0x90;
		else if (c == 0xF4)
			hi = 0x8F;
	} else {
		return 0;
	}
	if (len < n || s[1] < lo || s[1] > hi)
		return 0;
	for (size_t i = 1; i < n; i++) {
		if ((s[i] & 0xC0u) != 0x80u)
			return 0;
		*cp = (*cp << 6) | (s[i] & 0x3Fu);
	}
	return n;
}

/* Characters that may move the cursor, change the terminal's state or
 * reorder text on screen. */
static bool is_unsafe(uint32_t cp)
{
	return cp < 0x20 || (cp >= 0x7F && cp <= 0x9F) || cp == 0x061C ||
	       cp == 0x200E || cp == 0x200F || (cp >= 0x2028 && cp <= 0x202E) ||
	       (cp >= 0x2066 && cp <= 0x2069);
}

/* True when the character at s (valid, cp, n bytes) goes out unchanged. */
static bool is_plain(uint32_t cp, san_mode mode)
{
	if (is_unsafe(cp))
		return false;
	switch (mode) {
	case SAN_JSON:
		return cp != '"' && cp != '\\';
	case SAN_ASCII:
		return cp < 0x80;
	case SAN_SCREEN:
		break;
	}
	return true;
}

static void put_escape(san_sink *k, uint32_t cp, bool invalid_byte, san_mode mode)
{
	char buf[16];
	int n;
	if (mode == SAN_JSON) {
		if (cp == '"' || cp == '\\') {
			buf[0] = '\\';
			buf[1] = (char)cp;
			n = 2;
		} else {
			/* Everything escaped is in the BMP except what SAN_JSON
			 * never escapes, so one \u escape is enough. By hand:
			 * JSON text has many (TAB and LF in Windows' values). */
			static const char hex[] = "0123456789abcdef";
			memcpy(buf, "\\u", 2);
			for (int i = 0; i < 4; i++)
				buf[2 + i] = hex[cp >> (12 - 4 * i) & 15];
			n = 6;
		}
	} else if (cp == '\t' || cp == '\n' || cp == '\r') {
		buf[0] = '\\';
		buf[1] = cp == '\t' ? 't' : cp == '\n' ? 'n' : 'r';
		n = 2;
	} else if (invalid_byte || cp < 0x20 || cp == 0x7F) {
		n = snprintf(buf, sizeof buf, "\\x%02x", (unsigned)cp);
	} else {
		n = snprintf(buf, sizeof buf, "<U+%04X>", (unsigned)cp);
	}
	put(k, buf, (size_t)n);
}

/* Adds a run of whole characters that needs no escaping: as much of it as
 * fits, cut at a character boundary. */
static void put_run(san_sink *k, const char *s, size_t n)
{
	if (n == 0)
		return;
	if (k->f || k->full || k->cap == 0 || k->wrote + n < k->cap) {
		put(k, s, n);
		return;
	}
	size_t fit = k->cap - 1 - k->wrote;
	while (fit > 0 && ((unsigned char)s[fit] & 0xC0u) == 0x80u)
		fit--;
	put(k, s, fit);
	k->need += n - fit;
	k->full = true;
}

/* Printable ASCII the mode leaves as is: the common case, tested without
 * decoding. */
static bool plain_ascii(unsigned char c, san_mode mode)
{
	return c >= 0x20 && c < 0x7F && (mode != SAN_JSON || (c != '"' && c != '\\'));
}

#define ONES 0x0101010101010101ull
#define HIGHS 0x8080808080808080ull

/* Bytes at p[0..len) that are plain ASCII, counted 8 at a time (the common
 * case by far) then one by one: where the next byte needing a look is. */
static size_t plain_prefix(const unsigned char *p, size_t len, san_mode mode)
{
	size_t i = 0;
	for (; i + 8 <= len; i += 8) {
		uint64_t w;
		memcpy(&w, p + i, 8);
		/* high bit set in a byte when it is < 0x20, >= 0x7F, or (JSON) a
		 * quote or a backslash; exact for bytes below 0x80, and bytes
		 * from 0x80 up set it themselves */
		uint64_t bad = (w - ONES * 0x20) | (w + ONES * 0x01) | w;
		if (mode == SAN_JSON) {
			uint64_t q = w ^ (ONES * '"'), b = w ^ (ONES * '\\');
			bad |= (q - ONES) & ~q;
			bad |= (b - ONES) & ~b;
		}
		if (bad & HIGHS)
			break;
	}
	while (i < len && plain_ascii(p[i], mode))
		i++;
	return i;
}

/* One pass: runs of plain characters go out whole, the rest escaped. */
static void san_run(san_sink *k, const char *s, size_t len, san_mode mode)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0, run = 0;
	while (i < len) {
		i += plain_prefix(p + i, len - i, mode);
		if (i == len)
			break;
		uint32_t cp;
		size_t n = utf8_dec(p + i, len - i, &cp);
		if (n && is_plain(cp, mode)) {
			i += n;
			continue;
		}
		put_run(k, s + run, i - run);
		put_escape(k, n ? cp : p[i], n == 0, mode);
		i += n ? n : 1;
		run = i;
	}
	put_run(k, s + run, i - run);
}

size_t san_text(char *out, size_t cap, const char *s, size_t len, san_mode mode)
{
	san_sink k = {.out = out, .cap = cap};
	san_run(&k, s, len, mode);
	if (cap > 0)
		out[k.wrote] = '\0';
	return k.need;
}

int san_fputs(FILE *f, const char *s, size_t len, san_mode mode)
{
	san_sink k = {.f = f};
	san_run(&k, s, len, mode);
	return k.failed ? EOF : 0;
}

bool san_is_clean(const char *s, size_t len, san_mode mode)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0;
	while (i < len) {
		i += plain_prefix(p + i, len - i, mode);
		if (i == len)
			break;
		uint32_t cp;
		size_t n = utf8_dec(p + i, len - i, &cp);
		if (n == 0 || !is_plain(cp, mode))
			return false;
		i += n;
	}
	return true;
}

/* Columns of one character; unknown (wcwidth -1) counts as 1 so that the
 * layout never relies on text being narrower than it is. */
static size_t char_width(uint32_t cp)
{
	if (cp < 0x80)
		return 1;
	int w = wcwidth((wchar_t)cp);
	return w < 0 ? 1 : (size_t)w;
}

size_t san_fit(const char *s, size_t len, size_t cols, size_t *width)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0, used = 0;
	while (i < len) {
		uint32_t cp;
		size_t n = utf8_dec(p + i, len - i, &cp);
		size_t w = 1;
		if (n == 0)
			n = 1;
		else
			w = char_width(cp);
		if (used + w > cols)
			break;
		used += w;
		i += n;
	}
	if (width)
		*width = used;
	return i;
}

size_t san_width(const char *s, size_t len)
{
	size_t w;
	san_fit(s, len, SIZE_MAX, &w);
	return w;
}
