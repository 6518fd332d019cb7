/* Following a file like `tail -F`: follow_wait() on its own (inotify and
 * polling), then the XML source following a file across appends, a
 * truncation, a replacement and a deletion. No sleeps: every wait is for a
 * condition, with a 10 s deadline. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "follow.h"
#include "msglog.h"
#include "ring.h"
#include "source.h"
#include "testutil.h"
#include "xmlgen.h"

#define DEADLINE_MS 10000

typedef struct tmp {
	char dir[32];
	char path[64], other[64];
} tmp;

static void tmp_make(tmp *t)
{
	snprintf(t->dir, sizeof t->dir, "/tmp/dw-follow-XXXXXX");
	assert_non_null(mkdtemp(t->dir));
	snprintf(t->path, sizeof t->path, "%s/events.xml", t->dir);
	snprintf(t->other, sizeof t->other, "%s/events.new", t->dir);
}

static void tmp_remove(tmp *t)
{
	unlink(t->path);
	unlink(t->other);
	rmdir(t->dir);
}

static void write_text(const char *path, const char *mode, const char *text)
{
	FILE *f = fopen(path, mode);
	assert_non_null(f);
	assert_int_equal(fputs(text, f) >= 0, 1);
	assert_int_equal(fclose(f), 0);
}

/* Waits until follow_wait() says want; modifications on the way (inotify
 * reports a write more than once) are fine, anything else is not. */
static void expect_change(follow *f, follow_change want)
{
	int64_t deadline = tu_now_ms() + DEADLINE_MS;
	while (tu_now_ms() < deadline) {
		follow_change ch = follow_wait(f, -1, 200);
		if (ch == want)
			return;
		if (ch != FOLLOW_NONE && ch != FOLLOW_MODIFIED)
			fail_msg("expected change %d, got %d", want, ch);
	}
	fail_msg("change %d not seen in time", want);
}

static void follow_cycle(bool poll_only)
{
	tmp t;
	tmp_make(&t);
	write_text(t.path, "w", "first\n");
	int fd = open(t.path, O_RDONLY);
	assert_true(fd >= 0);
	follow *f;
	dw_err err;
	assert_int_equal(follow_open(&f, t.path, fd, 20, poll_only, &err), DW_OK);

	assert_int_equal(follow_wait(f, -1, 0), FOLLOW_NONE);
	assert_int_equal(follow_wait(f, -1, 30), FOLLOW_NONE);

	write_text(t.path, "a", "more\n");
	expect_change(f, FOLLOW_MODIFIED);

	follow_seen(f, 11);
	assert_int_equal(truncate(t.path, 3), 0);
	expect_change(f, FOLLOW_TRUNCATED);

	write_text(t.other, "w", "new\n");
	assert_int_equal(rename(t.other, t.path), 0);
	expect_change(f, FOLLOW_REPLACED);
	close(fd);
	fd = open(t.path, O_RDONLY);
	assert_true(fd >= 0);
	follow_reset(f, fd);
	write_text(t.path, "a", "appended to the new file\n");
	expect_change(f, FOLLOW_MODIFIED);

	assert_int_equal(unlink(t.path), 0);
	expect_change(f, FOLLOW_GONE);
	write_text(t.path, "w", "back\n");
	expect_change(f, FOLLOW_REPLACED);

	int p[2];
	assert_int_equal(pipe(p), 0);
	assert_int_equal(write(p[1], "", 1), 1);
	assert_int_equal(follow_wait(f, p[0], -1), FOLLOW_STOP);
	close(p[0]);
	close(p[1]);

	follow_close(f);
	close(fd);
	tmp_remove(&t);
}

static void test_follow_inotify(void **state)
{
	(void)state;
	follow_cycle(false);
}

static void test_follow_polling(void **state)
{
	(void)state;
	follow_cycle(true);
}

static void test_follow_preallocated_rewrite(void **state)
{
	(void)state;
	/* A live EVTX file is rewritten in place: the size never changes. */
	tmp t;
	tmp_make(&t);
	write_text(t.path, "w", "0123456789");
	int fd = open(t.path, O_RDWR);
	assert_true(fd >= 0);
	for (int mode = 0; mode < 2; mode++) {
		/* An old mtime first, so that the write surely changes it. */
		struct timespec old[2] = { { 0, 0 }, { 1000, 0 } };
		assert_int_equal(futimens(fd, old), 0);
		follow *f;
		dw_err err;
		assert_int_equal(follow_open(&f, t.path, fd, 20, mode == 1, &err), DW_OK);
		follow_seen(f, 10);
		assert_int_equal(follow_wait(f, -1, 0), FOLLOW_NONE);
		assert_int_equal(pwrite(fd, "AB", 2, 4), 2);
		expect_change(f, FOLLOW_MODIFIED);
		follow_close(f);
	}
	close(fd);
	tmp_remove(&t);
}

/* ---- the XML source, following ---- */

static void put_4690(xg_buf *b, unsigned long long rec)
{
	xg_4690 x;
	xg_4690_init(&x);
	xg_4690_set(&x, rec, 0x100 + rec, 0x678, 0x1748, 0x4);
	xg_event_xml(b, &x.ev, 0);
}

static void append_events(const char *path, const char *mode, unsigned long long from,
                          unsigned long long to)
{
	xg_buf b;
	xg_init(&b);
	for (unsigned long long r = from; r <= to; r++)
		put_4690(&b, r);
	write_text(path, mode, b.s);
	xg_free(&b);
}

/* Waits until the ring holds n events (markers included). */
static void wait_events(ring *r, uint64_t n)
{
	uint64_t pushed = tu_wait_pushed(r, n, DEADLINE_MS);
	if (pushed != n)
		fail_msg("%llu events in the ring, expected %llu", (unsigned long long)pushed,
		         (unsigned long long)n);
}

static void wait_state(source *s, source_state want)
{
	int64_t deadline = tu_now_ms() + DEADLINE_MS;
	source_stats st;
	do {
		source_get_stats(s, &st);
		if (st.state == want)
			return;
		tu_nap(2);
	} while (tu_now_ms() < deadline);
	fail_msg("source state %d, expected %d", st.state, want);
}

static void wait_log(msglog *log, const char *text)
{
	int64_t deadline = tu_now_ms() + DEADLINE_MS;
	while (!tu_log_has(log, text)) {
		if (tu_now_ms() > deadline)
			fail_msg("no message '%s'", text);
		tu_nap(2);
	}
}

/* The record ids in the ring from seq `from`; 0 for a marker. */
static void expect_ring(ring *r, uint64_t from, const uint64_t *recs, size_t n)
{
	ring_lock(r);
	assert_int_equal(ring_end(r), from + n);
	for (size_t i = 0; i < n; i++) {
		const event *ev = ring_at(r, from + i);
		assert_non_null(ev);
		if (recs[i] == 0) {
			assert_true(ev->flags & EVENT_MARKER);
			event_field f;
			assert_true(event_get(ev, F_Message, &f));
			assert_true(f.value.len > 0);
		} else {
			assert_false(ev->flags & EVENT_MARKER);
			assert_int_equal(ev->event_id, 4690);
			assert_int_equal(ev->record_id, recs[i]);
		}
	}
	ring_unlock(r);
}

static void source_follow_cycle(bool poll_only)
{
	tmp t;
	tmp_make(&t);
	append_events(t.path, "w", 1, 2);
	ring *r = ring_create(1000, 0, -1);
	msglog *log = msglog_create(64);
	source *s;
	source_opts o = { .follow = true, .poll_ms = 20, .poll_only = poll_only };
	dw_err err;
	assert_int_equal(source_open(&s, t.path, 0, &o, r, log, &err), DW_OK);
	assert_int_equal(source_start(s, &err), DW_OK);
	wait_events(r, 2);
	wait_state(s, SRC_FOLLOWING);

	/* Appends, one of them ending mid-event. */
	xg_buf b;
	xg_init(&b);
	put_4690(&b, 3);
	put_4690(&b, 4);
	size_t half = b.len - 300;
	char keep = b.s[half];
	b.s[half] = '\0';
	write_text(t.path, "a", b.s);
	wait_events(r, 3);
	b.s[half] = keep;
	write_text(t.path, "a", b.s + half);
	wait_events(r, 4);
	xg_free(&b);

	/* Truncated, then written again from the start. */
	assert_int_equal(truncate(t.path, 0), 0);
	wait_log(log, "file truncated");
	append_events(t.path, "a", 10, 10);
	wait_events(r, 6);

	/* Written to once more, then replaced by a new file. */
	append_events(t.path, "a", 11, 11);
	append_events(t.other, "w", 20, 21);
	assert_int_equal(rename(t.other, t.path), 0);
	wait_events(r, 10);

	/* Deleted, then created again. */
	assert_int_equal(unlink(t.path), 0);
	wait_log(log, "file removed");
	append_events(t.path, "w", 30, 30);
	wait_events(r, 12);

	static const uint64_t recs[] = { 1, 2, 3, 4, 0, 10, 11, 0, 20, 21, 0, 30 };
	expect_ring(r, 0, recs, sizeof recs / sizeof recs[0]);
	source_stats st;
	source_get_stats(s, &st);
	assert_int_equal(st.read, 9);
	assert_int_equal(st.skipped, 0);
	assert_true(tu_log_has(log, "file replaced"));

	source_close(s); /* stops the thread blocked in follow_wait */
	ring_destroy(r);
	msglog_destroy(log);
	tmp_remove(&t);
}

static void test_source_follow_inotify(void **state)
{
	(void)state;
	source_follow_cycle(false);
}

static void test_source_follow_polling(void **state)
{
	(void)state;
	source_follow_cycle(true);
}

static void test_source_no_follow_stops_at_end(void **state)
{
	(void)state;
	tmp t;
	tmp_make(&t);
	append_events(t.path, "w", 1, 3);
	ring *r = ring_create(10, 0, -1);
	msglog *log = msglog_create(8);
	source *s;
	source_opts o = { 0 };
	dw_err err;
	assert_int_equal(source_open(&s, t.path, 0, &o, r, log, &err), DW_OK);
	assert_int_equal(source_start(s, &err), DW_OK);
	wait_state(s, SRC_DONE);
	static const uint64_t recs[] = { 1, 2, 3 };
	expect_ring(r, 0, recs, 3);
	source_close(s);
	ring_destroy(r);
	msglog_destroy(log);
	tmp_remove(&t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_follow_inotify),
		cmocka_unit_test(test_follow_polling),
		cmocka_unit_test(test_follow_preallocated_rewrite),
		cmocka_unit_test(test_source_follow_inotify),
		cmocka_unit_test(test_source_follow_polling),
		cmocka_unit_test(test_source_no_follow_stops_at_end),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
