#include "print.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "correl.h"
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

static long long mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

typedef struct held {
	event ev;
	uint64_t seq;
} held;

/* The loop's state: the engine, the exporter's cursor into it, and the
 * FIFO of selected events not written yet (a circular array). */
typedef struct printer {
	print_loop *pl;
	correl *c;
	correl_at at;
	export_corr hook;
	uint32_t window;     /* the engine's window_events */
	held *q;
	size_t qhead, qn;
	uint64_t next_seq;   /* seq of the next popped event */
	long long last_pop;  /* mono_ms() when events last arrived */
	bool nomem_said;
} printer;

static bool holds_back(const printer *p, const held *h)
{
	return h->ev.event_id == 4690 && !(h->ev.flags & EVENT_MARKER) &&
	       !correl_settled(p->c, h->seq);
}

static dw_status write_head(printer *p, dw_err *err)
{
	held *h = &p->q[p->qhead];
	p->at.seq = h->seq;
	dw_status st = exporter_write(p->pl->out, &h->ev, err);
	event_free(&h->ev);
	p->qhead = (p->qhead + 1) % PRINT_HOLD_MAX;
	p->qn--;
	return st;
}

/* Writes the head of the FIFO while it may go out (everything if all). */
static dw_status release(printer *p, bool all, dw_err *err)
{
	dw_status st = DW_OK;
	while (st == DW_OK && p->qn > 0 && (all || !holds_back(p, &p->q[p->qhead])))
		st = write_head(p, err);
	return st;
}

/* Feeds one popped event to the engine and queues it if selected (the
 * correlation sees every event, selected or not); takes ev. */
static dw_status take(printer *p, event *ev, dw_err *err)
{
	uint64_t seq = p->next_seq++;
	dw_status st = correl_feed(p->c, seq, ev);
	if (st == DW_NOMEM && !p->nomem_said && p->pl->log) {
		/* Not fatal: the events still go out, less explained. */
		msglog_add(p->pl->log, MSG_WARN, "out of memory: correlation incomplete");
		p->nomem_said = true;
	}
	if (!print_match(&p->pl->sel, ev)) {
		event_free(ev);
		return DW_OK;
	}
	/* A bound whatever the engine says: its window normally settles the
	 * head long before (256 events). */
	st = p->qn == PRINT_HOLD_MAX ? write_head(p, err) : DW_OK;
	p->q[(p->qhead + p->qn++) % PRINT_HOLD_MAX] = (held){*ev, seq};
	return st == DW_OK ? release(p, false, err) : st;
}

/* Keeps the engine to what still explains the held events and the
 * window before them. */
static void forget(printer *p)
{
	uint64_t keep = p->qn ? p->q[p->qhead].seq : p->next_seq;
	if (keep > p->window)
		correl_forget_before(p->c, keep - p->window);
}

/* Takes everything the ring holds now and writes what may go out. */
static dw_status drain_ring(printer *p, dw_err *err)
{
	event batch[PRINT_BATCH];
	size_t n;
	dw_status st = DW_OK;
	while (st == DW_OK && (n = ring_pop(p->pl->ring, batch, PRINT_BATCH)) > 0) {
		p->last_pop = mono_ms();
		for (size_t i = 0; i < n; i++) {
			if (st == DW_OK)
				st = take(p, &batch[i], err);
			else
				event_free(&batch[i]);
		}
		forget(p);
		if (st == DW_OK)
			st = exporter_flush(p->pl->out, err);
	}
	return st;
}

/* Writes all that is held and pushes it out. */
static dw_status release_all(printer *p, dw_err *err)
{
	dw_status st = release(p, true, err);
	forget(p);
	return st == DW_OK ? exporter_flush(p->pl->out, err) : st;
}

static void drain_pipe(int fd)
{
	char buf[64];
	while (read(fd, buf, sizeof buf) > 0)
		;
}

/* Until every source has finished or a stop: drain, write, wait. */
static dw_status print_loop_run(printer *p, dw_err *err)
{
	print_loop *pl = p->pl;
	/* The header goes out now, with the correlation columns, and a
	 * broken stdout is known at once. */
	dw_status st = exporter_flush(pl->out, err);
	while (st == DW_OK) {
		/* Sources set their final state after their last push: seeing
		 * them all finished before draining means nothing is left. */
		bool finished = all_finished(pl);
		st = drain_ring(p, err);
		long long idle = mono_ms() - p->last_pop;
		if (st == DW_OK && p->qn > 0 && (finished || idle >= PRINT_SETTLE_MS))
			st = release_all(p, err);
		if (pl->msg_out)
			print_messages(pl->log, &pl->msg_next, pl->msg_out);
		if (st != DW_OK || finished)
			break;

		/* Held events wait for the explanation at most PRINT_SETTLE_MS
		 * of quiet: wake up for that, not only for new events. */
		int timeout = PRINT_IDLE_MS;
		if (p->qn > 0 && PRINT_SETTLE_MS - idle < timeout)
			timeout = (int)(PRINT_SETTLE_MS - idle);
		struct pollfd pfd[2] = {
			{.fd = pl->wake_fd, .events = POLLIN},
			{.fd = pl->stop_fd, .events = POLLIN},
		};
		int r = poll(pfd, pl->stop_fd >= 0 ? 2 : 1, timeout);
		if (r < 0 && errno != EINTR)
			return dw_err_set(err, DW_IO, "waiting for events: %s", strerror(errno));
		if (r > 0 && (pfd[1].revents & POLLIN) && pl->stop_fd >= 0) {
			st = drain_ring(p, err);
			return st == DW_OK ? release_all(p, err) : st;
		}
		if (r > 0 && (pfd[0].revents & POLLIN)) {
			drain_pipe(pl->wake_fd);
			ring_ack_wake(pl->ring);
		}
	}
	return st;
}

dw_status print_run(print_loop *pl, dw_err *err)
{
	correl_limits lim;
	correl_limits_default(&lim);
	printer p = {
		.pl = pl,
		.c = correl_create(&lim),
		.window = lim.window_events,
		.q = malloc(PRINT_HOLD_MAX * sizeof(held)),
		.last_pop = mono_ms(),
	};
	dw_status st;
	if (!p.c || !p.q) {
		st = dw_err_set(err, DW_NOMEM, "out of memory");
	} else {
		p.at.c = p.c;
		p.hook = (export_corr){correl_export_process, correl_export_object, &p.at};
		exporter_set_corr(pl->out, &p.hook);
		st = print_loop_run(&p, err);
		exporter_set_corr(pl->out, NULL);
	}
	for (; p.qn > 0; p.qn--, p.qhead = (p.qhead + 1) % PRINT_HOLD_MAX)
		event_free(&p.q[p.qhead].ev);
	free(p.q);
	correl_destroy(p.c);
	return st;
}
