/* The real viewer in a pseudo-terminal (tests/e2e/pty.h) with 1,000,000
 * events read from a FIFO: time from a key to the screen showing its
 * effect -- sort change, reverse, filters, search -- median and p99, and
 * the CPU the viewer uses while idle with no arrivals. Writes
 * docs/performance.md (section bench_viewer). */
#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bpty.h"
#include "bstat.h"
#include "perfdoc.h"

#define N 1000000u
#define REPS 21
#define WAIT_MS 30000

/* bpty_timed() with this benchmark's wait. */
static double timed(pty *p, const char *keys, const char *text, bool gone)
{
	return bpty_timed(p, keys, text, gone, WAIT_MS);
}

static char before[256];

static bool record_changed(pty *p, void *user)
{
	(void)user;
	int row;
	char buf[256];
	if (!pty_find(p, "Record ID:", &row, NULL))
		return false;
	pty_row(p, row, buf, sizeof buf);
	return strcmp(buf, before) != 0;
}

static void remember_record(pty *p)
{
	int row;
	before[0] = '\0';
	if (pty_find(p, "Record ID:", &row, NULL))
		pty_row(p, row, before, sizeof before);
}

int main(void)
{
	char dir[] = "/tmp/dw-bench-viewer-XXXXXX", fifo[96];
	if (!mkdtemp(dir))
		return 1;
	snprintf(fifo, sizeof fifo, "%s/events.fifo", dir);
	if (mkfifo(fifo, 0600) != 0)
		return 1;
	pid_t writer = bpty_xml_writer(fifo, N);
	pty_opts o = { .rows = 40, .cols = 160, .stdin_path = fifo };
	double t0 = bstat_now_ms();
	pty *p = pty_start(&o, (const char *[]){ "-", NULL });
	if (!pty_wait_text(p, "1,000,000 shown / 1,000,000 read", 600000)) {
		fprintf(stderr, "bench_viewer: the events did not all arrive\n");
		return 1;
	}
	double load = bstat_now_ms() - t0;
	waitpid(writer, NULL, 0);
	pty_wait_text(p, "END OF INPUT", WAIT_MS);
	printf("1,000,000 events read and shown in %.1f s\n", load / 1000);

	/* Idle: no arrivals, nothing typed. */
	pid_t child = bpty_child(pty_binary());
	double c0 = bpty_cpu_seconds(child), w0 = bstat_now_ms();
	pty_pump(p, 10000); /* returns early on output: keep pumping */
	while (bstat_now_ms() - w0 < 10000)
		pty_pump(p, (int)(10000 - (bstat_now_ms() - w0)));
	double idle = (bpty_cpu_seconds(child) - c0) / ((bstat_now_ms() - w0) / 1000) * 100;
	printf("idle CPU: %.2f%%\n", idle);

	bstat res[8];
	size_t nr = 0;
	double t[REPS * 9];
	/* Headings as shown sorted: the handles' arrow needs their short form. */
	static const char *const cols[] = { "Record", "Computer", "Subject", "Logon ID", "Src PID",
		                            "Src Hdl", "Tgt PID", "Tgt Hdl", "Time" };
	size_t n = 0;
	for (int rep = 0; rep < 3; rep++)
		for (size_t c = 0; c < 9; c++) {
			char want[32];
			snprintf(want, sizeof want, "%s\u25b2", cols[c]);
			t[n++] = timed(p, ">", want, false);
		}
	res[nr++] = bstat_summarise("sort by the next column (>)", t, n);
	for (int rep = 0; rep < REPS; rep++)
		t[rep] = timed(p, "r", rep % 2 ? "Time\u25b2" : "Time\u25bc", false);
	res[nr++] = bstat_summarise("reverse (r)", t, REPS);
	for (int rep = 0; rep < REPS; rep++) {
		t[rep] = timed(p, "X", "[cross]", false);
		timed(p, "\x7f", "[cross]", true);
	}
	res[nr++] = bstat_summarise("cross-process filter (X)", t, REPS);
	for (int rep = 0; rep < REPS; rep++) {
		timed(p, "p", "[src=", false);
		t[rep] = timed(p, "\x7f", "[src=", true);
	}
	res[nr++] = bstat_summarise("drop a PID filter (Backspace)", t, REPS);
	for (int rep = 0; rep < 5; rep++) {
		t[rep] = timed(p, "\\user07\r", "[text~user07]", false);
		timed(p, "\x7f", "[text~", true);
	}
	res[nr++] = bstat_summarise("free-text filter (`\\` user07 Enter)", t, 5);
	pty_send(p, "/user13\r");
	pty_wait_text(p, "user13", WAIT_MS);
	for (int rep = 0; rep < REPS; rep++) {
		remember_record(p);
		double s0 = bstat_now_ms();
		pty_send(p, "n");
		t[rep] = pty_wait_for(p, record_changed, NULL, WAIT_MS) ? bstat_now_ms() - s0 : -1;
	}
	res[nr++] = bstat_summarise("next search match (n)", t, REPS);

	pty_send(p, "q");
	int status;
	pty_wait_exit(p, WAIT_MS, &status);
	pty_free(p);
	unlink(fifo);
	rmdir(dir);

	char machine[256], body[4096];
	size_t len = (size_t)snprintf(body, sizeof body,
	                              "### Viewer in a terminal: key to screen (bench_viewer)\n\n"
	                              "The real binary in a 160x40 pseudo-terminal (libvterm), "
	                              "1,000,000 4690s read from a FIFO; %s, load average %.1f while it ran.\n\n",
	                              perfdoc_machine(machine, sizeof machine), bstat_load_avg());
	bstat_table(body, sizeof body, &len, "key", res, nr, 1);
	snprintf(body + len, sizeof body - len,
	         "\nFrom the key written to the terminal to the screen showing its effect "
	         "(the harness polls the pty, so this includes its reading). Idle, with no "
	         "arrivals: %.2f%% CPU over 10 s. Reading the 1,000,000 events and showing "
	         "them took %.1f s.\n",
	         idle, load / 1000);
	if (perfdoc_write(DW_PERFDOC_PATH, "bench_viewer", body) != 0)
		perror("bench_viewer: docs/performance.md");
	return 0;
}
