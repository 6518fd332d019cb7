/* Access masks: both wordings, the order Event Viewer uses, full-access
 * names, unknown types and bits, and cutting to a small buffer. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "access.h"

static void check(access_type t, uint32_t mask, access_style st, const char *want)
{
	char buf[512];
	size_t n = access_format(t, mask, st, buf, sizeof buf);
	assert_string_equal(buf, want);
	assert_int_equal(n, strlen(want));
}

static void test_type_of(void **state)
{
	(void)state;
	assert_int_equal(access_type_of("File", 4), ACCESS_FILE);
	assert_int_equal(access_type_of("key", 3), ACCESS_KEY);
	assert_int_equal(access_type_of("PROCESS", 7), ACCESS_PROCESS);
	assert_int_equal(access_type_of("Thread", 6), ACCESS_THREAD);
	assert_int_equal(access_type_of("Token", 5), ACCESS_TOKEN);
	assert_int_equal(access_type_of("Event", 5), ACCESS_EVENT);
	assert_int_equal(access_type_of("Section", 7), ACCESS_SECTION);
	assert_int_equal(access_type_of("Processes", 9), ACCESS_OTHER);
	assert_int_equal(access_type_of("Proc", 4), ACCESS_OTHER);
	assert_int_equal(access_type_of("", 0), ACCESS_OTHER);
	assert_int_equal(access_type_of(NULL, 0), ACCESS_OTHER);
}

/* The samples' AccessList codes: File 0x100001 is %%1541 %%4416, Key
 * 0x3001f is %%1537 %%1538 %%4432..%%4436, Process 0x1010 is %%4484 %%4492. */
static void test_windows_wording_matches_access_lists(void **state)
{
	(void)state;
	check(ACCESS_FILE, 0x100001, ACCESS_WINDOWS, "SYNCHRONIZE, ReadData (or ListDirectory)");
	check(ACCESS_KEY, 0x3001f, ACCESS_WINDOWS,
	      "DELETE, READ_CONTROL, Query key value, Set key value, Create sub-key, "
	      "Enumerate sub-keys, Notify about changes to keys");
	check(ACCESS_PROCESS, 0x1010, ACCESS_WINDOWS,
	      "Read from process memory, Undefined Access (no effect) Bit 12");
	check(ACCESS_PROCESS, 0x1410, ACCESS_WINDOWS,
	      "Read from process memory, Query process information, "
	      "Undefined Access (no effect) Bit 12");
	check(ACCESS_OTHER, 0x2, ACCESS_WINDOWS, "Unknown specific access (bit 1)");
	check(ACCESS_THREAD, 0x1, ACCESS_WINDOWS, "Force thread termination");
	check(ACCESS_TOKEN, 0x8, ACCESS_WINDOWS, "Query");
	check(ACCESS_EVENT, 0x100002, ACCESS_WINDOWS, "SYNCHRONIZE, Modify event state");
	check(ACCESS_SECTION, 0x4, ACCESS_WINDOWS, "Map section for read");
}

static void test_sdk_names(void **state)
{
	(void)state;
	check(ACCESS_PROCESS, 0x1410, ACCESS_SDK,
	      "PROCESS_VM_READ | PROCESS_QUERY_INFORMATION | PROCESS_QUERY_LIMITED_INFORMATION");
	check(ACCESS_FILE, 0x120089, ACCESS_SDK,
	      "READ_CONTROL | SYNCHRONIZE | FILE_READ_DATA | FILE_READ_EA | FILE_READ_ATTRIBUTES");
	check(ACCESS_KEY, 0x100, ACCESS_SDK, "KEY_WOW64_64KEY");
	check(ACCESS_THREAD, 0x1800, ACCESS_SDK, "THREAD_QUERY_LIMITED_INFORMATION | THREAD_RESUME");
	check(ACCESS_TOKEN, 0x28, ACCESS_SDK, "TOKEN_QUERY | TOKEN_ADJUST_PRIVILEGES");
	/* Unnamed specific bits gather into one hex remainder. */
	check(ACCESS_OTHER, 0x10003, ACCESS_SDK, "DELETE | 0x3");
	check(ACCESS_EVENT, 0xc, ACCESS_SDK, "0xc");
}

static void test_full_access_generic_and_none(void **state)
{
	(void)state;
	check(ACCESS_PROCESS, 0x1fffff, ACCESS_WINDOWS, "PROCESS_ALL_ACCESS");
	check(ACCESS_PROCESS, 0x1fffff, ACCESS_SDK, "PROCESS_ALL_ACCESS");
	check(ACCESS_THREAD, 0x1fffff, ACCESS_SDK, "THREAD_ALL_ACCESS");
	check(ACCESS_FILE, 0x1f01ff, ACCESS_WINDOWS, "FILE_ALL_ACCESS");
	check(ACCESS_KEY, 0xf003f, ACCESS_SDK, "KEY_ALL_ACCESS");
	check(ACCESS_TOKEN, 0xf01ff, ACCESS_SDK, "TOKEN_ALL_ACCESS");
	check(ACCESS_EVENT, 0x1f0003, ACCESS_SDK, "EVENT_ALL_ACCESS");
	check(ACCESS_SECTION, 0xf001f, ACCESS_SDK, "SECTION_ALL_ACCESS");
	/* The type's full mask only names its own type. */
	check(ACCESS_OTHER, 0x1fffff, ACCESS_SDK,
	      "DELETE | READ_CONTROL | WRITE_DAC | WRITE_OWNER | SYNCHRONIZE | 0xffff");
	check(ACCESS_FILE, 0x80000000u, ACCESS_WINDOWS, "GENERIC_READ");
	check(ACCESS_FILE, 0xf0000000u, ACCESS_SDK,
	      "GENERIC_ALL | GENERIC_EXECUTE | GENERIC_WRITE | GENERIC_READ");
	check(ACCESS_FILE, 0x03000000u, ACCESS_WINDOWS, "ACCESS_SYS_SEC, MAX_ALLOWED");
	check(ACCESS_FILE, 0x03000000u, ACCESS_SDK, "ACCESS_SYSTEM_SECURITY | MAXIMUM_ALLOWED");
	/* Bits Windows does not define, in both wordings. */
	check(ACCESS_FILE, 0x0c200000u, ACCESS_WINDOWS, "0xc200000");
	check(ACCESS_PROCESS, 0, ACCESS_WINDOWS, "none");
}

static void test_bit_names(void **state)
{
	(void)state;
	assert_string_equal(access_bit_name(ACCESS_PROCESS, 4, ACCESS_WINDOWS), "Read from process memory");
	assert_string_equal(access_bit_name(ACCESS_PROCESS, 4, ACCESS_SDK), "PROCESS_VM_READ");
	assert_string_equal(access_bit_name(ACCESS_KEY, 7, ACCESS_WINDOWS), "Undefined Access (no effect) Bit 7");
	assert_null(access_bit_name(ACCESS_KEY, 7, ACCESS_SDK));
	assert_string_equal(access_bit_name(ACCESS_OTHER, 15, ACCESS_WINDOWS), "Unknown specific access (bit 15)");
	assert_null(access_bit_name(ACCESS_FILE, 21, ACCESS_WINDOWS));
	assert_null(access_bit_name(ACCESS_FILE, 32, ACCESS_WINDOWS));
	assert_null(access_bit_name((access_type)99, 0, ACCESS_SDK));
	assert_string_equal(access_bit_name(ACCESS_SECTION, 16, ACCESS_SDK), "DELETE");
}

static void test_cut_to_buffer(void **state)
{
	(void)state;
	const char *full = "SYNCHRONIZE, ReadData (or ListDirectory)";
	char buf[20];
	size_t n = access_format(ACCESS_FILE, 0x100001, ACCESS_WINDOWS, buf, sizeof buf);
	assert_int_equal(n, strlen(full));
	assert_string_equal(buf, "SYNCHRONIZE...");
	/* Exactly enough room: no cut. */
	char exact[12];
	assert_int_equal(access_format(ACCESS_FILE, 0x100000, ACCESS_SDK, exact, sizeof exact), 11);
	assert_string_equal(exact, "SYNCHRONIZE");
	/* Too small for any name. */
	char tiny[5];
	access_format(ACCESS_FILE, 0x100001, ACCESS_WINDOWS, tiny, sizeof tiny);
	assert_string_equal(tiny, "...");
	char one[1] = { 'x' };
	access_format(ACCESS_FILE, 0x100001, ACCESS_WINDOWS, one, sizeof one);
	assert_int_equal(one[0], '\0');
	/* Length only. */
	assert_int_equal(access_format(ACCESS_FILE, 0x100001, ACCESS_WINDOWS, NULL, 0), strlen(full));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_type_of),
		cmocka_unit_test(test_windows_wording_matches_access_lists),
		cmocka_unit_test(test_sdk_names),
		cmocka_unit_test(test_full_access_generic_and_none),
		cmocka_unit_test(test_bit_names),
		cmocka_unit_test(test_cut_to_buffer),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
