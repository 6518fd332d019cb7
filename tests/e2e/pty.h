/* pty.h - drive the real dupwatch binary in a pseudo-terminal for
 * end-to-end tests.
 *
 * The child runs under forkpty() with a fixed size, TERM=xterm-256color,
 * TZ=UTC, LC_ALL=C.UTF-8, NO_COLOR unset and XDG_CONFIG_HOME pointing to an
 * empty directory (so the user's config never leaks into a test); extra
 * environment entries override these. Its output feeds a libvterm screen
 * model which the test reads back as UTF-8 text.
 *
 * No sleeps: every wait polls the pty with a deadline and checks a screen
 * condition after each read. On a timeout the wait functions print the
 * screen to stderr, so a failing test shows what was there.
 *
 * Rows and columns count from 0. Abort-on-setup-failure: pty_start() fails
 * the test (via cmocka's fail_msg) rather than returning NULL. */
#ifndef DW_TEST_PTY_H
#define DW_TEST_PTY_H

#include <stdbool.h>
#include <stddef.h>

typedef struct pty pty;

typedef struct pty_opts {
	int rows, cols;          /* 0: 24 x 80 */
	const char *const *env;  /* extra "NAME=value" entries (NULL-terminated
	                            array, may be NULL); "NAME" alone unsets */
	const char *cwd;         /* working directory; NULL: the test's */
	const char *stdin_path;  /* file or FIFO opened as the child's stdin;
	                            NULL: the terminal */
} pty_opts;

/* The binary under test: $DW_BINARY, else the DW_BINARY_DEFAULT macro. */
const char *pty_binary(void);

/* Starts the dupwatch binary with args (NULL-terminated, not including
 * argv[0]; may be NULL). o may be NULL for the defaults. When $DW_WRAPPER
 * is set (e.g. "valgrind -q --error-exitcode=99 --leak-check=full"), the
 * binary runs under that command, so a memory error shows as the exit
 * status the tests check. */
pty *pty_start(const pty_opts *o, const char *const *args);
/* Starts any program (argv[0] is the path, searched in PATH). */
pty *pty_spawn(const pty_opts *o, const char *const *argv);
/* Kills the child if still running (SIGKILL), reaps it and frees. */
void pty_free(pty *p);

/* Input. Bytes as typed (e.g. "q", "\\", "0x1ac\r"). */
void pty_send(pty *p, const char *s);
typedef enum pty_keycode {
	PTY_UP, PTY_DOWN, PTY_LEFT, PTY_RIGHT, PTY_HOME, PTY_END,
	PTY_PGUP, PTY_PGDN, PTY_ENTER, PTY_TAB, PTY_BACKTAB, PTY_ESC,
	PTY_BACKSPACE, PTY_DEL, PTY_F1, PTY_F2, PTY_F10,
} pty_keycode;
/* Sends a named key the way xterm would in the mode the program set (e.g.
 * application cursor keys after ncurses' keypad()). */
void pty_key(pty *p, pty_keycode k);
/* Ctrl+letter, e.g. pty_ctrl(p, 'c'). */
void pty_ctrl(pty *p, char letter);
/* Mouse: button 1-3 press + release at (row, col), as xterm reports it in
 * the mouse mode the program enabled (SGR 1006 if it asked). Nothing is
 * sent when the program has not enabled mouse reporting. */
void pty_click(pty *p, int row, int col, int button);
/* Wheel at (row, col): up > 0 scrolls up (button 4), else down (5). */
void pty_wheel(pty *p, int row, int col, int up);

/* Resizes the terminal (TIOCSWINSZ: the child gets SIGWINCH). */
void pty_resize(pty *p, int rows, int cols);

/* Reads output for up to timeout_ms (returns early once something was
 * read). false once the child has closed the terminal. */
bool pty_pump(pty *p, int timeout_ms);

/* Waits until text appears anywhere on the screen. false on timeout. */
bool pty_wait_text(pty *p, const char *text, int timeout_ms);
/* Waits until text is no longer anywhere on the screen. */
bool pty_wait_gone(pty *p, const char *text, int timeout_ms);
/* Waits until row holds text. */
bool pty_wait_row(pty *p, int row, const char *text, int timeout_ms);
/* Waits until cond(p, user) holds. */
bool pty_wait_for(pty *p, bool (*cond)(pty *p, void *user), void *user,
                  int timeout_ms);

/* Screen contents as UTF-8: one row (trailing blanks trimmed) or the whole
 * screen (rows joined with '\n'). Return buf; always NUL-terminated. */
char *pty_row(pty *p, int row, char *buf, size_t cap);
char *pty_screen(pty *p, char *buf, size_t cap);
/* Finds text on screen; true with its position (first match from the top). */
bool pty_find(pty *p, const char *text, int *row, int *col);
int pty_rows(const pty *p);
int pty_cols(const pty *p);

/* Attributes of one cell: colours are indexed 0-255, or -1 for the
 * terminal's default. */
typedef struct pty_cell {
	char text[16];
	int fg, bg;
	bool bold, underline, reverse;
} pty_cell;
bool pty_cell_at(pty *p, int row, int col, pty_cell *out);

/* Window title last set by the program (OSC 0/2), "" if never set. */
const char *pty_title(const pty *p);

/* Waits for the child to exit; *status is the exit code, or 128 + the
 * signal number when killed by a signal. false on timeout. */
bool pty_wait_exit(pty *p, int timeout_ms, int *status);

/* After exit: true when the terminal was left as found: main screen (not
 * the alternate one), cursor visible, mouse reporting off. Otherwise false
 * with the reason in why. */
bool pty_restored(const pty *p, char *why, size_t cap);

/* Prints the screen to stderr, framed, for diagnosing a test. */
void pty_dump(pty *p, const char *label);

#endif
