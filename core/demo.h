/* demo.h - a realistic live Security log for `dupwatch --demo`, written
 * with the EVTX writer (evtxw.h).
 *
 * A small simulated Windows machine: processes start (4688) and exit
 * (4689), open handles to files, keys, processes, threads, tokens, events
 * and sections (4656), duplicate them into other processes and into System
 * (4690, subject user consistent with the source process) and close them
 * (4658). PIDs and handles are multiples of 4; every process but System
 * (PID 4) is created by a 4688 in the log; as on real machines, the 4656
 * naming a duplicated source handle is sometimes logged just after the
 * 4690. Paced: a few events a second with bursts; fast: no pacing.
 *
 * The same seed always gives the same events (and, in fast mode, a
 * byte-identical file). */
#ifndef DW_DEMO_H
#define DW_DEMO_H

#include <stdbool.h>
#include <stdint.h>

#include "status.h"

typedef struct demo_opts {
	uint64_t seed;       /* 0: a seed from the clock */
	bool fast;           /* no pacing, simulated clock (fixtures, benchmarks) */
	unsigned initial;    /* events written before demo_start() returns, stamped
	                        over the last minute or so; 0: 150 */
	double rate;         /* paced mean events per second; 0: 3 */
	uint32_t n_chunks;   /* preallocated 64 KiB chunks, the log wraps; 0: 64 */
	uint64_t max_events; /* stop writing after this many; 0: until demo_stop()
	                        (fast mode: 0 means 10000) */
	const char *dir;     /* NULL: $TMPDIR, else /tmp */
} demo_opts;

typedef struct demo demo;

/* Creates a temporary preallocated EVTX file (mkstemp in dir), writes and
 * syncs opts.initial events, then starts a thread appending events until
 * demo_stop(). *out is owned by the caller, released by demo_stop(). */
dw_status demo_start(demo **out, const demo_opts *o, dw_err *err);

/* Path of the live log; valid until demo_stop(). */
const char *demo_path(const demo *d);

/* Events written and synced so far (thread-safe). */
uint64_t demo_count(const demo *d);

/* True once the thread has stopped on its own (max_events reached or a
 * write error); thread-safe. */
bool demo_done(const demo *d);

/* Stops and joins the thread, deletes the file, frees d (NULL-safe).
 * Returns the thread's write error, if any. */
dw_status demo_stop(demo *d, dw_err *err);

/* Writes a whole log in fast mode to path (created or truncated): n_events
 * events, or, with n_events 0, until all n_chunks chunks are full. No wrap.
 * For fixtures and benchmark logs (1 GB: n_chunks 16384). *written (may be
 * NULL) receives the number of events. */
dw_status demo_write_log(const char *path, uint64_t seed, uint64_t n_events,
                         uint32_t n_chunks, uint64_t *written, dw_err *err);

#endif
