/* fuzz_common.c - checks shared by the harnesses (see fuzz.h). */
#define _GNU_SOURCE /* memfd_create */
#include "fuzz.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "intern.h"
#include "sanitize.h"

void fuzz_fail(const char *file, int line, const char *what)
{
	fprintf(stderr, "%s:%d: invariant broken: %s\n", file, line, what);
	abort();
}

/* Decodes one UTF-8 sequence strictly (RFC 3629), written independently of
 * sanitize.c so the two can disagree. Returns its length, 0 if invalid. */
static size_t utf8_next(const unsigned char *s, size_t len, uint32_t *cp)
{
	unsigned c = s[0];
	size_t n = c < 0x80 ? 1 : (c & 0xE0) == 0xC0 ? 2 : (c & 0xF0) == 0xE0 ? 3
	         : (c & 0xF8) == 0xF0 ? 4 : 0;
	if (n == 0 || n > len)
		return 0;
	uint32_t v = n == 1 ? c : c & (0x7Fu >> n);
	for (size_t i = 1; i < n; i++) {
		if ((s[i] & 0xC0) != 0x80)
			return 0;
		v = (v << 6) | (s[i] & 0x3Fu);
	}
	static const uint32_t min[5] = { 0, 0, 0x80, 0x800, 0x10000 };
	if (v < min[n] || v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF))
		return 0;
	*cp = v;
	return n;
}

static bool forbidden(uint32_t cp)
{
	return cp < 0x20 || (cp >= 0x7F && cp <= 0x9F) || cp == 0x061C ||
	       cp == 0x200E || cp == 0x200F || (cp >= 0x202A && cp <= 0x202E) ||
	       (cp >= 0x2066 && cp <= 0x2069) || cp == 0x2028 || cp == 0x2029;
}

void fuzz_check_clean(const char *s, size_t len)
{
	const unsigned char *u = (const unsigned char *)s;
	for (size_t i = 0; i < len;) {
		uint32_t cp = 0;
		size_t n = utf8_next(u + i, len - i, &cp);
		FUZZ_CHECK(n > 0);
		FUZZ_CHECK(!forbidden(cp));
		i += n;
	}
}

/* One string through one sanitiser mode: full result, clipped result,
 * and the clean fast path must agree with each other and with sanitize.h. */
static void check_san(const char *s, size_t len, san_mode mode)
{
	size_t need = san_text(NULL, 0, s, len, mode);
	char *full = malloc(need + 1);
	FUZZ_CHECK(full != NULL);
	FUZZ_CHECK(san_text(full, need + 1, s, len, mode) == need);
	FUZZ_CHECK(strlen(full) == need);
	fuzz_check_clean(full, need);
	if (mode == SAN_ASCII)
		for (size_t i = 0; i < need; i++)
			FUZZ_CHECK((unsigned char)full[i] < 0x80);
	if (mode == SAN_JSON)
		for (size_t i = 0; i < need; i++) {
			FUZZ_CHECK(full[i] != '"');
			if (full[i] == '\\') {
				FUZZ_CHECK(i + 1 < need);
				i++;
			}
		}
	if (san_is_clean(s, len, mode))
		FUZZ_CHECK(need == len && memcmp(full, s, len) == 0);

	/* Clipped: a prefix of the full result, never cut inside a piece. */
	size_t cap = need / 2 + 1;
	char *part = malloc(cap);
	FUZZ_CHECK(part != NULL);
	FUZZ_CHECK(san_text(part, cap, s, len, mode) == need);
	size_t plen = strlen(part);
	FUZZ_CHECK(plen < cap && memcmp(part, full, plen) == 0);
	fuzz_check_clean(part, plen);
	free(part);
	free(full);
}

void fuzz_check_string(const char *s, size_t len)
{
	check_san(s, len, SAN_SCREEN);
	check_san(s, len, SAN_ASCII);
	check_san(s, len, SAN_JSON);
}

/* The light check for parser output (fuzz_sanitize covers the sanitiser
 * in depth): the screen form is clean. */
static void check_shown(const char *s, size_t len)
{
	char small[1024];
	size_t need = san_text(small, sizeof small, s, len, SAN_SCREEN);
	char *out = need < sizeof small ? small : malloc(need + 1);
	FUZZ_CHECK(out != NULL);
	if (out != small)
		san_text(out, need + 1, s, len, SAN_SCREEN);
	FUZZ_CHECK(strlen(out) == need);
	fuzz_check_clean(out, need);
	if (out != small)
		free(out);
}

static void check_atom(uint32_t id)
{
	size_t len = 0;
	const char *s = intern_str(id, &len);
	FUZZ_CHECK(s != NULL && strlen(s) == len);
	check_shown(s, len);
}

void fuzz_touch_event(const event *ev)
{
	check_atom(ev->computer);
	check_atom(ev->channel);
	check_atom(ev->provider);
	FUZZ_CHECK(event_cost(ev) >= sizeof *ev);

	event_iter it;
	event_field f;
	event_iter_init(&it, ev);
	size_t n = 0;
	while (event_iter_next(&it, &f)) {
		FUZZ_CHECK(f.value.len <= EVENT_FIELD_MAX);
		FUZZ_CHECK(f.name.s != NULL || f.name.len == 0);
		FUZZ_CHECK(f.value.s != NULL || f.value.len == 0);
		check_shown(f.name.s ? f.name.s : "", f.name.len);
		check_shown(f.value.s ? f.value.s : "", f.value.len);
		/* Lookup by name finds a field of that name (the first one). */
		event_field g;
		FUZZ_CHECK(event_get_named(ev, f.name.s ? f.name.s : "", f.name.len, &g));
		FUZZ_CHECK(g.name.len == f.name.len);
		n++;
	}

	ev_4690 d;
	ev_handle h;
	ev_process p;
	ev_logon l;
	event_4690(ev, &d);
	event_handle(ev, &h);
	event_process(ev, &p);
	event_logon(ev, &l);
	check_shown(d.subject.user.s ? d.subject.user.s : "", d.subject.user.len);
	check_shown(p.image.s ? p.image.s : "", p.image.len);
	FUZZ_CHECK(d.src_pid.st == NUM_OK || d.src_pid.v == 0);

	char t[32];
	event_time_utc(ev->filetime, t, sizeof t);
	FUZZ_CHECK(strlen(t) < sizeof t);

	event c;
	if (event_copy(&c, ev) == DW_OK) {
		FUZZ_CHECK(c.data_len == ev->data_len && c.record_id == ev->record_id);
		FUZZ_CHECK(ev->data_len == 0 || memcmp(c.data, ev->data, ev->data_len) == 0);
		size_t m = 0;
		event_iter_init(&it, &c);
		while (event_iter_next(&it, &f))
			m++;
		FUZZ_CHECK(m == n);
		event_free(&c);
	}
}

uint64_t fuzz_drain(ring *r)
{
	event evs[64];
	uint64_t total = 0;
	size_t n;
	while ((n = ring_pop(r, evs, 64)) > 0) {
		for (size_t i = 0; i < n; i++) {
			fuzz_touch_event(&evs[i]);
			event_free(&evs[i]);
		}
		total += n;
	}
	return total;
}

void fuzz_memfd_put(int *fd, const char *name, const uint8_t *data, size_t size)
{
	/* One file for the whole run: libFuzzer calls a harness millions of
	 * times. */
	if (*fd < 0) {
		*fd = memfd_create(name, MFD_CLOEXEC);
		FUZZ_CHECK(*fd >= 0);
	}
	FUZZ_CHECK(ftruncate(*fd, 0) == 0);
	for (size_t off = 0; off < size;) {
		ssize_t n = pwrite(*fd, data + off, size - off, (off_t)off);
		FUZZ_CHECK(n > 0);
		off += (size_t)n;
	}
}

msglog *fuzz_log(void)
{
	static msglog *log;
	if (!log)
		log = msglog_create(8);
	FUZZ_CHECK(log != NULL);
	return log;
}
