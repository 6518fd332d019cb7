/* The headless loop: which events --print selects, draining a ring into
 * an exporter, with log messages alongside, and the correlation: 4690s held
 * back for explanations logged after them. */
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
#include "msglog.h"
#include "print.h"
#include "ring.h"

static void build(event *ev, uint32_t id, uint64_t rec, uint16_t flags,
                  const char *const *kv /* name, value, ..., NULL */)
{
	event_builder b;
	evb_init(&b);
	b.ev.event_id = id;
	b.ev.record_id = rec;
	b.ev.flags = flags;
	for (; kv && kv[0]; kv += 2)
		assert_int_equal(evb_add(&b, kv[0], strlen(kv[0]), kv[1], strlen(kv[1])), DW_OK);
	assert_int_equal(evb_finish(&b, ev), DW_OK);
	evb_free(&b);
}

static void test_match(void **state)
{
	(void)state;
	event dup, proc, other, marker;
	build(&dup, 4690, 1, 0, (const char *[]){"SourceProcessId", "0x678", "TargetProcessId", "0x4", NULL});
	build(&proc, 4688, 2, 0, (const char *[]){"NewProcessId", "0x1dac", "ProcessId", "0x678", NULL});
	build(&other, 4624, 3, 0, (const char *[]){"ProcessId", "-", NULL});
	build(&marker, 0, 0, EVENT_MARKER, (const char *[]){"Message", "log cleared", NULL});

	print_sel sel = {0};
	assert_true(print_match(&sel, &dup));
	assert_false(print_match(&sel, &proc));
	assert_false(print_match(&sel, &marker));

	sel.pid_set = true;
	sel.pid = 0x678; /* source side */
	assert_true(print_match(&sel, &dup));
	sel.pid = 4;     /* target side */
	assert_true(print_match(&sel, &dup));
	sel.pid = 0x1dac;
	assert_false(print_match(&sel, &dup));

	sel.all_events = true;
	assert_true(print_match(&sel, &proc));   /* NewProcessId */
	sel.pid = 0x678;
	assert_true(print_match(&sel, &proc));   /* ProcessId (the parent) */
	assert_false(print_match(&sel, &other)); /* "-" is no pid */
	assert_true(print_match(&sel, &marker)); /* markers whatever the pid */
	sel.pid_set = false;
	assert_true(print_match(&sel, &other));

	event_free(&dup);
	event_free(&proc);
	event_free(&other);
	event_free(&marker);
}

/* With no sources the loop drains what the ring holds and returns; only
 * the selected events are written, in order, and the log's warnings are
 * written as they come (info messages are not). */
static void test_run_drains_ring(void **state)
{
	(void)state;
	int wake[2];
	assert_int_equal(pipe(wake), 0);
	ring *r = ring_create(16, RING_BLOCK, -1);
	assert_non_null(r);
	event evs[3];
	build(&evs[0], 4690, 10, 0, (const char *[]){"SourceProcessId", "0x1", NULL});
	build(&evs[1], 4688, 11, 0, NULL);
	build(&evs[2], 4690, 12, 0, (const char *[]){"SourceProcessId", "0x2", NULL});
	ring_push(r, evs, 3);

	msglog *log = msglog_create(8);
	msglog_add(log, MSG_INFO, "following");
	msglog_add(log, MSG_WARN, "a.xml: byte 7: bad \x1b[2J event");

	char *out = NULL, *err = NULL;
	size_t olen = 0, elen = 0;
	FILE *of = open_memstream(&out, &olen), *ef = open_memstream(&err, &elen);
	export_opts eo = {.format = EXPORT_CSV};
	exporter *x;
	dw_err e;
	assert_int_equal(exporter_open_stream(&x, of, "mem", &eo, &e), DW_OK);
	print_loop pl = {
		.ring = r, .wake_fd = wake[0], .stop_fd = -1, .out = x,
		.log = log, .msg_out = ef,
	};
	assert_int_equal(print_run(&pl, &e), DW_OK);
	assert_int_equal(pl.msg_next, 2);
	assert_int_equal(exporter_count(x), 2);
	assert_int_equal(exporter_close(x, &e), DW_OK);
	fclose(of);
	fclose(ef);
	/* The correlation columns: nothing explains these. */
	assert_non_null(strstr(out, ",truncated,source_process,target_process,object_type,"
	                            "object_name,object_access\r\n"
	                            "10,,,4690,,,,,,1,,,false,false,,,,,\r\n"
	                            "12,,,4690,,,,,,2,,,false,false,,,,,\r\n"));
	assert_string_equal(err, "dupwatch: warning: a.xml: byte 7: bad \\x1b[2J event\n");
	free(out);
	free(err);
	msglog_destroy(log);
	ring_destroy(r);
	close(wake[0]);
	close(wake[1]);
}

/* Runs print_run over evs (no sources: the input ends with the ring) and
 * returns the JSON Lines written (the caller frees). */
static char *print_events(event *evs, size_t n, const print_sel *sel)
{
	int wake[2];
	assert_int_equal(pipe(wake), 0);
	ring *r = ring_create(n, RING_BLOCK, -1);
	assert_non_null(r);
	ring_push(r, evs, n);
	char *out = NULL;
	size_t olen = 0;
	FILE *of = open_memstream(&out, &olen);
	export_opts eo = {.format = EXPORT_JSONL};
	exporter *x;
	dw_err e;
	assert_int_equal(exporter_open_stream(&x, of, "mem", &eo, &e), DW_OK);
	print_loop pl = {.ring = r, .wake_fd = wake[0], .stop_fd = -1, .out = x, .sel = *sel};
	assert_int_equal(print_run(&pl, &e), DW_OK);
	assert_int_equal(exporter_close(x, &e), DW_OK);
	fclose(of);
	ring_destroy(r);
	close(wake[0]);
	close(wake[1]);
	return out;
}

/* The 4656 of a source handle comes after its 4690 (as Windows logs it):
 * the 4690 is held back and written with the object, and everything
 * printed keeps its order. A 4690 whose 4656 comes only after the window
 * (256 events) is written without it. */
static void test_run_holds_4690_for_late_open(void **state)
{
	(void)state;
	enum { FILLER = 300 };
	event evs[5 + FILLER];
	size_t n = 0;
	build(&evs[n++], 4690, 1, 0, (const char *[]){"SourceProcessId", "0x678", "SourceHandleId", "0xaf8",
	      "TargetProcessId", "0x4", "TargetHandleId", "0x1748", NULL});
	build(&evs[n++], 4656, 2, 0, (const char *[]){"ProcessId", "0x678", "HandleId", "0xaf8",
	      "ObjectType", "File", "ObjectName", "C:\\x", "AccessMask", "0x100001",
	      "ProcessName", "C:\\spoolsv.exe", NULL});
	build(&evs[n++], 4690, 3, 0, (const char *[]){"SourceProcessId", "0x10", "SourceHandleId", "0x20",
	      "TargetProcessId", "0x4", "TargetHandleId", "0x30", NULL});
	for (int i = 0; i < FILLER; i++)
		build(&evs[n++], 4624, 10 + (uint64_t)i, 0, NULL);
	build(&evs[n++], 4656, 1000, 0, (const char *[]){"ProcessId", "0x10", "HandleId", "0x20",
	      "ObjectType", "Key", "ObjectName", "\\REGISTRY", "AccessMask", "0x1", NULL});

	print_sel sel = {0};
	char *out = print_events(evs, n, &sel);
	assert_string_equal(out,
	                    "{\"record_id\":1,\"time\":null,\"computer\":null,\"event_id\":4690,"
	                    "\"subject\":{\"sid\":null,\"user\":null,\"domain\":null,\"logon_id\":null},"
	                    "\"source\":{\"handle\":2808,\"pid\":1656,\"process\":\"C:\\\\spoolsv.exe\"},"
	                    "\"target\":{\"handle\":5960,\"pid\":4,\"process\":\"System\"},"
	                    "\"object\":{\"type\":\"File\",\"name\":\"C:\\\\x\",\"access\":\"0x100001\"}}\n"
	                    "{\"record_id\":3,\"time\":null,\"computer\":null,\"event_id\":4690,"
	                    "\"subject\":{\"sid\":null,\"user\":null,\"domain\":null,\"logon_id\":null},"
	                    "\"source\":{\"handle\":32,\"pid\":16,\"process\":null},"
	                    "\"target\":{\"handle\":48,\"pid\":4,\"process\":\"System\"},"
	                    "\"object\":null}\n");
	free(out);
}

/* Every event in order with all_events; a 4656 feeds the correlation
 * whether printed or not (here: --pid of the target only). */
static void test_run_order_and_pid(void **state)
{
	(void)state;
	event evs[3];
	build(&evs[0], 4690, 1, 0, (const char *[]){"SourceProcessId", "0x678", "SourceHandleId", "0xaf8",
	      "TargetProcessId", "0x4", "TargetHandleId", "0x1748", NULL});
	build(&evs[1], 4658, 2, 0, (const char *[]){"ProcessId", "0x678", "HandleId", "0x1748", NULL});
	/* A 4663 names the object but not the access granted: null. */
	build(&evs[2], 4663, 3, 0, (const char *[]){"ProcessId", "0x678", "HandleId", "0xaf8",
	      "ObjectType", "File", "ObjectName", "f", "AccessMask", "0x1", NULL});
	print_sel sel = {.all_events = true};
	char *out = print_events(evs, 3, &sel);
	const char *p1 = strstr(out, "{\"record_id\":1,"), *p2 = strstr(out, "{\"record_id\":2,"),
	           *p3 = strstr(out, "{\"record_id\":3,");
	assert_true(out == p1 && p1 < p2 && p2 < p3);
	assert_non_null(strstr(out, "\"object\":{\"type\":\"File\",\"name\":\"f\",\"access\":null}}\n"
	                            "{\"record_id\":2,"));
	free(out);

	build(&evs[0], 4690, 1, 0, (const char *[]){"SourceProcessId", "0x678", "SourceHandleId", "0xaf8",
	      "TargetProcessId", "0x4", "TargetHandleId", "0x1748", NULL});
	build(&evs[1], 4656, 2, 0, (const char *[]){"ProcessId", "0x678", "HandleId", "0xaf8",
	      "ObjectType", "File", "ObjectName", "f", "AccessMask", "0x1", NULL});
	sel = (print_sel){.all_events = true, .pid_set = true, .pid = 4};
	out = print_events(evs, 2, &sel);
	assert_non_null(strstr(out, "\"object\":{\"type\":\"File\","));
	assert_null(strstr(out, "\"record_id\":2,"));
	free(out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_match),
		cmocka_unit_test(test_run_drains_ring),
		cmocka_unit_test(test_run_holds_4690_for_late_open),
		cmocka_unit_test(test_run_order_and_pid),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
