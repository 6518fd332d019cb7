/* secmix.h - a realistic Security log written by the EVTX writer
 * (core/evtxw.h), for the benchmarks: records cycle through 4688 (process
 * created), 4656 (handle opened), 4690 (handle duplicated), 4658 (handle
 * closed) and 4689 (process exited), one fifth each, about 590 bytes of
 * file per record. Deterministic: the same calls give the same bytes. */
#ifndef DW_SECMIX_H
#define DW_SECMIX_H

#include <stdint.h>

#include "evtxw.h"
#include "status.h"

/* The mix's pseudo-random generator (xorshift32); also usable for jitter
 * between appends. */
uint32_t secmix_rand(void);

/* Appends record number i of the mix to w. Returns evtxw_append()'s status
 * (DW_RANGE: the log is full). */
dw_status secmix_append(evtxw *w, uint64_t i, dw_err *err);

/* Creates path with n_chunks chunks and appends records until max (0: until
 * the log is full). With out, leaves the writer open (synced: a live log)
 * and the caller closes *out; else closes it. Returns the number of records.
 * A benchmark helper: on any error it prints it and exits. */
uint64_t secmix_write(const char *path, uint32_t n_chunks, uint64_t max, evtxw **out);

#endif
