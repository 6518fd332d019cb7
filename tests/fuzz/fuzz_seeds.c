/* fuzz_seeds.c - writes the seed corpora of the harnesses from the
 * project's own fixtures: XML from tests/fixtures/xmlgen, EVTX from the
 * writer (core/evtxw), themes from themes/, configs and hostile strings
 * written here. Nothing is copied from real logs.
 *
 * Usage: fuzz_seeds OUTDIR  -> OUTDIR/<harness>/<name> for every harness. */
#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "evtx_chunk.h"
#include "evtxw.h"
#include "xmlgen.h"

#define FT0 132781030248425776ull /* 2021-10-07T17:57:04.8425776Z */

static const char *g_out;

static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void die(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fprintf(stderr, "fuzz_seeds: ");
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	exit(1);
}

static void mkdir_p(const char *dir)
{
	if (mkdir(dir, 0777) < 0 && errno != EEXIST)
		die("%s: %s", dir, strerror(errno));
}

static void seed(const char *harness, const char *name, const void *p, size_t n)
{
	char path[4096];
	snprintf(path, sizeof path, "%s/%s", g_out, harness);
	mkdir_p(path);
	snprintf(path, sizeof path, "%s/%s/%s", g_out, harness, name);
	FILE *f = fopen(path, "wb");
	if (!f || fwrite(p, 1, n, f) != n || fclose(f) != 0)
		die("%s: cannot write", path);
}

static void seed_buf(const char *harness, const char *name, const xg_buf *b)
{
	seed(harness, name, b->s, b->len);
}

static void seed_str(const char *harness, const char *name, const char *s)
{
	seed(harness, name, s, strlen(s));
}

/* Whole file into b (replacing its content). */
static void slurp(const char *path, xg_buf *b)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		die("%s: %s", path, strerror(errno));
	b->len = 0;
	char tmp[65536];
	size_t n;
	while ((n = fread(tmp, 1, sizeof tmp, f)) > 0)
		xg_put(b, tmp, n);
	fclose(f);
}

/* ---- XML ---- */

static void xml_events(xg_buf *b, int n, unsigned style, unsigned long long first)
{
	xg_4690 x;
	xg_4690_init(&x);
	for (int i = 0; i < n; i++) {
		xg_4690_set(&x, first + (unsigned)i, 0xaf8 + 4u * (unsigned)i, 0x678, 0x1748, 4);
		xg_event_xml(b, &x.ev, style);
	}
}

static void xml_seeds(void)
{
	xg_buf b, t;
	xg_init(&b);
	xg_init(&t);

	/* evtxexport -f xml */
	xg_banner(&b);
	xml_events(&b, 3, 0, 100);
	seed_buf("fuzz_xml", "evtxexport.xml", &b);

	b.len = 0; /* wevtutil: one per line, single quotes */
	xml_events(&b, 3, XG_ONELINE | XG_SQUOTE, 200);
	seed_buf("fuzz_xml", "wevtutil.xml", &b);

	b.len = 0; /* all on one line */
	xml_events(&b, 3, XG_ONELINE | XG_NO_NL, 300);
	seed_buf("fuzz_xml", "oneline.xml", &b);

	b.len = 0; /* RenderedXml, an <Events> wrapper and declarations */
	xg_decl(&b, "UTF-8");
	xg_cat(&b, "<Events>\n");
	xml_events(&b, 2, XG_RENDERED, 400);
	xg_decl(&b, "utf-8");
	xml_events(&b, 1, XG_RENDERED | XG_ONELINE, 402);
	xg_cat(&b, "</Events>\n");
	seed_buf("fuzz_xml", "rendered-wrapped.xml", &b);

	xg_crlf(&b, &t);
	seed_buf("fuzz_xml", "crlf.xml", &t);

	b.len = 0;
	xml_events(&b, 2, 0, 500);
	t.len = 0;
	xg_utf16(&b, &t, false, true);
	seed_buf("fuzz_xml", "utf16le-bom.xml", &t);
	t.len = 0;
	xg_utf16(&b, &t, true, true);
	seed_buf("fuzz_xml", "utf16be-bom.xml", &t);
	t.len = 0;
	xg_utf16(&b, &t, false, false);
	seed_buf("fuzz_xml", "utf16le.xml", &t);

	/* a broken event, then good ones: resynchronisation */
	b.len = 0;
	xml_events(&b, 1, XG_ONELINE, 600);
	b.len -= 20; /* cut inside the first event */
	xg_cat(&b, "\n");
	xml_events(&b, 2, XG_ONELINE, 601);
	xg_cat(&b, "<Event><System><EventID>4690</Ev");
	seed_buf("fuzz_xml", "broken.xml", &b);

	/* refused declarations; an entity reference they would define */
	b.len = 0;
	xg_cat(&b, "<?xml version=\"1.0\"?>\n<!DOCTYPE Event [<!ENTITY a \"aaaaaaaaaa\">"
	           "<!ENTITY b \"&a;&a;&a;&a;&a;&a;\">]>\n");
	xml_events(&b, 1, 0, 700);
	xg_cat(&b, "<Event><System><EventID>1</EventID><Computer>&b;</Computer></System></Event>\n");
	seed_buf("fuzz_xml", "doctype.xml", &b);

	/* UserData (a 1102), an unnamed <Data>, hostile text */
	static const xg_field uf[] = { { "SubjectUserSid", "S-1-5-18" },
	                               { "SubjectUserName", "adm\x1b]0;title\x07" } };
	static const xg_field df[] = { { NULL, "classic" }, { "Name", "\xe2\x80\xae" "exe.txt" } };
	xg_event u = { .provider = "Microsoft-Windows-Eventlog", .event_id = 1102, .level = 4,
	               .time = "2021-03-26T10:00:00.0000000Z", .record_id = 1, .pid = 940,
	               .tid = 1040, .channel = "Security", .computer = "jump01.offsec.lan",
	               .userdata = "LogFileCleared", .fields = uf, .n_fields = 2 };
	xg_event d = u;
	d.userdata = NULL;
	d.event_id = 7045;
	d.fields = df;
	d.time = NULL;
	b.len = 0;
	xg_event_xml(&b, &u, 0);
	xg_event_xml(&b, &d, XG_SQUOTE);
	seed_buf("fuzz_xml", "userdata.xml", &b);

	/* deep nesting inside an event */
	b.len = 0;
	xg_cat(&b, "<Event><System><EventID>1</EventID></System><EventData>");
	for (int i = 0; i < 80; i++)
		xg_cat(&b, "<a>");
	xg_cat(&b, "</EventData></Event>\n");
	xml_events(&b, 1, XG_ONELINE, 800);
	seed_buf("fuzz_xml", "deep.xml", &b);

	/* one document per seed for xmlev_doc_parse() */
	xg_4690 x;
	xg_4690_init(&x);
	static const unsigned styles[] = { 0, XG_ONELINE | XG_SQUOTE, XG_RENDERED, XG_NO_NL };
	for (size_t i = 0; i < sizeof styles / sizeof styles[0]; i++) {
		char name[32];
		b.len = 0;
		if (i == 1)
			xg_decl(&b, "UTF-8");
		xg_event_xml(&b, &x.ev, styles[i]);
		snprintf(name, sizeof name, "4690-%zu.xml", i);
		seed_buf("fuzz_xmlev_doc", name, &b);
	}
	b.len = 0;
	xg_event_xml(&b, &u, 0);
	seed_buf("fuzz_xmlev_doc", "1102.xml", &b);
	b.len = 0;
	xg_event_xml(&b, &d, 0);
	seed_buf("fuzz_xmlev_doc", "7045.xml", &b);
	/* raw controls, as libevtx writes them, next to U+FDD0 and U+FDEF */
	b.len = 0;
	xg_cat(&b, "<Event><System><Provider Name='P\x1b'/><EventID>4690</EventID>"
	           "<Computer>h\x07\xef\xb7\x90</Computer></System><EventData><Data Name='N\x01'>"
	           "\x1b]0;t\x07\xef\xb7\x90\x1b\xef\xb7\xaf\r\n</Data></EventData></Event>");
	seed_buf("fuzz_xmlev_doc", "controls.xml", &b);
	xg_free(&b);
	xg_free(&t);
}

/* ---- EVTX ---- */

static void rec_4690(evtxw_record *r, evtxw_field *f, uint64_t i)
{
	f[0] = (evtxw_field){ "SubjectUserSid", EVTXW_SID, "S-1-5-21-4230534742-2542757381-3142984815-1111", 0 };
	f[1] = (evtxw_field){ "SubjectUserName", EVTXW_STRING, "admmig", 0 };
	f[2] = (evtxw_field){ "SubjectDomainName", EVTXW_STRING, "OFFSEC", 0 };
	f[3] = (evtxw_field){ "SubjectLogonId", EVTXW_HEXINT64, NULL, 0x65b0f5db };
	f[4] = (evtxw_field){ "SourceHandleId", EVTXW_HEXINT64, NULL, 0xaf8 + 4 * i };
	f[5] = (evtxw_field){ "SourceProcessId", EVTXW_HEXINT64, NULL, 0x678 };
	f[6] = (evtxw_field){ "TargetHandleId", EVTXW_HEXINT64, NULL, 0x1748 + 4 * i };
	f[7] = (evtxw_field){ "TargetProcessId", EVTXW_HEXINT64, NULL, 4 };
	*r = (evtxw_record){ .event_id = 4690, .task = 12807,
	                     .keywords = EVTXW_KEYWORDS_AUDIT_SUCCESS,
	                     .filetime = FT0 + i * 10000000, .computer = "fs01.offsec.lan",
	                     .pid = 4, .tid = 6208, .fields = f, .n_fields = 8 };
}

/* Appends n records of a mix of kinds (4690, 4688 with every value type
 * Windows uses, a 1102 with UserData). */
static void append(evtxw *w, uint64_t n)
{
	for (uint64_t i = 0; i < n; i++) {
		evtxw_field f[16];
		evtxw_record r;
		rec_4690(&r, f, i);
		if (i % 7 == 3) {
			f[3] = (evtxw_field){ "NewProcessId", EVTXW_HEXINT64, NULL, 0x1dac };
			f[4] = (evtxw_field){ "NewProcessName", EVTXW_STRING,
			                      "C:\\Windows\\System32\\spoolsv.exe \xc3\xa9", 0 };
			f[5] = (evtxw_field){ "TokenElevationType", EVTXW_STRING, "%%1936", 0 };
			f[6] = (evtxw_field){ "ProcessId", EVTXW_HEXINT64, NULL, 0x2a8 };
			f[7] = (evtxw_field){ "MandatoryLabel", EVTXW_SID, "S-1-16-16384", 0 };
			f[8] = (evtxw_field){ "Access", EVTXW_HEXINT32, NULL, 0x1fffff };
			f[9] = (evtxw_field){ "Count", EVTXW_UINT32, NULL, 7 };
			f[10] = (evtxw_field){ "Big", EVTXW_UINT64, NULL, 1ull << 40 };
			f[11] = (evtxw_field){ "When", EVTXW_FILETIME, NULL, FT0 };
			f[12] = (evtxw_field){ "Guid", EVTXW_GUID, "{fc65ddd8-d6ef-4962-83d5-6e5cfe9ce148}", 0 };
			f[13] = (evtxw_field){ "Nothing", EVTXW_NULL, NULL, 0 };
			f[14] = (evtxw_field){ "Small", EVTXW_UINT8, NULL, 200 };
			f[15] = (evtxw_field){ "Short", EVTXW_UINT16, NULL, 60000 };
			r.event_id = 4688;
			r.n_fields = 16;
		} else if (i % 11 == 5) {
			r.event_id = 1102;
			r.provider = "Microsoft-Windows-Eventlog";
			r.provider_guid = "{fc65ddd8-d6ef-4962-83d5-6e5cfe9ce148}";
			r.userdata = "LogFileCleared";
			r.userdata_ns = "http://manifests.microsoft.com/win/2004/08/windows/eventlog";
			r.n_fields = 3;
		}
		dw_err err;
		if (evtxw_append(w, &r, NULL, &err) != DW_OK)
			die("%s", err.msg);
	}
}

static void check(dw_status st, const dw_err *err)
{
	if (st != DW_OK)
		die("%s", err->msg);
}

static evtxw *create(const char *path, uint32_t chunks, bool wrap, uint64_t first)
{
	evtxw *w;
	dw_err err;
	evtxw_opts o = { .n_chunks = chunks, .first_id = first, .wrap = wrap };
	check(evtxw_create(&w, path, &o, &err), &err);
	return w;
}

static void close_w(evtxw *w)
{
	dw_err err;
	check(evtxw_close(w, &err), &err);
}

static void sync_w(evtxw *w)
{
	dw_err err;
	check(evtxw_sync(w, &err), &err);
}

/* A file as a seed of fuzz_evtx, and its chunks as seeds of fuzz_binxml. */
static void evtx_seed(const char *path, const char *name, bool chunks)
{
	xg_buf b;
	xg_init(&b);
	slurp(path, &b);
	seed_buf("fuzz_evtx", name, &b);
	for (size_t off = EVTX_FILE_HEADER_SIZE, i = 0;
	     chunks && off + EVTX_CHUNK_SIZE <= b.len; off += EVTX_CHUNK_SIZE, i++) {
		char cn[128];
		snprintf(cn, sizeof cn, "%s.chunk%zu", name, i);
		seed("fuzz_binxml", cn, b.s + off, EVTX_CHUNK_SIZE);
	}
	xg_free(&b);
}

/* A tail seed: the image before, then the image after (same length: a live
 * log is preallocated). */
static void tail_seed(const char *name, const xg_buf *before, const xg_buf *after)
{
	xg_buf b;
	xg_init(&b);
	xg_put(&b, before->s, before->len);
	xg_put(&b, after->s, after->len);
	if (before->len != after->len)
		die("tail seed %s: images differ in size", name);
	seed_buf("fuzz_evtx_tail", name, &b);
	xg_free(&b);
}

static void evtx_seeds(const char *tmp)
{
	char path[4096], dmg[4096];
	dw_err err;
	snprintf(path, sizeof path, "%s/seed.evtx", tmp);
	snprintf(dmg, sizeof dmg, "%s/damaged.evtx", tmp);

	evtxw *w = create(path, 1, false, 1);
	append(w, 12);
	close_w(w);
	evtx_seed(path, "small.evtx", true);

	w = create(path, 2, false, 2183518);
	append(w, 260); /* fills the first chunk, starts the second */
	close_w(w);
	evtx_seed(path, "two-chunks.evtx", true);

	w = create(path, 2, true, 1);
	append(w, 560); /* wraps around: slot 0 holds the newest records */
	close_w(w);
	evtx_seed(path, "wrapped.evtx", true);

	/* controlled damage, each on a copy of the two-chunk log */
	static const char *const kinds[] = { "sig", "crc-header", "crc-data", "strtab",
	                                     "truncated", "garbled", "torn" };
	for (size_t k = 0; k < sizeof kinds / sizeof kinds[0]; k++) {
		w = create(dmg, 2, false, 2183518);
		append(w, 260);
		close_w(w);
		dw_status st;
		switch (k) {
		case 0: st = evtxw_damage_chunk_sig(dmg, 0, &err); break;
		case 1: st = evtxw_damage_chunk_crc(dmg, 0, EVTXW_CRC_HEADER, &err); break;
		case 2: st = evtxw_damage_chunk_crc(dmg, 1, EVTXW_CRC_DATA, &err); break;
		case 3: st = evtxw_damage_string_table(dmg, 0, 5, 0x1234, &err); break;
		case 4: st = evtxw_damage_truncate(dmg, EVTX_FILE_HEADER_SIZE + EVTX_CHUNK_SIZE + 3000, &err); break;
		case 5: st = evtxw_damage_record(dmg, 2183530, EVTXW_GARBLE, &err); break;
		default: st = evtxw_damage_record(dmg, 2183520, EVTXW_TEAR, &err); break;
		}
		check(st, &err);
		char name[64];
		snprintf(name, sizeof name, "damaged-%s.evtx", kinds[k]);
		evtx_seed(dmg, name, k == 3 || k == 5);
	}

	/* live logs: the image before and after a change */
	xg_buf a, b;
	xg_init(&a);
	xg_init(&b);

	w = create(path, 1, false, 1); /* records added, synced */
	slurp(path, &a); /* empty log */
	append(w, 3);
	sync_w(w);
	slurp(path, &b);
	tail_seed("empty-to-3.bin", &a, &b);
	append(w, 6);
	sync_w(w);
	slurp(path, &a);
	tail_seed("3-to-9.bin", &b, &a);
	append(w, 4); /* written, headers not yet: torn */
	check(evtxw_flush(w, &err), &err);
	slurp(path, &b);
	tail_seed("torn.bin", &a, &b);
	close_w(w);

	w = create(path, 2, true, 1); /* into the next chunk, then wrapping */
	append(w, 200);
	sync_w(w);
	slurp(path, &a);
	append(w, 100);
	sync_w(w);
	slurp(path, &b);
	tail_seed("next-chunk.bin", &a, &b);
	append(w, 300);
	sync_w(w);
	slurp(path, &a);
	tail_seed("wrap.bin", &b, &a);
	check(evtxw_clear(w, 1, &err), &err); /* cleared in place */
	append(w, 5);
	sync_w(w);
	slurp(path, &b);
	tail_seed("cleared.bin", &a, &b);
	close_w(w);

	xg_free(&a);
	xg_free(&b);
	unlink(path);
	unlink(dmg);
}

/* ---- config, themes, hostile strings ---- */

static void text_seeds(const char *themedir)
{
	seed_str("fuzz_config", "full.conf",
	         "# dupwatch config\ntheme = light\ntimezone = utc\nnumbers = decimal\n"
	         "capacity = 250000\ncolumns = time, event, src_pid, tgt_pid\nmouse = off\n");
	seed_str("fuzz_config", "bad.conf",
	         "theme\n= x\ncapacity = 0\ncapacity = 99999999999999999999\nnumbers = octal\n"
	         "columns = nope,\nunknown = 1\r\ntheme = /path/with#hash # comment\n");
	seed_str("fuzz_config", "crlf.conf", "mouse = yes\r\ntimezone = LOCAL\r\n");

	DIR *d = opendir(themedir);
	struct dirent *e;
	while (d && (e = readdir(d))) {
		size_t n = strlen(e->d_name);
		if (n < 7 || strcmp(e->d_name + n - 6, ".theme") != 0)
			continue;
		char p[4096];
		snprintf(p, sizeof p, "%s/%s", themedir, e->d_name);
		xg_buf b;
		xg_init(&b);
		slurp(p, &b);
		seed_buf("fuzz_theme", e->d_name, &b);
		xg_free(&b);
	}
	if (d)
		closedir(d);
	seed_str("fuzz_theme", "bad.theme",
	         "row = color256\nheader = red green blue\nselected = bright-\nnope = red\n"
	         "row.cross = 12 300 bold blink\n = red\nerror = default default italic dim\n");

	seed_str("fuzz_sanitize", "title.txt", "adm\x1b]0;owned\x07min \x1b[2J\x9b" "31m");
	seed_str("fuzz_sanitize", "bidi.txt", "invoice\xe2\x80\xae" "fdp.exe \xe2\x81\xa6x\xd8\x9c");
	seed_str("fuzz_sanitize", "utf8.txt", "caf\xc3\xa9 \xe4\xb8\xad\xe6\x96\x87 \xf0\x9f\x98\x80 "
	                                       "\xc0\xaf \xed\xa0\x80 \xf4\x90\x80\x80 \xe2\x82");
	seed("fuzz_sanitize", "nul.txt", "a\0b\x7f\xc2\x85\"\\", 9);
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: fuzz_seeds OUTDIR\n");
		return 2;
	}
	g_out = argv[1];
	mkdir_p(g_out);
	char tmp[4096];
	snprintf(tmp, sizeof tmp, "%s/.tmp", g_out);
	mkdir_p(tmp);
	xml_seeds();
	evtx_seeds(tmp);
	text_seeds(DUPWATCH_SRC_THEMEDIR);
	rmdir(tmp);
	return 0;
}
