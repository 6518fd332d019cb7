/* source.h - one input (file, FIFO, stdin) read by its own thread into the
 * ring. The format is found by content, not by name: "ElfFile\0" is EVTX
 * (libevtx), anything else XML events (expat; UTF-8, or UTF-16 with a BOM).
 *
 * Errors in the data never stop a source: each is added to the msglog with
 * its place (file plus record id, chunk or byte offset) and counted as
 * skipped; the rest is still read. */
#ifndef DW_SOURCE_H
#define DW_SOURCE_H

#include <stdbool.h>
#include <stdint.h>

#include "msglog.h"
#include "ring.h"
#include "status.h"

typedef struct source_opts {
	bool follow;           /* at the end, wait for more (tail -F) */
	bool recover;          /* EVTX: add records recovered from free space */
	unsigned poll_ms;      /* polling interval for follow (default 100) */
	bool poll_only;        /* do not use inotify (network file systems) */
} source_opts;

typedef enum source_state {
	SRC_READING,   /* reading what is there */
	SRC_FOLLOWING, /* at the end, waiting for more */
	SRC_DONE,      /* end of input, thread finished */
	SRC_FAILED,    /* gave up (see msglog), thread finished */
} source_state;

typedef struct source_stats {
	uint64_t read;    /* events read and pushed */
	uint64_t skipped; /* records that could not be read */
	uint64_t bytes;   /* input bytes consumed */
	source_state state;
} source_stats;

typedef struct source source;

/* Opens path ("-" is stdin) and detects its format. index is stored in
 * every event's `source` field. The ring and log must outlive the source.
 * On failure returns a status with err naming the path; *out is NULL. */
dw_status source_open(source **out, const char *path, uint16_t index,
                      const source_opts *opts, ring *r, msglog *log,
                      dw_err *err);
/* Starts the reader thread. */
dw_status source_start(source *s, dw_err *err);
/* Stops the thread (if running: it is woken from any wait), joins it, and
 * frees the source. NULL-safe. */
void source_close(source *s);

/* A snapshot of the counts and state; once its state is SRC_DONE or
 * SRC_FAILED, its counts are final. */
void source_get_stats(source *s, source_stats *out);
/* The path as given ("-" for stdin); owned by the source. */
const char *source_name(const source *s);
/* "evtx" or "xml". */
const char *source_kind(const source *s);

#endif
