/* print.h - the headless loop behind `dupwatch --print`: events from the
 * ring, correlated, selected, written by an exporter as they arrive.
 *
 * Runs on the consumer (main) thread. The ring should be created with
 * RING_BLOCK so nothing is lost: readers wait while the output is slow.
 *
 * Every popped event feeds a correlation engine (correl.h), selected or
 * not, and each 4690 is written with the processes and the object behind
 * it (export_corr). Windows logs the 4656 that explains a source handle
 * just after the 4690, so a 4690 is held back (with everything selected
 * after it, to keep the order) until correl_settled() says it can no
 * longer change: at most the correlation window (256 events or 5 s of
 * event time) later, at the end of the input, or after PRINT_SETTLE_MS
 * without new events on a live source. PRINT_HOLD_MAX bounds what is
 * held: beyond it the oldest is written as it is. */
#ifndef DW_PRINT_H
#define DW_PRINT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "event.h"
#include "export.h"
#include "msglog.h"
#include "ring.h"
#include "source.h"
#include "status.h"

typedef struct print_sel {
	bool all_events; /* every event, not only 4690 */
	bool pid_set;    /* keep only events touching pid */
	uint64_t pid;
} print_sel;

/* Whether ev is printed: a 4690 whose source or target process is pid
 * (when pid_set); with all_events also every other event whose ProcessId or
 * NewProcessId is pid, and marker events whatever the pid. */
bool print_match(const print_sel *sel, const event *ev);

typedef struct print_loop {
	ring *ring;
	int wake_fd;         /* read end of the ring's wake pipe (non-blocking) */
	int stop_fd;         /* readable: stop (SIGINT/SIGTERM); -1 for none */
	source **sources;    /* the loop ends when all are done or failed */
	size_t nsources;
	exporter *out;
	print_sel sel;
	msglog *log;         /* new messages are written to msg_out as they come */
	FILE *msg_out;       /* NULL: leave them in the log */
	uint64_t msg_next;   /* in/out: index of the next message to write */
} print_loop;

#define PRINT_SETTLE_MS 1000 /* idle wall time after which held events go out */
#define PRINT_HOLD_MAX 1024  /* events held back at most (4 windows) */

/* Writes the selected events until every source has finished and the ring
 * is empty, or stop_fd becomes readable (what was read is still written).
 * Flushes after each batch so a live stream shows up at once. For its
 * duration it installs its correlation hook in pl->out (exporter_set_corr;
 * removed on return): out must not have written anything yet, so that the
 * CSV/TSV header has the correlation columns. Returns
 * DW_OK, or DW_WRITE (see exporter_errno(): EPIPE when the reader of a
 * pipe went away) or DW_NOMEM with err set. */
dw_status print_run(print_loop *pl, dw_err *err);

/* Writes log messages from *next on to f, sanitised, one per line
 * ("dupwatch: warning: ..."), and notes messages the log no longer holds. */
void print_messages(msglog *log, uint64_t *next, FILE *f);

#endif
