/* Regression tests for findings of the fuzz harnesses that a replay of one
 * input cannot show (the replays are tests/fuzz/regress/, run by the
 * fuzz_*_regress tests). Each drives the real code through its public API.
 *
 * tail_past_damaged_chunk: fuzz_evtx_tail's scenario of a live log whose
 * current chunk is left with a mismatched checksum while the service goes
 * on writing into the next chunks. The tail read the damaged chunk after
 * its grace period but then never looked at the next chunk again: every
 * later record was lost until a restart. */
#include <fcntl.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "evtxw.h"
#include "msglog.h"
#include "ring.h"
#include "source.h"
#include "testutil.h"

#define FT0 132781030248425776ull

static void append(evtxw *w, int n)
{
	for (int i = 0; i < n; i++) {
		evtxw_field f[2] = { { "SubjectUserName", EVTXW_STRING, "admmig", 0 },
		                     { "SourceProcessId", EVTXW_HEXINT64, NULL, 0x678 } };
		evtxw_record r = { .event_id = 4690, .filetime = FT0 + (uint64_t)i,
		                   .computer = "fs01.offsec.lan", .pid = 4, .tid = 8,
		                   .fields = f, .n_fields = 2 };
		dw_err err;
		assert_int_equal(evtxw_append(w, &r, NULL, &err), DW_OK);
	}
}

/* A log of n_chunks slots holding the first n records, synced. */
static void write_log(const char *path, int n)
{
	evtxw *w;
	dw_err err;
	evtxw_opts o = { .n_chunks = 8 };
	assert_int_equal(evtxw_create(&w, path, &o, &err), DW_OK);
	append(w, n);
	assert_int_equal(evtxw_close(w, &err), DW_OK);
}

static uint8_t *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	assert_non_null(f);
	assert_int_equal(fseek(f, 0, SEEK_END), 0);
	*len = (size_t)ftell(f);
	rewind(f);
	uint8_t *b = malloc(*len);
	assert_non_null(b);
	assert_int_equal(fread(b, 1, *len, f), *len);
	fclose(f);
	return b;
}

/* Waits (generous deadline, no fixed sleep) until the source has read n
 * events; returns what it has read. */
static uint64_t wait_read(source *s, int wake, uint64_t n, int deadline_ms)
{
	int64_t end = tu_now_ms() + deadline_ms;
	source_stats st;
	for (;;) {
		source_get_stats(s, &st);
		if (st.read >= n || tu_now_ms() >= end)
			return st.read;
		struct pollfd p = { .fd = wake, .events = POLLIN };
		poll(&p, 1, 50);
		char buf[64];
		while (read(wake, buf, sizeof buf) > 0)
			;
	}
}

static void test_tail_past_damaged_chunk(void **state)
{
	(void)state;
	char dir[1024], live[1100], next[1100];
	assert_int_equal(tu_tmpdir_make(dir, sizeof dir, "dw-fuzzreg"), 0);
	snprintf(live, sizeof live, "%s/live.evtx", dir);
	snprintf(next, sizeof next, "%s/next.evtx", dir);

	/* The same log later: 800 records over four chunks, and the first
	 * chunk's records checksum broken after the service left it. */
	write_log(live, 100);
	write_log(next, 800);
	dw_err err;
	assert_int_equal(evtxw_damage_chunk_crc(next, 0, EVTXW_CRC_DATA, &err), DW_OK);
	size_t len;
	uint8_t *later = slurp(next, &len);

	int wake[2];
	assert_int_equal(pipe(wake), 0);
	for (int i = 0; i < 2; i++)
		fcntl(wake[i], F_SETFL, O_NONBLOCK);
	ring *r = ring_create(4096, 0, wake[1]);
	msglog *log = msglog_create(64);
	assert_non_null(r);
	assert_non_null(log);
	source *s;
	source_opts o = { .follow = true };
	assert_int_equal(source_open(&s, live, 0, &o, r, log, &err), DW_OK);
	assert_int_equal(source_start(s, &err), DW_OK);
	assert_int_equal(wait_read(s, wake[0], 100, 20000), 100);

	/* In place, as the service writes (same inode, same size). */
	int fd = open(live, O_WRONLY);
	assert_true(fd >= 0);
	assert_int_equal(pwrite(fd, later, len, 0), (ssize_t)len);
	close(fd);

	/* The damaged chunk is read after its grace period (2 s), then the
	 * tail must go on to the records of the next chunks. */
	assert_int_equal(wait_read(s, wake[0], 800, 30000), 800);

	source_close(s);
	ring_destroy(r);
	msglog_destroy(log);
	close(wake[0]);
	close(wake[1]);
	free(later);
	assert_int_equal(tu_tmpdir_remove(dir), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tail_past_damaged_chunk),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
