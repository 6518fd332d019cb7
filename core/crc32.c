/* crc32.c - CRC-32 (see crc32.h): carry-less multiplication folding on
 * x86-64 CPUs with PCLMULQDQ, slicing-by-8 tables everywhere else. */
#include "crc32.h"

#include <pthread.h>

/* Built with a target attribute rather than -mpclmul, so the binary still
 * runs on any x86-64; crc_init() checks the CPU once. */
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define CRC_CLMUL 1
#include <immintrin.h>
#else
#define CRC_CLMUL 0
#endif

static uint32_t crc_tab[8][256];
static bool crc_clmul_ok;
static pthread_once_t crc_once = PTHREAD_ONCE_INIT;

static void crc_init(void)
{
	for (uint32_t i = 0; i < 256; i++) {
		uint32_t c = i;
		for (int k = 0; k < 8; k++)
			c = (c & 1) ? (c >> 1) ^ 0xEDB88320u : c >> 1;
		crc_tab[0][i] = c;
	}
	/* tab[k][i]: the CRC of byte i followed by k zero bytes, which lets
	 * crc_slice8() fold 8 input bytes per step. */
	for (uint32_t i = 0; i < 256; i++)
		for (int k = 1; k < 8; k++)
			crc_tab[k][i] = (crc_tab[k - 1][i] >> 8) ^
			                crc_tab[0][crc_tab[k - 1][i] & 0xff];
#if CRC_CLMUL
	crc_clmul_ok = __builtin_cpu_supports("pclmul") && __builtin_cpu_supports("sse4.1");
#endif
}

/* The table code on the inverted CRC register. */
static uint32_t crc_slice8(uint32_t crc, const uint8_t *b, size_t len)
{
	while (len >= 8) {
		/* Assembled byte by byte: alignment- and endian-independent, and
		 * compilers turn it into plain loads on x86. */
		uint32_t lo = crc ^ ((uint32_t)b[0] | (uint32_t)b[1] << 8 |
		                     (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24);
		uint32_t hi = (uint32_t)b[4] | (uint32_t)b[5] << 8 |
		              (uint32_t)b[6] << 16 | (uint32_t)b[7] << 24;
		crc = crc_tab[7][lo & 0xff] ^ crc_tab[6][(lo >> 8) & 0xff] ^
		      crc_tab[5][(lo >> 16) & 0xff] ^ crc_tab[4][lo >> 24] ^
		      crc_tab[3][hi & 0xff] ^ crc_tab[2][(hi >> 8) & 0xff] ^
		      crc_tab[1][(hi >> 16) & 0xff] ^ crc_tab[0][hi >> 24];
		b += 8;
		len -= 8;
	}
	while (len--)
		crc = (crc >> 8) ^ crc_tab[0][(crc ^ *b++) & 0xff];
	return crc;
}

#if CRC_CLMUL
/* Folding as in Gopal et al., "Fast CRC Computation for Generic Polynomials
 * Using PCLMULQDQ Instruction" (Intel, 2009), bit-reflected. With P the
 * polynomial 0x104C11DB7 and refl() bit reversal, the constants are
 * k(n) = refl32(x^n mod P) << 1: k1 = k(4*128+32), k2 = k(4*128-32) fold
 * four 128-bit lanes 512 bits ahead, k3 = k(128+32), k4 = k(128-32) one lane
 * 128 bits ahead, k5 = k(64) folds 64 bits to 32; the Barrett reduction uses
 * P' = refl33(P) and u = refl33(x^64 / P). A wrong constant changes every
 * CRC, which test_crc32 checks against the table code. */
#define CRC_K1 0x154442bd4ull
#define CRC_K2 0x1c6e41596ull
#define CRC_K3 0x1751997d0ull
#define CRC_K4 0x0ccaa009eull
#define CRC_K5 0x163cd6124ull
#define CRC_P  0x1db710641ull
#define CRC_U  0x1f7011641ull

/* x * k.lo ^ x_hi * k.hi: moves a 128-bit lane forward over the distance
 * the constant pair k encodes, ready to be xored into the data there. */
__attribute__((target("pclmul,sse4.1")))
static inline __m128i crc_fold16(__m128i x, __m128i k)
{
	return _mm_xor_si128(_mm_clmulepi64_si128(x, k, 0x00),
	                     _mm_clmulepi64_si128(x, k, 0x11));
}

/* The inverted CRC register after len bytes at b; len >= 64 and a
 * multiple of 16. Loads are unaligned: chunks sit anywhere in a buffer. */
__attribute__((target("pclmul,sse4.1")))
static uint32_t crc_clmul(uint32_t crc, const uint8_t *b, size_t len)
{
	const __m128i *v = (const __m128i *)(const void *)b;
	__m128i x0 = _mm_xor_si128(_mm_loadu_si128(v), _mm_cvtsi32_si128((int)crc));
	__m128i x1 = _mm_loadu_si128(v + 1);
	__m128i x2 = _mm_loadu_si128(v + 2);
	__m128i x3 = _mm_loadu_si128(v + 3);
	v += 4;
	len -= 64;

	/* Four independent lanes keep the multiplier busy despite its latency. */
	__m128i k = _mm_set_epi64x((long long)CRC_K2, (long long)CRC_K1);
	for (; len >= 64; len -= 64, v += 4) {
		x0 = _mm_xor_si128(crc_fold16(x0, k), _mm_loadu_si128(v));
		x1 = _mm_xor_si128(crc_fold16(x1, k), _mm_loadu_si128(v + 1));
		x2 = _mm_xor_si128(crc_fold16(x2, k), _mm_loadu_si128(v + 2));
		x3 = _mm_xor_si128(crc_fold16(x3, k), _mm_loadu_si128(v + 3));
	}

	/* Lanes into one, then the remaining 16-byte blocks. */
	k = _mm_set_epi64x((long long)CRC_K4, (long long)CRC_K3);
	x0 = _mm_xor_si128(crc_fold16(x0, k), x1);
	x0 = _mm_xor_si128(crc_fold16(x0, k), x2);
	x0 = _mm_xor_si128(crc_fold16(x0, k), x3);
	for (; len >= 16; len -= 16, v++)
		x0 = _mm_xor_si128(crc_fold16(x0, k), _mm_loadu_si128(v));

	/* 128 bits to 96 (low half times k4), then to 64 (low 32 times k5). */
	const __m128i mask32 = _mm_setr_epi32(-1, 0, -1, 0);
	x0 = _mm_xor_si128(_mm_clmulepi64_si128(x0, k, 0x10), _mm_srli_si128(x0, 8));
	k = _mm_set_epi64x(0, (long long)CRC_K5);
	x0 = _mm_xor_si128(_mm_clmulepi64_si128(_mm_and_si128(x0, mask32), k, 0x00),
	                   _mm_srli_si128(x0, 4));

	/* Barrett reduction of the 64 bits left to the 32-bit remainder. */
	k = _mm_set_epi64x((long long)CRC_U, (long long)CRC_P);
	__m128i t = _mm_clmulepi64_si128(_mm_and_si128(x0, mask32), k, 0x10);
	t = _mm_clmulepi64_si128(_mm_and_si128(t, mask32), k, 0x00);
	return (uint32_t)_mm_extract_epi32(_mm_xor_si128(x0, t), 1);
}
#endif

uint32_t crc32_update(uint32_t crc, const void *p, size_t len)
{
	const uint8_t *b = p;

	pthread_once(&crc_once, crc_init);
	crc = ~crc;
#if CRC_CLMUL
	/* Below 64 bytes the setup costs more than the tables. */
	if (crc_clmul_ok && len >= 64) {
		size_t n = len & ~(size_t)15;
		crc = crc_clmul(crc, b, n);
		b += n;
		len -= n;
	}
#endif
	return ~crc_slice8(crc, b, len);
}

uint32_t crc32_compute(const void *p, size_t len)
{
	return crc32_update(0, p, len);
}

uint32_t crc32_update_table(uint32_t crc, const void *p, size_t len)
{
	pthread_once(&crc_once, crc_init);
	return ~crc_slice8(~crc, p, len);
}

bool crc32_accelerated(void)
{
	pthread_once(&crc_once, crc_init);
	return crc_clmul_ok;
}
