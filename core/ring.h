/* ring.h - the bounded event store between reader threads and the consumer.
 *
 * Every event pushed gets a sequence number (seq), counting from 0 in
 * arrival order across all sources. The ring keeps the newest `capacity`
 * events: [ring_first(), ring_end()) are present, anything older has been
 * evicted (and counted). Readers push in batches; pushing never waits for the
 * consumer unless the ring was created with RING_BLOCK (headless --print,
 * where losing events would be wrong and back-pressure is harmless).
 *
 * After each push (and on ring_wake) one byte is written to wake_fd, if
 * given, unless a wake-up is already pending; the consumer calls
 * ring_ack_wake() after draining the pipe. Thread safety: all functions may
 * be called from any thread; accessors marked "lock held" require
 * ring_lock(). */
#ifndef DW_RING_H
#define DW_RING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "event.h"
#include "status.h"

#define RING_DEFAULT_CAPACITY 1000000u

enum ring_flags {
	RING_BLOCK = 1u << 0, /* push waits for room instead of evicting */
};

typedef struct ring ring;

typedef struct ring_stats {
	uint64_t pushed;  /* events ever pushed */
	uint64_t evicted; /* events dropped because the ring was full */
	uint64_t held;    /* events present now */
	uint64_t bytes;   /* event_cost() of the events present */
} ring_stats;

/* Creates a ring for capacity events (>= 1). wake_fd is a non-blocking pipe
 * write end or -1; the ring does not own it. NULL on bad capacity or no memory. */
ring *ring_create(size_t capacity, unsigned flags, int wake_fd);
/* Frees the ring and every event in it. No thread may use it any more. */
void ring_destroy(ring *r);

/* Appends n events, taking ownership of each one's data in every case (the
 * array itself stays the caller's and is zeroed). When full, evicts the
 * oldest (or, with RING_BLOCK, waits for room or for ring_close()). */
void ring_push(ring *r, event *evs, size_t n);

/* Moves up to max of the oldest events into out (the caller then owns and
 * must event_free() them); returns how many. Never blocks. For consumers
 * that do not keep events in the ring (headless output). */
size_t ring_pop(ring *r, event *out, size_t max);

/* Wakes the consumer without pushing (a reader changed state). */
void ring_wake(ring *r);
/* The consumer has drained wake_fd: the next push writes to it again. */
void ring_ack_wake(ring *r);
/* Unblocks RING_BLOCK pushers for good (they drop what they push): used on
 * shutdown. */
void ring_close(ring *r);

void ring_lock(ring *r);
void ring_unlock(ring *r);
/* Lock held: first present seq, and one past the newest. */
uint64_t ring_first(const ring *r);
uint64_t ring_end(const ring *r);
/* Lock held: the event with this seq, or NULL if evicted / not yet pushed.
 * Valid until ring_unlock(). */
const event *ring_at(const ring *r, uint64_t seq);

/* Takes the lock itself. */
void ring_get_stats(ring *r, ring_stats *out);
size_t ring_capacity(const ring *r);

#endif
