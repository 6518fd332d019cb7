/* EVTX live tail: a preallocated log grown record by record with the writer
 * (core/evtxw.h) while the source follows it. Each new record must come out
 * exactly once, in order: across chunk boundaries, through torn writes
 * (headers before data, half a record), when the log is cleared in place
 * or replaced by a new file, and when it wraps and reuses its chunks.
 * Every wait is a condition polled with a generous deadline. */
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
#include <unistd.h>

#include <cmocka.h>

#include "event.h"
#include "evtx_chunk.h"
#include "evtxw.h"
#include "intern.h"
#include "msglog.h"
#include "ring.h"
#include "source.h"
#include "testutil.h"

#define DEADLINE_MS 10000

/* ---- a followed source and what it emitted ---- */

typedef struct tail {
	ring *r;
	msglog *log;
	source *s;
	event *ev;
	size_t n, cap;
} tail;

static void tail_start(tail *t, const char *path, bool poll_only)
{
	memset(t, 0, sizeof *t);
	t->r = ring_create(1u << 16, 0, -1);
	t->log = msglog_create(1000);
	source_opts o = { .follow = true, .poll_only = poll_only, .poll_ms = 20 };
	dw_err err;
	assert_int_equal(source_open(&t->s, path, 0, &o, t->r, t->log, &err), DW_OK);
	assert_int_equal(source_start(t->s, &err), DW_OK);
}

static void tail_drain(tail *t)
{
	for (;;) {
		if (t->n + 256 > t->cap) {
			t->cap = t->cap ? t->cap * 2 : 1024;
			t->ev = realloc(t->ev, t->cap * sizeof *t->ev);
			assert_non_null(t->ev);
		}
		size_t got = ring_pop(t->r, t->ev + t->n, 256);
		t->n += got;
		if (got < 256)
			return;
	}
}

/* Waits until n events have been emitted in all (fails after the deadline). */
static void tail_wait(tail *t, size_t n)
{
	int64_t end = tu_now_ms() + DEADLINE_MS;
	for (;;) {
		tail_drain(t);
		if (t->n >= n)
			break;
		if (tu_now_ms() > end)
			fail_msg("waited for %zu events, have %zu", n, t->n);
		tu_nap(1);
	}
}

/* Nothing more than n events for a while: used only to check that a
 * torn write is not taken for a record. It can only pass wrongly on a
 * slow machine, never fail wrongly. */
static void tail_still(tail *t, size_t n, long ms)
{
	int64_t end = tu_now_ms() + ms;
	while (tu_now_ms() < end) {
		tail_drain(t);
		assert_int_equal(t->n, n);
		tu_nap(2);
	}
}

static size_t tail_errors(tail *t)
{
	size_t bad = 0;
	uint64_t nm = msglog_count(t->log);
	for (uint64_t i = 0; i < nm; i++) {
		char buf[600];
		int lvl = msglog_get(t->log, i, buf, sizeof buf);
		if (lvl == MSG_WARN || lvl == MSG_ERROR) {
			print_message("  msg: %s\n", buf);
			bad++;
		}
	}
	return bad;
}

static void tail_stop(tail *t)
{
	source_close(t->s);
	for (size_t i = 0; i < t->n; i++)
		event_free(&t->ev[i]);
	free(t->ev);
	msglog_destroy(t->log);
	ring_destroy(t->r);
}

/* Events [from, from + count) are records first_id, first_id + 1 ... */
static void assert_ids(const tail *t, size_t from, size_t count, uint64_t first_id)
{
	assert_true(from + count <= t->n);
	for (size_t i = 0; i < count; i++) {
		const event *e = &t->ev[from + i];
		assert_false(e->flags & EVENT_MARKER);
		if (e->record_id != first_id + i)
			fail_msg("event %zu: record %ju, expected %ju", from + i,
			         (uintmax_t)e->record_id, (uintmax_t)(first_id + i));
		assert_int_equal(e->event_id, 4690);
		ev_4690 v;
		event_4690(e, &v);
		assert_int_equal(v.tgt_handle.v, 0x2000 + e->record_id);
	}
}

static void assert_marker(const tail *t, size_t i, const char *word)
{
	assert_true(i < t->n);
	assert_true(t->ev[i].flags & EVENT_MARKER);
	dw_str m = event_str(&t->ev[i], F_Message);
	assert_non_null(m.s);
	assert_non_null(strstr(m.s, word));
}

/* ---- the writer side ---- */

static evtxw *live(const char *path, uint32_t n_chunks, bool wrap)
{
	evtxw *w = NULL;
	dw_err err;
	evtxw_opts o = { .n_chunks = n_chunks, .wrap = wrap };
	assert_int_equal(evtxw_create(&w, path, &o, &err), DW_OK);
	return w;
}

/* Appends the record that gets id (its fields derive from the id). */
static uint64_t add(evtxw *w, bool sync)
{
	uint64_t next = evtxw_next_id(w);
	char name[96];
	snprintf(name, sizeof name, "C:\\Windows\\System32\\svc%ju.exe", (uintmax_t)next);
	evtxw_field f[] = {
		{ "SubjectUserSid", EVTXW_SID, "S-1-5-18", 0 },
		{ "SubjectUserName", EVTXW_STRING, "WS01$", 0 },
		{ "SubjectDomainName", EVTXW_STRING, "EXAMPLE", 0 },
		{ "SubjectLogonId", EVTXW_HEXINT64, NULL, 0x3e7 },
		{ "SourceHandleId", EVTXW_HEXINT64, NULL, 0x100 + next },
		{ "SourceProcessId", EVTXW_HEXINT64, NULL, 0x678 },
		{ "TargetHandleId", EVTXW_HEXINT64, NULL, 0x2000 + next },
		{ "TargetProcessId", EVTXW_HEXINT64, NULL, 4 },
		{ "ProcessName", EVTXW_STRING, name, 0 },
	};
	evtxw_record r = {
		.event_id = 4690, .task = 12807, .keywords = EVTXW_KEYWORDS_AUDIT_SUCCESS,
		.filetime = 132782158328425776ull + next * 10000, .computer = "ws01.example.test",
		.provider_guid = EVTXW_SECURITY_GUID, .pid = 4, .tid = 200,
		.fields = f, .n_fields = sizeof f / sizeof f[0],
	};
	uint64_t id;
	dw_err err;
	if (evtxw_append(w, &r, &id, &err) != DW_OK)
		fail_msg("append: %s", err.msg);
	assert_int_equal(id, next);
	if (sync)
		assert_int_equal(evtxw_sync(w, &err), DW_OK);
	return id;
}

static void finish(evtxw *w)
{
	dw_err err;
	assert_int_equal(evtxw_close(w, &err), DW_OK);
}

/* ---- tests ---- */

static void grow(bool poll_only)
{
	char p[512];
	tu_path(p, sizeof p, poll_only ? "grow-poll.evtx" : "grow.evtx");
	evtxw *w = live(p, 8, false);
	for (int i = 0; i < 5; i++)
		add(w, true);
	tail t;
	tail_start(&t, p, poll_only);
	tail_wait(&t, 5);
	/* Enough records to fill several chunks: the tail follows the chain. */
	const size_t more = poll_only ? 150 : 400;
	for (size_t i = 0; i < more; i++) {
		add(w, true);
		tail_wait(&t, 5 + i + 1);
	}
	/* A last record as a barrier: a record emitted twice would show
	 * before it. */
	add(w, true);
	tail_wait(&t, 5 + more + 1);
	tail_still(&t, 5 + more + 1, 50);
	assert_ids(&t, 0, t.n, 1);
	assert_int_equal(tail_errors(&t), 0);
	tail_stop(&t);
	finish(w);
}

static void test_grow(void **state)
{
	(void)state;
	grow(false);
}

static void test_grow_polling(void **state)
{
	(void)state;
	grow(true);
}

/* Records appended in batches, written without headers first (a write in
 * progress), then synced. */
static void test_flush_then_sync(void **state)
{
	(void)state;
	char p[512];
	dw_err err;
	tu_path(p, sizeof p, "flush.evtx");
	evtxw *w = live(p, 8, false);
	add(w, true);
	tail t;
	tail_start(&t, p, false);
	tail_wait(&t, 1);
	size_t want = 1;
	for (int round = 0; round < 60; round++) {
		for (int k = 0; k <= round % 5; k++, want++)
			add(w, false);
		assert_int_equal(evtxw_flush(w, &err), DW_OK);
		assert_int_equal(evtxw_sync(w, &err), DW_OK);
		tail_wait(&t, want);
	}
	tail_still(&t, want, 50);
	assert_ids(&t, 0, t.n, 1);
	assert_int_equal(tail_errors(&t), 0);
	tail_stop(&t);
	finish(w);
}

static void copy_range(int from, int to, off_t off, size_t len)
{
	uint8_t *buf = malloc(len);
	assert_non_null(buf);
	assert_int_equal(pread(from, buf, len, off), (ssize_t)len);
	assert_int_equal(pwrite(to, buf, len, off), (ssize_t)len);
	free(buf);
}

/* The live file A is built from the writer's file B in a hostile order:
 * the chunk header (claiming the new record) first, then half of the new
 * record, then the rest. Until the chunk is consistent again nothing is
 * emitted and nothing is reported; then the record, once. */
static void test_torn_writes(void **state)
{
	(void)state;
	char pa[512], pb[512];
	tu_path(pa, sizeof pa, "torn-a.evtx");
	tu_path(pb, sizeof pb, "torn-b.evtx");
	evtxw *w = live(pb, 4, false);
	add(w, true);
	int b = open(pb, O_RDONLY);
	int a = open(pa, O_RDWR | O_CREAT | O_TRUNC, 0600);
	assert_true(a >= 0 && b >= 0);
	struct stat st;
	assert_int_equal(fstat(b, &st), 0);
	copy_range(b, a, 0, (size_t)st.st_size);

	tail t;
	tail_start(&t, pa, false);
	tail_wait(&t, 1);
	uint32_t slot = 0, old_free = 0;
	for (int i = 0; i < 12; i++) {
		add(w, true);
		uint8_t hdr[EVTX_CHUNK_HEADER_SIZE];
		evtx_chunk_header h;
		off_t base;
		/* the chunk that holds the new record */
		for (;;) {
			base = (off_t)EVTX_FILE_HEADER_SIZE + (off_t)slot * EVTX_CHUNK_SIZE;
			assert_int_equal(pread(b, hdr, sizeof hdr, base), (ssize_t)sizeof hdr);
			evtx_chunk_parse(hdr, sizeof hdr, &h);
			if (h.last_id == (uint64_t)i + 2)
				break;
			slot++, old_free = EVTX_CHUNK_HEADER_SIZE;
			assert_true(slot < 4);
		}
		if (!old_free)
			old_free = EVTX_CHUNK_HEADER_SIZE;
		/* 1: the header first: its records CRC does not match yet */
		assert_int_equal(pwrite(a, hdr, sizeof hdr, base), (ssize_t)sizeof hdr);
		tail_still(&t, (size_t)i + 1, 60);
		/* 2: half of the new record */
		uint32_t half = old_free + (h.free_off - old_free) / 2;
		copy_range(b, a, base + old_free, half - old_free);
		tail_still(&t, (size_t)i + 1, 60);
		/* 3: the rest of the chunk, then the file header */
		copy_range(b, a, base + half, EVTX_CHUNK_SIZE - half);
		copy_range(b, a, 0, EVTX_FILE_HEADER_SIZE);
		tail_wait(&t, (size_t)i + 2);
		old_free = h.free_off;
	}
	tail_still(&t, 13, 50);
	assert_ids(&t, 0, t.n, 1);
	assert_int_equal(tail_errors(&t), 0); /* a write in progress is no damage */
	tail_stop(&t);
	close(a);
	close(b);
	finish(w);
}

static void test_clear(void **state)
{
	(void)state;
	char p[512];
	dw_err err;
	tu_path(p, sizeof p, "clear.evtx");
	evtxw *w = live(p, 8, false);
	for (int i = 0; i < 300; i++) /* into the third chunk */
		add(w, false);
	assert_int_equal(evtxw_sync(w, &err), DW_OK);
	tail t;
	tail_start(&t, p, false);
	tail_wait(&t, 300);
	assert_int_equal(evtxw_clear(w, 1, &err), DW_OK);
	for (int i = 0; i < 10; i++)
		add(w, true);
	tail_wait(&t, 300 + 1 + 10);
	assert_ids(&t, 0, 300, 1);
	assert_marker(&t, 300, "cleared");
	assert_ids(&t, 301, 10, 1);
	/* and it goes on following the new log */
	add(w, true);
	tail_wait(&t, 312);
	tail_still(&t, 312, 50);
	assert_ids(&t, 301, 11, 1);
	assert_int_equal(tail_errors(&t), 0);
	tail_stop(&t);
	finish(w);
}

static void test_replace(void **state)
{
	(void)state;
	char p[512], q[512];
	tu_path(p, sizeof p, "replace.evtx");
	tu_path(q, sizeof q, "replace.new");
	evtxw *w = live(p, 8, false);
	for (int i = 0; i < 20; i++)
		add(w, true);
	tail t;
	tail_start(&t, p, false);
	tail_wait(&t, 20);
	finish(w);
	/* a new log with its own numbering, moved over the old one */
	w = live(q, 8, false);
	for (int i = 0; i < 30; i++)
		add(w, true);
	assert_int_equal(rename(q, p), 0);
	tail_wait(&t, 20 + 1 + 30);
	assert_ids(&t, 0, 20, 1);
	assert_marker(&t, 20, "replaced");
	assert_ids(&t, 21, 30, 1);
	/* the writer still has the new file open: keep following it */
	add(w, true);
	tail_wait(&t, 52);
	tail_still(&t, 52, 50);
	assert_ids(&t, 21, 31, 1);
	assert_int_equal(tail_errors(&t), 0);
	tail_stop(&t);
	finish(w);
}

/* Three chunk slots reused over and over: each record still once. */
static void test_wrap(void **state)
{
	(void)state;
	char p[512];
	tu_path(p, sizeof p, "wrap.evtx");
	evtxw *w = live(p, 3, true);
	add(w, true);
	tail t;
	tail_start(&t, p, false);
	tail_wait(&t, 1);
	const size_t total = 1200;
	for (size_t i = 1; i < total; i++) {
		add(w, true);
		tail_wait(&t, i + 1);
	}
	tail_still(&t, total, 50);
	assert_ids(&t, 0, total, 1);
	/* the log did wrap: slot 0 no longer holds record 1 */
	uint8_t hdr[EVTX_CHUNK_HEADER_SIZE];
	int fd = open(p, O_RDONLY);
	assert_int_equal(pread(fd, hdr, sizeof hdr, EVTX_FILE_HEADER_SIZE), (ssize_t)sizeof hdr);
	close(fd);
	evtx_chunk_header h;
	evtx_chunk_parse(hdr, sizeof hdr, &h);
	assert_true(h.first_id > 1);
	assert_int_equal(tail_errors(&t), 0);
	tail_stop(&t);
	finish(w);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_grow),
		cmocka_unit_test(test_grow_polling),
		cmocka_unit_test(test_flush_then_sync),
		cmocka_unit_test(test_torn_writes),
		cmocka_unit_test(test_clear),
		cmocka_unit_test(test_replace),
		cmocka_unit_test(test_wrap),
	};
	return cmocka_run_group_tests(tests, tu_group_setup, tu_group_teardown);
}
