/* tui.c - the viewer's main loop: terminal setup and restore, signals,
 * the header and bottom lines, prompts and the actions every screen shares.
 *
 * One thread. poll() waits on the keyboard, the ring's wake pipe, a
 * self-pipe the signal handlers write to, and a timer (1 s: the arrival
 * rate; message expiry). Nothing is drawn unless a dirty flag is set; each
 * pass ends with one doupdate(). */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <langinfo.h>
#include <limits.h>
#include <locale.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>

#include "export.h"
#include "sanitize.h"
#include "tui_impl.h"

/* A backlog (a large log at start) is taken in slices: a pass takes slices
 * for up to PASS_MS, then draws, and stops early when a key or signal is
 * waiting, so a key waits for one slice at most. Feeding correlation costs
 * 2-6 us an event: a slice is a few ms. */
#define SLICE_EVENTS 1024
#define PASS_MS 40
#define TICK_MS 1000
#define MSG_SECONDS 5

/* ---- signals: handlers only write one byte to the self-pipe ---- */

static int sig_pipe[2] = { -1, -1 };

static void on_signal(int sig)
{
	int saved = errno;
	char c = sig == SIGWINCH ? 'w' : sig == SIGTSTP ? 'z' : 'q';
	ssize_t r = write(sig_pipe[1], &c, 1);
	(void)r; /* a full pipe already holds a wake-up */
	errno = saved;
}

/* On a crash (a bug, not a user action) the loop will never run again: the
 * handler itself puts the terminal back, with async-signal-safe calls only
 * (write, tcsetattr), then dies as it would have. */
static char crash_reset[256];
static size_t crash_len;
static int crash_fd = -1;
static struct termios crash_termios;
static bool crash_termios_ok;
static const int crash_sigs[] = { SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT };

static void on_crash(int sig)
{
	if (crash_fd >= 0) {
		ssize_t r = write(crash_fd, crash_reset, crash_len);
		(void)r;
		if (crash_termios_ok)
			tcsetattr(crash_fd, TCSANOW, &crash_termios);
	}
	signal(sig, SIG_DFL);
	raise(sig);
}

/* Call before newterm(): remembers the terminal as the user had it and the
 * sequences that undo what curses does (leave the alternate screen, show
 * the cursor, plain attributes, no mouse reporting). Handlers that are
 * already installed (a sanitizer's) are left alone. */
static void crash_prepare(int fd)
{
	crash_fd = fd;
	crash_termios_ok = tcgetattr(fd, &crash_termios) == 0;
	static const char reset[] = "\033[?1000l\033[?1002l\033[?1003l\033[?1006l"
	                            "\033[0m\033[?25h\033[?1049l\r\n";
	memcpy(crash_reset, reset, sizeof reset - 1);
	crash_len = sizeof reset - 1;
	struct sigaction sa, old;
	memset(&sa, 0, sizeof sa);
	sigemptyset(&sa.sa_mask);
	sa.sa_handler = on_crash;
	for (size_t i = 0; i < sizeof crash_sigs / sizeof crash_sigs[0]; i++)
		if (sigaction(crash_sigs[i], NULL, &old) == 0 && old.sa_handler == SIG_DFL)
			sigaction(crash_sigs[i], &sa, NULL);
}

static void crash_forget(void)
{
	for (size_t i = 0; i < sizeof crash_sigs / sizeof crash_sigs[0]; i++) {
		struct sigaction old;
		if (sigaction(crash_sigs[i], NULL, &old) == 0 && old.sa_handler == on_crash)
			signal(crash_sigs[i], SIG_DFL);
	}
	crash_fd = -1;
}

static void set_handlers(bool on)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sigemptyset(&sa.sa_mask);
	sa.sa_handler = on ? on_signal : SIG_DFL;
	sa.sa_flags = SA_RESTART;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL); /* terminal gone: quit and clean up (the demo log) */
	sigaction(SIGWINCH, &sa, NULL);
	sigaction(SIGTSTP, &sa, NULL);
}

/* ---- drawing helpers ---- */

int tui_put(tui *t, WINDOW *w, int y, int x, int width, const char *s, size_t len, attr_t a)
{
	char buf[1024];
	if (width <= 0)
		return 0;
	if (len > 4 * sizeof buf)
		len = 4 * sizeof buf; /* more than any screen line can show */
	san_text(buf, sizeof buf, s, len, t->utf8 ? SAN_SCREEN : SAN_ASCII);
	size_t used;
	size_t n = san_fit(buf, strlen(buf), (size_t)width, &used);
	wattrset(w, a);
	mvwaddnstr(w, y, x, buf, (int)n);
	for (int i = (int)used; i < width; i++)
		waddch(w, ' ');
	return (int)used;
}

int tui_puts(tui *t, WINDOW *w, int y, int x, int width, const char *s, attr_t a)
{
	char buf[1024];
	if (width <= 0)
		return 0;
	san_text(buf, sizeof buf, s, strlen(s), t->utf8 ? SAN_SCREEN : SAN_ASCII);
	size_t used;
	size_t n = san_fit(buf, strlen(buf), (size_t)width, &used);
	wattrset(w, a);
	mvwaddnstr(w, y, x, buf, (int)n);
	return (int)used;
}

static void now(struct timespec *ts)
{
	clock_gettime(CLOCK_MONOTONIC, ts);
}

static long ms_until(const struct timespec *then)
{
	struct timespec n;
	now(&n);
	return (then->tv_sec - n.tv_sec) * 1000 + (then->tv_nsec - n.tv_nsec) / 1000000;
}

void tui_message(tui *t, theme_role role, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(t->msg, sizeof t->msg, fmt, ap);
	va_end(ap);
	t->msg_role = role;
	now(&t->msg_until);
	t->msg_until.tv_sec += MSG_SECONDS;
	t->dirty_hint = true;
}

/* ---- header ---- */

static void fmt_count(uint64_t n, char *buf, size_t cap)
{
	char tmp[32];
	int len = snprintf(tmp, sizeof tmp, "%" PRIu64, n);
	size_t k = 0;
	for (int i = 0; i < len && k + 2 < cap; i++) {
		if (i > 0 && (len - i) % 3 == 0)
			buf[k++] = ',';
		buf[k++] = tmp[i];
	}
	buf[k] = '\0';
}

static const char *state_text(tui *t, theme_role *role)
{
	if (view_frozen(t->v)) {
		*role = TR_STATE_PAUSED;
		return " PAUSED ";
	}
	bool live = false;
	for (size_t i = 0; i < t->o->nsources; i++) {
		source_stats st;
		source_get_stats(t->o->sources[i], &st);
		if (st.state == SRC_READING || st.state == SRC_FOLLOWING)
			live = true;
	}
	if (live) {
		*role = TR_STATE_LIVE;
		return " LIVE ";
	}
	*role = TR_STATE_END;
	return " END OF INPUT ";
}

static void draw_header(tui *t)
{
	WINDOW *w = t->hdr;
	attr_t ha = t->attr[TR_HEADER];
	wbkgdset(w, ' ' | ha);
	werase(w);
	theme_role sr;
	const char *state = state_text(t, &sr);
	int x = tui_puts(t, w, 0, 0, t->cols, " dupwatch ", ha | A_BOLD);
	x += tui_puts(t, w, 0, x, t->cols - x, state, t->attr[sr]);

	view_stats vs;
	view_get_stats(t->v, &vs);
	uint64_t skipped = 0;
	for (size_t i = 0; i < t->o->nsources; i++) {
		source_stats st;
		source_get_stats(t->o->sources[i], &st);
		skipped += st.skipped;
	}
	char shown[32], total[32], ev[32], sk[32], line[256];
	fmt_count(vs.shown, shown, sizeof shown);
	fmt_count(vs.taken, total, sizeof total);
	fmt_count(vs.evicted, ev, sizeof ev);
	fmt_count(skipped, sk, sizeof sk);
	int n = snprintf(line, sizeof line, " %s shown / %s read  %s evicted  %s skipped  %.1f/s",
	                 shown, total, ev, sk, t->rate);
	if (!view_following(t->v) && view_unseen(t->v))
		n += snprintf(line + n, sizeof line - (size_t)n, "  +%" PRIu64 " new (F: follow)",
		              view_unseen(t->v));
	if (vs.waiting && view_frozen(t->v))
		snprintf(line + n, sizeof line - (size_t)n, "  %" PRIu64 " waiting", vs.waiting);
	x += tui_puts(t, w, 0, x, t->cols - x, line, ha);

	/* Second line: sources, then filter chips. */
	if (getmaxy(w) < 2)
		return;
	x = 0;
	for (size_t i = 0; i < t->o->nsources && x < t->cols; i++) {
		const char *name = source_name(t->o->sources[i]);
		x += tui_puts(t, w, 1, x, t->cols - x, i ? ", " : " ", ha);
		x += tui_puts(t, w, 1, x, t->cols - x, name, ha);
	}
	for (size_t i = 0; i < view_filter_count(t->v) && x < t->cols; i++) {
		char chip[VIEW_TEXT_MAX + 64];
		size_t len = view_filter_label(view_filter_get(t->v, i), t->decimal, chip + 1,
		                               sizeof chip - 2);
		chip[0] = '[';
		if (len + 2 < sizeof chip) {
			chip[len + 1] = ']';
			chip[len + 2] = '\0';
		}
		x += tui_puts(t, w, 1, x, t->cols - x, " ", ha);
		x += tui_puts(t, w, 1, x, t->cols - x, chip, t->attr[TR_CHIP]);
	}
	if (!view_all_events(t->v) && x + 12 < t->cols)
		tui_puts(t, w, 1, t->cols - 11, 11, "4690 only  ", ha);
}

/* ---- bottom line: prompt, message or key hints ---- */

static const key_action hints[] = {
	ACT_HELP, ACT_QUIT, ACT_FOCUS, ACT_ZOOM, ACT_FILTER_SRC, ACT_FILTER_TGT, ACT_FILTER_PID,
	ACT_FILTER_CROSS, ACT_FILTER_TEXT, ACT_SEARCH, ACT_SORT_NEXT, ACT_FREEZE, ACT_EXPORT,
	ACT_PIVOT_PROCESS, ACT_PIVOT_HANDLE, ACT_AGGREGATE,
};

static const char *hint_word(key_action a)
{
	switch (a) {
	case ACT_HELP: return "help";
	case ACT_QUIT: return "quit";
	case ACT_FOCUS: return "detail";
	case ACT_ZOOM: return "zoom";
	case ACT_FILTER_SRC: return "src";
	case ACT_FILTER_TGT: return "tgt";
	case ACT_FILTER_PID: return "pid";
	case ACT_FILTER_CROSS: return "cross";
	case ACT_FILTER_TEXT: return "text";
	case ACT_SEARCH: return "search";
	case ACT_SORT_NEXT: return "sort";
	case ACT_FREEZE: return "pause";
	case ACT_EXPORT: return "export";
	case ACT_PIVOT_PROCESS: return "process";
	case ACT_PIVOT_HANDLE: return "handle";
	case ACT_AGGREGATE: return "pairs";
	default: return key_action_name(a);
	}
}

static const char *prompt_label(enum prompt_kind k)
{
	switch (k) {
	case PROMPT_PID: return "PID (0x1ac or 428): ";
	case PROMPT_TEXT: return "Filter text: ";
	case PROMPT_SEARCH: return "/";
	case PROMPT_EXPORT: return "Export to (.csv, .tsv, .json, .jsonl): ";
	default: return "";
	}
}

static void draw_hint(tui *t)
{
	WINDOW *w = t->hint;
	werase(w);
	if (t->prompt != PROMPT_NONE) {
		attr_t a = t->attr[TR_PROMPT];
		wbkgdset(w, ' ' | a);
		werase(w);
		int x = tui_puts(t, w, 0, 0, t->cols, prompt_label(t->prompt), a);
		x += tui_put(t, w, 0, x, t->cols - x - 1, t->pbuf, t->plen, a);
		return;
	}
	if (t->msg[0] && ms_until(&t->msg_until) > 0) {
		attr_t a = t->attr[t->msg_role];
		wbkgdset(w, ' ' | a);
		werase(w);
		tui_put(t, w, 0, 0, t->cols, t->msg, strlen(t->msg), a);
		return;
	}
	t->msg[0] = '\0';
	wbkgdset(w, ' ' | t->attr[TR_HINT]);
	werase(w);
	int x = 0;
	for (size_t i = 0; i < sizeof hints / sizeof hints[0] && x < t->cols; i++) {
		size_t n;
		const key_binding *b = keys_bindings(&n);
		const char *key = "";
		for (size_t j = 0; j < n; j++)
			if (b[j].action == hints[i]) {
				key = b[j].key;
				break;
			}
		x += tui_puts(t, w, 0, x, t->cols - x, " ", t->attr[TR_HINT]);
		x += tui_puts(t, w, 0, x, t->cols - x, key, t->attr[TR_HINT_KEY]);
		x += tui_puts(t, w, 0, x, t->cols - x, " ", t->attr[TR_HINT]);
		x += tui_puts(t, w, 0, x, t->cols - x, hint_word(hints[i]), t->attr[TR_HINT]);
	}
}

/* ---- windows ---- */

static void make_windows(tui *t)
{
	if (t->hdr)
		delwin(t->hdr);
	if (t->body)
		delwin(t->body);
	if (t->hint)
		delwin(t->hint);
	getmaxyx(stdscr, t->rows, t->cols);
	int hh = t->rows >= 8 ? 2 : 1;
	int bh = t->rows - hh - 1;
	if (bh < 1)
		bh = 1;
	t->hdr = newwin(hh, t->cols, 0, 0);
	t->body = newwin(bh, t->cols, hh, 0);
	t->hint = newwin(1, t->cols, t->rows - 1, 0);
	/* Keys are read through the bottom line's window: it is refreshed
	 * every pass, and the prompt's cursor lives there. */
	keypad(t->hint, TRUE);
	nodelay(t->hint, TRUE);
	t->dirty_hdr = t->dirty_body = t->dirty_hint = true;
	table_layout(t);
}

static void draw(tui *t)
{
	if (!t->hdr || !t->body || !t->hint)
		return;
	if (t->dirty_hdr) {
		draw_header(t);
		wnoutrefresh(t->hdr);
	}
	if (t->dirty_body) {
		t->screen->draw(t);
		wnoutrefresh(t->body);
	}
	if (t->dirty_hint || t->dirty_body) {
		draw_hint(t);
		wnoutrefresh(t->hint);
	}
	if (t->prompt != PROMPT_NONE) {
		curs_set(1);
		int x = (int)san_width(prompt_label(t->prompt), strlen(prompt_label(t->prompt))) +
		        (int)t->plen;
		wmove(t->hint, 0, x < t->cols ? x : t->cols - 1);
		wnoutrefresh(t->hint);
	} else {
		curs_set(0);
	}
	t->dirty_hdr = t->dirty_body = t->dirty_hint = false;
	doupdate();
}

/* ---- actions every screen shares ---- */

static void after_view_change(tui *t)
{
	table_scroll(t);
	t->dirty_body = t->dirty_hdr = true;
	t->agg.stale = true;
}

void tui_view_changed(tui *t)
{
	after_view_change(t);
}

void tui_push_filter(tui *t, const view_filter *f)
{
	dw_status st = view_filter_push(t->v, f);
	if (st == DW_RANGE)
		tui_message(t, TR_ERROR, "at most %d filters", VIEW_FILTERS_MAX);
	else if (st != DW_OK)
		tui_message(t, TR_ERROR, "empty filter ignored");
	after_view_change(t);
}

static void filter_from_sel(tui *t, vf_kind k)
{
	view_filter f;
	if (view_filter_from_sel(t->v, k, &f) != DW_OK) {
		tui_message(t, TR_ERROR, "the selected row has no %s",
		            k == VF_USER ? "subject user" : k == VF_SRC_PID ? "source PID" : "target PID");
		return;
	}
	tui_push_filter(t, &f);
}

static void flag_filter(tui *t, vf_kind k)
{
	view_filter f;
	memset(&f, 0, sizeof f);
	f.kind = k;
	tui_push_filter(t, &f);
}

/* o, O, h: the pivots show every event (the 4656s, 4658s and 4688s that
 * tell the story), so they switch to all events. */
static void pivot(tui *t, key_action a)
{
	view_filter f;
	dw_status st = a == ACT_PIVOT_TARGET ? view_filter_target_process(t->v, &f)
	             : view_filter_from_sel(t->v, a == ACT_PIVOT_HANDLE ? VF_HANDLE : VF_PROCESS, &f);
	if (st != DW_OK) {
		tui_message(t, TR_ERROR, "%s",
		            a == ACT_PIVOT_HANDLE ? "no known handle in the selected row"
		            : a == ACT_PIVOT_TARGET ? "the selected row is not a 4690 with a known target"
		                                    : "no known process in the selected row");
		return;
	}
	bool switched = !view_all_events(t->v);
	if (switched) {
		view_set_all_events(t->v, true);
		table_layout(t);
	}
	tui_push_filter(t, &f);
	if (switched)
		tui_message(t, TR_MESSAGE, "showing all events (E: 4690 only, Backspace: drop the pivot)");
}

/* The rows shown, in their order, with what correlation knows (the same
 * keys as --print). */
static void do_export(tui *t, const char *path)
{
	dw_err err = { 0 };
	correl_at at = { view_correl(t->v), 0 };
	export_corr hook = { correl_export_process, correl_export_object, &at };
	export_opts o = { .all_events = view_all_events(t->v), .corr = &hook };
	exporter *x = NULL;
	dw_status st = export_format_for(path, &o.format, &err);
	if (st == DW_OK)
		st = exporter_open_path(&x, path, &o, &err);
	size_t n = view_count(t->v), written = 0, gone = 0;
	/* The ring lock keeps the events alive while they are written. */
	ring_lock(t->o->ring);
	for (size_t i = 0; i < n && st == DW_OK; i++) {
		uint64_t seq;
		view_row(t->v, i, &seq);
		const event *ev = ring_at(t->o->ring, seq);
		if (!ev) {
			gone++;
			continue;
		}
		at.seq = seq;
		st = exporter_write(x, ev, &err);
		written += st == DW_OK;
	}
	ring_unlock(t->o->ring);
	dw_status cst = exporter_close(x, st == DW_OK ? &err : NULL);
	if (st == DW_OK)
		st = cst;
	if (st != DW_OK) {
		tui_message(t, TR_ERROR, "export failed: %s", err.msg);
		return;
	}
	char abs[PATH_MAX];
	const char *where = realpath(path, abs) ? abs : path;
	tui_message(t, TR_MESSAGE, "exported %zu rows to %s%s", written, where,
	            gone ? " (rows evicted from the ring left out)" : "");
}

static void search_step(tui *t, int dir, bool skip_current)
{
	if (!t->search[0]) {
		tui_message(t, TR_MESSAGE, "no search yet: / to search");
		return;
	}
	size_t sel = view_sel(t->v);
	size_t from = sel == SIZE_MAX ? 0 : sel;
	if (skip_current && view_count(t->v)) {
		size_t n = view_count(t->v);
		from = dir > 0 ? (from + 1) % n : (from + n - 1) % n;
	}
	size_t p = view_search(t->v, t->search, from, dir);
	if (p == SIZE_MAX) {
		tui_message(t, TR_ERROR, "not found: %s", t->search);
		return;
	}
	view_select(t->v, p);
	after_view_change(t);
}

static void prompt_open(tui *t, enum prompt_kind k)
{
	t->prompt = k;
	t->plen = 0;
	t->pbuf[0] = '\0';
	if (k == PROMPT_EXPORT) {
		snprintf(t->pbuf, sizeof t->pbuf, "dupwatch-export.csv");
		t->plen = strlen(t->pbuf);
	}
	if (k == PROMPT_SEARCH) {
		size_t sel = view_sel(t->v);
		t->search_from = sel == SIZE_MAX ? 0 : sel;
	}
	t->dirty_hint = true;
}

static void prompt_done(tui *t, bool ok)
{
	enum prompt_kind k = t->prompt;
	t->prompt = PROMPT_NONE;
	t->dirty_hint = true;
	if (!ok) {
		if (k == PROMPT_SEARCH) { /* back to where the search began */
			view_select(t->v, t->search_from);
			after_view_change(t);
		}
		return;
	}
	view_filter f;
	memset(&f, 0, sizeof f);
	switch (k) {
	case PROMPT_PID: {
		dw_num n = num_parse(t->pbuf, t->plen);
		if (n.st != NUM_OK || n.v > UINT32_MAX) {
			tui_message(t, TR_ERROR, "not a PID: %s (0x1ac or 428)", t->pbuf);
			return;
		}
		f.kind = VF_PID;
		f.num = n.v;
		tui_push_filter(t, &f);
		break;
	}
	case PROMPT_TEXT:
		f.kind = VF_TEXT;
		snprintf(f.text, sizeof f.text, "%s", t->pbuf);
		tui_push_filter(t, &f);
		break;
	case PROMPT_SEARCH:
		snprintf(t->search, sizeof t->search, "%s", t->pbuf);
		break;
	case PROMPT_EXPORT:
		if (t->plen)
			do_export(t, t->pbuf);
		break;
	case PROMPT_NONE:
		break;
	}
}

static void prompt_key(tui *t, int ch)
{
	if (ch == 27) {
		prompt_done(t, false);
		return;
	}
	if (ch == '\n' || ch == '\r' || ch == KEY_ENTER) {
		prompt_done(t, true);
		return;
	}
	if (ch == KEY_BACKSPACE || ch == 127 || ch == 8) {
		if (t->plen == 0) {
			prompt_done(t, false);
			return;
		}
		/* Drop a whole UTF-8 character. */
		do
			t->plen--;
		while (t->plen > 0 && ((unsigned char)t->pbuf[t->plen] & 0xc0) == 0x80);
	} else if (ch >= 32 && ch < 256 && ch != 127 && t->plen + 1 < sizeof t->pbuf) {
		t->pbuf[t->plen++] = (char)ch;
	} else {
		return;
	}
	t->pbuf[t->plen] = '\0';
	t->dirty_hint = true;
	if (t->prompt == PROMPT_SEARCH && t->plen) { /* incremental */
		size_t p = view_search(t->v, t->pbuf, t->search_from, 1);
		if (p != SIZE_MAX) {
			view_select(t->v, p);
			after_view_change(t);
		}
	}
}

static void cycle_sort(tui *t, int dir)
{
	const layout *l = &t->lay;
	view_col cur = view_sort_col(t->v);
	int i = 0;
	while (i < l->ncols && l->col[i] != cur)
		i++;
	i = i == l->ncols ? 0 : (i + dir + l->ncols) % l->ncols;
	if (l->col[i] == VC_OBJECT && l->ncols > 1) /* not sortable */
		i = (i + dir + l->ncols) % l->ncols;
	if (view_set_sort(t->v, l->col[i], view_sort_reverse(t->v)) != DW_OK)
		tui_message(t, TR_ERROR, "out of memory while sorting");
	after_view_change(t);
}

static void set_mouse(tui *t, bool on)
{
	t->mouse = on;
	mousemask(on ? (BUTTON1_PRESSED | BUTTON1_CLICKED | BUTTON4_PRESSED | BUTTON5_PRESSED) : 0,
	          NULL);
}

static void global_action(tui *t, key_action a)
{
	switch (a) {
	case ACT_QUIT: t->quit = true; break;
	case ACT_HELP:
		if (t->screen != &screen_help)
			t->back = t->screen;
		t->screen = &screen_help;
		t->dirty_body = true;
		break;
	case ACT_FREEZE:
		view_set_frozen(t->v, !view_frozen(t->v));
		t->dirty_hdr = true;
		break;
	case ACT_FOLLOW:
		view_set_follow(t->v, true);
		after_view_change(t);
		break;
	case ACT_SORT_PREV: cycle_sort(t, -1); break;
	case ACT_SORT_NEXT: cycle_sort(t, 1); break;
	case ACT_SORT_REVERSE:
		view_set_sort(t->v, view_sort_col(t->v), !view_sort_reverse(t->v));
		after_view_change(t);
		break;
	case ACT_FILTER_SRC: filter_from_sel(t, VF_SRC_PID); break;
	case ACT_FILTER_TGT: filter_from_sel(t, VF_TGT_PID); break;
	case ACT_FILTER_USER: filter_from_sel(t, VF_USER); break;
	case ACT_FILTER_CROSS: {
		view_filter f;
		memset(&f, 0, sizeof f);
		f.kind = VF_CROSS;
		tui_push_filter(t, &f);
		break;
	}
	case ACT_FILTER_SYSTEM: flag_filter(t, VF_SYSTEM); break;
	case ACT_FILTER_ALERT: flag_filter(t, VF_ALERT); break;
	case ACT_PIVOT_PROCESS:
	case ACT_PIVOT_TARGET:
	case ACT_PIVOT_HANDLE: pivot(t, a); break;
	case ACT_AGGREGATE:
		t->back = &screen_main;
		t->screen = &screen_aggregate;
		t->agg.stale = true;
		t->dirty_body = t->dirty_hdr = true;
		break;
	case ACT_FILTER_PID: prompt_open(t, PROMPT_PID); break;
	case ACT_FILTER_TEXT: prompt_open(t, PROMPT_TEXT); break;
	case ACT_SEARCH: prompt_open(t, PROMPT_SEARCH); break;
	case ACT_EXPORT: prompt_open(t, PROMPT_EXPORT); break;
	case ACT_FILTER_POP:
		if (!view_filter_pop(t->v))
			tui_message(t, TR_MESSAGE, "no filter to drop");
		after_view_change(t);
		break;
	case ACT_BACK:
		view_filter_clear(t->v);
		after_view_change(t);
		break;
	case ACT_SEARCH_NEXT: search_step(t, 1, true); break;
	case ACT_SEARCH_PREV: search_step(t, -1, true); break;
	case ACT_ALL_EVENTS:
		view_set_all_events(t->v, !view_all_events(t->v));
		table_layout(t);
		after_view_change(t);
		break;
	case ACT_DECIMAL:
		t->decimal = !t->decimal;
		t->det.valid = false; /* the detail shows numbers too */
		t->dirty_body = t->dirty_hdr = true;
		break;
	case ACT_UTC:
		t->utc = !t->utc;
		t->det.valid = false;
		t->dirty_body = true;
		break;
	case ACT_THEME: look_next(t); break;
	case ACT_MOUSE:
		set_mouse(t, !t->mouse);
		tui_message(t, TR_MESSAGE, "mouse %s", t->mouse ? "captured" : "released: select text freely");
		break;
	case ACT_RAW: t->det.raw = !t->det.raw; t->det.valid = false; t->dirty_body = true; break;
	case ACT_REDRAW: clearok(curscr, TRUE); t->dirty_hdr = t->dirty_body = t->dirty_hint = true; break;
	default: break;
	}
}

static void handle_mouse(tui *t)
{
	MEVENT m;
	if (getmouse(&m) != OK)
		return;
	int by, bx;
	getbegyx(t->body, by, bx);
	if (m.y < by || m.y >= by + getmaxy(t->body))
		return;
	if (t->screen->mouse)
		t->screen->mouse(t, &m, m.y - by, m.x - bx);
}

static void handle_key(tui *t, int ch)
{
	if (t->prompt != PROMPT_NONE) {
		prompt_key(t, ch);
		return;
	}
	if (ch == KEY_MOUSE) {
		handle_mouse(t);
		return;
	}
	if (ch == KEY_RESIZE) {
		make_windows(t);
		return;
	}
	key_action a = input_action(ch);
	if (a == ACT_NONE)
		return;
	if (!t->screen->key(t, a))
		global_action(t, a);
}

/* ---- terminal ---- */

static void suspend(tui *t)
{
	def_prog_mode();
	endwin();
	/* Stop for real with the default action, then come back here. */
	struct sigaction sa, old;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = SIG_DFL;
	sigaction(SIGTSTP, &sa, &old);
	raise(SIGTSTP);
	sigaction(SIGTSTP, &old, NULL);
	reset_prog_mode();
	set_mouse(t, t->mouse);
	clearok(curscr, TRUE);
	make_windows(t);
}

/* Our SIGWINCH handler replaces ncurses' own: ask the terminal its size. */
static void resize(tui *t)
{
	struct winsize ws;
	if (ioctl(fileno(t->tty), TIOCGWINSZ, &ws) == 0 && ws.ws_row > 0 && ws.ws_col > 0)
		resizeterm(ws.ws_row, ws.ws_col);
	make_windows(t);
}

static void restore(tui *t)
{
	WINDOW **w[] = { &t->hdr, &t->body, &t->hint };
	for (size_t i = 0; i < 3; i++)
		if (*w[i]) {
			delwin(*w[i]);
			*w[i] = NULL;
		}
	if (t->scr) {
		mousemask(0, NULL);
		curs_set(1);
		endwin();
		delscreen(t->scr);
		t->scr = NULL;
	}
	if (t->tty)
		fclose(t->tty);
	t->tty = NULL;
}

static void update_rate(tui *t)
{
	struct timespec n;
	ring_stats rs;
	now(&n);
	ring_get_stats(t->o->ring, &rs);
	double dt = (double)(n.tv_sec - t->rate_at.tv_sec) + (double)(n.tv_nsec - t->rate_at.tv_nsec) / 1e9;
	if (dt >= 0.5) {
		double r = (double)(rs.pushed - t->rate_pushed) / dt;
		t->rate = t->rate_at.tv_sec ? 0.5 * t->rate + 0.5 * r : 0;
		t->rate_pushed = rs.pushed;
		t->rate_at = n;
	}
}

/* New messages from the readers (bad records, theme lines ...). */
static void show_log(tui *t)
{
	if (!t->o->log)
		return;
	uint64_t n = msglog_count(t->o->log);
	if (n == t->log_next)
		return;
	char buf[512];
	int lvl = msglog_get(t->o->log, n - 1, buf, sizeof buf);
	t->log_next = n;
	if (lvl >= 0)
		tui_message(t, lvl == MSG_ERROR ? TR_ERROR : TR_MESSAGE, "%s", buf);
}

/* A key or a signal waits to be handled. */
static bool input_waiting(tui *t)
{
	struct pollfd p[2] = { { fileno(t->tty), POLLIN, 0 }, { sig_pipe[0], POLLIN, 0 } };
	return poll(p, 2, 0) > 0;
}

/* Takes in arrivals for one pass (see SLICE_EVENTS); the first rows end
 * it at once, to be drawn. True when the rows shown changed. */
static bool intake(tui *t, bool *more)
{
	struct timespec until;
	now(&until);
	until.tv_nsec += PASS_MS * 1000000L;
	bool empty = view_count(t->v) == 0, changed = false;
	do
		changed |= view_update(t->v, SLICE_EVENTS, more);
	while (*more && !(empty && view_count(t->v)) && ms_until(&until) > 0 && !input_waiting(t));
	return changed;
}

static void drain(int fd)
{
	char buf[256];
	while (read(fd, buf, sizeof buf) > 0)
		;
}

static dw_status loop(tui *t)
{
	struct timespec tick;
	now(&tick);
	bool more = true;
	while (!t->quit) {
		if (intake(t, &more)) {
			table_scroll(t);
			t->dirty_body = t->dirty_hdr = true;
			t->agg.arrived = true;
		}
		show_log(t);
		draw(t);

		long timeout = ms_until(&tick);
		if (timeout <= 0) {
			update_rate(t);
			t->dirty_hdr = true;
			if (t->screen == &screen_aggregate && t->agg.arrived)
				t->dirty_body = true;
			now(&tick);
			tick.tv_sec += TICK_MS / 1000;
			timeout = TICK_MS;
		}
		if (t->msg[0]) {
			long m = ms_until(&t->msg_until);
			if (m < timeout)
				timeout = m < 0 ? 0 : m;
			if (m <= 0)
				t->dirty_hint = true;
		}
		if (more && !view_frozen(t->v))
			timeout = 0;
		struct pollfd p[3] = {
			{ fileno(t->tty), POLLIN, 0 },
			{ t->o->wake_fd, POLLIN, 0 },
			{ sig_pipe[0], POLLIN, 0 },
		};
		int r = poll(p, 3, (int)timeout);
		if (r < 0 && errno != EINTR)
			return DW_IO;
		if (r <= 0)
			continue;
		if (p[2].revents & POLLIN) {
			char c[16];
			ssize_t n = read(sig_pipe[0], c, sizeof c);
			for (ssize_t i = 0; i < n; i++) {
				if (c[i] == 'q')
					t->quit = true;
				else if (c[i] == 'z')
					suspend(t);
				else if (c[i] == 'w')
					resize(t);
			}
		}
		if (p[1].revents & POLLIN) {
			drain(t->o->wake_fd);
			ring_ack_wake(t->o->ring);
			more = true;
			t->dirty_hdr = true;
		}
		if (p[0].revents & (POLLIN | POLLHUP | POLLERR)) {
			int ch;
			int keys = 0;
			while ((ch = wgetch(t->hint)) != ERR && !t->quit) {
				handle_key(t, ch);
				keys++;
			}
			if (keys == 0 && (p[0].revents & (POLLHUP | POLLERR)))
				t->quit = true; /* the terminal went away */
			else if (keys && !t->quit)
				draw(t); /* show the key's effect before taking in more */
		}
	}
	return DW_OK;
}

static bool utf8_locale(void)
{
	const char *cs = nl_langinfo(CODESET);
	return cs && (strcmp(cs, "UTF-8") == 0 || strcmp(cs, "utf8") == 0);
}

dw_status tui_run(const tui_opts *opts, dw_err *err)
{
	tui *t = calloc(1, sizeof *t);
	if (!t)
		return dw_err_set(err, DW_NOMEM, "viewer: out of memory");
	t->o = opts;
	t->agg.key = CORREL_PAIR_COUNT; /* most duplications first */
	t->agg.desc = true;
	t->v = view_create(opts->ring, opts->all_events);
	if (!t->v) {
		free(t);
		return dw_err_set(err, DW_NOMEM, "viewer: out of memory for %zu events",
		                  ring_capacity(opts->ring));
	}
	if (opts->config) {
		t->decimal = opts->config->decimal;
		t->utc = opts->config->utc;
		t->mouse = opts->config->mouse;
	} else {
		t->mouse = true;
	}
	setlocale(LC_ALL, "");
	t->utf8 = utf8_locale();
	if (opts->log)
		t->log_next = msglog_count(opts->log);

	dw_status st = DW_OK;
	t->tty = fopen("/dev/tty", "r+");
	if (!t->tty) {
		st = dw_err_set(err, DW_OPEN, "viewer: cannot open /dev/tty: %s (use --print without a terminal)",
		                strerror(errno));
		goto out;
	}
	if (pipe(sig_pipe) != 0) {
		st = dw_err_set(err, DW_IO, "viewer: pipe: %s", strerror(errno));
		goto out;
	}
	for (int i = 0; i < 2; i++) {
		fcntl(sig_pipe[i], F_SETFL, O_NONBLOCK);
		fcntl(sig_pipe[i], F_SETFD, FD_CLOEXEC);
	}
	set_handlers(true);
	crash_prepare(fileno(t->tty));
	set_escdelay(25);
	t->scr = newterm(NULL, t->tty, t->tty);
	if (!t->scr) {
		st = dw_err_set(err, DW_OPEN, "viewer: cannot set up the terminal (TERM=%s)",
		                getenv("TERM") ? getenv("TERM") : "");
		goto out;
	}
	set_term(t->scr);
	cbreak();
	noecho();
	nonl();
	curs_set(0);
	mouseinterval(0);
	input_init();
	look_init(t);
	set_mouse(t, t->mouse);
	t->screen = t->back = &screen_main;
	make_windows(t);
	now(&t->rate_at);
	t->rate_at.tv_sec = 0;
	st = loop(t);
	if (st != DW_OK)
		dw_err_set(err, st, "viewer: poll failed: %s", strerror(errno));
out:
	restore(t);
	crash_forget();
	set_handlers(false);
	for (int i = 0; i < 2; i++)
		if (sig_pipe[i] >= 0) {
			close(sig_pipe[i]);
			sig_pipe[i] = -1;
		}
	detail_free(&t->det);
	aggregate_free(&t->agg);
	view_destroy(t->v);
	free(t);
	return st;
}
