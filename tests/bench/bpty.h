/* bpty.h - what the benchmarks that drive the real viewer in a
 * pseudo-terminal (tests/e2e/pty.h) share: timing a key to its effect on
 * the screen, and reading the viewer process's CPU time and memory from
 * /proc. */
#ifndef DW_BPTY_H
#define DW_BPTY_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "../e2e/pty.h"

/* Sends keys, then waits up to wait_ms for text to appear (or, with gone,
 * to disappear). Returns the milliseconds from the send, -1 on timeout.
 * The harness polls the pty, so its own reading is included. */
double bpty_timed(pty *p, const char *keys, const char *text, bool gone, int wait_ms);

/* The process started by the harness: our child running the program at
 * path (pty_binary(), say: its file name, as the kernel keeps it in
 * /proc/PID/stat, at most 15 characters); 0 if there is none. */
pid_t bpty_child(const char *path);

/* User + system CPU seconds of pid, -1 if it cannot be read. */
double bpty_cpu_seconds(pid_t pid);

/* From /proc/PID/status: resident size now and its peak, in KiB. */
typedef struct bpty_mem {
	uint64_t rss_kib, hwm_kib;
} bpty_mem;
bool bpty_mem_read(pid_t pid, bpty_mem *out);

/* The events read as the viewer's header says ("N shown / M read"): M,
 * or 0 when the header does not show it. */
uint64_t bpty_events_read(pty *p);

/* A child process that writes n compact XML 4690s (40 users, 500
 * processes, 8 hosts), one per line, to path (a FIFO, say) as fast as it
 * is read, then exits 0. Returns its pid. */
pid_t bpty_xml_writer(const char *path, unsigned n);

#endif
