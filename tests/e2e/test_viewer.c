/* The viewer end to end, in a pseudo-terminal: table rows, the three detail
 * sections, each filter key, sort order, follow and pause, resize, help,
 * themes, export, mouse, and quitting with the terminal restored. */
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
#include "e2e_util.h"
#include "testutil.h"

typedef struct tdir {
	char dir[64];
	char file[128];
} tdir;

/* A 4690 of the example (fs01, admmig's SID and logon) with these
 * values; pids and handles {src pid, tgt pid, src handle, tgt handle} go in
 * as written, unpadded. */
static void put_4690(xg_buf *b, unsigned long long rec, const char *time, const char *user,
                     const char *domain, const char *const ph[4])
{
	xg_4690 x;
	xg_4690_init(&x);
	x.ev.record_id = rec;
	x.ev.time = time;
	x.f[1].value = user;
	x.f[2].value = domain;
	x.f[3].value = "0x65b0f5db";
	x.f[4].value = ph[2];
	x.f[5].value = ph[0];
	x.f[6].value = ph[3];
	x.f[7].value = ph[1];
	xg_event_xml(b, &x.ev, XG_ONELINE);
}

static const char *const example_ph[4] = { "0x678", "0x4", "0xaf8", "0x1748" };

/* Record 100: notepad.exe 0x9c4 started by 0x678 (for all-events tests). */
static void put_4688(xg_buf *b)
{
	static const xg_field f[] = {
		{ "SubjectUserSid", "S-1-5-18" },  { "SubjectUserName", "FS01$" },
		{ "SubjectDomainName", "OFFSEC" }, { "SubjectLogonId", "0x3e7" },
		{ "NewProcessId", "0x9c4" },       { "NewProcessName", "C:\\Windows\\System32\\notepad.exe" },
		{ "ProcessId", "0x678" },
	};
	xg_event e = {
		.provider = "Microsoft-Windows-Security-Auditing", .event_id = 4688,
		.time = "2021-10-08T12:57:10.0000000Z", .record_id = 100, .pid = 4, .tid = 8,
		.channel = "Security", .computer = "fs01.offsec.lan",
		.fields = f, .n_fields = sizeof f / sizeof f[0],
	};
	xg_event_xml(b, &e, XG_ONELINE);
}

/* Three events, in time and record order:
 *   101 admmig OFFSEC  0x678 -> 0x4     handles 0xaf8 -> 0x1748
 *   102 alice  OFFSEC  0x1ac -> 0x1ac   handles 0x10 -> 0x20
 *   103 bob    CORP    0x9c4 -> 0x678   handles 0x30 -> 0x40 */
static void write_events(tdir *t, bool with_4688)
{
	static const char *const users[] = { "admmig", "alice", "bob" };
	static const char *const times[] = { "2021-10-08T12:57:12.8425776Z",
		                             "2021-10-08T12:57:13.0000000Z",
		                             "2021-10-08T12:57:14.0000000Z" };
	static const char *const ph[][4] = { { "0x678", "0x4", "0xaf8", "0x1748" },
		                             { "0x1ac", "0x1ac", "0x10", "0x20" },
		                             { "0x9c4", "0x678", "0x30", "0x40" } };
	assert_int_equal(tu_tmpdir_make(t->dir, sizeof t->dir, "dw-viewer"), 0);
	snprintf(t->file, sizeof t->file, "%s/events.xml", t->dir);
	xg_buf b;
	xg_init(&b);
	if (with_4688)
		put_4688(&b);
	for (int i = 0; i < 3; i++)
		put_4690(&b, 101 + (unsigned)i, times[i], users[i], i == 2 ? "CORP" : "OFFSEC", ph[i]);
	assert_int_equal(xg_write_file(t->file, &b), 0);
	xg_free(&b);
}

/* Appends one more 4690 (record id rec, user "carol") to the file. */
static void append_event(tdir *t, unsigned long long rec)
{
	xg_buf b;
	xg_init(&b);
	put_4690(&b, rec, "2021-10-08T12:58:00.0000000Z", "carol", "OFFSEC", example_ph);
	assert_int_equal(xg_append_file(t->file, &b), 0);
	xg_free(&b);
}

static void cleanup(tdir *t)
{
	assert_int_equal(tu_tmpdir_remove(t->dir), 0);
}

static pty *start(tdir *t, const pty_opts *o, const char *extra)
{
	const char *args[] = { t->file, extra, NULL };
	if (extra) {
		args[0] = extra;
		args[1] = t->file;
	}
	pty *p = pty_start(o, args);
	assert_true(pty_wait_text(p, "shown /", E2E_WAIT_MS));
	return p;
}

static void test_rows_and_detail(void **state)
{
	(void)state;
	tdir t;
	write_events(&t, false);
	pty *p = start(&t, NULL, NULL);
	assert_true(pty_wait_text(p, "3 shown / 3 read", E2E_WAIT_MS));
	char row[256];
	/* Rows 3-5 under the heading, oldest first; hex PIDs like Windows. */
	/* The last column: the whole row has been drawn. */
	assert_true(pty_wait_row(p, 3, "0x1748", E2E_WAIT_MS));
	pty_row(p, 3, row, sizeof row);
	assert_non_null(strstr(row, "OFFSEC\\admmig"));
	assert_non_null(strstr(row, "12:57:12.842"));
	assert_non_null(strstr(row, "0x678"));
	assert_non_null(strstr(row, "0x1748"));
	assert_true(pty_wait_row(p, 5, "CORP\\bob", E2E_WAIT_MS));
	/* Tab: the detail pane takes the keys and scrolls. */
	assert_true(pty_wait_text(p, "Account Domain:", E2E_WAIT_MS));
	assert_false(pty_find(p, "Logon ID:", NULL, NULL)); /* below the pane */
	pty_key(p, PTY_TAB);
	assert_true(pty_wait_text(p, "Tab: back to the table", E2E_WAIT_MS));
	pty_key(p, PTY_DOWN);
	pty_key(p, PTY_DOWN);
	assert_true(pty_wait_text(p, "Logon ID:", E2E_WAIT_MS));
	assert_true(pty_find(p, "CORP\\bob", NULL, NULL)); /* the selection did not move */
	pty_key(p, PTY_TAB);
	assert_true(pty_wait_text(p, "Tab: focus", E2E_WAIT_MS));
	/* Following: the newest row (103) is selected; full-screen detail. */
	pty_key(p, PTY_ENTER);
	/* The last line of the three sections: the screen is drawn top down,
	 * so everything above it is there too. */
	assert_true(pty_wait_text(p, "Target Process ID:", E2E_WAIT_MS));
	e2e_assert_labelled(p, "Record ID:", "103");
	e2e_assert_labelled(p, "Computer:", "fs01.offsec.lan");
	assert_true(pty_find(p, "Subject:", NULL, NULL));
	e2e_assert_labelled(p, "Security ID:", "S-1-5-21-4230534742-2542757381-3142984815-1111");
	e2e_assert_labelled(p, "Account Name:", "bob");
	e2e_assert_labelled(p, "Account Domain:", "CORP");
	e2e_assert_labelled(p, "Logon ID:", "0x65b0f5db");
	assert_true(pty_find(p, "Source Handle Information:", NULL, NULL));
	e2e_assert_labelled(p, "Source Handle ID:", "0x30");
	e2e_assert_labelled(p, "Source Process ID:", "0x9c4");
	e2e_assert_labelled(p, "Target Handle ID:", "0x40");
	e2e_assert_labelled(p, "Target Process ID:", "0x678");
	e2e_assert_labelled(p, "System Time:", "2021-10-08T12:57:14.0000000Z");
	e2e_assert_labelled(p, "  Time:", "2021-10-08 12:57:14.000");
	/* x adds the raw EventData; Esc goes back to the table. */
	pty_send(p, "x");
	assert_true(pty_wait_text(p, "Event Data (raw):", E2E_WAIT_MS));
	pty_key(p, PTY_ESC);
	assert_true(pty_wait_text(p, "Time", E2E_WAIT_MS));
	assert_true(pty_wait_row(p, 5, "CORP\\bob", E2E_WAIT_MS));
	/* d: decimal; 0x9c4 is 2500. */
	pty_send(p, "d");
	assert_true(pty_wait_row(p, 5, "2500", E2E_WAIT_MS));
	e2e_quit(p);
	pty_free(p);
	cleanup(&t);
}

static void test_filter_keys(void **state)
{
	(void)state;
	tdir t;
	write_events(&t, false);
	pty *p = start(&t, NULL, NULL);
	assert_true(pty_wait_text(p, "3 shown", E2E_WAIT_MS));
	/* The selection is on 103 (bob, 0x9c4 -> 0x678). */
	e2e_filter(p, "p", "[src=0x9c4]", "1 shown / 3 read");
	e2e_filter(p, "\x7f", NULL, "3 shown / 3 read");
	assert_true(pty_wait_gone(p, "[src=", E2E_WAIT_MS));
	e2e_filter(p, "P", "[tgt=0x678]", "1 shown / 3 read");
	pty_key(p, PTY_ESC);
	assert_true(pty_wait_text(p, "3 shown / 3 read", E2E_WAIT_MS));
	e2e_filter(p, "=0x678\r", "[pid=0x678]", "2 shown / 3 read"); /* either side */
	e2e_filter(p, "\x7f=428\r", "[pid=0x1ac]", "1 shown / 3 read"); /* decimal */
	pty_key(p, PTY_ESC);
	assert_true(pty_wait_text(p, "3 shown / 3 read", E2E_WAIT_MS));
	e2e_filter(p, "u", "[user=CORP\\bob]", "1 shown / 3 read");
	pty_key(p, PTY_ESC);
	e2e_filter(p, "X", "[cross]", "2 shown / 3 read");
	assert_true(pty_wait_gone(p, "alice", E2E_WAIT_MS));
	/* Filters combine: cross AND text. */
	e2e_filter(p, "\\admmig\r", "[text~admmig]", "1 shown / 3 read");
	assert_true(pty_find(p, "[cross]", NULL, NULL));
	pty_key(p, PTY_ESC);
	assert_true(pty_wait_text(p, "3 shown / 3 read", E2E_WAIT_MS));
	assert_true(pty_wait_gone(p, "[cross]", E2E_WAIT_MS));
	/* A filter that keeps nothing says so. */
	e2e_filter(p, "=0x1\r", "[pid=0x1]", "0 shown / 3 read");
	assert_true(pty_wait_text(p, "no event matches the filters", E2E_WAIT_MS));
	e2e_quit(p);
	pty_free(p);
	cleanup(&t);
}

static bool row4_underlined(pty *p, void *user)
{
	(void)user;
	pty_cell c;
	return pty_cell_at(p, 4, 20, &c) && c.underline;
}

static void test_sort_and_search(void **state)
{
	(void)state;
	tdir t;
	write_events(&t, false);
	pty *p = start(&t, NULL, NULL);
	assert_true(pty_wait_row(p, 5, "CORP\\bob", E2E_WAIT_MS));
	/* Time -> Record -> Computer -> Subject. */
	pty_send(p, ">>>");
	assert_true(pty_wait_text(p, "Subject\u25b2", E2E_WAIT_MS));
	assert_true(pty_wait_row(p, 3, "CORP\\bob", E2E_WAIT_MS));
	assert_true(pty_wait_row(p, 4, "OFFSEC\\admmig", E2E_WAIT_MS));
	assert_true(pty_wait_row(p, 5, "OFFSEC\\alice", E2E_WAIT_MS));
	pty_send(p, "r");
	assert_true(pty_wait_text(p, "Subject\u25bc", E2E_WAIT_MS));
	assert_true(pty_wait_row(p, 3, "OFFSEC\\alice", E2E_WAIT_MS));
	assert_true(pty_wait_row(p, 5, "CORP\\bob", E2E_WAIT_MS));
	/* Back to time; search selects the match and the detail follows. */
	pty_send(p, "<<<r");
	assert_true(pty_wait_text(p, "Time\u25b2", E2E_WAIT_MS));
	assert_true(pty_wait_row(p, 3, "OFFSEC\\admmig", E2E_WAIT_MS));
	pty_send(p, "/alice\r");
	assert_true(pty_wait_text(p, "Account Name:         alice", E2E_WAIT_MS));
	pty_send(p, "n");
	assert_true(pty_wait_text(p, "Account Name:         alice", E2E_WAIT_MS));
	/* Other rows the search would stop at are underlined. */
	pty_send(p, "/alice\rk"); /* found on row 4; then select row 3 */
	assert_true(pty_wait_for(p, row4_underlined, NULL, E2E_WAIT_MS));
	pty_cell c;
	assert_true(pty_cell_at(p, 5, 20, &c)); /* CORP\bob: no match */
	assert_false(c.underline);
	pty_send(p, "/nobody-at-all\r");
	pty_send(p, "n");
	assert_true(pty_wait_text(p, "not found: nobody-at-all", E2E_WAIT_MS));
	e2e_quit(p);
	pty_free(p);
	cleanup(&t);
}

static void test_follow_and_pause(void **state)
{
	(void)state;
	tdir t;
	write_events(&t, false);
	pty *p = start(&t, NULL, NULL);
	assert_true(pty_wait_text(p, "3 shown / 3 read", E2E_WAIT_MS));
	assert_true(pty_find(p, "LIVE", NULL, NULL));
	append_event(&t, 104);
	assert_true(pty_wait_text(p, "4 shown / 4 read", E2E_WAIT_MS));
	/* Following: the new row is selected. */
	assert_true(pty_wait_text(p, "Account Name:         carol", E2E_WAIT_MS));
	/* Moving up stops following; arrivals are counted. */
	pty_key(p, PTY_UP);
	assert_true(pty_wait_text(p, "Account Name:         bob", E2E_WAIT_MS));
	append_event(&t, 105);
	assert_true(pty_wait_text(p, "+1 new", E2E_WAIT_MS));
	assert_true(pty_find(p, "Account Name:         bob", NULL, NULL));
	pty_send(p, "F");
	assert_true(pty_wait_gone(p, "+1 new", E2E_WAIT_MS));
	assert_true(pty_wait_text(p, "Record ID:            105", E2E_WAIT_MS));
	/* Space freezes: the event reaches the ring but not the table. */
	pty_send(p, " ");
	assert_true(pty_wait_text(p, "PAUSED", E2E_WAIT_MS));
	append_event(&t, 106);
	assert_true(pty_wait_text(p, "1 waiting", E2E_WAIT_MS));
	assert_true(pty_find(p, "5 shown / 5 read", NULL, NULL));
	pty_send(p, " ");
	assert_true(pty_wait_text(p, "6 shown / 6 read", E2E_WAIT_MS));
	assert_true(pty_wait_text(p, "LIVE", E2E_WAIT_MS));
	e2e_quit(p);
	pty_free(p);
	cleanup(&t);
}

static void test_resize(void **state)
{
	(void)state;
	tdir t;
	write_events(&t, false);
	pty *p = start(&t, NULL, NULL);
	assert_true(pty_wait_row(p, 2, "Src Hdl", E2E_WAIT_MS));
	pty_resize(p, 12, 40);
	assert_true(pty_wait_gone(p, "Src Hdl", E2E_WAIT_MS));
	char row[128];
	assert_true(pty_wait_row(p, 2, "Tgt PID", E2E_WAIT_MS));
	pty_row(p, 2, row, sizeof row);
	assert_non_null(strstr(row, "Src PID"));
	assert_true(pty_wait_row(p, 5, "0x9c4", E2E_WAIT_MS));
	pty_resize(p, 40, 160);
	assert_true(pty_wait_row(p, 2, "Logon ID", E2E_WAIT_MS));
	assert_true(pty_wait_row(p, 2, "Src Handle", E2E_WAIT_MS));
	assert_true(pty_wait_text(p, "2021-10-08 12:57:14.000", E2E_WAIT_MS));
	assert_true(pty_wait_text(p, "Source Handle Information:", E2E_WAIT_MS));
	e2e_quit(p);
	pty_free(p);
	cleanup(&t);
}

static void test_help_and_all_events(void **state)
{
	(void)state;
	tdir t;
	write_events(&t, true);
	pty *p = start(&t, NULL, NULL);
	assert_true(pty_wait_text(p, "3 shown / 4 read", E2E_WAIT_MS));
	pty_send(p, "?");
	assert_true(pty_wait_text(p, "Keep the selected row's source PID", E2E_WAIT_MS));
	assert_true(pty_find(p, "Keys (Esc", NULL, NULL));
	pty_key(p, PTY_ESC);
	assert_true(pty_wait_gone(p, "Keep the selected row's source PID", E2E_WAIT_MS));
	pty_key(p, PTY_F1);
	assert_true(pty_wait_text(p, "Keep the selected row's source PID", E2E_WAIT_MS));
	pty_send(p, "?");
	assert_true(pty_wait_gone(p, "Keys (Esc", E2E_WAIT_MS));
	/* E: every event, with an Event ID column. */
	pty_send(p, "E");
	assert_true(pty_wait_text(p, "4 shown / 4 read", E2E_WAIT_MS));
	assert_true(pty_wait_row(p, 2, "Event", E2E_WAIT_MS));
	assert_true(pty_wait_row(p, 3, "4688", E2E_WAIT_MS));
	pty_send(p, "g\r");
	assert_true(pty_wait_text(p, "Event 4688", E2E_WAIT_MS));
	assert_true(pty_wait_text(p, "notepad.exe", E2E_WAIT_MS));
	e2e_assert_labelled(p, "NewProcessName:", "notepad.exe");
	e2e_quit(p);
	pty_free(p);
	cleanup(&t);
}

static int header_bg(pty *p)
{
	pty_cell c;
	assert_true(pty_cell_at(p, 0, 1, &c));
	return c.bg;
}

static bool bg_is(pty *p, void *user)
{
	return header_bg(p) == *(int *)user;
}

static void test_themes(void **state)
{
	(void)state;
	tdir t;
	write_events(&t, false);
	pty *p = start(&t, NULL, NULL);
	int want = 4; /* default.theme: header = white blue */
	assert_true(pty_wait_for(p, bg_is, &want, E2E_WAIT_MS));
	pty_send(p, "T");
	assert_true(pty_wait_text(p, "theme: high-contrast", E2E_WAIT_MS));
	want = 15; /* black on bright-white */
	assert_true(pty_wait_for(p, bg_is, &want, E2E_WAIT_MS));
	e2e_quit(p);
	pty_free(p);

	/* --theme by name. */
	p = start(&t, NULL, "--theme=light");
	want = 4;
	assert_true(pty_wait_for(p, bg_is, &want, E2E_WAIT_MS));
	e2e_quit(p);
	pty_free(p);

	/* A bad line is named with its file and line; the rest applies. */
	char path[192];
	snprintf(path, sizeof path, "%s/mine.theme", t.dir);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs("# mine\nheader = white red\nrow.cross = purple\n", f);
	assert_int_equal(fclose(f), 0);
	char arg[256];
	snprintf(arg, sizeof arg, "--theme=%s", path);
	p = start(&t, NULL, arg);
	assert_true(pty_wait_text(p, "mine.theme:3: unknown colour", E2E_WAIT_MS));
	want = 1;
	assert_true(pty_wait_for(p, bg_is, &want, E2E_WAIT_MS));
	e2e_quit(p);
	pty_free(p);

	/* A user theme in $XDG_CONFIG_HOME/dupwatch/themes, by name. */
	snprintf(path, sizeof path, "%s/dupwatch", t.dir);
	assert_int_equal(mkdir(path, 0700), 0);
	snprintf(path, sizeof path, "%s/dupwatch/themes", t.dir);
	assert_int_equal(mkdir(path, 0700), 0);
	snprintf(path, sizeof path, "%s/dupwatch/themes/zz-mine.theme", t.dir);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs("header = black green\n", f);
	assert_int_equal(fclose(f), 0);
	char xdg[200];
	snprintf(xdg, sizeof xdg, "XDG_CONFIG_HOME=%s", t.dir);
	const char *xenv[] = { xdg, NULL };
	pty_opts xo = { .env = xenv };
	p = start(&t, &xo, "--theme=zz-mine");
	want = 2;
	assert_true(pty_wait_for(p, bg_is, &want, E2E_WAIT_MS));
	pty_send(p, "T"); /* the last theme: T wraps to default */
	assert_true(pty_wait_text(p, "theme: default", E2E_WAIT_MS));
	want = 4;
	assert_true(pty_wait_for(p, bg_is, &want, E2E_WAIT_MS));
	e2e_quit(p);
	pty_free(p);

	/* NO_COLOR: no colour at all, the header still stands out. */
	const char *env[] = { "NO_COLOR=1", NULL };
	pty_opts o = { .env = env };
	p = start(&t, &o, NULL);
	pty_cell c;
	assert_true(pty_cell_at(p, 0, 1, &c));
	assert_int_equal(c.bg, -1);
	assert_int_equal(c.fg, -1);
	assert_true(c.reverse);
	e2e_quit(p);
	pty_free(p);
	cleanup(&t);
}

/* z switches local time and UTC; an 8-colour terminal gets the nearest
 * colours, bright ones as bold. */
static void test_time_zone_and_8_colours(void **state)
{
	(void)state;
	tdir t;
	write_events(&t, false);
	const char *env[] = { "TZ=Etc/GMT-9", "TERM=xterm", NULL }; /* UTC+9 */
	pty_opts o = { .env = env };
	pty *p = start(&t, &o, NULL);
	assert_true(pty_wait_row(p, 5, "21:57:14.000", E2E_WAIT_MS));
	assert_true(pty_wait_text(p, "2021-10-08 21:57:14.000 local", E2E_WAIT_MS));
	pty_send(p, "z");
	assert_true(pty_wait_row(p, 5, "12:57:14.000", E2E_WAIT_MS));
	assert_true(pty_wait_text(p, "2021-10-08 12:57:14.000 UTC", E2E_WAIT_MS));
	int want = 4;
	assert_true(pty_wait_for(p, bg_is, &want, E2E_WAIT_MS));
	int row, col;
	pty_cell c;
	assert_true(pty_find(p, "LIVE", &row, &col));
	assert_true(pty_cell_at(p, row, col, &c));
	assert_true(c.bold);       /* bright-green on 8 colours */
	assert_true(c.fg >= 0 && c.fg < 8);
	e2e_quit(p);
	pty_free(p);
	cleanup(&t);
}

/* $XDG_CONFIG_HOME/dupwatch/config sets the defaults. */
static void test_config_defaults(void **state)
{
	(void)state;
	tdir t;
	write_events(&t, false);
	char path[256], env_xdg[200];
	snprintf(path, sizeof path, "%s/dupwatch", t.dir);
	assert_int_equal(mkdir(path, 0700), 0);
	snprintf(path, sizeof path, "%s/dupwatch/config", t.dir);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs("numbers = decimal\ntimezone = utc\ncolumns = Time, Src PID, Tgt PID\n"
	      "theme = monochrome\n", f);
	assert_int_equal(fclose(f), 0);
	snprintf(env_xdg, sizeof env_xdg, "XDG_CONFIG_HOME=%s", t.dir);
	const char *env[] = { env_xdg, "TZ=Etc/GMT-9", NULL };
	pty_opts o = { .env = env };
	pty *p = start(&t, &o, NULL);
	assert_true(pty_wait_row(p, 5, "1656", E2E_WAIT_MS)); /* 0x678, the last column */
	char row[256];
	pty_row(p, 5, row, sizeof row);
	assert_non_null(strstr(row, "12:57:14.000")); /* UTC, not +9 */
	assert_non_null(strstr(row, "2500")); /* 0x9c4 */
	pty_row(p, 2, row, sizeof row);
	assert_null(strstr(row, "Subject"));
	assert_null(strstr(row, "Record"));
	assert_non_null(strstr(row, "Src PID"));
	pty_cell c;
	assert_true(pty_cell_at(p, 0, 1, &c));
	assert_true(c.reverse); /* monochrome: the header in reverse, no colour */
	assert_int_equal(c.bg, -1);
	e2e_quit(p);
	pty_free(p);
	cleanup(&t);
}

static void test_export(void **state)
{
	(void)state;
	tdir t;
	write_events(&t, false);
	pty_opts o = { .cwd = NULL };
	o.cwd = t.dir;
	pty *p = start(&t, &o, NULL);
	assert_true(pty_wait_text(p, "3 shown / 3 read", E2E_WAIT_MS));
	pty_send(p, "X"); /* the export is of the filtered view */
	assert_true(pty_wait_text(p, "2 shown / 3 read", E2E_WAIT_MS));
	pty_send(p, "e");
	assert_true(pty_wait_text(p, "dupwatch-export.csv", E2E_WAIT_MS));
	pty_key(p, PTY_ENTER);
	char want[256];
	snprintf(want, sizeof want, "exported 2 rows to %s/dupwatch-export.csv", t.dir);
	assert_true(pty_wait_text(p, want, E2E_WAIT_MS));
	char path[192], line[1024];
	snprintf(path, sizeof path, "%s/dupwatch-export.csv", t.dir);
	FILE *f = fopen(path, "r");
	assert_non_null(f);
	int n = 0;
	bool saw_101 = false, saw_103 = false;
	while (fgets(line, sizeof line, f)) {
		n++;
		saw_101 |= strncmp(line, "101,", 4) == 0;
		saw_103 |= strncmp(line, "103,", 4) == 0;
	}
	fclose(f);
	assert_int_equal(n, 3); /* header + 2 rows */
	assert_true(saw_101 && saw_103);
	/* JSON Lines by extension, written in the sort order. */
	pty_send(p, "r");
	pty_send(p, "e");
	assert_true(pty_wait_text(p, "dupwatch-export.csv", E2E_WAIT_MS));
	for (int i = 0; i < 3; i++)
		pty_key(p, PTY_BACKSPACE);
	pty_send(p, "jsonl\r");
	assert_true(pty_wait_text(p, "dupwatch-export.jsonl", E2E_WAIT_MS));
	snprintf(path, sizeof path, "%s/dupwatch-export.jsonl", t.dir);
	f = fopen(path, "r");
	assert_non_null(f);
	assert_non_null(fgets(line, sizeof line, f));
	assert_non_null(strstr(line, "\"record_id\":103"));
	fclose(f);
	e2e_quit(p);
	pty_free(p);
	cleanup(&t);
}

static void test_mouse(void **state)
{
	(void)state;
	tdir t;
	write_events(&t, false);
	pty *p = start(&t, NULL, NULL);
	assert_true(pty_wait_row(p, 5, "CORP\\bob", E2E_WAIT_MS));
	int row, col;
	assert_true(pty_find(p, "Subject", &row, &col));
	pty_click(p, row, col + 1, 1);
	assert_true(pty_wait_text(p, "Subject\u25b2", E2E_WAIT_MS));
	assert_true(pty_wait_row(p, 3, "CORP\\bob", E2E_WAIT_MS));
	pty_click(p, 5, 3, 1); /* OFFSEC\alice */
	assert_true(pty_wait_text(p, "Account Name:         alice", E2E_WAIT_MS));
	/* The wheel scrolls the selection. */
	pty_wheel(p, 5, 3, 1); /* up from OFFSEC\alice (the last row) */
	assert_true(pty_wait_text(p, "Account Name:         bob", E2E_WAIT_MS));
	/* M releases the mouse: clicks no longer reach dupwatch. */
	pty_send(p, "M");
	assert_true(pty_wait_text(p, "mouse released", E2E_WAIT_MS));
	e2e_quit(p);
	pty_free(p);
	cleanup(&t);
}

static void test_ctrl_c_restores(void **state)
{
	(void)state;
	tdir t;
	write_events(&t, false);
	pty *p = start(&t, NULL, NULL);
	pty_ctrl(p, 'c');
	e2e_exit_clean(p);
	pty_free(p);
	cleanup(&t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rows_and_detail),
		cmocka_unit_test(test_filter_keys),
		cmocka_unit_test(test_sort_and_search),
		cmocka_unit_test(test_follow_and_pause),
		cmocka_unit_test(test_resize),
		cmocka_unit_test(test_help_and_all_events),
		cmocka_unit_test(test_themes),
		cmocka_unit_test(test_time_zone_and_8_colours),
		cmocka_unit_test(test_config_defaults),
		cmocka_unit_test(test_export),
		cmocka_unit_test(test_mouse),
		cmocka_unit_test(test_ctrl_c_restores),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
