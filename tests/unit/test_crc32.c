/* CRC-32: known values (from zlib.crc32), a bit-at-a-time reference, and
 * crc32_update() (PCLMULQDQ folding where the CPU has it) against the table
 * code for every length up to 4096 at every alignment, with random seeds
 * and continuations. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "crc32.h"
#include "testutil.h"

#define MAXLEN 4096
#define SLACK 64 /* room for offsets past the start of the buffer */

static uint8_t buf[MAXLEN + SLACK];

static void fill_random(uint8_t *p, size_t len)
{
	for (size_t i = 0; i < len; i++)
		p[i] = (uint8_t)(tu_rand() >> 56);
}

/* The definition itself, one bit at a time: shares no code or table with
 * crc32.c. */
static uint32_t crc_bitwise(uint32_t crc, const uint8_t *p, size_t len)
{
	crc = ~crc;
	for (size_t i = 0; i < len; i++) {
		crc ^= p[i];
		for (int k = 0; k < 8; k++)
			crc = (crc >> 1) ^ (0xEDB88320u & (0u - (crc & 1)));
	}
	return ~crc;
}

static void test_known_values(void **state)
{
	(void)state;
	static const char digits[] = "123456789";
	static const char fox[] = "The quick brown fox jumps over the lazy dog";
	assert_int_equal(crc32_compute(digits, 9), 0xCBF43926u);
	assert_int_equal(crc32_update_table(0, digits, 9), 0xCBF43926u);
	assert_int_equal(crc32_compute(fox, strlen(fox)), 0x414FA339u);
	assert_int_equal(crc32_compute(digits, 0), 0);
	assert_int_equal(crc32_update(0x12345678u, digits, 0), 0x12345678u);

	/* long enough for the folding path, with tails of 0 and 8 bytes */
	static uint8_t big[65536];
	for (size_t i = 0; i < 256; i++)
		big[i] = (uint8_t)i;
	assert_int_equal(crc32_compute(big, 256), 0x29058C73u);
	memset(big, 0, 4096);
	assert_int_equal(crc32_compute(big, 4096), 0xC71C0011u);
	memset(big, 0xff, 1000);
	assert_int_equal(crc32_compute(big, 1000), 0xE0533230u);
	for (size_t i = 0; i < sizeof big; i++)
		big[i] = (uint8_t)(i * 31 + 7);
	assert_int_equal(crc32_compute(big, sizeof big), 0x7BEEC92Au);
}

/* The table code against the definition, so the comparisons below rest on
 * something independent. */
static void test_table_matches_bitwise(void **state)
{
	(void)state;
	fill_random(buf, sizeof buf);
	for (size_t len = 0; len <= 300; len++) {
		size_t off = (size_t)(tu_rand() % SLACK);
		uint32_t seed = (uint32_t)tu_rand();
		assert_int_equal(crc32_update_table(seed, buf + off, len),
		                 crc_bitwise(seed, buf + off, len));
	}
	assert_int_equal(crc32_update_table(0, buf, MAXLEN), crc_bitwise(0, buf, MAXLEN));
}

static void test_every_length(void **state)
{
	(void)state;
	if (!crc32_accelerated())
		print_message("no PCLMULQDQ/SSE4.1 here: crc32_update() is the table code\n");
	fill_random(buf, sizeof buf);
	for (size_t len = 0; len <= MAXLEN; len++) {
		size_t off = (size_t)(tu_rand() % SLACK);
		uint32_t seed = len % 3 ? (uint32_t)tu_rand() : 0;
		uint32_t want = crc32_update_table(seed, buf + off, len);
		assert_int_equal(crc32_update(seed, buf + off, len), want);
		if (seed == 0)
			assert_int_equal(crc32_compute(buf + off, len), want);
	}
}

/* Every 16-byte alignment of the start for lengths around the folding
 * path's boundaries (64, a multiple of 16, one 64-byte step more). */
static void test_every_alignment(void **state)
{
	(void)state;
	static const size_t lens[] = { 63, 64, 65, 79, 80, 127, 128, 129, 191, 192,
	                               255, 256, 1000, 4095, 4096 };
	fill_random(buf, sizeof buf);
	for (size_t off = 0; off < SLACK; off++)
		for (size_t i = 0; i < sizeof lens / sizeof lens[0]; i++) {
			uint32_t seed = (uint32_t)tu_rand();
			assert_int_equal(crc32_update(seed, buf + off, lens[i]),
			                 crc32_update_table(seed, buf + off, lens[i]));
		}
}

/* crc(a) continued over b == crc(ab), wherever ab is split. */
static void test_continuation(void **state)
{
	(void)state;
	fill_random(buf, sizeof buf);
	for (int round = 0; round < 2000; round++) {
		size_t off = (size_t)(tu_rand() % SLACK);
		size_t len = (size_t)(tu_rand() % (MAXLEN + 1));
		size_t cut = len ? (size_t)(tu_rand() % (len + 1)) : 0;
		uint32_t whole = crc32_compute(buf + off, len);
		uint32_t a = crc32_compute(buf + off, cut);
		assert_int_equal(crc32_update(a, buf + off + cut, len - cut), whole);
		assert_int_equal(crc32_update_table(a, buf + off + cut, len - cut), whole);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_known_values),
		cmocka_unit_test(test_table_matches_bitwise),
		cmocka_unit_test(test_every_length),
		cmocka_unit_test(test_every_alignment),
		cmocka_unit_test(test_continuation),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
