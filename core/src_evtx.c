/* src_evtx.c - the EVTX reader: every record of a file, in EventRecordID
 * order, then (when following) each record the event log service adds.
 *
 * libevtx parses the records, but never the whole file: we read the file
 * header and the chunk headers ourselves (evtx_chunk.h), and hand libevtx
 * one chunk at a time as a small in-memory image (file header + chunk,
 * bfio_mem.h). That gives, with one code path for loading and tailing:
 *  - chunk order by record id (a wrapped log reads oldest first);
 *  - damage that libevtx skips silently (bad signature, CRC mismatch,
 *    records after a broken one) reported with chunk, record id, offset;
 *  - a tail step that costs one chunk, not one file (libevtx_file_open
 *    scans every chunk);
 *  - loading on every core, one libevtx object per worker thread.
 * See docs/evtx.md. */
#include "bfio_mem.h" /* first: it enables libevtx's libbfio API */

#include <libevtx.h>

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <fcntl.h>
#include <pthread.h>
#include <time.h>
#include <unistd.h>

#include "binxml.h"
#include "evtx_chunk.h"
#include "follow.h"
#include "intern.h"
#include "source_impl.h"
#include "xmlev.h"

#define IMG_SIZE (EVTX_FILE_HEADER_SIZE + EVTX_CHUNK_SIZE)
#define BATCH 256                /* events per ring_push */
#define XML_MAX (16u << 20)      /* a record rendering larger is refused */
#define RETRY_MS 5               /* re-read a chunk caught mid-write */
#define TORN_GRACE_MS 2000       /* after this an inconsistent chunk is damage */
#define IDLE_CHECK_MS 1000       /* re-check even without a notification */

/* Events parsed but not yet pushed into the ring. */
typedef struct evq {
	event *v;
	size_t n, cap;
} evq;

/* What libevtx needs to parse one chunk image. */
typedef struct parser {
	uint8_t *img; /* file header + one chunk */
	libbfio_handle_t *bfio;
	libevtx_file_t *lf;
	xmlev_doc *xd;
	char *xml;
	size_t xml_cap;
	evtx_rec_ref refs[EVTX_CHUNK_MAX_RECORDS];
	bool seen[EVTX_CHUNK_MAX_RECORDS]; /* refs[i] came out of libevtx */
	binxml *bx;             /* the fast path (binxml.h) */
	event_builder b;
	event fast[EVTX_CHUNK_MAX_RECORDS]; /* a chunk's events, by walk index */
	dw_status fast_st[EVTX_CHUNK_MAX_RECORDS]; /* DW_OK: fast[i] came from
	                                               the fast path */
} parser;

/* A chunk slot as found by the header scan. */
typedef struct slot_info {
	uint32_t slot;
	bool sane;
	uint64_t first_id, last_id;
} slot_info;

typedef struct evtx_src {
	struct source *s;
	int fd;
	parser p;
	evq q;
	uint32_t file_flags;
	/* Tail state: the chunk being written, and the highest record id
	 * handled (emitted or reported). */
	bool have_cur;
	uint32_t cur;
	uint64_t cur_first;
	uint64_t done_id;
	int64_t torn_since; /* ms; 0 = consistent */
	int read_errno;     /* the tail's last read error, reported once */
} evtx_src;

typedef enum step_result { STEP_OK, STEP_AGAIN, STEP_CLEARED } step_result;

static bool parser_init(parser *p, struct source *s);
static void parser_free(parser *p);

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static off_t slot_offset(uint32_t slot)
{
	return (off_t)EVTX_FILE_HEADER_SIZE + (off_t)slot * EVTX_CHUNK_SIZE;
}

/* ---- pushing ---- */

static void flush_q(evtx_src *x)
{
	if (!x->q.n)
		return;
	ring_push(x->s->ring, x->q.v, x->q.n);
	atomic_fetch_add(&x->s->n_read, x->q.n);
	x->q.n = 0;
}

/* Queues ev on q; the reader thread's own queue goes to the ring in
 * batches, a worker's waits for its turn (see read_parallel). */
static void emit(evtx_src *x, evq *q, event *ev)
{
	if (q->n == q->cap) {
		size_t cap = q->cap ? q->cap * 2 : BATCH;
		event *v = realloc(q->v, cap * sizeof *v);
		if (!v) {
			event_free(ev);
			atomic_fetch_add(&x->s->n_skipped, 1);
			return;
		}
		q->v = v;
		q->cap = cap;
	}
	q->v[q->n++] = *ev;
	if (q == &x->q && q->n >= BATCH)
		flush_q(x);
}

static void skipped(evtx_src *x, uint64_t n)
{
	atomic_fetch_add(&x->s->n_skipped, n);
}

/* A row that is not a record: the log was cleared or replaced. */
static void emit_marker(evtx_src *x, const char *text)
{
	event_builder b;
	evb_init(&b);
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	b.ev.filetime = (uint64_t)ts.tv_sec * 10000000u + 116444736000000000u +
	                (uint64_t)ts.tv_nsec / 100u;
	b.ev.flags = EVENT_MARKER | EVENT_HAS_TIME;
	b.ev.source = x->s->index;
	event ev;
	if (evb_add(&b, "Message", 7, text, strlen(text)) == DW_OK &&
	    evb_finish(&b, &ev) == DW_OK)
		emit(x, &x->q, &ev);
	evb_free(&b);
	flush_q(x);
	msglog_add(x->s->log, MSG_INFO, "%s: %s", x->s->path, text);
}

/* ---- one record ---- */

static const char *evtx_why(libevtx_error_t *e, char *buf, size_t cap)
{
	buf[0] = '\0';
	if (e) {
		/* the backtrace starts with the innermost reason: keep that line */
		libevtx_error_backtrace_sprint(e, buf, cap);
		libevtx_error_free(&e);
		buf[strcspn(buf, "\n")] = '\0';
	}
	return buf[0] ? buf : "unknown error";
}

/* Renders rec as XML into p->xml (NUL-terminated). */
static dw_status render_xml(parser *p, libevtx_record_t *rec, size_t *len,
                            char *why, size_t why_cap)
{
	libevtx_error_t *e = NULL;
	/* One render when the buffer is large enough (the usual case); asking
	 * the size first would render every record twice. */
	if (p->xml_cap &&
	    libevtx_record_get_utf8_xml_string(rec, (uint8_t *)p->xml, p->xml_cap,
	                                       NULL) == 1) {
		*len = strnlen(p->xml, p->xml_cap);
		return DW_OK;
	}
	size_t need = 0;
	if (libevtx_record_get_utf8_xml_string_size(rec, &need, &e) != 1) {
		evtx_why(e, why, why_cap);
		return DW_PARSE;
	}
	if (need > XML_MAX) {
		snprintf(why, why_cap, "XML rendering of %zu bytes is too large", need);
		return DW_RANGE;
	}
	if (need > p->xml_cap) {
		char *n = realloc(p->xml, need);
		if (!n) {
			snprintf(why, why_cap, "out of memory");
			return DW_NOMEM;
		}
		p->xml = n;
		p->xml_cap = need;
	}
	if (libevtx_record_get_utf8_xml_string(rec, (uint8_t *)p->xml, p->xml_cap,
	                                       &e) != 1) {
		evtx_why(e, why, why_cap);
		return DW_PARSE;
	}
	*len = strnlen(p->xml, p->xml_cap);
	return DW_OK;
}

/* A recovered record whose XML is incomplete (its template lived in
 * overwritten space) still has its header values: keep those. */
static dw_status event_from_header(libevtx_record_t *rec, uint64_t id, event *out)
{
	event_builder b;
	evb_init(&b);
	b.ev.record_id = id;
	uint64_t ft = 0;
	if (libevtx_record_get_written_time(rec, &ft, NULL) == 1) {
		b.ev.filetime = ft;
		b.ev.flags |= EVENT_HAS_TIME;
	}
	uint32_t eid = 0;
	if (libevtx_record_get_event_identifier(rec, &eid, NULL) == 1)
		b.ev.event_id = eid & 0xffffu;
	char buf[1024];
	if (libevtx_record_get_utf8_computer_name(rec, (uint8_t *)buf, sizeof buf, NULL) == 1)
		b.ev.computer = intern_put(buf, strnlen(buf, sizeof buf));
	if (libevtx_record_get_utf8_source_name(rec, (uint8_t *)buf, sizeof buf, NULL) == 1)
		b.ev.provider = intern_put(buf, strnlen(buf, sizeof buf));
	dw_status st = evb_finish(&b, out);
	evb_free(&b);
	return st;
}

static dw_status record_event(parser *p, libevtx_record_t *rec, uint64_t id,
                              bool recovered, event *out, char *why, size_t why_cap)
{
	size_t len = 0;
	dw_status st = render_xml(p, rec, &len, why, why_cap);
	if (st == DW_OK) {
		dw_err err;
		/* xmlev reads the raw control characters libevtx writes */
		st = xmlev_doc_parse(p->xd, p->xml, len, out, &err);
		if (st != DW_OK)
			snprintf(why, why_cap, "%s", err.msg);
	}
	if (st != DW_OK && recovered)
		st = event_from_header(rec, id, out);
	if (st == DW_OK)
		event_default_record_id(out, id);
	return st;
}

/* ---- one chunk ---- */

/* The walked record with this id, or -1. libevtx returns records in chunk
 * order, so *from only moves forward (and libevtx_record_get_offset() is of
 * no help: this libevtx version always returns 0). */
static int ref_find(const parser *p, size_t n, size_t *from, uint64_t id)
{
	size_t j = *from;
	while (j < n && p->refs[j].id < id)
		j++;
	if (j < n && p->refs[j].id == id) {
		*from = j + 1;
		return (int)j;
	}
	return -1;
}

static bool record_id_is(libevtx_file_t *lf, int index, uint64_t id)
{
	libevtx_record_t *rec = NULL;
	uint64_t got = 0;
	if (libevtx_file_get_record_by_index(lf, index, &rec, NULL) != 1)
		return false;
	libevtx_record_get_identifier(rec, &got, NULL);
	libevtx_record_free(&rec, NULL);
	return got == id;
}

typedef struct chunk_job {
	uint32_t slot;
	const evtx_chunk_header *h;
	uint64_t after_id; /* emit records with a larger id only */
	bool records;      /* the chunk's records */
	bool recovered;    /* records recovered from its unused space */
	bool quiet;        /* a write in progress: do not report failures */
} chunk_job;

/* A failed open leaves the file object holding the handle: every later
 * open would fail. Start afresh. */
static void parser_reset_lf(parser *p)
{
	libevtx_file_free(&p->lf, NULL);
	libbfio_handle_close(p->bfio, NULL);
	if (libevtx_file_initialize(&p->lf, NULL) != 1)
		p->lf = NULL;
}

static void record_failed(evtx_src *x, const chunk_job *job, uint64_t id, uint32_t roff,
                          const char *why)
{
	msglog_add(x->s->log, MSG_ERROR, "%s: record %" PRIu64 " (chunk %" PRIu32 ", offset %jd): %s",
	           x->s->path, id, job->slot, (intmax_t)(slot_offset(job->slot) + roff), why);
	skipped(x, 1);
}

/* libevtx 20181227 trusts the counts and sizes inside a record's BinXML: a
 * crafted template instance value count makes it read far past the record
 * and crash (docs/fuzzing.md, finding 6). A record the fast path finds
 * damaged (DW_CORRUPT: a count, size or offset out of bounds) is therefore
 * reported, never handed to libevtx. Returns the fast path's verdict, and
 * in why its reason for DW_CORRUPT. The fast path must be on the record's
 * chunk (binxml_chunk). */
static dw_status binxml_check(parser *p, const evtx_rec_ref *ref, char *why, size_t why_cap)
{
	dw_err err = { 0 };
	dw_status st = binxml_record(p->bx, ref, &p->b, &err);
	snprintf(why, why_cap, "damaged BinXML, not read: %.400s", err.msg);
	return st;
}

/* Record ri of a consistent chunk the fast path gave up on, read by libevtx
 * (open on p->lf), whose record index is the walk's index there. */
static dw_status fall_back(parser *p, size_t ri, event *ev, char *why, size_t why_cap)
{
	libevtx_record_t *rec = NULL;
	uint64_t id = 0;
	if (libevtx_file_get_record_by_index(p->lf, (int)ri, &rec, NULL) != 1 ||
	    libevtx_record_get_identifier(rec, &id, NULL) != 1 || id != p->refs[ri].id) {
		libevtx_record_free(&rec, NULL);
		snprintf(why, why_cap, "cannot be parsed");
		return DW_PARSE;
	}
	dw_status st = record_event(p, rec, id, false, ev, why, why_cap);
	libevtx_record_free(&rec, NULL);
	return st;
}

/* The fast path: a chunk whose headers and checksums are right and whose
 * records chain up to its free space is read with binxml. The rare records
 * binxml cannot read exactly (docs/performance.md, "Fallback") are read by
 * libevtx one by one, in their place, so they cost a record, not a chunk
 * (tests/unit/test_binxml.c checks the equality). Returns false, having
 * emitted nothing, when libevtx must read the whole chunk. */
static bool fast_chunk(evtx_src *x, parser *p, evq *q, const chunk_job *job,
                       size_t nref, uint32_t stop, uint64_t *top)
{
	const evtx_chunk_header *h = job->h;
	if (!p->bx || job->recovered || !h->sane || !h->header_crc_ok || !h->data_crc_ok ||
	    stop != h->free_off)
		return false;
	const uint8_t *chunk = p->img + EVTX_FILE_HEADER_SIZE;
	binxml_chunk(p->bx, chunk, EVTX_CHUNK_SIZE);
	size_t fails = 0, i0 = 0;
	while (i0 < nref && p->refs[i0].id <= job->after_id)
		i0++;
	for (size_t i = i0; i < nref; i++) {
		dw_status st = binxml_record(p->bx, &p->refs[i], &p->b, NULL);
		if (st == DW_OK)
			st = evb_finish(&p->b, &p->fast[i]);
		p->fast_st[i] = st;
		fails += st != DW_OK && st != DW_CORRUPT; /* those libevtx reads */
	}
	if (fails && libevtx_file_open_file_io_handle(p->lf, p->bfio, LIBEVTX_OPEN_READ,
	                                              NULL) != 1) {
		for (size_t i = i0; i < nref; i++)
			if (p->fast_st[i] == DW_OK)
				event_free(&p->fast[i]);
		parser_reset_lf(p);
		return false;
	}
	char why[512];
	for (size_t i = i0; i < nref; i++) {
		dw_status st = p->fast_st[i];
		if (st == DW_CORRUPT)
			st = binxml_check(p, &p->refs[i], why, sizeof why); /* for the reason */
		else if (st != DW_OK)
			st = fall_back(p, i, &p->fast[i], why, sizeof why);
		if (st != DW_OK) {
			if (job->quiet) {
				/* a write in progress: retried from here next time */
				for (size_t j = i + 1; j < nref; j++)
					if (p->fast_st[j] == DW_OK)
						event_free(&p->fast[j]);
				break;
			}
			record_failed(x, job, p->refs[i].id, p->refs[i].off, why);
		} else {
			p->fast[i].source = x->s->index;
			emit(x, q, &p->fast[i]);
		}
		*top = p->refs[i].id; /* header ids: the tail's bookkeeping */
	}
	if (fails)
		libevtx_file_close(p->lf, NULL);
	return true;
}

/* Parses the chunk now in p->img. Returns the highest record id handled
 * (emitted or reported) above job->after_id, or job->after_id. */
static uint64_t parse_chunk(evtx_src *x, parser *p, evq *q, const chunk_job *job)
{
	const char *path = x->s->path;
	const uint8_t *chunk = p->img + EVTX_FILE_HEADER_SIZE;
	off_t base = slot_offset(job->slot);
	uint64_t top = job->after_id;
	char why[512];

	uint32_t end = job->h->sane ? job->h->free_off : EVTX_CHUNK_SIZE;
	uint32_t stop;
	size_t nref = evtx_chunk_records(chunk, end, p->refs, EVTX_CHUNK_MAX_RECORDS, &stop);
	memset(p->seen, 0, nref * sizeof p->seen[0]);
	if (job->records && fast_chunk(x, p, q, job, nref, stop, &top))
		return top;

	libevtx_error_t *e = NULL;
	/* libevtx refuses a chunk whose header values are out of range (and
	 * leaks a little each time): do not ask it. */
	bool refused = job->h->sig_ok && !job->h->sane;
	if (refused)
		snprintf(why, sizeof why, "header values out of range");
	if (refused ||
	    libevtx_file_open_file_io_handle(p->lf, p->bfio, LIBEVTX_OPEN_READ, &e) != 1) {
		if (!refused)
			evtx_why(e, why, sizeof why);
		if (!refused)
			parser_reset_lf(p);
		if (job->records && !job->quiet) {
			msglog_add(x->s->log, MSG_ERROR,
			           "%s: chunk %" PRIu32 " (offset %jd): cannot be read: %s; "
			           "%zu records skipped", path, job->slot, (intmax_t)base,
			           why, nref);
			skipped(x, nref);
			if (nref && p->refs[nref - 1].id > top)
				top = p->refs[nref - 1].id;
		}
		return top;
	}

	int n = 0;
	size_t from = 0;
	if (job->records && libevtx_file_get_number_of_records(p->lf, &n, NULL) != 1)
		n = 0;
	/* libevtx parses a record when it is fetched, which is most of its
	 * cost: when following, start at the first new record (libevtx counts
	 * records in chunk order, as the walk does). */
	int i0 = 0;
	while ((size_t)i0 < nref && i0 < n && p->refs[i0].id <= job->after_id)
		i0++;
	if (i0 > 0 && !record_id_is(p->lf, i0 - 1, p->refs[i0 - 1].id))
		i0 = 0; /* libevtx disagrees with the walk: look at them all */
	for (int i = 0; i < i0; i++)
		p->seen[i] = true;
	from = (size_t)i0;
	if (p->bx)
		binxml_chunk(p->bx, chunk, EVTX_CHUNK_SIZE);
	for (int i = i0; i < n; i++) {
		/* libevtx numbers a chunk's records in chunk order, as the walk does */
		if (p->bx && (size_t)i < nref &&
		    binxml_check(p, &p->refs[i], why, sizeof why) == DW_CORRUPT) {
			p->seen[i] = true;
			if (job->quiet)
				continue; /* retried when the chunk is consistent */
			record_failed(x, job, p->refs[i].id, p->refs[i].off, why);
			if (p->refs[i].id > top)
				top = p->refs[i].id;
			continue;
		}
		libevtx_record_t *rec = NULL;
		if (libevtx_file_get_record_by_index(p->lf, i, &rec, NULL) != 1)
			continue; /* unaccounted: the walk below reports it */
		uint64_t id = 0;
		libevtx_record_get_identifier(rec, &id, NULL);
		int ri = ref_find(p, nref, &from, id);
		uint32_t roff = 0;
		if (ri >= 0) {
			p->seen[ri] = true;
			roff = p->refs[ri].off;
		}
		if (id <= job->after_id) {
			libevtx_record_free(&rec, NULL);
			continue;
		}
		event ev;
		dw_status st = record_event(p, rec, id, false, &ev, why, sizeof why);
		libevtx_record_free(&rec, NULL);
		if (st == DW_OK) {
			ev.source = x->s->index;
			emit(x, q, &ev);
		} else if (!job->quiet) {
			record_failed(x, job, id, roff, why);
		} else {
			continue; /* retried when the chunk is consistent */
		}
		if (id > top)
			top = id;
		if ((i & 63) == 63 && source_stopping(x->s))
			break;
	}

	if (job->records && !job->quiet && !source_stopping(x->s)) {
		/* Records whose headers are intact but libevtx did not return:
		 * named one by one, unless there are many (a chunk libevtx gave
		 * up on), then summed up in one message. */
		size_t unseen = 0, first_unseen = 0;
		for (size_t i = 0; i < nref; i++) {
			if (p->seen[i] || p->refs[i].id <= job->after_id)
				continue;
			if (!unseen++)
				first_unseen = i;
			if (p->refs[i].id > top)
				top = p->refs[i].id;
		}
		for (size_t i = first_unseen; unseen && unseen <= 3 && i < nref; i++) {
			if (p->seen[i] || p->refs[i].id <= job->after_id)
				continue;
			msglog_add(x->s->log, MSG_ERROR,
			           "%s: record %" PRIu64 " (chunk %" PRIu32 ", offset %jd): "
			           "cannot be parsed", path, p->refs[i].id, job->slot,
			           (intmax_t)(base + p->refs[i].off));
		}
		if (unseen > 3)
			msglog_add(x->s->log, MSG_ERROR,
			           "%s: chunk %" PRIu32 ": %zu records cannot be parsed, the "
			           "first record %" PRIu64 " at offset %jd", path, job->slot,
			           unseen, p->refs[first_unseen].id,
			           (intmax_t)(base + p->refs[first_unseen].off));
		skipped(x, unseen);
		/* The chain of records broke before the end of the used space. */
		if (stop < end && !job->h->sane)
			msglog_add(x->s->log, MSG_ERROR,
			           "%s: chunk %" PRIu32 ": unreadable from offset %jd",
			           path, job->slot, (intmax_t)(base + stop));
		if (stop < end && job->h->sane) {
			uint64_t last_ok = nref ? p->refs[nref - 1].id : job->h->first_id - 1;
			uint64_t first = last_ok + 1 > job->after_id + 1 ? last_ok + 1 : job->after_id + 1;
			uint64_t lost = job->h->sane && job->h->last_id >= first
			              ? job->h->last_id - first + 1 : 0;
			if (lost) {
				msglog_add(x->s->log, MSG_ERROR,
				           "%s: chunk %" PRIu32 ": records %" PRIu64 "-%" PRIu64
				           " unreadable from offset %jd (damaged record header)",
				           path, job->slot, first, job->h->last_id,
				           (intmax_t)(base + stop));
				skipped(x, lost);
				top = job->h->last_id;
			}
		}
	}

	/* Not checked by the fast path first, unlike the records above: what
	 * libevtx recovers from unused space is often an older record whose
	 * template has since been overwritten, which the fast path rightly
	 * calls damaged; libevtx reads it. --recover is the user's choice to
	 * trust libevtx with damaged data (docs/evtx.md). */
	int nr = 0;
	if (job->recovered && libevtx_file_get_number_of_recovered_records(p->lf, &nr, NULL) != 1)
		nr = 0;
	for (int i = 0; i < nr && !source_stopping(x->s); i++) {
		libevtx_record_t *rec = NULL;
		/* libevtx lists candidate offsets; those that are not records fail
		 * here and are not records of the log (evtxexport skips them too). */
		if (libevtx_file_get_recovered_record_by_index(p->lf, i, &rec, NULL) != 1)
			continue;
		uint64_t id = 0;
		libevtx_record_get_identifier(rec, &id, NULL);
		event ev;
		if (record_event(p, rec, id, true, &ev, why, sizeof why) == DW_OK) {
			ev.source = x->s->index;
			ev.flags |= EVENT_RECOVERED;
			emit(x, q, &ev);
		}
		libevtx_record_free(&rec, NULL);
	}
	libevtx_file_close(p->lf, NULL);
	return top;
}

/* Reads slot into p->img; false (and a zero-filled rest) on a short read. */
static bool load_chunk(int fd, parser *p, uint32_t slot, size_t *got)
{
	uint8_t *c = p->img + EVTX_FILE_HEADER_SIZE;
	ssize_t n = pread(fd, c, EVTX_CHUNK_SIZE, slot_offset(slot));
	*got = n > 0 ? (size_t)n : 0;
	if (*got < EVTX_CHUNK_SIZE)
		memset(c + *got, 0, EVTX_CHUNK_SIZE - *got);
	return *got == EVTX_CHUNK_SIZE;
}

static bool all_zero(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i])
			return false;
	return true;
}

typedef struct chunk_out {
	uint64_t first_id; /* from the chunk header */
	uint64_t top;      /* highest record id handled */
} chunk_out;

/* Reads and parses one chunk that has a chunk signature: reports what is
 * wrong with it (quietly for the newest chunk of a followed log, which may
 * be mid-write) and queues its events on q. Runs in any thread. */
static chunk_out good_chunk(evtx_src *x, parser *p, evq *q, uint32_t slot, bool newest,
                           uint32_t file_flags)
{
	struct source *s = x->s;
	size_t got;
	bool whole = load_chunk(x->fd, p, slot, &got);
	evtx_chunk_header h;
	evtx_chunk_parse(p->img + EVTX_FILE_HEADER_SIZE, EVTX_CHUNK_SIZE, &h);
	bool crc = evtx_chunk_has_crc(&h, file_flags);
	bool consistent = whole && h.sane && (!crc || (h.header_crc_ok && h.data_crc_ok));
	bool live = s->opts.follow && newest;
	if (!consistent && !live) {
		off_t off = slot_offset(slot);
		if (h.sane && crc && !h.header_crc_ok)
			msglog_add(s->log, MSG_WARN, "%s: chunk %" PRIu32 " (offset %jd): "
			           "header checksum mismatch (string or template table may be "
			           "damaged)", s->path, slot, (intmax_t)off);
		if (whole && h.sane && crc && !h.data_crc_ok)
			msglog_add(s->log, MSG_WARN, "%s: chunk %" PRIu32 " (offset %jd): "
			           "records checksum mismatch", s->path, slot, (intmax_t)off);
	}
	chunk_job job = { .slot = slot, .h = &h, .records = true,
	                  .recovered = s->opts.recover, .quiet = live && !consistent };
	chunk_out o = { h.first_id, parse_chunk(x, p, q, &job) };
	atomic_fetch_add(&s->n_bytes, got);
	return o;
}

/* The tail starts at the newest chunk. */
static void set_current(evtx_src *x, uint32_t slot, const chunk_out *o)
{
	x->have_cur = true;
	x->cur = slot;
	x->cur_first = o->first_id;
	x->done_id = o->top;
}

/* ---- loading on every core ---- */

#define PAR_MAX_WORKERS 4
#define PAR_WINDOW 8 /* chunks parsed ahead of the ring: bounds memory */

/* Worker threads for n chunks: one per online CPU (at most 4), none for a
 * small file. */
static unsigned evtx_workers(size_t n)
{
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	if (n < 4 || cpus < 2)
		return 1;
	return cpus > PAR_MAX_WORKERS ? PAR_MAX_WORKERS : (unsigned)cpus;
}

typedef struct par_slot {
	evq q;
	chunk_out out;
	bool done;
} par_slot;

typedef struct par {
	evtx_src *x;
	const slot_info *good;
	size_t n, newest;
	uint32_t file_flags;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	size_t next;     /* next chunk a worker takes */
	size_t consumed; /* chunks handed to the ring */
	bool abort;
	par_slot win[PAR_WINDOW];
} par;

typedef struct par_worker {
	par *P;
	parser p;
	pthread_t t;
	bool started;
} par_worker;

static void *par_main(void *arg)
{
	par_worker *w = arg;
	par *P = w->P;
	for (;;) {
		pthread_mutex_lock(&P->mu);
		while (!P->abort && P->next < P->n && P->next >= P->consumed + PAR_WINDOW)
			pthread_cond_wait(&P->cv, &P->mu);
		if (P->abort || P->next >= P->n) {
			pthread_mutex_unlock(&P->mu);
			return NULL;
		}
		size_t i = P->next++;
		pthread_mutex_unlock(&P->mu);
		par_slot *ps = &P->win[i % PAR_WINDOW];
		ps->out = good_chunk(P->x, &w->p, &ps->q, P->good[i].slot, i == P->newest,
		                     P->file_flags);
		pthread_mutex_lock(&P->mu);
		ps->done = true;
		pthread_cond_broadcast(&P->cv);
		pthread_mutex_unlock(&P->mu);
	}
}

/* Parses the chunks on worker threads (libevtx is the bottleneck, and one
 * libevtx file object per thread is safe) and pushes their events in
 * chunk order from the reader thread. Falls back to one thread when the
 * workers cannot be set up. */
static void read_parallel(evtx_src *x, const slot_info *good, size_t n, size_t newest,
                          uint32_t file_flags)
{
	struct source *s = x->s;
	unsigned nw = evtx_workers(n);
	par *P = calloc(1, sizeof *P);
	par_worker *w = calloc(nw, sizeof *w);
	unsigned started = 0;
	if (P && w) {
		*P = (par){ .x = x, .good = good, .n = n, .newest = newest,
		            .file_flags = file_flags };
		pthread_mutex_init(&P->mu, NULL);
		pthread_cond_init(&P->cv, NULL);
		for (unsigned k = 0; k < nw; k++) {
			w[k].P = P;
			if (!parser_init(&w[k].p, s))
				break;
			if (pthread_create(&w[k].t, NULL, par_main, &w[k]) != 0)
				break;
			w[k].started = true;
			started++;
		}
	}
	size_t i = 0;
	for (; started && i < n; i++) {
		par_slot *ps = &P->win[i % PAR_WINDOW];
		pthread_mutex_lock(&P->mu);
		while (!ps->done && !source_stopping(s)) {
			/* the stop flag is polled: workers notice it themselves */
			struct timespec ts;
			clock_gettime(CLOCK_REALTIME, &ts);
			ts.tv_nsec += 50 * 1000000L;
			if (ts.tv_nsec >= 1000000000L)
				ts.tv_sec++, ts.tv_nsec -= 1000000000L;
			pthread_cond_timedwait(&P->cv, &P->mu, &ts);
		}
		bool ok = ps->done;
		pthread_mutex_unlock(&P->mu);
		if (!ok)
			break;
		ring_push(s->ring, ps->q.v, ps->q.n);
		atomic_fetch_add(&s->n_read, ps->q.n);
		ps->q.n = 0;
		if (i == newest)
			set_current(x, good[i].slot, &ps->out);
		pthread_mutex_lock(&P->mu);
		ps->done = false;
		P->consumed = i + 1;
		pthread_cond_broadcast(&P->cv);
		pthread_mutex_unlock(&P->mu);
	}
	if (P) {
		pthread_mutex_lock(&P->mu);
		P->abort = true;
		pthread_cond_broadcast(&P->cv);
		pthread_mutex_unlock(&P->mu);
	}
	for (unsigned k = 0; w && k < nw; k++) {
		if (w[k].started)
			pthread_join(w[k].t, NULL);
		parser_free(&w[k].p);
	}
	if (P) {
		for (size_t k = 0; k < PAR_WINDOW; k++) {
			for (size_t j = 0; j < P->win[k].q.n; j++)
				event_free(&P->win[k].q.v[j]);
			free(P->win[k].q.v);
		}
		pthread_mutex_destroy(&P->mu);
		pthread_cond_destroy(&P->cv);
	}
	free(P);
	free(w);
	/* no worker at all: do it here */
	for (; !started && i < n && !source_stopping(s); i++) {
		chunk_out o = good_chunk(x, &x->p, &x->q, good[i].slot, i == newest, file_flags);
		if (i == newest)
			set_current(x, good[i].slot, &o);
	}
}

/* ---- the whole file ---- */

static int cmp_slot(const void *a, const void *b)
{
	const slot_info *x = a, *y = b;
	if (x->first_id != y->first_id)
		return x->first_id < y->first_id ? -1 : 1;
	return x->slot < y->slot ? -1 : x->slot > y->slot;
}

/* Reads every chunk in record-id order. In follow mode the newest chunk may
 * be mid-write: its failures stay quiet and the tail retries them. Sets the
 * tail state. Returns false when the file cannot be read at all. */
static bool read_all(evtx_src *x)
{
	struct source *s = x->s;
	const char *path = s->path;
	struct stat st;
	uint8_t hdr[EVTX_CHUNK_HEADER_SIZE];
	x->have_cur = false;
	x->done_id = 0;
	x->torn_since = 0;
	if (fstat(x->fd, &st) < 0 || pread(x->fd, hdr, 128, 0) != 128) {
		msglog_add(s->log, MSG_ERROR, "%s: cannot read the file header: %s",
		           path, strerror(errno ? errno : EIO));
		return false;
	}
	evtx_file_header fh;
	evtx_file_header_parse(hdr, 128, &fh);
	if (!fh.sig_ok) {
		msglog_add(s->log, MSG_ERROR, "%s: not an EVTX file (no ElfFile signature)", path);
		return false;
	}
	x->file_flags = fh.flags;
	if (!fh.crc_ok && !(fh.flags & EVTX_FILE_NO_CRC32) && !s->opts.follow)
		msglog_add(s->log, MSG_WARN, "%s: file header checksum mismatch (offset 0)", path);
	atomic_fetch_add(&s->n_bytes, EVTX_FILE_HEADER_SIZE);

	if (st.st_size < EVTX_FILE_HEADER_SIZE && !s->opts.follow)
		msglog_add(s->log, MSG_ERROR, "%s: truncated file: %jd bytes, not even a "
		           "file header", path, (intmax_t)st.st_size);
	uint64_t body = st.st_size > EVTX_FILE_HEADER_SIZE
	              ? (uint64_t)st.st_size - EVTX_FILE_HEADER_SIZE : 0;
	uint64_t nslots = body / EVTX_CHUNK_SIZE;
	uint32_t partial = (uint32_t)(body % EVTX_CHUNK_SIZE);
	if (partial) {
		msglog_add(s->log, MSG_ERROR,
		           "%s: truncated file: chunk %" PRIu64 " (offset %jd) has %" PRIu32
		           " of %u bytes", path, nslots, (intmax_t)slot_offset((uint32_t)nslots),
		           partial, EVTX_CHUNK_SIZE);
		if (partial >= EVTX_CHUNK_HEADER_SIZE)
			nslots++; /* read what it holds */
	}
	if (nslots > UINT16_MAX + 1u) /* more chunks than the format can number */
		nslots = UINT16_MAX + 1u;

	slot_info *good = malloc((nslots ? nslots : 1) * sizeof *good);
	uint32_t *bad = malloc((nslots ? nslots : 1) * sizeof *bad);
	if (!good || !bad) {
		free(good);
		free(bad);
		msglog_add(s->log, MSG_ERROR, "%s: out of memory", path);
		return false;
	}
	size_t ngood = 0, nbad = 0;
	for (uint32_t i = 0; i < nslots && !source_stopping(s); i++) {
		evtx_chunk_header h;
		ssize_t n = pread(x->fd, hdr, sizeof hdr, slot_offset(i));
		evtx_chunk_parse(hdr, n > 0 ? (size_t)n : 0, &h);
		if (h.sig_ok) {
			good[ngood++] = (slot_info){ i, h.sane, h.first_id, h.last_id };
			continue;
		}
		/* An all-zero header past the chunks in use is an unused slot
		 * of a preallocated log; elsewhere the chunk may still hold
		 * records (a wiped header). */
		if (h.empty && i >= fh.n_chunks)
			continue;
		size_t got;
		load_chunk(x->fd, &x->p, i, &got);
		if (!all_zero(x->p.img + EVTX_FILE_HEADER_SIZE, EVTX_CHUNK_SIZE))
			bad[nbad++] = i;
	}
	qsort(good, ngood, sizeof *good, cmp_slot);

	/* The newest chunk: the one the service writes into. */
	size_t newest = ngood;
	for (size_t i = 0; i < ngood; i++)
		if (good[i].sane && (newest == ngood || good[i].last_id >= good[newest].last_id))
			newest = i;

	if (evtx_workers(ngood) > 1) {
		read_parallel(x, good, ngood, newest, fh.flags);
	} else {
		for (size_t i = 0; i < ngood && !source_stopping(s); i++) {
			chunk_out o = good_chunk(x, &x->p, &x->q, good[i].slot, i == newest,
			                         fh.flags);
			if (i == newest)
				set_current(x, good[i].slot, &o);
		}
	}
	for (size_t i = 0; i < nbad && !source_stopping(s); i++) {
		uint32_t slot = bad[i];
		size_t got;
		load_chunk(x->fd, &x->p, slot, &got);
		uint32_t stop;
		size_t lost = evtx_chunk_records(x->p.img + EVTX_FILE_HEADER_SIZE,
		                                 EVTX_CHUNK_SIZE, x->p.refs,
		                                 EVTX_CHUNK_MAX_RECORDS, &stop);
		msglog_add(s->log, MSG_ERROR, "%s: chunk %" PRIu32 " (offset %jd): bad "
		           "signature; chunk skipped (%zu records)", path, slot,
		           (intmax_t)slot_offset(slot), lost);
		skipped(x, lost);
		if (s->opts.recover) {
			evtx_chunk_header h;
			evtx_chunk_parse(x->p.img + EVTX_FILE_HEADER_SIZE, EVTX_CHUNK_SIZE, &h);
			chunk_job job = { .slot = slot, .h = &h, .recovered = true };
			parse_chunk(x, &x->p, &x->q, &job);
		}
		atomic_fetch_add(&s->n_bytes, got);
	}
	free(good);
	free(bad);
	flush_q(x);
	return true;
}

/* ---- following ---- */

static bool chunk_consistent(const evtx_src *x, const evtx_chunk_header *h)
{
	return h->sig_ok && h->sane &&
	       (!evtx_chunk_has_crc(h, x->file_flags) || (h->header_crc_ok && h->data_crc_ok));
}

/* True once the file has looked inconsistent for TORN_GRACE_MS. */
static bool grace_over(evtx_src *x)
{
	int64_t now = now_ms();
	if (x->torn_since < 0)
		return true;
	if (!x->torn_since)
		x->torn_since = now;
	return now - x->torn_since >= TORN_GRACE_MS;
}

/* One look at the live file: emits the records added since the last step,
 * following the chain of chunks from the one being written. Reads the file
 * header, the current chunk and the next chunk's header: cost proportional
 * to the change, not to the file. */
static step_result tail_step(evtx_src *x)
{
	struct source *s = x->s;
	struct stat st;
	uint8_t hdr[EVTX_CHUNK_HEADER_SIZE];
	ssize_t got_hdr = fstat(x->fd, &st) < 0 ? -1 : pread(x->fd, hdr, 128, 0);
	if (got_hdr < 0 && errno != x->read_errno) {
		/* a failing disk or share: say so once, keep trying */
		x->read_errno = errno;
		msglog_add(s->log, MSG_ERROR, "%s: byte 0: read error: %s; retrying", s->path,
		           strerror(errno));
	}
	if (got_hdr != 128)
		return STEP_AGAIN;
	x->read_errno = 0;
	evtx_file_header fh;
	evtx_file_header_parse(hdr, 128, &fh);
	bool fh_ok = fh.sig_ok && (fh.crc_ok || (fh.flags & EVTX_FILE_NO_CRC32));
	if (!fh.sig_ok)
		return STEP_AGAIN;
	if (fh_ok)
		x->file_flags = fh.flags;
	uint64_t body = st.st_size > EVTX_FILE_HEADER_SIZE
	              ? (uint64_t)st.st_size - EVTX_FILE_HEADER_SIZE : 0;
	uint32_t nslots = (uint32_t)(body / EVTX_CHUNK_SIZE);
	if (nslots == 0)
		return STEP_OK;

	if (!x->have_cur) {
		/* An empty log: wait for its first chunk in slot 0. */
		x->cur = 0;
		x->cur_first = 0;
	}
	for (unsigned hops = 0; hops <= nslots; hops++) {
		if (x->cur >= nslots)
			return fh_ok ? STEP_CLEARED : STEP_AGAIN;
		size_t got;
		bool whole = load_chunk(x->fd, &x->p, x->cur, &got);
		evtx_chunk_header h;
		evtx_chunk_parse(x->p.img + EVTX_FILE_HEADER_SIZE, EVTX_CHUNK_SIZE, &h);
		if (!h.sig_ok) {
			if (!x->have_cur)
				return STEP_OK; /* still no record at all */
			/* A chunk never loses its header except by a clear: the
			 * file header says so once the clear is complete (or the
			 * header stays away). */
			if (h.empty && fh_ok && fh.next_record_id <= x->cur_first)
				return STEP_CLEARED;
			return grace_over(x) ? STEP_CLEARED : STEP_AGAIN;
		}
		if (x->have_cur && x->cur_first && h.first_id != x->cur_first &&
		    chunk_consistent(x, &h))
			return STEP_CLEARED;
		bool consistent = whole && chunk_consistent(x, &h);
		if (!consistent) {
			/* A write in progress, normally; after a grace period,
			 * damage: report it and read what parses. */
			if (!grace_over(x))
				return STEP_AGAIN;
			if (x->torn_since > 0) {
				msglog_add(s->log, MSG_WARN, "%s: chunk %" PRIu32 " (offset %jd): "
				           "checksum still mismatched after %d ms; reading what parses",
				           s->path, x->cur, (intmax_t)slot_offset(x->cur), TORN_GRACE_MS);
				x->torn_since = -1; /* reported: do not repeat */
			}
		} else {
			x->torn_since = 0;
		}
		if (!x->have_cur || h.first_id != x->cur_first) {
			x->have_cur = true;
			x->cur_first = h.first_id;
			if (x->done_id + 1 < h.first_id)
				x->done_id = h.first_id - 1;
		}
		if (h.last_id > x->done_id && h.sane) {
			chunk_job job = { .slot = x->cur, .h = &h, .after_id = x->done_id,
			                  .records = true };
			x->done_id = parse_chunk(x, &x->p, &x->q, &job);
			flush_q(x);
			atomic_fetch_add(&s->n_bytes, EVTX_CHUNK_SIZE);
		}
		/* Has the service moved on to the next slot (or wrapped)? Also
		 * after a chunk read despite damage: it must not hold the tail. */
		uint32_t next = x->cur + 1 < nslots ? x->cur + 1 : 0;
		if (next == x->cur)
			return STEP_OK;
		ssize_t n = pread(x->fd, hdr, sizeof hdr, slot_offset(next));
		evtx_chunk_header nh;
		evtx_chunk_parse(hdr, n > 0 ? (size_t)n : 0, &nh);
		if (!nh.sig_ok || nh.first_id != h.last_id + 1)
			return STEP_OK;
		if (evtx_chunk_has_crc(&nh, x->file_flags) && !nh.header_crc_ok)
			return STEP_AGAIN; /* its header is being written */
		x->cur = next;
		x->cur_first = nh.first_id;
	}
	return STEP_OK;
}

static bool reopen(evtx_src *x, follow *f)
{
	dw_err err;
	int fd = follow_reopen(f, &err);
	if (fd < 0) {
		msglog_add(x->s->log, MSG_WARN, "%s", err.msg);
		return false;
	}
	char sig[8];
	ssize_t n = pread(fd, sig, sizeof sig, 0);
	if (n != (ssize_t)sizeof sig || memcmp(sig, "ElfFile\0", 8) != 0) {
		/* Shorter: being written (copied in); follow tells when it grows. */
		if (n < 0 || n == (ssize_t)sizeof sig)
			msglog_add(x->s->log, MSG_WARN, "%s: replaced by a file that %s%s; waiting",
			           x->s->path, n < 0 ? "cannot be read: " : "is not EVTX",
			           n < 0 ? strerror(errno) : "");
		close(fd);
		return false;
	}
	close(x->s->fd);
	x->s->fd = x->fd = fd;
	follow_reset(f, fd);
	return true;
}

static void follow_loop(evtx_src *x)
{
	struct source *s = x->s;
	follow *f = NULL;
	dw_err err;
	if (follow_open(&f, s->path, x->fd, s->opts.poll_ms, s->opts.poll_only, &err) != DW_OK) {
		msglog_add(s->log, MSG_ERROR, "%s", err.msg);
		source_set_state(s, SRC_FAILED);
		return;
	}
	source_set_state(s, SRC_FOLLOWING);
	int timeout = IDLE_CHECK_MS;
	struct stat st;
	if (fstat(x->fd, &st) == 0)
		follow_seen(f, st.st_size);
	while (!source_stopping(s)) {
		follow_change ch = follow_wait(f, s->stop_pipe[0], timeout);
		if (ch == FOLLOW_STOP)
			break;
		step_result r = STEP_OK;
		if (ch == FOLLOW_REPLACED) {
			if (!reopen(x, f))
				continue;
			emit_marker(x, "log file replaced; reading the new file");
			read_all(x);
		} else if (ch == FOLLOW_TRUNCATED) {
			r = STEP_CLEARED;
		} else if (ch == FOLLOW_GONE) {
			msglog_add(s->log, MSG_WARN, "%s: file removed: waiting for it to come back",
			           s->path);
		} else {
			r = tail_step(x);
		}
		if (r == STEP_CLEARED) {
			emit_marker(x, "log cleared");
			read_all(x);
			r = tail_step(x);
		}
		timeout = r == STEP_AGAIN ? RETRY_MS : IDLE_CHECK_MS;
		/* so that a file cut shorter than what was read is noticed */
		if (fstat(x->fd, &st) == 0)
			follow_seen(f, st.st_size);
	}
	follow_close(f);
}

/* ---- input that is not a regular file ---- */

/* Copies a pipe into an unlinked temporary file, so chunks can be read
 * in any order with bounded memory. Returns the fd or -1 (reported). */
static int spool_pipe(struct source *s)
{
	const char *dir = getenv("TMPDIR");
	char tmpl[4096];
	snprintf(tmpl, sizeof tmpl, "%s/dupwatch-evtx-XXXXXX", dir && *dir ? dir : "/tmp");
	int fd = mkstemp(tmpl);
	if (fd < 0) {
		msglog_add(s->log, MSG_ERROR, "%s: cannot create a temporary file in %s: %s",
		           s->path, dir && *dir ? dir : "/tmp", strerror(errno));
		return -1;
	}
	unlink(tmpl);
	uint8_t buf[65536];
	bool ok = write(fd, s->head, s->head_len) == (ssize_t)s->head_len;
	while (ok) {
		int w = source_wait_fd(s, s->fd, -1);
		if (w < 0)
			break;
		ssize_t n = read(s->fd, buf, sizeof buf);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		ok = write(fd, buf, (size_t)n) == n;
	}
	if (!ok) {
		msglog_add(s->log, MSG_ERROR, "%s: cannot spool to a temporary file: %s",
		           s->path, strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

/* ---- setup ---- */

static bool parser_init(parser *p, struct source *s)
{
	memset(p, 0, sizeof *p);
	p->img = calloc(1, IMG_SIZE);
	if (p->img)
		evtx_file_header_make(p->img, 0);
	p->bfio = p->img ? bfio_mem_create(p->img, IMG_SIZE) : NULL;
	p->xd = xmlev_doc_create();
	p->bx = binxml_create(); /* without it, libevtx reads everything */
	evb_init(&p->b);
	p->xml_cap = 64u << 10;
	p->xml = malloc(p->xml_cap);
	if (!p->bfio || !p->xd || !p->xml ||
	    libevtx_file_initialize(&p->lf, NULL) != 1) {
		msglog_add(s->log, MSG_ERROR, "%s: out of memory", s->path);
		return false;
	}
	return true;
}

static void parser_free(parser *p)
{
	if (p->lf)
		libevtx_file_free(&p->lf, NULL);
	if (p->bfio)
		libbfio_handle_free(&p->bfio, NULL);
	xmlev_doc_destroy(p->xd);
	binxml_destroy(p->bx);
	evb_free(&p->b);
	free(p->xml);
	free(p->img);
}

static void evtx_run(struct source *s)
{
	evtx_src x = { .s = s, .fd = s->fd };
	source_set_state(s, SRC_READING);
	if (!s->regular) {
		x.fd = spool_pipe(s);
		if (x.fd < 0) {
			source_set_state(s, SRC_FAILED);
			return;
		}
	}
	bool ok = parser_init(&x.p, s) && read_all(&x);
	if (ok && s->opts.follow && s->regular && !source_stopping(s))
		follow_loop(&x);
	flush_q(&x);
	parser_free(&x.p);
	free(x.q.v);
	if (!s->regular)
		close(x.fd);
	if (!ok)
		source_set_state(s, SRC_FAILED);
}

const source_ops src_evtx_ops = { "evtx", evtx_run };
