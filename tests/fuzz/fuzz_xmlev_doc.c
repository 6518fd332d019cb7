/* fuzz_xmlev_doc.c - one <Event> document (the EVTX path renders each
 * record with libevtx and parses it here). */
#include <string.h>

#include "fuzz.h"
#include "xmlev.h"

static xmlev_doc *doc;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* One parser for the whole run, as the EVTX reader keeps one per
	 * source: state left behind by a bad document must not leak into the
	 * next. */
	if (!doc)
		doc = xmlev_doc_create();
	FUZZ_CHECK(doc != NULL);
	event ev;
	memset(&ev, 0xa5, sizeof ev);
	event before = ev;
	dw_err err;
	dw_status st = xmlev_doc_parse(doc, (const char *)data, size, &ev, &err);
	if (st == DW_OK) {
		fuzz_touch_event(&ev);
		event_free(&ev);
	} else {
		/* "On failure *out is untouched and err says why." */
		FUZZ_CHECK(memcmp(&ev, &before, sizeof ev) == 0);
		FUZZ_CHECK(err.status == st && memchr(err.msg, '\0', sizeof err.msg));
	}
	return 0;
}
