/* Ring buffer: wrap-around, eviction, pop, blocking mode, wake pipe, and
 * concurrent producers with a consumer (also run under TSan in CI). */
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "ring.h"

static event make(uint64_t record_id, uint16_t src)
{
	event_builder b;
	event ev;
	evb_init(&b);
	b.ev.record_id = record_id;
	b.ev.source = src;
	b.ev.event_id = 4690;
	assert_int_equal(evb_add(&b, "TargetProcessId", 15, "0x4", 3), DW_OK);
	assert_int_equal(evb_finish(&b, &ev), DW_OK);
	evb_free(&b);
	return ev;
}

static void push_one(ring *r, uint64_t id)
{
	event ev = make(id, 0);
	ring_push(r, &ev, 1);
	assert_null(ev.data); /* ownership moved */
}

static void test_wrap_and_evict(void **state)
{
	(void)state;
	ring *r = ring_create(4, 0, -1);
	assert_non_null(r);
	for (uint64_t i = 0; i < 10; i++)
		push_one(r, 100 + i);
	ring_stats st;
	ring_get_stats(r, &st);
	assert_int_equal(st.pushed, 10);
	assert_int_equal(st.evicted, 6);
	assert_int_equal(st.held, 4);
	assert_true(st.bytes >= 4 * sizeof(event));
	ring_lock(r);
	assert_int_equal(ring_first(r), 6);
	assert_int_equal(ring_end(r), 10);
	assert_null(ring_at(r, 5));
	assert_null(ring_at(r, 10));
	for (uint64_t s = 6; s < 10; s++)
		assert_int_equal(ring_at(r, s)->record_id, 100 + s);
	ring_unlock(r);
	ring_destroy(r);
}

static void test_pop(void **state)
{
	(void)state;
	ring *r = ring_create(3, 0, -1);
	for (uint64_t i = 0; i < 5; i++)
		push_one(r, i);
	event out[8];
	assert_int_equal(ring_pop(r, out, 2), 2);
	assert_int_equal(out[0].record_id, 2);
	assert_int_equal(out[1].record_id, 3);
	event_free(&out[0]);
	event_free(&out[1]);
	push_one(r, 5);
	assert_int_equal(ring_pop(r, out, 8), 2);
	assert_int_equal(out[0].record_id, 4);
	assert_int_equal(out[1].record_id, 5);
	event_free(&out[0]);
	event_free(&out[1]);
	assert_int_equal(ring_pop(r, out, 8), 0);
	ring_stats st;
	ring_get_stats(r, &st);
	assert_int_equal(st.pushed, 6);
	assert_int_equal(st.evicted, 2);
	assert_int_equal(st.held, 0);
	assert_int_equal(st.bytes, 0);
	ring_destroy(r);
}

static void test_bad_capacity(void **state)
{
	(void)state;
	assert_null(ring_create(0, 0, -1));
	assert_null(ring_create(SIZE_MAX, 0, -1));
}

static void test_wake_pipe(void **state)
{
	(void)state;
	int p[2];
	assert_int_equal(pipe(p), 0);
	fcntl(p[0], F_SETFL, O_NONBLOCK);
	fcntl(p[1], F_SETFL, O_NONBLOCK);
	ring *r = ring_create(8, 0, p[1]);
	push_one(r, 1);
	push_one(r, 2);
	char buf[16];
	/* Two pushes, one pending wake-up: one byte. */
	assert_int_equal(read(p[0], buf, sizeof buf), 1);
	ring_ack_wake(r);
	push_one(r, 3);
	assert_int_equal(read(p[0], buf, sizeof buf), 1);
	ring_destroy(r);
	close(p[0]);
	close(p[1]);
}

#define PRODUCERS 4
#define PER_PRODUCER 50000
#define BATCH 64

struct producer {
	ring *r;
	uint16_t id;
};

static void *produce(void *arg)
{
	struct producer *p = arg;
	event batch[BATCH];
	for (uint64_t i = 0; i < PER_PRODUCER; i += BATCH) {
		size_t n = 0;
		for (; n < BATCH && i + n < PER_PRODUCER; n++)
			batch[n] = make(i + n, p->id);
		ring_push(p->r, batch, n);
	}
	return NULL;
}

/* Blocking ring: nothing lost, each producer's events in its order. */
static void test_concurrent_blocking(void **state)
{
	(void)state;
	ring *r = ring_create(1000, RING_BLOCK, -1);
	pthread_t t[PRODUCERS];
	struct producer p[PRODUCERS];
	for (int i = 0; i < PRODUCERS; i++) {
		p[i] = (struct producer){ r, (uint16_t)i };
		assert_int_equal(pthread_create(&t[i], NULL, produce, &p[i]), 0);
	}
	uint64_t next[PRODUCERS] = { 0 };
	uint64_t total = 0;
	event out[256];
	while (total < (uint64_t)PRODUCERS * PER_PRODUCER) {
		size_t n = ring_pop(r, out, 256);
		for (size_t i = 0; i < n; i++) {
			assert_true(out[i].source < PRODUCERS);
			assert_int_equal(out[i].record_id, next[out[i].source]++);
			event_free(&out[i]);
		}
		total += n;
		if (!n)
			sched_yield();
	}
	for (int i = 0; i < PRODUCERS; i++) {
		pthread_join(t[i], NULL);
		assert_int_equal(next[i], PER_PRODUCER);
	}
	ring_stats st;
	ring_get_stats(r, &st);
	assert_int_equal(st.evicted, 0);
	ring_destroy(r);
}

/* Evicting ring read in place by a consumer, as the viewer does: producers
 * never wait, and pushed = held + evicted at the end. */
static void test_concurrent_evicting(void **state)
{
	(void)state;
	ring *r = ring_create(500, 0, -1);
	pthread_t t[PRODUCERS];
	struct producer p[PRODUCERS];
	for (int i = 0; i < PRODUCERS; i++) {
		p[i] = (struct producer){ r, (uint16_t)i };
		assert_int_equal(pthread_create(&t[i], NULL, produce, &p[i]), 0);
	}
	uint64_t checked = 0;
	for (int round = 0; round < 2000; round++) {
		ring_lock(r);
		uint64_t first = ring_first(r), end = ring_end(r);
		assert_true(end - first <= 500);
		for (uint64_t s = first; s < end; s++) {
			const event *e = ring_at(r, s);
			assert_non_null(e);
			assert_int_equal(event_num(e, F_TargetProcessId).v, 4);
			checked++;
		}
		ring_unlock(r);
	}
	for (int i = 0; i < PRODUCERS; i++)
		pthread_join(t[i], NULL);
	ring_stats st;
	ring_get_stats(r, &st);
	assert_int_equal(st.pushed, (uint64_t)PRODUCERS * PER_PRODUCER);
	assert_int_equal(st.pushed, st.held + st.evicted);
	assert_int_equal(st.held, 500);
	(void)checked;
	ring_destroy(r);
}

/* ring_close releases a producer blocked on a full ring. */
static void *push_three(void *arg)
{
	ring *r = arg;
	for (int i = 0; i < 3; i++)
		push_one(r, (uint64_t)i);
	return NULL;
}

static void test_close_unblocks(void **state)
{
	(void)state;
	ring *r = ring_create(1, RING_BLOCK, -1);
	pthread_t t;
	assert_int_equal(pthread_create(&t, NULL, push_three, r), 0);
	for (;;) { /* wait until the producer filled the ring */
		ring_stats st;
		ring_get_stats(r, &st);
		if (st.held == 1)
			break;
		sched_yield();
	}
	ring_close(r);
	assert_int_equal(pthread_join(t, NULL), 0);
	ring_stats st;
	ring_get_stats(r, &st);
	assert_int_equal(st.held, 1);
	ring_destroy(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_wrap_and_evict),
		cmocka_unit_test(test_pop),
		cmocka_unit_test(test_bad_capacity),
		cmocka_unit_test(test_wake_pipe),
		cmocka_unit_test(test_concurrent_blocking),
		cmocka_unit_test(test_concurrent_evicting),
		cmocka_unit_test(test_close_unblocks),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
