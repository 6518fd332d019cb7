/* Export: exact JSON Lines, JSON, CSV and TSV for events built field by
 * field; nulls; flags; hostile text; the correlation hook; write errors. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "event.h"
#include "export.h"
#include "intern.h"
#include "testutil.h"

static void header(event_builder *b, uint32_t id, uint64_t rec)
{
	static const char t[] = "2021-10-08T12:57:12.8425776Z";
	b->ev.event_id = id;
	b->ev.record_id = rec;
	assert_true(event_time_parse(t, strlen(t), &b->ev.filetime));
	b->ev.flags |= EVENT_HAS_TIME;
	b->ev.computer = intern_put("fs01.offsec.lan", 15);
	b->ev.channel = intern_put("Security", 8);
	b->ev.provider = intern_put("Microsoft-Windows-Security-Auditing", 35);
}

/* The example record; user/domain replaceable for hostile text. */
static void build_4690(event *ev, const char *user, const char *domain, uint16_t flags)
{
	event_builder b;
	evb_init(&b);
	header(&b, 4690, 2183522);
	b.ev.flags |= flags;
	tu_add_4690(&b, user, domain);
	assert_int_equal(evb_finish(&b, ev), DW_OK);
	evb_free(&b);
}

/* Writes evs through an exporter into memory; returns the text (free it). */
static char *export_mem(const event *evs, size_t n, export_format fmt, bool all,
                        const export_corr *corr)
{
	char *mem = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&mem, &len);
	assert_non_null(f);
	export_opts o = {.format = fmt, .all_events = all, .corr = corr};
	exporter *x;
	dw_err err;
	assert_int_equal(exporter_open_stream(&x, f, "mem", &o, &err), DW_OK);
	for (size_t i = 0; i < n; i++)
		assert_int_equal(exporter_write(x, &evs[i], &err), DW_OK);
	assert_int_equal(exporter_count(x), n);
	assert_int_equal(exporter_close(x, &err), DW_OK);
	fclose(f);
	return mem;
}

#define EX_JSON                                                                        \
	"{\"record_id\":2183522,\"time\":\"2021-10-08T12:57:12.8425776Z\","            \
	"\"computer\":\"fs01.offsec.lan\",\"event_id\":4690,"                          \
	"\"subject\":{\"sid\":\"S-1-5-21-1-2-3-1104\",\"user\":\"admmig\","           \
	"\"domain\":\"OFFSEC\",\"logon_id\":\"0x65b0f5db\"},"                          \
	"\"source\":{\"handle\":2808,\"pid\":1656},\"target\":{\"handle\":5960,\"pid\":4}}"

static void test_jsonl_4690_exact(void **state)
{
	(void)state;
	event ev;
	build_4690(&ev, "admmig", "OFFSEC", 0);
	char *out = export_mem(&ev, 1, EXPORT_JSONL, false, NULL);
	assert_string_equal(out, EX_JSON "\n");
	free(out);
	event_free(&ev);
}

static void test_json_array(void **state)
{
	(void)state;
	event evs[2];
	build_4690(&evs[0], "admmig", "OFFSEC", 0);
	build_4690(&evs[1], "admmig", "OFFSEC", 0);
	char *out = export_mem(evs, 2, EXPORT_JSON, false, NULL);
	assert_string_equal(out, "[\n" EX_JSON ",\n" EX_JSON "\n]\n");
	free(out);
	out = export_mem(evs, 0, EXPORT_JSON, false, NULL);
	assert_string_equal(out, "[]\n");
	free(out);
	event_free(&evs[0]);
	event_free(&evs[1]);
}

static void test_nulls_for_missing_dash_bad(void **state)
{
	(void)state;
	event_builder b;
	event ev;
	evb_init(&b);
	b.ev.event_id = 4690;
	b.ev.record_id = 7; /* no time, no computer */
	tu_add(&b, "SubjectUserSid", "S-1-0-0");
	tu_add(&b, "SubjectLogonId", "-");
	tu_add(&b, "SourceHandleId", "0xzz");
	tu_add(&b, "SourceProcessId", "0x10000000000000000");
	tu_add(&b, "TargetHandleId", "");
	/* TargetProcessId and user/domain missing */
	assert_int_equal(evb_finish(&b, &ev), DW_OK);
	evb_free(&b);
	char *out = export_mem(&ev, 1, EXPORT_JSONL, false, NULL);
	assert_string_equal(out,
	                    "{\"record_id\":7,\"time\":null,\"computer\":null,\"event_id\":4690,"
	                    "\"subject\":{\"sid\":\"S-1-0-0\",\"user\":null,\"domain\":null,\"logon_id\":null},"
	                    "\"source\":{\"handle\":null,\"pid\":null},\"target\":{\"handle\":null,\"pid\":null}}\n");
	free(out);
	out = export_mem(&ev, 1, EXPORT_CSV, false, NULL);
	assert_string_equal(out,
	                    "record_id,time,computer,event_id,subject_sid,subject_user,subject_domain,"
	                    "subject_logon_id,source_handle,source_pid,target_handle,target_pid,"
	                    "recovered,truncated\r\n"
	                    "7,,,4690,S-1-0-0,,,,,,,,false,false\r\n");
	free(out);
	/* An XML event without EventRecordID: its id is unknown, not 0. */
	ev.flags |= EVENT_NO_RECORD_ID;
	ev.record_id = 0;
	out = export_mem(&ev, 1, EXPORT_JSONL, false, NULL);
	assert_non_null(strstr(out, "{\"record_id\":null,\"time\":null,"));
	free(out);
	out = export_mem(&ev, 1, EXPORT_CSV, false, NULL);
	assert_non_null(strstr(out, "\r\n,,,4690,S-1-0-0,"));
	free(out);
	event_free(&ev);
}

static void test_flags_recovered_truncated(void **state)
{
	(void)state;
	event ev;
	build_4690(&ev, "admmig", "OFFSEC", EVENT_RECOVERED | EVENT_TRUNCATED);
	char *out = export_mem(&ev, 1, EXPORT_JSONL, false, NULL);
	size_t n = strlen(out);
	assert_true(n > 40);
	assert_string_equal(out + n - 37, "},\"recovered\":true,\"truncated\":true}\n");
	free(out);
	out = export_mem(&ev, 1, EXPORT_TSV, false, NULL);
	assert_non_null(strstr(out, "\n2183522\t2021-10-08T12:57:12.8425776Z\tfs01.offsec.lan\t4690\t"
	                            "S-1-5-21-1-2-3-1104\tadmmig\tOFFSEC\t0x65b0f5db\t2808\t1656\t5960\t4\t"
	                            "true\ttrue\n"));
	free(out);
	event_free(&ev);
}

static void test_marker_and_all_events(void **state)
{
	(void)state;
	event evs[2];
	event_builder b;
	evb_init(&b);
	header(&b, 0, 0);
	b.ev.flags |= EVENT_MARKER;
	tu_add(&b, "Message", "file replaced: a\x1b[2J");
	assert_int_equal(evb_finish(&b, &evs[0]), DW_OK);
	evb_reset(&b);
	header(&b, 4688, 12);
	b.ev.exec_pid = 4;
	b.ev.exec_tid = 8;
	b.ev.flags |= EVENT_HAS_PID;
	tu_add(&b, "SubjectUserName", "FS01$");
	tu_add(&b, "NewProcessId", "0x1dac");
	tu_add(&b, "NewProcessName", "C:\\Windows\\drvinst.exe");
	assert_int_equal(evb_finish(&b, &evs[1]), DW_OK);
	evb_free(&b);

	char *out = export_mem(evs, 2, EXPORT_JSONL, true, NULL);
	assert_string_equal(out,
	                    "{\"record_id\":0,\"time\":\"2021-10-08T12:57:12.8425776Z\","
	                    "\"computer\":\"fs01.offsec.lan\",\"event_id\":0,"
	                    "\"provider\":\"Microsoft-Windows-Security-Auditing\",\"channel\":\"Security\","
	                    "\"execution\":null,\"data\":{\"Message\":\"file replaced: a\\u001b[2J\"},"
	                    "\"marker\":\"file replaced: a\\u001b[2J\"}\n"
	                    "{\"record_id\":12,\"time\":\"2021-10-08T12:57:12.8425776Z\","
	                    "\"computer\":\"fs01.offsec.lan\",\"event_id\":4688,"
	                    "\"provider\":\"Microsoft-Windows-Security-Auditing\",\"channel\":\"Security\","
	                    "\"execution\":{\"pid\":4,\"tid\":8},"
	                    "\"subject\":{\"sid\":null,\"user\":\"FS01$\",\"domain\":null,\"logon_id\":null},"
	                    "\"data\":{\"SubjectUserName\":\"FS01$\",\"NewProcessId\":\"0x1dac\","
	                    "\"NewProcessName\":\"C:\\\\Windows\\\\drvinst.exe\"}}\n");
	free(out);

	/* CSV: the data column holds the JSON object, quoted. */
	out = export_mem(&evs[1], 1, EXPORT_CSV, true, NULL);
	assert_non_null(strstr(out, ",recovered,truncated,provider,channel,marker,data\r\n"));
	assert_non_null(strstr(out, "\r\n12,2021-10-08T12:57:12.8425776Z,fs01.offsec.lan,4688,,FS01$,,,,,,,"
	                            "false,false,Microsoft-Windows-Security-Auditing,Security,,"
	                            "\"{\"\"SubjectUserName\"\":\"\"FS01$\"\",\"\"NewProcessId\"\":\"\"0x1dac\"\","
	                            "\"\"NewProcessName\"\":\"\"C:\\\\Windows\\\\drvinst.exe\"\"}\"\r\n"));
	free(out);
	event_free(&evs[0]);
	event_free(&evs[1]);
}

/* Terminal controls and bidi overrides in names: JSON escapes them, CSV and
 * TSV show the screen form; quotes, commas and formulas are defused. */
static void test_hostile_text(void **state)
{
	(void)state;
	event ev;
	build_4690(&ev, "ev\x1b]0;title\x07il\xe2\x80\xae", "D,\"Q\"\x9b", 0);
	char *out = export_mem(&ev, 1, EXPORT_JSONL, false, NULL);
	assert_non_null(strstr(out, "\"user\":\"ev\\u001b]0;title\\u0007il\\u202e\","
	                            "\"domain\":\"D,\\\"Q\\\"\\u009b\""));
	for (const char *p = out; *p; p++)
		assert_true((unsigned char)*p >= 0x20 || *p == '\n');
	free(out);
	out = export_mem(&ev, 1, EXPORT_CSV, false, NULL);
	assert_non_null(strstr(out, ",ev\\x1b]0;title\\x07il<U+202E>,\"D,\"\"Q\"\"\\x9b\","));
	free(out);
	out = export_mem(&ev, 1, EXPORT_TSV, false, NULL);
	assert_non_null(strstr(out, "\tev\\x1b]0;title\\x07il<U+202E>\tD,\"Q\"\\x9b\t"));
	free(out);
	event_free(&ev);

	build_4690(&ev, "=HYPERLINK(\"x\")", "-", 0);
	out = export_mem(&ev, 1, EXPORT_CSV, false, NULL);
	assert_non_null(strstr(out, ",\"'=HYPERLINK(\"\"x\"\")\",-,"));
	free(out);
	event_free(&ev);
}

static bool fake_process(void *user, const event *ev, bool target, dw_str *image)
{
	(void)user;
	(void)ev;
	if (target)
		return false;
	*image = (dw_str){"C:\\Windows\\System32\\spoolsv.exe", 31};
	return true;
}

static bool fake_object(void *user, const event *ev, dw_str *type, dw_str *name, dw_num *access)
{
	(void)ev;
	*type = (dw_str){"File", 4};
	*name = (dw_str){NULL, 0};
	*access = (dw_num){*(const uint64_t *)user, NUM_OK};
	return true;
}

static void test_correlation_hook(void **state)
{
	(void)state;
	uint64_t access = 0x100001;
	export_corr corr = {.process = fake_process, .object = fake_object, .user = &access};
	event ev;
	build_4690(&ev, "admmig", "OFFSEC", 0);
	char *out = export_mem(&ev, 1, EXPORT_JSONL, false, &corr);
	assert_non_null(strstr(out, "\"source\":{\"handle\":2808,\"pid\":1656,"
	                            "\"process\":\"C:\\\\Windows\\\\System32\\\\spoolsv.exe\"},"
	                            "\"target\":{\"handle\":5960,\"pid\":4,\"process\":null},"
	                            "\"object\":{\"type\":\"File\",\"name\":null,\"access\":\"0x100001\"}}\n"));
	free(out);
	out = export_mem(&ev, 1, EXPORT_CSV, false, &corr);
	assert_non_null(strstr(out, "recovered,truncated,source_process,target_process,object_type,"
	                            "object_name,object_access\r\n"));
	assert_non_null(strstr(out, ",false,false,C:\\Windows\\System32\\spoolsv.exe,,File,,0x100001\r\n"));
	free(out);
	event_free(&ev);
}

static void test_format_by_extension(void **state)
{
	(void)state;
	export_format f;
	dw_err err;
	assert_int_equal(export_format_for("/tmp/a.csv", &f, &err), DW_OK);
	assert_int_equal(f, EXPORT_CSV);
	assert_int_equal(export_format_for("x.TSV", &f, &err), DW_OK);
	assert_int_equal(f, EXPORT_TSV);
	assert_int_equal(export_format_for("x.jsonl", &f, &err), DW_OK);
	assert_int_equal(f, EXPORT_JSONL);
	assert_int_equal(export_format_for("x.json", &f, &err), DW_OK);
	assert_int_equal(f, EXPORT_JSON);
	assert_int_equal(export_format_for("dir.csv/events", &f, &err), DW_USAGE);
	assert_non_null(strstr(err.msg, "dir.csv/events"));
	assert_false(export_format_parse("xml", &f));
}

static void test_export_events_to_file(void **state)
{
	(void)state;
	char dir[] = "/tmp/dw-export-XXXXXX";
	assert_non_null(mkdtemp(dir));
	char path[128];
	snprintf(path, sizeof path, "%s/view.jsonl", dir);
	event ev;
	build_4690(&ev, "admmig", "OFFSEC", 0);
	const event *evs[] = {&ev, &ev};
	size_t written = 0;
	dw_err err;
	assert_int_equal(export_events(path, evs, 2, false, NULL, &written, &err), DW_OK);
	assert_int_equal(written, 2);
	FILE *f = fopen(path, "r");
	assert_non_null(f);
	char buf[2048];
	size_t n = fread(buf, 1, sizeof buf - 1, f);
	buf[n] = '\0';
	fclose(f);
	assert_string_equal(buf, EX_JSON "\n" EX_JSON "\n");
	unlink(path);

	/* A directory that does not exist: DW_WRITE naming the path. */
	snprintf(path, sizeof path, "%s/missing/view.csv", dir);
	assert_int_equal(export_events(path, evs, 2, false, NULL, &written, &err), DW_WRITE);
	assert_non_null(strstr(err.msg, path));
	assert_int_equal(written, 0);
	rmdir(dir);
	event_free(&ev);
}

static void test_full_disk(void **state)
{
	(void)state;
	if (access("/dev/full", W_OK) != 0)
		skip();
	event ev;
	build_4690(&ev, "admmig", "OFFSEC", 0);
	const event *evs[] = {&ev};
	dw_err err;
	size_t written = 5;
	/* The extension decides the format; /dev/full has none: use a link. */
	char dir[] = "/tmp/dw-export-XXXXXX";
	assert_non_null(mkdtemp(dir));
	char path[128];
	snprintf(path, sizeof path, "%s/full.csv", dir);
	assert_int_equal(symlink("/dev/full", path), 0);
	assert_int_equal(export_events(path, evs, 1, false, NULL, &written, &err), DW_WRITE);
	assert_int_equal(err.status, DW_WRITE);
	assert_non_null(strstr(err.msg, path));
	assert_non_null(strstr(err.msg, "No space left on device"));
	assert_int_equal(written, 0);
	unlink(path);
	rmdir(dir);

	/* A stream: the error shows at the latest when flushing, then sticks. */
	FILE *f = fopen("/dev/full", "w");
	assert_non_null(f);
	export_opts o = {.format = EXPORT_JSONL};
	exporter *x;
	assert_int_equal(exporter_open_stream(&x, f, "stdout", &o, &err), DW_OK);
	dw_status st = exporter_write(x, &ev, &err);
	if (st == DW_OK)
		st = exporter_flush(x, &err);
	assert_int_equal(st, DW_WRITE);
	assert_string_equal(err.msg, "stdout: No space left on device");
	assert_int_equal(exporter_errno(x), 28 /* ENOSPC */);
	assert_int_equal(exporter_write(x, &ev, &err), DW_WRITE);
	assert_int_equal(exporter_close(x, &err), DW_WRITE);
	fclose(f);
	event_free(&ev);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_jsonl_4690_exact),
		cmocka_unit_test(test_json_array),
		cmocka_unit_test(test_nulls_for_missing_dash_bad),
		cmocka_unit_test(test_flags_recovered_truncated),
		cmocka_unit_test(test_marker_and_all_events),
		cmocka_unit_test(test_hostile_text),
		cmocka_unit_test(test_correlation_hook),
		cmocka_unit_test(test_format_by_extension),
		cmocka_unit_test(test_export_events_to_file),
		cmocka_unit_test(test_full_disk),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
