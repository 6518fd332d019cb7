/* XML event reader: every input quirk with the exact records expected,
 * resynchronisation after broken events, refusal of DTDs and entities,
 * bounds on nesting and size, and the source reading files and FIFOs.
 * Every stream test is run whole and in 1-, 7- and 4096-byte pieces, which
 * must all give the same events and problems. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "export.h"
#include "intern.h"
#include "msglog.h"
#include "ring.h"
#include "source.h"
#include "testutil.h"
#include "xmlev.h"
#include "xmlgen.h"

/* ---- collecting what a stream gives ---- */

#define MAX_EV 256
#define MAX_PROB 16

typedef struct prob {
	dw_status st;
	uint64_t off, rec;
	char why[256];
} prob;

typedef struct got {
	event ev[MAX_EV];
	size_t n;
	prob p[MAX_PROB];
	size_t np;
} got;

static void got_event(void *ctx, event *ev)
{
	got *g = ctx;
	assert_true(g->n < MAX_EV);
	g->ev[g->n++] = *ev;
}

static void got_problem(void *ctx, dw_status st, uint64_t off, uint64_t rec, const char *why)
{
	got *g = ctx;
	assert_true(g->np < MAX_PROB);
	prob *p = &g->p[g->np++];
	p->st = st;
	p->off = off;
	p->rec = rec;
	snprintf(p->why, sizeof p->why, "%s", why);
}

static void got_free(got *g)
{
	for (size_t i = 0; i < g->n; i++)
		event_free(&g->ev[i]);
	g->n = g->np = 0;
}

static void stream_run(const void *data, size_t len, size_t piece, got *g)
{
	static const xmlev_stream_cb cb = { got_event, got_problem };
	memset(g, 0, sizeof *g);
	xmlev_stream *st = xmlev_stream_create(&cb, g);
	assert_non_null(st);
	const char *p = data;
	for (size_t off = 0; off < len; off += piece)
		assert_int_equal(xmlev_stream_feed(st, p + off, len - off < piece ? len - off : piece),
		                 DW_OK);
	xmlev_stream_end(st);
	xmlev_stream_destroy(st);
}

static void assert_same(const got *a, const got *b)
{
	assert_int_equal(a->n, b->n);
	for (size_t i = 0; i < a->n; i++) {
		const event *x = &a->ev[i], *y = &b->ev[i];
		assert_int_equal(x->record_id, y->record_id);
		assert_int_equal(x->event_id, y->event_id);
		assert_int_equal(x->filetime, y->filetime);
		assert_int_equal(x->flags, y->flags);
		assert_int_equal(x->computer, y->computer);
		assert_int_equal(x->data_len, y->data_len);
		assert_memory_equal(x->data, y->data, x->data_len);
	}
	assert_int_equal(a->np, b->np);
	for (size_t i = 0; i < a->np; i++) {
		assert_int_equal(a->p[i].st, b->p[i].st);
		assert_int_equal(a->p[i].off, b->p[i].off);
		assert_int_equal(a->p[i].rec, b->p[i].rec);
		assert_string_equal(a->p[i].why, b->p[i].why);
	}
}

/* Whole, then in pieces: the results must not depend on where reads end. */
static void stream_all(const xg_buf *in, got *g)
{
	static const size_t pieces[] = { 1, 7, 4096 };
	stream_run(in->s, in->len, in->len ? in->len : 1, g);
	for (size_t i = 0; i < sizeof pieces / sizeof pieces[0]; i++) {
		got h;
		stream_run(in->s, in->len, pieces[i], &h);
		assert_same(g, &h);
		got_free(&h);
	}
}

/* ---- checking events ---- */

static void assert_str(dw_str s, const char *want)
{
	assert_non_null(s.s);
	assert_int_equal(s.len, strlen(want));
	assert_memory_equal(s.s, want, s.len);
}

static void assert_field(const event *ev, const char *name, const char *want)
{
	event_field f;
	assert_true(event_get_named(ev, name, strlen(name), &f));
	assert_str(f.value, want);
}

static void assert_atom(uint32_t id, const char *want)
{
	size_t len;
	const char *s = intern_str(id, &len);
	assert_int_equal(len, strlen(want));
	assert_memory_equal(s, want, len);
}

static size_t n_fields(const event *ev)
{
	event_iter it;
	event_field f;
	size_t n = 0;
	event_iter_init(&it, ev);
	while (event_iter_next(&it, &f))
		n++;
	return n;
}

static void assert_time(const event *ev, const char *want)
{
	char buf[40];
	assert_true(ev->flags & EVENT_HAS_TIME);
	assert_string_equal(event_time_utc(ev->filetime, buf, sizeof buf), want);
}

/* A 4690 as xg_4690 writes it, with these numbers. */
static void assert_4690(const event *ev, uint64_t rec, uint64_t sh, uint64_t sp,
                        uint64_t th, uint64_t tp)
{
	assert_int_equal(ev->event_id, 4690);
	assert_int_equal(ev->record_id, rec);
	assert_time(ev, "2021-10-08T12:57:12.8425776Z");
	assert_true(ev->flags & EVENT_HAS_PID);
	assert_false(ev->flags & (EVENT_USERDATA | EVENT_TRUNCATED | EVENT_MARKER));
	assert_int_equal(ev->exec_pid, 4);
	assert_int_equal(ev->exec_tid, 4756);
	assert_atom(ev->provider, "Microsoft-Windows-Security-Auditing");
	assert_atom(ev->channel, "Security");
	assert_atom(ev->computer, "fs01.offsec.lan");
	assert_int_equal(n_fields(ev), 8);
	ev_4690 v;
	event_4690(ev, &v);
	assert_str(v.subject.sid, "S-1-5-21-4230534742-2542757381-3142984815-1111");
	assert_str(v.subject.user, "admmig");
	assert_str(v.subject.domain, "OFFSEC");
	assert_int_equal(v.subject.logon_id.st, NUM_OK);
	assert_int_equal(v.subject.logon_id.v, 0x65b0f5db);
	assert_int_equal(v.src_handle.st, NUM_OK);
	assert_int_equal(v.src_handle.v, sh);
	assert_int_equal(v.src_pid.st, NUM_OK);
	assert_int_equal(v.src_pid.v, sp);
	assert_int_equal(v.tgt_handle.st, NUM_OK);
	assert_int_equal(v.tgt_handle.v, th);
	assert_int_equal(v.tgt_pid.st, NUM_OK);
	assert_int_equal(v.tgt_pid.v, tp);
}

/* Record ids 1..n, source handle 0x100 + id, source pid 0x678. */
static void put_4690(xg_buf *b, unsigned long long rec, unsigned style)
{
	xg_4690 x;
	xg_4690_init(&x);
	xg_4690_set(&x, rec, 0x100 + rec, 0x678, 0x1748, 0x4);
	xg_event_xml(b, &x.ev, style);
}

static void assert_records(const got *g, size_t n, const unsigned long long *recs)
{
	assert_int_equal(g->n, n);
	for (size_t i = 0; i < n; i++)
		assert_4690(&g->ev[i], recs[i], 0x100 + recs[i], 0x678, 0x1748, 0x4);
}

static void assert_records_1_to(const got *g, size_t n)
{
	unsigned long long recs[MAX_EV];
	for (size_t i = 0; i < n; i++)
		recs[i] = i + 1;
	assert_records(g, n, recs);
}

/* The usual ending of a stream test: records 1 to n as put_4690 wrote them
 * and no problem. Frees in. */
static void expect_clean(xg_buf *in, size_t n)
{
	got g;
	stream_all(in, &g);
	assert_records_1_to(&g, n);
	assert_int_equal(g.np, 0);
	got_free(&g);
	xg_free(in);
}

/* ---- one document ---- */

static void test_doc_4690_as_windows_shows_it(void **state)
{
	(void)state;
	/* Record 2183522 of the systemnightmare log, as evtxexport renders it.
	 * Windows' message for it: Subject S-1-5-21-...-1111 / admmig / OFFSEC /
	 * Logon ID 0x65B0F5DB; Source Handle ID 0xaf8, Source Process ID 0x678;
	 * Target Handle ID 0x1748, Target Process ID 0x4. */
	xg_buf b;
	xg_init(&b);
	xg_4690 x;
	xg_4690_init(&x);
	xg_event_xml(&b, &x.ev, 0);
	xmlev_doc *d = xmlev_doc_create();
	assert_non_null(d);
	event ev;
	dw_err err;
	assert_int_equal(xmlev_doc_parse(d, b.s, b.len, &ev, &err), DW_OK);
	assert_4690(&ev, 2183522, 0xaf8, 0x678, 0x1748, 0x4);
	assert_field(&ev, "SourceHandleId", "0x0000000000000af8");
	assert_field(&ev, "SubjectLogonId", "0x0000000065b0f5db");

	char *out = NULL;
	size_t out_len = 0;
	FILE *f = open_memstream(&out, &out_len);
	assert_non_null(f);
	exporter *xp;
	export_opts o = { .format = EXPORT_JSONL };
	assert_int_equal(exporter_open_stream(&xp, f, "memory", &o, &err), DW_OK);
	assert_int_equal(exporter_write(xp, &ev, &err), DW_OK);
	assert_int_equal(exporter_close(xp, &err), DW_OK);
	fclose(f);
	assert_string_equal(out,
		"{\"record_id\":2183522,\"time\":\"2021-10-08T12:57:12.8425776Z\","
		"\"computer\":\"fs01.offsec.lan\",\"event_id\":4690,"
		"\"subject\":{\"sid\":\"S-1-5-21-4230534742-2542757381-3142984815-1111\","
		"\"user\":\"admmig\",\"domain\":\"OFFSEC\",\"logon_id\":\"0x65b0f5db\"},"
		"\"source\":{\"handle\":2808,\"pid\":1656},\"target\":{\"handle\":5960,\"pid\":4}}\n");
	free(out);
	event_free(&ev);
	xmlev_doc_destroy(d);
	xg_free(&b);
}

static void expect_doc_error(xmlev_doc *d, const char *xml, dw_status want, const char *msg)
{
	event ev = { 0 };
	dw_err err;
	assert_int_equal(xmlev_doc_parse(d, xml, strlen(xml), &ev, &err), want);
	assert_int_equal(err.status, want);
	if (!strstr(err.msg, msg))
		fail_msg("'%s' does not say '%s'", err.msg, msg);
	assert_null(ev.data);
}

static void test_doc_errors(void **state)
{
	(void)state;
	xmlev_doc *d = xmlev_doc_create();
	assert_non_null(d);
	expect_doc_error(d, "<Events/>", DW_PARSE, "byte 0: the root element is <Events>");
	expect_doc_error(d, "<Event><EventData/></Event>", DW_PARSE, "no <System> element");
	expect_doc_error(d, "<Event><System><EventID>x1</EventID></System></Event>", DW_PARSE,
	                 "EventID is not a number");
	expect_doc_error(d, "<Event><System><EventRecordID>1</EventRecordID></System></Event>",
	                 DW_PARSE, "no <EventID>");
	expect_doc_error(d, "<Event><System><EventID>1</EventID></System>", DW_PARSE,
	                 "byte 44: no element found");
	expect_doc_error(d, "<Event><System><EventID>1</EventID></Sys></Event>", DW_PARSE,
	                 "byte 37: mismatched tag");
	expect_doc_error(d, "<!DOCTYPE Event><Event/>", DW_REFUSED, "byte 15: DOCTYPE declaration refused");
	/* The parser is reusable after each failure. */
	event ev;
	dw_err err;
	const char *ok = "<?xml version='1.0' encoding='utf-8'?>\n<Event><System><EventID>7</EventID>"
	                 "</System></Event>";
	assert_int_equal(xmlev_doc_parse(d, ok, strlen(ok), &ev, &err), DW_OK);
	assert_int_equal(ev.event_id, 7);
	assert_false(ev.flags & EVENT_HAS_TIME);
	assert_false(ev.flags & EVENT_HAS_PID);
	assert_int_equal(ev.computer, 0);
	event_free(&ev);
	xmlev_doc_destroy(d);
}

/* libevtx writes a value's C0 controls raw into its XML: xmlev_doc_parse()
 * reads them as they are, in text and attributes, next to real U+FDD0-U+FDEF
 * (the noncharacters it hides them as); errors still name the caller's byte
 * offset; the field limit counts the real bytes. The stream reader, for XML
 * files, refuses them as XML does (test_resync_invalid_characters). */
static void test_doc_raw_controls(void **state)
{
	(void)state;
	xmlev_doc *d = xmlev_doc_create();
	assert_non_null(d);
	event ev;
	dw_err err;
	const char *xml =
		"<Event><System><Provider Name='P\x1b]0;t\x07'/><EventID>4690</EventID>"
		"<Computer> c\x01\xef\xb7\x90\x1f </Computer></System><EventData>"
		"<Data Name='N\x1b\xef\xb7\xaf'>\x1b[2J\xef\xb7\x90\xef\xb7\x9b\x1b\xc2\x9b\r\nx\x7f</Data>"
		"<Data>\xef\xb7\x90</Data></EventData></Event>";
	assert_int_equal(xmlev_doc_parse(d, xml, strlen(xml), &ev, &err), DW_OK);
	assert_atom(ev.provider, "P\x1b]0;t\x07");
	assert_atom(ev.computer, "c\x01\xef\xb7\x90\x1f");
	assert_int_equal(n_fields(&ev), 2);
	assert_field(&ev, "N\x1b\xef\xb7\xaf", "\x1b[2J\xef\xb7\x90\xef\xb7\x9b\x1b\xc2\x9b\nx\x7f");
	assert_field(&ev, "%2", "\xef\xb7\x90");
	event_free(&ev);

	/* a value that starts with a control, unmapped into a buffer not yet
	 * allocated (fuzz_evtx_tail finding 5) */
	const char *lead = "<Event><System><Provider Name='\x01x'/><EventID>4690</EventID>"
	                   "</System></Event>";
	xmlev_doc_destroy(d);
	d = xmlev_doc_create();
	assert_non_null(d);
	assert_int_equal(xmlev_doc_parse(d, lead, strlen(lead), &ev, &err), DW_OK);
	assert_atom(ev.provider, "\x01x");
	event_free(&ev);

	/* 39 in the caller's text (the 2 controls count 1 byte each) */
	expect_doc_error(d, "<Event><System><EventID>1\x01\x02</EventID></Sys></Event>", DW_PARSE,
	                 "byte 39: mismatched tag");
	/* no control in a name, as for any XML parser; NUL stays refused */
	expect_doc_error(d, "<Event><System><EventID>1</EventID></System><EventData><A\x1b/>",
	                 DW_PARSE, "byte 57: not well-formed");
	const char nul[] = "<Event><System><EventID>1\0</EventID></System></Event>";
	assert_int_equal(xmlev_doc_parse(d, nul, sizeof nul - 1, &ev, &err), DW_PARSE);

	/* a value of more than EVENT_FIELD_MAX controls: cut there, flagged */
	xg_buf b;
	xg_init(&b);
	xg_cat(&b, "<Event><System><EventID>1</EventID></System><EventData><Data Name='L'>");
	for (size_t i = 0; i < EVENT_FIELD_MAX + 10; i++)
		xg_cat(&b, "\x1b");
	xg_cat(&b, "</Data></EventData></Event>");
	assert_int_equal(xmlev_doc_parse(d, b.s, b.len, &ev, &err), DW_OK);
	assert_true(ev.flags & EVENT_TRUNCATED);
	event_field f;
	assert_true(event_get_named(&ev, "L", 1, &f));
	assert_int_equal(f.value.len, EVENT_FIELD_MAX);
	for (size_t i = 0; i < f.value.len; i++)
		assert_int_equal(f.value.s[i], '\x1b');
	event_free(&ev);
	xg_free(&b);
	xmlev_doc_destroy(d);
}

/* ---- stream shapes ---- */

static void test_one_event_per_line(void **state)
{
	(void)state;
	xg_buf b;
	xg_init(&b);
	for (unsigned long long r = 1; r <= 3; r++)
		put_4690(&b, r, XG_ONELINE);
	expect_clean(&b, 3);
}

static void test_all_on_one_line(void **state)
{
	(void)state;
	xg_buf b;
	xg_init(&b);
	for (unsigned long long r = 1; r <= 4; r++)
		put_4690(&b, r, XG_ONELINE | XG_NO_NL);
	assert_null(strchr(b.s, '\n'));
	expect_clean(&b, 4);
}

static void test_events_wrapper(void **state)
{
	(void)state;
	xg_buf b;
	xg_init(&b);
	xg_decl(&b, "UTF-8");
	xg_cat(&b, "<Events>\n");
	for (unsigned long long r = 1; r <= 3; r++)
		put_4690(&b, r, 0);
	xg_cat(&b, "</Events>\n");
	expect_clean(&b, 3);
}

static void test_declarations_between_events(void **state)
{
	(void)state;
	xg_buf b;
	xg_init(&b);
	for (unsigned long long r = 1; r <= 3; r++) {
		xg_decl(&b, r == 2 ? "utf-16" : "utf-8"); /* what each redirect wrote */
		put_4690(&b, r, XG_ONELINE);
	}
	expect_clean(&b, 3);
}

/* `evtxexport -f xml`: banner, blank line, indented events, each followed
 * by a blank line. */
static void evtxexport_like(xg_buf *b, unsigned long long first, unsigned long long n)
{
	xg_banner(b);
	for (unsigned long long r = first; r < first + n; r++) {
		put_4690(b, r, 0);
		xg_cat(b, "\n");
	}
}

static void test_evtxexport_banner(void **state)
{
	(void)state;
	xg_buf b;
	xg_init(&b);
	evtxexport_like(&b, 1, 3);
	assert_memory_equal(b.s, "evtxexport 20181227\n\n<Event xmlns=\"", 35);
	expect_clean(&b, 3);
}

static void test_single_quotes(void **state)
{
	(void)state;
	xg_buf b;
	xg_init(&b);
	put_4690(&b, 1, XG_SQUOTE);
	put_4690(&b, 2, XG_SQUOTE | XG_ONELINE);
	assert_non_null(strstr(b.s, "<Provider Name='Microsoft-Windows-Security-Auditing'"));
	expect_clean(&b, 2);
}

static void test_rendered_xml(void **state)
{
	(void)state;
	xg_buf b;
	xg_init(&b);
	put_4690(&b, 1, XG_RENDERED | XG_SQUOTE | XG_ONELINE);
	put_4690(&b, 2, XG_RENDERED);
	assert_non_null(strstr(b.s, "<RenderingInfo Culture='en-US'><Message>"));
	/* System's Provider/Channel win over RenderingInfo's, which adds no
	 * field: assert_4690 checks both and the 8 fields. */
	expect_clean(&b, 2);
}

static void test_crlf(void **state)
{
	(void)state;
	xg_buf lf, b;
	xg_init(&lf);
	xg_init(&b);
	evtxexport_like(&lf, 1, 2);
	put_4690(&lf, 3, XG_ONELINE);
	/* A value with line breaks (AccessList, CommandLine): XML reads a
	 * CRLF inside it as LF. */
	xg_field f[] = { { "AccessList", "%%1541\n\t\t\t\t%%4416\n\t\t\t\t" } };
	xg_event e = { .provider = "Microsoft-Windows-Security-Auditing", .event_id = 4656,
	               .record_id = 4, .channel = "Security", .computer = "fs01.offsec.lan",
	               .fields = f, .n_fields = 1 };
	xg_event_xml(&lf, &e, 0);
	xg_crlf(&lf, &b);
	assert_non_null(strstr(b.s, "</Event>\r\n\r\n<Event"));
	assert_non_null(strstr(b.s, "%%1541\r\n\t"));
	got g;
	stream_all(&b, &g);
	assert_int_equal(g.n, 4);
	for (unsigned long long r = 1; r <= 3; r++)
		assert_4690(&g.ev[r - 1], r, 0x100 + r, 0x678, 0x1748, 0x4);
	assert_int_equal(g.ev[3].event_id, 4656);
	assert_field(&g.ev[3], "AccessList", "%%1541\n\t\t\t\t%%4416\n\t\t\t\t");
	assert_int_equal(g.np, 0);
	got_free(&g);
	xg_free(&lf);
	xg_free(&b);
}

/* Non-ASCII text in all planes, to check the transcoding. */
static void put_intl(xg_buf *b, unsigned long long rec)
{
	xg_field f[] = {
		{ "SubjectUserName", "Jos\xc3\xa9" },
		{ "ObjectName", "C:\\Users\\J\xc3\xb6rg\\\xe6\x96\x87\xe6\x9b\xb8 \xf0\x9f\x99\x82.txt" },
	};
	xg_event e = {
		.provider = "Microsoft-Windows-Security-Auditing", .event_id = 4663,
		.time = "2024-02-29T23:59:59.9999999Z", .record_id = rec, .pid = 4, .tid = 8,
		.channel = "Security", .computer = "WS-\xc3\x84\xc3\x96.corp", .fields = f,
		.n_fields = 2,
	};
	xg_event_xml(b, &e, 0);
}

static void assert_intl(const event *ev, unsigned long long rec)
{
	assert_int_equal(ev->event_id, 4663);
	assert_int_equal(ev->record_id, rec);
	assert_time(ev, "2024-02-29T23:59:59.9999999Z");
	assert_atom(ev->computer, "WS-\xc3\x84\xc3\x96.corp");
	assert_field(ev, "SubjectUserName", "Jos\xc3\xa9");
	assert_field(ev, "ObjectName",
	             "C:\\Users\\J\xc3\xb6rg\\\xe6\x96\x87\xe6\x9b\xb8 \xf0\x9f\x99\x82.txt");
}

static void utf16_case(bool be)
{
	xg_buf u8, b;
	xg_init(&u8);
	xg_init(&b);
	xg_decl(&u8, "utf-16");
	put_intl(&u8, 1);
	xg_cat(&u8, "\r\n");
	put_4690(&u8, 2, XG_SQUOTE);
	put_intl(&u8, 3);
	xg_utf16(&u8, &b, be, true);
	assert_memory_equal(b.s, be ? "\xfe\xff\0<" : "\xff\xfe<\0", 4);
	got g;
	stream_all(&b, &g);
	assert_int_equal(g.n, 3);
	assert_int_equal(g.np, 0);
	assert_intl(&g.ev[0], 1);
	assert_4690(&g.ev[1], 2, 0x102, 0x678, 0x1748, 0x4);
	assert_intl(&g.ev[2], 3);
	got_free(&g);
	xg_free(&u8);
	xg_free(&b);
}

static void test_utf16le_bom(void **state)
{
	(void)state;
	utf16_case(false);
}

static void test_utf16be_bom(void **state)
{
	(void)state;
	utf16_case(true);
}

static void test_utf16_broken_event_offset(void **state)
{
	(void)state;
	/* Offsets are of the input bytes, BOM included. */
	xg_buf u8, b;
	xg_init(&u8);
	xg_init(&b);
	put_4690(&u8, 1, XG_ONELINE);
	size_t bad = u8.len;
	xg_cat(&u8, "<Event><System><EventID>1</EventID></System><Oops></Event>\n");
	put_4690(&u8, 3, XG_ONELINE);
	xg_utf16(&u8, &b, false, true);
	got g;
	stream_all(&b, &g);
	unsigned long long recs[] = { 1, 3 };
	assert_records(&g, 2, recs);
	assert_int_equal(g.np, 1);
	assert_int_equal(g.p[0].off, 2 + 2 * bad);
	assert_non_null(strstr(g.p[0].why, "mismatched tag"));
	got_free(&g);
	xg_free(&u8);
	xg_free(&b);
}

static void test_utf8_bom(void **state)
{
	(void)state;
	xg_buf b;
	xg_init(&b);
	xg_cat(&b, "\xef\xbb\xbf");
	put_intl(&b, 1);
	put_4690(&b, 2, 0);
	got g;
	stream_all(&b, &g);
	assert_int_equal(g.n, 2);
	assert_intl(&g.ev[0], 1);
	assert_4690(&g.ev[1], 2, 0x102, 0x678, 0x1748, 0x4);
	got_free(&g);
	xg_free(&b);
}

static void test_unnamed_data_and_binary(void **state)
{
	(void)state;
	/* A classic event: insertion strings without names, then binary data. */
	xg_buf b;
	xg_init(&b);
	xg_cat(&b, "<Event xmlns='http://schemas.microsoft.com/win/2004/08/events/event'><System>"
	           "<Provider Name='Service Control Manager'/><EventID Qualifiers='16384'>7036"
	           "</EventID><EventRecordID>77</EventRecordID><Channel>System</Channel>"
	           "<Computer>dc01</Computer></System><EventData><Data>Windows Update</Data>"
	           "<Data Name='State'>running</Data><Data></Data><Data>x &amp; y &lt;z&gt;</Data>"
	           "<Binary>770075006100750073006500720076002F0034000000</Binary></EventData>"
	           "</Event>");
	got g;
	stream_all(&b, &g);
	assert_int_equal(g.n, 1);
	const event *ev = &g.ev[0];
	assert_int_equal(ev->event_id, 7036);
	assert_int_equal(ev->record_id, 77);
	assert_atom(ev->provider, "Service Control Manager");
	assert_atom(ev->channel, "System");
	assert_int_equal(n_fields(ev), 5);
	assert_field(ev, "%1", "Windows Update");
	assert_field(ev, "State", "running");
	assert_field(ev, "%3", "");
	assert_field(ev, "%4", "x & y <z>");
	assert_field(ev, "Binary", "770075006100750073006500720076002F0034000000");
	got_free(&g);
	xg_free(&b);
}

static void test_userdata(void **state)
{
	(void)state;
	/* 1102 "The audit log was cleared", as in the mimikatz log. */
	xg_field f[] = {
		{ "SubjectUserSid", "S-1-5-21-4230534742-2542757381-3142984815-1111" },
		{ "SubjectUserName", "admmig" },
		{ "SubjectDomainName", "OFFSEC" },
		{ "SubjectLogonId", "0x00000000000e922e" },
	};
	xg_event e = {
		.provider = "Microsoft-Windows-Eventlog",
		.guid = "{fc65ddd8-d6ef-4962-83d5-6e5cfe9ce148}", .event_id = 1102, .level = 4,
		.task = 104, .keywords = "0x4020000000000000",
		.time = "2021-03-26T16:36:00.106986100Z", .record_id = 9217073, .pid = 336,
		.tid = 860, .channel = "Security", .computer = "jump01.offsec.lan",
		.userdata = "LogFileCleared", .fields = f, .n_fields = 4,
	};
	xg_buf b;
	xg_init(&b);
	xg_banner(&b);
	xg_event_xml(&b, &e, 0);
	got g;
	stream_all(&b, &g);
	assert_int_equal(g.n, 1);
	const event *ev = &g.ev[0];
	assert_int_equal(ev->event_id, 1102);
	assert_int_equal(ev->record_id, 9217073);
	assert_true(ev->flags & EVENT_USERDATA);
	assert_time(ev, "2021-03-26T16:36:00.1069861Z");
	assert_int_equal(ev->exec_pid, 336);
	assert_int_equal(ev->exec_tid, 860);
	assert_int_equal(n_fields(ev), 4);
	ev_subject s;
	event_subject(ev, &s);
	assert_str(s.user, "admmig");
	assert_str(s.domain, "OFFSEC");
	assert_int_equal(s.logon_id.v, 0xe922e);
	got_free(&g);
	xg_free(&b);
}

static void test_every_quirk_in_one_stream(void **state)
{
	(void)state;
	xg_buf b, c;
	xg_init(&b);
	xg_init(&c);
	evtxexport_like(&b, 1, 2);
	xg_decl(&b, "UTF-8");
	xg_cat(&b, "<Events>");
	put_4690(&b, 3, XG_ONELINE | XG_SQUOTE | XG_NO_NL);
	put_4690(&b, 4, XG_RENDERED | XG_NO_NL);
	xg_cat(&b, "</Events>\n\n   \n");
	xg_decl(&b, "utf-8");
	put_4690(&b, 5, XG_ONELINE);
	xg_crlf(&b, &c);
	xg_free(&b);
	expect_clean(&c, 5);
}

static void test_not_events(void **state)
{
	(void)state;
	/* Lookalikes of an event start, and text with no event at all. */
	xg_buf b;
	xg_init(&b);
	xg_cat(&b, "evtxexport 20181227\n\n<Events>\n<EventData>\n<Eventual/>\n<!-- <Event> -->"
	           "\n< Event>\n</Events>\n\x01\x02\xff\xfe garbage");
	got g;
	stream_all(&b, &g);
	assert_int_equal(g.n, 0);
	/* "<Event> -->" inside the comment is taken for an event: the scanner
	 * does not parse between events. It breaks where the comment ends. */
	assert_int_equal(g.np, 1);
	assert_int_equal(g.p[0].off, strstr(b.s, "<Event> -->") - b.s);
	got_free(&g);
	xg_free(&b);
}

/* ---- broken events: reported, the next valid one is never lost ---- */

/* Puts record 1, then the broken text, then records 3 and 4; returns the
 * offset of the broken text. */
static size_t around(xg_buf *b, const char *broken)
{
	put_4690(b, 1, 0);
	size_t off = b->len;
	xg_cat(b, broken);
	put_4690(b, 3, XG_ONELINE);
	put_4690(b, 4, 0);
	return off;
}

static void expect_resync(const char *broken, size_t n_bad, const char *why, uint64_t rec)
{
	xg_buf b;
	xg_init(&b);
	size_t off = around(&b, broken);
	got g;
	stream_all(&b, &g);
	unsigned long long recs[] = { 1, 3, 4 };
	assert_records(&g, 3, recs);
	assert_int_equal(g.np, n_bad);
	if (n_bad) {
		assert_int_equal(g.p[0].st, DW_PARSE);
		assert_int_equal(g.p[0].off, off);
		assert_int_equal(g.p[0].rec, rec);
		if (!strstr(g.p[0].why, why))
			fail_msg("'%s' does not say '%s'", g.p[0].why, why);
	}
	got_free(&g);
	xg_free(&b);
}

/* The start of record 2 (a 4690) cut after n bytes, or, if n is 0, cut
 * `extra` bytes after the start of `at`. */
static const char *cut_4690(size_t n, const char *at, size_t extra)
{
	static char buf[4096];
	xg_buf b;
	xg_init(&b);
	put_4690(&b, 2, 0);
	if (at)
		n = (size_t)(strstr(b.s, at) - b.s) + extra;
	assert_true(n < b.len && n < sizeof buf);
	memcpy(buf, b.s, n);
	buf[n] = '\0';
	xg_free(&b);
	return buf;
}

static void test_resync_unclosed(void **state)
{
	(void)state;
	/* Cut in text, after a start tag, inside a tag name, inside an
	 * attribute value, after the record id was read. */
	expect_resync(cut_4690(0, "0x0000000000000678", 5), 1,
	              "not closed before the next <Event>", 2);
	expect_resync(cut_4690(0, "<EventData>", 11), 1, "not closed before the next <Event>", 2);
	expect_resync(cut_4690(0, "<Computer>", 4), 1, "not well-formed (invalid token) (at byte", 2);
	expect_resync(cut_4690(0, "fs01.offsec.lan", 3), 1, "not closed before the next <Event>", 2);
	expect_resync(cut_4690(0, "Microsoft-Windows", 9), 1, "not well-formed", 0);
	expect_resync(cut_4690(40, NULL, 0), 1, "at byte", 0);
	expect_resync("<Event>", 1, "not closed before the next <Event>", 0);
	expect_resync("<Event", 0, "", 0); /* "<Event<Event ...": not a start */
	expect_resync("<Event xmlns='", 1, "", 0);
}

static void test_resync_cut_at_every_byte(void **state)
{
	(void)state;
	/* Wherever a writer stopped, the following events are read. */
	xg_buf whole;
	xg_init(&whole);
	put_4690(&whole, 2, XG_ONELINE | XG_NO_NL);
	for (size_t n = 7; n < whole.len; n += 3) {
		xg_buf b;
		xg_init(&b);
		put_4690(&b, 1, 0);
		size_t off = b.len;
		xg_put(&b, whole.s, n);
		put_4690(&b, 3, 0);
		got g;
		stream_run(b.s, b.len, b.len, &g);
		assert_int_equal(g.n, 2);
		assert_int_equal(g.ev[0].record_id, 1);
		assert_int_equal(g.ev[1].record_id, 3);
		assert_int_equal(g.np, 1);
		assert_int_equal(g.p[0].off, off);
		got_free(&g);
		xg_free(&b);
	}
	xg_free(&whole);
}

static void test_resync_invalid_characters(void **state)
{
	(void)state;
	xg_buf b;
	xg_init(&b);
	put_4690(&b, 2, XG_ONELINE);
	char *ctl = strdup(b.s), *utf = strdup(b.s);
	*strstr(ctl, "admmig") = '\x01';           /* a control character */
	memcpy(strstr(utf, "OFFSEC"), "\xff\xfe", 2); /* not UTF-8 */
	expect_resync(ctl, 1, "not well-formed (invalid token) (at byte", 2);
	expect_resync(utf, 1, "not well-formed (invalid token) (at byte", 2);
	free(ctl);
	free(utf);
	xg_free(&b);
}

static void test_resync_invalid_events(void **state)
{
	(void)state;
	expect_resync("<Event><EventData><Data Name='a'>b</Data></EventData></Event>\n", 1,
	              "no <System> element", 0);
	expect_resync("<Event/>\n", 1, "no <System> element", 0);
	expect_resync("<Event><System><EventID>4690x</EventID><EventRecordID>2</EventRecordID>"
	              "</System></Event>\n", 1, "EventID is not a number", 2);
	expect_resync("<Event><System><EventID>4690</EventID><EventRecordID>-</EventRecordID>"
	              "</System></Event>\n", 1, "EventRecordID is not a number", 0);
	expect_resync("<Event><System><EventID>99999999999</EventID></System></Event>", 1,
	              "EventID is not a number", 0);
	expect_resync("<Event><System><EventID>1</EventID></System><X></Y></Event>", 1,
	              "mismatched tag", 0);
	expect_resync("<Event><System><EventID>1</EventID></System><X a='1' a='2'/></Event>", 1,
	              "duplicate attribute", 0);
	expect_resync("<Event><System><EventID>&foo;</EventID></System></Event>", 1,
	              "undefined entity", 0);
	/* Not broken: these are skipped text between events. */
	expect_resync("</Event>\n<?xml version='1.0'?>\n<Events>junk</Events>\n", 0, "", 0);
}

static void test_unclosed_at_end(void **state)
{
	(void)state;
	xg_buf b;
	xg_init(&b);
	put_4690(&b, 1, 0);
	size_t off = b.len;
	xg_cat(&b, cut_4690(0, "</EventData>", 0));
	got g;
	stream_all(&b, &g);
	assert_int_equal(g.n, 1);
	assert_4690(&g.ev[0], 1, 0x101, 0x678, 0x1748, 0x4);
	assert_int_equal(g.np, 1);
	assert_int_equal(g.p[0].off, off);
	assert_int_equal(g.p[0].rec, 2);
	assert_non_null(strstr(g.p[0].why, "no element found"));
	got_free(&g);
	xg_free(&b);
}

static void test_resync_single_byte_damage(void **state)
{
	(void)state;
	/* One byte of record 2 replaced, at random (fixed seed): whatever it
	 * does to record 2, records 1, 3 and 4 are read, and the result does
	 * not depend on the read sizes. */
	static const char bytes[] = "<>&\"'/=!?] x\x01\xff";
	xg_buf clean;
	xg_init(&clean);
	put_4690(&clean, 1, 0);
	size_t from = clean.len;
	put_4690(&clean, 2, 0);
	size_t to = clean.len;
	put_4690(&clean, 3, XG_ONELINE);
	put_4690(&clean, 4, 0);
	uint32_t seed = 12345;
	for (int i = 0; i < 400; i++) {
		seed = seed * 1103515245u + 12345u;
		size_t at = from + (seed >> 8) % (to - from);
		seed = seed * 1103515245u + 12345u;
		char c = bytes[(seed >> 8) % (sizeof bytes - 1)];
		xg_buf b;
		xg_init(&b);
		xg_put(&b, clean.s, clean.len);
		b.s[at] = c;
		got g;
		stream_all(&b, &g);
		size_t k = 0;
		assert_true(g.n >= 3);
		assert_int_equal(g.ev[k++].record_id, 1);
		if (g.n == 4)
			assert_int_equal(g.ev[k++].record_id, 2);
		assert_int_equal(g.ev[k++].record_id, 3);
		assert_int_equal(g.ev[k++].record_id, 4);
		got_free(&g);
		xg_free(&b);
	}
	xg_free(&clean);
}

static void test_many_events(void **state)
{
	(void)state;
	/* Enough for the stream's parser to be recycled on the way. */
	xg_buf b;
	xg_init(&b);
	size_t n = 20000;
	for (size_t r = 1; r <= n; r++)
		put_4690(&b, r, r % 2 ? XG_ONELINE : 0);
	assert_true(b.len > 20u << 20);
	got g;
	static const xmlev_stream_cb cb = { got_event, got_problem };
	xmlev_stream *st = xmlev_stream_create(&cb, &g);
	memset(&g, 0, sizeof g);
	uint64_t next = 1;
	for (size_t off = 0; off < b.len; off += 100000) {
		assert_int_equal(xmlev_stream_feed(st, b.s + off, b.len - off < 100000 ? b.len - off : 100000),
		                 DW_OK);
		for (size_t i = 0; i < g.n; i++)
			assert_int_equal(g.ev[i].record_id, next++);
		got_free(&g);
	}
	xmlev_stream_end(st);
	assert_int_equal(g.n, 0);
	assert_int_equal(g.np, 0);
	assert_int_equal(next, n + 1);
	xmlev_stream_destroy(st);
	xg_free(&b);
}

/* ---- refusal and bounds ---- */

static void test_billion_laughs_refused(void **state)
{
	(void)state;
	xg_buf b;
	xg_init(&b);
	xg_cat(&b, "<?xml version=\"1.0\"?>\n");
	size_t dtd = b.len;
	xg_cat(&b, "<!DOCTYPE Event [\n <!ENTITY lol \"lol\">\n");
	for (int i = 1; i <= 9; i++) {
		xg_printf(&b, " <!ENTITY lol%d \"", i);
		for (int j = 0; j < 10; j++)
			xg_printf(&b, "&lol%.0d;", i - 1);
		xg_cat(&b, "\">\n");
	}
	xg_cat(&b, "]>\n");
	size_t bomb = b.len;
	xg_cat(&b, "<Event><System><EventID>1</EventID><Computer>&lol9;</Computer></System></Event>\n");
	put_4690(&b, 3, 0);

	/* A stream: the DTD is reported, never read; the event using its
	 * entity breaks; the next one is read. */
	got g;
	stream_all(&b, &g);
	assert_int_equal(g.n, 1);
	assert_4690(&g.ev[0], 3, 0x103, 0x678, 0x1748, 0x4);
	assert_int_equal(g.np, 2);
	assert_int_equal(g.p[0].st, DW_REFUSED);
	assert_int_equal(g.p[0].off, dtd);
	assert_non_null(strstr(g.p[0].why, "DTD declaration refused"));
	assert_int_equal(g.p[1].st, DW_PARSE);
	assert_int_equal(g.p[1].off, bomb);
	assert_non_null(strstr(g.p[1].why, "undefined entity"));
	got_free(&g);

	/* One document: refused before any entity is declared. */
	xmlev_doc *d = xmlev_doc_create();
	event ev = { 0 };
	dw_err err;
	assert_int_equal(xmlev_doc_parse(d, b.s, bomb, &ev, &err), DW_REFUSED);
	assert_non_null(strstr(err.msg, "DOCTYPE declaration refused"));
	assert_null(ev.data);
	xmlev_doc_destroy(d);
	xg_free(&b);
}

static void test_external_entity_never_opened(void **state)
{
	(void)state;
	char dir[] = "/tmp/dw-xxe-XXXXXX";
	assert_non_null(mkdtemp(dir));
	char canary[64];
	snprintf(canary, sizeof canary, "%s/canary", dir);
	xg_buf c;
	xg_init(&c);
	xg_cat(&c, "<System><EventID>1</EventID></System>");
	assert_int_equal(xg_write_file(canary, &c), 0);
	int ino = inotify_init1(IN_NONBLOCK);
	assert_true(ino >= 0);
	assert_true(inotify_add_watch(ino, canary, IN_OPEN | IN_ACCESS) >= 0);

	/* Text before and after the canary's path. */
	const char *forms[][2] = {
		{ "<!DOCTYPE Event [<!ENTITY xxe SYSTEM \"file://", "\">]><Event>&xxe;</Event>" },
		{ "<!DOCTYPE Event SYSTEM \"file://", "\"><Event/>" },
		{ "<!DOCTYPE Event [<!ENTITY % p SYSTEM \"file://", "\"> %p;]><Event/>" },
		{ "<!DOCTYPE Event PUBLIC \"-//x//y\" \"", "\"><Event/>" },
	};
	xmlev_doc *d = xmlev_doc_create();
	for (size_t i = 0; i < sizeof forms / sizeof forms[0]; i++) {
		xg_buf b;
		xg_init(&b);
		xg_printf(&b, "%s%s%s", forms[i][0], canary, forms[i][1]);
		event ev = { 0 };
		dw_err err;
		assert_int_equal(xmlev_doc_parse(d, b.s, b.len, &ev, &err), DW_REFUSED);
		xg_cat(&b, "\n");
		put_4690(&b, 1, 0);
		got g;
		stream_all(&b, &g);
		assert_int_equal(g.n, 1);
		assert_true(g.np >= 1);
		assert_int_equal(g.p[0].st, DW_REFUSED);
		got_free(&g);
		xg_free(&b);
	}
	xmlev_doc_destroy(d);

	char buf[4096];
	assert_int_equal(read(ino, buf, sizeof buf), -1);
	assert_int_equal(errno, EAGAIN); /* no open, no read of the canary */
	close(ino);
	unlink(canary);
	rmdir(dir);
	xg_free(&c);
}

static void test_deep_nesting(void **state)
{
	(void)state;
	xg_buf b;
	xg_init(&b);
	put_4690(&b, 1, 0);
	size_t off = b.len;
	xg_cat(&b, "<Event><System><EventID>1</EventID></System><EventData>");
	for (int i = 0; i < 200000; i++)
		xg_cat(&b, "<a>");
	xg_cat(&b, "\n");
	put_4690(&b, 3, 0);
	got g;
	stream_run(b.s, b.len, b.len, &g);
	unsigned long long recs[] = { 1, 3 };
	assert_records(&g, 2, recs);
	assert_int_equal(g.np, 1);
	assert_int_equal(g.p[0].off, off);
	assert_non_null(strstr(g.p[0].why, "nested more than 64 deep"));
	got_free(&g);

	xmlev_doc *d = xmlev_doc_create();
	event ev = { 0 };
	dw_err err;
	assert_int_equal(xmlev_doc_parse(d, b.s + off, b.len - off, &ev, &err), DW_PARSE);
	assert_non_null(strstr(err.msg, "nested more than 64 deep"));
	xmlev_doc_destroy(d);
	xg_free(&b);
}

static void test_field_truncated_at_64k(void **state)
{
	(void)state;
	size_t big = 100000;
	char *v = malloc(big + 1);
	memset(v, 'A', big);
	memcpy(v + EVENT_FIELD_MAX - 1, "\xc3\xa9", 2); /* é across the limit */
	v[big] = '\0';
	xg_field f[] = { { "Before", "b" }, { "CommandLine", v }, { "After", "a" } };
	xg_event e = { .provider = "P", .event_id = 4688, .record_id = 9, .channel = "Security",
	               .computer = "c", .fields = f, .n_fields = 3 };
	xg_buf b;
	xg_init(&b);
	xg_event_xml(&b, &e, 0);
	put_4690(&b, 10, 0);
	got g;
	stream_run(b.s, b.len, 4096, &g);
	assert_int_equal(g.n, 2);
	assert_int_equal(g.np, 0);
	const event *ev = &g.ev[0];
	assert_true(ev->flags & EVENT_TRUNCATED);
	event_field fl;
	assert_true(event_get(ev, F_CommandLine, &fl));
	assert_int_equal(fl.value.len, EVENT_FIELD_MAX - 1); /* not inside the é */
	assert_memory_equal(fl.value.s, v, EVENT_FIELD_MAX - 1);
	assert_field(ev, "Before", "b");
	assert_field(ev, "After", "a");
	assert_4690(&g.ev[1], 10, 0x10a, 0x678, 0x1748, 0x4);
	got_free(&g);
	xg_free(&b);
	free(v);
}

static void test_event_too_large(void **state)
{
	(void)state;
	size_t big = XMLEV_MAX_EVENT + 1000;
	char *v = malloc(big + 1);
	memset(v, 'x', big);
	v[big] = '\0';
	xg_field f[] = { { "CommandLine", v } };
	xg_event e = { .provider = "P", .event_id = 4688, .record_id = 2, .channel = "Security",
	               .computer = "c", .fields = f, .n_fields = 1 };
	xg_buf b;
	xg_init(&b);
	put_4690(&b, 1, 0);
	size_t off = b.len;
	xg_event_xml(&b, &e, 0);
	put_4690(&b, 3, 0);
	got g;
	stream_run(b.s, b.len, 65536, &g);
	unsigned long long recs[] = { 1, 3 };
	assert_records(&g, 2, recs);
	assert_int_equal(g.np, 1);
	assert_int_equal(g.p[0].off, off);
	assert_int_equal(g.p[0].rec, 2);
	assert_non_null(strstr(g.p[0].why, "event larger than"));
	got_free(&g);
	xg_free(&b);
	free(v);
}

/* ---- the source: files and FIFOs through source_open ---- */

static void test_source_file(void **state)
{
	(void)state;
	char path[] = "/tmp/dw-xml-XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	close(fd);
	xg_buf b;
	xg_init(&b);
	size_t off = around(&b, "<Event><System><EventID>1</EventID>\n");
	assert_int_equal(xg_write_file(path, &b), 0);

	ring *r = ring_create(100, 0, -1);
	msglog *log = msglog_create(16);
	source *s;
	source_opts o = { 0 };
	dw_err err;
	assert_int_equal(source_open(&s, path, 3, &o, r, log, &err), DW_OK);
	assert_string_equal(source_kind(s), "xml");
	assert_int_equal(source_start(s, &err), DW_OK);
	source_stats st;
	assert_true(tu_wait_source(s, &st, 10000));
	assert_int_equal(st.state, SRC_DONE);
	assert_int_equal(st.read, 3);
	assert_int_equal(st.skipped, 1);
	assert_int_equal(st.bytes, b.len);
	char want[128];
	snprintf(want, sizeof want, "%s: byte %zu: malformed event skipped: not closed", path, off);
	assert_true(tu_log_has(log, want));
	ring_lock(r);
	assert_int_equal(ring_end(r), 3);
	static const uint64_t recs[] = { 1, 3, 4 };
	for (uint64_t i = 0; i < 3; i++) {
		const event *ev = ring_at(r, i);
		assert_int_equal(ev->source, 3);
		assert_4690(ev, recs[i], 0x100 + recs[i], 0x678, 0x1748, 0x4);
	}
	ring_unlock(r);
	source_close(s);
	ring_destroy(r);
	msglog_destroy(log);
	unlink(path);
	xg_free(&b);
}

typedef struct fifo_writer {
	const char *path;
	xg_buf *part1, *part2;
	ring *r;
	size_t seen_between; /* events in the ring before part 2 was written */
} fifo_writer;

static void *fifo_write(void *arg)
{
	fifo_writer *w = arg;
	int fd = open(w->path, O_WRONLY);
	if (fd < 0)
		return NULL;
	if (write(fd, w->part1->s, w->part1->len) != (ssize_t)w->part1->len)
		abort();
	/* The reader must show part 1 while the writer still holds the pipe. */
	w->seen_between = tu_wait_pushed(w->r, 2, 10000);
	if (write(fd, w->part2->s, w->part2->len) != (ssize_t)w->part2->len)
		abort();
	close(fd);
	return NULL;
}

static void test_source_fifo_utf16(void **state)
{
	(void)state;
	char dir[] = "/tmp/dw-fifo-XXXXXX";
	assert_non_null(mkdtemp(dir));
	char path[64];
	snprintf(path, sizeof path, "%s/events", dir);
	assert_int_equal(mkfifo(path, 0600), 0);

	/* A PowerShell redirect: UTF-16LE with a BOM, split mid-event. */
	xg_buf u8, all, p1, p2;
	xg_init(&u8);
	xg_init(&all);
	xg_init(&p1);
	xg_init(&p2);
	put_4690(&u8, 1, 0);
	put_4690(&u8, 2, 0);
	size_t cut = u8.len + 20;
	put_4690(&u8, 3, 0);
	xg_utf16(&u8, &all, false, true);
	xg_put(&p1, all.s, 2 + 2 * cut + 1); /* odd: splits a code unit too */
	xg_put(&p2, all.s + p1.len, all.len - p1.len);

	ring *r = ring_create(100, 0, -1);
	msglog *log = msglog_create(16);
	source *s;
	source_opts o = { .follow = true };
	dw_err err;
	fifo_writer w = { path, &p1, &p2, r, 0 };
	pthread_t t;
	assert_int_equal(pthread_create(&t, NULL, fifo_write, &w), 0);
	assert_int_equal(source_open(&s, path, 0, &o, r, log, &err), DW_OK);
	assert_int_equal(source_start(s, &err), DW_OK);
	pthread_join(t, NULL);
	source_stats st;
	assert_true(tu_wait_source(s, &st, 10000));
	assert_int_equal(w.seen_between, 2);
	assert_int_equal(st.read, 3);
	assert_int_equal(st.skipped, 0);
	assert_int_equal(st.bytes, all.len);
	ring_lock(r);
	for (uint64_t i = 0; i < 3; i++)
		assert_4690(ring_at(r, i), i + 1, 0x101 + i, 0x678, 0x1748, 0x4);
	ring_unlock(r);
	source_close(s);
	ring_destroy(r);
	msglog_destroy(log);
	unlink(path);
	rmdir(dir);
	xg_free(&u8);
	xg_free(&all);
	xg_free(&p1);
	xg_free(&p2);
}

static void test_source_stops_on_idle_pipe(void **state)
{
	(void)state;
	int p[2];
	assert_int_equal(pipe(p), 0);
	char path[32];
	snprintf(path, sizeof path, "/dev/fd/%d", p[0]);
	ring *r = ring_create(10, 0, -1);
	msglog *log = msglog_create(4);
	source *s;
	source_opts o = { 0 };
	dw_err err;
	/* The writer stays open and silent: the reader blocks until closed. */
	assert_int_equal(write(p[1], "<Event xmlns", 12), 12);
	assert_int_equal(source_open(&s, path, 0, &o, r, log, &err), DW_OK);
	assert_int_equal(source_start(s, &err), DW_OK);
	source_close(s); /* returns: stop wakes the blocked reader */
	ring_destroy(r);
	msglog_destroy(log);
	close(p[0]);
	close(p[1]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_doc_4690_as_windows_shows_it),
		cmocka_unit_test(test_doc_errors),
		cmocka_unit_test(test_doc_raw_controls),
		cmocka_unit_test(test_one_event_per_line),
		cmocka_unit_test(test_all_on_one_line),
		cmocka_unit_test(test_events_wrapper),
		cmocka_unit_test(test_declarations_between_events),
		cmocka_unit_test(test_evtxexport_banner),
		cmocka_unit_test(test_single_quotes),
		cmocka_unit_test(test_rendered_xml),
		cmocka_unit_test(test_crlf),
		cmocka_unit_test(test_utf16le_bom),
		cmocka_unit_test(test_utf16be_bom),
		cmocka_unit_test(test_utf16_broken_event_offset),
		cmocka_unit_test(test_utf8_bom),
		cmocka_unit_test(test_unnamed_data_and_binary),
		cmocka_unit_test(test_userdata),
		cmocka_unit_test(test_every_quirk_in_one_stream),
		cmocka_unit_test(test_not_events),
		cmocka_unit_test(test_resync_unclosed),
		cmocka_unit_test(test_resync_cut_at_every_byte),
		cmocka_unit_test(test_resync_invalid_characters),
		cmocka_unit_test(test_resync_invalid_events),
		cmocka_unit_test(test_unclosed_at_end),
		cmocka_unit_test(test_resync_single_byte_damage),
		cmocka_unit_test(test_many_events),
		cmocka_unit_test(test_billion_laughs_refused),
		cmocka_unit_test(test_external_entity_never_opened),
		cmocka_unit_test(test_deep_nesting),
		cmocka_unit_test(test_field_truncated_at_64k),
		cmocka_unit_test(test_event_too_large),
		cmocka_unit_test(test_source_file),
		cmocka_unit_test(test_source_fifo_utf16),
		cmocka_unit_test(test_source_stops_on_idle_pipe),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
