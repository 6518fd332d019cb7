/* biglog.h - a large log of real Security chunks for the benchmarks: the
 * chunks of security-large.evtx (the samples, DW_SAMPLES) repeated as many
 * times as asked, record ids renumbered (header and EventRecordID value) and
 * CRCs fixed, so every reader sees one consistent, clean log. Holds no 4690
 * (the sample has none). Benchmark helpers: on an I/O error they print it
 * and exit. */
#ifndef DW_BIGLOG_H
#define DW_BIGLOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Path of security-large.evtx in $DW_SAMPLES, else in the samples directory
 * configured at build time, into buf. Returns whether it is readable. */
bool biglog_sample_path(char *buf, size_t cap);

/* A source log's file header and usable chunks (signature, header and
 * data CRC correct), owned by it: release with biglog_src_free(). */
typedef struct biglog_src {
	uint8_t *hdr;
	uint8_t **chunks;
	size_t n;
} biglog_src;

void biglog_src_load(const char *path, biglog_src *s);
void biglog_src_free(biglog_src *s);

/* Makes hdr (a copy of a real log's file header) describe a log of
 * n_chunks chunks from slot 0, oldest first, whose next record id is next:
 * first and last chunk, chunk count, clean flags, checksum. */
void biglog_header_fix(uint8_t *hdr, size_t n_chunks, uint64_t next);

/* Writes a log of n_chunks (<= 65535) chunks of s, in turn, renumbered
 * from record id 1, to path. Returns its record count. */
uint64_t biglog_build(const char *path, const biglog_src *s, size_t n_chunks);

#endif
