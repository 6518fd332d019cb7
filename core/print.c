#include "print.h"

#include <errno.h>
#include <poll.h>
#include <string.h>
#include <unistd.h>

#include "sanitize.h"

#define PRINT_BATCH 256
/* How often new log messages are looked for when no event arrives. */
#define PRINT_IDLE_MS 250

static bool pid_is(dw_num n, uint64_t pid)
{
	return n.st == NUM_OK && n.v == pid;
}

bool print_match(const print_sel *sel, const event *ev)
{
	if (ev->flags & EVENT_MARKER)
		return sel->all_events;
	if (ev->event_id == 4690) {
		if (!sel->pid_set)
			return true;
		return pid_is(event_num(ev, F_SourceProcessId), sel->pid) ||
		       pid_is(event_num(ev, F_TargetProcessId), sel->pid);
	}
	if (!sel->all_events)
		return false;
	return !sel->pid_set || pid_is(event_num(ev, F_ProcessId), sel->pid) ||
	       pid_is(event_num(ev, F_NewProcessId), sel->pid);
}

void print_messages(msglog *log, uint64_t *next, FILE *f)
{
	uint64_t end = msglog_count(log), dropped = 0;
	char buf[512];
	for (; *next < end; (*next)++) {
		int lvl = msglog_get(log, *next, buf, sizeof buf);
		if (lvl < 0) {
			dropped++;
			continue;
		}
		if (lvl == MSG_INFO)
			continue;
		fputs(lvl == MSG_ERROR ? "dupwatch: error: " : "dupwatch: warning: ", f);
		san_fputs(f, buf, strlen(buf), SAN_SCREEN);
		fputc('\n', f);
	}
	if (dropped)
		fprintf(f, "dupwatch: %llu more messages not kept\n", (unsigned long long)dropped);
	fflush(f);
}

static bool all_finished(const print_loop *pl)
{
	for (size_t i = 0; i < pl->nsources; i++) {
		source_stats st;
		source_get_stats(pl->sources[i], &st);
		if (st.state != SRC_DONE && st.state != SRC_FAILED)
			return false;
	}
	return true;
}

/* Writes everything the ring holds now. */
static dw_status drain_ring(print_loop *pl, dw_err *err)
{
	event batch[PRINT_BATCH];
	size_t n;
	dw_status st = DW_OK;
	while (st == DW_OK && (n = ring_pop(pl->ring, batch, PRINT_BATCH)) > 0) {
		for (size_t i = 0; i < n; i++) {
			if (st == DW_OK && print_match(&pl->sel, &batch[i]))
				st = exporter_write(pl->out, &batch[i], err);
			event_free(&batch[i]);
		}
		if (st == DW_OK)
			st = exporter_flush(pl->out, err);
	}
	return st;
}

static void drain_pipe(int fd)
{
	char buf[64];
	while (read(fd, buf, sizeof buf) > 0)
		;
}

dw_status print_run(print_loop *pl, dw_err *err)
{
	for (;;) {
		/* Sources set their final state after their last push: seeing
		 * them all finished before draining means nothing is left. */
		bool finished = all_finished(pl);
		dw_status st = drain_ring(pl, err);
		if (pl->msg_out)
			print_messages(pl->log, &pl->msg_next, pl->msg_out);
		if (st != DW_OK || finished)
			return st;

		struct pollfd pfd[2] = {
			{.fd = pl->wake_fd, .events = POLLIN},
			{.fd = pl->stop_fd, .events = POLLIN},
		};
		int r = poll(pfd, pl->stop_fd >= 0 ? 2 : 1, PRINT_IDLE_MS);
		if (r < 0 && errno != EINTR)
			return dw_err_set(err, DW_IO, "waiting for events: %s", strerror(errno));
		if (r > 0 && (pfd[1].revents & POLLIN) && pl->stop_fd >= 0)
			return drain_ring(pl, err);
		if (r > 0 && (pfd[0].revents & POLLIN)) {
			drain_pipe(pl->wake_fd);
			ring_ack_wake(pl->ring);
		}
	}
}
