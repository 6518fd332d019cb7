#include "ring.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct ring {
	pthread_mutex_t lock;
	pthread_cond_t room; /* RING_BLOCK pushers wait here */
	event *slots;
	size_t cap;
	size_t head;         /* slot of seq `first` */
	size_t count;
	uint64_t first;      /* seq of the oldest present event */
	uint64_t evicted;
	uint64_t bytes;
	unsigned flags;
	bool closed;
	int wake_fd;
	atomic_bool wake_pending;
};

ring *ring_create(size_t capacity, unsigned flags, int wake_fd)
{
	if (capacity == 0 || capacity > SIZE_MAX / sizeof(event))
		return NULL;
	ring *r = calloc(1, sizeof *r);
	if (!r)
		return NULL;
	r->slots = calloc(capacity, sizeof *r->slots);
	if (!r->slots) {
		free(r);
		return NULL;
	}
	pthread_mutex_init(&r->lock, NULL);
	pthread_cond_init(&r->room, NULL);
	r->cap = capacity;
	r->flags = flags;
	r->wake_fd = wake_fd;
	atomic_init(&r->wake_pending, false);
	return r;
}

void ring_destroy(ring *r)
{
	if (!r)
		return;
	for (size_t i = 0; i < r->count; i++)
		event_free(&r->slots[(r->head + i) % r->cap]);
	free(r->slots);
	pthread_cond_destroy(&r->room);
	pthread_mutex_destroy(&r->lock);
	free(r);
}

void ring_wake(ring *r)
{
	/* One byte per consumer wake-up is enough: the consumer drains the pipe
	 * and then looks at the ring's state, not at how many bytes came. */
	if (r->wake_fd < 0 || atomic_exchange(&r->wake_pending, true))
		return;
	ssize_t n;
	do
		n = write(r->wake_fd, "", 1);
	while (n < 0 && errno == EINTR);
}

void ring_ack_wake(ring *r)
{
	atomic_store(&r->wake_pending, false);
}

/* Lock held: drops the oldest event. */
static void evict_oldest(ring *r)
{
	event *e = &r->slots[r->head];
	r->bytes -= event_cost(e);
	event_free(e);
	r->head = (r->head + 1) % r->cap;
	r->count--;
	r->first++;
}

void ring_push(ring *r, event *evs, size_t n)
{
	pthread_mutex_lock(&r->lock);
	for (size_t i = 0; i < n; i++) {
		while (r->count == r->cap && (r->flags & RING_BLOCK) && !r->closed)
			pthread_cond_wait(&r->room, &r->lock);
		if (r->closed && (r->flags & RING_BLOCK)) {
			event_free(&evs[i]);
			continue;
		}
		if (r->count == r->cap) {
			evict_oldest(r);
			r->evicted++;
		}
		event *slot = &r->slots[(r->head + r->count) % r->cap];
		*slot = evs[i];
		memset(&evs[i], 0, sizeof evs[i]);
		r->bytes += event_cost(slot);
		r->count++;
	}
	pthread_mutex_unlock(&r->lock);
	if (n)
		ring_wake(r);
}

size_t ring_pop(ring *r, event *out, size_t max)
{
	pthread_mutex_lock(&r->lock);
	size_t n = 0;
	for (; n < max && r->count; n++) {
		event *e = &r->slots[r->head];
		r->bytes -= event_cost(e);
		out[n] = *e;
		memset(e, 0, sizeof *e);
		r->head = (r->head + 1) % r->cap;
		r->count--;
		r->first++;
	}
	if (n)
		pthread_cond_broadcast(&r->room);
	pthread_mutex_unlock(&r->lock);
	return n;
}

void ring_close(ring *r)
{
	pthread_mutex_lock(&r->lock);
	r->closed = true;
	pthread_cond_broadcast(&r->room);
	pthread_mutex_unlock(&r->lock);
}

void ring_lock(ring *r)
{
	pthread_mutex_lock(&r->lock);
}

void ring_unlock(ring *r)
{
	pthread_mutex_unlock(&r->lock);
}

uint64_t ring_first(const ring *r)
{
	return r->first;
}

uint64_t ring_end(const ring *r)
{
	return r->first + r->count;
}

const event *ring_at(const ring *r, uint64_t seq)
{
	if (seq < r->first || seq - r->first >= r->count)
		return NULL;
	return &r->slots[(r->head + (size_t)(seq - r->first)) % r->cap];
}

void ring_get_stats(ring *r, ring_stats *out)
{
	pthread_mutex_lock(&r->lock);
	out->pushed = r->first + r->count;
	out->evicted = r->evicted;
	out->held = r->count;
	out->bytes = r->bytes;
	pthread_mutex_unlock(&r->lock);
}

size_t ring_capacity(const ring *r)
{
	return r->cap;
}
