/* xmlev.h - Windows event XML to events, on expat.
 *
 * Two entry points share one set of expat handlers:
 *  - xmlev_doc: one complete <Event> document at a time (EVTX records
 *    rendered by libevtx, tests);
 *  - the stream reader in src_xml.c, which feeds arbitrary streams of
 *    events and resynchronises after broken ones.
 * DOCTYPE and entity declarations are refused (no expansion, no external
 * entity is ever opened); nesting depth and field size are bounded. */
#ifndef DW_XMLEV_H
#define DW_XMLEV_H

#include <stddef.h>
#include <stdint.h>

#include "event.h"
#include "status.h"

typedef struct xmlev_doc xmlev_doc;

/* NULL when memory is short. */
xmlev_doc *xmlev_doc_create(void);
void xmlev_doc_destroy(xmlev_doc *d);

/* Parses one complete <Event> document (UTF-8, optionally with an XML
 * declaration) into *out, which the caller then owns (event_free()).
 * On failure *out is untouched and err says why (with the byte offset).
 * The document is XML as libevtx writes it: the C0 control characters XML
 * forbids (U+0001-U+001F except TAB, LF, CR), which libevtx copies from a
 * record as they are, are read as what they are, so values keep them
 * exactly (the stream reader, for XML files, refuses them as XML does). */
dw_status xmlev_doc_parse(xmlev_doc *d, const char *xml, size_t len,
                          event *out, dw_err *err);

/* Limits on untrusted input. Deeper nesting fails the event; an event whose
 * XML is larger is dropped as broken (it holds memory while it is read). */
#define XMLEV_MAX_DEPTH 64
#define XMLEV_MAX_EVENT (4u << 20)

/* The stream reader: bytes in, in pieces of any size, events out.
 *
 * Input: UTF-8, or UTF-16LE/BE (found by the BOM, or by a first '<' next to
 * a NUL byte). Everything between events is skipped: banners, blank lines,
 * <?xml ...?> declarations, an <Events> wrapper: they never reach expat.
 * Each event starts at `<Event` followed by a blank, '>' or '/', and its
 * bytes, and only those, go to expat until its element closes (one parser
 * reads the events in turn, reset after an error). A broken event is
 * reported and reading resumes at the point where it broke (the start of a
 * following <Event> when it was never closed), so the next valid event is
 * not lost. An event cut inside a comment, CDATA section or processing
 * instruction hides what follows until that ends. A DOCTYPE or ENTITY declaration between events is reported
 * and skipped; its entities are never defined, so events using them break. */
typedef struct xmlev_stream xmlev_stream;

typedef struct xmlev_stream_cb {
	/* An event was read: the callee takes over *ev (including ev->data). */
	void (*event)(void *ctx, event *ev);
	/* Something was dropped at input byte offset `offset` (counted from the
	 * first byte given, BOM included): a broken event (DW_PARSE; record_id
	 * is its EventRecordID if read before the fault, else 0) or a refused
	 * declaration (DW_REFUSED, record_id 0). why is valid during the call. */
	void (*problem)(void *ctx, dw_status st, uint64_t offset,
	                uint64_t record_id, const char *why);
} xmlev_stream_cb;

/* NULL when memory is short. cb is copied; ctx is passed to it. */
xmlev_stream *xmlev_stream_create(const xmlev_stream_cb *cb, void *ctx);
void xmlev_stream_destroy(xmlev_stream *st);

/* Room for the next input bytes, to read() into directly: returns a buffer
 * of *cap >= min(want, 1 MiB) bytes, or NULL when memory is short. Valid
 * until the next call on st. */
char *xmlev_stream_buf(xmlev_stream *st, size_t want, size_t *cap);
/* n bytes were written at the start of that buffer: parses what it can,
 * calling the callbacks. */
void xmlev_stream_commit(xmlev_stream *st, size_t n);
/* Copies len bytes in and parses them (buf + commit); DW_NOMEM if short. */
dw_status xmlev_stream_feed(xmlev_stream *st, const void *data, size_t len);
/* End of input: an unfinished event is reported broken. */
void xmlev_stream_end(xmlev_stream *st);
/* Starts again with a new input at offset 0 (file truncated or replaced),
 * silently dropping an unfinished event and the detected encoding. */
void xmlev_stream_reset(xmlev_stream *st);

#endif
