/* Correlation in the viewer, end to end: process names beside PIDs, the
 * Object column, the detail's object, processes and chain (and jumping to a
 * chain event), the flag filters S, A and X, the pivots o, h and the pairs
 * view a + Enter. On the real sample (DW_SAMPLES; skipped when absent) and
 * on a generated fixture for the flags the sample does not have. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "../fixtures/xmlgen.h"
#include "e2e_util.h"
#include "testutil.h"

static const pty_opts wide = { 50, 200, NULL, NULL, NULL };

/* The sample's path, or NULL (with a message) when it is not there. */
static const char *sample(char *buf, size_t cap)
{
	const char *dir = getenv("DW_SAMPLES");
	if (dir && *dir) {
		snprintf(buf, cap, "%s/systemnightmare-4690.evtx", dir);
		if (access(buf, R_OK) == 0)
			return buf;
	}
	print_message("systemnightmare-4690.evtx not found in DW_SAMPLES: skipped\n");
	return NULL;
}

/* Waits until the row that shows `key` also shows `value`. */
typedef struct row_has {
	const char *key, *value;
} row_has;

static bool row_has_cond(pty *p, void *user)
{
	const row_has *h = user;
	char buf[512];
	for (int r = 0; r < pty_rows(p); r++)
		if (strstr(pty_row(p, r, buf, sizeof buf), h->key) && strstr(buf, h->value))
			return true;
	return false;
}

static void wait_row_has(pty *p, const char *key, const char *value)
{
	row_has h = { key, value };
	if (!pty_wait_for(p, row_has_cond, &h, E2E_WAIT_MS))
		fail_msg("no row with \"%s\" shows \"%s\"", key, value);
}

/* The viewer on the sample, its first 4690 (spoolsv.exe's) on screen; the
 * test is skipped when the sample is not there. */
static pty *start_sample(void)
{
	char path[4096];
	if (!sample(path, sizeof path))
		skip();
	const char *args[] = { path, NULL };
	pty *p = pty_start(&wide, args);
	assert_true(pty_wait_text(p, "10 shown / 53 read", E2E_WAIT_MS));
	wait_row_has(p, "2183522", "spoolsv.exe 0x678");
	return p;
}

/* Record 2183522: spoolsv.exe 0x678 duplicates handle 0xaf8 into System;
 * the 4656 that names the file comes after it (record 2183524). */
static void test_sample_row_and_detail(void **state)
{
	(void)state;
	pty *p = start_sample();
	wait_row_has(p, "2183522", "System 0x4");
	wait_row_has(p, "2183522", "File C:\\Windows\\INF\\TAPISRV\\0409");
	wait_row_has(p, "2183532", "drvinst.exe 0x1dac");
	/* The first row (oldest) full screen: object, processes, chain. */
	pty_send(p, "g");
	pty_key(p, PTY_ENTER);
	/* The chain's last event is the detail's last line: the screen is
	 * drawn top down, so all above it is there. */
	wait_row_has(p, "closed:", "4658 record 2183525");
	e2e_assert_labelled(p, "Record ID:", "2183522");
	e2e_assert_labelled(p, "Object Type:", "File");
	e2e_assert_labelled(p, "Object Name:", "C:\\Windows\\INF\\TAPISRV\\0409");
	e2e_assert_labelled(p, "Access:", "0x100001: SYNCHRONIZE, ReadData");
	e2e_assert_labelled(p, "Image:", "C:\\Windows\\System32\\spoolsv.exe"); /* the source first */
	assert_true(pty_find(p, "System (16384)", NULL, NULL)); /* the target's level */
	e2e_assert_labelled(p, "Flags:", "cross-process, into System");
	e2e_assert_labelled(p, "duplicated:", "4690 record 2183522");
	e2e_assert_labelled(p, "opened:", "4656 record 2183524: 0xaf8 of spoolsv.exe 0x678");
	/* Down picks the chain's events in order (4690, 4658, 4656); Enter
	 * jumps to the 4656, which needs all events shown. */
	pty_key(p, PTY_DOWN);
	pty_key(p, PTY_DOWN);
	pty_key(p, PTY_DOWN);
	pty_key(p, PTY_ENTER);
	assert_true(pty_wait_text(p, "53 shown / 53 read", E2E_WAIT_MS));
	assert_true(pty_wait_text(p, "Event 4656", E2E_WAIT_MS));
	wait_row_has(p, "Record ID:", "2183524");
	e2e_quit(p);
	pty_free(p);
}

static void test_sample_pivots(void **state)
{
	(void)state;
	pty *p = start_sample();
	/* o: every event of spoolsv.exe 0x678, in any role. */
	e2e_filter(p, "go", "[process=spoolsv.exe 0x678]", "17 shown");
	wait_row_has(p, "2183524", "4656");
	/* h: the handle's duplication, the close of its copy, its open and
	 * close. Esc clears, E goes back to 4690 only. */
	pty_key(p, PTY_ESC);
	e2e_filter(p, "E", NULL, "10 shown");
	e2e_filter(p, "gh", "[handle=0xaf8 of spoolsv.exe 0x678]", "4 shown");
	wait_row_has(p, "2183525", "4658");
	/* a: the pairs, most duplications first; Enter drills down. */
	pty_key(p, PTY_ESC);
	e2e_filter(p, "E", NULL, "10 shown");
	pty_send(p, "a");
	assert_true(pty_wait_text(p, "3 pairs", E2E_WAIT_MS));
	/* Rows 4-6 (under the heading and the columns): the last pair drawn
	 * means the first is too (the screen is drawn top down). */
	assert_true(pty_wait_row(p, 6, "drvinst.exe 0x7a4", E2E_WAIT_MS));
	char buf[512];
	pty_row(p, 4, buf, sizeof buf);
	if (!strstr(buf, "spoolsv.exe 0x678") || !strstr(buf, "System 0x4") || !strstr(buf, " 4 "))
		fail_msg("first pair is not spoolsv.exe's 4: %s", buf);
	pty_row(p, 5, buf, sizeof buf);
	if (!strstr(buf, "drvinst.exe 0x1dac") || !strstr(buf, " 3 "))
		fail_msg("second pair is not drvinst.exe 0x1dac's 3: %s", buf);
	pty_key(p, PTY_DOWN);
	pty_key(p, PTY_ENTER);
	assert_true(pty_wait_text(p, "[pair=drvinst.exe 0x1dac -> System 0x4]", E2E_WAIT_MS));
	assert_true(pty_wait_text(p, "3 shown", E2E_WAIT_MS));
	/* b: by program, both drvinst.exe processes together. */
	pty_key(p, PTY_ESC);
	pty_send(p, "ab");
	assert_true(pty_wait_text(p, "by program: 2 pairs", E2E_WAIT_MS));
	assert_true(pty_wait_row(p, 5, "spoolsv.exe", E2E_WAIT_MS));
	pty_row(p, 4, buf, sizeof buf);
	if (!strstr(buf, "drvinst.exe") || strstr(buf, "0x") || !strstr(buf, " 6 "))
		fail_msg("first pair is not drvinst.exe's 6: %s", buf);
	pty_send(p, "a");
	assert_true(pty_wait_text(p, "Detail", E2E_WAIT_MS));
	e2e_quit(p);
	pty_free(p);
}

/* ---- the flags, on a fixture ---- */

static void put_event(xg_buf *b, unsigned id, unsigned long long rec, const xg_field *f, size_t n)
{
	xg_event e = {
		.provider = "Microsoft-Windows-Security-Auditing",
		.event_id = id,
		.keywords = "0x8020000000000000",
		.time = "2021-10-08T12:57:12.8425776Z",
		.record_id = rec,
		.pid = 4,
		.tid = 8,
		.channel = "Security",
		.computer = "fs01.offsec.lan",
		.fields = f,
		.n_fields = n,
	};
	xg_event_xml(b, &e, XG_ONELINE);
}

static void put_4688(xg_buf *b, unsigned long long rec, const char *pid, const char *image,
                     const char *user, const char *sid, const char *label)
{
	const xg_field f[] = {
		{ "SubjectUserSid", "S-1-5-18" }, { "SubjectUserName", "FS01$" },
		{ "SubjectDomainName", "OFFSEC" }, { "SubjectLogonId", "0x3e7" },
		{ "NewProcessId", pid },          { "NewProcessName", image },
		{ "ProcessId", "0x4" },           { "TargetUserSid", sid },
		{ "TargetUserName", user },       { "TargetDomainName", "OFFSEC" },
		{ "MandatoryLabel", label },
	};
	put_event(b, 4688, rec, f, sizeof f / sizeof f[0]);
}

static void put_4690(xg_buf *b, unsigned long long rec, const char *sp, const char *sh,
                     const char *tp, const char *th)
{
	const xg_field f[] = {
		{ "SubjectUserSid", "S-1-5-18" }, { "SubjectUserName", "FS01$" },
		{ "SubjectDomainName", "OFFSEC" }, { "SubjectLogonId", "0x3e7" },
		{ "SourceHandleId", sh },         { "SourceProcessId", sp },
		{ "TargetHandleId", th },         { "TargetProcessId", tp },
	};
	put_event(b, 4690, rec, f, sizeof f / sizeof f[0]);
}

/* alice's high.exe 0x100 (High) duplicates a Token handle into bob's
 * low.exe 0x200 (Low): record 4, an alert; into System: record 5 (System's
 * account differs too: also an alert); within itself: record 6; into
 * alice's mid.exe (High): record 7, cross-process only. */
static void write_fixture(char *dir, size_t dcap, char *file, size_t fcap)
{
	assert_int_equal(tu_tmpdir_make(dir, dcap, "dw-vcorrel"), 0);
	snprintf(file, fcap, "%s/flags.xml", dir);
	xg_buf b;
	xg_init(&b);
	put_4688(&b, 1, "0x100", "C:\\Apps\\high.exe", "alice", "S-1-5-21-9-1001", "S-1-16-12288");
	put_4688(&b, 2, "0x200", "C:\\Apps\\low.exe", "bob", "S-1-5-21-9-1002", "S-1-16-4096");
	put_4688(&b, 3, "0x300", "C:\\Apps\\mid.exe", "alice", "S-1-5-21-9-1001", "S-1-16-12288");
	const xg_field open[] = {
		{ "SubjectUserSid", "S-1-5-21-9-1001" }, { "SubjectUserName", "alice" },
		{ "SubjectDomainName", "OFFSEC" },       { "SubjectLogonId", "0x1234" },
		{ "ObjectServer", "Security" },          { "ObjectType", "Token" },
		{ "ObjectName", "-" },                   { "HandleId", "0x10" },
		{ "AccessMask", "0x8" },                 { "ProcessId", "0x100" },
		{ "ProcessName", "C:\\Apps\\high.exe" },
	};
	put_event(&b, 4656, 10, open, sizeof open / sizeof open[0]);
	put_4690(&b, 4, "0x100", "0x10", "0x200", "0x20");
	put_4690(&b, 5, "0x100", "0x10", "0x4", "0x30");
	put_4690(&b, 6, "0x100", "0x40", "0x100", "0x50");
	put_4690(&b, 7, "0x100", "0x10", "0x300", "0x70");
	assert_int_equal(xg_write_file(file, &b), 0);
	xg_free(&b);
}

static void test_fixture_flags(void **state)
{
	(void)state;
	char dir[64], file[128];
	write_fixture(dir, sizeof dir, file, sizeof file);
	const char *args[] = { file, NULL };
	pty_opts o = wide;
	o.cwd = dir; /* for the export */
	pty *p = pty_start(&o, args);
	assert_true(pty_wait_text(p, "4 shown / 8 read", E2E_WAIT_MS));
	wait_row_has(p, "high.exe 0x100", "low.exe 0x200");
	wait_row_has(p, "low.exe 0x200", "Token");
	/* S: into System only. */
	e2e_filter(p, "S", "[into System]", "1 shown");
	wait_row_has(p, "high.exe 0x100", "System 0x4");
	/* A: another user or a lower integrity level. */
	pty_key(p, PTY_ESC);
	e2e_filter(p, "A", "[other user/lower IL]", "2 shown");
	assert_false(pty_find(p, "mid.exe", NULL, NULL));
	/* X: cross-process, the alerts and mid.exe. */
	pty_key(p, PTY_ESC);
	e2e_filter(p, "X", NULL, "3 shown");
	wait_row_has(p, "high.exe 0x100", "mid.exe 0x300");
	/* The alert's detail: both accounts and levels, the flags, the
	 * Token access decoded. */
	pty_key(p, PTY_ESC);
	pty_send(p, "g");
	pty_key(p, PTY_ENTER);
	wait_row_has(p, "duplicated:", "4690 record 7"); /* the last line */
	e2e_assert_labelled(p, "Record ID:", "4");
	e2e_assert_labelled(p, "Object Type:", "Token");
	e2e_assert_labelled(p, "Access:", "0x8: ");
	e2e_assert_labelled(p, "Account:", "OFFSEC\\alice");
	e2e_assert_labelled(p, "Flags:", "into another user, into a lower integrity level");
	assert_true(pty_find(p, "Low (4096)", NULL, NULL));
	assert_true(pty_find(p, "OFFSEC\\bob", NULL, NULL));
	/* e: the export carries the processes and the object, as --print. */
	pty_key(p, PTY_ESC);
	e2e_filter(p, "A", NULL, "2 shown");
	pty_send(p, "e");
	assert_true(pty_wait_text(p, "dupwatch-export.csv", E2E_WAIT_MS));
	pty_key(p, PTY_ENTER);
	assert_true(pty_wait_text(p, "exported 2 rows to", E2E_WAIT_MS));
	char path[192], line[2048];
	snprintf(path, sizeof path, "%s/dupwatch-export.csv", dir);
	FILE *f = fopen(path, "r");
	assert_non_null(f);
	assert_non_null(fgets(line, sizeof line, f));
	assert_non_null(strstr(line, "source_process"));
	assert_non_null(strstr(line, "object_type"));
	assert_non_null(fgets(line, sizeof line, f)); /* record 4 */
	assert_non_null(strstr(line, "C:\\Apps\\high.exe"));
	assert_non_null(strstr(line, "C:\\Apps\\low.exe"));
	assert_non_null(strstr(line, "Token"));
	fclose(f);
	e2e_quit(p);
	pty_free(p);
	assert_int_equal(tu_tmpdir_remove(dir), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sample_row_and_detail),
		cmocka_unit_test(test_sample_pivots),
		cmocka_unit_test(test_fixture_flags),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
