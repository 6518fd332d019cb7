/* evtx_fast.h - bulk loading of EVTX chunks on every core.
 *
 * A small pool of workers reads chunks (pread) and parses each whole chunk
 * with the BinXML fast path (binxml.h); the caller gets the chunks' results
 * one by one, in the order of the slot list it gave, from its own thread -
 * so events reach the ring in record-id order whatever finished first.
 * Records the fast path hands back (st != DW_OK) stay the caller's to read
 * with libevtx, with the chunk image at hand.
 *
 * Memory is bounded: at most EVTX_FAST_WINDOW chunks per worker are read
 * ahead of the caller. */
#ifndef DW_EVTX_FAST_H
#define DW_EVTX_FAST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "event.h"
#include "evtx_chunk.h"
#include "status.h"

#define EVTX_FAST_WINDOW 4 /* chunks in flight per worker */

typedef struct evtx_fast_rec {
	evtx_rec_ref ref;
	dw_status st; /* DW_OK: ev is the event; else read it with libevtx */
	event ev;     /* the chunk's until the callback moves it out (and
	                 zeroes it, as ring_push() does) */
} evtx_fast_rec;

typedef struct evtx_fast_chunk {
	size_t index;         /* position in the slot list */
	uint32_t slot;        /* chunk slot: file offset 4096 + slot * 64 KiB */
	const uint8_t *image; /* EVTX_CHUNK_SIZE bytes, zero past what was read */
	size_t got;           /* bytes read */
	evtx_chunk_header h;  /* parsed from the whole image (CRCs checked) */
	evtx_fast_rec *recs;  /* the records in chunk order */
	size_t n_recs;
	uint32_t stop;        /* where the chain of records broke (see
	                         evtx_chunk_records), == end when it did not */
	size_t n_fallback;    /* records with st != DW_OK */
} evtx_fast_chunk;

/* Receives one chunk; it may move events out of c->recs. Returning false
 * stops the run (no further chunk is delivered). */
typedef bool (*evtx_fast_fn)(void *arg, evtx_fast_chunk *c);

/* One worker per online CPU. */
unsigned evtx_fast_threads(void);

/* Reads and parses the chunks at slots[0..n) of the EVTX file open on fd,
 * with `threads` workers (0: evtx_fast_threads(); 1: everything in the
 * calling thread, no pool), calling fn for each in slot-list order from the
 * calling thread. The records of a chunk are those up to its free-space
 * offset (the whole chunk when its header is not sane). Events not moved
 * out by fn are freed. DW_NOMEM or DW_IO (a failed pread; short reads are
 * not errors: see got) with err set; DW_OK otherwise, also when fn
 * stopped the run. */
dw_status evtx_fast_run(int fd, const uint32_t *slots, size_t n, unsigned threads,
                        evtx_fast_fn fn, void *arg, dw_err *err);

#endif
