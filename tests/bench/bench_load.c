/* bench_load - bulk load throughput, side by side in one run:
 *  - the BinXML fast path alone on one thread, and the EVTX source
 *    (src_evtx.c: the fast path on every core) into a ring;
 *  - the reference path: libevtx renders each record's XML, xmlev parses it
 *    (chunk images through bfio_mem, as src_evtx.c reads them);
 *  - `evtxexport -f xml` to /dev/null.
 * The log (>= 1 GB by default) is built at run time in $TMPDIR from the
 * chunks of security-large.evtx (DW_SAMPLES): real Security templates,
 * record ids renumbered, CRCs fixed. The slow paths read a slice of it
 * (DW_BENCH_SLICE_MB). Both files are deleted at the end.
 *
 * Env: DW_SAMPLES, DW_BENCH_MB (log size, default 1024), DW_BENCH_SLICE_MB
 * (default 128), DW_BENCH_NO_DOC (do not write docs/performance.md),
 * DW_BENCH_KEEP (keep the logs, to look into them). */
#include "bfio_mem.h" /* first: it enables libevtx's libbfio API */

#include <libevtx.h>

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "biglog.h"
#include "bstat.h"
#include "event.h"
#include "evtx_chunk.h"
#include "binxml.h"
#include "perfdoc.h"
#include "ring.h"
#include "source.h"
#include "xmlev.h"

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* CPU time of this process and its waited-for children. */
static double cpu_s(void)
{
	struct rusage a, b;
	getrusage(RUSAGE_SELF, &a);
	getrusage(RUSAGE_CHILDREN, &b);
	return (double)(a.ru_utime.tv_sec + a.ru_stime.tv_sec + b.ru_utime.tv_sec +
	                b.ru_stime.tv_sec) +
	       (a.ru_utime.tv_usec + a.ru_stime.tv_usec + b.ru_utime.tv_usec +
	        b.ru_stime.tv_usec) / 1e6;
}

static void die(const char *what)
{
	fprintf(stderr, "bench_load: %s: %s\n", what, strerror(errno));
	exit(1);
}

/* ---- the fast path ---- */

typedef struct fast_count {
	uint64_t events, fallback;
} fast_count;

/* The fast path alone on one thread, as a worker of src_evtx.c runs it
 * (pread, chunk header and CRCs, binxml per record), the events freed. */
static void run_fast(const char *path, size_t n_chunks, fast_count *fc, double *wall,
                     double *cpu)
{
	int fd = open(path, O_RDONLY);
	uint8_t *chunk = malloc(EVTX_CHUNK_SIZE);
	evtx_rec_ref *refs = malloc(EVTX_CHUNK_MAX_RECORDS * sizeof *refs);
	binxml *bx = binxml_create();
	if (fd < 0 || !chunk || !refs || !bx)
		die("fast path setup");
	memset(fc, 0, sizeof *fc);
	event_builder b;
	evb_init(&b);
	double t0 = now_s(), c0 = cpu_s();
	for (size_t k = 0; k < n_chunks; k++) {
		off_t off = (off_t)EVTX_FILE_HEADER_SIZE + (off_t)k * EVTX_CHUNK_SIZE;
		if (pread(fd, chunk, EVTX_CHUNK_SIZE, off) != EVTX_CHUNK_SIZE)
			die("pread");
		evtx_chunk_header h;
		evtx_chunk_parse(chunk, EVTX_CHUNK_SIZE, &h);
		uint32_t stop;
		size_t n = evtx_chunk_records(chunk, h.free_off, refs, EVTX_CHUNK_MAX_RECORDS,
		                              &stop);
		binxml_chunk(bx, chunk, EVTX_CHUNK_SIZE);
		for (size_t i = 0; i < n; i++) {
			event ev;
			if (binxml_record(bx, &refs[i], &b, NULL) == DW_OK &&
			    evb_finish(&b, &ev) == DW_OK) {
				fc->events++;
				event_free(&ev);
			} else {
				fc->fallback++;
			}
		}
	}
	*wall = now_s() - t0;
	*cpu = cpu_s() - c0;
	evb_free(&b);
	binxml_destroy(bx);
	free(refs);
	free(chunk);
	close(fd);
}

/* The EVTX source (src_evtx.c: the fast path on every core, fallbacks read
 * by libevtx) into a ring nobody drains: the oldest events are evicted. */
static void run_source(const char *path, ring *r, uint64_t *events, double *wall,
                       double *cpu)
{
	msglog *log = msglog_create(1000);
	source *s = NULL;
	source_opts o = { .follow = false };
	dw_err err;
	double t0 = now_s(), c0 = cpu_s();
	if (!log || source_open(&s, path, 0, &o, r, log, &err) != DW_OK ||
	    source_start(s, &err) != DW_OK) {
		fprintf(stderr, "bench_load: %s\n", err.msg);
		exit(1);
	}
	source_stats st;
	for (;;) {
		source_get_stats(s, &st);
		if (st.state == SRC_DONE || st.state == SRC_FAILED)
			break;
		struct timespec ts = { 0, 2 * 1000000 };
		nanosleep(&ts, NULL);
	}
	*wall = now_s() - t0;
	*cpu = cpu_s() - c0;
	*events = st.read;
	source_close(s);
	msglog_destroy(log);
}

/* ---- the reference path ---- */

/* rec's XML into *xml (grown as needed), rendering once when it fits. */
static bool render(libevtx_record_t *rec, char **xml, size_t *cap)
{
	size_t need = 0;
	if (libevtx_record_get_utf8_xml_string(rec, (uint8_t *)*xml, *cap, NULL) == 1)
		return true;
	if (libevtx_record_get_utf8_xml_string_size(rec, &need, NULL) != 1 || need <= *cap)
		return false;
	char *n = realloc(*xml, need);
	if (!n)
		return false;
	*xml = n;
	*cap = need;
	return libevtx_record_get_utf8_xml_string(rec, (uint8_t *)*xml, *cap, NULL) == 1;
}

static uint64_t run_libevtx(const char *path, size_t n_chunks, uint64_t *failed,
                            double *wall, double *cpu)
{
	int fd = open(path, O_RDONLY);
	uint8_t *img = malloc(EVTX_FILE_HEADER_SIZE + EVTX_CHUNK_SIZE);
	size_t cap = 1 << 16;
	char *xml = malloc(cap);
	xmlev_doc *d = xmlev_doc_create();
	libevtx_file_t *lf = NULL;
	if (fd < 0 || !img || !xml || !d || libevtx_file_initialize(&lf, NULL) != 1)
		die("reference path setup");
	libbfio_handle_t *bfio = bfio_mem_create(img, EVTX_FILE_HEADER_SIZE + EVTX_CHUNK_SIZE);
	if (!bfio)
		die("reference path setup");
	evtx_file_header_make(img, 0); /* as src_evtx.c does */
	uint64_t events = 0;
	*failed = 0;
	double t0 = now_s(), c0 = cpu_s();
	for (size_t k = 0; k < n_chunks; k++) {
		off_t off = (off_t)EVTX_FILE_HEADER_SIZE + (off_t)k * EVTX_CHUNK_SIZE;
		if (pread(fd, img + EVTX_FILE_HEADER_SIZE, EVTX_CHUNK_SIZE, off) != EVTX_CHUNK_SIZE)
			die("pread");
		if (libevtx_file_open_file_io_handle(lf, bfio, LIBEVTX_OPEN_READ, NULL) != 1)
			die("libevtx cannot open a chunk image");
		int n = 0;
		libevtx_file_get_number_of_records(lf, &n, NULL);
		for (int i = 0; i < n; i++) {
			libevtx_record_t *rec = NULL;
			if (libevtx_file_get_record_by_index(lf, i, &rec, NULL) != 1) {
				(*failed)++;
				continue;
			}
			event ev;
			dw_err err;
			if (!render(rec, &xml, &cap)) {
				(*failed)++;
			} else if (xmlev_doc_parse(d, xml, strnlen(xml, cap), &ev, &err) == DW_OK) {
				events++;
				event_free(&ev);
			} else {
				(*failed)++;
			}
			libevtx_record_free(&rec, NULL);
		}
		libevtx_file_close(lf, NULL);
	}
	*wall = now_s() - t0;
	*cpu = cpu_s() - c0;
	libevtx_file_free(&lf, NULL);
	libbfio_handle_free(&bfio, NULL);
	xmlev_doc_destroy(d);
	free(xml);
	free(img);
	close(fd);
	return events;
}

/* ---- evtxexport ---- */

static bool run_evtxexport(const char *path, double *wall, double *cpu)
{
	double t0 = now_s(), c0 = cpu_s();
	pid_t pid = fork();
	if (pid < 0)
		return false;
	if (pid == 0) {
		int null = open("/dev/null", O_WRONLY);
		if (null >= 0) {
			dup2(null, 1);
			dup2(null, 2);
		}
		execlp("evtxexport", "evtxexport", "-f", "xml", path, (char *)NULL);
		_exit(127);
	}
	int st;
	if (waitpid(pid, &st, 0) != pid || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
		return false;
	*wall = now_s() - t0;
	*cpu = cpu_s() - c0;
	return true;
}

int main(void)
{
	char srcpath[4096];
	if (!biglog_sample_path(srcpath, sizeof srcpath)) {
		printf("bench_load: %s not readable (set DW_SAMPLES): skipped\n", srcpath);
		return 0;
	}
	double mb = bstat_env("DW_BENCH_MB", 1024), slice_mb = bstat_env("DW_BENCH_SLICE_MB", 128);
	size_t n_chunks = (size_t)(mb * 1048576.0 / EVTX_CHUNK_SIZE);
	size_t n_slice = (size_t)(slice_mb * 1048576.0 / EVTX_CHUNK_SIZE);
	if (n_chunks < 2 || n_chunks > 65535)
		n_chunks = n_chunks < 2 ? 2 : 65535;
	if (n_slice < 1 || n_slice > n_chunks)
		n_slice = n_slice < 1 ? 1 : n_chunks;

	const char *tmp = getenv("TMPDIR");
	char big[4096], slice[4096];
	snprintf(big, sizeof big, "%s/dw-bench-load-%ld.evtx", tmp && *tmp ? tmp : "/tmp",
	         (long)getpid());
	snprintf(slice, sizeof slice, "%s/dw-bench-slice-%ld.evtx", tmp && *tmp ? tmp : "/tmp",
	         (long)getpid());
	biglog_src s;
	biglog_src_load(srcpath, &s);
	if (s.n == 0) {
		printf("bench_load: no usable chunk in %s\n", srcpath);
		return 1;
	}
	printf("building %zu chunks (%.0f MB) from %zu chunks of %s ...\n", n_chunks,
	       (double)n_chunks * EVTX_CHUNK_SIZE / 1048576.0, s.n, srcpath);
	uint64_t records = biglog_build(big, &s, n_chunks);
	uint64_t slice_records = biglog_build(slice, &s, n_slice);
	double big_mb = (EVTX_FILE_HEADER_SIZE + (double)n_chunks * EVTX_CHUNK_SIZE) / 1048576.0;
	double slice_size = (EVTX_FILE_HEADER_SIZE + (double)n_slice * EVTX_CHUNK_SIZE) / 1048576.0;

	/* warm the page cache so every reader starts equal */
	fast_count warm;
	double w, c;
	run_fast(big, n_chunks, &warm, &w, &c);

	fast_count f1;
	uint64_t fr_events;
	double f1_wall, f1_cpu, fr_wall, fr_cpu;
	run_fast(big, n_chunks, &f1, &f1_wall, &f1_cpu);
	ring *rg = ring_create(RING_DEFAULT_CAPACITY, 0, -1);
	if (!rg)
		die("ring");
	run_source(big, rg, &fr_events, &fr_wall, &fr_cpu);
	ring_stats rs;
	ring_get_stats(rg, &rs);
	double t_free = now_s();
	ring_destroy(rg);
	t_free = now_s() - t_free;
	uint64_t ref_failed;
	double ref_wall, ref_cpu, ex_wall = 0, ex_cpu = 0;
	uint64_t ref_events = run_libevtx(slice, n_slice, &ref_failed, &ref_wall, &ref_cpu);
	bool ex_ok = run_evtxexport(slice, &ex_wall, &ex_cpu);
	if (!getenv("DW_BENCH_KEEP")) {
		unlink(big);
		unlink(slice);
	}

	double loadavg[3] = { 0, 0, 0 };
	getloadavg(loadavg, 3);
	char machine[512], body[8192];
	perfdoc_machine(machine, sizeof machine);
	int len = snprintf(body, sizeof body,
	    "### Bulk load (bench_load)\n\n"
	    "%s; load average %.1f / %.1f / %.1f during the run (the machine is shared: "
	    "CPU time is given beside wall time). Log: %.0f MB (%" PRIu64 " records), the "
	    "chunks of security-large.evtx repeated with record ids renumbered and CRCs "
	    "fixed, in the page cache; the slow paths read its first %.0f MB (%" PRIu64
	    " records). MB/s and records/s are per wall-clock second.\n\n"
	    "| reader | data | wall s | CPU s | MB/s | records/s | vs evtxexport |\n"
	    "|---|---|---|---|---|---|---|\n",
	    machine, loadavg[0], loadavg[1], loadavg[2], big_mb, records, slice_size,
	    slice_records);
	double ex_mbs = ex_ok ? slice_size / ex_wall : 0;
	struct row {
		const char *name;
		double size, wall, cpu;
		uint64_t recs;
	} rows[] = {
		{ "fast path, 1 thread", big_mb, f1_wall, f1_cpu, f1.events + f1.fallback },
		{ "EVTX source, all cores, into the ring", big_mb, fr_wall, fr_cpu, fr_events },
		{ "libevtx XML + xmlev, 1 thread", slice_size, ref_wall, ref_cpu, ref_events + ref_failed },
		{ "`evtxexport -f xml` > /dev/null", slice_size, ex_wall, ex_cpu, slice_records },
	};
	for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
		const struct row *r = &rows[i];
		if (i == 3 && !ex_ok) {
			len += snprintf(body + len, sizeof body - (size_t)len,
			                "| %s | - | failed to run | | | | |\n", r->name);
			continue;
		}
		double mbs = r->size / r->wall;
		len += snprintf(body + len, sizeof body - (size_t)len,
		                "| %s | %.0f MB | %.2f | %.2f | %.1f | %.0f | %.1f× |\n",
		                r->name, r->size, r->wall, r->cpu, mbs,
		                (double)r->recs / r->wall, ex_mbs > 0 ? mbs / ex_mbs : 0);
	}
	len += snprintf(body + len, sizeof body - (size_t)len,
	    "\nFast path alone: %" PRIu64 " of %" PRIu64 " records handed back "
	    "(fallback: src_evtx.c reads them with libevtx, each in its place; not read "
	    "here), the events built and freed. The EVTX source reads the same file with "
	    "%ld workers and pushes into a ring of %u events that nobody drains (%" PRIu64
	    " held, %" PRIu64 " evicted, %.0f MB held, freed afterwards in %.2f s). The "
	    "reference path's events are built and freed. Target (issue 7): >= 350 MB/s "
	    "and >= 25× evtxexport; the product's own figures: bench_print.\n",
	    f1.fallback, f1.events + f1.fallback, sysconf(_SC_NPROCESSORS_ONLN),
	    RING_DEFAULT_CAPACITY, rs.held, rs.evicted, rs.bytes / 1048576.0, t_free);
	fputs(body, stdout);
	if (!getenv("DW_BENCH_NO_DOC") && perfdoc_write(DW_PERFDOC_PATH, "bench_load", body) != 0)
		perror("bench_load: docs/performance.md");
	biglog_src_free(&s);
	return 0;
}
