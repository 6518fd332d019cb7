/* Event model: encoding round trip, numbers, typed views, times, interning. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "event.h"
#include "intern.h"
#include "testutil.h"

static void build_4690(event *ev)
{
	event_builder b;
	evb_init(&b);
	b.ev.event_id = 4690;
	b.ev.record_id = 2183522;
	tu_add_4690(&b, "admmig", "OFFSEC");
	assert_int_equal(evb_finish(&b, ev), DW_OK);
	evb_free(&b);
}

static void assert_str(dw_str s, const char *want)
{
	assert_non_null(s.s);
	assert_int_equal(s.len, strlen(want));
	assert_memory_equal(s.s, want, s.len);
}

static void test_field_names_are_fixed_ids(void **state)
{
	(void)state;
	assert_int_equal(intern_put("SubjectUserSid", 14), F_SubjectUserSid);
	assert_int_equal(intern_find("TargetProcessId", 15), F_TargetProcessId);
	assert_int_equal(field_kind_of(F_SourceHandleId), FIELD_NUM);
	assert_int_equal(field_kind_of(F_SubjectUserName), FIELD_ATOM);
	assert_int_equal(field_kind_of(F_COUNT + 5), FIELD_STR);
}

static void test_4690_round_trip(void **state)
{
	(void)state;
	event ev;
	build_4690(&ev);
	ev_4690 d;
	event_4690(&ev, &d);
	assert_str(d.subject.sid, "S-1-5-21-1-2-3-1104");
	assert_str(d.subject.user, "admmig");
	assert_str(d.subject.domain, "OFFSEC");
	assert_int_equal(d.subject.logon_id.st, NUM_OK);
	assert_int_equal(d.subject.logon_id.v, 0x65b0f5db);
	assert_int_equal(d.src_handle.v, 0xaf8);
	assert_int_equal(d.src_pid.v, 0x678);
	assert_int_equal(d.tgt_handle.v, 0x1748);
	assert_int_equal(d.tgt_pid.v, 4);

	/* Every value reads back as the exact text written, in order. */
	static const char *const want[][2] = {
		{ "SubjectUserSid", "S-1-5-21-1-2-3-1104" }, { "SubjectUserName", "admmig" },
		{ "SubjectDomainName", "OFFSEC" }, { "SubjectLogonId", "0x65b0f5db" },
		{ "SourceHandleId", "0x0000000000000af8" }, { "SourceProcessId", "0x678" },
		{ "TargetHandleId", "0x1748" }, { "TargetProcessId", "0x4" },
	};
	event_iter it;
	event_field f;
	size_t n = 0;
	event_iter_init(&it, &ev);
	while (event_iter_next(&it, &f)) {
		assert_true(n < 8);
		assert_int_equal(f.name.len, strlen(want[n][0]));
		assert_memory_equal(f.name.s, want[n][0], f.name.len);
		assert_int_equal(f.value.len, strlen(want[n][1]));
		assert_memory_equal(f.value.s, want[n][1], f.value.len);
		n++;
	}
	assert_int_equal(n, 8);
	/* Budget from issue 2: a 4690 costs at most 128 bytes in the ring. */
	assert_true(event_cost(&ev) <= 128);
	event_free(&ev);
}

static void test_numbers(void **state)
{
	(void)state;
	dw_num n = num_parse("0x1ac", 5);
	assert_int_equal(n.st, NUM_OK);
	assert_int_equal(n.v, 0x1ac);
	n = num_parse("0x00000000000001AC", 18);
	assert_int_equal(n.st, NUM_OK);
	assert_int_equal(n.v, 0x1ac);
	n = num_parse(" 428 ", 5);
	assert_int_equal(n.st, NUM_OK);
	assert_int_equal(n.v, 428);
	assert_int_equal(num_parse("-", 1).st, NUM_DASH);
	assert_int_equal(num_parse("", 0).st, NUM_DASH);
	assert_int_equal(num_parse("0x", 2).st, NUM_BAD);
	assert_int_equal(num_parse("12z", 3).st, NUM_BAD);
	assert_int_equal(num_parse("0x1g", 4).st, NUM_BAD);
	assert_int_equal(num_parse("0x10000000000000000", 19).st, NUM_RANGE);
	assert_int_equal(num_parse("18446744073709551616", 20).st, NUM_RANGE);
	n = num_parse("18446744073709551615", 20);
	assert_int_equal(n.st, NUM_OK);
	assert_true(n.v == UINT64_MAX);
}

static void test_missing_dash_and_bad_values(void **state)
{
	(void)state;
	event_builder b;
	event ev;
	evb_init(&b);
	tu_add(&b, "SourceProcessId", "-");
	tu_add(&b, "TargetProcessId", "0xZZ");
	tu_add(&b, "SourceHandleId", "0X1AC"); /* not canonical: kept as text */
	assert_int_equal(evb_finish(&b, &ev), DW_OK);
	ev_4690 d;
	event_4690(&ev, &d);
	assert_int_equal(d.src_pid.st, NUM_DASH);
	assert_int_equal(d.tgt_pid.st, NUM_BAD);
	assert_int_equal(d.tgt_handle.st, NUM_MISSING);
	assert_int_equal(d.src_handle.st, NUM_OK);
	assert_int_equal(d.src_handle.v, 0x1ac);
	event_field f;
	assert_true(event_get(&ev, F_SourceHandleId, &f));
	assert_int_equal(f.value.len, 5);
	assert_memory_equal(f.value.s, "0X1AC", 5);
	assert_null(d.subject.user.s);
	evb_free(&b);
	event_free(&ev);
}

static void test_unknown_names_and_truncation(void **state)
{
	(void)state;
	event_builder b;
	event ev;
	size_t big = EVENT_FIELD_MAX + 100;
	char *v = malloc(big);
	assert_non_null(v);
	memset(v, 'a', big);
	/* A 3-byte UTF-8 character straddling the cut must not be split. */
	memcpy(v + EVENT_FIELD_MAX - 1, "\xe2\x80\xae", 3);
	char longname[100];
	memset(longname, 'n', sizeof longname);
	evb_init(&b);
	assert_int_equal(evb_add(&b, longname, sizeof longname, "x", 1), DW_OK);
	assert_int_equal(evb_add(&b, "Blob", 4, v, big), DW_OK);
	assert_int_equal(evb_finish(&b, &ev), DW_OK);
	assert_true(ev.flags & EVENT_TRUNCATED);
	event_field f;
	assert_true(event_get_named(&ev, longname, sizeof longname, &f));
	assert_int_equal(f.name_id, 0);
	assert_memory_equal(f.value.s, "x", 1);
	assert_true(event_get_named(&ev, "Blob", 4, &f));
	assert_int_equal(f.value.len, EVENT_FIELD_MAX - 1);
	event_free(&ev);
	evb_free(&b);
	free(v);
}

static void test_process_views(void **state)
{
	(void)state;
	event_builder b;
	event ev;
	ev_process p;
	evb_init(&b);
	b.ev.event_id = 4688;
	tu_add(&b, "NewProcessId", "0x1dac");
	tu_add(&b, "NewProcessName", "C:\\Windows\\System32\\drvinst.exe");
	tu_add(&b, "ProcessId", "0x3a0");
	tu_add(&b, "MandatoryLabel", "S-1-16-16384");
	assert_int_equal(evb_finish(&b, &ev), DW_OK);
	event_process(&ev, &p);
	assert_int_equal(p.pid.v, 0x1dac);
	assert_int_equal(p.parent_pid.v, 0x3a0); /* in a 4688, ProcessId is the parent */
	assert_str(p.image, "C:\\Windows\\System32\\drvinst.exe");
	assert_str(p.mandatory_label, "S-1-16-16384");
	assert_int_equal(p.exit_status.st, NUM_MISSING);
	assert_null(p.command_line.s);
	event_free(&ev);

	b.ev.event_id = 4689;
	tu_add(&b, "ProcessId", "0x1dac");
	tu_add(&b, "ProcessName", "C:\\Windows\\System32\\drvinst.exe");
	tu_add(&b, "Status", "0x0");
	assert_int_equal(evb_finish(&b, &ev), DW_OK);
	event_process(&ev, &p);
	assert_int_equal(p.pid.v, 0x1dac);
	assert_int_equal(p.parent_pid.st, NUM_MISSING);
	assert_int_equal(p.exit_status.st, NUM_OK);
	assert_int_equal(p.exit_status.v, 0);
	assert_str(p.image, "C:\\Windows\\System32\\drvinst.exe");
	event_free(&ev);
	evb_free(&b);
}

static void test_copy(void **state)
{
	(void)state;
	event a, c;
	build_4690(&a);
	assert_int_equal(event_copy(&c, &a), DW_OK);
	assert_ptr_not_equal(a.data, c.data);
	assert_int_equal(a.data_len, c.data_len);
	assert_memory_equal(a.data, c.data, a.data_len);
	event_free(&a);
	assert_int_equal(event_num(&c, F_TargetProcessId).v, 4);
	event_free(&c);
	assert_null(c.data);
}

static void test_time(void **state)
{
	(void)state;
	uint64_t ft;
	char buf[40];
	const char *s = "2021-10-08T12:57:12.8425776Z";
	assert_true(event_time_parse(s, strlen(s), &ft));
	assert_int_equal(ft, 132781714328425776ull);
	assert_string_equal(event_time_utc(ft, buf, sizeof buf), s);
	/* Nine digits (Get-WinEvent) are cut to FILETIME's seven; none is fine. */
	s = "2021-10-08T12:57:12.842577699Z";
	assert_true(event_time_parse(s, strlen(s), &ft));
	assert_string_equal(event_time_utc(ft, buf, sizeof buf), "2021-10-08T12:57:12.8425776Z");
	s = "2000-02-29T00:00:00";
	assert_true(event_time_parse(s, strlen(s), &ft));
	assert_string_equal(event_time_utc(ft, buf, sizeof buf), "2000-02-29T00:00:00.0000000Z");
	assert_string_equal(event_time_utc(0, buf, sizeof buf), "1601-01-01T00:00:00.0000000Z");
	const char *bad[] = { "", "2021-10-08", "2021-13-08T00:00:00Z", "2021-10-08T12:57:12.Z",
	                      "2021-10-08T12:57:12.1234567890Z", "2021-10-08T12:57:12Zjunk" };
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		assert_false(event_time_parse(bad[i], strlen(bad[i]), &ft));
}

static void test_intern(void **state)
{
	(void)state;
	uint32_t a = intern_put("spoolsv.exe", 11);
	assert_int_not_equal(a, 0);
	assert_int_equal(intern_put("spoolsv.exe", 11), a);
	assert_int_equal(intern_find("spoolsv.exe", 11), a);
	assert_int_equal(intern_find("nope-never-added", 16), 0);
	size_t len;
	assert_string_equal(intern_str(a, &len), "spoolsv.exe");
	assert_int_equal(len, 11);
	assert_string_equal(intern_str(0, &len), "");
	char big[INTERN_MAX_LEN + 1];
	memset(big, 'q', sizeof big);
	assert_int_equal(intern_put(big, sizeof big), 0);
	/* Growth keeps every earlier id valid. */
	char name[32];
	uint32_t ids[20000];
	for (unsigned i = 0; i < 20000; i++) {
		int n = snprintf(name, sizeof name, "proc-%u.exe", i);
		ids[i] = intern_put(name, (size_t)n);
	}
	for (unsigned i = 0; i < 20000; i++) {
		int n = snprintf(name, sizeof name, "proc-%u.exe", i);
		assert_int_equal(intern_find(name, (size_t)n), ids[i]);
		assert_string_equal(intern_str(ids[i], NULL), name);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_field_names_are_fixed_ids),
		cmocka_unit_test(test_4690_round_trip),
		cmocka_unit_test(test_numbers),
		cmocka_unit_test(test_missing_dash_and_bad_values),
		cmocka_unit_test(test_unknown_names_and_truncation),
		cmocka_unit_test(test_process_views),
		cmocka_unit_test(test_copy),
		cmocka_unit_test(test_time),
		cmocka_unit_test(test_intern),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
