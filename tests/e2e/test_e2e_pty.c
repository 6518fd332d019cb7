/* The harness itself, on small shell programs: it must see titles, an
 * unrestored terminal, attributes, sizes and exit statuses, and send keys in
 * the mode the program chose, or the viewer's tests could pass vacuously. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "pty.h"

#define WAIT_MS 10000

static pty *sh(const char *script)
{
	return pty_spawn(NULL, (const char *[]){"/bin/sh", "-c", script, NULL});
}

static void test_title_and_exit_status(void **state)
{
	(void)state;
	pty *p = sh("printf 'x\\033]0;hello there\\007y\\n'; exit 3");
	int status = -1;
	assert_true(pty_wait_exit(p, WAIT_MS, &status));
	assert_int_equal(status, 3);
	assert_string_equal(pty_title(p), "hello there");
	char row[256];
	assert_string_equal(pty_row(p, 0, row, sizeof row), "xy");
	assert_true(pty_restored(p, NULL, 0));
	pty_free(p);
}

static void test_unrestored_terminal_detected(void **state)
{
	(void)state;
	char why[64];
	pty *p = sh("printf '\\033[?1049h\\033[?25lon alt'");
	assert_true(pty_wait_exit(p, WAIT_MS, NULL));
	assert_false(pty_restored(p, why, sizeof why));
	assert_string_equal(why, "still on the alternate screen");
	pty_free(p);

	p = sh("printf '\\033[?25l'");
	assert_true(pty_wait_exit(p, WAIT_MS, NULL));
	assert_false(pty_restored(p, why, sizeof why));
	assert_string_equal(why, "cursor left invisible");
	pty_free(p);

	p = sh("printf '\\033[?1000h\\033[?1006h'");
	assert_true(pty_wait_exit(p, WAIT_MS, NULL));
	assert_false(pty_restored(p, why, sizeof why));
	assert_string_equal(why, "mouse reporting left on");
	pty_free(p);
}

static void test_keys_follow_cursor_mode(void **state)
{
	(void)state;
	/* Application cursor keys on (as ncurses' keypad() does): Up is ESC O A. */
	pty *p = sh("stty raw -echo; printf '\\033[?1hready\\r\\n'; "
	            "dd bs=1 count=6 2>/dev/null | od -An -tx1");
	assert_true(pty_wait_text(p, "ready", WAIT_MS));
	pty_key(p, PTY_UP);
	pty_key(p, PTY_F1);
	assert_true(pty_wait_text(p, "1b 4f 41 1b 4f 50", WAIT_MS));
	pty_free(p);

	p = sh("stty raw -echo; printf 'ready\\r\\n'; dd bs=1 count=5 2>/dev/null | od -An -tx1");
	assert_true(pty_wait_text(p, "ready", WAIT_MS));
	pty_key(p, PTY_UP);
	pty_key(p, PTY_BACKSPACE);
	pty_ctrl(p, 'c');
	assert_true(pty_wait_text(p, "1b 5b 41 7f 03", WAIT_MS));
	pty_free(p);
}

static void test_mouse_sgr_when_enabled(void **state)
{
	(void)state;
	pty *p = sh("stty raw -echo; printf '\\033[?1000h\\033[?1006hready\\r\\n'; "
	            "dd bs=1 count=18 2>/dev/null | od -An -c | tr -d ' \\n'; echo; "
	            "printf '\\033[?1000l'");
	assert_true(pty_wait_text(p, "ready", WAIT_MS));
	pty_click(p, 2, 4, 1); /* row 2, col 4 (0-based): SGR reports 1-based 5;3 */
	assert_true(pty_wait_text(p, "033[<0;5;3M033[<0;5;3m", WAIT_MS));
	pty_free(p);
}

static void test_attributes_and_resize(void **state)
{
	(void)state;
	pty_opts o = {.rows = 10, .cols = 40};
	pty *p = pty_spawn(&o, (const char *[]){"/bin/sh", "-c",
		"printf '\\033[1;7;38;5;196mA\\033[0mB\\n'; stty size; "
		"trap 'stty size' WINCH; echo waiting; while :; do sleep 1; done", NULL});
	assert_true(pty_wait_text(p, "10 40", WAIT_MS));
	pty_cell c;
	assert_true(pty_cell_at(p, 0, 0, &c));
	assert_string_equal(c.text, "A");
	assert_true(c.bold && c.reverse);
	assert_int_equal(c.fg, 196);
	assert_int_equal(c.bg, -1);
	assert_true(pty_cell_at(p, 0, 1, &c));
	assert_false(c.bold || c.reverse);
	assert_int_equal(c.fg, -1);
	assert_true(pty_wait_text(p, "waiting", WAIT_MS));
	pty_resize(p, 12, 50);
	assert_int_equal(pty_rows(p), 12);
	assert_int_equal(pty_cols(p), 50);
	assert_true(pty_wait_text(p, "12 50", WAIT_MS));
	assert_false(pty_wait_text(p, "never shown", 50)); /* times out, dumps */
	pty_free(p);
}

static void test_env_cwd_and_stdin(void **state)
{
	(void)state;
	pty_opts o = {
		.env = (const char *const[]){"DW_X=42", "HOME", NULL},
		.cwd = "/",
		.stdin_path = "/etc/hostname",
	};
	pty *p = pty_spawn(&o, (const char *[]){"/bin/sh", "-c",
		"echo \"x=$DW_X home=${HOME-unset} term=$TERM tz=$TZ pwd=$(pwd)\"; "
		"test -t 0 && echo tty || echo notty", NULL});
	assert_true(pty_wait_exit(p, WAIT_MS, NULL));
	assert_true(pty_find(p, "x=42 home=unset term=xterm-256color tz=UTC pwd=/", NULL, NULL));
	assert_true(pty_find(p, "notty", NULL, NULL));
	pty_free(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_title_and_exit_status),
		cmocka_unit_test(test_unrestored_terminal_detected),
		cmocka_unit_test(test_keys_follow_cursor_mode),
		cmocka_unit_test(test_mouse_sgr_when_enabled),
		cmocka_unit_test(test_attributes_and_resize),
		cmocka_unit_test(test_env_cwd_and_stdin),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
