/* Faults end to end, in a pseudo-terminal: the followed file deleted (the
 * viewer on XML and on EVTX, and --print --follow), replaced by something
 * that cannot be read (a directory, a FIFO, a file without permission), a
 * read error (EIO), a 1x1 terminal, and Ctrl-Z / fg from a job-control
 * shell. Each time: nothing already read is lost, a message names the file
 * and the error, and the terminal is restored. */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "../fixtures/xmlgen.h"
#include "demo.h"
#include "e2e_util.h"
#include "testutil.h"

/* Wide enough for a message naming a file in the temporary directory. */
#define WIDE 200

/* Writes (or appends) n 4690s with record ids first..first+n-1 to path;
 * the subject of record N is OFFSEC\userN. */
static void write_xml(const char *path, unsigned first, unsigned n, bool append)
{
	xg_buf b;
	xg_init(&b);
	for (unsigned i = 0; i < n; i++) {
		char user[32];
		xg_4690 x;
		xg_4690_init(&x);
		xg_4690_set(&x, first + i, 0x10, 0x678, 0x20, 0x4);
		snprintf(user, sizeof user, "user%u", first + i);
		x.f[1].value = user;
		xg_event_xml(&b, &x.ev, XG_ONELINE);
	}
	assert_int_equal(append ? xg_append_file(path, &b) : xg_write_file(path, &b), 0);
	xg_free(&b);
}

/* Waits until the rows of records first..first+n-1 are all on screen. */
static void wait_users(pty *p, unsigned first, unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		char user[40];
		snprintf(user, sizeof user, "OFFSEC\\user%u", first + i);
		assert_true(pty_wait_text(p, user, E2E_WAIT_MS));
	}
}

/* The viewer on path, 200 columns wide, once "want" (e.g. "3 shown / 3
 * read") is in its header. */
static pty *viewer(const char *path, const char *want)
{
	pty_opts o = {.rows = 24, .cols = WIDE};
	pty *p = pty_start(&o, (const char *[]){path, NULL});
	assert_true(pty_wait_text(p, want, E2E_WAIT_MS));
	return p;
}

static bool detail_shows(pty *p, void *rec)
{
	int row;
	char line[1024];
	if (!pty_find(p, "Record ID:", &row, NULL))
		return false;
	pty_row(p, row, line, sizeof line);
	size_t n = strlen(line), k = strlen(rec);
	return n > k && line[n - k - 1] == ' ' && strcmp(line + n - k, rec) == 0;
}

/* The table's text once the detail pane shows record rec (the newest,
 * selected while following): being drawn below the table, it means the
 * rows above are all there. */
static void table_text(pty *p, const char *rec, char *buf, size_t cap)
{
	int end;
	if (!pty_wait_for(p, detail_shows, (void *)(uintptr_t)rec, E2E_WAIT_MS)) {
		pty_dump(p, rec);
		fail_msg("the detail does not show record %s", rec);
	}
	if (!pty_find(p, "── Detail", &end, NULL))
		end = pty_rows(p) - 1;
	size_t n = 0;
	buf[0] = '\0';
	for (int r = 2; r < end; r++) {
		char line[1024];
		int w = snprintf(buf + n, cap - n, "%s\n", pty_row(p, r, line, sizeof line));
		if (w < 0 || (size_t)w >= cap - n)
			fail_msg("table larger than %zu bytes", cap);
		n += (size_t)w;
	}
}

/* Waits for msg, then checks that the table is what it was (before, from
 * table_text() with record rec) and the header still counts its rows. */
static void assert_kept(pty *p, const char *msg, const char *rec, const char *before,
                        const char *counts)
{
	char after[16384];
	assert_true(pty_wait_text(p, msg, E2E_WAIT_MS));
	assert_true(pty_find(p, counts, NULL, NULL));
	table_text(p, rec, after, sizeof after);
	if (strcmp(before, after) != 0) {
		pty_dump(p, msg);
		fail_msg("rows changed after \"%s\":\n%s\nthen:\n%s", msg, before, after);
	}
}

static void test_deleted_xml_viewer(void **state)
{
	(void)state;
	char path[512], msg[600], before[16384];
	tu_path(path, sizeof path, "deleted.xml");
	write_xml(path, 101, 3, false);
	pty *p = viewer(path, "3 shown / 3 read");
	wait_users(p, 101, 3);
	table_text(p, "103", before, sizeof before);

	assert_int_equal(unlink(path), 0);
	snprintf(msg, sizeof msg, "%s: file removed: waiting for it to come back", path);
	assert_kept(p, msg, "103", before, "3 shown / 3 read");
	assert_true(pty_find(p, " LIVE ", NULL, NULL)); /* still following the name */

	/* The name comes back: its events are added to what was there. */
	write_xml(path, 104, 2, false);
	wait_users(p, 101, 5);
	assert_true(pty_wait_text(p, "file replaced", E2E_WAIT_MS)); /* a marker row */
	e2e_quit(p);
	pty_free(p);
}

static void test_deleted_evtx_viewer(void **state)
{
	(void)state;
	char path[512], msg[600], before[16384];
	dw_err err = {0};
	uint64_t n = 0;
	tu_path(path, sizeof path, "deleted.evtx");
	assert_int_equal(demo_write_log(path, 7, 40, 1, &n, &err), DW_OK);
	assert_int_equal(n, 40);
	pty *p = viewer(path, "/ 40 read");
	table_text(p, "40", before, sizeof before);

	assert_int_equal(unlink(path), 0);
	snprintf(msg, sizeof msg, "%s: file removed: waiting for it to come back", path);
	assert_kept(p, msg, "40", before, "/ 40 read");

	/* A FIFO must not hang the reader; a read error (EIO, see
	 * test_read_error) is named; both are waited out. */
	assert_int_equal(mkfifo(path, 0644), 0);
	snprintf(msg, sizeof msg, "%s: replaced by a file that cannot be read: not a regular file",
	         path);
	assert_kept(p, msg, "40", before, "/ 40 read");
	assert_int_equal(unlink(path), 0);
	assert_int_equal(symlink("/proc/self/mem", path), 0);
	snprintf(msg, sizeof msg, "%s: replaced by a file that cannot be read: %s", path,
	         strerror(EIO));
	assert_kept(p, msg, "40", before, "/ 40 read");

	/* Not EVTX (yet): reported; then a log written over it in place, as
	 * a copy does, is noticed and read after the old one's records. */
	assert_int_equal(unlink(path), 0);
	xg_buf b;
	xg_init(&b);
	xg_cat(&b, "NotEvtx!");
	assert_int_equal(xg_write_file(path, &b), 0);
	xg_free(&b);
	snprintf(msg, sizeof msg, "%s: replaced by a file that is not EVTX", path);
	assert_kept(p, msg, "40", before, "/ 40 read");
	assert_int_equal(demo_write_log(path, 8, 10, 1, &n, &err), DW_OK);
	assert_true(pty_wait_text(p, "log file replaced", E2E_WAIT_MS)); /* a marker row */
	assert_true(pty_wait_text(p, "/ 51 read", E2E_WAIT_MS)); /* 40, the marker, 10 */
	e2e_quit(p);
	pty_free(p);
}

/* How many times text occurs on the screen. */
static int count_on_screen(pty *p, const char *text)
{
	static char screen[1 << 16];
	int n = 0;
	pty_screen(p, screen, sizeof screen);
	for (const char *s = screen; (s = strstr(s, text)) != NULL; s += strlen(text))
		n++;
	return n;
}

/* --print --follow: like tail -F, a deleted file is waited for (said once
 * on stderr), and its successor's events follow the ones printed. */
static void test_deleted_print_waits(void **state)
{
	(void)state;
	char path[512], msg[600];
	tu_path(path, sizeof path, "print.xml");
	write_xml(path, 201, 3, false);
	pty_opts o = {.rows = 24, .cols = 400};
	pty *p = pty_start(&o, (const char *[]){"--print", "--follow", path, NULL});
	assert_true(pty_wait_text(p, "\"record_id\":203", E2E_WAIT_MS));

	assert_int_equal(unlink(path), 0);
	snprintf(msg, sizeof msg, "dupwatch: warning: %s: file removed: waiting for it to come back",
	         path);
	assert_true(pty_wait_text(p, msg, E2E_WAIT_MS));
	for (unsigned r = 201; r <= 203; r++) {
		char rec[40];
		snprintf(rec, sizeof rec, "\"record_id\":%u,", r);
		assert_int_equal(count_on_screen(p, rec), 1);
	}

	write_xml(path, 204, 2, false);
	assert_true(pty_wait_text(p, "\"record_id\":205", E2E_WAIT_MS));
	assert_true(pty_find(p, "\"record_id\":204,", NULL, NULL));
	assert_int_equal(count_on_screen(p, msg), 1);
	pty_ctrl(p, 'c'); /* --follow ends on SIGINT, status 0 */
	e2e_exit_clean(p);
	pty_free(p);
}

/* The name replaced by things that cannot be read as a log: each is
 * reported and waited out (a FIFO without a writer must not hang the
 * reader, nor quitting); a readable file then continues the view. */
static void test_unreadable_replacement(void **state)
{
	(void)state;
	char path[512], msg[600], before[16384];
	tu_path(path, sizeof path, "unreadable.xml");
	write_xml(path, 301, 3, false);
	pty *p = viewer(path, "3 shown / 3 read");
	wait_users(p, 301, 3);
	table_text(p, "303", before, sizeof before);

	if (geteuid() != 0) { /* root reads a file whatever its mode */
		assert_int_equal(unlink(path), 0);
		write_xml(path, 304, 1, false);
		assert_int_equal(chmod(path, 0), 0);
		snprintf(msg, sizeof msg, "%s: replaced by a file that cannot be opened: %s", path,
		         strerror(EACCES));
		assert_kept(p, msg, "303", before, "3 shown / 3 read");
		assert_int_equal(chmod(path, 0644), 0); /* noticed like tail -F */
		wait_users(p, 304, 1);
	}
	/* After the chmod the newest row is the marker (record id 0) saying
	 * the file was replaced. */
	const char *last = geteuid() != 0 ? "0" : "303";
	const char *counts = geteuid() != 0 ? " / 5 read" : "3 shown / 3 read";
	table_text(p, last, before, sizeof before);

	assert_int_equal(unlink(path), 0);
	assert_int_equal(mkdir(path, 0755), 0);
	snprintf(msg, sizeof msg, "%s: replaced by a file that cannot be read: %s", path,
	         strerror(EISDIR));
	assert_kept(p, msg, last, before, counts);

	assert_int_equal(rmdir(path), 0);
	assert_int_equal(mkfifo(path, 0644), 0);
	snprintf(msg, sizeof msg, "%s: replaced by a file that cannot be read: not a regular file",
	         path);
	assert_kept(p, msg, last, before, counts);
	assert_true(pty_find(p, " LIVE ", NULL, NULL));

	assert_int_equal(unlink(path), 0);
	write_xml(path, 305, 1, false);
	wait_users(p, 305, 1);
	e2e_quit(p);
	pty_free(p);
}

/* A true read error: the name now leads to /proc/self/mem, which the
 * reader opens as a regular file and whose read() at offset 0 fails with
 * EIO. The source ends with the error shown; what was read stays. */
static void test_read_error(void **state)
{
	(void)state;
	char path[512], msg[600];
	tu_path(path, sizeof path, "eio.xml");
	write_xml(path, 401, 3, false);
	pty *p = viewer(path, "3 shown / 3 read");
	wait_users(p, 401, 3);

	assert_int_equal(unlink(path), 0);
	assert_int_equal(symlink("/proc/self/mem", path), 0);
	snprintf(msg, sizeof msg, "%s: byte 0: read error: %s", path, strerror(EIO));
	assert_true(pty_wait_text(p, msg, E2E_WAIT_MS));
	assert_true(pty_wait_text(p, " END OF INPUT ", E2E_WAIT_MS));
	wait_users(p, 401, 3); /* under a marker: file replaced */

	pty_send(p, "q");
	int status = -1;
	char why[128];
	assert_true(pty_wait_exit(p, E2E_WAIT_MS, &status));
	assert_int_equal(status, 1); /* a source failed while being read */
	if (!pty_restored(p, why, sizeof why))
		fail_msg("terminal not restored: %s", why);
	assert_true(pty_find(p, msg, NULL, NULL)); /* repeated on stderr */
	assert_int_equal(unlink(path), 0);
	pty_free(p);
}

static void test_tiny_terminal(void **state)
{
	(void)state;
	char path[512];
	tu_path(path, sizeof path, "tiny.xml");
	write_xml(path, 501, 3, false);
	pty *p = pty_start(NULL, (const char *[]){path, NULL});
	assert_true(pty_wait_text(p, "3 shown / 3 read", E2E_WAIT_MS));
	wait_users(p, 501, 3);

	/* 3 rows: the header, the table's heading and the key hints (on row 2:
	 * drawn at that size). Back at 24x80 every row is shown again. */
	pty_resize(p, 3, 30);
	assert_true(pty_wait_row(p, 2, "? help", E2E_WAIT_MS));
	pty_resize(p, 24, 80);
	wait_users(p, 501, 3);

	/* 1x1: keys that move, sort, toggle and redraw; then \ opens the text
	 * prompt, whose first letter fills the screen once all were read. */
	pty_resize(p, 1, 1);
	pty_send(p, "jkgG<>rdzEE\x0c");
	pty_key(p, PTY_DOWN);
	pty_send(p, "\\");
	assert_true(pty_wait_row(p, 0, "F", E2E_WAIT_MS));
	pty_key(p, PTY_ESC);
	pty_send(p, "?");
	pty_resize(p, 24, 80);
	/* The help (?) and then the table, drawn in full at the new size. */
	assert_true(pty_wait_text(p, "Keys (Esc, q or ? to close", E2E_WAIT_MS));
	pty_key(p, PTY_ESC);
	assert_true(pty_wait_text(p, "3 shown / 3 read", E2E_WAIT_MS));
	wait_users(p, 501, 3);
	assert_true(pty_wait_row(p, 23, "help", E2E_WAIT_MS)); /* the key hints */
	e2e_quit(p);
	pty_free(p);
}

/* Appends s to buf, single-quoted for the shell. */
static void shell_word(char *buf, size_t cap, const char *s)
{
	size_t n = strlen(buf);
	n += (size_t)snprintf(buf + n, cap - n, "%s'", n ? " " : "");
	for (; *s && n + 6 < cap; s++)
		n += (size_t)snprintf(buf + n, cap - n, *s == '\'' ? "'\\''" : "%c", *s);
	snprintf(buf + n, cap - n, "'");
}

static bool stopped_at_prompt(pty *p, void *user)
{
	(void)user;
	return pty_find(p, "Stopped", NULL, NULL) && pty_restored(p, NULL, 0);
}

/* As a user does it: the viewer started from an interactive shell with
 * job control (a process whose group is orphaned ignores Ctrl-Z). */
static void test_ctrl_z_and_fg(void **state)
{
	(void)state;
	char path[512], cmd[2048] = "";
	const char *w = getenv("DW_WRAPPER");
	if (w && strstr(w, "valgrind")) {
		/* It ignores the default action of a SIGTSTP the program raises
		 * itself: the viewer would never stop. */
		print_message("skipped: valgrind does not stop a program on SIGTSTP\n");
		skip();
	}
	tu_path(path, sizeof path, "suspend.xml");
	write_xml(path, 601, 3, false);
	pty_opts o = {.env = (const char *const[]){"PS1=dwsh$ ", "HISTFILE=/dev/null", NULL}};
	pty *p = pty_spawn(&o, (const char *[]){"bash", "--norc", "--noprofile", "-i", NULL});
	assert_true(pty_wait_text(p, "dwsh$", E2E_WAIT_MS));

	/* $DW_WRAPPER too, as pty_start() runs it. */
	char wrapper[256];
	snprintf(wrapper, sizeof wrapper, "%s", w ? w : "");
	for (char *save, *tok = strtok_r(wrapper, " \t", &save); tok;
	     tok = strtok_r(NULL, " \t", &save))
		shell_word(cmd, sizeof cmd, tok);
	shell_word(cmd, sizeof cmd, pty_binary());
	shell_word(cmd, sizeof cmd, path);
	pty_send(p, cmd);
	pty_send(p, "\r");
	assert_true(pty_wait_text(p, "3 shown / 3 read", E2E_WAIT_MS));
	wait_users(p, 601, 3);

	pty_send(p, "\x1a"); /* Ctrl-Z */
	if (!pty_wait_for(p, stopped_at_prompt, NULL, E2E_WAIT_MS)) {
		pty_dump(p, "after Ctrl-Z");
		fail_msg("no \"Stopped\" on a restored terminal");
	}
	/* Stopped, it reads nothing: these arrive after fg. */
	write_xml(path, 604, 1, true);
	pty_send(p, "fg\r");
	assert_true(pty_wait_text(p, "4 shown / 4 read", E2E_WAIT_MS));
	wait_users(p, 601, 4);
	assert_false(pty_restored(p, NULL, 0)); /* the viewer's screen again */

	pty_send(p, "q");
	assert_true(pty_wait_text(p, "dwsh$", E2E_WAIT_MS));
	pty_send(p, "echo \"rc=$?\"\r");
	assert_true(pty_wait_text(p, "rc=0", E2E_WAIT_MS));
	char why[128];
	if (!pty_restored(p, why, sizeof why))
		fail_msg("terminal not restored: %s", why);
	pty_send(p, "exit\r");
	assert_true(pty_wait_exit(p, E2E_WAIT_MS, NULL));
	pty_free(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_deleted_xml_viewer),
		cmocka_unit_test(test_deleted_evtx_viewer),
		cmocka_unit_test(test_deleted_print_waits),
		cmocka_unit_test(test_unreadable_replacement),
		cmocka_unit_test(test_read_error),
		cmocka_unit_test(test_tiny_terminal),
		cmocka_unit_test(test_ctrl_z_and_fg),
	};
	return cmocka_run_group_tests(tests, tu_group_setup, tu_group_teardown);
}
