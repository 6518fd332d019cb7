/* crc32.h - the CRC-32 EVTX uses (IEEE 802.3, reflected polynomial
 * 0xEDB88320, the same value as zlib's crc32()).
 *
 * Slicing-by-8 over a table built once on first use (thread-safe), so
 * checking every chunk of a 1 GB log costs well under a second. */
#ifndef DW_CRC32_H
#define DW_CRC32_H

#include <stddef.h>
#include <stdint.h>

/* CRC-32 of len bytes at p. */
uint32_t crc32_compute(const void *p, size_t len);

/* Continues a CRC over more bytes: crc32_update(crc32_compute(a, n), b, m)
 * equals the CRC of a followed by b (zlib's crc32(crc, buf, len) contract;
 * crc32_update(0, p, len) == crc32_compute(p, len)). */
uint32_t crc32_update(uint32_t crc, const void *p, size_t len);

#endif
