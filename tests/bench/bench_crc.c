/* CRC-32 speed: the table code against crc32_update() (PCLMULQDQ folding
 * where the CPU has it) on a 64 KiB buffer, the size of an EVTX chunk, and
 * on the 504 bytes of a chunk header's CRC. GB/s per second of the thread's
 * CPU time (the machine is shared), median of 7 runs. Writes the numbers
 * into docs/performance.md. */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "bstat.h"
#include "crc32.h"
#include "perfdoc.h"

#define BUF 65536u
#define HDR 504u      /* a chunk header's CRC covers 120 + 384 bytes */
#define VOLUME (1u << 30) /* bytes hashed per run */
#define RUNS 7

typedef uint32_t crc_fn(uint32_t crc, const void *p, size_t len);

static uint8_t buf[BUF];

static double cpu_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Median GB/s of fn over VOLUME bytes in pieces of len; *crc gets a result
 * so the calls are not optimised away and the paths can be compared. */
static double measure(crc_fn *fn, size_t len, uint32_t *crc)
{
	double gbs[RUNS];
	size_t reps = VOLUME / len;
	for (int r = 0; r < RUNS; r++) {
		uint32_t c = 0;
		double t0 = cpu_s();
		for (size_t i = 0; i < reps; i++)
			c = fn(c, buf, len);
		gbs[r] = (double)reps * (double)len / (cpu_s() - t0) / 1e9;
		*crc = c;
	}
	qsort(gbs, RUNS, sizeof gbs[0], bstat_cmp_double);
	return gbs[RUNS / 2];
}

int main(void)
{
	uint64_t x = 0x9E3779B97F4A7C15ull;
	for (size_t i = 0; i < BUF; i++) {
		x ^= x << 13, x ^= x >> 7, x ^= x << 17;
		buf[i] = (uint8_t)(x >> 56);
	}
	const char *fast = crc32_accelerated() ? "crc32_update(), PCLMULQDQ folding"
	                                       : "crc32_update() (no PCLMULQDQ here: the tables)";
	uint32_t c_tab, c_fast, h_tab, h_fast;
	double tab = measure(crc32_update_table, BUF, &c_tab);
	double fst = measure(crc32_update, BUF, &c_fast);
	double htab = measure(crc32_update_table, HDR, &h_tab);
	double hfst = measure(crc32_update, HDR, &h_fast);
	if (c_tab != c_fast || h_tab != h_fast) {
		fprintf(stderr, "bench_crc: the two paths disagree\n");
		return 1;
	}

	char machine[384], body[2048];
	snprintf(body, sizeof body,
	         "### CRC-32 (bench_crc)\n\n"
	         "%s; load average %.1f. GB/s of the thread's CPU time, median of %d runs "
	         "of 1 GiB each, random data.\n\n"
	         "| implementation | 64 KiB buffers | 504 bytes (a chunk header) |\n|---|---|---|\n"
	         "| crc32_update_table(), slicing-by-8 | %.2f GB/s | %.2f GB/s |\n"
	         "| %s | %.2f GB/s | %.2f GB/s |\n\n"
	         "Speed-up: %.1f× on 64 KiB, %.1f× on 504 bytes.\n",
	         perfdoc_machine(machine, sizeof machine), bstat_load_avg(), RUNS, tab, htab,
	         fast, fst, hfst, fst / tab, hfst / htab);
	fputs(body, stdout);
	if (perfdoc_write(DW_PERFDOC_PATH, "bench_crc", body) != 0)
		perror(DW_PERFDOC_PATH);
	return 0;
}
