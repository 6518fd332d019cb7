/* The viewer in a pseudo-terminal: start, show a row, quit, terminal
 * restored; --help; hostile text neither moves the terminal nor retitles it. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "../fixtures/fx_evtx.h"
#include "../fixtures/xmlgen.h"
#include "e2e_util.h"
#include "testutil.h"

typedef struct tdir {
	char dir[64];
	char file[128];
} tdir;

/* A temp dir holding events.xml: the example 4690, with user and domain
 * replaced when not NULL. */
static void write_events(tdir *t, const char *user, const char *domain)
{
	assert_int_equal(tu_tmpdir_make(t->dir, sizeof t->dir, "dw-e2e"), 0);
	snprintf(t->file, sizeof t->file, "%s/events.xml", t->dir);
	xg_4690 x;
	xg_buf b;
	xg_4690_init(&x);
	if (user)
		x.f[1].value = user;
	if (domain)
		x.f[2].value = domain;
	xg_init(&b);
	xg_event_xml(&b, &x.ev, 0);
	FILE *f = fopen(t->file, "w");
	assert_non_null(f);
	assert_int_equal(fwrite(b.s, 1, b.len, f), b.len);
	assert_int_equal(fclose(f), 0);
	xg_free(&b);
}

static void remove_events(tdir *t)
{
	assert_int_equal(tu_tmpdir_remove(t->dir), 0);
}

static void test_help_in_pty(void **state)
{
	(void)state;
	pty_opts o = {.rows = 40}; /* the whole help stays on screen */
	pty *p = pty_start(&o, (const char *[]){"--help", NULL});
	int status = -1;
	assert_true(pty_wait_text(p, "Usage: dupwatch", E2E_WAIT_MS));
	assert_true(pty_wait_exit(p, E2E_WAIT_MS, &status));
	assert_int_equal(status, 0);
	assert_true(pty_find(p, "--print", NULL, NULL));
	assert_true(pty_restored(p, NULL, 0));
	pty_free(p);
}

static void test_row_then_quit(void **state)
{
	(void)state;
	tdir t;
	write_events(&t, NULL, NULL);
	pty *p = pty_start(NULL, (const char *[]){t.file, NULL});
	assert_true(pty_wait_text(p, "admmig", E2E_WAIT_MS));
	assert_true(pty_find(p, "OFFSEC", NULL, NULL));
	e2e_quit(p);
	pty_free(p);
	remove_events(&t);
}

/* --demo: the viewer on a live generated log; q quits cleanly. */
static void test_demo(void **state)
{
	(void)state;
	pty *p = pty_start(NULL, (const char *[]){"--demo", NULL});
	assert_true(pty_wait_text(p, "WS-DEMO01", E2E_WAIT_MS));
	e2e_quit(p);
	pty_free(p);
}

/* Events from stdin ("-") while the keys still come from the terminal. */
static void test_stdin_source(void **state)
{
	(void)state;
	tdir t;
	write_events(&t, NULL, NULL);
	pty_opts o = {.stdin_path = t.file};
	pty *p = pty_start(&o, (const char *[]){"-", NULL});
	assert_true(pty_wait_text(p, "admmig", E2E_WAIT_MS));
	e2e_quit(p);
	pty_free(p);
	remove_events(&t);
}

/* A source that cannot be opened: no viewer, a message naming it, status 1,
 * and the terminal as it was. */
static void test_missing_source(void **state)
{
	(void)state;
	pty *p = pty_start(NULL, (const char *[]){"/nonexistent/Security.evtx", NULL});
	int status = -1;
	assert_true(pty_wait_exit(p, E2E_WAIT_MS, &status));
	assert_int_equal(status, 1);
	assert_true(pty_find(p, "dupwatch: /nonexistent/Security.evtx: No such file or directory",
	                     NULL, NULL));
	assert_true(pty_restored(p, NULL, 0));
	pty_free(p);
}

/* Names carrying terminal controls that XML can hold (U+009B, CSI as a C1
 * character; bidi overrides U+202E and U+2066; a line feed): the screen shows them escaped, the rest of the
 * row is intact and no colour or reordering leaks. (ESC and BEL cannot
 * appear in well-formed XML: the EVTX tests cover them.) */
static void test_injection_escaped_on_screen(void **state)
{
	(void)state;
	tdir t;
	write_events(&t, "ev\xc2\x9b" "31mil\xc2\x9b" "2J", "D\xe2\x80\xaeX\n\xe2\x81\xa6Y");
	/* Wide enough that no column clips the escaped names. */
	pty_opts o = {.rows = 30, .cols = 200};
	pty *p = pty_start(&o, (const char *[]){t.file, NULL});
	assert_true(pty_wait_text(p, "ev<U+009B>31mil<U+009B>2J", E2E_WAIT_MS));
	assert_true(pty_wait_text(p, "D<U+202E>X\\n<U+2066>Y", E2E_WAIT_MS));
	pty_cell c;
	int row, col;
	assert_true(pty_find(p, "ev<U+009B>", &row, &col));
	assert_true(pty_cell_at(p, row, col + 10, &c)); /* the "3" of "31mil" */
	assert_string_equal(c.text, "3");
	assert_null(strstr(pty_title(p), "31m"));
	e2e_quit(p);
	pty_free(p);
	remove_events(&t);
}

/* Through EVTX, where a name can hold ESC and BEL: a title change (OSC 0)
 * and a screen clear never reach the terminal. The title stays unset, the
 * header is still on screen, and the names show with their controls made
 * visible. */
static void test_injection_evtx_title_untouched(void **state)
{
	(void)state;
	tdir t;
	dw_err err;
	assert_int_equal(tu_tmpdir_make(t.dir, sizeof t.dir, "dw-e2e"), 0);
	snprintf(t.file, sizeof t.file, "%s/events.evtx", t.dir);
	assert_int_equal(fx_evtx_4690(t.file, "ev\x1b]0;pwned\x07il", "D\x1b[2JX\xc2\x9b" "31m",
	                              "host\xe2\x80\xae" "gpj.exe", &err), DW_OK);
	pty_opts o = {.rows = 30, .cols = 200};
	pty *p = pty_start(&o, (const char *[]){t.file, NULL});
	assert_true(pty_wait_text(p, "pwned", E2E_WAIT_MS));
	/* The events keep ESC and BEL; the sanitiser shows them as \x1b, \x07. */
	assert_true(pty_wait_text(p, "ev\\x1b]0;pwned\\x07il", E2E_WAIT_MS));
	assert_true(pty_wait_text(p, "D\\x1b[2JX<U+009B>31m", E2E_WAIT_MS));
	assert_true(pty_wait_text(p, "Time", E2E_WAIT_MS)); /* the header: not cleared */
	assert_string_equal(pty_title(p), "");
	e2e_quit(p);
	assert_string_equal(pty_title(p), "");
	pty_free(p);
	remove_events(&t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_help_in_pty),
		cmocka_unit_test(test_row_then_quit),
		cmocka_unit_test(test_stdin_source),
		cmocka_unit_test(test_demo),
		cmocka_unit_test(test_missing_source),
		cmocka_unit_test(test_injection_escaped_on_screen),
		cmocka_unit_test(test_injection_evtx_title_untouched),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
