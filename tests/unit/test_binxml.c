/* BinXML fast path, differentially: every record of every sample in
 * DW_SAMPLES and of writer-made logs is read twice - by libevtx (XML, then
 * xmlev_doc_parse) and by binxml - and the two events must be equal field
 * for field whenever the fast path accepts a record. Records it hands back
 * to libevtx are counted and printed. Also: hostile chunks (random damage,
 * truncation) never crash, hang or accept a record that libevtx reads
 * differently. */
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <libevtx.h>

#include "binxml.h"
#include "crc32.h"
#include "evdiff.h"
#include "event.h"
#include "evtx_chunk.h"
#include "evtxw.h"
#include "intern.h"
#include "le.h"
#include "testutil.h"
#include "xmlev.h"

/* ---- the reference: libevtx on the whole file ---- */

/* libevtx 20181227 reports every record's offset as 0: records are matched
 * by the identifier in their header instead. */
typedef struct refrec {
	uint64_t id; /* record header identifier */
	dw_status st;
	event ev;
} refrec;

typedef struct reflog {
	refrec *r;
	size_t n;
} reflog;

static int cmp_ref(const void *a, const void *b)
{
	const refrec *x = a, *y = b;
	return x->id < y->id ? -1 : x->id > y->id;
}

static void ref_read(const char *path, reflog *out)
{
	libevtx_file_t *f = NULL;
	libevtx_error_t *e = NULL;
	memset(out, 0, sizeof *out);
	assert_int_equal(libevtx_file_initialize(&f, NULL), 1);
	if (libevtx_file_open(f, path, LIBEVTX_OPEN_READ, &e) != 1) {
		libevtx_error_free(&e);
		libevtx_file_free(&f, NULL);
		return;
	}
	int n = 0;
	assert_int_equal(libevtx_file_get_number_of_records(f, &n, NULL), 1);
	out->r = calloc((size_t)n + 1, sizeof *out->r);
	assert_non_null(out->r);
	xmlev_doc *d = xmlev_doc_create();
	assert_non_null(d);
	for (int i = 0; i < n; i++) {
		libevtx_record_t *rec = NULL;
		if (libevtx_file_get_record_by_index(f, i, &rec, NULL) != 1)
			continue;
		refrec *r = &out->r[out->n++];
		uint64_t id = 0;
		size_t sz = 0;
		libevtx_record_get_identifier(rec, &id, NULL);
		r->id = id;
		r->st = DW_PARSE;
		if (libevtx_record_get_utf8_xml_string_size(rec, &sz, NULL) == 1) {
			char *xml = malloc(sz + 1);
			assert_non_null(xml);
			if (libevtx_record_get_utf8_xml_string(rec, (uint8_t *)xml, sz, NULL) == 1) {
				dw_err err;
				r->st = xmlev_doc_parse(d, xml, strnlen(xml, sz), &r->ev, &err);
				/* as src_evtx.c does */
				if (r->st == DW_OK)
					event_default_record_id(&r->ev, id);
			}
			free(xml);
		}
		libevtx_record_free(&rec, NULL);
	}
	xmlev_doc_destroy(d);
	libevtx_file_close(f, NULL);
	libevtx_file_free(&f, NULL);
	qsort(out->r, out->n, sizeof *out->r, cmp_ref);
}

static void ref_free(reflog *l)
{
	for (size_t i = 0; i < l->n; i++)
		event_free(&l->r[i].ev);
	free(l->r);
}

/* ---- comparing ---- */

typedef struct tally {
	size_t records;   /* found by the fast path's record walk */
	size_t equal;     /* fast path accepted, libevtx agrees */
	size_t fallback;  /* handed back to libevtx */
	size_t ref_fail;  /* fast path accepted, libevtx + xmlev fail */
	size_t unmatched; /* fast path accepted, libevtx does not list it */
	size_t mismatch;  /* accepted and different: a bug */
	char first_fallback[16][600];
} tally;

/* Prints the first difference; true when a and b are equal. */
static bool same_event(const event *a, const event *b, uint64_t off)
{
	char why[1024];
	if (evdiff(a, b, why, sizeof why))
		return true;
	print_error("offset %lld (record %llu): fast vs libevtx: %s\n", (long long)off,
	            (unsigned long long)b->record_id, why);
	return false;
}

typedef struct cmp_ctx {
	const reflog *ref;
	const uint64_t *dup; /* header ids found twice (damage): cannot match */
	size_t n_dup;
	int64_t base; /* file offset of the chunk */
	tally *t;
} cmp_ctx;

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

/* Header ids that occur more than once in the file (ascending). */
static uint64_t *dup_ids(const uint8_t *img, size_t len, size_t *n_dup)
{
	size_t n = 0, cap = 1024;
	uint64_t *ids = malloc(cap * sizeof *ids);
	evtx_rec_ref *refs = malloc(EVTX_CHUNK_MAX_RECORDS * sizeof *refs);
	assert_true(ids && refs);
	for (size_t off = EVTX_FILE_HEADER_SIZE; off + EVTX_CHUNK_SIZE <= len;
	     off += EVTX_CHUNK_SIZE) {
		uint32_t stop;
		size_t k = evtx_chunk_records(img + off, EVTX_CHUNK_SIZE, refs,
		                              EVTX_CHUNK_MAX_RECORDS, &stop);
		for (size_t i = 0; i < k; i++) {
			if (n == cap)
				assert_non_null(ids = realloc(ids, (cap *= 2) * sizeof *ids));
			ids[n++] = refs[i].id;
		}
	}
	qsort(ids, n, sizeof *ids, cmp_u64);
	size_t d = 0;
	for (size_t i = 1; i < n; i++)
		if (ids[i] == ids[i - 1] && (d == 0 || ids[d - 1] != ids[i]))
			ids[d++] = ids[i];
	free(refs);
	*n_dup = d;
	return ids;
}

static void on_record(void *arg, const evtx_rec_ref *rr, dw_status st, event_builder *b,
                      const dw_err *err)
{
	cmp_ctx *c = arg;
	tally *t = c->t;
	refrec key = { .id = rr->id };
	const refrec *r = bsearch(&key, c->ref->r, c->ref->n, sizeof *c->ref->r, cmp_ref);
	if (bsearch(&rr->id, c->dup, c->n_dup, sizeof *c->dup, cmp_u64))
		r = NULL;
	t->records++;
	if (st != DW_OK) {
		assert_true(st == DW_FORMAT || st == DW_CORRUPT);
		assert_true(err->status == st && err->msg[0] != '\0');
		if (t->fallback < 16)
			snprintf(t->first_fallback[t->fallback], sizeof t->first_fallback[0],
			         "record %llu: %s", (unsigned long long)rr->id, err->msg);
		t->fallback++;
		return;
	}
	event ev;
	assert_int_equal(evb_finish(b, &ev), DW_OK);
	if (!r)
		t->unmatched++;
	else if (r->st != DW_OK)
		t->ref_fail++;
	else if (same_event(&ev, &r->ev, (uint64_t)c->base + rr->off))
		t->equal++;
	else
		t->mismatch++;
	event_free(&ev);
}

static uint8_t *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	assert_non_null(f);
	assert_int_equal(fseek(f, 0, SEEK_END), 0);
	long n = ftell(f);
	assert_true(n >= 0);
	rewind(f);
	uint8_t *p = malloc((size_t)n + 1);
	assert_non_null(p);
	assert_int_equal(fread(p, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	*len = (size_t)n;
	return p;
}

/* Both readers over the file at path; adds to t. */
static void compare_file(const char *path, tally *t)
{
	reflog ref;
	ref_read(path, &ref);
	size_t len;
	uint8_t *img = slurp(path, &len);
	binxml *bx = binxml_create();
	event_builder b;
	evb_init(&b);
	assert_non_null(bx);
	size_t n_dup;
	uint64_t *dup = dup_ids(img, len, &n_dup);
	for (size_t off = EVTX_FILE_HEADER_SIZE; off + EVTX_CHUNK_HEADER_SIZE <= len;
	     off += EVTX_CHUNK_SIZE) {
		size_t clen = len - off < EVTX_CHUNK_SIZE ? len - off : EVTX_CHUNK_SIZE;
		evtx_chunk_header h;
		evtx_chunk_parse(img + off, clen, &h);
		if (!h.sig_ok)
			continue; /* libevtx skips it too */
		cmp_ctx c = { &ref, dup, n_dup, (int64_t)off, t };
		binxml_parse_chunk(bx, img + off, clen, &b, on_record, &c);
	}
	evb_free(&b);
	binxml_destroy(bx);
	free(dup);
	free(img);
	ref_free(&ref);
}

static void print_tally(const char *name, const tally *t)
{
	print_message("%-40s %6zu records: %6zu equal, %4zu fallback, %3zu libevtx-only "
	              "failures, %3zu not listed by libevtx, %zu mismatches\n",
	              name, t->records, t->equal, t->fallback, t->ref_fail, t->unmatched,
	              t->mismatch);
	for (size_t i = 0; i < t->fallback && i < 16; i++)
		print_message("    fallback: %s\n", t->first_fallback[i]);
}

/* ---- samples ---- */

static void test_samples(void **state)
{
	(void)state;
	const char *dir = getenv("DW_SAMPLES");
	DIR *d = dir ? opendir(dir) : NULL;
	if (!d) {
		print_message("DW_SAMPLES not set or not readable: skipped\n");
		skip();
	}
	struct dirent *de;
	tally all = { 0 };
	size_t files = 0;
	while ((de = readdir(d))) {
		size_t n = strlen(de->d_name);
		if (n < 5 || strcmp(de->d_name + n - 5, ".evtx") != 0)
			continue;
		char path[4096];
		snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
		tally t = { 0 };
		compare_file(path, &t);
		print_tally(de->d_name, &t);
		all.records += t.records;
		all.equal += t.equal;
		all.fallback += t.fallback;
		all.mismatch += t.mismatch;
		files++;
	}
	closedir(d);
	if (!files) {
		print_message("no .evtx in DW_SAMPLES: skipped\n");
		skip();
	}
	print_message("samples: %zu records, %zu equal, %zu fallback, %zu mismatches\n",
	              all.records, all.equal, all.fallback, all.mismatch);
	assert_int_equal(all.mismatch, 0);
	/* the fast path must carry the load, not hand it all back */
	assert_true(all.equal * 10 >= all.records * 9);
}

/* ---- writer-made logs ---- */

static char tmpdir[256];

static int setup_tmp(void **state)
{
	(void)state;
	const char *t = getenv("TMPDIR");
	snprintf(tmpdir, sizeof tmpdir, "%s/dw-binxml-XXXXXX", t && *t ? t : "/tmp");
	return mkdtemp(tmpdir) ? 0 : -1;
}

static int teardown_tmp(void **state)
{
	(void)state;
	char cmd[300];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
	return system(cmd) == 0 ? 0 : -1;
}

#define EMOJI_EVERY 250
#define HOSTILE_EVERY 10

/* A mix of what Windows writes: 4690/4688/4656 with every writer type,
 * line breaks, markup characters, non-ASCII text, NULL values, UserData;
 * and what an attacker may write: terminal controls in values, in a field
 * name and in the computer name (HOSTILE_EVERY). */
static void mixed_record(uint64_t i, evtxw_record *r, evtxw_field *f, char *buf, size_t cap)
{
	static const char *const computers[] = { "ws01.corp.example", "dc01.corp.example",
	                                         "sql02" };
	memset(r, 0, sizeof *r);
	r->version = 1;
	r->task = 12807;
	r->keywords = EVTXW_KEYWORDS_AUDIT_SUCCESS;
	r->filetime = 133000000000000000ull + i * 12345677ull;
	r->computer = computers[i % 3];
	r->pid = 4;
	r->tid = (uint32_t)(100 + i % 50);
	r->fields = f;
	size_t n = 0;
	f[n++] = (evtxw_field){ "SubjectUserSid", EVTXW_SID,
	                        i % 5 ? "S-1-5-21-3623811015-3361044348-30300820-1013" : "S-1-5-18", 0 };
	/* libevtx decodes characters outside the BMP wrongly: those records
	 * are left to it (EMOJI_EVERY) */
	f[n++] = (evtxw_field){ "SubjectUserName", EVTXW_STRING,
	                        i % EMOJI_EVERY == 7 ? "smile 😀" : i % 4 ? "jdoe" : "Ünïcødé", 0 };
	f[n++] = (evtxw_field){ "SubjectDomainName", EVTXW_STRING, "CORP", 0 };
	f[n++] = (evtxw_field){ "SubjectLogonId", EVTXW_HEXINT64, NULL, 0x3e7 + i };
	switch (i % 5) {
	case 0:
		r->event_id = 4690;
		f[n++] = (evtxw_field){ "SourceHandleId", EVTXW_HEXINT64, NULL, 0x100 + i };
		f[n++] = (evtxw_field){ "SourceProcessId", EVTXW_HEXINT64, NULL, 0x678 };
		f[n++] = (evtxw_field){ "TargetHandleId", EVTXW_HEXINT64, NULL, 0x2000 + i };
		f[n++] = (evtxw_field){ "TargetProcessId", EVTXW_HEXINT64, NULL, 4 };
		break;
	case 1:
		r->event_id = 4688;
		snprintf(buf, cap, "cmd.exe /c \"echo <a & b> %llu\"\r\n\tnext line\rlone CR",
		         (unsigned long long)i);
		f[n++] = (evtxw_field){ "NewProcessId", EVTXW_HEXINT64, NULL, 0x10a4 + i };
		f[n++] = (evtxw_field){ "NewProcessName", EVTXW_STRING, "C:\\Windows\\System32\\cmd.exe", 0 };
		f[n++] = (evtxw_field){ "TokenElevationType", EVTXW_STRING, "%%1937", 0 };
		f[n++] = (evtxw_field){ "CommandLine", EVTXW_STRING, buf, 0 };
		f[n++] = (evtxw_field){ "MandatoryLabel", EVTXW_NULL, NULL, 0 };
		f[n++] = (evtxw_field){ "Empty", EVTXW_STRING, "", 0 };
		break;
	case 2:
		r->event_id = 4656;
		f[n++] = (evtxw_field){ "HandleId", EVTXW_HEXINT32, NULL, 0x1ac + i };
		f[n++] = (evtxw_field){ "AccessMask", EVTXW_UINT32, NULL, 0x1fffff };
		f[n++] = (evtxw_field){ "RestrictedSidCount", EVTXW_UINT8, NULL, (uint64_t)(i % 256) };
		f[n++] = (evtxw_field){ "PrivilegeList", EVTXW_UINT16, NULL, 65535 };
		f[n++] = (evtxw_field){ "KeyLength", EVTXW_UINT64, NULL, UINT64_MAX - i };
		f[n++] = (evtxw_field){ "LogonGuid", EVTXW_GUID, "{430ada27-e2ab-e393-2b26-48818c7968d4}", 0 };
		f[n++] = (evtxw_field){ "NewTime", EVTXW_FILETIME, NULL, 132780000000000000ull + i };
		break;
	case 3:
		r->event_id = 1102;
		r->provider = "Microsoft-Windows-Eventlog";
		r->userdata = "LogFileCleared";
		r->userdata_ns = "http://manifests.microsoft.com/win/2004/08/windows/eventlog";
		break;
	default:
		r->event_id = 4689;
		r->channel = "Microsoft-Windows-Sysmon/Operational";
		f[n++] = (evtxw_field){ "Status", EVTXW_HEXINT32, NULL, 0 };
		f[n++] = (evtxw_field){ "ProcessName", EVTXW_STRING, "", 0 };
		f[n++] = (evtxw_field){ "LoneLineFeed", EVTXW_STRING, "\n", 0 };
		f[n++] = (evtxw_field){ "Blank", EVTXW_STRING, " \t", 0 };
		if (i % HOSTILE_EVERY != 9)
			break;
		r->computer = "host\x1b[2J\x07";
		f[n++] = (evtxw_field){ "Title", EVTXW_STRING, "\x1b]0;pwned\x07\x01\x1f\x7f\r\n", 0 };
		/* U+FDD0, U+FDEF: what xmlev hides controls as */
		f[n++] = (evtxw_field){ "Ctl\x1bName", EVTXW_STRING,
		                        "\xef\xb7\x90\x1b\xef\xb7\xaf\xc2\x9b\xe2\x80\xae", 0 };
		break;
	}
	r->n_fields = n;
}

static void write_mixed(const char *path, uint64_t n, uint32_t chunks)
{
	evtxw *w = NULL;
	dw_err err;
	evtxw_opts o = { .n_chunks = chunks, .first_id = 1000 };
	assert_int_equal(evtxw_create(&w, path, &o, &err), DW_OK);
	evtxw_field f[32];
	char buf[256];
	for (uint64_t i = 0; i < n; i++) {
		evtxw_record r;
		mixed_record(i, &r, f, buf, sizeof buf);
		if (evtxw_append(w, &r, NULL, &err) != DW_OK)
			fail_msg("append %llu: %s", (unsigned long long)i, err.msg);
	}
	assert_int_equal(evtxw_close(w, &err), DW_OK);
}

static void test_writer(void **state)
{
	(void)state;
	char path[512];
	snprintf(path, sizeof path, "%s/mixed.evtx", tmpdir);
	write_mixed(path, 3000, 64);
	tally t = { 0 };
	compare_file(path, &t);
	print_tally("writer mixed.evtx", &t);
	assert_int_equal(t.records, 3000);
	assert_int_equal(t.mismatch, 0);
	assert_int_equal(t.unmatched, 0);
	/* everything else the writer produces is in the fast path's reach */
	assert_int_equal(t.fallback, 3000 / EMOJI_EVERY);
	assert_int_equal(t.equal, 3000 - 3000 / EMOJI_EVERY);
}

/* ---- hostile chunks ---- */

static void count_only(void *arg, const evtx_rec_ref *rr, dw_status st, event_builder *b,
                       const dw_err *err)
{
	(void)rr, (void)b, (void)err;
	size_t *ok = arg;
	*ok += st == DW_OK;
}

/* Random byte damage in the records of the log at path, and random
 * truncation: the fast path never crashes or hangs (ASan/UBSan in CI), and
 * every 40th damaged copy is compared with libevtx in full. */
static void damage(const char *path, int rounds, size_t *accepted, size_t *mismatch)
{
	char bad[512];
	snprintf(bad, sizeof bad, "%s/fuzz.evtx", tmpdir);
	size_t len;
	uint8_t *img = slurp(path, &len);
	size_t n_chunks = (len - EVTX_FILE_HEADER_SIZE) / EVTX_CHUNK_SIZE;
	uint8_t *mut = malloc(len);
	assert_non_null(mut);
	assert_true(n_chunks > 0);
	binxml *bx = binxml_create();
	event_builder b;
	evb_init(&b);
	for (int round = 0; round < rounds; round++) {
		memcpy(mut, img, len);
		size_t chunk = EVTX_FILE_HEADER_SIZE + (size_t)(tu_rand() % n_chunks) * EVTX_CHUNK_SIZE;
		int flips = 1 + (int)(tu_rand() % 24);
		for (int i = 0; i < flips; i++) {
			size_t at = chunk + EVTX_CHUNK_HEADER_SIZE +
			            tu_rand() % (EVTX_CHUNK_SIZE - EVTX_CHUNK_HEADER_SIZE);
			mut[at] = (uint8_t)(tu_rand() % 3 ? tu_rand() : mut[at] ^ 0x80);
		}
		size_t cut = EVTX_CHUNK_HEADER_SIZE + tu_rand() % (EVTX_CHUNK_SIZE - EVTX_CHUNK_HEADER_SIZE);
		size_t ok = 0;
		binxml_parse_chunk(bx, mut + chunk, cut, &b, count_only, &ok);
		binxml_parse_chunk(bx, mut + chunk, EVTX_CHUNK_SIZE, &b, count_only, &ok);
		if (round % 40 == 0) {
			/* libevtx checks CRCs: give it consistent ones, so the
			 * comparison is about parsing, not checksums */
			uint8_t *c = mut + chunk;
			uint32_t free_off = le_get32(c + 48);
			if (free_off >= EVTX_CHUNK_HEADER_SIZE && free_off <= EVTX_CHUNK_SIZE) {
				le_put32(c + 52, crc32_compute(c + 512, free_off - 512));
				le_put32(c + 124, crc32_update(crc32_compute(c, 120), c + 128, 384));
			}
			FILE *f = fopen(bad, "wb");
			assert_non_null(f);
			assert_int_equal(fwrite(mut, 1, len, f), len);
			fclose(f);
			tally t = { 0 };
			compare_file(bad, &t);
			*accepted += t.equal;
			*mismatch += t.mismatch;
		}
	}
	/* sizes that cannot hold a chunk header */
	size_t ok = 0;
	assert_int_equal(binxml_parse_chunk(bx, img + EVTX_FILE_HEADER_SIZE, 0, &b, count_only, &ok), 0);
	assert_int_equal(binxml_parse_chunk(bx, img + EVTX_FILE_HEADER_SIZE, 100, &b, count_only, &ok), 0);
	evb_free(&b);
	binxml_destroy(bx);
	free(mut);
	free(img);
}

static void test_hostile(void **state)
{
	(void)state;
	char path[512];
	snprintf(path, sizeof path, "%s/fuzz-src.evtx", tmpdir);
	write_mixed(path, 400, 8);
	size_t accepted = 0, mismatch = 0;
	damage(path, 400, &accepted, &mismatch);
	print_message("damaged writer logs: %zu records accepted and equal to libevtx, "
	              "%zu mismatches\n", accepted, mismatch);
	const char *dir = getenv("DW_SAMPLES");
	if (dir) {
		snprintf(path, sizeof path, "%s/security-large.evtx", dir);
		if (access(path, R_OK) == 0) {
			size_t a = 0;
			damage(path, 400, &a, &mismatch);
			print_message("damaged copies of %s: %zu records accepted and equal to "
			              "libevtx, %zu mismatches\n", path, a, mismatch);
			accepted += a;
		}
	}
	assert_int_equal(mismatch, 0);
	assert_true(accepted > 0);
}

/* A record whose BinXML is garbled is handed back, with its place; the
 * other records of the chunk are still read. */
static void test_garbled(void **state)
{
	(void)state;
	char path[512];
	snprintf(path, sizeof path, "%s/garbled.evtx", tmpdir);
	write_mixed(path, 50, 2);
	dw_err err;
	assert_int_equal(evtxw_damage_record(path, 1010, EVTXW_GARBLE, &err), DW_OK);
	size_t len;
	uint8_t *img = slurp(path, &len);
	binxml *bx = binxml_create();
	event_builder b;
	evb_init(&b);
	uint8_t *chunk = img + EVTX_FILE_HEADER_SIZE;
	evtx_rec_ref refs[64];
	uint32_t stop;
	evtx_chunk_header h;
	evtx_chunk_parse(chunk, EVTX_CHUNK_SIZE, &h);
	size_t n = evtx_chunk_records(chunk, h.free_off, refs, 64, &stop);
	assert_int_equal(n, 50);
	binxml_chunk(bx, chunk, EVTX_CHUNK_SIZE);
	for (size_t i = 0; i < n; i++) {
		dw_status st = binxml_record(bx, &refs[i], &b, &err);
		if (refs[i].id == 1000 + 7) {
			assert_int_equal(st, DW_FORMAT); /* outside the BMP */
		} else if (refs[i].id == 1010) {
			assert_int_not_equal(st, DW_OK);
			assert_non_null(strstr(err.msg, "chunk offset 0x"));
		} else {
			if (st != DW_OK)
				fail_msg("record %llu: %s", (unsigned long long)refs[i].id, err.msg);
			assert_int_equal(b.ev.record_id, refs[i].id);
		}
	}
	evb_free(&b);
	binxml_destroy(bx);
	free(img);
}

/* ---- every value type, written by hand ---- */

/* A little BinXML writer: one chunk, records of one template
 * <Event><System><EventID>%0</EventID></System>
 * <EventData><Data Name="V">%1</Data></EventData></Event>
 * defined inline in the first record, each record giving %1 another type. */
typedef struct bw {
	uint8_t *c;
	size_t n;
} bw;

static void b8(bw *w, uint8_t v)
{
	w->c[w->n++] = v;
}

static void b16(bw *w, uint16_t v)
{
	b8(w, (uint8_t)v);
	b8(w, (uint8_t)(v >> 8));
}

static void b32(bw *w, uint32_t v)
{
	b16(w, (uint16_t)v);
	b16(w, (uint16_t)(v >> 16));
}

static void b64(bw *w, uint64_t v)
{
	b32(w, (uint32_t)v);
	b32(w, (uint32_t)(v >> 32));
}

static void patch32(bw *w, size_t at, uint32_t v)
{
	le_put32(w->c + at, v);
}

static void bname(bw *w, const char *name) /* inline, at the current offset */
{
	b32(w, 0);
	b16(w, 0);
	b16(w, (uint16_t)strlen(name));
	for (const char *p = name; *p; p++)
		b16(w, (uint8_t)*p);
	b16(w, 0);
}

/* Opens an element; returns where its size goes (patched by bclose). */
static size_t bopen(bw *w, const char *name, bool attrs)
{
	b8(w, attrs ? 0x41 : 0x01);
	b16(w, 0xffff);
	size_t at = w->n;
	b32(w, 0);
	b32(w, (uint32_t)(w->n + 4));
	bname(w, name);
	return at;
}

static void bclose(bw *w, size_t at)
{
	b8(w, 0x04);
	patch32(w, at, (uint32_t)(w->n - (at + 4)));
}

typedef struct tval {
	uint8_t type;
	uint16_t size;
	uint8_t data[40];
} tval;

static void typed_chunk(uint8_t *c, const tval *vals, size_t n)
{
	memset(c, 0, EVTX_CHUNK_SIZE);
	bw w = { c, EVTX_CHUNK_HEADER_SIZE };
	size_t def = 0, rec = 0;
	for (size_t i = 0; i < n; i++) {
		rec = w.n;
		b32(&w, 0x00002a2a);
		b32(&w, 0);
		b64(&w, i + 1);
		b64(&w, 133000000000000000ull);
		b8(&w, 0x0f), b8(&w, 1), b8(&w, 1), b8(&w, 0);
		b8(&w, 0x0c), b8(&w, 1), b32(&w, 0x1234);
		if (i == 0) {
			def = w.n + 4;
			b32(&w, (uint32_t)def);
			b32(&w, 0);
			for (int k = 0; k < 16; k++)
				b8(&w, (uint8_t)k);
			size_t dsize = w.n;
			b32(&w, 0);
			size_t body = w.n;
			b8(&w, 0x0f), b8(&w, 1), b8(&w, 1), b8(&w, 0);
			size_t ev = bopen(&w, "Event", false);
			b8(&w, 0x02);
			size_t sys = bopen(&w, "System", false);
			b8(&w, 0x02);
			size_t eid = bopen(&w, "EventID", false);
			b8(&w, 0x02);
			b8(&w, 0x0d), b16(&w, 0), b8(&w, 0x06);
			bclose(&w, eid);
			bclose(&w, sys);
			size_t ed = bopen(&w, "EventData", false);
			b8(&w, 0x02);
			size_t data = bopen(&w, "Data", true);
			size_t alist = w.n;
			b32(&w, 0);
			b8(&w, 0x06);
			b32(&w, (uint32_t)(w.n + 4));
			bname(&w, "Name");
			b8(&w, 0x05), b8(&w, 0x01), b16(&w, 1), b16(&w, 'V');
			patch32(&w, alist, (uint32_t)(w.n - (alist + 4)));
			b8(&w, 0x02);
			b8(&w, 0x0e), b16(&w, 1), b8(&w, 0x01);
			bclose(&w, data);
			bclose(&w, ed);
			bclose(&w, ev);
			b8(&w, 0x00);
			patch32(&w, dsize, (uint32_t)(w.n - body));
		} else {
			b32(&w, (uint32_t)def);
		}
		b32(&w, 2);
		b16(&w, 2), b8(&w, 0x06), b8(&w, 0);
		b16(&w, vals[i].size), b8(&w, vals[i].type), b8(&w, 0);
		b16(&w, 4000);
		memcpy(w.c + w.n, vals[i].data, vals[i].size);
		w.n += vals[i].size;
		b8(&w, 0x00); /* end of stream */
		while ((w.n + 4) % 8)
			b8(&w, 0);
		b32(&w, (uint32_t)(w.n + 4 - rec));
		patch32(&w, rec + 4, (uint32_t)(w.n - rec));
	}
	memcpy(c, "ElfChnk\0", 8);
	for (int k = 8; k <= 24; k += 16) {
		bw h = { c, (size_t)k };
		b64(&h, 1);
		b64(&h, n);
	}
	bw h = { c, 40 };
	b32(&h, 128);
	b32(&h, (uint32_t)rec); /* the last record */
	b32(&h, (uint32_t)w.n);
	b32(&h, crc32_compute(c + EVTX_CHUNK_HEADER_SIZE, w.n - EVTX_CHUNK_HEADER_SIZE));
	patch32(&h, 124, crc32_update(crc32_compute(c, 120), c + 128, 384));
}

#define TV(t, ...) { t, sizeof((uint8_t[]){ __VA_ARGS__ }), { __VA_ARGS__ } }

/* A BinXML value holding a template instance (the chunk's template, defined
 * at offset 550 by typed_chunk) that claims 16,702,344 values in 18 bytes:
 * what made libevtx read past the record and crash (docs/fuzzing.md,
 * finding 6). The fast path does not render such a nested <Event>, yet it
 * must call the record damaged, so that libevtx never gets it; the record
 * before it is read. */
static void test_nested_count(void **state)
{
	(void)state;
	static const tval vals[] = {
		TV(0x08, 1, 0, 0, 0),
		TV(0x21, 0x0f, 1, 1, 0, 0x0c, 1, 0x34, 0x12, 0, 0, 0x26, 0x02, 0, 0,
		   0x88, 0xdb, 0xfe, 0x00),
	};
	uint8_t *c = malloc(EVTX_CHUNK_SIZE);
	assert_non_null(c);
	typed_chunk(c, vals, 2);
	evtx_rec_ref refs[2];
	uint32_t stop;
	assert_int_equal(evtx_chunk_records(c, EVTX_CHUNK_SIZE, refs, 2, &stop), 2);
	binxml *bx = binxml_create();
	event_builder b;
	evb_init(&b);
	dw_err err;
	binxml_chunk(bx, c, EVTX_CHUNK_SIZE);
	assert_int_equal(binxml_record(bx, &refs[0], &b, &err), DW_OK);
	assert_int_equal(binxml_record(bx, &refs[1], &b, &err), DW_CORRUPT);
	assert_non_null(strstr(err.msg, "too many template values"));
	evb_free(&b);
	binxml_destroy(bx);
	free(c);
}

/* Each type libfwevt knows, in a record of its own: whatever the fast path
 * accepts must equal libevtx's rendering; what it cannot render falls back. */
static void test_types(void **state)
{
	(void)state;
	static const tval vals[] = {
		TV(0x01, 'a', 0, 'b', 0),                           /* String */
		TV(0x03, 0xfb),                                     /* Int8 -5 */
		TV(0x03, 0x80),                                     /* Int8 -128 */
		TV(0x05, 0x00, 0x80),                               /* Int16 -32768 */
		TV(0x07, 0x05, 0, 0, 0),                            /* Int32 5 */
		TV(0x04, 0xfb),                                     /* UInt8 */
		TV(0x05, 0xd4, 0xfe),                               /* Int16 -300 */
		TV(0x06, 0xd4, 0xfe),                               /* UInt16 */
		TV(0x07, 0x90, 0xee, 0xfe, 0xff),                   /* Int32 -70000 */
		TV(0x08, 0x90, 0xee, 0xfe, 0xff),                   /* UInt32 */
		TV(0x09, 0, 0, 0, 0, 0, 0, 0, 0x80),                /* Int64 min */
		TV(0x09, 0xfb, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff), /* Int64 -5 */
		TV(0x0a, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff), /* UInt64 max */
		TV(0x0b, 0, 0, 0xc0, 0x3f),                         /* Real32 1.5 */
		TV(0x0c, 0, 0, 0, 0, 0, 0, 0xf8, 0x3f),             /* Real64 1.5 */
		TV(0x0d, 1, 0, 0, 0),                               /* Bool */
		TV(0x0d, 0, 0, 0, 0),
		TV(0x0d, 2, 0, 0, 0),
		TV(0x0e, 0xde, 0xad, 0x00, 0x0f),                   /* Binary */
		TV(0x0f, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16), /* GUID */
		TV(0x10, 0x2a, 0, 0, 0),                            /* SizeT, 4 bytes */
		TV(0x10, 0x2a, 0, 0, 0, 0, 0, 0, 0),                /* SizeT, 8 bytes */
		TV(0x11, 0x00, 0x80, 0x3e, 0xd5, 0xde, 0xb1, 0x9d, 0x01), /* FILETIME */
		TV(0x12, 0xe5, 0x07, 10, 0, 5, 0, 8, 0, 12, 0, 57, 0, 4, 0, 0x2c, 0x01), /* SYSTEMTIME */
		TV(0x12, 0xe5, 0x07, 13, 0, 5, 0, 8, 0, 12, 0, 57, 0, 4, 0, 0x2c, 0x01), /* month 13 */
		TV(0x13, 1, 2, 0, 0, 0, 0, 0, 5, 32, 0, 0, 0, 0x20, 0x02, 0, 0), /* SID */
		TV(0x13, 1, 1, 0, 0, 1, 0, 0, 0, 7, 0, 0, 0),      /* SID, authority 2^24 */
		TV(0x13, 1, 1, 0, 1, 0, 0, 0, 0, 7, 0, 0, 0),      /* SID, authority 2^32 */
		TV(0x14, 0xac, 0x01, 0, 0),                         /* HexInt32 */
		TV(0x15, 0xac, 0x01, 0, 0, 0, 0, 0, 0),             /* HexInt64 */
		TV(0x02, 'a', 'b', 'c', 0),                         /* AnsiString */
		TV(0x81, 'x', 0, 0, 0, 'y', 0, 'z', 0, 0, 0),       /* String array */
		TV(0x81, 'x', 0, 0, 0, 0, 0),                       /* ... with an empty one */
		TV(0x81, '\n', 0, 0, 0, 'a', 0, '\r', 0, 0, 0),      /* ... a lone LF, a CR */
		TV(0x88, 1, 0, 0, 0, 2, 0, 0, 0),                   /* UInt32 array */
		TV(0x94, 1, 0, 0, 0, 2, 0, 0, 0),                   /* HexInt32 array */
		TV(0x8f, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16,
		   16, 15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1), /* GUID array */
		TV(0x91, 0x00, 0x80, 0x3e, 0xd5, 0xde, 0xb1, 0x9d, 0x01), /* FILETIME array */
		TV(0x83, 0xfb, 0x05),                               /* Int8 array */
		TV(0x00, 0),                                        /* Null (size 1) */
		TV(0x01, '\n', 0),                                  /* a lone LF */
		TV(0x01, 'a', 0, '\t', 0, '\r', 0, '\n', 0, 'b', 0), /* line ends */
		/* control characters, kept exactly by both paths */
		TV(0x01, 0x1b, 0, ']', 0, '0', 0, ';', 0, 't', 0, 0x07, 0), /* ESC ] 0 ; t BEL */
		TV(0x01, 0x1b, 0, '[', 0, '2', 0, 'J', 0),          /* ESC [ 2 J */
		TV(0x01, 0x01, 0, 0x03, 0, 0x0b, 0, 0x0c, 0, 0x1f, 0), /* other C0 */
		TV(0x01, 0x1b, 0),                                  /* nothing else */
		TV(0x01, 0x9b, 0, 0x2e, 0x20, 0x7f, 0),             /* CSI (C1), U+202E, DEL */
		/* real U+FDD0, U+FDEF and U+FDDB next to ESC (0x1b): xmlev's own
		 * stand-ins for controls must not be confused with them */
		TV(0x01, 0xd0, 0xfd, 0x1b, 0, 0xef, 0xfd, 0xdb, 0xfd, 0xd0, 0xfd),
		TV(0x01, 'a', 0, 0, 0, 'b', 0),                     /* a NUL: cut there */
		TV(0x81, 0x1b, 0, 0, 0, 'x', 0, 0x07, 0, 0, 0),     /* String array */
		TV(0x01, 0x3d, 0xd8, 0x00, 0xde, 0x1b, 0),          /* U+1F600 and ESC */
	};
	size_t n = sizeof vals / sizeof vals[0];
	uint8_t *img = calloc(1, EVTX_FILE_HEADER_SIZE + EVTX_CHUNK_SIZE);
	assert_non_null(img);
	evtx_file_header_make(img, n + 1);
	typed_chunk(img + EVTX_FILE_HEADER_SIZE, vals, n);
	char path[512];
	snprintf(path, sizeof path, "%s/types.evtx", tmpdir);
	FILE *f = fopen(path, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(img, 1, EVTX_FILE_HEADER_SIZE + EVTX_CHUNK_SIZE, f),
	                 EVTX_FILE_HEADER_SIZE + EVTX_CHUNK_SIZE);
	fclose(f);
	free(img);
	tally t = { 0 };
	compare_file(path, &t);
	print_tally("hand-made types.evtx", &t);
	assert_int_equal(t.records, n);
	assert_int_equal(t.mismatch, 0);
	assert_int_equal(t.unmatched, 0);
	/* Real32, Real64, Bool 2, SYSTEMTIME month 13, a SID authority of 2^32,
	 * AnsiString, U+1F600: left to libevtx; everything else, control
	 * characters included, read alike */
	assert_int_equal(t.fallback, 7);
	assert_int_equal(t.equal, n - 7);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_samples),
		cmocka_unit_test(test_writer),
		cmocka_unit_test(test_hostile),
		cmocka_unit_test(test_garbled),
		cmocka_unit_test(test_types),
		cmocka_unit_test(test_nested_count),
	};
	return cmocka_run_group_tests(tests, setup_tmp, teardown_tmp);
}
