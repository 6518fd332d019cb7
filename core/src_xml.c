/* src_xml.c - the XML event stream source: reads the fd into the
 * xmlev_stream reader, pushes its events into the ring in batches, and
 * follows a regular file like `tail -F`. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "follow.h"
#include "source_impl.h"
#include "xmlev.h"

#define READ_CHUNK (256u * 1024u)
#define BATCH 256

typedef struct xml_reader {
	struct source *s;
	xmlev_stream *st;
	event batch[BATCH];
	size_t n;
	size_t n_markers; /* of the batch: they are not events read */
} xml_reader;

static void flush(xml_reader *r)
{
	if (!r->n)
		return;
	ring_push(r->s->ring, r->batch, r->n);
	atomic_fetch_add(&r->s->n_read, r->n - r->n_markers);
	r->n = r->n_markers = 0;
}

static void add(xml_reader *r, event *ev)
{
	ev->source = r->s->index;
	r->batch[r->n++] = *ev;
	if (r->n == BATCH)
		flush(r);
}

static void on_event(void *ctx, event *ev)
{
	add(ctx, ev);
}

static void on_problem(void *ctx, dw_status st, uint64_t offset, uint64_t record_id,
                       const char *why)
{
	xml_reader *r = ctx;
	char rec[40] = "";
	if (record_id)
		snprintf(rec, sizeof rec, ", record %llu", (unsigned long long)record_id);
	msglog_add(r->s->log, MSG_ERROR, "%s: byte %llu%s: %s%s", r->s->path,
	           (unsigned long long)offset, rec,
	           st == DW_REFUSED ? "" : "malformed event skipped: ", why);
	if (st != DW_REFUSED)
		atomic_fetch_add(&r->s->n_skipped, 1);
}

/* A row in the event list that says what happened to the file. */
static void push_marker(xml_reader *r, const char *text)
{
	event_builder b;
	event ev;
	struct timespec now;
	evb_init(&b);
	clock_gettime(CLOCK_REALTIME, &now);
	b.ev.flags = EVENT_MARKER | EVENT_HAS_TIME;
	/* FILETIME counts 100 ns from 1601; the Unix epoch is 11644473600 s later. */
	b.ev.filetime = ((uint64_t)now.tv_sec + 11644473600u) * 10000000u +
	                (uint64_t)now.tv_nsec / 100;
	if (evb_add(&b, "Message", 7, text, strlen(text)) == DW_OK && evb_finish(&b, &ev) == DW_OK) {
		r->n_markers++;
		add(r, &ev);
	}
	evb_free(&b);
}

/* Reads the next piece of fd into the reader and pushes the events it
 * completed. Returns 0 after data (or nothing yet), 1 at the end of the
 * input, -1 when asked to stop, -2 on an error (reported). */
static int read_some(xml_reader *r, off_t *off)
{
	struct source *s = r->s;
	if (!s->regular && source_wait_fd(s, s->fd, -1) < 0)
		return -1;
	size_t cap;
	char *buf = xmlev_stream_buf(r->st, READ_CHUNK, &cap);
	if (!buf) {
		msglog_add(s->log, MSG_ERROR, "%s: out of memory", s->path);
		return -2;
	}
	ssize_t n;
	do
		n = read(s->fd, buf, cap < READ_CHUNK ? cap : READ_CHUNK);
	while (n < 0 && errno == EINTR);
	if (n < 0 && errno == EAGAIN)
		return 0;
	if (n < 0) {
		msglog_add(s->log, MSG_ERROR, "%s: byte %lld: read error: %s", s->path,
		           (long long)*off, strerror(errno));
		return -2;
	}
	if (n == 0)
		return 1;
	*off += n;
	atomic_fetch_add(&s->n_bytes, (uint64_t)n);
	xmlev_stream_commit(r->st, (size_t)n);
	flush(r); /* a slow writer's events are shown at once */
	return 0;
}

/* The file at path replaced ours: read what was left of the old one, then
 * switch. false if the new one cannot be opened (yet). */
static bool reopen(xml_reader *r, follow *fw, off_t *off)
{
	struct source *s = r->s;
	dw_err err;
	int fd = follow_reopen(fw, &err);
	if (fd < 0) {
		msglog_add(s->log, MSG_WARN, "%s", err.msg);
		return false;
	}
	while (read_some(r, off) == 0 && !source_stopping(s))
		;
	xmlev_stream_end(r->st);
	xmlev_stream_reset(r->st);
	close(s->fd);
	s->fd = fd;
	*off = 0;
	follow_reset(fw, fd);
	msglog_add(s->log, MSG_INFO, "%s: file replaced: reading the new file", s->path);
	push_marker(r, "file replaced: reading the new file from the start");
	return true;
}

/* At the end of a regular file: waits for it to change. false on stop. */
static bool follow_more(xml_reader *r, follow **fw, off_t *off)
{
	struct source *s = r->s;
	if (!*fw) {
		dw_err err;
		if (follow_open(fw, s->path, s->fd, s->opts.poll_ms, s->opts.poll_only, &err) != DW_OK) {
			msglog_add(s->log, MSG_ERROR, "%s: cannot follow: %s", s->path, err.msg);
			return false;
		}
	}
	follow_seen(*fw, *off);
	source_set_state(s, SRC_FOLLOWING);
	for (;;) {
		switch (follow_wait(*fw, s->stop_pipe[0], -1)) {
		case FOLLOW_STOP:
			return false;
		case FOLLOW_NONE:
			continue;
		case FOLLOW_GONE:
			msglog_add(s->log, MSG_WARN, "%s: file removed: waiting for it to come back",
			           s->path);
			continue;
		case FOLLOW_TRUNCATED:
			msglog_add(s->log, MSG_WARN, "%s: file truncated: reading it again from the start",
			           s->path);
			if (lseek(s->fd, 0, SEEK_SET) < 0) {
				msglog_add(s->log, MSG_ERROR, "%s: cannot seek: %s", s->path,
				           strerror(errno));
				return false;
			}
			*off = 0;
			follow_seen(*fw, 0);
			xmlev_stream_reset(r->st);
			push_marker(r, "file truncated: reading it again from the start");
			break;
		case FOLLOW_REPLACED:
			if (!reopen(r, *fw, off))
				continue;
			break;
		case FOLLOW_MODIFIED:
			break;
		}
		source_set_state(s, SRC_READING);
		return true;
	}
}

static void xml_run(struct source *s)
{
	static const xmlev_stream_cb cb = { on_event, on_problem };
	xml_reader *r = calloc(1, sizeof *r);
	follow *fw = NULL;
	off_t off = 0;
	bool failed = false;
	if (r) {
		r->s = s;
		r->st = xmlev_stream_create(&cb, r);
	}
	if (!r || !r->st) {
		msglog_add(s->log, MSG_ERROR, "%s: out of memory", s->path);
		failed = true;
		goto out;
	}
	source_set_state(s, SRC_READING);
	if (s->head_len) {
		xmlev_stream_feed(r->st, s->head, s->head_len);
		atomic_fetch_add(&s->n_bytes, s->head_len);
		off = (off_t)s->head_len;
	}
	while (!source_stopping(s)) {
		int rc = read_some(r, &off);
		if (rc < 0) {
			failed = rc == -2;
			break;
		}
		if (rc == 0)
			continue;
		/* Standard input cannot be reopened: follow only named files. */
		if (!s->regular || !s->opts.follow || strcmp(s->path, "-") == 0) {
			xmlev_stream_end(r->st);
			break;
		}
		if (!follow_more(r, &fw, &off))
			break;
	}
out:
	if (r) {
		flush(r);
		xmlev_stream_destroy(r->st);
		free(r);
	}
	follow_close(fw);
	if (failed)
		source_set_state(s, SRC_FAILED);
}

const source_ops src_xml_ops = { "xml", xml_run };
