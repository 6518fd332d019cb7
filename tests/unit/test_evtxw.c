/* EVTX writer: what evtxw writes must read back identically through libevtx
 * and through python-evtx (tests/evtx_readback.py), an independent parser.
 * Covers every value type, UserData, several chunks, template reuse, a
 * chunk filled to the last byte, live append + flush/sync, wrapping,
 * clearing, the damage functions, bad input, and CRC-32. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <libevtx.h>

#include "evtx_chunk.h"
#include "evtxw.h"
#include "lx.h"
#include "testutil.h"

#define FT0 132781030248425776ull /* 2021-10-07T17:57:04.8425776Z */

/* ---- a growing string ---- */
typedef struct sbuf {
	char *s;
	size_t len, cap;
} sbuf;

__attribute__((format(printf, 2, 3))) static void sb_printf(sbuf *b, const char *fmt, ...)
{
	va_list ap;
	for (;;) {
		va_start(ap, fmt);
		int n = vsnprintf(b->s ? b->s + b->len : NULL, b->s ? b->cap - b->len : 0, fmt, ap);
		va_end(ap);
		assert_true(n >= 0);
		if (b->s && (size_t)n < b->cap - b->len) {
			b->len += (size_t)n;
			return;
		}
		b->cap = (b->cap + (size_t)n + 1) * 2;
		b->s = realloc(b->s, b->cap);
		assert_non_null(b->s);
	}
}

/* ---- test records ---- */

typedef struct trec {
	evtxw_record r;
	evtxw_field f[16];
	char s[6][160];
} trec;

static void fld(trec *t, const char *name, evtxw_type type, const char *text, uint64_t num)
{
	t->f[t->r.n_fields++] = (evtxw_field){ name, type, text, num };
}

/* Three kinds of Security events (3 EventData templates), two computers
 * (2 System templates), values derived from i so they can be checked. */
static void gen(trec *t, uint64_t i)
{
	memset(t, 0, sizeof *t);
	t->r.fields = t->f;
	t->r.filetime = FT0 + i * 10000000ull + 10 * (i % 7);
	t->r.computer = i % 5 == 0 ? "dc01.corp.example" : "ws042.corp.example";
	t->r.pid = 4;
	t->r.tid = 100 + (uint32_t)(i % 50);
	t->r.keywords = EVTXW_KEYWORDS_AUDIT_SUCCESS;
	snprintf(t->s[0], sizeof t->s[0], "S-1-5-21-1004336348-1177238915-682003330-%u",
	         1000 + (unsigned)(i % 4));
	snprintf(t->s[1], sizeof t->s[1], "user%u", (unsigned)(i % 4));
	fld(t, "SubjectUserSid", EVTXW_SID, t->s[0], 0);
	fld(t, "SubjectUserName", EVTXW_STRING, t->s[1], 0);
	fld(t, "SubjectDomainName", EVTXW_STRING, "CORP", 0);
	fld(t, "SubjectLogonId", EVTXW_HEXINT64, NULL, 0x3e7 + i);
	switch (i % 3) {
	case 0:
		t->r.event_id = 4690;
		t->r.task = 12807;
		fld(t, "SourceHandleId", EVTXW_HEXINT64, NULL, (i * 4) & 0xfffc);
		fld(t, "SourceProcessId", EVTXW_HEXINT64, NULL, 0x678);
		fld(t, "TargetHandleId", EVTXW_HEXINT64, NULL, 0x1748 + i * 4);
		fld(t, "TargetProcessId", EVTXW_HEXINT64, NULL, 4);
		break;
	case 1:
		t->r.event_id = 4656;
		t->r.version = 1;
		t->r.task = 12800;
		snprintf(t->s[2], sizeof t->s[2], "C:\\Windows\\Temp\\f%" PRIu64 ".tmp", i);
		fld(t, "ObjectServer", EVTXW_STRING, "Security", 0);
		fld(t, "ObjectType", EVTXW_STRING, "File", 0);
		fld(t, "ObjectName", EVTXW_STRING, t->s[2], 0);
		fld(t, "HandleId", EVTXW_HEXINT64, NULL, 0x100 + 4 * i);
		fld(t, "AccessMask", EVTXW_HEXINT32, NULL, 0x120089);
		fld(t, "ProcessId", EVTXW_HEXINT64, NULL, 0x1dac);
		fld(t, "ProcessName", EVTXW_STRING, "C:\\Windows\\System32\\spoolsv.exe", 0);
		break;
	default:
		t->r.event_id = 4688;
		t->r.version = 2;
		t->r.task = 13312;
		/* a command line of varying length: records of many sizes */
		snprintf(t->s[3], sizeof t->s[3], "cmd.exe /c echo %.*s", (int)(i % 97),
		         "abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyzabcdefghijklmn"
		         "opqrstuvwxyzabcdefghijklmnopqrstuvwxyz");
		fld(t, "NewProcessId", EVTXW_HEXINT64, NULL, 0x10a4 + 4 * i);
		fld(t, "NewProcessName", EVTXW_STRING, "C:\\Windows\\System32\\cmd.exe", 0);
		fld(t, "TokenElevationType", EVTXW_STRING, "%%1937", 0);
		fld(t, "ProcessId", EVTXW_HEXINT64, NULL, 0x7d8);
		fld(t, "CommandLine", EVTXW_STRING, t->s[3], 0);
		fld(t, "MandatoryLabel", EVTXW_SID, "S-1-16-12288", 0);
		break;
	}
}

/* ---- expected renderings ---- */

enum parser { LX, PY };

static void fmt_filetime(enum parser p, uint64_t ft, char *buf, size_t cap)
{
	time_t t = (time_t)(ft / 10000000u) - 11644473600;
	struct tm tm;
	gmtime_r(&t, &tm);
	char d[32];
	strftime(d, sizeof d, p == LX ? "%Y-%m-%dT%H:%M:%S" : "%Y-%m-%d %H:%M:%S", &tm);
	if (p == LX) /* libevtx: 7 digits and "00" */
		snprintf(buf, cap, "%s.%07" PRIu64 "00Z", d, ft % 10000000u);
	else /* python-evtx: microseconds, rounded (values here never carry) */
		snprintf(buf, cap, "%s.%06" PRIu64, d, (ft % 10000000u + 5) / 10);
}

static void render(enum parser p, const evtxw_field *f, char *buf, size_t cap)
{
	switch (f->type) {
	case EVTXW_NULL:
		buf[0] = 0;
		break;
	case EVTXW_STRING:
	case EVTXW_SID:
		snprintf(buf, cap, "%s", f->text ? f->text : "");
		break;
	case EVTXW_GUID: /* libevtx upper case, python lower case */
		snprintf(buf, cap, "%s", f->text);
		for (char *c = buf; *c; c++)
			*c = p == LX ? (char)toupper((unsigned char)*c) : (char)tolower((unsigned char)*c);
		break;
	case EVTXW_UINT8:
	case EVTXW_UINT16:
	case EVTXW_UINT32:
	case EVTXW_UINT64:
		snprintf(buf, cap, "%" PRIu64, f->num);
		break;
	case EVTXW_HEXINT32:
		snprintf(buf, cap, "0x%08" PRIx64, f->num);
		break;
	case EVTXW_HEXINT64:
		snprintf(buf, cap, "0x%016" PRIx64, f->num);
		break;
	case EVTXW_FILETIME:
		fmt_filetime(p, f->num, buf, cap);
		break;
	}
}

/* Escapes like tests/evtx_readback.py: backslash, newline, return. */
static const char *py_esc(const char *s, char *buf, size_t cap)
{
	size_t n = 0;
	for (; *s && n + 3 < cap; s++) {
		char c = *s == '\n' ? 'n' : *s == '\r' ? 'r' : *s;
		if (c != *s || c == '\\')
			buf[n++] = '\\';
		buf[n++] = c;
	}
	buf[n] = 0;
	return buf;
}

/* python-evtx lines (see tests/evtx_readback.py) for record id. */
static void py_expect(sbuf *b, const evtxw_record *r, uint64_t id)
{
	char v[8192];
	sb_printf(b, "R %" PRIu64 " written=%" PRIu64 " eid=%u eri=%" PRIu64
	          " pid=%u tid=%u computer=%s channel=%s provider=%s\n",
	          id, r->filetime, r->event_id, id, r->pid, r->tid,
	          r->computer ? r->computer : "localhost", r->channel ? r->channel : "Security",
	          r->provider ? r->provider : EVTXW_SECURITY_PROVIDER);
	if (r->userdata)
		sb_printf(b, "U %s\n", r->userdata);
	for (size_t i = 0; i < r->n_fields; i++) {
		char e[16384];
		render(PY, &r->fields[i], v, sizeof v);
		sb_printf(b, "D %s=%s\n", r->fields[i].name, py_esc(v, e, sizeof e));
	}
}

/* ---- python-evtx ---- */

/* Runs tests/evtx_readback.py on path. false (after a message) when
 * /usr/bin/python3 or its Evtx module is missing: the caller skips. */
static bool py_readback(const char *path, sbuf *out)
{
	char cmd[4096];
	const char *src = getenv("DW_SRCDIR"); /* set by ctest */

	if (access("/usr/bin/python3", X_OK) != 0) {
		print_message("skipped: /usr/bin/python3 not found (python3-evtx check)\n");
		return false;
	}
	snprintf(cmd, sizeof cmd, "/usr/bin/python3 '%s/tests/evtx_readback.py' '%s'",
	         src ? src : DW_SRCDIR_DEFAULT, path);
	FILE *p = popen(cmd, "r");
	assert_non_null(p);
	char buf[8192];
	size_t n;
	memset(out, 0, sizeof *out);
	sb_printf(out, "%s", "");
	while ((n = fread(buf, 1, sizeof buf, p)) > 0)
		sb_printf(out, "%.*s", (int)n, buf);
	int rc = pclose(p);
	if (WIFEXITED(rc) && WEXITSTATUS(rc) == 3) {
		print_message("skipped: python3-evtx (module Evtx) not installed\n");
		free(out->s);
		return false;
	}
	assert_true(WIFEXITED(rc) && WEXITSTATUS(rc) == 0);
	return true;
}

/* The R/U/D/E lines of a readback: the records, without header lines. */
static char *py_records(const char *all)
{
	sbuf b = { 0 };
	sb_printf(&b, "%s", "");
	for (const char *l = all; *l;) {
		const char *e = strchr(l, '\n');
		size_t n = e ? (size_t)(e - l) + 1 : strlen(l);
		if (strchr("RUDE", l[0]))
			sb_printf(&b, "%.*s", (int)n, l);
		l += n;
	}
	return b.s;
}

/* Compares the record lines of a readback with the expected ones and
 * fails naming the first line that differs (the texts are long). */
static void py_compare(const char *all, const char *want)
{
	char *got = py_records(all);
	const char *g = got, *w = want;
	unsigned line = 1;
	while (*g && *g == *w) {
		if (*g == '\n')
			line++;
		g++, w++;
	}
	if (*g || *w) {
		while (g > got && g[-1] != '\n')
			g--;
		while (w > want && w[-1] != '\n')
			w--;
		fail_msg("python-evtx line %u differs:\n got: %.200s\nwant: %.200s", line, g, w);
	}
	free(got);
}

/* ---- libevtx ---- */

/* Record index i of f must be r with this id: header values, XML fields
 * and libevtx's string list. */
static void lx_check(libevtx_file_t *f, int i, const evtxw_record *r, uint64_t id)
{
	libevtx_record_t *rec = NULL;
	uint64_t v64 = 0;
	uint32_t v32 = 0;
	int n = -1;
	char want[9000], val[8192];

	assert_int_equal(libevtx_file_get_record_by_index(f, i, &rec, NULL), 1);
	assert_int_equal(libevtx_record_get_identifier(rec, &v64, NULL), 1);
	assert_int_equal(v64, id);
	assert_int_equal(libevtx_record_get_written_time(rec, &v64, NULL), 1);
	assert_int_equal(v64, r->filetime);
	assert_int_equal(libevtx_record_get_event_identifier(rec, &v32, NULL), 1);
	assert_int_equal(v32, r->event_id);

	char *xml = lx_xml(rec);
	snprintf(want, sizeof want, "<EventRecordID>%" PRIu64 "</EventRecordID>", id);
	assert_non_null(strstr(xml, want));
	snprintf(want, sizeof want, "<Computer>%s</Computer>",
	         r->computer ? r->computer : "localhost");
	assert_non_null(strstr(xml, want));
	snprintf(want, sizeof want, "<Execution ProcessID=\"%u\" ThreadID=\"%u\"/>", r->pid,
	         r->tid);
	assert_non_null(strstr(xml, want));
	fmt_filetime(LX, r->filetime, val, sizeof val);
	snprintf(want, sizeof want, "<TimeCreated SystemTime=\"%s\"/>", val);
	assert_non_null(strstr(xml, want));

	/* libevtx lists the non-null values, in order */
	int k = 0;
	assert_int_equal(libevtx_record_get_number_of_strings(rec, &n, NULL), 1);
	for (size_t j = 0; j < r->n_fields; j++) {
		const evtxw_field *fd = &r->fields[j];
		if (fd->type == EVTXW_NULL)
			continue; /* libevtx drops the element of a Null value */
		render(LX, fd, val, sizeof val);
		if (r->userdata)
			snprintf(want, sizeof want, "<%s>%s</%s>", fd->name, val, fd->name);
		else if (*val)
			snprintf(want, sizeof want, "<Data Name=\"%s\">%s</Data>", fd->name, val);
		else
			snprintf(want, sizeof want, "<Data Name=\"%s\"/>", fd->name);
		if (!strstr(xml, want))
			fail_msg("record %" PRIu64 ": %s not in\n%s", id, want, xml);
		if (*val) {
			assert_true(k < n);
			char *s = lx_string(rec, k);
			assert_string_equal(s, val);
			free(s);
		}
		k++;
	}
	free(xml);
	libevtx_record_free(&rec, NULL);
}

/* ---- reading the file directly ---- */

static void read_at(const char *path, void *buf, size_t n, off_t off)
{
	FILE *f = fopen(path, "rb");
	assert_non_null(f);
	assert_int_equal(fseeko(f, off, SEEK_SET), 0);
	assert_int_equal(fread(buf, 1, n, f), n);
	fclose(f);
}

static off_t chunk_off(uint32_t slot)
{
	return (off_t)EVTX_FILE_HEADER_SIZE + (off_t)slot * EVTX_CHUNK_SIZE;
}

static void chunk_header(const char *path, uint32_t slot, evtx_chunk_header *h)
{
	static uint8_t c[EVTX_CHUNK_SIZE];
	read_at(path, c, sizeof c, chunk_off(slot));
	evtx_chunk_parse(c, sizeof c, h);
}

static void file_header(const char *path, evtx_file_header *h)
{
	uint8_t b[128];
	read_at(path, b, sizeof b, 0);
	evtx_file_header_parse(b, sizeof b, h);
}

/* Template definitions reachable from a chunk's template table. */
static unsigned chunk_templates(const char *path, uint32_t slot)
{
	static uint8_t c[EVTX_CHUNK_SIZE];
	unsigned n = 0;
	read_at(path, c, sizeof c, chunk_off(slot));
	for (unsigned b = 0; b < 32; b++) {
		uint32_t off;
		memcpy(&off, c + 384 + 4 * b, 4);
		for (; off && n < 1000; n++)
			memcpy(&off, c + off, 4);
	}
	return n;
}

/* Names reachable from a chunk's string table, each checked against its
 * hash; -1 if a name's stored hash is wrong. */
static int chunk_names(const char *path, uint32_t slot)
{
	static uint8_t c[EVTX_CHUNK_SIZE];
	int n = 0;
	read_at(path, c, sizeof c, chunk_off(slot));
	for (unsigned b = 0; b < 64; b++) {
		uint32_t off;
		memcpy(&off, c + 128 + 4 * b, 4);
		for (; off && n < 1000; n++) {
			uint16_t hash, len;
			uint32_t h = 0;
			memcpy(&hash, c + off + 4, 2);
			memcpy(&len, c + off + 6, 2);
			for (unsigned i = 0; i < len; i++)
				h = h * 65599u + (uint32_t)(c[off + 8 + 2 * i] | c[off + 9 + 2 * i] << 8);
			if ((uint16_t)h != hash || hash % 64 != b)
				return -1;
			memcpy(&off, c + off, 4);
		}
	}
	return n;
}

/* Writes records first_id.. generated from gen(seq0 + k). */
static void append_gen(evtxw *w, uint64_t seq0, unsigned count)
{
	trec t;
	dw_err err;
	for (unsigned k = 0; k < count; k++) {
		gen(&t, seq0 + k);
		if (evtxw_append(w, &t.r, NULL, &err) != DW_OK)
			fail_msg("append: %s", err.msg);
	}
}

/* ---- tests ---- */

static void test_every_type(void **state)
{
	(void)state;
	char path[1100];
	tu_path(path, sizeof path, "types.evtx");
	evtxw_field f[] = {
		{ "SubjectUserSid", EVTXW_SID, "S-1-5-21-4230534742-2542757381-3142984815-1111", 0 },
		{ "Str", EVTXW_STRING, "C:\\Program Files\\x.exe \xc3\xa9t\xc3\xa9", 0 },
		{ "Empty", EVTXW_STRING, "", 0 },
		{ "U8", EVTXW_UINT8, NULL, 200 },
		{ "U16", EVTXW_UINT16, NULL, 60000 },
		{ "U32", EVTXW_UINT32, NULL, 4000000000u },
		{ "U64", EVTXW_UINT64, NULL, 18000000000000000000ull },
		{ "Time", EVTXW_FILETIME, NULL, FT0 + 1230 },
		{ "Guid", EVTXW_GUID, "{fc65ddd8-d6ef-4962-83d5-6e5cfe9ce148}", 0 },
		{ "AccessMask", EVTXW_HEXINT32, NULL, 0x1fffff },
		{ "HandleId", EVTXW_HEXINT64, NULL, 0xaf8 },
		{ "Nothing", EVTXW_NULL, NULL, 0 },
		{ "SystemSid", EVTXW_SID, "S-1-5-18", 0 },
	};
	evtxw_record r = { .event_id = 4690, .task = 12807, .keywords = EVTXW_KEYWORDS_AUDIT_SUCCESS,
	                   .filetime = FT0, .computer = "fs01.offsec.lan", .pid = 4, .tid = 6208,
	                   .fields = f, .n_fields = sizeof f / sizeof f[0] };
	evtxw_field uf[] = { { "SubjectUserSid", EVTXW_SID, "S-1-5-21-1-2-3-1111", 0 },
	                     { "SubjectUserName", EVTXW_STRING, "admmig", 0 },
	                     { "SubjectLogonId", EVTXW_HEXINT64, NULL, 0x65b0f5db } };
	evtxw_record u = { .event_id = 1102, .level = 4, .task = 104,
	                   .provider = "Microsoft-Windows-Eventlog",
	                   .provider_guid = "{fc65ddd8-d6ef-4962-83d5-6e5cfe9ce148}",
	                   .filetime = FT0 + 20000000, .computer = "fs01.offsec.lan", .pid = 940,
	                   .tid = 1040, .userdata = "LogFileCleared",
	                   .userdata_ns = "http://manifests.microsoft.com/win/2004/08/windows/eventlog",
	                   .fields = uf, .n_fields = 3 };
	evtxw *w;
	dw_err err;
	uint64_t id1, id2;
	evtxw_opts o = { .n_chunks = 2, .first_id = 2183518 };
	assert_int_equal(evtxw_create(&w, path, &o, &err), DW_OK);
	assert_int_equal(evtxw_append(w, &u, &id1, &err), DW_OK);
	assert_int_equal(evtxw_append(w, &r, &id2, &err), DW_OK);
	assert_int_equal(id1, 2183518);
	assert_int_equal(id2, 2183519);
	assert_int_equal(evtxw_next_id(w), 2183520);
	assert_int_equal(evtxw_close(w, &err), DW_OK);

	libevtx_file_t *lf = lx_open(path);
	assert_int_equal(lx_count(lf), 2);
	lx_check(lf, 0, &u, id1);
	lx_check(lf, 1, &r, id2);
	libevtx_record_t *rec = NULL;
	assert_int_equal(libevtx_file_get_record_by_index(lf, 1, &rec, NULL), 1);
	char *xml = lx_xml(rec);
	assert_non_null(strstr(xml, "<Provider Name=\"Microsoft-Windows-Security-Auditing\" "
	                            "Guid=\"{54849625-5478-4994-A5BA-3E3B0328C30D}\"/>"));
	assert_non_null(strstr(xml, "<Keywords>0x8020000000000000</Keywords>"));
	assert_non_null(strstr(xml, "<Task>12807</Task>"));
	assert_null(strstr(xml, "Nothing")); /* a Null value drops the element */
	free(xml);
	libevtx_record_free(&rec, NULL);
	lx_close(lf);

	sbuf py, want = { 0 };
	if (!py_readback(path, &py))
		skip();
	assert_non_null(strstr(py.s, "F verify=1 dirty=0 next=2183520 chunks=1\n"));
	assert_non_null(strstr(py.s, "C 0 magic=1 verify=1\n"));
	py_expect(&want, &u, id1);
	py_expect(&want, &r, id2);
	py_compare(py.s, want.s);
	free(want.s);
	free(py.s);
}

static void test_chunks_and_templates(void **state)
{
	(void)state;
	enum { N = 400 }; /* 5 chunks; python-evtx reads ~100 records a second */
	char path[1100];
	tu_path(path, sizeof path, "chunks.evtx");
	evtxw *w;
	dw_err err;
	evtxw_opts o = { .n_chunks = 32, .first_id = 1 };
	assert_int_equal(evtxw_create(&w, path, &o, &err), DW_OK);
	append_gen(w, 0, N);
	assert_int_equal(evtxw_close(w, &err), DW_OK);

	struct stat sb;
	assert_int_equal(stat(path, &sb), 0);
	assert_int_equal(sb.st_size, chunk_off(32)); /* preallocated, never grown */
	evtx_file_header fh;
	file_header(path, &fh);
	assert_true(fh.sig_ok && fh.crc_ok);
	assert_true(fh.n_chunks >= 3);
	assert_int_equal(fh.next_record_id, N + 1);
	assert_int_equal(fh.last_chunk, fh.n_chunks - 1u);
	assert_int_equal(fh.flags & EVTX_FILE_DIRTY, 0);
	uint64_t next = 1;
	for (uint32_t c = 0; c < fh.n_chunks; c++) {
		evtx_chunk_header ch;
		chunk_header(path, c, &ch);
		assert_true(ch.sig_ok && ch.header_crc_ok && ch.data_crc_ok);
		assert_int_equal(ch.first_id, next);
		next = ch.last_id + 1;
		/* 2 computers (System) + 3 field lists (EventData), once each */
		assert_int_equal(chunk_templates(path, c), 5);
		/* 28 names (26 of Event/System, EventData, Data), once each */
		assert_int_equal(chunk_names(path, c), 28);
	}
	assert_int_equal(next, N + 1);

	libevtx_file_t *lf = lx_open(path);
	assert_int_equal(lx_count(lf), N);
	trec t;
	for (int i = 0; i < N; i++) {
		gen(&t, (uint64_t)i);
		lx_check(lf, i, &t.r, (uint64_t)i + 1);
	}
	lx_close(lf);

	sbuf py, want = { 0 };
	if (!py_readback(path, &py))
		skip();
	for (int i = 0; i < N; i++) {
		gen(&t, (uint64_t)i);
		py_expect(&want, &t.r, (uint64_t)i + 1);
	}
	for (uint32_t c = 0; c < fh.n_chunks; c++) {
		char line[64];
		snprintf(line, sizeof line, "C %u magic=1 verify=1\n", c);
		assert_non_null(strstr(py.s, line));
	}
	py_compare(py.s, want.s);
	free(want.s);
	free(py.s);
}

/* Fills chunk 0 to its last usable byte with a record sized by
 * evtxw_measure(), then one more record; returns the filling record's id
 * and the record in *t. */
static uint64_t fill_exactly(const char *path, bool to_end, trec *t, char *pad, size_t cap)
{
	evtxw *w;
	dw_err err;
	evtxw_opts o = { .n_chunks = 3, .fill_to_end = to_end };
	assert_int_equal(evtxw_create(&w, path, &o, &err), DW_OK);
	uint64_t seq = 0;
	while (evtxw_chunk_free(w) == 0 || evtxw_chunk_free(w) > 3000)
		append_gen(w, seq++, 1);
	/* a CommandLine that makes the record exactly as large as the space
	 * left: the size grows by 8 every 4 characters */
	uint32_t left = evtxw_chunk_free(w);
	gen(t, 2);
	memset(pad, 0, cap);
	t->f[t->r.n_fields - 2].text = pad;
	size_t len = 0;
	uint32_t size = evtxw_measure(w, &t->r);
	assert_true(size > 0 && size < left);
	while (size && size < left && len + 1 < cap) {
		pad[len++] = 'x';
		size = evtxw_measure(w, &t->r);
	}
	assert_int_equal(size, left);
	uint64_t id;
	assert_int_equal(evtxw_append(w, &t->r, &id, &err), DW_OK);
	assert_int_equal(evtxw_chunk_free(w), 0);
	assert_int_equal(evtxw_measure(w, &t->r), 0); /* nothing more fits */
	append_gen(w, 1000, 1);                       /* goes to the next chunk */
	assert_int_equal(evtxw_close(w, &err), DW_OK);

	evtx_chunk_header ch;
	chunk_header(path, 0, &ch);
	assert_true(ch.header_crc_ok && ch.data_crc_ok);
	assert_int_equal(ch.free_off, to_end ? EVTX_CHUNK_SIZE : EVTX_CHUNK_SIZE - 8);
	assert_int_equal(ch.last_id, id);
	chunk_header(path, 1, &ch);
	assert_int_equal(ch.first_id, id + 1);
	return id;
}

static void test_chunk_filled_exactly(void **state)
{
	(void)state;
	char path[1100], path_end[1100], line[128];
	static char pad[4000];
	trec t;
	tu_path(path, sizeof path, "exact.evtx");
	uint64_t id = fill_exactly(path, false, &t, pad, sizeof pad);
	libevtx_file_t *lf = lx_open(path);
	assert_int_equal(lx_count(lf), (int)id + 1);
	lx_check(lf, (int)id - 1, &t.r, id);
	lx_close(lf);

	/* up to the very last byte: the record chain still ends cleanly (an
	 * edge for readers; libevtx 20181227 skips that last record) */
	tu_path(path_end, sizeof path_end, "exact-end.evtx");
	uint64_t id_end = fill_exactly(path_end, true, &t, pad, sizeof pad);
	{
		static uint8_t c[EVTX_CHUNK_SIZE];
		evtx_rec_ref refs[1000];
		uint32_t stop;
		read_at(path_end, c, sizeof c, chunk_off(0));
		assert_int_equal(evtx_chunk_records(c, EVTX_CHUNK_SIZE, refs, 1000, &stop), id_end);
		assert_int_equal(stop, EVTX_CHUNK_SIZE);
	}

	sbuf py;
	if (!py_readback(path, &py))
		skip();
	assert_non_null(strstr(py.s, "C 0 magic=1 verify=1\nR 1 "));
	snprintf(line, sizeof line, "\nR %" PRIu64 " ", id);
	assert_non_null(strstr(py.s, line));
	snprintf(line, sizeof line, "\nR %" PRIu64 " ", id + 1);
	assert_non_null(strstr(py.s, line));
	assert_null(strstr(py.s, "\nE "));
	free(py.s);
	assert_true(py_readback(path_end, &py));
	snprintf(line, sizeof line, "\nR %" PRIu64 " ", id_end);
	assert_non_null(strstr(py.s, line));
	assert_null(strstr(py.s, "verify=0"));
	free(py.s);
}

static void test_live_append_and_sync(void **state)
{
	(void)state;
	char path[1100];
	tu_path(path, sizeof path, "live.evtx");
	evtxw *w;
	dw_err err;
	evtxw_opts o = { .n_chunks = 4 };
	assert_int_equal(evtxw_create(&w, path, &o, &err), DW_OK);
	struct stat sb0, sb;
	assert_int_equal(stat(path, &sb0), 0);

	/* an empty live log opens, with no records */
	libevtx_file_t *lf = lx_open(path);
	assert_int_equal(lx_count(lf), 0);
	lx_close(lf);

	trec t;
	uint64_t total = 0;
	for (unsigned step = 1; total < 260; step++) {
		unsigned k = step % 7 + 1; /* records per write */
		append_gen(w, total, k);
		total += k;
		if (step % 5 == 0) {
			/* torn: records are in the file, the headers are not */
			assert_int_equal(evtxw_flush(w, &err), DW_OK);
			evtx_file_header fh;
			file_header(path, &fh);
			evtx_chunk_header ch;
			chunk_header(path, (uint32_t)fh.last_chunk, &ch);
			assert_true(fh.crc_ok);
			assert_false(ch.sig_ok && ch.data_crc_ok && ch.last_id == total);
		}
		assert_int_equal(evtxw_sync(w, &err), DW_OK);
		evtx_file_header fh;
		file_header(path, &fh);
		assert_true(fh.crc_ok);
		assert_int_equal(fh.flags & EVTX_FILE_DIRTY, EVTX_FILE_DIRTY);
		assert_int_equal(fh.next_record_id, total + 1);
		evtx_chunk_header ch;
		chunk_header(path, (uint32_t)fh.last_chunk, &ch);
		assert_true(ch.sig_ok && ch.header_crc_ok && ch.data_crc_ok);
		assert_int_equal(ch.last_id, total);

		lf = lx_open(path);
		assert_int_equal(lx_count(lf), (int)total);
		gen(&t, total - 1);
		lx_check(lf, (int)total - 1, &t.r, total);
		lx_close(lf);
		assert_int_equal(stat(path, &sb), 0);
		assert_int_equal(sb.st_size, sb0.st_size);
	}
	assert_int_equal(evtxw_close(w, &err), DW_OK);

	sbuf py, want = { 0 };
	if (!py_readback(path, &py))
		skip();
	for (uint64_t i = 0; i < total; i++) {
		gen(&t, i);
		py_expect(&want, &t.r, i + 1);
	}
	py_compare(py.s, want.s);
	free(want.s);
	free(py.s);
}

static void test_wrap(void **state)
{
	(void)state;
	char path[1100];
	tu_path(path, sizeof path, "wrap.evtx");
	evtxw *w;
	dw_err err;
	evtxw_opts o = { .n_chunks = 3, .wrap = true };
	assert_int_equal(evtxw_create(&w, path, &o, &err), DW_OK);
	append_gen(w, 0, 2000); /* about 7 chunks' worth: wraps twice */
	assert_int_equal(evtxw_close(w, &err), DW_OK);

	evtx_file_header fh;
	file_header(path, &fh);
	assert_true(fh.crc_ok);
	assert_int_equal(fh.n_chunks, 3);
	assert_int_equal(fh.first_chunk, (fh.last_chunk + 1) % 3);
	assert_int_equal(fh.next_record_id, 2001);
	/* the three chunks, oldest first, hold consecutive ids up to 2000 */
	evtx_chunk_header ch[3];
	for (uint32_t k = 0; k < 3; k++) {
		chunk_header(path, (uint32_t)(fh.first_chunk + k) % 3, &ch[k]);
		assert_true(ch[k].header_crc_ok && ch[k].data_crc_ok);
		if (k)
			assert_int_equal(ch[k].first_id, ch[k - 1].last_id + 1);
	}
	assert_int_equal(ch[2].last_id, 2000);
	uint64_t first = ch[0].first_id;
	assert_true(first > 1);

	libevtx_file_t *lf = lx_open(path);
	int n = lx_count(lf);
	assert_int_equal(n, (int)(2001 - first));
	/* libevtx reads in slot order; every surviving record is there */
	trec t;
	for (int i = 0; i < n; i++) {
		libevtx_record_t *rec = NULL;
		uint64_t id = 0;
		assert_int_equal(libevtx_file_get_record_by_index(lf, i, &rec, NULL), 1);
		assert_int_equal(libevtx_record_get_identifier(rec, &id, NULL), 1);
		libevtx_record_free(&rec, NULL);
		assert_true(id >= first && id <= 2000);
		gen(&t, id - 1);
		lx_check(lf, i, &t.r, id);
	}
	lx_close(lf);

	/* without wrap, a full log refuses records and stays readable */
	tu_path(path, sizeof path, "full.evtx");
	o.wrap = false;
	o.n_chunks = 1;
	assert_int_equal(evtxw_create(&w, path, &o, &err), DW_OK);
	trec tt;
	dw_status st = DW_OK;
	uint64_t seq = 0;
	while (st == DW_OK && seq < 1000) {
		gen(&tt, seq++);
		st = evtxw_append(w, &tt.r, NULL, &err);
	}
	assert_int_equal(st, DW_RANGE);
	assert_non_null(strstr(err.msg, "log full"));
	uint64_t kept = evtxw_next_id(w) - 1;
	assert_int_equal(kept, seq - 1);
	assert_int_equal(evtxw_close(w, &err), DW_OK);
	file_header(path, &fh);
	assert_int_equal(fh.flags & EVTX_FILE_FULL, EVTX_FILE_FULL);
	lf = lx_open(path);
	assert_int_equal(lx_count(lf), (int)kept);
	lx_close(lf);

	sbuf py;
	tu_path(path, sizeof path, "wrap.evtx");
	if (!py_readback(path, &py))
		skip();
	for (uint64_t id = first; id <= 2000; id++) {
		char line[64];
		snprintf(line, sizeof line, "R %" PRIu64 " ", id);
		assert_non_null(strstr(py.s, line));
	}
	assert_null(strstr(py.s, "verify=0"));
	assert_null(strstr(py.s, "\nE "));
	free(py.s);
}

static void test_clear(void **state)
{
	(void)state;
	char path[1100];
	tu_path(path, sizeof path, "clear.evtx");
	evtxw *w;
	dw_err err;
	struct stat before, after;
	evtxw_opts o = { .n_chunks = 4, .first_id = 500 };
	assert_int_equal(evtxw_create(&w, path, &o, &err), DW_OK);
	append_gen(w, 0, 250);
	assert_int_equal(evtxw_sync(w, &err), DW_OK);
	assert_int_equal(stat(path, &before), 0);

	assert_int_equal(evtxw_clear(w, 1, &err), DW_OK);
	evtxw_field uf[] = { { "SubjectUserSid", EVTXW_SID, "S-1-5-21-1-2-3-500", 0 },
	                     { "SubjectUserName", EVTXW_STRING, "admin", 0 } };
	evtxw_record cleared = { .event_id = 1102, .provider = "Microsoft-Windows-Eventlog",
	                         .filetime = FT0, .userdata = "LogFileCleared",
	                         .fields = uf, .n_fields = 2 };
	uint64_t id;
	assert_int_equal(evtxw_append(w, &cleared, &id, &err), DW_OK);
	assert_int_equal(id, 1);
	append_gen(w, 0, 5);
	assert_int_equal(evtxw_sync(w, &err), DW_OK);
	assert_int_equal(stat(path, &after), 0);
	assert_int_equal(after.st_ino, before.st_ino);
	assert_int_equal(after.st_size, before.st_size);

	libevtx_file_t *lf = lx_open(path);
	assert_int_equal(lx_count(lf), 6);
	lx_check(lf, 0, &cleared, 1);
	trec t;
	gen(&t, 4);
	lx_check(lf, 5, &t.r, 6);
	lx_close(lf);
	assert_int_equal(evtxw_close(w, &err), DW_OK);
}

#define DAMAGE_N 300 /* records of the log to damage: 3 chunks */

static void damage_base(const char *path)
{
	evtxw *w;
	dw_err err;
	evtxw_opts o = { .n_chunks = 4 };
	assert_int_equal(evtxw_create(&w, path, &o, &err), DW_OK);
	append_gen(w, 0, DAMAGE_N);
	assert_int_equal(evtxw_close(w, &err), DW_OK);
	evtx_file_header fh;
	file_header(path, &fh);
	assert_int_equal(fh.n_chunks, 3);
}

static void test_damage(void **state)
{
	(void)state;
	char path[1100];
	dw_err err;
	evtx_chunk_header ch;
	evtx_file_header fh;
	libevtx_file_t *lf;
	sbuf py;
	bool have_py = true;

	tu_path(path, sizeof path, "dmg-sig.evtx");
	damage_base(path);
	chunk_header(path, 1, &ch);
	uint64_t in_chunk1 = ch.last_id - ch.first_id + 1;
	assert_int_equal(evtxw_damage_chunk_sig(path, 1, &err), DW_OK);
	chunk_header(path, 1, &ch);
	assert_false(ch.sig_ok);
	lf = lx_open(path); /* the other chunks are still read */
	assert_int_equal(lx_count(lf), (int)(DAMAGE_N - in_chunk1));
	lx_close(lf);
	if ((have_py = py_readback(path, &py))) {
		assert_non_null(strstr(py.s, "C 1 magic=0 verify=0\n"));
		assert_non_null(strstr(py.s, "C 2 magic=1 verify=1\n"));
		free(py.s);
	}

	tu_path(path, sizeof path, "dmg-crc.evtx");
	damage_base(path);
	assert_int_equal(evtxw_damage_chunk_crc(path, 0, EVTXW_CRC_HEADER, &err), DW_OK);
	assert_int_equal(evtxw_damage_chunk_crc(path, 2, EVTXW_CRC_DATA, &err), DW_OK);
	chunk_header(path, 0, &ch);
	assert_true(ch.sig_ok && !ch.header_crc_ok && ch.data_crc_ok);
	chunk_header(path, 2, &ch);
	assert_true(ch.sig_ok && ch.header_crc_ok && !ch.data_crc_ok);
	chunk_header(path, 1, &ch);
	assert_true(ch.header_crc_ok && ch.data_crc_ok);
	if (have_py && py_readback(path, &py)) {
		assert_non_null(strstr(py.s, "C 0 magic=1 verify=0\n"));
		assert_non_null(strstr(py.s, "C 1 magic=1 verify=1\n"));
		assert_non_null(strstr(py.s, "C 2 magic=1 verify=0\n"));
		free(py.s);
	}

	tu_path(path, sizeof path, "dmg-strings.evtx");
	damage_base(path);
	assert_int_equal(evtxw_damage_string_table(path, 0, 10, 0x1234, &err), DW_OK);
	assert_int_equal(evtxw_damage_string_table(path, 0, 64, 0, &err), DW_USAGE);
	chunk_header(path, 0, &ch);
	assert_true(ch.header_crc_ok && ch.data_crc_ok); /* only the table is wrong */
	uint8_t h[512];
	read_at(path, h, sizeof h, chunk_off(0));
	assert_memory_equal(h + 128 + 40, "\x34\x12\0\0", 4);

	tu_path(path, sizeof path, "dmg-trunc.evtx");
	damage_base(path);
	assert_int_equal(evtxw_damage_truncate(path, chunk_off(1) + 1000, &err), DW_OK);
	struct stat sb;
	assert_int_equal(stat(path, &sb), 0);
	assert_int_equal(sb.st_size, chunk_off(1) + 1000);

	tu_path(path, sizeof path, "dmg-tear.evtx");
	damage_base(path);
	chunk_header(path, 1, &ch);
	uint64_t torn = ch.first_id + 10;
	assert_int_equal(evtxw_damage_record(path, torn, EVTXW_TEAR, &err), DW_OK);
	chunk_header(path, 1, &ch);
	assert_true(ch.header_crc_ok && !ch.data_crc_ok);
	{
		static uint8_t c[EVTX_CHUNK_SIZE];
		evtx_rec_ref refs[1000];
		uint32_t stop;
		read_at(path, c, sizeof c, chunk_off(1));
		size_t n = evtx_chunk_records(c, ch.free_off, refs, 1000, &stop);
		assert_int_equal(n, 10); /* the chain breaks at the torn record */
		assert_true(stop < ch.free_off);
	}
	assert_int_equal(evtxw_damage_record(path, 99999, EVTXW_TEAR, &err), DW_RANGE);

	tu_path(path, sizeof path, "dmg-garble.evtx");
	damage_base(path);
	assert_int_equal(evtxw_damage_record(path, 5, EVTXW_GARBLE, &err), DW_OK);
	chunk_header(path, 0, &ch);
	assert_true(ch.header_crc_ok && ch.data_crc_ok);
	file_header(path, &fh);
	assert_true(fh.crc_ok);
	lf = lx_open(path);
	libevtx_record_t *rec = NULL;
	libevtx_error_t *le = NULL;
	assert_int_equal(libevtx_file_get_record_by_index(lf, 4, &rec, &le), -1);
	libevtx_error_free(&le);
	lx_close(lf);
	if (have_py && py_readback(path, &py)) {
		assert_non_null(strstr(py.s, "\nE chunk=0 "));
		assert_non_null(strstr(py.s, "\nR 4 "));
		assert_non_null(strstr(py.s, "\nR 6 "));
		free(py.s);
	}
	if (!have_py)
		skip();
}

static void test_bad_input(void **state)
{
	(void)state;
	char path[1100];
	tu_path(path, sizeof path, "bad.evtx");
	evtxw *w = NULL;
	dw_err err;
	evtxw_opts o = { .n_chunks = 0 };
	assert_int_equal(evtxw_create(&w, path, &o, &err), DW_USAGE);
	assert_null(w);
	o.n_chunks = 2;
	assert_int_equal(evtxw_create(&w, "/nonexistent-dir/x.evtx", &o, &err), DW_OPEN);
	assert_non_null(strstr(err.msg, "/nonexistent-dir/x.evtx"));
	assert_int_equal(evtxw_create(&w, path, &o, &err), DW_OK);

	evtxw_field f[2] = { { "SubjectUserSid", EVTXW_SID, "S-1-5-21-x", 0 },
	                     { "G", EVTXW_GUID, "{not-a-guid}", 0 } };
	evtxw_record r = { .event_id = 4690, .filetime = FT0, .fields = f, .n_fields = 1 };
	assert_int_equal(evtxw_append(w, &r, NULL, &err), DW_USAGE);
	assert_non_null(strstr(err.msg, "SubjectUserSid"));
	r.fields = f + 1;
	assert_int_equal(evtxw_append(w, &r, NULL, &err), DW_USAGE);
	f[0] = (evtxw_field){ "Small", EVTXW_UINT8, NULL, 300 };
	r.fields = f;
	assert_int_equal(evtxw_append(w, &r, NULL, &err), DW_USAGE);
	f[0] = (evtxw_field){ NULL, EVTXW_UINT8, NULL, 1 };
	assert_int_equal(evtxw_append(w, &r, NULL, &err), DW_USAGE);
	assert_non_null(strstr(err.msg, "no name"));
	assert_int_equal(evtxw_next_id(w), 1); /* nothing was appended */

	static char huge[70000];
	memset(huge, 'a', sizeof huge - 1);
	f[0] = (evtxw_field){ "CommandLine", EVTXW_STRING, huge, 0 };
	assert_int_equal(evtxw_append(w, &r, NULL, &err), DW_RANGE);
	assert_int_equal(evtxw_measure(w, &r), 0);

	/* the writer is still usable and the file still clean */
	append_gen(w, 0, 3);
	assert_int_equal(evtxw_close(w, &err), DW_OK);
	libevtx_file_t *lf = lx_open(path);
	assert_int_equal(lx_count(lf), 3);
	trec t;
	gen(&t, 2);
	lx_check(lf, 2, &t.r, 3);
	lx_close(lf);
	assert_int_equal(evtxw_close(NULL, &err), DW_OK);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_type),
		cmocka_unit_test(test_chunks_and_templates),
		cmocka_unit_test(test_chunk_filled_exactly),
		cmocka_unit_test(test_live_append_and_sync),
		cmocka_unit_test(test_wrap),
		cmocka_unit_test(test_clear),
		cmocka_unit_test(test_damage),
		cmocka_unit_test(test_bad_input),
	};
	return cmocka_run_group_tests(tests, tu_group_setup, tu_group_teardown);
}
