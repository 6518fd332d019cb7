/* Load (issue 6): 1,000,000 XML events at full speed through a FIFO into a
 * source and an evicting ring, while this thread plays the viewer: it takes
 * events into a view and answers a key after every wake-up. Nothing here
 * is timed; the test checks that every event is accounted for exactly
 * (read = shown + evicted + skipped) and that the ring's memory stays
 * within its bound the whole time. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "msglog.h"
#include "ring.h"
#include "source.h"
#include "testutil.h"
#include "view.h"
#include "xmlev.h"
#include "xmlgen.h"

#define N_EVENTS 1000000u
#define BROKEN_EVERY 10007u /* every this many events one is malformed */
#define CAPACITY 100000u    /* well below N_EVENTS: the ring must evict */

/* A malformed event (mismatched tag): skipped, and the next one still read. */
static const char broken[] =
	"<Event><System><EventID>4690</EventID></System><EventData>"
	"<Data Name=\"SubjectUserName\">x</Dta></EventData></Event>\n";

static unsigned n_broken(void)
{
	return N_EVENTS / BROKEN_EVERY;
}

/* Event i of the stream (i from 1), one per line; pids and handles vary so
 * that sorting and filters have work. */
static void event_text(xg_4690 *x, unsigned long long i, xg_buf *out)
{
	xg_4690_set(x, i, 0x100 + 4 * (i % 5000), 0x600 + 4 * (i % 37),
	            0x1000 + 4 * (i % 7000), 4);
	out->len = 0;
	xg_event_xml(out, &x->ev, XG_ONELINE);
}

static void *writer_main(void *arg)
{
	const char *fifo = arg;
	int fd = open(fifo, O_WRONLY | O_CLOEXEC); /* waits for the source */
	FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;
	if (!f) {
		if (fd >= 0)
			close(fd);
		return NULL;
	}
	setvbuf(f, NULL, _IOFBF, 1u << 20);
	xg_4690 x;
	xg_buf b;
	xg_4690_init(&x);
	xg_init(&b);
	for (unsigned long long i = 1; i <= N_EVENTS; i++) {
		if (i % BROKEN_EVERY == 0) {
			fputs(broken, f);
			continue;
		}
		event_text(&x, i, &b);
		if (fwrite(b.s, 1, b.len, f) != b.len)
			break; /* the reader is gone; the test fails on the counts */
	}
	xg_free(&b);
	fclose(f);
	return NULL;
}

/* The largest ring cost one event of the stream can have. */
static size_t max_event_cost(void)
{
	xmlev_doc *d = xmlev_doc_create();
	assert_non_null(d);
	size_t max = 0;
	unsigned long long ids[] = { 1, 4999, 36, 6999, N_EVENTS - 1 };
	xg_4690 x;
	xg_buf b;
	xg_4690_init(&x);
	xg_init(&b);
	for (size_t k = 0; k < sizeof ids / sizeof ids[0]; k++) {
		event_text(&x, ids[k], &b);
		event ev;
		dw_err err;
		assert_int_equal(xmlev_doc_parse(d, b.s, b.len, &ev, &err), DW_OK);
		if (event_cost(&ev) > max)
			max = event_cost(&ev);
		event_free(&ev);
	}
	xg_free(&b);
	xmlev_doc_destroy(d);
	return max;
}

/* One key press, as the TUI would dispatch it: key number k. */
static void answer_key(view *v, unsigned long k)
{
	view_filter f;
	switch (k % 12) {
	case 0: view_move(v, 1); break;
	case 1: view_move(v, -25); break;
	case 2: view_select(v, 0); break;
	case 3: view_set_follow(v, true); break;
	case 4:
		if (view_filter_from_sel(v, VF_SRC_PID, &f) == DW_OK)
			view_filter_push(v, &f);
		break;
	case 5: view_filter_pop(v); break;
	case 6: view_set_frozen(v, true); break;
	case 7: view_set_frozen(v, false); break;
	case 8:
		if (k % 120 == 8)
			view_set_sort(v, (k / 120) % 2 ? VC_SRC_PID : VC_TIME, (k / 240) % 2);
		break;
	case 9: view_move(v, 1000); break;
	case 10:
		if (k % 600 == 10)
			view_search(v, "OFFSEC", view_sel(v) == SIZE_MAX ? 0 : view_sel(v), 1);
		break;
	default: view_set_follow(v, true); break;
	}
}

static void test_million_events(void **state)
{
	(void)state;
	signal(SIGPIPE, SIG_IGN);
	char dir[1024], fifo[1100];
	assert_int_equal(tu_tmpdir_make(dir, sizeof dir, "dw-load"), 0);
	snprintf(fifo, sizeof fifo, "%s/events.xml", dir);
	assert_int_equal(mkfifo(fifo, 0600), 0);

	size_t cost = max_event_cost();
	int wake[2];
	assert_int_equal(pipe(wake), 0);
	for (int i = 0; i < 2; i++)
		fcntl(wake[i], F_SETFL, O_NONBLOCK);
	ring *r = ring_create(CAPACITY, 0, wake[1]);
	msglog *log = msglog_create(64);
	view *v = view_create(r, false);
	assert_non_null(r);
	assert_non_null(log);
	assert_non_null(v);

	pthread_t writer;
	assert_int_equal(pthread_create(&writer, NULL, writer_main, fifo), 0);
	source *s;
	dw_err err;
	source_opts o = { .follow = false };
	assert_int_equal(source_open(&s, fifo, 0, &o, r, log, &err), DW_OK);
	assert_string_equal(source_kind(s), "xml");
	assert_int_equal(source_start(s, &err), DW_OK);

	unsigned long keys = 0;
	uint64_t max_bytes = 0, max_held = 0;
	source_stats ss;
	for (;;) {
		source_get_stats(s, &ss);
		bool done = ss.state == SRC_DONE || ss.state == SRC_FAILED;
		char buf[256];
		while (read(wake[0], buf, sizeof buf) > 0)
			;
		ring_ack_wake(r);
		view_update(v, 4096, NULL);
		answer_key(v, keys++);
		ring_stats rs;
		ring_get_stats(r, &rs);
		if (rs.bytes > max_bytes)
			max_bytes = rs.bytes;
		if (rs.held > max_held)
			max_held = rs.held;
		if (done)
			break;
		struct pollfd p = { .fd = wake[0], .events = POLLIN };
		poll(&p, 1, 1000);
	}
	assert_int_equal(pthread_join(writer, NULL), 0);
	source_close(s);

	/* Show everything that is left, unfiltered. */
	view_set_frozen(v, false);
	view_filter_clear(v);
	bool more = true;
	while (more)
		view_update(v, 0, &more);

	ring_stats rs;
	view_stats vs;
	ring_get_stats(r, &rs);
	view_get_stats(v, &vs);
	printf("load: %" PRIu64 " read, %" PRIu64 " skipped, %" PRIu64 " shown, %" PRIu64
	       " evicted, %lu keys answered, ring peak %" PRIu64 " bytes for %" PRIu64
	       " events (bound %zu)\n", ss.read, ss.skipped, vs.shown, vs.evicted, keys,
	       max_bytes, max_held, (size_t)CAPACITY * cost);

	assert_int_equal(ss.state, SRC_DONE);
	assert_int_equal(ss.skipped, n_broken());
	assert_int_equal(ss.read, N_EVENTS - n_broken());
	assert_int_equal(rs.pushed, ss.read);
	/* every event of the input is accounted for, exactly once */
	assert_int_equal(ss.read + ss.skipped, N_EVENTS);
	assert_int_equal(vs.shown + vs.evicted + ss.skipped, N_EVENTS);
	assert_int_equal(vs.shown, rs.held);
	assert_int_equal(vs.waiting, 0);
	assert_true(vs.evicted >= N_EVENTS - n_broken() - CAPACITY);
	/* memory: never more events than the capacity, nor more bytes than they
	 * can cost */
	assert_true(max_held <= CAPACITY);
	assert_true(max_bytes <= (uint64_t)CAPACITY * cost);
	assert_true(keys > 0);
	assert_true(msglog_count(log) >= n_broken());

	view_destroy(v);
	ring_destroy(r);
	msglog_destroy(log);
	close(wake[0]);
	close(wake[1]);
	assert_int_equal(tu_tmpdir_remove(dir), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_million_events),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
