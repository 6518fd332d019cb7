/* The one sanitiser: every class of dangerous character, in every mode,
 * with exact output, and the snprintf-like truncation contract. */
#define _XOPEN_SOURCE 700 /* wcwidth for the width tests' locale check */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <locale.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <wchar.h>

#include <cmocka.h>

#include "sanitize.h"

/* Sanitises s (with explicit length, NULs allowed) into a static buffer. */
static const char *san_n(const char *s, size_t len, san_mode mode)
{
	static char buf[1024];
	size_t need = san_text(buf, sizeof buf, s, len, mode);
	assert_true(need < sizeof buf);
	assert_int_equal(strlen(buf), need);
	return buf;
}

static const char *san(const char *s, san_mode mode)
{
	return san_n(s, strlen(s), mode);
}

static void test_plain_text_unchanged(void **state)
{
	(void)state;
	const char *t = "C:\\Windows\\System32\\spoolsv.exe caf\xc3\xa9 \xe4\xb8\xad \xf0\x9f\x98\x80";
	assert_string_equal(san(t, SAN_SCREEN), t);
	assert_true(san_is_clean(t, strlen(t), SAN_SCREEN));
	assert_false(san_is_clean(t, strlen(t), SAN_JSON)); /* the backslashes */
	assert_string_equal(san("", SAN_JSON), "");
}

static void test_c0_and_del(void **state)
{
	(void)state;
	assert_string_equal(san("a\x1b]0;title\x07z", SAN_SCREEN), "a\\x1b]0;title\\x07z");
	assert_string_equal(san("a\x1b]0;title\x07z", SAN_JSON), "a\\u001b]0;title\\u0007z");
	assert_string_equal(san("\x1b[2J", SAN_SCREEN), "\\x1b[2J");
	assert_string_equal(san("t\tn\nr\r", SAN_SCREEN), "t\\tn\\nr\\r");
	assert_string_equal(san("t\tn\nr\r", SAN_JSON), "t\\u0009n\\u000ar\\u000d");
	assert_string_equal(san("x\x7fy", SAN_SCREEN), "x\\x7fy");
	assert_string_equal(san("x\x7fy", SAN_JSON), "x\\u007fy");
	assert_string_equal(san_n("a\0b", 3, SAN_SCREEN), "a\\x00b");
	assert_string_equal(san_n("a\0b", 3, SAN_JSON), "a\\u0000b");
	assert_false(san_is_clean("\x01", 1, SAN_SCREEN));
}

static void test_c1_encoded_and_raw(void **state)
{
	(void)state;
	/* U+009B (CSI) encoded in UTF-8, and the raw byte 0x9B (invalid). */
	assert_string_equal(san("a\xc2\x9b" "31mb", SAN_SCREEN), "a<U+009B>31mb");
	assert_string_equal(san("a\xc2\x9b" "31mb", SAN_JSON), "a\\u009b31mb");
	assert_string_equal(san("a\x9b" "31mb", SAN_SCREEN), "a\\x9b31mb");
	assert_string_equal(san("a\x9b" "31mb", SAN_JSON), "a\\u009b31mb");
	assert_string_equal(san("\xc2\x80\xc2\x9f\xc2\xa0", SAN_SCREEN), "<U+0080><U+009F>\xc2\xa0");
}

static void test_bidi_controls(void **state)
{
	(void)state;
	assert_string_equal(san("evil\xe2\x80\xaegpj.exe", SAN_SCREEN), "evil<U+202E>gpj.exe");
	assert_string_equal(san("evil\xe2\x80\xaegpj.exe", SAN_JSON), "evil\\u202egpj.exe");
	/* U+202A..U+202E, U+2066..U+2069, U+200E, U+200F, U+061C, U+2028/9 */
	assert_string_equal(san("\xe2\x80\xaa\xe2\x80\xab\xe2\x80\xac\xe2\x80\xad", SAN_SCREEN),
	                    "<U+202A><U+202B><U+202C><U+202D>");
	assert_string_equal(san("\xe2\x81\xa6\xe2\x81\xa7\xe2\x81\xa8\xe2\x81\xa9", SAN_SCREEN),
	                    "<U+2066><U+2067><U+2068><U+2069>");
	assert_string_equal(san("\xe2\x80\x8e\xe2\x80\x8f\xd8\x9c", SAN_SCREEN),
	                    "<U+200E><U+200F><U+061C>");
	assert_string_equal(san("\xe2\x80\xa8\xe2\x80\xa9", SAN_JSON), "\\u2028\\u2029");
	/* Neighbours are ordinary characters. */
	assert_string_equal(san("\xe2\x80\x8d\xe2\x81\xa5\xe2\x80\xaf", SAN_SCREEN),
	                    "\xe2\x80\x8d\xe2\x81\xa5\xe2\x80\xaf");
}

static void test_invalid_utf8(void **state)
{
	(void)state;
	/* overlong '/', a surrogate, beyond U+10FFFF, a cut-off sequence, 0xFF */
	assert_string_equal(san("\xc0\xaf", SAN_SCREEN), "\\xc0\\xaf");
	assert_string_equal(san("\xed\xa0\x80", SAN_SCREEN), "\\xed\\xa0\\x80");
	assert_string_equal(san("\xf4\x90\x80\x80", SAN_SCREEN), "\\xf4\\x90\\x80\\x80");
	assert_string_equal(san("ab\xe2\x80", SAN_SCREEN), "ab\\xe2\\x80");
	assert_string_equal(san("\xe2\x80x", SAN_JSON), "\\u00e2\\u0080x");
	assert_string_equal(san("\xff", SAN_JSON), "\\u00ff");
	/* The good character after a bad byte survives. */
	assert_string_equal(san("\xe2\xc3\xa9", SAN_SCREEN), "\\xe2\xc3\xa9");
}

static void test_json_quotes_and_backslash(void **state)
{
	(void)state;
	assert_string_equal(san("say \"hi\" C:\\x", SAN_JSON), "say \\\"hi\\\" C:\\\\x");
	assert_string_equal(san("say \"hi\" C:\\x", SAN_SCREEN), "say \"hi\" C:\\x");
}

static void test_ascii_mode(void **state)
{
	(void)state;
	assert_string_equal(san("caf\xc3\xa9 \xf0\x9f\x98\x80!", SAN_ASCII), "caf<U+00E9> <U+1F600>!");
	assert_string_equal(san("a\x1b" "b", SAN_ASCII), "a\\x1bb");
}

/* Plain text is scanned 8 bytes at a time: every byte value, in every
 * position of a word, among neighbours at the edges of the plain range,
 * comes out as it does alone. */
static void test_every_byte_in_every_lane(void **state)
{
	(void)state;
	static const san_mode modes[] = { SAN_SCREEN, SAN_ASCII, SAN_JSON };
	static const char fills[] = { 'a', ' ', '~' };
	for (size_t m = 0; m < 3; m++)
		for (unsigned b = 0; b < 256; b++) {
			char alone[16], want[64], in[24];
			unsigned char c = (unsigned char)b;
			san_text(alone, sizeof alone, (const char *)&c, 1, modes[m]);
			for (size_t f = 0; f < sizeof fills; f++)
				for (size_t pos = 0; pos < sizeof in; pos++) {
					memset(in, fills[f], sizeof in);
					in[pos] = (char)c;
					snprintf(want, sizeof want, "%.*s%s%.*s", (int)pos, in, alone,
					         (int)(sizeof in - 1 - pos), in + pos + 1);
					assert_string_equal(san_n(in, sizeof in, modes[m]), want);
				}
		}
}

static void test_truncation(void **state)
{
	(void)state;
	char buf[8];
	/* snprintf-like: full length returned, output NUL-terminated. */
	assert_int_equal(san_text(buf, sizeof buf, "abcdefghij", 10, SAN_SCREEN), 10);
	assert_string_equal(buf, "abcdefg");
	/* An escape that does not fit whole is left out. */
	assert_int_equal(san_text(buf, sizeof buf, "abcde\x1b", 6, SAN_SCREEN), 9);
	assert_string_equal(buf, "abcde");
	/* So is a UTF-8 character, on the clean path too. */
	assert_int_equal(san_text(buf, sizeof buf, "abcdef\xc3\xa9", 8, SAN_SCREEN), 8);
	assert_string_equal(buf, "abcdef");
	assert_int_equal(san_text(buf, 5, "\xe4\xb8\xad\xe4\xb8\xad", 6, SAN_SCREEN), 6);
	assert_string_equal(buf, "\xe4\xb8\xad");
	/* A clean run after an escape is cut at a character, not dropped. */
	assert_int_equal(san_text(buf, sizeof buf, "\x1b" "ab\xc3\xa9", 5, SAN_SCREEN), 8);
	assert_string_equal(buf, "\\x1bab");
	assert_int_equal(san_text(buf, sizeof buf, "\x1b" "abcdef", 7, SAN_SCREEN), 10);
	assert_string_equal(buf, "\\x1babc");
	/* cap 0: nothing written, length still reported. */
	assert_int_equal(san_text(NULL, 0, "\x1b", 1, SAN_JSON), 6);
	buf[0] = 'X';
	assert_int_equal(san_text(buf, 1, "abc", 3, SAN_SCREEN), 3);
	assert_string_equal(buf, "");
}

static void test_fputs(void **state)
{
	(void)state;
	char *mem = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&mem, &len);
	assert_non_null(f);
	assert_int_equal(san_fputs(f, "a\x1b" "b\xe2\x80\xae", 6, SAN_JSON), 0);
	assert_int_equal(san_fputs(f, "|ok", 3, SAN_SCREEN), 0);
	fclose(f);
	assert_string_equal(mem, "a\\u001bb\\u202e|ok");
	free(mem);

	FILE *full = fopen("/dev/full", "w");
	if (!full)
		skip();
	setvbuf(full, NULL, _IONBF, 0);
	assert_int_equal(san_fputs(full, "abc", 3, SAN_SCREEN), EOF);
	fclose(full);
}

static void test_width_and_fit(void **state)
{
	(void)state;
	if (!setlocale(LC_CTYPE, "C.UTF-8") || wcwidth(0x4E2D) != 2)
		skip(); /* no UTF-8 locale to ask wcwidth() */
	assert_int_equal(san_width("abc", 3), 3);
	assert_int_equal(san_width("\xe4\xb8\xad\xe6\x96\x87", 6), 4);      /* two CJK: wide */
	assert_int_equal(san_width("e\xcc\x81", 3), 1);                     /* e + combining acute */
	size_t w;
	/* A wide character that does not fit whole stays out. */
	assert_int_equal(san_fit("a\xe4\xb8\xad" "b", 5, 2, &w), 1);
	assert_int_equal(w, 1);
	assert_int_equal(san_fit("a\xe4\xb8\xad" "b", 5, 3, &w), 4);
	assert_int_equal(w, 3);
	assert_int_equal(san_fit("abc", 3, 10, &w), 3);
	assert_int_equal(w, 3);
	assert_int_equal(san_fit("abc", 3, 0, NULL), 0);
}

/* Whatever the input, the result is valid UTF-8 without controls: run
 * every two-byte combination through each mode and check the output. */
static void test_exhaustive_pairs_are_safe(void **state)
{
	(void)state;
	char in[2], out[64];
	for (unsigned a = 0; a < 256; a++) {
		for (unsigned b = 0; b < 256; b++) {
			in[0] = (char)a;
			in[1] = (char)b;
			for (int m = SAN_SCREEN; m <= SAN_JSON; m++) {
				size_t n = san_text(out, sizeof out, in, 2, (san_mode)m);
				assert_true(n < sizeof out);
				assert_true(san_is_clean(out, n, SAN_SCREEN));
				for (size_t i = 0; i < n; i++)
					assert_true((unsigned char)out[i] >= 0x20);
			}
		}
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_plain_text_unchanged),
		cmocka_unit_test(test_c0_and_del),
		cmocka_unit_test(test_c1_encoded_and_raw),
		cmocka_unit_test(test_bidi_controls),
		cmocka_unit_test(test_invalid_utf8),
		cmocka_unit_test(test_json_quotes_and_backslash),
		cmocka_unit_test(test_ascii_mode),
		cmocka_unit_test(test_every_byte_in_every_lane),
		cmocka_unit_test(test_truncation),
		cmocka_unit_test(test_fputs),
		cmocka_unit_test(test_width_and_fit),
		cmocka_unit_test(test_exhaustive_pairs_are_safe),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
