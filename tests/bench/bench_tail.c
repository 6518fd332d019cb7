/* bench_tail - the viewer following a 1 GB live log (issue 7): how soon one
 * appended record reaches the screen, and whether the viewer's CPU work per
 * record stays the same whatever the log already holds.
 *
 * For a large log (DW_BENCH_MB, default 1024) and then a small one
 * (DW_BENCH_SMALL_MB, default 16):
 * 1. Writes the log with the EVTX writer (the 4688 / 4656 / 4690 / 4658 /
 *    4689 mix of secmix.h) into $TMPDIR, preallocated, 8 chunks left free,
 *    and keeps the writer open: a live log.
 * 2. Starts `dupwatch LOG` (the viewer follows by default) in a 160x40
 *    pseudo-terminal (tests/e2e/pty.h) and waits until the header shows
 *    every record of the log read.
 * 3. Lets it settle, then reads the viewer's CPU time (the run time of its
 *    threads in /proc/PID/task/TID/schedstat, in ns) over an idle window.
 * 4. Appends DW_BENCH_N (default 300) 4690s one at a time, 5-25 ms apart,
 *    in place (evtxw_append + evtxw_sync: the size never changes), and times
 *    each from the sync returning to the screen showing its record id (the
 *    newest row, and the detail of the selected row while following): p50,
 *    p99, max. The viewer's CPU over the appends, per record, less what it
 *    spends idle in the same time, is the work the change costs.
 * Prints a Markdown section and writes it into docs/performance.md (section
 * bench_tail). Nothing passes or fails on time.
 *
 * Env: DW_BENCH_MB, DW_BENCH_SMALL_MB, DW_BENCH_N, DW_BENCH_KEEP (keep the
 * logs as $TMPDIR/dw-bench-tail-<MB>.evtx; they are written again each run,
 * since the writer cannot reopen a log to append to it), DW_BENCH_NO_DOC
 * (do not write the section), DW_BENCH_PERF=PREFIX (profile the viewer
 * over the appends: `perf record -e cpu-clock -g` into PREFIX-<MB>.data). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <spawn.h>
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
#include "evtxw.h"
#include "perfdoc.h"
#include "secmix.h"

#define WAIT_MS 60000
#define LOAD_MS 600000
#define SEEN_MS 5000    /* one appended record on screen, at the most */
#define SETTLE_MS 1000  /* after the load, before the idle window */
#define IDLE_MS 5000    /* the idle window */
#define FREE_CHUNKS 8   /* left empty for the appends */
#define TAIL_MAX 10000
#define TARGET_MS 50.0
#define CAPACITY 1000000u /* the viewer's default ring */

extern char **environ;

static void die(const char *what, const char *why)
{
	fprintf(stderr, "bench_tail: %s: %s\n", what, why);
	exit(1);
}

static bool all_read(pty *p, void *user)
{
	return bpty_events_read(p) >= *(const uint64_t *)user;
}

/* A record id as the table's Record column and the detail pane show it: a
 * plain decimal number between blanks or at a row's end. Nothing else on
 * the screen prints a bare number of that size (counts carry commas, PIDs
 * and handles are hex). */
static bool id_shown(pty *p, void *user)
{
	char rows[40 * 160 * 4 + 64]; /* 160x40, UTF-8 */
	const char *id = user;
	size_t n = strlen(id);
	pty_screen(p, rows, sizeof rows);
	for (const char *q = rows; (q = strstr(q, id)) != NULL; q += n)
		if (q > rows && (q[-1] == ' ' || q[-1] == '\n') &&
		    (q[n] == ' ' || q[n] == '\n' || q[n] == '\0'))
			return true;
	return false;
}

enum { SCHED_RUN, SCHED_WAIT };

/* Milliseconds the live threads of pid have spent on a core (SCHED_RUN)
 * or runnable but waiting for one (SCHED_WAIT, the run queue), from
 * /proc/PID/task/TID/schedstat: nanoseconds, where /proc/PID/stat counts
 * 10 ms ticks. On a shared machine the wait tells waiting from working. */
static double sched_ms(pid_t pid, int field)
{
	char path[300];
	snprintf(path, sizeof path, "/proc/%d/task", (int)pid);
	DIR *d = opendir(path);
	struct dirent *e;
	double ns = 0;
	while (d && (e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof path, "/proc/%d/task/%s/schedstat", (int)pid, e->d_name);
		FILE *f = fopen(path, "r");
		unsigned long long run, wait;
		if (f && fscanf(f, "%llu %llu", &run, &wait) == 2)
			ns += (double)(field == SCHED_RUN ? run : wait);
		if (f)
			fclose(f);
	}
	if (d)
		closedir(d);
	return ns / 1e6;
}

/* Reads the terminal for ms, so the viewer never blocks on a full pty. */
static void pump_for(pty *p, double ms)
{
	double end = bstat_now_ms() + ms, left;
	while ((left = end - bstat_now_ms()) > 0)
		pty_pump(p, (int)left + 1);
}

typedef struct tail_run {
	unsigned mb;
	double size_mb;
	uint64_t records;        /* in the log before the appends */
	double write_s, load_s;  /* writing it; the viewer reading it all */
	double load_cpu_s;       /* the viewer's CPU time at the end of the load */
	size_t n;                /* appends timed */
	size_t lost;             /* appends not shown within SEEN_MS */
	double lat[TAIL_MAX];    /* sync returned -> on screen, ms, sorted */
	size_t slow, slow_new;   /* over the target; of those, opening a chunk */
	double slow_ms, slow_cpu_ms; /* their wall time; the viewer's CPU in it */
	double slow_queue_ms, slow_self_queue_ms; /* the viewer's and the
	                            harness's wait for a core in it */
	double tail_queue_ms, tail_self_queue_ms; /* the same over all appends */
	double p50, p99, max;
	double idle_ms_per_s;    /* viewer CPU while idle, ms per second */
	double tail_wall_s;      /* the appends, wall clock */
	double tail_cpu_ms;      /* viewer CPU over them */
	double per_rec, idle_per_rec, net_per_rec; /* CPU ms per record */
	double load0, load1;     /* load average at the start and the end */
	char profile[1024];      /* with DW_BENCH_PERF: the hottest lines */
} tail_run;

/* `perf record` attached to pid, writing to PREFIX-<mb>.data; 0 when
 * DW_BENCH_PERF is unset or perf cannot start. */
static pid_t perf_start(pid_t pid, unsigned mb)
{
	const char *prefix = getenv("DW_BENCH_PERF");
	if (!prefix || !*prefix)
		return 0;
	char out[512], target[32];
	snprintf(out, sizeof out, "%s-%u.data", prefix, mb);
	snprintf(target, sizeof target, "%d", (int)pid);
	posix_spawn_file_actions_t fa;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
	posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
	char *argv[] = { "perf", "record", "-e", "cpu-clock", "-g", "-p", target, "-o", out,
	                 NULL };
	pid_t perf;
	if (posix_spawnp(&perf, "perf", &fa, NULL, argv, environ) != 0)
		perf = 0;
	posix_spawn_file_actions_destroy(&fa);
	if (perf)
		usleep(500000); /* perf attaches before the first append */
	return perf;
}

/* Stops perf and puts the hottest source lines of its profile into out
 * ("`update_pass` view.c:1347 (dupwatch) 12.1%, ..."): those over 1%, at
 * most 10 (a line of an inlined function names the function it is in). */
static void perf_stop(pid_t perf, unsigned mb, char *out, size_t cap)
{
	out[0] = '\0';
	if (!perf)
		return;
	kill(perf, SIGINT);
	waitpid(perf, NULL, 0);
	char cmd[600], line[512];
	snprintf(cmd, sizeof cmd, "perf report -i '%s-%u.data' --no-children --sort "
	         "dso,sym,srcline --stdio -g none 2>/dev/null", getenv("DW_BENCH_PERF"), mb);
	FILE *f = popen(cmd, "r");
	size_t len = 0;
	for (int n = 0; f && n < 10 && fgets(line, sizeof line, f);) {
		double pct;
		char dso[128], sym[256], src[256];
		if (line[0] == '#' ||
		    sscanf(line, " %lf%% %127s [%*c] %255s %255s", &pct, dso, sym, src) != 4)
			continue;
		if (pct < 1)
			break;
		bool known = strncmp(src, "??", 2) != 0 && strchr(src, ':') != NULL;
		int w = snprintf(out + len, cap - len, "%s`%s`%s%s (%s) %.1f%%", n ? ", " : "", sym,
		                 known ? " " : "", known ? src : "", dso, pct);
		if (w < 0 || (size_t)w >= cap - len)
			break;
		len += (size_t)w;
		n++;
	}
	if (f)
		pclose(f);
}

static void run(tail_run *r, const char *tmp, bool keep, unsigned n)
{
	char path[512];
	if (keep)
		snprintf(path, sizeof path, "%s/dw-bench-tail-%u.evtx", tmp, r->mb);
	else
		snprintf(path, sizeof path, "%s/dw-bench-tail-%ld-%u.evtx", tmp, (long)getpid(),
		         r->mb);
	r->load0 = bstat_load_avg();

	/* 1. the live log: records per chunk from a full 1 MB probe */
	char probe[600];
	snprintf(probe, sizeof probe, "%s.probe", path);
	uint64_t per_chunk = secmix_write(probe, 16, 0, NULL) / 16;
	unlink(probe);
	uint32_t chunks = r->mb * 16;
	if (chunks <= FREE_CHUNKS)
		die("DW_BENCH_MB", "too small");
	double t = bstat_now_ms();
	evtxw *w = NULL;
	r->records = secmix_write(path, chunks, (uint64_t)(chunks - FREE_CHUNKS) * per_chunk, &w);
	r->write_s = (bstat_now_ms() - t) / 1000;
	struct stat st;
	if (stat(path, &st) != 0)
		die(path, strerror(errno));
	r->size_mb = (double)st.st_size / 1e6;
	printf("wrote live log %s: %.0f MB, %" PRIu64 " records in %.1f s\n", path, r->size_mb,
	       r->records, r->write_s);

	/* 2. the viewer, until it has read it all */
	pty_opts o = { .rows = 40, .cols = 160 };
	t = bstat_now_ms();
	pty *p = pty_start(&o, (const char *[]){ path, NULL });
	if (!pty_wait_for(p, all_read, &r->records, LOAD_MS))
		die("load", "not every record was read");
	r->load_s = (bstat_now_ms() - t) / 1000;
	pid_t child = bpty_child(pty_binary());
	if (!child)
		die("viewer", "cannot find its process");
	r->load_cpu_s = bpty_cpu_seconds(child);
	printf("the viewer read %" PRIu64 " records in %.2f s (%.1f CPU s)\n", r->records,
	       r->load_s, r->load_cpu_s);

	/* 3. idle */
	pump_for(p, SETTLE_MS);
	double c0 = sched_ms(child, SCHED_RUN);
	t = bstat_now_ms();
	pump_for(p, IDLE_MS);
	r->idle_ms_per_s = (sched_ms(child, SCHED_RUN) - c0) / ((bstat_now_ms() - t) / 1000);

	/* 4. appends: 4690s only (record i of the mix is one when i % 5 == 2),
	 * each shown by the viewer's default (4690) view */
	uint64_t i = r->records + (7 - r->records % 5) % 5;
	dw_err err;
	r->n = r->lost = r->slow = r->slow_new = 0;
	r->slow_ms = r->slow_cpu_ms = r->slow_queue_ms = r->slow_self_queue_ms = 0;
	double q0 = sched_ms(child, SCHED_WAIT), sq0 = sched_ms(getpid(), SCHED_WAIT);
	pid_t perf = perf_start(child, r->mb);
	c0 = sched_ms(child, SCHED_RUN);
	double t_tail = bstat_now_ms();
	for (unsigned k = 0; k < n && k < TAIL_MAX; k++, i += 5) {
		uint32_t room = evtxw_chunk_free(w);
		double cpu0 = sched_ms(child, SCHED_RUN), wq0 = sched_ms(child, SCHED_WAIT), sw0 = sched_ms(getpid(), SCHED_WAIT);
		if (secmix_append(w, i, &err) != DW_OK)
			die("append", err.msg);
		uint64_t id = evtxw_next_id(w) - 1;
		if (evtxw_sync(w, &err) != DW_OK)
			die("sync", err.msg);
		double t0 = bstat_now_ms();
		char want[32];
		snprintf(want, sizeof want, "%" PRIu64, id);
		if (!pty_wait_for(p, id_shown, want, SEEN_MS)) {
			r->lost++;
			continue;
		}
		double ms = bstat_now_ms() - t0;
		r->lat[r->n++] = ms;
		if (ms >= TARGET_MS) {
			/* Was the viewer working or waiting for a core? */
			double cpu = sched_ms(child, SCHED_RUN) - cpu0;
			double wq = sched_ms(child, SCHED_WAIT) - wq0, sw = sched_ms(getpid(), SCHED_WAIT) - sw0;
			bool opened = evtxw_chunk_free(w) > room; /* a new chunk */
			r->slow++;
			r->slow_new += opened;
			r->slow_ms += ms;
			r->slow_cpu_ms += cpu;
			r->slow_queue_ms += wq;
			r->slow_self_queue_ms += sw;
			printf("  append #%u (record %s): %.1f ms, viewer CPU %.0f ms, waiting for a "
			       "core: viewer %.1f ms, harness %.1f ms%s\n", k, want, ms, cpu, wq, sw,
			       opened ? ", opened a new chunk" : "");
		}
		pump_for(p, 5 + secmix_rand() % 21);
	}
	r->tail_wall_s = (bstat_now_ms() - t_tail) / 1000;
	r->tail_cpu_ms = sched_ms(child, SCHED_RUN) - c0;
	r->tail_queue_ms = sched_ms(child, SCHED_WAIT) - q0;
	r->tail_self_queue_ms = sched_ms(getpid(), SCHED_WAIT) - sq0;
	perf_stop(perf, r->mb, r->profile, sizeof r->profile);
	r->load1 = bstat_load_avg();

	int status;
	pty_send(p, "q");
	if (!pty_wait_exit(p, WAIT_MS, &status) || status != 0)
		fprintf(stderr, "bench_tail: the viewer did not quit cleanly (%d)\n", status);
	pty_free(p);
	if (evtxw_close(w, &err) != DW_OK)
		die("close", err.msg);
	if (!keep)
		unlink(path);

	if (!r->n)
		die("tail", "no appended record reached the screen");
	qsort(r->lat, r->n, sizeof r->lat[0], bstat_cmp_double);
	size_t i99 = (r->n * 99 + 99) / 100;
	r->p50 = r->lat[r->n / 2];
	r->p99 = r->lat[(i99 < r->n ? i99 : r->n) - 1];
	r->max = r->lat[r->n - 1];
	size_t done = r->n + r->lost;
	r->per_rec = r->tail_cpu_ms / (double)done;
	r->idle_per_rec = r->idle_ms_per_s * r->tail_wall_s / (double)done;
	r->net_per_rec = r->per_rec - r->idle_per_rec;
	printf("%zu appends (%zu lost): p50 %.2f ms, p99 %.2f ms, max %.2f ms; viewer CPU %.0f ms "
	       "over %.1f s = %.3f ms per record, idle %.2f ms/s = %.3f ms per record, net %.3f\n",
	       r->n, r->lost, r->p50, r->p99, r->max, r->tail_cpu_ms, r->tail_wall_s, r->per_rec,
	       r->idle_ms_per_s, r->idle_per_rec, r->net_per_rec);
}

int main(void)
{
	static tail_run runs[2];
	runs[0].mb = (unsigned)bstat_env("DW_BENCH_MB", 1024);
	runs[1].mb = (unsigned)bstat_env("DW_BENCH_SMALL_MB", 16);
	unsigned n = (unsigned)bstat_env("DW_BENCH_N", 300);
	bool keep = getenv("DW_BENCH_KEEP") != NULL;
	if (n < 1 || n > TAIL_MAX || runs[0].mb < 1 || runs[0].mb > 4000 || runs[1].mb < 1 ||
	    runs[1].mb > 4000)
		die("DW_BENCH_MB / DW_BENCH_SMALL_MB / DW_BENCH_N", "out of range");
	const char *tmp = getenv("TMPDIR") && *getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
	for (int k = 0; k < 2; k++)
		run(&runs[k], tmp, keep, n);

	const tail_run *big = &runs[0], *small = &runs[1];
	/* Proportional to the change: the net CPU per record on the large log
	 * exceeds the small log's by no more than the noise, taken as 10% of
	 * the small log's. */
	bool lat_met = big->p99 < TARGET_MS && big->lost == 0;
	double extra = big->net_per_rec - small->net_per_rec;
	double noise = 0.1 * small->net_per_rec;
	bool cpu_met = extra <= noise;
	char machine[256], body[8192];
	size_t len = 0;
	bstat_put(body, sizeof body, &len,
	    "### Viewer following a live log: append to screen, CPU per record (bench_tail)\n\n"
	    "%s. `dupwatch LOG` (the viewer, following; its ring holds %u events, the "
	    "default) in a 160x40 pseudo-terminal (libvterm) on a live Security log written by "
	    "the writer (4688 / 4656 / 4690 / 4658 / 4689 mix), preallocated with %d chunks "
	    "left free, in the page cache. Once the header shows every record read, %u 4690s "
	    "are appended one at a time, 5-25 ms apart, in place (`evtxw_append` + "
	    "`evtxw_sync`, the file size unchanged, as the service writes); each is timed from "
	    "the sync returning to the screen showing its record id (the newest row). The "
	    "harness waits on the pty with poll() and reads the screen back (libvterm) after "
	    "each read: its own reading is in every time, on the same 2 cores as the viewer. "
	    "The viewer's CPU is the run time of its threads (/proc/PID/task/*/schedstat, in "
	    "ns) over the appends, per appended record; *idle* is its CPU over a %d s window with no append "
	    "just before, scaled to the same wall time; *net* is the difference: the work one "
	    "record costs. Load average %.1f at the start, %.1f at the end: the machine was "
	    "shared.\n\n"
	    "| log | records | viewer load | p50 | p99 | max | over %.0f ms | CPU per record | "
	    "idle per record | net per record |\n|---|---|---|---|---|---|---|---|---|---|\n",
	    perfdoc_machine(machine, sizeof machine), CAPACITY, FREE_CHUNKS, n, IDLE_MS / 1000, big->load0, small->load1,
	    TARGET_MS);
	for (int k = 0; k < 2; k++) {
		const tail_run *r = &runs[k];
		bstat_put(body, sizeof body, &len,
		          "| %.0f MB%s | %" PRIu64 " | %.1f s (%.1f CPU s) | %.1f ms | **%.1f ms** | "
		          "%.1f ms | %zu%s | %.3f ms | %.3f ms | **%.3f ms** |\n",
		          r->size_mb, r->records > CAPACITY ? " (ring full: each append evicts)" : "",
		          r->records, r->load_s, r->load_cpu_s, r->p50, r->p99, r->max, r->slow + r->lost,
		          r->lost ? " (some never shown)" : "", r->per_rec, r->idle_per_rec,
		          r->net_per_rec);
	}
	bstat_put(body, sizeof body, &len,
	    "\nTime spent runnable but waiting for a core over the appends (run queue, "
	    "/proc/PID/task/*/schedstat): the viewer's threads %.0f ms, the harness %.0f ms on "
	    "the %.0f MB log; %.0f ms and %.0f ms on the %.0f MB log.\n",
	    big->tail_queue_ms, big->tail_self_queue_ms, big->size_mb, small->tail_queue_ms,
	    small->tail_self_queue_ms, small->size_mb);
	for (int k = 0; k < 2; k++) {
		const tail_run *r = &runs[k];
		if (r->slow)
			bstat_put(body, sizeof body, &len,
			          "\nOn the %.0f MB log, %zu appends took over %.0f ms (%.0f ms in all, %zu "
			          "of them opening a new chunk); during them the viewer used %.0f ms of CPU "
			          "and its threads waited %.0f ms in all for a core (run queue, "
			          "/proc/PID/task/*/schedstat), the harness %.0f ms.\n",
			          r->size_mb, r->slow, TARGET_MS, r->slow_ms, r->slow_new, r->slow_cpu_ms,
			          r->slow_queue_ms, r->slow_self_queue_ms);
	}
	for (int k = 0; k < 2; k++)
		if (runs[k].profile[0])
			bstat_put(body, sizeof body, &len, "\nProfile of the viewer over the appends on the "
			          "%.0f MB log (`perf record -e cpu-clock`, attached: its CPU times above "
			          "include perf's sampling): %s.\n", runs[k].size_mb, runs[k].profile);
	bstat_put(body, sizeof body, &len,
	    "\nTargets (issue 7): one new record in a 1 GB live log on the screen within "
	    "%.0f ms (p99) - **%s** (p99 %.1f ms); CPU work proportional to the change, i.e. the "
	    "net CPU per record on the %.0f MB log no more than the %.0f MB log's plus the noise "
	    "(10%% of it: %.3f ms) - "
	    "**%s** (%.3f ms against %.3f ms: %+.3f ms per record).\n",
	    TARGET_MS, lat_met ? "met" : "not met", big->p99, big->size_mb, small->size_mb, noise,
	    cpu_met ? "met" : "not met", big->net_per_rec, small->net_per_rec, extra);
	printf("\n%s", body);
	if (!getenv("DW_BENCH_NO_DOC")) {
		if (perfdoc_write(DW_PERFDOC_PATH, "bench_tail", body) != 0)
			die("docs/performance.md", strerror(errno));
		printf("written to %s\n", DW_PERFDOC_PATH);
	}
	return 0;
}
