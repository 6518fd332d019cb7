#include "evtx_fast.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "binxml.h"

#define MAX_THREADS 64

enum job_state { JOB_FREE, JOB_BUSY, JOB_DONE };

typedef struct job {
	evtx_fast_chunk c;
	uint8_t *img;
	enum job_state state;
	int err_no; /* pread failed with this errno */
} job;

/* What one reader of chunks needs. */
typedef struct worker {
	binxml *bx;
	event_builder b;
	evtx_rec_ref *refs;
} worker;

typedef struct pool {
	pthread_mutex_t mu;
	pthread_cond_t work, done;
	job *jobs;
	size_t window;
	size_t next;     /* next slot-list index to claim */
	size_t consumed; /* slot-list indexes handed to fn */
	size_t n;
	const uint32_t *slots;
	int fd;
	bool stop;
} pool;

static bool worker_init(worker *w)
{
	memset(w, 0, sizeof *w);
	evb_init(&w->b);
	w->bx = binxml_create();
	w->refs = malloc(EVTX_CHUNK_MAX_RECORDS * sizeof *w->refs);
	return w->bx && w->refs;
}

static void worker_free(worker *w)
{
	binxml_destroy(w->bx);
	evb_free(&w->b);
	free(w->refs);
}

static bool job_init(job *j)
{
	memset(j, 0, sizeof *j);
	j->img = malloc(EVTX_CHUNK_SIZE);
	j->c.recs = malloc(EVTX_CHUNK_MAX_RECORDS * sizeof *j->c.recs);
	j->c.image = j->img;
	return j->img && j->c.recs;
}

static void job_clear(job *j)
{
	for (size_t i = 0; i < j->c.n_recs; i++)
		event_free(&j->c.recs[i].ev);
	j->c.n_recs = 0;
}

static void job_free(job *j)
{
	if (j->c.recs)
		job_clear(j);
	free(j->img);
	free(j->c.recs);
}

/* Reads and parses chunk `slot` into j. */
static void do_chunk(worker *w, int fd, size_t index, uint32_t slot, job *j)
{
	evtx_fast_chunk *c = &j->c;
	c->index = index;
	c->slot = slot;
	c->n_recs = c->n_fallback = 0;
	j->err_no = 0;
	ssize_t got = pread(fd, j->img, EVTX_CHUNK_SIZE,
	                    (off_t)EVTX_FILE_HEADER_SIZE + (off_t)slot * EVTX_CHUNK_SIZE);
	if (got < 0) {
		j->err_no = errno ? errno : EIO;
		got = 0;
	}
	c->got = (size_t)got;
	if (c->got < EVTX_CHUNK_SIZE)
		memset(j->img + c->got, 0, EVTX_CHUNK_SIZE - c->got);
	evtx_chunk_parse(j->img, EVTX_CHUNK_SIZE, &c->h);
	uint32_t end = c->h.sane ? c->h.free_off : EVTX_CHUNK_SIZE;
	size_t n = evtx_chunk_records(j->img, end, w->refs, EVTX_CHUNK_MAX_RECORDS, &c->stop);
	binxml_chunk(w->bx, j->img, EVTX_CHUNK_SIZE);
	for (size_t i = 0; i < n; i++) {
		evtx_fast_rec *r = &c->recs[i];
		r->ref = w->refs[i];
		memset(&r->ev, 0, sizeof r->ev);
		r->st = binxml_record(w->bx, &r->ref, &w->b, NULL);
		if (r->st == DW_OK)
			r->st = evb_finish(&w->b, &r->ev);
		if (r->st != DW_OK)
			c->n_fallback++;
	}
	c->n_recs = n;
}

static void *worker_main(void *arg)
{
	pool *p = arg;
	worker w;
	bool ok = worker_init(&w);
	pthread_mutex_lock(&p->mu);
	while (!p->stop && p->next < p->n) {
		if (p->next >= p->consumed + p->window) {
			pthread_cond_wait(&p->work, &p->mu);
			continue;
		}
		size_t i = p->next++;
		job *j = &p->jobs[i % p->window];
		j->state = JOB_BUSY;
		pthread_mutex_unlock(&p->mu);
		if (ok) {
			do_chunk(&w, p->fd, i, p->slots[i], j);
		} else {
			j->c.n_recs = 0;
			j->err_no = ENOMEM;
		}
		pthread_mutex_lock(&p->mu);
		j->state = JOB_DONE;
		pthread_cond_broadcast(&p->done);
	}
	pthread_mutex_unlock(&p->mu);
	worker_free(&w);
	return NULL;
}

unsigned evtx_fast_threads(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);
	return n < 1 ? 1 : n > MAX_THREADS ? MAX_THREADS : (unsigned)n;
}

static dw_status io_error(dw_err *err, const job *j)
{
	if (j->err_no == ENOMEM)
		return dw_err_set(err, DW_NOMEM, "out of memory");
	return dw_err_set(err, DW_IO, "chunk %u: read failed: %s", (unsigned)j->c.slot,
	                  strerror(j->err_no));
}

/* Everything in the calling thread: tail steps, one core, tests. */
static dw_status run_inline(int fd, const uint32_t *slots, size_t n, evtx_fast_fn fn,
                            void *arg, dw_err *err)
{
	worker w;
	job j;
	dw_status st = DW_OK;
	if (!worker_init(&w) || !job_init(&j)) {
		st = dw_err_set(err, DW_NOMEM, "out of memory");
		n = 0;
	}
	for (size_t i = 0; i < n; i++) {
		do_chunk(&w, fd, i, slots[i], &j);
		if (j.err_no) {
			st = io_error(err, &j);
			break;
		}
		bool more = fn(arg, &j.c);
		job_clear(&j);
		if (!more)
			break;
	}
	job_free(&j);
	worker_free(&w);
	return st;
}

dw_status evtx_fast_run(int fd, const uint32_t *slots, size_t n, unsigned threads,
                        evtx_fast_fn fn, void *arg, dw_err *err)
{
	if (threads == 0)
		threads = evtx_fast_threads();
	if (threads > MAX_THREADS)
		threads = MAX_THREADS;
	if (threads == 1 || n <= 1)
		return run_inline(fd, slots, n, fn, arg, err);

	pool p = { .window = (size_t)threads * EVTX_FAST_WINDOW, .n = n, .slots = slots,
	           .fd = fd };
	pthread_t tid[MAX_THREADS];
	unsigned started = 0;
	dw_status st = DW_OK;
	pthread_mutex_init(&p.mu, NULL);
	pthread_cond_init(&p.work, NULL);
	pthread_cond_init(&p.done, NULL);
	p.jobs = calloc(p.window, sizeof *p.jobs);
	bool ok = p.jobs != NULL;
	for (size_t i = 0; ok && i < p.window; i++)
		ok = job_init(&p.jobs[i]);
	for (unsigned t = 0; ok && t < threads; t++) {
		if (pthread_create(&tid[t], NULL, worker_main, &p) != 0)
			break;
		started++;
	}
	if (!ok || started == 0) {
		st = dw_err_set(err, DW_NOMEM, "cannot start the chunk readers");
		p.stop = true;
	}

	for (size_t i = 0; !p.stop && i < n; i++) {
		job *j = &p.jobs[i % p.window];
		pthread_mutex_lock(&p.mu);
		while (j->state != JOB_DONE)
			pthread_cond_wait(&p.done, &p.mu);
		pthread_mutex_unlock(&p.mu);
		bool more = true;
		if (j->err_no)
			st = io_error(err, j);
		else
			more = fn(arg, &j->c);
		job_clear(j);
		pthread_mutex_lock(&p.mu);
		j->state = JOB_FREE;
		p.consumed++;
		if (!more || st != DW_OK)
			p.stop = true;
		pthread_cond_broadcast(&p.work);
		pthread_mutex_unlock(&p.mu);
	}

	pthread_mutex_lock(&p.mu);
	p.stop = true;
	pthread_cond_broadcast(&p.work);
	pthread_mutex_unlock(&p.mu);
	for (unsigned t = 0; t < started; t++)
		pthread_join(tid[t], NULL);
	for (size_t i = 0; p.jobs && i < p.window; i++)
		job_free(&p.jobs[i]);
	free(p.jobs);
	pthread_cond_destroy(&p.work);
	pthread_cond_destroy(&p.done);
	pthread_mutex_destroy(&p.mu);
	return st;
}
