/* source_impl.h - what source.c shares with the format readers (src_xml.c,
 * src_evtx.c). Not for use outside core/. */
#ifndef DW_SOURCE_IMPL_H
#define DW_SOURCE_IMPL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>

#include "source.h"

struct source;

/* A format reader. run() executes in the reader thread: it reads until the
 * end of input (or, when following, until stop), pushing events into
 * s->ring in batches and reporting problems to s->log. It must return soon
 * after source_stopping() turns true. */
typedef struct source_ops {
	const char *kind;
	void (*run)(struct source *s);
} source_ops;

extern const source_ops src_xml_ops;
extern const source_ops src_evtx_ops;

struct source {
	char *path;           /* as given; "-" for stdin */
	int fd;               /* the open input; owned */
	bool regular;         /* fd is a regular file (seekable, can be followed) */
	uint16_t index;
	source_opts opts;
	ring *ring;
	msglog *log;
	const source_ops *ops;
	/* Bytes source_open() already read from a non-seekable fd to detect the
	 * format; the reader must consume these before reading fd. */
	unsigned char head[8];
	size_t head_len;

	int stop_pipe[2];     /* source_close() writes [1]; readers poll [0] */
	atomic_bool stop;
	pthread_t thread;
	bool started;

	_Atomic uint64_t n_read, n_skipped, n_bytes;
	atomic_int state;     /* source_state */
};

/* True once source_close() has asked the thread to stop. */
bool source_stopping(struct source *s);
void source_set_state(struct source *s, source_state st);

/* Waits until fd is readable, the source is asked to stop, or timeout_ms
 * passes (-1: no timeout). Returns 1 readable, 0 timeout, -1 stop/error. */
int source_wait_fd(struct source *s, int fd, int timeout_ms);

#endif
