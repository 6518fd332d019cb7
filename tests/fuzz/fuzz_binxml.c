/* fuzz_binxml.c - our own BinXML reader (the EVTX fast path) over one
 * chunk image: every record found is parsed and each event checked. The
 * input is the chunk; any length must be safe.
 *
 * For a whole chunk (64 KiB) the harness is also differential, holding the
 * fast path to its header: a record it accepts must equal, field for
 * field, what libevtx + xmlev_doc_parse() make of it (as src_evtx.c reads
 * records); when they differ the fast path guessed, which it must never do.
 * Records libevtx cannot read are not compared. */
#include "bfio_mem.h" /* first: it enables libevtx's libbfio API */

#include <libevtx.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "binxml.h"
#include "evdiff.h"
#include "fuzz.h"
#include "xmlev.h"

#define IMG_SIZE (EVTX_FILE_HEADER_SIZE + EVTX_CHUNK_SIZE)

/* What libevtx + xmlev made of the record at a chunk offset. */
typedef struct ref_ev {
	uint32_t off;
	event ev;
} ref_ev;

typedef struct reference {
	ref_ev r[EVTX_CHUNK_MAX_RECORDS];
	size_t n;
} reference;

/* Reads the chunk with libevtx through an in-memory image, keeping the
 * records it renders and xmlev parses. */
static void read_reference(const uint8_t *chunk, reference *out)
{
	static uint8_t *img;
	static libbfio_handle_t *bfio;
	static libevtx_file_t *lf;
	static xmlev_doc *xd;
	static char *xml;
	static size_t cap;
	if (!img) {
		img = calloc(1, IMG_SIZE);
		FUZZ_CHECK(img != NULL);
		evtx_file_header_make(img, 0);
		bfio = bfio_mem_create(img, IMG_SIZE);
		xd = xmlev_doc_create();
		FUZZ_CHECK(bfio && xd && libevtx_file_initialize(&lf, NULL) == 1);
	}
	memcpy(img + EVTX_FILE_HEADER_SIZE, chunk, EVTX_CHUNK_SIZE);
	out->n = 0;
	if (libevtx_file_open_file_io_handle(lf, bfio, LIBEVTX_OPEN_READ, NULL) != 1)
		return;
	int n = 0;
	if (libevtx_file_get_number_of_records(lf, &n, NULL) != 1)
		n = 0;
	for (int i = 0; i < n && out->n < EVTX_CHUNK_MAX_RECORDS; i++) {
		libevtx_record_t *rec = NULL;
		if (libevtx_file_get_record_by_index(lf, i, &rec, NULL) != 1)
			continue;
		uint64_t id = 0;
		off64_t off = 0;
		size_t need = 0;
		libevtx_record_get_identifier(rec, &id, NULL);
		if (libevtx_record_get_offset(rec, &off, NULL) == 1 &&
		    off >= EVTX_FILE_HEADER_SIZE &&
		    libevtx_record_get_utf8_xml_string_size(rec, &need, NULL) == 1 && need > 0) {
			if (need > cap) {
				char *x = realloc(xml, need);
				FUZZ_CHECK(x != NULL);
				xml = x;
				cap = need;
			}
			ref_ev *r = &out->r[out->n];
			dw_err err;
			if (libevtx_record_get_utf8_xml_string(rec, (uint8_t *)xml, need, NULL) == 1 &&
			    xmlev_doc_parse(xd, xml, strnlen(xml, need), &r->ev, &err) == DW_OK) {
				event_default_record_id(&r->ev, id); /* as src_evtx.c does */
				r->off = (uint32_t)(off - EVTX_FILE_HEADER_SIZE);
				out->n++;
			}
		}
		libevtx_record_free(&rec, NULL);
	}
	libevtx_file_close(lf, NULL);
}

/* Prints the first difference; true when equal. */
static bool same_event(const event *a, const event *b, uint32_t off)
{
	char why[1024];
	if (evdiff(a, b, why, sizeof why))
		return true;
	fprintf(stderr, "chunk offset %u: fast path vs libevtx: %s\n", off, why);
	return false;
}

typedef struct bx_ctx {
	size_t len;
	size_t ok;
	const reference *ref; /* NULL: not differential */
} bx_ctx;

static void on_record(void *arg, const evtx_rec_ref *rr, dw_status st,
                      event_builder *b, const dw_err *err)
{
	bx_ctx *c = arg;
	FUZZ_CHECK(rr->off < c->len && rr->size <= c->len - rr->off);
	if (st != DW_OK) {
		FUZZ_CHECK(st == DW_FORMAT || st == DW_CORRUPT || st == DW_NOMEM);
		FUZZ_CHECK(err == NULL || memchr(err->msg, '\0', sizeof err->msg));
		return;
	}
	event ev;
	if (evb_finish(b, &ev) != DW_OK)
		return;
	FUZZ_CHECK(ev.record_id != 0);
	fuzz_touch_event(&ev);
	c->ok++;
	for (size_t i = 0; c->ref && i < c->ref->n; i++)
		if (c->ref->r[i].off == rr->off) {
			bool same = same_event(&ev, &c->ref->r[i].ev, rr->off);
			FUZZ_CHECK(same /* the fast path accepted a record and read it otherwise */);
			break;
		}
	event_free(&ev);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* One parser for the run, as the reader keeps one per thread: what a
	 * chunk leaves behind must not disturb the next. */
	static binxml *bx;
	static event_builder b;
	static reference ref;
	if (!bx) {
		bx = binxml_create();
		evb_init(&b);
	}
	FUZZ_CHECK(bx != NULL);
	bx_ctx c = { size, 0, NULL };
	if (size == EVTX_CHUNK_SIZE) {
		read_reference(data, &ref);
		c.ref = &ref;
	}
	size_t n = binxml_parse_chunk(bx, data, size, &b, on_record, &c);
	FUZZ_CHECK(n <= EVTX_CHUNK_MAX_RECORDS && c.ok <= n);
	for (size_t i = 0; c.ref && i < ref.n; i++)
		event_free(&ref.r[i].ev);
	return 0;
}
