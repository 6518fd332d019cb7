/* fuzz_evtx.c - file bytes to records through the real source: the input
 * is written to an in-memory file (memfd) and read by source_open() +
 * source_start() as dupwatch reads a path given on the command line, with
 * --recover. The format is found by content, so inputs whose signature the
 * fuzzer breaks go through the XML reader instead, as they would for real.
 *
 * Checks: the reader finishes (a hang is a libFuzzer timeout), every event
 * passes fuzz_touch_event(), and the counts agree: what the source says it
 * read is what reached the ring (taken out or evicted). */
#define _GNU_SOURCE /* pipe2 */

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <unistd.h>

#include "fuzz.h"
#include "msglog.h"
#include "ring.h"
#include "source.h"

static int mfd = -1;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_memfd_put(&mfd, "fuzz.evtx", data, size);
	char mpath[64];
	snprintf(mpath, sizeof mpath, "/proc/self/fd/%d", mfd);
	int wake[2];
	FUZZ_CHECK(pipe2(wake, O_NONBLOCK | O_CLOEXEC) == 0);
	ring *r = ring_create(4096, 0, wake[1]);
	msglog *log = msglog_create(16);
	FUZZ_CHECK(r != NULL && log != NULL);

	source *s = NULL;
	dw_err err;
	source_opts o = { .recover = true };
	FUZZ_CHECK(source_open(&s, mpath, 0, &o, r, log, &err) == DW_OK);
	FUZZ_CHECK(source_start(s, &err) == DW_OK);

	/* Wait for the end as the UI does: on the ring's wake-up pipe. */
	uint64_t popped = 0;
	source_stats st;
	for (;;) {
		char buf[64];
		while (read(wake[0], buf, sizeof buf) > 0)
			;
		ring_ack_wake(r);
		popped += fuzz_drain(r);
		source_get_stats(s, &st);
		if (st.state == SRC_DONE || st.state == SRC_FAILED)
			break;
		struct pollfd p = { .fd = wake[0], .events = POLLIN };
		poll(&p, 1, 1000);
	}
	source_close(s);
	popped += fuzz_drain(r);

	ring_stats rs;
	ring_get_stats(r, &rs);
	FUZZ_CHECK(rs.pushed == st.read);
	FUZZ_CHECK(popped + rs.evicted == st.read && rs.held == 0);
	ring_destroy(r);
	msglog_destroy(log);
	close(wake[0]);
	close(wake[1]);
	return 0;
}
