#include "evtx_chunk.h"

#include <string.h>

#include "crc32.h"
#include "le.h"

void evtx_file_header_parse(const uint8_t *p, size_t len, evtx_file_header *h)
{
	memset(h, 0, sizeof *h);
	if (len < 128 || memcmp(p, "ElfFile\0", 8) != 0)
		return;
	h->sig_ok = true;
	h->first_chunk = le_get64(p + 8);
	h->last_chunk = le_get64(p + 16);
	h->next_record_id = le_get64(p + 24);
	h->n_chunks = le_get16(p + 42);
	h->flags = le_get32(p + 120);
	h->crc_ok = crc32_compute(p, 120) == le_get32(p + 124);
}

void evtx_file_header_make(uint8_t *p, uint64_t next_record_id)
{
	memset(p, 0, EVTX_FILE_HEADER_SIZE);
	memcpy(p, "ElfFile\0", 8);
	le_put64(p + 24, next_record_id);
	le_put32(p + 32, 128);                    /* header size */
	le_put16(p + 36, 1);                      /* minor version */
	le_put16(p + 38, 3);                      /* major version */
	le_put16(p + 40, EVTX_FILE_HEADER_SIZE);  /* header block size */
	le_put16(p + 42, 1);                      /* number of chunks */
	le_put32(p + 124, crc32_compute(p, 120));
}

void evtx_chunk_parse(const uint8_t *p, size_t len, evtx_chunk_header *h)
{
	memset(h, 0, sizeof *h);
	if (len < EVTX_CHUNK_HEADER_SIZE)
		return;
	h->empty = true;
	for (size_t i = 0; i < EVTX_CHUNK_HEADER_SIZE; i++) {
		if (p[i]) {
			h->empty = false;
			break;
		}
	}
	if (memcmp(p, "ElfChnk\0", 8) != 0)
		return;
	h->sig_ok = true;
	h->first_num = le_get64(p + 8);
	h->last_num = le_get64(p + 16);
	h->first_id = le_get64(p + 24);
	h->last_id = le_get64(p + 32);
	h->last_rec_off = le_get32(p + 44);
	h->free_off = le_get32(p + 48);
	h->flags = le_get32(p + 120);
	uint32_t crc = crc32_update(crc32_compute(p, 120), p + 128,
	                            EVTX_CHUNK_HEADER_SIZE - 128);
	h->header_crc_ok = crc == le_get32(p + 124);
	h->sane = h->free_off >= EVTX_CHUNK_HEADER_SIZE &&
	          h->free_off <= EVTX_CHUNK_SIZE &&
	          h->last_rec_off < h->free_off && h->first_id <= h->last_id &&
	          h->last_id - h->first_id < EVTX_CHUNK_MAX_RECORDS;
	if (h->sane && len >= EVTX_CHUNK_SIZE)
		h->data_crc_ok = crc32_compute(p + EVTX_CHUNK_HEADER_SIZE,
		                               h->free_off - EVTX_CHUNK_HEADER_SIZE) ==
		                 le_get32(p + 52);
}

bool evtx_chunk_has_crc(const evtx_chunk_header *h, uint32_t file_flags)
{
	return !(file_flags & EVTX_FILE_NO_CRC32) && !(h->flags & EVTX_FILE_NO_CRC32);
}

size_t evtx_chunk_records(const uint8_t *chunk, uint32_t end, evtx_rec_ref *out,
                          size_t max, uint32_t *stop)
{
	static const uint8_t sig[4] = { 0x2a, 0x2a, 0, 0 };
	size_t n = 0;
	uint32_t off = EVTX_CHUNK_HEADER_SIZE;
	if (end > EVTX_CHUNK_SIZE)
		end = EVTX_CHUNK_SIZE;
	while (n < max && off + EVTX_RECORD_MIN <= end) {
		const uint8_t *r = chunk + off;
		uint32_t size = le_get32(r + 4);
		if (memcmp(r, sig, 4) != 0 || size < EVTX_RECORD_MIN ||
		    size > end - off || le_get32(r + size - 4) != size)
			break;
		out[n].off = off;
		out[n].size = size;
		out[n].id = le_get64(r + 8);
		out[n].filetime = le_get64(r + 16);
		n++;
		off += size;
	}
	*stop = off;
	return n;
}
