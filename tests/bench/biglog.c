/* biglog.c - a large log of real Security chunks for the benchmarks. */
#include "biglog.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "crc32.h"
#include "evtx_chunk.h"
#include "le.h"

static void die(const char *what)
{
	fprintf(stderr, "biglog: %s: %s\n", what, strerror(errno));
	exit(1);
}

bool biglog_sample_path(char *buf, size_t cap)
{
	const char *dir = getenv("DW_SAMPLES");
	if (!dir || !*dir)
		dir = DW_SAMPLES_DIR;
	snprintf(buf, cap, "%s/security-large.evtx", dir);
	return access(buf, R_OK) == 0;
}

void biglog_src_load(const char *path, biglog_src *s)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		die(path);
	s->hdr = malloc(EVTX_FILE_HEADER_SIZE);
	s->chunks = NULL;
	s->n = 0;
	if (!s->hdr || fread(s->hdr, 1, EVTX_FILE_HEADER_SIZE, f) != EVTX_FILE_HEADER_SIZE)
		die("file header");
	for (;;) {
		uint8_t *c = malloc(EVTX_CHUNK_SIZE);
		if (!c)
			die("malloc");
		if (fread(c, 1, EVTX_CHUNK_SIZE, f) != EVTX_CHUNK_SIZE) {
			free(c);
			break;
		}
		evtx_chunk_header h;
		evtx_chunk_parse(c, EVTX_CHUNK_SIZE, &h);
		if (!h.sig_ok || !h.sane || !h.data_crc_ok) {
			free(c);
			continue;
		}
		s->chunks = realloc(s->chunks, (s->n + 1) * sizeof *s->chunks);
		if (!s->chunks)
			die("malloc");
		s->chunks[s->n++] = c;
	}
	fclose(f);
}

void biglog_src_free(biglog_src *s)
{
	for (size_t i = 0; i < s->n; i++)
		free(s->chunks[i]);
	free(s->chunks);
	free(s->hdr);
	*s = (biglog_src){ 0 };
}

/* EventRecordID is the record's UInt64 substitution value equal to the old
 * id: found through the template instance's value descriptors (fragment
 * header, instance header, inline definition if any, values). */
static void set_record_id_value(uint8_t *c, evtx_rec_ref r, uint64_t old, uint64_t id)
{
	uint32_t p = r.off + 24 + 4, end = r.off + r.size - 4;
	if (p + 10 > end || c[p] != 0x0c)
		return;
	uint32_t def = le_get32(c + p + 6);
	p += 10;
	if (def == p) {
		if (p + 24 > end)
			return;
		p += 24 + le_get32(c + p + 20);
	}
	if (p + 4 > end)
		return;
	uint32_t n = le_get32(c + p), data = p + 4 + 4 * n;
	for (uint32_t i = 0; i < n && data <= end; i++) {
		uint32_t size = c[p + 4 + 4 * i] | c[p + 5 + 4 * i] << 8;
		if (c[p + 6 + 4 * i] == 0x0a && size == 8 && data + 8 <= end &&
		    le_get64(c + data) == old) {
			le_put64(c + data, id);
			return;
		}
		data += size;
	}
}

/* Renumbers a copy of a source chunk from *next_id on; fixes its CRCs.
 * Returns its record count. */
static size_t renumber(uint8_t *c, uint64_t *next_id, evtx_rec_ref *refs)
{
	evtx_chunk_header h;
	evtx_chunk_parse(c, EVTX_CHUNK_SIZE, &h);
	uint32_t stop;
	size_t n = evtx_chunk_records(c, h.free_off, refs, EVTX_CHUNK_MAX_RECORDS, &stop);
	uint64_t first = *next_id;
	for (size_t i = 0; i < n; i++) {
		uint8_t *r = c + refs[i].off;
		uint64_t old = le_get64(r + 8), id = (*next_id)++;
		le_put64(r + 8, id);
		set_record_id_value(c, refs[i], old, id);
	}
	le_put64(c + 8, first);
	le_put64(c + 16, *next_id - 1);
	le_put64(c + 24, first);
	le_put64(c + 32, *next_id - 1);
	le_put32(c + 52, crc32_compute(c + EVTX_CHUNK_HEADER_SIZE, h.free_off - EVTX_CHUNK_HEADER_SIZE));
	le_put32(c + 124, crc32_update(crc32_compute(c, 120), c + 128, EVTX_CHUNK_HEADER_SIZE - 128));
	return n;
}

void biglog_header_fix(uint8_t *hdr, size_t n_chunks, uint64_t next)
{
	le_put64(hdr + 8, 0);
	le_put64(hdr + 16, n_chunks - 1);
	le_put64(hdr + 24, next);
	hdr[42] = (uint8_t)n_chunks;
	hdr[43] = (uint8_t)(n_chunks >> 8);
	le_put32(hdr + 120, 0); /* clean, not full */
	le_put32(hdr + 124, crc32_compute(hdr, 120));
}

uint64_t biglog_build(const char *path, const biglog_src *s, size_t n_chunks)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (fd < 0)
		die(path);
	uint8_t hdr[EVTX_FILE_HEADER_SIZE], *c = malloc(EVTX_CHUNK_SIZE);
	evtx_rec_ref *refs = malloc(EVTX_CHUNK_MAX_RECORDS * sizeof *refs);
	if (!c || !refs)
		die("malloc");
	uint64_t next = 1, records = 0;
	if (lseek(fd, EVTX_FILE_HEADER_SIZE, SEEK_SET) < 0)
		die("lseek");
	for (size_t k = 0; k < n_chunks; k++) {
		memcpy(c, s->chunks[k % s->n], EVTX_CHUNK_SIZE);
		records += renumber(c, &next, refs);
		if (write(fd, c, EVTX_CHUNK_SIZE) != (ssize_t)EVTX_CHUNK_SIZE)
			die("write");
	}
	memcpy(hdr, s->hdr, sizeof hdr);
	biglog_header_fix(hdr, n_chunks, next);
	if (pwrite(fd, hdr, sizeof hdr, 0) != (ssize_t)sizeof hdr)
		die("write");
	close(fd);
	free(c);
	free(refs);
	return records;
}
