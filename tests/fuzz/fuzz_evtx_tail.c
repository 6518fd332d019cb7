/* fuzz_evtx_tail.c - the tail step of the EVTX source over a changing
 * image. The first half of the input is the file when the source starts
 * (read whole, as in --follow), the second half the same file after the
 * event log service (or an attacker) changed it; then the source takes the
 * steps its follow loop would take on a change notification.
 *
 * The steps are static functions of src_evtx.c, driven by wall-clock time
 * and inotify in the real loop; to call them deterministically the harness
 * compiles src_evtx.c into itself (its exported ops table renamed, so the
 * library's copy still links) and plays the follow loop's part: a torn
 * chunk is retried, then its grace period is declared over.
 *
 * Checks beyond the sanitizers': once the image has settled, one more step
 * over the unchanged image emits nothing and does not report a clear (no
 * record twice, no marker storm); every event passes fuzz_touch_event(). */
#define src_evtx_ops fuzz_tail_evtx_ops
#include "src_evtx.c"

#include "fuzz.h"

static int tail_fd = -1;

/* What follow_loop() does with a step's result. */
static step_result tail_once(evtx_src *x)
{
	step_result r = tail_step(x);
	if (r == STEP_CLEARED) {
		emit_marker(x, "log cleared");
		read_all(x);
		r = tail_step(x);
	}
	return r;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t half = size / 2;
	ring *r = ring_create(1u << 16, 0, -1);
	msglog *log = msglog_create(16);
	FUZZ_CHECK(r != NULL && log != NULL);

	struct source s;
	memset(&s, 0, sizeof s);
	s.path = "fuzz-tail.evtx";
	s.regular = true;
	s.opts.follow = true;
	s.opts.poll_ms = 100;
	s.ring = r;
	s.log = log;
	s.stop_pipe[0] = s.stop_pipe[1] = -1;
	atomic_init(&s.stop, false);
	atomic_init(&s.n_read, 0);
	atomic_init(&s.n_skipped, 0);
	atomic_init(&s.n_bytes, 0);
	atomic_init(&s.state, SRC_READING);

	fuzz_memfd_put(&tail_fd, "fuzz-tail.evtx", data, half);
	s.fd = tail_fd;
	evtx_src x = { .s = &s, .fd = tail_fd };
	FUZZ_CHECK(parser_init(&x.p, &s));
	if (read_all(&x)) {
		fuzz_drain(r);
		fuzz_memfd_put(&tail_fd, "fuzz-tail.evtx", data + half, size - half);
		/* A write in progress is retried; a chunk still inconsistent after
		 * the grace period is read as it is. */
		step_result res = STEP_AGAIN;
		for (int i = 0; i < 6 && res == STEP_AGAIN; i++) {
			if (i == 3)
				x.torn_since = -1;
			res = tail_once(&x);
		}
		fuzz_drain(r);
		if (res == STEP_OK) {
			/* Nothing changed since: nothing new, no clear. */
			uint64_t before = atomic_load(&s.n_read);
			res = tail_once(&x);
			FUZZ_CHECK(res != STEP_CLEARED);
			FUZZ_CHECK(atomic_load(&s.n_read) == before);
			FUZZ_CHECK(fuzz_drain(r) == 0);
		}
	}
	flush_q(&x);
	parser_free(&x.p);
	free(x.q.v);
	ring_stats rs;
	ring_get_stats(r, &rs);
	FUZZ_CHECK(rs.pushed == atomic_load(&s.n_read));
	ring_destroy(r);
	msglog_destroy(log);
	return 0;
}
