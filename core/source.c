#include "source.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "source_impl.h"

static const char evtx_magic[8] = { 'E', 'l', 'f', 'F', 'i', 'l', 'e', '\0' };

/* Reads up to cap bytes, retrying short reads, so that a pipe delivering
 * the first bytes in pieces is still recognised. */
static ssize_t read_full(int fd, unsigned char *buf, size_t cap)
{
	size_t got = 0;
	while (got < cap) {
		ssize_t n = read(fd, buf + got, cap - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		if (n == 0)
			break;
		got += (size_t)n;
	}
	return (ssize_t)got;
}

dw_status source_open(source **out, const char *path, uint16_t index,
                      const source_opts *opts, ring *r, msglog *log,
                      dw_err *err)
{
	*out = NULL;
	source *s = calloc(1, sizeof *s);
	if (!s || !(s->path = strdup(path))) {
		free(s);
		return dw_err_set(err, DW_NOMEM, "%s: out of memory", path);
	}
	s->stop_pipe[0] = s->stop_pipe[1] = -1;
	s->fd = strcmp(path, "-") == 0 ? dup(STDIN_FILENO)
	                               : open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (s->fd < 0) {
		dw_err_set(err, DW_OPEN, "%s: %s", path, strerror(errno));
		goto fail;
	}
	/* O_NONBLOCK only kept open() from hanging on a FIFO without writer. */
	int fl = fcntl(s->fd, F_GETFL);
	if (fl >= 0)
		fcntl(s->fd, F_SETFL, fl & ~O_NONBLOCK);
	struct stat st;
	if (fstat(s->fd, &st) < 0) {
		dw_err_set(err, DW_OPEN, "%s: %s", path, strerror(errno));
		goto fail;
	}
	if (S_ISDIR(st.st_mode)) {
		dw_err_set(err, DW_OPEN, "%s: is a directory", path);
		goto fail;
	}
	s->regular = S_ISREG(st.st_mode);

	unsigned char head[sizeof evtx_magic];
	ssize_t n;
	if (s->regular) {
		n = pread(s->fd, head, sizeof head, 0);
	} else {
		/* A pipe cannot be re-read: keep what was sniffed for the reader. */
		n = read_full(s->fd, head, sizeof head);
		if (n > 0) {
			memcpy(s->head, head, (size_t)n);
			s->head_len = (size_t)n;
		}
	}
	if (n < 0) {
		dw_err_set(err, DW_IO, "%s: %s", path, strerror(errno));
		goto fail;
	}
	s->ops = (size_t)n == sizeof evtx_magic && memcmp(head, evtx_magic, sizeof head) == 0
	       ? &src_evtx_ops : &src_xml_ops;

	if (pipe(s->stop_pipe) < 0) {
		dw_err_set(err, DW_NOMEM, "%s: %s", path, strerror(errno));
		goto fail;
	}
	fcntl(s->stop_pipe[0], F_SETFD, FD_CLOEXEC);
	fcntl(s->stop_pipe[1], F_SETFD, FD_CLOEXEC);
	s->index = index;
	s->opts = *opts;
	if (s->opts.poll_ms == 0)
		s->opts.poll_ms = 100;
	s->ring = r;
	s->log = log;
	atomic_init(&s->stop, false);
	atomic_init(&s->state, SRC_READING);
	*out = s;
	return DW_OK;
fail:
	source_close(s);
	return err ? err->status : DW_OPEN;
}

static void *reader_main(void *arg)
{
	source *s = arg;
	s->ops->run(s);
	if (atomic_load(&s->state) != SRC_FAILED)
		source_set_state(s, SRC_DONE);
	return NULL;
}

dw_status source_start(source *s, dw_err *err)
{
	int rc = pthread_create(&s->thread, NULL, reader_main, s);
	if (rc != 0)
		return dw_err_set(err, DW_NOMEM, "%s: cannot start reader: %s",
		                  s->path, strerror(rc));
	s->started = true;
	return DW_OK;
}

void source_close(source *s)
{
	if (!s)
		return;
	if (s->started) {
		atomic_store(&s->stop, true);
		ssize_t n;
		do
			n = write(s->stop_pipe[1], "", 1);
		while (n < 0 && errno == EINTR);
		pthread_join(s->thread, NULL);
	}
	for (int i = 0; i < 2; i++)
		if (s->stop_pipe[i] >= 0)
			close(s->stop_pipe[i]);
	if (s->fd >= 0)
		close(s->fd);
	free(s->path);
	free(s);
}

void source_get_stats(source *s, source_stats *out)
{
	/* The state first: the reader sets DONE after its last count, so a
	 * snapshot that says DONE holds the final counts. */
	out->state = (source_state)atomic_load(&s->state);
	out->read = atomic_load(&s->n_read);
	out->skipped = atomic_load(&s->n_skipped);
	out->bytes = atomic_load(&s->n_bytes);
}

const char *source_name(const source *s)
{
	return s->path;
}

const char *source_kind(const source *s)
{
	return s->ops->kind;
}

bool source_stopping(source *s)
{
	return atomic_load(&s->stop);
}

void source_set_state(source *s, source_state st)
{
	atomic_store(&s->state, (int)st);
	ring_wake(s->ring);
}

int source_wait_fd(source *s, int fd, int timeout_ms)
{
	struct pollfd p[2] = {
		{ .fd = fd, .events = POLLIN },
		{ .fd = s->stop_pipe[0], .events = POLLIN },
	};
	for (;;) {
		if (source_stopping(s))
			return -1;
		int n = poll(p, 2, timeout_ms);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 || (p[1].revents & POLLIN))
			return -1;
		if (n == 0)
			return 0;
		return 1; /* readable, or hung up: read() tells which */
	}
}
