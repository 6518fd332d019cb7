/* The headless loop: which events --print selects, and draining a ring into
 * an exporter, with log messages alongside. */
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
	assert_non_null(strstr(out, "\r\n10,,,4690,,,,,,1,,,false,false\r\n12,,,4690,,,,,,2,,,false,false\r\n"));
	assert_string_equal(err, "dupwatch: warning: a.xml: byte 7: bad \\x1b[2J event\n");
	free(out);
	free(err);
	msglog_destroy(log);
	ring_destroy(r);
	close(wake[0]);
	close(wake[1]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_match),
		cmocka_unit_test(test_run_drains_ring),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
