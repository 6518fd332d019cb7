/* evtx_chunk.h - the fixed-layout parts of an EVTX file, read without
 * libevtx: the file header, chunk headers with their CRC32s, and the chain
 * of record headers inside a chunk.
 *
 * src_evtx.c uses these to order chunks (a wrapped log), to notice what
 * libevtx skips silently (bad chunks, records it cannot parse) and to find
 * what changed in a live file without reopening it in libevtx. Every
 * function takes untrusted bytes and only reads inside the given length. */
#ifndef DW_EVTX_CHUNK_H
#define DW_EVTX_CHUNK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define EVTX_FILE_HEADER_SIZE 4096u
#define EVTX_CHUNK_SIZE 65536u
#define EVTX_CHUNK_HEADER_SIZE 512u
#define EVTX_RECORD_MIN 28u /* signature, size, id, time, trailing size */
#define EVTX_CHUNK_MAX_RECORDS \
	((EVTX_CHUNK_SIZE - EVTX_CHUNK_HEADER_SIZE) / EVTX_RECORD_MIN + 1)

enum evtx_file_flags {
	EVTX_FILE_DIRTY = 1u << 0,
	EVTX_FILE_FULL = 1u << 1,
	EVTX_FILE_NO_CRC32 = 1u << 2, /* CRC32 fields are not maintained */
};

typedef struct evtx_file_header {
	uint64_t first_chunk, last_chunk; /* chunk numbers (oldest, newest) */
	uint64_t next_record_id;
	uint16_t n_chunks;
	uint32_t flags;
	bool sig_ok;  /* "ElfFile\0" */
	bool crc_ok;  /* CRC32 of the first 120 bytes matches */
} evtx_file_header;

/* Parses the first 128 bytes of p (len must be >= 128, else sig_ok false). */
void evtx_file_header_parse(const uint8_t *p, size_t len, evtx_file_header *h);

/* Writes into p (EVTX_FILE_HEADER_SIZE bytes) a valid file header for a file
 * of exactly one chunk: the header of the images handed to libevtx (see
 * bfio_mem.h). It is built from scratch so that a damaged header in the
 * real file cannot stop libevtx from reading its chunks. */
void evtx_file_header_make(uint8_t *p, uint64_t next_record_id);

typedef struct evtx_chunk_header {
	uint64_t first_num, last_num; /* event record numbers */
	uint64_t first_id, last_id;   /* EventRecordIDs */
	uint32_t last_rec_off;        /* offset of the last record */
	uint32_t free_off;            /* end of the records */
	uint32_t flags;
	bool sig_ok;        /* "ElfChnk\0" */
	bool empty;         /* all of the first 512 bytes are zero (unused slot) */
	bool header_crc_ok; /* CRC32 over bytes 0-120 and 128-512 */
	bool data_crc_ok;   /* CRC32 of the records (512 .. free_off); false
	                       when not checked (see evtx_chunk_parse) */
	bool sane;          /* offsets inside the chunk, ids ordered */
} evtx_chunk_header;

/* Parses a chunk header from p (len >= 512; less gives sig_ok false). When
 * len covers the whole chunk (EVTX_CHUNK_SIZE) the records' CRC32 is also
 * checked, else data_crc_ok stays false. */
void evtx_chunk_parse(const uint8_t *p, size_t len, evtx_chunk_header *h);

/* True when the chunk's CRC32s can be trusted to tell a consistent chunk
 * (neither file nor chunk declares them unmaintained). */
bool evtx_chunk_has_crc(const evtx_chunk_header *h, uint32_t file_flags);

typedef struct evtx_rec_ref {
	uint32_t off;  /* offset in the chunk */
	uint32_t size;
	uint64_t id;
	uint64_t filetime;
} evtx_rec_ref;

/* Follows the chain of record headers from offset 512 up to end (at most
 * EVTX_CHUNK_SIZE), filling out[] (room for max). A record is accepted when
 * its signature, size and trailing size copy agree. Returns how many were
 * found; *stop receives the offset where the chain broke (== end when it
 * reached end cleanly). */
size_t evtx_chunk_records(const uint8_t *chunk, uint32_t end, evtx_rec_ref *out,
                          size_t max, uint32_t *stop);

#endif
