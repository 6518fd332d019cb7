/* Config file: every key, good and bad lines with file:line messages,
 * comments, CRLF, missing and unreadable files. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "config.h"
#include "msglog.h"
#include "ring.h"

static void parse(dw_config *c, msglog *log, const char *text)
{
	config_defaults(c);
	config_parse(c, text, strlen(text), "cfg", log);
}

/* Message number idx of log, which must exist. */
static const char *msg(msglog *log, uint64_t idx)
{
	static char buf[512];
	assert_true(msglog_get(log, idx, buf, sizeof buf) >= 0);
	return buf;
}

static void test_defaults(void **state)
{
	(void)state;
	dw_config c;
	config_defaults(&c);
	assert_string_equal(c.theme, "");
	assert_false(c.utc);
	assert_false(c.decimal);
	assert_int_equal(c.capacity, RING_DEFAULT_CAPACITY);
	assert_string_equal(c.columns, "");
	assert_true(c.mouse);
}

static void test_every_key(void **state)
{
	(void)state;
	msglog *log = msglog_create(16);
	dw_config c;
	parse(&c, log,
	      "# dupwatch config\n"
	      "\n"
	      "theme = light   # a comment after a blank\n"
	      "  timezone=UTC\r\n"
	      "numbers = decimal\n"
	      "capacity = 2500\n"
	      "columns = time, src pid ,Tgt PID\n"
	      "mouse = off\n");
	assert_int_equal(msglog_count(log), 0);
	assert_string_equal(c.theme, "light");
	assert_true(c.utc);
	assert_true(c.decimal);
	assert_int_equal(c.capacity, 2500);
	assert_string_equal(c.columns, "time, src pid ,Tgt PID");
	assert_false(c.mouse);

	/* A later line wins; '#' inside a value (no blank before) is kept. */
	const char *more = "theme = ~/t#1.theme\ntimezone = local\nnumbers = hex\nmouse = yes\n";
	config_parse(&c, more, strlen(more), "cfg", log);
	assert_int_equal(msglog_count(log), 0);
	assert_string_equal(c.theme, "~/t#1.theme");
	assert_false(c.utc);
	assert_false(c.decimal);
	assert_true(c.mouse);
	msglog_destroy(log);
}

static void test_bad_lines_named_and_skipped(void **state)
{
	(void)state;
	msglog *log = msglog_create(16);
	dw_config c;
	parse(&c, log,
	      "theme = dark\n"          /* 1 ok */
	      "colour = red\n"          /* 2 unknown key */
	      "just words\n"            /* 3 no '=' */
	      "timezone = mars\n"       /* 4 */
	      "numbers = octal\n"       /* 5 */
	      "capacity = 0\n"          /* 6 */
	      "capacity = -5\n"         /* 7 */
	      "capacity = 12abc\n"      /* 8 */
	      "capacity = 999999999999\n" /* 9 */
	      "columns = time,bogus\n"  /* 10 */
	      "mouse = maybe\n"         /* 11 */
	      "= value\n"               /* 12 */
	      "capacity = 42");         /* 13 ok, no final newline */
	static const char *const want[] = {
		"cfg:2: unknown key 'colour'",
		"cfg:3: expected 'key = value'",
		"cfg:4: timezone: expected local or utc",
		"cfg:5: numbers: expected hex or decimal",
		"cfg:6: capacity: expected a number of events from 1 to 100000000",
		"cfg:7: capacity: expected a number of events",
		"cfg:8: capacity: expected a number of events from 1 to 100000000",
		"cfg:9: capacity: expected a number of events from 1 to 100000000",
		"cfg:10: columns: unknown column 'bogus'",
		"cfg:11: mouse: expected on or off",
		"cfg:12: expected 'key = value'",
	};
	assert_int_equal(msglog_count(log), sizeof want / sizeof want[0]);
	for (size_t i = 0; i < sizeof want / sizeof want[0]; i++)
		assert_string_equal(msg(log, i), want[i]);
	/* Good lines still applied, bad ones left the defaults alone. */
	assert_string_equal(c.theme, "dark");
	assert_int_equal(c.capacity, 42);
	assert_false(c.utc);
	assert_string_equal(c.columns, "");
	assert_true(c.mouse);
	msglog_destroy(log);
}

static void test_long_and_binary_values(void **state)
{
	(void)state;
	msglog *log = msglog_create(16);
	dw_config c;
	char text[1200];
	memset(text, 'a', sizeof text);
	memcpy(text, "theme = ", 8);
	text[sizeof text - 1] = '\n';
	config_defaults(&c);
	config_parse(&c, text, sizeof text, "cfg", log);
	assert_string_equal(msg(log, 0), "cfg:1: theme: name too long");
	assert_string_equal(c.theme, "");

	config_parse(&c, "theme = a\0b\n", 12, "cfg", log);
	assert_string_equal(msg(log, 1), "cfg:1: contains a NUL byte");
	assert_string_equal(c.theme, "");
	/* Without a log, bad lines are skipped silently. */
	config_parse(&c, "nonsense\n", 9, "cfg", NULL);
	msglog_destroy(log);
}

static void test_load_files(void **state)
{
	(void)state;
	char dir[] = "/tmp/dw-config-XXXXXX";
	assert_non_null(mkdtemp(dir));
	char path[128];
	snprintf(path, sizeof path, "%s/config", dir);
	msglog *log = msglog_create(16);
	dw_config c;
	dw_err err;
	config_defaults(&c);

	/* A missing file is no error. */
	assert_int_equal(config_load(&c, path, log, &err), DW_OK);
	assert_int_equal(msglog_count(log), 0);

	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs("numbers = decimal\nfrobnicate = 1\n", f);
	fclose(f);
	assert_int_equal(config_load(&c, path, log, &err), DW_OK);
	assert_true(c.decimal);
	char want[256];
	snprintf(want, sizeof want, "%s:2: unknown key 'frobnicate'", path);
	assert_string_equal(msg(log, 0), want);
	unlink(path);

	/* A directory cannot be read: an error naming it. */
	assert_int_equal(config_load(&c, dir, log, &err), DW_IO);
	assert_non_null(strstr(err.msg, dir));
	rmdir(dir);
	msglog_destroy(log);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_every_key),
		cmocka_unit_test(test_bad_lines_named_and_skipped),
		cmocka_unit_test(test_long_and_binary_values),
		cmocka_unit_test(test_load_files),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
