/* fuzz_xml.c - the XML stream reader (xmlev_stream, as src_xml.c drives
 * it): arbitrary bytes in, events and problem reports out.
 *
 * Besides the sanitizers' checks, the harness holds the reader to its
 * header: input "in pieces of any size" gives the same events and the
 * same problems (with the same offsets) as the whole input in one go, and
 * xmlev_stream_reset() really starts over (one stream serves every input). */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "xmlev.h"

/* What one pass saw: counts and a hash over everything reported. */
typedef struct pass {
	uint64_t events, problems, hash;
	bool touch; /* check each event in depth (once per input is enough) */
} pass;

static void mix(pass *p, const void *data, size_t len)
{
	const unsigned char *b = data;
	for (size_t i = 0; i < len; i++)
		p->hash = (p->hash ^ b[i]) * 0x100000001b3ull; /* FNV-1a */
}

static void on_event(void *ctx, event *ev)
{
	pass *p = ctx;
	if (p->touch)
		fuzz_touch_event(ev);
	p->events++;
	uint64_t head[4] = { ev->record_id, ev->filetime, ev->event_id, ev->flags };
	mix(p, head, sizeof head);
	mix(p, ev->data, ev->data_len);
	event_free(ev);
}

static void on_problem(void *ctx, dw_status st, uint64_t offset, uint64_t record_id,
                       const char *why)
{
	pass *p = ctx;
	FUZZ_CHECK(st == DW_PARSE || st == DW_REFUSED);
	FUZZ_CHECK(why != NULL && strlen(why) < 4096);
	p->problems++;
	uint64_t v[3] = { (uint64_t)st, offset, record_id };
	mix(p, v, sizeof v);
}

static const xmlev_stream_cb callbacks = { on_event, on_problem };

/* Feeds data in pieces of 1, 2, 3 ... step bytes (cycling), through the
 * buf/commit interface the source uses. */
static void feed_pieces(xmlev_stream *st, const uint8_t *data, size_t size, size_t step)
{
	size_t k = 1;
	for (size_t off = 0; off < size;) {
		size_t want = size - off < k ? size - off : k;
		size_t cap;
		char *b = xmlev_stream_buf(st, want, &cap);
		FUZZ_CHECK(b != NULL && cap >= want);
		memcpy(b, data + off, want);
		xmlev_stream_commit(st, want);
		off += want;
		k = k % step + 1;
	}
	xmlev_stream_end(st);
}

static bool same(const pass *a, const pass *b)
{
	return a->events == b->events && a->problems == b->problems && a->hash == b->hash;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* One stream for the whole run, started again for every reading with
	 * xmlev_stream_reset(), as the source does when a file is truncated or
	 * replaced (and a fresh 2 MiB window per input would make the harness
	 * ten times slower). */
	static pass cur;
	static xmlev_stream *st;
	if (!st)
		st = xmlev_stream_create(&callbacks, &cur);
	FUZZ_CHECK(st != NULL);

	cur = (pass){ 0, 0, 0, true };
	xmlev_stream_reset(st);
	FUZZ_CHECK(xmlev_stream_feed(st, data, size) == DW_OK);
	xmlev_stream_end(st);
	pass whole = cur;

	cur = (pass){ 0, 0, 0, false };
	xmlev_stream_reset(st);
	feed_pieces(st, data, size, 1 + size % 17);
	FUZZ_CHECK(same(&whole, &cur));
	return 0;
}
