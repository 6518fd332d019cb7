#include "pty.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pty.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <vterm.h>

#ifndef DW_BINARY_DEFAULT
#define DW_BINARY_DEFAULT "dupwatch"
#endif

struct pty {
	pid_t pid;
	int fd;       /* master side, non-blocking */
	int pidfd;    /* readable once the child exits; -1 if unsupported */
	bool eof;     /* the child closed the terminal */
	bool exited;
	int status;   /* exit code, or 128 + signal */
	int rows, cols;
	VTerm *vt;
	VTermScreen *screen;
	/* Terminal state the program set, for pty_restored() and tests. */
	bool altscreen, cursor_visible;
	int mouse;
	char title[512];
};

static long long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void write_all(int fd, const char *s, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, s, len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN) {
				struct pollfd pfd = {.fd = fd, .events = POLLOUT};
				poll(&pfd, 1, 1000);
				continue;
			}
			return; /* child gone: the test's next wait reports it */
		}
		s += n;
		len -= (size_t)n;
	}
}

/* libvterm's replies and key encodings go to the program. */
static void on_output(const char *s, size_t len, void *user)
{
	pty *p = user;
	write_all(p->fd, s, len);
}

static int on_termprop(VTermProp prop, VTermValue *val, void *user)
{
	pty *p = user;
	switch (prop) {
	case VTERM_PROP_ALTSCREEN:
		p->altscreen = val->boolean;
		break;
	case VTERM_PROP_CURSORVISIBLE:
		p->cursor_visible = val->boolean;
		break;
	case VTERM_PROP_MOUSE:
		p->mouse = val->number;
		break;
	case VTERM_PROP_TITLE:
		snprintf(p->title, sizeof p->title, "%s", val->string ? val->string : "");
		break;
	default:
		break;
	}
	return 1;
}

static const VTermScreenCallbacks screen_cbs = {
	.settermprop = on_termprop,
};

const char *pty_binary(void)
{
	const char *b = getenv("DW_BINARY");
	return b && *b ? b : DW_BINARY_DEFAULT;
}

/* In the child, before exec: never returns. */
static void child_exec(const pty_opts *o, const char *const *argv)
{
	setenv("TERM", "xterm-256color", 1);
	setenv("TZ", "UTC", 1);
	setenv("LC_ALL", "C.UTF-8", 1);
	setenv("XDG_CONFIG_HOME", "/nonexistent/dupwatch-e2e-config", 1);
	unsetenv("NO_COLOR");
	unsetenv("COLUMNS");
	unsetenv("LINES");
	for (const char *const *e = o->env; e && *e; e++) {
		const char *eq = strchr(*e, '=');
		if (!eq) {
			unsetenv(*e);
			continue;
		}
		char name[256];
		snprintf(name, sizeof name, "%.*s", (int)(eq - *e), *e);
		setenv(name, eq + 1, 1);
	}
	if (o->cwd && chdir(o->cwd) != 0) {
		fprintf(stderr, "pty: chdir %s: %s\n", o->cwd, strerror(errno));
		_exit(127);
	}
	if (o->stdin_path) {
		int fd = open(o->stdin_path, O_RDONLY);
		if (fd < 0 || dup2(fd, 0) < 0) {
			fprintf(stderr, "pty: %s: %s\n", o->stdin_path, strerror(errno));
			_exit(127);
		}
		close(fd);
	}
	execvp(argv[0], (char *const *)(uintptr_t)argv);
	fprintf(stderr, "pty: exec %s: %s\n", argv[0], strerror(errno));
	_exit(127);
}

pty *pty_spawn(const pty_opts *o, const char *const *argv)
{
	static const pty_opts defaults;
	if (!o)
		o = &defaults;
	pty *p = calloc(1, sizeof *p);
	if (!p)
		fail_msg("pty: out of memory");
	p->rows = o->rows > 0 ? o->rows : 24;
	p->cols = o->cols > 0 ? o->cols : 80;
	p->cursor_visible = true;
	p->pidfd = -1;

	p->vt = vterm_new(p->rows, p->cols);
	if (!p->vt)
		fail_msg("pty: vterm_new failed");
	vterm_set_utf8(p->vt, 1);
	vterm_output_set_callback(p->vt, on_output, p);
	p->screen = vterm_obtain_screen(p->vt);
	vterm_screen_enable_altscreen(p->screen, 1);
	vterm_screen_set_callbacks(p->screen, &screen_cbs, p);
	vterm_screen_reset(p->screen, 1);

	struct winsize ws = {.ws_row = (unsigned short)p->rows,
	                     .ws_col = (unsigned short)p->cols};
	fflush(NULL);
	p->pid = forkpty(&p->fd, NULL, NULL, &ws);
	if (p->pid < 0)
		fail_msg("pty: forkpty: %s", strerror(errno));
	if (p->pid == 0)
		child_exec(o, argv);
	fcntl(p->fd, F_SETFL, fcntl(p->fd, F_GETFL) | O_NONBLOCK);
	fcntl(p->fd, F_SETFD, FD_CLOEXEC); /* later children must not hold it */
#ifdef SYS_pidfd_open
	p->pidfd = (int)syscall(SYS_pidfd_open, p->pid, 0);
#endif
	return p;
}

pty *pty_start(const pty_opts *o, const char *const *args)
{
	const char *argv[64];
	size_t n = 0;
	/* $DW_WRAPPER (e.g. "valgrind -q --error-exitcode=99") runs the binary
	 * under a checker; words split at blanks. */
	char wrapper[256];
	const char *w = getenv("DW_WRAPPER");
	snprintf(wrapper, sizeof wrapper, "%s", w ? w : "");
	for (char *save, *tok = strtok_r(wrapper, " \t", &save); tok && n < 16;
	     tok = strtok_r(NULL, " \t", &save))
		argv[n++] = tok;
	argv[n++] = pty_binary();
	for (; args && *args; args++) {
		if (n + 1 >= sizeof argv / sizeof argv[0])
			fail_msg("pty: too many arguments");
		argv[n++] = *args;
	}
	argv[n] = NULL;
	return pty_spawn(o, argv);
}

/* Reaps the child if it has exited (no wait). */
static void reap(pty *p)
{
	if (p->exited)
		return;
	int st;
	pid_t r = waitpid(p->pid, &st, WNOHANG);
	if (r != p->pid)
		return;
	p->exited = true;
	p->status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

void pty_free(pty *p)
{
	if (!p)
		return;
	reap(p);
	if (!p->exited) {
		kill(p->pid, SIGKILL);
		waitpid(p->pid, NULL, 0);
	}
	close(p->fd);
	if (p->pidfd >= 0)
		close(p->pidfd);
	vterm_free(p->vt);
	free(p);
}

/* Reads whatever is there without waiting. */
static bool drain(pty *p)
{
	char buf[4096];
	bool got = false;
	while (!p->eof) {
		ssize_t n = read(p->fd, buf, sizeof buf);
		if (n > 0) {
			vterm_input_write(p->vt, buf, (size_t)n);
			got = true;
		} else if (n < 0 && errno == EINTR) {
			continue;
		} else if (n < 0 && errno == EAGAIN) {
			break;
		} else {
			p->eof = true; /* EIO: the slave side is closed */
		}
	}
	return got;
}

bool pty_pump(pty *p, int timeout_ms)
{
	if (p->eof)
		return false;
	struct pollfd pfd = {.fd = p->fd, .events = POLLIN};
	if (poll(&pfd, 1, timeout_ms) > 0)
		drain(p);
	return !p->eof;
}

void pty_send(pty *p, const char *s)
{
	write_all(p->fd, s, strlen(s));
}

void pty_key(pty *p, pty_keycode k)
{
	static const VTermKey map[] = {
		[PTY_UP] = VTERM_KEY_UP, [PTY_DOWN] = VTERM_KEY_DOWN,
		[PTY_LEFT] = VTERM_KEY_LEFT, [PTY_RIGHT] = VTERM_KEY_RIGHT,
		[PTY_HOME] = VTERM_KEY_HOME, [PTY_END] = VTERM_KEY_END,
		[PTY_PGUP] = VTERM_KEY_PAGEUP, [PTY_PGDN] = VTERM_KEY_PAGEDOWN,
		[PTY_ENTER] = VTERM_KEY_ENTER, [PTY_TAB] = VTERM_KEY_TAB,
		[PTY_BACKTAB] = VTERM_KEY_TAB, [PTY_ESC] = VTERM_KEY_ESCAPE,
		[PTY_BACKSPACE] = VTERM_KEY_BACKSPACE, [PTY_DEL] = VTERM_KEY_DEL,
		[PTY_F1] = VTERM_KEY_FUNCTION(1), [PTY_F2] = VTERM_KEY_FUNCTION(2),
		[PTY_F10] = VTERM_KEY_FUNCTION(10),
	};
	/* Take in what the program sent so far: it may have switched the
	 * cursor-key mode the encoding depends on. */
	drain(p);
	vterm_keyboard_key(p->vt, map[k], k == PTY_BACKTAB ? VTERM_MOD_SHIFT : VTERM_MOD_NONE);
}

void pty_ctrl(pty *p, char letter)
{
	char c[2] = {(char)(letter & 0x1f), 0};
	pty_send(p, c);
}

void pty_click(pty *p, int row, int col, int button)
{
	drain(p);
	vterm_mouse_move(p->vt, row, col, VTERM_MOD_NONE);
	vterm_mouse_button(p->vt, button, true, VTERM_MOD_NONE);
	vterm_mouse_button(p->vt, button, false, VTERM_MOD_NONE);
}

void pty_wheel(pty *p, int row, int col, int up)
{
	drain(p);
	vterm_mouse_move(p->vt, row, col, VTERM_MOD_NONE);
	vterm_mouse_button(p->vt, up > 0 ? 4 : 5, true, VTERM_MOD_NONE);
}

void pty_resize(pty *p, int rows, int cols)
{
	drain(p);
	p->rows = rows;
	p->cols = cols;
	vterm_set_size(p->vt, rows, cols);
	struct winsize ws = {.ws_row = (unsigned short)rows, .ws_col = (unsigned short)cols};
	ioctl(p->fd, TIOCSWINSZ, &ws);
}

static size_t put_utf8(char *out, uint32_t c)
{
	if (c < 0x80) {
		out[0] = (char)c;
		return 1;
	}
	if (c < 0x800) {
		out[0] = (char)(0xC0 | (c >> 6));
		out[1] = (char)(0x80 | (c & 0x3F));
		return 2;
	}
	if (c < 0x10000) {
		out[0] = (char)(0xE0 | (c >> 12));
		out[1] = (char)(0x80 | ((c >> 6) & 0x3F));
		out[2] = (char)(0x80 | (c & 0x3F));
		return 3;
	}
	out[0] = (char)(0xF0 | (c >> 18));
	out[1] = (char)(0x80 | ((c >> 12) & 0x3F));
	out[2] = (char)(0x80 | ((c >> 6) & 0x3F));
	out[3] = (char)(0x80 | (c & 0x3F));
	return 4;
}

/* The text of one cell (" " when empty); its width in columns. */
static int cell_text(pty *p, int row, int col, char *out, size_t cap, VTermScreenCell *cell)
{
	VTermPos pos = {.row = row, .col = col};
	vterm_screen_get_cell(p->screen, pos, cell);
	size_t n = 0;
	if (cell->chars[0] == 0 || cell->chars[0] == (uint32_t)-1) {
		out[n++] = ' ';
	} else {
		for (int i = 0; i < VTERM_MAX_CHARS_PER_CELL && cell->chars[i]; i++) {
			if (n + 5 > cap)
				break;
			n += put_utf8(out + n, cell->chars[i]);
		}
	}
	out[n] = '\0';
	return cell->width > 0 ? cell->width : 1;
}

char *pty_row(pty *p, int row, char *buf, size_t cap)
{
	size_t n = 0, keep = 0; /* keep: length without trailing blanks */
	if (cap == 0)
		return buf;
	for (int col = 0; col < p->cols && row >= 0 && row < p->rows;) {
		char t[32];
		VTermScreenCell cell;
		col += cell_text(p, row, col, t, sizeof t, &cell);
		size_t len = strlen(t);
		if (n + len + 1 > cap)
			break;
		memcpy(buf + n, t, len);
		n += len;
		if (strcmp(t, " ") != 0)
			keep = n;
	}
	buf[keep] = '\0';
	return buf;
}

char *pty_screen(pty *p, char *buf, size_t cap)
{
	size_t n = 0;
	if (cap == 0)
		return buf;
	buf[0] = '\0';
	for (int r = 0; r < p->rows; r++) {
		char line[2048];
		pty_row(p, r, line, sizeof line);
		int w = snprintf(buf + n, cap - n, "%s%s", line, r + 1 < p->rows ? "\n" : "");
		if (w < 0 || (size_t)w >= cap - n)
			break;
		n += (size_t)w;
	}
	return buf;
}

bool pty_find(pty *p, const char *text, int *row, int *col)
{
	for (int r = 0; r < p->rows; r++) {
		char line[2048];
		pty_row(p, r, line, sizeof line);
		const char *hit = strstr(line, text);
		if (hit) {
			if (row)
				*row = r;
			if (col) /* in columns: count characters before the hit */
				*col = 0;
			for (const char *s = line; col && s < hit; s++)
				if (((unsigned char)*s & 0xC0u) != 0x80u)
					(*col)++;
			return true;
		}
	}
	return false;
}

int pty_rows(const pty *p)
{
	return p->rows;
}

int pty_cols(const pty *p)
{
	return p->cols;
}

static int color_index(const VTermColor *c, bool fg)
{
	if (fg ? VTERM_COLOR_IS_DEFAULT_FG(c) : VTERM_COLOR_IS_DEFAULT_BG(c))
		return -1;
	if (VTERM_COLOR_IS_INDEXED(c))
		return c->indexed.idx;
	return -2; /* direct RGB: dupwatch never sets it */
}

bool pty_cell_at(pty *p, int row, int col, pty_cell *out)
{
	if (row < 0 || row >= p->rows || col < 0 || col >= p->cols)
		return false;
	VTermScreenCell cell;
	cell_text(p, row, col, out->text, sizeof out->text, &cell);
	out->fg = color_index(&cell.fg, true);
	out->bg = color_index(&cell.bg, false);
	out->bold = cell.attrs.bold;
	out->underline = cell.attrs.underline != 0;
	out->reverse = cell.attrs.reverse;
	return true;
}

const char *pty_title(const pty *p)
{
	return p->title;
}

void pty_dump(pty *p, const char *label)
{
	char buf[16384];
	pty_screen(p, buf, sizeof buf);
	fprintf(stderr, "---- screen (%dx%d): %s ----\n%s\n---- end of screen ----\n",
	        p->cols, p->rows, label, buf);
}

bool pty_wait_for(pty *p, bool (*cond)(pty *p, void *user), void *user, int timeout_ms)
{
	long long deadline = now_ms() + timeout_ms;
	drain(p);
	while (!cond(p, user)) {
		long long left = deadline - now_ms();
		if (left <= 0 || p->eof)
			return cond(p, user);
		pty_pump(p, (int)left);
	}
	return true;
}

static bool has_text(pty *p, void *user)
{
	return pty_find(p, user, NULL, NULL);
}

static bool lacks_text(pty *p, void *user)
{
	return !pty_find(p, user, NULL, NULL);
}

bool pty_wait_text(pty *p, const char *text, int timeout_ms)
{
	if (pty_wait_for(p, has_text, (void *)(uintptr_t)text, timeout_ms))
		return true;
	char label[256];
	snprintf(label, sizeof label, "timed out waiting for \"%s\"", text);
	pty_dump(p, label);
	return false;
}

bool pty_wait_gone(pty *p, const char *text, int timeout_ms)
{
	if (pty_wait_for(p, lacks_text, (void *)(uintptr_t)text, timeout_ms))
		return true;
	char label[256];
	snprintf(label, sizeof label, "timed out waiting for \"%s\" to go", text);
	pty_dump(p, label);
	return false;
}

typedef struct row_want {
	int row;
	const char *text;
} row_want;

static bool row_has(pty *p, void *user)
{
	const row_want *w = user;
	char line[2048];
	return strstr(pty_row(p, w->row, line, sizeof line), w->text) != NULL;
}

bool pty_wait_row(pty *p, int row, const char *text, int timeout_ms)
{
	row_want w = {row, text};
	if (pty_wait_for(p, row_has, &w, timeout_ms))
		return true;
	char label[256];
	snprintf(label, sizeof label, "timed out waiting for \"%s\" on row %d", text, row);
	pty_dump(p, label);
	return false;
}

bool pty_wait_exit(pty *p, int timeout_ms, int *status)
{
	long long deadline = now_ms() + timeout_ms;
	for (;;) {
		drain(p);
		reap(p);
		if (p->exited) {
			drain(p); /* what it wrote just before exiting */
			if (status)
				*status = p->status;
			return true;
		}
		long long left = deadline - now_ms();
		if (left <= 0) {
			pty_dump(p, "timed out waiting for the program to exit");
			return false;
		}
		/* Wait for output or, once the terminal is closed, for the exit
		 * itself (pidfd); without pidfd, re-check every few ms. */
		struct pollfd pfd = {.fd = p->eof ? p->pidfd : p->fd, .events = POLLIN};
		int wait = (int)left;
		if (pfd.fd < 0 && wait > 5)
			wait = 5;
		poll(&pfd, 1, wait);
	}
}

bool pty_restored(const pty *p, char *why, size_t cap)
{
	const char *bad = NULL;
	if (p->altscreen)
		bad = "still on the alternate screen";
	else if (!p->cursor_visible)
		bad = "cursor left invisible";
	else if (p->mouse)
		bad = "mouse reporting left on";
	if (why && cap)
		snprintf(why, cap, "%s", bad ? bad : "restored");
	return bad == NULL;
}
