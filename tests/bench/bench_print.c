/* bench_print - the product's bulk load, side by side in one run (issue 7):
 * `dupwatch --print [--all-events] --format F --no-follow LOG > /dev/null`
 * and `evtxexport -f xml LOG > /dev/null` on the same >= 1 GB logs.
 * Targets: --all-events at >= 350 MB/s and >= 25x evtxexport; the default
 * mode (4690s only) at least as fast.
 *
 * Two logs, built at run time in $TMPDIR and deleted at the end:
 *  (a) real chunks: security-large.evtx repeated, ids renumbered, CRCs
 *      fixed (biglog.h; skipped with a message without the samples); it
 *      holds no 4690, so the default mode prints nothing from it;
 *  (b) the writer's Security mix (secmix.h), a fifth of it 4690s.
 * Per log and mode, a first run's output is counted through a pipe (events
 * printed; it also warms the page cache), then each format runs
 * DW_BENCH_ROUNDS times to /dev/null: median wall and CPU time (wait4,
 * user + system, all threads), peak resident size (ru_maxrss, the largest
 * round). evtxexport runs once per log, on the whole file unless
 * DW_BENCH_EXPORT_MB asks for a prefix (header + first chunks); the output
 * says which. MB are 2^20 bytes; rates are per wall-clock second.
 *
 * Env: DW_BINARY (default: the build's dupwatch), DW_SAMPLES, DW_BENCH_MB
 * (size of each log, default 1024), DW_BENCH_ROUNDS (default 3),
 * DW_BENCH_EXPORT_MB, DW_BENCH_FORMATS (default "jsonl,csv"),
 * DW_BENCH_NO_DOC (do not write docs/performance.md), DW_BENCH_KEEP (keep the
 * logs). No pass or fail on time. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "biglog.h"
#include "bstat.h"
#include "evtx_chunk.h"
#include "le.h"
#include "perfdoc.h"
#include "secmix.h"

#define MIB 1048576.0
#define MAX_ROUNDS 15
#define MAX_FORMATS 4
#define TARGET_MBS 350.0
#define TARGET_RATIO 25.0

static void die(const char *what)
{
	fprintf(stderr, "bench_print: %s: %s\n", what, strerror(errno));
	exit(1);
}

/* ---- running a program ---- */

typedef struct run_res {
	double wall, cpu, rss_mb; /* s, s (user + system), MiB */
	uint64_t lines;           /* output lines, when counted */
} run_res;

static char err_path[4096]; /* each child's stderr, shown when it fails */

static void show_stderr(const char *prefix)
{
	FILE *f = fopen(err_path, "r");
	char line[512];
	for (int i = 0; f && i < 5 && fgets(line, sizeof line, f); i++)
		printf("%s%s", prefix, line);
	if (f)
		fclose(f);
}

/* Runs argv with stdout to /dev/null, or into a pipe whose lines are
 * counted; stderr to err_path. Exits when it does not end with status 0. */
static run_res run(char *const argv[], bool count)
{
	int p[2] = { -1, -1 };
	if (count && pipe(p) != 0)
		die("pipe");
	run_res r = { 0 };
	double t0 = bstat_now_ms();
	pid_t pid = fork();
	if (pid < 0)
		die("fork");
	if (pid == 0) {
		int out = count ? p[1] : open("/dev/null", O_WRONLY);
		int err = open(err_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		if (out < 0 || err < 0 || dup2(out, 1) < 0 || dup2(err, 2) < 0)
			_exit(126);
		if (count) {
			close(p[0]);
			close(p[1]);
		}
		execvp(argv[0], argv);
		_exit(127);
	}
	if (count) {
		close(p[1]);
		static char buf[1 << 20];
		ssize_t n;
		while ((n = read(p[0], buf, sizeof buf)) != 0) {
			if (n < 0 && errno == EINTR)
				continue;
			if (n < 0)
				die("read");
			for (char *q = buf, *e = buf + n; (q = memchr(q, '\n', (size_t)(e - q))); q++)
				r.lines++;
		}
		close(p[0]);
	}
	int st;
	struct rusage ru;
	if (wait4(pid, &st, 0, &ru) != pid)
		die("wait4");
	r.wall = (bstat_now_ms() - t0) / 1000;
	r.cpu = (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
	        (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
	r.rss_mb = (double)ru.ru_maxrss / 1024; /* KiB on Linux */
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
		printf("bench_print: %s %s failed (%s %d); its stderr:\n", argv[0], argv[1],
		       WIFEXITED(st) ? "exit status" : "signal",
		       WIFEXITED(st) ? WEXITSTATUS(st) : WTERMSIG(st));
		show_stderr("  ");
		exit(1);
	}
	return r;
}

/* ---- the logs ---- */

typedef struct log_info {
	const char *name; /* for the table */
	const char *what; /* how it was made */
	char path[4096];
	double mb;
	uint64_t records, n4690;
} log_info;

static double file_mb(const char *path)
{
	struct stat st;
	if (stat(path, &st) != 0)
		die(path);
	return (double)st.st_size / MIB;
}

/* Copies the file header and the first n_chunks chunks of src to dst, with
 * the header's chunk count, last chunk and next record id made to match.
 * Returns the prefix's records: the last chunk's last record id (both logs
 * number from 1 without gaps). */
static uint64_t write_prefix(const char *src, const char *dst, size_t n_chunks)
{
	int in = open(src, O_RDONLY), out = open(dst, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	uint8_t *buf = malloc(EVTX_CHUNK_SIZE);
	if (in < 0 || out < 0 || !buf)
		die(dst);
	uint8_t hdr[EVTX_FILE_HEADER_SIZE];
	if (read(in, hdr, sizeof hdr) != (ssize_t)sizeof hdr ||
	    write(out, hdr, sizeof hdr) != (ssize_t)sizeof hdr)
		die("file header");
	uint64_t last = 0;
	for (size_t k = 0; k < n_chunks; k++) {
		if (read(in, buf, EVTX_CHUNK_SIZE) != EVTX_CHUNK_SIZE ||
		    write(out, buf, EVTX_CHUNK_SIZE) != EVTX_CHUNK_SIZE)
			die("prefix chunk");
		last = le_get64(buf + 16); /* last event record number */
	}
	biglog_header_fix(hdr, n_chunks, last + 1);
	if (pwrite(out, hdr, sizeof hdr, 0) != (ssize_t)sizeof hdr)
		die("file header");
	close(in);
	close(out);
	free(buf);
	return last;
}

/* ---- the measurements ---- */

typedef struct mode_res {
	double wall, cpu, rss; /* medians; the largest peak RSS */
} mode_res;

typedef struct log_res {
	const log_info *log;
	mode_res m[2][MAX_FORMATS]; /* [0] --all-events, [1] default */
	uint64_t printed[2];        /* events printed, counted in jsonl */
	double load_before, load_after;
	/* evtxexport */
	double ex_mb, ex_wall, ex_cpu, ex_rss;
	uint64_t ex_records;
	bool ex_prefix;
} log_res;

static const char *bin;
static const char *formats[MAX_FORMATS];
static size_t n_formats;
static int rounds;

static run_res run_dupwatch(const char *path, bool all, const char *fmt, bool count)
{
	/* writable copies: exec takes char *const[] */
	char a_bin[4096], a_fmt[16], a_path[4096], o_print[] = "--print",
	     o_all[] = "--all-events", o_fmt[] = "--format", o_nf[] = "--no-follow";
	snprintf(a_bin, sizeof a_bin, "%s", bin);
	snprintf(a_fmt, sizeof a_fmt, "%s", fmt);
	snprintf(a_path, sizeof a_path, "%s", path);
	char *argv[8];
	size_t k = 0;
	argv[k++] = a_bin;
	argv[k++] = o_print;
	if (all)
		argv[k++] = o_all;
	argv[k++] = o_fmt;
	argv[k++] = a_fmt;
	argv[k++] = o_nf;
	argv[k++] = a_path;
	argv[k] = NULL;
	return run(argv, count);
}

static void bench_log(const log_info *lg, double export_mb, log_res *res)
{
	res->log = lg;
	res->load_before = bstat_load_avg();
	printf("%s: %.0f MB, %" PRIu64 " records, %" PRIu64 " 4690s\n", lg->name, lg->mb,
	       lg->records, lg->n4690);
	for (int m = 0; m < 2; m++) {
		/* counted once in jsonl (one line per event); also warms the cache */
		run_res r = run_dupwatch(lg->path, m == 0, "jsonl", true);
		res->printed[m] = r.lines;
		printf("  %s: %" PRIu64 " events printed (%.2f s through a pipe)\n",
		       m == 0 ? "--all-events" : "default", r.lines, r.wall);
		show_stderr("    dupwatch: ");
	}
	/* rounds interleaved, so a change in the machine's load hits all alike */
	double wall[2][MAX_FORMATS][MAX_ROUNDS], cpu[2][MAX_FORMATS][MAX_ROUNDS];
	for (int k = 0; k < rounds; k++)
		for (size_t f = 0; f < n_formats; f++)
			for (int m = 0; m < 2; m++) {
				run_res r = run_dupwatch(lg->path, m == 0, formats[f], false);
				wall[m][f][k] = r.wall;
				cpu[m][f][k] = r.cpu;
				if (r.rss_mb > res->m[m][f].rss)
					res->m[m][f].rss = r.rss_mb;
				printf("  round %d %-5s %-12s %6.2f s wall %6.2f s CPU %7.1f MB/s\n",
				       k + 1, formats[f], m == 0 ? "--all-events" : "default", r.wall,
				       r.cpu, lg->mb / r.wall);
			}
	for (int m = 0; m < 2; m++)
		for (size_t f = 0; f < n_formats; f++) {
			res->m[m][f].wall = bstat_median(wall[m][f], (size_t)rounds);
			res->m[m][f].cpu = bstat_median(cpu[m][f], (size_t)rounds);
		}
	res->load_after = bstat_load_avg();

	const char *path = lg->path;
	char prefix[4096 + 16];
	size_t n_chunks = (size_t)(export_mb * MIB / EVTX_CHUNK_SIZE);
	res->ex_prefix = export_mb > 0 && n_chunks >= 1 &&
	                 EVTX_FILE_HEADER_SIZE + (double)n_chunks * EVTX_CHUNK_SIZE < lg->mb * MIB;
	res->ex_records = lg->records;
	if (res->ex_prefix) {
		snprintf(prefix, sizeof prefix, "%s.prefix", lg->path);
		res->ex_records = write_prefix(lg->path, prefix, n_chunks);
		path = prefix;
	}
	res->ex_mb = file_mb(path);
	printf("  evtxexport -f xml on %s (%.0f MB, %" PRIu64 " records) ...\n",
	       res->ex_prefix ? "a prefix" : "the whole log", res->ex_mb, res->ex_records);
	char a_path[4096 + 16], a_prog[] = "evtxexport", a_f[] = "-f", a_xml[] = "xml";
	snprintf(a_path, sizeof a_path, "%s", path);
	char *argv[] = { a_prog, a_f, a_xml, a_path, NULL };
	run_res r = run(argv, false);
	res->ex_wall = r.wall;
	res->ex_cpu = r.cpu;
	res->ex_rss = r.rss_mb;
	printf("  evtxexport: %.2f s wall %.2f s CPU %.1f MB/s\n", r.wall, r.cpu,
	       res->ex_mb / r.wall);
	if (res->ex_prefix && !getenv("DW_BENCH_KEEP"))
		unlink(prefix);
}

/* Appends the rows of one log to the table in body. */
static int table_rows(char *body, size_t cap, int len, const log_res *res)
{
	const log_info *lg = res->log;
	double ex_mbs = res->ex_mb / res->ex_wall;
	for (int m = 0; m < 2; m++)
		for (size_t f = 0; f < n_formats; f++) {
			const mode_res *r = &res->m[m][f];
			double mbs = lg->mb / r->wall;
			len += snprintf(body + len, cap - (size_t)len,
			                "| %s | `--print%s -f %s` | %.2f | %.2f | %.0f | %.0f | %" PRIu64
			                " | %.0f MB | %.1f× |\n",
			                lg->name, m == 0 ? " --all-events" : "", formats[f], r->wall,
			                r->cpu, mbs, (double)lg->records / r->wall, res->printed[m],
			                r->rss, mbs / ex_mbs);
		}
	len += snprintf(body + len, cap - (size_t)len,
	                "| %s | `evtxexport -f xml`%s | %.2f | %.2f | %.1f | %.0f | %" PRIu64
	                " | %.0f MB | 1× |\n",
	                lg->name, res->ex_prefix ? " (a prefix)" : "", res->ex_wall, res->ex_cpu,
	                ex_mbs, (double)res->ex_records / res->ex_wall, res->ex_records,
	                res->ex_rss);
	return len;
}

/* Appends the targets' verdicts for one log (jsonl, the default format). */
static int verdicts(char *body, size_t cap, int len, const log_res *res)
{
	const log_info *lg = res->log;
	double all = lg->mb / res->m[0][0].wall, def = lg->mb / res->m[1][0].wall;
	double ratio = all / (res->ex_mb / res->ex_wall);
	return len + snprintf(body + len, cap - (size_t)len,
	    "- %s, %s: `--all-events` %.0f MB/s (target %.0f): **%s**; %.1f× evtxexport "
	    "(target %.0f×): **%s**; default mode %.0f MB/s, %s as fast as `--all-events`: "
	    "**%s**.\n",
	    lg->name, formats[0], all, TARGET_MBS, all >= TARGET_MBS ? "met" : "not met", ratio,
	    TARGET_RATIO, ratio >= TARGET_RATIO ? "met" : "not met", def,
	    def >= all ? "at least" : "not", def >= all ? "met" : "not met");
}

static void parse_formats(void)
{
	static char buf[256];
	const char *v = getenv("DW_BENCH_FORMATS");
	snprintf(buf, sizeof buf, "%s", v && *v ? v : "jsonl,csv");
	for (char *save = NULL, *t = strtok_r(buf, ",", &save); t && n_formats < MAX_FORMATS;
	     t = strtok_r(NULL, ",", &save))
		formats[n_formats++] = t;
}

int main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0); /* progress shows up in a log file too */
	bin = getenv("DW_BINARY");
	if (!bin || !*bin)
		bin = DW_BINARY_DEFAULT;
	parse_formats();
	rounds = (int)bstat_env("DW_BENCH_ROUNDS", 3);
	if (rounds < 1 || rounds > MAX_ROUNDS)
		rounds = rounds < 1 ? 1 : MAX_ROUNDS;
	double mb = bstat_env("DW_BENCH_MB", 1024), export_mb = bstat_env("DW_BENCH_EXPORT_MB", 0);
	size_t n_chunks = (size_t)(mb * MIB / EVTX_CHUNK_SIZE);
	if (n_chunks < 2 || n_chunks > 65535)
		n_chunks = n_chunks < 2 ? 2 : 65535;
	const char *tmp = getenv("TMPDIR");
	tmp = tmp && *tmp ? tmp : "/tmp";
	snprintf(err_path, sizeof err_path, "%s/dw-bench-print-%ld.stderr", tmp, (long)getpid());
	bool keep = getenv("DW_BENCH_KEEP") != NULL;

	log_info logs[2] = {
		{ .name = "(a) real chunks",
		  .what = "security-large.evtx's chunks repeated, ids renumbered, CRCs fixed" },
		{ .name = "(b) writer mix", .what = "the writer's 4688/4656/4690/4658/4689 mix" },
	};
	log_res res[2] = { 0 };
	size_t n_res = 0;
	char sample[4096];
	if (biglog_sample_path(sample, sizeof sample)) {
		log_info *lg = &logs[0];
		snprintf(lg->path, sizeof lg->path, "%s/dw-bench-print-real-%ld.evtx", tmp,
		         (long)getpid());
		biglog_src s;
		biglog_src_load(sample, &s);
		if (s.n == 0) {
			printf("bench_print: no usable chunk in %s\n", sample);
			return 1;
		}
		printf("building %s: %zu chunks from the %zu of %s ...\n", lg->path, n_chunks, s.n,
		       sample);
		lg->records = biglog_build(lg->path, &s, n_chunks);
		biglog_src_free(&s);
		lg->mb = file_mb(lg->path);
		bench_log(lg, export_mb, &res[n_res++]);
		if (!keep)
			unlink(lg->path);
	} else {
		printf("bench_print: %s not readable (set DW_SAMPLES): log (a) skipped\n", sample);
	}
	log_info *lg = &logs[1];
	snprintf(lg->path, sizeof lg->path, "%s/dw-bench-print-mix-%ld.evtx", tmp, (long)getpid());
	printf("writing %s: %zu chunks of the writer's mix ...\n", lg->path, n_chunks);
	lg->records = secmix_write(lg->path, (uint32_t)n_chunks, 0, NULL);
	lg->n4690 = (lg->records + 2) / 5; /* record i is a 4690 when i % 5 == 2 */
	lg->mb = file_mb(lg->path);
	bench_log(lg, export_mb, &res[n_res++]);
	if (!keep)
		unlink(lg->path);
	unlink(err_path);

	char machine[512], body[8192];
	perfdoc_machine(machine, sizeof machine);
	int len = snprintf(body, sizeof body,
	    "### `dupwatch --print` bulk load (bench_print)\n\n"
	    "%s; dupwatch built %s. The real binary: `dupwatch --print [--all-events] "
	    "-f FORMAT --no-follow LOG > /dev/null`, median of %d round(s), interleaved, "
	    "page cache warm, beside `evtxexport -f xml LOG > /dev/null` (one run) on the "
	    "same file in the same run. CPU = user + system time of all the process's "
	    "threads (wait4); peak RSS = the largest ru_maxrss of the rounds. MB = 2^20 "
	    "bytes; MB/s and records/s per wall-clock second, over the whole log (every "
	    "record is read in both modes). Events printed: counted in a first jsonl run "
	    "through a pipe (for evtxexport: the records it read).\n\n"
	    "| log | command | wall s | CPU s | MB/s | records/s | events printed | "
	    "peak RSS | vs evtxexport |\n|---|---|---|---|---|---|---|---|---|\n",
	    machine, DW_BUILD_TYPE, rounds);
	for (size_t i = 0; i < n_res; i++)
		len = table_rows(body, sizeof body, len, &res[i]);
	len += snprintf(body + len, sizeof body - (size_t)len, "\n");
	for (size_t i = 0; i < n_res; i++) {
		const log_res *r = &res[i];
		len += snprintf(body + len, sizeof body - (size_t)len,
		    "%s: %.0f MB, %" PRIu64 " records, %" PRIu64 " 4690s (%s); evtxexport read %s"
		    " (%.0f MB); load average %.2f before the dupwatch runs, %.2f after "
		    "(2 cores, shared).\n\n",
		    r->log->name, r->log->mb, r->log->records, r->log->n4690, r->log->what,
		    r->ex_prefix ? "the header and first chunks only (DW_BENCH_EXPORT_MB)" :
		                   "the whole file",
		    r->ex_mb, r->load_before, r->load_after);
	}
	len += snprintf(body + len, sizeof body - (size_t)len,
	                "Issue 7 targets (%s):\n\n", formats[0]);
	for (size_t i = 0; i < n_res; i++)
		len = verdicts(body, sizeof body, len, &res[i]);
	fputs("\n", stdout);
	fputs(body, stdout);
	if (!getenv("DW_BENCH_NO_DOC") && perfdoc_write(DW_PERFDOC_PATH, "bench_print", body) != 0)
		perror("bench_print: docs/performance.md");
	return 0;
}
