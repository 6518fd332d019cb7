/* crc32.h - the CRC-32 EVTX uses (IEEE 802.3, reflected polynomial
 * 0xEDB88320, the same value as zlib's crc32()).
 *
 * On x86-64 CPUs with PCLMULQDQ and SSE4.1 (checked once, at run time) it
 * folds 64 bytes per step with carry-less multiplication; elsewhere, and for
 * inputs under 64 bytes, it runs slicing-by-8 over tables built once on first
 * use. All functions are thread-safe. */
#ifndef DW_CRC32_H
#define DW_CRC32_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* CRC-32 of len bytes at p. */
uint32_t crc32_compute(const void *p, size_t len);

/* Continues a CRC over more bytes: crc32_update(crc32_compute(a, n), b, m)
 * equals the CRC of a followed by b (zlib's crc32(crc, buf, len) contract;
 * crc32_update(0, p, len) == crc32_compute(p, len)). */
uint32_t crc32_update(uint32_t crc, const void *p, size_t len);

/* For tests and benchmarks: crc32_update() on the table code alone, which
 * crc32_update() must always equal, and whether crc32_update() folds with
 * PCLMULQDQ on this CPU. */
uint32_t crc32_update_table(uint32_t crc, const void *p, size_t len);
bool crc32_accelerated(void);

#endif
