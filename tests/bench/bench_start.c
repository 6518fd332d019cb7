/* bench_start - the viewer on a 1 GB Security log (issue 7): how soon the
 * first screen of events shows, how fast keys are answered while the whole
 * log loads, and the memory it holds once loaded.
 *
 * 1. Writes a >= 1 GB log with the EVTX writer (the 4688 / 4656 / 4690 /
 *    4658 / 4689 mix of secmix.h) into $TMPDIR.
 * 2. Starts `dupwatch LOG` in a 160x40 pseudo-terminal (tests/e2e/pty.h)
 *    several times: the time from the fork to the first screen showing
 *    event rows, and to its first paint at all. The harness waits on the
 *    pty with poll() and reads the screen back (libvterm) after each read,
 *    so the times include its own reading.
 * 3. Two more starts: the time until the header shows every record of
 *    the log read, with no key typed; then again while typing rounds of
 *    keys (k, j, >, <, r, r, the X filter and its removal, a text filter
 *    and its removal), each as soon as the last one showed its effect: key
 *    to screen p50 / p99 / max.
 *    Then the same rounds of keys while `dupwatch FIFO` takes an XML
 *    stream of 1,000,000 4690s written as fast as it is read (issue 6).
 * 4. Then VmRSS / VmHWM of the viewer, against the budget of
 *    64 MiB + 128 bytes per event held (the ring's capacity or the log's
 *    records, whichever is smaller). The same log is then read into a ring
 *    and a view inside this process, to attribute the memory (mallinfo2
 *    after each step): ring slots, event data, interned strings, the view's
 *    cache, correlation, and what the allocator holds beyond that.
 * Prints a Markdown section and writes it into docs/performance.md
 * (section bench_start). Nothing passes or fails on time.
 *
 * Env: DW_BENCH_MB (log size, default 1024), DW_BENCH_STARTS (starts timed,
 * default 9), DW_BENCH_KEEP (keep the log as $TMPDIR/dw-bench-start-<MB>.evtx
 * and reuse it next time), DW_BENCH_NO_DOC (do not write the section). */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <malloc.h>
#include <poll.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bpty.h"
#include "bstat.h"
#include "correl.h"
#include "evtx_chunk.h"
#include "intern.h"
#include "msglog.h"
#include "perfdoc.h"
#include "ring.h"
#include "secmix.h"
#include "source.h"
#include "view.h"

#define CAPACITY 1000000u /* the viewer's default ring */
#define WAIT_MS 60000
#define LOAD_MS 600000
#define MIB (1024.0 * 1024.0)

static void die(const char *what, const char *why)
{
	fprintf(stderr, "bench_start: %s: %s\n", what, why);
	exit(1);
}

/* Records in a finished log: its header's next record id - 1. */
static uint64_t log_records(const char *path)
{
	uint8_t hdr[128];
	FILE *f = fopen(path, "rb");
	if (!f)
		return 0;
	size_t n = fread(hdr, 1, sizeof hdr, f);
	fclose(f);
	evtx_file_header h;
	evtx_file_header_parse(hdr, n, &h);
	return h.sig_ok && h.next_record_id > 0 ? h.next_record_id - 1 : 0;
}

/* Reads the file once, so that every start finds it in the page cache
 * (a kept log may have been pushed out since). */
static void warm(const char *path)
{
	static char buf[1 << 20];
	int fd = open(path, O_RDONLY);
	if (fd < 0)
		die(path, strerror(errno));
	while (read(fd, buf, sizeof buf) > 0)
		;
	close(fd);
}

static pty *start_viewer(const char *path)
{
	pty_opts o = { .rows = 40, .cols = 160 };
	return pty_start(&o, (const char *[]){ path, NULL });
}

static void quit_viewer(pty *p)
{
	int status;
	pty_send(p, "q");
	if (!pty_wait_exit(p, WAIT_MS, &status) || status != 0)
		fprintf(stderr, "bench_start: the viewer did not quit cleanly (%d)\n", status);
	pty_free(p);
}

/* ---- 2. first screen ---- */

#define COMPUTER "fs01.offsec.lan" /* in every event row of the log */
#define XML_EVENTS 1000000u
#define XML_COMPUTER ".offsec.lan" /* in every row of bpty_xml_writer()'s */

static void first_screens(const char *path, unsigned n, double *paint, double *rows)
{
	for (unsigned i = 0; i < n; i++) {
		double t0 = bstat_now_ms();
		pty *p = start_viewer(path);
		if (!pty_wait_text(p, " dupwatch ", WAIT_MS))
			die("first screen", "the viewer drew nothing");
		paint[i] = bstat_now_ms() - t0;
		if (!pty_wait_text(p, COMPUTER, WAIT_MS))
			die("first screen", "no event rows");
		rows[i] = bstat_now_ms() - t0;
		quit_viewer(p);
		printf("start %u: first paint %.1f ms, event rows %.1f ms\n", i + 1, paint[i], rows[i]);
	}
}

/* ---- 3. keys while the log loads ---- */

typedef struct load_run {
	pty *p;
	double t0;          /* the fork */
	uint64_t records;   /* in the log */
	double done_ms;     /* from the fork to the header showing them all
	                       read; -1 until then */
	/* What the key being timed changes: text appearing (or going), or
	 * else the screen row holding anchor. */
	const char *text;
	bool gone;
	int row;
	char before[512];
} load_run;

/* Notes when the header first shows every record read. */
static bool loaded(pty *p, void *user)
{
	load_run *r = user;
	if (r->done_ms < 0 && bpty_events_read(p) == r->records)
		r->done_ms = bstat_now_ms() - r->t0;
	return r->done_ms >= 0;
}

static bool key_answered(pty *p, void *user)
{
	load_run *r = user;
	loaded(p, r);
	if (r->text)
		return pty_find(p, r->text, NULL, NULL) != r->gone;
	char buf[512];
	pty_row(p, r->row, buf, sizeof buf);
	return strcmp(buf, r->before) != 0;
}

/* Sends keys; returns ms until their effect shows, -1 on timeout. With
 * text NULL the effect is a change of the row holding anchor; -2 (nothing
 * sent) when no row holds it: while the viewer lags behind the reader, the
 * selected event may have left the ring, and the detail has no Record ID. */
static double key(load_run *r, const char *keys, const char *text, bool gone,
                  const char *anchor)
{
	r->text = text;
	r->gone = gone;
	if (!text && !pty_find(r->p, anchor, &r->row, NULL))
		return -2;
	if (!text)
		pty_row(r->p, r->row, r->before, sizeof r->before);
	double t0 = bstat_now_ms();
	pty_send(r->p, keys);
	return pty_wait_for(r->p, key_answered, r, WAIT_MS) ? bstat_now_ms() - t0 : -1;
}

enum { K_UP, K_DOWN, K_SORT_NEXT, K_SORT_PREV, K_REVERSE, K_CROSS, K_TEXT, K_POP, K_KINDS };
static const char *const key_names[K_KINDS] = {
	"move up (k)", "move down (j)", "next sort column (>)", "previous sort column (<)",
	"reverse the sort (r)", "cross-process filter (X)", "text filter (`\\` alice Enter)",
	"drop a filter (Backspace)",
};

#define ROUNDS_MAX 400

typedef struct key_times {
	double t[K_KINDS][ROUNDS_MAX * 2];
	size_t n[K_KINDS];
	double all[ROUNDS_MAX * 10];
	size_t nall, lost, unmeasured;
} key_times;

static void note(key_times *kt, int kind, double ms)
{
	if (ms < 0) {
		*(ms == -2 ? &kt->unmeasured : &kt->lost) += 1;
		return;
	}
	if (kt->n[kind] < ROUNDS_MAX * 2)
		kt->t[kind][kt->n[kind]++] = ms;
	if (kt->nall < ROUNDS_MAX * 10)
		kt->all[kt->nall++] = ms;
}

/* Keys in rounds until the whole log is read. Each round starts from the
 * same state: following, sorted by time ascending, no filter. */
static void keys_during_load(load_run *r, key_times *kt, unsigned *rounds)
{
	*rounds = 0;
	while (r->done_ms < 0 && *rounds < ROUNDS_MAX) {
		/* F then k: the selection just above the newest row, no longer
		 * following, so only j and k move it (arrivals land below). M's
		 * message on the bottom line, drawn last, shows they were taken
		 * and their frame was read whole: the Record ID before k is the
		 * one they selected. */
		pty_send(r->p, "Fk");
		if (key(r, "M", *rounds % 2 ? "mouse captured" : "mouse released", false, NULL) < 0)
			break;
		note(kt, K_UP, key(r, "k", NULL, false, "Record ID:"));
		note(kt, K_DOWN, key(r, "j", NULL, false, "Record ID:"));
		note(kt, K_CROSS, key(r, "X", "[cross]", false, NULL));
		note(kt, K_POP, key(r, "\x7f", "[cross]", true, NULL));
		note(kt, K_SORT_NEXT, key(r, ">", NULL, false, "Src PID"));
		note(kt, K_SORT_PREV, key(r, "<", NULL, false, "Src PID"));
		note(kt, K_REVERSE, key(r, "r", NULL, false, "Src PID"));
		note(kt, K_REVERSE, key(r, "r", NULL, false, "Src PID"));
		note(kt, K_TEXT, key(r, "\\alice\r", "[text~alice]", false, NULL));
		note(kt, K_POP, key(r, "\x7f", "[text~alice]", true, NULL));
		(*rounds)++;
	}
	/* Out of rounds: wait for the end of the load. */
	pty_wait_for(r->p, loaded, r, LOAD_MS);
}

/* ---- 4. memory, attributed in this process ---- */

/* Bytes malloc has handed out (heap chunks in use, their headers and
 * rounding included, + mmapped blocks), and what it holds from the system
 * (arenas + mmapped blocks). */
static void heap_now(double *in_use, double *system)
{
	struct mallinfo2 m = mallinfo2();
	*in_use = (double)(m.uordblks + m.hblkhd);
	*system = (double)(m.arena + m.hblkhd);
}

typedef struct mem_parts {
	double slots;    /* the ring's array of struct event */
	double payload;  /* data_len of the events held */
	double events;   /* malloc'd for them: payload, headers, rounding, and
	                    the source's buffers */
	double interned, view_fixed, view_more, correl, in_use, system;
	uint64_t held, taken;
} mem_parts;

/* Reads path as the viewer does (a ring of CAPACITY that drops the oldest,
 * the source following), then takes it all into a view. */
static void attribute(const char *path, mem_parts *m)
{
	double u0, s0, u1, s1, u2, s2, u3, s3, u4, s4;
	int wake[2];
	if (pipe(wake) != 0)
		die("pipe", strerror(errno));
	fcntl(wake[0], F_SETFL, O_NONBLOCK);
	fcntl(wake[1], F_SETFL, O_NONBLOCK);
	size_t i0 = intern_bytes();
	heap_now(&u0, &s0);
	ring *r = ring_create(CAPACITY, 0, wake[1]);
	msglog *log = msglog_create(100);
	if (!r || !log)
		die("attribute", "out of memory");
	heap_now(&u1, &s1);
	source *s = NULL;
	source_opts so = { .follow = true };
	dw_err err;
	if (source_open(&s, path, 0, &so, r, log, &err) != DW_OK ||
	    source_start(s, &err) != DW_OK)
		die(path, err.msg);
	for (;;) { /* until the source has read it all and follows */
		struct pollfd p = { .fd = wake[0], .events = POLLIN };
		poll(&p, 1, 50);
		char buf[256];
		while (read(wake[0], buf, sizeof buf) > 0)
			;
		ring_ack_wake(r);
		source_stats st;
		source_get_stats(s, &st);
		if (st.state != SRC_READING)
			break;
	}
	heap_now(&u2, &s2);
	view *v = view_create(r, false);
	if (!v)
		die("view_create", "out of memory");
	heap_now(&u3, &s3);
	bool more = true;
	while (more) /* in slices, as the viewer does (its batch arrays stay small) */
		view_update(v, 1024, &more);
	heap_now(&u4, &s4);
	correl_stats cs;
	correl_get_stats(view_correl(v), &cs);
	view_stats vs;
	view_get_stats(v, &vs);

	m->payload = 0;
	ring_lock(r);
	m->held = ring_end(r) - ring_first(r);
	for (uint64_t q = ring_first(r); q < ring_end(r); q++)
		m->payload += ring_at(r, q)->data_len;
	ring_unlock(r);
	m->taken = vs.taken;
	m->slots = u1 - u0;
	m->interned = (double)(intern_bytes() - i0);
	m->events = u2 - u1 - m->interned;
	m->view_fixed = u3 - u2;
	m->correl = (double)cs.bytes;
	m->view_more = u4 - u3 - m->correl;
	m->in_use = u4 - u0;
	m->system = s4 - s0;

	view_destroy(v);
	ring_close(r);
	source_close(s);
	ring_destroy(r);
	msglog_destroy(log);
	close(wake[0]);
	close(wake[1]);
}

/* ---- report ---- */

/* A log not kept goes away even when the benchmark dies half-way. */
static char log_path[512];

static void remove_log(void)
{
	unlink(log_path);
}

int main(void)
{
	unsigned mb = (unsigned)bstat_env("DW_BENCH_MB", 1024), starts = (unsigned)bstat_env("DW_BENCH_STARTS", 9);
	bool keep = getenv("DW_BENCH_KEEP") != NULL;
	if (starts < 1 || starts > 100 || mb < 1 || mb > 4000)
		die("DW_BENCH_MB / DW_BENCH_STARTS", "out of range");
	const char *tmp = getenv("TMPDIR") && *getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
	char *path = log_path;
	if (keep) {
		snprintf(path, sizeof log_path, "%s/dw-bench-start-%u.evtx", tmp, mb);
	} else {
		snprintf(path, sizeof log_path, "%s/dw-bench-start-%ld.evtx", tmp, (long)getpid());
		atexit(remove_log);
	}

	/* 1. the log */
	uint64_t records = keep ? log_records(path) : 0;
	if (records == 0) {
		double t = bstat_now_ms();
		records = secmix_write(path, mb * 16, 0, NULL);
		printf("wrote %s: %" PRIu64 " records in %.1f s\n", path, records,
		       (bstat_now_ms() - t) / 1000);
	} else {
		printf("reusing %s: %" PRIu64 " records\n", path, records);
	}
	struct stat st;
	if (stat(path, &st) != 0)
		die(path, strerror(errno));
	double size_mb = (double)st.st_size / 1e6;
	warm(path);
	double load0 = bstat_load_avg();

	/* 2. first screen */
	double paint[100], rows[100];
	first_screens(path, starts, paint, rows);
	double paint_med = bstat_median(paint, starts), rows_med = bstat_median(rows, starts);
	printf("first paint: median %.1f ms; first event rows: median %.1f ms (min %.1f, max "
	       "%.1f) over %u starts\n", paint_med, rows_med, rows[0], rows[starts - 1], starts);

	/* 3. the load alone, then with keys */
	load_run quiet = { .records = records, .done_ms = -1 };
	quiet.t0 = bstat_now_ms();
	quiet.p = start_viewer(path);
	if (!pty_wait_for(quiet.p, loaded, &quiet, LOAD_MS))
		die("load", "not every record was read");
	double quiet_cpu = bpty_cpu_seconds(bpty_child(pty_binary()));
	quit_viewer(quiet.p);
	printf("loaded %" PRIu64 " records in %.2f s (%.1f CPU s) with no key typed\n", records,
	       quiet.done_ms / 1000, quiet_cpu);

	static key_times kt;
	load_run r = { .records = records, .done_ms = -1 };
	r.t0 = bstat_now_ms();
	r.p = start_viewer(path);
	if (!pty_wait_text(r.p, COMPUTER, WAIT_MS))
		die("load", "no event rows");
	unsigned rounds;
	keys_during_load(&r, &kt, &rounds);
	if (r.done_ms < 0)
		die("load", "not every record was read");
	double load1 = bstat_load_avg();
	bpty_mem mem = { 0, 0 };
	pid_t child = bpty_child(pty_binary());
	if (!child || !bpty_mem_read(child, &mem))
		fprintf(stderr, "bench_start: cannot read the viewer's memory\n");
	double cpu = bpty_cpu_seconds(child);
	quit_viewer(r.p);
	printf("loaded %" PRIu64 " records in %.2f s (%.1f CPU s), %u rounds of keys, %zu keys lost, "
	       "%zu not measurable\n", records, r.done_ms / 1000, cpu, rounds, kt.lost,
	       kt.unmeasured);
	bstat res[K_KINDS + 1];
	double maxes[K_KINDS + 1];
	size_t nr = 0;
	for (int k = 0; k < K_KINDS; k++)
		if (kt.n[k]) {
			res[nr] = bstat_summarise(key_names[k], kt.t[k], kt.n[k]);
			maxes[nr++] = kt.t[k][kt.n[k] - 1];
		}
	if (kt.nall) {
		res[nr] = bstat_summarise("every key", kt.all, kt.nall);
		maxes[nr++] = kt.all[kt.nall - 1];
	}

	/* 3b. the same keys while an XML stream arrives at full speed (issue 6) */
	char fifo[600];
	snprintf(fifo, sizeof fifo, "%s/dw-bench-start-%ld.fifo", tmp, (long)getpid());
	unlink(fifo);
	if (mkfifo(fifo, 0600) != 0)
		die(fifo, strerror(errno));
	static key_times kx;
	load_run x = { .records = XML_EVENTS, .done_ms = -1 };
	x.t0 = bstat_now_ms();
	x.p = start_viewer(fifo);
	pid_t writer = bpty_xml_writer(fifo, XML_EVENTS);
	if (!pty_wait_text(x.p, XML_COMPUTER, WAIT_MS))
		die("XML stream", "no event rows");
	unsigned xrounds;
	keys_during_load(&x, &kx, &xrounds);
	if (x.done_ms < 0)
		die("XML stream", "not every event was read");
	waitpid(writer, NULL, 0);
	quit_viewer(x.p);
	unlink(fifo);
	bstat xall = { "", -1, -1 };
	double xmax = -1;
	if (kx.nall) {
		xall = bstat_summarise("every key, XML stream", kx.all, kx.nall);
		xmax = kx.all[kx.nall - 1];
	}

	/* 4. memory */
	uint64_t held = records < CAPACITY ? records : CAPACITY;
	double budget = 64 * MIB + 128.0 * (double)held;
	double rss = (double)mem.rss_kib * 1024, hwm = (double)mem.hwm_kib * 1024;
	printf("viewer RSS %.1f MiB, peak %.1f MiB; budget %.1f MiB (64 MiB + 128 B x %" PRIu64
	       " events held)\n", rss / MIB, hwm / MIB, budget / MIB, held);
	mem_parts m;
	attribute(path, &m);
	const struct {
		const char *what;
		double bytes;
	} parts[] = {
		{ "ring slots (`struct event`, one per slot)", m.slots },
		{ "event data: the field encodings (`data_len`)", m.payload },
		{ "event data: malloc headers and rounding, the source's buffers",
		  m.events - m.payload },
		{ "interned strings", m.interned },
		{ "view: its cache of compact records + correlation flags (at view_create)",
		  m.view_fixed },
		{ "view: rows, sort and filter space (taken in)", m.view_more },
		{ "correlation (correl_stats.bytes)", m.correl },
		{ "**malloc in use, all of the above**", m.in_use },
		{ "malloc's arenas and maps from the system", m.system },
		{ "**the viewer's VmRSS** (code, curses, stacks, untouched pages: the rest)", rss },
		{ "the budget: 64 MiB + 128 B per event held", budget },
	};
	for (size_t i = 0; i < sizeof parts / sizeof parts[0]; i++)
		printf("%-76s %8.1f MiB %6.0f B/event\n", parts[i].what, parts[i].bytes / MIB,
		       parts[i].bytes / (double)held);

	/* report */
	char machine[256], body[10000];
	size_t len = 0;
	bstat_put(body, sizeof body, &len,
	    "### Viewer on a 1 GB log: first screen, keys while loading, memory (bench_start)\n\n"
	    "%s. `dupwatch LOG` in a 160x40 pseudo-terminal (libvterm) on a %.0f MB Security "
	    "log written by the writer (4688 / 4656 / 4690 / 4658 / 4689 mix, %" PRIu64 " records, a "
	    "fifth of them 4690s), in the page cache; ring capacity %u (the default). Load "
	    "average %.1f before the starts, %.1f at the end of the load: the machine was "
	    "shared. The harness waits on the pty with poll() and reads the screen back "
	    "(libvterm) after each read: its own reading is in every time, on the same 2 "
	    "cores as the viewer.\n\n",
	    perfdoc_machine(machine, sizeof machine), size_mb, records, CAPACITY, load0, load1);
	bstat_put(body, sizeof body, &len,
	    "**First screen**, from the fork to the screen showing event rows, over %u starts: "
	    "median **%.0f ms** (min %.0f, max %.0f); the first paint of anything: median "
	    "%.0f ms. Target: 100 ms.\n\n",
	    starts, rows_med, rows[0], rows[starts - 1], paint_med);
	bstat_put(body, sizeof body, &len,
	    "**Keys while the whole log loads**: %u rounds, each key typed as soon as the last "
	    "one showed its effect, from the key to the screen showing it (k and j: the "
	    "detail's Record ID; > < r: the table's headings; filters: their chip). Each round "
	    "begins with F k M, untimed, to leave follow mode.\n\n"
	    "| key | median | p99 | max |\n|---|---|---|---|\n",
	    rounds);
	for (size_t i = 0; i < nr; i++)
		bstat_put(body, sizeof body, &len, "| %s | %.1f ms | %.1f ms | %.1f ms |\n",
		          res[i].what, res[i].median, res[i].p99, maxes[i]);
	bstat_put(body, sizeof body, &len, "%s", "\nTarget: every key within 50 ms.");
	if (kt.lost)
		bstat_put(body, sizeof body, &len, " %zu keys had no effect within %d s and are left "
		          "out.", kt.lost, WAIT_MS / 1000);
	if (kt.unmeasured)
		bstat_put(body, sizeof body, &len, " k and j could not be timed %zu times: the "
		          "selected event had left the ring (the viewer takes events in more slowly "
		          "than the reader reads them, so the ring drops some it never took) and "
		          "the detail showed no Record ID.", kt.unmeasured);
	bstat_put(body, sizeof body, &len,
	    " The whole log was read (the header showing %" PRIu64 " read) **%.2f s** after the fork "
	    "while these keys were typed (%.1f s of the viewer's CPU); with no key typed, "
	    "%.2f s (%.1f s of CPU).\n\n",
	    records, r.done_ms / 1000, cpu, quiet.done_ms / 1000, quiet_cpu);
	bstat_put(body, sizeof body, &len,
	    "**Keys while an XML stream arrives at full speed** (issue 6): `dupwatch FIFO` with "
	    "%u compact 4690s written into the FIFO as fast as it is read, the same rounds of "
	    "keys (%u rounds): every key median **%.1f ms**, p99 **%.1f ms**, max %.1f ms "
	    "(target: within 100 ms); %zu keys lost, %zu not measurable; the stream was read "
	    "whole %.2f s after the fork.\n\n",
	    XML_EVENTS, xrounds, xall.median, xall.p99, xmax, kx.lost, kx.unmeasured,
	    x.done_ms / 1000);
	bstat_put(body, sizeof body, &len,
	    "**Memory** at the end of the load: VmRSS **%.0f MiB** (VmHWM %.0f MiB) against "
	    "the budget of 64 MiB + 128 bytes x %" PRIu64 " events held (the ring's capacity; "
	    "the log has %" PRIu64 " records) = **%.0f MiB**: %s. Where it goes: the same log read into "
	    "a ring and a view in the benchmark's own process, mallinfo2() after each step "
	    "(%" PRIu64 " events held, %" PRIu64 " taken into the view):\n\n"
	    "| part | MiB | bytes per event held |\n|---|---|---|\n",
	    rss / MIB, hwm / MIB, held, records, budget / MIB, rss <= budget ? "met" : "not met",
	    m.held, m.taken);
	for (size_t i = 0; i < sizeof parts / sizeof parts[0]; i++)
		bstat_put(body, sizeof body, &len, "| %s | %.1f | %.0f |\n", parts[i].what,
		          parts[i].bytes / MIB, parts[i].bytes / (double)held);
	printf("\n%s", body);
	if (!getenv("DW_BENCH_NO_DOC")) {
		if (perfdoc_write(DW_PERFDOC_PATH, "bench_start", body) != 0)
			die("docs/performance.md", strerror(errno));
		printf("written to %s\n", DW_PERFDOC_PATH);
	}
	return 0;
}
